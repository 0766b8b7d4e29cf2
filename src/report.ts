// What happened, told once: every exchange and tunnel becomes one record that feeds the -v line,
// the --log-file JSON line, the --trace HAR entry and the exit summary alike (reportFormat.ts: how a record reads).
import type { Logger } from 'pino';
import type { FailureCode } from './errors.js';
import { redactUrl } from './redact.js';
import { failureReason, formatBytes, formatLine, hostOf, isFailure, nextStep, palette, plural, targetFailed, type Palette } from './reportFormat.js';

/** mirror: sent down a rule's chain; origin: unchanged, no rule applied; tunnel: blind CONNECT;
 *  direct: a --direct (private) host or path; blocked: answered locally (privacy guard, refusals). */
export type Route = 'mirror' | 'origin' | 'tunnel' | 'direct' | 'blocked';

/** One target tried for an exchange, as the record and the trace keep it (attempt.ts makes the try itself). */
export interface AttemptRecord {
  readonly target: string;
  readonly url?: string;
  readonly status?: number;
  readonly error?: { code: FailureCode; message: string };
}

/**
 * HAR 1.2 phases in milliseconds; -1 where a phase does not apply (connect and ssl on a reused keep-alive
 * socket, dns always: name resolution is inside connect). As HAR says, `ssl` is also counted in `connect`.
 * blocked: before the answering target was tried (earlier targets of the chain, waiting for a pooled socket).
 */
export interface Timings {
  readonly blocked: number;
  readonly dns: number;
  readonly connect: number;
  readonly ssl: number;
  readonly send: number;
  readonly wait: number;
  readonly receive: number;
}

/** Monotonic instants (performance.now()) of one new connection, stamped by the dialer. */
export interface DialClock {
  readonly start: number;
  /** TCP (and any upstream proxy hop) done, TLS not begun. */
  tcp?: number;
  /** TLS handshake done. */
  secure?: number;
}

/** Monotonic instants of one attempt, filled in by the forwarder as they happen. */
export interface AttemptClock {
  readonly start: number;
  socket?: number;
  reused?: boolean;
  dial?: DialClock;
  /** Request fully handed to the socket. */
  sent?: number;
  /** Response headers received. */
  headers?: number;
}

/** What the HAR trace needs beyond the summary fields; never logged, never kept in memory. */
export interface ExchangeDetail {
  /** Epoch ms when detour received the request. */
  readonly startedAt: number;
  readonly httpVersion: string;
  /** Raw header lists as received: name, value, name, value… (the request's as the client sent it). */
  readonly requestHeaders: readonly string[];
  /** The answering target's response headers; absent when detour answered itself. */
  readonly responseHeaders?: readonly string[];
  readonly statusText?: string;
  readonly timings: Timings;
}

export interface ExchangeRecord {
  readonly kind: 'exchange' | 'tunnel';
  readonly method: string;
  readonly url: string;
  readonly route: Route;
  /** The target that answered (label), if any. */
  readonly target?: string;
  readonly attempts: readonly AttemptRecord[];
  readonly status: number;
  readonly bytes: number;
  readonly ms: number;
  /** Failure after headers, or a tunnel that failed to open. */
  readonly error?: string;
  readonly detail?: ExchangeDetail;
  /** The chain's next target when it stopped before it after a failure: after ',' only a 404/410 moves on,
   *  and a request whose body was sent is not retried. Read by the warning line, not logged. */
  readonly untried?: { readonly target: string; readonly via?: ',' | '|' };
  /** A line for the user about this answer (a write refused for want of credentials), warned once per run. */
  readonly hint?: string;
}

