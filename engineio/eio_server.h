/*
 * eio_server: an Engine.IO server (protocol v3 and v4) that can be used alone,
 * as Node's engine.io package can, or under the Socket.IO layer.
 *
 * It owns its connections: it listens (eio_server_listen), accepts, reads and
 * validates every HTTP request head on its loop, serves long-polling,
 * handshakes and WebSocket upgrades itself, and hands other requests to a
 * backend (eio_server_set_backend). It knows nothing of civetweb.
 *
 * Threading model (see README "Concurrency"):
 *  - One engine lock guards every session. Whoever runs engine code holds it:
 *    the engine's own loop thread (epoll over every connection, timers), or a
 *    thread of the application between eio_server_lock() and _unlock().
 *  - Callbacks (on_connection, on_message, on_close, allow_request) are always
 *    called with the engine lock held, so two never run at once and user code
 *    needs no locks of its own: as in Node. A callback must not block.
 *  - eio_socket_* and eio_message_* functions may be called from callbacks, or
 *    from any other thread between eio_server_lock() and eio_server_unlock().
 *  - WebSocket writes never block: frames go to a bounded per-connection queue,
 *    written without blocking when the socket can take them. A connection whose
 *    queue passes max_send_queue bytes is closed ("transport error").
 *
 * Ownership: the server owns its sessions; an eio_socket pointer is valid from
 * on_connection until on_close returns. An eio_message is reference counted.
 */
#ifndef EIO_SERVER_H
#define EIO_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "eio_buf.h"
#include "eio_stream.h"

typedef struct eio_server eio_server;
typedef struct eio_socket eio_socket;
typedef struct eio_message eio_message;

enum {
    EIO_TRANSPORT_POLLING = 1,
    EIO_TRANSPORT_WEBSOCKET = 2,
};

enum { EIO_LOG_ERROR = 0, EIO_LOG_WARN = 1, EIO_LOG_INFO = 2, EIO_LOG_DEBUG = 3 };

/* Engine.IO error codes, as Node's engine.io sends them. */
enum {
    EIO_ERRCODE_UNKNOWN_TRANSPORT = 0,
    EIO_ERRCODE_UNKNOWN_SID = 1,
    EIO_ERRCODE_BAD_HANDSHAKE_METHOD = 2,
    EIO_ERRCODE_BAD_REQUEST = 3,
    EIO_ERRCODE_FORBIDDEN = 4,
    EIO_ERRCODE_UNSUPPORTED_PROTOCOL_VERSION = 5,
};
const char *eio_errcode_message(int code);

/* A request as the engine sees it: the HTTP handshake of a session is kept for
 * the session's life (eio_socket_request) with this layout. All strings are
 * NUL-terminated; header names keep the case the client sent. */
typedef struct eio_header {
    const char *name;
    const char *value;
} eio_header;

typedef struct eio_request {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* URL path, not decoded */
    const char *query;  /* query string without '?', "" if none */
    const eio_header *headers;
    size_t n_headers;
    char remote_addr[48];
    int remote_port;
    int secure;               /* 1 over TLS */
    int64_t time_ms;          /* when the request arrived (ms since the epoch) */
    long long content_length; /* -1 if unknown */
} eio_request;

/* Case-insensitive header lookup; NULL if absent. */
const char *eio_request_header(const eio_request *r, const char *name);
/* Looks up a query parameter and URL-decodes it into out (reset first).
 * Returns 1 if present, 0 if not. */
int eio_request_query(const eio_request *r, const char *key, eio_buf *out);

