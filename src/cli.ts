#!/usr/bin/env node
// Entry point. RSA key generation is the slowest part of start-up, so it starts here, on the thread
// pool, before the rest of the CLI (yargs, node-forge…) is even loaded.
import { prewarmCaKey } from './keys.js';

prewarmCaKey();
await import('./app.js');
