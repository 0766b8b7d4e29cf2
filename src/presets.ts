// The built-in presets: pure data. Adding a mirror is one entry in `mirrors`.
// `routes` say which origin hosts a preset covers and where their paths live under a mirror's base URL.
import { github } from './ecosystems/github.js';
import { hf } from './ecosystems/hf.js';

export interface PresetRoute {
  /** Origin host the client asks for. */
  readonly host: string;
  /** Only paths under this prefix are mirrored ('' = the whole host). */
  readonly pathPrefix: string;
  /** Appended to a mirror's base URL for this host (sumdb lives under <mirror>/sumdb/sum.golang.org). */
  readonly mount: string;
  /**
   * Where this host lives at a mirror, when not under the mirror's root (hf-mirror.com serves cdn-lfs-us-1.hf.co
   * as cdn-lfs-us-1.hf-mirror.com); `mount` is then unused. Undefined: that mirror does not serve this host, and
   * it is left out of this host's chain (a host left with no mirror at all gets no rule).
   */
  readonly mirrorBase?: (mirrorRoot: URL) => URL | undefined;
  /** Mirrors that lay out artifacts differently from the origin map the path after the prefix. */
  readonly mirrorPath?: (suffix: string) => string;
  /** The module a request path names, for the privacy guard (Go: never ask a mirror about a private module). */
  readonly moduleOf?: (path: string) => string | undefined;
  /** Which answers are metadata to canonicalise (absent: none; artifacts never are). */
  readonly isMetadata?: (suffix: string, contentType: string) => boolean;
  /** Metadata documents the origin fixes entirely, answered as the origin serves them (crates config.json). */
  readonly originDocument?: (suffix: string) => string | undefined;
  /** Its metadata pages may link with relative URLs (PyPI simple pages: `../../packages/…`). */
  readonly relativeLinks?: boolean;
  /** Response headers, of any status, whose URLs naming a mirror are canonicalised (a redirect's Location, Link). */
  readonly canonicalHeaders?: readonly string[];
  /** `detour check`: the origin path a health probe asks for (under pathPrefix); absent: not probed. */
  readonly probe?: string;
}

export interface Preset {
  readonly name: string;
  readonly description: string;
  readonly routes: readonly PresetRoute[];
  /** Named mirrors: `-m go=aliyun` picks one by name. */
  readonly mirrors: Readonly<Record<string, string>>;
  /** Default chain, GOPROXY syntax over mirror names and `origin`. */
  readonly defaultChain: string;
  /** Status answered when every target failed (Go: 404, so `GOPROXY=…,direct` falls through as with goproxy.cn). */
  readonly exhaustedStatus?: number;
}

/** static.crates.io/crates/<c>/<c>-<v>.crate  →  <mirror>/api/v1/crates/<c>/<v>/download */
function cratesDownloadPath(suffix: string): string {
  const m = /^\/([^/]+)\/\1-(.+)\.crate$/.exec(suffix);
  return m ? `/${m[1]}/${m[2]}/download` : suffix;
}

/** Go's case-encoding: '!x' stands for 'X' in module paths on the wire. */
function goDecode(p: string): string {
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

const json = (ct: string) => /json/i.test(ct);
/** npm: packuments (JSON), never tarballs. */
const npmMetadata = (suffix: string, ct: string) => json(ct) && !/\.tgz$/i.test(suffix);
/** PyPI: simple-index pages, HTML or JSON. */
const pypiMetadata = (_suffix: string, ct: string) => /html|json/i.test(ct);
/** crates: only config.json names download hosts; index lines do not. */
const cratesMetadata = (suffix: string) => suffix === '/config.json';
/**
 * crates.io's config.json, as index.crates.io serves it. A mirror's names the mirror in `dl` and `api`
 * (rsproxy: `"api":"https://rsproxy.cn"`), and `cargo publish` sends the crates.io token to `api`.
 */
const CRATES_CONFIG = '{"dl":"https://static.crates.io/crates","api":"https://crates.io"}';
const cratesConfig = (suffix: string) => (suffix === '/config.json' ? CRATES_CONFIG : undefined);

export const PRESETS: readonly Preset[] = [
  {
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
  },
  {
    name: 'npm',
    description: 'npm registry',
    routes: [
      { host: 'registry.npmjs.org', pathPrefix: '', mount: '', isMetadata: npmMetadata, probe: '/is-number' },
      // yarn 1's default registry, the same content under another name. Not probed: its targets are
      // registry.npmjs.org's, so `detour check` would ask each mirror the same question twice.
      { host: 'registry.yarnpkg.com', pathPrefix: '', mount: '', isMetadata: npmMetadata },
    ],
    mirrors: {
      npmmirror: 'https://registry.npmmirror.com',
      tencent: 'https://mirrors.cloud.tencent.com/npm',
      huawei: 'https://mirrors.huaweicloud.com/repository/npm',
    },
    defaultChain: 'npmmirror|origin',
  },
  {
    name: 'pypi',
    description: 'Python Package Index (simple index and files)',
    routes: [
      { host: 'pypi.org', pathPrefix: '/simple', mount: '/simple', isMetadata: pypiMetadata, relativeLinks: true, probe: '/simple/six/' },
      // Listed before pypi.org/packages: a mirror's /packages URLs canonicalise to files.pythonhosted.org.
      { host: 'files.pythonhosted.org', pathPrefix: '/packages', mount: '/packages' },
      // Relative hrefs are made absolute on files.pythonhosted.org; a client that cached a page from before
      // (or reads one through another path) may still ask pypi.org/packages: route those files too.
      { host: 'pypi.org', pathPrefix: '/packages', mount: '/packages' },
    ],
    mirrors: {
      tuna: 'https://pypi.tuna.tsinghua.edu.cn',
      aliyun: 'https://mirrors.aliyun.com/pypi',
      ustc: 'https://mirrors.ustc.edu.cn/pypi',
      tencent: 'https://mirrors.cloud.tencent.com/pypi',
    },
    defaultChain: 'tuna|aliyun|origin',
  },
  {
    name: 'crates',
    description: 'crates.io sparse index and downloads',
    routes: [
      { host: 'index.crates.io', pathPrefix: '', mount: '/index', isMetadata: cratesMetadata, originDocument: cratesConfig, probe: '/config.json' },
      { host: 'static.crates.io', pathPrefix: '/crates', mount: '/api/v1/crates', mirrorPath: cratesDownloadPath },
    ],
    mirrors: { rsproxy: 'https://rsproxy.cn' },
    defaultChain: 'rsproxy|origin',
  },
  hf,
  github,
];

export function findPreset(name: string): Preset | undefined {
  return PRESETS.find((p) => p.name === name);
}

/** The preset route for an origin host, so a raw rule on proxy.golang.org keeps the privacy guard. */
export function presetRouteFor(host: string): PresetRoute | undefined {
  for (const p of PRESETS) for (const r of p.routes) if (r.host === host) return r;
  return undefined;
}
