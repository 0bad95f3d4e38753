/*
 * eio_conn: the engine's front door. The loop accepts every connection on the
 * server's listeners, reads and validates each request head itself
 * (eio_http, before anything else sees the request), serves the engine's
 * requests on the loop (long-polling, handshakes, WebSocket upgrades: see
 * eio_polling.c and eio_websocket.c) and hands every other complete request
 * to the backend (civetweb, on a private loopback port), piping its answer
 * back. An idle or slow peer costs a small structure here and no thread.
 *
 * HTTP/1.0 and 1.1 persistence as Node's http server: 1.1 keeps the
 * connection unless "Connection: close", 1.0 only with "keep-alive"; the
 * response says which ("Connection: keep-alive" / "close"); pipelined requests
 * are answered in order (each response is queued behind the previous one);
 * a connection that sent "Connection: close" is closed after its response,
 * written in full first. Bodies: Content-Length or chunked (decoded here),
 * "Expect: 100-continue" answered before the body is read. Framing that could
 * be read two ways is refused with 400 and the connection closed (see
 * eio_http.h). Timeouts: a request head must arrive within headers_timeout_ms
 * (Node's headersTimeout, 408); an idle keep-alive connection is closed after
 * keep_alive_timeout_ms (Node's keepAliveTimeout).
 *
 * Every byte goes through the connection's eio_stream (plain TCP or TLS).
 * Writes never block: each connection has a queue of shared, reference-counted
 * frames, written when the stream takes them.
 *
 * Threading: engine lock held for every function; events arrive on the loop
 * thread; queueing and flushing happen on whichever thread holds the lock
 * (flushes run in eio_server_unlock).
 * Ownership: a connection owns its stream, its buffers and one reference to
 * each queued frame; a closed connection goes to srv->zombies and is freed by
 * the loop at the end of an iteration, so an event already fetched for it
 * stays safe. A backend hand-off owns its socket and is owned by its client
 * connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "eio_internal.h"

#define LINGER_MS          2000
#define READ_CHUNK         65536
#define FORWARD_HIGH_WATER (1u << 20) /* stop reading the backend above this */

struct eio__backend {
    int kind; /* EIO__P_BACKEND */
    int fd;
    eio__conn *client;
    eio_buf out; /* the request to send */
    size_t out_off;
    int events;
    int paused;                     /* not reading: the client's queue is full */
    int head_done;                  /* the response head was passed on */
    eio_buf head;                   /* the response head, while incomplete */
    long long left;                 /* Content-Length bytes still expected; -1: unknown */
    int self_delimited;             /* the response says where it ends (length, chunked, no body) */
    struct eio__backend *next_dead; /* srv->dead_backends */
};

static void on_idle_timer(eio__timer *t);
static void conn_process(eio__conn *c);
static void refuse(eio__conn *c, int status, const char *why);
static void backend_free(eio__backend *b);
static const char *backend_name(eio_server *srv, const eio_request *r);

/* ---------------------------------------------------------------- small helpers */

const char *eio__status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

/* "Date: <IMF-fixdate>\r\n", computed once a second. */
static const char *date_line(eio_server *srv)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    if (tv.tv_sec != srv->date_sec) {
        struct tm tm;
        gmtime_r(&tv.tv_sec, &tm);
        strftime(srv->date, sizeof(srv->date), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        srv->date_sec = tv.tv_sec;
    }
    return srv->date;
}

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void set_events(eio__conn *c)
{
    if (c->state == EIO__WS_CLOSED || c->stream->fd < 0)
        return;
    /* EPOLLOUT once a write could not take everything; not for a queue the
     * coming flush will write (a dirty connection): that flush sets the
     * events again after its write, so a message answered at once costs no
     * epoll_ctl at all. */
    int want = (c->peer_eof ? 0 : EPOLLRDHUP | (c->read_off ? 0 : EPOLLIN)) |
               ((c->wq_len && !c->dirty) || c->stream->want_write ? EPOLLOUT : 0);
    if (want == c->events)
        return;
    struct epoll_event ev = {.events = (uint32_t)want, .data.ptr = c};
    epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, c->stream->fd, &ev);
    c->events = want;
}

static void mark_dirty(eio__conn *c)
{
    if (c->dirty)
        return;
    c->dirty = 1;
    c->dirty_next = c->srv->dirty;
    c->srv->dirty = c;
}

/* ---------------------------------------------------------------- connections */

eio__conn *eio__conn_accept(eio_server *srv, eio_stream *st, const struct sockaddr_storage *peer)
{
    eio__conn *c = eio_calloc(1, sizeof(*c));
    c->kind = EIO__P_CONN;
    c->srv = srv;
    c->stream = st;
    c->mode = EIO__M_HEAD;
    c->state = EIO__WS_OPEN;
    c->version = 4;
    eio__timer_init(&c->idle_timer, on_idle_timer);
    eio__timer_init(&c->upgrade_timer, NULL);
    if (!peer) {
        snprintf(c->remote_addr, sizeof(c->remote_addr), "test");
    } else if (peer->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)peer;
        inet_ntop(AF_INET6, &a->sin6_addr, c->remote_addr, sizeof(c->remote_addr));
        c->remote_port = ntohs(a->sin6_port);
    } else if (peer->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)peer;
        inet_ntop(AF_INET, &a->sin_addr, c->remote_addr, sizeof(c->remote_addr));
        c->remote_port = ntohs(a->sin_port);
    }
    c->events = EPOLLIN | EPOLLRDHUP;
    if (st->fd >= 0) {
        struct epoll_event ev = {.events = (uint32_t)c->events, .data.ptr = c};
        epoll_ctl(srv->epfd, EPOLL_CTL_ADD, st->fd, &ev);
    }
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
    eio__timer_set(srv, &c->idle_timer, (uint64_t)srv->opts.headers_timeout_ms);
    return c;
}

static void wq_pop(eio__conn *c)
{
    eio__wq_item *it = &c->wq[c->wq_head];
    c->queued_bytes -= it->frame->len;
    eio_frame_unref(it->frame);
    c->wq_head = (c->wq_head + 1) % c->wq_cap;
    c->wq_len--;
}

static void request_clear(eio__conn *c)
{
    free(c->req_storage);
    c->req_storage = NULL;
    memset(&c->req, 0, sizeof(c->req));
    eio_buf_free(&c->body);
}

/* Final teardown: the descriptor is closed now; the memory is freed later. */
void eio__conn_finish(eio__conn *c)
{
    eio_server *srv = c->srv;
    if (c->state == EIO__WS_CLOSED)
        return;
    if (c->mode == EIO__M_WS) {
        eio__ws_lost(c, 0); /* detaches; the session (if any) was already told */
    } else if (c->session) {
        eio__poll_conn_lost(c);
    }
    c->state = EIO__WS_CLOSED;
    eio__timer_cancel(srv, &c->idle_timer);
    eio__timer_cancel(srv, &c->upgrade_timer);
    if (c->stream->fd >= 0)
        epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->stream->fd, NULL);
    c->stream->ops->free(c->stream);
    c->stream = NULL;
    while (c->wq_len)
        wq_pop(c);
    if (c->backend) {
        backend_free(c->backend);
        c->backend = NULL;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = NULL;
    c->next = srv->zombies;
    srv->zombies = c;
    srv->n_conns--;
}

