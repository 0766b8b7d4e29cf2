// Full yargs, loaded only when asked for (~60 ms of start-up otherwise): the help of each subcommand, and
// a second parser built from the same option table, which the tests hold against the yargs-parser one.
import type { Argv } from 'yargs';
import { ConfigError } from './errors.js';
import { PARSER_CONFIGURATION, valuesOf, type SegmentParser } from './args.js';
import { optionsOf, USAGE, type Kind, type OptionSpec, type Subcommand } from './options.js';
import { launcher } from './launcher.js';

const SUMMARY: Readonly<Record<Subcommand, string>> = {
  run: 'run <command> through a temporary mirror proxy',
  check: 'probe every mirror target; print a table (or JSON) on stdout',
  presets: 'list the built-in presets and named mirrors',
};

const EPILOG =
  'Each option but --config, --json, --help and --version is also a key of a config file: .detour.json here or in the ' +
  'nearest parent (project), then $XDG_CONFIG_HOME/detour/config.json (user; --config FILE replaces it). Each is also ' +
  'a DETOUR_* variable (DETOUR_MIRROR, DETOUR_NO_UPSTREAM=1, DETOUR_CONFIG, …). Flags win over DETOUR_*, DETOUR_* over ' +
  'the project file, the project file over the user file.';

async function loadYargs(): Promise<(args?: string[]) => Argv> {
  const { default: yargs } = await (launcher.importExternal('yargs') as Promise<typeof import('yargs')>);
  return (args = []) =>
    yargs(args)
      .scriptName('detour')
      .parserConfiguration(PARSER_CONFIGURATION)
      .help(false)
      .version(false)
      .exitProcess(false)
      // Help and errors in English whatever LANG says, as the rest of detour's output.
      .detectLocale(false)
      .wrap(110);
}

const displayType = (kind: Kind) => (kind === 'list' ? 'string' : kind);

/** `detour --help`, `detour check --help`, `detour presets --help` on stdout. */
export async function printHelp(sub: Subcommand): Promise<void> {
  const make = await loadYargs();
  const usage =
    sub === 'run'
      ? (Object.keys(USAGE) as Subcommand[]).map((s) => `${USAGE[s].padEnd(44)}${SUMMARY[s]}`).join('\n')
      : `${USAGE[sub]}\n\n${SUMMARY[sub]}`;
  let y = make().usage(usage);
  for (const o of optionsOf(sub)) {
    y = y.option(o.name, { ...(o.alias ? { alias: o.alias } : {}), type: displayType(o.kind), describe: o.arg ? `${o.arg}: ${o.describe}` : o.describe });
  }
  if (sub !== 'presets') y = y.epilog(EPILOG);
  let text = '';
  y.showHelp((s) => (text = s));
  process.stdout.write(text + '\n');
}

/** The same grammar's passes, parsed by full yargs (strictOptions and all) instead of yargs-parser. */
export async function yargsSegmentParser(): Promise<SegmentParser> {
  const make = await loadYargs();
  const parsers = new Map<string, Argv>(); // one per option set: building one costs more than a parse
  return (argv, specs: readonly OptionSpec[], strict) => {
    const key = `${strict}:${specs.map((o) => o.name).join()}`;
    let y = parsers.get(key);
    if (!y) {
      y = make().fail((msg, err) => {
        throw err ?? new ConfigError(msg);
      });
      for (const o of specs) y = y.option(o.name, { ...(o.alias ? { alias: o.alias } : {}), type: o.kind === 'boolean' ? 'boolean' : 'string' });
      if (strict) y = y.strictOptions();
      parsers.set(key, y);
    }
    const a = y.parseSync([...argv]) as Record<string, unknown>;
    // strictOptions has refused unknown keys already; words the parser skipped (`---`) are left to the grammar.
    return { values: valuesOf(a, specs), unknown: ((a._ ?? []) as unknown[]).map(String), rest: ((a['--'] ?? []) as unknown[]).map(String) };
  };
}
