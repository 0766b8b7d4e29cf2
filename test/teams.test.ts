// A team's Go module mirror as the first hop: a GOPROXY tree on disk (<module>/@v/list, .info, .mod, .zip,
// the layout Athens and `GOPROXY=file://` use) served by a plain static file server on 127.0.0.1, then the
// origin (a local stand-in for proxy.golang.org) for what the team's mirror lacks.
import t from 'tap';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { escapeModulePath, goproxyHandler, moduleZip, sampleModuleGraph, type FakeModule } from './fixtures/goproxy.js';
import { makeWorld, needs, type World } from './fixtures/detour.js';
import { startServer } from './fixtures/servers.js';
import { staticFiles } from './fixtures/staticFiles.js';

/** Writes the GOPROXY protocol's files for `modules` under `root`. */
function goproxyTree(root: string, modules: readonly FakeModule[]): void {
  const write = (rel: string, data: string | Buffer) => {
    const file = join(root, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, data);
  };
  for (const path of new Set(modules.map((m) => m.path))) {
    const versions = modules.filter((m) => m.path === path);
    const dir = `${escapeModulePath(path)}/@v`;
    write(`${dir}/list`, versions.map((m) => m.version + '\n').join(''));
    for (const m of versions) {
      const v = escapeModulePath(m.version);
      write(`${dir}/${v}.info`, JSON.stringify({ Version: m.version, Time: '2023-01-02T03:04:05Z' }));
      write(`${dir}/${v}.mod`, m.goMod);
      write(`${dir}/${v}.zip`, moduleZip(m));
    }
  }
}

function goProject(w: World): NodeJS.ProcessEnv {
  const graph = sampleModuleGraph();
  writeFileSync(join(w.work, 'go.mod'), graph.mainGoMod);
  writeFileSync(join(w.work, 'main.go'), graph.mainGo);
  return {
    GOFLAGS: '-mod=mod',
    GOSUMDB: 'off', // the checksum database is not what this test is about
    GOTOOLCHAIN: 'local',
    GOPATH: join(w.work, 'gopath'),
    GOMODCACHE: join(w.work, 'modcache'),
    GOCACHE: join(w.work, 'gocache'),
  };
}

t.test('go mod download from a team GOPROXY tree on a static file server, the origin for what it lacks', { skip: needs('go') }, async (t) => {
  const w = await makeWorld(t);
  const env = goProject(w);
  const { modules } = sampleModuleGraph();
  // The team's mirror has cached everything but github.com/acme/gear.
  const tree = join(w.tmp, 'athens');
  goproxyTree(tree, modules.filter((m) => m.path !== 'github.com/acme/gear'));
  const team = await startServer({ handler: staticFiles(tree) });
  t.teardown(() => team.close());
  const origin = await w.https('proxy.golang.org', goproxyHandler(modules));

  const r = await w.detour([...w.flags(), '-v', '-m', `go=${team.url}|origin`, '--', 'go', 'mod', 'download'], { env, timeoutMs: 120_000 });
  t.equal(r.code, 0, r.code === 0 ? 'go mod download' : r.stderr);
  const got = (s: { requests: { url: string }[] }) => s.requests.map((q) => decodeURIComponent(q.url)).filter((u) => u.endsWith('.zip')).sort();
  const zips = ['/github.com/!acme!labs/!sprocket/@v/v0.1.0.zip', '/github.com/acme/gear/@v/v0.3.1.zip', '/github.com/acme/widget/@v/v1.2.0.zip'];
  t.same(got(team), zips, 'every zip was asked of the team mirror first');
  t.same(got(origin), ['/github.com/acme/gear/@v/v0.3.1.zip'], 'the origin was asked only for the one it lacks');
  const hop = `127\\.0\\.0\\.1:${team.port}`;
  t.match(r.stderr, new RegExp(`GET https://proxy\\.golang\\.org/github\\.com/(!|%21)acme(!|%21)labs/(!|%21)sprocket/@v/v0\\.1\\.0\\.zip \\[mirror\\] → ${hop} 200`));
  t.match(r.stderr, new RegExp(`GET https://proxy\\.golang\\.org/github\\.com/acme/widget/@v/v1\\.2\\.0\\.zip \\[mirror\\] → ${hop} 200`), 'go asked proxy.golang.org; the team mirror answered');
  t.match(r.stderr, new RegExp(`GET https://proxy\\.golang\\.org/github\\.com/acme/gear/@v/v0\\.3\\.1\\.zip \\[(mirror|origin)\\] → origin 200 .*tried ${hop}:404`), 'a 404 from the team mirror moved on to the origin');
  for (const dir of ['github.com/acme/widget@v1.2.0/widget.go', 'github.com/acme/gear@v0.3.1/gear.go', 'github.com/!acme!labs/!sprocket@v0.1.0/sprocket.go']) {
    t.ok(existsSync(join(w.work, 'modcache', dir)), `${dir} extracted into the module cache`);
  }
});
