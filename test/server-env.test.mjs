// MetricsServer port and host: 8081 by default, DYN_SYSTEM_PORT / DYN_SYSTEM_HOST honoured (process.env or the
// env option), explicit options win, bad values rejected.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { DEFAULT_SYSTEM_PORT, MetricsServer } from '../dist/server.js';

async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

test('port 8081 and host 0.0.0.0 by default', () => {
  assert.equal(DEFAULT_SYSTEM_PORT, 8081);
  const s = new MetricsServer({ registry: new Registry(), env: {} });
  assert.equal(s.port, 8081);
  assert.equal(s.host, '0.0.0.0');
});

test('DYN_SYSTEM_PORT from process.env is honoured and the server binds it', async () => {
  const port = await freePort();
  const saved = process.env.DYN_SYSTEM_PORT;
  process.env.DYN_SYSTEM_PORT = String(port);
  try {
    const s = new MetricsServer({ registry: new Registry(), host: '127.0.0.1' });
    assert.equal(s.port, port);
    const addr = await s.start();
    try {
      assert.equal(addr.port, port);
      assert.equal((await fetch(`http://127.0.0.1:${port}/live`)).status, 200);
    } finally {
      await s.close();
    }
  } finally {
    if (saved === undefined) delete process.env.DYN_SYSTEM_PORT;
    else process.env.DYN_SYSTEM_PORT = saved;
  }
});

test('DYN_SYSTEM_HOST is honoured; explicit options win over the environment', async () => {
  const s = new MetricsServer({ registry: new Registry(), env: { DYN_SYSTEM_HOST: '127.0.0.1', DYN_SYSTEM_PORT: '0' } });
  const addr = await s.start();
  try {
    assert.equal(addr.host, '127.0.0.1');
    assert.ok(addr.port > 0);
  } finally {
    await s.close();
  }
  const t = new MetricsServer({ registry: new Registry(), host: '::1', port: 9999, env: { DYN_SYSTEM_HOST: '127.0.0.1', DYN_SYSTEM_PORT: '1234' } });
  assert.equal(t.port, 9999);
  assert.equal(t.host, '::1');
  assert.equal(new MetricsServer({ env: { DYN_SYSTEM_PORT: ' 8090 ' } }).port, 8090);
  assert.equal(new MetricsServer({ env: { DYN_SYSTEM_PORT: '' } }).port, 8081);
});

test('a bad DYN_SYSTEM_PORT is rejected, naming the variable', () => {
  for (const v of ['abc', '-1', '70000', '80.5', '0x50']) {
    assert.throws(() => new MetricsServer({ env: { DYN_SYSTEM_PORT: v } }), { code: 'ERR_TRTLLM_INVALID_ARGUMENT', message: /DYN_SYSTEM_PORT/ }, v);
  }
});
