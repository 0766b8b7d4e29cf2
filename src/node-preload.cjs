// detour's preload for Node.js programs: detour adds `--require "<this file>"` to the child's NODE_OPTIONS.
// Node 20 ignores proxy variables, so without it `node script.js` calling https.get or fetch would bypass
// the proxy. It routes, through http_proxy / https_proxy and honouring no_proxy:
//   - http and https: the global agents (requests that bring their own agent keep it);
//   - fetch: Node's bundled undici's global dispatcher, replaced on the first fetch() call, so programs that
//     never fetch never load undici.
// It does nothing without a proxy variable, and steps aside where Node (NODE_USE_ENV_PROXY=1, Node 24+) or
// the program (its own undici ProxyAgent, a mock) already decides. Plain CommonJS with no dependencies:
// shipped as is (package.json "files": src), and loadable by every Node version and module type.
'use strict';

(function detourPreload() {
  const env = process.env;
  const proxies = { 'http:': parseProxy(env.http_proxy || env.HTTP_PROXY), 'https:': parseProxy(env.https_proxy || env.HTTPS_PROXY) };
  if (!proxies['http:'] && !proxies['https:']) return;
  const noProxy = parseNoProxy(env.no_proxy !== undefined ? env.no_proxy : env.NO_PROXY);

  /** The proxy for a request to protocol//host:port, or undefined to go direct. */
  function proxyFor(protocol, host, port) {
    const proxy = proxies[protocol];
    if (!proxy || noProxy === 'all') return undefined;
    const h = String(host || '').toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
    for (const e of noProxy) {
      if ((h === e.host || h.endsWith('.' + e.host)) && (!e.port || e.port === port)) return undefined;
    }
    return proxy;
  }

  const http = require('http');
  const https = require('https');
  const nativeEnvProxy = !!(http.globalAgent && http.globalAgent.options && http.globalAgent.options.proxyEnv);
  if (!nativeEnvProxy) routeAgents(http, https, proxyFor);
  routeFetch(proxyFor);
})();

function parseProxy(text) {
  if (!text) return undefined;
  let url;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : 'http://' + text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:') return undefined; // detour's proxy is plain HTTP on loopback
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  return {
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port) || 80,
    origin: url.origin,
    auth: user || pass ? 'Basic ' + Buffer.from(user + ':' + pass).toString('base64') : undefined,
  };
}

/** no_proxy as curl reads it: comma/space list of hosts (with subdomains), optional :port, `*` for all. */
function parseNoProxy(text) {
  const entries = [];
  for (const raw of String(text || '').split(/[\s,]+/)) {
    const e = raw.trim().toLowerCase();
    if (!e) continue;
    if (e === '*') return 'all';
    let host = e;
    let port = 0;
    if (e.startsWith('[')) {
      const end = e.indexOf(']');
      host = e.slice(1, end);
      if (e[end + 1] === ':') port = Number(e.slice(end + 2)) || 0;
    } else if (e.indexOf(':') > 0 && e.indexOf(':') === e.lastIndexOf(':')) {
      host = e.slice(0, e.indexOf(':'));
      port = Number(e.slice(e.indexOf(':') + 1)) || 0;
    }
    entries.push({ host: host.replace(/^\*?\./, ''), port });
  }
  return entries;
}

function authority(host, port) {
  return (String(host).includes(':') ? '[' + host + ']' : host) + ':' + port;
}