typedef struct eio_options {
    int ping_interval_ms;         /* 25000 */
    int ping_timeout_ms;          /* 20000 */
    int upgrade_timeout_ms;       /* 10000 */
    size_t max_payload;           /* maxHttpBufferSize: 1e6 */
    int transports;               /* EIO_TRANSPORT_POLLING | EIO_TRANSPORT_WEBSOCKET */
    int allow_upgrades;           /* 1 */
    int allow_eio3;               /* 1: accept protocol v3 clients too */
    size_t max_send_queue;        /* bytes queued per connection before it is closed: 4 MiB */
    size_t max_clients;           /* sessions at once; handshakes over it get 503: 10000 */
    const char *cookie;           /* NULL: no cookie; else the cookie name (Node: "io") */
    const char *cookie_path;      /* "/" */
    int cookie_http_only;         /* 1 */
    const char *cookie_same_site; /* "Lax" */
    /* HTTP, as Node's engine.io and http server */
    const char *path;          /* "/engine.io/" (served with a trailing '/') */
    const char *cors_origin;   /* NULL: no CORS; "*"; "reflect"; or a comma-separated list */
    int cors_credentials;      /* Access-Control-Allow-Credentials: true */
    size_t max_headers;        /* request headers at most: 2000 (Node's maxHeadersCount) */
    size_t max_head_bytes;     /* request head bytes at most: 16384 (maxHeaderSize), else 431 */
    int headers_timeout_ms;    /* a request head must arrive in: 60000 (headersTimeout), 408 */
    int keep_alive_timeout_ms; /* idle keep-alive connections closed after: 5000 */
    /* httpCompression, as engine.io's polling transport: a GET's payload of at
     * least http_compression_threshold bytes goes out compressed with the
     * coding the request's Accept-Encoding prefers among gzip and deflate
     * (Content-Encoding set, chunked framing as Node streams it, no Vary);
     * smaller ones, and requests accepting neither, as they are. */
    int http_compression;              /* 1 (Node: httpCompression on) */
    size_t http_compression_threshold; /* 1024 (Node: httpCompression.threshold) */
    /* perMessageDeflate: the WebSocket permessage-deflate extension (RFC
     * 7692), negotiated as Node's ws 8 server negotiates a client's offer
     * (eio_pmd.h: the answer, the offers refused with 400). When agreed, a
     * message packet whose frame payload is at least the threshold, and not
     * sent with compress off (eio_message_set_compress), goes out deflated
     * with RSV1; smaller ones and control packets go as they are. Each
     * message is compressed alone (no server context takeover), so a
     * broadcast is compressed once per window size and its frame shared; the
     * engine keeps one deflater per window size in use (about 262 KiB for
     * 15 bits). A connection holds an inflater for the client's compressed
     * messages (about 40 KiB with 15 bits, kept for the client's context
     * takeover; none once idle when client_no_context_takeover is agreed),
     * with max_payload checked on the inflated size (1009). */
    int per_message_deflate;              /* 0 (Node: perMessageDeflate false) */
    size_t per_message_deflate_threshold; /* 1024 (Node: perMessageDeflate.threshold) */
    /* Threads that write a flush's connections side by side when it has many
     * (a broadcast): the thread holding the engine lock and write_threads - 1
     * writer threads. 0: one per online core; 1: the lock holder alone. Reads,
     * parsing and handlers stay on the loop thread, one at a time. */
    int write_threads;                                            /* 0 */
    int log_level;                                                /* EIO_LOG_INFO */
    void (*log)(int level, const char *message, void *user_data); /* NULL: stderr */
    /* Traces as Node's `debug` module prints them (engine, engine:socket,
     * engine:polling, engine:ws, engine:transport; eio_debug.h): a DEBUG
     * value ("engine*,-engine:ws"), read once by eio_server_new. NULL: the
     * DEBUG environment variable; "": none. */
    const char *debug;
} eio_options;

/* Fills *o with the Node defaults. */
void eio_options_default(eio_options *o);

typedef struct eio_callbacks {
    /* A session opened. */
    void (*on_connection)(eio_socket *s, void *user_data);
    /* A message arrived; data is valid only during the call. */
    void (*on_message)(eio_socket *s, const uint8_t *data, size_t len, int binary, void *user_data);
    /* A session closed, with Node's reason: "transport close", "transport error",
     * "ping timeout", "parse error", "forced close", "server shutting down".
     * The socket is freed after this returns. */
    void (*on_close)(eio_socket *s, const char *reason, void *user_data);
    /* allowRequest: called for each handshake. Return 1 to accept; 0 to refuse
     * with HTTP 403 {"code":4,"message":...}: set *message to a malloc'd string
     * to replace "Forbidden" (the engine frees it). NULL: accept all. */
    int (*allow_request)(const eio_request *req, char **message, void *user_data);
} eio_callbacks;

/* Creates the server and starts its loop thread. Copies the options. */
eio_server *eio_server_new(const eio_options *opts, const eio_callbacks *cbs, void *user_data);
/* Closes every session with reason "server shutting down", stops the loop
 * thread and frees the server. Must not be called with the lock held. */
void eio_server_free(eio_server *srv);
/* Closes every session ("server shutting down") and refuses new ones, without
 * freeing: pending long-polling requests are answered. */
void eio_server_shutdown(eio_server *srv);

void eio_server_lock(eio_server *srv);
void eio_server_unlock(eio_server *srv); /* also flushes what was sent meanwhile */
const eio_options *eio_server_options(const eio_server *srv);
size_t eio_server_client_count(eio_server *srv); /* lock held */

