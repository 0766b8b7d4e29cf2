// The proxy port: loopback only, every request and CONNECT must carry the run's credential, and nothing
// addressed to the proxy itself is served. Decisions go to the router; the work to tunnel / interceptor /
// forwarder. The same port serves the plain-HTTP endpoints ecosystems declare, at `/<token>/<name>/…`: their
// requests carry the run's secret in their path instead of a Proxy-Authorization header.
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { timingSafeEqual } from 'node:crypto';
import type { CertificateAuthority } from './ca.js';
import { forward } from './forwarder.js';
import type { ForwardContext } from './plan.js';
import type { Endpoint } from './ecosystems/types.js';
import { CLIENT_KEEP_ALIVE_MS, Interceptor } from './interceptor.js';
import type { OutboundSettings } from './outbound.js';
import { decideConnect, decideRequest, type Routing } from './router.js';
import { openTunnel } from './tunnel.js';
import { redactUrl } from './redact.js';
import { bareHost, isIpLiteral, portOf } from './urls.js';
import { textAnswer } from './headers.js';

export interface ProxyServerOptions {
  readonly token: string;
  readonly routing: Routing;
  readonly ca: CertificateAuthority;
  readonly outbound: OutboundSettings;
  readonly forwarding: ForwardContext;
  /** Ecosystem endpoints served at /<token>/<name>/…, by name; none: every origin-form request is refused. */
  readonly endpoints?: ReadonlyMap<string, Endpoint>;
  readonly warn: (msg: string) => void;
}

export interface RunningProxy {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Is `host` one of this machine's loopback or wildcard addresses, in any spelling? The URL parser
 * canonicalises IPv4 literals (127.1, 2130706433, 0x7f000001 → 127.0.0.1) and IPv6 ([::ffff:127.0.0.1]).
 */
export function isLoopbackHost(host: string): boolean {
  let h: string;
  try {
    h = new URL(`http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}/`).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return false;
  }
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (!isIpLiteral(h)) return false;
  if (!h.includes(':')) return h.startsWith('127.') || h === '0.0.0.0';
  if (h === '::1' || h === '::') return true;
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
  return !!mapped && parseInt(mapped[1]!, 16) >> 8 === 127;
}

function authorised(header: string | undefined, expected: Buffer): boolean {
  const m = /^Basic\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const got = Buffer.from(m[1]!, 'base64');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

function sameSecret(got: string, expected: Buffer): boolean {
  const b = Buffer.from(got);
  return b.length === expected.length && timingSafeEqual(b, expected);
}

const REALM = 'Basic realm="detour"';

/** A raw HTTP answer on a CONNECT stream. `Connection: close` lets git's retry with credentials work. */
function rawAnswer(socket: Duplex, status: string, extra: string, body: string): void {
  socket.end(`HTTP/1.1 ${status}\r\n${extra}Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}


function parseAuthority(target: string): { host: string; port: number } | undefined {
  // A host name or an IP literal, nothing else: no userinfo, escapes, NULs or punctuation.
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?):(\d{1,5})$/i.exec(target);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, '').toLowerCase(), port };
}

export async function startProxy(opts: ProxyServerOptions): Promise<RunningProxy> {
  const expected = Buffer.from(`detour:${opts.token}`);
  let ownPort = 0;
  const isSelf = (host: string, port: number) => port === ownPort && isLoopbackHost(host);
  const { routing, forwarding } = opts;

  const routeRequest = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    const decision = decideRequest(routing, url, req.method ?? 'GET');
    if (decision.action === 'block') {
      textAnswer(res, 404, `detour: ${decision.reason}\n`);
      forwarding.reporter.record({ kind: 'exchange', method: req.method ?? 'GET', url: url.href, route: 'blocked', attempts: [], status: 404, bytes: 0, ms: 0, error: decision.reason });
      return;
    }
    forward(req, res, decision.plan, forwarding).catch((e: unknown) => {
      opts.warn(`detour: internal error forwarding ${redactUrl(url.href)}: ${(e as Error).stack ?? String(e)}`);
      if (!res.headersSent) textAnswer(res, 502, 'detour: internal error\n');
      else res.destroy();
    });
  };

  const interceptor = new Interceptor(opts.ca, routeRequest, opts.warn);

  const secret = Buffer.from(opts.token);
  const endpoints = opts.endpoints ?? new Map<string, Endpoint>();
  /** An origin-form request under /<token>/<name>/ of an endpoint: served and true; else false (refused). */
  const serveEndpoint = (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    const m = endpoints.size ? /^\/([^/?]+)\/([^/?]+)\/(.*)$/s.exec(req.url ?? '') : null;
    const endpoint = m ? endpoints.get(m[2]!) : undefined;
    if (!m || !endpoint || !sameSecret(m[1]!, secret)) return false;
    const route = endpoint.route(m[3]!);
    if (route.kind === 'unknown') textAnswer(res, 404, `detour: ${route.reason}\n`);
    else if (route.kind === 'answer') textAnswer(res, route.status, '');
    else {
      // The entry's own credentials, as the client sends them over https (never over plain HTTP); the
      // forwarder keeps them for the entry's host and drops them for a mirror on another host.
      // Both header views: the forwarder sends the raw list, the rest of detour reads the object.
      if (route.authorization && !req.headers.authorization) {
        req.headers.authorization = route.authorization;
        req.rawHeaders.push('Authorization', route.authorization);
      }
      routeRequest(req, res, route.url);
    }
    return true;
  };

  // requestTimeout 0: Node's default (300 s) would cut an upload that simply takes long.
  const server = http.createServer({ keepAlive: true, keepAliveTimeout: CLIENT_KEEP_ALIVE_MS, requestTimeout: 0 }, (req, res) => {
    // Node's parser lets "HTTP/0.9" (or 2.x) request lines through; only HTTP/1.x is forwarded.
    if (req.httpVersionMajor !== 1) {
      textAnswer(res, 400, `detour: HTTP/${req.httpVersion} is not supported\n`, { connection: 'close' });
      return;
    }
    if (req.url?.startsWith('/') && serveEndpoint(req, res)) return;
    if (!authorised(req.headers['proxy-authorization'], expected)) {
      textAnswer(res, 407, 'detour: proxy authentication required\n', { 'proxy-authenticate': REALM, connection: 'close' });
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '');
      // Absolute https:// too: some clients (axios among them) send `GET https://…` to an HTTP proxy
      // instead of CONNECT; detour then makes the TLS connection itself, verified as always.
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    } catch {
      textAnswer(res, 400, 'detour: this is a forward proxy; send absolute http(s):// URLs or CONNECT\n', { connection: 'close' });
      return;
    }
    if (isSelf(bareHost(url), portOf(url))) {
      textAnswer(res, 403, 'detour: refusing a request addressed to the proxy itself\n', { connection: 'close' });
      return;
    }
    routeRequest(req, res, url);
  });

