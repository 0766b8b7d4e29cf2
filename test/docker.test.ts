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

// Two storage roots filled once: the mirror has `tiny`; Docker Hub has `tiny` and `hubonly`.
const store = tempDir('detour-docker-');
t.teardown(() => store.cleanup());
const TINY = makeImage(join(store.path, 'images'), 'library/tiny', '1', 'tiny from the test\n');
const HUBONLY = makeImage(join(store.path, 'images'), 'library/hubonly', '2', 'only on docker hub\n');
const MIRROR_ROOT = join(store.path, 'mirror-store');
const HUB_ROOT = join(store.path, 'hub-store');
const seeded = skip ? Promise.resolve() : Promise.all([seed(join(store.path, 's1'), MIRROR_ROOT, [TINY]), seed(join(store.path, 's2'), HUB_ROOT, [TINY, HUBONLY])]);

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
  const tokens = tokenServer({ issuer: 'auth.docker.io', service: 'registry.docker.io', signer, users: { hubuser: 'hubpass' }, anonymous: true });
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

  t.ok(mirror.accessLog().includes('GET /v2/library/tiny/manifests/1 200'), 'the real registry served the manifest');
  for (const s of [hub, auth, cdn]) t.equal(s.connections(), 0, 'Docker Hub, its token service and its CDN: no connection');
});
