'use strict';
// httpCompression: long-polling GET answers compressed as engine.io 6.6's
// polling transport compresses them (gzip or deflate by Accept-Encoding, from
// 1024 bytes of payload on, Content-Encoding with chunked framing, no Vary).
// Raw checks run against build/eio-echo ([c]) and the Node reference,
// engine.io on http.createServer with the same options
// (fixtures/node-eio-echo.js, [node]): the same status and header lines
// (Date aside; names compared in lower case, Node writing "cache-control"),
// bodies compared decoded (the compressed bytes may differ: Node bundles its
// own zlib). Then real clients, engine.io-client 6 and socket.io-client 4
// with their fetch() transport (Node's fetch asks for "gzip, deflate" and
// inflates; the XMLHttpRequest transport sends no Accept-Encoding), carry
// large messages through compressed polls, against eio-echo and sio-echo,
// with the option on and off.
//
// In TLS mode (E2E_TLS=1) the same runs over HTTPS.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { stopAndCheckAs, handshake, post, SEP, SLOW } = require('./lib/server');
const { startSio } = require('./lib/sio');
const { rawRequest, decoded, headerLines } = require('./lib/rawhttp');

const { EIO_KINDS: KINDS, useEioPair: usePair } = require('./lib/eiopair');

/** n bytes of chat-like text (ASCII), the same every run. */
function text(n) {
  const words = ['hello', 'socket', 'engine', 'polling', 'payload', 'message', 'room', 'chat', 'gzip', 'deflate'];
  let s = '';
  let x = 12345;
  while (s.length < n) {
    x = (x * 1103515245 + 12345) % 2147483648;
    s += `${words[x % words.length]}${x % 7 === 0 ? '.\n' : ' '}`;
  }
  return s.slice(0, n);
}

/**
 * Opens a v`eio` session on server, has the echo queue `message` (sent in a
 * POST) and answers the GET sent with these headers: the raw response.
 */
async function echoGet(server, message, headerLines_ = [], { eio = 4, version = '1.1', waitClose = false } = {}) {
  const { sid } = await handshake(server, eio);
  const body = eio === 4 ? `4${message}` : `${message.length + 1}:4${message}`;
  const p = await post(server, eio, sid, body);
  assert.equal(p.status, 200, `POST: ${p.text}`);
  const host = version === '1.1' ? ['Host: 127.0.0.1'] : [];
  const lines = [...host, ...headerLines_].map((h) => `${h}\r\n`).join('');
  return rawRequest(server, `GET ${server.path}?EIO=${eio}&transport=polling&sid=${sid} HTTP/${version}\r\n${lines}\r\n`,
    { waitClose });
}

/** The same echo GET to both; asserts equal status and header lines; returns {c, node}. */
async function both(pair, message, headerLines_, opts) {
  const c = await echoGet(pair.c, message, headerLines_, opts);
  const node = await echoGet(pair.node, message, headerLines_, opts);
  assert.equal(c.status, node.status);
  assert.deepEqual(headerLines(c, { lowerNames: true }), headerLines(node, { lowerNames: true }),
    `header lines for ${message.length} bytes with ${JSON.stringify(headerLines_)}`);
  return { c, node };
}

