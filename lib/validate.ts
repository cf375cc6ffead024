/** Small validators that produce errors naming the exact option path and what was wrong. */
import { InvalidArgumentError } from './errors.js';

export type Dict = Record<string, unknown>;

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  return typeof value;
}

export function fail(path: string, expected: string, value: unknown): never {
  throw new InvalidArgumentError(`${path} must be ${expected}, got ${describe(value)}`);
}

/** An optional plain object; rejects keys not in `allowed` so typos do not pass silently. */
export function optObject(value: unknown, path: string, allowed: readonly string[]): Dict | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(path, 'an object', value);
  for (const key of Object.keys(value as Dict)) {
    if (!allowed.includes(key)) {
      throw new InvalidArgumentError(`${path}.${key} is not a known option (known: ${allowed.join(', ')})`);
    }
  }
  return value as Dict;
}

export function optInt(value: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(path, `an integer in [${min}, ${max}]`, value);
  }
  return value;
}

export function optNum(value: unknown, path: string, min: number, max: number, opts: { minExclusive?: boolean } = {}): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value > max || (opts.minExclusive ? value <= min : value < min)) {
    fail(path, `a finite number in ${opts.minExclusive ? '(' : '['}${min}, ${max}]`, value);
  }
  return value;
}

export function optBool(value: unknown, path: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') fail(path, 'a boolean', value);
  return value;
}

export function optString(value: unknown, path: string, opts: { nonEmpty?: boolean } = {}): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || (opts.nonEmpty && value.length === 0)) fail(path, opts.nonEmpty ? 'a non-empty string' : 'a string', value);
  return value;
}

export function optEnum<T extends string>(value: unknown, path: string, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    fail(path, `one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`, value);
  }
  return value as T;
}

/** Token ids: an Int32Array or an array of integers in [0, 2^31). */
export function tokenArray(value: unknown, path: string, opts: { nonEmpty?: boolean } = {}): Int32Array {
  let out: Int32Array;
  if (value instanceof Int32Array) {
    out = value;
    for (let i = 0; i < out.length; i++) if (out[i]! < 0) fail(`${path}[${i}]`, 'a token id >= 0', out[i]);
  } else if (Array.isArray(value)) {
    out = new Int32Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const t: unknown = value[i];
      if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > 0x7fffffff) fail(`${path}[${i}]`, 'a token id (integer in [0, 2^31))', t);
      out[i] = t;
    }
  } else {
    fail(path, 'an Int32Array or an array of token ids', value);
  }
  if (opts.nonEmpty && out.length === 0) throw new InvalidArgumentError(`${path} must not be empty`);
  return out;
}
