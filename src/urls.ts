// Small URL facts the core asks in several places, written once.

/** The port a URL names, or its scheme's default (https 443, anything else 80). */
export const portOf = (url: URL): number => Number(url.port) || (url.protocol === 'https:' ? 443 : 80);

/** A URL's hostname without the brackets of an IPv6 literal (`[::1]` → `::1`), as sockets want it. */
export const bareHost = (url: URL): string => url.hostname.replace(/^\[|\]$/g, '');

const IPV4_LITERAL = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * Is `host` an IP address literal rather than a name? No name holds a ':', and an IPv4 literal as sockets
 * and URLs spell it is four decimal parts. Not node:net's isIP: its IPv6 pattern took 6–9 ms to compile on
 * first use (Node 20.20, measured), and the first calls come before the child is spawned.
 */
export const isIpLiteral = (host: string): boolean => host.includes(':') || IPV4_LITERAL.test(host);
