// Hardening (issue 4): faults injected by fake targets on 127.0.0.1 and hostile input on the proxy port.
// What test/faults.test.ts and test/lifecycle.test.ts already cover is not repeated here; these add:
// resets followed by a working request through the SAME proxy, a TLS handshake that never completes
// (connect timeout), the three timeouts told apart, upstream sockets released while detour still runs,
// a SIGKILLed child and a double SIGINT, focused bad-input cases, and a 1,500-input seeded fuzz barrage.
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { answer, CURL, makeWorld, needs, type World } from './fixtures/detour.js';
import { alive, startDetour, startSilentServer, until, within } from './fixtures/live.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const FUZZ_CLIENT = join(FIXTURES, 'fuzz-client.mjs');
const RAW_PROXY = join(FIXTURES, 'raw-proxy.mjs');

const lines = (s: string) => s.split('\n').filter((l) => l !== '');
const leftovers = (w: World) => readdirSync(w.tmp).filter((e) => e.startsWith('detour-'));

/** key=value lines of the child's output → object. */
const kv = (text: string) => Object.fromEntries(lines(text).flatMap((l) => (/^[\w-]+=/.test(l) ? [[l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]] : [])));

/** The upstream sockets a fake server has seen, and which of them are still open. */
function socketLog() {
  const open = new Set<Socket>();
  let seen = 0;
  return {
    track(req: IncomingMessage) {
      const s = req.socket;
      if (open.has(s)) return;
      seen++;
      open.add(s);
      s.once('close', () => open.delete(s));
    },
    open: () => open.size,
    seen: () => seen,
  };
}

/** Flags mapping EVERY other host and port to a dead 127.0.0.1 port (after the world's own mappings). */
async function deadEnd(w: World): Promise<string> {
  return `--connect-to=::127.0.0.1:${await w.deadPort()}`;
}

// ---------------------------------------------------------------------------------------------------
// 1. Faults

t.test('mid-body resets, Content-Length and chunked: the next request through the same proxy works, on a fresh upstream connection', { skip: needs('sh', 'curl') }, async (t) => {
  const w = await makeWorld(t);
  const portsFor: Record<string, number[]> = {};
  await w.https('flaky.mirror.test', (req, res) => {
    (portsFor[req.url ?? ''] ??= []).push(req.socket.remotePort ?? 0);
    if (req.url === '/sized') {
      res.writeHead(200, { 'content-length': '100000' });
      res.write(Buffer.alloc(20000, 'a'), () => res.socket?.destroy());
    } else if (req.url === '/chunked') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(20000, 'b'), () => res.socket?.destroy());
    } else answer(200, 'fine')(req, res, Buffer.alloc(0));
  });
  // /warm leaves a pooled keep-alive socket behind; the reset requests take it and kill it.
  const script = [
    'curl -sS -o /dev/null https://registry.npmjs.org/warm; echo "warm=$?"',
    'curl -sS -o /dev/null https://registry.npmjs.org/sized; echo "sized=$?"',
    'curl -sS -o /dev/null https://registry.npmjs.org/chunked; echo "chunked=$?"',
    'echo "after=$(curl -sS --max-time 20 -w " %{http_code}" https://registry.npmjs.org/after)"',
  ].join('\n');
  const r = await w.detour([...w.flags(), '-v', '-m', 'registry.npmjs.org=https://flaky.mirror.test', '--', 'sh', '-c', script]);
  t.equal(r.code, 0, r.stderr);
  const got = kv(r.stdout);
  t.equal(got.warm, '0');
  t.match(got.sized, /^(18|56|92)$/, 'Content-Length body cut short: curl fails');
  t.match(got.chunked, /^(18|56|92)$/, 'chunked body cut short: curl fails');
  t.equal(got.after, 'fine 200', 'the next request through the same detour works');
  t.match(r.stderr, /registry\.npmjs\.org\/sized\b.*mid-body/, 'detour logs the Content-Length reset');
  t.match(r.stderr, /registry\.npmjs\.org\/chunked\b.*mid-body/, 'detour logs the chunked reset');
  const broken = [...(portsFor['/sized'] ?? []), ...(portsFor['/chunked'] ?? [])];
  t.equal(portsFor['/after']?.length, 1);
  t.notOk(broken.includes(portsFor['/after']![0]!), 'the next request did not get a dead pooled socket');
});

