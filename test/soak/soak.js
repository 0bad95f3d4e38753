'use strict';
// The soak test (`make soak`, README "Tests"): SOAK_SECONDS (1800) of churn on
// loopback against one bench-server built with ASan+LSan (build/asan), while
// the server's RSS and open descriptors are sampled every 10 s into
// <out>/rss.csv and plotted into <out>/rss.png (test/soak/plot.js, Chromium).
//
// bench-server is the target (bench/server.c: echo acks its arguments,
// join(room), broadcast(room, payload) emits "bcast" to the room then acks):
// it has rooms and acks and keeps nothing per disconnect (sio-test logs every
// disconnect's reasons for its `reasons` event: growth by design).
//
// The churn, SOAK_CLIENTS (40) lives at a time, each one:
//   - connects over polling only, WebSocket only, or polling then upgrade;
//   - joins one of 8 rooms, then for 3-15 s emits echo (strings, unicode,
//     binary) and broadcast with acks, checking every answer, and that a
//     broadcast's sender got its own "bcast" before the ack;
//   - waits for its acks, then ends: disconnect (half), or drops without a
//     close (its TCP sockets destroyed: the WebSocket's, or every polling
//     request's through its http.Agent).
// And up to 2 slow readers at a time: a WebSocket client stops reading its
// socket for 5-15 s while it floods its own room, half of them with 32 KB
// broadcasts (1.6 MB/s: once the kernel's buffers are full the server
// queues, and closes it past --max-send-queue 512 KiB), half with 4 KB ones
// (40 KB/s, which the buffers absorb), then reads
// again and leaves if it is still connected.
//
// Pass, checked here (exit 1 otherwise, with the reasons):
//   - errors 0: every connect succeeded, every ack came back right and in
//     time (15 s), no client was disconnected by the server but slow readers;
//   - RSS flat: the mean of the last third of the samples is within
//     SOAK_RSS_TOLERANCE (10 %; 30 % for runs under 5 minutes, whose thirds
//     are seconds long) of the mean of the second third (the first third is
//     the warm-up);
//   - descriptors back to the baseline (measured after one client came and
//     went) within 60 s of the last client leaving;
//   - SIGTERM: exit status 0 within 30 s, and no sanitizer report
//     (AddressSanitizer, LeakSanitizer, UBSan) on stderr.
//
// Usage: node test/soak/soak.js [--seconds N] [--build DIR] [--out DIR]
// Environment: SOAK_SECONDS, SOAK_CLIENTS, SOAK_SAMPLE_SECONDS (10),
// SOAK_RSS_TOLERANCE.

const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { isDeepStrictEqual } = require('node:util');

const ROOT = path.resolve(__dirname, '..', '..');
const E2E_MODULES = path.join(ROOT, 'test', 'e2e', 'node_modules');
const { io } = require(path.join(E2E_MODULES, 'socket.io-client'));
const { plot } = require('./plot');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const SECONDS = Number(arg('seconds', process.env.SOAK_SECONDS || 1800));
const BUILD = path.resolve(ROOT, arg('build', 'build/asan'));
const OUT = path.resolve(ROOT, arg('out', 'build/soak'));
const CLIENTS = Number(process.env.SOAK_CLIENTS || 40);
const SAMPLE_MS = 1000 * Number(process.env.SOAK_SAMPLE_SECONDS || 10);
const RSS_TOLERANCE = Number(process.env.SOAK_RSS_TOLERANCE || (SECONDS < 300 ? 0.3 : 0.1));
const ROOMS = 8;
const SLOW_READERS = 2;
const MAX_SEND_QUEUE = 512 * 1024; // the server's cap on a connection's write queue
const ACK_TIMEOUT = 15000;
const HOST = '127.0.0.1';
// Descriptors must be back to the baseline within this many seconds of the
// last client leaving.
const DRAIN_SECONDS = 60;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rand = (lo, hi) => lo + Math.random() * (hi - lo);
const pick = (a) => a[Math.floor(Math.random() * a.length)];

