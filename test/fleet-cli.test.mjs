// The command line of the fleet: `trtllm-metrics kv-events` prints a worker's batches as JSON lines (hashes
// as decimal strings) and fills a gap from --replay; `serve --kv-events-*` rejects bad values with one line
// and exit code 2.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { stored, storedBlock } from './helpers/fleet-fixtures.mjs';
import { spawnServe } from './helpers/serve-process.mjs';
import { eventually } from './helpers/worker-fixtures.mjs';

const require = createRequire(import.meta.url);
const { KvEventPublisher } = require('../dist/index.js');
const { resolveServeOptions } = require('../dist/cli.js');
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function run(args) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise((r) => child.on('close', (code) => r({ code, stdout, stderr })));
  return { child, done, lines: () => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

describe('trtllm-metrics kv-events', () => {
  test('prints each batch as a JSON line with decimal-string hashes, and a gap line with what --replay recovered', async () => {
    const big = 2n ** 64n - 1n;
    const pub = await KvEventPublisher.start({ endpoint: 'tcp://127.0.0.1:*', replayEndpoint: 'tcp://127.0.0.1:*', blockSize: 2, sendQueue: 1, topic: 't' });
    const cli = run(['kv-events', '--subscribe', pub.endpoint, '--replay', pub.replayEndpoint, '--count', '5']);
    try {
      await eventually(() => pub.counters().transports.zmq.subscriptions > 0, 10_000, 'the CLI subscription');
      pub.publish([stored(null, [storedBlock(big, [1, 2])])]);
      await pub.flush();
      await eventually(() => cli.lines().length === 1, 10_000, 'the first line');
      pub.publish([stored(big, [storedBlock(5n, [3, 4])])]); // in flight
      pub.publish([stored(5n, [storedBlock(6n, [5, 6])])]); // queued
      pub.publish([stored(6n, [storedBlock(7n, [7, 8])])]); // dropped: the CLI sees a gap
      await pub.flush();
      pub.publish([stored(7n, [storedBlock(8n, [9, 10])])]);
      const { code, stderr } = await cli.done;
      assert.equal(code, 0, stderr);
      const lines = cli.lines();
      assert.deepEqual(lines[0], {
        topic: 't',
        seq: 0,
        replayed: false,
        ts: lines[0].ts,
        data_parallel_rank: null,
        events: [{ type: 'BlockStored', block_hashes: [String(big)], parent_block_hash: null, token_ids: [1, 2], block_size: 2, lora_id: null, medium: 'GPU', lora_name: null }],
      });
      assert.deepEqual(lines.map((l) => (l.gap ? `gap ${l.gap.first}-${l.gap.last} ${l.gap.recovered}` : `${l.seq}${l.replayed ? 'r' : ''}`)), ['0', '1', '2', 'gap 3-3 1', '3r', '4']);
    } finally {
      cli.child.kill();
      await pub.close();
    }
  });

  test('usage errors: one line, exit code 2', async () => {
    for (const [args, message] of [
      [['kv-events'], /--subscribe ENDPOINT is required/],
      [['kv-events', '--subscribe', 'http://x:1'], /--subscribe must be a ZeroMQ endpoint/],
      [['kv-events', '--subscribe', 'tcp://127.0.0.1:5557', '--from-seq', '3'], /--from-seq needs --replay/],
      [['kv-events', '--subscribe', 'tcp://127.0.0.1:5557', '--count=-1'], /--count must be an integer >= 0/],
    ]) {
      const { code, stderr } = await run(args).done;
      assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr, message);
      assert.equal(stderr.trim().split('\n').length, 1);
    }
  });
});

describe('serve --kv-events-*', () => {
  test('bad values and contradictions: one line, exit code 2', async () => {
    const base = ['--port', '0', '--http-port', '0'];
    for (const [args, message] of [
      [['--kv-events-endpoint', 'localhost:5557'], /--kv-events-endpoint must be a ZeroMQ endpoint/],
      [['--kv-events-endpoint', 'tcp://127.0.0.1'], /must end with a port/],
      [['--kv-events-replay-endpoint', 'tcp://10.0.0.1:5558', '--kv-events-endpoint', 'tcp://*:0'], /--kv-events-replay-endpoint must be an endpoint to bind/],
      [['--kv-events-replay-endpoint', 'tcp://*:0'], /needs options.kvEvents.endpoint \(--kv-events-endpoint\)/],
      [['--kv-events-encoding', 'json', '--kv-events-endpoint', 'tcp://*:0'], /--kv-events-encoding must be one of array, map/],
      [['--kv-events-nats', 'http://x'], /--kv-events-nats must be NATS server URLs/],
      [['--kv-events-endpoint', 'tcp://*:0', '--event-buffer-size', '0'], /needs KV events on: --event-buffer-size above 0/],
    ]) {
      const r = await spawnServe([...base, ...args]);
      r.child?.kill();
      assert.ok(r.exited, `${args.join(' ')} must not start`);
      assert.equal(r.exited.code, 2, `${args.join(' ')}: ${r.exited.stderr}`);
      assert.match(r.exited.stderr, message);
      assert.equal(r.exited.stderr.trim().split('\n').length, 1);
    }
  });

  test('the {pod} of the topic: --pod-id, else POD_NAME', () => {
    const args = ['--kv-events-endpoint', 'tcp://*:0', '--kv-events-topic', 'kv@{pod}@{model}'];
    assert.equal(resolveServeOptions(args, { POD_NAME: 'from-env' }).kvEvents.podId, 'from-env');
    assert.equal(resolveServeOptions([...args, '--pod-id', 'from-flag'], { POD_NAME: 'from-env' }).kvEvents.podId, 'from-flag');
    assert.equal(resolveServeOptions(args, {}).kvEvents.podId, undefined, 'the host name, resolved by the publisher');
  });

  test('an endpoint already bound by another process: one line naming it, exit code 2', async () => {
    const holder = await KvEventPublisher.start({ endpoint: 'tcp://127.0.0.1:*', blockSize: 1 });
    try {
      const port = holder.endpoint.split(':').at(-1);
      const r = await spawnServe(['--port', '0', '--http-port', '0', '--kv-events-endpoint', `tcp://*:${port}`]);
      r.child?.kill();
      assert.ok(r.exited, 'serve must not start');
      assert.equal(r.exited.code, 2);
      assert.match(r.exited.stderr, new RegExp(`cannot bind the KV-event publisher to tcp://\\*:${port}`));
    } finally {
      await holder.close();
    }
  });
});
