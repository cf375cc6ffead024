/**
 * tokenizer.json's `decoder`, compiled into per-id tables so that streamed detokenization is a table lookup
 * per token rather than a library call over a window of tokens. The tables reproduce the tokenizers
 * library's decoders (the Rust crate's decode_chain semantics) for the families real LLM vocabularies use:
 *
 * - `byte-level` (GPT-2, Llama 3, Qwen, Mistral Nemo: a `ByteLevel` decoder): every token string maps back
 *   to bytes through GPT-2's byte<->unicode alphabet (a token with a character outside it keeps its own UTF-8
 *   bytes), and all the bytes are decoded as UTF-8 at once, invalid sequences becoming U+FFFD. Most ids are
 *   whole characters: their text is kept too, so they cost a string append.
 * - `pieces` (SentencePiece: Llama 2, Mistral 7B, Gemma, Phi-3): `Replace` steps with a plain pattern
 *   (`▁` -> space), then `ByteFallback` (a run of `<0xNN>` tokens is one UTF-8 string if valid, else one
 *   U+FFFD per byte), `Fuse`, and a `Strip` of leading spaces of the whole text; or a `Metaspace` decoder
 *   (`▁` -> space, and the first token loses its `▁`s unless prepend_scheme is "never").
 * - `generic`: any other decoder (a Regex replace, WordPiece, CTC, ...): the library's decoder runs over a
 *   sliding window of tokens (see detokenizer.ts).
 */

export interface ByteLevelPlan {
  kind: 'byte-level';
  /** The bytes of every id, back to back; id i is bytes[offsets[i] .. offsets[i + 1]). */
  bytes: Uint8Array;
  offsets: Uint32Array;
  /** The text of every id whose bytes are whole valid UTF-8 on their own (most ids), else null. */
  texts: (string | null)[];
}

export interface PiecePlan {
  kind: 'pieces';
  /** The text of every id after the Replace / Metaspace mapping ('' for byte tokens and unknown ids). */
  pieces: string[];
  /** The byte of a `<0xNN>` token (ByteFallback), else -1. */
  byteOf: Int16Array;
  /** Strip: leading `stripContent` characters removed from the start of the whole text (at most this many). */
  stripLeading: number;
  stripContent: string;
  /** Metaspace: the first token's text drops every replacement character (instead of turning it into a space). */
  metaspaceFirst: string | null;
  /** The raw token strings (for the first token under Metaspace). */
  tokens: readonly (string | null)[];
}

export interface GenericPlan {
  kind: 'generic';
  /** Why the tables do not apply (for logs and docs). */
  reason: string;
}

export type DecoderPlan = ByteLevelPlan | PiecePlan | GenericPlan;

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => v !== null && typeof v === 'object' && !Array.isArray(v);

/** GPT-2's printable alphabet: byte -> the character a byte-level vocabulary writes it as, inverted. */
function byteLevelInverse(): Map<number, number> {
  const inv = new Map<number, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    inv.set(printable ? b : 256 + extra++, b);
  }
  return inv;
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function compileByteLevel(tokens: readonly (string | null)[]): ByteLevelPlan {
  const inv = byteLevelInverse();
  const parts: Uint8Array[] = [];
  const offsets = new Uint32Array(tokens.length + 1);
  let total = 0;
  for (let id = 0; id < tokens.length; id++) {
    const t = tokens[id];
    let b: Uint8Array;
    if (t === null || t === undefined) b = new Uint8Array(0);
    else {
      const mapped: number[] = [];
      let all = true;
      for (const ch of t) {
        const v = inv.get(ch.codePointAt(0)!);
        if (v === undefined) {
          all = false;
          break;
        }
        mapped.push(v);
      }
      b = all ? Uint8Array.from(mapped) : utf8.encode(t);
    }
    parts.push(b);
    offsets[id] = total;
    total += b.length;
  }
  offsets[tokens.length] = total;
  const bytes = new Uint8Array(total);
  const texts = new Array<string | null>(parts.length);
  for (let id = 0; id < parts.length; id++) {
    bytes.set(parts[id]!, offsets[id]!);
    try {
      texts[id] = strictUtf8.decode(parts[id]!);
    } catch {
      texts[id] = null;
    }
  }
  return { kind: 'byte-level', bytes, offsets, texts };
}

