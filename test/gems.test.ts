// The gems preset with the real Debian clients, `gem install` (RubyGems 3.3) and `bundle install` (Bundler
// 2.3), against stand-ins for gems.ruby-china.com, TUNA, a team's Nexus, rubygems.org and index.rubygems.org
// on 127.0.0.1. The gems are built by `gem build` and indexed by `gem generate_index` at test time
// (fixtures/gemIndex.ts). Each client runs with its own HOME, GEM_HOME, spec cache and Bundler folders under
// the test's temp folder, and every name it could reach is mapped: the stand-ins by name, anything else to a
// dead local port (`--connect-to=::…`), so nothing leaves the machine.
import t from 'tap';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { answer, makeWorld, needs, type World } from './fixtures/detour.js';
import { gemRepositoryHandler, makeGemRepository, type BuiltGem, type GemSource } from './fixtures/gemIndex.js';
import { isolatedEnv, run } from './fixtures/run.js';
import type { FakeServer } from './fixtures/servers.js';

const GEAR: GemSource = { name: 'acme-gear', version: '1.0.0', deps: { 'acme-bolt': '>= 0.1' }, lib: 'require "acme-bolt"\nmodule AcmeGear; WORD = "gear+" + AcmeBolt::WORD; end\n' };
const BOLT: GemSource = { name: 'acme-bolt', version: '0.1.0', lib: 'module AcmeBolt; WORD = "bolt"; end\n' };

const RUBYCHINA = 'gems.ruby-china.com';
const TUNA = 'mirrors.tuna.tsinghua.edu.cn';

/** w.flags(), -v, and a catch-all that sends any other name, any port, to a dead local port. */
async function hermetic(w: World): Promise<string[]> {
  return [...w.flags(), `--connect-to=::127.0.0.1:${await w.deadPort()}`, '-v'];
}

/** An origin that must stay silent: it records, and answers 500 so a leak also shows as a failure. */
const silentOrigin = (w: World, name: string) => w.https(name, answer(500, `${name} must not be asked\n`));

const paths = (s: FakeServer) => s.requests.map((r) => `${r.method} ${new URL(r.url, 'https://x').pathname}`);

/** A repository of `sources` under a fresh folder of the world. */
async function repository(w: World, label: string, sources: readonly GemSource[]): Promise<{ root: string; gems: BuiltGem[] }> {
  const root = join(w.tmp, `repo-${label}`);
  const gems = await makeGemRepository(root, sources, join(w.tmp, `build-${label}`));
  return { root, gems };
}

/**
 * The Ruby clients' own folders, all under the test's: gems are installed into GEM_HOME; GEM_PATH ends in ':' so
 * RubyGems still finds Debian's own gems (bundler itself) read-only; Bundler's user folder, cache and config are
 * the test's. Retries off: a failure is meant to show at once.
 */
function rubyEnv(w: World): NodeJS.ProcessEnv {
  const gemHome = join(w.home, 'gem-home');
  return {
    GEM_HOME: gemHome,
    GEM_PATH: `${gemHome}:`,
    GEM_SPEC_CACHE: join(w.home, 'gem-spec-cache'),
    BUNDLE_USER_HOME: join(w.home, 'bundle-user'),
    BUNDLE_PATH: join(w.work, 'vendor-bundle'),
    BUNDLE_RETRY: '0',
    BUNDLE_JOBS: '1',
    BUNDLE_SILENCE_ROOT_WARNING: '1',
    BUNDLE_DISABLE_VERSION_CHECK: '1',
  };
}

/** Every file under `dir` whose name or content mentions `needle`. */
function filesMentioning(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && (e.name.includes(needle) || readFileSync(p).includes(needle))) hits.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return hits;
}

/** `ruby -e` with the installed gems on the path: what a program using them would print. */
async function rubyUses(w: World, env: NodeJS.ProcessEnv, code: string) {
  return run('ruby', ['-e', code], { env: isolatedEnv({ HOME: w.home, ...env }), cwd: w.work, timeoutMs: 30_000 });
}

const gemInstall = ['gem', 'install', '--no-document', 'acme-gear'];

