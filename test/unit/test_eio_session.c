/*
 * Sessions and transports over a fake stream, on a fake clock: the engine's
 * state machines (HTTP framing on a connection, long-polling, heartbeats of
 * both versions, the upgrade with its probe, every close path) driven byte by
 * byte with no socket and no thread. The server is made with
 * eio__server_new_manual; each step runs under the engine lock, and the
 * unlock flushes what was queued, as on the loop.
 *
 * Threading: single thread. Ownership: each test frees its server; the fake
 * streams are freed by their connections, the peers (test side) by the test.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <zlib.h>

#include "engineio/eio_internal.h"
#include "test/unit/test.h"

/* ---------------------------------------------------------------- the fake stream */

typedef struct peer {
    eio_buf in; /* what the client sent, not yet read by the server */
    size_t in_off;
    eio_buf out; /* what the server wrote */
    int eof;     /* the client ended its side */
    int shut;    /* the server sent its FIN */
    int freed;   /* the server closed the stream */
    int limited; /* writes take at most budget bytes, then EIO_STREAM_AGAIN */
    size_t budget;
    int fail; /* writes fail (the peer is gone) */
} peer;

typedef struct fake_stream {
    eio_stream base;
    peer *p;
} fake_stream;

static long fake_read(eio_stream *st, void *buf, size_t len)
{
    peer *p = ((fake_stream *)st)->p;
    size_t avail = p->in.len - p->in_off;
    if (avail == 0)
        return p->eof ? 0 : EIO_STREAM_AGAIN;
    if (len > avail)
        len = avail;
    memcpy(buf, p->in.data + p->in_off, len);
    p->in_off += len;
    return (long)len;
}

static long fake_writev(eio_stream *st, const struct iovec *iov, int n)
{
    peer *p = ((fake_stream *)st)->p;
    long total = 0;
    if (p->fail)
        return EIO_STREAM_ERROR;
    if (p->limited && !p->budget)
        return EIO_STREAM_AGAIN;
    for (int i = 0; i < n; i++) {
        size_t len = iov[i].iov_len;
        if (p->limited && len > p->budget)
            len = p->budget;
        eio_buf_append(&p->out, iov[i].iov_base, len);
        total += (long)len;
        if (p->limited) {
            p->budget -= len;
            if (!p->budget)
                break;
        }
    }
    return total;
}

static void fake_shutdown(eio_stream *st)
{
    ((fake_stream *)st)->p->shut = 1;
}

static void fake_free(eio_stream *st)
{
    ((fake_stream *)st)->p->freed = 1;
    free(st);
}

static size_t fake_pending(eio_stream *st)
{
    (void)st;
    return 0;
}

static const eio_stream_ops fake_ops = {fake_read, fake_writev, fake_shutdown, fake_free,
                                        fake_pending};

/* ---------------------------------------------------------------- the harness */

typedef struct world {
    uint64_t now;
    eio_server *srv;
    eio_socket *last; /* the last session opened */
    char messages[1024];
    char closed[256]; /* close reasons, ';'-separated */
    peer *peers[32];  /* freed after the server (lingering connections write to them) */
    int n_peers;
} world;

static void on_connection(eio_socket *s, void *ud)
{
    ((world *)ud)->last = s;
}

static void on_message(eio_socket *s, const uint8_t *data, size_t len, int binary, void *ud)
{
    world *w = ud;
    (void)s;
    (void)binary;
    strncat(w->messages, "[", sizeof(w->messages) - strlen(w->messages) - 1);
    size_t have = strlen(w->messages);
    if (have + len + 2 < sizeof(w->messages)) {
        memcpy(w->messages + have, data, len);
        w->messages[have + len] = 0;
    }
    strncat(w->messages, "]", sizeof(w->messages) - strlen(w->messages) - 1);
}

static void on_close(eio_socket *s, const char *reason, void *ud)
{
    world *w = ud;
    if (w->last == s)
        w->last = NULL;
    if (strlen(w->closed) + strlen(reason) + 2 <= sizeof(w->closed)) { /* the first ones */
        strcat(w->closed, reason);
        strcat(w->closed, ";");
    }
}

static int g_write_threads; /* opts.write_threads of the next world (0: the default) */

static void world_init(world *w, int ping_interval, int ping_timeout)
{
    memset(w, 0, sizeof(*w));
    w->now = 1000000;
    eio_options o;
    eio_options_default(&o);
    o.ping_interval_ms = ping_interval;
    o.ping_timeout_ms = ping_timeout;
    o.log_level = EIO_LOG_ERROR;
    o.write_threads = g_write_threads;
    eio_callbacks cb = {
        .on_connection = on_connection, .on_message = on_message, .on_close = on_close};
    w->srv = eio__server_new_manual(&o, &cb, w, &w->now);
}

static void peer_free(peer *p)
{
    eio_buf_free(&p->in);
    eio_buf_free(&p->out);
    free(p);
}

