// Mirror rules: parsed and validated once at start-up (an error names the offending value),
// then matched per request by a pure function. The proxy mechanism never mentions Go or npm.
import { ConfigError } from './errors.js';
import { PRESETS, findPreset, presetRouteFor, type Preset, type PresetRoute } from './presets.js';
import type { Separator } from './chain.js';
import type { ModifyResponse } from './forwarder.js';
import { metadataRewriter, type Replacement } from './metadata.js';

export type { Separator } from './chain.js';

export type Target =
  | { readonly kind: 'origin'; readonly label: 'origin' }
  | {
      readonly kind: 'mirror';
      /** Never with credentials: this URL is printed, logged and traced. */
      readonly base: URL;
      readonly label: string;
      /** `Basic …` from the credentials the user wrote in the target URL; sent to this target only. */
      readonly authorization?: string;
    };

export interface Hop {
  readonly target: Target;
  /** How this hop is reached from the previous one (undefined for the first). */
  readonly via?: Separator;
}

export interface Rule {
  /** Lower-case host, with ':port' only when the user wrote one. */
  readonly host: string;
  /** '' or '/a/b' (no trailing slash); matched at a path-segment boundary. */
  readonly pathPrefix: string;
  readonly chain: readonly Hop[];
  readonly exhaustedStatus?: number;
  readonly mirrorPath?: (suffix: string) => string;
  readonly moduleOf?: (path: string) => string | undefined;
  /** Canonical metadata: rewrites a mirror's own URLs in its metadata back to the origin's. */
  readonly modifyResponse?: ModifyResponse;
  /** `detour check`: origin path to probe, and whether only a 2xx/3xx counts (presets) or any answer < 500 (raw). */
  readonly probe?: { readonly path: string; readonly strict: boolean };
  /** Where the rule came from, for -v and `presets`: "go", "raw". */
  readonly source: string;
}

export interface RuleMatch {
  readonly rule: Rule;
  /** The request path after the rule's prefix, query included. */
  readonly suffix: string;
}

const HOST_RE = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/;

/** A spec as error messages may show it: JSON-quoted (ConfigError removes any credentials). */
const q = (text: string) => JSON.stringify(text);

/** A target URL as the user wrote it, split into the URL detour may print and the credentials it must not. */
interface TargetUrl {
  readonly url: URL;
  readonly authorization?: string;
}

function parseTargetUrl(text: string, spec: string): TargetUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`invalid mirror target ${q(text)} in ${q(spec)}: not a URL, a mirror name or "origin"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`invalid mirror target ${q(text)} in ${q(spec)}: only http and https URLs`);
  }
  if (url.search || url.hash) {
    throw new ConfigError(`invalid mirror target ${q(text)} in ${q(spec)}: no query or fragment`);
  }
  if (!url.username && !url.password) return { url };
  // A team mirror's credentials (https://ci:TOKEN@nexus.corp/…): kept apart from the URL, as Basic auth.
  let user: string;
  let password: string;
  try {
    user = decodeURIComponent(url.username);
    password = decodeURIComponent(url.password);
  } catch {
    throw new ConfigError(`invalid mirror target ${q(text)} in ${q(spec)}: the credentials are not valid percent-encoding`);
  }
  url.username = '';
  url.password = '';
  return { url, authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

/** How a target is named in -v lines, logs and error bodies: host and path, no scheme. */
const labelOf = (base: URL): string => base.host + base.pathname.replace(/\/$/, '');

/** Splits "a|b,origin" into hops, resolving names through `resolve`. */
function parseChain(text: string, spec: string, resolve: (name: string) => TargetUrl | undefined): Hop[] {
  const tokens = text.split(/([,|])/);
  const hops: Hop[] = [];
  for (let i = 0; i < tokens.length; i += 2) {
    const word = tokens[i]!.trim();
    const via = i === 0 ? undefined : (tokens[i - 1] as Separator);
    if (!word) throw new ConfigError(`empty mirror target in ${q(spec)}`);
    let target: Target;
    if (word === 'origin') target = { kind: 'origin', label: 'origin' };
    else {
      const { url: base, authorization } = resolve(word) ?? parseTargetUrl(word, spec);
      target = { kind: 'mirror', base, label: labelOf(base), ...(authorization ? { authorization } : {}) };
    }
    hops.push(via ? { target, via } : { target });
  }
  return hops;
}

/** Where each of the preset's routes lives under a mirror root, and where it lives at the origin. */
function canonicalPairs(preset: Preset, mirrorRoot: string): Replacement[] {
  const pairs: Replacement[] = [];
  for (const r of preset.routes) {
    const from = mirrorRoot.replace(/\/$/, '') + r.mount;
    if (!pairs.some((p) => p.from === from)) pairs.push({ from, to: `https://${r.host}${r.pathPrefix}` });
  }
  return pairs;
}

