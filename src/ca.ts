// The run's certificate authority. Keys and signatures are ECDSA P-256 from node:crypto (keys.ts); node-forge's
// ASN.1 module lays out the X.509 structures. (Its x509 module holds RSA keys only, and loading it cost
// ~20–30 ms of start-up here against ~10 ms for asn1 alone.) The CA carries a critical nameConstraints extension
// permitting only the mirrored hosts: stolen, it can sign for nothing else. Leaf certificates are made on the
// first CONNECT to a host, then cached; Apple's verifier wants their SAN, serverAuth EKU and ≤ 825 days.
import { createHash, createPrivateKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import type forge from 'node-forge';
import asn1 from 'node-forge/lib/asn1.js';
import { isCurrentKey, newKeyPair, signDer, SIGNATURE_OID, type KeyPair } from './keys.js';
import { ConfigError } from './errors.js';
import { makeUserDir } from './userPaths.js';

type Asn1 = forge.asn1.Asn1;
const DAY = 24 * 60 * 60 * 1000;

// DER building blocks (X.690); byte values are forge's binary strings.
const { Class, Type } = asn1;
const prim = (type: forge.asn1.Type, bytes: string) => asn1.create(Class.UNIVERSAL, type, false, bytes);
const seq = (items: Asn1[]) => asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, items);
const oid = (dotted: string) => prim(Type.OID, asn1.oidToDer(dotted).getBytes());
const octets = (bytes: string) => prim(Type.OCTETSTRING, bytes);
const TRUE = prim(Type.BOOLEAN, '\xff');
const time = (d: Date) => // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime after
  d.getUTCFullYear() < 2050 ? prim(Type.UTCTIME, asn1.dateToUtcTime(d)) : prim(Type.GENERALIZEDTIME, asn1.dateToGeneralizedTime(d));
const name = (attrs: [string, string][]) =>
  seq(attrs.map(([type, value]) => asn1.create(Class.UNIVERSAL, Type.SET, true, [seq([oid(type), prim(Type.UTF8, Buffer.from(value).toString('binary'))])])));
const fromDer = (der: Buffer) => asn1.fromDer(der.toString('binary'), { decodeBitStrings: false, strict: true });
const toDer = (obj: Asn1) => Buffer.from(asn1.toDer(obj).getBytes(), 'binary');
const ext = (id: string, critical: boolean, value: Asn1) => seq([oid(id), ...(critical ? [TRUE] : []), octets(asn1.toDer(value).getBytes())]);
/** A KeyUsage BIT STRING from its first byte (bit 0 = 0x80), trailing zero bits counted as unused (DER). */
const keyUsage = (byte: number) => prim(Type.BITSTRING, String.fromCharCode(Math.log2(byte & -byte), byte));

const OID = {
  commonName: '2.5.4.3',
  organizationName: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  nameConstraints: '2.5.29.30',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

/** The public key as a certificate holds it, and its RFC 5280 key identifier (SHA-1 of the key's BIT STRING). */
function publicKeyInfo(spki: Buffer): { info: Asn1; keyId: string } {
  const info = fromDer(spki);
  const bits = (info.value as Asn1[])[1]!.value as string; // the unused-bits octet, then the key
  return { info, keyId: createHash('sha1').update(Buffer.from(bits.slice(1), 'binary')).digest().toString('binary') };
}

/**
 * A positive random serial, unique per certificate: 16 bytes whose first lies in 0x40–0x7f, so that the DER
 * INTEGER is positive and minimally encoded as it is (Go refuses a non-minimal serial; a first byte of 0 with
 * the high bit of the next clear would be one). 126 random bits.
 */
function randomSerial(): Asn1 {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x3f) | 0x40;
  return prim(Type.INTEGER, bytes.toString('binary'));
}

interface CertFields {
  readonly issuer: Asn1;
  readonly subject: Asn1;
  readonly notAfter: Date;
  readonly publicKey: Asn1;
  readonly extensions: Asn1[];
}

