#!/usr/bin/env -S node --max-semi-space-size=1
// Entry point. RSA key generation is the slowest part of start-up, so it starts here, on the thread
// pool, before the rest of the CLI (yargs, node-forge…) is even loaded.
// The shebang's --max-semi-space-size=1: streamed bodies are short-lived garbage, and V8's default 16 MiB
// semi-spaces let detour's RSS climb ~37 MiB during a large download for nothing (measured: peak 104 →
// 78 MiB for 256 MiB through a rewrite, throughput unchanged). It must be a start-up flag: V8 ignores it
// when set at run time.
import { prewarmCaKey } from './keys.js';

prewarmCaKey();
await import('./app.js');
