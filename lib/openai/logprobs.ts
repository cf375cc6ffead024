/**
 * Log probabilities in OpenAI's shapes. The executor returns the log probability of each sampled token
 * (OutputConfig::returnLogProbs), not the alternatives, so only the sampled token's is offered:
 * - chat: `logprobs: true` (with `top_logprobs` 0 or absent) -> choices[].logprobs = {"content": [{"token",
 *   "logprob", "bytes", "top_logprobs": []}, ...]};
 * - completions: `logprobs: 0` -> choices[].logprobs = {"tokens", "token_logprobs", "top_logprobs": null,
 *   "text_offset"}.
 * Non-streaming responses only (streamed deltas do not carry them: a 400 says so).
 */
import type { Tokenizer } from '../tokenizer.js';
import { unsupported } from './errors.js';
import { expect, type EndpointKind } from './validate.js';

type Dict = Record<string, unknown>;

/** Whether the request asks for log probabilities; a value this server cannot honour is a 400 naming it. */
export function parseLogprobs(kind: EndpointKind, body: Dict, stream: boolean): boolean {
  const v = body.logprobs;
  let wanted: boolean;
  if (kind === 'chat') {
    if (v !== undefined && v !== null && typeof v !== 'boolean') throw expect('logprobs', 'a boolean', v);
    wanted = v === true;
    const top = body.top_logprobs;
    if (top !== undefined && top !== null) {
      if (typeof top !== 'number' || !Number.isInteger(top) || top < 0 || top > 20) throw expect('top_logprobs', 'an integer in [0, 20]', top);
      if (top > 0) throw unsupported('top_logprobs', `'top_logprobs' above 0 is not supported: the executor returns the sampled token's log probability only, got ${top}`);
      if (!wanted) throw unsupported('top_logprobs', "'top_logprobs' needs 'logprobs': true");
    }
  } else {
    if (v === undefined || v === null) return false;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 5) throw expect('logprobs', 'an integer in [0, 5]', v);
    if (v > 0) throw unsupported('logprobs', `'logprobs' above 0 is not supported: the executor returns the sampled token's log probability only, got ${v}`);
    wanted = true;
  }
  if (wanted && stream) throw unsupported('logprobs', "'logprobs' is supported without 'stream' only");
  return wanted;
}

function tokenText(tokenizer: Tokenizer, id: number): string {
  return tokenizer.decode(Int32Array.of(id), { skipSpecialTokens: false });
}

/** A chat choice's `logprobs`. */
export function chatLogprobs(tokenizer: Tokenizer, tokens: Int32Array, logProbs: Float32Array): object {
  const content: object[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokenText(tokenizer, tokens[i]!);
    content.push({ token, logprob: logProbs[i]!, bytes: Array.from(Buffer.from(token, 'utf8')), top_logprobs: [] });
  }
  return { content };
}

/** A completion choice's `logprobs` (OpenAI's legacy shape); `textOffset` is where the generated text starts. */
export function completionLogprobs(tokenizer: Tokenizer, tokens: Int32Array, logProbs: Float32Array, textOffset = 0): object {
  const out = { tokens: [] as string[], token_logprobs: [] as number[], top_logprobs: null, text_offset: [] as number[] };
  let at = textOffset;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokenText(tokenizer, tokens[i]!);
    out.tokens.push(token);
    out.token_logprobs.push(logProbs[i]!);
    out.text_offset.push(at);
    at += token.length;
  }
  return out;
}
