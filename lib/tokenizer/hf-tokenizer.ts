/**
 * A model's Hugging Face tokenizer behind the package's Tokenizer interface. Encoding runs in the `tokenizers`
 * library (Hugging Face's Rust tokenizers as an N-API addon; it encodes on the libuv thread pool, so a long
 * prompt does not hold the event loop). Decoding, one-shot and streamed, runs on per-id tables compiled from
 * tokenizer.json's decoder (decoder-plan.ts, detokenizer.ts), with the library's own decoder as the fallback
 * for decoders the tables do not cover. Why this library: BENCHMARKS.md ("Tokenizer library").
 */
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { TokenizerError } from '../errors.js';
import type { DecodeOptions, EncodeOptions, IncrementalDecoder, Tokenizer } from '../tokenizer.js';
import { ChatTemplate } from './chat-template.js';
import { compileDecoderPlan, type DecoderPlan } from './decoder-plan.js';
import { ByteLevelDecoder, PieceDecoder, WindowDecoder } from './detokenizer.js';
import { TOKENIZER_FILE, type ModelFolder } from './model-folder.js';
import { join } from 'node:path';
import type { Decoder as RustDecoder } from 'tokenizers';

type Dict = Record<string, unknown>;

/** What the post-processor adds around a text, and what tokenizer_config.json's add_bos/eos_token change. */
interface SpecialTokenPolicy {
  prependBos: number | null;
  dropLeadingBos: number | null;
  appendEos: number | null;
  dropTrailingEos: number | null;
}

export class HfTokenizer implements Tokenizer {
  readonly name: string;
  readonly vocabSize: number;
  readonly eosId: number;
  readonly extraEndIds: readonly number[];
  readonly bosId: number | null;
  readonly padId: number | null;
  readonly modelMaxLength: number | null;
  readonly chatTemplate: ChatTemplate | null;
  /** The folder it was loaded from. */
  readonly dir: string;
  /** The streamed decoder this vocabulary gets: `byte-level`, `pieces` or `generic` (decoder-plan.ts). */
  readonly decoderKind: DecoderPlan['kind'];

  private readonly tokens: (string | null)[];
  /** 1 for special tokens (left out by skipSpecialTokens), per id. */
  private readonly special: Uint8Array;
  /** 1 for every added token (special or not), per id. */
  private readonly added: Uint8Array;
  private readonly plan: DecoderPlan;
  private readonly rustDecoder: RustDecoder | null;
  private policy: SpecialTokenPolicy = { prependBos: null, dropLeadingBos: null, appendEos: null, dropTrailingEos: null };

  /** Use loadTokenizer(dir) (lib/tokenizer/load.ts); `forceGeneric` is for tests of the generic decoder. */
  constructor(
    private readonly rust: RustTokenizer,
    private readonly folder: ModelFolder,
    options: { forceGeneric?: boolean } = {},
  ) {
    const tokPath = join(folder.dir, TOKENIZER_FILE);
    this.dir = folder.dir;
    this.name = folder.dir.replace(/\/+$/, '').split('/').pop() || folder.dir;
    const vocab = rust.getVocab(true);
    let size = 0;
    for (const id of Object.values(vocab)) if (id + 1 > size) size = id + 1;
    this.vocabSize = size;
    this.tokens = new Array<string | null>(size).fill(null);
    for (const [token, id] of Object.entries(vocab)) this.tokens[id] = token;
    this.special = new Uint8Array(size);
    this.added = new Uint8Array(size);
    const addedTokens = folder.tokenizerJson.added_tokens;
    if (Array.isArray(addedTokens)) {
      for (const t of addedTokens as Dict[]) {
        if (typeof t?.id !== 'number' || t.id < 0 || t.id >= size) continue;
        this.added[t.id] = 1;
        if (t.special === true) this.special[t.id] = 1;
      }
    }

    // The end id must be in the vocabulary; bos and pad only inform (transformers would add a missing one).
    const idOf = (key: keyof ModelFolder['specialTokens'], required: boolean): number | null => {
      const text = folder.specialTokens[key];
      if (text === undefined) return null;
      const id = rust.tokenToId(text);
      if (id !== null && id !== undefined) return id;
      if (!required) return null;
      throw new TokenizerError(`${folder.specialTokenFiles[key]}: ${key} ${JSON.stringify(text)} is not in the vocabulary of ${tokPath}`);
    };
    const eos = idOf('eos_token', true) ?? folder.generationEosIds[0] ?? null;
    if (eos === null) {
      throw new TokenizerError(`${folder.dir} names no end-of-sequence token: tokenizer_config.json has no eos_token and generation_config.json no eos_token_id`);
    }
    for (const id of folder.generationEosIds) {
      if (id >= size) throw new TokenizerError(`${join(folder.dir, 'generation_config.json')}: eos_token_id ${id} is outside the vocabulary (${size} ids)`);
    }
    this.eosId = eos;
    this.extraEndIds = [...new Set(folder.generationEosIds)].filter((id) => id !== eos);
    this.bosId = idOf('bos_token', false);
    this.padId = idOf('pad_token', false);
    this.modelMaxLength = folder.modelMaxLength;

    this.plan = options.forceGeneric ? { kind: 'generic', reason: 'forced' } : compileDecoderPlan(folder.tokenizerJson.decoder, this.tokens);
    this.decoderKind = this.plan.kind;
    this.rustDecoder = rust.getDecoder();

    if (folder.chatTemplate === null) this.chatTemplate = null;
    else {
      const variables: Dict = { ...folder.specialTokens, additional_special_tokens: folder.additionalSpecialTokens };
      this.chatTemplate = new ChatTemplate(folder.chatTemplate.source, variables, folder.chatTemplate.file);
    }
  }

