'use strict';
// build/sio-echo, the interoperability server, with socket.io-client 4.x, 3.x
// and 2.x over polling only, websocket only, and polling then upgrade:
// namespaces "/" and "/custom", the "auth" event, "message" -> "message-back",
// "message-with-ack" acknowledged with the same arguments, binary both ways,
// several namespaces on one connection, unknown namespaces refused.

const { describe, it, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const {
  SLOW, VERSIONS, MODES, CLIENTS, useSio, connectClient, createSocket, createManager, waitConnect,
  ack, once, closeAll, bytes, transportName, sleep, assertStillServes, connectFailure,
} = require('./lib/sio');
const { request, handshake, post, poll, decodeV4 } = require('./lib/server');

const T = { timeout: 15000 * SLOW };

const UNICODE = [
  'héllo wörld',
  'emoji 😀👍🏽🏳️‍🌈 end',
  'line\u2028sep\u2029para',
  '日本語のテキスト',
  'nul\u0000inside',
  '"quotes" \\backslash\\ \n\r\t\u0001\u001f',
  '{"_placeholder":true,"num":0}',
];
const NUMBERS = [0, -1, 42, 3.5, 0.1, 1 / 3, -1e-7, 1e21, 2 ** 53 - 1, -(2 ** 53) + 1, 1.7976931348623157e308, 5e-324];
const NESTED = {
  a: { b: { c: [1, 2, { d: null, e: true, f: false }] } },
  empty: {},
  list: [],
  z: 'last',
  '': 'empty key',
  'clé': ['ü', 0.5],
};

describe('sio-echo', () => {
  const server = useSio('sio-echo');
  afterEach(() => closeAll());

  for (const version of VERSIONS) {
    describe(CLIENTS[version].label, () => {
      for (const mode of MODES) {
        describe(mode.name, () => {
          const auth = { token: 'abc', n: 1, nested: { ok: true } };

          it('connects to "/" and gets "auth" with the CONNECT payload', T, async () => {
            const s = await connectClient(version, server, '/', { mode, auth });
            const [got] = await s.inbox.next('auth');
            // socket.io-client 2.x (protocol v4) has no CONNECT payload: {}.
            assert.deepEqual(got, version === 2 ? {} : auth);
            if (version === 2) {
              // v4 protocol: the socket id of "/" is the Engine.IO sid.
              assert.equal(s.id, s.io.engine.id);
            } else {
              assert.match(s.id, /^[A-Za-z0-9_-]{20}$/);
              assert.notEqual(s.id, s.io.engine.id, 'socket id must not be the Engine.IO sid');
            }
          });

          it('connects to "/custom" and gets "auth" there', T, async () => {
            const s = await connectClient(version, server, '/custom', { mode, auth: { custom: 'yes' } });
            const [got] = await s.inbox.next('auth');
            assert.deepEqual(got, version === 2 ? {} : { custom: 'yes' });
            if (version === 2) assert.equal(s.id, `/custom#${s.io.engine.id}`);
            else assert.match(s.id, /^[A-Za-z0-9_-]{20}$/);
            s.emit('message', 'in custom');
            assert.deepEqual(await s.inbox.next('message-back'), ['in custom']);
          });

          it('gets "auth" {} when the client sends no auth', T, async () => {
            const s = await connectClient(version, server, '/', { mode });
            assert.deepEqual(await s.inbox.next('auth'), [{}]);
          });

          it('echoes strings, numbers, nested objects and unicode in "message-back"', T, async () => {
            const s = await connectClient(version, server, '/', { mode });
            s.emit('message', 'hello');
            s.emit('message', ...NUMBERS);
            s.emit('message', NESTED, [NESTED], null, true, false);
            s.emit('message', ...UNICODE);
            s.emit('message');
            s.emit('message', 1, '2', [3], { 4: 5 }, null, 'six', 7, 8, 9, 'ten', 11);
            assert.deepEqual(await s.inbox.next('message-back'), ['hello']);
            assert.deepEqual(await s.inbox.next('message-back'), NUMBERS);
            const nested = await s.inbox.next('message-back');
            assert.deepEqual(nested, [NESTED, [NESTED], null, true, false]);
            assert.equal(JSON.stringify(nested[0]), JSON.stringify(NESTED), 'key order changed');
            assert.deepEqual(await s.inbox.next('message-back'), UNICODE);
            assert.deepEqual(await s.inbox.next('message-back'), []);
            assert.deepEqual(await s.inbox.next('message-back'), [1, '2', [3], { 4: 5 }, null, 'six', 7, 8, 9, 'ten', 11]);
          });

          it('acknowledges "message-with-ack" with the same arguments', T, async () => {
            const s = await connectClient(version, server, '/', { mode });
            assert.deepEqual(await ack(s, 'message-with-ack', 'hi'), ['hi']);
            assert.deepEqual(await ack(s, 'message-with-ack', ...NUMBERS), NUMBERS);
            assert.deepEqual(await ack(s, 'message-with-ack', NESTED, ...UNICODE), [NESTED, ...UNICODE]);
            assert.deepEqual(await ack(s, 'message-with-ack'), []);
            // Several outstanding at once, answered each to its own callback.
            const many = await Promise.all(Array.from({ length: 20 }, (_, i) => ack(s, 'message-with-ack', i, `n${i}`)));
            many.forEach((r, i) => assert.deepEqual(r, [i, `n${i}`]));
          });

          it('echoes binary both ways (top level, nested, several, empty)', T, async () => {
            const s = await connectClient(version, server, '/', { mode });
            const all = bytes(256);
            const big = bytes(100000, 7);
            s.emit('message', all);
            s.emit('message', { a: Buffer.from([1, 2, 3]), list: ['x', Buffer.from([4]), { deep: Buffer.from([5, 6]) }] }, 'text', 9);
            s.emit('message', Buffer.from([]), Buffer.from([0xff]), big);
            let [b] = await s.inbox.next('message-back');
            assert.ok(Buffer.isBuffer(b), `binary came back as ${typeof b}`);
            assert.ok(b.equals(all), '256-byte buffer differs');
            const nested = await s.inbox.next('message-back');
            assert.deepEqual(nested, [
              { a: Buffer.from([1, 2, 3]), list: ['x', Buffer.from([4]), { deep: Buffer.from([5, 6]) }] }, 'text', 9,
            ]);
            const three = await s.inbox.next('message-back');
            assert.equal(three.length, 3);
            assert.ok(Buffer.isBuffer(three[0]) && three[0].length === 0, 'empty buffer');
            assert.ok(three[1].equals(Buffer.from([0xff])));
            assert.ok(three[2].equals(big), '100000-byte buffer differs');
            [b] = await ack(s, 'message-with-ack', all);
            assert.ok(Buffer.isBuffer(b) && b.equals(all), 'binary ack differs');
            const r = await ack(s, 'message-with-ack', 'a', { bin: Buffer.from('bin') });
            assert.deepEqual(r, ['a', { bin: Buffer.from('bin') }]);
          });

          it('keeps 300 mixed text and binary messages in order', T, async () => {
            const s = await connectClient(version, server, '/', { mode });
            const sent = [];
            for (let i = 0; i < 300; i++) {
              const arg = i % 7 === 3 ? Buffer.from(`b${i}`) : `m${i}`;
              sent.push(arg);
              s.emit('message', i, arg);
            }
            for (let i = 0; i < 300; i++) {
              const [n, arg] = await s.inbox.next('message-back');
              assert.equal(n, i, 'out of order');
              assert.deepEqual(arg, sent[i]);
            }
          });
        });
      }

      describe('namespaces', () => {
        for (const mode of [MODES[0], MODES[1]]) {
          it(`multiplexes "/" and "/custom" on one connection (${mode.name})`, T, async () => {
            const man = createManager(version, server, { mode });
            const root = man.socket('/', version === 2 ? undefined : { auth: { which: 'root' } });
            const custom = man.socket('/custom', version === 2 ? undefined : { auth: { which: 'custom' } });
            const rootAuth = once(root, 'auth');
            const customAuth = once(custom, 'auth');
            await Promise.all([waitConnect(root), waitConnect(custom)]);
            assert.equal(root.io, custom.io);
            assert.equal(transportName(root), mode.final);
            assert.deepEqual(await rootAuth, [version === 2 ? {} : { which: 'root' }]);
            assert.deepEqual(await customAuth, [version === 2 ? {} : { which: 'custom' }]);
            if (version !== 2) assert.notEqual(root.id, custom.id);
            else assert.equal(custom.id, `/custom#${root.id}`);
            // Interleaved traffic stays in its namespace.
            const rootBack = [];
            const customBack = [];
            root.on('message-back', (x) => rootBack.push(x));
            custom.on('message-back', (x) => customBack.push(x));
            for (let i = 0; i < 10; i++) {
              root.emit('message', `r${i}`);
              custom.emit('message', `c${i}`);
            }
            assert.deepEqual(await ack(custom, 'message-with-ack', 'c-ack'), ['c-ack']);
            assert.deepEqual(await ack(root, 'message-with-ack', 'r-ack'), ['r-ack']);
            await sleep(100);
            assert.deepEqual(rootBack, Array.from({ length: 10 }, (_, i) => `r${i}`));
            assert.deepEqual(customBack, Array.from({ length: 10 }, (_, i) => `c${i}`));
            // Leaving one namespace keeps the other on the same connection.
            const engine = root.io.engine;
            custom.disconnect();
            await sleep(100);
            assert.deepEqual(await ack(root, 'message-with-ack', 'still'), ['still']);
            assert.equal(root.io.engine, engine);
            assert.equal(engine.readyState, 'open');
          });
        }

        it('refuses an unknown namespace with "Invalid namespace"', T, async () => {
          const s = createSocket(version, server, '/nope', { mode: MODES[1] });
          const err = await connectFailure(s);
          if (version === 2) {
            // Node (4.x server, v4 protocol) sends {"message":"Invalid namespace"};
            // the 2.x server sent the bare string: both mean the same.
            const msg = typeof err === 'string' ? err : err && err.message;
            assert.equal(msg, 'Invalid namespace');
          } else {
            assert.ok(err instanceof Error, 'connect_error without an Error');
            assert.equal(err.message, 'Invalid namespace');
          }
          assert.equal(s.connected, false);
          await assertStillServes(server, 'message-with-ack');
        });

        it('refuses an unknown namespace on a multiplexed connection while "/" goes on', T, async () => {
          const man = createManager(version, server, { mode: MODES[1] });
          const root = man.socket('/');
          await waitConnect(root);
          const bad = man.socket('/admin');
          const err = await connectFailure(bad);
          const msg = typeof err === 'string' ? err : err && err.message;
          assert.equal(msg, 'Invalid namespace');
          assert.deepEqual(await ack(root, 'message-with-ack', 'ok'), ['ok']);
        });
      });
    });
  }

  describe('upgrade while sending', () => {
    for (const version of VERSIONS) {
      it(`${CLIENTS[version].label}: events and acks sent before, during and after the upgrade keep their order`, T, async () => {
        const s = createSocket(version, server, '/', { mode: MODES[2] });
        const back = [];
        s.on('message-back', (i, b) => back.push([i, b]));
        // Start at once: emits before "connect" are buffered by the client and
        // flushed after it, while the upgrade goes on (4.x often upgrades
        // before its CONNECT round trip ends).
        const connected = waitConnect(s);
        let upgradedAt = -1;
        let sent = 0;
        s.io.on('open', () => s.io.engine.once('upgrade', () => { upgradedAt = sent; }));
        const acks = [];
        const deadline = Date.now() + 8000 * SLOW;
        while ((upgradedAt < 0 || sent < upgradedAt + 50 || sent < 300) && Date.now() < deadline) {
          for (let k = 0; k < 5; k++, sent++) {
            if (sent % 10 === 4) acks.push(ack(s, 'message-with-ack', sent));
            else s.emit('message', sent, sent % 7 === 3 ? Buffer.from([sent & 0xff]) : `m${sent}`);
          }
          await sleep(2);
        }
        await connected;
        assert.ok(upgradedAt > 0, `no upgrade while sending (${sent} events sent)`);
        const acked = await Promise.all(acks);
        acked.forEach(([n], i) => assert.equal(n, i * 10 + 4));
        const expected = Array.from({ length: sent }, (_, i) => i).filter((i) => i % 10 !== 4);
        const t0 = Date.now();
        while (back.length < expected.length && Date.now() - t0 < 5000 * SLOW) await sleep(20);
        assert.deepEqual(back.map(([i]) => i), expected, 'message-back order');
        for (const [i, b] of back) {
          if (i % 7 === 3) assert.ok(Buffer.from(b).equals(Buffer.from([i & 0xff])), `binary ${i}`);
          else assert.equal(b, `m${i}`);
        }
        assert.equal(transportName(s), 'websocket');
      });
    }
  });

  describe('several client versions at once', () => {
    it('serves 4.x, 3.x and 2.x clients side by side on every transport', T, async () => {
      const socks = [];
      for (const version of VERSIONS) {
        for (const mode of MODES) socks.push(await connectClient(version, server, '/', { mode }));
      }
      const answers = await Promise.all(socks.map((s, i) => ack(s, 'message-with-ack', i, bytes(3, i))));
      answers.forEach((a, i) => assert.deepEqual(a, [i, bytes(3, i)]));
    });
  });
});

describe('sio-echo options', () => {
  describe('--cors-origin http://a.example --ping-interval 400 --ping-timeout 300', () => {
    const server = useSio('sio-echo', ['--cors-origin', 'http://a.example', '--ping-interval', '400', '--ping-timeout', '300']);
    afterEach(() => closeAll());

    it('answers a polling handshake from an allowed origin with CORS headers and the ping settings', T, async () => {
      const res = await request(server, {
        query: { EIO: 4, transport: 'polling' },
        headers: { Origin: 'http://a.example' },
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers['access-control-allow-origin'], 'http://a.example');
      const open = JSON.parse(decodeV4(res.text)[0].slice(1));
      assert.equal(open.pingInterval, 400);
      assert.equal(open.pingTimeout, 300);
    });

    it('keeps a 4.x and a 2.x client connected across several heartbeats', T, async () => {
      const a = await connectClient(4, server, '/', { mode: MODES[1] });
      const b = await connectClient(2, server, '/', { mode: MODES[0] });
      await sleep(1500);
      assert.ok(a.connected && b.connected);
      assert.deepEqual(await ack(a, 'message-with-ack', 1), [1]);
      assert.deepEqual(await ack(b, 'message-with-ack', 2), [2]);
    });
  });

  describe('--max-payload 2000', () => {
    const server = useSio('sio-echo', ['--max-payload', '2000']);
    afterEach(() => closeAll());

    it('echoes a message under the limit and refuses a POST over it (413)', T, async () => {
      const s = await connectClient(4, server, '/', { mode: MODES[1] });
      assert.deepEqual(await ack(s, 'message-with-ack', 'y'.repeat(1500)), ['y'.repeat(1500)]);
      const { sid } = await handshake(server, 4);
      const ok = await post(server, 4, sid, '40');
      assert.equal(ok.status, 200);
      const g = await poll(server, 4, sid);
      assert.ok(decodeV4(g.text).some((p) => p.startsWith('40{')), g.text);
      const big = await post(server, 4, sid, `42["message","${'z'.repeat(3000)}"]`);
      assert.equal(big.status, 413);
    });
  });
});
