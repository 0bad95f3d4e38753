'use strict';
// Helpers for cluster-haproxy.test.js: a redis-server, C nodes
// (BUILD_DIR/sio-test --adapter redis://... --cookie io) and HAProxy with the
// shipped examples/cluster/haproxy.cfg (server lines appended, as
// examples/cluster/run.sh does), all on free loopback ports; HAProxy's
// stats socket (`show table`); Redis PUBSUB counts over raw RESP; and the
// official clients (socket.io-client 4.x and 2.x) with promise-based acks.
//
// Every process started goes into a Procs list; procs.stopAll() stops them
// in reverse order (HAProxy, nodes, Redis) and reports the C nodes that did
// not exit 0 on SIGTERM or left a sanitizer report.

const fs = require('node:fs');
const os = require('node:os');
const net = require('node:net');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { freePort, sleep, assertNoSanitizerReport } = require('./server');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BUILD_DIR = process.env.BUILD_DIR
  ? path.resolve(process.cwd(), process.env.BUILD_DIR)
  : path.join(ROOT, 'build');
// Everything is slower under AddressSanitizer: scale the waits.
const SLOW = Number(process.env.EIO_SLOW || (/asan|sanit/.test(BUILD_DIR) ? 2 : 1));
// The configuration under test: the shipped one (CLUSTER_HAPROXY_CFG names
// another, e.g. a broken copy to see the test fail).
const SHIPPED_CONFIG = process.env.CLUSTER_HAPROXY_CFG
  ? path.resolve(process.cwd(), process.env.CLUSTER_HAPROXY_CFG)
  : path.join(ROOT, 'examples', 'cluster', 'haproxy.cfg');
const REDIS_SERVER = process.env.REDIS_SERVER || '/usr/bin/redis-server';
const HAPROXY = process.env.HAPROXY
  || ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy', '/usr/bin/haproxy'].find((p) => fs.existsSync(p))
  || 'haproxy';
const HOST = '127.0.0.1';

// ---------------------------------------------------------------- processes

/** Resolves true once something accepts TCP connections on HOST:port. */
function accepting(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port }, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

/**
 * Spawns `cmd args` and resolves a handle once it is ready: stdout matched
 * `ready` (a RegExp), or, with `readyPort`, something accepts connections
 * on that port. Rejects (err.earlyExit) if the process exits first.
 */
function spawnReady(label, cmd, args, { env = {}, ready, readyPort, timeout = 10000 * SLOW }) {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    let isReady = false;
    let exitInfo = null;
    const exited = new Promise((res) => {
      proc.on('exit', (code, signal) => { exitInfo = { code, signal }; res(exitInfo); });
      // Not started at all (ENOENT): no 'exit' comes.
      proc.on('error', () => { if (!exitInfo && proc.pid === undefined) { exitInfo = { code: null, signal: null }; res(exitInfo); } });
    });
    const handle = {
      label,
      proc,
      exited,
      get stdout() { return stdout; },
      get stderr() { return stderr; },
      get exitInfo() { return exitInfo; },
      /** SIGTERM, then SIGKILL after `t` ms. Resolves { code, signal, timedOut }. */
      async stop(t = 5000 * SLOW) {
        if (exitInfo) return { ...exitInfo, timedOut: false };
        proc.kill('SIGTERM');
        let timer;
        const res = await Promise.race([exited, new Promise((r) => { timer = setTimeout(() => r(null), t); })]);
        clearTimeout(timer);
        if (res) return { ...res, timedOut: false };
        proc.kill('SIGKILL');
        return { ...(await exited), timedOut: true };
      },
    };
    const fail = (msg, early) => {
      clearTimeout(timer);
      const out = [stdout && `stdout: ${stdout}`, stderr && `stderr: ${stderr}`].filter(Boolean);
      const err = new Error([`${label}: ${msg}`, ...out].join('\n'));
      err.earlyExit = early;
      reject(err);
    };
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      fail(`not ready within ${timeout} ms`, false);
    }, timeout);
    const done = () => {
      if (isReady) return;
      isReady = true;
      clearTimeout(timer);
      resolve(handle);
    };
    proc.on('error', (err) => { if (!isReady) fail(`cannot start ${cmd}: ${err.message}`, false); });
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (d) => {
      stdout += d;
      if (ready && ready.test(stdout)) done();
    });
    proc.stderr.on('data', (d) => { stderr += d; });
    exited.then(({ code, signal }) => {
      if (!isReady && proc.pid !== undefined) fail(`exited before it was ready (code ${code}, signal ${signal})`, true);
    });
    if (readyPort) {
      (async () => {
        while (!isReady && !exitInfo) {
          if (await accepting(readyPort)) done();
          else await sleep(30);
        }
      })();
    }
  });
}