void eio__free_zombies(eio_server *srv)
{
    while (srv->dead_backends) {
        eio__backend *b = srv->dead_backends;
        srv->dead_backends = b->next_dead;
        free(b);
    }
    eio__conn **pp = &srv->zombies;
    while (*pp) {
        eio__conn *c = *pp;
        if (c->dirty || c->ready || c->more) {
            pp = &c->next; /* still on a list: freed after the next flush */
            continue;
        }
        *pp = c->next;
        eio_buf_free(&c->rbuf);
        eio_ws_assembler_free(&c->assembler);
        request_clear(c);
        free(c->wq);
        free(c);
    }
}

/* Closes the connection: at once (linger 0), or once its queue is written
 * (the FIN follows, and the peer gets LINGER_MS to end its side). */
void eio__conn_close(eio__conn *c, int linger)
{
    if (c->state != EIO__WS_OPEN)
        return;
    if (!linger) {
        eio__conn_finish(c);
        return;
    }
    c->state = EIO__WS_CLOSING;
    c->read_off = 0;
    mark_dirty(c);
}

int eio__conn_send_frame(eio__conn *c, eio_frame *f)
{
    if (c->state != EIO__WS_OPEN)
        return -1;
    if (c->wq_len == c->wq_cap) {
        size_t cap = c->wq_cap ? c->wq_cap * 2 : 4;
        eio__wq_item *q = eio_malloc(cap * sizeof(*q));
        for (size_t i = 0; i < c->wq_len; i++)
            q[i] = c->wq[(c->wq_head + i) % c->wq_cap];
        free(c->wq);
        c->wq = q;
        c->wq_cap = cap;
        c->wq_head = 0;
    }
    eio__wq_item *it = &c->wq[(c->wq_head + c->wq_len) % c->wq_cap];
    it->frame = eio_frame_ref(f);
    it->offset = 0;
    c->wq_len++;
    c->queued_bytes += f->len;
    mark_dirty(c);
    return 0;
}

static void conn_lost(eio__conn *c, int orderly)
{
    if (c->mode == EIO__M_WS)
        eio__ws_lost(c, orderly);
    eio__conn_finish(c);
}

/* Writing a connection's queue is two steps, so that the first can run on
 * any thread (eio__flush_dirty's writers):
 *  - conn_write_out: writes as much of the queue as the stream takes now and
 *    says how many bytes went and how it stopped; it touches nothing but the
 *    connection's stream (the queue is only read);
 *  - conn_wrote: on the thread holding the engine lock, takes the written
 *    frames off the queue and does what the outcome asks (wait for EPOLLOUT,
 *    the peer is gone, the FIN of a closing connection). */
enum { WROTE_ALL, WROTE_AGAIN, WROTE_ERROR };

static size_t conn_write_out(eio__conn *c, int *how)
{
    struct iovec iov[64];
    size_t total = 0, idx = 0; /* the cursor: item idx of the queue, byte off of it */
    size_t off = c->wq_len ? c->wq[c->wq_head].offset : 0;
    *how = WROTE_ALL;
    if (c->state == EIO__WS_CLOSED)
        return 0;
    while (idx < c->wq_len) {
        int n = 0;
        for (size_t i = idx; i < c->wq_len && n < 64; i++) {
            eio__wq_item *it = &c->wq[(c->wq_head + i) % c->wq_cap];
            size_t o = i == idx ? off : it->offset;
            iov[n].iov_base = it->frame->data + o;
            iov[n].iov_len = it->frame->len - o;
            n++;
        }
        long w = c->stream->ops->writev(c->stream, iov, n);
        if (w == EIO_STREAM_AGAIN) {
            *how = WROTE_AGAIN;
            break;
        }
        if (w < 0) {
            *how = WROTE_ERROR;
            break;
        }
        total += (size_t)w;
        size_t left = (size_t)w;
        while (left && idx < c->wq_len) {
            eio__wq_item *it = &c->wq[(c->wq_head + idx) % c->wq_cap];
            size_t rest = it->frame->len - off;
            if (left >= rest) {
                left -= rest;
                idx++;
                off = 0;
            } else {
                off += left;
                left = 0;
            }
        }
        if (w == 0)
            break;
    }
    return total;
}

static void conn_wrote(eio__conn *c, size_t written, int how)
{
    if (c->state == EIO__WS_CLOSED)
        return; /* closed meanwhile (by another connection's outcome) */
    size_t left = written;
    while (left && c->wq_len) {
        eio__wq_item *it = &c->wq[c->wq_head];
        size_t rest = it->frame->len - it->offset;
        if (left >= rest) {
            left -= rest;
            wq_pop(c);
        } else {
            it->offset += left;
            left = 0;
        }
    }
    if (how == WROTE_AGAIN) {
        set_events(c);
        return;
    }
    if (how == WROTE_ERROR) {
        conn_lost(c, 0); /* the peer is gone */
        return;
    }
    if (c->state == EIO__WS_CLOSING && !c->shut_wr && c->wq_len == 0) {
        /* Everything written: send FIN and wait a moment for the peer's end. */
        c->stream->ops->shutdown(c->stream);
        c->shut_wr = 1;
        if (c->peer_eof) {
            eio__conn_finish(c); /* both sides ended */
            return;
        }
        eio__timer_set(c->srv, &c->idle_timer, LINGER_MS);
    }
    if (c->backend && c->backend->paused && c->queued_bytes < FORWARD_HIGH_WATER / 4) {
        c->backend->paused = 0;
        eio__backend_handle_event(c->backend, 0); /* resume reading */
    }
    set_events(c);
}

/* Writes as much of the queue as the stream takes now. */
static void conn_flush(eio__conn *c)
{
    int how;
    size_t w = conn_write_out(c, &how);
    conn_wrote(c, w, how);
}

/* ---------------------------------------------------------------- writers
 * The writes of one flush are shared by the thread that holds the engine
 * lock and opts.write_threads - 1 writer threads, when the flush has at
 * least EIO__PARALLEL_FLUSH_MIN connections to write (a broadcast to many
 * receivers): each takes chunks of the flush's connections and runs
 * conn_write_out on them; the lock holder waits until every chunk is done,
 * then runs conn_wrote on each, in order, itself. The writers touch only the
 * streams of the connections in their chunks, while the lock holder (the only
 * thread that may touch sessions and connections) waits for them: for the
 * rest of the engine nothing changed, and handlers still run one at a time.
 * A smaller flush is written by the lock holder alone, as before. */
#define EIO__PARALLEL_FLUSH_MIN 32
#define EIO__FLUSH_CHUNK        16

typedef struct eio__flush_job {
    eio__conn *c;
    size_t written; /* a write: the bytes written, and how it stopped */
    int how;
    eio__ws_preparsed *parsed; /* a pre-read: room for its frames */
} eio__flush_job;

typedef void (*eio__job_fn)(eio__flush_job *job);

struct eio__writers {
    pthread_t *threads;
    int n; /* writer threads (opts.write_threads - 1) */
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    int stop;
    eio__flush_job *jobs; /* the jobs being run (guarded by mu) */
    eio__job_fn fn;       /* what is done to each */
    size_t njobs, next;   /* next: the first job not taken */
    int busy;             /* chunks being written */
};

static void write_job(eio__flush_job *j)
{
    j->written = conn_write_out(j->c, &j->how);
}

static void run_chunk(eio__job_fn fn, eio__flush_job *jobs, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        fn(&jobs[i]);
}

/* Takes the next chunk under w->mu; 0 when none is left. */
static int take_chunk(struct eio__writers *w, size_t *from, size_t *to)
{
    if (w->next >= w->njobs)
        return 0;
    *from = w->next;
    *to = w->next + EIO__FLUSH_CHUNK < w->njobs ? w->next + EIO__FLUSH_CHUNK : w->njobs;
    w->next = *to;
    w->busy++;
    return 1;
}

