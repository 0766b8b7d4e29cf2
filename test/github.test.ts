// The github preset end to end, with real clients (curl, wget, git) against a stand-in for a URL-prefix proxy
// (`https://ghfast.top/https://github.com/…`): it serves whole original URLs from a table, and git's smart HTTP
// through the real `git http-backend`.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitHttpBackendHandler, makeBareRepo } from './fixtures/git.js';
import { answer, makeWorld, needs, type World } from './fixtures/detour.js';
import { isolatedEnv, run } from './fixtures/run.js';
import type { Handler } from './fixtures/servers.js';

const ASSET = 'https://github.com/acme/widget/releases/download/v1.2.0/widget-linux-amd64.tar.gz';
const ARCHIVE = 'https://github.com/acme/widget/archive/refs/tags/v1.2.0.tar.gz';
/** Where github.com sends a release download: a signed URL that expires within minutes. */
const SIGNED = 'https://release-assets.githubusercontent.com/github-production-release-asset/4242/5f0c?sp=r&sv=2018-11-09&se=2026-12-02T08%3A00%3A00Z&sig=a%2Bb%3D';

type Answer = Buffer | { readonly redirect: string };

/**
 * A URL-prefix proxy: the path is `/` plus a whole original URL. Answers from `table` (keyed by that URL, query
 * included); git's smart HTTP for https://github.com/… from the bare repositories under `gitRoot`; else 404.
 */
function prefixProxy(table: Readonly<Record<string, Answer>>, gitRoot?: string): Handler {
  const git = gitRoot ? gitHttpBackendHandler(gitRoot, { prefix: '/https://github.com' }) : undefined;
  return (req, res, body) => {
    const inner = (req.url ?? '').slice(1);
    const found = table[inner];
    if (found && 'redirect' in found) {
      res.writeHead(302, { location: found.redirect, 'content-length': 0 });
      res.end();
    } else if (found) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': found.length });
      res.end(found);
    } else if (git && /^https:\/\/github\.com\/[^/]+\/[^/]+\/(info\/refs|git-upload-pack)(\?|$)/.test(inner)) {
      return git(req, res, body);
    } else answer(404, `not proxied: ${inner}\n`)(req, res, body);
  };
}

/** Origins that must hear nothing, and the second default proxy mapped to a port where nothing listens. */
async function origins(w: World, hosts: readonly string[]) {
  w.map('gh-proxy.com', await w.deadPort());
  const servers = await Promise.all(hosts.map((h) => w.https(h, answer(500, `${h} must not be asked\n`))));
  return () => servers.flatMap((s, i) => s.requests.map((q) => `${hosts[i]} ${q.method} ${q.url}`));
}

t.test('with -m github, curl and wget fetch a release asset and an archive through the default proxy; github.com hears nothing', { skip: needs('curl', 'wget') }, async (t) => {
  const w = await makeWorld(t);
  const asset = randomBytes(300 * 1024);
  const archive = randomBytes(200 * 1024);
  const proxy = await w.https('ghfast.top', prefixProxy({ [ASSET]: asset, [ARCHIVE]: archive }));
  const heard = await origins(w, ['github.com', 'codeload.github.com', 'release-assets.githubusercontent.com']);
  // wget reads the user's own wgetrc still (detour's WGETRC adds the CA after it).
  writeFileSync(join(w.home, '.wgetrc'), 'header = X-From-Wgetrc: kept\n');
  const script = [
    'set -e',
    `curl -fsS --max-time 30 -o curl-asset.bin ${ASSET}`,
    `curl -fsS --max-time 30 -o curl-archive.tgz ${ARCHIVE}`,
    `wget -q --timeout=30 -O wget-asset.bin ${ASSET}`,
    `wget -q --timeout=30 -O wget-archive.tgz ${ARCHIVE}`,
  ].join('\n');
  const r = await w.detour([...w.flags(), '-v', '-m', 'github', '--', 'sh', '-c', script]);
  t.equal(r.code, 0, r.stderr);
  for (const client of ['curl', 'wget']) {
    t.ok(readFileSync(join(w.work, `${client}-asset.bin`)).equals(asset), `${client}: the asset, byte for byte`);
    t.ok(readFileSync(join(w.work, `${client}-archive.tgz`)).equals(archive), `${client}: the archive, byte for byte`);
  }
  t.same(heard(), [], 'no origin was asked');
  t.same(proxy.requests.map((q) => q.url), [ASSET, ARCHIVE, ASSET, ARCHIVE].map((u) => `/${u}`), 'the whole original URL after the proxy base');
  t.same(proxy.requests.map((q) => q.headers['x-from-wgetrc']), [undefined, undefined, 'kept', 'kept']);
  t.match(r.stderr, /GET https:\/\/github\.com\/acme\/widget\/releases\/download\/v1\.2\.0\/widget-linux-amd64\.tar\.gz \[mirror\] → ghfast\.top 200 300\.0 KiB/);
});

