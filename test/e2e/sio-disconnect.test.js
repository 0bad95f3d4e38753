'use strict';
// Disconnections on both sides, with the reasons Node gives: client
// namespace disconnect, server namespace disconnect (also for
// socket.disconnect(true), which in Node disconnects every socket of the
// connection before closing it), transport close, ping timeout, forced
// close (a CONNECT for a namespace already connected), the connect
// timeout of a connection that never joins a namespace, and SIGTERM with
// clients connected. The server's side is read through sio-test's "reasons".

const { describe, it, afterEach, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  SLOW, VERSIONS, MODES, CLIENTS, useSio, startSio, stopAndCheck, connectClient, createManager,
  waitConnect, ack, once, closeAll, sleep, waitReason, rawSioWs, rawSioPolling, assertStillServes,
} = require('./lib/sio');
const { handshake, poll, decodeV4, expectSessionClosed } = require('./lib/server');
const { rawOpen } = require('./lib/ws');

const T = { timeout: 15000 * SLOW };
const [POLLING, WEBSOCKET] = MODES;

/** The first argument of the next "disconnect" of sock: its reason. */
async function disconnectReason(sock, t) {
  const [reason] = await once(sock, 'disconnect', t);
  return reason;
}

/** Waits until the raw WebSocket connection is closed by the server; fails after t ms. */
async function expectWsClosed(c, t = 3000 * SLOW) {
  const res = await c.conn.waitClose(t);
  assert.ok(res.end || res.code !== undefined, 'not closed');
  return res;
}

