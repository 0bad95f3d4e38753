'use strict';
// Heartbeats with short settings (--ping-interval 300 --ping-timeout 200).
// EIO4: the server pings, the client answers. EIO3: the client pings, the
// server answers. Silence, or a heartbeat in the wrong direction, closes.

const { describe, it, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const {
  useServer, SLOW, sleep, handshake, poll, post, decodeV4, decodeV3,
  expectSessionClosed, assertEioError, assertServerHealthy,
} = require('./lib/server');
const { connect } = require('./lib/clients');
const { wsClient } = require('./lib/ws');

const T = { timeout: 15000 * SLOW };
const INTERVAL = 300;
const TIMEOUT = 200;

describe('heartbeat', () => {
  const server = useServer(['--ping-interval', String(INTERVAL), '--ping-timeout', String(TIMEOUT)]);
  const open = [];
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });

  it('announces the configured intervals in the open packet', T, async () => {
    const v4 = await handshake(server, 4);
    assert.equal(v4.open.pingInterval, INTERVAL);
    assert.equal(v4.open.pingTimeout, TIMEOUT);
    const v3 = await handshake(server, 3);
    assert.equal(v3.open.pingInterval, INTERVAL);
    assert.equal(v3.open.pingTimeout, TIMEOUT);
  });

  for (const transports of [['polling'], ['websocket']]) {
    it(`keeps a v4 client (${transports[0]}) alive through server pings for 2 s`, T, async () => {
      const c = await connect(4, server, { transports });
      open.push(c);
      await sleep(2000);
      assert.equal(c.closeInfo, null, `closed: ${JSON.stringify(c.closeInfo)}`);
      // 2000 / 300 is 6 pings; allow for a slow server.
      assert.ok(c.events.ping >= 4, `only ${c.events.ping} server pings in 2 s`);
      assert.ok(c.events.ping <= 8, `${c.events.ping} server pings in 2 s with a 300 ms interval`);
      c.send('still here');
      assert.equal(await c.next(), 'still here');
    });

    it(`keeps a v3 client (${transports[0]}) alive: client pings get pongs for 2 s`, T, async () => {
      const c = await connect(3, server, { transports });
      open.push(c);
      await sleep(2000);
      assert.equal(c.closeInfo, null, `closed: ${JSON.stringify(c.closeInfo)}`);
      assert.ok(c.events.pong >= 4, `only ${c.events.pong} pongs in 2 s`);
      c.send('still here');
      assert.equal(await c.next(), 'still here');
    });
  }

  it('keeps a raw v4 polling session that answers each ping with a pong', T, async () => {
    const { sid } = await handshake(server, 4);
    const t0 = Date.now();
    let pings = 0;
    while (Date.now() - t0 < 1500) {
      const g = await poll(server, 4, sid);
      assert.equal(g.status, 200);
      const packets = decodeV4(g.text);
      assert.ok(!packets.includes('1'), `closed although it answered pings: ${g.text}`);
      for (const p of packets) {
        if (p === '2') {
          pings++;
          const r = await post(server, 4, sid, '3');
          assert.equal(r.status, 200);
        }
      }
    }
    assert.ok(pings >= 3, `only ${pings} pings in 1.5 s`);
    await post(server, 4, sid, '4alive');
    const g = await poll(server, 4, sid);
    assert.deepEqual(decodeV4(g.text).filter((p) => p !== '2'), ['4alive']);
  });

  it('answers a raw v3 ping with a pong', T, async () => {
    const { sid } = await handshake(server, 3);
    await post(server, 3, sid, '1:2');
    const g = await poll(server, 3, sid);
    assert.deepEqual(decodeV3(g.text), ['3']);
  });

  it('closes a v4 polling session that never answers pings after about pingInterval + pingTimeout', T, async () => {
    const { sid } = await handshake(server, 4);
    const t0 = Date.now();
    // The first GET waits for the server ping, which is not answered.
    const g1 = await poll(server, 4, sid);
    assert.equal(g1.status, 200);
    assert.deepEqual(decodeV4(g1.text), ['2']);
    const pingAt = Date.now() - t0;
    assert.ok(pingAt >= INTERVAL * 0.8, `ping after ${pingAt} ms, interval is ${INTERVAL}`);
    // The next GET is ended by the close (or refused if the session is gone).
    const g2 = await poll(server, 4, sid);
    const closedAt = Date.now() - t0;
    if (g2.status === 200) {
      assert.deepEqual(decodeV4(g2.text), ['1']);
      assertEioError(await poll(server, 4, sid), 1, 'Session ID unknown');
    } else {
      assertEioError(g2, 1, 'Session ID unknown');
    }
    assert.ok(closedAt >= (INTERVAL + TIMEOUT) * 0.8, `closed after ${closedAt} ms, before pingInterval + pingTimeout`);
    assert.ok(closedAt <= INTERVAL + TIMEOUT + 1500 * SLOW, `closed only after ${closedAt} ms`);
  });

  it('forgets a silent v4 session that never polls again', T, async () => {
    const { sid } = await handshake(server, 4);
    await sleep(INTERVAL + TIMEOUT + 700);
    assertEioError(await poll(server, 4, sid), 1, 'Session ID unknown');
  });

  it('closes a v3 polling session that never pings after about pingInterval + pingTimeout', T, async () => {
    const { sid } = await handshake(server, 3);
    const t0 = Date.now();
    const g = await poll(server, 3, sid);
    const closedAt = Date.now() - t0;
    if (g.status === 200) {
      assert.deepEqual(decodeV3(g.text), ['1'], `pending GET got ${g.text}`);
      assertEioError(await poll(server, 3, sid), 1, 'Session ID unknown');
    } else {
      assertEioError(g, 1, 'Session ID unknown');
    }
    assert.ok(closedAt >= (INTERVAL + TIMEOUT) * 0.8, `closed after ${closedAt} ms`);
    assert.ok(closedAt <= INTERVAL + TIMEOUT + 1500 * SLOW, `closed only after ${closedAt} ms`);
  });

  it('closes a v4 WebSocket session that never answers pings', T, async () => {
    const c = await wsClient(server, { eio: 4 });
    const t0 = Date.now();
    assert.equal(await c.next(), '2');
    const closed = await c.waitClose(3000 * SLOW);
    const closedAt = Date.now() - t0;
    assert.ok(closed.code > 0);
    assert.ok(closedAt >= (INTERVAL + TIMEOUT) * 0.8, `closed after ${closedAt} ms`);
  });

  describe('wrong heartbeat direction closes the session', () => {
    it('v4 polling: client sends ping "2"', T, async () => {
      const { sid } = await handshake(server, 4);
      const r = await post(server, 4, sid, '2');
      assert.equal(r.status, 200);
      await expectSessionClosed(server, 4, sid, { timeout: 250 });
      await assertServerHealthy(server);
    });

    it('v4 websocket: client sends ping "2"', T, async () => {
      const c = await wsClient(server, { eio: 4 });
      c.send('2');
      const closed = await c.waitClose(250 + 1000 * (SLOW - 1));
      assert.ok(closed.code > 0);
      await assertServerHealthy(server);
    });

    it('v3 polling: client sends pong "3"', T, async () => {
      const { sid } = await handshake(server, 3);
      const r = await post(server, 3, sid, '1:3');
      assert.equal(r.status, 200);
      await expectSessionClosed(server, 3, sid, { timeout: 250 });
      await assertServerHealthy(server);
    });
  });
});