static void *writer_main(void *arg)
{
    struct eio__writers *w = arg;
    size_t from, to;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stop && w->next >= w->njobs)
            pthread_cond_wait(&w->go, &w->mu);
        if (w->stop)
            break;
        take_chunk(w, &from, &to);
        eio__flush_job *jobs = w->jobs;
        eio__job_fn fn = w->fn;
        pthread_mutex_unlock(&w->mu);
        run_chunk(fn, jobs, from, to);
        pthread_mutex_lock(&w->mu);
        if (--w->busy == 0 && w->next >= w->njobs)
            pthread_cond_signal(&w->done);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

void eio__writers_start(eio_server *srv, int nthreads)
{
    if (nthreads <= 1)
        return;
    struct eio__writers *w = eio_calloc(1, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->go, NULL);
    pthread_cond_init(&w->done, NULL);
    w->threads = eio_calloc((size_t)nthreads - 1, sizeof(pthread_t));
    for (int i = 0; i < nthreads - 1; i++) {
        if (pthread_create(&w->threads[i], NULL, writer_main, w) != 0)
            break;
        w->n++;
    }
    srv->writers = w;
}

void eio__writers_stop(eio_server *srv)
{
    struct eio__writers *w = srv->writers;
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->go);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->n; i++)
        pthread_join(w->threads[i], NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->go);
    pthread_cond_destroy(&w->done);
    free(w->threads);
    free(srv->flush_jobs);
    srv->flush_jobs = NULL;
    free(srv->preread);
    srv->preread = NULL;
    free(srv->preparsed);
    srv->preparsed = NULL;
    free(w);
    srv->writers = NULL;
}

/* Room for n jobs in srv->flush_jobs. */
static eio__flush_job *jobs_reserve(eio_server *srv, size_t n)
{
    if (n > srv->flush_jobs_cap) {
        free(srv->flush_jobs);
        srv->flush_jobs_cap = n * 2;
        srv->flush_jobs = eio_malloc(srv->flush_jobs_cap * sizeof(eio__flush_job));
    }
    return srv->flush_jobs;
}

/* Runs fn on n jobs, on this thread and every writer; returns when all are
 * done. */
static void run_jobs(eio_server *srv, eio__job_fn fn, eio__flush_job *jobs, size_t n)
{
    struct eio__writers *w = srv->writers;
    size_t from, to;
    pthread_mutex_lock(&w->mu);
    w->jobs = jobs;
    w->fn = fn;
    w->njobs = n;
    w->next = 0;
    pthread_cond_broadcast(&w->go);
    while (take_chunk(w, &from, &to)) {
        pthread_mutex_unlock(&w->mu);
        run_chunk(fn, jobs, from, to);
        pthread_mutex_lock(&w->mu);
        w->busy--;
    }
    while (w->busy)
        pthread_cond_wait(&w->done, &w->mu);
    w->jobs = NULL;
    w->njobs = w->next = 0;
    pthread_mutex_unlock(&w->mu);
}

/* The dirty list, written by every writer. */
static void flush_parallel(eio_server *srv, size_t n)
{
    eio__flush_job *jobs = jobs_reserve(srv, n);
    srv->parallel_flushes++;
    for (size_t i = 0; i < n; i++) {
        eio__conn *c = srv->dirty;
        srv->dirty = c->dirty_next;
        c->dirty = 0;
        c->dirty_next = NULL;
        jobs[i].c = c;
    }
    run_jobs(srv, write_job, jobs, n);
    for (size_t i = 0; i < n; i++)
        conn_wrote(jobs[i].c, jobs[i].written, jobs[i].how);
}

/* ---- pre-reads: the first read of each readable connection of a loop
 * iteration, made side by side by every writer before the events are handled
 * (reads and TLS decryption on every core); each connection's event then
 * starts from the bytes read for it (conn_read). A pre-read takes at most
 * PREREAD_BYTES into the connection's slot of one slab (srv->preread),
 * valid until the iteration ends. A WebSocket's frames in it are parsed by
 * the same writer (eio__ws_preparse: unmasking, UTF-8, inflating, into
 * srv->preparsed); the lock holder then acts on them in order. */
#define PREREAD_BYTES 16384

static int wants_read(const eio__conn *c, uint32_t events)
{
    return c->state != EIO__WS_CLOSED && !c->read_off && !c->peer_eof &&
           (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) &&
           !((events & EPOLLOUT) || c->stream->want_write); /* a write first: read after it */
}

static void read_job(eio__flush_job *j)
{
    eio__conn *c = j->c;
    c->pre_n = c->stream->ops->read(c->stream, c->pre_buf, PREREAD_BYTES);
    /* A WebSocket's frames are parsed here too (unmasked, UTF-8 checked,
     * inflated), as conn_read would take them: straight from the read. */
    if (c->pre_n > 0 && c->mode == EIO__M_WS && c->state == EIO__WS_OPEN && c->rbuf.len == 0)
        eio__ws_preparse(c, c->pre_buf, (size_t)c->pre_n, j->parsed);
}

void eio__conn_preread(eio_server *srv, eio__conn **cs, const uint32_t *events, size_t n)
{
    if (!srv->writers)
        return;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += wants_read(cs[i], events[i]);
    if (k < EIO__PARALLEL_FLUSH_MIN)
        return;
    if (!srv->preread) {
        srv->preread = eio_malloc(EIO__MAX_EVENTS * (size_t)PREREAD_BYTES);
        srv->preparsed = eio_malloc(EIO__MAX_EVENTS * sizeof(eio__ws_preparsed));
    }
    eio__flush_job *jobs = jobs_reserve(srv, k);
    k = 0;
    for (size_t i = 0; i < n && i < EIO__MAX_EVENTS; i++) {
        if (!wants_read(cs[i], events[i]))
            continue;
        cs[i]->pre_buf = srv->preread + k * (size_t)PREREAD_BYTES;
        jobs[k].parsed = srv->preparsed + k;
        jobs[k++].c = cs[i];
    }
    srv->parallel_reads++;
    run_jobs(srv, read_job, jobs, k);
}

void eio__flush_dirty(eio_server *srv)
{
    /* Answering a poll queues a response; writing may close a session whose
     * callbacks queue more: until both lists are empty. */
    while (srv->ready_polls || srv->dirty) {
        eio__run_ready_polls(srv);
        if (srv->writers) {
            size_t n = 0;
            for (eio__conn *c = srv->dirty; c; c = c->dirty_next)
                n++;
            if (n >= EIO__PARALLEL_FLUSH_MIN) {
                flush_parallel(srv, n);
                continue;
            }
        }
        while (srv->dirty) {
            eio__conn *c = srv->dirty;
            srv->dirty = c->dirty_next;
            c->dirty = 0;
            c->dirty_next = NULL;
            conn_flush(c);
        }
    }
}

static void on_idle_timer(eio__timer *t)
{
    eio__conn *c = EIO__CONTAINER(t, eio__conn, idle_timer);
    if (c->state == EIO__WS_OPEN && c->mode == EIO__M_HEAD && c->rbuf.len > 0) {
        /* Node's headersTimeout: 408 and close. */
        eio__log(c->srv, EIO_LOG_DEBUG, "%s:%d: request head not complete in time: 408",
                 c->remote_addr, c->remote_port);
        refuse(c, 408, "request head not complete in time");
        return;
    }
    if (c->state == EIO__WS_OPEN && c->mode == EIO__M_BODY) {
        eio__log(c->srv, EIO_LOG_DEBUG, "%s:%d: request body not complete in time", c->remote_addr,
                 c->remote_port);
    }
    conn_lost(c, 0); /* idle keep-alive, a stalled body, or the linger after close */
}

