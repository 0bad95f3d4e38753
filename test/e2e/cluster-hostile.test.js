'use strict';
// A hostile publisher on the cluster's Redis: with node-redis, garbage is
// PUBLISHed (classic) or SPUBLISHed (sharded) to every channel the C nodes
// listen on: random bytes, truncated msgpack, msgpack of the wrong shapes
// ([uid] only, packet not a map, data not an array, event not a string,
// nested 100 and 100000 deep), JSON of the wrong types, a map32 / array32 /
// str32 / bin32 declaring 4 billion entries, an emitter-style message of
// another namespace, malformed answers to a live request. The C nodes must
// survive (clean exit at the end, no sanitizer report), drop what they
// cannot use with rate-limited "dropped" log lines (not one per message),
// deliver nothing from another namespace, and still broadcast normally
// afterwards.

const { describe, it, before, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const notepack = require('notepack.io');
const { SLOW, ack, closeAll, sleep } = require('./lib/sio');
const {
  TLS_SKIP, useCluster, waitSubscribers, POLLING, connectAll, join, countLines, broadcastMatrix, sorted, ids,
} = require('./lib/cluster');

const T = { timeout: 45000 * SLOW };
const UID = 'hostil';
const OPTS = { rooms: [], except: [], flags: {} };

/** A small deterministic PRNG (mulberry32). */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(rand, n, first) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  if (first !== undefined && n) b[0] = first;
  return b;
}

function nested(depth, leaf) {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { k: v };
  return v;
}

const fixstr = (s) => Buffer.concat([Buffer.from([0xa0 | Buffer.byteLength(s)]), Buffer.from(s)]);
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const HUGE = 0xffffffff;

