// Keep-alive pools for the targets the forwarder and `detour check` reach: one http and one https Agent whose
// connections come from outbound.ts's dialers (so --connect-to, the upstream proxy and verified TLS apply to
// pooled sockets too), with each socket's dial timings kept for --trace.
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { toTargetError } from './errors.js';
import { dialTcp, dialTls, type OutboundSettings } from './outbound.js';
import type { DialClock } from './report.js';
import { UpstreamPools } from './upstream.js';

/** When each pooled socket was dialed, for the HAR's connect and ssl phases. */
const dialClocks = new WeakMap<Socket, DialClock>();

/** When a pooled socket was dialed (undefined for a socket this pool did not dial). */
export const dialClockOf = (socket: Socket): DialClock | undefined => dialClocks.get(socket);

/** Keep-alive pools per target (the agents key sockets by host, port and TLS name). */
type Create = (o: { host?: string | null; port?: number | string | null }, cb: (err: Error | null, s?: Socket) => void) => undefined;

/**
 * Node's agent counts a socket against maxSockets only once createConnection calls back; our dialer is
 * asynchronous, so a burst of 200 requests would dial 200 connections. A placeholder in the agent's
 * per-target list holds the place while the dial is pending. On failure the agent is nudged to serve a
 * request queued behind the placeholder (removeSocket does that), which would otherwise wait for ever.
 */
function reserving(agent: http.Agent, create: Create): Create {
  const a = agent as unknown as {
    sockets: Record<string, object[] | undefined>;
    totalSocketCount: number;
    removeSocket(s: object, o: object): void;
  };
  return (o, cb) => {
    const key = (o as { _agentKey?: string })._agentKey;
    if (key === undefined) return create(o, cb);
    // Agent.destroy() calls destroy() on every entry of `sockets`, placeholders included.
    const placeholder = { writable: true, destroy: () => undefined };
    (a.sockets[key] ??= []).push(placeholder);
    a.totalSocketCount++;
    return create(o, (err, s) => {
      const list = a.sockets[key];
      const i = list ? list.indexOf(placeholder) : -1;
      if (i >= 0) {
        list!.splice(i, 1);
        a.totalSocketCount--;
        if (!list!.length) delete a.sockets[key];
      }
      cb(err, s);
      if (err) a.removeSocket({ writable: true, destroy: () => undefined }, o);
    });
  };
}

/** Dials a connection to a target, stamping its dial timings for --trace. */
function dial(settings: OutboundSettings, secure: boolean, host: string, port: number): Promise<Socket> {
  // Stamped for --trace: `tcp` when TCP (and any proxy hop) is up and the handshake begins; dialTls builds the TLS
  // context while TCP connects, so the first one (the root store) falls in `connect`, not in `ssl`.
  const clock: DialClock = { start: performance.now() };
  const p: Promise<Socket> = secure ? dialTls(settings, host, port, () => (clock.tcp = performance.now())) : dialTcp(settings, host, port, false);
  return p.then((s) => {
    clock.secure = secure ? performance.now() : undefined;
    dialClocks.set(s, clock);
    return s;
  });
}

/** Idle sockets kept per target; also the bound on replays of one request (see attempt). */
export const MAX_FREE_SOCKETS = 16;

export class TargetAgents {
  readonly http: http.Agent;
  readonly https: https.Agent;
  /** The forwarder's own client's pools, for requests without a body (upstream.ts), on the same dialer. */
  readonly bodiless: UpstreamPools;

  constructor(settings: OutboundSettings) {
    const opts = { keepAlive: true, maxSockets: 64, maxFreeSockets: MAX_FREE_SOCKETS, scheduling: 'lifo' as const, timeout: 30_000 };
    this.http = new http.Agent(opts);
    this.https = new https.Agent(opts);
    // Our own dialers, so --connect-to, the upstream proxy and verified TLS apply to pooled sockets too.
    const create = (secure: boolean): Create => (o, cb) => {
      const host = String(o.host);
      const port = Number(o.port) || (secure ? 443 : 80);
      dial(settings, secure, host, port).then(
        (s) => cb(null, s),
        (e: unknown) => cb(toTargetError(e, `${host}:${port}`)),
      );
      return undefined;
    };
    (this.http as unknown as { createConnection: Create }).createConnection = reserving(this.http, create(false));
    (this.https as unknown as { createConnection: Create }).createConnection = reserving(this.https, create(true));
    this.bodiless = new UpstreamPools((secure, host, port) => dial(settings, secure, host, port), {
      maxSockets: opts.maxSockets,
      maxFreeSockets: opts.maxFreeSockets,
      idleTimeoutMs: opts.timeout,
    });
  }

  destroy(): void {
    this.http.destroy();
    this.https.destroy();
    this.bodiless.destroy();
  }
}
