// The hf preset end to end: curl and the Hub's own JavaScript client (@huggingface/hub, whose downloads use
// fetch, routed by detour's Node preload) against stand-ins for huggingface.co (the origin: must hear nothing),
// hf-mirror.com (answers /resolve/ with redirects: relative, to its own host, to its CDN host, and one passed
// through to the Hub's own CDN), hf-mirror.com's CDN hosts, and the Hub's CDN hosts (silent). Every name
// resolves through --connect-to only; anything else goes to a dead port.
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type http from 'node:http';
import { CURL, answer, makeWorld, needs, type World } from './fixtures/detour.js';
import type { FakeServer } from './fixtures/servers.js';
import { parseMirrorSpecs, matchRule, targetUrl } from '../src/rules.js';
import { decideConnect } from '../src/router.js';
import { DirectList } from '../src/patterns.js';
import { canonicalUrl } from '../src/canonicalHeaders.js';

const REPO = 'acme/tiny';
const COMMIT = '5f1e0c3a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f';
const CONFIG = Buffer.from('{"model_type":"tiny","hidden_size":8}\n');
const TOKENIZER = Buffer.from('{"version":"1.0","vocab":{"a":0,"b":1}}\n');
/** An LFS file: a few distinct bytes per position, so a wrong range shows. */
const WEIGHTS = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31 + 7) % 251));
const BRIDGED = Buffer.from('xet bridge bytes for weights.bin\n');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const LFS_PATH = `/repos/${sha(WEIGHTS).slice(0, 2)}/${sha(WEIGHTS).slice(2, 4)}/${sha(WEIGHTS)}/${sha(WEIGHTS)}`;
const SIGNED = '?response-content-disposition=attachment%3B+filename%3D%22model.safetensors%22&Expires=1900000000&Signature=abc&Key-Pair-Id=K1';
const BRIDGE_PATH = `/xet-bridge-us/6580aa20/${sha(BRIDGED)}`;

/** Answers a file as a CDN does: ETag, Accept-Ranges, and 206 for a single `Range: bytes=a-b`. */
function serveBytes(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, etag: string): void {
  const headers = { 'content-type': 'application/octet-stream', etag: `"${etag}"`, 'accept-ranges': 'bytes' };
  const m = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
  if (m) {
    const start = Number(m[1]);
    const end = Math.min(m[2] ? Number(m[2]) : body.length - 1, body.length - 1);
    res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': end - start + 1 });
    res.end(req.method === 'HEAD' ? undefined : body.subarray(start, end + 1));
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** The Hub's headers on a /resolve/ redirect of an LFS file. */
const linked = (body: Buffer) => ({ 'x-repo-commit': COMMIT, 'x-linked-size': String(body.length), 'x-linked-etag': `"${sha(body)}"`, etag: `"${sha(body)}"` });

/** hf-mirror.com: the Hub's API and /resolve/ paths, redirecting the way a mirror may. */
function mirrorHandler(): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'https://hf-mirror.com');
    const redirect = (status: number, location: string, extra: Record<string, string> = {}) => {
      res.writeHead(status, { location, 'content-type': 'text/plain', 'x-repo-commit': COMMIT, ...extra });
      res.end(req.method === 'HEAD' ? undefined : `Redirecting to ${location}\n`);
    };
    const cache = `/api/resolve-cache/models/${REPO}/${COMMIT}`;
    switch (url.pathname) {
      // A small file, as the Hub answers it: a relative 307 to its resolve cache.
      case `/${REPO}/resolve/main/config.json`:
        return redirect(307, `${cache}/config.json`);
      // The same, but written with the mirror's own host.
      case `/${REPO}/resolve/main/tokenizer.json`:
        return redirect(307, `https://hf-mirror.com${cache}/tokenizer.json`);
      case `${cache}/config.json`:
        return serveBytes(req, res, CONFIG, sha(CONFIG));
      case `${cache}/tokenizer.json`:
        return serveBytes(req, res, TOKENIZER, sha(TOKENIZER));
      // An LFS file: hf-mirror.com's 302 to its own CDN host, the Hub's path and signature kept.
      case `/${REPO}/resolve/main/model.safetensors`:
        return redirect(302, `https://cdn-lfs-us-1.hf-mirror.com${LFS_PATH}${SIGNED}`, linked(WEIGHTS));
      // A mirror that passes the Hub's own redirect through, to the Hub's Xet bridge.
      case `/${REPO}/resolve/main/weights.bin`:
        return redirect(302, `https://cas-bridge.xethub.hf.co${BRIDGE_PATH}?X-Amz-Signature=sig`, linked(BRIDGED));
      case `/api/models/${REPO}/tree/main`: {
        const second = url.searchParams.get('cursor') === 'p2';
        const page = second
          ? [{ type: 'file', oid: sha(WEIGHTS), size: WEIGHTS.length, path: 'model.safetensors' }]
          : [
              { type: 'file', oid: sha(CONFIG), size: CONFIG.length, path: 'config.json' },
              { type: 'file', oid: sha(TOKENIZER), size: TOKENIZER.length, path: 'tokenizer.json' },
            ];
        const next = `https://hf-mirror.com/api/models/${REPO}/tree/main?recursive=false&expand=false&cursor=p2`;
        res.writeHead(200, { 'content-type': 'application/json', ...(second ? {} : { link: `<${next}>; rel="next"` }) });
        res.end(JSON.stringify(page));
        return;
      }
      case '/api/models/gpt2':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"id":"openai-community/gpt2"}');
        return;
      default:
        res.writeHead(404, { 'content-type': 'text/plain', 'x-error-code': 'EntryNotFound' });
        res.end('Entry not found\n');
    }
  };
}