/** Messages for a classic broadcast channel (msgpack [uid, packet, opts] and worse). */
function broadcastGarbage(rand) {
  const out = [];
  for (let i = 0; i < 40; i++) out.push(randomBytes(rand, 1 + Math.floor(rand() * 600)));
  for (let i = 0; i < 20; i++) out.push(randomBytes(rand, 2 + Math.floor(rand() * 100), 0x93)); // array(3) then noise
  const valid = notepack.encode([UID, { type: 2, data: ['hostile-truncated', 'x'.repeat(40), { a: [1, 2, { b: Buffer.from([1, 2, 3]) }] }], nsp: '/' }, OPTS]);
  for (let n = 1; n < valid.length; n++) out.push(valid.subarray(0, n));
  const pack = (v) => notepack.encode(v);
  const pkt = (data, extra = {}) => ({ type: 2, data, nsp: '/', ...extra });
  out.push(
    pack([UID]),
    pack([]),
    pack([UID, 'packet is a string', OPTS]),
    pack([UID, 42, null]),
    pack([UID, [2, ['hostile-packet-array']], OPTS]),
    pack([UID, pkt('data is a string'), OPTS]),
    pack([UID, pkt({ data: 'is a map' }), OPTS]),
    pack([UID, pkt([42, 'event is a number']), OPTS]),
    pack([UID, pkt([null]), OPTS]),
    pack([UID, pkt([{ event: 'is a map' }]), OPTS]),
    pack([UID, pkt([]), OPTS]),
    pack([UID, pkt(['hostile-opts-string']), 'opts is a string']),
    pack([UID, pkt(['hostile-opts-types']), { rooms: 'not an array', except: 5, flags: [] }]),
    pack([UID, pkt(['hostile-opts-items']), { rooms: [1, null, {}], except: [[]], flags: { volatile: 'yes', timeout: -1 } }]),
    pack([UID, { type: 'two', data: ['hostile-type-string'], nsp: '/' }, OPTS]),
    pack([UID, { data: ['hostile-no-type'], nsp: 5 }, OPTS]),
    pack({ uid: UID, packet: pkt(['hostile-map-top']) }),
    pack('a string'),
    pack(12345),
    pack([UID, pkt(['hostile-deep-100', nested(100, 'bottom')]), OPTS]),
    // 100000 nested arrays inside data.
    Buffer.concat([Buffer.from([0x93]), fixstr(UID), Buffer.from([0x83]), fixstr('type'), Buffer.from([0x02]), fixstr('data'),
      Buffer.from([0x92]), fixstr('hostile-deep-100000'), Buffer.alloc(100000, 0x91), Buffer.from([0xc0])]),
    // Containers declaring 4 billion entries (then nothing).
    Buffer.concat([Buffer.from([0x93]), fixstr(UID), Buffer.from([0xdf]), u32(HUGE), fixstr('a'), Buffer.from([0x01])]),
    Buffer.concat([Buffer.from([0xdd]), u32(HUGE), fixstr(UID)]),
    Buffer.concat([Buffer.from([0x93]), fixstr(UID), Buffer.from([0xdb]), u32(HUGE), Buffer.from('abc')]),
    Buffer.concat([Buffer.from([0x93]), fixstr(UID), Buffer.from([0xc6]), u32(HUGE), Buffer.from('abc')]),
    Buffer.concat([Buffer.from([0x93]), fixstr(UID), Buffer.from([0xc9]), u32(HUGE), Buffer.from([0x05, 1, 2])]),
    Buffer.concat([Buffer.from([0x93]), fixstr(UID), Buffer.from([0x83]), fixstr('type'), Buffer.from([0x02]), fixstr('data'),
      Buffer.from([0xdd]), u32(HUGE), fixstr('hostile-array32')]),
    // The byte that is never used, and a float where a string is expected.
    Buffer.from([0x93, 0xc1, 0xc1, 0xc1]),
    Buffer.concat([Buffer.from([0x93, 0xcb]), Buffer.alloc(8, 0xff), Buffer.from([0x80, 0x80])]),
    // Unknown extension types and timestamps in data.
    Buffer.concat([Buffer.from([0x93]), fixstr(UID), Buffer.from([0x83]), fixstr('type'), Buffer.from([0x02]), fixstr('data'),
      Buffer.from([0x93]), fixstr('hostile-ext'), Buffer.from([0xd6, 0xff, 0, 0, 0, 1]), Buffer.from([0xd4, 0x42, 0x07]),
      fixstr('nsp'), fixstr('/'), Buffer.from([0x80])]),
    Buffer.alloc(0),
    Buffer.alloc(1 << 20, 0x91), // 1 MiB of nested array headers
  );
  return out;
}

