// detour's benchmark (`npm run bench`): local HTTPS origin and mirror on 127.0.0.1, real clients (curl; go for
// S4), variants interleaved run by run, medians reported as a markdown table and bench/out/results.json.
//
//   S1 bulk   one large download (512 MiB; --quick: 64 MiB): MB/s, and the proxy's peak RSS
//   S2 small  2,000 GETs of 1 KiB with curl --parallel (16): seconds, without and with emulated latency
//             (40 ms before each TLS handshake, 20 ms before each response)
//   S3 start  `detour -- true` vs `true`
//   S4 go     `go mod download` of a generated module graph (--modules, default 200: 3 requests each) from a
//             file-layout GOPROXY tree, with S2's latency; opt-in (`--only S4`, or `--only S2,S4`)
//   S5 spaced 300 GETs of 1 KiB one after another on one curl connection, then two at a time (as go asks) on
//             two, with S2's latency: the time each request takes (median), i.e. what a proxy adds to a request
//             in S4's regime, without go's own variation; opt-in (`--only S5`)
//
// Next to every S2/S4 time: how many TLS connections the mirror accepted during the run ('secureConnection'
// events), i.e. whether the variant keeps its upstream connections alive.
//
// Variants: direct (curl straight to the mirror), detour rewrite (decrypt + mirror rule), the node floor (the
// least a Node MITM can do for the same job, bench/node-mitm.mjs), detour tunnel (no rule for the host: blind
// CONNECT), and the peers as their users run them (bench/peers.mjs): mitmdump eager and lazy, whistle 2. A peer
// that is not installed is skipped with a note. S4: go direct to the mirror, `detour -- go mod download` (go's
// default GOPROXY; whatever way go then reaches detour is what is measured), the node floor (go through
// bench/node-mitm.mjs), mitmdump lazy, whistle.
// Every run checks that the mirror served every request and the origin none, so a broken rewrite can never
// pass as fast. Loopback only; stops by itself. Options: --quick, --runs N, --no-mitm (no peers),
// --only S1|S2|S3|S4|S5 (comma-separated list), --variant <parts of variants' names, comma-separated>, --skip <the same, left out>, --modules N,
// --cpu-prof <dir> (detour writes a V8 CPU profile per run there; --cpu-prof-interval <µs> with it samples more often), --baseline <other build's dist/cli.cjs> (its
// detour variants run beside this build's, named "detour baseline …", interleaved run by run: a before/after).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeGoproxyTree } from './gomodules.mjs';
import { findWhistle, hasCommand, startMitmdump, startWhistle } from './peers.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const runs = Number(args[args.indexOf('--runs') + 1]) || (quick ? 2 : 3);
const BULK = (quick ? 64 : 512) * 1024 * 1024;
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const only = option('--only')?.split(',');
/** S1–S3 run unless --only leaves them out; S4 (minutes) and S5 only when named. */
const wants = (scenario) => (only ? only.includes(scenario) : !['S4', 'S5'].includes(scenario));
/** --variant a,b: only the variants whose name holds one of the parts; --skip a,b: all but those. */
const variantFilter = option('--variant')?.split(',');
const skipFilter = option('--skip')?.split(',');
const cpuProf = option('--cpu-prof');
const SMALL_COUNT = 2000;
const SPACED_COUNT = 300;
const MODULES = Number(option('--modules')) || 200;
const cliPath = fileURLToPath(new URL('../dist/cli.cjs', import.meta.url));
const nodeMitm = fileURLToPath(new URL('./node-mitm.mjs', import.meta.url));
// Profiling runs go through node itself so that it can take --cpu-prof (no V8 flag: detour's launcher sets none).
const baselineCli = option('--baseline');
/** How to start a detour build: its file, or node with --cpu-prof in front. */
const cpuProfInterval = option('--cpu-prof-interval'); // µs between samples (V8's default: 1000)
const detourCommand = (cli) => (cpuProf ? [process.execPath, ['--cpu-prof', '--cpu-prof-dir', cpuProf, ...(cpuProfInterval ? ['--cpu-prof-interval', cpuProfInterval] : []), cli]] : [cli, []]);
const outDir = fileURLToPath(new URL('./out/', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'detour-bench-'));
const children = new Set();
const stops = new Set();
const cleanup = () => { children.forEach((c) => c.kill('SIGKILL')); stops.forEach((stop) => stop()); };
process.on('exit', () => { cleanup(); rmSync(work, { recursive: true, force: true }); });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

