// The KV-event wire format (lib/fleet): TensorRT-LLM events mapped onto vLLM's BlockStored / BlockRemoved /
// AllBlocksCleared, encoded as EventBatch payloads in both encodings, and read back by two decoders that share
// no code with our encoder: @msgpack/msgpack and Python's msgpack (Debian's python3-msgpack).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { decode } from '@msgpack/msgpack';
import { created, moved, pythonDecode, pythonMissing, removed, reprioritized, stored, storedBlock } from './helpers/fleet-fixtures.mjs';

const require = createRequire(import.meta.url);
const { KvEventMapper } = require('../dist/fleet/event-mapping.js');
const { encodeBatch } = require('../dist/fleet/wire-encoding.js');
const { decodeBatch, batchToJson } = require('../dist/fleet/wire-decoding.js');
const { InvalidArgumentError } = require('../dist/errors.js');

const BIG = 2n ** 64n - 3n; // above int64: must stay an unsigned 64-bit integer everywhere

describe('TensorRT-LLM events onto vLLM events', () => {
  test('created: AllBlocksCleared; stored: one BlockStored with the flat tokens, the parent and medium GPU', () => {
    const m = new KvEventMapper(2);
    const [batch] = m.map([created(), stored(null, [storedBlock(BIG, [1, 2]), storedBlock(7n, [3, 4])])], 12.5);
    assert.equal(batch.ts, 12.5);
    assert.equal(batch.dataParallelRank, null);
    assert.deepEqual(batch.events, [
      { type: 'AllBlocksCleared' },
      { type: 'BlockStored', blockHashes: [BIG, 7n], parentBlockHash: null, tokenIds: [1, 2, 3, 4], blockSize: 2, loraId: null, medium: 'GPU', loraName: null },
    ]);
  });

  test('a partial block and the blocks after it are not published, and are counted', () => {
    const m = new KvEventMapper(2);
    const [batch] = m.map([stored(5n, [storedBlock(6n, [1, 2]), storedBlock(7n, [3]), storedBlock(8n, [4, 5])])], 0);
    assert.deepEqual(batch.events.map((e) => e.blockHashes), [[6n]]);
    assert.equal(batch.events[0].parentBlockHash, 5n);
    assert.deepEqual(m.counts, { skippedEvents: 0, skippedBlocks: 2 });
  });

  test('runs of one cache level and LoRA id become one BlockStored each, chained by their parents', () => {
    const m = new KvEventMapper(1);
    const [batch] = m.map([stored(1n, [storedBlock(2n, [10]), storedBlock(3n, [11], { cacheLevel: 1 }), storedBlock(4n, [12], { cacheLevel: 1, loraId: 9n })])], 0);
    assert.deepEqual(
      batch.events.map((e) => [e.blockHashes, e.parentBlockHash, e.medium, e.loraId]),
      [
        [[2n], 1n, 'GPU', null],
        [[3n], 2n, 'CPU', null],
        [[4n], 3n, 'CPU', 9n],
      ],
    );
  });

  test('stores that continue each other (one event per block, as an engine emits them) become one BlockStored', () => {
    const m = new KvEventMapper(1);
    const [batch] = m.map([stored(null, [storedBlock(1n, [1])]), stored(1n, [storedBlock(2n, [2])]), stored(2n, [storedBlock(3n, [3], { cacheLevel: 1 })]), stored(9n, [storedBlock(4n, [4])])], 0);
    assert.deepEqual(
      batch.events.map((e) => [e.blockHashes, e.parentBlockHash, e.tokenIds, e.medium]),
      [
        [[1n, 2n], null, [1, 2], 'GPU'],
        [[3n], 2n, [3], 'CPU'],
        [[4n], 9n, [4], 'GPU'],
      ],
    );
  });

  test('a GPU-to-host move is BlockRemoved(GPU) then BlockStored(CPU) with the remembered parent and tokens; removal follows the medium', () => {
    const m = new KvEventMapper(2);
    m.map([stored(null, [storedBlock(1n, [1, 2]), storedBlock(2n, [3, 4])])], 0);
    const [move] = m.map([moved(2n, 0, 1)], 0);
    assert.deepEqual(move.events, [
      { type: 'BlockRemoved', blockHashes: [2n], medium: 'GPU' },
      { type: 'BlockStored', blockHashes: [2n], parentBlockHash: 1n, tokenIds: [3, 4], blockSize: 2, loraId: null, medium: 'CPU', loraName: null },
    ]);
    const [gone] = m.map([removed([1n, 2n])], 0);
    assert.deepEqual(gone.events, [
      { type: 'BlockRemoved', blockHashes: [1n], medium: 'GPU' },
      { type: 'BlockRemoved', blockHashes: [2n], medium: 'CPU' },
    ]);
    assert.equal(m.rememberedBlocks, 0, 'removed blocks are forgotten');
  });

  test('the memory of published blocks grows past its first slots, reuses freed ones and is cleared by created', () => {
    const m = new KvEventMapper(2);
    const blocks = Array.from({ length: 3000 }, (_, i) => storedBlock(BigInt(i + 1), [i, i + 1], { loraId: i === 2500 ? 5n : null }));
    m.map([stored(null, blocks)], 0);
    assert.equal(m.rememberedBlocks, 3000);
    const [move] = m.map([moved(2501n, 0, 1)], 0);
    assert.deepEqual(move.events[1], { type: 'BlockStored', blockHashes: [2501n], parentBlockHash: 2500n, tokenIds: [2500, 2501], blockSize: 2, loraId: 5n, medium: 'CPU', loraName: null });
    m.map([removed([1n, 2n]), stored(null, [storedBlock(99999n, [7, 8])])], 0);
    assert.equal(m.rememberedBlocks, 2999);
    const [back] = m.map([moved(99999n, 0, 1)], 0);
    assert.deepEqual(back.events[1].tokenIds, [7, 8]);
    assert.equal(back.events[1].parentBlockHash, null);
    m.map([created()], 0);
    assert.equal(m.rememberedBlocks, 0);
  });

  test('a priority-only update publishes nothing; a move of a block stored before the publisher publishes its removal only', () => {
    const m = new KvEventMapper(2);
    assert.deepEqual(m.map([reprioritized(1n)], 0), []);
    const [b] = m.map([moved(42n, 0, 1)], 0);
    assert.deepEqual(b.events, [{ type: 'BlockRemoved', blockHashes: [42n], medium: 'GPU' }]);
    assert.deepEqual(m.counts, { skippedEvents: 2, skippedBlocks: 0 });
  });

  test('attention_dp_rank becomes data_parallel_rank: one batch per run of equal ranks, in order', () => {
    const m = new KvEventMapper(1);
    const batches = m.map(
      [stored(null, [storedBlock(1n, [1])], { attention_dp_rank: 0 }), stored(null, [storedBlock(2n, [2])], { attention_dp_rank: 1 }), removed([1n], { attention_dp_rank: 0 })],
      0,
    );
    assert.deepEqual(batches.map((b) => [b.dataParallelRank, b.events.map((e) => e.type)]), [
      [0, ['BlockStored']],
      [1, ['BlockStored']],
      [0, ['BlockRemoved']],
    ]);
  });
});

