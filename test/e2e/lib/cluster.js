'use strict';
// Helpers for the cluster end-to-end tests (cluster-*.test.js): a real
// redis-server (Debian's /usr/bin/redis-server, or $REDIS_SERVER) on a free
// loopback port, C nodes (BUILD_DIR/sio-test --adapter redis://...) and Node
// nodes (fixtures/node-cluster-node.js: socket.io 4.8 +
// @socket.io/redis-adapter 8.x), a node-redis client for the tests' own
// Redis commands, and waits on PUBSUB NUMSUB / SHARDNUMSUB so that a test
// starts only once every node has subscribed.
//
// useCluster() registers an after() hook in the current suite that stops
// every node started through it (SIGTERM, asserting that each C node that
// was not killed on purpose exits 0 without a sanitizer report) and then
// Redis.
//
// The cluster suites run in plain mode only: TLS_SKIP is the `skip` reason
// for E2E_TLS=1 (the TLS pass re-runs every file; cluster behaviour does not
// depend on TLS).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const assert = require('node:assert/strict');
const { after } = require('node:test');
const { TLS, freePort, sleep, assertNoSanitizerReport, HOST } = require('./server');
const { BUILD_DIR, SLOW } = require('./sio');

const REDIS_SERVER = process.env.REDIS_SERVER || '/usr/bin/redis-server';
const FIXTURE = path.join(__dirname, '..', 'fixtures', 'node-cluster-node.js');
const TLS_SKIP = TLS
  ? 'cluster suites run in plain mode only: the E2E_TLS=1 pass re-runs every file, and the Redis adapter does not depend on TLS'
  : false;

// Every process spawned here, killed if this test process exits without its
// after() hooks (a crash, a cancelled run): no redis-server or node left over.
const live = new Set();
process.on('exit', () => {
  for (const p of live) {
    try {
      p.kill('SIGKILL');
    } catch {
      // gone
    }
  }
});

/**
 * Spawns `cmd args` (env added to process.env) and resolves once stdout
 * matched `ready`. Resolves a handle { proc, port, stdout, stderr, exited,
 * exitInfo, stop(), kill(), expectExit() }.
 */
function spawnReady(cmd, args, { env = {}, ready, readyTimeout, label, port }) {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    live.add(proc);
    let stdout = '';
    let stderr = '';
    let isReady = false;
    let exitInfo = null;
    let stopping = false;
    const exited = new Promise((res) => {
      proc.on('exit', (code, signal) => {
        live.delete(proc);
        exitInfo = { code, signal };
        res(exitInfo);
      });
    });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${label} did not become ready within ${readyTimeout} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, readyTimeout);
    proc.on('error', (err) => {
      clearTimeout(timer);
      if (!isReady) reject(new Error(`cannot start ${cmd}: ${err.message}`));
    });
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (d) => {
      stdout += d;
      if (!isReady && ready.test(stdout)) {
        isReady = true;
        clearTimeout(timer);
        resolve(handle);
      }
    });
    proc.stderr.on('data', (d) => {
      stderr += d;
    });
    exited.then(({ code, signal }) => {
      if (isReady) {
        if (!stopping) {
          console.error(`# ${label} (port ${port}) died during the tests: code ${code}, signal ${signal}\n# stderr: ${stderr.split('\n').join('\n# ')}`);
        }
        return;
      }
      clearTimeout(timer);
      const err = new Error(`${label} exited before it was ready (code ${code}, signal ${signal})\nstdout: ${stdout}\nstderr: ${stderr}`);
      err.earlyExit = true;
      reject(err);
    });
    const handle = {
      proc,
      port,
      label,
      exited,
      get stdout() { return stdout; },
      get stderr() { return stderr; },
      get exitInfo() { return exitInfo; },
      expectExit() { stopping = true; },
      /** Sends `signal`, waits up to `timeout` ms, then SIGKILL. Resolves { code, signal, timedOut }. */
      async stop({ signal = 'SIGTERM', timeout = 5000 * SLOW } = {}) {
        if (exitInfo) return { ...exitInfo, timedOut: false };
        stopping = true;
        proc.kill(signal);
        let t;
        const res = await Promise.race([
          exited.then((e) => ({ ...e, timedOut: false })),
          new Promise((r) => { t = setTimeout(() => r(null), timeout); }),
        ]);
        clearTimeout(t);
        if (res) return res;
        proc.kill('SIGKILL');
        return { ...(await exited), timedOut: true };
      },
      /** SIGKILL, and waits for the exit. */
      async kill() {
        stopping = true;
        if (!exitInfo) proc.kill('SIGKILL');
        return exited;
      },
    };
  });
}

