// The npm family through the npm preset: yarn 1, pnpm and bun, each isolated (HOME, cache, store under the
// test's folders), against a fake npmmirror. registry.npmjs.org and registry.yarnpkg.com are fake too, and
// record: a client that reached either would show there (and get a 500). Every other name, any port, goes
// to a dead local port (`--connect-to=::…`), so nothing leaves the machine.
import t, { type Test } from 'tap';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { answer, CURL, makeWorld, needs, type World } from './fixtures/detour.js';
import type { FakeServer } from './fixtures/servers.js';
import { npmPackage, npmRegistryHandler, type NpmPackage } from './fixtures/npmRegistry.js';

const MIRROR = 'https://registry.npmmirror.com';

/** A fake npmmirror serving `pkg`, and the two origins the npm preset owns, silent. */
async function npmWorld(t: Test, pkg: NpmPackage) {
  const w = await makeWorld(t);
  const mirror = await w.https('registry.npmmirror.com', npmRegistryHandler([pkg], MIRROR));
  const origins = {
    npmjs: await w.https('registry.npmjs.org', answer(500, 'registry.npmjs.org must not be asked\n')),
    yarnpkg: await w.https('registry.yarnpkg.com', answer(500, 'registry.yarnpkg.com must not be asked\n')),
  };
  const flags = [...w.flags(), `--connect-to=::127.0.0.1:${await w.deadPort()}`, '-v'];
  return { w, mirror, origins, flags };
}

const paths = (s: FakeServer) => s.requests.map((r) => `${r.method} ${new URL(r.url, 'https://x').pathname}`);

/** Both origins received nothing, and detour routed every request of the run down a mirror rule. */
function originsSilent(t: Test, origins: Record<string, FakeServer>, stderr: string): void {
  for (const [name, s] of Object.entries(origins)) t.same(paths(s), [], `${name} received nothing`);
  t.notMatch(stderr, /\[(tunnel|origin|direct)\]/, 'no request tunneled or sent to an origin');
}

/** A project folder with a package.json. */
function project(w: World, name: string): string {
  const dir = join(w.work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }, null, 2));
  return dir;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

t.test('the npm preset owns registry.yarnpkg.com; metadata names the host the client asked', { skip: needs('curl') }, async (t) => {
  const pkg = npmPackage('acme-widget', '1.0.0');
  const { w, mirror, origins, flags } = await npmWorld(t, pkg);
  for (const host of ['registry.npmjs.org', 'registry.yarnpkg.com']) {
    const r = await w.detour([...flags, '-m', 'npm', '--', ...CURL, '--compressed', `https://${host}/acme-widget`]);
    t.equal(r.code, 0, r.stderr);
    const body = r.stdout.slice(0, r.stdout.lastIndexOf('\n'));
    t.equal(r.stdout.slice(r.stdout.lastIndexOf('\n') + 1), '200');
    const doc = JSON.parse(body) as { versions: Record<string, { dist: { tarball: string; integrity: string } }> };
    t.equal(doc.versions['1.0.0']!.dist.tarball, `https://${host}${pkg.tarballPath}`, `asked ${host}: dist.tarball on ${host}`);
    t.equal(doc.versions['1.0.0']!.dist.integrity, pkg.integrity, 'integrity untouched');
    t.match(r.stderr, new RegExp(`GET https://${esc(host)}/acme-widget \\[mirror\\] → registry\\.npmmirror\\.com 200`));
  }
  const tgz = await w.detour([...flags, '-m', 'npm', '--', 'sh', '-c', `curl -sS --max-time 30 https://registry.yarnpkg.com${pkg.tarballPath} | sha512sum`]);
  t.equal(tgz.stdout.split(' ')[0], Buffer.from(pkg.integrity.slice('sha512-'.length), 'base64').toString('hex'), 'the tarball through registry.yarnpkg.com is byte for byte the mirror’s');
  t.same(paths(mirror), ['GET /acme-widget', 'GET /acme-widget', `GET ${pkg.tarballPath}`], 'the mirror served both hosts');
  originsSilent(t, origins, '');

  const presets = await w.detour(['presets', '--json']);
  const npm = (JSON.parse(presets.stdout) as { name: string; hosts: string[] }[]).find((p) => p.name === 'npm');
  t.same(npm?.hosts, ['registry.npmjs.org', 'registry.yarnpkg.com'], 'detour presets lists yarn’s host under npm');
});

