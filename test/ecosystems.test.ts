// Real package managers through the npm, pypi and crates presets, against local fakes of the mirrors and
// the origins: npm install, pip install --target, cargo fetch. Each client is isolated (HOME, cache and
// config under the test's folders), and every name any of them could reach is mapped: the fakes by name,
// everything else (`--connect-to=::…`, first match wins) to a dead port on 127.0.0.1, so nothing leaves
// the machine even if a client asks for a host the test did not foresee.
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { answer, makeWorld, needs, type World } from './fixtures/detour.js';
import { hasCommand, isolatedEnv, run } from './fixtures/run.js';
import type { FakeServer } from './fixtures/servers.js';
import { npmClientEnv, npmPackage, npmRegistryHandler } from './fixtures/npmRegistry.js';
import { makeWheel, simpleIndexHandler } from './fixtures/pypiIndex.js';
import { indexPath, makeCrate, sparseIndexHandler, type Crate } from './fixtures/cratesIndex.js';

/** w.flags(), -v, and a catch-all that sends any other name, any port, to a dead local port. */
async function hermetic(w: World): Promise<string[]> {
  return [...w.flags(), `--connect-to=::127.0.0.1:${await w.deadPort()}`, '-v'];
}

/** An origin that must stay silent: it records, and answers 500 so a leak also shows as a failure. */
const silentOrigin = (w: World, name: string) => w.https(name, answer(500, `${name} must not be asked\n`));

/** Every request of the run went down a mirror rule: nothing tunneled to, or forwarded to, any other host. */
const onlyMirrored = (t: Test, stderr: string) => t.notMatch(stderr, /\[(tunnel|origin|direct)\]/, 'no request tunneled or sent to an origin');

const paths = (s: FakeServer) => s.requests.map((r) => `${r.method} ${new URL(r.url, 'https://x').pathname}`);

/** Every file under `dir` whose name or content mentions `needle` (small trees only). */
function filesMentioning(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.includes(needle) || readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return hits;
}

t.test('npm install from a fake npmmirror: lockfile on registry.npmjs.org, origin untouched', { skip: needs('npm') }, async (t) => {
  const w = await makeWorld(t);
  const pkg = npmPackage('acme-widget', '1.0.0', 'module.exports = "acme-widget 1.0.0 via mirror";\n');
  const mirror = await w.https('registry.npmmirror.com', npmRegistryHandler([pkg], 'https://registry.npmmirror.com'));
  const origin = await silentOrigin(w, 'registry.npmjs.org');

  const project = join(w.work, 'app');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }, null, 2));
  // omit-lockfile-registry-resolved: a user's ~/.npmrc may set it (DESIGN §7); pinned off here.
  const npmrc = 'registry=https://registry.npmjs.org/\nomit-lockfile-registry-resolved=false\naudit=false\nfund=false\nupdate-notifier=false\n';
  writeFileSync(join(project, '.npmrc'), npmrc);
  const cache = join(w.tmp, 'npm-cache');
  const env = npmClientEnv(w.home, cache);

  const r = await w.detour([...(await hermetic(w)), '-m', 'npm=npmmirror', '--', 'npm', 'install', '--no-audit', '--no-fund', 'acme-widget'], {
    env,
    cwd: project,
    timeoutMs: 120_000,
  });
  t.equal(r.code, 0, `npm install: ${r.stderr}`);

  const installed = join(project, 'node_modules/acme-widget/package.json');
  t.ok(existsSync(installed), 'node_modules/acme-widget/package.json exists');
  t.equal(existsSync(installed) && JSON.parse(readFileSync(installed, 'utf8')).version, '1.0.0');
  t.equal(readFileSync(join(project, 'node_modules/acme-widget/index.js'), 'utf8'), 'module.exports = "acme-widget 1.0.0 via mirror";\n');

  const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8'));
  const entry = lock.packages?.['node_modules/acme-widget'];
  t.equal(entry?.resolved, 'https://registry.npmjs.org/acme-widget/-/acme-widget-1.0.0.tgz', 'lockfile resolved on the origin');
  t.equal(entry?.integrity, pkg.integrity, 'lockfile integrity = the tarball’s sha512');

  t.same([...new Set(paths(mirror))].sort(), ['GET /acme-widget', 'GET /acme-widget/-/acme-widget-1.0.0.tgz'], 'the mirror served the packument and the tarball, nothing else');
  t.match(mirror.requests.find((q) => q.url === '/acme-widget')?.headers['accept-encoding'], /gzip/, 'npm accepted a gzip packument, so detour decoded it before rewriting');
  t.equal(origin.requests.length, 0, 'registry.npmjs.org received nothing');
  onlyMirrored(t, r.stderr);
  t.match(r.stderr, /GET https:\/\/registry\.npmjs\.org\/acme-widget\/-\/acme-widget-1\.0\.0\.tgz \[mirror\] → registry\.npmmirror\.com 200/, 'npm asked the origin URL; detour sent it to the mirror');
  t.same(filesMentioning(cache, 'npmmirror'), [], "npm's cache never names the mirror");
});

