// A JVM trust store: PEM certificates as a PKCS#12 file that Java's default TrustManager reads as trusted
// entries (`-Djavax.net.ssl.trustStore=FILE -Djavax.net.ssl.trustStoreType=PKCS12`, no password).
//
// Facts relied on (checked 2026-12-02 with OpenJDK 17.0.15, Debian; `keytool -list` shows each certificate
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

const PEM_CERT = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g;

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

/** The DER certificates of a PEM text, in order. */
export function pemCertificates(pem: string): Buffer[] {
  return [...pem.matchAll(PEM_CERT)].map((m) => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
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