/** Retries `start(port)` on a fresh free port when the process died early (port taken meanwhile). */
async function onFreePort(start) {
  let last;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await start(port);
    } catch (err) {
      last = err;
      if (!err.earlyExit) break;
    }
  }
  throw last;
}

// ---------------------------------------------------------------- Redis

function redisArgs(port) {
  return [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--protected-mode', 'yes', '--daemonize', 'no', '--dir', os.tmpdir(), '--logfile', '',
  ];
}

/**
 * Starts redis-server on a free loopback port. Returns
 * { port, url, proc (current), stop(), kill(), restart() }: kill() is SIGKILL,
 * restart() starts a new redis-server on the same port (empty).
 */
async function startRedis() {
  if (!fs.existsSync(REDIS_SERVER)) {
    throw new Error(`${REDIS_SERVER} not found: the cluster tests need Debian's redis-server (apt-get install redis-server), or REDIS_SERVER=/path`);
  }
  const launch = (port) => spawnReady(REDIS_SERVER, redisArgs(port), {
    ready: /Ready to accept connections/, readyTimeout: 10000, label: `redis-server:${port}`, port,
  });
  let handle = await onFreePort(launch);
  const redis = {
    port: handle.port,
    url: `redis://127.0.0.1:${handle.port}`,
    get proc() { return handle.proc; },
    get handle() { return handle; },
    get running() { return handle.exitInfo === null; },
    async stop() { return handle.stop({ timeout: 3000 }); },
    async kill() { return handle.kill(); },
    /** A new redis-server on the same port; retried for 3 s if the port is still held. */
    async restart() {
      if (handle.exitInfo === null) await handle.kill();
      const deadline = Date.now() + 3000;
      for (;;) {
        try {
          handle = await launch(redis.port);
          return redis;
        } catch (err) {
          if (!err.earlyExit || Date.now() > deadline) throw err;
          await sleep(100);
        }
      }
    },
  };
  return redis;
}

/** A connected node-redis v4 client to `redis` (errors while Redis is down are swallowed). */
async function redisClient(redis) {
  const { createClient } = require('redis');
  const c = createClient({ url: redis.url, socket: { reconnectStrategy: (n) => Math.min(100 * (n + 1), 1000) } });
  c.on('error', () => {});
  await c.connect();
  return c;
}

// ---------------------------------------------------------------- nodes

function adapterArgs(redis, { mode = 'classic', subscriptionMode, requestsTimeout } = {}) {
  const a = ['--adapter', redis.url];
  if (mode) a.push('--adapter-mode', mode);
  if (subscriptionMode) a.push('--subscription-mode', subscriptionMode);
  if (requestsTimeout) a.push('--requests-timeout', String(requestsTimeout));
  return a;
}

function asNode(handle, kind, name, opts) {
  return Object.defineProperties({}, Object.getOwnPropertyDescriptors({
    kind,
    name,
    opts,
    port: handle.port,
    host: HOST,
    path: '/socket.io/',
    httpUrl: `http://${HOST}:${handle.port}`,
    wsUrl: `ws://${HOST}:${handle.port}`,
    tls: false,
    handle,
    get proc() { return handle.proc; },
    get stdout() { return handle.stdout; },
    get stderr() { return handle.stderr; },
    get exitInfo() { return handle.exitInfo; },
    get exited() { return handle.exited; },
    expectExit() { handle.expectExit(); },
    stop(o) { return handle.stop(o); },
    kill() { return handle.kill(); },
  }));
}

