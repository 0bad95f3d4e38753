/*
 * clu_redis: a Redis connection on the engine's loop (see clu_redis.h).
 *
 * Threading: engine lock held; I/O callbacks on the loop thread.
 * Ownership: r owns its descriptor, its reader, its output buffer and the
 * queue of callbacks waiting for replies.
 */
#include "cluster/clu_redis.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

enum { ST_DOWN, ST_CONNECTING, ST_READY };

typedef struct waiting {
    clu_reply_fn fn;
    void *ud;
} waiting;

struct clu_redis {
    eio_server *srv;
    clu_redis_url url;
    char name[32];
    int subscriber;
    clu_redis_callbacks cbs;
    void (*log)(int level, const char *msg, void *ud);
    void *log_ud;

    int state;
    int fd;
    eio_watch *watch;
    redisReader *reader;
    eio_buf out;
    waiting *q; /* replies awaited, in order: q[head..len) */
    size_t head, len, cap;
    waiting *failed; /* to be told "down", from a timer */
    size_t n_failed, cap_failed;
    eio_timeout *fail_timer;
    eio_timeout *retry_timer;
    int backoff_ms;
    int ever_connected;
    int outage; /* an outage is logged and not yet over */
    uint64_t outage_since;
    int in_callback;
    int freed;
};

static void logf_(clu_redis *r, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(clu_redis *r, int level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (r->log)
        r->log(level, msg, r->log_ud);
    else
        fprintf(stderr, "%s\n", msg);
}

int clu_redis_url_parse(const char *url, clu_redis_url *out)
{
    memset(out, 0, sizeof(*out));
    out->port = 6379;
    if (strncmp(url, "redis://", 8) != 0)
        return -1;
    const char *p = url + 8;
    const char *at = strchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            snprintf(out->user, sizeof(out->user), "%.*s", (int)(colon - p), p);
            snprintf(out->pass, sizeof(out->pass), "%.*s", (int)(at - colon - 1), colon + 1);
        } else {
            snprintf(out->pass, sizeof(out->pass), "%.*s", (int)(at - p), p);
        }
        p = at + 1;
    }
    const char *end = p + strcspn(p, "/");
    const char *hs = p, *he;
    if (*p == '[') { /* [::1]:6379 */
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (!rb)
            return -1;
        hs = p + 1;
        he = rb;
        p = rb + 1;
    } else {
        he = memchr(p, ':', (size_t)(end - p));
        if (!he)
            he = end;
        p = he;
    }
    if (he == hs || (size_t)(he - hs) >= sizeof(out->host))
        return -1;
    memcpy(out->host, hs, (size_t)(he - hs));
    if (p < end && *p == ':') {
        char *e;
        long port = strtol(p + 1, &e, 10);
        if (e != end || port <= 0 || port > 65535)
            return -1;
        out->port = (int)port;
    } else if (p != end) {
        return -1;
    }
    if (*end == '/' && end[1]) {
        char *e;
        long db = strtol(end + 1, &e, 10);
        if (*e || db < 0)
            return -1;
        out->db = (int)db;
    }
    return 0;
}

/* ---------------------------------------------------------------- failures */

static void run_failed(void *arg)
{
    clu_redis *r = arg;
    r->fail_timer = NULL;
    size_t n = r->n_failed;
    waiting *list = r->failed;
    r->failed = NULL;
    r->n_failed = r->cap_failed = 0;
    r->in_callback++;
    for (size_t i = 0; i < n && !r->freed; i++)
        list[i].fn(r, NULL, list[i].ud);
    r->in_callback--;
    free(list);
    if (r->freed && !r->in_callback)
        clu_redis_free(r);
}

static void fail_later(clu_redis *r, clu_reply_fn fn, void *ud)
{
    if (!fn)
        return;
    if (r->n_failed == r->cap_failed) {
        r->cap_failed = r->cap_failed ? r->cap_failed * 2 : 8;
        r->failed = eio_realloc(r->failed, r->cap_failed * sizeof(*r->failed));
    }
    r->failed[r->n_failed++] = (waiting){fn, ud};
    if (!r->fail_timer)
        r->fail_timer = eio_set_timeout(r->srv, 0, run_failed, r);
}

/* ---------------------------------------------------------------- connection */

static void on_io(eio_watch *w, int events, void *arg);
static void try_connect(void *arg);

static void close_fd(clu_redis *r)
{
    eio_watch_free(r->watch);
    r->watch = NULL;
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    if (r->reader)
        redisReaderFree(r->reader);
    r->reader = NULL;
    eio_buf_reset(&r->out);
}

/* The connection could not be made or was lost: everything waiting fails,
 * and a new attempt is scheduled. */
