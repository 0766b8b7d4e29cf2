// ResponseParser against Node's own parser (llhttp, through the undocumented _http_common.HTTPParser, test-only):
// the same heads, bodies, completion and keep-alive for valid responses; the same result however the bytes are
// split; ResponseParseError (and nothing else) for malformed ones, with what llhttp does noted; a seeded fuzz.
import t, { type Test } from 'tap';
import { createRequire } from 'node:module';
import { ResponseParseError, ResponseParser, MAX_HEAD_BYTES, type ResponseHead } from '../src/responseParser.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const { HTTPParser } = require('_http_common') as { HTTPParser: any };

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

// ---------------------------------------------------------------------------------------------------------------
// The two parsers behind one shape.

interface Outcome {
  head: ResponseHead | undefined;
  body: string; // latin1
  done: boolean;
  reusable: boolean;
  error: string | undefined;
}

/** Ours: `pieces` in turn, then EOF unless `eof` is false. Anything thrown but ResponseParseError escapes. */
function ours(pieces: readonly Buffer[], method = 'GET', eof = true): Outcome {
  let head: ResponseHead | undefined;
  const body: Buffer[] = [];
  let ends = 0;
  const p = new ResponseParser(method, {
    head(h) {
      if (head) throw new Error('head() twice');
      head = h;
    },
    data(chunk) {
      if (!head || ends) throw new Error('data() outside head..end');
      if (chunk.length === 0) throw new Error('empty data()');
      body.push(Buffer.from(chunk)); // a copy: the parser may hand out views of the caller's buffer
    },
    end() {
      if (!head || ends++) throw new Error('end() without head, or twice');
    },
  });
  let error: string | undefined;
  try {
    for (const piece of pieces) p.execute(piece);
    if (eof) p.finish();
  } catch (err) {
    if (!(err instanceof ResponseParseError)) throw err;
    error = err.message;
  }
  if (p.done !== (ends === 1)) throw new Error('done disagrees with end()');
  return { head, body: Buffer.concat(body).toString('latin1'), done: p.done, reusable: p.reusable, error };
}

interface LlOutcome {
  head: ResponseHead | undefined;
  body: string;
  done: boolean;
  error: string | undefined;
  /** llhttp's keep-alive decision at the end of the message, where it is defined (see keepAliveAtEnd). */
  keepAlive?: boolean | undefined;
}

/**
 * Node's parser driven as _http_client.js drives it: onHeadersComplete returns 1 (skip the body) for HEAD and for
 * 1xx interim answers, which it reads and passes over. The first final (>= 200) message is reported.
 */
function llhttpRun(input: Buffer, method: string, eof: boolean): { msgs: Array<LlOutcome & { status: number }>; error: string | undefined; errorCode: string | undefined } {
  const parser = new HTTPParser();
  parser.initialize(HTTPParser.RESPONSE, {}, 0, HTTPParser.kLenientNone);
  const msgs: Array<LlOutcome & { status: number; chunks: Buffer[] }> = [];
  let batched: string[] = [];
  parser[HTTPParser.kOnHeaders] = (headers: string[]) => void batched.push(...headers); // > 32 fields come in batches
  parser[HTTPParser.kOnHeadersComplete] = (major: number, minor: number, headers: string[] | undefined, _m: unknown, _u: unknown, statusCode: number, statusMessage: string) => {
    const rawHeaders = headers ?? batched;
    batched = [];
    msgs.push({ status: statusCode, head: { statusCode, statusMessage, httpVersion: `${major}.${minor}`, rawHeaders }, body: '', chunks: [], done: false, error: undefined });
    return method === 'HEAD' || (statusCode >= 100 && statusCode < 200 && statusCode !== 101) ? 1 : 0;
  };
  parser[HTTPParser.kOnBody] = (chunk: Buffer) => void msgs[msgs.length - 1]!.chunks.push(Buffer.from(chunk));
  parser[HTTPParser.kOnMessageComplete] = () => void (msgs[msgs.length - 1]!.done = true);
  let err: (Error & { code?: string; reason?: string }) | undefined;
  const r = parser.execute(input);
  if (r instanceof Error) err = r;
  else if (eof) {
    const f = parser.finish();
    if (f instanceof Error) err = f;
  }
  parser.close?.();
  for (const m of msgs) m.body = Buffer.concat(m.chunks).toString('latin1');
  return { msgs, error: err && `${err.code}: ${err.reason}`, errorCode: err?.code };
}

const PROBE = b('HTTP/1.1 204 No Content\r\n\r\n');

function llhttp(input: Buffer, method = 'GET'): LlOutcome {
  const run = llhttpRun(input, method, true);
  const final = run.msgs.find((m) => m.status >= 200);
  const out: LlOutcome = final
    ? { head: final.head, body: final.body, done: final.done, error: final.done ? undefined : run.error }
    : { head: undefined, body: '', done: false, error: run.error ?? 'no final response' };
  out.keepAlive = keepAliveAtEnd(input, method);
  return out;
}

/**
 * llhttp's should_keep_alive at message end is not exposed (onHeadersComplete's argument is computed before HEAD's
 * skip-body flag is set), so it is probed: a second response after the first is parsed when llhttp keeps the
 * connection, and is "Data after `Connection: close`" when it does not. Undefined for a message that needs EOF.
 */
