// What a consumer installs: the plotting and charting libraries are optional peers, loaded only by the
// features that need them, with an error naming the package when it is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { importOptional, resolveOptional } = require('../dist/optional-dependency.js');
const { OptionalDependencyError } = require('../dist/errors.js');
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

test('vega, vega-lite, uplot, zeromq and the NATS clients are optional peer dependencies, not dependencies', () => {
  for (const name of ['vega', 'vega-lite', 'uplot', 'zeromq', '@nats-io/transport-node', '@nats-io/jetstream']) {
    assert.equal(pkg.dependencies[name], undefined, `${name} is not installed for every consumer`);
    assert.ok(pkg.peerDependencies[name], `${name} is a peer`);
    assert.equal(pkg.peerDependenciesMeta[name].optional, true, `${name} is optional`);
  }
});

test('a missing optional package is an OptionalDependencyError naming it and the install command', async () => {
  await assert.rejects(importOptional('no-such-pkg-trtllm', ['no-such-pkg-trtllm'], 'bench --plot'), (err) => {
    assert.ok(err instanceof OptionalDependencyError);
    assert.equal(err.code, 'ERR_TRTLLM_OPTIONAL_DEPENDENCY');
    assert.equal(err.message, 'bench --plot needs the optional package no-such-pkg-trtllm: npm install no-such-pkg-trtllm');
    return true;
  });
  assert.throws(() => resolveOptional('no-such-pkg-trtllm/x.css', ['no-such-pkg-trtllm', 'other'], 'the live dashboard'), {
    code: 'ERR_TRTLLM_OPTIONAL_DEPENDENCY',
    message: 'the live dashboard needs the optional packages no-such-pkg-trtllm, other: npm install no-such-pkg-trtllm other',
  });
  // Present packages load.
  assert.match(resolveOptional('uplot/dist/uPlot.min.css', ['uplot'], 'x'), /uPlot\.min\.css$/);
});

test('every error class of the package is a TrtllmMetricsError with a code', async () => {
  const { readdirSync } = await import('node:fs');
  const { join } = await import('node:path');
  const root = new URL('../lib/', import.meta.url).pathname;
  const files = readdirSync(root, { recursive: true }).filter((f) => String(f).endsWith('.ts'));
  const plain = [];
  for (const f of files) {
    const text = readFileSync(join(root, String(f)), 'utf8');
    for (const m of text.matchAll(/class (\w+) extends Error\b/g)) if (m[1] !== 'TrtllmMetricsError') plain.push(`${f}: ${m[1]}`);
  }
  assert.deepEqual(plain, [], 'errors without a code');
});