  /**
   * Learns what the post-processor adds around a text and squares it with tokenizer_config.json's
   * add_bos_token / add_eos_token when they are set (as transformers' Llama-family tokenizers rebuild their
   * post-processor from them). Called once by loadTokenizer().
   */
  async init(): Promise<void> {
    const plain = (await this.rust.encode('a', null, { addSpecialTokens: false })).getIds();
    const withSpecial = (await this.rust.encode('a', null, { addSpecialTokens: true })).getIds();
    const addsBos = this.bosId !== null && withSpecial[0] === this.bosId && plain[0] !== this.bosId;
    const addsEos = withSpecial[withSpecial.length - 1] === this.eosId && plain[plain.length - 1] !== this.eosId;
    const { addBosToken, addEosToken } = this.folder;
    this.policy = {
      prependBos: addBosToken === true && !addsBos ? this.bosId : null,
      dropLeadingBos: addBosToken === false && addsBos ? this.bosId : null,
      appendEos: addEosToken === true && !addsEos ? this.eosId : null,
      dropTrailingEos: addEosToken === false && addsEos ? this.eosId : null,
    };
  }

  async encode(text: string, options: EncodeOptions = {}): Promise<Int32Array> {
    const addSpecial = options.addSpecialTokens ?? true;
    const ids = (await this.rust.encode(text, null, { addSpecialTokens: addSpecial })).getIds();
    if (!addSpecial) return Int32Array.from(ids);
    const p = this.policy;
    let start = 0;
    let end = ids.length;
    if (p.dropLeadingBos !== null && ids[0] === p.dropLeadingBos) start = 1;
    if (p.dropTrailingEos !== null && end > start && ids[end - 1] === p.dropTrailingEos) end--;
    const pre = p.prependBos !== null ? 1 : 0;
    const post = p.appendEos !== null ? 1 : 0;
    const out = new Int32Array(pre + (end - start) + post);
    if (pre) out[0] = p.prependBos!;
    for (let i = start; i < end; i++) out[pre + i - start] = ids[i]!;
    if (post) out[out.length - 1] = p.appendEos!;
    return out;
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const d = this.createDecoder(options);
    return d.push(ids) + d.flush();
  }

  createDecoder(options: DecodeOptions = {}): IncrementalDecoder {
    const skip = (options.skipSpecialTokens ?? true) ? this.special : null;
    const spaces = options.spacesBetweenSpecialTokens ?? true;
    switch (this.plan.kind) {
      case 'byte-level':
        return new ByteLevelDecoder(this.plan, skip);
      case 'pieces':
        return new PieceDecoder(this.plan, skip);
      default:
        return new WindowDecoder((ids) => this.libraryDecode(ids, spaces), skip, this.vocabSize);
    }
  }

  idToToken(id: number): string | null {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize ? this.tokens[id]! : null;
  }

  /** The id of a vocabulary string (`<|eot_id|>`), or null. */
  tokenToId(token: string): number | null {
    return this.rust.tokenToId(token) ?? null;
  }

  /** The library's decode of ids already filtered; without spaces between added tokens, runs are decoded apart. */
  private libraryDecode(ids: readonly number[], spacesBetweenSpecialTokens: boolean): string {
    const decoder = this.rustDecoder;
    const run = (tokens: string[]): string => (tokens.length === 0 ? '' : decoder ? decoder.decode(tokens) : tokens.join(' '));
    if (spacesBetweenSpecialTokens) return run(ids.map((id) => this.tokens[id]!));
    let out = '';
    let current: string[] = [];
    for (const id of ids) {
      if (this.added[id] === 1) {
        out += run(current) + this.tokens[id]!;
        current = [];
      } else current.push(this.tokens[id]!);
    }
    return out + run(current);
  }
}
