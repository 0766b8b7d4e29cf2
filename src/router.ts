// Routing, decided once per CONNECT and once per request (DESIGN §3):
// 1. --direct match: never decrypted, never mirrored; 2. a mirror rule: decrypt / follow the chain;
// 3. anything else: tunnel or forward unchanged. Pure functions over the parsed rules.
// Mirrors are read-only: only reads (GET, HEAD, git's fetch) go down a chain; a write (npm publish, cargo
// publish, twine upload, git push) goes to the origin unchanged, with the client's credentials.
import type { ForwardPlan, PlannedTarget } from './plan.js';
import type { DirectList } from './patterns.js';
import { hostHasRule, matchRule, targetUrl, type Rule } from './rules.js';
import { isIpLiteral, portOf } from './urls.js';

export interface Routing {
  readonly rules: readonly Rule[];
  readonly direct: DirectList;
}

export type ConnectDecision = { readonly action: 'intercept' } | { readonly action: 'tunnel'; readonly route: 'tunnel' | 'direct' };

export function decideConnect(routing: Routing, host: string, port: number): ConnectDecision {
  if (routing.direct.matchesHost(host)) return { action: 'tunnel', route: 'direct' };
  if (hostHasRule(routing.rules, host, port)) return { action: 'intercept' };
  return { action: 'tunnel', route: 'tunnel' };
}

/**
 * Would a CONNECT to host:port be decrypted (a rule, not --direct)? What an ecosystem's plain-HTTP endpoint may
 * take over; IP literals and loopback are left out, as the proxy port tunnels IP literals and clients never
 * proxy loopback.
 */
export function decrypts(routing: Routing, host: string, port: number): boolean {
  const h = host.toLowerCase();
  if (isIpLiteral(h) || h === 'localhost' || h.endsWith('.localhost')) return false;
  return decideConnect(routing, h, port).action === 'intercept';
}

export type RequestDecision = { readonly action: 'forward'; readonly plan: ForwardPlan } | { readonly action: 'block'; readonly reason: string };


/**
 * May a mirror answer this request? Reads only: GET and HEAD, and git's fetch, which smart HTTP carries in
 * a POST to `…/git-upload-pack` (git clone through a mirror needs it). git push's ref discovery
 * (`GET …/info/refs?service=git-receive-pack`) is the first half of a write: it goes to the origin with the
 * push, else the push would be computed against the mirror's refs.
 */
export function isRead(method: string, url: URL): boolean {
  const m = method.toUpperCase();
  const path = url.pathname; // a getter that slices the href: read once
  if (m === 'POST') return path.endsWith('/git-upload-pack');
  if (m !== 'GET' && m !== 'HEAD') return false;
  return !(path.endsWith('/info/refs') && url.searchParams.get('service') === 'git-receive-pack');
}

export function decideRequest(routing: Routing, url: URL, method: string): RequestDecision {
  const unchanged = (route: 'origin' | 'direct', refusedWriteHint?: string): RequestDecision => ({
    action: 'forward',
    plan: { route, original: url, targets: [{ url, label: 'origin' }], ...(refusedWriteHint ? { refusedWriteHint } : {}) },
  });
  const host = url.hostname.toLowerCase();
  if (routing.direct.matchesHost(host) || routing.direct.matchesPath(host + url.pathname)) return unchanged('direct');

  const match = matchRule(routing.rules, host, portOf(url), url.pathname + url.search);
  if (!match) return unchanged('origin');
  if (!isRead(method, url)) return unchanged('origin', match.rule.challenge?.refusedWriteHint);

  let module: string | undefined;
  try {
    // The whole path, not the part after the rule's prefix: a module path starts at the host's root.
    module = match.rule.moduleOf?.(url.pathname);
  } catch {
    // A path no go command would send (bad %-escapes): nothing to ask a mirror about.
    return { action: 'block', reason: `malformed module path in ${url.pathname}` };
  }
  if (module && routing.direct.matchesPath(module)) {
    return { action: 'block', reason: `module ${module} is private (--direct/GOPRIVATE); not asking a mirror about it` };
  }
  const targets: PlannedTarget[] = match.rule.chain.map((hop) => ({
    url: targetUrl(match, hop, url),
    label: hop.target.label,
    ...(hop.via ? { via: hop.via } : {}),
    ...(hop.target.kind === 'mirror' && hop.target.authorization ? { authorization: hop.target.authorization } : {}),
  }));
  return {
    action: 'forward',
    plan: {
      route: 'mirror',
      original: url,
      targets,
      ...(match.rule.exhaustedStatus !== undefined ? { exhaustedStatus: match.rule.exhaustedStatus } : {}),
      ...(match.rule.modifyResponse ? { modifyResponse: match.rule.modifyResponse } : {}),
      ...(match.rule.challenge ? { challenge: match.rule.challenge } : {}),
    },
  };
}