/** Messages for the request and response channels (JSON or msgpack maps, and worse). */
function requestGarbage(rand) {
  const out = [];
  for (let i = 0; i < 30; i++) out.push(randomBytes(rand, 1 + Math.floor(rand() * 400)));
  for (let i = 0; i < 20; i++) out.push(randomBytes(rand, 1 + Math.floor(rand() * 200), 0x7b)); // '{' then noise
  for (let i = 0; i < 10; i++) out.push(randomBytes(rand, 1 + Math.floor(rand() * 200), 0x85)); // map(5) then noise
  const json = [
    '{', '{"type":', '{"type":5', '[]', '"string"', 'null', '{}', '{"type":"5"}', '{"type":null}', '{"type":-1}',
    '{"type":1e400}', '{"type":99,"requestId":"x"}', '{"type":2.5,"requestId":"x"}',
    '{"type":0}', '{"type":0,"requestId":7,"rooms":"not an array"}', '{"type":1}', '{"type":1,"requestId":{}}',
    '{"type":5}', '{"type":5,"requestId":42}', '{"type":5,"requestId":"r","opts":"x"}',
    '{"type":5,"requestId":"r","opts":{"rooms":7,"except":"x"}}',
    '{"type":6}', '{"type":6,"data":"x"}', '{"type":6,"data":[1,2]}', '{"type":6,"data":[]}',
    '{"type":6,"data":[null,"x"],"requestId":"r"}',
    '{"type":7}', '{"type":7,"requestId":"r"}', '{"type":7,"requestId":"r","packet":{"data":"x"}}',
    '{"type":7,"requestId":"r","packet":{"data":[5]}}',
    '{"type":2}', '{"type":2,"sid":5,"room":7}', '{"type":3,"sid":{},"room":[]}', '{"type":4,"sid":[]}',
    '{"type":8,"requestId":"unknown","clientCount":1e12}', '{"type":8,"requestId":"unknown","clientCount":-5}',
    '{"type":9,"requestId":"unknown","packet":1}', '{"requestId":"unknown","sockets":[]}', '{"requestId":5}',
    '{"requestId":"unknown","rooms":"x"}', '{"type":6,"requestId":"unknown","data":1}',
    `{"type":6,"data":["sse-hello",${'['.repeat(100000)}${']'.repeat(100000)}]}`,
    `{"type":0,"requestId":"${'r'.repeat(100000)}","rooms":[]}`,
    `{"type":5,"requestId":"x","opts":{"rooms":[${'"r",'.repeat(10000)}"r"]}}`,
    '{"type":5,"requestId":"x\\ud800","opts":{}}',
    '{"uid":["x"],"type":1,"requestId":"x"}',
    '{"type":1,"requestId":"x"', // unterminated
  ];
  for (const j of json) out.push(Buffer.from(j));
  out.push(
    notepack.encode({ type: 7 }),
    notepack.encode({ type: 7, requestId: 'r', packet: 'x', opts: OPTS }),
    notepack.encode({ type: 7, requestId: 'r', packet: { type: 2, data: 'x' }, opts: 5 }),
    notepack.encode({ type: 7, requestId: 5, packet: { type: 2, data: ['hostile-bcack'] }, opts: OPTS }),
    notepack.encode({ type: 9, requestId: 'unknown', packet: Buffer.from([1]) }),
    notepack.encode(['not', 'a', 'map']),
    Buffer.concat([Buffer.from([0xdf]), u32(HUGE), fixstr('type'), Buffer.from([0x07])]),
    Buffer.concat([Buffer.from([0x85]), fixstr('type'), Buffer.from([0x07]), fixstr('packet'), Buffer.from([0xdd]), u32(HUGE)]),
  );
  const valid = notepack.encode({ uid: UID, requestId: 'trunc', type: 7, packet: { type: 2, data: ['hostile-truncated-request'], nsp: '/' }, opts: { ...OPTS, flags: { timeout: 100 } } });
  for (let n = 1; n < valid.length; n++) out.push(valid.subarray(0, n));
  return out;
}

/** Publishes every message to every channel (PUBLISH or SPUBLISH); resolves the count. */
async function flood(client, channels, messages, cmd = 'PUBLISH') {
  let n = 0;
  for (const ch of channels) {
    for (let i = 0; i < messages.length; i += 50) {
      await Promise.all(messages.slice(i, i + 50).map((m) => client.sendCommand([cmd, ch, m])));
      n += Math.min(50, messages.length - i);
    }
  }
  return n;
}

/** After the flood: the clients still get normal broadcasts (every node, a room, another namespace). */
async function stillBroadcasts(socks) {
  const root = socks.filter((s) => s.nspName === '/');
  for (const sender of [root[0], root[root.length - 1]]) {
    await broadcastMatrix(socks, sender, [['all', {}], ['to hroom', { rooms: ['hroom'] }], ['broadcast', { broadcast: true }]],
      ['after the garbage', 2 ** 40, { u: '😀' }, Buffer.from([1, 2])]);
  }
  const custom = socks.filter((s) => s.nspName === '/custom');
  await broadcastMatrix(socks, custom[0], [['all in /custom', {}]], ['/custom after the garbage']);
}

