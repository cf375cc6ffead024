#!/usr/bin/env node
// Bridge throughput: synthetic finished-request records from a native thread into JS, through the bridge's
// ring + one coalesced thread-safe call per batch, versus one thread-safe call per record. Same process.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { loadTestingAddon } = require('../../dist/testing.js');
const { REQUEST_RECORD_STRIDE, RecordField } = require('../../dist/records.js');

const addon = loadTestingAddon();

async function run(mode, records) {
  let seen = 0;
  let checksum = 0;
  const t0 = process.hrtime.bigint();
  const result = await addon.firehose({ records, mode, ringCapacity: 65536, pushBatch: 64 }, (data, n) => {
    for (let i = 0; i < n; i++) checksum += data[i * REQUEST_RECORD_STRIDE + RecordField.OUTPUT_TOKENS];
    seen += n;
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { mode, records, seen, seconds, perSecond: seen / seconds, producerNsPerRecord: result.producerNs / records, dropped: result.dropped, checksum };
}

const batchedN = Number(process.env.FIREHOSE_RECORDS ?? 20_000_000);
const perItemN = Number(process.env.FIREHOSE_PER_ITEM_RECORDS ?? 300_000);
await run('batched', 100_000); // warm-up
const batched = await run('batched', batchedN);
const perItem = await run('perItem', perItemN);
const fmt = (x) => x.toLocaleString('en-US', { maximumFractionDigits: 1 });
console.log(`bridge firehose, batched:  ${fmt(batched.perSecond)} records/s into JS (${fmt(batched.seen)} delivered, ${fmt(batched.dropped)} dropped, producer ${batched.producerNsPerRecord.toFixed(1)} ns/record)`);
console.log(`bridge firehose, per item: ${fmt(perItem.perSecond)} records/s into JS (${fmt(perItem.seen)} delivered, producer ${perItem.producerNsPerRecord.toFixed(1)} ns/record)`);
console.log(`ratio batched / per item: ${(batched.perSecond / perItem.perSecond).toFixed(1)}x`);
if (batched.seen + batched.dropped !== batched.records) {
  console.error('accounting error: delivered + dropped != produced');
  process.exit(1);
}
