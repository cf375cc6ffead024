/**
 * Mooncake traces (`--dataset-name mooncake_trace`): JSONL, one request a line, as published with Mooncake
 * (kvcache-ai/Mooncake, FAST'25) and replayed by aiperf (`--custom-dataset-type mooncake_trace`):
 *
 *   {"timestamp": 27482, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47, 48, ...]}
 *
 * `timestamp` is the arrival in milliseconds since the trace began, `hash_ids` names the prompt's blocks of
 * the trace's block size (512 tokens in Mooncake's traces): two requests whose hash_ids start alike share
 * that prefix. Entries are sorted by timestamp (stable), so the replay sends them in arrival order.
 */
import { DatasetError, forEachJsonLine } from './dataset.js';

export interface TraceEntry {
  timestampMs: number;
  inputLength: number;
  outputLength: number;
  /** Block ids (non-negative integers; equal ids are equal blocks). */
  hashIds: number[];
}

export interface Trace {
  path: string;
  entries: TraceEntry[];
}

const MAX_LEN = 16_777_216;

function count(v: unknown, where: string, field: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > MAX_LEN) {
    throw new DatasetError(`${where}: ${field} must be an integer in [${min}, ${MAX_LEN}], got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Whether a parsed JSON line looks like a trace entry (used to recognize a file given without --dataset-name). */
export function isTraceEntry(v: unknown): boolean {
  return typeof v === 'object' && v !== null && 'input_length' in v && ('hash_ids' in v || 'timestamp' in v);
}

/** Whether a file's first line is a trace entry. */
export function looksLikeTrace(text: string): boolean {
  const first = text.split('\n', 64).find((l) => l.trim() !== '');
  if (first === undefined) return false;
  try {
    return isTraceEntry(JSON.parse(first));
  } catch {
    return false;
  }
}

export function parseTraceEntry(v: unknown, where: string): TraceEntry {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DatasetError(`${where}: expected a JSON object`);
  const o = v as Record<string, unknown>;
  const inputLength = count(o.input_length, where, 'input_length', 1);
  const outputLength = count(o.output_length ?? 1, where, 'output_length', 1);
  let timestampMs = 0;
  if (o.timestamp !== undefined) {
    if (typeof o.timestamp !== 'number' || !Number.isFinite(o.timestamp) || o.timestamp < 0) {
      throw new DatasetError(`${where}: timestamp must be a number of milliseconds >= 0, got ${JSON.stringify(o.timestamp)}`);
    }
    timestampMs = o.timestamp;
  }
  const ids = o.hash_ids ?? [];
  if (!Array.isArray(ids)) throw new DatasetError(`${where}: hash_ids must be an array of block ids`);
  const hashIds = ids.map((h, k) => {
    if (typeof h !== 'number' || !Number.isSafeInteger(h) || h < 0) throw new DatasetError(`${where}: hash_ids[${k}] must be an integer >= 0, got ${JSON.stringify(h)}`);
    return h;
  });
  return { timestampMs, inputLength, outputLength, hashIds };
}

export function parseTrace(text: string, path: string): Trace {
  const entries: TraceEntry[] = [];
  forEachJsonLine(text, path, (v, where) => entries.push(parseTraceEntry(v, where)));
  if (entries.length === 0) throw new DatasetError(`${path}: no trace entries`);
  entries.sort((a, b) => a.timestampMs - b.timestampMs);
  return { path, entries };
}
