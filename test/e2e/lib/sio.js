'use strict';
// Helpers for the Socket.IO end-to-end tests: starting build/sio-echo and
// build/sio-test (lib/server.js's startBinary for another binary and the
// /socket.io/ path), the three official clients (socket.io-client
// 4.x, 3.x, 2.x) behind one promise-based interface, and raw Socket.IO over
// a raw Engine.IO WebSocket or long-polling session.
//
// The binaries come from $BUILD_DIR (absolute, or relative to the current
// directory, which the runner sets to test/e2e), else build/ at the top of
// the repository.

const path = require('node:path');
const assert = require('node:assert/strict');
const { before, after } = require('node:test');
const {
  startBinary, stopAndCheckAs, sleep, handshake, poll, post, decodeV4, decodeV3, SEP,
} = require('./server');
const { rawOpen } = require('./ws');

const BUILD_DIR = process.env.BUILD_DIR
  ? path.resolve(process.cwd(), process.env.BUILD_DIR)
  : path.resolve(__dirname, '..', '..', '..', 'build');
// Everything is slower under AddressSanitizer: scale the waits.
const SLOW = Number(process.env.EIO_SLOW || (/asan|sanit/.test(BUILD_DIR) ? 2 : 1));
const SIO_PATH = '/socket.io/';

function binary(name) {
  return path.join(BUILD_DIR, name);
}

// ---------------------------------------------------------------- servers

/**
 * Spawns build/<name> (sio-echo, sio-test or chat) with `args` on a free port
 * and resolves once it printed its "listening on" banner (lib/server.js's
 * startBinary, with the /socket.io/ path and a `name` property). The returned
 * object works with lib/server.js's request/handshake/poll/post and
 * lib/ws.js's rawConnect/rawOpen/wsClient (host, port, path, httpUrl, wsUrl).
 */
async function startSio(name, args = [], { readyTimeout = 10000 * SLOW } = {}) {
  return startBinary(binary(name), args, {
    readyTimeout, label: name, path: SIO_PATH, slow: SLOW, fields: { name },
  });
}

/** Asserts that a server stopped by SIGTERM exited 0, in time, without a sanitizer report. */
async function stopAndCheck(server) {
  await stopAndCheckAs(server, server.name);
}

/**
 * before/after hooks in the current suite: start build/<name> with `args`,
 * and at the end close every client still open, stop the server with SIGTERM
 * and assert a clean exit. Returns an object filled in by the before hook.
 */
function useSio(name, args = [], opts = {}) {
  const ctx = {};
  before(async () => {
    Object.setPrototypeOf(ctx, await startSio(name, args, opts));
  });
  after(async () => {
    closeAll();
    if (!ctx.stop) return;
    await sleep(50);
    await stopAndCheck(ctx);
  });
  return ctx;
}

// ---------------------------------------------------------------- clients

const CLIENTS = {
  4: { label: 'socket.io-client 4.x', mod: () => require('socket.io-client') },
  3: { label: 'socket.io-client 3.x', mod: () => require('socket.io-client-v3') },
  2: { label: 'socket.io-client 2.x', mod: () => require('socket.io-client-v2') },
};
const VERSIONS = [4, 3, 2];

const MODES = [
  { name: 'polling', transports: ['polling'], final: 'polling' },
  { name: 'websocket', transports: ['websocket'], final: 'websocket' },
  { name: 'polling+upgrade', transports: ['polling', 'websocket'], final: 'websocket', upgrade: true },
];

/** Every client socket and manager created, closed by closeAll(). */
const opened = new Set();

/** Binary values arrive as Buffers, ArrayBuffers or views: make them Buffers, deeply. */
function norm(v) {
  if (v === null || v === undefined) return v;
  if (Buffer.isBuffer(v) || v instanceof Error) return v;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map(norm);
  if (typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = norm(x);
    return o;
  }
  return v;
}

