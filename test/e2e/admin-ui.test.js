'use strict';
// The Admin UI's server side (@socket.io/admin-ui 0.5's instrument(io)):
// the same checks against build/sio-test --admin-ui and against Node's
// socket.io 4.8 instrumented with @socket.io/admin-ui 0.5
// (fixtures/node-admin-ui.js), with socket.io-client 4.x as the UI:
// basic auth (refused, accepted with a session id, the session id reused),
// "config" in every mode (development, readonly, production from the flag
// and from NODE_ENV), "server_stats" within 2.5 s with the exact counts of
// a known scenario, the development events with Node's argument shapes
// (socket_connected's SerializedSocket, room_joined, event_received,
// event_sent, socket_updated, socket_disconnected then room_left,
// all_sockets), and the UI's commands (emit, join, leave, _disconnect,
// ignored when readonly). Under E2E_TLS=1 the Node reference is skipped
// (it serves plain HTTP). Then a cluster on one redis-server (plain mode
// only): two C nodes and a Node node, all instrumented, one admin
// connection to a C node seeing and driving every node.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const os = require('node:os');
const {
  KINDS, PASSWORD, HASH, SLOW, sleep, startAdminServer, startNodeAdmin, client, adminClient, closeClients,
  connected, refused, waitFor, ack, sumEvents, ISO_DATE,
} = require('./lib/admin');
const { TLS_SKIP, useCluster, waitSubscribers } = require('./lib/cluster');
const { norm } = require('./lib/sio');
const { request } = require('./lib/server');

const T = { timeout: 30000 * SLOW };
const ALL_FEATURES = ['EMIT', 'JOIN', 'LEAVE', 'DISCONNECT', 'MJOIN', 'MLEAVE', 'MDISCONNECT',
  'AGGREGATED_EVENTS', 'ALL_EVENTS'];
const PRODUCTION_FEATURES = ALL_FEATURES.slice(0, 8);
const STATS_KEYS = ['serverId', 'hostname', 'pid', 'uptime', 'clientsCount', 'pollingClientsCount',
  'aggregatedEvents', 'namespaces'];
const SOCKET_KEYS = ['id', 'clientId', 'transport', 'nsp', 'data', 'handshake', 'rooms'];
const HANDSHAKE_KEYS = ['address', 'headers', 'query', 'issued', 'secure', 'time', 'url', 'xdomain'];
const EVENT_TYPES = ['rawConnection', 'rawDisconnection', 'packetsIn', 'packetsOut', 'bytesIn', 'bytesOut'];

const configOf = async (admin) => (await waitFor(admin, 'config')).args[0];
const nspCount = (stats, name) => (stats.namespaces.find((n) => n.name === name) || { socketsCount: 0 }).socketsCount;
const statsAfter = (admin, index) => admin.log.slice(index + 1).filter((e) => e.ev === 'server_stats').map((e) => e.args[0]);

/** The args of every `ev` logged, as arrays. */
const all = (sock, ev, from = 0) => sock.log.slice(from).filter((e) => e.ev === ev).map((e) => e.args);

function assertRecentDate(d) {
  assert.match(d, ISO_DATE);
  assert.ok(Math.abs(Date.parse(d) - Date.now()) < 60000, `date ${d} is not now`);
}

