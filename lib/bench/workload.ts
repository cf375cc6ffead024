/**
 * The workload of a run, fixed by the options and the seed before the first request is sent: per request
 * its prompt length, output length (max_tokens), arrival offset, whether it starts with the shared prefix
 * (or which repeated prefix), and whether the harness cancels it. Prompt tokens are made on demand (request
 * i's tokens come from generators seeded by the seed and i, or by the seed and a block's or prefix's id), so a
 * 100,000-request run does not hold every prompt in memory and the same seed always gives the same prompts,
 * whatever the concurrency or the order in which requests are sent.
 *
 * Kinds (docs/bench.md "Workload"):
 * - synthetic (`--dataset-name random`, the default): lengths from the distributions;
 *   `--prefix-share F:T`: round(F * N) requests, chosen with the seed, start with one shared prefix of T
 *   tokens (a "system prompt"), prepended to their own prompt (vLLM's `--random-prefix-len P` is F = 1);
 * - a dataset file (ShareGPT, custom, lengths): prompts and output lengths from its entries;
 * - `prefix_repetition`: P prefixes of prefixLen tokens, each request one of them plus suffixLen own tokens;
 * - `mooncake_trace`: entries with input/output lengths, hash_ids and timestamps; equal hash_ids give equal
 *   blocks of `traceBlockSize` tokens, so KV reuse follows the trace, and the timestamps are the arrivals.
 *
 * A timed run (`durationS`) does not know how many requests it will send: `ensure(n)` extends the workload,
 * drawing the next requests from the same streams, so the first requests are those of any shorter run.
 */
import { InvalidArgumentError } from '../errors.js';
import { ByteTokenizer } from '../tokenizer.js';
import { ArrivalSchedule, type RampUp } from './arrivals.js';
import type { Dataset } from './dataset.js';
import { sampleLength, type LengthDistribution } from './distributions.js';
import { mixSeed, Rng } from './rng.js';
import type { Trace } from './trace.js';

/** Synthetic prompt token ids are drawn from [TOKEN_ID_MIN, TOKEN_ID_MAX): valid ids of any common vocabulary. */
export const TOKEN_ID_MIN = 100;
export const TOKEN_ID_MAX = 30000;
/** Characters of synthetic text (one byte-tokenizer token each): the shared prefix of text prompts, chat prompts. */
const TEXT_ALPHABET = 'abcdefghijklmnopqrstuvwxyz     ';

const STREAM = {
  input: 1,
  output: 2,
  arrivals: 3,
  prefixPick: 4,
  prefixTokens: 5,
  datasetOrder: 6,
  prompt: 7,
  cancel: 8,
  repetitionGroup: 9,
  repetitionPrefix: 10,
  traceBlock: 11,
} as const;

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

/** vLLM's prefix_repetition dataset. */
export interface PrefixRepetition {
  prefixLen: number;
  suffixLen: number;
  numPrefixes: number;
  outputLen: number;
}

export interface WorkloadOptions {
  numRequests: number;
  seed: number;
  /** Requests per second (Infinity: all at once). */
  requestRate: number;
  /** Gamma shape of the gaps (default 1: Poisson). */
  burstiness?: number;
  rampUp?: RampUp;
  /** A timed run: the ramp's progress is time, and the workload may be extended (ensure). */
  durationS?: number;
  inputLen: LengthDistribution;
  outputLen: LengthDistribution;
  /** When set, prompts (and output lengths, unless outputLenOverride) come from it. */
  dataset?: Dataset;
  /** With a dataset: use outputLen instead of the dataset's output lengths. */
  outputLenOverride?: boolean;
  /** Dataset entries in a seeded order (default) or in file order. */
  shuffle?: boolean;
  prefixShare?: PrefixShare;
  prefixRepetition?: PrefixRepetition;
  trace?: Trace;
  /** Tokens per hash id of the trace (Mooncake's traces: 512). */
  traceBlockSize?: number;
  /** Trace: arrivals are its timestamps (default), else the arrival process. */
  selfTimed?: boolean;
  /** Share of the requests the harness cancels, [0, 1] (the delay is the target's business). */
  cancelRate?: number;
}

