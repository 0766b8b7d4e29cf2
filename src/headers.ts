// Connection-level headers: never forwarded, in either direction (RFC 9110 §7.6.1), as in Go's ReverseProxy;
// and the one way detour writes an answer of its own.
import type http from 'node:http';

/** Connection-level headers, never forwarded (RFC 9110 §7.6.1), plus every Proxy-* header. */
const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** The headers without hop-by-hop ones and those the Connection header names. */
export function stripHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  // Runs twice per request: no Set or arrays unless a Connection header names more to drop.
  const connection = headers.connection;
  const named = connection ? new Set(connection.split(',').map((s) => s.trim().toLowerCase())) : undefined;
  const out: http.OutgoingHttpHeaders = {};
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined || HOP_BY_HOP.has(k) || named?.has(k) || k.startsWith('proxy-')) continue;
    out[k] = v;
  }
  return out;
}

/**
 * stripHopByHop over a raw header list as Node keeps it (name, value, name, value… as received), for the
 * forwarder's own path: names keep their spelling and repeated fields their lines, as the peer wrote them, and
 * no header object is built or validated again (Node's writeHead and request take such a list as it is).
 * `skip` drops more names (given lower-case); a repeated Content-Length is sent once.
 */
export function stripHopByHopRaw(raw: readonly string[], skip?: (lower: string) => boolean): string[] {
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== 10 || raw[i]!.toLowerCase() !== 'connection') continue;
    for (const token of raw[i + 1]!.split(',')) (named ??= new Set()).add(token.trim().toLowerCase());
  }
  const out: string[] = [];
  let length = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || lower.startsWith('proxy-') || named?.has(lower) || skip?.(lower)) continue;
    if (lower === 'content-length') {
      if (length) continue;
      length = true;
    }
    out.push(name, raw[i + 1]!);
  }
  return out;
}

/** A short text/plain answer detour writes itself (a refusal, a 502/504, the go preset's exhaustion 404). */
export function textAnswer(res: http.ServerResponse, status: number, body: string, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
