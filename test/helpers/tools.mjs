// External tools some suites need (Debian packages .ci/run installs). A missing tool is never a silent pass:
// locally the test is skipped with the reason in the report; under CI=true it fails.
import { existsSync } from 'node:fs';

export const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';
export const PROMETHEUS = process.env.PROMETHEUS ?? '/usr/bin/prometheus';
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/**
 * The `skip` option of a test that needs `path`: false when it is there, or under CI=true (the test then runs
 * and fails on the missing tool); otherwise the reason, which node:test prints as a skip.
 */
export function skipWithout(path, install) {
  if (existsSync(path) || process.env.CI) return false;
  return `${path} is not installed (${install})`;
}

/** Throws unless `path` exists: for checks inside a test that has no skip of its own. */
export function requireTool(path, install) {
  if (!existsSync(path)) throw new Error(`${path} is not installed (${install}); .ci/run installs it`);
}
