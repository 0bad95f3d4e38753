'use strict';
// More eio-echo options, each checked against what Node's engine.io sends:
// --upgrade-timeout, --cookie, --require-header (allowRequest), --transports,
// --no-upgrades, --no-eio3.

const { describe, it, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const {
  useServer, SLOW, sleep, request, handshake, poll, post, decodeV4, decodeV3,
  assertEioError, expectSidForgotten, assertServerHealthy,
} = require('./lib/server');
const { frame, rawConnect, rawOpen, wsClient } = require('./lib/ws');
const { connect } = require('./lib/clients');

const T = { timeout: 15000 * SLOW };

/** Node's abortRequest for allowRequest refusals: 403 and a JSON body. */
function assertForbidden(res, message) {
  assert.equal(res.status, 403, `expected HTTP 403, got ${res.status} ${res.text}`);
  assert.match(String(res.headers['content-type']), /^application\/json/i);
  assert.deepEqual(JSON.parse(res.text), { code: 4, message });
}

/** Node's abortUpgrade: always "400 Bad Request", text/html, the message as the body. */
function assertAbortUpgrade(conn, message) {
  assert.match(conn.statusLine, /^HTTP\/1\.1 400 Bad Request/, conn.statusLine);
  assert.match(String(conn.headers['content-type']), /^text\/html/i);
  assert.equal(conn.body.toString(), message);
}

/** A polling session still echoes over POST / GET. */
async function assertPollingEcho(server, eio, sid, text) {
  const enc = eio === 4 ? `4${text}` : `${text.length + 1}:4${text}`;
  const p = await post(server, eio, sid, enc);
  assert.equal(p.status, 200, `POST answered ${p.status} ${p.text}`);
  assert.equal(p.text, 'ok');
  for (let i = 0; i < 5; i++) {
    const g = await poll(server, eio, sid);
    assert.equal(g.status, 200, `GET answered ${g.status} ${g.text}`);
    const packets = (eio === 4 ? decodeV4 : decodeV3)(g.text).filter((pk) => pk !== '6');
    if (packets.length === 0) continue; // a noop left over from the upgrade
    assert.deepEqual(packets, [`4${text}`]);
    return;
  }
  assert.fail('the echo never came back over polling');
}

/**
 * A GET on an idle polling session waits for data (no noop at once, which
 * would make the client poll in a busy loop): a message POSTed 300 ms later
 * is what it answers.
 */
async function assertGetWaits(server, eio, sid) {
  const t0 = Date.now();
  const pending = poll(server, eio, sid);
  await sleep(300);
  const p = await post(server, eio, sid, eio === 4 ? '4late' : '5:4late');
  assert.equal(p.status, 200);
  const g = await pending;
  assert.equal(g.status, 200);
  assert.deepEqual((eio === 4 ? decodeV4 : decodeV3)(g.text), ['4late'],
    `the GET answered ${JSON.stringify(g.text)} after ${Date.now() - t0} ms instead of waiting`);
  assert.ok(Date.now() - t0 >= 250);
}

/** A complete upgrade of the polling session `sid` works and echoes over WebSocket. */
async function assertUpgradeWorks(server, eio, sid, { hold = 0 } = {}) {
  const c = await wsClient(server, { eio, sid });
  try {
    c.send('2probe');
    assert.equal(await c.next(), '3probe');
    c.send('5');
    c.send('4over websocket');
    assert.equal(await c.next(), '4over websocket');
    if (hold) {
      await sleep(hold);
      c.send('4later');
      assert.equal(await c.next(), '4later');
      assert.equal(c.closed, null);
    }
  } finally {
    c.ws.terminate();
  }
  await expectSidForgotten(server, eio, sid);
}

describe('--upgrade-timeout 300', () => {
  const server = useServer(['--upgrade-timeout', '300']);
  const conns = [];
  afterEach(() => {
    for (const c of conns.splice(0)) c.close();
  });

  for (const eio of [4, 3]) {
    it(`v${eio}: a probe that never sends "5" is closed after ~300 ms; the polling session lives on and can upgrade later`, T, async () => {
      const { sid } = await handshake(server, eio);
      const pending = poll(server, eio, sid);
      await sleep(50);
      const conn = await rawConnect(server, { query: { EIO: eio, transport: 'websocket', sid } });
      conns.push(conn);
      assert.equal(conn.status, 101, conn.statusLine);
      conn.sendText('2probe');
      assert.equal(await conn.nextMessage(), '3probe');
      const t0 = Date.now();
      // The pending GET is answered (noop) so the client can send "5".
      const g = await pending;
      assert.equal(g.status, 200);
      assert.deepEqual((eio === 4 ? decodeV4 : decodeV3)(g.text), ['6']);
      // Never send "5": the server gives the probe up.
      const r = await conn.waitClose(3000 * SLOW);
      const elapsed = Date.now() - t0;
      assert.deepEqual(r.data, [], `data on the abandoned probe: ${JSON.stringify(r.data)}`);
      assert.ok(elapsed >= 200, `probe closed after ${elapsed} ms, before the upgrade timeout`);
      assert.ok(elapsed < 300 + 1500 * SLOW, `probe closed only after ${elapsed} ms`);
      // The session is still on polling, echoes, and its GETs wait again.
      await assertPollingEcho(server, eio, sid, 'still polling');
      await assertGetWaits(server, eio, sid);
      // A second, complete upgrade succeeds; past the timeout it stays.
      await assertUpgradeWorks(server, eio, sid, { hold: 400 });
    });

    it(`v${eio}: a probe whose TCP connection drops after 3probe ends the upgrade, not the session`, T, async () => {
      const { sid } = await handshake(server, eio);
      const conn = await rawConnect(server, { query: { EIO: eio, transport: 'websocket', sid } });
      conns.push(conn);
      assert.equal(conn.status, 101, conn.statusLine);
      conn.sendText('2probe');
      assert.equal(await conn.nextMessage(), '3probe');
      conn.close(); // no close frame: the connection is just gone
      await sleep(100);
      await assertPollingEcho(server, eio, sid, 'probe lost');
      await assertGetWaits(server, eio, sid);
      await assertUpgradeWorks(server, eio, sid);
    });

    it(`v${eio}: a probe failed for a protocol error (unmasked frame) leaves the session on polling`, T, async () => {
      const { sid } = await handshake(server, eio);
      const conn = await rawConnect(server, { query: { EIO: eio, transport: 'websocket', sid } });
      conns.push(conn);
      conn.sendText('2probe');
      assert.equal(await conn.nextMessage(), '3probe');
      conn.send(frame({ opcode: 1, payload: '5', mask: false }));
      const r = await conn.waitClose();
      assert.deepEqual(r.data, []);
      if (!r.end) assert.equal(r.code, 1002, `close code ${r.code}`);
      await assertPollingEcho(server, eio, sid, 'probe failed');
      await assertGetWaits(server, eio, sid);
      await assertUpgradeWorks(server, eio, sid);
    });

    it(`v${eio}: a probe closed with a close frame after 3probe leaves the session on polling`, T, async () => {
      const { sid } = await handshake(server, eio);
      const conn = await rawConnect(server, { query: { EIO: eio, transport: 'websocket', sid } });
      conns.push(conn);
      conn.sendText('2probe');
      assert.equal(await conn.nextMessage(), '3probe');
      conn.send(frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }));
      const r = await conn.waitClose();
      assert.deepEqual(r.data, []);
      await assertPollingEcho(server, eio, sid, 'probe closed');
      await assertGetWaits(server, eio, sid);
      await assertUpgradeWorks(server, eio, sid);
    });
  }

  it('engine.io-client v4 upgrades normally (it sends "5" at once)', T, async () => {
    const c = await connect(4, server);
    try {
      await c.waitUpgrade();
      await sleep(500);
      c.send('upgraded');
      assert.equal(await c.next(), 'upgraded');
      assert.equal(c.transportName, 'websocket');
    } finally {
      c.close();
    }
  });
});

