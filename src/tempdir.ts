// The run's private folder (0700). Removed on every exit path: the 'exit' hook runs for normal exits,
// process.exit() after signals, and uncaught errors alike.
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function makeRunDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'detour-'));
  chmodSync(path, 0o700);
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    rmSync(path, { recursive: true, force: true });
  };
  process.once('exit', remove);
  return { path, remove };
}
