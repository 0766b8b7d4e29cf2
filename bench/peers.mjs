// The peers, run the way their users run them, each started once and kept for every run of the bench.
//
// mitmdump (Debian's `mitmproxy`, 8.1.1): `--map-remote` from the origin to the mirror, streaming bodies over
// 1 MiB, the mirror verified against the test CA (standing in for the public CA a real mirror has).
//   - eager (all defaults): on CONNECT it dials the *origin*, and finishes the origin's TLS handshake before
//     the client's, to copy its certificate and ALPN; where the origin is blocked that fails or stalls.
//   - lazy, as it must be set to never touch the origin: `connection_strategy=lazy` alone does not do it, since
//     `upstream_cert` (on by default) still makes mitmproxy finish a TLS handshake with the origin before
//     answering the client's (addons/tlsconfig.py, `establish_server_tls_first`); so `upstream_cert=false`
//     too, and `http2=false`: with no origin to copy ALPN from, mitmproxy offers HTTP/2 to the client, and it
//     never reuses an HTTP/1.1 upstream connection for an HTTP/2 client (proxy/layers/http/__init__.py,
//     `get_connection`, "h2_to_h1"): one mirror connection per request. Measured here on 200 GETs through
//     curl --parallel 16: 200 mirror TLS connections with HTTP/2 offered, 16 with `http2=false`.
//   Why the earlier setup of this bench (lazy, default upstream_cert, `--map-remote` to 127.0.0.1:PORT) took
//   10.2 s on S2 against 2.35 s: not the IP. With the origin reachable, mapping to 127.0.0.1 or to localhost
//   makes the same 16 mirror connections. Its origin, origin.bench.test, could not be resolved (mitmdump has no
//   --connect-to), so the handshake-first dial failed on every CONNECT (a DNS query leaving the machine each
//   time), curl was offered HTTP/2, and every one of the 2,000 requests opened its own mirror connection. The
//   same happens with a refused origin port: 200 of 200 requests, twice the time.
//   Both map to a host *name*, `localhost` (which the bench certificate names): it is the one name that
//   reaches loopback without DNS, and mitmdump has no --connect-to. Eager would dial proxy.golang.org in S4,
//   and lazy with default upstream_cert too: S4 runs the lazy setup above only.
//
// whistle 2 (npm `whistle`, the Node debugging proxy): `w2 run -M 'capture|disableH2'` (decrypt HTTPS; no HTTP/2
// to the client, see below) and a URL-mapping rule from the origin to the mirror, passed as shadow rules (`-r`),
// as typed into its Rules page. It is not a project dependency: install it once with
//     npm install --no-save --no-audit --no-fund --prefix bench/.peers whistle@2
// or point DETOUR_BENCH_WHISTLE at its bin/whistle.js; a global `w2` on PATH is used too. whistle asks
// registry.npmjs.org for updates, so it runs with bench/loopback-only.cjs preloaded (no byte leaves the machine).
// Its defaults open one upstream connection per request: on Node > 10 its keep-alive agent is disabled ("node 11
// and above have issues with cached connections", lib/config.js), `-M agent` turns it back on but with
// maxFreeSockets 0 (idle sockets are closed), and upstreams on a local address never use the agent.
// `-M capture|disableH2` (a mode listed in `w2 --help`): whistle 2.10 offers HTTP/2 to the client by default
// (lib/https/ca.js getSNIServer: allowHTTP1 = h2 on; lib/https/h2.js http2.createSecureServer), so curl --parallel
// multiplexes all of S2 over one connection, and Node's nghttp2 (1.61 in Node 20) ends that session with
// GOAWAY(INTERNAL_ERROR) once ~1,000 + 33/s stream resets have come in: its rapid-reset limit (CVE-2023-44487).
// whistle asks for 100,000 (h2.js, streamResetBurst) but Node 20 has no such option and ignores it. curl 7.88
// retries the in-flight transfers on a new connection, one fails with "send: no filter connected" (exit 2), which
// --parallel treats as fatal: the rest are aborted unsent (152 to 826 of 2,000 lost per run). Below 33 requests/s
// (--parallel-max 1) the same single connection carries all 2,000. With HTTP/2 off, curl speaks HTTP/1.1 and
// whistle answers every request with `Connection: close`: a client connection, CONNECT and TLS handshake each.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const guard = fileURLToPath(new URL('./loopback-only.cjs', import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((res) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
}

