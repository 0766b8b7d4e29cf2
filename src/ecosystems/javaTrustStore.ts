// JVM trust stores that Java's default TrustManager reads as trusted entries, with no password:
// - jksTrustStore: a JKS file (the JVM's own cacerts, say) with more certificates appended, its count and keyed
//   digest rewritten (`-Djavax.net.ssl.trustStoreType=JKS`). The common case: the system roots stay the bytes
//   they are, and only --upstream-ca and the run's CA are decoded from PEM.
// - pkcs12TrustStore: PEM certificates as a PKCS#12 file (`-Djavax.net.ssl.trustStoreType=PKCS12`), for a
//   cacerts that is not JKS.
//
// PKCS#12 facts relied on (checked 2026-12-02 with OpenJDK 17.0.15, Debian; `keytool -list` shows each certificate
// as a trustedCertEntry):
// - RFC 7292: PFX = SEQUENCE { version 3, authSafe ContentInfo, macData OPTIONAL }. A `data` ContentInfo holds
//   the AuthenticatedSafe (a SEQUENCE of ContentInfo), each of those a SafeContents (a SEQUENCE of SafeBag); a
//   certBag holds a certificate's DER as `x509Certificate`.
// - Java's PKCS12KeyStore takes a certificate without a private key as a trusted entry only when its bag carries
//   Oracle's attribute 2.16.840.1.113894.746875.1.1 (trustedKeyUsage: the extended key usages it is trusted
//   for; anyExtendedKeyUsage 2.5.29.37.0 = any), as keytool writes for `-importcert` into a PKCS#12 file.
// - Since JDK 12 (JDK-8076190) a PKCS#12 file may have no MAC and unencrypted bags; it then loads with no
//   password (javax.net.ssl.trustStorePassword unset), and with one too. A trust store holds no secret.
//
// Written by hand, not with node-forge's pkcs12 module, which cannot write the trustedKeyUsage attribute and
// parses each certificate into objects first. Sizes are computed, then the file is written once into one
// buffer: building each DER level as its own Buffer cost 12–50 ms for the 144 system roots on this machine
// (~3,000 small allocations); this way the whole store takes ~1 ms.

import { createHash } from 'node:crypto';

const BEGIN = '-----BEGIN CERTIFICATE-----';
const END = '-----END CERTIFICATE-----';

/** Bytes of a DER header (tag and definite length) for `n` bytes of content. */
function headerSize(n: number): number {
  if (n < 0x80) return 2;
  let k = 1;
  while (n >= 256 ** k) k++;
  return 2 + k;
}

/** Size of a whole element with `n` bytes of content. */
const tlv = (n: number) => headerSize(n) + n;

/** Writes a DER header at `at`; returns the offset after it. */
function putHeader(out: Uint8Array, at: number, tag: number, n: number): number {
  out[at++] = tag;
  const k = headerSize(n) - 2;
  if (k === 0) out[at++] = n;
  else {
    out[at++] = 0x80 | k;
    for (let i = k - 1; i >= 0; i--) out[at++] = Math.floor(n / 256 ** i) & 0xff;
  }
  return at;
}

/** An OBJECT IDENTIFIER element from its dotted form. */
function oid(dotted: string): Uint8Array {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const body = [a! * 40 + b!];
  for (const arc of rest) {
    const groups: number[] = [];
    for (let v = arc; ; v = Math.floor(v / 128)) {
      groups.unshift((v & 0x7f) | (groups.length ? 0x80 : 0));
      if (v < 128) break;
    }
    body.push(...groups);
  }
  return Uint8Array.of(0x06, body.length, ...body);
}

