/*
 * loadgen: the Socket.IO load generator of the benchmark (bench/run.sh).
 *
 * One thread, one epoll set, non-blocking sockets to 127.0.0.1. It speaks
 * Engine.IO v4 / Socket.IO v5 itself: WebSocket straight away
 * (GET /socket.io/?EIO=4&transport=websocket, masked client frames) or HTTP
 * long-polling (the pollecho scenario). Constant frames are built once; frames
 * that carry an ack id or a timestamp are framed into a static buffer: nothing
 * is allocated per message. Received frames are parsed as a stream: only the
 * first PRE_MAX bytes of each message are kept, the rest is skipped.
 *
 * The server contract (bench/server.c, bench/node-ref/server.js), namespace /:
 *   echo(...args, ack) acks with its arguments; join(room, ack) joins and acks;
 *   broadcast(room, payload, ack) emits "bcast" with payload to room and acks.
 * Payloads carry the send time (microseconds since the generator started):
 *   echo:      42<id>["echo",<t>]                       ack 43<id>[<t>]
 *   broadcast: 42<id>["broadcast","bench","<seq>:<t>:<pad>"] -> 42["bcast","<seq>:<t>:<pad>"]
 *
 * Scenarios (each prints ONE line of key=value results on stdout):
 *   connect N [--hold S]           N idle clients connected and held S seconds (5)
 *   echo C D                       C clients, event + ack back to back, D seconds
 *   fanout N R [--payload B]       N clients in one room, R broadcasts one at a time
 *   handshake D [--concurrency C]  connect + namespace connect + close, D seconds
 *   slow K N [--secs D] [--payload B]
 *                                  fan-out to N clients for D s; then K of them stop
 *                                  reading for D s more; then they are drained
 *   pollecho C D                   as echo, over HTTP long-polling
 * Codec and extension flags (WebSocket scenarios): --msgpack speaks the
 * socket.io-msgpack-parser format (every Socket.IO packet one binary frame,
 * the map {type, data, nsp, id}; the server must run the msgpack parser);
 * --deflate offers permessage-deflate (client_max_window_bits) in the upgrade
 * and inflates the frames that come compressed (RSV1), one zlib stream per
 * connection made at its first compressed frame (context takeover, as the
 * server keeps it); what we send goes uncompressed, as ws does under its
 * 1024-byte threshold. --payload B also pads echo: ["echo",<t>,"<B bytes>"],
 * acked with both arguments.
 * Common flags: --port P (3000), --port2 P2 (a second node of a cluster: the
 * odd-numbered connections go there, so fanout receivers are split between
 * two nodes and the broadcaster sits on the first), --host A (127.0.0.1), --tls (every connection
 * speaks TLS: HTTPS / WSS; no certificate verification), --pid PID (server process
 * whose RSS is read from /proc/PID/status), --inflight N (connections opening at
 * once, 256), --timeout S (hard limit of the whole run, 300), --warmup S (1),
 * --spin (never sleep in epoll_wait), --slow-rcvbuf BYTES (SO_RCVBUF of the slow
 * clients, 65536, so that what they do not read piles up at the server).
 * Exit status: 0 if the scenario completed, 1 if not (errors, lost clients,
 * missing deliveries, timeout), 2 on bad usage.
 *
 * TLS (--tls, OpenSSL 3): one shared SSL_CTX, one SSL per connection, made when
 * its TCP connect completes and freed when it closes. The handshake runs in the
 * same loop (state ST_TLS, SSL_connect until done), then the connection goes on
 * as a plain one would, with SSL_read / SSL_write in place of read / send. A
 * write that returns WANT_WRITE leaves its bytes in the connection's out buffer
 * and is retried from there on EPOLLOUT (partial writes and a moving write
 * buffer are enabled); WANT_READ from a write, or WANT_WRITE from a read, waits
 * for the other readiness. Without --tls, c->ssl is NULL and the plain path is
 * the one it always was.
 *
 * Threading: single-threaded. Ownership: connection memory is allocated once
 * per run and freed at exit.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <zlib.h>

#define PRE_MAX   96        /* bytes kept of each received message */
#define OUT_CAP   1024      /* pending output per connection (clients) */
#define RBUF_SIZE (1 << 18) /* one shared read buffer */
#define MAX_FRAME (1 << 20) /* largest frame we send */
#define HB        8192      /* histogram buckets */

/* ------------------------------------------------------------------ time */

static uint64_t t_start_ns;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The timestamp carried in payloads: microseconds since the start. */
static uint64_t ts_of(uint64_t ns)
{
    return (ns - t_start_ns) / 1000;
}

/* ------------------------------------------------------------------ histogram */

/* Log-linear histogram of microseconds: exact below 1024 us, then 128
 * sub-buckets per power of two (under 1% error). */
typedef struct hist {
    uint64_t n, max;
    uint32_t b[HB];
} hist;

static int hidx(uint64_t us)
{
    if (us < 1024)
        return (int)us;
    int e = 63 - __builtin_clzll(us);
    int i = 1024 + (e - 10) * 128 + (int)((us >> (e - 7)) & 127);
    return i < HB ? i : HB - 1;
}

static double hval(int i)
{
    if (i < 1024)
        return i + 0.5;
    int e = (i - 1024) / 128 + 10, sub = (i - 1024) % 128;
    return (double)((uint64_t)(128 + sub) << (e - 7)) + (double)(1ull << (e - 7)) / 2;
}

static void hadd(hist *h, uint64_t us)
{
    h->b[hidx(us)]++;
    h->n++;
    if (us > h->max)
        h->max = us;
}

/* Percentile p (0..1) in milliseconds. */
static double hpct(const hist *h, double p)
{
    if (!h->n)
        return 0;
    uint64_t target = (uint64_t)ceil(p * (double)h->n), acc = 0;
    if (!target)
        target = 1;
    for (int i = 0; i < HB; i++) {
        acc += h->b[i];
        if (acc >= target)
            return hval(i) / 1000.0;
    }
    return (double)h->max / 1000.0;
}

/* ------------------------------------------------------------------ connections */

enum { ST_IDLE, ST_CONNECTING, ST_TLS, ST_HTTP, ST_OPEN, ST_NSP, ST_READY, ST_CLOSING, ST_CLOSED };
enum { R_CLIENT, R_BCASTER, R_SLOW, R_HS, R_PGET, R_PPOST };

typedef struct pext pext;

typedef struct conn {
    int fd;
    uint8_t state, role;
    uint8_t paused;    /* out of the epoll set (a slow client not reading) */
    uint8_t out_armed; /* EPOLLOUT requested */
    uint8_t hdr[14];
    uint8_t hdr_have, hdr_need;
    uint8_t opcode, http_match;
    uint8_t closed_by_peer, joined;
    uint8_t tls_rd_want_write; /* SSL_read wants the socket writable */
    uint8_t tls_wr_want_read;  /* SSL_write wants the socket readable */
    uint8_t zmsg;              /* --deflate: the message being read came compressed */
    uint16_t pre_len;
    char pre[PRE_MAX];
    uint64_t remaining; /* payload bytes left in the current frame */
    uint32_t out_off, out_len, out_cap;
    uint8_t *out;
    uint32_t next_id; /* next ack id */
    uint32_t wait_id; /* ack id awaited (0: none) */
    uint64_t sent_ns; /* when the awaited message was sent (or the cycle began) */
    uint64_t recv;    /* broadcasts received */
    uint64_t last_seq;
    uint64_t gaps; /* broadcasts skipped or out of order */
    pext *px;      /* polling clients only */
    SSL *ssl;      /* --tls only */
    z_stream *zin; /* --deflate: made at the first compressed frame */
} conn;

static struct {
    int epfd;
    struct sockaddr_in addr;
    int port2; /* --port2: a second server (cluster node) for odd connections */
    const char *host;
    int port;
    int server_pid;
    int inflight;
    double hard_timeout, warmup, hold, secs_opt;
    int concurrency;
    int spin;        /* poll without sleeping (--spin) */
    int slow_rcvbuf; /* SO_RCVBUF of the slow clients (0: the system's autotuning) */
    SSL_CTX *tls;    /* --tls: the one client context */
    int msgpack;     /* --msgpack */
    int deflate;     /* --deflate */
    uint64_t zmsgs;  /* messages that came compressed */
    size_t payload;
    uint64_t deadline_ns;
    uint8_t mask[4];
    /* pre-built frames */
    uint8_t f_upgrade[384], f_nsp[32], f_pong[16], f_bye[48];
    size_t f_upgrade_len, f_nsp_len, f_pong_len, f_bye_len;
    /* accounting */
    size_t n_ready, n_connecting, conn_failed, lost, errors;
    char last_error[160];
    uint64_t rss_last_kb, rss_peak_kb, next_rss_ns;
} G;

static uint8_t rbuf[RBUF_SIZE];
static conn *conns;
static size_t nconns;

static void note_error(const char *what, const char *detail)
{
    G.errors++;
    snprintf(G.last_error, sizeof(G.last_error), "%s%s%s", what, detail ? ": " : "",
             detail ? detail : "");
}