t.test('gem install through the default chain: gems.ruby-china.com serves the index and the files; TUNA and the origins hear nothing', { skip: needs('gem') }, async (t) => {
  const w = await makeWorld(t);
  const { root, gems } = await repository(w, 'rubychina', [GEAR, BOLT]);
  const mirror = await w.https(RUBYCHINA, gemRepositoryHandler(root));
  const tuna = await silentOrigin(w, TUNA);
  const index = await silentOrigin(w, 'index.rubygems.org');
  const origin = await silentOrigin(w, 'rubygems.org');
  const env = rubyEnv(w);

  const r = await w.detour([...(await hermetic(w)), '-m', 'gems', '--', ...gemInstall], { env, timeoutMs: 120_000 });
  t.equal(r.code, 0, `gem install: ${r.stdout}\n${r.stderr}`);
  t.match(r.stdout, /Successfully installed acme-bolt-0\.1\.0[\s\S]*Successfully installed acme-gear-1\.0\.0/);
  const used = await rubyUses(w, env, 'require "acme-gear"; print AcmeGear::WORD');
  t.equal(used.stdout, 'gear+bolt', `the installed gems load: ${used.stderr}`);
  for (const g of gems) {
    t.same(readFileSync(join(env.GEM_HOME!, 'cache', g.file)), g.data, `${g.file} in GEM_HOME/cache is the built gem, byte for byte`);
  }

  const asked = paths(mirror);
  t.equal(asked[0], 'HEAD /', 'gem asked for index.rubygems.org/ first (whether the compact index is there)');
  for (const p of ['GET /info/acme-gear', 'GET /info/acme-bolt', 'GET /gems/acme-gear-1.0.0.gem', 'GET /gems/acme-bolt-0.1.0.gem']) t.ok(asked.includes(p), `the mirror served ${p}`);
  t.same(asked.filter((p) => !/^(HEAD \/|GET \/info\/acme-(gear|bolt)|GET \/gems\/acme-(gear-1\.0\.0|bolt-0\.1\.0)\.gem|GET \/quick\/Marshal\.4\.8\/acme-(gear-1\.0\.0|bolt-0\.1\.0)\.gemspec\.rz)$/.test(p)), [], 'and nothing else');
  t.match(r.stderr, /HEAD https:\/\/index\.rubygems\.org\/ \[mirror\] → gems\.ruby-china\.com 200/);
  t.match(r.stderr, /GET https:\/\/index\.rubygems\.org\/gems\/acme-gear-1\.0\.0\.gem \[mirror\] → gems\.ruby-china\.com 200/, 'gem asked the origin URL; detour sent it to the mirror');
  t.equal(tuna.requests.length, 0, 'TUNA (second in the chain) received nothing');
  t.equal(index.requests.length, 0, 'index.rubygems.org received nothing');
  t.equal(origin.requests.length, 0, 'rubygems.org received nothing');
  t.notMatch(r.stderr, /\[(tunnel|origin|direct)\]/, 'no request tunneled or sent to an origin');
  t.same(filesMentioning(w.home, 'ruby-china'), [], "nothing under HOME (gems, spec cache) names the mirror");
});

t.test('gem trusts detour through SSL_CERT_FILE and finds it through https_proxy, never http_proxy', { skip: needs('gem') }, async (t) => {
  const w = await makeWorld(t);
  const { root } = await repository(w, 'rubychina', [GEAR, BOLT]);
  const mirror = await w.https(RUBYCHINA, gemRepositoryHandler(root));
  await silentOrigin(w, 'index.rubygems.org');
  const dead = `http://127.0.0.1:${await w.deadPort()}`;
  const flags = await hermetic(w);

  // OpenSSL's default paths (Gem::Request: store.set_default_paths) read SSL_CERT_FILE; without it gem has only
  // the system roots, Debian's gemrc ssl_ca_cert and its own bundled ones, none of which knows detour's CA.
  let r = await w.detour([...flags, '-m', 'gems', '--', 'env', '-u', 'SSL_CERT_FILE', ...gemInstall], { env: rubyEnv(w), timeoutMs: 120_000 });
  t.not(r.code, 0, 'without SSL_CERT_FILE gem fails');
  t.match(r.stdout + r.stderr, /certificate verify failed/, `TLS to detour is refused: ${r.stderr}`);
  t.equal(mirror.requests.length, 0, 'and nothing reached the mirror');

  // Gem::Request.get_proxy_from_env('https') reads https_proxy / HTTPS_PROXY only: a dead http_proxy is never used.
  r = await w.detour([...flags, '-m', 'gems', '--', 'env', `http_proxy=${dead}`, `HTTP_PROXY=${dead}`, ...gemInstall], { env: rubyEnv(w), timeoutMs: 120_000 });
  t.equal(r.code, 0, `with http_proxy dead, gem still goes through detour: ${r.stdout}\n${r.stderr}`);
  t.match(r.stderr, /GET https:\/\/index\.rubygems\.org\/gems\/acme-gear-1\.0\.0\.gem \[mirror\]/);
});

