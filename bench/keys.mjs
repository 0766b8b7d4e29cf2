// Key generation alone: OpenSSL's own RSA-2048 keygen against detour's (src/keys.ts: two 1024-bit primes
// found in parallel), each in a fresh Node process as at start-up, interleaved run by run, medians.
//   node bench/keys.mjs [runs]      (default 30)
import { execFileSync } from 'node:child_process';

const runs = Number(process.argv[2]) || 30;
const keys = new URL('../dist/keys.js', import.meta.url).href;
const variants = {
  'generateKeyPair rsa 2048 (OpenSSL)': `const {generateKeyPair}=await import('node:crypto'); const t=performance.now();
    await new Promise((r,j)=>generateKeyPair('rsa',{modulusLength:2048},(e)=>e?j(e):r())); console.log(performance.now()-t);`,
  'detour CA key (primes in parallel)': `const k=await import(${JSON.stringify(keys)}); const t=performance.now();
    const {privateKey}=await k.takeCaKey(); if(privateKey.asymmetricKeyDetails.modulusLength!==2048) throw new Error('not 2048');
    console.log(performance.now()-t);`,
  'detour CA + leaf keys': `const k=await import(${JSON.stringify(keys)}); const t=performance.now();
    await k.takeCaKey(); await k.takeLeafKey(); console.log(performance.now()-t);`,
};
const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let r = 0; r < runs; r++)
  for (const [name, code] of Object.entries(variants))
    times[name].push(Number(execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' })));
const q = (xs, f) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * f))];
console.log('| keys | median ms | p10 | p90 |\n|---|---|---|---|');
for (const [name, xs] of Object.entries(times)) console.log(`| ${name} | ${q(xs, 0.5).toFixed(0)} | ${q(xs, 0.1).toFixed(0)} | ${q(xs, 0.9).toFixed(0)} |`);
console.log(`\n${runs} runs each, interleaved, fresh process per run; node ${process.version}.`);