static uint64_t read_rss_kb(void)
{
    if (G.server_pid <= 0)
        return 0;
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", G.server_pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    uint64_t kb = 0;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmRSS:", 6)) {
            kb = strtoull(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

static void sample_rss(void)
{
    uint64_t kb = read_rss_kb();
    G.rss_last_kb = kb;
    if (kb > G.rss_peak_kb)
        G.rss_peak_kb = kb;
}

static char *u64s(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* Parses decimal digits at *p (advancing it); -1 if there are none. */
static int64_t parse_u64(const char **p, const char *end)
{
    const char *s = *p;
    int64_t v = 0;
    while (s < end && *s >= '0' && *s <= '9')
        v = v * 10 + (*s++ - '0');
    if (s == *p)
        return -1;
    *p = s;
    return v;
}

/* A masked client frame (FIN set) into out; returns its length. */
static size_t ws_frame(uint8_t *out, int opcode, const void *payload, size_t len)
{
    const uint8_t *p = payload;
    size_t h = 0;
    out[h++] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        out[h++] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        out[h++] = 0x80 | 126;
        out[h++] = (uint8_t)(len >> 8);
        out[h++] = (uint8_t)len;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            out[h++] = (uint8_t)(len >> (8 * i));
    }
    memcpy(out + h, G.mask, 4);
    h += 4;
    for (size_t i = 0; i < len; i++)
        out[h + i] = p[i] ^ G.mask[i & 3];
    return h + len;
}

static void conn_set_events(conn *c, uint32_t ev)
{
    struct epoll_event e = {.events = ev, .data.ptr = c};
    epoll_ctl(G.epfd, EPOLL_CTL_MOD, c->fd, &e);
}

static int counted(const conn *c)
{
    return c->role != R_PPOST;
}

/* Closes the socket and keeps the counters right. */
static void conn_close(conn *c)
{
    if (c->fd >= 0) {
        if (!c->paused)
            epoll_ctl(G.epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    if (c->ssl) {
        SSL_free(c->ssl); /* no close_notify: the socket is gone */
        c->ssl = NULL;
        c->tls_rd_want_write = c->tls_wr_want_read = 0;
    }
    if (c->zin) {
        inflateEnd(c->zin);
        free(c->zin);
        c->zin = NULL;
    }
    c->zmsg = 0;
    if (counted(c)) {
        if (c->state >= ST_CONNECTING && c->state < ST_READY)
            G.n_connecting--;
        else if (c->state == ST_READY || c->state == ST_CLOSING)
            G.n_ready--;
    }
    c->state = ST_CLOSED;
}

static void conn_lost(conn *c, int by_peer);

/* ------------------------------------------------------------------ TLS */

/* Notes a TLS failure (the first queued OpenSSL reason) and empties the error
 * queue, which SSL_get_error needs empty before the next call. */
static void tls_note(const char *what, int err)
{
    unsigned long e = ERR_get_error();
    char buf[120];
    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    else if (err == SSL_ERROR_SYSCALL)
        snprintf(buf, sizeof(buf), "syscall: %s", errno ? strerror(errno) : "EOF");
    else
        snprintf(buf, sizeof(buf), "SSL_get_error %d", err);
    note_error(what, buf);
    ERR_clear_error();
}

/* SSL_write of what the socket takes now: bytes written (0 if it must wait:
 * the caller keeps the bytes and offers them again), or -1 (lost). */
static ssize_t tls_write(conn *c, const uint8_t *d, size_t len)
{
    int w = SSL_write(c->ssl, d, (int)len);
    if (w > 0)
        return w;
    int e = SSL_get_error(c->ssl, w);
    if (e == SSL_ERROR_WANT_WRITE)
        return 0;
    if (e == SSL_ERROR_WANT_READ) {
        c->tls_wr_want_read = 1; /* retried after the next read */
        return 0;
    }
    tls_note("TLS write", e);
    conn_lost(c, 1);
    return -1;
}

static int tls_handshake_step(conn *c);
static void tls_read(conn *c);

/* Writes now what the socket takes; keeps the rest (bounded) for EPOLLOUT. */
static int conn_write(conn *c, const void *data, size_t len)
{
    if (c->fd < 0)
        return -1;
    const uint8_t *d = data;
    if (c->out_len == c->out_off && !c->paused) {
        ssize_t w;
        if (c->ssl) {
            if ((w = tls_write(c, d, len)) < 0)
                return -1;
        } else if ((w = send(c->fd, d, len, MSG_NOSIGNAL | MSG_DONTWAIT)) < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                conn_lost(c, 1);
                return -1;
            }
            w = 0;
        }
        d += w;
        len -= (size_t)w;
        if (!len)
            return 0;
        c->out_off = c->out_len = 0;
    }
    if (c->out_off && c->out_len + len > c->out_cap) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    if (c->out_len + len > c->out_cap) {
        note_error("output buffer full", "the server is not reading");
        conn_lost(c, 0);
        return -1;
    }
    memcpy(c->out + c->out_len, d, len);
    c->out_len += (uint32_t)len;
    if (!c->out_armed && !c->paused) {
        c->out_armed = 1;
        conn_set_events(c, EPOLLIN | EPOLLOUT);
    }
    return 0;
}

/* conn_flush over TLS: the pending bytes go to SSL_write again (the same
 * bytes, perhaps more after them, perhaps moved: both allowed by the modes). */
static void tls_flush(conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = tls_write(c, c->out + c->out_off, c->out_len - c->out_off);
        if (w < 0)
            return;
        if (!w) {
            /* WANT_WRITE: wait for EPOLLOUT; WANT_READ: for the next read */
            uint8_t want_out = !c->tls_wr_want_read || c->tls_rd_want_write;
            if (want_out != c->out_armed) {
                c->out_armed = want_out;
                conn_set_events(c, EPOLLIN | (want_out ? EPOLLOUT : 0));
            }
            return;
        }
        c->out_off += (uint32_t)w;
    }
    c->out_off = c->out_len = 0;
    if (c->out_armed && !c->tls_rd_want_write) {
        c->out_armed = 0;
        conn_set_events(c, EPOLLIN);
    }
}

static void conn_flush(conn *c)
{
    if (c->ssl) {
        tls_flush(c);
        return;
    }
    while (c->out_off < c->out_len) {
        ssize_t w =
            send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno == EINTR)
                continue;
            conn_lost(c, 1);
            return;
        }
        c->out_off += (uint32_t)w;
    }
    c->out_off = c->out_len = 0;
    if (c->out_armed) {
        c->out_armed = 0;
        conn_set_events(c, EPOLLIN);
    }
}

static int conn_send_text(conn *c, const char *payload, size_t len)
{
    static uint8_t fb[MAX_FRAME + 14]; /* one frame at a time: single thread */
    if (len > MAX_FRAME)
        return -1;
    return conn_write(c, fb, ws_frame(fb, 1, payload, len));
}

/* The source address and port, chosen here rather than by connect(): the
 * kernel's search (__inet_hash_connect) prefers even ports and walks every
 * port in use, TIME_WAIT ones too, before taking another, so past about
 * 14,000 connections each connect costs a scan of them all (perf: 86 % of
 * the generator's time at 19,000 clients; every server was then measured
 * at the generator's ~1k connections/s). On loopback the generator binds
 * each socket to the next port of the ephemeral range on an address of
 * 127.0.0.0/8 picked at random per run (the next address when the range
 * wraps), where the TIME_WAIT sockets of earlier runs (on 127.0.0.1) do
 * not collide: one hash lookup per connection. */
static void bind_source_port(int fd)
{
    static int lo, hi, next;
    static uint32_t src;
    if (!lo) {
        lo = 32768, hi = 60999;
        FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
        if (f) {
            if (fscanf(f, "%d %d", &lo, &hi) != 2 || lo <= 0 || hi < lo)
                lo = 32768, hi = 60999;
            fclose(f);
        }
        next = lo;
        src = 0x7f000000u | ((uint32_t)(now_ns() ^ (uint64_t)getpid()) & 0xfffe00u) | 2u;
    }
    if ((ntohl(G.addr.sin_addr.s_addr) >> 24) != 127)
        return; /* not loopback: connect() chooses */
    for (int tries = 0; tries < 64; tries++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(src)};
        a.sin_port = htons((uint16_t)next);
        if (next >= hi) {
            next = lo;
            src++;
        } else {
            next++;
        }
        if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            return;
    }
}

/* Opens the TCP connection (non-blocking); the rest follows from events. */
static int conn_start(conn *c)
{
    c->hdr_have = 0;
    c->hdr_need = 2;
    c->remaining = 0;
    c->pre_len = 0;
    c->http_match = 0;
    c->out_off = c->out_len = 0;
    c->out_armed = 1;
    c->paused = 0;
    c->wait_id = 0;
    c->sent_ns = now_ns();
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        note_error("socket", strerror(errno));
        c->state = ST_CLOSED;
        if (counted(c))
            G.conn_failed++;
        return -1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (c->role == R_SLOW && G.slow_rcvbuf > 0)
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &G.slow_rcvbuf, sizeof(G.slow_rcvbuf));
    c->state = ST_CONNECTING;
    if (counted(c))
        G.n_connecting++;
    bind_source_port(c->fd);
    struct sockaddr_in addr = G.addr;
    if (G.port2 && ((size_t)(c - conns) & 1)) /* --port2: odd connections to the second node */
        addr.sin_port = htons((uint16_t)G.port2);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS) {
        note_error("connect", strerror(errno));
        conn_lost(c, 0);
        return -1;
    }
    struct epoll_event e = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
    epoll_ctl(G.epfd, EPOLL_CTL_ADD, c->fd, &e);
    return 0;
}

/* ------------------------------------------------------------------ scenario state */

enum { SC_CONNECT, SC_ECHO, SC_FANOUT, SC_HANDSHAKE, SC_SLOW, SC_POLLECHO };

