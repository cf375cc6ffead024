// Streamed detokenization against the tokenizers library's own one-shot decode, on real vocabularies:
// byte-level BPE (Llama 3) and SentencePiece with byte fallback (Llama 2), plus a Metaspace decoder and the
// generic (library window) path. Properties (fast-check): for random id sequences fed in random chunks, the
// concatenated deltas equal the library's decode; no delta holds a broken character; multilingual and emoji
// text comes back exactly, token by token, with no replacement character on the way.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { loadTokenizer } from '../dist/index.js';
import { HfTokenizer } from '../dist/tokenizer/hf-tokenizer.js';
import { readModelFolder } from '../dist/tokenizer/model-folder.js';
import { Utf8Stream } from '../dist/tokenizer/utf8-stream.js';
import { LLAMA2, LLAMA3, modelFolder } from './helpers/tokenizer-fixtures.mjs';

const require = createRequire(import.meta.url);
const { Tokenizer: RustTokenizer } = require('tokenizers');

const RUNS = Number(process.env.FUZZ_SCALE ?? 1) * 300;
const cleanups = [];
after(() => cleanups.forEach((c) => c()));

const TEXTS = [
  'Hello world',
  '  two leading spaces, a trailing one ',
  'Grüße aus Köln — naïve façade, ½ € 100',
  '日本語のテキストと中文混合，한국어도 있습니다。',
  'Emoji: 🙂👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 🧬 and flags 🇫🇷🇯🇵',
  'Ελληνικά, русский текст, עברית, العربية, हिन्दी',
  'code:\n\tif (a && b) { return "x\\n"; }\n\n',
  '\u00a0non-breaking\u2009thin\u200bzero-width\ufeffBOM',
];

/** Everything a decoder returns for ids fed in the given chunk sizes. */
function streamed(tok, ids, sizes, options) {
  const d = tok.createDecoder(options);
  const deltas = [];
  let at = 0;
  for (let k = 0; at < ids.length; k++) {
    const n = sizes.length > 0 ? sizes[k % sizes.length] : 1;
    deltas.push(d.push(ids.slice(at, at + n)));
    at += n;
  }
  deltas.push(d.flush());
  return deltas;
}

/** A delta is whole text: no lone surrogate (a character cut in two). */
function wellFormed(s) {
  return Buffer.from(s, 'utf8').toString('utf8') === s;
}

/** Random ids, weighted to the tricky parts: byte-level/byte-fallback ids, special tokens, anything. */
function idArbitrary(vocab, specialsFrom) {
  return fc.array(
    fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 0, max: vocab - 1 }) },
      { weight: 3, arbitrary: fc.integer({ min: 0, max: 400 }) },
      { weight: 1, arbitrary: fc.integer({ min: specialsFrom, max: vocab - 1 }) },
    ),
    { maxLength: 48 },
  );
}

async function checkAgainstLibrary(tok, rust, name) {
  await fc.assert(
    fc.asyncProperty(idArbitrary(tok.vocabSize, tok.vocabSize - 256), fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 6 }), fc.boolean(), async (ids, sizes, skip) => {
      const reference = await rust.decode(ids, skip);
      const deltas = streamed(tok, ids, sizes, { skipSpecialTokens: skip });
      assert.equal(deltas.join(''), reference, `${name}: streamed ${JSON.stringify(ids)} in ${JSON.stringify(sizes)}`);
      assert.equal(tok.decode(ids, { skipSpecialTokens: skip }), reference, `${name}: one-shot`);
      for (const d of deltas) assert.ok(wellFormed(d), `${name}: broken character in ${JSON.stringify(d)}`);
    }),
    { numRuns: RUNS },
  );
}

async function checkTexts(tok, name) {
  for (const text of TEXTS) {
    const ids = await tok.encode(text, { addSpecialTokens: false });
    const deltas = streamed(tok, [...ids], [1], {});
    assert.equal(deltas.join(''), text, `${name}: ${JSON.stringify(text)} token by token`);
    for (const d of deltas) {
      assert.ok(wellFormed(d), `${name}: broken character ${JSON.stringify(d)}`);
      if (!text.includes('\uFFFD')) assert.ok(!d.includes('\uFFFD'), `${name}: a replacement character on the way in ${JSON.stringify(text)}`);
    }
  }
}

