'use strict';
// The multi-node deployment of examples/cluster/: three C nodes
// (build/sio-test --adapter redis://... --cookie io) on one redis-server,
// behind HAProxy running the shipped examples/cluster/haproxy.cfg (server
// lines appended, as run.sh does). Clients that keep no cookies
// (socket.io-client 4.x and 2.x in Node) over long-polling are spread round
// robin over the nodes and stay on their node (the stick table learns the
// session id from the handshake's `io` cookie and routes on ?sid=); messages
// cross the cluster; the WebSocket upgrade goes through too. A second
// HAProxy with the `stick` lines of the same file removed shows what the
// README explains: a polling session breaks with HTTP 400
// {"code":1,"message":"Session ID unknown"}, while WebSocket-only clients
// do not care.
//
// Plain mode only: HAProxy in front speaks plain HTTP here, and the nodes
// are started by lib/haproxy.js without the TLS arguments.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { TLS, request, sleep, decodeV4 } = require('./lib/server');
const {
  SLOW, SHIPPED_CONFIG, STICK_LINE, Procs, haproxyConfig, stickTable, waitSubscribed,
  connectClient, listen, ack, engineId, transportName, waitUpgrade, closeClients, eventually,
} = require('./lib/haproxy');

const SKIP = TLS
  ? 'HAProxy in front of the nodes speaks plain HTTP in this test (the cluster and its stickiness do not depend on TLS; the plain pass covers them)'
  : false;
const NAMES = ['n1', 'n2', 'n3'];
// Short heartbeats: a polling client then makes a request to its node every
// second or so even when idle, each of which must be routed to the right node.
const NODE_ARGS = ['--ping-interval', '1000', '--ping-timeout', String(4000 * SLOW)];

