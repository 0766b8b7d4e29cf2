// Proves the fixtures themselves work against real clients (curl, go, git),
// so later detour tests can trust them.
import t from 'tap';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeTestCa } from './fixtures/tls.js';
import { countFor, startServer, type FakeServer } from './fixtures/servers.js';
import { startConnectProxy, type ConnectProxy } from './fixtures/connectProxy.js';
import { escapeModulePath, goproxyHandler, moduleZip, sampleModuleGraph } from './fixtures/goproxy.js';
import { gitHttpBackendHandler, makeBareRepo } from './fixtures/git.js';
import { crc32, makeZip } from './fixtures/zip.js';
import { hasCommand, isolatedEnv, run, tempDir } from './fixtures/run.js';

const ca = await makeTestCa();
t.teardown(() => ca.cleanup());

/** Skip reason when `tool` is missing; in CI a missing tool is a failure instead. */
function needs(tool: string): string | false {
  if (hasCommand(tool)) return false;
  if (process.env.CI) {
    t.fail(`${tool} must be installed in CI`);
    return false;
  }
  return `${tool} not on PATH`;
}

async function server(tt: Tap, opts: Parameters<typeof startServer>[0]): Promise<FakeServer> {
  const s = await startServer(opts);
  tt.teardown(() => s.close());
  return s;
}

async function proxyTo(tt: Tap, port: number): Promise<ConnectProxy> {
  const p = await startConnectProxy(() => ({ host: '127.0.0.1', port }));
  tt.teardown(() => p.close());
  return p;
}

// Only teardown is needed from a test object; structural so subtests fit too.
type Tap = { teardown(fn: () => unknown): void };

// -q first: ignore any ~/.curlrc. --noproxy: never go via a developer's proxy.
function curl(args: string[]): ReturnType<typeof run> {
  return run('curl', ['-q', '--silent', '--show-error', '--noproxy', '*', '--max-time', '20', ...args], {
    env: isolatedEnv({ HOME: ca.dir }),
    timeoutMs: 30_000,
  });
}

t.test('run() reports exit codes and kills on timeout', async (tt) => {
  const ok = await run('sh', ['-c', 'read x; echo "got $x"; echo oops >&2; exit 3'], { input: 'hi\n' });
  tt.equal(ok.code, 3);
  tt.equal(ok.stdout, 'got hi\n');
  tt.equal(ok.stderr, 'oops\n');
  tt.equal(ok.timedOut, false);
  const started = Date.now();
  const slow = await run('sh', ['-c', 'sleep 30 & sleep 30'], { timeoutMs: 300 });
  tt.equal(slow.timedOut, true);
  tt.equal(slow.signal, 'SIGKILL');
  tt.ok(Date.now() - started < 5000, 'timeout bounded the wait');
  tt.equal(hasCommand('sh'), true);
  tt.equal(hasCommand('no-such-command-detour'), false);
});

t.test('server records requests made by curl', { skip: needs('curl') }, async (tt) => {
  const s = await server(tt, {
    tls: ca.issue(['goproxy.cn']),
    handler: (_req, res, body) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`echo ${body.length}`);
    },
  });
  const r = await curl([
    '--resolve', `goproxy.cn:${s.port}:127.0.0.1`, '--cacert', ca.certFile,
    '-H', 'X-Fixture: yes', '--data-binary', 'hello=1', `https://goproxy.cn:${s.port}/submit?x=1`,
  ]);
  tt.equal(r.code, 0, r.stderr);
  tt.equal(r.stdout, 'echo 7');
  tt.equal(s.requests.length, 1);
  const [rec] = s.requests;
  tt.match(rec, { method: 'POST', host: `goproxy.cn:${s.port}`, url: '/submit?x=1' });
  tt.equal(rec.headers['x-fixture'], 'yes');
  tt.equal(rec.body.toString(), 'hello=1');
  tt.equal(countFor(s, (x) => x.method === 'POST'), 1);
  tt.equal(countFor(s, (x) => x.method === 'GET'), 0);
});

t.test('close() does not wait for keep-alive sockets', async (tt) => {
  const s = await startServer({ handler: (_req, res) => void res.end('ok') });
  const agent = new http.Agent({ keepAlive: true });
  await new Promise<void>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: s.port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', resolve);
    }).on('error', reject);
  });
  const started = Date.now();
  await s.close();
  agent.destroy();
  tt.ok(Date.now() - started < 1000, `closed in ${Date.now() - started}ms`);
});

