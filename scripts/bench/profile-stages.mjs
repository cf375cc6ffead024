// Reads a V8 CPU profile (node --cpu-prof) and splits its samples into the stages of the streaming path, for
// scripts/bench/stream-cost.mjs. Each sample goes to the stage of the innermost frame of its stack that a rule
// names (walking from the leaf towards the root), so time in a helper counts where it was called from when the
// helper itself is not a stage (node:events' emit under a socket write is socket write). '(program)' is native
// code with no JS frame on the stack: the bridge's conversion of a delivery into JS values (chunks, iteration
// stats, KV events) runs there, before the delivery's JS callback, as do libuv and the HTTP parser's C++ side.
import { readFileSync } from 'node:fs';

const nodeModule = (f, names) => f.url.startsWith('node:') && names.test(f.url.slice(5));
const ours = (f, files) => files.test(f.url.replace(/^.*\/dist\//, ''));
const RULES = [
  ['garbage collection', (f) => f.functionName === '(garbage collector)'],
  ['native outside JS (bridge delivery into JS, libuv, HTTP parser)', (f) => f.functionName === '(program)'],
  ['detokenization', (f) => ours(f, /^(tokenizer\/|tokenizer\.js|openai\/output\.js)/)],
  ['metrics', (f) => ours(f, /^metrics\//)],
  ['JSON encoding', (f) => ours(f, /^openai\/(responses|sse-events)\.js/) || f.functionName === 'stringify'],
  [
    'socket write',
    (f) => nodeModule(f, /^(_http_outgoing|net|buffer|internal\/stream_base_commons|internal\/streams\/writable|internal\/buffer)$/) || /^(writev|writeUtf8String|writeLatin1String|writeBuffer|utf8Write|latin1Write)$/.test(f.functionName),
  ],
  ['SSE queueing and flush', (f) => ours(f, /^openai\/sse\.js/)],
  ['HTTP request handling (per request)', (f) => ours(f, /^engine\.js/) && /^(generate|GenerationStream|cancel)$/.test(f.functionName)],
  ['routing to the request', (f) => ours(f, /^(engine|kv-event-batch|kv-event-buffer)\.js/)],
  ['async iteration and promises', (f) => ours(f, /^async-queue\.js/) || nodeModule(f, /^internal\/process\/task_queues$/) || f.functionName === 'runMicrotasks'],
  ['per-request streaming loop', (f) => ours(f, /^openai\/(generate|choice)\.js/)],
  [
    'HTTP request handling (per request)',
    (f) => nodeModule(f, /^(_http_server|_http_common|_http_incoming|internal\/url|internal\/abort_controller|internal\/event_target)$/) || ours(f, /^(openai\/(server|validate|body|prompt|errors)|http-guard|request-options|validate)\.js/),
  ],
];

/** Loads a .cpuprofile; `fromUs`/`toUs` (V8's monotonic µs, the clock of process.hrtime) keep only that window. */
export function readProfile(file, fromUs = -Infinity, toUs = Infinity) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const samples = [];
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    const dt = p.timeDeltas[i + 1] ?? 0; // a sample stands for the interval up to the next one
    if (t >= fromUs && t < toUs) samples.push({ id: p.samples[i], dt });
  }
  return { nodes, parent, samples };
}

function stackOf(prof, id) {
  const frames = [];
  for (let n = id; n !== undefined; n = prof.parent.get(n)) frames.push(prof.nodes.get(n).callFrame);
  return frames;
}

/** Busy (non-idle) µs per stage, plus the total; idle samples are left out. */
export function stages(prof) {
  const by = new Map(RULES.map(([name]) => [name, 0]));
  by.set('other', 0);
  let busy = 0;
  const cache = new Map();
  for (const s of prof.samples) {
    let stage = cache.get(s.id);
    if (stage === undefined) {
      const frames = stackOf(prof, s.id);
      if (frames[0].functionName === '(idle)') stage = null;
      else {
        stage = 'other';
        outer: for (const f of frames) {
          for (const [name, test] of RULES) {
            if (test(f)) {
              stage = name;
              break outer;
            }
          }
        }
      }
      cache.set(s.id, stage);
    }
    if (stage === null) continue;
    by.set(stage, by.get(stage) + s.dt);
    busy += s.dt;
  }
  return { busyUs: busy, stages: [...by].filter(([, us]) => us > 0).sort((a, b) => b[1] - a[1]) };
}

/** The `n` frames with the most self time (idle left out): [name, µs]. */
export function topFrames(prof, n = 15) {
  const self = new Map();
  for (const s of prof.samples) {
    const f = prof.nodes.get(s.id).callFrame;
    if (f.functionName === '(idle)') continue;
    const file = f.url.replace(/^.*\/(dist|node_modules)\//, '$1/');
    const key = `${f.functionName || '(anonymous)'}${file ? ` ${file}:${f.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + s.dt);
  }
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, n);
}
