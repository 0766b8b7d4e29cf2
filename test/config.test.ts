// Options from flags, DETOUR_* variables and the config file; the upstream proxy; the JSON log.
import t from 'tap';
import net from 'node:net';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { answer, CURL, makeWorld } from './fixtures/detour.js';
import { startConnectProxy } from './fixtures/connectProxy.js';

const URL_NPM = 'https://registry.npmjs.org/pkg';

t.test('config file, DETOUR_* variables and flags: flags win, then the environment, then the file', async (t) => {
  const w = await makeWorld(t);
  await w.https('file.mirror.test', answer(200, 'file'));
  await w.https('env.mirror.test', answer(200, 'env'));
  await w.https('flag.mirror.test', answer(200, 'flag'));
  const file = join(w.work, 'detour.json');
  writeFileSync(file, JSON.stringify({ mirror: ['registry.npmjs.org=https://file.mirror.test'], timeout: 5000 }));
  let r = await w.detour([...w.flags(), '--config', file, '--', ...CURL, URL_NPM]);
  t.equal(r.stdout, 'file\n200', r.stderr);
  r = await w.detour([...w.flags(), '--config', file, '--', ...CURL, URL_NPM], { env: { DETOUR_MIRROR: 'registry.npmjs.org=https://env.mirror.test' } });
  t.equal(r.stdout, 'env\n200');
  r = await w.detour([...w.flags(), '--config', file, '-m', 'registry.npmjs.org=https://flag.mirror.test', '--', ...CURL, URL_NPM], {
    env: { DETOUR_MIRROR: 'registry.npmjs.org=https://env.mirror.test' },
  });
  t.equal(r.stdout, 'flag\n200');
  // The default file: $XDG_CONFIG_HOME/detour/config.json
  const xdg = join(w.work, 'xdg');
  mkdirSync(join(xdg, 'detour'), { recursive: true });
  writeFileSync(join(xdg, 'detour/config.json'), JSON.stringify({ mirror: 'registry.npmjs.org=https://file.mirror.test' }));
  r = await w.detour([...w.flags(), '--', ...CURL, URL_NPM], { env: { XDG_CONFIG_HOME: xdg } });
  t.equal(r.stdout, 'file\n200');
});

t.test('bad configuration: exit 2 with one line naming the offending value', async (t) => {
  const w = await makeWorld(t);
  const badJson = join(w.work, 'bad.json');
  writeFileSync(badJson, '{"mirror": [');
  const unknownKey = join(w.work, 'unknown.json');
  writeFileSync(unknownKey, '{"mirrors": ["go"]}');
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [['--config', badJson], {}, /bad\.json is not valid JSON/],
    [['--config', unknownKey], {}, /unknown option "mirrors"/],
    [['--config', join(w.work, 'missing.json')], {}, /cannot read config file .*missing\.json/],
    [['-m', 'registry.npmjs.org=ftp://x'], {}, /ftp:\/\/x/],
    [['-m', 'go=nosuchmirror'], {}, /unknown go mirror "nosuchmirror"/],
    [['-m', 'bad host!=https://m.test'], {}, /invalid host/],
    [['-m', 'registry.npmjs.org=https://a.test||https://b.test'], {}, /empty mirror target/],
    [['--connect-to', 'a.test:443'], {}, /invalid --connect-to "a\.test:443"/],
    [['--upstream-ca', join(w.work, 'nope.pem')], {}, /cannot read --upstream-ca .*nope\.pem/],
    [['--upstream-ca', badJson], {}, /holds no PEM certificate/],
    [['--upstream', 'ftp://proxy.test'], {}, /invalid --upstream/],
    [['--timeout', '0'], {}, /--timeout must be a positive/],
    [[], { DETOUR_TIMEOUT: 'soon' }, /environment: timeout must be a number, got "soon"/],
    [['--frobnicate'], {}, /frobnicate/],
  ];
  for (const [args, env, want] of cases) {
    const r = await w.detour([...args, '--', 'true'], { env });
    t.equal(r.code, 2, `${args.join(' ')} → exit 2`);
    const lines = r.stderr.trimEnd().split('\n');
    t.equal(lines.length, 1, `one line: ${r.stderr}`);
    t.match(lines[0], /^detour: /);
    t.match(lines[0], want);
  }
});

