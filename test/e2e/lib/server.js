'use strict';
// Starts and stops build/eio-echo for the end-to-end tests, and speaks raw
// Engine.IO long-polling over HTTP (requests, payload codecs, session checks).
//
// The binary comes from the EIO_ECHO environment variable (a path relative to
// the current directory, which the runner sets to test/e2e), else
// build/eio-echo at the top of the repository.
//
// With E2E_TLS=1 (lib/tls.js) every server gets --tls-cert/--tls-key, the
// server objects advertise https:// and wss:// URLs and request() goes
// through node:https.

const { spawn } = require('node:child_process');
const net = require('node:net');
const { TLS, SCHEME, WS_SCHEME, SERVER_ARGS: TLS_ARGS, httpModule } = require('./tls');
const path = require('node:path');
const assert = require('node:assert/strict');
const { before, after } = require('node:test');

const BINARY = process.env.EIO_ECHO
  ? path.resolve(process.cwd(), process.env.EIO_ECHO)
  : path.resolve(__dirname, '..', '..', '..', 'build', 'eio-echo');
const HOST = process.env.EIO_HOST || '127.0.0.1';
const EIO_PATH = '/engine.io/';
// Everything is slower under AddressSanitizer: scale the generous waits.
const SLOW = Number(process.env.EIO_SLOW || (BINARY.includes('asan') ? 2 : 1));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Returns a TCP port that was free on the loopback interface a moment ago. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Spawns the server with `args` on a free port and resolves once it printed
 * its "listening on" banner. Retries on a new port if the process dies early
 * (another process may have taken the port in between).
 */
async function startServer(args = [], { readyTimeout = 10000 * SLOW } = {}) {
  return startBinary(BINARY, args, { readyTimeout, label: 'eio-echo', path: EIO_PATH, slow: SLOW });
}

/**
 * Spawns `bin` with `--port <free port>` and `args` and resolves once it
 * printed its "listening on" banner; retries on a new port (3 attempts) if the
 * process exits before that. Options:
 *   readyTimeout  ms to wait for the banner (required)
 *   label         name in the "died during the tests" message
 *   path          URL path the returned object advertises (server.path)
 *   slow          factor of stop()'s default timeout (5000 ms * slow)
 *   fields        extra properties put first in the returned object
 * The returned object works with request/handshake/poll/post and
 * lib/ws.js's rawConnect/rawOpen/wsClient (host, port, path, httpUrl, wsUrl).
 */
async function startBinary(bin, args, opts) {
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await spawnBinary(bin, port, args, opts);
    } catch (err) {
      lastError = err;
      if (!err.earlyExit) break;
    }
  }
  throw lastError;
}

function spawnBinary(bin, port, args, { readyTimeout, label, path: urlPath, slow = 1, fields = {} }) {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, ['--port', String(port), ...args, ...TLS_ARGS], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let ready = false;
    let exitInfo = null;
    let stopping = false;
    const exited = new Promise((res) => {
      proc.on('exit', (code, signal) => {
        exitInfo = { code, signal };
        res(exitInfo);
      });
    });
    proc.on('error', (err) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`cannot start ${bin}: ${err.message}`));
    });
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (d) => {
      stdout += d;
      if (!ready && stdout.includes('listening on')) {
        ready = true;
        clearTimeout(timer);
        resolve(server);
      }
    });
    proc.stderr.on('data', (d) => {
      stderr += d;
    });
    exited.then(({ code, signal }) => {
      if (ready) {
        if (!stopping) {
          console.error(`# ${label} (port ${port}, args ${JSON.stringify(args)}) died during the tests: code ${code}, signal ${signal}\n# stderr: ${stderr.split('\n').join('\n# ')}`);
        }
        return;
      }
      clearTimeout(timer);
      const err = new Error(
        `${bin} exited before listening (code ${code}, signal ${signal})\nstdout: ${stdout}\nstderr: ${stderr}`,
      );
      err.earlyExit = true;
      reject(err);
    });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${bin} did not print "listening on" within ${readyTimeout} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, readyTimeout);

    // `fields` first, then these (an object spread in the literal would
    // move the getters after the plain properties).
    const server = Object.defineProperties({ ...fields }, Object.getOwnPropertyDescriptors({
      port,
      host: HOST,
      path: urlPath,
      proc,
      args,
      exited,
      get stdout() { return stdout; },
      get stderr() { return stderr; },
      get exitInfo() { return exitInfo; },
      /** Marks the coming exit as expected (a test sends the signal itself). */
      expectExit() { stopping = true; },
      /** True when the server serves HTTPS and WSS (E2E_TLS=1). */
      tls: TLS,
      httpUrl: `${SCHEME}://${HOST}:${port}`,
      wsUrl: `${WS_SCHEME}://${HOST}:${port}`,
      /**
       * Sends `signal` and waits up to `timeout` ms for the exit; kills with
       * SIGKILL after that. Resolves { code, signal, timedOut }.
       */
      async stop({ signal = 'SIGTERM', timeout = 5000 * slow } = {}) {
        if (exitInfo) return { ...exitInfo, timedOut: false };
        stopping = true;
        proc.kill(signal);
        let t;
        const res = await Promise.race([
          exited.then((e) => ({ ...e, timedOut: false })),
          new Promise((r) => { t = setTimeout(() => r(null), timeout); }),
        ]);
        clearTimeout(t);
        if (res) return res;
        proc.kill('SIGKILL');
        const e = await exited;
        return { ...e, timedOut: true };
      },
    }));
  });
}

