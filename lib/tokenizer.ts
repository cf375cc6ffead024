/**
 * Text <-> token ids for the HTTP layer. The engine works on token ids only; a Tokenizer turns prompts into
 * ids, generated ids back into text, stop strings into stop-word token sequences, and (with its chat
 * template) a conversation into one prompt. A model's own Hugging Face tokenizer is loaded from its folder by
 * loadTokenizer() (lib/tokenizer/, docs/worker.md); the byte tokenizer below is the simulator's default.
 *
 * ByteTokenizer is the simulator's tokenizer, documented in docs/worker.md:
 * - ids 0, 1, 2 are special (pad, bos, eos); the end id it reports is 2 (eos);
 * - every other byte of the UTF-8 text is one token: id = byte + 3 (so ids 3..258 are the 256 byte values);
 * - decoding: special ids (0..2) produce no text; byte ids produce their byte (a multi-byte UTF-8 character
 *   spread over several tokens is assembled before it is emitted; an invalid byte sequence becomes U+FFFD);
 *   an id >= 259 (outside the byte range: the simulator samples from its whole vocabulary, 32000 ids by
 *   default) is rendered as one printable ASCII character, ALIAS_ALPHABET[(id - 259) % 32], so that simulated
 *   output reads like text. Such an alias is not the character's own token (encode() never produces it), so
 *   it never matches a stop string: stop strings match the byte tokens the engine emits.
 * Encoding is lossless and decode(encode(s)) === s for every well-formed string.
 */

import { chatMlTemplate, type ChatTemplate } from './tokenizer/chat-template.js';
import { Utf8Stream } from './tokenizer/utf8-stream.js';

/**
 * Turns generated ids into text a piece at a time; never splits a UTF-8 character between two pieces, and
 * the concatenation of every piece (flush included) equals decode() of all the ids.
 */
export interface IncrementalDecoder {
  /**
   * Text completed by these ids (may be '' while a multi-byte character is incomplete): tokens[start, end),
   * all of them by default (a range spares the caller a subarray per call when streaming).
   */
  push(tokens: ArrayLike<number>, start?: number, end?: number): string;
  /** Text still held back (an incomplete character at the end becomes U+FFFD); the decoder can be reused. */
  flush(): string;
}

export interface EncodeOptions {
  /** Add the special tokens the tokenizer adds around a text (a bos token, ...); default true. */
  addSpecialTokens?: boolean;
}

/** vLLM's detokenization parameters. */
export interface DecodeOptions {
  /** Leave special tokens (bos, eos, <|eot_id|>, ...) out of the text; default true. */
  skipSpecialTokens?: boolean;
  /**
   * Keep the space a decoder puts between two added tokens; default true. Only decoders that join tokens
   * with spaces (WordPiece-style) put one there; byte-level and SentencePiece decoders never do.
   */
  spacesBetweenSpecialTokens?: boolean;
}

export interface Tokenizer {
  /** A short name for logs (e.g. `byte`, or the tokenizer folder's name). */
  readonly name: string;
  /** Ids are in [0, vocabSize). */
  readonly vocabSize: number;
  /** The end-of-sequence id passed to the engine as endId. */
  readonly eosId: number;
  /** Further ids that end a request (generation_config.json's other eos_token_id entries), passed as stop words. */
  readonly extraEndIds: readonly number[];
  readonly bosId: number | null;
  readonly padId: number | null;
  /** The model's context length when its files state one (tokenizer_config.json model_max_length), else null. */
  readonly modelMaxLength: number | null;
  /** The chat template of the model, or null when its folder has none. */
  readonly chatTemplate: ChatTemplate | null;
  /** Encodes a text; a tokenizer whose library encodes off the main thread returns a Promise. */
  encode(text: string, options?: EncodeOptions): Int32Array | Promise<Int32Array>;
  decode(tokens: ArrayLike<number>, options?: DecodeOptions): string;
  createDecoder(options?: DecodeOptions): IncrementalDecoder;
  /** The vocabulary's string of one id (`Ġworld`, `<0x0A>`, `<|eot_id|>`), null outside the vocabulary. */
  idToToken(id: number): string | null;
}

export const BYTE_TOKEN_OFFSET = 3;
export const PAD_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
/** The first id past the byte range. */
export const BYTE_VOCAB_SIZE = BYTE_TOKEN_OFFSET + 256;
/** What ids >= BYTE_VOCAB_SIZE render as: 32 characters (the 26 letters by English frequency, 5 spaces, a period). */
export const ALIAS_ALPHABET = 'etaoinshrdlucmfwypvbgkqjxz     .';

const encoder = new TextEncoder();

/** Maps one id to the byte it renders as, or -1 when it renders as nothing (a special id or a negative id). */
function byteOf(id: number): number {
  if (id >= BYTE_VOCAB_SIZE) return ALIAS_ALPHABET.charCodeAt((id - BYTE_VOCAB_SIZE) % ALIAS_ALPHABET.length);
  if (id >= BYTE_TOKEN_OFFSET) return id - BYTE_TOKEN_OFFSET;
  return -1;
}

/** One byte at a time through the streaming UTF-8 decoder (no native call per token). */
class ByteDecoder implements IncrementalDecoder {
  private readonly utf8 = new Utf8Stream();
  private readonly one = new Uint8Array(1);

  push(tokens: ArrayLike<number>, start = 0, end = tokens.length): string {
    let out = '';
    for (let i = start; i < end; i++) {
      const b = byteOf(tokens[i]!);
      if (b < 0) continue;
      if (b < 0x80 && this.utf8.clean) out += String.fromCharCode(b);
      else {
        this.one[0] = b;
        out += this.utf8.decode(this.one, 0, 1);
      }
    }
    return out;
  }

  flush(): string {
    return this.utf8.flush();
  }
}

const SPECIAL_NAMES = ['<pad>', '<s>', '</s>'];

/** The byte tokenizer; decode options do not apply (its special ids never have text). */
export class ByteTokenizer implements Tokenizer {
  readonly name = 'byte';
  readonly vocabSize = BYTE_VOCAB_SIZE;
  readonly eosId = EOS_ID;
  readonly extraEndIds: readonly number[] = [];
  readonly bosId = BOS_ID;
  readonly padId = PAD_ID;
  readonly modelMaxLength = null;

  /** The ChatML layout of docs/worker.md (the markers are plain text to this tokenizer). */
  get chatTemplate(): ChatTemplate {
    return chatMlTemplate();
  }

  idToToken(id: number): string | null {
    if (!Number.isInteger(id) || id < 0) return null;
    if (id < BYTE_TOKEN_OFFSET) return SPECIAL_NAMES[id]!;
    if (id < BYTE_VOCAB_SIZE) return `<0x${(id - BYTE_TOKEN_OFFSET).toString(16).toUpperCase().padStart(2, '0')}>`;
    return String.fromCharCode(byteOf(id));
  }

  encode(text: string): Int32Array {
    const bytes = encoder.encode(text);
    const ids = new Int32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) ids[i] = bytes[i]! + BYTE_TOKEN_OFFSET;
    return ids;
  }

  decode(tokens: ArrayLike<number>): string {
    const d = new ByteDecoder();
    return d.push(tokens) + d.flush();
  }

  createDecoder(): IncrementalDecoder {
    return new ByteDecoder();
  }
}
