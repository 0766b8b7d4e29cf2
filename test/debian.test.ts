// apt through the debian preset: real `apt-get update` and `apt-get download` (a non-installing run with its
// own sources, keyring, state and cache) against an archive made at test time (dpkg-deb, apt-ftparchive, a gpg
// key generated into a temporary GNUPGHOME), served by stand-ins for the mirrors and for deb.debian.org and
// security.debian.org. Every name any client could reach is mapped: the stand-ins by name, anything else to a
// dead port on 127.0.0.1.
import t from 'tap';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { answer, makeWorld, needs, type World } from './fixtures/detour.js';
import { tempDir } from './fixtures/run.js';
import type { FakeServer } from './fixtures/servers.js';
import { aptClient, archiveHandler, makeArchive, makeDeb, makeSigningKey, type DebPackage, type SigningKey } from './fixtures/debianArchive.js';

const skip = needs('apt-get', 'apt-ftparchive', 'dpkg-deb', 'gpg', 'gpg-agent', 'gpgconf');

interface Archives {
  readonly key: SigningKey;
  /** The tree deb.debian.org/debian serves (bookworm), and the one /debian-security serves (bookworm-security). */
  readonly main: string;
  readonly security: string;
  readonly hello: DebPackage;
  readonly fix: DebPackage;
  /** The same archive signed by a key apt was not given. */
  readonly forged: string;
}

/** Built once for the file: two keys, two packages, the archive and its security archive, and a forgery. */
async function buildArchives(dir: string): Promise<Archives> {
  const key = await makeSigningKey(join(dir, 'key'), 'detour test archive <archive@example.invalid>');
  const other = await makeSigningKey(join(dir, 'other'), 'someone else <other@example.invalid>');
  const debs = join(dir, 'debs');
  mkdirSync(debs);
  const hello = await makeDeb(debs, 'hello-detour', '1.0-1', 'hello from the archive');
  const fix = await makeDeb(debs, 'hello-fix', '1:2.0-1+deb12u1', 'a security update');
  const main = join(dir, 'main');
  const security = join(dir, 'security');
  const forged = join(dir, 'forged');
  await makeArchive(main, key, { codename: 'bookworm', suite: 'stable', packages: [hello] });
  await makeArchive(security, key, { codename: 'bookworm-security', suite: 'stable-security', packages: [fix] });
  await makeArchive(forged, other, { codename: 'bookworm', suite: 'stable', packages: [hello] });
  await other.stop();
  await key.stop();
  return { key, main, security, hello, fix, forged };
}

const scratch = tempDir('detour-debian-');
t.teardown(() => scratch.cleanup());
let archives: Promise<Archives> | undefined;
const getArchives = () => (archives ??= buildArchives(scratch.path));

/** w.flags(), -v, and a catch-all that sends any other name, any port, to a dead local port. */
async function hermetic(w: World): Promise<string[]> {
  return [...w.flags(), `--connect-to=::127.0.0.1:${await w.deadPort()}`, '-v'];
}

/** deb.debian.org and security.debian.org over http and https, recording and answering 500. */
async function silentOrigins(w: World): Promise<FakeServer[]> {
  const names = ['deb.debian.org', 'security.debian.org'];
  return [
    ...(await Promise.all(names.map((n) => w.http(n, answer(500, `${n} must not be asked\n`))))),
    ...(await Promise.all(names.map((n) => w.https(n, answer(500, `${n} must not be asked\n`))))),
  ];
}

const sourcesFor = (a: Archives, scheme: 'http' | 'https') => [
  `deb [signed-by=${a.key.keyring}] ${scheme}://deb.debian.org/debian bookworm main`,
  `deb [signed-by=${a.key.keyring}] ${scheme}://deb.debian.org/debian-security bookworm-security main`,
  `deb [signed-by=${a.key.keyring}] ${scheme}://security.debian.org/debian-security bookworm-security main`,
];

const paths = (s: FakeServer) => s.requests.map((r) => `${r.method} ${r.url}`);
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** `apt-get update`, then `apt-get download` of `packages` in the client's download folder, in one detour run. */
function aptRun(w: World, flags: string[], config: string, cwd: string, packages: string[]) {
  const script = `apt-get -q update && apt-get -q download ${packages.join(' ')}`;
  return w.detour([...flags, '--', 'sh', '-ec', script], { env: { APT_CONFIG: config }, cwd, timeoutMs: 90_000 });
}

