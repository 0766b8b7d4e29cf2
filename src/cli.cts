#!/bin/sh
//bin/sh -c :; [ -z "$NODE_EXTRA_CA_CERTS" ] || { export DETOUR_NODE_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS"; unset NODE_EXTRA_CA_CERTS; }; exec node "$0" "$@" # @preserve (esbuild keeps this line)
// The launcher: a shell line, then CommonJS that loads dist/app.bundle.cjs with V8's code cache.
//
// Run as a command, /bin/sh reads line 2 (`//bin/sh -c :` is a no-op, then the exec); to Node, which skips the
// `#!` line, it is a comment. Why a shell first: Node.js 20 reads and parses the file named by
// NODE_EXTRA_CA_CERTS as it starts, whether the program ever uses Node's default roots or not. For a copy of
// the system bundle (146 certificates, as CI images and corporate setups often set) that is 416 M instructions
// (callgrind; `node -e 0` 84 M without it), ~50 ms before detour runs a line. detour's own connections use
// explicit roots (src/trust.ts), so its process starts without the variable, and the lines below put it back
// for the child. No V8 flag here either: any V8 flag makes Node refuse its built-in code cache (+130 M
// instructions, see main.ts, setRunTimeV8Flags).
//
// Why vm.Script: compiling the 320 kB bundle is the largest part of detour's own start-up, and Node 20 has no
// compile cache (module.enableCompileCache is Node ≥ 22.1). vm.Script takes V8's code cache, made by the build
// (`npm run build` runs `detour -- true` once with DETOUR_CODE_CACHE=write and saves the functions compiled up
// to the child's spawn): `detour -- true` 340 → 260 M instructions, `node -e 0` 87 M (callgrind, clean
// environment, node 20.20, 2026-12-02; ~15 ms of ~70 here). CommonJS rather than an ES module spares Node's ES
// module loader, 21 M more; so the build makes dist/cli.cjs with esbuild, not tsc, which would put "use strict"
// above the shell line (esbuild keeps line 2 for its @preserve).
//
// V8 checks a cache against its own version and flags but the source only by length, so the cache file starts
// with a SHA-256 of the bundle and of the Node.js version and platform it was made with. Any other Node.js (the
// cache ships in the package, made by the publisher's) or bundle gets `require`: Node ≥ 22.1 then keeps the
// compiled bundle in its own compile cache (under the system temp folder), Node 20 compiles it as before.
// DETOUR_CODE_CACHE=off ignores the cache; =report prints one line saying what became of it.
import crypto = require('node:crypto');
import fs = require('node:fs');
import nodeModule = require('node:module');
import path = require('node:path');
import vm = require('node:vm');

if (process.env.DETOUR_NODE_EXTRA_CA_CERTS !== undefined) {
  process.env.NODE_EXTRA_CA_CERTS = process.env.DETOUR_NODE_EXTRA_CA_CERTS;
  delete process.env.DETOUR_NODE_EXTRA_CA_CERTS;
}

const bundleFile = path.join(__dirname, 'app.bundle.cjs');
const cacheFile = path.join(__dirname, 'app.bundle.cache');
const STAMP_BYTES = 32;
const mode = process.env.DETOUR_CODE_CACHE; // undefined (use it), 'off', 'report', 'write' (the build)
delete process.env.DETOUR_CODE_CACHE; // the child runs a program of its own

type CacheState = 'accepted' | 'rejected' | 'absent' | 'stale' | 'off';

/** What a cache must have been made from: this bundle, on this Node.js and platform. */
function stampOf(source: string): Buffer {
  return crypto.createHash('sha256').update(`${process.version} ${process.platform} ${process.arch}\0`).update(source).digest();
}

/** The cache file's V8 data, if it was made from this bundle on this Node.js. */
function readCache(stamp: Buffer): { data?: Buffer; state: CacheState } {
  if (mode === 'off' || mode === 'write') return { state: 'off' };
  let file: Buffer;
  try {
    file = fs.readFileSync(cacheFile);
  } catch {
    return { state: 'absent' };
  }
  if (file.length <= STAMP_BYTES || !file.subarray(0, STAMP_BYTES).equals(stamp)) return { state: 'stale' };
  return { data: file.subarray(STAMP_BYTES), state: 'accepted' };
}

/** The bundle compiled with the cache, as a function of CommonJS's five names plus the launcher's hand
 *  (src/launcher.ts); undefined when there is no cache to use. A function of its own, so that the source read
 *  and the cache file are garbage once V8 has them (~0.6 MB). */
function compileBundle(): { script: vm.Script; stamp: Buffer } | undefined {
  const source = fs.readFileSync(bundleFile, 'utf8');
  const stamp = stampOf(source);
  const cache = readCache(stamp);
  let script: vm.Script | undefined;
  if (cache.data || mode === 'write') {
    script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __detourLauncher) {${source}\n})`, {
      filename: bundleFile,
      cachedData: cache.data,
    });
    if (script.cachedDataRejected) cache.state = 'rejected'; // made by a V8 that differs in a way the stamp misses
  }
  if (mode === 'report') process.stderr.write(`detour: code cache ${cache.state}\n`);
  return script && { script, stamp };
}

const compiled = compileBundle();
if (compiled) {
  const { script, stamp } = compiled;
  let saved = false;
  const launcher = {
    // Code that vm.Script compiled cannot call import() on Node 20 without --experimental-vm-modules; this
    // file's import() resolves from dist/, as the bundle's own would.
    importExternal: (specifier: string): Promise<unknown> => import(specifier),
    // The start-up path is compiled by now. Saved before main.ts changes a V8 flag: V8 stamps the cache with its
    // flags, and one made after the change would be rejected by every later start.
    startupDone(): void {
      if (mode !== 'write' || saved) return;
      saved = true;
      fs.writeFileSync(cacheFile, Buffer.concat([stamp, script.createCachedData()]));
    },
  };
  const bundleModule = { exports: {} };
  (script.runInThisContext() as (...args: unknown[]) => void).call(
    bundleModule.exports,
    bundleModule.exports,
    nodeModule.createRequire(bundleFile),
    bundleModule,
    bundleFile,
    __dirname,
    launcher,
  );
} else {
  (nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  require(bundleFile);
}
