'use strict';
// Slow and idle peers cost the server no service to others (issue 12): it
// holds 5,000 half-sent requests (a partial request line, never finished),
// then separately 5,000 idle long-polling sessions (each with its GET parked)
// and 5,000 idle WebSocket sessions, while 100 new socket.io-client 4.x
// clients connect (polling, then the upgrade) and get an echo: each within
// 2 s. Loopback only. The count adapts to the file limit (this process holds
// the client ends, the server the others) and the file is skipped below
// 1,200 descriptors; each phase frees its connections before the next.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { SLOW, startSio, stopAndCheck, connectClient, ack, closeAll, MODES } = require('./lib/sio');
const { request, fdLimit } = require('./lib/server');
const { rawSocket } = require('./lib/tls');
const { percentile } = require('./lib/extra');

const FD_LIMIT = fdLimit();
const COUNT = Math.min(5000, FD_LIMIT - 500);
const SKIP = COUNT < 700 ? `needs ulimit -n of 1,200 or more (it is ${FD_LIMIT})` : false;
const SCALED = COUNT < 5000 ? ` (scaled down from 5,000: ulimit -n is ${FD_LIMIT})` : '';
const CLIENTS = 100;
const LIMIT_MS = 2000 * SLOW;
const T = { timeout: 90000 * SLOW, skip: SKIP };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Opens n raw connections, `concurrency` at a time; each gets `first` written once connected. */
async function openMany(server, n, first, concurrency = 200) {
  const socks = [];
  let next = 0;
  const one = () => new Promise((resolve, reject) => {
    const s = rawSocket(server, () => {
      if (first) s.write(typeof first === 'function' ? first() : first);
      resolve();
    });
    s.on('error', reject); // after the connect: ignored (resolved already)
    s.on('data', () => {}); // read and drop (pings, open packets)
    socks.push(s);
  });
  const workers = Array.from({ length: concurrency }, async () => {
    while (next < n) {
      next++;
      await one();
    }
  });
  await Promise.all(workers);
  return socks;
}

/** 100 clients, 10 at a time: connect (polling, upgrade) and one echo each; returns the times in ms. */
async function serveClients(server) {
  const times = [];
  let next = 0;
  const workers = Array.from({ length: 10 }, async () => {
    while (next < CLIENTS) {
      const n = ++next;
      const start = Date.now();
      const s = await connectClient(4, server, '/', { mode: MODES[2] });
      assert.deepEqual(await ack(s, 'message-with-ack', 'hi', n), ['hi', n]);
      times.push(Date.now() - start);
      s.disconnect();
    }
  });
  await Promise.all(workers);
  closeAll();
  return times;
}

function check(t, what, times) {
  const max = Math.max(...times);
  t.diagnostic(`${what}${SCALED}: ${CLIENTS} clients served, connect+echo p50/p99/max ${percentile(times, 50)}/${percentile(times, 99)}/${max} ms`);
  assert.ok(max <= LIMIT_MS, `a client took ${max} ms (limit ${LIMIT_MS}) while ${what}`);
}

async function closeMany(socks) {
  for (const s of socks) s.destroy();
  await sleep(300);
}

describe('slow and idle peers', { skip: SKIP }, () => {
  let server;
  before(async () => { server = await startSio('sio-echo'); });
  after(async () => {
    closeAll();
    if (server) await stopAndCheck(server);
  });

  it(`${COUNT} half-sent requests`, T, async (t) => {
    const socks = await openMany(server, COUNT, 'GET /socket.io/?EIO=4&transpo');
    await sleep(200);
    check(t, `${COUNT} half-sent requests are held`, await serveClients(server));
    await closeMany(socks);
  });

  it(`${COUNT} idle long-polling sessions, each with its GET parked`, T, async (t) => {
    const sids = [];
    let next = 0;
    await Promise.all(Array.from({ length: 50 }, async () => {
      while (next < COUNT) {
        next++;
        const res = await request(server, { path: '/socket.io/?EIO=4&transport=polling' });
        assert.equal(res.status, 200, res.text);
        sids.push(JSON.parse(res.text.slice(1)).sid);
      }
    }));
    let i = 0;
    const socks = await openMany(server, COUNT, () => `GET /socket.io/?EIO=4&transport=polling&sid=${sids[i++]} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    await sleep(200);
    check(t, `${COUNT} idle polling sessions wait`, await serveClients(server));
    await closeMany(socks);
  });

  it(`${COUNT} idle WebSocket sessions`, T, async (t) => {
    const socks = await openMany(server, COUNT, () => `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n`
      + `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n`
      + 'Sec-WebSocket-Version: 13\r\n\r\n');
    await sleep(200);
    check(t, `${COUNT} idle WebSocket sessions are open`, await serveClients(server));
    await closeMany(socks);
  });
});
