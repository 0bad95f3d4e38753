'use strict';
// Connection state recovery (connectionStateRecovery), the same checks
// against build/sio-test --recovery and Node's socket.io 4.8 with the same
// option (lib/twin.js), with socket.io-client 4.x over WebSocket and
// long-polling: the pid in the CONNECT reply, a killed transport recovered
// with its id, rooms, data and exactly the events it missed (before new
// ones), no recovery after a client's own disconnect or past
// maxDisconnectionDuration, and none without the option. C only: a Redis
// adapter says it keeps no packets.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { SLOW, sleep } = require('./lib/server');
const { startSio, stopAndCheck, ack } = require('./lib/sio');
const { TWIN_SKIP, startTwin } = require('./lib/twin');

const T = { timeout: 20000 * SLOW };
const { io } = require('socket.io-client');

function client(server, transports, opts = {}) {
  const s = io(server.httpUrl, {
    path: '/socket.io', forceNew: true, transports, reconnectionDelay: 50, reconnectionDelayMax: 50,
    randomizationFactor: 0, timeout: 5000 * SLOW, rejectUnauthorized: false, ...opts,
  });
  s.events = [];
  s.onAny((ev, ...args) => s.events.push([ev, ...args]));
  return s;
}

const connected = (s) => new Promise((resolve, reject) => {
  if (s.connected) return resolve();
  s.once('connect', resolve);
  s.once('connect_error', reject);
});

/** The events named `name` received, without their offset (the last, string, argument). */
const payloads = (s, name) => s.events.filter(([ev]) => ev === name).map(([, ...args]) => args.slice(0, -1));

