// Keys and certificates as start-up pays for them: RSA-2048 the ways detour made it before against the
// ECDSA P-256 key it makes now (src/keys.ts), and what the CA (src/ca.ts) costs once loaded: its certificate,
// the first leaf (with the run's leaf key and TLS context), each further leaf. Each in a fresh Node process,
// interleaved run by run, medians. Build first (`npm run build`).
//   node bench/keys.mjs [runs]      (default 30)
import { execFileSync } from 'node:child_process';

const runs = Number(process.argv[2]) || 30;
const dist = (f) => JSON.stringify(new URL(`../dist/${f}`, import.meta.url).href);
const variants = {
  'RSA-2048, generateKeyPair (OpenSSL, one thread)': `const {generateKeyPair}=await import('node:crypto'); const t=performance.now();
    await new Promise((r,j)=>generateKeyPair('rsa',{modulusLength:2048},(e)=>e?j(e):r())); console.log(performance.now()-t);`,
  'RSA-2048, two 1024-bit primes in parallel (before)': `const {generatePrime}=await import('node:crypto'); const t=performance.now();
    const p=()=>new Promise((r,j)=>generatePrime(1024,{bigint:true},(e,x)=>e?j(e):r(x))); await Promise.all([p(),p()]);
    console.log(performance.now()-t);`,
  'ECDSA P-256 key (detour now)': `const k=await import(${dist('keys.js')}); const t=performance.now();
    const {privateKey}=k.newKeyPair(); if(privateKey.asymmetricKeyDetails.namedCurve!=='prime256v1') throw new Error('not P-256');
    console.log(performance.now()-t);`,
  'ECDSA signature over 1 KB (detour now)': `const k=await import(${dist('keys.js')}); const {privateKey}=k.newKeyPair();
    const t=performance.now(); k.signDer(Buffer.alloc(1024), privateKey); console.log(performance.now()-t);`,
  'CA certificate (key included; ca.js loaded)': `const {CertificateAuthority}=await import(${dist('ca.js')}); const t=performance.now();
    await CertificateAuthority.ephemeral(['proxy.golang.org','sum.golang.org']); console.log(performance.now()-t);`,
  'first leaf + TLS context (key included)': `const {CertificateAuthority}=await import(${dist('ca.js')});
    const ca=await CertificateAuthority.ephemeral(['proxy.golang.org','sum.golang.org']);
    const t=performance.now(); await ca.contextFor('proxy.golang.org'); console.log(performance.now()-t);`,
  'each further leaf + TLS context': `const {CertificateAuthority}=await import(${dist('ca.js')});
    const ca=await CertificateAuthority.ephemeral(['proxy.golang.org','sum.golang.org']); await ca.contextFor('proxy.golang.org');
    const t=performance.now(); await ca.contextFor('sum.golang.org'); console.log(performance.now()-t);`,
};
const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let r = 0; r < runs; r++)
  for (const [name, code] of Object.entries(variants))
    times[name].push(Number(execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' })));
const q = (xs, f) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * f))];
console.log('| what | median ms | p10 | p90 |\n|---|---|---|---|');
for (const [name, xs] of Object.entries(times)) console.log(`| ${name} | ${q(xs, 0.5).toFixed(1)} | ${q(xs, 0.1).toFixed(1)} | ${q(xs, 0.9).toFixed(1)} |`);
console.log(`\n${runs} runs each, interleaved, fresh process per run; node ${process.version}.`);
