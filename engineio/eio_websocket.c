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

#include "eio_debug.h"
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

/* ---------------------------------------------------------------- permessage-deflate */

struct eio__deflated {
    eio_frame *f[3][8]; /* [text, binary v4, binary v3][server window bits - 8] */
};

void eio__message_free_deflated(eio_message *m)
{
    if (!m->deflated)
        return;
    for (int i = 0; i < 3; i++)
        for (int b = 0; b < 8; b++)
            eio_frame_unref(m->deflated->f[i][b]);
    free(m->deflated);
    m->deflated = NULL;
}

void eio__pmd_server_free(eio_server *srv)
{
    for (int b = 0; b < 8; b++) {
        eio_pmd_deflater_free(srv->pmd_deflaters[b]);
        srv->pmd_deflaters[b] = NULL;
    }
}

/* The RSV1 frame of a message for a protocol version and a server window,
 * compressed once (each message alone, so the bytes depend on nothing else)
 * and kept with the message for every receiver with that window. */
static eio_frame *message_deflated_frame(eio_server *srv, eio_message *m, int version, int bits)
{
    if (bits < 8 || bits > 15)
        bits = 15;
    int form = !m->binary ? 0 : version >= 4 ? 1 : 2;
    if (!m->deflated)
        m->deflated = eio_calloc(1, sizeof(*m->deflated));
    eio_frame **slot = &m->deflated->f[form][bits - 8];
    if (*slot)
        return *slot;
    if (!srv->pmd_deflaters[bits - 8])
        srv->pmd_deflaters[bits - 8] = eio_pmd_deflater_new(bits);
    uint8_t prefix = m->binary ? 0x04 : '4';
    size_t prefix_len = (!m->binary || version < 4) ? 1 : 0;
    eio_buf z = EIO_BUF_INIT;
    eio_buf_reserve(&z, 10 + m->len / 2 + 64);
    z.len = 10; /* room for the header, written in front of the payload */
    eio_pmd_deflate(srv->pmd_deflaters[bits - 8], &prefix, prefix_len, m->data, m->len, &z);
    size_t payload = z.len - 10;
    uint8_t hdr[10];
    size_t hl = eio_ws_frame_header(hdr, m->binary ? EIO_WS_OP_BINARY : EIO_WS_OP_TEXT, payload);
    hdr[0] |= 0x40; /* RSV1: this message is compressed */
    memcpy(z.data + 10 - hl, hdr, hl);
    *slot = eio_frame_from(z.data + 10 - hl, hl + payload);
    eio_buf_free(&z);
    return *slot;
}

/* Whether a message goes out deflated on c: the extension agreed, the
 * message not sent with compress(false), and its frame payload (packet type
 * prefix included, as ws measures what it is given) at least the threshold. */
static int should_deflate(const eio__ws_conn *c, const eio_message *m)
{
    if (!c->pmd_on || m->no_compress)
        return 0;
    size_t prefix = (!m->binary || c->version < 4) ? 1 : 0;
    return m->len + prefix >= c->srv->opts.per_message_deflate_threshold;
}

