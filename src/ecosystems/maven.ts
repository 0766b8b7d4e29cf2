// Maven Central (repo.maven.apache.org, repo1.maven.org) and the JVM build tools that read it. Checked
// 2026-12-02 against Debian's maven 3.8.7 (maven-resolver 1.6.3, wagon-http-shaded 3.5.3 with Apache
// HttpClient 4.5.14) on OpenJDK 17.0.15, by reading /usr/share/maven and the classes in its jars (javap).
//
// Layout: Central serves `/maven2/<group path>/<artifact>/<version>/<file>`, plus `.sha1`/`.md5` beside each
// file and `maven-metadata.xml` per artifact and per plugin group. Mirrors serve the part after `/maven2`
// under their own base (maven.aliyun.com/repository/public/org/…), as a team's Nexus or Artifactory does
// (…/repository/maven-public/org/…). Nothing is rewritten: POMs and metadata name no download host, and
// every file's checksum sits beside it.
//
// How Maven is reached (it ignores HTTPS_PROXY and SSL_CERT_FILE: the JVM reads neither):
// - bin/mvn runs `java $MAVEN_OPTS … -Dclassworlds.conf=${MAVEN_HOME}/bin/m2.conf …` (MAVEN_OPTS unquoted:
//   split on whitespace). bin/m2.conf says `set maven.conf default ${maven.home}/conf`: a `-Dmaven.conf=DIR`
//   in MAVEN_OPTS wins, and m2.conf then loads `${maven.conf}/logging` onto the class path.
// - The global settings file is `${maven.conf}/settings.xml`
//   (SettingsXmlConfigurationProcessor.DEFAULT_GLOBAL_SETTINGS_FILE, maven-embedder), unless `-gs` is given;
//   the user's is `${user.home}/.m2/settings.xml` unless `-s`. There is no variable for either: MAVEN_ARGS
//   and a MAVEN_CONFIG that reaches the command line are Maven 3.9's script; 3.8.7's only exports
//   MAVEN_CMD_LINE_ARGS. So detour gives the child `-Dmaven.conf=<run folder>/maven/conf`: a copy of the
//   conf folder Maven would have used (found as bin/mvn finds it: the first `mvn` on PATH, symbolic links
//   resolved, `../conf`; or the parent's own -Dmaven.conf) with detour's proxies added to its settings.xml.
// - Settings merge (MavenSettingsMerger.shallowMergeById, maven-settings-builder): the user's entries come
//   first, the global file's are appended unless the user has one with the same id. Proxies: only active
//   ones are used (DefaultRepositorySystemSessionFactory), and resolver's DefaultProxySelector.getProxy takes
//   the FIRST proxy per protocol whose nonProxyHosts (`|`-separated, `*` wildcards) spare the host; an https
//   repository falls back to an `http` proxy when no `https` one is declared. So detour declares both, and a
//   user's own active `<protocol>https</protocol>` proxy in ~/.m2/settings.xml still wins (a known limit).
// - Transport: maven-resolver-transport-wagon → wagon-http (AbstractHttpClientWagon): HttpClientBuilder
//   `.useSystemProperties()`, TLS through `HttpsURLConnection.getDefaultSSLSocketFactory()` (the JVM's
//   default trust, i.e. javax.net.ssl.trustStore), and the proxy's username/password from settings set as
//   proxy credentials on its own BasicCredentialsProvider. Apache HttpClient answers the proxy's 407
//   `Proxy-Authenticate: Basic` on CONNECT itself: the JDK's jdk.http.auth.tunneling.disabledSchemes=Basic
//   (conf/net.properties) binds only java.net.HttpURLConnection, which Maven 3.8's wagon does not use.
// - Trust: `-Djavax.net.ssl.trustStore=<run folder>/maven/trust.jks -Djavax.net.ssl.trustStoreType=JKS
//   -Djavax.net.ssl.trustStorePassword=` (empty). trust.jks is the store that JVM reads by default
//   (sun.security.ssl.TrustStoreManager: `<java.home>/lib/security/jssecacerts`, else `cacerts`; java.home is
//   above the real `bin/java` of $JAVA_HOME, else of PATH, as bin/mvn picks it) with --upstream-ca and the run's
//   CA appended (javaTrustStore.ts, jksTrustStore), when that file is a version-2 JKS (Debian's
//   /etc/ssl/certs/java/cacerts is). Otherwise (a PKCS#12 cacerts, JDK ≥ 18 builds; none found): trust.p12, a
//   password-less PKCS#12 of the child's SSL_CERT_FILE bundle (the roots, --upstream-ca, the run's CA), and
//   `-Djavax.net.ssl.trustStoreType=PKCS12`. The JKS is the JVM's own roots, not SSL_CERT_FILE's (the JVM
//   never read that), and costs ~7 M instructions (callgrind) against ~18 M for decoding 145 PEM roots into a
//   PKCS#12. The empty password makes TrustStoreManager load without checking the digest (it passes null), so
//   a user's `-Djavax.net.ssl.trustStorePassword=changeit` cannot fail the digest keyed with the empty one. A
//   trust store the user names in MAVEN_OPTS is overridden (Java takes the last -D of a name): its roots
//   belong in --upstream-ca. `keystore.type.compat=true` (JDK 17's java.security) would also let a JKS-typed
//   store read a PKCS#12 file and back; the type is named anyway.
// - No secret reaches the java command line (readable by every user in /proc/PID/cmdline): the proxy's
//   credential is in settings.xml (0600, in the run's 0700 folder), MAVEN_OPTS carries paths only.
//
// Other JVM tools (not done here; Gradle is not installed on the machine this was written on): the JVM reads
// no proxy variable. JAVA_TOOL_OPTIONS reaches every JVM but is echoed on stderr ("Picked up
// JAVA_TOOL_OPTIONS: …", with a credential in it) and takes no @argfile; JDK_JAVA_OPTIONS takes `@FILE` but
// reaches only the `java` launcher and prints "NOTE: Picked up JDK_JAVA_OPTIONS: @FILE". Gradle reads
// -Dhttps.proxyHost/Port/User/Password and the javax.net.ssl.trustStore properties, but its build runs in a
// daemon that may predate the run.
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { jksTrustStore, pemCertificates, pkcs12TrustStore } from './javaTrustStore.js';
import { onPath } from './programs.js';
import type { Ecosystem } from './types.js';


