/**
 * `--sweep PARAM=V1,V2,...`: the parameter a sweep varies and its values, one benchmark per value with the
 * same seed (sweep.ts runs them). PARAM is a flag of the load: request-rate (a value may be `inf`),
 * max-concurrency (or its alias concurrency) or burstiness.
 */
import { InvalidArgumentError } from '../errors.js';

export type SweepParam = 'request-rate' | 'max-concurrency' | 'burstiness';

export interface SweepSpec {
  param: SweepParam;
  values: number[];
}

const PARAMS: Record<string, SweepParam> = {
  'request-rate': 'request-rate',
  'max-concurrency': 'max-concurrency',
  concurrency: 'max-concurrency',
  burstiness: 'burstiness',
};

export function parseSweep(text: string): SweepSpec {
  const eq = text.indexOf('=');
  const name = eq > 0 ? text.slice(0, eq).trim().replace(/^--/, '') : '';
  const param = PARAMS[name];
  if (param === undefined) {
    throw new InvalidArgumentError(`takes PARAM=V1,V2,... with PARAM one of request-rate, max-concurrency, burstiness, got ${JSON.stringify(text)}`);
  }
  const values = text
    .slice(eq + 1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const v = param === 'request-rate' && /^inf(inity)?$/i.test(s) ? Infinity : /^[0-9]*\.?[0-9]+(e[-+]?\d+)?$/i.test(s) ? Number(s) : Number.NaN;
      const ok = param === 'max-concurrency' ? Number.isInteger(v) && v >= 1 : v > 0;
      if (!ok) throw new InvalidArgumentError(`${param} values must be ${param === 'max-concurrency' ? 'integers >= 1' : 'numbers > 0'}, got ${JSON.stringify(s)}`);
      return v;
    });
  if (values.length < 2) throw new InvalidArgumentError(`needs at least two values of ${param}, got ${JSON.stringify(text)}`);
  return { param, values };
}
