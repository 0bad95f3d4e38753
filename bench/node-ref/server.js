// The Node reference server of the benchmark: socket.io 4.x from npm with the
// same contract as bench/server.c, namespace "/":
//   echo(...args, ack)            acks with its arguments
//   join(room, ack)               joins room, acks with no arguments
//   broadcast(room, payload, ack) emits "bcast" with payload to room, then acks
// Port: --port N, or PORT, or 3000. Defaults otherwise (as a user would run it).
"use strict";
const { Server } = require("socket.io");

let port = Number(process.env.PORT || 3000);
const i = process.argv.indexOf("--port");
if (i > 0 && process.argv[i + 1]) port = Number(process.argv[i + 1]);

const io = new Server({ serveClient: false });

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

io.listen(port);
console.log(`node-ref listening on http://localhost:${port}/socket.io/`);

const stop = () => io.close(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
