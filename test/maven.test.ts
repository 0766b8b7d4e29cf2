// Maven (Debian's mvn 3.8.7 on OpenJDK 17) through the maven preset: `mvn -B dependency:resolve` in a project
// generated here, against stand-ins of the mirror (maven.aliyun.com/repository/public), the origins
// (repo.maven.apache.org, repo1.maven.org) and a team's Nexus. Maven reads no proxy or CA variable: it gets
// detour's proxy from a global settings.xml and detour's CA from a trust store (the JVM's JKS cacerts with
// detour's roots appended, else a PKCS#12), both in detour's run folder (src/ecosystems/maven.ts). Every name is mapped, any other to a dead port: nothing leaves the machine.
// The user's side is what a user would have: ~/.m2 (user.home) and the local repository set in MAVEN_OPTS.
import t, { type Test } from 'tap';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { answer, makeWorld, needs, type World } from './fixtures/detour.js';
import type { FakeServer } from './fixtures/servers.js';
import { run, tempDir } from './fixtures/run.js';
import { makeTestCa } from './fixtures/tls.js';
import { artifactPath, buildMojo, LIB, repositoryFiles, repositoryHandler, writeProject } from './fixtures/mavenRepo.js';
import { defaultTrustStore, javaCommand, nonProxyHosts, withProxies } from '../src/ecosystems/maven.js';
import { jksOwnAliases, jksTrustStore, pemCertificates } from '../src/ecosystems/javaTrustStore.js';

const skip = needs('mvn', 'java');

/** The repository's files, built once for the file (compiling the Mojo is a JVM start). */
let files: Map<string, Buffer>;
t.before(async () => {
  if (skip) return;
  const dir = tempDir('detour-maven-mojo-');
  try {
    files = repositoryFiles(await buildMojo(dir.path));
  } finally {
    dir.cleanup();
  }
});

const hermetic = async (w: World) => [...w.flags(), `--connect-to=::127.0.0.1:${await w.deadPort()}`, '-v'];
const paths = (s: FakeServer) => s.requests.map((r) => new URL(r.url, 'https://x').pathname);
const silentOrigin = (w: World, name: string) => w.https(name, answer(500, `${name} must not be asked\n`));
const LIB_JAR = artifactPath(LIB, 'jar');

/** Every file under `dir` whose content mentions `needle`. */
function filesMentioning(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return hits;
}

interface MavenRun {
  code: number | null;
  stdout: string;
  stderr: string;
  repo: string;
}

/** `detour [args] -- mvn -B dependency:resolve` in a fresh project, with the user's ~/.m2 and local repository
 * in the test's folders (the JVM takes user.home from the password file, not HOME: set like a user would). */
async function resolve(w: World, args: string[], opts = ''): Promise<MavenRun> {
  const project = join(w.work, 'app');
  writeProject(project);
  const repo = join(w.tmp, 'm2-repository');
  const env = { MAVEN_OPTS: `-Duser.home=${w.home} -Dmaven.repo.local=${repo}${opts}` };
  const r = await w.detour([...(await hermetic(w)), ...args, '--', 'mvn', '-B', 'dependency:resolve'], { env, cwd: project, timeoutMs: 120_000 });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, repo };
}

/** The goal ran on the resolved project, and the jar in the local repository is the one served. */
function resolvedLib(t: Test, r: MavenRun) {
  t.equal(r.code, 0, `mvn succeeded\n${r.stdout}\n${r.stderr}`);
  t.match(r.stdout, `${LIB.groupId}:${LIB.artifactId}:jar:${LIB.version}`, 'the goal lists the dependency');
  const jar = join(r.repo, LIB_JAR);
  t.ok(existsSync(jar) && readFileSync(jar).equals(files.get(LIB_JAR)!), 'the local repository holds the jar as served');
  t.notMatch(r.stdout, /checksum/i, 'no checksum warning: each .sha1 matched');
}