/* --- Sessions (lock held) --- */
const char *eio_socket_id(const eio_socket *s);             /* the 20-character sid */
int eio_socket_protocol(const eio_socket *s);               /* 3 or 4 */
int eio_socket_transport(const eio_socket *s);              /* EIO_TRANSPORT_* */
const eio_request *eio_socket_request(const eio_socket *s); /* the handshake */
void eio_socket_set_user_data(eio_socket *s, void *p);
void *eio_socket_get_user_data(const eio_socket *s);
/* Queues a message. Returns 0, or -1 if the session is closing or closed (the
 * message is dropped), or -2 if the send queue overflowed (the session is then
 * closed with "transport error"). */
int eio_socket_send(eio_socket *s, const void *data, size_t len, int binary);
/* Same with a shared message (one encoding for many receivers); takes no
 * ownership of m: the engine adds its own reference. */
int eio_socket_send_message(eio_socket *s, eio_message *m);
/* Closes the session after its queued packets are written ("forced close").
 * on_close follows. */
void eio_socket_close(eio_socket *s);
/* Bytes waiting to be written for this session. */
size_t eio_socket_queued_bytes(const eio_socket *s);
/* 1 if a packet sent now would be written at once (Node's transport.writable):
 * on WebSocket, nothing is queued; on polling, a GET is waiting. Volatile
 * emits are dropped when this is 0. */
int eio_socket_writable(const eio_socket *s);

/* A fresh 20-character id as Node's base64id makes (15 CSPRNG bytes,
 * base64 with '-' and '_'). Any thread. */
void eio_generate_id(char out[21]);

/* --- Timers on the engine's loop (lock held) --- */
typedef struct eio_timeout eio_timeout;
/* Calls fn(arg) with the lock held after delay_ms, once. The handle is valid
 * until fn runs or eio_clear_timeout is called, whichever comes first. */
eio_timeout *eio_set_timeout(eio_server *srv, uint64_t delay_ms, void (*fn)(void *arg), void *arg);
/* Cancels and frees a pending timeout; NULL is a no-op. */
void eio_clear_timeout(eio_server *srv, eio_timeout *t);

/* --- Outside descriptors on the engine's loop (lock held) ---
 * A module that talks to something else (a Redis connection, for instance)
 * puts its non-blocking descriptor on the engine's loop, so its callbacks run
 * like every other engine callback: on the loop thread, with the lock held,
 * never two at once, and no thread of its own. */
typedef struct eio_watch eio_watch;
enum { EIO_WATCH_READ = 1, EIO_WATCH_WRITE = 2 };
/* Watches fd (not owned: the caller closes it after eio_watch_free) for the
 * events (EIO_WATCH_*, level-triggered). fn(w, events, arg) gets what is
 * ready; an error or a hang-up is reported as EIO_WATCH_READ (the read then
 * sees it). NULL if fd cannot be watched (errno set). */
eio_watch *eio_watch_fd(eio_server *srv, int fd, int events,
                        void (*fn)(eio_watch *w, int events, void *arg), void *arg);
/* Changes what is watched (0: nothing, the watch stays). */
void eio_watch_set(eio_watch *w, int events);
/* Stops watching and frees w; fn is not called again, even for an event of
 * the loop's current batch. May be called from fn. NULL is a no-op. */
void eio_watch_free(eio_watch *w);
/* The engine's clock, in ms (monotonic; a test's fake clock). */
uint64_t eio_server_now_ms(const eio_server *srv);

/* --- Shared messages: encoded once, sent to many --- */
eio_message *eio_message_new(const void *data, size_t len, int binary); /* 1 reference */
/* Node's send option compress (socket.compress(false)): 0 sends the message
 * uncompressed over a WebSocket with permessage-deflate, and a polling
 * payload all of whose packets say 0 goes out without httpCompression, as
 * engine.io's polling transport decides it. Messages are made with 1. Set it
 * before the message is first sent. */
void eio_message_set_compress(eio_message *m, int on);
eio_message *eio_message_ref(eio_message *m);
void eio_message_unref(eio_message *m); /* NULL is a no-op; any thread */

/* --- Listening: the engine owns its connections --- */

/* Listens on host (NULL: every address, IPv6 and IPv4, as Node's
 * listen(port); an IPv4 or IPv6 literal or a name narrows it) and port (0: any
 * free port), plain or with TLS (tls: not owned, must outlive the server).
 * The loop accepts, reads and checks every request head, serves the requests
 * on the engine path (opts.path: polling, handshakes, upgrades) and hands the
 * others, complete, to the backend (eio_server_set_backend) or answers 404.
 * May be called more than once. Returns the port listened on, or -1 with a
 * log line. Must not be called with the lock held. */
