// The one option table. It drives the run path's parser (yargs-parser, src/args.ts), the help and the
// second-opinion parser (full yargs, src/help.ts), the config-file keys and the DETOUR_* variables
// (src/config.ts). Adding an option is one row here.

export type Kind = 'list' | 'string' | 'number' | 'boolean';
export type Subcommand = 'run' | 'check' | 'presets';

export interface OptionSpec {
  /** Long name: `--name`, the config-file key and DETOUR_NAME (upper case, `-` → `_`). */
  readonly name: string;
  readonly alias?: string;
  /** `list`: repeatable, every occurrence kept; the other kinds: the last occurrence wins. */
  readonly kind: Kind;
  /** The value's placeholder in help (`--mirror SPEC`). */
  readonly arg?: string;
  readonly describe: string;
  /** The subcommands whose command line takes it (`run` is `detour [options] [--] <command>`). */
  readonly in: readonly Subcommand[];
  /** Where else it can be set: config files and DETOUR_*, DETOUR_* only, or the command line only. */
  readonly settable: 'anywhere' | 'env' | 'flag';
  /** A file or folder: relative values in a config file resolve against that file's folder. `write`: detour writes there. */
  readonly path?: 'read' | 'write';
}

// `check` takes every option of a run: an alias or wrapper that adds run options keeps working for check
// (the ones that only matter to a run, such as --trace, have no effect there).
const RUN_CHECK = ['run', 'check'] as const;

export const OPTIONS = [
  { name: 'mirror', alias: 'm', kind: 'list', arg: 'SPEC', in: RUN_CHECK, settable: 'anywhere', describe: 'preset, preset=MIRRORS, or HOST[/PATH]=TARGETS (repeatable)' },
  { name: 'direct', alias: 'd', kind: 'list', arg: 'PATTERN', in: RUN_CHECK, settable: 'anywhere', describe: 'private host or module pattern, GOPRIVATE syntax (repeatable)' },
  { name: 'upstream', kind: 'string', arg: 'URL', in: RUN_CHECK, settable: 'anywhere', describe: 'proxy detour itself uses (http, https, socks URL)' },
  { name: 'no-upstream', kind: 'boolean', in: RUN_CHECK, settable: 'anywhere', describe: "ignore the parent's proxy variables" },
  { name: 'upstream-ca', kind: 'list', arg: 'FILE', in: RUN_CHECK, settable: 'anywhere', path: 'read', describe: 'extra PEM roots for outbound TLS (repeatable)' },
  { name: 'connect-to', kind: 'list', arg: 'H:P:H2:P2', in: RUN_CHECK, settable: 'anywhere', describe: 'HOST:PORT:HOST2:PORT2, as curl (repeatable)' },
  { name: 'timeout', kind: 'number', arg: 'MS', in: RUN_CHECK, settable: 'anywhere', describe: 'connect / first-byte timeout per target (default 10000)' },
  { name: 'idle-timeout', kind: 'number', arg: 'MS', in: RUN_CHECK, settable: 'anywhere', describe: 'mid-body stall timeout (default max(timeout, 60000))' },
  { name: 'verbose', alias: 'v', kind: 'boolean', in: RUN_CHECK, settable: 'anywhere', describe: 'one line per request on stderr, and a summary' },
  { name: 'log-file', kind: 'string', arg: 'FILE', in: RUN_CHECK, settable: 'anywhere', path: 'write', describe: 'JSON lines (pino) of every request and lifecycle event' },
  { name: 'trace', kind: 'string', arg: 'FILE.har', in: RUN_CHECK, settable: 'anywhere', path: 'write', describe: 'HAR 1.2 record of every exchange' },
  { name: 'config', kind: 'string', arg: 'FILE', in: RUN_CHECK, settable: 'env', describe: 'JSON config file, instead of the user one' },
  { name: 'ca-dir', kind: 'string', arg: 'DIR', in: RUN_CHECK, settable: 'anywhere', path: 'write', describe: 'keep and reuse the CA in this folder' },
  { name: 'json', kind: 'boolean', in: ['check', 'presets'], settable: 'flag', describe: 'JSON on stdout instead of a table' },
  { name: 'help', alias: 'h', kind: 'boolean', in: ['run', 'check', 'presets'], settable: 'flag', describe: 'show help' },
  { name: 'version', kind: 'boolean', in: ['run'], settable: 'flag', describe: 'show the version' },
] as const satisfies readonly OptionSpec[];

type Row = (typeof OPTIONS)[number];
type ValueOf<K extends Kind> = K extends 'list' ? string[] : K extends 'string' ? string : K extends 'number' ? number : boolean;

/** The options as a config file or DETOUR_* can hold them (long names), typed from the table. */
export type Options = { -readonly [R in Extract<Row, { settable: 'anywhere' }> as R['name']]?: ValueOf<R['kind']> };
export type OptionName = Row['name'];

/** Command-line values before validation: lists as given, the last occurrence of the rest (numbers still text). */
export type Flags = Partial<Record<OptionName, string | string[] | boolean>>;

export const SUBCOMMANDS: readonly Subcommand[] = ['run', 'check', 'presets'];

export function optionsOf(sub: Subcommand): readonly OptionSpec[] {
  return OPTIONS.filter((o) => (o.in as readonly Subcommand[]).includes(sub));
}

/** Looks a name or alias up (as yargs-parser reports keys: without dashes). */
export function findOption(key: string): OptionSpec | undefined {
  return OPTIONS.find((o) => o.name === key || ('alias' in o && o.alias === key));
}

/** `-m/--mirror`, `--upstream`: how an error names an option. */
export function flagName(o: OptionSpec): string {
  return o.alias ? `-${o.alias}/--${o.name}` : `--${o.name}`;
}

export function envName(o: OptionSpec): string {
  return `DETOUR_${o.name.toUpperCase().replace(/-/g, '_')}`;
}

/** The first word of a subcommand's usage, for errors: `detour check`, or `a run` for the main job. */
export function subcommandName(sub: Subcommand): string {
  return sub === 'run' ? 'a run' : `detour ${sub}`;
}

export const USAGE: Readonly<Record<Subcommand, string>> = {
  run: 'detour [options] [--] <command> [args...]',
  check: 'detour check [options] [--json]',
  presets: 'detour presets [--json]',
};
