// Mirrors are read-only: a write on a mirrored host (npm publish, git push, any method but GET and HEAD)
// goes to the origin unchanged, with the client's credentials, and is reported with the route `origin`.
import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { answer, makeWorld, needs, type World } from './fixtures/detour.js';
import { gitHttpBackendHandler, makeBareRepo } from './fixtures/git.js';
import { npmRegistryHandler, type Published } from './fixtures/npmRegistry.js';
import { isolatedEnv, run } from './fixtures/run.js';

/** CURL as one shell word list: quiet, the body, then the status code. */
const CURL_SH = "curl -sS --max-time 30 -w '\\n%{http_code}'";

/** w.flags(), -v, and a catch-all that sends any other name, any port, to a dead local port. */
async function hermetic(w: World): Promise<string[]> {
  return [...w.flags(), `--connect-to=::127.0.0.1:${await w.deadPort()}`, '-v'];
}

t.test('npm publish through the npm preset: the PUT and its tarball reach the origin with the token; the mirror sees nothing', { skip: needs('npm') }, async (t) => {
  const w = await makeWorld(t);
  const token = 'npm_publishTokenForTheOrigin0123456789';
  const published: Published[] = [];
  const origin = await w.https('registry.npmjs.org', npmRegistryHandler([], 'https://registry.npmjs.org', { token, published }));
  const mirrorPublished: Published[] = [];
  const mirror = await w.https('registry.npmmirror.com', npmRegistryHandler([], 'https://registry.npmmirror.com', { published: mirrorPublished }));

  const project = join(w.work, 'acme-publish');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'acme-publish', version: '1.2.3', main: 'index.js', license: 'MIT' }, null, 2));
  writeFileSync(join(project, 'index.js'), 'module.exports = "published through detour";\n');
  const userconfig = join(w.home, '.npmrc');
  writeFileSync(userconfig, `registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=${token}\naudit=false\nfund=false\nupdate-notifier=false\n`);
  const env = {
    npm_config_cache: join(w.tmp, 'npm-cache'),
    npm_config_userconfig: userconfig,
    npm_config_update_notifier: 'false',
    npm_config_fetch_retries: '0',
    npm_config_provenance: 'false',
  };
  const r = await w.detour([...(await hermetic(w)), '-m', 'npm=npmmirror', '--', 'npm', 'publish'], { env, cwd: project, timeoutMs: 120_000 });
  t.equal(r.code, 0, `npm publish: ${r.stdout}\n${r.stderr}`);

  t.equal(published.length, 1, 'the origin accepted one publish');
  const p = published[0];
  t.equal(p?.name, 'acme-publish');
  t.equal(p?.version, '1.2.3');
  t.equal(p?.authorization, `Bearer ${token}`, 'with the client’s token');
  const tar = p ? gunzipSync(p.tgz).toString('latin1') : '';
  t.match(tar, /package\/index\.js[\s\S]*published through detour/, 'the tarball carried the package');
  t.ok(origin.requests.some((q) => q.method === 'PUT' && q.url === '/acme-publish'), 'PUT /acme-publish reached registry.npmjs.org');
  t.same(
    mirror.requests.filter((q) => q.method !== 'GET' && q.method !== 'HEAD').map((q) => `${q.method} ${q.url}`),
    [],
    'the mirror received no write',
  );
  t.notOk(
    mirror.requests.some((q) => JSON.stringify(q.headers).includes(token)),
    'the token never reached the mirror',
  );
  t.equal(mirrorPublished.length, 0);
  t.match(r.stderr, /PUT https:\/\/registry\.npmjs\.org\/acme-publish \[origin\] → origin 200/, '-v: the PUT went to the origin');
});

