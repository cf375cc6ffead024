/**
 * Generated tokens -> response text. Decodes incrementally (a UTF-8 character split across tokens is emitted
 * whole) and, when the request has stop strings, holds back the last tokens that could still turn out to be a
 * stop sequence: the engine includes a matched stop word in its output, OpenAI's API does not, so on a
 * `stop_words` finish the matched sequence is removed before it is ever sent.
 */
import type { FinishReason } from '../engine.js';
import type { IncrementalDecoder, Tokenizer } from '../tokenizer.js';

export class OutputAssembler {
  /** Every generated token (what usage.completion_tokens counts, stop sequence included). */
  tokenCount = 0;
  private readonly decoder: IncrementalDecoder;
  private readonly holdback: number;
  private pending: number[] = [];

  constructor(
    tokenizer: Tokenizer,
    private readonly stopWords: readonly Int32Array[],
  ) {
    this.decoder = tokenizer.createDecoder();
    this.holdback = stopWords.reduce((m, w) => Math.max(m, w.length), 0);
  }

  /** Feeds new tokens; returns the text that is now final (possibly ''). */
  push(tokens: ArrayLike<number>): string {
    this.tokenCount += tokens.length;
    if (this.holdback === 0) return this.decoder.push(tokens);
    for (let i = 0; i < tokens.length; i++) this.pending.push(tokens[i]!);
    const release = this.pending.length - this.holdback;
    if (release <= 0) return '';
    return this.decoder.push(this.pending.splice(0, release));
  }

  /** The request finished: returns the remaining text, without the stop sequence when one matched. */
  finish(reason: FinishReason | null): string {
    let rest = this.pending;
    this.pending = [];
    if (reason === 'stop_words') {
      let strip = 0;
      for (const w of this.stopWords) {
        if (w.length > strip && endsWith(rest, w)) strip = w.length;
      }
      rest = rest.slice(0, rest.length - strip);
    }
    return this.decoder.push(rest) + this.decoder.flush();
  }
}

function endsWith(seq: readonly number[], suffix: Int32Array): boolean {
  if (suffix.length > seq.length) return false;
  const off = seq.length - suffix.length;
  for (let i = 0; i < suffix.length; i++) if (seq[off + i] !== suffix[i]) return false;
  return true;
}
