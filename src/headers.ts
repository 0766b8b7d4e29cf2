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

/** A short text/plain answer detour writes itself (a refusal, a 502/504, the go preset's exhaustion 404). */
export function textAnswer(res: http.ServerResponse, status: number, body: string, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