test('the streaming UTF-8 decoder is TextDecoder (WHATWG) on any bytes split anywhere', () => {
  const byte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf));
  fc.assert(
    fc.property(fc.array(byte, { maxLength: 40 }), fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 5 }), (list, cuts) => {
      const bytes = Uint8Array.from(list);
      const reference = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
      const d = new Utf8Stream();
      const points = [...new Set([0, ...cuts.filter((c) => c <= bytes.length), bytes.length])].sort((a, b) => a - b);
      let out = '';
      for (let k = 1; k < points.length; k++) out += d.decode(bytes, points[k - 1], points[k]);
      out += d.flush();
      assert.equal(out, reference, JSON.stringify(list));
    }),
    { numRuns: RUNS * 3 },
  );
});

test('Llama 3 (byte-level BPE): streamed = library decode for random ids; texts round-trip token by token', async () => {
  const tok = await loadTokenizer(LLAMA3());
  const rust = RustTokenizer.fromFile(join(LLAMA3(), 'tokenizer.json'));
  await checkTexts(tok, 'llama3');
  await checkAgainstLibrary(tok, rust, 'llama3');
});

test('Llama 2 (SentencePiece, byte fallback, leading strip): streamed = library decode; texts round-trip', async () => {
  const tok = await loadTokenizer(LLAMA2());
  const rust = RustTokenizer.fromFile(join(LLAMA2(), 'tokenizer.json'));
  await checkTexts(tok, 'llama2');
  await checkAgainstLibrary(tok, rust, 'llama2');
  // A run of byte tokens that is not valid UTF-8 is one U+FFFD per byte (the library's rule), even when its start was valid.
  const b = (x) => tok.tokenToId(`<0x${x}>`);
  const ids = [b('E6'), b('97'), b('A5'), b('80'), tok.tokenToId('▁a')];
  assert.equal(streamed(tok, ids, [1], {}).join(''), await rust.decode(ids, true));
  assert.equal(tok.decode(ids), '\uFFFD\uFFFD\uFFFD\uFFFD a');
});

test('a Metaspace decoder (first token loses its ▁) matches the library', async () => {
  const json = JSON.parse(readFileSync(join(LLAMA2(), 'tokenizer.json'), 'utf8'));
  json.decoder = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: true };
  const f = modelFolder('llama2', { 'tokenizer.json': json });
  cleanups.push(f.cleanup);
  const tok = await loadTokenizer(f.dir);
  assert.equal(tok.decoderKind, 'pieces');
  const rust = RustTokenizer.fromFile(join(f.dir, 'tokenizer.json'));
  await checkAgainstLibrary(tok, rust, 'metaspace');
});

test('the generic path (the library decoder over a window) decodes texts exactly, and random byte-level ids', async () => {
  // Random ids are checked on the byte-level vocabulary only: with byte fallback, a run of bytes that turns
  // invalid later changes text already emitted (the reason the tables exist; docs/worker.md).
  for (const dir of [LLAMA3(), LLAMA2()]) {
    const table = await loadTokenizer(dir);
    const rust = RustTokenizer.fromFile(join(dir, 'tokenizer.json'));
    const generic = new HfTokenizer(rust, await readModelFolder(dir), { forceGeneric: true });
    await generic.init();
    assert.equal(generic.decoderKind, 'generic');
    await checkTexts(generic, `generic ${dir}`);
    if (dir === LLAMA2()) continue;
    await fc.assert(
      fc.asyncProperty(idArbitrary(table.vocabSize, table.vocabSize - 256), fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 4 }), async (ids, sizes) => {
        assert.equal(streamed(generic, ids, sizes, {}).join(''), await rust.decode(ids, true));
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  }
});

test('spaces_between_special_tokens: no decoder of these families puts spaces around added tokens', async () => {
  const tok = await loadTokenizer(LLAMA3());
  const ids = [128000, 128006, 882, 128007, 9906, 128009, 128009];
  const a = tok.decode(ids, { skipSpecialTokens: false, spacesBetweenSpecialTokens: true });
  const b = tok.decode(ids, { skipSpecialTokens: false, spacesBetweenSpecialTokens: false });
  assert.equal(a, '<|begin_of_text|><|start_header_id|>user<|end_header_id|>Hello<|eot_id|><|eot_id|>');
  assert.equal(b, a);
});
