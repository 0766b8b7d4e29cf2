// Broken targets must reach the client as errors, never as short successes; a client that leaves
// aborts the upstream request; untrusted target certificates are failures of that target.
import t from 'tap';
import type { ServerResponse } from 'node:http';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { answer, CURL, makeWorld, needs } from './fixtures/detour.js';
import { alive, startDetour, until, within } from './fixtures/live.js';
import { makeTestCa } from './fixtures/tls.js';

t.test('a target that dies mid-body makes curl fail at once (Content-Length and chunked)', async (t) => {
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
    const curl = ['curl', '-sS', '--max-time', '30', '-o', '/dev/null', '-w', '%{size_download} %{time_starttransfer} %{time_total}\\n'];
    const r = await w.detour([...w.flags(), '-v', '-m', `registry.npmjs.org=https://${name}.mirror.test`, '--', ...curl, 'https://registry.npmjs.org/pkg']);
    t.not(r.code, 0, `${name}: curl exits non-zero (${r.code})`);
    // detour and curl share stderr, and a -v line can land inside curl's "curl: (18) …" between "(" and "18)"
    t.match(r.stderr, /(?:^|\()(18|56|92)\) /m, `${name}: curl reports a transfer error`);
    t.match(r.stderr, /failed mid-body/, `${name}: detour logs it`);
    // The client's connection is broken at once: a response merely ended would leave a Content-Length client
    // waiting for the missing bytes until the proxy's keep-alive timeout (5 s) closed the connection.
    const [size, firstByte, total] = r.stdout.trim().split(' ').map(Number) as [number, number, number];
    t.ok(size > 0 && size < 100000, `${name}: curl got part of the body (${size} B)`);
    const after = Math.round((total - firstByte) * 1000);
    t.ok(after < 2000, `${name}: curl failed ${after} ms after the first byte (bound 2000)`);
  }
  // The next request on a fresh connection works.
  const r = await w.detour([...w.flags(), '-m', 'registry.npmjs.org=https://ok.mirror.test', '--', ...CURL, 'https://registry.npmjs.org/pkg']);
  t.equal(r.stdout, 'fine\n200');
  t.equal(ok.requests.length, 1);
});

t.test('a client that leaves mid-body aborts the upstream request at once, while detour still runs', { skip: needs('sh', 'curl') }, async (t) => {
  const w = await makeWorld(t);
  let sent = 0;
  let closedAt: number | undefined;
  let aborted = false;
  let timer: NodeJS.Timeout | undefined;
  t.teardown(() => clearInterval(timer));
  await w.https('slow.mirror.test', (req, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    timer = setInterval(() => res.write(Buffer.alloc(1024, 'x'), () => (sent += 1024)), 50); // ~20 KiB/s, for ever
    req.socket.once('close', () => {
      clearInterval(timer);
      closedAt = Date.now();
      aborted = !res.writableFinished;
    });
  });
  const body = join(w.work, 'body');
  // The child: a download in the background; on the test's word it kills curl, then waits for the last word, so
  // detour is still running while the test watches the mirror's socket.
  const script = [
    `curl -sS -N --max-time 60 -o '${body}' https://registry.npmjs.org/big & pid=$!; echo "started $pid"`,
    'read line; kill $pid; wait $pid; echo "curl-rc=$?"',
    'read line',
  ].join('\n');
  const d = startDetour(t, w, [...w.flags(), '-m', 'registry.npmjs.org=https://slow.mirror.test', '--', 'sh', '-c', script]);
  d.adopt(Number((await d.waitFor(/^started (\d+)$/m))[1]));
  const size = () => (existsSync(body) ? statSync(body).size : 0);
  t.ok(await until(() => size() > 0, 20_000), 'body bytes reached the client');
  t.comment(`the client had ${size()} B of the ${sent} B the mirror had sent when it left`);
  t.equal(closedAt, undefined, 'the mirror is still streaming');
  const leftAt = Date.now();
  d.send('leave');
  await d.waitFor(/^curl-rc=143$/m);
  t.ok(await until(() => closedAt !== undefined, 3000), `the mirror's socket closed ${closedAt === undefined ? 'not within 3000 ms' : `${closedAt - leftAt} ms`} after the client was killed (bound 3000)`);
  t.ok(aborted, 'its response was cut short, not finished');
  t.ok(alive(d.pid), 'detour was still running');
  d.send('done');
  t.equal((await within(d.exited, 10_000, 'detour to exit')).code, 0, 'the child ended normally');
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
