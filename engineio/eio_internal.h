/*
 * Internals shared by the engine's files (eio_server.c, eio_polling.c,
 * eio_websocket.c, eio_timer.c). Not a public header.
 *
 * Threading: every field of eio_server below `mu`, every session and every
 * WebSocket connection is guarded by srv->mu (the engine lock), except where a
 * comment says otherwise.
 * Ownership: the server owns sessions (refcounted: the session table holds one
 * reference, each HTTP request in progress one more) and connections (freed by
 * the loop thread at the end of an iteration, never while an event for them may
 * still be pending).
 */
#ifndef EIO_INTERNAL_H
#define EIO_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/socket.h>

#include "eio_buf.h"
#include "eio_packet.h"
#include "eio_pmd.h"
#include "eio_server.h"
#include "eio_http.h"
#include "eio_stream.h"
#include "eio_ws.h"

/* ---- timers: a binary min-heap of deadlines (eio_timer.c) ---- */
typedef struct eio__timer {
    uint64_t deadline_ms;
    size_t heap_index; /* SIZE_MAX when not armed */
    void (*fire)(struct eio__timer *t);
} eio__timer;

typedef struct eio__timer_heap {
    eio__timer **items;
    size_t len, cap;
} eio__timer_heap;

void eio__timer_init(eio__timer *t, void (*fire)(eio__timer *));
int eio__timer_armed(const eio__timer *t);
void eio__heap_set(eio__timer_heap *h, eio__timer *t, uint64_t deadline_ms);
void eio__heap_cancel(eio__timer_heap *h, eio__timer *t);
eio__timer *eio__heap_top(const eio__timer_heap *h);
void eio__heap_free(eio__timer_heap *h);

uint64_t eio__now_ms(void); /* CLOCK_MONOTONIC */

#define EIO__CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* A response being built by eio_polling.c. */
typedef struct eio_http_response {
    int status;               /* HTTP status */
    const char *content_type; /* static string */
    eio_buf body;
    eio_buf headers; /* extra header lines, each ending in "\r\n" */
    int chunked;     /* framed chunked (Node's error answers are) */
    int payload;     /* a GET's payload of queued packets: httpCompression applies */
} eio_http_response;

void eio_http_response_free(eio_http_response *r);

/* ---- outgoing messages ---- */
struct eio_message {
    int refs; /* atomic */
    int binary;
    eio_frame *ws_text;   /* WebSocket frame "4<data>" (text), built on first use */
    eio_frame *ws_bin_v4; /* WebSocket binary frame of the raw bytes */
    eio_frame *ws_bin_v3; /* WebSocket binary frame 0x04 + bytes */
    /* permessage-deflate: RSV1 frames of the message, built on first use for
     * each of the three forms above and each server window (8..15), shared by
     * every receiver with that window; NULL until a compressed one is sent
     * (eio_websocket.c). */
    struct eio__deflated *deflated;
    int no_compress; /* compress(false): sent uncompressed (WebSocket and polling) */
    size_t len;
    uint8_t data[];
};

/* A packet waiting in a session's queue (used while on polling). */
typedef struct eio__out {
    uint8_t type;     /* EIO_PACKET_* */
    uint8_t probe;    /* data is "probe" (pong probe) */
    eio_message *msg; /* for EIO_PACKET_MESSAGE and OPEN (its JSON); owned ref */
} eio__out;

/* ---- connections (eio_conn.c): every peer socket the engine owns ---- */
/* Header lines the parser takes at most (a head of 2 * max_head_bytes has no
 * more lines than this); opts.max_headers of them are kept. */
#define EIO__PARSE_MAX_HEADERS 8192
typedef struct eio__wq_item {
    eio_frame *frame;
    size_t offset;
} eio__wq_item;

/* What a descriptor in the epoll set is (the first field of each). */
enum { EIO__P_LISTENER = 1, EIO__P_CONN, EIO__P_BACKEND, EIO__P_WATCH };

enum { EIO__WS_OPEN, EIO__WS_CLOSING, EIO__WS_CLOSED };

/* What a connection is doing. */
enum {
    EIO__M_HEAD,    /* reading a request head (or idle between requests) */
    EIO__M_BODY,    /* reading the body of a request already dispatched */
    EIO__M_PARKED,  /* a long-polling GET waiting for packets */
    EIO__M_WRITING, /* a response is going out; then the next request */
    EIO__M_FORWARD, /* a request handed to the backend (civetweb); piping its answer */
    EIO__M_WS,      /* a WebSocket */
};

