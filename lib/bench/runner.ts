/**
 * The dispatch loop: sends the workload's requests at their arrival times (a Poisson schedule, or all at
 * once), never more than `concurrency` at a time, and waits for every one to finish. A request whose
 * arrival has passed while the concurrency cap was reached goes out as soon as a slot frees (so with a cap,
 * the offered load can fall behind the schedule, as with vLLM's --max-concurrency).
 */
import type { Target } from './target.js';
import type { Workload } from './workload.js';

export interface RunOptions {
  /** Most requests in flight (Infinity: no cap). */
  concurrency: number;
  /** Called after each request finishes (progress). */
  onDone?: () => void;
}

export interface RunTiming {
  /** performance.now() at the start. */
  t0: number;
  /** Seconds from the start to the last request's end. */
  wallS: number;
}

/** Sends launches in a synchronous burst: yield to the event loop this often so I/O and progress run. */
const YIELD_EVERY = 256;

export async function runWorkload(workload: Workload, target: Target, o: RunOptions): Promise<RunTiming> {
  const n = workload.numRequests;
  const arrivals = workload.arrivals;
  const t0 = performance.now();
  let inflight = 0;
  let finished = 0;
  let slotWaiter: (() => void) | null = null;
  let resolveAll!: () => void;
  const allDone = new Promise<void>((r) => (resolveAll = r));
  if (n === 0) resolveAll();

  const onFinished = (): void => {
    inflight--;
    finished++;
    o.onDone?.();
    if (slotWaiter) {
      const w = slotWaiter;
      slotWaiter = null;
      w();
    }
    if (finished === n) resolveAll();
  };

  let burst = 0;
  for (let i = 0; i < n; i++) {
    const wait = t0 + arrivals[i]! * 1000 - performance.now();
    if (wait >= 1) {
      await new Promise((r) => setTimeout(r, wait));
      burst = 0;
    } else if (++burst >= YIELD_EVERY) {
      await new Promise((r) => setImmediate(r));
      burst = 0;
    }
    while (inflight >= o.concurrency) {
      await new Promise<void>((r) => (slotWaiter = r));
      burst = 0;
    }
    inflight++;
    target.send(i, t0).then(onFinished, onFinished);
  }
  await allDone;
  return { t0, wallS: (performance.now() - t0) / 1000 };
}
