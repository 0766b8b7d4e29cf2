// The forwarding core, after Go's httputil.ReverseProxy: policy comes in as data (the list of targets,
// the exhaustion answer), the mechanism is one function. A failure before the status line becomes a
// 502/504 (or the next target); a failure after it destroys the client connection, so a broken body can
// never pass for a complete one.
import { bareHost, portOf } from './urls.js';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { TargetError, toTargetError } from './errors.js';
import { dialClockOf, MAX_FREE_SOCKETS, type TargetAgents } from './agents.js';
import { relay } from './relay.js';
import { BULK_BODY_BYTES, bulkBodyStarted } from './youngGeneration.js';
import { exchangeTimings, type Attempt, type AttemptClock, type Reporter, type Route } from './report.js';
import { fallsThrough, type Separator } from './chain.js';
import { stripHopByHop, stripHopByHopRaw, textAnswer } from './headers.js';
import type { ChallengeCredentials } from './challenge.js';
import type { Answer, UpstreamRequest } from './upstream.js';

export interface PlannedTarget {
  readonly url: URL;
  readonly label: string;
  /** The chain's separator leading to this target (undefined for the first; see chain.ts). */
  readonly via?: Separator;
  /** The team mirror's own credentials (`Basic …`), for this target alone; never logged. */
  readonly authorization?: string;
}

/**
 * A response edit, like ReverseProxy's ModifyResponse: new headers and the transforms the body runs through.
 * Used for canonical metadata (a mirror's own host rewritten back to the origin's); never for artifacts.
 */
export interface ResponseEdit {
  readonly headers: http.OutgoingHttpHeaders;
  readonly transforms: readonly NodeJS.ReadWriteStream[];
}
export type ModifyResponse = (res: Answer, target: PlannedTarget, original: URL, method: string) => ResponseEdit | undefined;

export interface ForwardPlan {
  readonly route: Route;
  /** What the client asked for (absolute URL), for logs and error bodies. */
  readonly original: URL;
  readonly targets: readonly PlannedTarget[];
  /**
   * Status answered when every target failed without a 404/410 to pass on (Go preset: 404, with detour's
   * text). Else the last 404/410 answer of the chain, its own status and body; without it, the last answer or 502/504.
   */
  readonly exhaustedStatus?: number;
  readonly modifyResponse?: ModifyResponse;
  /** 401s detour answers itself with a credential from the challenge's issuer (see answerChallenge). */
  readonly challenge?: ChallengeCredentials;
  /** A write to a host with such a rule: what the user should be told if it is refused for want of credentials. */
  readonly refusedWriteHint?: string;
}

export interface Timeouts {
  /** Connection made and request sent → response headers. */
  readonly firstByteMs: number;
  /** No bytes in either direction for this long while a body streams. */
  readonly idleMs: number;
}

export interface ForwardContext {
  readonly agents: TargetAgents;
  readonly timeouts: Timeouts;
  readonly reporter: Reporter;
}

type Outcome = { res: Answer; upstream: Exchange; clock: AttemptClock } | { error: TargetError; clock: AttemptClock };

/** One request to a target: through http.request when it carries a body, else through upstream.ts's client. */
type Exchange = http.ClientRequest | UpstreamRequest;

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

/** After an outcome, is the target reached through `via` tried (chain.ts)? */
const triesNext = (o: Outcome, via: Separator | undefined): boolean => fallsThrough(via, 'error' in o ? undefined : (o.res.statusCode ?? 0));

type Responded = Extract<Outcome, { res: Answer }>;

const isNotFound = (o: Outcome): boolean => 'res' in o && (o.res.statusCode === 404 || o.res.statusCode === 410);

function isFailure(o: Outcome): boolean {
  return 'error' in o || isNotFound(o) || (o.res.statusCode ?? 0) >= 500;
}

/** Whether the client left, and the upstream request to abort when it does. */
interface ClientState {
  gone: boolean;
  upstream?: Exchange;
}