/* What a dispatched request with a body is for. */
enum { EIO__BODY_POST = 1, EIO__BODY_FORWARD, EIO__BODY_DISCARD };

typedef struct eio__listener {
    int kind; /* EIO__P_LISTENER */
    int fd;
    eio_tls_ctx *tls; /* not owned; NULL: plain */
    eio_server *srv;
    struct eio__listener *next;
} eio__listener;

typedef struct eio__backend eio__backend;

typedef struct eio__conn {
    int kind; /* EIO__P_CONN */
    eio_server *srv;
    eio_stream *stream;
    int mode;     /* EIO__M_* */
    int state;    /* EIO__WS_OPEN / CLOSING (close once the queue is written) / CLOSED */
    int events;   /* epoll events registered */
    int dirty;    /* on srv->dirty list */
    int shut_wr;  /* FIN sent */
    int ready;    /* parked GET on srv->ready_polls */
    int read_off; /* stopped reading (pipelined bytes buffered up to the limit) */
    int peer_eof; /* the peer ended its side: write what is queued, then close */
    int more;     /* on srv->more_reads: bytes wait in the stream (TLS read-ahead) */
    struct eio__conn *more_next;
    struct eio__conn *dirty_next, *ready_next;
    struct eio__conn *prev, *next; /* srv->conns */
    eio_buf rbuf;                  /* bytes read and not yet used */
    eio__wq_item *wq;              /* ring of frames to write */
    size_t wq_head, wq_len, wq_cap;
    size_t queued_bytes;
    eio__timer idle_timer; /* head / keep-alive timeout; linger once closing */
    char remote_addr[48];
    int remote_port;
    /* HTTP: the request in progress */
    int keep_alive;      /* the connection may carry another request */
    int body_kind;       /* EIO__BODY_* while mode == EIO__M_BODY */
    int body_chunked;    /* the body uses chunked coding */
    int expect_continue; /* the client waits for "100 Continue" before its body */
    int upgrade;         /* the request asks for a WebSocket upgrade */
    int http_minor;      /* the request's HTTP/1.x minor version */
    int body_pending;    /* the request has a body not read yet */
    long long body_left; /* Content-Length bytes still to read */
    size_t body_max;
    eio_http_chunked chunked;
    eio_buf body;    /* decoded body */
    eio_request req; /* the request being served (strings in req_storage) */
    char *req_storage;
    eio_socket *session;   /* polling: the session of a parked GET or a POST (a reference);
                              WebSocket: its session, NULL once detached */
    eio__backend *backend; /* EIO__M_FORWARD */
    /* WebSocket */
    int version;  /* 3 or 4 */
    int is_probe; /* upgrading a polling session, not yet switched */
    eio_ws_assembler assembler;
    eio__timer upgrade_timer; /* probe: upgradeTimeout */
    int pmd_on;               /* permessage-deflate agreed in the upgrade (eio_polling.c) */
    eio_pmd_params pmd;       /* what was agreed */
    /* a pre-read of this loop iteration (eio__conn_preread), not used yet */
    uint8_t *pre_buf;
    long pre_n;
    /* its WebSocket frames, parsed by the same writer (eio__ws_preparse);
     * NULL: not parsed */
    struct eio__ws_preparsed *pre_parsed;
} eio__conn;

/* A WebSocket control frame or complete message, parsed, not acted on yet:
 * kind is its opcode (0: a fragment taken in); data points into the read
 * bytes or the connection's assembler. */
typedef struct eio__ws_item {
    int kind;
    const uint8_t *data;
    size_t len;
} eio__ws_item;

/* What the parallel pre-read parsed of one connection's read (one slot of
 * srv->preparsed, valid until the loop iteration ends). */
#define EIO__PREPARSE_ITEMS 32
typedef struct eio__ws_preparsed {
    size_t n;        /* items */
    size_t used;     /* bytes of the read they took */
    int err;         /* the parse ended on this close code (0: it did not) */
    const char *why; /* and why */
    eio__ws_item items[EIO__PREPARSE_ITEMS];
} eio__ws_preparsed;

/* Kept name for the WebSocket role of a connection. */
typedef eio__conn eio__ws_conn;

/* ---- sessions ---- */
#define EIO__POLLING_CLOSE_TIMEOUT_MS 30000 /* Node's polling closeTimeout */

enum { EIO__S_OPEN, EIO__S_CLOSING, EIO__S_CLOSED };

