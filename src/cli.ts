#!/usr/bin/env node
// Entry point. The rest is one file, dist/app.bundle.js (esbuild, `npm run build`): Node's ES module loader
// resolved and compiled ~60 files one by one, ~80 ms of start-up here.
// No V8 flag in the shebang: any V8 flag makes Node refuse its built-in code cache (see main.ts,
// keepYoungGenerationSmall, for the young-generation limit that the shebang once set).
// Node ≥ 22.1 can keep the bundle's compiled code between runs (module.enableCompileCache, in Node's own cache
// folder under the system temp dir); Node 20 has no such function and this line does nothing there.
import nodeModule from 'node:module';

(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
await import(new URL('./app.bundle.js', import.meta.url).href);
