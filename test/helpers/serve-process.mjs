// Spawns `trtllm-metrics serve ARGS` (dist/cli.js) and waits for its startup line. Shared by the tests and the
// load/soak scripts that drive a worker in its own process.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const STARTUP = /api=(\S+) metrics=(\S+)/;

/**
 * Resolves with { child, api, metrics, done } once serve prints its addresses (api and metrics are base URLs,
 * http://host:port), or with { exited } if it exits first. `done` resolves with { code, signal, stdout, stderr }
 * when the process closes. `stderr: 'inherit'` passes the worker's stderr through instead of collecting it.
 */
export function spawnServe(args, { env = {}, stderr = 'pipe' } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'serve', ...args], {
      env: { ...process.env, DYN_SYSTEM_PORT: '', ...env },
      stdio: ['ignore', 'pipe', stderr],
    });
    let stdout = '';
    let err = '';
    const done = new Promise((r) => child.on('close', (code, signal) => r({ code, signal, stdout, stderr: err })));
    child.stderr?.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = STARTUP.exec(stdout);
      if (m) resolve({ child, api: m[1], metrics: m[2], done });
    });
    done.then((exited) => resolve({ exited }));
  });
}
