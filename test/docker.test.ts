// The docker preset end to end: Debian's skopeo (containers/image) copies and inspects docker.io images through
// detour, against the real distribution registry (Debian's docker-registry 2.8, TLS on 127.0.0.1) as the mirror
// and as Docker Hub's registry-1.docker.io, with token auth where the test says so (a Node token server signs the
// JWTs), reached by --connect-to only. What each stand-in received is asserted: the origins nothing while the
// mirror serves, and no token or password on any host it was not meant for.
import t, { type Test } from 'tap';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { answer, makeWorld, needs, type World } from './fixtures/detour.js';
import type { FakeServer } from './fixtures/servers.js';
import { makeTestCa } from './fixtures/tls.js';
import { tempDir } from './fixtures/run.js';
import {
  makeImage,
  makeMultiArch,
  registryFront,
  seed,
  sha256,
  skopeoHome,
  startRegistry,
  storageFiles,
  tokenServer,
  type Image,
  type Registry,
  type TokenServer,
} from './fixtures/registry.js';
import { bearerParams, bearerToken, tokenRequest } from '../src/ecosystems/docker.js';

const skip = needs('skopeo', 'docker-registry');

// Two storage roots filled once: the mirror has `tiny` and the multi-arch `multi`; Docker Hub has `tiny` and `hubonly`.
const store = tempDir('detour-docker-');
t.teardown(() => store.cleanup());
const TINY = makeImage(join(store.path, 'images'), 'library/tiny', '1', 'tiny from the test\n');
const HUBONLY = makeImage(join(store.path, 'images'), 'library/hubonly', '2', 'only on docker hub\n');
const MULTI = makeMultiArch(join(store.path, 'images'), 'library/multi', '3', ['amd64', 'arm64']);
const MIRROR_ROOT = join(store.path, 'mirror-store');
const HUB_ROOT = join(store.path, 'hub-store');
const seeded = skip ? Promise.resolve() : Promise.all([seed(join(store.path, 's1'), MIRROR_ROOT, [TINY, MULTI]), seed(join(store.path, 's2'), HUB_ROOT, [TINY, HUBONLY])]);
seeded.catch(() => {}); // reported by the first test that awaits it, not as an unhandled rejection at load

/** skopeo with its settings in the world's HOME (no system registries.conf, any image accepted). */
function client(w: World): void {
  skopeoHome(w.home);
}

/** Every blob of `image` is in the `dir:` output with the bytes its digest names, and the manifest is the pushed one. */
function assertCopied(t: Test, out: string, image: Image): void {
  const manifest = readFileSync(join(out, 'manifest.json'));
  t.equal(`sha256:${sha256(manifest)}`, image.digest, `${image.name}: the manifest's digest is the one pushed`);
  const blobs = readdirSync(out).filter((f) => /^[0-9a-f]{64}$/.test(f));
  t.same(blobs.sort(), [...image.blobs].sort(), `${image.name}: every blob, and only those`);
  for (const b of blobs) t.equal(sha256(readFileSync(join(out, b))), b, `${image.name}: blob ${b.slice(0, 12)} matches its digest`);
}

/** Stand-ins that must stay silent unless a test says otherwise: Docker Hub's token service and CDN. */
async function silentHub(w: World): Promise<{ auth: FakeServer; cdn: FakeServer }> {
  const auth = await w.https('auth.docker.io', answer(500, 'auth.docker.io must not be asked\n'));
  const cdn = await w.https('production.cloudflare.docker.com', answer(500, 'the CDN must not be asked\n'));
  return { auth, cdn };
}