t.test('a redirect that reaches the client comes back through detour, down the same chain, its signed query intact', { skip: needs('curl', 'wget') }, async (t) => {
  const w = await makeWorld(t);
  const asset = randomBytes(64 * 1024);
  // A proxy that sends the client to the asset's origin URL (as gh-proxy and ghproxy do above their size limit).
  const proxy = await w.https('ghfast.top', prefixProxy({ [ASSET]: { redirect: SIGNED }, [SIGNED]: asset }));
  const heard = await origins(w, ['github.com', 'release-assets.githubusercontent.com']);
  let r = await w.detour([...w.flags(), '-v', '-m', 'github', '--', 'curl', '-fsSL', '--max-time', '30', '-o', 'asset.bin', ASSET]);
  t.equal(r.code, 0, r.stderr);
  t.ok(readFileSync(join(w.work, 'asset.bin')).equals(asset), 'the asset, byte for byte');
  t.same(proxy.requests.map((q) => q.url), [`/${ASSET}`, `/${SIGNED}`]);
  t.same(heard(), [], 'neither origin was asked');

  // The proxies are down: github.com answers with its own redirect, and the signed URL falls to its origin too.
  const w2 = await makeWorld(t);
  w2.map('ghfast.top', await w2.deadPort());
  w2.map('gh-proxy.com', await w2.deadPort());
  const github = await w2.https('github.com', answer(302, '', { location: SIGNED }));
  const assets = await w2.https('release-assets.githubusercontent.com', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': asset.length });
    res.end(asset);
  });
  r = await w2.detour([...w2.flags(), '-v', '-m', 'github', '--', 'wget', '-q', '--timeout=30', '-O', 'asset.bin', ASSET]);
  t.equal(r.code, 0, r.stderr);
  t.ok(readFileSync(join(w2.work, 'asset.bin')).equals(asset), 'wget followed the redirect: the asset, byte for byte');
  t.same(github.requests.map((q) => q.url), ['/acme/widget/releases/download/v1.2.0/widget-linux-amd64.tar.gz']);
  t.same(assets.requests.map((q) => q.url), [SIGNED.slice('https://release-assets.githubusercontent.com'.length)]);
  t.match(r.stderr, /GET https:\/\/release-assets\.githubusercontent\.com\/github-production-release-asset\/4242\/5f0c\?sp=r\S* \[mirror\] → origin 200 .*tried ghfast\.top:E_CONNECT/);
  t.match(r.stderr, /^detour: warning: .*ghfast\.top/m, 'the dead proxy is named');
});

t.test('git clone https://github.com/acme/widget through a URL-prefix proxy; a push still goes to github.com', { skip: needs('git') }, async (t) => {
  const w = await makeWorld(t);
  const mirrorRoot = join(w.work, 'mirror-root');
  const originRoot = join(w.work, 'origin-root');
  await makeBareRepo(join(mirrorRoot, 'acme/widget'), { 'README.md': '# widget from the proxy\n' });
  await makeBareRepo(join(originRoot, 'acme/widget'), { 'README.md': '# widget from the proxy\n' });
  const allowPush = await run('git', ['config', '--file', join(originRoot, 'acme/widget/config'), 'http.receivepack', 'true'], { env: isolatedEnv() });
  t.equal(allowPush.code, 0, allowPush.stderr);
  const proxy = await w.https('ghfast.top', prefixProxy({}, mirrorRoot));
  const origin = await w.https('github.com', gitHttpBackendHandler(originRoot));
  w.map('gh-proxy.com', await w.deadPort());
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
    'git clone --quiet https://github.com/acme/widget widget',
    'cd widget',
    'echo pushed > NEW.md',
    'git add NEW.md',
    'git commit --quiet -m "pushed through detour"',
    'git push --quiet origin main',
  ].join('\n');
  const r = await w.detour([...w.flags(), '-v', '-m', 'github', '--', 'sh', '-c', script], { env, timeoutMs: 60_000 });
  t.equal(r.code, 0, r.stderr);
  t.equal(readFileSync(join(w.work, 'widget/README.md'), 'utf8'), '# widget from the proxy\n');
  // Protocol v2 posts twice (ls-refs, then fetch); v0 once.
  t.same(
    [...new Set(proxy.requests.map((q) => `${q.method} ${q.url}`))],
    ['GET /https://github.com/acme/widget/info/refs?service=git-upload-pack', 'POST /https://github.com/acme/widget/git-upload-pack'],
    'the proxy served the clone: ref discovery, then the pack',
  );
  t.same(
    origin.requests.map((q) => `${q.method} ${q.url}`),
    ['GET /acme/widget/info/refs?service=git-receive-pack', 'POST /acme/widget/git-receive-pack'],
    'github.com heard the push, and only the push',
  );
  t.match(r.stderr, /POST https:\/\/github\.com\/acme\/widget\/git-upload-pack \[mirror\] → ghfast\.top 200/);
  const log = await run('git', ['--git-dir', join(originRoot, 'acme/widget'), 'log', '--format=%s', 'main'], { env: isolatedEnv() });
  t.equal(log.stdout, 'pushed through detour\ninitial fixture commit\n');
});

