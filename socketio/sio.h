/*
 * sio: the Socket.IO server API (protocol v5 for socket.io-client 3.x/4.x and
 * v4 for socket.io-client 2.x), on top of the Engine.IO server.
 *
 * It reads like Node's socket.io:
 *
 *   io.of("/").use(mw)                 sio_use(sio_of(io, "/"), mw, ud)
 *   io.on("connection", fn)            sio_on_connection(sio_of(io, "/"), fn, ud)
 *   socket.on("chat", fn)              sio_socket_on(socket, "chat", fn, ud)
 *   socket.emit("chat", "hi", 1)       sio_socket_emit(socket, "chat",
 * sio_args_new_json("[\"hi\",1]")) socket.emit("q", x, (a) => ...) sio_socket_emit_with_ack(socket,
 * "q", args, timeout_ms, fn, ud) ack("ok") in a handler             sio_ack_send(ack,
 * sio_args_new_json("[\"ok\"]")) socket.join("room")                sio_socket_join(socket, "room")
 *   socket.to("room").emit(...)        sio_emit(sio_socket_to(socket, "room"), "ev", args)
 *   io.to("a").except("b").emit(...)   sio_emit(sio_except(sio_to(nsp, "a"), "b"), "ev", args)
 *   io.timeout(ms).emit(ev, cb)        sio_emit_with_ack(sio_timeout(sio_all(nsp), ms), ev, args,
 * cb, ud)
 *
 * Threading: every handler runs with the engine lock held, never two at once,
 * so handlers need no locks (as in Node). Every function here must be called
 * from a handler, or from another thread between eio_server_lock() and
 * eio_server_unlock() on sio_server_engine(io). Handlers must not block.
 *
 * Ownership: functions that take a sio_args* or a sio_op* take ownership of it
 * (also on error). Arguments given to a handler are borrowed for the call; copy
 * them (sio_args_copy) to keep them. A sio_socket* is valid from its
 * connection handler until its disconnect handlers return. A sio_ack* given
 * to a handler is valid during the call; to answer later, keep it
 * (sio_ack_keep), and it is then valid until answered or its socket
 * disconnects (see sio_ack_keep).
 *
 * Errors: functions returning int return 0 or a negative SIO_E* code.
 */
#ifndef SIO_H
#define SIO_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "engineio/eio_server.h"

typedef struct sio_server sio_server;
typedef struct sio_namespace sio_namespace;
typedef struct sio_socket sio_socket;
typedef struct sio_args sio_args;
typedef struct sio_ack sio_ack;
typedef struct sio_next sio_next;
typedef struct sio_op sio_op;
struct sio_adapter;

enum {
    SIO_OK = 0,
    SIO_EINVAL = -1,        /* bad argument (reserved event name, bad args) */
    SIO_ECLOSED = -2,       /* the socket is disconnected */
    SIO_ETIMEOUT = -3,      /* an acknowledgement did not come in time */
    SIO_EDISCONNECTED = -4, /* the socket went away before acknowledging */
    SIO_EUNAVAILABLE = -5,  /* the other nodes cannot be reached (Redis is down) */
    SIO_ELIMIT = -6,        /* a per-socket limit is reached (max_kept_acks) */
};
const char *sio_strerror(int err);

/* ------------------------------------------------------------------ arguments */

/* The arguments of an event or an acknowledgement: a JSON array whose binary
 * values are placeholders {"_placeholder":true,"num":i}, with their bytes kept
 * alongside (sio_args_binary). */
sio_args *sio_args_new(void);
/* Parses a JSON array ("[1,\"a\"]"); NULL if it is not one. */
sio_args *sio_args_new_json(const char *json_array);
sio_args *sio_args_copy(const sio_args *a);
void sio_args_free(sio_args *a); /* NULL is a no-op */
/* Appends an item (ownership taken); returns a, for chaining. */
sio_args *sio_args_add(sio_args *a, cJSON *item);
sio_args *sio_args_add_string(sio_args *a, const char *s);
sio_args *sio_args_add_number(sio_args *a, double n);
sio_args *sio_args_add_binary(sio_args *a, const void *data, size_t len);
/* A binary value to put anywhere inside an argument (in an object, an
 * array): its bytes are kept by a. */
cJSON *sio_args_binary_value(sio_args *a, const void *data, size_t len);
/* A copy of item, a value inside src (an argument or a part of one), to put
 * anywhere in dst's tree: its binary values come along (kept by dst, the
 * bytes shared, not copied). NULL item: a JSON null. */
