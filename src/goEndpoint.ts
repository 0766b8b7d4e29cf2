// The go command's own way in: a plain-HTTP GOPROXY endpoint on the proxy port, so go needs no trust in
// detour's CA (go on macOS verifies with the keychain and ignores SSL_CERT_FILE, golang/go#77865).
//
// Each https entry of the child's GOPROXY whose host detour would decrypt becomes
//   http://127.0.0.1:PORT/<token>/go/<host[:port]><path>
// (host and path kept, so `https://goproxy.example/sub` with a rule on it works too), and a request under it
// is mapped back to the https URL go would have asked for, then routed like a decrypted one.
//
// Facts relied on (cmd/go/internal/modfetch, go 1.19 and later, checked 2025):
// - proxy.go proxyList: entries split on ',' and '|'; "direct" and "off" are words; an entry with '.', ':'
//   or '/' but no ":/" gets "https://" in front; http:// entries are allowed.
// - sumdb.go initBase: before any checksum database request, go asks each proxy in turn for
//   <proxy>/sumdb/<name>/supported; a 200 makes it send every `/lookup/…`, `/tile/…`, `/latest` there,
//   and it still verifies the signed tree heads with its own key. A GOSUMDB with its own URL asks no proxy.
// - A module path's first element contains a dot, so `/sumdb/` right after the entry's base is never a module.
// - web/http.go: go refuses to send an http:// URL's user info ("refusing to pass credentials to insecure
//   URL"), so an entry's credentials stay with detour, which adds them as go would have over https.
//   (.netrc credentials go looks up by the URL's host, 127.0.0.1 here: not carried over, see README.)
import net from 'node:net';
import { decideConnect, type Routing } from './router.js';

export interface GoEntry {
  /** `host[:port][/path]`: no scheme, no trailing slash. */
  readonly key: string;
  /** The entry's user info as go would have sent it over https (Basic), for its own host only. */
  readonly authorization?: string;
}

export interface GoEndpointPlan {
  /** The GOPROXY list go would use without detour. */
  readonly goproxy: string;
  /** Entries the endpoint serves. */
  readonly entries: readonly GoEntry[];
}

/**
 * Would a CONNECT to host:port be decrypted (a rule, not --direct)? Exactly those hosts need the endpoint;
 * IP literals and loopback are left out, as the proxy port tunnels IP literals and go never proxies loopback.
 */
export function endpointServes(routing: Routing, host: string, port: number): boolean {
  const h = host.toLowerCase();
  if (net.isIP(h) || h === 'localhost' || h.endsWith('.localhost')) return false;
  return decideConnect(routing, h, port).action === 'intercept';
}

/** An https GOPROXY entry as go reads it, or undefined for words (direct, off), http://, file:// and junk. */
function httpsEntry(word: string): URL | undefined {
  let text = word.trim();
  if (/[.:/]/.test(text) && !text.includes(':/') && !text.startsWith('/')) text = 'https://' + text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  return url.protocol === 'https:' && url.hostname ? url : undefined;
}

/** `host[:port][/path]`: the entry's key in the endpoint's paths. */
const entryKey = (url: URL): string => url.host + url.pathname.replace(/\/+$/, '');

/** Splits a GOPROXY list into entries and the separators between them (kept as written). */
const split = (list: string): string[] => list.split(/([,|])/);

function basicAuth(url: URL): string | undefined {
  if (!url.username && !url.password) return undefined;
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return 'Basic ' + Buffer.from(`${decode(url.username)}:${decode(url.password)}`).toString('base64');
}

/** Which entries of the list the endpoint takes over (the first of equal ones wins, as in go's list). */
export function planGoEndpoint(goproxy: string, serves: (host: string, port: number) => boolean): GoEndpointPlan {
  const entries = new Map<string, GoEntry>();
  for (const word of split(goproxy)) {
    const url = httpsEntry(word);
    if (!url || !serves(url.hostname, Number(url.port) || 443) || entries.has(entryKey(url))) continue;
    const authorization = basicAuth(url);
    entries.set(entryKey(url), { key: entryKey(url), ...(authorization ? { authorization } : {}) });
  }
  return { goproxy, entries: [...entries.values()] };
}

/**
 * The child's GOPROXY: served entries point at the endpoint (`base` = http://127.0.0.1:PORT/<token>/go);
 * words, separators and other entries stay as written. User info is left out (detour adds it, see above).
 */
export function childGoproxy(plan: GoEndpointPlan, base: string): string {
  return split(plan.goproxy)
    .map((word) => {
      const url = httpsEntry(word);
      if (!url || !plan.entries.some((e) => e.key === entryKey(url))) return word;
      const endpoint = new URL(`${base}/${entryKey(url)}`);
      endpoint.search = url.search;
      return endpoint.href;
    })
    .join('');
}

/** The endpoint's prefix in a request target: `/<token>/go/`. The token is checked by the caller. */
export function endpointToken(target: string): { readonly token: string; readonly rest: string } | undefined {
  const m = /^\/([^/?]+)\/go\/(.*)$/s.exec(target);
  return m ? { token: m[1]!, rest: m[2]! } : undefined;
}

export type EndpointRoute =
  /** Route this URL as if go had asked for it over TLS (with the entry's credentials, if it had any). */
  | { readonly kind: 'forward'; readonly url: URL; readonly authorization?: string }
  /** `/sumdb/<name>/supported` for a checksum database a rule covers: answer 200 here. */
  | { readonly kind: 'sumdb-supported' }
  /** Not under any entry of this run's GOPROXY. */
  | { readonly kind: 'unknown' };

const SUMDB_HOST = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/;

/**
 * Maps the part after `/<token>/go/` back to the URL go meant. Under an entry, `/sumdb/<name>/…` goes to the
 * checksum database itself (https://<name>/…) when a rule covers its host, so that host's own route
 * applies (the go preset: `<mirror>/sumdb/sum.golang.org/…`); else it stays under the entry, as go would
 * have sent it to that proxy.
 */
export function endpointRoute(rest: string, entries: readonly GoEntry[], serves: (host: string, port: number) => boolean): EndpointRoute {
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  let entry: GoEntry | undefined;
  for (const e of entries) {
    if ((path === e.key || path.startsWith(e.key + '/')) && (!entry || e.key.length > entry.key.length)) entry = e;
  }
  if (!entry) return { kind: 'unknown' };

  const sumdb = /^\/sumdb\/(([^/]+)\/.*)$/s.exec(rest.slice(entry.key.length));
  if (sumdb && SUMDB_HOST.test(sumdb[2]!)) {
    const url = new URL(`https://${sumdb[1]}`);
    if (serves(url.hostname, Number(url.port) || 443)) {
      return url.pathname.endsWith('/supported') && !url.search ? { kind: 'sumdb-supported' } : { kind: 'forward', url };
    }
  }
  const url = new URL(`https://${rest}`);
  return entry.authorization ? { kind: 'forward', url, authorization: entry.authorization } : { kind: 'forward', url };
}