static struct {
    int kind;
    int running;          /* echo, handshake: keep going */
    uint64_t outstanding; /* echo: messages in flight */
    hist h1, h2;
    hist *cur;
    uint64_t acks;
    /* fan-out */
    conn *bcaster;
    char *bc_buf;
    char *pad;
    uint64_t bc_seq; /* the broadcast in flight (or the last one) */
    uint64_t bc_sent_ns;
    size_t bc_expect, bc_got;
    int bc_acked, bc_busy, slow_paused;
    uint64_t bc_done, bc_timeouts;
    /* handshake */
    uint64_t hs_done;
} S;

static void conn_alloc(size_t n)
{
    conns = calloc(n, sizeof(conn));
    uint8_t *outs = malloc(n * (size_t)OUT_CAP);
    if (!conns || !outs) {
        fprintf(stderr, "loadgen: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        conns[i].fd = -1;
        conns[i].out = outs + i * OUT_CAP;
        conns[i].out_cap = OUT_CAP;
        conns[i].next_id = 1;
    }
    nconns = n;
}

/* 42<id>["echo",<t>] into q; remembers the id and the time in c. */
static char *build_echo(conn *c, char *q)
{
    c->wait_id = c->next_id++;
    *q++ = '4';
    *q++ = '2';
    q = u64s(q, c->wait_id);
    memcpy(q, "[\"echo\",", 8);
    q += 8;
    c->sent_ns = now_ns();
    q = u64s(q, ts_of(c->sent_ns));
    *q++ = ']';
    S.outstanding++;
    return q;
}

/* ---- --msgpack: the few msgpack forms the generator writes */
static uint8_t *mp_str(uint8_t *q, const char *s, size_t n)
{
    if (n < 32) {
        *q++ = (uint8_t)(0xa0 | n);
    } else if (n < 256) {
        *q++ = 0xd9;
        *q++ = (uint8_t)n;
    } else if (n < 65536) {
        *q++ = 0xda;
        *q++ = (uint8_t)(n >> 8);
        *q++ = (uint8_t)n;
    } else {
        *q++ = 0xdb;
        for (int i = 3; i >= 0; i--)
            *q++ = (uint8_t)(n >> (8 * i));
    }
    memcpy(q, s, n);
    return q + n;
}
static uint8_t *mp_uint(uint8_t *q, uint64_t v)
{
    if (v < 128) {
        *q++ = (uint8_t)v;
    } else if (v <= 0xffffffffu) {
        *q++ = 0xce;
        for (int i = 3; i >= 0; i--)
            *q++ = (uint8_t)(v >> (8 * i));
    } else {
        *q++ = 0xcf;
        for (int i = 7; i >= 0; i--)
            *q++ = (uint8_t)(v >> (8 * i));
    }
    return q;
}
#define MP_KEY(q, k) mp_str((q), (k), sizeof(k) - 1)
/* {type: 2, data: [ (n elements follow) , with id; nsp comes after data in
 * mp_event_end (the order socket.io-client's emit gives: type, data, id, nsp). */
static uint8_t *mp_event_begin(uint8_t *q, size_t nargs)
{
    *q++ = 0x84;
    q = MP_KEY(q, "type");
    *q++ = 2;
    q = MP_KEY(q, "data");
    *q++ = (uint8_t)(0x90 | nargs);
    return q;
}
static uint8_t *mp_event_end(uint8_t *q, uint64_t id)
{
    q = MP_KEY(q, "id");
    q = mp_uint(q, id);
    q = MP_KEY(q, "nsp");
    return mp_str(q, "/", 1);
}

static int conn_send_bin(conn *c, const uint8_t *payload, size_t len)
{
    static uint8_t fb[MAX_FRAME + 14];
    if (len > MAX_FRAME)
        return -1;
    return conn_write(c, fb, ws_frame(fb, 2, payload, len));
}

static void send_echo(conn *c)
{
    static uint8_t buf[MAX_FRAME];
    if (G.msgpack) {
        c->wait_id = c->next_id++;
        uint8_t *q = mp_event_begin(buf, G.payload ? 3 : 2);
        q = mp_str(q, "echo", 4);
        c->sent_ns = now_ns();
        q = mp_uint(q, ts_of(c->sent_ns));
        if (G.payload)
            q = mp_str(q, S.pad, G.payload);
        q = mp_event_end(q, c->wait_id);
        S.outstanding++;
        conn_send_bin(c, buf, (size_t)(q - buf));
        return;
    }
    char *p = (char *)buf;
    char *q = build_echo(c, p);
    if (G.payload) { /* ["echo",<t>] -> ["echo",<t>,"<pad>"] */
        q[-1] = ',';
        *q++ = '"';
        memcpy(q, S.pad, G.payload);
        q += G.payload;
        *q++ = '"';
        *q++ = ']';
    }
    conn_send_text(c, p, (size_t)(q - p));
}

static void send_join(conn *c)
{
    if (G.msgpack) {
        uint8_t b[64], *m;
        c->wait_id = c->next_id++;
        m = mp_event_begin(b, 2);
        m = mp_str(m, "join", 4);
        m = mp_str(m, "bench", 5);
        m = mp_event_end(m, c->wait_id);
        conn_send_bin(c, b, (size_t)(m - b));
        return;
    }
    char p[64], *q = p;
    c->wait_id = c->next_id++;
    *q++ = '4';
    *q++ = '2';
    q = u64s(q, c->wait_id);
    memcpy(q, "[\"join\",\"bench\"]", 16);
    q += 16;
    conn_send_text(c, p, (size_t)(q - p));
}

static void send_broadcast(void)
{
    conn *c = S.bcaster;
    char *q = S.bc_buf;
    c->wait_id = c->next_id++;
    S.bc_seq++;
    S.bc_sent_ns = now_ns();
    S.bc_got = 0;
    S.bc_acked = 0;
    S.bc_busy = 1;
    if (G.msgpack) { /* the third argument "<seq>:<t>:<pad>" made as text first */
        static char arg[MAX_FRAME];
        char *a = u64s(arg, S.bc_seq);
        *a++ = ':';
        a = u64s(a, ts_of(S.bc_sent_ns));
        *a++ = ':';
        memcpy(a, S.pad, G.payload);
        a += G.payload;
        uint8_t *m = mp_event_begin((uint8_t *)S.bc_buf, 3);
        m = mp_str(m, "broadcast", 9);
        m = mp_str(m, "bench", 5);
        m = mp_str(m, arg, (size_t)(a - arg));
        m = mp_event_end(m, c->wait_id);
        conn_send_bin(c, (uint8_t *)S.bc_buf, (size_t)(m - (uint8_t *)S.bc_buf));
        return;
    }
    *q++ = '4';
    *q++ = '2';
    q = u64s(q, c->wait_id);
    memcpy(q, "[\"broadcast\",\"bench\",\"", 22);
    q += 22;
    q = u64s(q, S.bc_seq);
    *q++ = ':';
    q = u64s(q, ts_of(S.bc_sent_ns));
    *q++ = ':';
    memcpy(q, S.pad, G.payload);
    q += G.payload;
    *q++ = '"';
    *q++ = ']';
    conn_send_text(c, S.bc_buf, (size_t)(q - S.bc_buf));
}

static void bc_check_done(void)
{
    if (S.bc_busy && S.bc_acked && S.bc_got >= S.bc_expect) {
        hadd(S.cur, (now_ns() - S.bc_sent_ns) / 1000);
        S.bc_done++;
        S.bc_busy = 0;
    }
}

/* ------------------------------------------------------------------ protocol events */

static void on_ready(conn *c)
{
    c->state = ST_READY;
    G.n_connecting--;
    G.n_ready++;
    if (c->role == R_HS) {
        /* "41" (namespace disconnect) and a close frame, then wait for the
         * server to close the TCP connection. */
        c->state = ST_CLOSING;
        conn_write(c, G.f_bye, G.f_bye_len);
    }
}

static void on_ack(conn *c, int64_t id, const char *p, const char *end)
{
    if (id != (int64_t)c->wait_id || !id) {
        note_error("unexpected ack id", NULL);
        return;
    }
    c->wait_id = 0;
    if (S.kind == SC_ECHO || S.kind == SC_POLLECHO) {
        /* 43<id>[<t>]: the argument must come back */
        uint64_t now = now_ns();
        int64_t ts = -1;
        if (p < end && *p == '[') {
            p++;
            ts = parse_u64(&p, end);
        }
        if (ts < 0 || (uint64_t)ts != ts_of(c->sent_ns))
            note_error("echo ack without the argument sent", NULL);
        S.outstanding--;
        hadd(S.cur, (now - c->sent_ns) / 1000);
        S.acks++;
        if (S.running && S.kind == SC_ECHO)
            send_echo(c);
        return;
    }
    if (c->role == R_BCASTER) {
        if (S.bc_busy) {
            S.bc_acked = 1;
            bc_check_done();
        }
        return;
    }
    c->joined = 1; /* a join ack */
}

static void on_bcast(conn *c, const char *p, const char *end)
{
    int64_t seq = parse_u64(&p, end); /* <seq>:<t>:<pad> */
    if (seq < 0)
        return;
    c->recv++;
    if ((uint64_t)seq != c->last_seq + 1)
        c->gaps++;
    c->last_seq = (uint64_t)seq;
    if ((uint64_t)seq == S.bc_seq && S.bc_busy && (c->role != R_SLOW || !S.slow_paused)) {
        S.bc_got++;
        bc_check_done();
    }
}

/* One Engine.IO message (only its first bytes: len <= PRE_MAX). */
static void on_message(conn *c, const char *p, size_t len)
{
    const char *end = p + len;
    if (!len)
        return;
    switch (p[0]) {
    case '0': /* open */
        if (c->state == ST_OPEN) {
            c->state = ST_NSP;
            conn_write(c, G.f_nsp, G.f_nsp_len);
        }
        return;
    case '2': /* ping */ conn_write(c, G.f_pong, G.f_pong_len); return;
    case '1': /* close */ conn_lost(c, 1); return;
    case '4': break;
    default: return;
    }
    if (len < 2)
        return;
    const char *q = p + 2;
    switch (p[1]) {
    case '0':
        if (c->state == ST_NSP)
            on_ready(c);
        return;
    case '2':
        if (len >= 12 && !memcmp(p, "42[\"bcast\",\"", 12))
            on_bcast(c, p + 12, end);
        return;
    case '3': {
        int64_t id = parse_u64(&q, end);
        on_ack(c, id, q, end);
        return;
    }
    case '4':
        note_error("namespace connect refused", NULL);
        conn_lost(c, 0);
        return;
    case '1': conn_lost(c, 1); return;
    }
}

/* ---- --msgpack: reading the first bytes (pre) of a packet. One header at
 * *p: its kind ('u' unsigned or float as integer, 's' string with v its
 * length, 'a' array, 'm' map with v entries, 'x' other scalar), 0 when the
 * bytes end first. */
static int mp_next(const uint8_t **p, const uint8_t *e, uint64_t *v)
{
    if (*p >= e)
        return 0;
    uint8_t b = *(*p)++;
    size_t w = 0;
    int k;
    if (b < 0x80) {
        *v = b;
        return 'u';
    }
    if ((b & 0xf0) == 0x80 || (b & 0xf0) == 0x90) {
        *v = b & 0x0f;
        return (b & 0xf0) == 0x80 ? 'm' : 'a';
    }
    if ((b & 0xe0) == 0xa0) {
        *v = b & 0x1f;
        return 's';
    }
    switch (b) {
    case 0xc0:
    case 0xc2:
    case 0xc3: *v = 0; return 'x';
    case 0xcc:
        w = 1;
        k = 'u';
        break;
    case 0xcd:
        w = 2;
        k = 'u';
        break;
    case 0xce:
        w = 4;
        k = 'u';
        break;
    case 0xcf:
        w = 8;
        k = 'u';
        break;
    case 0xcb:
        w = 8;
        k = 'f';
        break;
    case 0xd9:
        w = 1;
        k = 's';
        break;
    case 0xda:
        w = 2;
        k = 's';
        break;
    case 0xdb:
        w = 4;
        k = 's';
        break;
    case 0xdc:
        w = 2;
        k = 'a';
        break;
    case 0xdd:
        w = 4;
        k = 'a';
        break;
    case 0xde:
        w = 2;
        k = 'm';
        break;
    case 0xdf:
        w = 4;
        k = 'm';
        break;
    default: *v = 0; return 'x'; /* negative ints and the rest: not used here */
    }
    if ((size_t)(e - *p) < w)
        return 0;
    uint64_t x = 0;
    for (size_t i = 0; i < w; i++)
        x = (x << 8) | *(*p)++;
    if (k == 'f') {
        double d;
        memcpy(&d, &x, sizeof(d));
        *v = d >= 0 ? (uint64_t)d : 0;
        return 'u';
    }
    *v = x;
    return k;
}

/* One Socket.IO packet in msgpack (only its first bytes). Reads the keys in
 * the order they come; the data array gives its first two elements (the ack's
 * argument, or an event's name and first argument). */
static void on_mp_packet(conn *c, const uint8_t *p, size_t len)
{
    const uint8_t *e = p + len;
    uint64_t n, v;
    if (mp_next(&p, e, &n) != 'm')
        return;
    int64_t type = -1, id = -1;
    int has_data = 0;
    uint64_t a0 = 0;
    const uint8_t *name = NULL, *arg1 = NULL;
    size_t name_len = 0, arg1_len = 0;
    for (uint64_t i = 0; i < n; i++) {
        int k = mp_next(&p, e, &v);
        if (k != 's' || (uint64_t)(e - p) < v)
            break;
        const uint8_t *key = p;
        size_t klen = (size_t)v;
        p += v;
        int vk = mp_next(&p, e, &v);
        if (!vk)
            break;
        if (klen == 4 && !memcmp(key, "type", 4) && vk == 'u') {
            type = (int64_t)v;
        } else if (klen == 2 && !memcmp(key, "id", 2) && vk == 'u') {
            id = (int64_t)v;
        } else if (klen == 4 && !memcmp(key, "data", 4) && vk == 'a') {
            has_data = 1;
            uint64_t cnt = v;
            if (!cnt)
                continue;
            int k0 = mp_next(&p, e, &v);
            if (k0 == 'u') {
                a0 = v;
            } else if (k0 == 's') {
                name = p;
                name_len = (size_t)((uint64_t)(e - p) < v ? (uint64_t)(e - p) : v);
                p += name_len;
                if (name_len == v && cnt > 1 && mp_next(&p, e, &v) == 's') {
                    arg1 = p;
                    arg1_len = (size_t)((uint64_t)(e - p) < v ? (uint64_t)(e - p) : v);
                }
            }
            break; /* what follows the data may be cut off: done */
        } else if (vk == 's') {
            if ((uint64_t)(e - p) < v)
                break;
            p += v; /* nsp */
        } else if (vk == 'm' || vk == 'a') {
            break; /* CONNECT's {sid}: nothing more needed */
        }
    }
    (void)has_data;
    switch (type) {
    case 0:
        if (c->state == ST_NSP)
            on_ready(c);
        return;
    case 2:
        if (name_len == 5 && !memcmp(name, "bcast", 5) && arg1)
            on_bcast(c, (const char *)arg1, (const char *)arg1 + arg1_len);
        return;
    case 3: {
        /* on_ack reads "[<t>": hand it the digits */
        char t[24] = "[";
        char *q = u64s(t + 1, a0);
        on_ack(c, id, t, q);
        return;
    }
    case 4:
        note_error("namespace connect refused", NULL);
        conn_lost(c, 0);
        return;
    case 1: conn_lost(c, 1); return;
    default: return;
    }
}

/* --deflate: inflates n compressed bytes of the current message; the first
 * PRE_MAX bytes of the output go to pre, the rest is dropped (zlib keeps its
 * own window for the next message). */
static void ws_inflate(conn *c, const uint8_t *d, size_t n)
{
    static uint8_t sink[65536];
    if (!c->zin) {
        c->zin = calloc(1, sizeof(*c->zin));
        if (!c->zin || inflateInit2(c->zin, -15) != Z_OK) {
            free(c->zin);
            c->zin = NULL;
            note_error("inflateInit2 failed", NULL);
            conn_lost(c, 0);
            return;
        }
    }
    z_stream *z = c->zin;
    z->next_in = (Bytef *)d;
    z->avail_in = (uInt)n;
    for (;;) {
        int to_pre = c->pre_len < PRE_MAX;
        z->next_out = to_pre ? (Bytef *)c->pre + c->pre_len : sink;
        z->avail_out = to_pre ? (uInt)(PRE_MAX - c->pre_len) : (uInt)sizeof(sink);
        uInt room = z->avail_out;
        int rc = inflate(z, Z_SYNC_FLUSH);
        if (to_pre)
            c->pre_len = (uint16_t)(c->pre_len + (room - z->avail_out));
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            note_error("inflate failed", z->msg);
            conn_lost(c, 0);
            return;
        }
        if (z->avail_out && !z->avail_in)
            return;
        if (rc == Z_BUF_ERROR)
            return;
    }
}

