#!/usr/bin/env -S node --max-semi-space-size=1
// Entry point. The CA key's primes are searched for on the thread pool while the rest of the CLI loads.
// The rest is one file, dist/app.bundle.js (esbuild, `npm run build`): Node's ES module loader resolved and
// compiled ~60 files one by one, ~80 ms of start-up here. keys.js stays outside the bundle so that the
// search begun here is the one the CA takes.
// The shebang's --max-semi-space-size=1: streamed bodies are short-lived garbage, and V8's default 16 MiB
// semi-spaces let detour's RSS climb ~37 MiB during a large download for nothing (measured: peak 104 →
// 78 MiB for 256 MiB through a rewrite, throughput unchanged). It must be a start-up flag: V8 ignores it
// when set at run time.
import { prewarmCaKey } from './keys.js';

// --version, --help and the subcommands make no CA: the key search would only compete with loading for the
// 2 cores (--version took 1.1 s instead of 0.6 s on a busy machine). A hint from the first word alone: what
// the command line means is the parser's to say (src/args.ts), and a wrong guess costs time, never behaviour.
if (!['--version', '--help', '-h', 'check', 'presets'].includes(process.argv[2] ?? '')) prewarmCaKey();
await import(new URL('./app.bundle.js', import.meta.url).href);
