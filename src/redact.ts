// Credentials never reach any output (-v lines, the log, the trace, check, error messages): the one place that
// removes them. A mirror target may be `https://ci:TOKEN@nexus.corp/…`, an upstream `http://user:pw@proxy/`.

/**
 * Can `url` hold user info? Only an '@' before the end of its authority can (WHATWG URL: the authority ends at
 * '/', '?', '#', or '\\' in special schemes). Every Go module URL has an '@' in its path (`/@v/…`), and parsing
 * each one again cost ~3% of a small request's CPU. When unsure (no '://', a '\\' first), the caller parses.
 */
function userinfoPossible(url: string): boolean {
  const start = url.indexOf('://');
  if (start < 0) return url.includes('@');
  for (let i = start + 3; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x40 /* @ */ || c === 0x5c /* \\ */) return true;
    if (c === 0x2f /* / */ || c === 0x3f /* ? */ || c === 0x23 /* # */) return false;
  }
  return false;
}

/** A URL with its user:password@ replaced by `***@` (an unparsable string is returned as it is). */
export function redactUrl(url: URL | string): string {
  let u: URL;
  if (typeof url === 'string') {
    if (!userinfoPossible(url)) return url;
    try {
      u = new URL(url);
    } catch {
      return url;
    }
  } else u = url;
  if (!u.username && !u.password) return u.href;
  const copy = new URL(u.href);
  copy.username = copy.username ? '***' : '';
  copy.password = '';
  return copy.href;
}

/**
 * Free text with the credentials of any URL in it replaced by `***` (`https://ci:TOKEN@nexus.corp/` →
 * `https://***@nexus.corp/`), and of a bare `user:token@host` too: a mistyped target is still a secret.
 */
export function redactCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#"'<>]*@/gi, '$1***@').replace(/(^|[\s"'=|,])[^\s"'=|,/:@]+:[^\s"'/@]*@/g, '$1***@');
}
