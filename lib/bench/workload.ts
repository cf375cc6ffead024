/**
 * The workload of a run, fixed by the options and the seed before the first request is sent: per request
 * its prompt length, output length (max_tokens), arrival offset and whether it starts with the shared
 * prefix. Prompt tokens are made on demand (request i's tokens come from a generator seeded by the seed and
 * i), so a 100,000-request run does not hold every prompt in memory and the same seed always gives the same
 * prompts, whatever the concurrency or the order in which requests are sent.
 *
 * --prefix-share F:T: round(F * N) requests, chosen with the seed, start with one shared prefix of T tokens
 * (a "system prompt") which is prepended to their own prompt: their prompt length is T + the drawn length.
 */
import { InvalidArgumentError } from '../errors.js';
import { ByteTokenizer } from '../tokenizer.js';
import { poissonArrivals } from './arrivals.js';
import type { Dataset } from './dataset.js';
import { sampleLength, type LengthDistribution } from './distributions.js';
import { mixSeed, Rng } from './rng.js';

/** Synthetic prompt token ids are drawn from [TOKEN_ID_MIN, TOKEN_ID_MAX): valid ids of any common vocabulary. */
export const TOKEN_ID_MIN = 100;
export const TOKEN_ID_MAX = 30000;
/** Characters of the synthetic shared prefix of text prompts (one byte-tokenizer token each). */
const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz     ';

const STREAM = { input: 1, output: 2, arrivals: 3, prefixPick: 4, prefixTokens: 5, datasetOrder: 6, prompt: 7 } as const;

/** Parses FRACTION:TOKENS (--prefix-share); throws InvalidArgumentError saying what is wrong. */
export function parsePrefixShare(text: string): PrefixShare {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e-?\d+)?)\s*:\s*(\d+)\s*$/i.exec(text);
  const fraction = m ? Number(m[1]) : Number.NaN;
  const tokens = m ? Number(m[2]) : Number.NaN;
  if (!m || !(fraction >= 0 && fraction <= 1) || !(tokens >= 1 && tokens <= 1_000_000)) {
    throw new InvalidArgumentError(`must be FRACTION:TOKENS with FRACTION in [0, 1] and TOKENS >= 1, got ${JSON.stringify(text)}`);
  }
  return { fraction, tokens };
}

export interface PrefixShare {
  /** Share of the requests that start with the prefix, [0, 1]. */
  fraction: number;
  /** Prefix length in tokens. */
  tokens: number;
}

export interface WorkloadOptions {
  numRequests: number;
  seed: number;
  /** Requests per second (Infinity: all at once). */
  requestRate: number;
  inputLen: LengthDistribution;
  outputLen: LengthDistribution;
  /** When set, prompts (and output lengths, unless outputLenOverride) come from it. */
  dataset?: Dataset;
  /** With a dataset: use outputLen instead of the dataset's output lengths. */
  outputLenOverride?: boolean;
  prefixShare?: PrefixShare;
}

const tokenizer = new ByteTokenizer();

export class Workload {
  readonly numRequests: number;
  readonly seed: number;
  /** Prompt tokens of each request (shared prefix included). */
  readonly inputLens: Int32Array;
  /** max_tokens of each request. */
  readonly outputLens: Int32Array;
  /** Seconds from the start of the run. */
  readonly arrivals: Float64Array;
  /** 1 where the request starts with the shared prefix. */
  readonly sharesPrefix: Uint8Array;
  readonly prefixTokens: Int32Array;
  readonly prefixText: string;
  /** Dataset entry index of each request (datasets only). */
  private readonly entryOf: Int32Array | null;
  private readonly dataset: Dataset | undefined;