// ---- test PKI (openssl; keys live in the temp folder and are removed at exit) ----
// The leaf also names `localhost`: the peers have no --connect-to, and localhost is the one name that reaches
// loopback everywhere without DNS (so no lookup ever leaves the machine).
function pki() {
  const run = (...a) => execFileSync('openssl', a, { cwd: work, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=detour bench CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=bench');
  writeFileSync(join(work, 'ext.cnf'), 'subjectAltName=DNS:origin.bench.test,DNS:mirror.bench.test,DNS:localhost,IP:127.0.0.1\n');
  run('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '1', '-extfile', 'ext.cnf');
  return { ca: join(work, 'ca.pem'), userTrust: withSystemRoots(join(work, 'ca.pem')), certFile: join(work, 'leaf.pem'), keyFile: join(work, 'leaf.key'),
    cert: readFileSync(join(work, 'leaf.pem')), key: readFileSync(join(work, 'leaf.key')) };
}

// What a user's curl verifies against: the system roots, plus (here) the test CA standing in for the public CA
// of a real mirror. curl with OpenSSL 3 parses such a bundle for every new connection (~26 ms here), and so does
// the child under detour, whose bundle is the same roots plus detour's CA. A one-certificate --cacert would
// spare only the direct run that cost; that variant is kept as "direct (test CA only)" for comparison.
// (bench/trust-cost.mjs measures that cost alone.)
const SYSTEM_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
function withSystemRoots(caFile) {
  const file = `${caFile}.with-system-roots.pem`;
  let system = '';
  try { system = readFileSync(SYSTEM_BUNDLE, 'utf8'); } catch { /* no system bundle: the CA alone */ }
  writeFileSync(file, `${system.replace(/\n?$/, '\n')}${readFileSync(caFile, 'utf8')}`);
  return file;
}

// ---- servers: origin and mirror, with optional emulated latency ----
const chunk = Buffer.alloc(1024 * 1024, 'x');
const small = Buffer.alloc(1024, 's');
/** A file of the S4 GOPROXY tree for a request path, or undefined (outside the tree, or not a file). */
function treeFile(root, urlPath) {
  let path;
  try { path = normalize(join(root, decodeURIComponent(urlPath.split('?')[0]))); } catch { return undefined; }
  if (!path.startsWith(`${root}/`)) return undefined;
  try { return statSync(path).isFile() ? path : undefined; } catch { return undefined; }
}

function startServer(tls, name) {
  // count: requests; tls: TLS connections accepted (a keep-alive client makes few, one per request makes many).
  const state = { name, count: 0, tls: 0, zips: 0, latency: false, tree: undefined };
  const server = https.createServer({ cert: tls.cert, key: tls.key, keepAliveTimeout: 30_000 }, (req, res) => {
    state.count++;
    const respond = () => {
      const file = state.tree && req.url.includes('/@v/') ? treeFile(state.tree, req.url) : undefined;
      if (state.tree && req.url.includes('/@v/')) {
        if (!file) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        if (file.endsWith('.zip')) state.zips++;
        const body = readFileSync(file);
        const type = file.endsWith('.zip') ? 'application/zip' : file.endsWith('.info') ? 'application/json' : 'text/plain; charset=utf-8';
        return void res.writeHead(200, { 'content-type': type, 'content-length': body.length }).end(body);
      }
      if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BULK });
        let sent = 0;
        const pump = () => {
          while (sent < BULK) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      } else {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': small.length });
        res.end(small);
      }
    };
    if (state.latency) setTimeout(respond, 20);
    else respond();
  });
  server.on('secureConnection', () => state.tls++);
  // A front listener delays each new connection's TLS handshake when latency is emulated.
  const front = net.createServer((socket) => {
    if (state.latency) {
      socket.pause();
      setTimeout(() => server.emit('connection', socket), 40);
    } else server.emit('connection', socket);
  });
  return new Promise((resolve) =>
    front.listen(0, '127.0.0.1', () => resolve(Object.assign(state, { port: front.address().port, close: () => { front.close(); server.close(); server.closeAllConnections(); } }))),
  );
}

// ---- variants ----
const withPeers = !args.includes('--no-mitm');
const env = { PATH: process.env.PATH, HOME: work, TMPDIR: work, LANG: 'C' };

/** detour is run as users run it: the executable itself, so its shebang's V8 flags apply. */
function detourArgs(ctx, rule, extraConnectTo = []) {
  return ['--no-upstream', `--upstream-ca=${ctx.tls.ca}`,
    `--connect-to=origin.bench.test:443:127.0.0.1:${ctx.origin.port}`, `--connect-to=mirror.bench.test:443:127.0.0.1:${ctx.mirror.port}`,
    ...extraConnectTo, '-m', rule, '--'];
}

/** Runs a command (asynchronously: the servers live in this process) and returns wall ms and stdout. */
function timed(cmd, argv, opts = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, argv, { env: opts.env ?? env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const limit = setTimeout(() => child.kill('SIGKILL'), 900_000); // bounded; peers on a loaded machine take minutes
    child.on('close', (status) => {
      clearTimeout(limit);
      children.delete(child);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (status !== 0) reject(new Error(`${cmd} ${argv.slice(-1)} exited ${status}: ${stderr.slice(-2000)}`));
      else resolve({ ms, stdout });
    });
  });
}

