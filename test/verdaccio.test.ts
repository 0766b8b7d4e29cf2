// A real team mirror as the first hop: Verdaccio on 127.0.0.1 (no uplinks), packages published to it with
// `npm publish`, then `detour -m 'npm=http://127.0.0.1:PORT|origin' -- npm install` and `npm ci`. Verdaccio
// writes its own host into dist.tarball; the lockfile and npm's cache must only ever name registry.npmjs.org.
// A package Verdaccio lacks falls through to the origin (a local stand-in for registry.npmjs.org).
import t, { type Test } from 'tap';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeWorld, needs, type World } from './fixtures/detour.js';
import { npmClientEnv, npmPackage, npmRegistryHandler } from './fixtures/npmRegistry.js';
import { isolatedEnv, run, tempDir } from './fixtures/run.js';
import { startVerdaccio } from './fixtures/verdaccio.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Every file under `dir` whose content mentions `needle`. */
function filesMentioning(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return hits;
}

/** A package folder ready for `npm publish`. */
function packageFolder(root: string, manifest: Record<string, unknown>, indexJs: string): string {
  const dir = join(root, String(manifest.name).replace('/', '__'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ main: 'index.js', license: 'MIT', ...manifest }, null, 2));
  writeFileSync(join(dir, 'index.js'), indexJs);
  return dir;
}

/** npm isolated from this machine's user config and cache (a user's ~/.npmrc may omit `resolved`). */
function npmEnv(w: World, cache: string): NodeJS.ProcessEnv {
  return npmClientEnv(w.home, cache);
}

// One Verdaccio for this file (starting it is the slow part); the gate test, last, stops it.
const registryDir = tempDir('detour-verdaccio-');
const verdaccio = await startVerdaccio(registryDir.path);
t.teardown(async () => {
  await verdaccio.stop();
  registryDir.cleanup();
});

/** @acme/gear and team-widget (which needs @acme/gear and is-number) published to Verdaccio by user ci. */
async function publishTeamPackages(t: Test, w: World): Promise<void> {
  const token = await verdaccio.addUser('ci', 'ci-password-1');
  const src = join(w.tmp, 'src');
  const env = isolatedEnv({ HOME: w.home, ...npmEnv(w, join(w.tmp, 'publish-cache')) });
  const gear = packageFolder(src, { name: '@acme/gear', version: '1.0.0' }, 'module.exports = "gear 1.0.0 from the team registry";\n');
  const widget = packageFolder(
    src,
    { name: 'team-widget', version: '1.2.0', dependencies: { '@acme/gear': '^1.0.0', 'is-number': '^7.0.0' } },
    'module.exports = "team-widget 1.2.0 from the team registry";\n',
  );
  for (const folder of [gear, widget]) {
    const r = await verdaccio.publish(folder, token, env);
    t.equal(r.code, 0, r.code === 0 ? `npm publish ${folder}` : r.stderr);
  }
}

