#!/usr/bin/env node
// `npm test`: the native unit tests (googletest, when the build has them) and then every node:test suite.
// Fails if either fails. The JS suites run against dist/ and build/Release, so build first (npm install does).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
let failed = false;

const native = spawnSync(process.execPath, [join(root, 'scripts/run-native-tests.mjs')], { stdio: 'inherit' });
if (native.status !== 0) failed = true;

const files = readdirSync(join(root, 'test'))
  .filter((f) => /\.test\.(mjs|js)$/.test(f))
  .sort()
  .map((f) => join('test', f));
const args = ['--test', '--test-concurrency=1', ...process.argv.slice(2), ...files];
const js = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env } });
if (js.status !== 0) failed = true;
if (!existsSync(join(root, 'dist/index.js'))) console.error('dist/ is missing: run `npm run build:ts`');
process.exit(failed ? 1 : 0);
