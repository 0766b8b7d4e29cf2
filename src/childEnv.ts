// The child's environment: proxy, trust, git and each ecosystem's own settings, in the child alone.
// A function of the parent's environment and the run's facts; the only writes are an ecosystem's own files, in
// its folder of the run's private folder (ChildEnvFacts.dir).
import type { PreparedEcosystem } from './ecosystems/index.js';
import { noProxyPattern, splitList, type DirectList } from './patterns.js';

export interface ChildFacts {
  readonly proxyUrl: string;
  readonly caFile: string;
  /** Each trust variable and the file or directory it names (see trust.ts, writeTrustFiles). */
  readonly trustVariables: Readonly<Record<string, string>>;
  readonly nodeExtraFile: string;
  /** wget's config file: the user's own, plus the bundle as `ca_certificate` (see trust.ts). */
  readonly wgetrc?: string;
  /** The child's NO_PROXY (childNoProxy): the caller computes it once, for ecosystems' files and this. */
  readonly noProxy: string;
  readonly direct: DirectList;
  /** detour's Node.js preload (src/node-preload.cjs), added to NODE_OPTIONS when given. */
  readonly nodePreload?: string;
  /** Each ecosystem's part in this run (ecosystems/index.ts), in list order. */
  readonly ecosystems?: readonly PreparedEcosystem[];
  /** `http://127.0.0.1:PORT/<token>`: an ecosystem's endpoint is under `<root>/<name>`. */
  readonly endpointRoot?: string;
  /** The files each ecosystem asked for (`EcosystemRun.files`), by ecosystem name: file name → path. */
  readonly ecosystemFiles?: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

const LOOPBACK_NO_PROXY = ['127.0.0.1', 'localhost', '::1'];

/**
 * The child's NO_PROXY: loopback stays unproxied; parent entries stay unless they would bypass a mirrored host
 * (`mirrored`: the hosts with a mirror rule).
 */
export function childNoProxy(parentEnv: NodeJS.ProcessEnv, mirrored: readonly string[]): string {
  const kept = splitList(parentEnv.NO_PROXY ?? parentEnv.no_proxy).filter((entry) => {
    if (entry === '*') return false;
    const p = noProxyPattern(entry);
    return !p || !mirrored.some((h) => p.test(h));
  });
  return [...new Set([...LOOPBACK_NO_PROXY, ...kept])].join(',');
}

/**
 * NODE_OPTIONS with `--require "FILE"` first and the parent's options after it. Node splits NODE_OPTIONS on
 * spaces outside double quotes and reads `\` as an escape inside them, so the path is always quoted.
 * `--require` (not `--import`) because every Node version accepts it, and it runs before CJS and ESM entries.
 */
export function withNodePreload(existing: string | undefined, file: string): string {
  const option = `--require "${file.replace(/[\\"]/g, '\\$&')}"`;
  const rest = (existing ?? '').trim();
  if (rest.includes(option)) return rest; // a detour inside a detour session
  return rest ? `${option} ${rest}` : option;
}

export function childEnv(parentEnv: NodeJS.ProcessEnv, f: ChildFacts): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...parentEnv };
  delete env.ALL_PROXY;
  delete env.all_proxy;
  const noProxy = f.noProxy;
  Object.assign(env, {
    HTTP_PROXY: f.proxyUrl,
    HTTPS_PROXY: f.proxyUrl,
    http_proxy: f.proxyUrl,
    https_proxy: f.proxyUrl,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
    // Variables that ADD to the default roots get the CA alone...
    NODE_EXTRA_CA_CERTS: f.nodeExtraFile,
    DENO_CERT: f.caFile,
    // ...those that REPLACE the roots get a bundle: the roots they had, plus --upstream-ca, plus the CA (or, for
    // curl and git where a compiled-in CA directory already holds those roots, the CAs alone: trust.ts).
    ...f.trustVariables,
    ...(f.wgetrc ? { WGETRC: f.wgetrc } : {}),
    DETOUR: '1',
    DETOUR_CA_FILE: f.caFile,
    DETOUR_PROXY: f.proxyUrl,
  });

  // Node.js: Node 20 ignores proxy variables; the preload routes http, https and fetch. Newer Node versions
  // honour them natively with NODE_USE_ENV_PROXY=1 (the preload then steps aside).
  if (f.nodePreload) {
    env.NODE_OPTIONS = withNodePreload(parentEnv.NODE_OPTIONS, f.nodePreload);
    env.NODE_USE_ENV_PROXY = '1';
  }

  // git: a user's http.proxy in gitconfig must not bypass the proxy for this one command.
  const n = Number(parentEnv.GIT_CONFIG_COUNT ?? 0) || 0;
  env.GIT_CONFIG_COUNT = String(n + 1);
  env[`GIT_CONFIG_KEY_${n}`] = 'http.proxy';
  env[`GIT_CONFIG_VALUE_${n}`] = f.proxyUrl;

  // Each ecosystem's own settings (a proxy setting its tool reads first, an endpoint it should use instead).
  for (const { name, run } of f.ecosystems ?? []) {
    if (!run.childEnv) continue;
    const endpointBase = run.endpoint && f.endpointRoot ? `${f.endpointRoot}/${name}` : undefined;
    const files = f.ecosystemFiles?.get(name) ?? {};
    Object.assign(env, run.childEnv(parentEnv, { proxyUrl: f.proxyUrl, noProxy, ownDirect: f.direct.ownSources, files, ...(endpointBase ? { endpointBase } : {}) }));
  }
  return env;
}
