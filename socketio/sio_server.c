/*
 * sio_server: the Socket.IO server. Namespaces (static and dynamic), clients
 * (one per Engine.IO session: packet decoding, binary reassembly, the
 * connect timeout) and the namespace connection flow with its middleware,
 * as Node's socket.io (lib/index.ts, client.ts, namespace.ts).
 *
 * Threading: engine lock held everywhere (every entry point is an Engine.IO
 * callback or a documented lock-held API call).
 * Ownership: the server owns namespaces and clients. A client is freed when
 * its Engine.IO session has closed and no handler still runs on it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engineio/eio_debug.h"
#include "socketio/sio_internal.h"
#include "socketio/sio_json.h"

void sio_options_default(sio_options *o)
{
    memset(o, 0, sizeof(*o));
    eio_options_default(&o->engine);
    o->connect_timeout_ms = 45000;
    o->max_attachments = 10;
    o->max_json_depth = SIO_JSON_MAX_DEPTH_LIMIT; /* 1000 */
    o->binary_packet_timeout_ms = 60000;
    o->max_binary_packet_bytes = 10 * 1024 * 1024;
    o->max_kept_acks = 1000;
    o->recovery.max_disconnection_duration_ms = 120000;
    o->recovery.skip_middlewares = 1;
    o->recovery.max_stored_packets = 10000;
}

const char *sio_strerror(int err)
{
    switch (err) {
    case SIO_OK: return "ok";
    case SIO_EINVAL: return "invalid argument";
    case SIO_ECLOSED: return "socket disconnected";
    case SIO_ETIMEOUT: return "operation has timed out";
    case SIO_EDISCONNECTED: return "socket has been disconnected";
    case SIO_EUNAVAILABLE: return "the other nodes of the cluster cannot be reached";
    case SIO_ELIMIT: return "too many acknowledgements kept (max_kept_acks)";
    default: return "unknown error";
    }
}

/* ---------------------------------------------------------------- handler lists */

void sio__handlers_add(sio__handlers *h, const char *event, void (*fn)(void), void *ud, int once)
{
    if (h->len == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 4;
        h->items = eio_realloc(h->items, h->cap * sizeof(*h->items));
    }
    sio__handler *x = &h->items[h->len++];
    x->event = event ? eio_strdup(event) : NULL;
    x->fn = fn;
    x->ud = ud;
    x->once = once;
}

void sio__handlers_remove(sio__handlers *h, const char *event, void (*fn)(void))
{
    size_t o = 0;
    for (size_t i = 0; i < h->len; i++) {
        sio__handler *x = &h->items[i];
        int match = (!event || (x->event && strcmp(x->event, event) == 0)) && (!fn || x->fn == fn);
        if (match)
            free(x->event);
        else
            h->items[o++] = *x;
    }
    h->len = o;
}

void sio__handlers_free(sio__handlers *h)
{
    for (size_t i = 0; i < h->len; i++)
        free(h->items[i].event);
    free(h->items);
    memset(h, 0, sizeof(*h));
}

/* ---------------------------------------------------------------- namespaces */

sio_namespace *sio__nsp_new(sio_server *io, const char *name, sio_namespace *group)
{
    sio_namespace *nsp = eio_calloc(1, sizeof(*nsp));
    nsp->io = io;
    nsp->name = eio_strdup(name);
    nsp->group = group;
    nsp->adapter = io->opts.adapter ? io->opts.adapter(nsp, io->opts.adapter_ud) : NULL;
    if (!nsp->adapter)
        nsp->adapter = sio_memory_adapter_new(nsp);
    nsp->next = io->nsps;
    io->nsps = nsp;
    return nsp;
}

static sio_namespace *nsp_find(sio_server *io, const char *name)
{
    for (sio_namespace *n = io->nsps; n; n = n->next)
        if (strcmp(n->name, name) == 0)
            return n;
    return NULL;
}

sio_namespace *sio_of(sio_server *io, const char *name)
{
    char buf[512];
    if (!name || !*name)
        name = "/";
    if (name[0] != '/') {
        snprintf(buf, sizeof(buf), "/%s", name);
        name = buf;
    }
    sio_namespace *n = nsp_find(io, name);
    return n ? n : sio__nsp_new(io, name, NULL);
}

