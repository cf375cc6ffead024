/**
 * The vocabulary of the option tables (lib/options/*-table.ts). Every option is defined once, as an `opt()`
 * leaf: a TypeBox schema (type and range) plus metadata (help, unit, default, backend, command-line flag,
 * what it sets). The TypeScript types, validation, `--help`, `--config` keys and docs/options.md are all
 * derived from the tables; nothing else restates a range or a default. See docs/options.md.
 */
import { Type, type Static, type TLiteral, type TSchema, type TUnion } from '@sinclair/typebox';

export type Backend = 'sim' | 'trtllm';
/** The commands whose command line an option can appear on. */
export type Command = 'serve' | 'bench' | 'kv-events';

export interface OptionMeta<T> {
  /** One line for --help and the docs; the default and unit are appended, do not repeat them. */
  help: string;
  /** Unit of a number: ms, s, bytes, tokens, blocks, requests, ... */
  unit?: string;
  /** Applied when the option is absent (the value the engine or server gets). */
  default?: T;
  /** A default that is not one constant (e.g. "the engine's"), in words; for --help and the docs. */
  defaultText?: string;
  /** A command whose default differs from `default` (e.g. serve turns KV events on). */
  commandDefault?: Partial<Record<Command, T>>;
  /** The option applies only to this backend; giving it with the other one is an error. */
  backend?: Backend;
  /** What the option sets: a TensorRT-LLM / simulator setter, or the part of this package that reads it. */
  maps?: string;
  /** Command-line flag (kebab-case) and the commands that have it; absent = API and config only. */
  flag?: string;
  /** Other spellings of the flag (e.g. vLLM's where ours differs), accepted on the command line and as --config keys. */
  aliases?: readonly string[];
  /**
   * The flag takes every following argument up to the next `-`-prefixed one, joined with single spaces
   * (argparse's `nargs`: `--goodput ttft:500 tpot:50`); none at all gives ''. Strings only.
   */
  variadic?: boolean;
  commands?: readonly Command[];
  /** Placeholder of the flag's value in --help (default N, X, ... by type). */
  arg?: string;
  /** The --help section of the flag. */
  section?: string;
  /** Environment variable read when neither the flag nor the config file sets the option. */
  env?: string;
  /**
   * Several environment variables that make the value together (e.g. Dynamo's DYN_METRICS_TTFT_{MIN,MAX,COUNT}),
   * read when neither the flag nor the config file sets the option: `read` returns the value, undefined when
   * none is set, or throws InvalidArgumentError naming the variable.
   */
  fromEnv?: { names: readonly string[]; read(env: Readonly<Record<string, string | undefined>>): T | undefined };
  /** "must be ..." text for a value the schema rejects, when the schema alone does not say it well. */
  expected?: string;
  /** A syntax check the schema cannot express: returns what is wrong, or undefined. */
  check?(value: T): string | undefined;
  /** Command-line text with a meaning of its own (e.g. "inf"); return `undefined` for "not set". */
  parseText?(text: string): T | undefined | typeof NOT_SPECIAL;
}

/** Returned by OptionMeta.parseText for text that it does not handle. */
export const NOT_SPECIAL = Symbol('not special');

export interface Leaf<S extends TSchema = TSchema, HasDefault extends boolean = boolean> {
  readonly kind: 'leaf';
  readonly schema: S;
  readonly meta: OptionMeta<Static<S>>;
  /** Type-level only: whether `meta.default` is set (resolved values have the option then). */
  readonly hasDefault?: HasDefault;
}

export interface Group<M extends Tree = Tree> {
  readonly kind: 'group';
  readonly members: M;
  readonly help: string;
  /** Every option of the group applies only to this backend. */
  readonly backend?: Backend;
}

export interface Tree {
  readonly [key: string]: Leaf | Group;
}

/** A leaf whose default is known to the type system. */
export type DefaultedLeaf<S extends TSchema = TSchema> = Leaf<S, true> & { readonly meta: OptionMeta<Static<S>> & { readonly default: Static<S> } };

export function opt<S extends TSchema>(schema: S, meta: OptionMeta<Static<S>> & { default: Static<S> }): DefaultedLeaf<S>;
export function opt<S extends TSchema>(schema: S, meta: OptionMeta<Static<S>>): Leaf<S, false>;
export function opt<S extends TSchema>(schema: S, meta: OptionMeta<Static<S>>): Leaf<S> {
  return { kind: 'leaf', schema, meta };
}

export function group<M extends Tree>(help: string, members: M, options: { backend?: Backend } = {}): Group<M> {
  return { kind: 'group', members, help, ...options };
}

/** The options object a caller passes: every option optional. */
export type OptionsOf<T extends Tree> = {
  -readonly [K in keyof T]?: T[K] extends Leaf<infer S> ? Static<S> : T[K] extends Group<infer M> ? OptionsOf<M> : never;
};

type DefaultedKeys<T extends Tree> = { [K in keyof T]: T[K] extends Leaf<TSchema, true> ? K : T[K] extends Group ? K : never }[keyof T];

/** The options after validation: options with a default, and groups, are always present. */
export type ResolvedOf<T extends Tree> = {
  -readonly [K in DefaultedKeys<T>]: T[K] extends Leaf<infer S> ? Static<S> : T[K] extends Group<infer M> ? ResolvedOf<M> : never;
} & {
  -readonly [K in Exclude<keyof T, DefaultedKeys<T>>]?: T[K] extends Leaf<infer S> ? Static<S> : never;
};

export interface LeafEntry {
  /** Keys from the table's root to the leaf. */
  path: readonly string[];
  leaf: Leaf;
  /** The backend the leaf (or a group above it) is limited to. */
  backend: Backend | undefined;
}

/** Every leaf of a table in table order, depth first. */
export function leaves(tree: Tree, prefix: readonly string[] = [], backend?: Backend): LeafEntry[] {
  const out: LeafEntry[] = [];
  for (const [key, node] of Object.entries(tree)) {
    const path = [...prefix, key];
    if (node.kind === 'leaf') out.push({ path, leaf: node, backend: node.meta.backend ?? backend });
    else out.push(...leaves(node.members, path, node.backend ?? backend));
  }
  return out;
}

/** The default of a leaf for a command (commandDefault first). */
export function defaultFor(leaf: Leaf, command?: Command): unknown {
  const byCommand = command !== undefined ? leaf.meta.commandDefault?.[command] : undefined;
  return byCommand !== undefined ? byCommand : leaf.meta.default;
}

// ---- schema shorthands of the tables ----

export const INT32_MAX = 2147483647;
export const HOUR_MS = 3_600_000;

export const int = (minimum: number, maximum: number = INT32_MAX) => Type.Integer({ minimum, maximum });
export const num = (minimum: number, maximum: number) => Type.Number({ minimum, maximum });
export const positive = (maximum: number) => Type.Number({ exclusiveMinimum: 0, maximum });
export const nonEmpty = () => Type.String({ minLength: 1 });

export function oneOf<const T extends readonly string[]>(...values: T): TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }> {
  return Type.Union(values.map((v) => Type.Literal(v))) as never;
}
