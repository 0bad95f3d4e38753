'use strict';
// WebSocket helpers: a hand-made client over net.Socket that can send frames
// no library would (bad bits, unmasked, huge declared lengths), and a thin
// Engine.IO-over-WebSocket client on top of the `ws` package. In TLS mode
// (E2E_TLS=1, lib/tls.js) the hand-made client runs over tls.connect and the
// `ws` one over wss://, both verifying the certificate.

const { rawSocket } = require('./tls');
const crypto = require('node:crypto');
const assert = require('node:assert/strict');
const WebSocket = require('ws');

const SLOW = Number(process.env.EIO_SLOW || ((process.env.EIO_ECHO || '').includes('asan') ? 2 : 1));

function qs(query) {
  return Object.entries(query)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

/**
 * Builds one WebSocket frame. `declaredLength` overrides the length field
 * (the payload actually sent stays `payload`).
 */
function frame({ opcode = 1, payload = Buffer.alloc(0), fin = true, rsv = 0, mask = true, declaredLength } = {}) {
  if (!Buffer.isBuffer(payload)) payload = Buffer.from(payload, 'utf8');
  const len = declaredLength === undefined ? BigInt(payload.length) : BigInt(declaredLength);
  const head = [((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f))];
  const maskBit = mask ? 0x80 : 0;
  let ext;
  if (len < 126n) {
    head.push(maskBit | Number(len));
    ext = Buffer.alloc(0);
  } else if (len < 65536n) {
    head.push(maskBit | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(Number(len));
  } else {
    head.push(maskBit | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(len);
  }
  let body = payload;
  let key = Buffer.alloc(0);
  if (mask) {
    key = crypto.randomBytes(4);
    body = Buffer.from(payload);
    for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  }
  return Buffer.concat([Buffer.from(head), ext, key, body]);
}

/**
 * Raw WebSocket connection: does the HTTP upgrade by hand and then parses the
 * server's frames. Resolves once the response head (and, for a non-101
 * answer, its body) arrived: { status, statusLine, headers, body, ... }.
 */
function rawConnect(server, { query = { EIO: 4, transport: 'websocket' }, headers = {}, omit = [], path } = {}) {
  return new Promise((resolve, reject) => {
    const sock = rawSocket(server);
    const key = crypto.randomBytes(16).toString('base64');
    const hdrs = {
      Host: `${server.host}:${server.port}`,
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Key': key,
      'Sec-WebSocket-Version': '13',
      ...headers,
    };
    for (const h of omit) delete hdrs[h];
    const reqPath = path || `${server.path}?${qs(query)}`;
    let head = `GET ${reqPath} HTTP/1.1\r\n`;
    for (const [k, v] of Object.entries(hdrs)) head += `${k}: ${v}\r\n`;
    head += '\r\n';

    const conn = {
      sock,
      key,
      status: 0,
      statusLine: '',
      headers: {},
      body: Buffer.alloc(0),
      buf: Buffer.alloc(0),
      ended: false,
      frames: [],
      waiters: [],
      send(buf) {
        if (!sock.destroyed) sock.write(buf);
      },
      sendText(str, opts = {}) {
        this.send(frame({ ...opts, opcode: 1, payload: Buffer.from(str, 'utf8') }));
      },
      sendBinary(b, opts = {}) {
        this.send(frame({ ...opts, opcode: 2, payload: b }));
      },
      close() {
        sock.destroy();
      },
      /** Next frame from the server, or { end: true } once the TCP stream ended. */
      nextFrame(timeout = 3000 * SLOW) {
        if (this.frames.length) return Promise.resolve(this.frames.shift());
        if (this.ended) return Promise.resolve({ end: true });
        return new Promise((res, rej) => {
          const w = { res, timer: null };
          w.timer = setTimeout(() => {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            rej(new Error(`no WebSocket frame within ${timeout} ms`));
          }, timeout);
          this.waiters.push(w);
        });
      },
      /** Next text or binary message (unfragmented), failing on anything else. */
      async nextMessage(timeout) {
        const f = await this.nextFrame(timeout);
        assert.ok(!f.end, 'connection ended while waiting for a message');
        assert.ok(f.opcode === 1 || f.opcode === 2, `expected a data frame, got opcode ${f.opcode}`);
        assert.ok(f.fin, 'server sent a fragmented message');
        return f.opcode === 1 ? f.payload.toString('utf8') : f.payload;
      },
      /**
       * Waits for the server to close: resolves { code, data } for a close frame
       * (code null when it carries none) or { end: true } when the TCP stream
       * ended without one. Data frames on the way are collected in `data`.
       */
      async waitClose(timeout = 3000 * SLOW) {
        const deadline = Date.now() + timeout;
        const data = [];
        for (;;) {
          const left = deadline - Date.now();
          if (left <= 0) throw new Error(`server did not close within ${timeout} ms (got ${data.length} data frames)`);
          const f = await this.nextFrame(left);
          if (f.end) return { end: true, data };
          if (f.opcode === 8) {
            const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null;
            return { code, reason: f.payload.subarray(2).toString('utf8'), data };
          }
          if (f.opcode === 1 || f.opcode === 2) data.push(f.opcode === 1 ? f.payload.toString('utf8') : f.payload);
        }
      },
    };

    let gotHead = false;
    let bodyLeft = 0;
    const pushFrame = (f) => {
      const w = conn.waiters.shift();
      if (w) {
        clearTimeout(w.timer);
        w.res(f);
      } else {
        conn.frames.push(f);
      }
    };
    const parseFrames = () => {
      for (;;) {
        const b = conn.buf;
        if (b.length < 2) return;
        const fin = (b[0] & 0x80) !== 0;
        const rsv = (b[0] >> 4) & 7;
        const opcode = b[0] & 0x0f;
        const masked = (b[1] & 0x80) !== 0;
        let len = b[1] & 0x7f;
        let off = 2;
        if (len === 126) {
          if (b.length < 4) return;
          len = b.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          if (b.length < 10) return;
          len = Number(b.readBigUInt64BE(2));
          off = 10;
        }
        if (masked) off += 4;
        if (b.length < off + len) return;
        let payload = Buffer.from(b.subarray(off, off + len));
        if (masked) {
          const k = b.subarray(off - 4, off);
          for (let i = 0; i < payload.length; i++) payload[i] ^= k[i & 3];
        }
        conn.buf = b.subarray(off + len);
        pushFrame({ fin, rsv, opcode, masked, payload });
      }
    };
    const finish = () => {
      if (!gotHead) return;
      resolve(conn);
    };

    sock.on('data', (d) => {
      conn.buf = Buffer.concat([conn.buf, d]);
      if (!gotHead) {
        const idx = conn.buf.indexOf('\r\n\r\n');
        if (idx < 0) return;
        const lines = conn.buf.subarray(0, idx).toString('latin1').split('\r\n');
        conn.statusLine = lines[0];
        conn.status = Number(lines[0].split(' ')[1]);
        for (const l of lines.slice(1)) {
          const c = l.indexOf(':');
          if (c > 0) conn.headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
        }
        conn.buf = conn.buf.subarray(idx + 4);
        gotHead = true;
        if (conn.status !== 101) {
          bodyLeft = Number(conn.headers['content-length'] || 0);
          if (conn.buf.length >= bodyLeft) {
            conn.body = conn.buf.subarray(0, bodyLeft);
            return finish();
          }
          return; // wait for the body or the end
        }
        finish();
      }
      if (conn.status === 101) {
        parseFrames();
      } else if (conn.buf.length >= bodyLeft) {
        conn.body = conn.buf.subarray(0, bodyLeft);
        finish();
      }
    });
    const onEnd = () => {
      conn.ended = true;
      if (!gotHead) {
        const why = conn.error ? ` (${conn.error.code || conn.error.message})` : '';
        reject(new Error(`connection closed without an HTTP response head to the upgrade${why}; got ${JSON.stringify(conn.buf.toString('latin1'))}`));
        return;
      }
      if (conn.status !== 101) {
        conn.body = conn.buf;
        finish();
      }
      for (const w of conn.waiters.splice(0)) {
        clearTimeout(w.timer);
        w.res({ end: true });
      }
    };
    sock.on('end', onEnd);
    sock.on('close', onEnd);
    sock.on('error', (e) => { conn.error = e; }); // a reset shows up as 'close'
    sock.setTimeout(15000 * SLOW, () => sock.destroy());
    sock.write(head);
  });
}

/** Raw upgrade that must succeed; returns the connection and the parsed open packet. */
async function rawOpen(server, eio = 4) {
  const conn = await rawConnect(server, { query: { EIO: eio, transport: 'websocket' } });
  assert.equal(conn.status, 101, `upgrade answered ${conn.statusLine}`);
  const expectAccept = crypto.createHash('sha1').update(conn.key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  assert.equal(conn.headers['sec-websocket-accept'], expectAccept);
  const first = await conn.nextMessage();
  assert.equal(typeof first, 'string');
  assert.equal(first[0], '0', `first message is not an open packet: ${first}`);
  return { conn, open: JSON.parse(first.slice(1)) };
}

/**
 * Engine.IO over the `ws` package. Resolves { ws, open, next(), send() } once
 * the open packet arrived; next() resolves the following message (string or
 * Buffer). `sid` upgrades an existing session (no open packet expected then).
 */
function wsClient(server, { eio = 4, sid, query = {} } = {}) {
  return new Promise((resolve, reject) => {
    const url = `${server.wsUrl}${server.path}?${qs({ EIO: eio, transport: 'websocket', sid, ...query })}`;
    const ws = new WebSocket(url);
    const queue = [];
    const waiters = [];
    let closed = null;
    const c = {
      ws,
      open: null,
      get closed() { return closed; },
      send: (d) => ws.send(d),
      next(timeout = 3000 * SLOW) {
        if (queue.length) return Promise.resolve(queue.shift());
        if (closed) return Promise.reject(new Error(`WebSocket closed (${closed.code}) while waiting for a message`));
        return new Promise((res, rej) => {
          const w = { res, rej };
          w.timer = setTimeout(() => {
            waiters.splice(waiters.indexOf(w), 1);
            rej(new Error(`no WebSocket message within ${timeout} ms`));
          }, timeout);
          waiters.push(w);
        });
      },
      waitClose(timeout = 3000 * SLOW) {
        if (closed) return Promise.resolve(closed);
        return new Promise((res, rej) => {
          const t = setTimeout(() => rej(new Error(`WebSocket not closed within ${timeout} ms`)), timeout);
          ws.once('close', (code) => {
            clearTimeout(t);
            res({ code });
          });
        });
      },
    };
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data, isBinary) => {
      const msg = isBinary ? Buffer.from(data) : data.toString('utf8');
      if (!c.open && !sid) {
        if (typeof msg !== 'string' || msg[0] !== '0') {
          reject(new Error(`first WebSocket message is not an open packet: ${msg}`));
          return;
        }
        c.open = JSON.parse(msg.slice(1));
        resolve(c);
        return;
      }
      const w = waiters.shift();
      if (w) {
        clearTimeout(w.timer);
        w.res(msg);
      } else {
        queue.push(msg);
      }
    });
    ws.on('open', () => {
      if (sid) resolve(c);
    });
    ws.on('error', (err) => {
      if (!c.open && !(sid && ws.readyState === WebSocket.OPEN)) reject(err);
    });
    ws.on('close', (code) => {
      closed = { code };
      for (const w of waiters.splice(0)) {
        clearTimeout(w.timer);
        w.rej(new Error(`WebSocket closed (${code}) while waiting for a message`));
      }
    });
  });
}

/** A fresh WebSocket session echoes `msg` (an Engine.IO v4 packet), then closes. */
async function wsEcho(server, msg) {
  const c = await wsClient(server);
  try {
    c.send(msg);
    assert.equal(await c.next(), msg);
  } finally {
    c.ws.terminate();
  }
}

module.exports = { frame, rawConnect, rawOpen, wsClient, wsEcho, WebSocket };