for (const { kind, label, skip } of KINDS) {
  describe(`admin UI: ${label}`, { skip }, () => {
    const servers = {};
    before(async () => {
      const start = (args, opts) => startAdminServer(kind, args, opts);
      // one after the other: NODE_ENV is set around each start
      servers.dev = await start([]);
      servers.stats = await start([]);
      servers.auth = await start(['--admin-auth', `admin:${HASH}`]);
      servers.readonly = await start(['--admin-readonly']);
      servers.production = await start(['--admin-mode', 'production']);
      servers.productionEnv = await start([], { nodeEnv: 'production' });
      servers.developmentEnv = await start([], { nodeEnv: 'development' });
      servers.msgpack = await start(['--parser', 'msgpack']);
      servers.hosted = await start(['--cors-origin', 'https://admin.socket.io']);
    });
    after(async () => {
      closeClients();
      await sleep(50);
      for (const s of Object.values(servers)) await s.close();
    });

    it('basic auth: refuses bad credentials, accepts the right ones with a session id, and that session id', T, async () => {
      const srv = servers.auth;
      const bad = [undefined, { username: 'admin', password: 'nope' }, { username: 'other', password: PASSWORD },
        { sessionId: '0123456789abcdef' }, { sessionId: '' }, { sessionId: 7, username: 'x' }];
      // The right user name with a password that is not a string: Node's
      // bcryptjs.compare rejects ("Illegal arguments"), the async middleware
      // leaves that rejection unhandled and the whole Node process exits
      // (Node >= 15). The C server refuses it as invalid credentials.
      if (srv.kind === 'c') bad.push({ username: 'admin' }, { username: 'admin', password: 42 });
      for (const auth of bad) {
        const err = await refused(adminClient(srv, auth));
        assert.equal(err.message, 'invalid credentials', JSON.stringify(auth));
        assert.equal(err.data, undefined);
      }
      const a = adminClient(srv, { username: 'admin', password: PASSWORD });
      await connected(a);
      // "session" is sent from the middleware, before CONNECT: the client
      // gives it out (buffered) before its "connect" event
      const session = a.log.findIndex((e) => e.ev === 'session');
      assert.ok(session >= 0 && session < a.log.findIndex((e) => e.ev === '(connect)'), JSON.stringify(a.log.map((e) => e.ev)));
      const [sessionId] = a.log[session].args;
      assert.match(sessionId, /^[0-9a-f]{16}$/);
      assert.deepEqual(await configOf(a), { supportedFeatures: ALL_FEATURES });

      const b = adminClient(srv, { sessionId });
      await connected(b);
      await configOf(b);
      assert.equal(b.log.filter((e) => e.ev === 'session').length, 0, 'no new session for a session id');
      // a session id is checked first: a wrong password beside it does not matter
      await connected(adminClient(srv, { sessionId, username: 'admin', password: 'wrong' }));
      // each login makes a new session
      const c = adminClient(srv, { username: 'admin', password: PASSWORD });
      await connected(c);
      const [other] = (await waitFor(c, 'session')).args;
      assert.notEqual(other, sessionId);
    });

    it('CORS for the hosted UI: --cors-origin https://admin.socket.io allows it with credentials', T, async () => {
      const origin = 'https://admin.socket.io';
      const res = await request(servers.hosted, { query: { EIO: 4, transport: 'polling' }, headers: { Origin: origin } });
      assert.equal(res.status, 200);
      assert.equal(res.headers['access-control-allow-origin'], origin);
      assert.equal(res.headers['access-control-allow-credentials'], 'true');
      const pre = await request(servers.hosted, {
        method: 'OPTIONS',
        query: { EIO: 4, transport: 'polling' },
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
      });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers['access-control-allow-origin'], origin);
      assert.equal(pre.headers['access-control-allow-credentials'], 'true');
      const other = await request(servers.hosted, { query: { EIO: 4, transport: 'polling' }, headers: { Origin: 'https://evil.example' } });
      assert.notEqual(other.headers['access-control-allow-origin'], 'https://evil.example');
    });

    it('"config": the supported features in every mode', T, async () => {
      const expected = {
        dev: ALL_FEATURES,
        readonly: ['AGGREGATED_EVENTS', 'ALL_EVENTS'],
        production: PRODUCTION_FEATURES,
        productionEnv: PRODUCTION_FEATURES, // NODE_ENV=production, no mode given
        developmentEnv: ALL_FEATURES,
      };
      for (const [name, features] of Object.entries(expected)) {
        const a = adminClient(servers[name]);
        await connected(a);
        assert.deepEqual(await configOf(a), { supportedFeatures: features }, name);
      }
    });

    it('"server_stats" within 2.5 s, with the exact counts of a known scenario', T, async () => {
      const srv = servers.stats;
      const admin = adminClient(srv);
      const t0 = Date.now();
      await connected(admin);
      const first = await waitFor(admin, 'server_stats', () => true, { timeout: 2500 * SLOW });
      assert.ok(Date.now() - t0 <= 2500 * SLOW, `first stats after ${Date.now() - t0} ms`);
      const [s0] = first.args;
      assert.deepEqual(Object.keys(s0), STATS_KEYS);
      assert.equal(s0.serverId, os.hostname());
      assert.equal(s0.hostname, os.hostname());
      assert.equal(s0.pid, srv.pid);
      assert.equal(typeof s0.uptime, 'number');
      assert.ok(s0.uptime > 0 && s0.uptime < 600, `uptime ${s0.uptime}`);
      assert.equal(nspCount(s0, '/admin'), 1);
      assert.ok(s0.namespaces.some((n) => n.name === '/'), JSON.stringify(s0.namespaces));
      assert.equal(s0.namespaces[0].name, '/', 'namespaces in creation order');

      // the scenario, after a first stats message: two clients, N events each
      const N = 5;
      const a = client(srv);
      const b = client(srv);
      await Promise.all([connected(a), connected(b)]);
      for (let i = 0; i < N; i++) {
        a.emit('echo', i);
        b.emit('echo', i);
      }
      // packets in: each client's CONNECT ("0") and its N events
      const packets = 2 * (1 + N);
      let bytes = 2 * Buffer.byteLength('0');
      for (let i = 0; i < N; i++) bytes += 2 * Buffer.byteLength(`2${JSON.stringify(['echo', i])}`);
      let stats;
      const deadline = Date.now() + 8000 * SLOW;
      for (;;) {
        const list = statsAfter(admin, first.index);
        stats = list[list.length - 1];
        if (stats && (sumEvents(list).packetsIn || 0) >= packets && nspCount(stats, '/') === 2) break;
        assert.ok(Date.now() < deadline, `stats so far: ${JSON.stringify(list)}`);
        await sleep(50);
      }
      const sum = sumEvents(statsAfter(admin, first.index));
      assert.equal(sum.packetsIn, packets, JSON.stringify(sum));
      assert.equal(sum.bytesIn, bytes, JSON.stringify(sum));
      assert.equal(sum.rawConnection, 2, JSON.stringify(sum));
      assert.ok(sum.packetsOut >= 2 && sum.bytesOut > 0, JSON.stringify(sum)); // CONNECT replies, admin events
      assert.equal(stats.clientsCount, 3);
      assert.equal(stats.pollingClientsCount, 0);
      for (const e of statsAfter(admin, first.index).flatMap((s) => s.aggregatedEvents)) {
        assert.ok(EVENT_TYPES.includes(e.type), e.type);
        assert.equal(e.timestamp % 1000, 0, 'per second');
        assert.ok(Math.abs(e.timestamp - Date.now()) < 60000);
        assert.deepEqual(Object.keys(e), e.type === 'rawDisconnection'
          ? ['timestamp', 'type', 'subType', 'count'] : ['timestamp', 'type', 'count']);
      }

      // a polling client counts as one
      const p = client(srv, '/', { transports: ['polling'] });
      await connected(p);
      const mark = admin.log.length - 1;
      const { args: [withPolling] } = await waitFor(admin, 'server_stats', (s) => s.clientsCount === 4, { from: mark, timeout: 5000 * SLOW });
      assert.equal(withPolling.pollingClientsCount, 1);
      p.close();

      // the clients leave: their DISCONNECT packets, two "transport close"
      const before = admin.log.length - 1;
      a.disconnect();
      b.disconnect();
      for (;;) {
        const list = statsAfter(admin, before);
        const last = list[list.length - 1];
        const s = sumEvents(list);
        if (last && nspCount(last, '/') === 0 && last.clientsCount === 1 && (s['rawDisconnection/transport close'] || 0) >= 3) break;
        assert.ok(Date.now() < deadline + 8000 * SLOW, `stats so far: ${JSON.stringify(list)}`);
        await sleep(50);
      }
      const gone = sumEvents(statsAfter(admin, before));
      assert.equal(gone['rawDisconnection/transport close'], 3, JSON.stringify(gone)); // a, b and the polling one
      assert.ok(gone.packetsIn >= 2, JSON.stringify(gone));
    });

    it('development events with Node\'s argument shapes', T, async () => {
      const srv = servers.dev;
      const admin = adminClient(srv);
      await connected(admin);
      await waitFor(admin, 'all_sockets');
      const a = client(srv);
      await connected(a);
      const { args: [sock, date], index } = await waitFor(admin, 'socket_connected', (s) => s.id === a.id);
      assert.deepEqual(Object.keys(sock), SOCKET_KEYS);
      assert.equal(sock.clientId, a.io.engine.id.slice(0, 12));
      assert.equal(sock.transport, 'websocket');
      assert.equal(sock.nsp, '/');
      assert.deepEqual(sock.data, {});
      assert.deepEqual(Object.keys(sock.handshake), HANDSHAKE_KEYS);
      assert.match(sock.handshake.address, /127\.0\.0\.1/);
      assert.equal(sock.handshake.headers.host, `127.0.0.1:${srv.port}`);
      assert.equal(sock.handshake.query.EIO, '4');
      assert.equal(sock.handshake.query.transport, 'websocket');
      assert.equal(typeof sock.handshake.issued, 'number');
      assert.equal(sock.handshake.secure, srv.kind === 'c' && srv.tls === true);
      assert.match(sock.handshake.time, /GMT/);
      assert.match(sock.handshake.url, /^\/socket\.io\/\?EIO=4&transport=websocket/);
      assert.equal(sock.handshake.xdomain, false);
      assert.deepEqual(sock.rooms, [a.id]);
      assertRecentDate(date);
      // its own room first (joined before the connection handlers)
      const own = await waitFor(admin, 'room_joined', (n, r, id) => id === a.id);
      assert.deepEqual(own.args.slice(0, 3), ['/', a.id, a.id]);
      assertRecentDate(own.args[3]);
      assert.ok(own.index < index, 'room_joined (own room) before socket_connected');

      // an event in, and the room it joins
      const [joinedRooms] = await ack(a, 'join', 'room1');
      assert.deepEqual(joinedRooms.sort(), [a.id, 'room1'].sort());
      const recv = await waitFor(admin, 'event_received', (n, id) => id === a.id);
      assert.deepEqual(recv.args.slice(0, 3), ['/', a.id, ['join', 'room1']]); // the ack is not shown
      assertRecentDate(recv.args[3]);
      const joined = await waitFor(admin, 'room_joined', (n, r, id) => id === a.id && r === 'room1');
      assert.deepEqual(joined.args.slice(0, 3), ['/', 'room1', a.id]);
      assert.ok(recv.index < joined.index, 'event_received (onAny) before the handler joins');

      // socket.data changed
      await ack(a, 'set-data', { a: 1 });
      const upd = await waitFor(admin, 'socket_updated', (u) => u.id === a.id && u.data);
      assert.deepEqual(upd.args, [{ id: a.id, nsp: '/', data: { a: 1 } }]);

      // an event out (the UI's emit): event_sent
      admin.emit('emit', '/', a.id, 'hello', 1, { x: [true, null] });
      const sent = await waitFor(admin, 'event_sent', (n, id) => id === a.id);
      assert.deepEqual(sent.args.slice(0, 3), ['/', a.id, ['hello', 1, { x: [true, null] }]]);
      assertRecentDate(sent.args[3]);
      // a socket.emit with an ack from the server's handler is not an "event"; an echo ack is not either
      await ack(a, 'echo', 1);

      // a new admin gets every socket, rooms and data included
      const admin2 = adminClient(srv);
      await connected(admin2);
      const { args: [list] } = await waitFor(admin2, 'all_sockets');
      const mine = list.find((s) => s.id === a.id);
      assert.ok(mine, JSON.stringify(list));
      assert.deepEqual(Object.keys(mine), SOCKET_KEYS);
      assert.deepEqual([...mine.rooms].sort(), [a.id, 'room1'].sort());
      assert.deepEqual(mine.data, { a: 1 });
      assert.equal(mine.clientId, a.io.engine.id.slice(0, 12));
      assert.equal(mine.transport, 'websocket');
      assert.ok(list.some((s) => s.id === admin2.id && s.nsp === '/admin'), 'the admin sockets are listed too');
      assert.ok(list.every((s) => ['/', '/admin'].includes(s.nsp)), JSON.stringify(list.map((s) => s.nsp)));

      // an upgrade: socket_updated {id, nsp, transport}
      const u = client(srv, '/', { transports: ['polling', 'websocket'] });
      await connected(u);
      const upc = await waitFor(admin, 'socket_connected', (s) => s.id === u.id);
      assert.equal(upc.args[0].transport, 'polling');
      const upgraded = await waitFor(admin, 'socket_updated', (x) => x.id === u.id, { timeout: 5000 * SLOW });
      assert.deepEqual(upgraded.args, [{ id: u.id, nsp: '/', transport: 'websocket' }]);

      // the client leaves: socket_disconnected, then room_left for each room
      const id = a.id;
      a.disconnect();
      const disc = await waitFor(admin, 'socket_disconnected', (n, x) => x === id);
      assert.deepEqual(disc.args.slice(0, 3), ['/', id, 'client namespace disconnect']);
      assertRecentDate(disc.args[3]);
      const left1 = await waitFor(admin, 'room_left', (n, r, x) => x === id && r === id);
      const left2 = await waitFor(admin, 'room_left', (n, r, x) => x === id && r === 'room1');
      assert.deepEqual(left2.args.slice(0, 3), ['/', 'room1', id]);
      assert.ok(disc.index < left1.index && disc.index < left2.index, 'room_left after socket_disconnected');
      // no event_* for the admin namespace's own sockets
      assert.equal(all(admin, 'event_received').filter(([n]) => n === '/admin').length, 0);
      assert.equal(all(admin, 'event_sent').filter(([n]) => n === '/admin').length, 0);
    });

    for (const parserName of ['default', 'msgpack']) {
      it(`binary arguments in event_received and event_sent (${parserName} parser)`, T, async () => {
        const srv = parserName === 'msgpack' ? servers.msgpack : servers.dev;
        const opts = parserName === 'msgpack' ? { parser: require('socket.io-msgpack-parser') } : {};
        const admin = adminClient(srv, undefined, opts);
        const a = client(srv, '/', opts);
        await Promise.all([connected(admin), connected(a)]);
        const payload = [Buffer.from([1, 2, 3]), { nested: Buffer.from('é'), list: [Buffer.alloc(0), 7] }];
        a.emit('echo', ...payload);
        const recv = await waitFor(admin, 'event_received', (n, id) => id === a.id);
        assert.deepEqual(norm(recv.args.slice(0, 3)), ['/', a.id, ['echo', ...payload]]);
        admin.emit('emit', '/', a.id, 'bin-to-a', ...payload);
        assert.deepEqual(norm((await waitFor(a, 'bin-to-a')).args), payload);
        const sent = await waitFor(admin, 'event_sent', (n, id) => id === a.id);
        assert.deepEqual(norm(sent.args.slice(0, 3)), ['/', a.id, ['bin-to-a', ...payload]]);
        // dates: ISO strings with the default parser; under msgpack Node's
        // notepack sends a Date (its timestamp extension), this server the
        // same ISO string
        const date = sent.args[3];
        if (date instanceof Date) assert.equal(srv.kind, 'node');
        else assertRecentDate(date);
      });
    }

    it('the UI\'s commands: emit, join, leave, _disconnect (by room, by socket id, to all)', T, async () => {
      const srv = servers.dev;
      const admin = adminClient(srv);
      const a = client(srv);
      const b = client(srv);
      await Promise.all([connected(admin), connected(a), connected(b)]);
      await ack(a, 'join', 'room1');
      const got = (sock, ev) => all(sock, ev);

      admin.emit('emit', '/', undefined, 'to-all', 1, { x: 'y' });
      await waitFor(a, 'to-all');
      await waitFor(b, 'to-all');
      assert.deepEqual(got(a, 'to-all'), [[1, { x: 'y' }]]);
      admin.emit('emit', '/', 'room1', 'to-room1', 'r');
      admin.emit('emit', '/', b.id, 'to-b', 'b');
      await waitFor(a, 'to-room1');
      await waitFor(b, 'to-b');
      await sleep(200 * SLOW);
      assert.deepEqual(got(b, 'to-room1'), []);
      assert.deepEqual(got(a, 'to-b'), []);

      const roomsOf = async (s) => (await ack(s, 'rooms'))[0].sort();
      admin.emit('join', '/', 'r2', a.id);
      admin.emit('join', '/', 'everyone');
      await sleep(100 * SLOW);
      assert.deepEqual(await roomsOf(a), [a.id, 'everyone', 'r2', 'room1'].sort());
      assert.deepEqual(await roomsOf(b), [b.id, 'everyone'].sort());
      admin.emit('leave', '/', 'everyone', 'room1'); // those in room1 leave "everyone"
      admin.emit('leave', '/', 'r2');
      await sleep(100 * SLOW);
      assert.deepEqual(await roomsOf(a), [a.id, 'room1'].sort());
      assert.deepEqual(await roomsOf(b), [b.id, 'everyone'].sort());

      admin.emit('_disconnect', '/', false, b.id);
      assert.deepEqual((await waitFor(b, '(disconnect)')).args, ['io server disconnect']);
      await sleep(100 * SLOW);
      assert.equal(a.connected, true);
      admin.emit('_disconnect', '/', true, 'room1');
      assert.deepEqual((await waitFor(a, '(disconnect)')).args, ['io server disconnect']);
      assert.equal(admin.connected, true);
    });

    // Node's instrument() lets these throw in the event handler: a reserved
    // event name in "emit" exits the whole Node process. Checked here
    // against the C server only.
    it('commands with bad arguments are ignored, the server goes on', { ...T, skip: kind !== 'c' && 'they make the Node process exit' }, async () => {
      const srv = servers.dev;
      const admin = adminClient(srv);
      const a = client(srv);
      await Promise.all([connected(admin), connected(a)]);
      admin.emit('emit', '/', null, 'connect', 1); // reserved
      admin.emit('emit', '/', null, 'disconnecting');
      admin.emit('emit', 5, null, 'x', 1); // namespace not a string
      admin.emit('emit', '/', 42, 'x', 1); // a room that is not a string
      admin.emit('emit', '/', null, { ev: 1 });
      admin.emit('emit');
      admin.emit('join', '/', 7);
      admin.emit('join', '/', 'r', { not: 'a room' });
      admin.emit('leave', null, 'r');
      admin.emit('_disconnect', '/', true, ['x']);
      admin.emit('_disconnect');
      admin.emit('emit', '/', a.id, 'still-here', 1);
      assert.deepEqual((await waitFor(a, 'still-here')).args, [1]);
      assert.deepEqual(all(a, 'x'), []);
      assert.deepEqual((await ack(a, 'rooms'))[0], [a.id]);
      assert.equal(a.connected, true);
      assert.equal(admin.connected, true);
    });

    it('readonly: the UI\'s commands are ignored', T, async () => {
      const srv = servers.readonly;
      const admin = adminClient(srv);
      const a = client(srv);
      await Promise.all([connected(admin), connected(a)]);
      admin.emit('emit', '/', undefined, 'nope', 1);
      admin.emit('join', '/', 'r2');
      admin.emit('_disconnect', '/', true);
      await sleep(300 * SLOW);
      assert.deepEqual(all(a, 'nope'), []);
      assert.deepEqual((await ack(a, 'rooms'))[0], [a.id]);
      assert.equal(a.connected, true);
    });

    it('production mode: aggregated stats only, no live events', T, async () => {
      for (const name of ['production', 'productionEnv']) {
        const srv = servers[name];
        const admin = adminClient(srv);
        await connected(admin);
        const a = client(srv);
        await connected(a);
        await ack(a, 'join', 'room1');
        const mark = admin.log.length - 1;
        const { args: [stats] } = await waitFor(admin, 'server_stats', (s) => nspCount(s, '/') === 1, { from: mark, timeout: 5000 * SLOW });
        assert.ok(stats.aggregatedEvents.length > 0);
        const live = admin.log.filter((e) => !['server_stats', 'config', '(connect)'].includes(e.ev)).map((e) => e.ev);
        assert.deepEqual(live, [], name);
      }
    });
  });
}

