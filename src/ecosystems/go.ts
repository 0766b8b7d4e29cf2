// Go: the module proxy (proxy.golang.org) and the checksum database (sum.golang.org). Checked 2026-12-02.
//
// Facts relied on (cmd/go, go 1.19 and later; the GOPROXY protocol, go.dev/ref/mod#goproxy-protocol):
// - Requests are `<proxy>/<module>/@v/list|<v>.info|.mod|.zip` and `<proxy>/<module>/@latest`; module paths
//   are case-encoded on the wire ('!x' stands for 'X').
// - A proxy may serve the checksum database at `<proxy>/sumdb/<name>/…` (go asks `/sumdb/<name>/supported`
//   first; see goEndpoint.ts), which is where the mirrors here serve sum.golang.org.
// - GOPROXY lists split on ',' (next on 404/410) and '|' (next on any error); go falls through to the next
//   entry only on 404/410 after ',', hence `exhaustedStatus: 404`, as goproxy.cn answers.
// - GOPRIVATE / GONOPROXY / GONOSUMDB: glob patterns over module path prefixes; go itself never asks a proxy
//   about a matching module (read as go reads them, its env files included: goEnv.ts).
// Hooks: the parent's GOPRIVATE/GONOPROXY count as --direct; the child's GOPROXY points the entries detour
// would decrypt at a plain-HTTP endpoint on the proxy port (goEndpoint.ts); --direct patterns are appended to
// the child's GOPRIVATE (and GONOPROXY/GONOSUMDB when those are set).
import { childGoproxy, endpointRoute, planGoEndpoint } from './goEndpoint.js';
import { effectiveGoproxy, goSettings, splitList } from './goEnv.js';
import type { Ecosystem } from './types.js';

/** Go's case-encoding: '!x' stands for 'X' in module paths on the wire. */
function goDecode(p: string): string {
  if (!p.includes('%') && !p.includes('!')) return p; // most paths: nothing to decode (this runs per request)
  return decodeURIComponent(p).replace(/!([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** proxy.golang.org/<module>/@v/... or /<module>/@latest, and sumdb lookups proxied through it. */
function goproxyModule(path: string): string | undefined {
  const lookup = /^\/sumdb\/[^/]+\/lookup\/(.+)@[^@/]+$/.exec(path);
  if (lookup) return goDecode(lookup[1]!);
  const m = /^\/(.+?)\/@(v\/|latest$)/.exec(path);
  return m ? goDecode(m[1]!) : undefined;
}

/** sum.golang.org/lookup/<module>@<version> */
function sumdbModule(path: string): string | undefined {
  const m = /^\/lookup\/(.+)@[^@/]+$/.exec(path);
  return m ? goDecode(m[1]!) : undefined;
}

function appendList(existing: string | undefined, extra: readonly string[]): string {
  return [...splitList(existing), ...extra].join(',');
}

export const go: Ecosystem = {
  name: 'go',
  description: 'Go module proxy and checksum database',
  routes: [
    { host: 'proxy.golang.org', pathPrefix: '', mount: '', moduleOf: goproxyModule, probe: '/golang.org/x/text/@v/list' },
    { host: 'sum.golang.org', pathPrefix: '', mount: '/sumdb/sum.golang.org', moduleOf: sumdbModule, probe: '/latest' },
  ],
  mirrors: {
    'goproxy.cn': 'https://goproxy.cn',
    aliyun: 'https://mirrors.aliyun.com/goproxy',
    huawei: 'https://mirrors.huaweicloud.com/goproxy',
    tencent: 'https://mirrors.cloud.tencent.com/go',
    'goproxy.io': 'https://goproxy.io',
  },
  defaultChain: 'goproxy.cn|aliyun|origin',
  exhaustedStatus: 404,

  directPatterns: (parentEnv) => {
    const settings = goSettings(parentEnv);
    return [...splitList(settings('GOPRIVATE')), ...splitList(settings('GONOPROXY'))];
  },

  prepare: (parentEnv, serves) => {
    const plan = planGoEndpoint(effectiveGoproxy(parentEnv), serves);
    return {
      ...(plan.entries.length ? { endpoint: { route: (rest: string) => endpointRoute(rest, plan.entries, serves) } } : {}),
      childEnv: (parent, facts) => {
        const env: NodeJS.ProcessEnv = {};
        // The entries of its GOPROXY that detour would decrypt point at the plain-HTTP endpoint, so go needs no
        // trust in detour's CA. Set only when something changes: otherwise go's env file stays in charge.
        if (plan.entries.length && facts.endpointBase) env.GOPROXY = childGoproxy(plan, facts.endpointBase);
        // Private modules are never asked of any proxy by the go command itself. The base is what go itself
        // would use, its env file included: the variable set here hides that file.
        if (facts.ownDirect.length) {
          const settings = goSettings(parent);
          env.GOPRIVATE = appendList(settings('GOPRIVATE'), facts.ownDirect);
          for (const name of ['GONOPROXY', 'GONOSUMDB'] as const) {
            const base = settings(name);
            if (base !== undefined) env[name] = appendList(base, facts.ownDirect);
          }
        }
        return env;
      },
    };
  },
};
