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
  t.match(r.stderr, /^detour: no working target for registry\.npmjs\.org$/m);

  r = await w.detour(['check', ...w.flags(), '-m', 'npm=origin', '--', 'true']);
  t.equal(r.code, 2, 'check takes no command');
});

t.test('presets: the table and --json come from the preset data', async (t) => {
  const w = await makeWorld(t);
  const r = await w.detour(['presets', '--json']);
  t.equal(r.code, 0);
  const data = JSON.parse(r.stdout) as { name: string; hosts: string[]; defaultChain: string; mirrors: Record<string, string> }[];
  t.same(data.map((p) => p.name), ['go', 'npm', 'pypi', 'crates']);
  t.same(Object.keys(data[0]!.mirrors), ['goproxy.cn', 'aliyun', 'huawei', 'tencent', 'goproxy.io']);
  t.match(data[2]!.defaultChain, /origin$/);
  const text = await w.detour(['presets']);
  t.match(text.stdout, /^go\s+Go module proxy/m);
  t.match(text.stdout, /aliyun\s+https:\/\/mirrors\.aliyun\.com\/goproxy/);
});