t.test('mvn dependency:resolve from the aliyun stand-in: origins untouched, records name Central', { skip }, async (t) => {
  const w = await makeWorld(t);
  const mirror = await w.https('maven.aliyun.com', repositoryHandler('/repository/public', files));
  const origin = await silentOrigin(w, 'repo.maven.apache.org');
  const origin1 = await silentOrigin(w, 'repo1.maven.org');
  // The user's own settings file: read by Maven, never written by detour.
  const userSettings = '<settings>\n  <interactiveMode>false</interactiveMode>\n</settings>\n';
  mkdirSync(join(w.home, '.m2'));
  writeFileSync(join(w.home, '.m2/settings.xml'), userSettings);

  const r = await resolve(w, []);
  resolvedLib(t, r);
  const asked = paths(mirror);
  t.ok(asked.length > 0 && asked.every((p) => files.has(p.replace('/repository/public/', ''))), 'the mirror was asked only for files it has, under its base');
  t.ok(asked.includes(`/repository/public/${LIB_JAR}`) && asked.includes(`/repository/public/${LIB_JAR}.sha1`), 'the jar and its .sha1 came from the mirror');
  t.equal(origin.requests.length + origin1.requests.length, 0, 'no origin was asked');
  t.notMatch(r.stderr, /\[(tunnel|origin|direct)\]/, 'every request went down the mirror rule');
  t.match(r.stdout, `Downloaded from central: https://repo.maven.apache.org/maven2/${LIB_JAR}`, 'Maven saw Central');
  t.same(filesMentioning(r.repo, 'aliyun'), [], 'nothing in the local repository names the mirror');
  t.match(readFileSync(join(r.repo, LIB_JAR.replace(/[^/]+$/, '_remote.repositories')), 'utf8'), `${LIB.artifactId}-${LIB.version}.jar>central=`, 'the jar is recorded as from central');
  t.equal(readFileSync(join(w.home, '.m2/settings.xml'), 'utf8'), userSettings, "the user's settings.xml is unchanged");
  t.same(readdirSync(join(w.home, '.m2')), ['settings.xml'], 'nothing was added to ~/.m2');
  t.same(readdirSync(w.tmp).filter((n) => n.startsWith('detour-')), [], "detour's run folder (settings, trust store) is gone");
});

t.test('a file the mirror lacks comes from the origin (aliyun|origin)', { skip }, async (t) => {
  const w = await makeWorld(t);
  const mirrorFiles = new Map([...files].filter(([p]) => !p.startsWith(LIB_JAR)));
  const mirror = await w.https('maven.aliyun.com', repositoryHandler('/repository/public', mirrorFiles));
  const origin = await w.https('repo.maven.apache.org', repositoryHandler('/maven2', files));
  const origin1 = await silentOrigin(w, 'repo1.maven.org');

  const r = await resolve(w, []);
  resolvedLib(t, r);
  t.same(paths(origin).sort(), [`/maven2/${LIB_JAR}`, `/maven2/${LIB_JAR}.sha1`], 'the origin served the jar and its .sha1 alone');
  t.ok(paths(mirror).includes(`/repository/public/${LIB_JAR}`), 'after the mirror was asked for the jar');
  t.equal(origin1.requests.length, 0, 'repo1.maven.org received nothing');
  t.match(r.stderr, 'fallbacks', '-v counts the fallbacks');
});

t.test('-m maven=<team Nexus base>: everything from the team repository', { skip }, async (t) => {
  const w = await makeWorld(t);
  const nexus = await w.https('nexus.corp.test', repositoryHandler('/repository/maven-public', files));
  const aliyun = await silentOrigin(w, 'maven.aliyun.com');
  const origin = await silentOrigin(w, 'repo.maven.apache.org');

  const r = await resolve(w, ['-m', 'maven=https://nexus.corp.test/repository/maven-public']);
  resolvedLib(t, r);
  t.ok(paths(nexus).includes(`/repository/maven-public/${LIB_JAR}`), 'the team base served the jar under its base path');
  t.ok(paths(nexus).every((p) => p.startsWith('/repository/maven-public/')), 'every request under the base');
  t.equal(aliyun.requests.length + origin.requests.length, 0, 'neither aliyun nor the origin was asked');
});

