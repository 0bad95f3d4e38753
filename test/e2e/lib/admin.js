'use strict';
// Helpers for the Admin UI tests (admin-ui.test.js, admin-ui-browser.test.js):
// build/sio-test --admin-ui ... (the C server) or fixtures/node-admin-ui.js
// (Node's socket.io 4.8 with @socket.io/admin-ui 0.5, the reference) started
// with the same flags, admin clients (socket.io-client 4.x on "/admin") that
// record every event, and waits on what they recorded.
//
// The Node reference serves plain HTTP: under E2E_TLS=1 it is not started
// (NODE_SKIP says why) and the checks run against the C server only.

const { spawn } = require('node:child_process');
const path = require('node:path');
const { io } = require('socket.io-client');
const { TLS, freePort, sleep } = require('./server');
const { SLOW, startSio, stopAndCheck } = require('./sio');

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'node-admin-ui.js');
const NODE_SKIP = TLS ? "the Node reference serves plain HTTP; E2E_TLS=1 runs the C server only" : false;
/** The admin-ui README's example: "changeit" hashed with bcrypt. */
const PASSWORD = 'changeit';
const HASH = '$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS';
const KINDS = [
  { kind: 'c', label: 'C server (sio-test --admin-ui)', skip: false },
  { kind: 'node', label: "Node's socket.io 4.8 + @socket.io/admin-ui 0.5", skip: NODE_SKIP },
];

/** Runs fn with process.env.NODE_ENV set to value (undefined: unset), restoring it after. */
async function withNodeEnv(value, fn) {
  const had = Object.prototype.hasOwnProperty.call(process.env, 'NODE_ENV');
  const old = process.env.NODE_ENV;
  if (value === undefined) delete process.env.NODE_ENV;
  else process.env.NODE_ENV = value;
  try {
    return await fn();
  } finally {
    if (had) process.env.NODE_ENV = old;
    else delete process.env.NODE_ENV;
  }
}

/** Starts the Node reference with args; resolves {kind, httpUrl, pid, stderr, close()}. */
async function startNodeAdmin(args, { readyTimeout = 15000 } = {}) {
  const port = await freePort();
  const proc = spawn(process.execPath, [FIXTURE, '--port', String(port), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env },
  });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node-admin-ui did not start: ${err}`)), readyTimeout);
    proc.stdout.on('data', (d) => {
      out += d;
      if (out.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node-admin-ui exited (${code}): ${err}`));
    });
  });
  proc.removeAllListeners('exit');
  return {
    kind: 'node',
    port,
    host: '127.0.0.1',
    path: '/socket.io/',
    httpUrl: `http://127.0.0.1:${port}`,
    pid: proc.pid,
    get stderr() { return err; },
    close() {
      return new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
      });
    },
  };
}

/**
 * Starts an instrumented server of `kind` ('c' or 'node') with the admin
 * flags `args` (--admin-auth USER:HASH, --admin-readonly, --admin-mode M,
 * --cors-origin O, ...) and NODE_ENV = env.NODE_ENV (unset by default).
 */
async function startAdminServer(kind, args = [], { nodeEnv } = {}) {
  return withNodeEnv(nodeEnv, async () => {
    if (kind === 'node') return startNodeAdmin(args);
    const server = await startSio('sio-test', ['--admin-ui', ...args]);
    server.kind = 'c';
    server.pid = server.proc.pid;
    server.close = () => stopAndCheck(server);
    return server;
  });
}

/** Every client made by client()/adminClient(), closed by closeClients(). */
const opened = new Set();

/**
 * A socket.io-client 4.x socket to nsp of server that records every event it
 * gets (with onAny, set before it connects, so events sent before CONNECT
 * are seen too) in sock.log [{ev, args}], and its connect/disconnect.
 */
function client(server, nsp = '/', { transports = ['websocket'], ...opts } = {}) {
  const sock = io(server.httpUrl + nsp, {
    path: '/socket.io', forceNew: true, reconnection: false, transports, timeout: 5000 * SLOW, ...opts,
  });
  opened.add(sock);
  sock.log = [];
  sock.onAny((ev, ...args) => {
    if (typeof args[args.length - 1] === 'function') args.pop();
    sock.log.push({ ev, args });
  });
  sock.on('connect', () => sock.log.push({ ev: '(connect)', args: [] }));
  sock.on('disconnect', (reason) => sock.log.push({ ev: '(disconnect)', args: [reason] }));
  return sock;
}

/** An admin client (namespace "/admin"); auth is the CONNECT payload. */
function adminClient(server, auth, opts = {}) {
  return client(server, '/admin', { ...(auth !== undefined ? { auth } : {}), ...opts });
}

function closeClients() {
  for (const s of opened) s.close();
  opened.clear();
}

function connected(sock, t = 8000 * SLOW) {
  if (sock.connected) return Promise.resolve(sock);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${sock.nsp}: not connected within ${t} ms`)), t);
    sock.once('connect', () => { clearTimeout(timer); resolve(sock); });
    sock.once('connect_error', (e) => { clearTimeout(timer); reject(e); });
  });
}

/** Resolves the connect_error of a refused connection. */
function refused(sock, t = 8000 * SLOW) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connect_error within ${t} ms`)), t);
    sock.once('connect', () => { clearTimeout(timer); reject(new Error('connected, should be refused')); });
    sock.once('connect_error', (e) => { clearTimeout(timer); resolve(e); });
  });
}

/**
 * Waits until sock.log holds, at or after index `from`, an event `ev` whose
 * args pass pred; resolves {args, index}.
 */
async function waitFor(sock, ev, pred = () => true, { from = 0, timeout = 5000 * SLOW } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    for (let i = from; i < sock.log.length; i++) {
      const e = sock.log[i];
      if (e.ev === ev && pred(...e.args)) return { args: e.args, index: i };
    }
    if (Date.now() > deadline) {
      const seen = sock.log.slice(from).map((e) => e.ev);
      throw new Error(`no matching "${ev}" within ${timeout} ms (seen: ${JSON.stringify(seen)})`);
    }
    await sleep(20);
  }
}

/** Emits ev with args and resolves the ack's arguments. */
function ack(sock, ev, ...args) {
  const t = 8000 * SLOW;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for "${ev}" within ${t} ms`)), t);
    sock.emit(ev, ...args, (...res) => {
      clearTimeout(timer);
      resolve(res);
    });
  });
}

/** Sums the aggregatedEvents of stats messages: {"type" or "type/subType": count}. */
function sumEvents(statsList) {
  const sum = {};
  for (const s of statsList) {
    for (const e of s.aggregatedEvents) {
      const key = e.subType !== undefined ? `${e.type}/${e.subType}` : e.type;
      sum[key] = (sum[key] || 0) + e.count;
    }
  }
  return sum;
}

const ISO_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

module.exports = {
  FIXTURE, NODE_SKIP, PASSWORD, HASH, KINDS, SLOW, sleep, startAdminServer, startNodeAdmin, withNodeEnv,
  client, adminClient, closeClients, connected, refused, waitFor, ack, sumEvents, ISO_DATE,
};
