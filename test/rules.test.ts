// Pure parts, tested directly: rule parsing and matching, GOPRIVATE / NO_PROXY patterns, routing decisions.
import t from 'tap';
import { parseMirrorSpecs, matchRule, prefixCovers, targetUrl } from '../src/rules.js';
import { PRESETS } from '../src/presets.js';
import { DirectList, goPattern, noProxyPattern } from '../src/patterns.js';
import { decideConnect, decideRequest } from '../src/router.js';
import { ConfigError } from '../src/errors.js';

t.test('presets expand to one rule per origin route, with mounts', async (t) => {
  const rules = parseMirrorSpecs(['go=aliyun|goproxy.cn|origin']);
  t.same(rules.map((r) => r.host), ['proxy.golang.org', 'sum.golang.org']);
  const sum = rules[1]!;
  t.same(sum.chain.map((h) => [h.via, h.target.label]), [[undefined, 'mirrors.aliyun.com/goproxy/sumdb/sum.golang.org'], ['|', 'goproxy.cn/sumdb/sum.golang.org'], ['|', 'origin']]);
  t.equal(sum.exhaustedStatus, 404);
  t.same(parseMirrorSpecs([]).map((r) => r.source).filter((v, i, a) => a.indexOf(v) === i), PRESETS.filter((p) => !p.optIn).map((p) => p.name), 'no -m: every preset but the opt-in ones');
  t.notOk(parseMirrorSpecs([]).some((r) => r.source === 'github'), 'github is opt-in: no -m leaves github.com alone');
  t.ok(parseMirrorSpecs(['github']).some((r) => r.host === 'github.com'), '-m github turns it on');
});

t.test('crates downloads map onto the mirror layout', async (t) => {
  const rules = parseMirrorSpecs(['crates']);
  const original = new URL('https://static.crates.io/crates/serde/serde-1.0.200.crate');
  const m = matchRule(rules, 'static.crates.io', 443, original.pathname)!;
  t.equal(targetUrl(m, m.rule.chain[0]!, original).href, 'https://rsproxy.cn/api/v1/crates/serde/1.0.200/download');
  t.equal(targetUrl(m, m.rule.chain[1]!, original).href, original.href, 'origin is the original URL');
});

t.test('raw rules: separators, origin, ports, bad input', async (t) => {
  const [r] = parseMirrorSpecs(['Registry.NPMjs.org/@acme=https://a.test/npm,origin|https://b.test']);
  t.equal(r!.host, 'registry.npmjs.org');
  t.equal(r!.pathPrefix, '/@acme');
  t.same(r!.chain.map((h) => h.via ?? ''), ['', ',', '|']);
  t.throws(() => parseMirrorSpecs(['x.test=']), ConfigError);
  t.throws(() => parseMirrorSpecs(['x.test=https://a.test/?q=1']), /no query/);
  t.throws(() => parseMirrorSpecs(['x.test=direct']), /not a URL, a mirror name or "origin"/);
  const [p] = parseMirrorSpecs(['x.test:8443=https://a.test']);
  t.ok(matchRule([p!], 'x.test', 8443, '/'));
  t.notOk(matchRule([p!], 'x.test', 443, '/'), 'a rule with a port matches that port only');
});

t.test('GOPRIVATE patterns match path prefixes element by element', async (t) => {
  t.ok(goPattern('corp.example.com').test('corp.example.com/x/y'));
  t.ok(goPattern('*.corp.test').test('git.corp.test/lib'));
  t.notOk(goPattern('*.corp.test').test('corp.test/lib'));
  t.ok(goPattern('github.com/acme-private').test('github.com/acme-private/repo'));
  t.notOk(goPattern('github.com/acme-private').test('github.com/acme-privateer/repo'));
  t.ok(goPattern('github.com/a?me').test('github.com/acme/x'));
  t.equal(goPattern('github.com/acme').elements, 2);
});

t.test('NO_PROXY entries cover the host and its subdomains; * and CIDRs are ignored', async (t) => {
  t.ok(noProxyPattern('example.com')!.test('api.example.com'));
  t.ok(noProxyPattern('.example.com')!.test('example.com'));
  t.ok(noProxyPattern('example.com:8080')!.test('example.com'));
  t.notOk(noProxyPattern('example.com')!.test('notexample.com'));
  t.equal(noProxyPattern('*'), undefined);
  t.equal(noProxyPattern('10.0.0.0/8'), undefined);
});