/** The last `-Dmaven.conf=DIR` in MAVEN_OPTS (Java takes the last -D of a name). */
function optsMavenConf(opts: string | undefined): string | undefined {
  const all = [...(opts ?? '').matchAll(/(?:^|\s)-Dmaven\.conf=(\S+)/g)];
  return all.length ? all[all.length - 1]![1] : undefined;
}

/** The conf folder the child's `mvn` would read: the parent's -Dmaven.conf, else `<mvn on PATH>/../../conf`. */
export function mavenConfDir(parentEnv: NodeJS.ProcessEnv): string | undefined {
  const given = optsMavenConf(parentEnv.MAVEN_OPTS);
  if (given) return given;
  const mvn = onPath('mvn', parentEnv.PATH);
  if (!mvn) return undefined;
  try {
    return join(dirname(dirname(realpathSync(mvn))), 'conf');
  } catch {
    return undefined;
  }
}

/** Is there a Maven wrapper (`mvnw`) in `dir` or a folder above it? */
function wrapperAbove(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    try {
      if (statSync(join(d, 'mvnw')).isFile()) return true;
    } catch {
      // not here
    }
    if (dirname(d) === d) return false;
  }
}

/** The `java` bin/mvn starts: `$JAVA_HOME/bin/java` when JAVA_HOME is set, else the first on PATH. */
export function javaCommand(parentEnv: NodeJS.ProcessEnv): string | undefined {
  return parentEnv.JAVA_HOME ? onPath('java', join(parentEnv.JAVA_HOME, 'bin')) : onPath('java', parentEnv.PATH);
}

/**
 * The trust store that JVM reads when no javax.net.ssl.trustStore is given (sun.security.ssl.TrustStoreManager:
 * `<java.home>/lib/security/jssecacerts` if it is a readable file, else `…/cacerts`), as bytes. java.home is
 * the folder above the launcher's real `bin/` (`/usr/lib/jvm/java-17-openjdk-amd64`; Debian's cacerts there is
 * a link to /etc/ssl/certs/java/cacerts); a JDK 8 keeps its JRE's in `jre/`.
 */
export function defaultTrustStore(java: string): Buffer | undefined {
  let home: string;
  try {
    home = dirname(dirname(realpathSync(java)));
  } catch {
    return undefined;
  }
  for (const dir of [join(home, 'lib', 'security'), join(home, 'jre', 'lib', 'security')]) {
    for (const name of ['jssecacerts', 'cacerts']) {
      try {
        return readFileSync(join(dir, name));
      } catch {
        // not here, or unreadable: the JVM skips it too
      }
    }
  }
  return undefined;
}