t.test('a target that accepts TCP and never answers the TLS handshake: E_CONNECT_TIMEOUT, 504 naming it, socket released', { skip: needs('sh', 'curl') }, async (t) => {
  const w = await makeWorld(t);
  const silent = await startSilentServer(t);
  w.map('stall-tls.mirror.test', silent.port);
  w.map('down.mirror.test', await w.deadPort());
  // The last target of the chain stalls: the client gets 504 with a body naming every target and why.
  const d = startDetour(t, w, [
    ...w.flags(),
    '--timeout',
    '500',
    '-m',
    'registry.npmjs.org=https://down.mirror.test|https://stall-tls.mirror.test',
    '--',
    'sh',
    '-c',
    'curl -sS --max-time 20 -w "\\n%{http_code} %{time_appconnect} %{time_starttransfer}\\n" https://registry.npmjs.org/pkg; echo "curl-done $?"; read line; echo "bye $line"',
  ]);
  await d.waitFor(/^curl-done 0$/m);
  const out = d.stdout();
  const [status, tls, firstByte] = /\n(\d{3}) ([\d.]+) ([\d.]+)\ncurl-done/.exec(out)!.slice(1);
  // From curl's TLS session with detour being up to the first byte of the answer: detour's own time.
  const waited = Number(firstByte) - Number(tls);
  t.equal(status, '504', 'a timeout as the last failure → 504');
  t.ok(waited >= 0.45 && waited < 2.5, `answered after the 500 ms connect timeout, not later (${waited.toFixed(3)} s)`);
  t.match(out, /^detour: every target failed for GET https:\/\/registry\.npmjs\.org\/pkg$/m, 'a clear first line');
  t.match(out, /down\.mirror\.test.*E_CONNECT\b/, 'names the first target and its connect error');
  t.match(out, /stall-tls\.mirror\.test.*E_CONNECT_TIMEOUT/, 'names the stalled target and its connect timeout');
  t.notMatch(out, /E_FIRST_BYTE_TIMEOUT/, 'not confused with a first-byte timeout');
  t.ok(silent.accepted() >= 1, 'the stalled target was reached');
  t.ok(await until(() => silent.open() === 0, 3000), 'the stalled connection is closed by detour while it still runs');
  t.ok(alive(d.pid), 'detour was still running when the socket closed');
  d.send('now');
  const exit = await within(d.exited, 10_000, 'detour to exit');
  t.equal(exit.code, 0);
  t.match(d.stdout(), /bye now/);

  // With '|', the stalled target falls through to the next one.
  const good = await w.https('good.mirror.test', answer(200, 'good'));
  const r = await w.detour([...w.flags(), '-v', '--timeout', '500', '-m', 'registry.npmjs.org=https://stall-tls.mirror.test|https://good.mirror.test', '--', ...CURL, 'https://registry.npmjs.org/pkg']);
  t.equal(r.stdout, 'good\n200');
  t.equal(good.requests.length, 1);
  t.match(r.stderr, /stall-tls\.mirror\.test:E_CONNECT_TIMEOUT → good\.mirror\.test:200/, '-v names the fallback and why');
});