struct eio_socket {
    eio_server *srv;
    char id[21];
    int refs;
    int version;   /* 3 or 4 */
    int transport; /* EIO_TRANSPORT_* */
    int state;     /* EIO__S_* */
    int upgrading; /* a probe WebSocket answered 3probe */
    int upgraded;
    int supports_binary;      /* v3 polling: no b64=1 and not JSONP */
    char *jsonp;              /* v3 JSONP index, NULL if not JSONP */
    const char *close_reason; /* set when CLOSING */
    int close_pending;        /* on srv->pending_close (closed at a safe point) */
    struct eio_socket *pending_next;
    struct eio_socket *map_next;    /* session table chain */
    struct eio_socket *prev, *next; /* srv->sessions list */
    /* outgoing packets while on polling */
    eio__out *outq;
    size_t outq_head, outq_len, outq_cap;
    size_t outq_bytes;
    eio__conn *get_conn;      /* the connection of a waiting GET (parked) */
    eio__conn *post_conn;     /* the connection of a POST whose body is being read */
    eio__ws_conn *ws;         /* transport when on WebSocket */
    eio__ws_conn *probe;      /* upgrading connection */
    eio__timer ping_timer;    /* v4: send the next ping */
    eio__timer timeout_timer; /* no pong (v4) / no ping (v3) in time */
    eio__timer close_timer;   /* polling close waiting for a GET */
    eio_request req;          /* handshake, deep copy */
    char *req_storage;
    void *user_data;
};

struct eio_server {
    eio_options opts;
    eio_callbacks cbs;
    void *user_data;
    char *cookie, *cookie_path, *cookie_same_site; /* copies of the options */

    pthread_mutex_t mu;
    pthread_t thread;
    int epfd;
    int evfd;       /* wakes the loop */
    int stop;       /* loop thread should exit */
    int has_thread; /* 0 for a manual (test) server */
    const uint64_t *fake_clock;
    int shutting_down;      /* refuse new sessions */
    uint64_t loop_deadline; /* what the loop waits for; UINT64_MAX: none */

    eio_socket **map; /* session table: sid -> session */
    size_t map_cap, n_sessions;
    eio_socket *sessions;      /* every open session */
    eio__conn *conns;          /* every connection */
    eio__conn *dirty;          /* connections with bytes to write */
    eio__conn *ready_polls;    /* parked GETs to answer at the next flush */
    eio__conn *zombies;        /* closed, to free at the end of the iteration */
    eio__conn *more_reads;     /* read again before waiting: their streams hold bytes */
    eio_socket *pending_close; /* overflowed sessions to close at a safe point */
    eio__listener *listeners;
    eio__backend *dead_backends;    /* ended hand-offs, freed at the end of the iteration */
    struct eio_watch *watches;      /* outside descriptors (eio_watch_fd) */
    struct eio_watch *dead_watches; /* stopped, freed at the end of the iteration */
    size_t n_conns;
    eio__timer_heap timers;
    eio_buf read_buf;                                   /* loop thread's read buffer */
    eio_buf scratch;                                    /* decode scratch */
    eio_frame *f_ping, *f_pong, *f_noop, *f_pong_probe; /* WebSocket control frames */
    /* permessage-deflate: one deflater per server window size in use (8..15
     * at [bits - 8]), made on first use, reset for every message (each is
     * compressed alone), freed with the server. */
    eio_pmd_deflater *pmd_deflaters[8];
    eio_http_field *http_fields; /* parse scratch: opts.max_headers entries */
    char *path;                  /* engine path, with a trailing '/' */
    char *cors_origin;           /* copy of the option */
    char *backend_host;          /* where other requests go (NULL: answered 404) */
    int backend_port;
    char **backend_names; /* names under the path that are the backend's (add_backend_name) */
    size_t n_backend_names;
    int reserve_fd; /* kept for accepting when out of descriptors */
    uint64_t last_emfile_log_ms;
    /* max_clients refusals: logged once per 10 s with the count since */
    uint64_t max_clients_log_ms;
    uint64_t max_clients_refused; /* since the last log line */
    int max_clients_logged;
    struct eio__writers *writers; /* opts.write_threads > 1 (eio_conn.c) */
    struct eio__flush_job *flush_jobs;
    size_t flush_jobs_cap;
    uint64_t parallel_flushes;           /* flushes shared with the writers (for tests) */
    uint8_t *preread;                    /* EIO__MAX_EVENTS slots of pre-read bytes */
    struct eio__ws_preparsed *preparsed; /* EIO__MAX_EVENTS slots of parsed frames */
    uint64_t parallel_reads;             /* loop iterations whose reads were shared (for tests) */
    uint64_t preparsed_items;            /* WebSocket items parsed by the writers (for tests) */
    char date[40];                       /* "Date: ...\r\n" of the current second */
    int64_t date_sec;
    eio_stats stats; /* counters (eio_stats.c; the gauges are filled at a snapshot) */
    unsigned debug;  /* EIO__DBG_* enabled by DEBUG (eio_debug.h), parsed once */
};

