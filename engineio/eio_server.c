/*
 * eio_server: the Engine.IO server core. Sessions (their table, life cycle,
 * heartbeat, packets), the engine lock and the loop thread.
 *
 * Threading: one engine lock (srv->mu) guards everything here. The loop thread
 * holds it except while it waits in epoll_wait; application threads take it
 * between eio_server_lock and eio_server_unlock. Callbacks run with it held. Timers fire on
 * the loop thread. See eio_server.h.
 * Ownership: the session table holds one reference to each open session; an
 * HTTP request working on a session holds another. A session is freed when the
 * last reference goes, never inside its own callback.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <unistd.h>

#include "eio_debug.h"
#include "eio_internal.h"

/* ---------------------------------------------------------------- options */

void eio_options_default(eio_options *o)
{
    memset(o, 0, sizeof(*o));
    o->ping_interval_ms = 25000;
    o->ping_timeout_ms = 20000;
    o->upgrade_timeout_ms = 10000;
    o->max_payload = 1000000;
    o->transports = EIO_TRANSPORT_POLLING | EIO_TRANSPORT_WEBSOCKET;
    o->allow_upgrades = 1;
    o->allow_eio3 = 1;
    o->max_send_queue = 4u << 20;
    o->max_clients = 10000;
    o->cookie = NULL;
    o->cookie_path = "/";
    o->cookie_http_only = 1;
    o->cookie_same_site = "Lax";
    o->path = "/engine.io/";
    o->cors_origin = NULL;
    o->cors_credentials = 0;
    o->max_headers = 2000;
    o->max_head_bytes = 16384;
    o->headers_timeout_ms = 60000;
    o->keep_alive_timeout_ms = 5000;
    o->http_compression = 1;
    o->http_compression_threshold = 1024;
    o->per_message_deflate = 0;
    o->per_message_deflate_threshold = 1024;
    o->log_level = EIO_LOG_INFO;
}

const char *eio_errcode_message(int code)
{
    switch (code) {
    case EIO_ERRCODE_UNKNOWN_TRANSPORT: return "Transport unknown";
    case EIO_ERRCODE_UNKNOWN_SID: return "Session ID unknown";
    case EIO_ERRCODE_BAD_HANDSHAKE_METHOD: return "Bad handshake method";
    case EIO_ERRCODE_BAD_REQUEST: return "Bad request";
    case EIO_ERRCODE_FORBIDDEN: return "Forbidden";
    case EIO_ERRCODE_UNSUPPORTED_PROTOCOL_VERSION: return "Unsupported protocol version";
    default: return "Unknown error";
    }
}

/* ---------------------------------------------------------------- logging */

void eio__log(eio_server *srv, int level, const char *fmt, ...)
{
    if (level > srv->opts.log_level)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (srv->opts.log) {
        srv->opts.log(level, msg, srv->user_data);
    } else {
        static const char *const names[] = {"error", "warn", "info", "debug"};
        fprintf(stderr, "[engine.io] %s: %s\n", names[level < 0 ? 0 : level > 3 ? 3 : level], msg);
    }
}

/* ---------------------------------------------------------------- requests */

const char *eio_request_header(const eio_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

int eio_request_query(const eio_request *r, const char *key, eio_buf *out)
{
    /* As engine.io reads req._query (URLSearchParams, then
     * Object.fromEntries): names are form-decoded like values, and of a
     * parameter given twice the last one wins. */
    eio_buf_reset(out);
    const char *q = r->query ? r->query : "";
    size_t klen = strlen(key);
    const char *value = NULL;
    size_t value_len = 0;
    int found = 0;
    eio_buf name = EIO_BUF_INIT;
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        size_t name_len = eq ? (size_t)(eq - q) : len;
        int match;
        if (memchr(q, '%', name_len) || memchr(q, '+', name_len)) {
            eio_buf_reset(&name);
            eio_form_decode((const uint8_t *)q, name_len, &name);
            match = name.len == klen && memcmp(name.data, key, klen) == 0;
        } else {
            match = name_len == klen && memcmp(q, key, klen) == 0;
        }
        if (match) {
            found = 1;
            value = eq ? eq + 1 : q + len;
            value_len = eq ? len - name_len - 1 : 0;
        }
        q += len;
        if (*q == '&')
            q++;
    }
    eio_buf_free(&name);
    if (found)
        eio_form_decode((const uint8_t *)value, value_len, out);
    eio_buf_cstr(out);
    return found;
}

int eio__query_int(const eio_request *r, const char *key, int *out)
{
    eio_buf b = EIO_BUF_INIT;
    int found = eio_request_query(r, key, &b);
    *out = found ? atoi((char *)b.data) : 0;
    eio_buf_free(&b);
    return found;
}

/* Deep copy of a request into one allocation (returned; free it when done
 * with *out). The body callbacks and descriptors are not kept. */
