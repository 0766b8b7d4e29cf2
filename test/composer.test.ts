// Debian's composer (2.5, PHP streams: no curl extension) through the composer preset, against stand-ins for
// aliyun's mirror, a team's Nexus, repo.packagist.org, api.github.com and packagist.org. composer's home and
// cache are the test's, and every other name, any port, goes to a dead local port: nothing leaves the machine.
// packagist.org hears one thing by design: the notify-batch POST composer sends after installing (download
// statistics, a write: mirrors are read-only).
import t, { type Test } from 'tap';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { answer, makeWorld, needs, type World } from './fixtures/detour.js';
import type { FakeServer } from './fixtures/servers.js';
import {
  aliyunHandler,
  composerPackage,
  githubDist,
  githubHandler,
  githubSource,
  nexusDist,
  nexusHandler,
  packagistHandler,
  type ComposerPackage,
} from './fixtures/packagist.js';

const skip = needs('composer', 'php', 'unzip');

const gear = composerPackage('acme/gear', '2.0.1', 'acme-corp/gear', { 'src/Gear.php': '<?php\nnamespace Acme\\Gear;\nfinal class Gear { public const TEETH = 42; }\n' });
const widgetOld = composerPackage('acme/widget', '1.0.0', 'acme-corp/widget-php', { 'src/Widget.php': '<?php\nnamespace Acme\\Widget;\nfinal class Widget { public const VERSION = "1.0.0"; }\n' }, { 'acme/gear': '^2.0' });
const widget = composerPackage('acme/widget', '1.1.0', 'acme-corp/widget-php', { 'src/Widget.php': '<?php\nnamespace Acme\\Widget;\nfinal class Widget { public const VERSION = "1.1.0"; }\n' }, { 'acme/gear': '^2.0' });
const ALL = [gear, widgetOld, widget];
const INSTALLED = [gear, widget]; // composer.lock lists packages by name

/** w.flags(), -v, and a catch-all that sends any other name, any port, to a dead local port. */
async function hermetic(w: World): Promise<string[]> {
  return [...w.flags(), `--connect-to=::127.0.0.1:${await w.deadPort()}`, '-v'];
}

/** An origin that must stay silent: it records, and answers 500 so a leak also shows as a failure. */
const silentOrigin = (w: World, name: string) => w.https(name, answer(500, `${name} must not be asked\n`));

const paths = (s: FakeServer) => s.requests.map((r) => `${r.method} ${new URL(r.url, 'https://x').pathname}`);

interface Project {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly cache: string;
}

/** A project folder and composer's own folders, all inside the test's. */
function project(w: World, extraEnv: NodeJS.ProcessEnv = {}): Project {
  const dir = join(w.work, 'app');
  mkdirSync(dir);
  writeFileSync(join(dir, 'composer.json'), JSON.stringify({ name: 'test/app', require: {} }, null, 2));
  const cache = join(w.tmp, 'composer-cache');
  const env = {
    COMPOSER_HOME: join(w.home, 'composer-home'),
    COMPOSER_CACHE_DIR: cache,
    COMPOSER_ALLOW_SUPERUSER: '1', // CI runs as root
    COMPOSER_NO_INTERACTION: '1',
    ...extraEnv,
  };
  return { dir, env, cache };
}

const composer = (w: World, p: Project, args: string[], detourArgs: string[]) =>
  w.detour([...detourArgs, '--', 'composer', '--no-interaction', '--no-progress', ...args], { env: p.env, cwd: p.dir, timeoutMs: 120_000 });

/** The files composer installed are the packages' own, byte for byte. */
function installed(t: Test, p: Project, packages: ComposerPackage[]): void {
  for (const pkg of packages) {
    for (const [file, text] of Object.entries(pkg.files)) {
      const at = join(p.dir, 'vendor', pkg.name, file);
      t.equal(existsSync(at) ? readFileSync(at, 'utf8') : `(missing ${at})`, text, `vendor/${pkg.name}/${file}`);
    }
  }
}