t.test('expired and untrusted certificates are rejected', { skip: needs('curl') }, async (tt) => {
  const expired = await server(tt, { tls: ca.issue(['goproxy.cn'], { expired: true }), handler: (_q, res) => void res.end() });
  const r1 = await curl(['--resolve', `goproxy.cn:${expired.port}:127.0.0.1`, '--cacert', ca.certFile,
    `https://goproxy.cn:${expired.port}/`]);
  tt.equal(r1.code, 60, 'curl: peer certificate cannot be authenticated');
  tt.match(r1.stderr, /expired/i);
  tt.equal(countFor(expired), 0);

  const other = await makeTestCa();
  tt.teardown(() => other.cleanup());
  const stranger = await server(tt, { tls: other.issue(['goproxy.cn']), handler: (_q, res) => void res.end() });
  const r2 = await curl(['--resolve', `goproxy.cn:${stranger.port}:127.0.0.1`, '--cacert', ca.certFile,
    `https://goproxy.cn:${stranger.port}/`]);
  tt.equal(r2.code, 60);
  tt.equal(countFor(stranger), 0);

  // Same CA, wrong name: proves SAN checking happens.
  const wrong = await server(tt, { tls: ca.issue(['git.mirror.test']), handler: (_q, res) => void res.end() });
  const r3 = await curl(['--resolve', `goproxy.cn:${wrong.port}:127.0.0.1`, '--cacert', ca.certFile,
    `https://goproxy.cn:${wrong.port}/`]);
  tt.not(r3.code, 0);
});

t.test('zip writer: CRC and archive validity', async (tt) => {
  tt.equal(crc32(Buffer.from('123456789')), 0xcbf43926, 'standard CRC-32 check value');
  const random = randomBytes(70_000);
  // gzip's trailer holds zlib's own CRC-32 of the input: an independent check.
  tt.equal(crc32(random), gzipSync(random).readUInt32LE(gzipSync(random).length - 8));
  const files: Record<string, Buffer> = {
    'a/go.mod': Buffer.from('module a\n'),
    'a/big.txt': Buffer.from('all work and no play\n'.repeat(5000)),
    'a/empty': Buffer.alloc(0),
    'a/random.bin': random,
    'a/deep/er/naïve.txt': Buffer.from('utf-8 name\n'),
  };
  const zip = makeZip(Object.entries(files).map(([name, data]) => ({ name, data })));
  tt.ok(zip.length < random.length + 20_000, 'repetitive text was deflated');
  const dir = tempDir('detour-zip-');
  tt.teardown(() => dir.cleanup());
  const file = join(dir.path, 'test.zip');
  writeFileSync(file, zip);

  const py = needs('python3');
  tt.test('python zipfile reads identical content', { skip: py }, async (t2) => {
    const script = 'import sys,zipfile,hashlib,json\nz=zipfile.ZipFile(sys.argv[1])\n' +
      'assert z.testzip() is None\nprint(json.dumps({i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist()}))';
    const r = await run('python3', ['-c', script, file], { env: isolatedEnv() });
    t2.equal(r.code, 0, r.stderr);
    const { createHash } = await import('node:crypto');
    const want = Object.fromEntries(Object.entries(files).map(([n, d]) => [n, createHash('sha256').update(d).digest('hex')]));
    t2.same(JSON.parse(r.stdout), want);
  });
  tt.test('unzip -t passes', { skip: needs('unzip') }, async (t2) => {
    const r = await run('unzip', ['-t', file], { env: isolatedEnv() });
    t2.equal(r.code, 0, r.stdout + r.stderr);
    t2.match(r.stdout, /No errors detected/);
  });
});

