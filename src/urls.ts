// Small URL facts the core asks in several places, written once.

/** The port a URL names, or its scheme's default (https 443, anything else 80). */
export const portOf = (url: URL): number => Number(url.port) || (url.protocol === 'https:' ? 443 : 80);

/** A URL's hostname without the brackets of an IPv6 literal (`[::1]` → `::1`), as sockets want it. */
export const bareHost = (url: URL): string => url.hostname.replace(/^\[|\]$/g, '');