describe('cluster behind HAProxy (examples/cluster/haproxy.cfg)', { skip: SKIP, timeout: 60000 * SLOW }, () => {
  let procs;
  let nodes;
  let sticky;   // HAProxy with the shipped configuration
  let loose;    // the same without its stick lines
  let statsSocket;

  before(async () => {
    procs = new Procs();
    const redis = await procs.redis();
    nodes = await Promise.all(NAMES.map((n) => procs.cNode(redis, n, NODE_ARGS)));
    await waitSubscribed(redis, nodes.length);
    statsSocket = path.join(procs.tmp, 'stats.sock');
    sticky = await procs.haproxy('sticky', haproxyConfig(nodes, { statsSocket }));
    loose = await procs.haproxy('no-stick', haproxyConfig(nodes, { sticky: false }));
  });

  after(async () => {
    closeClients();
    await sleep(100);
    if (!procs) return;
    const problems = await procs.stopAll();
    if (problems.length) assert.fail(problems.join('\n\n'));
  });

  it('ships a configuration that sticks on the session id and tunnels WebSockets', () => {
    const text = fs.readFileSync(SHIPPED_CONFIG, 'utf8');
    const lines = text.split('\n').map((l) => l.replace(/#.*/, '').trim());
    for (const want of ['stick store-response res.cook(io)', 'stick match url_param(sid)']) {
      assert.ok(lines.includes(want), `${SHIPPED_CONFIG} has no line "${want}"`);
    }
    assert.ok(lines.some((l) => /^stick-table type string\b/.test(l)), 'no "stick-table type string" line');
    assert.ok(lines.some((l) => /^timeout tunnel\s+\S+/.test(l)), 'no "timeout tunnel" line');
    const loose = haproxyConfig(nodes, { sticky: false });
    assert.ok(!loose.split('\n').some((l) => STICK_LINE.test(l)), 'stick lines left in the no-stick copy');
  });

  it('polling clients 4.x and 2.x: spread over the nodes, sticky, and connected as one cluster', async () => {
    const versions = [4, 2, 4, 2, 4, 2, 4, 2];
    const socks = await Promise.all(versions.map((v) => connectClient(v, sticky.url)));
    try {
      for (const s of socks) assert.equal(transportName(s), 'polling');
      // Which node each landed on, and its id there (its own room).
      for (const s of socks) {
        [s.node] = await ack(s, 'node');
        [[s.sid]] = await ack(s, 'rooms');
        s.label = `${s.version}.x client on ${s.node}`;
      }
      const byNode = Object.fromEntries(NAMES.map((n) => [n, socks.filter((s) => s.node === n).length]));
      assert.deepEqual(Object.keys(byNode).filter((n) => byNode[n] === 0), [],
        `round robin left a node without clients: ${JSON.stringify(byNode)}`);

      // HAProxy learnt each session id from the handshake's io cookie, with
      // the node that answered it.
      const { text, map } = await stickTable(statsSocket, 'nodes', NAMES);
      for (const s of socks) {
        assert.equal(map.get(engineId(s)), s.node,
          `stick table entry of ${s.label} (session ${engineId(s)}):\n${text}`);
      }

      // A few seconds of round trips over long-polling (and heartbeats every
      // second): every request of every session reaches its node.
      const until = Date.now() + 3000;
      let rounds = 0;
      while (Date.now() < until) {
        await Promise.all(socks.map(async (s, i) => {
          const payload = { i, round: rounds, text: `héllo ${s.label}` };
          assert.deepEqual(await ack(s, 'echo', payload, rounds), [payload, rounds], `echo for ${s.label}`);
        }));
        rounds++;
        await sleep(100);
      }
      assert.ok(rounds >= 3, `only ${rounds} rounds of echo in 3 s`);
      for (const s of socks) {
        assert.deepEqual(s.disconnects, [], `${s.label} was disconnected`);
        assert.ok(s.connected, `${s.label} is not connected`);
        assert.deepEqual(await ack(s, 'node'), [s.node], `${s.label} changed node`);
      }

      // A broadcast from a client reaches every client on every node, once;
      // from a 2.x client and from a 4.x client on other nodes.
      const from2 = socks.find((s) => s.version === 2);
      const from4 = socks.find((s) => s.version === 4 && s.node !== from2.node);
      for (const s of socks) listen(s, 'hello-all');
      assert.deepEqual(await ack(from2, 'emit-to', {}, 'hello-all', `from ${from2.label}`, [1, { two: 2 }]), [true]);
      assert.deepEqual(await ack(from4, 'emit-to', {}, 'hello-all', `from ${from4.label}`, [1, { two: 2 }]), [true]);
      await eventually('every client got both broadcasts', () => socks.every((s) => s.got.get('hello-all').length >= 2));
      await sleep(200);
      for (const s of socks) {
        const got = s.got.get('hello-all').map((a) => a[0]).sort();
        assert.deepEqual(got, [`from ${from2.label}`, `from ${from4.label}`].sort(), `broadcasts received by ${s.label}`);
        for (const a of s.got.get('hello-all')) assert.deepEqual(a[1], [1, { two: 2 }]);
      }

      // A room with members on two nodes, the sender on the third (not a
      // member): the members get it once, nobody else; a broadcast to all
      // after it (same order per client through Redis) marks the end.
      const m1 = socks.find((s) => s.node === 'n1');
      const m2 = socks.find((s) => s.node === 'n2' && s.version !== m1.version)
        || socks.find((s) => s.node === 'n2');
      const sender = socks.find((s) => s.node === 'n3');
      for (const m of [m1, m2]) {
        const [rooms] = await ack(m, 'join', 'haproxy-room');
        assert.ok(rooms.includes('haproxy-room'), `join answered ${JSON.stringify(rooms)}`);
      }
      for (const s of socks) {
        listen(s, 'room-msg');
        listen(s, 'room-end');
      }
      assert.deepEqual(await ack(sender, 'emit-to', { rooms: ['haproxy-room'] }, 'room-msg', 'to the room'), [true]);
      assert.deepEqual(await ack(sender, 'emit-to', {}, 'room-end', 'end'), [true]);
      await eventually('every client got the end marker', () => socks.every((s) => s.got.get('room-end').length === 1));
      for (const s of socks) {
        const expected = s === m1 || s === m2 ? [['to the room']] : [];
        assert.deepEqual(s.got.get('room-msg'), expected, `room broadcast received by ${s.label}`);
      }

      // fetchSockets over the cluster, asked on each node, lists every client.
      const all = socks.map((s) => s.sid).sort();
      for (const n of NAMES) {
        const asker = socks.find((s) => s.node === n);
        const [ids] = await ack(asker, 'fetch-sockets');
        assert.deepEqual([...ids].sort(), all, `fetch-sockets asked by ${asker.label}`);
      }
      const [inRoom] = await ack(sender, 'fetch-sockets', 'haproxy-room');
      assert.deepEqual([...inRoom].sort(), [m1.sid, m2.sid].sort(), 'fetch-sockets of the room');
      for (const s of socks) assert.deepEqual(s.disconnects, [], `${s.label} was disconnected`);
    } finally {
      closeClients(socks);
    }
  });

  it('default transports (polling, then the upgrade to WebSocket) through HAProxy', async () => {
    await sleep(200); // the previous clients' closing requests
    const versions = [4, 4, 4, 2, 4, 2];
    const socks = [];
    try {
      // One after the other: round robin hands the handshakes out in turn.
      for (const v of versions) socks.push(await connectClient(v, sticky.url, { transports: ['polling', 'websocket'] }));
      for (const s of socks) {
        [s.node] = await ack(s, 'node'); // possibly still over polling
        s.label = `${s.version}.x client on ${s.node}`;
      }
      await Promise.all(socks.map((s) => waitUpgrade(s)));
      for (const s of socks) {
        assert.equal(transportName(s), 'websocket', `${s.label} did not upgrade`);
        assert.deepEqual(await ack(s, 'node'), [s.node], `${s.label} changed node with the upgrade`);
      }
      assert.deepEqual(NAMES.filter((n) => !socks.some((s) => s.node === n)), [],
        `nodes without clients: ${socks.map((s) => s.label).join(', ')}`);
      for (const s of socks) listen(s, 'ws-all');
      assert.deepEqual(await ack(socks[0], 'emit-to', {}, 'ws-all', 'over websocket', { n: 1 }), [true]);
      await eventually('every upgraded client got the broadcast', () => socks.every((s) => s.got.get('ws-all').length === 1));
      for (const s of socks) {
        assert.deepEqual(s.got.get('ws-all'), [['over websocket', { n: 1 }]], `broadcast received by ${s.label}`);
        assert.deepEqual(await ack(s, 'echo', 'bye'), ['bye']);
        assert.deepEqual(s.disconnects, [], `${s.label} was disconnected`);
      }
    } finally {
      closeClients(socks);
    }
  });

  /**
   * A raw Socket.IO session over long-polling through `proxy`: handshake,
   * CONNECT, then "node" with an acknowledgement, then a few more GETs.
   * Returns { sid, answers: [{ what, status, text }] } (stops at the first
   * non-200 answer).
   */
  async function rawPollingSession(proxy) {
    const answers = [];
    const note = (what, res) => {
      answers.push({ what, status: res.status, text: res.text });
      return res.status === 200;
    };
    const q = (sid) => ({ EIO: 4, transport: 'polling', sid });
    const hs = await request(proxy, { query: q() });
    if (!note('handshake', hs)) return { answers };
    const { sid } = JSON.parse(hs.text.slice(1));
    const steps = [
      ['POST 40 (CONNECT)', { method: 'POST', body: '40' }],
      ['GET', {}],
      ['POST 421["node"]', { method: 'POST', body: '421["node"]' }],
      ['GET', {}],
      ['GET', {}],
      ['GET', {}],
    ];
    for (const [what, opts] of steps) {
      const res = await request(proxy, {
        ...opts, query: q(sid), headers: opts.body ? { 'Content-Type': 'text/plain;charset=UTF-8' } : {},
      });
      if (!note(what, res)) return { sid, answers };
      if (opts.method !== 'POST' && decodeV4(res.text).includes('2')) {
        // A ping: answer it, as a client would.
        const pong = await request(proxy, { method: 'POST', body: '3', query: q(sid), headers: { 'Content-Type': 'text/plain;charset=UTF-8' } });
        if (!note('POST 3 (pong)', pong)) return { sid, answers };
      }
    }
    await request(proxy, { method: 'POST', body: '1', query: q(sid), headers: { 'Content-Type': 'text/plain;charset=UTF-8' } })
      .catch(() => {});
    return { sid, answers };
  }

  it('with the stick lines: a raw polling session stays on its node', async () => {
    const { sid, answers } = await rawPollingSession(sticky);
    const summary = JSON.stringify(answers, null, 1);
    assert.ok(answers.every((a) => a.status === 200), `a request of the session was refused:\n${summary}`);
    assert.equal(answers.length, 1 + 6 + answers.filter((a) => a.what === 'POST 3 (pong)').length, summary);
    const packets = answers.filter((a) => a.what === 'GET').flatMap((a) => decodeV4(a.text));
    assert.ok(packets.some((p) => /^40\{"sid":"[^"]+"\}$/.test(p)), `no CONNECT answer in ${summary}`);
    const answer = packets.find((p) => /^431\["n[123]"\]$/.test(p));
    assert.ok(answer, `no answer to "node" in ${summary}`);
    const { text, map } = await stickTable(statsSocket, 'nodes', NAMES);
    assert.equal(JSON.parse(answer.slice(3))[0], map.get(sid), `the node that answered vs the stick table:\n${text}`);
  });

  it('without the stick lines: a polling session gets 400 "Session ID unknown" from another node', async () => {
    const { answers } = await rawPollingSession(loose);
    const summary = JSON.stringify(answers, null, 1);
    assert.equal(answers[0].status, 200, `handshake: ${summary}`);
    const refused = answers.find((a) => a.status !== 200);
    assert.ok(refused, `every request of the session went through without stickiness (round robin over 3 nodes?):\n${summary}`);
    assert.equal(refused.status, 400, summary);
    assert.deepEqual(JSON.parse(refused.text), { code: 1, message: 'Session ID unknown' }, summary);

    // The real client: connect_error (or a disconnect right after connecting).
    const io = require('socket.io-client');
    const sock = io(loose.url, { path: '/socket.io', forceNew: true, reconnection: false, transports: ['polling'] });
    try {
      const outcome = await new Promise((resolve) => {
        const t = setTimeout(() => resolve({ kind: 'nothing within 5 s' }), 5000 * SLOW);
        sock.on('connect_error', (err) => { clearTimeout(t); resolve({ kind: 'connect_error', err }); });
        sock.on('disconnect', (reason) => { clearTimeout(t); resolve({ kind: 'disconnect', reason }); });
      });
      assert.ok(outcome.kind === 'connect_error' || outcome.kind === 'disconnect',
        `a 4.x polling client through HAProxy without stickiness: ${outcome.kind}`);
      if (outcome.kind === 'connect_error') {
        // engine.io-client's TransportError: "xhr poll error" / "xhr post error", description 400.
        assert.match(outcome.err.message, /xhr (poll|post) error/);
        assert.equal(outcome.err.description, 400);
      }
    } finally {
      sock.close();
      await sleep(300); // its last requests, before the next test counts on round robin
    }
  });

  it('without the stick lines: WebSocket-only clients still work', async () => {
    const socks = [];
    try {
      for (let i = 0; i < 6; i++) socks.push(await connectClient(4, loose.url, { transports: ['websocket'] }));
      for (const s of socks) {
        [s.node] = await ack(s, 'node');
        listen(s, 'ws-only');
      }
      assert.deepEqual(NAMES.filter((n) => !socks.some((s) => s.node === n)), [],
        `nodes without clients: ${socks.map((s) => s.node).join(', ')}`);
      await sleep(1500); // over a heartbeat
      assert.deepEqual(await ack(socks[1], 'emit-to', {}, 'ws-only', 'x'), [true]);
      await eventually('every WebSocket client got the broadcast', () => socks.every((s) => s.got.get('ws-only').length === 1));
      for (const s of socks) {
        assert.deepEqual(await ack(s, 'node'), [s.node], 'the same node after a heartbeat');
        assert.deepEqual(s.disconnects, [], `the WebSocket client on ${s.node} was disconnected`);
      }
    } finally {
      closeClients(socks);
    }
  });
});