int eio__ws_send_packet(eio__ws_conn *c, uint8_t type, eio_message *msg, int probe)
{
    eio_server *srv = c->srv;
    eio_frame *f = NULL;
    int r;
    switch (type) {
    case EIO_PACKET_MESSAGE:
        if (should_deflate(c, msg))
            return eio__conn_send_frame(
                c, message_deflated_frame(srv, msg, c->version, c->pmd.server_max_window_bits));
        return eio__conn_send_frame(c, eio__message_ws_frame(msg, c->version));
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
    if (c->pmd_on)
        c->assembler.inflater =
            eio_pmd_inflater_new(c->pmd.client_max_window_bits, c->pmd.client_no_context_takeover);
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

/* A frame the peer makes us send (a pong for its ping, a "3probe" for its
 * "2probe") counts against max_send_queue as every other write: a peer that
 * asks without reading the answers is closed ("transport error", no close
 * frame: its queue is full) instead of growing the queue. Returns 1 when c
 * was closed. Called while reading, where closing is safe. */
static int reply_over_cap(eio__ws_conn *c, size_t frame_len)
{
    if (c->queued_bytes + frame_len <= c->srv->opts.max_send_queue)
        return 0;
    eio_socket *s = c->is_probe ? NULL : c->session;
    c->srv->stats.send_queue_overflows++;
    eio__log(c->srv, EIO_LOG_WARN,
             "websocket: replies over %zu queued bytes (peer not reading): closing",
             c->srv->opts.max_send_queue);
    eio__ws_detach(c);
    eio__conn_finish(c);
    if (s)
        eio__session_close(s, "transport error");
    return 1;
}

static void on_upgrade_timer(eio__timer *t)
{
    eio__ws_conn *c = EIO__CONTAINER(t, eio__ws_conn, upgrade_timer);
    eio__log(c->srv, EIO_LOG_DEBUG, "upgrade timed out: closing the probe, keeping the session");
    EIO__DEBUG(c->srv, EIO__DBG_SOCKET, "%s: client did not complete upgrade - closing transport",
               c->session ? c->session->id : "?");
    eio__ws_detach(c);
    eio__ws_close(c, EIO_WS_CLOSE_NORMAL, NULL);
}

static void probe_packet(eio__ws_conn *c, const eio_packet *p)
{
    eio_socket *s = c->session;
    if (p->type == EIO_PACKET_PING && p->len == 5 && memcmp(p->data, "probe", 5) == 0) {
        EIO__DEBUG(c->srv, EIO__DBG_SOCKET, "%s: got probe ping packet, sending pong", s->id);
        if (reply_over_cap(c, c->srv->f_pong_probe->len))
            return;
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
        c->srv->stats.upgrades++;
        EIO__DEBUG(c->srv, EIO__DBG_SOCKET, "%s: got upgrade packet - upgrading", s->id);
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
    EIO__DEBUG(c->srv, EIO__DBG_TRANSPORT, "%s: websocket error %d: %s", s ? s->id : "-", code,
               why);
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
    if (c->srv->debug & EIO__DBG_WS) {
        char shown[160];
        eio__debug(
            EIO__DBG_WS, "%s: received \"%s\"", s->id,
            eio_debug_data(shown, sizeof(shown), m->data, m->len, m->opcode == EIO_WS_OP_BINARY));
    }
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

/* What was read, frame by frame (the pure part, no session touched):
 * returns the bytes used, 0 for an incomplete frame, or -code for a
 * protocol error (*why says which). *it is a control frame, a complete
 * message, or kind 0 (a fragment taken in, the message not complete). */
static long next_item(eio__ws_conn *c, uint8_t *buf, size_t len, eio__ws_item *it, const char **why)
{
    eio_ws_frame f;
    long r = eio_ws_parse_frame_ex(buf, len, eio_ws_assembler_room(&c->assembler), c->pmd_on, &f);
    if (r <= 0) {
        *why = r == -EIO_WS_CLOSE_TOO_BIG ? "Max payload size exceeded" : "protocol error";
        return r;
    }
    it->kind = f.opcode;
    it->data = f.payload;
    it->len = f.len;
    if (f.opcode == EIO_WS_OP_PING || f.opcode == EIO_WS_OP_PONG || f.opcode == EIO_WS_OP_CLOSE)
        return r;
    eio_ws_message m;
    int a = eio_ws_assembler_feed(&c->assembler, &f, &m);
    if (a < 0) {
        *why = a == -EIO_WS_CLOSE_INVALID_DATA
                   ? (c->pmd_on ? "invalid UTF-8 or DEFLATE data" : "invalid UTF-8")
               : a == -EIO_WS_CLOSE_TOO_BIG          ? "Max payload size exceeded"
               : a == -EIO_WS_CLOSE_POLICY_VIOLATION ? "Too many message fragments"
                                                     : "protocol error";
        return a;
    }
    it->kind = a == 1 ? m.opcode : 0;
    it->data = m.data;
    it->len = m.len;
    return r;
}

/* Acts on one frame or message; returns 1 when the connection is done with. */
static int handle_item(eio__ws_conn *c, const eio__ws_item *it)
{
    switch (it->kind) {
    case 0:
    case EIO_WS_OP_PONG: return 0;
    case EIO_WS_OP_PING: {
        if (reply_over_cap(c, it->len + 2))
            return 1;
        uint8_t hdr[10];
        size_t hl = eio_ws_frame_header(hdr, EIO_WS_OP_PONG, it->len);
        eio_frame *pong = eio_frame_new(hl + it->len);
        memcpy(pong->data, hdr, hl);
        if (it->len)
            memcpy(pong->data + hl, it->data, it->len);
        eio__conn_send_frame(c, pong);
        eio_frame_unref(pong);
        return 0;
    }
    case EIO_WS_OP_CLOSE: {
        /* The peer closes: answer with its code and end the session. */
        int code;
        const uint8_t *reason;
        size_t reason_len;
        int pc = eio_ws_parse_close(it->data, it->len, &code, &reason, &reason_len);
        if (pc < 0) {
            conn_fail(c, -pc, "invalid close frame");
            return 1;
        }
        eio_socket *s = c->is_probe ? NULL : c->session; /* a probe: the session stays */
        EIO__DEBUG(c->srv, EIO__DBG_WS, "%s: close frame (code %d): closing", s ? s->id : "probe",
                   code);
        eio__ws_detach(c);
        eio__ws_close(c, code == 1005 ? EIO_WS_CLOSE_NORMAL : code, NULL);
        if (s)
            eio__session_close(s, "transport close");
        return 1;
    }
    default: {
        eio_ws_message m = {.opcode = it->kind, .data = it->data, .len = it->len};
        on_message(c, &m);
        return 0;
    }
    }
}

/* Parses and handles every complete frame in buf[0..len); returns the number
 * of bytes used (the rest is an incomplete frame). */
size_t eio__ws_process(eio__ws_conn *c, uint8_t *buf, size_t len)
{
    size_t pos = 0;
    while (pos < len && c->state == EIO__WS_OPEN) {
        eio__ws_item it;
        const char *why;
        long r = next_item(c, buf + pos, len - pos, &it, &why);
        if (r == 0)
            break;
        if (r < 0) {
            conn_fail(c, (int)-r, why);
            return len;
        }
        pos += (size_t)r;
        if (handle_item(c, &it))
            return len;
    }
    return pos;
}

void eio__ws_preparse(eio__ws_conn *c, uint8_t *buf, size_t len, eio__ws_preparsed *out)
{
    size_t pos = 0;
    out->n = 0;
    out->err = 0;
    while (pos < len && out->n < EIO__PREPARSE_ITEMS) {
        eio__ws_item it;
        long r = next_item(c, buf + pos, len - pos, &it, &out->why);
        if (r == 0)
            break;
        if (r < 0) {
            out->err = (int)-r;
            pos = len;
            break;
        }
        pos += (size_t)r;
        if (!it.kind)
            continue;
        out->items[out->n++] = it;
        /* A close ends the stream; a message in the assembler's buffer
         * (inflated or assembled) lives only until its next frame. */
        if (it.kind == EIO_WS_OP_CLOSE || it.data < buf || it.data >= buf + len)
            break;
    }
    out->used = pos;
    c->pre_parsed = out;
}

size_t eio__ws_run_preparsed(eio__ws_conn *c)
{
    eio__ws_preparsed *pp = c->pre_parsed;
    c->pre_parsed = NULL;
    c->srv->preparsed_items += pp->n;
    for (size_t i = 0; i < pp->n && c->state == EIO__WS_OPEN; i++)
        if (handle_item(c, &pp->items[i]))
            return pp->used;
    if (pp->err && c->state == EIO__WS_OPEN)
        conn_fail(c, pp->err, pp->why);
    return pp->used;
}
