/*
 * eio_polling: the HTTP side of the engine, served on the loop (eio_conn.c
 * reads and frames the requests). Handshakes, long-polling GET and POST (v3
 * and v4 framing, v3 binary payloads, b64 and JSONP), request verification as
 * Node's engine.io verify() does it, CORS preflights, and WebSocket upgrade
 * requests (checked as engine.io and ws check them, answered 101 here, then
 * the connection becomes the WebSocket: eio_websocket.c).
 *
 * A GET with nothing to send parks its connection on the session (no thread
 * waits); packets queued for the session mark it ready, and the flush at the
 * end of the lock answers it with everything queued by then.
 *
 * GET payloads are compressed as engine.io's httpCompression does it
 * (gzip or deflate by Accept-Encoding, from a threshold on).
 *
 * Threading: engine lock held for every function (the loop thread, or the
 * flush in eio_server_unlock). User callbacks run here with the lock held.
 * Ownership: a parked GET or a POST in progress holds a reference to its
 * session (conn->session).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eio_compress.h"
#include "eio_debug.h"
#include "eio_internal.h"

void eio__poll_wake(eio_socket *s)
{
    eio__conn *c = s->get_conn;
    if (!c || c->ready)
        return;
    c->ready = 1;
    c->ready_next = s->srv->ready_polls;
    s->srv->ready_polls = c;
}

/* ---------------------------------------------------------------- responses */

static void respond_error(eio_http_response *resp, int code, int status, const char *message)
{
    resp->status = status;
    resp->chunked = 1; /* Node: writeHead, then end(body) */
    resp->content_type = "application/json";
    eio_buf_reset(&resp->body);
    eio_buf_append_str(&resp->body, "{\"code\":");
    eio_buf_append_uint(&resp->body, (uint64_t)code);
    eio_buf_append_str(&resp->body, ",\"message\":\"");
    for (const char *p = message ? message : eio_errcode_message(code); *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\') {
            eio_buf_append_byte(&resp->body, '\\');
            eio_buf_append_byte(&resp->body, ch);
        } else if (ch < 0x20) {
            static const char hex[] = "0123456789abcdef";
            eio_buf_append_str(&resp->body, "\\u00");
            eio_buf_append_byte(&resp->body, (uint8_t)hex[ch >> 4]);
            eio_buf_append_byte(&resp->body, (uint8_t)hex[ch & 15]);
        } else {
            eio_buf_append_byte(&resp->body, ch);
        }
    }
    eio_buf_append_str(&resp->body, "\"}");
}

static void respond_empty(eio_http_response *resp, int status)
{
    resp->status = status;
    resp->content_type = NULL;
    eio_buf_reset(&resp->body);
}

static void respond_ok(eio_http_response *resp)
{
    resp->status = 200;
    eio_buf_append_str(&resp->headers, "Cache-Control: no-store\r\n");
    resp->content_type = "text/html";
    eio_buf_reset(&resp->body);
    eio_buf_append_str(&resp->body, "ok");
}

static void cookie_header(eio_server *srv, const char *sid, eio_buf *out)
{
    if (!srv->opts.cookie)
        return;
    eio_buf_append_str(out, "Set-Cookie: ");
    eio_buf_append_str(out, srv->opts.cookie);
    eio_buf_append_byte(out, '=');
    eio_buf_append_str(out, sid);
    if (srv->opts.cookie_path) {
        eio_buf_append_str(out, "; Path=");
        eio_buf_append_str(out, srv->opts.cookie_path);
    }
    if (srv->opts.cookie_http_only)
        eio_buf_append_str(out, "; HttpOnly");
    if (srv->opts.cookie_same_site) {
        eio_buf_append_str(out, "; SameSite=");
        eio_buf_append_str(out, srv->opts.cookie_same_site);
    }
    eio_buf_append_str(out, "\r\n");
}