/**
 * Starts BUILD_DIR/sio-test as node `name` (NODE_NAME) of the cluster on
 * `redis`. opts: mode (classic|sharded), subscriptionMode, requestsTimeout,
 * args (extra flags).
 */
async function startCNode(redis, name, opts = {}) {
  const bin = path.join(BUILD_DIR, 'sio-test');
  const handle = await onFreePort((port) => spawnReady(bin,
    ['--port', String(port), '--host', HOST, ...adapterArgs(redis, opts), ...(opts.args || [])], {
      env: { NODE_NAME: name }, ready: /listening on/, readyTimeout: 10000 * SLOW, label: `sio-test ${name}`, port,
    }));
  return asNode(handle, 'c', name, opts);
}

/** Starts the Node fixture as node `name`; same options as startCNode. */
async function startNodeNode(redis, name, opts = {}) {
  const handle = await onFreePort((port) => spawnReady(process.execPath,
    [FIXTURE, '--port', String(port), ...adapterArgs(redis, opts)], {
      env: { NODE_NAME: name }, ready: /listening on/, readyTimeout: 15000, label: `node-cluster-node ${name}`, port,
    }));
  return asNode(handle, 'node', name, opts);
}

/**
 * Polls PUBSUB NUMSUB (classic: socket.io-request#<nsp>#) or SHARDNUMSUB
 * (sharded: socket.io#<nsp>#) until it is `n` for every namespace in nsps.
 */
async function waitSubscribers(client, n, { mode = 'classic', nsps = ['/', '/custom'], timeout = 10000 * SLOW } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = {};
    for (const nsp of nsps) {
      last[nsp] = mode === 'sharded'
        ? await numSub(client, 'SHARDNUMSUB', `socket.io#${nsp}#`)
        : await numSub(client, 'NUMSUB', `socket.io-request#${nsp}#`);
    }
    if (Object.values(last).every((x) => x === n)) return;
    if (Date.now() > deadline) {
      assert.fail(`expected ${n} subscribers (${mode}) per namespace within ${timeout} ms, have ${JSON.stringify(last)}`);
    }
    await sleep(50);
  }
}

/** PUBSUB NUMSUB|SHARDNUMSUB channel: the count. */
async function numSub(client, kind, channel) {
  const r = await client.sendCommand(['PUBSUB', kind, channel]);
  return Number(r[1]);
}

/** Polls until `PUBSUB kind channel` is n (a dynamic room channel, say). */
async function waitNumSub(client, kind, channel, n, timeout = 5000 * SLOW) {
  const deadline = Date.now() + timeout;
  let got;
  for (;;) {
    got = await numSub(client, kind, channel);
    if (got === n) return;
    if (Date.now() > deadline) assert.fail(`PUBSUB ${kind} ${channel}: ${got}, expected ${n} within ${timeout} ms`);
    await sleep(30);
  }
}

/**
 * Registers an after() hook in the current suite that stops every node and
 * Redis started through the returned object:
 *   c.redis()             starts (once) and returns the Redis server
 *   c.cNode(name, opts)   a C node
 *   c.nodeNode(name, opts) a Node node
 *   c.client()            a node-redis client (closed at the end)
 * C nodes that were not killed on purpose must exit 0 on SIGTERM without a
 * sanitizer report.
 */
