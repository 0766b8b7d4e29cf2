// The go command through the go preset: real `go mod download` against fake goproxy.cn / aliyun / origin.
import t from 'tap';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { goproxyHandler, sampleModuleGraph } from './fixtures/goproxy.js';
import { answer, CURL, makeWorld, needs, type World } from './fixtures/detour.js';
import { isolatedEnv, run } from './fixtures/run.js';
import { makeSumdb } from './fixtures/sumdb.js';

function goProject(w: World): NodeJS.ProcessEnv {
  const graph = sampleModuleGraph();
  writeFileSync(join(w.work, 'go.mod'), graph.mainGoMod);
  writeFileSync(join(w.work, 'main.go'), graph.mainGo);
  return {
    GOFLAGS: '-mod=mod',
    GOSUMDB: 'off', // a fake checksum database would need a signed tree; sumdb routing is tested with curl below
    GOTOOLCHAIN: 'local',
    GOPATH: join(w.work, 'gopath'),
    GOMODCACHE: join(w.work, 'modcache'),
    GOCACHE: join(w.work, 'gocache'),
  };
}

const zips = (s: { requests: { url: string }[] }) => s.requests.filter((r) => r.url.endsWith('.zip')).map((r) => decodeURIComponent(r.url));

t.test('go mod download: the go preset (default) sends every module request to goproxy.cn', { skip: needs('go') }, async (t) => {
  const w = await makeWorld(t);
  const env = goProject(w);
  const { modules } = sampleModuleGraph();
  const origin = await w.https('proxy.golang.org', goproxyHandler(modules));
  const mirror = await w.https('goproxy.cn', goproxyHandler(modules));
  const r = await w.detour([...w.flags(), '--', 'go', 'mod', 'download'], { env, timeoutMs: 120_000 });
  t.equal(r.code, 0, r.stderr);
  t.same(zips(mirror).sort(), [
    '/github.com/!acme!labs/!sprocket/@v/v0.1.0.zip',
    '/github.com/acme/gear/@v/v0.3.1.zip',
    '/github.com/acme/widget/@v/v1.2.0.zip',
  ]);
  t.equal(origin.requests.length, 0, 'proxy.golang.org received nothing');
  t.ok(existsSync(join(w.work, 'modcache/github.com/acme/widget@v1.2.0/widget.go')), 'module extracted into the cache');
});

t.test('go mod download falls through a failing goproxy.cn to aliyun under /goproxy', { skip: needs('go') }, async (t) => {
  const w = await makeWorld(t);
  const env = goProject(w);
  const { modules } = sampleModuleGraph();
  const origin = await w.https('proxy.golang.org', goproxyHandler(modules));
  const cn = await w.https('goproxy.cn', answer(502, 'bad gateway'));
  const aliyun = await w.https('mirrors.aliyun.com', goproxyHandler(modules, { prefix: '/goproxy' }));
  const r = await w.detour([...w.flags(), '-v', '--', 'go', 'mod', 'download'], { env, timeoutMs: 120_000 });
  t.equal(r.code, 0, r.stderr);
  t.ok(cn.requests.length > 0, 'goproxy.cn was tried first');
  t.equal(zips(aliyun).length, 3, 'aliyun served the zips');
  t.ok(aliyun.requests.every((q) => q.url.startsWith('/goproxy/')), 'paths under the mirror base');
  t.equal(origin.requests.length, 0);
  t.match(r.stderr, /\[mirror\] → mirrors\.aliyun\.com\/goproxy 200 .*tried goproxy\.cn:502/);
  t.match(r.stderr, /fallbacks/);
});

t.test('sumdb requests go to <mirror>/sumdb/sum.golang.org', async (t) => {
  const w = await makeWorld(t);
  const mirror = await w.https('goproxy.cn', answer(200, 'tree'));
  const r = await w.detour([...w.flags(), '-m', 'go=goproxy.cn', '--', ...CURL, 'https://sum.golang.org/lookup/github.com/acme/widget@v1.2.0']);
  t.equal(r.stdout, 'tree\n200', r.stderr);
  t.equal(mirror.requests[0]!.url, '/sumdb/sum.golang.org/lookup/github.com/acme/widget@v1.2.0');
});

