#!/usr/bin/env node
// Builds (if needed) and runs the googletest binary of the simulator and bridge. Needs Debian's libgtest-dev;
// without it the native suite is reported as not run and this exits 1 under CI=true, 0 otherwise.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const buildDir = process.env.TRTLLM_METRICS_NATIVE_BUILD ?? join(root, 'build-native');
const extra = process.env.TRTLLM_METRICS_SANITIZE ? ['-DTRTLLM_METRICS_SANITIZE=ON', '-DCMAKE_BUILD_TYPE=RelWithDebInfo'] : ['-DCMAKE_BUILD_TYPE=Release'];

const hasGtest = existsSync('/usr/include/gtest/gtest.h');
if (!hasGtest) {
  console.error('native tests: googletest headers not found (apt-get install libgtest-dev)');
  process.exit(process.env.CI ? 1 : 0);
}
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run('cmake', ['-S', root, '-B', buildDir, '-DTRTLLM_METRICS_NATIVE_TESTS=ON', ...extra]);
run('cmake', ['--build', buildDir, '--target', 'native_tests', '-j2']);
run(join(buildDir, 'native_tests'), ['--gtest_brief=1']);
