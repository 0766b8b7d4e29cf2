// How detour itself reaches a target: --connect-to remapping, then either a direct TCP connection or a
// CONNECT/SOCKS hop through the upstream proxy (proxy-agent's agents), then, for https targets, TLS that is
// always verified against the system roots plus --upstream-ca.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import type { IncomingMessage } from 'node:http';
import { redactUrl } from './redact.js';
import { isIpLiteral } from './urls.js';
import { TargetError, toTargetError } from './errors.js';
import { noProxyPattern, splitList } from './patterns.js';
import { launcher } from './launcher.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** curl's --connect-to HOST:PORT:HOST2:PORT2; an empty HOST or PORT matches any. */
export interface ConnectTo {
  readonly from: { host: string; port: number | undefined };
  readonly to: HostPort;
}

/** Where detour's own traffic goes first: nowhere (direct), one fixed proxy, or the parent's variables. */
export type Upstream =
  | { readonly kind: 'none' }
  | { readonly kind: 'fixed'; readonly url: URL }
  | { readonly kind: 'env'; readonly https?: URL; readonly http?: URL; readonly noProxy: string[] };

export interface OutboundSettings {
  readonly connectTo: readonly ConnectTo[];
  readonly upstream: Upstream;
  /** PEM roots for outbound TLS: the system's plus --upstream-ca (read on first use). */
  readonly roots: () => readonly string[];
  /** The same roots, parsed once and on first use: parsing ~150 certificates costs ~50 ms of start-up. */
  readonly tlsContext: () => tls.SecureContext;
  /** Connect (TCP + proxy hop + TLS) timeout. */
  readonly timeoutMs: number;
}

/** Reads the parent's proxy variables once, at start-up; detour never reads the values it gives the child. */
export function upstreamFromEnv(env: NodeJS.ProcessEnv): Upstream {
  const pick = (...names: string[]): URL | undefined => {
    for (const n of names) {
      const v = env[n] ?? env[n.toLowerCase()];
      if (v) {
        try {
          return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `http://${v}`);
        } catch {
          return undefined;
        }
      }
    }
    return undefined;
  };
  const https = pick('HTTPS_PROXY', 'ALL_PROXY');
  const http = pick('HTTP_PROXY', 'ALL_PROXY');
  if (!https && !http) return { kind: 'none' };
  return {
    kind: 'env',
    ...(https ? { https } : {}),
    ...(http ? { http } : {}),
    noProxy: splitList(env.NO_PROXY ?? env.no_proxy),
  };
}

export function describeUpstream(u: Upstream): string {
  if (u.kind === 'none') return 'none';
  if (u.kind === 'fixed') return redactUrl(u.url);
  return [u.https && `https: ${redactUrl(u.https)}`, u.http && `http: ${redactUrl(u.http)}`].filter(Boolean).join(', ');
}


export function applyConnectTo(rules: readonly ConnectTo[], host: string, port: number): HostPort {
  const h = host.toLowerCase();
  for (const r of rules) {
    if ((r.from.host === '' || r.from.host === h) && (r.from.port === undefined || r.from.port === port)) {
      return { host: r.to.host || host, port: r.to.port || port };
    }
  }
  return { host, port };
}

function upstreamFor(u: Upstream, host: string, secure: boolean): URL | undefined {
  if (u.kind === 'none') return undefined;
  if (u.kind === 'fixed') return u.url;
  if (u.noProxy.some((e) => noProxyPattern(e)?.test(host))) return undefined;
  return secure ? u.https : u.http;
}

/** Wraps a pending connection attempt with the connect timeout; a late socket is destroyed. */
function withTimeout(p: Promise<net.Socket>, ms: number, what: string, abandon: () => void): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      abandon(); // stop the OS retrying a connect nobody waits for any more
      reject(new TargetError('E_CONNECT_TIMEOUT', `connect to ${what} timed out after ${ms} ms`));
    }, ms);
    p.then(
      (s) => {
        clearTimeout(timer);
        if (done) s.destroy();
        else resolve(s);
      },
      (e: unknown) => {
        clearTimeout(timer);
        if (!done) reject(e);
      },
    );
  });
}

function directTcp(hp: HostPort, what: string, onread: net.OnReadOpts | undefined): { socket: net.Socket; ready: Promise<net.Socket> } {
  // No Nagle: small requests and TLS records must not wait for the previous segment's ACK.
  const socket = net.connect({ host: hp.host, port: hp.port, noDelay: true, ...(onread && { onread }) });
  const ready = new Promise<net.Socket>((resolve, reject) => {
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (e) => reject(toTargetError(e, what)));
  });
  return { socket, ready };
}

