// RSA-2048 keys from node:crypto (native). The CA key is wanted at start-up and is begun before the CLI
// loads; the leaf key is the other of the two raced below, awaited only by the first interception.
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicPem: string;
}

export async function newRsaKey(): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

// RSA key generation time varies a lot from key to key (a random prime search: 70 ms to over 1 s here).
// Two keys are wanted per run anyway (CA and leaf), so both start at once and the CA takes whichever is
// ready first; the other becomes the leaf key. Start-up waits for the faster of two draws, at no extra cost.
let pair: { first: Promise<KeyPair>; second: Promise<KeyPair> } | undefined;

/** Starts both keys early; harmless when --ca-dir later reuses a kept CA key (the CA's draw is then unused). */
export function prewarmCaKey(): void {
  if (pair) return;
  const a = newRsaKey();
  const b = newRsaKey();
  const order = Promise.race([a.then(() => ({ win: a, lose: b })), b.then(() => ({ win: b, lose: a }))]);
  pair = { first: order.then((o) => o.win), second: order.then((o) => o.lose) };
  pair.first.catch(() => undefined); // failures surface when taken
  pair.second.catch(() => undefined);
}

export function takeCaKey(): Promise<KeyPair> {
  prewarmCaKey();
  return pair!.first;
}

/** The key the CA did not take (or a fresh one when none was started). */
export function takeLeafKey(): Promise<KeyPair> {
  return pair ? pair.second : newRsaKey();
}