static void world_free(world *w)
{
    eio_server_free(w->srv);
    for (int i = 0; i < w->n_peers; i++)
        peer_free(w->peers[i]);
}

static eio__conn *connect_peer(world *w, peer **pp)
{
    peer *p = calloc(1, sizeof(*p));
    *pp = p;
    if (w->n_peers < 32)
        w->peers[w->n_peers++] = p;
    fake_stream *st = calloc(1, sizeof(*st));
    st->base.ops = &fake_ops;
    st->base.fd = -1;
    st->p = p;
    eio_server_lock(w->srv);
    eio__conn *c = eio__conn_accept(w->srv, &st->base, NULL);
    eio_server_unlock(w->srv);
    return c;
}

/* The client sends bytes; the server reads them (one event). */
static void send_bytes(world *w, eio__conn *c, peer *p, const void *data, size_t len)
{
    eio_buf_append(&p->in, data, len);
    eio_server_lock(w->srv);
    if (!p->freed)
        eio__conn_handle_event(c, EPOLLIN);
    eio_server_unlock(w->srv);
}

static void send_str(world *w, eio__conn *c, peer *p, const char *s)
{
    send_bytes(w, c, p, s, strlen(s));
}

static void advance(world *w, uint64_t ms)
{
    w->now += ms;
    eio_server_lock(w->srv);
    eio__run_timers(w->srv);
    eio_server_unlock(w->srv);
}

/* What the server wrote since the last call, as a string (taken). */
static char *take(peer *p)
{
    char *s = malloc(p->out.len + 1);
    memcpy(s, p->out.data ? (const char *)p->out.data : "", p->out.len);
    s[p->out.len] = 0;
    eio_buf_reset(&p->out);
    return s;
}

