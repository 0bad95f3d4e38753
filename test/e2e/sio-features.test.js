'use strict';
// build/sio-test with socket.io-client 4.x, 3.x and 2.x: rooms, every
// broadcast option, server acks with timeouts, broadcasts with acks,
// fetchSockets / socketsJoin / socketsLeave / disconnectSockets, namespace
// middleware, dynamic namespaces, the handshake, socket.use, onAny /
// onAnyOutgoing, binary from the server.

const { describe, it, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const {
  SLOW, VERSIONS, MODES, CLIENTS, useSio, connectClient, createSocket, createManager, waitConnect,
  connectFailure, ack, once, closeAll, bytes, sleep, assertStillServes,
} = require('./lib/sio');

const T = { timeout: 15000 * SLOW };
const [POLLING, WEBSOCKET, UPGRADE] = MODES;

// Every test that broadcasts to a whole namespace gets a namespace of its own.
let nspSeq = Math.floor(Math.random() * 1e6) * 1000;
const freshNsp = () => `/dyn-${nspSeq++}`;

const sortIds = (a) => [...a].sort();

describe('sio-test features', () => {
  const server = useSio('sio-test');
  afterEach(() => closeAll());

  // ---------------------------------------------------------------- rooms

  for (const version of VERSIONS) {
    describe(`${CLIENTS[version].label}: rooms`, () => {
      for (const mode of [POLLING, WEBSOCKET]) {
        it(`joins and leaves rooms; "rooms" lists them with the socket's own id (${mode.name})`, T, async () => {
          const s = await connectClient(version, server, '/', { mode });
          assert.deepEqual(await ack(s, 'rooms'), [[s.id]]);
          const [afterJoin] = await ack(s, 'join', 'room-a');
          assert.deepEqual(sortIds(afterJoin), sortIds([s.id, 'room-a']));
          await ack(s, 'join', 'room b/ü');
          await ack(s, 'join', 'room-a'); // joining twice is a no-op
          const [rooms] = await ack(s, 'rooms');
          assert.deepEqual(sortIds(rooms), sortIds([s.id, 'room-a', 'room b/ü']));
          const [afterLeave] = await ack(s, 'leave', 'room-a');
          assert.deepEqual(sortIds(afterLeave), sortIds([s.id, 'room b/ü']));
          const [afterLeaveUnknown] = await ack(s, 'leave', 'never-joined');
          assert.deepEqual(sortIds(afterLeaveUnknown), sortIds([s.id, 'room b/ü']));
        });
      }
    });
  }

  // ---------------------------------------------------------------- broadcasts

  /**
   * Four clients A, B, C, D in a fresh namespace: A in r1 and r2, B in r1, C
   * in r2, D in none. A sends every case; a final sentinel broadcast to all
   * proves every earlier broadcast arrived (per-client order), then each
   * client's deliveries are compared with the expected list.
   */
  async function broadcastMatrix(clientSpecs, { volatile }) {
    const nsp = freshNsp();
    const [A, B, C, D] = await Promise.all(clientSpecs.map(([v, mode]) => connectClient(v, server, nsp, { mode })));
    await ack(A, 'join', 'r1');
    await ack(A, 'join', 'r2');
    await ack(B, 'join', 'r1');
    await ack(C, 'join', 'r2');
    const cases = [
      ['to r1', { rooms: ['r1'] }, 'AB'],
      ['to r1+r2 (each once)', { rooms: ['r1', 'r2'] }, 'ABC'],
      ['except r2', { except: ['r2'] }, 'BD'],
      ['to r1 except r2', { rooms: ['r1'], except: ['r2'] }, 'B'],
      ['all', {}, 'ABCD'],
      ['broadcast (sender excluded)', { broadcast: true }, 'BCD'],
      ['broadcast to r1+r2', { broadcast: true, rooms: ['r1', 'r2'] }, 'BC'],
      ['broadcast except r1', { broadcast: true, except: ['r1'] }, 'CD'],
      ['to D by its id', { rooms: [D.id] }, 'D'],
      ['except D by its id', { except: [D.id] }, 'ABC'],
      ['to nobody', { rooms: ['nobody-here'] }, ''],
      ['local', { local: true }, 'ABCD'],
      ['local to r2', { local: true, rooms: ['r2'] }, 'AC'],
      ['compress false', { compress: false }, 'ABCD'],
      ['compress true to r1', { compress: true, rooms: ['r1'] }, 'AB'],
    ];
    if (volatile) {
      cases.push(['volatile', { volatile: true }, 'ABCD']);
      cases.push(['volatile broadcast to r1', { volatile: true, broadcast: true, rooms: ['r1'] }, 'B']);
    }
    for (const [name, opts] of cases) {
      assert.deepEqual(await ack(A, 'emit-to', opts, 'bc', name, { n: 1 }, bytes(3)), [true], name);
    }
    await ack(A, 'emit-to', {}, 'sentinel', 'end');
    const clients = { A, B, C, D };
    for (const [letter, c] of Object.entries(clients)) {
      assert.deepEqual(await c.inbox.next('sentinel'), ['end'], `sentinel to ${letter}`);
    }
    for (const [letter, c] of Object.entries(clients)) {
      const expected = cases.filter(([, , who]) => who.includes(letter)).map(([name]) => name);
      const got = c.inbox.all('bc');
      assert.deepEqual(got.map((g) => g[0]), expected, `broadcasts received by ${letter}`);
      for (const g of got) assert.deepEqual(g.slice(1), [{ n: 1 }, bytes(3)], `arguments received by ${letter}`);
    }
  }

  for (const version of VERSIONS) {
    describe(`${CLIENTS[version].label}: broadcasts`, () => {
      it('delivers every broadcast option to exactly the right sockets (websocket, volatile included)', T, async () => {
        await broadcastMatrix(Array(4).fill([version, WEBSOCKET]), { volatile: true });
      });
      it('delivers every broadcast option to exactly the right sockets (polling)', T, async () => {
        await broadcastMatrix(Array(4).fill([version, POLLING]), { volatile: false });
      });
    });
  }

  describe('mixed clients: broadcasts', () => {
    it('delivers to 4.x (polling), 3.x (websocket), 2.x (upgrade) and 2.x (polling) in one namespace', T, async () => {
      await broadcastMatrix([[4, POLLING], [3, WEBSOCKET], [2, UPGRADE], [2, POLLING]], { volatile: false });
    });
    it('delivers to 2.x (websocket) sending, 4.x (upgrade), 3.x (polling), 4.x (websocket)', T, async () => {
      await broadcastMatrix([[2, WEBSOCKET], [4, UPGRADE], [3, POLLING], [4, WEBSOCKET]], { volatile: false });
    });
  });

  describe('a broadcast from inside a broadcast', () => {
    // sio-test: a socket in room "nester" broadcasts "inner" to the namespace
    // (from its onAnyOutgoing listener) when "outer" goes out to it. The outer
    // broadcast must still reach each of its targets once, and never an
    // excepted socket, whatever the nested one did meanwhile.
    it('delivers the outer broadcast exactly once per target, except honoured', T, async () => {
      const nsp = freshNsp();
      const [a, b, c, d] = await Promise.all([0, 1, 2, 3].map(() => connectClient(4, server, nsp, { mode: WEBSOCKET })));
      const got = new Map([a, b, c, d].map((s) => [s, { outer: 0, inner: [] }]));
      for (const s of [a, b, c, d]) {
        s.on('outer', () => { got.get(s).outer++; });
        s.on('inner', (from) => { got.get(s).inner.push(from); });
      }
      for (const [s, rooms] of [[a, ['nester', 'r1', 'r2']], [b, ['nester', 'r1', 'r2']], [c, ['r1', 'x']], [d, ['r2']]]) {
        for (const r of rooms) await ack(s, 'join', r);
      }
      await ack(d, 'emit-to', { rooms: ['r1', 'r2'], except: ['x'] }, 'outer');
      const sentinels = Promise.all([a, b, c, d].map((s) => once(s, 'sentinel')));
      await ack(d, 'emit-to', {}, 'sentinel');
      await sentinels;
      assert.deepEqual([a, b, c, d].map((s) => got.get(s).outer), [1, 1, 0, 1]);
      for (const s of [a, b, c, d]) assert.deepEqual([...got.get(s).inner].sort(), [a.id, b.id].sort());
    });
  });

  // ---------------------------------------------------------------- acks from the server

  for (const version of VERSIONS) {
    describe(`${CLIENTS[version].label}: server acks`, () => {
      for (const mode of [POLLING, WEBSOCKET]) {
        it(`gets the client's answer to a server emit with ack (${mode.name})`, T, async () => {
          const s = await connectClient(version, server, '/', { mode });
          s.on('ask', (...args) => {
            const cb = args.pop();
            cb('answer', args.length, ...args);
          });
          assert.deepEqual(await ack(s, 'server-ask', 2000 * SLOW, 'q', { x: [1] }),
            ['ok', 'answer', 2, 'q', { x: [1] }]);
          // Binary both in the question and in the answer.
          s.off('ask');
          s.on('ask', (b, cb) => cb(Buffer.concat([Buffer.from(b), Buffer.from([9])])));
          const [status, answer] = await ack(s, 'server-ask', 2000 * SLOW, bytes(4));
          assert.equal(status, 'ok');
          assert.ok(Buffer.from(answer).equals(Buffer.from([0, 1, 2, 3, 9])));
        });

        it(`times out when the client never answers, and ignores a late answer (${mode.name})`, T, async () => {
          const s = await connectClient(version, server, '/', { mode });
          let late;
          s.on('ask', (tag, cb) => {
            if (tag === 'late') late = cb;
          });
          const t0 = Date.now();
          assert.deepEqual(await ack(s, 'server-ask', 300, 'silent'), ['timeout']);
          const elapsed = Date.now() - t0;
          assert.ok(elapsed >= 280, `timed out after ${elapsed} ms, before the 300 ms timeout`);
          assert.ok(elapsed < 300 + 2000 * SLOW, `timed out after ${elapsed} ms`);
          const lateAck = ack(s, 'server-ask', 200, 'late');
          assert.deepEqual(await lateAck, ['timeout']);
          late('too late'); // the server must drop this ack quietly
          assert.deepEqual(await ack(s, 'echo', 'after'), ['after']);
        });
      }
    });
  }

  describe('broadcast with acks', () => {
    it('collects every receiver\'s answer (4.x, 3.x, 2.x in one room)', T, async () => {
      const nsp = freshNsp();
      const socks = [
        await connectClient(4, server, nsp, { mode: WEBSOCKET }),
        await connectClient(3, server, nsp, { mode: POLLING }),
        await connectClient(2, server, nsp, { mode: WEBSOCKET }),
        await connectClient(2, server, nsp, { mode: POLLING }),
      ];
      const names = ['v4', 'v3', 'v2ws', 'v2poll'];
      socks.forEach((s, i) => s.on('ask', (cb) => cb(names[i])));
      for (const s of socks.slice(0, 3)) await ack(s, 'join', 'q');
      // Room q: three answers. socks[3] is outside and must not be asked.
      const [err, responses] = await ack(socks[3], 'broadcast-ask', ['q'], 3000 * SLOW);
      assert.equal(err, null);
      assert.deepEqual(sortIds(responses), sortIds(['v4', 'v3', 'v2ws']));
      // The whole namespace (no room): four answers, the asker's included.
      const [err2, all] = await ack(socks[0], 'broadcast-ask', null, 3000 * SLOW);
      assert.equal(err2, null);
      assert.deepEqual(sortIds(all), sortIds(names));
    });

    it('answers (null, []) at once when nobody is in the room', T, async () => {
      const s = await connectClient(4, server, freshNsp(), { mode: WEBSOCKET });
      const t0 = Date.now();
      assert.deepEqual(await ack(s, 'broadcast-ask', ['empty-room'], 5000), [null, []]);
      assert.ok(Date.now() - t0 < 2000 * SLOW, 'waited for the timeout with no receiver');
    });

    for (const version of [4, 2]) {
      it(`times out with the answers it got when one receiver stays silent (${CLIENTS[version].label})`, T, async () => {
        const nsp = freshNsp();
        const socks = [];
        for (let i = 0; i < 4; i++) socks.push(await connectClient(version, server, nsp, { mode: i % 2 ? POLLING : WEBSOCKET }));
        socks.forEach((s, i) => {
          s.on('ask', (cb) => { if (i !== 2) cb(`n${i}`); });
        });
        const t0 = Date.now();
        const [err, responses] = await ack(socks[0], 'broadcast-ask', null, 400);
        const elapsed = Date.now() - t0;
        assert.equal(err, 'timeout');
        assert.deepEqual(sortIds(responses), ['n0', 'n1', 'n3']);
        assert.ok(elapsed >= 380, `answered after ${elapsed} ms, before the 400 ms timeout`);
        assert.ok(elapsed < 400 + 2000 * SLOW, `answered after ${elapsed} ms`);
        assert.deepEqual(await ack(socks[2], 'echo', 'alive'), ['alive']);
      });
    }
  });

  // ---------------------------------------------------------------- server-side socket operations

  for (const version of [4, 3, 2]) {
    describe(`${CLIENTS[version].label}: fetchSockets, socketsJoin, socketsLeave, disconnectSockets`, () => {
      it('fetches, joins, leaves and disconnects the sockets of a room', T, async () => {
        const nsp = freshNsp();
        const [A, B, C] = [
          await connectClient(version, server, nsp, { mode: WEBSOCKET }),
          await connectClient(version, server, nsp, { mode: POLLING }),
          await connectClient(version, server, nsp, { mode: WEBSOCKET }),
        ];
        await ack(A, 'join', 'fs');
        await ack(B, 'join', 'fs');
        assert.deepEqual(sortIds((await ack(C, 'fetch-sockets', 'fs'))[0]), sortIds([A.id, B.id]));
        assert.deepEqual(sortIds((await ack(C, 'fetch-sockets', null))[0]), sortIds([A.id, B.id, C.id]));
        assert.deepEqual(await ack(C, 'fetch-sockets', 'nobody'), [[]]);
        assert.deepEqual((await ack(C, 'fetch-sockets', A.id))[0], [A.id]);

        await ack(C, 'sockets-join', 'fs', 'fs2');
        assert.ok((await ack(A, 'rooms'))[0].includes('fs2'));
        assert.ok((await ack(B, 'rooms'))[0].includes('fs2'));
        assert.ok(!(await ack(C, 'rooms'))[0].includes('fs2'));
        await ack(C, 'sockets-join', null, 'everyone');
        assert.deepEqual(sortIds((await ack(C, 'fetch-sockets', 'everyone'))[0]), sortIds([A.id, B.id, C.id]));

        await ack(C, 'sockets-leave', null, 'fs');
        assert.deepEqual(await ack(C, 'fetch-sockets', 'fs'), [[]]);
        assert.ok((await ack(A, 'rooms'))[0].includes('fs2'), 'socketsLeave removed another room');

        // disconnectSockets(false) on fs2: A and B go, C stays; the caller's ack comes first.
        const aGone = once(A, 'disconnect');
        const bGone = once(B, 'disconnect');
        assert.deepEqual(await ack(A, 'disconnect-sockets', 'fs2', false), [true]);
        assert.equal((await aGone)[0], 'io server disconnect');
        assert.equal((await bGone)[0], 'io server disconnect');
        assert.deepEqual((await ack(C, 'fetch-sockets', null))[0], [C.id]);
        assert.deepEqual(await ack(C, 'echo', 'still here'), ['still here']);
      });

      it('disconnectSockets(true) closes the connections of the matching sockets only', T, async () => {
        const nsp = freshNsp();
        const man = createManager(version, server, { mode: WEBSOCKET });
        const A = man.socket(nsp);
        const A2 = man.socket('/');
        await Promise.all([waitConnect(A), waitConnect(A2)]);
        const B = await connectClient(version, server, nsp, { mode: POLLING });
        await ack(A, 'join', 'kick');
        const gone = once(A, 'disconnect');
        const gone2 = once(A2, 'disconnect');
        assert.deepEqual(await ack(B, 'disconnect-sockets', 'kick', true), [true]);
        assert.equal((await gone)[0], 'io server disconnect');
        // The whole connection went: the socket of "/" on it too.
        const [reason2] = await gone2;
        assert.ok(['io server disconnect', 'transport close'].includes(reason2), `"/" disconnected with ${reason2}`);
        assert.deepEqual((await ack(B, 'fetch-sockets', null))[0], [B.id]);
      });
    });
  }

  // ---------------------------------------------------------------- middleware

  describe('namespace middleware (/mw)', () => {
    for (const version of [4, 3]) {
      for (const mode of [POLLING, WEBSOCKET]) {
        it(`${CLIENTS[version].label} (${mode.name}): accepted with auth.token, refused otherwise with message and data`, T, async () => {
          const ok = await connectClient(version, server, '/mw', { mode, auth: { token: 'secret' } });
          assert.deepEqual(await ack(ok, 'echo', 'in'), ['in']);
          for (const auth of [{ token: 'wrong' }, undefined, { token: ['secret'] }]) {
            const s = createSocket(version, server, '/mw', { mode, auth });
            const err = await connectFailure(s);
            assert.ok(err instanceof Error, `connect_error gave ${JSON.stringify(err)}`);
            assert.equal(err.message, 'unauthorized');
            assert.deepEqual(err.data, { code: 42 });
            assert.equal(s.connected, false);
          }
        });
      }
    }

    for (const mode of [POLLING, WEBSOCKET]) {
      it(`socket.io-client 2.x (${mode.name}): accepted with the token in the query, refused otherwise`, T, async () => {
        const a = await connectClient(2, server, '/mw?token=secret', { mode });
        assert.deepEqual(await ack(a, 'echo', 'a'), ['a']);
        const b = await connectClient(2, server, '/mw', { mode, query: { token: 'secret' } });
        assert.deepEqual(await ack(b, 'echo', 'b'), ['b']);
        for (const nsp of ['/mw', '/mw?token=nope']) {
          const s = createSocket(2, server, nsp, { mode });
          const err = await connectFailure(s);
          // Node (protocol v4) sends err.data || err.message: the data wins.
          assert.deepEqual(err, { code: 42 });
          assert.equal(s.connected, false);
        }
      });
    }

    for (const version of VERSIONS) {
      it(`${CLIENTS[version].label}: a refusal on /mw leaves "/" on the same connection working`, T, async () => {
        const man = createManager(version, server, { mode: WEBSOCKET });
        const root = man.socket('/');
        await waitConnect(root);
        const refused = man.socket('/mw');
        await connectFailure(refused);
        assert.deepEqual(await ack(root, 'echo', 'fine'), ['fine']);
        assert.equal(root.io.engine.readyState, 'open');
      });
    }
  });

  // ---------------------------------------------------------------- dynamic namespaces

  for (const version of VERSIONS) {
    it(`${CLIENTS[version].label}: accepts /dyn-<digits>, refuses near misses`, T, async () => {
      const name = freshNsp();
      const s = await connectClient(version, server, name, { mode: WEBSOCKET });
      assert.deepEqual(await ack(s, 'echo', name), [name]);
      const s2 = await connectClient(version, server, name, { mode: POLLING });
      assert.deepEqual(sortIds((await ack(s2, 'fetch-sockets', null))[0]), sortIds([s.id, s2.id]));
      for (const bad of ['/dyn-', '/dyn-12a', '/dyn-x', '/DYN-1', '/dyn-1/x']) {
        const b = createSocket(version, server, bad, { mode: WEBSOCKET });
        const err = await connectFailure(b);
        const msg = typeof err === 'string' ? err : err && err.message;
        assert.equal(msg, 'Invalid namespace', `namespace ${bad}`);
      }
    });
  }

  // ---------------------------------------------------------------- handshake

  describe('handshake', () => {
    for (const mode of [POLLING, WEBSOCKET]) {
      it(`socket.io-client 4.x (${mode.name}): query, auth, address, url, time, headers`, T, async () => {
        const before = Date.now();
        const s = await connectClient(4, server, '/custom', { mode, auth: { user: 'ann', n: 2 }, query: { q: 'x y', other: '1' } });
        const after = Date.now();
        const [hs] = await ack(s, 'handshake');
        assert.equal(hs.query.EIO, '4');
        assert.equal(hs.query.transport, mode.name);
        assert.equal(hs.query.q, 'x y');
        assert.equal(hs.query.other, '1');
        assert.deepEqual(hs.auth, { user: 'ann', n: 2 });
        assert.match(hs.address, /^(::ffff:)?127\.0\.0\.1$/);
        assert.equal(hs.secure, server.tls, 'handshake.secure (true over TLS, E2E_TLS=1)');
        assert.equal(hs.xdomain, false);
        assert.equal(typeof hs.issued, 'number');
        assert.ok(hs.issued >= before - 1000 && hs.issued <= after + 1000, `issued ${hs.issued} not within [${before}, ${after}]`);
        assert.match(hs.url, /^\/socket\.io\/\?/);
        assert.match(hs.url, /EIO=4/);
        assert.match(hs.url, /q=x(%20|\+)y/);
        assert.match(hs.time, /^[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{4} \d{2}:\d{2}:\d{2} GMT[+-]\d{4}/);
        assert.ok(Math.abs(Date.parse(hs.time) - hs.issued) < 2000, `time ${hs.time} far from issued ${hs.issued}`);
        assert.equal(hs.headers.host, `${server.host}:${server.port}`);
      });
    }

    it('socket.io-client 4.x over websocket with an Origin header: xdomain true', T, async () => {
      const s = await connectClient(4, server, '/', { mode: WEBSOCKET, extraHeaders: { Origin: 'http://elsewhere.example' } });
      const [hs] = await ack(s, 'handshake');
      assert.equal(hs.xdomain, true);
      assert.equal(hs.headers.origin, 'http://elsewhere.example');
    });

    it('socket.io-client 2.x: EIO=3 query with the client\'s query, auth {}', T, async () => {
      const s = await connectClient(2, server, '/', { mode: POLLING, query: { token: 'abc' } });
      const [hs] = await ack(s, 'handshake');
      assert.equal(hs.query.EIO, '3');
      assert.equal(hs.query.token, 'abc');
      assert.deepEqual(hs.auth, {});
      assert.match(hs.url, /EIO=3/);
    });
  });

  // ---------------------------------------------------------------- socket.use, onAny, binary

  for (const version of VERSIONS) {
    describe(`${CLIENTS[version].label}: socket.use, onAny, binary from the server`, () => {
      it('refuses "forbidden" in a socket.use middleware: no handler, no ack, "use-error" sent', T, async () => {
        const s = await connectClient(version, server, '/', { mode: WEBSOCKET });
        let acked = false;
        s.emit('forbidden', 1, 2, () => { acked = true; });
        assert.deepEqual(await s.inbox.next('use-error'), ['forbidden event']);
        await sleep(200);
        assert.equal(acked, false, 'the handler of a refused event ran');
        assert.deepEqual(await ack(s, 'echo', 'next event passes'), ['next event passes']);
        assert.equal(s.connected, true);
      });

      it('counts incoming events (onAny) and outgoing emits (onAnyOutgoing)', T, async () => {
        const s = await connectClient(version, server, freshNsp(), { mode: WEBSOCKET });
        await ack(s, 'echo', 1);
        await ack(s, 'echo', 2);
        s.emit('no-handler', 'x');
        // any-count itself is an incoming event too: onAny runs before the handler.
        assert.deepEqual(await ack(s, 'any-count'), [4]);
        s.emit('bin-emit');
        s.emit('bin-emit');
        await s.inbox.next('bin-back');
        await s.inbox.next('bin-back');
        s.on('ask', (cb) => cb('a'));
        await ack(s, 'server-ask', 2000 * SLOW);
        // Two "bin-back" and one "ask": acks are not emits.
        assert.deepEqual(await ack(s, 'outgoing-count'), [3]);
      });

      for (const mode of MODES) {
        it(`receives binary in an ack and in an emit (${mode.name})`, T, async () => {
          const s = await connectClient(version, server, '/', { mode });
          const [b, obj] = await ack(s, 'bin');
          assert.ok(Buffer.isBuffer(b), `binary ack came as ${typeof b}`);
          assert.ok(b.equals(bytes(256)));
          assert.deepEqual(obj, { nested: Buffer.from([1, 2, 3]) });
          s.emit('bin-emit');
          const back = await s.inbox.next('bin-back');
          assert.deepEqual(back, [Buffer.from([1, 2, 3, 4]), { a: Buffer.from([5]) }]);
          const echoed = await ack(s, 'echo', bytes(1000, 3), { k: [bytes(2)] }, 'tail');
          assert.deepEqual(echoed, [bytes(1000, 3), { k: [bytes(2)] }, 'tail']);
        });
      }
    });
  }

  it('still serves after all of the above', T, async () => {
    await assertStillServes(server);
  });
});