describe('admin UI over a cluster: two C nodes and a Node node on one Redis', { skip: TLS_SKIP }, () => {
  const cluster = useCluster();
  let c1;
  let c2;
  let n1;
  before(async () => {
    const redis = await cluster.redis();
    c1 = await cluster.cNode('c1', { args: ['--admin-ui', '--admin-server-id', 'c1'] });
    c2 = await cluster.cNode('c2', { args: ['--admin-ui', '--admin-server-id', 'c2'] });
    n1 = await startNodeAdmin(['--adapter', redis.url, '--admin-server-id', 'n1']);
    await waitSubscribers(await cluster.client(), 3, { nsps: ['/', '/admin'] });
  });
  after(async () => {
    closeClients();
    await sleep(50);
    await n1?.close();
  });

  it('one admin connection sees every node and drives clients on the others', T, async () => {
    const admin = adminClient(c1);
    await connected(admin);
    await waitFor(admin, 'all_sockets');
    // server_stats from every node, each with its own id
    for (const id of ['c1', 'c2', 'n1']) {
      const { args: [st] } = await waitFor(admin, 'server_stats', (x) => x.serverId === id, { timeout: 6000 * SLOW });
      assert.deepEqual(Object.keys(st), STATS_KEYS);
      assert.equal(nspCount(st, '/admin'), id === 'c1' ? 1 : 0);
    }
    // clients on the other nodes: their live events reach the admin on c1
    const x = client(c2);
    const y = client(n1);
    await Promise.all([connected(x), connected(y)]);
    for (const s of [x, y]) {
      const { args: [sock] } = await waitFor(admin, 'socket_connected', (z) => z.id === s.id);
      assert.deepEqual(Object.keys(sock), SOCKET_KEYS);
      assert.equal(sock.clientId, s.io.engine.id.slice(0, 12));
      assert.equal(sock.transport, 'websocket');
    }
    x.emit('echo', 5);
    const recv = await waitFor(admin, 'event_received', (n, id) => id === x.id);
    assert.deepEqual(recv.args.slice(0, 3), ['/', x.id, ['echo', 5]]);

    // all_sockets over the cluster (fetchSockets), clientId and transport
    // of the other nodes' sockets from their socket.data._admin
    const admin2 = adminClient(c1);
    await connected(admin2);
    const { args: [list] } = await waitFor(admin2, 'all_sockets', () => true, { timeout: 8000 * SLOW });
    for (const s of [x, y]) {
      const found = list.find((z) => z.id === s.id);
      assert.ok(found, `${s.id} in ${JSON.stringify(list.map((z) => z.id))}`);
      assert.equal(found.clientId, s.io.engine.id.slice(0, 12));
      assert.equal(found.transport, 'websocket');
      assert.equal(found.nsp, '/');
      assert.deepEqual(found.data, {});
      assert.deepEqual(found.rooms, [s.id]);
    }
    assert.ok(list.some((z) => z.id === admin2.id), 'the admin sockets too');

    // the UI's commands reach the other nodes' clients
    admin.emit('emit', '/', y.id, 'hi', 1);
    assert.deepEqual((await waitFor(y, 'hi')).args, [1]);
    admin.emit('join', '/', 'crossroom', x.id);
    const joined = await waitFor(admin, 'room_joined', (n, r, id) => r === 'crossroom' && id === x.id);
    assert.equal(joined.args[0], '/');
    assert.deepEqual((await ack(x, 'rooms'))[0].sort(), [x.id, 'crossroom'].sort());
    const yid = y.id; // the client forgets it on disconnect
    admin.emit('_disconnect', '/', false, yid);
    assert.deepEqual((await waitFor(y, '(disconnect)')).args, ['io server disconnect']);
    const disc = await waitFor(admin, 'socket_disconnected', (n, id) => id === yid);
    assert.equal(disc.args[2], 'server namespace disconnect');
    assert.equal(x.connected, true);
  });
});