/* eio_stats.c: counting (lock held). */
void eio__stats_close(eio_server *srv, const char *reason);
void eio__stats_lag(eio_server *srv, uint64_t lag_ms);
#define EIO__STATS_PACKET(arr, type)                                                               \
    do {                                                                                           \
        if ((unsigned)(type) < EIO_STATS_PACKET_TYPES)                                             \
            (arr)[type]++;                                                                         \
    } while (0)

/* eio_debug.c: Node's debug namespaces of engine.io. A trace costs one
 * integer test when its namespace is off; the arguments are not evaluated. */
enum {
    EIO__DBG_ENGINE = 1,    /* "engine": handshakes, requests, upgrades */
    EIO__DBG_SOCKET = 2,    /* "engine:socket": packets in and out, heartbeats, closes */
    EIO__DBG_POLLING = 4,   /* "engine:polling": GET and POST payloads */
    EIO__DBG_WS = 8,        /* "engine:ws": WebSocket frames */
    EIO__DBG_TRANSPORT = 16 /* "engine:transport": transport errors */
};
unsigned eio__debug_mask(const char *spec);
void eio__debug(unsigned ns, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define EIO__DEBUG(srv, ns, ...)                                                                   \
    do {                                                                                           \
        if ((srv)->debug & (ns))                                                                   \
            eio__debug((ns), __VA_ARGS__);                                                         \
    } while (0)

/* eio_server.c */
/* The engine's clock: CLOCK_MONOTONIC, or the test's fake one. */
uint64_t eio__clock(const eio_server *srv);
/* For C unit tests: a server without a loop thread, on a fake clock (*clock,
 * in ms, advanced by the test); the test drives it with eio__run_timers and
 * eio__conn_handle_event under the lock. */
eio_server *eio__server_new_manual(const eio_options *opts, const eio_callbacks *cbs,
                                   void *user_data, const uint64_t *clock);
void eio__run_timers(eio_server *srv);
char *eio__request_dup(const eio_request *r, eio_request *out);
void eio__wake_loop(eio_server *srv);
void eio__log(eio_server *srv, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void eio__timer_set(eio_server *srv, eio__timer *t, uint64_t delay_ms);
void eio__timer_cancel(eio_server *srv, eio__timer *t);
eio_socket *eio__session_find(eio_server *srv, const char *sid);
eio_socket *eio__session_new(eio_server *srv, const eio_request *req, int version, int transport,
                             const char *sid);
void eio__session_opened(eio_socket *s);
void eio__session_unref(eio_socket *s);
void eio__session_close(eio_socket *s, const char *reason);
void eio__run_pending_closes(eio_server *srv);
void eio__session_on_packet(eio_socket *s, const eio_packet *p);
int eio__session_queue(eio_socket *s, uint8_t type, eio_message *msg, int probe);
void eio__session_flush_to_ws(eio_socket *s);
void eio__gen_sid(char out[21]);
int eio__query_int(const eio_request *r, const char *key, int *out);

/* eio_polling.c: the long-polling transport and the HTTP side of the engine
 * (handshakes, verification, upgrade requests). Called by eio_conn.c. */
void eio__poll_wake(eio_socket *s);
/* Serves a request on the engine path whose head was read (lock held). */
void eio__engine_request(eio__conn *c);
/* The body of a POST dispatched by eio__engine_request is complete (or the
 * connection failed: ok 0). */
void eio__engine_post_body(eio__conn *c, int ok);
/* Answers parked GETs that were woken (lock held; from the flush). */
void eio__run_ready_polls(eio_server *srv);
/* A parked GET's connection is gone. */
void eio__poll_conn_lost(eio__conn *c);

/* eio_conn.c: connections, HTTP framing, the backend, writing. */
int eio__conn_send_frame(eio__conn *c, eio_frame *f); /* takes a new ref */
/* Queues an HTTP response: status line, Content-Type (NULL: none),
 * Content-Length, Date, Connection, the extra header lines, the body. */
void eio__conn_respond(eio__conn *c, int status, const char *content_type, const char *extra,
                       size_t extra_len, const void *body, size_t len);
/* The same, with chunked framing when chunked is 1 (as Node's writeHead then
 * end(body) frames it; to an HTTP/1.0 request, which cannot read chunks, the
 * body goes unframed and the connection closes after it, as Node does). */
void eio__conn_respond_ex(eio__conn *c, int status, const char *content_type, const char *extra,
                          size_t extra_len, const void *body, size_t len, int chunked);
/* After a response: the next request (keep-alive) or the close. */
void eio__conn_request_done(eio__conn *c);
void eio__conn_close(eio__conn *c, int linger); /* linger: write the queue first */
void eio__conn_finish(eio__conn *c);            /* closes the descriptor now */
/* Reads the request's body (framing in c->body_chunked / body_left) up to
 * max bytes, then calls on: eio__engine_post_body (EIO__BODY_POST) or the
 * dispatch (EIO__BODY_FORWARD). */
void eio__conn_start_body(eio__conn *c, int kind, size_t max);
void eio__listeners_close(eio_server *srv);
void eio__listeners_free(eio_server *srv); /* after the loop thread ended */
void eio__conn_handle_event(eio__conn *c, uint32_t events);
/* A new connection over st (owned) from peer (AF_INET/AF_INET6 or NULL). */
eio__conn *eio__conn_accept(eio_server *srv, eio_stream *st, const struct sockaddr_storage *peer);
void eio__backend_handle_event(eio__backend *b, uint32_t events);
void eio__listener_accept(eio__listener *l);
void eio__flush_dirty(eio_server *srv);
/* Reads the connections whose streams still held bytes after their event
 * (lock held, from the loop, after the events); 1 if any was read. */
int eio__conn_read_more(eio_server *srv);
/* The writer threads of big flushes (opts.write_threads - 1 of them); stop
 * joins them (the engine lock not held). */
void eio__writers_start(eio_server *srv, int nthreads);
void eio__writers_stop(eio_server *srv);
/* Events the loop takes from epoll_wait at once. */
#define EIO__MAX_EVENTS 256
/* Before the loop handles a batch of events (lock held): the first read of
 * each readable connection among cs, made by every writer side by side when
 * there are enough of them; n <= EIO__MAX_EVENTS. */
void eio__conn_preread(eio_server *srv, eio__conn **cs, const uint32_t *events, size_t n);
void eio__free_zombies(eio_server *srv);
void eio__cors_headers(eio_server *srv, const eio_request *req, int preflight, eio_buf *out);
const char *eio__status_text(int status);

/* eio_websocket.c: the WebSocket transport over a connection. */
int eio__ws_send_packet(eio__ws_conn *c, uint8_t type, eio_message *msg, int probe);
void eio__ws_close(eio__ws_conn *c, int code, const char *reason);
void eio__ws_detach(eio__ws_conn *c);
/* Turns c (whose 101 was queued) into the WebSocket of session s: its own
 * transport, or a probe when s is on polling. */
void eio__ws_start(eio__conn *c, eio_socket *s, int version, int is_probe);
/* Parses and handles complete frames in buf; returns the bytes used. */
size_t eio__ws_process(eio__ws_conn *c, uint8_t *buf, size_t len);
/* The parallel pre-read's part (a writer thread, the lock holder waiting):
 * parses buf[0..len) into *out's items, touching nothing but the
 * connection's frame parser and assembler; stops at a close, a protocol
 * error, an incomplete frame or a message in the assembler's buffer. */
void eio__ws_preparse(eio__ws_conn *c, uint8_t *buf, size_t len, eio__ws_preparsed *out);
/* Then, on the lock holder: acts on the items in order (and on the error);
 * returns how many bytes of the read they used. */
size_t eio__ws_run_preparsed(eio__ws_conn *c);
/* The connection of a WebSocket read its peer's end (n == 0) or failed. */
void eio__ws_lost(eio__ws_conn *c, int orderly);
eio_frame *eio__message_ws_frame(eio_message *m, int version);
/* Frees the compressed frames of a message (eio_message_unref) and the
 * server's deflaters (eio_server_free). */
void eio__message_free_deflated(eio_message *m);
void eio__pmd_server_free(eio_server *srv);

#endif