sio_namespace *sio_of_dynamic(sio_server *io,
                              int (*match)(const char *name, const cJSON *auth, void *ud), void *ud)
{
    sio_namespace *g = eio_calloc(1, sizeof(*g));
    g->io = io;
    g->name = eio_strdup("(dynamic)");
    g->is_group = 1;
    g->match = match;
    g->match_ud = ud;
    g->next = io->groups;
    io->groups = g;
    return g;
}

static int regex_match(const char *name, const cJSON *auth, void *ud)
{
    (void)auth;
    sio_namespace *g = ud;
    return regexec(&g->regex, name, 0, NULL, 0) == 0;
}

sio_namespace *sio_of_regex(sio_server *io, const char *regex)
{
    regex_t re;
    if (regcomp(&re, regex, REG_EXTENDED | REG_NOSUB) != 0)
        return NULL;
    sio_namespace *g = sio_of_dynamic(io, regex_match, NULL);
    g->match_ud = g;
    g->regex = re;
    g->has_regex = 1;
    return g;
}

const char *sio_namespace_name(const sio_namespace *nsp)
{
    return nsp->name;
}

sio_server *sio_namespace_server(const sio_namespace *nsp)
{
    return nsp->io;
}

size_t sio_namespace_size(const sio_namespace *nsp)
{
    return nsp->n_sockets;
}

void sio_on_connection(sio_namespace *nsp, sio_connection_fn fn, void *ud)
{
    sio__handlers_add(&nsp->on_connection, NULL, (void (*)(void))fn, ud, 0);
}

void sio_use(sio_namespace *nsp, sio_middleware_fn fn, void *ud)
{
    sio__handlers_add(&nsp->middlewares, NULL, (void (*)(void))fn, ud, 0);
}

static void nsp_free(sio_namespace *nsp)
{
    sio__recovery_free(nsp);
    sio__nsp_cluster_free(nsp);
    if (nsp->adapter)
        nsp->adapter->ops->free(nsp->adapter);
    sio__handlers_free(&nsp->on_connection);
    sio__handlers_free(&nsp->middlewares);
    if (nsp->has_regex)
        regfree(&nsp->regex);
    free(nsp->name);
    free(nsp);
}

/* ---------------------------------------------------------------- middleware chain */

static void connect_run(sio_next *n);

static void connect_finish(sio_next *n, const char *message, cJSON *data)
{
    sio_socket *s = n->socket;
    free(n);
    if (s->client->closed) {
        sio_json_delete(data);
        sio__socket_onclose(s, "forced close");
        sio__socket_unref(s);
        return;
    }
    if (message) {
        sio__socket_error(s, message, data);
        sio__socket_unref(s);
        return;
    }
    sio__socket_onconnect(s);
    sio__socket_unref(s);
}

static void connect_run(sio_next *n)
{
    sio_socket *s = n->socket;
    sio_namespace *src = s->nsp->group ? s->nsp->group : s->nsp;
    /* Middlewares of the group apply first, then those set on the child. */
    size_t ng = s->nsp->group ? s->nsp->group->middlewares.len : 0;
    size_t total = ng + (s->nsp->group ? s->nsp->middlewares.len : src->middlewares.len);
    if (n->index >= total || s->client->closed) {
        connect_finish(n, NULL, NULL);
        return;
    }
    sio__handler *h = n->index < ng ? &s->nsp->group->middlewares.items[n->index]
                                    : &s->nsp->middlewares.items[n->index - ng];
    ((sio_middleware_fn)h->fn)(s, n, h->ud);
}

void sio_next_ok(sio_next *n)
{
    if (n->is_packet) {
        sio__use_next(n, NULL, NULL);
        return;
    }
    n->index++;
    connect_run(n);
}

void sio_next_error(sio_next *n, const char *message, cJSON *data)
{
    if (n->is_packet) {
        sio__use_next(n, message ? message : "error", data);
        return;
    }
    connect_finish(n, message ? message : "error", data);
}

