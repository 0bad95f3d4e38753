'use strict';
// Raw Socket.IO packets over a raw Engine.IO WebSocket or long-polling
// session: the exact wire answers (CONNECT, CONNECT_ERROR, ACK, binary), and
// hostile input. Node's socket.io closes the Engine.IO connection when a
// packet does not parse (socket.io-parser throws, Client.onerror closes) or
// arrives in an invalid state; after each case a new client is still served.

const { describe, it, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const {
  SLOW, useSio, closeAll, rawSioWs, rawSioPolling, assertStillServes, sleep,
} = require('./lib/sio');
const { handshake, post, poll, decodeV4, expectSessionClosed, SEP } = require('./lib/server');

const T = { timeout: 15000 * SLOW };

const placeholder = (num) => ({ _placeholder: true, num });

/** Hostile inputs sent after a successful "40": [name, text messages..., binary messages...]. */
const HOSTILE = [
  ['EVENT with an object payload', ['42{}']],
  ['EVENT with a string payload', ['42"ev"']],
  ['EVENT with an empty array', ['42[]']],
  ['EVENT whose name is an object', ['42[{"a":1}]']],
  ['EVENT named "connect" (reserved)', ['42["connect"]']],
  ['EVENT named "disconnecting" (reserved)', ['42["disconnecting",1]']],
  ['EVENT named "newListener" (reserved)', ['42["newListener"]']],
  ['EVENT with truncated JSON', ['42["ev",{"a":']],
  ['EVENT with trailing garbage', ['42["ev"]xyz']],
  ['unknown packet type 9', ['49']],
  ['unknown packet type 7 with data', ['47["ev"]']],
  ['non-digit packet type', ['4x["ev"]']],
  ['DISCONNECT with a payload', ['41{"a":1}']],
  ['CONNECT with an array payload', ['40/custom,[1,2]']],
  ['CONNECT_ERROR from the client', ['44{"message":"x"}']],
  ['placeholder num "splice"', [`451-${JSON.stringify(['ev', { _placeholder: true, num: 'splice' }])}`], [Buffer.from([1])]],
  ['placeholder num out of range', [`451-${JSON.stringify(['ev', placeholder(5)])}`], [Buffer.from([1])]],
  ['11 attachments (limit 10)', [`4511-${JSON.stringify(['ev', ...Array.from({ length: 11 }, (_, i) => placeholder(i))])}`]],
  ['attachment count not a number', ['45x-["ev"]']],
  ['binary message with no BINARY packet waiting', [], [Buffer.from([1, 2, 3])]],
  ['text message while attachments are expected', [`451-${JSON.stringify(['ev', placeholder(0)])}`, '42["ev"]']],
  ['packet for a namespace not joined', ['42/custom,["echo"]']],
  ['namespace without comma and payload', ['42/custom["ev"]']],
];

async function hostileOverWs(server, texts, bins = [], eio = 4) {
  const c = await rawSioWs(server, { eio });
  for (const t of texts) c.send(t);
  for (const b of bins) c.sendBinary(b);
  const res = await c.conn.waitClose(3000 * SLOW);
  assert.ok(res.end || typeof res.code === 'number' || res.code === null, 'connection not closed');
  // Nothing but a possible close packet may come back.
  for (const d of res.data) assert.ok(d === '1' || d === '41', `unexpected answer ${JSON.stringify(String(d))}`);
  c.conn.close();
}

describe('raw Socket.IO (sio-test)', () => {
  const server = useSio('sio-test');
  afterEach(() => closeAll());

  describe('wire format', () => {
    it('v5: CONNECT answers 40{"sid"} with a new 20-character id; ACK and EVENT frames', T, async () => {
      const c = await rawSioWs(server);
      assert.match(c.sid, /^[A-Za-z0-9_-]{20}$/);
      assert.notEqual(c.sid, c.open.sid, 'socket id equals the Engine.IO sid');
      c.send('40/custom,{"token":"t"}');
      const m = await c.next();
      assert.match(m, /^40\/custom,\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
      c.send('4212["echo","a",1,{"b":[null,true]}]');
      assert.equal(await c.next(), '4312["a",1,{"b":[null,true]}]');
      c.send('42/custom,7["echo","in custom"]');
      assert.equal(await c.next(), '43/custom,7["in custom"]');
      c.send('420["handshake"]');
      const hs = JSON.parse((await c.next()).slice(3))[0];
      assert.deepEqual(hs.auth, {});
      c.send('42/custom,1["handshake"]');
      const hs2 = JSON.parse((await c.next()).slice('43/custom,1'.length))[0];
      assert.deepEqual(hs2.auth, { token: 't' });
      c.conn.close();
    });

    it('v5: binary event in, binary ack out (placeholders and attachments)', T, async () => {
      const c = await rawSioWs(server);
      c.send(`451-3${JSON.stringify(['echo', { x: placeholder(0) }, 'tail'])}`);
      c.sendBinary(Buffer.from([7, 8, 9]));
      const head = await c.next();
      assert.equal(head, `461-3${JSON.stringify([{ x: placeholder(0) }, 'tail'])}`);
      const bin = await c.next();
      assert.ok(Buffer.isBuffer(bin) && bin.equals(Buffer.from([7, 8, 9])), `attachment ${bin}`);
      c.send('425["bin"]');
      const binHead = await c.next();
      assert.equal(binHead, `462-5${JSON.stringify([placeholder(0), { nested: placeholder(1) }])}`);
      const a0 = await c.next();
      const a1 = await c.next();
      assert.equal(a0.length, 256);
      assert.ok(a1.equals(Buffer.from([1, 2, 3])));
      c.conn.close();
    });

    it('v5: refused namespaces answer CONNECT_ERROR with message (and data)', T, async () => {
      const c = await rawSioWs(server);
      c.send('40/nope,');
      assert.equal(await c.next(), '44/nope,{"message":"Invalid namespace"}');
      c.send('40/mw,{"token":"bad"}');
      assert.equal(await c.next(), '44/mw,{"message":"unauthorized","data":{"code":42}}');
      c.send('40/mw,{"token":"secret"}');
      assert.match(await c.next(), /^40\/mw,\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
      c.send('42/mw,3["echo","ok"]');
      assert.equal(await c.next(), '43/mw,3["ok"]');
      c.conn.close();
    });

    it('v4 (EIO=3): "/" connected unprompted, socket id = Engine.IO sid, ERROR carries the data', T, async () => {
      const c = await rawSioWs(server, { eio: 3 });
      assert.equal(c.sid, c.open.sid);
      c.send('421["echo","x"]');
      assert.equal(await c.next(), '431["x"]');
      c.send('40/custom,');
      assert.equal(await c.next(), '40/custom,');
      c.send('42/custom,2["echo","y"]');
      assert.equal(await c.next(), '43/custom,2["y"]');
      c.send('40/mw,');
      // Node sends err.data || err.message to protocol v4 clients.
      assert.equal(await c.next(), '44/mw,{"code":42}');
      c.send('40/mw?token=secret,');
      assert.equal(await c.next(), '40/mw,');
      c.send('451-4["echo",{"_placeholder":true,"num":0}]');
      c.sendBinary(Buffer.from([5, 6]));
      assert.equal(await c.next(), '461-4[{"_placeholder":true,"num":0}]');
      const bin = await c.next();
      // EIO3 binary frames start with the message type byte 4.
      assert.ok(Buffer.isBuffer(bin) && bin.equals(Buffer.from([4, 5, 6])), `attachment ${bin && bin.toString('hex')}`);
      c.conn.close();
    });

    it('v5 over polling: CONNECT, EVENT with ack, binary attachment as base64', T, async () => {
      const { sid, socketId } = await rawSioPolling(server);
      assert.match(socketId, /^[A-Za-z0-9_-]{20}$/);
      const r = await post(server, 4, sid, ['451-9["echo",{"_placeholder":true,"num":0}]', 'bAQID'].join(SEP));
      assert.equal(r.status, 200);
      const g = await poll(server, 4, sid);
      assert.deepEqual(decodeV4(g.text), ['461-9[{"_placeholder":true,"num":0}]', 'bAQID']);
      await post(server, 4, sid, '1');
    });
  });

  describe('hostile input over WebSocket (v5): closed, server unharmed', () => {
    for (const [name, texts, bins] of HOSTILE) {
      it(name, T, async () => {
        await hostileOverWs(server, texts, bins);
        await assertStillServes(server);
      });
    }
  });

  describe('hostile input over WebSocket (v4, EIO=3): closed, server unharmed', () => {
    for (const [name, texts, bins] of HOSTILE.filter(([n]) => !/CONNECT with an array/.test(n))) {
      it(name, T, async () => {
        await hostileOverWs(server, texts, bins, 3);
        await assertStillServes(server);
      });
    }
  });

  describe('hostile input over polling (v5): session closed, server unharmed', () => {
    const cases = [
      ['42{}', '42{}'],
      ['42["connect"]', '42["connect"]'],
      ['49', '49'],
      ['11 attachments', HOSTILE.find(([n]) => n.startsWith('11 attachments'))[1][0]],
      ['placeholder num "splice" then its attachment', `451-${JSON.stringify(['ev', { _placeholder: true, num: 'splice' }])}${SEP}bAQ==`],
      ['binary with no BINARY packet waiting', 'bAQID'],
      ['packet for a namespace not joined', '42/custom,["echo"]'],
    ];
    for (const [name, body] of cases) {
      it(name, T, async () => {
        const { sid } = await rawSioPolling(server);
        const r = await post(server, 4, sid, body);
        assert.ok(r.status === 200 || r.status === 400, `POST answered ${r.status}`);
        await expectSessionClosed(server, 4, sid);
        await assertStillServes(server);
      });
    }
  });

  describe('odd but harmless input', () => {
    it('an unknown event or an ACK for an id never used is ignored; the connection stays', T, async () => {
      const c = await rawSioWs(server);
      c.send('42["no-such-event",1]');
      c.send('43999["stray ack"]');
      c.send('421["echo","still open"]');
      assert.equal(await c.next(), '431["still open"]');
      c.conn.close();
    });

    it('deeply nested JSON does not crash the server', T, async () => {
      for (const depth of [100, 10000]) {
        const c = await rawSioWs(server);
        c.send(`420["echo",${'['.repeat(depth)}${']'.repeat(depth)}]`);
        // Either echoed or refused with a closed connection: both are fine.
        const res = await Promise.race([
          c.next(3000 * SLOW).then((m) => ({ m })).catch((e) => ({ e })),
          sleep(3000 * SLOW).then(() => ({})),
        ]);
        if (res.m !== undefined) assert.ok(String(res.m).startsWith('430['), `answer ${String(res.m).slice(0, 40)}`);
        c.conn.close();
      }
      await assertStillServes(server);
    });

    it('200 CONNECT / DISCONNECT cycles on one connection', T, async () => {
      const c = await rawSioWs(server);
      for (let i = 0; i < 200; i++) {
        c.send('40/custom,');
        const m = await c.next();
        assert.match(m, /^40\/custom,\{"sid":/);
        c.send('41/custom,');
      }
      c.send('421["echo","done"]');
      assert.equal(await c.next(), '431["done"]');
      c.conn.close();
    });
  });
});
