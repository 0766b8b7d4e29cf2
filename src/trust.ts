// Trust material: the roots detour verifies targets with, and the trust files and directory the child gets.
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { ConfigError } from './errors.js';
import { gitRemoteHttps, hashedEntries, libcurlCompiledCa, type CompiledCa } from './libcurlCa.js';

const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];
const BEGIN = '-----BEGIN CERTIFICATE-----';
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The roots the child would have used: the parent's SSL_CERT_FILE, else the system bundle, else Node's. */
export function parentRootsPem(parentEnv: NodeJS.ProcessEnv, read: (file: string | undefined) => string | undefined = readPem): string {
  for (const file of [parentEnv.SSL_CERT_FILE, ...SYSTEM_BUNDLES]) {
    const text = read(file);
    if (text) return text;
  }
  return rootCertificates.join('\n') + '\n';
}

/** Reads --upstream-ca files; a file without a certificate is a configuration error naming it. */
export function readExtraRoots(files: readonly string[]): string[] {
  return files.map((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read --upstream-ca ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const certs = text.match(PEM_CERT);
    if (!certs) throw new ConfigError(`--upstream-ca ${file} holds no PEM certificate`);
    return certs.join('\n') + '\n';
  });
}

/**
 * The run's CAs as PEM text: --upstream-ca, then the run's CA. The tail of every bundle the child gets, the
 * CA-only file curl may get (writeTrustFiles), and what ecosystems add to a trust store of their own (FileFacts).
 */
export function runCasPem(extra: readonly string[], caPem: string): string {
  return extra.join('') + caPem;
}

/** Roots for detour's own outbound TLS: the system's and Node's, plus --upstream-ca (for proxy-agent's `ca`). */
export function outboundRoots(parentEnv: NodeJS.ProcessEnv, extra: readonly string[]): string[] {
  return [...rootCertificates, ...rootsNodeLacks(parentEnv)].concat(extra);
}

/**
 * The system's roots (the parent's SSL_CERT_FILE or the system bundle) that Node's bundled list lacks. Parsed
 * once per process for each SSL_CERT_FILE value (the only input from the environment): with an upstream proxy,
 * outboundRoots and outboundSecureContext both ask. Still lazy: only those two call it, when a run first
 * makes an outbound TLS connection.
 */
const lackingMemo = new Map<string | undefined, readonly string[]>();
function rootsNodeLacks(parentEnv: NodeJS.ProcessEnv): readonly string[] {
  const key = parentEnv.SSL_CERT_FILE;
  let lacking = lackingMemo.get(key);
  if (!lacking) lackingMemo.set(key, (lacking = parseRootsNodeLacks(parentEnv)));
  return lacking;
}

function parseRootsNodeLacks(parentEnv: NodeJS.ProcessEnv): string[] {
  // Compared by content, not by text: the system bundle and Node's list wrap the same certificates differently
  // (144 + 144 here, 22 of the system's missing from Node's).
  const nodes = new Set(rootCertificates.map((pem) => pem.replace(/\s+/g, '')));
  const lacking = new Map<string, string>();
  for (const pem of parentRootsPem(parentEnv).match(PEM_CERT) ?? []) {
    const key = pem.replace(/\s+/g, '');
    if (!nodes.has(key)) lacking.set(key, pem);
  }
  return [...lacking.values()];
}

/**
 * detour's own outbound TLS context, trusting what outboundRoots lists: Node's bundled roots as Node's own
 * store holds them, plus the certificates it lacks. Given all 166 as `ca`, Node parsed every one and built its
 * own store anyway (for a pointer comparison in AddCACert): 55 ms of CPU on a run's first decrypted request.
 * Node's store plus the 22 it lacks: 21 ms (node 20.20, 2026-12-02). `addCACert` on a context that uses Node's
 * shared store gives the context its own copy first (src/crypto/crypto_context.cc, AddCACert), which is what
 * createSecureContext's `ca` does for each certificate too.
 */
export function outboundSecureContext(parentEnv: NodeJS.ProcessEnv, extra: readonly string[]): SecureContext {
  const context = createSecureContext({ minVersion: 'TLSv1.2' });
  const native = (context as unknown as { context: { addCACert(pem: string): void } }).context;
  for (const pem of rootsNodeLacks(parentEnv).concat(extra)) native.addCACert(pem);
  return context;
}

