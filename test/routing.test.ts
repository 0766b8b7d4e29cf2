// Routing through the built CLI with curl as the client: mirror rules, fallback separators, exhaustion,
// longest prefix, and what reaches the origin and the mirror.
import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeWorld, answer, CURL, needs } from './fixtures/detour.js';

t.test('a raw rule sends the request to the mirror, path appended, origin untouched', async (t) => {
  const w = await makeWorld(t);
  const origin = await w.https('proxy.golang.org', answer(200, 'from origin'));
  const mirror = await w.https('goproxy.cn', answer(200, 'from mirror'));
  const r = await w.detour([...w.flags(), '-m', 'proxy.golang.org=https://goproxy.cn/base', '--', ...CURL, 'https://proxy.golang.org/github.com/acme/widget/@v/list?x=1']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'from mirror\n200');
  t.equal(origin.requests.length, 0, 'origin received nothing');
  t.equal(mirror.requests.length, 1);
  t.equal(mirror.requests[0]!.url, '/base/github.com/acme/widget/@v/list?x=1');
  t.equal(mirror.requests[0]!.host, 'goproxy.cn', 'Host is the target host');
  t.notOk(mirror.requests[0]!.headers['proxy-authorization'], 'Proxy-Authorization never forwarded');
});

t.test("'|' falls through a dead target and a 500; ',' stops at a 500", async (t) => {
  const w = await makeWorld(t);
  const dead = await w.deadPort();
  w.map('dead.mirror.test', dead);
  const broken = await w.https('broken.mirror.test', answer(500, 'boom'));
  const good = await w.https('good.mirror.test', answer(200, 'good'));
  const url = 'https://registry.npmjs.org/left-pad';

  let r = await w.detour([...w.flags(), '-m', 'registry.npmjs.org=https://dead.mirror.test|https://broken.mirror.test|https://good.mirror.test', '--', ...CURL, url]);
  t.equal(r.stdout, 'good\n200', r.stderr);
  t.equal(broken.requests.length, 1);
  t.equal(good.requests.length, 1);

  r = await w.detour([...w.flags(), '-m', 'registry.npmjs.org=https://broken.mirror.test,https://good.mirror.test', '--', ...CURL, url]);
  t.equal(r.stdout, 'boom\n500', "',' does not fall through on 500");
  t.equal(good.requests.length, 1, 'good mirror not asked again');
});

t.test("',' falls through on 404 and 410; a connect failure after ',' is final", async (t) => {
  const w = await makeWorld(t);
  const missing = await w.https('missing.mirror.test', answer(404, 'no'));
  const gone = await w.https('gone.mirror.test', answer(410, 'gone'));
  const good = await w.https('good.mirror.test', answer(200, 'good'));
  w.map('dead.mirror.test', await w.deadPort());
  let r = await w.detour([...w.flags(), '-m', 'pypi.org=https://missing.mirror.test,https://gone.mirror.test,https://good.mirror.test', '--', ...CURL, 'https://pypi.org/simple/x/']);
  t.equal(r.stdout, 'good\n200', r.stderr);
  t.equal(missing.requests.length + gone.requests.length, 2);
  r = await w.detour([...w.flags(), '-m', 'pypi.org=https://dead.mirror.test,https://good.mirror.test', '--', ...CURL, 'https://pypi.org/simple/x/']);
  t.match(r.stdout, /dead\.mirror\.test[\s\S]*E_CONNECT[\s\S]*\n502$/, 'connect failure answered 502 naming the target');
  t.equal(good.requests.length, 1, 'not tried after a connect failure behind a comma');
});

