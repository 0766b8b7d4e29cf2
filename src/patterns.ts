// Private-host patterns: --direct (GOPRIVATE glob syntax) plus what the parent's environment marks private
// (the ecosystems' own settings, Go's GOPRIVATE and GONOPROXY, and NO_PROXY).
// A match means: never decrypted, never sent to a mirror.
import { inheritedDirect } from './ecosystems/index.js';

interface Pattern {
  /** The text the user wrote, for messages and for the child's GOPRIVATE. */
  readonly source: string;
  /** Number of '/'-separated elements: a one-element pattern can be decided from the host alone. */
  readonly elements: number;
  test(path: string): boolean;
}

/** Go's path.Match for one pattern: '*' and '?' never cross '/', [..] classes allowed. */
function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) throw new Error(`unterminated [ in pattern ${JSON.stringify(glob)}`);
      let cls = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
      if (cls.startsWith('^')) cls = '^' + cls.slice(1);
      re += `[${cls}]`;
      i = end;
    } else if (c === '\\' && i + 1 < glob.length) re += '\\' + glob[++i];
    else re += c.replace(/[.+^${}()|\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'i');
}

/** GOPRIVATE semantics: the pattern matches the first N path elements of the target, N = its element count. */
export function goPattern(source: string): Pattern {
  const clean = source.replace(/\/+$/, '');
  const elements = clean.split('/').length;
  const re = globRegExp(clean);
  return {
    source,
    elements,
    test: (path) => re.test(path.split('/').slice(0, elements).join('/')),
  };
}

/** NO_PROXY semantics (curl's): "example.com" and ".example.com" match the host and its subdomains. */
export function noProxyPattern(entry: string): Pattern | undefined {
  let host = entry.trim().toLowerCase();
  if (!host || host === '*' || host.includes('/')) return undefined; // '*' would disable detour; CIDRs unsupported
  host = host.replace(/^\[(.*)\](:\d+)?$/, '$1').replace(/^([^:]+):\d+$/, '$1').replace(/^\*?\./, '');
  return {
    source: entry.trim(),
    elements: 1,
    test: (path) => {
      const h = path.split('/')[0]!.toLowerCase();
      return h === host || h.endsWith('.' + host);
    },
  };
}

export function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export class DirectList {
  /** Both lists, made once: they are read for every request. */
  private readonly all: readonly Pattern[];

  constructor(
    /** Patterns given with --direct: ecosystems may pass these on to their tools (Go's GOPRIVATE). */
    readonly own: readonly Pattern[],
    /** Patterns inherited from the parent's environment: the ecosystems' (Go's GOPRIVATE, GONOPROXY) and NO_PROXY. */
    readonly inherited: readonly Pattern[],
  ) {
    this.all = [...own, ...inherited];
  }

  static from(direct: string[], parentEnv: NodeJS.ProcessEnv): DirectList {
    const own = direct.flatMap(splitList).map(goPattern);
    const inherited = [
      ...inheritedDirect(parentEnv).map(goPattern),
      ...splitList(parentEnv.NO_PROXY ?? parentEnv.no_proxy)
        .map(noProxyPattern)
        .filter((p): p is Pattern => p !== undefined),
    ];
    return new DirectList(own, inherited);
  }

  /** For CONNECT, where only the host is known: host-only patterns decide. */
  matchesHost(host: string): boolean {
    return this.all.some((p) => p.elements === 1 && p.test(host));
  }

  /** For a decrypted or plain request: host plus path, or a Go module path. */
  matchesPath(hostAndPath: string): boolean {
    if (!this.all.length) return false;
    const path = hostAndPath.replace(/^\/+/, '');
    return this.all.some((p) => p.test(path));
  }

  get ownSources(): string[] {
    return this.own.map((p) => p.source);
  }
}
