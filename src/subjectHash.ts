// OpenSSL's subject-name hash (`openssl x509 -hash`, X509_NAME_hash_ex): the name under which a CA directory
// (c_rehash, update-ca-certificates, `openssl rehash`) holds a certificate, `<hash>.<n>`, and under which
// OpenSSL looks one up when a chain needs it. The hash is the first 4 bytes, little-endian, of the SHA-1 of the
// subject's canonical encoding (crypto/x509/x_name.c, x509_name_canon and asn1_string_canon): each RDN's SET
// re-encoded without the outer SEQUENCE, every string value as a UTF8String, trimmed, runs of whitespace
// collapsed to one space, ASCII letters lower-cased. Checked against `openssl x509 -hash` in test/trust.test.ts
// and on all 144 roots of Debian's bundle (each name is in /etc/ssl/certs).
import { createHash } from 'node:crypto';

interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly body: number;
  readonly end: number;
}

function tlv(b: Buffer, i: number): Tlv {
  const tag = b[i]!;
  let len = b[i + 1]!;
  let header = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let k = 0; k < n; k++) len = len * 256 + b[i + 2 + k]!;
    header += n;
  }
  return { tag, start: i, body: i + header, end: i + header + len };
}

function children(b: Buffer, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let i = t.body; i < t.end; ) {
    const c = tlv(b, i);
    out.push(c);
    i = c.end;
  }
  return out;
}

function encode(tag: number, body: Buffer): Buffer {
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
}

/** UTF8String, PrintableString, T61String, IA5String, UniversalString, BMPString: the types OpenSSL canonicalises. */
function stringValue(b: Buffer, t: Tlv): string | undefined {
  const s = b.subarray(t.body, t.end);
  switch (t.tag) {
    case 0x0c:
    case 0x13:
    case 0x16:
      return s.toString('utf8');
    case 0x14:
      return s.toString('latin1');
    case 0x1e: {
      let r = '';
      for (let i = 0; i + 1 < s.length; i += 2) r += String.fromCharCode(s.readUInt16BE(i));
      return r;
    }
    case 0x1c: {
      let r = '';
      for (let i = 0; i + 3 < s.length; i += 4) r += String.fromCodePoint(s.readUInt32BE(i));
      return r;
    }
    default:
      return undefined;
  }
}

function canonText(s: string): string {
  let out = '';
  let space = false;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c === 32 || (c >= 9 && c <= 13)) {
      space = out.length > 0;
      continue;
    }
    if (space) out += ' ';
    space = false;
    if (c >= 65 && c <= 90) c += 32;
    out += String.fromCharCode(c);
  }
  return out;
}

/** The subject hash of a DER certificate, as 8 hex digits. */
export function subjectHash(der: Buffer): string {
  const tbs = children(der, tlv(der, 0))[0]!;
  const fields = children(der, tbs);
  const subject = fields[fields[0]!.tag === 0xa0 ? 5 : 4]!; // after [0] version, serial, signature, issuer, validity
  const rdns = children(der, subject).map((rdn) => {
    const avas = children(der, rdn).map((ava) => {
      const [oid, value] = children(der, ava) as [Tlv, Tlv];
      const text = stringValue(der, value);
      const canon = text === undefined ? der.subarray(value.start, value.end) : encode(0x0c, Buffer.from(canonText(text), 'utf8'));
      return encode(0x30, Buffer.concat([der.subarray(oid.start, oid.end), canon]));
    });
    return encode(0x31, Buffer.concat(avas.sort(Buffer.compare))); // DER orders a SET OF by encoding
  });
  return createHash('sha1').update(Buffer.concat(rdns)).digest().readUInt32LE(0).toString(16).padStart(8, '0');
}

/** The DER bytes of one PEM certificate block. */
export function pemToDer(pem: string): Buffer {
  const body = pem.slice(pem.indexOf('-----', 5) + 5, pem.lastIndexOf('-----END'));
  return Buffer.from(body, 'base64'); // base64 decoding skips the line breaks
}
