'use strict';
// Many clients at once: every echo goes back to its own sender, in order,
// and idle or half-open connections do not stop the server serving others.

const { describe, it, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { useServer, SLOW, sleep, assertServerHealthy } = require('./lib/server');
const { TLS, rawSocket } = require('./lib/tls');
const { connect } = require('./lib/clients');

const T = { timeout: 60000 * SLOW };

describe('concurrency', () => {
  const server = useServer();
  const open = [];
  afterEach(() => {
    for (const c of open.splice(0)) (c.close ? c.close() : c.destroy());
  });

  it('120 clients (both versions, all transports, 60 long-polling) echo 20 messages each without cross-talk', T, async () => {
    const plan = [];
    for (let i = 0; i < 30; i++) plan.push([4, ['polling']]);
    for (let i = 0; i < 30; i++) plan.push([3, ['polling']]);
    for (let i = 0; i < 25; i++) plan.push([4, ['websocket']]);
    for (let i = 0; i < 15; i++) plan.push([3, ['websocket']]);
    for (let i = 0; i < 10; i++) plan.push([4, undefined]);
    for (let i = 0; i < 10; i++) plan.push([3, undefined]);
    const clients = await Promise.all(plan.map(([v, transports]) => connect(v, server, { transports, timeout: 20000 * SLOW })));
    open.push(...clients);
    await Promise.all(clients.map(async (c, ci) => {
      const sent = [];
      for (let k = 0; k < 20; k++) {
        const m = k % 5 === 4 ? Buffer.from(`c${ci}-b${k}`) : `c${ci}-m${k}`;
        sent.push(m);
        c.send(m);
        if (k % 4 === 0) await sleep(1);
      }
      const got = await c.take(20, 40000 * SLOW);
      for (let k = 0; k < 20; k++) {
        if (Buffer.isBuffer(sent[k])) assert.ok(Buffer.isBuffer(got[k]) && got[k].equals(sent[k]), `client ${ci} message ${k}`);
        else assert.equal(got[k], sent[k], `client ${ci} message ${k}`);
      }
    }));
    const ids = new Set(clients.map((c) => c.id));
    assert.equal(ids.size, clients.length, 'two clients got the same sid');
  });

  it('60 idle TCP connections and 20 half-sent requests do not block a new client', T, async () => {
    const socks = [];
    for (let i = 0; i < 60; i++) {
      // TLS mode: every other one idles in the TLS handshake (no ClientHello), the others after it.
      const s = TLS && i % 2 ? rawSocket(server) : net.connect({ host: server.host, port: server.port });
      s.on('error', () => {});
      socks.push(s);
    }
    for (let i = 0; i < 20; i++) {
      const s = rawSocket(server, () => s.write('GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n'));
      s.on('error', () => {});
      socks.push(s);
    }
    open.push(...socks);
    await sleep(200);
    const t0 = Date.now();
    await assertServerHealthy(server);
    const c = await connect(4, server, { transports: ['polling'] });
    open.push(c);
    c.send('through');
    assert.equal(await c.next(), 'through');
    assert.ok(Date.now() - t0 < 5000 * SLOW, `a new client needed ${Date.now() - t0} ms`);
  });
});
