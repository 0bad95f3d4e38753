/*
 * Internals shared by the Socket.IO layer's files. Not a public header.
 *
 * Threading: everything here is guarded by the engine lock (see sio.h).
 * Ownership: the server owns namespaces and clients; a client owns its
 * sockets; a socket owns its handlers, pending acknowledgements and handshake.
 * Sockets and clients are reference counted so that one disconnected inside
 * its own handler is freed only when that handler has returned.
 */
#ifndef SIO_INTERNAL_H
#define SIO_INTERNAL_H

#include <regex.h>

#include "engineio/eio_server.h"
#include "socketio/sio.h"
#include "socketio/sio_adapter.h"
#include "socketio/sio_packet.h"

struct sio_args {
    cJSON *array;     /* owned; sio_json_delete */
    eio_frame **bins; /* one reference each */
    size_t n_bins, cap_bins;
};

/* A growable array of handler records. */
typedef struct sio__handler {
    char *event;      /* socket.on: event name; NULL for other lists */
    void (*fn)(void); /* cast to the list's type */
    void *ud;
    int once;
} sio__handler;

typedef struct sio__handlers {
    sio__handler *items;
    size_t len, cap;
} sio__handlers;

void sio__handlers_add(sio__handlers *h, const char *event, void (*fn)(void), void *ud, int once);
void sio__handlers_remove(sio__handlers *h, const char *event, void (*fn)(void));
void sio__handlers_free(sio__handlers *h);

struct sio_namespace {
    sio_server *io;
    char *name;
    sio_namespace *group; /* the dynamic group that created it, or NULL */
    int is_group;         /* a dynamic group, not a namespace */
    int (*match)(const char *name, const cJSON *auth, void *ud);
    void *match_ud;
    regex_t regex;
    int has_regex;
    sio__handlers on_connection; /* sio_connection_fn */
    sio__handlers middlewares;   /* sio_middleware_fn */
    sio_socket *sockets;         /* connected sockets (list) */
    size_t n_sockets;
    sio_adapter *adapter;
    uint64_t next_ack_id;               /* for broadcasts with acknowledgements */
    sio__handlers server_events;        /* sio_server_event_fn (serverSideEmit) */
    struct sio_server_ack *server_acks; /* unanswered, told "none" when the namespace goes */
    struct sio__recovery *recovery;     /* connection state recovery's store (sio_recovery.c) */
    int recovery_warned;
    sio_namespace *next;
};

/* One per Engine.IO session. */
typedef struct sio__client {
    sio_server *io;
    eio_socket *conn;
    int protocol; /* 4 or 5 */
    int refs;
    int closed;
    sio_socket *sockets;        /* every socket of this client (connecting or connected) */
    sio_packet_decoder decoder; /* the parser's state (a packet waiting for attachments) */
    eio_timeout *connect_timer;
    eio_timeout *binary_timer; /* binary_packet_timeout_ms of a packet awaiting attachments */
    int observed_transport;    /* the transport the observer last saw (sio__observer) */
    int observer_queued;       /* held in the observer's queue (sio_admin.c) */
    struct sio__client *prev, *next;
} sio__client;

/* An acknowledgement the server waits for (socket.emit with a callback). */
typedef struct sio__pending_ack {
    uint64_t id;
    sio_ack_fn fn;
    void *ud;
    eio_timeout *timer;
    sio_socket *socket;
    struct sio_bc_ack *broadcast; /* set for a broadcast with acknowledgements */
    struct sio__pending_ack *next;
} sio__pending_ack;

/* An acknowledgement the client waits for. While its handlers run
 * (in_call) the dispatch owns it; afterwards it lives on only if a handler
 * kept it (sio_ack_keep): then it is on the socket's kept list until it is
 * answered or the socket closes. */
struct sio_ack {
    sio_socket *socket;
    uint64_t id;
    int in_call;                 /* its handlers (or socket.use chain) have not returned yet */
    int kept;                    /* sio_ack_keep: on s->client_acks */
    int answered;                /* sio_ack_send was called while in_call */
    struct sio_ack *prev, *next; /* the socket's list of kept acks */
};