cJSON *sio_args_copy_value(sio_args *dst, const sio_args *src, const cJSON *item);
size_t sio_args_count(const sio_args *a);
const cJSON *sio_args_get(const sio_args *a, size_t i);
const cJSON *sio_args_json(const sio_args *a); /* the array itself */
/* If item is a binary value of a, returns its bytes and sets *len; else NULL. */
const uint8_t *sio_args_binary(const sio_args *a, const cJSON *item, size_t *len);
/* The arguments as JSON text (binary values as their placeholders); free(). */
char *sio_args_print(const sio_args *a);

/* ------------------------------------------------------------------ server */

typedef struct sio_options {
    eio_options engine;     /* Engine.IO options (eio_options_default) */
    int connect_timeout_ms; /* connectTimeout: 45000 */
    size_t max_attachments; /* binary attachments per packet: 10 */
    /* Nesting limit of a packet's JSON, its outer array counted: 1000 (the
     * most that every recursive path here allows; Node parses any depth but
     * its emit throws past ~4,000). Deeper closes the client, as a parse
     * error. Values above 1000 are lowered to it. */
    int max_json_depth;
    /* A binary packet must have all its attachments within
     * binary_packet_timeout_ms of its text part (60000) and hold at most
     * max_binary_packet_bytes of them (10 MB); else the client is closed, as
     * on a parse error. 0: no limit. */
    int binary_packet_timeout_ms;
    size_t max_binary_packet_bytes;
    /* Acknowledgements a socket may keep unanswered (sio_ack_keep): 1000. */
    size_t max_kept_acks;
    /* Node's `adapter` option: makes each namespace's adapter (see
     * sio_adapter.h; cluster/clu.h has the Redis ones). NULL: in memory. */
    struct sio_adapter *(*adapter)(sio_namespace *nsp, void *ud);
    void *adapter_ud;
    /* Node's `parser` option: &sio_parser_default (socket.io-parser, NULL
     * means it) or &sio_parser_msgpack (socket.io-msgpack-parser), from
     * socketio/sio_packet.h. Every client of the server must use it. */
    const struct sio_parser *parser;
    /* Node's connectionStateRecovery (off by default, as in Node; only with
     * the in-memory adapter): a client that lost its connection comes back
     * within max_disconnection_duration_ms with its id, rooms, socket.data and
     * the events it missed. */
    struct {
        int enabled;                       /* 0 */
        int max_disconnection_duration_ms; /* 120000 */
        int skip_middlewares;              /* 1: a recovered socket skips nsp.use */
        size_t max_stored_packets;         /* events kept for it, the oldest dropped first: 10000 */
    } recovery;
} sio_options;

void sio_options_default(sio_options *o);
/* Creates the server and its Engine.IO server (the options are copied). */
sio_server *sio_server_new(const sio_options *o);
/* The Engine.IO server to mount with srv_new (path "/socket.io/"). */
eio_server *sio_server_engine(sio_server *io);
/* Disconnects every socket ("server shutting down"), closes the engine and
 * frees everything. Call after srv_stop. */
void sio_server_free(sio_server *io);

/* What a metrics endpoint shows of a namespace (sio_server_stats). */
typedef struct sio_namespace_stats {
    const char *name; /* borrowed: valid while the lock is held */
    size_t sockets;   /* connected sockets of this node */
    size_t rooms;     /* rooms of this node, each socket's own room included (Node's
                         adapter.rooms.size) */
} sio_namespace_stats;
/* Calls fn once for each namespace (those a dynamic namespace made included,
 * not the dynamic groups themselves), computed now. Lock held; O(rooms).
 * Returns how many namespaces there are. The engine's counters are
 * eio_server_stats(sio_server_engine(io), ...). */
size_t sio_server_stats(sio_server *io, void (*fn)(const sio_namespace_stats *st, void *ud),
                        void *ud);

/* ------------------------------------------------------------------ namespaces */

/* io.of(name): the namespace, created on first use. "/" is io.sockets. */
sio_namespace *sio_of(sio_server *io, const char *name);
/* io.of(fn): a group of dynamic namespaces. match(name, auth, ud) returns 1 to
 * create namespace `name` for a client asking for it. Handlers and
 * middleware set on the returned group apply to every namespace it creates. */
sio_namespace *sio_of_dynamic(sio_server *io,
                              int (*match)(const char *name, const cJSON *auth, void *ud),
                              void *ud);
/* io.of(/regex/): the same with a POSIX extended regular expression. NULL if
 * the expression does not compile. */