interface HfWorld {
  w: World;
  origin: FakeServer;
  mirror: FakeServer;
  mirrorCdn: FakeServer;
  mirrorBridge: FakeServer;
  /** The Hub's own download hosts: must hear nothing either. */
  originCdns: FakeServer[];
  flags: string[];
}

async function hfWorld(t: Test): Promise<HfWorld> {
  const w = await makeWorld(t);
  const silent = (name: string) => w.https(name, answer(500, `${name} must not be asked\n`));
  const origin = await silent('huggingface.co');
  const originCdns = [await silent('cdn-lfs-us-1.hf.co'), await silent('cas-bridge.xethub.hf.co')];
  const mirror = await w.https('hf-mirror.com', mirrorHandler());
  const mirrorCdn = await w.https('cdn-lfs-us-1.hf-mirror.com', (req, res) => {
    const url = new URL(req.url ?? '/', 'https://x');
    if (url.pathname === LFS_PATH && url.searchParams.get('Signature') === 'abc') serveBytes(req, res, WEIGHTS, sha(WEIGHTS));
    else answer(403, 'bad signature\n')(req, res, Buffer.alloc(0));
  });
  const mirrorBridge = await w.https('cas-bridge.xethub.hf-mirror.com', (req, res) => {
    const url = new URL(req.url ?? '/', 'https://x');
    if (url.pathname === BRIDGE_PATH) serveBytes(req, res, BRIDGED, sha(BRIDGED));
    else answer(404, 'no such bridge object\n')(req, res, Buffer.alloc(0));
  });
  const flags = [...w.flags(), `--connect-to=::127.0.0.1:${await w.deadPort()}`, '-v'];
  return { w, origin, mirror, mirrorCdn, mirrorBridge, originCdns, flags };
}

const paths = (s: FakeServer) => s.requests.map((r) => `${r.method} ${r.url}`);

function nothingToOrigin(t: Test, h: HfWorld, stderr: string): void {
  t.same(paths(h.origin), [], 'huggingface.co heard nothing');
  for (const s of h.originCdns) t.same(paths(s), [], 'the Hub CDN stand-in heard nothing');
  t.notMatch(stderr, /\[(tunnel|origin|direct)\]/, 'no request tunneled or sent to an origin');
}