static void on_frame_end(conn *c)
{
    if (c->zmsg) {
        static const uint8_t tail[4] = {0x00, 0x00, 0xff, 0xff};
        c->zmsg = 0;
        ws_inflate(c, tail, sizeof(tail));
        if (c->fd < 0)
            return;
    }
    switch (c->opcode) {
    case 0:
    case 1: on_message(c, c->pre, c->pre_len); break;
    case 2:
        if (G.msgpack)
            on_mp_packet(c, (const uint8_t *)c->pre, c->pre_len);
        else
            on_message(c, c->pre, c->pre_len);
        break;
    case 8: /* close: ours answered (wait for the TCP end), or the server's */
        if (c->state != ST_CLOSING)
            conn_lost(c, 1);
        break;
    case 9: { /* ping: pong with the same bytes */
        uint8_t f[PRE_MAX + 14];
        conn_write(c, f, ws_frame(f, 10, c->pre, c->pre_len));
        break;
    }
    default: break;
    }
}

/* Copies bytes of an HTTP response head into buf (up to cap, the rest is
 * skipped) until the blank line that ends it; *match counts the bytes of
 * "\r\n\r\n" seen so far. Advances *d / *n past what it used. Returns 1 once
 * the head is complete, 0 if more bytes are needed. */
static int http_head_feed(uint8_t *match, char *buf, size_t *len, size_t cap, const uint8_t **d,
                          size_t *n)
{
    static const char crlf2[] = "\r\n\r\n";
    while (*n) {
        uint8_t b = **d;
        if (*len < cap)
            buf[(*len)++] = (char)b;
        *match = (b == (uint8_t)crlf2[*match]) ? (uint8_t)(*match + 1) : (b == '\r') ? 1 : 0;
        (*d)++;
        (*n)--;
        if (*match == 4)
            return 1;
    }
    return 0;
}