function withMetadata(route: Pick<PresetRoute, 'isMetadata' | 'originDocument' | 'relativeLinks'>, pathPrefix: string, pairs: Map<string, Replacement[]>) {
  const { isMetadata, originDocument, relativeLinks } = route;
  if (!isMetadata || !pairs.size) return {};
  return { modifyResponse: metadataRewriter({ isMetadata, ...(originDocument ? { originDocument } : {}), ...(relativeLinks ? { relativeLinks } : {}) }, pathPrefix, pairs) };
}

/**
 * A URL given to a preset is the mirror's root. One that ends in a mount of the preset's routes is an index
 * URL (`pypi=https://m/simple`, `crates=https://rsproxy.cn/index/`): the root is the URL without that mount,
 * else the preset would ask `…/simple/simple/…`.
 */
function mirrorRoot(preset: Preset, url: URL): string {
  const path = url.pathname.replace(/\/+$/, '');
  const mounts = preset.routes.map((r) => r.mount).filter((m) => m !== '');
  const mount = mounts.sort((a, b) => b.length - a.length).find((m) => path.endsWith(m));
  return url.origin + (mount ? path.slice(0, -mount.length) : path);
}

function presetRules(preset: Preset, chainText: string, spec: string): Rule[] {
  const rootOf = (name: string): { root: string; authorization?: string } => {
    const named = preset.mirrors[name];
    if (named !== undefined) return { root: named };
    if (!/^https?:\/\//.test(name)) {
      throw new ConfigError(`unknown ${preset.name} mirror ${q(name)} in ${q(spec)}; known: ${Object.keys(preset.mirrors).join(', ')}, origin, or a URL`);
    }
    const { url, authorization } = parseTargetUrl(name, spec);
    return { root: mirrorRoot(preset, url), ...(authorization ? { authorization } : {}) };
  };
  return preset.routes.map((route) => {
    const pairs = new Map<string, Replacement[]>();
    const chain = parseChain(chainText, spec, (name) => {
      const { root, authorization } = rootOf(name);
      const url = new URL(root.replace(/\/$/, '') + route.mount);
      // Keyed by label, which never holds credentials: the pairs match the mirror's URLs as it writes them.
      pairs.set(labelOf(url), canonicalPairs(preset, root));
      return { url, ...(authorization ? { authorization } : {}) };
    });
    return {
      host: route.host,
      pathPrefix: route.pathPrefix,
      chain,
      source: preset.name,
      ...(preset.exhaustedStatus !== undefined ? { exhaustedStatus: preset.exhaustedStatus } : {}),
      ...(route.mirrorPath ? { mirrorPath: route.mirrorPath } : {}),
      ...(route.moduleOf ? { moduleOf: route.moduleOf } : {}),
      ...withMetadata(route, route.pathPrefix, pairs),
      ...(route.probe ? { probe: { path: route.probe, strict: true } } : {}),
    };
  });
}

function rawRule(spec: string, key: string, chainText: string): Rule {
  const slash = key.indexOf('/');
  const authority = (slash < 0 ? key : key.slice(0, slash)).toLowerCase();
  const pathPrefix = slash < 0 ? '' : key.slice(slash).replace(/\/+$/, '');
  // A trailing dot marks a literal single-label host (`intranet.=…`): without it, a name without a dot is a
  // preset misspelt or not yet built (`nmp`, `gems`), never silently a rule for a host nobody asks for.
  const [, name = '', port = ''] = /^([^:]*)(:\d{1,5})?$/.exec(authority) ?? [];
  const literal = name.endsWith('.');
  const host = (literal ? name.slice(0, -1) : name) + port;
  if (!HOST_RE.test(host)) throw new ConfigError(`invalid host ${q(authority)} in mirror rule ${q(spec)}`);
  if (!literal && !name.includes('.')) {
    throw new ConfigError(
      `unknown preset ${q(name)} in ${q(spec)}; presets are ${PRESETS.map((p) => p.name).join(', ')} (a rule for a host without a dot is written with a trailing dot: "${name}.=…")`,
    );
  }
  const chain = parseChain(chainText, spec, () => undefined);
  // A raw rule on a preset's host keeps that host's privacy guard and metadata canonicalisation.
  const known = presetRouteFor(host.split(':')[0]!);
  const pairs = new Map<string, Replacement[]>();
  for (const hop of chain) {
    if (hop.target.kind === 'mirror') pairs.set(hop.target.label, [{ from: hop.target.base.href.replace(/\/$/, ''), to: `https://${host}${pathPrefix}` }]);
  }
  return {
    host,
    pathPrefix,
    chain,
    source: 'raw',
    probe: { path: (pathPrefix || '') + (known?.probe && !pathPrefix ? known.probe : '/'), strict: false },
    ...(known?.moduleOf ? { moduleOf: known.moduleOf } : {}),
    ...(known ? withMetadata(known, pathPrefix, pairs) : {}),
  };
}