/** Throws if the server's stderr holds a sanitizer report. */
function assertNoSanitizerReport(server) {
  const err = server.stderr;
  for (const marker of ['AddressSanitizer', 'LeakSanitizer', 'UndefinedBehaviorSanitizer', 'ThreadSanitizer', 'runtime error:']) {
    assert.ok(!err.includes(marker), `sanitizer report in server stderr:\n${err}`);
  }
}

/**
 * Stops a server started by startBinary with SIGTERM and asserts that it was
 * still running, exited 0 in time, and left no sanitizer report. `label`
 * names it in the messages.
 */
async function stopAndCheckAs(server, label) {
  const wasRunning = server.exitInfo === null;
  const res = await server.stop();
  assert.ok(wasRunning, `${label} had died during the tests: ${JSON.stringify(server.exitInfo)}\nstderr: ${server.stderr}`);
  assert.equal(res.timedOut, false, `${label} did not exit within the time limit after SIGTERM`);
  assert.deepEqual({ code: res.code, signal: res.signal }, { code: 0, signal: null },
    `${label} exit after SIGTERM\nstderr: ${server.stderr}`);
  assertNoSanitizerReport(server);
}

/**
 * Registers before/after hooks in the current suite that start a server with
 * `args` and stop it with SIGTERM at the end, asserting a clean exit (status 0,
 * no sanitizer report). Returns an object filled in by the before hook.
 */
function useServer(args = [], opts = {}) {
  // The server object's getters (stderr, exitInfo) must stay live: inherit them.
  const ctx = {};
  before(async () => {
    Object.setPrototypeOf(ctx, await startServer(args, opts));
  });
  after(async () => {
    if (!ctx.stop) return;
    await stopAndCheckAs(ctx, 'server');
  });
  return ctx;
}

// ---------------------------------------------------------------- HTTP

function queryString(query) {
  return Object.entries(query)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

/**
 * One HTTP request on a fresh connection (HTTPS in TLS mode). `query` builds
 * the Engine.IO path unless `path` is given. Resolves { status, headers, body
 * (Buffer), text }.
 */
function request(server, { method = 'GET', path: p, query = {}, headers = {}, body, timeout = 5000 * SLOW } = {}) {
  const reqPath = p || `${server.path}?${queryString(query)}`;
  const hdrs = { ...headers };
  let payload = body;
  if (payload !== undefined && !Buffer.isBuffer(payload)) payload = Buffer.from(String(payload), 'utf8');
  if (payload !== undefined && !Object.keys(hdrs).some((h) => /^(content-length|transfer-encoding)$/i.test(h))) {
    hdrs['Content-Length'] = payload.length;
  }
  return new Promise((resolve, reject) => {
    const req = httpModule.request({ host: server.host, port: server.port, method, path: reqPath, headers: hdrs, agent: false });
    const timer = setTimeout(() => {
      const err = new Error(`${method} ${reqPath}: no answer within ${timeout} ms`);
      err.code = 'ETIMEOUT';
      req.destroy(err);
    }, timeout);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      res.on('end', () => {
        clearTimeout(timer);
        const buf = Buffer.concat(chunks);
        resolve({ status: res.statusCode, headers: res.headers, body: buf, text: buf.toString('utf8') });
      });
    });
    req.end(payload);
  });
}