/* Feeds received bytes through the HTTP 101 reader and the frame parser. */
static void ws_feed(conn *c, const uint8_t *d, size_t n)
{
    while (n && c->fd >= 0) {
        if (c->state == ST_HTTP) {
            size_t len = c->pre_len;
            int done = http_head_feed(&c->http_match, c->pre, &len, PRE_MAX, &d, &n);
            c->pre_len = (uint16_t)len;
            if (!done)
                return;
            if (c->pre_len < 12 || memcmp(c->pre + 9, "101", 3)) {
                char st[16];
                snprintf(st, sizeof(st), "%.12s", c->pre);
                note_error("upgrade refused", st);
                conn_lost(c, 0);
                return;
            }
            c->state = ST_OPEN;
            c->pre_len = 0;
            continue;
        }
        if (c->hdr_have < c->hdr_need) {
            while (n && c->hdr_have < c->hdr_need) {
                c->hdr[c->hdr_have++] = *d++;
                n--;
                if (c->hdr_have == 2) {
                    uint8_t l7 = c->hdr[1] & 0x7f;
                    c->hdr_need = (uint8_t)(2 +
                                            (l7 == 126   ? 2
                                             : l7 == 127 ? 8
                                                         : 0) +
                                            ((c->hdr[1] & 0x80) ? 4 : 0));
                }
            }
            if (c->hdr_have < c->hdr_need)
                return;
            uint8_t l7 = c->hdr[1] & 0x7f;
            uint64_t len = l7;
            if (l7 == 126)
                len = ((uint64_t)c->hdr[2] << 8) | c->hdr[3];
            else if (l7 == 127) {
                len = 0;
                for (int i = 0; i < 8; i++)
                    len = (len << 8) | c->hdr[2 + i];
            }
            uint8_t op = c->hdr[0] & 0x0f;
            if (op != 0) {
                c->opcode = op;
                c->pre_len = 0;
                if (op < 8) {
                    c->zmsg = (c->hdr[0] & 0x40) != 0; /* RSV1: permessage-deflate */
                    G.zmsgs += c->zmsg;
                }
            }
            c->remaining = len;
            if (!len) {
                c->hdr_have = 0;
                c->hdr_need = 2;
                if (c->hdr[0] & 0x80)
                    on_frame_end(c);
                continue;
            }
        }
        size_t take = n < c->remaining ? n : (size_t)c->remaining;
        if (c->zmsg && c->opcode < 8) {
            ws_inflate(c, d, take);
            if (c->fd < 0)
                return;
        } else if (c->pre_len < PRE_MAX) {
            size_t k = PRE_MAX - c->pre_len;
            if (k > take)
                k = take;
            memcpy(c->pre + c->pre_len, d, k);
            c->pre_len = (uint16_t)(c->pre_len + k);
        }
        d += take;
        n -= take;
        c->remaining -= take;
        if (!c->remaining) {
            c->hdr_have = 0;
            c->hdr_need = 2;
            if (c->hdr[0] & 0x80)
                on_frame_end(c);
        }
    }
}

/* ------------------------------------------------------------------ polling clients */

/* A polling client is two connections: one for the (always pending) GET, one
 * for POSTs. The echo state (ids, send time) lives on the GET connection. */
typedef struct http_reader {
    char hdr[1024];
    size_t hdr_len;
    int in_body;
    size_t clen, got;
    char body[4096];
    size_t body_len;
} http_reader;

struct pext {
    conn *get, *post;
    char sid[40];
    char get_req[192];
    size_t get_req_len;
    char post_pre[256];
    size_t post_pre_len;
    int post_busy, nsp_sent, want_pong, want_echo, ready;
    http_reader r[2]; /* 0: GET connection, 1: POST connection */
};

static pext *pexts;

static void poll_send_get(pext *x)
{
    if (x->sid[0])
        conn_write(x->get, x->get_req, x->get_req_len);
    else {
        char req[192];
        int n = snprintf(req, sizeof(req),
                         "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: %s:%d\r\n\r\n",
                         G.host, G.port);
        conn_write(x->get, req, (size_t)n);
    }
}

static void poll_pump_post(pext *x)
{
    conn *p = x->post;
    if (x->post_busy || p->fd < 0 || p->state != ST_READY || !x->sid[0] || x->get->fd < 0)
        return;
    char body[128];
    size_t bl = 0;
    if (!x->nsp_sent) {
        memcpy(body, "40", 2);
        bl = 2;
        x->nsp_sent = 1;
    } else {
        if (x->want_pong) {
            body[bl++] = '3';
            x->want_pong = 0;
        }
        if (x->want_echo && S.running && !x->get->wait_id) {
            if (bl)
                body[bl++] = 0x1e;
            bl = (size_t)(build_echo(x->get, body + bl) - body);
            x->want_echo = 0;
        }
    }
    if (!bl)
        return;
    char req[512], *q = req;
    memcpy(q, x->post_pre, x->post_pre_len);
    q += x->post_pre_len;
    q = u64s(q, bl);
    memcpy(q, "\r\n\r\n", 4);
    q += 4;
    memcpy(q, body, bl);
    q += bl;
    x->post_busy = 1;
    conn_write(p, req, (size_t)(q - req));
}

static void poll_packet(pext *x, const char *p, size_t len)
{
    conn *c = x->get;
    if (!len)
        return;
    if (p[0] == '0' && !x->sid[0]) {
        const char *s = memmem(p, len, "\"sid\":\"", 7);
        if (!s) {
            note_error("polling handshake without a sid", NULL);
            conn_lost(c, 0);
            return;
        }
        s += 7;
        size_t i = 0;
        while (s + i < p + len && s[i] != '"' && i < sizeof(x->sid) - 1) {
            x->sid[i] = s[i];
            i++;
        }
        x->sid[i] = 0;
        x->get_req_len = (size_t)snprintf(
            x->get_req, sizeof(x->get_req),
            "GET /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: %s:%d\r\n\r\n",
            x->sid, G.host, G.port);
        x->post_pre_len = (size_t)snprintf(
            x->post_pre, sizeof(x->post_pre),
            "POST /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: %s:%d\r\n"
            "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: ",
            x->sid, G.host, G.port);
        c->state = ST_NSP;
        return;
    }
    switch (p[0]) {
    case '2': x->want_pong = 1; return;
    case '1': conn_lost(c, 1); return;
    case '4': break;
    default: return;
    }
    if (len < 2)
        return;
    if (p[1] == '0' && c->state == ST_NSP) {
        x->ready = 1;
        on_ready(c);
    } else if (p[1] == '3') {
        const char *q = p + 2;
        int64_t id = parse_u64(&q, p + len);
        on_ack(c, id, q, p + len);
        if (S.running)
            x->want_echo = 1;
    } else if (p[1] == '4') {
        note_error("namespace connect refused", NULL);
        conn_lost(c, 0);
    }
}

static void poll_response(conn *c, int which)
{
    pext *x = c->px;
    if (which == 0) {
        http_reader *r = &x->r[0];
        const char *b = r->body, *end = b + r->body_len;
        while (b < end) {
            const char *sep = memchr(b, 0x1e, (size_t)(end - b));
            const char *e = sep ? sep : end;
            poll_packet(x, b, (size_t)(e - b));
            if (c->fd < 0)
                return;
            b = sep ? sep + 1 : end;
        }
        poll_send_get(x);
    } else {
        x->post_busy = 0;
    }
    poll_pump_post(x);
}

/* HTTP/1.1 responses with Content-Length, one after another. */
static void http_feed(conn *c, const uint8_t *d, size_t n)
{
    int which = c->role == R_PPOST;
    http_reader *r = &c->px->r[which];
    while (n && c->fd >= 0) {
        if (!r->in_body) {
            if (!http_head_feed(&c->http_match, r->hdr, &r->hdr_len, sizeof(r->hdr) - 1, &d, &n))
                return;
            c->http_match = 0;
            r->hdr[r->hdr_len] = 0;
            if (r->hdr_len < 12 || memcmp(r->hdr + 9, "200", 3)) {
                char st[16];
                snprintf(st, sizeof(st), "%.12s", r->hdr);
                note_error("polling request refused", st);
                conn_lost(c, 0);
                return;
            }
            const char *cl = strcasestr(r->hdr, "\ncontent-length:");
            r->clen = cl ? strtoul(cl + 16, NULL, 10) : 0;
            r->in_body = 1;
            r->got = r->body_len = 0;
            r->hdr_len = 0;
        }
        size_t take = n < r->clen - r->got ? n : r->clen - r->got;
        size_t k = take;
        if (r->body_len + k > sizeof(r->body))
            k = sizeof(r->body) - r->body_len;
        memcpy(r->body + r->body_len, d, k);
        r->body_len += k;
        r->got += take;
        d += take;
        n -= take;
        if (r->got == r->clen) {
            r->in_body = 0;
            poll_response(c, which);
        }
    }
}

/* ------------------------------------------------------------------ events */

static void on_connected(conn *c)
{
    c->out_armed = 0;
    conn_set_events(c, EPOLLIN);
    if (c->role == R_PGET) {
        c->state = ST_OPEN;
        poll_send_get(c->px);
    } else if (c->role == R_PPOST) {
        c->state = ST_READY;
        poll_pump_post(c->px);
    } else {
        c->state = ST_HTTP;
        conn_write(c, G.f_upgrade, G.f_upgrade_len);
    }
}

