'use strict';
// The msgpack parser (socket.io-msgpack-parser 3.x, Node's `parser` option):
// build/sio-test --parser msgpack and Node's socket.io 4.8 with the same
// parser (lib/twin.js), with socket.io-client 4.x using that parser over
// long-polling, WebSocket and the upgrade: events with every kind of value,
// binary both ways, acknowledgements both ways, broadcasts, namespaces; a
// client with the default parser, or a text frame, is refused the way Node
// refuses it.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { SLOW, sleep } = require('./lib/server');
const { startSio, stopAndCheck, ack, MODES } = require('./lib/sio');
const { TWIN_SKIP, startTwin } = require('./lib/twin');
const { wsClient } = require('./lib/ws');

const T = { timeout: 20000 * SLOW };
const { io } = require('socket.io-client');
const parser = require('socket.io-msgpack-parser');
const notepack = require('notepack.io');

const norm = (v) => {
  if (v === null || v === undefined) return v;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map(norm);
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
};

const PAYLOAD = [
  'hé 漢字 🎉', 0, -1, 2 ** 31, 2 ** 40 + 1, -(2 ** 33), 1.5, -0.25, true, false, null,
  { nested: { deep: [1, [2, [3]]], s: '' } }, [], {},
  Buffer.from([0, 1, 2, 255]), { bin: Buffer.alloc(300, 7), list: [Buffer.from('x')] },
];

for (const kind of ['c', 'node']) {
  describe(`msgpack parser (${kind === 'c' ? 'C server' : "Node's socket.io"})`, { skip: kind === 'node' && TWIN_SKIP }, () => {
    let server;
    const opened = [];
    before(async () => {
      server = kind === 'c' ? await startSio('sio-test', ['--parser', 'msgpack'])
        : await startTwin(['--parser', 'msgpack']);
    });
    after(async () => {
      for (const s of opened) s.close();
      await sleep(50);
      if (kind === 'c') await stopAndCheck(server);
      else await server.stop();
    });
    const mk = (nsp, mode, opts = {}) => {
      const s = io(server.httpUrl + nsp, {
        path: '/socket.io', forceNew: true, reconnection: false, transports: mode.transports, parser,
        rejectUnauthorized: false, timeout: 5000 * SLOW, ...opts,
      });
      opened.push(s);
      return s;
    };
    const connected = (s) => new Promise((resolve, reject) => {
      s.once('connect', resolve);
      s.once('connect_error', reject);
    });

    for (const mode of MODES) {
      it(`echoes every kind of value, binary included, and acks both ways (${mode.name})`, T, async () => {
        const s = mk('/', mode);
        await connected(s);
        const back = await new Promise((resolve) => s.emit('echo', ...PAYLOAD, (...a) => resolve(a)));
        assert.deepEqual(norm(back), PAYLOAD);
        // binary from the server, in an ack and in an event
        const [all, obj] = await new Promise((resolve) => s.emit('bin', (...a) => resolve(a)));
        assert.deepEqual(norm(all), Buffer.from([...Array(256).keys()]));
        assert.deepEqual(norm(obj), { nested: Buffer.from([1, 2, 3]) });
        const ev = new Promise((resolve) => s.once('bin-back', (...a) => resolve(a)));
        s.emit('bin-emit');
        assert.deepEqual(norm(await ev), [Buffer.from([1, 2, 3, 4]), { a: Buffer.from([5]) }]);
        // the server asks, the client answers (with binary)
        s.on('ask', (...args) => args.pop()('yes', Buffer.from([9])));
        const [status, ...answer] = await ack(s, 'server-ask', 2000);
        assert.equal(status, 'ok');
        assert.deepEqual(norm(answer), ['yes', Buffer.from([9])]);
      });
    }

    it('broadcasts reach every client, in another namespace too', T, async () => {
      const a = mk('/custom', MODES[1]);
      const b = mk('/custom', MODES[0]);
      await Promise.all([connected(a), connected(b)]);
      const got = new Promise((resolve) => b.once('hello', (...x) => resolve(x)));
      await ack(a, 'emit-to', { broadcast: true }, 'hello', 'w', Buffer.from([1]));
      assert.deepEqual(norm(await got), ['w', Buffer.from([1])]);
    });

    it('a client with the default (JSON) parser cannot connect', T, async () => {
      const s = io(server.httpUrl, {
        path: '/socket.io', forceNew: true, reconnection: false, transports: ['websocket'],
        rejectUnauthorized: false, timeout: 3000 * SLOW,
      });
      opened.push(s);
      const outcome = await new Promise((resolve) => {
        s.once('connect', () => resolve('connected'));
        s.once('connect_error', () => resolve('refused'));
        s.io.once('close', () => resolve('closed'));
      });
      assert.notEqual(outcome, 'connected');
    });

    it('a binary CONNECT is answered with a binary CONNECT; a text message closes the session', T, async () => {
      const c = await wsClient(server);
      c.send(notepack.encode({ type: 0, nsp: '/' }));
      const reply = await c.next();
      assert.ok(Buffer.isBuffer(reply), `a binary message, not ${JSON.stringify(reply)}`);
      const decoded = notepack.decode(reply);
      assert.equal(decoded.type, 0);
      assert.equal(decoded.nsp, '/');
      assert.equal(typeof decoded.data.sid, 'string');
      c.send('42["echo"]'); // socket.io-parser text: notepack cannot read it
      await c.waitClose(5000 * SLOW);
    });

    it("writes a packet's keys in socket.io's order: {id, type, data, nsp} for an ack, {type, data, id, nsp} for an event with an ack id", T, async () => {
      const c = await wsClient(server);
      c.send(notepack.encode({ type: 0, nsp: '/' }));
      assert.deepEqual(Object.keys(notepack.decode(await c.next())), ['type', 'data', 'nsp'], 'CONNECT reply');
      c.send(notepack.encode({ type: 2, data: ['echo', 1], id: 7, nsp: '/' }));
      const a = notepack.decode(await c.next());
      assert.deepEqual(Object.keys(a), ['id', 'type', 'data', 'nsp'], `ack ${JSON.stringify(a)}`);
      assert.deepEqual([a.id, a.type, a.data], [7, 3, [1]]);
      c.send(notepack.encode({ type: 2, data: ['server-ask'], id: 8, nsp: '/' }));
      const e = notepack.decode(await c.next());
      assert.deepEqual(Object.keys(e), ['type', 'data', 'id', 'nsp'], `event ${JSON.stringify(e)}`);
      assert.equal(e.data[0], 'ask');
      c.ws.terminate();
    });
  });
}