t.test('bundle install: Gemfile.lock keeps remote https://rubygems.org/ and names no mirror; the origins hear nothing', { skip: needs('bundle') }, async (t) => {
  const w = await makeWorld(t);
  const { root, gems } = await repository(w, 'rubychina', [GEAR, BOLT]);
  const mirror = await w.https(RUBYCHINA, gemRepositoryHandler(root));
  const tuna = await silentOrigin(w, TUNA);
  const index = await silentOrigin(w, 'index.rubygems.org');
  const origin = await silentOrigin(w, 'rubygems.org');
  const project = join(w.work, 'app');
  mkdirSync(project);
  writeFileSync(join(project, 'Gemfile'), 'source "https://rubygems.org"\n\ngem "acme-gear"\n');
  const env = rubyEnv(w);

  const r = await w.detour([...(await hermetic(w)), '-m', 'gems', '--', 'bundle', 'install'], { env, cwd: project, timeoutMs: 120_000 });
  t.equal(r.code, 0, `bundle install: ${r.stdout}\n${r.stderr}`);
  t.match(r.stdout, /Installing acme-bolt 0\.1\.0[\s\S]*Installing acme-gear 1\.0\.0/);

  const lock = readFileSync(join(project, 'Gemfile.lock'), 'utf8');
  t.match(lock, /^GEM\n  remote: https:\/\/rubygems\.org\/\n  specs:\n    acme-bolt \(0\.1\.0\)\n    acme-gear \(1\.0\.0\)\n      acme-bolt \(>= 0\.1\)\n/m, 'Gemfile.lock: remote https://rubygems.org/, both gems');
  t.notMatch(lock, /ruby-china|tuna|127\.0\.0\.1/, 'Gemfile.lock names no mirror');
  const used = await run('bundle', ['exec', 'ruby', '-e', 'require "acme-gear"; print AcmeGear::WORD'], { env: isolatedEnv({ HOME: w.home, ...env }), cwd: project, timeoutMs: 60_000 });
  t.equal(used.stdout, 'gear+bolt', `bundle exec loads the gems: ${used.stderr}`);

  const asked = paths(mirror);
  // Bundler reads the compact index (the ETag it checks is the body's MD5), then fetches each .gem and
  // checks it against the index's sha256 (RubygemsGemInstaller#validate_bundler_checksum).
  t.same(
    asked.filter((p) => p.startsWith('GET /versions') || p.startsWith('GET /info/')).sort(),
    ['GET /info/acme-bolt', 'GET /info/acme-gear', 'GET /versions'],
    'the compact index came from the mirror',
  );
  for (const g of gems) t.ok(asked.includes(`GET /gems/${g.file}`), `the mirror served ${g.file}`);
  t.match(r.stderr, /GET https:\/\/index\.rubygems\.org\/versions \[mirror\] → gems\.ruby-china\.com 200/, 'bundler asked index.rubygems.org for the index');
  t.match(r.stderr, /GET https:\/\/rubygems\.org\/gems\/acme-gear-1\.0\.0\.gem \[mirror\] → gems\.ruby-china\.com 200/, 'and rubygems.org for the .gem');
  t.equal(tuna.requests.length, 0, 'TUNA received nothing');
  t.equal(index.requests.length, 0, 'index.rubygems.org received nothing');
  t.equal(origin.requests.length, 0, 'rubygems.org received nothing');
  t.notMatch(r.stderr, /\[(tunnel|origin|direct)\]/, 'no request tunneled or sent to an origin');
  t.same(filesMentioning(w.home, 'ruby-china'), [], "Bundler's compact index cache and gem caches never name the mirror");
  const caches = readdirSync(join(env.BUNDLE_USER_HOME!, 'cache', 'compact_index'));
  t.ok(caches.length === 1 && caches[0]!.startsWith('rubygems.org.443.'), `Bundler's compact index cache is keyed by the source, rubygems.org: ${caches.join(', ')}`);
});