t.test('Verdaccio as the first hop: npm install, then npm ci from the lockfile; lockfile on registry.npmjs.org', { skip: needs('npm') }, async (t) => {
  const w = await makeWorld(t);
  await publishTeamPackages(t, w);
  const isNumber = npmPackage('is-number', '7.0.0', 'module.exports = (n) => typeof n === "number";\n');
  const origin = await w.https('registry.npmjs.org', npmRegistryHandler([isNumber], 'https://registry.npmjs.org'));

  const project = join(w.work, 'app');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }, null, 2));
  // omit-lockfile-registry-resolved: a user's ~/.npmrc may set it (on this machine it does); pinned off here.
  writeFileSync(join(project, '.npmrc'), 'registry=https://registry.npmjs.org/\nomit-lockfile-registry-resolved=false\n');
  const flags = [
    ...w.flags(),
    `--connect-to=127.0.0.1:${verdaccio.port}:127.0.0.1:${verdaccio.port}`, // Verdaccio itself, before the catch-all
    `--connect-to=::127.0.0.1:${await w.deadPort()}`, // any other name, any port: nowhere
    '-v',
    '-m',
    `npm=${verdaccio.url}|origin`,
  ];
  const hop = `127\\.0\\.0\\.1:${verdaccio.port}`;

  // npm install: packuments and tarballs of the team's packages from Verdaccio, is-number from the origin.
  const cache1 = join(w.tmp, 'cache-install');
  let r = await w.detour([...flags, '--', 'npm', 'install', 'team-widget'], { env: npmEnv(w, cache1), cwd: project, timeoutMs: 120_000 });
  t.equal(r.code, 0, r.code === 0 ? 'npm install' : r.stderr);
  t.equal(readFileSync(join(project, 'node_modules/team-widget/index.js'), 'utf8'), 'module.exports = "team-widget 1.2.0 from the team registry";\n');
  t.equal(readFileSync(join(project, 'node_modules/@acme/gear/index.js'), 'utf8'), 'module.exports = "gear 1.0.0 from the team registry";\n');
  t.ok(existsSync(join(project, 'node_modules/is-number/index.js')), 'is-number installed from the origin');
  t.match(r.stderr, new RegExp(`GET https://registry\\.npmjs\\.org/team-widget \\[mirror\\] → ${hop} 200`), 'packument from Verdaccio');
  t.match(r.stderr, new RegExp(`GET https://registry\\.npmjs\\.org/team-widget/-/team-widget-1\\.2\\.0\\.tgz \\[mirror\\] → ${hop} 200`), 'npm asked registry.npmjs.org for the tarball; Verdaccio served it');
  t.match(r.stderr, new RegExp(`GET https://registry\\.npmjs\\.org/@acme/gear/-/gear-1\\.0\\.0\\.tgz \\[mirror\\] → ${hop} 200`), 'scoped tarball from Verdaccio');
  t.match(r.stderr, new RegExp(`GET https://registry\\.npmjs\\.org/is-number \\[(mirror|origin)\\] → origin 200 .*tried ${hop}:404`), 'is-number: Verdaccio 404, then the origin');

  const lockText = readFileSync(join(project, 'package-lock.json'), 'utf8');
  const lock = JSON.parse(lockText) as { packages: Record<string, { resolved?: string; integrity?: string }> };
  t.same(
    Object.fromEntries(Object.entries(lock.packages).filter(([k]) => k).map(([k, v]) => [k, v.resolved])),
    {
      'node_modules/@acme/gear': 'https://registry.npmjs.org/@acme/gear/-/gear-1.0.0.tgz',
      'node_modules/is-number': 'https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz',
      'node_modules/team-widget': 'https://registry.npmjs.org/team-widget/-/team-widget-1.2.0.tgz',
    },
    'every resolved URL is on registry.npmjs.org',
  );
  t.notOk(lockText.includes('127.0.0.1'), 'the lockfile never names Verdaccio’s host');
  t.equal(lock.packages['node_modules/is-number']?.integrity, isNumber.integrity);
  t.same(filesMentioning(cache1, `127.0.0.1:${verdaccio.port}`), [], 'npm’s cache never names Verdaccio’s host');
  const originPaths = () => [...new Set(origin.requests.map((q) => decodeURIComponent(q.url)))].sort();
  t.same(originPaths(), ['/is-number', '/is-number/-/is-number-7.0.0.tgz'], 'the origin was asked only for what Verdaccio lacks');

  // npm ci from the lockfile, empty cache and node_modules: the tarballs again, by their registry.npmjs.org URLs.
  rmSync(join(project, 'node_modules'), { recursive: true, force: true });
  origin.requests.length = 0;
  const cache2 = join(w.tmp, 'cache-ci');
  r = await w.detour([...flags, '--', 'npm', 'ci'], { env: npmEnv(w, cache2), cwd: project, timeoutMs: 120_000 });
  t.equal(r.code, 0, r.code === 0 ? 'npm ci' : r.stderr);
  t.equal(readFileSync(join(project, 'node_modules/team-widget/index.js'), 'utf8'), 'module.exports = "team-widget 1.2.0 from the team registry";\n');
  t.equal(readFileSync(join(project, 'node_modules/@acme/gear/index.js'), 'utf8'), 'module.exports = "gear 1.0.0 from the team registry";\n');
  t.match(r.stderr, new RegExp(`GET https://registry\\.npmjs\\.org/team-widget/-/team-widget-1\\.2\\.0\\.tgz \\[mirror\\] → ${hop} 200`));
  t.match(r.stderr, new RegExp(`GET https://registry\\.npmjs\\.org/@acme/gear/-/gear-1\\.0\\.0\\.tgz \\[mirror\\] → ${hop} 200`));
  t.same(originPaths(), ['/is-number/-/is-number-7.0.0.tgz'], 'npm ci asked the origin for is-number’s tarball only');
  t.equal(readFileSync(join(project, 'package-lock.json'), 'utf8'), lockText, 'npm ci left the lockfile as it was');
  t.same(filesMentioning(cache2, `127.0.0.1:${verdaccio.port}`), []);
});

