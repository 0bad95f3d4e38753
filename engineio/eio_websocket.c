/*
 * eio_websocket: the WebSocket transport. Each connection is a non-blocking
 * socket in the loop thread's epoll set: frames are read and parsed there
 * (eio_ws), and written from a bounded per-connection queue of shared frames
 * without ever blocking, so a client that stops reading delays nobody else.
 * Also the upgrade probe (2probe / 3probe / 5) of a polling session.
 *
 * Threading: engine lock held for every function. Reads and EPOLLOUT events
 * happen on the loop thread; queueing and flushing on whichever thread holds
 * the lock (flushes run in eio_server_unlock).
 * Ownership: a connection owns its fd and one reference to each queued frame.
 * A closed connection goes to srv->zombies and is freed by the loop thread at
 * the end of an iteration, so an event already fetched for it stays safe.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "eio_internal.h"

#define LINGER_MS 2000

static void on_linger_timer(eio__timer *t);
static void on_upgrade_timer(eio__timer *t);

static void set_events(eio__ws_conn *c, int want_out)
{
    if (c->epollout == want_out || c->state == EIO__WS_CLOSED)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->epollout = want_out;
}

eio__ws_conn *eio__ws_new(eio_server *srv, int fd, int version)
{
    eio__ws_conn *c = eio_calloc(1, sizeof(*c));
    c->srv = srv;
    c->fd = fd;
    c->version = version;
    c->state = EIO__WS_OPEN;
    eio_ws_assembler_init(&c->assembler, srv->opts.max_payload);
    eio__timer_init(&c->linger_timer, on_linger_timer);
    eio__timer_init(&c->upgrade_timer, on_upgrade_timer);
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev);
    if ((size_t)fd < srv->fd_owned_len)
        __atomic_store_n(&srv->fd_owned[fd], 1, __ATOMIC_RELAXED);
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    return c;
}

static void mark_dirty(eio__ws_conn *c)
{
    if (c->dirty)
        return;
    c->dirty = 1;
    c->dirty_next = c->srv->dirty;
    c->srv->dirty = c;
}

int eio__ws_send_frame(eio__ws_conn *c, eio_frame *f)
{
    if (c->state != EIO__WS_OPEN)
        return -1;
    if (c->wq_len == c->wq_cap) {
        size_t cap = c->wq_cap ? c->wq_cap * 2 : 8;
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

/* The WebSocket frame of a message for a protocol version, built once and
 * kept with the message so every receiver shares it. */
eio_frame *eio__message_ws_frame(eio_message *m, int version)
{
    eio_frame **slot = !m->binary ? &m->ws_text : version >= 4 ? &m->ws_bin_v4 : &m->ws_bin_v3;
    if (*slot)
        return *slot;
    size_t prefix = (!m->binary || version < 4) ? 1 : 0;
    uint8_t hdr[10];
    size_t hl =
        eio_ws_frame_header(hdr, m->binary ? EIO_WS_OP_BINARY : EIO_WS_OP_TEXT, m->len + prefix);
    eio_frame *f = eio_frame_new(hl + prefix + m->len);
    memcpy(f->data, hdr, hl);
    if (prefix)
        f->data[hl] = m->binary ? 0x04 : '4';
    memcpy(f->data + hl + prefix, m->data, m->len);
    *slot = f;
    return f;
}

int eio__ws_send_packet(eio__ws_conn *c, uint8_t type, eio_message *msg, int probe)
{
    eio_server *srv = c->srv;
    eio_frame *f = NULL;
    int r;
    switch (type) {
    case EIO_PACKET_MESSAGE: return eio__ws_send_frame(c, eio__message_ws_frame(msg, c->version));
    case EIO_PACKET_PING: return eio__ws_send_frame(c, srv->f_ping);
    case EIO_PACKET_PONG: return eio__ws_send_frame(c, probe ? srv->f_pong_probe : srv->f_pong);
    case EIO_PACKET_NOOP: return eio__ws_send_frame(c, srv->f_noop);
    case EIO_PACKET_OPEN: {
        uint8_t hdr[10];
        size_t hl = eio_ws_frame_header(hdr, EIO_WS_OP_TEXT, msg->len + 1);
        f = eio_frame_new(hl + 1 + msg->len);
        memcpy(f->data, hdr, hl);
        f->data[hl] = '0';
        memcpy(f->data + hl + 1, msg->data, msg->len);
        r = eio__ws_send_frame(c, f);
        eio_frame_unref(f);
        return r;
    }
    default:
        /* Engine.IO close and upgrade packets never go over a server WebSocket. */
        return 0;
    }
}

