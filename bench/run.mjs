// detour's benchmark (`npm run bench`): local HTTPS origin and mirror on 127.0.0.1, real curl as the client,
// variants interleaved run by run, medians reported as a markdown table and bench/out/results.json.
//
//   S1 bulk   one large download (512 MiB; --quick: 64 MiB): MB/s, and the proxy's peak RSS
//   S2 small  2,000 GETs of 1 KiB with curl --parallel (16): seconds, without and with emulated latency
//             (40 ms before each TLS handshake, 20 ms before each response)
//   S3 start  `detour -- true` vs `true`
//
// Variants: direct (curl straight to the mirror), detour rewrite (decrypt + mirror rule), the node floor (the
// least a Node MITM can do for the same job, bench/node-mitm.mjs), detour tunnel (no rule for the host: blind
// CONNECT), and mitmdump --map-remote with stream_large_bodies when installed.
// Every run checks that the mirror served every request and the origin none, so a broken rewrite can never
// pass as fast. Loopback only; stops by itself. Options: --quick, --runs N, --no-mitm, --only S1|S2|S3,
// --variant <part of a variant's name>, --cpu-prof <dir> (detour writes a V8 CPU profile per run there).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const runs = Number(args[args.indexOf('--runs') + 1]) || (quick ? 2 : 3);
const BULK = (quick ? 64 : 512) * 1024 * 1024;
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const only = option('--only');
const variantFilter = option('--variant');
const cpuProf = option('--cpu-prof');
const SMALL_COUNT = 2000;
const cliPath = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const nodeMitm = fileURLToPath(new URL('./node-mitm.mjs', import.meta.url));
// Profiling runs go through node itself so that it can take --cpu-prof; the shebang's flag is repeated.
const detourCmd = cpuProf ? process.execPath : cliPath;
const detourPre = cpuProf ? ['--max-semi-space-size=1', '--cpu-prof', '--cpu-prof-dir', cpuProf, cliPath] : [];
const outDir = fileURLToPath(new URL('./out/', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'detour-bench-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const children = new Set();
const cleanupChildren = () => children.forEach((c) => c.kill('SIGKILL'));
process.on('exit', cleanupChildren);

// ---- test PKI (openssl; keys live in the temp folder and are removed at exit) ----
function pki() {
  const run = (...a) => execFileSync('openssl', a, { cwd: work, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=detour bench CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=bench');
  writeFileSync(join(work, 'ext.cnf'), 'subjectAltName=DNS:origin.bench.test,DNS:mirror.bench.test,IP:127.0.0.1\n');
  run('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '1', '-extfile', 'ext.cnf');
  return { ca: join(work, 'ca.pem'), userTrust: withSystemRoots(join(work, 'ca.pem')), certFile: join(work, 'leaf.pem'), keyFile: join(work, 'leaf.key'),
    cert: readFileSync(join(work, 'leaf.pem')), key: readFileSync(join(work, 'leaf.key')) };
}

// What a user's curl verifies against: the system roots, plus (here) the test CA standing in for the public CA
// of a real mirror. curl with OpenSSL 3 parses such a bundle for every new connection (~26 ms here), and so does
// the child under detour, whose bundle is the same roots plus detour's CA. A one-certificate --cacert would
// spare only the direct run that cost; that variant is kept as "direct (test CA only)" for comparison.
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
function startServer(tls, name) {
  const state = { name, count: 0, latency: false };
  const server = https.createServer({ cert: tls.cert, key: tls.key, keepAliveTimeout: 30_000 }, (req, res) => {
    state.count++;
    const respond = () => {
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
const hasMitm = !args.includes('--no-mitm') && spawnSync('sh', ['-c', 'command -v mitmdump']).status === 0;
const env = { PATH: process.env.PATH, HOME: work, TMPDIR: work, LANG: 'C' };

/** detour is run as users run it: the executable itself, so its shebang's V8 flags apply. */
function detourArgs(ctx, rule) {
  return ['--no-upstream', `--upstream-ca=${ctx.tls.ca}`,
    `--connect-to=origin.bench.test:443:127.0.0.1:${ctx.origin.port}`, `--connect-to=mirror.bench.test:443:127.0.0.1:${ctx.mirror.port}`,
    '-m', rule, '--'];
}

/** Runs a command (asynchronously: the servers live in this process) and returns wall ms and stdout. */
function timed(cmd, argv) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const limit = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('close', (status) => {
      clearTimeout(limit);
      children.delete(child);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (status !== 0) reject(new Error(`${cmd} ${argv.slice(-1)} exited ${status}: ${stderr}`));
      else resolve({ ms, stdout });
    });
  });
}

async function startMitm(ctx) {
  const confdir = join(work, 'mitm');
  mkdirSync(confdir, { recursive: true });
  const port = await new Promise((res) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
  const child = spawn('mitmdump', ['-q', '--listen-host', '127.0.0.1', '-p', String(port), '--set', `confdir=${confdir}`,
    '--set', 'stream_large_bodies=1m', '--set', 'connection_strategy=lazy', '--set', `ssl_verify_upstream_trusted_ca=${ctx.tls.ca}`,
    '--map-remote', `|//origin.bench.test/|//127.0.0.1:${ctx.mirror.port}/`], { stdio: 'ignore', env });
  children.add(child);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const up = await new Promise((res) => { const s = net.connect(port, '127.0.0.1', () => { s.destroy(); res(true); }); s.on('error', () => res(false)); });
    if (up) break;
    if (Date.now() > deadline) throw new Error('mitmdump did not start within 20 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, child, caFile: join(confdir, 'mitmproxy-ca-cert.pem') };
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

function curlSmall(target, extra) {
  const cfg = smallConfig(target, SMALL_COUNT);
  return clocked(`curl -sS --fail --parallel --parallel-max 16 ${extra} -K ${cfg}`);
}

const peakSuffix = `; grep VmHWM /proc/$PPID/status`;
/** Microseconds the client measured, from the "elapsed" line. */
const elapsedMs = (stdout) => Number(/elapsed (\d+)/.exec(stdout)?.[1]) / 1000;
const hwm = (stdout) => Number(/VmHWM:\s+(\d+) kB/.exec(stdout)?.[1] ?? 0) / 1024;

function variants(ctx) {
  const direct = (trust) => `--connect-to mirror.bench.test:443:127.0.0.1:${ctx.mirror.port} --cacert ${trust}`;
  const directRun = (trust) => (kind) => timed('bash', ['-c', kind === 'bulk' ? curlBulk('https://mirror.bench.test/big', direct(trust)) : curlSmall('https://mirror.bench.test', direct(trust))]);
  const list = [
    { name: 'direct', expectMirror: true, run: directRun(ctx.tls.userTrust) },
    { name: 'direct (test CA only)', expectMirror: true, run: directRun(ctx.tls.ca) },
    { name: 'detour rewrite', expectMirror: true, run: (kind) => timed(detourCmd, [...detourPre, ...detourArgs(ctx, 'origin.bench.test=https://mirror.bench.test'), 'bash', '-c', kind === 'bulk' ? curlBulk('https://origin.bench.test/big', '') + peakSuffix : curlSmall('https://origin.bench.test', '')]) },
    // The floor: a minimal Node MITM doing the rewrite's job, run the same way (bench/node-mitm.mjs).
    { name: 'node floor (minimal MITM)', expectMirror: true, run: (kind) => timed(process.execPath, ['--max-semi-space-size=1', nodeMitm, ctx.tls.certFile, ctx.tls.keyFile, ctx.tls.ca, ctx.tls.userTrust, String(ctx.mirror.port), '--', 'bash', '-c', kind === 'bulk' ? curlBulk('https://origin.bench.test/big', '') + peakSuffix : curlSmall('https://origin.bench.test', '')]) },
    { name: 'detour tunnel', expectMirror: true, run: (kind) => timed(detourCmd, [...detourPre, ...detourArgs(ctx, 'unrelated.bench.test=https://mirror.bench.test'), 'bash', '-c', kind === 'bulk' ? curlBulk('https://mirror.bench.test/big', '') + peakSuffix : curlSmall('https://mirror.bench.test', '')]) },
  ];
  if (ctx.mitm) {
    const via = `-x http://127.0.0.1:${ctx.mitm.port} --cacert ${withSystemRoots(ctx.mitm.caFile)}`;
    list.push({ name: 'mitmdump (map-remote, streaming)', expectMirror: true, mitm: true, run: (kind) => timed('bash', ['-c', kind === 'bulk' ? curlBulk('https://origin.bench.test/big', via) + `; grep VmHWM /proc/${ctx.mitm.child.pid}/status` : curlSmall('https://origin.bench.test', via)]) });
  }
  return variantFilter ? list.filter((v) => v.name.includes(variantFilter)) : list;
}

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN; };

async function main() {
  const tls = pki();
  const origin = await startServer(tls, 'origin');
  const mirror = await startServer(tls, 'mirror');
  const ctx = { tls, origin, mirror, mitm: hasMitm ? await startMitm({ tls, mirror }) : undefined };
  const list = variants(ctx);
  const results = {};
  const record = (scenario, variant, value) => ((results[scenario] ??= {})[variant] ??= []).push(value);

  const check = (v, before, expect) => {
    const served = mirror.count - before.m;
    if (origin.count !== before.o) throw new Error(`${v.name}: the origin received ${origin.count - before.o} requests`);
    if (served < expect) throw new Error(`${v.name}: the mirror served ${served} of ${expect} requests`);
  };

  for (let r = 0; r < runs; r++) {
    for (const v of list) {
      let before = { m: mirror.count, o: origin.count };
      if (!only || only === 'S1') {
        const bulk = await v.run('bulk');
        check(v, before, 1);
        const bytes = Number(bulk.stdout.split('\n')[0]);
        if (bytes !== BULK) throw new Error(`${v.name}: downloaded ${bytes} of ${BULK} bytes`);
        record('S1 bulk MB/s', v.name, BULK / 1e6 / (elapsedMs(bulk.stdout) / 1000));
        if (hwm(bulk.stdout)) record('S1 peak RSS MiB', v.name, hwm(bulk.stdout));
      }

      for (const latency of only && only !== 'S2' ? [] : [false, true]) {
        origin.latency = mirror.latency = latency;
        before = { m: mirror.count, o: origin.count };
        const s2 = await v.run('small');
        check(v, before, SMALL_COUNT);
        record(latency ? 'S2 small s (latency)' : 'S2 small s', v.name, elapsedMs(s2.stdout) / 1000);
      }
      origin.latency = mirror.latency = false;
    }
  }
  // S3: start-up, interleaved.
  for (let r = 0; !cpuProf && (!only || only === 'S3') && r < 20; r++) {
    record('S3 start ms', 'true', (await timed('true', [])).ms);
    record('S3 start ms', 'detour -- true', (await timed(cliPath, ['--no-upstream', '--', 'true'])).ms);
  }

  const summary = Object.fromEntries(Object.entries(results).map(([s, byVariant]) => [s, Object.fromEntries(Object.entries(byVariant).map(([v, xs]) => [v, median(xs)]))]));
  const names = [...new Set(Object.values(summary).flatMap((o) => Object.keys(o)))];
  const fmt = (x) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(2)) : '–');
  let md = `| scenario | ${names.join(' | ')} |\n|---|${names.map(() => '---').join('|')}|\n`;
  for (const [s, o] of Object.entries(summary)) md += `| ${s} | ${names.map((n) => fmt(o[n])).join(' | ')} |\n`;
  const at = (scenario, variant) => summary[scenario]?.[variant] ?? NaN;
  const mitmName = 'mitmdump (map-remote, streaming)';
  const ratios = Object.fromEntries(Object.entries({
    'tunnel / direct (bulk)': at('S1 bulk MB/s', 'detour tunnel') / at('S1 bulk MB/s', 'direct'),
    'rewrite / direct (bulk)': at('S1 bulk MB/s', 'detour rewrite') / at('S1 bulk MB/s', 'direct'),
    'rewrite / mitmdump (bulk)': at('S1 bulk MB/s', 'detour rewrite') / at('S1 bulk MB/s', mitmName),
    'mitmdump / rewrite (small, s)': at('S2 small s', mitmName) / at('S2 small s', 'detour rewrite'),
    'rewrite / direct (small with latency, s)': at('S2 small s (latency)', 'detour rewrite') / at('S2 small s (latency)', 'direct'),
    'tunnel / direct with test CA only (bulk)': at('S1 bulk MB/s', 'detour tunnel') / at('S1 bulk MB/s', 'direct (test CA only)'),
    'rewrite / direct with test CA only (small with latency, s)': at('S2 small s (latency)', 'detour rewrite') / at('S2 small s (latency)', 'direct (test CA only)'),
    'node floor / direct (small with latency, s)': at('S2 small s (latency)', 'node floor (minimal MITM)') / at('S2 small s (latency)', 'direct'),
    'start-up extra ms': at('S3 start ms', 'detour -- true') - at('S3 start ms', 'true'),
  }).filter(([, v]) => Number.isFinite(v))); // a scenario or variant left out by --only/--variant has none
  md += `\nRatios: ${Object.entries(ratios).map(([k, v]) => `${k} ${v.toFixed(2)}`).join('; ')}\n`;
  md += `\n${runs} runs per variant (S3: 20), interleaved, medians; bulk ${BULK / 1024 / 1024} MiB; node ${process.version}; ${new Date().toISOString().slice(0, 10)}.\n`;
  process.stdout.write(md);
  mkdirSync(outDir, { recursive: true });
  // A filtered or profiled run does not replace the full results.
  const partial = only || variantFilter || cpuProf;
  writeFileSync(join(outDir, partial ? 'results-partial.json' : 'results.json'), JSON.stringify({ runs, bulkBytes: BULK, summary, ratios, raw: results }, null, 2) + '\n');
  origin.close();
  mirror.close();
  cleanupChildren();
}

main().then(() => process.exit(0), (e) => { console.error(`bench: ${e.message}`); process.exit(1); });
