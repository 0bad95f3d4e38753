/*
 * sio_adapter: where rooms live and how an operation reaches its sockets, as
 * Node's socket.io-adapter. Each namespace has one adapter, made by the
 * factory in sio_options (sio_options.adapter); the in-memory one is the
 * default. This header is all an adapter needs: a multi-node adapter (the
 * Redis one in cluster/) wraps the in-memory adapter for this node's rooms and
 * forwards the cluster-wide operations to the other nodes.
 *
 * The split of work: for every cluster-wide operation the Socket.IO layer does
 * this node's part itself (through the local operations below) and calls the
 * adapter's "others" operation for the rest; an adapter with no other nodes
 * leaves those NULL. An adapter receiving an operation from another node
 * applies it here with the sio_adapter_local_* functions.
 *
 * Threading: called with the engine lock held, like everything in sio.
 * Ownership: the namespace owns its adapter (ops->free). Room names are
 * copied; sockets are borrowed (the namespace removes a socket with del_all
 * before freeing it). Arguments passed to an operation are borrowed for the
 * call: an adapter copies what it keeps.
 */
#ifndef SIO_ADAPTER_H
#define SIO_ADAPTER_H

#include <stddef.h>

#include "socketio/sio.h"
#include "socketio/sio_packet.h"

typedef struct sio_adapter sio_adapter;

enum {
    SIO_BC_VOLATILE = 1,
    SIO_BC_LOCAL = 2,
    SIO_BC_COMPRESS = 4,    /* compress(true) asked (Node's flags.compress: true) */
    SIO_BC_NO_COMPRESS = 8, /* compress(false) asked: sent uncompressed (flags.compress: false) */
};

/* Which sockets an operation targets: those in any of rooms (every socket of
 * the namespace when n_rooms is 0), minus those in any of except. */
typedef struct sio_broadcast_opts {
    const char *const *rooms;
    size_t n_rooms;
    const char *const *except;
    size_t n_except;
    unsigned flags; /* SIO_BC_* */
} sio_broadcast_opts;

/* A broadcast with acknowledgements in progress, owned by the Socket.IO
 * layer: an adapter reports the other nodes' part to it, and holds a
 * reference while it may still report (sio_bc_ack_unref when its request
 * ends: all answered, timed out, or the adapter closes). */
typedef struct sio_bc_ack sio_bc_ack;
sio_bc_ack *sio_bc_ack_ref(sio_bc_ack *b);
void sio_bc_ack_unref(sio_bc_ack *b);
/* How many other nodes will report (serverCount - 1). Until it is set the
 * broadcast waits (or times out). */
void sio_bc_ack_expect_nodes(sio_bc_ack *b, size_t nodes);
/* One other node reported how many of its clients will answer. */
void sio_bc_ack_node_clients(sio_bc_ack *b, size_t clients);
/* One client of another node answered (args copied). */
void sio_bc_ack_response(sio_bc_ack *b, const sio_args *args);

/* Results of requests to the other nodes, given once. err is 0 or SIO_E*;
 * on SIO_ETIMEOUT the partial results are given where Node gives them. */
typedef void (*sio_adapter_sockets_fn)(int err, const cJSON *sockets, void *ud);
typedef void (*sio_adapter_rooms_fn)(int err, const char *const *rooms, size_t n, void *ud);
typedef void (*sio_adapter_count_fn)(size_t nodes, void *ud);