t.test('rules: the hf preset owns the Hub and its download hosts; a URL mirror leaves the CDN hosts alone', async (t) => {
  const rules = parseMirrorSpecs(['hf']);
  const hosts = rules.map((r) => r.host);
  t.ok(hosts.includes('huggingface.co') && hosts.includes('cdn-lfs-us-1.hf.co') && hosts.includes('cas-bridge.xethub.hf.co'));
  t.notOk(hosts.some((h) => /^(cas-server|transfer)\./.test(h)), 'the Xet protocol hosts are not mirrored');
  const cdn = new URL(`https://us.aws.cdn.hf.co/xet-bridge-us/a/b?Expires=1`);
  const m = matchRule(rules, cdn.hostname, 443, cdn.pathname + cdn.search)!;
  t.same(m.rule.chain.map((h) => [h.via, h.target.label]), [[undefined, 'us.aws.cdn.hf-mirror.com'], ['|', 'origin']]);
  t.equal(targetUrl(m, m.rule.chain[0]!, cdn).href, 'https://us.aws.cdn.hf-mirror.com/xet-bridge-us/a/b?Expires=1');

  const team = parseMirrorSpecs(['hf=https://hf.corp.example|origin']);
  t.same(team.map((r) => r.host), ['huggingface.co'], 'a mirror by URL serves huggingface.co only');
  const routing = { rules: team, direct: new DirectList([], []) };
  t.same(decideConnect(routing, 'cdn-lfs-us-1.hf.co', 443), { action: 'tunnel', route: 'tunnel' });
  const both = parseMirrorSpecs(['hf=https://hf.corp.example|hf-mirror|origin']);
  const bridge = both.find((r) => r.host === 'cas-bridge.xethub.hf.co')!;
  t.same(bridge.chain.map((h) => [h.via, h.target.label]), [[undefined, 'cas-bridge.xethub.hf-mirror.com'], ['|', 'origin']], 'the hop that does not serve it is left out');

  const pairs = [{ from: 'https://hf-mirror.com', to: 'https://huggingface.co' }];
  t.equal(canonicalUrl('https://hf-mirror.com/a/resolve/main/x?y=1', pairs), 'https://huggingface.co/a/resolve/main/x?y=1');
  t.equal(canonicalUrl('https://HF-Mirror.com?x', pairs), 'https://huggingface.co?x');
  t.equal(canonicalUrl('https://hf-mirror.com.evil.example/a', pairs), undefined, 'a prefix ends at a boundary');
  t.equal(canonicalUrl('https://cdn-lfs.hf-mirror.com/a', pairs), undefined);
});

t.test('curl through the hf preset: redirects come back as the Hub\'s and stay on the mirror', { skip: needs('curl') }, async (t) => {
  const h = await hfWorld(t);
  const base = `https://huggingface.co/${REPO}/resolve/main`;
  const curl = 'curl -sS --fail --max-time 30';
  const script = [
    `${curl} -L -o weights.bin ${base}/model.safetensors`,
    `${curl} -L ${base}/config.json`,
    `${curl} -I ${base}/tokenizer.json`,
    `${curl} -I ${base}/model.safetensors`,
    `${curl} -L ${base}/weights.bin`,
  ].join(' && ');
  const r = await h.w.detour([...h.flags, '-m', 'hf', '--', 'sh', '-c', script]);
  t.equal(r.code, 0, r.stderr);
  t.ok(r.stdout.includes(CONFIG.toString()), 'config.json through the relative redirect');
  t.match(r.stdout, new RegExp(`^location: /api/resolve-cache/models/${REPO}/${COMMIT}/tokenizer\\.json\\r?$`, 'im'), 'the mirror\'s own host came back as a relative redirect, as the Hub writes it');
  t.match(r.stdout, new RegExp(`location: https://cdn-lfs-us-1\\.hf\\.co${LFS_PATH}\\?response-content-disposition=`, 'i'), 'the CDN redirect names the Hub\'s CDN host');
  t.match(r.stdout, /x-linked-size: 70000/i, 'the Hub\'s headers pass');
  t.ok(r.stdout.includes(BRIDGED.toString()), 'the Hub\'s Xet bridge URL was served by the mirror\'s');

  t.match(r.stderr, new RegExp(`GET ${base}/model\\.safetensors \\[mirror\\] → hf-mirror\\.com 302`));
  t.match(r.stderr, new RegExp(`GET https://cdn-lfs-us-1\\.hf\\.co${LFS_PATH}\\S* \\[mirror\\] → cdn-lfs-us-1\\.hf-mirror\\.com 200`));
  t.match(r.stderr, new RegExp(`GET https://huggingface\\.co/api/resolve-cache/models/${REPO}/${COMMIT}/config\\.json \\[mirror\\] → hf-mirror\\.com 200`));
  t.match(r.stderr, new RegExp(`HEAD ${base}/model\\.safetensors \\[mirror\\] → hf-mirror\\.com 302`));
  t.match(r.stderr, new RegExp(`GET https://cas-bridge\\.xethub\\.hf\\.co${BRIDGE_PATH}\\S* \\[mirror\\] → cas-bridge\\.xethub\\.hf-mirror\\.com 200`));
  nothingToOrigin(t, h, r.stderr);
  t.ok(h.mirrorCdn.requests.some((q) => q.url === LFS_PATH + SIGNED), 'the CDN stand-in got the signed URL unchanged');
  t.equal(
    h.mirrorCdn.requests.find((q) => q.method === 'GET')!.headers.host,
    'cdn-lfs-us-1.hf-mirror.com',
    'sent to the mirror CDN under its own name',
  );
  const { readFileSync } = await import('node:fs');
  t.ok(readFileSync(join(h.w.work, 'weights.bin')).equals(WEIGHTS), 'the LFS bytes are intact');
});