t.test('exhaustion: 502 naming every target; the go preset answers 404', async (t) => {
  const w = await makeWorld(t);
  w.map('a.mirror.test', await w.deadPort());
  const b = await w.https('b.mirror.test', answer(503, 'unavailable'));
  let r = await w.detour([...w.flags(), '-m', 'registry.npmjs.org=https://a.mirror.test|https://b.mirror.test', '--', ...CURL, 'https://registry.npmjs.org/x']);
  t.equal(r.stdout, 'unavailable\n503', 'the last target’s answer');
  t.equal(b.requests.length, 1);

  w.map('c.mirror.test', await w.deadPort());
  r = await w.detour([...w.flags(), '-m', 'registry.npmjs.org=https://a.mirror.test|https://c.mirror.test', '--', ...CURL, 'https://registry.npmjs.org/x']);
  t.match(r.stdout, /every target failed[\s\S]*a\.mirror\.test[\s\S]*c\.mirror\.test[\s\S]*\n502$/);

  r = await w.detour([...w.flags(), '-m', 'go=https://a.mirror.test|https://c.mirror.test', '--', ...CURL, 'https://proxy.golang.org/github.com/acme/x/@v/list']);
  t.match(r.stdout, /every target failed[\s\S]*\n404$/, 'go preset: exhaustion is 404 so GOPROXY=…,direct falls through');
});

t.test('a chain that ends in 404/410 gives the client that answer’s own status and body', async (t) => {
  const w = await makeWorld(t);
  const unknown = 'not found: github.com/acme/widget@v9.9.9: invalid version: unknown revision v9.9.9\n';
  await w.https('a.mirror.test', answer(404, unknown, { 'x-from': 'a' }));
  await w.https('b.mirror.test', answer(410, 'gone from b\n'));
  w.map('dead.mirror.test', await w.deadPort());
  await w.https('slow.mirror.test', () => undefined); // never answers: a timeout, not an answer
  const url = 'https://proxy.golang.org/github.com/acme/widget/@v/v9.9.9.info';
  const go = (chain: string, ...extra: string[]) => w.detour([...w.flags(), ...extra, '-m', `go=${chain}`, '--', ...CURL, '-D', 'headers.txt', url]);

  let r = await go('https://a.mirror.test|https://b.mirror.test');
  t.equal(r.stdout, 'gone from b\n\n410', 'every target answered: the last one’s status and body');
  r = await go('https://b.mirror.test|https://a.mirror.test');
  t.equal(r.stdout, `${unknown}\n404`);
  t.match(readFileSync(join(w.work, 'headers.txt'), 'utf8'), /x-from: a/i, 'with its headers');

  r = await go('https://a.mirror.test|https://dead.mirror.test');
  t.equal(r.stdout, `${unknown}\n404`, 'a later connect failure does not hide the mirror’s 404 text');
  r = await go('https://a.mirror.test|https://slow.mirror.test', '--timeout', '500');
  t.equal(r.stdout, `${unknown}\n404`, '…nor does a later timeout');
  r = await go('https://dead.mirror.test|https://slow.mirror.test', '--timeout', '500');
  t.match(r.stdout, /^detour: every target failed[\s\S]*dead\.mirror\.test[\s\S]*E_CONNECT[\s\S]*slow\.mirror\.test[\s\S]*E_FIRST_BYTE_TIMEOUT[\s\S]*\n404$/, 'no answer at all: detour’s own text, as 404 for the go preset');

  r = await w.detour([...w.flags(), '-m', 'registry.npmjs.org=https://a.mirror.test|https://dead.mirror.test', '--', ...CURL, 'https://registry.npmjs.org/x']);
  t.match(r.stdout, /^detour: every target failed[\s\S]*\n502$/, 'a raw rule without an exhaustion answer: the last target’s failure, 502');
});

t.test('go mod download prints a mirror’s "unknown revision" text even when the next target is down', { skip: needs('go') }, async (t) => {
  const w = await makeWorld(t);
  const text = 'not found: github.com/acme/widget@v9.9.9: invalid version: unknown revision v9.9.9';
  const mirror = await w.https('goproxy.cn', answer(404, text));
  w.map('mirrors.aliyun.com', await w.deadPort());
  const project = join(w.work, 'app');
  mkdirSync(project);
  writeFileSync(join(project, 'go.mod'), 'module example.test/app\n\ngo 1.19\n');
  const env = {
    GOPROXY: 'https://proxy.golang.org',
    GOSUMDB: 'off',
    GOTOOLCHAIN: 'local',
    GOFLAGS: '-mod=mod',
    GOPATH: join(w.work, 'gopath'),
    GOMODCACHE: join(w.work, 'modcache'),
    GOCACHE: join(w.work, 'gocache'),
  };
  const r = await w.detour([...w.flags(), '-m', 'go=goproxy.cn|aliyun', '--', 'go', 'mod', 'download', 'github.com/acme/widget@v9.9.9'], { env, cwd: project, timeoutMs: 120_000 });
  t.not(r.code, 0, 'the module does not exist');
  t.match(r.stderr, 'server response: ' + text, 'go printed the mirror’s own text');
  t.notMatch(r.stderr, /every target failed/, 'not detour’s');
  t.ok(mirror.requests.length > 0);
});

