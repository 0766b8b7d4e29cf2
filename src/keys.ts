// RSA-2048 keys from node:crypto (native). The CA key is wanted at start-up and is begun before the CLI
// loads; the leaf key is begun once the child runs and awaited only by the first interception.
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

let caKey: Promise<KeyPair> | undefined;

/** Starts the CA key early; harmless when --ca-dir later reuses a kept key (then it is never awaited). */
export function prewarmCaKey(): void {
  caKey ??= newRsaKey();
  caKey.catch(() => undefined); // failure surfaces when taken
}

export function takeCaKey(): Promise<KeyPair> {
  prewarmCaKey();
  const k = caKey!;
  caKey = undefined;
  return k;
}