t.test('goproxy handler speaks the protocol (prefix, escaping, 404s)', async (tt) => {
  const { modules } = sampleModuleGraph();
  const s = await server(tt, { handler: goproxyHandler(modules, { prefix: '/goproxy' }) });
  const get = async (path: string): Promise<{ status: number; text: string }> => {
    const r = await fetch(s.url + path, { signal: AbortSignal.timeout(10_000) });
    return { status: r.status, text: await r.text() };
  };
  tt.same(await get('/goproxy/github.com/acme/widget/@v/list'), { status: 200, text: 'v1.1.0\nv1.2.0\n' });
  tt.match(JSON.parse((await get('/goproxy/github.com/acme/widget/@latest')).text), { Version: 'v1.2.0' });
  tt.equal(escapeModulePath('github.com/AcmeLabs/Sprocket'), 'github.com/!acme!labs/!sprocket');
  const mod = await get('/goproxy/github.com/!acme!labs/!sprocket/@v/v0.1.0.mod');
  tt.same(mod, { status: 200, text: 'module github.com/AcmeLabs/Sprocket\n\ngo 1.19\n' });
  tt.same(await get('/goproxy/github.com/AcmeLabs/Sprocket/@v/v0.1.0.mod'), { status: 404, text: 'not found' });
  tt.same(await get('/goproxy/github.com/acme/nothing/@v/list'), { status: 404, text: 'not found' });
  tt.same(await get('/github.com/acme/widget/@v/list'), { status: 404, text: 'not found' }, 'prefix required');
  const zip = await fetch(s.url + '/goproxy/github.com/acme/widget/@v/v1.2.0.zip', { signal: AbortSignal.timeout(10_000) });
  tt.equal(zip.headers.get('content-type'), 'application/zip');
  tt.same(Buffer.from(await zip.arrayBuffer()), moduleZip(modules.find((m) => m.version === 'v1.2.0')!));
});

t.test('real go downloads and builds modules from the fake goproxy', { skip: needs('go') }, async (tt) => {
  const { modules, mainGoMod, mainGo } = sampleModuleGraph();
  const s = await server(tt, { tls: ca.issue(['goproxy.cn']), handler: goproxyHandler(modules) });
  const proxy = await proxyTo(tt, s.port);
  const tmp = tempDir('detour-go-');
  tt.teardown(() => tmp.cleanup());
  const app = join(tmp.path, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'go.mod'), mainGoMod);
  writeFileSync(join(app, 'main.go'), mainGo);
  const env = isolatedEnv({
    GOPROXY: 'https://goproxy.cn',
    GOSUMDB: 'off',
    GOFLAGS: '-mod=mod',
    GOTOOLCHAIN: 'local',
    GOPATH: tmp.path,
    GOMODCACHE: join(tmp.path, 'mod'),
    GOCACHE: join(tmp.path, 'cache'),
    HOME: tmp.path,
    SSL_CERT_FILE: ca.certFile,
    HTTPS_PROXY: proxy.url,
    CGO_ENABLED: '0', // no C toolchain needed for the build step
  });

  const dl = await run('go', ['mod', 'download', '-json'], { cwd: app, env, timeoutMs: 120_000 });
  tt.equal(dl.code, 0, `go mod download: ${dl.stderr}`);
  const infos = JSON.parse(`[${dl.stdout.trim().replace(/}\s*{/g, '},{')}]`) as Array<Record<string, string>>;
  tt.same(infos.map((i) => `${i.Path}@${i.Version}`).sort(), [
    'github.com/AcmeLabs/Sprocket@v0.1.0', 'github.com/acme/gear@v0.3.1', 'github.com/acme/widget@v1.2.0',
  ]);
  tt.same(infos.filter((i) => i.Error), []);
  const mod = join(tmp.path, 'mod');
  tt.equal(readFileSync(join(mod, 'github.com/acme/widget@v1.2.0/widget.go'), 'utf8'),
    modules.find((m) => m.version === 'v1.2.0')!.files['widget.go']);
  tt.ok(existsSync(join(mod, 'github.com/!acme!labs/!sprocket@v0.1.0/LICENSE')), 'escaped path in cache');
  tt.ok(existsSync(join(mod, 'cache/download/github.com/acme/gear/@v/v0.3.1.zip')));
  for (const p of ['github.com/acme/widget/@v/v1.2.0.zip', 'github.com/acme/gear/@v/v0.3.1.zip',
    'github.com/!acme!labs/!sprocket/@v/v0.1.0.zip']) {
    // Go sends '!' as %21, so compare decoded paths.
    tt.equal(countFor(s, (r) => decodeURIComponent(r.url) === `/${p}`), 1, `fetched ${p}`);
  }
  tt.ok(s.requests.every((r) => r.host === 'goproxy.cn'), 'Host header names the real host');
  tt.ok(proxy.connects.length > 0 && proxy.connects.every((c) => c === 'goproxy.cn:443'), 'went via CONNECT');

  const build = await run('go', ['run', '.'], { cwd: app, env, timeoutMs: 120_000 });
  tt.equal(build.code, 0, `go run: ${build.stderr}`);
  tt.equal(build.stdout, 'widget+gear+sprocket\n');
});

