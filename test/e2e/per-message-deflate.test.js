'use strict';
// perMessageDeflate: the WebSocket permessage-deflate extension (RFC 7692).
// Raw checks run against build/eio-echo --per-message-deflate ([c]) and the
// Node reference, engine.io 6.6 with perMessageDeflate: true on ws 8
// (fixtures/node-eio-echo.js, [node]): the negotiation answers and refusals
// (ws's), compressed frames read back, compressed client messages inflated
// (fragmented too, with a client window of 9 bits, with the client's context
// kept across messages), the inflated-size limit (1009), RSV1 where it may
// not be (1002), the fragment-count limit (1008, ws's maxFragments).
//
// Where the two differ on purpose, the check runs on [c] only and says why:
// engine.io 6.6 sends every WebSocket message with ws's compress: true (it
// passes no per-packet options), so with context takeover ws compresses even
// a 1-byte ping and ignores compress(false); the C server applies the
// documented threshold (1024) and compress flag in every case. With
// server_no_context_takeover offered, ws applies the threshold too, so there
// both are checked. Then the real clients (engine.io-client 6 and
// socket.io-client 4 over ws, which offers permessage-deflate by default) and
// compress(false) from sio-test over WebSocket (RSV1 clear) and over polling
// (httpCompression skipped when every packet says false, checked against
// Node's socket.io too: lib/twin.js).
//
// In TLS mode (E2E_TLS=1) the same runs over TLS (the twin aside).

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const { startServer, stopAndCheckAs, handshake, post, poll, SLOW } = require('./lib/server');
const { startSio, stopAndCheck, createSocket, waitConnect, once } = require('./lib/sio');
const { frame, rawConnect, wsClient } = require('./lib/ws');
const { TWIN_SKIP, startTwin } = require('./lib/twin');

const { EIO_KINDS: KINDS, useEioPair: usePair } = require('./lib/eiopair');

/** n bytes of chat-like ASCII, the same every run. */
function text(n, seed = 12345) {
  const words = ['hello', 'socket', 'engine', '{"room":', 'payload', 'message', 'chat', '42', 'deflate'];
  let s = '';
  let x = seed;
  while (s.length < n) {
    x = (x * 1103515245 + 12345) % 2147483648;
    s += words[x % words.length] + ' ';
  }
  return s.slice(0, n);
}

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const SYNC = { finishFlush: zlib.constants.Z_SYNC_FLUSH };

/** A message compressed alone, as a frame payload (tail removed). */
function deflate(data, windowBits = 15) {
  const out = zlib.deflateRawSync(Buffer.from(data), { ...SYNC, windowBits });
  return out.subarray(0, out.length - 4);
}

/** A server frame payload (no context: each message on its own). */
function inflate(payload) {
  return zlib.inflateRawSync(Buffer.concat([payload, TAIL]), SYNC);
}

/** A client deflater that keeps its context across messages, as ws's does. */
function contextDeflater(windowBits = 15) {
  const d = zlib.createDeflateRaw({ windowBits });
  let chunks = [];
  d.on('data', (c) => chunks.push(c));
  return {
    compress(data) {
      return new Promise((resolve) => {
        d.write(Buffer.from(data));
        d.flush(zlib.constants.Z_SYNC_FLUSH, () => {
          const out = Buffer.concat(chunks);
          chunks = [];
          resolve(out.subarray(0, out.length - 4));
        });
      });
    },
    close() { d.close(); },
  };
}

async function open(server, ext) {
  const headers = ext === undefined ? {} : { 'Sec-WebSocket-Extensions': ext };
  const conn = await rawConnect(server, { headers });
  assert.equal(conn.status, 101, `upgrade answered ${conn.statusLine}`);
  const f = await conn.nextFrame();
  assert.equal(f.opcode, 1);
  assert.equal(f.rsv, 0, 'the open packet is small: sent plain');
  assert.equal(f.payload.toString()[0], '0');
  return conn;
}

/** Next data frame, decoded: { rsv, opcode, data (string or Buffer) }. */
async function nextData(conn) {
  const f = await conn.nextFrame();
  assert.ok(!f.end, 'connection ended');
  assert.ok(f.opcode === 1 || f.opcode === 2, `expected a data frame, got opcode ${f.opcode}`);
  assert.ok(f.fin, 'fragmented answer');
  const raw = f.rsv & 4 ? inflate(f.payload) : f.payload;
  return { rsv: f.rsv, opcode: f.opcode, wire: f.payload.length, data: f.opcode === 1 ? raw.toString() : raw };
}