t.test('github.com web pages and api.github.com never reach a proxy', { skip: needs('curl') }, async (t) => {
  const w = await makeWorld(t);
  const proxy = await w.https('ghfast.top', answer(403, 'Invalid input.'));
  const github = await w.https('github.com', answer(200, '<html>acme/widget</html>'));
  const api = await w.https('api.github.com', answer(200, '{"name":"widget"}'));
  w.map('gh-proxy.com', await w.deadPort());
  const script = ['https://github.com/acme/widget', 'https://github.com/acme/widget/releases', 'https://api.github.com/repos/acme/widget'].map((u) => `curl -fsS --max-time 30 ${u}; echo`).join('\n');
  const r = await w.detour([...w.flags(), '-v', '-m', 'github', '--', 'sh', '-c', script]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, '<html>acme/widget</html>\n<html>acme/widget</html>\n{"name":"widget"}\n');
  t.equal(proxy.requests.length, 0, 'the proxy heard nothing');
  t.same(github.requests.map((q) => q.url), ['/acme/widget', '/acme/widget/releases']);
  t.equal(api.requests.length, 1);
  t.match(r.stderr, /GET https:\/\/github\.com\/acme\/widget \[origin\] → origin 200/);
  t.match(r.stderr, /CONNECT api\.github\.com:443 \[tunnel\]/);
});

t.test('a raw rule with a URL-prefix target; a malformed marker is refused with exit 2', { skip: needs('curl') }, async (t) => {
  const w = await makeWorld(t);
  const raw = 'https://raw.githubusercontent.com/acme/widget/main/install.sh';
  const corp = await w.https('gh.corp.test', (req, res) => {
    res.writeHead(req.url === `/gh/${raw}?ref=v1` ? 200 : 404, { 'content-type': 'text/plain' });
    res.end(req.url === `/gh/${raw}?ref=v1` ? 'echo installed\n' : 'no\n');
  });
  const origin = await w.https('raw.githubusercontent.com', answer(500, 'origin must not be asked'));
  let r = await w.detour([...w.flags(), '-v', '-m', 'raw.githubusercontent.com=https://gh.corp.test/gh/https://|origin', '--', 'curl', '-fsS', '--max-time', '30', `${raw}?ref=v1`]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'echo installed\n');
  t.same(corp.requests.map((q) => q.url), [`/gh/${raw}?ref=v1`]);
  t.equal(origin.requests.length, 0);
  t.match(r.stderr, /GET https:\/\/raw\.githubusercontent\.com\/acme\/widget\/main\/install\.sh\?ref=v1 \[mirror\] → gh\.corp\.test\/gh 200/);

  for (const spec of ['raw.githubusercontent.com=https://gh.corp.test/gh/https:/', 'github=https://gh.corp.test/http://|origin']) {
    r = await w.detour([...w.flags(), '-m', spec, '--', 'sh', '-c', 'echo ran']);
    t.equal(r.code, 2, spec);
    t.equal(r.stdout, '', 'the command did not run');
    t.match(r.stderr, /^detour: invalid mirror target "https:\/\/gh\.corp\.test\/[^"]+" in "[^"]+": a URL-prefix target ends in "\/https:\/\/" \(the whole original URL goes there\)\n$/);
  }
  r = await w.detour([...w.flags(), '-m', 'github=https://gh.corp.test/mirror', '--', 'true']);
  t.equal(r.code, 2);
  t.match(r.stderr, /^detour: invalid github mirror "https:\/\/gh\.corp\.test\/mirror" in "github=https:\/\/gh\.corp\.test\/mirror": a URL-prefix proxy is written with a trailing "\/https:\/\/"/);
});

