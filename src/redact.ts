// Credentials never reach any output (-v lines, the log, the trace, check, error messages): the one place that
// removes them. A mirror target may be `https://ci:TOKEN@nexus.corp/…`, an upstream `http://user:pw@proxy/`.

/** A URL with its user:password@ replaced by `***@` (an unparsable string is returned as it is). */
export function redactUrl(url: URL | string): string {
  let u: URL;
  if (typeof url === 'string') {
    if (!url.includes('@')) return url;
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
