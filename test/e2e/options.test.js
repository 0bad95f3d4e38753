'use strict';
// Command-line options: banner, --path, and the values the open packet announces.

const { describe, it, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { useServer, SLOW, SCHEME, request, handshake } = require('./lib/server');
const { connect } = require('./lib/clients');
const { rawConnect } = require('./lib/ws');

const T = { timeout: 15000 * SLOW };

describe('default options', () => {
  const server = useServer();
  // SCHEME: "https" in TLS mode (E2E_TLS=1), else "http".
  it(`prints the banner "eio-echo listening on ${SCHEME}://localhost:<port>/engine.io/"`, T, () => {
    const line = server.stdout.split('\n').find((l) => l.includes('listening on'));
    assert.equal(line.trim(), `eio-echo listening on ${SCHEME}://localhost:${server.port}/engine.io/`);
  });
});

describe('--path /custom/ --ping-interval 4000 --ping-timeout 3000 --max-payload 5000', () => {
  const server = useServer(['--path', '/custom/', '--ping-interval', '4000', '--ping-timeout', '3000', '--max-payload', '5000']);
  const open = [];
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });

  it('prints the banner with the custom path', T, () => {
    assert.match(server.stdout, new RegExp(`eio-echo listening on ${SCHEME}://localhost:${server.port}/custom/`));
  });

  it('serves Engine.IO under the custom path with the configured values', T, async () => {
    const { open: o } = await handshake(Object.create(server, { path: { value: '/custom/' } }), 4);
    assert.equal(o.pingInterval, 4000);
    assert.equal(o.pingTimeout, 3000);
    assert.equal(o.maxPayload, 5000);
  });

  it('does not serve Engine.IO under /engine.io/ any more', T, async () => {
    const res = await request(server, { path: '/engine.io/?EIO=4&transport=polling', timeout: 2000 * SLOW }).catch((e) => e);
    if (!(res instanceof Error)) {
      assert.notEqual(res.status, 200);
      assert.ok(!res.text.startsWith('0{'), 'handshake answered under the default path');
    }
    const ws = await rawConnect(server, { path: '/engine.io/?EIO=4&transport=websocket' }).catch((e) => e);
    if (!(ws instanceof Error)) {
      assert.notEqual(ws.status, 101, 'WebSocket upgrade accepted under the default path');
      ws.close();
    }
  });

  for (const version of [4, 3]) {
    for (const transports of [['polling'], ['websocket'], undefined]) {
      it(`engine.io-client v${version} (${transports ? transports[0] : 'upgrade'}) echoes under /custom/`, T, async () => {
        const c = await connect(version, server, { transports, path: '/custom' });
        open.push(c);
        if (!transports) await c.waitUpgrade();
        c.send('custom path');
        assert.equal(await c.next(), 'custom path');
      });
    }
  }
});