t.test('--upstream: detour reaches targets through the given proxy, naming the original host', async (t) => {
  const w = await makeWorld(t);
  const mirror = await w.https('goproxy.cn', answer(200, 'via upstream'));
  const tunneled = await w.https('example.org', answer(200, 'tunneled via upstream'));
  const upstream = await startConnectProxy((host) => ({ host: '127.0.0.1', port: host === 'goproxy.cn' ? mirror.port : tunneled.port }));
  t.teardown(() => upstream.close());
  const noConnectTo = [`--upstream-ca=${w.ca.certFile}`];
  let r = await w.detour([...noConnectTo, '--upstream', upstream.url, '-m', 'go=goproxy.cn', '--', ...CURL, 'https://proxy.golang.org/x/@v/list']);
  t.equal(r.stdout, 'via upstream\n200', r.stderr);
  t.ok(upstream.connects.includes('goproxy.cn:443'), 'the upstream was asked for goproxy.cn:443');
  // Default: the parent's HTTPS_PROXY, read once; the child's own proxy variables point at detour.
  r = await w.detour([...noConnectTo, '-m', 'go=goproxy.cn', '--', ...CURL, '--cacert', w.ca.certFile, 'https://example.org/'], {
    env: { HTTPS_PROXY: upstream.url },
  });
  t.equal(r.stdout, 'tunneled via upstream\n200', r.stderr);
  t.ok(upstream.connects.includes('example.org:443'), "the parent's HTTPS_PROXY carried the tunnel");
  const before = upstream.connects.length;
  const dead = `--connect-to=goproxy.cn:443:127.0.0.1:${await w.deadPort()}`; // stay on loopback
  r = await w.detour([...noConnectTo, dead, '--no-upstream', '-m', 'go=goproxy.cn', '--', ...CURL, 'https://proxy.golang.org/x/@v/list'], {
    env: { HTTPS_PROXY: upstream.url },
  });
  t.equal(upstream.connects.length, before, '--no-upstream ignores the parent’s proxy');
  t.match(r.stdout, /\n(502|404)$/);
});

t.test('an upstream that is down or answers 407 is a clear error naming it', async (t) => {
  const w = await makeWorld(t);
  const dead = await w.deadPort();
  let r = await w.detour([`--upstream=http://127.0.0.1:${dead}`, '-m', 'registry.npmjs.org=https://m.test', '--', ...CURL, URL_NPM]);
  t.match(r.stdout, new RegExp(`127\\.0\\.0\\.1:${dead}[\\s\\S]*\\n502$`), r.stderr);
  const refusing = net.createServer((s) => {
    s.once('data', () => s.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="corp"\r\nContent-Length: 0\r\n\r\n'));
  });
  await new Promise<void>((res) => refusing.listen(0, '127.0.0.1', () => res()));
  t.teardown(() => refusing.close());
  const port = (refusing.address() as net.AddressInfo).port;
  r = await w.detour([`--upstream=http://user:secret@127.0.0.1:${port}`, '-m', 'registry.npmjs.org=https://m.test', '--', ...CURL, URL_NPM]);
  t.match(r.stdout, /E_UPSTREAM_PROXY.*answered 407[\s\S]*\n502$/);
  t.notMatch(r.stdout, /secret/, 'the upstream password is never printed');
});

t.test('--log-file writes pino JSON lines: start, each request, exit', async (t) => {
  const w = await makeWorld(t);
  await w.https('m.mirror.test', answer(200, 'logged'));
  const log = join(w.work, 'logs/detour.jsonl');
  const r = await w.detour([...w.flags(), '--log-file', log, '-m', 'registry.npmjs.org=https://m.mirror.test', '--', ...CURL, URL_NPM]);
  t.equal(r.stdout, 'logged\n200');
  t.equal(r.stderr, '', 'silent on stderr without -v');
  const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(lines.map((l) => l.event), ['start', 'exchange', 'exit']);
  t.match(lines[1], { method: 'GET', url: URL_NPM, route: 'mirror', target: 'm.mirror.test', status: 200, bytes: 6 });
  t.match(lines[2], { status: 0 });
});