sio_namespace *sio_of_regex(sio_server *io, const char *regex);
const char *sio_namespace_name(const sio_namespace *nsp);
sio_server *sio_namespace_server(const sio_namespace *nsp);
/* Number of sockets connected to the namespace on this node. */
size_t sio_namespace_size(const sio_namespace *nsp);

typedef void (*sio_connection_fn)(sio_socket *socket, void *ud);
void sio_on_connection(sio_namespace *nsp, sio_connection_fn fn, void *ud);

/* Middleware (nsp.use): runs for each connecting socket, in order; call
 * sio_next_ok or sio_next_error exactly once, now or later (from a handler
 * or under the lock). An error is sent to the client as CONNECT_ERROR
 * {"message":..., "data":...}. */
typedef void (*sio_middleware_fn)(sio_socket *socket, sio_next *next, void *ud);
void sio_use(sio_namespace *nsp, sio_middleware_fn fn, void *ud);
void sio_next_ok(sio_next *next);
/* data: any JSON (ownership taken) or NULL. */
void sio_next_error(sio_next *next, const char *message, cJSON *data);

/* ------------------------------------------------------------------ sockets */

const char *sio_socket_id(const sio_socket *s);
sio_namespace *sio_socket_namespace(const sio_socket *s);
sio_server *sio_socket_server(const sio_socket *s);
int sio_socket_connected(const sio_socket *s);
int sio_socket_protocol(const sio_socket *s);     /* 4 or 5 */
eio_socket *sio_socket_conn(const sio_socket *s); /* the Engine.IO session */
/* Keeps the socket's memory (not its connection) alive past its disconnect,
 * for a callback that may run later; sio_socket_connected then says 0. */
void sio_socket_ref(sio_socket *s);
void sio_socket_unref(sio_socket *s);

typedef struct sio_handshake {
    const eio_request *request; /* headers, remote address, path, query string */
    const cJSON *query;         /* the query parameters as an object */
    const cJSON *auth;          /* the CONNECT payload (v5), {} if none */
    const char *address;        /* remote address */
    const char *time;           /* when, as JavaScript's Date.toString() */
    int64_t issued;             /* when, in ms since the epoch */
    const char *url;            /* path and query string */
    int secure;                 /* over TLS */
    int xdomain;                /* an Origin header was sent */
} sio_handshake;
const sio_handshake *sio_socket_handshake(const sio_socket *s);

/* socket.recovered: 1 if connection state recovery gave this socket back
 * its id, rooms, data and missed events (sio_options.recovery). */
int sio_socket_recovered(const sio_socket *s);
/* The private id of connection state recovery (NULL when it is off). */
const char *sio_socket_pid(const sio_socket *s);

/* socket.data: one user pointer per socket. */
void sio_socket_set_data(sio_socket *s, void *data);
void *sio_socket_get_data(const sio_socket *s);
/* socket.data as JSON: what fetchSockets shows of it, on every node of a
 * cluster. Takes ownership of data (NULL: none, shown as null). */
void sio_socket_set_data_json(sio_socket *s, cJSON *data);
const cJSON *sio_socket_data_json(const sio_socket *s); /* NULL if none */
/* The socket as other nodes see it: {id, handshake:{headers, time, address,
 * xdomain, secure, issued, url, query, auth}, rooms:[...], data} (data {} if none, as Node). Caller
 * frees (cJSON_Delete). */
cJSON *sio_socket_json(const sio_socket *s);

/* socket.on(event, fn): ack is non-NULL when the client asked for an
 * acknowledgement. Answer it with sio_ack_send during the call, or keep it
 * with sio_ack_keep to answer later. An ack that no handler answered or
 * kept is freed when the event's handlers have returned, without an answer
 * (Node: the callback is garbage collected); so is the ack of an event with
 * no handler. */
typedef void (*sio_event_fn)(sio_socket *s, const sio_args *args, sio_ack *ack, void *ud);
void sio_socket_on(sio_socket *s, const char *event, sio_event_fn fn, void *ud);
void sio_socket_once(sio_socket *s, const char *event, sio_event_fn fn, void *ud);
/* Removes the handlers fn for event (every handler of event if fn is NULL). */
void sio_socket_off(sio_socket *s, const char *event, sio_event_fn fn);

/* socket.onAny / onAnyOutgoing. */
typedef void (*sio_any_fn)(sio_socket *s, const char *event, const sio_args *args, void *ud);
void sio_socket_on_any(sio_socket *s, sio_any_fn fn, void *ud);
void sio_socket_off_any(sio_socket *s, sio_any_fn fn); /* NULL: all */
void sio_socket_on_any_outgoing(sio_socket *s, sio_any_fn fn, void *ud);
void sio_socket_off_any_outgoing(sio_socket *s, sio_any_fn fn);