/** A v3 certificate for `fields`, signed by `key` (ecdsa-with-SHA256, made by node:crypto), as PEM. */
function signedCertificate(fields: CertFields, key: KeyObject): string {
  const algorithm = seq([oid(SIGNATURE_OID)]);
  const tbs = seq([
    asn1.create(Class.CONTEXT_SPECIFIC, 0, true, [prim(Type.INTEGER, '\x02')]), // v3
    randomSerial(),
    algorithm,
    fields.issuer,
    seq([time(new Date(Date.now() - 60 * 60 * 1000)), time(fields.notAfter)]), // an hour back: clock skew
    fields.subject,
    fields.publicKey,
    asn1.create(Class.CONTEXT_SPECIFIC, 3, true, [seq(fields.extensions)]),
  ]);
  const tbsDer = toDer(tbs);
  const signature = prim(Type.BITSTRING, '\0' + signDer(tbsDer, key).toString('binary'));
  const der = toDer(seq([tbs, algorithm, signature]));
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/**
 * NameConstraints: permitted dNSName subtrees for the hosts. A permitted `github.com` would also admit
 * `api.github.com`, so each host's subdomains (`.github.com`) are excluded unless another rule host lies
 * under it; all IPv4/IPv6 addresses are excluded.
 */
function nameConstraints(hosts: readonly string[]): Asn1 {
  const tagged = (tag: number, items: Asn1[]) => asn1.create(Class.CONTEXT_SPECIFIC, tag, true, items);
  const dns = (h: string) => seq([asn1.create(Class.CONTEXT_SPECIFIC, 2, false, h)]); // a GeneralSubtree
  const ip = (bytes: number) => seq([asn1.create(Class.CONTEXT_SPECIFIC, 7, false, '\0'.repeat(bytes))]); // address/mask 0
  return seq([
    tagged(0, hosts.map(dns)),
    tagged(1, [...hosts.filter((h) => !hosts.some((o) => o.endsWith(`.${h}`))).map((h) => dns(`.${h}`)), ip(8), ip(32)]),
  ]);
}

/** A CA certificate for `hosts`, and what its leaves need of it (known here: no need to parse it back). */
function buildCaCert(key: KeyPair, hosts: readonly string[], days: number): { pem: string; issuer: Issuer } {
  const subject = name([
    [OID.commonName, `detour run CA ${new Date().toISOString().slice(0, 19)}`],
    [OID.organizationName, 'detour (ephemeral)'],
  ]);
  const { info, keyId } = publicKeyInfo(key.spki);
  const notAfter = new Date(Math.floor((Date.now() + days * DAY) / 1000) * 1000); // whole seconds, as encoded
  const pem = signedCertificate(
    {
      issuer: subject,
      subject,
      notAfter,
      publicKey: info,
      extensions: [
        ext(OID.basicConstraints, true, seq([TRUE, prim(Type.INTEGER, '\0')])), // cA, pathLenConstraint 0
        ext(OID.keyUsage, true, keyUsage(0x06)), // keyCertSign, cRLSign
        ext(OID.subjectKeyIdentifier, false, octets(keyId)),
        ext(OID.nameConstraints, true, nameConstraints(hosts)),
      ],
    },
    key.privateKey,
  );
  return { pem, issuer: { name: subject, keyId, notAfter } };
}

/** What leaves need of their CA: its name, its key identifier and when it expires. */
interface Issuer {
  readonly name: Asn1;
  readonly keyId: string;
  readonly notAfter: Date;
}

/** The Issuer of a certificate (the CA just built, or the one kept in --ca-dir). */
function issuerOf(certPem: string): Issuer {
  const x509 = new X509Certificate(certPem);
  const tbs = (fromDer(x509.raw).value as Asn1[])[0]!.value as Asn1[];
  return { name: tbs[5]!, keyId: publicKeyInfo(toDer(tbs[6]!)).keyId, notAfter: new Date(x509.validTo) };
}

export class CertificateAuthority {
  private readonly contexts = new Map<string, Promise<SecureContext>>();
  private readonly issuer: Issuer;
  /** Leaves signed so far; kept for tests and the -v summary. */
  leavesIssued = 0;

  /** One leaf key per run, made at the first interception (~0.3 ms), and its PEM for TLS contexts. */
  private leaf: { publicKey: Asn1; pem: string } | undefined;

  private constructor(
    readonly certPem: string,
    private readonly caKey: KeyObject,
    /** Hosts the CA may sign for (its name constraints). */
    readonly hosts: readonly string[],
    issuer?: Issuer,
  ) {
    this.issuer = issuer ?? issuerOf(certPem);
  }

  /** A fresh CA valid for a day, its key in memory only. */
  static async ephemeral(hosts: readonly string[]): Promise<CertificateAuthority> {
    const caKey = newKeyPair();
    const { pem, issuer } = buildCaCert(caKey, hosts, 1);
    return new CertificateAuthority(pem, caKey.privateKey, hosts, issuer);
  }

  /**
   * --ca-dir: reuse the CA kept in `dir` when it still covers these hosts for at least a day, else make
   * a new one (30 days) and keep it there: folder 0700, key 0600. A CA kept by a version that made RSA keys
   * is replaced like one for other hosts.
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
        const key = createPrivateKey(readFileSync(keyFile));
        const cert = new X509Certificate(certPem);
        if (meta.hosts === wanted && isCurrentKey(key) && cert.checkPrivateKey(key) && Date.parse(cert.validTo) - Date.now() > DAY) {
          return new CertificateAuthority(certPem, key, hosts);
        }
      } catch {
        // unreadable or foreign files: replace them below
      }
    }
    const caKey = newKeyPair();
    const { pem: certPem, issuer } = buildCaCert(caKey, hosts, 30);
    writeFileSync(keyFile, caKey.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    chmodSync(keyFile, 0o600);
    writeFileSync(certFile, certPem);
    writeFileSync(metaFile, JSON.stringify({ hosts: wanted }) + '\n');
    return new CertificateAuthority(certPem, caKey.privateKey, hosts, issuer);
  }

  /** The TLS context presenting a leaf for `host`, signed on first use and cached. */
  contextFor(host: string): Promise<SecureContext> {
    let ctx = this.contexts.get(host);
    if (!ctx) {
      ctx = new Promise((resolve) => {
        const leaf = this.leafKey();
        resolve(createSecureContext({ cert: this.issueLeaf(host, leaf.publicKey) + this.certPem, key: leaf.pem, minVersion: 'TLSv1.2' }));
      });
      this.contexts.set(host, ctx);
    }
    return ctx;
  }

  private leafKey(): NonNullable<CertificateAuthority['leaf']> {
    if (!this.leaf) {
      const key = newKeyPair();
      this.leaf = { publicKey: publicKeyInfo(key.spki).info, pem: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
    }
    return this.leaf;
  }

  private issueLeaf(host: string, publicKey: Asn1): string {
    const dnsName = asn1.create(Class.CONTEXT_SPECIFIC, 2, false, host);
    const pem = signedCertificate(
      {
        issuer: this.issuer.name,
        subject: name([[OID.commonName, host]]),
        notAfter: new Date(Math.min(Date.now() + DAY, this.issuer.notAfter.getTime())),
        publicKey,
        extensions: [
          ext(OID.basicConstraints, true, seq([])), // cA false (DER omits the default)
          ext(OID.keyUsage, true, keyUsage(0x80)), // digitalSignature: an ECDSA key signs, never enciphers (RFC 5480 §3)
          ext(OID.extKeyUsage, false, seq([oid(OID.serverAuth)])),
          ext(OID.subjectAltName, false, seq([dnsName])),
          ext(OID.authorityKeyIdentifier, false, seq([asn1.create(Class.CONTEXT_SPECIFIC, 0, false, this.issuer.keyId)])),
        ],
      },
      this.caKey,
    );
    this.leavesIssued++;
    return pem;
  }
}