t.test('privacy guard: a private module is answered 404 locally; private hosts are tunneled, never decrypted', async (t) => {
  const w = await makeWorld(t);
  const mirror = await w.https('goproxy.cn', answer(200, 'leaked'));
  const corp = await w.https('corp.example.com', answer(200, 'corp origin'));
  const flags = [...w.flags(), '-v', '-m', 'go=goproxy.cn', '-d', 'corp.example.com,*.internal.test'];
  let r = await w.detour([...flags, '--', ...CURL, 'https://proxy.golang.org/corp.example.com/lib/@v/list']);
  t.match(r.stdout, /private[\s\S]*\n404$/, r.stderr);
  r = await w.detour([...flags, '--', ...CURL, 'https://sum.golang.org/lookup/corp.example.com/lib@v1.0.0']);
  t.match(r.stdout, /\n404$/);
  r = await w.detour([...flags, '--', ...CURL, 'https://proxy.golang.org/x.internal.test/lib/@latest']);
  t.match(r.stdout, /\n404$/);
  t.equal(mirror.requests.length, 0, 'the mirror never heard of the private modules');

  // Trusting only the test CA proves the connection was not decrypted by detour.
  r = await w.detour([...flags, '--', ...CURL, '--cacert', w.ca.certFile, 'https://corp.example.com/x']);
  t.equal(r.stdout, 'corp origin\n200', r.stderr);
  t.match(r.stderr, /CONNECT corp\.example\.com:443 \[direct\]/);
  t.equal(corp.requests.length, 1);

  r = await w.detour([...flags, '--', 'sh', '-c', 'echo "$GOPRIVATE"'], { env: { GOPRIVATE: 'a.example' } });
  t.equal(r.stdout, 'a.example,corp.example.com,*.internal.test\n', 'patterns appended to the child’s GOPRIVATE');
});

t.test("the parent's GOPRIVATE and NO_PROXY count as --direct", async (t) => {
  const w = await makeWorld(t);
  const mirror = await w.https('goproxy.cn', answer(200, 'leaked'));
  const r = await w.detour([...w.flags(), '-m', 'go=goproxy.cn', '--', ...CURL, 'https://proxy.golang.org/git.corp.test/x/@v/list'], {
    env: { GOPRIVATE: '*.corp.test' },
  });
  t.match(r.stdout, /\n404$/);
  t.equal(mirror.requests.length, 0);
});

// ---------------------------------------------------------------------------------------------------
// The go command without detour's CA (go on macOS ignores SSL_CERT_FILE): its GOPROXY points at a plain-HTTP
// endpoint on the proxy port, /<token>/go/<host><path>. Here go is given a trust store with the test CA
// alone: it can verify the stand-ins, never detour's leaves, so any https request it made would fail.

const TOKEN = '[A-Za-z0-9_-]{24}';
const ENDPOINT = `http://127\\.0\\.0\\.1:\\d+/${TOKEN}/go`;

/** The go project's env, go's trust limited to the test CA, the checksum database chosen by the test. */
function untrustingGo(w: World, gosumdb: string): NodeJS.ProcessEnv {
  return { ...goProject(w), GOFLAGS: '-mod=mod -modcacherw', GOSUMDB: gosumdb, TEST_CA: w.ca.certFile };
}

/** Runs go with SSL_CERT_FILE = the test CA alone (detour's bundle replaced), then prints its GOPROXY. */
const goWithoutDetourCa = (goArgs: string) => ['sh', '-c', `SSL_CERT_FILE="$TEST_CA" go ${goArgs} && echo "GOPROXY=$GOPROXY"`];