const tokenizer = new ByteTokenizer();

/** Fills out[from, to) with token ids of a mulberry32 stream seeded with `seed32` (a 32-bit seed). */
function fillTokens(out: Int32Array, from: number, to: number, seed32: number): void {
  // Inlined: prompts are the bulk of the random numbers of a run.
  let a = seed32 | 0;
  const scale = (TOKEN_ID_MAX - TOKEN_ID_MIN) / 4294967296;
  for (let at = from; at < to; at++) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[at] = TOKEN_ID_MIN + (((t ^ (t >>> 14)) >>> 0) * scale) | 0; // multiply-shift: no integer division
  }
}

/** A text of one character per token (the byte tokenizer counts it as that many tokens); equal tokens, equal text. */
export function tokensToText(tokens: Int32Array): string {
  let s = '';
  for (let i = 0; i < tokens.length; i++) s += TEXT_ALPHABET[tokens[i]! % TEXT_ALPHABET.length];
  return s;
}

function grown<T extends Int32Array | Float64Array | Uint8Array>(a: T, n: number): T {
  const next = new (a.constructor as new (n: number) => T)(n);
  next.set(a.subarray(0, Math.min(a.length, n)) as never);
  return next;
}

export class Workload {
  /** Requests prepared so far (ensure() adds more). */
  numRequests = 0;
  readonly seed: number;
  /** Prompt tokens of each request (shared prefix included). */
  inputLens: Int32Array;
  /** max_tokens of each request. */
  outputLens: Int32Array;
  /** Seconds from the start of the run, non-decreasing. */
  arrivals: Float64Array;
  /** 1 where the request starts with the shared prefix. */
  sharesPrefix: Uint8Array;
  /** 1 where the harness cancels the request. */
  cancels: Uint8Array;
  readonly prefixTokens: Int32Array;
  readonly prefixText: string;
  /** The kind, for the report. */
  readonly kind: 'synthetic' | 'dataset' | 'prefix_repetition' | 'mooncake_trace';
  /** Dataset entry / trace entry index of each request; prefix group with prefix_repetition. */
  private entryOf: Int32Array;
  private readonly o: WorkloadOptions;
  private readonly schedule: ArrivalSchedule;
  private readonly inRng: Rng;
  private readonly outRng: Rng;
  private readonly pickRng: Rng;
  private readonly cancelRng: Rng;
  /** Dataset: the order entries are taken in. */
  private readonly order: Int32Array | null;
  private readonly traceOffsetMs: number;

  constructor(o: WorkloadOptions) {
    this.o = o;
    this.seed = o.seed;
    this.kind = o.trace ? 'mooncake_trace' : o.prefixRepetition ? 'prefix_repetition' : o.dataset ? 'dataset' : 'synthetic';
    const empty = 0;
    this.inputLens = new Int32Array(empty);
    this.outputLens = new Int32Array(empty);
    this.arrivals = new Float64Array(empty);
    this.sharesPrefix = new Uint8Array(empty);
    this.cancels = new Uint8Array(empty);
    this.entryOf = new Int32Array(empty);
    this.schedule = new ArrivalSchedule(
      { rate: o.requestRate, burstiness: o.burstiness ?? 1, ramp: o.rampUp },
      new Rng(mixSeed(o.seed, STREAM.arrivals)),
      o.numRequests,
      o.durationS,
    );
    this.inRng = new Rng(mixSeed(o.seed, STREAM.input));
    this.outRng = new Rng(mixSeed(o.seed, STREAM.output));
    this.pickRng = new Rng(mixSeed(o.seed, o.prefixRepetition ? STREAM.repetitionGroup : STREAM.prefixPick));
    this.cancelRng = new Rng(mixSeed(o.seed, STREAM.cancel));
    this.traceOffsetMs = o.trace && o.trace.entries.length > 0 ? o.trace.entries[0]!.timestampMs : 0;

    // Shared prefix: the tokens and its text form.
    const ps = o.prefixShare;
    const prefixLen = ps && ps.fraction > 0 && this.kind !== 'prefix_repetition' && this.kind !== 'mooncake_trace' ? ps.tokens : 0;
    const pr = new Rng(mixSeed(o.seed, STREAM.prefixTokens));
    this.prefixTokens = new Int32Array(prefixLen);
    let text = '';
    for (let i = 0; i < prefixLen; i++) {
      this.prefixTokens[i] = pr.int(TOKEN_ID_MIN, TOKEN_ID_MAX - 1);
      text += TEXT_ALPHABET[pr.int(0, TEXT_ALPHABET.length - 1)];
    }
    this.prefixText = text;

    this.order = null;
    if (o.dataset && this.kind === 'dataset') {
      // Requests take the entries in a seeded order (or the file's), cycling when there are more requests.
      const m = o.dataset.entries.length;
      const order = new Int32Array(m);
      for (let i = 0; i < m; i++) order[i] = i;
      if (o.shuffle !== false) {
        const shuffle = new Rng(mixSeed(o.seed, STREAM.datasetOrder));
        for (let i = m - 1; i > 0; i--) {
          const j = shuffle.int(0, i);
          const t = order[i]!;
          order[i] = order[j]!;
          order[j] = t;
        }
      }
      this.order = order;
    }
    this.ensure(o.numRequests);
  }