/** start(port) on a fresh free port, again (3 tries) if the process died early (port taken meanwhile). */
async function onFreePort(start) {
  let last;
  for (let i = 0; i < 3; i++) {
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

/** The processes of one test file, stopped by stopAll() (also after a failure). */
class Procs {
  constructor() {
    this.list = [];
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-haproxy-'));
  }

  add(handle, kind) {
    handle.kind = kind;
    this.list.push(handle);
    return handle;
  }

  /** redis-server on a free port: { port, url, ... }. */
  async redis() {
    if (!fs.existsSync(REDIS_SERVER)) {
      throw new Error(`${REDIS_SERVER} not found: apt-get install -y redis-server (or REDIS_SERVER=/path)`);
    }
    const h = await onFreePort((port) => spawnReady(`redis-server:${port}`, REDIS_SERVER,
      ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', this.tmp],
      { ready: /Ready to accept connections/ }).then((x) => Object.assign(x, { port })));
    h.url = `redis://${HOST}:${h.port}`;
    return this.add(h, 'redis');
  }

  /** BUILD_DIR/sio-test as cluster node `name` (NODE_NAME), --cookie io. */
  async cNode(redis, name, extraArgs = []) {
    const bin = path.join(BUILD_DIR, 'sio-test');
    const h = await onFreePort((port) => spawnReady(`sio-test ${name}`, bin,
      ['--port', String(port), '--host', HOST, '--adapter', redis.url, '--cookie', 'io', ...extraArgs],
      { env: { NODE_NAME: name }, ready: /listening on/ }).then((x) => Object.assign(x, { port })));
    h.name = name;
    return this.add(h, 'c');
  }

  /**
   * HAProxy with `configText` (written to a file) on a free port
   * (FRONT_ADDR/FRONT_PORT). Returns the handle with port, url, config
   * (the file), host and path (for lib/server.js's request()).
   */
  async haproxy(label, configText) {
    const file = path.join(this.tmp, `${label}.cfg`);
    fs.writeFileSync(file, configText);
    const h = await onFreePort((port) => spawnReady(`haproxy ${label}`, HAPROXY, ['-db', '-f', file], {
      env: { FRONT_ADDR: HOST, FRONT_PORT: String(port) }, readyPort: port,
    }).then((x) => Object.assign(x, { port }))).catch((err) => {
      err.message = err.message.replace(/ENOENT\b/, 'ENOENT (apt-get install -y haproxy, or HAPROXY=/path/to/haproxy)');
      throw err;
    });
    Object.assign(h, {
      config: file, host: HOST, path: '/socket.io/', url: `http://${HOST}:${h.port}`,
    });
    return this.add(h, 'haproxy');
  }

  /**
   * Stops everything, last started first. Returns the problems found (C
   * nodes that had died, did not exit 0 on SIGTERM, or left a sanitizer
   * report).
   */
  async stopAll() {
    const problems = [];
    for (const kind of ['haproxy', 'c', 'redis']) {
      await Promise.all(this.list.filter((h) => h.kind === kind).map(async (h) => {
        const wasRunning = h.exitInfo === null;
        const res = await h.stop();
        if (kind !== 'c') return;
        if (!wasRunning) problems.push(`${h.label} had died: ${JSON.stringify(h.exitInfo)}\nstderr: ${h.stderr}`);
        else if (res.timedOut || res.code !== 0 || res.signal !== null) {
          problems.push(`${h.label} exit after SIGTERM: ${JSON.stringify(res)}\nstderr: ${h.stderr}`);
        }
        try {
          assertNoSanitizerReport(h);
        } catch (e) {
          problems.push(`${h.label}: ${e.message}`);
        }
      }));
    }
    fs.rmSync(this.tmp, { recursive: true, force: true });
    return problems;
  }
}

// ---------------------------------------------------------------- configuration

const STICK_LINE = /^\s*stick(-table)?\s/;

/**
 * The shipped configuration with one `server` line per node appended (as
 * run.sh does), without its `stick` / `stick-table` lines when sticky is
 * false, and with a stats socket when statsSocket names one.
 */
function haproxyConfig(nodes, { sticky = true, statsSocket } = {}) {
  let text = fs.readFileSync(SHIPPED_CONFIG, 'utf8');
  if (!text.endsWith('\n')) text += '\n';
  if (!sticky) text = text.split('\n').filter((l) => !STICK_LINE.test(l)).join('\n');
  text += nodes.map((n) => `    server ${n.name} ${HOST}:${n.port}\n`).join('');
  if (statsSocket) text += `global\n    stats socket ${statsSocket} mode 600\n`;
  return text;
}

/** One command on HAProxy's stats socket; resolves the answer text. */
function haproxyCommand(socketPath, command) {
  return new Promise((resolve, reject) => {
    let out = '';
    const s = net.connect({ path: socketPath }, () => s.write(`${command}\n`));
    s.setEncoding('utf8');
    s.on('data', (d) => { out += d; });
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

/** `show table <name>`: Map key -> server name (server_key, else server_id). */
async function stickTable(socketPath, table, serverNames) {
  const text = await haproxyCommand(socketPath, `show table ${table}`);
  const map = new Map();
  for (const line of text.split('\n')) {
    const key = /\bkey=(\S+)/.exec(line);
    if (!key) continue;
    const skey = /\bserver_key=(\S+)/.exec(line);
    const sid = /\bserver_id=(\d+)/.exec(line);
    map.set(key[1], skey ? skey[1] : sid ? serverNames[Number(sid[1]) - 1] : null);
  }
  return { text, map };
}

// ---------------------------------------------------------------- Redis

function resp(args) {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** One Redis command whose answer is an integer or ends with one (PUBSUB NUMSUB/NUMPAT). */
function redisInteger(redis, args) {
  return new Promise((resolve, reject) => {
    let out = '';
    const s = net.connect({ host: HOST, port: redis.port }, () => s.write(resp(args)));
    s.setEncoding('utf8');
    s.setTimeout(3000, () => { s.destroy(); reject(new Error(`redis ${args.join(' ')}: no answer`)); });
    s.on('data', (d) => {
      out += d;
      const m = /:(\d+)\r\n$/.exec(out);
      if (m) { s.end(); resolve(Number(m[1])); }
    });
    s.on('error', reject);
  });
}

/** Waits until n nodes subscribed to the request channel of "/" and its broadcast pattern. */
async function waitSubscribed(redis, n, timeout = 10000 * SLOW) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = {
      numsub: await redisInteger(redis, ['PUBSUB', 'NUMSUB', 'socket.io-request#/#']),
      numpat: await redisInteger(redis, ['PUBSUB', 'NUMPAT']),
    };
    if (last.numsub === n && last.numpat >= n) return;
    if (Date.now() > deadline) throw new Error(`${n} nodes not subscribed within ${timeout} ms: ${JSON.stringify(last)}`);
    await sleep(50);
  }
}

// ---------------------------------------------------------------- clients

const CLIENT_MODULES = { 4: 'socket.io-client', 2: 'socket.io-client-v2' };
const opened = new Set();

/**
 * A client of `version` (4 or 2) to url's "/" namespace, connected. Each
 * socket records its disconnect reasons (sock.disconnects) and the
 * arguments of every event named by listen().
 */
function connectClient(version, url, { transports = ['polling'], timeout = 8000 * SLOW } = {}) {
  const io = require(CLIENT_MODULES[version]);
  const sock = io(url, {
    path: '/socket.io', forceNew: true, reconnection: false, transports, timeout,
  });
  sock.version = version;
  sock.disconnects = [];
  sock.got = new Map();
  sock.on('disconnect', (reason) => sock.disconnects.push(reason));
  opened.add(sock);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${version}.x client did not connect within ${timeout} ms`)), timeout);
    const onError = (err) => {
      clearTimeout(t);
      const e = new Error(`${version}.x client: connect failed: ${err && err.message ? err.message : JSON.stringify(err)}`);
      e.cause = err;
      reject(e);
    };
    sock.once('connect', () => { clearTimeout(t); resolve(sock); });
    sock.once('connect_error', onError);
    if (version === 2) sock.once('error', onError);
  });
}

/** Records every `event` the socket receives (sock.got.get(event): arrays of arguments). */
function listen(sock, event) {
  if (sock.got.has(event)) return;
  sock.got.set(event, []);
  sock.on(event, (...args) => sock.got.get(event).push(args));
}

/** emit with an acknowledgement; resolves its arguments. */
function ack(sock, event, ...args) {
  const timeout = 5000 * SLOW;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer to "${event}" within ${timeout} ms`)), timeout);
    sock.emit(event, ...args, (...res) => { clearTimeout(t); resolve(res); });
  });
}

