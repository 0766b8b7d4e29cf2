// S3 start-up: `detour -- true` against `true`, interleaved run by run, medians reported.
// Run: node bench/startup.mjs [runs]   (default 20; loopback only; writes nothing)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 20);
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const env = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR ?? '/tmp' };
const variants = {
  true: ['true', []],
  // The executable itself, as `npx detour` runs it (its shebang carries V8 flags).
  'detour -- true': [cli, ['--no-upstream', '--', 'true']],
};
const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let i = 0; i < runs; i++) {
  for (const [name, [cmd, args]] of Object.entries(variants)) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { env, stdio: 'ignore' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${name} exited ${r.status}`);
    times[name].push(ms);
  }
}
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const base = median(times.true);
console.log(`| variant | median ms | p90 ms | extra over \`true\` |`);
console.log(`|---|---|---|---|`);
for (const [name, list] of Object.entries(times)) {
  const s = [...list].sort((x, y) => x - y);
  const p90 = s[Math.min(s.length - 1, Math.floor(s.length * 0.9))];
  console.log(`| \`${name}\` | ${median(list).toFixed(1)} | ${p90.toFixed(1)} | ${(median(list) - base).toFixed(1)} ms |`);
}
console.log(`\n${runs} runs each, interleaved; node ${process.version}.`);
