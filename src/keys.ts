// Keys and signatures: ECDSA P-256 from node:crypto, signatures ecdsa-with-SHA256 (DER, as crypto.sign makes).
//
// Why ECDSA: a P-256 key takes ~0.3 ms here and a signature ~0.2 ms (`node bench/keys.mjs`), made
// synchronously when wanted. RSA-2048 took ~200 ms median with generateKeyPair('rsa') and still ~60 ms with
// both primes searched for in parallel on the thread pool, where it competed with the CLI's own module
// loading on a 2-core machine: the largest part of detour's start-up. Every client in the tests (go, curl,
// git's GnuTLS, npm, pip, cargo, node) accepts P-256 chains.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export interface KeyPair {
  readonly privateKey: KeyObject;
  /** SubjectPublicKeyInfo, DER: goes into the certificate as it is. */
  readonly spki: Buffer;
}

/** ecdsa-with-SHA256 (RFC 5758 §3.2: the AlgorithmIdentifier has no parameters). */
export const SIGNATURE_OID = '1.2.840.10045.4.3.2';

export function newKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, spki: publicKey.export({ type: 'spki', format: 'der' }) };
}

/** Whether a key read back from disk is one this version makes (an older one kept RSA-2048 keys). */
export const isCurrentKey = (key: KeyObject): boolean =>
  key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';

/** The DER ECDSA-Sig-Value over `data` (crypto.sign's default dsaEncoding is 'der', as X.509 wants). */
export const signDer = (data: Buffer, key: KeyObject): Buffer => sign('sha256', data, key);