/* The connection ended (peer, error, or refused). */
static void conn_lost(conn *c, int by_peer)
{
    if (c->fd < 0)
        return;
    int st = c->state;
    conn_close(c);
    c->closed_by_peer = (uint8_t)by_peer;
    if (c->px) {
        pext *x = c->px;
        conn *o = c == x->get ? x->post : x->get;
        if (o->fd >= 0)
            conn_close(o);
        if (x->get->wait_id && S.outstanding)
            S.outstanding--;
        if (st < ST_READY && c == x->get)
            G.conn_failed++;
        else
            G.lost++;
        return;
    }
    if (c->role == R_HS) {
        if (st == ST_CLOSING) {
            hadd(S.cur, (now_ns() - c->sent_ns) / 1000);
            S.hs_done++;
        } else {
            G.conn_failed++;
        }
        if (S.running)
            conn_start(c);
        return;
    }
    if (c->wait_id && S.kind == SC_ECHO && S.outstanding)
        S.outstanding--;
    if (st < ST_READY)
        G.conn_failed++;
    else if (c->role != R_SLOW)
        G.lost++;
}

static void conn_read(conn *c)
{
    if (c->ssl) {
        tls_read(c);
        return;
    }
    for (;;) {
        ssize_t n = read(c->fd, rbuf, sizeof(rbuf));
        if (n > 0) {
            if (c->px)
                http_feed(c, rbuf, (size_t)n);
            else
                ws_feed(c, rbuf, (size_t)n);
            if (c->fd < 0 || (size_t)n < sizeof(rbuf))
                return;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 && errno == EINTR)
            continue;
        conn_lost(c, 1);
        return;
    }
}

static void on_event(conn *c, uint32_t ev)
{
    if (c->fd < 0)
        return;
    if (c->state == ST_CONNECTING) {
        int err = 0;
        socklen_t l = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
            note_error("connect", strerror(err));
            conn_lost(c, 0);
            return;
        }
        if (!(ev & EPOLLOUT))
            return;
        if (G.tls) {
            c->ssl = SSL_new(G.tls);
            if (!c->ssl || !SSL_set_fd(c->ssl, c->fd)) {
                tls_note("SSL_new", 0);
                conn_lost(c, 0);
                return;
            }
            SSL_set_connect_state(c->ssl);
            c->state = ST_TLS;
            tls_handshake_step(c);
            return;
        }
        on_connected(c);
        return;
    }
    if (c->state == ST_TLS) {
        tls_handshake_step(c);
        return;
    }
    if (ev & EPOLLOUT)
        conn_flush(c);
    if (c->fd >= 0 &&
        ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) || (c->tls_rd_want_write && (ev & EPOLLOUT))))
        conn_read(c);
}

/* SSL_connect once more; on completion the connection goes on as a plain one
 * just connected. Returns 1 when the handshake is done. */
static int tls_handshake_step(conn *c)
{
    int r = SSL_connect(c->ssl);
    if (r == 1) {
        on_connected(c);
        return 1;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        uint8_t want_out = e == SSL_ERROR_WANT_WRITE;
        if (want_out != c->out_armed) {
            c->out_armed = want_out;
            conn_set_events(c, EPOLLIN | (want_out ? EPOLLOUT : 0));
        }
        return 0;
    }
    tls_note("TLS handshake", e);
    conn_lost(c, 0);
    return 0;
}

/* conn_read over TLS: SSL_read until OpenSSL has nothing buffered (it reads
 * ahead: what is left in the kernel wakes epoll again). */
static void tls_read(conn *c)
{
    if (c->tls_rd_want_write) { /* retried now: EPOLLOUT only if still needed */
        c->tls_rd_want_write = 0;
        if (c->out_armed && c->out_off == c->out_len) {
            c->out_armed = 0;
            conn_set_events(c, EPOLLIN);
        }
    }
    for (;;) {
        int n = SSL_read(c->ssl, rbuf, (int)sizeof(rbuf));
        if (n > 0) {
            if (c->px)
                http_feed(c, rbuf, (size_t)n);
            else
                ws_feed(c, rbuf, (size_t)n);
            if (c->fd < 0)
                return;
            if (c->tls_wr_want_read) {
                c->tls_wr_want_read = 0;
                conn_flush(c);
                if (c->fd < 0)
                    return;
            }
            if (!SSL_has_pending(c->ssl))
                return;
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ) {
            if (c->tls_wr_want_read) { /* the write waited on a read that made progress */
                c->tls_wr_want_read = 0;
                conn_flush(c);
            }
            return;
        }
        if (e == SSL_ERROR_WANT_WRITE) {
            c->tls_rd_want_write = 1;
            if (!c->out_armed) {
                c->out_armed = 1;
                conn_set_events(c, EPOLLIN | EPOLLOUT);
            }
            return;
        }
        if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL) {
            /* close_notify, the end of the stream, or a reset: the peer went
             * away, as a failed read() is on the plain path */
            ERR_clear_error();
            conn_lost(c, 1);
            return;
        }
        tls_note("TLS read", e);
        conn_lost(c, 1);
        return;
    }
}

/* ------------------------------------------------------------------ the loop */

static void (*tick_fn)(void);

/* Runs the event loop until done() says so, or until the time is up. Returns
 * 1 if done() said so. */
static int run_until(int (*done)(void), double secs)
{
    struct epoll_event ev[1024];
    uint64_t until = now_ns() + (uint64_t)(secs * 1e9);
    for (;;) {
        if (done && done())
            return 1;
        uint64_t now = now_ns();
        if (G.server_pid > 0 && now >= G.next_rss_ns) {
            sample_rss();
            G.next_rss_ns = now + 100000000ull;
        }
        if (now >= until || now >= G.deadline_ns)
            return 0;
        if (tick_fn)
            tick_fn();
        uint64_t left = (until < G.deadline_ns ? until : G.deadline_ns) - now;
        int to = G.spin ? 0 : left > 10000000ull ? 10 : (int)(left / 1000000ull);
        int n = epoll_wait(G.epfd, ev, 1024, to);
        for (int i = 0; i < n; i++)
            on_event(ev[i].data.ptr, ev[i].events);
    }
}

/* Opening connections [from, to) at most G.inflight at a time. */
static size_t ramp_next, ramp_end;

static void ramp_tick(void)
{
    while (ramp_next < ramp_end && G.n_connecting < (size_t)G.inflight) {
        conn *c = &conns[ramp_next++];
        if (c->role == R_PPOST)
            continue; /* started with its GET */
        conn_start(c);
        if (c->px)
            conn_start(c->px->post);
    }
}

static size_t ramp_target;
static int ramp_done(void)
{
    return G.n_ready >= ramp_target || G.n_ready + G.conn_failed + G.lost >= ramp_target;
}

/* Connects conns[from..to) to the namespace; returns how many are ready. */
static size_t connect_range(size_t from, size_t to, size_t expect, double secs)
{
    ramp_next = from;
    ramp_end = to;
    ramp_target = G.n_ready + expect;
    tick_fn = ramp_tick;
    uint64_t t0 = now_ns();
    run_until(ramp_done, secs);
    tick_fn = NULL;
    fprintf(stderr, "loadgen: %zu connected in %.2f s\n", G.n_ready, (double)(now_ns() - t0) / 1e9);
    return G.n_ready;
}

/* ------------------------------------------------------------------ scenarios */

static double secs_between(uint64_t a, uint64_t b)
{
    return (double)(b - a) / 1e9;
}

static double conn_timeout(size_t n)
{
    return 30.0 + (double)n / 500.0;
}

static int fail_line(const char *scenario)
{
    printf("%s FAILED connected=%zu failed=%zu lost=%zu errors=%zu last_error=\"%s\"\n", scenario,
           G.n_ready, G.conn_failed, G.lost, G.errors, G.last_error);
    return 1;
}

static int scen_connect(size_t n)
{
    conn_alloc(n);
    uint64_t rss0 = read_rss_kb();
    uint64_t t0 = now_ns();
    connect_range(0, n, n, conn_timeout(n));
    uint64_t t1 = now_ns();
    size_t connected = G.n_ready;
    run_until(NULL, G.hold);
    uint64_t rss1 = read_rss_kb();
    size_t held = G.n_ready;
    double kb = connected ? (double)((int64_t)rss1 - (int64_t)rss0) / (double)connected : 0;
    printf("connect clients=%zu connected=%zu held=%zu secs=%.2f conn/s=%.0f rss_before_mb=%.1f "
           "rss_after_mb=%.1f kb_per_client=%.2f failed=%zu errors=%zu%s%s%s\n",
           n, connected, held, secs_between(t0, t1), connected / secs_between(t0, t1),
           rss0 / 1024.0, rss1 / 1024.0, kb, G.conn_failed, G.errors,
           G.errors ? " last_error=\"" : "", G.last_error, G.errors ? "\"" : "");
    return connected == n && held == n ? 0 : 1;
}

static int echo_idle(void)
{
    return S.outstanding == 0;
}