t.test('mirror down: the Hub answers, and its CDN redirect is still served by the mirror\'s CDN', { skip: needs('curl') }, async (t) => {
  const w = await makeWorld(t);
  const hub = await w.https('huggingface.co', (req, res) => {
    res.writeHead(302, { location: `https://cdn-lfs-us-1.hf.co${LFS_PATH}${SIGNED}`, ...linked(WEIGHTS) });
    res.end();
  });
  const originCdn = await w.https('cdn-lfs-us-1.hf.co', answer(500, 'the Hub CDN must not be asked\n'));
  const mirrorCdn = await w.https('cdn-lfs-us-1.hf-mirror.com', (req, res) => serveBytes(req, res, WEIGHTS, sha(WEIGHTS)));
  w.map('hf-mirror.com', await w.deadPort());
  const r = await w.detour([...w.flags(), `--connect-to=::127.0.0.1:${await w.deadPort()}`, '-v', '-m', 'hf', '--', ...CURL, '-L', '-o', 'w.bin', `https://huggingface.co/${REPO}/resolve/main/model.safetensors`]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /200$/);
  t.match(r.stderr, /warning: mirror hf-mirror\.com failed \(E_CONNECT/);
  t.match(r.stderr, /model\.safetensors \[mirror\] → origin 302/);
  t.match(r.stderr, /GET https:\/\/cdn-lfs-us-1\.hf\.co\/repos\/\S+ \[mirror\] → cdn-lfs-us-1\.hf-mirror\.com 200/);
  t.equal(hub.requests.length, 1, 'the Hub answered the redirect');
  t.equal(originCdn.requests.length, 0, 'the bytes did not come from the Hub\'s CDN');
  t.equal(mirrorCdn.requests.length, 1);
});

t.test('@huggingface/hub downloadFile and listFiles through the hf preset (fetch, Node preload)', { skip: needs('node') }, async (t) => {
  let hubModule: string;
  try {
    hubModule = createRequire(import.meta.url).resolve('@huggingface/hub');
  } catch {
    if (process.env.CI) throw new Error('@huggingface/hub is not installed (a devDependency: npm ci)');
    t.skip('@huggingface/hub not installed (npm ci)');
    return;
  }
  const h = await hfWorld(t);
  const script = join(h.w.work, 'hub.cjs');
  writeFileSync(
    script,
    `const hub = require(process.env.HUB_MODULE);
const { createHash } = require('node:crypto');
(async () => {
  const out = {};
  for (const path of ['config.json', 'tokenizer.json', 'model.safetensors', 'weights.bin']) {
    const blob = await hub.downloadFile({ repo: '${REPO}', path });
    const bytes = Buffer.from(await blob.arrayBuffer());
    out[path] = { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  out.files = [];
  for await (const f of hub.listFiles({ repo: '${REPO}' })) out.files.push(f.path);
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error('hub client failed:', e && e.stack || e); process.exit(1); });
`,
  );
  const r = await h.w.detour([...h.flags, '-m', 'hf', '--', process.execPath, script], {
    env: { HUB_MODULE: hubModule },
    timeoutMs: 60_000,
  });
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout || '{}') as Record<string, unknown>;
  const digest = (b: Buffer) => ({ size: b.length, sha256: sha(b) });
  t.same(out['config.json'], digest(CONFIG), 'config.json: relative redirect');
  t.same(out['tokenizer.json'], digest(TOKENIZER), 'tokenizer.json: redirect written with the mirror\'s host');
  t.same(out['model.safetensors'], digest(WEIGHTS), 'model.safetensors: redirect to the mirror\'s CDN');
  t.same(out['weights.bin'], digest(BRIDGED), 'weights.bin: the Hub\'s Xet bridge, served by the mirror\'s');
  t.same(out.files, ['config.json', 'tokenizer.json', 'model.safetensors'], 'both pages: Link rel="next" followed');

  nothingToOrigin(t, h, r.stderr);
  t.match(r.stderr, new RegExp(`GET https://huggingface\\.co/api/models/${REPO}/tree/main\\?recursive=false&expand=false&cursor=p2 \\[mirror\\] → hf-mirror\\.com 200`), 'the next page asked of huggingface.co');
  t.match(r.stderr, new RegExp(`GET https://cdn-lfs-us-1\\.hf\\.co${LFS_PATH}\\S* \\[mirror\\] → cdn-lfs-us-1\\.hf-mirror\\.com 206`), 'LFS bytes by range from the mirror CDN');
  const first = h.mirror.requests.find((q) => q.url === `/${REPO}/resolve/main/config.json`)!;
  t.match(String(first.headers.accept), /application\/vnd\.xet-fileinfo\+json/, 'the client offers Xet; the mirror answers with redirects, so it downloads over HTTP');
  t.equal(first.headers.range, 'bytes=0-0');
});