/** Concatenated elements inside one header. */
function wrap(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(tlv(n));
  let at = putHeader(out, 0, tag, n);
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const DATA = oid('1.2.840.113549.1.7.1');
const CERT_BAG = oid('1.2.840.113549.1.12.10.1.3');
const X509_CERTIFICATE = oid('1.2.840.113549.1.9.22.1');
const FRIENDLY_NAME = oid('1.2.840.113549.1.9.20');
const TRUSTED_KEY_USAGE = oid('2.16.840.1.113894.746875.1.1');
const ANY_EXTENDED_KEY_USAGE = oid('2.5.29.37.0');

/** A bag's attributes: its alias (friendlyName, a BMPString) and "trusted for anything". */
function attributes(alias: string): Uint8Array {
  const bmp = new Uint8Array(alias.length * 2); // UTF-16BE; aliases here are ASCII
  for (let i = 0; i < alias.length; i++) bmp[2 * i + 1] = alias.charCodeAt(i);
  return wrap(0x31, wrap(0x30, FRIENDLY_NAME, wrap(0x31, wrap(0x1e, bmp))), wrap(0x30, TRUSTED_KEY_USAGE, wrap(0x31, ANY_EXTENDED_KEY_USAGE)));
}

/**
 * The DER certificates of a PEM text, in order. indexOf, not a lazy regex, and no whitespace removal: Node's
 * base64 decoder skips newlines and spaces itself. For the 145 certificates of this machine's bundle the regex,
 * `replace` and decode took ~14 M instructions (callgrind).
 */
export function pemCertificates(pem: string): Buffer[] {
  const out: Buffer[] = [];
  for (let at = pem.indexOf(BEGIN); at >= 0; ) {
    const body = at + BEGIN.length;
    const end = pem.indexOf(END, body);
    if (end < 0) break;
    const next = pem.indexOf(BEGIN, body);
    if (next >= 0 && next < end) {
      at = next; // a BEGIN without its END (a cut file): skipped, not decoded with the next certificate's text
      continue;
    }
    out.push(Buffer.from(pem.slice(body, end), 'base64'));
    at = pem.indexOf(BEGIN, end + END.length);
  }
  return out;
}

/**
 * A password-less PKCS#12 trust store holding each certificate as a trusted entry (aliases cert-000, …).
 * SafeBag = SEQUENCE { certBag OID, [0] SEQUENCE { x509Certificate OID, [0] OCTET STRING cert }, attributes }.
 */
export function pkcs12TrustStore(certificates: readonly Uint8Array[]): Buffer {
  // One attribute block, its alias digits patched per certificate: every bag's attributes have one size.
  const width = Math.max(3, String(certificates.length).length);
  const template = attributes(`cert-${'0'.repeat(width)}`);
  const digitsAt = template.length - (TRUSTED_KEY_USAGE.length + ANY_EXTENDED_KEY_USAGE.length + 4) - 2 * width;

  const sizes = certificates.map((c) => {
    const octets = tlv(c.length);
    const certBag = X509_CERTIFICATE.length + tlv(octets);
    const safeBag = CERT_BAG.length + tlv(tlv(certBag)) + template.length;
    return { octets, certBag, safeBag };
  });
  const safeContents = sizes.reduce((s, z) => s + tlv(z.safeBag), 0);
  const contentInfo = DATA.length + tlv(tlv(tlv(safeContents)));
  const authSafe = tlv(contentInfo);
  const outerInfo = DATA.length + tlv(tlv(tlv(authSafe)));
  const pfx = 3 + tlv(outerInfo);

  const out = Buffer.allocUnsafe(tlv(pfx));
  const put = (bytes: Uint8Array) => {
    out.set(bytes, at);
    at += bytes.length;
  };
  let at = putHeader(out, 0, 0x30, pfx);
  put(Uint8Array.of(0x02, 0x01, 0x03)); // version 3
  at = putHeader(out, at, 0x30, outerInfo);
  put(DATA);
  at = putHeader(out, at, 0xa0, tlv(tlv(authSafe)));
  at = putHeader(out, at, 0x04, tlv(authSafe));
  at = putHeader(out, at, 0x30, authSafe); // AuthenticatedSafe: one ContentInfo
  at = putHeader(out, at, 0x30, contentInfo);
  put(DATA);
  at = putHeader(out, at, 0xa0, tlv(tlv(safeContents)));
  at = putHeader(out, at, 0x04, tlv(safeContents));
  at = putHeader(out, at, 0x30, safeContents);
  certificates.forEach((cert, i) => {
    const z = sizes[i]!;
    at = putHeader(out, at, 0x30, z.safeBag);
    put(CERT_BAG);
    at = putHeader(out, at, 0xa0, tlv(z.certBag));
    at = putHeader(out, at, 0x30, z.certBag);
    put(X509_CERTIFICATE);
    at = putHeader(out, at, 0xa0, z.octets);
    at = putHeader(out, at, 0x04, cert.length);
    put(cert);
    const digits = String(i).padStart(width, '0');
    for (let d = 0; d < width; d++) template[digitsAt + 2 * d + 1] = digits.charCodeAt(d);
    put(template);
  });
  if (at !== out.length) throw new Error(`pkcs12TrustStore: wrote ${at} of ${out.length} bytes`);
  return out;
}

const JKS_MAGIC = 0xfeedfeed;
const JKS_DIGEST = 20; // SHA-1
const X509 = Buffer.from('X.509');

const ALIAS_PREFIX = 'detour-root-';
const PREFIX_BYTES = Buffer.from(ALIAS_PREFIX);

/**
 * The aliases starting with `detour-root-` (the only ones ours could clash with) of a version-2 JKS file, or
 * undefined when `jks` is not one whose entries end exactly where its 20-byte digest begins: then nothing is
 * appended. Layout (sun.security.provider.JavaKeyStore.engineStore): u32 magic 0xFEEDFEED, u32 version 2,
 * u32 count, per entry u32 tag (1 private key: alias, u64 date, u32 length + key, u32 chain length, per
 * certificate a type UTF and u32 length + DER; 2 trusted certificate: alias, u64 date, type UTF, u32 length +
 * DER), then the digest. A UTF is a u16 length and that many bytes (DataOutputStream.writeUTF). One plain loop
 * over a DataView: with a closure per read and every alias made a string it cost ~3 M instructions (cold) for
 * Debian's 144 entries.
 */
export function jksOwnAliases(jks: Uint8Array): Set<string> | undefined {
  const end = jks.length - JKS_DIGEST;
  if (end < 12) return undefined;
  const view = new DataView(jks.buffer, jks.byteOffset, jks.byteLength);
  if (view.getUint32(0) !== JKS_MAGIC || view.getUint32(4) !== 2) return undefined;
  const ours = new Set<string>();
  let at = 12;
  for (let i = view.getUint32(8); i > 0; i--) {
    if (at + 6 > end) return undefined;
    const tag = view.getUint32(at);
    const aliasLength = view.getUint16(at + 4);
    const alias = at + 6;
    at = alias + aliasLength + 8; // alias, date
    if (at > end || (tag !== 1 && tag !== 2)) return undefined;
    let same = 0; // Debian's aliases start "debian:": a byte loop, not a subarray per entry
    while (same < PREFIX_BYTES.length && same < aliasLength && jks[alias + same] === PREFIX_BYTES[same]) same++;
    if (same === PREFIX_BYTES.length) ours.add(Buffer.from(jks.subarray(alias, alias + aliasLength)).toString('latin1'));
    let certs = 1;
    if (tag === 1) {
      if (at + 4 > end) return undefined;
      at += 4 + view.getUint32(at); // protected private key
      if (at + 4 > end) return undefined;
      certs = view.getUint32(at);
      at += 4;
    }
    for (; certs > 0; certs--) {
      if (at + 2 > end) return undefined;
      at += 2 + view.getUint16(at); // type
      if (at + 4 > end) return undefined;
      at += 4 + view.getUint32(at); // DER
    }
  }
  return at === end ? ours : undefined;
}

/**
 * A JKS trust store: the entries of `jks` (a version-2 JKS file) plus a trusted-certificate entry for each of
 * `certificates` (aliases detour-root-0, …, skipping any the file has), its count and digest rewritten; undefined
 * when `jks` is not such a file. The digest is keyed with the EMPTY password (JavaKeyStore.getPreKeyedHash:
 * SHA-1 over the password as UTF-16BE, "Mighty Aphrodite" in UTF-8, then every byte before the digest): the
 * JVM's default TrustManager loads the file without a password (javax.net.ssl.trustStorePassword unset or
 * empty: TrustStoreManager passes null, and engineLoad then checks nothing), and `keytool -storepass ''`
 * verifies it. Appending leaves the system's ~140 roots as the bytes they were: ~0.1 ms instead of decoding
 * them from PEM.
 */
export function jksTrustStore(jks: Uint8Array, certificates: readonly Uint8Array[], now = Date.now()): Buffer | undefined {
  const taken = jksOwnAliases(jks);
  if (!taken) return undefined;
  const aliases: string[] = [];
  for (let n = 0; aliases.length < certificates.length; n++) if (!taken.has(ALIAS_PREFIX + n)) aliases.push(ALIAS_PREFIX + n);
  const body = jks.length - JKS_DIGEST;
  const size = certificates.reduce((s, c, i) => s + 4 + 2 + aliases[i]!.length + 8 + 2 + X509.length + 4 + c.length, body);
  const out = Buffer.allocUnsafe(size + JKS_DIGEST);
  out.set(jks.subarray(0, body));
  out.writeUInt32BE(new DataView(jks.buffer, jks.byteOffset).getUint32(8) + certificates.length, 8);
  let at = body;
  certificates.forEach((cert, i) => {
    at = out.writeUInt32BE(2, at);
    at = out.writeUInt16BE(aliases[i]!.length, at);
    at += out.write(aliases[i]!, at, 'latin1');
    at = out.writeBigUInt64BE(BigInt(now), at);
    at = out.writeUInt16BE(X509.length, at);
    out.set(X509, at);
    at = out.writeUInt32BE(cert.length, at + X509.length);
    out.set(cert, at);
    at += cert.length;
  });
  createHash('sha1').update('Mighty Aphrodite').update(out.subarray(0, at)).digest().copy(out, at);
  return out;
}
