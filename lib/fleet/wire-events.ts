/**
 * vLLM's KV-event wire types (vllm/distributed/kv_events.py), as this package publishes them: an EventBatch of
 * BlockStored / BlockRemoved / AllBlocksCleared events. Field names are vLLM's; hashes are BigInt (uint64 on
 * the wire). See docs/fleet.md for the sources and the mapping from TensorRT-LLM's events.
 */

/** `medium` of a block: vLLM's "GPU" (TensorRT-LLM cache level 0) and "CPU" (level 1, host memory). */
export type Medium = 'GPU' | 'CPU';
export const MEDIUM_BY_CACHE_LEVEL: readonly Medium[] = ['GPU', 'CPU'];

/** How events are written: tagged arrays (vLLM's array_like structs, every consumer) or tagged maps (vLLM main). */
export type WireEncoding = 'array' | 'map';

export interface BlockStored {
  type: 'BlockStored';
  blockHashes: bigint[];
  parentBlockHash: bigint | null;
  /** The stored blocks' tokens, blockSize per block, in block order. */
  tokenIds: number[];
  blockSize: number;
  loraId: bigint | null;
  medium: Medium | null;
  /** vLLM's lora_name: TensorRT-LLM events carry only the id, so it is always null here. */
  loraName: string | null;
}

export interface BlockRemoved {
  type: 'BlockRemoved';
  blockHashes: bigint[];
  medium: Medium | null;
}

export interface AllBlocksCleared {
  type: 'AllBlocksCleared';
}

export type WireEvent = BlockStored | BlockRemoved | AllBlocksCleared;

/** vLLM's EventBatch: one message payload. */
export interface WireBatch {
  /** Wall-clock seconds (float) when the batch was made. */
  ts: number;
  events: WireEvent[];
  /** TensorRT-LLM's attentionDpRank of the events; null when the engine has no attention DP. */
  dataParallelRank: number | null;
}

/** Blocks an event carries (what the throughput figures count). */
export function blocksOf(e: WireEvent): number {
  return e.type === 'AllBlocksCleared' ? 0 : e.blockHashes.length;
}
