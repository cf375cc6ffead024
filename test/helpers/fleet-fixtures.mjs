// Shared by the fleet tests (test/fleet-*.test.mjs): TensorRT-LLM-shaped KV events, the Python decoder
// (Debian's python3-zmq + python3-msgpack), nats-server, and a ZeroMQ subscriber that collects messages.
// Under CI=true a missing tool is a failure (the tests do not skip), elsewhere a visible skip.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';
export const PY_DECODER = fileURLToPath(new URL('./kv_events_decode.py', import.meta.url));
export const NATS_SERVER = ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((p) => existsSync(p)) ?? 'nats-server';

/** Why the Python decoder cannot run here, or false. Under CI this is always false: the test then fails loudly. */
export function pythonMissing() {
  if (process.env.CI) return false;
  const r = spawnSync(PYTHON, ['-c', 'import zmq, msgpack'], { encoding: 'utf8' });
  return r.status === 0 ? false : `${PYTHON} with zmq and msgpack not installed (apt-get install python3-zmq python3-msgpack)`;
}

export function natsMissing() {
  if (process.env.CI) return false;
  const r = spawnSync(NATS_SERVER, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? false : 'nats-server not installed (apt-get install nats-server)';
}

const tok = (ids) => ids.map((token_id) => ({ type: 'unique_token', token_id, token_extra_id: 0n }));

/** A stored block in TensorRT-LLM's Python JSON shape (lib/types.ts). */
export function storedBlock(hash, tokens, { cacheLevel = 0, loraId = null, priority = 35 } = {}) {
  return { type: 'stored_block', block_hash: hash, tokens: tok(tokens), lora_id: loraId, cache_level: cacheLevel, priority };
}

let nextId = 0;
export function ev(data, extra = {}) {
  return { event_id: nextId++, data, window_size: 32, ...extra };
}
export const created = (sizes = [100, 0]) => ev({ type: 'created', num_blocks_per_cache_level: sizes });
export const stored = (parent, blocks, extra) => ev({ type: 'stored', parent_hash: parent, blocks }, extra);
export const removed = (hashes, extra) => ev({ type: 'removed', block_hashes: hashes }, extra);
export const moved = (hash, from, to) => ev({ type: 'updated', block_hash: hash, cache_level: { type: 'event_diff', old_value: from, new_value: to }, priority: null });
export const reprioritized = (hash) => ev({ type: 'updated', block_hash: hash, cache_level: null, priority: { type: 'event_diff', old_value: 35, new_value: 90 } });

/** Decodes payloads with the Python decoder: resolves with one parsed JSON batch per payload. */
export function pythonDecode(payloads) {
  const r = spawnSync(PYTHON, [PY_DECODER, 'payloads'], { input: payloads.map((p) => Buffer.from(p).toString('hex')).join('\n') + '\n', encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the Python decoder failed: ${r.stderr}`);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l).batch);
}

/** Starts the Python subscriber (SUB connects to `endpoint`, reads `count` messages); resolves once it is ready. */
export function pythonSubscriber(endpoint, count) {
  const child = spawn(PYTHON, [PY_DECODER, 'subscribe', endpoint, String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  let err = '';
  let buf = '';
  let readyResolve;
  const ready = new Promise((r) => (readyResolve = r));
  child.stderr.on('data', (d) => (err += d));
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const msg = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (msg.ready) readyResolve();
      else lines.push(msg);
    }
  });
  const done = new Promise((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve(lines) : reject(new Error(`the Python subscriber exited ${code}: ${err}`)))),
  );
  done.catch(() => readyResolve());
  return { ready, done, lines, kill: () => child.kill() };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** A JetStream-enabled nats-server on a free port with its own store; stop() and start() again keep the store. */
export async function startNats() {
  const port = await freePort();
  const store = mkdtempSync(join(tmpdir(), 'trtllm-nats-'));
  const server = {
    url: `nats://127.0.0.1:${port}`,
    child: null,
    async start() {
      const child = spawn(NATS_SERVER, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', store], { stdio: ['ignore', 'pipe', 'pipe'] });
      server.child = child;
      let log = '';
      await new Promise((resolve, reject) => {
        const onData = (d) => {
          log += d;
          if (/Server is ready/.test(log)) resolve();
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.on('exit', (code) => reject(new Error(`nats-server exited ${code}: ${log}`)));
      });
    },
    async stop() {
      const child = server.child;
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
  await server.start();
  return server;
}
