'use strict';
// GET /metrics (--metrics): Prometheus text exposition 0.0.4. A known
// scenario against build/sio-test (two polling clients, one upgraded to
// WebSocket, a room joined, five messages echoed with acks, the WebSocket
// client killed), then the exact values scraped, the text checked by a
// small parser of the format; 404 without --metrics; build/eio-echo
// --metrics shows the engine's part alone.

const { describe, it, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { SLOW, useSio, connectClient, closeAll, ack } = require('./lib/sio');
const { request, startServer, stopAndCheckAs } = require('./lib/server');
const { waitFor } = require('./lib/extra');

const T = { timeout: 20000 * SLOW };
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Parses the text exposition format strictly enough for these tests:
 * HELP then TYPE before each family's samples, every sample line
 * `name{label="value",...} value`, label values unescaped, histogram
 * buckets cumulative and ending at +Inf == _count. Returns
 * { families: Map(name -> {help, type, samples: [{name, labels, value}]}),
 *   get(name, labels) }. Throws on anything malformed.
 */
function parseProm(text) {
  assert.ok(text.endsWith('\n'), 'the text ends with a newline');
  const families = new Map();
  let current = null;
  const lines = text.slice(0, -1).split('\n');
  for (const line of lines) {
    let m;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line))) {
      assert.ok(!families.has(m[1]), `family ${m[1]} once`);
      current = { name: m[1], help: m[2], type: null, samples: [] };
      families.set(m[1], current);
      continue;
    }
    if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      assert.ok(current && current.name === m[1] && !current.type && current.samples.length === 0,
        `TYPE ${m[1]} right after its HELP`);
      current.type = m[2];
      continue;
    }
    assert.ok(!line.startsWith('#'), `unexpected comment ${line}`);
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `malformed sample line: ${JSON.stringify(line)}`);
    const [, name, labelText, valueText] = m;
    const labels = {};
    if (labelText !== undefined) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
      let pos = 0;
      while (pos < labelText.length) {
        re.lastIndex = pos;
        const l = re.exec(labelText);
        assert.ok(l, `malformed labels: ${labelText}`);
        labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
        pos = re.lastIndex;
      }
    }
    const value = valueText === '+Inf' ? Infinity : Number(valueText);
    assert.ok(!Number.isNaN(value), `a number: ${valueText}`);
    assert.ok(current && current.type, `sample ${name} inside a family`);
    const suffix = name.slice(current.name.length);
    assert.ok(name.startsWith(current.name) &&
      (suffix === '' || (current.type === 'histogram' && ['_bucket', '_sum', '_count'].includes(suffix))),
      `sample ${name} belongs to ${current.name}`);
    if (current.type === 'counter') assert.match(current.name, /_total$/);
    current.samples.push({ name, labels, value });
  }
  for (const f of families.values()) {
    assert.ok(f.type && f.samples.length, `family ${f.name} has a type and samples`);
    if (f.type === 'histogram') {
      const buckets = f.samples.filter((s) => s.name.endsWith('_bucket'));
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value, 'cumulative');
      assert.equal(buckets[buckets.length - 1].labels.le, '+Inf');
      const count = f.samples.find((s) => s.name.endsWith('_count'));
      assert.equal(buckets[buckets.length - 1].value, count.value, '+Inf bucket == _count');
    }
  }
  const get = (name, labels = {}) => {
    for (const f of families.values()) {
      for (const s of f.samples) {
        if (s.name !== name) continue;
        if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)
          && Object.keys(s.labels).length === Object.keys(labels).length) return s.value;
      }
    }
    return undefined;
  };
  return { families, get };
}

async function scrape(server) {
  const r = await request(server, { path: '/metrics' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], CONTENT_TYPE);
  return parseProm(r.text);
}

