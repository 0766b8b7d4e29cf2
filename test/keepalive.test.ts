// Keep-alive races (issue 10 §5: the sequential run of test/load.test.ts once stopped in CI with more than 50
// errors). Either end of a keep-alive connection may close it when idle; a request written as the other end
// closes is reset before any answer. Each test makes one race happen on purpose, with no timing luck: a client
// whose thread sleeps between two requests (load-client.mjs --stall-after/--stall-ms), and a target that drops
// every request after the first on a connection.
//
//   npx tap test/keepalive.test.ts
import t, { type Test } from 'tap';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { makeWorld, needs, type World } from './fixtures/detour.js';
import { startServer } from './fixtures/servers.js';

const LOAD_CLIENT = join(resolve(dirname(fileURLToPath(import.meta.url)), 'fixtures'), 'load-client.mjs');
const BODY_SIZE = 2048;

/** The body load-client.mjs expects for a path. */
function body(path: string): string {
  const head = `ok:${path}`;
  return BODY_SIZE > head.length ? head + '.'.repeat(BODY_SIZE - head.length) : head;
}

interface Sequential {
  n: number;
  ok: number;
  failed: number;
  errors: string[];
  tunnels: number;
}

/** Runs load-client.mjs as detour's child; its summary, or undefined after a failed assertion. */
async function load(t: Test, w: World, flags: string[], clientArgs: string[]): Promise<Sequential | undefined> {
  const r = await w.detour([...flags, '--', process.execPath, LOAD_CLIENT, ...clientArgs], { timeoutMs: 60_000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (r.code !== 0 || !line) {
    t.fail(`load client failed: status ${r.code}, stdout ${r.stdout.slice(0, 1000)}, stderr ${r.stderr.slice(0, 2000)}`);
    return undefined;
  }
  t.equal(r.stderr, '', 'detour printed no warning or error');
  return JSON.parse(line) as Sequential;
}

/** A mirror that answers load-client.mjs's bodies and counts the connections it sees. */
function countingMirror() {
  const sockets = new Set<Socket>();
  return {
    handler(req: IncomingMessage, res: ServerResponse) {
      sockets.add(req.socket);
      const text = body(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    },
    connections: () => sockets.size,
  };
}

t.test('a client stalled 7 s between two keep-alive requests (past Node’s 5 s server default) reuses its connection to detour', { skip: needs('sh') }, async (t) => {
  // The client's thread sleeps without running its event loop (as in a GC pause or on a starved machine), then
  // writes its next request at once, on the connection it kept. Node's agent has no idle timeout of its own
  // unless given one, and does not retry: before detour kept idle client connections 120 s, its server closed
  // this one at 6 s and the client got "socket hang up" on the next request.
  const w = await makeWorld(t);
  const mirror = countingMirror();
  await w.https('load.mirror.test', (req, res) => mirror.handler(req, res));
  const s = await load(t, w, [...w.flags(), '-m', 'registry.npmjs.org=https://load.mirror.test'], [
    'sequential', '--url', 'https://registry.npmjs.org/item', '--n', '3', '--stall-after', '1', '--stall-ms', '7000', '--size', String(BODY_SIZE),
  ]);
  if (!s) return;
  t.equal(s.failed, 0, `no failure ${JSON.stringify(s.errors)}`);
  t.equal(s.ok, 3);
  t.equal(s.tunnels, 1, 'the client reused its tunnel after the stall');
  t.equal(mirror.connections(), 2, 'detour dialed again once its pooled connection had been idle past the mirror’s keep-alive');
});

/** A target that answers the first request on each connection and drops any later one unanswered, as a server
 *  does when its keep-alive timer closes the connection just as the next request arrives. */
function oneRequestPerConnection(answerBody: (url: string) => string) {
  const served = new WeakMap<Socket, number>();
  const dropped: string[] = [];
  let connections = 0;
  return {
    handler(req: IncomingMessage, res: ServerResponse) {
      const n = served.get(req.socket) ?? 0;
      served.set(req.socket, n + 1);
      if (n > 0) {
        dropped.push(`${req.method} ${req.url}`);
        req.socket.destroy();
        return;
      }
      connections++;
      const text = answerBody(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    },
    dropped,
    connections: () => connections,
  };
}

t.test('a target that closes a pooled connection as the next request arrives: GET goes again on a new connection, a request with a body does not', { skip: needs('sh', 'curl') }, async (t) => {
  // Before detour replayed such requests, each request after the first was a 502 E_RESET: to the sequential load
  // client over https, and to curl over plain http.
  const w = await makeWorld(t);
  const secure = oneRequestPerConnection(body);
  await w.https('load.mirror.test', (req, res) => secure.handler(req, res));
  const s = await load(t, w, [...w.flags(), '-m', 'registry.npmjs.org=https://load.mirror.test'], [
    'sequential', '--url', 'https://registry.npmjs.org/item', '--n', '4', '--size', String(BODY_SIZE),
  ]);
  if (s) {
    t.equal(s.failed, 0, `https: no failure ${JSON.stringify(s.errors)}`);
    t.equal(s.ok, 4, 'https: 4 answers, each 200 with its own body');
    t.same(secure.dropped, ['GET /item/2', 'GET /item/3', 'GET /item/4'], 'https: each request after the first met a closing pooled connection');
    t.equal(secure.connections(), 4, 'https: and was answered on a new one');
  }

  const plain = oneRequestPerConnection((url) => `ok:${url}`);
  const origin = await startServer({ handler: (req, res) => plain.handler(req, res) });
  t.teardown(() => origin.close());
  const script = [
    `echo "one=$(curl -sS -w ' %{http_code}' http://example.test/one)"`,
    `echo "two=$(curl -sS -w ' %{http_code}' http://example.test/two)"`,
    // Requests with a body have their own pool (http.request's; upstream.ts's client takes the body-less ones):
    // a first POST opens its connection, the second meets it closing.
    `echo "post=$(curl -sS -w ' %{http_code}' --data-binary payload http://example.test/post)"`,
    `echo "three=$(curl -sS -w ' %{http_code}' --data-binary payload http://example.test/three | tr '\\n' ' ')"`,
  ].join('\n');
  const r = await w.detour([...w.flags(), `--connect-to=example.test:80:127.0.0.1:${origin.port}`, '--', 'sh', '-c', script]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^one=ok:\/one 200$/m, 'http: the first request');
  t.match(r.stdout, /^two=ok:\/two 200$/m, 'http: a GET on a closing pooled connection is answered, on a new connection');
  t.match(r.stdout, /^three=detour: every target failed for POST http:\/\/example\.test\/three .*E_RESET.* 502 *$/m, 'http: a POST with a body is not sent twice: 502 E_RESET');
  t.match(r.stdout, /^post=ok:\/post 200$/m, 'http: the first POST, on a new connection');
  t.same(plain.dropped, ['GET /two', 'POST /three'], 'http: the origin saw the second POST once');
  t.same(origin.requests.filter((q) => q.method === 'POST').map((q) => q.url), ['/post', '/three'], 'each POST reached it once');
});