/** Variables whose file REPLACES a tool's roots: each gets the roots that tool would have used plus detour's. */
export const REPLACING_VARIABLES = [
  'SSL_CERT_FILE',
  'CURL_CA_BUNDLE',
  'GIT_SSL_CAINFO',
  'REQUESTS_CA_BUNDLE',
  'PIP_CERT',
  'CARGO_HTTP_CAINFO',
  'AWS_CA_BUNDLE',
  'npm_config_cafile',
  'HTTPLIB2_CA_CERTS', // httplib2 (older Google API clients for Python)
  'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH', // gRPC's C core: Python, Ruby, PHP, C++ clients
  'CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE', // gcloud
  'NIX_SSL_CERT_FILE', // nix, and what Nix-built tools read
  'BUNDLE_SSL_CA_CERT', // Bundler's index fetcher: an ssl_ca_cert in a gemrc or bundle config hides SSL_CERT_FILE (ecosystems/gems.ts)
  'COMPOSER_CAFILE', // composer: overrides its `cafile` config, which would win over SSL_CERT_FILE
] as const;

export interface TrustFiles {
  /** The run's CA alone: for variables that ADD to the default roots. */
  readonly caFile: string;
  /**
   * Every trust variable the child gets and the file or directory it names. Most are a bundle: the roots that
   * tool would have used (the parent's own file for that variable when it set one, else SSL_CERT_FILE or the
   * system bundle), plus --upstream-ca, plus the run's CA, so a corporate root given to one tool keeps working
   * for it. Two are cheaper where the facts allow (see writeTrustFiles): CURL_CA_BUNDLE and GIT_SSL_CAPATH.
   */
  readonly variables: Readonly<Record<(typeof REPLACING_VARIABLES)[number], string> & { GIT_SSL_CAPATH?: string }>;
}

/** What the libcurl of the child's `curl` and of git's HTTPS helper were built with (libcurlCa.ts). */
export interface Libcurls {
  readonly curl?: CompiledCa;
  readonly git?: CompiledCa;
}

export function detectLibcurls(env: NodeJS.ProcessEnv): Libcurls {
  const helper = gitRemoteHttps(env);
  const curl = libcurlCompiledCa('curl', env);
  const git = helper ? libcurlCompiledCa(helper, env) : undefined;
  return { ...(curl ? { curl } : {}), ...(git ? { git } : {}) };
}

function readPem(file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    const text = readFileSync(file, 'utf8');
    return text.includes('-----BEGIN CERTIFICATE-----') ? text.replace(/\n?$/, '\n') : undefined;
  } catch {
    return undefined;
  }
}

/** The certificates of every file in the directories of an SSL_CERT_DIR value (`:`-separated, as OpenSSL and Go read it). */
function readPemDirs(value: string): string {
  const seen = new Set<string>();
  for (const dir of value.split(':').filter(Boolean)) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) for (const pem of readPem(join(dir, name))?.match(PEM_CERT) ?? []) seen.add(pem);
  }
  return [...seen].map((pem) => pem + '\n').join('');
}

/**
 * Whether a CA directory holds the same roots as a bundle: as many c_rehash entries (`<hash>.<n>`) as the
 * bundle has certificates, and three of the entries (first, middle, last by name) found in the bundle word for
 * word. Both come from one generator on real systems (update-ca-certificates, `trust extract`), so the count
 * and a sample catch a directory of something else; a mismatch (or a bundle listing a root twice) only keeps
 * the safe layout. Checking every root would read ~140 files at each start.
 */
const holdsMemo = new Map<string, Map<string, boolean>>(); // dir → bundle text → answer (curl and git ask alike)
export function dirHoldsBundle(dir: string, bundlePem: string): boolean {
  let byText = holdsMemo.get(dir);
  if (!byText) holdsMemo.set(dir, (byText = new Map()));
  let holds = byText.get(bundlePem);
  if (holds === undefined) {
    const entries = [...(hashedEntries(dir) ?? [])].sort();
    let count = 0;
    for (let at = bundlePem.indexOf(BEGIN); at >= 0; at = bundlePem.indexOf(BEGIN, at + 1)) count++;
    holds =
      entries.length > 0 &&
      entries.length === count &&
      [0, entries.length >> 1, entries.length - 1].every((k) => {
        const pem = readPem(join(dir, entries[k]!))?.match(PEM_CERT)?.[0];
        return !!pem && bundlePem.includes(pem);
      });
    byText.set(bundlePem, holds);
  }
  return holds;
}

