// The CA file and CA directory compiled into the libcurl a program loads, read from the library file itself:
// no process is run. curl's configure writes them as the string literals CURL_CA_BUNDLE (--with-ca-bundle)
// and CURL_CA_PATH (--with-ca-path); lib/url.c (Curl_init_userdefined) makes them every handle's default
// CAINFO and CAPATH. They differ by distribution: Debian's libcurl has both (/etc/ssl/certs/ca-certificates.crt
// and /etc/ssl/certs), Debian's libcurl-gnutls only the directory, and configure's own detection sets no
// directory once it has found a bundle (acinclude.m4, CURL_CHECK_CA_BUNDLE: `capath="no"`), which is what
// Fedora-style and most source builds get. Nothing here guesses: an answer is given only when the program's
// libcurl is found the way the dynamic loader finds it and its paths are unambiguous; anything else is
// `undefined`, and the caller keeps its safe layout.
import { closeSync, openSync, readFileSync, readSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';

export interface CompiledCa {
  /** CURL_CA_BUNDLE: an existing file holding PEM certificates. */
  readonly file?: string;
  /** CURL_CA_PATH: an existing directory holding c_rehash-style `<subject hash>.<n>` entries. */
  readonly dir?: string;
}

const HASHED = /^[0-9a-f]{8}\.\d+$/;
const SSL_CERT_DIR = Buffer.from('\0SSL_CERT_DIR\0');
const BEGIN = Buffer.from('-----BEGIN CERTIFICATE-----');
const LIBCURL = /^libcurl(-gnutls|-nss|-openssl)?\.so\.\d+$/;

/** stat without an exception for a missing file: most paths tried here do not exist, and each Error costs ~25 µs. */
function stat(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** The file `name` resolves to on PATH, as execvp would find it (symbolic links resolved). */
export function onPath(name: string, pathVar: string | undefined): string | undefined {
  for (const dir of (pathVar ?? '').split(':')) {
    const file = join(dir || '.', name);
    const s = stat(file);
    if (s?.isFile() && s.mode & 0o111) {
      try {
        return realpathSync.native(file);
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

interface Elf {
  readonly machine: number;
  readonly needed: string[];
  readonly rpath: string[];
  readonly runpath: string[];
  /** File offset and size of .rodata, where string literals are (undefined without section headers). */
  readonly rodata?: readonly [number, number];
}

function readAt(fd: number, offset: number, length: number): Buffer {
  const b = Buffer.alloc(Math.max(0, Math.min(length, 16 << 20)));
  return b.subarray(0, readSync(fd, b, 0, b.length, offset));
}

/**
 * DT_NEEDED, DT_RPATH, DT_RUNPATH and .rodata of a 64-bit little-endian ELF file, read piecewise (a few KB of
 * git's 2.2 MB helper, not all of it).
 */
export function readElf(file: string): Elf | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const h = readAt(fd, 0, 64);
    if (h.length < 64 || h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2 || h[5] !== 1) return undefined;
    const u64 = (b: Buffer, at: number) => b.readUInt32LE(at) + b.readUInt32LE(at + 4) * 2 ** 32;
    const elf: { -readonly [K in keyof Elf]: Elf[K] } = { machine: h.readUInt16LE(18), needed: [], rpath: [], runpath: [] };
    const ph = readAt(fd, u64(h, 32), h.readUInt16LE(54) * h.readUInt16LE(56));
    const loads: { vaddr: number; offset: number; size: number }[] = [];
    let dynamic: Buffer | undefined;
    for (let p = 0; p + 56 <= ph.length; p += h.readUInt16LE(54)) {
      const type = ph.readUInt32LE(p);
      if (type === 1) loads.push({ offset: u64(ph, p + 8), vaddr: u64(ph, p + 16), size: u64(ph, p + 32) });
      if (type === 2) dynamic = readAt(fd, u64(ph, p + 8), u64(ph, p + 32));
    }
    const entries: [number, number][] = [];
    for (let p = 0; dynamic && p + 16 <= dynamic.length; p += 16) {
      const tag = dynamic.readInt32LE(p + 4) < 0 ? -1 : u64(dynamic, p); // the tags read here are small and positive
      if (tag === 0) break;
      entries.push([tag, u64(dynamic, p + 8)]);
    }
    const strtab = entries.find(([tag]) => tag === 5)?.[1];
    const strsz = entries.find(([tag]) => tag === 10)?.[1] ?? 0;
    const load = loads.find((l) => strtab !== undefined && strtab >= l.vaddr && strtab < l.vaddr + l.size);
    if (dynamic && (strtab === undefined || !load)) return undefined;
    const strings = load && strtab !== undefined ? readAt(fd, strtab - load.vaddr + load.offset, strsz) : Buffer.alloc(0);
    const str = (off: number) => strings.toString('utf8', off, strings.indexOf(0, off) < 0 ? strings.length : strings.indexOf(0, off));
    for (const [tag, val] of entries) {
      if (tag === 1) elf.needed.push(str(val));
      else if (tag === 15) elf.rpath.push(...str(val).split(':'));
      else if (tag === 29) elf.runpath.push(...str(val).split(':'));
    }
    const shentsize = h.readUInt16LE(58);
    const sh = readAt(fd, u64(h, 40), shentsize * h.readUInt16LE(60));
    const shstr = h.readUInt16LE(62) * shentsize;
    if (shentsize >= 64 && shstr + 64 <= sh.length) {
      const names = readAt(fd, u64(sh, shstr + 24), u64(sh, shstr + 32));
      for (let p = 0; p + 64 <= sh.length; p += shentsize) {
        const at = sh.readUInt32LE(p);
        if (names.toString('latin1', at, at + 8) === '.rodata\0') elf.rodata = [u64(sh, p + 24), u64(sh, p + 32)];
      }
    }
    return elf;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

let ldCacheFile: Buffer | null | undefined;

/** The paths glibc's /etc/ld.so.cache gives for `soname` (format glibc-ld.so.cache1.1: 48-byte header, 24-byte entries). */
function ldCache(soname: string): string[] {
  if (ldCacheFile === undefined) {
    try {
      ldCacheFile = readFileSync('/etc/ld.so.cache');
    } catch {
      ldCacheFile = null;
    }
  }
  const b = ldCacheFile;
  const base = b ? b.indexOf('glibc-ld.so.cache1.1') : -1;
  if (!b || base < 0 || base + 48 > b.length) return [];
  const entries = base + 48;
  const end = Math.min(b.length, entries + b.readUInt32LE(base + 20) * 24);
  // Where the name sits in the string table (a key may share the tail of a value: /lib/…/libcurl.so.4), then
  // the entries whose key field (4 bytes into each) holds that offset, found by a native search for its bytes:
  // no interpreted loop over the ~1,000 entries.
  const name = Buffer.from(`${soname}\0`);
  const found: string[] = [];
  for (let at = b.indexOf(name, end); at >= 0; at = b.indexOf(name, at + 1)) {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(at - base);
    for (let p = b.indexOf(key, entries); p >= 0 && p < end; p = b.indexOf(key, p + 1)) {
      if ((p - entries) % 24 !== 4) continue;
      const value = base + b.readUInt32LE(p + 4);
      found.push(b.toString('utf8', value, b.indexOf(0, value)));
    }
  }
  return found;
}

function machineOf(file: string): number | undefined {
  if (!stat(file)?.isFile()) return undefined;
  const head = Buffer.alloc(20);
  try {
    const fd = openSync(file, 'r');
    try {
      if (readSync(fd, head, 0, 20, 0) < 20) return undefined;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  return head.readUInt32BE(0) === 0x7f454c46 && head[4] === 2 ? head.readUInt16LE(18) : undefined;
}

/** Where the dynamic loader finds `soname` for this program: RPATH (without RUNPATH), LD_LIBRARY_PATH, RUNPATH, ld.so.cache, the default directories. */
function resolveLibrary(soname: string, elf: Elf, origin: string, env: NodeJS.ProcessEnv): string | undefined {
  const expand = (dirs: string[]) => dirs.filter(Boolean).map((d) => d.replace(/\$(\{ORIGIN\}|ORIGIN)/g, origin));
  const dirs = [
    ...(elf.runpath.length ? [] : expand(elf.rpath)),
    ...expand((env.LD_LIBRARY_PATH ?? '').split(/[:;]/)),
    ...expand(elf.runpath),
  ];
  const candidates = [
    ...dirs.map((d) => join(d, soname)),
    ...ldCache(soname),
    ...['/lib64', '/usr/lib64', '/lib', '/usr/lib', '/usr/local/lib'].map((d) => join(d, soname)),
  ];
  return candidates.find((file) => machineOf(file) === elf.machine);
}

/** NUL-delimited absolute paths in a binary: where string literals such as CURL_CA_PATH sit. */
const NUL_SLASH = Buffer.from('\0/');
function absolutePaths(b: Buffer): string[] {
  const out = new Set<string>();
  for (let i = b.indexOf(NUL_SLASH); i >= 0; i = b.indexOf(NUL_SLASH, i + 1)) {
    const end = b.indexOf(0, i + 1);
    if (end < 0 || end - i > 256) continue;
    const s = b.toString('latin1', i + 1, end);
    if (/^\/[\w.+/-]+$/.test(s)) out.add(s.replace(/(.)\/+$/, '$1'));
  }
  return [...out];
}

/** Whether a file holds a PEM certificate in its first 64 KiB (a bundle may open with comments). */
function holdsPem(file: string): boolean {
  try {
    const fd = openSync(file, 'r');
    try {
      return readAt(fd, 0, 64 * 1024).includes(BEGIN);
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

const entriesOf = new Map<string, Set<string> | undefined>();
export function hashedEntries(dir: string): Set<string> | undefined {
  if (!entriesOf.has(dir)) {
    try {
      entriesOf.set(dir, new Set(readdirSync(dir).filter((n) => HASHED.test(n))));
    } catch {
      entriesOf.set(dir, undefined);
    }
  }
  return entriesOf.get(dir);
}

/**
 * The CA file and directory compiled into the libcurl `program` (found on the child's PATH) loads. Undefined
 * when unknown: the program or its libcurl not found, not a 64-bit little-endian ELF, libcurl linked
 * statically (the TLS library's own default paths would then be in the same file), a TLS library built into
 * the libcurl file (it names `SSL_CERT_DIR`, OpenSSL's variable), or more than one candidate of a kind.
 */
export function libcurlCompiledCa(program: string, env: NodeJS.ProcessEnv): CompiledCa | undefined {
  const exe = program.includes('/') ? program : onPath(program, env.PATH);
  if (!exe) return undefined;
  const elf = readElf(exe);
  const soname = elf?.needed.find((n) => LIBCURL.test(n));
  const lib = elf && soname ? resolveLibrary(soname, elf, dirname(exe), env) : undefined;
  const libElf = lib ? readElf(lib) : undefined;
  if (!lib || !libElf) return undefined;
  let b: Buffer;
  try {
    if (libElf.rodata) {
      const fd = openSync(lib, 'r');
      try {
        b = readAt(fd, libElf.rodata[0] - 1, libElf.rodata[1] + 1); // from the NUL before the first string
      } finally {
        closeSync(fd);
      }
    } else b = readFileSync(lib);
  } catch {
    return undefined;
  }
  if (b.includes(SSL_CERT_DIR)) return undefined;
  const files: string[] = [];
  const dirs: string[] = [];
  for (const path of absolutePaths(b)) {
    const s = stat(path);
    if (s?.isFile() && holdsPem(path)) files.push(path);
    else if (s?.isDirectory() && hashedEntries(path)?.size) dirs.push(path);
  }
  if (files.length > 1 || dirs.length > 1) return undefined;
  return { ...(files[0] ? { file: files[0] } : {}), ...(dirs[0] ? { dir: dirs[0] } : {}) };
}

/** Where git's HTTPS helper lives: GIT_EXEC_PATH, else beside the git on PATH (lib/git-core, libexec/git-core). */
export function gitRemoteHttps(env: NodeJS.ProcessEnv): string | undefined {
  const git = onPath('git', env.PATH);
  const dirs = [env.GIT_EXEC_PATH, ...(git ? ['lib/git-core', 'libexec/git-core'].map((d) => join(dirname(git), '..', d)) : [])];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = join(dir, 'git-remote-https');
    if (stat(file)?.isFile()) return realpathSync.native(file);
  }
  return undefined;
}