t.test("Bundler's two HTTP stacks: the index reads http_proxy and SSL_CERT_FILE unless an ssl_ca_cert is configured, the .gem downloads https_proxy and SSL_CERT_FILE", { skip: needs('bundle') }, async (t) => {
  const w = await makeWorld(t);
  const { root } = await repository(w, 'rubychina', [GEAR, BOLT]);
  const mirror = await w.https(RUBYCHINA, gemRepositoryHandler(root));
  await silentOrigin(w, 'index.rubygems.org');
  await silentOrigin(w, 'rubygems.org');
  const dead = `http://127.0.0.1:${await w.deadPort()}`;
  const flags = await hermetic(w);
  // A user's gemrc naming their own roots (a corporate root; here a file without detour's CA).
  const gemrc = join(w.home, 'corporate-gemrc');
  writeFileSync(gemrc, `---\n:ssl_ca_cert: ${w.ca.certFile}\n`);
  const bundle = async (label: string, envArgs: string[], parentEnv: NodeJS.ProcessEnv = {}) => {
    const project = join(w.work, label);
    mkdirSync(project);
    writeFileSync(join(project, 'Gemfile'), 'source "https://rubygems.org"\ngem "acme-gear"\n');
    const env = { ...rubyEnv(w), BUNDLE_USER_HOME: join(w.home, `bundle-${label}`), BUNDLE_PATH: join(project, 'vendor'), ...parentEnv };
    const before = mirror.requests.length;
    const r = await w.detour([...flags, '-m', 'gems', '--', 'env', ...envArgs, 'bundle', 'install'], { env, cwd: project, timeoutMs: 120_000 });
    const asked = mirror.requests.slice(before).map((q) => new URL(q.url, 'https://x').pathname);
    return { r, asked, index: asked.filter((p) => p === '/versions' || p.startsWith('/info/')), downloads: asked.filter((p) => p.startsWith('/gems/')) };
  };

  // No ssl_ca_cert configured: Bundler::Fetcher#bundler_cert_store uses OpenSSL's default paths, i.e. SSL_CERT_FILE.
  let b = await bundle('plain', ['-u', 'BUNDLE_SSL_CA_CERT']);
  t.equal(b.r.code, 0, `without BUNDLE_SSL_CA_CERT and no ssl_ca_cert anywhere, SSL_CERT_FILE suffices: ${b.r.stdout}\n${b.r.stderr}`);

  // A gemrc ssl_ca_cert replaces the default paths for the index fetcher (gem itself adds it to them).
  b = await bundle('gemrc-unset', ['-u', 'BUNDLE_SSL_CA_CERT'], { GEMRC: gemrc });
  t.not(b.r.code, 0, 'with a gemrc ssl_ca_cert and no BUNDLE_SSL_CA_CERT, bundle install fails');
  t.match(b.r.stdout + b.r.stderr, /Could not verify the SSL certificate|certificate verify failed/, 'TLS to detour refused');
  t.same(b.index, [], 'no index request reached the mirror');
  b = await bundle('gemrc', [], { GEMRC: gemrc });
  t.equal(b.r.code, 0, `with the same gemrc, detour's BUNDLE_SSL_CA_CERT (it wins over the gemrc) makes it work: ${b.r.stdout}\n${b.r.stderr}`);

  // The .gem downloads go through Gem::RemoteFetcher, which reads SSL_CERT_FILE and not BUNDLE_SSL_CA_CERT.
  b = await bundle('no-ssl-cert-file', ['-u', 'SSL_CERT_FILE']);
  t.not(b.r.code, 0, 'without SSL_CERT_FILE bundle install fails');
  t.same(b.index.sort(), ['/info/acme-bolt', '/info/acme-gear', '/versions'], 'the index came through (BUNDLE_SSL_CA_CERT)');
  t.same(b.downloads, [], 'but no .gem was downloaded');
  t.match(b.r.stdout + b.r.stderr, /certificate verify failed/, 'the download failed TLS');

  // net-http-persistent's proxy_from_env reads http_proxy / HTTP_PROXY, for https too.
  b = await bundle('dead-http-proxy', [`http_proxy=${dead}`, `HTTP_PROXY=${dead}`]);
  t.not(b.r.code, 0, 'with a dead http_proxy bundle install fails');
  t.same(b.index, [], 'the compact index never reached detour (Bundler then tried the full index, which Gem::RemoteFetcher fetches)');

  // Gem::RemoteFetcher (the downloads) reads https_proxy / HTTPS_PROXY.
  b = await bundle('dead-https-proxy', [`https_proxy=${dead}`, `HTTPS_PROXY=${dead}`]);
  t.not(b.r.code, 0, 'with a dead https_proxy bundle install fails');
  t.ok(b.index.includes('/versions'), 'the compact index came through detour (http_proxy)');
  t.same(b.downloads, [], 'the downloads did not');
});