struct sio_socket {
    sio__client *client;
    sio_namespace *nsp;
    char *id;
    int refs;
    int connected;
    int closing;          /* _onclose running */
    sio__handlers events; /* sio_event_fn */
    sio__handlers any;    /* sio_any_fn */
    sio__handlers any_outgoing;
    sio__handlers disconnecting; /* sio_disconnect_fn */
    sio__handlers disconnect;
    sio__handlers use;      /* sio_packet_middleware_fn */
    sio__handlers errors;   /* sio_error_fn */
    sio__pending_ack *acks; /* waiting for the client */
    sio_ack *client_acks;   /* kept acks the client waits for (sio_ack_keep) */
    size_t n_client_acks;
    sio_handshake handshake;
    cJSON *hs_query, *hs_auth;
    char *hs_time, *hs_url;
    void *data;
    cJSON *data_json; /* socket.data as JSON (owned) */
    char *pid;        /* connection state recovery's private id */
    int recovered;
    char **restore_rooms; /* a recovered socket's rooms, joined when it connects */
    size_t n_restore_rooms;
    void *adapter_data;              /* the adapter's per-socket state (its rooms) */
    uint64_t mark;                   /* broadcast de-duplication stamp */
    sio_socket *nsp_prev, *nsp_next; /* nsp->sockets */
    sio_socket *client_next;         /* client->sockets */
};

/* A middleware chain in progress: namespace middleware (connect) or
 * socket.use (one incoming event). */
struct sio_next {
    sio_socket *socket;
    size_t index;   /* which middleware runs now */
    int is_packet;  /* socket.use chain */
    char *event;    /* socket.use: the event (owned) */
    sio_args *args; /* socket.use: the arguments (owned) */
    sio_ack *ack;
};

/* What happens in the server, told to one observer (the admin UI's
 * instrumentation, sio_admin.c) as it happens, from the call sites in
 * sio_server.c, sio_socket.c, sio_broadcast.c and sio_cluster.c. With no
 * observer attached (io->observer NULL) each call site costs one pointer
 * test. Every callback is set, runs with the engine lock held (except close)
 * and must not free what it is given. Events are given as the packet's data,
 * [event, ...args], with its binary frames (borrowed). */
typedef struct sio__observer {
    void *ud;
    /* Engine.IO sessions: opened, closed (the engine's reason), a message
     * in (its length in bytes), messages out (how many, and their bytes;
     * called in the middle of a send: it must not send anything itself). */
    void (*raw_connection)(void *ud, sio__client *c);
    void (*raw_disconnection)(void *ud, sio__client *c, const char *reason);
    void (*packet_in)(void *ud, sio__client *c, size_t bytes);
    void (*packets_out)(void *ud, sio__client *c, size_t count, size_t bytes);
    /* Sockets: connected (its own room joined, before the connection
     * handlers), disconnected (rooms left, before the disconnect handlers),
     * socket.data replaced while connected. */
    void (*socket_connected)(void *ud, sio_socket *s);
    void (*socket_disconnected)(void *ud, sio_socket *s, const char *reason);
    void (*data_changed)(void *ud, sio_socket *s);
    /* A room joined or left by a socket of this node (not when it already
     * was, or was not, in it). */
    void (*room_joined)(void *ud, sio_socket *s, const char *room);
    void (*room_left)(void *ud, sio_socket *s, const char *room);
    /* An event from the client (before onAny), or to it (socket.emit and
     * broadcasts, as onAnyOutgoing sees them). */
    void (*event_received)(void *ud, sio_socket *s, const cJSON *data, eio_frame *const *bins,
                           size_t n_bins);
    void (*event_sent)(void *ud, sio_socket *s, const cJSON *data, eio_frame *const *bins,
                       size_t n_bins);
    /* sio_server_free, after every session closed, without the lock: the
     * observer detaches (io->observer = NULL) and frees itself. */
    void (*close)(void *ud);
} sio__observer;

struct sio_server {
    sio_options opts;
    const sio_parser *parser; /* opts.parser, or the default */
    eio_server *engine;
    sio_namespace *nsps;   /* static and created namespaces */
    sio_namespace *groups; /* dynamic groups */
    sio__client *clients;
    uint64_t mark; /* broadcast stamps */
    int closing;
    const sio__observer *observer; /* NULL: none (see sio__observer) */
    unsigned debug;                /* SIO__DBG_* enabled by DEBUG, parsed once (sio_debug.c) */
};

/* sio_debug.c: Node's debug namespaces of socket.io and socket.io-parser
 * (engineio/eio_debug.h). A trace costs one integer test when its namespace
 * is off; the arguments are not evaluated. */
