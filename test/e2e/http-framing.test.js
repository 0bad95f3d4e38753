'use strict';
// HTTP framing of the front door, specified by Node: every case runs against
// the C eio-echo ([c]) and against the Node reference, the `engine.io` npm
// package on http.createServer with the same options (fixtures/node-eio-echo.js,
// [node]). The [node] runs prove that each assertion is what Node's engine.io
// server does; the [c] runs check the C server does the same. Requests go over
// raw sockets (lib/tls.js rawSocket: net, or tls with E2E_TLS=1) so the bytes
// on the wire are exact. After each case a well-behaved client on a new
// connection must still be served.
//
// Assertions come in order of importance: status line, framing (Connection,
// Content-Length, the close), the bodies, the session state; checks of Node's
// exact bytes that do not change the framing (an error answer chunked rather
// than with Content-Length, no "Content-Length: 0" on a parser error) are
// deferred to the end of the test (exact()), so that a failure names the
// first thing that really differs and the rest of the case still runs. Date
// is never compared.
//
// HTTP_FRAMING_ONLY=node (or =c) runs one half only (e.g. while build/eio-echo
// is being rebuilt).

const { describe, test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const {
  startServer, startBinary, stopAndCheckAs, SLOW, sleep, handshake, post, poll, decodeV4, fdLimit,
} = require('./lib/server');
const { TLS, rawSocket, httpModule } = require('./lib/tls');

// Spawned as a program (startBinary puts --port first): it has a node
// shebang; the executable bit is put back if a checkout lost it.
const NODE_FIXTURE = path.join(__dirname, 'fixtures', 'node-eio-echo.js');
try {
  fs.accessSync(NODE_FIXTURE, fs.constants.X_OK);
} catch {
  fs.chmodSync(NODE_FIXTURE, 0o755);
}
const EIO_PATH = '/engine.io/';
const T = 5000 * SLOW; // one read, at most

const KINDS = [
  { name: 'c', start: (args = []) => startServer(args) },
  {
    name: 'node',
    start: (args = []) => startBinary(NODE_FIXTURE, args, {
      readyTimeout: 10000, label: 'node-eio-echo', path: EIO_PATH, slow: SLOW,
    }),
  },
].filter((k) => !process.env.HTTP_FRAMING_ONLY || process.env.HTTP_FRAMING_ONLY.split(',').includes(k.name));

// Case 11 opens this many idle connections: 1,100 unless the file limit
// (per process: this one holds the client ends, the server the others) is too
// low for that plus some margin.
const FD_LIMIT = fdLimit();
const IDLE_COUNT = FD_LIMIT >= 1300 ? 1100 : Math.max(50, FD_LIMIT - 200);
const IDLE_SCALED = IDLE_COUNT < 1100 ? ` (scaled down from 1,100: ulimit -n is ${FD_LIMIT})` : '';

const HAS_V6_LOOPBACK = Object.values(os.networkInterfaces())
  .flat()
  .some((i) => i && i.family === 'IPv6' && i.address === '::1');

// ---------------------------------------------------------------- raw HTTP

/**
 * Parses one HTTP response at the start of `buf`. Returns null when it is not
 * complete yet (with `eof`, a response without length ends at the end of the
 * stream). Result: { statusLine, status, headers (lower-case names, repeated
 * ones joined by ", "), headerList, chunked, body (decoded), text, raw, consumed }.
 */
function parseResponse(buf, eof) {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const statusLine = lines[0];
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
  if (!m) throw new Error(`not an HTTP status line: ${JSON.stringify(statusLine)}`);
  const status = Number(m[1]);
  const headerList = [];
  const headers = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`bad header line ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    headerList.push([name, value]);
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  let pos = headEnd + 4;
  let body;
  const chunked = /\bchunked\b/i.test(headers['transfer-encoding'] || '');
  if (status < 200 || status === 204 || status === 304) {
    body = Buffer.alloc(0);
  } else if (chunked) {
    const parts = [];
    for (;;) {
      const eol = buf.indexOf('\r\n', pos);
      if (eol < 0) return null;
      const size = parseInt(buf.subarray(pos, eol).toString('latin1').split(';')[0], 16);
      if (Number.isNaN(size)) throw new Error(`bad chunk size line at ${pos}`);
      pos = eol + 2;
      if (size === 0) {
        for (;;) { // trailers up to the empty line
          const e = buf.indexOf('\r\n', pos);
          if (e < 0) return null;
          const empty = e === pos;
          pos = e + 2;
          if (empty) break;
        }
        break;
      }
      if (buf.length < pos + size + 2) return null;
      parts.push(buf.subarray(pos, pos + size));
      pos += size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (buf.length < pos + n) return null;
    body = buf.subarray(pos, pos + n);
    pos += n;
  } else {
    if (!eof) return null;
    body = buf.subarray(pos);
    pos = buf.length;
  }
  return {
    statusLine, status, headers, headerList, chunked,
    body: Buffer.from(body), text: body.toString('utf8'),
    raw: Buffer.from(buf.subarray(0, pos)), consumed: pos,
  };
}

// ---------------------------------------------------------------- deferred exactness

let deferred = [];
/** Registers a check of Node's exact bytes, run at the end of the current test. */
function exact(what, fn) {
  deferred.push([what, fn]);
}
/** node:test's test() with the deferred exact() checks run after `fn`, all reported at once. */
function spec(name, opts, fn) {
  test(name, opts, async (t) => {
    deferred = [];
    await fn(t);
    const failures = [];
    for (const [what, check] of deferred) {
      try {
        check();
      } catch (err) {
        failures.push(`${what}: ${err.message}`);
      }
    }
    deferred = [];
    assert.ok(failures.length === 0, `everything else passed, but Node's exact bytes differ:\n${failures.join('\n')}`);
  });
}
const withoutDate = (raw) => raw.toString('latin1').replace(/\r\nDate: [^\r]*/i, '');

