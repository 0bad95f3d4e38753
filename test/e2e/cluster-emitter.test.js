'use strict';
// @socket.io/redis-emitter 5.1 (classic adapter format, uid "emitter") into a
// cluster of one C node (build/sio-test) and one Node node
// (fixtures/node-cluster-node.js) on a real redis-server: emit to all, to a
// room, except a room, to another namespace, volatile, binary; socketsJoin,
// socketsLeave, disconnectSockets; serverSideEmit.

const { describe, it, before, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { SLOW, ack, once, closeAll, sleep } = require('./lib/sio');
const {
  TLS_SKIP, useCluster, waitSubscribers, POLLING, PAYLOADS, JSON_PAYLOADS, eventually, connectAll, join, sorted, ids,
} = require('./lib/cluster');

const T = { timeout: 30000 * SLOW };

describe('cluster: @socket.io/redis-emitter into a C node and a Node node (classic)', { skip: TLS_SKIP }, () => {
  const cluster = useCluster();
  let c1;
  let n1;
  let emitter;
  before(async () => {
    [c1, n1] = await Promise.all([cluster.cNode('c1'), cluster.nodeNode('n1')]);
    const redis = await cluster.client();
    await waitSubscribers(redis, 2);
    const { Emitter } = require('@socket.io/redis-emitter');
    emitter = new Emitter(await cluster.client());
  });
  afterEach(() => closeAll());

  /** Two clients per node in "/" (one over polling), one per node in "/custom"; room er = {C1a, N1b}. */
  async function clients() {
    const socks = await connectAll([
      { node: c1, label: 'C1a' },
      { node: c1, label: 'C1b', mode: POLLING },
      { node: n1, label: 'N1a' },
      { node: n1, label: 'N1b', mode: POLLING },
      { node: c1, label: 'xC1', nsp: '/custom' },
      { node: n1, label: 'xN1', nsp: '/custom' },
    ]);
    const by = Object.fromEntries(socks.map((s) => [s.label, s]));
    await join(by.C1a, 'er');
    await join(by.N1b, 'er');
    await join(by.xC1, 'er'); // same room name in /custom
    return { socks, by };
  }

  /** After a sentinel to everyone (both namespaces), each client got `ev` once with `args` if listed in `expected`, else never. */
  async function expectDeliveries(socks, ev, expected, args) {
    const sentinel = `${ev}-sentinel`;
    emitter.emit(sentinel, 'end');
    emitter.of('/custom').emit(sentinel, 'end');
    await Promise.all(socks.map(async (s) => assert.deepEqual(await s.inbox.next(sentinel, 4000 * SLOW), ['end'], `sentinel to ${s.label}`)));
    for (const s of socks) {
      const got = s.inbox.all(ev);
      const want = expected.includes(s.label) ? [args] : [];
      assert.deepEqual(got, want, `"${ev}" received by ${s.label} (${s.node.name}, ${s.nspName})`);
    }
  }

  it('emit to all reaches every client of "/" on both nodes with every payload (binary too)', T, async () => {
    const { socks } = await clients();
    emitter.emit('em-all', ...PAYLOADS);
    await expectDeliveries(socks, 'em-all', ['C1a', 'C1b', 'N1a', 'N1b'], PAYLOADS);
    const bin = socks[0].inbox.all('em-all')[0];
    assert.ok(Buffer.isBuffer(bin[bin.length - 3]), 'binary arrived as a Buffer on the C node');
  });

  it('to(room), in([rooms]), except(room), volatile', T, async () => {
    const { socks, by } = await clients();
    emitter.to('er').emit('em-room', 'to er', 2 ** 33);
    emitter.in(['er', by.C1b.id]).emit('em-rooms', { multi: true });
    emitter.except('er').emit('em-except', -(2 ** 35));
    emitter.to(by.N1a.id).emit('em-id', 'to N1a by its id');
    emitter.except(by.C1a.id).emit('em-except-id', 'not C1a');
    emitter.to('er').except(by.N1b.id).emit('em-room-except', 'er but N1b');
    await expectDeliveries(socks, 'em-room', ['C1a', 'N1b'], ['to er', 2 ** 33]);
    await expectDeliveries(socks, 'em-rooms', ['C1a', 'C1b', 'N1b'], [{ multi: true }]);
    await expectDeliveries(socks, 'em-except', ['C1b', 'N1a'], [-(2 ** 35)]);
    await expectDeliveries(socks, 'em-id', ['N1a'], ['to N1a by its id']);
    await expectDeliveries(socks, 'em-except-id', ['C1b', 'N1a', 'N1b'], ['not C1a']);
    await expectDeliveries(socks, 'em-room-except', ['C1a'], ['er but N1b']);
    await sleep(150 * SLOW);
    emitter.volatile.except([by.C1b.id, by.N1b.id]).emit('em-volatile', 'volatile to the websocket clients');
    await expectDeliveries(socks, 'em-volatile', ['C1a', 'N1a'], ['volatile to the websocket clients']);
  });

  it('of("/custom") reaches /custom only, rooms there included', T, async () => {
    const { socks } = await clients();
    const custom = emitter.of('/custom');
    custom.emit('em-custom', '/custom', { bin: Buffer.from([1, 2, 3]) });
    custom.to('er').emit('em-custom-room', 'er in /custom');
    await expectDeliveries(socks, 'em-custom', ['xC1', 'xN1'], ['/custom', { bin: Buffer.from([1, 2, 3]) }]);
    await expectDeliveries(socks, 'em-custom-room', ['xC1'], ['er in /custom']);
  });

  it('socketsJoin / socketsLeave, on all, on a room and by id', T, async () => {
    const { socks, by } = await clients();
    const root = socks.filter((s) => s.nspName === '/');
    const roomsOf = async (s) => (await ack(s, 'rooms'))[0];
    emitter.socketsJoin('em-everyone');
    emitter.in('er').socketsJoin(['em-er-1', 'em-er-2']);
    emitter.in(by.C1b.id).socketsJoin('em-by-id');
    await eventually('the joins arrived', async () => {
      const [everyone] = await ack(by.N1a, 'fetch-sockets', 'em-everyone');
      const [byId] = await ack(by.C1a, 'fetch-sockets', 'em-by-id');
      const [er2] = await ack(by.C1a, 'fetch-sockets', 'em-er-2');
      return ids(root).every((id) => everyone.includes(id)) && byId.length === 1
        && JSON.stringify(sorted(er2)) === JSON.stringify(ids([by.C1a, by.N1b]));
    });
    for (const s of root) {
      const rooms = await roomsOf(s);
      assert.ok(rooms.includes('em-everyone'), `${s.label}: ${rooms}`);
      assert.equal(rooms.includes('em-er-1'), s.model.has('er'), `em-er-1 in ${s.label}: ${rooms}`);
      assert.equal(rooms.includes('em-by-id'), s === by.C1b, `em-by-id in ${s.label}: ${rooms}`);
    }
    for (const s of socks.filter((x) => x.nspName === '/custom')) {
      assert.ok(!(await roomsOf(s)).includes('em-everyone'), `socketsJoin of "/" reached ${s.label} in /custom`);
    }
    emitter.socketsLeave('em-everyone');
    emitter.in(by.N1b.id).socketsLeave('em-er-1');
    await eventually('the leaves arrived', async () => {
      const states = await Promise.all(root.map(async (s) => (await roomsOf(s)).includes('em-everyone')));
      return states.every((x) => !x) && !(await roomsOf(by.N1b)).includes('em-er-1');
    });
    assert.ok((await roomsOf(by.C1a)).includes('em-er-1'), 'socketsLeave by the id of N1b removed C1a');
    assert.ok((await roomsOf(by.N1b)).includes('em-er-2'), 'socketsLeave removed another room');
  });

  it('disconnectSockets: by id, on a room, then on all of "/"', T, async () => {
    const { socks, by } = await clients();
    const goneA = once(by.N1a, 'disconnect');
    emitter.in(by.N1a.id).disconnectSockets();
    assert.equal((await goneA)[0], 'io server disconnect');
    const goneEr = [by.C1a, by.N1b].map((s) => once(s, 'disconnect'));
    emitter.in('er').disconnectSockets(true);
    for (const p of goneEr) assert.ok(['io server disconnect', 'transport close'].includes((await p)[0]));
    assert.deepEqual(await ack(by.C1b, 'echo', 'still'), ['still']);
    assert.deepEqual(await ack(by.xC1, 'echo', 'still'), ['still'], 'disconnectSockets of "/" er reached /custom');
    const goneC1b = once(by.C1b, 'disconnect');
    emitter.disconnectSockets();
    assert.equal((await goneC1b)[0], 'io server disconnect');
    for (const s of [by.xC1, by.xN1]) assert.deepEqual(await ack(s, 'echo', 'alive'), ['alive'], `${s.label} in /custom`);
  });

  it('serverSideEmit reaches both nodes with its arguments, in its namespace', T, async () => {
    const socks = await connectAll([{ node: c1 }, { node: n1 }]);
    const tag = `em-sse-${Date.now()}`;
    emitter.serverSideEmit('sse-hello', tag, ...JSON_PAYLOADS);
    emitter.of('/custom').serverSideEmit('sse-hello', `${tag}-custom`, 'in /custom');
    for (const s of socks) {
      const entry = await eventually(`${s.node.name} recorded the event`, async () => {
        const [events] = await ack(s, 'server-events');
        return events.find((e) => e[1] === tag);
      });
      assert.deepEqual(entry, ['sse-hello', tag, ...JSON_PAYLOADS], `what ${s.node.name} recorded`);
      const custom = await eventually(`${s.node.name} recorded the /custom event`, async () => {
        const [events] = await ack(s, 'server-events');
        return events.find((e) => e[1] === `${tag}-custom`);
      });
      assert.deepEqual(custom, ['sse-hello', `${tag}-custom`, 'in /custom']);
    }
  });
});