static int scen_echo(size_t clients, double secs, int polling)
{
    const char *name = polling ? "pollecho" : "echo";
    if (polling) {
        conn_alloc(clients * 2);
        pexts = calloc(clients, sizeof(pext));
        for (size_t i = 0; i < clients; i++) {
            pext *x = &pexts[i];
            x->get = &conns[2 * i];
            x->post = &conns[2 * i + 1];
            x->get->role = R_PGET;
            x->post->role = R_PPOST;
            x->get->px = x->post->px = x;
        }
    } else {
        conn_alloc(clients);
        if (G.payload) {
            S.pad = malloc(G.payload + 1);
            for (size_t i = 0; S.pad && i < G.payload; i++)
                S.pad[i] = (char)('a' + i % 26);
        }
    }
    if (connect_range(0, nconns, clients, conn_timeout(clients)) < clients)
        return fail_line(name);
    S.cur = &S.h1;
    S.running = 1;
    for (size_t i = 0; i < clients; i++) {
        if (polling) {
            pexts[i].want_echo = 1;
            poll_pump_post(&pexts[i]);
        } else {
            send_echo(&conns[i]);
        }
    }
    run_until(NULL, G.warmup);
    memset(&S.h1, 0, sizeof(S.h1));
    S.acks = 0;
    size_t err0 = G.errors;
    uint64_t t0 = now_ns();
    run_until(NULL, secs);
    uint64_t t1 = now_ns();
    uint64_t acks = S.acks;
    S.running = 0;
    run_until(echo_idle, 5);
    double rate = (double)acks / secs_between(t0, t1);
    int ok = G.lost == 0 && G.errors == err0 && S.outstanding == 0 && acks > 0;
    printf("%s clients=%zu secs=%.0f acks=%llu acks/s=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f "
           "lost=%zu errors=%zu%s%s%s\n",
           name, clients, secs, (unsigned long long)acks, rate, hpct(&S.h1, 0.50),
           hpct(&S.h1, 0.99), S.h1.max / 1000.0, G.lost, G.errors, G.errors ? " last_error=\"" : "",
           G.last_error, G.errors ? "\"" : "");
    return ok ? 0 : 1;
}

/* Fan-out set-up shared by fanout and slow: n room members (k of them slow,
 * spread evenly) and one broadcaster outside the room. */
static int joins_pending;
static int joins_done(void)
{
    return joins_pending == 0 || G.lost;
}
static void join_tick(void)
{
    joins_pending = 0;
    for (size_t i = 0; i + 1 < nconns; i++)
        if (!conns[i].joined && conns[i].fd >= 0)
            joins_pending++;
}

static int fanout_setup(size_t n, size_t k)
{
    conn_alloc(n + 1);
    for (size_t i = 0; i < n; i++)
        conns[i].role = R_CLIENT;
    for (size_t j = 0; j < k; j++)
        conns[(j * n) / k].role = R_SLOW;
    S.bcaster = &conns[n];
    S.bcaster->role = R_BCASTER;
    S.bcaster->out_cap = (uint32_t)(G.payload + 256 > OUT_CAP ? G.payload + 256 : OUT_CAP);
    S.bcaster->out = malloc(S.bcaster->out_cap);
    S.bc_buf = malloc(G.payload + 128);
    S.pad = malloc(G.payload + 1);
    for (size_t i = 0; i < G.payload; i++)
        S.pad[i] = (char)('a' + i % 26);
    if (connect_range(0, n + 1, n + 1, conn_timeout(n)) < n + 1)
        return -1;
    for (size_t i = 0; i < n; i++)
        send_join(&conns[i]);
    joins_pending = (int)n;
    tick_fn = join_tick;
    run_until(joins_done, 30);
    tick_fn = NULL;
    fprintf(stderr, "loadgen: %zu joined the room\n", n - (size_t)joins_pending);
    return joins_pending || G.lost ? -1 : 0;
}

static uint64_t bc_limit; /* broadcasts to send (0: until stopped) */
static int bc_stop;
static void bc_tick(void)
{
    if (S.bc_busy && now_ns() - S.bc_sent_ns > 10000000000ull) {
        S.bc_timeouts++; /* 10 s without every delivery */
        S.bc_busy = 0;
    }
    if (!S.bc_busy && !bc_stop && (!bc_limit || S.bc_done + S.bc_timeouts < bc_limit))
        send_broadcast();
}
static int bc_finished(void)
{
    return !S.bc_busy && (bc_stop || (bc_limit && S.bc_done + S.bc_timeouts >= bc_limit));
}

static int scen_fanout(size_t n, uint64_t rounds)
{
    if (fanout_setup(n, 0) < 0)
        return fail_line("fanout");
    S.bc_expect = n;
    /* one broadcast to warm up, not counted */
    static hist warm;
    S.cur = &warm;
    bc_limit = 1;
    tick_fn = bc_tick;
    run_until(bc_finished, 30);
    S.cur = &S.h1;
    S.bc_done = S.bc_timeouts = 0;
    bc_limit = rounds;
    uint64_t t0 = now_ns();
    run_until(bc_finished, 600);
    uint64_t t1 = now_ns();
    tick_fn = NULL;
    run_until(NULL, 0.2); /* late deliveries */
    uint64_t sent = S.bc_seq, missing = 0, gaps = 0;
    for (size_t i = 0; i < n; i++) {
        missing += sent - conns[i].recv;
        gaps += conns[i].gaps;
    }
    uint64_t deliveries = S.bc_done * n;
    double rate = (double)deliveries / secs_between(t0, t1);
    printf("fanout clients=%zu bcasts=%llu payload=%zu deliveries=%llu deliveries/s=%.0f "
           "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f missing=%llu timeouts=%llu rss_mb=%.1f lost=%zu "
           "errors=%zu\n",
           n, (unsigned long long)S.bc_done, G.payload, (unsigned long long)deliveries, rate,
           hpct(&S.h1, 0.5), hpct(&S.h1, 0.99), S.h1.max / 1000.0, (unsigned long long)missing,
           (unsigned long long)S.bc_timeouts, G.rss_peak_kb / 1024.0, G.lost, G.errors);
    return missing == 0 && gaps == 0 && G.lost == 0 && S.bc_done == rounds ? 0 : 1;
}

static size_t slow_k;
static int drain_done(void)
{
    for (size_t i = 0; i + 1 < nconns; i++) {
        conn *c = &conns[i];
        if (c->role == R_SLOW && c->fd >= 0 && c->last_seq < S.bc_seq)
            return 0;
    }
    return 1;
}

static int scen_slow(size_t k, size_t n, double secs)
{
    slow_k = k;
    if (k > n || fanout_setup(n, k) < 0)
        return fail_line("slow");
    /* phase 1: everyone reads */
    S.bc_expect = n;
    S.cur = &S.h1;
    bc_limit = 0;
    bc_stop = 0;
    tick_fn = bc_tick;
    run_until(NULL, secs);
    bc_stop = 1;
    run_until(bc_finished, 15);
    uint64_t base_done = S.bc_done;
    sample_rss();
    uint64_t rss_base = G.rss_last_kb;
    /* phase 2: the slow ones stop reading */
    for (size_t i = 0; i < n; i++) {
        conn *c = &conns[i];
        if (c->role == R_SLOW && c->fd >= 0) {
            epoll_ctl(G.epfd, EPOLL_CTL_DEL, c->fd, NULL);
            c->paused = 1;
        }
    }
    S.slow_paused = 1;
    S.bc_expect = n - k;
    S.cur = &S.h2;
    S.bc_done = 0;
    G.rss_peak_kb = 0;
    bc_stop = 0;
    run_until(NULL, secs);
    bc_stop = 1;
    run_until(bc_finished, 15);
    tick_fn = NULL;
    uint64_t slow_done = S.bc_done;
    sample_rss();
    uint64_t rss_peak = G.rss_peak_kb, rss_end = G.rss_last_kb;
    /* drain the slow ones: closed by the server (dropped), or all there */
    for (size_t i = 0; i < n; i++) {
        conn *c = &conns[i];
        if (c->role == R_SLOW && c->fd >= 0) {
            c->paused = 0;
            c->out_armed = c->out_len > c->out_off; /* pongs queued meanwhile */
            struct epoll_event e = {.events = EPOLLIN | (c->out_armed ? EPOLLOUT : 0),
                                    .data.ptr = c};
            epoll_ctl(G.epfd, EPOLL_CTL_ADD, c->fd, &e);
        }
    }
    run_until(drain_done, 20);
    run_until(NULL, 0.2);
    size_t dropped = 0, slow_behind = 0;
    uint64_t missing = 0;
    for (size_t i = 0; i < n; i++) {
        conn *c = &conns[i];
        if (c->role == R_SLOW) {
            if (c->fd < 0)
                dropped++;
            else if (c->last_seq < S.bc_seq)
                slow_behind++;
        } else {
            missing += S.bc_seq - c->recv;
        }
    }
    double p99a = hpct(&S.h1, 0.99), p99b = hpct(&S.h2, 0.99);
    printf("slow clients=%zu slow=%zu payload=%zu secs=%.1f bcasts_base=%llu bcasts_slow=%llu "
           "p50_base_ms=%.2f p99_base_ms=%.2f p50_ms=%.2f p99_ms=%.2f p99_ratio=%.2f "
           "rss_base_mb=%.1f rss_peak_mb=%.1f rss_end_mb=%.1f dropped=%zu still_behind=%zu "
           "missing=%llu timeouts=%llu lost=%zu errors=%zu\n",
           n, k, G.payload, secs, (unsigned long long)base_done, (unsigned long long)slow_done,
           hpct(&S.h1, 0.5), p99a, hpct(&S.h2, 0.5), p99b, p99a > 0 ? p99b / p99a : 0,
           rss_base / 1024.0, rss_peak / 1024.0, rss_end / 1024.0, dropped, slow_behind,
           (unsigned long long)missing, (unsigned long long)S.bc_timeouts, G.lost, G.errors);
    return missing == 0 && G.lost == 0 && slow_done > 0 ? 0 : 1;
}