/** composer.lock records each package as packagist does: GitHub's URLs, packagist's notification URL, nothing else. */
function canonicalLock(t: Test, p: Project, packages: ComposerPackage[], mirrorWords: RegExp): void {
  const text = readFileSync(join(p.dir, 'composer.lock'), 'utf8');
  t.notMatch(text, mirrorWords, 'composer.lock names no mirror');
  t.notMatch(text, /"mirrors"/, 'composer.lock has no dist or source mirrors');
  const lock = JSON.parse(text) as { packages: Record<string, unknown>[] };
  t.same(
    lock.packages.map((q) => ({ name: q.name, version: q.version, source: q.source, dist: q.dist, 'notification-url': q['notification-url'] })),
    packages.map((q) => ({
      name: q.name,
      version: q.version,
      source: { type: 'git', url: githubSource(q), reference: q.reference },
      dist: { type: 'zip', url: githubDist(q), reference: q.reference, shasum: '' },
      'notification-url': 'https://packagist.org/downloads/',
    })),
    'each package: source on github.com, dist on api.github.com without a shasum, notify URL on packagist.org',
  );
  for (const q of lock.packages) {
    const keys = Object.keys(q).filter((k) => /nexus|info|last-update|cached/.test(k));
    t.same(keys, [], `${String(q.name)}: no key a mirror added`);
  }
}

/** Every file under `dir` whose name or content matches `re` (small trees only). */
function filesMatching(dir: string, re: RegExp): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (re.test(e.name) || re.test(readFileSync(p, 'latin1'))) hits.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return hits;
}

/** packagist.org heard only composer's notify-batch POST, naming what was installed. */
function onlyNotified(t: Test, packagist: FakeServer, packages: ComposerPackage[]): void {
  t.same(paths(packagist), ['POST /downloads/'], 'packagist.org heard only the download notification');
  const body = JSON.parse(packagist.requests[0]?.body.toString() || '{}') as { downloads?: { name: string }[] };
  t.same((body.downloads ?? []).map((d) => d.name).sort(), packages.map((q) => q.name).sort(), 'it named the installed packages');
}

/** Every request went down a mirror rule, but composer's notification: its CONNECT to packagist.org is tunneled. */
function onlyNotifyTunneled(t: Test, stderr: string): void {
  const others = stderr.split('\n').filter((l) => /\[(tunnel|origin|direct)\]/.test(l));
  t.same(others.map((l) => l.replace(/^detour: [\d:.]+ /, '').replace(/ 200 .*/, '')), ['CONNECT packagist.org:443 [tunnel]'], 'nothing else was tunneled or sent to an origin');
}

const notifyOk = answer(200, '{"status":"success"}', { 'content-type': 'application/json' });