interface PipCase {
  /** relative: ../../packages/… (TUNA's own pages, bandersnatch); root: /packages/…; absolute: on the mirror host. */
  readonly links: 'relative' | 'root' | 'absolute';
  readonly json?: boolean;
  /** The -m value; default pypi=tuna. */
  readonly spec?: string;
}

/** pip install --target --report through the pypi preset against a fake TUNA. */
async function pipInstall(t: Test, { links, json = false, spec = 'pypi=tuna' }: PipCase) {
  const w = await makeWorld(t);
  const wheel = makeWheel('acme-widget', '1.0.0', 'GREETING = "hello from acme_widget"\n');
  const tunaBase = 'https://pypi.tuna.tsinghua.edu.cn';
  const mirror = await w.https('pypi.tuna.tsinghua.edu.cn', simpleIndexHandler([wheel], { links: links === 'absolute' ? tunaBase : links, json }));
  const pypi = await silentOrigin(w, 'pypi.org');
  const files = await silentOrigin(w, 'files.pythonhosted.org');
  const target = join(w.work, 'site');
  const report = join(w.work, 'report.json');
  const env = {
    PIP_CONFIG_FILE: '/dev/null',
    PIP_NO_CACHE_DIR: '1',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PIP_NO_INPUT: '1',
    PIP_RETRIES: '0',
    PIP_DEFAULT_TIMEOUT: '30',
    PYTHONNOUSERSITE: '1',
    PYTHONDONTWRITEBYTECODE: '1',
  };
  const r = await w.detour([...(await hermetic(w)), '-m', spec, '--', 'python3', '-m', 'pip', 'install', '--report', report, '--target', target, 'acme-widget'], {
    env,
    timeoutMs: 120_000,
  });
  t.equal(r.code, 0, `pip install: ${r.stdout}\n${r.stderr}`);

  const imported = await run('python3', ['-c', 'import acme_widget; print(acme_widget.GREETING)'], {
    env: isolatedEnv({ HOME: w.home, PYTHONPATH: target, PYTHONNOUSERSITE: '1', PYTHONDONTWRITEBYTECODE: '1' }),
    cwd: w.tmp,
    timeoutMs: 30_000,
  });
  t.equal(imported.stdout, 'hello from acme_widget\n', `the module imports: ${imported.stderr}`);

  t.same(paths(mirror), ['GET /simple/acme-widget/', `GET ${wheel.path}`], 'the mirror served the simple page (pip normalises the name) and the wheel');
  const page = mirror.requests[0]!.headers;
  t.match(page['accept-encoding'], /gzip/, 'pip accepted a gzip page, so detour decoded it before rewriting');
  if (json) t.match(page.accept, /application\/vnd\.pypi\.simple\.v1\+json/, 'pip asked for PEP 691 JSON, which the mirror answered');
  t.equal(pypi.requests.length, 0, 'pypi.org received nothing');
  t.equal(files.requests.length, 0, 'files.pythonhosted.org received nothing');
  onlyMirrored(t, r.stderr);
  // Every link, relative or absolute, reached pip as the canonical files.pythonhosted.org URL: pip asked
  // for that, detour sent it to TUNA, and pip's report (what uv.lock and pip-tools record) names it.
  const canonical = `https://files.pythonhosted.org${wheel.path}`;
  t.match(r.stderr, new RegExp(`GET ${canonical.replace(/\./g, '\\.')} \\[mirror\\] → pypi\\.tuna\\.tsinghua\\.edu\\.cn/packages 200`), 'pip asked files.pythonhosted.org for the wheel');
  const installed = (JSON.parse(readFileSync(report, 'utf8')) as { install: { download_info: { url: string; archive_info?: { hashes?: { sha256?: string } } } }[] }).install;
  t.same(installed.map((i) => i.download_info.url), [canonical], 'pip --report records the files.pythonhosted.org URL');
  t.equal(installed[0]?.download_info.archive_info?.hashes?.sha256, wheel.sha256);
}

t.test('pip install --report from a fake TUNA with relative ../../packages links (bandersnatch style)', { skip: needs('python3', 'pip') }, async (t) => {
  await pipInstall(t, { links: 'relative' });
});

t.test('pip install --report from a fake TUNA with root-relative /packages links', { skip: needs('python3', 'pip') }, async (t) => {
  await pipInstall(t, { links: 'root' });
});