/** Asserts a 400 answer with the JSON body {code, message} of Node's abortRequest. */
function assertEioError(res, code, message) {
  assert.equal(res.status, 400, `expected HTTP 400, got ${res.status} ${res.text}`);
  assert.match(String(res.headers['content-type']), /^application\/json/i);
  let body;
  try {
    body = JSON.parse(res.text);
  } catch {
    assert.fail(`error body is not JSON: ${JSON.stringify(res.text)}`);
  }
  assert.deepEqual(body, { code, message });
}

// ---------------------------------------------------------------- payloads

const SEP = '\x1e';

/** EIO4 long-polling payload: packets joined by the record separator. */
function encodeV4(packets) {
  return packets.join(SEP);
}
function decodeV4(text) {
  return text.split(SEP);
}

/** EIO3 text payload: "<length>:<packet>", length in UTF-16 code units. */
function encodeV3(packets) {
  return packets.map((p) => `${p.length}:${p}`).join('');
}
function decodeV3(text) {
  const out = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    assert.ok(colon > i, `bad v3 payload (no length) at ${i}: ${JSON.stringify(text)}`);
    const lenStr = text.slice(i, colon);
    assert.match(lenStr, /^[0-9]+$/, `bad v3 length ${JSON.stringify(lenStr)} in ${JSON.stringify(text)}`);
    const n = Number(lenStr);
    const msg = text.slice(colon + 1, colon + 1 + n);
    assert.equal(msg.length, n, `v3 payload shorter than its length: ${JSON.stringify(text)}`);
    out.push(msg);
    i = colon + 1 + n;
  }
  return out;
}

/**
 * EIO3 binary payload (application/octet-stream): per packet a byte 0 (string)
 * or 1 (binary), decimal length digits one byte each, 0xFF, then the data.
 * Returns [{ binary, data }] with data a string (type char first) or a Buffer
 * (type byte first).
 */
function decodeV3Binary(buf) {
  const out = [];
  let i = 0;
  while (i < buf.length) {
    const kind = buf[i++];
    assert.ok(kind === 0 || kind === 1, `bad kind byte ${kind} at ${i - 1}`);
    let len = '';
    while (i < buf.length && buf[i] !== 0xff) {
      assert.ok(buf[i] <= 9, `bad length digit ${buf[i]}`);
      len += String(buf[i++]);
    }
    assert.ok(buf[i] === 0xff && len.length > 0, 'missing 0xFF after length');
    i++;
    const n = Number(len);
    assert.ok(i + n <= buf.length, 'binary payload shorter than its length');
    const data = buf.subarray(i, i + n);
    i += n;
    out.push(kind === 0 ? { binary: false, data: data.toString('utf8') } : { binary: true, data: Buffer.from(data) });
  }
  return out;
}

function encodeV3Binary(items) {
  const parts = [];
  for (const it of items) {
    const data = Buffer.isBuffer(it) ? it : Buffer.from(it, 'utf8');
    const digits = String(data.length).split('').map(Number);
    parts.push(Buffer.from([Buffer.isBuffer(it) ? 1 : 0, ...digits, 0xff]), data);
  }
  return Buffer.concat(parts);
}

/** Decodes a GET answer of either version into a list of packet strings (binary v3 packets as Buffers). */
function decodeGet(eio, res) {
  if (eio === 4) return decodeV4(res.text);
  if (/octet-stream/.test(String(res.headers['content-type']))) {
    return decodeV3Binary(res.body).map((p) => p.data);
  }
  return decodeV3(res.text);
}

// ---------------------------------------------------------------- sessions

function poll(server, eio, sid, { query = {}, ...opts } = {}) {
  return request(server, { ...opts, query: { EIO: eio, transport: 'polling', sid, ...query } });
}

function post(server, eio, sid, body, { query = {}, headers = {}, ...opts } = {}) {
  return request(server, {
    ...opts,
    method: 'POST',
    query: { EIO: eio, transport: 'polling', sid, ...query },
    headers: { 'Content-Type': 'text/plain;charset=UTF-8', ...headers },
    body,
  });
}