const stats = {
  connects: 0, upgrades: 0, disconnects: 0, drops: 0,
  acksSent: 0, acksAnswered: 0, broadcasts: 0, bcastReceived: 0,
  slowReaders: 0, slowDropped: 0, slowSurvived: 0, errors: 0,
};
const errorLog = [];
function error(msg) {
  stats.errors++;
  if (errorLog.length < 50) errorLog.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${msg}`);
}
let t0 = Date.now();
let live = 0;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, HOST, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts bench-server; resolves { proc, port, stderr(), exited } once it listens. */
async function startServer() {
  const bin = path.join(BUILD, 'bench-server');
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: make BUILD=build/asan SANITIZE=address,undefined c`);
  const port = await freePort();
  // A small quarantine: ASan keeps freed memory out of reuse up to
  // quarantine_size_mb (256 MB by default), which would read as growth for
  // the first minutes of the run.
  const env = {
    ...process.env,
    ASAN_OPTIONS: process.env.SOAK_ASAN_OPTIONS || 'detect_leaks=1:abort_on_error=0:quarantine_size_mb=16',
    UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
  };
  const proc = spawn(bin, ['--port', String(port), '--max-send-queue', String(MAX_SEND_QUEUE), '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bench-server did not start:\n${stderr}`)), 20000);
    proc.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('listening on')) { clearTimeout(timer); resolve(); }
    });
    exited.then((e) => { clearTimeout(timer); reject(new Error(`bench-server exited ${JSON.stringify(e)}:\n${stderr}`)); });
  });
  return { proc, port, exited, stderr: () => stderr };
}

/** { rss_kb, fds, threads } of pid from /proc. */
function sampleProc(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number((status.match(new RegExp(`^${name}:\\s+(\\d+)`, 'm')) || [])[1]);
  return { rss_kb: field('VmRSS'), fds: fs.readdirSync(`/proc/${pid}/fd`).length, threads: field('Threads') };
}

/** What pid's descriptors are (for a run whose count did not come back). */
function describeFds(pid, port) {
  const lines = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let target = '?';
    try { target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { /* gone */ }
    lines.push(`${fd} ${target}`);
  }
  try {
    lines.push('', require('node:child_process').execFileSync('ss', ['-tanpi'], { encoding: 'utf8' })
      .split('\n').filter((l) => l.includes(`:${port}`) || l.includes(`pid=${pid},`)).join('\n'));
  } catch (e) {
    lines.push(`ss: ${e.message}`);
  }
  return `${lines.join('\n')}\n`;
}

/** An http.Agent whose connections can all be destroyed at once, new ones included. */
class DroppableAgent extends http.Agent {
  constructor() {
    super({ keepAlive: true });
    this.dead = false;
  }

  createConnection(options, cb) {
    if (this.dead) {
      const s = new net.Socket();
      process.nextTick(() => s.destroy(new Error('dropped by the soak test')));
      return s;
    }
    return super.createConnection(options, cb);
  }

  drop() {
    this.dead = true;
    this.destroy();
  }
}

function connect(url, transports, agent, label) {
  const sock = io(url, {
    forceNew: true, reconnection: false, transports, agent, timeout: 20000,
    upgrade: transports.length > 1,
  });
  sock.expectClose = false;
  sock.on('disconnect', (reason) => {
    stats.disconnects++;
    if (!sock.expectClose) error(`${label}: unexpected disconnect (${reason})`);
  });
  sock.io.engine.on('upgrade', () => { stats.upgrades++; });
  return new Promise((resolve) => {
    const timer = setTimeout(() => { error(`${label}: no connect in 20 s`); sock.expectClose = true; sock.close(); resolve(null); }, 20000);
    sock.once('connect', () => { clearTimeout(timer); stats.connects++; resolve(sock); });
    sock.once('connect_error', (e) => { clearTimeout(timer); error(`${label}: connect_error ${e.message}`); resolve(null); });
  });
}

/** Emits with an ack and checks it; resolves when answered or timed out. */
function emitAck(sock, label, event, args, check) {
  stats.acksSent++;
  return new Promise((resolve) => {
    sock.timeout(ACK_TIMEOUT).emit(event, ...args, (err, ...answer) => {
      if (err) {
        if (!sock.expectClose) error(`${label}: ${event} ack timed out`);
      } else {
        stats.acksAnswered++;
        const bad = check(answer);
        if (bad) error(`${label}: ${event} ack: ${bad}`);
      }
      resolve();
    });
  });
}

