'use strict';
// Raw long-polling over HTTP: handshake, framing of both protocol versions,
// every error answer, hostile bodies, payload limits and CORS.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const {
  httpModule: http, // node:https in TLS mode (E2E_TLS=1)
  useServer, SLOW, sleep, request, assertEioError, handshake, poll, post,
  encodeV3, decodeV3, decodeV3Binary, encodeV3Binary, decodeV4, decodeGet,
  expectSessionClosed, assertServerHealthy, SEP,
} = require('./lib/server');

const T = { timeout: 15000 * SLOW };
const OPEN_KEYS = ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades'];

/** Polls until `n` packets arrived; returns [{ packets, res }] per GET. */
async function collect(server, eio, sid, n, query = {}) {
  const answers = [];
  let count = 0;
  while (count < n) {
    const res = await poll(server, eio, sid, { query });
    assert.equal(res.status, 200, `GET answered ${res.status} ${res.text}`);
    const packets = decodeGet(eio, res);
    answers.push({ packets, res });
    count += packets.length;
  }
  return answers;
}

/** A POST whose body stays incomplete; returns the request (destroy it at the end). */
function partialPost(server, eio, sid, declared, sent) {
  const req = http.request({
    host: server.host,
    port: server.port,
    method: 'POST',
    path: `${server.path}?EIO=${eio}&transport=polling&sid=${sid}`,
    headers: { 'Content-Type': 'text/plain;charset=UTF-8', 'Content-Length': declared },
    agent: false,
  });
  req.on('error', () => {});
  req.on('response', (res) => res.resume());
  req.write(sent);
  return req;
}