typedef struct sio_adapter_ops {
    /* --- this node's rooms: addAll / del / delAll, O(1) per room */
    void (*add_all)(sio_adapter *a, sio_socket *s, const char *const *rooms, size_t n);
    void (*del)(sio_adapter *a, sio_socket *s, const char *room);
    void (*del_all)(sio_adapter *a, sio_socket *s);
    int (*has)(sio_adapter *a, const sio_socket *s, const char *room);
    /* socketRooms */
    void (*socket_rooms)(sio_adapter *a, const sio_socket *s,
                         void (*fn)(const char *room, void *ud), void *ud);
    /* Every room of this node. */
    void (*rooms)(sio_adapter *a, void (*fn)(const char *room, void *ud), void *ud);
    /* Calls fn once for each socket of this node matching opts. fn must not
     * join or leave rooms (collect first). */
    void (*for_each)(sio_adapter *a, const sio_broadcast_opts *opts,
                     void (*fn)(sio_socket *s, void *ud), void *ud);

    /* --- cluster-wide */
    /* broadcast: sends the packet (an EVENT) to every matching socket of this
     * node (sio_adapter_deliver) and to the other nodes unless SIO_BC_LOCAL. */
    void (*broadcast)(sio_adapter *a, const sio_packet *packet, const sio_broadcast_opts *opts);
    /* The other nodes' part of a broadcast with acknowledgements (packet
     * carries an id; each node uses its own). NULL: none. */
    void (*broadcast_with_ack_others)(sio_adapter *a, const sio_packet *packet,
                                      const sio_broadcast_opts *opts, int timeout_ms,
                                      sio_bc_ack *ack);
    /* socketsJoin / socketsLeave / disconnectSockets on the other nodes. */
    void (*add_sockets_others)(sio_adapter *a, const sio_broadcast_opts *opts,
                               const char *const *rooms, size_t n);
    void (*del_sockets_others)(sio_adapter *a, const sio_broadcast_opts *opts,
                               const char *const *rooms, size_t n);
    void (*disconnect_sockets_others)(sio_adapter *a, const sio_broadcast_opts *opts,
                                      int close_conn);
    /* fetchSockets on the other nodes: fn gets a JSON array of
     * {id, handshake, rooms, data} (sio_socket_json's form). */
    void (*fetch_sockets_others)(sio_adapter *a, const sio_broadcast_opts *opts, int timeout_ms,
                                 sio_adapter_sockets_fn fn, void *ud);
    /* allRooms of the other nodes. */
    void (*all_rooms_others)(sio_adapter *a, int timeout_ms, sio_adapter_rooms_fn fn, void *ud);
    /* serverSideEmit: packet is [event, ...args]. With fn, each other node's
     * first ack argument is gathered: fn(err, responses, n, ud). */
    void (*server_side_emit_others)(sio_adapter *a, const sio_args *packet, int timeout_ms,
                                    sio_broadcast_ack_fn fn, void *ud);
    /* serverCount: nodes, this one included. */
    void (*server_count)(sio_adapter *a, sio_adapter_count_fn fn, void *ud);
    void (*free)(sio_adapter *a);
} sio_adapter_ops;

struct sio_adapter {
    const sio_adapter_ops *ops;
    sio_namespace *nsp;
};

/* The in-memory adapter (the default). */
sio_adapter *sio_memory_adapter_new(sio_namespace *nsp);
/* How many sockets of this node are in room (0: the room does not exist),
 * for an adapter made by sio_memory_adapter_new (else 0). O(1). */
size_t sio_memory_adapter_room_size(sio_adapter *memory, const char *room);
/* 1 if a is an in-memory adapter (made by sio_memory_adapter_new). */
int sio_memory_adapter_is(const sio_adapter *a);

/* ------------------------------------------------ this node's part of an operation */

/* Encodes packet once per protocol version and sends it to each socket of
 * this node matching opts: the local part of any adapter's broadcast. */
void sio_adapter_deliver(sio_adapter *a, const sio_packet *packet, const sio_broadcast_opts *opts);
/* A broadcast with acknowledgements from another node, delivered here: the
 * packet gets this namespace's next ack id; returns how many clients were
 * sent it; on_ack(args, ud) runs for each answer, until timeout_ms. done(ud)
 * runs once when no more answers can come (all in, timed out, or the
 * namespace closed). */
size_t sio_adapter_deliver_with_ack(sio_adapter *a, const sio_packet *packet,
                                    const sio_broadcast_opts *opts, int timeout_ms,
                                    void (*on_ack)(const sio_args *args, void *ud),
                                    void (*done)(void *ud), void *ud);
void sio_adapter_local_add_sockets(sio_adapter *a, const sio_broadcast_opts *opts,
                                   const char *const *rooms, size_t n);
void sio_adapter_local_del_sockets(sio_adapter *a, const sio_broadcast_opts *opts,
                                   const char *const *rooms, size_t n);
void sio_adapter_local_disconnect_sockets(sio_adapter *a, const sio_broadcast_opts *opts,
                                          int close_conn);
/* This node's matching sockets as a JSON array (caller frees). */
cJSON *sio_adapter_local_fetch_sockets(sio_adapter *a, const sio_broadcast_opts *opts);
/* A serverSideEmit from another node: runs this namespace's handlers
 * (sio_on_server_event). With reply, the handlers get an ack; reply(args, ud)
 * runs once: with the first answer, or with NULL if there will be none (the
 * handler did not answer before the namespace closed; no handler). */
void sio_adapter_server_event(sio_adapter *a, const sio_args *packet,
                              void (*reply)(const sio_args *args, void *ud), void *ud);

#endif
