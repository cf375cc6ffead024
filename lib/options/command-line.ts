/**
 * Command lines from the option tables: the flags of a command (node:util parseArgs, strict), a JSON
 * `--config FILE` with the same names (kebab-case or camelCase), environment variables named in the table,
 * and the --help text. Precedence: flag, then config file, then environment, then the table's default.
 * Every problem is a UsageError whose one-line message names the flag, key or variable (exit code 2).
 */
import { Kind, type TSchema } from '@sinclair/typebox';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { InvalidArgumentError, UsageError } from '../errors.js';
import { checkLeaf } from './check.js';
import { defaultFor, leaves, NOT_SPECIAL, type Command, type Leaf, type LeafEntry, type Tree } from './define.js';

type Dict = Record<string, unknown>;

export interface FlagEntry extends LeafEntry {
  flag: string;
  /** Other spellings (OptionMeta.aliases). */
  aliases: readonly string[];
}

export type Source = 'flag' | 'config' | 'env';

export interface ParsedCommandLine {
  help: boolean;
  /** The options given, nested as in the table (a flag's leaf path). */
  values: Dict;
  /** What was given, by flag name, and where it came from. */
  given: Map<string, { entry: FlagEntry; source: Source }>;
}

/** The flags of `command` in table order. */
export function flagsOf(tree: Tree, command: Command): FlagEntry[] {
  const out: FlagEntry[] = [];
  const seen = new Set<string>();
  for (const e of leaves(tree)) {
    const { flag, commands } = e.leaf.meta;
    if (flag === undefined || !commands?.includes(command)) continue;
    const aliases = e.leaf.meta.aliases ?? [];
    // Two leaves may be the same shared leaf (e.g. the metrics port); a flag still names one option.
    for (const name of [flag, ...aliases]) {
      if (seen.has(name)) throw new Error(`option table: --${name} is defined twice for ${command}`);
      seen.add(name);
    }
    out.push({ ...e, flag, aliases });
  }
  return out;
}

const NUMBER_TEXT = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

/** A leaf's value from command-line or environment text; text that is not of the leaf's type is kept (and rejected by the check). */
export function valueFromText(leaf: Leaf, text: string): unknown {
  if (leaf.meta.parseText !== undefined) {
    const special = leaf.meta.parseText(text);
    if (special !== NOT_SPECIAL) return special;
  }
  const kind = (leaf.schema as TSchema)[Kind];
  if ((kind === 'Integer' || kind === 'Number') && NUMBER_TEXT.test(text)) return Number(text);
  if (kind === 'Boolean' && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

function camel(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function setPath(target: Dict, path: readonly string[], value: unknown): void {
  let o = target;
  for (const key of path.slice(0, -1)) o = (o[key] ??= {}) as Dict;
  o[path[path.length - 1]!] = value;
}

function checked(entry: FlagEntry, value: unknown, label: string): unknown {
  try {
    checkLeaf(entry.leaf, value, label);
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new UsageError(err.message);
    throw err;
  }
  return value;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * Joins the arguments of variadic flags (OptionMeta.variadic) into one, as argparse's `nargs` would take
 * them: `--goodput ttft:500 tpot:50` becomes `--goodput`, `ttft:500 tpot:50`.
 */
function joinVariadic(argv: readonly string[], variadic: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    out.push(arg);
    if (!arg.startsWith('--') || arg.includes('=') || !variadic.has(arg.slice(2))) continue;
    const values: string[] = [];
    while (i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) values.push(argv[++i]!);
    out.push(values.join(' '));
  }
  return out;
}

/** Parses a command line (the arguments after the command's name). */
export function parseCommandLine(tree: Tree, command: Command, argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): ParsedCommandLine {
  const flags = flagsOf(tree, command);
  // Every spelling (flag or alias) -> its entry.
  const byName = new Map<string, FlagEntry>();
  for (const f of flags) for (const name of [f.flag, ...f.aliases]) byName.set(name, f);
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  };
  const variadic = new Set<string>();
  for (const [name, f] of byName) {
    const bool = (f.leaf.schema as TSchema)[Kind] === 'Boolean';
    options[name] = { type: bool ? 'boolean' : 'string' };
    if (bool) options[`no-${name}`] = { type: 'boolean' };
    if (f.leaf.meta.variadic) variadic.add(name);
  }
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: joinVariadic(argv, variadic), options, strict: true, allowPositionals: true }) as typeof parsed;
  } catch (err) {
    throw new UsageError(oneLine((err as Error).message).replace(/ To specify a positional argument.*$/, ''));
  }
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`);
  const out: ParsedCommandLine = { help: parsed.values.help === true, values: {}, given: new Map() };
  if (out.help) return out;

  const fromFlags = new Map<string, unknown>();
  // The spelling each option was given with, for messages.
  const spelled = new Map<string, string>();
  for (const [name, raw] of Object.entries(parsed.values)) {
    if (raw === undefined || name === 'config' || name === 'help') continue;
    const negated = name.startsWith('no-') && !byName.has(name) ? name.slice(3) : undefined;
    const spelling = negated ?? name;
    const entry = byName.get(spelling)!;
    const label = negated !== undefined ? `--no-${spelling}` : `--${spelling}`;
    const earlier = spelled.get(entry.flag);
    if (earlier !== undefined) {
      const same = earlier.replace(/^--(no-)?/, '') === spelling;
      throw new UsageError(same ? `--${spelling} and --no-${spelling} contradict each other` : `${earlier} and ${label} are the same option: give one`);
    }
    spelled.set(entry.flag, label);
    if (negated !== undefined) {
      fromFlags.set(entry.flag, checked(entry, false, label));
    } else {
      const value = typeof raw === 'string' ? valueFromText(entry.leaf, raw) : raw;
      fromFlags.set(entry.flag, value === undefined ? undefined : checked(entry, value, label));
    }
  }

  const fromConfig = typeof parsed.values.config === 'string' ? readConfigFile(parsed.values.config, flags) : new Map<string, unknown>();
  for (const f of flags) {
    let value: unknown;
    let source: Source;
    if (fromFlags.has(f.flag)) [value, source] = [fromFlags.get(f.flag), 'flag'];
    else if (fromConfig.has(f.flag)) [value, source] = [fromConfig.get(f.flag), 'config'];
    else if (f.leaf.meta.fromEnv !== undefined) {
      const group = f.leaf.meta.fromEnv;
      try {
        value = group.read(env);
      } catch (err) {
        if (err instanceof InvalidArgumentError) throw new UsageError(err.message);
        throw err;
      }
      if (value === undefined) continue;
      [value, source] = [checked(f, value, group.names.join(', ')), 'env'];
    } else {
      const name = f.leaf.meta.env;
      const text = name !== undefined ? env[name] : undefined;
      if (text === undefined || text.trim() === '') continue;
      [value, source] = [checked(f, valueFromText(f.leaf, text), name!), 'env'];
    }
    if (value === undefined) continue; // e.g. --request-rate inf: "not set"
    setPath(out.values, f.path, value);
    out.given.set(f.flag, { entry: f, source });
  }
  return out;
}

function readConfigFile(file: string, flags: readonly FlagEntry[]): Map<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new UsageError(code === 'ENOENT' ? `config file ${file} does not exist` : `cannot read config file ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new UsageError(`config file ${file} must hold a JSON object`);
  const byKey = new Map<string, FlagEntry>();
  for (const f of flags) {
    for (const name of [f.flag, ...f.aliases]) {
      byKey.set(name, f);
      byKey.set(camel(name), f);
    }
  }
  const out = new Map<string, unknown>();
  const keyOf = new Map<string, string>();
  // Own keys only, looked up in a Map: "__proto__" or "constructor" are unknown options like any other.
  for (const [key, value] of Object.entries(json as Dict)) {
    const f = byKey.get(key);
    if (f === undefined) throw new UsageError(`config file ${file}: unknown option "${key}" (see --help)`);
    const earlier = keyOf.get(f.flag);
    if (earlier !== undefined) throw new UsageError(`config file ${file}: "${earlier}" and "${key}" are the same option: give one`);
    keyOf.set(f.flag, key);
    if (value === null) continue;
    out.set(f.flag, checked(f, value, `config file ${file}: "${key}"`));
  }
  return out;
}

