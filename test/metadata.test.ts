// Canonical metadata through the built CLI: a mirror's own URLs in its metadata come back as the origin's,
// compressed or not, in a stream of bounded memory; artifacts and origin answers are never touched.
import t from 'tap';
import { gzipSync, brotliCompressSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { MAX_WHOLE_DOCUMENT_BYTES, ReplaceStream, WholeDocument } from '../src/metadata.js';
import { answer, CURL, makeWorld } from './fixtures/detour.js';

const packument = (base: string) =>
  JSON.stringify({ name: 'acme-widget', versions: { '1.0.0': { dist: { tarball: `${base}/acme-widget/-/acme-widget-1.0.0.tgz` } } } });

t.test('ReplaceStream replaces across every chunk boundary', async (t) => {
  const text = 'xx https://m.test/a https://m.test/b https://m.test'.repeat(50);
  const want = text.replaceAll('https://m.test', 'https://origin.example');
  for (const size of [1, 2, 3, 7, 13, 64]) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < text.length; i += size) chunks.push(Buffer.from(text.slice(i, i + size)));
    const out: Buffer[] = [];
    await new Promise<void>((resolve, reject) =>
      Readable.from(chunks).pipe(new ReplaceStream([{ from: 'https://m.test', to: 'https://origin.example' }])).on('data', (c: Buffer) => out.push(c)).on('end', resolve).on('error', reject),
    );
    t.equal(Buffer.concat(out).toString(), want, `chunks of ${size}`);
  }
});

t.test('WholeDocument: a document within its bound is edited whole; one beyond it fails the stream, nothing written', async (t) => {
  t.ok(MAX_WHOLE_DOCUMENT_BYTES >= 64 * 1024 * 1024, 'the default holds the largest npm packuments (tens of MB)');
  const run = async (chunks: string[], maxBytes: number) => {
    const out: Buffer[] = [];
    const edit = (text: string) => text.toUpperCase();
    const error = await new Promise<Error | undefined>((resolve) =>
      Readable.from(chunks.map((c) => Buffer.from(c)))
        .pipe(new WholeDocument(edit, maxBytes))
        .on('data', (c: Buffer) => out.push(c))
        .on('end', () => resolve(undefined))
        .on('error', resolve),
    );
    return { error, text: Buffer.concat(out).toString() };
  };
  const exact = await run(['{"a":', '"b"}'], 9);
  t.equal(exact.error, undefined, 'exactly at the bound: no error');
  t.equal(exact.text, '{"A":"B"}', 'edited as a whole');
  const over = await run(['{"a":', '"b"}', ' '], 9);
  t.match(over.error, { name: 'TargetError', code: 'E_PROTOCOL', message: /over 9 bytes/ }, 'one byte over: the stream fails');
  t.equal(over.text, '', 'nothing of the document is written: neither truncated nor unrewritten');
});

t.test('npm: packument tarball URLs name registry.npmjs.org (plain, gzip, br); tarballs untouched', async (t) => {
  const w = await makeWorld(t);
  const mirrorBase = 'https://registry.npmmirror.com';
  const body = packument(mirrorBase);
  const tarball = Buffer.from(`binary ${mirrorBase}/inside-artifact`);
  await w.https('registry.npmmirror.com', (req, res) => {
    if (req.url!.endsWith('.tgz')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(tarball);
      return;
    }
    const enc = req.headers['x-test-encoding'];
    const data = enc === 'gzip' ? gzipSync(body) : enc === 'br' ? brotliCompressSync(body) : Buffer.from(body);
    res.writeHead(200, { 'content-type': 'application/json', etag: '"abc"', 'content-length': data.length, ...(enc ? { 'content-encoding': String(enc) } : {}) });
    res.end(data);
  });
  for (const enc of ['', 'gzip', 'br']) {
    const headers = `headers-${enc || 'identity'}.txt`;
    const r = await w.detour([...w.flags(), '-m', 'npm=npmmirror', '--', 'sh', '-c', `"$@"; cat ${headers} >&2`, 'sh', ...CURL, '--compressed', '-H', `x-test-encoding: ${enc}`, '-D', headers, 'https://registry.npmjs.org/acme-widget']);
    t.equal(r.stdout, `${packument('https://registry.npmjs.org')}\n200`, `${enc || 'identity'}: rewritten`);
    t.match(r.stderr, /etag: W\/"abc"/i, 'the validator is weakened');
    t.notMatch(r.stderr, /content-encoding/i);
  }
  const r = await w.detour([...w.flags(), '-m', 'npm=npmmirror', '--', ...CURL, 'https://registry.npmjs.org/acme-widget/-/acme-widget-1.0.0.tgz']);
  t.equal(r.stdout, `${tarball.toString()}\n200`, 'artifact bytes unchanged');
});