t.test('every method but GET and HEAD goes to the origin unchanged, credentials intact; the trace says origin', async (t) => {
  const w = await makeWorld(t);
  const origin = await w.https('registry.npmjs.org', answer(200, 'origin'));
  const mirror = await w.https('npm.mirror.test', answer(200, 'mirror'));
  const trace = join(w.tmp, 'run.har');
  const url = 'https://registry.npmjs.org/-/npm/v1/security/advisories/bulk';
  const script = [
    `${CURL_SH} -X POST -H 'Authorization: Bearer audit-token' -H 'content-type: application/json' --data '{"x":["1.0.0"]}' ${url}; echo`,
    `${CURL_SH} -X DELETE -H 'Authorization: Bearer audit-token' https://registry.npmjs.org/-/user/token/abc; echo`,
    `${CURL_SH} https://registry.npmjs.org/left-pad; echo`,
    `${CURL_SH} -I -o /dev/null https://registry.npmjs.org/left-pad; echo`,
  ].join('; ');
  const r = await w.detour([...w.flags(), '-v', '--trace', trace, '-m', 'registry.npmjs.org=https://npm.mirror.test', '--', 'sh', '-c', script]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'origin\n200\norigin\n200\nmirror\n200\n\n200\n');
  t.same(origin.requests.map((q) => `${q.method} ${q.url} ${q.headers.authorization} ${q.body.toString()}`), [
    'POST /-/npm/v1/security/advisories/bulk Bearer audit-token {"x":["1.0.0"]}',
    'DELETE /-/user/token/abc Bearer audit-token ',
  ]);
  t.same(mirror.requests.map((q) => `${q.method} ${q.url}`), ['GET /left-pad', 'HEAD /left-pad'], 'reads only');
  t.match(r.stderr, /POST https:\/\/registry\.npmjs\.org\/-\/npm\/v1\/security\/advisories\/bulk \[origin\] → origin 200/);
  t.match(r.stderr, /GET https:\/\/registry\.npmjs\.org\/left-pad \[mirror\] → npm\.mirror\.test 200/);
  const har = JSON.parse(readFileSync(trace, 'utf8')) as { log: { entries: { request: { method: string }; _detour: { route: string; targetUrl?: string } }[] } };
  const post = har.log.entries.find((e) => e.request.method === 'POST');
  t.equal(post?._detour.route, 'origin', 'HAR: route origin');
  t.equal(post?._detour.targetUrl, url, 'HAR: the origin URL');
});

t.test('the privacy guard still stops a read of a private module; a write to the same host goes to the origin', async (t) => {
  const w = await makeWorld(t);
  const origin = await w.https('proxy.golang.org', answer(200, 'origin'));
  const mirror = await w.https('goproxy.cn', answer(200, 'mirror'));
  const script = `${CURL_SH} https://proxy.golang.org/corp.test/lib/@v/list; echo; ${CURL_SH} -X POST --data x https://proxy.golang.org/corp.test/lib/@v/list`;
  const r = await w.detour([...w.flags(), '-d', 'corp.test', '-m', 'go=goproxy.cn', '--', 'sh', '-c', script]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^detour: module corp\.test\/lib is private[^\n]*\n\n404\norigin\n200$/);
  t.equal(mirror.requests.length, 0, 'the mirror heard of neither');
  t.same(origin.requests.map((q) => q.method), ['POST']);
});

t.test('git push through a mirror rule: clone from the mirror, push to the origin', { skip: needs('git') }, async (t) => {
  const w = await makeWorld(t);
  const originRoot = join(w.work, 'origin-root');
  const mirrorRoot = join(w.work, 'mirror-root');
  for (const root of [originRoot, mirrorRoot]) await makeBareRepo(join(root, 'acme/widget.git'), { 'README.md': '# widget\n' });
  const allowPush = await run('git', ['config', '--file', join(originRoot, 'acme/widget.git/config'), 'http.receivepack', 'true'], { env: isolatedEnv() });
  t.equal(allowPush.code, 0, allowPush.stderr);
  const origin = await w.https('github.com', gitHttpBackendHandler(originRoot));
  const mirror = await w.https('git.mirror.test', gitHttpBackendHandler(mirrorRoot, { prefix: '/github.com' }));
  const env = {
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'A',
    GIT_AUTHOR_EMAIL: 'a@example.invalid',
    GIT_COMMITTER_NAME: 'A',
    GIT_COMMITTER_EMAIL: 'a@example.invalid',
  };
  const script = [
    'set -e',
    'git clone --quiet https://github.com/acme/widget.git widget',
    'cd widget',
    'echo pushed > NEW.md',
    'git add NEW.md',
    'git commit --quiet -m "pushed through detour"',
    'git push --quiet origin main',
  ].join('\n');
  const r = await w.detour([...w.flags(), '-v', '-m', 'github.com=https://git.mirror.test/github.com', '--', 'sh', '-c', script], { env, timeoutMs: 60_000 });
  t.equal(r.code, 0, r.stderr);
  const log = await run('git', ['--git-dir', join(originRoot, 'acme/widget.git'), 'log', '--format=%s', 'main'], { env: isolatedEnv() });
  t.equal(log.stdout, 'pushed through detour\ninitial fixture commit\n', 'the origin has the pushed commit');
  t.ok(mirror.requests.some((q) => q.method === 'POST' && q.url.endsWith('/git-upload-pack')), 'the clone was served by the mirror');
  t.notOk(mirror.requests.some((q) => q.url.includes('receive-pack')), 'the mirror heard nothing of the push');
  t.same(
    origin.requests.map((q) => `${q.method} ${q.url}`),
    ['GET /acme/widget.git/info/refs?service=git-receive-pack', 'POST /acme/widget.git/git-receive-pack'],
    'the origin saw the push, and only the push',
  );
  t.match(r.stderr, /POST https:\/\/github\.com\/acme\/widget\.git\/git-receive-pack \[origin\] → origin 200/);
});