/** Opens a CONNECT tunnel to host:port through the proxy; calls back with the raw socket. */
function tunnel(proxy, host, port, callback) {
  const net = require('net');
  const target = authority(String(host).replace(/^\[|\]$/g, ''), port);
  const socket = net.connect({ host: proxy.hostname, port: proxy.port });
  let done = false;
  let head = Buffer.alloc(0);
  const finish = (err) => {
    if (done) return;
    done = true;
    socket.removeListener('readable', read);
    socket.removeListener('error', fail);
    socket.removeListener('end', ended);
    if (err) socket.destroy();
    callback(err, err ? undefined : socket);
  };
  const fail = (err) => finish(err);
  const ended = () => finish(new Error('proxy ' + proxy.origin + ' closed the connection before answering CONNECT ' + target));
  function read() {
    let chunk;
    while (!done && (chunk = socket.read()) !== null) {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 65536) finish(new Error('proxy ' + proxy.origin + ' sent an oversized answer to CONNECT ' + target));
        continue;
      }
      const statusLine = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
      if (!/^HTTP\/1\.[01] 200\b/.test(statusLine)) {
        const err = new Error('proxy ' + proxy.origin + ' answered "' + statusLine + '" to CONNECT ' + target);
        err.code = 'ECONNREFUSED';
        finish(err);
        return;
      }
      const rest = head.subarray(end + 4);
      if (rest.length) socket.unshift(rest);
      finish(null);
    }
  }
  socket.on('readable', read);
  socket.on('error', fail);
  socket.on('end', ended);
  socket.write(
    'CONNECT ' + target + ' HTTP/1.1\r\nHost: ' + target + '\r\n' + (proxy.auth ? 'Proxy-Authorization: ' + proxy.auth + '\r\n' : '') + '\r\n',
  );
}

/** Replaces the global http and https agents with agents that go through the proxy. */
function routeAgents(http, https, proxyFor) {
  const VIA = '_detourProxy';

  class DetourHttpAgent extends http.Agent {
    addRequest(req, options) {
      const port = Number(options.port) || 80;
      const proxy = proxyFor('http:', options.host, port);
      // Plain HTTP through a proxy: absolute URL in the request line, credentials for the proxy.
      // (A request whose head is already built, e.g. with Expect: 100-continue, goes direct.)
      if (proxy && !req._header && req.path.startsWith('/')) {
        const hostHeader = req.getHeader('host') || authority(options.host, port);
        req.path = 'http://' + hostHeader + req.path;
        if (proxy.auth && !req.getHeader('proxy-authorization')) req.setHeader('Proxy-Authorization', proxy.auth);
        options = Object.assign({}, options, { [VIA]: proxy });
      }
      return super.addRequest(req, options);
    }
    getName(options) {
      return super.getName(options) + (options && options[VIA] ? ':detour' : '');
    }
    createConnection(options, callback) {
      const proxy = options[VIA];
      if (!proxy) return super.createConnection(options, callback);
      return require('net').createConnection({ host: proxy.hostname, port: proxy.port });
    }
  }

  class DetourHttpsAgent extends https.Agent {
    createConnection(options, callback) {
      const port = Number(options.port) || 443;
      const proxy = proxyFor('https:', options.host, port);
      if (!proxy) return super.createConnection(options, callback);
      tunnel(proxy, options.host, port, (err, raw) => {
        if (err) return callback(err);
        const tls = require('tls');
        let socket;
        try {
          socket = tls.connect(Object.assign({}, options, { socket: raw }));
        } catch (e) {
          raw.destroy();
          return callback(e);
        }
        callback(null, socket);
      });
      return undefined;
    }
  }

  http.globalAgent = new DetourHttpAgent(Object.assign({}, http.globalAgent.options));
  https.globalAgent = new DetourHttpsAgent(Object.assign({}, https.globalAgent.options));
  require('module').syncBuiltinESMExports(); // `import { globalAgent } from 'node:https'` sees it too
}