t.test('connect, first-byte and idle timeouts are told apart', { skip: needs('sh', 'curl') }, async (t) => {
  const w = await makeWorld(t);
  const silent = await startSilentServer(t);
  w.map('stall-tls.mirror.test', silent.port);
  await w.https('silent.mirror.test', () => undefined); // reads the request, never answers
  const stalled = socketLog();
  await w.https('stall-body.mirror.test', (req, res) => {
    stalled.track(req);
    res.writeHead(200, { 'content-length': '100000' });
    res.write(Buffer.alloc(1000, 'c')); // then nothing, connection kept open
  });
  const log = join(w.work, 'detour.jsonl');
  // time_appconnect: curl's TLS session with detour is up; from there to the first byte, and from the first
  // byte to the end, is detour's doing (the leaf key, made once per run, is not counted).
  const curl = (name: string) =>
    `curl -sS --max-time 20 -o ${name}.body -w "${name}=%{http_code} %{time_appconnect} %{time_starttransfer} %{time_total}\\n" https://${name}.origin.test/x; echo "${name}-rc=$?"`;
  const r = await w.detour(
    [
      ...w.flags(),
      '-v',
      '--log-file',
      log,
      '--timeout',
      '800',
      '--idle-timeout',
      '400',
      '-m',
      'connect.origin.test=https://stall-tls.mirror.test',
      '-m',
      'firstbyte.origin.test=https://silent.mirror.test',
      '-m',
      'idle.origin.test=https://stall-body.mirror.test',
      '--',
      'sh',
      '-c',
      ['connect', 'firstbyte', 'idle'].map(curl).join('\n'),
    ],
    { timeoutMs: 60_000 },
  );
  t.equal(r.code, 0, r.stderr);
  const got = kv(r.stdout);
  const body = (name: string) => readFileSync(join(w.work, `${name}.body`), 'utf8');
  const times = (name: string) => got[name]!.split(' ').slice(1).map(Number) as [number, number, number];
  const toFirstByte = (name: string) => times(name)[1] - times(name)[0];
  const afterFirstByte = (name: string) => times(name)[2] - times(name)[1];

  t.equal(got.connect?.split(' ')[0], '504', 'connect timeout → 504');
  t.match(body('connect'), /E_CONNECT_TIMEOUT/);
  t.notMatch(body('connect'), /E_FIRST_BYTE_TIMEOUT|E_IDLE_TIMEOUT/);
  t.ok(toFirstByte('connect') >= 0.75 && toFirstByte('connect') < 2.5, `answered after the 800 ms connect timeout (${toFirstByte('connect').toFixed(3)} s)`);

  t.equal(got.firstbyte?.split(' ')[0], '504', 'first-byte timeout → 504');
  t.match(body('firstbyte'), /E_FIRST_BYTE_TIMEOUT/);
  t.notMatch(body('firstbyte'), /E_CONNECT_TIMEOUT|E_IDLE_TIMEOUT/);
  t.ok(toFirstByte('firstbyte') >= 0.75 && toFirstByte('firstbyte') < 2.5, `answered after the 800 ms first-byte timeout (${toFirstByte('firstbyte').toFixed(3)} s)`);

  t.match(got['idle-rc'], /^(18|56|92)$/, `a body stalled mid-way: curl fails (${got['idle-rc']}), never a short success`);
  t.equal(got.idle?.split(' ')[0], '200', 'the status line had gone out already');
  t.ok(
    afterFirstByte('idle') >= 0.35 && afterFirstByte('idle') < 2.5,
    `the idle timeout (400 ms) ended it, not a later one (${afterFirstByte('idle').toFixed(3)} s after the first byte)`,
  );
  t.equal(stalled.open(), 0, 'the stalled upstream socket was closed');

  const idleLine = lines(r.stderr).find((l) => l.includes('https://idle.origin.test/x')) ?? '';
  t.match(idleLine, /mid-body/, `-v says the body broke mid-way: ${idleLine}`);
  // README: "the fallback chain, the 502/504 body, the -v line and the log all read the same code".
  const why = idleLine.slice(idleLine.indexOf(' ! ') + 3);
  t.match(why, /E_IDLE_TIMEOUT|idle/i, `the -v line says it was the IDLE timeout: ${why}`);
  const records = readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { url?: string; error?: string; attempts?: { error?: { code: string } }[] });
  const rec = (name: string) => {
    const { error, attempts } = records.find((x) => x.url === `https://${name}.origin.test/x`) ?? {};
    return JSON.stringify({ error, attempts: attempts?.map((a) => a.error) });
  };
  t.match(rec('connect'), /E_CONNECT_TIMEOUT/, 'log: connect timeout code');
  t.match(rec('firstbyte'), /E_FIRST_BYTE_TIMEOUT/, 'log: first-byte timeout code');
  t.match(rec('idle'), /E_IDLE_TIMEOUT|idle/i, `log: the idle timeout is named as such: ${rec('idle')}`);
});

