// The run's certificate authority. Keys come from node:crypto (native, fast); node-forge only lays out
// the X.509 structures, and the signature itself is made by node:crypto too (forge's pure-JS RSA is ~25 ms).
// The CA carries a critical nameConstraints extension permitting only the mirrored hosts: stolen, it can
// sign for nothing else. Leaf certificates are made on the first CONNECT to a host, then cached.
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import type forge from 'node-forge';
// Only the X.509 part of node-forge (and what it needs): the whole library is 290 KB of the CLI's 460 KB
// bundle, TLS, PKCS#7/12 and SSH included, and start-up pays to parse it.
import pki from 'node-forge/lib/x509.js';
import asn1 from 'node-forge/lib/asn1.js';
import { takeCaKey, takeLeafKey, type KeyPair } from './keys.js';
import { ConfigError } from './errors.js';
import { makeUserDir } from './userPaths.js';

const DAY = 24 * 60 * 60 * 1000;

/** A positive random serial (high bit clear), unique per certificate. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

/** Sign the TBSCertificate with node:crypto and return the PEM. */
function signCertificate(cert: forge.pki.Certificate, key: KeyObject): string {
  cert.signatureOid = pki.oids.sha256WithRSAEncryption!;
  cert.siginfo.algorithmOid = pki.oids.sha256WithRSAEncryption!;
  // getTBSCertificate is public in node-forge but missing from its type definitions.
  const tbs = (pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
  const der = Buffer.from(asn1.toDer(tbs).getBytes(), 'binary');
  (cert as unknown as { tbsCertificate: forge.asn1.Asn1 }).tbsCertificate = tbs;
  cert.signature = sign('sha256', der, key).toString('binary');
  return pki.certificateToPem(cert);
}

/**
 * NameConstraints: permitted dNSName subtrees for the hosts. A permitted `github.com` would also admit
 * `api.github.com`, so each host's subdomains (`.github.com`) are excluded unless another rule host lies
 * under it; all IPv4/IPv6 addresses are excluded.
 */
function nameConstraints(hosts: readonly string[]): forge.asn1.Asn1 {
  const C = asn1.Class;
  const subtree = (name: forge.asn1.Asn1) => asn1.create(C.UNIVERSAL, asn1.Type.SEQUENCE, true, [name]);
  const dns = (h: string) => asn1.create(C.CONTEXT_SPECIFIC, 2, false, h);
  const ip = (bytes: number) => asn1.create(C.CONTEXT_SPECIFIC, 7, false, '\0'.repeat(bytes));
  return asn1.create(C.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(C.CONTEXT_SPECIFIC, 0, true, hosts.map((h) => subtree(dns(h)))),
    asn1.create(C.CONTEXT_SPECIFIC, 1, true, [
      ...hosts.filter((h) => !hosts.some((o) => o.endsWith(`.${h}`))).map((h) => subtree(dns(`.${h}`))),
      subtree(ip(8)),
      subtree(ip(32)),
    ]),
  ]);
}

/**
 * RFC 5280's key identifier (SHA-1 of the RSAPublicKey), as a binary string for forge. Hashed by node:crypto:
 * forge's own pure-JS SHA-1 took ~10 ms of start-up here, and as much again for each leaf.
 */
function keyIdentifier(key: KeyObject | string): string {
  const der = createPublicKey(key).export({ type: 'pkcs1', format: 'der' });
  return createHash('sha1').update(der).digest().toString('binary');
}

function buildCaCert(key: KeyPair, hosts: readonly string[], days: number): { pem: string; cert: forge.pki.Certificate } {
  const cert = pki.createCertificate();
  cert.publicKey = pki.publicKeyFromPem(key.publicPem);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(Date.now() - 60 * 60 * 1000); // tolerate a little clock skew
  cert.validity.notAfter = new Date(Date.now() + days * DAY);
  const subject = [
    { name: 'commonName', value: `detour run CA ${new Date().toISOString().slice(0, 19)}` },
    { name: 'organizationName', value: 'detour (ephemeral)' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { id: '2.5.29.14', value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, keyIdentifier(key.publicPem)) },
    { id: '2.5.29.30', critical: true, value: nameConstraints(hosts) },
  ]);
  return { pem: signCertificate(cert, key.privateKey), cert };
}

export class CertificateAuthority {
  private readonly contexts = new Map<string, Promise<SecureContext>>();
  private readonly caCert: forge.pki.Certificate;
  private readonly caKeyId: string;
  /** Leaves signed so far; kept for tests and the -v summary. */
  leavesIssued = 0;