t.test('the longest host/path prefix wins; unmatched paths go to the origin unchanged', async (t) => {
  const w = await makeWorld(t);
  const origin = await w.https('github.com', answer(200, 'origin'));
  const general = await w.https('general.mirror.test', answer(200, 'general'));
  const special = await w.https('special.mirror.test', answer(200, 'special'));
  const rules = ['-m', 'github.com/acme=https://general.mirror.test/gh', '-m', 'github.com/acme/widget=https://special.mirror.test'];
  let r = await w.detour([...w.flags(), ...rules, '--', ...CURL, 'https://github.com/acme/widget/info/refs']);
  t.equal(r.stdout, 'special\n200', r.stderr);
  t.equal(special.requests[0]!.url, '/info/refs');
  r = await w.detour([...w.flags(), ...rules, '--', ...CURL, 'https://github.com/acme/other']);
  t.equal(r.stdout, 'general\n200');
  t.equal(general.requests[0]!.url, '/gh/other');
  r = await w.detour([...w.flags(), ...rules, '--', ...CURL, 'https://github.com/acmex/repo']);
  t.equal(r.stdout, 'origin\n200', 'prefix matches at a segment boundary only');
  t.equal(origin.requests[0]!.url, '/acmex/repo');
});

t.test('hosts without a rule are blind-tunneled: the client sees the origin’s own certificate', async (t) => {
  const w = await makeWorld(t);
  const origin = await w.https('example.org', answer(200, 'plain origin'));
  // Trust only the test CA: a decrypted connection (detour's CA) would fail this check.
  const r = await w.detour([...w.flags(), '-v', '-m', 'npm', '--', ...CURL, '--cacert', w.ca.certFile, 'https://example.org/hello']);
  t.equal(r.stdout, 'plain origin\n200', r.stderr);
  t.equal(origin.requests.length, 1);
  t.match(r.stderr, /CONNECT example\.org:443 \[tunnel\]/);
});

t.test('a name that is not a preset is refused (exit 2, one line naming the presets); a trailing dot means a literal host', async (t) => {
  const w = await makeWorld(t);
  for (const spec of ['cpan=https://m.test', 'nmp=https://registry.npmmirror.com']) {
    const r = await w.detour(['--no-upstream', '-m', spec, '--', 'sh', '-c', 'echo ran']);
    t.equal(r.code, 2, spec);
    t.equal(r.stdout, '', 'the command did not run');
    t.match(r.stderr, /^detour: unknown preset "\w+" in "[^"]+"; presets are go, npm, pypi, crates(, \w+)* \(a rule for a host without a dot is written with a trailing dot: "\w+\.=…"\)\n$/);
  }
  const mirror = await w.https('intranet.mirror.test', answer(200, 'from the intranet mirror'));
  const r = await w.detour([...w.flags(), '-v', '-m', 'intranet.=https://intranet.mirror.test/base', '--', ...CURL, 'http://intranet/tools/x']);
  t.equal(r.stdout, 'from the intranet mirror\n200', r.stderr);
  t.equal(mirror.requests[0]?.url, '/base/tools/x');
  t.match(r.stderr, /GET http:\/\/intranet\/tools\/x \[mirror\] → intranet\.mirror\.test\/base 200/);
});

// The headers that must never leave detour: the run's credential, every other Proxy-* header, the
// connection-level ones, and whatever the client's Connection header names.
const HOP_HEADERS = ['proxy-authorization', 'proxy-connection', 'proxy-extra', 'keep-alive', 'te', 'x-hop-secret'];