describe('disconnect reasons (sio-test)', () => {
  const server = useSio('sio-test');
  let probe;
  afterEach(() => closeAll());

  async function getProbe() {
    if (!probe || !probe.connected) probe = await connectClient(4, server, '/', { mode: WEBSOCKET });
    return probe;
  }
  after(() => probe && probe.disconnect());

  for (const version of VERSIONS) {
    for (const mode of [POLLING, WEBSOCKET]) {
      describe(`${CLIENTS[version].label} (${mode.name})`, () => {
        it('client socket.disconnect(): "io client disconnect" / "client namespace disconnect", rooms seen in "disconnecting"', T, async () => {
          const s = await connectClient(version, server, '/custom', { mode });
          await ack(s, 'join', 'party');
          const id = s.id;
          const gone = disconnectReason(s);
          s.disconnect();
          assert.equal(await gone, 'io client disconnect');
          const [, disconnecting, disconnect, rooms] = await waitReason(await getProbe(), id);
          assert.equal(disconnecting, 'client namespace disconnect');
          assert.equal(disconnect, 'client namespace disconnect');
          assert.deepEqual([...rooms].sort(), [id, 'party'].sort());
        });

        it('server socket.disconnect(false): "io server disconnect" / "server namespace disconnect"; the connection stays', T, async () => {
          const man = createManager(version, server, { mode });
          const root = man.socket('/');
          const custom = man.socket('/custom');
          await Promise.all([waitConnect(root), waitConnect(custom)]);
          const id = custom.id;
          const gone = disconnectReason(custom);
          custom.emit('disconnect-me', false);
          assert.equal(await gone, 'io server disconnect');
          const [, disconnecting, disconnect, rooms] = await waitReason(await getProbe(), id);
          assert.equal(disconnecting, 'server namespace disconnect');
          assert.equal(disconnect, 'server namespace disconnect');
          assert.deepEqual(rooms, [id]);
          // "/" on the same Engine.IO connection is untouched.
          assert.deepEqual(await ack(root, 'echo', 'still'), ['still']);
          assert.equal(root.io.engine.readyState, 'open');
        });

        it('server socket.disconnect(true): every socket of the connection disconnected, connection closed', T, async () => {
          const man = createManager(version, server, { mode });
          const root = man.socket('/');
          const custom = man.socket('/custom');
          await Promise.all([waitConnect(root), waitConnect(custom)]);
          const ids = [root.id, custom.id];
          const engineClosed = once(man.engine, 'close');
          const goneRoot = disconnectReason(root);
          const goneCustom = disconnectReason(custom);
          custom.emit('disconnect-me', true);
          assert.equal(await goneCustom, 'io server disconnect');
          const rootReason = await goneRoot;
          assert.ok(['io server disconnect', 'transport close'].includes(rootReason), `"/" got ${rootReason}`);
          await engineClosed;
          const p = await getProbe();
          for (const id of ids) {
            const [, disconnecting, disconnect] = await waitReason(p, id);
            // Node: disconnect(true) calls disconnect() on each socket of the
            // client ("server namespace disconnect"), then closes the
            // connection; "forced server close" is left for nobody.
            assert.equal(disconnecting, 'server namespace disconnect');
            assert.equal(disconnect, 'server namespace disconnect');
          }
        });
      });
    }

    it(`${CLIENTS[version].label}: killing the client's TCP connection gives "transport close" on both sides`, T, async () => {
      const s = await connectClient(version, server, '/', { mode: WEBSOCKET });
      await ack(s, 'join', 'before-kill');
      const id = s.id;
      const gone = disconnectReason(s);
      const ws = s.io.engine.transport.ws;
      assert.ok(ws && ws._socket, 'no raw socket under the client transport');
      ws._socket.destroy();
      assert.equal(await gone, 'transport close');
      const [, disconnecting, disconnect, rooms] = await waitReason(await getProbe(), id);
      assert.equal(disconnecting, 'transport close');
      assert.equal(disconnect, 'transport close');
      assert.deepEqual([...rooms].sort(), [id, 'before-kill'].sort());
    });
  }

  it('raw v5 WebSocket: a dropped TCP connection is "transport close"', T, async () => {
    const c = await rawSioWs(server);
    c.conn.close();
    const [, disconnecting, disconnect] = await waitReason(await getProbe(), c.sid);
    assert.equal(disconnecting, 'transport close');
    assert.equal(disconnect, 'transport close');
  });

  it('raw v5 polling: a close packet is "transport close"', T, async () => {
    const { sid, socketId } = await rawSioPolling(server);
    const { post } = require('./lib/server');
    const r = await post(server, 4, sid, '1');
    assert.equal(r.status, 200);
    const [, , disconnect] = await waitReason(await getProbe(), socketId);
    assert.equal(disconnect, 'transport close');
  });

  it('raw v5: a second CONNECT to a namespace already joined closes the connection ("forced close")', T, async () => {
    const c = await rawSioWs(server);
    c.send('40');
    await expectWsClosed(c);
    const [, disconnecting, disconnect] = await waitReason(await getProbe(), c.sid);
    // Node's Client.close() closes the Engine.IO socket, whose synchronous
    // "close" event gives "forced close" when nothing is waiting to be
    // written; "forced server close" when the close has to wait for a flush.
    assert.ok(['forced close', 'forced server close'].includes(disconnecting), `reason ${disconnecting}`);
    assert.equal(disconnect, disconnecting);
  });

  it('raw v5: DISCONNECT "41" from the client is "client namespace disconnect" and the connection stays', T, async () => {
    const c = await rawSioWs(server);
    c.send('40/custom,');
    const m = await c.next();
    assert.match(m, /^40\/custom,\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    const customId = JSON.parse(m.slice('40/custom,'.length)).sid;
    c.send('41/custom,');
    const [, , reason] = await waitReason(await getProbe(), customId);
    assert.equal(reason, 'client namespace disconnect');
    c.send('420["echo","root still here"]');
    assert.equal(await c.next(), '430["root still here"]');
    c.conn.close();
  });
});

describe('timeouts (sio-test --ping-interval 300 --ping-timeout 200 --connect-timeout 500)', () => {
  const server = useSio('sio-test', ['--ping-interval', '300', '--ping-timeout', '200', '--connect-timeout', '500']);
  afterEach(() => closeAll());

  it('ping timeout: a raw v5 WebSocket client that never answers pings is closed, reason "ping timeout"', T, async () => {
    const { conn } = await rawOpen(server, 4);
    conn.sendText('40');
    let sid = null;
    const t0 = Date.now();
    const pings = [];
    for (;;) {
      const f = await conn.nextFrame(3000 * SLOW);
      if (f.end || f.opcode === 8) break;
      const m = f.payload.toString('utf8');
      if (m.startsWith('40{')) sid = JSON.parse(m.slice(2)).sid;
      else if (m === '2') pings.push(Date.now() - t0); // not answered
    }
    const elapsed = Date.now() - t0;
    assert.ok(sid, 'no CONNECT answer');
    assert.equal(pings.length, 1, `pings before the close: ${pings}`);
    assert.ok(elapsed >= 450, `closed after ${elapsed} ms, before ping interval + timeout`);
    assert.ok(elapsed < 500 + 2500 * SLOW, `closed after ${elapsed} ms`);
    const probe = await connectClient(4, server, '/', { mode: WEBSOCKET });
    const [, disconnecting, disconnect] = await waitReason(probe, sid);
    assert.equal(disconnecting, 'ping timeout');
    assert.equal(disconnect, 'ping timeout');
  });

  it('ping timeout: a raw v4 (EIO=3) WebSocket client that never pings is closed, reason "ping timeout"', T, async () => {
    const c = await rawSioWs(server, { eio: 3 });
    const t0 = Date.now();
    const res = await c.conn.waitClose(3000 * SLOW);
    const elapsed = Date.now() - t0;
    assert.ok(res.end || res.code !== undefined);
    assert.ok(elapsed >= 400, `closed after ${elapsed} ms, before ping interval + timeout`);
    const probe = await connectClient(4, server, '/', { mode: WEBSOCKET });
    const [, , disconnect] = await waitReason(probe, c.sid);
    assert.equal(disconnect, 'ping timeout');
  });

  it('ping timeout: a socket.io-client 4.x whose pongs are blocked is dropped ("ping timeout" on the server)', T, async () => {
    const s = await connectClient(4, server, '/', { mode: WEBSOCKET });
    await ack(s, 'join', 'blocked');
    const engine = s.io.engine;
    for (const k of ['_sendPacket', 'sendPacket']) {
      if (typeof engine[k] === 'function') {
        const orig = engine[k].bind(engine);
        engine[k] = (type, ...rest) => (type === 'pong' ? undefined : orig(type, ...rest));
      }
    }
    const id = s.id;
    const reason = await disconnectReason(s, 5000 * SLOW);
    assert.ok(['transport close', 'ping timeout'].includes(reason), `client reason ${reason}`);
    const probe = await connectClient(4, server, '/', { mode: WEBSOCKET });
    const [, disconnecting, disconnect, rooms] = await waitReason(probe, id);
    assert.equal(disconnecting, 'ping timeout');
    assert.equal(disconnect, 'ping timeout');
    assert.deepEqual([...rooms].sort(), [id, 'blocked'].sort());
  });

  it('clients that answer heartbeats stay connected for 2 s (4.x, 3.x, 2.x)', T, async () => {
    const socks = [];
    for (const version of VERSIONS) socks.push(await connectClient(version, server, '/', { mode: version === 3 ? POLLING : WEBSOCKET }));
    await sleep(2000);
    for (const s of socks) {
      assert.equal(s.connected, true);
      assert.deepEqual(await ack(s, 'echo', 'alive'), ['alive']);
    }
  });

  it('connect timeout: a raw EIO=4 WebSocket that never sends CONNECT is closed after ~500 ms', T, async () => {
    const c = await rawSioWs(server, { connect: false });
    const t0 = Date.now();
    // The client answers pings (next() does), so only the connect timeout can close it.
    let closed = false;
    while (!closed) {
      try {
        await c.next(3000 * SLOW);
      } catch (err) {
        if (/ended|closed|opcode 8/.test(err.message)) closed = true;
        else throw err;
      }
    }
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 400, `closed after ${elapsed} ms, before the 500 ms connect timeout`);
    assert.ok(elapsed < 500 + 2000 * SLOW, `closed after ${elapsed} ms`);
    await assertStillServes(server);
  });

  it('connect timeout: a raw EIO=4 polling session that never sends CONNECT is closed', T, async () => {
    const { sid } = await handshake(server, 4);
    const t0 = Date.now();
    // Keep answering pings so that only the connect timeout can end it.
    for (;;) {
      const g = await poll(server, 4, sid);
      if (g.status !== 200) break;
      const packets = decodeV4(g.text);
      if (packets.includes('1')) break;
      if (packets.includes('2')) {
        const { post } = require('./lib/server');
        await post(server, 4, sid, '3');
      }
      assert.ok(Date.now() - t0 < 500 + 3000 * SLOW, 'session not closed by the connect timeout');
    }
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 400, `closed after ${elapsed} ms`);
    await expectSessionClosed(server, 4, sid);
  });

  it('connect timeout does not close a connection that joined a namespace', T, async () => {
    const c = await rawSioWs(server);
    const t0 = Date.now();
    while (Date.now() - t0 < 1200) {
      try {
        await c.next(200);
      } catch (err) {
        assert.match(err.message, /no WebSocket frame/, `connection closed: ${err.message}`);
      }
    }
    c.send('420["echo",1]');
    assert.equal(await c.next(), '430[1]');
    c.conn.close();
  });
});

describe('SIGTERM with clients connected (sio-test)', () => {
  it('disconnects every client of every version and exits 0', T, async () => {
    const server = await startSio('sio-test');
    try {
      const socks = [];
      for (const version of VERSIONS) {
        for (const mode of MODES) socks.push(await connectClient(version, server, '/custom', { mode }));
      }
      for (const s of socks) await ack(s, 'echo', 1);
      const gone = socks.map((s) => disconnectReason(s, 5000 * SLOW));
      await stopAndCheck(server);
      const reasons = await Promise.all(gone);
      for (const r of reasons) assert.ok(['transport close', 'transport error', 'io server disconnect'].includes(r), `reason ${r}`);
    } finally {
      closeAll();
      await server.stop({ signal: 'SIGKILL' });
    }
  });
});
