'use strict';
// The chat scales out: two build/chat nodes on one redis-server (classic
// adapter), people of one room on different nodes. Who is in the room
// (roomData) is right on both nodes, in join order; every message reaches
// everyone; "Username is taken." holds across nodes; a leave updates the
// other node's people. Clients: socket.io-client 4.x and 2.x (the original
// client), as the React and the old web client speak.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { SLOW, sleep, startBinary, stopAndCheckAs } = require('./lib/server');
const { TLS_SKIP, startRedis } = require('./lib/cluster');

const T = { timeout: 20000 * SLOW };
const BUILD_DIR = process.env.BUILD_DIR || path.join(__dirname, '..', '..', 'build');
const v4 = require('socket.io-client');
const v2 = require('socket.io-client-v2');

describe('the chat on two nodes', { skip: TLS_SKIP }, () => {
  let redis;
  const nodes = [];
  const opened = [];
  before(async () => {
    redis = await startRedis();
    for (let i = 0; i < 2; i++) {
      nodes.push(await startBinary(path.join(BUILD_DIR, 'chat'), ['--host', '127.0.0.1', '--adapter', redis.url],
        { readyTimeout: 10000 * SLOW, label: `chat ${i + 1}`, path: '/socket.io/', slow: SLOW }));
    }
    await sleep(200); // both subscribed
  });
  after(async () => {
    for (const s of opened) s.close();
    await sleep(50);
    for (const n of nodes) await stopAndCheckAs(n, n.label || 'chat');
    if (redis) await redis.stop();
  });

  /** A person on node i: socket.io-client `lib` (v4 or v2). */
  async function person(i, lib) {
    const url = `http://127.0.0.1:${nodes[i].port}`;
    const s = lib === v2 ? v2(url, { forceNew: true, reconnection: false, transports: ['websocket'] })
      : v4.io(url, { forceNew: true, reconnection: false, transports: ['websocket'] });
    opened.push(s);
    s.messages = [];
    s.roomData = [];
    s.on('message', (m) => s.messages.push(m));
    s.on('roomData', (d) => s.roomData.push(d));
    await new Promise((resolve, reject) => {
      s.once('connect', resolve);
      s.once('connect_error', reject);
    });
    return s;
  }
  const join = (s, name, room) => new Promise((resolve) => s.emit('join', { name, room }, (err) => resolve(err)));
  const until = async (cond, what) => {
    for (let i = 0; i < 300 && !cond(); i++) await sleep(10);
    assert.ok(cond(), what);
  };
  const names = (d) => d.users.map((u) => u.name);

  it('roomData and messages span the nodes; a taken name is refused on the other node; a leave is seen everywhere', T, async () => {
    const room = `room${Date.now()}`;
    const ann = await person(0, v4);
    const bob = await person(1, v2);
    const cat = await person(1, v4);
    assert.equal(await join(ann, 'Ann', room), undefined);
    assert.equal(await join(bob, 'Bob ', room), undefined);
    assert.equal(await join(cat, 'cat', room), undefined);
    // everyone's last roomData lists the three, in join order, from both nodes
    for (const s of [ann, bob, cat]) {
      await until(() => s.roomData.length && names(s.roomData[s.roomData.length - 1]).length === 3,
        `roomData with three people on ${s.id}: ${JSON.stringify(s.roomData)}`);
      const last = s.roomData[s.roomData.length - 1];
      assert.equal(last.room, room);
      assert.deepEqual(names(last), ['ann', 'bob', 'cat']);
      assert.deepEqual(last.users.map((u) => u.id), [ann.id, bob.id, cat.id]);
    }
    // the welcome and the joins, across nodes
    assert.deepEqual(ann.messages[0], { user: 'admin', text: `ann, welcome to room ${room}.` });
    await until(() => ann.messages.some((m) => m.text === 'bob has joined!'), 'ann sees bob join');
    // the same name in the room, from the other node: refused
    const dup = await person(0, v4);
    assert.equal(await join(dup, 'BOB', room), 'Username is taken.');
    // messages reach everyone, whichever node they were sent to
    await new Promise((resolve) => bob.emit('sendMessage', 'hi from node 2', resolve));
    await new Promise((resolve) => ann.emit('sendMessage', 'hi from node 1', resolve));
    for (const s of [ann, bob, cat]) {
      await until(() => s.messages.some((m) => m.user === 'bob' && m.text === 'hi from node 2')
        && s.messages.some((m) => m.user === 'ann' && m.text === 'hi from node 1'), `messages on ${s.id}`);
    }
    assert.equal(dup.messages.some((m) => m.text === 'hi from node 2'), false, 'not in the room: no message');
    // bob leaves (node 2): ann (node 1) sees it, with the room's new people
    bob.close();
    await until(() => ann.messages.some((m) => m.user === 'Admin' && m.text === 'bob has left.'), 'ann sees bob leave');
    await until(() => names(ann.roomData[ann.roomData.length - 1]).join() === 'ann,cat',
      `ann's roomData after the leave: ${JSON.stringify(ann.roomData[ann.roomData.length - 1])}`);
    await until(() => names(cat.roomData[cat.roomData.length - 1]).join() === 'ann,cat', 'cat too');
  });
});
