'use strict';
// The Node twin of build/sio-test (test/e2e/fixtures/node-cluster-node.js
// without --adapter: socket.io 4.8 alone, the same events), started on a free
// loopback port with the same options, so a feature test can run the same
// checks against the C server and Node's. Plain HTTP only: under E2E_TLS=1
// the twin is not started (TWIN_SKIP says why) and only the C server is run.

const { spawn } = require('node:child_process');
const path = require('node:path');
const { freePort, TLS } = require('./server');

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'node-cluster-node.js');
const TWIN_SKIP = TLS ? 'the Node twin serves plain HTTP; E2E_TLS=1 runs the C server only' : false;

/** Starts the twin with `args` (e.g. ['--recovery']); resolves {httpUrl, name, stop()}. */
async function startTwin(args = [], { readyTimeout = 15000 } = {}) {
  const port = await freePort();
  const proc = spawn(process.execPath, [FIXTURE, '--port', String(port), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_NAME: 'node' },
  });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the Node twin did not start: ${err}`)), readyTimeout);
    proc.stdout.on('data', (d) => {
      out += d;
      if (out.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the Node twin exited (${code}): ${err}`));
    });
  });
  proc.removeAllListeners('exit');
  return {
    name: 'node',
    port,
    host: '127.0.0.1',
    path: '/socket.io/',
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    get stderr() { return err; },
    stop() {
      return new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
      });
    },
  };
}

module.exports = { FIXTURE, TWIN_SKIP, startTwin };
