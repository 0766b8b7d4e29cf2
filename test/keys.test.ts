// The RSA keys detour makes from two primes (src/keys.ts): valid for OpenSSL, distinct, and never made from
// primes that fail FIPS 186-4's checks. The keys stay in memory; OpenSSL reads them from a pipe.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createPublicKey, generatePrime, sign, verify } from 'node:crypto';
import { promisify } from 'node:util';
import { newRsaKey, rsaKeyFromPrimes, takeCaKey, takeLeafKey } from '../dist/keys.js';

const prime = promisify(generatePrime) as (bits: number, options: object) => Promise<bigint>;

t.test('a key from two parallel primes is a valid RSA-2048 key that OpenSSL accepts', async (t) => {
  const key = await newRsaKey();
  const details = key.privateKey.asymmetricKeyDetails!;
  t.equal(key.privateKey.asymmetricKeyType, 'rsa');
  t.equal(details.modulusLength, 2048);
  t.equal(details.publicExponent, 65537n);
  const message = Buffer.from('detour');
  const signature = sign('sha256', message, key.privateKey);
  t.ok(verify('sha256', message, createPublicKey(key.publicPem), signature), 'the public PEM verifies its signature');
  const pem = key.privateKey.export({ type: 'pkcs8', format: 'pem' });
  const check = spawnSync('openssl', ['pkey', '-check', '-noout'], { input: pem, encoding: 'utf8', timeout: 20_000 });
  t.equal(check.status, 0, `openssl pkey -check: ${check.stdout}${check.stderr}`);
  t.match(check.stdout + check.stderr, /Key is valid/);
});

t.test('the CA and leaf keys of a run are two different keys', async (t) => {
  const [ca, leaf] = await Promise.all([takeCaKey(), takeLeafKey()]);
  t.not(ca.publicPem, leaf.publicPem);
  t.equal(await takeCaKey(), ca, 'the CA key is made once per run');
});

t.test('primes that fail FIPS 186-4’s checks are refused, not made into a key', async (t) => {
  const good = await prime(1024, { bigint: true });
  const other = await prime(1024, { bigint: true });
  t.ok(rsaKeyFromPrimes(good, other), 'two fresh 1024-bit primes make a key');
  t.equal(rsaKeyFromPrimes(good, good), undefined, 'p = q');
  // p ≡ 1 (mod e), so e divides p − 1; drawn until its top two bits are set, so that only the e check can refuse it
  let sharesE = 0n;
  for (let i = 0; i < 40 && sharesE >> 1022n !== 3n; i++) sharesE = await prime(1024, { bigint: true, add: 65537n, rem: 1n });
  t.equal(sharesE >> 1022n, 3n);
  t.equal(rsaKeyFromPrimes(sharesE, other), undefined, 'gcd(p − 1, e) ≠ 1');
  const short = await prime(1000, { bigint: true });
  t.equal(rsaKeyFromPrimes(short, other), undefined, 'a prime without its top two bits set');
});