/* ---------------------------------------------------------------- clients */

static void client_ref(sio__client *c)
{
    c->refs++;
}

void sio__client_unref(sio__client *c)
{
    if (--c->refs > 0)
        return;
    sio_packet_decoder_clear(&c->decoder);
    free(c);
}

/* Sends a CONNECT_ERROR for a namespace the client may not join. */
static void refuse_namespace(sio__client *c, const char *name)
{
    sio_packet p = SIO_PACKET_INIT;
    p.type = SIO_PACKET_CONNECT_ERROR;
    p.nsp = (char *)name;
    if (c->protocol >= 5) {
        p.data = cJSON_CreateObject();
        cJSON_AddItemToObject(p.data, "message", cJSON_CreateString("Invalid namespace"));
    } else {
        p.data = cJSON_CreateString("Invalid namespace");
    }
    sio__send_packet(c, &p);
    sio_json_delete(p.data);
}

static void client_connect(sio__client *c, const char *name, cJSON *auth, const char *query)
{
    sio_server *io = c->io;
    sio_namespace *nsp = nsp_find(io, name);
    if (!nsp) {
        for (sio_namespace *g = io->groups; g; g = g->next) {
            if (g->match(name, auth, g->match_ud)) {
                nsp = sio__nsp_new(io, name, g);
                break;
            }
        }
    }
    if (!nsp) {
        SIO__DEBUG(io, SIO__DBG_CLIENT, "creation of namespace %s was denied", name);
        refuse_namespace(c, name);
        sio_json_delete(auth);
        return;
    }
    SIO__DEBUG(io, SIO__DBG_CLIENT, "connecting to namespace %s", name);
    sio_socket *s = sio__socket_new(c, nsp, auth, query);
    sio__socket_ref(s); /* held by the middleware chain */
    /* Connection state recovery: {pid, offset} in the CONNECT payload. */
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive(s->hs_auth, "pid");
    const cJSON *offset = cJSON_GetObjectItemCaseSensitive(s->hs_auth, "offset");
    if (io->opts.recovery.enabled && c->protocol >= 5 && cJSON_IsString(pid) &&
        cJSON_IsString(offset))
        sio__recovery_restore(s, pid->valuestring, offset->valuestring);
    sio_next *n = eio_calloc(1, sizeof(*n));
    n->socket = s;
    if (s->recovered && io->opts.recovery.skip_middlewares) {
        connect_finish(n, NULL, NULL);
        return;
    }
    connect_run(n);
}

/* Closes the client's Engine.IO session and disconnects its sockets with reason. */
void sio__client_close(sio__client *c, const char *reason)
{
    if (c->closed)
        return;
    c->closed = 1;
    SIO__DEBUG(c->io, SIO__DBG_CLIENT, "client close with reason %s", reason);
    client_ref(c);
    eio_clear_timeout(c->io->engine, c->connect_timer);
    c->connect_timer = NULL;
    eio_clear_timeout(c->io->engine, c->binary_timer);
    c->binary_timer = NULL;
    /* Disconnect every socket (snapshot: the list changes as they go). */
    while (c->sockets) {
        sio_socket *s = c->sockets;
        c->sockets = s->client_next;
        s->client_next = NULL;
        sio__socket_onclose(s, reason);
        sio__socket_unref(s); /* the client's reference */
    }
    sio__client_unref(c);
}

static void on_connect_timeout(void *arg)
{
    sio__client *c = arg;
    c->connect_timer = NULL;
    if (c->closed)
        return;
    int any = 0;
    for (sio_socket *s = c->sockets; s; s = s->client_next)
        any |= s->connected;
    if (!any) {
        eio_socket *conn = c->conn;
        sio__client_close(c, "forced server close");
        eio_socket_close(conn);
    }
}

/* Closes the Engine.IO session because of a protocol violation by the client
 * (Node: "invalid packet format", then conn.close()). */
static void client_violation(sio__client *c, const char *why, int err)
{
    (void)why;
    (void)err;
    eio_socket *conn = c->conn;
    sio__client_close(c, "forced close");
    eio_socket_close(conn);
}

