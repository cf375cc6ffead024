/**
 * The dispatch loop: sends the workload's requests at their arrival times (a Poisson schedule, or all at
 * once), never more than `concurrency` at a time, and waits for every one to finish. A request whose
 * arrival has passed while the concurrency cap was reached goes out as soon as a slot frees (so with a cap,
 * the offered load can fall behind the schedule, as with vLLM's --max-concurrency).
 *
 * A target with `pacing` (the simulator on its virtual clock, which runs thousands of times faster than the
 * wall clock) is not fed on the wall clock: the same rules are applied on the simulated clock instead
 * (runPaced below; docs/bench.md "The virtual clock").
 */
import type { SimPacing, Target } from './target.js';
import type { Workload } from './workload.js';

export interface RunOptions {
  /** Most requests in flight (Infinity: no cap). */
  concurrency: number;
  /**
   * A timed run (--duration): no request is sent after this many seconds from the start (wall clock, or the
   * simulated clock when paced); those in flight finish. The workload is extended as needed (`ensure`).
   */
  durationS?: number;
  /** Grows the workload (and the results) to n requests; required with durationS. */
  ensure?: (n: number) => void;
  /** Called after each request finishes (progress). */
  onDone?: () => void;
}

export interface RunTiming {
  /** performance.now() at the start. */
  t0: number;
  /** Requests sent. */
  sent: number;
  /** Seconds from the start to the last request's end. */
  wallS: number;
  /** Paced runs in lockstep: pauses the watchdog had to release (0 normally; see runPaced). */
  lockstepStalls?: number;
}

/** Sends launches in a synchronous burst: yield to the event loop this often so I/O and progress run. */
const YIELD_EVERY = 256;

/** Makes request i available: extends a timed run's workload by doubling. False when there is no request i. */
function available(workload: Workload, o: RunOptions, i: number): boolean {
  if (i < workload.numRequests) return true;
  if (o.durationS === undefined || o.ensure === undefined) return false;
  o.ensure(Math.max(i + 1, workload.numRequests * 2));
  return i < workload.numRequests;
}

export async function runWorkload(workload: Workload, target: Target, o: RunOptions): Promise<RunTiming> {
  if (target.pacing) return runPaced(workload, target, target.pacing, o);
  const t0 = performance.now();
  const endMs = o.durationS !== undefined ? o.durationS * 1000 : Infinity;
  let inflight = 0;
  let launched = 0;
  let finished = 0;
  let sending = true;
  let slotWaiter: (() => void) | null = null;
  let resolveAll!: () => void;
  const allDone = new Promise<void>((r) => (resolveAll = r));

  const onFinished = (): void => {
    inflight--;
    finished++;
    o.onDone?.();
    if (slotWaiter) {
      const w = slotWaiter;
      slotWaiter = null;
      w();
    }
    if (!sending && finished === launched) resolveAll();
  };

  let burst = 0;
  for (let i = 0; available(workload, o, i); i++) {
    const at = workload.arrivals[i]! * 1000;
    if (at >= endMs) break;
    const wait = t0 + at - performance.now();
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
    if (performance.now() - t0 >= endMs) break;
    inflight++;
    launched++;
    target.send(i, t0).then(onFinished, onFinished);
  }
  sending = false;
  if (finished === launched) resolveAll();
  await allDone;
  return { t0, sent: launched, wallS: (performance.now() - t0) / 1000 };
}

/** A lockstep pause (the simulator waiting for replacements) older than this, in real ms, is released. */
export const LOCKSTEP_STALL_MS = 2000;

/**
 * The dispatch loop on a simulated clock. Arrival i is scheduled at base + arrivals[i] where base is the
 * simulated "now" at the start, so the arrival process is exactly the workload's on the engine's clock.
 *
 * Open loop (no cap, or a cap >= the number of requests): requests are sent in arrival order, in bursts,
 * with the clock held at the next unsent arrival, so the simulator does not pass an arrival the client has
 * not sent yet; then released. The hold is backlog-exempt (Engine.holdSimClock's unlessBacklogged): while
 * more requests wait than one iteration can admit, the simulator goes on, since the unsent ones (later
 * arrivals, same priority) would queue behind them anyway. So the simulation overlaps the sending, and a
 * schedule that outruns the engine (e.g. all at once) is not held in memory all at once, yet every
 * request's timing is what it would be with the whole schedule sent in advance.
 *
 * Closed loop (--concurrency N < requests): the engine runs in lockstep: after an iteration in which requests
 * finished it waits (holds its clock) until resumed. For each finished request the next one is sent with
 * arrival max(its scheduled arrival, the finished request's last token time), i.e. as soon as the slot
 * freed, as runWorkload does on the wall clock; then the clock is resumed. So at most N requests are ever
 * in flight and, while requests remain, N are. A watchdog releases a pause left for LOCKSTEP_STALL_MS (it
 * never fires unless a finish is lost), and reports it.
 */