function useCluster() {
  const nodes = [];
  const clients = [];
  let redis = null;
  let starting = null;
  const c = {
    nodes,
    async redis() {
      if (!starting) starting = startRedis().then((r) => { redis = r; return r; });
      return starting;
    },
    get redisServer() { return redis; },
    async cNode(name, opts) {
      const n = await startCNode(await c.redis(), name, opts);
      nodes.push(n);
      return n;
    },
    async nodeNode(name, opts) {
      const n = await startNodeNode(await c.redis(), name, opts);
      nodes.push(n);
      return n;
    },
    async client() {
      const cl = await redisClient(await c.redis());
      clients.push(cl);
      return cl;
    },
  };
  after(async () => {
    const problems = [];
    await Promise.all(nodes.map(async (n) => {
      const wasRunning = n.exitInfo === null;
      const res = await n.stop();
      if (n.kind !== 'c' || n.killedOnPurpose) return;
      if (!wasRunning) {
        problems.push(`C node ${n.name} had died during the tests: ${JSON.stringify(n.exitInfo)}\nstderr: ${n.stderr}`);
        return;
      }
      if (res.timedOut) problems.push(`C node ${n.name} did not exit within the time limit after SIGTERM`);
      else if (res.code !== 0 || res.signal !== null) {
        problems.push(`C node ${n.name} exit after SIGTERM: ${JSON.stringify(res)}\nstderr: ${n.stderr}`);
      }
      try {
        assertNoSanitizerReport(n);
      } catch (e) {
        problems.push(`C node ${n.name}: ${e.message}`);
      }
    }));
    for (const cl of clients) {
      try {
        await cl.disconnect();
      } catch {
        // already closed
      }
    }
    if (redis) await redis.stop();
    if (problems.length) assert.fail(problems.join('\n\n'));
  });
  return c;
}

// ---------------------------------------------------------------- test helpers

const { connectClient, ack, MODES, norm } = require('./sio');

const WS = MODES[1];
const POLLING = MODES[0];

/**
 * Payloads that must cross the cluster unchanged: strings (unicode: emoji,
 * CJK, astral, separators), integers around every msgpack width and past
 * 2^32, negative integers, floats, nested objects and arrays, null,
 * booleans. JSON_PAYLOADS has no binary (requests that Node sends as JSON,
 * such as serverSideEmit and socket.data in fetchSockets, turn Buffers into
 * {type, data} objects in Node itself); PAYLOADS adds binary, nested too.
 * No integral double above 2^64 (1.7976931348623157e308, say): notepack.io
 * 3.0.1 takes it for an integer and encodes garbage (it arrives as 0 even
 * between two Node nodes). Five binary values at most: socket.io-parser
 * 4.2.7 refuses packets of more than 10 attachments.
 */
const JSON_PAYLOADS = [
  'plain ascii',
  '',
  'émoji 😀🎉👍🏽 CJK 漢字かな한국어 astral 𝄞𐍈🀄 sep \u2028\u2029 "quoted" \\ back/slash \t\n\r',
  'x'.repeat(300),
  0, 1, -1, 127, 128, 255, 256, -32, -33, -128, -129, 65535, 65536, -32768, -32769,
  2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 32 + 7, -(2 ** 32) - 7, 2 ** 40 + 1, 2 ** 53 - 1, -(2 ** 53 - 1),
  0.5, -1.25, 3.141592653589793, 1e-300, -2.5e-10, 5e-324, 123456.789, -98765.4321,
  true, false, null,
  [], {},
  [1, 'two', [3, [4, [5, [6]]]], null, true],
  {
    nested: { deeper: { deepest: ['x', { k: 'v', n: -7, f: 0.25 }] } },
    'key with spaces': 1,
    'ключ': 'значение',
    '😀': '🎉',
    big: 2 ** 33,
    empty: {},
    list: [],
  },
];
const PAYLOADS = [
  ...JSON_PAYLOADS,
  Buffer.from([0, 1, 2, 127, 128, 254, 255]),
  { bin: Buffer.from('binary inside an object'), list: [Buffer.from([7]), 'not binary', { deep: Buffer.alloc(300, 0xab) }] },
  Buffer.alloc(0),
];