/** Whether the parent's git configuration names a CA directory of its own (then GIT_SSL_CAPATH would hide it). */
function gitNamesCaPath(parentEnv: NodeJS.ProcessEnv): boolean {
  const home = parentEnv.HOME;
  const xdg = parentEnv.XDG_CONFIG_HOME || (home ? join(home, '.config') : undefined);
  const files = [
    parentEnv.GIT_CONFIG_GLOBAL ?? (xdg ? join(xdg, 'git', 'config') : undefined),
    parentEnv.GIT_CONFIG_GLOBAL ? undefined : home ? join(home, '.gitconfig') : undefined,
    parentEnv.GIT_CONFIG_NOSYSTEM ? undefined : (parentEnv.GIT_CONFIG_SYSTEM ?? '/etc/gitconfig'),
  ];
  const texts = files.map((file) => {
    try {
      return file ? readFileSync(file, 'utf8') : '';
    } catch {
      return '';
    }
  });
  const inEnv = Object.entries(parentEnv).filter(([k]) => /^GIT_CONFIG_(KEY_\d+|PARAMETERS)$/.test(k)).map(([, v]) => v ?? '');
  return [...texts, ...inEnv].some((text) => /sslcapath/i.test(text));
}

/**
 * The child's trust files, variable by variable (README, "What the child gets", has the table and the facts).
 * Every REPLACING_VARIABLES entry gets a bundle (its roots + --upstream-ca + CA), except where a CA directory
 * the client reads anyway already holds the roots:
 * - CURL_CA_BUNDLE. With OpenSSL, libcurl builds a new certificate store for every connection and caches it
 *   only when no CA directory is set (lib/vtls/openssl.c, Curl_ssl_setup_x509_store: `!conn_config->CApath`),
 *   so with a compiled-in CA directory (Debian, Ubuntu) the whole CA file is parsed per connection: 30
 *   connections took 643 ms with the bundle, 67 ms with a file of the CAs alone. curl gets that small file
 *   when the roots it would have used are all in its libcurl's compiled-in CA directory (curlRoots), which it
 *   keeps reading under CURL_CA_BUNDLE and searches by subject hash only when a chain needs a root.
 * - GIT_SSL_CAPATH (added), when the CA directory git would read holds the same roots as its GIT_SSL_CAINFO
 *   bundle: an empty directory of detour's instead. Debian's libcurl-gnutls has /etc/ssl/certs compiled in
 *   and GnuTLS reads EVERY file of a CA directory for every connection (432 certificates here: each root, its
 *   hash link and the bundle), on top of the bundle's 145.
 */
export function writeTrustFiles(
  dir: string,
  caPem: string,
  parentEnv: NodeJS.ProcessEnv,
  extra: readonly string[],
  libcurls: Libcurls = detectLibcurls(parentEnv),
): TrustFiles {
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, caPem, { mode: 0o644 });
  const tail = runCasPem(extra, caPem);
  const byRoots = new Map<string, string>(); // roots text → bundle file, so equal bundles are written once
  const bundleWith = (roots: string): string => {
    let file = byRoots.get(roots);
    if (!file) {
      file = join(dir, byRoots.size === 0 ? 'bundle.pem' : `bundle-${byRoots.size}.pem`);
      writeFileSync(file, roots + tail, { mode: 0o644 });
      byRoots.set(roots, file);
    }
    return file;
  };
  // Each file read once: environments that name one system bundle in every variable (ten of them here) paid
  // ~0.8 ms per read of its 215 KiB, and a hash of the text per lookup in byRoots.
  const rootsOf = new Map<string, string | undefined>();
  const rootsIn = (file: string | undefined): string | undefined => {
    if (!file) return undefined;
    if (!rootsOf.has(file)) rootsOf.set(file, readPem(file));
    return rootsOf.get(file);
  };
  const defaultRoots = parentRootsPem(parentEnv, rootsIn);
  const variables = {} as Record<(typeof REPLACING_VARIABLES)[number], string> & { GIT_SSL_CAPATH?: string };
  const { curl, git } = libcurls;
  const forCurl = curlRoots(parentEnv, curl, rootsIn);
  for (const name of REPLACING_VARIABLES) {
    if (name === 'CURL_CA_BUNDLE' && forCurl) variables[name] = forCurl === 'compiled-dir' ? writeTail(dir, caFile, extra, tail) : bundleWith(forCurl);
    else variables[name] = bundleWith(rootsIn(parentEnv[name]) ?? defaultRoots);
  }
  const gitRoots = rootsIn(parentEnv.GIT_SSL_CAINFO) ?? defaultRoots;
  const gitDir = parentEnv.GIT_SSL_CAPATH || git?.dir;
  if (gitDir && dirHoldsBundle(gitDir, gitRoots) && !gitNamesCaPath(parentEnv)) {
    variables.GIT_SSL_CAPATH = writeCaDir(join(dir, 'no-ca-dir'));
  }
  return { caFile, variables };
}

