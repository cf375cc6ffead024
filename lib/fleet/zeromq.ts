/**
 * Loads the official `zeromq` package (an optional peer dependency: only KV-event publishing and the
 * `kv-events` subscriber need it; its npm tarball carries prebuilt libzmq binaries, nothing is downloaded).
 */
import type * as Zmq from 'zeromq';
import { importOptional } from '../optional-dependency.js';

export type ZeroMQ = typeof Zmq;

let loaded: ZeroMQ | undefined;

export async function loadZeroMQ(feature: string): Promise<ZeroMQ> {
  if (loaded === undefined) {
    const mod = await importOptional<ZeroMQ & { default?: ZeroMQ }>('zeromq', ['zeromq'], feature);
    loaded = mod.default ?? mod;
  }
  return loaded;
}

/** The 8-byte big-endian frame of a seq (vLLM: seq.to_bytes(8, "big")). */
export function seqFrame(seq: bigint): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(seq);
  return b;
}

/** The replay answer's end marker: seq -1 as signed 8 bytes (0xFF x 8). */
export const END_OF_REPLAY = Buffer.alloc(8, 0xff);