/* Builds the GET answer from the session's queue (lock held). An empty queue
 * answers a noop, or a close packet once the session is closed. A session
 * closing (eio_socket_close) first drains its queue, then gets "noop, close"
 * from the next GET, as Node's polling transport sends them. */
static void take_payload(eio_socket *s, eio_http_response *resp)
{
    eio_packet stack_pk[16];
    int closing_now = s->state == EIO__S_CLOSING && s->outq_len == 0;
    size_t n = s->outq_len ? s->outq_len : closing_now ? 2 : 1;
    eio_packet *pk = n <= 16 ? stack_pk : eio_malloc(n * sizeof(*pk));
    int any_compress = 0;
    if (s->outq_len == 0) {
        memset(pk, 0, n * sizeof(*pk));
        pk[0].type = s->state == EIO__S_CLOSED ? EIO_PACKET_CLOSE : EIO_PACKET_NOOP;
        if (closing_now)
            pk[1].type = EIO_PACKET_CLOSE;
    } else {
        for (size_t i = 0; i < s->outq_len; i++) {
            eio__out *o = &s->outq[(s->outq_head + i) % s->outq_cap];
            if (o->type != EIO_PACKET_CLOSE && !(o->msg && o->msg->no_compress))
                any_compress = 1;
            pk[i].type = (eio_packet_type)o->type;
            pk[i].binary = o->msg ? o->msg->binary : 0;
            pk[i].data = o->msg ? o->msg->data : o->probe ? (const uint8_t *)"probe" : NULL;
            pk[i].len = o->msg ? o->msg->len : o->probe ? 5 : 0;
        }
    }
    eio_payload_format fmt = eio_payload_pick_format(s->version, s->supports_binary, pk, n);
    if (s->jsonp) {
        eio_buf raw = EIO_BUF_INIT;
        eio_payload_encode(fmt, pk, n, &raw);
        eio_jsonp_wrap(s->jsonp, raw.data, raw.len, &resp->body);
        eio_buf_free(&raw);
        resp->content_type = "text/javascript; charset=UTF-8";
    } else {
        eio_payload_encode(fmt, pk, n, &resp->body);
        resp->content_type = eio_payload_content_type(fmt);
    }
    resp->status = 200;
    if (s->srv->debug & EIO__DBG_POLLING) {
        char shown[160];
        eio__debug(EIO__DBG_POLLING, "%s: writing \"%s\"", s->id,
                   eio_debug_data(shown, sizeof(shown), resp->body.data, resp->body.len,
                                  fmt == EIO_PAYLOAD_V3_BINARY));
    }
    /* Node sends a lone noop or close uncompressed, and a payload whose
     * every packet was sent with compress false (polling.ts send: compress
     * if some packet's options.compress; its pings, pongs and the open
     * packet have it). */
    resp->payload = s->outq_len > 0 && any_compress;
    eio_buf_append_str(&resp->headers, "Cache-Control: no-store\r\n");
    if (pk != stack_pk)
        free(pk);
    /* Drop what was sent. */
    for (size_t i = 0; i < s->outq_len; i++)
        eio_message_unref(s->outq[(s->outq_head + i) % s->outq_cap].msg);
    s->outq_head = s->outq_len = 0;
    s->outq_bytes = 0;
    if (closing_now)
        eio__session_close(s, s->close_reason ? s->close_reason : "forced close");
}

/* The request's Accept-Encoding value, several headers joined with ", " as
 * Node joins them (in *joined when there are several); NULL when absent. */
static const char *accept_encoding(const eio_request *req, eio_buf *joined, size_t *len)
{
    const char *first = NULL;
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcasecmp(req->headers[i].name, "Accept-Encoding") != 0)
            continue;
        if (!first) {
            first = req->headers[i].value;
            continue;
        }
        if (!joined->len)
            eio_buf_append_str(joined, first);
        eio_buf_append_str(joined, ", ");
        eio_buf_append_str(joined, req->headers[i].value);
    }
    if (joined->len) {
        *len = joined->len;
        return (const char *)joined->data;
    }
    *len = first ? strlen(first) : 0;
    return first;
}

