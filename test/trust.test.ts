// The trust variables the child gets: every variable that REPLACES a tool's roots names a file holding the
// roots that tool would have used plus detour's CA, or (curl, git) the CAs alone where a CA directory the
// client reads anyway holds the roots. The clients themselves say which files they parsed (curl -v,
// GIT_CURL_VERBOSE); other distributions' builds are stood in for by a copy of the real libcurl whose
// compiled-in CA paths are moved to a test folder, loaded through LD_LIBRARY_PATH.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { answer, makeWorld, needs, type World } from './fixtures/detour.js';
import { gitHttpBackendHandler, makeBareRepo } from './fixtures/git.js';
import { goproxyHandler, sampleModuleGraph } from './fixtures/goproxy.js';
import { isolatedEnv, run } from './fixtures/run.js';
import { makeTestCa, type TestCa } from './fixtures/tls.js';
import { libcurlCompiledCa } from '../src/libcurlCa.js';

const REPLACING = [
  'SSL_CERT_FILE',
  'CURL_CA_BUNDLE',
  'GIT_SSL_CAINFO',
  'REQUESTS_CA_BUNDLE',
  'PIP_CERT',
  'CARGO_HTTP_CAINFO',
  'AWS_CA_BUNDLE',
  'npm_config_cafile',
  'HTTPLIB2_CA_CERTS',
  'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH',
  'CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE',
  'NIX_SSL_CERT_FILE',
];

const certs = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];

t.test('httplib2, gRPC, gcloud and nix get a bundle with the CA, like SSL_CERT_FILE; a parent’s own file is kept in it', async (t) => {
  // Every variable's file ends with detour's CA; CURL_CA_BUNDLE may hold it alone (the tests below).
  const w = await makeWorld(t);
  // A parent that gave gcloud its own corporate root: that root stays trusted by gcloud under detour.
  const corp = join(w.tmp, 'corp.pem');
  writeFileSync(corp, w.ca.certPem);
  const script = `for v in ${REPLACING.join(' ')}; do eval "f=\\$$v"; echo "== $v $f"; cat "$f"; done; echo "== CA"; cat "$DETOUR_CA_FILE"`;
  const r = await w.detour(['--no-upstream', '-m', 'npm', '--', 'sh', '-c', script], { env: { CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE: corp } });
  t.equal(r.code, 0, r.stderr);
  const sections = r.stdout.split(/^== /m).filter(Boolean).map((s) => {
    const [name, file] = s.slice(0, s.indexOf('\n')).split(' ');
    return { name: name!, file, pems: certs(s) };
  });
  const byName = Object.fromEntries(sections.map((s) => [s.name, s]));
  const ca = byName.CA?.pems[0];
  t.ok(ca, 'the CA');
  for (const v of REPLACING) {
    const { file, pems } = byName[v] ?? { pems: [] };
    t.ok(file?.endsWith('.pem'), `${v} is set to a bundle: ${file}`);
    t.equal(pems[pems.length - 1], ca, `${v}: the bundle ends with detour's CA`);
  }
  for (const v of ['HTTPLIB2_CA_CERTS', 'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH', 'NIX_SSL_CERT_FILE']) {
    t.equal(byName[v]?.file, byName.SSL_CERT_FILE?.file, `${v} is SSL_CERT_FILE's bundle (${byName[v]?.pems.length} certificates: the system roots, then the CA)`);
  }
  t.same(byName.CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE?.pems, [...certs(readFileSync(corp, 'utf8')), ca], 'gcloud: its own root, then the CA');
});