  constructor(o: WorkloadOptions) {
    const n = o.numRequests;
    this.numRequests = n;
    this.seed = o.seed;
    this.dataset = o.dataset;
    this.inputLens = new Int32Array(n);
    this.outputLens = new Int32Array(n);
    this.sharesPrefix = new Uint8Array(n);
    this.arrivals = poissonArrivals(n, o.requestRate, new Rng(mixSeed(o.seed, STREAM.arrivals)));

    // Shared prefix: the tokens, its text form, and which requests carry it (an exact count, seeded choice).
    const ps = o.prefixShare;
    const prefixLen = ps && ps.fraction > 0 ? ps.tokens : 0;
    const pr = new Rng(mixSeed(o.seed, STREAM.prefixTokens));
    this.prefixTokens = new Int32Array(prefixLen);
    let text = '';
    for (let i = 0; i < prefixLen; i++) {
      this.prefixTokens[i] = pr.int(TOKEN_ID_MIN, TOKEN_ID_MAX - 1);
      text += PREFIX_ALPHABET[pr.int(0, PREFIX_ALPHABET.length - 1)];
    }
    this.prefixText = text;
    if (prefixLen > 0) {
      const k = Math.round(ps!.fraction * n);
      const pick = new Rng(mixSeed(o.seed, STREAM.prefixPick));
      // Partial Fisher-Yates: the first k positions of a seeded permutation.
      const idx = new Int32Array(n);
      for (let i = 0; i < n; i++) idx[i] = i;
      for (let i = 0; i < k; i++) {
        const j = pick.int(i, n - 1);
        const t = idx[i]!;
        idx[i] = idx[j]!;
        idx[j] = t;
        this.sharesPrefix[idx[i]!] = 1;
      }
    }

    const inRng = new Rng(mixSeed(o.seed, STREAM.input));
    const outRng = new Rng(mixSeed(o.seed, STREAM.output));
    if (o.dataset) {
      const entries = o.dataset.entries;
      const m = entries.length;
      // Requests take the entries in a seeded order, cycling when there are more requests than entries.
      const order = new Int32Array(m);
      for (let i = 0; i < m; i++) order[i] = i;
      const shuffle = new Rng(mixSeed(o.seed, STREAM.datasetOrder));
      for (let i = m - 1; i > 0; i--) {
        const j = shuffle.int(0, i);
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
      this.entryOf = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const e = order[i % m]!;
        this.entryOf[i] = e;
        const entry = entries[e]!;
        this.inputLens[i] = entry.promptLen + (this.sharesPrefix[i] ? prefixLen : 0);
        const out = o.outputLenOverride || entry.outputLen === 0 ? sampleLength(o.outputLen, outRng) : entry.outputLen;
        this.outputLens[i] = out;
      }
    } else {
      this.entryOf = null;
      for (let i = 0; i < n; i++) {
        this.inputLens[i] = sampleLength(o.inputLen, inRng) + (this.sharesPrefix[i] ? prefixLen : 0);
        this.outputLens[i] = sampleLength(o.outputLen, outRng);
      }
    }
  }

  /** The prompt text of request i (shared prefix included) when its dataset entry has one, else null. */
  promptText(i: number): string | null {
    if (this.entryOf === null) return null;
    const prompt = this.dataset!.entries[this.entryOf[i]!]!.prompt;
    if (prompt === undefined) return null;
    return this.sharesPrefix[i] ? this.prefixText + prompt : prompt;
  }

  /** The prompt token ids of request i: text prompts through the byte tokenizer, else seeded synthetic ids. */
  promptTokens(i: number): Int32Array {
    const text = this.promptText(i);
    if (text !== null) return tokenizer.encode(text);
    const len = this.inputLens[i]!;
    const out = new Int32Array(len);
    let at = 0;
    if (this.sharesPrefix[i]) {
      out.set(this.prefixTokens);
      at = this.prefixTokens.length;
    }
    // A per-request mulberry32 stream, inlined: prompts are the bulk of the random numbers of a run.
    let a = mixSeed(this.seed, STREAM.prompt, i) | 0;
    const min = TOKEN_ID_MIN;
    const scale = (TOKEN_ID_MAX - TOKEN_ID_MIN) / 4294967296;
    for (; at < len; at++) {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      out[at] = min + (((t ^ (t >>> 14)) >>> 0) * scale) | 0; // multiply-shift: no integer division
    }
    return out;
  }

  /** Totals of the planned workload. */
  totals(): { inputTokens: number; outputTokens: number; sharedPrefixRequests: number } {
    let inputTokens = 0;
    let outputTokens = 0;
    let shared = 0;
    for (let i = 0; i < this.numRequests; i++) {
      inputTokens += this.inputLens[i]!;
      outputTokens += this.outputLens[i]!;
      shared += this.sharesPrefix[i]!;
    }
    return { inputTokens, outputTokens, sharedPrefixRequests: shared };
  }
}