async function waitPort(port, what, child, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with status ${child.exitCode} before listening`);
    const up = await new Promise((res) => { const s = net.connect(port, '127.0.0.1', () => { s.destroy(); res(true); }); s.on('error', () => res(false)); });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen within ${ms / 1000} s`);
    await sleep(50);
  }
}

export const hasCommand = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** The two setups above: eager is mitmdump's defaults; lazy never dials the origin. */
export const MITM_SETUPS = {
  eager: [],
  lazy: ['--set', 'connection_strategy=lazy', '--set', 'upstream_cert=false', '--set', 'http2=false'],
};

/**
 * mitmdump with one --map-remote per [from, to] pair (`|//from/|//to/`), listening on 127.0.0.1.
 * setup: a key of MITM_SETUPS. Returns { port, caFile, pid, stop }.
 */
export async function startMitmdump({ work, env, setup, maps, upstreamCa }) {
  const name = setup;
  const confdir = join(work, `mitm-${name}`);
  mkdirSync(confdir, { recursive: true });
  const port = await freePort();
  const argv = ['-q', '--listen-host', '127.0.0.1', '-p', String(port), '--set', `confdir=${confdir}`,
    '--set', 'stream_large_bodies=1m', ...MITM_SETUPS[setup], '--set', `ssl_verify_upstream_trusted_ca=${upstreamCa}`,
    ...maps.flatMap(([from, to]) => ['--map-remote', `|//${from}/|//${to}/`])];
  const child = spawn('mitmdump', argv, { stdio: 'ignore', env });
  await waitPort(port, `mitmdump (${name})`, child);
  return { port, pid: child.pid, caFile: join(confdir, 'mitmproxy-ca-cert.pem'), stop: () => child.kill('SIGKILL') };
}

/** Where whistle is: DETOUR_BENCH_WHISTLE, bench/.peers (the one-time install above), or `w2` on PATH. */
export function findWhistle() {
  const candidates = [process.env.DETOUR_BENCH_WHISTLE, fileURLToPath(new URL('./.peers/node_modules/whistle/bin/whistle.js', import.meta.url))];
  for (const file of candidates) if (file && existsSync(file)) return { cmd: process.execPath, pre: [file] };
  return hasCommand('w2') ? { cmd: 'w2', pre: [] } : undefined;
}

/** GET through the proxy (absolute form), for whistle's own pages such as its root CA at http://rootca.pro/. */
function getVia(port, url) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: url, headers: { host: new URL(url).host }, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within 10 s`)));
    req.on('error', reject);
  });
}

/**
 * whistle in capture mode with URL-mapping rules ([from, to] URL prefixes), in a process group of its own (its
 * launcher forks a worker) so that stop() ends both. Returns { port, caFile, pid (the worker's), stop }.
 */
export async function startWhistle({ work, env, maps, found }) {
  const home = join(work, 'whistle-home');
  mkdirSync(home, { recursive: true });
  const port = await freePort();
  const rules = maps.map(([from, to]) => `${from} ${to}`).join('\n');
  const child = spawn(found.cmd, [...found.pre, 'run', '-H', '127.0.0.1', '-p', String(port), '-D', home, '-M', 'capture|disableH2', '-r', rules], {
    stdio: 'ignore', detached: true,
    env: { ...env, HOME: home, NODE_OPTIONS: `--require ${guard}` },
  });
  const stop = () => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ } };
  try {
    await waitPort(port, 'whistle', child);
    const ca = await getVia(port, 'http://rootca.pro/');
    if (ca.status !== 200 || !ca.body.includes('BEGIN CERTIFICATE')) throw new Error(`whistle's root CA: HTTP ${ca.status}`);
    const caFile = join(work, 'whistle-ca.pem');
    writeFileSync(caFile, ca.body);
    // The worker is the process that proxies (the launcher only supervises it): its RSS is the one to report.
    const worker = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
    return { port, pid: Number(worker) || child.pid, caFile, stop };
  } catch (e) {
    stop();
    throw e;
  }
}