/** The client's Engine.IO session id. */
function engineId(sock) {
  return sock.io.engine.id;
}

function transportName(sock) {
  const e = sock.io.engine;
  return e && e.transport && e.transport.name;
}

/** Resolves once the client's connection runs over websocket (after the upgrade). */
function waitUpgrade(sock, timeout = 8000 * SLOW) {
  const engine = sock.io.engine;
  if (transportName(sock) === 'websocket') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no upgrade within ${timeout} ms (transport ${transportName(sock)})`)), timeout);
    engine.once('upgrade', () => { clearTimeout(t); resolve(); });
  });
}

/** Closes every client opened by connectClient. */
function closeClients(socks = [...opened]) {
  for (const s of socks) {
    try {
      s.close();
    } catch {
      // already closed
    }
    opened.delete(s);
  }
}

/** Resolves fn()'s value once truthy; throws `what` after timeout ms. */
async function eventually(what, fn, { timeout = 5000 * SLOW, interval = 30 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeout} ms`);
    await sleep(interval);
  }
}

module.exports = {
  BUILD_DIR,
  SLOW,
  SHIPPED_CONFIG,
  HAPROXY,
  STICK_LINE,
  Procs,
  haproxyConfig,
  haproxyCommand,
  stickTable,
  waitSubscribed,
  connectClient,
  listen,
  ack,
  engineId,
  transportName,
  waitUpgrade,
  closeClients,
  eventually,
};
