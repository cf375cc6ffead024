// Shared fixtures of the bench tests: a temporary directory removed after the test, and runBench with its
// output captured. Not a test file (run-tests.mjs only runs test/*.test.mjs).
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { runBench } = require('../../dist/bench/cli.js');

/** A fresh directory, removed when the test ends. */
export function tempDir(t, prefix = 'bench-test-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `trtllm-metrics bench` with these arguments: { code, stdout, stderr }. */
export async function bench(args) {
  let stdout = '';
  let stderr = '';
  const code = await runBench(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}
