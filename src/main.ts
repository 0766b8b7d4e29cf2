// The main job, composed top to bottom: config → CA → proxy server → child → cleanup.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import type { Logger } from 'pino';
import { CertificateAuthority } from './ca.js';
import { checkRules, formatJson, formatTable, healthyRules } from './check.js';
import { childEnv, childNoProxy } from './childEnv.js';
import { runChild } from './child.js';
import type { Config } from './config.js';
import { TargetAgents } from './agents.js';
import { prepareEcosystems, type PreparedEcosystem } from './ecosystems/index.js';
import type { Endpoint, FileFacts } from './ecosystems/types.js';
import { describeUpstream, type OutboundSettings } from './outbound.js';
import { HarWriter } from './har.js';
import { Reporter } from './report.js';
import { useColour } from './reportFormat.js';
import { ruleHosts } from './rules.js';
import { decrypts } from './router.js';
import { startProxy } from './server.js';
import { makeRunDir } from './tempdir.js';
import { openUserFile } from './userPaths.js';
import { packageVersion } from './version.js';
import { mergedNodeExtra, outboundRoots, outboundSecureContext, runCasPem, writeTrustFiles, writeWgetrc } from './trust.js';
import { launcher } from './launcher.js';
import { knowsYoungGenerationFlags, RUN_TIME_V8_FLAGS, v8Major } from './youngGeneration.js';

function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

const EARLY_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

/**
 * V8 settings for the run, set once the child is spawned: as start-up flags any V8 flag changes V8's flag hash,
 * so Node refuses its built-in code cache and compiles each internal module from source (+130 M instructions
 * with callgrind, ~20 ms before the child starts). At run time V8 honours both of these:
 *  - the young generation's (youngGeneration.ts: streamed bodies are short-lived garbage; S1's 512 MiB rewrite
 *    peaks at 66 MiB, 81 without);
 *  - TIER_UP_FLAGS: how soon a hot function is handed to TurboFan.
 */
function setRunTimeV8Flags(): void {
  for (const flags of runTimeV8Flags()) setFlagsFromString(flags);
}

/**
 * The flags above that this V8 knows and that were measured on it. The young generation's: see
 * knowsYoungGenerationFlags. TIER_UP_FLAGS: V8 11 only (Node 20), where it was measured; from V8 12 on
 * (Node 22) functions tier up through Maglev first, with budgets of their own, and ×4 there is untested.
 */
export function runTimeV8Flags(v8Version: string = process.versions.v8): string[] {
  return [...(knowsYoungGenerationFlags(v8Version) ? [RUN_TIME_V8_FLAGS] : []), ...(v8Major(v8Version) === 11 ? [TIER_UP_FLAGS] : [])];
}

/**
 * Four times V8's default interrupt budget (67,584 bytes of bytecode run before a function's hotness is
 * checked): a function must run four times as much before TurboFan optimises it. A run of detour is short and
 * its work spread over many small functions (Node's streams, events, HTTP and TLS, and ours): with the default,
 * 2,000 small GETs made TurboFan optimise ~300 functions, and compiling them was 1.47 G of the run's 3.43 G
 * instructions (callgrind, all threads: TurboFan's thread competes with the client and the mirror for 2 cores).
 * Budget ×2: 2.98 G; ×4: 2.67 G (−22%, 108 functions optimised); ×8: 2.71 G. What stays hot still gets optimised,
 * later: S1's 512 MiB stream runs at the same speed (bench/HISTORY.md, 2026-12-02 evening).
 */
const TIER_UP_FLAGS = '--interrupt-budget=270336';

/** The preload that routes plain `node` programs (Node 20 ignores proxy variables); shipped under src/. */
function nodePreload(): string | undefined {
  const file = fileURLToPath(new URL('../src/node-preload.cjs', import.meta.url));
  // A NODE_OPTIONS naming a missing file would stop every node child: better unrouted than broken.
  return existsSync(file) ? file : undefined;
}

/** Each ecosystem's files (EcosystemRun.files), written under `<run folder>/<name>/`: name → file → path. */
function writeEcosystemFiles(dir: string, ecosystems: readonly PreparedEcosystem[], parentEnv: NodeJS.ProcessEnv, facts: FileFacts) {
  const written = new Map<string, Record<string, string>>();
  for (const { name, run } of ecosystems) {
    const paths: Record<string, string> = {};
    for (const [file, content] of Object.entries(run.files?.(parentEnv, facts) ?? {})) {
      const path = join(dir, name, file);
      if (relative(join(dir, name), path).startsWith('..')) throw new Error(`ecosystem ${name}: file ${file} outside its folder`);
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      writeFileSync(path, content, { mode: 0o600 });
      paths[file] = path;
    }
    written.set(name, paths);
  }
  return written;
}

async function openLog(file: string | undefined): Promise<Logger | undefined> {
  if (!file) return undefined;
  // Opened here, not by pino: an unusable path is a usage error (exit 2, one line) before the child runs.
  const fd = openUserFile(file, 'a', '--log-file');
  const { pino } = await (launcher.importExternal('pino') as Promise<typeof import('pino')>); // loaded only when asked for: start-up time matters
  // Synchronous: a CLI that exits right after the child must not lose its last lines.
  return pino({ base: null }, pino.destination({ fd, sync: true }));
}

