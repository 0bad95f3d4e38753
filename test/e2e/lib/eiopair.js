'use strict';
// The two Engine.IO servers that raw tests run side by side: build/eio-echo
// ([c]) and the Node reference, engine.io 6.6 on ws 8
// (fixtures/node-eio-echo.js, [node]), started with the same flags.

const fs = require('node:fs');
const path = require('node:path');
const { before, after } = require('node:test');
const { startServer, startBinary, stopAndCheckAs, SLOW } = require('./server');

const NODE_FIXTURE = path.join(__dirname, '..', 'fixtures', 'node-eio-echo.js');
try {
  fs.accessSync(NODE_FIXTURE, fs.constants.X_OK);
} catch {
  fs.chmodSync(NODE_FIXTURE, 0o755);
}

const EIO_KINDS = {
  c: (args = []) => startServer(args),
  node: (args = []) => startBinary(NODE_FIXTURE, args, {
    readyTimeout: 10000 * SLOW, label: 'node-eio-echo', path: '/engine.io/', slow: SLOW,
  }),
};

/** Starts [c] and [node] with the same flags; stops both (clean exit) at the end of the suite. */
function useEioPair(args = []) {
  const pair = {};
  before(async () => {
    pair.c = await EIO_KINDS.c(args);
    pair.node = await EIO_KINDS.node(args);
  });
  after(async () => {
    if (pair.c) await stopAndCheckAs(pair.c, 'eio-echo');
    if (pair.node) await stopAndCheckAs(pair.node, 'node-eio-echo');
  });
  return pair;
}

module.exports = { EIO_KINDS, useEioPair };
