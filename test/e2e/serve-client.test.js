'use strict';
// serveClient: build/sio-echo serves the socket.io-client bundle under its
// path as Node's socket.io 4.8 serve() does. Every raw check runs against
// the C server ([c]) and against the Node reference, socket.io on
// http.createServer with the same options (fixtures/node-sio-echo.js,
// [node]), and the two answers must have the same status and the same header
// lines (Date aside; compressed bytes may differ, Node bundling its own zlib
// and brotli, so bodies are compared decoded, with the npm file). Then a real
// page in Chromium loads /socket.io/socket.io.js from the C server, connects
// with it and exchanges events; a reload revalidates the bundle with
// If-None-Match (304).
//
// In TLS mode (E2E_TLS=1) the same runs over HTTPS.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startBinary, stopAndCheckAs, request, assertEioError } = require('./lib/server');
const { startSio, SLOW } = require('./lib/sio');
const { rawRequest, decoded, headerLines } = require('./lib/rawhttp');

const NODE_FIXTURE = path.join(__dirname, 'fixtures', 'node-sio-echo.js');
try {
  fs.accessSync(NODE_FIXTURE, fs.constants.X_OK);
} catch {
  fs.chmodSync(NODE_FIXTURE, 0o755);
}
const CLIENT_DIST = path.join(__dirname, 'node_modules', 'socket.io-client', 'dist');
const VERSION = require('socket.io-client/package.json').version;
const FILES = [
  'socket.io.js', 'socket.io.min.js', 'socket.io.msgpack.min.js', 'socket.io.esm.min.js',
  'socket.io.js.map', 'socket.io.min.js.map', 'socket.io.msgpack.min.js.map', 'socket.io.esm.min.js.map',
];
const npmFile = (name) => fs.readFileSync(path.join(CLIENT_DIST, name));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const KINDS = {
  c: (args = []) => startSio('sio-echo', args),
  node: (args = []) => startBinary(NODE_FIXTURE, args, {
    readyTimeout: 10000 * SLOW, label: 'node-sio-echo', path: '/socket.io/', slow: SLOW, fields: { name: 'node-sio-echo' },
  }),
};

/** A raw request for path with the given header lines (HTTP/1.1 unless version says). */
function req(method, p, headers = [], version = '1.1') {
  const host = version === '1.1' ? ['Host: 127.0.0.1'] : [];
  return `${method} ${p} HTTP/${version}\r\n${[...host, ...headers].map((h) => `${h}\r\n`).join('')}\r\n`;
}

/** Starts [c] and [node] with the same flags; stops both (clean exit) at the end of the suite. */
function usePair(args = []) {
  const pair = {};
  before(async () => {
    pair.c = await KINDS.c(args);
    pair.node = await KINDS.node(args);
  });
  after(async () => {
    if (pair.c) await stopAndCheckAs(pair.c, 'sio-echo');
    if (pair.node) await stopAndCheckAs(pair.node, 'node-sio-echo');
  });
  return pair;
}

/** The same raw request to both; asserts equal status and header lines; returns {c, node}. */
async function both(pair, request_, opts = {}) {
  const c = await rawRequest(pair.c, request_, opts);
  const node = await rawRequest(pair.node, request_, opts);
  assert.equal(c.status, node.status, `status, [c] ${c.statusLine} vs [node] ${node.statusLine}`);
  assert.deepEqual(headerLines(c), headerLines(node), `header lines of ${JSON.stringify(request_.split('\r\n')[0])}`);
  return { c, node };
}