t.test('routing: direct beats rules; host/path direct patterns apply to decrypted requests', async (t) => {
  const routing = {
    rules: parseMirrorSpecs(['github.com=https://m.test/gh', 'go=goproxy.cn']),
    direct: DirectList.from(['corp.test', 'github.com/acme-private'], { NO_PROXY: 'internal.test' }),
  };
  t.same(decideConnect(routing, 'corp.test', 443), { action: 'tunnel', route: 'direct' });
  t.same(decideConnect(routing, 'x.internal.test', 443), { action: 'tunnel', route: 'direct' });
  t.same(decideConnect(routing, 'github.com', 443), { action: 'intercept' });
  t.same(decideConnect(routing, 'example.org', 443), { action: 'tunnel', route: 'tunnel' });
  const priv = decideRequest(routing, new URL('https://github.com/acme-private/repo.git/info/refs'), 'GET');
  t.equal(priv.action === 'forward' && priv.plan.route, 'direct');
  const pub = decideRequest(routing, new URL('https://github.com/acme/repo.git/info/refs?service=git-upload-pack'), 'GET');
  t.equal(pub.action === 'forward' && pub.plan.targets[0]!.url.href, 'https://m.test/gh/acme/repo.git/info/refs?service=git-upload-pack');
  const mod = decideRequest(routing, new URL('https://proxy.golang.org/github.com/acme-private/lib/@v/list'), 'GET');
  t.equal(mod.action, 'block', 'privacy guard on the module path');
  const enc = decideRequest(routing, new URL('https://proxy.golang.org/corp.test/!lib/@latest'), 'GET');
  t.equal(enc.action, 'block', 'case-encoded module paths are decoded');
});

t.test('a preset given an index URL takes the mount off: pypi=…/simple, crates=…/index/', async (t) => {
  const bases = (spec: string) => parseMirrorSpecs([spec]).map((r) => `${r.host}${r.pathPrefix} ${r.chain[0]!.target.kind === 'mirror' ? r.chain[0]!.target.base.href : 'origin'}`);
  const pypi = ['pypi.org/simple https://m.test/simple', 'files.pythonhosted.org/packages https://m.test/packages', 'pypi.org/packages https://m.test/packages'];
  t.same(bases('pypi=https://m.test/simple'), pypi);
  t.same(bases('pypi=https://m.test/simple/'), pypi);
  t.same(bases('pypi=https://m.test'), pypi, 'the root itself');
  t.same(bases('pypi=https://m.test/packages'), pypi, 'the files URL');
  t.same(bases('pypi=https://m.test/pypi/simple')[0], 'pypi.org/simple https://m.test/pypi/simple', 'a root under a path');
  t.same(bases('pypi=https://m.test/pypi')[0], 'pypi.org/simple https://m.test/pypi/simple', 'a path that is no mount is the root');
  t.same(bases('pypi=https://m.test/simplex')[0], 'pypi.org/simple https://m.test/simplex/simple', 'at a segment boundary only');
  t.same(bases('crates=https://rsproxy.cn/index/'), ['index.crates.io https://rsproxy.cn/index', 'static.crates.io/crates https://rsproxy.cn/api/v1/crates']);
  t.same(bases('go=https://goproxy.test/sumdb/sum.golang.org')[0], 'proxy.golang.org https://goproxy.test/');
});

t.test('a rule host without a dot is refused with the presets, unless written with a trailing dot', async (t) => {
  for (const spec of ['cpan=https://m.test', 'nmp=https://m.test', 'cpan/x=https://m.test', 'intranet:8080=https://m.test']) {
    t.throws(() => parseMirrorSpecs([spec]), { message: /^unknown preset "(cpan|nmp|intranet)" in ".*"; presets are go, npm, pypi, crates(, \w+)* \(a rule for a host without a dot is written with a trailing dot: "\w+\.=…"\)$/ }, spec);
  }
  const [r] = parseMirrorSpecs(['Intranet.=http://m.test/x']);
  t.equal(r!.host, 'intranet', 'the trailing dot marks a literal single-label host');
  t.ok(matchRule([r!], 'intranet', 80, '/a'));
  t.equal(parseMirrorSpecs(['intranet.:8080/p=http://m.test'])[0]!.host, 'intranet:8080');
  t.equal(parseMirrorSpecs(['10.1.2.3=https://m.test'])[0]!.host, '10.1.2.3', 'an IPv4 literal is a host');
  t.throws(() => parseMirrorSpecs(['a..=https://m.test']), /invalid host/);
});

