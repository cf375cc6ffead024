#!/usr/bin/env node
// KV-event publishing (lib/fleet): how many blocks/s one core maps, encodes and publishes over ZeroMQ into a
// local subscriber (its own process), with the drop accounting; the same batches encoded by @msgpack/msgpack as
// a baseline for our writer; and, on the simulator, the CPU the publisher adds per block next to what the
// simulator + bridge spend delivering the same block into JS. Prints figures and ratios; asserts nothing.
// On a shared machine the figures move with the load: --runs N repeats the publishing run and prints the
// median and the best (the least disturbed) of them.
//   node scripts/bench/kv-publish.mjs [--seconds 3] [--runs 3]
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { Encoder } from '@msgpack/msgpack';

const require = createRequire(import.meta.url);
const { Engine, KvEventPublisher, KvEventMapper } = require('../../dist/index.js');
const { MsgpackWriter } = require('../../dist/fleet/msgpack-writer.js');
const { encodeBatch } = require('../../dist/fleet/wire-encoding.js');

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' }, runs: { type: 'string', default: '3' }, child: { type: 'string' } } });

// ---- the subscriber process: counts messages and blocks, reports on 'report' ----
if (values.child) {
  const zmq = require('zeromq');
  const sub = new zmq.Subscriber({ receiveHighWaterMark: 0 });
  sub.connect(values.child);
  sub.subscribe();
  let messages = 0;
  let bytes = 0;
  process.on('message', (m) => {
    if (m === 'report') process.send({ messages, bytes });
    if (m === 'exit') process.exit(0);
  });
  process.send('ready');
  for await (const [, , payload] of sub) {
    messages++;
    bytes += payload.length;
  }
}

const SECONDS = Number(values.seconds);
const B = 32;
const EVENTS_PER_DELIVERY = 64;
const BLOCKS_PER_EVENT = 4;
const fmt = (n) => Math.round(n).toLocaleString('en-US');

/** One delivery as the bridge hands it to JS: stored events with BigInt hashes and per-token objects. */
function delivery(k) {
  const events = [];
  for (let e = 0; e < EVENTS_PER_DELIVERY; e++) {
    const blocks = [];
    for (let b = 0; b < BLOCKS_PER_EVENT; b++) {
      const tokens = [];
      for (let t = 0; t < B; t++) tokens.push({ type: 'unique_token', token_id: (k * 7 + e * 131 + b * 17 + t) % 32000, token_extra_id: 0n });
      blocks.push({ type: 'stored_block', block_hash: BigInt.asUintN(64, BigInt(k * 100003 + e * 1009 + b) * 0x9e3779b97f4a7c15n), tokens, lora_id: null, cache_level: 0, priority: 35 });
    }
    events.push({ event_id: k * EVENTS_PER_DELIVERY + e, data: { type: 'stored', parent_hash: null, blocks }, window_size: 0 });
  }
  return events;
}
const BLOCKS_PER_DELIVERY = EVENTS_PER_DELIVERY * BLOCKS_PER_EVENT;

function cpuNs(since) {
  const u = process.cpuUsage(since);
  return (u.user + u.system) * 1000;
}

// ---- 1. encoding alone: our writer vs @msgpack/msgpack on the same batches ----
{
  const mapper = new KvEventMapper(B);
  const batches = Array.from({ length: 64 }, (_, k) => mapper.map(delivery(k), 1.5)[0]);
  const writer = new MsgpackWriter();
  const lib = new Encoder({ useBigInt64: true });
  const asArrays = (b) => [b.ts, b.events.map((e) => ['BlockStored', e.blockHashes, e.parentBlockHash, e.tokenIds, e.blockSize, e.loraId, e.medium, e.loraName]), b.dataParallelRank];
  const time = (fn) => {
    for (let i = 0; i < 200; i++) fn(batches[i % batches.length]);
    let n = 0;
    const t0 = process.hrtime.bigint();
    while (process.hrtime.bigint() - t0 < BigInt(SECONDS * 1e9) / 3n) fn(batches[n++ % batches.length]);
    return (n * BLOCKS_PER_DELIVERY) / (Number(process.hrtime.bigint() - t0) / 1e9);
  };
  const ours = time((b) => encodeBatch(b, 'array', writer));
  const theirs = time((b) => lib.encode(asArrays(b)));
  const check = Buffer.compare(encodeBatch(batches[0], 'array', writer), Buffer.from(lib.encode(asArrays(batches[0])))) === 0;
  console.log(`encode only: our writer ${fmt(ours)} blocks/s (${(1e9 / ours).toFixed(1)} ns/block); @msgpack/msgpack ${fmt(theirs)} blocks/s (${(1e9 / theirs).toFixed(1)} ns/block, objects prebuilt); ratio ${(ours / theirs).toFixed(2)}x; identical bytes: ${check}`);
}

