// Blind tunnels relay the target's bytes through one reused buffer (src/tunnel.ts). These tests drive raw TCP
// targets through detour's proxy port from a child process and check what could go wrong with that: bytes
// of a server that speaks first overtaking the 200, and a slow reader seeing reused memory.
import t, { type Test } from 'tap';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { makeWorld } from './fixtures/detour.js';
import { startConnectProxy } from './fixtures/connectProxy.js';

/** A child that CONNECTs through detour to host:port and prints what it received (bounded by a timer). */
const CLIENT = String.raw`
const net = require('node:net');
const { createHash } = require('node:crypto');
const [host, port, mode] = process.argv.slice(1);
const proxy = new URL(process.env.HTTPS_PROXY);
const auth = Buffer.from(decodeURIComponent(proxy.username) + ':' + decodeURIComponent(proxy.password)).toString('base64');
const s = net.connect(Number(proxy.port), proxy.hostname);
setTimeout(() => { console.log('timeout'); process.exit(3); }, 30000).unref();
s.write('CONNECT ' + host + ':' + port + ' HTTP/1.1\r\nHost: ' + host + ':' + port + '\r\nProxy-Authorization: Basic ' + auth + '\r\n\r\n');
let head = Buffer.alloc(0);
let total = 0;
let tailPause = false;
const hash = createHash('sha256');
s.on('data', (d) => {
  if (mode === 'first') {
    head = Buffer.concat([head, d]);
    const text = head.toString('latin1');
    if (text.includes('banner\n')) { console.log(JSON.stringify(text)); process.exit(0); }
    return;
  }
  if (head !== null) {
    head = Buffer.concat([head, d]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    d = head.subarray(end + 4);
    head = null;
    if (mode === 'bulk-client-first') s.write('GO\n'); // a target that waits for the client, as a TLS server does
  }
  total += d.length;
  hash.update(d);
  // A slow reader: every few chunks, stop reading for a moment so detour's writes back up and its reads pause;
  // near the end, a long stop, so that the target has closed while detour still holds bytes for us.
  if (!tailPause && total > 46 * 1024 * 1024) { tailPause = true; s.pause(); setTimeout(() => s.resume(), 500); }
  else if (total % 7 === 0 || Math.random() < 0.05) { s.pause(); setTimeout(() => s.resume(), 2); }
});
s.on('end', () => { console.log(total + ' ' + hash.digest('hex')); process.exit(0); });
`;

async function rawServer(t: Test, onConnection: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as net.AddressInfo).port;
}

t.test('a target that speaks first: the client gets the 200 before the target’s first bytes', async (t) => {
  const w = await makeWorld(t);
  const port = await rawServer(t, (s) => {
    s.on('error', () => undefined);
    s.write('banner\n');
  });
  const r = await w.detour([...w.flags(), `--connect-to=speaks.test:22:127.0.0.1:${port}`, '--', process.execPath, '-e', CLIENT, 'speaks.test', '22', 'first']);
  t.equal(r.code, 0, r.stderr);
  t.match(JSON.parse(r.stdout.trim()) as string, /^HTTP\/1\.1 200 [^\r]*\r\n\r\nbanner\n$/);
});

// Bytes that differ from chunk to chunk, so that a reused buffer overwritten too early cannot go unnoticed.
const chunks: Buffer[] = [];
for (let i = 0; i < 48 * 16; i++) chunks.push(Buffer.alloc(64 * 1024, createHash('sha512').update(String(i)).digest()));
const body = Buffer.concat(chunks);
const expected = createHash('sha256').update(body).digest('hex');

t.test('a 48 MiB download through a tunnel to a slow reader arrives whole and unaltered', async (t) => {
  const w = await makeWorld(t);
  const port = await rawServer(t, (s) => {
    s.on('error', () => undefined);
    s.end(body);
  });
  const r = await w.detour([...w.flags(), `--connect-to=bulk.test:8443:127.0.0.1:${port}`, '--', process.execPath, '-e', CLIENT, 'bulk.test', '8443', 'bulk'], { timeoutMs: 90_000 });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout.trim(), `${body.length} ${expected}`);
});

t.test('the same through an upstream proxy (piped, not read into the reused buffer): the tail is not dropped', async (t) => {
  const w = await makeWorld(t);
  // The target waits for the client's first bytes (proxy-agent drops whatever a target sends before the client
  // speaks; see README), then sends everything and closes at once: what the slow client has not taken yet must
  // still reach it.
  const port = await rawServer(t, (s) => {
    s.on('error', () => undefined);
    s.once('data', () => s.end(body));
  });
  const upstream = await startConnectProxy(() => ({ host: '127.0.0.1', port }));
  t.teardown(() => upstream.close());
  const flags = w.flags().filter((f) => f !== '--no-upstream');
  const r = await w.detour([...flags, '--upstream', upstream.url, '--', process.execPath, '-e', CLIENT, 'bulk.test', '8443', 'bulk-client-first'], { timeoutMs: 90_000 });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout.trim(), `${body.length} ${expected}`);
  t.ok(upstream.connects.includes('bulk.test:8443'), 'the tunnel went through the upstream proxy');
});
