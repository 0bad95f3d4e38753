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

#include "eio_buf.h"
#include "eio_packet.h"
#include "eio_server.h"
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

/* ---- outgoing messages ---- */
struct eio_message {
    int refs; /* atomic */
    int binary;
    eio_frame *ws_text;   /* WebSocket frame "4<data>" (text), built on first use */
    eio_frame *ws_bin_v4; /* WebSocket binary frame of the raw bytes */
    eio_frame *ws_bin_v3; /* WebSocket binary frame 0x04 + bytes */
    size_t len;
    uint8_t data[];
};

/* A packet waiting in a session's queue (used while on polling). */
typedef struct eio__out {
    uint8_t type;     /* EIO_PACKET_* */
    uint8_t probe;    /* data is "probe" (pong probe) */
    eio_message *msg; /* for EIO_PACKET_MESSAGE and OPEN (its JSON); owned ref */
} eio__out;

/* ---- WebSocket connections (eio_websocket.c) ---- */
typedef struct eio__wq_item {
    eio_frame *frame;
    size_t offset;
} eio__wq_item;

enum { EIO__WS_OPEN, EIO__WS_CLOSING, EIO__WS_CLOSED };

typedef struct eio__ws_conn {
    eio_server *srv;
    int fd;
    int state;
    int version;         /* 3 or 4 */
    eio_socket *session; /* NULL once detached */
    int is_probe;        /* upgrading a polling session, not yet switched */
    int epollout;        /* registered for EPOLLOUT */
    int dirty;           /* on srv->dirty list */
    int shut_wr;         /* FIN sent */
    struct eio__ws_conn *dirty_next;
    struct eio__ws_conn *prev, *next; /* srv->conns */
    eio_buf rbuf;                     /* bytes of an incomplete frame */
    eio_ws_assembler assembler;
    eio__wq_item *wq; /* ring of frames to write */
    size_t wq_head, wq_len, wq_cap;
    size_t queued_bytes;
    eio__timer linger_timer;  /* closing: give up waiting for the peer */
    eio__timer upgrade_timer; /* probe: upgradeTimeout */
} eio__ws_conn;

/* ---- sessions ---- */
#define EIO__POLLING_CLOSE_TIMEOUT_MS 30000 /* Node's polling closeTimeout */

enum { EIO__S_OPEN, EIO__S_CLOSING, EIO__S_CLOSED };

/* A long-polling GET waiting for packets: lives on the worker's stack. */
typedef struct eio__poll_waiter {
    pthread_cond_t cond; /* used when wake_fd < 0 */
    int wake_fd;         /* eventfd of the waiting thread, or -1 */
    int done;
} eio__poll_waiter;

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
    eio__poll_waiter *get_waiter; /* pending GET */
    int post_busy;
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
    int evfd;               /* wakes the loop */
    int stop;               /* loop thread should exit */
    int shutting_down;      /* refuse new sessions */
    uint64_t loop_deadline; /* what the loop waits for; UINT64_MAX: none */

    eio_socket **map; /* session table: sid -> session */
    size_t map_cap, n_sessions;
    eio_socket *sessions;                /* every open session */
    eio__ws_conn *conns;                 /* every WebSocket connection */
    eio__ws_conn *dirty;                 /* connections with frames to write */
    eio__ws_conn *zombies;               /* closed, to free at the end of the iteration */
    eio_socket *pending_close;           /* overflowed sessions to close at a safe point */
    pthread_mutex_t attach_mu;           /* guards `attachments` only (not the engine lock) */
    struct eio__attachment *attachments; /* upgraded sockets waiting for the loop */
    eio__timer_heap timers;
    uint8_t *fd_owned; /* atomic bytes: 1 for descriptors the engine owns */
    size_t fd_owned_len;
    eio_buf read_buf;                                   /* loop thread's read buffer */
    eio_buf scratch;                                    /* decode scratch */
    eio_frame *f_ping, *f_pong, *f_noop, *f_pong_probe; /* WebSocket control frames */
};

/* An upgraded socket handed over by an HTTP worker, for the loop thread. */
typedef struct eio__attachment {
    int fd;
    eio_request req; /* deep copy */
    char *req_storage;
    char sid[21];
    struct eio__attachment *next;
} eio__attachment;

/* eio_server.c */
char *eio__request_dup(const eio_request *r, eio_request *out);
void eio__wake_loop(eio_server *srv);
void eio__run_attachments(eio_server *srv);
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

/* eio_polling.c */
void eio__poll_wake(eio_socket *s);
void eio__poll_close_payload(eio_socket *s);

/* eio_websocket.c */
eio__ws_conn *eio__ws_new(eio_server *srv, int fd, int version);
int eio__ws_send_frame(eio__ws_conn *c, eio_frame *f); /* takes a new ref */
int eio__ws_send_packet(eio__ws_conn *c, uint8_t type, eio_message *msg, int probe);
void eio__ws_close(eio__ws_conn *c, int code, const char *reason);
void eio__ws_detach(eio__ws_conn *c);
void eio__ws_handle_event(eio__ws_conn *c, uint32_t events);
void eio__ws_flush_dirty(eio_server *srv);
void eio__ws_free_zombies(eio_server *srv);
eio_frame *eio__message_ws_frame(eio_message *m, int version);

#endif
