// detour's own version, from its package.json (next to dist/, where the bundle runs from). Its own file: the
// answer to --version needs nothing else of detour.
import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? '';
  } catch {
    return '';
  }
}