/* ---------------------------------------------------------------- responses */

void eio__conn_respond_ex(eio__conn *c, int status, const char *content_type, const char *extra,
                          size_t extra_len, const void *body, size_t len, int chunked)
{
    eio_server *srv = c->srv;
    char head[512], framing[64], chunk[32];
    int unframed = chunked && c->http_minor == 0;
    if (unframed) {
        /* Node's answer to HTTP/1.0 when it would chunk: the body as it is,
         * ended by the close. */
        chunked = 0;
        c->keep_alive = 0;
        framing[0] = 0;
    } else if (chunked) {
        snprintf(framing, sizeof(framing), "Transfer-Encoding: chunked\r\n");
    } else {
        snprintf(framing, sizeof(framing), "Content-Length: %zu\r\n", len);
    }
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n%s%s%s%s%s%s", status,
                     eio__status_text(status), content_type ? "Content-Type: " : "",
                     content_type ? content_type : "", content_type ? "\r\n" : "", date_line(srv),
                     c->keep_alive ? "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
                                   : "Connection: close\r\n",
                     framing);
    if (n < 0 || (size_t)n >= sizeof(head))
        n = 0;
    int cn = 0;
    if (chunked && len)
        cn = snprintf(chunk, sizeof(chunk), "%zx\r\n", len);
    size_t tail = chunked ? (len ? 2 : 0) + 5 : 0; /* CRLF after the data, then "0\r\n\r\n" */
    eio_frame *f = eio_frame_new((size_t)n + extra_len + 2 + (size_t)cn + len + tail);
    uint8_t *o = f->data;
    memcpy(o, head, (size_t)n);
    o += n;
    if (extra_len) {
        memcpy(o, extra, extra_len);
        o += extra_len;
    }
    memcpy(o, "\r\n", 2);
    o += 2;
    if (cn) {
        memcpy(o, chunk, (size_t)cn);
        o += cn;
    }
    if (len) {
        memcpy(o, body, len);
        o += len;
    }
    if (chunked) {
        if (len) {
            memcpy(o, "\r\n", 2);
            o += 2;
        }
        memcpy(o, "0\r\n\r\n", 5);
    }
    eio__conn_send_frame(c, f);
    eio_frame_unref(f);
}

void eio__conn_respond(eio__conn *c, int status, const char *content_type, const char *extra,
                       size_t extra_len, const void *body, size_t len)
{
    eio__conn_respond_ex(c, status, content_type, extra, extra_len, body, len, 0);
}

/* A request was answered (its response queued): the connection goes on to
 * the next request, or closes once the response is out. */
void eio__conn_request_done(eio__conn *c)
{
    if (c->state != EIO__WS_OPEN)
        return;
    request_clear(c);
    c->body_kind = 0;
    if (!c->keep_alive) {
        eio__conn_close(c, 1);
        return;
    }
    if (c->body_pending) {
        /* Answered without its body (an error): the body is read and dropped,
         * so the connection can carry the next request, as Node does. */
        eio__conn_start_body(c, EIO__BODY_DISCARD, SIZE_MAX);
        if (c->rbuf.len)
            conn_process(c);
        set_events(c);
        return;
    }
    c->mode = EIO__M_HEAD;
    c->read_off = 0;
    eio__timer_set(c->srv, &c->idle_timer,
                   c->rbuf.len ? (uint64_t)c->srv->opts.headers_timeout_ms
                               : (uint64_t)c->srv->opts.keep_alive_timeout_ms);
    if (c->rbuf.len)
        conn_process(c); /* a pipelined request */
    else
        set_events(c);
}

/* Answers a request refused before it was served, and closes. */
static void refuse(eio__conn *c, int status, const char *why)
{
    eio__log(c->srv, EIO_LOG_DEBUG, "%s:%d: HTTP %d: %s", c->remote_addr, c->remote_port, status,
             why);
    c->keep_alive = 0;
    /* What Node's http server writes for a request its parser refused. */
    char line[128];
    int n = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\nConnection: close\r\n\r\n", status,
                     eio__status_text(status));
    eio_frame *f = eio_frame_from(line, (size_t)n);
    eio__conn_send_frame(c, f);
    eio_frame_unref(f);
    c->mode = EIO__M_WRITING;
    eio__conn_close(c, 1);
}

/* A body over the limit: Node's engine.io answers 413 (chunked, empty) as
 * the bytes pass it, then drops the connection. */
static void refuse_too_large(eio__conn *c)
{
    eio__log(c->srv, EIO_LOG_DEBUG, "%s:%d: body over %zu bytes: 413", c->remote_addr,
             c->remote_port, c->body_max);
    eio__conn_respond_ex(c, 413, NULL, NULL, 0, NULL, 0, 1);
    c->keep_alive = 0;
    c->mode = EIO__M_WRITING;
    eio__conn_close(c, 1);
}

/* ---------------------------------------------------------------- CORS */

/* The Access-Control-* lines for this request, as Node's cors package writes
 * them (its Vary values in one header, as its vary() joins them: "Origin"
 * when the answer depends on the origin, and on a preflight always
 * "Access-Control-Request-Headers", which it reflects). Appends nothing when
 * CORS is off. */
void eio__cors_headers(eio_server *srv, const eio_request *req, int preflight, eio_buf *out)
{
    const char *cors = srv->opts.cors_origin;
    if (!cors)
        return;
    const char *origin = eio_request_header(req, "Origin");
    int vary_origin = 0;
    if (strcmp(cors, "*") == 0) {
        eio_buf_append_str(out, "Access-Control-Allow-Origin: *\r\n");
    } else if (strcmp(cors, "reflect") == 0) {
        if (origin) {
            eio_buf_append_str(out, "Access-Control-Allow-Origin: ");
            eio_buf_append_str(out, origin);
            eio_buf_append_str(out, "\r\n");
        }
        vary_origin = 1; /* cors's origin: true says Vary: Origin with or without one */
    } else {
        int allowed = 0;
        if (origin) {
            size_t ol = strlen(origin);
            for (const char *p = cors; *p;) {
                const char *comma = strchr(p, ',');
                size_t l = comma ? (size_t)(comma - p) : strlen(p);
                while (l && *p == ' ')
                    p++, l--;
                while (l && p[l - 1] == ' ')
                    l--;
                if (l == ol && memcmp(p, origin, l) == 0)
                    allowed = 1;
                p = comma ? comma + 1 : p + strlen(p);
            }
        }
        if (allowed) {
            eio_buf_append_str(out, "Access-Control-Allow-Origin: ");
            eio_buf_append_str(out, origin);
            eio_buf_append_str(out, "\r\n");
        }
        vary_origin = 1;
    }
    if (vary_origin || preflight) {
        eio_buf_append_str(out, "Vary: ");
        eio_buf_append_str(out, vary_origin && preflight ? "Origin, Access-Control-Request-Headers"
                                : vary_origin            ? "Origin"
                                                         : "Access-Control-Request-Headers");
        eio_buf_append_str(out, "\r\n");
    }
    if (srv->opts.cors_credentials)
        eio_buf_append_str(out, "Access-Control-Allow-Credentials: true\r\n");
    if (preflight) {
        eio_buf_append_str(out, "Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE\r\n");
        const char *req_headers = eio_request_header(req, "Access-Control-Request-Headers");
        if (req_headers && *req_headers) {
            eio_buf_append_str(out, "Access-Control-Allow-Headers: ");
            eio_buf_append_str(out, req_headers);
            eio_buf_append_str(out, "\r\n");
        }
    }
}