t.test("-m gems=<a team's Nexus URL>: the origin's paths under the base; Gemfile.lock still names rubygems.org", { skip: needs('bundle', 'gem') }, async (t) => {
  const w = await makeWorld(t);
  const base = '/repository/rubygems';
  const { root } = await repository(w, 'nexus', [GEAR, BOLT]);
  const nexus = await w.https('nexus.corp.test', gemRepositoryHandler(root, base));
  const index = await silentOrigin(w, 'index.rubygems.org');
  const origin = await silentOrigin(w, 'rubygems.org');
  const flags = await hermetic(w);
  const spec = `gems=https://nexus.corp.test${base}`;

  const project = join(w.work, 'app');
  mkdirSync(project);
  writeFileSync(join(project, 'Gemfile'), 'source "https://rubygems.org"\ngem "acme-gear"\n');
  const r = await w.detour([...flags, '-m', spec, '--', 'bundle', 'install'], { env: rubyEnv(w), cwd: project, timeoutMs: 120_000 });
  t.equal(r.code, 0, `bundle install: ${r.stdout}\n${r.stderr}`);
  t.match(readFileSync(join(project, 'Gemfile.lock'), 'utf8'), /^GEM\n  remote: https:\/\/rubygems\.org\/\n/m);
  t.notMatch(readFileSync(join(project, 'Gemfile.lock'), 'utf8'), /nexus/);

  const g = await w.detour([...flags, '-m', spec, '--', ...gemInstall], { env: { ...rubyEnv(w), GEM_HOME: join(w.home, 'gem-home-2') }, timeoutMs: 120_000 });
  t.equal(g.code, 0, `gem install: ${g.stdout}\n${g.stderr}`);

  const asked = paths(nexus);
  t.ok(asked.length > 0 && asked.every((p) => p.includes(` ${base}/`)), `every request under ${base}/: ${asked.join(', ')}`);
  for (const p of [`GET ${base}/versions`, `GET ${base}/info/acme-gear`, `GET ${base}/gems/acme-gear-1.0.0.gem`, `HEAD ${base}/`]) t.ok(asked.includes(p), `Nexus served ${p}`);
  t.match(r.stderr, /GET https:\/\/index\.rubygems\.org\/versions \[mirror\] → nexus\.corp\.test\/repository\/rubygems 200/);
  t.equal(index.requests.length + origin.requests.length, 0, 'the origins received nothing');
});