function clientOptions(version, mode, { auth, query, extraHeaders, timeout, ...rest } = {}) {
  const opts = {
    path: '/socket.io',
    reconnection: false,
    forceNew: true,
    timeout: timeout || 5000 * SLOW,
    transports: (mode && mode.transports) || ['polling', 'websocket'],
    ...rest,
  };
  if (version !== 2 && auth !== undefined) opts.auth = auth;
  if (query !== undefined) opts.query = query;
  if (extraHeaders !== undefined) {
    opts.extraHeaders = extraHeaders;
    // socket.io-client 2.x in Node sends extraHeaders only with these set.
    if (version === 2) opts.transportOptions = { polling: { extraHeaders }, websocket: { extraHeaders } };
  }
  return opts;
}

/** Creates (without waiting) a client socket of `version` for namespace nsp (which may carry "?query"). */
function createSocket(version, server, nsp = '/', opts = {}) {
  const { mode, ...rest } = opts;
  const m = CLIENTS[version].mod();
  const url = server.httpUrl + nsp;
  const sock = m(url, clientOptions(version, mode, rest));
  sock.sioVersion = version;
  opened.add(sock);
  return sock;
}

/** A Manager of `version` (one Engine.IO connection for several namespaces). */
function createManager(version, server, opts = {}) {
  const { mode, ...rest } = opts;
  const m = CLIENTS[version].mod();
  const o = clientOptions(version, mode, rest);
  delete o.forceNew;
  const man = version === 2 ? m.Manager(server.httpUrl, o) : new m.Manager(server.httpUrl, o);
  opened.add(man);
  return man;
}

/** Resolves once sock connected; rejects with the connect error (v4/v3 connect_error, v2 error). */
function waitConnect(sock, t = 8000 * SLOW) {
  if (sock.connected) return Promise.resolve(sock);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`socket ${sock.nsp} did not connect within ${t} ms`));
    }, t);
    const onConnect = () => { cleanup(); resolve(sock); };
    const onError = (err) => {
      cleanup();
      const e = new Error(`connect failed: ${err && err.message ? err.message : JSON.stringify(err)}`);
      e.cause = err;
      reject(e);
    };
    const cleanup = () => {
      clearTimeout(timer);
      sock.off('connect', onConnect);
      sock.off('connect_error', onError);
      sock.off('error', onError);
    };
    sock.on('connect', onConnect);
    sock.on('connect_error', onError);
    sock.on('error', onError);
  });
}

