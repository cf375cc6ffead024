// Stop strings on text: matched across chunk and token boundaries, the text cut before the first one found
// (after it with include_stop_str_in_output), nothing of a stop string ever emitted, surrogate pairs never cut.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadTokenizer, StopStringMatcher } from '../dist/index.js';
import { OutputAssembler } from '../dist/openai/output.js';
import { LLAMA3 } from './helpers/tokenizer-fixtures.mjs';

const RUNS = Number(process.env.FUZZ_SCALE ?? 1) * 500;

/**
 * The text as vLLM returns it for the same pushes: after each push, the whole text so far is searched and the
 * earliest stop string found ends it (ties: the first listed), cut before it (after it when included). A stop
 * that completes in an earlier push wins over one that completes later, as when vLLM checks after each token.
 * The matcher searches only its held-back window: this oracle searches everything.
 */
function reference(pushes, stops, include) {
  let text = '';
  for (const piece of pushes) {
    text += piece;
    let at = -1;
    let stop = '';
    for (const s of stops) {
      const i = text.indexOf(s);
      if (i >= 0 && (at < 0 || i < at)) [at, stop] = [i, s];
    }
    if (at >= 0) return { text: text.slice(0, include ? at + stop.length : at), stop };
  }
  return { text, stop: null };
}

test('matcher: a stop string split over pushes is found, cut before it, and never emitted in part', () => {
  const m = new StopStringMatcher(['STOP', '\n\n']);
  assert.equal(m.push('Hello ST'), 'Hello', 'the last 3 characters (what may begin a stop string) are held');
  assert.equal(m.push('O'), ' ', '" STO" may still be STOP: only its first character is out of reach');
  assert.equal(m.push('P and more'), '', 'STOP: nothing of it is sent');
  assert.equal(m.matched, 'STOP');
  assert.equal(m.flush(), '');
  const inc = new StopStringMatcher(['STOP'], true);
  assert.equal(inc.push('Hello ST') + inc.push('OP and more'), 'Hello STOP', 'include_stop_str_in_output: nothing held back');
  const none = new StopStringMatcher(['STOP']);
  assert.equal(none.push('STO') + none.push('RY') + none.flush(), 'STORY');
  // The first stop in the text wins, whatever the order of the list.
  const two = new StopStringMatcher(['world', 'lo w']);
  assert.equal(two.push('hello world') + two.flush(), 'hel');
  // A surrogate pair is never cut by the hold-back.
  const emoji = new StopStringMatcher(['xyz']);
  const first = emoji.push('a🙂');
  assert.ok(!/[\uD800-\uDBFF]$/.test(first), `no lone high surrogate: ${JSON.stringify(first)}`);
  assert.equal(first + emoji.push('b') + emoji.flush(), 'a🙂b');
});

test('property: every emission is a prefix of the final text, which is the reference cut', () => {
  const alphabet = fc.constantFrom('a', 'b', ' ', '\n', 'é', '🙂');
  const word = fc.array(alphabet, { minLength: 1, maxLength: 4 }).map((a) => a.join(''));
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 40 }), fc.array(word, { minLength: 1, maxLength: 3 }), fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 }), fc.boolean(), (chars, stops, sizes, include) => {
      const m = new StopStringMatcher(stops, include);
      let out = '';
      const pushes = [];
      // Decoders emit whole characters: chunks are cut between characters (code points), never inside one.
      for (let at = 0, k = 0; at < chars.length; k++) {
        const n = sizes[k % sizes.length];
        pushes.push(chars.slice(at, at + n).join(''));
        out += m.push(pushes.at(-1));
        at += n;
        assert.ok(!/[\uD800-\uDBFF]$/.test(out), 'no cut surrogate pair');
      }
      out += m.flush();
      const ref = reference(pushes, stops, include);
      assert.equal(out, ref.text);
      assert.equal(m.matched, ref.stop);
    }),
    { numRuns: RUNS },
  );
});

test('Llama 3 ids: a stop string spanning tokens ends the output; usage counts up to the token that completed it', async () => {
  const tok = await loadTokenizer(LLAMA3());
  const text = 'The answer is 42.\n\nNext question: why?';
  const ids = await tok.encode(text, { addSpecialTokens: false });
  const stop = '42.\n\nNe';
  const stopTokens = await tok.encode(stop, { addSpecialTokens: false });
  assert.ok(!ids.join(',').includes(stopTokens.join(',')), 'the stop string is not a token sequence of the text: only a text match finds it');
  const out = new OutputAssembler(tok, { stop: [stop] });
  let got = '';
  for (const id of ids) got += out.push(Int32Array.of(id));
  got += out.finish();
  assert.equal(out.stopped, true);
  assert.equal(got, 'The answer is ');
  // The token that completed "Ne" is the one after "\n\n".
  const prefixTokens = [...(await tok.encode('The answer is 42.\n\nNext', { addSpecialTokens: false }))];
  assert.equal(out.tokenCount, prefixTokens.length);
  // A stop token id (<|eot_id|>) ends the text without its own, even when special tokens are kept.
  const eot = new OutputAssembler(tok, { stopTokenIds: [128009], decode: { skipSpecialTokens: false } });
  assert.equal(eot.push(Int32Array.of(9906, 128009, 1917)) + eot.finish(), 'Hello');
  const eotIncluded = new OutputAssembler(tok, { stopTokenIds: [128009], includeStopStr: true, decode: { skipSpecialTokens: false } });
  assert.equal(eotIncluded.push(Int32Array.of(9906, 128009, 1917)) + eotIncluded.finish(), 'Hello<|eot_id|>');
});