/** One CONNECT (or SOCKS) hop through the upstream proxy, using proxy-agent's agent for that scheme. */
async function viaUpstream(proxy: URL, hp: HostPort, roots: readonly string[]): Promise<net.Socket> {
  const { proxies } = await (launcher.importExternal('proxy-agent') as Promise<typeof import('proxy-agent')>); // loaded only when an upstream is in use
  const scheme = proxy.protocol.replace(/:$/, '') as keyof typeof proxies;
  const loaders = proxies[scheme];
  if (!loaders) throw new TargetError('E_UPSTREAM_PROXY', `unsupported upstream proxy scheme ${proxy.protocol} in ${redactUrl(proxy)}`);
  const AgentClass = await loaders[1]();
  const agent = new AgentClass(proxy.href, { ca: [...roots] });
  // agent-base's connect() wants a request; it only emits and listens on it, so an emitter will do.
  const req = new EventEmitter();
  let status: number | undefined;
  req.on('proxyConnect', (res: IncomingMessage) => (status = res.statusCode));
  let socket: net.Socket;
  try {
    socket = (await agent.connect(req as never, { host: hp.host, port: hp.port, secureEndpoint: false })) as net.Socket;
  } catch (e) {
    throw new TargetError('E_UPSTREAM_PROXY', `upstream proxy ${redactUrl(proxy)} failed: ${(e as Error).message}`, { cause: e });
  }
  if (status !== undefined && status !== 200) {
    socket.destroy();
    throw new TargetError(
      'E_UPSTREAM_PROXY',
      `upstream proxy ${redactUrl(proxy)} answered ${status} to CONNECT ${hp.host}:${hp.port}`,
    );
  }
  req.emit('socket', socket); // lets the agent resume the paused socket
  socket.resume();
  socket.setNoDelay(true);
  return socket;
}

/**
 * A TCP stream to host:port as the parent would reach it (after --connect-to). With `onread`, a direct
 * connection delivers its reads there instead of as 'data' events (see tunnel.ts); a connection through an
 * upstream proxy is made by proxy-agent and cannot, so `rawReads` tells the caller which it got.
 */
export function dialTcp(settings: OutboundSettings, host: string, port: number, secure: boolean, onread?: net.OnReadOpts): Promise<net.Socket & { rawReads?: true }> {
  const hp = applyConnectTo(settings.connectTo, host, port);
  const proxy = upstreamFor(settings.upstream, host, secure);
  const what = hp.host === host && hp.port === port ? `${host}:${port}` : `${host}:${port} (via ${hp.host}:${hp.port})`;
  if (proxy) return withTimeout(viaUpstream(proxy, hp, settings.roots()), settings.timeoutMs, what, () => undefined);
  const direct = directTcp(hp, what, onread);
  if (onread) Object.assign(direct.socket, { rawReads: true as const });
  return withTimeout(direct.ready, settings.timeoutMs, what, () => direct.socket.destroy());
}

/**
 * TLS over dialTcp; the name check uses the original host, never the --connect-to address. `onTcp` is called when
 * TCP (and any upstream proxy hop) is up and the handshake begins (--trace's timings).
 */
export async function dialTls(settings: OutboundSettings, host: string, port: number, onTcp?: () => void): Promise<tls.TLSSocket> {
  const started = Date.now();
  const tcp = dialTcp(settings, host, port, true);
  // The context is made while the TCP handshake is in flight: the run's first one builds Node's root store and
  // adds the roots it lacks (outboundSecureContext: 12–21 ms here, 256 M instructions), a good part of a round
  // trip to a distant mirror.
  let secureContext: tls.SecureContext;
  try {
    secureContext = settings.tlsContext();
  } catch (e) {
    void tcp.then((s) => s.destroy(), () => undefined);
    throw e;
  }
  const raw = await tcp;
  onTcp?.();
  const remaining = Math.max(1, settings.timeoutMs - (Date.now() - started));
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      socket: raw,
      servername: isIpLiteral(host) ? undefined : host,
      host,
      secureContext,
      ALPNProtocols: ['http/1.1'],
      minVersion: 'TLSv1.2',
    } as tls.ConnectionOptions);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new TargetError('E_CONNECT_TIMEOUT', `TLS handshake with ${host}:${port} timed out after ${settings.timeoutMs} ms`));
    }, remaining);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      raw.destroy();
      reject(new TargetError('E_TLS', `TLS failure with ${host}:${port}: ${e.message}`, { cause: e }));
    });
  });
}
