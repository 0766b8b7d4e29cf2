// relay() (src/relay.ts), the body path of every forwarded response: exactly one outcome, and every way a
// chain can break before the end reported as an error with the whole chain destroyed.
import t from 'tap';
import { PassThrough, Readable, Transform, Writable } from 'node:stream';
import { relay } from '../dist/relay.js';

function sink() {
  const chunks: Buffer[] = [];
  const w = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) });
  return { w, text: () => Buffer.concat(chunks).toString() };
}

/** Runs relay and resolves with every outcome it reported within `ms` (so a second call would be seen). */
function outcomes(chain: Parameters<typeof relay>[0], act: () => void = () => undefined, ms = 50): Promise<(Error | undefined)[]> {
  const seen: (Error | undefined)[] = [];
  relay(chain, (err) => seen.push(err));
  act();
  return new Promise((resolve) => setTimeout(() => resolve(seen), ms));
}

t.test('a complete body through a transform: one outcome without error, bytes intact', async (t) => {
  const out = sink();
  const upper = new Transform({ transform: (c: Buffer, _e, cb) => cb(null, c.toString().toUpperCase()) });
  const seen = await outcomes([Readable.from(['ab', 'cd']), upper, out.w]);
  t.same(seen, [undefined]);
  t.equal(out.text(), 'ABCD');
});

t.test('the source failing mid-body: one error, the destination destroyed', async (t) => {
  const source = new PassThrough();
  const out = sink();
  const seen = await outcomes([source, out.w], () => {
    source.write('partial');
    source.destroy(new Error('reset'));
  });
  t.equal(seen.length, 1);
  t.equal(seen[0]?.message, 'reset');
  t.ok(out.w.destroyed);
});

t.test('the source closing without an error before its end is a premature close', async (t) => {
  const source = new PassThrough();
  const out = sink();
  const seen = await outcomes([source, out.w], () => {
    source.write('partial');
    source.destroy();
  });
  t.equal(seen.length, 1);
  t.match(seen[0], { code: 'ERR_STREAM_PREMATURE_CLOSE', message: /the source/ });
  t.ok(out.w.destroyed);
});

t.test('the destination closing before it has everything (a client gone) stops the source', async (t) => {
  const source = new PassThrough();
  const out = sink();
  const seen = await outcomes([source, out.w], () => {
    source.write('partial');
    out.w.destroy();
  });
  t.equal(seen.length, 1);
  t.match(seen[0], { code: 'ERR_STREAM_PREMATURE_CLOSE', message: /the destination/ });
  t.ok(source.destroyed);
});

t.test('a transform failing: one error, every stream destroyed', async (t) => {
  const source = new PassThrough();
  const broken = new Transform({ transform: (_c, _e, cb) => cb(new Error('bad gzip')) });
  const out = sink();
  const seen = await outcomes([source, broken, out.w], () => source.end('x'));
  t.equal(seen.length, 1);
  t.equal(seen[0]?.message, 'bad gzip');
  t.ok(source.destroyed && broken.destroyed && out.w.destroyed);
});
