// A JVM trust store: PEM certificates as a PKCS#12 file that Java's default TrustManager reads as trusted
// entries (`-Djavax.net.ssl.trustStore=FILE -Djavax.net.ssl.trustStoreType=PKCS12`, no password).
//
// Facts relied on (checked 2026-12-02 with OpenJDK 17.0.15, Debian):
// - RFC 7292: PFX = SEQUENCE { version 3, authSafe ContentInfo, macData OPTIONAL }. A `data` ContentInfo holds
//   the AuthenticatedSafe (a SEQUENCE of ContentInfo), each of those a SafeContents (a SEQUENCE of SafeBag); a
//   certBag holds a certificate's DER as `x509Certificate`.
// - Java's PKCS12KeyStore takes a certificate without a private key as a trusted entry only when its bag carries
//   Oracle's attribute 2.16.840.1.113894.746875.1.1 (trustedKeyUsage: the extended key usages it is trusted
//   for; anyExtendedKeyUsage 2.5.29.37.0 = any) — what keytool writes for `-importcert` into a PKCS#12 file.
// - Since JDK 12 (JDK-8076190) a PKCS#12 file may have no MAC and unencrypted bags; it then loads with no
//   password (javax.net.ssl.trustStorePassword unset). A trust store holds no secret, so none is set.
//
// Written by hand, not with node-forge's pkcs12 module: forge parses each certificate into objects (the ~140
// system roots took ~100 ms) and cannot write the trustedKeyUsage attribute; this is a few DER concatenations
// over the certificates' bytes (~1 ms).

const PEM_CERT = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g;

/**
 * A DER element before it is written: its content's size is known, and the whole file is written once into
 * one buffer. (Building each level as its own Buffer cost 12–50 ms for the 144 system roots on this machine,
 * ~3,000 small allocations and copies; this way it is ~1 ms.)
 */
type Der = { readonly tag: number; readonly content: readonly Der[]; readonly size: number } | { readonly bytes: Uint8Array; readonly size: number };

const raw = (bytes: Uint8Array): Der => ({ bytes, size: bytes.length });

/** Bytes of a definite length: one below 128, else one plus the bytes of n. */
function lengthSize(n: number): number {
  if (n < 0x80) return 1;
  let k = 1;
  while (n >= 256 ** k) k++;
  return 1 + k;
}

/** DER: tag, definite length, content. */
function der(tag: number, ...content: Der[]): Der {
  const n = content.reduce((sum, c) => sum + c.size, 0);
  return { tag, content, size: 1 + lengthSize(n) + n };
}

/** Writes `d` at `at` in `out`; returns the offset after it. */
function write(d: Der, out: Buffer, at: number): number {
  if ('bytes' in d) {
    out.set(d.bytes, at);
    return at + d.size;
  }
  const n = d.content.reduce((sum, c) => sum + c.size, 0);
  out[at++] = d.tag;
  if (n < 0x80) out[at++] = n;
  else {
    const k = lengthSize(n) - 1;
    out[at++] = 0x80 | k;
    for (let i = k - 1; i >= 0; i--) out[at++] = Math.floor(n / 256 ** i) & 0xff;
  }
  for (const c of d.content) at = write(c, out, at);
  return at;
}

/** An OBJECT IDENTIFIER from its dotted form. */
function oid(dotted: string): Der {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [a! * 40 + b!];
  for (const arc of rest) {
    const groups: number[] = [];
    for (let v = arc; ; v = Math.floor(v / 128)) {
      groups.unshift((v & 0x7f) | (groups.length ? 0x80 : 0));
      if (v < 128) break;
    }
    bytes.push(...groups);
  }
  return der(0x06, raw(Uint8Array.from(bytes)));
}

const seq = (...c: Der[]) => der(0x30, ...c);
const set = (...c: Der[]) => der(0x31, ...c);
const explicit0 = (...c: Der[]) => der(0xa0, ...c);
const octets = (d: Der) => der(0x04, d);

const DATA = oid('1.2.840.113549.1.7.1');
const CERT_BAG = oid('1.2.840.113549.1.12.10.1.3');
const X509_CERTIFICATE = oid('1.2.840.113549.1.9.22.1');
const FRIENDLY_NAME = oid('1.2.840.113549.1.9.20');
const TRUSTED_KEY_USAGE = oid('2.16.840.1.113894.746875.1.1');
const ANY_EXTENDED_KEY_USAGE = oid('2.5.29.37.0');

/** A certBag with its alias (friendlyName, a BMPString) and the trusted-for-anything attribute. */
function certBag(certDer: Buffer, alias: string): Der {
  const bmp = new Uint8Array(alias.length * 2); // BMPString: UTF-16BE (aliases here are ASCII)
  for (let i = 0; i < alias.length; i++) bmp[2 * i + 1] = alias.charCodeAt(i);
  const attributes = set(seq(FRIENDLY_NAME, set(der(0x1e, raw(bmp)))), seq(TRUSTED_KEY_USAGE, set(ANY_EXTENDED_KEY_USAGE)));
  return seq(CERT_BAG, explicit0(seq(X509_CERTIFICATE, explicit0(octets(raw(certDer))))), attributes);
}

/** The DER certificates of a PEM text, in order. */
export function pemCertificates(pem: string): Buffer[] {
  return [...pem.matchAll(PEM_CERT)].map((m) => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}

/** A password-less PKCS#12 trust store holding each certificate as a trusted entry (aliases cert-0, cert-1, …). */
export function pkcs12TrustStore(certificates: readonly Buffer[]): Buffer {
  const safeContents = seq(...certificates.map((c, i) => certBag(c, `cert-${i}`)));
  const authenticatedSafe = seq(seq(DATA, explicit0(octets(safeContents))));
  const pfx = seq(der(0x02, raw(Uint8Array.of(3))), seq(DATA, explicit0(octets(authenticatedSafe))));
  const out = Buffer.allocUnsafe(pfx.size);
  write(pfx, out, 0);
  return out;
}