/** Where a record goes besides the -v line and the log (the HAR writer). */
export interface RecordSink {
  add(r: ExchangeRecord): void;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/**
 * HAR timings from the instants of the answering attempt (`clock`), between `begin` (request received) and
 * `end` (response streamed, or given up). The phases always add up to end - begin: each instant is forced
 * into order first. Without an answering attempt (detour answered itself), all the time is `wait`.
 */
export function exchangeTimings(begin: number, clock: AttemptClock | undefined, end: number): Timings {
  if (!clock || clock.socket === undefined || clock.headers === undefined) {
    return { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: round(Math.max(0, end - begin)), receive: 0 };
  }
  const fresh = !clock.reused;
  let at = begin;
  const next = (t: number) => (at = Math.min(Math.max(t, at), Math.max(end, at)));
  const t0 = at;
  const dial = fresh ? next(clock.dial?.start ?? clock.start) : undefined;
  const socket = next(clock.socket);
  const sent = next(Math.min(clock.sent ?? clock.headers, clock.headers));
  const headers = next(clock.headers);
  const done = next(end);
  const connect = dial === undefined ? -1 : round(socket - dial);
  const d = clock.dial;
  const ssl = fresh && d?.tcp !== undefined && d.secure !== undefined ? Math.min(round(Math.max(0, d.secure - d.tcp)), connect) : -1;
  return {
    blocked: round((dial ?? socket) - t0),
    dns: -1,
    connect,
    ssl,
    send: round(sent - socket),
    wait: round(headers - sent),
    receive: round(done - headers),
  };
}

/** Total of a HAR entry: every non-negative phase except ssl, which HAR counts inside connect. */
export function timingsTotal(t: Timings): number {
  return round([t.blocked, t.dns, t.connect, t.send, t.wait, t.receive].filter((n) => n >= 0).reduce((a, b) => a + b, 0));
}

/** A warning: one line for stderr, and the fields for the --log-file event. */
export type WarnSink = (line: string, fields: Record<string, unknown>) => void;

export interface ReporterOptions {
  readonly colour?: boolean;
  readonly sinks?: readonly RecordSink[];
  /** Where a failing chain target is named, once per target per run (with or without -v). */
  readonly warn?: WarnSink;
}

/** A chain target that failed: how often, and with which codes (`E_CONNECT`, `HTTP 503`). */
interface Broken {
  count: number;
  readonly why: Set<string>;
}

interface Counted {
  count: number;
  bytes: number;
}

const SLOWEST = 3;
const FAILURES_LISTED = 5;

export class Reporter {
  private bytes = 0;
  private readonly counts: Partial<Record<Route, number>> = {};
  private fallbacks = 0;
  private failures = 0;
  private readonly mirrored = new Map<string, number>();
  private readonly tunnels = new Map<string, Counted>();
  private readonly fallbackReasons = new Map<string, number>();
  private readonly failed: string[] = [];
  private readonly slowest: ExchangeRecord[] = [];
  private readonly broken = new Map<string, Broken>();
  private readonly hinted = new Set<string>();
  private readonly paint: Palette;
  private readonly sinks: readonly RecordSink[];
  private readonly warn: WarnSink | undefined;

  constructor(
    private readonly verbose: boolean,
    private readonly log: Logger | undefined,
    private readonly stderr: (line: string) => void,
    opts: ReporterOptions = {},
  ) {
    this.paint = palette(!!opts.colour);
    this.sinks = opts.sinks ?? [];
    this.warn = opts.warn;
  }

  /**
   * Whether records need their `detail` (raw headers, HAR timings): only the trace and the log read it, and
   * building it for every request cost a small request ~5% of detour's CPU for nothing (the forwarder asks).
   */
  get wantsDetail(): boolean {
    return this.sinks.length > 0 || this.log !== undefined;
  }

  record(raw: ExchangeRecord): void {
    // Copied only when a URL held credentials: this runs for every request.
    const url = redactUrl(raw.url);
    let attempts = raw.attempts;
    for (let i = 0; i < attempts.length; i++) {
      const a = attempts[i]!;
      const clean = a.url === undefined ? a.url : redactUrl(a.url);
      if (clean === a.url) continue;
      if (attempts === raw.attempts) attempts = [...attempts];
      (attempts as AttemptRecord[])[i] = { ...a, url: clean };
    }
    const r: ExchangeRecord = url === raw.url && attempts === raw.attempts ? raw : { ...raw, url, attempts };
    for (const s of this.sinks) s.add(r);
    this.count(r);
    if (this.log) {
      const { detail, untried: _, hint: __, ...brief } = r;
      this.log.info({ event: r.kind, ...brief, ...(detail ? { timings: detail.timings } : {}) }, `${r.method} ${r.url}`);
    }
    if (this.verbose) this.stderr(formatLine(r, this.paint));
    const hint = r.hint;
    this.noteBroken(r);
    if (hint && !this.hinted.has(hint)) {
      this.hinted.add(hint);
      this.warn?.(`detour: warning: ${hostOf(r.url)} refused ${r.method} without credentials (HTTP 401): ${hint}`, { request: r.url, status: r.status });
    }
  }