static sio_packet_options packet_options(const sio_server *io)
{
    sio_packet_options po = {io->opts.max_attachments, io->opts.max_json_depth,
                             io->opts.binary_packet_timeout_ms, io->opts.max_binary_packet_bytes,
                             eio_server_now_ms(io->engine)};
    return po;
}

static void arm_binary_timer(sio__client *c);

/* A binary packet's attachments did not all come in time: a parse error. */
static void on_binary_timeout(void *arg)
{
    sio__client *c = arg;
    c->binary_timer = NULL;
    if (c->closed)
        return;
    sio_packet_options po = packet_options(c->io);
    int r = sio_packet_decoder_check(&c->decoder, &po, po.now_ms, NULL);
    if (r < 0)
        client_violation(c, sio_packet_strerror(r), r);
    else
        arm_binary_timer(c);
}

/* Keeps the timer in step with the decoder: set while a packet waits for
 * its attachments, cleared when none does. */
static void arm_binary_timer(sio__client *c)
{
    sio_packet_options po = packet_options(c->io);
    uint64_t deadline = 0;
    sio_packet_decoder_check(&c->decoder, &po, 0, &deadline);
    if (!deadline) {
        eio_clear_timeout(c->io->engine, c->binary_timer);
        c->binary_timer = NULL;
    } else if (!c->binary_timer) {
        uint64_t delay = deadline > po.now_ms ? deadline - po.now_ms : 0;
        c->binary_timer = eio_set_timeout(c->io->engine, delay, on_binary_timeout, c);
    }
}

static sio_socket *client_socket(sio__client *c, const char *nsp)
{
    for (sio_socket *s = c->sockets; s; s = s->client_next)
        if (strcmp(s->nsp->name, nsp) == 0)
            return s;
    return NULL;
}

/* A complete packet from the client. Takes ownership of p's contents. */
static void client_ondecoded(sio__client *c, sio_packet *p)
{
    sio_socket *s = client_socket(c, p->nsp ? p->nsp : "/");
    if (!s && p->type == SIO_PACKET_CONNECT) {
        cJSON *auth = c->protocol >= 5 ? p->data : NULL;
        p->data = NULL;
        client_connect(c, p->nsp ? p->nsp : "/", auth, p->query);
        sio_packet_clear(p);
        return;
    }
    if (s && s->connected && p->type != SIO_PACKET_CONNECT && p->type != SIO_PACKET_CONNECT_ERROR) {
        sio__socket_ref(s);
        sio__socket_onpacket(s, p); /* takes p's contents */
        sio__socket_unref(s);
        return;
    }
    if (s && !s->connected) {
        /* Still in its middleware: Node queues nothing either; drop it. */
        sio_packet_clear(p);
        return;
    }
    /* Node: "invalid state" -> close the client. */
    sio_packet_clear(p);
    eio_socket *conn = c->conn;
    sio__client_close(c, "forced server close");
    eio_socket_close(conn);
}

static void on_eio_connection(eio_socket *conn, void *ud)
{
    sio_server *io = ud;
    sio__client *c = eio_calloc(1, sizeof(*c));
    c->io = io;
    c->conn = conn;
    c->refs = 1; /* the Engine.IO session's */
    c->protocol = eio_socket_protocol(conn) >= 4 ? 5 : 4;
    SIO__DEBUG(io, SIO__DBG_SERVER, "incoming connection with id %s", eio_socket_id(conn));
    eio_socket_set_user_data(conn, c);
    c->next = io->clients;
    if (io->clients)
        io->clients->prev = c;
    io->clients = c;
    c->connect_timer =
        eio_set_timeout(io->engine, (uint64_t)io->opts.connect_timeout_ms, on_connect_timeout, c);
    if (io->observer)
        io->observer->raw_connection(io->observer->ud, c);
    if (c->protocol == 4) {
        /* Protocol v4 clients are connected to "/" without asking. */
        client_connect(c, "/", NULL, NULL);
    }
}

