'use strict';
// Hardening (issue 12): hostile input put on the wire, then a well-behaved
// client must be served right after. Where Node has an answer, the same input
// goes to Node's server with the same handlers (fixtures/node-sio-echo.js,
// fixtures/node-eio-echo.js, the twin of sio-test) and its answer is the spec:
//  - acknowledgements nobody answers (no handler, a handler that does not
//    answer) are not held: the server's memory stays flat (Node's callback is
//    garbage collected); acks kept by the application are bounded
//    (max_kept_acks);
//  - a binary packet whose attachments never come (or that is too big) closes
//    the client after binary_packet_timeout_ms (max_binary_packet_bytes), as a
//    parse error closes it in Node;
//  - JSON nesting: depth 40 and 900 echoed as Node echoes them; deeper than
//    max_json_depth closes the client (Node parses any depth, but its emit
//    throws past ~4,000 levels and the process dies); past max_payload both
//    answer 1009;
//  - duplicate query parameters (EIO, transport, sid): the last one wins, as
//    engine.io's URLSearchParams + Object.fromEntries;
//  - at max_clients the refusal is logged once per 10 s, not per request.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { SLOW, startSio, stopAndCheck, assertStillServes, closeAll, sleep } = require('./lib/sio');
const {
  startServer, startBinary, stopAndCheckAs, request, handshake, assertServerHealthy,
} = require('./lib/server');
const { WebSocket } = require('./lib/ws');
const { TLS } = require('./lib/tls');
const { rssKb, waitFor, countInStderr } = require('./lib/extra');

const T = { timeout: 120000 * SLOW };
const FIXTURES = path.join(__dirname, 'fixtures');
// Node's reference servers serve plain HTTP here; under E2E_TLS=1 only the C
// servers run (the Node checks are the same bytes, already proven plain).
const NODE = !TLS;

// Spawned as programs (startBinary puts --port first): they have a node
// shebang; the executable bit is put back if a checkout lost it.
for (const f of ['node-sio-echo.js', 'node-eio-echo.js']) {
  try {
    fs.accessSync(path.join(FIXTURES, f), fs.constants.X_OK);
  } catch {
    fs.chmodSync(path.join(FIXTURES, f), 0o755);
  }
}

function startNodeSioEcho() {
  return startBinary(path.join(FIXTURES, 'node-sio-echo.js'), [], {
    readyTimeout: 10000, label: 'node-sio-echo', path: '/socket.io/', fields: { name: 'node-sio-echo' },
  });
}

/**
 * A Socket.IO v5 client over the `ws` package, connected to "/": send(text),
 * next() (the next message that is not a ping), closed (a promise of the
 * close code), counts of what came back.
 */
