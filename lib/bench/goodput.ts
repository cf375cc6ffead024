/**
 * Goodput (`--goodput ttft:MS tpot:MS e2el:MS`): the completed requests that meet every given SLO, as
 * `vllm bench serve` counts them (serve.py calculate_metrics, after DistServe's definition: Zhong et al.,
 * OSDI'24): a request is good when each of its given metrics is at most the SLO; a request with one output
 * token has TPOT 0 here. A request without the value (no TTFT measured) is not good. `request_goodput` is
 * good requests per second of the run; `fraction` the share of the completed requests.
 */
import type { GoodputMetric, GoodputSlos } from './arg-parsers.js';
import type { RequestTable } from './request-table.js';

export interface GoodputResult {
  /** The SLOs, milliseconds. */
  slos_ms: GoodputSlos;
  /** Whose times were checked (request-table.ts). */
  reference: 'client' | 'engine';
  completed: number;
  good: number;
  /** good / completed (null with no completed request). */
  fraction: number | null;
  /** good / duration (requests/s). */
  request_goodput: number | null;
}

export function computeGoodput(t: RequestTable, slos: GoodputSlos): GoodputResult {
  const checks = (Object.entries(slos) as Array<[GoodputMetric, number]>).map(([k, ms]) => [k, ms / 1000] as const);
  let completed = 0;
  let good = 0;
  for (let i = 0; i < t.n; i++) {
    if (!t.ok[i]) continue;
    completed++;
    let pass = true;
    for (const [metric, slo] of checks) {
      const v = metric === 'ttft' ? t.ttft[i]! : metric === 'e2el' ? t.e2el[i]! : t.outputLens[i]! > 1 ? t.tpot[i]! : 0;
      if (!(v <= slo)) {
        pass = false;
        break;
      }
    }
    if (pass) good++;
  }
  return {
    slos_ms: slos,
    reference: t.source,
    completed,
    good,
    fraction: completed > 0 ? good / completed : null,
    request_goodput: t.durationS > 0 ? good / t.durationS : null,
  };
}
