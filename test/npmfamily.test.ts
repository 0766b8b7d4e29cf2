// The npm family through the npm preset: yarn 1, pnpm and bun, each isolated (HOME, cache, store under the
// test's folders), against a fake npmmirror. registry.npmjs.org and registry.yarnpkg.com are fake too, and
// record: a client that reached either would show there (and get a 500). Every other name, any port, goes
// to a dead local port (`--connect-to=::…`), so nothing leaves the machine.
import t, { type Test } from 'tap';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { answer, CURL, makeWorld, needs, type World } from './fixtures/detour.js';
import type { FakeServer } from './fixtures/servers.js';
import { npmPackage, npmRegistryHandler, type NpmPackage } from './fixtures/npmRegistry.js';

const MIRROR = 'https://registry.npmmirror.com';

/** A fake npmmirror serving `pkg`, and the two origins the npm preset owns, silent. */
async function npmWorld(t: Test, pkg: NpmPackage) {
  const w = await makeWorld(t);
  const mirror = await w.https('registry.npmmirror.com', npmRegistryHandler([pkg], MIRROR));
  const origins = {
    npmjs: await w.https('registry.npmjs.org', answer(500, 'registry.npmjs.org must not be asked\n')),
    yarnpkg: await w.https('registry.yarnpkg.com', answer(500, 'registry.yarnpkg.com must not be asked\n')),
  };
  const flags = [...w.flags(), `--connect-to=::127.0.0.1:${await w.deadPort()}`, '-v'];
  return { w, mirror, origins, flags };
}

const paths = (s: FakeServer) => s.requests.map((r) => `${r.method} ${new URL(r.url, 'https://x').pathname}`);

/** Both origins received nothing, and detour routed every request of the run down a mirror rule. */
function originsSilent(t: Test, origins: Record<string, FakeServer>, stderr: string): void {
  for (const [name, s] of Object.entries(origins)) t.same(paths(s), [], `${name} received nothing`);
  t.notMatch(stderr, /\[(tunnel|origin|direct)\]/, 'no request tunneled or sent to an origin');
}

/** A project folder with a package.json. */
function project(w: World, name: string): string {
  const dir = join(w.work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }, null, 2));
  return dir;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

t.test('the npm preset owns registry.yarnpkg.com; metadata names the host the client asked', { skip: needs('curl') }, async (t) => {
  const pkg = npmPackage('acme-widget', '1.0.0');
  const { w, mirror, origins, flags } = await npmWorld(t, pkg);
  for (const host of ['registry.npmjs.org', 'registry.yarnpkg.com']) {
    const r = await w.detour([...flags, '-m', 'npm', '--', ...CURL, '--compressed', `https://${host}/acme-widget`]);
    t.equal(r.code, 0, r.stderr);
    const body = r.stdout.slice(0, r.stdout.lastIndexOf('\n'));
    t.equal(r.stdout.slice(r.stdout.lastIndexOf('\n') + 1), '200');
    const doc = JSON.parse(body) as { versions: Record<string, { dist: { tarball: string; integrity: string } }> };
    t.equal(doc.versions['1.0.0']!.dist.tarball, `https://${host}${pkg.tarballPath}`, `asked ${host}: dist.tarball on ${host}`);
    t.equal(doc.versions['1.0.0']!.dist.integrity, pkg.integrity, 'integrity untouched');
    t.match(r.stderr, new RegExp(`GET https://${esc(host)}/acme-widget \\[mirror\\] → registry\\.npmmirror\\.com 200`));
  }
  const tgz = await w.detour([...flags, '-m', 'npm', '--', 'sh', '-c', `curl -sS --max-time 30 https://registry.yarnpkg.com${pkg.tarballPath} | sha512sum`]);
  t.equal(tgz.stdout.split(' ')[0], Buffer.from(pkg.integrity.slice('sha512-'.length), 'base64').toString('hex'), 'the tarball through registry.yarnpkg.com is byte for byte the mirror’s');
  t.same(paths(mirror), ['GET /acme-widget', 'GET /acme-widget', `GET ${pkg.tarballPath}`], 'the mirror served both hosts');
  originsSilent(t, origins, '');

  const presets = await w.detour(['presets', '--json']);
  const npm = (JSON.parse(presets.stdout) as { name: string; hosts: string[] }[]).find((p) => p.name === 'npm');
  t.same(npm?.hosts, ['registry.npmjs.org', 'registry.yarnpkg.com'], 'detour presets lists yarn’s host under npm');
});