/* engine.io's httpCompression (polling.ts doWrite): a payload of at least
 * the threshold, to a request accepting gzip or deflate, goes out compressed
 * with Content-Encoding and, as Node streams it through zlib, chunked
 * framing (no Content-Length); no Vary, as Node sets none. Compressed here,
 * with the lock held: the input is the one answer already in memory and the
 * output at most deflateBound of it. */
static void compress_payload(eio__conn *c, eio_http_response *resp)
{
    static const char *const codings[] = {"gzip", "deflate"};
    static const eio_coding ids[] = {EIO_CODING_GZIP, EIO_CODING_DEFLATE};
    eio_server *srv = c->srv;
    if (!srv->opts.http_compression || resp->body.len < srv->opts.http_compression_threshold)
        return;
    eio_buf joined = EIO_BUF_INIT;
    size_t len;
    const char *value = accept_encoding(&c->req, &joined, &len);
    int pick = eio_http_accept_encoding(value, len, codings, 2);
    eio_buf_free(&joined);
    if (pick < 0)
        return;
    eio_buf z = EIO_BUF_INIT;
    eio_compress(ids[pick], resp->body.data, resp->body.len, &z);
    eio_buf_free(&resp->body);
    resp->body = z;
    eio_buf_append_str(&resp->headers, "Content-Encoding: ");
    eio_buf_append_str(&resp->headers, codings[pick]);
    eio_buf_append_str(&resp->headers, "\r\n");
    resp->chunked = 1;
}

/* Queues resp on c, with the CORS lines, and goes on to the next request. */
static void send_response(eio__conn *c, eio_http_response *resp)
{
    if (resp->payload)
        compress_payload(c, resp);
    eio_buf extra = EIO_BUF_INIT;
    eio__cors_headers(c->srv, &c->req, 0, &extra);
    if (resp->headers.len)
        eio_buf_append(&extra, resp->headers.data, resp->headers.len);
    eio__conn_respond_ex(c, resp->status, resp->content_type, (const char *)extra.data, extra.len,
                         resp->body.data, resp->body.len, resp->chunked);
    eio_buf_free(&extra);
    eio_http_response_free(resp);
    eio__conn_request_done(c);
}

/* The answer to a GET that may go out now (lock held). */
static void answer_get(eio_socket *s, eio_http_response *resp)
{
    if (s->transport != EIO_TRANSPORT_POLLING) {
        /* Upgraded while waiting: end this poll. */
        eio_packet noop = {EIO_PACKET_NOOP, 0, NULL, 0};
        eio_payload_format fmt = eio_payload_pick_format(s->version, 0, &noop, 1);
        eio_payload_encode(fmt, &noop, 1, &resp->body);
        resp->content_type = eio_payload_content_type(fmt);
        resp->status = 200;
        eio_buf_append_str(&resp->headers, "Cache-Control: no-store\r\n");
        return;
    }
    take_payload(s, resp);
}

void eio__run_ready_polls(eio_server *srv)
{
    while (srv->ready_polls) {
        eio__conn *c = srv->ready_polls;
        srv->ready_polls = c->ready_next;
        c->ready_next = NULL;
        c->ready = 0;
        eio_socket *s = c->session;
        if (c->state != EIO__WS_OPEN || c->mode != EIO__M_PARKED || !s)
            continue;
        s->get_conn = NULL;
        c->session = NULL;
        c->mode = EIO__M_WRITING;
        eio_http_response resp = {0};
        answer_get(s, &resp);
        send_response(c, &resp);
        eio__session_unref(s);
    }
}

