// The V8 flags detour sets at run time (src/main.ts, src/youngGeneration.ts) are set only on the V8 versions known
// to have them: V8 prints "unrecognized flag" on standard error, which detour shares with the child, and drops
// the flags after it. On this machine's Node, a run whose child prints nothing leaves both streams clean.
import t from 'tap';
import { CLI } from './fixtures/detour.js';
import { isolatedEnv, run } from './fixtures/run.js';
import { runTimeV8Flags } from '../dist/main.js';
import { knowsYoungGenerationFlags, RUN_TIME_V8_FLAGS } from '../dist/youngGeneration.js';

t.test('Node 20 (V8 11): the young generation settings and the tier-up budget', async (t) => {
  const flags = runTimeV8Flags('11.3.244.8-node.33');
  t.equal(flags.length, 2);
  t.equal(flags[0], RUN_TIME_V8_FLAGS);
  t.match(flags[1], /^--interrupt-budget=\d+$/);
});

t.test('Node 22 (V8 12): the young generation settings only; tier-up is left to V8 (Maglev)', async (t) => {
  t.same(runTimeV8Flags('12.4.254.21-node.33'), [RUN_TIME_V8_FLAGS]);
  t.ok(knowsYoungGenerationFlags('12.4.254.21-node.33'));
});

t.test('an unchecked V8: none at all', async (t) => {
  t.same(runTimeV8Flags('13.6.233.10-node.24'), []);
  t.same(runTimeV8Flags('10.2.154.26-node.36'), []);
  t.notOk(knowsYoungGenerationFlags('13.6.233.10-node.24'));
});

t.test('this Node: no V8 message on either stream', async (t) => {
  const r = await run(CLI, ['--no-upstream', '--', 'true'], { env: isolatedEnv(), timeoutMs: 30_000 });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, '', 'no V8 message on stdout');
  t.notMatch(r.stderr, /unrecognized flag/);
});
