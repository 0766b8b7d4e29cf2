// `detour check`: probe every target of every active rule, in parallel, through the same upstream /
// CA / --connect-to settings as a run, and say which rules have a reachable target. Changes nothing.
// Reachable means any answer below 500: a team mirror (Verdaccio, Athens, devpi) serves only its own
// packages, so a 404 for the probe path says nothing about its health; connect, TLS, timeout and 5xx do.
import http from 'node:http';
import https from 'node:https';
import { TargetError, toTargetError } from './errors.js';
import type { TargetAgents } from './agents.js';
import { redactUrl } from './redact.js';
import { matchRule, targetUrl, type Rule } from './rules.js';

export interface ProbeResult {
  readonly rule: string;
  readonly target: string;
  /** The probed URL, credentials removed. */
  readonly url: string;
  readonly status?: number;
  /** Time to the response headers, ms. */
  readonly ttfb?: number;
  readonly error?: string;
  readonly ok: boolean;
}

function probe(url: URL, agents: TargetAgents, timeoutMs: number, authorization?: string): Promise<{ status: number; ttfb: number } | { error: TargetError }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const secure = url.protocol === 'https:';
    const req = (secure ? https : http).request(url, {
      method: 'GET',
      agent: secure ? agents.https : agents.http,
      // A team mirror's credentials, as a run sends them (the table shows the URL without them).
      headers: { 'user-agent': 'detour-check', accept: '*/*', ...(authorization ? { authorization } : {}) },
    });
    // Connecting has its own timeout (E_CONNECT_TIMEOUT from the dialer); this one starts once connected.
    let timer: NodeJS.Timeout | undefined;
    req.on('socket', () => {
      timer = setTimeout(() => {
        const e = new TargetError('E_FIRST_BYTE_TIMEOUT', `no answer within ${timeoutMs} ms`);
        req.destroy(e);
        resolve({ error: e });
      }, timeoutMs);
    });
    req.on('response', (res) => {
      clearTimeout(timer);
      res.resume(); // the body is not needed; draining returns the socket to the pool
      resolve({ status: res.statusCode ?? 0, ttfb: Date.now() - started });
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      resolve({ error: toTargetError(e, url.host) });
    });
    req.end();
  });
}

export async function checkRules(rules: readonly Rule[], agents: TargetAgents, timeoutMs: number): Promise<ProbeResult[]> {
  const jobs: Promise<ProbeResult>[] = [];
  for (const rule of rules) {
    if (!rule.probe) continue;
    const original = new URL(`https://${rule.host}${rule.probe.path}`);
    const match = matchRule([rule], original.hostname, Number(original.port) || 443, original.pathname + original.search);
    if (!match) continue;
    const name = rule.host + rule.pathPrefix;
    for (const hop of rule.chain) {
      const url = targetUrl(match, hop, original);
      const row = { rule: name, target: hop.target.label, url: redactUrl(url.href) };
      jobs.push(
        probe(url, agents, timeoutMs, hop.target.kind === 'mirror' ? hop.target.authorization : undefined).then((r) =>
          'error' in r ? { ...row, error: `${r.error.code} ${r.error.message}`, ok: false } : { ...row, status: r.status, ttfb: r.ttfb, ok: r.status < 500 },
        ),
      );
    }
  }
  return Promise.all(jobs);
}

/** Rules with at least one reachable target; the exit status is 0 when that is every probed rule. */
export function healthyRules(results: readonly ProbeResult[]): { healthy: string[]; broken: string[] } {
  const rules = [...new Set(results.map((r) => r.rule))];
  const healthy = rules.filter((rule) => results.some((r) => r.rule === rule && r.ok));
  return { healthy, broken: rules.filter((r) => !healthy.includes(r)) };
}

export function formatTable(results: readonly ProbeResult[]): string {
  const rows = [
    ['rule', 'target', 'status', 'ttfb', 'verdict', 'detail'],
    ...results.map((r) => [
      r.rule,
      r.target,
      r.status !== undefined ? String(r.status) : (r.error ?? '-').split(' ')[0]!,
      r.ttfb !== undefined ? `${r.ttfb} ms` : '-',
      r.ok ? 'ok' : 'FAIL',
      r.error ? r.error.slice(r.error.indexOf(' ') + 1) : r.url,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

/**
 * The same rows for a CI gate, one JSON array on stdout. Every key is present in every row (null when it does
 * not apply), so `jq '.[] | select(.ok | not)'` and friends need no defaults.
 */
export function formatJson(results: readonly ProbeResult[]): string {
  const rows = results.map((r) => ({ rule: r.rule, target: r.target, url: r.url, status: r.status ?? null, ttfb: r.ttfb ?? null, error: r.error ?? null, ok: r.ok }));
  return JSON.stringify(rows, null, 2) + '\n';
}
