// Pure parts, tested directly: rule parsing and matching, GOPRIVATE / NO_PROXY patterns, routing decisions.
import t from 'tap';
import { parseMirrorSpecs, matchRule, targetUrl } from '../src/rules.js';
import { DirectList, goPattern, noProxyPattern } from '../src/patterns.js';
import { decideConnect, decideRequest } from '../src/router.js';
import { ConfigError } from '../src/errors.js';

t.test('presets expand to one rule per origin route, with mounts', async (t) => {
  const rules = parseMirrorSpecs(['go=aliyun|goproxy.cn|origin']);
  t.same(rules.map((r) => r.host), ['proxy.golang.org', 'sum.golang.org']);
  const sum = rules[1]!;
  t.same(sum.chain.map((h) => [h.via, h.target.label]), [[undefined, 'mirrors.aliyun.com/goproxy/sumdb/sum.golang.org'], ['|', 'goproxy.cn/sumdb/sum.golang.org'], ['|', 'origin']]);
  t.equal(sum.exhaustedStatus, 404);
  t.same(parseMirrorSpecs([]).map((r) => r.source).filter((v, i, a) => a.indexOf(v) === i), ['go', 'npm', 'pypi', 'crates'], 'no -m: every preset');
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