function placeholder(leaf: Leaf): string {
  if (leaf.meta.arg !== undefined) return leaf.meta.arg;
  const s = leaf.schema as TSchema;
  if (s[Kind] === 'Union') return (s.anyOf as TSchema[]).map((m) => String(m.const)).join('|');
  if (leaf.meta.unit === 'ms') return 'MS';
  if (leaf.meta.unit === 's') return 'S';
  if (s[Kind] === 'Integer') return 'N';
  if (s[Kind] === 'Number') return 'X';
  return 'VALUE';
}

/** "(default X)" as --help and the docs say it. */
export function defaultText(leaf: Leaf, command?: Command): string | undefined {
  const d = defaultFor(leaf, command);
  if (d !== undefined) return typeof d === 'boolean' ? (d ? 'on' : 'off') : String(d);
  return leaf.meta.defaultText;
}

export interface HelpLayout {
  /** Lines before the options. */
  intro: readonly string[];
  /** Section titles in the order to print them (OptionMeta.section; a title may differ: [section, title]). */
  sections: ReadonlyArray<readonly [string, string]>;
  /** Lines after the options. */
  outro: readonly string[];
}

function column(s: string): string {
  return s.length >= 38 ? `${s}  ` : s.padEnd(40);
}

/** The --help text of a command. */
export function helpText(tree: Tree, command: Command, layout: HelpLayout): string {
  const flags = flagsOf(tree, command);
  const lines = [...layout.intro, ''];
  for (const [section, title] of layout.sections) {
    const mine = flags.filter((f) => (f.leaf.meta.section ?? 'Other') === section);
    if (mine.length === 0) continue;
    lines.push(`${title}:`);
    for (const f of mine) {
      const bool = (f.leaf.schema as TSchema)[Kind] === 'Boolean';
      const d = defaultText(f.leaf, command);
      const envNames = f.leaf.meta.env ?? f.leaf.meta.fromEnv?.names.join(', ');
      const extras = [
        d !== undefined ? `default ${d}` : undefined,
        envNames !== undefined ? `env ${envNames}` : undefined,
        f.aliases.length > 0 ? `also ${f.aliases.map((a) => `--${a}`).join(', ')}` : undefined,
      ].filter(Boolean);
      const arg = bool ? '' : ` ${placeholder(f.leaf)}${f.leaf.meta.variadic ? ' ...' : ''}`;
      lines.push(column(`  --${f.flag}${arg}`) + f.leaf.meta.help + (extras.length > 0 ? ` (${extras.join('; ')})` : ''));
    }
    lines.push('');
  }
  const known = new Set(layout.sections.map(([s]) => s));
  const orphans = flags.filter((f) => !known.has(f.leaf.meta.section ?? 'Other'));
  if (orphans.length > 0) throw new Error(`option table: no --help section for ${orphans.map((f) => `--${f.flag}`).join(', ')}`);
  lines.push('Other:');
  lines.push(column('  --config FILE') + 'JSON object of the options above (flag names or camelCase); flags win');
  lines.push(column('  -h, --help') + 'this text');
  lines.push('', ...layout.outro);
  return lines.join('\n').trimEnd() + '\n';
}