// ---- 2. map + encode + publish over ZeroMQ into a subscriber process (--runs times) ----
// Each delivery is built fresh, as the bridge builds it just before the listener runs (the objects are hot in
// cache), and its blocks are removed again by the next delivery (as an engine evicts), so the mapper's memory
// stays at one delivery. The publishing CPU is the process CPU of build + publish (main thread and libzmq's I/O
// thread) minus that of building the same deliveries alone, measured in the same run.
const publishRuns = [];
for (let run = 0; run < Number(values.runs); run++) {
  const removal = (d) => [{ event_id: 0, window_size: 0, data: { type: 'removed', block_hashes: d.flatMap((e) => e.data.blocks.map((b) => b.block_hash)) } }];
  const buildOnly = () => {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let k = 0;
    while (process.hrtime.bigint() - t0 < BigInt(SECONDS * 1e9)) removal(delivery(k++));
    return cpuNs(cpu0) / k;
  };
  const buildNsPerDelivery = buildOnly();
  const pub = await KvEventPublisher.start({ endpoint: 'tcp://127.0.0.1:*', blockSize: B });
  const child = fork(new URL(import.meta.url).pathname, ['--child', pub.endpoint], { stdio: 'inherit' });
  await new Promise((r) => child.once('message', r));
  while (pub.counters().transports.zmq.subscriptions === 0) await new Promise((r) => setTimeout(r, 10));
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let k = 0;
  let inPublishNs = 0n;
  while (process.hrtime.bigint() - t0 < BigInt(SECONDS * 1e9)) {
    const d = delivery(k++);
    const r = removal(d);
    const t = process.hrtime.bigint();
    pub.publish(d);
    pub.publish(r);
    inPublishNs += process.hrtime.bigint() - t;
    if (k % 4 === 0) await new Promise((r) => setImmediate(r));
  }
  await pub.flush();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const publishCpuNs = cpuNs(cpu0) - buildNsPerDelivery * k;
  const c = pub.counters().transports.zmq;
  await new Promise((r) => setTimeout(r, 300));
  child.send('report');
  const got = await new Promise((r) => child.once('message', r));
  child.send('exit');
  await pub.close();
  const dropped = c.dropped.queue_full + c.dropped.transport_down + c.dropped.shutdown;
  const stored = k * BLOCKS_PER_DELIVERY;
  const perCore = stored / (publishCpuNs / 1e9);
  console.log(
    `publish over ZeroMQ (tcp loopback) into a subscriber process, ${k} deliveries of ${BLOCKS_PER_DELIVERY} stored blocks x ${B} tokens (+ their removal) in ${seconds.toFixed(2)} s:\n` +
      `  ${fmt(perCore)} stored blocks/s per core of publishing CPU (${(publishCpuNs / stored).toFixed(1)} ns/block: map + encode + send, libzmq's thread included; ` +
      `${(Number(inPublishNs) / stored).toFixed(1)} ns/block inside publish()); wall clock incl. building the input: ${fmt(stored / seconds)} blocks/s; ` +
      `building the input (the bridge's part here) ${(buildNsPerDelivery / BLOCKS_PER_DELIVERY).toFixed(1)} ns/block\n` +
      `  events produced ${c.produced} = published ${c.published} + dropped ${dropped}; subscriber received ${got.messages}/${c.lastSeq + 1} messages, ${fmt(got.bytes / 1e6)} MB; ` +
      `target >= 1M blocks/s per core: ${perCore >= 1e6 ? 'met' : 'NOT met'}`,
  );
  publishRuns.push({ perCore, inside: Number(inPublishNs) / stored, dropped });
}
{
  const by = (f) => [...publishRuns].sort((a, b) => f(a) - f(b));
  const mid = (list) => list[Math.floor(list.length / 2)];
  const cpu = by((r) => -r.perCore);
  const inside = by((r) => r.inside);
  console.log(
    `publish, ${publishRuns.length} runs: publishing CPU median ${fmt(mid(cpu).perCore)}, best ${fmt(cpu[0].perCore)} blocks/s per core; ` +
      `inside publish() (the event loop's share) median ${mid(inside).inside.toFixed(1)} ns/block = ${fmt(1e9 / mid(inside).inside)} blocks/s, best ${inside[0].inside.toFixed(1)} ns/block = ${fmt(1e9 / inside[0].inside)} blocks/s; ` +
      `dropped ${publishRuns.reduce((n, r) => n + r.dropped, 0)}`,
  );
}