/* ---------------------------------------------------------------- the backend */

static void backend_set_events(eio__backend *b, int want)
{
    if (want == b->events)
        return;
    struct epoll_event ev = {.events = (uint32_t)want, .data.ptr = b};
    epoll_ctl(b->client->srv->epfd, EPOLL_CTL_MOD, b->fd, &ev);
    b->events = want;
}

/* The backend connection is closed now; its memory is freed at the end of
 * the loop's iteration (an event already fetched may point at it). */
static void backend_free(eio__backend *b)
{
    eio_server *srv = b->client->srv;
    if (b->fd >= 0) {
        epoll_ctl(srv->epfd, EPOLL_CTL_DEL, b->fd, NULL);
        close(b->fd);
        b->fd = -1;
    }
    eio_buf_free(&b->out);
    eio_buf_free(&b->head);
    b->client = NULL;
    b->next_dead = srv->dead_backends;
    srv->dead_backends = b;
}

/* Headers a proxy does not pass on (hop by hop), and ours to set. */
static int hop_by_hop(const char *name)
{
    static const char *const names[] = {"Connection",        "Keep-Alive", "Proxy-Connection",
                                        "Transfer-Encoding", "TE",         "Upgrade",
                                        "Content-Length",    "Expect",     "X-Forwarded-For"};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        if (strcasecmp(name, names[i]) == 0)
            return 1;
    return 0;
}

/* Hands the complete request of c (head in c->req, body in c->body) to the
 * backend on a fresh connection, asking it to close after its answer. */