/** Sends the request to one target and resolves with its response headers or a typed failure. */
function attemptOnce(
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
async function attempt(...args: Parameters<typeof attemptOnce>): Promise<Outcome> {
  const [req, , , body, client] = args;
  for (let replays = 0; ; replays++) {
    const o = await attemptOnce(...args);
    const stale = 'error' in o && o.error.code === 'E_RESET' && o.clock.reused === true && o.clock.headers === undefined;
    if (!stale || replays >= MAX_FREE_SOCKETS || client.gone || body.sent || !REPLAYABLE.has(req.method ?? '')) return o;
  }
}

/**
 * A 401 on a route whose module answers challenges (challenge.ts), from a target that got none of the client's
 * credentials: detour obtains the credential from the issuer the challenge names and asks the same target
 * again. A target on another host than the one the client asked never passes its 401 on: the client would
 * answer the challenge with its credentials for the host it asked (a registry client sends them to the issuer
 * the challenge names) and carry what it got back to the origin. Such a 401 becomes E_AUTH, a failure the chain
 * treats like any other. The asked host's own 401 passes on where the client learns how to authenticate (the
 * module says where: a registry's ping), when the client sent credentials, when its challenge is not one detour
 * answers, and when detour's credential was refused too (a private repository).
 */
async function answerChallenge(
  challenge: ChallengeCredentials,
  first: Responded,
  ...args: Parameters<typeof attemptOnce>
): Promise<Outcome> {
  const [req, t, ctx, body, client, originalHost] = args;
  const crossHost = t.url.host !== originalHost;
  if (!crossHost && (req.headers.authorization || challenge.clientLearns(t.url.pathname))) return first;
  const refused = (o: Outcome, why: string): Outcome => {
    if ('res' in o) drain(o.res, ctx.timeouts.idleMs);
    return { error: new TargetError('E_AUTH', `${t.url.host} ${why}`), clock: o.clock };
  };
  const issuer = challenge.issuerFor(first.res, t.url);
  if (!issuer || body.sent) return crossHost ? refused(first, 'answered 401 with a challenge detour cannot answer') : first;
  drain(first.res, ctx.timeouts.idleMs);
  const got = await challenge.obtain(issuer, t.url, t.authorization, { agents: ctx.agents, timeoutMs: ctx.timeouts.firstByteMs });
  if ('error' in got) return { error: got.error, clock: first.clock };
  const again = await attempt(req, { ...t, authorization: got.authorization }, ctx, body, client, originalHost);
  return crossHost && 'res' in again && again.res.statusCode === 401 ? refused(again, `refused the credential from ${issuer.host} (HTTP 401)`) : again;
}

/** Reads a refused answer to its end so the socket can be reused; one that stalls is dropped instead. */
function drain(res: Answer, ms: number): void {
  const timer = setTimeout(() => res.destroy(), ms);
  res.once('close', () => clearTimeout(timer));
  res.resume();
}

/** A 404/410 answer kept in memory while later targets are tried: its text may be what the user needs to read. */
interface Kept {
  readonly outcome: Responded;
  readonly label: string;
  /** The whole body, or undefined when it was larger than KEEP_LIMIT, failed or stalled. */
  readonly body: Promise<Buffer | undefined>;
}

/** A "not found" text is a line or a page (goproxy.cn's "unknown revision" is ~150 bytes); a bigger one is dropped. */
const KEEP_LIMIT = 64 * 1024;

/** Reads a refused 404/410 answer in the background, bounded in size and time; its socket returns to the pool. */
function keep(outcome: Responded, label: string, ms: number): Kept {
  const { res } = outcome;
  const body = new Promise<Buffer | undefined>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const give = (value: Buffer | undefined) => {
      clearTimeout(timer);
      resolve(value);
    };
    const timer = setTimeout(() => {
      res.destroy();
      give(undefined);
    }, ms);
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= KEEP_LIMIT) chunks.push(c);
    });
    res.once('end', () => give(size <= KEEP_LIMIT ? Buffer.concat(chunks) : undefined));
    res.once('close', () => give(undefined)); // after 'end' this changes nothing (a promise settles once)
    if (res.destroyed) give(undefined); // broken before anyone listened (upstream.ts)
    res.once('error', () => give(undefined));
  });
  return { outcome, label, body };
}

function errorBody(plan: ForwardPlan, method: string, attempts: readonly Attempt[]): string {
  const lines = attempts.map((a) => `  ${a.target} (${a.url}): ${a.error ? `${a.error.code} ${a.error.message}` : `HTTP ${a.status}`}`);
  return `detour: every target failed for ${method} ${plan.original.href}\n${lines.join('\n')}\n`;
}

