// Large bodies through the rewrite (src/youngGeneration.ts switches V8's scavenge trigger while any body of more
// than 1 MiB streams): several at once arrive byte for byte, one cut mid-body fails alone and leaves the others
// and later requests whole, and detour's peak RSS over a 64 MiB download stays near its RSS at rest.
//
//   npx tap test/bulk.test.ts
import t from 'tap';
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { CLI, makeWorld } from './fixtures/detour.js';
import { isolatedEnv, run } from './fixtures/run.js';

const MiB = 1024 * 1024;

/** 1 MiB + 7 bytes of pseudo-random data: repeated, no chunk boundary ever lines up with the pattern's. */
const PATTERN = (() => {
  const b = Buffer.alloc(MiB + 7);
  let x = 0x2545f491;
  for (let i = 0; i < b.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
})();

/** The first `size` bytes of the repeated pattern. */
function content(size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let at = 0; at < size; at += PATTERN.length) PATTERN.copy(out, at, 0, Math.min(PATTERN.length, size - at));
  return out;
}

/** Writes `size` bytes of the pattern with backpressure; `cutAt` destroys the connection after that many. */
function stream(res: ServerResponse, size: number, cutAt = Infinity): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
  let sent = 0;
  const pump = () => {
    while (sent < size) {
      if (sent >= cutAt) return void res.socket?.destroy();
      const n = Math.min(64 * 1024, size - sent);
      const at = sent % PATTERN.length;
      const piece = at + n <= PATTERN.length ? PATTERN.subarray(at, at + n) : Buffer.concat([PATTERN.subarray(at), PATTERN.subarray(0, at + n - PATTERN.length)]);
      sent += n;
      if (!res.write(piece)) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

t.test('four large bodies at once arrive byte for byte; one cut mid-body fails alone; later requests are whole', async (t) => {
  const w = await makeWorld(t);
  const sizes: Record<string, number> = { a: 3 * MiB + 5, b: 5 * MiB, c: 2 * MiB + 123, cut: 8 * MiB };
  await w.https('files.mirror.test', (req, res) => {
    const name = req.url!.slice(1);
    if (name === 'small') return void res.writeHead(200, { 'content-length': 2 }).end('ok');
    stream(res, sizes[name]!, name === 'cut' ? 3 * MiB : Infinity);
  });
  // Each download prints "<name> <exit status> <sha256 of what arrived>"; then one small request on the same rule.
  const get = (name: string) => `(curl -sS --max-time 60 https://files.example.test/${name} | sha256sum | cut -d' ' -f1 > ${name}.sum; st=\${PIPESTATUS[0]}; echo "${name} $st $(cat ${name}.sum)")`;
  const script = `cd "$(mktemp -d)"; ${['a', 'b', 'c', 'cut'].map((n) => `${get(n)} &`).join(' ')} wait; curl -sS --max-time 30 https://files.example.test/small`;
  const r = await w.detour([...w.flags(), '-m', 'files.example.test=https://files.mirror.test', '--', 'bash', '-c', script], { timeoutMs: 90_000 });
  const lines = Object.fromEntries(r.stdout.trim().split('\n').slice(0, 4).map((l) => { const [n, code, sum] = l.split(' '); return [n, { code, sum }]; }));
  for (const name of ['a', 'b', 'c']) {
    t.equal(lines[name]?.code, '0', `${name}: curl succeeded`);
    t.equal(lines[name]?.sum, sha256(content(sizes[name]!)), `${name}: ${sizes[name]} bytes intact`);
  }
  t.not(lines.cut?.code, '0', 'the body cut mid-way fails for its client');
  t.match(r.stdout, /\nok$/, 'a request after them is answered whole');
});

t.test('a 64 MiB download through the rewrite: detour’s peak RSS stays within 18 MiB of its RSS at rest', async (t) => {
  const w = await makeWorld(t);
  const size = 64 * MiB;
  await w.https('files.mirror.test', (req, res) => (req.url === '/small' ? void res.writeHead(200, { 'content-length': 2 }).end('ok') : stream(res, size)));
  // At rest: once detour has served a first (small) exchange, so the TLS contexts and agents exist.
  const script = [
    'curl -sS --max-time 30 -o /dev/null https://files.example.test/small',
    'grep VmRSS /proc/$PPID/status',
    `curl -sS --max-time 60 -o /dev/null -w '%{size_download}\\n' https://files.example.test/big`,
    'grep VmHWM /proc/$PPID/status',
  ].join('; ');
  // Run as users run it: under tap every node process spawned gets tap's own module hooks in NODE_OPTIONS
  // (@tapjs/processinfo), which add ~18 MiB at rest and ~40 MiB over this download, whatever detour does.
  const r = await run('/bin/sh', ['-c', 'unset NODE_OPTIONS; exec "$@"', 'sh', process.execPath, CLI, ...w.flags(), '-m', 'files.example.test=https://files.mirror.test', '--', 'bash', '-c', script], {
    env: isolatedEnv({ HOME: w.home, TMPDIR: w.tmp }),
    cwd: w.work,
    timeoutMs: 90_000,
  });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`\\n${size}\\n`), 'the whole body arrived');
  const rest = Number(/VmRSS:\s+(\d+) kB/.exec(r.stdout)?.[1]);
  const peak = Number(/VmHWM:\s+(\d+) kB/.exec(r.stdout)?.[1]);
  // Measured 2026-12-02: 59 MiB at rest, +7 MiB at the peak; +21 MiB before youngGeneration.ts's scavenge settings.
  t.ok(rest > 0 && peak - rest < 18 * 1024, `detour at rest ${(rest / 1024).toFixed(1)} MiB, peak ${(peak / 1024).toFixed(1)} MiB (+${((peak - rest) / 1024).toFixed(1)})`);
});
