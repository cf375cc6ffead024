/**
 * Test-only native entry points. They live in a second addon, trtllm_metrics_testing.node, so the production
 * addon does not ship them; production code never loads this module (lib/index.ts and lib/native.ts do not
 * import it). Used by test/ and scripts/bench/.
 */
import { requireAddon } from './native.js';

export interface FirehoseResult {
  produced: number;
  delivered: number;
  dropped: number;
  /** Wall time the producer thread spent handing off all records, ns. */
  producerNs: number;
}

/** A row layout as C++ defines it, with the names lib/ gives its fields. */
export interface NativeRowLayout {
  stride: number;
  fields: Record<string, number>;
  flags: Record<string, number>;
}

export interface TestingAddon {
  /** Benchmark path: synthetic records through the bridge's delivery mechanism. */
  firehose(
    options: { records: number; mode?: 'batched' | 'perItem'; ringCapacity?: number; pushBatch?: number },
    onBatch: (records: Float64Array, count: number) => void,
  ): Promise<FirehoseResult>;
  /** The simulator's chained block hash (for tests of bit-exact hashes). */
  simBlockHash(parentHash: bigint | null, tokens: Int32Array): bigint;
  /** The finished-request record (lib/records.ts) and chunk meta (lib/native.ts) layouts of native/bridge/. */
  layouts(): { record: NativeRowLayout & { errorFinishCode: number }; chunk: NativeRowLayout };
}

let cached: TestingAddon | undefined;

/**
 * Loads the testing addon once (build/Release/trtllm_metrics_testing.node, found by `bindings`).
 * TRTLLM_METRICS_TESTING_ADDON, when set, is the path of another build (scripts/asan-check.sh).
 */
export function loadTestingAddon(): TestingAddon {
  cached ??= requireAddon('trtllm_metrics_testing', process.env.TRTLLM_METRICS_TESTING_ADDON, 'testing addon') as TestingAddon;
  return cached;
}