describe('--cookie io', () => {
  const server = useServer(['--cookie', 'io']);
  const conns = [];
  afterEach(() => {
    for (const c of conns.splice(0)) c.close();
  });
  const cookieOf = (sid) => `io=${sid}; Path=/; HttpOnly; SameSite=Lax`;

  for (const eio of [4, 3]) {
    it(`v${eio} polling handshake: Set-Cookie as Node's; later requests carry none`, T, async () => {
      const { sid, res } = await handshake(server, eio);
      assert.deepEqual(res.headers['set-cookie'], [cookieOf(sid)]);
      const p = await post(server, eio, sid, eio === 4 ? '4x' : '2:4x');
      assert.equal(p.headers['set-cookie'], undefined, 'POST with sid carries Set-Cookie');
      const g = await poll(server, eio, sid);
      assert.equal(g.headers['set-cookie'], undefined, 'GET with sid carries Set-Cookie');
      await post(server, eio, sid, eio === 4 ? '1' : '1:1');
    });
  }

  // Node's engine.io sets the cookie in the polling transport's "headers"
  // event only: a session opened over WebSocket gets none (engine.io 6.6).
  it('WebSocket handshake: the 101 carries no Set-Cookie, as Node', T, async () => {
    const { conn, open } = await rawOpen(server, 4);
    conns.push(conn);
    assert.ok(open.sid);
    assert.equal(conn.headers['set-cookie'], undefined);
    conn.sendText('4cookie');
    assert.equal(await conn.nextMessage(), '4cookie');
  });

  it('an upgrade of an existing session (sid in the query) carries no Set-Cookie', T, async () => {
    const { sid } = await handshake(server, 4);
    const conn = await rawConnect(server, { query: { EIO: 4, transport: 'websocket', sid } });
    conns.push(conn);
    assert.equal(conn.status, 101);
    assert.equal(conn.headers['set-cookie'], undefined);
  });
});