/** The run's CAs alone: --upstream-ca and the CA (ca.pem itself when there is no --upstream-ca). */
function writeTail(dir: string, caFile: string, extra: readonly string[], tail: string): string {
  if (!extra.length) return caFile;
  const file = join(dir, 'cas.pem');
  writeFileSync(file, tail, { mode: 0o644 });
  return file;
}

function samePath(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/**
 * The roots the curl tool would have used in the parent, as the text of a bundle; or 'compiled-dir' when its
 * libcurl's compiled-in CA directory (which it keeps reading under CURL_CA_BUNDLE) holds all of them; or
 * undefined when unknown (the caller keeps the default bundle). The tool reads CURL_CA_BUNDLE, else
 * SSL_CERT_DIR as its CA directory and, from 8.3.0 on, SSL_CERT_FILE with it (7.x: one or the other), else
 * the compiled-in file (src/tool_operate.c); every version is covered by taking all that may apply.
 */
function curlRoots(
  parentEnv: NodeJS.ProcessEnv,
  compiled: CompiledCa | undefined,
  read: (file: string | undefined) => string | undefined,
): string | 'compiled-dir' | undefined {
  const own = parentEnv.CURL_CA_BUNDLE;
  const files = own ? [own] : [parentEnv.SSL_CERT_FILE, parentEnv.SSL_CERT_DIR || !parentEnv.SSL_CERT_FILE ? compiled?.file : undefined];
  const fileList = [...new Set(files.filter((f): f is string => !!f))];
  const dirs = own ? [] : (parentEnv.SSL_CERT_DIR ?? '').split(':').filter(Boolean);
  const compiledDir = compiled?.dir;
  if (
    compiledDir &&
    fileList.every((f) => samePath(f, compiled.file)) &&
    dirs.every((d) => samePath(d, compiledDir)) &&
    (!compiled.file || dirHoldsBundle(compiledDir, read(compiled.file) ?? ''))
  ) {
    return 'compiled-dir';
  }
  const fileRoots = [...new Set(fileList.map(read).filter((p): p is string => !!p))].join('');
  // A parent CA directory other than the compiled-in one is lost under CURL_CA_BUNDLE: its certificates go in
  // the bundle (unless it holds the file's roots anyway, as SSL_CERT_DIR=/etc/ssl/certs does on Debian).
  const dirRoots = dirs.filter((d) => !samePath(d, compiledDir) && !dirHoldsBundle(d, fileRoots)).map(readPemDirs).join('');
  return fileRoots || dirRoots ? fileRoots + dirRoots : undefined;
}

/**
 * detour's CA directory for git: empty. It only stands in for the compiled-in one, whose roots git's bundle
 * holds, and the run's CAs are in that bundle too. GnuTLS reads every file of a CA directory for each
 * connection: an empty one costs nothing.
 */
function writeCaDir(path: string): string {
  mkdirSync(path, { mode: 0o755 });
  return path;
}

/**
 * wget built on GnuTLS (Debian's) reads no CA variable, only `ca_certificate` in a wgetrc. The child's WGETRC
 * is the user's own file (their WGETRC, else ~/.wgetrc: wget reads one of them, after /etc/wgetrc) with that
 * line after it, where the last setting wins. OpenSSL builds add the file to their default roots as well.
 */
export function writeWgetrc(dir: string, parentEnv: NodeJS.ProcessEnv, bundle: string): string {
  const own = parentEnv.WGETRC || (parentEnv.HOME ? join(parentEnv.HOME, '.wgetrc') : undefined);
  let text = '';
  try {
    if (own) text = readFileSync(own, 'utf8').replace(/\n?$/, '\n');
  } catch {
    // no file of their own
  }
  const file = join(dir, 'wgetrc');
  writeFileSync(file, `${text}ca_certificate = ${bundle}\n`, { mode: 0o644 });
  return file;
}

/** NODE_EXTRA_CA_CERTS holds one file: merge the parent's with ours instead of replacing it. */
export function mergedNodeExtra(dir: string, parentEnv: NodeJS.ProcessEnv, caFile: string, caPem: string): string {
  const existing = parentEnv.NODE_EXTRA_CA_CERTS;
  if (!existing || !existsSync(existing)) return caFile;
  const file = join(dir, 'node-extra.pem');
  writeFileSync(file, readFileSync(existing, 'utf8').replace(/\n?$/, '\n') + caPem, { mode: 0o644 });
  return file;
}