static void wq_pop(eio__ws_conn *c)
{
    eio__wq_item *it = &c->wq[c->wq_head];
    c->queued_bytes -= it->frame->len;
    eio_frame_unref(it->frame);
    c->wq_head = (c->wq_head + 1) % c->wq_cap;
    c->wq_len--;
}

static void wq_clear(eio__ws_conn *c)
{
    while (c->wq_len)
        wq_pop(c);
}

/* Final teardown: the fd is closed now; the memory is freed later. */
static void conn_finish(eio__ws_conn *c)
{
    eio_server *srv = c->srv;
    if (c->state == EIO__WS_CLOSED)
        return;
    c->state = EIO__WS_CLOSED;
    eio__timer_cancel(srv, &c->linger_timer);
    eio__timer_cancel(srv, &c->upgrade_timer);
    epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    if ((size_t)c->fd < srv->fd_owned_len)
        __atomic_store_n(&srv->fd_owned[c->fd], 0, __ATOMIC_RELAXED);
    close(c->fd);
    c->fd = -1;
    wq_clear(c);
    if (c->session)
        eio__ws_detach(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = NULL;
    c->next = srv->zombies;
    srv->zombies = c;
}

void eio__ws_free_zombies(eio_server *srv)
{
    while (srv->zombies) {
        eio__ws_conn *c = srv->zombies;
        if (c->dirty)
            return; /* still on the dirty list: freed after the next flush */
        srv->zombies = c->next;
        eio_buf_free(&c->rbuf);
        eio_ws_assembler_free(&c->assembler);
        free(c->wq);
        free(c);
    }
}

/* Writes as much of the queue as the socket takes now. */
static void conn_flush(eio__ws_conn *c)
{
    struct iovec iov[64];
    while (c->state != EIO__WS_CLOSED && c->wq_len) {
        int n = 0;
        for (size_t i = 0; i < c->wq_len && n < 64; i++) {
            eio__wq_item *it = &c->wq[(c->wq_head + i) % c->wq_cap];
            iov[n].iov_base = it->frame->data + it->offset;
            iov[n].iov_len = it->frame->len - it->offset;
            n++;
        }
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                set_events(c, 1);
                return;
            }
            /* The peer is gone: the read side will see it too. A probe's
             * failure leaves its polling session alone. */
            eio_socket *s = c->is_probe ? NULL : c->session;
            if (s) {
                eio__ws_detach(c);
                eio__session_close(s, "transport error");
            }
            conn_finish(c);
            return;
        }
        size_t left = (size_t)w;
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
    }
    if (c->state == EIO__WS_CLOSED)
        return;
    set_events(c, 0);
    if (c->state == EIO__WS_CLOSING && !c->shut_wr) {
        /* Close frame written: send FIN and wait for the peer's end. */
        shutdown(c->fd, SHUT_WR);
        c->shut_wr = 1;
        eio__timer_set(c->srv, &c->linger_timer, LINGER_MS);
    }
}

void eio__ws_flush_dirty(eio_server *srv)
{
    while (srv->dirty) {
        eio__ws_conn *c = srv->dirty;
        srv->dirty = c->dirty_next;
        c->dirty = 0;
        c->dirty_next = NULL;
        conn_flush(c);
    }
}

static void on_linger_timer(eio__timer *t)
{
    conn_finish(EIO__CONTAINER(t, eio__ws_conn, linger_timer));
}