function assertDropLogs(node, started, sent) {
  const n = countLines(node.stderr, /dropped/);
  const seconds = (Date.now() - started) / 1000;
  assert.ok(n >= 1, `${node.name} logged no "dropped" line for ${sent} garbage messages:\n${node.stderr.slice(-3000)}`);
  assert.ok(n <= Math.ceil(seconds) + 2,
    `${node.name} logged ${n} "dropped" lines in ${seconds.toFixed(1)} s for ${sent} messages (not rate-limited):\n${node.stderr.slice(-3000)}`);
}

describe('cluster: a hostile publisher on the Redis of two C nodes (classic)', { skip: TLS_SKIP }, () => {
  const cluster = useCluster();
  let c1;
  let c2;
  let client;
  before(async () => {
    [c1, c2] = await Promise.all(['c1', 'c2'].map((n) => cluster.cNode(n, { requestsTimeout: 1500 * SLOW })));
    client = await cluster.client();
    await waitSubscribers(client, 2);
  });
  afterEach(() => closeAll());

  async function clients() {
    const socks = await connectAll([
      { node: c1, label: 'A' }, { node: c2, label: 'B' }, { node: c2, label: 'C', mode: POLLING },
      { node: c1, label: 'X1', nsp: '/custom' }, { node: c2, label: 'X2', nsp: '/custom' },
    ]);
    await join(socks[0], 'hroom');
    await join(socks[1], 'hroom');
    await join(socks[3], 'hroom');
    return socks;
  }

  it('survives garbage on every channel, logs rate-limited "dropped" lines, and still broadcasts', T, async () => {
    const socks = await clients();
    const rand = prng(0x5eed);
    const own = (await client.sendCommand(['PUBSUB', 'CHANNELS', 'socket.io-response#*#*#'])).map(String);
    assert.ok(own.length >= 2, `no per-node response channel found: ${own}`);
    const started = Date.now();
    let sent = 0;
    sent += await flood(client, ['socket.io#/#', 'socket.io#/#hroom#', `socket.io#/#${socks[0].id}#`, 'socket.io#/custom#'], broadcastGarbage(rand));
    sent += await flood(client, ['socket.io-request#/#', 'socket.io-response#/#', 'socket.io-request#/custom#', ...own], requestGarbage(rand));
    await sleep(300 * SLOW);
    for (const n of [c1, c2]) assert.equal(n.exitInfo, null, `${n.name} died: ${n.stderr.slice(-3000)}`);
    for (const s of socks) assert.deepEqual(await ack(s, 'echo', 'alive'), ['alive'], `${s.label} still connected`);
    await stillBroadcasts(socks);
    assert.deepEqual(await ack(socks[0], 'server-count'), [2]);
    const [res] = await ack(socks[2], 'fetch-details', null);
    assert.equal(res.err, null);
    assert.deepEqual(sorted(res.sockets.map((s) => s.id)), ids(socks.slice(0, 3)));
    for (const n of [c1, c2]) assertDropLogs(n, started, sent);
  });

  it('delivers nothing from another namespace (emitter-style messages on the wrong channel)', T, async () => {
    const socks = await clients();
    const other = (ev, nsp) => notepack.encode(['emitter', { type: 2, data: [ev, 1], nsp }, OPTS]);
    await client.publish('socket.io#/#', other('hostile-from-custom', '/custom'));
    await client.publish('socket.io#/#', other('hostile-from-nowhere', '/nowhere'));
    await client.publish('socket.io#/#hroom#', other('hostile-room-from-custom', '/custom'));
    await client.publish('socket.io#/custom#', other('hostile-root-in-custom', '/'));
    await client.publish('socket.io#/custom#', notepack.encode(['emitter', { type: 2, data: ['hostile-no-nsp-in-custom'] }, OPTS]));
    // And the ones that are right, to prove the channel works: nsp omitted means "/".
    await client.publish('socket.io#/#', notepack.encode(['emitter', { type: 2, data: ['ok-no-nsp', 1] }, OPTS]));
    await client.publish('socket.io#/custom#', other('ok-custom', '/custom'));
    // A room message for a room nobody has here.
    await client.publish('socket.io#/#nobody-here#', notepack.encode(['emitter', { type: 2, data: ['hostile-empty-room'], nsp: '/' }, { rooms: ['nobody-here'], except: [], flags: {} }]));
    const root = socks.filter((s) => s.nspName === '/');
    const custom = socks.filter((s) => s.nspName === '/custom');
    for (const s of root) assert.deepEqual(await s.inbox.next('ok-no-nsp'), [1], s.label);
    for (const s of custom) assert.deepEqual(await s.inbox.next('ok-custom'), [1], s.label);
    await stillBroadcasts(socks);
    for (const s of socks) {
      const wrong = s.inbox.seen.filter((e) => String(e[0]).startsWith('hostile-'));
      assert.deepEqual(wrong, [], `${s.label} (${s.nspName}) received messages of another namespace`);
    }
  });

  // Node's adapter makes Sets of opts.rooms / opts.except: a string is a set
  // of one-letter rooms, a number or an object throws, and a number in the
  // list is a room like any other (socket.io-adapter's Room is string |
  // number: io.to(5).emit() publishes rooms [5]). None of these reach
  // anybody there; a C node must not read them as "no rooms" (= everyone).
  it('malformed or numeric rooms in opts do not widen to every socket', T, async () => {
    const socks = await clients();
    const bc = (ev, rooms) => notepack.encode(['emitter', { type: 2, data: [ev], nsp: '/' }, { rooms, except: [], flags: {} }]);
    await client.publish('socket.io#/#', bc('hostile-numeric-room', [5]));
    await client.publish('socket.io#/#', bc('hostile-null-room', [null]));
    await client.publish('socket.io#/#', bc('hostile-map-room', [{ a: 1 }]));
    await client.publish('socket.io#/#', bc('ok-after-rooms', []));
    const problems = [];
    for (const s of socks.filter((x) => x.nspName === '/')) {
      await s.inbox.next('ok-after-rooms');
      const got = s.inbox.seen.filter((e) => String(e[0]).startsWith('hostile-')).map((e) => e[0]);
      if (got.length) problems.push(`${s.label} got broadcasts to rooms nobody is in: ${JSON.stringify(got)}`);
    }
    // Joins first (checked while everybody is connected), then disconnects.
    for (const j of [
      '{"uid":"hostil","type":2,"opts":{"rooms":"zz","except":[]},"rooms":["hostile-joined"]}',
      '{"uid":"hostil","type":2,"opts":{"rooms":7},"rooms":["hostile-joined"]}',
      '{"uid":"hostil","type":2,"opts":{"rooms":[5,null]},"rooms":["hostile-joined"]}',
    ]) await client.publish('socket.io-request#/#', j);
    await sleep(300 * SLOW);
    for (const s of socks) {
      const [rooms] = await ack(s, 'rooms');
      if (rooms.includes('hostile-joined')) problems.push(`${s.label} joined from a request with malformed opts: ${JSON.stringify(rooms)}`);
    }
    for (const j of [
      '{"uid":"hostil","type":4,"opts":{"rooms":"zz","except":[]},"close":false}',
      '{"uid":"hostil","type":4,"opts":{"rooms":5,"except":[]},"close":true}',
      '{"uid":"hostil","type":4,"opts":{"rooms":[5,null,{}],"except":[]},"close":true}',
      '{"uid":"hostil","type":4,"opts":{"rooms":{"a":1}},"close":true}',
    ]) await client.publish('socket.io-request#/#', j);
    await sleep(300 * SLOW);
    for (const s of socks) {
      if (!s.connected) problems.push(`${s.label} was disconnected by a request with malformed opts`);
      else assert.deepEqual(await ack(s, 'echo', 'alive'), ['alive']);
    }
    assert.deepEqual(problems, []);
  });

  it('survives malformed answers to its own live requests', T, async () => {
    const socks = await clients();
    const sub = client.duplicate();
    sub.on('error', () => {});
    await sub.connect();
    const hostile = [];
    const answer = async (raw) => {
      let req;
      try {
        req = raw[0] === 0x7b ? JSON.parse(raw.toString()) : notepack.decode(raw);
      } catch {
        return;
      }
      if (!req || typeof req.requestId !== 'string' || req.uid === UID) return;
      const id = req.requestId;
      const ch = 'socket.io-response#/#';
      const specific = `socket.io-response#/#${req.uid}#`;
      const list = [
        `{"requestId":"${id}","sockets":"not an array"}`,
        `{"requestId":"${id}","sockets":[5,null,{"id":7,"rooms":"x","handshake":3,"data":{}}]}`,
        `{"requestId":"${id}","rooms":{"a":1}}`,
        `{"type":8,"requestId":"${id}","clientCount":"many"}`,
        `{"type":8,"requestId":"${id}","clientCount":1e300}`,
        `{"type":6,"requestId":"${id}"}`,
      ].map((s) => Buffer.from(s));
      list.push(notepack.encode({ type: 9, requestId: id }), notepack.encode({ type: 9, requestId: id, packet: { deep: nested(100, 1) } }));
      for (const m of list) {
        hostile.push(m);
        await client.publish(ch, m);
        await client.publish(specific, m);
      }
    };
    // A pattern subscription: not counted by PUBSUB NUMSUB, so the nodes do not wait for it.
    await sub.pSubscribe('socket.io-request#/#*', (msg) => { answer(msg); }, true);
    const t0 = Date.now();
    // fetchSockets, allRooms, serverSideEmitWithAck, broadcast with acks: each answers, in bounded time.
    const [fetched] = await ack(socks[0], 'fetch-details', null);
    assert.ok(fetched && 'err' in fetched && Array.isArray(fetched.sockets), `fetch-details answered ${JSON.stringify(fetched)}`);
    const [rooms] = await ack(socks[1], 'all-rooms');
    assert.ok(Array.isArray(rooms), `all-rooms answered ${JSON.stringify(rooms)}`);
    const [[err]] = await ack(socks[0], 'sse-ack', 1000, 'sse-ask', 'x');
    assert.ok(err === null || err === 'timeout');
    for (const s of socks) s.on('ask', (cb) => cb(s.label));
    const [bErr, answers] = await ack(socks[1], 'broadcast-ask', ['hroom'], 1000);
    assert.ok(bErr === null || bErr === 'timeout');
    assert.ok(Array.isArray(answers));
    assert.ok(hostile.length > 0, 'no request was seen to answer');
    assert.ok(Date.now() - t0 < 20000 * SLOW);
    await sub.pUnsubscribe();
    await sub.disconnect();
    await sleep(200);
    for (const n of [c1, c2]) assert.equal(n.exitInfo, null, `${n.name} died: ${n.stderr.slice(-3000)}`);
    await stillBroadcasts(socks);
  });
});