t.test('go without detour’s CA: modules and the checksum database through the endpoint, from the mirror', { skip: needs('go', 'sh') }, async (t) => {
  const w = await makeWorld(t);
  const { modules } = sampleModuleGraph();
  // A checksum database named sum.golang.org, signed with a test key that GOSUMDB names: go checks every
  // record against the signed tree head, so a wrong record or tile fails the download.
  const sumdb = makeSumdb('sum.golang.org', modules);
  const proxyHandler = goproxyHandler(modules);
  const sumdbHandler = sumdb.handler('/sumdb/sum.golang.org');
  const mirror = await w.https('goproxy.cn', (req, res, body) =>
    (req.url ?? '').startsWith('/sumdb/') ? sumdbHandler(req, res, body) : proxyHandler(req, res, body),
  );
  const origin = await w.https('proxy.golang.org', answer(500, 'origin must not be asked'));
  const sumOrigin = await w.https('sum.golang.org', answer(500, 'origin must not be asked'));
  const env = untrustingGo(w, sumdb.vkey);

  const r = await w.detour([...w.flags(), '-v', '-m', 'go=goproxy.cn', '--', ...goWithoutDetourCa('mod download -x')], { env, timeoutMs: 120_000 });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`^GOPROXY=${ENDPOINT}/proxy\\.golang\\.org,direct\\n$`), 'the default GOPROXY, its proxy.golang.org entry on the endpoint');
  // go -x prints every fetch: all of them plain HTTP to the endpoint, none https.
  t.match(r.stderr, new RegExp(`# get ${ENDPOINT}/proxy\\.golang\\.org/github\\.com/acme/widget/@v/v1\\.2\\.0\\.zip`));
  t.match(r.stderr, new RegExp(`# get ${ENDPOINT}/proxy\\.golang\\.org/sumdb/sum\\.golang\\.org/lookup/github\\.com/acme/widget@v1\\.2\\.0`));
  t.notMatch(r.stderr, /# get https:/, 'go made no https request');
  // -v names the URLs go meant, never the endpoint.
  t.match(r.stderr, /GET https:\/\/proxy\.golang\.org\/github\.com\/acme\/widget\/@v\/v1\.2\.0\.zip \[mirror\] → goproxy\.cn 200/);
  t.match(r.stderr, /GET https:\/\/sum\.golang\.org\/lookup\/github\.com\/acme\/widget@v1\.2\.0 \[mirror\] → goproxy\.cn\/sumdb\/sum\.golang\.org 200/);
  t.notMatch(r.stderr, /127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{24}\/go\/\S* \[/, 'no -v line names the endpoint');

  t.same(zips(mirror).sort(), [
    '/github.com/!acme!labs/!sprocket/@v/v0.1.0.zip',
    '/github.com/acme/gear/@v/v0.3.1.zip',
    '/github.com/acme/widget/@v/v1.2.0.zip',
  ]);
  const sumdbPaths = mirror.requests.map((q) => decodeURIComponent(q.url)).filter((u) => u.startsWith('/sumdb/'));
  t.ok(sumdbPaths.includes('/sumdb/sum.golang.org/lookup/github.com/acme/widget@v1.2.0'), 'lookups reached the mirror’s sumdb');
  t.ok(sumdbPaths.some((u) => /^\/sumdb\/sum\.golang\.org\/tile\/8\/0\/000\.p\/\d+$/.test(u)), 'and the tiles that prove them');
  t.notOk(sumdbPaths.includes('/sumdb/sum.golang.org/supported'), '`supported` answered by detour itself');
  t.equal(origin.requests.length, 0, 'proxy.golang.org received nothing');
  t.equal(sumOrigin.requests.length, 0, 'sum.golang.org received nothing');
  t.ok(existsSync(join(w.work, 'modcache/github.com/acme/widget@v1.2.0/widget.go')), 'module extracted into the cache');

  // The control: the same go, sent over https instead (GOPROXY forced), cannot pass TLS to detour's leaves.
  const env2 = { ...env, GOMODCACHE: join(w.work, 'modcache2') };
  const c = await w.detour([...w.flags(), '-m', 'go=goproxy.cn', '--', 'sh', '-c', 'SSL_CERT_FILE="$TEST_CA" GOPROXY=https://proxy.golang.org go mod download'], {
    env: env2,
    timeoutMs: 120_000,
  });
  t.not(c.code, 0, 'over https go fails: its trust store lacks detour’s CA');
  t.match(c.stderr, /x509|certificate/);
});