void eio__ws_detach(eio__ws_conn *c)
{
    eio_socket *s = c->session;
    if (!s)
        return;
    if (s->ws == c)
        s->ws = NULL;
    if (s->probe == c) {
        s->probe = NULL;
        s->upgrading = 0; /* a probe that ends ends the upgrade (Node's cleanup) */
    }
    c->session = NULL;
    c->is_probe = 0;
    eio__timer_cancel(c->srv, &c->upgrade_timer);
}

void eio__ws_close(eio__ws_conn *c, int code, const char *reason)
{
    if (c->state != EIO__WS_OPEN)
        return;
    if (code == 0) {
        conn_finish(c);
        return;
    }
    eio_buf b = EIO_BUF_INIT;
    eio_ws_close_frame(code, reason ? reason : "", &b);
    eio_frame *f = eio_frame_from(b.data, b.len);
    eio_buf_free(&b);
    eio__ws_send_frame(c, f);
    eio_frame_unref(f);
    c->state = EIO__WS_CLOSING;
    mark_dirty(c);
}

/* ---------------------------------------------------------------- upgrade probe */

static void on_upgrade_timer(eio__timer *t)
{
    eio__ws_conn *c = EIO__CONTAINER(t, eio__ws_conn, upgrade_timer);
    eio__log(c->srv, EIO_LOG_DEBUG, "upgrade timed out: closing the probe, keeping the session");
    eio__ws_detach(c);
    eio__ws_close(c, EIO_WS_CLOSE_NORMAL, NULL);
}

static void probe_packet(eio__ws_conn *c, const eio_packet *p)
{
    eio_socket *s = c->session;
    if (p->type == EIO_PACKET_PING && p->len == 5 && memcmp(p->data, "probe", 5) == 0) {
        eio__ws_send_packet(c, EIO_PACKET_PONG, NULL, 1);
        s->upgrading = 1;
        eio__poll_wake(s); /* the pending GET ends with a noop */
        return;
    }
    if (p->type == EIO_PACKET_UPGRADE && s->upgrading) {
        eio__timer_cancel(c->srv, &c->upgrade_timer);
        c->is_probe = 0;
        s->probe = NULL;
        s->ws = c;
        s->transport = EIO_TRANSPORT_WEBSOCKET;
        s->upgrading = 0;
        s->upgraded = 1;
        eio__session_flush_to_ws(s);
        eio__poll_wake(s);
        eio__log(c->srv, EIO_LOG_DEBUG, "session %s upgraded to websocket", s->id);
        return;
    }
    /* Anything else on a probe ends the probe, not the session (as Node). */
    s->upgrading = 0;
    eio__ws_detach(c);
    eio__ws_close(c, EIO_WS_CLOSE_NORMAL, NULL);
}

/* ---------------------------------------------------------------- reading */

/* Fails the connection with a WebSocket close code (protocol errors). */
static void conn_fail(eio__ws_conn *c, int code, const char *why)
{
    eio_socket *s = c->is_probe ? NULL : c->session; /* a failed probe: the session stays */
    eio__log(c->srv, EIO_LOG_DEBUG, "websocket error %d: %s", code, why);
    eio__ws_detach(c);
    eio__ws_close(c, code, why);
    if (s)
        eio__session_close(s, "transport error");
}

static void on_message(eio__ws_conn *c, const eio_ws_message *m)
{
    eio_socket *s = c->session;
    if (!s)
        return;
    eio_packet p;
    if (eio_packet_decode(c->version, m->opcode == EIO_WS_OP_BINARY, m->data, m->len,
                          &c->srv->scratch, &p) != EIO_OK) {
        if (c->is_probe) {
            s->upgrading = 0;
            eio__ws_detach(c);
            eio__ws_close(c, EIO_WS_CLOSE_NORMAL, NULL);
            return;
        }
        eio__ws_detach(c);
        eio__ws_close(c, EIO_WS_CLOSE_NORMAL, NULL);
        eio__session_close(s, "parse error");
        return;
    }
    if (c->is_probe)
        probe_packet(c, &p);
    else
        eio__session_on_packet(s, &p);
}