char *eio__request_dup(const eio_request *r, eio_request *out)
{
    size_t need = 0;
#define STRSZ(x) ((x) ? strlen(x) + 1 : 1)
    need += STRSZ(r->method) + STRSZ(r->path) + STRSZ(r->query);
    for (size_t i = 0; i < r->n_headers; i++)
        need += STRSZ(r->headers[i].name) + STRSZ(r->headers[i].value);
    need += r->n_headers * sizeof(eio_header) + sizeof(eio_header);
    char *mem = eio_malloc(need);
    eio_header *hdrs = (eio_header *)(void *)mem;
    char *p = mem + (r->n_headers + 1) * sizeof(eio_header);
#define COPY(dst, src)                                                                             \
    do {                                                                                           \
        const char *src_ = (src) ? (src) : "";                                                     \
        size_t l_ = strlen(src_) + 1;                                                              \
        memcpy(p, src_, l_);                                                                       \
        (dst) = p;                                                                                 \
        p += l_;                                                                                   \
    } while (0)
    *out = *r;
    COPY(out->method, r->method);
    COPY(out->path, r->path);
    COPY(out->query, r->query);
    for (size_t i = 0; i < r->n_headers; i++) {
        COPY(hdrs[i].name, r->headers[i].name);
        COPY(hdrs[i].value, r->headers[i].value);
    }
#undef COPY
#undef STRSZ
    out->headers = hdrs;
    out->content_length = -1;
    return mem;
}

/* ---------------------------------------------------------------- lock and loop */

void eio_server_lock(eio_server *srv)
{
    pthread_mutex_lock(&srv->mu);
}

void eio_server_unlock(eio_server *srv)
{
    eio__run_pending_closes(srv);
    eio__flush_dirty(srv);
    pthread_mutex_unlock(&srv->mu);
}

void eio__wake_loop(eio_server *srv)
{
    uint64_t one = 1;
    ssize_t n = write(srv->evfd, &one, sizeof(one));
    (void)n; /* EAGAIN means a wake-up is already pending */
}

uint64_t eio__clock(const eio_server *srv)
{
    return srv->fake_clock ? *srv->fake_clock : eio__now_ms();
}

void eio__timer_set(eio_server *srv, eio__timer *t, uint64_t delay_ms)
{
    uint64_t deadline = eio__clock(srv) + delay_ms;
    eio__heap_set(&srv->timers, t, deadline);
    if (deadline < srv->loop_deadline)
        eio__wake_loop(srv);
}

void eio__timer_cancel(eio_server *srv, eio__timer *t)
{
    eio__heap_cancel(&srv->timers, t);
}

void eio__run_timers(eio_server *srv)
{
    uint64_t now = eio__clock(srv);
    eio__timer *t = eio__heap_top(&srv->timers);
    if (t && t->deadline_ms <= now)
        eio__stats_lag(srv, now - t->deadline_ms); /* how late the loop is */
    while ((t = eio__heap_top(&srv->timers)) && t->deadline_ms <= now) {
        eio__heap_cancel(&srv->timers, t);
        t->fire(t);
    }
}

/* ---------------------------------------------------------------- outside descriptors */

struct eio_watch {
    int kind; /* EIO__P_WATCH */
    int fd;
    int events;
    int dead;
    eio_server *srv;
    void (*fn)(eio_watch *w, int events, void *arg);
    void *arg;
    struct eio_watch *prev, *next;
};

static uint32_t watch_mask(int events)
{
    return (events & EIO_WATCH_READ ? EPOLLIN | EPOLLRDHUP : 0) |
           (events & EIO_WATCH_WRITE ? EPOLLOUT : 0);
}

eio_watch *eio_watch_fd(eio_server *srv, int fd, int events,
                        void (*fn)(eio_watch *w, int events, void *arg), void *arg)
{
    eio_watch *w = eio_calloc(1, sizeof(*w));
    w->kind = EIO__P_WATCH;
    w->fd = fd;
    w->events = events;
    w->srv = srv;
    w->fn = fn;
    w->arg = arg;
    struct epoll_event ev = {.events = watch_mask(events), .data.ptr = w};
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        free(w);
        return NULL;
    }
    w->next = srv->watches;
    if (w->next)
        w->next->prev = w;
    srv->watches = w;
    return w;
}

