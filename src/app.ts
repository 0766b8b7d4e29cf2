#!/usr/bin/env node
// Command line → Config → main. Only this file knows about yargs and process exit codes for usage errors.
import yargs from 'yargs';
import { ConfigError } from './errors.js';
import { resolveConfig, type Options } from './config.js';
import { packageVersion, runCheck, runCommand } from './main.js';
import { presetsJson, presetsText } from './presetsTable.js';

const USAGE = `detour [options] [--] <command> [args...]   run <command> through a temporary mirror proxy
detour check [options]                      probe every mirror target; print a table on stdout
detour presets [--json]                     list the built-in presets and named mirrors`;

function parser(argv: string[]) {
  return yargs(argv)
    .scriptName('detour')
    .usage(USAGE)
    .parserConfiguration({
      'halt-at-non-option': true,
      'populate--': true,
      'boolean-negation': false,
      'parse-positional-numbers': false,
      'duplicate-arguments-array': true,
      'camel-case-expansion': false,
    })
    .option('mirror', { alias: 'm', type: 'string', requiresArg: true, describe: 'preset, preset=MIRRORS, or HOST[/PATH]=TARGETS (repeatable)' })
    .option('direct', { alias: 'd', type: 'string', requiresArg: true, describe: 'private host or module pattern, GOPRIVATE syntax (repeatable)' })
    .option('upstream', { type: 'string', requiresArg: true, describe: 'proxy detour itself uses (http, https, socks URL)' })
    .option('no-upstream', { type: 'boolean', describe: "ignore the parent's proxy variables" })
    .option('upstream-ca', { type: 'string', requiresArg: true, describe: 'extra PEM roots for outbound TLS (repeatable)' })
    .option('connect-to', { type: 'string', requiresArg: true, describe: 'HOST:PORT:HOST2:PORT2, as curl (repeatable)' })
    .option('timeout', { type: 'number', requiresArg: true, describe: 'connect / first-byte timeout per target, ms (default 10000)' })
    .option('idle-timeout', { type: 'number', requiresArg: true, describe: 'mid-body stall timeout, ms (default 60000)' })
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'one line per request on stderr, and a summary' })
    .option('log-file', { type: 'string', requiresArg: true, describe: 'JSON lines (pino) of every request and lifecycle event' })
    .option('trace', { type: 'string', requiresArg: true, describe: 'HAR 1.2 record of every exchange' })
    .option('config', { type: 'string', requiresArg: true, describe: 'JSON config file' })
    .option('ca-dir', { type: 'string', requiresArg: true, describe: 'keep and reuse the CA in this folder' })
    .option('json', { type: 'boolean', hidden: true })
    .strictOptions()
    .help()
    // Given, not looked up: yargs would search for package.json from its own file, which is now the bundle.
    .version(packageVersion())
    // Help and errors in English whatever LANG says: yargs' translations are not in the bundle.
    .detectLocale(false)
    .wrap(100)
    .fail((msg, err) => {
      throw err ?? new ConfigError(msg);
    });
}

type Parsed = Awaited<ReturnType<ReturnType<typeof parser>['parseAsync']>>;

const list = (v: unknown): string[] | undefined => (v === undefined ? undefined : ([] as unknown[]).concat(v).map(String));
const last = <T>(v: T | T[] | undefined): T | undefined => (Array.isArray(v) ? v[v.length - 1] : v);

/** The parsed flags as config options (repeatable ones as lists, the rest: last value wins). */
function flagsOf(a: Parsed): Options & { config?: string } {
  const flags = {
    mirror: list(a.mirror),
    direct: list(a.direct),
    upstream: last(a.upstream as string | string[] | undefined),
    'no-upstream': last(a['no-upstream'] as boolean | boolean[] | undefined),
    'upstream-ca': list(a['upstream-ca']),
    'connect-to': list(a['connect-to']),
    timeout: last(a.timeout as number | number[] | undefined),
    'idle-timeout': last(a['idle-timeout'] as number | number[] | undefined),
    verbose: last(a.verbose as boolean | boolean[] | undefined),
    'log-file': last(a['log-file'] as string | string[] | undefined),
    trace: last(a.trace as string | string[] | undefined),
    'ca-dir': last(a['ca-dir'] as string | string[] | undefined),
    config: last(a.config as string | string[] | undefined),
  } as Options & { config?: string };
  for (const n of ['timeout', 'idle-timeout'] as const) {
    const v = flags[n];
    if (v !== undefined && (!Number.isInteger(v) || v <= 0)) throw new ConfigError(`--${n} must be a positive number of milliseconds`);
  }
  return flags;
}

async function main(argv: string[]): Promise<number> {
  const a = await parser(argv).parseAsync();
  const positional = (a._ as (string | number)[]).map(String);
  const afterDashes = ((a['--'] as (string | number)[] | undefined) ?? []).map(String);
  const words = [...positional, ...afterDashes];

  // A subcommand is a first word not preceded by `--` (`detour -- check` runs a program named check).
  const dashes = argv.indexOf('--');
  const sub = ['presets', 'check'].includes(words[0] ?? '') && (dashes < 0 || argv.indexOf(words[0]!) < dashes) ? words[0] : undefined;
  if (sub === 'presets') {
    process.stdout.write(a.json || words.includes('--json') ? presetsJson() : presetsText());
    return 0;
  }
  if (sub === 'check') {
    // Options may stand on either side of the word: parse again without it (halt-at-non-option stopped there).
    const at = argv.indexOf('check');
    const b = await parser([...argv.slice(0, at), ...argv.slice(at + 1)]).parseAsync();
    const extra = [...(b._ as unknown[]), ...((b['--'] as unknown[] | undefined) ?? [])];
    if (extra.length) throw new ConfigError(`"detour check" takes no command, got ${JSON.stringify(String(extra[0]))}`);
    return runCheck(resolveConfig(flagsOf(b), process.env), process.env, { json: !!b.json });
  }
  if (!words.length) throw new ConfigError('no command given; usage: detour [options] [--] <command> [args...]');

  const flags = flagsOf(a);
  const config = resolveConfig(flags, process.env);
  return runCommand(words[0]!, words.slice(1), config, process.env);
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`detour: ${err.message.split('\n')[0]}\n`);
      process.exit(2);
    }
    process.stderr.write(`detour: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(70);
  },
);
