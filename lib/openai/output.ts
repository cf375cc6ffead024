/**
 * Generated tokens -> response text, per choice. Decodes incrementally (tokenizer.createDecoder: never a
 * broken character, the pieces add up to the one-shot decode) and ends the output where the request says:
 * - a stop string, matched on the text across token boundaries (lib/tokenizer/stop-strings.ts): the text is
 *   cut before it (after it with include_stop_str_in_output) and nothing of it is ever streamed;
 * - a stop token id (the request's stop_token_ids, the model's further end ids): its text is left out (unless
 *   include_stop_str_in_output).
 * When the output ends this way `stopped` turns true and the caller cancels the engine request; usage counts
 * the tokens up to and including the one that ended it. Without stop strings or stop ids a chunk is decoded
 * in one call; with them, token by token, so the count is exact.
 */
import type { DecodeOptions, IncrementalDecoder, Tokenizer } from '../tokenizer.js';
import { StopStringMatcher } from '../tokenizer/stop-strings.js';

export interface OutputOptions {
  stop?: readonly string[];
  includeStopStr?: boolean;
  stopTokenIds?: readonly number[];
  decode?: DecodeOptions;
}

export class OutputAssembler {
  /** Tokens that count as output (usage.completion_tokens): all of them, or those up to the stop. */
  tokenCount = 0;
  /** A stop string or stop token id ended the output; later tokens are ignored. */
  stopped = false;
  private readonly decoder: IncrementalDecoder;
  private readonly matcher: StopStringMatcher | null;
  private readonly stopIds: ReadonlySet<number> | null;
  private readonly includeStop: boolean;
  /** The one-token chunk fed to the decoder when going token by token (reused: no allocation per token). */
  private readonly one = new Int32Array(1);

  constructor(tokenizer: Tokenizer, options: OutputOptions = {}) {
    this.decoder = tokenizer.createDecoder(options.decode);
    this.includeStop = options.includeStopStr ?? false;
    this.matcher = options.stop && options.stop.length > 0 ? new StopStringMatcher(options.stop, this.includeStop) : null;
    this.stopIds = options.stopTokenIds && options.stopTokenIds.length > 0 ? new Set(options.stopTokenIds) : null;
  }

  /** Feeds new tokens, tokens[start, end) (all by default); returns the text that is now final (possibly ''). */
  push(tokens: Int32Array, start = 0, end = tokens.length): string {
    if (this.stopped) return '';
    if (this.matcher === null && this.stopIds === null) {
      this.tokenCount += end - start;
      return this.decoder.push(tokens, start, end);
    }
    let out = '';
    for (let i = start; i < end; i++) {
      this.tokenCount++;
      const one = this.one;
      one[0] = tokens[i]!;
      if (this.stopIds !== null && this.stopIds.has(tokens[i]!)) {
        this.stopped = true;
        if (this.includeStop) out += this.filter(this.decoder.push(one));
        return out + this.drain();
      }
      out += this.filter(this.decoder.push(one));
      if (this.matcher?.matched != null) {
        this.stopped = true;
        return out;
      }
    }
    return out;
  }

  /** The request finished: returns the text still held back (nothing after a stop). */
  finish(): string {
    if (this.stopped) return '';
    const out = this.drain();
    if (this.matcher?.matched != null) this.stopped = true;
    return out;
  }

  private filter(text: string): string {
    return this.matcher === null ? text : this.matcher.push(text);
  }

  /** The decoder's held bytes, through the stop-string matcher, then what the matcher holds. */
  private drain(): string {
    const tail = this.filter(this.decoder.flush());
    return this.matcher === null ? tail : tail + this.matcher.flush();
  }
}