  /** Extends the workload to n requests (no-op when it has that many). */
  ensure(n: number): void {
    const from = this.numRequests;
    if (n <= from) return;
    this.inputLens = grown(this.inputLens, n);
    this.outputLens = grown(this.outputLens, n);
    this.arrivals = grown(this.arrivals, n);
    this.sharesPrefix = grown(this.sharesPrefix, n);
    this.cancels = grown(this.cancels, n);
    this.entryOf = grown(this.entryOf, n);
    this.numRequests = n;
    this.pickShared(from, n);
    const o = this.o;
    const cancelRate = o.cancelRate ?? 0;
    for (let i = from; i < n; i++) {
      this.arrivals[i] = this.schedule.next();
      if (cancelRate > 0) this.cancels[i] = this.cancelRng.next() < cancelRate ? 1 : 0;
    }
    const prefixLen = this.prefixTokens.length;
    switch (this.kind) {
      case 'mooncake_trace': {
        const entries = o.trace!.entries;
        for (let i = from; i < n; i++) {
          const e = entries[i % entries.length]!;
          this.entryOf[i] = i % entries.length;
          this.inputLens[i] = e.inputLength;
          this.outputLens[i] = o.outputLenOverride ? sampleLength(o.outputLen, this.outRng) : e.outputLength;
          // Trace timestamps are the arrivals (a second pass of the trace starts after the first).
          if (o.selfTimed !== false) {
            const lap = Math.floor(i / entries.length);
            const span = entries[entries.length - 1]!.timestampMs - this.traceOffsetMs;
            this.arrivals[i] = (e.timestampMs - this.traceOffsetMs + lap * span) / 1000;
          }
        }
        break;
      }
      case 'prefix_repetition': {
        const r = o.prefixRepetition!;
        for (let i = from; i < n; i++) {
          this.inputLens[i] = r.prefixLen + r.suffixLen;
          this.outputLens[i] = o.outputLenOverride ? sampleLength(o.outputLen, this.outRng) : r.outputLen;
        }
        break;
      }
      case 'dataset': {
        const entries = o.dataset!.entries;
        const order = this.order!;
        for (let i = from; i < n; i++) {
          const e = order[i % order.length]!;
          this.entryOf[i] = e;
          const entry = entries[e]!;
          this.inputLens[i] = entry.promptLen + (this.sharesPrefix[i] ? prefixLen : 0);
          this.outputLens[i] = o.outputLenOverride || entry.outputLen === 0 ? sampleLength(o.outputLen, this.outRng) : entry.outputLen;
        }
        break;
      }
      case 'synthetic':
        for (let i = from; i < n; i++) {
          this.inputLens[i] = sampleLength(o.inputLen, this.inRng) + (this.sharesPrefix[i] ? prefixLen : 0);
          this.outputLens[i] = sampleLength(o.outputLen, this.outRng);
        }
        break;
    }
  }

