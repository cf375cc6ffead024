/**
 * Options of the fleet (lib/fleet, docs/fleet.md): the KV-event publisher (`new KvEventPublisher(options)`,
 * `serve --kv-events-*`) and the subscriber of `trtllm-metrics kv-events`. Flags and --config keys come from
 * the leaves.
 */
import { Type } from '@sinclair/typebox';
import { int, nonEmpty, oneOf, opt } from './define.js';

const SERVE = ['serve'] as const;
const SUBSCRIBE = ['kv-events'] as const;

const ZMQ_SCHEMES = ['tcp://', 'ipc://', 'inproc://'];

/** A ZeroMQ endpoint's syntax: a known transport and something after it. */
export function zmqEndpointProblem(endpoint: string): string | undefined {
  const scheme = ZMQ_SCHEMES.find((s) => endpoint.startsWith(s));
  if (scheme === undefined) return `must be a ZeroMQ endpoint (${ZMQ_SCHEMES.map((s) => s + '...').join(', ')}), got ${JSON.stringify(endpoint)}`;
  if (endpoint.length === scheme.length) return `must name an address after ${scheme}, got ${JSON.stringify(endpoint)}`;
  if (scheme === 'tcp://' && !/:(\d+|\*)$/.test(endpoint)) return `must end with a port (tcp://HOST:PORT), got ${JSON.stringify(endpoint)}`;
  return undefined;
}

/**
 * vLLM's rule (vllm/distributed/kv_events.py): a socket binds when its endpoint has a wildcard (`*`, `::`) or
 * is local (ipc://, inproc://), and connects otherwise.
 */
export function zmqBinds(endpoint: string): boolean {
  return endpoint.includes('*') || endpoint.includes('::') || endpoint.startsWith('ipc://') || endpoint.startsWith('inproc://');
}

function natsUrlProblem(url: string): string | undefined {
  for (const part of url.split(',')) {
    if (!/^(nats|tls|ws|wss):\/\/[^\s/]+$/.test(part.trim()) && !/^[^\s:/]+:\d+$/.test(part.trim())) {
      return `must be NATS server URLs (nats://HOST:PORT, comma-separated), got ${JSON.stringify(url)}`;
    }
  }
  return undefined;
}

/** Options of the KV-event transports: what `serve` takes as flags and KvEventPublisher as options. */
export const KV_EVENT_TRANSPORT_OPTIONS = {
  endpoint: opt(nonEmpty(), {
    help: "ZeroMQ endpoint KV events are published on in vLLM's wire format; binds when it has *, :: or is ipc:// or inproc://, else connects (to an indexer that binds)",
    flag: 'kv-events-endpoint',
    commands: SERVE,
    arg: 'ENDPOINT',
    section: 'KV events',
    maps: 'ZeroMQ XPUB socket',
    check: (v) => zmqEndpointProblem(v),
  }),
  replayEndpoint: opt(nonEmpty(), {
    help: 'ZeroMQ ROUTER endpoint (bound) that answers replay requests from the last --kv-events-replay-buffer batches',
    flag: 'kv-events-replay-endpoint',
    commands: SERVE,
    arg: 'ENDPOINT',
    section: 'KV events',
    maps: 'ZeroMQ ROUTER socket',
    check: (v) => zmqEndpointProblem(v) ?? (zmqBinds(v) ? undefined : `must be an endpoint to bind (tcp://*:PORT, tcp://[::]:PORT, ipc://, inproc://), got ${JSON.stringify(v)}`),
  }),
  replayBuffer: opt(int(1, 10_000_000), {
    help: 'batches the replay socket keeps (the oldest is dropped first)',
    unit: 'batches',
    default: 10_000,
    flag: 'kv-events-replay-buffer',
    commands: SERVE,
    section: 'KV events',
  }),
  topic: opt(Type.String(), {
    help: 'ZeroMQ topic (first frame) of every message; {pod} and {model} are replaced (llm-d: kv@{pod}@{model})',
    defaultText: 'empty',
    flag: 'kv-events-topic',
    commands: SERVE,
    arg: 'TOPIC',
    section: 'KV events',
  }),
  podId: opt(nonEmpty(), {
    help: 'the {pod} of --kv-events-topic and --kv-events-subject',
    defaultText: 'the host name',
    env: 'POD_NAME',
    flag: 'pod-id',
    commands: SERVE,
    arg: 'NAME',
    section: 'KV events',
  }),
  encoding: opt(oneOf('array', 'map'), {
    help: 'events as tagged arrays (["BlockStored", ...], read by every consumer) or tagged maps ({"type": "BlockStored", ...}, vLLM main)',
    default: 'array',
    flag: 'kv-events-encoding',
    commands: SERVE,
    arg: 'array|map',
    section: 'KV events',
  }),
  sendQueue: opt(int(1, 10_000_000), {
    help: 'batches waiting to be sent, per transport; beyond it new batches are dropped and counted (reason queue_full)',
    unit: 'batches',
    default: 10_000,
    flag: 'kv-events-send-queue',
    commands: SERVE,
    section: 'KV events',
  }),
  sendHighWaterMark: opt(int(1, 10_000_000), {
    help: "messages ZeroMQ holds per subscriber before the socket stops taking more (then batches wait in the send queue); vLLM's default",
    unit: 'messages',
    default: 100_000,
    flag: 'kv-events-hwm',
    commands: SERVE,
    section: 'KV events',
    maps: 'ZMQ_SNDHWM',
  }),
  nats: opt(nonEmpty(), {
    help: 'NATS server(s) to publish the same payloads to, into a JetStream stream',
    flag: 'kv-events-nats',
    commands: SERVE,
    arg: 'URL',
    section: 'KV events',
    maps: '@nats-io/jetstream publish',
    check: (v) => natsUrlProblem(v),
  }),
  subject: opt(nonEmpty(), {
    help: 'NATS subject of the payloads; {pod} and {model} are replaced (dots, spaces and wildcards in them become _)',
    default: 'trtllm.kv_events.{pod}',
    flag: 'kv-events-subject',
    commands: SERVE,
    arg: 'SUBJECT',
    section: 'KV events',
    check: (v) => (/[\s*>]/.test(v.replace(/\{(pod|model)\}/g, '')) ? `must be a NATS subject without spaces or wildcards, got ${JSON.stringify(v)}` : undefined),
  }),
  stream: opt(nonEmpty(), {
    help: 'JetStream stream that keeps the payloads (created with the subject when missing; the subject is added to an existing one)',
    default: 'TRTLLM_KV_EVENTS',
    flag: 'kv-events-stream',
    commands: SERVE,
    arg: 'NAME',
    section: 'KV events',
    check: (v) => (/^[^\s.*>/\\]+$/.test(v) ? undefined : `must be a JetStream stream name (no spaces, dots, *, >, / or \\), got ${JSON.stringify(v)}`),
  }),
  closeTimeoutMs: opt(int(0, 600_000), {
    help: 'on close, time the transports get to send what is queued; the rest is dropped and counted (reason shutdown)',
    unit: 'ms',
    default: 1000,
  }),
};