t.test("the user's own mirror in ~/.m2/settings.xml keeps working (a blind tunnel, trusted through the trust store)", { skip }, async (t) => {
  const w = await makeWorld(t);
  const corp = await w.https('maven.corp.test', repositoryHandler('/repository/central', files));
  const aliyun = await silentOrigin(w, 'maven.aliyun.com');
  const origin = await silentOrigin(w, 'repo.maven.apache.org');
  mkdirSync(join(w.home, '.m2'));
  writeFileSync(
    join(w.home, '.m2/settings.xml'),
    `<settings>
  <mirrors>
    <mirror><id>corp</id><mirrorOf>central</mirrorOf><url>https://maven.corp.test/repository/central</url></mirror>
  </mirrors>
</settings>
`,
  );

  // A password for the default trust store, as corporate MAVEN_OPTS often carry: detour's store still loads.
  const r = await resolve(w, [], ' -Djavax.net.ssl.trustStorePassword=changeit');
  resolvedLib(t, r);
  t.ok(paths(corp).includes(`/repository/central/${LIB_JAR}`), "the user's mirror served the jar");
  t.equal(aliyun.requests.length + origin.requests.length, 0, 'detour sent nothing elsewhere');
  t.match(r.stderr, /CONNECT maven\.corp\.test:443 \[tunnel\] 200/, 'through detour, as a blind tunnel (--upstream-ca roots are in the trust store)');
});

t.test("the child's MAVEN_OPTS: the user's first, then paths only; settings keep the global file's entries", { skip: needs('java') }, async (t) => {
  const w = await makeWorld(t);
  const script = [
    'printf "%s\\n" "$MAVEN_OPTS"',
    'conf=$(printf "%s" "$MAVEN_OPTS" | sed -n "s/.*-Dmaven.conf=\\([^ ]*\\).*/\\1/p")',
    'token=$(printf "%s" "$DETOUR_PROXY" | sed "s/.*detour:\\([^@]*\\)@.*/\\1/")',
    'stat -c "%a" "$conf/settings.xml"',
    'grep -c "<id>detour-https</id>" "$conf/settings.xml"',
    'grep -c "<password>$token</password>" "$conf/settings.xml"',
    'ls "$conf/logging"',
    'grep -c "<id>maven-default-http-blocker</id>" "$conf/settings.xml"',
  ].join('; ');
  const r = await w.detour([...w.flags(), '--', 'sh', '-c', script], { env: { MAVEN_OPTS: '-Xmx256m -Dmine=1' } });
  t.equal(r.code, 0, r.stderr);
  const [opts, mode, count, password, logging, blocker] = r.stdout.trim().split('\n');
  const system = defaultTrustStore(javaCommand(process.env)!);
  const store = system && jksOwnAliases(system) ? String.raw`\.jks -Djavax\.net\.ssl\.trustStoreType=JKS` : String.raw`\.p12 -Djavax\.net\.ssl\.trustStoreType=PKCS12`;
  const want = new RegExp(String.raw`^-Xmx256m -Dmine=1 -Dmaven\.conf=\S+ -Djavax\.net\.ssl\.trustStore=\S+${store} -Djavax\.net\.ssl\.trustStorePassword=$`);
  t.match(opts, want, "the user's options first, detour's after (the last -D wins); the JVM's own cacerts is JKS → a JKS");
  t.notMatch(opts, /detour:|password=\S/i, "no credential on the java command line (the trust store's password is empty)");
  t.equal(mode, '600', 'settings.xml (it holds the credential) is 0600');
  t.equal(count, '1', 'one https proxy of detour');
  t.equal(password, '2', "the run's credential is in settings.xml (both proxies)");
  t.equal(logging, 'simplelogger.properties', "Maven's logging configuration is there (m2.conf loads ${maven.conf}/logging)");
  t.equal(blocker, '1', "the global file's own entries are kept (Maven 3.8's blocker of plain-HTTP repositories)");
});