t.test('plain HTTP through the proxy: neither a mirror nor an origin receives Proxy-Authorization, Proxy-* or hop-by-hop headers', async (t) => {
  const w = await makeWorld(t);
  const mirror = await w.https('goproxy.cn', answer(200, 'from mirror'));
  const mirroredOrigin = await w.http('proxy.golang.org', answer(200, 'from the mirrored host’s origin'));
  const origin = await w.http('example.org', answer(200, 'from origin'));
  // curl sends Proxy-Authorization (Basic, from the proxy URL) on every plain-HTTP request to the proxy.
  const curl = [
    'curl -sS --max-time 20 -w " %{http_code}\\n" -x "$DETOUR_PROXY"',
    "-H 'Proxy-Connection: keep-alive' -H 'Proxy-Extra: x' -H 'Keep-Alive: timeout=5' -H 'TE: trailers'",
    "-H 'Connection: keep-alive, X-Hop-Secret' -H 'X-Hop-Secret: s3cret' -H 'X-End-To-End: kept'",
  ].join(' ');
  const script = ['echo "$DETOUR_PROXY"', `${curl} http://proxy.golang.org/github.com/acme/widget/@v/list`, `${curl} http://example.org/hello`].join('\n');
  const r = await w.detour([...w.flags(), '-v', '-m', 'proxy.golang.org=https://goproxy.cn', '--', 'sh', '-c', script]);
  t.equal(r.code, 0, r.stderr);
  const [proxyUrl, viaMirror, viaOrigin] = r.stdout.split('\n');
  const token = decodeURIComponent(new URL(proxyUrl!).password);
  t.ok(token.length >= 16, 'the child was given the run’s credential');
  t.equal(viaMirror, 'from mirror 200', 'the mirrored host was answered by the mirror');
  t.equal(viaOrigin, 'from origin 200', 'the unmirrored host was answered by its origin');
  t.match(r.stderr, /GET http:\/\/proxy\.golang\.org\/\S+ \[mirror\] → goproxy\.cn 200/, 'plain HTTP to a rule host went down the rule');
  t.equal(mirroredOrigin.requests.length, 0, 'the mirrored host’s origin received nothing');
  t.equal(mirror.requests.length, 1);
  t.equal(origin.requests.length, 1);
  for (const [name, server] of [['the mirror', mirror], ['the origin', origin]] as const) {
    const headers = server.requests[0]!.headers;
    for (const h of HOP_HEADERS) t.notOk(h in headers, `${name} received no ${h} header (got ${JSON.stringify(headers[h])})`);
    const seen = JSON.stringify(headers);
    t.notOk(seen.includes(token) || seen.includes(Buffer.from(`detour:${token}`).toString('base64')), `${name} never saw the run’s credential, under any header`);
    t.notMatch(headers.connection ?? '', /x-hop-secret/i, `${name}: the Connection header does not name the client’s hop header`);
    t.equal(headers['x-end-to-end'], 'kept', `${name}: end-to-end headers are forwarded (the strip is not a wipe)`);
  }
});

t.test('headers pass as the peer wrote them: repeated fields keep their lines and spelling, hop-by-hop ones are dropped both ways', async (t) => {
  const w = await makeWorld(t);
  let seen: string[] = [];
  await w.https('goproxy.cn', (req, res) => {
    seen = req.rawHeaders;
    res.writeHead(200, [
      'Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'X-Multi', 'one', 'X-Multi', 'two',
      'Connection', 'X-Target-Hop', 'X-Target-Hop', 'secret', 'Keep-Alive', 'timeout=5', 'Proxy-Thing', 'x', 'X-Mixed-CASE', 'kept',
    ]);
    res.end('ok');
  });
  const curl = ['curl', '-sS', '--max-time', '30', '-D', '-', '-o', '/dev/null', '-H', 'X-Multi-Req: 1', '-H', 'X-Multi-Req: 2', '-H', 'Cookie: c=1'];
  const r = await w.detour([...w.flags(), '-m', 'proxy.golang.org=https://goproxy.cn', '--', ...curl, 'https://proxy.golang.org/x/@v/list']);
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\r\n');
  for (const line of ['Set-Cookie: a=1', 'Set-Cookie: b=2', 'X-Multi: one', 'X-Multi: two', 'X-Mixed-CASE: kept']) t.ok(lines.includes(line), `the client got "${line}"`);
  t.notMatch(r.stdout, /X-Target-Hop|Proxy-Thing|timeout=5/i, "the target's hop-by-hop headers stop at detour");
  const names = seen.filter((_, i) => i % 2 === 0);
  t.same(names.filter((n) => n === 'X-Multi-Req'), ['X-Multi-Req', 'X-Multi-Req'], 'a repeated request field keeps its lines');
  t.same(names.filter((n) => n.toLowerCase() === 'host'), ['Host'], 'one Host');
  t.notOk(names.some((n) => n.toLowerCase() === 'cookie'), "the client's cookie for the origin is not sent to a mirror on another host");
});

