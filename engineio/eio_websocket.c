/*
 * eio_websocket: the WebSocket transport over a connection of eio_conn.c.
 * Frames are parsed on the loop (eio_ws, limits checked from the header) and
 * written from the connection's bounded queue of shared frames, so a client
 * that stops reading delays nobody else. Also the upgrade probe (2probe /
 * 3probe / 5) of a polling session.
 *
 * Threading: engine lock held for every function. Reads happen on the loop
 * thread; queueing on whichever thread holds the lock.
 * Ownership: the connection (eio_conn.c) owns the socket and the queue; a
 * session points at its WebSocket connection until detached.
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

static void on_upgrade_timer(eio__timer *t);

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
    case EIO_PACKET_MESSAGE: return eio__conn_send_frame(c, eio__message_ws_frame(msg, c->version));
    case EIO_PACKET_PING: return eio__conn_send_frame(c, srv->f_ping);
    case EIO_PACKET_PONG: return eio__conn_send_frame(c, probe ? srv->f_pong_probe : srv->f_pong);
    case EIO_PACKET_NOOP: return eio__conn_send_frame(c, srv->f_noop);
    case EIO_PACKET_OPEN: {
        uint8_t hdr[10];
        size_t hl = eio_ws_frame_header(hdr, EIO_WS_OP_TEXT, msg->len + 1);
        f = eio_frame_new(hl + 1 + msg->len);
        memcpy(f->data, hdr, hl);
        f->data[hl] = '0';
        memcpy(f->data + hl + 1, msg->data, msg->len);
        r = eio__conn_send_frame(c, f);
        eio_frame_unref(f);
        return r;
    }
    default:
        /* Engine.IO close and upgrade packets never go over a server WebSocket. */
        return 0;
    }
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
        eio__conn_finish(c);
        return;
    }
    eio_buf b = EIO_BUF_INIT;
    eio_ws_close_frame(code, reason ? reason : "", &b);
    eio_frame *f = eio_frame_from(b.data, b.len);
    eio_buf_free(&b);
    eio__conn_send_frame(c, f);
    eio_frame_unref(f);
    eio__conn_close(c, 1);
}

void eio__ws_start(eio__conn *c, eio_socket *s, int version, int is_probe)
{
    eio_server *srv = c->srv;
    c->mode = EIO__M_WS;
    c->version = version;
    c->keep_alive = 0;
    eio_ws_assembler_init(&c->assembler, srv->opts.max_payload);
    eio__timer_init(&c->upgrade_timer, on_upgrade_timer);
    eio__timer_cancel(srv, &c->idle_timer);
    c->session = s;
    if (!s)
        return;
    if (is_probe) {
        c->is_probe = 1;
        s->probe = c;
        eio__timer_set(srv, &c->upgrade_timer, (uint64_t)srv->opts.upgrade_timeout_ms);
    } else {
        s->ws = c;
    }
}

/* The connection's peer went away (orderly: it ended its side). */
void eio__ws_lost(eio__ws_conn *c, int orderly)
{
    eio_socket *s =
        c->is_probe ? NULL : c->session; /* a lost probe leaves the session on polling */
    eio__ws_detach(c);
    if (s)
        eio__session_close(s, orderly ? "transport close" : "transport error");
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
size_t eio__ws_process(eio__ws_conn *c, uint8_t *buf, size_t len)
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
            if (c->queued_bytes + f.len + 2 > c->srv->opts.max_send_queue) {
                /* Pings from a peer that does not read its pongs: the same
                 * cap as every other write (max_send_queue). */
                eio_socket *s = c->is_probe ? NULL : c->session;
                eio__log(c->srv, EIO_LOG_WARN,
                         "websocket: pongs over %zu queued bytes (peer not reading): closing",
                         c->srv->opts.max_send_queue);
                eio__ws_detach(c);
                eio__conn_finish(c);
                if (s)
                    eio__session_close(s, "transport error");
                return len;
            }
            uint8_t hdr[10];
            size_t hl = eio_ws_frame_header(hdr, EIO_WS_OP_PONG, f.len);
            eio_frame *pong = eio_frame_new(hl + f.len);
            memcpy(pong->data, hdr, hl);
            if (f.len)
                memcpy(pong->data + hl, f.payload, f.len);
            eio__conn_send_frame(c, pong);
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