/* "disconnecting" (rooms still there) and "disconnect", with Node's reasons:
 * "server namespace disconnect", "client namespace disconnect",
 * "server shutting down", "ping timeout", "transport close",
 * "transport error", "parse error", "forced close", "forced server close". */
typedef void (*sio_disconnect_fn)(sio_socket *s, const char *reason, void *ud);
void sio_socket_on_disconnecting(sio_socket *s, sio_disconnect_fn fn, void *ud);
void sio_socket_on_disconnect(sio_socket *s, sio_disconnect_fn fn, void *ud);

/* socket.use: middleware for each incoming event. sio_next_error refuses the
 * event (it is not delivered) and the "error" goes to the error handler. */
typedef void (*sio_packet_middleware_fn)(sio_socket *s, const char *event, const sio_args *args,
                                         sio_next *next, void *ud);
void sio_socket_use(sio_socket *s, sio_packet_middleware_fn fn, void *ud);
/* socket.on("error"): errors from socket.use middleware. */
typedef void (*sio_error_fn)(sio_socket *s, const char *message, const cJSON *data, void *ud);
void sio_socket_on_error(sio_socket *s, sio_error_fn fn, void *ud);

/* socket.emit(event, ...args). args may be NULL (no arguments). */
int sio_socket_emit(sio_socket *s, const char *event, sio_args *args);
/* socket.timeout(ms).emit(event, ...args, cb): cb gets 0 and the client's
 * answer, or SIO_ETIMEOUT / SIO_EDISCONNECTED and NULL. timeout_ms < 0 waits
 * for ever (until disconnect). */
typedef void (*sio_ack_fn)(sio_socket *s, int err, const sio_args *args, void *ud);
int sio_socket_emit_with_ack(sio_socket *s, const char *event, sio_args *args, int timeout_ms,
                             sio_ack_fn fn, void *ud);
/* Answers the client's acknowledgement (once) with args (ownership taken;
 * NULL: no arguments). Outside its handler call, ack is freed. */
void sio_ack_send(sio_ack *ack, sio_args *args);
/* Keeps ack past the handler call, to answer it later with sio_ack_send;
 * call it from the handler (or the socket.use chain) that received ack. A
 * kept ack is valid until answered or until its socket disconnects (then it
 * is freed without an answer: check sio_socket_connected, holding
 * sio_socket_ref, before answering). Returns SIO_OK (also when ack was
 * already kept or answered), or SIO_ELIMIT when the socket already keeps
 * sio_options.max_kept_acks: the socket is then disconnected ("server
 * namespace disconnect") and ack is freed with its other kept acks. */
int sio_ack_keep(sio_ack *ack);

int sio_socket_join(sio_socket *s, const char *room);
int sio_socket_leave(sio_socket *s, const char *room);
int sio_socket_in_room(const sio_socket *s, const char *room);
/* socket.rooms: calls fn for each room (the socket's own id room included). */
void sio_socket_rooms(const sio_socket *s, void (*fn)(const char *room, void *ud), void *ud);
/* socket.disconnect(close): close_conn also closes the Engine.IO session. */
void sio_socket_disconnect(sio_socket *s, int close_conn);

/* ------------------------------------------------------------------ broadcast */

/* Broadcast operators (Node's BroadcastOperator). Each returns op, so calls
 * chain; a terminal call (sio_emit, ...) consumes op. */
sio_op *sio_all(sio_namespace *nsp);                  /* nsp.emit(...) */
sio_op *sio_to(sio_namespace *nsp, const char *room); /* nsp.to(room), nsp.in(room) */
sio_op *sio_except_nsp(sio_namespace *nsp, const char *room);
sio_op *sio_socket_broadcast(sio_socket *s);            /* socket.broadcast */
sio_op *sio_socket_to(sio_socket *s, const char *room); /* socket.to(room): s excluded */
sio_op *sio_socket_except(sio_socket *s, const char *room);
sio_op *sio_in(sio_op *op, const char *room); /* .to(room) / .in(room): union */
sio_op *sio_except(sio_op *op, const char *room);
sio_op *sio_volatile(sio_op *op); /* dropped for clients not ready to receive */
sio_op *sio_local(sio_op *op);    /* this node only */
/* compress(on): 0 sends the packet uncompressed (WebSocket permessage-deflate;
 * a polling payload of such packets only skips httpCompression). Default 1. */