t.test('GOPROXY from go’s env file is honoured and rewritten, its path kept; `direct` stays', { skip: needs('go', 'sh') }, async (t) => {
  const w = await makeWorld(t);
  const { modules } = sampleModuleGraph();
  const goenv = join(w.home, 'go-env');
  const set = await run('go', ['env', '-w', 'GOPROXY=https://goproxy.corp.test/go,direct'], { env: isolatedEnv({ HOME: w.home, GOENV: goenv }) });
  t.equal(set.code, 0, set.stderr);

  const mirror = await w.https('goproxy.cn', goproxyHandler(modules, { prefix: '/go' }));
  const origin = await w.https('goproxy.corp.test', answer(500, 'origin must not be asked'));
  const env = { ...untrustingGo(w, 'off'), GOENV: goenv };
  const r = await w.detour([...w.flags(), '-m', 'goproxy.corp.test=https://goproxy.cn', '--', ...goWithoutDetourCa('mod download')], { env, timeoutMs: 120_000 });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`^GOPROXY=${ENDPOINT}/goproxy\\.corp\\.test/go,direct\\n$`));
  t.equal(zips(mirror).length, 3, 'the raw rule’s mirror served the zips');
  t.ok(mirror.requests.every((q) => q.url.startsWith('/go/')), 'the entry’s path /go kept under the mirror');
  t.equal(origin.requests.length, 0);
  t.equal(readFileSync(goenv, 'utf8'), 'GOPROXY=https://goproxy.corp.test/go,direct\n', 'the env file is untouched');
});