  // CONNECT streams leave the server's own bookkeeping: track them so close() ends them too.
  const streams = new Set<Duplex>();
  server.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    streams.add(socket);
    socket.on('close', () => streams.delete(socket));
    socket.on('error', () => socket.destroy());
    if (!authorised(req.headers['proxy-authorization'], expected)) {
      rawAnswer(socket, '407 Proxy Authentication Required', `Proxy-Authenticate: ${REALM}\r\n`, 'detour: proxy authentication required\n');
      return;
    }
    const target = parseAuthority(req.url ?? '');
    if (!target) {
      rawAnswer(socket, '400 Bad Request', '', `detour: bad CONNECT target ${JSON.stringify(req.url)}\n`);
      return;
    }
    if (isSelf(target.host, target.port)) {
      rawAnswer(socket, '403 Forbidden', '', 'detour: refusing a CONNECT to the proxy itself\n');
      return;
    }
    const decision = decideConnect(routing, target.host, target.port);
    if (decision.action === 'intercept' && !isIpLiteral(target.host)) {
      interceptor.accept(socket, head, target.host, target.port);
    } else {
      void openTunnel(socket, head, target.host, target.port, decision.action === 'tunnel' ? decision.route : 'tunnel', opts.outbound, forwarding.reporter);
    }
  });

  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  ownPort = (server.address() as net.AddressInfo).port;

  return {
    port: ownPort,
    close: () =>
      new Promise<void>((resolve) => {
        // Resolve once every CONNECT stream has closed, so their records are in before the summary.
        const closed = [...streams].map((s) => new Promise<void>((done) => s.once('close', () => done())));
        interceptor.close();
        server.close();
        server.closeAllConnections();
        for (const s of streams) s.destroy();
        void Promise.all(closed).then(() => setImmediate(resolve));
      }),
  };
}