int eio_server_listen(eio_server *srv, const char *host, int port, eio_tls_ctx *tls);
/* Sets the engine path and CORS after creation (as eio_options.path,
 * cors_origin, cors_credentials; the strings are copied). Before listening. */
void eio_server_set_http(eio_server *srv, const char *path, const char *cors_origin,
                         int cors_credentials);
/* Where requests off the engine path go: an HTTP/1.1 server on an IPv4
 * address (civetweb on a loopback port, for server/). NULL: none (404). */
void eio_server_set_backend(eio_server *srv, const char *host, int port);
/* Hands one name under the engine path to the backend too: a request whose
 * path is exactly <engine path><name> (any query, any method) goes there as
 * requests off the path do, instead of being an Engine.IO request (which
 * would answer 400 "Transport unknown"). Its answer gets the engine's CORS
 * lines and an OPTIONS preflight for it is answered here, as Node's cors
 * middleware wraps socket.io's client serving; a WebSocket upgrade on it
 * stays the engine's, as in Node. For Socket.IO's serveClient (server/
 * hands it the bundle's file names). The name is copied. Before listening. */
void eio_server_add_backend_name(eio_server *srv, const char *name);

/* --- Counters, for a metrics endpoint (server/srv_metrics.h) ---
 * The engine counts as it goes: plain integers bumped under the engine lock
 * it already holds (no allocation, no atomics), always on. */

/* Why sessions closed: Node's reasons (eio_callbacks.on_close). */
enum {
    EIO_CLOSE_TRANSPORT_CLOSE,
    EIO_CLOSE_TRANSPORT_ERROR,
    EIO_CLOSE_PING_TIMEOUT,
    EIO_CLOSE_PARSE_ERROR,
    EIO_CLOSE_FORCED_CLOSE,
    EIO_CLOSE_SERVER_SHUTTING_DOWN,
    EIO_CLOSE_OTHER,
    EIO_CLOSE_REASONS
};
/* Node's string for a reason ("transport close", ...; "other"). */
const char *eio_close_reason_name(int reason);

/* Engine.IO packet types (EIO_PACKET_OPEN .. EIO_PACKET_NOOP, eio_packet.h). */
#define EIO_STATS_PACKET_TYPES 7
/* A packet type's name: "open", "close", "ping", "pong", "message",
 * "upgrade", "noop" ("unknown" past them). */
const char *eio_packet_type_name(int type);
/* Upper bounds (ms) of the loop lag histogram's buckets; +Inf follows. */
#define EIO_STATS_LAG_BUCKETS 10
#define EIO_STATS_LAG_BOUNDS_MS                                                                    \
    {                                                                                              \
        1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500                                                \
    }

typedef struct eio_stats {
    /* Gauges, as of the snapshot. */
    uint64_t clients[2][2]; /* open sessions [0 polling, 1 websocket][0 EIO=3, 1 EIO=4] */
    uint64_t connections;   /* HTTP and WebSocket connections open */
    /* Counters since the server was made. */
    uint64_t handshakes[2]; /* sessions opened [0 polling, 1 websocket] */
    uint64_t upgrades;      /* polling sessions moved to WebSocket */
    uint64_t disconnects[EIO_CLOSE_REASONS];
    uint64_t send_queue_overflows;                /* sessions closed past max_send_queue */
    uint64_t refused_max_clients;                 /* handshakes refused (503) at max_clients */
    uint64_t refused_allow_request;               /* handshakes refused (403) by allow_request */
    uint64_t packets_in[EIO_STATS_PACKET_TYPES];  /* packets from clients, by type */
    uint64_t packets_out[EIO_STATS_PACKET_TYPES]; /* packets queued for clients, by type */
    uint64_t bytes_in, bytes_out;                 /* the data of those packets (not the framing) */
    /* How late the loop runs its timers (ms): each run that fires one
     * measures now - the earliest deadline due. */
    uint64_t lag_last_ms, lag_max_ms;
    uint64_t lag_count, lag_sum_ms;
    uint64_t lag_buckets[EIO_STATS_LAG_BUCKETS + 1]; /* per bucket (not cumulative); last: +Inf */
} eio_stats;

/* Copies the counters and the gauges into *out. Lock held (any thread
 * between eio_server_lock and eio_server_unlock, or a callback); O(sessions)
 * for the gauges. */
void eio_server_stats(eio_server *srv, eio_stats *out);

#endif
