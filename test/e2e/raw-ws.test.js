'use strict';
// Raw WebSocket: the upgrade done by hand over net.Socket, frames no library
// would send, failed upgrades, and the polling -> WebSocket upgrade step by step.

const { describe, it, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const {
  useServer, SLOW, sleep, handshake, poll, post, decodeV4, decodeV3,
  assertEioError, assertServerHealthy, expectSidForgotten,
} = require('./lib/server');
const { frame, rawConnect, rawOpen, wsClient } = require('./lib/ws');

const T = { timeout: 15000 * SLOW };

function rssKb(pid) {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** The server must fail the connection: a close frame with one of `codes`, or (if allowEnd) a plain end. */
async function expectFailed(conn, { codes, allowEnd = true, timeout = 3000 * SLOW }) {
  const r = await conn.waitClose(timeout);
  assert.deepEqual(r.data, [], `server answered data before closing: ${JSON.stringify(r.data.map(String))}`);
  if (r.end) {
    assert.ok(allowEnd, `connection ended without a close frame (expected code ${codes.join(' or ')})`);
  } else {
    assert.ok(codes.includes(r.code), `close code ${r.code} (${r.reason}), expected ${codes.join(' or ')}`);
  }
  return r;
}

describe('raw WebSocket', () => {
  const server = useServer();
  const conns = [];
  afterEach(() => {
    for (const c of conns.splice(0)) c.close();
  });
  async function open(eio = 4) {
    const r = await rawOpen(server, eio);
    conns.push(r.conn);
    return r;
  }

  describe('handshake and echo', () => {
    for (const eio of [4, 3]) {
      it(`v${eio}: 101, open packet with upgrades [] and a 20-character sid`, T, async () => {
        const { open: o } = await open(eio);
        assert.deepEqual(Object.keys(o).sort(), ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades']);
        assert.deepEqual(o.upgrades, []);
        assert.match(o.sid, /^[A-Za-z0-9_-]{20}$/);
        assert.equal(o.pingInterval, 25000);
        assert.equal(o.pingTimeout, 20000);
        assert.equal(o.maxPayload, 1000000);
      });
    }

    it('v4: text frames echo as text, binary frames as the same raw bytes', T, async () => {
      const { conn } = await open(4);
      conn.sendText('4héllo 😀');
      assert.equal(await conn.nextMessage(), '4héllo 😀');
      const bin = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x34]);
      conn.sendBinary(bin);
      const got = await conn.nextMessage();
      assert.ok(Buffer.isBuffer(got) && got.equals(bin), `binary echo: ${got}`);
      // A 70000-byte text message (64-bit length field).
      const big = `4${'z'.repeat(70000)}`;
      conn.sendText(big);
      assert.equal(await conn.nextMessage(), big);
    });

    it('v3: binary frames carry the type byte 4 before the data', T, async () => {
      const { conn } = await open(3);
      const bin = Buffer.from([4, 9, 8, 7, 0xff]);
      conn.sendBinary(bin);
      const got = await conn.nextMessage();
      assert.ok(Buffer.isBuffer(got) && got.equals(bin), `binary echo: ${got && got.toString('hex')}`);
      conn.sendText('4text');
      assert.equal(await conn.nextMessage(), '4text');
    });

    it('reassembles a fragmented message and answers a ping sent between the fragments', T, async () => {
      const { conn } = await open(4);
      conn.send(frame({ opcode: 1, fin: false, payload: '4frag' }));
      conn.send(frame({ opcode: 9, payload: 'ping-data' }));
      conn.send(frame({ opcode: 0, fin: false, payload: 'men' }));
      conn.send(frame({ opcode: 0, fin: true, payload: 'ted 😀' }));
      const pong = await conn.nextFrame();
      assert.equal(pong.opcode, 10, `expected a pong, got opcode ${pong.opcode}`);
      assert.equal(pong.payload.toString(), 'ping-data');
      assert.equal(pong.masked, false, 'server frames must not be masked');
      assert.equal(await conn.nextMessage(), '4fragmented 😀');
    });

    it('splits nothing: a frame sent one byte at a time still echoes', T, async () => {
      const { conn } = await open(4);
      const f = frame({ opcode: 1, payload: '4slowly' });
      for (const b of f) {
        conn.send(Buffer.from([b]));
        await sleep(2);
      }
      assert.equal(await conn.nextMessage(), '4slowly');
    });

    it('answers a close frame with a close frame and ends the session', T, async () => {
      const { conn, open: o } = await open(4);
      conn.send(frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }));
      const r = await conn.waitClose();
      assert.ok(!r.end, 'no close frame in answer to the client close');
      assert.ok(r.code === 1000 || r.code === null, `close code ${r.code}`);
      await expectSidForgotten(server, 4, o.sid);
    });

    it('a close-me message closes the WebSocket session', T, async () => {
      const { conn } = await open(4);
      conn.sendText('4close-me');
      const r = await conn.waitClose();
      assert.deepEqual(r.data.filter((d) => d !== '1'), [], 'close-me was echoed');
    });
  });

  describe('hostile frames fail the connection; the server goes on', () => {
    const cases = [
      ['RSV1 set (no extension negotiated)', () => frame({ payload: '4x', rsv: 4 }), [1002]],
      ['RSV2 set', () => frame({ payload: '4x', rsv: 2 }), [1002]],
      ['RSV3 set', () => frame({ payload: '4x', rsv: 1 }), [1002]],
      ['unmasked client frame', () => frame({ payload: '4x', mask: false }), [1002]],
      ['reserved opcode 3', () => frame({ opcode: 3, payload: '4x' }), [1002]],
      ['reserved control opcode 0xB', () => frame({ opcode: 0xb, payload: '' }), [1002]],
      ['continuation without a first fragment', () => frame({ opcode: 0, payload: '4x' }), [1002]],
      ['ping with a 126-byte payload', () => frame({ opcode: 9, payload: Buffer.alloc(126, 0x61) }), [1002]],
      ['fragmented ping', () => frame({ opcode: 9, fin: false, payload: 'p' }), [1002]],
      ['new text frame inside a fragmented message', () => Buffer.concat([
        frame({ opcode: 1, fin: false, payload: '4a' }), frame({ opcode: 1, payload: 'b' }),
      ]), [1002]],
      ['64-bit length with the top bit set', () => frame({ opcode: 2, declaredLength: 2n ** 63n + 5n }), [1002, 1009]],
      ['close frame with a 1-byte payload', () => frame({ opcode: 8, payload: Buffer.from([3]) }), [1002]],
    ];
    for (const [name, make, codes] of cases) {
      it(name, T, async () => {
        const { conn } = await open(4);
        conn.send(make());
        await expectFailed(conn, { codes });
        await assertServerHealthy(server);
      });
    }

    it('text frame with invalid UTF-8 -> close 1007', T, async () => {
      const { conn } = await open(4);
      conn.send(frame({ opcode: 1, payload: Buffer.from([0x34, 0xc3, 0x28, 0x61]) }));
      await expectFailed(conn, { codes: [1007], allowEnd: false });
      await assertServerHealthy(server);
    });

    it('text frame with UTF-8 split across fragments invalid only at the end -> close 1007', T, async () => {
      const { conn } = await open(4);
      conn.send(frame({ opcode: 1, fin: false, payload: Buffer.from([0x34, 0xf0, 0x9f]) }));
      conn.send(frame({ opcode: 0, fin: true, payload: Buffer.from([0x98]) })); // truncated 4-byte sequence
      await expectFailed(conn, { codes: [1007], allowEnd: false });
      await assertServerHealthy(server);
    });

    it('frame declaring 2^40 bytes -> close 1009 at once, without spending memory', T, async () => {
      const { conn } = await open(4);
      const before = rssKb(server.proc.pid);
      const t0 = Date.now();
      conn.send(frame({ opcode: 2, declaredLength: 2n ** 40n }));
      await expectFailed(conn, { codes: [1009], allowEnd: false, timeout: 1000 * SLOW });
      const took = Date.now() - t0;
      assert.ok(took < 1000 * SLOW, `took ${took} ms`);
      const grown = rssKb(server.proc.pid) - before;
      assert.ok(grown < 64 * 1024, `server RSS grew by ${grown} kB`);
      await assertServerHealthy(server);
    });

    for (const [name, payload] of [['"9"', '9'], ['empty ""', ''], ['"x"', 'x'], ['"{json}"', '{"a":1}']]) {
      it(`text message that is not an Engine.IO packet: ${name}`, T, async () => {
        const { conn, open: o } = await open(4);
        conn.sendText(payload);
        const r = await conn.waitClose();
        assert.deepEqual(r.data.filter((d) => d !== '1'), [], `server answered ${JSON.stringify(r.data)}`);
        await expectSidForgotten(server, 4, o.sid);
        await assertServerHealthy(server);
      });
    }

    it('v3: binary frame without a valid type byte (0x09) is not echoed', T, async () => {
      // Node ignores a packet of unknown type here; closing is fine too.
      const { conn } = await open(3);
      conn.sendBinary(Buffer.from([9, 1, 2]));
      conn.sendText('4after');
      const f = await conn.nextFrame();
      if (f.end || f.opcode === 8) {
        await assertServerHealthy(server);
        return;
      }
      assert.equal(f.opcode, 1, `server answered opcode ${f.opcode}: ${f.payload && f.payload.toString('hex')}`);
      assert.equal(f.payload.toString(), '4after');
    });

    it('garbage instead of frames after the upgrade', T, async () => {
      const { conn } = await open(4);
      conn.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      const r = await conn.waitClose();
      assert.deepEqual(r.data, []);
      await assertServerHealthy(server);
    });
  });

  describe('failed upgrade requests get HTTP 400 (Node abortUpgrade)', () => {
    async function expect400(opts, message) {
      const conn = await rawConnect(server, opts);
      conns.push(conn);
      assert.match(conn.statusLine, /^HTTP\/1\.1 400 Bad Request/);
      if (message !== undefined) {
        assert.match(String(conn.headers['content-type']), /^text\/html/i);
        assert.equal(conn.body.toString(), message);
      }
    }

    it('unknown sid -> "Session ID unknown"', T, async () => {
      await expect400({ query: { EIO: 4, transport: 'websocket', sid: 'AAAAAAAAAAAAAAAAAAAA' } }, 'Session ID unknown');
    });

    it('unknown transport -> "Transport unknown"', T, async () => {
      await expect400({ query: { EIO: 4, transport: 'smoke-signals' } }, 'Transport unknown');
    });

    it('missing transport -> "Transport unknown"', T, async () => {
      await expect400({ query: { EIO: 4 } }, 'Transport unknown');
    });

    it('missing Sec-WebSocket-Key -> 400', T, async () => {
      await expect400({ omit: ['Sec-WebSocket-Key'] });
    });

    it('Sec-WebSocket-Version 12 -> refused', T, async () => {
      const conn = await rawConnect(server, { headers: { 'Sec-WebSocket-Version': '12' } });
      conns.push(conn);
      assert.ok(conn.status === 400 || conn.status === 426, conn.statusLine);
    });

    it('EIO=5 over websocket never opens a session', T, async () => {
      const conn = await rawConnect(server, { query: { EIO: 5, transport: 'websocket' } });
      conns.push(conn);
      if (conn.status === 101) {
        // Node upgrades first and aborts afterwards; at least no open packet.
        const f = await conn.nextFrame();
        assert.ok(!(f.opcode === 1 && f.payload.toString().startsWith('0')), `EIO=5 opened a session: ${f.payload}`);
      } else {
        assert.match(conn.statusLine, /^HTTP\/1\.1 400 Bad Request/);
        assert.equal(conn.body.toString(), 'Unsupported protocol version');
      }
      await assertServerHealthy(server);
    });
  });

  describe('upgrade of a polling session, step by step', () => {
    for (const eio of [4, 3]) {
      const dec = eio === 4 ? decodeV4 : decodeV3;
      const enc = eio === 4 ? (p) => p : (p) => `${p.length}:${p}`;
      it(`v${eio}: 2probe -> 3probe, pending GET gets 6, then 5; queued message not lost`, T, async () => {
        const { sid } = await handshake(server, eio);
        const pending = poll(server, eio, sid);
        await sleep(50);
        const c = await wsClient(server, { eio, sid });
        try {
          c.send('2probe');
          assert.equal(await c.next(), '3probe');
          const g = await pending;
          assert.equal(g.status, 200);
          assert.deepEqual(dec(g.text), ['6'], `pending GET got ${JSON.stringify(g.text)}`);
          // Echoed while no GET is waiting and before "5": must wait in the buffer.
          const p = await post(server, eio, sid, enc('4queued during upgrade'));
          assert.equal(p.status, 200);
          c.send('5');
          assert.equal(await c.next(), '4queued during upgrade');
          c.send('4over websocket');
          assert.equal(await c.next(), '4over websocket');
          const bin = eio === 4 ? Buffer.from([1, 2, 3]) : Buffer.from([4, 1, 2, 3]);
          c.send(bin);
          const got = await c.next();
          assert.ok(Buffer.isBuffer(got) && got.equals(bin));
          // Polling is over for this session.
          assertEioError(await poll(server, eio, sid), 3, 'Bad request');
        } finally {
          c.ws.terminate();
        }
        await expectSidForgotten(server, eio, sid);
      });
    }
  });
});