/* The body of the one HTTP response in s ("" if none). */
static const char *body_of(const char *s)
{
    const char *b = strstr(s, "\r\n\r\n");
    return b ? b + 4 : "";
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A polling handshake on its own connection; the sid goes to sid. */
static void handshake(world *w, int version, char sid[21])
{
    peer *p;
    eio__conn *c = connect_peer(w, &p);
    send_str(w, c, p,
             version == 4 ? "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"
                          : "GET /engine.io/?EIO=3&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n");
    char *r = take(p);
    const char *q = strstr(r, "\"sid\":\"");
    sid[0] = 0;
    if (q)
        snprintf(sid, 21, "%.20s", q + 7);
    free(r);
}

static void request(char *out, size_t outlen, const char *method, const char *sid,
                    const char *extra_headers, const char *body)
{
    snprintf(out, outlen,
             "%s /engine.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\n%s"
             "Content-Length: %zu\r\n\r\n%s",
             method, sid, extra_headers, body ? strlen(body) : 0, body ? body : "");
}

/* A client WebSocket frame: masked with a zero key (payload unchanged). */
static size_t ws_frame(uint8_t *out, const char *text)
{
    size_t len = strlen(text);
    out[0] = 0x81;
    out[1] = (uint8_t)(0x80 | len);
    memset(out + 2, 0, 4);
    memcpy(out + 6, text, len);
    return len + 6;
}

/* ---------------------------------------------------------------- tests */

static void test_handshake_and_keep_alive(void)
{
    world w;
    world_init(&w, 25000, 20000);
    peer *p;
    eio__conn *c = connect_peer(&w, &p);
    send_str(&w, c, p, "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n");
    char *r = take(p);
    CHECK(starts(r, "HTTP/1.1 200 OK\r\n"));
    CHECK(strstr(r, "Connection: keep-alive\r\n") != NULL);
    CHECK(starts(body_of(r), "0{\"sid\":\""));
    CHECK(w.last != NULL);
    free(r);
    /* The same connection carries the next request. */
    send_str(&w, c, p, "GET /engine.io/?EIO=4&transport=nope HTTP/1.1\r\nHost: x\r\n\r\n");
    r = take(p);
    CHECK(starts(r, "HTTP/1.1 400 Bad Request\r\n"));
    /* Framed chunked, as Node frames its error answers. */
    CHECK(strstr(r, "Transfer-Encoding: chunked\r\n") != NULL);
    CHECK(strcmp(body_of(r), "28\r\n{\"code\":0,\"message\":\"Transport unknown\"}\r\n0\r\n\r\n") ==
          0);
    CHECK(!p->shut);
    free(r);
    world_free(&w);
}

static void test_connection_close_and_http10(void)
{
    world w;
    world_init(&w, 25000, 20000);
    peer *p;
    eio__conn *c = connect_peer(&w, &p);
    send_str(
        &w, c, p,
        "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    char *r = take(p);
    CHECK(strstr(r, "Connection: close\r\n") != NULL);
    CHECK(p->shut); /* FIN after the response */
    free(r);
    c = connect_peer(&w, &p);
    send_str(&w, c, p, "GET /engine.io/?EIO=4&transport=polling HTTP/1.0\r\n\r\n");
    r = take(p);
    CHECK(strstr(r, "Connection: close\r\n") != NULL);
    CHECK(p->shut);
    free(r);
    c = connect_peer(&w, &p);
    send_str(&w, c, p,
             "GET /engine.io/?EIO=4&transport=polling HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    r = take(p);
    CHECK(strstr(r, "Connection: keep-alive\r\n") != NULL);
    CHECK(!p->shut);
    free(r);
    world_free(&w);
}

static void test_long_poll_parks_and_wakes(void)
{
    world w;
    world_init(&w, 25000, 20000);
    char sid[21], req[512];
    handshake(&w, 4, sid);
    peer *g;
    eio__conn *gc = connect_peer(&w, &g);
    request(req, sizeof(req), "GET", sid, "", NULL);
    send_str(&w, gc, g, req);
    CHECK_EQ_INT(g->out.len, 0); /* parked: nothing to send yet */
    eio_server_lock(w.srv);
    eio_socket_send(w.last, "one", 3, 0);
    eio_socket_send(w.last, "two", 3, 0);
    eio_server_unlock(w.srv); /* the flush answers the GET with both */
    char *r = take(g);
    CHECK(strcmp(body_of(r), "4one\x1e"
                             "4two") == 0);
    free(r);
    world_free(&w);
}

static void test_post_delivers_and_get_gets_echo_in_order(void)
{
    world w;
    world_init(&w, 25000, 20000);
    char sid[21], req[512];
    handshake(&w, 4, sid);
    peer *g, *p;
    eio__conn *gc = connect_peer(&w, &g);
    eio__conn *pc = connect_peer(&w, &p);
    request(req, sizeof(req), "GET", sid, "", NULL);
    send_str(&w, gc, g, req); /* the GET first */
    request(req, sizeof(req), "POST", sid, "Content-Type: text/plain\r\n",
            "4abc\x1e"
            "4def");
    send_str(&w, pc, p, req); /* then the POST */
    char *r = take(p);
    CHECK(starts(r, "HTTP/1.1 200 OK\r\n"));
    CHECK(strcmp(body_of(r), "ok") == 0);
    free(r);
    CHECK(strcmp(w.messages, "[abc][def]") == 0);
    world_free(&w);
}

static void test_chunked_post_byte_by_byte(void)
{
    world w;
    world_init(&w, 25000, 20000);
    char sid[21], req[512];
    handshake(&w, 4, sid);
    peer *p;
    eio__conn *pc = connect_peer(&w, &p);
    snprintf(req, sizeof(req),
             "POST /engine.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\n"
             "Transfer-Encoding: chunked\r\n\r\n2;ext=1\r\n4h\r\n3\r\ni!x\r\n0\r\nT: v\r\n\r\n",
             sid);
    for (const char *q = req; *q; q++)
        send_bytes(&w, pc, p, q, 1);
    char *r = take(p);
    CHECK(strcmp(body_of(r), "ok") == 0);
    CHECK(strcmp(w.messages, "[hi!x]") == 0);
    free(r);
    world_free(&w);
}

static void test_smuggling_refused(void)
{
    world w;
    world_init(&w, 25000, 20000);
    static const char *const bad[] = {
        "POST /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nContent-Length: 1\r\n"
        "Content-Length: 1\r\n\r\nx",
        "POST /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nContent-Length: 2e1\r\n\r\nxx",
        "POST /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nContent-Length: 3\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        peer *p;
        eio__conn *c = connect_peer(&w, &p);
        send_str(&w, c, p, bad[i]);
        char *r = take(p);
        CHECK(starts(r, "HTTP/1.1 400 Bad Request\r\n"));
        CHECK(strstr(r + 1, "HTTP/1.1") == NULL); /* one response, nothing smuggled */
        CHECK(p->shut);
        free(r);
    }
    world_free(&w);
}

static void test_headers_timeout(void)
{
    world w;
    world_init(&w, 25000, 20000);
    peer *p;
    eio__conn *c = connect_peer(&w, &p);
    send_str(&w, c, p, "GET /engine.io/?EIO=4&tra");
    advance(&w, 59999);
    CHECK_EQ_INT(p->out.len, 0);
    advance(&w, 2);
    char *r = take(p);
    CHECK(starts(r, "HTTP/1.1 408 Request Timeout\r\n"));
    free(r);
    world_free(&w);
}

static void test_heartbeat_v4(void)
{
    world w;
    world_init(&w, 1000, 500);
    char sid[21], req[512];
    handshake(&w, 4, sid);
    peer *g;
    eio__conn *gc = connect_peer(&w, &g);
    request(req, sizeof(req), "GET", sid, "", NULL);
    send_str(&w, gc, g, req);
    advance(&w, 1000); /* pingInterval: the server pings */
    char *r = take(g);
    CHECK(strcmp(body_of(r), "2") == 0);
    free(r);
    peer *p;
    eio__conn *pc = connect_peer(&w, &p);
    request(req, sizeof(req), "POST", sid, "", "3");
    send_str(&w, pc, p, req); /* pong in time */
    free(take(p));
    advance(&w, 999);
    CHECK(strcmp(w.closed, "") == 0);
    advance(&w, 1); /* the next ping, then no pong */
    advance(&w, 500);
    CHECK(strcmp(w.closed, "ping timeout;") == 0);
    world_free(&w);
}

static void test_heartbeat_v3(void)
{
    world w;
    world_init(&w, 1000, 500);
    char sid[21], req[512];
    handshake(&w, 3, sid);
    peer *p;
    eio__conn *pc = connect_peer(&w, &p);
    advance(&w, 1400);
    snprintf(req, sizeof(req),
             "POST /engine.io/?EIO=3&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\n"
             "Content-Type: text/plain\r\nContent-Length: 3\r\n\r\n1:2",
             sid);
    send_str(&w, pc, p, req); /* the client's ping restarts the wait */
    free(take(p));
    advance(&w, 1499);
    CHECK(strcmp(w.closed, "") == 0);
    advance(&w, 1);
    CHECK(strcmp(w.closed, "ping timeout;") == 0);
    world_free(&w);
}

static void upgrade_request(char *out, size_t len, const char *sid)
{
    snprintf(out, len,
             "GET /engine.io/?EIO=4&transport=websocket&sid=%s HTTP/1.1\r\nHost: x\r\n"
             "Connection: Upgrade\r\nUpgrade: websocket\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
             sid);
}

static void test_upgrade_keeps_order(void)
{
    world w;
    world_init(&w, 25000, 20000);
    char sid[21], req[512];
    uint8_t f[64];
    handshake(&w, 4, sid);
    peer *g, *ws;
    eio__conn *gc = connect_peer(&w, &g);
    request(req, sizeof(req), "GET", sid, "", NULL);
    send_str(&w, gc, g, req); /* parked */
    eio__conn *wc = connect_peer(&w, &ws);
    upgrade_request(req, sizeof(req), sid);
    send_str(&w, wc, ws, req);
    char *r = take(ws);
    CHECK(starts(r, "HTTP/1.1 101 Switching Protocols\r\n"));
    CHECK(strstr(r, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != NULL);
    free(r);
    send_bytes(&w, wc, ws, f, ws_frame(f, "2probe"));
    r = take(ws);
    CHECK(memcmp(r,
                 "\x81\x06"
                 "3probe",
                 8) == 0);
    free(r);
    r = take(g);
    CHECK(strcmp(body_of(r), "6") == 0); /* the waiting GET ends with a noop */
    free(r);
    eio_server_lock(w.srv);
    eio_socket_send(w.last, "queued", 6, 0); /* while upgrading: kept for the WebSocket */
    eio_server_unlock(w.srv);
    CHECK_EQ_INT(ws->out.len, 0);
    send_bytes(&w, wc, ws, f, ws_frame(f, "5"));
    CHECK_EQ_INT(eio_socket_transport(w.last), EIO_TRANSPORT_WEBSOCKET);
    r = take(ws);
    CHECK(memcmp(r,
                 "\x81\x07"
                 "4queued",
                 9) == 0);
    free(r);
    send_bytes(&w, wc, ws, f, ws_frame(f, "4hey"));
    CHECK(strcmp(w.messages, "[hey]") == 0);
    /* A polling request for the upgraded session is refused. */
    peer *late;
    eio__conn *lc = connect_peer(&w, &late);
    request(req, sizeof(req), "GET", sid, "", NULL);
    send_str(&w, lc, late, req);
    r = take(late);
    CHECK(starts(r, "HTTP/1.1 400 Bad Request\r\n"));
    free(r);
    world_free(&w);
}

static void test_probe_timeout_keeps_session(void)
{
    world w;
    world_init(&w, 25000, 20000);
    char sid[21], req[512];
    uint8_t f[64];
    handshake(&w, 4, sid);
    peer *ws;
    eio__conn *wc = connect_peer(&w, &ws);
    upgrade_request(req, sizeof(req), sid);
    send_str(&w, wc, ws, req);
    send_bytes(&w, wc, ws, f, ws_frame(f, "2probe"));
    free(take(ws));
    advance(&w, 10000); /* upgradeTimeout without "5" */
    char *r = take(ws);
    CHECK(r[0] == (char)0x88); /* the probe gets a close frame */
    free(r);
    CHECK(w.last != NULL);
    CHECK_EQ_INT(eio_socket_transport(w.last), EIO_TRANSPORT_POLLING);
    CHECK(strcmp(w.closed, "") == 0);
    world_free(&w);
}

static void test_close_paths(void)
{
    world w;
    world_init(&w, 25000, 20000);
    char sid[21], req[512];
    /* Closed while a GET waits on an empty queue: the GET gets the close. */
    handshake(&w, 4, sid);
    peer *g;
    eio__conn *gc = connect_peer(&w, &g);
    request(req, sizeof(req), "GET", sid, "", NULL);
    send_str(&w, gc, g, req);
    eio_server_lock(w.srv);
    eio_socket_close(w.last);
    eio_server_unlock(w.srv);
    char *r = take(g);
    CHECK(strcmp(body_of(r), "1") == 0);
    CHECK(strcmp(w.closed, "forced close;") == 0);
    free(r);
    /* Closed with packets queued: they drain first, then "noop, close". */
    w.closed[0] = 0;
    handshake(&w, 4, sid);
    gc = connect_peer(&w, &g);
    request(req, sizeof(req), "GET", sid, "", NULL);
    send_str(&w, gc, g, req);
    eio_server_lock(w.srv);
    eio_socket_send(w.last, "bye", 3, 0);
    eio_socket_close(w.last);
    eio_server_unlock(w.srv);
    r = take(g);
    CHECK(strcmp(body_of(r), "4bye") == 0);
    free(r);
    send_str(&w, gc, g, req);
    r = take(g);
    CHECK(strcmp(body_of(r), "6\x1e"
                             "1") == 0);
    CHECK(strcmp(w.closed, "forced close;") == 0);
    free(r);
    /* A client that hangs up while its GET waits: "transport error". */
    w.closed[0] = 0;
    handshake(&w, 4, sid);
    gc = connect_peer(&w, &g);
    request(req, sizeof(req), "GET", sid, "", NULL);
    send_str(&w, gc, g, req);
    g->eof = 1;
    send_str(&w, gc, g, "");
    CHECK(strcmp(w.closed, "transport error;") == 0);
    CHECK(g->freed);
    world_free(&w);
}

/* ---------------------------------------------------------------- parallel flush */

/* A flush with many connections to write is shared with writer threads
 * (opts.write_threads): every frame arrives, in order; a stream that takes
 * part and then says AGAIN keeps the rest for EPOLLOUT; a stream that fails
 * closes its session; the others do not notice either. */
/* A world with write_threads writers and n WebSocket sessions (EIO=4). */
static void ws_world(world *w, int write_threads, int n, peer **ps, eio__conn **cs, eio_socket **ss)
{
    g_write_threads = write_threads;
    world_init(w, 25000, 20000);
    g_write_threads = 0;
    for (int i = 0; i < n; i++) {
        cs[i] = connect_peer(w, &ps[i]);
        send_str(
            w, cs[i], ps[i],
            "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
            "Connection: Upgrade\r\nUpgrade: websocket\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        ss[i] = w->last;
        free(take(ps[i]));
    }
    CHECK(ss[n - 1] != NULL && ss[0] != ss[n - 1]);
}

static void test_parallel_flush(void)
{
    enum { N = 100 };
    world w;
    peer *ps[N];
    eio__conn *cs[N];
    eio_socket *ss[N];
    ws_world(&w, 3, N, ps, cs, ss);
    ps[5]->limited = 1;
    ps[5]->budget = 3;
    ps[7]->fail = 1;
    for (int round = 0; round < 3; round++) {
        eio_server_lock(w.srv);
        for (int i = 0; i < N; i++) {
            if (i == 7 && round > 0)
                continue; /* closed */
            eio_socket_send(ss[i], "hello", 5, 0);
            eio_socket_send(ss[i], "world", 5, 0);
        }
        eio_server_unlock(w.srv); /* the flush: 100 connections */
    }
    static const char two[] = "\x81\x06"
                              "4hello"
                              "\x81\x06"
                              "4world";
    int all_ok = 1;
    for (int i = 0; i < N; i++) {
        if (i == 5 || i == 7)
            continue;
        if (ps[i]->out.len != 3 * 16)
            all_ok = 0;
        for (size_t k = 0; all_ok && k < 3; k++)
            if (memcmp(ps[i]->out.data + 16 * k, two, 16) != 0)
                all_ok = 0;
    }
    CHECK(all_ok);
    CHECK_EQ_INT(w.srv->parallel_flushes, 3); /* each round's flush went to the writers */
    CHECK_EQ_INT(ps[5]->out.len, 3);
    CHECK(ps[7]->freed);
    CHECK(strstr(w.closed, "transport") != NULL);
    /* The socket takes everything now: the rest follows on EPOLLOUT. */
    ps[5]->limited = 0;
    eio_server_lock(w.srv);
    eio__conn_handle_event(cs[5], EPOLLOUT);
    eio_server_unlock(w.srv);
    CHECK_EQ_INT(ps[5]->out.len, 3 * 16);
    CHECK(memcmp(ps[5]->out.data + 32, two, 16) == 0);
    CHECK(!ps[5]->freed);
    world_free(&w);
    for (int i = 32; i < N; i++) /* the world frees the first 32 */
        peer_free(ps[i]);
}

/* A client frame masked with the key 01 02 03 04; first is its first byte
 * (FIN, opcode). */
static size_t ws_masked(uint8_t *out, uint8_t first, const void *payload, size_t len)
{
    static const uint8_t key[4] = {1, 2, 3, 4};
    out[0] = first;
    out[1] = (uint8_t)(0x80 | len);
    memcpy(out + 2, key, 4);
    for (size_t i = 0; i < len; i++)
        out[6 + i] = ((const uint8_t *)payload)[i] ^ key[i & 3];
    return len + 6;
}

/* The WebSocket frames of a batch of at least 32 readable connections are
 * read and parsed by the writers (eio__ws_preparse), then acted on by the
 * lock holder in order: messages, a fragmented one, pings, a close, a
 * protocol error, each as the one-thread path does. */
static void test_parallel_parse(void)
{
    enum { N = 40 };
    world w;
    peer *ps[N];
    eio__conn *cs[N];
    eio_socket *ss[N];
    ws_world(&w, 2, N, ps, cs, ss);
    char expect[1024] = "", one[32];
    uint8_t buf[256];
    for (int i = 0; i < N; i++) {
        size_t n = 0;
        char text[16];
        snprintf(text, sizeof(text), "4m%d", i);
        n += ws_masked(buf + n, 0x81, text, strlen(text));
        snprintf(one, sizeof(one), "[m%d]", i);
        strcat(expect, one);
        switch (i % 4) {
        case 0: /* a ping between two messages */
            n += ws_masked(buf + n, 0x89, "p", 1);
            n += ws_masked(buf + n, 0x81, "4b", 2);
            strcat(expect, "[b]");
            break;
        case 1: /* a message in two fragments, then one more */
            n += ws_masked(buf + n, 0x01, "4f", 2);
            n += ws_masked(buf + n, 0x80, "g", 1);
            n += ws_masked(buf + n, 0x81, "4c", 2);
            strcat(expect, "[fg][c]");
            break;
        case 2: /* an unmasked frame: 1002, what follows is not read */
            memcpy(buf + n,
                   "\x81\x02"
                   "4z",
                   4);
            n += 4;
            n += ws_masked(buf + n, 0x81, "4y", 2);
            break;
        case 3: /* a close, and a message after it that does not count */
            n += ws_masked(buf + n, 0x88, "\x03\xe8", 2);
            n += ws_masked(buf + n, 0x81, "4y", 2);
            break;
        }
        if (i == N - 1) /* the last one's second frame comes later: half now */
            n -= 3;
        eio_buf_append(&ps[i]->in, buf, n);
    }
    uint32_t evs[N];
    for (int i = 0; i < N; i++)
        evs[i] = EPOLLIN;
    w.messages[0] = 0;
    w.closed[0] = 0;
    eio_server_lock(w.srv);
    uint64_t reads0 = w.srv->parallel_reads;
    eio__conn_preread(w.srv, cs, evs, N);
    for (int i = 0; i < N; i++)
        eio__conn_handle_event(cs[i], EPOLLIN);
    eio_server_unlock(w.srv);
    CHECK_EQ_INT(w.srv->parallel_reads, reads0 + 1);
    CHECK(w.srv->preparsed_items >= (uint64_t)N);
    /* the last connection's rest: the one-thread path takes it on */
    send_bytes(&w, cs[N - 1], ps[N - 1], buf + ws_masked(buf, 0x81, "4y", 2) - 3, 3);
    CHECK(strcmp(w.messages, expect) == 0);
    if (strcmp(w.messages, expect) != 0)
        fprintf(stderr, "# got %s\n# want %s\n", w.messages, expect);
    int ok = 1;
    for (int i = 0; i < N; i++) {
        const uint8_t *o = ps[i]->out.data;
        size_t len = ps[i]->out.len;
        if (i % 4 == 0)
            ok &= len == 3 && memcmp(o, "\x8a\x01p", 3) == 0; /* the pong */
        if (i % 4 == 2)
            ok &= len >= 4 && o[0] == 0x88 && o[2] == 0x03 && o[3] == 0xea; /* 1002 */
        if (i % 4 == 3)
            ok &= len == 4 && memcmp(o, "\x88\x02\x03\xe8", 4) == 0; /* 1000 back */
    }
    CHECK(ok);
    CHECK(strstr(w.closed, "transport error") != NULL);
    CHECK(strstr(w.closed, "transport close") != NULL);
    world_free(&w);
    for (int i = 32; i < N; i++) /* the world frees the first 32 */
        peer_free(ps[i]);
}

/* ---------------------------------------------------------------- httpCompression */

/* Splits the one response in p->out (taken) into its head (NUL-terminated,
 * in head) and its body bytes, de-chunked when the head says chunked. */
static void take_response(peer *p, char *head, size_t head_size, eio_buf *body)
{
    eio_buf_reset(body);
    const uint8_t *d = p->out.data;
    size_t n = p->out.len, h = 0;
    while (h + 4 <= n && memcmp(d + h, "\r\n\r\n", 4) != 0)
        h++;
    h = h + 4 <= n ? h + 4 : n;
    snprintf(head, head_size, "%.*s", (int)h, (const char *)d);
    if (strstr(head, "Transfer-Encoding: chunked\r\n")) {
        eio_http_chunked ch;
        eio_http_chunked_init(&ch);
        eio_buf_append(body, d + h, n - h);
        size_t len = body->len;
        int done = 0;
        long used = eio_http_chunked_decode(&ch, body->data, &len, &done);
        CHECK(used == (long)(n - h) && done);
        body->len = len;
    } else {
        eio_buf_append(body, d + h, n - h);
    }
    eio_buf_reset(&p->out);
}

/* A GET on the session with these extra headers, answered at once (a packet
 * of len bytes queued first): its head and body. */
static void get_with(world *w, const char *sid, const char *version, const char *headers,
                     size_t len, char *head, size_t head_size, eio_buf *body)
{
    char *msg = malloc(len);
    for (size_t i = 0; i < len; i++)
        msg[i] = (char)('a' + i % 7);
    eio_server_lock(w->srv);
    eio_socket_send(w->last, msg, len, 0);
    eio_server_unlock(w->srv);
    free(msg);
    peer *g;
    eio__conn *gc = connect_peer(w, &g);
    char req[512];
    snprintf(req, sizeof(req), "GET /engine.io/?EIO=4&transport=polling&sid=%s HTTP/%s\r\n%s\r\n",
             sid, version, headers);
    send_str(w, gc, g, req);
    take_response(g, head, head_size, body);
}

static int inflate_to(int gzip, const eio_buf *in, eio_buf *out)
{
    z_stream z = {0};
    if (inflateInit2(&z, 15 + (gzip ? 16 : 0)) != Z_OK)
        return -1;
    z.next_in = in->data;
    z.avail_in = (uInt)in->len;
    uint8_t *dst = eio_buf_reserve(out, 1 << 20);
    z.next_out = dst;
    z.avail_out = 1 << 20;
    int r = inflate(&z, Z_FINISH);
    eio_buf_advance(out, (size_t)(z.next_out - dst));
    inflateEnd(&z);
    return r == Z_STREAM_END ? 0 : -1;
}

/* The payload of one message of len bytes, as get_with queues it. */
static int is_payload(const eio_buf *b, size_t len)
{
    if (b->len != len + 1 || b->data[0] != '4')
        return 0;
    for (size_t i = 0; i < len; i++)
        if (b->data[1 + i] != (uint8_t)('a' + i % 7))
            return 0;
    return 1;
}

static void test_polling_compression(void)
{
    world w;
    world_init(&w, 25000, 20000);
    char sid[21], head[2048];
    eio_buf body = EIO_BUF_INIT, plain = EIO_BUF_INIT;
    handshake(&w, 4, sid);
    /* gzip above the threshold: Content-Encoding, chunked (no Content-Length), no Vary. */
    get_with(&w, sid, "1.1", "Host: x\r\nAccept-Encoding: gzip, deflate\r\n", 3000, head,
             sizeof(head), &body);
    CHECK(starts(head, "HTTP/1.1 200 OK\r\n"));
    CHECK(strstr(head, "Content-Encoding: gzip\r\n") != NULL);
    CHECK(strstr(head, "Content-Length") == NULL && strstr(head, "Vary") == NULL);
    CHECK(strstr(head, "Content-Type: text/plain; charset=UTF-8\r\n") != NULL);
    CHECK(body.len < 200);
    CHECK_EQ_INT(inflate_to(1, &body, &plain), 0);
    CHECK(is_payload(&plain, 3000));
    /* deflate first in the header: deflate (a zlib stream). */
    eio_buf_reset(&plain);
    get_with(&w, sid, "1.1", "Host: x\r\nAccept-Encoding: deflate, gzip\r\n", 3000, head,
             sizeof(head), &body);
    CHECK(strstr(head, "Content-Encoding: deflate\r\n") != NULL);
    CHECK_EQ_INT(inflate_to(0, &body, &plain), 0);
    CHECK(is_payload(&plain, 3000));
    /* The threshold counts the payload's bytes: 1023 + "4" is compressed, 1022 + "4" not. */
    get_with(&w, sid, "1.1", "Host: x\r\nAccept-Encoding: gzip\r\n", 1023, head, sizeof(head),
             &body);
    CHECK(strstr(head, "Content-Encoding: gzip\r\n") != NULL);
    get_with(&w, sid, "1.1", "Host: x\r\nAccept-Encoding: gzip\r\n", 1022, head, sizeof(head),
             &body);
    CHECK(strstr(head, "Content-Encoding") == NULL);
    CHECK(strstr(head, "Content-Length: 1023\r\n") != NULL);
    CHECK(is_payload(&body, 1022));
    /* No Accept-Encoding, identity only, or gzip refused: as it is. */
    static const char *const refused[] = {"Host: x\r\n", "Host: x\r\nAccept-Encoding: identity\r\n",
                                          "Host: x\r\nAccept-Encoding: gzip;q=0, br\r\n"};
    for (size_t i = 0; i < 3; i++) {
        get_with(&w, sid, "1.1", refused[i], 3000, head, sizeof(head), &body);
        CHECK(strstr(head, "Content-Encoding") == NULL);
        CHECK(is_payload(&body, 3000));
    }
    /* Two Accept-Encoding headers count as one list, as Node joins them. */
    get_with(&w, sid, "1.1", "Host: x\r\nAccept-Encoding: br\r\nAccept-Encoding: deflate\r\n", 3000,
             head, sizeof(head), &body);
    CHECK(strstr(head, "Content-Encoding: deflate\r\n") != NULL);
    /* HTTP/1.0 cannot read chunks: unframed, and the connection closes. */
    eio_buf_reset(&plain);
    get_with(&w, sid, "1.0", "Accept-Encoding: gzip\r\nConnection: keep-alive\r\n", 3000, head,
             sizeof(head), &body);
    CHECK(strstr(head, "Content-Encoding: gzip\r\n") != NULL);
    CHECK(strstr(head, "Transfer-Encoding") == NULL && strstr(head, "Content-Length") == NULL);
    CHECK(strstr(head, "Connection: close\r\n") != NULL);
    CHECK_EQ_INT(inflate_to(1, &body, &plain), 0);
    CHECK(is_payload(&plain, 3000));
    /* Off: never compressed. */
    w.srv->opts.http_compression = 0;
    get_with(&w, sid, "1.1", "Host: x\r\nAccept-Encoding: gzip\r\n", 3000, head, sizeof(head),
             &body);
    CHECK(strstr(head, "Content-Encoding") == NULL);
    CHECK(is_payload(&body, 3000));
    eio_buf_free(&body);
    eio_buf_free(&plain);
    world_free(&w);
}

/* Names handed to the backend (serveClient's bundle) are not Engine.IO
 * requests; other names under the path still are; upgrades stay the engine's. */
static void test_backend_names(void)
{
    world w;
    world_init(&w, 25000, 20000);
    eio_server_add_backend_name(w.srv, "socket.io.js");
    peer *p;
    eio__conn *c = connect_peer(&w, &p);
    /* No backend in this test: the name gets the engine's 404, not its 400. */
    send_str(&w, c, p, "GET /engine.io/socket.io.js?v=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    char *r = take(p);
    CHECK(starts(r, "HTTP/1.1 404 Not Found\r\n"));
    free(r);
    send_str(&w, c, p,
             "POST /engine.io/socket.io.js HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    r = take(p);
    CHECK(starts(r, "HTTP/1.1 404 Not Found\r\n"));
    free(r);
    static const char *const engine_names[] = {
        "/engine.io/socket.io.js.map", "/engine.io/socket.io.jsx", "/engine.io/x/socket.io.js",
        "/engine.io/socket%2Eio.js"};
    for (size_t i = 0; i < 4; i++) {
        char req[256];
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", engine_names[i]);
        send_str(&w, c, p, req);
        r = take(p);
        CHECK(starts(r, "HTTP/1.1 400 Bad Request\r\n"));
        CHECK(strstr(r, "Transport unknown") != NULL);
        free(r);
    }
    /* A WebSocket upgrade on the name: the engine's refusal, as in Node. */
    send_str(&w, c, p,
             "GET /engine.io/socket.io.js HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n");
    r = take(p);
    CHECK(starts(r, "HTTP/1.1 400 Bad Request\r\n"));
    CHECK(strcmp(body_of(r), "Transport unknown") == 0);
    free(r);
    /* With CORS, its preflight is answered here. */
    eio_server_set_http(w.srv, "/engine.io/", "*", 0);
    c = connect_peer(&w, &p);
    send_str(&w, c, p,
             "OPTIONS /engine.io/socket.io.js HTTP/1.1\r\nHost: x\r\nOrigin: http://a\r\n"
             "Access-Control-Request-Method: GET\r\n\r\n");
    r = take(p);
    CHECK(starts(r, "HTTP/1.1 204 No Content\r\n"));
    CHECK(strstr(r, "Access-Control-Allow-Origin: *\r\n") != NULL);
    free(r);
    world_free(&w);
}

int main(void)
{
    RUN_TEST(test_handshake_and_keep_alive);
    RUN_TEST(test_connection_close_and_http10);
    RUN_TEST(test_long_poll_parks_and_wakes);
    RUN_TEST(test_post_delivers_and_get_gets_echo_in_order);
    RUN_TEST(test_chunked_post_byte_by_byte);
    RUN_TEST(test_smuggling_refused);
    RUN_TEST(test_headers_timeout);
    RUN_TEST(test_heartbeat_v4);
    RUN_TEST(test_heartbeat_v3);
    RUN_TEST(test_upgrade_keeps_order);
    RUN_TEST(test_probe_timeout_keeps_session);
    RUN_TEST(test_close_paths);
    RUN_TEST(test_parallel_flush);
    RUN_TEST(test_parallel_parse);
    RUN_TEST(test_polling_compression);
    RUN_TEST(test_backend_names);
    return TEST_SUMMARY();
}