describe('raw HTTP long-polling', () => {
  const server = useServer();

  describe('handshake', () => {
    it('v4: open packet with the exact keys and defaults, text/plain UTF-8', T, async () => {
      const { open, res, rest } = await handshake(server, 4);
      assert.match(String(res.headers['content-type']), /^text\/plain; ?charset=utf-8$/i);
      assert.ok(res.text.startsWith('0{'), res.text);
      assert.deepEqual(rest, []);
      assert.deepEqual(Object.keys(open).sort(), OPEN_KEYS);
      assert.match(open.sid, /^[A-Za-z0-9_-]{20}$/);
      assert.deepEqual(open.upgrades, ['websocket']);
      assert.equal(open.pingInterval, 25000);
      assert.equal(open.pingTimeout, 20000);
      assert.equal(open.maxPayload, 1000000);
    });

    it('v3: open packet framed as <length>:<packet>', T, async () => {
      const { open, res } = await handshake(server, 3);
      const body = res.text;
      const packet = body.slice(body.indexOf(':') + 1);
      assert.equal(body, `${packet.length}:${packet}`);
      assert.deepEqual(Object.keys(open).sort(), OPEN_KEYS);
      assert.match(open.sid, /^[A-Za-z0-9_-]{20}$/);
      assert.deepEqual(open.upgrades, ['websocket']);
    });

    it('gives every session a different sid', T, async () => {
      const sids = new Set();
      for (let i = 0; i < 20; i++) sids.add((await handshake(server, i % 2 ? 3 : 4)).sid);
      assert.equal(sids.size, 20);
    });
  });

  describe('error answers (HTTP 400 with {code, message})', () => {
    const cases = [
      ['missing transport', { query: { EIO: 4 } }, 0, 'Transport unknown'],
      ['unknown transport', { query: { EIO: 4, transport: 'carrier-pigeon' } }, 0, 'Transport unknown'],
      ['unknown transport (v3)', { query: { EIO: 3, transport: 'flashsocket' } }, 0, 'Transport unknown'],
      ['unknown sid (GET)', { query: { EIO: 4, transport: 'polling', sid: 'AAAAAAAAAAAAAAAAAAAA' } }, 1, 'Session ID unknown'],
      ['unknown sid (POST)', { method: 'POST', body: '4hi', query: { EIO: 4, transport: 'polling', sid: 'AAAAAAAAAAAAAAAAAAAA' } }, 1, 'Session ID unknown'],
      ['unknown sid (v3)', { query: { EIO: 3, transport: 'polling', sid: 'nope' } }, 1, 'Session ID unknown'],
      ['long odd sid', { query: { EIO: 4, transport: 'polling', sid: '../'.repeat(300) + '%00\u00e9' } }, 1, 'Session ID unknown'],
      ['POST handshake', { method: 'POST', body: '4hi', query: { EIO: 4, transport: 'polling' } }, 2, 'Bad handshake method'],
      ['PUT handshake', { method: 'PUT', body: '', query: { EIO: 4, transport: 'polling' } }, 2, 'Bad handshake method'],
      ['POST handshake (v3)', { method: 'POST', body: '3:4hi', query: { EIO: 3, transport: 'polling' } }, 2, 'Bad handshake method'],
      ['websocket handshake without Upgrade', { query: { EIO: 4, transport: 'websocket' } }, 3, 'Bad request'],
      // The contract answers code 5 to any EIO but 3 and 4. Node (with
      // allowEIO3) instead treats every EIO other than "4" as 3 and opens a
      // session (server.ts handshake(): `EIO === "4" ? 4 : 3`).
      ['EIO=5', { query: { EIO: 5, transport: 'polling' } }, 5, 'Unsupported protocol version'],
      ['EIO=2', { query: { EIO: 2, transport: 'polling' } }, 5, 'Unsupported protocol version'],
      ['EIO=abc', { query: { EIO: 'abc', transport: 'polling' } }, 5, 'Unsupported protocol version'],
      ['missing EIO', { query: { transport: 'polling' } }, 5, 'Unsupported protocol version'],
    ];
    for (const [name, opts, code, message] of cases) {
      it(`${name} -> ${code} ${message}`, T, async () => {
        assertEioError(await request(server, opts), code, message);
      });
    }

    it('existing polling sid with transport=websocket but no Upgrade -> 3 Bad request', T, async () => {
      const { sid } = await handshake(server, 4);
      assertEioError(await request(server, { query: { EIO: 4, transport: 'websocket', sid } }), 3, 'Bad request');
      // The session itself is untouched.
      await post(server, 4, sid, '4still');
      assert.deepEqual(decodeV4((await poll(server, 4, sid)).text), ['4still']);
    });
  });

  describe('v4 framing', () => {
    it('POST answers 200 "ok" as text/html; GET returns the echo as text/plain UTF-8', T, async () => {
      const { sid } = await handshake(server, 4);
      const p = await post(server, 4, sid, '4hello');
      assert.equal(p.status, 200);
      assert.equal(p.text, 'ok');
      assert.match(String(p.headers['content-type']), /^text\/html/);
      const g = await poll(server, 4, sid);
      assert.equal(g.status, 200);
      assert.match(String(g.headers['content-type']), /^text\/plain; ?charset=utf-8$/i);
      assert.equal(g.text, '4hello');
    });

    it('several packets in one POST, binary as b<base64>, come back in order', T, async () => {
      const { sid } = await handshake(server, 4);
      const sent = ['4one', 'bAQIDBA==', '4três 😀', 'b', '4'];
      await post(server, 4, sid, sent.join(SEP));
      const got = (await collect(server, 4, sid, sent.length)).flatMap((a) => a.packets);
      assert.deepEqual(got, sent);
    });

    it('a "1" from the client closes the session', T, async () => {
      const { sid } = await handshake(server, 4);
      await post(server, 4, sid, '1');
      await expectSessionClosed(server, 4, sid);
    });

    it('a close-me message closes the session with a close packet', T, async () => {
      const { sid } = await handshake(server, 4);
      await post(server, 4, sid, '4close-me');
      await expectSessionClosed(server, 4, sid);
    });

    for (const eio of [4, 3]) {
      it(`v${eio}: a close with no GET waiting is kept for the next GET (orderly close)`, T, async () => {
        // Node's polling transport buffers the close packet until the client
        // polls again (polling.ts doClose, shouldClose); a client whose GET is
        // on its way must get "1", not "Session ID unknown".
        const { sid } = await handshake(server, eio);
        const p = await post(server, eio, sid, eio === 4 ? '4close-me' : '9:4close-me');
        assert.equal(p.status, 200);
        const g = await poll(server, eio, sid);
        assert.equal(g.status, 200, `GET after the close answered ${g.status} ${g.text}`);
        // Node answers "6" (noop) then "1".
        const packets = decodeGet(eio, g);
        assert.equal(packets[packets.length - 1], '1', `GET after the close got ${g.text}`);
        assert.ok(packets.slice(0, -1).every((x) => x === '6'), `GET after the close got ${g.text}`);
        assertEioError(await poll(server, eio, sid), 1, 'Session ID unknown');
      });
    }

    it('a GET waiting when the close comes gets the close packet', T, async () => {
      const { sid } = await handshake(server, 4);
      const pending = poll(server, 4, sid);
      await sleep(100);
      await post(server, 4, sid, '4close-me');
      const g = await pending;
      assert.equal(g.status, 200);
      assert.deepEqual(decodeV4(g.text), ['1']);
      assertEioError(await poll(server, 4, sid), 1, 'Session ID unknown');
    });
  });

  describe('v3 framing', () => {
    it('counts lengths in UTF-16 code units (non-BMP characters count 2)', T, async () => {
      const { sid } = await handshake(server, 3);
      const p = await post(server, 3, sid, '3:4😀');
      assert.equal(p.status, 200);
      assert.equal(p.text, 'ok');
      const g = await poll(server, 3, sid);
      assert.match(String(g.headers['content-type']), /^text\/plain; ?charset=utf-8$/i);
      assert.equal(g.text, '3:4😀');
      await post(server, 3, sid, encodeV3(['4a😀bé', '4x', '4\u2028']));
      const got = (await collect(server, 3, sid, 3)).map((a) => a.res.text).join('');
      assert.equal(got, '6:4a😀bé2:4x2:4\u2028');
    });

    it('sends a binary echo as application/octet-stream when the client did not ask b64=1', T, async () => {
      const { sid } = await handshake(server, 3);
      // Base64 binary from the client (b4 + base64 of 01 02 03 04).
      await post(server, 3, sid, '10:b4AQIDBA==');
      const g = await poll(server, 3, sid);
      assert.equal(g.status, 200);
      assert.match(String(g.headers['content-type']), /^application\/octet-stream/);
      assert.deepEqual([...g.body], [1, 5, 0xff, 4, 1, 2, 3, 4]);
    });

    it('accepts a binary (octet-stream) POST payload with string and binary packets', T, async () => {
      const { sid } = await handshake(server, 3);
      const body = encodeV3Binary(['4é😀', Buffer.from([4, 0, 0xff, 7])]);
      const p = await post(server, 3, sid, body, { headers: { 'Content-Type': 'application/octet-stream' } });
      assert.equal(p.status, 200);
      assert.equal(p.text, 'ok');
      const answers = await collect(server, 3, sid, 2);
      const got = answers.flatMap((a) => a.packets);
      assert.equal(got[0], '4é😀');
      assert.ok(Buffer.isBuffer(got[1]) && got[1].equals(Buffer.from([4, 0, 0xff, 7])), `binary: ${got[1]}`);
      for (const a of answers) {
        if (a.packets.some((x) => Buffer.isBuffer(x))) {
          assert.match(String(a.res.headers['content-type']), /^application\/octet-stream/);
        }
      }
      if (answers.length === 1) {
        // Both in one binary payload: the string packet's length is in UTF-8 bytes.
        assert.deepEqual([...answers[0].res.body.subarray(0, 3)], [0, 7, 0xff]);
        assert.deepEqual(decodeV3Binary(answers[0].res.body).map((x) => x.binary), [false, true]);
      }
    });

    it('with b64=1 sends binary as b4<base64> in a text payload', T, async () => {
      const { sid } = await handshake(server, 3, { query: { b64: 1 } });
      await post(server, 3, sid, '10:b4AQIDBA==', { query: { b64: 1 } });
      await post(server, 3, sid, '2:4x', { query: { b64: 1 } });
      const answers = await collect(server, 3, sid, 2, { b64: 1 });
      for (const a of answers) assert.match(String(a.res.headers['content-type']), /^text\/plain/);
      assert.equal(answers.map((a) => a.res.text).join(''), '10:b4AQIDBA==2:4x');
    });

    it('JSONP (j=0): answers ___eio[0]("...") and takes d=<payload> form posts', T, async () => {
      const jsonp = (res) => {
        assert.equal(res.status, 200);
        assert.ok(res.text.startsWith('___eio[0]("'), res.text);
        assert.ok(res.text.endsWith('");'), res.text);
        return JSON.parse(res.text.slice('___eio[0]('.length, -2));
      };
      const h = await request(server, { query: { EIO: 3, transport: 'polling', j: 0 } });
      const payload = decodeV3(jsonp(h));
      const open = JSON.parse(payload[0].slice(1));
      assert.match(open.sid, /^[A-Za-z0-9_-]{20}$/);
      const sid = open.sid;
      const msg = '4line\u2028sep "q" \\ 😀';
      const p = await post(server, 3, sid, `d=${encodeURIComponent(encodeV3([msg]))}`, {
        query: { j: 0 },
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(p.status, 200);
      const g = await poll(server, 3, sid, { query: { j: 0 } });
      assert.ok(!g.text.includes('\u2028'), 'raw U+2028 in a JSONP answer is not valid JavaScript');
      assert.ok(g.text.includes('\\u2028'));
      assert.deepEqual(decodeV3(jsonp(g)), [msg]);
    });
  });

  describe('one GET and one POST at a time', () => {
    for (const eio of [4, 3]) {
      it(`v${eio}: a second concurrent GET gets 400 and the session is closed`, T, async () => {
        const { sid } = await handshake(server, eio);
        const first = poll(server, eio, sid).then((r) => r, (e) => e);
        await sleep(150);
        const second = await poll(server, eio, sid);
        assert.equal(second.status, 400);
        const f = await first;
        if (!(f instanceof Error) && f.status === 200) {
          assert.ok(decodeGet(eio, f).includes('1'), `first GET got ${f.text}`);
        }
        await expectSessionClosed(server, eio, sid);
        await assertServerHealthy(server);
      });
    }

    it('a second POST while one is still uploading gets 400 and the session is closed', T, async () => {
      const { sid } = await handshake(server, 4);
      const slow = partialPost(server, 4, sid, 100, '4aaaaaaaa');
      try {
        await sleep(150);
        const second = await post(server, 4, sid, '4b');
        assert.equal(second.status, 400);
        await expectSessionClosed(server, 4, sid);
      } finally {
        slow.destroy();
      }
      await assertServerHealthy(server);
    });
  });

  describe('malformed POST bodies close the session', () => {
    const v4 = ['', '9abc', '\x1e\x1e', 'x', '4ok\x1e', '\x1e4a'];
    const v3 = ['3:abc', '99:4a', 'x:4a', '2:4', '5:4😀', ':4a', '1:', '2:4a3'];
    for (const [eio, bodies] of [[4, v4], [3, v3]]) {
      for (const body of bodies) {
        it(`v${eio} ${JSON.stringify(body)}`, T, async () => {
          const { sid } = await handshake(server, eio);
          await post(server, eio, sid, body).catch(() => {});
          await expectSessionClosed(server, eio, sid);
          await assertServerHealthy(server);
        });
      }
    }
  });

  describe('malformed v3 binary (octet-stream) POST bodies close the session', () => {
    const bodies = [
      ['no 0xFF after the length', Buffer.from([0, 1, 2, 3])],
      ['400 length digits', Buffer.concat([Buffer.from([0]), Buffer.alloc(400, 9), Buffer.from([0xff, 0x34])])],
    ];
    for (const [name, body] of bodies) {
      it(name, T, async () => {
        const { sid } = await handshake(server, 3);
        await post(server, 3, sid, body, { headers: { 'Content-Type': 'application/octet-stream' } }).catch(() => {});
        await expectSessionClosed(server, 3, sid);
        await assertServerHealthy(server);
      });
    }
  });

  describe('CORS is off by default', () => {
    it('sends no Access-Control-Allow-Origin without --cors-origin', T, async () => {
      const res = await request(server, { query: { EIO: 4, transport: 'polling' }, headers: { Origin: 'http://a.example' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers['access-control-allow-origin'], undefined);
    });
  });
});

describe('max payload (--max-payload 1000)', () => {
  const server = useServer(['--max-payload', '1000']);

  it('announces maxPayload 1000', T, async () => {
    const { open } = await handshake(server, 4);
    assert.equal(open.maxPayload, 1000);
  });

  it('accepts a POST of exactly 1000 bytes', T, async () => {
    const { sid } = await handshake(server, 4);
    const body = `4${'é'.repeat(499)}a`;
    assert.equal(Buffer.byteLength(body), 1000);
    const p = await post(server, 4, sid, body);
    assert.equal(p.status, 200);
    assert.equal((await poll(server, 4, sid)).text, body);
  });

  it('answers 413 to a POST of 1001 bytes', T, async () => {
    const { sid } = await handshake(server, 4);
    const p = await post(server, 4, sid, `4${'a'.repeat(1000)}`);
    assert.equal(p.status, 413);
    await assertServerHealthy(server);
  });

  it('answers 413 to a v3 POST over the limit', T, async () => {
    const { sid } = await handshake(server, 3);
    const p = await post(server, 3, sid, encodeV3([`4${'a'.repeat(2000)}`]));
    assert.equal(p.status, 413);
    await assertServerHealthy(server);
  });

  it('answers 413 without waiting for a huge declared body', T, async () => {
    const { sid } = await handshake(server, 4);
    const status = await new Promise((resolve, reject) => {
      const req = http.request({
        host: server.host,
        port: server.port,
        method: 'POST',
        path: `${server.path}?EIO=4&transport=polling&sid=${sid}`,
        headers: { 'Content-Type': 'text/plain;charset=UTF-8', 'Content-Length': String(1e12) },
        agent: false,
      });
      const timer = setTimeout(() => {
        req.destroy();
        reject(new Error('no answer within 3 s to a POST declaring 1e12 bytes'));
      }, 3000 * SLOW);
      req.on('response', (res) => {
        clearTimeout(timer);
        res.resume();
        resolve(res.statusCode);
        req.destroy();
      });
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      req.write(`4${'a'.repeat(4095)}`);
    });
    assert.equal(status, 413);
    await assertServerHealthy(server);
  });
});

describe('CORS (--cors-origin http://a.example --cors-origin http://b.example,http://c.example)', () => {
  const server = useServer(['--cors-origin', 'http://a.example', '--cors-origin', 'http://b.example,http://c.example']);

  for (const origin of ['http://a.example', 'http://b.example', 'http://c.example']) {
    it(`allows ${origin} on handshake, GET and POST with credentials`, T, async () => {
      const { sid, res } = await handshake(server, 4, { headers: { Origin: origin } });
      assert.equal(res.headers['access-control-allow-origin'], origin);
      assert.equal(res.headers['access-control-allow-credentials'], 'true');
      const p = await post(server, 4, sid, '4x', { headers: { Origin: origin } });
      assert.equal(p.status, 200);
      assert.equal(p.headers['access-control-allow-origin'], origin);
      assert.equal(p.headers['access-control-allow-credentials'], 'true');
      const g = await poll(server, 4, sid, { headers: { Origin: origin } });
      assert.equal(g.text, '4x');
      assert.equal(g.headers['access-control-allow-origin'], origin);
    });
  }

  it('answers an OPTIONS preflight with 204 and Access-Control-Allow-Methods', T, async () => {
    const { sid } = await handshake(server, 4);
    const res = await request(server, {
      method: 'OPTIONS',
      query: { EIO: 4, transport: 'polling', sid },
      headers: {
        Origin: 'http://a.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers['access-control-allow-origin'], 'http://a.example');
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    const methods = String(res.headers['access-control-allow-methods'] || '').toUpperCase();
    assert.match(methods, /\bGET\b/);
    assert.match(methods, /\bPOST\b/);
  });

  it('sends no Access-Control-Allow-Origin to a disallowed origin', T, async () => {
    const res = await request(server, { query: { EIO: 4, transport: 'polling' }, headers: { Origin: 'http://evil.example' } });
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    const pre = await request(server, {
      method: 'OPTIONS',
      query: { EIO: 4, transport: 'polling' },
      headers: { Origin: 'http://a.example.evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(pre.headers['access-control-allow-origin'], undefined);
  });
});

describe('CORS (--cors-origin "*")', () => {
  const server = useServer(['--cors-origin', '*']);

  it('allows any origin', T, async () => {
    const { res } = await handshake(server, 4, { headers: { Origin: 'http://anything.example' } });
    const acao = res.headers['access-control-allow-origin'];
    assert.ok(acao === '*' || acao === 'http://anything.example', `Access-Control-Allow-Origin: ${acao}`);
  });
});
