// How a record reads to a person: the -v line and its colours, the words of warnings and the summary (failure
// reasons, what detour did next, byte counts), and which records count as failures. report.ts tells them.
import type { AttemptRecord, ExchangeRecord, Route } from './report.js';

// Colours: only when stderr is a terminal (or FORCE_COLOR asks), never with NO_COLOR.

type Paint = (s: string) => string;
export interface Palette {
  readonly dim: Paint;
  readonly bold: Paint;
  readonly red: Paint;
  readonly green: Paint;
  readonly yellow: Paint;
  readonly cyan: Paint;
  readonly magenta: Paint;
}
const same: Paint = (s) => s;
const PLAIN: Palette = { dim: same, bold: same, red: same, green: same, yellow: same, cyan: same, magenta: same };
const sgr = (on: number, off: number): Paint => (s) => `\x1b[${on}m${s}\x1b[${off}m`;
const ANSI: Palette = { dim: sgr(2, 22), bold: sgr(1, 22), red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39), cyan: sgr(36, 39), magenta: sgr(35, 39) };

export function useColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return !!stream.isTTY && env.TERM !== 'dumb';
}

/** The palette for a stream that does (or does not) take colours (useColour). */
export function palette(colour: boolean): Palette {
  return colour ? ANSI : PLAIN;
}

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A target's failure, as opposed to an answer (a 404/410 is a mirror's normal miss). */
export function targetFailed(a: AttemptRecord): boolean {
  return !!a.error || (a.status ?? 0) >= 500;
}

/**
 * No usable answer: an error (before or after headers), a 5xx, a client gone, or a chain whose last target
 * failed even when the rule's exhaustion answer (the go preset's 404) stood in for it.
 */
export function isFailure(r: ExchangeRecord): boolean {
  if (r.route === 'blocked') return false;
  const last = r.attempts[r.attempts.length - 1];
  return !!r.error || r.status >= 500 || r.status === 0 || (!r.target && !!last && targetFailed(last));
}

export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** What detour did after attempt `i` failed, for the warning line. */
export function nextStep(r: ExchangeRecord, i: number): string {
  const next = r.attempts[i + 1];
  if (next) return `fell back to ${next.target}`;
  const answered = r.target ? `passed its ${r.status} on to the client` : `answered ${r.status} to the client`;
  if (!r.untried) return `no target left: ${answered}`;
  const why = r.untried.via === ',' ? "after ',' only a 404 or 410 moves on" : 'the request body was already sent';
  return `did not try ${r.untried.target} (${why}): ${answered}`;
}

export function failureReason(r: ExchangeRecord): string {
  if (r.error) return r.error;
  const last = r.attempts[r.attempts.length - 1];
  if (last?.error) return `${last.error.code} ${last.error.message}`;
  return `HTTP ${r.status}${last ? ` from ${last.target}` : ''}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function clock(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

const ROUTE_PAINT: Record<Route, keyof Palette> = { mirror: 'green', origin: 'bold', tunnel: 'cyan', direct: 'magenta', blocked: 'yellow' };

function statusPaint(p: Palette, status: number): Paint {
  if (status === 0 || status >= 500) return p.red;
  if (status >= 400) return p.yellow;
  if (status >= 300) return p.cyan;
  return p.green;
}

/**
 * One line per request: start time, method, URL, [route], → the target that answered, status, bytes,
 * duration, then the targets tried when there was more than one, and the error if any.
 *   detour: 14:03:07.412 GET https://registry.npmjs.org/left-pad [mirror] → npmmirror 200 1.2 KiB 35ms (tried a:E_CONNECT → b:200)
 */
export function formatLine(r: ExchangeRecord, p: Palette = PLAIN, now = Date.now()): string {
  const started = r.detail?.startedAt ?? now - r.ms;
  const tried = r.attempts.length > 1 ? ` (tried ${r.attempts.map((a) => `${a.target}:${a.status ?? a.error?.code}`).join(' → ')})` : '';
  const target = r.target ? ` → ${r.target}` : '';
  // A chain that failed behind the rule's exhaustion answer (the go preset's 404) says why too.
  const why = r.error ?? (!r.target && isFailure(r) ? failureReason(r) : undefined);
  const err = why ? ` ${p.red(`! ${why}`)}` : '';
  const route = p[ROUTE_PAINT[r.route]](`[${r.route}]`);
  const status = statusPaint(p, r.status)(String(r.status || '-'));
  return `detour: ${p.dim(clock(started))} ${p.bold(r.method)} ${r.url} ${route}${target} ${status} ${formatBytes(r.bytes)} ${r.ms}ms${p.dim(tried)}${err}`;
}