/** Resolves when fn() resolves truthy; fails with `what` after `timeout` ms. Resolves fn's value. */
async function eventually(what, fn, { timeout = 5000 * SLOW, interval = 50 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      assert.fail(`${what}: not within ${timeout} ms (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    }
    await sleep(interval);
  }
}

/**
 * Connects socket.io-client 4.x clients: specs [{node, nsp = '/', mode =
 * WS|POLLING, label, auth, query}]. Each returned socket gets .node, .nsp,
 * .label, .model (the Set of rooms the test expects it in: its id at
 * first).
 */
async function connectAll(specs) {
  const socks = await Promise.all(specs.map(async (sp, i) => {
    const opts = { mode: sp.mode || WS };
    if (sp.auth !== undefined) opts.auth = sp.auth;
    if (sp.query !== undefined) opts.query = sp.query;
    const s = await connectClient(4, sp.node, sp.nsp || '/', opts);
    s.node = sp.node;
    s.nspName = sp.nsp || '/';
    s.label = sp.label || `${sp.node.name}-${i}`;
    s.modeName = (sp.mode || WS).name;
    s.model = new Set([s.id]);
    return s;
  }));
  return socks;
}

/** join on the client's own node; asserts the answer and updates .model. */
async function join(sock, room) {
  const [rooms] = await ack(sock, 'join', room);
  assert.ok(Array.isArray(rooms) && rooms.includes(room), `join ${room} answered ${JSON.stringify(rooms)}`);
  sock.model.add(room);
}

const sorted = (a) => [...a].sort();
const ids = (socks) => sorted(socks.map((s) => s.id));

/**
 * Who must get a broadcast from `sender` with emit-to options o (Node's
 * rules: rooms is a union, except removes, broadcast drops the sender, local
 * keeps the sender's node), among `clients` of the sender's namespace.
 */
function receivers(clients, sender, o) {
  return clients.filter((c) => {
    if (c.nspName !== sender.nspName) return false;
    if (o.rooms && o.rooms.length && !o.rooms.some((r) => c.model.has(r))) return false;
    if (o.except && o.except.some((r) => c.model.has(r))) return false;
    if (o.broadcast && c === sender) return false;
    if (o.local && c.node !== sender.node) return false;
    return true;
  });
}

let runSeq = 0;

/**
 * The sender emits every case (emit-to opts) with `args`; then a sentinel to
 * all (per-client order: Redis keeps the publish order, and local delivery
 * is immediate) proves that every earlier broadcast arrived. Each client's
 * received case names must be exactly those whose receivers() include it, in
 * order, each with `args` deep-equal.
 */
async function broadcastMatrix(clients, sender, cases, args, { wait = 4000 * SLOW, unorderedOnSenderNode = false } = {}) {
  const run = `${sender.label}-${++runSeq}`;
  const ev = `bc-${run}`;
  for (const [name, opts] of cases) {
    // Node drops a volatile packet while the transport is still writing the
    // previous one (websocket too): let every transport drain first.
    if (opts.volatile) await sleep(150 * SLOW);
    assert.deepEqual(await ack(sender, 'emit-to', opts, ev, name, ...args), [true], `emit-to ${name}`);
    if (opts.volatile) await sleep(150 * SLOW);
  }
  await ack(sender, 'emit-to', {}, `sentinel-${run}`, 'end');
  const same = clients.filter((c) => c.nspName === sender.nspName);
  await Promise.all(same.map(async (c) => {
    assert.deepEqual(await c.inbox.next(`sentinel-${run}`, wait), ['end'], `sentinel to ${c.label}`);
  }));
  for (const c of clients) {
    const expected = cases.filter(([, o]) => receivers(clients, sender, o).includes(c)).map(([name]) => name);
    const got = c.inbox.all(ev);
    // Node's sharded adapter (ClusterAdapter) delivers locally only after
    // SPUBLISH answered, so a later local-only broadcast can overtake an
    // earlier one on the sender's node: compare as sets there.
    const order = unorderedOnSenderNode && c.node === sender.node ? sorted : (x) => x;
    assert.deepEqual(order(got.map((g) => g[0])), order(expected),
      `broadcasts from ${sender.label} (${sender.node.name}) received by ${c.label} (${c.node.name}, ${c.modeName})`);
    for (const g of got) {
      assert.deepEqual(g.slice(1), args, `arguments of "${g[0]}" received by ${c.label} (${c.node.name})`);
    }
  }
}

/**
 * The standard cases, with rooms "ra"/"rb" and the ids of clients on other
 * nodes. `polling` lists clients left out of the volatile cases (a polling
 * client may miss a volatile packet while no GET is pending).
 */
function standardCases(clients, sender, { polling = [] } = {}) {
  const others = clients.filter((c) => c !== sender && c.nspName === sender.nspName);
  const remote = others.find((c) => c.node !== sender.node);
  const remote2 = others.filter((c) => c.node !== sender.node).slice(-1)[0];
  return [
    ['all', {}],
    ['to ra', { rooms: ['ra'] }],
    ['to ra+rb (each once)', { rooms: ['ra', 'rb'] }],
    ['except rb', { except: ['rb'] }],
    ['to ra except rb', { rooms: ['ra'], except: ['rb'] }],
    ['broadcast (sender excluded)', { broadcast: true }],
    ['broadcast to rb', { broadcast: true, rooms: ['rb'] }],
    ['broadcast except ra', { broadcast: true, except: ['ra'] }],
    [`to a remote client by its id`, { rooms: [remote.id] }],
    [`except a remote client by its id`, { except: [remote2.id] }],
    ['to ra and a remote id', { rooms: ['ra', remote2.id] }],
    ['to nobody', { rooms: ['nobody-here'] }],
    ['local', { local: true }],
    ['local to rb', { local: true, rooms: ['rb'] }],
    ['local broadcast', { local: true, broadcast: true }],
    ['compress false', { compress: false }],
    ['volatile (websocket clients)', { volatile: true, except: polling.map((c) => c.id) }],
    ['volatile to ra', { volatile: true, rooms: ['ra'], except: polling.map((c) => c.id) }],
  ];
}

/**
 * lib/sio.js's ack with a wait of its own: for requests that must answer
 * within their timeout (broadcast-ask, sse-ack), so that one that never
 * answers fails soon.
 */
function ackWithin(ms, sock, ev, ...args) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for "${ev}" within ${ms} ms`)), ms);
    sock.emit(ev, ...args, (...res) => {
      clearTimeout(timer);
      resolve(norm(res));
    });
  });
}