/**
 * The client's own clock around the transfer, so detour's start-up (S3 measures that) is not counted in
 * S1/S2: prints "elapsed <microseconds>" after the command.
 */
const clocked = (cmd) => `s=$(date +%s%N); ${cmd}; e=$(date +%s%N); echo "elapsed $(( (e - s) / 1000 ))"`;

function curlBulk(target, extra) {
  return clocked(`curl -sS --fail -o /dev/null -w '%{size_download}\\n' ${extra} ${target}`);
}

function smallConfig(base, n) {
  const file = join(work, `small-${base.replace(/\W+/g, '_')}.cfg`);
  let text = '';
  for (let i = 0; i < n; i++) text += `url = "${base}/small/${i}"\noutput = "/dev/null"\n`;
  writeFileSync(file, text);
  return file;
}

/**
 * S2's command. With `proxyPid` (a shell expression: $PPID when the shell is the proxy's child), it also prints
 * "proxycpu <ticks>": the user + system CPU the proxy process spent during the transfer, from /proc/<pid>/stat
 * (its own threads, not its children: curl is not counted).
 */
function curlSmall(target, extra, proxyPid) {
  const cfg = smallConfig(target, SMALL_COUNT);
  const cmd = clocked(`curl -sS --fail --parallel --parallel-max 16 ${extra} -K ${cfg}`);
  return proxyPid ? withProxyCpu(cmd, proxyPid) : cmd;
}
/** S5's command: SPACED_COUNT GETs in a row on one connection (or two at a time on two), each printing "t <seconds it took>". */
function curlSpaced(target, extra, proxyPid, twoAtATime) {
  const cfg = smallConfig(target, SPACED_COUNT);
  const cmd = `curl -sS --fail ${twoAtATime ? '--parallel --parallel-max 2 --no-progress-meter ' : ''}-w 't %{time_total}\\n' ${extra} -K ${cfg}`;
  return proxyPid ? withProxyCpu(cmd, proxyPid) : cmd;
}
/** S5: the median of the requests' times in ms, the first `skip` left out (they also set up the connections). */
const spacedMs = (stdout, skip) => median([...stdout.matchAll(/^t ([\d.]+)$/gm)].slice(skip).map((m) => Number(m[1]) * 1000));
/** `cmd`, then "proxycpu <ticks>": the CPU the process `proxyPid` spent meanwhile (see curlSmall). */
function withProxyCpu(cmd, proxyPid) {
  const ticks = `$(awk '{print $14+$15}' /proc/${proxyPid}/stat)`;
  return `c0=${ticks}; ${cmd} || exit $?; echo "proxycpu $(( ${ticks} - c0 ))"`;
}
/** Seconds of the proxy's CPU from the "proxycpu" line (clock ticks of 10 ms), or undefined. */
const proxyCpuS = (stdout) => {
  const m = /proxycpu (\d+)/.exec(stdout);
  return m ? Number(m[1]) / 100 : undefined;
};

const peakSuffix = `; grep VmHWM /proc/$PPID/status`;
/** Microseconds the client measured, from the "elapsed" line. */
const elapsedMs = (stdout) => Number(/elapsed (\d+)/.exec(stdout)?.[1]) / 1000;
const hwm = (stdout) => Number(/VmHWM:\s+(\d+) kB/.exec(stdout)?.[1] ?? 0) / 1024;