t.test('credentials in a target URL become that target’s Basic auth; URLs, labels and errors never hold them', async (t) => {
  const rules = parseMirrorSpecs(['npm=https://ci:T0K%40EN@nexus.corp/repository/npm/|https://public.mirror.test|origin']);
  const hops = rules[0]!.chain;
  const first = hops[0]!.target;
  t.equal(first.kind === 'mirror' && first.base.href, 'https://nexus.corp/repository/npm');
  t.equal(first.label, 'nexus.corp/repository/npm');
  t.equal(first.kind === 'mirror' && first.authorization, `Basic ${Buffer.from('ci:T0K@EN').toString('base64')}`, 'percent-decoded');
  t.equal(hops[1]!.target.kind === 'mirror' && hops[1]!.target.authorization, undefined, 'the next target has none');
  const d = decideRequest({ rules, direct: DirectList.from([], {}) }, new URL('https://registry.npmjs.org/acme'), 'GET');
  t.same(d.action === 'forward' && d.plan.targets.map((x) => [x.url.href, x.authorization]), [
    ['https://nexus.corp/repository/npm/acme', `Basic ${Buffer.from('ci:T0K@EN').toString('base64')}`],
    ['https://public.mirror.test/acme', undefined],
    ['https://registry.npmjs.org/acme', undefined],
  ]);
  const raw = parseMirrorSpecs(['github.com=https://u:pw@git.corp.test/gh'])[0]!.chain[0]!.target;
  t.equal(raw.kind === 'mirror' && raw.base.href, 'https://git.corp.test/gh');
  for (const spec of ['npm=https://ci:S3CRET@nexus.corp/x?q=1', 'registry.npmjs.org=https://ci:S3CRET@nexus.corp/x#f', 'npm=ci:S3CRET@nexus.corp', 'npm=https://ci:S3CRET%zz@nexus.corp/']) {
    let message = '';
    try {
      parseMirrorSpecs([spec]);
    } catch (e) {
      t.type(e, ConfigError);
      message = (e as Error).message;
    }
    t.ok(message, `${spec}: refused`);
    t.notMatch(message, /S3CRET/, `…without the secret: ${message}`);
  }
});

/** Where each target of the matching rule would send `url`, as decideRequest plans it. */
function plan(specs: string[], url: string, method = 'GET'): { route: string; targets: string[] } {
  const d = decideRequest({ rules: parseMirrorSpecs(specs), direct: DirectList.from([], {}) }, new URL(url), method);
  if (d.action !== 'forward') throw new Error(`blocked: ${d.reason}`);
  return { route: d.plan.route, targets: d.plan.targets.map((x) => x.url.href) };
}

t.test('a URL-prefix target (…/https://) takes the whole original URL, query included', async (t) => {
  const [r] = parseMirrorSpecs(['raw.githubusercontent.com=https://gh.corp.test/gh/https://|origin']);
  const hop = r!.chain[0]!.target;
  t.same(hop.kind === 'mirror' && [hop.base.href, hop.label, hop.wholeUrl], ['https://gh.corp.test/gh/', 'gh.corp.test/gh', true]);
  const original = new URL('https://raw.githubusercontent.com/acme/widget/main/install%20me.sh?token=a%2Fb');
  const m = matchRule([r!], original.hostname, 443, original.pathname + original.search)!;
  t.equal(targetUrl(m, r!.chain[0]!, original).href, 'https://gh.corp.test/gh/https://raw.githubusercontent.com/acme/widget/main/install%20me.sh?token=a%2Fb');
  t.equal(targetUrl(m, r!.chain[1]!, original), original, 'origin is the original URL');
  // With a path prefix, the whole URL still goes after the base: the prefix only selects requests.
  t.same(plan(['example.test/dl=https://p.test/https://'], 'http://example.test/dl/a.zip').targets, ['https://p.test/http://example.test/dl/a.zip']);
  t.same(plan(['example.test/dl=https://p.test/https://'], 'http://example.test/other').route, 'origin');
  const [c] = parseMirrorSpecs(['x.test=https://ci:T0K@p.test/https://']);
  const auth = c!.chain[0]!.target;
  t.same(auth.kind === 'mirror' && [auth.base.href, auth.wholeUrl, auth.authorization], ['https://p.test/', true, `Basic ${Buffer.from('ci:T0K').toString('base64')}`]);
  // A preset given a prefix URL keeps it as it is: no mounts come off or go on.
  t.same(plan(['npm=https://p.test/https://'], 'https://registry.npmjs.org/is-number').targets, ['https://p.test/https://registry.npmjs.org/is-number']);
  t.same(plan(['pypi=https://p.test/https://'], 'https://files.pythonhosted.org/packages/a/b.whl').targets, ['https://p.test/https://files.pythonhosted.org/packages/a/b.whl']);
});