t.test('detour presets lists github: its hosts, with "*" path elements on github.com, and its proxies in the -m syntax', async (t) => {
  const w = await makeWorld(t);
  const r = await w.detour(['presets', '--json']);
  t.equal(r.code, 0, r.stderr);
  const gh = (JSON.parse(r.stdout) as { name: string; hosts: string[]; defaultChain: string; mirrors: Record<string, string> }[]).find((p) => p.name === 'github')!;
  t.same(gh.hosts, [
    'github.com/*/*/info/refs',
    'github.com/*/*/git-upload-pack',
    'github.com/*/*/releases/download',
    'github.com/*/*/releases/latest/download',
    'github.com/*/*/archive',
    'github.com/*/*/raw',
    'raw.githubusercontent.com',
    'codeload.github.com',
    'gist.githubusercontent.com',
    'release-assets.githubusercontent.com',
    'objects.githubusercontent.com',
  ]);
  t.equal(gh.defaultChain, 'ghfast|gh-proxy|origin');
  t.equal(gh.mirrors.ghfast, 'https://ghfast.top/https://');
  const text = await w.detour(['presets']);
  t.match(text.stdout, /^github\s+GitHub release assets/m);
  t.match(text.stdout, /^\s+ghfast\s+https:\/\/ghfast\.top\/https:\/\/$/m);
});

t.test('detour check probes the github preset: git ref discovery and a raw file, through each proxy', async (t) => {
  const w = await makeWorld(t);
  const ghfast = await w.https('ghfast.top', answer(404, 'not proxied'));
  w.map('gh-proxy.com', await w.deadPort());
  const github = await w.https('github.com', answer(200, '001e# service=git-upload-pack\n'));
  await w.https('raw.githubusercontent.com', answer(200, 'Hello World!\n'));
  const r = await w.detour(['check', ...w.flags(), '-m', 'github']);
  t.equal(r.code, 0, `a 404 from a proxy is an answer: reachable (${r.stderr})`);
  t.match(r.stdout, /^github\.com\/\*\/\*\/info\/refs\s+ghfast\.top\s+404\s+\d+ ms\s+ok\s+https:\/\/ghfast\.top\/https:\/\/github\.com\/octocat\/Hello-World\/info\/refs\?service=git-upload-pack$/m);
  t.match(r.stdout, /^github\.com\/\*\/\*\/info\/refs\s+gh-proxy\.com\s+E_CONNECT\s+-\s+FAIL/m);
  t.match(r.stdout, /^github\.com\/\*\/\*\/info\/refs\s+origin\s+200\s+\d+ ms\s+ok/m);
  t.match(r.stdout, /^raw\.githubusercontent\.com\s+ghfast\.top\s+404\s+\d+ ms\s+ok\s+https:\/\/ghfast\.top\/https:\/\/raw\.githubusercontent\.com\/octocat\/Hello-World\/master\/README$/m);
  t.same(ghfast.requests.map((q) => q.url).sort(), ['/https://github.com/octocat/Hello-World/info/refs?service=git-upload-pack', '/https://raw.githubusercontent.com/octocat/Hello-World/master/README']);
  t.same(github.requests.map((q) => q.url), ['/octocat/Hello-World/info/refs?service=git-upload-pack']);
  t.equal(r.stdout.trim().split('\n').length, 1 + 2 * 3, 'two probed routes, three targets each');
});

t.test('github is opt-in: with no -m, github.com is a blind tunnel and no proxy is asked', { skip: needs('curl') }, async (t) => {
  const w = await makeWorld(t);
  const proxy = await w.https('ghfast.top', prefixProxy({ [ASSET]: randomBytes(1024) }));
  const heard = await origins(w, ['github.com']);
  const r = await w.detour([...w.flags(), '-v', '--', 'curl', '-sS', '--max-time', '30', '-o', '/dev/null', ASSET]);
  t.match(r.stderr, /CONNECT github\.com:443 \[tunnel\]/, 'tunneled, not decrypted');
  t.same(proxy.requests.length, 0, 'the URL-prefix proxy was never asked');
  t.ok(heard().length > 0, 'the request reached github.com itself');
});