t.test('real git clones from git http-backend', { skip: needs('git') }, async (tt) => {
  const root = tempDir('detour-gitroot-');
  tt.teardown(() => root.cleanup());
  const files = { 'README.md': 'widget readme\n', 'src/widget.txt': 'version one\n' };
  await makeBareRepo(join(root.path, 'acme', 'widget.git'), files);
  const cert = ca.issue(['git.mirror.test']);

  const clone = async (t2: typeof tt, url: string, port: number): Promise<string> => {
    const proxy = await proxyTo(t2, port);
    const home = tempDir('detour-gitclient-');
    t2.teardown(() => home.cleanup());
    const dest = join(home.path, 'clone');
    const r = await run('git', ['clone', url, dest], {
      env: isolatedEnv({
        HOME: home.path,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_TERMINAL_PROMPT: '0',
        GIT_SSL_CAINFO: ca.certFile,
        https_proxy: proxy.url,
      }),
      timeoutMs: 60_000,
    });
    t2.equal(r.code, 0, `git clone: ${r.stderr}`);
    t2.same(proxy.connects, ['git.mirror.test:443']);
    return dest;
  };

  tt.test('plain paths', async (t2) => {
    const s = await server(t2, { tls: cert, handler: gitHttpBackendHandler(root.path) });
    const dest = await clone(t2, 'https://git.mirror.test/acme/widget.git', s.port);
    t2.equal(readFileSync(join(dest, 'src/widget.txt'), 'utf8'), 'version one\n');
    t2.equal(readFileSync(join(dest, 'README.md'), 'utf8'), 'widget readme\n');
    t2.equal(countFor(s, (r) => r.method === 'GET' && r.url === '/acme/widget.git/info/refs?service=git-upload-pack'), 1);
    t2.ok(countFor(s, (r) => r.method === 'POST' && r.url === '/acme/widget.git/git-upload-pack') >= 1);
    t2.ok(s.requests.every((r) => r.headers['git-protocol'] === 'version=2'), 'protocol v2 negotiated');
  });

  tt.test('prefix is stripped', async (t2) => {
    const s = await server(t2, { tls: cert, handler: gitHttpBackendHandler(root.path, { prefix: '/github.com' }) });
    const dest = await clone(t2, 'https://git.mirror.test/github.com/acme/widget.git', s.port);
    t2.equal(readFileSync(join(dest, 'src/widget.txt'), 'utf8'), 'version one\n');
  });

  tt.test('gzip request bodies reach http-backend', async (t2) => {
    const s = await server(t2, { handler: gitHttpBackendHandler(root.path) });
    const pkt = (line: string): string => (line.length + 4).toString(16).padStart(4, '0') + line;
    const req = pkt('command=ls-refs\n') + '0001' + pkt('ref-prefix refs/heads/\n') + '0000';
    const body = gzipSync(Buffer.from(req));
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const r = http.request({
        host: '127.0.0.1', port: s.port, method: 'POST', path: '/acme/widget.git/git-upload-pack', timeout: 10_000,
        headers: {
          'content-type': 'application/x-git-upload-pack-request', 'content-encoding': 'gzip',
          'git-protocol': 'version=2', 'content-length': body.length,
        },
      }, (resp) => {
        const chunks: Buffer[] = [];
        resp.on('data', (c: Buffer) => chunks.push(c));
        resp.on('end', () => resolve({ status: resp.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      });
      r.on('timeout', () => r.destroy(new Error('timeout')));
      r.on('error', reject);
      r.end(body);
    });
    t2.equal(res.status, 200);
    t2.match(res.text, /[0-9a-f]{40} refs\/heads\/main/);
  });
});
