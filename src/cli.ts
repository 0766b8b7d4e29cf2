#!/usr/bin/env -S node --max-semi-space-size=1
// Entry point. The rest is one file, dist/app.bundle.js (esbuild, `npm run build`): Node's ES module loader
// resolved and compiled ~60 files one by one, ~80 ms of start-up here.
// The shebang's --max-semi-space-size=1: streamed bodies are short-lived garbage, and V8's default 16 MiB
// semi-spaces let detour's RSS climb ~37 MiB during a large download for nothing (measured: peak 104 →
// 78 MiB for 256 MiB through a rewrite, throughput unchanged). It must be a start-up flag: V8 ignores it
// when set at run time.
// Node ≥ 22.1 can keep the bundle's compiled code between runs (module.enableCompileCache, in Node's own cache
// folder under the system temp dir); Node 20 has no such function and this line does nothing there.
import nodeModule from 'node:module';

(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
await import(new URL('./app.bundle.js', import.meta.url).href);
