// Trust material: the roots detour verifies targets with, and the two files the child gets.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { ConfigError } from './errors.js';

const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];
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

/** Roots for detour's own outbound TLS: the system's and Node's, plus --upstream-ca. */
export function outboundRoots(parentEnv: NodeJS.ProcessEnv, extra: readonly string[]): string[] {
  const system = parentRootsPem(parentEnv).match(PEM_CERT) ?? [];
  // De-duplicated by content, not by text: the system bundle and Node's list wrap the same certificates
  // differently, and each certificate added costs ~0.2 ms when the TLS context is made (288 → 166 here).
  const byContent = new Map([...system, ...rootCertificates].map((pem) => [pem.replace(/\s+/g, ''), pem]));
  return [...byContent.values()].concat(extra);
}

/** Variables whose file REPLACES a tool's roots: each gets a bundle. */
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
   * For each variable that REPLACES the roots, its bundle: the roots that tool would have used (the
   * parent's own file for that variable when it set one, else SSL_CERT_FILE or the system bundle), plus
   * --upstream-ca, plus the run's CA. A corporate root given to one tool keeps working for it.
   */
  readonly bundles: Readonly<Record<(typeof REPLACING_VARIABLES)[number], string>>;
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

export function writeTrustFiles(dir: string, caPem: string, parentEnv: NodeJS.ProcessEnv, extra: readonly string[]): TrustFiles {
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, caPem, { mode: 0o644 });
  const tail = extra.join('') + caPem;
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
  const bundles = {} as Record<(typeof REPLACING_VARIABLES)[number], string>;
  for (const name of REPLACING_VARIABLES) bundles[name] = bundleWith(rootsIn(parentEnv[name]) ?? defaultRoots);
  return { caFile, bundles };
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
