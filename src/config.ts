// Options from four layers — flags, DETOUR_* variables, the project file (.detour.json here or in the nearest
// parent that has one), the user file — merged (a higher layer wins; a layer that sets a list replaces the
// lower layer's list), then parsed and validated once. Every error names the bad value and where it came from.
import { existsSync, lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { ConfigError } from './errors.js';
import { envName, OPTIONS, type Flags, type OptionSpec, type Options } from './options.js';
import { type ConnectTo, type Upstream, upstreamFromEnv } from './outbound.js';
import { DirectList } from './patterns.js';
import { parseMirrorSpecs, type Rule } from './rules.js';
import { readExtraRoots } from './trust.js';

export type { Options } from './options.js';

export const PROJECT_FILE = '.detour.json';

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
  /** The config files in effect, the one that wins first (project, then user). */
  readonly files: readonly string[];
}

const SETTABLE = OPTIONS.filter((o) => o.settable === 'anywhere') as readonly OptionSpec[];

/** One value checked against its option's kind. `subject` names it as the user wrote it: `--timeout`, `DETOUR_TIMEOUT`, `"timeout" in FILE`. */
function coerce(o: OptionSpec, value: unknown, subject: string): unknown {
  const got = `, got ${JSON.stringify(value)}`;
  switch (o.kind) {
    case 'list':
      if (typeof value === 'string') return [value];
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
      throw new ConfigError(`${subject} must be a list of strings${got}`);
    case 'string':
      if (typeof value === 'string' && value !== '') return value;
      throw new ConfigError(`${subject} must be a non-empty string${got}`);
    case 'number': {
      const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
      if (typeof n === 'number' && Number.isSafeInteger(n) && n > 0) return n;
      throw new ConfigError(`${subject} must be a positive whole number of milliseconds${got}`);
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === '1' || value === 'true') return true;
      if (value === '0' || value === 'false' || value === '') return false;
      throw new ConfigError(`${subject} must be true or false${got}`);
  }
}

/** Command-line flags (already split by the parser) as options. */
export function optionsFromFlags(flags: Flags): Options {
  const out: Record<string, unknown> = {};
  for (const o of SETTABLE) {
    const v = flags[o.name as keyof Flags];
    if (v !== undefined) out[o.name] = coerce(o, v, `--${o.name}`);
  }
  return out as Options;
}

/** DETOUR_MIRROR, DETOUR_NO_UPSTREAM, ...; list values are separated by whitespace (rules contain ',' and '|'). */
export function optionsFromEnv(env: NodeJS.ProcessEnv): Options {
  const out: Record<string, unknown> = {};
  for (const o of SETTABLE) {
    const v = env[envName(o)];
    // Set but empty (`DETOUR_UPSTREAM= detour …`, a CI template's blank) means unset, except for a flag.
    if (v === undefined || (o.kind !== 'boolean' && v.trim() === '')) continue;
    out[o.name] = coerce(o, o.kind === 'list' ? v.split(/\s+/).filter(Boolean) : v, envName(o));
  }
  return out as Options;
}

/** `${VAR}` from detour's own environment; an unset variable is an error naming it and the file. */
export function expandVars(text: string, env: NodeJS.ProcessEnv, subject: string): string {
  return text.replace(/\$\{([^}]*)\}?/g, (whole, name: string) => {
    if (!whole.endsWith('}') || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new ConfigError(`${subject}: ${JSON.stringify(whole)} is not a variable reference; write \${NAME}`);
    }
    const v = env[name];
    if (v === undefined) throw new ConfigError(`${subject} uses \${${name}}, which is not set in detour's environment`);
    return v;
  });
}

/**
 * A project file may say where detour writes (log, trace, CA folder) only inside its own folder: a cloned
 * repository must not make `detour -- …` overwrite the user's files. Symbolic links are refused there too.
 */
function checkInsideProject(path: string, projectDir: string, subject: string): void {
  const refuse = () => new ConfigError(`${subject}: a project file may only write inside its own folder (${projectDir}), got ${path}`);
  const root = realpathSync(projectDir);
  let parent: string;
  try {
    parent = realpathSync(dirname(path));
  } catch {
    parent = resolve(dirname(path)); // a missing folder is refused later, by name
  }
  if (parent !== root && !parent.startsWith(root + sep)) throw refuse();
  try {
    if (lstatSync(path).isSymbolicLink()) throw refuse();
  } catch (e) {
    if (e instanceof ConfigError) throw e;
  }
}

/** A config file's options: `${VAR}` expanded, relative paths resolved against the file's folder. */
export function readConfigFile(file: string, env: NodeJS.ProcessEnv, kind: 'project' | 'user' = 'user'): Options {
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
  const folder = dirname(file);
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(data as Record<string, unknown>)) {
    const o = SETTABLE.find((s) => s.name === key);
    if (!o) throw new ConfigError(`config file ${file}: unknown option ${JSON.stringify(key)}`);
    const subject = `${JSON.stringify(key)} in ${file}`;
    const expand = (v: unknown) => (typeof v === 'string' ? expandVars(v, env, subject) : v);
    let value = Array.isArray(raw) ? raw.map(expand) : expand(raw);
    value = coerce(o, value, subject);
    if (o.path) {
      const at = (p: string) => resolve(folder, p);
      value = Array.isArray(value) ? value.map(at) : at(value as string);
      if (kind === 'project' && o.path === 'write') checkInsideProject(value as string, folder, subject);
    }
    out[key] = value;
  }
  return out as Options;
}

/** $XDG_CONFIG_HOME/detour/config.json, else ~/.config/detour/config.json, when it exists. */
export function defaultConfigFile(env: NodeJS.ProcessEnv): string | undefined {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  const file = join(base, 'detour', 'config.json');
  return existsSync(file) ? file : undefined;
}

/** .detour.json in `cwd` or the nearest parent folder that has one. */
export function findProjectFile(cwd: string): string | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const file = join(dir, PROJECT_FILE);
    try {
      if (statSync(file).isFile()) return file;
    } catch {
      // none here: look further up
    }
    if (dirname(dir) === dir) return undefined;
  }
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

/** process.cwd() throws when the working directory was removed: then there is no project file to find. */
function workingDirectory(): string | undefined {
  try {
    return process.cwd();
  } catch {
    return undefined;
  }
}

const defined = (o: object) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** Merges user file < project file < DETOUR_* < flags, then validates everything once. */
export function resolveConfig(flags: Flags, env: NodeJS.ProcessEnv, cwd: string | undefined = workingDirectory()): Config {
  const fromFlags = optionsFromFlags(flags);
  const fromEnv = optionsFromEnv(env);
  const project = cwd === undefined ? undefined : findProjectFile(cwd);
  // --config (or DETOUR_CONFIG) replaces the user file; when it names the project file, that is read once.
  const named = (flags.config as string | undefined) ?? (env.DETOUR_CONFIG || undefined);
  const chosen = named ? (cwd === undefined ? named : resolve(cwd, named)) : defaultConfigFile(env);
  const user = chosen === project ? undefined : chosen;
  const fromProject = project ? readConfigFile(project, env, 'project') : {};
  const fromUser = user ? readConfigFile(user, env, 'user') : {};
  const o: Options = { ...defined(fromUser), ...defined(fromProject), ...defined(fromEnv), ...defined(fromFlags) };

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
    files: [project, user].filter((f): f is string => !!f),
  };
}
