/**
 * One EventBatch payload in vLLM's msgpack layout. The batch is always the array `[ts, events,
 * data_parallel_rank]` (what Dynamo's and llm-d's decoders read, and what vLLM sends with array_like structs);
 * the events are tagged arrays `["BlockStored", block_hashes, parent_block_hash, token_ids, block_size,
 * lora_id, medium, lora_name]` or tagged maps `{"type": "BlockStored", ...}` with the same field names, where
 * fields that vLLM declares with a default are omitted at that default (omit_defaults) and required ones are
 * always present. Field order and defaults: vllm/distributed/kv_events.py (docs/fleet.md).
 */
import { MsgpackWriter } from './msgpack-writer.js';
import type { WireBatch, WireEncoding, WireEvent } from './wire-events.js';

function optionalUint(w: MsgpackWriter, v: bigint | null): void {
  if (v === null) w.nil();
  else w.uint64(v);
}

function optionalStr(w: MsgpackWriter, v: string | null): void {
  if (v === null) w.nil();
  else w.str(v);
}

function hashes(w: MsgpackWriter, list: readonly bigint[]): void {
  w.uint64Array(list);
}

function loraId(w: MsgpackWriter, v: bigint | null): void {
  if (v === null) w.nil();
  else w.uint(v);
}

function eventAsArray(w: MsgpackWriter, e: WireEvent): void {
  switch (e.type) {
    case 'BlockStored':
      w.arrayHeader(8);
      w.str('BlockStored');
      hashes(w, e.blockHashes);
      optionalUint(w, e.parentBlockHash);
      w.intArray(e.tokenIds);
      w.int(e.blockSize);
      loraId(w, e.loraId);
      optionalStr(w, e.medium);
      optionalStr(w, e.loraName);
      return;
    case 'BlockRemoved':
      w.arrayHeader(3);
      w.str('BlockRemoved');
      hashes(w, e.blockHashes);
      optionalStr(w, e.medium);
      return;
    case 'AllBlocksCleared':
      w.arrayHeader(1);
      w.str('AllBlocksCleared');
  }
}

function eventAsMap(w: MsgpackWriter, e: WireEvent): void {
  switch (e.type) {
    case 'BlockStored':
      w.mapHeader(8);
      w.str('type');
      w.str('BlockStored');
      w.str('block_hashes');
      hashes(w, e.blockHashes);
      w.str('parent_block_hash');
      optionalUint(w, e.parentBlockHash);
      w.str('token_ids');
      w.intArray(e.tokenIds);
      w.str('block_size');
      w.int(e.blockSize);
      w.str('lora_id');
      loraId(w, e.loraId);
      w.str('medium');
      optionalStr(w, e.medium);
      w.str('lora_name');
      optionalStr(w, e.loraName);
      return;
    case 'BlockRemoved':
      w.mapHeader(3);
      w.str('type');
      w.str('BlockRemoved');
      w.str('block_hashes');
      hashes(w, e.blockHashes);
      w.str('medium');
      optionalStr(w, e.medium);
      return;
    case 'AllBlocksCleared':
      w.mapHeader(1);
      w.str('type');
      w.str('AllBlocksCleared');
  }
}

/** Writes one batch into `w` (after w.reset()); returns the payload. */
export function encodeBatch(batch: WireBatch, encoding: WireEncoding, w: MsgpackWriter = new MsgpackWriter()): Buffer {
  w.reset();
  w.arrayHeader(3);
  w.float64(batch.ts);
  w.arrayHeader(batch.events.length);
  const one = encoding === 'map' ? eventAsMap : eventAsArray;
  for (const e of batch.events) one(w, e);
  if (batch.dataParallelRank === null) w.nil();
  else w.int(batch.dataParallelRank);
  return w.bytes();
}
