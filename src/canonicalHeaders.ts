// Canonical headers: a mirror names itself in headers too, not only in metadata bodies (metadata.ts): the
// Location of a redirect (hf-mirror.com answers `/resolve/` with a 302 to its own hosts), the Link to the next
// page. Those URLs are rewritten back to the origin's, of any status, so the client's next request comes back
// through detour's rules (chain, fallback, -v) instead of reaching the mirror's host through a blind tunnel.
import type http from 'node:http';
import type { ModifyResponse } from './plan.js';
import { stripHopByHop } from './headers.js';
import type { Replacement } from './metadata.js';
import type { Answer } from './upstream.js';

/** `url` with a mirror prefix replaced by the origin's; the prefix must end at a boundary (hf-mirror.com ≠ hf-mirror.com.evil). */
export function canonicalUrl(url: string, pairs: readonly Replacement[]): string | undefined {
  for (const { from, to } of pairs) {
    if (url.slice(0, from.length).toLowerCase() !== from.toLowerCase()) continue;
    const next = url.charAt(from.length);
    if (next === '' || next === '/' || next === '?' || next === '#') return to + url.slice(from.length);
  }
  return undefined;
}

/**
 * A redirect to the host the client asked is written in origin-form (`/api/resolve-cache/…`), as the Hub writes
 * its own: huggingface_hub follows only relative redirects of its HEAD, and reads any other Location as the
 * download URL, whose size must then come in X-Linked-Size.
 */
function location(value: string, pairs: readonly Replacement[], original: URL): string | undefined {
  const canonical = canonicalUrl(value.trim(), pairs);
  if (canonical === undefined) return undefined;
  const url = new URL(canonical);
  return url.origin === original.origin ? url.pathname + url.search + url.hash : canonical;
}

/** `<https://mirror/…?cursor=…>; rel="next"`: each target stays absolute (a fetch of a relative URL fails in Node). */
function link(value: string, pairs: readonly Replacement[]): string | undefined {
  let changed = false;
  const out = value.replace(/<([^>]*)>/g, (whole, url: string) => {
    const canonical = canonicalUrl(url.trim(), pairs);
    if (canonical === undefined) return whole;
    changed = true;
    return `<${canonical}>`;
  });
  return changed ? out : undefined;
}

function rewrite(name: string, value: string, pairs: readonly Replacement[], original: URL): string | undefined {
  if (name === 'location') return location(value, pairs, original);
  if (name === 'link') return link(value, pairs);
  return canonicalUrl(value.trim(), pairs);
}

/**
 * Wraps a rule's response edit (or none) so that the `names` headers of a mirror's answer name the origin.
 * `replacements` is keyed by target label, like metadataRewriter's; the origin's answers are left alone.
 */
export function withCanonicalHeaders(
  names: readonly string[],
  replacements: ReadonlyMap<string, readonly Replacement[]>,
  inner?: ModifyResponse,
): ModifyResponse {
  // Longest prefix first: a mirror's root must not shadow a longer mount under it.
  const sorted = new Map([...replacements].map(([label, pairs]) => [label, [...pairs].sort((a, b) => b.from.length - a.from.length)]));
  const lower = names.map((n) => n.toLowerCase());
  return (res: Answer, target, original, method) => {
    const edit = inner?.(res, target, original, method);
    const pairs = sorted.get(target.label);
    if (!pairs?.length) return edit;
    const headers: http.OutgoingHttpHeaders = edit ? { ...edit.headers } : stripHopByHop(res.headers);
    let changed = false;
    for (const name of lower) {
      const value = headers[name];
      if (typeof value === 'string') {
        const out = rewrite(name, value, pairs, original);
        if (out !== undefined) [headers[name], changed] = [out, true];
      } else if (Array.isArray(value)) {
        const out = value.map((v) => rewrite(name, v, pairs, original));
        if (out.some((v) => v !== undefined)) [headers[name], changed] = [out.map((v, i) => v ?? value[i]!), true];
      }
    }
    if (!changed) return edit;
    return { headers, transforms: edit?.transforms ?? [] };
  };
}