/** Wraps global fetch so that its first call installs a proxying dispatcher (undici is loaded lazily). */
function routeFetch(proxyFor) {
  if (typeof globalThis.fetch !== 'function') return;
  const DISPATCHER = Symbol.for('undici.globalDispatcher.1');
  const nativeFetch = globalThis.fetch;
  let installed = false;
  const fetch = function fetch(input, init) {
    if (!installed) {
      installed = true;
      try {
        install();
      } catch {
        // never break fetch: at worst it goes direct, as without detour
      }
    }
    return nativeFetch(input, init);
  };
  Object.defineProperty(globalThis, 'fetch', { value: fetch, writable: true, configurable: true, enumerable: true });

  function install() {
    void globalThis.Headers; // loads Node's bundled undici, which sets its default global dispatcher
    const current = globalThis[DISPATCHER];
    // Only the default Agent is replaced: a ProxyAgent, EnvHttpProxyAgent or mock was the program's choice.
    if (!current || typeof current.dispatch !== 'function' || !current.constructor || current.constructor.name !== 'Agent') return;
    globalThis[DISPATCHER] = makeDispatcher(current, current.constructor, proxyFor);
  }
}

function withHeaders(headers, extra) {
  const names = Object.keys(extra);
  if (headers == null) return Object.assign({}, extra);
  if (Array.isArray(headers)) {
    const out = headers.slice();
    for (const k of names) Array.isArray(out[0]) ? out.push([k, extra[k]]) : out.push(k, extra[k]);
    return out;
  }
  if (typeof headers[Symbol.iterator] === 'function') {
    const out = [];
    for (const [k, v] of headers) out.push(k, v);
    for (const k of names) out.push(k, extra[k]);
    return out;
  }
  const out = {};
  for (const k of Object.keys(headers)) if (!names.includes(k.toLowerCase())) out[k] = headers[k];
  return Object.assign(out, extra);
}

/** An undici dispatcher: https through CONNECT tunnels, plain http as absolute-form requests to the proxy. */
function makeDispatcher(direct, Agent, proxyFor) {
  const EventEmitter = require('events');
  const net = require('net');
  const tls = require('tls');

  const tunneled = new Agent({
    connect(opts, callback) {
      const hostname = String(opts.hostname || opts.host).replace(/^\[|\]$/g, '');
      const port = Number(opts.port) || 443;
      tunnel(proxyFor('https:', hostname, port), hostname, port, (err, raw) => {
        if (err) return callback(err);
        const servername = opts.servername || (net.isIP(hostname) ? undefined : hostname);
        const socket = tls.connect({ socket: raw, servername, ALPNProtocols: ['http/1.1'] });
        const onError = (e) => {
          socket.removeListener('secureConnect', onSecure);
          callback(e);
        };
        const onSecure = () => {
          socket.removeListener('error', onError);
          callback(null, socket);
        };
        socket.once('secureConnect', onSecure);
        socket.once('error', onError);
      });
    },
  });

  class DetourDispatcher extends EventEmitter {
    dispatch(opts, handler) {
      let url;
      try {
        url = new URL(String(opts.origin));
      } catch {
        return direct.dispatch(opts, handler);
      }
      const secure = url.protocol === 'https:';
      const proxy = proxyFor(url.protocol, url.hostname, Number(url.port) || (secure ? 443 : 80));
      if (!proxy) return direct.dispatch(opts, handler);
      if (secure) return tunneled.dispatch(opts, handler);
      const extra = proxy.auth ? { host: url.host, 'proxy-authorization': proxy.auth } : { host: url.host };
      const path = url.origin + (opts.path || '/');
      return direct.dispatch(Object.assign({}, opts, { origin: proxy.origin, path, headers: withHeaders(opts.headers, extra) }), handler);
    }
    close(callback) {
      const p = Promise.all([direct.close(), tunneled.close()]).then(() => undefined);
      if (typeof callback === 'function') p.then(() => callback(null), callback);
      else return p;
    }
    destroy(err, callback) {
      if (typeof err === 'function') [callback, err] = [err, null];
      const p = Promise.all([direct.destroy(err), tunneled.destroy(err)]).then(() => undefined);
      if (typeof callback === 'function') p.then(() => callback(null), callback);
      else return p;
    }
  }
  return new DetourDispatcher();
}
