/**
 * `trtllm-metrics kv-events --subscribe tcp://HOST:5557 [--replay tcp://HOST:5558]`: prints what a worker
 * publishes, one JSON line per batch (`topic`, `seq`, `replayed`, then vLLM's EventBatch fields; hashes as
 * decimal strings), and a `{"gap": ...}` line for every gap in a topic's seq numbers (with how many batches
 * the replay socket recovered), `{"restart": ...}` when a publisher starts over and `{"malformed": ...}` for a
 * message that is not vLLM's format. Exit codes: 0 (done, or SIGINT/SIGTERM), 1 (the transport failed),
 * 2 (bad usage: one line on stderr).
 */
import { KvTransportError, OptionalDependencyError, UsageError } from '../errors.js';
import { helpText, parseCommandLine } from '../options/command-line.js';
import { KV_SUBSCRIBER_OPTIONS } from '../options/fleet-table.js';
import type { OptionsOf } from '../options/define.js';
import { KvEventSubscriber, type SubscriberItem } from './subscriber.js';
import { batchToJson } from './wire-decoding.js';

export interface KvEventsIo {
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
}

function usage(): string {
  return helpText(KV_SUBSCRIBER_OPTIONS, 'kv-events', {
    intro: [
      'Usage: trtllm-metrics kv-events --subscribe ENDPOINT [--replay ENDPOINT] [options]',
      '',
      "Print the KV-cache events a worker publishes (serve --kv-events-endpoint) in vLLM's wire format: one JSON",
      'line per batch (hashes as decimal strings), and a {"gap": ...} line when seq numbers are missing (filled',
      'from --replay when given).',
    ],
    sections: [['Subscriber', 'Subscriber']],
    outro: ['Stop with SIGINT or SIGTERM. Details: docs/fleet.md.'],
  });
}

function line(item: SubscriberItem): string {
  switch (item.kind) {
    case 'batch':
      return JSON.stringify({ topic: item.topic, seq: Number(item.seq), replayed: item.replayed, ...batchToJson(item.batch) });
    case 'gap':
      return JSON.stringify({ gap: { topic: item.topic, first: Number(item.first), last: Number(item.last), missing: Number(item.last - item.first + 1n), recovered: item.recovered } });
    case 'restart':
      return JSON.stringify({ restart: { topic: item.topic, last_seq: Number(item.lastSeq) } });
    case 'malformed':
      return JSON.stringify({ malformed: { topic: item.topic, reason: item.reason } });
  }
}

export async function runKvEvents(args: readonly string[], io: KvEventsIo = {}): Promise<number> {
  const out = io.stdout ?? ((s: string) => process.stdout.write(s));
  const err = io.stderr ?? ((s: string) => process.stderr.write(s));
  let o: OptionsOf<typeof KV_SUBSCRIBER_OPTIONS>;
  try {
    const cl = parseCommandLine(KV_SUBSCRIBER_OPTIONS, 'kv-events', args, process.env);
    if (cl.help) {
      out(usage() + '\n');
      return 0;
    }
    o = cl.values as typeof o;
    if (o.subscribe === undefined) throw new UsageError('--subscribe ENDPOINT is required (e.g. tcp://127.0.0.1:5557)');
    if (o.fromSeq !== undefined && o.replay === undefined) throw new UsageError('--from-seq needs --replay');
  } catch (e) {
    if (e instanceof UsageError) {
      err(`trtllm-metrics: error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  let sub: KvEventSubscriber;
  try {
    sub = await KvEventSubscriber.open({ subscribe: o.subscribe, replay: o.replay, topic: o.topic ?? '', replayTimeoutMs: o.replayTimeoutMs ?? 5000 });
  } catch (e) {
    if (e instanceof KvTransportError || e instanceof OptionalDependencyError) {
      err(`trtllm-metrics: error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const stop = (): void => sub.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const count = o.count ?? 0;
  let batches = 0;
  try {
    for await (const item of sub.items(o.fromSeq !== undefined ? BigInt(o.fromSeq) : undefined)) {
      out(line(item) + '\n');
      if (item.kind === 'batch' && count > 0 && ++batches >= count) break;
    }
    return 0;
  } catch (e) {
    err(`trtllm-metrics: error: ${(e as Error).message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    sub.close();
  }
}
