// Mirror rules: parsed and validated once at start-up (an error names the offending value),
// then matched per request by a pure function. The proxy mechanism never mentions Go or npm.
import { ConfigError } from './errors.js';
import { PRESETS, findPreset, presetRouteFor, type Preset, type PresetRoute } from './presets.js';
import type { ModifyResponse } from './forwarder.js';
import { metadataRewriter, type Replacement } from './metadata.js';

/** GOPROXY separators: after ',' the next target is tried only on 404/410; after '|' on any failure. */
export type Separator = ',' | '|';

export type Target =
  | { readonly kind: 'origin'; readonly label: 'origin' }
  | { readonly kind: 'mirror'; readonly base: URL; readonly label: string };

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

function parseTargetUrl(text: string, spec: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`invalid mirror target ${JSON.stringify(text)} in ${JSON.stringify(spec)}: not a URL, a mirror name or "origin"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`invalid mirror target ${JSON.stringify(text)} in ${JSON.stringify(spec)}: only http and https URLs`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigError(`invalid mirror target ${JSON.stringify(text)} in ${JSON.stringify(spec)}: no query, fragment or credentials`);
  }
  return url;
}

/** How a target is named in -v lines, logs and error bodies: host and path, no scheme. */
const labelOf = (base: URL): string => base.host + base.pathname.replace(/\/$/, '');

/** Splits "a|b,origin" into hops, resolving names through `resolve`. */
function parseChain(text: string, spec: string, resolve: (name: string) => URL | undefined): Hop[] {
  const tokens = text.split(/([,|])/);
  const hops: Hop[] = [];
  for (let i = 0; i < tokens.length; i += 2) {
    const word = tokens[i]!.trim();
    const via = i === 0 ? undefined : (tokens[i - 1] as Separator);
    if (!word) throw new ConfigError(`empty mirror target in ${JSON.stringify(spec)}`);
    let target: Target;
    if (word === 'origin') target = { kind: 'origin', label: 'origin' };
    else {
      const base = resolve(word) ?? parseTargetUrl(word, spec);
      target = { kind: 'mirror', base, label: labelOf(base) };
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

function withMetadata(route: Pick<PresetRoute, 'isMetadata'>, pathPrefix: string, pairs: Map<string, Replacement[]>) {
  return route.isMetadata && pairs.size ? { modifyResponse: metadataRewriter(route.isMetadata, pathPrefix, pairs) } : {};
}

function presetRules(preset: Preset, chainText: string, spec: string): Rule[] {
  const rootOf = (name: string): string => {
    const named = preset.mirrors[name];
    if (named !== undefined) return named;
    if (!/^https?:\/\//.test(name)) {
      throw new ConfigError(
        `unknown ${preset.name} mirror ${JSON.stringify(name)} in ${JSON.stringify(spec)}; known: ${Object.keys(preset.mirrors).join(', ')}, origin, or a URL`,
      );
    }
    return parseTargetUrl(name, spec).href; // a user URL is the mirror's root, like a named one
  };
  return preset.routes.map((route) => {
    const pairs = new Map<string, Replacement[]>();
    const chain = parseChain(chainText, spec, (name) => {
      const root = rootOf(name);
      const base = new URL(root.replace(/\/$/, '') + route.mount);
      pairs.set(labelOf(base), canonicalPairs(preset, root));
      return base;
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
  const host = (slash < 0 ? key : key.slice(0, slash)).toLowerCase();
  const pathPrefix = slash < 0 ? '' : key.slice(slash).replace(/\/+$/, '');
  if (!HOST_RE.test(host)) throw new ConfigError(`invalid host ${JSON.stringify(host)} in mirror rule ${JSON.stringify(spec)}`);
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
    throw new ConfigError(
      `unknown preset ${JSON.stringify(spec)}; presets are ${PRESETS.map((p) => p.name).join(', ')}, or write a rule HOST[/PATH]=TARGETS`,
    );
  }
  if (!value) throw new ConfigError(`mirror rule ${JSON.stringify(spec)} has no targets`);
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
