// Broken targets must reach the client as errors, never as short successes; a client that leaves
// aborts the upstream request; untrusted target certificates are failures of that target.
import t from 'tap';
import type { ServerResponse } from 'node:http';
import { answer, CURL, makeWorld } from './fixtures/detour.js';
import { makeTestCa } from './fixtures/tls.js';

/** Waits (bounded) until `check` is true. */
async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

t.test('a target that dies mid-body makes curl fail (Content-Length and chunked)', async (t) => {
  const w = await makeWorld(t);
  await w.https('sized.mirror.test', (_req, res) => {
    res.writeHead(200, { 'content-length': '100000' });
    res.write(Buffer.alloc(20000, 'a'), () => res.socket?.destroy());
  });
  await w.https('chunked.mirror.test', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write(Buffer.alloc(20000, 'b'), () => res.socket?.destroy());
  });
  const ok = await w.https('ok.mirror.test', answer(200, 'fine'));
  for (const name of ['sized', 'chunked']) {
    const r = await w.detour([...w.flags(), '-v', '-m', `registry.npmjs.org=https://${name}.mirror.test`, '--', 'curl', '-sS', '-o', '/dev/null', 'https://registry.npmjs.org/pkg']);
    t.not(r.code, 0, `${name}: curl exits non-zero (${r.code})`);
    // detour and curl share stderr, and a -v line can land inside curl's "curl: (18) …" between "(" and "18)"
    t.match(r.stderr, /(?:^|\()(18|56|92)\) /m, `${name}: curl reports a transfer error`);
    t.match(r.stderr, /failed mid-body/, `${name}: detour logs it`);
  }
  // The next request on a fresh connection works.
  const r = await w.detour([...w.flags(), '-m', 'registry.npmjs.org=https://ok.mirror.test', '--', ...CURL, 'https://registry.npmjs.org/pkg']);
  t.equal(r.stdout, 'fine\n200');
  t.equal(ok.requests.length, 1);
});

t.test('a client that goes away aborts the upstream request', async (t) => {
  const w = await makeWorld(t);
  let aborted = false;
  let timer: NodeJS.Timeout | undefined;
  t.teardown(() => clearInterval(timer));
  await w.https('slow.mirror.test', (_req, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    timer = setInterval(() => res.write(Buffer.alloc(1024)), 50);
    res.on('close', () => {
      clearInterval(timer);
      aborted = !res.writableFinished;
    });
  });
  const r = await w.detour([...w.flags(), '-m', 'registry.npmjs.org=https://slow.mirror.test', '--', 'curl', '-sS', '--max-time', '1', '-o', '/dev/null', 'https://registry.npmjs.org/pkg']);
  t.equal(r.code, 28, 'curl gave up (timeout)');
  t.ok(await until(() => aborted, 5000), 'the mirror saw its response aborted');
});

t.test('untrusted, expired and wrong-name target certificates fail that target; | falls through', async (t) => {
  const w = await makeWorld(t);
  const stranger = await makeTestCa();
  t.teardown(() => stranger.cleanup());
  const untrusted = await w.https('untrusted.mirror.test', answer(200, 'should not be read'), { untrusted: stranger });
  await w.https('expired.mirror.test', answer(200, 'should not be read'), { expired: true });
  const wrongName = await w.https('other-name.mirror.test', answer(200, 'should not be read'));
  w.map('wrong.mirror.test', wrongName.port);
  const good = await w.https('good.mirror.test', answer(200, 'good'));
  for (const name of ['untrusted', 'expired', 'wrong']) {
    const r = await w.detour([...w.flags(), '-m', `registry.npmjs.org=https://${name}.mirror.test`, '--', ...CURL, 'https://registry.npmjs.org/pkg']);
    t.match(r.stdout, new RegExp(`${name}\\.mirror\\.test[\\s\\S]*E_TLS[\\s\\S]*\\n502$`), `${name}: 502 naming a TLS failure`);
  }
  t.equal(untrusted.requests.length, 0, 'nothing was sent over the untrusted connection');
  const r = await w.detour([...w.flags(), '-m', 'registry.npmjs.org=https://untrusted.mirror.test|https://good.mirror.test', '--', ...CURL, 'https://registry.npmjs.org/pkg']);
  t.equal(r.stdout, 'good\n200');
  t.equal(good.requests.length, 1);
});

t.test('a target that accepts and never answers: first-byte timeout, 504, then the next target', async (t) => {
  const w = await makeWorld(t);
  await w.https('silent.mirror.test', () => undefined); // reads the request, never answers
  const good = await w.https('good.mirror.test', answer(200, 'good'));
  let r = await w.detour([...w.flags(), '--timeout', '500', '-m', 'registry.npmjs.org=https://silent.mirror.test', '--', ...CURL, 'https://registry.npmjs.org/pkg']);
  t.match(r.stdout, /E_FIRST_BYTE_TIMEOUT[\s\S]*\n504$/);
  r = await w.detour([...w.flags(), '--timeout', '500', '-m', 'registry.npmjs.org=https://silent.mirror.test|https://good.mirror.test', '--', ...CURL, 'https://registry.npmjs.org/pkg']);
  t.equal(r.stdout, 'good\n200');
  t.equal(good.requests.length, 1);
});