/** One -m value → rules. `go`, `go=aliyun|origin`, `npm=https://npm.example.cn`, `HOST[/PATH]=TARGETS`. */
export function parseMirrorSpec(spec: string): Rule[] {
  const eq = spec.indexOf('=');
  const key = (eq < 0 ? spec : spec.slice(0, eq)).trim();
  const value = eq < 0 ? undefined : spec.slice(eq + 1).trim();
  const preset = findPreset(key);
  if (preset) return presetRules(preset, value ?? preset.defaultChain, spec);
  if (value === undefined) {
    throw new ConfigError(`unknown preset ${q(spec)}; presets are ${PRESETS.map((p) => p.name).join(', ')}, or write a rule HOST[/PATH]=TARGETS`);
  }
  if (!value) throw new ConfigError(`mirror rule ${q(spec)} has no targets`);
  return [rawRule(spec, key, value)];
}

/** All -m values; a later rule for the same host and prefix replaces an earlier one. Empty list = every preset. */
export function parseMirrorSpecs(specs: readonly string[]): Rule[] {
  const list = specs.length ? specs : PRESETS.map((p) => p.name);
  const byKey = new Map<string, Rule>();
  for (const spec of list) for (const rule of parseMirrorSpec(spec)) byKey.set(rule.host + rule.pathPrefix, rule);
  return [...byKey.values()];
}

function hostMatches(rule: Rule, host: string, port: number): boolean {
  const [ruleHost, rulePort] = rule.host.split(':');
  return ruleHost === host && (rulePort === undefined || Number(rulePort) === port);
}

/** Is any rule about this host? Decides interception of a CONNECT. */
export function hostHasRule(rules: readonly Rule[], host: string, port: number): boolean {
  const h = host.toLowerCase();
  return rules.some((r) => hostMatches(r, h, port));
}

/** The longest matching HOST/PATH-PREFIX wins. `pathAndQuery` is the request target in origin form. */
export function matchRule(rules: readonly Rule[], host: string, port: number, pathAndQuery: string): RuleMatch | undefined {
  const h = host.toLowerCase();
  const q = pathAndQuery.indexOf('?');
  const path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
  let best: Rule | undefined;
  for (const rule of rules) {
    if (!hostMatches(rule, h, port)) continue;
    const p = rule.pathPrefix;
    const under = p === '' || path === p || path.startsWith(p + '/');
    if (under && (!best || p.length > best.pathPrefix.length)) best = rule;
  }
  return best && { rule: best, suffix: pathAndQuery.slice(best.pathPrefix.length) };
}

/** The URL a hop sends the request to. */
export function targetUrl(match: RuleMatch, hop: Hop, original: URL): URL {
  if (hop.target.kind === 'origin') return original;
  const q = match.suffix.indexOf('?');
  const suffixPath = q < 0 ? match.suffix : match.suffix.slice(0, q);
  const query = q < 0 ? '' : match.suffix.slice(q);
  const mapped = match.rule.mirrorPath ? match.rule.mirrorPath(suffixPath) : suffixPath;
  const url = new URL(hop.target.base.href);
  url.pathname = url.pathname.replace(/\/$/, '') + mapped;
  url.search = query;
  return url;
}

/** Hosts for the CA's name constraints. */
export function ruleHosts(rules: readonly Rule[]): string[] {
  return [...new Set(rules.map((r) => r.host.split(':')[0]!))];
}
