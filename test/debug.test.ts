// Debug sessions: the -v lines and the exit summary, the --trace HAR 1.2 file, and plain `node` programs
// (https.get, http.get and fetch; CommonJS and ESM) routed by the NODE_OPTIONS preload.
import t from 'tap';
import type { Test } from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeWorld, answer } from './fixtures/detour.js';
import { startServer, type Handler } from './fixtures/servers.js';
import { startConnectProxy } from './fixtures/connectProxy.js';

/** Answers 200 with "mirror:<path>" and a cookie that must never reach the trace. */
const echo: Handler = (req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': 'sid=cookie-secret; Path=/' });
  res.end(`mirror:${req.url}`);
};

interface HarTimings {
  blocked: number;
  dns: number;
  connect: number;
  ssl: number;
  send: number;
  wait: number;
  receive: number;
}
interface HarEntry {
  startedDateTime: string;
  time: number;
  request: { method: string; url: string; httpVersion: string; headers: { name: string; value: string }[]; queryString: { name: string; value: string }[] };
  response: { status: number; headers: { name: string; value: string }[]; content: { size: number; mimeType: string } };
  timings: HarTimings;
  _detour: { kind: string; route: string; target?: string; targetUrl?: string; attempts: { target: string; status?: number; error?: { code: string } }[]; error?: string };
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isList = (v: unknown) => Array.isArray(v);

/** The HAR 1.2 structure (required fields and their types), entry by entry; returns the problems found. */
function harProblems(har: unknown): string[] {
  const bad: string[] = [];
  const log = (har as { log?: Record<string, unknown> }).log;
  if (!log || log.version !== '1.2') return ['log.version is not "1.2"'];
  const creator = log.creator as Record<string, unknown> | undefined;
  if (typeof creator?.name !== 'string' || typeof creator.version !== 'string') bad.push('log.creator');
  if (!isList(log.entries)) return [...bad, 'log.entries'];
  (log.entries as Record<string, any>[]).forEach((e, i) => {
    const at = (what: string) => bad.push(`entry ${i}: ${what}`);
    if (typeof e.startedDateTime !== 'string' || Number.isNaN(Date.parse(e.startedDateTime))) at('startedDateTime');
    if (!isNum(e.time) || e.time < 0) at('time');
    const q = e.request ?? {};
    for (const k of ['method', 'url', 'httpVersion']) if (typeof q[k] !== 'string') at(`request.${k}`);
    for (const k of ['cookies', 'headers', 'queryString']) if (!isList(q[k])) at(`request.${k}`);
    for (const k of ['headersSize', 'bodySize']) if (!isNum(q[k])) at(`request.${k}`);
    const s = e.response ?? {};
    if (!isNum(s.status)) at('response.status');
    for (const k of ['statusText', 'httpVersion', 'redirectURL']) if (typeof s[k] !== 'string') at(`response.${k}`);
    for (const k of ['cookies', 'headers']) if (!isList(s[k])) at(`response.${k}`);
    for (const k of ['headersSize', 'bodySize']) if (!isNum(s[k])) at(`response.${k}`);
    if (!isNum(s.content?.size) || typeof s.content?.mimeType !== 'string') at('response.content');
    if (typeof e.cache !== 'object' || e.cache === null) at('cache');
    const tm = e.timings ?? {};
    for (const k of ['send', 'wait', 'receive']) if (!isNum(tm[k]) || tm[k] < 0) at(`timings.${k} must be >= 0`);
    for (const k of ['blocked', 'dns', 'connect', 'ssl']) if (!isNum(tm[k]) || (tm[k] < 0 && tm[k] !== -1)) at(`timings.${k} must be >= 0 or -1`);
    // HAR: ssl is included in connect, so the total is every other non-negative phase.
    const sum = ['blocked', 'dns', 'connect', 'send', 'wait', 'receive'].map((k) => tm[k] as number).filter((n) => n >= 0).reduce((a, b) => a + b, 0);
    if (Math.abs(sum - e.time) > 0.01) at(`time ${e.time} is not the sum of the timings ${sum}`);
    if (tm.ssl >= 0 && tm.ssl > tm.connect + 0.001) at('ssl larger than connect');
  });
  return bad;
}

function readHar(file: string): { text: string; entries: HarEntry[]; har: unknown } {
  const text = readFileSync(file, 'utf8');
  const har = JSON.parse(text) as { log: { entries: HarEntry[] } };
  return { text, har, entries: har.log.entries };
}

const reqHeader = (e: HarEntry, name: string) => e.request.headers.find((h) => h.name.toLowerCase() === name)?.value;
const resHeader = (e: HarEntry, name: string) => e.response.headers.find((h) => h.name.toLowerCase() === name)?.value;

/** A plain-HTTP fake server reached as NAME:80 through --connect-to. */
async function plainHttp(t: Test, name: string, handler: Handler) {
  const server = await startServer({ handler });
  t.teardown(() => server.close());
  return { server, flag: `--connect-to=${name}:80:127.0.0.1:${server.port}` };
}

t.test('one run that mirrors, falls back, tunnels, blocks and fails: -v lines, summary and HAR', async (t) => {
  const w = await makeWorld(t);
  const good = await w.https('good.mirror.test', echo);
  const origin = await w.https('registry.npmjs.org', answer(200, 'from origin'));
  const tunneled = await w.https('example.org', answer(200, 'tunneled'));
  w.map('dead.mirror.test', await w.deadPort());
  w.map('dead2.mirror.test', await w.deadPort());
  const plain = await plainHttp(t, 'plain.test', answer(200, 'plain origin', { location: '/elsewhere' }));
  const trace = join(w.work, 'out', 'run.har');
  mkdirSync(join(w.work, 'out')); // detour makes no parent folder for --trace
  writeFileSync(
    join(w.work, 'session.sh'),
    [
      // Two requests on one client connection: the second reuses detour's pooled socket to the mirror.
      `curl -sS -o /dev/null -o /dev/null -H 'Authorization: Bearer s3cret-token' https://registry.npmjs.org/left-pad https://registry.npmjs.org/right-pad`,
      `curl -sS -o /dev/null https://example.org/hello`,
      `curl -sS -o /dev/null https://pypi.org/simple/x/`,
      `curl -sS -o /dev/null https://proxy.golang.org/github.com/private/x/@v/list`,
      `curl -sS -o /dev/null --request-target 'http://user:pw-secret@plain.test/creds?q=1' http://plain.test/creds`,
    ].join('\n') + '\n',
  );
  const r = await w.detour([
    ...w.flags(),
    plain.flag,
    '-v',
    '--trace',
    trace,
    '-m',
    'registry.npmjs.org=https://dead.mirror.test|https://good.mirror.test',
    '-m',
    'pypi.org=https://dead2.mirror.test',
    '-m',
    'go=https://good.mirror.test',
    '-d',
    'github.com/private',
    '--',
    'sh',
    'session.sh',
  ]);
  t.equal(r.code, 0, r.stderr);
  t.equal(origin.requests.length, 0, 'the origin received nothing');
  t.same(
    good.requests.map((q) => q.url),
    ['/left-pad', '/right-pad'],
  );
  t.equal(tunneled.requests.length, 1);
  t.equal(plain.server.requests[0]?.url, '/creds?q=1');

  // -v: one line per request, readable at a glance; no colour when stderr is not a terminal.
  const time = String.raw`\d\d:\d\d:\d\d\.\d{3}`;
  t.match(r.stderr, new RegExp(String.raw`^detour: ${time} GET https://registry\.npmjs\.org/left-pad \[mirror\] → good\.mirror\.test 200 \d+ B \d+ms \(tried dead\.mirror\.test:E_CONNECT → good\.mirror\.test:200\)$`, 'm'));
  t.match(r.stderr, new RegExp(String.raw`^detour: ${time} CONNECT example\.org:443 \[tunnel\] 200 \S+ K?i?B \d+ms$`, 'm'));
  t.match(r.stderr, new RegExp(String.raw`^detour: ${time} GET https://pypi\.org/simple/x/ \[mirror\] 502 0 B \d+ms ! cannot connect to dead2\.mirror\.test`, 'm'));
  t.match(r.stderr, new RegExp(String.raw`^detour: ${time} GET https://proxy\.golang\.org/github\.com/private/x/@v/list \[blocked\] 404 0 B \d+ms ! module github\.com/private/x is private`, 'm'));
  t.match(r.stderr, new RegExp(String.raw`^detour: ${time} GET http://\*\*\*@plain\.test/creds\?q=1 \[origin\] → origin 200 12 B \d+ms$`, 'm'));
  t.notMatch(r.stderr, /pw-secret/, 'URL credentials never printed');
  t.notMatch(r.stderr, /\x1b\[/, 'no colour codes when stderr is not a TTY');

  // The summary at exit.
  // Each request once: the failed one counts as a failure, not as mirrored.
  t.match(r.stderr, /^detour: 6 requests, 2 mirrored, 1 tunneled, 0 direct, 1 to origin, 1 blocked, 2 fallbacks, 1 failure, \S+ K?i?B$/m);
  t.match(r.stderr, /^detour: {3}mirrored +good\.mirror\.test 2$/m);
  t.match(r.stderr, /^detour: {3}tunnels +example\.org:443 1 \(\S+ K?i?B\)$/m);
  t.match(r.stderr, /^detour: {3}fallbacks +dead\.mirror\.test E_CONNECT 2$/m);
  t.match(r.stderr, /^detour: {3}broken +mirror dead\.mirror\.test 2 \(E_CONNECT\), mirror dead2\.mirror\.test 1 \(E_CONNECT\)$/m);
  t.match(r.stderr, /^detour: {3}failed +GET https:\/\/pypi\.org\/simple\/x\/ → 502: cannot connect to dead2\.mirror\.test/m);
  t.match(r.stderr, /^detour: {3}slowest +\d+ms (GET|CONNECT) \S+( · \d+ms (GET|CONNECT) \S+){2}$/m);

  // The HAR: structure, timings, the mirror beside the original URL, redaction, the tunnel.
  const { text, har, entries } = readHar(trace);
  t.same(harProblems(har), [], 'a valid HAR 1.2 file');
  t.equal(entries.length, 6);
  for (const secret of ['s3cret-token', 'cookie-secret', 'pw-secret']) t.notOk(text.includes(secret), `${secret} redacted`);

  const byUrl = (u: string) => entries.find((e) => e.request.url === u)!;
  const left = byUrl('https://registry.npmjs.org/left-pad');
  t.match(left._detour, {
    kind: 'exchange',
    route: 'mirror',
    target: 'good.mirror.test',
    targetUrl: 'https://good.mirror.test/left-pad',
    attempts: [{ target: 'dead.mirror.test', error: { code: 'E_CONNECT' } }, { target: 'good.mirror.test', status: 200 }],
  });
  t.equal(left.response.status, 200);
  t.equal(left.response.content.size, 'mirror:/left-pad'.length);
  t.equal(left.response.content.mimeType, 'text/plain');
  t.equal(reqHeader(left, 'authorization'), 'Bearer <redacted>', 'Authorization redacted, scheme kept');
  t.equal(resHeader(left, 'set-cookie'), '<redacted>');
  t.ok(left.timings.connect >= 0 && left.timings.ssl >= 0, `a new connection: connect and ssl measured (${JSON.stringify(left.timings)})`);
  t.ok(left.timings.blocked >= 0, 'blocked covers the dead target tried first');
  const right = byUrl('https://registry.npmjs.org/right-pad');
  t.equal(right.timings.connect, -1, 'reused keep-alive socket: connect -1');
  t.equal(right.timings.ssl, -1, 'reused keep-alive socket: ssl -1');

  const tunnel = byUrl('example.org:443');
  t.match(tunnel, { request: { method: 'CONNECT' }, response: { status: 200 }, _detour: { kind: 'tunnel', route: 'tunnel' } });
  t.ok(tunnel.response.content.size > 0, 'tunnel bytes counted');

  const failed = byUrl('https://pypi.org/simple/x/');
  t.match(failed, { response: { status: 502 }, _detour: { route: 'mirror', attempts: [{ target: 'dead2.mirror.test', error: { code: 'E_CONNECT' } }] } });
  t.match(failed._detour.error, /cannot connect/);
  t.match(byUrl('https://proxy.golang.org/github.com/private/x/@v/list'), { response: { status: 404 }, _detour: { route: 'blocked' } });

  const creds = byUrl('http://***@plain.test/creds?q=1');
  t.ok(creds, 'URL credentials redacted in the HAR');
  t.same(creds.request.queryString, [{ name: 'q', value: '1' }]);
  t.equal(reqHeader(creds, 'proxy-authorization'), 'Basic <redacted>', "detour's own credential redacted");
  t.equal(creds._detour.route, 'origin');
});

t.test('--trace through a slow upstream proxy: the proxy hop is in connect, not in ssl', async (t) => {
  // HAR's ssl is the TLS handshake alone; connect holds it and the TCP set-up before it, here an upstream proxy
  // that waits DELAY ms before it dials. A clock that started the handshake when the TLS context was asked for
  // (before TCP, as once happened) would put the wait in ssl too.
  const DELAY = 600;
  const w = await makeWorld(t);
  const mirror = await w.https('good.mirror.test', echo);
  const upstream = await startConnectProxy(() => ({ host: '127.0.0.1', port: mirror.port }), { delayMs: DELAY });
  t.teardown(() => upstream.close());
  const trace = join(w.work, 'slow.har');
  const flags = w.flags().filter((f) => f !== '--no-upstream');
  const r = await w.detour([...flags, '--upstream', upstream.url, '--trace', trace, '-m', 'registry.npmjs.org=https://good.mirror.test', '--', 'curl', '-sS', '-o', '/dev/null', 'https://registry.npmjs.org/x']);
  t.equal(r.code, 0, r.stderr);
  t.same(upstream.connects, [`127.0.0.1:${mirror.port}`], 'the mirror was reached through the upstream proxy (after --connect-to)');
  const [entry] = readHar(trace).entries.filter((e) => e._detour.kind === 'exchange');
  const { connect, ssl } = entry!.timings;
  t.ok(connect >= DELAY - 5, `connect holds the proxy's wait (${connect} ms; Node's timers may start up to a few ms early by the clock)`);
  t.ok(ssl >= 0 && ssl < connect - DELAY / 2, `ssl is the handshake alone (${ssl} ms of ${connect})`);
});

t.test('colour on request (FORCE_COLOR), never with NO_COLOR', async (t) => {
  const w = await makeWorld(t);
  await w.https('good.mirror.test', echo);
  const args = [...w.flags(), '-v', '-m', 'registry.npmjs.org=https://good.mirror.test', '--', 'curl', '-sS', '-o', '/dev/null', 'https://registry.npmjs.org/x'];
  let r = await w.detour(args, { env: { FORCE_COLOR: '1' } });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /\x1b\[32m\[mirror\]\x1b\[39m → good\.mirror\.test \x1b\[32m200\x1b\[39m/);
  r = await w.detour(args, { env: { FORCE_COLOR: '1', NO_COLOR: '1' } });
  t.notMatch(r.stderr, /\x1b\[/);
});

t.test('a child that crashes still leaves a valid HAR', async (t) => {
  const w = await makeWorld(t);
  await w.https('good.mirror.test', echo);
  const trace = join(w.work, 'crash.har');
  const r = await w.detour([...w.flags(), '--trace', trace, '-m', 'registry.npmjs.org=https://good.mirror.test', '--', 'sh', '-c', 'curl -sS -o /dev/null https://registry.npmjs.org/x; kill -9 $$']);
  t.equal(r.code, 128 + 9, 'the child died of SIGKILL');
  const { har, entries } = readHar(trace);
  t.same(harProblems(har), []);
  t.equal(entries.length, 1);

  const bad = await w.detour(['--trace', join(w.work, 'crash.har', 'under-a-file.har'), '--', 'true']);
  t.equal(bad.code, 2, 'an unwritable trace is a configuration error');
  t.match(bad.stderr, /^detour: cannot write --trace .*under-a-file\.har/);
});

// A client script: every request must go through detour (DNS is refused, so nothing can leave loopback
// by mistake), except the one to 127.0.0.1, which NO_PROXY keeps direct.
const NO_DNS = `dns.lookup = (host, opts, cb) => {
  if (typeof opts === 'function') cb = opts;
  process.nextTick(cb, Object.assign(new Error('test: no DNS for ' + host), { code: 'ENOTFOUND' }));
};`;
const GET = `const get = (mod, url) => new Promise((resolve, reject) => {
  mod.get(url, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c) => (body += c));
    res.on('end', () => resolve(res.statusCode + ' ' + body));
  }).on('error', reject);
});
const text = async (url) => { const res = await fetch(url); return res.status + ' ' + (await res.text()); };`;

const CJS = `const dns = require('node:dns');
const http = require('node:http');
const https = require('node:https');
${NO_DNS}
${GET}
(async () => {
  console.log('cjs https.get ' + (await get(https, 'https://registry.npmjs.org/cjs-https-get')));
  console.log('cjs http.get ' + (await get(http, 'http://registry.npmjs.org/cjs-http-get')));
  console.log('cjs fetch ' + (await text('https://registry.npmjs.org/cjs-fetch')));
  console.log('cjs fetch http ' + (await text('http://registry.npmjs.org/cjs-fetch-http')));
  console.log('cjs local ' + (await get(http, process.env.LOCAL_URL)));
  console.log('cjs user preload ' + (globalThis.userPreloadRan === true));
})().catch((e) => { console.error('client failed:', e); process.exit(1); });
`;

const ESM = `import dns from 'node:dns';
import http from 'node:http';
import { get as httpsGet, globalAgent } from 'node:https';
${NO_DNS}
${GET}
console.log('esm https.get ' + (await get({ get: httpsGet }, 'https://registry.npmjs.org/esm-https-get')));
console.log('esm fetch ' + (await text('https://registry.npmjs.org/esm-fetch')));
console.log('esm named globalAgent is the routed one ' + (globalAgent === (await import('node:https')).default.globalAgent));
console.log('esm local ' + (await text(process.env.LOCAL_URL)));
`;

t.test('plain node programs (CJS and ESM) reach the mirror through the rule: https.get, http.get, fetch', async (t) => {
  const w = await makeWorld(t);
  const mirror = await w.https('good.mirror.test', echo);
  const origin = await w.https('registry.npmjs.org', answer(200, 'from origin'));
  const local = await startServer({ handler: answer(200, 'local') });
  t.teardown(() => local.close());
  writeFileSync(join(w.work, 'client.cjs'), CJS);
  writeFileSync(join(w.work, 'client.mjs'), ESM);
  // The user's own NODE_OPTIONS is kept, with a path that needs quoting.
  mkdirSync(join(w.work, 'my dir'));
  writeFileSync(join(w.work, 'my dir', 'user preload.cjs'), 'globalThis.userPreloadRan = true;\n');
  const r = await w.detour(
    [...w.flags(), '-v', '-m', 'registry.npmjs.org=https://good.mirror.test', '--', 'sh', '-c', '"$NODE" client.cjs && "$NODE" client.mjs'],
    { env: { NODE: process.execPath, LOCAL_URL: `http://127.0.0.1:${local.port}/`, NODE_OPTIONS: `--require "${join(w.work, 'my dir', 'user preload.cjs')}"` } },
  );
  t.equal(r.code, 0, r.stderr);
  t.equal(
    r.stdout,
    [
      'cjs https.get 200 mirror:/cjs-https-get',
      'cjs http.get 200 mirror:/cjs-http-get',
      'cjs fetch 200 mirror:/cjs-fetch',
      'cjs fetch http 200 mirror:/cjs-fetch-http',
      'cjs local 200 local',
      'cjs user preload true',
      'esm https.get 200 mirror:/esm-https-get',
      'esm fetch 200 mirror:/esm-fetch',
      'esm named globalAgent is the routed one true',
      'esm local 200 local',
      '',
    ].join('\n'),
  );
  t.equal(origin.requests.length, 0, 'the origin received nothing');
  t.same(
    mirror.requests.map((q) => q.url),
    ['/cjs-https-get', '/cjs-http-get', '/cjs-fetch', '/cjs-fetch-http', '/esm-https-get', '/esm-fetch'],
  );
  t.equal(local.requests.length, 2, 'loopback reached directly');
  t.notMatch(r.stderr, /127\.0\.0\.1/, 'NO_PROXY: loopback never went through detour');
  t.match(r.stderr, /GET http:\/\/registry\.npmjs\.org\/cjs-http-get \[mirror\] → good\.mirror\.test 200/, 'plain http as an absolute-form proxy request');
  t.match(r.stderr, /GET https:\/\/registry\.npmjs\.org\/esm-fetch \[mirror\] → good\.mirror\.test 200/);
});