describe('raw WebSocket with --max-payload 1000', () => {
  const server = useServer(['--max-payload', '1000']);
  const conns = [];
  afterEach(() => {
    for (const c of conns.splice(0)) c.close();
  });

  it('echoes a 1000-byte message', T, async () => {
    const { conn } = await rawOpen(server, 4);
    conns.push(conn);
    const b = Buffer.alloc(1000, 7);
    conn.sendBinary(b);
    const got = await conn.nextMessage();
    assert.ok(Buffer.isBuffer(got) && got.equals(b));
  });

  it('closes with 1009 on a 1001-byte message', T, async () => {
    const { conn } = await rawOpen(server, 4);
    conns.push(conn);
    conn.sendBinary(Buffer.alloc(1001, 7));
    await expectFailed(conn, { codes: [1009], allowEnd: false });
    await assertServerHealthy(server);
  });

  it('closes with 1009 when fragments add up to more than the limit', T, async () => {
    const { conn } = await rawOpen(server, 4);
    conns.push(conn);
    conn.send(frame({ opcode: 1, fin: false, payload: `4${'a'.repeat(599)}` }));
    conn.send(frame({ opcode: 0, fin: true, payload: 'b'.repeat(600) }));
    await expectFailed(conn, { codes: [1009], allowEnd: false });
    await assertServerHealthy(server);
  });
});