describe('httpCompression: polling GET answers, as engine.io compresses them', { timeout: 90000 * SLOW }, () => {
  const pair = usePair();

  test('gzip above the threshold: Content-Encoding, chunked, no Vary; decodes to the payload', async (t) => {
    const sizes = [];
    for (const n of [2000, 100000, 900000]) {
      const msg = text(n);
      const { c, node } = await both(pair, msg, ['Accept-Encoding: gzip, deflate']);
      assert.equal(c.status, 200);
      assert.equal(c.headers['content-encoding'], 'gzip');
      assert.equal(c.headers['content-length'], undefined);
      assert.equal(c.chunked, true, 'chunked, as Node pipes the zlib stream');
      assert.equal(c.headers.vary, undefined, 'engine.io sets no Vary');
      assert.equal(c.headers['content-type'], 'text/plain; charset=UTF-8');
      assert.equal(decoded(c).toString(), `4${msg}`);
      assert.equal(decoded(node).toString(), `4${msg}`);
      assert.ok(c.body.length < n / 2);
      sizes.push(`${n + 1} bytes -> gzip ${c.body.length} (node ${node.body.length})`);
    }
    const { c, node } = await both(pair, text(100000), ['Accept-Encoding: deflate']);
    assert.equal(c.headers['content-encoding'], 'deflate');
    assert.equal(decoded(c).toString(), `4${text(100000)}`);
    sizes.push(`100001 bytes -> deflate ${c.body.length} (node ${node.body.length})`);
    t.diagnostic(`compressed payloads, C (Node): ${sizes.join('; ')}`);
  });

  test('the coding is Accept-Encoding\'s choice among gzip and deflate, as Node\'s accepts makes it', async () => {
    const cases = [
      ['deflate, gzip', 'deflate'],
      ['gzip;q=0.5, deflate', 'deflate'],
      ['br, gzip', 'gzip'],
      ['*', 'gzip'],
      ['br', undefined],
      ['identity', undefined],
      ['gzip;q=0', undefined],
      ['zstd, br;q=0.9', undefined],
    ];
    for (const [ae, want] of cases) {
      const { c } = await both(pair, text(3000), [`Accept-Encoding: ${ae}`]);
      assert.equal(c.headers['content-encoding'], want, ae);
      assert.equal(decoded(c).toString(), `4${text(3000)}`, ae);
      if (!want) assert.equal(c.headers['content-length'], '3001', ae);
    }
    // No Accept-Encoding at all: as it is.
    const { c } = await both(pair, text(3000), []);
    assert.equal(c.headers['content-encoding'], undefined);
    assert.equal(c.headers['content-length'], '3001');
  });

  test('the threshold: 1024 bytes of payload compressed, 1023 not', async () => {
    const at = await both(pair, text(1023), ['Accept-Encoding: gzip']);
    assert.equal(at.c.headers['content-encoding'], 'gzip', '1024 bytes: compressed');
    const below = await both(pair, text(1022), ['Accept-Encoding: gzip']);
    assert.equal(below.c.headers['content-encoding'], undefined, '1023 bytes: not compressed');
    assert.equal(below.c.headers['content-length'], '1023');
    const small = await both(pair, 'hi', ['Accept-Encoding: gzip']);
    assert.equal(small.c.body.toString(), '4hi');
    // The handshake's answer is a payload too, far below the threshold.
    const hs = await rawRequest(pair.c, 'GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n');
    assert.equal(hs.headers['content-encoding'], undefined);
  });

  test('protocol v3 payloads, and HTTP/1.0 (unframed, then the close), as Node', async () => {
    const v3 = await both(pair, text(5000), ['Accept-Encoding: gzip'], { eio: 3 });
    assert.equal(v3.c.headers['content-encoding'], 'gzip');
    assert.equal(decoded(v3.c).toString(), `5001:4${text(5000)}`);
    const old = await both(pair, text(5000), ['Accept-Encoding: gzip', 'Connection: keep-alive'], { version: '1.0', waitClose: true });
    assert.equal(old.c.headers['content-encoding'], 'gzip');
    assert.equal(old.c.headers.connection, 'close');
    assert.equal(old.c.headers['transfer-encoding'], undefined);
    assert.ok(old.c.closed && old.node.closed);
    assert.equal(decoded(old.c).toString(), `4${text(5000)}`);
  });

  test('several queued packets count together', async () => {
    for (const server of [pair.c, pair.node]) {
      const { sid } = await handshake(server, 4);
      const parts = [text(400), text(400), text(400)];
      await post(server, 4, sid, parts.map((p) => `4${p}`).join(SEP));
      const res = await rawRequest(server, `GET /engine.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n`);
      assert.equal(res.headers['content-encoding'], 'gzip', server.name || 'server');
      assert.deepEqual(decoded(res).toString().split(SEP), parts.map((p) => `4${p}`));
    }
  });
});

describe('--no-http-compression: never compressed, as Node with httpCompression: false', { timeout: 60000 * SLOW }, () => {
  const pair = usePair(['--no-http-compression']);

  test('a large payload to a client asking for gzip goes as it is', async () => {
    const { c } = await both(pair, text(100000), ['Accept-Encoding: gzip, deflate']);
    assert.equal(c.headers['content-encoding'], undefined);
    assert.equal(c.headers['content-length'], '100001');
    assert.equal(c.body.toString(), `4${text(100000)}`);
  });
});