// ---- S4: go mod download ----
/** A fresh project, module cache and build cache per run (so every run downloads everything). */
function goRun(ctx, slug, extraEnv) {
  const dir = join(work, 's4', `${slug}-${ctx.s4Runs++}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'go.mod'), ctx.goTree.mainGoMod);
  const goEnv = {
    ...env, GOFLAGS: '-mod=mod -modcacherw', GOSUMDB: 'off', GONOSUMDB: '*', GOTOOLCHAIN: 'local',
    GOPATH: join(dir, 'gopath'), GOMODCACHE: join(dir, 'modcache'), GOCACHE: join(dir, 'gocache'), ...extraEnv,
  };
  return { dir, env: goEnv };
}

/** The module cache holds the first and last module's source: go accepted the zips. */
function checkModcache(name, dir, paths) {
  for (const p of [paths[0], paths[paths.length - 1]]) {
    const file = join(dir, 'modcache', `${p}@v1.0.0`, `${p.slice(p.lastIndexOf('/') + 1)}.go`);
    if (!existsSync(file)) throw new Error(`${name}: ${file} is not in the module cache`);
  }
}

async function goDownload(name, cmd, argv, run, paths) {
  try {
    const r = await timed(cmd, argv, { env: run.env, cwd: run.dir });
    checkModcache(name, run.dir, paths);
    return r;
  } finally {
    rmSync(run.dir, { recursive: true, force: true });
  }
}

function variants(ctx) {
  const direct = (trust) => `--connect-to mirror.bench.test:443:127.0.0.1:${ctx.mirror.port} --cacert ${trust}`;
  /** A variant's curl command for S1 ('bulk'), S2 ('small') or S5 ('spaced', 'spaced2': two at a time); `proxyPid` as in curlSmall. */
  const curlFor = (kind, origin, extra, proxyPid) =>
    kind === 'bulk'
      ? curlBulk(`${origin}/big`, extra) + (proxyPid === '$PPID' ? peakSuffix : '')
      : kind === 'small' ? curlSmall(origin, extra, proxyPid) : curlSpaced(origin, extra, proxyPid, kind === 'spaced2');
  const directRun = (trust) => (kind) => timed('bash', ['-c', curlFor(kind, 'https://mirror.bench.test', direct(trust))]);
  const detourRun = (rule, host, cli = cliPath) => (kind) => {
    const [cmd, pre] = detourCommand(cli);
    return timed(cmd, [...pre, ...detourArgs(ctx, rule), 'bash', '-c', curlFor(kind, `https://${host}`, '', '$PPID')]);
  };
  const detourGo = (name, cli) => () => {
    const run = goRun(ctx, name.replace(/\W+/g, '-'), {});
    const [cmd, pre] = detourCommand(cli);
    return goDownload(name, cmd, [...pre, ...detourArgs(ctx, 'go=https://mirror.bench.test|origin', [`--connect-to=proxy.golang.org:443:127.0.0.1:${ctx.origin.port}`]), 'bash', '-c', withProxyCpu('go mod download', '$PPID')], run, ctx.goTree.paths);
  };
  const list = [
    { name: 'direct', run: directRun(ctx.tls.userTrust) },
    { name: 'direct (test CA only)', run: directRun(ctx.tls.ca) },
    { name: 'detour rewrite', run: detourRun('origin.bench.test=https://mirror.bench.test', 'origin.bench.test') },
    ...(baselineCli ? [{ name: 'detour baseline rewrite', run: detourRun('origin.bench.test=https://mirror.bench.test', 'origin.bench.test', baselineCli) }] : []),
    // The floor: a minimal Node MITM doing the rewrite's job, run the same way (bench/node-mitm.mjs).
    // The floor keeps the start-up flag that caps V8's young generation: its start-up is not timed, so this is its
    // leanest setting (detour gets a similar effect at run time, src/youngGeneration.ts).
    { name: 'node floor (minimal MITM)', run: (kind) => timed(process.execPath, ['--max-semi-space-size=1', nodeMitm, ctx.tls.certFile, ctx.tls.keyFile, ctx.tls.ca, ctx.tls.userTrust, String(ctx.mirror.port), '--', 'bash', '-c', curlFor(kind, 'https://origin.bench.test', '', '$PPID')]) },
    { name: 'detour tunnel', run: detourRun('unrelated.bench.test=https://mirror.bench.test', 'mirror.bench.test') },
    ...(baselineCli ? [{ name: 'detour baseline tunnel', run: detourRun('unrelated.bench.test=https://mirror.bench.test', 'mirror.bench.test', baselineCli) }] : []),
    // S4: go straight to the mirror (the cert names 127.0.0.1; go reads SSL_CERT_FILE once per process).
    { name: 'go direct', s4: true, run: () => {
      const run = goRun(ctx, 'direct', { GOPROXY: `https://127.0.0.1:${ctx.mirror.port}`, SSL_CERT_FILE: ctx.tls.userTrust });
      return goDownload('go direct', 'bash', ['-c', 'go mod download'], run, ctx.goTree.paths); // through bash as the others
    } },
    // go's own default GOPROXY (https://proxy.golang.org,direct), origin mapped to a stand-in that must stay idle.
    { name: 'detour go', s4: true, run: detourGo('detour go', cliPath) },
    // Each baseline variant right after its own: every other round the two swap places (see the round loop).
    ...(baselineCli ? [{ name: 'detour baseline go', s4: true, run: detourGo('detour baseline go', baselineCli) }] : []),
    // The floor for S4: go through the minimal Node MITM (HTTPS_PROXY; its leaf names origin.bench.test, and it
    // sends every request to the mirror on kept connections). What any Node proxy in go's path costs here.
    { name: 'node floor (minimal MITM) go', s4: true, run: () => {
      const run = goRun(ctx, 'floor', { GOPROXY: 'https://origin.bench.test' });
      return goDownload('node floor go', process.execPath, ['--max-semi-space-size=1', nodeMitm, ctx.tls.certFile, ctx.tls.keyFile, ctx.tls.ca, ctx.tls.userTrust, String(ctx.mirror.port), '--', 'bash', '-c', withProxyCpu('go mod download', '$PPID')], run, ctx.goTree.paths);
    } },
  ];
  // Peers: curl asks for https://localhost:<origin port>/… (the origin's stand-in name, see pki()).
  const peerOrigin = `https://localhost:${ctx.origin.port}`;
  const viaPeer = (peer) => `-x http://127.0.0.1:${peer.port} --cacert ${withSystemRoots(peer.caFile)}`;
  const peerRun = (peer) => (kind) => timed('bash', ['-c', curlFor(kind, peerOrigin, viaPeer(peer), String(peer.pid)) + (kind === 'bulk' ? `; grep VmHWM /proc/${peer.pid}/status` : '')]);
  const goViaPeer = (name, peer) => () => {
    const run = goRun(ctx, name.replace(/\W+/g, '-'), { HTTPS_PROXY: `http://127.0.0.1:${peer.port}`, SSL_CERT_FILE: withSystemRoots(peer.caFile) });
    return goDownload(name, 'bash', ['-c', withProxyCpu('go mod download', String(peer.pid))], run, ctx.goTree.paths);
  };
  for (const [key, name] of [['mitmEager', 'mitmdump eager'], ['mitmLazy', 'mitmdump lazy'], ['whistle', 'whistle']]) {
    const peer = ctx.peers[key];
    if (!peer) continue;
    list.push({ name, peer: true, run: peerRun(peer) });
    // Eager mitmdump would dial proxy.golang.org itself: not in S4.
    if (key !== 'mitmEager') list.push({ name: `${name} go`, s4: true, run: goViaPeer(`${name} go`, peer) });
  }
  const holds = (v, parts) => parts.some((part) => v.name.includes(part));
  return list.filter((v) => (!variantFilter || holds(v, variantFilter)) && !(skipFilter && holds(v, skipFilter)));
}