/** Counts the lines of `text` matching re. */
function countLines(text, re) {
  return text.split('\n').filter((l) => re.test(l)).length;
}

/**
 * The channels a sharded node in `subscriptionMode` subscribes for its rooms
 * (dynamic: public rooms; dynamic-private: every room; static: none): waits
 * until SHARDNUMSUB of each is the number of nodes with a member.
 */
async function waitRoomChannels(client, clients, subscriptionMode) {
  if (subscriptionMode === 'static') return;
  const byRoom = new Map();
  for (const c of clients) {
    for (const r of c.model) {
      if (subscriptionMode === 'dynamic' && r === c.id) continue;
      const key = `socket.io#${c.nspName}#${r}#`;
      if (!byRoom.has(key)) byRoom.set(key, new Set());
      byRoom.get(key).add(c.node);
    }
  }
  for (const [ch, nodesWith] of byRoom) await waitNumSub(client, 'SHARDNUMSUB', ch, nodesWith.size);
}

module.exports = {
  REDIS_SERVER,
  FIXTURE,
  TLS_SKIP,
  startRedis,
  redisClient,
  startCNode,
  startNodeNode,
  waitSubscribers,
  waitNumSub,
  numSub,
  useCluster,
  WS,
  POLLING,
  JSON_PAYLOADS,
  PAYLOADS,
  eventually,
  connectAll,
  join,
  sorted,
  ids,
  receivers,
  broadcastMatrix,
  standardCases,
  countLines,
  ackWithin,
  waitRoomChannels,
};