t.test('wget (GnuTLS reads no CA variable) gets a WGETRC: the parent’s own wgetrc, then the bundle as ca_certificate', async (t) => {
  const w = await makeWorld(t);
  const script = 'printf "%s\\n" "$SSL_CERT_FILE"; cat "$WGETRC"; grep -c "BEGIN CERTIFICATE" "$SSL_CERT_FILE" >&2';
  let r = await w.detour(['--no-upstream', '-m', 'npm', '--', 'sh', '-c', script]);
  t.equal(r.code, 0, r.stderr);
  let [bundle, ...rc] = r.stdout.trimEnd().split('\n');
  t.same(rc, [`ca_certificate = ${bundle}`], 'no wgetrc of their own: the line alone');
  writeFileSync(join(w.home, '.wgetrc'), 'tries = 3');
  const own = join(w.tmp, 'own-wgetrc');
  writeFileSync(own, 'header = X-Team: a\n');
  r = await w.detour(['--no-upstream', '-m', 'npm', '--', 'sh', '-c', script]);
  [bundle, ...rc] = r.stdout.trimEnd().split('\n');
  t.same(rc, ['tries = 3', `ca_certificate = ${bundle}`], '~/.wgetrc first');
  r = await w.detour(['--no-upstream', '-m', 'npm', '--', 'sh', '-c', script], { env: { WGETRC: own } });
  [bundle, ...rc] = r.stdout.trimEnd().split('\n');
  t.same(rc, ['header = X-Team: a', `ca_certificate = ${bundle}`], 'the parent’s WGETRC instead of ~/.wgetrc, as wget reads it');
  t.ok(Number(r.stderr.trim()) > 1, `the file named is a bundle (${r.stderr.trim()} certificates)`);
});

const SYSTEM_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const SYSTEM_DIR = '/etc/ssl/certs';
const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8' }).trim();

/** A server on 127.0.0.1 whose chain ends at `root` (a stand-in for a public CA), for curl and git run without detour. */
async function curlDefaults(w: World, root: TestCa): Promise<{ file: string; dir: string }> {
  await w.https('defaults.example.org', answer(200, 'x'), { untrusted: root });
  const port = w.flags().find((f) => f.startsWith('--connect-to=defaults.example.org:443:'))!.split(':').pop()!;
  const r = await run('curl', ['-sv', '--max-time', '10', '--connect-to', `defaults.example.org:443:127.0.0.1:${port}`, 'https://defaults.example.org/'], { env: isolatedEnv({ HOME: w.home }), timeoutMs: 20_000 });
  const line = (name: string) => r.stderr.match(new RegExp(`${name}: (\\S+)`))?.[1] ?? '';
  return { file: line('CAfile'), dir: line('CApath') };
}

t.test('libcurl’s compiled-in CA file and directory are read from the library as curl itself reports them', { skip: needs('curl', 'git') }, async (t) => {
  const w = await makeWorld(t);
  const root = await makeTestCa();
  t.teardown(() => root.cleanup());
  const reported = await curlDefaults(w, root);
  const found = libcurlCompiledCa('curl', isolatedEnv());
  t.same({ file: found?.file ?? 'none', dir: found?.dir ?? 'none' }, reported, `curl -v: CAfile ${reported.file}, CApath ${reported.dir}`);
  // git's helper: GnuTLS prints the directory it loaded ("found N certificates in DIR").
  const port = w.flags().find((f) => f.startsWith('--connect-to=defaults.example.org:443:'))!.split(':').pop()!;
  const r = await run('git', ['-c', `http.curloptResolve=defaults.example.org:${port}:127.0.0.1`, 'ls-remote', `https://defaults.example.org:${port}/x.git`], {
    env: isolatedEnv({ HOME: w.home, GIT_CONFIG_NOSYSTEM: '1', GIT_CURL_VERBOSE: '1', GIT_TERMINAL_PROMPT: '0' }),
    timeoutMs: 20_000,
  });
  const gitDir = r.stderr.match(/found \d+ certificates in (\S+)/g)?.map((l) => l.split(' in ')[1]) ?? [];
  const helper = execFileSync('git', ['--exec-path'], { encoding: 'utf8' }).trim() + '/git-remote-https';
  t.same(libcurlCompiledCa(helper, isolatedEnv())?.dir, gitDir[0], `git’s libcurl reads ${gitDir.join(', ')}`);
});