static void forward(eio__conn *c)
{
    eio_server *srv = c->srv;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv->backend_port)};
    inet_pton(AF_INET, srv->backend_host, &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS)) {
        eio__log(srv, EIO_LOG_ERROR, "cannot reach the HTTP backend on %s:%d: %s",
                 srv->backend_host, srv->backend_port, strerror(errno));
        if (fd >= 0)
            close(fd);
        c->keep_alive = 0;
        eio__conn_respond(c, 502, NULL, NULL, 0, NULL, 0);
        eio__conn_request_done(c);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    eio__backend *b = eio_calloc(1, sizeof(*b));
    b->kind = EIO__P_BACKEND;
    b->fd = fd;
    b->client = c;
    b->left = -1;
    const eio_request *r = &c->req;
    eio_buf *o = &b->out;
    eio_buf_append_str(o, r->method);
    eio_buf_append_byte(o, ' ');
    eio_buf_append_str(o, r->path);
    if (r->query && *r->query) {
        eio_buf_append_byte(o, '?');
        eio_buf_append_str(o, r->query);
    }
    /* The client's version, so the backend frames its answer for it (no
     * chunks to HTTP/1.0). */
    eio_buf_append_str(o, c->http_minor == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
    for (size_t i = 0; i < r->n_headers; i++) {
        if (hop_by_hop(r->headers[i].name))
            continue;
        eio_buf_append_str(o, r->headers[i].name);
        eio_buf_append_str(o, ": ");
        eio_buf_append_str(o, r->headers[i].value);
        eio_buf_append_str(o, "\r\n");
    }
    eio_buf_append_str(o, "X-Forwarded-For: ");
    eio_buf_append_str(o, c->remote_addr);
    eio_buf_append_str(o, "\r\nConnection: close\r\n");
    if (c->body.len || strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0) {
        eio_buf_append_str(o, "Content-Length: ");
        eio_buf_append_uint(o, c->body.len);
        eio_buf_append_str(o, "\r\n");
    }
    eio_buf_append_str(o, "\r\n");
    if (c->body.len)
        eio_buf_append(o, c->body.data, c->body.len);
    eio_buf_free(&c->body);
    c->backend = b;
    c->mode = EIO__M_FORWARD;
    b->events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
    struct epoll_event ev = {.events = (uint32_t)b->events, .data.ptr = b};
    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* The backend's answer is complete (or broke off): the client connection
 * goes on, or closes when the answer did not say where it ends. */
static void backend_done(eio__backend *b, int complete)
{
    eio__conn *c = b->client;
    c->backend = NULL;
    if (!b->head_done) {
        eio__log(c->srv, EIO_LOG_ERROR, "the HTTP backend closed without an answer");
        backend_free(b);
        c->keep_alive = 0;
        eio__conn_respond(c, 502, NULL, NULL, 0, NULL, 0);
        eio__conn_request_done(c);
        return;
    }
    if (!complete || !b->self_delimited)
        c->keep_alive = 0;
    backend_free(b);
    eio__conn_request_done(c);
}

/* The response head from the backend, rewritten for the client: its own
 * Connection header, kept or not as the client asked and the answer allows. */
static int pass_head(eio__backend *b)
{
    eio__conn *c = b->client;
    eio_server *srv = c->srv;
    size_t n_fields = 0;
    int status = 0, chunked = 0, conn_close = 0;
    long long clen = -1;
    eio_http_limits lim = {srv->opts.max_headers, srv->opts.max_head_bytes};
    long r =
        eio_http_parse_response((const char *)b->head.data, b->head.len, &lim, srv->http_fields,
                                &n_fields, &status, &clen, &chunked, &conn_close);
    if (r == EIO_HTTP_INCOMPLETE)
        return 0;
    if (r < 0)
        return -1;
    int no_body =
        status < 200 || status == 204 || status == 304 || strcmp(c->req.method, "HEAD") == 0;
    b->self_delimited = no_body || chunked || clen >= 0;
    b->left = no_body ? 0 : chunked ? -1 : clen;
    if (!b->self_delimited)
        c->keep_alive = 0;
    eio_buf out = EIO_BUF_INIT;
    /* The status line as sent (as HTTP/1.1, which is what Node's http server
     * answers every request with: civetweb says 1.0 to 1.0), then the
     * headers that are not ours. */
    const char *eol = memchr(b->head.data, '\n', b->head.len);
    size_t skip = b->head.len >= 9 && memcmp(b->head.data, "HTTP/1.0 ", 9) == 0 ? 8 : 0;
    if (skip)
        eio_buf_append_str(&out, "HTTP/1.1");
    eio_buf_append(&out, b->head.data + skip,
                   (size_t)(eol - (const char *)b->head.data) + 1 - skip);
    /* A name under the engine path: the CORS lines first, as Node's cors
     * middleware sets them before socket.io's serve() answers. */
    if (backend_name(srv, &c->req))
        eio__cors_headers(srv, &c->req, 0, &out);
    for (size_t i = 0; i < n_fields; i++) {
        const eio_http_field *f = &srv->http_fields[i];
        if ((f->name.len == 10 && strncasecmp(f->name.p, "Connection", 10) == 0) ||
            (f->name.len == 10 && strncasecmp(f->name.p, "Keep-Alive", 10) == 0))
            continue;
        eio_buf_append(&out, f->name.p, f->name.len);
        eio_buf_append_str(&out, ": ");
        eio_buf_append(&out, f->value.p, f->value.len);
        eio_buf_append_str(&out, "\r\n");
    }
    eio_buf_append_str(&out, c->keep_alive
                                 ? "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n"
                                 : "Connection: close\r\n\r\n");
    eio_frame *f = eio_frame_from(out.data, out.len);
    eio__conn_send_frame(c, f);
    eio_frame_unref(f);
    eio_buf_free(&out);
    size_t rest = b->head.len - (size_t)r;
    if (rest) {
        f = eio_frame_from(b->head.data + r, rest);
        eio__conn_send_frame(c, f);
        eio_frame_unref(f);
        if (b->left >= 0)
            b->left -= (long long)rest;
    }
    eio_buf_free(&b->head);
    b->head_done = 1;
    return 1;
}

void eio__backend_handle_event(eio__backend *b, uint32_t events)
{
    if (b->fd < 0)
        return; /* ended since the event was fetched */
    eio__conn *c = b->client;
    eio_server *srv = c->srv;
    if (b->out_off < b->out.len) {
        ssize_t w = send(b->fd, b->out.data + b->out_off, b->out.len - b->out_off, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            eio__log(srv, EIO_LOG_ERROR, "the HTTP backend on %s:%d: %s", srv->backend_host,
                     srv->backend_port, strerror(errno));
            backend_done(b, 0);
            return;
        }
        if (w > 0)
            b->out_off += (size_t)w;
        if (b->out_off == b->out.len)
            eio_buf_free(&b->out), b->out_off = 0;
    }
    for (int rounds = 0; rounds < 4 && !b->paused; rounds++) {
        uint8_t *buf = eio_buf_reserve(&srv->read_buf, READ_CHUNK);
        ssize_t n = recv(b->fd, buf, READ_CHUNK, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            break;
        if (n <= 0) {
            backend_done(b, n == 0 && (b->left <= 0));
            return;
        }
        if (!b->head_done) {
            eio_buf_append(&b->head, buf, (size_t)n);
            int ph = pass_head(b);
            if (ph < 0 || (ph == 0 && b->head.len > srv->opts.max_head_bytes)) {
                eio__log(srv, EIO_LOG_ERROR, "the HTTP backend sent a malformed answer");
                backend_done(b, 0);
                return;
            }
        } else {
            eio_frame *f = eio_frame_from(buf, (size_t)n);
            eio__conn_send_frame(c, f);
            eio_frame_unref(f);
            if (b->left >= 0)
                b->left -= n;
        }
        if (c->queued_bytes > FORWARD_HIGH_WATER)
            b->paused = 1;
    }
    (void)events;
    backend_set_events(b, (b->out.len ? EPOLLOUT : 0) | (b->paused ? 0 : EPOLLIN | EPOLLRDHUP));
}

/* ---------------------------------------------------------------- requests */

/* Copies the parsed head into c->req (strings NUL-terminated, in one block). */
static void take_request(eio__conn *c, const eio_http_head *h)
{
    size_t need = h->method.len + h->path.len + h->query.len + 3 + 16;
    for (size_t i = 0; i < h->n_fields; i++)
        need += h->fields[i].name.len + h->fields[i].value.len + 2;
    need += (h->n_fields + 1) * sizeof(eio_header);
    char *mem = eio_malloc(need);
    eio_header *hdrs = (eio_header *)(void *)mem;
    char *p = mem + (h->n_fields + 1) * sizeof(eio_header);
#define SLICE(dst, s)                                                                              \
    do {                                                                                           \
        memcpy(p, (s).p, (s).len);                                                                 \
        p[(s).len] = 0;                                                                            \
        (dst) = p;                                                                                 \
        p += (s).len + 1;                                                                          \
    } while (0)
    eio_request *r = &c->req;
    memset(r, 0, sizeof(*r));
    SLICE(r->method, h->method);
    SLICE(r->path, h->path);
    SLICE(r->query, h->query);
    for (size_t i = 0; i < h->n_fields; i++) {
        SLICE(hdrs[i].name, h->fields[i].name);
        SLICE(hdrs[i].value, h->fields[i].value);
    }
#undef SLICE
    r->headers = hdrs;
    r->n_headers = h->n_fields;
    snprintf(r->remote_addr, sizeof(r->remote_addr), "%s", c->remote_addr);
    r->remote_port = c->remote_port;
    r->secure = c->stream->secure;
    r->time_ms = wall_ms();
    r->content_length = h->content_length;
    free(c->req_storage);
    c->req_storage = mem;
}

static int is_engine_path(eio_server *srv, const eio_request *r)
{
    return strncmp(r->path, srv->path, strlen(srv->path)) == 0;
}

/* The name under the engine path that the backend serves, or NULL. */
static const char *backend_name(eio_server *srv, const eio_request *r)
{
    if (!srv->n_backend_names || !is_engine_path(srv, r))
        return NULL;
    const char *rest = r->path + strlen(srv->path);
    for (size_t i = 0; i < srv->n_backend_names; i++)
        if (strcmp(rest, srv->backend_names[i]) == 0)
            return srv->backend_names[i];
    return NULL;
}

/* 1 if the request is the engine's: under its path and not one of the
 * backend's names (eio_server_add_backend_name). */
static int is_engine_request(eio_server *srv, const eio_request *r)
{
    return is_engine_path(srv, r) && !backend_name(srv, r);
}

void eio_server_add_backend_name(eio_server *srv, const char *name)
{
    eio_server_lock(srv);
    srv->backend_names =
        eio_realloc(srv->backend_names, (srv->n_backend_names + 1) * sizeof(*srv->backend_names));
    srv->backend_names[srv->n_backend_names++] = eio_strdup(name);
    eio_server_unlock(srv);
}

/* A request whose body (if any) has been read: served now. */
static void dispatch(eio__conn *c)
{
    eio_server *srv = c->srv;
    if (is_engine_request(srv, &c->req)) {
        eio__engine_request(c);
    } else if (srv->opts.cors_origin && strcmp(c->req.method, "OPTIONS") == 0 &&
               backend_name(srv, &c->req)) {
        eio__engine_request(c); /* the CORS preflight, as for the engine's own requests */
    } else if (srv->backend_host) {
        forward(c);
    } else {
        static const char body[] = "Not Found";
        eio__conn_respond(c, 404, "text/plain", NULL, 0, body, sizeof(body) - 1);
        eio__conn_request_done(c);
    }
}

void eio__conn_start_body(eio__conn *c, int kind, size_t max)
{
    c->mode = EIO__M_BODY;
    c->body_kind = kind;
    c->body_max = max;
    eio_http_chunked_init(&c->chunked);
    eio_buf_reset(&c->body);
    eio__timer_set(c->srv, &c->idle_timer, (uint64_t)c->srv->opts.headers_timeout_ms);
    if (c->expect_continue && c->rbuf.len == 0) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        eio_frame *f = eio_frame_from(cont, sizeof(cont) - 1);
        eio__conn_send_frame(c, f);
        eio_frame_unref(f);
    }
}

/* The body is in: its request goes on. */
static void body_complete(eio__conn *c)
{
    int kind = c->body_kind;
    c->body_kind = 0;
    c->body_pending = 0;
    c->mode = EIO__M_WRITING;
    eio__timer_cancel(c->srv, &c->idle_timer);
    if (kind == EIO__BODY_POST)
        eio__engine_post_body(c, 1);
    else if (kind == EIO__BODY_DISCARD)
        eio__conn_request_done(c);
    else
        dispatch(c);
}

/* Takes body bytes from rbuf. Returns 1 when the body is complete, 0 when it
 * needs more, -1 when the connection was refused. */
static int read_body(eio__conn *c)
{
    int keep = c->body_kind != EIO__BODY_DISCARD;
    size_t before = c->body.len;
    int done;
    if (c->body_chunked) {
        size_t len = c->rbuf.len;
        done = 0;
        long used = eio_http_chunked_decode(&c->chunked, c->rbuf.data, &len, &done);
        if (used < 0) {
            if (c->body_kind == EIO__BODY_POST)
                eio__engine_post_body(c, 0);
            refuse(c, 400, "malformed chunked body");
            return -1;
        }
        if (keep)
            eio_buf_append(&c->body, c->rbuf.data, len);
        eio_buf_consume(&c->rbuf, (size_t)used);
    } else {
        size_t take =
            c->rbuf.len < (unsigned long long)c->body_left ? c->rbuf.len : (size_t)c->body_left;
        if (keep)
            eio_buf_append(&c->body, c->rbuf.data, take);
        eio_buf_consume(&c->rbuf, take);
        c->body_left -= (long long)take;
        done = c->body_left == 0;
    }
    if (c->body.len > c->body_max) {
        if (c->body_kind == EIO__BODY_POST)
            eio__engine_post_body(c, 0);
        refuse_too_large(c);
        return -1;
    }
    if (c->body.len > before && c->body_kind != EIO__BODY_DISCARD)
        eio__timer_set(c->srv, &c->idle_timer, (uint64_t)c->srv->opts.headers_timeout_ms);
    return done;
}

/* Reads the head at the start of rbuf and dispatches it. Returns 1 when a
 * request was taken, 0 when the head is incomplete, -1 on a refusal. */
static int read_head(eio__conn *c)
{
    eio_server *srv = c->srv;
    eio_http_limits lim = {EIO__PARSE_MAX_HEADERS, 2 * srv->opts.max_head_bytes + 1024};
    eio_http_head h;
    long r =
        eio_http_parse_request((const char *)c->rbuf.data, c->rbuf.len, &lim, srv->http_fields, &h);
    if (r == EIO_HTTP_INCOMPLETE)
        return 0;
    if (r < 0) {
        eio__log(srv, EIO_LOG_INFO, "%s:%d: malformed HTTP request (%s): %d", c->remote_addr,
                 c->remote_port, eio_http_strerror(r), eio_http_error_status(r));
        refuse(c, eio_http_error_status(r), eio_http_strerror(r));
        return -1;
    }
    /* Node counts the bytes of the target, names and values against
     * maxHeaderSize, and keeps the first maxHeadersCount headers. */
    size_t counted = h.target.len;
    for (size_t i = 0; i < h.n_fields; i++)
        counted += h.fields[i].name.len + h.fields[i].value.len;
    if (counted >= srv->opts.max_head_bytes) {
        refuse(c, 431, "request head over max_head_bytes");
        return -1;
    }
    if (h.n_fields > srv->opts.max_headers)
        h.n_fields = srv->opts.max_headers;
    eio__timer_cancel(srv, &c->idle_timer);
    take_request(c, &h);
    c->http_minor = h.minor_version;
    if (h.minor_version == 1 && !eio_request_header(&c->req, "Host")) {
        /* Node's requireHostHeader: an HTTP/1.1 request must name its host. */
        c->keep_alive = 0;
        eio__log(srv, EIO_LOG_DEBUG, "%s:%d: HTTP/1.1 request without Host: 400", c->remote_addr,
                 c->remote_port);
        eio__conn_respond_ex(c, 400, NULL, NULL, 0, NULL, 0, 1);
        c->mode = EIO__M_WRITING;
        eio__conn_close(c, 1);
        return -1;
    }
    c->keep_alive = h.keep_alive && !srv->shutting_down;
    int has_body = h.chunked || h.content_length > 0;
    int upgrade = h.connection_upgrade && eio_request_header(&c->req, "Upgrade");
    c->body_chunked = h.chunked;
    c->body_left = h.content_length > 0 ? h.content_length : 0;
    c->expect_continue = h.expect_continue;
    c->body_pending = has_body;
    long long content_length = h.content_length;
    eio_buf_consume(&c->rbuf, (size_t)r);
    c->mode = EIO__M_WRITING;
    c->upgrade = upgrade;
    if (upgrade && is_engine_path(srv, &c->req)) {
        eio__engine_request(c);
        return 1;
    }
    if (is_engine_request(srv, &c->req) && strcmp(c->req.method, "POST") == 0) {
        /* Dispatched at the head (Node checks the session and the declared
         * length before the body), the body read after. */
        eio__engine_request(c);
        return 1;
    }
    if (has_body) {
        size_t max = srv->opts.max_payload > (1u << 20) ? srv->opts.max_payload : (1u << 20);
        if (content_length > (long long)max) {
            refuse(c, 413, "body over the limit");
            return -1;
        }
        eio__conn_start_body(c, EIO__BODY_FORWARD, max);
        return 1;
    }
    dispatch(c);
    return 1;
}

/* Works through what rbuf holds, as the connection's mode allows. */
static void conn_process(eio__conn *c)
{
    while (c->state == EIO__WS_OPEN) {
        if (c->mode == EIO__M_HEAD) {
            if (c->rbuf.len == 0)
                break;
            if (read_head(c) <= 0)
                break;
        } else if (c->mode == EIO__M_BODY) {
            int r = read_body(c);
            if (r < 0)
                break;
            if (r == 0) {
                if (c->rbuf.len == 0)
                    break;
                continue;
            }
            body_complete(c);
        } else {
            break; /* parked, writing, forwarding: pipelined bytes wait */
        }
    }
    if (c->state == EIO__WS_OPEN && c->mode != EIO__M_HEAD && c->mode != EIO__M_BODY &&
        c->mode != EIO__M_WS && c->rbuf.len > c->srv->opts.max_head_bytes) {
        c->read_off = 1; /* enough pipelined: read on after this request */
    }
    if (c->state == EIO__WS_OPEN && c->mode == EIO__M_HEAD && c->rbuf.len &&
        !eio__timer_armed(&c->idle_timer))
        eio__timer_set(c->srv, &c->idle_timer, (uint64_t)c->srv->opts.headers_timeout_ms);
    if (c->state != EIO__WS_CLOSED)
        set_events(c);
}

/* The peer ended its side (read 0) or the read failed. */
static void conn_eof(eio__conn *c, int orderly)
{
    if (!orderly || (c->mode == EIO__M_WS && c->state == EIO__WS_OPEN) ||
        c->mode == EIO__M_PARKED || c->mode == EIO__M_BODY || c->mode == EIO__M_FORWARD) {
        conn_lost(c, orderly);
        return;
    }
    /* A half-close after complete requests: what is queued for it is still
     * written, then the connection closes. */
    c->peer_eof = 1;
    if (c->wq_len == 0) {
        conn_lost(c, orderly);
        return;
    }
    c->keep_alive = 0;
    eio__conn_close(c, 1);
    set_events(c);
}

static void conn_read(eio__conn *c)
{
    eio_server *srv = c->srv;
    for (int rounds = 0; rounds < 8 && c->state != EIO__WS_CLOSED && !c->read_off && !c->peer_eof;
         rounds++) {
        /* Read into the loop's buffer; the connection keeps only what it
         * has not used yet, so an idle one holds no read buffer. The first
         * read may have been made already (eio__conn_preread). */
        uint8_t *buf;
        long n, want;
        if (c->pre_buf) {
            buf = c->pre_buf;
            n = c->pre_n;
            want = PREREAD_BYTES;
            c->pre_buf = NULL;
        } else {
            buf = eio_buf_reserve(&srv->read_buf, READ_CHUNK);
            want = READ_CHUNK;
            n = c->stream->ops->read(c->stream, buf, READ_CHUNK);
        }
        if (n == EIO_STREAM_AGAIN)
            break;
        if (n <= 0) {
            conn_eof(c, n == 0);
            return;
        }
        if (c->state == EIO__WS_CLOSING)
            continue; /* draining until the peer's end */
        if (c->mode == EIO__M_WS && c->rbuf.len == 0) {
            /* Whole frames straight from the read buffer, no copy; those
             * the pre-read parsed are acted on first. */
            size_t used = c->pre_parsed ? eio__ws_run_preparsed(c) : 0;
            if (c->state == EIO__WS_OPEN)
                used += eio__ws_process(c, buf + used, (size_t)n - used);
            if (used < (size_t)n && c->state == EIO__WS_OPEN)
                eio_buf_append(&c->rbuf, buf + used, (size_t)n - used);
        } else {
            eio_buf_append(&c->rbuf, buf, (size_t)n);
            if (c->mode != EIO__M_WS)
                conn_process(c);
            /* WebSocket frames: after a partial frame, or sent with the upgrade. */
            if (c->mode == EIO__M_WS && c->rbuf.len && c->state == EIO__WS_OPEN) {
                size_t used = eio__ws_process(c, c->rbuf.data, c->rbuf.len);
                if (c->state != EIO__WS_CLOSED)
                    eio_buf_consume(&c->rbuf, used);
            }
        }
        if (c->state != EIO__WS_CLOSED && c->rbuf.len == 0)
            eio_buf_free(&c->rbuf);
        if (c->state == EIO__WS_CLOSED || (n < want && c->stream->ops->pending(c->stream) == 0))
            break;
    }
    if (c->state == EIO__WS_CLOSED)
        return;
    if (!c->more && !c->read_off && !c->peer_eof && c->stream->ops->pending(c->stream)) {
        /* Bytes the descriptor will not announce (read ahead by TLS): read
         * them in this loop iteration's last step, after the others' events. */
        c->more = 1;
        c->more_next = srv->more_reads;
        srv->more_reads = c;
    }
    set_events(c);
}

int eio__conn_read_more(eio_server *srv)
{
    eio__conn *list = srv->more_reads;
    srv->more_reads = NULL;
    int any = list != NULL;
    while (list) {
        eio__conn *c = list;
        list = c->more_next;
        c->more = 0;
        c->more_next = NULL;
        if (c->state != EIO__WS_CLOSED)
            eio__conn_handle_event(c, EPOLLIN);
    }
    return any;
}

void eio__conn_handle_event(eio__conn *c, uint32_t events)
{
    if (c->state == EIO__WS_CLOSED)
        return;
    if ((events & EPOLLOUT) || c->stream->want_write)
        conn_flush(c);
    if (c->state == EIO__WS_CLOSED)
        return;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
        conn_read(c);
    c->pre_buf = NULL; /* a pre-read not used (closed meanwhile) */
    c->pre_parsed = NULL;
    if (c->state != EIO__WS_CLOSED && c->read_off && !c->peer_eof &&
        (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)))
        conn_eof(c, !(events & (EPOLLHUP | EPOLLERR))); /* ended while not reading */
}

/* ---------------------------------------------------------------- listeners */

void eio__listener_accept(eio__listener *l)
{
    eio_server *srv = l->srv;
    if (l->fd < 0)
        return; /* closed since the event was fetched */
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage peer;
        socklen_t pl = sizeof(peer);
        int fd = accept4(l->fd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EMFILE || errno == ENFILE) {
                uint64_t now = eio__clock(srv);
                if (now - srv->last_emfile_log_ms > 10000) {
                    eio__log(srv, EIO_LOG_WARN,
                             "out of file descriptors (%zu connections open): refusing new "
                             "connections; raise `ulimit -n` or lower --max-clients",
                             srv->n_conns);
                    srv->last_emfile_log_ms = now;
                }
                /* accept() would fail at once forever and spin the loop:
                 * one descriptor is kept in reserve, given up to accept and
                 * close the waiting connection, and taken again (as nginx
                 * and libev do). */
                if (srv->reserve_fd >= 0) {
                    close(srv->reserve_fd);
                    int x = accept(l->fd, NULL, NULL);
                    if (x >= 0)
                        close(x);
                    srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                }
            }
            return; /* EAGAIN and the rest: wait for the next event */
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        eio_stream *st = l->tls ? eio_stream_tls_new(l->tls, fd) : eio_stream_tcp_new(fd);
        if (!st)
            continue;
        eio__conn_accept(srv, st, &peer);
    }
}

