// S3 start-up: `detour -- true` against `true`, interleaved run by run, medians reported.
// Run: node bench/startup.mjs [runs]   (default 20; loopback only; writes nothing)
//
// Two environments: a clean one (PATH, HOME, TMPDIR), and the same with NODE_EXTRA_CA_CERTS naming the system
// bundle, as CI images and corporate machines often set it (this machine's sandbox does). Node.js 20 parses that
// file at start-up in every process; detour's launcher line (src/cli.cts) keeps it out of detour's own process.
// `node -e 0` in each environment is the floor any Node.js program pays.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 20);
const cli = fileURLToPath(new URL('../dist/cli.cjs', import.meta.url));
const clean = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR ?? '/tmp' };
const systemBundle = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'].find((f) => existsSync(f));
const withExtra = systemBundle ? { ...clean, NODE_EXTRA_CA_CERTS: systemBundle } : undefined;
const variants = {
  true: ['true', [], clean],
  // The executable itself, as an installed `detour` or `npx detour-cli` runs it (through its launcher line).
  'detour -- true': [cli, ['--no-upstream', '--', 'true'], clean],
  // The same without V8's code cache (src/cli.cts), as a Node.js other than the build's would run it.
  'detour -- true (no code cache)': [cli, ['--no-upstream', '--', 'true'], { ...clean, DETOUR_CODE_CACHE: 'off' }],
  'node -e 0': [process.execPath, ['-e', '0'], clean],
  ...(withExtra
    ? {
        'detour -- true (NODE_EXTRA_CA_CERTS)': [cli, ['--no-upstream', '--', 'true'], withExtra],
        'node -e 0 (NODE_EXTRA_CA_CERTS)': [process.execPath, ['-e', '0'], withExtra],
      }
    : {}),
};
const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let i = 0; i < runs; i++) {
  for (const [name, [cmd, args, env]] of Object.entries(variants)) {
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
console.log(`\n${runs} runs each, interleaved; node ${process.version}; 1-min load average ${(await import('node:os')).loadavg()[0].toFixed(2)}.`);