t.test('a client that disconnects releases the upstream socket, mid-download and before the headers', { skip: needs('sh', 'curl') }, async (t) => {
  const w = await makeWorld(t);
  const streaming = socketLog();
  const timers = new Set<NodeJS.Timeout>();
  t.teardown(() => timers.forEach(clearInterval));
  await w.https('stream.mirror.test', (req, res: ServerResponse) => {
    streaming.track(req);
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const timer = setInterval(() => res.write(Buffer.alloc(4096)), 20);
    timers.add(timer);
    res.on('close', () => clearInterval(timer));
  });
  const waiting = socketLog();
  await w.https('slow.mirror.test', (req) => waiting.track(req)); // never answers
  // --timeout 20000: only the client's leaving can end the silent request within the test's bound. Each curl
  // runs in the background and is killed (SIGTERM) once the test has seen its request at the mirror.
  const d = startDetour(t, w, [
    ...w.flags(),
    '--timeout',
    '20000',
    '-m',
    'registry.npmjs.org=https://stream.mirror.test',
    '-m',
    'pypi.org=https://slow.mirror.test',
    '--',
    'sh',
    '-c',
    [
      'curl -sS --max-time 60 -o /dev/null https://registry.npmjs.org/big & pid=$!; echo "download-started $pid"',
      'read line; kill $pid; wait $pid; echo "download-rc=$?"',
      'curl -sS --max-time 60 -o /dev/null https://pypi.org/simple/x/ & pid=$!; echo "headers-started $pid"',
      'read line; kill $pid; wait $pid; echo "headers-rc=$?"',
      'read line',
    ].join('\n'),
  ]);
  d.adopt(Number((await d.waitFor(/^download-started (\d+)$/m))[1]));
  t.ok(await until(() => streaming.open() === 1, 20_000), 'the download is streaming from the mirror');
  d.send('leave');
  await d.waitFor(/^download-rc=143$/m);
  t.equal(streaming.seen(), 1, 'one upstream connection for the download');
  t.ok(await until(() => streaming.open() === 0, 5000), 'mid-download: the mirror sees its socket closed');
  t.ok(alive(d.pid), 'while detour still runs');

  d.adopt(Number((await d.waitFor(/^headers-started (\d+)$/m))[1]));
  t.ok(await until(() => waiting.open() === 1, 20_000), 'the request is waiting at the silent mirror');
  d.send('leave');
  await d.waitFor(/^headers-rc=143$/m);
  t.ok(await until(() => waiting.open() === 0, 5000), 'before the headers: the mirror sees its socket closed (not after --timeout)');
  t.ok(alive(d.pid), 'while detour still runs');
  d.send('done');
  t.equal((await within(d.exited, 10_000, 'detour to exit')).code, 0);
});