const xml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Comments and CDATA blanked out (same length), so a search finds only real elements. */
function masked(text: string): string {
  return text.replace(/<!--[\s\S]*?(?:-->|$)|<!\[CDATA\[[\s\S]*?(?:\]\]>|$)/g, (m) => ' '.repeat(m.length));
}

/** Apache Maven 3.8's own global settings.xml, minus its comments: the blocker of plain-HTTP repositories. */
const STOCK_SETTINGS = `<?xml version="1.0" encoding="UTF-8"?>
<settings xmlns="http://maven.apache.org/SETTINGS/1.2.0">
  <mirrors>
    <mirror>
      <id>maven-default-http-blocker</id>
      <mirrorOf>external:http:*</mirrorOf>
      <name>Pseudo repository to mirror external repositories initially using HTTP.</name>
      <url>http://0.0.0.0/</url>
      <blocked>true</blocked>
    </mirror>
  </mirrors>
</settings>
`;

/** Maven 3.8's conf/logging/simplelogger.properties (its console format), for when no conf folder is found. */
const STOCK_LOGGING = `org.slf4j.simpleLogger.defaultLogLevel=info
org.slf4j.simpleLogger.showDateTime=false
org.slf4j.simpleLogger.showThreadName=false
org.slf4j.simpleLogger.showLogName=false
org.slf4j.simpleLogger.logFile=System.out
org.slf4j.simpleLogger.cacheOutputStream=true
org.slf4j.simpleLogger.levelInBrackets=true
org.slf4j.simpleLogger.log.Sisu=info
org.slf4j.simpleLogger.warnLevelString=WARNING
org.slf4j.simpleLogger.log.org.apache.maven.wagon.providers.http.httpclient=off
org.slf4j.simpleLogger.log.org.apache.maven.wagon.providers.http.httpclient.wire=off
`;

/**
 * Maven's nonProxyHosts from a NO_PROXY list: `|`-separated, `*` as a wildcard, matched against the whole
 * host (resolver's DefaultProxySelector.NonProxyHosts). `example.com` in NO_PROXY also covers its subdomains.
 */
export function nonProxyHosts(noProxy: string): string {
  const out: string[] = [];
  for (const raw of noProxy.split(',').map((s) => s.trim())) {
    if (!/^[A-Za-z0-9.*:-]+$/.test(raw)) continue; // CIDR blocks, ports, brackets: not Maven syntax
    const bare = raw.replace(/^\*?\./, '');
    if (!bare) continue;
    out.push(bare);
    if (!/^[\d.]+$/.test(bare) && !bare.includes(':') && !bare.startsWith('*')) out.push(`*.${bare}`);
  }
  return [...new Set(out)].join('|');
}

/** detour's two proxies (https first: DefaultProxySelector keeps the first of each protocol). */
function proxiesXml(proxyUrl: string, noProxy: string): string {
  const u = new URL(proxyUrl);
  const entry = (protocol: string) => `    <proxy>
      <id>detour-${protocol}</id>
      <active>true</active>
      <protocol>${protocol}</protocol>
      <host>${xml(u.hostname)}</host>
      <port>${xml(u.port)}</port>
      <username>${xml(decodeURIComponent(u.username))}</username>
      <password>${xml(decodeURIComponent(u.password))}</password>
      <nonProxyHosts>${xml(nonProxyHosts(noProxy))}</nonProxyHosts>
    </proxy>
`;
  return entry('https') + entry('http');
}

/**
 * The global settings with detour's proxies first among its proxies: inside its `<proxies>` (or in place of
 * `<proxies/>`), else in a new `<proxies>` before `</settings>`. Everything else stays as written; a file
 * that is not a settings document is replaced by Maven's stock one.
 */
export function withProxies(settings: string | undefined, proxyUrl: string, noProxy: string): string {
  const proxies = proxiesXml(proxyUrl, noProxy);
  const text = settings !== undefined && /<settings[\s>]/.test(masked(settings)) ? settings : STOCK_SETTINGS;
  const m = masked(text);
  const open = /<proxies\s*(\/?)>/.exec(m);
  if (open) {
    const at = open.index + open[0].length;
    return open[1] ? `${text.slice(0, open.index)}<proxies>\n${proxies}  </proxies>${text.slice(at)}` : `${text.slice(0, at)}\n${proxies}${text.slice(at)}`;
  }
  const close = m.lastIndexOf('</settings>');
  if (close < 0) return text; // `<settings/>` and the like: nothing to add to (no such file works anyway)
  return `${text.slice(0, close)}  <proxies>\n${proxies}  </proxies>\n${text.slice(close)}`;
}

