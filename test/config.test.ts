// Options from flags, DETOUR_* variables, the project file and the user file; the upstream proxy; the JSON log.
import t from 'tap';
import net from 'node:net';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { answer, CURL, makeWorld, type World } from './fixtures/detour.js';
import { startConnectProxy } from './fixtures/connectProxy.js';

const URL_NPM = 'https://registry.npmjs.org/pkg';

// ~40 detour runs: ~90 s on an idle 2-core machine; more when other suites share it.
t.setTimeout(600_000);

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
    [[], { DETOUR_TIMEOUT: 'soon' }, /DETOUR_TIMEOUT must be a positive whole number of milliseconds, got "soon"/],
    [[], { DETOUR_VERBOSE: 'loud' }, /DETOUR_VERBOSE must be true or false, got "loud"/],
    [['--timeout', '1.5'], {}, /--timeout must be a positive whole number of milliseconds, got "1\.5"/],
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
  // detour makes no parent folder for the log: a missing one is refused by name, before the command runs.
  const log = join(w.work, 'logs/detour.jsonl');
  const refused = await w.detour(['--log-file', log, '--', 'sh', '-c', 'echo ran']);
  t.equal(refused.code, 2);
  t.equal(refused.stdout, '', 'the command did not run');
  t.equal(refused.stderr, `detour: cannot write --log-file ${log}: folder ${join(w.work, 'logs')} does not exist (detour creates no parent folders)\n`);
  mkdirSync(join(w.work, 'logs'));
  const r = await w.detour([...w.flags(), '--log-file', log, '-m', 'registry.npmjs.org=https://m.mirror.test', '--', ...CURL, URL_NPM]);
  t.equal(r.stdout, 'logged\n200');
  t.equal(r.stderr, '', 'silent on stderr without -v');
  const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(lines.map((l) => l.event), ['start', 'exchange', 'exit']);
  t.match(lines[1], { method: 'GET', url: URL_NPM, route: 'mirror', target: 'm.mirror.test', status: 200, bytes: 6 });
  t.match(lines[2], { status: 0 });
});

// ---------------------------------------------------------------------------------------------------
// The project file: .detour.json in the working directory or the nearest parent that has one.

interface Project {
  readonly root: string;
  readonly file: string;
  /** A folder two levels below the project root, to run from. */
  readonly deep: string;
}

function makeProject(w: World, config: Record<string, unknown>): Project {
  const root = join(w.work, 'proj');
  const deep = join(root, 'sub', 'deeper');
  mkdirSync(deep, { recursive: true });
  const file = join(root, '.detour.json');
  writeFileSync(file, JSON.stringify(config));
  return { root, file, deep };
}

/** w.flags() without --upstream-ca: the project file's own (relative) one must do. */
const withoutCa = (w: World) => w.flags().filter((f) => !f.startsWith('--upstream-ca'));

t.test('a .detour.json in a parent folder is found from a subfolder; its relative paths resolve against its folder; -v names it', async (t) => {
  const w = await makeWorld(t);
  await w.https('project.mirror.test', answer(200, 'project'));
  const p = makeProject(w, { mirror: ['registry.npmjs.org=https://project.mirror.test'], 'upstream-ca': 'certs/ca.pem', trace: 'trace.har' });
  mkdirSync(join(p.root, 'certs'));
  copyFileSync(w.ca.certFile, join(p.root, 'certs', 'ca.pem'));
  const r = await w.detour([...withoutCa(w), '-v', '--', ...CURL, URL_NPM], { cwd: p.deep });
  t.equal(r.stdout, 'project\n200', r.stderr);
  t.equal(r.stderr.split('\n')[0], `detour: config: ${p.file}`, '-v names the file in effect, first');
  t.ok(existsSync(join(p.root, 'trace.har')), 'the trace is written next to the project file');
  t.notOk(existsSync(join(p.deep, 'trace.har')), 'not in the working directory');
  // Without -v, nothing is said about it.
  const quiet = await w.detour([...withoutCa(w), '--', 'true'], { cwd: p.deep });
  t.equal(quiet.stderr, '');
});

