'use strict';
// Mixed clusters: two Node nodes (fixtures/node-cluster-node.js: socket.io
// 4.8 + @socket.io/redis-adapter 8.3) and two C nodes (build/sio-test) on one
// real redis-server. Every operation is started once from a C node and once
// from a Node node, and what the clients receive is compared with deep
// equality: broadcasts with every option, broadcasts with acks, fetchSockets,
// remote socket operations, server-side emits, serverCount, allRooms, with
// strings (unicode), integers past 2^32, negative integers, floats, nested
// objects, arrays, null, booleans and binary.
//
// Suites: the classic adapter (createAdapter), then the sharded adapter
// (createShardedAdapter, Redis 7 SPUBLISH/SSUBSCRIBE) in its default
// "dynamic" subscription mode (everything), and in "static" and
// "dynamic-private" (broadcasts, room broadcasts, fetchSockets).

const { describe, it, before, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { SLOW, ack, once, closeAll, sleep } = require('./lib/sio');
const {
  TLS_SKIP, useCluster, waitSubscribers, WS, POLLING, PAYLOADS, JSON_PAYLOADS, eventually, connectAll, join, ackWithin,
  sorted, ids, broadcastMatrix, standardCases, waitRoomChannels,
} = require('./lib/cluster');

const T = { timeout: 30000 * SLOW };
const REQUESTS_TIMEOUT = 2000 * SLOW;

const SUITES = [
  { label: 'classic adapter', opts: { mode: 'classic' }, full: true },
  // No --subscription-mode: both sides' default ("dynamic").
  { label: 'sharded adapter, default (dynamic) subscription mode', opts: { mode: 'sharded' }, sub: 'dynamic', full: true },
  { label: 'sharded adapter, static subscription mode', opts: { mode: 'sharded', subscriptionMode: 'static' }, sub: 'static' },
  {
    label: 'sharded adapter, dynamic-private subscription mode',
    opts: { mode: 'sharded', subscriptionMode: 'dynamic-private' },
    sub: 'dynamic-private',
  },
];

for (const suite of SUITES) {
  const sharded = suite.opts.mode === 'sharded';
  describe(`mixed cluster (2 Node + 2 C nodes): ${suite.label}`, { skip: TLS_SKIP }, () => {
    const cluster = useCluster();
    let n1;
    let n2;
    let c1;
    let c2;
    let redis;
    before(async () => {
      const opts = { ...suite.opts, requestsTimeout: REQUESTS_TIMEOUT };
      [n1, n2, c1, c2] = await Promise.all([
        cluster.nodeNode('n1', opts), cluster.nodeNode('n2', opts), cluster.cNode('c1', opts), cluster.cNode('c2', opts),
      ]);
      redis = await cluster.client();
      await waitSubscribers(redis, 4, { mode: suite.opts.mode, timeout: 5000 * SLOW });
    });
    afterEach(() => closeAll());

    /**
     * Eight clients, two per node (the second on n2 and on c2 over polling).
     * Rooms: ra = {C1a, N1a, N2b}, rb = {C1a, C2a, N2a, N1b}, and T (this
     * test's room) = everybody. In the dynamic modes, waits until every node
     * with a member subscribed to each room channel.
     */
    async function eight(nsp = '/') {
      const socks = await connectAll([
        { node: n1, label: 'N1a', nsp },
        { node: n1, label: 'N1b', nsp },
        { node: n2, label: 'N2a', nsp },
        { node: n2, label: 'N2b', nsp, mode: POLLING },
        { node: c1, label: 'C1a', nsp },
        { node: c1, label: 'C1b', nsp },
        { node: c2, label: 'C2a', nsp },
        { node: c2, label: 'C2b', nsp, mode: POLLING },
      ]);
      const by = Object.fromEntries(socks.map((s) => [s.label, s]));
      const room = `T-${Math.random().toString(36).slice(2, 10)}`;
      for (const s of socks) await join(s, room);
      for (const l of ['C1a', 'N1a', 'N2b']) await join(by[l], 'ra');
      for (const l of ['C1a', 'C2a', 'N2a', 'N1b']) await join(by[l], 'rb');
      if (sharded) await waitRoomChannels(redis, socks, suite.sub);
      return { socks, by, room };
    }

    const origins = [['C', 'C1a'], ['Node', 'N1a']];

    for (const [kind, label] of origins) {
      it(`broadcasts from a ${kind} node: every option, every payload, to clients on both kinds of nodes`, T, async () => {
        const { socks, by } = await eight();
        const sender = by[label];
        const polling = socks.filter((s) => s.modeName === 'polling');
        const cases = suite.full
          ? standardCases(socks, sender, { polling })
          : standardCases(socks, sender, { polling }).filter(([name]) => /^(all|to ra|to ra\+rb|except rb|to a remote|broadcast \(sender)/.test(name));
        await broadcastMatrix(socks, sender, cases, PAYLOADS, { unorderedOnSenderNode: sharded && sender.node.kind === 'node' });
      });

      it(`broadcasts from a ${kind} node in /custom reach /custom only`, T, async () => {
        const custom = await connectAll([
          { node: n1, nsp: '/custom', label: 'xN1' },
          { node: n2, nsp: '/custom', label: 'xN2', mode: POLLING },
          { node: c1, nsp: '/custom', label: 'xC1' },
          { node: c2, nsp: '/custom', label: 'xC2' },
          { node: n2, nsp: '/', label: 'rootN2' },
          { node: c2, nsp: '/', label: 'rootC2' },
        ]);
        for (const s of [custom[1], custom[3], custom[4], custom[5]]) await join(s, 'cr');
        if (sharded) await waitRoomChannels(redis, custom, suite.sub);
        const sender = custom.find((s) => s.label === (kind === 'C' ? 'xC1' : 'xN1'));
        await broadcastMatrix(custom, sender, [['all', {}], ['to cr', { rooms: ['cr'] }]], ['/custom', 2 ** 34, { u: '漢字😀' }],
          { unorderedOnSenderNode: sharded && sender.node.kind === 'node' });
      });
    }

    it('fetchSockets from C and from Node nodes: the same sockets, rooms, data and handshakes', T, async () => {
      const { socks, by, room } = await eight();
      for (const s of socks) {
        assert.deepEqual(await ack(s, 'set-data', { label: s.label, payload: JSON_PAYLOADS }), [true]);
      }
      const views = {};
      for (const asker of ['C1a', 'N1a', 'C2b', 'N2b']) {
        const [{ err, sockets }] = await ack(by[asker], 'fetch-details', room);
        assert.equal(err, null, `fetch-details from ${asker}`);
        assert.deepEqual(sorted(sockets.map((s) => s.id)), ids(socks), `sockets fetched from ${asker}`);
        for (const s of sockets) {
          const who = socks.find((x) => x.id === s.id);
          const ctx = `${who.label} seen from ${asker}`;
          assert.equal(s.local, who.node === by[asker].node, `local flag of ${ctx}`);
          assert.deepEqual(sorted(s.rooms), sorted(who.model), `rooms of ${ctx}`);
          assert.deepEqual(s.data, { label: who.label, payload: JSON_PAYLOADS }, `data of ${ctx}`);
          for (const k of ['headers', 'time', 'address', 'xdomain', 'secure', 'issued', 'url', 'query', 'auth']) {
            assert.ok(k in s.handshake, `handshake of ${ctx} has no ${k}: ${JSON.stringify(s.handshake)}`);
          }
          assert.equal(s.handshake.query.transport, who.modeName, `handshake.query of ${ctx}`);
          assert.equal(s.handshake.headers.host, `${who.node.host}:${who.node.port}`, `headers.host of ${ctx}`);
        }
        views[asker] = Object.fromEntries(sockets.map(({ local, rooms, ...rest }) => [rest.id, { ...rest, rooms: sorted(rooms) }]));
      }
      for (const asker of ['N1a', 'C2b', 'N2b']) assert.deepEqual(views[asker], views.C1a, `what ${asker} sees vs what C1a sees`);
      // By room and by id, from both kinds.
      for (const asker of ['C1a', 'N1a']) {
        assert.deepEqual(sorted((await ack(by[asker], 'fetch-sockets', 'ra'))[0]), ids([by.C1a, by.N1a, by.N2b]), `ra from ${asker}`);
        assert.deepEqual((await ack(by[asker], 'fetch-sockets', by.C2b.id))[0], [by.C2b.id]);
        assert.deepEqual((await ack(by[asker], 'fetch-sockets', by.N2b.id))[0], [by.N2b.id]);
        assert.deepEqual(await ack(by[asker], 'fetch-sockets', 'nobody-here'), [[]]);
      }
    });

    if (!suite.full) return;

    for (const [kind, label] of origins) {
      it(`broadcast with acks from a ${kind} node: the answers of every client on both kinds of nodes`, T, async () => {
        const { socks, by, room } = await eight();
        for (const s of socks) s.on('ask', (cb) => cb({ who: s.label, payload: JSON_PAYLOADS }));
        const [err, responses] = await ackWithin(3000 * SLOW + 2500 * SLOW, by[label], 'broadcast-ask', [room], 3000 * SLOW);
        assert.equal(err, null);
        assert.deepEqual(sorted(responses.map((r) => r.who)), sorted(socks.map((s) => s.label)));
        for (const r of responses) assert.deepEqual(r.payload, JSON_PAYLOADS, `answer of ${r.who}`);
        const [err2, inRa] = await ackWithin(3000 * SLOW + 2500 * SLOW, by[label], 'broadcast-ask', ['ra'], 3000 * SLOW);
        assert.equal(err2, null);
        assert.deepEqual(sorted(inRa.map((r) => r.who)), ['C1a', 'N1a', 'N2b']);
      });

      it(`broadcast with acks from a ${kind} node: binary in the answers`, T, async () => {
        const { socks, by } = await eight();
        // Two binary values per answer, four answers: socket.io-parser 4.2.7
        // refuses packets of more than 10 attachments (maxAttachments).
        const answer = (s) => ({ who: s.label, bin: Buffer.from(s.label), nested: { deep: [Buffer.from([0, 255, s.label.length])] }, n: -(2 ** 40) });
        for (const s of socks) s.on('ask', (cb) => cb(answer(s)));
        const [err, responses] = await ackWithin(3000 * SLOW + 2500 * SLOW, by[label], 'broadcast-ask', ['rb'], 3000 * SLOW);
        assert.equal(err, null);
        assert.deepEqual(sorted(responses.map((r) => r.who)), ['C1a', 'C2a', 'N1b', 'N2a']);
        for (const r of responses) assert.deepEqual(r, answer(by[r.who]), `answer of ${r.who}`);
      });

      it(`broadcast with acks from a ${kind} node: times out with the other answers when a client on each kind stays silent`, T, async () => {
        const { socks, by, room } = await eight();
        const silent = ['N2a', 'C2a'];
        for (const s of socks) s.on('ask', (cb) => { if (!silent.includes(s.label)) cb(s.label); });
        const t0 = Date.now();
        const [err, responses] = await ackWithin(700 + 2500 * SLOW, by[label], 'broadcast-ask', [room], 700);
        const elapsed = Date.now() - t0;
        assert.equal(err, 'timeout');
        assert.deepEqual(sorted(responses), sorted(socks.map((s) => s.label).filter((l) => !silent.includes(l))));
        assert.ok(elapsed >= 650 && elapsed < 700 + 2500 * SLOW, `answered after ${elapsed} ms (timeout 700)`);
      });

      it(`remote socket operations from a ${kind} node: by socket id on both kinds, on a room, on all`, T, async () => {
        const { socks, by } = await eight();
        const origin = by[label];
        const targets = kind === 'C' ? [by.N2a, by.C2b] : [by.C2a, by.N2b];
        for (const t of targets) assert.deepEqual(await ack(origin, 'sockets-join', t.id, 'by-id'), [true]);
        await eventually('the targets joined "by-id"', async () => {
          const [list] = await ack(origin, 'fetch-sockets', 'by-id');
          return JSON.stringify(sorted(list)) === JSON.stringify(ids(targets));
        });
        for (const s of socks) {
          const [rooms] = await ack(s, 'rooms');
          assert.equal(rooms.includes('by-id'), targets.includes(s), `rooms of ${s.label}: ${JSON.stringify(rooms)}`);
        }
        assert.deepEqual(await ack(origin, 'sockets-leave', targets[0].id, 'by-id'), [true]);
        await eventually(`${targets[0].label} left "by-id"`, async () => !(await ack(targets[0], 'rooms'))[0].includes('by-id'));
        assert.ok((await ack(targets[1], 'rooms'))[0].includes('by-id'), 'socketsLeave by id reached the other target');

        assert.deepEqual(await ack(origin, 'sockets-join', 'ra', 'ra-too'), [true]);
        const all = `all-${label}`;
        assert.deepEqual(await ack(origin, 'sockets-join', null, all), [true]);
        await eventually('socketsJoin on ra and on all arrived', async () => {
          const [list] = await ack(by.C2a, 'fetch-sockets', 'ra-too');
          const [everyone] = await ack(by.N2a, 'fetch-sockets', all);
          return JSON.stringify(sorted(list)) === JSON.stringify(ids([by.C1a, by.N1a, by.N2b]))
            && ids(socks).every((id) => everyone.includes(id));
        });
        for (const s of socks) {
          const [rooms] = await ack(s, 'rooms');
          assert.ok(rooms.includes(all), `${s.label} did not join ${all}`);
          assert.equal(rooms.includes('ra-too'), s.model.has('ra'), `ra-too in the rooms of ${s.label}`);
        }
        assert.deepEqual(await ack(origin, 'sockets-leave', null, all), [true]);
        await eventually(`every socket left ${all}`, async () => {
          const states = await Promise.all(socks.map(async (s) => (await ack(s, 'rooms'))[0].includes(all)));
          return states.every((x) => !x);
        });

        const gone = targets.map((t) => once(t, 'disconnect'));
        for (const t of targets) assert.deepEqual(await ack(origin, 'disconnect-sockets', t.id, false), [true]);
        for (const [i, p] of gone.entries()) assert.equal((await p)[0], 'io server disconnect', `${targets[i].label} disconnect`);
        for (const s of socks.filter((x) => !targets.includes(x))) {
          assert.deepEqual(await ack(s, 'echo', 'still', 2 ** 33), ['still', 2 ** 33], `${s.label} still connected`);
        }
      });

      it(`server-side emits from a ${kind} node: every other node gets them, and answers`, T, async () => {
        const socks = await connectAll([{ node: n1 }, { node: n2 }, { node: c1 }, { node: c2 }]);
        const origin = socks.find((s) => s.node === (kind === 'C' ? c1 : n1));
        const others = socks.filter((s) => s !== origin);
        const tag = `hello-${label}-${Date.now()}`;
        assert.deepEqual(await ack(origin, 'sse', 'sse-hello', tag, ...JSON_PAYLOADS), [true]);
        for (const s of others) {
          const entry = await eventually(`${s.node.name} recorded the event`, async () => {
            const [events] = await ack(s, 'server-events');
            return events.find((e) => e[1] === tag);
          });
          assert.deepEqual(entry, ['sse-hello', tag, ...JSON_PAYLOADS], `what ${s.node.name} recorded`);
        }
        await sleep(100);
        assert.ok(!(await ack(origin, 'server-events'))[0].some((e) => e[1] === tag), 'the sender got its own event');

        const askTag = `ask-${label}-${Date.now()}`;
        const [[err, responses]] = await ackWithin(3000 * SLOW + 2500 * SLOW, origin, 'sse-ack', 3000 * SLOW, 'sse-ask', askTag, ...JSON_PAYLOADS);
        assert.equal(err, null);
        assert.deepEqual(responses.map((r) => r.node).sort(), others.map((s) => s.node.name).sort());
        for (const r of responses) assert.deepEqual(r.args, [askTag, ...JSON_PAYLOADS], `answer of ${r.node}`);
      });
    }

    it('every node counts four servers; allRooms (classic) is the same union everywhere', T, async () => {
      const { socks, by } = await eight();
      for (const l of ['N1a', 'N2b', 'C1a', 'C2b']) {
        assert.deepEqual(await ack(by[l], 'server-count'), [4], `server-count on ${by[l].node.name}`);
      }
      if (sharded) return; // the sharded adapter has no allRooms()
      const want = new Set(socks.flatMap((s) => [...s.model]));
      const seen = [];
      for (const l of ['N1a', 'C1a', 'N2b', 'C2b']) {
        const [rooms] = await ack(by[l], 'all-rooms');
        // Sockets of earlier tests may linger a moment: a superset, equal between nodes.
        for (const r of want) assert.ok(rooms.includes(r), `all-rooms on ${by[l].node.name} misses ${r}`);
        seen.push(sorted(new Set(rooms)));
      }
      for (const s of seen.slice(1)) assert.deepEqual(s, seen[0], 'all-rooms differs between nodes');
    });
  });
}