t.test('on this machine: curl parses a file of the CAs alone, git a bundle and detour’s CA directory, and both verify a tunneled host', { skip: needs('curl', 'git') }, async (t) => {
  const w = await makeWorld(t);
  const root = await makeTestCa();
  t.teardown(() => root.cleanup());
  const defaults = await curlDefaults(w, root);
  const repos = join(w.work, 'repos');
  await makeBareRepo(join(repos, 'acme/widget.git'), { 'README.md': 'x\n' });
  await w.https('public.example.org', answer(200, 'public'));
  await w.https('git.example.org', gitHttpBackendHandler(repos));
  const script = [
    'curl -sS -v --max-time 20 https://public.example.org/ 2>curl.err; echo',
    'grep -E "CAfile|CApath" curl.err >&2; grep -c "BEGIN CERT" "$CURL_CA_BUNDLE" >&2',
    'GIT_CURL_VERBOSE=1 git ls-remote https://git.example.org/acme/widget.git 2>git.err; grep "found .* certificates" git.err >&2',
  ].join('; ');
  const r = await w.detour([...w.flags(), '--', 'sh', '-c', script], { env: { GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' } });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^public\n/, 'curl verified the tunneled host (its CA given by --upstream-ca)');
  t.match(r.stdout, /refs\/heads\/main/, 'git verified it too');
  const caFileCerts = Number(r.stderr.match(/^(\d+)$/m)?.[1]);
  if (defaults.dir === SYSTEM_DIR) {
    t.match(r.stderr, /CAfile: \S+\/(ca|cas)\.pem/, 'curl’s CA file is the CAs alone');
    t.equal(caFileCerts, 2, 'two certificates per connection (--upstream-ca and the run’s CA) instead of the ~145 of the bundle');
    t.match(r.stderr, new RegExp(`CApath: ${SYSTEM_DIR}\\b`), 'the system roots stay reachable through curl’s compiled-in CA directory');
  } else {
    t.ok(caFileCerts > 2, `curl without a compiled-in CA directory (${defaults.dir}): the bundle (${caFileCerts} certificates)`);
  }
  const found = [...r.stderr.matchAll(/found (\d+) certificates in (\S+)/g)].map((m) => ({ n: Number(m[1]), where: m[2]! }));
  t.notOk(found.some((f) => f.where.startsWith(SYSTEM_DIR)), `git no longer reads ${SYSTEM_DIR} (432 certificates here) for each connection: ${found.map((f) => `${f.n} in ${f.where}`).join(', ')}`);
  t.equal(found.find((f) => /\/no-ca-dir$/.test(f.where))?.n, 0, 'git reads detour’s empty CA directory instead');
});

/** A folder whose path is exactly as long as /etc/ssl/certs, so a copy of libcurl can name it instead. */
function shortDir(t: Test): string {
  const dir = mkdtempSync('/tmp/dc-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  if (dir.length !== SYSTEM_DIR.length) throw new Error(`${dir}: expected ${SYSTEM_DIR.length} characters`);
  return dir;
}

/** A CA directory laid out as on Debian: links to each hashed entry of /etc/ssl/certs, plus `roots` under their subject hashes. */
function caDirLike(dir: string, opts: { systemRoots: boolean; roots: TestCa[] }): void {
  if (opts.systemRoots) {
    for (const name of readdirSync(SYSTEM_DIR).filter((n) => /^[0-9a-f]{8}\.\d$/.test(n))) {
      symlinkSync(resolve(SYSTEM_DIR, readlinkSync(join(SYSTEM_DIR, name))), join(dir, name));
    }
  }
  for (const root of opts.roots) symlinkSync(root.certFile, join(dir, `${openssl('x509', '-hash', '-noout', '-in', root.certFile)}.0`));
}

/**
 * A copy of the real library `soname` that `program` loads, with its compiled-in CA file and directory (string
 * literals) replaced by `moves` (same length or shorter, NUL-padded): a libcurl built with other CA paths.
 */
function relocatedLibcurl(t: Test, program: string, soname: string, moves: Record<string, string>): string {
  const real = execFileSync('ldd', [program], { encoding: 'utf8' }).match(new RegExp(`${soname.replace(/\./g, '\\.')} => (\\S+)`))?.[1];
  if (!real) throw new Error(`${program} does not load ${soname}`);
  const lib = readFileSync(real);
  for (const [from, to] of Object.entries(moves)) {
    const needle = Buffer.from(`\0${from}\0`);
    const at = lib.indexOf(needle);
    if (at < 0 || lib.indexOf(needle, at + 1) >= 0 || to.length > from.length) throw new Error(`${real}: cannot move ${from} to ${to}`);
    Buffer.from(to.padEnd(from.length, '\0')).copy(lib, at + 1);
  }
  const dir = mkdtempSync(join(resolve(process.env.TMPDIR ?? '/tmp'), 'detour-lib-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, soname), lib);
  return dir;
}

const systemPem = () => readFileSync(SYSTEM_BUNDLE, 'utf8').replace(/\n?$/, '\n');
const CURL_SCRIPT = (hosts: string[]) =>
  [...hosts.map((h) => `curl -sS -v --max-time 20 https://${h}/ 2>>curl.err; echo`), 'grep -E "CAfile|CApath" curl.err | sort -u >&2; grep -c "BEGIN CERT" "$CURL_CA_BUNDLE" >&2'].join('; ');

t.test('a curl whose compiled-in CA directory holds a root found nowhere else: the CAs alone in CURL_CA_BUNDLE, and a tunneled host signed by that root verifies', { skip: needs('curl') }, async (t) => {
  const w = await makeWorld(t);
  const publicRoot = await makeTestCa();
  t.teardown(() => publicRoot.cleanup());
  const dir = shortDir(t);
  caDirLike(dir, { systemRoots: true, roots: [publicRoot] });
  writeFileSync(join(dir, 'b.pem'), systemPem() + publicRoot.certPem); // its compiled-in file: the same roots
  const lib = relocatedLibcurl(t, execFileSync('sh', ['-c', 'command -v curl'], { encoding: 'utf8' }).trim(), 'libcurl.so.4', { [SYSTEM_DIR]: dir, [SYSTEM_BUNDLE]: `${dir}/b.pem` });
  await w.https('public.example.org', answer(200, 'public'), { untrusted: publicRoot });
  const r = await w.detour([...w.flags(), '--', 'sh', '-c', CURL_SCRIPT(['public.example.org'])], { env: { LD_LIBRARY_PATH: lib } });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'public\n', 'the tunneled host verified through the compiled-in CA directory');
  t.match(r.stderr, new RegExp(`CApath: ${dir}\\b`), 'curl read its (moved) compiled-in directory');
  t.match(r.stderr, /CAfile: \S+\/cas\.pem/);
  t.match(r.stderr, /^2$/m, 'CURL_CA_BUNDLE: --upstream-ca and the run’s CA, nothing to parse per connection');
});

t.test('a curl with no usable CA directory (bundle only, as Fedora builds it): CURL_CA_BUNDLE is its compiled-in file plus the CAs', { skip: needs('curl') }, async (t) => {
  const w = await makeWorld(t);
  const publicRoot = await makeTestCa();
  t.teardown(() => publicRoot.cleanup());
  const dir = shortDir(t);
  writeFileSync(join(dir, 'b.pem'), systemPem() + publicRoot.certPem);
  const lib = relocatedLibcurl(t, execFileSync('sh', ['-c', 'command -v curl'], { encoding: 'utf8' }).trim(), 'libcurl.so.4', { [SYSTEM_DIR]: '/nonexistent/x', [SYSTEM_BUNDLE]: `${dir}/b.pem` });
  await w.https('public.example.org', answer(200, 'public'), { untrusted: publicRoot });
  const r = await w.detour([...w.flags(), '--', 'sh', '-c', CURL_SCRIPT(['public.example.org'])], { env: { LD_LIBRARY_PATH: lib } });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'public\n', 'the tunneled host verified: its root is in curl’s own compiled-in file, which the bundle holds');
  t.match(r.stderr, /CApath: \/nonexistent\/x/);
  t.match(r.stderr, new RegExp(`^${certs(systemPem()).length + 3}$`, 'm'), 'CURL_CA_BUNDLE: the compiled-in file’s roots, --upstream-ca, the run’s CA');
});

t.test('a compiled-in CA directory that does not hold the compiled-in file’s roots: the bundle, and roots of both still verify', { skip: needs('curl') }, async (t) => {
  const w = await makeWorld(t);
  const inDir = await makeTestCa();
  const inFile = await makeTestCa();
  t.teardown(() => (inDir.cleanup(), inFile.cleanup()));
  const dir = shortDir(t);
  caDirLike(dir, { systemRoots: false, roots: [inDir] });
  writeFileSync(join(dir, 'b.pem'), systemPem() + inFile.certPem);
  const lib = relocatedLibcurl(t, execFileSync('sh', ['-c', 'command -v curl'], { encoding: 'utf8' }).trim(), 'libcurl.so.4', { [SYSTEM_DIR]: dir, [SYSTEM_BUNDLE]: `${dir}/b.pem` });
  await w.https('dir.example.org', answer(200, 'dir'), { untrusted: inDir });
  await w.https('file.example.org', answer(200, 'file'), { untrusted: inFile });
  const r = await w.detour([...w.flags(), '--', 'sh', '-c', CURL_SCRIPT(['dir.example.org', 'file.example.org'])], { env: { LD_LIBRARY_PATH: lib } });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'dir\nfile\n');
  t.match(r.stderr, new RegExp(`^${certs(systemPem()).length + 3}$`, 'm'), 'CURL_CA_BUNDLE: the compiled-in file’s roots and the CAs');
});

async function gitWorld(t: Test, w: World, root: TestCa): Promise<string> {
  const repos = join(w.work, 'repos');
  await makeBareRepo(join(repos, 'acme/widget.git'), { 'README.md': 'x\n' });
  await w.https('git.example.org', gitHttpBackendHandler(repos), { untrusted: root });
  return execFileSync('git', ['--exec-path'], { encoding: 'utf8' }).trim() + '/git-remote-https';
}
const GIT_SCRIPT = 'GIT_CURL_VERBOSE=1 git ls-remote https://git.example.org/acme/widget.git 2>git.err; grep "found .* certificates" git.err >&2; echo "capath=${GIT_SSL_CAPATH:-unset}" >&2';
const gitEnv = { GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };

t.test('git whose compiled-in CA directory holds its bundle’s roots (Debian): detour’s CA directory replaces it, and a tunneled host signed by a system root verifies', { skip: needs('git') }, async (t) => {
  const w = await makeWorld(t);
  const publicRoot = await makeTestCa();
  t.teardown(() => publicRoot.cleanup());
  const dir = shortDir(t);
  caDirLike(dir, { systemRoots: true, roots: [publicRoot] });
  const system = join(w.tmp, 'system.pem'); // the roots git's bundle starts from: the parent's SSL_CERT_FILE
  writeFileSync(system, systemPem() + publicRoot.certPem);
  const helper = await gitWorld(t, w, publicRoot);
  const lib = relocatedLibcurl(t, helper, 'libcurl-gnutls.so.4', { [SYSTEM_DIR]: dir });
  const r = await w.detour([...w.flags(), '--', 'sh', '-c', GIT_SCRIPT], { env: { ...gitEnv, LD_LIBRARY_PATH: lib, SSL_CERT_FILE: system } });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /refs\/heads\/main/, 'git verified the host against the system root in its bundle');
  t.notMatch(r.stderr, new RegExp(`in ${dir}`), 'the compiled-in directory is not read');
  t.match(r.stderr, /capath=\S+\/no-ca-dir\n/);
  const found = [...r.stderr.matchAll(/found (\d+) certificates/g)].reduce((n, m) => n + Number(m[1]), 0);
  t.equal(found, certs(systemPem()).length + 1 + 2, `${found} certificates parsed per connection: the bundle alone (system roots, --upstream-ca, CA)`);
});

t.test('git whose compiled-in CA directory holds a root its bundle lacks: the directory is kept, and that root still verifies', { skip: needs('git') }, async (t) => {
  const w = await makeWorld(t);
  const publicRoot = await makeTestCa();
  t.teardown(() => publicRoot.cleanup());
  const dir = shortDir(t);
  caDirLike(dir, { systemRoots: false, roots: [publicRoot] });
  const helper = await gitWorld(t, w, publicRoot);
  const lib = relocatedLibcurl(t, helper, 'libcurl-gnutls.so.4', { [SYSTEM_DIR]: dir });
  const r = await w.detour([...w.flags(), '--', 'sh', '-c', GIT_SCRIPT], { env: { ...gitEnv, LD_LIBRARY_PATH: lib } });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /refs\/heads\/main/, 'verified through the compiled-in directory');
  t.match(r.stderr, new RegExp(`found 1 certificates in ${dir}`));
  t.match(r.stderr, /capath=unset/);
});

t.test('roots the parent gave through SSL_CERT_FILE and SSL_CERT_DIR keep working for go and curl on tunneled hosts', { skip: needs('go', 'curl') }, async (t) => {
  const w = await makeWorld(t);
  const inFile = await makeTestCa();
  const inDir = await makeTestCa();
  t.teardown(() => (inFile.cleanup(), inDir.cleanup()));
  const file = join(w.tmp, 'roots.pem');
  writeFileSync(file, systemPem() + inFile.certPem);
  const dir = join(w.tmp, 'roots.d');
  mkdirSync(dir);
  symlinkSync(inDir.certFile, join(dir, `${openssl('x509', '-hash', '-noout', '-in', inDir.certFile)}.0`));
  const graph = sampleModuleGraph();
  writeFileSync(join(w.work, 'go.mod'), graph.mainGoMod);
  writeFileSync(join(w.work, 'main.go'), graph.mainGo);
  const corp = await w.https('goproxy.corp.example.org', goproxyHandler(graph.modules), { untrusted: inFile });
  await w.https('dir.example.org', answer(200, 'dir'), { untrusted: inDir });
  await w.https('file.example.org', answer(200, 'file'), { untrusted: inFile });
  const go = {
    GOPROXY: 'https://goproxy.corp.example.org', // no rule: a blind tunnel, verified by go itself
    GOFLAGS: '-mod=mod',
    GOSUMDB: 'off',
    GOTOOLCHAIN: 'local',
    GOPATH: join(w.work, 'gopath'),
    GOMODCACHE: join(w.work, 'modcache'),
    GOCACHE: join(w.work, 'gocache'),
  };
  const script = 'go mod download && echo go-ok; curl -sS --max-time 20 https://dir.example.org/; echo; curl -sS --max-time 20 https://file.example.org/; echo';
  const r = await w.detour([...w.flags(), '--', 'sh', '-c', script], { env: { ...go, SSL_CERT_FILE: file, SSL_CERT_DIR: dir }, timeoutMs: 120_000 });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'go-ok\ndir\nfile\n', r.stderr);
  t.ok(corp.requests.some((q) => q.url.endsWith('.zip')), 'go fetched the modules from the tunneled proxy');
  t.ok(existsSync(join(w.work, 'modcache/github.com/acme/widget@v1.2.0/widget.go')));
});