t.test('--direct wins over a mirror rule for the same host: tunnelled and never decrypted, plain HTTP sent to the origin', async (t) => {
  const w = await makeWorld(t);
  const origin = await w.https('registry.npmjs.org', answer(200, 'tls origin'));
  const plainOrigin = await w.http('registry.npmjs.org', answer(200, 'plain origin'));
  const mirror = await w.https('registry.npmmirror.com', answer(200, 'mirrored'));
  // The host has BOTH a rule and a --direct pattern: only --direct must decide.
  const flags = [...w.flags(), '-v', '-m', 'registry.npmjs.org=https://registry.npmmirror.com', '-d', 'registry.npmjs.org'];
  // Trusting only the test CA (not detour's): a decrypted connection would fail curl's certificate check.
  let r = await w.detour([...flags, '--', ...CURL, '--cacert', w.ca.certFile, 'https://registry.npmjs.org/left-pad']);
  t.equal(r.stdout, 'tls origin\n200', `curl saw the origin’s own certificate: ${r.stderr}`);
  t.match(r.stderr, /CONNECT registry\.npmjs\.org:443 \[direct\]/, 'the CONNECT was routed direct');
  t.equal(origin.requests.length, 1);
  r = await w.detour([...flags, '--', ...CURL, 'http://registry.npmjs.org/left-pad']);
  t.equal(r.stdout, 'plain origin\n200', r.stderr);
  t.match(r.stderr, /GET http:\/\/registry\.npmjs\.org\/left-pad \[direct\]/, 'the plain request was routed direct');
  t.equal(plainOrigin.requests.length, 1);
  t.equal(mirror.connections(), 0, 'the mirror was never dialled');
});

t.test('a request whose body was sent is not retried: a GET with a body through a|b gets the first target’s 500 at once', async (t) => {
  const w = await makeWorld(t);
  const first = await w.https('a.mirror.test', (_req, res, body) => {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(`a read ${body.length} bytes`);
  });
  const second = await w.https('b.mirror.test', answer(200, 'b answered'));
  const payload = 'q'.repeat(64 * 1024);
  // --timeout 30000: a retry that re-sent the headers without the body would wait that long at b; curl's own
  // bound (10 s) is what "at once" means here, and the answer takes milliseconds.
  const get = ['curl', '-sS', '--max-time', '10', '-w', '\\n%{http_code}', '-X', 'GET', '-H', 'content-type: text/plain', '--data-binary', payload];
  const chain = 'registry.npmjs.org=https://a.mirror.test|https://b.mirror.test';
  const r = await w.detour([...w.flags(), '--timeout', '30000', '-m', chain, '--', ...get, 'https://registry.npmjs.org/-/v1/search']);
  t.equal(r.code, 0, `curl got an answer within its 10 s bound (curl exit ${r.code}): ${r.stderr}`);
  t.equal(r.stdout, `a read ${payload.length} bytes\n500`, 'the client got the first target’s own answer');
  t.equal(first.requests.length, 1);
  t.equal(first.requests[0]!.body.length, payload.length, 'the first target read the whole body');
  t.equal(second.connections(), 0, 'the second target was never dialled');
  t.equal(second.requests.length, 0);
});
