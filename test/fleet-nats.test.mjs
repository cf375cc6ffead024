// KV events into NATS JetStream (lib/fleet/nats-transport.ts) against a real `nats-server -js` on a free port:
// the stream holds the same payloads as the ZeroMQ stream, with the seq in a header; across a broker restart
// the client reconnects, batches made while the broker was down are counted as transport_down drops, and the
// stream holds every batch acknowledged while it was up.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { natsMissing, startNats, stored, storedBlock } from './helpers/fleet-fixtures.mjs';
import { eventually } from './helpers/worker-fixtures.mjs';

const require = createRequire(import.meta.url);
const { KvEventPublisher, decodeBatch, KvTransportError } = require('../dist/index.js');

const delivery = (i) => [stored(i > 0 ? BigInt(i - 1) : null, [storedBlock(BigInt(i), [i, 1, 2, 3])])];

/** Every message of the stream: [Kv-Seq header, decoded batch]. */
async function readStream(url, stream) {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream);
    const out = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq });
      out.push([m.header.get('Kv-Seq'), decodeBatch(m.data), m.subject, m.header.get('Kv-Topic')]);
    }
    return out;
  } finally {
    await nc.close();
  }
}

describe('NATS JetStream', { skip: natsMissing() }, () => {
  let nats;
  before(async () => {
    nats = await startNats();
  });
  after(async () => {
    await nats?.stop();
  });

  test('the payloads go into a stream (created on start) with their seq and topic in headers', async () => {
    const pub = await KvEventPublisher.start({ nats: nats.url, stream: 'KV_A', subject: 'kv.{pod}.{model}', podId: 'pod-1', modelName: 'llama-3.1', topic: 'kv@{pod}', blockSize: 4 });
    try {
      assert.equal(pub.subject, 'kv.pod-1.llama-3_1', 'a dot in a value does not add a subject token');
      for (let i = 0; i < 5; i++) pub.publish(delivery(i));
      await pub.flush();
      const c = pub.counters().transports.nats;
      assert.deepEqual([c.produced, c.published, c.lastSeq], [5, 5, 4]);
      const msgs = await readStream(nats.url, 'KV_A');
      assert.deepEqual(msgs.map(([seq]) => seq), ['0', '1', '2', '3', '4']);
      assert.deepEqual(msgs.map(([, b]) => b.events[0].blockHashes[0]), [0n, 1n, 2n, 3n, 4n]);
      assert.deepEqual([msgs[0][2], msgs[0][3]], ['kv.pod-1.llama-3_1', 'kv@pod-1']);
    } finally {
      await pub.close();
    }
  });

  test('a broker restart: the client reconnects; drops while down are counted; the stream holds every acknowledged batch', async () => {
    const pub = await KvEventPublisher.start({ nats: nats.url, stream: 'KV_B', subject: 'kv.restart', blockSize: 4 });
    try {
      for (let i = 0; i < 10; i++) pub.publish(delivery(i));
      await pub.flush();
      await nats.stop();
      await eventually(() => !pub.counters().transports.nats.up, 10_000, 'the disconnect');
      for (let i = 10; i < 15; i++) pub.publish(delivery(i));
      await pub.flush();
      assert.equal(pub.counters().transports.nats.dropped.transport_down, 5);
      await nats.start();
      await eventually(() => pub.counters().transports.nats.up, 20_000, 'the reconnect');
      for (let i = 15; i < 20; i++) pub.publish(delivery(i));
      await pub.flush();
      const c = pub.counters().transports.nats;
      assert.equal(c.produced, 20);
      assert.equal(c.produced, c.published + c.dropped.queue_full + c.dropped.transport_down + c.dropped.shutdown, 'every event accounted for');
      assert.equal(c.published, 15);
      const msgs = await readStream(nats.url, 'KV_B');
      assert.deepEqual(
        msgs.map(([seq]) => Number(seq)),
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 18, 19],
        'exactly the batches acknowledged while the broker was up, kept across its restart',
      );
    } finally {
      await pub.close();
    }
  });

  test('a broker that is not there: start() fails with KvTransportError naming the URL', async () => {
    await assert.rejects(KvEventPublisher.start({ nats: 'nats://127.0.0.1:1', blockSize: 4 }), (err) => {
      assert.ok(err instanceof KvTransportError);
      assert.equal(err.code, 'ERR_TRTLLM_KV_TRANSPORT');
      assert.match(err.message, /cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/);
      return true;
    });
  });
});
