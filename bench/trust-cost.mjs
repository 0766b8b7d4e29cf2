// What the child's trust files cost curl: N new TLS connections (default 30) from one curl process, the server
// closing each, with
//   combined   CURL_CA_BUNDLE = the system roots + a CA (the layout of detour's child bundle today)
//   CA only    CURL_CA_BUNDLE = the CA alone; the system roots stay reachable through curl's CA directory
//   public     the same CA-only file, the server signed by a second CA ("a public CA") found only through a
//              hashed CA directory: what a tunneled public host costs under a CA-only layout
//   SSL_CERT_DIR  no CURL_CA_BUNDLE; SSL_CERT_FILE = the CA, SSL_CERT_DIR = the directory (what Go and
//              OpenSSL read): curl's tool then ignores SSL_CERT_FILE and parses its compiled-in CA file
// With OpenSSL 3, curl builds a fresh certificate store for every connection, so a CA file is parsed once per
// connection; a CA directory is looked up by subject hash, one small file when a chain needs it.
// Also prints curl's compiled-in CA file and directory (`curl -v`). Loopback only; removes its files at exit.
//
// Then the child's layout as detour gives it: curl run UNDER detour (the N connections to a tunneled host, timed
// inside the child) and git (G `git ls-remote` runs, one connection each), for each --detour CLI given
// (default: this checkout's dist/cli.cjs), interleaved run by run, so two builds compare on one loaded machine:
//
//   node bench/trust-cost.mjs [connections] [repeats] [--detour other/dist/cli.cjs --detour dist/cli.cjs] [--git G]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const flag = (name) => argv.flatMap((a, i) => (a === name && argv[i + 1] ? [argv[i + 1]] : []));
const positional = argv.filter((a, i) => !a.startsWith('--') && !argv[i - 1]?.startsWith('--'));
const CONNECTIONS = Number(positional[0]) || 30;
const REPEATS = Number(positional[1]) || 5;
const GIT_RUNS = Number(flag('--git')[0]) || 10;
const DETOURS = flag('--detour').length ? flag('--detour') : [fileURLToPath(new URL('../dist/cli.cjs', import.meta.url))];
const SYSTEM_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const work = mkdtempSync(join(tmpdir(), 'detour-trust-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

const openssl = (...a) => execFileSync('openssl', a, { cwd: work, stdio: 'pipe', encoding: 'utf8' });
function ca(name) {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '1',
    '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  return join(work, `${name}.pem`);
}
function leaf(issuer, host) {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${host}.key`, '-out', `${host}.csr`, '-subj', `/CN=${host}`);
  writeFileSync(join(work, `${host}.ext`), `subjectAltName=DNS:${host}\n`);
  openssl('x509', '-req', '-in', `${host}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-CAcreateserial', '-out', `${host}.pem`, '-days', '1', '-extfile', `${host}.ext`);
  return { cert: readFileSync(join(work, `${host}.pem`)), key: readFileSync(join(work, `${host}.key`)) };
}

const detourCa = ca('detour-stand-in-CA');
const publicCa = ca('public-stand-in-CA');
const certs = { 'registry.bench.test': leaf('detour-stand-in-CA', 'registry.bench.test'), 'public.bench.test': leaf('public-stand-in-CA', 'public.bench.test') };
const caOnly = detourCa;
const combined = join(work, 'combined.pem');
writeFileSync(combined, readFileSync(SYSTEM_BUNDLE, 'utf8').replace(/\n?$/, '\n') + readFileSync(detourCa, 'utf8'));
// A CA directory as c_rehash lays it out: <subject hash>.0 → the certificate.
const caDir = join(work, 'ca-dir');
mkdirSync(caDir);
symlinkSync(publicCa, join(caDir, `${openssl('x509', '-hash', '-noout', '-in', publicCa).trim()}.0`));

const contexts = Object.fromEntries(Object.entries(certs).map(([name, pair]) => [name, tls.createSecureContext(pair)]));
let connections = 0;
const server = https.createServer({ ...certs['registry.bench.test'], SNICallback: (name, cb) => cb(null, contexts[name]) },
  (_req, res) => res.writeHead(200, { connection: 'close', 'content-length': 2 }).end('ok'));
server.on('secureConnection', () => connections++);
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;

/** One curl process making CONNECTIONS requests, each on a new connection (the server closes it). */
function curlRun(host, env, extra = []) {
  const cfg = join(work, `${host}.cfg`);
  writeFileSync(cfg, Array.from({ length: CONNECTIONS }, (_, i) => `url = "https://${host}/${i}"\noutput = "/dev/null"\n`).join(''));
  const before = connections;
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-sS', '--fail', '--connect-to', `${host}:443:127.0.0.1:${port}`, ...extra, '-K', cfg],
      { env: { PATH: process.env.PATH, HOME: work, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    const limit = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (status) => {
      clearTimeout(limit);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (status !== 0) reject(new Error(`curl to ${host} exited ${status}: ${stderr.trim()}`));
      else resolve({ ms, made: connections - before, stderr });
    });
  });
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const layouts = [
  ['combined (system roots + CA) as CURL_CA_BUNDLE', 'registry.bench.test', { CURL_CA_BUNDLE: combined }],
  ['CA only as CURL_CA_BUNDLE', 'registry.bench.test', { CURL_CA_BUNDLE: caOnly }],
  // What a tunneled public host costs under the CA-only file: its CA found in a directory. --capath stands in
  // for the compiled-in /etc/ssl/certs (to which this script adds nothing); given on the command line it makes
  // curl skip CURL_CA_BUNDLE, so the CA-only file is passed as --cacert.
  ['CA only (--cacert), public host, its CA through a CA directory (--capath)', 'public.bench.test', {}, ['--cacert', caOnly, '--capath', caDir]],
  // curl's tool reads CURL_CA_BUNDLE, else SSL_CERT_DIR, else SSL_CERT_FILE: with SSL_CERT_DIR set it ignores
  // SSL_CERT_FILE and uses its compiled-in CA file, so the public host verifies at the full bundle's cost.
  ['SSL_CERT_FILE = CA only + SSL_CERT_DIR (no CURL_CA_BUNDLE), public host', 'public.bench.test', { SSL_CERT_FILE: caOnly, SSL_CERT_DIR: caDir }],
];
const times = layouts.map(() => []);
const load = [loadavg()[0]];
for (let r = 0; r < REPEATS; r++) {
  for (const [i, [name, host, env, extra]] of layouts.entries()) {
    const { ms, made } = await curlRun(host, env, extra);
    if (made !== CONNECTIONS) throw new Error(`${name}: ${made} connections, expected ${CONNECTIONS}`);
    times[i].push(ms);
  }
}
load.push(loadavg()[0]);
/** The CA file and directory curl used, from its -v lines. */
const caPaths = async (host, env, extra = []) => {
  const { stderr } = await curlRun(host, env, [...extra, '-v']);
  return [...new Set(stderr.split('\n').filter((l) => /CAfile:|CApath:/.test(l)).map((l) => l.replace(/^\*\s*/, '').trim()))].join(', ');
};
const used = [];
for (const [, host, env, extra] of layouts) used.push(await caPaths(host, env, extra));
// The public host must NOT verify against the CA-only file alone: the directory is what made it pass.
const without = await curlRun('public.bench.test', { CURL_CA_BUNDLE: caOnly }).then(() => 'verified (unexpected)', (e) => (/exited 60/.test(e.message) ? 'refused (curl 60), as it should be' : e.message));
const fileIgnored = await curlRun('registry.bench.test', { SSL_CERT_FILE: caOnly, SSL_CERT_DIR: caDir }).then(() => 'verified', (e) => (/exited 60/.test(e.message) ? 'refused (curl 60): SSL_CERT_FILE was ignored' : e.message));
const curlVersion = execFileSync('curl', ['--version'], { encoding: 'utf8' }).split('\n')[0];

// The child's layout: curl and git under each detour build. registry.bench.test has no rule (a blind tunnel); its
// CA is given as --upstream-ca, as a team's root would be, so it is in every trust file detour writes.
const cfgFile = join(work, 'registry.bench.test.cfg');
const childScript = [
  // bash's `time` (TIMEFORMAT): curl's own CPU seconds, less sensitive than wall time to a loaded machine
  `s=$(date +%s%N); { TIMEFORMAT='%U %S'; time curl -sS --fail -K '${cfgFile}'; } 2>'${work}/cpu'; e=$(date +%s%N); echo "curl $(( (e - s) / 1000 )) $(cat '${work}/cpu')"`,
  `s=$(date +%s%N); i=0; while [ $i -lt ${GIT_RUNS} ]; do git ls-remote https://registry.bench.test/x.git >/dev/null 2>&1; i=$((i + 1)); done; e=$(date +%s%N); echo "git $(( (e - s) / 1000 ))"`,
  'curl -sS -v -o /dev/null https://registry.bench.test/ 2>&1 | grep -E "CAfile|CApath" | tr -d "*" | tr -s " " | tr "\\n" " "; echo',
  'GIT_CURL_VERBOSE=1 git ls-remote https://registry.bench.test/x.git 2>&1 | grep -o "found [0-9]* certificates in [^ ]*" | tr "\\n" " "; echo',
].join('\n');
function underDetour(cli) {
  const before = connections;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, '--no-upstream', '-m', 'npm', `--connect-to=registry.bench.test:443:127.0.0.1:${port}`, `--upstream-ca=${detourCa}`, '--', 'bash', '-c', childScript],
      { env: { PATH: process.env.PATH, HOME: work, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const limit = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('close', (status) => {
      clearTimeout(limit);
      const lines = out.trim().split('\n');
      const us = (name) => Number(lines.find((l) => l.startsWith(`${name} `))?.split(' ')[1]);
      const made = connections - before;
      const cpu = (lines.find((l) => l.startsWith('curl ')) ?? '').split(' ').slice(2).map(Number);
      if (status !== 0 || !(us('curl') > 0) || made < CONNECTIONS + GIT_RUNS + 2) reject(new Error(`${cli}: status ${status}, ${made} connections: ${out}`));
      else resolve({ curlMs: us('curl') / 1000, curlCpuMs: ((cpu[0] ?? NaN) + (cpu[1] ?? NaN)) * 1000, gitMs: us('git') / 1000, files: lines.slice(-2) });
    });
  });
}
const child = DETOURS.map(() => ({ curl: [], curlCpu: [], git: [], files: [] }));
load.push(loadavg()[0]);
for (let r = 0; r < REPEATS; r++) {
  for (const [i, cli] of DETOURS.entries()) {
    const { curlMs, curlCpuMs, gitMs, files } = await underDetour(cli);
    child[i].curl.push(curlMs);
    child[i].curlCpu.push(curlCpuMs);
    child[i].git.push(gitMs);
    child[i].files = files;
  }
}
load.push(loadavg()[0]);
server.close();

const systemCount = (readFileSync(SYSTEM_BUNDLE, 'utf8').match(/BEGIN CERTIFICATE/g) ?? []).length;
const scrub = (text) => text.replaceAll(work, '<tmp>').replace(/\/tmp\/detour-\w+/g, '<run>');
console.log(`${CONNECTIONS} new TLS connections from one curl process, median of ${REPEATS}; ${curlVersion.split(' ').slice(0, 5).join(' ')}`);
for (const [i, [name]] of layouts.entries()) {
  const m = median(times[i]);
  console.log(`  ${name}: ${m.toFixed(0)} ms (${(m / CONNECTIONS).toFixed(1)} ms a connection) [${scrub(used[i])}]`);
}
console.log(`  system bundle: ${SYSTEM_BUNDLE}, ${systemCount} certificates`);
console.log(`  public host, CA-only CURL_CA_BUNDLE, no CA directory holding its CA: ${without}`);
console.log(`  registry host, SSL_CERT_FILE = CA only + SSL_CERT_DIR without the CA: ${fileIgnored}`);
console.log(`Under detour (the child's trust files), median of ${REPEATS}, runs interleaved:`);
for (const [i, cli] of DETOURS.entries()) {
  const c = median(child[i].curl);
  const g = median(child[i].git);
  console.log(`  ${cli.replace(/\/dist\/cli\.js$/, '')}: curl ${CONNECTIONS} connections ${c.toFixed(0)} ms (${(c / CONNECTIONS).toFixed(1)} a connection, CPU ${median(child[i].curlCpu).toFixed(0)} ms); git ${GIT_RUNS} × ls-remote ${g.toFixed(0)} ms (${(g / GIT_RUNS).toFixed(1)} a run)`);
  console.log(`    curl: ${scrub(child[i].files[0] ?? '')}`);
  console.log(`    git:  ${scrub(child[i].files[1] ?? '')}`);
}
if (DETOURS.length === 2) {
  const ratio = (k) => median(child[0][k]) / median(child[1][k]);
  console.log(`  first / second: curl ${ratio('curl').toFixed(2)}× (CPU ${ratio('curlCpu').toFixed(2)}×), git ${ratio('git').toFixed(2)}×`);
}
console.log(`  1-min load average ${load.map((l) => l.toFixed(1)).join(' → ')}${Math.max(...load) > 1.5 ? ' (loaded machine: figures provisional)' : ''}`);
process.exit(0);
