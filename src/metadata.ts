// Canonical metadata: every URL in a mirror's metadata that the origin would have given differently (npm
// dist.tarball, PyPI hrefs, relative ones included, crates config.json) is rewritten back to the origin's
// before the client sees it, so lockfiles record origin URLs and artifact requests come back through
// detour's rules. Streaming, bounded memory; artifacts are never touched (the preset decides what is metadata).
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import type { ModifyResponse, ResponseEdit } from './plan.js';
import { TargetError } from './errors.js';
import { stripHopByHop } from './headers.js';
import type { Answer } from './upstream.js';

export interface Replacement {
  readonly from: string;
  readonly to: string;
}

/**
 * Replaces every occurrence of each `from` with its `to`, across chunk boundaries, keeping at most
 * (longest `from` − 1) bytes back between chunks.
 */
export class ReplaceStream extends Transform {
  private readonly needles: { from: Buffer; to: Buffer }[];
  private readonly keepBack: number;
  private carry: Buffer = Buffer.alloc(0);

  constructor(replacements: readonly Replacement[]) {
    super();
    // Longest first: where two needles match at one place (`"/pypi/packages/` and `"/pypi/`), the longer wins.
    this.needles = replacements
      .filter((r) => r.from.length > 0)
      .map((r) => ({ from: Buffer.from(r.from), to: Buffer.from(r.to) }))
      .sort((a, b) => b.from.length - a.from.length);
    this.keepBack = Math.max(0, ...this.needles.map((n) => n.from.length - 1));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const parts: Buffer[] = [];
    let pos = 0;
    for (;;) {
      let best = -1;
      let which = 0;
      for (let i = 0; i < this.needles.length; i++) {
        const at = buf.indexOf(this.needles[i]!.from, pos);
        if (at >= 0 && (best < 0 || at < best)) {
          best = at;
          which = i;
        }
      }
      if (best < 0) break;
      parts.push(buf.subarray(pos, best), this.needles[which]!.to);
      pos = best + this.needles[which]!.from.length;
    }
    // No complete match starts at or after `pos`; a partial one can only start in the last keepBack bytes.
    const keep = Math.max(pos, buf.length - this.keepBack);
    parts.push(buf.subarray(pos, keep));
    this.carry = Buffer.from(buf.subarray(keep));
    done(null, Buffer.concat(parts));
  }

  override _flush(done: TransformCallback): void {
    done(null, this.carry);
  }
}

/** Swallows the mirror's body and writes the origin's document instead; memory is the document's size. */
class FixedBody extends Transform {
  constructor(private readonly doc: Buffer) {
    super();
  }

  override _transform(_chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    done();
  }

  override _flush(done: TransformCallback): void {
    done(null, this.doc);
  }
}

/**
 * The most a WholeDocument holds: 64 MiB. The documents canonicalised whole are metadata (composer's /p2
 * files today; npm packuments are of the same kind), and the largest npm packuments are tens of MB, so a real
 * document fits with room to spare, while a mirror sending something endless or huge cannot make detour hold
 * it all (and then its UTF-8 text and the edited copy: about three times the document at the peak).
 */
export const MAX_WHOLE_DOCUMENT_BYTES = 64 * 1024 * 1024;

/**
 * Holds the whole body and writes what `edit` makes of it (a document the ecosystem canonicalises as a whole).
 * A document `edit` cannot read (it throws: not JSON, a shape it does not know) passes on unchanged. A body over
 * `maxBytes` fails the stream (E_PROTOCOL): the forwarder then breaks the client's connection, so the client
 * never takes a truncated or unrewritten document for the whole one.
 */
export class WholeDocument extends Transform {
  private chunks: Buffer[] = [];
  private held = 0;

  constructor(
    private readonly edit: (text: string) => string,
    private readonly maxBytes: number = MAX_WHOLE_DOCUMENT_BYTES,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.held += chunk.length;
    if (this.held > this.maxBytes) {
      this.chunks = []; // nothing of it will be written: let it go now
      done(new TargetError('E_PROTOCOL', `metadata document over ${this.maxBytes} bytes, the most detour holds to canonicalise one`));
      return;
    }
    this.chunks.push(chunk);
    done();
  }

  override _flush(done: TransformCallback): void {
    const text = Buffer.concat(this.chunks).toString('utf8');
    let out = text;
    try {
      out = this.edit(text);
    } catch {
      // left as the mirror wrote it; the byte replacement after this still applies
    }
    done(null, Buffer.from(out));
  }
}

/** The path that leads from the folder of `page` to `target` (both absolute paths): `../../packages/`. */
function relativePath(page: string, target: string): string {
  const from = page.slice(0, page.lastIndexOf('/') + 1).split('/').slice(1, -1);
  const to = target.split('/').slice(1);
  let common = 0;
  while (common < from.length && common < to.length - 1 && from[common] === to[common]) common++;
  return '../'.repeat(from.length - common) + to.slice(common).join('/');
}

