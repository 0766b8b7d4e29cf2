// What detour tells the user about a run. A failing chain target is a warning: named on stderr once per
// target per run, even without -v, with what detour did next; also a `warning` event in --log-file. A
// 404/410 is a normal miss and stays silent. The -v summary counts each request once, by what happened.
import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { answer, makeWorld, needs, type World } from './fixtures/detour.js';
import { npmClientEnv, npmPackage, npmRegistryHandler } from './fixtures/npmRegistry.js';

const warnings = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('detour: warning:'));

/** Two curl requests in one child, each status on its own line. */
function twoRequests(w: { work: string }, a: string, b: string): string[] {
  writeFileSync(join(w.work, 'two.sh'), [a, b].map((u) => `curl -sS -o /dev/null -w '%{http_code}\\n' ${u}`).join('\n') + '\n');
  return ['sh', 'two.sh'];
}

t.test('a dead mirror before origin: one warning line for two requests, without -v', { skip: needs('curl') }, async (t) => {
  const w = await makeWorld(t);
  const origin = await w.https('registry.npmjs.org', answer(200, '{}'));
  w.map('dead.mirror.test', await w.deadPort());
  const log = join(w.work, 'run.log');
  const r = await w.detour([
    ...w.flags(),
    '--log-file',
    log,
    '-m',
    'npm=https://dead.mirror.test|origin',
    '--',
    ...twoRequests(w, 'https://registry.npmjs.org/a', 'https://registry.npmjs.org/b'),
  ]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, '200\n200\n', 'both served by the origin');
  t.equal(origin.requests.length, 2);
  const lines = warnings(r.stderr);
  t.equal(lines.length, 1, `exactly one warning line:\n${r.stderr}`);
  t.match(lines[0], /^detour: warning: mirror dead\.mirror\.test failed \(E_CONNECT cannot connect to dead\.mirror\.test:443\b.*\); fell back to origin$/);
  t.equal(r.stderr.trim().split('\n').length, 1, 'nothing else on stderr without -v');

  const events = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const warned = events.filter((e) => e.event === 'warning');
  t.equal(warned.length, 1, 'one warning event in the log');
  t.match(warned[0], { level: 40, target: 'dead.mirror.test', code: 'E_CONNECT', request: 'https://registry.npmjs.org/a', msg: lines[0] });
});

t.test('a single-target chain whose mirror is dead: the warning says the client got 502', { skip: needs('curl') }, async (t) => {
  const w = await makeWorld(t);
  w.map('dead.mirror.test', await w.deadPort());
  const r = await w.detour([
    ...w.flags(),
    '-m',
    'npm=https://dead.mirror.test',
    '--',
    ...twoRequests(w, 'https://registry.npmjs.org/a', 'https://registry.npmjs.org/b'),
  ]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, '502\n502\n');
  const lines = warnings(r.stderr);
  t.equal(lines.length, 1, `exactly one warning line:\n${r.stderr}`);
  t.match(lines[0], /^detour: warning: mirror dead\.mirror\.test failed \(E_CONNECT cannot connect to dead\.mirror\.test:443\b.*\); no target left: answered 502 to the client$/);
});

t.test('the origin itself failing is named too; a mirror\'s 404 is not a warning', { skip: needs('curl') }, async (t) => {
  const w = await makeWorld(t);
  const mirror = await w.https('good.mirror.test', answer(404, 'not here'));
  await w.https('registry.npmjs.org', answer(503, 'down for maintenance'));
  const r = await w.detour([
    ...w.flags(),
    '-m',
    'npm=https://good.mirror.test|origin',
    '--',
    ...twoRequests(w, 'https://registry.npmjs.org/a', 'https://registry.npmjs.org/b'),
  ]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, '503\n503\n', "the origin's own answer reaches the client");
  t.equal(mirror.requests.length, 2);
  t.same(warnings(r.stderr), ['detour: warning: origin registry.npmjs.org failed (HTTP 503); no target left: passed its 503 on to the client']);
});

t.test("after ',' a failure is final: the warning names the target not tried", { skip: needs('curl') }, async (t) => {
  const w = await makeWorld(t);
  const origin = await w.https('registry.npmjs.org', answer(200, '{}'));
  w.map('dead.mirror.test', await w.deadPort());
  const r = await w.detour([...w.flags(), '-m', 'npm=https://dead.mirror.test,origin', '--', ...twoRequests(w, 'https://registry.npmjs.org/a', 'https://registry.npmjs.org/b')]);
  t.equal(r.stdout, '502\n502\n');
  t.equal(origin.requests.length, 0);
  const lines = warnings(r.stderr);
  t.equal(lines.length, 1, r.stderr);
  t.match(lines[0], /^detour: warning: mirror dead\.mirror\.test failed \(E_CONNECT .*\); did not try origin \(after ',' only a 404 or 410 moves on\): answered 502 to the client$/);
});

/** An npm project folder with its own cache and config, retries off; returns the env for npm. */
function npmProject(w: World, name: string): { project: string; env: NodeJS.ProcessEnv } {
  const project = join(w.work, name);
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  writeFileSync(join(project, '.npmrc'), 'registry=https://registry.npmjs.org/\n');
  const env = npmClientEnv(w.home, join(w.tmp, `npm-cache-${name}`));
  return { project, env };
}

