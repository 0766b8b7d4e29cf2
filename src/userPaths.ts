// Paths the user names for detour to write (--log-file, --trace, --ca-dir), checked before the child runs.
// detour creates no parent folders: Node 20's mkdirSync(p, { recursive: true }) never returns for a path
// under /proc (it spins at 100% CPU and ignores TERM and INT), and a typo should not grow a folder tree.
// Only --ca-dir itself is created, 0700, when its parent exists.
import { closeSync, constants, fchmodSync, fstatSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from './errors.js';

const WHY: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EROFS: 'read-only file system',
  EISDIR: 'is a folder',
  ENOTDIR: 'a part of the path is not a folder',
  ENXIO: 'a FIFO with no reader',
  ENOSPC: 'no space left',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
};

/** The reason in words. `made`: the folder above exists, so ENOENT means this file system makes nothing there (/proc). */
function why(e: unknown, made = false): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (!code) return (e as Error).message;
  return `${made && code === 'ENOENT' ? 'cannot be created there' : (WHY[code] ?? 'cannot use it')} (${code})`;
}

/** The folder a file or folder is to be made in must exist already. */
function parentMustExist(path: string, what: string): void {
  const parent = dirname(resolve(path));
  let isDir: boolean;
  try {
    isDir = statSync(parent).isDirectory();
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ConfigError(`${what}: ${missing ? `folder ${parent} does not exist (detour creates no parent folders)` : why(e)}`);
  }
  if (!isDir) throw new ConfigError(`${what}: ${parent} is not a folder`);
}

/**
 * Opens FILE to write ('a' appends, 'w' truncates), mode 0600 for a regular file it makes or finds (the log
 * and the trace name every URL the command asked for). A FIFO must already have a reader: opening it
 * would otherwise block forever. `regularOnly`: refuse devices, FIFOs and folders (the trace is rewritten in place).
 */
export function openUserFile(file: string, flag: 'a' | 'w', option: string, regularOnly = false): number {
  const what = `cannot write ${option} ${file}`;
  parentMustExist(file, what);
  let existing: ReturnType<typeof statSync> | undefined;
  try {
    existing = statSync(file);
  } catch {
    // made below
  }
  if (existing && regularOnly && !existing.isFile()) throw new ConfigError(`${what}: ${existing.isDirectory() ? 'it is a folder' : 'not a regular file'}`);
  try {
    if (existing?.isFIFO()) closeSync(openSync(file, constants.O_WRONLY | constants.O_NONBLOCK));
    const fd = openSync(file, flag, 0o600);
    // Never chmod what is not a plain file: as root, `--log-file /dev/null` would otherwise break /dev/null.
    if (fstatSync(fd).isFile()) fchmodSync(fd, 0o600);
    return fd;
  } catch (e) {
    throw new ConfigError(`${what}: ${why(e, true)}`);
  }
}

/** --ca-dir: the folder itself is made (0700) when its parent exists; nothing above it is. */
export function makeUserDir(dir: string, option: string): void {
  const what = `cannot use ${option} ${dir}`;
  try {
    if (statSync(dir).isDirectory()) return;
    throw new ConfigError(`${what}: not a folder`);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
  }
  parentMustExist(dir, what);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new ConfigError(`${what}: ${why(e, true)}`);
  }
}