t.test('default chain: what gems.ruby-china.com lacks, TUNA serves as files; the index TUNA lacks comes from the origin', { skip: needs('gem') }, async (t) => {
  const w = await makeWorld(t);
  const full = await repository(w, 'full', [GEAR, BOLT]);
  const partial = await repository(w, 'partial', [GEAR]);
  const rubychina = await w.https(RUBYCHINA, gemRepositoryHandler(partial.root));
  // TUNA as it is: the files, and a redirect to the origin (over plain http) for the compact index.
  const tunaFiles = gemRepositoryHandler(full.root, '/rubygems');
  const tuna = await w.https(TUNA, (req, res, body) => {
    const m = /^\/rubygems(\/info\/.*)$/.exec(new URL(req.url ?? '/', 'https://x').pathname);
    if (m) {
      res.writeHead(302, { location: `http://rubygems.org${m[1]}` });
      res.end();
      return;
    }
    return tunaFiles(req, res, body);
  });
  const index = await w.https('index.rubygems.org', gemRepositoryHandler(full.root));
  const origin = await silentOrigin(w, 'rubygems.org');
  const env = rubyEnv(w);

  const r = await w.detour([...(await hermetic(w)), '-m', 'gems', '--', ...gemInstall], { env, timeoutMs: 120_000 });
  t.equal(r.code, 0, `gem install: ${r.stdout}\n${r.stderr}`);
  const used = await rubyUses(w, env, 'require "acme-gear"; print AcmeGear::WORD');
  t.equal(used.stdout, 'gear+bolt', `the installed gems load: ${used.stderr}`);

  t.ok(paths(rubychina).includes('GET /info/acme-bolt'), 'gems.ruby-china.com was asked first, and had no acme-bolt');
  t.same(paths(index), ['GET /info/acme-bolt'], 'the origin index served only what the first mirror lacked (TUNA is not asked for the index)');
  t.notOk(paths(tuna).some((p) => p.includes('/info/')), 'TUNA never got a compact index request');
  t.ok(paths(tuna).includes('GET /rubygems/gems/acme-bolt-0.1.0.gem'), 'TUNA served the .gem gems.ruby-china.com lacked');
  t.match(r.stderr, /GET https:\/\/index\.rubygems\.org\/info\/acme-bolt \[mirror\] → origin 200 .*\(tried gems\.ruby-china\.com:404 → origin:200\)/, '-v: the index fell back from gems.ruby-china.com to the origin, TUNA not tried');
  t.match(r.stderr, /GET https:\/\/index\.rubygems\.org\/gems\/acme-bolt-0\.1\.0\.gem \[mirror\] → mirrors\.tuna\.tsinghua\.edu\.cn\/rubygems 200 .*\(tried gems\.ruby-china\.com:404 → mirrors\.tuna\.tsinghua\.edu\.cn\/rubygems:200\)/, '-v: the .gem fell back to TUNA');
  t.equal(origin.requests.length, 0, 'rubygems.org received nothing');
});

t.test('a dead mirror: gem falls back to the origin, with one warning naming the mirror', { skip: needs('gem') }, async (t) => {
  const w = await makeWorld(t);
  const { root } = await repository(w, 'origin', [GEAR, BOLT]);
  w.map(RUBYCHINA, await w.deadPort());
  const index = await w.https('index.rubygems.org', gemRepositoryHandler(root));
  const origin = await silentOrigin(w, 'rubygems.org');

  const r = await w.detour([...(await hermetic(w)), '-m', 'gems=rubychina|origin', '--', ...gemInstall], { env: rubyEnv(w), timeoutMs: 120_000 });
  t.equal(r.code, 0, `gem install: ${r.stdout}\n${r.stderr}`);
  t.match(r.stdout, /Successfully installed acme-gear-1\.0\.0/);
  t.match(r.stderr, /detour: warning: mirror gems\.ruby-china\.com failed \(E_CONNECT [^\n]*\); fell back to origin/);
  t.equal(r.stderr.match(/warning: mirror gems\.ruby-china\.com failed/g)?.length, 1, 'named once');
  for (const p of ['HEAD /', 'GET /info/acme-gear', 'GET /gems/acme-gear-1.0.0.gem']) t.ok(paths(index).includes(p), `index.rubygems.org served ${p}`);
  t.equal(origin.requests.length, 0, 'rubygems.org itself was not needed');
});