describe('metrics: the parser of the test', () => {
  it('refuses malformed text', () => {
    assert.throws(() => parseProm('foo 1\n'));
    assert.throws(() => parseProm('# HELP a_total x\n# TYPE a_total counter\na_total{x="1} 2\n'));
    assert.throws(() => parseProm('# HELP a x\n# TYPE a counter\na 2\n'));
    assert.throws(() => parseProm('# HELP a_total x\n# TYPE a_total counter\na_total 2'));
    const p = parseProm('# HELP a_total x\n# TYPE a_total counter\na_total{x="q\\"\\\\\\n"} 2\n');
    assert.equal(p.get('a_total', { x: 'q"\\\n' }), 2);
  });
});

describe('metrics: sio-test --metrics', () => {
  const server = useSio('sio-test', ['--metrics']);
  afterEach(() => closeAll());

  it('answers HEAD with the headers and no body, POST with 405', T, async () => {
    const h = await request(server, { method: 'HEAD', path: '/metrics' });
    assert.equal(h.status, 200);
    assert.equal(h.headers['content-type'], CONTENT_TYPE);
    assert.equal(h.text, '');
    const p = await request(server, { method: 'POST', path: '/metrics', body: 'x' });
    assert.equal(p.status, 405);
  });

  it('counts a known scenario exactly', T, async () => {
    const before = await scrape(server);
    assert.equal(before.get('socketio_namespaces'), 3); // "/", "/custom", "/mw"
    for (const f of ['engineio_handshakes_total', 'engineio_upgrades_total', 'engineio_bytes_received_total',
      'engineio_bytes_sent_total', 'engineio_disconnects_total', 'engineio_loop_lag_seconds',
      'engineio_loop_lag_last_seconds', 'engineio_loop_lag_max_seconds', 'socketio_rooms']) {
      assert.ok(before.families.has(f), `family ${f}`);
    }
    assert.equal(before.get('engineio_handshakes_total', { transport: 'polling' }), 0);

    const polling = { name: 'polling', transports: ['polling'], final: 'polling' };
    const upgrade = { name: 'polling+upgrade', transports: ['polling', 'websocket'], final: 'websocket', upgrade: true };
    const a = await connectClient(4, server, '/', { mode: polling });
    const b = await connectClient(4, server, '/', { mode: polling });
    const c = await connectClient(4, server, '/', { mode: upgrade });
    const rooms = await ack(a, 'join', 'lobby');
    const echoes = [];
    for (let i = 0; i < 5; i++) echoes.push(await ack(b, 'echo', `msg-${i}`));

    const mid = await scrape(server);
    assert.equal(mid.get('engineio_clients', { transport: 'polling', protocol: '4' }), 2);
    assert.equal(mid.get('engineio_clients', { transport: 'websocket', protocol: '4' }), 1);
    assert.equal(mid.get('engineio_clients', { transport: 'polling', protocol: '3' }), 0);
    assert.equal(mid.get('socketio_sockets', { namespace: '/' }), 3);
    assert.equal(mid.get('socketio_rooms', { namespace: '/' }), 4); // 3 own rooms + "lobby"

    // Kill the WebSocket client: its TCP connection ends without a close frame.
    c.io.engine.transport.ws._socket.destroy();
    const after = await waitFor(async () => {
      const m = await scrape(server);
      return m.get('engineio_disconnects_total', { reason: 'transport close' }) === 1 ? m : null;
    }, { timeout: 5000 * SLOW, what: 'the killed client counted' });

    const get = after.get;
    assert.equal(get('engineio_clients', { transport: 'polling', protocol: '4' }), 2);
    assert.equal(get('engineio_clients', { transport: 'websocket', protocol: '4' }), 0);
    assert.equal(get('engineio_clients', { transport: 'websocket', protocol: '3' }), 0);
    assert.equal(get('engineio_clients', { transport: 'polling', protocol: '3' }), 0);
    assert.ok(get('engineio_connections') >= 1);
    assert.equal(get('engineio_handshakes_total', { transport: 'polling' }), 3);
    assert.equal(get('engineio_handshakes_total', { transport: 'websocket' }), 0);
    assert.equal(get('engineio_upgrades_total'), 1);
    assert.equal(get('engineio_handshakes_refused_total', { reason: 'max_clients' }), 0);
    assert.equal(get('engineio_handshakes_refused_total', { reason: 'allow_request' }), 0);
    assert.equal(get('engineio_send_queue_overflows_total'), 0);
    for (const reason of ['transport error', 'ping timeout', 'parse error', 'forced close', 'server shutting down', 'other']) {
      assert.equal(get('engineio_disconnects_total', { reason }), 0, reason);
    }
    // Packets: each client's CONNECT, one join, five echoes in; the three
    // open packets, three CONNECT answers and six acks out. No heartbeat yet
    // (pingInterval 25 s); the upgrade's probe packets are the transport's.
    assert.equal(get('engineio_packets_received_total', { type: 'message' }), 3 + 1 + 5);
    assert.equal(get('engineio_packets_sent_total', { type: 'message' }), 3 + 1 + 5);
    assert.equal(get('engineio_packets_sent_total', { type: 'open' }), 3);
    for (const type of ['open', 'close', 'ping', 'pong', 'upgrade', 'noop']) {
      assert.equal(get('engineio_packets_received_total', { type }), 0, `received ${type}`);
    }
    for (const type of ['close', 'ping', 'pong', 'upgrade', 'noop']) {
      assert.equal(get('engineio_packets_sent_total', { type }), 0, `sent ${type}`);
    }
    // Bytes: the packets' data. In: "0" three times, the join and the echoes
    // with their ack ids. Out: the open JSON (a 20-character sid each), the
    // CONNECT answers, the acks with what they carried.
    const bytesIn = 3 * '0'.length
      + Buffer.byteLength('20["join","lobby"]')
      + echoes.reduce((n, _, i) => n + Buffer.byteLength(`2${i}["echo","msg-${i}"]`), 0);
    assert.equal(get('engineio_bytes_received_total'), bytesIn);
    const open = JSON.stringify({ sid: 'x'.repeat(20), upgrades: ['websocket'], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000 });
    const bytesOut = 3 * open.length
      + 3 * `0${JSON.stringify({ sid: 'x'.repeat(20) })}`.length
      + Buffer.byteLength(`30${JSON.stringify(rooms)}`)
      + echoes.reduce((n, e, i) => n + Buffer.byteLength(`3${i}${JSON.stringify(e)}`), 0);
    assert.equal(get('engineio_bytes_sent_total'), bytesOut);
    // The loop runs its timers: lag figures are there and consistent.
    assert.ok(get('engineio_loop_lag_max_seconds') >= get('engineio_loop_lag_last_seconds'));
    assert.ok(get('engineio_loop_lag_seconds_count') >= 0);
    assert.ok(get('engineio_loop_lag_seconds_sum') >= 0);
    // Socket.IO: two sockets left in "/", their own rooms and "lobby".
    assert.equal(get('socketio_namespaces'), 3);
    assert.equal(get('socketio_sockets', { namespace: '/' }), 2);
    assert.equal(get('socketio_rooms', { namespace: '/' }), 3);
    assert.equal(get('socketio_sockets', { namespace: '/custom' }), 0);
    assert.equal(get('socketio_rooms', { namespace: '/custom' }), 0);
    assert.equal(get('socketio_sockets', { namespace: '/mw' }), 0);
  });
});

describe('metrics: off by default', () => {
  const server = useSio('sio-echo');

  it('answers 404 on /metrics without --metrics', T, async () => {
    const r = await request(server, { path: '/metrics' });
    assert.equal(r.status, 404);
  });
});

describe('metrics: eio-echo --metrics', () => {
  it('shows the engine part alone', T, async () => {
    const server = await startServer(['--metrics']);
    try {
      const m = await scrape(server);
      assert.equal(m.get('engineio_handshakes_total', { transport: 'polling' }), 0);
      assert.ok(![...m.families.keys()].some((f) => f.startsWith('socketio_')));
    } finally {
      await stopAndCheckAs(server, 'eio-echo');
    }
  });
});