  /**
   * A chain target that failed (connect, TLS, timeout, 5xx) is named on stderr the first time, with what
   * detour did next, so a dead mirror never hides behind the client's own "502"; later failures of the same
   * target are only counted, for the summary. A 404/410 is a mirror's normal miss, not a warning.
   */
  private noteBroken(r: ExchangeRecord): void {
    if (r.route !== 'mirror') return; // other routes have no chain: the client sees the origin's own answer
    // Status 0: the client went away; the attempt cut short by that is not the target's failure.
    const attempts = r.status === 0 ? r.attempts.slice(0, -1) : r.attempts;
    attempts.forEach((a, i) => {
      if (!targetFailed(a)) return;
      const name = a.target === 'origin' ? `origin ${hostOf(a.url ?? r.url)}` : `mirror ${a.target}`;
      const why = a.error ? a.error.code : `HTTP ${a.status}`;
      const seen = this.broken.get(name);
      if (seen) {
        seen.count++;
        seen.why.add(why);
        return;
      }
      this.broken.set(name, { count: 1, why: new Set([why]) });
      const detail = a.error ? `${a.error.code} ${a.error.message}` : `HTTP ${a.status}`;
      const line = `detour: warning: ${name} failed (${detail}); ${nextStep(r, i)}`;
      this.warn?.(line, { target: a.target, ...(a.url ? { url: a.url } : {}), ...(a.error ? { code: a.error.code } : { status: a.status }), request: r.url });
    });
  }

  private count(r: ExchangeRecord): void {
    this.bytes += r.bytes;
    // Each request is counted once: a failure as a failure only, a rule's `origin` target as origin.
    const failed = isFailure(r);
    const counted = outcomeRoute(r);
    if (!failed) this.counts[counted] = (this.counts[counted] ?? 0) + 1;
    if (!failed && counted === 'mirror' && r.target) this.mirrored.set(r.target, (this.mirrored.get(r.target) ?? 0) + 1);
    if (r.kind === 'tunnel') {
      const key = r.route === 'direct' ? `${r.url} (direct)` : r.url;
      const c = this.tunnels.get(key) ?? { count: 0, bytes: 0 };
      c.count++;
      c.bytes += r.bytes;
      this.tunnels.set(key, c);
    }
    // Every attempt but the last was fallen through.
    for (const a of r.attempts.slice(0, -1)) {
      this.fallbacks++;
      const why = `${a.target} ${a.error ? a.error.code : `HTTP ${a.status}`}`;
      this.fallbackReasons.set(why, (this.fallbackReasons.get(why) ?? 0) + 1);
    }
    if (failed) {
      this.failures++;
      if (this.failed.length < FAILURES_LISTED) this.failed.push(`${r.method} ${r.url} → ${r.status || '-'}: ${failureReason(r)}`);
    }
    // Kept sorted, and touched only by a record that belongs in it (this runs for every request).
    const slowest = this.slowest;
    if (r.kind === 'exchange' && r.route !== 'blocked' && (slowest.length < SLOWEST || r.ms > slowest[slowest.length - 1]!.ms)) {
      this.slowest.push(r.detail ? { ...r, detail: undefined } : r); // the summary needs no headers
      this.slowest.sort((a, b) => b.ms - a.ms);
      this.slowest.length = Math.min(this.slowest.length, SLOWEST);
    }
  }

  summary(): string {
    const p = this.paint;
    const total = Object.values(this.counts).reduce((a, b) => a + b, 0) + this.failures;
    const failures = plural(this.failures, 'failure');
    const lines = [
      `detour: ${p.bold(plural(total, 'request'))}, ${this.counts.mirror ?? 0} mirrored, ${this.counts.tunnel ?? 0} tunneled, ` +
        `${this.counts.direct ?? 0} direct, ${this.counts.origin ?? 0} to origin, ${this.counts.blocked ?? 0} blocked, ` +
        `${plural(this.fallbacks, 'fallback')}, ${this.failures ? p.red(failures) : failures}, ${formatBytes(this.bytes)}`,
    ];
    const list = <T>(m: Map<string, T>, show: (v: T) => string) => [...m].map(([k, v]) => `${k} ${show(v)}`).join(', ');
    const detail = (label: string, text: string) => text && lines.push(`detour:   ${p.dim(label.padEnd(9))} ${text}`);
    detail('mirrored', list(this.mirrored, String));
    detail('tunnels', list(this.tunnels, (c) => `${c.count} (${formatBytes(c.bytes)})`));
    detail('fallbacks', list(this.fallbackReasons, String));
    detail('broken', list(this.broken, (b) => `${b.count} (${[...b.why].join(', ')})`));
    for (const f of this.failed) detail('failed', p.red(f));
    if (this.failures > this.failed.length) detail('failed', `… and ${this.failures - this.failed.length} more`);
    detail('slowest', this.slowest.map((r) => `${r.ms}ms ${r.method} ${r.url}`).join(' · '));
    return lines.join('\n');
  }
}

/** The route a request is counted under: a mirror rule answered by its `origin` target went to the origin. */
function outcomeRoute(r: ExchangeRecord): Route {
  return r.route === 'mirror' && r.target === 'origin' ? 'origin' : r.route;
}