t.test('the origin’s answers are never rewritten; a raw rule on registry.npmjs.org canonicalises too', async (t) => {
  const w = await makeWorld(t);
  await w.https('registry.npmmirror.com', answer(503, 'down'));
  await w.https('registry.npmjs.org', answer(200, packument('https://registry.npmmirror.com'), { 'content-type': 'application/json' }));
  let r = await w.detour([...w.flags(), '-m', 'npm=npmmirror|origin', '--', ...CURL, 'https://registry.npmjs.org/acme-widget']);
  t.equal(r.stdout, `${packument('https://registry.npmmirror.com')}\n200`, 'origin body passed through as is');
  await w.https('npm.example.test', answer(200, packument('https://npm.example.test/npm'), { 'content-type': 'application/json' }));
  r = await w.detour([...w.flags(), '-m', 'registry.npmjs.org=https://npm.example.test/npm', '--', ...CURL, 'https://registry.npmjs.org/acme-widget']);
  t.equal(r.stdout, `${packument('https://registry.npmjs.org')}\n200`);
});

t.test('PyPI: absolute, relative and root-relative hrefs all reach the client on files.pythonhosted.org', async (t) => {
  const w = await makeWorld(t);
  const page = [
    '<a href="https://pypi.tuna.tsinghua.edu.cn/packages/ab/cd/acme-1.0.tar.gz#sha256=00">abs</a>',
    '<a href="../../packages/ef/acme-1.0-py3-none-any.whl#sha256=11">rel</a>',
    "<a href='/packages/12/acme-0.9.tar.gz'>root</a>",
    '<a href="//pypi.tuna.tsinghua.edu.cn/packages/34/acme-0.8.tar.gz">proto</a>',
    '<a href="https://files.pythonhosted.org/packages/56/acme-0.7.tar.gz">origin</a>',
    '<a href="../other/">sibling</a> text ../../packages/ stays',
  ].join('\n');
  const json = JSON.stringify({ files: [{ url: '../../packages/ef/acme.whl' }, { url: '/packages/12/acme.tar.gz' }] });
  await w.https('pypi.tuna.tsinghua.edu.cn', (req, res) => {
    const asJson = String(req.headers.accept).includes('json');
    res.writeHead(200, { 'content-type': asJson ? 'application/vnd.pypi.simple.v1+json' : 'text/html' });
    res.end(asJson ? json : page);
  });
  let r = await w.detour([...w.flags(), '-m', 'pypi=tuna', '--', ...CURL, 'https://pypi.org/simple/acme/']);
  t.equal(
    r.stdout,
    [
      '<a href="https://files.pythonhosted.org/packages/ab/cd/acme-1.0.tar.gz#sha256=00">abs</a>',
      '<a href="https://files.pythonhosted.org/packages/ef/acme-1.0-py3-none-any.whl#sha256=11">rel</a>',
      "<a href='https://files.pythonhosted.org/packages/12/acme-0.9.tar.gz'>root</a>",
      '<a href="https://files.pythonhosted.org/packages/34/acme-0.8.tar.gz">proto</a>',
      '<a href="https://files.pythonhosted.org/packages/56/acme-0.7.tar.gz">origin</a>',
      '<a href="../other/">sibling</a> text ../../packages/ stays',
    ].join('\n') + '\n200',
    r.stderr,
  );
  r = await w.detour([...w.flags(), '-m', 'pypi=tuna', '--', ...CURL, '-H', 'accept: application/vnd.pypi.simple.v1+json', 'https://pypi.org/simple/acme/']);
  t.equal(r.stdout, JSON.stringify({ files: [{ url: 'https://files.pythonhosted.org/packages/ef/acme.whl' }, { url: 'https://files.pythonhosted.org/packages/12/acme.tar.gz' }] }) + '\n200', 'PEP 691 JSON too');

  // A mirror under a path (aliyun's /pypi): its root-relative links carry that path.
  await w.https('mirrors.aliyun.com', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<a href="/pypi/packages/ab/x.whl">a</a> <a href="../../packages/cd/y.whl">b</a> <a href="/pypi/simple/other/">c</a>');
  });
  r = await w.detour([...w.flags(), '-m', 'pypi=aliyun', '--', ...CURL, 'https://pypi.org/simple/acme/']);
  t.equal(r.stdout, '<a href="https://files.pythonhosted.org/packages/ab/x.whl">a</a> <a href="https://files.pythonhosted.org/packages/cd/y.whl">b</a> <a href="https://pypi.org/simple/other/">c</a>\n200');
});