t.test('a child SIGKILLed from outside while a download streams: detour exits 137 promptly and cleans up', { skip: needs('sh', 'curl') }, async (t) => {
  const w = await makeWorld(t);
  const streaming = socketLog();
  const timers = new Set<NodeJS.Timeout>();
  t.teardown(() => timers.forEach(clearInterval));
  await w.https('stream.mirror.test', (req, res: ServerResponse) => {
    streaming.track(req);
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const timer = setInterval(() => res.write(Buffer.alloc(4096)), 20);
    timers.add(timer);
    res.on('close', () => clearInterval(timer));
  });
  // A background curl (a grandchild) keeps a connection through detour open when the child dies.
  const d = startDetour(t, w, [
    ...w.flags(),
    '-m',
    'registry.npmjs.org=https://stream.mirror.test',
    '--',
    'sh',
    '-c',
    'curl -sS --max-time 60 -o /dev/null https://registry.npmjs.org/big & echo "ready $$ $! $DETOUR_CA_FILE"; wait',
  ]);
  const m = await d.waitFor(/^ready (\d+) (\d+) (\S+)$/m);
  const [shPid, curlPid, caFile] = [Number(m[1]), Number(m[2]), m[3]!];
  d.adopt(shPid);
  d.adopt(curlPid);
  t.ok(await until(() => streaming.open() === 1, 20_000), 'the download is streaming');
  t.ok(existsSync(caFile), 'the run folder exists while the child runs');
  const killedAt = Date.now();
  process.kill(shPid, 'SIGKILL');
  const exit = await within(d.exited, 10_000, 'detour to exit after its child was SIGKILLed');
  t.equal(exit.code, 137, 'child died of SIGKILL → 128+9');
  t.ok(exit.at - killedAt < 3000, `detour exited ${exit.at - killedAt} ms after the kill (bound 3000)`);
  t.notOk(existsSync(dirname(caFile)), 'the run folder is gone');
  t.same(leftovers(w), [], 'TMPDIR holds no detour-* entry');
  t.ok(await until(() => streaming.open() === 0, 5000), 'the upstream download was aborted');
  t.ok(await until(() => !alive(curlPid), 10_000), 'the orphaned curl lost its connection and ended');
});

t.test('SIGINT twice ends a child that traps SIGINT, within a bound', { skip: needs('sh') }, async (t) => {
  const w = await makeWorld(t);
  const d = startDetour(t, w, ['--no-upstream', '-m', 'npm', '--', 'sh', '-c', 'trap "echo saw-INT" INT; echo "ready $$ $DETOUR_CA_FILE"; while :; do sleep 0.05; done']);
  const m = await d.waitFor(/^ready (\d+) (\S+)$/m);
  d.adopt(Number(m[1]));
  process.kill(d.pid, 'SIGINT');
  await d.waitFor(/^saw-INT$/m); // the first one was delivered and survived
  const secondAt = Date.now();
  process.kill(d.pid, 'SIGINT');
  const exit = await within(d.exited, 10_000, 'detour to end after the second SIGINT');
  t.equal(exit.code, 137, 'the child was SIGKILLed: 128+9');
  t.ok(exit.at - secondAt < 3000, `ended ${exit.at - secondAt} ms after the second SIGINT (bound 3000)`);
  t.notOk(alive(Number(m[1])), 'the child is gone');
  t.notOk(existsSync(dirname(m[2]!)), 'the run folder is gone');
  t.same(leftovers(w), []);
});

// ---------------------------------------------------------------------------------------------------
// 2. Bad input, focused: each of these crashed detour or was answered wrongly when first found

t.test('a Go module path with broken percent-encoding is answered, not a crash', { skip: needs('sh', 'curl') }, async (t) => {
  const w = await makeWorld(t);
  const script = [
    'for u in http://proxy.golang.org/%zz/@v/list https://proxy.golang.org/%zz/@v/list http://sum.golang.org/lookup/a%E0%A4%A@v1.0.0; do',
    '  echo "status=$(curl -sS --max-time 10 -o /dev/null -w "%{http_code}" "$u" 2>/dev/null) $u"',
    'done',
    'echo "alive=$(curl -sS --max-time 10 -o /dev/null -w "%{http_code}" https://registry.npmjs.org/ok)"',
  ].join('\n');
  await w.https('ok.mirror.test', answer(200, 'ok'));
  const r = await w.detour([...w.flags(), '-m', 'go', '-m', 'registry.npmjs.org=https://ok.mirror.test', await deadEnd(w), '--', 'sh', '-c', script]);
  t.notMatch(r.stderr, /URIError|internal error|\n\s+at /, `no crash, no stack trace: ${r.stderr}`);
  t.equal(r.code, 0, 'detour lived to return the child’s status');
  const statuses = lines(r.stdout).filter((l) => l.startsWith('status='));
  t.equal(statuses.length, 3);
  for (const l of statuses) t.match(l, /^status=4\d\d /, `answered 4xx: ${l}`);
  t.match(r.stdout, /^alive=200$/m, 'and the proxy still serves');
});

