'use strict';
// SIGTERM / SIGINT: the server closes every session and exits with status 0.

const { describe, it, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  startServer, SLOW, sleep, handshake, poll, decodeV4, decodeV3, assertNoSanitizerReport,
} = require('./lib/server');
const { connect } = require('./lib/clients');

const T = { timeout: 20000 * SLOW };

describe('shutdown', () => {
  const started = [];
  after(async () => {
    for (const s of started) await s.stop({ signal: 'SIGKILL' });
  });
  async function start() {
    const s = await startServer();
    started.push(s);
    return s;
  }

  it('SIGTERM with clients of both versions on every transport: all get closed, exit 0 within 2 s', T, async () => {
    const server = await start();
    const clients = [];
    for (const version of [4, 3]) {
      for (const transports of [['polling'], ['websocket'], undefined]) {
        const c = await connect(version, server, { transports });
        if (!transports) await c.waitUpgrade();
        c.send('ready');
        assert.equal(await c.next(), 'ready');
        clients.push(c);
      }
    }
    // A raw long-poll waiting at the moment of the signal.
    const { sid } = await handshake(server, 4);
    const pending = poll(server, 4, sid);
    await sleep(100);

    const t0 = Date.now();
    server.expectExit();
    server.proc.kill('SIGTERM');
    const exit = await Promise.race([
      server.exited,
      sleep(2000 * SLOW).then(() => null),
    ]);
    const took = Date.now() - t0;
    assert.ok(exit, `server still running ${took} ms after SIGTERM`);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(took <= 2000 * SLOW, `exit took ${took} ms`);

    const infos = await Promise.all(clients.map((c) => c.waitClose(3000 * SLOW)));
    for (const info of infos) assert.equal(info.reason, 'transport close');
    const g = await pending;
    assert.equal(g.status, 200);
    assert.deepEqual(decodeV4(g.text), ['1'], `pending GET got ${g.text}`);
    assertNoSanitizerReport(server);
  });

  it('SIGINT with a v3 polling session: its pending GET gets the close packet, exit 0', T, async () => {
    const server = await start();
    const { sid } = await handshake(server, 3);
    const pending = poll(server, 3, sid);
    await sleep(100);
    server.expectExit();
    server.proc.kill('SIGINT');
    const exit = await Promise.race([server.exited, sleep(2000 * SLOW).then(() => null)]);
    assert.deepEqual(exit, { code: 0, signal: null });
    const g = await pending;
    assert.equal(g.status, 200);
    assert.deepEqual(decodeV3(g.text), ['1']);
    assertNoSanitizerReport(server);
  });

  it('SIGTERM with no clients: exit 0 at once', T, async () => {
    const server = await start();
    const t0 = Date.now();
    const res = await server.stop({ timeout: 2000 * SLOW });
    assert.equal(res.timedOut, false);
    assert.deepEqual({ code: res.code, signal: res.signal }, { code: 0, signal: null });
    assert.ok(Date.now() - t0 < 2000 * SLOW);
    assertNoSanitizerReport(server);
  });
});
