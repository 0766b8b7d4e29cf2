// The forwarder's own HTTP/1.1 client (src/upstream.ts), driven through the built CLI by curl against a raw
// TLS server that answers with exactly the bytes each case needs: interim answers, bodies framed every way
// HTTP/1.1 allows, malformed heads, bytes after a response, and connections kept or closed.
//
//   npx tap test/upstream.test.ts
import t from 'tap';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { CURL, makeWorld, needs, type World } from './fixtures/detour.js';

interface RawServer {
  /** TLS connections accepted. */
  connections(): number;
  /** Request lines received, in order. */
  requests: string[];
}

/**
 * A TLS server for `name` that reads each request head and writes `reply(requestLine)` as it is; `end: true`
 * closes the connection after that reply.
 */
async function rawServer(t: Parameters<Parameters<typeof t.test>[1]>[0], w: World, name: string, reply: (line: string) => { bytes: string | Buffer; end?: boolean }): Promise<RawServer> {
  const cert = w.ca.issue([name]);
  let connections = 0;
  const requests: string[] = [];
  const server = tls.createServer({ cert: cert.certPem, key: cert.keyPem, ALPNProtocols: ['http/1.1'] }, (socket) => {
    connections++;
    let pending = '';
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const line = pending.slice(0, pending.indexOf('\r\n'));
        pending = pending.slice(end + 4);
        requests.push(line);
        const r = reply(line);
        if (r.end) socket.end(r.bytes);
        else socket.write(r.bytes);
      }
    });
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const sockets = new Set<tls.TLSSocket>();
  server.on('secureConnection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  w.map(name, (server.address() as AddressInfo).port);
  return { connections: () => connections, requests };
}

const ok = (body: string, extra = '') => `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;

t.test('bodies framed every way HTTP/1.1 allows reach curl whole; interim answers are skipped', { skip: needs('curl') }, async (t) => {
  const w = await makeWorld(t);
  const cases: Record<string, { bytes: string; end?: boolean }> = {
    '/length': { bytes: ok('by length') },
    '/chunked': { bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nby \r\n7\r\nchunks \r\n4\r\nwith\r\n0\r\nX-Trailer: t\r\n\r\n' },
    '/close': { bytes: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nup to the close', end: true },
    '/early-hints': { bytes: `HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n${ok('after two interim answers')}` },
    '/http10': { bytes: 'HTTP/1.0 200 OK\r\nContent-Length: 7\r\n\r\nold one', end: true },
    '/empty-reason': { bytes: 'HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nno' },
  };
  await rawServer(t, w, 'raw.mirror.test', (line) => cases[line.split(' ')[1]!] ?? { bytes: ok('?') });
  const want: Record<string, string> = {
    '/length': 'by length',
    '/chunked': 'by chunks with',
    '/close': 'up to the close',
    '/early-hints': 'after two interim answers',
    '/http10': 'old one',
    '/empty-reason': 'no',
  };
  for (const [path, body] of Object.entries(want)) {
    const r = await w.detour([...w.flags(), '-m', 'registry.npmjs.org=https://raw.mirror.test', '--', ...CURL, `https://registry.npmjs.org${path}`]);
    t.equal(r.stdout, `${body}\n200`, `${path}: curl got the whole body and 200 (${r.stderr.trim().slice(0, 300)})`);
  }
});

