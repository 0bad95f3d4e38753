'use strict';
// Three C nodes (build/sio-test --adapter redis://...) on one real
// redis-server, classic adapter (Redis PUB/SUB, the wire format of
// @socket.io/redis-adapter 8.x createAdapter): broadcasts with every option
// across nodes, binary, broadcasts with acks, fetchSockets with the data and
// the handshake of remote sockets, remote socket operations (by socket id and
// on all), server-side emits with and without acks, serverCount, allRooms,
// and the namespaces kept apart.

const { describe, it, before, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { SLOW, ack, once, closeAll, sleep } = require('./lib/sio');
const { HOST } = require('./lib/server');
const notepack = require('notepack.io');
const {
  TLS_SKIP, useCluster, waitSubscribers, WS, POLLING, PAYLOADS, JSON_PAYLOADS, eventually, connectAll, join, ackWithin,
  sorted, ids, broadcastMatrix, standardCases,
} = require('./lib/cluster');

const T = { timeout: 30000 * SLOW };
const REQUESTS_TIMEOUT = 2000 * SLOW;

describe('cluster: three C nodes, classic Redis adapter', { skip: TLS_SKIP }, () => {
  const cluster = useCluster();
  let c1;
  let c2;
  let c3;
  let redis;
  before(async () => {
    [c1, c2, c3] = await Promise.all(['c1', 'c2', 'c3'].map((n) => cluster.cNode(n, { requestsTimeout: REQUESTS_TIMEOUT })));
    redis = await cluster.client();
    await waitSubscribers(redis, 3);
  });
  afterEach(() => closeAll());

  /**
   * Six clients, two per node (one over polling on c2 and c3), rooms:
   * ra = {A@c1, B@c2}, rb = {A@c1, C@c3, E@c2}. Waits until fetch-sockets
   * lists exactly these (clients of earlier tests are gone).
   */
  async function six(nsp = '/') {
    const socks = await connectAll([
      { node: c1, label: 'A', nsp },
      { node: c2, label: 'B', nsp },
      { node: c3, label: 'C', nsp, mode: POLLING },
      { node: c1, label: 'D', nsp },
      { node: c2, label: 'E', nsp, mode: POLLING },
      { node: c3, label: 'F', nsp },
    ]);
    const [A, B, C, , E] = socks;
    await join(A, 'ra');
    await join(A, 'rb');
    await join(B, 'ra');
    await join(C, 'rb');
    await join(E, 'rb');
    await settle(socks[0], socks);
    return socks;
  }

  async function settle(probe, socks) {
    await eventually('fetch-sockets lists exactly the clients of this test', async () => {
      const [list] = await ack(probe, 'fetch-sockets', null);
      return JSON.stringify(sorted(list)) === JSON.stringify(ids(socks));
    });
  }

  it('compress(false) crosses as flags.compress false (as Node sends it); a payload 900 levels deep crosses too', T, async () => {
    const [A, B] = await connectAll([{ node: c1, label: 'A' }, { node: c2, label: 'B' }]);
    const sub = await cluster.client();
    const seen = [];
    await sub.pSubscribe('socket.io#/#*', (msg) => {
      try {
        seen.push(notepack.decode(msg));
      } catch {
        // not a broadcast
      }
    }, true);
    const flagsOf = (ev) => seen.filter((m) => Array.isArray(m) && m[1] && m[1].data && m[1].data[0] === ev)
      .map((m) => m[2].flags);
    for (const [ev, opts, want] of [['c-off', { compress: false }, { compress: false }], ['c-on', { compress: true }, { compress: true }], ['c-none', {}, {}]]) {
      const got = once(B, ev);
      assert.deepEqual(await ack(A, 'emit-to', opts, ev, 'x'), [true]);
      assert.deepEqual(await got, ['x'], `${ev} reached the other node`);
      await eventually(`${ev} seen on Redis`, async () => flagsOf(ev).length === 1);
      assert.deepEqual(flagsOf(ev)[0], want, `${ev}: flags on the wire`);
    }
    let deep = 'bottom';
    for (let i = 0; i < 900; i++) deep = [deep];
    const got = once(B, 'deep');
    assert.deepEqual(await ack(A, 'emit-to', {}, 'deep', deep), [true]);
    assert.deepEqual(await got, [deep], 'the deep payload reached the other node whole');
  });

  it('every node counts three servers', T, async () => {
    const socks = await connectAll([{ node: c1 }, { node: c2 }, { node: c3 }]);
    for (const s of socks) {
      assert.deepEqual(await ack(s, 'server-count'), [3], `server-count on ${s.node.name}`);
      assert.deepEqual(await ack(s, 'node'), [s.node.name]);
    }
  });

  for (const senderLabel of ['A', 'C', 'F']) {
    it(`broadcasts from ${senderLabel}: all, rooms over two nodes, except, broadcast, local, volatile, ids, binary`, T, async () => {
      const socks = await six();
      const sender = socks.find((s) => s.label === senderLabel);
      const polling = socks.filter((s) => s.modeName === 'polling');
      await broadcastMatrix(socks, sender, standardCases(socks, sender, { polling }), PAYLOADS);
      // Binary stays binary on every node (Buffers, not {type, data} objects).
      for (const s of socks) {
        const first = s.inbox.seen.find((e) => e[0].startsWith('bc-') && e[1] === 'all');
        assert.ok(first, `${s.label} got "all"`);
        const args = first.slice(2);
        assert.ok(Buffer.isBuffer(args[args.length - 3]), `binary argument on ${s.label} is ${typeof args[args.length - 3]}`);
        assert.ok(Buffer.isBuffer(args[args.length - 2].list[2].deep), `nested binary on ${s.label}`);
      }
    });
  }

  it('keeps namespaces apart: a broadcast in /custom reaches /custom clients on every node, not "/"', T, async () => {
    const socks = await connectAll([
      { node: c1, nsp: '/custom', label: 'x1' },
      { node: c2, nsp: '/custom', label: 'x2' },
      { node: c3, nsp: '/custom', label: 'x3', mode: POLLING },
      { node: c2, nsp: '/', label: 'root2' },
      { node: c3, nsp: '/', label: 'root3' },
    ]);
    await join(socks[1], 'ra');
    await join(socks[3], 'ra'); // same room name in "/": not a receiver
    const cases = [['all', {}], ['to ra', { rooms: ['ra'] }], ['broadcast', { broadcast: true }]];
    await broadcastMatrix(socks, socks[0], cases, ['in /custom', { n: 2 ** 35 }]);
    const [fromCustom] = await ack(socks[2], 'fetch-sockets', null);
    assert.ok(!fromCustom.includes(socks[3].id) && !fromCustom.includes(socks[4].id), 'fetch in /custom listed sockets of "/"');
    for (const s of socks.slice(0, 3)) assert.ok(fromCustom.includes(s.id), `fetch in /custom misses ${s.label}`);
    await broadcastMatrix(socks, socks[3], [['all in /', {}]], ['in /']);
  });

  describe('broadcast with acks', () => {
    it('collects the answer of every client on every node, from each node', T, async () => {
      const socks = await six();
      for (const s of socks) s.on('ask', (cb) => cb({ who: s.label, node: s.node.name, payload: JSON_PAYLOADS }));
      const expected = sorted(socks.map((s) => s.label));
      for (const asker of [socks[0], socks[2], socks[5]]) {
        const [err, responses] = await ackWithin(3000 * SLOW + 2500 * SLOW, asker, 'broadcast-ask', null, 3000 * SLOW);
        assert.equal(err, null, `broadcast-ask from ${asker.label}`);
        assert.deepEqual(sorted(responses.map((r) => r.who)), expected, `answers to ${asker.label}`);
        for (const r of responses) {
          assert.equal(r.node, socks.find((s) => s.label === r.who).node.name);
          assert.deepEqual(r.payload, JSON_PAYLOADS, `payload of ${r.who}'s answer to ${asker.label}`);
        }
      }
      // A room over two nodes: only its members answer.
      const [err, inRb] = await ackWithin(3000 * SLOW + 2500 * SLOW, socks[1], 'broadcast-ask', ['rb'], 3000 * SLOW);
      assert.equal(err, null);
      assert.deepEqual(sorted(inRb.map((r) => r.who)), ['A', 'C', 'E']);
      // Nobody in the room anywhere: at once.
      const t0 = Date.now();
      assert.deepEqual(await ackWithin(5000 + 2500 * SLOW, socks[1], 'broadcast-ask', ['nobody-here'], 5000), [null, []]);
      assert.ok(Date.now() - t0 < 2000 * SLOW, `waited ${Date.now() - t0} ms with no receiver in the cluster`);
    });

    it('passes binary in the clients\' answers (nested too) back to the asker', T, async () => {
      const socks = await six();
      // Two binary values per answer: socket.io-parser 4.2.7 refuses packets
      // of more than 10 attachments (maxAttachments).
      const answer = (s) => ({ who: s.label, bin: Buffer.from(s.label), nested: { deep: [Buffer.from([0, 255])] } });
      for (const s of socks) s.on('ask', (cb) => cb(answer(s)));
      for (const asker of [socks[0], socks[5]]) {
        const [err, responses] = await ackWithin(3000 * SLOW + 2500 * SLOW, asker, 'broadcast-ask', ['rb'], 3000 * SLOW);
        assert.equal(err, null, `broadcast-ask from ${asker.label}`);
        assert.deepEqual(sorted(responses.map((r) => r.who)), ['A', 'C', 'E']);
        for (const r of responses) assert.deepEqual(r, answer(socks.find((s) => s.label === r.who)), `answer of ${r.who} to ${asker.label}`);
      }
    });

    it('times out with the other answers when one remote client stays silent', T, async () => {
      const socks = await six();
      for (const s of socks) s.on('ask', (cb) => { if (s.label !== 'F') cb(s.label); });
      const t0 = Date.now();
      const [err, responses] = await ackWithin(600 + 2500 * SLOW, socks[0], 'broadcast-ask', null, 600);
      const elapsed = Date.now() - t0;
      assert.equal(err, 'timeout');
      assert.deepEqual(sorted(responses), ['A', 'B', 'C', 'D', 'E']);
      assert.ok(elapsed >= 550, `answered after ${elapsed} ms, before the 600 ms timeout`);
      assert.ok(elapsed < 600 + 2500 * SLOW, `answered after ${elapsed} ms`);
      assert.deepEqual(await ack(socks[5], 'echo', 'alive'), ['alive']);
    });
  });

  describe('fetchSockets', () => {
    it('lists the sockets of every node, by room, by id; remote data and handshake come along', T, async () => {
      const before = Date.now();
      const socks = await connectAll(['A', 'B', 'C', 'D'].map((label, i) => ({
        node: [c1, c2, c3, c3][i],
        label,
        mode: i === 1 ? POLLING : WS,
        auth: { user: `user-${label}`, n: i, nested: { ok: true } },
        query: { q: `query ${label}`, i: String(i) },
      })));
      const after = Date.now();
      const [A, B, C, D] = socks;
      await join(A, 'fs');
      await join(B, 'fs');
      await join(B, 'fs-b');
      const data = { name: 'B', list: JSON_PAYLOADS, 'ключ': '😀' };
      assert.deepEqual(await ack(B, 'set-data', data), [true]);
      assert.deepEqual(await ack(D, 'set-data', 'plain string'), [true]);
      await settle(A, socks);
      for (const asker of socks) {
        assert.deepEqual(sorted((await ack(asker, 'fetch-sockets', 'fs'))[0]), sorted([A.id, B.id]), `fs from ${asker.label}`);
        assert.deepEqual((await ack(asker, 'fetch-sockets', C.id))[0], [C.id], `by id from ${asker.label}`);
        assert.deepEqual(await ack(asker, 'fetch-sockets', 'nobody-here'), [[]]);
      }
      // Details, seen from c3 (C and D local, A and B remote) and from c1.
      for (const asker of [C, A]) {
        const [{ err, sockets }] = await ack(asker, 'fetch-details', null);
        assert.equal(err, null);
        assert.deepEqual(sorted(sockets.map((s) => s.id)), ids(socks));
        for (const s of sockets) {
          const who = socks.find((x) => x.id === s.id);
          const ctx = `${who.label} (on ${who.node.name}) seen from ${asker.node.name}`;
          assert.equal(s.local, who.node === asker.node, `local flag of ${ctx}`);
          assert.deepEqual(sorted(s.rooms), sorted(who.model), `rooms of ${ctx}`);
          const want = { B: data, D: 'plain string' }[who.label];
          assert.deepEqual(s.data, want === undefined ? {} : want, `data of ${ctx}`); // Node's default socket.data is {}
          const hs = s.handshake;
          for (const k of ['headers', 'time', 'address', 'xdomain', 'secure', 'issued', 'url', 'query', 'auth']) {
            assert.ok(k in hs, `handshake of ${ctx} has no ${k}: ${JSON.stringify(hs)}`);
          }
          assert.deepEqual(hs.auth, { user: `user-${who.label}`, n: socks.indexOf(who), nested: { ok: true } }, `auth of ${ctx}`);
          assert.equal(hs.query.q, `query ${who.label}`);
          assert.equal(hs.query.EIO, '4');
          assert.equal(hs.query.transport, who.modeName);
          assert.equal(hs.headers.host, `${HOST}:${who.node.port}`, `headers.host of ${ctx}`);
          assert.match(hs.address, /^(::ffff:)?127\.0\.0\.1$/);
          assert.equal(hs.secure, false);
          assert.equal(hs.xdomain, false);
          assert.equal(typeof hs.issued, 'number');
          assert.ok(hs.issued >= before - 1000 && hs.issued <= after + 1000, `issued ${hs.issued} of ${ctx}`);
          assert.match(hs.time, /^[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{4} \d{2}:\d{2}:\d{2} GMT[+-]\d{4}/);
          assert.match(hs.url, /^\/socket\.io\/\?/);
          assert.match(hs.url, /EIO=4/);
        }
      }
      // The same socket looks the same from every node (but for "local").
      const views = [];
      for (const asker of [A, B, C]) {
        const [{ sockets }] = await ack(asker, 'fetch-details', 'fs-b');
        assert.equal(sockets.length, 1);
        const { local, ...rest } = sockets[0];
        views.push(rest);
      }
      assert.deepEqual(views[1], views[0]);
      assert.deepEqual(views[2], views[0]);
    });
  });

  describe('remote socket operations', () => {
    it('socketsJoin / socketsLeave / disconnectSockets by the id of a socket on another node', T, async () => {
      const socks = await six();
      const [A, , , D, , F] = socks;
      assert.deepEqual(await ack(A, 'sockets-join', F.id, 'joined-by-id'), [true]);
      await eventually('F joined from c1', async () => (await ack(F, 'rooms'))[0].includes('joined-by-id'));
      assert.deepEqual(sorted((await ack(D, 'fetch-sockets', 'joined-by-id'))[0]), [F.id]);
      for (const s of socks.filter((x) => x !== F)) {
        assert.ok(!(await ack(s, 'rooms'))[0].includes('joined-by-id'), `${s.label} joined too`);
      }
      assert.deepEqual(await ack(A, 'sockets-leave', F.id, 'joined-by-id'), [true]);
      await eventually('F left', async () => !(await ack(F, 'rooms'))[0].includes('joined-by-id'));
      assert.ok((await ack(F, 'rooms'))[0].includes(F.id), 'F left its own id room');

      const gone = once(F, 'disconnect');
      assert.deepEqual(await ack(A, 'disconnect-sockets', F.id, false), [true]);
      assert.equal((await gone)[0], 'io server disconnect');
      for (const s of socks.filter((x) => x !== F)) assert.deepEqual(await ack(s, 'echo', 'still'), ['still'], s.label);
      await settle(A, socks.filter((x) => x !== F));
    });

    it('socketsJoin / socketsLeave on all and on a room, disconnectSockets(true) on a room, then on all', T, async () => {
      const socks = await six();
      const [A, B, C, D, E, F] = socks;
      assert.deepEqual(await ack(C, 'sockets-join', null, 'everyone'), [true]);
      await eventually('every socket joined "everyone"', async () => {
        const [list] = await ack(A, 'fetch-sockets', 'everyone');
        return JSON.stringify(sorted(list)) === JSON.stringify(ids(socks));
      });
      for (const s of socks) assert.ok((await ack(s, 'rooms'))[0].includes('everyone'), s.label);
      assert.deepEqual(await ack(F, 'sockets-join', 'rb', 'rb-too'), [true]);
      await eventually('rb members joined rb-too', async () => {
        const [list] = await ack(B, 'fetch-sockets', 'rb-too');
        return JSON.stringify(sorted(list)) === JSON.stringify(ids([A, C, E]));
      });
      assert.deepEqual(await ack(B, 'sockets-leave', null, 'everyone'), [true]);
      await eventually('every socket left "everyone"', async () => (await ack(A, 'fetch-sockets', 'everyone'))[0].length === 0);
      assert.ok((await ack(E, 'rooms'))[0].includes('rb-too'), 'socketsLeave removed another room');

      // disconnectSockets(true) on ra (A@c1, B@c2) from F@c3: their connections close.
      const aGone = once(A, 'disconnect');
      const bGone = once(B, 'disconnect');
      assert.deepEqual(await ack(F, 'disconnect-sockets', 'ra', true), [true]);
      for (const [s, p] of [[A, aGone], [B, bGone]]) {
        const [reason] = await p;
        assert.ok(['io server disconnect', 'transport close'].includes(reason), `${s.label} went with ${reason}`);
      }
      await settle(F, [C, D, E, F]);
      // disconnectSockets on all: everybody, the caller included.
      const all = [C, D, E, F].map((s) => once(s, 'disconnect'));
      assert.deepEqual(await ack(D, 'disconnect-sockets', null, false), [true]);
      for (const p of all) assert.equal((await p)[0], 'io server disconnect');
    });
  });

  describe('server-side emits', () => {
    it('serverSideEmit reaches every other node (not the sender), with its arguments', T, async () => {
      const socks = await connectAll([{ node: c1 }, { node: c2 }, { node: c3 }]);
      const tag = `hello-${Date.now()}`;
      assert.deepEqual(await ack(socks[0], 'sse', 'sse-hello', tag, ...JSON_PAYLOADS), [true]);
      for (const s of socks.slice(1)) {
        const entry = await eventually(`${s.node.name} recorded the event`, async () => {
          const [events] = await ack(s, 'server-events');
          return events.find((e) => e[1] === tag);
        });
        assert.deepEqual(entry, ['sse-hello', tag, ...JSON_PAYLOADS]);
      }
      await sleep(100);
      const [own] = await ack(socks[0], 'server-events');
      assert.ok(!own.some((e) => e[1] === tag), 'the sender received its own server-side event');
    });

    it('serverSideEmitWithAck gets an answer from every other node', T, async () => {
      const socks = await connectAll([{ node: c1 }, { node: c2 }, { node: c3 }]);
      for (const [i, s] of socks.entries()) {
        const tag = `ask-${i}-${Date.now()}`;
        const [[err, responses]] = await ackWithin(3000 * SLOW + 2500 * SLOW, s, 'sse-ack', 3000 * SLOW, 'sse-ask', tag, ...JSON_PAYLOADS);
        assert.equal(err, null, `sse-ack from ${s.node.name}`);
        const others = socks.filter((x) => x !== s).map((x) => x.node.name).sort();
        assert.deepEqual(responses.map((r) => r.node).sort(), others);
        for (const r of responses) assert.deepEqual(r.args, [tag, ...JSON_PAYLOADS], `answer of ${r.node}`);
      }
    });
  });

  it('allRooms is the union of every node\'s rooms (socket ids included)', T, async () => {
    const socks = await six();
    await join(socks[5], 'only-on-c3');
    await join(socks[3], 'only-on-c1 ü');
    const want = sorted(new Set(socks.flatMap((s) => [...s.model])));
    for (const s of [socks[0], socks[1], socks[2]]) {
      const [rooms] = await ack(s, 'all-rooms');
      assert.deepEqual(sorted(new Set(rooms)), want, `all-rooms from ${s.node.name}`);
    }
  });
});