/** `new KvEventPublisher(options)`: the transports, plus what serve takes from its engine. */
export const KV_PUBLISHER_OPTIONS = {
  ...KV_EVENT_TRANSPORT_OPTIONS,
  blockSize: opt(int(1, 65536), {
    help: "tokens per KV block, the block_size of BlockStored (attach(engine) takes the engine's)",
    unit: 'tokens',
  }),
  modelName: opt(nonEmpty(), {
    help: "the {model} of the topic and subject (attach(engine) takes the engine's served model name)",
  }),
};

/** `trtllm-metrics kv-events`: a subscriber that prints what a worker publishes. */
export const KV_SUBSCRIBER_OPTIONS = {
  subscribe: opt(nonEmpty(), {
    help: 'the publisher to read: tcp://HOST:5557 connects; tcp://*:5557 binds, for workers that connect',
    flag: 'subscribe',
    commands: SUBSCRIBE,
    arg: 'ENDPOINT',
    section: 'Subscriber',
    check: (v) => zmqEndpointProblem(v),
  }),
  replay: opt(nonEmpty(), {
    help: "the publisher's replay socket: a gap in the seq numbers is filled from it",
    flag: 'replay',
    commands: SUBSCRIBE,
    arg: 'ENDPOINT',
    section: 'Subscriber',
    check: (v) => zmqEndpointProblem(v),
  }),
  topic: opt(Type.String(), {
    help: 'topic prefix to subscribe to (llm-d: kv@)',
    defaultText: 'every topic',
    flag: 'topic',
    commands: SUBSCRIBE,
    arg: 'PREFIX',
    section: 'Subscriber',
  }),
  count: opt(int(0, Number.MAX_SAFE_INTEGER), {
    help: 'exit after printing this many batches; 0 = until SIGINT/SIGTERM',
    unit: 'batches',
    default: 0,
    flag: 'count',
    commands: SUBSCRIBE,
    section: 'Subscriber',
  }),
  fromSeq: opt(int(0, Number.MAX_SAFE_INTEGER), {
    help: 'with --replay: first ask for every held batch from this seq on',
    flag: 'from-seq',
    commands: SUBSCRIBE,
    arg: 'SEQ',
    section: 'Subscriber',
  }),
  replayTimeoutMs: opt(int(1, 600_000), {
    help: "time a replay request waits for the publisher's end marker",
    unit: 'ms',
    default: 5000,
    flag: 'replay-timeout-ms',
    commands: SUBSCRIBE,
    section: 'Subscriber',
  }),
};