  /**
   * Which requests carry the shared prefix (or which repeated prefix each one has). The first batch is an
   * exact split: round(F * n) requests with the prefix, or n / P requests per repeated prefix (vLLM's
   * count), in a seeded order; requests added later (a timed run) draw one by one with the same odds.
   */
  private pickShared(from: number, n: number): void {
    const pick = this.pickRng;
    const rep = this.o.prefixRepetition;
    if (rep) {
      if (from === 0) {
        const idx = this.permutation(n);
        for (let i = 0; i < n; i++) this.entryOf[idx[i]!] = i % rep.numPrefixes;
      } else {
        for (let i = from; i < n; i++) this.entryOf[i] = pick.int(0, rep.numPrefixes - 1);
      }
      return;
    }
    if (this.prefixTokens.length === 0) return;
    const f = this.o.prefixShare!.fraction;
    if (from > 0) {
      for (let i = from; i < n; i++) this.sharesPrefix[i] = pick.next() < f ? 1 : 0;
      return;
    }
    const k = Math.round(f * n);
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

  private permutation(n: number): Int32Array {
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.pickRng.int(0, i);
      const t = idx[i]!;
      idx[i] = idx[j]!;
      idx[j] = t;
    }
    return idx;
  }

  /** The dataset's prompt text of request i (shared prefix included) when its entry has one, else null. */
  promptText(i: number): string | null {
    if (this.kind !== 'dataset') return null;
    const prompt = this.o.dataset!.entries[this.entryOf[i]!]!.prompt;
    if (prompt === undefined) return null;
    return this.sharesPrefix[i] ? this.prefixText + prompt : prompt;
  }

  /** The prompt of request i as text: the dataset's, else its tokens one character each (tokensToText). */
  promptAsText(i: number): string {
    return this.promptText(i) ?? tokensToText(this.promptTokens(i));
  }

  /** The prompt token ids of request i: text prompts through the byte tokenizer, else seeded synthetic ids. */
  promptTokens(i: number): Int32Array {
    const text = this.promptText(i);
    if (text !== null) return tokenizer.encode(text);
    const len = this.inputLens[i]!;
    const out = new Int32Array(len);
    const seed = this.seed;
    if (this.kind === 'mooncake_trace') return this.traceTokens(i, out);
    if (this.kind === 'prefix_repetition') {
      const r = this.o.prefixRepetition!;
      fillTokens(out, 0, r.prefixLen, mixSeed(seed, STREAM.repetitionPrefix, this.entryOf[i]!));
      fillTokens(out, r.prefixLen, len, mixSeed(seed, STREAM.prompt, i));
      return out;
    }
    let at = 0;
    if (this.sharesPrefix[i]) {
      out.set(this.prefixTokens);
      at = this.prefixTokens.length;
    }
    fillTokens(out, at, len, mixSeed(seed, STREAM.prompt, i));
    return out;
  }

  /**
   * A trace request's prompt: block k holds the tokens of hash id hash_ids[k] (the same tokens wherever
   * that id appears), `traceBlockSize` each, the last one cut to the input length; tokens beyond the last
   * hash id's block are the request's own.
   */
  private traceTokens(i: number, out: Int32Array): Int32Array {
    const e = this.o.trace!.entries[this.entryOf[i]!]!;
    const block = this.o.traceBlockSize ?? 512;
    const len = out.length;
    let at = 0;
    for (const h of e.hashIds) {
      if (at >= len) break;
      const end = Math.min(len, at + block);
      fillTokens(out, at, end, mixSeed(this.seed, STREAM.traceBlock, h));
      at = end;
    }
    if (at < len) fillTokens(out, at, len, mixSeed(this.seed, STREAM.prompt, i));
    return out;
  }

  /** The longest prompt + output of the requests prepared so far (tokens). */
  longestSequence(): number {
    let longest = 0;
    for (let i = 0; i < this.numRequests; i++) longest = Math.max(longest, this.inputLens[i]! + this.outputLens[i]!);
    return longest;
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
