// An HTTP/1.1 response parser for the forwarder's own client (upstream.ts): the status line and header
// fields of RFC 9112, and the body framed as §6.3 says (no body for HEAD, 1xx, 204 and 304; chunked;
// Content-Length; else up to the close). Strict where a lenient reading could desynchronise a kept-alive
// connection: a malformed head, a folded line, a bad or conflicting Content-Length or a bad chunk size is a
// ResponseParseError and the connection is dropped. Pure: bytes in, events out; no I/O, no timers.
// Against llhttp (Node's parser; test/responseParser.test.ts compares the two): also refused here are a line before
// the status line, versions other than 1.0/1.1, statuses below 100, 101, control characters in the reason, lengths
// past 15 digits; not reused are connections naming both close and keep-alive, and HTTP/1.0 with Transfer-Encoding.
// Accepted here but not by llhttp: identical Content-Length values repeated, Transfer-Encoding with Content-Length
// (Transfer-Encoding frames; the connection is not reused), BWS before a chunk extension, extensions not parsed.
// Why not Node's own: http.request costs ~95 µs of CPU per small request over the raw TLS exchange's ~36 µs
// (2,000 1 KiB GETs on 16 kept connections, 2026-12-02); its parser (llhttp) is reachable only through Node's
// undocumented internals.

export class ResponseParseError extends Error {
  override readonly name = 'ResponseParseError';
}

export interface ResponseHead {
  readonly statusCode: number;
  readonly statusMessage: string;
  /** '1.1' or '1.0'. */
  readonly httpVersion: string;
  /** [name, value, name, value, …] as received: names' case kept, values without surrounding spaces. */
  readonly rawHeaders: string[];
}

export interface ParserEvents {
  /** The final head (1xx interim answers such as 103 Early Hints are read and skipped). */
  head(head: ResponseHead): void;
  /** Body bytes, without chunked framing. */
  data(chunk: Buffer): void;
  /** The body is complete. */
  end(): void;
}