/** The byte of a ByteFallback token: `<0x` + two characters u8::from_str_radix(16) accepts + `>`. */
function fallbackByte(token: string): number {
  if (token.length !== 6 || !token.startsWith('<0x') || !token.endsWith('>')) return -1;
  const digits = token.slice(3, 5);
  if (!/^(?:[0-9A-Fa-f]{2}|\+[0-9A-Fa-f])$/.test(digits)) return -1;
  return parseInt(digits.replace('+', ''), 16);
}

function stepsOf(decoder: Dict): Dict[] | null {
  if (decoder.type !== 'Sequence') return [decoder];
  const list = decoder.decoders;
  if (!Array.isArray(list) || !list.every(isDict)) return null;
  return list as Dict[];
}

interface PieceSteps {
  replaces: Array<[string, string]>;
  byteFallback: boolean;
  fused: boolean;
  strip: { content: string; start: number } | null;
  metaspace: { replacement: string; first: boolean } | null;
}

/** Reads a Sequence of piece steps in the order the tables can reproduce; null for anything else. */
function pieceSteps(steps: Dict[]): PieceSteps | string {
  const s: PieceSteps = { replaces: [], byteFallback: false, fused: false, strip: null, metaspace: null };
  for (const step of steps) {
    switch (step.type) {
      case 'Replace': {
        const pattern = isDict(step.pattern) ? step.pattern.String : undefined;
        if (typeof pattern !== 'string' || pattern === '' || typeof step.content !== 'string') return 'a Replace decoder with a regex pattern';
        if (s.byteFallback || s.fused || s.metaspace) return 'a Replace decoder after ByteFallback, Fuse or Metaspace';
        s.replaces.push([pattern, step.content]);
        break;
      }
      case 'ByteFallback':
        if (s.byteFallback || s.fused || s.metaspace) return 'ByteFallback after Fuse or Metaspace';
        s.byteFallback = true;
        break;
      case 'Fuse':
        s.fused = true;
        break;
      case 'Strip': {
        const { content, start, stop } = step;
        if (!s.fused || typeof content !== 'string' || [...content].length !== 1 || stop !== 0 || typeof start !== 'number') return 'a Strip decoder that is not a leading strip after Fuse';
        if (s.strip) return 'two Strip decoders';
        s.strip = { content, start };
        break;
      }
      case 'Metaspace': {
        if (steps.length !== 1) return 'Metaspace combined with other decoders';
        const replacement = step.replacement;
        if (typeof replacement !== 'string' || [...replacement].length !== 1) return 'a Metaspace decoder without a one-character replacement';
        // Newer files say prepend_scheme ("always" | "first" | "never"); older ones add_prefix_space (true = "always").
        const scheme = typeof step.prepend_scheme === 'string' ? step.prepend_scheme : step.add_prefix_space === false ? 'never' : 'always';
        s.metaspace = { replacement, first: scheme !== 'never' };
        break;
      }
      default:
        return `a ${String(step.type)} decoder`;
    }
  }
  return s;
}

function compilePieces(s: PieceSteps, tokens: readonly (string | null)[]): PiecePlan {
  const pieces = new Array<string>(tokens.length);
  const byteOf = new Int16Array(tokens.length).fill(-1);
  for (let id = 0; id < tokens.length; id++) {
    let t = tokens[id] ?? '';
    for (const [from, to] of s.replaces) t = t.split(from).join(to);
    if (s.metaspace) t = t.split(s.metaspace.replacement).join(' ');
    const b = s.byteFallback ? fallbackByte(t) : -1;
    byteOf[id] = b;
    pieces[id] = b >= 0 ? '' : t;
  }
  return {
    kind: 'pieces',
    pieces,
    byteOf,
    stripLeading: s.strip?.start ?? 0,
    stripContent: s.strip?.content ?? ' ',
    metaspaceFirst: s.metaspace?.first ? s.metaspace.replacement : null,
    tokens,
  };
}

/** The plan for tokenizer.json's `decoder` (null: none, tokens joined by spaces, which the generic path does). */
export function compileDecoderPlan(decoder: unknown, tokens: readonly (string | null)[]): DecoderPlan {
  if (!isDict(decoder)) return { kind: 'generic', reason: 'no decoder' };
  const steps = stepsOf(decoder);
  if (steps === null) return { kind: 'generic', reason: 'a Sequence decoder without a decoders list' };
  if (steps.length === 1 && steps[0]!.type === 'ByteLevel') return compileByteLevel(tokens);
  const s = pieceSteps(steps);
  if (typeof s === 'string') return { kind: 'generic', reason: s };
  return compilePieces(s, tokens);
}