/** Docker Hub as it works: registry-1.docker.io with token auth (a recording front on the real registry) and auth.docker.io. */
async function dockerHub(t: Test, w: World): Promise<{ registry: Registry; front: FakeServer; auth: FakeServer; tokens: TokenServer }> {
  const signer = await makeTestCa();
  t.teardown(() => signer.cleanup());
  const tokens = tokenServer({ issuer: 'auth.docker.io', service: 'registry.docker.io', signer, users: { hubuser: 'hubpass' }, anonymous: true, pushers: ['hubuser'] });
  const registry = await startRegistry(join(w.tmp, 'hub'), {
    root: HUB_ROOT,
    tls: w.ca.issue(['registry-1.docker.io']),
    token: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', issuer: 'auth.docker.io', rootCertBundle: tokens.rootCertBundle },
  });
  t.teardown(() => registry.stop());
  const front = await w.https('registry-1.docker.io', registryFront(registry.port, w.ca, 'registry-1.docker.io'));
  const auth = await w.https('auth.docker.io', (req, res, body) => {
    if (new URL(req.url ?? '/', 'https://auth.docker.io').pathname !== '/token') return answer(404, 'no such path\n')(req, res, body);
    return tokens.handler(req, res, body);
  });
  return { registry, front, auth, tokens };
}

const authorizations = (s: FakeServer) => s.requests.map((r) => r.headers.authorization).filter((a): a is string => !!a);
const bearerOf = (tokens: TokenServer) => new Set(tokens.issued.map((i) => `Bearer ${i.token}`));

t.test('the challenge and token answer, as the module reads them', async (t) => {
  t.same(
    [...bearerParams('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/tiny:pull"')!],
    [
      ['realm', 'https://auth.docker.io/token'],
      ['service', 'registry.docker.io'],
      ['scope', 'repository:library/tiny:pull'],
    ],
  );
  t.equal(bearerParams('Basic realm="Nexus"'), undefined, 'not a Bearer challenge');
  t.equal(
    tokenRequest(['Basic realm="x"', 'Bearer realm="https://h.test/service/token?x=1",service="harbor-registry",scope="repository:a/b:pull repository:c:pull"'])?.href,
    'https://h.test/service/token?x=1&service=harbor-registry&scope=repository%3Aa%2Fb%3Apull&scope=repository%3Ac%3Apull',
    'one scope parameter per space-separated scope, the realm query kept',
  );
  t.equal(tokenRequest(['Bearer service="x"']), undefined, 'no realm');
  t.same(bearerToken('{"token":"abc.def.ghi","expires_in":300}'), { authorization: 'Bearer abc.def.ghi', ttlMs: 300_000 });
  t.same(bearerToken('{"access_token":"abc"}'), { authorization: 'Bearer abc', ttlMs: 60_000 }, 'access_token; 60 s when expires_in is absent');
  t.equal(bearerToken('{"token":"a\\r\\nX-Evil: 1"}'), undefined, 'nothing that could break a header');
  t.equal(bearerToken('not json'), undefined);
});

t.test('an anonymous mirror serves skopeo copy and inspect; Docker Hub hears nothing', { skip }, async (t) => {
  await seeded;
  const w = await makeWorld(t);
  client(w);
  const mirror = await startRegistry(join(w.tmp, 'mirror'), { root: MIRROR_ROOT, tls: w.ca.issue(['docker.m.daocloud.io']) });
  t.teardown(() => mirror.stop());
  w.map('docker.m.daocloud.io', mirror.port);
  const hub = await w.https('registry-1.docker.io', answer(500, 'registry-1.docker.io must not be asked\n'));
  const { auth, cdn } = await silentHub(w);

  const out = join(w.work, 'tiny');
  // No -m: the default set, which includes docker.
  const copy = await w.detour(['-v', ...w.flags(), '--', 'skopeo', 'copy', 'docker://docker.io/library/tiny:1', `dir:${out}`]);
  t.equal(copy.code, 0, copy.stderr);
  assertCopied(t, out, TINY);
  t.match(copy.stderr, /GET https:\/\/registry-1\.docker\.io\/v2\/library\/tiny\/manifests\/1 \[mirror\] → docker\.m\.daocloud\.io 200/);
  t.match(copy.stderr, new RegExp(`GET https://registry-1\\.docker\\.io/v2/library/tiny/blobs/sha256:${TINY.blobs[1]} \\[mirror\\] → docker\\.m\\.daocloud\\.io 200`));

  const inspect = await w.detour([...w.flags(), '-m', 'docker', '--', 'skopeo', 'inspect', 'docker://docker.io/library/tiny:1']);
  t.equal(inspect.code, 0, inspect.stderr);
  t.equal(JSON.parse(inspect.stdout).Digest, TINY.digest, 'inspect reports the pushed digest');

  // A multi-arch index, as Docker Hub's official images are: the client reads the list, then its platform's manifest by digest.
  const arm = join(w.work, 'multi-arm64');
  const multi = await w.detour([...w.flags(), '-m', 'docker', '--', 'skopeo', '--override-arch', 'arm64', 'copy', 'docker://docker.io/library/multi:3', `dir:${arm}`]);
  t.equal(multi.code, 0, multi.stderr);
  assertCopied(t, arm, MULTI.instances.arm64!);
  const raw = await w.detour([...w.flags(), '-m', 'docker', '--', 'skopeo', 'inspect', '--raw', 'docker://docker.io/library/multi:3']);
  t.equal(raw.code, 0, raw.stderr);
  t.equal(`sha256:${sha256(raw.stdout)}`, MULTI.digest, "the list's bytes, as pushed");

  t.ok(mirror.accessLog().includes('GET /v2/library/tiny/manifests/1 200'), 'the real registry served the manifest');
  t.ok(mirror.accessLog().includes(`GET /v2/library/multi/manifests/${MULTI.instances.arm64!.digest} 200`), "the arm64 instance's manifest, by digest");
  for (const s of [hub, auth, cdn]) t.equal(s.connections(), 0, 'Docker Hub, its token service and its CDN: no connection');
});