t.test('a URL-prefix marker written any other way is refused, naming the value', async (t) => {
  for (const target of ['https://p.test/https:/', 'https://p.test/https:', 'https://p.test/http://', 'https://p.test/HTTPS://', 'https://p.test/https:///', 'https://p.test/x/https:/']) {
    for (const spec of [`raw.githubusercontent.com=${target}`, `github=${target}|origin`]) {
      t.throws(() => parseMirrorSpecs([spec]), { message: `invalid mirror target ${JSON.stringify(target)} in ${JSON.stringify(spec)}: a URL-prefix target ends in "/https://" (the whole original URL goes there)` }, spec);
    }
  }
  t.same(plan(['x.test=https://p.test/https:x'], 'https://x.test/a').targets, ['https://p.test/https:x/a'], 'a path that merely starts so is an ordinary base');
});

t.test('"*" in a path prefix stands for one whole element; a literal prefix beats it on a tie', async (t) => {
  t.equal(prefixCovers('/*/*/archive', '/acme/widget/archive/refs/tags/v1.tar.gz'), '/acme/widget/archive'.length);
  t.equal(prefixCovers('/*/*/archive', '/acme/widget/archive'), '/acme/widget/archive'.length);
  t.equal(prefixCovers('/*/*/archive', '/acme/widget/archived'), -1);
  t.equal(prefixCovers('/*/*/archive', '/acme//archive/x'), -1, 'an empty element is no element');
  t.equal(prefixCovers('/*/*/archive', '/acme/archive'), -1);
  t.equal(prefixCovers('', '/x'), 0);
  const rules = parseMirrorSpecs(['github.com/*/*/info/refs=https://wild.test', 'github.com/acme/widget/info/refs=https://literal.test']);
  t.equal(matchRule(rules, 'github.com', 443, '/acme/widget/info/refs?service=git-upload-pack')!.rule.chain[0]!.target.label, 'literal.test');
  const m = matchRule(rules, 'github.com', 443, '/other/repo.git/info/refs?service=git-upload-pack')!;
  t.equal(m.rule.chain[0]!.target.label, 'wild.test');
  t.equal(m.suffix, '?service=git-upload-pack', 'the suffix starts after what the prefix covered');
  for (const spec of ['github.com/ac*me=https://m.test', 'github.com/*x/y=https://m.test', 'github.com/**/x=https://m.test']) {
    t.throws(() => parseMirrorSpecs([spec]), { message: /^invalid path prefix "[^"]+" in mirror rule "[^"]+": "\*" stands for one whole path element/ }, spec);
  }
});