int eio_server_listen(eio_server *srv, const char *host, int port, eio_tls_ctx *tls)
{
    int fd = -1;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    if (!host || !*host || strcmp(host, "::") == 0) {
        /* Every address, IPv6 and IPv4 on one socket, as Node's listen(port). */
        fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
            int zero = 0, one = 1;
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            struct sockaddr_in6 a = {.sin6_family = AF_INET6,
                                     .sin6_port = htons((uint16_t)port),
                                     .sin6_addr = in6addr_any};
            if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
                close(fd);
                fd = -1;
            }
        }
        if (fd < 0 && (!host || !*host)) {
            /* No IPv6 on this machine: IPv4 alone. */
            fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            int one = 1;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
            if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
                eio__log(srv, EIO_LOG_ERROR, "cannot listen on port %d: %s", port, strerror(errno));
                close(fd);
                return -1;
            }
        }
    } else {
        struct addrinfo hints = {.ai_family = AF_UNSPEC,
                                 .ai_socktype = SOCK_STREAM,
                                 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
        struct addrinfo *res = NULL;
        int e = getaddrinfo(host, portstr, &hints, &res);
        if (e != 0) {
            eio__log(srv, EIO_LOG_ERROR, "cannot listen on %s: %s", host, gai_strerror(e));
            return -1;
        }
        fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd >= 0) {
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            if (res->ai_family == AF_INET6)
                setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        }
        if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
            eio__log(srv, EIO_LOG_ERROR, "cannot listen on %s port %d: %s", host, port,
                     strerror(errno));
            if (fd >= 0)
                close(fd);
            freeaddrinfo(res);
            return -1;
        }
        freeaddrinfo(res);
    }
    if (fd < 0 || listen(fd, 4096) != 0) {
        eio__log(srv, EIO_LOG_ERROR, "cannot listen on port %d: %s", port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    int bound = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    eio__listener *l = eio_calloc(1, sizeof(*l));
    l->kind = EIO__P_LISTENER;
    l->fd = fd;
    l->tls = tls;
    l->srv = srv;
    eio_server_lock(srv);
    l->next = srv->listeners;
    srv->listeners = l;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = l};
    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev);
    eio_server_unlock(srv);
    return bound;
}

void eio_server_set_backend(eio_server *srv, const char *host, int port)
{
    eio_server_lock(srv);
    free(srv->backend_host);
    srv->backend_host = host ? eio_strdup(host) : NULL;
    srv->backend_port = port;
    eio_server_unlock(srv);
}

/* Stops accepting (lock held): the listeners' sockets are closed; the
 * structures stay (an event already fetched by the loop may point at one)
 * until eio__listeners_free, after the loop thread ended. */
void eio__listeners_close(eio_server *srv)
{
    for (eio__listener *l = srv->listeners; l; l = l->next) {
        if (l->fd < 0)
            continue;
        epoll_ctl(srv->epfd, EPOLL_CTL_DEL, l->fd, NULL);
        close(l->fd);
        l->fd = -1;
    }
}

void eio__listeners_free(eio_server *srv)
{
    eio__listeners_close(srv);
    while (srv->listeners) {
        eio__listener *l = srv->listeners;
        srv->listeners = l->next;
        free(l);
    }
}