/** A team Harbor: the real registry with token auth behind a front that serves Harbor's realm, /service/token, to its robot account. */
async function harbor(t: Test, w: World, opts: { redirect?: string } = {}): Promise<{ front: FakeServer; tokens: TokenServer; registry: Registry }> {
  const signer = await makeTestCa();
  t.teardown(() => signer.cleanup());
  const tokens = tokenServer({ issuer: 'harbor-token-issuer', service: 'harbor-registry', signer, users: { 'robot$ci': 's3cret' } });
  const registry = await startRegistry(join(w.tmp, 'harbor'), {
    root: MIRROR_ROOT,
    tls: w.ca.issue(['harbor.corp.test']),
    token: { realm: 'https://harbor.corp.test/service/token', service: 'harbor-registry', issuer: 'harbor-token-issuer', rootCertBundle: tokens.rootCertBundle },
    ...(opts.redirect ? { redirect: opts.redirect } : {}),
  });
  t.teardown(() => registry.stop());
  const front = await w.https(
    'harbor.corp.test',
    registryFront(registry.port, w.ca, 'harbor.corp.test', { own: (url) => (url.pathname === '/service/token' ? tokens.handler : undefined) }),
  );
  return { front, tokens, registry };
}

/** A Docker Hub login in the client's own settings (~/.docker/config.json), which must never reach a mirror. */
function hubLogin(w: World): void {
  mkdirSync(join(w.home, '.docker'), { recursive: true });
  writeFileSync(join(w.home, '.docker/config.json'), JSON.stringify({ auths: { 'docker.io': { auth: Buffer.from('hubuser:hubpass').toString('base64') } } }));
}

