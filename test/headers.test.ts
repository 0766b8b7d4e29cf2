// The hop-by-hop filter over raw header lists (the forwarder's path): what is dropped, what keeps its lines.
import t from 'tap';
import { stripHopByHop, stripHopByHopRaw } from '../src/headers.js';

t.test('the raw filter drops what the object filter drops, and keeps repeated lines and spelling', async (t) => {
  const raw = [
    'Host', 'a.test', 'Connection', 'keep-alive, X-Named', 'connection', 'X-Other', 'X-Named', '1', 'x-other', '2',
    'Keep-Alive', 'timeout=5', 'TE', 'trailers', 'Transfer-Encoding', 'chunked', 'Upgrade', 'h2c', 'Trailer', 'X',
    'Proxy-Authorization', 'Basic x', 'Proxy-Whatever', 'y', 'Accept', 'a', 'Accept', 'b', 'X-CamelCase', 'v',
  ];
  t.same(stripHopByHopRaw(raw), ['Host', 'a.test', 'Accept', 'a', 'Accept', 'b', 'X-CamelCase', 'v']);
  const object: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) object[raw[i]!.toLowerCase()] = object[raw[i]!.toLowerCase()] ? `${object[raw[i]!.toLowerCase()]}, ${raw[i + 1]}` : raw[i + 1]!;
  t.same(Object.keys(stripHopByHop(object)), ['host', 'accept', 'x-camelcase'], 'the same names as the object filter');
});

t.test('skip drops more names, every line of them; a repeated Content-Length is sent once', async (t) => {
  const raw = ['Host', 'client.test', 'host', 'smuggled.test', 'Cookie', 'c=1', 'Content-Length', '3', 'content-length', '3'];
  t.same(stripHopByHopRaw(raw, (name) => name === 'host' || name === 'cookie'), ['Content-Length', '3']);
});