void eio__poll_conn_lost(eio__conn *c)
{
    eio_socket *s = c->session;
    c->session = NULL;
    if (!s)
        return;
    if (s->get_conn == c) {
        s->get_conn = NULL;
        eio__log(c->srv, EIO_LOG_DEBUG, "session %s: poll connection closed prematurely", s->id);
        eio__session_close(s, "transport error");
    }
    if (s->post_conn == c) {
        s->post_conn = NULL;
        eio__log(c->srv, EIO_LOG_DEBUG, "session %s: data request connection closed prematurely",
                 s->id);
        eio__session_close(s, "transport error");
    }
    eio__session_unref(s);
}

/* A GET on a session: answered now, or parked until there is something to
 * send. */
static void serve_get(eio__conn *c, eio_socket *s, eio_http_response *resp)
{
    eio_server *srv = s->srv;
    if (s->get_conn) {
        eio__log(srv, EIO_LOG_DEBUG, "session %s: overlapping GET", s->id);
        eio__session_close(s, "transport error");
        respond_empty(resp, 400);
        send_response(c, resp);
        return;
    }
    if (s->outq_len == 0 && s->state == EIO__S_OPEN && !s->upgrading &&
        s->transport == EIO_TRANSPORT_POLLING) {
        c->mode = EIO__M_PARKED;
        c->session = s;
        s->refs++;
        s->get_conn = c;
        eio_http_response_free(resp);
        return;
    }
    answer_get(s, resp);
    send_response(c, resp);
}

/* A POST on a session, at its head: checked, then its body is read. */
static void serve_post(eio__conn *c, eio_socket *s)
{
    eio_server *srv = s->srv;
    eio_http_response resp = {0};
    /* A declared length over maxHttpBufferSize is not refused at the head:
     * as Node, the body is counted and refused (413) once it passes. */
    const char *ctype = eio_request_header(&c->req, "Content-Type");
    int is_binary = ctype && strncasecmp(ctype, "application/octet-stream", 24) == 0;
    if ((is_binary && s->version >= 4) || s->post_conn) {
        if (s->post_conn)
            eio__log(srv, EIO_LOG_DEBUG, "session %s: overlapping POST", s->id);
        eio__session_close(s, "transport error"); /* Node: "invalid content" / overlap */
        respond_empty(&resp, 400);                /* the body is read and dropped */
        send_response(c, &resp);
        return;
    }
    s->post_conn = c;
    c->session = s;
    s->refs++;
    eio__conn_start_body(c, EIO__BODY_POST, srv->opts.max_payload);
}

void eio__engine_post_body(eio__conn *c, int ok)
{
    eio_socket *s = c->session;
    eio_server *srv = c->srv;
    c->session = NULL;
    if (!s)
        return;
    if (s->post_conn == c)
        s->post_conn = NULL;
    if (!ok) {
        /* Over the limit or malformed: the connection answers the refusal and
         * closes; Node closes the session with it. */
        eio__session_close(s, "transport error");
        eio__session_unref(s);
        return;
    }
    const char *ctype = eio_request_header(&c->req, "Content-Type");
    int is_binary = ctype && strncasecmp(ctype, "application/octet-stream", 24) == 0;
    eio_buf payload = EIO_BUF_INIT;
    int bad = 0;
    if (s->jsonp) {
        if (eio_jsonp_unwrap(c->body.data ? c->body.data : (const uint8_t *)"", c->body.len,
                             &payload) != EIO_OK)
            bad = 1;
    } else {
        payload = c->body;
        c->body = (eio_buf)EIO_BUF_INIT;
    }
    if (bad) {
        eio__session_close(s, "parse error");
    } else if (s->state == EIO__S_OPEN) {
        if (srv->debug & EIO__DBG_POLLING) {
            char shown[160];
            eio__debug(EIO__DBG_POLLING, "%s: received \"%s\"", s->id,
                       eio_debug_data(shown, sizeof(shown), payload.data, payload.len, is_binary));
        }
        eio_payload_format fmt = s->version >= 4 ? EIO_PAYLOAD_V4
                                 : is_binary     ? EIO_PAYLOAD_V3_BINARY
                                                 : EIO_PAYLOAD_V3_TEXT;
        eio_payload_reader r;
        eio_payload_reader_init(&r, s->version, fmt,
                                payload.data ? payload.data : (const uint8_t *)"", payload.len);
        eio_packet p;
        int got;
        while (s->state == EIO__S_OPEN && (got = eio_payload_next(&r, &p)) == 1)
            eio__session_on_packet(s, &p);
        if (s->state == EIO__S_OPEN && got < 0)
            eio__session_close(s, "parse error");
        eio_payload_reader_free(&r);
    }
    eio_buf_free(&payload);
    eio_http_response resp = {0};
    respond_ok(&resp);
    send_response(c, &resp);
    eio__session_unref(s);
    (void)srv;
}

