// The option tables (lib/options): one definition per option drives validation, flags, --config, --help and
// docs/options.md. These tests check that the derived parts agree with the tables and with the simulator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { eventually } from './helpers/worker-fixtures.mjs';

const require = createRequire(import.meta.url);
const { ENGINE_OPTIONS } = require('../dist/options/engine-table.js');
const { WORKER_OPTIONS } = require('../dist/options/worker-table.js');
const { BENCH_OPTIONS } = require('../dist/options/bench-table.js');
const { leaves } = require('../dist/options/define.js');
const { flagsOf, parseCommandLine } = require('../dist/options/command-line.js');
const { validateEngineOptions } = require('../dist/engine-options.js');
const { resolveServeOptions } = require('../dist/cli.js');
const { parseBenchArgs, usage: benchUsage } = require('../dist/bench/options.js');
const { Engine } = require('../dist/engine.js');
const { InvalidArgumentError, UsageError } = require('../dist/errors.js');

test('docs/options.md is generated from the tables and current', () => {
  const script = fileURLToPath(new URL('../scripts/gen-options-doc.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('every leaf has help; flags are unique per command and every flag has a --help line', () => {
  for (const tree of [WORKER_OPTIONS, BENCH_OPTIONS]) {
    for (const e of leaves(tree)) assert.ok(e.leaf.meta.help.length > 3, e.path.join('.'));
  }
  const serveHelp = spawnSync(process.execPath, [fileURLToPath(new URL('../dist/cli.js', import.meta.url)), 'serve', '--help'], { encoding: 'utf8' }).stdout;
  for (const f of flagsOf(WORKER_OPTIONS, 'serve')) assert.match(serveHelp, new RegExp(`^  --${f.flag}\\b`, 'm'), f.flag);
  const benchHelp = benchUsage();
  for (const f of flagsOf(BENCH_OPTIONS, 'bench')) assert.match(benchHelp, new RegExp(`^  --${f.flag}\\b`, 'm'), f.flag);
});

test('API validation names the full path and the range, and fills in the table defaults', () => {
  assert.throws(() => validateEngineOptions({ executorConfig: { maxBatchSize: 0 } }), {
    name: 'InvalidArgumentError',
    message: 'options.executorConfig.maxBatchSize must be an integer >= 1 and <= 2147483647, got 0',
  });
  assert.throws(() => validateEngineOptions({ sim: { timing: { decodeMinMs: -1 } } }), /options\.sim\.timing\.decodeMinMs must be a number >= 0/);
  assert.throws(() => validateEngineOptions({ sim: { tokensPerBlok: 4 } }), /options\.sim\.tokensPerBlok is not a known option \(known: tokensPerBlock,/);
  assert.throws(() => validateEngineOptions({ backend: 'trtllm' }), /options\.engineDir is required with backend "trtllm"/);
  assert.throws(() => validateEngineOptions([]), /options must be an object/);
  const r = validateEngineOptions({});
  assert.equal(r.native.sim.tokensPerBlock, ENGINE_OPTIONS.sim.members.tokensPerBlock.meta.default);
  assert.equal(r.native.bridge.statsIntervalMs, 100);
  assert.equal(r.native.executorConfig.kvCacheConfig.eventBufferMaxSize, 0);
  assert.equal(validateEngineOptions({}, 'serve').native.executorConfig.kvCacheConfig.eventBufferMaxSize, 1024, "serve's own default");
  assert.equal(r.native.executorConfig.maxBatchSize, undefined, "no table default: the executor's own");
  const trt = validateEngineOptions({ backend: 'trtllm', engineDir: '/x' });
  assert.equal(trt.native.sim, undefined, 'no simulator defaults for TensorRT-LLM');
  assert.equal(trt.modelName, 'x');
});

test("the table's simulator defaults are what the simulator does without them", async () => {
  // Engine.create passes the table's defaults explicitly; an engine given every default must behave exactly
  // as the simulator's own C++ defaults, seen through the iteration stats.
  const engine = await Engine.create({ sim: { virtualClock: true }, bridge: { statsIntervalMs: 5 } });
  try {
    await engine.complete({ inputTokenIds: [1, 2, 3], maxTokens: 2 });
    const s = await eventually(async () => (await engine.getLatestIterationStats()).find((x) => x.kvCacheStats), 10_000, 'iteration stats');
    const sim = ENGINE_OPTIONS.sim.members;
    assert.equal(s.kvCacheStats.tokensPerBlock, sim.tokensPerBlock.meta.default);
    assert.equal(s.kvCacheStats.maxNumBlocks, sim.numKvBlocks.meta.default);
    assert.equal(s.maxBatchSizeStatic, 256, 'the simulator default named in the table text');
    assert.match(ENGINE_OPTIONS.executorConfig.members.maxBatchSize.meta.defaultText, /^256 on the simulator/);
    assert.equal(s.maxNumTokensStatic, 8192);
    assert.match(ENGINE_OPTIONS.executorConfig.members.maxNumTokens.meta.defaultText, /^8192 on the simulator/);
  } finally {
    await engine.shutdown();
  }
});

test('serve: flags, config keys and environment map to the table paths; precedence flag > config > env', () => {
  const o = resolveServeOptions(['--max-batch-size', '8', '--kv-blocks', '99', '--no-enable-block-reuse', '--port', '0'], { DYN_SYSTEM_PORT: '9100' });
  assert.equal(o.engine.executorConfig.maxBatchSize, 8);
  assert.equal(o.engine.sim.numKvBlocks, 99);
  assert.equal(o.engine.executorConfig.kvCacheConfig.enableBlockReuse, false);
  assert.equal(o.metricsPort, 0, 'the flag beats DYN_SYSTEM_PORT');
  assert.equal(resolveServeOptions([], { DYN_SYSTEM_PORT: '9100' }).metricsPort, 9100);
  assert.throws(() => resolveServeOptions(['--tokens-per-block', '0'], {}), { name: 'UsageError', message: /^--tokens-per-block must be an integer >= 1 and <= 65536, got 0$/ });
  assert.throws(() => resolveServeOptions([], { DYN_SYSTEM_PORT: 'x' }), /^UsageError: DYN_SYSTEM_PORT must be an integer/);
});

test('bench: engine flags are the same table rows as serve; text syntaxes are checked', () => {
  const o = parseBenchArgs(['--max-batch-size', '16', '--tokens-per-block', '64', '--request-rate', 'inf', '--input-len', 'uniform:1:9']);
  assert.deepEqual(o.engine, { executorConfig: { maxBatchSize: 16 }, sim: { tokensPerBlock: 64 } });
  assert.equal(o.requestRate, Infinity);
  assert.deepEqual(o.inputLen, { kind: 'uniform', min: 1, max: 9 });
  assert.throws(() => parseBenchArgs(['--tokens-per-block', '70000']), { name: 'UsageError', message: /--tokens-per-block must be an integer >= 1 and <= 65536/ });
  assert.throws(() => parseBenchArgs(['--input-len', 'uniform:9:3']), /--input-len: MAX \(3\) must be >= MIN \(9\)/);
  assert.throws(() => parseBenchArgs(['--url', 'http://h:1', '--max-batch-size', '4']), /--max-batch-size applies to the in-process simulator only/);
  const pc = parseCommandLine(BENCH_OPTIONS, 'bench', ['--stream']);
  assert.equal(pc.given.get('stream').source, 'flag');
  assert.ok(new UsageError('x') instanceof Error && !(new UsageError('x') instanceof InvalidArgumentError));
});
