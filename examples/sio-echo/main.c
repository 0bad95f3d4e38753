/*
 * sio-echo: the Socket.IO interoperability server. Namespaces "/" and
 * "/custom"; on every connection it emits "auth" with the CONNECT payload (or
 * {}); on "message" it emits "message-back" with the same arguments, binary
 * included; on "message-with-ack" it acknowledges with the same arguments.
 * Other namespaces are refused.
 *
 * Threading: handlers run with the engine lock held, one at a time.
 * Ownership: arguments received are borrowed; what is emitted is a copy.
 */
#include <stdio.h>

#include "examples/common.h"

static void on_message(sio_socket *s, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)ack;
    (void)ud;
    sio_socket_emit(s, "message-back", sio_args_copy(args));
}

static void on_message_with_ack(sio_socket *s, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)s;
    (void)ud;
    if (ack)
        sio_ack_send(ack, sio_args_copy(args));
}

static void on_connection(sio_socket *s, void *ud)
{
    (void)ud;
    const sio_handshake *hs = sio_socket_handshake(s);
    sio_socket_emit(s, "auth", sio_args_add(sio_args_new(), cJSON_Duplicate(hs->auth, 1)));
    sio_socket_on(s, "message", on_message, NULL);
    sio_socket_on(s, "message-with-ack", on_message_with_ack, NULL);
}

int main(int argc, char **argv)
{
    srv_block_signals();
    example_opts o;
    int r = example_parse(argc, argv, "sio-echo", &o);
    if (r)
        return r == 1 ? 0 : r;
    sio_server *io = sio_server_new(&o.sio);
    eio_server_lock(sio_server_engine(io));
    sio_on_connection(sio_of(io, "/"), on_connection, NULL);
    sio_on_connection(sio_of(io, "/custom"), on_connection, NULL);
    eio_server_unlock(sio_server_engine(io));
    return example_run("sio-echo", &o, io);
}