static void lost(clu_redis *r, const char *why)
{
    int was_ready = r->state == ST_READY;
    close_fd(r);
    r->state = ST_DOWN;
    for (size_t i = r->head; i < r->len; i++)
        fail_later(r, r->q[i].fn, r->q[i].ud);
    r->head = r->len = 0;
    if (!r->outage) {
        r->outage = 1;
        r->outage_since = eio_server_now_ms(r->srv);
        logf_(r, EIO_LOG_ERROR,
              "redis %s %s:%d: %s%s; retrying in the background (this node keeps serving its own "
              "clients; cluster messages are not sent until Redis is back)",
              r->name, r->url.host, r->url.port,
              was_ready ? "connection lost: " : "cannot connect: ", why);
    }
    r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : 100;
    if (r->backoff_ms > 2000)
        r->backoff_ms = 2000;
    if (!r->retry_timer)
        r->retry_timer = eio_set_timeout(r->srv, (uint64_t)r->backoff_ms, try_connect, r);
}

static void append_command(eio_buf *b, int argc, const char *const *argv, const size_t *argl)
{
    eio_buf_append_byte(b, '*');
    eio_buf_append_uint(b, (uint64_t)argc);
    eio_buf_append(b, "\r\n", 2);
    for (int i = 0; i < argc; i++) {
        size_t n = argl ? argl[i] : strlen(argv[i]);
        eio_buf_append_byte(b, '$');
        eio_buf_append_uint(b, n);
        eio_buf_append(b, "\r\n", 2);
        eio_buf_append(b, argv[i], n);
        eio_buf_append(b, "\r\n", 2);
    }
}