describe('cluster: a hostile publisher on the Redis of two C nodes (sharded)', { skip: TLS_SKIP }, () => {
  const cluster = useCluster();
  let c1;
  let c2;
  let client;
  before(async () => {
    [c1, c2] = await Promise.all(['c1', 'c2'].map((n) => cluster.cNode(n, { mode: 'sharded', subscriptionMode: 'dynamic-private' })));
    client = await cluster.client();
    await waitSubscribers(client, 2, { mode: 'sharded', timeout: 5000 * SLOW });
  });
  afterEach(() => closeAll());

  it('survives garbage SPUBLISHed on every channel, logs rate-limited "dropped" lines, and still broadcasts', T, async () => {
    const socks = await connectAll([
      { node: c1, label: 'A' }, { node: c2, label: 'B' }, { node: c2, label: 'C', mode: POLLING },
      { node: c1, label: 'X1', nsp: '/custom' }, { node: c2, label: 'X2', nsp: '/custom' },
    ]);
    await join(socks[0], 'hroom');
    await join(socks[1], 'hroom');
    await join(socks[3], 'hroom');
    await sleep(200 * SLOW); // the room subscriptions
    const own = (await client.sendCommand(['PUBSUB', 'SHARDCHANNELS', 'socket.io#/#*'])).map(String);
    const rand = prng(0xbad);
    const cm = (type, data, extra = {}) => JSON.stringify({ uid: 'hostile0hostile0', nsp: '/', type, data, ...extra });
    const json = [
      '{', '{}', '[]', 'null', '{"type":3}', '{"type":3,"data":"x"}', '{"type":3,"data":{"packet":"x","opts":5}}',
      cm(3, { packet: { type: 2, data: 'not an array', nsp: '/' }, opts: OPTS }),
      cm(3, { packet: { type: 2, data: [5], nsp: '/' }, opts: OPTS }),
      cm(3, { packet: { type: 2, data: ['hostile-sharded-other-nsp'], nsp: '/custom' }, opts: OPTS }, { nsp: '/custom' }),
      cm(4, { opts: 'x', rooms: 'y' }), cm(5, { opts: { rooms: 5 }, rooms: [1] }), cm(6, { opts: null, close: 'x' }),
      cm(7, { opts: OPTS }), cm(7, { requestId: 5, opts: 'x' }), cm(8, { requestId: 'unknown', sockets: 'x' }),
      cm(9, { packet: 'x' }), cm(9, {}), cm(10, { requestId: 'unknown', packet: 1 }), cm(11, { requestId: 'u', clientCount: 'x' }),
      cm(12, { requestId: 'u' }), cm(1, null), cm(2, null), cm(13, null), cm(99, [1]), cm('3', {}),
      `{"uid":"x","nsp":"/","type":9,"data":{"packet":["sse-hello",${'['.repeat(100000)}${']'.repeat(100000)}]}}`,
    ].map((s) => Buffer.from(s));
    const msgs = [
      ...json,
      ...broadcastGarbage(rand).slice(0, 120),
      notepack.encode({ uid: 'x', nsp: '/', type: 3, data: { packet: { type: 2, data: ['hostile-bin', Buffer.from([1])] }, opts: 'x' } }),
      notepack.encode({ uid: 'x', nsp: '/', type: 3, data: nested(100, 1) }),
      Buffer.concat([Buffer.from([0x84]), fixstr('uid'), fixstr('x'), fixstr('type'), Buffer.from([0x03]), fixstr('data'), Buffer.from([0xdf]), u32(HUGE)]),
    ];
    const started = Date.now();
    const channels = [...new Set(['socket.io#/#', 'socket.io#/#hroom#', 'socket.io#/custom#', ...own])];
    const sent = await flood(client, channels, msgs, 'SPUBLISH');
    await sleep(300 * SLOW);
    for (const n of [c1, c2]) assert.equal(n.exitInfo, null, `${n.name} died: ${n.stderr.slice(-3000)}`);
    for (const s of socks) assert.deepEqual(await ack(s, 'echo', 'alive'), ['alive'], `${s.label} still connected`);
    await stillBroadcasts(socks);
    // {nsp: "/custom"} is legit on socket.io#/custom# (once to each /custom
    // client) and ignored on every "/" channel.
    for (const s of socks) {
      const got = s.inbox.seen.filter((e) => String(e[0]).startsWith('hostile-sharded-other-nsp'));
      assert.equal(got.length, s.nspName === '/custom' ? 1 : 0, `${s.label} (${s.nspName}): the /custom broadcast ${got.length} times`);
    }
    for (const n of [c1, c2]) assertDropLogs(n, started, sent);
  });
});
