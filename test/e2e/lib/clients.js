'use strict';
// Wraps the official Engine.IO clients (engine.io-client 6.x speaks EIO=4,
// 3.x speaks EIO=3) behind one promise-based interface for the tests.

const { Socket: SocketV4 } = require('engine.io-client');
const SocketV3 = require('engine.io-client-v3');
const { SLOW } = require('./server');

/** Messages come as strings, Buffers, ArrayBuffers or views: make binary a Buffer. */
function normalize(m) {
  if (m === undefined || m === null) return '';
  if (typeof m === 'string' || Buffer.isBuffer(m)) return m;
  if (m instanceof ArrayBuffer) return Buffer.from(m);
  if (ArrayBuffer.isView(m)) return Buffer.from(m.buffer, m.byteOffset, m.byteLength);
  return m;
}

/**
 * Connects with client `version` (3 or 4). `transports` as the clients take
 * it; undefined means the default (polling, then upgrade to websocket).
 * Resolves once 'open' fired with a wrapper:
 *   socket, next(timeout), closed (promise of { reason }), events (counts), send().
 */
function connect(version, server, { transports, timeout = 5000 * SLOW, ...extra } = {}) {
  const opts = { path: '/engine.io', ...extra };
  if (transports) opts.transports = transports;
  const socket = version === 4 ? new SocketV4(server.httpUrl, opts) : new SocketV3(server.httpUrl, opts);
  const queue = [];
  const waiters = [];
  const events = { ping: 0, pong: 0, upgrade: 0, error: [] };
  let closeInfo = null;
  let resolveClosed;
  const closed = new Promise((r) => { resolveClosed = r; });

  socket.on('message', (m) => {
    const msg = normalize(m);
    const w = waiters.shift();
    if (w) {
      clearTimeout(w.timer);
      w.res(msg);
    } else {
      queue.push(msg);
    }
  });
  socket.on('ping', () => events.ping++);
  socket.on('pong', () => events.pong++);
  socket.on('upgrade', () => events.upgrade++);
  socket.on('error', (e) => events.error.push(e));
  socket.on('close', (reason, desc) => {
    closeInfo = { reason, desc };
    for (const w of waiters.splice(0)) {
      clearTimeout(w.timer);
      w.rej(new Error(`client closed (${reason}) while waiting for a message`));
    }
    resolveClosed(closeInfo);
  });

  const c = {
    socket,
    events,
    closed,
    get closeInfo() { return closeInfo; },
    get transportName() { return socket.transport && socket.transport.name; },
    get id() { return socket.id; },
    send: (m) => socket.send(m),
    next(t = 5000 * SLOW) {
      if (queue.length) return Promise.resolve(queue.shift());
      if (closeInfo) return Promise.reject(new Error(`client closed (${closeInfo.reason})`));
      return new Promise((res, rej) => {
        const w = { res, rej };
        w.timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          rej(new Error(`no message within ${t} ms`));
        }, t);
        waiters.push(w);
      });
    },
    /** Collects `n` messages. */
    async take(n, t = 10000 * SLOW) {
      const out = [];
      const deadline = Date.now() + t;
      while (out.length < n) out.push(await c.next(Math.max(1, deadline - Date.now())));
      return out;
    },
    /** Resolves { reason } once closed, failing after `t` ms. */
    waitClose(t = 5000 * SLOW) {
      let timer;
      return Promise.race([
        closed.finally(() => clearTimeout(timer)),
        new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`client not closed within ${t} ms`)), t); }),
      ]);
    },
    /** Resolves once the transport was upgraded to websocket. */
    waitUpgrade(t = 5000 * SLOW) {
      if (c.transportName === 'websocket' && events.upgrade > 0) return Promise.resolve();
      return new Promise((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`no upgrade within ${t} ms (transport ${c.transportName})`)), t);
        socket.once('upgrade', () => {
          clearTimeout(timer);
          res();
        });
      });
    },
    close() {
      if (!closeInfo) socket.close();
    },
  };

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`engine.io-client v${version} did not open within ${timeout} ms`));
    }, timeout);
    socket.once('open', () => {
      clearTimeout(timer);
      resolve(c);
    });
    socket.once('close', (reason, desc) => {
      clearTimeout(timer);
      reject(new Error(`engine.io-client v${version} closed before open: ${reason} ${desc && (desc.message || desc.description || desc)}`));
    });
  });
}

module.exports = { connect, normalize };