/** Starts the peers that are installed; a missing one is skipped with a note. */
async function startPeers(ctx, notes) {
  const peers = {};
  if (!withPeers) return notes.push('peers skipped (--no-mitm)'), peers;
  const mirrorName = `localhost:${ctx.mirror.port}`;
  const s2map = [`localhost:${ctx.origin.port}`, mirrorName];
  const s4map = ['proxy.golang.org', mirrorName];
  const start = async (key, label, fn) => {
    try {
      peers[key] = await fn();
      stops.add(peers[key].stop);
    } catch (e) {
      notes.push(`${label} skipped: ${e.message}`);
    }
  };
  if (!hasCommand('mitmdump')) notes.push('mitmdump variants skipped: mitmdump not on PATH (Debian: apt-get install mitmproxy)');
  else {
    const base = { work, env, upstreamCa: ctx.tls.ca };
    await start('mitmEager', 'mitmdump eager', () => startMitmdump({ ...base, setup: 'eager', maps: [s2map] }));
    await start('mitmLazy', 'mitmdump lazy', () => startMitmdump({ ...base, setup: 'lazy', maps: [s2map, s4map] }));
  }
  const found = findWhistle();
  if (!found) notes.push('whistle variants skipped: not installed (npm install --no-save --no-audit --no-fund --prefix bench/.peers whistle@2)');
  else await start('whistle', 'whistle', () => startWhistle({ work, env, found, maps: [[`https://${s2map[0]}/`, `https://${mirrorName}/`], ['https://proxy.golang.org/', `https://${mirrorName}/`]] }));
  return peers;
}

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN; };