static void hs_tick(void)
{
    /* restart slots whose close did not finish within 2 s */
    uint64_t now = now_ns();
    for (size_t i = 0; i < nconns; i++) {
        conn *c = &conns[i];
        if (c->state == ST_CLOSING && now - c->sent_ns > 2000000000ull) {
            note_error("server did not close after the close frame", NULL);
            conn_close(c);
            G.conn_failed++;
            if (S.running)
                conn_start(c);
        }
    }
}

static int hs_idle(void)
{
    return G.n_connecting == 0 && G.n_ready == 0;
}

static int scen_handshake(double secs)
{
    size_t n = (size_t)G.concurrency;
    conn_alloc(n);
    for (size_t i = 0; i < n; i++)
        conns[i].role = R_HS;
    S.cur = &S.h1;
    S.running = 1;
    for (size_t i = 0; i < n; i++)
        conn_start(&conns[i]);
    tick_fn = hs_tick;
    run_until(NULL, G.warmup);
    memset(&S.h1, 0, sizeof(S.h1));
    S.hs_done = 0;
    size_t fail0 = G.conn_failed;
    uint64_t t0 = now_ns();
    run_until(NULL, secs);
    uint64_t t1 = now_ns();
    uint64_t done = S.hs_done;
    size_t failed = G.conn_failed - fail0;
    S.running = 0;
    run_until(hs_idle, 5);
    tick_fn = NULL;
    printf("handshake secs=%.0f concurrency=%zu handshakes=%llu per_s=%.0f p50_ms=%.2f "
           "p99_ms=%.2f failed=%zu errors=%zu%s%s%s\n",
           secs, n, (unsigned long long)done, (double)done / secs_between(t0, t1), hpct(&S.h1, 0.5),
           hpct(&S.h1, 0.99), failed, G.errors, G.errors ? " last_error=\"" : "", G.last_error,
           G.errors ? "\"" : "");
    return done > 0 && failed == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ main */

static void usage(void)
{
    fprintf(stderr,
            "usage: loadgen [--port P] [--host A] [--tls] [--pid SERVER_PID] [--inflight N]\n"
            "               [--timeout S] [--warmup S] [--msgpack] [--deflate] SCENARIO ARGS\n"
            "  connect N [--hold S]\n"
            "  echo C D [--payload BYTES]\n"
            "  fanout N R [--payload BYTES]\n"
            "  handshake D [--concurrency C]\n"
            "  slow K N [--secs D] [--payload BYTES]\n"
            "  pollecho C D\n");
}

static void build_frames(void)
{
    uint64_t r = now_ns() ^ ((uint64_t)getpid() << 32);
    for (int i = 0; i < 4; i++)
        G.mask[i] = (uint8_t)(r >> (i * 8)) | 1;
    G.f_upgrade_len = (size_t)snprintf(
        (char *)G.f_upgrade, sizeof(G.f_upgrade),
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: %s:%d\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
        G.host, G.port,
        G.deflate ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                  : "");
    G.f_pong_len = ws_frame(G.f_pong, 1, "3", 1);
    size_t a;
    if (G.msgpack) { /* {type: 0, nsp: "/"} and {type: 1, nsp: "/"} */
        static const uint8_t con[] = {0x82, 0xa4, 't', 'y', 'p',  'e', 0x00,
                                      0xa3, 'n',  's', 'p', 0xa1, '/'};
        static const uint8_t dis[] = {0x82, 0xa4, 't', 'y', 'p',  'e', 0x01,
                                      0xa3, 'n',  's', 'p', 0xa1, '/'};
        G.f_nsp_len = ws_frame(G.f_nsp, 2, con, sizeof(con));
        a = ws_frame(G.f_bye, 2, dis, sizeof(dis));
    } else {
        G.f_nsp_len = ws_frame(G.f_nsp, 1, "40", 2);
        a = ws_frame(G.f_bye, 1, "41", 2);
    }
    const uint8_t close1000[2] = {0x03, 0xe8};
    G.f_bye_len = a + ws_frame(G.f_bye + a, 8, close1000, 2);
}

int main(int argc, char **argv)
{
    G.host = "127.0.0.1";
    G.port = 3000;
    G.inflight = 256;
    G.hard_timeout = 300;
    G.warmup = 1;
    G.hold = 5;
    G.concurrency = 32;
    G.payload = 0;
    G.secs_opt = 8;
    G.slow_rcvbuf = 65536;
    static const struct option lo[] = {
        {"port", required_argument, NULL, 'p'},     {"port2", required_argument, NULL, '2'},
        {"host", required_argument, NULL, 'H'},     {"pid", required_argument, NULL, 'P'},
        {"inflight", required_argument, NULL, 'i'}, {"timeout", required_argument, NULL, 't'},
        {"warmup", required_argument, NULL, 'w'},   {"hold", required_argument, NULL, 'o'},
        {"payload", required_argument, NULL, 'b'},  {"concurrency", required_argument, NULL, 'c'},
        {"secs", required_argument, NULL, 's'},     {"slow-rcvbuf", required_argument, NULL, 'r'},
        {"spin", no_argument, NULL, 'S'},           {"tls", no_argument, NULL, 'T'},
        {"msgpack", no_argument, NULL, 'm'},        {"deflate", no_argument, NULL, 'z'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    int ch, payload_set = 0, tls = 0;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 'p': G.port = atoi(optarg); break;
        case '2': G.port2 = atoi(optarg); break;
        case 'H': G.host = optarg; break;
        case 'P': G.server_pid = atoi(optarg); break;
        case 'i': G.inflight = atoi(optarg); break;
        case 't': G.hard_timeout = atof(optarg); break;
        case 'w': G.warmup = atof(optarg); break;
        case 'o': G.hold = atof(optarg); break;
        case 'b':
            G.payload = strtoul(optarg, NULL, 10);
            payload_set = 1;
            break;
        case 'c': G.concurrency = atoi(optarg); break;
        case 's': G.secs_opt = atof(optarg); break;
        case 'r': G.slow_rcvbuf = atoi(optarg); break;
        case 'S': G.spin = 1; break;
        case 'T': tls = 1; break;
        case 'm': G.msgpack = 1; break;
        case 'z': G.deflate = 1; break;
        case 'h': usage(); return 0;
        default: usage(); return 2;
        }
    }
    if (optind >= argc) {
        usage();
        return 2;
    }
    const char *sc = argv[optind];
    long a1 = optind + 1 < argc ? atol(argv[optind + 1]) : -1;
    double a2 = optind + 2 < argc ? atof(argv[optind + 2]) : -1;
    if (G.payload > MAX_FRAME - 256 || G.inflight < 1 || G.concurrency < 1) {
        usage();
        return 2;
    }

    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    G.addr.sin_family = AF_INET;
    G.addr.sin_port = htons((uint16_t)G.port);
    if (inet_pton(AF_INET, G.host, &G.addr.sin_addr) != 1) {
        fprintf(stderr, "loadgen: bad --host %s (an IPv4 address)\n", G.host);
        return 2;
    }
    if (tls) {
        /* A benchmark: no verification, no session reuse; OpenSSL reads ahead
         * (fewer read calls per record) and keeps its buffers (nothing is
         * allocated per message). */
        G.tls = SSL_CTX_new(TLS_client_method());
        if (!G.tls) {
            fprintf(stderr, "loadgen: SSL_CTX_new failed\n");
            return 1;
        }
        SSL_CTX_set_verify(G.tls, SSL_VERIFY_NONE, NULL);
        SSL_CTX_set_session_cache_mode(G.tls, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(G.tls, SSL_OP_IGNORE_UNEXPECTED_EOF);
        SSL_CTX_set_mode(G.tls,
                         SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        SSL_CTX_set_read_ahead(G.tls, 1);
    }
    G.epfd = epoll_create1(EPOLL_CLOEXEC);
    t_start_ns = now_ns();
    G.deadline_ns = t_start_ns + (uint64_t)(G.hard_timeout * 1e9);
    build_frames();

    int rc;
    if (!strcmp(sc, "connect") && a1 > 0) {
        S.kind = SC_CONNECT;
        rc = scen_connect((size_t)a1);
    } else if (!strcmp(sc, "echo") && a1 > 0 && a2 > 0) {
        S.kind = SC_ECHO;
        rc = scen_echo((size_t)a1, a2, 0);
    } else if (!strcmp(sc, "pollecho") && a1 > 0 && a2 > 0 && !G.msgpack && !G.payload) {
        S.kind = SC_POLLECHO;
        rc = scen_echo((size_t)a1, a2, 1);
    } else if (!strcmp(sc, "fanout") && a1 > 0 && a2 > 0) {
        S.kind = SC_FANOUT;
        if (!payload_set)
            G.payload = 32;
        rc = scen_fanout((size_t)a1, (uint64_t)a2);
    } else if (!strcmp(sc, "handshake") && a1 > 0) {
        S.kind = SC_HANDSHAKE;
        rc = scen_handshake(atof(argv[optind + 1]));
    } else if (!strcmp(sc, "slow") && a1 >= 0 && a2 > 0) {
        S.kind = SC_SLOW;
        if (!payload_set)
            G.payload = 4096;
        rc = scen_slow((size_t)a1, (size_t)a2, G.secs_opt);
    } else {
        usage();
        return 2;
    }
    if (now_ns() >= G.deadline_ns) {
        fprintf(stderr, "loadgen: hard timeout (%.0f s) reached\n", G.hard_timeout);
        rc = 1;
    }
    if (G.deflate)
        fprintf(stderr, "loadgen: %llu messages came compressed\n", (unsigned long long)G.zmsgs);
    fflush(stdout);
    return rc;
}