void eio_watch_set(eio_watch *w, int events)
{
    if (w->dead || w->events == events)
        return;
    w->events = events;
    struct epoll_event ev = {.events = watch_mask(events), .data.ptr = w};
    epoll_ctl(w->srv->epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

void eio_watch_free(eio_watch *w)
{
    if (!w || w->dead)
        return;
    eio_server *srv = w->srv;
    w->dead = 1;
    epoll_ctl(srv->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    if (w->prev)
        w->prev->next = w->next;
    else
        srv->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    /* The loop's current batch may still hold an event for w. */
    w->next = srv->dead_watches;
    srv->dead_watches = w;
}

static void watches_reap(eio_server *srv)
{
    while (srv->dead_watches) {
        eio_watch *w = srv->dead_watches;
        srv->dead_watches = w->next;
        free(w);
    }
}

static void watch_event(eio_watch *w, uint32_t ev)
{
    if (w->dead)
        return;
    int events = 0;
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        events |= EIO_WATCH_READ;
    if (ev & EPOLLOUT)
        events |= EIO_WATCH_WRITE;
    events &= w->events | EIO_WATCH_READ;
    if (events)
        w->fn(w, events, w->arg);
}

uint64_t eio_server_now_ms(const eio_server *srv)
{
    return eio__clock(srv);
}

static void *loop_main(void *arg)
{
    eio_server *srv = arg;
    struct epoll_event events[EIO__MAX_EVENTS];
    eio__conn *readable[EIO__MAX_EVENTS];
    uint32_t readable_ev[EIO__MAX_EVENTS];
    pthread_mutex_lock(&srv->mu);
    while (!srv->stop) {
        eio__run_timers(srv);
        eio__free_zombies(srv);
        watches_reap(srv);
        /* What the unlock would do, done before the wait's deadline is
         * taken: timers it sets (a closing connection's linger) are then
         * in that deadline, instead of waking the loop through the eventfd. */
        eio__run_pending_closes(srv);
        eio__flush_dirty(srv);
        eio__timer *top = eio__heap_top(&srv->timers);
        int timeout = -1;
        srv->loop_deadline = UINT64_MAX;
        if (top) {
            uint64_t now = eio__clock(srv);
            srv->loop_deadline = top->deadline_ms;
            timeout = top->deadline_ms <= now ? 0 : (int)(top->deadline_ms - now);
        }
        if (srv->more_reads)
            timeout = 0; /* bytes wait in streams: come straight back */
        eio_server_unlock(srv);
        int n = epoll_wait(srv->epfd, events, EIO__MAX_EVENTS, timeout);
        pthread_mutex_lock(&srv->mu);
        srv->loop_deadline = 0; /* running: nobody needs to wake us */
        if (srv->writers && n >= 32) {
            size_t k = 0;
            for (int i = 0; i < n; i++) {
                int *kind = events[i].data.ptr;
                if (kind && *kind == EIO__P_CONN) {
                    readable[k] = (eio__conn *)kind;
                    readable_ev[k++] = events[i].events;
                }
            }
            eio__conn_preread(srv, readable, readable_ev, k);
        }
        for (int i = 0; i < n; i++) {
            int *kind = events[i].data.ptr;
            if (kind == NULL) {
                uint64_t v;
                ssize_t r = read(srv->evfd, &v, sizeof(v));
                (void)r;
            } else if (*kind == EIO__P_CONN) {
                eio__conn_handle_event((eio__conn *)kind, events[i].events);
            } else if (*kind == EIO__P_BACKEND) {
                eio__backend_handle_event((eio__backend *)kind, events[i].events);
            } else if (*kind == EIO__P_LISTENER) {
                eio__listener_accept((eio__listener *)kind);
            } else if (*kind == EIO__P_WATCH) {
                watch_event((eio_watch *)kind, events[i].events);
            }
        }
        eio__conn_read_more(srv);
    }
    eio__free_zombies(srv);
    eio_server_unlock(srv);
    return NULL;
}

struct eio_timeout {
    eio__timer timer;
    eio_server *srv;
    void (*fn)(void *arg);
    void *arg;
};

static void on_user_timeout(eio__timer *t)
{
    eio_timeout *to = EIO__CONTAINER(t, eio_timeout, timer);
    void (*fn)(void *) = to->fn;
    void *arg = to->arg;
    free(to);
    fn(arg);
}

eio_timeout *eio_set_timeout(eio_server *srv, uint64_t delay_ms, void (*fn)(void *arg), void *arg)
{
    eio_timeout *to = eio_calloc(1, sizeof(*to));
    eio__timer_init(&to->timer, on_user_timeout);
    to->srv = srv;
    to->fn = fn;
    to->arg = arg;
    eio__timer_set(srv, &to->timer, delay_ms);
    return to;
}

void eio_clear_timeout(eio_server *srv, eio_timeout *t)
{
    if (!t)
        return;
    eio__timer_cancel(srv, &t->timer);
    free(t);
}

/* ---------------------------------------------------------------- server */

static eio_frame *text_frame(const char *text)
{
    size_t len = strlen(text);
    uint8_t hdr[10];
    size_t hl = eio_ws_frame_header(hdr, EIO_WS_OP_TEXT, len);
    eio_frame *f = eio_frame_new(hl + len);
    memcpy(f->data, hdr, hl);
    memcpy(f->data + hl, text, len);
    return f;
}

/* The engine path (ending in '/') and CORS, copied. */
static void set_http(eio_server *srv, const char *path, const char *cors_origin,
                     int cors_credentials)
{
    if (!path)
        path = "/engine.io/";
    size_t pl = strlen(path);
    char *p = eio_malloc(pl + 2);
    memcpy(p, path, pl + 1);
    if (pl == 0 || p[pl - 1] != '/') {
        p[pl] = '/';
        p[pl + 1] = 0;
    }
    free(srv->path);
    srv->path = p;
    srv->opts.path = p;
    char *cors = cors_origin ? eio_strdup(cors_origin) : NULL;
    free(srv->cors_origin);
    srv->cors_origin = cors;
    srv->opts.cors_origin = cors;
    srv->opts.cors_credentials = cors_credentials;
}

void eio_server_set_http(eio_server *srv, const char *path, const char *cors_origin,
                         int cors_credentials)
{
    eio_server_lock(srv);
    set_http(srv, path, cors_origin, cors_credentials);
    eio_server_unlock(srv);
}

static eio_server *server_create(const eio_options *opts, const eio_callbacks *cbs, void *user_data)
{
    eio_server *srv = eio_calloc(1, sizeof(*srv));
    if (opts)
        srv->opts = *opts;
    else
        eio_options_default(&srv->opts);
    if (cbs)
        srv->cbs = *cbs;
    srv->user_data = user_data;
    if (srv->opts.cookie) {
        srv->cookie = eio_strdup(srv->opts.cookie);
        srv->cookie_path = srv->opts.cookie_path ? eio_strdup(srv->opts.cookie_path) : NULL;
        srv->cookie_same_site =
            srv->opts.cookie_same_site ? eio_strdup(srv->opts.cookie_same_site) : NULL;
        srv->opts.cookie = srv->cookie;
        srv->opts.cookie_path = srv->cookie_path;
        srv->opts.cookie_same_site = srv->cookie_same_site;
    }
    set_http(srv, srv->opts.path, srv->opts.cors_origin, srv->opts.cors_credentials);
    if (srv->opts.max_headers == 0)
        srv->opts.max_headers = 1;
    srv->http_fields = eio_calloc(EIO__PARSE_MAX_HEADERS, sizeof(*srv->http_fields));
    srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pthread_mutex_init(&srv->mu, NULL);
    srv->map_cap = 1024;
    srv->map = eio_calloc(srv->map_cap, sizeof(*srv->map));
    srv->f_ping = text_frame("2");
    srv->f_pong = text_frame("3");
    srv->f_noop = text_frame("6");
    srv->f_pong_probe = text_frame("3probe");
    eio_buf_reserve(&srv->read_buf, 65536);
    srv->epfd = epoll_create1(EPOLL_CLOEXEC);
    srv->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (srv->epfd < 0 || srv->evfd < 0) {
        perror("engine.io: epoll/eventfd");
        abort();
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->evfd, &ev);
    srv->loop_deadline = 0;
    srv->debug = eio__debug_mask(srv->opts.debug ? srv->opts.debug : getenv("DEBUG"));
    return srv;
}

eio_server *eio_server_new(const eio_options *opts, const eio_callbacks *cbs, void *user_data)
{
    eio_server *srv = server_create(opts, cbs, user_data);
    srv->has_thread = 1;
    int wt = srv->opts.write_threads;
    if (wt <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        wt = cores > 0 ? (int)(cores > 64 ? 64 : cores) : 1;
    }
    eio__writers_start(srv, wt);
    if (pthread_create(&srv->thread, NULL, loop_main, srv) != 0) {
        perror("engine.io: pthread_create");
        abort();
    }
    return srv;
}

eio_server *eio__server_new_manual(const eio_options *opts, const eio_callbacks *cbs,
                                   void *user_data, const uint64_t *clock)
{
    eio_server *srv = server_create(opts, cbs, user_data);
    srv->fake_clock = clock;
    if (srv->opts.write_threads > 1) /* asked for by the test (the default here is 1) */
        eio__writers_start(srv, srv->opts.write_threads);
    return srv;
}

void eio_server_shutdown(eio_server *srv)
{
    eio_server_lock(srv);
    srv->shutting_down = 1;
    eio__listeners_close(srv);
    eio__run_pending_closes(srv);
    while (srv->sessions)
        eio__session_close(srv->sessions, "server shutting down");
    eio_server_unlock(srv);
}

void eio_server_free(eio_server *srv)
{
    if (!srv)
        return;
    eio_server_shutdown(srv);
    eio_server_lock(srv);
    srv->stop = 1;
    eio__wake_loop(srv);
    pthread_mutex_unlock(&srv->mu);
    if (srv->has_thread)
        pthread_join(srv->thread, NULL);
    if (srv->writers)
        eio__log(srv, EIO_LOG_DEBUG,
                 "shared with the writer threads: %llu flushes, %llu batches of reads",
                 (unsigned long long)srv->parallel_flushes,
                 (unsigned long long)srv->parallel_reads);
    eio__writers_stop(srv);
    eio__listeners_free(srv);
    /* Connections still lingering are closed now. */
    while (srv->conns) {
        eio__conn *c = srv->conns;
        c->state = EIO__WS_OPEN;
        eio__conn_finish(c);
    }
    while (srv->dirty) {
        eio__conn *c = srv->dirty;
        srv->dirty = c->dirty_next;
        c->dirty = 0;
    }
    while (srv->ready_polls) {
        eio__conn *c = srv->ready_polls;
        srv->ready_polls = c->ready_next;
        c->ready = 0;
    }
    while (srv->more_reads) {
        eio__conn *c = srv->more_reads;
        srv->more_reads = c->more_next;
        c->more = 0;
    }
    eio__free_zombies(srv);
    /* Watches the application did not stop (it should have). */
    while (srv->watches)
        eio_watch_free(srv->watches);
    watches_reap(srv);
    /* User timeouts never fired: free them (session timers are embedded). */
    for (size_t i = 0; i < srv->timers.len; i++)
        if (srv->timers.items[i]->fire == on_user_timeout)
            free(EIO__CONTAINER(srv->timers.items[i], eio_timeout, timer));
    eio__heap_free(&srv->timers);
    close(srv->epfd);
    close(srv->evfd);
    eio_frame_unref(srv->f_ping);
    eio_frame_unref(srv->f_pong);
    eio_frame_unref(srv->f_noop);
    eio_frame_unref(srv->f_pong_probe);
    eio__pmd_server_free(srv);
    eio_buf_free(&srv->read_buf);
    eio_buf_free(&srv->scratch);
    free(srv->map);
    free(srv->http_fields);
    free(srv->path);
    free(srv->cors_origin);
    free(srv->backend_host);
    for (size_t i = 0; i < srv->n_backend_names; i++)
        free(srv->backend_names[i]);
    free(srv->backend_names);
    if (srv->reserve_fd >= 0)
        close(srv->reserve_fd);
    free(srv->cookie);
    free(srv->cookie_path);
    free(srv->cookie_same_site);
    pthread_mutex_destroy(&srv->mu);
    free(srv);
}

const eio_options *eio_server_options(const eio_server *srv)
{
    return &srv->opts;
}

size_t eio_server_client_count(eio_server *srv)
{
    return srv->n_sessions;
}

/* ---------------------------------------------------------------- session table */

static size_t sid_hash(const char *sid)
{
    size_t h = 1469598103934665603u;
    for (; *sid; sid++)
        h = (h ^ (unsigned char)*sid) * 1099511628211u;
    return h;
}

static void map_grow(eio_server *srv)
{
    size_t cap = srv->map_cap * 2;
    eio_socket **map = eio_calloc(cap, sizeof(*map));
    for (size_t i = 0; i < srv->map_cap; i++) {
        eio_socket *s = srv->map[i];
        while (s) {
            eio_socket *next = s->map_next;
            size_t b = sid_hash(s->id) & (cap - 1);
            s->map_next = map[b];
            map[b] = s;
            s = next;
        }
    }
    free(srv->map);
    srv->map = map;
    srv->map_cap = cap;
}

eio_socket *eio__session_find(eio_server *srv, const char *sid)
{
    if (strlen(sid) != 20)
        return NULL;
    for (eio_socket *s = srv->map[sid_hash(sid) & (srv->map_cap - 1)]; s; s = s->map_next)
        if (memcmp(s->id, sid, 20) == 0)
            return s;
    return NULL;
}

static void map_remove(eio_server *srv, eio_socket *s)
{
    eio_socket **pp = &srv->map[sid_hash(s->id) & (srv->map_cap - 1)];
    while (*pp && *pp != s)
        pp = &(*pp)->map_next;
    if (*pp)
        *pp = s->map_next;
    s->map_next = NULL;
}

void eio__gen_sid(char out[21])
{
    /* As Node's base64id: 15 random bytes, base64 with '/' -> '_', '+' -> '-'. */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[15];
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        fputs("fatal: RAND_bytes failed\n", stderr);
        abort();
    }
    for (int i = 0, o = 0; i < 15; i += 3) {
        uint32_t v = ((uint32_t)raw[i] << 16) | ((uint32_t)raw[i + 1] << 8) | raw[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    out[20] = '\0';
}

void eio_generate_id(char out[21])
{
    eio__gen_sid(out);
}

/* ---------------------------------------------------------------- sessions */

static void on_ping_timer(eio__timer *t);
static void on_timeout_timer(eio__timer *t);
static void on_close_timer(eio__timer *t);

eio_socket *eio__session_new(eio_server *srv, const eio_request *req, int version, int transport,
                             const char *sid)
{
    eio_socket *s = eio_calloc(1, sizeof(*s));
    s->srv = srv;
    s->refs = 1; /* the table's */
    s->version = version;
    s->transport = transport;
    s->state = EIO__S_OPEN;
    if (sid && strlen(sid) == 20 && !eio__session_find(srv, sid))
        memcpy(s->id, sid, 21);
    else
        do
            eio__gen_sid(s->id);
        while (eio__session_find(srv, s->id));
    eio__timer_init(&s->ping_timer, on_ping_timer);
    eio__timer_init(&s->timeout_timer, on_timeout_timer);
    eio__timer_init(&s->close_timer, on_close_timer);
    s->req_storage = eio__request_dup(req, &s->req);
    if (srv->n_sessions + 1 > srv->map_cap / 4 * 3)
        map_grow(srv);
    size_t b = sid_hash(s->id) & (srv->map_cap - 1);
    s->map_next = srv->map[b];
    srv->map[b] = s;
    s->next = srv->sessions;
    if (srv->sessions)
        srv->sessions->prev = s;
    srv->sessions = s;
    srv->n_sessions++;
    return s;
}

static void outq_clear(eio_socket *s)
{
    for (size_t i = 0; i < s->outq_len; i++)
        eio_message_unref(s->outq[(s->outq_head + i) % s->outq_cap].msg);
    s->outq_head = s->outq_len = 0;
    s->outq_bytes = 0;
}

void eio__session_unref(eio_socket *s)
{
    if (--s->refs > 0)
        return;
    outq_clear(s);
    free(s->outq);
    free(s->jsonp);
    free(s->req_storage);
    free(s);
}

/* Starts the heartbeat: v4 pings from the server; v3 waits for the client's. */
static void heartbeat_start(eio_socket *s)
{
    eio_server *srv = s->srv;
    if (s->version >= 4)
        eio__timer_set(srv, &s->ping_timer, (uint64_t)srv->opts.ping_interval_ms);
    else
        eio__timer_set(srv, &s->timeout_timer,
                       (uint64_t)srv->opts.ping_interval_ms + (uint64_t)srv->opts.ping_timeout_ms);
}

static void on_ping_timer(eio__timer *t)
{
    eio_socket *s = EIO__CONTAINER(t, eio_socket, ping_timer);
    if (s->state != EIO__S_OPEN)
        return;
    EIO__DEBUG(s->srv, EIO__DBG_SOCKET, "%s: writing ping packet - expecting pong within %dms",
               s->id, s->srv->opts.ping_timeout_ms);
    eio__session_queue(s, EIO_PACKET_PING, NULL, 0);
    if (s->state == EIO__S_OPEN)
        eio__timer_set(s->srv, &s->timeout_timer, (uint64_t)s->srv->opts.ping_timeout_ms);
}

static void on_timeout_timer(eio__timer *t)
{
    eio_socket *s = EIO__CONTAINER(t, eio_socket, timeout_timer);
    eio__log(s->srv, EIO_LOG_DEBUG, "session %s: ping timeout", s->id);
    eio__session_close(s, "ping timeout");
}

static void on_close_timer(eio__timer *t)
{
    eio_socket *s = EIO__CONTAINER(t, eio_socket, close_timer);
    eio__session_close(s, s->close_reason ? s->close_reason : "forced close");
}

void eio__session_opened(eio_socket *s)
{
    eio_server *srv = s->srv;
    eio_buf json = EIO_BUF_INIT;
    int can_upgrade = s->transport == EIO_TRANSPORT_POLLING && srv->opts.allow_upgrades &&
                      (srv->opts.transports & EIO_TRANSPORT_WEBSOCKET);
    eio_buf_append_str(&json, "{\"sid\":\"");
    eio_buf_append_str(&json, s->id);
    eio_buf_append_str(&json, can_upgrade ? "\",\"upgrades\":[\"websocket\"],\"pingInterval\":"
                                          : "\",\"upgrades\":[],\"pingInterval\":");
    eio_buf_append_uint(&json, (uint64_t)srv->opts.ping_interval_ms);
    eio_buf_append_str(&json, ",\"pingTimeout\":");
    eio_buf_append_uint(&json, (uint64_t)srv->opts.ping_timeout_ms);
    eio_buf_append_str(&json, ",\"maxPayload\":");
    eio_buf_append_uint(&json, srv->opts.max_payload);
    eio_buf_append_byte(&json, '}');
    srv->stats.handshakes[s->transport == EIO_TRANSPORT_WEBSOCKET]++;
    EIO__DEBUG(srv, EIO__DBG_ENGINE, "handshaking client \"%s\" (EIO=%d, %s)", s->id, s->version,
               s->transport == EIO_TRANSPORT_WEBSOCKET ? "websocket" : "polling");
    eio_message *m = eio_message_new(json.data, json.len, 0);
    eio_buf_free(&json);
    eio__session_queue(s, EIO_PACKET_OPEN, m, 0);
    eio_message_unref(m);
    heartbeat_start(s);
    eio__log(srv, EIO_LOG_DEBUG, "session %s opened (EIO=%d, %s)", s->id, s->version,
             s->transport == EIO_TRANSPORT_WEBSOCKET ? "websocket" : "polling");
    if (srv->cbs.on_connection)
        srv->cbs.on_connection(s, srv->user_data);
}

static size_t out_cost(const eio_message *m)
{
    return (m ? m->len : 0) + 8;
}

/* Queues a packet for the session: straight to the WebSocket when the session
 * is on one, else to the polling queue (waking a waiting GET). Returns 0,
 * -1 if the session is not open, -2 on overflow (the session is then closed). */
int eio__session_queue(eio_socket *s, uint8_t type, eio_message *msg, int probe)
{
    eio_server *srv = s->srv;
    if (s->state != EIO__S_OPEN || s->close_pending)
        return -1;
    size_t pending = s->outq_bytes + (s->ws ? s->ws->queued_bytes : 0);
    if (pending + out_cost(msg) > srv->opts.max_send_queue) {
        /* Closed at a safe point, not here: the caller may be walking a list
         * of receivers (a broadcast) that on_close would change. */
        if (!s->close_pending) {
            srv->stats.send_queue_overflows++;
            eio__log(srv, EIO_LOG_WARN,
                     "session %s: send queue over %zu bytes (client not reading): closing", s->id,
                     srv->opts.max_send_queue);
            s->close_pending = 1;
            s->refs++;
            s->pending_next = srv->pending_close;
            srv->pending_close = s;
        }
        return -2;
    }
    EIO__STATS_PACKET(srv->stats.packets_out, type);
    srv->stats.bytes_out += msg ? msg->len : probe ? 5 : 0;
    if (srv->debug & EIO__DBG_SOCKET) {
        char shown[160];
        eio__debug(EIO__DBG_SOCKET, "%s: sending packet \"%s\" (%s)", s->id,
                   eio_packet_type_name(type),
                   msg     ? eio_debug_data(shown, sizeof(shown), msg->data, msg->len, msg->binary)
                   : probe ? "probe"
                           : "");
    }
    if (s->transport == EIO_TRANSPORT_WEBSOCKET && s->ws)
        return eio__ws_send_packet(s->ws, type, msg, probe) == 0 ? 0 : -1;
    if (s->outq_len == s->outq_cap) {
        size_t cap = s->outq_cap ? s->outq_cap * 2 : 8;
        eio__out *q = eio_malloc(cap * sizeof(*q));
        for (size_t i = 0; i < s->outq_len; i++)
            q[i] = s->outq[(s->outq_head + i) % s->outq_cap];
        free(s->outq);
        s->outq = q;
        s->outq_cap = cap;
        s->outq_head = 0;
    }
    eio__out *o = &s->outq[(s->outq_head + s->outq_len) % s->outq_cap];
    o->type = type;
    o->probe = (uint8_t)probe;
    o->msg = msg ? eio_message_ref(msg) : NULL;
    s->outq_len++;
    s->outq_bytes += out_cost(msg);
    eio__poll_wake(s);
    return 0;
}

/* Closes the sessions whose send queue overflowed (lock held, at a point where
 * no caller is iterating over sessions). */
void eio__run_pending_closes(eio_server *srv)
{
    while (srv->pending_close) {
        eio_socket *s = srv->pending_close;
        srv->pending_close = s->pending_next;
        s->pending_next = NULL;
        if (s->state != EIO__S_CLOSED) {
            if (s->ws) {
                eio__ws_conn *c = s->ws;
                eio__ws_detach(c);
                eio__ws_close(c, 0, NULL); /* its queue is full: no close frame */
            }
            eio__session_close(s, "transport error");
        }
        eio__session_unref(s);
    }
}

/* After an upgrade: moves what waited for a GET onto the WebSocket, in order. */
void eio__session_flush_to_ws(eio_socket *s)
{
    for (size_t i = 0; i < s->outq_len; i++) {
        eio__out *o = &s->outq[(s->outq_head + i) % s->outq_cap];
        if (o->type != EIO_PACKET_CLOSE)
            eio__ws_send_packet(s->ws, o->type, o->msg, o->probe);
    }
    outq_clear(s);
}

static int ws_close_code_for(const char *reason)
{
    (void)reason;
    return EIO_WS_CLOSE_NORMAL;
}

void eio__session_close(eio_socket *s, const char *reason)
{
    eio_server *srv = s->srv;
    if (s->state == EIO__S_CLOSED)
        return;
    s->state = EIO__S_CLOSED;
    eio__timer_cancel(srv, &s->ping_timer);
    eio__timer_cancel(srv, &s->timeout_timer);
    eio__timer_cancel(srv, &s->close_timer);
    map_remove(srv, s);
    if (s->prev)
        s->prev->next = s->next;
    else
        srv->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    srv->n_sessions--;
    /* A waiting GET gets the close packet (an empty queue of a closed session). */
    outq_clear(s);
    eio__poll_wake(s);
    if (s->ws) {
        eio__ws_conn *c = s->ws;
        eio__ws_detach(c);
        eio__ws_close(c, strcmp(reason, "transport close") == 0 ? 0 : ws_close_code_for(reason),
                      NULL);
    }
    if (s->probe) {
        eio__ws_conn *c = s->probe;
        eio__ws_detach(c);
        eio__ws_close(c, EIO_WS_CLOSE_NORMAL, NULL);
    }
    eio__log(srv, EIO_LOG_DEBUG, "session %s closed: %s", s->id, reason);
    eio__stats_close(srv, reason);
    EIO__DEBUG(srv, EIO__DBG_SOCKET, "%s: socket closed with reason \"%s\"", s->id, reason);
    if (srv->cbs.on_close)
        srv->cbs.on_close(s, reason, srv->user_data);
    eio__session_unref(s);
}

/* A packet from the client, on the session's current transport. */
void eio__session_on_packet(eio_socket *s, const eio_packet *p)
{
    eio_server *srv = s->srv;
    if (s->state != EIO__S_OPEN)
        return;
    EIO__STATS_PACKET(srv->stats.packets_in, p->type);
    srv->stats.bytes_in += p->len;
    if (srv->debug & EIO__DBG_SOCKET) {
        char shown[160];
        eio__debug(EIO__DBG_SOCKET, "%s: received packet %s (%s)", s->id,
                   eio_packet_type_name(p->type),
                   eio_debug_data(shown, sizeof(shown), p->data, p->len, p->binary));
    }
    switch (p->type) {
    case EIO_PACKET_PING:
        if (s->version >= 4) {
            eio__log(srv, EIO_LOG_DEBUG, "session %s: invalid heartbeat direction", s->id);
            eio__session_close(s, "transport error");
            return;
        }
        EIO__DEBUG(srv, EIO__DBG_SOCKET, "%s: got ping", s->id);
        eio__timer_set(srv, &s->timeout_timer,
                       (uint64_t)srv->opts.ping_interval_ms + (uint64_t)srv->opts.ping_timeout_ms);
        eio__session_queue(s, EIO_PACKET_PONG, NULL, 0);
        break;
    case EIO_PACKET_PONG:
        if (s->version < 4) {
            eio__log(srv, EIO_LOG_DEBUG, "session %s: invalid heartbeat direction", s->id);
            eio__session_close(s, "transport error");
            return;
        }
        EIO__DEBUG(srv, EIO__DBG_SOCKET, "%s: got pong", s->id);
        eio__timer_cancel(srv, &s->timeout_timer);
        eio__timer_set(srv, &s->ping_timer, (uint64_t)srv->opts.ping_interval_ms);
        break;
    case EIO_PACKET_MESSAGE:
        if (srv->cbs.on_message)
            srv->cbs.on_message(s, p->data, p->len, p->binary, srv->user_data);
        break;
    case EIO_PACKET_CLOSE: eio__session_close(s, "transport close"); break;
    default:
        /* open, upgrade and noop from a client are ignored, as by Node */
        break;
    }
}

/* ---------------------------------------------------------------- public socket API */

const char *eio_socket_id(const eio_socket *s)
{
    return s->id;
}

int eio_socket_protocol(const eio_socket *s)
{
    return s->version;
}

int eio_socket_transport(const eio_socket *s)
{
    return s->transport;
}

const eio_request *eio_socket_request(const eio_socket *s)
{
    return &s->req;
}

void eio_socket_set_user_data(eio_socket *s, void *p)
{
    s->user_data = p;
}

void *eio_socket_get_user_data(const eio_socket *s)
{
    return s->user_data;
}

size_t eio_socket_queued_bytes(const eio_socket *s)
{
    return s->outq_bytes + (s->ws ? s->ws->queued_bytes : 0);
}

int eio_socket_writable(const eio_socket *s)
{
    if (s->state != EIO__S_OPEN)
        return 0;
    if (s->transport == EIO_TRANSPORT_WEBSOCKET)
        return s->ws && s->ws->queued_bytes == 0;
    return s->get_conn != NULL && s->outq_len == 0;
}

int eio_socket_send_message(eio_socket *s, eio_message *m)
{
    return eio__session_queue(s, EIO_PACKET_MESSAGE, m, 0);
}

int eio_socket_send(eio_socket *s, const void *data, size_t len, int binary)
{
    if (s->state != EIO__S_OPEN)
        return -1;
    eio_message *m = eio_message_new(data, len, binary);
    int r = eio_socket_send_message(s, m);
    eio_message_unref(m);
    return r;
}

void eio_socket_close(eio_socket *s)
{
    if (s->state != EIO__S_OPEN)
        return;
    if (s->transport == EIO_TRANSPORT_POLLING && (!s->get_conn || s->outq_len)) {
        /* As Node's socket.close(): what is queued drains first (to the
         * waiting GET, or the next one); the close packet goes to the GET
         * after that (with a noop: "6\x1e1"), or after closeTimeout (30 s) the
         * session is simply closed. A GET waiting on an empty queue gets the
         * close at once (Node's polling doClose while writable). */
        s->state = EIO__S_CLOSING;
        s->close_reason = "forced close";
        eio__timer_cancel(s->srv, &s->ping_timer);
        eio__timer_cancel(s->srv, &s->timeout_timer);
        eio__timer_set(s->srv, &s->close_timer, EIO__POLLING_CLOSE_TIMEOUT_MS);
        return;
    }
    eio__session_close(s, "forced close");
}

/* ---------------------------------------------------------------- messages */

eio_message *eio_message_new(const void *data, size_t len, int binary)
{
    eio_message *m = eio_malloc(sizeof(*m) + len + 1);
    m->refs = 1;
    m->binary = binary ? 1 : 0;
    m->ws_text = m->ws_bin_v4 = m->ws_bin_v3 = NULL;
    m->deflated = NULL;
    m->no_compress = 0;
    m->len = len;
    if (len)
        memcpy(m->data, data, len);
    m->data[len] = 0;
    return m;
}

eio_message *eio_message_ref(eio_message *m)
{
    __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
    return m;
}

void eio_message_unref(eio_message *m)
{
    if (!m || __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    eio_frame_unref(m->ws_text);
    eio_frame_unref(m->ws_bin_v4);
    eio_frame_unref(m->ws_bin_v3);
    if (m->deflated)
        eio__message_free_deflated(m);
    free(m);
}

void eio_message_set_compress(eio_message *m, int on)
{
    m->no_compress = !on;
}

void eio_http_response_free(eio_http_response *r)
{
    eio_buf_free(&r->body);
    eio_buf_free(&r->headers);
}
