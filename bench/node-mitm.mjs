// The floor for detour's rewrite path: the least a Node program can do for the same job (CONNECT → TLS
// termination with one fixed certificate → https.request to the mirror on a keep-alive agent → pipe back),
// run like detour around one command. bench/run.mjs measures it as "node floor (minimal MITM)", so that the
// cost of Node's own HTTP and TLS stays apart from detour's. Not a product: no routing, credential or checks.
//
//   node bench/node-mitm.mjs <leaf cert> <leaf key> <test CA> <trust bundle> <mirror port> -- <command…>
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';

const [certFile, keyFile, caFile, trustFile, mirrorPort, sep, ...command] = process.argv.slice(2);
if (sep !== '--' || !command.length) throw new Error('usage: node-mitm.mjs cert key ca trust mirror-port -- command…');

const leaf = tls.createSecureContext({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
const agent = new https.Agent({ keepAlive: true, maxSockets: 64, ca: readFileSync(caFile) });
const inner = http.createServer((req, res) => {
  const upstream = https.request(
    { host: '127.0.0.1', port: Number(mirrorPort), servername: 'mirror.bench.test', method: req.method, path: req.url, headers: { ...req.headers, host: 'mirror.bench.test' }, agent },
    (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => res.destroy());
  req.pipe(upstream);
});
const front = http.createServer();
front.on('connect', (_req, socket) => {
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  inner.emit('connection', new tls.TLSSocket(socket, { isServer: true, secureContext: leaf, ALPNProtocols: ['http/1.1'] }));
});
front.listen(0, '127.0.0.1', () => {
  const proxy = `http://127.0.0.1:${front.address().port}`;
  const child = spawn(command[0], command.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, HTTPS_PROXY: proxy, https_proxy: proxy, CURL_CA_BUNDLE: trustFile, SSL_CERT_FILE: trustFile },
  });
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal ? 1 : 0)));
});
