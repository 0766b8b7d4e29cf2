// The `github` preset: release assets, source archives, raw files and `git clone` over smart HTTP, through the
// URL-prefix proxies people in China put in front of GitHub. Facts relied on (checked 2026-12-02):
//
// - Layout. A prefix proxy takes the whole original URL after its own base: `https://ghfast.top/https://github.com/
//   o/r/releases/download/v1/a.tgz`, `git clone https://ghfast.top/https://github.com/o/r`. The common
//   implementations accept github.com's /releases/, /archive/, /blob|raw/, /info/refs and /git-upload-pack paths,
//   raw.githubusercontent.com and gist hosts, and answer 403 to anything else (web pages, api.github.com without a
//   configured token): hunshcn/gh-proxy index.js and app/main.py (exp1..exp5), WJQSERVER-STUDIO/ghproxy
//   proxy/match.go (Matcher), sky22333/hubproxy src/handlers/github.go (githubExps). So on github.com only those
//   paths are mirrored here; the web UI, blob pages, pushes and api.github.com stay with the origin.
// - Redirects. github.com answers a release download with a 302 to release-assets.githubusercontent.com
//   (web.archive.org copies from 2026; those from 2022-2023 are on objects.githubusercontent.com, X-Amz-Expires=300)
//   with a signed query that expires within minutes, an archive with a 302 to codeload.github.com, /raw/ with
//   a 302 to raw.githubusercontent.com. A prefix proxy follows these itself (gh-proxy fetches with redirect 'follow',
//   ghproxy proxy/chunkreq.go re-requests the Location), so the client gets a 200. A redirect still reaches the
//   client when the chain falls to the origin, or when a proxy sends a big file back to the origin (ghproxy's
//   SizeLimit: a 301 to the asset URL; gh-proxy's size_limit, 999 GB by default: a 302 to the github.com URL,
//   which would come back to the same proxy, a loop the client's redirect limit ends). The preset owns those hosts, so the
//   follow-up request comes back through detour and down the same chain, its signed query intact; scripts
//   prefix them to the same services (`https://ghfast.top/https://codeload.github.com/…`,
//   `https://mirror.ghproxy.com/https://objects.githubusercontent.com/…` in installers found by code search).
// - The proxies, each a public service with no SLA:
//   ghfast.top  "GitHub Proxy", the successor of mirror.ghproxy.com / ghproxy.com; its current address is
//               published at ghproxy.link. Recommended as GH_PROXY by 0xJacky/nginx-ui
//               docs/zh_CN/guide/install-script-linux.md; Jay-Victor/Mdcito CHANGELOG 1.0.6 (2026-06-16) moved
//               to it from the dead ghproxy.com (2.4 MB/s measured).
//   gh-proxy.com the busiest one (Mdcito CHANGELOG 1.0.7, 2026-06-16: "3000w+ requests a day"); first in a
//               list measured working in 2026-08 (an Animeko source-update script, ACCEL_PREFIXES), which also
//               lists ghfast.top and ghproxy.net and marks mirror.ghproxy.com and ghproxy.link itself as dead.
//   ghproxy.net  an independent service with range requests (Mdcito CHANGELOG 1.0.7); in the 2026-08 list.
//   gh.llkk.cc   in installer fallback lists found by code search (uv, SMAPI) beside the three above.
//   The default chain is the two most cited, then the origin: a dead proxy costs one connect failure.
// - Private repositories: detour never forwards a client's credentials to another host, so a proxy sees git's
//   request without them and the clone fails with 401; such repositories belong in --direct
//   (`-d github.com/acme-private`), which also keeps their names from the proxies.
import type { Ecosystem, PresetRoute } from './types.js';

/** A URL-prefix proxy: the whole original URL follows the base (`/https://` marks it, as in `-m` rules). */
const prefixProxy = (origin: string) => `${origin}/https://`;

/** github.com paths a prefix proxy serves: downloads, archives, raw files and git's fetch; never web pages. */
const GITHUB_COM_PATHS = ['/*/*/info/refs', '/*/*/git-upload-pack', '/*/*/releases/download', '/*/*/releases/latest/download', '/*/*/archive', '/*/*/raw'];

/** Hosts whose every path is a download: raw files, archives, gists, and where github.com redirects assets. */
const DOWNLOAD_HOSTS = ['raw.githubusercontent.com', 'codeload.github.com', 'gist.githubusercontent.com', 'release-assets.githubusercontent.com', 'objects.githubusercontent.com'];

/** `detour check`: git's ref discovery for GitHub's own sample repository (a few refs), and one raw file. */
const PROBES: Readonly<Record<string, string>> = {
  'github.com/*/*/info/refs': '/octocat/Hello-World/info/refs?service=git-upload-pack',
  'raw.githubusercontent.com': '/octocat/Hello-World/master/README',
};

function route(host: string, pathPrefix: string): PresetRoute {
  const probe = PROBES[host + pathPrefix];
  return { host, pathPrefix, mount: '', ...(probe ? { probe } : {}) };
}

export const github: Ecosystem = {
  // Opt-in: a URL-prefix proxy sees and could alter what it relays, and release assets and archives carry no
  // checksum a client verifies (unlike npm's integrity, Go's checksum database or crates' cksum). A team that
  // trusts a proxy turns it on with `-m github`; without `-m`, github.com stays a blind tunnel.
  optIn: true,
  name: 'github',
  description: 'GitHub release assets, archives, raw files and git clone (URL-prefix proxies)',
  routes: [...GITHUB_COM_PATHS.map((p) => route('github.com', p)), ...DOWNLOAD_HOSTS.map((h) => route(h, ''))],
  mirrors: {
    ghfast: prefixProxy('https://ghfast.top'),
    'gh-proxy': prefixProxy('https://gh-proxy.com'),
    'ghproxy.net': prefixProxy('https://ghproxy.net'),
    llkk: prefixProxy('https://gh.llkk.cc'),
  },
  defaultChain: 'ghfast|gh-proxy|origin',
};