  private leafKey: Promise<KeyPair> | undefined;

  private constructor(
    readonly certPem: string,
    private readonly caKey: KeyObject,
    /** Hosts the CA may sign for (its name constraints). */
    readonly hosts: readonly string[],
    caCert?: forge.pki.Certificate, // when just built: parsing the PEM again cost ~9 ms of start-up
  ) {
    this.caCert = caCert ?? pki.certificateFromPem(certPem);
    this.caKeyId = keyIdentifier(caKey);
  }

  /** One leaf key per run, made in the background (start-up never waits for it). */
  prepareLeafKey(): Promise<KeyPair> {
    this.leafKey ??= takeLeafKey();
    return this.leafKey;
  }

  /** A fresh CA valid for a day, its key in memory only. Both keys are made in parallel. */
  static async ephemeral(hosts: readonly string[]): Promise<CertificateAuthority> {
    const caKey = await takeCaKey();
    const { pem, cert } = buildCaCert(caKey, hosts, 1);
    return new CertificateAuthority(pem, caKey.privateKey, hosts, cert);
  }

  /**
   * --ca-dir: reuse the CA kept in `dir` when it still covers these hosts for at least a day, else make
   * a new one (30 days) and keep it there: folder 0700, key 0600.
   */
  static async persistent(dir: string, hosts: readonly string[]): Promise<CertificateAuthority> {
    try {
      return await CertificateAuthority.keptIn(dir, hosts);
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      const err = e as NodeJS.ErrnoException;
      throw new ConfigError(`cannot use --ca-dir ${dir}: ${err.code ?? err.message}${err.path && err.path !== dir ? ` (${err.path})` : ''}`);
    }
  }

  private static async keptIn(dir: string, hosts: readonly string[]): Promise<CertificateAuthority> {
    makeUserDir(dir, '--ca-dir');
    chmodSync(dir, 0o700);
    const certFile = join(dir, 'ca.pem');
    const keyFile = join(dir, 'ca-key.pem');
    const metaFile = join(dir, 'ca.json');
    const wanted = [...hosts].sort().join(',');
    if (existsSync(certFile) && existsSync(keyFile) && existsSync(metaFile)) {
      try {
        const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as { hosts?: string };
        const certPem = readFileSync(certFile, 'utf8');
        const cert = pki.certificateFromPem(certPem);
        if (meta.hosts === wanted && cert.validity.notAfter.getTime() - Date.now() > DAY) {
          return new CertificateAuthority(certPem, createPrivateKey(readFileSync(keyFile)), hosts);
        }
      } catch {
        // unreadable or foreign files: replace them below
      }
    }
    const caKey = await takeCaKey();
    const { pem: certPem, cert } = buildCaCert(caKey, hosts, 30);
    writeFileSync(keyFile, caKey.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    chmodSync(keyFile, 0o600);
    writeFileSync(certFile, certPem);
    writeFileSync(metaFile, JSON.stringify({ hosts: wanted }) + '\n');
    return new CertificateAuthority(certPem, caKey.privateKey, hosts, cert);
  }

  /** The TLS context presenting a leaf for `host`, signed on first use and cached. */
  contextFor(host: string): Promise<SecureContext> {
    let ctx = this.contexts.get(host);
    if (!ctx) {
      ctx = this.prepareLeafKey().then((leafKey) =>
        createSecureContext({
          cert: this.issueLeaf(host, leafKey) + this.certPem,
          key: leafKey.privateKey.export({ type: 'pkcs8', format: 'pem' }),
          minVersion: 'TLSv1.2',
        }),
      );
      this.contexts.set(host, ctx);
    }
    return ctx;
  }

  private issueLeaf(host: string, leafKey: KeyPair): string {
    const cert = pki.createCertificate();
    cert.publicKey = pki.publicKeyFromPem(leafKey.publicPem);
    cert.serialNumber = randomSerial();
    cert.validity.notBefore = new Date(Date.now() - 60 * 60 * 1000);
    cert.validity.notAfter = new Date(Math.min(Date.now() + DAY, this.caCert.validity.notAfter.getTime()));
    cert.setSubject([{ name: 'commonName', value: host }]);
    cert.setIssuer(this.caCert.subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: host }] },
      { name: 'authorityKeyIdentifier', keyIdentifier: this.caKeyId },
    ]);
    this.leavesIssued++;
    return signCertificate(cert, this.caKey);
  }
}
