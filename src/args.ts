// The command line's grammar, parsed with yargs-parser (yargs' own argument parser, ~6 ms to load against
// full yargs' ~60 ms) from the option table:
//
//   detour [options] [--] <command> [args...]
//   detour [options] check [options]          (check takes every option of a run, and --json)
//   detour presets [--json]
//
// A subcommand is the first word after the options, unless `--` stands before it (`detour -- check` runs a
// program named check). Every mistake is a UsageError (exit 2, one line): unknown options, an option of
// another subcommand, an option without its value, a word after `check` or `presets`.
import yargsParser from 'yargs-parser';
import { ConfigError } from './errors.js';
import { findOption, flagName, optionsOf, OPTIONS, subcommandName, USAGE, type Flags, type OptionSpec, type Subcommand } from './options.js';

export class UsageError extends ConfigError {}

export type Invocation =
  | { readonly kind: 'help'; readonly sub: Subcommand }
  | { readonly kind: 'version' }
  | { readonly kind: 'run'; readonly flags: Flags; readonly command: string; readonly args: readonly string[] }
  | { readonly kind: 'check'; readonly flags: Flags; readonly json: boolean }
  | { readonly kind: 'presets'; readonly json: boolean };

/** One pass over argv: each option's occurrences by long name, the unknown options as written, the words after the options. */
export interface Segment {
  readonly values: ReadonlyMap<string, readonly unknown[]>;
  readonly unknown: readonly string[];
  readonly rest: readonly string[];
}

/** yargs-parser here; full yargs in src/help.ts (the test feeds both the same vectors). `strict`: unknown options are errors. */
export type SegmentParser = (argv: readonly string[], specs: readonly OptionSpec[], strict: boolean) => Segment;

/** The parser settings both parsers use. Options stop at the first word; `--no-upstream` is an option of its own. */
export const PARSER_CONFIGURATION = {
  'halt-at-non-option': true,
  'populate--': true,
  'boolean-negation': false,
  'camel-case-expansion': false,
  'dot-notation': false,
  'duplicate-arguments-array': true,
  'flatten-duplicate-arrays': true,
  'greedy-arrays': false,
  'parse-numbers': false,
  'parse-positional-numbers': false,
  'short-option-groups': true,
  'strip-aliased': true,
  'unknown-options-as-args': false,
} as const;

/** What yargs(-parser) is told about the options: every value is text (numbers are checked with the config's rules). */
export function parserOptions(specs: readonly OptionSpec[]) {
  return {
    alias: Object.fromEntries(specs.filter((o) => o.alias).map((o) => [o.name, [o.alias!]])),
    boolean: specs.filter((o) => o.kind === 'boolean').map((o) => o.name),
    string: specs.filter((o) => o.kind !== 'boolean').map((o) => o.name),
  };
}

/** Each known option's occurrences, in order (one value or an array of them, as yargs reports). */
export function valuesOf(argv: Record<string, unknown>, specs: readonly OptionSpec[]): Map<string, unknown[]> {
  const values = new Map<string, unknown[]>();
  for (const o of specs) {
    const v = argv[o.name];
    if (v !== undefined) values.set(o.name, ([] as unknown[]).concat(v));
  }
  return values;
}

/** yargs-parser: the run path's parser. */
export const fastSegment: SegmentParser = (argv, specs) => {
  const { argv: a } = yargsParser.detailed([...argv], { ...parserOptions(specs), configuration: PARSER_CONFIGURATION });
  return { values: valuesOf(a, specs), unknown: unknownOf(a, specs), rest: ((a['--'] ?? []) as unknown[]).map(String) };
};

/** Keys no option declares, as the user wrote them (`-q`, `--bogus`), and words the parser skipped (`---`). */
export function unknownOf(argv: Record<string, unknown>, specs: readonly OptionSpec[]): string[] {
  const known = new Set(specs.map((o) => o.name));
  const keys = Object.keys(argv).filter((k) => k !== '_' && k !== '--' && k !== '$0' && !known.has(k));
  return [...keys.map((k) => (k.length === 1 ? `-${k}` : `--${k}`)), ...((argv._ ?? []) as unknown[]).map(String)];
}

