// A response body's way to the client: source → transforms… → destination, like stream.pipeline, minus the
// AbortController that pipeline makes for every call and aborts at the end (an AbortError with its stack
// trace per request: ~25 µs of CPU of a small request's ~0.5 ms here, measured with --cpu-prof).
import type { Readable, Writable } from 'node:stream';

export class PrematureClose extends Error {
  readonly code = 'ERR_STREAM_PREMATURE_CLOSE';
  constructor(what: string) {
    super(`${what} closed before the end of the body`);
  }
}

/**
 * Pipes the chain and calls `done` exactly once: with nothing when the destination has taken every byte
 * ('finish'), else with the first error or premature close anywhere in the chain, every stream destroyed.
 */
export function relay(chain: readonly [Readable, ...(Readable & Writable)[], Writable], done: (err?: Error) => void): void {
  let settled = false;
  const fail = (err: Error) => {
    if (settled) return;
    settled = true;
    for (const s of chain) s.destroy();
    done(err);
  };
  // A source destroyed before the relay began (its error kept in `errored`, emitted to nobody) fails at once.
  const source = chain[0];
  if (source.destroyed && !source.readableEnded) return fail(source.errored ?? new PrematureClose('the source'));
  const last = chain[chain.length - 1] as Writable;
  chain.forEach((s, i) => {
    s.on('error', fail); // stays attached after settling: a late 'error' must not become an uncaught one
    if (s === last) return;
    (s as Readable).pipe(chain[i + 1] as Writable);
    s.once('close', () => (s as Readable).readableEnded || fail(new PrematureClose(i === 0 ? 'the source' : 'a transform')));
  });
  last.once('close', () => last.writableFinished || fail(new PrematureClose('the destination')));
  last.once('finish', () => {
    if (settled) return;
    settled = true;
    done();
  });
}
