/**
 * Streamed detokenization: one decoder per request, fed the ids of each chunk, returning the text those ids
 * complete. The concatenation of everything it returns (flush included) equals the one-shot decode of all the
 * ids, because the one-shot decode is this same decoder run over all of them (hf-tokenizer.ts), and tests check
 * both against the tokenizers library's own decode.
 *
 * - byte-level: the ids' bytes go into one streaming UTF-8 decoder, which holds an incomplete character back
 *   until its last byte arrives (never a broken character, never a lost or doubled space); ids that are whole
 *   characters skip it;
 * - pieces: texts are emitted as they come; a run of `<0xNN>` byte tokens is held until the first token that
 *   is not a byte (the library decides valid-or-U+FFFD over the whole run); a leading Strip applies to the
 *   start of the whole text, and Metaspace's first-token rule to the first token decoded;
 * - generic: vLLM's incremental algorithm over the library's decoder: decode the last emitted tokens with and
 *   without the new ones and emit the difference, waiting while the text ends in U+FFFD. Exact for decoders
 *   whose text of a prefix is a prefix of the text (all the common ones); best effort otherwise.
 * Special tokens are left out first when skipSpecialTokens is set (as the library does).
 */
import type { IncrementalDecoder } from '../tokenizer.js';
import type { ByteLevelPlan, PiecePlan } from './decoder-plan.js';
import { Utf8Stream } from './utf8-stream.js';

/**
 * The byte-level decoder; `skip` flags ids left out (special tokens), null to keep every id. An id that is
 * whole characters, met with no character half-read, is its text; any other goes byte by byte through the
 * streaming UTF-8 decoder (the same result: UTF-8 decoding restarts cleanly at a character boundary).
 */
export class ByteLevelDecoder implements IncrementalDecoder {
  private readonly utf8 = new Utf8Stream();

  constructor(
    private readonly plan: ByteLevelPlan,
    private readonly skip: Uint8Array | null,
  ) {}

  push(ids: ArrayLike<number>, start = 0, end = ids.length): string {
    const { bytes, offsets, texts } = this.plan;
    const vocab = texts.length;
    let out = '';
    for (let i = start; i < end; i++) {
      const id = ids[i]!;
      if (id < 0 || id >= vocab || (this.skip !== null && this.skip[id] === 1)) continue;
      const text = texts[id]!;
      if (text !== null && this.utf8.clean) out += text;
      else out += this.utf8.decode(bytes, offsets[id]!, offsets[id + 1]!);
    }
    return out;
  }

  flush(): string {
    return this.utf8.flush();
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** ByteFallback's rule for a run of byte tokens: the UTF-8 string when valid, else one U+FFFD per byte. */
function byteRunText(run: number[]): string {
  try {
    return strictUtf8.decode(Uint8Array.from(run));
  } catch {
    return '\uFFFD'.repeat(run.length);
  }
}

/** The SentencePiece-family decoder (Replace / ByteFallback / Fuse / Strip, or Metaspace). */
export class PieceDecoder implements IncrementalDecoder {
  private run: number[] = [];
  private started = false;
  private stripLeft: number;

  constructor(
    private readonly plan: PiecePlan,
    private readonly skip: Uint8Array | null,
  ) {
    this.stripLeft = plan.stripLeading;
  }

  push(ids: ArrayLike<number>, start = 0, end = ids.length): string {
    const { pieces, byteOf, metaspaceFirst } = this.plan;
    let out = '';
    for (let i = start; i < end; i++) {
      const id = ids[i]!;
      if (id < 0 || id >= pieces.length || (this.skip !== null && this.skip[id] === 1)) continue;
      const b = byteOf[id]!;
      if (b >= 0) {
        this.run.push(b);
        this.started = true;
        continue;
      }
      if (this.run.length > 0) {
        out += byteRunText(this.run);
        this.run = [];
      }
      if (!this.started && metaspaceFirst !== null) out += (this.plan.tokens[id] ?? '').split(metaspaceFirst).join('');
      else out += pieces[id]!;
      this.started = true;
    }
    return this.stripStart(out);
  }

  flush(): string {
    let out = '';
    if (this.run.length > 0) {
      out = byteRunText(this.run);
      this.run = [];
    }
    out = this.stripStart(out);
    this.started = false;
    this.stripLeft = this.plan.stripLeading;
    return out;
  }

  /** Strip after Fuse: up to stripLeading copies of the content character at the start of the whole text. */
  private stripStart(text: string): string {
    if (this.stripLeft === 0 || text === '') return text;
    const c = this.plan.stripContent;
    let i = 0;
    while (i < this.stripLeft && text.startsWith(c, i)) i += c.length;
    this.stripLeft = i < text.length ? 0 : this.stripLeft - i / c.length;
    return text.slice(i);
  }
}

/** The generic decoder: `decodeIds` is the library's decode of already filtered ids. */
export class WindowDecoder implements IncrementalDecoder {
  private ids: number[] = [];
  private prefix = 0;
  private read = 0;

  constructor(
    private readonly decodeIds: (ids: readonly number[]) => string,
    private readonly skip: Uint8Array | null,
    private readonly vocab: number,
  ) {}

  push(newIds: ArrayLike<number>, start = 0, end = newIds.length): string {
    let added = false;
    for (let i = start; i < end; i++) {
      const id = newIds[i]!;
      if (id < 0 || id >= this.vocab || (this.skip !== null && this.skip[id] === 1)) continue;
      this.ids.push(id);
      added = true;
    }
    if (!added) return '';
    const before = this.decodeIds(this.ids.slice(this.prefix, this.read));
    const now = this.decodeIds(this.ids.slice(this.prefix));
    // Wait while the text ends in a replacement character: the next token may complete it.
    if (now.length <= before.length || now.endsWith('\uFFFD')) return '';
    // The tokens just emitted are the context of the next window.
    this.prefix = this.read;
    this.read = this.ids.length;
    return now.slice(before.length);
  }

  flush(): string {
    const before = this.decodeIds(this.ids.slice(this.prefix, this.read));
    const now = this.decodeIds(this.ids.slice(this.prefix));
    this.ids = [];
    this.prefix = 0;
    this.read = 0;
    return now.slice(before.length);
  }
}