/** Forwards one request down the plan's targets and streams the chosen answer back. */
export async function forward(req: http.IncomingMessage, res: http.ServerResponse, plan: ForwardPlan, ctx: ForwardContext): Promise<void> {
  const started = Date.now();
  const begin = performance.now();
  const method = req.method ?? 'GET';
  const attempts: Attempt[] = [];
  const body = { sent: false };
  // Cheaper than an AbortController per request (this is the per-request hot path).
  const client: ClientState = { gone: false };
  const onClose = () => {
    if (res.writableFinished) return;
    client.gone = true;
    client.upstream?.destroy(new TargetError('E_RESET', 'client went away'));
  };
  res.on('close', onClose);
  req.pause();

  const finish = (status: number, bytes: number, target?: string, error?: string, answered: Outcome | undefined = target ? last : undefined) =>
    ctx.reporter.record({
      kind: 'exchange',
      method,
      url: plan.original.href,
      route: plan.route,
      ...(target ? { target } : {}),
      attempts,
      status,
      bytes,
      ms: Date.now() - started,
      ...(error ? { error } : {}),
      ...(untried() ?? {}),
      ...(plan.refusedWriteHint && status === 401 && !req.headers.authorization ? { hint: plan.refusedWriteHint } : {}),
      ...(ctx.reporter.wantsDetail
        ? {
            detail: {
              startedAt: started,
              httpVersion: req.httpVersion,
              requestHeaders: req.rawHeaders,
              // The answering target's response, when there was one (never a refused answer of the chain).
              ...(answered && 'res' in answered ? { responseHeaders: answered.res.rawHeaders, statusText: answered.res.statusMessage ?? '' } : {}),
              timings: exchangeTimings(begin, answered && 'res' in answered ? answered.clock : undefined, performance.now()),
            },
          }
        : {}),
    });

  // For the warning line: the chain stopped after a failure with a target left (',' or a body already sent).
  const untried = () => {
    const next = plan.targets[attempts.length];
    return next && last && isFailure(last) ? { untried: { target: next.label, ...(next.via ? { via: next.via } : {}) } } : undefined;
  };

  let last: Outcome | undefined;
  // With an exhaustion answer (the go preset), the last 404/410 of the chain is kept: when every target
  // failed, the client reads that mirror's own text ("unknown revision …"), not detour's.
  let kept: Kept | undefined;
  for (let i = 0; i < plan.targets.length; i++) {
    const t = plan.targets[i]!;
    if (last && (!triesNext(last, t.via) || body.sent)) break;
    if (last && 'res' in last && plan.exhaustedStatus !== undefined && isNotFound(last)) kept = keep(last, plan.targets[i - 1]!.label, ctx.timeouts.firstByteMs);
    else if (last && 'res' in last) drain(last.res, ctx.timeouts.idleMs); // its socket returns to the pool
    last = await attempt(req, t, ctx, body, client, plan.original.host);
    if (plan.challenge && 'res' in last && last.res.statusCode === 401 && !client.gone) {
      last = await answerChallenge(plan.challenge, last, req, t, ctx, body, client, plan.original.host);
    }
    attempts.push(
      'error' in last
        ? { target: t.label, url: t.url.href, error: { code: last.error.code, message: last.error.message } }
        : { target: t.label, url: t.url.href, status: last.res.statusCode ?? 0 },
    );
    if (client.gone) {
      if ('res' in last) last.res.destroy();
      finish(0, 0, t.label, 'client went away');
      return;
    }
  }
  if (!last) throw new Error('forward: empty plan');

  const exhausted = attempts.length === plan.targets.length && isFailure(last);
  // A last answer of 404/410 is streamed below as it is: status and body are that target's own.
  if (exhausted && plan.exhaustedStatus !== undefined && !isNotFound(last)) {
    if ('res' in last) drain(last.res, ctx.timeouts.idleMs);
    const keptBody = await kept?.body;
    if (client.gone) return finish(0, 0, undefined, 'client went away');
    if (kept && keptBody) {
      const { res: answer } = kept.outcome;
      const headers = stripHopByHop(answer.headers);
      headers['content-length'] = keptBody.length;
      res.writeHead(answer.statusCode!, answer.statusMessage, headers);
      res.end(keptBody);
      finish(answer.statusCode!, keptBody.length, kept.label, undefined, kept.outcome);
      return;
    }
    textAnswer(res, plan.exhaustedStatus, errorBody(plan, method, attempts));
    finish(plan.exhaustedStatus, 0);
    return;
  }
  if ('error' in last) {
    const status = last.error.status;
    textAnswer(res, status, errorBody(plan, method, attempts));
    finish(status, 0, undefined, last.error.message);
    return;
  }

  const { res: answer, upstream } = last;
  const chosen = plan.targets[attempts.length - 1]!;
  const label = chosen.label;
  let bytes = 0;
  let bulkEnded: (() => void) | undefined;
  answer.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > BULK_BODY_BYTES) bulkEnded ??= bulkBodyStarted();
  });
  const socket = upstream.socket;
  let idle: TargetError | undefined;
  const onIdle = () => upstream.destroy((idle = new TargetError('E_IDLE_TIMEOUT', `${label} sent nothing for ${ctx.timeouts.idleMs} ms mid-body`)));
  socket?.on('timeout', onIdle);
  const edit = plan.modifyResponse?.(answer, chosen, plan.original, method);
  res.writeHead(answer.statusCode ?? 502, answer.statusMessage, edit?.headers ?? stripHopByHopRaw(answer.rawHeaders));
  const transforms = (edit?.transforms ?? []) as unknown as (Readable & Writable)[];
  relay([answer, ...transforms, res], (err) => {
    bulkEnded?.();
    res.off('close', onClose);
    socket?.off('timeout', onIdle); // the socket may go back to the pool and serve another request
    if (err) {
      // After the status line the only honest signal left is a broken connection.
      res.destroy();
      upstream.destroy();
      // The response only says "aborted"; the idle timer knows why.
      const failure = idle ?? toTargetError(err, label);
      const why = client.gone ? 'client went away' : `${label} failed mid-body: ${failure.code} ${failure.message}`;
      finish(answer.statusCode ?? 0, bytes, label, why);
    } else finish(answer.statusCode ?? 0, bytes, label);
  });
}