t.test("a team Harbor with its own token realm serves; an image it lacks comes from Docker Hub's token dance; no token crosses hosts", { skip }, async (t) => {
  await seeded;
  const w = await makeWorld(t);
  client(w);
  hubLogin(w);
  const team = await harbor(t, w);
  const hub = await dockerHub(t, w);
  const cdn = await w.https('production.cloudflare.docker.com', answer(500, 'the CDN must not be asked\n'));
  const rule = ['-m', 'docker=https://robot%24ci:s3cret@harbor.corp.test|origin'];

  const tiny = join(w.work, 'tiny');
  const first = await w.detour(['-v', ...rule, ...w.flags(), '--', 'skopeo', 'copy', 'docker://docker.io/library/tiny:1', `dir:${tiny}`]);
  t.equal(first.code, 0, first.stderr);
  assertCopied(t, tiny, TINY);
  t.match(first.stderr, /GET https:\/\/registry-1\.docker\.io\/v2\/library\/tiny\/manifests\/1 \[mirror\] → harbor\.corp\.test 200/);
  t.equal(hub.front.connections() + hub.auth.connections() + cdn.connections(), 0, 'Docker Hub heard nothing while Harbor served');

  const only = join(w.work, 'hubonly');
  const second = await w.detour(['-v', ...rule, ...w.flags(), '--', 'skopeo', 'copy', 'docker://docker.io/library/hubonly:2', `dir:${only}`]);
  t.equal(second.code, 0, second.stderr);
  assertCopied(t, only, HUBONLY);
  t.match(second.stderr, /GET https:\/\/registry-1\.docker\.io\/v2\/library\/hubonly\/manifests\/2 \[mirror\] → origin 200 .*\(tried harbor\.corp\.test:404 → origin:200\)/);

  // Harbor's realm: asked by detour alone, always with the robot account, never with the Docker Hub login.
  t.ok(team.tokens.issued.length > 0, 'Harbor issued tokens');
  t.ok(team.tokens.issued.every((i) => i.user === 'robot$ci'), "every Harbor token went to Harbor's robot account");
  const realmCalls = team.front.requests.filter((r) => r.url.startsWith('/service/token'));
  t.ok(realmCalls.every((r) => r.headers['user-agent'] === 'detour'), 'only detour asked Harbor for a token (the client never saw its challenge)');
  // Docker Hub's realm: asked by detour alone (the client saw Harbor's open ping, so no challenge), anonymously.
  t.ok(hub.tokens.issued.length > 0, 'auth.docker.io issued tokens for the fallback');
  t.ok(hub.tokens.issued.every((i) => i.user === undefined && i.scopes.every((s) => s === 'repository:library/hubonly:pull')), 'anonymous, for the image that fell back');
  t.ok(hub.auth.requests.every((r) => r.headers['user-agent'] === 'detour' && !r.headers.authorization), 'asked by detour, with no credentials');

  const harborTokens = bearerOf(team.tokens);
  const hubTokens = bearerOf(hub.tokens);
  const atHarbor = authorizations(team.front).filter((a) => !a.startsWith('Basic '));
  const atHub = authorizations(hub.front);
  t.ok(atHarbor.length > 0 && atHarbor.every((a) => harborTokens.has(a)), 'Harbor received only tokens its own realm issued');
  t.ok(atHub.length > 0 && atHub.every((a) => hubTokens.has(a)), 'registry-1.docker.io received only tokens auth.docker.io issued');
  const basic = authorizations(team.front).filter((a) => a.startsWith('Basic '));
  t.ok(basic.every((a) => a === `Basic ${Buffer.from('robot$ci:s3cret').toString('base64')}`), "the only Basic credentials Harbor saw are its robot account's");
  const everything = JSON.stringify([team.front.requests.map((r) => r.headers), hub.front.requests.map((r) => r.headers), hub.auth.requests.map((r) => r.headers)]);
  t.notMatch(everything, Buffer.from('hubuser:hubpass').toString('base64'), 'the Docker Hub login was sent nowhere');
  t.notMatch(JSON.stringify(hub.front.requests.map((r) => r.headers)), Buffer.from('robot$ci:s3cret').toString('base64'), "Harbor's robot account never reached Docker Hub");
  t.ok(hub.front.requests.every((r) => !r.url.includes('library/tiny')), 'Docker Hub was asked only about the image Harbor lacks');
  t.notMatch(first.stderr + second.stderr, /s3cret|robot%24ci/, 'the team credentials are never printed');

  // Wrong team credentials: Harbor's realm refuses them, which is the mirror failing (E_AUTH), and `|` moves on.
  const bad = join(w.work, 'bad');
  const wrong = await w.detour(['-m', 'docker=https://robot%24ci:wrong@harbor.corp.test|origin', ...w.flags(), '--', 'skopeo', 'copy', 'docker://docker.io/library/tiny:1', `dir:${bad}`]);
  t.equal(wrong.code, 0, wrong.stderr);
  assertCopied(t, bad, TINY);
  t.match(wrong.stderr, /detour: warning: mirror harbor\.corp\.test failed \(E_AUTH harbor\.corp\.test asked for a credential from harbor\.corp\.test, which answered HTTP 401\); fell back to origin/);
  // After ',' only a 404 moves on: the client gets detour's 502, and skopeo fails.
  const strict = await w.detour(['-m', 'docker=https://robot%24ci:wrong@harbor.corp.test,origin', ...w.flags(), '--', 'skopeo', 'inspect', 'docker://docker.io/library/tiny:1']);
  t.not(strict.code, 0, 'skopeo fails');
  t.match(strict.stderr, /mirror harbor\.corp\.test failed \(E_AUTH .*\); did not try origin/);
});

