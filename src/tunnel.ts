// Blind tunnels: bytes both ways, never decrypted. Used for --direct hosts and every host without a rule.
//
// Downloads dominate, so the target's bytes are read into one 64 KiB buffer per tunnel and written straight
// to the client, where 'data' events would allocate a fresh buffer for every read: 512 MiB through a bare
// relay went from ~850 to ~1,000 MB/s here (`npm run bench` gives detour's own figures). The buffer is
// reused only once the client has taken the bytes: a write the kernel did not take at once pauses reading
// until that write completes. A tunnel that has filled the buffer eight times (a download) moves to 1 MiB:
// 1 GiB through a bare relay (`node bench/relay-reads.mjs`) took ~16,400 reads and 0.93–1.06 s of the relay's
// CPU with 64 KiB, ~1,100 reads and 0.81–0.85 s with the larger buffer (2026-12-03); other tunnels keep 64 KiB.
// test/tunnel.test.ts's 48 MiB download crosses the switch (checked once with a log line) and checks every byte.
import type { OnReadOpts, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { toTargetError } from './errors.js';
import { dialTcp, type OutboundSettings } from './outbound.js';
import type { Reporter } from './report.js';

const SMALL_READ = 64 * 1024;
const LARGE_READ = 1024 * 1024;
const FULL_READS_BEFORE_GROWING = 8;

export async function openTunnel(
  client: Duplex,
  head: Buffer,
  host: string,
  port: number,
  route: 'tunnel' | 'direct',
  settings: OutboundSettings,
  reporter: Reporter,
): Promise<void> {
  const started = Date.now();
  const url = `${host}:${port}`;
  // The tunnel's one record: on a failed dial, or when the tunnel closes.
  const report = (status: number, total: number, error?: string) =>
    reporter.record({ kind: 'tunnel', method: 'CONNECT', url, route, attempts: [], status, bytes: total, ms: Date.now() - started, ...(error !== undefined ? { error } : {}) });
  let clientError: Error | undefined;
  client.on('error', (e) => (clientError = e));
  let bytes = 0;
  let target: Socket & { rawReads?: true };
  const resumeTarget = () => target.resume();
  // No read can come before the 200 below is written: dialTcp resolves in the same tick as 'connect', before
  // the socket's first read (test/tunnel.test.ts checks the order with a target that speaks first).
  let buffer = Buffer.allocUnsafe(SMALL_READ);
  let fullReads = 0;
  const onread: OnReadOpts = {
    buffer: () => buffer, // asked for again after every read
    callback: (n, buf) => {
      bytes += n;
      if (n === SMALL_READ && buf.length === SMALL_READ && ++fullReads === FULL_READS_BEFORE_GROWING) buffer = Buffer.allocUnsafe(LARGE_READ);
      client.write(buf.subarray(0, n), resumeTarget);
      return client.writableLength === 0; // false: pause until the write above has released the buffer
    },
  };
  try {
    target = await dialTcp(settings, host, port, true, onread);
  } catch (e) {
    const err = toTargetError(e, url);
    const body = `detour: cannot open a tunnel to ${url}: ${err.message}\n`;
    if (!client.destroyed) {
      client.end(
        `HTTP/1.1 ${err.status} ${err.status === 504 ? 'Gateway Timeout' : 'Bad Gateway'}\r\n` +
          `Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    report(err.status, 0, err.message);
    return;
  }
  if (client.destroyed || clientError) {
    target.destroy();
    return;
  }
  client.on('data', (c: Buffer) => (bytes += c.length));
  let reported = false;
  // Either side closing for good ends the other: no half-dead tunnels left behind.
  const finish = () => {
    target.destroy();
    client.destroy();
    if (reported) return;
    reported = true;
    report(200, bytes);
  };
  target.on('error', () => undefined); // 'close' follows and ends both sides
  // A target that closed cleanly leaves the client what is still queued for it: destroying the client at once
  // would drop that tail (only the piped path can have one; the reused buffer is read only when none is left).
  target.on('close', (hadError: boolean) => {
    if (hadError || client.destroyed || client.writableLength === 0) return finish();
    client.end();
    client.once('finish', finish);
  });
  client.on('close', finish);
  client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (head.length) target.write(head);
  if (target.rawReads) target.on('end', () => client.end());
  else {
    target.on('data', (c: Buffer) => (bytes += c.length));
    target.pipe(client);
  }
  client.pipe(target);
}
