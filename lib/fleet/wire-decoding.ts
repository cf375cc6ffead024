/**
 * Reads an EventBatch payload back (with @msgpack/msgpack, not our writer's code), in either encoding and
 * tolerant as the consumers are: a batch as an array or a map, events as tagged arrays or tagged maps,
 * trailing or unknown fields ignored, hashes as uint64, int64 or bytes. Used by `trtllm-metrics kv-events`
 * and the tests.
 */
import { Decoder } from '@msgpack/msgpack';
import { InvalidArgumentError } from '../errors.js';
import type { Medium, WireBatch, WireEvent } from './wire-events.js';

const decoder = new Decoder({ useBigInt64: true });

/** Field order of the array encoding after the tag (vllm/distributed/kv_events.py). */
const STORED_FIELDS = ['block_hashes', 'parent_block_hash', 'token_ids', 'block_size', 'lora_id', 'medium', 'lora_name'] as const;
const REMOVED_FIELDS = ['block_hashes', 'medium'] as const;

function bad(what: string): never {
  throw new InvalidArgumentError(`not a vLLM KV-event payload: ${what}`);
}

function asHash(v: unknown): bigint {
  if (typeof v === 'bigint') return BigInt.asUintN(64, v);
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt.asUintN(64, BigInt(v));
  if (v instanceof Uint8Array && v.length > 0) {
    let h = 0n;
    for (const byte of v.subarray(Math.max(0, v.length - 8))) h = (h << 8n) | BigInt(byte);
    return h;
  }
  return bad(`a block hash is ${typeof v}`);
}

function asInt(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  return bad(`${what} is not an integer`);
}

function fields(raw: unknown, names: readonly string[]): { tag: string; get(name: string): unknown } {
  if (Array.isArray(raw)) {
    const tag = raw[0];
    if (typeof tag !== 'string') bad('an event array does not start with its tag');
    return { tag, get: (name) => raw[names.indexOf(name) + 1] ?? null };
  }
  if (raw instanceof Map || (raw !== null && typeof raw === 'object')) {
    const m = raw as Record<string, unknown>;
    if (typeof m.type !== 'string') bad('an event map has no "type"');
    return { tag: m.type, get: (name) => m[name] ?? null };
  }
  return bad(`an event is ${typeof raw}`);
}

function tagOf(raw: unknown): string {
  if (Array.isArray(raw) && typeof raw[0] === 'string') return raw[0];
  if (raw !== null && typeof raw === 'object' && typeof (raw as { type?: unknown }).type === 'string') return (raw as { type: string }).type;
  return bad('an event has no tag');
}

function decodeEvent(raw: unknown): WireEvent {
  const tag = tagOf(raw);
  if (tag === 'BlockStored') {
    const f = fields(raw, STORED_FIELDS);
    const hashes = f.get('block_hashes');
    const tokens = f.get('token_ids');
    if (!Array.isArray(hashes) || !Array.isArray(tokens)) bad('BlockStored without block_hashes or token_ids');
    const parent = f.get('parent_block_hash');
    const lora = f.get('lora_id');
    return {
      type: 'BlockStored',
      blockHashes: hashes.map(asHash),
      parentBlockHash: parent === null ? null : asHash(parent),
      tokenIds: tokens.map((t) => asInt(t, 'a token id')),
      blockSize: asInt(f.get('block_size'), 'block_size'),
      loraId: lora === null ? null : BigInt(lora as number | bigint),
      medium: (f.get('medium') as Medium | null) ?? null,
      loraName: (f.get('lora_name') as string | null) ?? null,
    };
  }
  if (tag === 'BlockRemoved') {
    const f = fields(raw, REMOVED_FIELDS);
    const hashes = f.get('block_hashes');
    if (!Array.isArray(hashes)) bad('BlockRemoved without block_hashes');
    return { type: 'BlockRemoved', blockHashes: hashes.map(asHash), medium: (f.get('medium') as Medium | null) ?? null };
  }
  if (tag === 'AllBlocksCleared') return { type: 'AllBlocksCleared' };
  return bad(`unknown event tag ${JSON.stringify(tag)}`);
}

/** Decodes one payload (frame 3 of a message). Throws InvalidArgumentError on anything else. */
export function decodeBatch(payload: Uint8Array): WireBatch {
  let raw: unknown;
  try {
    raw = decoder.decode(payload);
  } catch (err) {
    return bad(`msgpack: ${(err as Error).message}`);
  }
  let ts: unknown, events: unknown, rank: unknown;
  if (Array.isArray(raw)) [ts, events, rank] = raw;
  else if (raw !== null && typeof raw === 'object') ({ ts, events, data_parallel_rank: rank } = raw as Record<string, unknown>);
  else bad(`the batch is ${typeof raw}`);
  if (typeof ts !== 'number') bad('the batch has no float ts');
  if (!Array.isArray(events)) bad('the batch has no events list');
  return { ts, events: events.map(decodeEvent), dataParallelRank: rank === null || rank === undefined ? null : asInt(rank, 'data_parallel_rank') };
}

/** A batch as JSON-friendly data in vLLM's field names, hashes as decimal strings (what the CLI prints). */
export function batchToJson(batch: WireBatch): Record<string, unknown> {
  return {
    ts: batch.ts,
    data_parallel_rank: batch.dataParallelRank,
    events: batch.events.map((e) => {
      switch (e.type) {
        case 'BlockStored':
          return {
            type: e.type,
            block_hashes: e.blockHashes.map(String),
            parent_block_hash: e.parentBlockHash === null ? null : String(e.parentBlockHash),
            token_ids: e.tokenIds,
            block_size: e.blockSize,
            lora_id: e.loraId === null ? null : String(e.loraId),
            medium: e.medium,
            lora_name: e.loraName,
          };
        case 'BlockRemoved':
          return { type: e.type, block_hashes: e.blockHashes.map(String), medium: e.medium };
        default:
          return { type: e.type };
      }
    }),
  };
}
