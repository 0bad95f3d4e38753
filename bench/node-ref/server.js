// The Node reference server of the benchmark: socket.io 4.x from npm with the
// same contract as bench/server.c, namespace "/":
//   echo(...args, ack)            acks with its arguments
//   join(room, ack)               joins room, acks with no arguments
//   broadcast(room, payload, ack) emits "bcast" with payload to room, then acks
// Port: --port N, or PORT, or 3000. --tls-cert FILE --tls-key FILE (PEM): HTTPS
// and WSS (https.createServer) on that port. Defaults otherwise (as a user
// would run it).
"use strict";
const fs = require("fs");
const https = require("https");
const { Server } = require("socket.io");

const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : null;
};
let port = Number(process.env.PORT || 3000);
if (arg("--port")) port = Number(arg("--port"));
const tlsCert = arg("--tls-cert");
const tlsKey = arg("--tls-key");
if (!tlsCert !== !tlsKey) {
  console.error("node-ref: --tls-cert and --tls-key go together");
  process.exit(2);
}

const httpsServer = tlsCert
  ? https.createServer({ cert: fs.readFileSync(tlsCert), key: fs.readFileSync(tlsKey) })
  : null;
// --parser msgpack (socket.io-msgpack-parser), --per-message-deflate (ws
// permessage-deflate, engine.io's default threshold of 1024 bytes),
// --recovery (connectionStateRecovery with its defaults): the options the
// benchmark rows of the same names give the C server.
const opts = { serveClient: false };
if (arg("--parser") === "msgpack") opts.parser = require("socket.io-msgpack-parser");
if (process.argv.includes("--per-message-deflate")) opts.perMessageDeflate = { threshold: 1024 };
if (process.argv.includes("--recovery")) opts.connectionStateRecovery = {};
const io = httpsServer ? new Server(httpsServer, opts) : new Server(opts);

// --adapter redis://HOST:PORT [--adapter-mode classic|sharded]: one node of a
// cluster (bench/cluster.sh), with @socket.io/redis-adapter as a Node team runs it.
const adapterUrl = arg("--adapter");
let ready = Promise.resolve();
if (adapterUrl) {
  const { createClient } = require("redis");
  const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");
  const pub = createClient({ url: adapterUrl });
  const sub = pub.duplicate();
  ready = Promise.all([pub.connect(), sub.connect()]).then(() => {
    io.adapter(
      arg("--adapter-mode") === "sharded" ? createShardedAdapter(pub, sub) : createAdapter(pub, sub),
    );
  });
}

io.on("connection", (socket) => {
  socket.on("echo", (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    if (ack) ack(...args);
  });
  socket.on("join", (room, ack) => {
    if (typeof room === "string") socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("broadcast", (room, payload, ack) => {
    if (typeof room === "string") io.to(room).emit("bcast", payload);
    if (typeof ack === "function") ack();
  });
});

ready.then(() => {
  if (httpsServer) {
    httpsServer.listen(port, () =>
      console.log(`node-ref listening on https://localhost:${port}/socket.io/`),
    );
  } else {
    io.listen(port);
    console.log(`node-ref listening on http://localhost:${port}/socket.io/`);
  }
});

const stop = () => io.close(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