t.test('crates: a mirror’s config.json reaches the client as crates.io serves it (dl and api), gzip’d or not', async (t) => {
  const w = await makeWorld(t);
  const mirrorConfig = '{"dl":"https://rsproxy.cn/api/v1/crates","api":"https://rsproxy.cn","auth-required":false}';
  await w.https('rsproxy.cn', (req, res) => {
    const gzip = req.headers['x-test-encoding'] === 'gzip';
    const body = gzip ? gzipSync(mirrorConfig) : Buffer.from(mirrorConfig);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length, ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
    res.end(body);
  });
  for (const enc of ['identity', 'gzip']) {
    const r = await w.detour([...w.flags(), '-m', 'crates=rsproxy', '--', ...CURL, '--compressed', '-H', `x-test-encoding: ${enc}`, 'https://index.crates.io/config.json']);
    t.equal(r.stdout, '{"dl":"https://static.crates.io/crates","api":"https://crates.io"}\n200', `${enc}: ${r.stderr}`);
  }
  const r = await w.detour([...w.flags(), '-m', 'index.crates.io=https://rsproxy.cn/index', '--', ...CURL, 'https://index.crates.io/config.json']);
  t.equal(r.stdout, '{"dl":"https://static.crates.io/crates","api":"https://crates.io"}\n200', 'a raw rule on index.crates.io too');
});

t.test('a 24 MB packument is rewritten in a stream: detour’s peak RSS stays bounded', async (t) => {
  const w = await makeWorld(t);
  const versions = 60_000;
  const entry = (i: number) => `"1.0.${i}":{"dist":{"tarball":"https://registry.npmmirror.com/big/-/big-1.0.${i}.tgz","shasum":"${'0'.repeat(300)}"}}`;
  await w.https('registry.npmmirror.com', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    let i = 0;
    const pump = () => {
      while (i < versions) {
        const ok = res.write((i === 0 ? '{"name":"big","versions":{' : ',') + entry(i));
        i++;
        if (!ok) return void res.once('drain', pump);
      }
      res.end('}}');
    };
    pump();
  });
  const script = `curl -sS --max-time 60 https://registry.npmjs.org/big | tee >(wc -c >&2) | grep -c 'https://registry.npmjs.org/big/-/' ; grep VmHWM /proc/$PPID/status`;
  const r = await w.detour([...w.flags(), '-m', 'npm=npmmirror', '--', 'bash', '-c', script], { timeoutMs: 90_000 });
  t.equal(r.code, 0, r.stderr);
  const size = Number(r.stderr.trim().split('\n').pop());
  t.ok(size > 20_000_000, `packument of ${(size / 1e6).toFixed(1)} MB`);
  t.match(r.stdout, /^1\n/, 'one line, rewritten');
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(r.stdout)?.[1]);
  t.ok(hwm > 0 && hwm < 150 * 1024, `detour peak RSS ${(hwm / 1024).toFixed(0)} MiB < 150 MiB for a ${(size / 1e6).toFixed(0)} MB body`);
});

t.test('HEAD on gzip’d metadata keeps its headers and breaks nothing', async (t) => {
  const w = await makeWorld(t);
  const body = gzipSync(packument('https://registry.npmmirror.com'));
  await w.https('registry.npmmirror.com', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': body.length });
    res.end(_req.method === 'HEAD' ? undefined : body);
  });
  const r = await w.detour([...w.flags(), '-m', 'npm=npmmirror', '--', 'curl', '-sS', '-I', '--compressed', 'https://registry.npmjs.org/acme-widget']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`content-length: ${body.length}`, 'i'));
});