t.test('apt-get update and download over http: every request goes to the mirror, the origins hear nothing', { skip }, async (t) => {
  const a = await getArchives();
  const w = await makeWorld(t);
  const mirror = await w.https('mirrors.tuna.tsinghua.edu.cn', archiveHandler({ '/debian': a.main, '/debian-security': a.security }));
  const aliyun = await w.https('mirrors.aliyun.com', answer(500, 'aliyun must not be asked\n'));
  const origins = await silentOrigins(w);
  const apt = aptClient(join(w.work, 'apt'), sourcesFor(a, 'http'));

  const r = await aptRun(w, await hermetic(w), apt.config, apt.downloads, ['hello-detour', 'hello-fix']);
  t.equal(r.code, 0, `apt-get: ${r.stdout}\n${r.stderr}`);
  t.equal(sha256(join(apt.downloads, a.hello.fileName)), a.hello.sha256, 'hello-detour: the .deb the archive holds');
  t.equal(sha256(join(apt.downloads, a.fix.fileName)), a.fix.sha256, 'hello-fix: the .deb the security archive holds');

  t.same(paths(mirror).sort(), [
    'GET /debian-security/dists/bookworm-security/InRelease',
    'GET /debian-security/dists/bookworm-security/InRelease',
    'GET /debian-security/dists/bookworm-security/main/binary-amd64/Packages.gz',
    'GET /debian-security/dists/bookworm-security/main/binary-amd64/Packages.gz',
    `GET /debian-security/pool/main/h/hello-fix/${encodeURIComponent(a.fix.fileName).replace(/%2B/g, '%2b')}`,
    'GET /debian/dists/bookworm/InRelease',
    'GET /debian/dists/bookworm/main/binary-amd64/Packages.gz',
    `GET /debian/pool/main/h/hello-detour/${a.hello.fileName}`,
  ], 'the mirror served both archives: deb.debian.org/debian at …/debian, both security hosts at …/debian-security');
  t.match(r.stderr, /GET http:\/\/deb\.debian\.org\/debian\/pool\/main\/h\/hello-detour\/hello-detour_1\.0-1_all\.deb \[mirror\] → mirrors\.tuna\.tsinghua\.edu\.cn\/debian 200/, '-v: the .deb, mirrored');
  t.match(r.stderr, /GET http:\/\/security\.debian\.org\/debian-security\/dists\/bookworm-security\/InRelease \[mirror\] → mirrors\.tuna\.tsinghua\.edu\.cn\/debian-security 200/, '-v: security.debian.org, mirrored');
  t.match(r.stderr, /detour: 8 requests, 8 mirrored, 0 tunneled, 0 direct, 0 to origin/, 'summary: everything mirrored');
  t.equal(aliyun.requests.length, 0, 'aliyun received nothing');
  for (const o of origins) t.equal(o.requests.length, 0, 'an origin received nothing');
});

t.test('the mirror is down: apt is served by the origin over plain http, and detour names the dead mirror', { skip }, async (t) => {
  const a = await getArchives();
  const w = await makeWorld(t);
  w.map('mirrors.tuna.tsinghua.edu.cn', await w.deadPort());
  const archive = await w.http('deb.debian.org', archiveHandler({ '/debian': a.main, '/debian-security': a.security }));
  const security = await w.http('security.debian.org', archiveHandler({ '/debian-security': a.security }));
  const apt = aptClient(join(w.work, 'apt'), sourcesFor(a, 'http'));

  const r = await aptRun(w, [...(await hermetic(w)), '-m', 'debian=tuna|origin'], apt.config, apt.downloads, ['hello-detour']);
  t.equal(r.code, 0, `apt-get: ${r.stdout}\n${r.stderr}`);
  t.equal(sha256(join(apt.downloads, a.hello.fileName)), a.hello.sha256, 'the .deb, from the origin');
  t.ok(paths(archive).includes(`GET /debian/pool/main/h/hello-detour/${a.hello.fileName}`), 'deb.debian.org served the .deb');
  t.ok(paths(security).includes('GET /debian-security/dists/bookworm-security/InRelease'), 'security.debian.org served its InRelease');
  t.match(r.stderr, /detour: warning: mirror mirrors\.tuna\.tsinghua\.edu\.cn\/debian failed \(E_CONNECT [^\n]*\); fell back to origin/, 'the dead mirror is named once');
  t.match(r.stderr, /GET http:\/\/deb\.debian\.org\/debian\/dists\/bookworm\/InRelease \[mirror\] → origin 200/, '-v: the mirror route, answered by the origin');
});