t.test('composer require, then install from the lock, through a fake aliyun: metadata and zips from the mirror, composer.lock as packagist writes it', { skip }, async (t) => {
  const w = await makeWorld(t);
  const aliyun = await w.https('mirrors.aliyun.com', aliyunHandler(ALL));
  const repo = await silentOrigin(w, 'repo.packagist.org');
  const github = await silentOrigin(w, 'api.github.com');
  const codeload = await silentOrigin(w, 'codeload.github.com');
  const packagist = await w.https('packagist.org', notifyOk);
  const p = project(w);

  let r = await composer(w, p, ['require', 'acme/widget:^1.0'], await hermetic(w));
  t.equal(r.code, 0, `composer require: ${r.stdout}\n${r.stderr}`);
  installed(t, p, INSTALLED);
  t.match(r.stderr, /GET https:\/\/repo\.packagist\.org\/packages\.json \[mirror\] → mirrors\.aliyun\.com\/composer 200/, 'composer asked repo.packagist.org; detour asked aliyun');
  for (const q of INSTALLED) {
    t.match(
      r.stderr,
      new RegExp(`GET ${githubDist(q).replace(/[.]/g, '\\.')} \\[mirror\\] → mirrors\\.aliyun\\.com/composer 200`),
      `${q.name}: composer asked api.github.com for the zip; detour sent it to aliyun`,
    );
  }
  const asked = new Set(paths(aliyun));
  t.ok(asked.has('GET /composer/packages.json') && asked.has('GET /composer/p2/acme/widget.json') && asked.has('GET /composer/p2/acme/gear.json'), `aliyun served the metadata: ${[...asked].join(', ')}`);
  t.ok(INSTALLED.every((q) => asked.has(`GET /composer/dists/${q.name}/${q.reference}.zip`)), 'aliyun served both zips, at its dists/<package>/<reference>.zip');
  for (const [name, origin] of [['repo.packagist.org', repo], ['api.github.com', github], ['codeload.github.com', codeload]] as const) t.equal(origin.requests.length, 0, `${name} heard nothing`);
  t.equal(repo.connections() + github.connections() + codeload.connections(), 0, 'no connection reached repo.packagist.org, api.github.com or codeload.github.com');
  onlyNotified(t, packagist, INSTALLED);
  onlyNotifyTunneled(t, r.stderr);
  t.match(aliyun.requests[0]?.headers['user-agent'], /^Composer\/2\.\d+\.\d+ \(.*; streams[;)]/, 'the real composer, over PHP streams (no curl extension)');
  canonicalLock(t, p, INSTALLED, /aliyun|dists\//);
  t.same(filesMatching(p.cache, /aliyun/), [], "composer's cache names no mirror");
  t.same(filesMatching(join(p.dir, 'vendor/composer'), /aliyun/), [], 'vendor/composer (installed.json) names no mirror');

  // A fresh machine with the committed lock: composer downloads what the lock names, and detour knows from it
  // which package each api.github.com zip belongs to.
  rmSync(join(p.dir, 'vendor'), { recursive: true });
  rmSync(p.cache, { recursive: true });
  const before = aliyun.requests.length;
  packagist.requests.length = 0;
  r = await composer(w, p, ['install'], await hermetic(w));
  t.equal(r.code, 0, `composer install: ${r.stdout}\n${r.stderr}`);
  installed(t, p, INSTALLED);
  const again = paths(aliyun).slice(before);
  t.ok(INSTALLED.every((q) => again.includes(`GET /composer/dists/${q.name}/${q.reference}.zip`)), `install: both zips from aliyun: ${again.join(', ')}`);
  for (const [name, origin] of [['repo.packagist.org', repo], ['api.github.com', github], ['codeload.github.com', codeload]] as const) t.equal(origin.requests.length, 0, `install: ${name} still heard nothing`);
  onlyNotifyTunneled(t, r.stderr);
  onlyNotified(t, packagist, INSTALLED);
  canonicalLock(t, p, INSTALLED, /aliyun|dists\//);
});

t.test('-m composer=<team Nexus base>: its own download URLs, shasums and keys never reach composer.lock; the zips still come from it', { skip }, async (t) => {
  const w = await makeWorld(t);
  const base = 'https://nexus.corp.test/repository/packagist';
  const nexus = await w.https('nexus.corp.test', nexusHandler(base, ALL));
  const repo = await silentOrigin(w, 'repo.packagist.org');
  const github = await silentOrigin(w, 'api.github.com');
  const packagist = await w.https('packagist.org', notifyOk);
  // The user's own COMPOSER_CAFILE (a corporate root; here the test CA alone): detour's bundle for it keeps that
  // file and adds the run's CA, or composer could not verify detour's certificate for repo.packagist.org.
  const p = project(w, { COMPOSER_CAFILE: w.ca.certFile });

  const r = await composer(w, p, ['require', 'acme/widget:^1.0'], [...(await hermetic(w)), '-m', `composer=${base}`]);
  t.equal(r.code, 0, `composer require: ${r.stdout}\n${r.stderr}`);
  installed(t, p, INSTALLED);
  const asked = paths(nexus);
  t.ok(asked.includes('GET /repository/packagist/p2/acme/widget.json') && asked.includes('GET /repository/packagist/p2/acme/gear.json'), `the team base served the metadata: ${asked.join(', ')}`);
  t.ok(INSTALLED.every((q) => asked.includes(`GET ${new URL(nexusDist(base, q)).pathname}`)), 'the zips came from where the team base named them');
  t.match(r.stderr, new RegExp(`GET ${githubDist(widget).replace(/[.]/g, '\\.')} \\[mirror\\] → nexus\\.corp\\.test/repository/packagist 200`));
  t.equal(repo.requests.length + github.requests.length, 0, 'repo.packagist.org and api.github.com heard nothing');
  onlyNotified(t, packagist, INSTALLED);
  canonicalLock(t, p, INSTALLED, /nexus|corp\.test/);
  t.same(filesMatching(p.cache, /nexus|corp\.test/), [], "composer's cache names no mirror");
});

t.test('fallback: a package and a zip the mirror lacks come from the origins; a dead mirror leaves everything to them', { skip }, async (t) => {
  const w = await makeWorld(t);
  // aliyun has no metadata for acme/gear and no zip for acme/widget 1.1.0.
  const aliyun = await w.https('mirrors.aliyun.com', aliyunHandler(ALL, { metadata: (name) => name !== 'acme/gear', dist: (q) => q !== widget }));
  const repo = await w.https('repo.packagist.org', packagistHandler(ALL));
  const github = await w.https('api.github.com', githubHandler(ALL));
  const packagist = await w.https('packagist.org', notifyOk);
  const p = project(w);

  let r = await composer(w, p, ['require', 'acme/widget:^1.0'], await hermetic(w));
  t.equal(r.code, 0, `composer require: ${r.stdout}\n${r.stderr}`);
  installed(t, p, INSTALLED);
  t.same([...new Set(paths(repo))], ['GET /p2/acme/gear.json'], 'repo.packagist.org served only what aliyun lacked (twice: the audit asks again)');
  // gear's metadata came from the origin, so detour never learnt its zip's package: composer's request for it
  // is not a mirror request. widget's zip was asked of aliyun first (404).
  t.same(paths(github).sort(), [`GET /repos/${gear.repo}/zipball/${gear.reference}`, `GET /repos/${widget.repo}/zipball/${widget.reference}`].sort(), 'api.github.com served the two zips aliyun could not');
  t.ok(paths(aliyun).includes(`GET /composer/dists/acme/widget/${widget.reference}.zip`), 'aliyun was asked for widget’s zip first');
  t.match(
    r.stderr,
    new RegExp(`GET ${githubDist(widget).replace(/[.]/g, '\\.')} \\[mirror\\] → origin 200 .*\\(tried mirrors\\.aliyun\\.com/composer:404 → origin:200\\)`),
    '-v shows the fallback',
  );
  onlyNotified(t, packagist, INSTALLED);
  canonicalLock(t, p, INSTALLED, /aliyun|dists\//);

  // A locked package that did not come from packagist (its notification URL is another repository's) is never
  // named to a mirror: composer install fetches it from api.github.com directly.
  const lockFile = join(p.dir, 'composer.lock');
  const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as { packages: Record<string, unknown>[] };
  lock.packages.find((q) => q.name === gear.name)!['notification-url'] = 'https://packages.corp.test/downloads/';
  writeFileSync(lockFile, JSON.stringify(lock, null, 4));
  rmSync(join(p.dir, 'vendor'), { recursive: true });
  rmSync(p.cache, { recursive: true });
  const [mirrorBefore, githubBefore] = [aliyun.requests.length, github.requests.length];
  r = await composer(w, p, ['install'], await hermetic(w));
  t.equal(r.code, 0, `composer install: ${r.stdout}\n${r.stderr}`);
  installed(t, p, INSTALLED);
  t.notOk(paths(aliyun).slice(mirrorBefore).some((q) => q.includes(gear.name)), 'aliyun was not asked about the private acme/gear');
  t.ok(paths(github).slice(githubBefore).includes(`GET /repos/${gear.repo}/zipball/${gear.reference}`), 'api.github.com served it');
  t.match(r.stderr, new RegExp(`GET ${githubDist(gear).replace(/[.]/g, '\\.')} \\[origin\\] → origin 200`));

  // The mirror dies: every request goes to the origins, with detour's warning naming the mirror once.
  const w2 = await makeWorld(t);
  w2.map('mirrors.aliyun.com', await w2.deadPort());
  const repo2 = await w2.https('repo.packagist.org', packagistHandler(ALL));
  const github2 = await w2.https('api.github.com', githubHandler(ALL));
  const packagist2 = await w2.https('packagist.org', notifyOk);
  const p2 = project(w2);
  r = await composer(w2, p2, ['require', 'acme/widget:^1.0'], await hermetic(w2));
  t.equal(r.code, 0, `composer require, mirror dead: ${r.stdout}\n${r.stderr}`);
  installed(t, p2, INSTALLED);
  t.match(r.stderr, /detour: warning: mirror mirrors\.aliyun\.com\/composer failed \(E_CONNECT [^\n]*\); fell back to origin/);
  t.equal(r.stderr.match(/detour: warning: mirror mirrors\.aliyun\.com/g)?.length, 1, 'named once');
  const asked = new Set(paths(repo2));
  t.ok(asked.has('GET /packages.json') && asked.has('GET /p2/acme/widget.json') && asked.has('GET /p2/acme/gear.json'), `repo.packagist.org served the metadata: ${[...asked].join(', ')}`);
  t.same(paths(github2).sort(), INSTALLED.map((q) => `GET /repos/${q.repo}/zipball/${q.reference}`).sort(), 'api.github.com served the zips');
  onlyNotified(t, packagist2, INSTALLED);
  canonicalLock(t, p2, INSTALLED, /aliyun|dists\//);
});

t.test('composer in `detour presets` and `check`; a misspelt mirror is one line and exit 2', async (t) => {
  const w = await makeWorld(t);
  let r = await w.detour(['presets', '--json']);
  const preset = (JSON.parse(r.stdout) as { name: string; mirrors: Record<string, string>; defaultChain: string }[]).find((q) => q.name === 'composer');
  t.same(preset && { mirrors: preset.mirrors, defaultChain: preset.defaultChain }, {
    mirrors: { aliyun: 'https://mirrors.aliyun.com/composer', tencent: 'https://mirrors.cloud.tencent.com/composer', huawei: 'https://mirrors.huaweicloud.com/repository/php' },
    defaultChain: 'aliyun|origin',
  });

  await w.https('mirrors.aliyun.com', aliyunHandler(ALL));
  await w.https('repo.packagist.org', packagistHandler(ALL));
  r = await w.detour(['check', '--json', ...w.flags(), '-m', 'composer']);
  t.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as { rule: string; url: string; status: number; ok: boolean }[];
  t.same(
    rows.map((row) => [row.rule, row.url, row.status, row.ok]),
    [
      ['repo.packagist.org', 'https://mirrors.aliyun.com/composer/p2/monolog/monolog.json', 404, true],
      ['repo.packagist.org', 'https://repo.packagist.org/p2/monolog/monolog.json', 404, true],
    ],
    'a v2 file is probed on each target; the downloads route has no probe',
  );

  r = await w.detour(['-m', 'composer=aliyn', '--', 'true']);
  t.equal(r.code, 2);
  t.equal(r.stderr, 'detour: unknown composer mirror "aliyn" in "composer=aliyn"; known: aliyun, tencent, huawei, origin, or a URL\n');
});

t.test('a v2 file canonicalised: GitLab and Bitbucket sources, a version that inherits its source, keys a mirror added', async (t) => {
  const { canonicalV2 } = await import('../src/ecosystems/composerMetadata.js');
  const mirror = new URL('https://nexus.corp.test/repository/packagist/p2/acme/tools.json');
  const ref = (n: number) => String(n).repeat(40);
  const own = (n: number) => ({ type: 'zip', url: `https://nexus.corp.test/repository/packagist/acme/tools/${n}.zip`, reference: ref(n), shasum: 'f'.repeat(40), mirrors: [{ url: 'x', preferred: true }] });
  const doc = {
    minified: 'composer/2.0',
    'nexus-proxy': { remote: 'https://repo.packagist.org' },
    packages: {
      'acme/tools': [
        { name: 'acme/tools', version: '3.0.0', source: { type: 'git', url: 'https://gitlab.com/acme/sub/tools.php.git', reference: ref(3) }, dist: own(3), 'notification-url': 'https://nexus.corp.test/downloads/' },
        { version: '2.0.0', dist: own(2) }, // minified: the source is the version before's
        { version: '1.0.0', source: { type: 'git', url: 'https://bitbucket.org/acme/tools.git', reference: ref(1) }, dist: own(1) },
        { version: '0.1.0', source: '__unset', dist: own(0) },
      ],
    },
  };
  const seen: string[] = [];
  const out = JSON.parse(canonicalV2(JSON.stringify(doc), mirror, (d) => seen.push(d.url))) as { packages: Record<string, Record<string, unknown>[]> } & Record<string, unknown>;
  t.same(Object.keys(out), ['minified', 'packages'], "the mirror's top-level key is dropped");
  const dists = out.packages['acme/tools']!.map((v) => v.dist);
  t.same(dists, [
    { type: 'zip', url: `https://gitlab.com/api/v4/projects/acme%2Fsub%2Ftools%2Ephp/repository/archive.zip?sha=${ref(3)}`, reference: ref(3), shasum: '' },
    { type: 'zip', url: `https://gitlab.com/api/v4/projects/acme%2Fsub%2Ftools%2Ephp/repository/archive.zip?sha=${ref(2)}`, reference: ref(2), shasum: '' },
    { type: 'zip', url: `https://bitbucket.org/acme/tools/get/${ref(1)}.zip`, reference: ref(1), shasum: '' },
    // No source to rebuild from: the mirror's URL stays here (the byte replacement after this names repo.packagist.org).
    { type: 'zip', url: 'https://nexus.corp.test/repository/packagist/acme/tools/0.zip', reference: ref(0), shasum: 'f'.repeat(40) },
  ]);
  t.notOk('notification-url' in out.packages['acme/tools']![0]!, "a version's notification-url from the mirror is dropped");
  t.equal(seen.length, 3, 'the rebuilt downloads are remembered (only GitHub ones are routed)');
  t.throws(() => canonicalV2('{"packages":[]', mirror), 'not JSON: the caller passes it on unchanged');
});