describe('--require-header x-token (allowRequest)', () => {
  const server = useServer(['--require-header', 'x-token']);
  const conns = [];
  afterEach(() => {
    for (const c of conns.splice(0)) c.close();
  });
  const MSG = 'missing header x-token';

  for (const eio of [4, 3]) {
    it(`v${eio} polling handshake without the header: 403 {"code":4,"message":"${MSG}"}`, T, async () => {
      assertForbidden(await request(server, { query: { EIO: eio, transport: 'polling' } }), MSG);
    });
  }

  it('WebSocket handshake without the header: 400 Bad Request with the message (Node abortUpgrade)', T, async () => {
    const conn = await rawConnect(server, { query: { EIO: 4, transport: 'websocket' } });
    conns.push(conn);
    assertAbortUpgrade(conn, MSG);
  });

  it('with the header (any case) both handshakes work', T, async () => {
    const { sid, open } = await handshake(server, 4, { headers: { 'X-Token': 'secret' } });
    assert.deepEqual(open.upgrades, ['websocket']);
    await assertPollingEcho(server, 4, sid, 'allowed');
    const conn = await rawConnect(server, { query: { EIO: 4, transport: 'websocket' }, headers: { 'x-token': 'secret' } });
    conns.push(conn);
    assert.equal(conn.status, 101, conn.statusLine);
    const first = await conn.nextMessage();
    assert.match(first, /^0\{"sid":"/);
    conn.sendText('4allowed');
    assert.equal(await conn.nextMessage(), '4allowed');
  });

  it('only handshakes are checked: requests and the upgrade of an allowed session need no header', T, async () => {
    const { sid } = await handshake(server, 4, { headers: { 'x-token': 't' } });
    await assertPollingEcho(server, 4, sid, 'no header needed');
    const c = await wsClient(server, { sid });
    try {
      c.send('2probe');
      assert.equal(await c.next(), '3probe');
      c.send('5');
      c.send('4upgraded without the header');
      assert.equal(await c.next(), '4upgraded without the header');
    } finally {
      c.ws.terminate();
    }
  });

  it('engine.io-client v4 with extraHeaders connects and upgrades; without them it fails', T, async () => {
    const c = await connect(4, server, { extraHeaders: { 'x-token': 'secret' } });
    try {
      await c.waitUpgrade();
      c.send('with token');
      assert.equal(await c.next(), 'with token');
    } finally {
      c.close();
    }
    await assert.rejects(connect(4, server, { transports: ['polling'], reconnection: false, timeout: 3000 * SLOW }));
    await assert.rejects(connect(4, server, { transports: ['websocket'], timeout: 3000 * SLOW }));
  });
});

describe('--transports websocket', () => {
  const server = useServer(['--transports', 'websocket']);
  const conns = [];
  afterEach(() => {
    for (const c of conns.splice(0)) c.close();
  });

  it('a polling handshake gets 400 {"code":0,"message":"Transport unknown"}', T, async () => {
    for (const eio of [4, 3]) {
      assertEioError(await request(server, { query: { EIO: eio, transport: 'polling' } }), 0, 'Transport unknown');
    }
  });

  it('WebSocket sessions open with "upgrades":[] and echo', T, async () => {
    const { conn, open } = await rawOpen(server, 4);
    conns.push(conn);
    assert.deepEqual(open.upgrades, []);
    conn.sendText('4ws only');
    assert.equal(await conn.nextMessage(), '4ws only');
    const c = await connect(4, server, { transports: ['websocket'] });
    try {
      c.send('client');
      assert.equal(await c.next(), 'client');
    } finally {
      c.close();
    }
  });
});

describe('--transports polling', () => {
  const server = useServer(['--transports', 'polling']);

  it('the open packet offers no upgrade and a WebSocket is refused', T, async () => {
    const { sid, open } = await handshake(server, 4);
    assert.deepEqual(open.upgrades, []);
    const conn = await rawConnect(server, { query: { EIO: 4, transport: 'websocket' } }).catch((e) => e);
    if (!(conn instanceof Error)) {
      conn.close();
      assert.notEqual(conn.status, 101, 'WebSocket accepted with --transports polling');
    }
    const up = await rawConnect(server, { query: { EIO: 4, transport: 'websocket', sid } }).catch((e) => e);
    if (!(up instanceof Error)) {
      up.close();
      assert.notEqual(up.status, 101, 'upgrade accepted with --transports polling');
    }
    await assertPollingEcho(server, 4, sid, 'polling only');
    await post(server, 4, sid, '1');
  });
});

describe('--no-upgrades', () => {
  const server = useServer(['--no-upgrades']);

  for (const eio of [4, 3]) {
    it(`v${eio}: the open packet has "upgrades":[] and an upgrade attempt is refused; polling goes on`, T, async () => {
      const { sid, open } = await handshake(server, eio);
      assert.deepEqual(open.upgrades, []);
      const conn = await rawConnect(server, { query: { EIO: eio, transport: 'websocket', sid } });
      try {
        if (conn.status === 101) {
          conn.sendText('2probe');
          const r = await conn.waitClose(3000 * SLOW);
          assert.deepEqual(r.data, [], `the refused probe got data: ${JSON.stringify(r.data)}`);
        } else {
          assert.equal(conn.status, 400, conn.statusLine);
        }
      } finally {
        conn.close();
      }
      await assertPollingEcho(server, eio, sid, 'no upgrade');
      await post(server, eio, sid, eio === 4 ? '1' : '1:1');
    });
  }

  it('a fresh WebSocket session is still allowed, with "upgrades":[]', T, async () => {
    const { conn, open } = await rawOpen(server, 4);
    try {
      assert.deepEqual(open.upgrades, []);
      conn.sendText('4direct');
      assert.equal(await conn.nextMessage(), '4direct');
    } finally {
      conn.close();
    }
  });

  it('engine.io-client v4 (default transports) stays on polling and echoes', T, async () => {
    const c = await connect(4, server);
    try {
      c.send('a');
      assert.equal(await c.next(), 'a');
      await sleep(300);
      assert.equal(c.transportName, 'polling');
      assert.equal(c.events.upgrade, 0);
    } finally {
      c.close();
    }
  });
});

describe('--no-eio3', () => {
  const server = useServer(['--no-eio3']);

  it('EIO=3 over polling gets 400 {"code":5,"message":"Unsupported protocol version"}', T, async () => {
    assertEioError(await request(server, { query: { EIO: 3, transport: 'polling' } }), 5, 'Unsupported protocol version');
    assertEioError(await request(server, { query: { EIO: 3, transport: 'polling', b64: 1 } }), 5, 'Unsupported protocol version');
  });

  it('EIO=3 over WebSocket never opens a session', T, async () => {
    const conn = await rawConnect(server, { query: { EIO: 3, transport: 'websocket' } });
    try {
      if (conn.status === 101) {
        // Node upgrades first and aborts afterwards; at least no open packet.
        const f = await conn.nextFrame();
        assert.ok(!(f.opcode === 1 && f.payload.toString().startsWith('0')), `EIO=3 opened a session: ${f.payload}`);
      } else {
        assertAbortUpgrade(conn, 'Unsupported protocol version');
      }
    } finally {
      conn.close();
    }
  });

  it('engine.io-client 3.x cannot connect; 6.x (EIO=4) can; no Set-Cookie without --cookie', T, async () => {
    await assert.rejects(connect(3, server, { transports: ['polling'], timeout: 3000 * SLOW }));
    const { sid, res } = await handshake(server, 4);
    assert.equal(res.headers['set-cookie'], undefined);
    await assertPollingEcho(server, 4, sid, 'v4 still fine');
    await post(server, 4, sid, '1');
    await assertServerHealthy(server);
  });
});