/** Opens a long-polling session; returns { sid, open, res }. */
async function handshake(server, eio = 4, { query = {}, headers = {} } = {}) {
  const res = await request(server, { query: { EIO: eio, transport: 'polling', ...query }, headers });
  assert.equal(res.status, 200, `handshake answered ${res.status}: ${res.text}`);
  const packets = decodeGet(eio, res);
  assert.ok(typeof packets[0] === 'string' && packets[0][0] === '0', `first packet is not open: ${res.text}`);
  const open = JSON.parse(packets[0].slice(1));
  return { sid: open.sid, open, res, rest: packets.slice(1) };
}

/**
 * Asserts that the session `sid` is closed, or gets closed within `timeout`:
 * a GET on it is refused with 400 code 1, or answered with a close packet
 * after which the sid is unknown.
 */
async function expectSessionClosed(server, eio, sid, { timeout = 3000 * SLOW } = {}) {
  const deadline = Date.now() + timeout;
  const seen = [];
  while (Date.now() < deadline) {
    let res;
    try {
      res = await poll(server, eio, sid, { timeout: Math.max(200, deadline - Date.now()) });
    } catch (err) {
      if (err.code === 'ETIMEOUT') break;
      seen.push(`error ${err.code || err.message}`);
      await sleep(50);
      continue;
    }
    if (res.status === 400) {
      assertEioError(res, 1, 'Session ID unknown');
      return;
    }
    assert.equal(res.status, 200, `unexpected status ${res.status} ${res.text}`);
    const packets = decodeGet(eio, res);
    seen.push(JSON.stringify(packets));
    if (packets.includes('1')) {
      const again = await poll(server, eio, sid);
      assertEioError(again, 1, 'Session ID unknown');
      return;
    }
  }
  assert.fail(`session ${sid} still open after ${timeout} ms (answers: ${seen.join(', ')})`);
}

/**
 * Resolves once a GET on `sid` with transport polling gets 400 code 1,
 * polling up to `timeout` ms: the server has forgotten the session.
 */
async function expectSidForgotten(server, eio, sid, { timeout = 3000 * SLOW } = {}) {
  const deadline = Date.now() + timeout;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await poll(server, eio, sid, { timeout: 1000 });
      if (res.status === 400 && JSON.parse(res.text).code === 1) {
        assertEioError(res, 1, 'Session ID unknown');
        return;
      }
      last = `${res.status} ${res.text.slice(0, 200)}`;
    } catch (err) {
      last = err.message;
    }
    await sleep(100);
  }
  assert.fail(`sid ${sid} still known after ${timeout} ms (last answer: ${last})`);
}

/**
 * Proves the server still serves new clients: a fresh v4 polling session
 * echoes a message, and a fresh v4 WebSocket session too.
 */
async function assertServerHealthy(server) {
  const { sid } = await handshake(server, 4);
  const tag = `health-${Math.random().toString(36).slice(2)}`;
  const p = await post(server, 4, sid, `4${tag}`);
  assert.equal(p.status, 200);
  assert.equal(p.text, 'ok');
  const g = await poll(server, 4, sid);
  assert.equal(g.status, 200);
  assert.deepEqual(decodeV4(g.text), [`4${tag}`]);
  await post(server, 4, sid, '1');
  const { wsEcho } = require('./ws');
  await wsEcho(server, `4${tag}`);
}

/** This process's open-file limit (ulimit -n; the server started by a test
 * gets the same), Infinity when unlimited. */
function fdLimit() {
  try {
    const out = require('node:child_process').execFileSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
    return out === 'unlimited' ? Infinity : Number(out);
  } catch {
    return 1024;
  }
}

module.exports = {
  fdLimit,
  BINARY,
  HOST,
  TLS,
  SCHEME,
  httpModule,
  SLOW,
  sleep,
  freePort,
  startServer,
  startBinary,
  useServer,
  assertNoSanitizerReport,
  stopAndCheckAs,
  request,
  assertEioError,
  SEP,
  encodeV4,
  decodeV4,
  encodeV3,
  decodeV3,
  decodeV3Binary,
  encodeV3Binary,
  decodeGet,
  poll,
  post,
  handshake,
  expectSessionClosed,
  expectSidForgotten,
  assertServerHealthy,
};