function keepAliveAtEnd(input: Buffer, method: string): boolean | undefined {
  const run = llhttpRun(Buffer.concat([input, PROBE]), method, false);
  const i = run.msgs.findIndex((m) => m.status >= 200);
  if (i < 0 || !run.msgs[i]!.done) return undefined;
  if (run.msgs.length > i + 1 && run.msgs[i + 1]!.status === 204 && run.msgs[i + 1]!.done) return true;
  if (run.errorCode === 'HPE_CLOSED_CONNECTION') return false;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// The corpus of valid responses.

interface Case {
  name: string;
  input: string; // latin1
  method?: string;
}

const crlf = (...lines: string[]): string => lines.join('\r\n');
const filler = (n: number): string => Array.from({ length: n }, (_, i) => String.fromCharCode(32 + ((i * 7) % 224))).join(''); // every byte 32..255
const bodyBytes = (n: number): string => Array.from({ length: n }, (_, i) => String.fromCharCode((i * 31 + 7) & 255)).join(''); // every byte 0..255

const typicalHeaders = [
  'Date: Wed, 02 Dec 2026 19:00:00 GMT', 'Content-Type: application/json', 'Connection: keep-alive',
  'Cache-Control: public, max-age=300', 'ETag: "abc123"', 'Vary: Accept-Encoding, Accept', 'Server: registry',
];
const kib = bodyBytes(1024);
const typical = crlf('HTTP/1.1 200 OK', ...typicalHeaders, `Content-Length: ${kib.length}`, '', kib);

const chunkedBig = (): string => {
  let s = crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', '');
  const data = bodyBytes(300 * 1024);
  for (let at = 0, n = 1; at < data.length; n = n * 3 + 1) {
    const part = data.slice(at, at + Math.min(n, 64 * 1024));
    s += `${part.length.toString(16)}\r\n${part}\r\n`;
    at += part.length;
  }
  return s + '0\r\n\r\n';
};

const corpus: Case[] = [
  { name: 'typical: 200, 8 headers, 1 KiB body, Content-Length', input: typical },
  { name: 'Content-Length: 0', input: crlf('HTTP/1.1 200 OK', 'Content-Length: 0', '', '') },
  { name: 'status line only, close-delimited', input: crlf('HTTP/1.1 200 OK', '', 'until the close') },
  { name: 'close-delimited with headers', input: crlf('HTTP/1.1 200 OK', 'Content-Type: text/plain', '', 'body\r\n\r\nmore') },
  { name: 'chunked, extensions and trailers', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', 'Trailer: X-Checksum', '', '5;name=value', 'hello', '6;a;b="q s";c=d', ' world', 'A', '0123456789', '0;last', 'X-Checksum: abc', 'X-Other: 1', '', '') },
  { name: 'chunked, no trailers, uppercase and lowercase hex, leading zeros', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', '00a', 'abcdefghij', 'B', 'ABCDEFGHIJK', '0000', '', '') },
  { name: 'Transfer-Encoding: gzip, chunked (chunked is the framing)', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: gzip, chunked', '', '3', '\x1f\x8b\x08', '0', '', '') },
  { name: 'Transfer-Encoding: chunked, gzip (not the framing: up to the close)', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked, gzip', '', '3', 'abc', '0', '', '') },
  { name: 'two Transfer-Encoding lines, chunked last', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: gzip', 'Transfer-Encoding: chunked', '', '3', 'abc', '0', '', '') },
  { name: 'HEAD with Content-Length', method: 'HEAD', input: crlf('HTTP/1.1 200 OK', 'Content-Length: 1234', '', '') },
  { name: 'HEAD with chunked', method: 'HEAD', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', '') },
  { name: 'HEAD without framing', method: 'HEAD', input: crlf('HTTP/1.1 200 OK', 'ETag: "x"', '', '') },
  { name: '204', input: crlf('HTTP/1.1 204 No Content', 'Date: x', '', '') },
  { name: '304 with a Content-Length (no body)', input: crlf('HTTP/1.1 304 Not Modified', 'Content-Length: 100', 'ETag: "x"', '', '') },
  { name: '100 and 103 before the final answer', input: crlf('HTTP/1.1 100 Continue', '', 'HTTP/1.1 103 Early Hints', 'Link: </a.css>; rel=preload', '', 'HTTP/1.1 200 OK', 'Content-Length: 2', '', 'ok') },
  { name: 'HTTP/1.0 with Content-Length, no keep-alive', input: crlf('HTTP/1.0 200 OK', 'Content-Length: 3', '', 'abc') },
  { name: 'HTTP/1.0 with keep-alive', input: crlf('HTTP/1.0 200 OK', 'Connection: Keep-Alive', 'Content-Length: 3', '', 'abc') },
  { name: 'HTTP/1.0 with keep-alive, close-delimited', input: crlf('HTTP/1.0 200 OK', 'Connection: keep-alive', '', 'abc') },
  { name: 'HTTP/1.0 close-delimited', input: crlf('HTTP/1.0 200 OK', '', 'abc') },
  { name: 'HTTP/1.0 chunked', input: crlf('HTTP/1.0 200 OK', 'Transfer-Encoding: chunked', '', '3', 'abc', '0', '', '') },
  { name: 'Connection: close', input: crlf('HTTP/1.1 200 OK', 'Connection: close', 'Content-Length: 3', '', 'abc') },
  { name: 'Connection: Upgrade, Close (a list, any case)', input: crlf('HTTP/1.1 200 OK', 'Connection: Upgrade, Close', 'Content-Length: 3', '', 'abc') },
  { name: 'Connection: keep-alive on 1.1', input: crlf('HTTP/1.1 200 OK', 'Connection: keep-alive', 'Content-Length: 3', '', 'abc') },
  { name: 'empty reason phrase after the space', input: crlf('HTTP/1.1 200 ', 'Content-Length: 0', '', '') },
  { name: 'no reason phrase, no space', input: crlf('HTTP/1.1 200', 'Content-Length: 0', '', '') },
  { name: 'reason with spaces, tab and obs-text', input: crlf('HTTP/1.1 404  Not\tFound \xe9\xff', 'Content-Length: 0', '', '') },
  { name: 'status 599 and 999', input: crlf('HTTP/1.1 599 X', 'Content-Length: 1', '', '1') },
  { name: 'obs-text in values, tabs, empty value, no space after colon', input: crlf('HTTP/1.1 200 OK', 'X-Name: caf\xe9 \xff', 'X-Tabs:\t a \t b\t ', 'X-Empty:', 'X-Tight:v', 'X-Printable: ' + filler(300), 'Content-Length: 1', '', 'x') },
  { name: 'values: surrounding spaces only, no-break spaces kept', input: crlf('HTTP/1.1 200 OK', 'X-Spaces:    ', 'X-Nbsp: \xa0a\xa0 ', 'Content-Length: 0', '', '') },
  { name: 'reason with trailing spaces', input: crlf('HTTP/1.1 200 OK  ', 'Content-Length: 0', '', '') },
  { name: 'Transfer-Encoding: Chunked, any case, same name twice in any case', input: crlf('HTTP/1.1 200 OK', 'transfer-encoding: Chunked ', 'X-A: 1', 'x-a: 2', '', '3', 'abc', '0', '', '') },
  { name: '304 with Transfer-Encoding: chunked (no body)', input: crlf('HTTP/1.1 304 Not Modified', 'Transfer-Encoding: chunked', '', '') },
  { name: '204 on HTTP/1.0 with keep-alive', input: crlf('HTTP/1.0 204 No Content', 'Connection: keep-alive', '', '') },
  // 0xA0 is obs-text, not whitespace (String.prototype.trim() would take it for a space):
  { name: 'Transfer-Encoding: chunked + no-break space is not chunked', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked\xa0', '', '3', 'abc', '0', '', '') },
  { name: 'Connection: close + no-break space is not close', input: crlf('HTTP/1.1 200 OK', 'Connection: close\xa0', 'Content-Length: 3', '', 'abc') },
  { name: 'Connection: keep-alive + no-break space is not keep-alive', input: crlf('HTTP/1.0 200 OK', 'Connection: keep-alive\xa0', 'Content-Length: 3', '', 'abc') },
  { name: 'many headers (120: llhttp hands them over in batches)', input: crlf('HTTP/1.1 200 OK', ...Array.from({ length: 119 }, (_, i) => `X-H${i}: value ${i}`), 'Content-Length: 4', '', 'many') },
  { name: 'a head just under 16 KiB', input: crlf('HTTP/1.1 200 OK', `X-Big: ${'b'.repeat(16000)}`, 'Content-Length: 0', '', '') },
  { name: 'large body, Content-Length (1 MiB)', input: crlf('HTTP/1.1 200 OK', 'Content-Length: 1048576', '', bodyBytes(1048576)) },
  { name: 'large body, chunked (300 KiB, growing chunks)', input: chunkedBig() },
  { name: 'body with CRLFs and a fake response inside', input: crlf('HTTP/1.1 200 OK', 'Content-Length: 38', '', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n') },
];

/** Responses both could read but llhttp (strict mode, as Node's client runs it) refuses; ours accepts by design. */
const lenient: Array<Case & { llhttp: string; why: string }> = [
  {
    name: 'duplicate identical Content-Length lines', input: crlf('HTTP/1.1 200 OK', 'Content-Length: 3', 'Content-Length: 3', '', 'abc'),
    llhttp: 'HPE_UNEXPECTED_CONTENT_LENGTH', why: 'RFC 9110 §8.6 lets a recipient take identical values as one; the framing is not in doubt',
  },
  {
    name: 'Content-Length list of identical values', input: crlf('HTTP/1.1 200 OK', 'Content-Length: 3, 3', '', 'abc'),
    llhttp: 'HPE_INVALID_CONTENT_LENGTH', why: 'the same',
  },
  {
    name: 'space before a chunk extension', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', '3 ;a', 'abc', '0', '', ''),
    llhttp: 'HPE_INVALID_CHUNK_SIZE', why: 'BWS before ";" is in RFC 9112 §7.1.1 chunk-ext (llhttp needs kLenientSpacesAfterChunkSize); the size is not in doubt',
  },
  {
    name: 'Transfer-Encoding with Content-Length', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', 'Content-Length: 3', '', '3', 'abc', '0', '', ''),
    llhttp: 'HPE_INVALID_CONTENT_LENGTH', why: 'RFC 9112 §6.3: Transfer-Encoding overrides, and the connection is closed after it (reusable is false)',
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Malformed responses.

interface Bad extends Case {
  /** What llhttp (strict, as Node's client runs it) does with it: its error code, or 'accepts'. */
  llhttp: string;
}

const malformed: Bad[] = [
  { name: 'not HTTP', input: crlf('HTP/1.1 200 OK', '', ''), llhttp: 'HPE_INVALID_CONSTANT' },
  // Stricter: llhttp reads an HTTP/2.0 status line as it reads 1.1; no HTTP/2 server sends one, and whether it
  // keeps the connection would be a guess.
  { name: 'HTTP/2.0', input: crlf('HTTP/2.0 200 OK', 'Content-Length: 0', '', ''), llhttp: 'accepts' },
  { name: 'HTTP/1.2', input: crlf('HTTP/1.2 200 OK', 'Content-Length: 0', '', ''), llhttp: 'HPE_INVALID_VERSION' },
  { name: 'two-digit status', input: crlf('HTTP/1.1 20 OK', '', ''), llhttp: 'HPE_INVALID_STATUS' },
  { name: 'four-digit status', input: crlf('HTTP/1.1 2000 OK', '', ''), llhttp: 'HPE_INVALID_STATUS' },
  // Stricter: llhttp takes any three digits; below 100 there is no status to forward and no framing rule.
  { name: 'status 099', input: crlf('HTTP/1.1 099 X', 'Content-Length: 0', '', ''), llhttp: 'accepts' },
  { name: 'two spaces before the status', input: crlf('HTTP/1.1  200 OK', '', ''), llhttp: 'HPE_INVALID_STATUS' },
  // Stricter: llhttp passes control characters in the reason on (NUL, \x0f, DEL: the fuzz finds them); Node's
  // res.writeHead would then throw on them (ERR_INVALID_CHAR) when the forwarder relays the status.
  { name: 'NUL in the reason', input: crlf('HTTP/1.1 200 O\x00K', 'Content-Length: 0', '', ''), llhttp: 'accepts' },
  // Stricter: llhttp skips empty lines before a response; a byte before the status line means the connection is
  // out of step with its requests.
  { name: 'CRLF before the status line', input: crlf('', 'HTTP/1.1 200 OK', 'Content-Length: 0', '', ''), llhttp: 'accepts' },
  { name: 'bare LF line ends', input: 'HTTP/1.1 200 OK\nContent-Length: 0\n\n', llhttp: 'HPE_CR_EXPECTED' },
  { name: 'bare LF inside the head', input: crlf('HTTP/1.1 200 OK', 'X: a\nContent-Length: 0', '', ''), llhttp: 'HPE_CR_EXPECTED' },
  { name: 'header without colon', input: crlf('HTTP/1.1 200 OK', 'X-No-Colon', 'Content-Length: 0', '', ''), llhttp: 'HPE_INVALID_HEADER_TOKEN' },
  { name: 'empty header name', input: crlf('HTTP/1.1 200 OK', ': v', 'Content-Length: 0', '', ''), llhttp: 'HPE_INVALID_HEADER_TOKEN' },
  { name: 'space before colon', input: crlf('HTTP/1.1 200 OK', 'Content-Length : 0', '', ''), llhttp: 'HPE_INVALID_HEADER_TOKEN' },
  { name: 'bad character in a name', input: crlf('HTTP/1.1 200 OK', 'X(y): v', 'Content-Length: 0', '', ''), llhttp: 'HPE_INVALID_HEADER_TOKEN' },
  { name: 'obs-fold', input: crlf('HTTP/1.1 200 OK', 'X: a', ' b', 'Content-Length: 0', '', ''), llhttp: 'HPE_INVALID_HEADER_TOKEN' },
  { name: 'obs-fold with a tab', input: crlf('HTTP/1.1 200 OK', 'X: a', '\tb', 'Content-Length: 0', '', ''), llhttp: 'HPE_INVALID_HEADER_TOKEN' },
  { name: 'NUL in a value', input: crlf('HTTP/1.1 200 OK', 'X: a\x00b', 'Content-Length: 0', '', ''), llhttp: 'HPE_INVALID_HEADER_TOKEN' },
  { name: 'CR in a value', input: crlf('HTTP/1.1 200 OK', 'X: a\rb', 'Content-Length: 0', '', ''), llhttp: 'HPE_LF_EXPECTED' },
  { name: 'DEL in a value', input: crlf('HTTP/1.1 200 OK', 'X: a\x7fb', 'Content-Length: 0', '', ''), llhttp: 'HPE_INVALID_HEADER_TOKEN' },
  { name: 'Content-Length not a number', input: crlf('HTTP/1.1 200 OK', 'Content-Length: abc', '', ''), llhttp: 'HPE_INVALID_CONTENT_LENGTH' },
  { name: 'Content-Length with a suffix', input: crlf('HTTP/1.1 200 OK', 'Content-Length: 1x', '', 'a'), llhttp: 'HPE_INVALID_CONTENT_LENGTH' },
  { name: 'Content-Length empty', input: crlf('HTTP/1.1 200 OK', 'Content-Length:', '', ''), llhttp: 'HPE_INVALID_CONTENT_LENGTH' },
  { name: 'negative Content-Length', input: crlf('HTTP/1.1 200 OK', 'Content-Length: -1', '', ''), llhttp: 'HPE_INVALID_CONTENT_LENGTH' },
  { name: 'Content-Length with a no-break space after', input: crlf('HTTP/1.1 200 OK', 'Content-Length: 3\xa0', '', 'abc'), llhttp: 'HPE_INVALID_CONTENT_LENGTH' },
  { name: 'Content-Length list with a no-break space', input: crlf('HTTP/1.1 200 OK', 'Content-Length: 3,\xa03', '', 'abc'), llhttp: 'HPE_INVALID_CONTENT_LENGTH' },
  { name: 'Content-Length with a plus', input: crlf('HTTP/1.1 200 OK', 'Content-Length: +1', '', 'a'), llhttp: 'HPE_INVALID_CONTENT_LENGTH' },
  { name: 'huge Content-Length', input: crlf('HTTP/1.1 200 OK', 'Content-Length: 99999999999999999999', '', ''), llhttp: 'HPE_INVALID_CONTENT_LENGTH' },
  // Stricter: llhttp takes any length up to 2^64 (and here waits for the body: its error is EOF's); past 15 digits
  // (a petabyte) ours refuses, so that the count stays exact in a double.
  { name: 'Content-Length of 16 digits', input: crlf('HTTP/1.1 200 OK', 'Content-Length: 1000000000000000', '', 'a'), llhttp: 'HPE_INVALID_EOF_STATE' },
  { name: 'conflicting Content-Length lines', input: crlf('HTTP/1.1 200 OK', 'Content-Length: 1', 'Content-Length: 2', '', 'ab'), llhttp: 'HPE_UNEXPECTED_CONTENT_LENGTH' },
  { name: 'conflicting Content-Length list', input: crlf('HTTP/1.1 200 OK', 'Content-Length: 1, 2', '', 'ab'), llhttp: 'HPE_INVALID_CONTENT_LENGTH' },
  { name: 'Content-Length list with an empty member', input: crlf('HTTP/1.1 200 OK', 'Content-Length: 1,', '', 'a'), llhttp: 'HPE_INVALID_CONTENT_LENGTH' },
  { name: 'chunk size not hex', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', 'z', 'abc', '0', '', ''), llhttp: 'HPE_INVALID_CHUNK_SIZE' },
  { name: 'chunk size 0x3', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', '0x3', 'abc', '0', '', ''), llhttp: 'HPE_INVALID_CHUNK_SIZE' },
  { name: 'chunk size negative', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', '-3', 'abc', '0', '', ''), llhttp: 'HPE_INVALID_CHUNK_SIZE' },
  { name: 'chunk size empty', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', '', 'abc', '0', '', ''), llhttp: 'HPE_INVALID_CHUNK_SIZE' },
  { name: 'space after the chunk size', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', '3 ', 'abc', '0', '', ''), llhttp: 'HPE_INVALID_CHUNK_SIZE' },
  { name: 'no-break space after the chunk size', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', '3\xa0', 'abc', '0', '', ''), llhttp: 'HPE_INVALID_CHUNK_SIZE' },
  { name: 'chunk size overflowing', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', 'fffffffffffffffff', 'abc', '0', '', ''), llhttp: 'HPE_INVALID_CHUNK_SIZE' },
  { name: 'control character in a chunk extension', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', '3;\x01', 'abc', '0', '', ''), llhttp: 'HPE_STRICT' },
  { name: 'bare LF in a chunk extension', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', '3;a\nb', 'abc', '0', '', ''), llhttp: 'HPE_CR_EXPECTED' },
  { name: 'chunk size line ended by LF', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n', llhttp: 'HPE_CR_EXPECTED' },
  { name: 'chunk data longer than its size', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', '3', 'abcX', '0', '', ''), llhttp: 'HPE_STRICT' },
  { name: 'chunk data followed by LF alone', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n', llhttp: 'HPE_CR_EXPECTED' },
  { name: 'chunk data followed by CR alone', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r0\r\n\r\n', llhttp: 'HPE_STRICT' },
  { name: 'malformed trailer', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', '3', 'abc', '0', 'not a field', '', ''), llhttp: 'HPE_INVALID_HEADER_TOKEN' },
  { name: 'head over 16 KiB', input: crlf('HTTP/1.1 200 OK', `X-Big: ${'b'.repeat(17000)}`, 'Content-Length: 0', '', ''), llhttp: 'HPE_HEADER_OVERFLOW' },
  { name: 'head over 16 KiB without its end', input: crlf('HTTP/1.1 200 OK', `X-Big: ${'b'.repeat(17000)}`), llhttp: 'HPE_HEADER_OVERFLOW' },
  { name: 'trailers over 16 KiB', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', '0', `X-Big: ${'b'.repeat(17000)}`, '', ''), llhttp: 'HPE_HEADER_OVERFLOW' },
  // Stricter: llhttp reports a 101 as an upgrade (Node's client then hands the socket over, or destroys it when it
  // asked for no upgrade); the forwarder asks for none, and the bytes after a 101 are no longer HTTP.
  { name: '101 Switching Protocols', input: crlf('HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', '', ''), llhttp: 'accepts' },
  { name: 'EOF in the head', input: 'HTTP/1.1 200 OK\r\nContent-Le', llhttp: 'HPE_INVALID_EOF_STATE' },
  // Not stricter in effect: llhttp has no error for an EOF before a message or after an interim one, and Node's
  // client turns both into "socket hang up".
  { name: 'EOF before anything', input: '', llhttp: 'accepts' },
  { name: 'EOF in the status line', input: 'HTTP/1.1 2', llhttp: 'HPE_INVALID_EOF_STATE' },
  { name: 'EOF in a Content-Length body', input: crlf('HTTP/1.1 200 OK', 'Content-Length: 10', '', 'abc'), llhttp: 'HPE_INVALID_EOF_STATE' },
  { name: 'EOF in a chunk', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', '5', 'ab'), llhttp: 'HPE_INVALID_EOF_STATE' },
  { name: 'EOF in a chunk-size line', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', '5;a'), llhttp: 'HPE_INVALID_EOF_STATE' },
  { name: 'EOF after the last chunk, before the trailers end', input: crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', '0', 'X: y', ''), llhttp: 'HPE_INVALID_EOF_STATE' },
  { name: 'EOF after an interim answer', input: crlf('HTTP/1.1 100 Continue', '', ''), llhttp: 'accepts' },
];

// ---------------------------------------------------------------------------------------------------------------

t.test('differential: ours and llhttp agree on the corpus', async (t) => {
  for (const c of corpus) {
    const input = b(c.input);
    const mine = ours([input], c.method);
    const theirs = llhttp(input, c.method);
    t.equal(theirs.error, undefined, `${c.name}: llhttp accepts it (a valid corpus entry)`);
    t.equal(mine.error, undefined, `${c.name}: ours accepts it`);
    t.same(mine.head, theirs.head, `${c.name}: status, reason, version, raw headers`);
    t.ok(mine.body === theirs.body, `${c.name}: body bytes (${mine.body.length} vs ${theirs.body.length})`);
    t.equal(mine.done, theirs.done, `${c.name}: completed`);
    // Before EOF: a message framed by length or chunks (or with no body) is complete without the close.
    const early = ours([input], c.method, false);
    if (theirs.keepAlive !== undefined) {
      t.ok(early.done, `${c.name}: complete before EOF`);
      t.equal(early.reusable, theirs.keepAlive, `${c.name}: reusable is llhttp's keep-alive at message end`);
    } else {
      t.notOk(early.done, `${c.name}: needs EOF, as llhttp`);
      t.notOk(mine.reusable, `${c.name}: a close-delimited body is never reusable`);
    }
  }
});

t.test('where ours is laxer than llhttp: accepted on purpose, with framing that is not in doubt', async (t) => {
  for (const c of lenient) {
    const input = b(c.input);
    const theirs = llhttpRun(input, 'GET', true);
    t.equal(theirs.errorCode, c.llhttp, `${c.name}: llhttp refuses (${theirs.error}); ours: ${c.why}`);
    const mine = ours([input]);
    t.equal(mine.error, undefined, `${c.name}: ours accepts`);
    t.equal(mine.body, 'abc', `${c.name}: body`);
  }
  t.notOk(ours([b(lenient[3]!.input)], 'GET', false).reusable, 'both framings: not reused');
  t.ok(ours([b(lenient[0]!.input)], 'GET', false).reusable, 'identical lengths: reusable');
});

t.test('Connection: close wins over keep-alive, in either order (llhttp keeps an HTTP/1.0 connection with both)', async (t) => {
  for (const value of ['close, keep-alive', 'keep-alive, close']) {
    for (const version of ['1.0', '1.1']) {
      const input = b(crlf(`HTTP/${version} 200 OK`, `Connection: ${value}`, 'Content-Length: 0', '', ''));
      t.notOk(ours([input], 'GET', false).reusable, `HTTP/${version} Connection: ${value}`);
      // Stricter than llhttp, which keeps an HTTP/1.0 connection whenever keep-alive is named.
      t.equal(keepAliveAtEnd(input, 'GET'), version === '1.0', `llhttp on HTTP/${version} Connection: ${value}`);
    }
  }
  // Stricter: llhttp keeps it; RFC 9112 §6.1 says an HTTP/1.0 message with Transfer-Encoding is read and the connection closed.
  const te10 = b(crlf('HTTP/1.0 200 OK', 'Connection: keep-alive', 'Transfer-Encoding: chunked', '', '3', 'abc', '0', '', ''));
  t.equal(keepAliveAtEnd(te10, 'GET'), true, 'llhttp keeps an HTTP/1.0 keep-alive connection after a chunked body');
  const te10ours = ours([te10], 'GET', false);
  t.ok(te10ours.done && te10ours.body === 'abc' && !te10ours.reusable, 'ours reads the chunked body, and does not reuse the connection');
  const twoLines = b(crlf('HTTP/1.0 200 OK', 'Connection: close', 'Connection: keep-alive', 'Content-Length: 0', '', ''));
  t.notOk(ours([twoLines], 'GET', false).reusable, 'close and keep-alive on two lines');
});

// ---------------------------------------------------------------------------------------------------------------
// Splitting.

const sameOutcome = (t: Test, got: Outcome, want: Outcome, what: string): void => {
  // One assertion per split (not one per field): thousands of splits stay readable.
  const g = { ...got, body: got.body.length + ':' + hash(got.body) };
  const w = { ...want, body: want.body.length + ':' + hash(want.body) };
  if (JSON.stringify(g) !== JSON.stringify(w)) t.same(g, w, what);
  else t.pass(what);
};

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Split points: all of them up to 20 KiB; for larger inputs all in the first 256 bytes and the last 32, and 20 others. */
function splitPoints(n: number): number[] {
  if (n <= 20 * 1024) return Array.from({ length: n - 1 }, (_, i) => i + 1);
  const points = new Set<number>();
  for (let i = 1; i < 256; i++) points.add(i);
  for (let i = n - 32; i < n; i++) points.add(i);
  const rand = prng(n);
  for (let i = 0; i < 20; i++) points.add(1 + Math.floor(rand() * (n - 1)));
  return [...points];
}

/** An outcome as a string, the body as its length and a hash. */
const key = (o: Outcome): string => JSON.stringify({ ...o, body: `${o.body.length}:${hash(o.body)}` });

function bytewise(input: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; i++) out.push(input.subarray(i, i + 1));
  return out;
}

t.test('split anywhere, or byte by byte: the same outcome as whole', async (t) => {
  const inputs = [...corpus, ...lenient].map((c) => ({ ...c, bytes: b(c.input) }));
  inputs.push(...malformed.map((c) => ({ ...c, bytes: b(c.input) })));
  for (const c of inputs) {
    for (const eof of c.bytes.length > 20 * 1024 ? [true] : [true, false]) {
      const whole = ours([c.bytes], c.method, eof);
      const wholeKey = key(whole);
      let bad = 0;
      for (const at of splitPoints(c.bytes.length)) {
        const split = ours([c.bytes.subarray(0, at), c.bytes.subarray(at)], c.method, eof);
        if (key(split) !== wholeKey) {
          if (bad++ < 3) sameOutcome(t, split, whole, `${c.name}: split at ${at}${eof ? '' : ' (no EOF)'}`);
        }
      }
      t.equal(bad, 0, `${c.name}: every split${eof ? '' : ' (no EOF)'}`);
      if (c.bytes.length <= 400 * 1024) sameOutcome(t, ours(bytewise(c.bytes), c.method, eof), whole, `${c.name}: byte by byte${eof ? '' : ' (no EOF)'}`);
    }
  }
});

t.test('the head limit is the same whether the terminator arrives whole or in pieces', async (t) => {
  // A head of exactly MAX_HEAD_BYTES before its CRLFCRLF is accepted; one byte more is not.
  for (const extra of [0, 1]) {
    const pre = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: ';
    const input = b(pre + 'a'.repeat(MAX_HEAD_BYTES - pre.length + extra) + '\r\n\r\n');
    const whole = ours([input]);
    t.equal(whole.error === undefined, extra === 0, `head of ${MAX_HEAD_BYTES + extra} bytes, whole`);
    for (let cut = 1; cut <= 4; cut++) {
      const split = ours([input.subarray(0, input.length - cut), input.subarray(input.length - cut)]);
      t.same(split, whole, `head of ${MAX_HEAD_BYTES + extra} bytes, the last ${cut} apart`);
    }
  }
  // The same for a long chunk-size line (extensions): accepted or refused whatever the split.
  for (const len of [4000, 4096, 4097, 5000]) {
    const line = '3;x=' + 'e'.repeat(len - 4);
    const input = b(crlf('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', '', line, 'abc', '0', '', ''));
    const whole = ours([input]);
    const at = input.indexOf(b(line)) + line.length;
    for (const cut of [at, at + 1, at + 2]) t.same(ours([input.subarray(0, cut), input.subarray(cut)]), whole, `chunk line of ${len}, split at its end +${cut - at}`);
  }
});

t.test('malformed: ResponseParseError, whole and split; what llhttp does is checked alongside', async (t) => {
  for (const c of malformed) {
    const input = b(c.input);
    const mine = ours([input], c.method); // anything but a ResponseParseError escapes and fails the test
    t.ok(mine.error, `${c.name}: ours refuses (${mine.error})`);
    t.notOk(mine.done && mine.reusable, `${c.name}: not a reusable response`);
    // Refused from the bytes alone, not only at EOF: a kept-alive server that sends this would otherwise leave the
    // request hanging until a timeout.
    if (!c.name.startsWith('EOF')) t.ok(ours([input], c.method, false).error, `${c.name}: refused before EOF`);
    const theirs = llhttpRun(input, c.method ?? 'GET', true);
    const final = theirs.msgs.find((m) => m.status >= 200 || m.status === 101);
    // 'accepts' means llhttp raised no error (an empty input or interim answer alone at EOF is no error to it).
    t.equal(theirs.errorCode ?? 'accepts', c.llhttp, `${c.name}: llhttp ${theirs.error ?? 'accepts'}${final ? ` (status ${final.status})` : ''}`);
  }
});

// ---------------------------------------------------------------------------------------------------------------

t.test('finish(): EOF ends a close-delimited body; elsewhere it is an error', async (t) => {
  const close = b(crlf('HTTP/1.1 200 OK', '', 'to the end'));
  const open = ours([close], 'GET', false);
  t.notOk(open.done, 'no end before EOF');
  const closed = ours([close]);
  t.ok(closed.done, 'ended by EOF');
  t.equal(closed.body, 'to the end');
  t.notOk(closed.reusable, 'not reusable');
  t.equal(closed.error, undefined);
  const empty = ours([b(crlf('HTTP/1.1 200 OK', '', ''))]);
  t.ok(empty.done && empty.body === '', 'an empty close-delimited body');
  for (const [name, input] of [
    ['nothing', ''],
    ['mid status line', 'HTTP/1.1 20'],
    ['mid head', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n'],
    ['mid head terminator', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r'],
    ['mid length body', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc'],
    ['mid chunk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc'],
    ['mid chunk CRLF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r'],
    ['mid chunk-size line', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5'],
    ['before the last chunk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n'],
    ['mid trailers', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n'],
    ['after an interim answer', 'HTTP/1.1 103 Early Hints\r\n\r\n'],
  ] as const) {
    const p = new ResponseParser('GET', { head() {}, data() {}, end() {} });
    p.execute(b(input));
    t.throws(() => p.finish(), { name: 'ResponseParseError', message: input ? 'connection closed before the end of the response' : 'connection closed before any response' }, `EOF ${name}`);
    t.notOk(p.done, `EOF ${name}: not done`);
  }
  const p = new ResponseParser('GET', { head() {}, data() {}, end() {} });
  p.execute(b(crlf('HTTP/1.1 200 OK', 'Content-Length: 1', '', 'x')));
  t.doesNotThrow(() => p.finish(), 'EOF after a complete response is fine');
  t.ok(p.reusable, 'and does not change reusable');
});

t.test('bytes after a complete response: not reusable', async (t) => {
  const responses = corpus.filter((c) => ours([b(c.input)], c.method, false).reusable);
  t.ok(responses.length >= 10, `${responses.length} reusable responses in the corpus`);
  for (const c of responses) {
    for (const extra of ['H', '\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n']) {
      const together = ours([b(c.input + extra)], c.method, false);
      t.ok(together.done && !together.reusable, `${c.name} + ${JSON.stringify(extra.slice(0, 8))} in the same buffer`);
      const later = ours([b(c.input), b(extra)], c.method, false);
      t.ok(later.done && !later.reusable, `${c.name} + ${JSON.stringify(extra.slice(0, 8))} in a later buffer`);
      t.equal(together.body, ours([b(c.input)], c.method).body, `${c.name}: the extra bytes are not body`);
    }
  }
  const p = new ResponseParser('GET', { head() {}, data() {}, end() {} });
  p.execute(b(crlf('HTTP/1.1 200 OK', 'Content-Length: 1', '', 'x')));
  p.execute(Buffer.alloc(0));
  t.ok(p.reusable, 'an empty buffer after the response is not an extra byte');
});

// ---------------------------------------------------------------------------------------------------------------

function prng(seed: number): () => number {
  // mulberry32
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING = [...'\r\n:; \t\x00\x7f\xff0189aAfF,-+"', '\r\n', '\r\n\r\n', 'chunked', 'Content-Length: ', 'Transfer-Encoding: chunked\r\n', 'close', '0\r\n\r\n', 'HTTP/1.1 200 OK\r\n'];

function mutate(input: string, rand: () => number): string {
  let s = input;
  const n = 1 + Math.floor(rand() * 3);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(rand() * (s.length + 1));
    const pick = INTERESTING[Math.floor(rand() * INTERESTING.length)]!;
    switch (Math.floor(rand() * 6)) {
      case 0: s = s.slice(0, at) + pick + s.slice(at); break; // insert
      case 1: s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rand() * 4)); break; // delete
      case 2: s = s.slice(0, at) + String.fromCharCode(Math.floor(rand() * 256)) + s.slice(at + 1); break; // replace
      case 3: s = s.slice(0, at) + pick + s.slice(at + pick.length); break; // overwrite
      case 4: { const len = Math.floor(rand() * 16); s = s.slice(0, at) + s.slice(at, at + len) + s.slice(at); break; } // duplicate
      default: s = s.slice(0, at); // truncate
    }
  }
  return s;
}

t.test('fuzz: mutated corpus entries are a ResponseParseError or a response llhttp reads the same way', async (t) => {
  const rand = prng(0x5eed);
  const seeds = [...corpus, ...lenient].filter((c) => c.input.length < 20000);
  const started = performance.now();
  const disagreements: string[] = [];
  let runs = 0;
  let bothAccept = 0;
  let oursOnly = 0;
  let llhttpOnly = 0;
  while (runs < 4000 && performance.now() - started < 1500) {
    const seed = seeds[Math.floor(rand() * seeds.length)]!;
    const input = b(mutate(seed.input, rand));
    runs++;
    const whole = ours([input], seed.method); // throws (fails the test) on anything but ResponseParseError
    const at = 1 + Math.floor(rand() * Math.max(1, input.length - 1));
    const split = ours([input.subarray(0, at), input.subarray(at)], seed.method);
    if (JSON.stringify(split) !== JSON.stringify(whole)) disagreements.push(`split at ${at} differs: ${JSON.stringify(input.toString('latin1').slice(0, 200))}`);
    const theirs = llhttp(input, seed.method);
    const oursOk = whole.done && !whole.error;
    const theirsOk = theirs.done;
    if (oursOk && theirsOk) {
      bothAccept++;
      if (whole.body !== theirs.body) disagreements.push(`body differs (${whole.body.length} vs ${theirs.body.length}): ${JSON.stringify(input.toString('latin1').slice(0, 300))}`);
      else if (whole.head?.statusCode !== theirs.head?.statusCode) disagreements.push(`status differs: ${JSON.stringify(input.toString('latin1').slice(0, 300))}`);
    } else if (oursOk) { oursOnly++; if (process.env.FUZZ_LIST) t.comment(`only ours: ${JSON.stringify(input.toString('latin1').slice(0, 400))}`); }
    else if (theirsOk) { llhttpOnly++; if (process.env.FUZZ_LIST) t.comment(`only llhttp (ours: ${whole.error}): ${JSON.stringify(input.toString('latin1').slice(0, 400))}`); }
  }
  t.comment(`${runs} mutations in ${Math.round(performance.now() - started)} ms: both accept ${bothAccept}, only ours ${oursOnly}, only llhttp ${llhttpOnly}`);
  t.ok(runs >= 500, 'enough runs');
  t.ok(bothAccept > 50, 'enough inputs both accept for the comparison to mean something');
  t.same(disagreements, [], 'no disagreement on body bytes or status when both accept, and none between whole and split');
});
