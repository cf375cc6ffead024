/**
 * One row per request of a run, the view that goodput, vLLM's result file and sweeps read: the client side
 * (ClientResults, wall clock), or the engine side (the finished-request records) when the client's wall
 * times say nothing about the run, i.e. on the simulator's virtual clock. Times in seconds; NaN where a
 * request has no such value.
 */
import { RequestStatus, type ClientResults } from './client-results.js';
import type { RecordStore } from './engine-records.js';
import type { Workload } from './workload.js';

export interface RequestTable {
  /** Whose times these are. */
  source: 'client' | 'engine';
  clock: 'wall' | 'simulated' | 'steady';
  n: number;
  /** 1 = completed. */
  ok: Uint8Array;
  ttft: Float64Array;
  ttst: Float64Array;
  tpot: Float64Array;
  e2el: Float64Array;
  /** Send time (s since the run's start); the engine side: arrival since the first one. */
  start: Float64Array;
  /** Client side: time spent waiting for a --max-concurrency slot (send - scheduled arrival). */
  queue: Float64Array;
  inputLens: Int32Array;
  outputLens: Int32Array;
  /** The run's duration (s): the throughput denominators. */
  durationS: number;
  itl(i: number): ArrayLike<number>;
  /** Every ITL gap of the completed requests (the pooled ITL distribution). */
  itlAll(): Float64Array;
  error(i: number): string;
  text(i: number): string;
}

const NO_ITL = new Float64Array(0);

/** The client side over the requests sent (indices 0..sent-1 of the workload). */
export function clientTable(r: ClientResults, w: Workload, durationS: number): RequestTable {
  const n = Math.min(r.sent, r.n);
  const itl = r.pooledItl();
  const t: RequestTable = {
    source: 'client',
    clock: 'wall',
    n,
    ok: new Uint8Array(n),
    ttft: new Float64Array(n),
    ttst: new Float64Array(n),
    tpot: new Float64Array(n),
    e2el: new Float64Array(n),
    start: new Float64Array(n),
    queue: new Float64Array(n),
    inputLens: new Int32Array(n),
    outputLens: new Int32Array(n),
    durationS,
    itl: (i) => (t.ok[i] ? r.itlOf(i) : NO_ITL),
    itlAll: () => itl,
    error: (i) => r.errorOf.get(i) ?? '',
    text: (i) => r.texts?.get(i) ?? '',
  };
  for (let i = 0; i < n; i++) {
    const ok = r.status[i] === RequestStatus.OK;
    t.ok[i] = ok ? 1 : 0;
    t.ttft[i] = ok ? r.ttft(i) : Number.NaN;
    t.ttst[i] = ok ? r.ttst(i) : Number.NaN;
    t.tpot[i] = ok ? r.tpot(i) : Number.NaN;
    t.e2el[i] = ok ? r.e2el(i) : Number.NaN;
    t.start[i] = r.sendTime[i]!;
    t.queue[i] = Math.max(0, r.sendTime[i]! - w.arrivals[i]!);
    t.inputLens[i] = r.promptTokens[i]!;
    t.outputLens[i] = ok ? r.outputTokens[i]! : 0;
  }
  return t;
}

/** The engine side: one row per finished-request record (delivery order), engine clock. */
export function engineTable(store: RecordStore, clock: 'simulated' | 'steady', durationS: number): RequestTable {
  const p = store.perRequest();
  const n = p.ok.length;
  let first = Infinity;
  for (let i = 0; i < n; i++) if (p.arrival[i]! < first) first = p.arrival[i]!;
  const start = new Float64Array(n);
  for (let i = 0; i < n; i++) start[i] = p.arrival[i]! - first;
  return {
    source: 'engine',
    clock,
    n,
    ok: p.ok,
    ttft: p.ttft,
    ttst: new Float64Array(n).fill(Number.NaN),
    tpot: p.tpot,
    e2el: p.e2e,
    start,
    queue: new Float64Array(n).fill(Number.NaN),
    inputLens: p.prompt,
    outputLens: p.output,
    durationS,
    itl: () => NO_ITL,
    itlAll: () => NO_ITL,
    error: (i) => (p.ok[i] ? '' : 'the request failed in the engine'),
    text: () => '',
  };
}
