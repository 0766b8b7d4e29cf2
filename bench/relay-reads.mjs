// The tunnel's read buffer, measured alone: 1 GiB from a TCP source through a bare Node relay (the same onread
// pattern as src/tunnel.ts) to a TCP sink, all on 127.0.0.1. Prints each mode's throughput, the relay's own CPU
// (user + system) and its number of reads.
//
//   node bench/relay-reads.mjs [rounds]      modes: fixed (64 KiB buffer), grow (64 KiB, 1 MiB after 8 full reads)
import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const TOTAL = 1024 * 1024 * 1024;
const self = fileURLToPath(import.meta.url);
const [role, arg] = process.argv.slice(2);

if (role === 'source') {
  const chunk = Buffer.alloc(256 * 1024, 7);
  const server = net.createServer((c) => {
    let sent = 0;
    const pump = () => {
      while (sent < TOTAL) {
        sent += chunk.length;
        if (!c.write(chunk)) return void c.once('drain', pump);
      }
      c.end();
    };
    pump();
  });
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
} else if (role === 'sink') {
  const t0 = process.hrtime.bigint();
  let n = 0;
  const c = net.connect(Number(arg), '127.0.0.1');
  c.on('data', (d) => (n += d.length));
  c.on('end', () => process.send({ n, ms: Number(process.hrtime.bigint() - t0) / 1e6 }, () => process.exit(0)));
} else if (role === 'relay') {
  process.send(await relay(arg), () => process.exit(0));
} else {
  const rounds = Number(role) || 3;
  for (let r = 0; r < rounds; r++) {
    for (const mode of ['fixed', 'grow']) {
      const child = fork(self, ['relay', mode]);
      const m = await new Promise((resolve) => child.once('message', resolve));
      console.log(`${mode.padEnd(5)} ${(TOTAL / 1e6 / (m.ms / 1000)).toFixed(0).padStart(5)} MB/s  relay CPU ${m.cpuMs.toFixed(0).padStart(5)} ms  reads ${m.reads}`);
    }
  }
}

/** One relay run in this process: source → relay → sink, 1 GiB. */
async function relay(mode) {
  const source = fork(self, ['source']);
  const sourcePort = await new Promise((resolve) => source.once('message', resolve));
  let cpuMs = 0;
  let reads = 0;
  const server = net.createServer((client) => {
    const cpu0 = process.cpuUsage();
    let buffer = Buffer.allocUnsafe(64 * 1024);
    let full = 0;
    const target = net.connect({
      port: sourcePort,
      host: '127.0.0.1',
      onread: {
        buffer: mode === 'grow' ? () => buffer : buffer,
        callback: (n, buf) => {
          reads++;
          if (mode === 'grow' && n === 64 * 1024 && buf.length === n && ++full === 8) buffer = Buffer.allocUnsafe(1024 * 1024);
          client.write(buf.subarray(0, n), () => target.resume());
          return client.writableLength === 0;
        },
      },
    });
    target.on('end', () => {
      client.end();
      const u = process.cpuUsage(cpu0);
      cpuMs = (u.user + u.system) / 1000;
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sink = fork(self, ['sink', String(server.address().port)]);
  const { n, ms } = await new Promise((resolve) => sink.once('message', resolve));
  source.kill();
  server.close();
  if (n !== TOTAL) throw new Error(`sink got ${n} bytes of ${TOTAL}`);
  return { ms, cpuMs, reads };
}
