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
import type { EndpointRoute, Serves } from './types.js';

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
export function planGoEndpoint(goproxy: string, serves: Serves): GoEndpointPlan {
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

const SUMDB_HOST = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/;

/**
 * Maps the part after `/<token>/go/` back to the URL go meant. Under an entry, `/sumdb/<name>/…` goes to the
 * checksum database itself (https://<name>/…) when a rule covers its host, so that host's own route
 * applies (the go preset: `<mirror>/sumdb/sum.golang.org/…`); else it stays under the entry, as go would
 * have sent it to that proxy.
 */
export function endpointRoute(rest: string, entries: readonly GoEntry[], serves: Serves): EndpointRoute {
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  let entry: GoEntry | undefined;
  for (const e of entries) {
    if ((path === e.key || path.startsWith(e.key + '/')) && (!entry || e.key.length > entry.key.length)) entry = e;
  }
  if (!entry) return { kind: 'unknown', reason: "not under an entry of this run's GOPROXY" };

  const sumdb = /^\/sumdb\/(([^/]+)\/.*)$/s.exec(rest.slice(entry.key.length));
  if (sumdb && SUMDB_HOST.test(sumdb[2]!)) {
    const url = new URL(`https://${sumdb[1]}`);
    if (serves(url.hostname, Number(url.port) || 443)) {
      // The proxied-sumdb handshake, answered by detour: protocol, not content.
      return url.pathname.endsWith('/supported') && !url.search ? { kind: 'answer', status: 200 } : { kind: 'forward', url };
    }
  }
  const url = new URL(`https://${rest}`);
  return entry.authorization ? { kind: 'forward', url, authorization: entry.authorization } : { kind: 'forward', url };
}