/** The largest head accepted, as Node's http client (its --max-http-header-size default). */
export const MAX_HEAD_BYTES = 16 * 1024;
/** A chunk-size line with extensions; trailers count against MAX_HEAD_BYTES. */
const MAX_CHUNK_LINE = 4096;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible characters, spaces, tabs and obs-text; no CR, LF, NUL or other controls.
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
const STATUS_LINE = /^HTTP\/1\.([01]) ([0-9]{3})(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?$/;
// Leading zeros are allowed (llhttp allows them); up to 12 significant digits (2^48) keep the count exact.
const CHUNK_LINE = /^0*([0-9A-Fa-f]{1,12})(?:[ \t]*;.*)?$/s;
const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

type Stage =
  | { kind: 'head' }
  | { kind: 'length'; left: number }
  | { kind: 'chunkSize' }
  | { kind: 'chunkData'; left: number }
  | { kind: 'chunkEnd' } // the CRLF after a chunk's data
  | { kind: 'trailers' }
  | { kind: 'close' } // the body runs until the connection closes
  | { kind: 'done' };

export class ResponseParser {
  private stage: Stage = { kind: 'head' };
  /** Bytes of an unfinished head, chunk-size line or trailer section. */
  private pending: Buffer | undefined;
  private keepAlive = false;
  private excess = false;
  /** A byte has arrived (an interim answer counts: after one, EOF is not "before any response"). */
  private started = false;

  constructor(
    private readonly method: string,
    private readonly events: ParserEvents,
  ) {}

  /** The response is complete (end() was called). */
  get done(): boolean {
    return this.stage.kind === 'done';
  }

  /**
   * After end(): whether the connection may carry another request. HTTP/1.1 without `Connection: close`,
   * a body framed by length or chunks, and no byte after the response.
   */
  get reusable(): boolean {
    return this.stage.kind === 'done' && this.keepAlive && !this.excess;
  }

  /** Bytes from the connection. Throws ResponseParseError on a malformed response. */
  execute(chunk: Buffer): void {
    let buf = chunk;
    if (buf.length > 0) this.started = true;
    while (buf.length > 0) {
      const stage = this.stage;
      switch (stage.kind) {
        case 'head':
        case 'chunkSize':
        case 'trailers':
        case 'chunkEnd': {
          const rest = this.line(stage, buf);
          if (rest === undefined) return;
          buf = rest;
          break;
        }
        case 'length':
        case 'chunkData':
          buf = this.body(stage, buf);
          if (stage.left > 0) break;
          if (stage.kind === 'length') this.finishBody();
          else this.stage = { kind: 'chunkEnd' };
          break;
        case 'close':
          this.events.data(buf);
          return;
        case 'done':
          // A byte after a complete response: the server is out of step with us; the connection is not reused.
          this.excess = true;
          return;
      }
    }
  }

  /** Passes on up to `stage.left` body bytes of `buf`; returns the bytes after them. */
  private body(stage: { left: number }, buf: Buffer): Buffer {
    const n = Math.min(stage.left, buf.length);
    stage.left -= n;
    this.events.data(n === buf.length ? buf : buf.subarray(0, n));
    return buf.subarray(n);
  }

  /** The connection ended (EOF). Completes a body read up to the close; throws if the response is unfinished. */
  finish(): void {
    if (this.stage.kind === 'close') {
      this.keepAlive = false;
      this.finishBody();
      return;
    }
    if (this.stage.kind !== 'done') throw new ResponseParseError(!this.started ? 'connection closed before any response' : 'connection closed before the end of the response');
  }

  /**
   * The head, a chunk-size line, the CRLF after a chunk or the trailers: waits for its end, then acts on it.
   * Returns the bytes after it, or undefined when more are needed.
   */
  private line(stage: Stage, buf: Buffer): Buffer | undefined {
    const data = this.pending ? Buffer.concat([this.pending, buf]) : buf;
    const headLike = stage.kind === 'head' || stage.kind === 'trailers';
    // The trailers' end is the first empty line: at once when there are none.
    const end =
      stage.kind === 'trailers' && data.length >= 2 && data[0] === 13 && data[1] === 10
        ? 0
        : data.indexOf(headLike ? HEAD_END : CRLF);
    if (stage.kind === 'chunkEnd') {
      if (data[0] !== 13 || (data.length >= 2 && data[1] !== 10)) throw new ResponseParseError('chunk data not followed by CRLF');
    } else if (end < 0 && hasBareLf(data, data.length)) {
      // A line ended by LF alone: refused at once, not after 16 KiB or at EOF. (In a complete section it fails the
      // checks below, and is then named the same way: see the catch.)
      this.bareLf(stage);
    }
    if (end < 0) {
      // The limits hold on the section before its terminator, however the bytes arrive: up to 3 bytes of an
      // unfinished CRLFCRLF (1 of a CRLF) may already be here.
      if (data.length > (headLike ? MAX_HEAD_BYTES + 3 : MAX_CHUNK_LINE + 1)) this.tooLong(stage);
      this.pending = data === buf ? Buffer.from(buf) : data; // a copy: the caller's buffer may be reused
      return undefined;
    }
    this.pending = undefined;
    try {
      if (end > (headLike ? MAX_HEAD_BYTES : MAX_CHUNK_LINE)) this.tooLong(stage);
      const text = data.toString('latin1', 0, end);
      switch (stage.kind) {
        case 'head':
          this.onHead(text);
          break;
        case 'chunkSize':
          this.onChunkSize(text);
          break;
        case 'chunkEnd':
          if (end !== 0) throw new ResponseParseError('chunk data not followed by CRLF');
          this.stage = { kind: 'chunkSize' };
          break;
        case 'trailers':
          if (end > 0) parseFields(text.split('\r\n'), 0); // checked, then dropped: the client gets the body alone
          this.finishBody();
          break;
      }
    } catch (err) {
      // A bare LF always fails the checks (status line, field name and value, chunk line); scanned for only then,
      // to name the error as it is named when the bytes arrive in pieces.
      if (err instanceof ResponseParseError && stage.kind !== 'chunkEnd' && hasBareLf(data, end)) this.bareLf(stage);
      throw err;
    }
    return data.subarray(end + (headLike && end > 0 ? 4 : 2));
  }

  private bareLf(stage: Stage): never {
    throw new ResponseParseError(`bare LF in the ${stage.kind === 'head' ? 'response head' : stage.kind === 'trailers' ? 'trailers' : 'chunk-size line'}`);
  }

  private tooLong(stage: Stage): never {
    throw new ResponseParseError(stage.kind === 'head' ? 'response head too large' : stage.kind === 'trailers' ? 'trailers too large' : 'chunk-size line too long');
  }

  private onHead(text: string): void {
    const lines = text.split('\r\n');
    const status = STATUS_LINE.exec(lines[0]!);
    if (!status) throw new ResponseParseError(`not an HTTP/1.x status line: ${JSON.stringify(lines[0]!.slice(0, 80))}`);
    const statusCode = Number(status[2]);
    const rawHeaders = parseFields(lines, 1);
    if (statusCode < 200) {
      if (statusCode === 101) throw new ResponseParseError('101 Switching Protocols to a request that asked for no upgrade');
      if (statusCode < 100) throw new ResponseParseError(`status ${statusCode}`);
      return; // interim answer (100, 103): the final one follows on this connection
    }
    const http11 = status[1] === '1';
    let length: number | undefined;
    let chunked = false;
    let transferEncoding = false;
    let close = false;
    let keepAliveToken = false;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!;
      const value = rawHeaders[i + 1]!;
      if (name.length === 14 && name.toLowerCase() === 'content-length') {
        // "5, 5" (a list a proxy merged) is 5; "5, 6" or two different fields is an error (RFC 9110 §8.6).
        for (const part of value.split(',')) {
          const v = trimOws(part);
          if (!/^[0-9]{1,15}$/.test(v)) throw new ResponseParseError(`bad Content-Length: ${JSON.stringify(value.slice(0, 40))}`);
          if (length !== undefined && length !== Number(v)) throw new ResponseParseError('conflicting Content-Length values');
          length = Number(v);
        }
      } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
        transferEncoding = true;
        const codings = value.toLowerCase().split(',');
        // Only the last coding frames the body (RFC 9112 §6.3): chunked must be last to be the framing.
        chunked = trimOws(codings[codings.length - 1]!) === 'chunked';
      } else if (name.length === 10 && name.toLowerCase() === 'connection') {
        for (const token of value.toLowerCase().split(',')) {
          const t = trimOws(token);
          // `close` wins over `keep-alive` in any order (llhttp keeps an HTTP/1.0 connection that names both).
          if (t === 'close') close = true;
          else if (t === 'keep-alive') keepAliveToken = true;
        }
      }
    }
    if (!http11 && !keepAliveToken) close = true;
    // Both framings at once is how responses get smuggled: Transfer-Encoding wins and the connection ends with it.
    if (transferEncoding && length !== undefined) close = true;
    // Transfer-Encoding in HTTP/1.0: the framing is suspect and the connection ends with it (RFC 9112 §6.1).
    if (transferEncoding && !http11) close = true;
    this.keepAlive = !close;
    this.events.head({ statusCode, statusMessage: status[3] ?? '', httpVersion: http11 ? '1.1' : '1.0', rawHeaders });
    if (this.method === 'HEAD' || statusCode === 204 || statusCode === 304) this.finishBody();
    else if (transferEncoding) this.stage = chunked ? { kind: 'chunkSize' } : { kind: 'close' };
    else if (length !== undefined) {
      if (length === 0) this.finishBody();
      else this.stage = { kind: 'length', left: length };
    } else this.stage = { kind: 'close' };
    if (this.stage.kind === 'close') this.keepAlive = false;
  }

  private onChunkSize(text: string): void {
    // chunk-size [ chunk-ext ] (RFC 9112 §7.1.1): hex digits, then nothing or BWS ";" …; the extensions are not
    // read, but a control character in them (a bare CR, a NUL) is refused as llhttp refuses it.
    const m = CHUNK_LINE.exec(text);
    if (!m) throw new ResponseParseError(`bad chunk size: ${JSON.stringify(text.slice(0, 40))}`);
    if (BAD_VALUE.test(text)) throw new ResponseParseError('control character in a chunk extension');
    const n = parseInt(m[1]!, 16);
    this.stage = n === 0 ? { kind: 'trailers' } : { kind: 'chunkData', left: n };
  }

  private finishBody(): void {
    this.stage = { kind: 'done' };
    this.events.end();
  }
}

/** Header or trailer lines from `from` on, as a raw [name, value, …] list. */
function parseFields(lines: readonly string[], from: number): string[] {
  const raw: string[] = [];
  for (let i = from; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      if (line[0] === ' ' || line[0] === '\t') throw new ResponseParseError('folded header line (obs-fold)');
      throw new ResponseParseError(`malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
    }
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new ResponseParseError(`bad header name: ${JSON.stringify(name.slice(0, 80))}`);
    const value = trimOws(line.slice(colon + 1));
    if (BAD_VALUE.test(value)) throw new ResponseParseError(`control character in header ${name}`);
    raw.push(name, value);
  }
  return raw;
}

/** Without the optional whitespace around a field value (spaces and tabs only: 0xA0 is obs-text, not space). */
function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** Whether buf[0, end) holds a LF that does not end a CRLF. */
function hasBareLf(buf: Buffer, end: number): boolean {
  for (let i = buf.indexOf(10); i !== -1 && i < end; i = buf.indexOf(10, i + 1)) if (i === 0 || buf[i - 1] !== 13) return true;
  return false;
}
