'use strict';
// DEBUG=... traces as Node's `debug` module prints them to a non-TTY stderr
// ("<ISO date> <namespace> <message>"): build/sio-echo started with
// DEBUG=engine,socket.io:* shows the handshake, the namespace joined, the
// event in and out and the disconnect with its reason, and nothing of the
// namespaces left out (engine:socket, socket.io-parser); exclusions
// (engine*,-engine:polling) hold; without DEBUG no trace at all.

const { describe, it, after } = require('node:test');
const assert = require('node:assert/strict');
const { SLOW, startSio, stopAndCheck, connectClient, closeAll, sleep } = require('./lib/sio');
const { waitFor } = require('./lib/extra');

const T = { timeout: 20000 * SLOW };
const DATE = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';
const TRACE = new RegExp(`^${DATE} (engine|socket\\.io)[^ ]* `, 'm');

/** Starts build/sio-echo with DEBUG=debug (undefined: unset) in its environment only. */
async function startWithDebug(debug) {
  const saved = process.env.DEBUG;
  if (debug === undefined) delete process.env.DEBUG;
  else process.env.DEBUG = debug;
  try {
    return await startSio('sio-echo');
  } finally {
    if (saved === undefined) delete process.env.DEBUG;
    else process.env.DEBUG = saved;
  }
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const line = (ns, text) => new RegExp(`^${DATE} ${escape(ns)} ${escape(text)}`, 'm');

/** Connects (polling then WebSocket), emits "message", gets "message-back", disconnects. */
async function scenario(server) {
  const mode = { name: 'polling+upgrade', transports: ['polling', 'websocket'], final: 'websocket', upgrade: true };
  const s = await connectClient(4, server, '/', { mode });
  const sid = s.io.engine.id;
  const id = s.id;
  s.emit('message', 'hello');
  assert.deepEqual(await s.inbox.next('message-back'), ['hello']);
  s.disconnect();
  return { sid, id };
}

describe('debug logs: DEBUG=engine,socket.io:*', () => {
  let server;
  after(async () => {
    closeAll();
    if (server) await stopAndCheck(server);
  });

  it('traces the handshake, the event both ways and the disconnect', T, async () => {
    server = await startWithDebug('engine,socket.io:*');
    const { sid, id } = await scenario(server);
    await waitFor(() => line('socket.io:client', 'client close with reason').test(server.stderr),
      { timeout: 5000 * SLOW, what: 'the close traced' });
    const err = server.stderr;
    const expect = [
      line('engine', `handshaking client "${sid}" (EIO=4, polling)`),
      line('engine', 'handling "GET" http request "/socket.io/?'),
      line('engine', `${sid}: upgrading existing transport`),
      line('socket.io:server', `incoming connection with id ${sid}`),
      line('socket.io:client', 'connecting to namespace /'),
      line('socket.io:namespace', `adding socket ${id} to nsp /`),
      line('socket.io:socket', `${id}: join room ${id}`),
      line('socket.io:socket', `${id}: got packet EVENT`),
      line('socket.io:socket', `${id}: emitting event "message" (1 arguments)`),
      line('socket.io:client', 'writing packet "2["message-back","hello"]"'),
      line('socket.io:socket', `${id}: closing socket - reason client namespace disconnect`),
    ];
    for (const re of expect) assert.match(err, re);
    // Namespaces not asked for print nothing.
    assert.doesNotMatch(err, new RegExp(`^${DATE} engine:`, 'm'));
    assert.doesNotMatch(err, new RegExp(`^${DATE} socket\\.io-parser `, 'm'));
  });
});

describe('debug logs: DEBUG=engine*,-engine:polling socket.io-parser', () => {
  let server;
  after(async () => {
    closeAll();
    if (server) await stopAndCheck(server);
  });

  it('enables the wildcard, honours the exclusion, splits on spaces', T, async () => {
    server = await startWithDebug('engine*,-engine:polling socket.io-parser');
    const { sid } = await scenario(server);
    await waitFor(() => line('engine:socket', `${sid}: socket closed with reason`).test(server.stderr),
      { timeout: 5000 * SLOW, what: 'the close traced' });
    const err = server.stderr;
    assert.match(err, line('engine:socket', `${sid}: sending packet "open" ({"sid":"${sid}"`));
    assert.match(err, line('engine:socket', `${sid}: received packet message (2["message","hello"])`));
    assert.match(err, line('engine:socket', `${sid}: got probe ping packet, sending pong`));
    assert.match(err, line('engine:socket', `${sid}: got upgrade packet - upgrading`));
    assert.match(err, line('engine:ws', `${sid}: received "42["message","hello"]"`));
    assert.match(err, line('socket.io-parser', 'decoded "2["message","hello"]" as EVENT'));
    assert.doesNotMatch(err, new RegExp(`^${DATE} engine:polling `, 'm'));
    assert.doesNotMatch(err, new RegExp(`^${DATE} socket\\.io:`, 'm'));
  });
});

describe('debug logs: no DEBUG', () => {
  let server;
  after(async () => {
    closeAll();
    if (server) await stopAndCheck(server);
  });

  it('prints no trace', T, async () => {
    server = await startWithDebug(undefined);
    await scenario(server);
    await sleep(200);
    assert.doesNotMatch(server.stderr, TRACE);
  });
});
