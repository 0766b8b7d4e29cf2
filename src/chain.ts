// A rule's fallback chain: its targets joined by ',' and '|' (Go's proxy-list syntax), and when the next is tried.
// Pure data and one predicate, shared by the rule parser (rules.ts) and the forwarding core (forwarder.ts).

/** Separators: after ',' the next target is tried only on 404/410; after '|' on any failure. */
export type Separator = ',' | '|';

/**
 * After a target's answer (its status) or failure (`undefined`: no answer at all), is the target reached
 * through `via` tried? ',' only on 404/410; '|' also on a connection failure or a 5xx.
 */
export function fallsThrough(via: Separator | undefined, status: number | undefined): boolean {
  if (!via) return false;
  if (status === undefined) return via === '|';
  if (status === 404 || status === 410) return true;
  return via === '|' && status >= 500;
}
