// TLS termination for hosts with a mirror rule: the client's CONNECT is answered 200, then the stream is
// wrapped as a TLS server with a leaf for that host (signed by the run's CA) and handed to an in-process
// HTTP server whose requests go through the router like plain-HTTP ones.
import http from 'node:http';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { CertificateAuthority } from './ca.js';
import { textAnswer } from './headers.js';

const HANDSHAKE_TIMEOUT_MS = 30_000;

/**
 * How long detour keeps a client's idle keep-alive connection (here and on the proxy port). Node's default, 5 s
 * (closed at 6 s), is shorter than clients keep theirs: Go's Transport 90 s; Python's urllib3 and a Node agent
 * without a `timeout`, for ever. A client that writes its next request as detour closes gets a reset it cannot
 * tell from a failure, and Node's agent does not retry (measured: a Node client stalled 7 s between two
 * requests got "socket hang up"). Longer than Go's 90 s; clients that read the Keep-Alive hint (undici, Node
 * agents with a timeout) close theirs a second before detour does.
 */
export const CLIENT_KEEP_ALIVE_MS = 120_000;

export type InterceptedHandler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => void;

export class Interceptor {
  private readonly inner: http.Server;
  private readonly hostOf = new WeakMap<object, string>();
  private readonly warned = new Set<string>();

  constructor(
    private readonly ca: CertificateAuthority,
    handler: InterceptedHandler,
    private readonly warn: (msg: string) => void,
  ) {
    this.inner = http.createServer({ keepAlive: true, keepAliveTimeout: CLIENT_KEEP_ALIVE_MS, requestTimeout: 0 }, (req, res) => {
      const authority = this.hostOf.get(req.socket) ?? req.headers.host ?? '';
      let url: URL | undefined;
      try {
        // Inside a tunnel only origin-form targets ("/path") make sense; "*" or absolute forms do not.
        if (req.url?.startsWith('/')) url = new URL(`https://${authority}${req.url}`);
      } catch {
        url = undefined;
      }
      if (!url) {
        textAnswer(res, 400, `detour: bad request target ${JSON.stringify(req.url)}\n`, { connection: 'close' });
        return;
      }
      handler(req, res, url);
    });
    this.inner.on('clientError', (_err, socket) => socket.destroy());
  }

  /**
   * Takes over a CONNECT stream already authorised by the proxy server. The TLS socket wraps the stream at
   * once (bytes the client sends early must not sit in a buffer TLS never reads); the certificate is chosen
   * in the SNI callback, which may wait for the leaf key.
   */
  accept(client: Duplex, head: Buffer, host: string, port: number): void {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) client.unshift(head);
    const secure = new tls.TLSSocket(client as never, {
      isServer: true,
      ALPNProtocols: ['http/1.1'],
      SNICallback: (_servername, cb) =>
        this.ca.contextFor(host).then(
          (ctx) => cb(null, ctx),
          (e: Error) => cb(e),
        ),
    } as tls.TLSSocketOptions);
    this.hostOf.set(secure, port === 443 ? host : `${host}:${port}`);
    // A client that never finishes its handshake must not hold the socket for ever.
    const handshake = setTimeout(() => secure.destroy(), HANDSHAKE_TIMEOUT_MS);
    secure.once('secure', () => clearTimeout(handshake));
    secure.once('close', () => clearTimeout(handshake));
    secure.on('error', (e: NodeJS.ErrnoException) => {
      // A client that rejects our leaf ignores the trust variables detour set: say so once per host.
      if (/alert|certificate|unknown ca/i.test(e.message) && !this.warned.has(host)) {
        this.warned.add(host);
        this.warn(`detour: the client rejected detour's certificate for ${host} (${e.message.trim()}); does it read SSL_CERT_FILE or the other trust variables?`);
      }
      client.destroy();
    });
    this.inner.emit('connection', secure);
  }

  close(): void {
    this.inner.close();
    this.inner.closeAllConnections();
  }
}