// ---- 3. on the simulator: CPU per block of sim + bridge + delivery, and what the publisher adds ----
// `packed`: events taken as the bridge packs them (Engine.onKvCacheEventBatch, what `serve` publishes from);
// otherwise as objects (Engine.onKvCacheEvents), built for the listener.
async function simRun(withPublisher, packed) {
  const engine = await Engine.create({
    modelName: 'kv-bench',
    executorConfig: { maxBatchSize: 256, kvCacheConfig: { eventBufferMaxSize: 1 << 20 } },
    sim: { virtualClock: true, tokensPerBlock: B, numKvBlocks: 8192, outputLengthMode: 'maxTokens' },
    bridge: { eventQueueCapacity: 1 << 20 },
  });
  let blocks = 0;
  let publishNs = 0n;
  if (packed) {
    engine.onKvCacheEventBatch((batch) => {
      for (let i = 0; i < batch.length; i++) if (batch.type(i) === 'stored') blocks += batch.blockCount(i);
    });
  } else {
    engine.onKvCacheEvents((batch) => {
      for (const e of batch) if (e.data.type === 'stored') blocks += e.data.blocks.length;
    });
  }
  const pub = withPublisher ? await KvEventPublisher.start({ endpoint: 'tcp://127.0.0.1:*', blockSize: B }) : null;
  if (pub) {
    const publish = (batch) => {
      const t = process.hrtime.bigint();
      pub.publish(batch);
      publishNs += process.hrtime.bigint() - t;
    };
    if (packed) engine.onKvCacheEventBatch(publish);
    else engine.onKvCacheEvents(publish);
  }
  const cpu0 = process.cpuUsage();
  const inflight = new Set();
  for (let i = 0; i < 4000; i++) {
    const prompt = Array.from({ length: 512 }, (_, k) => ((i * 7919 + k * 31) % 30000) + 1);
    const p = engine.complete({ inputTokenIds: prompt, maxTokens: 8 }).then(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= 256) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  await engine.flush();
  await pub?.flush();
  const cpu = cpuNs(cpu0);
  await engine.shutdown();
  await pub?.close();
  return { blocks, cpuPerBlock: cpu / blocks, publishPerBlock: Number(publishNs) / blocks };
}
for (const packed of [false, true]) {
  const base = await simRun(false, packed);
  const withPub = await simRun(true, packed);
  console.log(
    `simulator, 4,000 requests of 512 tokens, events ${packed ? 'packed (onKvCacheEventBatch)' : 'as objects (onKvCacheEvents)'}: process CPU ${base.cpuPerBlock.toFixed(0)} ns/block stored without the publisher (simulator + bridge + delivery into JS), ` +
      `${withPub.cpuPerBlock.toFixed(0)} ns/block with it (+${(withPub.cpuPerBlock - base.cpuPerBlock).toFixed(0)} ns = ${fmt(1e9 / (withPub.cpuPerBlock - base.cpuPerBlock))} blocks/s per core of publishing); time inside publish() ${withPub.publishPerBlock.toFixed(1)} ns/block ` +
      `(${((withPub.publishPerBlock / base.cpuPerBlock) * 100).toFixed(1)}% of the engine-side cost; ${fmt(base.blocks)} blocks)`,
  );
}
