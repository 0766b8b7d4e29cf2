// RubyGems: rubygems.org and its index host index.rubygems.org, for `gem` and Bundler. Checked 2026-12-02.
//
// What the clients ask (Debian's ruby 3.1 with RubyGems 3.3.15 in /usr/lib/ruby/vendor_ruby/rubygems and
// Bundler 2.3.15 in /usr/share/rubygems-integration/all/gems/bundler-2.3.15, as run by test/gems.test.ts):
// - `gem install` (Gem::Source#dependency_resolver_set): for the source https://rubygems.org/ it asks
//   index.rubygems.org instead, first `HEAD /`, then the compact index `/info/<gem>` (Gem::Resolver::APISet),
//   whose source is then index.rubygems.org: `/quick/Marshal.4.8/<gem>-<v>.gemspec.rz` (one per gem
//   chosen) and `/gems/<gem>-<v>.gem` come from there too. A failing HEAD falls back to the full index on
//   the source itself: rubygems.org `/specs.4.8.gz`, `/latest_specs.4.8.gz`, `/prerelease_specs.4.8.gz`
//   (also what `gem search` and `gem list -r` read).
// - `bundle install` (Bundler::Fetcher::Base#fetch_uri rewrites rubygems.org to index.rubygems.org): the
//   compact index `/versions` then `/info/<gem>` (Fetcher::CompactIndex; the ETag must be the body's MD5,
//   CompactIndexClient::Updater#update), else the dependency API `/api/v1/dependencies` (removed from
//   rubygems.org in 2024: rubygems/rubygems.org#4746), else the full index on rubygems.org; the `.gem` files
//   from rubygems.org `/gems/<gem>-<v>.gem` (RubygemsIntegration#download_gem, through Gem::RemoteFetcher).
// - Writes (`gem push` POST /api/v1/gems, `gem yank`, `gem owner`) and `gem signin` (a GET of /api/v1/api_key
//   with Basic credentials) use other paths on rubygems.org: no rule covers them, so they go to the origin.
// - No answer a client reads names a host: compact index lines, Marshal indexes and gemspecs carry names,
//   versions, dependencies and checksums only. Gemfile.lock records the Gemfile's source
//   (`remote: https://rubygems.org/`), never where the bytes came from. Nothing is canonicalised.
//
// Mirrors keep rubygems.org's paths under their base (bundler's own mirror setting,
// `bundle config mirror.https://rubygems.org <base>`, needs that layout):
// - gems.ruby-china.com serves the compact index and the files (github.com/ruby-china/rubygems-mirror).
// - mirrors.tuna.tsinghua.edu.cn/rubygems is a `gem mirror` copy (the files and Marshal indexes only): its
//   `/info/<gem>` answers 302 to http://rubygems.org/info/<gem> (tuna/issues#2447, 2026-02), which RubyGems
//   refuses (Gem::RemoteFetcher#fetch_http: "redirecting to non-https resource"), and it never proxied the
//   dependency API (tuna/issues#374). So it is left out of the index paths' chains (`mirrorBase`), and serves
//   the files. mirrors.ustc.edu.cn/rubygems likewise redirects `/info/` to https://rubygems.org
//   (ustclug/discussions#438), which would come back through detour to the same chain: not listed.
//
// Proxy and trust, as read in the same sources and checked in test/gems.test.ts (one variable at a time):
// - gem (Gem::Request.get_proxy_from_env, rubygems/request.rb): an https URL uses `https_proxy` or
//   `HTTPS_PROXY` only (unset: no proxy, never `http_proxy`); no_proxy/NO_PROXY in
//   Gem::Request::ConnectionPools#no_proxy?. Its TLS store (Gem::Request.configure_connection_for_https):
//   OpenSSL's default paths (`store.set_default_paths`: SSL_CERT_FILE / SSL_CERT_DIR), plus its bundled
//   rubygems/ssl_certs, plus a gemrc `ssl_ca_cert`. SSL_CERT_FILE carries detour's CA. (Debian's
//   rubygems/defaults/operating_system.rb writes an ssl_ca_cert default into a constant of Gem's singleton
//   class that nothing reads: Gem.operating_system_defaults stays {}, Gem.configuration.ssl_ca_cert nil.)
// - Bundler's index fetcher (Bundler::Fetcher#connection, net-http-persistent's proxy_from_env in
//   bundler/vendor/net-http-persistent): `http_proxy` or `HTTP_PROXY` for every scheme, no_proxy/NO_PROXY
//   (`*` alone: no proxy). Its TLS store (Bundler::Fetcher#bundler_cert_store): the setting `ssl_ca_cert`
//   (BUNDLE_SSL_CA_CERT; a project's .bundle/config wins over it), else the gemrc's `ssl_ca_cert`, and only
//   when neither is set OpenSSL's default paths. So a user's gemrc or bundle config naming their own roots
//   hides SSL_CERT_FILE: the child gets BUNDLE_SSL_CA_CERT, a bundle like SSL_CERT_FILE's (src/trust.ts).
//   The `.gem` downloads and the full-index fallback (specs.4.8.gz, RubygemsIntegration#fetch_specs) go
//   through Gem::RemoteFetcher: https_proxy and SSL_CERT_FILE, as gem.
// - A gemrc `http_proxy:` (Gem.configuration[:http_proxy]) wins over the environment in both; detour leaves
//   the user's gemrc alone (GEMRC would also move where `gem sources --add` writes).
import type { Ecosystem, PresetRoute } from './types.js';