/* Origin header with characters Node's checkInvalidHeaderChar refuses. */
static int invalid_header_chars(const char *v)
{
    if (!v)
        return 0;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (!(*p == '\t' || (*p >= 0x20 && *p <= 0x7e) || *p >= 0x80))
            return 1;
    return 0;
}

typedef struct query_params {
    eio_buf transport, sid, eio, b64, j;
    int has_sid, has_eio, has_b64, has_j;
} query_params;

/* A decoded value holding a NUL ("polling%00", "<sid>%00junk") matches
 * nothing, as in Node, where it is a different string: it is emptied, so the
 * checks below refuse it (Transport unknown, Session ID unknown, Unsupported
 * protocol version) instead of reading it up to the NUL. */
static void no_nul(eio_buf *b)
{
    if (b->len && memchr(b->data, 0, b->len))
        eio_buf_reset(b), eio_buf_cstr(b);
}

static void params_read(const eio_request *req, query_params *q)
{
    memset(q, 0, sizeof(*q));
    eio_request_query(req, "transport", &q->transport);
    q->has_sid = eio_request_query(req, "sid", &q->sid);
    q->has_eio = eio_request_query(req, "EIO", &q->eio);
    q->has_b64 = eio_request_query(req, "b64", &q->b64);
    q->has_j = eio_request_query(req, "j", &q->j);
    no_nul(&q->transport);
    no_nul(&q->sid);
    no_nul(&q->eio);
}

static void params_free(query_params *q)
{
    eio_buf_free(&q->transport);
    eio_buf_free(&q->sid);
    eio_buf_free(&q->eio);
    eio_buf_free(&q->b64);
    eio_buf_free(&q->j);
}

static int transport_of(eio_server *srv, const char *name)
{
    if (strcmp(name, "polling") == 0 && (srv->opts.transports & EIO_TRANSPORT_POLLING))
        return EIO_TRANSPORT_POLLING;
    if (strcmp(name, "websocket") == 0 && (srv->opts.transports & EIO_TRANSPORT_WEBSOCKET))
        return EIO_TRANSPORT_WEBSOCKET;
    return 0;
}

/* The protocol version asked for: 4, 3, or 0 if refused. */
static int protocol_of(eio_server *srv, const query_params *q)
{
    const char *v = (const char *)q->eio.data;
    if (q->has_eio && strcmp(v, "4") == 0)
        return 4;
    if (q->has_eio && strcmp(v, "3") == 0 && srv->opts.allow_eio3)
        return 3;
    return 0;
}

#define VERIFY_OK (-1)

/* The checks Node's verify() and handshake() make, in Node's order. Lock held.
 * Returns VERIFY_OK or an Engine.IO error code (0 is one: "Transport unknown");
 * *status gets the HTTP status. */
