// The go command through the go preset: real `go mod download` against fake goproxy.cn / aliyun / origin.
import t from 'tap';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { goproxyHandler, sampleModuleGraph } from './fixtures/goproxy.js';
import { answer, CURL, makeWorld, needs, type World } from './fixtures/detour.js';

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
