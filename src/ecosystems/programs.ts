// Where an ecosystem's tool lives: the first executable of a name on a PATH value, as execvp finds it. Shared
// by the modules that look for their tool before a run (go for its root, maven for mvn and java); the core has
// its own (libcurlCa.ts), as no ecosystem imports the core.
import { realpathSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The first executable `name` in the folders of `path`, as written there (links not resolved). stat without
 * throwing: a thrown ENOENT for each PATH entry before the tool's cost ~3.5 ms over 11 entries (measured for go).
 */
export function onPath(name: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    const s = statSync(file, { throwIfNoEntry: false });
    if (s?.isFile() && s.mode & 0o111) return file;
  }
  return undefined;
}

/** The same, symbolic links resolved (a tool that finds its own files from its real location). */
export function realOnPath(name: string, path: string | undefined): string | undefined {
  const file = onPath(name, path);
  try {
    return file && realpathSync.native(file);
  } catch {
    return undefined;
  }
}