enum {
    SIO__DBG_SERVER = 1,    /* "socket.io:server": incoming connections */
    SIO__DBG_NAMESPACE = 2, /* "socket.io:namespace": sockets added, refused */
    SIO__DBG_SOCKET = 4,    /* "socket.io:socket": events, acks, rooms, closes */
    SIO__DBG_CLIENT = 8,    /* "socket.io:client": namespaces joined, packets written, closes */
    SIO__DBG_PARSER = 16    /* "socket.io-parser": packets decoded */
};
unsigned sio__debug_mask(const char *spec);
void sio__debug(unsigned ns, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define SIO__DEBUG(io, ns, ...)                                                                    \
    do {                                                                                           \
        if ((io)->debug & (ns))                                                                    \
            sio__debug((ns), __VA_ARGS__);                                                         \
    } while (0)

/* sio_server.c */
sio_namespace *sio__nsp_new(sio_server *io, const char *name, sio_namespace *group);
void sio__client_unref(sio__client *c);
void sio__client_close(sio__client *c, const char *reason);
void sio__socket_ref(sio_socket *s);
void sio__socket_unref(sio_socket *s);

/* sio_socket.c */
sio_socket *sio__socket_new(sio__client *c, sio_namespace *nsp, cJSON *auth, const char *query);
void sio__socket_onpacket(sio_socket *s, sio_packet *p);
void sio__socket_onclose(sio_socket *s, const char *reason);
void sio__socket_onconnect(sio_socket *s);
void sio__socket_error(sio_socket *s, const char *message, cJSON *data);
int sio__send_packet(sio__client *c, const sio_packet *p);
void sio__use_next(sio_next *n, const char *message, cJSON *data);
/* The handlers of ack's event have returned: frees it unless kept. */
void sio__ack_release(sio_ack *ack);

/* sio_recovery.c */
struct sio__recovery;
/* The namespace's store, made on first need; NULL when recovery is off or
 * the adapter keeps no packets (said once). */
struct sio__recovery *sio__recovery_get(sio_namespace *nsp);
void sio__recovery_free(sio_namespace *nsp);
/* Appends an offset to args and keeps a copy, for sockets matching o. */
void sio__recovery_store(sio_namespace *nsp, sio_args *args, const sio_broadcast_opts *o);
/* Keeps s's session (its reason is one Node keeps). */
void sio__recovery_persist(sio_socket *s);
/* Gives s the session of pid if it can be recovered from offset: its id,
 * rooms, data; writes the missed events. Returns 1 if recovered. */
int sio__recovery_restore(sio_socket *s, const char *pid, const char *offset);

/* sio_cluster.c */
void sio__nsp_cluster_free(sio_namespace *nsp);

/* sio_admin.c: the admin UI's aggregated events, Node's EventBuffer: counts
 * per second of wall-clock time (ms, rounded down to the second), type and
 * subtype, in the order they first appeared. Pure: the time is an argument. */
enum {
    SIO__ADMIN_RAW_CONNECTION,
    SIO__ADMIN_RAW_DISCONNECTION,
    SIO__ADMIN_PACKETS_IN,
    SIO__ADMIN_PACKETS_OUT,
    SIO__ADMIN_BYTES_IN,
    SIO__ADMIN_BYTES_OUT,
};
typedef struct sio__admin_bucket {
    int64_t timestamp; /* ms, a whole second */
    int type;          /* SIO__ADMIN_* */
    char *subtype;     /* owned; NULL: none */
    uint64_t count;
} sio__admin_bucket;
typedef struct sio__admin_events {
    sio__admin_bucket *items;
    size_t len, cap;
} sio__admin_events;
/* At most this many buckets between two takes; new keys past it are dropped. */
#define SIO__ADMIN_MAX_BUCKETS 10000
void sio__admin_events_push(sio__admin_events *b, int64_t now_ms, int type, const char *subtype,
                            uint64_t count);
/* getValuesAndClear: [{timestamp, type, subType?, count}, ...]; b is empty after. */
cJSON *sio__admin_events_take(sio__admin_events *b);
void sio__admin_events_free(sio__admin_events *b);
/* JavaScript's Date.prototype.toISOString(): "2024-05-01T12:34:56.789Z". */
void sio__admin_iso_date(int64_t ms, char out[32]);

/* sio_args.c */
sio_args *sio__args_take(cJSON *array, eio_frame **bins, size_t n_bins);
/* Builds the packet's data [event, ...args] in place in a->array (undo with
 * sio__args_unprepend). */
int sio__args_prepend_event(sio_args *a, const char *event);
void sio__args_unprepend(sio_args *a);

/* sio_broadcast.c */
int sio__reserved_event(const char *event);
struct sio_bc_ack;
/* A receiver answered a broadcast with acknowledgements (releases its share). */
void sio__bc_ack_answer(struct sio_bc_ack *b, const sio_args *args);
/* A receiver will not answer (it disconnected): releases its share. */
void sio__bc_ack_release(struct sio_bc_ack *b);

#endif