// ---------------------------------------------------------------- real clients

/** Wraps global fetch (the clients' Fetch transport calls it) to record each poll's Content-Encoding. */
function recordFetch() {
  const real = globalThis.fetch;
  const seen = [];
  globalThis.fetch = async (url, init) => {
    const res = await real(url, init);
    if (!init || init.method === 'GET') seen.push(res.headers.get('content-encoding'));
    return res;
  };
  return { seen, restore: () => { globalThis.fetch = real; } };
}

function withTimeout(p, ms, what) {
  let t;
  const late = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(t));
}

/** engine.io-client over its fetch() polling transport: the echoes of `messages`, in order. */
async function eioEcho(server, messages) {
  const { Socket, Fetch } = require('engine.io-client');
  const socket = new Socket(server.httpUrl, { path: server.path, transports: [Fetch], upgrade: false });
  try {
    return await withTimeout(new Promise((resolve, reject) => {
      const got = [];
      socket.on('error', reject);
      socket.on('close', (reason) => reject(new Error(`closed: ${reason}`)));
      socket.on('open', () => messages.forEach((m) => socket.send(m)));
      socket.on('message', (m) => {
        got.push(m);
        if (got.length === messages.length) resolve({ got, transport: socket.transport.name });
      });
    }), 15000 * SLOW, 'engine.io-client echo');
  } finally {
    socket.removeAllListeners('close');
    socket.close();
  }
}

describe('real clients through compressed polls', { timeout: 120000 * SLOW }, () => {
  let record;
  before(() => { record = recordFetch(); });
  after(() => record.restore());

  for (const kind of ['c', 'node']) {
    test(`[${kind}] engine.io-client 6 (fetch polling): 300 KB text and 100 KB binary echoed intact`, async () => {
      const server = await KINDS[kind]();
      try {
        record.seen.length = 0;
        const big = `${text(300000)}\u00e9\u{1F600}`;
        const bin = Buffer.from(Array.from({ length: 100000 }, (_, i) => (i * 7919) % 256));
        const { got, transport } = await eioEcho(server, [big, bin, 'small']);
        assert.equal(transport, 'polling');
        assert.equal(got[0], big);
        assert.ok(Buffer.from(got[1]).equals(bin), 'binary intact');
        assert.equal(got[2], 'small');
        assert.ok(record.seen.includes('gzip'), `a gzip poll among ${JSON.stringify(record.seen)}`);
      } finally {
        await stopAndCheckAs(server, kind === 'c' ? 'eio-echo' : 'node-eio-echo');
      }
    });
  }

  for (const args of [[], ['--no-http-compression']]) {
    test(`socket.io-client 4 (fetch polling) with sio-echo ${args.join(' ') || '(default)'}: large event arguments intact`, async () => {
      const { io } = require('socket.io-client');
      const { Fetch } = require('engine.io-client');
      const server = await startSio('sio-echo', args);
      const socket = io(server.httpUrl, { path: '/socket.io', transports: [Fetch], reconnection: false, forceNew: true });
      try {
        record.seen.length = 0;
        const big = text(250000);
        const bin = Buffer.alloc(60000, 0x5a);
        const back = await withTimeout(new Promise((resolve, reject) => {
          socket.on('connect_error', reject);
          socket.on('connect', () => socket.emit('message', big, bin, { n: 1 }));
          socket.on('message-back', (...a) => resolve(a));
        }), 15000 * SLOW, 'message-back');
        assert.equal(back[0], big);
        assert.ok(Buffer.from(back[1]).equals(bin));
        assert.deepEqual(back[2], { n: 1 });
        assert.equal(socket.io.engine.transport.name, 'polling');
        if (args.length) assert.ok(!record.seen.some(Boolean), `no compressed poll: ${JSON.stringify(record.seen)}`);
        else assert.ok(record.seen.includes('gzip'), `a gzip poll among ${JSON.stringify(record.seen)}`);
      } finally {
        socket.disconnect();
        await stopAndCheckAs(server, 'sio-echo');
      }
    });
  }
});