export async function runPaced(workload: Workload, target: Target, pacing: SimPacing, o: RunOptions): Promise<RunTiming> {
  const timed = o.durationS !== undefined;
  let n = workload.numRequests;
  if (timed && o.concurrency === Infinity) {
    // Open loop: the requests arriving within the duration are known in advance.
    while (workload.arrivals[workload.numRequests - 1]! < o.durationS! && available(workload, o, workload.numRequests));
    n = workload.numRequests;
    while (n > 0 && workload.arrivals[n - 1]! >= o.durationS!) n--;
  }
  if (o.concurrency < n && !pacing.lockstep) {
    throw new RangeError('a concurrency cap on a simulated clock needs the engine in lockstep (EngineTargetOptions.lockstep)');
  }
  const t0 = performance.now();
  let finished = 0;
  let launched = 0;
  let resolveAll!: () => void;
  const allDone = new Promise<void>((r) => (resolveAll = r));
  if (n === 0) resolveAll();
  // Holding first freezes the simulated clock: the schedule starts exactly at `base`.
  const base = pacing.holdClock();
  const at = (i: number): number => base + Math.round(workload.arrivals[i]! * 1e9);
  const endNs = timed ? base + Math.round(o.durationS! * 1e9) : Infinity;
  const closedLoop = pacing.lockstep && (o.concurrency < n || timed);
  if (!closedLoop) pacing.holdClock(base, true);
  let next = 0;
  let stalls = 0;
  let released = false;
  let resumeQueued = false;
  // After the microtasks that send the replacements (a finished send() resolves in one).
  const resumeSoon = (): void => {
    if (resumeQueued || !released) return;
    resumeQueued = true;
    setImmediate(() => {
      resumeQueued = false;
      pacing.resumeClock();
    });
  };
  const launch = (i: number, arrivalNs: number): void => {
    const done = (): void => onFinished(i);
    launched++;
    target.send(i, t0, arrivalNs).then(done, done);
  };
  // A timed closed loop sends while the replacement's arrival is within the duration.
  let sending = true;
  const onFinished = (i: number): void => {
    finished++;
    o.onDone?.();
    if (closedLoop && sending) {
      let from = pacing.lastTokenNs(i);
      if (!(from > 0)) from = pacing.clockNs();
      if ((timed || next < n) && available(workload, o, next)) {
        const arrival = Math.max(at(next), from);
        if (arrival < endNs) {
          launch(next, arrival);
          next++;
        } else sending = false;
      } else sending = false;
    }
    // A lockstep engine waits after every iteration in which a request finished: always let it go on.
    if (pacing.lockstep) resumeSoon();
    if (closedLoop ? finished === launched && !(sending && (timed || next < n)) : finished === n) resolveAll();
  };

  const initial = closedLoop ? Math.min(n, o.concurrency) : n;
  let burst = 0;
  for (; next < initial; next++) {
    if (at(next) >= endNs) {
      sending = false;
      if (finished === launched) resolveAll();
      break;
    }
    launch(next, at(next));
    if (++burst >= YIELD_EVERY && next + 1 < initial) {
      burst = 0;
      // Everything that arrives before the next unsent request has been sent: the simulator may run up to it.
      if (!closedLoop) pacing.holdClock(at(next + 1), true);
      await new Promise((r) => setImmediate(r));
    }
  }
  let watchdog: NodeJS.Timeout | undefined;
  if (pacing.lockstep) {
    watchdog = setInterval(() => {
      const s = pacing.clockState();
      if (s.paused && s.pausedForMs > LOCKSTEP_STALL_MS) {
        stalls++;
        pacing.resumeClock();
      }
    }, LOCKSTEP_STALL_MS / 2);
    watchdog.unref();
  }
  released = true;
  pacing.resumeClock();
  try {
    await allDone;
  } finally {
    if (watchdog) clearInterval(watchdog);
  }
  return { t0, sent: launched, wallS: (performance.now() - t0) / 1000, lockstepStalls: stalls };
}