t.test('yarn 1: add, then install --frozen-lockfile from a yarn.lock on registry.yarnpkg.com with an empty cache', { skip: needs('yarn') }, async (t) => {
  const pkg = npmPackage('acme-widget', '1.0.0', 'module.exports = "acme-widget 1.0.0 via mirror";\n');
  const { w, mirror, origins, flags } = await npmWorld(t, pkg);
  const app = project(w, 'app');
  const cache = join(w.tmp, 'yarn-cache');
  const env = { YARN_CACHE_FOLDER: cache, YARN_DISABLE_SELF_UPDATE_CHECK: 'true' };
  const yarn = (...args: string[]) =>
    w.detour([...flags, '-m', 'npm', '--', 'yarn', ...args, '--non-interactive', '--no-progress', '--network-timeout', '30000'], { env, cwd: app, timeoutMs: 60_000 });

  let r = await yarn('add', 'acme-widget');
  t.equal(r.code, 0, `yarn add: ${r.stdout}\n${r.stderr}`);
  t.equal(readFileSync(join(app, 'node_modules/acme-widget/index.js'), 'utf8'), 'module.exports = "acme-widget 1.0.0 via mirror";\n', 'installed from the mirror');
  const lock = readFileSync(join(app, 'yarn.lock'), 'utf8');
  t.match(lock, `resolved "https://registry.yarnpkg.com${pkg.tarballPath}#${pkg.shasum}"`, 'yarn.lock: resolved on registry.yarnpkg.com, with the sha1');
  t.match(lock, `integrity ${pkg.integrity}`, 'yarn.lock: the tarball’s sha512');
  t.notMatch(lock, /npmmirror/, 'yarn.lock names no mirror');
  t.same(paths(mirror), ['GET /acme-widget', `GET ${pkg.tarballPath}`], 'the mirror served the packument and the tarball');
  t.match(r.stderr, new RegExp(`GET https://registry\\.yarnpkg\\.com${esc(pkg.tarballPath)} \\[mirror\\] → registry\\.npmmirror\\.com 200`), 'yarn asked registry.yarnpkg.com');
  originsSilent(t, origins, r.stderr);

  // The lockfile alone: no node_modules, an empty cache. yarn asks the lockfile's URLs and nothing else.
  rmSync(join(app, 'node_modules'), { recursive: true });
  rmSync(cache, { recursive: true });
  mirror.requests.length = 0;
  r = await yarn('install', '--frozen-lockfile');
  t.equal(r.code, 0, `yarn install --frozen-lockfile: ${r.stdout}\n${r.stderr}`);
  t.equal(readFileSync(join(app, 'node_modules/acme-widget/index.js'), 'utf8'), 'module.exports = "acme-widget 1.0.0 via mirror";\n', 'installed again');
  t.equal(readFileSync(join(app, 'yarn.lock'), 'utf8'), lock, 'yarn.lock unchanged');
  t.same(paths(mirror), [`GET ${pkg.tarballPath}`], 'only the tarball, fetched from the lockfile’s URL');
  t.match(r.stderr, new RegExp(`GET https://registry\\.yarnpkg\\.com${esc(pkg.tarballPath)} \\[mirror\\] → registry\\.npmmirror\\.com 200`));
  originsSilent(t, origins, r.stderr);
});

t.test('pnpm: add, then install --frozen-lockfile with an empty store', { skip: needs('pnpm') }, async (t) => {
  const pkg = npmPackage('acme-widget', '1.0.0', 'module.exports = "acme-widget 1.0.0 via mirror";\n');
  const { w, mirror, origins, flags } = await npmWorld(t, pkg);
  const app = project(w, 'app');
  const store = join(w.tmp, 'pnpm-store');
  const cache = join(w.tmp, 'pnpm-cache');
  const pnpm = (...args: string[]) =>
    w.detour([...flags, '-m', 'npm', '--', 'pnpm', ...args, '--store-dir', store, '--config.cache-dir=' + cache, '--reporter=append-only'], {
      env: { CI: 'true', npm_config_update_notifier: 'false' },
      cwd: app,
      timeoutMs: 60_000,
    });

  let r = await pnpm('add', 'acme-widget');
  t.equal(r.code, 0, `pnpm add: ${r.stdout}\n${r.stderr}`);
  t.equal(readFileSync(join(app, 'node_modules/acme-widget/index.js'), 'utf8'), 'module.exports = "acme-widget 1.0.0 via mirror";\n', 'installed from the mirror');
  const lock = readFileSync(join(app, 'pnpm-lock.yaml'), 'utf8');
  t.match(lock, `resolution: {integrity: ${pkg.integrity}}`, 'pnpm-lock.yaml: the tarball’s sha512, and no tarball URL (the registry’s own layout)');
  t.notMatch(lock, /npmmirror|tarball:/, 'pnpm-lock.yaml names no mirror host');
  t.same([...new Set(paths(mirror))].sort(), ['GET /acme-widget', `GET ${pkg.tarballPath}`], 'the mirror served the packument and the tarball');
  t.match(r.stderr, new RegExp(`GET https://registry\\.npmjs\\.org${esc(pkg.tarballPath)} \\[mirror\\] → registry\\.npmmirror\\.com 200`), 'pnpm asked registry.npmjs.org for the tarball');
  originsSilent(t, origins, r.stderr);

  rmSync(join(app, 'node_modules'), { recursive: true });
  rmSync(store, { recursive: true });
  rmSync(cache, { recursive: true, force: true });
  mirror.requests.length = 0;
  r = await pnpm('install', '--frozen-lockfile');
  t.equal(r.code, 0, `pnpm install --frozen-lockfile: ${r.stdout}\n${r.stderr}`);
  t.equal(readFileSync(join(app, 'node_modules/acme-widget/index.js'), 'utf8'), 'module.exports = "acme-widget 1.0.0 via mirror";\n', 'installed again');
  t.equal(readFileSync(join(app, 'pnpm-lock.yaml'), 'utf8'), lock, 'pnpm-lock.yaml unchanged');
  // pnpm 12 also reads the packument to check the lockfile against its supply-chain policies.
  t.ok(paths(mirror).includes(`GET ${pkg.tarballPath}`), 'the tarball came from the mirror');
  t.same(paths(mirror).filter((p) => p !== `GET ${pkg.tarballPath}` && p !== 'GET /acme-widget'), [], 'nothing but the tarball and the packument');
  originsSilent(t, origins, r.stderr);
});