for (const kind of ['c', 'node']) {
  describe(`connection state recovery (${kind === 'c' ? 'C server' : "Node's socket.io"})`, { skip: kind === 'node' && TWIN_SKIP }, () => {
    let server;
    let short; // maxDisconnectionDuration 300 ms
    let off; // without the option
    const opened = [];
    const start = (args) => (kind === 'c' ? startSio('sio-test', args) : startTwin(args));
    before(async () => {
      [server, short, off] = await Promise.all([start(['--recovery']), start(['--recovery=300']), start([])]);
    });
    after(async () => {
      for (const s of opened) s.close();
      await sleep(50);
      for (const srv of [server, short, off]) {
        if (!srv) continue;
        if (kind === 'c') await stopAndCheck(srv);
        else await srv.stop();
      }
    });
    const mk = (srv, transports, opts) => {
      const s = client(srv, transports, opts);
      opened.push(s);
      return s;
    };

    for (const transports of [['websocket'], ['polling']]) {
      it(`gives back id, rooms, data and exactly the missed events after a transport close (${transports[0]})`, T, async () => {
        const a = mk(server, transports);
        const b = mk(server, ['websocket']);
        await Promise.all([connected(a), connected(b)]);
        assert.equal(a.recovered, false);
        const [first] = await ack(a, 'recovery');
        assert.equal(typeof first.pid, 'string');
        assert.equal(first.pid.length, 20);
        const room = `r-${Math.random()}`;
        await ack(a, 'join', room);
        await ack(a, 'set-data', { n: 1, s: 'é' });
        await ack(b, 'emit-to', { rooms: [room] }, 'm', 1);
        await ack(b, 'emit-to', { rooms: [room] }, 'm', 1.5); // two offsets, in order
        for (let i = 0; i < 100 && payloads(a, 'm').length < 2; i++) await sleep(10);
        const id = a.id;
        a.io.engine.close(); // the server sees "transport close"
        await sleep(50 * SLOW);
        await ack(b, 'emit-to', { rooms: [room] }, 'm', 2);
        await ack(b, 'emit-to', {}, 'm', 3, { deep: [true, null] });
        await ack(b, 'emit-to', { rooms: ['elsewhere'] }, 'm', 'not for a');
        await ack(b, 'emit-to', { rooms: [room], except: [room] }, 'm', 'excepted');
        await connected(a).catch(() => {});
        for (let i = 0; i < 200 && !a.connected; i++) await sleep(10);
        assert.equal(a.connected, true);
        assert.equal(a.recovered, true, 'recovered');
        assert.equal(a.id, id, 'the same id');
        await ack(b, 'emit-to', { rooms: [room] }, 'm', 4);
        for (let i = 0; i < 200 && payloads(a, 'm').length < 5; i++) await sleep(10);
        assert.deepEqual(payloads(a, 'm'), [[1], [1.5], [2], [3, { deep: [true, null] }], [4]]);
        const offsets = a.events.filter(([ev]) => ev === 'm').map((e) => e[e.length - 1]);
        assert.ok(offsets.every((o) => typeof o === 'string' && o.length > 0), JSON.stringify(offsets));
        assert.equal(new Set(offsets).size, offsets.length, 'offsets are unique');
        const [after] = await ack(a, 'recovery');
        assert.equal(after.recovered, true);
        assert.equal(after.pid, first.pid);
        assert.deepEqual([...after.rooms].sort(), [id, room].sort());
        assert.deepEqual(after.data, { n: 1, s: 'é' });
      });
    }

    it('an event to the socket itself (socket.emit) is kept and replayed too', T, async () => {
      const a = mk(server, ['websocket']);
      await connected(a);
      await ack(a, 'emit-to', { rooms: [a.id] }, 'p', 'one');
      for (let i = 0; i < 100 && payloads(a, 'p').length < 1; i++) await sleep(10);
      a.io.engine.close();
      await sleep(30);
      const b = mk(server, ['websocket']);
      await connected(b);
      await ack(b, 'emit-to', { rooms: [a.id] }, 'p', 'two');
      for (let i = 0; i < 300 && !(a.connected && payloads(a, 'p').length >= 2); i++) await sleep(10);
      assert.equal(a.recovered, true);
      assert.deepEqual(payloads(a, 'p'), [['one'], ['two']]);
    });

    it("is not offered after the client's own disconnect", T, async () => {
      const a = mk(server, ['websocket']);
      await connected(a);
      await ack(a, 'emit-to', { rooms: [a.id] }, 'x', 1);
      for (let i = 0; i < 100 && payloads(a, 'x').length < 1; i++) await sleep(10);
      const id = a.id;
      a.disconnect();
      await sleep(50);
      a.connect();
      await connected(a);
      assert.equal(a.recovered, false);
      assert.notEqual(a.id, id);
    });

    it('is not given past maxDisconnectionDuration', T, async () => {
      const a = mk(short, ['websocket'], { reconnectionDelay: 700, reconnectionDelayMax: 700 });
      await connected(a);
      await ack(a, 'emit-to', { rooms: [a.id] }, 'x', 1);
      for (let i = 0; i < 100 && payloads(a, 'x').length < 1; i++) await sleep(10);
      const id = a.id;
      a.io.engine.close();
      for (let i = 0; i < 300 && !a.connected; i++) await sleep(10);
      await connected(a);
      assert.equal(a.recovered, false);
      assert.notEqual(a.id, id);
    });

    it('without the option: no pid, no offsets, no recovery', T, async () => {
      const a = mk(off, ['websocket']);
      await connected(a);
      const [info] = await ack(a, 'recovery');
      assert.equal(info.pid, null);
      await ack(a, 'emit-to', { rooms: [a.id] }, 'x', 1);
      for (let i = 0; i < 100 && a.events.length < 1; i++) await sleep(10);
      assert.deepEqual(a.events, [['x', 1]]);
      const id = a.id;
      a.io.engine.close();
      await sleep(30);
      for (let i = 0; i < 300 && !a.connected; i++) await sleep(10);
      assert.ok(a.connected);
      assert.ok(!a.recovered, 'recovered'); // the client says undefined without a pid
      assert.notEqual(a.id, id);
    });
  });
}