describe('serveClient: the bundle as Node serves it', { timeout: 120000 * SLOW }, () => {
  const pair = usePair();

  test('GET socket.io.js: 200, Node\'s headers, the npm file byte for byte', async () => {
    const { c } = await both(pair, req('GET', '/socket.io/socket.io.js'));
    assert.equal(c.status, 200);
    assert.deepEqual(headerLines(c), [
      'Cache-Control: public, max-age=0',
      'Connection: keep-alive',
      'Content-Type: application/javascript; charset=utf-8',
      `ETag: "${VERSION}"`,
      'Keep-Alive: timeout=5',
      'Transfer-Encoding: chunked',
    ]);
    assert.ok(c.body.equals(npmFile('socket.io.js')), 'the body is node_modules/socket.io-client/dist/socket.io.js');
  });

  test('every file in every coding: decodes to the npm file; sizes', async (t) => {
    const sizes = [];
    for (const name of FILES) {
      const raw = npmFile(name);
      const row = [name, raw.length];
      for (const coding of ['br', 'gzip', 'deflate']) {
        const { c, node } = await both(pair, req('GET', `/socket.io/${name}`, [`Accept-Encoding: ${coding}`]));
        assert.equal(c.status, 200, name);
        assert.equal(c.headers['content-encoding'], coding, `${name} ${coding}`);
        assert.equal(c.headers['content-type'],
          `application/${name.endsWith('.map') ? 'json' : 'javascript'}; charset=utf-8`, name);
        assert.ok(decoded(c).equals(raw), `${name} in ${coding} decodes to the npm file`);
        assert.ok(decoded(node).equals(raw), `[node] ${name} in ${coding}`);
        assert.ok(c.body.length < raw.length / 2, `${name} in ${coding}: ${c.body.length} bytes`);
        row.push(`${coding} ${c.body.length} (node ${node.body.length})`);
      }
      sizes.push(row.join(', '));
    }
    t.diagnostic(`compressed sizes, C (Node): ${sizes.join('; ')}`);
  });

  test('Accept-Encoding picked as Node\'s accepts picks it', async () => {
    const cases = [
      ['gzip, deflate, br, zstd', 'gzip'], // Chromium's: the first listed wins a tie
      ['deflate, gzip', 'deflate'],
      ['br;q=1, gzip;q=0.5', 'br'],
      ['*', 'br'],
      ['gzip;q=0, *;q=0.5', 'br'],
      ['identity', undefined],
      ['zstd', undefined],
      ['GZIP', 'gzip'],
    ];
    for (const [ae, want] of cases) {
      const { c } = await both(pair, req('GET', '/socket.io/socket.io.min.js', [`Accept-Encoding: ${ae}`]));
      assert.equal(c.headers['content-encoding'], want, `Accept-Encoding: ${ae}`);
      assert.ok(decoded(c).equals(npmFile('socket.io.min.js')), ae);
    }
  });

  test('If-None-Match "<version>" or W/"<version>": 304 with no body; anything else: 200', async () => {
    for (const etag of [`"${VERSION}"`, `W/"${VERSION}"`]) {
      const { c } = await both(pair, req('GET', '/socket.io/socket.io.js', [`If-None-Match: ${etag}`, 'Accept-Encoding: gzip']));
      assert.equal(c.status, 304, etag);
      assert.equal(c.body.length, 0);
      assert.deepEqual(headerLines(c), ['Connection: keep-alive', 'Keep-Alive: timeout=5']);
    }
    for (const etag of ['"0.0.1"', VERSION, `"${VERSION}", "x"`, '*']) {
      const { c } = await both(pair, req('GET', '/socket.io/socket.io.js.map', [`If-None-Match: ${etag}`]));
      assert.equal(c.status, 200, etag);
    }
  });

  test('HEAD, POST, a query string, HTTP/1.0: as Node', async () => {
    const head = await both(pair, req('HEAD', '/socket.io/socket.io.js', ['Accept-Encoding: gzip']), { head: true });
    assert.equal(head.c.status, 200);
    assert.equal(head.c.headers['content-encoding'], 'gzip');
    assert.equal(head.c.headers['transfer-encoding'], undefined, 'no framing for HEAD, as Node');
    const post = await both(pair, 'POST /socket.io/socket.io.min.js HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc');
    assert.equal(post.c.status, 200);
    assert.ok(post.c.body.equals(npmFile('socket.io.min.js')));
    const query = await both(pair, req('GET', '/socket.io/socket.io.esm.min.js?v=4&x', ['Accept-Encoding: deflate']));
    assert.ok(decoded(query.c).equals(npmFile('socket.io.esm.min.js')));
    const old = await both(pair, req('GET', '/socket.io/socket.io.js.map', ['Accept-Encoding: gzip'], '1.0'), { waitClose: true });
    assert.equal(old.c.status, 200);
    assert.equal(old.c.headers.connection, 'close');
    assert.equal(old.c.headers['transfer-encoding'], undefined, 'no chunks to HTTP/1.0');
    assert.ok(old.c.closed && old.node.closed, 'the body ends at the close');
    assert.ok(decoded(old.c).equals(npmFile('socket.io.js.map')));
  });

  test('other names under the path are Engine.IO requests: 400 "Transport unknown"', async () => {
    for (const name of ['socket.io.jsx', 'socket.io.js.gz', 'Socket.IO.js', 'socket.io.js/', 'x/socket.io.js',
      'socket%2Eio.js', 'client.js', '']) {
      const { c } = await both(pair, req('GET', `/socket.io/${name}`));
      assert.equal(c.status, 400, name);
      assert.equal(c.body.toString(), '{"code":0,"message":"Transport unknown"}', name);
    }
    // A WebSocket upgrade on a bundle name is the engine's too (Node gives upgrades to engine.io).
    const { c } = await both(pair, req('GET', '/socket.io/socket.io.js', [
      'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version: 13']));
    assert.equal(c.status, 400);
    assert.equal(c.body.toString(), 'Transport unknown');
  });

  test('Socket.IO still works on the same path', async () => {
    const res = await request(pair.c, { query: { EIO: 4, transport: 'polling' } });
    assert.equal(res.status, 200);
    assert.match(res.text, /^0\{"sid":"/);
  });
});

describe('serveClient with CORS: the cors middleware\'s lines on the bundle', { timeout: 60000 * SLOW }, () => {
  const pair = usePair(['--cors-origin', 'http://a.example']);

  test('GET with Origin: Node\'s header lines, CORS included', async () => {
    for (const origin of ['http://a.example', 'http://b.example']) {
      const { c } = await both(pair, req('GET', '/socket.io/socket.io.min.js', [`Origin: ${origin}`, 'Accept-Encoding: br']));
      assert.equal(c.status, 200);
      assert.equal(c.headers.vary, 'Origin');
      assert.equal(c.headers['access-control-allow-origin'], origin === 'http://a.example' ? origin : undefined);
      assert.equal(c.headers['access-control-allow-credentials'], 'true');
    }
    const { c } = await both(pair, req('GET', '/socket.io/socket.io.js', ['Origin: http://a.example', `If-None-Match: "${VERSION}"`]));
    assert.equal(c.status, 304);
    assert.equal(c.headers['access-control-allow-origin'], 'http://a.example');
  });

  test('OPTIONS preflight: 204 from the cors middleware, not the file', async () => {
    for (const extra of [[], ['Access-Control-Request-Headers: x-token']]) {
      const { c } = await both(pair, req('OPTIONS', '/socket.io/socket.io.js',
        ['Origin: http://a.example', 'Access-Control-Request-Method: GET', ...extra]));
      assert.equal(c.status, 204);
      assert.equal(c.headers.vary, 'Origin, Access-Control-Request-Headers');
      assert.equal(c.headers['access-control-allow-headers'], extra.length ? 'x-token' : undefined);
      assert.equal(c.body.length, 0);
    }
    // The engine's own preflight is the same middleware's.
    const { c } = await both(pair, req('OPTIONS', '/socket.io/?EIO=4&transport=polling',
      ['Origin: http://b.example', 'Access-Control-Request-Method: POST']));
    assert.equal(c.status, 204);
  });
});

describe('--no-serve-client: the bundle names are Engine.IO requests', { timeout: 60000 * SLOW }, () => {
  const pair = usePair(['--no-serve-client']);

  test('every name: 400 "Transport unknown", as Node with serveClient: false', async () => {
    for (const name of FILES) {
      const { c } = await both(pair, req('GET', `/socket.io/${name}`, ['Accept-Encoding: gzip']));
      assert.equal(c.status, 400, name);
      assert.equal(c.body.toString(), '{"code":0,"message":"Transport unknown"}');
    }
    const res = await request(pair.c, { path: '/socket.io/socket.io.js' });
    assertEioError(res, 0, 'Transport unknown');
  });
});

describe('the bundle in Chromium: <script src="/socket.io/socket.io.js">', { timeout: 90000 * SLOW, skip: !fs.existsSync(CHROMIUM) && `${CHROMIUM} is missing` }, () => {
  let sio;
  let browser;
  let page;

  before(async () => {
    sio = await startSio('sio-echo');
    const { launchBrowser, newPage } = require('./lib/browser');
    browser = await launchBrowser();
    page = await newPage(browser); // records page and console errors in page.errors
    // The page is fulfilled by playwright, so it has no address space and
    // Chromium's Local Network Access checks would take it for a public page
    // and block its WebSocket to 127.0.0.1; served by the server itself it
    // would be a loopback page, which needs no permission.
    await page.context().grantPermissions(['local-network-access']);
    // The page itself, on the server's origin (sio-echo serves no page):
    // only the bundle and Socket.IO come from the server.
    await page.route(`${sio.httpUrl}/page.html`, (route) => route.fulfill({
      status: 200,
      contentType: 'text/html; charset=utf-8',
      body: `<!doctype html><html><head><meta charset="utf-8"><title>serveClient</title>
<script src="/socket.io/socket.io.js"></script></head><body><p id="status">loading</p>
<script>
  const big = 'x'.repeat(200000) + '\\u00e9\\u{1F600}';
  function exchange(transports) {
    return new Promise((resolve, reject) => {
      const socket = io({ transports, reconnection: false, forceNew: true });
      const timer = setTimeout(() => reject(new Error('no answer over ' + transports)), 8000);
      socket.on('connect_error', (e) => reject(new Error('connect_error: ' + e.message)));
      socket.on('connect', () => socket.emit('message', 'hello', big, { n: 1 }));
      socket.on('message-back', (hello, back, obj) => {
        clearTimeout(timer);
        const out = { hello, same: back === big, length: back.length, obj, transport: socket.io.engine.transport.name };
        socket.disconnect();
        resolve(out);
      });
    });
  }
  document.getElementById('status').textContent = typeof io === 'function' && typeof io.Manager === 'function' ? 'io ready' : 'no io';
</script></body></html>`,
    }));
  });

  after(async () => {
    await browser?.close().catch(() => {});
    if (sio) await stopAndCheckAs(sio, 'sio-echo');
    assert.deepEqual((page?.errors || []).filter((e) => !/favicon/.test(e)), [], 'no page or console errors');
  });

  test('loads the bundle (compressed as the browser asks), connects and exchanges events', async () => {
    const bundle = [];
    const polls = [];
    page.on('response', (res) => {
      const u = new URL(res.url());
      if (u.pathname === '/socket.io/socket.io.js') bundle.push(res);
      else if (u.pathname === '/socket.io/' && res.request().method() === 'GET') polls.push(res);
    });
    await page.goto(`${sio.httpUrl}/page.html`);
    assert.equal(await page.textContent('#status'), 'io ready');
    assert.equal(bundle.length, 1);
    assert.equal(bundle[0].status(), 200);
    const h = await bundle[0].allHeaders();
    assert.equal(h['content-encoding'], 'gzip', `Accept-Encoding: ${(await bundle[0].request().allHeaders())['accept-encoding']}`);
    assert.equal(h.etag, `"${VERSION}"`);
    assert.equal(h['cache-control'], 'public, max-age=0');
    assert.equal(h['content-type'], 'application/javascript; charset=utf-8');
    // What the page ran is the npm file.
    assert.ok((await bundle[0].body()).equals(npmFile('socket.io.js')));

    // Long-polling: the 200 KB answer comes back in a compressed GET (httpCompression).
    const viaPolling = await page.evaluate(() => exchange(['polling']));
    assert.deepEqual(viaPolling, { hello: 'hello', same: true, length: 200003, obj: { n: 1 }, transport: 'polling' });
    const encodings = await Promise.all(polls.map(async (r) => (await r.allHeaders())['content-encoding']));
    assert.ok(encodings.includes('gzip'), `a compressed poll among ${JSON.stringify(encodings)}`);
    // WebSocket, and the upgrade from polling.
    const viaWs = await page.evaluate(() => exchange(['websocket']));
    assert.equal(viaWs.transport, 'websocket');
    assert.equal(viaWs.same, true);
    const viaUpgrade = await page.evaluate(() => exchange(['polling', 'websocket']));
    assert.equal(viaUpgrade.same, true);
  });

  test('the browser revalidates its cached bundle with If-None-Match: 304', async () => {
    // Routing disables Chromium's HTTP cache: the page stays, its route goes,
    // and the bundle (in the cache since the first load, "max-age=0": to be
    // revalidated before use) is loaded again by script elements.
    await page.unrouteAll();
    const seen = [];
    const onResponse = async (res) => {
      if (new URL(res.url()).pathname === '/socket.io/socket.io.js') {
        seen.push({ status: res.status(), inm: (await res.request().allHeaders())['if-none-match'] });
      }
    };
    page.on('response', onResponse);
    for (let i = 0; i < 2; i++) {
      await page.evaluate(() => new Promise((resolve, reject) => {
        const s = document.createElement('script');
        s.src = '/socket.io/socket.io.js';
        s.onload = resolve;
        s.onerror = () => reject(new Error('the bundle did not load'));
        document.head.appendChild(s);
      }));
    }
    page.off('response', onResponse);
    assert.ok(seen.length >= 1, 'the bundle was asked for again');
    for (const r of seen) assert.deepEqual(r, { status: 304, inm: `"${VERSION}"` });
    const again = await page.evaluate(() => exchange(['polling']));
    assert.equal(again.same, true);
  });
});