t.test('a mirror that lacks a file (404): the next mirror of the default chain serves it', { skip }, async (t) => {
  const a = await getArchives();
  const w = await makeWorld(t);
  const serve = archiveHandler({ '/debian': a.main, '/debian-security': a.security });
  const tuna = await w.https('mirrors.tuna.tsinghua.edu.cn', (req, res, body) => (req.url?.endsWith('.deb') ? answer(404, 'not synced yet\n')(req, res, body) : serve(req, res, body)));
  const aliyun = await w.https('mirrors.aliyun.com', archiveHandler({ '/debian': a.main, '/debian-security': a.security }));
  const origins = await silentOrigins(w);
  const apt = aptClient(join(w.work, 'apt'), sourcesFor(a, 'http'));

  const r = await aptRun(w, await hermetic(w), apt.config, apt.downloads, ['hello-detour']);
  t.equal(r.code, 0, `apt-get: ${r.stdout}\n${r.stderr}`);
  t.equal(sha256(join(apt.downloads, a.hello.fileName)), a.hello.sha256, 'the .deb, from aliyun');
  t.same(paths(aliyun), [`GET /debian/pool/main/h/hello-detour/${a.hello.fileName}`], 'aliyun was asked for the .deb alone');
  t.ok(paths(tuna).includes('GET /debian/dists/bookworm/InRelease'), 'tuna served the indexes');
  for (const o of origins) t.equal(o.requests.length, 0, 'an origin received nothing');
  t.match(r.stderr, /hello-detour_1\.0-1_all\.deb \[mirror\] → mirrors\.aliyun\.com\/debian 200 .*\(tried mirrors\.tuna\.tsinghua\.edu\.cn\/debian:404 → mirrors\.aliyun\.com\/debian:200\)/, '-v: the .deb, from aliyun after tuna’s 404');
  t.match(r.stderr, /7 requests, 7 mirrored, 0 tunneled, 0 direct, 0 to origin, 0 blocked, 1 fallback,/, 'summary: one fallback');
});

t.test('-m debian=URL: a team base that serves what deb.debian.org/debian serves; security updates stay with the origin', { skip }, async (t) => {
  const a = await getArchives();
  const w = await makeWorld(t);
  const nexus = await w.https('nexus.corp.test', archiveHandler({ '/repository/debian-proxy': a.main }));
  const tuna = await w.https('mirrors.tuna.tsinghua.edu.cn', answer(500, 'tuna must not be asked\n'));
  const archive = await w.http('deb.debian.org', answer(500, 'deb.debian.org must not be asked\n'));
  const security = await w.http('security.debian.org', archiveHandler({ '/debian-security': a.security }));
  const apt = aptClient(join(w.work, 'apt'), [
    `deb [signed-by=${a.key.keyring}] http://deb.debian.org/debian bookworm main`,
    `deb [signed-by=${a.key.keyring}] http://security.debian.org/debian-security bookworm-security main`,
  ]);

  const flags = [...(await hermetic(w)), '-m', 'debian=https://nexus.corp.test/repository/debian-proxy/|origin'];
  const r = await aptRun(w, flags, apt.config, apt.downloads, ['hello-detour', 'hello-fix']);
  t.equal(r.code, 0, `apt-get: ${r.stdout}\n${r.stderr}`);
  t.equal(sha256(join(apt.downloads, a.hello.fileName)), a.hello.sha256, 'hello-detour, from the team base');
  t.equal(sha256(join(apt.downloads, a.fix.fileName)), a.fix.sha256, 'hello-fix, from security.debian.org');
  t.same(paths(nexus).sort(), [
    'GET /repository/debian-proxy/dists/bookworm/InRelease',
    'GET /repository/debian-proxy/dists/bookworm/main/binary-amd64/Packages.gz',
    `GET /repository/debian-proxy/pool/main/h/hello-detour/${a.hello.fileName}`,
  ], 'deb.debian.org/debian/… maps onto the base');
  t.equal(archive.requests.length, 0, 'deb.debian.org received nothing');
  t.equal(tuna.requests.length, 0, 'tuna received nothing (a chosen list replaces the default)');
  t.ok(paths(security).includes('GET /debian-security/dists/bookworm-security/InRelease'), 'security.debian.org served its own archive');
  t.match(r.stderr, /GET http:\/\/deb\.debian\.org\/debian\/dists\/bookworm\/InRelease \[mirror\] → nexus\.corp\.test\/repository\/debian-proxy 200/, '-v: the team base');
  t.match(r.stderr, /GET http:\/\/security\.debian\.org\/debian-security\/dists\/bookworm-security\/InRelease \[origin\] → origin 200/, '-v: security.debian.org has no rule: sent on unchanged');
});