t.test('withProxies: detour first among the proxies; comments and other entries left alone', async (t) => {
  const url = 'http://detour:tok@127.0.0.1:4000';
  const ids = (xml: string) => [...xml.replace(/<!--[\s\S]*?-->/g, '').matchAll(/<id>([^<]+)<\/id>/g)].map((m) => m[1]);
  const own = `<settings>
  <!-- <proxies><proxy><id>commented</id></proxy></proxies> -->
  <proxies>
    <proxy><id>corp</id><protocol>https</protocol><host>proxy.corp</host><port>3128</port></proxy>
  </proxies>
  <mirrors><mirror><id>m</id><mirrorOf>central</mirrorOf><url>https://nexus.corp/x</url></mirror></mirrors>
</settings>
`;
  t.same(ids(withProxies(own, url, '127.0.0.1')), ['detour-https', 'detour-http', 'corp', 'm'], 'inside the real <proxies>, before the global file’s own');
  t.match(withProxies(own, url, '127.0.0.1'), '<!-- <proxies><proxy><id>commented</id></proxy></proxies> -->', 'comments kept as written');
  t.same(ids(withProxies('<settings><proxies/></settings>', url, '')), ['detour-https', 'detour-http'], '<proxies/> replaced');
  t.same(ids(withProxies('<settings>\n  <offline>false</offline>\n</settings>\n', url, '')), ['detour-https', 'detour-http'], 'a new <proxies> when there is none');
  t.same(ids(withProxies(undefined, url, '')), ['maven-default-http-blocker', 'detour-https', 'detour-http'], "no file: Maven's stock settings (its plain-HTTP blocker) with detour's proxies");
  const x = withProxies(undefined, 'http://detour:a%26b@127.0.0.1:4000', '');
  t.match(x, '<password>a&#38;b</password>', 'credentials decoded from the URL, then XML-escaped');
  t.equal(nonProxyHosts('127.0.0.1,localhost,::1,.corp.example,internal.test,10.0.0.0/8'), '127.0.0.1|localhost|*.localhost|::1|corp.example|*.corp.example|internal.test|*.internal.test', 'NO_PROXY as Maven nonProxyHosts (subdomains too; CIDR dropped)');
});