t.test('gem push through the gems preset: the POST and its API key reach rubygems.org; the mirror sees nothing', { skip: needs('gem') }, async (t) => {
  const w = await makeWorld(t);
  const { gems } = await repository(w, 'push', [BOLT]);
  const key = 'rubygems_0123456789abcdef0123456789abcdef0123456789abcdef';
  const origin = await w.https('rubygems.org', answer(200, 'Successfully registered gem: acme-bolt (0.1.0)'));
  const mirror = await w.https(RUBYCHINA, answer(500, 'the mirror must not be asked\n'));
  const index = await silentOrigin(w, 'index.rubygems.org');
  const gemFile = join(w.work, gems[0]!.file);
  writeFileSync(gemFile, gems[0]!.data);

  const r = await w.detour([...(await hermetic(w)), '-m', 'gems', '--', 'gem', 'push', gemFile], { env: { ...rubyEnv(w), GEM_HOST_API_KEY: key }, timeoutMs: 120_000 });
  t.equal(r.code, 0, `gem push: ${r.stdout}\n${r.stderr}`);
  t.match(r.stdout, /Successfully registered gem: acme-bolt \(0\.1\.0\)/);
  const push = origin.requests.find((q) => q.method === 'POST');
  t.equal(push && new URL(push.url, 'https://x').pathname, '/api/v1/gems', 'POST /api/v1/gems reached rubygems.org');
  t.equal(push?.headers.authorization, key, 'with the API key');
  t.same(push?.body, gems[0]!.data, 'and the .gem as its body');
  t.equal(mirror.requests.length, 0, 'the mirror received nothing');
  t.equal(index.requests.length, 0, 'index.rubygems.org received nothing');
  t.match(r.stderr, /POST https:\/\/rubygems\.org\/api\/v1\/gems \[origin\] → origin 200/, '-v: the write went to the origin');
  t.notMatch(r.stderr, new RegExp(key), 'the key is never printed');
});

t.test('detour check -m gems: the index probe skips TUNA, the file probe asks every target', async (t) => {
  const w = await makeWorld(t);
  const rubychina = await w.https(RUBYCHINA, answer(200, 'ok'));
  const tuna = await w.https(TUNA, answer(200, 'ok'));
  const index = await w.https('index.rubygems.org', answer(200, 'ok'));
  const origin = await w.https('rubygems.org', answer(200, 'ok'));
  const r = await w.detour(['check', '--json', ...w.flags(), '-m', 'gems']);
  t.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as { rule: string; target: string; url: string; ok: boolean }[];
  t.same(
    rows.map((row) => `${row.rule} ${row.url}`).sort(),
    [
      'index.rubygems.org/info https://gems.ruby-china.com/info/rake',
      'index.rubygems.org/info https://index.rubygems.org/info/rake',
      'rubygems.org/quick https://gems.ruby-china.com/quick/Marshal.4.8/rake-13.2.1.gemspec.rz',
      'rubygems.org/quick https://mirrors.tuna.tsinghua.edu.cn/rubygems/quick/Marshal.4.8/rake-13.2.1.gemspec.rz',
      'rubygems.org/quick https://rubygems.org/quick/Marshal.4.8/rake-13.2.1.gemspec.rz',
    ],
    'the probes',
  );
  t.ok(rows.every((row) => row.ok));
  t.same(paths(tuna), ['GET /rubygems/quick/Marshal.4.8/rake-13.2.1.gemspec.rz']);
  t.equal(rubychina.requests.length, 2);
  t.equal(index.requests.length + origin.requests.length, 2);
});

t.test('-m gems=<unknown name>: one line naming the known mirrors, exit 2, nothing run', async (t) => {
  const w = await makeWorld(t);
  const r = await w.detour(['--no-upstream', '-m', 'gems=rubychina|aliyun', '--', 'sh', '-c', 'echo ran']);
  t.equal(r.code, 2);
  t.equal(r.stdout, '');
  t.match(r.stderr, /^detour: unknown gems mirror "aliyun" in "gems=rubychina\|aliyun"; known: rubychina, tuna, origin, or a URL\n$/);
});