/**
 * The gate filters of README's "For teams" (GitHub: jq; GitLab: node), as written there, with the team
 * mirror's label in place of nexus.corp: run as is, so the README's recipe is the one tested.
 */
function readmeGates(label: string): { jq: string; node: string } {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const jq = /^\s*(jq -e .*detour-check\.json)$/m.exec(readme)?.[1];
  const node = /^\s*- (node -e .*detour-check\.json.*)$/m.exec(readme)?.[1];
  if (!jq || !node) throw new Error('README: the For teams gate lines are missing');
  return { jq: jq.replaceAll('nexus.corp', label), node: node.replaceAll('nexus.corp', label) };
}

t.test('detour check --json as a CI gate: passes while Verdaccio is up, fails the job once it is down', { skip: needs('jq', 'sh') }, async (t) => {
  const w = await makeWorld(t);
  const label = `127.0.0.1:${verdaccio.port}`;
  const gates = readmeGates(label);
  const filter = (cmd: string) => run('sh', ['-c', cmd], { cwd: w.work, env: isolatedEnv(), timeoutMs: 30_000 });
  // The team mirror first, then the origin: `check` alone passes while the origin answers; the filters do not.
  const origin = await w.https('registry.npmjs.org', npmRegistryHandler([npmPackage('is-number', '7.0.0')], 'https://registry.npmjs.org'));
  const gate = ['check', '--json', ...w.flags(), '-m', `npm=${verdaccio.url}|origin`];

  let r = await w.detour(gate, { timeoutMs: 30_000 });
  t.equal(r.code, 0, r.code === 0 ? 'up: check passes' : r.stdout + r.stderr);
  let rows = JSON.parse(r.stdout) as { rule: string; target: string; status: number | null; ok: boolean; error: string | null }[];
  t.match(rows, [{ rule: 'registry.npmjs.org', target: label, status: 404, ok: true, error: null }, { target: 'origin', status: 200, ok: true }], 'a 404 for the probe package is a healthy team mirror');
  writeFileSync(join(w.work, 'detour-check.json'), r.stdout);
  for (const [name, cmd] of Object.entries(gates)) {
    const f = await filter(cmd);
    t.equal(f.code, 0, f.code === 0 ? `${name} filter passes while the team mirror is up` : f.stdout + f.stderr);
  }

  await verdaccio.stop();
  r = await w.detour(gate, { timeoutMs: 30_000 });
  t.equal(r.code, 0, 'down, but the origin answers: check alone would let the job go on');
  rows = JSON.parse(r.stdout);
  t.match(rows, [{ target: label, status: null, ok: false, error: /^E_CONNECT / }, { target: 'origin', ok: true }]);
  writeFileSync(join(w.work, 'detour-check.json'), r.stdout);
  for (const [name, cmd] of Object.entries(gates)) {
    const f = await filter(cmd);
    t.equal(f.code, 1, `${name} filter fails the job once the team mirror is down`);
  }
  t.ok(origin.requests.length >= 2, 'the origin was probed');

  // Without the origin in the chain, check itself fails the job and names the rule.
  r = await w.detour(['check', '--json', ...w.flags(), '-m', `npm=${verdaccio.url}`], { timeoutMs: 30_000 });
  t.equal(r.code, 1, 'a rule with no reachable target: exit 1');
  t.match(r.stderr, /registry\.npmjs\.org/, 'stderr names the broken rule');
});
