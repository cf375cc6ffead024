/**
 * Workload datasets. A file holds one entry per line (JSONL) or one JSON array of entries. An entry is:
 * - `{"prompt_len": 512, "output_len": 128}`: lengths in tokens (synthetic prompts of that length);
 * - `{"prompt": "text", "output": "text"}`: texts; lengths are counted with the package's byte tokenizer
 *   (one token per UTF-8 byte: the simulator's tokenizer; a real model's tokenizer counts fewer tokens);
 *   `output_len` may replace `output`, and `prompt_len` is ignored when `prompt` is present;
 * - ShareGPT style `{"conversations": [{"from": "human", "value": "..."}, {"from": "gpt", "value": "..."}]}`:
 *   the first human (or user) turn is the prompt, the turn after it the output. Entries with no such pair are
 *   skipped, as vLLM's benchmark does.
 * Blank lines are ignored. Anything else is an error naming the line.
 */
import { readFileSync } from 'node:fs';
import { TrtllmMetricsError } from '../errors.js';
import { ByteTokenizer } from '../tokenizer.js';

export interface DatasetEntry {
  /** Prompt length in tokens (of the byte tokenizer for texts). */
  promptLen: number;
  /** Output length in tokens, or 0 when the entry gives none (then --output-len decides). */
  outputLen: number;
  /** The prompt text, when the entry has one. */
  prompt?: string;
}

export interface Dataset {
  path: string;
  entries: DatasetEntry[];
  /** Entries skipped (ShareGPT conversations without a prompt/answer pair). */
  skipped: number;
  /** Whether any entry carries a prompt text. */
  hasText: boolean;
}

/** A --dataset file that cannot be read or parsed; the message names the file and line. */
export class DatasetError extends TrtllmMetricsError {
  constructor(message: string) {
    super('ERR_TRTLLM_BENCH_DATASET', message);
  }
}

const tokenizer = new ByteTokenizer();

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function positiveInt(v: unknown, where: string, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 16_777_216) {
    throw new DatasetError(`${where}: ${field} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function textLen(text: string): number {
  return tokenizer.encode(text).length;
}

const HUMAN = new Set(['human', 'user']);
const ASSISTANT = new Set(['gpt', 'assistant', 'chatgpt', 'bard', 'model']);

/** One entry, or null when it is a ShareGPT conversation to skip. */
export function parseEntry(v: unknown, where: string): DatasetEntry | null {
  if (!isObject(v)) throw new DatasetError(`${where}: expected a JSON object`);
  if (v.conversations !== undefined) {
    const turns = v.conversations;
    if (!Array.isArray(turns)) throw new DatasetError(`${where}: conversations must be an array`);
    for (let i = 0; i + 1 < turns.length; i++) {
      const q = turns[i];
      const a = turns[i + 1];
      if (!isObject(q) || !isObject(a)) throw new DatasetError(`${where}: each conversation turn must be an object`);
      if (HUMAN.has(String(q.from)) && ASSISTANT.has(String(a.from)) && typeof q.value === 'string' && typeof a.value === 'string') {
        if (q.value.length === 0 || a.value.length === 0) return null;
        return { promptLen: textLen(q.value), outputLen: textLen(a.value), prompt: q.value };
      }
    }
    return null;
  }
  let entry: DatasetEntry;
  if (v.prompt !== undefined) {
    if (typeof v.prompt !== 'string' || v.prompt.length === 0) throw new DatasetError(`${where}: prompt must be a non-empty string`);
    entry = { promptLen: textLen(v.prompt), outputLen: 0, prompt: v.prompt };
  } else if (v.prompt_len !== undefined) {
    entry = { promptLen: positiveInt(v.prompt_len, where, 'prompt_len'), outputLen: 0 };
  } else {
    throw new DatasetError(`${where}: expected prompt_len, prompt or conversations`);
  }
  if (v.output_len !== undefined) entry.outputLen = positiveInt(v.output_len, where, 'output_len');
  else if (v.output !== undefined) {
    if (typeof v.output !== 'string') throw new DatasetError(`${where}: output must be a string`);
    entry.outputLen = Math.max(1, textLen(v.output));
  }
  return entry;
}

/** Parses the text of a dataset file. `path` only names it in messages. */
export function parseDataset(text: string, path: string): Dataset {
  const entries: DatasetEntry[] = [];
  let skipped = 0;
  const add = (v: unknown, where: string): void => {
    const e = parseEntry(v, where);
    if (e === null) skipped++;
    else entries.push(e);
  };
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    let all: unknown;
    try {
      all = JSON.parse(trimmed);
    } catch (err) {
      throw new DatasetError(`${path}: not valid JSON: ${(err as Error).message}`);
    }
    (all as unknown[]).forEach((v, i) => add(v, `${path}: entry ${i}`));
  } else {
    forEachJsonLine(text, path, add);
  }
  if (entries.length === 0) throw new DatasetError(`${path}: no usable entries`);
  return { path, entries, skipped, hasText: entries.some((e) => e.prompt !== undefined) };
}

/** Calls `fn` with each non-blank line of a JSONL text, parsed, and where it is (`path:line`); bad JSON names its line. */
export function forEachJsonLine(text: string, path: string, fn: (v: unknown, where: string) => void): void {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new DatasetError(`${path}:${i + 1}: not valid JSON: ${(err as Error).message}`);
    }
    fn(v, `${path}:${i + 1}`);
  }
}

/** Reads a dataset or trace file; a problem is a DatasetError naming it. */
export function readDatasetFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new DatasetError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function loadDataset(path: string): Dataset {
  return parseDataset(readDatasetFile(path), path);
}