t.test('precedence: flags, then DETOUR_*, then the project file, then the user file (--config FILE replaces the user file)', async (t) => {
  const w = await makeWorld(t);
  for (const name of ['flag', 'env', 'project', 'user', 'other']) await w.https(`${name}.mirror.test`, answer(200, name));
  const p = makeProject(w, { mirror: ['registry.npmjs.org=https://project.mirror.test'] });
  const xdg = join(w.work, 'xdg');
  const userFile = join(xdg, 'detour', 'config.json');
  mkdirSync(dirname(userFile), { recursive: true });
  writeFileSync(userFile, JSON.stringify({ mirror: ['registry.npmjs.org=https://user.mirror.test'] }));
  const other = join(w.work, 'other.json');
  writeFileSync(other, JSON.stringify({ mirror: 'registry.npmjs.org=https://other.mirror.test' }));
  const env = { XDG_CONFIG_HOME: xdg, DETOUR_MIRROR: 'registry.npmjs.org=https://env.mirror.test' };
  const get = (args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string }) => w.detour([...w.flags(), ...args, '--', ...CURL, URL_NPM], opts);

  let r = await get(['-m', 'registry.npmjs.org=https://flag.mirror.test'], { env, cwd: p.deep });
  t.equal(r.stdout, 'flag\n200', `flags win: ${r.stderr}`);
  r = await get([], { env, cwd: p.deep });
  t.equal(r.stdout, 'env\n200', 'then DETOUR_*');
  r = await get(['-v'], { env: { XDG_CONFIG_HOME: xdg }, cwd: p.deep });
  t.equal(r.stdout, 'project\n200', 'then the project file');
  t.equal(r.stderr.split('\n')[0], `detour: config: ${p.file}, ${userFile}`, '-v names both files, the winning one first');
  r = await get([], { env: { XDG_CONFIG_HOME: xdg }, cwd: w.work });
  t.equal(r.stdout, 'user\n200', 'then the user file (outside the project)');

  // --config replaces the user file: a broken user file is then not even read.
  writeFileSync(userFile, '{ broken');
  r = await get(['--config', other], { env: { XDG_CONFIG_HOME: xdg }, cwd: w.work });
  t.equal(r.stdout, 'other\n200', r.stderr);
  r = await get(['--config', other], { env: { XDG_CONFIG_HOME: xdg }, cwd: p.deep });
  t.equal(r.stdout, 'project\n200', 'the project file still wins over --config');
  r = await get([], { env: { XDG_CONFIG_HOME: xdg }, cwd: p.deep });
  t.equal(r.code, 2, 'without --config the broken user file is read, and refused');
  t.match(r.stderr, /^detour: config file .*config\.json is not valid JSON/);
});

t.test('${VAR} in a config file comes from detour’s environment; an unset one is exit 2 naming it and the file', async (t) => {
  const w = await makeWorld(t);
  await w.https('project.mirror.test', answer(200, 'project'));
  const p = makeProject(w, { mirror: ['registry.npmjs.org=https://${MIRROR_HOST}'] });
  let r = await w.detour([...w.flags(), '--', ...CURL, URL_NPM], { cwd: p.deep, env: { MIRROR_HOST: 'project.mirror.test' } });
  t.equal(r.stdout, 'project\n200', r.stderr);

  r = await w.detour([...w.flags(), '--', 'sh', '-c', 'echo ran'], { cwd: p.deep });
  t.equal(r.code, 2);
  t.equal(r.stdout, '', 'the command did not run');
  t.equal(r.stderr, `detour: "mirror" in ${p.file} uses \${MIRROR_HOST}, which is not set in detour's environment\n`);

  writeFileSync(p.file, JSON.stringify({ mirror: ['registry.npmjs.org=https://${MIRROR-HOST}'] }));
  r = await w.detour([...w.flags(), '--', 'true'], { cwd: p.deep });
  t.equal(r.code, 2);
  t.match(r.stderr, /^detour: "mirror" in .*\.detour\.json: "\$\{MIRROR-HOST\}" is not a variable reference/);

  // An expanded secret never reaches an error line.
  writeFileSync(p.file, JSON.stringify({ upstream: 'ftp://ci:${TOKEN}@proxy.corp.test', mirror: ['registry.npmjs.org=ftp://ci:${TOKEN}@nexus.corp.test/npm'] }));
  r = await w.detour([...w.flags(), '--', 'true'], { cwd: p.deep, env: { TOKEN: 's3cret-token' } });
  t.equal(r.code, 2);
  t.match(r.stderr, /^detour: .*ftp:\/\/\*\*\*@/);
  t.notMatch(r.stderr, /s3cret/, 'the token is not printed');
});

t.test('a project file writes only inside its own folder (a cloned repository cannot aim the trace at ~/.bashrc)', async (t) => {
  const w = await makeWorld(t);
  const outside = join(w.work, 'outside.txt');
  writeFileSync(outside, 'precious\n');
  for (const config of [{ trace: '../outside.txt' }, { 'log-file': outside }, { 'ca-dir': '..' }, { trace: 'link.har' }]) {
    const p = makeProject(w, config);
    if ((config as { trace?: string }).trace === 'link.har') symlinkSync(outside, join(p.root, 'link.har'));
    const r = await w.detour(['--no-upstream', '--', 'sh', '-c', 'echo ran'], { cwd: p.deep });
    t.equal(r.code, 2, JSON.stringify(config));
    t.equal(r.stdout, '');
    t.match(r.stderr, /^detour: "(trace|log-file|ca-dir)" in .*\.detour\.json: a project file may only write inside its own folder/);
    t.equal(readFileSync(outside, 'utf8'), 'precious\n', 'the outside file is untouched');
    rmSync(p.root, { recursive: true });
  }
  // The same values from the user's own file, or a flag, are the user's choice.
  const r = await w.detour(['--no-upstream', '--log-file', outside, '--', 'true']);
  t.equal(r.code, 0, r.stderr);
});