// yargs-parser lets a boolean flag take a following word `true` or `false` as its value: `detour -v true`
// would run nothing. Hidden from the parser (NUL cannot occur in argv), these words stay what they are: a
// command, or the value of an option that takes one.
const HIDE = '\0';
const hide = (w: string) => (w === 'true' || w === 'false' ? HIDE + w : w);
const unhide = (v: unknown) => (typeof v === 'string' && v.startsWith(HIDE) ? v.slice(1) : v);

function unknownOption(word: string, sub: Subcommand): UsageError {
  const o = findOption(word.replace(/^--?/, ''));
  const subs = o?.in.map(subcommandName) ?? [];
  if (o) return new UsageError(`${flagName(o)} is not an option of ${subcommandName(sub)}${subs.length ? ` (it belongs to ${subs.join(' and ')})` : ''}`);
  return new UsageError(`unknown option ${word}${sub === 'run' ? '' : ` for detour ${sub}`} (see detour ${sub === 'run' ? '' : `${sub} `}--help)`);
}

/** `--verbose=yes` would quietly mean false to yargs-parser: a boolean's inline value must be true or false. */
function checkBooleanValues(optionWords: readonly string[], specs: readonly OptionSpec[]): void {
  for (const w of optionWords) {
    const m = /^--?([^=]+)=(.*)$/s.exec(w);
    const o = m && specs.find((s) => s.kind === 'boolean' && (s.name === m[1] || s.alias === m[1]));
    if (o && m[2] !== 'true' && m[2] !== 'false') throw new UsageError(`${flagName(o)} takes no value (or true/false), got ${JSON.stringify(m[2])}`);
  }
}

/** The occurrences as flags: lists whole, the last of anything else. An option that takes a value never takes "". */
function flagsOf(values: ReadonlyMap<string, readonly unknown[]>, specs: readonly OptionSpec[]): Flags {
  const flags: Record<string, string | string[] | boolean> = {};
  for (const o of specs) {
    const all = values.get(o.name);
    if (!all?.length) continue;
    if (o.kind === 'boolean') {
      flags[o.name] = all[all.length - 1] === true;
      continue;
    }
    const texts = all.map((v) => String(unhide(v)));
    // `-m -- x`: yargs-parser gives a short option the `--` as its value (not a long one).
    if (texts.some((t) => t === '' || t === '--')) throw new UsageError(`${flagName(o)} needs a value${o.arg ? ` (${o.arg})` : ''}`);
    flags[o.name] = o.kind === 'list' ? texts : texts[texts.length - 1]!;
  }
  return flags as Flags;
}

export function parseArgs(argv: readonly string[], segment: SegmentParser = fastSegment): Invocation {
  const words = argv.map(hide);
  // Pass 1, every option known: where do the options end, and is the first word after them a subcommand?
  const first = segment(words, OPTIONS, false);
  const at = words.length - first.rest.length;
  const sub: Subcommand = (words[at] === 'check' || words[at] === 'presets') && words[at - 1] !== '--' ? (words[at] as Subcommand) : 'run';
  // Pass 2, only this subcommand's options, the word itself taken out: options may stand on either side of it.
  const own = sub === 'run' ? words : [...words.slice(0, at), ...words.slice(at + 1)];
  const specs = optionsOf(sub);
  const seg = segment(own, specs, true);
  if (seg.unknown.length) throw unknownOption(String(unhide(seg.unknown[0])), sub);
  checkBooleanValues(own.slice(0, own.length - seg.rest.length), specs);
  const flags = flagsOf(seg.values, specs);
  const rest = seg.rest.map((w) => String(unhide(w)));

  if (flags.help) return { kind: 'help', sub };
  if (flags.version) return { kind: 'version' };
  const { help: _h, version: _v, json, ...options } = flags;
  if (sub === 'presets') {
    if (rest.length) throw new UsageError(`"detour presets" takes no arguments, got ${JSON.stringify(rest[0])}`);
    return { kind: 'presets', json: json === true };
  }
  if (sub === 'check') {
    if (rest.length) throw new UsageError(`"detour check" takes no command, got ${JSON.stringify(rest[0])}`);
    return { kind: 'check', flags: options, json: json === true };
  }
  if (!rest.length) throw new UsageError(`no command given; usage: ${USAGE.run}`);
  return { kind: 'run', flags: options, command: rest[0]!, args: rest.slice(1) };
}
