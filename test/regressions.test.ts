// Regression tests for defects found in review; each names what went wrong before the fix.
import t from 'tap';
import net from 'node:net';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { answer, CURL, makeWorld } from './fixtures/detour.js';

t.test('the go env file’s GOPRIVATE is kept when -d adds to it, and guards the mirror', async (t) => {
  const w = await makeWorld(t);
  mkdirSync(join(w.home, '.config/go'), { recursive: true });
  writeFileSync(join(w.home, '.config/go/env'), 'GOPRIVATE=corp.example\n');
  const mirror = await w.https('goproxy.cn', answer(200, 'leaked'));
  let r = await w.detour([...w.flags(), '-d', 'other.example', '-m', 'go=goproxy.cn', '--', 'sh', '-c', 'echo "$GOPRIVATE"']);
  t.equal(r.stdout, 'corp.example,other.example\n', 'the file’s value first, then -d (go would not see the file behind the variable)');
  r = await w.detour([...w.flags(), '-m', 'go=goproxy.cn', '--', ...CURL, 'https://proxy.golang.org/corp.example/secret/@v/v1.0.0.info']);
  t.match(r.stdout, /\n404$/);
  t.equal(mirror.requests.length, 0);
});

t.test('the privacy guard covers sumdb lookups through the proxy, raw rules with a port or a path prefix', async (t) => {
  const w = await makeWorld(t);
  const mirror = await w.https('mirror.test', answer(200, 'leaked'));
  const cases: [string, string][] = [
    ['go=https://mirror.test', 'https://proxy.golang.org/sumdb/sum.golang.org/lookup/private.corp/x@v1.0.0'],
    ['proxy.golang.org:443=https://mirror.test', 'https://proxy.golang.org/private.corp/x/@v/list'],
    ['proxy.golang.org/private.corp=https://mirror.test', 'https://proxy.golang.org/private.corp/x/@v/list'],
  ];
  for (const [rule, url] of cases) {
    const r = await w.detour([...w.flags(), '-d', 'private.corp', '-m', rule, '--', ...CURL, url]);
    t.match(r.stdout, /\n404$/, `${rule}: answered locally`);
  }
  t.equal(mirror.requests.length, 0, 'the mirror heard of none of them');
});

t.test('the client’s Authorization and Cookie never reach a mirror on another host; the origin still gets them', async (t) => {
  const w = await makeWorld(t);
  const mirror = await w.https('mirror.test', answer(404, 'not here'));
  const origin = await w.https('registry.npmjs.org', answer(200, 'origin'));
  const r = await w.detour([...w.flags(), '-m', 'registry.npmjs.org=https://mirror.test,origin', '--', ...CURL, '-H', 'Authorization: Bearer npm_SECRET', '-H', 'Cookie: sid=1', 'https://registry.npmjs.org/pkg']);
  t.equal(r.stdout, 'origin\n200', r.stderr);
  t.equal(mirror.requests[0]!.headers.authorization, undefined);
  t.equal(mirror.requests[0]!.headers.cookie, undefined);
  t.equal(origin.requests[0]!.headers.authorization, 'Bearer npm_SECRET', 'the host the client asked for');
});

t.test('a dial still pending when the child exits: detour exits with the child’s status, not 70', async (t) => {
  const w = await makeWorld(t);
  const sockets = new Set<net.Socket>();
  const hang = net.createServer((s) => sockets.add(s)); // accepts, never speaks TLS
  await new Promise<void>((res) => hang.listen(0, '127.0.0.1', () => res()));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    hang.close();
  });
  w.map('hang.mirror.test', (hang.address() as net.AddressInfo).port);
  const r = await w.detour([...w.flags(), '-m', 'registry.npmjs.org=https://hang.mirror.test', '--', 'sh', '-c', 'curl -sS -m 1 -o /dev/null https://registry.npmjs.org/x; exit 3']);
  t.equal(r.code, 3, r.stderr);
  t.notMatch(r.stderr, /internal error/);
});

t.test('the first-byte timeout starts when the request is sent: a slow upload is not cut', async (t) => {
  const w = await makeWorld(t);
  // Mirrors are read-only: the upload goes through the forwarder to the origin of the rule's host.
  const origin = await w.https('registry.npmjs.org', (_req, res, body) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`got ${body.length}`);
  });
  await w.https('mirror.test', answer(500, 'a mirror takes no uploads'));
  writeFileSync(join(w.work, 'upload.bin'), Buffer.alloc(60 * 1024, 'u'));
  const r = await w.detour([...w.flags(), '--timeout', '1000', '-m', 'registry.npmjs.org=https://mirror.test', '--', ...CURL, '--limit-rate', '30k', '-X', 'PUT', '--data-binary', '@upload.bin', 'https://registry.npmjs.org/pkg']);
  t.equal(r.stdout, `got ${60 * 1024}\n200`, r.stderr);
  t.equal(origin.requests.length, 1);
});

t.test('--trace and --log-file are 0600 even when the file existed', async (t) => {
  const w = await makeWorld(t);
  await w.https('mirror.test', answer(200, 'ok'));
  const har = join(w.work, 'run.har');
  const log = join(w.work, 'run.log');
  writeFileSync(har, '', { mode: 0o644 });
  writeFileSync(log, '', { mode: 0o644 });
  const r = await w.detour([...w.flags(), '--trace', har, '--log-file', log, '-m', 'registry.npmjs.org=https://mirror.test', '--', ...CURL, 'https://registry.npmjs.org/pkg']);
  t.equal(r.code, 0, r.stderr);
  t.equal(statSync(har).mode & 0o777, 0o600);
  t.equal(statSync(log).mode & 0o777, 0o600);
});

t.test('absolute-form https:// requests (as axios sends them) are routed like decrypted ones', async (t) => {
  const w = await makeWorld(t);
  const mirror = await w.https('mirror.test', answer(200, 'from mirror'));
  const origin = await w.https('example.org', answer(200, 'from origin'));
  // A plain-HTTP request to the proxy whose target is an https:// URL, the way axios's proxy support works.
  const script = `
    const http = require('node:http');
    const u = new URL(process.env.DETOUR_PROXY);
    const auth = 'Basic ' + Buffer.from(decodeURIComponent(u.username) + ':' + decodeURIComponent(u.password)).toString('base64');
    const get = (target) => new Promise((resolve) => http.get({ host: u.hostname, port: u.port, path: target, headers: { 'proxy-authorization': auth, host: new URL(target).host } },
      (res) => { let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => resolve(res.statusCode + ' ' + b)); }));
    (async () => { console.log(await get('https://registry.npmjs.org/pkg')); console.log(await get('https://example.org/x')); })();`;
  const r = await w.detour([...w.flags(), '-m', 'registry.npmjs.org=https://mirror.test', '--', process.execPath, '-e', script], { env: { NODE_OPTIONS: '' } });
  t.equal(r.stdout, '200 from mirror\n200 from origin\n', r.stderr);
  t.equal(mirror.requests[0]!.url, '/pkg');
  t.equal(origin.requests[0]!.url, '/x', 'a host without a rule is fetched over verified TLS');
});

t.test('--version prints detour’s own version from any folder (yargs looked for package.json from the bundle)', async (t) => {
  const w = await makeWorld(t);
  writeFileSync(join(w.work, 'package.json'), JSON.stringify({ name: 'someone-else', version: '9.9.9' }));
  const own = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  const r = await w.detour(['--version']);
  t.equal(r.code, 0);
  t.equal(r.stdout, `${own}\n`);
});