// bun adds NODE_EXTRA_CA_CERTS and SSL_CERT_FILE to its bundled roots (either one suffices; detour sets both).
t.test('bun install, then install --frozen-lockfile with an empty cache', { skip: needs('bun') }, async (t) => {
  const pkg = npmPackage('acme-widget', '1.0.0', 'module.exports = "acme-widget 1.0.0 via mirror";\n');
  const { w, mirror, origins, flags } = await npmWorld(t, pkg);
  const app = project(w, 'app');
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: { 'acme-widget': '^1.0.0' } }, null, 2));
  const cache = join(w.tmp, 'bun-cache');
  const bun = (...args: string[]) =>
    w.detour([...flags, '-m', 'npm', '--', 'bun', 'install', ...args, '--no-progress'], {
      env: { BUN_INSTALL_CACHE_DIR: cache, DO_NOT_TRACK: '1' },
      cwd: app,
      timeoutMs: 60_000,
    });

  let r = await bun();
  t.equal(r.code, 0, `bun install: ${r.stdout}\n${r.stderr}`);
  t.equal(readFileSync(join(app, 'node_modules/acme-widget/index.js'), 'utf8'), 'module.exports = "acme-widget 1.0.0 via mirror";\n', 'installed from the mirror');
  const lock = readFileSync(join(app, 'bun.lock'), 'utf8');
  // The second field is the tarball URL when it is not the registry's own layout: empty here.
  t.match(lock, `"acme-widget": ["acme-widget@1.0.0", "", {}, "${pkg.integrity}"]`, 'bun.lock: no tarball URL, the tarball’s sha512');
  t.notMatch(lock, /npmmirror/, 'bun.lock names no mirror host');
  t.same([...new Set(paths(mirror))].sort(), ['GET /acme-widget', `GET ${pkg.tarballPath}`], 'the mirror served the packument and the tarball');
  t.match(r.stderr, new RegExp(`GET https://registry\\.npmjs\\.org${esc(pkg.tarballPath)} \\[mirror\\] → registry\\.npmmirror\\.com 200`), 'bun asked registry.npmjs.org for the tarball');
  originsSilent(t, origins, r.stderr);

  rmSync(join(app, 'node_modules'), { recursive: true });
  rmSync(cache, { recursive: true });
  mirror.requests.length = 0;
  r = await bun('--frozen-lockfile');
  t.equal(r.code, 0, `bun install --frozen-lockfile: ${r.stdout}\n${r.stderr}`);
  t.equal(readFileSync(join(app, 'node_modules/acme-widget/index.js'), 'utf8'), 'module.exports = "acme-widget 1.0.0 via mirror";\n', 'installed again');
  t.equal(readFileSync(join(app, 'bun.lock'), 'utf8'), lock, 'bun.lock unchanged');
  t.ok(paths(mirror).includes(`GET ${pkg.tarballPath}`), 'the tarball came from the mirror');
  t.same(paths(mirror).filter((p) => p !== `GET ${pkg.tarballPath}` && p !== 'GET /acme-widget'), [], 'nothing but the tarball and the packument');
  originsSilent(t, origins, r.stderr);
});