t.test("a mirror whose ping fails: the client does Docker Hub's dance, and its token never reaches the mirror", { skip }, async (t) => {
  await seeded;
  const w = await makeWorld(t);
  client(w);
  hubLogin(w);
  const mirror = await startRegistry(join(w.tmp, 'mirror'), { root: MIRROR_ROOT, tls: w.ca.issue(['docker.m.daocloud.io']) });
  t.teardown(() => mirror.stop());
  // The mirror's /v2/ fails (503), so the ping falls back to Docker Hub and the client sees Docker Hub's challenge;
  // everything else the mirror serves.
  const front = await w.https(
    'docker.m.daocloud.io',
    registryFront(mirror.port, w.ca, 'docker.m.daocloud.io', { own: (url) => (url.pathname === '/v2/' ? answer(503, 'ping unavailable\n') : undefined) }),
  );
  const hub = await dockerHub(t, w);

  const out = join(w.work, 'tiny');
  const copy = await w.detour(['-v', ...w.flags(), '--', 'skopeo', 'copy', 'docker://docker.io/library/tiny:1', `dir:${out}`]);
  t.equal(copy.code, 0, copy.stderr);
  assertCopied(t, out, TINY);
  t.match(copy.stderr, /GET https:\/\/registry-1\.docker\.io\/v2\/ \[mirror\] → origin 401/);
  t.match(copy.stderr, /CONNECT auth\.docker\.io:443 \[tunnel\]/, "the client asked Docker Hub's realm itself, through a tunnel");
  t.match(copy.stderr, /GET https:\/\/registry-1\.docker\.io\/v2\/library\/tiny\/manifests\/1 \[mirror\] → docker\.m\.daocloud\.io 200/);

  // The client logged in to Docker Hub's realm with its own account and sent that token to registry-1.docker.io...
  t.ok(hub.tokens.issued.some((i) => i.user === 'hubuser'), "the client's own login got its token from auth.docker.io");
  t.ok(hub.auth.requests.every((r) => /^skopeo\//.test(String(r.headers['user-agent']))), 'only the client asked auth.docker.io');
  // ...which detour kept from the mirror.
  t.same(authorizations(front), [], 'the mirror received no Authorization at all');
  t.same(
    hub.front.requests.map((r) => r.url),
    ['/v2/'],
    'Docker Hub answered the ping alone',
  );
});

t.test("a dead mirror: the client does Docker Hub's dance at the origin, and every request falls back", { skip }, async (t) => {
  await seeded;
  const w = await makeWorld(t);
  client(w);
  w.map('docker.m.daocloud.io', await w.deadPort());
  const hub = await dockerHub(t, w);
  const out = join(w.work, 'hubonly');
  const copy = await w.detour([...w.flags(), '--', 'skopeo', 'copy', 'docker://docker.io/library/hubonly:2', `dir:${out}`]);
  t.equal(copy.code, 0, copy.stderr);
  assertCopied(t, out, HUBONLY);
  t.match(copy.stderr, /detour: warning: mirror docker\.m\.daocloud\.io failed \(E_CONNECT .*\); fell back to origin/);
  t.ok(hub.auth.requests.length > 0 && hub.auth.requests.every((r) => /^skopeo\//.test(String(r.headers['user-agent']))), 'the client asked auth.docker.io itself', { found: hub.auth.requests.map((r) => [r.url, r.headers['user-agent']]) });
  const hubTokens = bearerOf(hub.tokens);
  const atHub = authorizations(hub.front);
  t.ok(atHub.length > 0 && atHub.every((a) => hubTokens.has(a)), 'registry-1.docker.io received only tokens auth.docker.io issued');
});

t.test('a push to Docker Hub with -m docker=origin: the client logs in itself and its writes reach the origin with its token', { skip }, async (t) => {
  await seeded;
  const w = await makeWorld(t);
  client(w);
  hubLogin(w);
  const mirror = await w.https('docker.m.daocloud.io', answer(500, 'the mirror must not be asked\n'));
  const hub = await dockerHub(t, w);
  const app = makeImage(join(w.tmp, 'images'), 'acme/app', '1', 'pushed through detour\n');
  const push = await w.detour(['-v', '-m', 'docker=origin', ...w.flags(), '--', 'skopeo', 'copy', `dir:${app.layout}`, 'docker://docker.io/acme/app:1']);
  t.equal(push.code, 0, push.stderr);
  t.match(push.stderr, /PUT https:\/\/registry-1\.docker\.io\/v2\/acme\/app\/manifests\/1 \[origin\] → origin 201/, 'the manifest was written to the origin');
  t.ok(hub.tokens.issued.some((i) => i.user === 'hubuser' && i.scopes.some((s) => s === 'repository:acme/app:pull,push')), "the client got a push token with its own login");
  const hubTokens = bearerOf(hub.tokens);
  const writes = hub.front.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD');
  t.ok(writes.length > 0 && writes.every((r) => hubTokens.has(String(r.headers.authorization))), "every write carried the client's own token");
  t.equal(hub.registry.accessLog().filter((l) => l.startsWith('PUT /v2/acme/app/manifests/1 201')).length, 1, 'the real registry stored the manifest');
  t.equal(mirror.connections(), 0, 'the mirror was not asked');
});

t.test('a push while a mirror answers the ping: Docker Hub refuses it, and detour says once what to do', { skip }, async (t) => {
  await seeded;
  const w = await makeWorld(t);
  client(w);
  hubLogin(w);
  const mirror = await startRegistry(join(w.tmp, 'mirror'), { root: MIRROR_ROOT, tls: w.ca.issue(['docker.m.daocloud.io']) });
  t.teardown(() => mirror.stop());
  w.map('docker.m.daocloud.io', mirror.port);
  const hub = await dockerHub(t, w);
  const app = makeImage(join(w.tmp, 'images'), 'acme/app', '1', 'refused through a mirror\n');
  const push = await w.detour([...w.flags(), '--', 'skopeo', 'copy', `dir:${app.layout}`, 'docker://docker.io/acme/app:1']);
  t.not(push.code, 0, 'the push fails: the client never logged in');
  const hints = push.stderr.split('\n').filter((l) => l.startsWith('detour: warning: registry-1.docker.io refused'));
  t.equal(hints.length, 1, `one warning, however many writes were refused: ${push.stderr}`);
  t.match(hints[0], /refused (POST|PUT|PATCH|HEAD) without credentials \(HTTP 401\): .*-m docker=origin or -d registry-1\.docker\.io/);
  t.ok(hub.front.requests.some((r) => r.method !== 'GET' && r.method !== 'HEAD' && !r.headers.authorization), 'the refused write reached Docker Hub without credentials');
  t.equal(hub.registry.accessLog().filter((l) => l.startsWith('PUT /v2/acme/app/manifests/1 201')).length, 0, 'nothing was stored');
  t.notOk(mirror.accessLog().some((l) => /^(PUT|POST|PATCH|DELETE) /.test(l)), 'no write reached the mirror');
});

t.test("redirects: a mirror's own storage path comes back through detour; a storage host is followed through a tunnel; a team base URL under a path", { skip }, async (t) => {
  await seeded;
  const w = await makeWorld(t);
  client(w);
  const hub = await w.https('registry-1.docker.io', answer(500, 'registry-1.docker.io must not be asked\n'));
  const { auth, cdn } = await silentHub(w);

  // docker.m.daocloud.io redirects blob GETs to a path on its own host (distribution's redirect middleware).
  const own = await startRegistry(join(w.tmp, 'own'), { root: MIRROR_ROOT, tls: w.ca.issue(['docker.m.daocloud.io']), redirect: 'https://docker.m.daocloud.io' });
  t.teardown(() => own.stop());
  const daocloud = await w.https(
    'docker.m.daocloud.io',
    registryFront(own.port, w.ca, 'docker.m.daocloud.io', { own: (url) => (url.pathname.startsWith('/docker/registry/v2/') ? storageFiles(MIRROR_ROOT) : undefined) }),
  );
  const out1 = join(w.work, 'own');
  const first = await w.detour(['-v', '-m', 'docker', ...w.flags(), '--', 'skopeo', 'copy', 'docker://docker.io/library/tiny:1', `dir:${out1}`]);
  t.equal(first.code, 0, first.stderr);
  assertCopied(t, out1, TINY);
  const layer = TINY.blobs[1]!;
  t.match(first.stderr, new RegExp(`GET https://registry-1\\.docker\\.io/v2/library/tiny/blobs/sha256:${layer} \\[mirror\\] → docker\\.m\\.daocloud\\.io 307`));
  t.match(
    first.stderr,
    new RegExp(`GET https://registry-1\\.docker\\.io/docker/registry/v2/blobs/sha256/${layer.slice(0, 2)}/${layer}/data \\[mirror\\] → docker\\.m\\.daocloud\\.io 200`),
    "the Location named the mirror's host; the client's next request came back to registry-1.docker.io, routed to the mirror",
  );
  t.ok(daocloud.requests.some((r) => r.url === `/docker/registry/v2/blobs/sha256/${layer.slice(0, 2)}/${layer}/data`), 'the mirror served its storage path');

  // A team's Nexus-style base URL under a path, whose registry redirects blobs to object storage on another host.
  const nexusRegistry = await startRegistry(join(w.tmp, 'nexus'), { root: MIRROR_ROOT, tls: w.ca.issue(['nexus.corp.test']), redirect: 'https://s3.corp.test' });
  t.teardown(() => nexusRegistry.stop());
  const nexus = await w.https('nexus.corp.test', registryFront(nexusRegistry.port, w.ca, 'nexus.corp.test', { strip: '/repository/docker-hub' }));
  const s3 = await w.https('s3.corp.test', storageFiles(MIRROR_ROOT));
  const out2 = join(w.work, 'nexus');
  const team = ['-m', 'docker=https://nexus.corp.test/repository/docker-hub|origin'];
  const second = await w.detour(['-v', ...team, ...w.flags(), '--', 'skopeo', 'copy', 'docker://docker.io/library/tiny:1', `dir:${out2}`]);
  t.equal(second.code, 0, second.stderr);
  assertCopied(t, out2, TINY);
  t.ok(nexus.requests.some((r) => r.url === '/repository/docker-hub/v2/library/tiny/manifests/1'), 'the team mirror was asked under its base path');
  t.match(second.stderr, /\[mirror\] → nexus\.corp\.test\/repository\/docker-hub 307/);
  t.match(second.stderr, /CONNECT s3\.corp\.test:443 \[tunnel\]/, 'the storage host is reached through a tunnel, as without the preset');
  t.ok(s3.requests.some((r) => r.url === `/docker/registry/v2/blobs/sha256/${layer.slice(0, 2)}/${layer}/data`), 'object storage served the layer');

  for (const s of [hub, auth, cdn]) t.equal(s.connections(), 0, 'Docker Hub, its token service and its CDN: no connection');

  const check = await w.detour(['check', '--json', '-m', 'docker=https://nexus.corp.test/repository/docker-hub', ...w.flags()]);
  t.equal(check.code, 0, check.stderr);
  t.same(
    JSON.parse(check.stdout).map((r: { target: string; url: string; status: number; ok: boolean }) => [r.target, r.url, r.status, r.ok]),
    [['nexus.corp.test/repository/docker-hub', 'https://nexus.corp.test/repository/docker-hub/v2/', 200, true]],
    'check probes the registry ping under the base path',
  );
});

t.test('presets and bad input', async (t) => {
  const w = await makeWorld(t);
  const presets = await w.detour(['presets', '--json']);
  t.equal(presets.code, 0, presets.stderr);
  const docker = JSON.parse(presets.stdout).find((p: { name: string }) => p.name === 'docker');
  t.ok(docker, 'detour presets lists docker');
  t.match(JSON.stringify(docker), /registry-1\.docker\.io/);
  t.match(JSON.stringify(docker), /docker\.m\.daocloud\.io/);
  const bad = await w.detour(['-m', 'docker=quay', '--', 'true']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^detour: unknown docker mirror "quay" in "docker=quay"; known: daocloud, origin, or a URL\n$/);
});
