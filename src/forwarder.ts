// The forwarding core, after Go's httputil.ReverseProxy: policy comes in as data (plan.ts: the list of targets,
// the exhaustion answer), the mechanism is one function. Each target is tried by attempt.ts; a failure before
// the status line becomes a 502/504 (or the next target); a failure after it destroys the client connection, so
// a broken body can never pass for a complete one.
import type http from 'node:http';
import type { Readable, Writable } from 'node:stream';
import { TargetError, toTargetError } from './errors.js';
import { relay } from './relay.js';
import { BULK_BODY_BYTES, bulkBodyStarted } from './youngGeneration.js';
import { exchangeTimings, type AttemptRecord } from './report.js';
import { fallsThrough, type Separator } from './chain.js';
import { stripHopByHop, stripHopByHopRaw, textAnswer } from './headers.js';
import type { ChallengeCredentials } from './challenge.js';
import type { ForwardContext, ForwardPlan } from './plan.js';
import { attempt, attemptOnce, drain, type ClientState, type Outcome, type Responded } from './attempt.js';

/** After an outcome, is the target reached through `via` tried (chain.ts)? */
const triesNext = (o: Outcome, via: Separator | undefined): boolean => fallsThrough(via, 'error' in o ? undefined : (o.res.statusCode ?? 0));

const isNotFound = (o: Outcome): boolean => 'res' in o && (o.res.statusCode === 404 || o.res.statusCode === 410);

function isFailure(o: Outcome): boolean {
  return 'error' in o || isNotFound(o) || (o.res.statusCode ?? 0) >= 500;
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

function errorBody(plan: ForwardPlan, method: string, attempts: readonly AttemptRecord[]): string {
  const lines = attempts.map((a) => `  ${a.target} (${a.url}): ${a.error ? `${a.error.code} ${a.error.message}` : `HTTP ${a.status}`}`);
  return `detour: every target failed for ${method} ${plan.original.href}\n${lines.join('\n')}\n`;
}

/** Forwards one request down the plan's targets and streams the chosen answer back. */
export async function forward(req: http.IncomingMessage, res: http.ServerResponse, plan: ForwardPlan, ctx: ForwardContext): Promise<void> {
  const started = Date.now();
  const begin = performance.now();
  const method = req.method ?? 'GET';
  const attempts: AttemptRecord[] = [];
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