static void on_eio_message(eio_socket *conn, const uint8_t *data, size_t len, int binary, void *ud)
{
    sio_server *io = ud;
    sio__client *c = eio_socket_get_user_data(conn);
    if (!c || c->closed)
        return;
    if (io->observer)
        io->observer->packet_in(io->observer->ud, c, len);
    client_ref(c);
    sio_packet p;
    sio_packet_options po = packet_options(io);
    int r = io->parser->decode(c->protocol, data, len, binary, &po, &c->decoder, &p);
    if (io->debug & SIO__DBG_PARSER) {
        char shown[160];
        sio__debug(SIO__DBG_PARSER, "decoded \"%s\" as %s",
                   eio_debug_data(shown, sizeof(shown), data, len, binary),
                   r < 0    ? "an error"
                   : r == 1 ? sio_packet_type_name(c->protocol, p.type)
                            : "an attachment");
    }
    if (r < 0) {
        client_violation(c, sio_packet_strerror(r), r);
    } else {
        if (r == 1)
            client_ondecoded(c, &p);
        if (!c->closed)
            arm_binary_timer(c);
    }
    sio__client_unref(c);
}

static void on_eio_close(eio_socket *conn, const char *reason, void *ud)
{
    sio_server *io = ud;
    sio__client *c = eio_socket_get_user_data(conn);
    if (!c)
        return;
    eio_socket_set_user_data(conn, NULL);
    if (io->observer)
        io->observer->raw_disconnection(io->observer->ud, c, reason);
    /* Node: the engine's reason; the server closing says "server shutting down". */
    sio__client_close(c, io->closing ? "server shutting down" : reason);
    if (c->prev)
        c->prev->next = c->next;
    else
        io->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->conn = NULL;
    sio__client_unref(c); /* the session's reference */
}

/* ---------------------------------------------------------------- server */

sio_server *sio_server_new(const sio_options *o)
{
    sio_server *io = eio_calloc(1, sizeof(*io));
    if (o)
        io->opts = *o;
    else
        sio_options_default(&io->opts);
    eio_callbacks cb = {
        .on_connection = on_eio_connection,
        .on_message = on_eio_message,
        .on_close = on_eio_close,
    };
    io->parser = io->opts.parser ? io->opts.parser : &sio_parser_default;
    io->debug = sio__debug_mask(io->opts.engine.debug ? io->opts.engine.debug : getenv("DEBUG"));
    io->engine = eio_server_new(&io->opts.engine, &cb, io);
    eio_server_lock(io->engine);
    sio_of(io, "/");
    eio_server_unlock(io->engine);
    return io;
}

static void count_room(const char *room, void *ud)
{
    (void)room;
    (*(size_t *)ud)++;
}

size_t sio_server_stats(sio_server *io, void (*fn)(const sio_namespace_stats *st, void *ud),
                        void *ud)
{
    size_t n = 0;
    for (sio_namespace *nsp = io->nsps; nsp; nsp = nsp->next, n++) {
        sio_namespace_stats st = {nsp->name, nsp->n_sockets, 0};
        if (nsp->adapter && nsp->adapter->ops->rooms)
            nsp->adapter->ops->rooms(nsp->adapter, count_room, &st.rooms);
        if (fn)
            fn(&st, ud);
    }
    return n;
}

eio_server *sio_server_engine(sio_server *io)
{
    return io->engine;
}

void sio_server_free(sio_server *io)
{
    if (!io)
        return;
    eio_server_lock(io->engine);
    io->closing = 1;
    eio_server_unlock(io->engine);
    eio_server_shutdown(io->engine); /* every session: "server shutting down" */
    if (io->observer)
        io->observer->close(io->observer->ud); /* detaches: io->observer is NULL after */
    /* The namespaces go while the loop still runs: their adapters may hold
     * descriptors and timers on it (a Redis connection). */
    eio_server_lock(io->engine);
    while (io->nsps) {
        sio_namespace *n = io->nsps;
        io->nsps = n->next;
        nsp_free(n);
    }
    while (io->groups) {
        sio_namespace *n = io->groups;
        io->groups = n->next;
        nsp_free(n);
    }
    eio_server_unlock(io->engine);
    eio_server_free(io->engine);
    free(io);
}