/** The files of `from` (and of its folders, one level down: `logging/`), links followed: relative path → bytes. */
function confFiles(from: string, prefix = '', depth = 0): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    try {
      const st = statSync(src);
      if (st.isFile()) files[`${prefix}${name}`] = readFileSync(src);
      else if (st.isDirectory() && depth === 0) Object.assign(files, confFiles(src, `${prefix}${name}/`, depth + 1));
    } catch {
      // unreadable: Maven could not have read it either
    }
  }
  return files;
}

/** A path bin/mvn keeps whole in the unquoted $MAVEN_OPTS (no whitespace, no glob characters). */
const safeInOpts = (p: string) => !/[\s*?[\]]/.test(p);

export const maven: Ecosystem = {
  name: 'maven',
  description: 'Maven Central (repo.maven.apache.org, repo1.maven.org); mvn gets settings and a trust store',
  routes: [
    { host: 'repo.maven.apache.org', pathPrefix: '/maven2', mount: '', probe: '/maven2/junit/junit/maven-metadata.xml' },
    // The older name of the same repository, still in old POMs and settings. Not probed: same targets.
    { host: 'repo1.maven.org', pathPrefix: '/maven2', mount: '' },
  ],
  mirrors: {
    aliyun: 'https://maven.aliyun.com/repository/public',
    tencent: 'https://mirrors.cloud.tencent.com/nexus/repository/maven-public',
    huawei: 'https://mirrors.huaweicloud.com/repository/maven',
  },
  defaultChain: 'aliyun|origin',

  prepare: (parentEnv) => {
    // Nothing to write where no Maven can run: no JVM, or neither an `mvn` on PATH (nor a -Dmaven.conf of the
    // user's) nor a wrapper (`./mvnw`) in the working folder or above. The files cost ~3 ms of CPU per run,
    // cold (14 M instructions): ~1.4 ms the conf copy and settings, ~1.8 ms the JKS trust store (the PKCS#12
    // from ~145 PEM roots it replaces took ~4.8 ms).
    const sourceConf = mavenConfDir(parentEnv);
    const java = javaCommand(parentEnv);
    if (!java || (!sourceConf && !wrapperAbove(process.cwd()))) return {};
    return {
      files: (_parent, facts) => {
        let conf: Record<string, Uint8Array> = {};
        let global: string | undefined;
        try {
          if (sourceConf) {
            conf = confFiles(sourceConf);
            global = readFileSync(join(sourceConf, 'settings.xml'), 'utf8');
          }
        } catch {
          // no such folder or file: Maven's stock files below
        }
        const files: Record<string, string | Uint8Array> = {};
        for (const [name, bytes] of Object.entries(conf)) files[`conf/${name}`] = bytes;
        files['conf/logging/simplelogger.properties'] ??= STOCK_LOGGING;
        files['conf/settings.xml'] = withProxies(global, facts.proxyUrl, facts.noProxy);
        const system = defaultTrustStore(java);
        const jks = system && jksTrustStore(system, pemCertificates(facts.extraRoots));
        if (jks) files['trust.jks'] = jks;
        else files['trust.p12'] = pkcs12TrustStore(pemCertificates(readFileSync(facts.bundle, 'utf8')));
        return files;
      },
      childEnv: (parent, facts) => {
        const settings = facts.files['conf/settings.xml'];
        const jks = facts.files['trust.jks'];
        const trustStore = jks ?? facts.files['trust.p12'];
        if (!settings || !trustStore || !safeInOpts(settings) || !safeInOpts(trustStore)) return {};
        const type = jks ? 'JKS' : 'PKCS12';
        // An empty password: the JVM then loads the store without checking it (a user's trustStorePassword,
        // say `changeit`, would fail the JKS digest, keyed with the empty one).
        const ours = `-Dmaven.conf=${dirname(settings)} -Djavax.net.ssl.trustStore=${trustStore} -Djavax.net.ssl.trustStoreType=${type} -Djavax.net.ssl.trustStorePassword=`;
        const own = (parent.MAVEN_OPTS ?? '').trim();
        return { MAVEN_OPTS: own ? `${own} ${ours}` : ours };
      },
    };
  },
};
