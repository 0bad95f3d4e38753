/*
 * hello: the small server of the README, compiled so that it stays true.
 * Threading: handlers run with the engine lock held. Ownership: see sio.h.
 */
#include "server/srv.h"
#include "socketio/sio.h"

/* socket.on("chat", (text, ack) => { io.to("lobby").emit("chat", text); ack("ok"); }) */
static void on_chat(sio_socket *s, const sio_args *args, sio_ack *ack, void *ud)
{
    sio_emit(sio_to(sio_socket_namespace(s), "lobby"), "chat", sio_args_copy(args));
    if (ack)
        sio_ack_send(ack, sio_args_add_string(sio_args_new(), "ok"));
}

/* io.on("connection", (socket) => { socket.join("lobby"); socket.on("chat", ...) }) */
static void on_connection(sio_socket *s, void *ud)
{
    sio_socket_join(s, "lobby");
    sio_socket_emit(s, "hello", sio_args_new_json("[\"welcome\", 1]"));
    sio_socket_on(s, "chat", on_chat, NULL);
}

int main(void)
{
    srv_block_signals(); /* before any thread starts */
    sio_options so;
    sio_options_default(&so); /* Node's defaults */
    srv_options ho;
    srv_options_default(&ho);
    ho.path = "/socket.io/";
    ho.port = 3000;
    sio_server *io = sio_server_new(&so);
    eio_server_lock(sio_server_engine(io)); /* API calls hold the lock */
    sio_on_connection(sio_of(io, "/"), on_connection, NULL);
    eio_server_unlock(sio_server_engine(io));
    srv_server *http = srv_new(&ho, sio_server_engine(io));
    if (srv_start(http) != 0)
        return 1;
    srv_wait_for_signal(); /* SIGINT / SIGTERM */
    srv_stop(http);        /* every client disconnected cleanly */
    srv_free(http);
    sio_server_free(io);
    return 0;
}
