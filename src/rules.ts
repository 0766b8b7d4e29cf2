// Mirror rules: parsed and validated once at start-up (an error names the offending value),
// then matched per request by a pure function. The proxy mechanism never mentions Go or npm.
import { ConfigError } from './errors.js';
import { PRESETS, findPreset, presetRouteFor, type Preset, type PresetRoute } from './presets.js';
import type { Separator } from './chain.js';
import type { ModifyResponse } from './plan.js';
import { metadataRewriter, type Replacement } from './metadata.js';
import { withCanonicalHeaders } from './canonicalHeaders.js';
import { ChallengeCredentials } from './challenge.js';

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
      /**
       * A URL-prefix proxy, written with a trailing `/https://` (`https://ghfast.top/https://`): the whole original
       * URL goes after `base` (`https://ghfast.top/https://github.com/o/r/…`), not the path after the rule's prefix.
       */
      readonly wholeUrl?: true;
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
  readonly mirrorPath?: (suffix: string) => string | undefined;
  readonly moduleOf?: (path: string) => string | undefined;
  /** Canonical metadata: rewrites a mirror's own URLs in its metadata back to the origin's. */
  readonly modifyResponse?: ModifyResponse;
  /** `detour check`: origin path to probe, and whether only a 2xx/3xx counts (presets) or any answer < 500 (raw). */
  readonly probe?: { readonly path: string; readonly strict: boolean };
  /** 401s detour answers with a credential from the challenge's issuer (kept per run, per target host). */
  readonly challenge?: ChallengeCredentials;
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
  /** Written with the URL-prefix marker; `url` is the base without it. */
  readonly wholeUrl?: true;
}

/** A target that ends in this takes the whole original URL after it, as the URL-prefix proxies lay out their paths. */
const URL_PREFIX_MARKER = '/https://';
/** The marker written some other way (`/https:/`, `/http://`, `/HTTPS://`): refused rather than read as a path. */
const NEAR_MARKER = /\/https?:\/*$/i;

/** `https://m/gh/https://` → the base `https://m/gh/` of a URL-prefix target; undefined for an ordinary base URL. */
function urlPrefixBase(url: URL, text: string, spec: string): URL | undefined {
  if (url.pathname.endsWith(URL_PREFIX_MARKER)) {
    const base = new URL(url.href);
    base.pathname = url.pathname.slice(0, -'https://'.length);
    return base;
  }
  if (NEAR_MARKER.test(url.pathname)) {
    throw new ConfigError(`invalid mirror target ${q(text)} in ${q(spec)}: a URL-prefix target ends in "/https://" (the whole original URL goes there)`);
  }
  return undefined;
}

function parseTargetUrl(text: string, spec: string): TargetUrl {
  const { url, authorization } = parseUrlAndCredentials(text, spec);
  const base = urlPrefixBase(url, text, spec);
  return { url: base ?? url, ...(authorization ? { authorization } : {}), ...(base ? { wholeUrl: true as const } : {}) };
}

