// RSA-2048 keys from node:crypto (DESIGN §4), made from primes found in parallel.
//
// Why not generateKeyPair('rsa')? It makes the whole key on one thread: ~200 ms median here, p90 over
// 300 ms, the largest part of detour's start-up. The key is two random 1024-bit primes, and node:crypto's
// generatePrime (OpenSSL's BN_generate_prime_ex2, with its Miller-Rabin rounds) finds one in ~34 ms median
// on a thread-pool thread, so both primes of a key are searched for at once: a key is ready in ~60 ms median
// (`node bench/keys.mjs`). The rest is ordinary arithmetic, with FIPS 186-4's checks on the primes below.
import { createPrivateKey, createPublicKey, generatePrime, type KeyObject } from 'node:crypto';

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicPem: string;
}

const E = 65537n;
const PRIME_BITS = 1024;

function randomPrime(): Promise<bigint> {
  return new Promise((resolve, reject) =>
    generatePrime(PRIME_BITS, { bigint: true }, (err, prime) => (err ? reject(err) : resolve(prime))),
  );
}

/** x⁻¹ mod m (extended Euclid); m > 1 and gcd(x, m) = 1 are the caller's to ensure. */
function modInverse(x: bigint, m: bigint): bigint {
  let [r0, r1] = [x % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new Error('keys: value not invertible');
  return ((s0 % m) + m) % m;
}

const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));
const bitLength = (x: bigint): number => x.toString(2).length;
const b64url = (x: bigint): string => {
  const hex = x.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex').toString('base64url');
};

/** FIPS 186-4 B.3.1's conditions on a prime for e = 65537: gcd(p−1, e) = 1 and the top bits set. */
const usablePrime = (p: bigint): boolean => (p - 1n) % E !== 0n && p >> BigInt(PRIME_BITS - 2) === 3n;

/** The RSA key for two primes, or undefined when they fail FIPS 186-4's |p − q| > 2^(nlen/2 − 100). */
export function rsaKeyFromPrimes(a: bigint, b: bigint): KeyPair | undefined {
  const [p, q] = a > b ? [a, b] : [b, a];
  if (!usablePrime(p) || !usablePrime(q) || p - q <= 1n << BigInt(PRIME_BITS - 100)) return undefined;
  const n = p * q;
  if (bitLength(n) !== 2 * PRIME_BITS) return undefined;
  const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
  const d = modInverse(E, lambda);
  const jwk = {
    kty: 'RSA', n: b64url(n), e: b64url(E), d: b64url(d), p: b64url(p), q: b64url(q),
    dp: b64url(d % (p - 1n)), dq: b64url(d % (q - 1n)), qi: b64url(modInverse(q, p)),
  };
  const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
  return { privateKey, publicPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString() };
}

// A pair that fails the checks (about 1 in 32,000) is replaced by a fresh one; ten tries bound the loop.
async function rsaKey(first: Promise<bigint>, second: Promise<bigint>): Promise<KeyPair> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const [p, q] = await Promise.all([first, second]); // both awaited: a failure of either is handled
    const key = rsaKeyFromPrimes(p, q);
    if (key) return key;
    [first, second] = [randomPrime(), randomPrime()];
  }
  throw new Error('keys: no usable RSA primes after 10 tries');
}

let pair: { ca: Promise<KeyPair>; leaf: Promise<KeyPair> } | undefined;

/** Starts both keys' primes early; harmless when --ca-dir later reuses a kept CA key (that draw is unused). */
export function prewarmCaKey(): void {
  if (pair) return;
  const ca = rsaKey(randomPrime(), randomPrime());
  // The leaf key's primes wait for the CA's: on 2 cores, four searches beside the CLI's module loading made
  // the CA key (which start-up waits for) later, while the leaf key is only wanted at the first interception.
  const leaf = ca.then(
    () => rsaKey(randomPrime(), randomPrime()),
    () => rsaKey(randomPrime(), randomPrime()),
  );
  pair = { ca, leaf };
  pair.ca.catch(() => undefined); // failures surface when taken
  pair.leaf.catch(() => undefined);
}

export function takeCaKey(): Promise<KeyPair> {
  prewarmCaKey();
  return pair!.ca;
}

export function takeLeafKey(): Promise<KeyPair> {
  prewarmCaKey();
  return pair!.leaf;
}

/** A key of its own, outside the run's pair (the key benchmark and tests). */
export function newRsaKey(): Promise<KeyPair> {
  return rsaKey(randomPrime(), randomPrime());
}
