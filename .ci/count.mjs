// Counts the test results in tap's TAP output: each t.test() inside a test file is one test; a file that
// failed without any failing test inside (a crash, no tests) counts as one failure.
import { readFileSync } from 'node:fs';

const [file, status] = process.argv.slice(2);
const lines = readFileSync(file, 'utf8').split('\n');
let passed = 0, failed = 0, skipped = 0;
let fileFailures = 0;
for (const line of lines) {
  const inner = /^    (not )?ok \d+ - (.*)$/.exec(line);
  if (inner) {
    if (/# SKIP/i.test(inner[2])) skipped++;
    else if (inner[1]) { failed++; fileFailures++; }
    else passed++;
    continue;
  }
  const top = /^(not )?ok \d+ - /.exec(line);
  if (top) {
    if (top[1] && fileFailures === 0) failed++;
    fileFailures = 0;
  }
}
if (Number(status) !== 0 && failed === 0) failed = 1;
if (process.env.CI && skipped > 0) {
  console.log(`ci: ${skipped} test(s) skipped; a client the tests need is missing`);
  failed += skipped;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