/* Parses and handles every complete frame in buf[0..len); returns the number
 * of bytes used (the rest is an incomplete frame). */
static size_t process_frames(eio__ws_conn *c, uint8_t *buf, size_t len)
{
    size_t pos = 0;
    while (pos < len && c->state == EIO__WS_OPEN) {
        eio_ws_frame f;
        size_t limit = c->srv->opts.max_payload;
        if (c->assembler.in_message)
            limit = limit > c->assembler.buf.len ? limit - c->assembler.buf.len : 0;
        long r = eio_ws_parse_frame(buf + pos, len - pos, limit, &f);
        if (r == 0)
            break;
        if (r < 0) {
            conn_fail(c, (int)-r,
                      r == -EIO_WS_CLOSE_TOO_BIG ? "Max payload size exceeded" : "protocol error");
            return len;
        }
        pos += (size_t)r;
        switch (f.opcode) {
        case EIO_WS_OP_PING: {
            uint8_t hdr[10];
            size_t hl = eio_ws_frame_header(hdr, EIO_WS_OP_PONG, f.len);
            eio_frame *pong = eio_frame_new(hl + f.len);
            memcpy(pong->data, hdr, hl);
            if (f.len)
                memcpy(pong->data + hl, f.payload, f.len);
            eio__ws_send_frame(c, pong);
            eio_frame_unref(pong);
            break;
        }
        case EIO_WS_OP_PONG: break;
        case EIO_WS_OP_CLOSE: {
            /* The peer closes: answer with its code and end the session. */
            int code;
            const uint8_t *reason;
            size_t reason_len;
            int pc = eio_ws_parse_close(f.payload, f.len, &code, &reason, &reason_len);
            if (pc < 0) {
                conn_fail(c, -pc, "invalid close frame");
                return len;
            }
            eio_socket *s = c->is_probe ? NULL : c->session; /* a probe: the session stays */
            eio__ws_detach(c);
            eio__ws_close(c, code == 1005 ? EIO_WS_CLOSE_NORMAL : code, NULL);
            if (s)
                eio__session_close(s, "transport close");
            return len;
        }
        default: {
            eio_ws_message m;
            int a = eio_ws_assembler_feed(&c->assembler, &f, &m);
            if (a < 0) {
                conn_fail(c, -a,
                          a == -EIO_WS_CLOSE_INVALID_DATA ? "invalid UTF-8"
                          : a == -EIO_WS_CLOSE_TOO_BIG    ? "Max payload size exceeded"
                                                          : "protocol error");
                return len;
            }
            if (a == 1)
                on_message(c, &m);
            break;
        }
        }
    }
    return pos;
}

void eio__ws_handle_event(eio__ws_conn *c, uint32_t events)
{
    eio_server *srv = c->srv;
    if (c->state == EIO__WS_CLOSED)
        return;
    if (events & EPOLLOUT)
        conn_flush(c);
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || c->state == EIO__WS_CLOSED)
        return;
    uint8_t *buf = eio_buf_reserve(&srv->read_buf, 65536);
    ssize_t n = recv(c->fd, buf, 65536, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        eio_socket *s =
            c->is_probe ? NULL : c->session; /* a lost probe leaves the session on polling */
        eio__ws_detach(c);
        conn_finish(c);
        if (s)
            eio__session_close(s, n == 0 ? "transport close" : "transport error");
        return;
    }
    if (c->state == EIO__WS_CLOSING)
        return; /* draining until the peer's FIN */
    if (c->rbuf.len == 0) {
        size_t used = process_frames(c, buf, (size_t)n);
        if (used < (size_t)n && c->state == EIO__WS_OPEN)
            eio_buf_append(&c->rbuf, buf + used, (size_t)n - used);
    } else {
        eio_buf_append(&c->rbuf, buf, (size_t)n);
        size_t used = process_frames(c, c->rbuf.data, c->rbuf.len);
        eio_buf_consume(&c->rbuf, used);
        if (c->rbuf.len == 0 && c->rbuf.cap > 65536)
            eio_buf_free(&c->rbuf);
    }
}