t.test('pip install --target from a fake TUNA with absolute links on the mirror host', { skip: needs('python3', 'pip') }, async (t) => {
  await pipInstall(t, { links: 'absolute' });
});

t.test('pip install --target from a fake TUNA speaking PEP 691 JSON with relative urls', { skip: needs('python3', 'pip') }, async (t) => {
  await pipInstall(t, { links: 'relative', json: true });
});

t.test('pip with the pypi preset given an index URL (pypi=…/simple): no …/simple/simple/', { skip: needs('python3', 'pip') }, async (t) => {
  await pipInstall(t, { links: 'relative', spec: 'pypi=https://pypi.tuna.tsinghua.edu.cn/simple/' });
});

// cargo comes from rustup here (~/.cargo/bin). Debian's own `cargo` package (bookworm: 0.66, Rust 1.65) is too
// old for this test: crates.io's sparse index is the default only from 1.70.
const RUSTUP_BIN = join(homedir(), '.cargo', 'bin');
const cargoFound = () => hasCommand('cargo') || existsSync(join(RUSTUP_BIN, 'cargo'));

/** rustup's cargo proxy finds its toolchains through RUSTUP_HOME (default ~/.rustup, and HOME is the test's). */
function rustupEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = hasCommand('cargo') ? {} : { PATH: `${RUSTUP_BIN}${delimiter}${process.env.PATH ?? ''}` };
  const rustupHome = process.env.RUSTUP_HOME ?? join(homedir(), '.rustup');
  // RUSTUP_AUTO_INSTALL=0: rustup must never try to download a toolchain from inside a test.
  if (existsSync(rustupHome)) Object.assign(env, { RUSTUP_HOME: rustupHome, RUSTUP_AUTO_INSTALL: '0', RUSTUP_TOOLCHAIN: process.env.RUSTUP_TOOLCHAIN });
  return env;
}

t.test('cargo fetch from a fake rsproxy sparse index: Cargo.lock names crates.io, origins untouched', { skip: cargoFound() ? false : needs('cargo') }, async (t) => {
  const w = await makeWorld(t);
  const crate = makeCrate('acme-gear', '0.1.0', 'pub fn teeth() -> u32 { 42 }\n');
  const mirror = await w.https(
    'rsproxy.cn',
    sparseIndexHandler([crate], { indexPrefix: '/index', dl: 'https://rsproxy.cn/api/v1/crates', api: 'https://rsproxy.cn', downloadPath: (c, v) => `/api/v1/crates/${c}/${v}/download` }),
  );
  const index = await silentOrigin(w, 'index.crates.io');
  const statics = await silentOrigin(w, 'static.crates.io');

  const project = join(w.work, 'app');
  mkdirSync(join(project, 'src'), { recursive: true });
  writeFileSync(join(project, 'Cargo.toml'), '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nacme-gear = "0.1"\n');
  writeFileSync(join(project, 'src/lib.rs'), 'pub use acme_gear::teeth;\n');
  const cargoHome = join(w.home, 'cargo-home');
  const env = {
    ...rustupEnv(),
    CARGO_HOME: cargoHome,
    CARGO_NET_RETRY: '0',
    CARGO_HTTP_TIMEOUT: '30',
    CARGO_TERM_COLOR: 'never',
    CARGO_TERM_PROGRESS_WHEN: 'never',
  };
  const r = await w.detour([...(await hermetic(w)), '-m', 'crates=rsproxy', '--', 'cargo', 'fetch'], { env, cwd: project, timeoutMs: 120_000 });
  t.equal(r.code, 0, `cargo fetch: ${r.stderr}`);

  t.same(
    [...new Set(paths(mirror))].sort(),
    ['GET /api/v1/crates/acme-gear/0.1.0/download', `GET /index${indexPath('acme-gear')}`, 'GET /index/config.json'],
    'rsproxy served config.json, the index file and the .crate',
  );
  t.match(mirror.requests[0]!.headers['accept-encoding'], /gzip/, 'cargo accepted a gzip config.json, so detour decoded it before rewriting');
  t.equal(index.requests.length, 0, 'index.crates.io received nothing');
  t.equal(statics.requests.length, 0, 'static.crates.io received nothing');
  onlyMirrored(t, r.stderr);
  // cargo's default for crates.io is the sparse index; the dl it saw was canonicalised to static.crates.io.
  t.match(r.stderr, /GET https:\/\/index\.crates\.io\/config\.json \[mirror\] → rsproxy\.cn\/index 200/, 'cargo asked the sparse index index.crates.io');
  t.match(
    r.stderr,
    /GET https:\/\/static\.crates\.io\/crates\/acme-gear\/0\.1\.0\/download \[mirror\] → rsproxy\.cn\/api\/v1\/crates 200/,
    'cargo asked static.crates.io (the rewritten dl); detour sent it to rsproxy',
  );

  const lock = readFileSync(join(project, 'Cargo.lock'), 'utf8');
  t.notMatch(lock, /rsproxy/, 'Cargo.lock names no mirror');
  t.match(
    lock,
    new RegExp(`name = "acme-gear"\\nversion = "0\\.1\\.0"\\nsource = "(registry\\+https://github\\.com/rust-lang/crates\\.io-index|sparse\\+https://index\\.crates\\.io/)"\\nchecksum = "${crate.cksum}"`),
    'Cargo.lock: acme-gear from crates.io with the .crate’s sha256',
  );
  const registries = readdirSync(join(cargoHome, 'registry/cache'));
  t.ok(registries.length === 1 && registries[0]!.startsWith('index.crates.io-'), `cargo's cache is keyed by the origin: ${registries.join(', ')}`);
  t.ok(existsSync(join(cargoHome, 'registry/cache', registries[0]!, 'acme-gear-0.1.0.crate')), 'the .crate is in the cache');
});