t.test("detour's own connections trust the parent's roots that Node's list lacks (its SSL_CERT_FILE), beside Node's own", { skip: needs('curl') }, async (t) => {
  // Node's bundled roots cannot be exercised offline; a root only the parent's SSL_CERT_FILE holds can: detour
  // adds it to Node's store for its outbound context (trust.ts, outboundSecureContext). Without it, or with it
  // as --upstream-ca, the same mirror is refused or trusted.
  const w = await makeWorld(t);
  await w.https('mirror.roots.test', answer(200, 'from the mirror'));
  const flags = w.flags().filter((f) => !f.startsWith('--upstream-ca='));
  const system = join(w.tmp, 'system.pem');
  writeFileSync(system, readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8') + w.ca.certPem);
  const fetch = ['--', 'curl', '-sS', '--max-time', '30', '-o', '/dev/null', '-w', '%{http_code}', 'https://files.roots.test/a'];
  const rule = ['-m', 'files.roots.test=https://mirror.roots.test'];
  let r = await w.detour([...flags, ...rule, ...fetch], { env: { SSL_CERT_FILE: system } });
  t.equal(r.stdout, '200', `trusted through the parent's SSL_CERT_FILE: ${r.stderr}`);
  r = await w.detour([...flags, ...rule, ...fetch]);
  t.not(r.stdout, '200', 'refused when no root the parent trusts signed it');
  t.match(r.stderr, /certificate|verify/i, `…saying why: ${r.stderr.trim()}`);
  r = await w.detour([...w.flags(), ...rule, ...fetch]);
  t.equal(r.stdout, '200', `trusted through --upstream-ca: ${r.stderr}`);
});