static int verify(eio_server *srv, const eio_request *req, const query_params *q, int upgrade,
                  int *status, const char **message, eio_socket **found)
{
    *status = 400;
    *message = NULL;
    *found = NULL;
    int t = transport_of(srv, (const char *)q->transport.data);
    if (!t)
        return EIO_ERRCODE_UNKNOWN_TRANSPORT;
    if (invalid_header_chars(eio_request_header(req, "Origin")))
        return EIO_ERRCODE_BAD_REQUEST;
    if (q->has_sid) {
        eio_socket *s = eio__session_find(srv, (const char *)q->sid.data);
        if (!s) {
            EIO__DEBUG(srv, EIO__DBG_ENGINE, "unknown sid \"%.40s\"", (const char *)q->sid.data);
            return EIO_ERRCODE_UNKNOWN_SID;
        }
        int previous = s->transport;
        if (!upgrade && previous != t)
            return EIO_ERRCODE_BAD_REQUEST;
        *found = s;
        return VERIFY_OK;
    }
    if (strcmp(req->method, "GET") != 0)
        return EIO_ERRCODE_BAD_HANDSHAKE_METHOD;
    if (t == EIO_TRANSPORT_WEBSOCKET && !upgrade)
        return EIO_ERRCODE_BAD_REQUEST;
    if (!protocol_of(srv, q))
        return EIO_ERRCODE_UNSUPPORTED_PROTOCOL_VERSION;
    if (srv->shutting_down || srv->n_sessions >= srv->opts.max_clients) {
        if (!srv->shutting_down)
            srv->stats.refused_max_clients++;
        EIO__DEBUG(srv, EIO__DBG_ENGINE, "handshake refused: %s",
                   srv->shutting_down ? "server shutting down" : "max clients reached");
        if (!srv->shutting_down) {
            /* Once per 10 s, not once per refused request. */
            uint64_t now = eio__clock(srv);
            srv->max_clients_refused++;
            if (!srv->max_clients_logged || now - srv->max_clients_log_ms >= 10000) {
                eio__log(srv, EIO_LOG_WARN,
                         "refusing new clients: max_clients (%zu) reached; %llu refused in the "
                         "last 10 s",
                         srv->opts.max_clients, (unsigned long long)srv->max_clients_refused);
                srv->max_clients_logged = 1;
                srv->max_clients_log_ms = now;
                srv->max_clients_refused = 0;
            }
        }
        *status = 503;
        *message = srv->shutting_down ? "Server shutting down" : "Server full";
        return EIO_ERRCODE_BAD_REQUEST;
    }
    if (srv->cbs.allow_request) {
        char *why = NULL;
        if (!srv->cbs.allow_request(req, &why, srv->user_data)) {
            static __thread char msg[256];
            srv->stats.refused_allow_request++;
            EIO__DEBUG(srv, EIO__DBG_ENGINE, "handshake refused by allowRequest");
            *status = 403;
            if (why) {
                strncpy(msg, why, sizeof(msg) - 1);
                msg[sizeof(msg) - 1] = 0;
                free(why);
                *message = msg;
            }
            return EIO_ERRCODE_FORBIDDEN;
        }
    }
    return VERIFY_OK;
}

/* Node's abortUpgrade (engine.io) and abortHandshake (ws): a status line,
 * Connection: close, a text/html body holding the message, written as is. */
static void abort_upgrade(eio__conn *c, int status, const char *message, const char *extra)
{
    char buf[1024];
    int n =
        snprintf(buf, sizeof(buf),
                 "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-type: text/html\r\n"
                 "Content-Length: %zu\r\n%s\r\n%s",
                 status, eio__status_text(status), strlen(message), extra ? extra : "", message);
    if (n > 0 && (size_t)n < sizeof(buf)) {
        eio_frame *f = eio_frame_from(buf, (size_t)n);
        eio__conn_send_frame(c, f);
        eio_frame_unref(f);
    }
    c->keep_alive = 0;
    eio__conn_close(c, 1);
}