function parseUrlAndCredentials(text: string, spec: string): TargetUrl {
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

/**
 * Splits "a|b,origin" into hops, resolving names through `resolve` (undefined: parse the word as a URL; null:
 * this mirror does not serve the route's host, and the hop is left out, the next one keeping its separator).
 */
function parseChain(text: string, spec: string, resolve: (name: string) => TargetUrl | null | undefined): Hop[] {
  const tokens = text.split(/([,|])/);
  const hops: Hop[] = [];
  for (let i = 0; i < tokens.length; i += 2) {
    const word = tokens[i]!.trim();
    const via = i === 0 ? undefined : (tokens[i - 1] as Separator);
    if (!word) throw new ConfigError(`empty mirror target in ${q(spec)}`);
    let target: Target;
    if (word === 'origin') target = { kind: 'origin', label: 'origin' };
    else {
      const resolved = resolve(word);
      if (resolved === null) continue;
      const { url: base, authorization, wholeUrl } = resolved ?? parseTargetUrl(word, spec);
      target = { kind: 'mirror', base, label: labelOf(base), ...(authorization ? { authorization } : {}), ...(wholeUrl ? { wholeUrl } : {}) };
    }
    hops.push(via && hops.length ? { target, via } : { target });
  }
  return hops;
}

/** Where a route's host lives at a mirror: under its root, or (mirrorBase) elsewhere, or nowhere. */
function routeBase(route: PresetRoute, mirrorRoot: string): URL | undefined {
  return route.mirrorBase ? route.mirrorBase(new URL(mirrorRoot)) : new URL(mirrorRoot.replace(/\/$/, '') + route.mount);
}

/**
 * Where each of the preset's routes lives under a mirror root, and where it lives at the origin. `route`
 * (the host the client asked) comes first: where routes share a mount (registry.npmjs.org and
 * registry.yarnpkg.com), the mirror's URLs name the host the client asked, not the preset's first.
 */
function canonicalPairs(preset: Preset, mirrorRoot: string, route: PresetRoute, wholeUrl: boolean): Replacement[] {
  const pairs: Replacement[] = [];
  for (const r of [route, ...preset.routes]) {
    let from: string;
    let to: string;
    if (wholeUrl) {
      // Under a URL-prefix proxy the origin's whole URL follows the root, whatever the route's prefix.
      [from, to] = [`${mirrorRoot}https://${r.host}`, `https://${r.host}`];
    } else {
      const base = r.mirrorBase ? r.mirrorBase(new URL(mirrorRoot)) : undefined;
      if (r.mirrorBase && !base) continue;
      [from, to] = [base ? base.href.replace(/\/$/, '') : mirrorRoot.replace(/\/$/, '') + r.mount, `https://${r.host}${r.pathPrefix}`];
    }
    if (!pairs.some((p) => p.from === from)) pairs.push({ from, to });
  }
  return pairs;
}

type Canonicalising = Pick<PresetRoute, 'isMetadata' | 'originDocument' | 'relativeLinks' | 'canonicalHeaders' | 'canonicalDocument'>;

function withMetadata(route: Canonicalising, pathPrefix: string, pairs: Map<string, Replacement[]>) {
  const { isMetadata, originDocument, relativeLinks, canonicalHeaders, canonicalDocument } = route;
  if (!pairs.size) return {};
  const documents = { ...(originDocument ? { originDocument } : {}), ...(canonicalDocument ? { canonicalDocument } : {}) };
  const body = isMetadata
    ? metadataRewriter({ isMetadata, ...documents, ...(relativeLinks ? { relativeLinks } : {}) }, pathPrefix, pairs)
    : undefined;
  const edit = canonicalHeaders?.length ? withCanonicalHeaders(canonicalHeaders, pairs, body) : body;
  return edit ? { modifyResponse: edit } : {};
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
  const rootOf = (name: string): { root: string; authorization?: string; wholeUrl?: true } => {
    const named = preset.mirrors[name];
    if (named === undefined && !/^https?:\/\//.test(name)) {
      throw new ConfigError(`unknown ${preset.name} mirror ${q(name)} in ${q(spec)}; known: ${Object.keys(preset.mirrors).join(', ')}, origin, or a URL`);
    }
    const { url, authorization, wholeUrl } = parseTargetUrl(named ?? name, spec);
    // Under a `*` prefix the path after it has lost the elements `*` matched (github.com/<owner>/<repo>/…).
    if (!wholeUrl && preset.routes.some((r) => r.pathPrefix.includes('*'))) {
      throw new ConfigError(
        `invalid ${preset.name} mirror ${q(name)} in ${q(spec)}: a URL-prefix proxy is written with a trailing "/https://" (this preset matches paths with "*", which a path-style mirror cannot lay out)`,
      );
    }
    // A URL-prefix root has no mounts to take off: the origin's whole URL follows it.
    const root = wholeUrl ? url.href : named ?? mirrorRoot(preset, url);
    return { root, ...(authorization ? { authorization } : {}), ...(wholeUrl ? { wholeUrl } : {}) };
  };
  const rules: Rule[] = [];
  for (const route of preset.routes) {
    const pairs = new Map<string, Replacement[]>();
    const chain = parseChain(chainText, spec, (name) => {
      const { root, authorization, wholeUrl } = rootOf(name);
      const url = wholeUrl ? new URL(root) : routeBase(route, root);
      if (!url) return null;
      // Keyed by label, which never holds credentials: the pairs match the mirror's URLs as it writes them.
      pairs.set(labelOf(url), canonicalPairs(preset, root, route, !!wholeUrl));
      // A mirror's credentials are for its own host, never for another host it is said to serve.
      return { url, ...(authorization && url.host === new URL(root).host ? { authorization } : {}), ...(wholeUrl ? { wholeUrl } : {}) };
    });
    // A host that no chosen mirror serves stays as without the preset: tunneled, never decrypted.
    if (route.mirrorBase && !chain.some((hop) => hop.target.kind === 'mirror')) continue;
    rules.push({
      host: route.host,
      pathPrefix: route.pathPrefix,
      chain,
      source: preset.name,
      ...(preset.exhaustedStatus !== undefined ? { exhaustedStatus: preset.exhaustedStatus } : {}),
      ...(route.mirrorPath ? { mirrorPath: route.mirrorPath } : {}),
      ...(route.moduleOf ? { moduleOf: route.moduleOf } : {}),
      ...withMetadata(route, route.pathPrefix, pairs),
      ...(route.probe ? { probe: { path: route.probe, strict: true } } : {}),
      ...(route.challenge ? { challenge: new ChallengeCredentials(route.challenge) } : {}),
    });
  }
  return rules;
}

function rawRule(spec: string, key: string, chainText: string): Rule {
  const slash = key.indexOf('/');
  const authority = (slash < 0 ? key : key.slice(0, slash)).toLowerCase();
  const pathPrefix = slash < 0 ? '' : key.slice(slash).replace(/\/+$/, '');
  // A trailing dot marks a literal single-label host (`intranet.=…`): without it, a name without a dot is a
  // preset misspelt or not yet built (`nmp`, `cpan`), never silently a rule for a host nobody asks for.
  const [, name = '', port = ''] = /^([^:]*)(:\d{1,5})?$/.exec(authority) ?? [];
  const literal = name.endsWith('.');
  const host = (literal ? name.slice(0, -1) : name) + port;
  if (!HOST_RE.test(host)) throw new ConfigError(`invalid host ${q(authority)} in mirror rule ${q(spec)}`);
  if (pathPrefix.split('/').some((e) => e.includes('*') && e !== '*')) {
    throw new ConfigError(`invalid path prefix ${q(pathPrefix)} in mirror rule ${q(spec)}: "*" stands for one whole path element (github.com/*/*/releases)`);
  }
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
    if (hop.target.kind !== 'mirror') continue;
    const { base, wholeUrl } = hop.target;
    pairs.set(hop.target.label, [wholeUrl ? { from: `${base.href}https://${host}`, to: `https://${host}` } : { from: base.href.replace(/\/$/, ''), to: `https://${host}${pathPrefix}` }]);
  }
  return {
    host,
    pathPrefix,
    chain,
    source: 'raw',
    probe: { path: (pathPrefix || '') + (known?.probe && !pathPrefix ? known.probe : '/'), strict: false },
    ...(known?.moduleOf ? { moduleOf: known.moduleOf } : {}),
    ...(known ? withMetadata(known, pathPrefix, pairs) : {}),
    ...(known?.challenge ? { challenge: new ChallengeCredentials(known.challenge) } : {}),
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
  const list = specs.length ? specs : PRESETS.filter((p) => !p.optIn).map((p) => p.name);
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

/**
 * How much of `path` a rule's prefix covers, at a path-element boundary, or -1. A `*` element stands for any one
 * element: github.com's downloads live under /<owner>/<repo>/releases/download, beside its web pages.
 */
export function prefixCovers(prefix: string, path: string): number {
  if (!prefix.includes('*')) return prefix === '' || path === prefix || path.startsWith(prefix + '/') ? prefix.length : -1;
  const want = prefix.split('/');
  const have = path.split('/');
  if (have.length < want.length) return -1;
  let length = 0;
  for (let i = 1; i < want.length; i++) {
    if (want[i] === '*' ? !have[i] : want[i] !== have[i]) return -1;
    length += 1 + have[i]!.length;
  }
  return length;
}

const wildcards = (prefix: string) => prefix.split('*').length - 1;

/** The longest matching HOST/PATH-PREFIX wins (on a tie, the one with fewer `*`). `pathAndQuery` is the request target in origin form. */
export function matchRule(rules: readonly Rule[], host: string, port: number, pathAndQuery: string): RuleMatch | undefined {
  const h = host.toLowerCase();
  const q = pathAndQuery.indexOf('?');
  const path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
  let best: Rule | undefined;
  let bestLength = -1;
  for (const rule of rules) {
    if (!hostMatches(rule, h, port)) continue;
    const length = prefixCovers(rule.pathPrefix, path);
    if (length < 0) continue;
    // A route whose path mapping knows no mirror place for this path does not cover it.
    if (rule.mirrorPath && rule.mirrorPath(path.slice(length)) === undefined) continue;
    if (length > bestLength || (length === bestLength && wildcards(rule.pathPrefix) < wildcards(best!.pathPrefix))) {
      best = rule;
      bestLength = length;
    }
  }
  return best && { rule: best, suffix: pathAndQuery.slice(bestLength) };
}

/** The URL a hop sends the request to. */
export function targetUrl(match: RuleMatch, hop: Hop, original: URL): URL {
  if (hop.target.kind === 'origin') return original;
  // A URL-prefix proxy: scheme, host, path and query of the original, after the base (which ends in '/').
  if (hop.target.wholeUrl) return new URL(hop.target.base.href + original.href);
  const q = match.suffix.indexOf('?');
  const suffixPath = q < 0 ? match.suffix : match.suffix.slice(0, q);
  const query = q < 0 ? '' : match.suffix.slice(q);
  const mapped = (match.rule.mirrorPath ? match.rule.mirrorPath(suffixPath) : undefined) ?? suffixPath;
  const base = hop.target.base;
  // One parse of the whole string, where setting pathname and search on a copy of the base parsed three times.
  // The same URL as long as `mapped` is a path (from a parsed one: '/'-led, no '?' or '#') and the base has no
  // query or fragment of its own (a target's base is a folder URL).
  if (!base.search && !base.hash && (mapped === '' || mapped[0] === '/') && !/[?#]/.test(mapped)) {
    return new URL(base.href.replace(/\/$/, '') + mapped + query);
  }
  const url = new URL(base.href);
  url.pathname = url.pathname.replace(/\/$/, '') + mapped;
  url.search = query;
  return url;
}

/** Hosts for the CA's name constraints. */
export function ruleHosts(rules: readonly Rule[]): string[] {
  return [...new Set(rules.map((r) => r.host.split(':')[0]!))];
}