t.test("apt's own checks refuse a mirror's other bytes: a changed .deb, an archive signed by another key", { skip }, async (t) => {
  const a = await getArchives();
  const w = await makeWorld(t);
  const serve = archiveHandler({ '/debian': a.main });
  const tampered = Buffer.from(a.hello.data);
  tampered[tampered.length - 1] ^= 0xff; // same size, other bytes
  await w.https('mirrors.tuna.tsinghua.edu.cn', (req, res, body) => {
    if (!req.url?.endsWith('.deb')) return serve(req, res, body);
    res.writeHead(200, { 'content-type': 'application/vnd.debian.binary-package', 'content-length': tampered.length });
    res.end(tampered);
  });
  await w.https('mirrors.aliyun.com', archiveHandler({ '/debian': a.forged }));
  const origins = await silentOrigins(w);
  const sources = [`deb [signed-by=${a.key.keyring}] http://deb.debian.org/debian bookworm main`];

  const changed = aptClient(join(w.work, 'changed'), sources);
  const r1 = await aptRun(w, [...(await hermetic(w)), '-m', 'debian=tuna|origin'], changed.config, changed.downloads, ['hello-detour']);
  t.not(r1.code, 0, 'apt-get download fails');
  t.match(r1.stdout + r1.stderr, /Hash Sum mismatch/, 'apt: Hash Sum mismatch');
  t.same(readdirSync(changed.downloads).filter((f) => f.endsWith('.deb')), [], 'no .deb is left behind (apt renames it .FAILED)');

  const forged = aptClient(join(w.work, 'forged'), sources);
  const r2 = await aptRun(w, [...(await hermetic(w)), '-m', 'debian=aliyun|origin'], forged.config, forged.downloads, ['hello-detour']);
  t.not(r2.code, 0, 'apt-get update fails');
  t.match(r2.stdout + r2.stderr, /NO_PUBKEY|signatures couldn't be verified/, 'apt: the signature is not from a key it was given');
  t.same(readdirSync(forged.downloads), [], 'nothing downloaded');
  for (const o of origins) t.equal(o.requests.length, 0, 'an origin received nothing (a 200 is an answer: no fallback)');
});

t.test('https sources: decrypted with the run CA that APT_CONFIG names, around the user\'s own APT_CONFIG', { skip }, async (t) => {
  const a = await getArchives();
  const w = await makeWorld(t);
  const mirror = await w.https('mirrors.tuna.tsinghua.edu.cn', archiveHandler({ '/debian': a.main, '/debian-security': a.security }));
  const origins = await silentOrigins(w);
  const apt = aptClient(join(w.work, 'apt'), sourcesFor(a, 'https'));

  const r = await aptRun(w, await hermetic(w), apt.config, apt.downloads, ['hello-detour', 'hello-fix']);
  t.equal(r.code, 0, `apt-get: ${r.stdout}\n${r.stderr}`);
  t.equal(sha256(join(apt.downloads, a.hello.fileName)), a.hello.sha256, 'hello-detour');
  t.equal(sha256(join(apt.downloads, a.fix.fileName)), a.fix.sha256, 'hello-fix');
  t.ok(existsSync(join(apt.lists, 'deb.debian.org_debian_dists_bookworm_InRelease')), "the lists went where the user's APT_CONFIG said");
  t.equal(mirror.requests.length, 8, 'the mirror served every request');
  for (const o of origins) t.equal(o.requests.length, 0, 'an origin received nothing');
  t.match(r.stderr, /GET https:\/\/security\.debian\.org\/debian-security\/dists\/bookworm-security\/InRelease \[mirror\] → mirrors\.tuna\.tsinghua\.edu\.cn\/debian-security 200/, '-v: https, mirrored');
  t.match(r.stderr, /8 mirrored, 0 tunneled/, 'nothing tunneled');
});

t.test("as root with apt's sandbox (a Dockerfile's RUN): http sources work; https sources cannot read the run's CA", { skip: skip || (process.getuid?.() !== 0 && 'apt drops privileges to _apt only as root') }, async (t) => {
  const a = await getArchives();
  const w = await makeWorld(t);
  // Folders `_apt` may enter, so that only detour's own run folder (0700) stands in its way.
  const open = tempDir('detour-debian-sandbox-');
  t.teardown(() => open.cleanup());
  chmodSync(open.path, 0o755);
  const tmp = join(open.path, 'tmp');
  mkdirSync(tmp);
  await w.https('mirrors.tuna.tsinghua.edu.cn', archiveHandler({ '/debian': a.main }));
  const origins = await silentOrigins(w);
  const keyring = join(open.path, 'archive-key.gpg');
  copyFileSync(a.key.keyring, keyring);
  chmodSync(keyring, 0o644);
  const update = (scheme: string) => {
    const apt = aptClient(join(open.path, scheme), [`deb [signed-by=${keyring}] ${scheme}://deb.debian.org/debian bookworm main`], { sandboxed: true });
    return hermetic(w).then((flags) => w.detour([...flags, '--', 'apt-get', '-q', 'update'], { env: { APT_CONFIG: apt.config, TMPDIR: tmp }, cwd: apt.downloads }));
  };

  const http = await update('http');
  t.equal(http.code, 0, `apt-get update over http: ${http.stdout}\n${http.stderr}`);
  t.notMatch(http.stdout + http.stderr, /unsandboxed/, 'apt kept its sandbox');
  t.match(http.stderr, /InRelease \[mirror\] → mirrors\.tuna\.tsinghua\.edu\.cn\/debian 200/, 'mirrored');

  const https = await update('https');
  t.not(https.code, 0, 'apt-get update over https fails');
  t.match(https.stdout + https.stderr, /Could not load certificates from \S*\/detour-[^/]+\/bundle\.pem \(CaInfo option\)/, "`_apt` cannot read the bundle in detour's run folder");
  for (const o of origins) t.equal(o.requests.length, 0, 'an origin received nothing');
});

/** The child's APT_CONFIG and the file it names, as the child sees them. */
async function childAptConfig(w: World, flags: string[], env: NodeJS.ProcessEnv = {}) {
  const r = await w.detour([...flags, '--', 'sh', '-c', 'echo "APT_CONFIG=${APT_CONFIG-unset}"; [ -z "$APT_CONFIG" ] || cat "$APT_CONFIG"'], { env });
  const [first, ...rest] = r.stdout.split('\n');
  return { code: r.code, stderr: r.stderr, value: first!.replace(/^APT_CONFIG=/, ''), text: rest.join('\n') };
}

t.test("the child's APT_CONFIG: the bundle as apt's CaInfo, the user's own APT_CONFIG included, set only when detour decrypts a Debian host", async (t) => {
  const w = await makeWorld(t);
  const own = join(w.work, 'own apt.conf');
  writeFileSync(own, 'Acquire::Retries "7";\n');

  // Independent runs, at once.
  const [included, alone, missing, other, direct, oneHost] = await Promise.all([
    childAptConfig(w, [...w.flags(), '-m', 'debian'], { APT_CONFIG: own }),
    childAptConfig(w, [...w.flags(), '-m', 'debian']),
    childAptConfig(w, [...w.flags(), '-m', 'debian'], { APT_CONFIG: join(w.work, 'no-such.conf') }),
    childAptConfig(w, [...w.flags(), '-m', 'npm'], { APT_CONFIG: own }),
    childAptConfig(w, [...w.flags(), '-m', 'debian', '-d', 'deb.debian.org,security.debian.org']),
    childAptConfig(w, [...w.flags(), '-m', 'debian', '-d', 'security.debian.org']),
  ]);
  t.equal(included.code, 0, included.stderr);
  t.not(included.value, own, "the child's APT_CONFIG is detour's file");
  const bundle = /^Acquire::https::CaInfo "([^"]+)";$/m.exec(included.text)?.[1];
  t.match(bundle, /\/detour-[^/]+\/bundle\.pem$/, "the global CaInfo is the run's bundle");
  t.same(included.text.split('\n').filter((l) => l && !l.startsWith('//')), [
    `Acquire::https::CaInfo "${bundle}";`,
    `#include "${own}";`,
    `Acquire::https::deb.debian.org::CaInfo "${bundle}";`,
    `Acquire::https::security.debian.org::CaInfo "${bundle}";`,
  ], "global CaInfo, then the user's file, then the hosts detour decrypts");

  t.notMatch(alone.text, /#include/, 'no APT_CONFIG of their own: nothing included');
  t.match(alone.text, /^Acquire::https::deb\.debian\.org::CaInfo /m);

  t.notMatch(missing.text, /#include/, 'an APT_CONFIG naming no file is not included (apt only warns about it; an #include of it is an error)');

  t.equal(other.value, own, 'without the debian preset, APT_CONFIG is left alone');
  t.equal(direct.value, 'unset', 'Debian hosts --direct: never decrypted, APT_CONFIG not set');
  t.notMatch(oneHost.text, /security\.debian\.org/, 'a --direct host gets no CaInfo line');
  t.match(oneHost.text, /^Acquire::https::deb\.debian\.org::CaInfo /m);
});

t.test('a mirror laid out like the public ones (…/debian): security updates at its sibling …/debian-security; bad names are refused', { skip: needs('curl') }, async (t) => {
  const w = await makeWorld(t);
  const corp = await w.https('apt.corp.test', answer(200, 'security file\n'));
  const flags = [...(await hermetic(w)), '-m', 'debian=https://apt.corp.test/debian|origin'];
  const r = await w.detour([...flags, '--', 'curl', '-sS', '--max-time', '20', 'http://security.debian.org/debian-security/README', 'http://deb.debian.org/debian/README']);
  t.equal(r.code, 0, r.stderr);
  t.same(paths(corp), ['GET /debian-security/README', 'GET /debian/README'], 'security.debian.org/debian-security → …/debian-security, deb.debian.org/debian → …/debian');

  const bad = await w.detour(['-m', 'debian=nosuch', '--', 'true']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^detour: unknown debian mirror "nosuch" in "debian=nosuch"; known: tuna, aliyun, origin, or a URL\n$/);
});

t.test('detour check: the archive route is probed at each target; security is not', async (t) => {
  const w = await makeWorld(t);
  const tuna = await w.https('mirrors.tuna.tsinghua.edu.cn', answer(200, 'sig'));
  w.map('mirrors.aliyun.com', await w.deadPort());
  const origin = await w.https('deb.debian.org', answer(404, 'no'));
  const r = await w.detour([...w.flags(), 'check', '--json', '-m', 'debian']);
  t.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as { rule: string; target: string; url: string; ok: boolean }[];
  t.same(rows.map((row) => [row.rule, row.target, row.url, row.ok]), [
    ['deb.debian.org/debian', 'mirrors.tuna.tsinghua.edu.cn/debian', 'https://mirrors.tuna.tsinghua.edu.cn/debian/dists/stable/Release.gpg', true],
    ['deb.debian.org/debian', 'mirrors.aliyun.com/debian', 'https://mirrors.aliyun.com/debian/dists/stable/Release.gpg', false],
    ['deb.debian.org/debian', 'origin', 'https://deb.debian.org/debian/dists/stable/Release.gpg', true],
  ]);
  t.same(paths(tuna), ['GET /debian/dists/stable/Release.gpg']);
  t.same(paths(origin), ['GET /debian/dists/stable/Release.gpg']);
});