t.test("jksTrustStore: the JVM's cacerts plus detour's roots, read and verified by keytool with the empty password", { skip: needs('keytool', 'java') }, async (t) => {
  const dir = tempDir('detour-maven-jks-');
  t.teardown(dir.cleanup);
  const [upstream, runCa] = [await makeTestCa(), await makeTestCa()];
  t.teardown(() => (upstream.cleanup(), runCa.cleanup()));
  const extra = pemCertificates(upstream.certPem + runCa.certPem);
  const list = async (file: string, pass: string) => {
    const r = await run('keytool', ['-list', '-rfc', '-keystore', file, '-storetype', 'JKS', '-storepass', pass], { timeoutMs: 30_000 });
    const count = /contains (\d+) entr/.exec(r.stdout)?.[1];
    return { ...r, count: Number(count), aliases: [...r.stdout.matchAll(/^Alias name: (.+)$/gm)].map((m) => m[1]!) };
  };

  // A base store made by keytool itself (password "changeit", one alias our names must step around).
  const base = join(dir.path, 'base.jks');
  const made = await run('keytool', ['-importcert', '-noprompt', '-storetype', 'JKS', '-keystore', base, '-storepass', 'changeit', '-alias', 'detour-root-0', '-file', upstream.certFile], { timeoutMs: 30_000 });
  t.equal(made.code, 0, made.stderr);
  const out = join(dir.path, 'out.jks');
  writeFileSync(out, jksTrustStore(readFileSync(base), extra)!);
  const l = await list(out, '');
  t.equal(l.code, 0, `keytool -storepass '' verifies the digest\n${l.stdout}${l.stderr}`);
  t.equal(l.count, 3, 'one entry of the base, two appended');
  t.same(l.aliases.sort(), ['detour-root-0', 'detour-root-1', 'detour-root-2'], "the base's alias kept, ours step around it");
  const wrong = await list(out, 'changeit');
  t.match(wrong.stdout + wrong.stderr, /tampered with, or password was incorrect/, 'the digest is keyed with the empty password (the old one no longer verifies)');
  const rfc = l.stdout;
  t.ok([upstream.certPem, runCa.certPem].every((pem) => rfc.replace(/\s+/g, '').includes(pem.replace(/-----[A-Z ]+-----|\s+/g, ''))), 'both roots are in the store as given');

  // The machine's own cacerts, when it is JKS (Debian's ca-certificates-java writes one for OpenJDK 17).
  const system = defaultTrustStore(javaCommand(process.env)!);
  if (!system || !jksOwnAliases(system)) {
    t.comment('cacerts here is not JKS: the PKCS#12 path serves it');
    return;
  }
  const sysFile = join(dir.path, 'system.jks');
  writeFileSync(sysFile, system);
  const before = await list(sysFile, 'changeit');
  t.equal(before.code, 0, "the system's cacerts verifies with Debian's password");
  writeFileSync(out, jksTrustStore(system, pemCertificates(runCa.certPem))!);
  const after = await list(out, '');
  t.equal(after.code, 0, `the extended cacerts verifies with the empty password\n${after.stderr}`);
  t.equal(after.count, before.count + 1, `count + 1 (${before.count} + detour's CA)`);
  t.ok(after.aliases.includes('detour-root-0'), "detour's CA under its alias");
  t.ok(after.stdout.replace(/\s+/g, '').includes(runCa.certPem.replace(/-----[A-Z ]+-----|\s+/g, '')), "detour's CA is the entry's certificate");
});

t.test('jksOwnAliases refuses what is not a whole version-2 JKS file', async (t) => {
  const header = Buffer.from([0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0, 0, 0, 0]);
  t.same(jksOwnAliases(Buffer.concat([header, Buffer.alloc(20)])), new Set(), 'an empty store (no entries, a digest)');
  t.equal(jksOwnAliases(Buffer.concat([header, Buffer.alloc(19)])), undefined, 'a cut digest');
  t.equal(jksOwnAliases(Buffer.concat([header, Buffer.alloc(21)])), undefined, 'bytes left between the entries and the digest');
  const counted = Buffer.from(header);
  counted.writeUInt32BE(1, 8);
  t.equal(jksOwnAliases(Buffer.concat([counted, Buffer.alloc(20)])), undefined, 'a count larger than the entries');
  const v1 = Buffer.from(header);
  v1[7] = 1;
  t.equal(jksOwnAliases(Buffer.concat([v1, Buffer.alloc(20)])), undefined, 'version 1 (no certificate types: appended entries would not parse)');
  t.equal(jksOwnAliases(Buffer.from('0\x82\x01\x02 a PKCS#12 file starts with a SEQUENCE')), undefined, 'not JKS');
});

t.test('pemCertificates: each certificate decoded in order; newlines, CRLF and text around them ignored', async (t) => {
  const ca = await makeTestCa();
  t.teardown(ca.cleanup);
  const der = new X509Certificate(ca.certPem).raw;
  const crlf = ca.certPem.replace(/\n/g, '\r\n');
  const cut = '-----BEGIN CERTIFICATE-----\nMIIB';
  const certs = pemCertificates(`# comment\n${ca.certPem}text between\n${crlf}${cut}\n${ca.certPem}`);
  t.equal(certs.length, 3, 'three whole certificates (the cut one skipped)');
  t.ok(certs.every((c) => c.equals(der)), 'each is the DER of the certificate');
  t.same(pemCertificates(cut), [], 'a cut certificate alone: none');
});
