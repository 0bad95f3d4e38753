/*
 * sio_adapter: where rooms live and how a broadcast reaches its sockets, as
 * Node's socket.io-adapter. Each namespace has one adapter; the in-memory one
 * is the default. A multi-node adapter (e.g. over Redis) wraps it: it calls
 * the in-memory operations for this node and forwards to the others.
 *
 * Threading: called with the engine lock held, like everything in sio.
 * Ownership: the namespace owns its adapter (ops->free). Room names are
 * copied; sockets are borrowed (the namespace removes a socket with del_all
 * before freeing it).
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
    SIO_BC_COMPRESS = 4,
};

/* Which sockets a broadcast targets: those in any of rooms (every socket of
 * the namespace when n_rooms is 0), minus those in any of except. */
typedef struct sio_broadcast_opts {
    const char *const *rooms;
    size_t n_rooms;
    const char *const *except;
    size_t n_except;
    unsigned flags; /* SIO_BC_* */
} sio_broadcast_opts;

typedef struct sio_adapter_ops {
    /* addAll / del / delAll: O(1) per room. */
    void (*add_all)(sio_adapter *a, sio_socket *s, const char *const *rooms, size_t n);
    void (*del)(sio_adapter *a, sio_socket *s, const char *room);
    void (*del_all)(sio_adapter *a, sio_socket *s);
    int (*has)(sio_adapter *a, const sio_socket *s, const char *room);
    /* socketRooms */
    void (*socket_rooms)(sio_adapter *a, const sio_socket *s,
                         void (*fn)(const char *room, void *ud), void *ud);
    /* Calls fn once for each socket of this node matching opts. fn must not
     * join or leave rooms (collect first: see sio_fetch_sockets). */
    void (*for_each)(sio_adapter *a, const sio_broadcast_opts *opts,
                     void (*fn)(sio_socket *s, void *ud), void *ud);
    /* broadcast: sends the packet (encoded once) to every matching socket of
     * this node, and to other nodes unless SIO_BC_LOCAL. */
    void (*broadcast)(sio_adapter *a, const sio_packet *packet, const sio_broadcast_opts *opts);
    /* serverCount: nodes, this one included. */
    size_t (*server_count)(sio_adapter *a);
    void (*free)(sio_adapter *a);
} sio_adapter_ops;

struct sio_adapter {
    const sio_adapter_ops *ops;
    sio_namespace *nsp;
};

/* The in-memory adapter (the default). */
sio_adapter *sio_memory_adapter_new(sio_namespace *nsp);

/* Encodes packet once per protocol version and sends it to each socket of
 * this node matching opts: the local part of any adapter's broadcast. */
void sio_adapter_deliver(sio_adapter *a, const sio_packet *packet, const sio_broadcast_opts *opts);

#endif
