// Why detour does not forward with http-proxy: measured, not assumed.
// A target sends headers with Content-Length: 100000, then 20000 bytes, then dies. Through http-proxy the
// client is left waiting (no error, no end) until its own timeout; detour's forwarder destroys the client
// connection at once. Also checks whether Proxy-Authorization reaches the target.
// Run: node bench/http-proxy-defect.mjs   (loopback only; ends by itself within ~5 s)
import http from 'node:http';
import net from 'node:net';
import httpProxy from 'http-proxy';

const listen = (server) => new Promise((r) => server.listen(0, '127.0.0.1', () => r(server.address().port)));

const target = http.createServer((req, res) => {
  seenAuth = req.headers['proxy-authorization'];
  res.writeHead(200, { 'content-length': '100000' });
  res.write(Buffer.alloc(20000, 'x'), () => res.socket.destroy());
});
let seenAuth;
const targetPort = await listen(target);
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${targetPort}` });
proxy.on('error', () => undefined);
const front = http.createServer((req, res) => proxy.web(req, res));
const frontPort = await listen(front);

const started = Date.now();
const outcome = await new Promise((resolve) => {
  const sock = net.connect(frontPort, '127.0.0.1', () =>
    sock.write(`GET / HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic c2VjcmV0\r\nConnection: close\r\n\r\n`),
  );
  let bytes = 0;
  sock.on('data', (c) => (bytes += c.length));
  sock.on('close', () => resolve(`client connection closed after ${Date.now() - started} ms (${bytes} bytes)`));
  setTimeout(() => {
    resolve(`client still waiting after 3000 ms with ${bytes} bytes of a 100000-byte body: no error, no end`);
    sock.destroy();
  }, 3000);
});
console.log(`http-proxy ${JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(new URL('../node_modules/http-proxy/package.json', import.meta.url), 'utf8'))).version}: ${outcome}`);
console.log(`Proxy-Authorization forwarded to the target: ${seenAuth ? 'yes' : 'no'}`);
front.close();
target.close();
proxy.close();