t.test('HEAD, 204 and 304 have no body whatever their Content-Length says', { skip: needs('curl') }, async (t) => {
  const w = await makeWorld(t);
  const server = await rawServer(t, w, 'raw.mirror.test', (line) => {
    if (line.startsWith('HEAD')) return { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n' };
    if (line.includes('/204')) return { bytes: 'HTTP/1.1 204 No Content\r\n\r\n' };
    return { bytes: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\nETag: "x"\r\n\r\n' };
  });
  const base = 'https://registry.npmjs.org';
  const r = await w.detour([
    ...w.flags(), '-m', 'registry.npmjs.org=https://raw.mirror.test', '--',
    'curl', '-sS', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code} %{size_download}\\n',
    '-I', `${base}/head`, '--next', '-o', '/dev/null', '-w', '%{http_code} %{size_download}\\n', `${base}/204`,
    '--next', '-o', '/dev/null', '-w', '%{http_code} %{size_download}\\n', '-H', 'If-None-Match: "x"', `${base}/304`,
  ], { timeoutMs: 30_000 });
  t.equal(r.code, 0, `curl succeeded (${r.stderr.trim().slice(0, 300)})`);
  t.equal(r.stdout, '200 0\n204 0\n304 0\n', 'each answer ended at its head (curl waited for no body)');
  t.equal(server.connections(), 1, 'and the one connection carried all three');
});

t.test('kept-alive connections are reused; one closed by the target or out of step is not', { skip: needs('curl') }, async (t) => {
  const w = await makeWorld(t);
  const kept = await rawServer(t, w, 'kept.mirror.test', () => ({ bytes: ok('kept') }));
  const closing = await rawServer(t, w, 'closing.mirror.test', () => ({ bytes: ok('closing', 'Connection: close\r\n'), end: true }));
  // A byte after the response (a stray CRLF): the connection cannot be trusted for the next exchange.
  const excess = await rawServer(t, w, 'excess.mirror.test', () => ({ bytes: `${ok('excess')}\r\n` }));
  for (const [name, server] of [['kept', kept], ['closing', closing], ['excess', excess]] as const) {
    const urls = [1, 2, 3, 4].map((i) => `https://registry.npmjs.org/${name}/${i}`);
    const r = await w.detour([...w.flags(), '-m', `registry.npmjs.org=https://${name}.mirror.test`, '--', 'curl', '-sS', '--max-time', '10', ...urls.flatMap((u) => ['-w', ' %{http_code}\\n', u])]);
    t.equal(r.stdout, `${name} 200\n`.repeat(4), `${name}: four answers (${r.stderr.trim().slice(0, 300)})`);
    t.equal(server.requests.length, 4, `${name}: four requests reached the target`);
    t.equal(server.connections(), name === 'kept' ? 1 : 4, `${name}: ${name === 'kept' ? 'one connection' : 'a new connection per request'}`);
  }
});

t.test('a malformed answer is a 502 naming E_PROTOCOL, and the chain falls through to the next target', { skip: needs('curl') }, async (t) => {
  const w = await makeWorld(t);
  const bad: Record<string, string> = {
    '/status': 'HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nno',
    '/fold': 'HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nContent-Length: 2\r\n\r\nno',
    '/length': 'HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nno',
    '/chunk': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nno\r\n0\r\n\r\n',
  };
  await rawServer(t, w, 'bad.mirror.test', (line) => ({ bytes: bad[line.split(' ')[1]!]!, end: true }));
  const good = await rawServer(t, w, 'good.mirror.test', () => ({ bytes: ok('from the next mirror') }));
  for (const path of ['/status', '/fold', '/length']) {
    const r = await w.detour([...w.flags(), '-m', 'registry.npmjs.org=https://bad.mirror.test', '--', ...CURL, `https://registry.npmjs.org${path}`]);
    t.match(r.stdout, /\n502$/, `${path}: curl got 502`);
    t.match(r.stdout, /E_PROTOCOL .*malformed response/, `${path}: the answer names the failure`);
    const chained = await w.detour([...w.flags(), '-m', 'registry.npmjs.org=https://bad.mirror.test|https://good.mirror.test', '--', ...CURL, `https://registry.npmjs.org${path}`]);
    t.equal(chained.stdout, 'from the next mirror\n200', `${path}: '|' falls through to the next mirror`);
  }
  // A bad chunk size comes after the status line: the client's connection is broken, never a short success.
  const r = await w.detour([...w.flags(), '-v', '-m', 'registry.npmjs.org=https://bad.mirror.test', '--', 'curl', '-sS', '--max-time', '10', '-o', '/dev/null', 'https://registry.npmjs.org/chunk']);
  t.not(r.code, 0, `/chunk: curl fails (exit ${r.code})`);
  t.match(r.stderr, /failed mid-body: E_PROTOCOL/, '/chunk: detour says why');
  t.ok(good.requests.length >= 3, 'the next mirror served the chained requests');
});