t.test('cargo publish through the crates preset: config.json names crates.io, the token goes there and never to the mirror', { skip: cargoFound() ? false : needs('cargo') }, async (t) => {
  const w = await makeWorld(t);
  const token = 'cio_publishTokenForCratesIo0123456789';
  const indexed: Crate[] = [];
  const mirror = await w.https('rsproxy.cn', sparseIndexHandler(indexed, { indexPrefix: '/index', dl: 'https://rsproxy.cn/api/v1/crates', api: 'https://rsproxy.cn' }));
  // crates.io's publish API: PUT /api/v1/crates/new, body = u32 LE json length, json, u32 LE crate length, .crate.
  const publishes: { name: string; vers: string; authorization: string | undefined }[] = [];
  const api = await w.https('crates.io', (req, res, body) => {
    if (req.method !== 'PUT' || req.url !== '/api/v1/crates/new' || req.headers.authorization !== token) {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end('{"errors":[{"detail":"authentication failed"}]}');
      return;
    }
    const jsonLength = body.readUInt32LE(0);
    const meta = JSON.parse(body.subarray(4, 4 + jsonLength).toString('utf8')) as { name: string; vers: string };
    const crateLength = body.readUInt32LE(4 + jsonLength);
    const data = body.subarray(8 + jsonLength, 8 + jsonLength + crateLength);
    publishes.push({ name: meta.name, vers: meta.vers, authorization: req.headers.authorization });
    // Published: the index shows it, so cargo's wait for the new version ends at once.
    indexed.push({ name: meta.name, version: meta.vers, data, cksum: createHash('sha256').update(data).digest('hex') });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"warnings":{"invalid_categories":[],"invalid_badges":[],"other":[]}}');
  });
  await silentOrigin(w, 'index.crates.io');

  const project = join(w.work, 'acme-gizmo');
  mkdirSync(join(project, 'src'), { recursive: true });
  writeFileSync(join(project, 'Cargo.toml'), '[package]\nname = "acme-gizmo"\nversion = "0.1.0"\nedition = "2021"\nlicense = "MIT"\ndescription = "a test crate"\n');
  writeFileSync(join(project, 'src/lib.rs'), 'pub fn gizmo() -> u32 { 7 }\n');
  const env = {
    ...rustupEnv(),
    CARGO_HOME: join(w.home, 'cargo-home'),
    CARGO_REGISTRY_TOKEN: token,
    CARGO_NET_RETRY: '0',
    CARGO_HTTP_TIMEOUT: '30',
    CARGO_TERM_COLOR: 'never',
    CARGO_TERM_PROGRESS_WHEN: 'never',
  };
  const r = await w.detour([...(await hermetic(w)), '-m', 'crates=rsproxy', '--', 'cargo', 'publish', '--no-verify', '--allow-dirty'], { env, cwd: project, timeoutMs: 180_000 });
  t.equal(r.code, 0, `cargo publish: ${r.stderr}`);
  t.same(publishes, [{ name: 'acme-gizmo', vers: '0.1.0', authorization: token }], 'crates.io received the publish with the token');
  t.ok(api.requests.length >= 1);
  t.notOk(mirror.requests.some((q) => q.method !== 'GET'), 'the mirror received only reads');
  t.notOk(mirror.requests.some((q) => JSON.stringify(q.headers).includes(token)), 'the token never reached the mirror');
  t.match(r.stderr, /GET https:\/\/index\.crates\.io\/config\.json \[mirror\] → rsproxy\.cn\/index 200/, 'config.json came from the mirror');
  t.match(r.stderr, /CONNECT crates\.io:443 \[tunnel\]/, 'the publish went straight to crates.io (no rule for it)');
});