async function main() {
  const notes = [];
  const load = [loadavg()[0]];
  const tls = pki();
  const origin = await startServer(tls, 'origin');
  const mirror = await startServer(tls, 'mirror');
  const ctx = { tls, origin, mirror, peers: {}, s4Runs: 0 };
  if (wants('S4')) {
    if (!hasCommand('go')) notes.push('S4 skipped: go not on PATH');
    else {
      mirror.tree = origin.tree = join(work, 'goproxy');
      ctx.goTree = writeGoproxyTree(mirror.tree, MODULES);
    }
  }
  ctx.peers = await startPeers(ctx, notes);
  const list = variants(ctx);
  const results = {};
  const record = (scenario, variant, value) => ((results[scenario] ??= {})[variant] ??= []).push(value);

  /** Runs one measurement and checks it: the mirror served at least `expect`, the origin answered nothing. */
  const measure = async (v, kind, expect) => {
    const before = { m: mirror.count, o: origin.count, mt: mirror.tls, ot: origin.tls, z: mirror.zips };
    const out = await v.run(kind);
    const served = mirror.count - before.m;
    if (origin.count !== before.o) throw new Error(`${v.name}: the origin received ${origin.count - before.o} requests`);
    if (served < expect) throw new Error(`${v.name}: the mirror served ${served} of ${expect} requests`);
    if (kind === 'go' && mirror.zips - before.z !== MODULES) throw new Error(`${v.name}: the mirror served ${mirror.zips - before.z} of ${MODULES} zips`);
    return { ...out, mirrorTls: mirror.tls - before.mt, originTls: origin.tls - before.ot };
  };

  for (let r = 0; r < runs; r++) {
    // With --baseline, the two builds swap places every other round: neither always runs first.
    const order = baselineCli && r % 2 ? list.map((v, i) => (/^detour baseline/.test(v.name) ? list[i - 1] : /^detour baseline/.test(list[i + 1]?.name ?? '') ? list[i + 1] : v)) : list;
    for (const v of order) {
      if (v.s4) {
        if (!ctx.goTree) continue;
        origin.latency = mirror.latency = true;
        const s4 = await measure(v, 'go', 3 * MODULES);
        origin.latency = mirror.latency = false;
        const name = v.name.replace(/ go$/, '');
        record('S4 go mod download s', name, s4.ms / 1000);
        record('S4 mirror TLS connections', name, s4.mirrorTls);
        const cpu = proxyCpuS(s4.stdout);
        if (cpu !== undefined) record('S4 proxy CPU s', name, cpu);
        continue;
      }
      if (wants('S1')) {
        const bulk = await measure(v, 'bulk', 1);
        const bytes = Number(bulk.stdout.split('\n')[0]);
        if (bytes !== BULK) throw new Error(`${v.name}: downloaded ${bytes} of ${BULK} bytes`);
        record('S1 bulk MB/s', v.name, BULK / 1e6 / (elapsedMs(bulk.stdout) / 1000));
        if (hwm(bulk.stdout)) record('S1 peak RSS MiB', v.name, hwm(bulk.stdout));
      }
      for (const latency of wants('S2') ? [false, true] : []) {
        origin.latency = mirror.latency = latency;
        const s2 = await measure(v, 'small', SMALL_COUNT);
        const suffix = latency ? ' (latency)' : '';
        record(`S2 small s${suffix}`, v.name, elapsedMs(s2.stdout) / 1000);
        record(`S2 mirror TLS connections${suffix}`, v.name, s2.mirrorTls);
        const cpu = proxyCpuS(s2.stdout);
        if (cpu !== undefined) record(`S2 proxy CPU s${suffix}`, v.name, cpu);
        // Only eager mitmdump dials the origin (for its certificate), without sending it a request.
        if (s2.originTls) record(`S2 origin TLS connections${suffix}`, v.name, s2.originTls);
      }
      for (const [kind, suffix, skip] of wants('S5') ? [['spaced', '', 1], ['spaced2', ' (2 at a time)', 2]] : []) {
        origin.latency = mirror.latency = true;
        const s5 = await measure(v, kind, SPACED_COUNT);
        record(`S5 spaced ms per request${suffix}`, v.name, spacedMs(s5.stdout, skip));
        record(`S5 mirror TLS connections${suffix}`, v.name, s5.mirrorTls);
        const cpu = proxyCpuS(s5.stdout);
        if (cpu !== undefined) record(`S5 proxy CPU ms per request${suffix}`, v.name, (cpu * 1000) / SPACED_COUNT);
      }
      origin.latency = mirror.latency = false;
    }
    load.push(loadavg()[0]);
  }
  // S3: start-up, interleaved.
  for (let r = 0; !cpuProf && wants('S3') && r < 20; r++) {
    record('S3 start ms', 'true', (await timed('true', [])).ms);
    record('S3 start ms', 'detour -- true', (await timed(cliPath, ['--no-upstream', '--', 'true'])).ms);
  }

  // Rows grouped by scenario (S1…S4), each connection count right under its time.
  const scenarioNumber = ([name]) => Number(/^S(\d)/.exec(name)?.[1] ?? 9);
  const summary = Object.fromEntries(Object.entries(results).sort((a, b) => scenarioNumber(a) - scenarioNumber(b)).map(([s, byVariant]) => [s, Object.fromEntries(Object.entries(byVariant).map(([v, xs]) => [v, median(xs)]))]));
  const names = [...new Set(Object.values(summary).flatMap((o) => Object.keys(o)))];
  const fmt = (x) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : Number.isInteger(x) ? String(x) : x.toFixed(2)) : '–');
  let md = `| scenario | ${names.join(' | ')} |\n|---|${names.map(() => '---').join('|')}|\n`;
  for (const [s, o] of Object.entries(summary)) md += `| ${s} | ${names.map((n) => fmt(o[n])).join(' | ')} |\n`;
  const at = (scenario, variant) => summary[scenario]?.[variant] ?? NaN;
  // Each peer in its strongest setup: the better of mitmdump's two strategies (highest MB/s, fewest seconds).
  const best = (scenario, prefix) => {
    const xs = names.filter((n) => n.startsWith(prefix)).map((n) => at(scenario, n)).filter(Number.isFinite);
    return xs.length ? (scenario.includes('MB/s') ? Math.max(...xs) : Math.min(...xs)) : NaN;
  };
  const ratios = Object.fromEntries(Object.entries({
    'tunnel / direct (bulk)': at('S1 bulk MB/s', 'detour tunnel') / at('S1 bulk MB/s', 'direct'),
    'rewrite / direct (bulk)': at('S1 bulk MB/s', 'detour rewrite') / at('S1 bulk MB/s', 'direct'),
    'rewrite / fastest mitmdump (bulk)': at('S1 bulk MB/s', 'detour rewrite') / best('S1 bulk MB/s', 'mitmdump'),
    'rewrite / whistle (bulk)': at('S1 bulk MB/s', 'detour rewrite') / at('S1 bulk MB/s', 'whistle'),
    'fastest mitmdump / rewrite (small, s)': best('S2 small s', 'mitmdump') / at('S2 small s', 'detour rewrite'),
    'whistle / rewrite (small, s)': at('S2 small s', 'whistle') / at('S2 small s', 'detour rewrite'),
    'rewrite / direct (small with latency, s)': at('S2 small s (latency)', 'detour rewrite') / at('S2 small s (latency)', 'direct'),
    'tunnel / direct with test CA only (bulk)': at('S1 bulk MB/s', 'detour tunnel') / at('S1 bulk MB/s', 'direct (test CA only)'),
    'rewrite / direct with test CA only (small with latency, s)': at('S2 small s (latency)', 'detour rewrite') / at('S2 small s (latency)', 'direct (test CA only)'),
    'node floor / direct (small with latency, s)': at('S2 small s (latency)', 'node floor (minimal MITM)') / at('S2 small s (latency)', 'direct'),
    'start-up extra ms': at('S3 start ms', 'detour -- true') - at('S3 start ms', 'true'),
    'S4 detour / go direct': at('S4 go mod download s', 'detour') / at('S4 go mod download s', 'go direct'),
    'S4 detour baseline / go direct': at('S4 go mod download s', 'detour baseline') / at('S4 go mod download s', 'go direct'),
    'S4 node floor / go direct': at('S4 go mod download s', 'node floor (minimal MITM)') / at('S4 go mod download s', 'go direct'),
    'rewrite baseline / rewrite (small, s)': at('S2 small s', 'detour baseline rewrite') / at('S2 small s', 'detour rewrite'),
    'rewrite baseline / rewrite (small with latency, s)': at('S2 small s (latency)', 'detour baseline rewrite') / at('S2 small s (latency)', 'detour rewrite'),
    'S4 mitmdump lazy / go direct': at('S4 go mod download s', 'mitmdump lazy') / at('S4 go mod download s', 'go direct'),
    'S4 whistle / go direct': at('S4 go mod download s', 'whistle') / at('S4 go mod download s', 'go direct'),
    'S5 ms added per request, detour rewrite': at('S5 spaced ms per request', 'detour rewrite') - at('S5 spaced ms per request', 'direct'),
    'S5 ms added per request, node floor': at('S5 spaced ms per request', 'node floor (minimal MITM)') - at('S5 spaced ms per request', 'direct'),
    'S5 ms added per request, fastest mitmdump': best('S5 spaced ms per request', 'mitmdump') - at('S5 spaced ms per request', 'direct'),
    'S5 ms added per request 2 at a time, detour rewrite': at('S5 spaced ms per request (2 at a time)', 'detour rewrite') - at('S5 spaced ms per request (2 at a time)', 'direct'),
    'S5 ms added per request 2 at a time, node floor': at('S5 spaced ms per request (2 at a time)', 'node floor (minimal MITM)') - at('S5 spaced ms per request (2 at a time)', 'direct'),
  }).filter(([, v]) => Number.isFinite(v))); // a scenario or variant left out by --only/--variant has none
  md += `\nRatios: ${Object.entries(ratios).map(([k, v]) => `${k} ${v.toFixed(2)}`).join('; ')}\n`;
  // The targets' ratios round by round: a round's variants run back to back, so a VM whose speed drifts over the
  // minutes of a bench moves both sides of a round's ratio together, where the medians above pair different rounds.
  const inRound = (scenario, variant) => results[scenario]?.[variant] ?? [];
  const fastestInRound = (scenario, prefix) =>
    inRound(scenario, 'detour rewrite').map((_, i) => Math.min(...names.filter((n) => n.startsWith(prefix)).map((n) => inRound(scenario, n)[i] ?? NaN).filter(Number.isFinite)));
  const pair = (xs, ys) => xs.map((x, i) => x / ys[i]).filter(Number.isFinite);
  /** S5: what a variant added to a request over direct, round by round. */
  const addedInRound = (variant) => inRound('S5 spaced ms per request', variant).map((x, i) => x - inRound('S5 spaced ms per request', 'direct')[i]);
  const roundRatios = Object.fromEntries(Object.entries({
    'tunnel / direct (bulk)': pair(inRound('S1 bulk MB/s', 'detour tunnel'), inRound('S1 bulk MB/s', 'direct')),
    'fastest mitmdump / rewrite (small, s)': pair(fastestInRound('S2 small s', 'mitmdump'), inRound('S2 small s', 'detour rewrite')),
    'S4 detour / go direct': pair(inRound('S4 go mod download s', 'detour'), inRound('S4 go mod download s', 'go direct')),
    'S4 node floor / go direct': pair(inRound('S4 go mod download s', 'node floor (minimal MITM)'), inRound('S4 go mod download s', 'go direct')),
    'S4 detour baseline / go direct': pair(inRound('S4 go mod download s', 'detour baseline'), inRound('S4 go mod download s', 'go direct')),
    'S5 detour rewrite / node floor, ms added per request': pair(addedInRound('detour rewrite'), addedInRound('node floor (minimal MITM)')),
  }).filter(([, xs]) => xs.length));
  if (Object.keys(roundRatios).length) md += `\nPer round: ${Object.entries(roundRatios).map(([k, xs]) => `${k} ${xs.map((x) => x.toFixed(2)).join(', ')} (median ${median(xs).toFixed(2)})`).join('; ')}\n`;
  const loadText = load.map((l) => l.toFixed(1)).join(' → ');
  md += `\n${runs} runs per variant (S3: 20), interleaved, medians; bulk ${BULK / 1024 / 1024} MiB; S4 ${MODULES} modules; node ${process.version}; ${new Date().toISOString().slice(0, 10)}; 1-min load average ${loadText}.\n`;
  if (Math.max(...load) > 1.5) md += '**The machine was loaded during the runs: these figures are provisional.**\n';
  if (notes.length) md += `\n${notes.map((n) => `- ${n}`).join('\n')}\n`;
  process.stdout.write(md);
  mkdirSync(outDir, { recursive: true });
  // A filtered or profiled run does not replace the full results.
  const partial = only || variantFilter || skipFilter || cpuProf || baselineCli;
  writeFileSync(join(outDir, partial ? 'results-partial.json' : 'results.json'), JSON.stringify({ runs, bulkBytes: BULK, modules: MODULES, load, notes, summary, ratios, roundRatios, raw: results }, null, 2) + '\n');
  origin.close();
  mirror.close();
  cleanup();
}

main().then(() => process.exit(0), (e) => { console.error(`bench: ${e.message}`); process.exit(1); });
