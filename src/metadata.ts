// Canonical metadata: a mirror's metadata that names the mirror's own host (npm dist.tarball, PyPI hrefs,
// crates config.json `dl`) is rewritten back to the origin before the client sees it, so lockfiles record
// origin URLs and artifact requests come back through detour's rules. Streaming, bounded memory;
// artifacts are never touched (the preset decides what is metadata).
import type http from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import type { ModifyResponse, ResponseEdit } from './forwarder.js';
import { stripHopByHop } from './forwarder.js';

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
    this.needles = replacements.filter((r) => r.from.length > 0).map((r) => ({ from: Buffer.from(r.from), to: Buffer.from(r.to) }));
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

/**
 * The response edit for a rule: only answers from a mirror target (never the origin: its metadata already
 * names the origin), only 2xx, only metadata. `replacements` is keyed by target label.
 */
export function metadataRewriter(isMetadata: IsMetadata, pathPrefix: string, replacements: ReadonlyMap<string, readonly Replacement[]>): ModifyResponse {
  return (res: http.IncomingMessage, target, original): ResponseEdit | undefined => {
    const pairs = replacements.get(target.label);
    if (!pairs?.length) return undefined;
    const status = res.statusCode ?? 0;
    // Bodiless answers (HEAD, 204) keep their headers as they are: there is nothing to rewrite or decode.
    if (status < 200 || status >= 300 || status === 204 || (res as { req?: { method?: string } }).req?.method === 'HEAD') return undefined;
    const suffix = original.pathname.slice(pathPrefix.length);
    if (!isMetadata(suffix, String(res.headers['content-type'] ?? ''))) return undefined;
    const decode = decoder(res.headers['content-encoding']);
    if (decode === null) return undefined;
    const headers = stripHopByHop(res.headers);
    delete headers['content-length'];
    delete headers['content-encoding'];
    delete headers['content-md5'];
    // The body differs from the mirror's: a strong validator would lie.
    const etag = headers.etag;
    if (typeof etag === 'string' && !etag.startsWith('W/')) headers.etag = `W/${etag}`;
    return { headers, transforms: [...(decode ? [decode] : []), new ReplaceStream(pairs)] };
  };
}