t.test('child environment: HF_HUB_DISABLE_XET=1 with the hf preset, HF_ENDPOINT never set', async (t) => {
  const w = await makeWorld(t);
  const show = ['--', 'sh', '-c', 'echo "xet=${HF_HUB_DISABLE_XET-unset} endpoint=${HF_ENDPOINT-unset}"'];
  const on = await w.detour([...w.flags(), '-m', 'hf', ...show]);
  t.equal(on.code, 0, on.stderr);
  t.equal(on.stdout.trim(), 'xet=1 endpoint=unset');
  const off = await w.detour([...w.flags(), '-m', 'npm', ...show]);
  t.equal(off.stdout.trim(), 'xet=unset endpoint=unset', 'not without a rule for huggingface.co');
  const all = await w.detour([...w.flags(), ...show]);
  t.equal(all.stdout.trim(), 'xet=1 endpoint=unset', 'on by default, like every preset');
});

t.test('detour check probes /api/models/gpt2 on the mirror and the Hub; presets lists hf', async (t) => {
  const w = await makeWorld(t);
  const mirror = await w.https('hf-mirror.com', mirrorHandler());
  await w.https('huggingface.co', answer(200, '{"id":"gpt2"}', { 'content-type': 'application/json' }));
  const r = await w.detour([...w.flags(), 'check', '-m', 'hf', '--json']);
  t.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as { rule: string; target: string; status: number; ok: boolean }[];
  t.same(
    rows.map((row) => [row.rule, row.target, row.status, row.ok]),
    [
      ['huggingface.co', 'hf-mirror.com', 200, true],
      ['huggingface.co', 'origin', 200, true],
    ],
    'only the Hub is probed (a CDN path without a signature says nothing)',
  );
  t.same(paths(mirror), ['GET /api/models/gpt2']);

  const p = await w.detour(['presets', '--json']);
  const hf = (JSON.parse(p.stdout) as { name: string; hosts: string[]; defaultChain: string; mirrors: Record<string, string> }[]).find((x) => x.name === 'hf')!;
  t.equal(hf.defaultChain, 'hf-mirror|origin');
  t.same(hf.mirrors, { 'hf-mirror': 'https://hf-mirror.com' });
  t.equal(hf.hosts[0], 'huggingface.co');
  t.ok(hf.hosts.includes('cdn-lfs-us-1.hf.co'));
});