/**
 * A mirror page's links that are not absolute (`../../packages/…` as bandersnatch writes them, `/packages/…`,
 * `//host/packages/…`) resolve against the page's URL. The client reads the page at the origin's URL, where
 * they would name the origin's host (`https://pypi.org/packages/…`, a URL that exists nowhere): each
 * spelling that the client would resolve differently from the canonical URL becomes a quoted needle
 * (`"../../packages/` → `"https://files.pythonhosted.org/packages/`), in HTML attributes and JSON strings.
 */
export function relativeLinkPairs(pairs: readonly Replacement[], page: URL, original: URL): Replacement[] {
  const out: Replacement[] = [];
  for (const { from, to } of pairs) {
    const prefix = new URL(from.replace(/\/?$/, '/'));
    if (prefix.origin !== page.origin) continue;
    const canonical = to.replace(/\/?$/, '/');
    const spellings = [prefix.pathname, relativePath(page.pathname, prefix.pathname), `//${prefix.host}${prefix.pathname}`];
    for (const ref of new Set(spellings)) {
      if (ref === '' || new URL(ref, original).href === canonical) continue; // the client already gets it right
      for (const quote of ['"', "'"]) out.push({ from: quote + ref, to: quote + canonical });
    }
  }
  return out;
}

function decoder(encoding: string | undefined): NodeJS.ReadWriteStream | undefined | null {
  switch ((encoding ?? 'identity').trim().toLowerCase()) {
    case 'identity':
    case '':
      return undefined;
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'br':
      return zlib.createBrotliDecompress();
    case 'deflate':
      return zlib.createInflate();
    default:
      return null; // unknown coding: leave the body alone rather than corrupt it
  }
}

/** Decides, per preset route, which answers are metadata (never artifacts). */
export type IsMetadata = (suffix: string, contentType: string) => boolean;

/** What a preset route says about its metadata. */
export interface MetadataSpec {
  readonly isMetadata: IsMetadata;
  /** Documents whose every URL the origin fixes, answered as the origin serves them (crates config.json). */
  readonly originDocument?: (suffix: string) => string | undefined;
  /** Its pages link with relative URLs, as HTML and JSON pages may (PyPI simple pages). */
  readonly relativeLinks?: boolean;
  /** Documents canonicalised as a whole before the replacements (see PresetRoute.canonicalDocument). */
  readonly canonicalDocument?: (text: string, at: { readonly suffix: string; readonly mirrorUrl: URL }) => string;
}

/**
 * The response edit for a rule: only answers from a mirror target (never the origin: its metadata already
 * names the origin), only 2xx, only metadata. `replacements` is keyed by target label.
 */
export function metadataRewriter(spec: MetadataSpec, pathPrefix: string, replacements: ReadonlyMap<string, readonly Replacement[]>): ModifyResponse {
  return (res: Answer, target, original, method): ResponseEdit | undefined => {
    const pairs = replacements.get(target.label);
    if (!pairs?.length) return undefined;
    const status = res.statusCode ?? 0;
    // Bodiless answers (HEAD, 204) keep their headers as they are: there is nothing to rewrite or decode.
    if (status < 200 || status >= 300 || status === 204 || method === 'HEAD') return undefined;
    const suffix = original.pathname.slice(pathPrefix.length);
    if (!spec.isMetadata(suffix, String(res.headers['content-type'] ?? ''))) return undefined;
    const doc = spec.originDocument?.(suffix);
    const decode = doc === undefined ? decoder(res.headers['content-encoding']) : undefined;
    if (decode === null) return undefined;
    const headers = stripHopByHop(res.headers);
    delete headers['content-length'];
    delete headers['content-encoding'];
    delete headers['content-md5'];
    // The body differs from the mirror's: a strong validator would lie.
    const etag = headers.etag;
    if (typeof etag === 'string' && !etag.startsWith('W/')) headers.etag = `W/${etag}`;
    if (doc !== undefined) {
      // A mirror's config.json names its own API (cargo publish would send the crates.io token there): the
      // client gets the origin's document, whatever the mirror's said.
      const body = Buffer.from(doc);
      return { headers: { ...headers, 'content-type': 'application/json', 'content-length': body.length }, transforms: [new FixedBody(body)] };
    }
    const all = spec.relativeLinks ? [...pairs, ...relativeLinkPairs(pairs, target.url, original)] : pairs;
    const canonical = spec.canonicalDocument;
    const whole = canonical ? [new WholeDocument((text) => canonical(text, { suffix, mirrorUrl: target.url }))] : [];
    return { headers, transforms: [...(decode ? [decode] : []), ...whole, new ReplaceStream(all)] };
  };
}