t.test('github preset: downloads, archives, raw files and git fetches go to the proxies; web pages, pushes and the API do not', async (t) => {
  const gh = (url: string, method = 'GET') => plan(['github'], url, method);
  const proxied = (url: string) => ['https://ghfast.top/' + url, 'https://gh-proxy.com/' + url, url];
  for (const url of [
    'https://github.com/acme/widget/releases/download/v1.2.0/widget-linux-amd64.tar.gz',
    'https://github.com/acme/widget/releases/latest/download/widget-linux-amd64.tar.gz',
    'https://github.com/acme/widget/archive/refs/tags/v1.2.0.tar.gz',
    'https://github.com/acme/widget/raw/main/install.sh',
    'https://github.com/acme/widget/info/refs?service=git-upload-pack',
    'https://github.com/acme/widget.git/info/refs?service=git-upload-pack',
    'https://codeload.github.com/acme/widget/tar.gz/refs/tags/v1.2.0',
    'https://raw.githubusercontent.com/acme/widget/main/install.sh',
    'https://gist.githubusercontent.com/acme/0123abcd/raw/x.sh',
    'https://release-assets.githubusercontent.com/github-production-release-asset/1/2?sp=r&sig=a%2Bb',
    'https://objects.githubusercontent.com/github-production-release-asset-2e65be/1/2?X-Amz-Signature=abc',
  ]) {
    t.same(gh(url), { route: 'mirror', targets: proxied(url) }, url);
  }
  t.same(gh('https://github.com/acme/widget.git/git-upload-pack', 'POST'), { route: 'mirror', targets: proxied('https://github.com/acme/widget.git/git-upload-pack') }, "git's fetch is a read");
  for (const [url, method] of [
    ['https://github.com/acme/widget', 'GET'],
    ['https://github.com/acme/widget/releases', 'GET'],
    ['https://github.com/acme/widget/releases/tag/v1.2.0', 'GET'],
    ['https://github.com/acme/widget/blob/main/README.md', 'GET'],
    ['https://github.com/login', 'GET'],
    ['https://github.com/acme/widget.git/info/refs?service=git-receive-pack', 'GET'],
    ['https://github.com/acme/widget.git/git-receive-pack', 'POST'],
    ['https://github.com/acme/widget/archive/refs/tags/v1.tar.gz', 'DELETE'],
  ] as const) {
    t.same(gh(url, method), { route: 'origin', targets: [url] }, `${method} ${url}`);
  }
  const routing = { rules: parseMirrorSpecs(['github']), direct: DirectList.from(['github.com/acme-private'], {}) };
  t.same(decideConnect(routing, 'api.github.com', 443), { action: 'tunnel', route: 'tunnel' }, 'api.github.com is not owned');
  t.same(decideConnect(routing, 'github.com', 443), { action: 'intercept' });
  const priv = decideRequest(routing, new URL('https://github.com/acme-private/lib/info/refs?service=git-upload-pack'), 'GET');
  t.equal(priv.action === 'forward' && priv.plan.route, 'direct', '--direct keeps a private repository away from the proxies');
  t.same(plan(['github=ghproxy.net|origin'], 'https://codeload.github.com/a/b/zip/main').targets, ['https://ghproxy.net/https://codeload.github.com/a/b/zip/main', 'https://codeload.github.com/a/b/zip/main']);
  t.same(plan(['github=https://gh.corp.test/mirror/https://'], 'https://github.com/a/b/archive/main.zip').targets, ['https://gh.corp.test/mirror/https://github.com/a/b/archive/main.zip'], 'a URL given to the preset');
  t.throws(() => parseMirrorSpecs(['github=https://gh.corp.test/mirror']), { message: 'invalid github mirror "https://gh.corp.test/mirror" in "github=https://gh.corp.test/mirror": a URL-prefix proxy is written with a trailing "/https://" (this preset matches paths with "*", which a path-style mirror cannot lay out)' }, 'a path-style mirror cannot serve the preset');
});

t.test('a mirror target URL is the one the base and the path after the prefix make, parsed once', async (t) => {
  // What targetUrl built by setting pathname and search on a copy of the base, before it parsed one string.
  const bySetters = (base: string, suffix: string): string => {
    const q = suffix.indexOf('?');
    const url = new URL(base);
    url.pathname = url.pathname.replace(/\/$/, '') + (q < 0 ? suffix : suffix.slice(0, q));
    url.search = q < 0 ? '' : suffix.slice(q);
    return url.href;
  };
  const paths = ['/golang.org/x/text/@v/v0.14.0.info', '/a%20b/%2e%2e/c', '/x/../y/./z', '', '?only=query', '/p?q=%2F&r=1', '//double', '/caf%C3%A9/ü'];
  for (const base of ['https://goproxy.cn', 'https://goproxy.cn/', 'https://m.test/goproxy/', 'https://ci:tok@m.test:8443/go']) {
    const [rule] = parseMirrorSpecs([`go=${base}`]);
    for (const path of paths) {
      const original = new URL(`https://proxy.golang.org${path.startsWith('?') ? '/' + path : path}`);
      const m = matchRule([rule!], 'proxy.golang.org', 443, original.pathname + original.search)!;
      t.equal(targetUrl(m, rule!.chain[0]!, original).href, bySetters(rule!.chain[0]!.target.kind === 'mirror' ? rule!.chain[0]!.target.base.href : '', m.suffix), `${base} + ${path}`);
    }
  }
});