static void flush(clu_redis *r)
{
    while (r->out.len) {
        ssize_t n = send(r->fd, r->out.data, r->out.len, MSG_NOSIGNAL);
        if (n > 0) {
            eio_buf_consume(&r->out, (size_t)n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            eio_watch_set(r->watch, EIO_WATCH_READ | EIO_WATCH_WRITE);
            return;
        }
        lost(r, strerror(errno));
        return;
    }
    eio_watch_set(r->watch, EIO_WATCH_READ);
}

static void queue_reply(clu_redis *r, clu_reply_fn fn, void *ud)
{
    if (r->subscriber)
        return;
    if (r->head && r->head == r->len)
        r->head = r->len = 0;
    if (r->len == r->cap) {
        if (r->head > r->cap / 2) {
            memmove(r->q, r->q + r->head, (r->len - r->head) * sizeof(*r->q));
            r->len -= r->head;
            r->head = 0;
        } else {
            r->cap = r->cap ? r->cap * 2 : 16;
            r->q = eio_realloc(r->q, r->cap * sizeof(*r->q));
        }
    }
    r->q[r->len++] = (waiting){fn, ud};
}

static void log_error_reply(clu_redis *r, const redisReply *reply, void *ud)
{
    (void)ud;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        logf_(r, EIO_LOG_ERROR, "redis %s %s:%d: %s", r->name, r->url.host, r->url.port,
              reply->str);
}

static void became_ready(clu_redis *r)
{
    r->state = ST_READY;
    r->backoff_ms = 0;
    if (r->outage) {
        uint64_t ms = eio_server_now_ms(r->srv) - r->outage_since;
        logf_(r, EIO_LOG_WARN, "redis %s %s:%d: connected%s after %llu ms of outage", r->name,
              r->url.host, r->url.port, r->ever_connected ? " again" : "", (unsigned long long)ms);
        r->outage = 0;
    } else if (!r->ever_connected) {
        logf_(r, EIO_LOG_INFO, "redis %s %s:%d: connected", r->name, r->url.host, r->url.port);
    }
    r->ever_connected = 1;
    /* AUTH and SELECT go first; the subscriber's replies to them reach
     * on_push, which ignores what is not a message. */
    if (r->url.pass[0]) {
        if (r->url.user[0])
            clu_redis_commandv(r, r->subscriber ? NULL : log_error_reply, NULL, "AUTH", r->url.user,
                               r->url.pass, (char *)NULL);
        else
            clu_redis_commandv(r, r->subscriber ? NULL : log_error_reply, NULL, "AUTH", r->url.pass,
                               (char *)NULL);
    }
    if (r->url.db) {
        char db[16];
        snprintf(db, sizeof(db), "%d", r->url.db);
        clu_redis_commandv(r, r->subscriber ? NULL : log_error_reply, NULL, "SELECT", db,
                           (char *)NULL);
    }
    if (r->cbs.on_ready) {
        r->in_callback++;
        r->cbs.on_ready(r, r->cbs.ud);
        r->in_callback--;
    }
}

static void try_connect(void *arg)
{
    clu_redis *r = arg;
    r->retry_timer = NULL;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    char port[8];
    snprintf(port, sizeof(port), "%d", r->url.port);
    int rc = getaddrinfo(r->url.host, port, &hints, &res);
    if (rc != 0) {
        lost(r, gai_strerror(rc));
        return;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(res);
        lost(r, strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    rc = connect(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (rc != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        lost(r, strerror(e));
        return;
    }
    r->fd = fd;
    r->reader = redisReaderCreate();
    r->watch = eio_watch_fd(r->srv, fd, EIO_WATCH_WRITE, on_io, r);
    if (!r->watch || !r->reader) {
        lost(r, "cannot watch the connection");
        return;
    }
    r->state = ST_CONNECTING;
}

static void on_readable(clu_redis *r)
{
    char buf[65536];
    for (;;) {
        ssize_t n = recv(r->fd, buf, sizeof(buf), 0);
        if (n > 0) {
            if (redisReaderFeed(r->reader, buf, (size_t)n) != REDIS_OK) {
                lost(r, "reply buffer");
                return;
            }
            if ((size_t)n < sizeof(buf))
                break;
            continue;
        }
        if (n == 0) {
            lost(r, "closed by Redis");
            return;
        }
        if (errno == EAGAIN || errno == EINTR)
            break;
        lost(r, strerror(errno));
        return;
    }
    r->in_callback++;
    while (!r->freed && r->state == ST_READY) {
        void *reply = NULL;
        if (redisReaderGetReply(r->reader, &reply) != REDIS_OK) {
            char why[160];
            snprintf(why, sizeof(why), "bad reply from Redis (%s)", r->reader->errstr);
            lost(r, why);
            break;
        }
        if (!reply)
            break;
        if (r->subscriber) {
            if (r->cbs.on_push)
                r->cbs.on_push(r, reply, r->cbs.ud);
        } else if (r->head < r->len) {
            waiting w = r->q[r->head++];
            if (w.fn)
                w.fn(r, reply, w.ud);
        } else {
            logf_(r, EIO_LOG_WARN, "redis %s: a reply nobody asked for (ignored)", r->name);
        }
        freeReplyObject(reply);
    }
    r->in_callback--;
}

static void on_io(eio_watch *w, int events, void *arg)
{
    clu_redis *r = arg;
    (void)w;
    if (r->state == ST_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            lost(r, strerror(err));
            return;
        }
        eio_watch_set(r->watch, EIO_WATCH_READ);
        became_ready(r);
        if (r->freed)
            goto out;
        if (r->state == ST_READY)
            flush(r);
        return;
    }
    if (events & EIO_WATCH_READ)
        on_readable(r);
    if (!r->freed && r->state == ST_READY && (events & EIO_WATCH_WRITE))
        flush(r);
out:
    if (r->freed && !r->in_callback)
        clu_redis_free(r);
}

/* ---------------------------------------------------------------- public */

clu_redis *clu_redis_new(eio_server *srv, const clu_redis_url *url, const char *name,
                         int subscriber, const clu_redis_callbacks *cbs,
                         void (*log)(int level, const char *msg, void *ud), void *log_ud)
{
    clu_redis *r = eio_calloc(1, sizeof(*r));
    r->srv = srv;
    r->url = *url;
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->subscriber = subscriber;
    if (cbs)
        r->cbs = *cbs;
    r->log = log;
    r->log_ud = log_ud;
    r->fd = -1;
    try_connect(r);
    return r;
}

void clu_redis_free(clu_redis *r)
{
    if (!r)
        return;
    if (r->in_callback) {
        r->freed = 1;
        return;
    }
    close_fd(r);
    eio_clear_timeout(r->srv, r->fail_timer);
    eio_clear_timeout(r->srv, r->retry_timer);
    eio_buf_free(&r->out);
    free(r->q);
    free(r->failed);
    free(r);
}

int clu_redis_connected(const clu_redis *r)
{
    return r->state == ST_READY;
}

void clu_redis_command(clu_redis *r, clu_reply_fn fn, void *ud, int argc, const char *const *argv,
                       const size_t *argl)
{
    if (r->state != ST_READY) {
        fail_later(r, fn, ud);
        return;
    }
    int was_empty = r->out.len == 0;
    append_command(&r->out, argc, argv, argl);
    queue_reply(r, fn, ud);
    if (was_empty && !r->in_callback)
        flush(r);
    else if (was_empty)
        eio_watch_set(r->watch, EIO_WATCH_READ | EIO_WATCH_WRITE);
}

void clu_redis_commandv(clu_redis *r, clu_reply_fn fn, void *ud, ...)
{
    const char *argv[16];
    int argc = 0;
    va_list ap;
    va_start(ap, ud);
    const char *a;
    while (argc < 16 && (a = va_arg(ap, const char *)))
        argv[argc++] = a;
    va_end(ap);
    clu_redis_command(r, fn, ud, argc, argv, NULL);
}