t.test('a non-origin-form request target inside an intercepted tunnel is answered, not a crash', { skip: needs('sh') }, async (t) => {
  const w = await makeWorld(t);
  const ok = await w.https('ok.mirror.test', answer(200, 'ok'));
  const steps = [
    { name: 'absolute-8443', tunnel: { host: 'registry.npmjs.org', port: 8443 }, request: 'GET http://elsewhere.test/x HTTP/1.1\r\nHost: elsewhere.test\r\n\r\n' },
    { name: 'asterisk-8443', tunnel: { host: 'registry.npmjs.org', port: 8443 }, request: 'OPTIONS * HTTP/1.1\r\nHost: registry.npmjs.org\r\n\r\n' },
    { name: 'absolute-443', tunnel: { host: 'registry.npmjs.org', port: 443 }, request: 'GET http://elsewhere.test/x HTTP/1.1\r\nHost: elsewhere.test\r\n\r\n' },
    { name: 'alive', tunnel: { host: 'registry.npmjs.org', port: 443 }, request: 'GET /ok HTTP/1.1\r\nHost: registry.npmjs.org\r\nConnection: close\r\n\r\n' },
  ];
  const r = await w.detour([...w.flags(), '-v', '-m', 'registry.npmjs.org=https://ok.mirror.test', await deadEnd(w), '--', process.execPath, RAW_PROXY, JSON.stringify(steps)]);
  t.notMatch(r.stderr, /Invalid URL|internal error|\n\s+at /, `no crash, no stack trace: ${r.stderr}`);
  t.equal(r.code, 0, 'detour lived to return the child’s status');
  const got = Object.fromEntries(lines(r.stdout).map((l) => l.split(' ') as [string, string]));
  for (const name of ['absolute-8443', 'asterisk-8443', 'absolute-443']) t.match(got[name], /^[45]\d\d$/, `${name}: answered (${got[name]})`);
  t.equal(got.alive, '200', 'the proxy still serves');
  // The tunnel's host with the request target glued on ("registry.npmjs.orghttp") is no host at all.
  t.notMatch(r.stderr, /registry\.npmjs\.org(http|:8443http|:8443\*|\*)/, 'no request to a host made of the tunnel host and the target');
  t.equal(ok.requests.length, 1, 'only the well-formed request reached the mirror');
});

t.test('CONNECT targets that are not host:port are refused with 400, even with the credential', { skip: needs('sh') }, async (t) => {
  const w = await makeWorld(t);
  const targets = ['user@fuzz.test:443', 'fuzz.test%00:443', 'fu!zz.test:443', 'fuzz.test:0', 'fuzz.test:65536', 'fuzz.test', ':443', '[::1:443'];
  const steps = targets.map((target, i) => ({ name: `t${i}`, request: `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n{AUTH}\r\n` }));
  const r = await w.detour([...w.flags(), '-m', 'npm', await deadEnd(w), '--', process.execPath, RAW_PROXY, JSON.stringify(steps)]);
  t.equal(r.code, 0, r.stderr);
  const got = Object.fromEntries(lines(r.stdout).map((l) => l.split(' ') as [string, string]));
  targets.forEach((target, i) => t.equal(got[`t${i}`], '400', `CONNECT ${target} → 400`));
});

// ---------------------------------------------------------------------------------------------------
// 3. Bad input, the barrage

