'use strict';
// The same checks run for both official clients (EIO=3 and EIO=4) over each
// transport setup: polling only, websocket only, and polling then upgrade.

const { describe, it, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { useServer, SLOW, sleep, expectSidForgotten } = require('./server');
const { connect } = require('./clients');

const T = { timeout: 20000 * SLOW };
const MAX_PAYLOAD = 1000000;

const MODES = [
  { name: 'polling only', transports: ['polling'], final: 'polling' },
  { name: 'websocket only', transports: ['websocket'], final: 'websocket' },
  { name: 'polling then upgrade', transports: undefined, final: 'websocket' },
];

const UNICODE = [
  'héllo wörld',
  'emoji 😀👍🏽🏳️‍🌈 end',
  'line\u2028sep\u2029para',
  '日本語のテキスト',
  'nul\u0000inside',
  '"quotes" \\backslash\\ \n\r\t',
  // No U+001E: it separates packets in EIO4 polling payloads and cannot be sent there.
  '12:colons: 3:4x',
  '4not-a-type-prefix',
];

function pattern(n, seed = 0) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed + (i >> 8)) & 0xff;
  return b;
}

function defineClientSuite(version) {
  describe(`engine.io-client v${version === 4 ? '6.x (EIO=4)' : '3.x (EIO=3)'}`, () => {
    const server = useServer();
    const open = [];
    afterEach(() => {
      for (const c of open.splice(0)) c.close();
    });

    async function client(mode, extra = {}) {
      const c = await connect(version, server, { transports: mode.transports, ...extra });
      open.push(c);
      if (mode.final === 'websocket' && !mode.transports) await c.waitUpgrade();
      assert.equal(c.transportName, mode.final);
      return c;
    }

    for (const mode of MODES) {
      describe(mode.name, () => {
        it('connects with a 20-character sid on the expected transport', T, async () => {
          const c = await client(mode);
          assert.match(c.id, /^[A-Za-z0-9_-]{20}$/);
          if (!mode.transports) {
            assert.equal(c.events.upgrade, 1, "no 'upgrade' event");
            assert.equal(c.transportName, 'websocket');
          }
        });

        it('echoes a text message', T, async () => {
          const c = await client(mode);
          c.send('hello');
          assert.equal(await c.next(), 'hello');
          c.send('world');
          assert.equal(await c.next(), 'world');
        });

        it('echoes unicode text unchanged (emoji, U+2028, NUL)', T, async () => {
          const c = await client(mode);
          for (const s of UNICODE) c.send(s);
          const got = await c.take(UNICODE.length);
          assert.deepEqual(got, UNICODE);
        });

        it('echoes binary messages byte for byte as binary', T, async () => {
          const c = await client(mode);
          const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
          const small = Buffer.from([0x04, 0x00, 0xff]);
          const mid = pattern(70000, 7);
          c.send(all);
          c.send(small);
          c.send(new Uint8Array(mid).buffer);
          const got = await c.take(3);
          for (const g of got) assert.ok(Buffer.isBuffer(g), `binary came back as ${typeof g}: ${String(g).slice(0, 40)}`);
          assert.ok(got[0].equals(all), 'all-bytes buffer differs');
          assert.ok(got[1].equals(small), 'small buffer differs');
          assert.ok(got[2].equals(mid), '70000-byte buffer differs');
        });

        it('keeps text and binary apart: a text that looks like base64 stays text', T, async () => {
          const c = await client(mode);
          c.send('bAQIDBA==');
          c.send(Buffer.from('hi'));
          c.send('hi');
          const got = await c.take(3);
          assert.equal(got[0], 'bAQIDBA==');
          assert.ok(Buffer.isBuffer(got[1]) && got[1].equals(Buffer.from('hi')));
          assert.equal(got[2], 'hi');
        });

        it('returns 500 back-to-back messages in order', T, async () => {
          const c = await client(mode);
          const sent = [];
          for (let i = 0; i < 500; i++) {
            const m = i % 7 === 3 ? Buffer.from(`bin-${i}`) : `msg-${i}`;
            sent.push(m);
            c.send(m);
          }
          const got = await c.take(500, 30000 * SLOW);
          for (let i = 0; i < 500; i++) {
            if (Buffer.isBuffer(sent[i])) {
              assert.ok(Buffer.isBuffer(got[i]) && got[i].equals(sent[i]), `message ${i} differs: ${got[i]}`);
            } else {
              assert.equal(got[i], sent[i], `message ${i} out of order`);
            }
          }
        });

        it('echoes a text message close to max payload and a large binary one', { timeout: 40000 * SLOW }, async () => {
          const c = await client(mode);
          const text = 'x'.repeat(MAX_PAYLOAD - 100).replace(/x{1000}$/, 'é'.repeat(500));
          assert.ok(Buffer.byteLength(text) <= MAX_PAYLOAD - 100);
          c.send(text);
          const gotText = await c.next(30000 * SLOW);
          assert.equal(typeof gotText, 'string');
          assert.equal(gotText.length, text.length);
          assert.ok(gotText === text, 'large text differs');
          // 740000 bytes are 986668 in base64: within max payload on polling too.
          const bin = pattern(740000, 3);
          c.send(bin);
          const gotBin = await c.next(30000 * SLOW);
          assert.ok(Buffer.isBuffer(gotBin) && gotBin.equals(bin), 'large binary differs');
          c.send('after');
          assert.equal(await c.next(), 'after');
        });

        it('closes cleanly from the client and the server forgets the session', T, async () => {
          const c = await client(mode);
          c.send('bye?');
          assert.equal(await c.next(), 'bye?');
          const sid = c.id;
          c.close();
          const info = await c.waitClose();
          assert.equal(info.reason, 'forced close');
          await expectSidForgotten(server, version, sid);
        });

        it('is closed by the server on "close-me" (no echo)', T, async () => {
          const c = await client(mode);
          const sid = c.id;
          c.send('close-me');
          const info = await c.waitClose();
          assert.equal(info.reason, 'transport close');
          await sleep(50);
          await assert.rejects(c.next(10), /closed/, 'close-me was echoed');
          await expectSidForgotten(server, version, sid);
        });
      });
    }

    describe('server close over polling, repeated', () => {
      it('"close-me" right after open gives a clean "transport close" 20 times out of 20', { timeout: 40000 * SLOW }, async () => {
        const reasons = {};
        for (let i = 0; i < 20; i++) {
          const c = await connect(version, server, { transports: ['polling'] });
          open.push(c);
          c.send('close-me');
          const info = await c.waitClose();
          const desc = info.desc && (info.desc.message || info.desc.description || info.desc);
          const k = info.reason === 'transport close' ? info.reason : `${info.reason} (${desc})`;
          reasons[k] = (reasons[k] || 0) + 1;
        }
        assert.deepEqual(reasons, { 'transport close': 20 });
      });
    });

    describe('upgrade while sending', () => {
      it('keeps order for messages sent before, during and after the upgrade', { timeout: 40000 * SLOW }, async () => {
        const c = await connect(version, server, {});
        open.push(c);
        assert.equal(c.transportName, 'polling');
        const sent = [];
        let beforeUpgrade = 0;
        let upgradedAt = -1;
        c.socket.on('upgrade', () => { upgradedAt = sent.length; });
        const deadline = Date.now() + 10000 * SLOW;
        // A few messages every tick until the upgrade happened and at least 500 went out.
        while ((upgradedAt < 0 || sent.length < upgradedAt + 100 || sent.length < 500) && Date.now() < deadline) {
          for (let k = 0; k < 5; k++) {
            const i = sent.length;
            const m = i % 11 === 5 ? Buffer.from(`b${i}`) : `m${i}`;
            sent.push(m);
            c.send(m);
          }
          if (upgradedAt < 0) beforeUpgrade = sent.length;
          await sleep(2);
        }
        assert.ok(upgradedAt > 0, `no upgrade while sending (${sent.length} messages sent)`);
        assert.ok(beforeUpgrade > 0);
        const got = await c.take(sent.length, 30000 * SLOW);
        for (let i = 0; i < sent.length; i++) {
          if (Buffer.isBuffer(sent[i])) {
            assert.ok(Buffer.isBuffer(got[i]) && got[i].equals(sent[i]), `message ${i} differs`);
          } else {
            assert.equal(got[i], sent[i], `message ${i} out of order (upgrade after ${upgradedAt})`);
          }
        }
        assert.equal(c.transportName, 'websocket');
      });
    });

    describe('empty messages', () => {
      for (const mode of MODES) {
        it(`echoes an empty text and an empty binary message (${mode.name})`, T, async () => {
          const c = await client(mode);
          c.send('');
          c.send(Buffer.alloc(0));
          c.send('end');
          const got = await c.take(3);
          assert.equal(got[0], '');
          assert.ok(Buffer.isBuffer(got[1]) && got[1].length === 0, `empty binary came back as ${JSON.stringify(got[1])}`);
          assert.equal(got[2], 'end');
        });
      }
    });
  });
}

module.exports = { defineClientSuite, UNICODE, pattern };
