//! The socketioxide peer server of the benchmark (bench/run.sh): socketioxide
//! from crates.io, served by axum, with the same contract as bench/server.c and
//! bench/node-ref/server.js, namespace "/":
//!   echo(...args, ack)            acks with its arguments
//!   join(room, ack)               joins room, acks with no arguments
//!   broadcast(room, payload, ack) emits "bcast" with payload to room, then acks
//! Port: --port N, or PORT, or 3000. Defaults otherwise (as a user would run it:
//! ping 25 s / 20 s, polling and WebSocket, Engine.IO v4), but for the largest
//! message, 1e6 bytes on both transports as Node's maxHttpBufferSize.
//! Prints "socketioxide-ref listening on http://localhost:<port>/socket.io/";
//! exits 0 on SIGTERM or SIGINT after closing every socket.

use std::time::Duration;

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeTuple, Serializer};
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef};

/// Every argument of an event (or of an ack), as `...args` in JavaScript.
/// socketioxide treats tuple-like types as several arguments and anything
/// else as the first one; a tuple of any length makes it variadic.
#[derive(Default)]
struct Args(Vec<Value>);

impl<'de> Deserialize<'de> for Args {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Args;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("event arguments")
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Args, S::Error> {
                let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(1));
                while let Some(x) = seq.next_element()? {
                    v.push(x);
                }
                Ok(Args(v))
            }
        }
        d.deserialize_tuple(usize::MAX, V)
    }
}

impl Serialize for Args {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(self.0.len())?;
        for x in &self.0 {
            t.serialize_element(x)?;
        }
        t.end()
    }
}

fn on_connect(s: SocketRef) {
    s.on("echo", async |Data(args): Data<Args>, ack: AckSender| {
        ack.send(&args).ok();
    });
    s.on(
        "join",
        async |s: SocketRef, Data(Args(args)): Data<Args>, ack: AckSender| {
            if let Some(Value::String(room)) = args.into_iter().next() {
                s.join(room);
            }
            ack.send(&Args::default()).ok();
        },
    );
    s.on(
        "broadcast",
        async |io: SocketIo, Data(Args(args)): Data<Args>, ack: AckSender| {
            let mut it = args.into_iter();
            if let Some(Value::String(room)) = it.next() {
                let payload = Args(it.next().into_iter().collect());
                io.to(room).emit("bcast", &payload).await.ok();
            }
            ack.send(&Args::default()).ok();
        },
    );
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let argv: Vec<String> = std::env::args().collect();
    if let Some(i) = argv.iter().position(|a| a == "--port") {
        port = argv
            .get(i + 1)
            .and_then(|p| p.parse().ok())
            .ok_or("--port N")?;
    }

    // Node's maxHttpBufferSize (1e6) bounds both transports; socketioxide's
    // max_payload (1e5 by default) bounds polling, ws_max_message_size WebSocket.
    let (layer, io) = SocketIo::builder()
        .max_payload(1_000_000)
        .ws_max_message_size(1_000_000)
        .build_layer();
    io.ns("/", async |s: SocketRef| on_connect(s));

    let app = axum::Router::new().layer(layer);
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port)).await?;
    println!("socketioxide-ref listening on http://localhost:{port}/socket.io/");

    let closer = io.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown_signal().await;
        closer.close().await; // every socket gets its disconnect, as io.close() in Node
    });
    // Connections still open after the sockets are closed do not hold the exit up.
    let stopped = async {
        shutdown_signal().await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    };
    tokio::select! {
        r = server => r?,
        _ = stopped => {}
    }
    Ok(())
}