t.test('1,500 malformed or hostile inputs: the proxy never crashes, never answers 2xx/5xx to junk, then serves', { skip: needs('sh', 'curl') }, async (t) => {
  const w = await makeWorld(t);
  const mirror = await w.https('real.mirror.test', answer(200, 'real'));
  const seed = Number(process.env.FUZZ_SEED ?? 20240401);
  const count = 1500;
  // FUZZ_EXCLUDE=cat1,cat2 leaves categories out (to look past a known failure while it is being fixed).
  const exclude = process.env.FUZZ_EXCLUDE ? ` --exclude ${process.env.FUZZ_EXCLUDE}` : '';
  const excluded = new Set((process.env.FUZZ_EXCLUDE ?? '').split(','));
  // Every host without a mapping of its own (each well-formed request the barrage sends with the credential)
  // goes to a dead loopback port: nothing leaves the machine, everything unreachable is 502/504.
  const script = [
    `"${process.execPath}" "${FUZZ_CLIENT}" --seed ${seed} --count ${count} --intercept fuzz-intercept.test --check https://registry.npmjs.org/check --budget-ms 60000${exclude}`,
    'echo "curl=$(curl -sS --max-time 10 -w " %{http_code}" https://registry.npmjs.org/after)"',
  ].join('\n');
  const started = Date.now();
  const r = await w.detour(
    [
      ...w.flags(),
      '-m',
      'registry.npmjs.org=https://real.mirror.test',
      '-m',
      'fuzz-intercept.test=https://dead.mirror.test',
      '-m',
      'go',
      await deadEnd(w),
      '--',
      'sh',
      '-c',
      script,
    ],
    { timeoutMs: 85_000 },
  );
  t.comment(`fuzz barrage: ${Date.now() - started} ms, seed ${seed}`);
  const summaryLine = lines(r.stdout).find((l) => l.startsWith('{'));
  if (!summaryLine) {
    t.fail(`no summary from the fuzz client; detour status ${r.code}; stderr: ${r.stderr.slice(0, 3000)}`);
    return;
  }
  const summary = JSON.parse(summaryLine) as {
    total: number;
    failed: number;
    notRun: number;
    refused: number;
    suspects?: { id: number; category: string; sent: string }[];
    outcomes: Record<string, number>;
    categories: Record<string, { total: number; ok: number }>;
    failures: unknown[];
    check?: { status?: number; body?: string; error?: string };
  };
  t.comment(`outcomes: ${JSON.stringify(summary.outcomes)}`);
  t.comment(`categories: ${JSON.stringify(summary.categories)}`);
  t.ok(summary.total >= 1000, `at least 1,000 inputs (${summary.total})`);
  t.equal(summary.notRun, 0, 'every input was tried within the budget');
  t.equal(summary.refused, 0, `the proxy never went away (in flight when it did: ${JSON.stringify(summary.suspects ?? [])})`);
  const shown = summary.failures.slice(0, 8).map((f) => JSON.stringify(f).slice(0, 400));
  t.equal(summary.failed, 0, `every input answered 4xx or closed (or 502/504 where allowed); first failures:\n${shown.join('\n')}`);
  for (const [name, c] of Object.entries(summary.categories)) {
    t.ok(c.total >= 50, `category ${name}: ${c.total} inputs`);
    // Once the proxy is gone every input fails: per-category verdicts would only repeat that.
    if (!summary.refused) t.equal(c.ok, c.total, `category ${name}: ${c.ok} of ${c.total} as expected`);
  }
  t.equal(Object.keys(summary.categories).length + excluded.size - (excluded.has('') ? 1 : 0), 18, 'all 18 categories ran');
  t.same(summary.check, { status: 200, body: 'real' }, 'a real request through the same proxy works after the barrage');
  t.match(r.stdout, /^curl=real 200$/m, 'and so does curl');
  t.equal(mirror.requests.length, 2, 'nothing from the barrage reached the real mirror');
  t.equal(r.code, 0, 'detour returned the child’s status');
  t.notMatch(r.stderr, /internal error|Error:|\n\s+at /, `no internal error or stack trace on stderr: ${r.stderr.slice(0, 3000)}`);
});
