// V8's young-generation (scavenge) settings, chosen for what detour's memory holds while bodies stream.
//
// Every chunk Node's TLS decrypts (16 KiB) is a fresh ArrayBuffer, freed only once a scavenge has found it dead,
// and V8 starts a scavenge when the young generation's JS objects reach 80% of its capacity. Node's own stream
// and HTTP objects come to ~3 KiB per chunk, so ~500 chunks (8 MiB of dead buffers) passed between two
// scavenges, and a helper thread freed them later still: S1's 512 MiB rewrite peaked at 81 MiB, 25 above detour
// at rest. Hence, set once the child is spawned (main.ts, setRunTimeV8Flags) and read by V8 as it goes:
//  - no growth of the young generation (growth factor 1);
//  - scavenges and the freeing of dead buffers on the main thread: on a 2-core machine waking helper threads
//    cost more than the work, and buffers freed at once are reused while still in cache;
//  - a scavenge at 40% of the young generation, and at 10% while a body of more than 1 MiB streams.
// Measured with S1 (512 MiB through the rewrite; 9 interleaved runs, medians; 1-min load 1.8; 2026-12-02): peak
// RSS 81.4 → 66.4 MiB, detour's CPU 1.29 → 1.23 s, 445 → 469 MB/s; `node bench/run.mjs --only S1`, before and
// after alternated twice: 81.5/83.5 → 66.8/66.5 MiB (node floor 66–68, mitmdump 62.4–62.8), rewrite / fastest
// mitmdump 1.44/1.57 → 1.66/1.69. S2 (2,000 small GETs) unchanged: CPU 0.89 → 0.88 s (11 runs), with the 10%
// trigger for every request it cost ~3–6% more. Switching from V8's 80% straight to 10% left one long first
// cycle (peak 72 MiB), hence 40% outside large bodies. The 10% trigger with the helper threads on cost 6% more
// CPU and ~10% throughput; 5% while streaming gives 63.8 MiB for ~4% more CPU than 10%.
import { setFlagsFromString } from 'node:v8';

/**
 * The V8 majors whose flag table holds every flag here: 11 (Node 20, measured here) and 12 (Node 22; read in
 * V8's src/flags/flag-definitions.h). V8 answers a flag it does not know by printing "unrecognized flag" on
 * standard error, which detour shares with the child, and by ignoring the flags after it: on any other V8,
 * detour keeps V8's own settings (Node 23 and later: the young generation as V8 sizes it).
 */
const KNOWN_V8_MAJORS: readonly number[] = [11, 12];

/** V8's major version from process.versions.v8 ('11.3.244.8-node.33' → 11). */
export function v8Major(v8Version: string = process.versions.v8): number {
  return Number(v8Version.split('.')[0]);
}

export function knowsYoungGenerationFlags(v8Version: string = process.versions.v8): boolean {
  return KNOWN_V8_MAJORS.includes(v8Major(v8Version));
}

/** Set once after spawn (if known: above): they change V8's flag hash if given at start, which costs Node its code cache. */
export const RUN_TIME_V8_FLAGS =
  '--semi-space-growth-factor=1 --no-parallel-scavenge --no-concurrent-array-buffer-sweeping --minor-gc-task-trigger=40';

/** A body counts as bulk once this many bytes have passed; smaller ones leave little garbage behind. */
export const BULK_BODY_BYTES = 1024 * 1024;

const BULK = '--minor-gc-task-trigger=10';
const QUIET = '--minor-gc-task-trigger=40';

let streaming = 0;

const known = knowsYoungGenerationFlags();
const apply = () => known && setFlagsFromString(streaming ? BULK : QUIET);

/**
 * A body has passed BULK_BODY_BYTES: the bulk trigger until every such body has ended. Returns the function to
 * call when this one ends (further calls do nothing).
 */
export function bulkBodyStarted(): () => void {
  if (streaming++ === 0) apply();
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    if (--streaming === 0) apply();
  };
}