const TUNA = 'https://mirrors.tuna.tsinghua.edu.cn/rubygems';

/** Paths every full mirror serves: the files and the Marshal indexes, what `gem mirror` copies. */
const FILE_PATHS = ['/gems', '/quick', '/specs.4.8.gz', '/latest_specs.4.8.gz', '/prerelease_specs.4.8.gz'];
/** The dynamic index: the compact index and the (retired) dependency API. */
const INDEX_PATHS = ['/versions', '/info', '/api/v1/dependencies'];

/** Mirrors that copy the files only: they answer the index paths with redirects to the origin. */
const FILES_ONLY = new Set([new URL(TUNA).host]);

/** Index paths: every mirror but the files-only ones (left out of the chain, the next target keeps its place). */
const servesIndex = (root: URL): URL | undefined => (FILES_ONLY.has(root.host) ? undefined : root);

/**
 * `detour check`: a small compact-index file (rubychina and the origin; TUNA has no index) and a small quick
 * gemspec (every target). The other routes are not probed: they would ask the same targets again.
 */
const PROBES: Readonly<Record<string, string>> = {
  'index.rubygems.org/info': '/info/rake',
  'rubygems.org/quick': '/quick/Marshal.4.8/rake-13.2.1.gemspec.rz',
};

/** A path of the origin, kept under the mirror's base: the prefix goes back in front of what follows it. */
function route(host: string, prefix: string, index: boolean): PresetRoute {
  const probe = PROBES[host + prefix];
  return {
    host,
    pathPrefix: prefix,
    // No mount: a mount would be taken off a -m URL that ends in it (`-m gems=https://nexus/repository/gems`).
    mount: '',
    mirrorPath: (suffix) => (prefix === '/' ? '/' : prefix) + suffix,
    ...(index ? { mirrorBase: servesIndex } : {}),
    ...(probe ? { probe } : {}),
  };
}

const paths = (host: string) => [...INDEX_PATHS.map((p) => route(host, p, true)), ...FILE_PATHS.map((p) => route(host, p, false))];

export const gems: Ecosystem = {
  name: 'gems',
  description: 'RubyGems (compact index, Marshal indexes and .gem files)',
  routes: [
    // `gem install` asks HEAD / before the compact index: a mirror that answers it keeps gem on the fast path.
    route('index.rubygems.org', '/', false),
    ...paths('index.rubygems.org'),
    ...paths('rubygems.org'),
  ],
  mirrors: {
    rubychina: 'https://gems.ruby-china.com',
    tuna: TUNA,
  },
  defaultChain: 'rubychina|tuna|origin',
};
