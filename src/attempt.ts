// One request to one target, after the forwarder chose it: the target's headers (the client's credentials stay
// with the host it asked), the send through upstream.ts's client (no body) or http.request (a body to stream),
// the first-byte and idle timers, and the replay a keep-alive pool needs. Resolves with the target's response
// headers or a typed failure; never answers the client (forwarder.ts does).
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { bareHost, portOf } from './urls.js';
import { TargetError, toTargetError } from './errors.js';
import { dialClockOf, MAX_FREE_SOCKETS } from './agents.js';
import type { AttemptClock } from './report.js';
import { stripHopByHopRaw } from './headers.js';
import type { ForwardContext, PlannedTarget } from './plan.js';
import type { Answer, UpstreamRequest } from './upstream.js';

export type Outcome = { res: Answer; upstream: Exchange; clock: AttemptClock } | { error: TargetError; clock: AttemptClock };

/** One request to a target: through http.request when it carries a body, else through upstream.ts's client. */
export type Exchange = http.ClientRequest | UpstreamRequest;

/** Whether the client's request has a body to stream: a Transfer-Encoding, or a Content-Length above 0 (the first one). */
function hasBody(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') return true;
    if (name.length === 14 && name.toLowerCase() === 'content-length') return Number(raw[i + 1]) > 0;
  }
  return false;
}

/**
 * The request's headers for a target, from the client's raw list: hop-by-hop ones dropped, Host the target's.
 * The client's credentials are for the host it asked (npm's registry token, git's Basic auth): never handed to a
 * mirror on another host, as curl and Go drop them on a cross-host redirect. A team mirror's credentials from
 * its target URL go to that target and no other.
 */
function targetHeaders(raw: readonly string[], target: URL, crossHost: boolean, authorization: string | undefined): string[] {
  const headers = stripHopByHopRaw(
    raw,
    (name) => name === 'host' || ((crossHost || authorization !== undefined) && name === 'authorization') || (crossHost && name === 'cookie'),
  );
  headers.unshift('Host', target.host);
  if (authorization !== undefined) headers.push('Authorization', authorization);
  return headers;
}

export type Responded = Extract<Outcome, { res: Answer }>;

/** Whether the client left, and the upstream request to abort when it does. */
export interface ClientState {
  gone: boolean;
  upstream?: Exchange;
}

/** Sends the request to one target and resolves with its response headers or a typed failure. */
export function attemptOnce(
  req: http.IncomingMessage,
  planned: PlannedTarget,
  ctx: ForwardContext,
  body: { sent: boolean },
  client: ClientState,
  originalHost: string,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const target = planned.url;
    const headers = targetHeaders(req.rawHeaders, target, target.host !== originalHost, planned.authorization || undefined);
    const secure = target.protocol === 'https:';
    const withBody = hasBody(req.rawHeaders);
    const options = { method: req.method ?? 'GET', host: bareHost(target), port: portOf(target), path: target.pathname + target.search, headers };
    const upstream: Exchange = withBody
      ? (secure ? https : http).request({ ...options, agent: secure ? ctx.agents.https : ctx.agents.http })
      : ctx.agents.bodiless.request({ ...options, secure });
    client.upstream = upstream;
    if (client.gone) upstream.destroy(new TargetError('E_RESET', 'client went away'));
    const clock: AttemptClock = { start: performance.now() };
    let settled = false;
    const settle = (o: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(firstByte);
      resolve(o);
    };
    let firstByte: NodeJS.Timeout | undefined;
    upstream.on('socket', (socket) => {
      clock.socket = performance.now();
      clock.reused = upstream.reusedSocket;
      clock.dial = dialClockOf(socket as Socket);
      socket.setTimeout(ctx.timeouts.idleMs);
      if (withBody) {
        body.sent = true;
        req.pipe(upstream as http.ClientRequest);
      }
    });
    // First byte is counted from the end of the request: an upload may take as long as it takes (a stalled
    // one is the idle timeout's business).
    upstream.on('finish', () => {
      clock.sent = performance.now();
      if (settled) return;
      firstByte = setTimeout(() => {
        const e = new TargetError('E_FIRST_BYTE_TIMEOUT', `no response from ${target.host} within ${ctx.timeouts.firstByteMs} ms`);
        upstream.destroy(e);
        settle({ error: e, clock });
      }, ctx.timeouts.firstByteMs);
    });
    upstream.on('timeout', () => {
      // Nothing moved on the socket for idleMs while the request was still being sent: a stalled upload.
      // Once it is sent, waiting for the answer is the first-byte timer's business.
      if (settled || clock.sent !== undefined) return;
      const e = new TargetError('E_IDLE_TIMEOUT', `${target.host} stalled for ${ctx.timeouts.idleMs} ms before answering`);
      upstream.destroy(e);
      settle({ error: e, clock });
    });
    upstream.on('response', (res) => {
      clock.headers = performance.now();
      settle({ res, upstream, clock });
    });
    upstream.on('error', (e) => settle({ error: toTargetError(e, target.host), clock }));
    // A request without a body is sent as soon as it has a connection (upstream.ts: it seeks one now).
    if (!withBody) upstream.end();
  });
}

/** Methods that may be sent again when the connection closed before any answer (RFC 9110 §9.2.2, as Go's Transport). */
const REPLAYABLE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * attemptOnce, plus the retry a keep-alive pool needs. A target closes an idle connection after its own
 * keep-alive time (Node's servers 5 s, nginx 75 s); a request written onto it as it closes is reset before any
 * answer. That is the pool's race, not the target's failure (measured: a 7–12 s stall of detour or of the mirror
 * between two requests made the next one a 502 E_RESET): a replayable request without a body goes again, on the
 * next pooled socket or a new connection, as Go's Transport, curl and browsers do. A failure on a new connection,
 * after the response headers, or of a request whose body was streamed is the target's. Each replay uses up one
 * pooled socket (the failed one is destroyed), so the pool's size bounds the replays.
 */
export async function attempt(...args: Parameters<typeof attemptOnce>): Promise<Outcome> {
  const [req, , , body, client] = args;
  for (let replays = 0; ; replays++) {
    const o = await attemptOnce(...args);
    const stale = 'error' in o && o.error.code === 'E_RESET' && o.clock.reused === true && o.clock.headers === undefined;
    if (!stale || replays >= MAX_FREE_SOCKETS || client.gone || body.sent || !REPLAYABLE.has(req.method ?? '')) return o;
  }
}

/** Reads a refused answer to its end so the socket can be reused; one that stalls is dropped instead. */
export function drain(res: Answer, ms: number): void {
  const timer = setTimeout(() => res.destroy(), ms);
  res.once('close', () => clearTimeout(timer));
  res.resume();
}