function payload(n) {
  switch (n % 4) {
    case 0: return [{ n, s: 'x'.repeat(Math.floor(rand(0, 2000))) }];
    case 1: return ['héllo wörld ✓ 😀', n, null, true, [1.5, -2]];
    case 2: return [Buffer.from(Array.from({ length: 64 + (n % 512) }, (_, i) => (i * 7 + n) & 255)), { n }];
    default: return [n, { nested: { deep: [n, 'x'] } }];
  }
}

/** Closes sock the way `end` says: "disconnect" or "drop" (no close sent). */
async function finish(sock, agent, end) {
  sock.expectClose = true;
  if (end === 'disconnect') {
    sock.disconnect();
    // The close packet's POST goes out on the agent: destroying it at once
    // leaves half-made connections that send nothing (closed by the server's
    // headers timeout only, as Node's, after 60 s).
    await sleep(1000);
    agent.drop();
    return;
  }
  stats.drops++;
  const ws = sock.io.engine && sock.io.engine.transport && sock.io.engine.transport.ws;
  if (ws && ws._socket) ws._socket.destroy();
  agent.drop();
  // The client notices (transport close / error) and stops: no reconnection.
  const deadline = Date.now() + 5000;
  while (sock.connected && Date.now() < deadline) await sleep(100);
  sock.close();
}

let nextId = 0;

/** One ordinary client's life. */
async function life(url) {
  const id = nextId++;
  const transports = pick([['polling'], ['websocket'], ['polling', 'websocket']]);
  const label = `client ${id} (${transports.join('+')})`;
  const agent = new DroppableAgent();
  const sock = await connect(url, transports, agent, label);
  if (!sock) { agent.destroy(); return; }
  const room = `room-${Math.floor(Math.random() * ROOMS)}`;
  const ownBcasts = new Set();
  sock.on('bcast', (p) => {
    stats.bcastReceived++;
    if (p && p.from === sock.id) ownBcasts.add(p.seq);
  });
  const pending = new Set();
  const track = (p) => { pending.add(p); p.then(() => pending.delete(p)); };
  await emitAck(sock, label, 'join', [room], (a) => (a.length === 0 ? null : `join answered ${JSON.stringify(a)}`));
  const until = Date.now() + rand(3000, 15000);
  let n = 0;
  while (Date.now() < until && sock.connected) {
    n++;
    if (Math.random() < 0.2) {
      const seq = n;
      stats.broadcasts++;
      track(emitAck(sock, label, 'broadcast', [room, { from: sock.id, seq }], (a) => {
        if (a.length !== 0) return `broadcast answered ${JSON.stringify(a)}`;
        return ownBcasts.has(seq) ? null : `own bcast ${seq} not received before the ack`;
      }));
    } else {
      const args = payload(n);
      track(emitAck(sock, label, 'echo', args, (a) => (isDeepStrictEqual(a, args) ? null : 'echo answered other arguments')));
    }
    await sleep(rand(100, 400));
  }
  await Promise.all([...pending]);
  await finish(sock, agent, Math.random() < 0.5 ? 'disconnect' : 'drop');
}