async function expectClose(conn, code) {
  const r = await conn.waitClose(5000 * SLOW);
  assert.ok(!r.end, `connection ended without a close frame (expected ${code})`);
  assert.equal(r.code, code, `close code ${r.code} (${r.reason})`);
  assert.deepEqual(r.data.map(String), [], 'no data before the close');
}

const REFUSED = 'Invalid or unacceptable Sec-WebSocket-Extensions header';
// Offered where frames from both servers are decoded one by one: without it
// ws compresses every frame (the open packet too) with its context.
const NCT = 'permessage-deflate; server_no_context_takeover';

describe('perMessageDeflate on: [c] and [node] alike', () => {
  const pair = usePair(['--per-message-deflate']);
  const conns = [];
  after(() => conns.forEach((c) => c.close()));

  for (const kind of ['c', 'node']) {
    test(`[${kind}] offers answered as ws answers them`, async () => {
      const cases = [
        ['permessage-deflate; client_max_window_bits', 'permessage-deflate'],
        ['permessage-deflate', 'permessage-deflate'],
        ['permessage-deflate; server_no_context_takeover; client_no_context_takeover',
          'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
        ['permessage-deflate; client_max_window_bits=10; server_max_window_bits=9, permessage-deflate',
          'permessage-deflate; client_max_window_bits=10; server_max_window_bits=9'],
        ['x-webkit-deflate-frame, permessage-deflate; server_max_window_bits="0x0c"',
          'permessage-deflate; server_max_window_bits=12'],
        ['x-webkit-deflate-frame', undefined],
      ];
      for (const [offer, answer] of cases) {
        const conn = await rawConnect(pair[kind], { headers: { 'Sec-WebSocket-Extensions': offer } });
        conns.push(conn);
        assert.equal(conn.status, 101, `${offer}: ${conn.statusLine}`);
        assert.equal(conn.headers['sec-websocket-extensions'], answer, offer);
        conn.close();
      }
    });

    test(`[${kind}] bad offers refused with 400, as ws refuses them`, async () => {
      const bad = [
        'permessage-deflate; server_max_window_bits=7',
        'permessage-deflate; client_max_window_bits=16',
        'permessage-deflate; foo',
        'permessage-deflate;',
        'permessage-deflate; client_max_window_bits; client_max_window_bits',
        'permessage-deflate; server_no_context_takeover=1',
        'permessage-deflate; server_max_window_bits',
        'permessage-deflate, permessage-deflate; foo',
      ];
      for (const offer of bad) {
        const conn = await rawConnect(pair[kind], { headers: { 'Sec-WebSocket-Extensions': offer } });
        conns.push(conn);
        assert.equal(conn.status, 400, `${offer}: ${conn.statusLine}`);
        assert.equal(conn.body.toString(), REFUSED, offer);
        conn.close();
      }
    });

    test(`[${kind}] server_no_context_takeover: small frames plain, 1024 bytes and more RSV1`, async () => {
      const conn = await open(pair[kind], 'permessage-deflate; server_no_context_takeover; client_max_window_bits');
      conns.push(conn);
      conn.sendText('4hi');
      let m = await nextData(conn);
      assert.equal(m.rsv, 0);
      assert.equal(m.data, '4hi');
      const big = `4${text(3000)}`;
      conn.sendText(big);
      m = await nextData(conn);
      assert.equal(m.rsv, 4, 'a 3000-byte message goes out compressed');
      assert.ok(m.wire < 1500, `compressed to ${m.wire} bytes`);
      assert.equal(m.data, big);
      const bin = Buffer.alloc(2000, 7);
      conn.sendBinary(bin);
      m = await nextData(conn);
      assert.equal(m.rsv, 4);
      assert.equal(m.opcode, 2);
      assert.deepEqual(m.data, bin);
      conn.close();
    });

    test(`[${kind}] compressed client messages inflated: whole, fragmented, with context`, async () => {
      const conn = await open(pair[kind], 'permessage-deflate; server_no_context_takeover; client_max_window_bits');
      conns.push(conn);
      const a = `4${text(5000, 1)}`;
      conn.send(frame({ opcode: 1, rsv: 4, payload: deflate(a) }));
      assert.equal((await nextData(conn)).data, a);
      // The client's context kept across messages: the second refers to the first.
      const cd = contextDeflater();
      const b = `4${text(4000, 2)}`;
      conn.send(frame({ opcode: 1, rsv: 4, payload: await cd.compress(b) }));
      assert.equal((await nextData(conn)).data, b);
      const again = await cd.compress(b);
      assert.ok(again.length < 64, 'the repeat is a back-reference');
      conn.send(frame({ opcode: 1, rsv: 4, payload: again }));
      assert.equal((await nextData(conn)).data, b);
      // Fragmented: RSV1 on the first frame only.
      const z = await cd.compress(a);
      const cut1 = Math.floor(z.length / 3);
      const cut2 = Math.floor((2 * z.length) / 3);
      conn.send(Buffer.concat([
        frame({ opcode: 1, rsv: 4, fin: false, payload: z.subarray(0, cut1) }),
        frame({ opcode: 0, fin: false, payload: z.subarray(cut1, cut2) }),
        frame({ opcode: 9, payload: 'ping' }),
        frame({ opcode: 0, payload: z.subarray(cut2) }),
      ]));
      const pong = await conn.nextFrame();
      assert.equal(pong.opcode, 10);
      assert.equal(pong.rsv, 0);
      assert.equal((await nextData(conn)).data, a);
      // A small compressed message gets a plain answer.
      conn.send(frame({ opcode: 1, rsv: 4, payload: await cd.compress('4small') }));
      const m = await nextData(conn);
      assert.equal(m.rsv, 0);
      assert.equal(m.data, '4small');
      cd.close();
      conn.close();
    });

    test(`[${kind}] a client window of 9 bits`, async () => {
      const conn = await rawConnect(pair[kind], {
        headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits=9; server_no_context_takeover' },
      });
      conns.push(conn);
      assert.equal(conn.headers['sec-websocket-extensions'],
        'permessage-deflate; client_max_window_bits=9; server_no_context_takeover');
      await conn.nextFrame();
      const a = `4${text(6000, 3)}`;
      conn.send(frame({ opcode: 1, rsv: 4, payload: deflate(a, 9) }));
      assert.equal((await nextData(conn)).data, a);
      conn.close();
    });

    test(`[${kind}] RSV1 where it may not be: 1002`, async () => {
      let conn = await open(pair[kind], NCT);
      conns.push(conn);
      conn.send(Buffer.concat([
        frame({ opcode: 1, fin: false, payload: '4ab' }),
        frame({ opcode: 0, rsv: 4, payload: deflate('cd') }),
      ]));
      await expectClose(conn, 1002);
      conn = await open(pair[kind], NCT);
      conns.push(conn);
      conn.send(frame({ opcode: 9, rsv: 4, payload: deflate('x') }));
      await expectClose(conn, 1002);
      conn = await open(pair[kind], NCT);
      conns.push(conn);
      conn.send(frame({ opcode: 1, rsv: 2, payload: '4ab' })); // RSV2
      await expectClose(conn, 1002);
      // Not negotiated: RSV1 is refused.
      conn = await open(pair[kind]);
      conns.push(conn);
      assert.equal(conn.headers['sec-websocket-extensions'], undefined);
      conn.send(frame({ opcode: 1, rsv: 4, payload: deflate('4hello') }));
      await expectClose(conn, 1002);
      // Data that does not inflate: 1007.
      conn = await open(pair[kind], NCT);
      conns.push(conn);
      conn.send(frame({ opcode: 1, rsv: 4, payload: Buffer.from([0xff, 0xff, 0xff]) }));
      await expectClose(conn, 1007);
    });

    test(`[${kind}] fragments: 16384 make a message, the 16385th closes with 1008`, async () => {
      const conn = await open(pair[kind]);
      conns.push(conn);
      const frames = [frame({ opcode: 1, fin: false, payload: '4x' })];
      for (let i = 2; i < 16384; i++) frames.push(frame({ opcode: 0, fin: false }));
      frames.push(frame({ opcode: 0, payload: 'y' }));
      conn.send(Buffer.concat(frames));
      assert.equal((await nextData(conn)).data, '4xy');
      frames.length = 0;
      frames.push(frame({ opcode: 1, fin: false, payload: '4x' }));
      for (let i = 2; i <= 16385; i++) frames.push(frame({ opcode: 0, fin: false }));
      conn.send(Buffer.concat(frames));
      await expectClose(conn, 1008);
    });
  }
});

describe('perMessageDeflate: the inflated size is what maxPayload limits', () => {
  const pair = usePair(['--per-message-deflate', '--max-payload', '10000']);
  for (const kind of ['c', 'node']) {
    test(`[${kind}] 20000 bytes from a few dozen on the wire: 1009`, async () => {
      let conn = await open(pair[kind], NCT);
      const ok = `4${'a'.repeat(9000)}`;
      conn.send(frame({ opcode: 1, rsv: 4, payload: deflate(ok) }));
      assert.equal((await nextData(conn)).data, ok);
      const bomb = deflate(`4${'a'.repeat(20000)}`);
      assert.ok(bomb.length < 100);
      conn.send(frame({ opcode: 1, rsv: 4, payload: bomb }));
      await expectClose(conn, 1009);
      conn.close();
      // Split over fragments, the sum counts.
      conn = await open(pair[kind], NCT);
      const z = deflate(`4${text(12000)}`);
      conn.send(Buffer.concat([
        frame({ opcode: 1, rsv: 4, fin: false, payload: z.subarray(0, 10) }),
        frame({ opcode: 0, payload: z.subarray(10) }),
      ]));
      await expectClose(conn, 1009);
      conn.close();
    });
  }
});

describe('perMessageDeflate off (the default): [c] and [node] alike', () => {
  const pair = usePair([]);
  for (const kind of ['c', 'node']) {
    test(`[${kind}] the offer is not answered; RSV1 closes with 1002`, async () => {
      const conn = await open(pair[kind], 'permessage-deflate; client_max_window_bits');
      assert.equal(conn.headers['sec-websocket-extensions'], undefined);
      conn.sendText(`4${text(3000)}`);
      assert.equal((await nextData(conn)).rsv, 0);
      conn.send(frame({ opcode: 1, rsv: 4, payload: deflate('4hello') }));
      await expectClose(conn, 1002);
      conn.close();
    });
  }
});

describe('perMessageDeflate on [c]: threshold, clients, compress(false)', () => {
  let server;
  before(async () => { server = await startServer(['--per-message-deflate']); });
  after(async () => { if (server) await stopAndCheckAs(server, 'eio-echo'); });

  // engine.io 6.6 passes no options to ws.send, so ws compresses every
  // message under context takeover (a "2" ping too): this threshold is the
  // documented one (engine.io's perMessageDeflate.threshold, 1024).
  test('[c] with context takeover (the clients\' offer): RSV1 from 1024 payload bytes on', async () => {
    const conn = await open(server, 'permessage-deflate; client_max_window_bits');
    conn.sendText(`4${'z'.repeat(1022)}`); // payload 1023
    let m = await nextData(conn);
    assert.equal(m.rsv, 0);
    assert.equal(m.data.length, 1023);
    conn.sendText(`4${'z'.repeat(1023)}`); // payload 1024
    m = await nextData(conn);
    assert.equal(m.rsv, 4);
    assert.equal(m.data, `4${'z'.repeat(1023)}`);
    // Each message is compressed alone: it inflates without the earlier ones.
    conn.sendText(`4${'z'.repeat(1023)}`);
    m = await nextData(conn);
    assert.equal(m.rsv, 4);
    assert.equal(m.data, `4${'z'.repeat(1023)}`);
    conn.close();
  });

  test('[c] engine.io-client-style ws client: mixed sizes echo, extension agreed', async () => {
    const c = await wsClient(server);
    try {
      assert.equal(c.ws.extensions, 'permessage-deflate');
      for (const n of [1, 100, 1023, 1024, 5000, 200000]) {
        const msg = `4${text(n, n)}`;
        c.send(msg);
        assert.equal(await c.next(), msg);
      }
      const bin = Buffer.from(text(3000));
      c.send(bin);
      assert.deepEqual(await c.next(), bin);
    } finally {
      c.ws.terminate();
    }
  });

  test('[c] engine.io-client 6 over WebSocket', async () => {
    const { Socket } = require('engine.io-client');
    const sock = new Socket(server.httpUrl, { path: server.path, transports: ['websocket'] });
    try {
      await new Promise((res, rej) => { sock.on('open', res); sock.on('error', rej); });
      const got = [];
      sock.on('message', (m) => got.push(m));
      const msgs = [text(10), text(2000, 5), text(70000, 6)];
      for (const m of msgs) sock.send(m);
      const deadline = Date.now() + 5000 * SLOW;
      while (got.length < msgs.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(got, msgs);
    } finally {
      sock.close();
    }
  });
});

describe('perMessageDeflate in sio-echo and sio-test', () => {
  let echo;
  let st;
  before(async () => {
    echo = await startSio('sio-echo', ['--per-message-deflate']);
    st = await startSio('sio-test', ['--per-message-deflate']);
  });
  after(async () => {
    if (echo) await stopAndCheck(echo);
    if (st) await stopAndCheck(st);
  });

  test('[c] socket.io-client 4 over WebSocket: large and small messages', async () => {
    const sock = createSocket(4, echo, '/', { transports: ['websocket'] });
    try {
      await waitConnect(sock);
      for (const msg of ['hi', text(5000, 9), { nested: text(3000, 10) }]) {
        const back = once(sock, 'message-back');
        sock.emit('message', msg);
        assert.deepEqual(await back, [msg]);
      }
    } finally {
      sock.close();
    }
  });

  /** A raw Socket.IO v5 connection over WebSocket to the main namespace. */
  async function sioRaw(ext) {
    const conn = await rawConnect(st, { query: { EIO: 4, transport: 'websocket' }, headers: { 'Sec-WebSocket-Extensions': ext } });
    assert.equal(conn.status, 101);
    await conn.nextFrame(); // open
    conn.sendText('40');
    const ok = await nextData(conn);
    assert.ok(ok.data.startsWith('40'), ok.data);
    return conn;
  }

  test('[c] compress(false) goes out without RSV1; the default compresses', async () => {
    const conn = await sioRaw('permessage-deflate; client_max_window_bits');
    const big = text(3000, 4);
    for (const [opts, rsv] of [[{ compress: false }, 0], [{}, 4], [{ compress: true }, 4]]) {
      conn.sendText(`42${JSON.stringify(['emit-to', opts, 'big', big])}`);
      const m = await nextData(conn);
      assert.equal(m.rsv, rsv, `emit-to ${JSON.stringify(opts)}`);
      assert.equal(m.data, `42${JSON.stringify(['big', big])}`);
    }
    conn.close();
  });
});

describe('compress(false) over polling: httpCompression skipped when every packet says false', () => {
  const servers = {};
  before(async () => {
    servers.c = await startSio('sio-test', []);
    if (!TWIN_SKIP) servers.node = await startTwin([]);
  });
  after(async () => {
    if (servers.c) await stopAndCheck(servers.c);
    if (servers.node) await servers.node.stop();
  });
  for (const kind of ['c', 'node']) {
    test(`[${kind}] a payload of compress(false) packets goes plain, with a default one gzip`, { skip: kind === 'node' && TWIN_SKIP }, async () => {
      const server = servers[kind];
      const { sid } = await handshake(server, 4);
      await post(server, 4, sid, '40');
      const conn = await poll(server, 4, sid);
      assert.ok(conn.text.startsWith('40'), conn.text);
      const big = text(3000, 8);
      const gz = { 'Accept-Encoding': 'gzip' };
      await post(server, 4, sid, `42${JSON.stringify(['emit-to', { compress: false }, 'big', big])}`);
      let res = await poll(server, 4, sid, { headers: gz });
      assert.equal(res.headers['content-encoding'], undefined);
      assert.equal(res.text, `42${JSON.stringify(['big', big])}`);
      await post(server, 4, sid, `42${JSON.stringify(['emit-to', {}, 'big', big])}`);
      res = await poll(server, 4, sid, { headers: gz });
      assert.equal(res.headers['content-encoding'], 'gzip');
      assert.equal(zlib.gunzipSync(res.body).toString(), `42${JSON.stringify(['big', big])}`);
    });
  }
});
