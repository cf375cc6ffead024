// The rows that cross from C++ into JS have one layout on both sides: the testing addon reports the field
// offsets native/bridge/ writes (request_record.h, response_chunk.h, kv_event_layout.h) under the names lib/ reads them by.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { RecordField, REQUEST_RECORD_STRIDE, RECORD_FLAG_ERROR, RECORD_FLAG_HAS_PERF, ERROR_FINISH_CODE } = require('../dist/records.js');
const { ChunkField, CHUNK_STRIDE, CHUNK_FLAG_FINAL, CHUNK_FLAG_ERROR, CHUNK_FLAG_PERF, CHUNK_FLAG_LOGPROBS, CHUNK_FLAG_EXECUTOR_FAULT, KvEventField, KV_EVENT_STRIDE, KvEventType, KvBlockField, KV_BLOCK_STRIDE } = require('../dist/native.js');
const { loadTestingAddon } = require('../dist/testing.js');

const native = loadTestingAddon().layouts();

test('finished-request records: lib/records.ts and native/bridge/request_record.h agree field by field', () => {
  assert.equal(native.record.stride, REQUEST_RECORD_STRIDE);
  assert.deepEqual(native.record.fields, { ...RecordField });
  assert.deepEqual(native.record.flags, { ERROR: RECORD_FLAG_ERROR, HAS_PERF: RECORD_FLAG_HAS_PERF });
  assert.equal(native.record.errorFinishCode, ERROR_FINISH_CODE);
});

test('response chunks: lib/native.ts and native/bridge/response_chunk.h agree field by field', () => {
  assert.equal(native.chunk.stride, CHUNK_STRIDE);
  assert.deepEqual(native.chunk.fields, { ...ChunkField });
  assert.deepEqual(native.chunk.flags, { FINAL: CHUNK_FLAG_FINAL, ERROR: CHUNK_FLAG_ERROR, PERF: CHUNK_FLAG_PERF, LOGPROBS: CHUNK_FLAG_LOGPROBS, EXECUTOR_FAULT: CHUNK_FLAG_EXECUTOR_FAULT });
});

test('packed KV events: lib/native.ts and native/bridge/kv_event_layout.h agree field by field', () => {
  assert.equal(native.kvEvent.stride, KV_EVENT_STRIDE);
  assert.deepEqual(native.kvEvent.fields, { ...KvEventField });
  assert.deepEqual(native.kvEvent.types, { ...KvEventType });
  assert.equal(native.kvBlock.stride, KV_BLOCK_STRIDE);
  assert.deepEqual(native.kvBlock.fields, { ...KvBlockField });
});

test('the production addon does not export the test-only entry points', () => {
  const addon = require('../dist/native.js').loadAddon();
  for (const name of ['firehose', 'simBlockHash', 'layouts']) assert.equal(name in addon, false, name);
});
