/**
 * Validation of option values against the tables (lib/options/define.ts). TypeBox's compiled checkers decide
 * whether a value is valid; this file only walks the tables and words the error, naming the option and what
 * it accepts ("options.executorConfig.maxBatchSize must be an integer >= 1 and <= 2147483647, got 0").
 */
import { Kind, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { InvalidArgumentError } from '../errors.js';
import { defaultFor, type Backend, type Command, type Leaf, type ResolvedOf, type Tree } from './define.js';

type Dict = Record<string, unknown>;

const checkers = new WeakMap<TSchema, TypeCheck<TSchema>>();

function checkerOf(schema: TSchema): TypeCheck<TSchema> {
  let c = checkers.get(schema);
  if (c === undefined) {
    c = TypeCompiler.Compile(schema);
    checkers.set(schema, c);
  }
  return c;
}

/** A value for error messages: short, quoted when a string. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'bigint') return `${value}n`;
  return typeof value;
}

function range(s: TSchema): string {
  const parts: string[] = [];
  if (typeof s.exclusiveMinimum === 'number') parts.push(`> ${s.exclusiveMinimum}`);
  else if (typeof s.minimum === 'number') parts.push(`>= ${s.minimum}`);
  if (typeof s.exclusiveMaximum === 'number') parts.push(`< ${s.exclusiveMaximum}`);
  else if (typeof s.maximum === 'number') parts.push(`<= ${s.maximum}`);
  return parts.length > 0 ? ` ${parts.join(' and ')}` : '';
}

/** What a schema accepts, in words ("an integer >= 1 and <= 64", "one of sim, trtllm"). */
export function describeSchema(s: TSchema): string {
  switch (s[Kind]) {
    case 'Integer':
      return `an integer${range(s)}`;
    case 'Number':
      return `a number${range(s)}`;
    case 'Boolean':
      return 'true or false';
    case 'String':
      return s.minLength ? 'a non-empty string' : 'a string';
    case 'Literal':
      return JSON.stringify(s.const);
    case 'Union': {
      const members = s.anyOf as TSchema[];
      if (members.every((m) => m[Kind] === 'Literal')) return `one of ${members.map((m) => String(m.const)).join(', ')}`;
      return members.map(describeSchema).join(' or ');
    }
    case 'Array':
      return `an array of ${describeSchema(s.items as TSchema).replace(/^an? /, '')}s`;
    default:
      return 'a valid value';
  }
}

/** Throws InvalidArgumentError unless `value` is valid for the leaf; `label` names the option. */
export function checkLeaf(leaf: Leaf, value: unknown, label: string): void {
  if (!checkerOf(leaf.schema).Check(value)) {
    throw new InvalidArgumentError(`${label} must be ${leaf.meta.expected ?? describeSchema(leaf.schema)}, got ${describeValue(value)}`);
  }
  const problem = leaf.meta.check?.(value as never);
  // A problem is a predicate ("must be ...") or, starting with ':', a parser's own sentence.
  if (problem !== undefined) throw new InvalidArgumentError(`${label}${problem.startsWith(':') ? '' : ' '}${problem}`);
}

export interface ResolveContext {
  /** The name of the object in messages (e.g. "options"). */
  root: string;
  /** Whose defaults apply (OptionMeta.commandDefault); absent = the API's. */
  command?: Command;
  /** The backend in use: options limited to the other one are rejected, and get no defaults. */
  backend?: Backend;
}

/**
 * Validates `value` against the table and returns a copy with every default filled in (groups included).
 * Unknown keys are errors, so a typo never passes silently.
 */
export function resolveTree<T extends Tree>(tree: T, value: unknown, ctx: ResolveContext): ResolvedOf<T> {
  return walk(tree, value, ctx.root, ctx, undefined) as ResolvedOf<T>;
}

function walk(tree: Tree, value: unknown, where: string, ctx: ResolveContext, backend: Backend | undefined): Dict {
  if (value === undefined) value = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
    throw new InvalidArgumentError(`${where} must be an object, got ${describeValue(value)}`);
  }
  const given = value as Dict;
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(tree, key)) throw new InvalidArgumentError(`${where}.${key} is not a known option (known: ${Object.keys(tree).join(', ')})`);
  }
  const out: Dict = {};
  for (const [key, node] of Object.entries(tree)) {
    const v = given[key];
    const label = `${where}.${key}`;
    const only = (node.kind === 'leaf' ? node.meta.backend : node.backend) ?? backend;
    const applies = only === undefined || ctx.backend === undefined || only === ctx.backend;
    if (!applies) {
      if (v !== undefined) throw new InvalidArgumentError(`${label} applies only to backend "${only}"`);
      continue;
    }
    if (node.kind === 'group') {
      out[key] = walk(node.members, v, label, ctx, only);
    } else if (v === undefined) {
      const d = defaultFor(node, ctx.command);
      if (d !== undefined) out[key] = d;
    } else {
      checkLeaf(node, v, label);
      out[key] = v;
    }
  }
  return out;
}