function sioWs(server) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${server.wsUrl}/socket.io/?EIO=4&transport=websocket`);
    const queue = [];
    const waiters = [];
    let connected = false;
    let closeCode = null;
    const c = {
      ws,
      received: 0,
      send(s) { ws.send(s); },
      sendBinary(b) { ws.send(b, { binary: true }); },
      next(t = 5000 * SLOW) {
        if (queue.length) return Promise.resolve(queue.shift());
        if (closeCode !== null) return Promise.reject(new Error(`closed (${closeCode})`));
        return new Promise((res, rej) => {
          const w = { res, rej };
          w.timer = setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); rej(new Error('no message in time')); }, t);
          waiters.push(w);
        });
      },
      closed: null,
      keep: true,
    };
    c.closed = new Promise((res) => {
      ws.on('close', (code) => {
        closeCode = code;
        for (const w of waiters.splice(0)) { clearTimeout(w.timer); w.rej(new Error(`closed (${code})`)); }
        res(code);
      });
    });
    ws.on('error', (e) => { if (!connected) reject(e); });
    ws.on('message', (data, isBinary) => {
      const m = isBinary ? data : data.toString();
      if (m === '2') { ws.send('3'); return; }
      // sio-echo (and its Node twin) greet each socket with "auth".
      if (typeof m === 'string' && m.startsWith('42["auth",')) return;
      if (!connected) {
        if (typeof m === 'string' && m.startsWith('40{')) { connected = true; resolve(c); }
        else if (typeof m === 'string' && m[0] === '0') ws.send('40');
        return;
      }
      c.received++;
      if (!c.keep) return;
      const w = waiters.shift();
      if (w) { clearTimeout(w.timer); w.res(m); } else queue.push(m);
    });
  });
}

/** Waits until every packet sent before it was handled: an ack round trip. */
async function sync(c, id) {
  c.keep = true;
  c.send(`42${id}["message-with-ack","sync"]`);
  for (;;) {
    const m = await c.next(60000 * SLOW);
    if (m === `43${id}["sync"]`) return;
  }
}

/** Sends n EVENTs asking for an ack nobody gives, in bursts; returns the ids used. */
async function unansweredAcks(c, n, firstId) {
  c.keep = false;
  const burst = 2000;
  for (let i = 0; i < n; i += burst) {
    for (let j = i; j < Math.min(n, i + burst); j++) {
      // 9 of 10 have no handler; 1 of 10 goes to a handler that does not answer.
      c.send(j % 10 ? `42${firstId + j}["nothing",${j}]` : `42${firstId + j}["message",${j}]`);
    }
    await new Promise((r) => setImmediate(r));
    if (c.ws.bufferedAmount > 1 << 20) await waitFor(() => c.ws.bufferedAmount < 1 << 18, { timeout: 60000 * SLOW, what: 'send buffer drained' });
  }
  await sync(c, firstId + n);
}

const nest = (d) => `${'['.repeat(d)}1${']'.repeat(d)}`;

describe('hardening (issue 12)', () => {
  after(() => closeAll());

  describe('acknowledgements nobody answers', () => {
    let server;
    before(async () => {
      // A small quarantine so that freed memory is reused under
      // AddressSanitizer (it keeps 256 MB of freed blocks by default).
      const old = process.env.ASAN_OPTIONS;
      process.env.ASAN_OPTIONS = `${old ? `${old}:` : ''}quarantine_size_mb=4`;
      try {
        server = await startSio('sio-echo');
      } finally {
        if (old === undefined) delete process.env.ASAN_OPTIONS;
        else process.env.ASAN_OPTIONS = old;
      }
    });
    after(() => stopAndCheck(server));

    it('are freed: 2 x 200,000 of them leave the server\'s memory flat, and it goes on serving', T, async (t) => {
      const c = await sioWs(server);
      const N = 200000;
      await unansweredAcks(c, N, 1);
      const afterFirst = rssKb(server.proc.pid);
      await unansweredAcks(c, N, 1 + N + 1);
      const afterSecond = rssKb(server.proc.pid);
      const grownMb = (afterSecond - afterFirst) / 1024;
      t.diagnostic(`RSS after ${N}: ${afterFirst} KiB, after ${2 * N}: ${afterSecond} KiB (+${grownMb.toFixed(1)} MB); `
        + `${c.received} messages back`);
      // Held, 200,000 acks cost 5.4 MB (27 bytes each, 32.7 MB for 1.2 M) and
      // far more under AddressSanitizer.
      assert.ok(grownMb < 2, `RSS grew by ${grownMb.toFixed(1)} MB over the second 200,000 unanswered acks`);
      // The client got no answer to any of them (the 20,000 "message" events
      // came back as "message-back", as Node's handler does).
      c.ws.close();
      await assertStillServes(server, 'message-with-ack');
    });

    it('Node answers none of them either, and goes on serving', { ...T, skip: !NODE && 'Node reference plain only' }, async () => {
      const node = await startNodeSioEcho();
      try {
        for (const srv of [server, node]) {
          const c = await sioWs(srv);
          c.send('421["nothing",1]');
          c.send('422["message",2]');
          c.send('423["message-with-ack",3]');
          // (Node's handler passes the ack function on to emit, which then
          // asks the client for an ack: "420[...]"; sio-echo's does not.)
          assert.match(await c.next(), /^42\d*\["message-back",2\]$/, srv.name);
          assert.equal(await c.next(), '433[3]', srv.name);
          c.ws.close();
          await assertStillServes(srv, 'message-with-ack');
        }
      } finally {
        await node.stop();
      }
    });
  });

  describe('acknowledgements kept by the application: bounded by max_kept_acks', () => {
    let server;
    before(async () => { server = await startSio('sio-test', ['--max-kept-acks', '50']); });
    after(() => stopAndCheck(server));

    it('the 51st kept ack disconnects the socket ("server namespace disconnect"); others are served', T, async () => {
      const c = await sioWs(server);
      // server-ask keeps the caller's ack until the client answers "ask"
      // (it never does here) or 10 minutes pass.
      for (let i = 1; i <= 50; i++) c.send(`42${i}["server-ask",600000,${i}]`);
      for (let i = 1; i <= 50; i++) {
        const m = await c.next();
        assert.match(m, /^42\d+\["ask",\d+\]$/, `ask ${i}: ${m}`);
      }
      c.send('4251["server-ask",600000,51]');
      assert.equal(await c.next(), '41', 'no DISCONNECT packet after the 51st kept ack');
      c.ws.close();
      await assertStillServes(server);
    });
  });

  describe('binary packets whose attachments never come', () => {
    let server;
    before(async () => {
      server = await startSio('sio-echo', ['--binary-packet-timeout', String(1000 * SLOW), '--max-binary-packet-bytes', '100000']);
    });
    after(() => stopAndCheck(server));

    it('closes the client after binary_packet_timeout_ms, as a parse error', T, async () => {
      const c = await sioWs(server);
      const start = Date.now();
      c.send(`452-["message",${JSON.stringify({ _placeholder: true, num: 0 })},${JSON.stringify({ _placeholder: true, num: 1 })}]`);
      c.sendBinary(Buffer.from([1, 2, 3]));
      const code = await Promise.race([c.closed, sleep(10000 * SLOW).then(() => 'open')]);
      const took = Date.now() - start;
      assert.notEqual(code, 'open', 'still open 10 s after the text part');
      assert.ok(took >= 900 * SLOW, `closed after ${took} ms, before the timeout`);
      await assertStillServes(server, 'message-with-ack');
    });

    it('a complete binary packet within the limits is served', T, async () => {
      const c = await sioWs(server);
      c.send(`451-7["message-with-ack",${JSON.stringify({ _placeholder: true, num: 0 })}]`);
      c.sendBinary(Buffer.alloc(90000, 7));
      assert.equal(await c.next(), `461-7[${JSON.stringify({ _placeholder: true, num: 0 })}]`);
      const bin = await c.next();
      assert.equal(bin.length, 90000);
      c.ws.close();
    });

    it('closes the client when its attachments pass max_binary_packet_bytes', T, async () => {
      const c = await sioWs(server);
      c.send(`452-["message",${JSON.stringify({ _placeholder: true, num: 0 })},${JSON.stringify({ _placeholder: true, num: 1 })}]`);
      c.sendBinary(Buffer.alloc(60000));
      c.sendBinary(Buffer.alloc(60000));
      const code = await Promise.race([c.closed, sleep(5000 * SLOW).then(() => 'open')]);
      assert.notEqual(code, 'open', 'still open with 120,000 bytes of attachments (limit 100,000)');
      await assertStillServes(server, 'message-with-ack');
    });

    it('Node closes on a parse error of the binary kind the same way (binary with no packet waiting)', { ...T, skip: !NODE && 'Node reference plain only' }, async () => {
      const node = await startNodeSioEcho();
      try {
        for (const srv of [server, node]) {
          const c = await sioWs(srv);
          c.sendBinary(Buffer.from([1, 2, 3]));
          const code = await Promise.race([c.closed, sleep(5000).then(() => 'open')]);
          assert.notEqual(code, 'open', `${srv.name}: still open`);
          await assertStillServes(srv, 'message-with-ack');
        }
      } finally {
        await node.stop();
      }
    });
  });

  describe('JSON nesting depth', () => {
    let server;
    let node;
    before(async () => {
      server = await startSio('sio-echo');
      if (NODE) node = await startNodeSioEcho();
    });
    after(async () => {
      if (node) await node.stop();
      await stopAndCheck(server);
    });

    for (const depth of [40, 900]) {
      it(`depth ${depth} is echoed as Node echoes it`, T, async () => {
        for (const srv of node ? [server, node] : [server]) {
          const c = await sioWs(srv);
          c.send(`42["message",${nest(depth)}]`);
          assert.equal(await c.next(), `42["message-back",${nest(depth)}]`, srv.name);
          c.ws.close();
        }
      });
    }

    it('deeper than max_json_depth (1000) closes the client; the server goes on serving', T, async () => {
      const c = await sioWs(server);
      c.send(`42["nothing",${nest(1000)}]`);
      const code = await Promise.race([c.closed, sleep(5000 * SLOW).then(() => 'open')]);
      assert.notEqual(code, 'open', 'depth 1001 was accepted');
      await assertStillServes(server, 'message-with-ack');
    });

    it('past max_payload (depth 600,000: 1.2 MB): 1009 from both, both go on serving', T, async () => {
      for (const srv of node ? [server, node] : [server]) {
        const c = await sioWs(srv);
        c.send(`42["nothing",${nest(600000)}]`);
        assert.equal(await c.closed, 1009, srv.name);
        await assertStillServes(srv, 'message-with-ack');
      }
    });
  });

  describe('duplicate query parameters (engine.io: the last one wins)', () => {
    let server;
    let node;
    before(async () => {
      server = await startServer([]);
      server.name = 'c';
      if (NODE) {
        node = await startBinary(path.join(FIXTURES, 'node-eio-echo.js'), [], {
          readyTimeout: 10000, label: 'node-eio-echo', path: '/engine.io/', fields: { name: 'node' },
        });
      }
    });
    after(async () => {
      if (node) await node.stop();
      await stopAndCheckAs(server, 'eio-echo');
    });

    /** What the answer says: status, and the Engine.IO version or error code. */
    function shape(res) {
      if (res.status !== 200) return `${res.status} ${res.text}`;
      if (/^\d+:0\{/.test(res.text)) return '200 EIO=3 open';
      if (res.text.startsWith('0{')) return '200 EIO=4 open';
      return `200 ${res.text.slice(0, 40)}`;
    }

    it('EIO, transport and sid given twice: the same answers as Node', T, async () => {
      const expected = {
        'EIO=4&EIO=3&transport=polling': '200 EIO=3 open',
        'EIO=3&EIO=4&transport=polling': '200 EIO=4 open',
        'EIO=4&transport=polling&transport=websocket': '400 {"code":3,"message":"Bad request"}',
        'EIO=4&transport=websocket&transport=polling': '200 EIO=4 open',
        'EIO=4&transport=polling&sid=a&sid=b': '400 {"code":1,"message":"Session ID unknown"}',
        'EIO=4&transport=polling&sid=SID&sid=b': '400 {"code":1,"message":"Session ID unknown"}',
        'EIO=4&transport=polling&sid=b&sid=SID': '200 4x',
        '%45IO=4&transport=polling': '200 EIO=4 open',
        'EIO=4&trans%70ort=polling': '200 EIO=4 open',
      };
      for (const srv of node ? [server, node] : [server]) {
        const { sid } = await handshake(srv, 4);
        for (const [q, want] of Object.entries(expected)) {
          let res;
          if (q.includes('sid=b&sid=SID')) {
            // A valid poll waits: a message POSTed meanwhile comes back on it.
            const get = request(srv, { path: `/engine.io/?${q.replace('SID', sid)}` });
            await sleep(100);
            await request(srv, { method: 'POST', path: `/engine.io/?EIO=4&transport=polling&sid=${sid}`, body: '4x', headers: { 'Content-Type': 'text/plain' } });
            res = await get;
          } else {
            res = await request(srv, { path: `/engine.io/?${q.replace('SID', sid)}` });
          }
          assert.equal(shape(res), want, `${srv.name}: ?${q}`);
        }
        await assertServerHealthy(srv);
      }
    });
  });

  describe('max_clients', () => {
    let server;
    before(async () => { server = await startSio('sio-echo', ['--max-clients', '2']); });
    after(() => stopAndCheck(server));

    it('refuses past the limit and logs it once per 10 s, not once per request', T, async () => {
      const held = [await handshake(server, 4), await handshake(server, 4)];
      const statuses = [];
      for (let i = 0; i < 30; i++) {
        const res = await request(server, { path: '/socket.io/?EIO=4&transport=polling' });
        statuses.push(res.status);
      }
      assert.deepEqual([...new Set(statuses)], [503]);
      await sleep(200);
      const lines = server.stderr.split('\n').filter((l) => l.includes('refusing new clients'));
      assert.equal(lines.length, 1, `log lines: ${lines.join(' | ')}`);
      assert.match(lines[0], /refusing new clients: max_clients \(2\) reached; 1 refused in the last 10 s/);
      // A client is served again once a place is free.
      await request(server, { method: 'POST', path: `/socket.io/?EIO=4&transport=polling&sid=${held[0].sid}`, body: '1', headers: { 'Content-Type': 'text/plain' } });
      await waitFor(async () => (await request(server, { path: '/socket.io/?EIO=4&transport=polling' })).status === 200, { timeout: 5000 * SLOW, what: 'a place freed' });
      assert.equal(countInStderr(server, 'refusing new clients'), 1);
    });
  });
});
