// Preloaded into peers written in Node (whistle: NODE_OPTIONS=--require <this file>) so that the bench never
// sends a byte off the machine: whistle asks registry.npmjs.org for its latest version a second after start and
// every few hours after, and checks its plugins' versions. Any TCP connection or name lookup for something
// other than loopback fails at once with ECONNREFUSED / ENOTFOUND; loopback traffic is untouched.
'use strict';
const dns = require('node:dns');
const net = require('node:net');

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+|localhost)$/i;
const isLoopback = (host) => host === undefined || host === null || LOOPBACK.test(String(host).replace(/^\[|\]$/g, ''));
const refused = (host) => Object.assign(new Error(`loopback-only: ${host} refused by the bench`), { code: 'ECONNREFUSED' });
const notFound = (host) => Object.assign(new Error(`loopback-only: ${host} not looked up by the bench`), { code: 'ENOTFOUND', hostname: host });

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const first = args[0];
  const options = Array.isArray(first) ? first[0] : first; // internal calls pass [options, cb]
  const host = typeof options === 'object' && options !== null ? (options.path ? undefined : options.host) : typeof args[1] === 'string' ? args[1] : undefined;
  if (!isLoopback(host)) {
    process.nextTick(() => this.destroy(refused(host)));
    return this;
  }
  return connect.apply(this, args);
};

const lookup = dns.lookup;
dns.lookup = function (host, options, cb) {
  const callback = typeof options === 'function' ? options : cb;
  if (!isLoopback(host)) return void process.nextTick(() => callback(notFound(host)));
  return lookup.call(this, host, options, cb);
};
const promisesLookup = dns.promises.lookup;
dns.promises.lookup = async (host, options) => {
  if (!isLoopback(host)) throw notFound(host);
  return promisesLookup(host, options);
};
for (const name of ['resolve', 'resolve4', 'resolve6', 'resolveAny']) {
  const refuse = (host, ...rest) => { const cb = rest[rest.length - 1]; process.nextTick(() => cb(notFound(host))); };
  dns[name] = refuse;
  dns.Resolver.prototype[name] = refuse;
}
