// Composer (PHP): packagist's metadata repository (repo.packagist.org) and the downloads it names on
// api.github.com. Checked 2026-12-02 against Debian's composer 2.5.5 (/usr/share/php/Composer) and php-cli 8.2.
//
// Facts relied on (file and function names under /usr/share/php/Composer unless said otherwise):
// - What composer asks (Repository/ComposerRepository.php): the default repository is https://repo.packagist.org
//   (Config.php `defaultRepositories`); loadRootServerFile fetches `<url>/packages.json` and reads `metadata-url`
//   (v2: `/p2/<vendor>/<name>.json`, and `~dev.json` for dev versions, loadAsyncPackages), `mirrors`
//   (`dist-url` templates composer prefers for downloads and records per package in composer.lock),
//   `notify-batch` (each package's `notification-url`; Installer/InstallationManager.php notifyInstalls POSTs
//   the installed packages there), `search`, `list`, `providers-api`, `security-advisories` (`metadata: true`:
//   advisories come in the v2 files; packages not found there are POSTed to its `api-url` by the audit that
//   install, update and require run), `available-packages`/`available-package-patterns` (a closed list: no
//   other package is asked for). v1 keys (`providers-url`, `provider-includes`) are dropped once
//   `metadata-url` is there. Downloads are the `dist.url` of the lock or metadata (Package/Package.php getUrls,
//   the `mirrors` first when preferred).
// - How it reaches the network: the curl extension when loaded (Util/HttpDownloader.php isCurlEnabled), else
//   PHP streams (Util/RemoteFilesystem.php). Debian's php-cli 8.2 has no curl extension unless php-curl is
//   installed: streams, with an `http.proxy` context (Util/Http/ProxyManager.php).
// - Proxy variables (Util/Http/ProxyHelper.php getProxyData, read from $_SERVER, CLI only for http_proxy):
//   `http_proxy` then `HTTP_PROXY`, `CGI_HTTP_PROXY`, `https_proxy` then `HTTPS_PROXY` (else the http one), and
//   `no_proxy` then `NO_PROXY` (Util/NoProxyPattern.php). A proxy URL needs a port; its user:password becomes a
//   `Proxy-Authorization: Basic` header, which PHP sends on the CONNECT. All four are set by detour's core.
// - CA (Util/StreamContextFactory.php getTlsDefaults; Factory.php): the `cafile`/`capath` config, which the
//   COMPOSER_CAFILE/COMPOSER_CAPATH variables override (Config.php get), else composer/ca-bundle's
//   CaBundle::getSystemCaRootBundlePath: SSL_CERT_FILE, SSL_CERT_DIR, php.ini openssl.cafile/openssl.capath,
//   then the system bundles (/etc/ssl/certs/ca-certificates.crt on Debian), then its own cacert.pem. detour's
//   core gives SSL_CERT_FILE and COMPOSER_CAFILE their bundles (src/trust.ts).
// - Mirrors: aliyun (aliyun/packagist-mirror, util/sync_packages_json.go) serves packagist's packages.json with
//   its own `metadata-url`/`providers-url`, `info`, `last-update` and a `mirrors` entry
//   `{"dist-url": "https://mirrors.aliyun.com/composer/dists/%package%/%reference%.%type%", "preferred": true}`,
//   and the v2 files as packagist wrote them (util/sync_packages_v2.go). Nexus-style mirrors (Huawei's
//   /repository/php, a team's Nexus) rewrite each version's `dist.url` (and `shasum`) to their own host.
import type { Ecosystem } from './types.js';
import { canonicalV2, PACKAGIST_ROOT } from './composerMetadata.js';
import { distMirrorPath, learnFromLock, learnFromMirror } from './composerDists.js';

/** packages.json and the v2 files; never downloads. */
const composerMetadata = (suffix: string) => suffix === '/packages.json' || /^\/p2\/[^/]+\/[^/]+\.json$/.test(suffix);

/** packages.json names packagist's own URLs and whatever the mirror adds (its `mirrors` would land in the lock). */
const packagistRoot = (suffix: string) => (suffix === '/packages.json' ? PACKAGIST_ROOT : undefined);

/** A v2 file as packagist wrote it; the downloads it names are remembered for the api.github.com route. */
function canonicalDocument(text: string, at: { readonly suffix: string; readonly mirrorUrl: URL }): string {
  const root = new URL(at.mirrorUrl.href);
  root.search = '';
  if (root.pathname.endsWith(at.suffix)) root.pathname = root.pathname.slice(0, -at.suffix.length) || '/';
  return canonicalV2(text, at.mirrorUrl, (d) => learnFromMirror(d, root));
}

export const composer: Ecosystem = {
  name: 'composer',
  description: 'Composer / Packagist metadata (repo.packagist.org) and the GitHub downloads it names',
  routes: [
    {
      host: 'repo.packagist.org',
      pathPrefix: '',
      mount: '',
      isMetadata: composerMetadata,
      originDocument: packagistRoot,
      canonicalDocument,
      probe: '/p2/monolog/monolog.json',
    },
    // Downloads, under the mirror's root, for the packages detour has seen (composerDists.ts); any other
    // api.github.com path is not covered and goes to GitHub unchanged.
    { host: 'api.github.com', pathPrefix: '/repos', mount: '', mirrorPath: distMirrorPath },
  ],
  mirrors: {
    aliyun: 'https://mirrors.aliyun.com/composer',
    tencent: 'https://mirrors.cloud.tencent.com/composer',
    huawei: 'https://mirrors.huaweicloud.com/repository/php',
  },
  defaultChain: 'aliyun|origin',

  prepare: (parentEnv, serves) => {
    // `composer install` downloads what composer.lock names before asking for any metadata.
    if (serves('api.github.com', 443)) learnFromLock(parentEnv, process.cwd());
    return {};
  },
};
