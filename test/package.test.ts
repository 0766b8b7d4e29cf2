// The package as a user gets it: `npm pack` of this checkout (its built dist/), installed with
// `npm install -g` into a temporary prefix, and the installed `detour` run from there. The dependencies come
// from a local registry re-packed from node_modules (fixtures/localRegistry.ts), so nothing leaves the machine.
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { answer, CURL, makeWorld, needs } from './fixtures/detour.js';
import { startConnectProxy } from './fixtures/connectProxy.js';
import { dependencyClosure, localRegistryHandler } from './fixtures/localRegistry.js';
import { isolatedEnv, run, tempDir } from './fixtures/run.js';
import { startServer } from './fixtures/servers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
};

/** What the tarball holds, and nothing else: the runtime files, the preload, the README and package.json. */
const EXPECTED_FILES = [
  'package/README.md',
  'package/dist/app.bundle.cache',
  'package/dist/app.bundle.cjs',
  'package/dist/cli.cjs',
  'package/package.json',
  'package/src/node-preload.cjs',
  ...(existsSync(join(ROOT, 'LICENSE')) ? ['package/LICENSE'] : []),
].sort();

t.test('npm pack → npm install -g → the installed detour runs, routes and needs no build', { skip: needs('npm', 'tar', 'curl') }, async (t) => {
  const dir = tempDir('detour-pack-');
  t.teardown(dir.cleanup);
  const home = join(dir.path, 'home');
  const cache = join(dir.path, 'npm-cache');
  const packed = join(dir.path, 'packed');
  const prefix = join(dir.path, 'prefix');
  for (const d of [home, packed]) mkdirSync(d, { recursive: true });
  const userconfig = join(home, '.npmrc');
  writeFileSync(userconfig, 'audit=false\nfund=false\nupdate-notifier=false\n');
  const npmEnv = isolatedEnv({
    HOME: home,
    npm_config_userconfig: userconfig,
    npm_config_cache: cache,
    npm_config_update_notifier: 'false',
    npm_config_fetch_retries: '0',
  });

  // --ignore-scripts: pack the dist/ the other tests use. (`npm pack` and `npm publish` run `prepack`, i.e.
  // the build, first; rebuilding here would rewrite dist/ under the tests running beside this one.)
  let r = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packed], { cwd: ROOT, env: npmEnv, timeoutMs: 60_000 });
  t.equal(r.code, 0, `npm pack: ${r.stderr}`);
  const [report] = JSON.parse(r.stdout) as { filename: string }[];
  const tgz = join(packed, report!.filename);
  t.equal(report!.filename, `${PKG.name}-${PKG.version}.tgz`);
  t.equal(PKG.name, 'detour-cli', 'the npm package is detour-cli');
  t.same(PKG.bin, { detour: 'dist/cli.cjs' }, 'its command is detour');

  r = await run('tar', ['-tzf', tgz], { timeoutMs: 30_000 });
  t.equal(r.code, 0, r.stderr);
  t.same(r.stdout.trim().split('\n').sort(), EXPECTED_FILES, 'the tarball holds exactly the runtime files');

  // The registry: detour-cli's runtime dependencies, transitively, from node_modules.
  const pkgs = dependencyClosure(ROOT, PKG.dependencies);
  let registryUrl = '';
  const registry = await startServer({ handler: localRegistryHandler(pkgs, () => registryUrl) });
  t.teardown(() => registry.close());
  registryUrl = registry.url;

  r = await run('npm', ['install', '-g', '--prefix', prefix, '--registry', `${registry.url}/`, '--no-audit', '--no-fund', tgz], { env: npmEnv, timeoutMs: 120_000 });
  t.equal(r.code, 0, `npm install -g: ${r.stderr}`);
  // No install-time script at all: npm 11 warns about any (prepare included) not covered by allowScripts.
  t.notMatch(r.stderr, /install-scripts|prepare/, 'npm had no install script to warn about');
  const installed = join(prefix, 'lib/node_modules/detour-cli');
  const bin = join(prefix, 'bin/detour');
  t.ok(existsSync(bin), 'bin/detour exists');
  t.equal(existsSync(bin) && realpathSync(bin), join(installed, 'dist/cli.cjs'), 'bin/detour is dist/cli.cjs');
  // Nothing was built at install time: dist/ is the packed one, and no build tool was fetched.
  const shipped = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  t.same(['preinstall', 'install', 'postinstall', 'prepare'].filter((s) => shipped.scripts?.[s]), [], 'no install-time script');
  for (const f of ['dist/app.bundle.cjs', 'dist/app.bundle.cache']) t.ok(readFileSync(join(installed, f)).equals(readFileSync(join(ROOT, f))), `${f} shipped as built`);
  const asked = new Set(registry.requests.map((q) => decodeURIComponent(new URL(q.url, 'http://x').pathname).split('/-/')[0]!.slice(1)));
  for (const dev of ['typescript', 'esbuild', 'tap', 'node-forge', 'verdaccio']) t.notOk(asked.has(dev), `${dev} not fetched (bundled or dev only)`);
  t.ok(asked.has('pino') && asked.has('proxy-agent') && asked.has('yargs'), 'the runtime dependencies came from the local registry');

  const userEnv = (w: { home: string; tmp: string }) => isolatedEnv({ HOME: w.home, TMPDIR: w.tmp });
  const w = await makeWorld(t);

  r = await run(bin, ['--version'], { env: userEnv(w), timeoutMs: 30_000 });
  t.equal(r.stdout.trim(), PKG.version, `--version prints package.json's version: ${r.stderr}`);

  // A wrapped command sees the proxy, detour's CA and the preload, all from the installed package.
  r = await run(bin, ['--no-upstream', '--', 'sh', '-c', 'echo "$HTTPS_PROXY"; echo "$NODE_OPTIONS"; cat "$DETOUR_CA_FILE"'], { env: userEnv(w), timeoutMs: 30_000 });
  t.equal(r.code, 0, r.stderr);
  const [proxy, nodeOptions, ...pem] = r.stdout.split('\n');
  t.match(proxy, /^http:\/\/detour:[^@]+@127\.0\.0\.1:\d+$/, 'HTTPS_PROXY points at the run’s proxy');
  t.ok(nodeOptions?.includes(join(installed, 'src/node-preload.cjs')), `NODE_OPTIONS requires the installed preload: ${nodeOptions}`);
  const ca = new X509Certificate(pem.join('\n'));
  t.ok(ca.ca, 'DETOUR_CA_FILE is a CA certificate');
  t.match(ca.subject, /detour/i);

  // V8's code cache (src/cli.cts): the shipped one is taken; one that is stale (made from another bundle),
  // cut short, or missing is not, and detour runs the same either way. The variable does not reach the child.
  const cacheFile = join(installed, 'dist/app.bundle.cache');
  const shippedCache = readFileSync(cacheFile);
  const cacheRun = () => run(bin, ['--no-upstream', '--', 'sh', '-c', 'echo ran; env | grep -c "^DETOUR_CODE_CACHE"'], { env: { ...userEnv(w), DETOUR_CODE_CACHE: 'report' }, timeoutMs: 30_000 });
  const staleCache = Buffer.from(shippedCache);
  staleCache[0] ^= 0xff; // the bundle's SHA-256 no longer matches
  for (const [state, content] of [['accepted', shippedCache], ['stale', staleCache], ['rejected', shippedCache.subarray(0, 32 + 64)], ['absent', undefined]] as const) {
    if (content) writeFileSync(cacheFile, content);
    else rmSync(cacheFile);
    r = await cacheRun();
    t.equal(r.stderr, `detour: code cache ${state}\n`, `code cache ${state}`);
    t.equal(r.stdout, 'ran\n0\n', `…and the command ran (${state}), without DETOUR_CODE_CACHE`);
  }
  writeFileSync(cacheFile, shippedCache);

  // The launcher line (src/cli.cts): with NODE_EXTRA_CA_CERTS set, detour's own process starts without it (Node
  // 20 would parse the file before detour runs a line), and the child still gets the parent's roots, merged
  // with detour's CA. /proc shows the environment each process was started with.
  const extra = join(w.tmp, 'corp-root.pem');
  writeFileSync(extra, w.ca.certPem);
  r = await run(
    bin,
    ['--no-upstream', '--', 'sh', '-c', 'tr "\\0" "\\n" < /proc/$PPID/environ | grep NODE_EXTRA_CA_CERTS; echo "child: $NODE_EXTRA_CA_CERTS"; env | grep -c "^DETOUR_NODE_EXTRA" ; cat "$NODE_EXTRA_CA_CERTS"'],
    { env: { ...userEnv(w), NODE_EXTRA_CA_CERTS: extra }, timeoutMs: 30_000 },
  );
  t.equal(r.code, 0, r.stderr);
  const [own, child, count, ...merged] = r.stdout.split('\n');
  t.equal(own, `DETOUR_NODE_EXTRA_CA_CERTS=${extra}`, "detour's own process started without NODE_EXTRA_CA_CERTS");
  t.not(child, `child: ${extra}`, 'the child gets a merged file, not the parent’s own');
  t.equal(count, '0', 'the hand-over variable does not reach the child');
  const mergedPem = merged.join('\n');
  t.ok(mergedPem.includes(w.ca.certPem.trim()), "the child's NODE_EXTRA_CA_CERTS holds the parent's root");
  t.equal(mergedPem.split('BEGIN CERTIFICATE').length - 1, 2, "…and detour's CA");

  // A routed request through an upstream proxy, logged: proxy-agent and pino load from the installed tree.
  const mirror = await w.https('mirror.corp.test', answer(200, 'from the team mirror'));
  const upstream = await startConnectProxy(() => ({ host: '127.0.0.1', port: mirror.port }));
  t.teardown(() => upstream.close());
  const log = join(w.tmp, 'run.log');
  r = await run(
    bin,
    [`--upstream-ca=${w.ca.certFile}`, '--upstream', upstream.url, '--log-file', log, '-m', 'files.corp.test=https://mirror.corp.test', '--', ...CURL, 'https://files.corp.test/a.txt'],
    { env: userEnv(w), timeoutMs: 60_000 },
  );
  t.equal(r.stdout, 'from the team mirror\n200', r.stderr);
  t.same(upstream.connects, ['mirror.corp.test:443'], 'detour reached the mirror through the upstream proxy');
  t.match(readFileSync(log, 'utf8'), /"url":"https:\/\/files\.corp\.test\/a\.txt"/, 'the log file has the exchange');
});
