'use strict';
// WebSocket frames parsed by the writer threads: when one loop iteration has
// at least 32 readable connections, their reads and their frame parsing
// (unmasking, UTF-8, fragments, perMessageDeflate) are made side by side and
// the loop acts on the results in order (README "Concurrency"). 64 raw
// clients write at the same moment, round after round, every kind of frame;
// each must get exactly what the one-thread path gives, and the server's
// debug log must show that the parallel path was taken.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const { startServer, stopAndCheckAs, SLOW } = require('./lib/server');
const { frame, rawConnect } = require('./lib/ws');

const T = { timeout: 60000 * SLOW };
const N = 64;
const ROUNDS = 20;

/** A client's permessage-deflate frame: RSV1, the DEFLATE tail taken off. */
function deflated(text) {
  const z = zlib.deflateRawSync(Buffer.from(text), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return frame({ opcode: 1, rsv: 4, payload: z.subarray(0, z.length - 4) });
}

async function open(server, deflate) {
  const conn = await rawConnect(server, {
    headers: deflate ? { 'Sec-WebSocket-Extensions': 'permessage-deflate' } : {},
  });
  assert.equal(conn.status, 101, conn.statusLine);
  if (deflate) assert.match(conn.headers['sec-websocket-extensions'] || '', /permessage-deflate/);
  const first = await conn.nextMessage();
  assert.equal(first[0], '0');
  return conn;
}

/** What client i sends in round r, and what it must get back, in order. */
function burst(i, r) {
  const tag = `r${r}i${i}`;
  const bufs = [frame({ opcode: 1, payload: `4${tag}a` })];
  const expect = [[1, `4${tag}a`]];
  if (i % 4 === 0) { // a ping between messages
    bufs.push(frame({ opcode: 9, payload: `p${i}` }));
    expect.push([10, `p${i}`]);
  } else if (i % 4 === 1) { // a message in three fragments, a multi-byte character cut
    const whole = Buffer.from(`4${tag}é😀b`);
    bufs.push(frame({ opcode: 1, fin: false, payload: whole.subarray(0, 3) }));
    bufs.push(frame({ opcode: 0, fin: false, payload: whole.subarray(3, whole.length - 3) }));
    bufs.push(frame({ opcode: 0, fin: true, payload: whole.subarray(whole.length - 3) }));
    expect.push([1, whole.toString()]);
  } else if (i % 4 === 2) { // deflated messages, two in a row
    bufs.push(deflated(`4${tag}z`), deflated(`4${tag}y`));
    expect.push([1, `4${tag}z`], [1, `4${tag}y`]);
  } else { // binary
    bufs.push(frame({ opcode: 2, payload: Buffer.from([4, i, r, 255]) }));
    expect.push([2, Buffer.from([4, i, r, 255]).toString('hex')]);
  }
  bufs.push(frame({ opcode: 1, payload: `4${tag}c` }));
  expect.push([1, `4${tag}c`]);
  return { buf: Buffer.concat(bufs), expect };
}

async function expectFrames(conn, expect, what) {
  for (const [opcode, payload] of expect) {
    const f = await conn.nextFrame(5000 * SLOW);
    assert.ok(!f.end, `${what}: connection ended, expected ${payload}`);
    const got = opcode === 2 ? f.payload.toString('hex') : f.payload.toString('utf8');
    assert.deepEqual([f.opcode, got], [opcode, payload], what);
  }
}

describe('WebSocket frames parsed by the writer threads', () => {
  it(`${N} clients writing at once, ${ROUNDS} rounds: every frame as on one thread; then closes and protocol errors`, T, async (t) => {
    const server = await startServer(['--log-level', 'debug', '--per-message-deflate']);
    const conns = [];
    try {
      for (let i = 0; i < N; i++) conns.push(await open(server, i % 4 === 2));
      for (let r = 0; r < ROUNDS; r++) {
        const bursts = conns.map((c, i) => burst(i, r));
        conns.forEach((c, i) => c.send(bursts[i].buf)); // one tick: all at once
        await Promise.all(conns.map((c, i) => expectFrames(c, bursts[i].expect, `client ${i} round ${r}`)));
      }
      // Last round: some close, some break the protocol, the rest go on.
      const fates = conns.map((c, i) => {
        if (i % 8 === 7) { // an unmasked frame: 1002, nothing after it read
          c.send(Buffer.concat([frame({ opcode: 1, payload: '4x', mask: false }), frame({ opcode: 1, payload: '4y' })]));
          return 'error';
        }
        if (i % 8 === 6) { // a close, then a message that does not count
          const code = Buffer.alloc(2);
          code.writeUInt16BE(1000);
          c.send(Buffer.concat([frame({ opcode: 8, payload: code }), frame({ opcode: 1, payload: '4y' })]));
          return 'close';
        }
        c.send(burst(i, ROUNDS).buf);
        return 'echo';
      });
      await Promise.all(conns.map(async (c, i) => {
        if (fates[i] === 'echo') return expectFrames(c, burst(i, ROUNDS).expect, `client ${i} last round`);
        const res = await c.waitClose(5000 * SLOW);
        assert.deepEqual(res.data, [], `client ${i}: data after its ${fates[i]}`);
        assert.equal(res.code, fates[i] === 'error' ? 1002 : 1000, `client ${i}: close code`);
      }));
    } finally {
      for (const c of conns) c.close();
      await stopAndCheckAs(server, 'server');
    }
    const m = /shared with the writer threads: (\d+) flushes, (\d+) batches of reads/.exec(server.stderr);
    assert.ok(m, 'the server did not log its writer-thread counts at exit');
    t.diagnostic(`writer threads: ${m[1]} flushes, ${m[2]} batches of reads`);
    assert.ok(Number(m[2]) > 0, 'no loop iteration had its reads (and frames) shared: the test did not reach the parallel path');
  });
});