/** Resolves once the client's Engine.IO connection runs over websocket after an upgrade. */
function waitUpgrade(sock, t = 8000 * SLOW) {
  const engine = sock.io.engine;
  if (engine.transport && engine.transport.name === 'websocket') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no upgrade within ${t} ms (transport ${engine.transport && engine.transport.name})`)), t);
    engine.once('upgrade', () => { clearTimeout(timer); resolve(); });
  });
}

function transportName(sock) {
  const e = sock.io && sock.io.engine;
  return e && e.transport && e.transport.name;
}

/**
 * Connects a client of `version` to nsp, over `mode` (see MODES), and waits
 * until it is connected (and upgraded when the mode says so).
 */
async function connectClient(version, server, nsp = '/', opts = {}) {
  const sock = createSocket(version, server, nsp, opts);
  const inbox = makeInbox(sock);
  await waitConnect(sock);
  if (opts.mode && opts.mode.upgrade) await waitUpgrade(sock);
  if (opts.mode) assert.equal(transportName(sock), opts.mode.final, 'unexpected transport');
  sock.inbox = inbox;
  return sock;
}

/**
 * Records every event sent to sock by the server (v3/v4 with onAny; v2 by
 * wrapping onevent) so tests can wait for one: next(ev) resolves the args of
 * the next not yet consumed occurrence of ev; all(ev) lists them all.
 */
function makeInbox(sock) {
  const queues = new Map();
  const waiters = new Map();
  const seen = [];
  const push = (ev, args) => {
    args = norm(args);
    seen.push([ev, ...args]);
    const ws = waiters.get(ev);
    if (ws && ws.length) {
      const w = ws.shift();
      clearTimeout(w.timer);
      w.res(args);
      return;
    }
    if (!queues.has(ev)) queues.set(ev, []);
    queues.get(ev).push(args);
  };
  if (typeof sock.onAny === 'function') {
    sock.onAny((ev, ...args) => {
      if (typeof args[args.length - 1] === 'function') args.pop();
      push(ev, args);
    });
  } else {
    // socket.io-client 2.x: Socket.prototype.onevent(packet) handles every event.
    const orig = sock.onevent;
    sock.onevent = function (packet) {
      const data = (packet.data || []).slice();
      push(data[0], data.slice(1));
      return orig.call(this, packet);
    };
  }
  return {
    seen,
    next(ev, t = 5000 * SLOW) {
      const q = queues.get(ev);
      if (q && q.length) return Promise.resolve(q.shift());
      return new Promise((res, rej) => {
        const w = { res };
        w.timer = setTimeout(() => {
          const ws = waiters.get(ev);
          ws.splice(ws.indexOf(w), 1);
          rej(new Error(`no "${ev}" event within ${t} ms (got: ${JSON.stringify(seen.map((s) => s[0]))})`));
        }, t);
        if (!waiters.has(ev)) waiters.set(ev, []);
        waiters.get(ev).push(w);
      });
    },
    all(ev) {
      return seen.filter((s) => s[0] === ev).map((s) => s.slice(1));
    },
    count(ev) {
      return seen.filter((s) => s[0] === ev).length;
    },
  };
}

/** Emits ev with args and an ack callback; resolves the ack's arguments (binary as Buffers). */
function ack(sock, ev, ...args) {
  const t = 8000 * SLOW;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for "${ev}" within ${t} ms`)), t);
    sock.emit(ev, ...args, (...res) => {
      clearTimeout(timer);
      resolve(norm(res));
    });
  });
}

