// Options from three layers — config file, DETOUR_* variables, flags (flags win, a layer that sets a
// list replaces the lower layer's list) — parsed and validated once. Every error names the bad value.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './errors.js';
import { type ConnectTo, type Upstream, upstreamFromEnv } from './outbound.js';
import { DirectList } from './patterns.js';
import { parseMirrorSpecs, type Rule } from './rules.js';
import { readExtraRoots } from './trust.js';

/** The options as the user can write them (long names, as in the config file). */
export interface Options {
  mirror?: string[];
  direct?: string[];
  upstream?: string;
  'no-upstream'?: boolean;
  'upstream-ca'?: string[];
  'connect-to'?: string[];
  timeout?: number;
  'idle-timeout'?: number;
  verbose?: boolean;
  'log-file'?: string;
  trace?: string;
  'ca-dir'?: string;
}

type Kind = 'list' | 'string' | 'number' | 'boolean';
export const OPTION_KINDS: Readonly<Record<keyof Options, Kind>> = {
  mirror: 'list',
  direct: 'list',
  upstream: 'string',
  'no-upstream': 'boolean',
  'upstream-ca': 'list',
  'connect-to': 'list',
  timeout: 'number',
  'idle-timeout': 'number',
  verbose: 'boolean',
  'log-file': 'string',
  trace: 'string',
  'ca-dir': 'string',
};

export interface Config {
  readonly rules: Rule[];
  readonly direct: DirectList;
  readonly upstream: Upstream;
  /** PEM texts of --upstream-ca files. */
  readonly extraRoots: string[];
  readonly connectTo: ConnectTo[];
  readonly timeoutMs: number;
  readonly idleMs: number;
  readonly verbose: boolean;
  readonly logFile?: string;
  readonly trace?: string;
  readonly caDir?: string;
}

function coerce(key: string, kind: Kind, value: unknown, where: string): unknown {
  const bad = () => new ConfigError(`${where}: ${key} must be ${kind === 'list' ? 'a list of strings' : `a ${kind}`}, got ${JSON.stringify(value)}`);
  switch (kind) {
    case 'list':
      if (typeof value === 'string') return [value];
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
      throw bad();
    case 'string':
      if (typeof value === 'string') return value;
      throw bad();
    case 'number': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n === 'number' && Number.isInteger(n) && n > 0) return n;
      throw bad();
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === '1' || value === 'true') return true;
      if (value === '0' || value === 'false' || value === '') return false;
      throw bad();
  }
}

function fromObject(obj: Record<string, unknown>, where: string): Options {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const kind = OPTION_KINDS[k as keyof Options];
    if (!kind) throw new ConfigError(`${where}: unknown option ${JSON.stringify(k)}`);
    out[k] = coerce(k, kind, v, where);
  }
  return out as Options;
}

export function readConfigFile(file: string): Options {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new ConfigError(`config file ${file} must hold a JSON object`);
  return fromObject(data as Record<string, unknown>, `config file ${file}`);
}

/** DETOUR_MIRROR, DETOUR_NO_UPSTREAM, ...; list values are separated by whitespace (rules contain ',' and '|'). */
export function optionsFromEnv(env: NodeJS.ProcessEnv): Options {
  const obj: Record<string, unknown> = {};
  for (const [key, kind] of Object.entries(OPTION_KINDS)) {
    const v = env[`DETOUR_${key.toUpperCase().replace(/-/g, '_')}`];
    if (v === undefined) continue;
    obj[key] = kind === 'list' ? v.split(/\s+/).filter(Boolean) : v;
  }
  return fromObject(obj, 'environment');
}

export function defaultConfigFile(env: NodeJS.ProcessEnv): string | undefined {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  const file = join(base, 'detour', 'config.json');
  return existsSync(file) ? file : undefined;
}

/** HOST:PORT:HOST2:PORT2, IPv6 in brackets; empty HOST or PORT on the left means any. */
export function parseConnectTo(spec: string): ConnectTo {
  const m = /^(\[[^\]]*\]|[^:[\]]*):(\d*):(\[[^\]]*\]|[^:[\]]*):(\d*)$/.exec(spec);
  const bad = () => new ConfigError(`invalid --connect-to ${JSON.stringify(spec)}: expected HOST:PORT:HOST2:PORT2`);
  if (!m) throw bad();
  const unbracket = (h: string) => h.replace(/^\[|\]$/g, '').toLowerCase();
  const port = (p: string) => {
    if (p === '') return undefined;
    const n = Number(p);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw bad();
    return n;
  };
  return { from: { host: unbracket(m[1]!), port: port(m[2]!) }, to: { host: unbracket(m[3]!), port: port(m[4]!) ?? 0 } };
}

function parseUpstream(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`invalid --upstream ${JSON.stringify(text)}: not a URL`);
  }
  if (!/^(https?|socks[45]?h?):$/.test(url.protocol)) {
    throw new ConfigError(`invalid --upstream ${JSON.stringify(text)}: scheme must be http, https or socks`);
  }
  return url;
}

/** Merges file < environment < flags, then validates everything once. */
export function resolveConfig(flags: Options & { config?: string }, env: NodeJS.ProcessEnv): Config {
  const fromEnv = optionsFromEnv(env);
  const file = flags.config ?? env.DETOUR_CONFIG ?? defaultConfigFile(env);
  const fromFile = file ? readConfigFile(file) : {};
  const o: Options = { ...fromFile, ...fromEnv, ...stripUndefined(flags) };

  const upstream: Upstream = o['no-upstream']
    ? { kind: 'none' }
    : o.upstream
      ? { kind: 'fixed', url: parseUpstream(o.upstream) }
      : upstreamFromEnv(env);
  const timeoutMs = o.timeout ?? 10_000;
  return {
    rules: parseMirrorSpecs(o.mirror ?? []),
    direct: DirectList.from(o.direct ?? [], env),
    upstream,
    extraRoots: readExtraRoots(o['upstream-ca'] ?? []),
    connectTo: (o['connect-to'] ?? []).map(parseConnectTo),
    timeoutMs,
    idleMs: o['idle-timeout'] ?? Math.max(timeoutMs, 60_000),
    verbose: o.verbose ?? false,
    ...(o['log-file'] ? { logFile: o['log-file'] } : {}),
    ...(o.trace ? { trace: o.trace } : {}),
    ...(o['ca-dir'] ? { caDir: o['ca-dir'] } : {}),
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && k !== 'config')) as Partial<T>;
}