t.test('npm install with a dead team mirror: one warning, then the origin serves; alone, the warning says 502', { skip: needs('npm') }, async (t) => {
  const w = await makeWorld(t);
  const pkg = npmPackage('acme-widget', '1.0.0');
  const origin = await w.https('registry.npmjs.org', npmRegistryHandler([pkg], 'https://registry.npmjs.org'));
  w.map('npm.corp.test', await w.deadPort());
  // Any other name, any port: a dead local port, so nothing leaves the machine.
  const catchAll = `--connect-to=::127.0.0.1:${await w.deadPort()}`;

  const { project, env } = npmProject(w, 'first');
  let r = await w.detour([...w.flags(), catchAll, '-m', 'npm=https://npm.corp.test|origin', '--', 'npm', 'install', '--no-audit', '--no-fund', 'acme-widget'], {
    env,
    cwd: project,
    timeoutMs: 120_000,
  });
  t.equal(r.code, 0, `npm install: ${r.stderr}`);
  t.same(
    [...new Set(origin.requests.map((q) => new URL(q.url ?? '/', 'https://x').pathname))].sort(),
    ['/acme-widget', '/acme-widget/-/acme-widget-1.0.0.tgz'],
    'packument and tarball from the origin',
  );
  let lines = warnings(r.stderr);
  t.equal(lines.length, 1, `one warning for every request npm made:\n${r.stderr}`);
  t.match(lines[0], /^detour: warning: mirror npm\.corp\.test failed \(E_CONNECT .*\); fell back to origin$/);

  const other = npmProject(w, 'second');
  r = await w.detour([...w.flags(), catchAll, '-m', 'npm=https://npm.corp.test', '--', 'npm', 'install', '--no-audit', '--no-fund', 'acme-widget'], {
    env: other.env,
    cwd: other.project,
    timeoutMs: 120_000,
  });
  t.not(r.code, 0, 'npm install fails');
  lines = warnings(r.stderr);
  t.equal(lines.length, 1, r.stderr);
  t.match(lines[0], /^detour: warning: mirror npm\.corp\.test failed \(E_CONNECT .*\); no target left: answered 502 to the client$/);
  t.match(r.stderr, /\b502\b/, "npm's own error follows");
});

t.test('-v summary: one mirrored, one served by origin after a 404, one failed, one exhausted to 404', { skip: needs('curl') }, async (t) => {
  const w = await makeWorld(t);
  await w.https('good.mirror.test', (req, res) => {
    res.writeHead(req.url === '/found' ? 200 : 404, { 'content-type': 'text/plain' });
    res.end(req.url === '/found' ? 'mirror' : 'missing');
  });
  await w.https('registry.npmjs.org', answer(200, 'origin'));
  w.map('dead.mirror.test', await w.deadPort());
  writeFileSync(
    join(w.work, 'four.sh'),
    [
      'https://registry.npmjs.org/found',
      'https://registry.npmjs.org/missing',
      'https://pypi.org/simple/x/',
      'https://proxy.golang.org/example.com/m/@v/list',
    ]
      .map((u) => `curl -sS -o /dev/null -w '%{http_code}\\n' ${u}`)
      .join('\n') + '\n',
  );
  const r = await w.detour([
    ...w.flags(),
    '-v',
    '-m',
    'npm=https://good.mirror.test|origin',
    '-m',
    'pypi.org=https://dead.mirror.test',
    '-m',
    'go=https://dead.mirror.test',
    '--',
    'sh',
    'four.sh',
  ]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, '200\n200\n502\n404\n', "the go preset's exhaustion answers 404 (GOPROXY's next entry is tried)");
  t.match(r.stderr, /GET https:\/\/proxy\.golang\.org\/example\.com\/m\/@v\/list \[mirror\] 404 0 B \d+ms ! E_CONNECT cannot connect to dead\.mirror\.test/, 'the -v line says why');
  t.match(r.stderr, /^detour: 4 requests, 1 mirrored, 0 tunneled, 0 direct, 1 to origin, 0 blocked, 1 fallback, 2 failures, \d+ B$/m);
  t.match(r.stderr, /^detour: {3}mirrored +good\.mirror\.test 1$/m);
  t.match(r.stderr, /^detour: {3}fallbacks +good\.mirror\.test HTTP 404 1$/m);
  t.match(r.stderr, /^detour: {3}broken +mirror dead\.mirror\.test 2 \(E_CONNECT\)$/m);
  t.match(r.stderr, /^detour: {3}failed +GET https:\/\/pypi\.org\/simple\/x\/ → 502: cannot connect to dead\.mirror\.test/m);
  t.match(r.stderr, /^detour: {3}failed +GET https:\/\/proxy\.golang\.org\/example\.com\/m\/@v\/list → 404: E_CONNECT cannot connect to dead\.mirror\.test/m);
  t.equal(warnings(r.stderr).length, 1, 'the dead mirror is named once, for both rules');
});