function outboundSettings(config: Config, parentEnv: NodeJS.ProcessEnv): OutboundSettings {
  // Both lazy: a run that makes no outbound TLS connection never reads or parses the root store.
  const roots = once(() => outboundRoots(parentEnv, config.extraRoots));
  return {
    connectTo: config.connectTo,
    upstream: config.upstream,
    roots,
    tlsContext: once(() => outboundSecureContext(parentEnv, config.extraRoots)),
    timeoutMs: config.timeoutMs,
  };
}

/** `detour check`: the table (or JSON) on stdout; 0 when every probed rule has a reachable target, else 1. */
export async function runCheck(config: Config, parentEnv: NodeJS.ProcessEnv, opts: { json?: boolean } = {}): Promise<number> {
  const agents = new TargetAgents(outboundSettings(config, parentEnv));
  try {
    const results = await checkRules(config.rules, agents, config.timeoutMs);
    process.stdout.write(opts.json ? formatJson(results) : formatTable(results));
    const { broken } = healthyRules(results);
    if (broken.length) process.stderr.write(`detour: no reachable target for ${broken.join(', ')}\n`);
    return broken.length ? 1 : 0;
  } finally {
    agents.destroy();
  }
}

export async function runCommand(command: string, args: readonly string[], config: Config, parentEnv: NodeJS.ProcessEnv): Promise<number> {
  const runDir = makeRunDir();
  // Until the child exists, a signal means: clean up and stop (the 'exit' hook removes the folder).
  const early = (sig: NodeJS.Signals) => process.exit(128 + (constants.signals[sig] ?? 0));
  for (const s of EARLY_SIGNALS) process.on(s, early);

  const log = await openLog(config.logFile);
  const trace = config.trace ? HarWriter.open(config.trace, packageVersion()) : undefined;
  const stderr = (line: string) => process.stderr.write(line + '\n');
  const hosts = ruleHosts(config.rules);
  const ca = config.caDir ? await CertificateAuthority.persistent(config.caDir, hosts) : await CertificateAuthority.ephemeral(hosts);

  const outbound = outboundSettings(config, parentEnv);
  // Warnings reach stderr with or without -v, and the log as `warning` events.
  const warn = (msg: string, fields: Record<string, unknown> = {}) => {
    stderr(msg);
    log?.warn({ event: 'warning', ...fields }, msg);
  };
  const reporter = new Reporter(config.verbose, log, stderr, { colour: useColour(process.stderr, parentEnv), sinks: trace ? [trace] : [], warn });
  const agents = new TargetAgents(outbound);
  const token = randomBytes(18).toString('base64url');
  const routing = { rules: config.rules, direct: config.direct };
  const ecosystems = prepareEcosystems(parentEnv, (host, port) => decrypts(routing, host, port));
  const endpoints = new Map<string, Endpoint>();
  for (const { name, run } of ecosystems) if (run.endpoint) endpoints.set(name, run.endpoint);
  const proxy = await startProxy({
    token,
    routing,
    endpoints,
    ca,
    outbound,
    forwarding: { agents, reporter, timeouts: { firstByteMs: config.timeoutMs, idleMs: config.idleMs } },
    warn,
  });
  const proxyUrl = `http://detour:${token}@127.0.0.1:${proxy.port}`;
  const trust = writeTrustFiles(runDir.path, ca.certPem, parentEnv, config.extraRoots);
  const noProxy = childNoProxy(parentEnv, hosts);
  const env = childEnv(parentEnv, {
    proxyUrl,
    caFile: trust.caFile,
    trustVariables: trust.variables,
    nodeExtraFile: mergedNodeExtra(runDir.path, parentEnv, trust.caFile, ca.certPem),
    wgetrc: writeWgetrc(runDir.path, parentEnv, trust.variables.SSL_CERT_FILE),
    noProxy,
    direct: config.direct,
    nodePreload: nodePreload(),
    ecosystems,
    endpointRoot: `http://127.0.0.1:${proxy.port}/${token}`,
    ecosystemFiles: writeEcosystemFiles(runDir.path, ecosystems, parentEnv, {
      bundle: trust.variables.SSL_CERT_FILE,
      extraRoots: runCasPem(config.extraRoots, ca.certPem),
      proxyUrl,
      noProxy,
    }),
  });
  log?.info(
    { event: 'start', port: proxy.port, rules: config.rules.map((r) => `${r.host}${r.pathPrefix}`), upstream: describeUpstream(config.upstream), command, args },
    'detour started',
  );

  for (const s of EARLY_SIGNALS) process.off(s, early);
  const child = runChild(command, args, env); // spawned by now
  launcher.startupDone();
  setRunTimeV8Flags();
  const result = await child;
  if (result.error) stderr(result.error);

  await proxy.close();
  agents.destroy();
  trace?.close();
  log?.info({ event: 'exit', status: result.status, leaves: ca.leavesIssued }, 'detour finished');
  if (config.verbose) stderr(reporter.summary());
  runDir.remove();
  return result.status;
}
