// Blind tunnels: bytes both ways, never decrypted. Used for --direct hosts and every host without a rule.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { toTargetError } from './errors.js';
import { dialTcp, type OutboundSettings } from './outbound.js';
import type { Reporter } from './report.js';

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
  let clientError: Error | undefined;
  client.on('error', (e) => (clientError = e));
  let target: Socket;
  try {
    target = await dialTcp(settings, host, port, true);
  } catch (e) {
    const err = toTargetError(e, url);
    const body = `detour: cannot open a tunnel to ${url}: ${err.message}\n`;
    if (!client.destroyed) {
      client.end(
        `HTTP/1.1 ${err.status} ${err.status === 504 ? 'Gateway Timeout' : 'Bad Gateway'}\r\n` +
          `Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    reporter.record({ kind: 'tunnel', method: 'CONNECT', url, route, attempts: [], status: err.status, bytes: 0, ms: Date.now() - started, error: err.message });
    return;
  }
  if (client.destroyed || clientError) {
    target.destroy();
    return;
  }
  let bytes = 0;
  target.on('data', (c: Buffer) => (bytes += c.length));
  client.on('data', (c: Buffer) => (bytes += c.length));
  let reported = false;
  // Either side closing for good ends the other: no half-dead tunnels left behind.
  const finish = () => {
    target.destroy();
    client.destroy();
    if (reported) return;
    reported = true;
    reporter.record({ kind: 'tunnel', method: 'CONNECT', url, route, attempts: [], status: 200, bytes, ms: Date.now() - started });
  };
  target.on('error', () => undefined); // 'close' follows and ends both sides
  target.on('close', finish);
  client.on('close', finish);
  client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (head.length) target.write(head);
  target.pipe(client);
  client.pipe(target);
}
