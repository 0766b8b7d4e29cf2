// `detour check`: probes every target of every rule through the same --connect-to / CA settings as a run.
import t from 'tap';
import { answer, makeWorld } from './fixtures/detour.js';

t.test('check: a table of every target; exit 0 when each rule has a working target, 1 otherwise', async (t) => {
  const w = await makeWorld(t);
  const good = await w.https('good.mirror.test', answer(200, 'ok'));
  const origin = await w.https('registry.npmjs.org', answer(200, '{}'));
  await w.https('slow.mirror.test', () => undefined); // never answers
  w.map('dead.mirror.test', await w.deadPort());
  await w.https('index.crates.io', answer(200, '{"dl":"x"}'));

  let r = await w.detour(['check', ...w.flags(), '-m', 'npm=https://dead.mirror.test|https://good.mirror.test|origin', '-m', 'crates=origin']);
  t.equal(r.code, 0, r.stderr);
  const rows = r.stdout.trim().split('\n');
  t.match(rows[0], /^rule\s+target\s+status\s+ttfb\s+verdict\s+detail$/);
  t.match(r.stdout, /registry\.npmjs\.org\s+dead\.mirror\.test\s+E_CONNECT\s+-\s+FAIL/);
  t.match(r.stdout, /registry\.npmjs\.org\s+good\.mirror\.test\s+200\s+\d+ ms\s+ok\s+https:\/\/good\.mirror\.test\/is-number/);
  t.match(r.stdout, /registry\.npmjs\.org\s+origin\s+200\s+\d+ ms\s+ok/);
  t.match(r.stdout, /index\.crates\.io\s+origin\s+200/);
  t.equal(good.requests[0]!.url, '/is-number', 'npm probe: a packument');
  t.equal(origin.requests.length, 1);

  r = await w.detour([...w.flags(), '--timeout', '500', 'check', '-m', 'npm=https://slow.mirror.test|https://dead.mirror.test', '-m', 'crates=origin']);
  t.equal(r.code, 1, 'a rule with no working target fails the check');
  t.match(r.stdout, /slow\.mirror\.test\s+E_FIRST_BYTE_TIMEOUT\s+-\s+FAIL/);
  t.match(r.stderr, /^detour: no reachable target for registry\.npmjs\.org$/m);

  r = await w.detour(['check', ...w.flags(), '-m', 'npm=origin', '--', 'true']);
  t.equal(r.code, 2, 'check takes no command');
});

t.test('check: any answer below 500 is reachable (a team mirror lacks the probe package); 5xx, connect, TLS are broken', async (t) => {
  const w = await makeWorld(t);
  const team = await w.https('npm.corp.test', answer(404, '{"error":"not found"}'));
  await w.https('busy.mirror.test', answer(503, 'overloaded'));
  await w.https('pypi.corp.test', answer(401, 'who are you'));
  await w.https('expired.mirror.test', answer(200, 'ok'), { expired: true });
  w.map('dead.mirror.test', await w.deadPort());

  const npm = 'npm=https://npm.corp.test|https://busy.mirror.test|https://dead.mirror.test|https://expired.mirror.test';
  let r = await w.detour(['check', ...w.flags(), '-m', npm, '-m', 'pypi=https://pypi.corp.test']);
  t.equal(r.code, 0, `each rule has a reachable target: ${r.stderr}`);
  t.match(r.stdout, /registry\.npmjs\.org\s+npm\.corp\.test\s+404\s+\d+ ms\s+ok\s+https:\/\/npm\.corp\.test\/is-number/);
  t.match(r.stdout, /registry\.npmjs\.org\s+busy\.mirror\.test\s+503\s+\d+ ms\s+FAIL/);
  t.match(r.stdout, /registry\.npmjs\.org\s+dead\.mirror\.test\s+E_CONNECT\s+-\s+FAIL/);
  t.match(r.stdout, /registry\.npmjs\.org\s+expired\.mirror\.test\s+E_TLS\s+-\s+FAIL/);
  t.match(r.stdout, /pypi\.org\/simple\s+pypi\.corp\.test\/simple\s+401\s+\d+ ms\s+ok/);
  t.equal(team.requests[0]?.url, '/is-number');
  t.equal(r.stderr, '');

  r = await w.detour(['check', ...w.flags(), '-m', 'npm=https://busy.mirror.test|https://dead.mirror.test|https://expired.mirror.test']);
  t.equal(r.code, 1, 'only a 5xx, a dead target and a TLS failure: broken');
  t.match(r.stderr, /^detour: no reachable target for registry\.npmjs\.org$/m);
});

interface CheckRow {
  rule: string;
  target: string;
  url: string;
  status: number | null;
  ttfb: number | null;
  error: string | null;
  ok: boolean;
}

t.test('check --json: the same rows for a CI gate; exit 1 when the team mirror is down, 0 when up', async (t) => {
  const w = await makeWorld(t);
  // The team mirror serves only its own packages: 404 for the probe's packument.
  await w.https('npm.corp.test', answer(404, '{"error":"not found"}'));
  w.map('down.corp.test', await w.deadPort());

  let r = await w.detour(['check', '--json', ...w.flags(), '-m', 'npm=https://npm.corp.test']);
  t.equal(r.code, 0, r.stderr);
  let rows = JSON.parse(r.stdout) as CheckRow[];
  t.equal(rows.length, 1);
  t.same(Object.keys(rows[0]!), ['rule', 'target', 'url', 'status', 'ttfb', 'error', 'ok'], 'every key in every row');
  t.match(rows[0], { rule: 'registry.npmjs.org', target: 'npm.corp.test', url: 'https://npm.corp.test/is-number', status: 404, error: null, ok: true });
  t.type(rows[0]!.ttfb, 'number');

  r = await w.detour([...w.flags(), '-m', 'npm=https://down.corp.test', 'check', '--json']);
  t.equal(r.code, 1, 'the CI step fails when the team mirror is down');
  rows = JSON.parse(r.stdout) as CheckRow[];
  t.match(rows, [{ rule: 'registry.npmjs.org', target: 'down.corp.test', url: 'https://down.corp.test/is-number', status: null, ttfb: null, error: /^E_CONNECT cannot connect to down\.corp\.test/, ok: false }]);
  t.match(r.stderr, /^detour: no reachable target for registry\.npmjs\.org$/m, 'stderr says why; stdout stays JSON');
});

t.test('presets: the table and --json come from the preset data', async (t) => {
  const w = await makeWorld(t);
  const r = await w.detour(['presets', '--json']);
  t.equal(r.code, 0);
  const data = JSON.parse(r.stdout) as { name: string; hosts: string[]; defaultChain: string; mirrors: Record<string, string> }[];
  t.same(data.map((p) => p.name).slice(0, 4), ['go', 'npm', 'pypi', 'crates'], 'the first four; later presets follow');
  t.same(Object.keys(data[0]!.mirrors), ['goproxy.cn', 'aliyun', 'huawei', 'tencent', 'goproxy.io']);
  t.match(data[2]!.defaultChain, /origin$/);
  const text = await w.detour(['presets']);
  t.match(text.stdout, /^go\s+Go module proxy/m);
  t.match(text.stdout, /aliyun\s+https:\/\/mirrors\.aliyun\.com\/goproxy/);
});