/* A WebSocket upgrade on the engine path: checked as engine.io's verify()
 * then ws's handleUpgrade() check it, answered 101, and the connection
 * becomes the session's WebSocket (or its upgrade probe). */
static void serve_upgrade(eio__conn *c, const query_params *q)
{
    eio_server *srv = c->srv;
    const eio_request *req = &c->req;
    int status;
    const char *message;
    eio_socket *s;
    int err = verify(srv, req, q, 1, &status, &message, &s);
    if (err == VERIFY_OK &&
        transport_of(srv, (const char *)q->transport.data) != EIO_TRANSPORT_WEBSOCKET) {
        err = EIO_ERRCODE_BAD_REQUEST; /* an upgrade must ask for the websocket transport */
        status = 400;
    }
    if (err != VERIFY_OK) {
        abort_upgrade(c, status == 503 ? 503 : 400, message ? message : eio_errcode_message(err),
                      NULL);
        return;
    }
    const char *upgrade = eio_request_header(req, "Upgrade");
    const char *key = eio_request_header(req, "Sec-WebSocket-Key");
    const char *version = eio_request_header(req, "Sec-WebSocket-Version");
    char accept[29];
    if (strcmp(req->method, "GET") != 0) {
        abort_upgrade(c, 405, "Invalid HTTP method", NULL);
        return;
    }
    if (!upgrade || strcasecmp(upgrade, "websocket") != 0) {
        abort_upgrade(c, 400, "Invalid Upgrade header", NULL);
        return;
    }
    if (!key || eio_ws_accept_key(key, accept) != 0) {
        abort_upgrade(c, 400, "Missing or invalid Sec-WebSocket-Key header", NULL);
        return;
    }
    if (!version || (strcmp(version, "13") != 0 && strcmp(version, "8") != 0)) {
        abort_upgrade(c, 400, "Missing or invalid Sec-WebSocket-Version header",
                      "Sec-WebSocket-Version: 13, 8\r\n");
        return;
    }
    /* perMessageDeflate: ws's handleUpgrade negotiates after these checks. */
    char pmd_answer[160] = "";
    eio_pmd_params pmd;
    int pmd_on = 0;
    if (srv->opts.per_message_deflate) {
        eio_buf joined = EIO_BUF_INIT;
        const char *first = NULL;
        size_t n_ext = 0;
        for (size_t i = 0; i < req->n_headers; i++) {
            if (strcasecmp(req->headers[i].name, "Sec-WebSocket-Extensions") != 0)
                continue;
            if (n_ext++)
                eio_buf_append_str(&joined, ", "); /* Node joins repeated ones so */
            eio_buf_append_str(&joined, req->headers[i].value);
            if (!first)
                first = req->headers[i].value;
        }
        if (first) {
            pmd_on = eio_pmd_negotiate((const char *)joined.data, joined.len, &pmd, pmd_answer,
                                       sizeof(pmd_answer));
        }
        eio_buf_free(&joined);
        if (pmd_on < 0) {
            abort_upgrade(c, 400, "Invalid or unacceptable Sec-WebSocket-Extensions header", NULL);
            return;
        }
    }
    char new_sid[21] = "";
    eio_buf h = EIO_BUF_INIT;
    eio_buf_append_str(&h, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Accept: ");
    eio_buf_append_str(&h, accept);
    eio_buf_append_str(&h, "\r\n");
    if (pmd_on > 0) {
        eio_buf_append_str(&h, "Sec-WebSocket-Extensions: ");
        eio_buf_append_str(&h, pmd_answer);
        eio_buf_append_str(&h, "\r\n");
        c->pmd_on = 1;
        c->pmd = pmd;
    }
    /* No cookie here: Node's engine.io sets it from the polling transport's
     * "headers" event only, so a session opened over WebSocket gets none. */
    if (!q->has_sid)
        eio__gen_sid(new_sid);
    eio_buf_append_str(&h, "\r\n");
    eio_frame *f = eio_frame_from(h.data, h.len);
    eio_buf_free(&h);
    eio__conn_send_frame(c, f);
    eio_frame_unref(f);
    int v = protocol_of(srv, q);
    if (q->has_sid) {
        if (s->transport != EIO_TRANSPORT_POLLING || s->upgrading || s->probe || s->upgraded ||
            !srv->opts.allow_upgrades) {
            /* Node: "transport has already been trying to upgrade" and friends. */
            EIO__DEBUG(srv, EIO__DBG_ENGINE, "%s: upgrade refused (already upgrading or upgraded)",
                       s->id);
            eio__ws_start(c, NULL, s->version, 0);
            eio__ws_close(c, EIO_WS_CLOSE_NORMAL, NULL);
            return;
        }
        EIO__DEBUG(srv, EIO__DBG_ENGINE, "%s: upgrading existing transport", s->id);
        eio__ws_start(c, s, s->version, 1);
        return;
    }
    s = eio__session_new(srv, req, v ? v : 4, EIO_TRANSPORT_WEBSOCKET, new_sid);
    s->supports_binary = 1;
    eio__ws_start(c, s, v ? v : 4, 0);
    eio__session_opened(s);
}

void eio__engine_request(eio__conn *c)
{
    eio_server *srv = c->srv;
    const eio_request *req = &c->req;
    eio_http_response resp = {0};
    if (srv->opts.cors_origin && strcmp(req->method, "OPTIONS") == 0 && !c->upgrade) {
        eio_buf extra = EIO_BUF_INIT;
        eio__cors_headers(srv, req, 1, &extra);
        eio__conn_respond(c, 204, NULL, (const char *)extra.data, extra.len, NULL, 0);
        eio_buf_free(&extra);
        eio__conn_request_done(c);
        return;
    }
    EIO__DEBUG(srv, EIO__DBG_ENGINE, "handling \"%s\" http request \"%.200s%s%.200s\"%s",
               req->method, req->path, req->query[0] ? "?" : "", req->query,
               c->upgrade ? " (upgrade)" : "");
    query_params q;
    params_read(req, &q);
    if (c->upgrade) {
        serve_upgrade(c, &q);
        params_free(&q);
        return;
    }
    int status;
    const char *message;
    eio_socket *s;
    int err = verify(srv, req, &q, 0, &status, &message, &s);
    if (err != VERIFY_OK) {
        respond_error(&resp, err, status, message);
        send_response(c, &resp); /* a body, if any, is read and dropped */
    } else if (s) {
        if (strcmp(req->method, "GET") == 0) {
            serve_get(c, s, &resp);
        } else if (strcmp(req->method, "POST") == 0) {
            serve_post(c, s);
        } else {
            respond_empty(&resp, 500); /* as Node's polling transport */
            send_response(c, &resp);
        }
    } else {
        /* Handshake over polling. */
        int version = protocol_of(srv, &q);
        s = eio__session_new(srv, req, version, EIO_TRANSPORT_POLLING, NULL);
        if (q.has_j) {
            /* Node keeps only the digits of the JSONP index. */
            eio_buf idx = EIO_BUF_INIT;
            for (size_t i = 0; i < q.j.len; i++)
                if (q.j.data[i] >= '0' && q.j.data[i] <= '9')
                    eio_buf_append_byte(&idx, q.j.data[i]);
            s->jsonp = eio_strdup(eio_buf_cstr(&idx));
            eio_buf_free(&idx);
        }
        s->supports_binary = !q.has_b64 && !q.has_j;
        cookie_header(srv, s->id, &resp.headers);
        s->refs++;
        eio__session_opened(s);
        if (s->state != EIO__S_CLOSED) {
            serve_get(c, s, &resp);
        } else {
            take_payload(s, &resp);
            send_response(c, &resp);
        }
        eio__session_unref(s);
    }
    params_free(&q);
}