/** Resolves the error of a refused connection (v4/v3 connect_error, v2 error). */
function connectFailure(sock, t = 5000 * SLOW) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connect error within ${t} ms`)), t);
    const done = (e) => { clearTimeout(timer); resolve(norm(e)); };
    sock.on('connect', () => { clearTimeout(timer); reject(new Error('connected to a namespace that should be refused')); });
    if (typeof sock.onAny !== 'function') sock.on('error', done); // 2.x
    else sock.on('connect_error', done);
  });
}

/** Resolves the arguments of the next `ev` event emitted on emitter (a socket or a manager), failing after t ms. */
function once(emitter, ev, t = 5000 * SLOW) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(ev, on);
      reject(new Error(`no "${ev}" within ${t} ms`));
    }, t);
    const on = (...args) => {
      clearTimeout(timer);
      resolve(norm(args));
    };
    emitter.once(ev, on);
  });
}

/** Closes every client created since the last call. */
function closeAll() {
  for (const s of opened) {
    try {
      if (typeof s.disconnect === 'function') s.disconnect();
      const man = s.io || s; // a socket's manager, or a manager
      if (man && man.engine) man.engine.close();
    } catch {
      // already closed
    }
  }
  opened.clear();
}

/**
 * Polls the "reasons" event of sio-test (through the connected probe socket)
 * until an entry for socket id `id` shows up; resolves that entry
 * [id, disconnectingReason, disconnectReason, roomsSeenInDisconnecting].
 */
async function waitReason(probe, id, t = 5000 * SLOW) {
  const deadline = Date.now() + t;
  let last;
  for (;;) {
    [last] = await ack(probe, 'reasons');
    const hit = last.find((r) => r[0] === id);
    if (hit) return hit;
    if (Date.now() > deadline) assert.fail(`no disconnect reason recorded for ${id} within ${t} ms: ${JSON.stringify(last)}`);
    await sleep(50);
  }
}

// ---------------------------------------------------------------- raw Socket.IO

/**
 * Raw Engine.IO WebSocket session that connected to namespace nsp: for EIO=4
 * it sends "40" (plus the namespace and auth) and waits for the server's
 * CONNECT "40{"sid":...}"; for EIO=3 it waits for the unprompted "40".
 * Resolves { conn, open, sid (socket id), next() } with next() skipping
 * server pings (answering them in EIO4).
 */
async function rawSioWs(server, { eio = 4, nsp = '/', auth, connect = true } = {}) {
  const { conn, open } = await rawOpen(server, eio);
  const c = {
    conn,
    open,
    sid: null,
    async next(t = 3000 * SLOW) {
      for (;;) {
        const m = await conn.nextMessage(t);
        if (m === '2' && eio === 4) { conn.sendText('3'); continue; }
        if (m === '3' && eio === 3) continue;
        return m;
      }
    },
    send(s) { conn.sendText(s); },
    sendBinary(b) { conn.sendBinary(eio === 3 ? Buffer.concat([Buffer.from([4]), b]) : b); },
  };
  if (!connect) return c;
  if (eio === 4) {
    const prefix = nsp === '/' ? '' : `${nsp},`;
    c.send(`40${prefix}${auth === undefined ? '' : JSON.stringify(auth)}`);
    const m = await c.next();
    assert.equal(typeof m, 'string');
    assert.ok(m.startsWith(`40${prefix}{`), `expected a CONNECT answer, got ${m}`);
    c.sid = JSON.parse(m.slice(2 + prefix.length)).sid;
    assert.equal(typeof c.sid, 'string');
  } else {
    const m = await c.next();
    assert.equal(m, '40', `expected the unprompted CONNECT of "/", got ${m}`);
    c.sid = open.sid;
  }
  return c;
}

/**
 * Raw Engine.IO v4 long-polling session connected to "/" (POST "40", GET
 * "40{"sid":...}"). Resolves { sid (Engine.IO), socketId }.
 */
async function rawSioPolling(server) {
  const { sid } = await handshake(server, 4);
  const p = await post(server, 4, sid, '40');
  assert.equal(p.status, 200, p.text);
  const g = await poll(server, 4, sid);
  assert.equal(g.status, 200);
  const packets = decodeV4(g.text);
  const connect = packets.find((x) => x.startsWith('40{'));
  assert.ok(connect, `no CONNECT answer: ${g.text}`);
  return { sid, socketId: JSON.parse(connect.slice(2)).sid };
}

/** Proves the server still serves: a fresh socket.io-client 4.x over websocket gets an ack. */
async function assertStillServes(server, event = 'echo') {
  const s = await connectClient(4, server, '/', { mode: MODES[1] });
  try {
    if (event === 'message-with-ack') {
      assert.deepEqual(await ack(s, 'message-with-ack', 'alive', 1), ['alive', 1]);
    } else {
      assert.deepEqual(await ack(s, 'echo', 'alive', 1), ['alive', 1]);
    }
  } finally {
    s.disconnect();
    opened.delete(s);
  }
}

/** Bytes 0..n-1 modulo 256, as a Buffer. */
function bytes(n, seed = 0) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i + seed) & 0xff;
  return b;
}

module.exports = {
  BUILD_DIR,
  SLOW,
  SIO_PATH,
  CLIENTS,
  VERSIONS,
  MODES,
  sleep,
  startSio,
  stopAndCheck,
  useSio,
  norm,
  createSocket,
  createManager,
  waitConnect,
  connectFailure,
  waitUpgrade,
  transportName,
  connectClient,
  makeInbox,
  ack,
  once,
  closeAll,
  waitReason,
  rawSioWs,
  rawSioPolling,
  assertStillServes,
  bytes,
  SEP,
  decodeV3,
};
