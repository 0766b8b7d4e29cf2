// --trace FILE.har: a HAR 1.2 record of every decrypted or plain-HTTP exchange, and of every tunnel as an
// entry of its own kind. No bodies; credentials and cookies redacted. The file is valid JSON after every
// entry: each one is written over the closing brackets, followed by them again, in one positional write,
// so a run that ends in any way (child crash, signal, detour killed between writes) leaves a loadable file.
import { closeSync, writeSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { ConfigError } from './errors.js';
import { openUserFile } from './userPaths.js';
import { timingsTotal, type ExchangeRecord, type RecordSink, type Timings } from './report.js';

interface NameValue {
  readonly name: string;
  readonly value: string;
}

/** Header values that are secrets: the value is replaced, the auth scheme kept ("Bearer <redacted>"). */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'x-auth-token', 'private-token', 'x-npm-otp']);
export const REDACTED = '<redacted>';

function redactValue(name: string, value: string): string {
  const n = name.toLowerCase();
  if (!SECRET_HEADERS.has(n)) return value;
  if (n.endsWith('authorization')) {
    const scheme = /^([A-Za-z][\w-]*)\s+\S/.exec(value);
    if (scheme) return `${scheme[1]} ${REDACTED}`;
  }
  return REDACTED;
}

export function harHeaders(raw: readonly string[] | undefined): NameValue[] {
  const out: NameValue[] = [];
  if (!raw) return out;
  for (let i = 0; i + 1 < raw.length; i += 2) out.push({ name: raw[i]!, value: redactValue(raw[i]!, raw[i + 1]!) });
  return out;
}

const header = (list: readonly NameValue[], name: string) => list.find((h) => h.name.toLowerCase() === name)?.value;

function queryString(url: string): NameValue[] {
  try {
    return [...new URL(url).searchParams].map(([name, value]) => ({ name, value }));
  } catch {
    return [];
  }
}

/** The attempts' outcomes as HAR-friendly JSON: every target tried, in order. */
function attemptsOf(r: ExchangeRecord) {
  return r.attempts.map((a) => ({ target: a.target, ...(a.url ? { url: a.url } : {}), ...(a.status !== undefined ? { status: a.status } : {}), ...(a.error ? { error: a.error } : {}) }));
}

/** A tunnel has one known duration: the time it was open (receive), or the time spent failing to open it. */
function tunnelTimings(r: ExchangeRecord): Timings {
  const ok = !r.error;
  return { blocked: -1, dns: -1, connect: ok ? -1 : r.ms, ssl: -1, send: 0, wait: 0, receive: ok ? r.ms : 0 };
}

/** One HAR 1.2 entry. URLs arrive already without credentials (the Reporter redacts them for every output). */
export function harEntry(r: ExchangeRecord, now = Date.now()): Record<string, unknown> {
  const d = r.detail;
  const timings: Timings = d?.timings ?? (r.kind === 'tunnel' ? tunnelTimings(r) : { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: r.ms, receive: 0 });
  const started = d?.startedAt ?? now - r.ms;
  const reqHeaders = harHeaders(d?.requestHeaders);
  const resHeaders = harHeaders(d?.responseHeaders);
  const httpVersion = `HTTP/${d?.httpVersion ?? '1.1'}`;
  const reqLength = Number(header(reqHeaders, 'content-length'));
  // The answering attempt: the last one, or (go preset exhaustion) the earlier 404 whose text was kept.
  const tried = r.target ? [...r.attempts].reverse().filter((a) => a.target === r.target) : [];
  const answered = tried.find((a) => a.status === r.status) ?? tried[0];
  return {
    startedDateTime: new Date(started).toISOString(),
    time: timingsTotal(timings),
    request: {
      method: r.method,
      url: r.url,
      httpVersion,
      cookies: [],
      headers: reqHeaders,
      queryString: r.kind === 'tunnel' ? [] : queryString(r.url),
      headersSize: -1,
      bodySize: Number.isFinite(reqLength) ? reqLength : header(reqHeaders, 'transfer-encoding') ? -1 : 0,
    },
    response: {
      status: r.status,
      statusText: d?.statusText ?? (r.status ? (STATUS_CODES[r.status] ?? '') : ''),
      httpVersion,
      cookies: [],
      headers: resHeaders,
      content: {
        size: r.bytes,
        mimeType: header(resHeaders, 'content-type') ?? (d?.responseHeaders || r.kind === 'tunnel' ? 'x-unknown' : 'text/plain; charset=utf-8'),
      },
      redirectURL: header(resHeaders, 'location') ?? '',
      headersSize: -1,
      bodySize: r.bytes,
    },
    cache: {},
    timings,
    _detour: {
      kind: r.kind,
      route: r.route,
      ...(r.target ? { target: r.target } : {}),
      ...(answered?.url ? { targetUrl: answered.url } : {}),
      attempts: attemptsOf(r),
      ...(r.error ? { error: r.error } : {}),
    },
  };
}

const TAIL = '\n]}}\n';

/** Writes the HAR file incrementally; valid after every add(). */
export class HarWriter implements RecordSink {
  private fd: number | undefined;
  private position: number;
  private entries = 0;

  private constructor(
    fd: number,
    private readonly file: string,
    version: string,
  ) {
    this.fd = fd;
    const head = `{"log":{"version":"1.2","creator":{"name":"detour","version":${JSON.stringify(version)}},"pages":[],"entries":[`;
    writeSync(fd, head + TAIL, 0);
    this.position = Buffer.byteLength(head);
  }

  /** Creates (or truncates) FILE, mode 0600: even redacted, a trace names every host the command reached. */
  static open(file: string, version: string): HarWriter {
    // A regular file only: entries are written over the closing brackets, in place.
    const fd = openUserFile(file, 'w', '--trace', true);
    try {
      return new HarWriter(fd, file, version);
    } catch (e) {
      closeSync(fd);
      throw new ConfigError(`--trace ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }

  add(r: ExchangeRecord): void {
    if (this.fd === undefined) return;
    const chunk = `${this.entries ? ',' : ''}\n${JSON.stringify(harEntry(r))}`;
    const buf = Buffer.from(chunk + TAIL);
    try {
      for (let done = 0; done < buf.length; ) done += writeSync(this.fd, buf, done, buf.length - done, this.position + done);
    } catch (e) {
      // A full disk must not take the proxy down with it: stop tracing, say so once.
      process.stderr.write(`detour: --trace ${this.file}: ${(e as Error).message}; tracing stopped\n`);
      this.close();
      return;
    }
    this.position += Buffer.byteLength(chunk);
    this.entries++;
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}