/** A slow reader's life: stops reading while its room floods it. */
async function slowLife(url) {
  const id = nextId++;
  const label = `slow reader ${id}`;
  const agent = new DroppableAgent();
  stats.slowReaders++;
  const sock = await connect(url, ['websocket'], agent, label);
  if (!sock) { agent.destroy(); return; }
  await emitAck(sock, label, 'join', [`slow-${id}`], () => null);
  sock.on('bcast', () => { stats.bcastReceived++; });
  const ws = sock.io.engine.transport.ws;
  sock.expectClose = true; // the server may close it at its queue limit
  ws._socket.pause();
  // Half flood hard (past what the kernel's buffers hold: closed at the
  // queue cap), half lightly (the buffers absorb it: they catch up).
  const heavy = Math.random() < 0.5;
  const big = 'y'.repeat(heavy ? 32 * 1024 : 4 * 1024);
  const until = Date.now() + rand(5000, 15000);
  while (Date.now() < until && !ws._socket.destroyed) {
    sock.emit('broadcast', `slow-${id}`, big); // no ack: the answer could be lost with the socket
    await sleep(heavy ? 20 : 100);
  }
  ws._socket.resume();
  const deadline = Date.now() + 10000;
  while (sock.connected && Date.now() < deadline) await sleep(200); // drain, or see the close
  if (sock.connected) {
    stats.slowSurvived++;
    sock.disconnect();
    await sleep(1000);
  } else {
    stats.slowDropped++;
  }
  agent.drop();
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  const csvPath = path.join(OUT, 'rss.csv');
  const server = await startServer();
  const url = `http://${HOST}:${server.port}`;
  const pid = server.proc.pid;
  console.log(`soak: ${SECONDS} s against ${path.relative(ROOT, BUILD)}/bench-server (pid ${pid}, port ${server.port}), ${CLIENTS} clients, samples every ${SAMPLE_MS / 1000} s into ${path.relative(ROOT, csvPath)}`);

  // Baseline: after one client came and went (lazily opened descriptors).
  await life(url);
  await sleep(2000);
  const baseline = sampleProc(pid);
  t0 = Date.now();
  const samples = [];
  const csv = fs.createWriteStream(csvPath);
  csv.write('elapsed_s,rss_kb,fds,threads,clients,connects,acks_answered,errors\n');
  const sample = (phase) => {
    const s = { elapsed_s: Math.round((Date.now() - t0) / 1000), ...sampleProc(pid), clients: live, phase };
    samples.push(s);
    csv.write(`${s.elapsed_s},${s.rss_kb},${s.fds},${s.threads},${live},${stats.connects},${stats.acksAnswered},${stats.errors}\n`);
    return s;
  };
  sample('start');
  const end = t0 + SECONDS * 1000;
  const sampler = setInterval(() => {
    const s = sample('churn');
    if (s.elapsed_s % 60 < SAMPLE_MS / 1000 || SECONDS < 300) {
      console.log(`soak: ${s.elapsed_s}s rss ${(s.rss_kb / 1024).toFixed(1)} MB, fds ${s.fds}, threads ${s.threads}, clients ${live}, connects ${stats.connects}, acks ${stats.acksAnswered}/${stats.acksSent}, errors ${stats.errors}`);
    }
  }, SAMPLE_MS);

  const runners = [];
  const loop = async (fn) => {
    while (Date.now() < end) {
      live++;
      try {
        await fn(url);
      } catch (e) {
        error(`client crashed: ${e.stack}`);
      }
      live--;
    }
  };
  for (let i = 0; i < CLIENTS; i++) {
    runners.push(sleep(rand(0, 3000)).then(() => loop(life)));
  }
  for (let i = 0; i < SLOW_READERS; i++) {
    runners.push(sleep(rand(2000, 10000)).then(() => loop(async (u) => {
      await slowLife(u);
      await sleep(rand(5000, 20000)); // a slow reader now and then
    })));
  }
  await Promise.all(runners);
  clearInterval(sampler);
  const churnSamples = samples.slice();

  // Every client is gone: the descriptors must come back to the baseline.
  let last = sampleProc(pid);
  const drainDeadline = Date.now() + DRAIN_SECONDS * 1000;
  while (last.fds !== baseline.fds && Date.now() < drainDeadline) {
    await sleep(1000);
    last = sampleProc(pid);
  }
  last = sample('end');
  csv.end();
  if (last.fds !== baseline.fds) fs.writeFileSync(path.join(OUT, 'fds-at-end.txt'), describeFds(pid, server.port));

  server.proc.kill('SIGTERM');
  const exit = await Promise.race([server.exited, sleep(30000).then(() => null)]);
  if (!exit) server.proc.kill('SIGKILL');
  const stderr = server.stderr();

  // The verdict.
  const failures = [];
  const mean = (a) => a.reduce((x, s) => x + s.rss_kb, 0) / a.length;
  const third = Math.floor(churnSamples.length / 3);
  let rssRule = 'not enough samples';
  if (third >= 1) {
    const second = mean(churnSamples.slice(third, 2 * third));
    const lastThird = mean(churnSamples.slice(2 * third));
    const growth = lastThird / second - 1;
    rssRule = `last third ${(lastThird / 1024).toFixed(1)} MB vs second third ${(second / 1024).toFixed(1)} MB: ${(growth * 100).toFixed(1)} % (limit ${(RSS_TOLERANCE * 100).toFixed(0)} %)`;
    if (growth > RSS_TOLERANCE) failures.push(`RSS grew: ${rssRule}`);
  } else {
    failures.push(`RSS: ${rssRule} (${churnSamples.length}); run longer`);
  }
  if (last.fds !== baseline.fds) failures.push(`descriptors: ${last.fds} at the end, baseline ${baseline.fds}`);
  if (!exit) failures.push('no exit within 30 s of SIGTERM');
  else if (exit.code !== 0 || exit.signal) failures.push(`exit after SIGTERM: ${JSON.stringify(exit)}`);
  for (const marker of ['AddressSanitizer', 'LeakSanitizer', 'UndefinedBehaviorSanitizer', 'ThreadSanitizer', 'runtime error:']) {
    if (stderr.includes(marker)) failures.push(`${marker} in the server's stderr`);
  }
  if (stats.errors) failures.push(`${stats.errors} errors`);
  if (stats.acksAnswered !== stats.acksSent) failures.push(`acks: ${stats.acksAnswered} answered of ${stats.acksSent}`);

  const rssStart = churnSamples[0].rss_kb;
  const rssMax = Math.max(...churnSamples.map((s) => s.rss_kb));
  const summary = {
    seconds: SECONDS, clients: CLIENTS, ...stats,
    rss_start_mb: +(rssStart / 1024).toFixed(1), rss_max_mb: +(rssMax / 1024).toFixed(1),
    rss_end_mb: +(last.rss_kb / 1024).toFixed(1), rss_rule: rssRule,
    fds_baseline: baseline.fds, fds_max: Math.max(...churnSamples.map((s) => s.fds)), fds_end: last.fds,
    exit, failures,
  };
  fs.writeFileSync(path.join(OUT, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  fs.writeFileSync(path.join(OUT, 'server-stderr.txt'), stderr);
  try {
    await plot(csvPath, path.join(OUT, 'rss.png'), {
      title: `bench-server (${path.basename(BUILD)}), ${SECONDS} s soak, ${CLIENTS} clients`,
      warmupEnd: third >= 1 ? churnSamples[third].elapsed_s : null,
    });
  } catch (e) {
    failures.push(`plot: ${e.message}`);
  }
  console.log(`soak: connects ${stats.connects} (upgrades ${stats.upgrades}, drops ${stats.drops}), acks ${stats.acksAnswered}/${stats.acksSent}, broadcasts ${stats.broadcasts}, bcast received ${stats.bcastReceived}, slow readers ${stats.slowReaders} (dropped by the server ${stats.slowDropped}, survived ${stats.slowSurvived}), errors ${stats.errors}`);
  console.log(`soak: RSS ${summary.rss_start_mb} MB at start, ${summary.rss_max_mb} MB max, ${summary.rss_end_mb} MB at the end; ${rssRule}`);
  console.log(`soak: descriptors baseline ${baseline.fds}, max ${summary.fds_max}, end ${last.fds}; exit ${JSON.stringify(exit)}`);
  console.log(`soak: ${path.relative(ROOT, csvPath)}, ${path.relative(ROOT, path.join(OUT, 'rss.png'))}`);
  for (const e of errorLog) console.log(`soak error: ${e}`);
  if (failures.length) {
    for (const f of failures) console.log(`soak FAILED: ${f}`);
    if (stderr) console.log(stderr.split('\n').slice(0, 60).join('\n'));
    process.exit(1);
  }
  console.log('soak: ok');
  process.exit(0);
}

main().catch((e) => {
  console.error(`soak: ${e.stack}`);
  process.exit(1);
});
