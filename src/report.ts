// What happened, told once: every exchange and tunnel becomes one record that feeds the -v line,
// the --log-file JSON line and the exit summary alike.
import type { Logger } from 'pino';
import type { FailureCode } from './errors.js';

/** mirror: sent down a rule's chain; origin: unchanged, no rule applied; tunnel: blind CONNECT;
 *  direct: a --direct (private) host or path; blocked: answered locally (privacy guard, refusals). */
export type Route = 'mirror' | 'origin' | 'tunnel' | 'direct' | 'blocked';

export interface Attempt {
  readonly target: string;
  readonly url?: string;
  readonly status?: number;
  readonly error?: { code: FailureCode; message: string };
}

export interface ExchangeRecord {
  readonly kind: 'exchange' | 'tunnel';
  readonly method: string;
  readonly url: string;
  readonly route: Route;
  /** The target that answered (label), if any. */
  readonly target?: string;
  readonly attempts: readonly Attempt[];
  readonly status: number;
  readonly bytes: number;
  readonly ms: number;
  /** Failure after headers, or a tunnel that failed to open. */
  readonly error?: string;
}

export class Reporter {
  readonly records: ExchangeRecord[] = [];
  private bytes = 0;

  constructor(
    private readonly verbose: boolean,
    private readonly log: Logger | undefined,
    private readonly stderr: (line: string) => void,
  ) {}

  record(r: ExchangeRecord): void {
    this.bytes += r.bytes;
    // Keep a bounded sample for the summary; counts are kept in full by the fields below.
    this.counts[r.route] = (this.counts[r.route] ?? 0) + 1;
    if (r.attempts.length > 1) this.fallbacks += r.attempts.length - 1;
    if (r.error || r.status >= 500 || r.status === 0) this.failures++;
    if (this.records.length < 10000) this.records.push(r);
    this.log?.info({ event: r.kind, ...r }, `${r.method} ${r.url}`);
    if (this.verbose) this.stderr(formatLine(r));
  }

  private readonly counts: Partial<Record<Route, number>> = {};
  private fallbacks = 0;
  private failures = 0;

  summary(): string {
    const total = Object.values(this.counts).reduce((a, b) => a + b, 0);
    return (
      `detour: ${total} requests, ${this.counts.mirror ?? 0} mirrored, ${this.counts.tunnel ?? 0} tunneled, ` +
      `${this.counts.direct ?? 0} direct, ${this.counts.origin ?? 0} to origin, ${this.fallbacks} fallbacks, ` +
      `${this.failures} failures, ${formatBytes(this.bytes)}`
    );
  }
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatLine(r: ExchangeRecord): string {
  const tried = r.attempts.length > 1 ? ` (tried ${r.attempts.map((a) => `${a.target}:${a.status ?? a.error?.code}`).join(' → ')})` : '';
  const target = r.target ? ` → ${r.target}` : '';
  const err = r.error ? ` ! ${r.error}` : '';
  return `detour: ${r.method} ${r.url} [${r.route}]${target} ${r.status || '-'} ${formatBytes(r.bytes)} ${r.ms}ms${tried}${err}`;
}