const BATCH = {
  ts: 1.5,
  events: [
    { type: 'BlockStored', blockHashes: [BIG, 5n], parentBlockHash: 0n, tokenIds: [1, 200, 70000, 3], blockSize: 2, loraId: 7n, medium: 'GPU', loraName: null },
    { type: 'BlockRemoved', blockHashes: [5n], medium: 'CPU' },
    { type: 'AllBlocksCleared' },
  ],
  dataParallelRank: 3,
};

describe('EventBatch payloads', () => {
  test('the bytes of a small batch: [ts float64, [tagged array], nil], every hash a uint64 (0xcf), even 0 and 5', () => {
    const payload = encodeBatch({ ts: 1.5, events: [{ type: 'BlockRemoved', blockHashes: [5n, 0n], medium: null }], dataParallelRank: null }, 'array');
    const expected = Buffer.concat([
      Buffer.from([0x93, 0xcb]),
      Buffer.from([0x3f, 0xf8, 0, 0, 0, 0, 0, 0]), // 1.5
      Buffer.from([0x91, 0x93, 0xac]),
      Buffer.from('BlockRemoved'),
      Buffer.from([0x92, 0xcf, 0, 0, 0, 0, 0, 0, 0, 5, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0]),
      Buffer.from([0xc0, 0xc0]),
    ]);
    assert.deepEqual(payload, expected);
  });

  test('tagged arrays in vLLM field order, read by @msgpack/msgpack', () => {
    const raw = decode(encodeBatch(BATCH, 'array'), { useBigInt64: true });
    assert.deepEqual(raw, [
      1.5,
      [
        ['BlockStored', [BIG, 5n], 0n, [1, 200, 70000, 3], 2, 7, 'GPU', null],
        ['BlockRemoved', [5n], 'CPU'],
        ['AllBlocksCleared'],
      ],
      3,
    ]);
  });

  test('tagged maps with the same fields, read by @msgpack/msgpack', () => {
    const raw = decode(encodeBatch(BATCH, 'map'), { useBigInt64: true });
    assert.deepEqual(raw, [
      1.5,
      [
        { type: 'BlockStored', block_hashes: [BIG, 5n], parent_block_hash: 0n, token_ids: [1, 200, 70000, 3], block_size: 2, lora_id: 7, medium: 'GPU', lora_name: null },
        { type: 'BlockRemoved', block_hashes: [5n], medium: 'CPU' },
        { type: 'AllBlocksCleared' },
      ],
      3,
    ]);
  });

  test('our decoder reads both encodings back to the same batch', () => {
    for (const enc of ['array', 'map']) assert.deepEqual(decodeBatch(encodeBatch(BATCH, enc)), BATCH, enc);
  });

  test('the decoder is as tolerant as the consumers: legacy 7-field BlockStored, a 2-element batch, int64 and bytes hashes; garbage is an error', async () => {
    const { encode } = await import('@msgpack/msgpack');
    const legacy = encode([2.0, [['BlockStored', [-1n], null, [1], 1, null, null], ['BlockRemoved', [new Uint8Array([1, 2])]]]], { useBigInt64: true });
    const b = decodeBatch(legacy);
    assert.equal(b.events[0].blockHashes[0], 2n ** 64n - 1n);
    assert.equal(b.events[0].loraName, null);
    assert.deepEqual(b.events[1], { type: 'BlockRemoved', blockHashes: [0x0102n], medium: null });
    assert.equal(b.dataParallelRank, null);
    for (const bad of [encode('x'), encode([1.0, [['Nope']], null]), encode([1.0, 'x', null]), Buffer.from([0xc1])]) {
      assert.throws(() => decodeBatch(bad), InvalidArgumentError);
    }
  });

  test('the JSON form prints hashes as decimal strings', () => {
    const j = batchToJson(BATCH);
    assert.deepEqual(j.events[0].block_hashes, [String(BIG), '5']);
    assert.equal(j.events[0].parent_block_hash, '0');
    assert.equal(j.data_parallel_rank, 3);
  });

  test('Python msgpack (an independent decoder) reads both encodings: fields, order and uint64 hashes', { skip: pythonMissing() }, () => {
    const [a, m] = pythonDecode([encodeBatch(BATCH, 'array'), encodeBatch(BATCH, 'map')]);
    const expected = {
      ts: 1.5,
      events: [
        { type: 'BlockStored', block_hashes: [String(BIG), '5'], parent_block_hash: '0', token_ids: [1, 200, 70000, 3], block_size: 2, lora_id: '7', medium: 'GPU', lora_name: null },
        { type: 'BlockRemoved', block_hashes: ['5'], medium: 'CPU' },
        { type: 'AllBlocksCleared' },
      ],
      data_parallel_rank: 3,
    };
    assert.deepEqual(a, expected);
    assert.deepEqual(m, expected);
  });
});
