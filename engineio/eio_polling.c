/*
 * eio_polling: the HTTP side of the engine. Handshakes, long-polling GET and
 * POST (v3 and v4 framing, v3 binary payloads, b64 and JSONP), request
 * verification as Node's engine.io verify() does it, and the hand-over of
 * upgraded WebSocket sockets.
 *
 * Threading: called on HTTP worker threads without the engine lock; takes it.
 * A GET waits on a condition variable tied to the engine lock until its
 * session has something to send. User callbacks run here with the lock held.
 * Ownership: a request holds a reference to its session while it works on it.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "eio_internal.h"

void eio__poll_wake(eio_socket *s)
{
    eio__poll_waiter *w = s->get_waiter;
    if (!w)
        return;
    s->get_waiter = NULL;
    w->done = 1;
    if (w->wake_fd >= 0) {
        uint64_t one = 1;
        ssize_t n = write(w->wake_fd, &one, sizeof(one));
        (void)n;
    } else {
        pthread_cond_signal(&w->cond);
    }
}

/* ---------------------------------------------------------------- responses */

static void respond_error(eio_http_response *resp, int code, int status, const char *message)
{
    resp->status = status;
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
    if (s->outq_len == 0) {
        memset(pk, 0, n * sizeof(*pk));
        pk[0].type = s->state == EIO__S_CLOSED ? EIO_PACKET_CLOSE : EIO_PACKET_NOOP;
        if (closing_now)
            pk[1].type = EIO_PACKET_CLOSE;
    } else {
        for (size_t i = 0; i < s->outq_len; i++) {
            eio__out *o = &s->outq[(s->outq_head + i) % s->outq_cap];
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

/* Waits (lock held on entry and exit) until the GET is woken, or until its
 * client hangs up, which closes the session as Node does. Returns 0 when
 * woken, -1 when the client is gone. */
static int wait_for_wake(eio_socket *s, eio__poll_waiter *w, const eio_request *req)
{
    eio_server *srv = s->srv;
    while (!w->done) {
        pthread_mutex_unlock(&srv->mu);
        struct pollfd p[2] = {{w->wake_fd, POLLIN, 0}, {req->conn_fd, POLLRDHUP, 0}};
        int n = poll(p, req->conn_fd >= 0 ? 2 : 1, -1);
        pthread_mutex_lock(&srv->mu);
        if (p[0].revents & POLLIN) {
            uint64_t v;
            ssize_t r = read(w->wake_fd, &v, sizeof(v));
            (void)r;
        }
        if (n > 0 && !w->done && req->conn_fd >= 0 &&
            (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))) {
            s->get_waiter = NULL;
            w->done = 1;
            eio__log(srv, EIO_LOG_DEBUG, "session %s: poll connection closed prematurely", s->id);
            eio__session_close(s, "transport error");
            return -1;
        }
    }
    return 0;
}

/* A GET on a session (lock held; the caller holds a reference). */
static void serve_get(eio_socket *s, const eio_request *req, eio_http_response *resp)
{
    eio_server *srv = s->srv;
    if (s->get_waiter) {
        eio__log(srv, EIO_LOG_DEBUG, "session %s: overlapping GET", s->id);
        eio__session_close(s, "transport error");
        respond_empty(resp, 400);
        return;
    }
    if (s->outq_len == 0 && s->state == EIO__S_OPEN && !s->upgrading &&
        s->transport == EIO_TRANSPORT_POLLING) {
        eio__poll_waiter w;
        w.done = 0;
        w.wake_fd = req->wake_fd;
        s->get_waiter = &w;
        eio__run_pending_closes(srv);
        eio__ws_flush_dirty(srv); /* the wait releases the lock without a flush */
        if (w.wake_fd >= 0) {
            if (wait_for_wake(s, &w, req) < 0) {
                respond_empty(resp, 400); /* nobody will read it */
                return;
            }
        } else {
            pthread_cond_init(&w.cond, NULL);
            while (!w.done)
                pthread_cond_wait(&w.cond, &srv->mu);
            pthread_cond_destroy(&w.cond);
        }
    }
    if (s->transport != EIO_TRANSPORT_POLLING) {
        /* Upgraded while waiting: end this poll. */
        eio_packet noop = {EIO_PACKET_NOOP, 0, NULL, 0};
        eio_payload_format fmt = eio_payload_pick_format(s->version, 0, &noop, 1);
        eio_payload_encode(fmt, &noop, 1, &resp->body);
        resp->content_type = eio_payload_content_type(fmt);
        resp->status = 200;
        return;
    }
    take_payload(s, resp);
}

/* Reads a POST body, at most max bytes. Returns 0, -1 on a read error, -2 if
 * the body is larger than max. */
static int read_body(const eio_request *req, size_t max, eio_buf *out)
{
    if (!req->read_body)
        return 0;
    for (;;) {
        uint8_t *p = eio_buf_reserve(out, 16384);
        int n = req->read_body(req->read_ctx, p, 16384);
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        eio_buf_advance(out, (size_t)n);
        if (out->len > max)
            return -2;
    }
}

static void serve_post(eio_server *srv, eio_socket *s, const eio_request *req,
                       eio_http_response *resp)
{
    /* Lock held on entry and exit; released while the body is read. */
    if (req->content_length >= 0 &&
        (unsigned long long)req->content_length > srv->opts.max_payload) {
        resp->status = 413;
        resp->content_type = NULL;
        return;
    }
    const char *ctype = eio_request_header(req, "Content-Type");
    int is_binary = ctype && strncasecmp(ctype, "application/octet-stream", 24) == 0;
    if (is_binary && s->version >= 4) {
        eio__session_close(s, "transport error"); /* Node: "invalid content" */
        respond_empty(resp, 400);
        return;
    }
    if (s->post_busy) {
        eio__log(srv, EIO_LOG_DEBUG, "session %s: overlapping POST", s->id);
        eio__session_close(s, "transport error");
        respond_empty(resp, 400);
        return;
    }
    s->post_busy = 1;
    pthread_mutex_unlock(&srv->mu);
    eio_buf body = EIO_BUF_INIT;
    int rr = read_body(req, srv->opts.max_payload, &body);
    eio_buf payload = EIO_BUF_INIT;
    int bad = 0;
    if (rr == 0 && s->jsonp) {
        if (eio_jsonp_unwrap(body.data ? body.data : (const uint8_t *)"", body.len, &payload) !=
            EIO_OK)
            bad = 1;
    } else {
        payload = body;
        body = (eio_buf)EIO_BUF_INIT;
    }
    pthread_mutex_lock(&srv->mu);
    s->post_busy = 0;
    if (rr == -2) {
        resp->status = 413;
        resp->content_type = NULL;
    } else if (rr < 0) {
        eio__session_close(s, "transport error");
        respond_empty(resp, 400);
    } else {
        if (bad) {
            eio__session_close(s, "parse error");
        } else {
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
        respond_ok(resp);
    }
    eio_buf_free(&body);
    eio_buf_free(&payload);
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

static void params_read(const eio_request *req, query_params *q)
{
    memset(q, 0, sizeof(*q));
    eio_request_query(req, "transport", &q->transport);
    q->has_sid = eio_request_query(req, "sid", &q->sid);
    q->has_eio = eio_request_query(req, "EIO", &q->eio);
    q->has_b64 = eio_request_query(req, "b64", &q->b64);
    q->has_j = eio_request_query(req, "j", &q->j);
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
        if (!s)
            return EIO_ERRCODE_UNKNOWN_SID;
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
            eio__log(srv, EIO_LOG_WARN,
                     "refusing a new session: %zu sessions open, the max-clients limit",
                     srv->n_sessions);
        *status = 503;
        *message = srv->shutting_down ? "Server shutting down" : "Server full";
        return EIO_ERRCODE_BAD_REQUEST;
    }
    if (srv->cbs.allow_request) {
        char *why = NULL;
        if (!srv->cbs.allow_request(req, &why, srv->user_data)) {
            static __thread char msg[256];
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

void eio_server_handle_http(eio_server *srv, const eio_request *req, eio_http_response *resp)
{
    query_params q;
    params_read(req, &q);
    pthread_mutex_lock(&srv->mu);
    int status;
    const char *message;
    eio_socket *s;
    int err = verify(srv, req, &q, 0, &status, &message, &s);
    if (err != VERIFY_OK) {
        respond_error(resp, err, status, message);
        goto out;
    }
    if (s) {
        s->refs++;
        if (strcmp(req->method, "GET") == 0)
            serve_get(s, req, resp);
        else if (strcmp(req->method, "POST") == 0)
            serve_post(srv, s, req, resp);
        else
            respond_empty(resp, 500); /* as Node's polling transport */
        eio__session_unref(s);
        goto out;
    }
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
    cookie_header(srv, s->id, &resp->headers);
    s->refs++;
    eio__session_opened(s);
    if (s->state != EIO__S_CLOSED)
        serve_get(s, req, resp);
    else
        take_payload(s, resp);
    eio__session_unref(s);
out:
    eio_server_unlock(srv);
    params_free(&q);
}

static void attach_one(eio_server *srv, int fd, const eio_request *req, const char *new_sid)
{
    query_params q;
    params_read(req, &q);
    int version = protocol_of(srv, &q);
    if (srv->shutting_down) {
        close(fd);
    } else if (q.has_sid) {
        eio_socket *s = eio__session_find(srv, (const char *)q.sid.data);
        eio__ws_conn *c = eio__ws_new(srv, fd, s ? s->version : version ? version : 4);
        if (!s || s->transport != EIO_TRANSPORT_POLLING || s->upgrading || s->probe ||
            s->upgraded || !srv->opts.allow_upgrades) {
            /* Node: "transport has already been trying to upgrade" and friends. */
            eio__ws_close(c, EIO_WS_CLOSE_NORMAL, NULL);
        } else {
            c->session = s;
            c->is_probe = 1;
            s->probe = c;
            eio__timer_set(srv, &c->upgrade_timer, (uint64_t)srv->opts.upgrade_timeout_ms);
        }
    } else {
        eio__ws_conn *c = eio__ws_new(srv, fd, version ? version : 4);
        eio_socket *s =
            eio__session_new(srv, req, version ? version : 4, EIO_TRANSPORT_WEBSOCKET, new_sid);
        s->ws = c;
        c->session = s;
        s->supports_binary = 1;
        eio__session_opened(s);
    }
    params_free(&q);
}

int eio_server_prepare_upgrade(eio_server *srv, const eio_request *req, int *code, int *status,
                               const char **message, char new_sid[21], eio_buf *headers)
{
    query_params q;
    params_read(req, &q);
    pthread_mutex_lock(&srv->mu);
    eio_socket *s;
    int err = verify(srv, req, &q, 1, status, message, &s);
    if (err == VERIFY_OK &&
        transport_of(srv, (const char *)q.transport.data) != EIO_TRANSPORT_WEBSOCKET) {
        /* An upgrade request must ask for the websocket transport. */
        err = EIO_ERRCODE_BAD_REQUEST;
        *status = 400;
    }
    pthread_mutex_unlock(&srv->mu);
    new_sid[0] = 0;
    if (err == VERIFY_OK && !q.has_sid) {
        eio__gen_sid(new_sid);
        cookie_header(srv, new_sid, headers);
    }
    params_free(&q);
    if (err == VERIFY_OK)
        return 0;
    *code = err;
    if (!*message)
        *message = eio_errcode_message(err);
    return -1;
}

int eio_server_attach_websocket(eio_server *srv, int fd, const eio_request *req,
                                const char *new_sid)
{
    /* Handed to the loop thread through a small queue: the worker does not
     * wait for the engine lock a second time. */
    eio__attachment *a = eio_calloc(1, sizeof(*a));
    a->fd = fd;
    a->req_storage = eio__request_dup(req, &a->req);
    snprintf(a->sid, sizeof(a->sid), "%s", new_sid ? new_sid : "");
    pthread_mutex_lock(&srv->attach_mu);
    a->next = srv->attachments;
    srv->attachments = a;
    pthread_mutex_unlock(&srv->attach_mu);
    eio__wake_loop(srv);
    return 0;
}

/* Takes in the sockets handed over by attach_websocket (loop thread, lock
 * held), oldest first. */
void eio__run_attachments(eio_server *srv)
{
    pthread_mutex_lock(&srv->attach_mu);
    eio__attachment *list = srv->attachments;
    srv->attachments = NULL;
    pthread_mutex_unlock(&srv->attach_mu);
    eio__attachment *rev = NULL;
    while (list) {
        eio__attachment *n = list->next;
        list->next = rev;
        rev = list;
        list = n;
    }
    while (rev) {
        eio__attachment *a = rev;
        rev = a->next;
        attach_one(srv, a->fd, &a->req, a->sid);
        free(a->req_storage);
        free(a);
    }
}