/** Raw sockets still open, destroyed after every test whatever happened. */
const openSockets = new Set();

/** A raw client connection that reads whole HTTP responses, every wait bounded. */
class Conn {
  constructor(server, { host = server.host } = {}) {
    this.sock = rawSocket({ host, port: server.port });
    this.sock.setNoDelay(true);
    openSockets.add(this.sock);
    this.buf = Buffer.alloc(0);
    this.eof = false;
    this.error = null;
    this.waiters = new Set();
    this.connected = new Promise((resolve) => this.sock.once(TLS ? 'secureConnect' : 'connect', resolve));
    this.sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.wake(); });
    this.sock.on('end', () => { this.eof = true; this.wake(); });
    this.sock.on('close', () => { this.eof = true; openSockets.delete(this.sock); this.wake(); });
    this.sock.on('error', (err) => { this.error = err; this.eof = true; this.wake(); });
  }

  wake() { for (const w of [...this.waiters]) w(); }

  write(data) {
    if (!this.sock.destroyed) this.sock.write(data);
  }

  /** Resolves with pred()'s first result other than undefined; rejects after `timeout` ms. */
  until(pred, timeout, what) {
    return new Promise((resolve, reject) => {
      const check = () => {
        let v;
        try {
          v = pred();
        } catch (err) {
          done(); reject(err); return;
        }
        if (v !== undefined) { done(); resolve(v); }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${what}: nothing within ${timeout} ms; received so far ${JSON.stringify(this.buf.toString('latin1').slice(0, 600))}`));
      }, timeout);
      const done = () => { clearTimeout(timer); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  /** The next whole response on the connection (a 1xx counts as one). */
  response({ timeout = T } = {}) {
    return this.until(() => {
      const r = parseResponse(this.buf, this.eof);
      if (r) {
        this.buf = this.buf.subarray(r.consumed);
        return r;
      }
      if (this.eof) {
        throw new Error(`connection closed (${this.error ? this.error.code || this.error.message : 'EOF'}) before a whole response; `
          + `received ${JSON.stringify(this.buf.toString('latin1').slice(0, 600))}`);
      }
      return undefined;
    }, timeout, 'response');
  }

  /** Resolves once the server has closed the connection (EOF or reset). */
  closedByPeer({ timeout = T } = {}) {
    return this.until(() => (this.eof ? true : undefined), timeout, 'waiting for the server to close the connection');
  }

  /** Waits `ms` and asserts that nothing arrived meanwhile and the connection stays open. */
  async silence(ms, what) {
    const before = this.buf.length;
    await sleep(ms);
    assert.equal(this.buf.length, before,
      `${what}: the server sent ${JSON.stringify(this.buf.subarray(before).toString('latin1').slice(0, 300))}`);
    assert.equal(this.eof, false, `${what}: the server closed the connection`);
  }

  destroy() { this.sock.destroy(); }
}

const q = (query) => Object.entries(query).map(([k, v]) => `${k}=${v}`).join('&');

/** A request head (and body), HTTP/1.1 with Host unless told otherwise. Query values go as given. */
function req(server, { method = 'GET', query = {}, target, version = '1.1', host = true, headers = [], body = '' } = {}) {
  const lines = [`${method} ${target || `${EIO_PATH}?${q(query)}`} HTTP/${version}`];
  if (host && version === '1.1') lines.push(`Host: ${server.host}:${server.port}`);
  for (const h of headers) lines.push(h);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}
const hsReq = (server, opts = {}) => req(server, { query: { EIO: 4, transport: 'polling' }, ...opts });
const pollReq = (server, sid, opts = {}) => req(server, { query: { EIO: 4, transport: 'polling', sid }, ...opts });
const postReq = (server, sid, body, { headers = [], ...opts } = {}) => req(server, {
  method: 'POST',
  query: { EIO: 4, transport: 'polling', sid },
  headers: ['Content-Type: text/plain;charset=UTF-8', `Content-Length: ${Buffer.byteLength(body)}`, ...headers],
  body,
  ...opts,
});

/**
 * Asserts a response: `statusLine` exactly, the Connection header (lower
 * case), Content-Type, and its framing: Content-Length equal to the body's
 * length (or absent and chunked when `chunked`). With Connection: keep-alive
 * also Node's "Keep-Alive: timeout=5" header.
 */
function assertResponse(res, { statusLine, connection, contentType, chunked = false, body, what = '' }) {
  const label = `${what} ${JSON.stringify(res.raw.toString('latin1').slice(0, 400))}`;
  assert.equal(res.statusLine, statusLine, `status line; response ${label}`);
  if (connection !== undefined) {
    assert.equal((res.headers.connection || '(none)').toLowerCase(), connection, `Connection header; response ${label}`);
    if (connection === 'keep-alive') {
      assert.equal(res.headers['keep-alive'], 'timeout=5', `Node sends "Keep-Alive: timeout=5" with keep-alive; response ${label}`);
    }
  }
  if (contentType !== undefined) assert.equal(res.headers['content-type'], contentType, `Content-Type; response ${label}`);
  if (body !== undefined) {
    if (body instanceof RegExp) assert.match(res.text, body, `body; response ${label}`);
    else assert.equal(res.text, body, `body; response ${label}`);
  }
  if (chunked) {
    // Node frames these chunked: valid either way, deferred.
    exact(`${what} framed chunked as Node does`, () => {
      assert.equal(res.headers['content-length'], undefined, `Node sends no Content-Length here; response ${label}`);
      assert.equal(res.headers['transfer-encoding'], 'chunked', `Node sends Transfer-Encoding: chunked here; response ${label}`);
    });
  } else {
    assert.equal(res.headers['transfer-encoding'], undefined, `no Transfer-Encoding expected; response ${label}`);
    assert.equal(res.headers['content-length'], String(res.body.length), `Content-Length; response ${label}`);
  }
}

const OK_HEAD = 'HTTP/1.1 200 OK';
const TEXT = 'text/plain; charset=UTF-8';

/** Asserts a v4 handshake answer (polling open packet) and returns the sid. */
function assertHandshake(res, connection, what = 'handshake') {
  assertResponse(res, { statusLine: OK_HEAD, connection, contentType: TEXT, body: /^0\{/, what });
  const open = JSON.parse(res.text.slice(1));
  assert.equal(typeof open.sid, 'string');
  assert.deepEqual(
    { upgrades: open.upgrades, pingInterval: open.pingInterval, pingTimeout: open.pingTimeout, maxPayload: open.maxPayload },
    { upgrades: ['websocket'], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000 },
  );
  return open.sid;
}

/** The POST answer: 200 "ok", text/html (as Node's engine.io), Content-Length 2. */
function assertPostOk(res, connection, what = 'POST') {
  assertResponse(res, { statusLine: OK_HEAD, connection, contentType: 'text/html', body: 'ok', what });
}

/** A GET answer carrying exactly `packets` (v4 payload). */
function assertPollPackets(res, packets, connection, what = 'GET') {
  assertResponse(res, { statusLine: OK_HEAD, connection, contentType: TEXT, what });
  assert.deepEqual(decodeV4(res.text), packets, `${what}: packets`);
}

/** Node's engine.io error answer (abortRequest): 400, application/json, chunked (writeHead before end). */
function assertEioError(res, code, message, connection = 'keep-alive', what = 'error answer') {
  assert.equal(res.statusLine, 'HTTP/1.1 400 Bad Request', `status line; ${what} ${JSON.stringify(res.raw.toString('latin1'))}`);
  assert.equal(res.headers['content-type'], 'application/json', `${what}: Content-Type`);
  assert.deepEqual(JSON.parse(res.text), { code, message }, `${what}: body`);
  assert.equal(res.text, JSON.stringify({ code, message }), `${what}: exact body`);
  assertResponse(res, { statusLine: 'HTTP/1.1 400 Bad Request', connection, contentType: 'application/json', chunked: true, what });
}

/** Opens a session over lib/server.js's plain client; returns the sid. */
async function newSid(server) {
  return (await handshake(server, 4)).sid;
}

/**
 * The server still serves a well-behaved client on new connections: a
 * handshake, a POST echoed on the next GET.
 */
async function assertStillServing(server) {
  const { sid } = await handshake(server, 4);
  const tag = `still-${Math.random().toString(36).slice(2)}`;
  const p = await post(server, 4, sid, `4${tag}`);
  assert.equal(p.status, 200, `still serving: POST answered ${p.status} ${p.text}`);
  assert.equal(p.text, 'ok');
  const g = await poll(server, 4, sid);
  assert.equal(g.status, 200, `still serving: GET answered ${g.status} ${g.text}`);
  assert.deepEqual(decodeV4(g.text), [`4${tag}`]);
}

// Node's http parser refuses these with exactly this answer and closes.
const NODE_400 = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n';
const NODE_431 = 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n';

/** Asserts that `conn` got exactly Node's parser-error answer `expected`, then the close, and nothing else. */
async function assertParserError(conn, expected, what) {
  const res = await conn.response();
  assert.equal(res.statusLine, expected.split('\r\n')[0], `${what}: status line; got ${JSON.stringify(res.raw.toString('latin1'))}`);
  assert.equal((res.headers.connection || '').toLowerCase(), 'close', `${what}: Connection: close`);
  await conn.closedByPeer();
  assert.equal(conn.buf.toString('latin1'), '', `${what}: nothing may follow the error answer (a smuggled request was answered)`);
  exact(`${what}: the whole answer (Date aside)`, () => assert.equal(withoutDate(res.raw), expected));
}

// ---------------------------------------------------------------- the cases

for (const kind of KINDS) {
  describe(`HTTP framing [${kind.name}]`, () => {
    const k = `[${kind.name}]`;
    let server;
    before(async () => { server = await kind.start([]); });
    after(async () => {
      for (const s of openSockets) s.destroy();
      if (server) await stopAndCheckAs(server, kind.name === 'c' ? 'eio-echo' : 'node-eio-echo');
    });
    afterEach(() => {
      for (const s of openSockets) s.destroy();
      openSockets.clear();
    });

    // ------------------------------------------------ 1. Connection: close
    spec(`${k} 1. Connection: close on an HTTP/1.1 handshake GET: answered with Connection: close, then the server closes`, { timeout: 20000 }, async () => {
      const c = new Conn(server);
      c.write(hsReq(server, { headers: ['Connection: close'] }));
      assertHandshake(await c.response(), 'close');
      await c.closedByPeer();
      assert.equal(c.buf.length, 0);
      await assertStillServing(server);
    });

    // ------------------------------------------------ 2. HTTP/1.0
    spec(`${k} 2a. HTTP/1.0 handshake without keep-alive: "HTTP/1.1 200 OK" with Connection: close, then the close`, { timeout: 20000 }, async () => {
      const c = new Conn(server);
      c.write(hsReq(server, { version: '1.0' }));
      // Node answers an HTTP/1.0 request with an HTTP/1.1 status line.
      assertHandshake(await c.response(), 'close');
      await c.closedByPeer();
      await assertStillServing(server);
    });

    spec(`${k} 2b. HTTP/1.0 with Connection: keep-alive: answered keep-alive, more requests on the socket answered`, { timeout: 20000 }, async () => {
      const c = new Conn(server);
      const ka = ['Connection: keep-alive'];
      c.write(hsReq(server, { version: '1.0', headers: ka }));
      const sid = assertHandshake(await c.response(), 'keep-alive');
      c.write(postReq(server, sid, '4http10', { version: '1.0', headers: ka }));
      assertPostOk(await c.response(), 'keep-alive');
      c.write(pollReq(server, sid, { version: '1.0', headers: ka }));
      assertPollPackets(await c.response(), ['4http10'], 'keep-alive');
      // Without keep-alive again: answered with Connection: close, then closed.
      c.write(postReq(server, sid, '4bye', { version: '1.0' }));
      assertPostOk(await c.response(), 'close');
      await c.closedByPeer();
      await assertStillServing(server);
    });

    // ------------------------------------------------ 3. keep-alive
    spec(`${k} 3a. keep-alive: handshake, POST, GET one after the other on one HTTP/1.1 socket`, { timeout: 20000 }, async () => {
      const c = new Conn(server);
      c.write(hsReq(server));
      const sid = assertHandshake(await c.response(), 'keep-alive');
      c.write(postReq(server, sid, '4seq'));
      assertPostOk(await c.response(), 'keep-alive');
      c.write(pollReq(server, sid));
      assertPollPackets(await c.response(), ['4seq'], 'keep-alive');
      await sleep(100);
      c.write(postReq(server, sid, '4seq2'));
      assertPostOk(await c.response(), 'keep-alive');
      c.write(pollReq(server, sid));
      assertPollPackets(await c.response(), ['4seq2'], 'keep-alive');
      assert.equal(c.eof, false, 'the connection stays open');
      await assertStillServing(server);
    });

    spec(`${k} 3b. keep-alive pipelined: two handshakes written at once, then POST and GET written at once, answered in order`, { timeout: 20000 }, async () => {
      const c = new Conn(server);
      c.write(hsReq(server) + hsReq(server));
      const sid1 = assertHandshake(await c.response(), 'keep-alive', 'first pipelined handshake');
      const sid2 = assertHandshake(await c.response(), 'keep-alive', 'second pipelined handshake');
      assert.notEqual(sid1, sid2);
      c.write(postReq(server, sid1, '4piped') + pollReq(server, sid1));
      assertPostOk(await c.response(), 'keep-alive', 'pipelined POST');
      assertPollPackets(await c.response(), ['4piped'], 'keep-alive', 'pipelined GET');
      // Three at once, on the two sessions, and the socket is still usable.
      c.write(postReq(server, sid2, '4two') + pollReq(server, sid2) + postReq(server, sid1, '1'));
      assertPostOk(await c.response(), 'keep-alive', 'third pipelined batch, POST');
      assertPollPackets(await c.response(), ['4two'], 'keep-alive', 'third pipelined batch, GET');
      assertPostOk(await c.response(), 'keep-alive', 'third pipelined batch, close POST');
      assert.equal(c.eof, false, 'the connection stays open');
      await assertStillServing(server);
    });

    // ------------------------------------------------ 4. Node's http client
    /** http.request over `agent`; resolves { status, headers, text, reused }. */
    function agentRequest(agent, { method = 'GET', reqPath, headers = {}, body }) {
      return new Promise((resolve, reject) => {
        const r = httpModule.request({ host: server.host, port: server.port, method, path: reqPath, headers, agent }, (res) => {
          const chunks = [];
          res.on('data', (d) => chunks.push(d));
          res.on('error', reject);
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString(), reused: r.reusedSocket });
          });
        });
        const timer = setTimeout(() => r.destroy(new Error(`${method} ${reqPath}: no answer within ${T} ms`)), T);
        r.on('error', (err) => { clearTimeout(timer); reject(err); });
        r.end(body);
      });
    }

    spec(`${k} 4a. Node http.Agent (keepAlive, maxSockets 1): handshake with Connection: close, then POST and GET: no "socket hang up"`, { timeout: 20000 }, async () => {
      const agent = new httpModule.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const base = `${EIO_PATH}?EIO=4&transport=polling`;
        const a = await agentRequest(agent, { reqPath: base, headers: { Connection: 'close' } });
        assert.equal(a.status, 200);
        assert.equal(a.headers.connection, 'close');
        const sid = JSON.parse(a.text.slice(1)).sid;
        const b = await agentRequest(agent, {
          method: 'POST', reqPath: `${base}&sid=${sid}`, headers: { 'Content-Type': 'text/plain;charset=UTF-8' }, body: '4agent',
        });
        assert.equal(b.status, 200);
        assert.equal(b.text, 'ok');
        assert.equal(b.reused, false, 'the first socket was closed (Connection: close): a new one');
        assert.equal(b.headers.connection, 'keep-alive');
        const c = await agentRequest(agent, { reqPath: `${base}&sid=${sid}` });
        assert.equal(c.status, 200);
        assert.equal(c.text, '4agent');
        assert.equal(c.reused, true, 'the keep-alive socket of the POST is reused');
      } finally {
        agent.destroy();
      }
      await assertStillServing(server);
    });

    spec(`${k} 4b. Node http.Agent (keepAlive, maxSockets 1): requests with pauses reuse one socket, none hangs up`, { timeout: 20000 }, async () => {
      const agent = new httpModule.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const base = `${EIO_PATH}?EIO=4&transport=polling`;
        const a = await agentRequest(agent, { reqPath: base });
        assert.equal(a.status, 200);
        assert.equal(a.headers.connection, 'keep-alive');
        assert.equal(a.headers['keep-alive'], 'timeout=5');
        const sid = JSON.parse(a.text.slice(1)).sid;
        for (let i = 0; i < 3; i++) {
          await sleep(150);
          const b = await agentRequest(agent, {
            method: 'POST', reqPath: `${base}&sid=${sid}`, headers: { 'Content-Type': 'text/plain;charset=UTF-8' }, body: `4n${i}`,
          });
          assert.deepEqual([b.status, b.text, b.reused], [200, 'ok', true], `POST ${i}`);
          await sleep(150);
          const c = await agentRequest(agent, { reqPath: `${base}&sid=${sid}` });
          assert.deepEqual([c.status, c.text, c.reused], [200, `4n${i}`, true], `GET ${i}`);
        }
      } finally {
        agent.destroy();
      }
      await assertStillServing(server);
    });

    // ------------------------------------------------ 5. chunked bodies
    const CHUNKED_BODY = '3;ext=1\r\n4he\r\n5\r\nllo-c\r\n6;a=b;c="d"\r\nhunked\r\n0\r\nX-Trailer: yes\r\nX-Other: 2\r\n\r\n';
    const chunkedPost = (sid) => req(server, {
      method: 'POST',
      query: { EIO: 4, transport: 'polling', sid },
      headers: ['Content-Type: text/plain;charset=UTF-8', 'Transfer-Encoding: chunked'],
      body: CHUNKED_BODY,
    });

    spec(`${k} 5a. chunked POST body (three chunks, extensions, trailers): ok, the echo on the next GET`, { timeout: 20000 }, async () => {
      const sid = await newSid(server);
      const c = new Conn(server);
      c.write(chunkedPost(sid));
      assertPostOk(await c.response(), 'keep-alive', 'chunked POST');
      c.write(pollReq(server, sid));
      assertPollPackets(await c.response(), ['4hello-chunked'], 'keep-alive');
      await assertStillServing(server);
    });

    spec(`${k} 5b. chunked POST delivered byte by byte (2 ms apart): ok, the echo on the next GET`, { timeout: 20000 }, async () => {
      const sid = await newSid(server);
      const c = new Conn(server);
      await c.connected;
      const bytes = Buffer.from(chunkedPost(sid), 'latin1');
      for (let i = 0; i < bytes.length; i++) {
        c.write(bytes.subarray(i, i + 1));
        await sleep(2);
      }
      assertPostOk(await c.response(), 'keep-alive', 'chunked POST byte by byte');
      c.write(pollReq(server, sid));
      assertPollPackets(await c.response(), ['4hello-chunked'], 'keep-alive');
      await assertStillServing(server);
    });

    // ------------------------------------------------ 6. Expect: 100-continue
    spec(`${k} 6. Expect: 100-continue on a POST: "HTTP/1.1 100 Continue" before the body is sent, then ok`, { timeout: 20000 }, async () => {
      const sid = await newSid(server);
      const c = new Conn(server);
      const body = '4continued';
      c.write(req(server, {
        method: 'POST',
        query: { EIO: 4, transport: 'polling', sid },
        headers: ['Content-Type: text/plain;charset=UTF-8', `Content-Length: ${body.length}`, 'Expect: 100-continue'],
      }));
      const cont = await c.response();
      assert.equal(cont.raw.toString('latin1'), 'HTTP/1.1 100 Continue\r\n\r\n');
      c.write(body);
      assertPostOk(await c.response(), 'keep-alive', 'POST after 100 Continue');
      c.write(pollReq(server, sid));
      assertPollPackets(await c.response(), [body], 'keep-alive');
      await assertStillServing(server);
    });

    // ------------------------------------------------ 7. request smuggling
    // Each is followed on the wire by a complete handshake GET: a server that
    // framed the body differently from Node would answer it as a second request.
    // Node's http parser (llhttp, strict) refuses each with NODE_400 and closes.
    const SMUGGLING = [
      ['duplicate Content-Length, same value', ['Content-Length: 3', 'Content-Length: 3'], '4hi'],
      ['duplicate Content-Length, different values', ['Content-Length: 3', 'Content-Length: 80'], '4hi'],
      ['Content-Length: 2e1', ['Content-Length: 2e1'], '4hi'],
      ['Content-Length: 3, 3 (a list)', ['Content-Length: 3, 3'], '4hi'],
      ['Content-Length: +3', ['Content-Length: +3'], '4hi'],
      ['"Content-Length : 3" (space before the colon)', ['Content-Length : 3'], '4hi'],
      ['Transfer-Encoding: chunked with Content-Length', ['Transfer-Encoding: chunked', 'Content-Length: 3'], '0\r\n\r\n'],
      ['Content-Length then Transfer-Encoding: chunked', ['Content-Length: 3', 'Transfer-Encoding: chunked'], '0\r\n\r\n'],
      ['Transfer-Encoding: chunked twice', ['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], '0\r\n\r\n'],
      ['Transfer-Encoding: chunked, gzip (chunked not last)', ['Transfer-Encoding: chunked, gzip'], '0\r\n\r\n'],
    ];
    for (const [name, headers, body] of SMUGGLING) {
      spec(`${k} 7. smuggling: ${name}: "HTTP/1.1 400 Bad Request", Connection: close, closed, nothing smuggled`, { timeout: 20000 }, async () => {
        const sid = await newSid(server);
        const c = new Conn(server);
        c.write(req(server, {
          method: 'POST', query: { EIO: 4, transport: 'polling', sid }, headers: ['Content-Type: text/plain;charset=UTF-8', ...headers], body,
        }) + hsReq(server));
        await assertParserError(c, NODE_400, name);
        await assertStillServing(server);
      });
    }

    spec(`${k} 7. smuggling: bare LF line ends: "HTTP/1.1 400 Bad Request", closed`, { timeout: 20000 }, async () => {
      const c = new Conn(server);
      c.write(`GET ${EIO_PATH}?EIO=4&transport=polling HTTP/1.1\nHost: ${server.host}:${server.port}\n\n`);
      await assertParserError(c, NODE_400, 'bare LF');
      await assertStillServing(server);
    });

    spec(`${k} 7. control: "Content-Length:  3  " (spaces around the value) frames exactly 3 bytes: ok, then the pipelined GET`, { timeout: 20000 }, async () => {
      const sid = await newSid(server);
      const c = new Conn(server);
      c.write(req(server, {
        method: 'POST', query: { EIO: 4, transport: 'polling', sid },
        headers: ['Content-Type: text/plain;charset=UTF-8', 'Content-Length:  3  '], body: '4hi',
      }) + pollReq(server, sid));
      assertPostOk(await c.response(), 'keep-alive');
      assertPollPackets(await c.response(), ['4hi'], 'keep-alive');
      await assertStillServing(server);
    });

    // ------------------------------------------------ 8. header limits
    spec(`${k} 8a. 2,500 short header lines (more than 2,000): Node answers 200 (maxHeadersCount only drops headers past 2,000)`, { timeout: 20000 }, async () => {
      const c = new Conn(server);
      const many = Array.from({ length: 2500 }, (_, i) => `x${i}: v`);
      c.write(hsReq(server, { headers: many }));
      assertHandshake(await c.response(), 'keep-alive', 'handshake with 2,500 headers');
      await assertStillServing(server);
    });

    spec(`${k} 8b. one header making the head 20 KB: "HTTP/1.1 431 Request Header Fields Too Large", Connection: close, closed`, { timeout: 20000 }, async () => {
      const c = new Conn(server);
      c.write(hsReq(server, { headers: [`X-Big: ${'a'.repeat(20000)}`] }));
      await assertParserError(c, NODE_431, '20 KB header');
      await assertStillServing(server);
    });

    spec(`${k} 8c. 9,000 short header lines (about 54 KB): 431, Connection: close, closed`, { timeout: 20000 }, async () => {
      const c = new Conn(server);
      c.write(hsReq(server, { headers: Array.from({ length: 9000 }, () => 'a: b') }));
      await assertParserError(c, NODE_431, '9,000 headers');
      await assertStillServing(server);
    });

    // Node counts the bytes of the URL, the header names and the header values
    // (not the method, the version, ": ", the spaces or the CRLFs) and answers
    // 431 once they reach 16,384 (its default maxHeaderSize).
    const headOfCounted = (counted) => {
      const url = `${EIO_PATH}?EIO=4&transport=polling`;
      const host = `${server.host}:${server.port}`;
      const pad = counted - url.length - 'Host'.length - host.length - 'X-Big'.length;
      return `GET ${url} HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'a'.repeat(pad)}\r\n\r\n`;
    };

    spec(`${k} 8d. head limit: URL + header names + values of 16,383 bytes is answered 200`, { timeout: 20000 }, async () => {
      const c = new Conn(server);
      c.write(headOfCounted(16383));
      assertHandshake(await c.response(), 'keep-alive', '16,383 counted bytes');
      await assertStillServing(server);
    });

    spec(`${k} 8e. head limit: URL + header names + values of 16,384 bytes is refused with 431`, { timeout: 20000 }, async () => {
      const c = new Conn(server);
      c.write(headOfCounted(16384));
      await assertParserError(c, NODE_431, '16,384 counted bytes');
      await assertStillServing(server);
    });

    // ------------------------------------------------ 9. %00 in the query
    spec(`${k} 9a. transport=polling%00: 400 {"code":0,"message":"Transport unknown"}, the connection kept`, { timeout: 20000 }, async () => {
      const c = new Conn(server);
      c.write(req(server, { query: { EIO: 4, transport: 'polling%00' } }));
      assertEioError(await c.response(), 0, 'Transport unknown');
      c.write(hsReq(server));
      assertHandshake(await c.response(), 'keep-alive', 'handshake after the error on the same socket');
      await assertStillServing(server);
    });

    spec(`${k} 9b. sid=<live sid>%00junk: 400 {"code":1,"message":"Session ID unknown"}, the session unharmed`, { timeout: 20000 }, async () => {
      const sid = await newSid(server);
      const c = new Conn(server);
      c.write(pollReq(server, `${sid}%00junk`));
      assertEioError(await c.response(), 1, 'Session ID unknown', 'keep-alive', 'GET');
      c.write(postReq(server, `${sid}%00junk`, '4x'));
      assertEioError(await c.response(), 1, 'Session ID unknown', 'keep-alive', 'POST');
      c.write(postReq(server, sid, '4alive'));
      assertPostOk(await c.response(), 'keep-alive');
      c.write(pollReq(server, sid));
      assertPollPackets(await c.response(), ['4alive'], 'keep-alive');
      await assertStillServing(server);
    });

    spec(`${k} 9c. EIO=4%00 with EIO 3 allowed (eio-echo's default): ${kind.name === 'c' ? '400 code 5, the contract for any EIO but 3 and 4 (raw-http.test.js)' : 'Node takes anything but "4" as protocol 3: a v3 handshake'}`, { timeout: 20000 }, async () => {
      // engine.io: protocol = (req._query.EIO === "4") ? 4 : 3. This server's
      // contract answers code 5 to any EIO but "3" and "4" instead (see the
      // same choice in raw-http.test.js); "4\0" is neither.
      const c = new Conn(server);
      c.write(req(server, { query: { EIO: '4%00', transport: 'polling' } }));
      const res = await c.response();
      if (kind.name === 'c') {
        assertEioError(res, 5, 'Unsupported protocol version');
        await assertStillServing(server);
        return;
      }
      assertResponse(res, { statusLine: OK_HEAD, connection: 'keep-alive', contentType: TEXT, body: /^\d+:0\{/ });
      const colon = res.text.indexOf(':');
      const packet = res.text.slice(colon + 1);
      assert.equal(Number(res.text.slice(0, colon)), packet.length, 'v3 length prefix');
      const open = JSON.parse(packet.slice(1));
      assert.deepEqual({ upgrades: open.upgrades, pingInterval: open.pingInterval, pingTimeout: open.pingTimeout },
        { upgrades: ['websocket'], pingInterval: 25000, pingTimeout: 20000 });
      // A v3 session: v3 framing both ways (EIO=3 from now on).
      const v3 = { EIO: 3, transport: 'polling', sid: open.sid };
      c.write(req(server, { method: 'POST', query: v3, headers: ['Content-Type: text/plain;charset=UTF-8', 'Content-Length: 6'], body: '4:4abc' }));
      assertPostOk(await c.response(), 'keep-alive');
      c.write(req(server, { query: v3 }));
      assertResponse(await c.response(), { statusLine: OK_HEAD, connection: 'keep-alive', contentType: TEXT, body: '4:4abc' });
      await assertStillServing(server);
    });

    spec(`${k} 9d. EIO=4%00 with --no-eio3: 400 {"code":5,"message":"Unsupported protocol version"}`, { timeout: 20000 }, async () => {
      const s3 = await kind.start(['--no-eio3']);
      try {
        const c = new Conn(s3);
        c.write(req(s3, { query: { EIO: '4%00', transport: 'polling' } }));
        assertEioError(await c.response(), 5, 'Unsupported protocol version');
        c.destroy();
        await assertStillServing(s3);
      } finally {
        await stopAndCheckAs(s3, `${kind.name} --no-eio3`);
      }
    });

    // ------------------------------------------------ 10. close-me while a GET waits
    spec(`${k} 10. session closed by the server while a GET waits: the GET gets "1" (close), the POST ok, the next GET code 1`, { timeout: 20000 }, async () => {
      // The issue said Node answers the waiting GET with "6" (noop) and sends
      // the close on the next poll; Node does not: socket.close() finds the
      // poll writable and answers it with the close packet "1" right away.
      const sid = await newSid(server);
      const g = new Conn(server);
      g.write(pollReq(server, sid));
      await g.silence(200, 'the GET must wait');
      const p = new Conn(server);
      p.write(postReq(server, sid, '4close-me'));
      assertPostOk(await p.response(), 'keep-alive', 'the close-me POST');
      assertPollPackets(await g.response(), ['1'], 'keep-alive', 'the waiting GET');
      g.write(pollReq(server, sid));
      assertEioError(await g.response(), 1, 'Session ID unknown', 'keep-alive', 'the next GET');
      await assertStillServing(server);
    });

    // ------------------------------------------------ 11. idle connections
    spec(`${k} 11. ${IDLE_COUNT} idle connections with half a request line${IDLE_SCALED}: 20 new handshakes each within 2000 ms`,
      { timeout: (kind.name === 'c' ? 15000 : 20000) * SLOW }, async () => {
        const LIMIT = 2000;
        // Every wait is bounded so that the test ends by itself, cleanup
        // included, inside its timeout (the [c] one is a hard 15 s).
        const OPEN_BUDGET = 4000 * SLOW;
        const GIVE_UP = kind.name === 'c' ? 7000 : 10000;
        const idle = [];
        let connected = 0;
        try {
          const t0 = Date.now();
          for (let i = 0; i < IDLE_COUNT && Date.now() - t0 < OPEN_BUDGET; i += 100) { // batches: no SYN backlog overflow
            const batch = [];
            for (let j = i; j < Math.min(IDLE_COUNT, i + 100); j++) {
              const c = new Conn(server);
              idle.push(c);
              batch.push(c.connected.then(() => { connected++; c.write(`GET ${EIO_PATH}?EIO=4&tra`); }));
            }
            await Promise.race([Promise.all(batch), sleep(Math.max(100, OPEN_BUDGET - (Date.now() - t0)))]);
          }
          assert.equal(connected, IDLE_COUNT, `only ${connected} of ${IDLE_COUNT} idle connections could connect within ${OPEN_BUDGET} ms`);
          const dead = idle.filter((c) => c.eof).length;
          assert.equal(dead, 0, `${dead} of the idle connections were closed by the server`);
          await sleep(200);
          const times = await Promise.all(Array.from({ length: 20 }, async () => {
            const t0 = Date.now();
            const c = new Conn(server);
            c.write(hsReq(server, { headers: ['Connection: close'] }));
            try {
              const res = await c.response({ timeout: GIVE_UP });
              assertHandshake(res, 'close');
              return Date.now() - t0;
            } catch (err) {
              return `${Date.now() - t0} ms: ${err.message.slice(0, 120)}`;
            } finally {
              c.destroy();
            }
          }));
          const slow = times.filter((t) => typeof t !== 'number' || t > LIMIT);
          assert.deepEqual(slow, [], `handshake times (ms) with ${IDLE_COUNT} idle connections open: ${JSON.stringify(times)}`);
          const stillOpen = idle.filter((c) => !c.eof).length;
          assert.equal(stillOpen, IDLE_COUNT, 'the idle connections stay open (Node\'s headersTimeout is 60 s)');
        } finally {
          for (const c of idle) c.destroy();
        }
        await assertStillServing(server);
      });

    // ------------------------------------------------ 12. IPv6
    spec(`${k} 12. IPv6: a polling handshake to [::1] (the server listens on every address)`, {
      timeout: 20000, skip: HAS_V6_LOOPBACK ? false : 'no IPv6 loopback (::1) on this machine',
    }, async () => {
      const c = new Conn(server, { host: '::1' });
      c.write(hsReq(server, { host: false, headers: [`Host: [::1]:${server.port}`, 'Connection: close'] }));
      const sid = assertHandshake(await c.response(), 'close');
      await c.closedByPeer();
      const c2 = new Conn(server, { host: '::1' });
      c2.write(postReq(server, sid, '4v6', { host: false, headers: [`Host: [::1]:${server.port}`] }) + pollReq(server, sid, { host: false, headers: [`Host: [::1]:${server.port}`] }));
      assertPostOk(await c2.response(), 'keep-alive');
      assertPollPackets(await c2.response(), ['4v6'], 'keep-alive');
      await assertStillServing(server);
    });

    // ------------------------------------------------ 13. maxHttpBufferSize
    spec(`${k} 13a. POST of 1e6 + 1 bytes (over maxHttpBufferSize) with Content-Length: no answer to the head alone, 413 once the body passes the limit, closed, session closed`, { timeout: 20000 }, async () => {
      // Node's polling transport counts the body bytes as they arrive (the
      // Content-Length header is not looked at) and answers once they pass
      // 1e6: "HTTP/1.1 413 Payload Too Large" with Connection: keep-alive and
      // an empty chunked body (writeHead(413).end()), then destroys the
      // socket and closes the session ("payload too large").
      const sid = await newSid(server);
      const c = new Conn(server);
      const body = `4${'x'.repeat(1e6)}`;
      c.write(req(server, {
        method: 'POST', query: { EIO: 4, transport: 'polling', sid },
        headers: ['Content-Type: text/plain;charset=UTF-8', `Content-Length: ${body.length}`],
      }));
      await c.silence(300, 'Node does not answer the head of a too large POST before the body passed the limit');
      c.write(body);
      const res = await c.response();
      assert.equal(res.statusLine, 'HTTP/1.1 413 Payload Too Large');
      assert.equal(res.body.length, 0);
      await c.closedByPeer();
      assert.equal(c.buf.length, 0, 'nothing after the 413');
      const g = new Conn(server);
      g.write(pollReq(server, sid));
      assertEioError(await g.response(), 1, 'Session ID unknown', 'keep-alive', 'GET on the session after the 413');
      // Node's exact framing of that 413 (it says keep-alive and closes anyway).
      exact('the 413 (Date aside)', () => assert.equal(withoutDate(res.raw),
        'HTTP/1.1 413 Payload Too Large\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'));
      await assertStillServing(server);
    });

    spec(`${k} 13b. POST of exactly maxHttpBufferSize (1e6 bytes): ok, the 1e6-byte echo on the next GET`, { timeout: 20000 }, async () => {
      const sid = await newSid(server);
      const c = new Conn(server);
      const body = `4${'y'.repeat(1e6 - 1)}`;
      c.write(postReq(server, sid, body));
      assertPostOk(await c.response(), 'keep-alive');
      c.write(pollReq(server, sid));
      const res = await c.response();
      assertResponse(res, { statusLine: OK_HEAD, connection: 'keep-alive', contentType: TEXT });
      assert.equal(res.text === body, true, `echo of ${res.body.length} bytes differs from the ${body.length} sent`);
      await assertStillServing(server);
    });

    // ------------------------------------------------ extras
    spec(`${k} 14. HTTP/1.1 request without Host: "HTTP/1.1 400 Bad Request", Connection: close, closed (Node's requireHostHeader)`, { timeout: 20000 }, async () => {
      const c = new Conn(server);
      c.write(hsReq(server, { host: false }));
      const res = await c.response();
      assert.equal(res.statusLine, 'HTTP/1.1 400 Bad Request', JSON.stringify(res.raw.toString('latin1')));
      assert.equal(res.headers.connection, 'close');
      await c.closedByPeer();
      assert.equal(c.buf.length, 0);
      // Node's exact bytes but the Date: an empty chunked body.
      exact('the 400 (Date aside)', () => assert.equal(withoutDate(res.raw),
        'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'));
      await assertStillServing(server);
    });

    spec(`${k} 15. an engine.io error to a POST with a body (unknown sid) keeps the connection: the next request on it is answered`, { timeout: 20000 }, async () => {
      const c = new Conn(server);
      c.write(postReq(server, 'no-such-sid', '4lost') + hsReq(server));
      assertEioError(await c.response(), 1, 'Session ID unknown', 'keep-alive', 'POST to an unknown sid');
      assertHandshake(await c.response(), 'keep-alive', 'the pipelined handshake after it');
      await assertStillServing(server);
    });
  });
}