sio_op *sio_compress(sio_op *op, int on);
sio_op *sio_timeout(sio_op *op, int timeout_ms);
void sio_op_free(sio_op *op);

int sio_emit(sio_op *op, const char *event, sio_args *args);
/* Broadcast with acknowledgements: fn gets 0 and every receiver's answer when
 * all answered, or SIO_ETIMEOUT and those that did (sio_timeout sets the
 * limit; without it, 5000 ms is used). */
typedef void (*sio_broadcast_ack_fn)(int err, const sio_args *const *responses, size_t n, void *ud);
int sio_emit_with_ack(sio_op *op, const char *event, sio_args *args, sio_broadcast_ack_fn fn,
                      void *ud);
/* fetchSockets on this node only (as with sio_local): fills *out with a
 * malloc'd array of the matching sockets (free it; the sockets stay valid
 * while the lock is held); returns the count. */
size_t sio_fetch_sockets(sio_op *op, sio_socket ***out);
/* socketsJoin / socketsLeave / disconnectSockets: on every node of the
 * cluster (this one only with sio_local). */
void sio_sockets_join(sio_op *op, const char *room);
void sio_sockets_leave(sio_op *op, const char *room);
void sio_disconnect_sockets(sio_op *op, int close_conn);

/* ------------------------------------------------------------------ cluster-wide */

/* The callbacks below always run later, from the loop (never inside the call
 * that starts them), as Node's promises resolve. Requests to other nodes time
 * out after sio_timeout (default 5000 ms, the Redis adapter's
 * requestsTimeout) with SIO_ETIMEOUT. */

/* A socket of the cluster, as fetchSockets gives it. The remote operations of
 * Node's RemoteSocket are the broadcast operators on its id:
 * socket.join(r) is sio_sockets_join(sio_to(nsp, id), r), socket.emit(...) is
 * sio_emit(sio_to(nsp, id), ...), socket.disconnect(c) is
 * sio_disconnect_sockets(sio_to(nsp, id), c). */
typedef struct sio_remote_socket {
    const char *id;
    const cJSON
        *handshake;     /* {headers, time, address, xdomain, secure, issued, url, query, auth} */
    const cJSON *rooms; /* array of strings */
    const cJSON *data;  /* socket.data (sio_socket_set_data_json), {} if none, as Node */
    sio_socket *local;  /* the socket if it is on this node and still connected */
} sio_remote_socket;
/* The array and what it points to are valid during the call only. */
typedef void (*sio_fetch_fn)(int err, const sio_remote_socket *sockets, size_t n, void *ud);
/* fetchSockets over the cluster: this node's matching sockets and the other
 * nodes'. On SIO_ETIMEOUT only this node's are given. */
void sio_fetch_sockets_async(sio_op *op, sio_fetch_fn fn, void *ud);

/* adapter.allRooms(): every room of the namespace, over the cluster. */
typedef void (*sio_rooms_fn)(int err, const char *const *rooms, size_t n, void *ud);
void sio_all_rooms(sio_namespace *nsp, sio_rooms_fn fn, void *ud);
/* io.of(nsp).serverCount(): nodes serving the namespace, this one included. */
void sio_server_count(sio_namespace *nsp, void (*fn)(size_t nodes, void *ud), void *ud);

/* serverSideEmit: an event to the other nodes' handlers (not this node's),
 * as io.serverSideEmit / io.of(nsp).on(event). */
typedef struct sio_server_ack sio_server_ack;
/* ack is non-NULL when the sender waits for an answer: answer it once with
 * sio_server_ack_send (now or later). */
typedef void (*sio_server_event_fn)(sio_namespace *nsp, const sio_args *args, sio_server_ack *ack,
                                    void *ud);
void sio_on_server_event(sio_namespace *nsp, const char *event, sio_server_event_fn fn, void *ud);
/* Answers with args (ownership taken; only the first argument travels, as
 * in Node) and frees ack. */
void sio_server_ack_send(sio_server_ack *ack, sio_args *args);
int sio_server_side_emit(sio_namespace *nsp, const char *event, sio_args *args);
/* serverSideEmitWithAck: fn gets every other node's answer (SIO_ETIMEOUT and
 * those that came if some did not answer in timeout_ms; < 0: 5000). */
int sio_server_side_emit_with_ack(sio_namespace *nsp, const char *event, sio_args *args,
                                  int timeout_ms, sio_broadcast_ack_fn fn, void *ud);

#endif