t.test('the child’s GOPROXY: only entries with a rule change; words, separators and other proxies stay', { skip: needs('sh') }, async (t) => {
  const w = await makeWorld(t);
  const goroot = join(w.tmp, 'goroot');
  mkdirSync(goroot);
  const child = async (env: NodeJS.ProcessEnv, flags: string[] = ['-m', 'go']) => {
    const r = await w.detour(['--no-upstream', ...flags, '--', 'sh', '-c', 'echo "${GOPROXY-unset}"'], { env });
    t.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  const cases: [NodeJS.ProcessEnv, RegExp][] = [
    [{}, new RegExp(`^${ENDPOINT}/proxy\\.golang\\.org,direct$`)],
    [{ GOPROXY: 'https://goproxy.io|https://proxy.golang.org/,direct' }, new RegExp(`^https://goproxy\\.io\\|${ENDPOINT}/proxy\\.golang\\.org,direct$`)],
    [{ GOPROXY: 'proxy.golang.org|sum.golang.org' }, new RegExp(`^${ENDPOINT}/proxy\\.golang\\.org\\|${ENDPOINT}/sum\\.golang\\.org$`)],
    // go refuses user info on a plain-HTTP URL: it stays with detour (see the credentials test below).
    [{ GOPROXY: 'https://user:pw@proxy.golang.org,off' }, new RegExp(`^${ENDPOINT}/proxy\\.golang\\.org,off$`)],
    [{ GOPROXY: 'off' }, /^off$/],
    [{ GOPROXY: 'direct' }, /^direct$/],
    [{ GOPROXY: 'http://proxy.golang.org,direct' }, /^http:\/\/proxy\.golang\.org,direct$/], // plain HTTP already reaches detour's router
    // $GOROOT/go.env (Go ≥ 1.21) is go's default when nothing else sets GOPROXY: unset stays unset.
    [{ GOROOT: goroot, GOENV: 'off' }, /^unset$/],
  ];
  writeFileSync(join(goroot, 'go.env'), 'GOPROXY=direct\nGOSUMDB=sum.golang.org\n');
  const got = await Promise.all(cases.map(([env]) => child(env)));
  cases.forEach(([env, want], i) => t.match(got[i], want, JSON.stringify(env)));

  t.equal(await child({}, ['-m', 'npm']), 'unset', 'no rule for proxy.golang.org: GOPROXY not set');
  t.equal(await child({}, ['-m', 'go', '-d', 'proxy.golang.org']), 'unset', 'a --direct host is never decrypted, so never rewritten');
});

/** Shell for the endpoint base of the child's first GOPROXY entry, and curl printing body then status. */
const CURL_SH = `base="\${GOPROXY%%,*}"; c() { curl -sS --max-time 30 -w '\\n%{http_code}\\n' "$@"; }`;

t.test('through the endpoint: privacy guard, sumdb mapping, refusals of a wrong or missing token', { skip: needs('sh', 'curl') }, async (t) => {
  const w = await makeWorld(t);
  const mirror = await w.https('goproxy.cn', answer(200, 'from mirror'));
  const origin = await w.https('proxy.golang.org', answer(500, 'origin must not be asked'));
  const script = [
    CURL_SH,
    'c "$base/corp.example.com/lib/@v/list"', // private: answered locally
    'c "$base/sumdb/sum.golang.org/supported"', // a rule covers sum.golang.org: 200 here
    'c "$base/sumdb/sum.golang.org/lookup/github.com/acme/widget@v1.2.0"',
    'c "$(echo "$base" | sed "s#/[^/]*/go/#/AAAAAAAAAAAAAAAAAAAAAAAA/go/#")/github.com/acme/widget/@v/list"', // wrong token
    'c "$(echo "$base" | sed "s#/[^/]*/go/#/go/#")/github.com/acme/widget/@v/list"', // no token
    'c "${base%/proxy.golang.org}/example.com/x/@v/list"', // right token, not a GOPROXY entry of this run
  ].join('; ');
  const r = await w.detour([...w.flags(), '-v', '-m', 'go=goproxy.cn', '-d', 'corp.example.com', '--', 'sh', '-c', script]);
  t.equal(r.code, 0, r.stderr);
  const answers = r.stdout.split(/\n(\d{3})\n/);
  const statuses = answers.filter((_, i) => i % 2 === 1);
  const bodies = answers.filter((_, i) => i % 2 === 0);
  t.same(statuses, ['404', '200', '200', '407', '407', '404'], r.stdout);
  t.match(bodies[0], /private/);
  t.equal(bodies[1], '', '`supported`: an empty 200');
  t.equal(bodies[2], 'from mirror');
  t.match(bodies[5], /not under an entry/);
  t.match(r.stderr, /GET https:\/\/proxy\.golang\.org\/corp\.example\.com\/lib\/@v\/list \[blocked\] 404/);
  t.match(r.stderr, /GET https:\/\/sum\.golang\.org\/lookup\/github\.com\/acme\/widget@v1\.2\.0 \[mirror\] → goproxy\.cn\/sumdb\/sum\.golang\.org 200/);
  t.same(
    mirror.requests.map((q) => q.url),
    ['/sumdb/sum.golang.org/lookup/github.com/acme/widget@v1.2.0'],
    'the mirror saw the lookup alone: nothing private, nothing with a wrong token',
  );
  t.equal(origin.requests.length, 0);
});

t.test('through the endpoint, without a rule on sum.golang.org: sumdb stays under the entry, as go would send it', { skip: needs('sh', 'curl') }, async (t) => {
  const w = await makeWorld(t);
  const mirror = await w.https('goproxy.cn', answer(200, 'from mirror'));
  const script = [CURL_SH, 'c "$base/sumdb/sum.golang.org/supported"', 'c "$base/sumdb/sum.golang.org/latest"'].join('; ');
  const r = await w.detour([...w.flags(), '-m', 'proxy.golang.org=https://goproxy.cn', '--', 'sh', '-c', script]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'from mirror\n200\nfrom mirror\n200\n');
  t.same(
    mirror.requests.map((q) => q.url),
    ['/sumdb/sum.golang.org/supported', '/sumdb/sum.golang.org/latest'],
    'the mirror answers for proxy.golang.org’s sumdb proxying',
  );
});

t.test('through the endpoint, an entry’s credentials reach its own host, never a mirror', { skip: needs('sh', 'curl') }, async (t) => {
  const w = await makeWorld(t);
  const mirror = await w.https('goproxy.cn', answer(404, 'not on the mirror'));
  const origin = await w.https('goproxy.corp.test', answer(200, 'from origin'));
  const r = await w.detour([...w.flags(), '-m', 'goproxy.corp.test=https://goproxy.cn|origin', '--', 'sh', '-c', `${CURL_SH}; echo "$GOPROXY"; c "$base/corp.test/m/@v/list"`], {
    env: { GOPROXY: 'https://ci:p%40ss@goproxy.corp.test/go' },
  });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`^${ENDPOINT}/goproxy\\.corp\\.test/go\\nfrom origin\\n200\\n$`), 'no user info in the child’s GOPROXY');
  t.equal(mirror.requests.length, 1);
  t.notOk(mirror.requests[0]!.headers.authorization, 'the mirror got no credentials');
  t.equal(origin.requests[0]?.headers.authorization, 'Basic ' + Buffer.from('ci:p@ss').toString('base64'), 'the origin got the entry’s, decoded');
});
