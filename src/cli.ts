#!/bin/sh
//bin/sh -c :; [ -z "$NODE_EXTRA_CA_CERTS" ] || { export DETOUR_NODE_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS"; unset NODE_EXTRA_CA_CERTS; }; exec node "$0" "$@"
// Entry point: a shell line, then JavaScript. Run as a command, /bin/sh reads line 2 (`//bin/sh -c :` is a
// no-op, then the exec); to Node, which skips the `#!` line, it is a comment.
// Why a shell first: Node.js 20 reads and parses the file named by NODE_EXTRA_CA_CERTS as it starts, whether
// the program ever makes a TLS connection with Node's default roots or not. For a copy of the system bundle
// (146 certificates, as CI images and corporate setups often set) that is 416 M instructions (callgrind;
// `node -e 0` 84 M without it), ~50 ms before detour runs a line. detour's own connections use explicit roots
// (src/trust.ts), so its process starts without the variable, and the line below puts it back for the child.
// No V8 flag here either: any V8 flag makes Node refuse its built-in code cache (+130 M instructions, see
// main.ts, keepYoungGenerationSmall).
// The rest is one file, dist/app.bundle.js (esbuild, `npm run build`): Node's ES module loader resolved and
// compiled ~60 files one by one, ~80 ms of start-up here.
// Node ≥ 22.1 can keep the bundle's compiled code between runs (module.enableCompileCache, in Node's own cache
// folder under the system temp dir); Node 20 has no such function and this line does nothing there.
import nodeModule from 'node:module';

if (process.env.DETOUR_NODE_EXTRA_CA_CERTS !== undefined) {
  process.env.NODE_EXTRA_CA_CERTS = process.env.DETOUR_NODE_EXTRA_CA_CERTS;
  delete process.env.DETOUR_NODE_EXTRA_CA_CERTS;
}
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
await import(new URL('./app.bundle.js', import.meta.url).href);
