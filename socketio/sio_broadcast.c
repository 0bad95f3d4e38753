/*
 * sio_broadcast: Node's BroadcastOperator. An operator collects rooms, except
 * rooms and flags; its terminal call goes through the namespace's adapter.
 * A broadcast is encoded once per protocol version and the same Engine.IO
 * messages (reference counted) go to every receiver.
 *
 * Threading: engine lock held.
 * Ownership: terminal calls consume the operator and the arguments.
 */
#include <stdlib.h>
#include <string.h>

#include "socketio/sio_internal.h"
#include "socketio/sio_json.h"

struct sio_op {
    sio_namespace *nsp;
    char **rooms;
    size_t n_rooms, cap_rooms;
    char **except;
    size_t n_except, cap_except;
    unsigned flags;
    int timeout_ms; /* -1: not set */
};

int sio__reserved_event(const char *event)
{
    static const char *const reserved[] = {"connect",       "connect_error", "disconnect",
                                           "disconnecting", "newListener",   "removeListener"};
    for (size_t i = 0; i < sizeof(reserved) / sizeof(*reserved); i++)
        if (strcmp(event, reserved[i]) == 0)
            return 1;
    return 0;
}

static void push(char ***arr, size_t *n, size_t *cap, const char *room)
{
    if (!room)
        return;
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        *arr = eio_realloc(*arr, *cap * sizeof(**arr));
    }
    (*arr)[(*n)++] = eio_strdup(room);
}

static sio_op *op_new(sio_namespace *nsp)
{
    sio_op *op = eio_calloc(1, sizeof(*op));
    op->nsp = nsp;
    op->timeout_ms = -1;
    return op;
}

sio_op *sio_all(sio_namespace *nsp)
{
    return op_new(nsp);
}

sio_op *sio_to(sio_namespace *nsp, const char *room)
{
    return sio_in(op_new(nsp), room);
}

sio_op *sio_except_nsp(sio_namespace *nsp, const char *room)
{
    return sio_except(op_new(nsp), room);
}

sio_op *sio_socket_broadcast(sio_socket *s)
{
    return sio_except(op_new(s->nsp), s->id);
}

sio_op *sio_socket_to(sio_socket *s, const char *room)
{
    return sio_in(sio_socket_broadcast(s), room);
}

sio_op *sio_socket_except(sio_socket *s, const char *room)
{
    return sio_except(sio_socket_broadcast(s), room);
}

sio_op *sio_in(sio_op *op, const char *room)
{
    push(&op->rooms, &op->n_rooms, &op->cap_rooms, room);
    return op;
}

sio_op *sio_except(sio_op *op, const char *room)
{
    push(&op->except, &op->n_except, &op->cap_except, room);
    return op;
}

sio_op *sio_volatile(sio_op *op)
{
    op->flags |= SIO_BC_VOLATILE;
    return op;
}
sio_op *sio_local(sio_op *op)
{
    op->flags |= SIO_BC_LOCAL;
    return op;
}

/* Neither bit set: Node's default (compressed); SIO_BC_NO_COMPRESS makes
 * deliver_one's engine messages uncompressed. */
sio_op *sio_compress(sio_op *op, int on)
{
    if (on) {
        op->flags |= SIO_BC_COMPRESS;
        op->flags &= ~SIO_BC_NO_COMPRESS;
    } else {
        op->flags &= ~(unsigned)SIO_BC_COMPRESS;
        op->flags |= SIO_BC_NO_COMPRESS;
    }
    return op;
}

sio_op *sio_timeout(sio_op *op, int timeout_ms)
{
    op->timeout_ms = timeout_ms;
    return op;
}

void sio_op_free(sio_op *op)
{
    if (!op)
        return;
    for (size_t i = 0; i < op->n_rooms; i++)
        free(op->rooms[i]);
    for (size_t i = 0; i < op->n_except; i++)
        free(op->except[i]);
    free(op->rooms);
    free(op->except);
    free(op);
}

static sio_broadcast_opts op_opts(const sio_op *op)
{
    sio_broadcast_opts o = {(const char *const *)op->rooms, op->n_rooms,
                            (const char *const *)op->except, op->n_except, op->flags};
    return o;
}

/* ---------------------------------------------------------------- delivery */

/* One encoding of a packet for one protocol version, as shared messages. */
typedef struct encoded_msgs {
    int done;
    int ok;
    eio_message *text;
    eio_message **bins;
    size_t n_bins;
    size_t bytes; /* of the text and the attachments (for the observer) */
} encoded_msgs;

typedef struct deliver_ctx {
    const sio_packet *packet;
    unsigned flags;
    encoded_msgs enc[2]; /* [0]: protocol v4, [1]: v5 */
    const sio_parser *parser;
    sio_args *view; /* for onAnyOutgoing listeners, built on first need */
    char *event;
    struct sio_bc_ack *ack;
} deliver_ctx;

static encoded_msgs *encoding_for(deliver_ctx *d, int protocol)
{
    encoded_msgs *m = &d->enc[protocol >= 5 ? 1 : 0];
    if (m->done)
        return m;
    m->done = 1;
    sio_encoded e = SIO_ENCODED_INIT;
    if (d->parser->encode(protocol, d->packet, &e) == 0) {
        m->ok = 1;
        int compress = !(d->flags & SIO_BC_NO_COMPRESS);
        m->text = eio_message_new(e.text.data, e.text.len, e.binary);
        eio_message_set_compress(m->text, compress);
        m->bytes = e.text.len;
        m->n_bins = e.attachment_count;
        if (m->n_bins) {
            m->bins = eio_malloc(m->n_bins * sizeof(*m->bins));
            for (size_t i = 0; i < m->n_bins; i++) {
                m->bins[i] = eio_message_new(e.attachments[i]->data, e.attachments[i]->len, 1);
                eio_message_set_compress(m->bins[i], compress);
                m->bytes += e.attachments[i]->len;
            }
        }
    }
    sio_encoded_free(&e);
    return m;
}

static void notify_outgoing(deliver_ctx *d, sio_socket *s)
{
    if (!d->view) {
        d->view = sio__args_take(cJSON_Duplicate(d->packet->data, 1), NULL, 0);
        if (d->packet->attachment_count) {
            d->view->bins = eio_malloc(d->packet->attachment_count * sizeof(eio_frame *));
            for (size_t i = 0; i < d->packet->attachment_count; i++)
                d->view->bins[i] = eio_frame_ref(d->packet->attachments[i]);
            d->view->n_bins = d->view->cap_bins = d->packet->attachment_count;
        }
        cJSON *first = cJSON_DetachItemFromArray(d->view->array, 0);
        d->event = eio_strdup(cJSON_IsString(first) ? first->valuestring : "");
        sio_json_delete(first);
    }
    for (size_t i = 0; i < s->any_outgoing.len; i++) {
        sio__handler h = s->any_outgoing.items[i];
        ((sio_any_fn)h.fn)(s, d->event, d->view, h.ud);
    }
}

struct sio_bc_ack {
    /* a broadcast started here: the user's callback */
    sio_broadcast_ack_fn fn;
    void *ud;
    /* a broadcast from another node delivered here: answers stream out */
    void (*on_ack)(const sio_args *args, void *ud);
    void (*on_done)(void *ud);
    void *stream_ud;
    int refs; /* the timer's (or the starter's), one per receiver awaited, adapters' */
    int done;
    size_t expected;       /* clients that will answer (this node's, and reported) */
    size_t outstanding;    /* this node's receivers not yet answered or gone */
    size_t nodes_expected; /* other nodes that will report; SIZE_MAX: not known yet */
    size_t nodes_reported;
    sio_args **responses;
    size_t n, cap;
    eio_timeout *timer;
    sio_server *io;
};

static void deliver_one(sio_socket *s, void *arg)
{
    deliver_ctx *d = arg;
    sio__client *c = s->client;
    if (c->closed || !c->conn)
        return;
    const sio__observer *obs = s->nsp->io->observer;
    if (obs) /* Node's adapter notifies before the volatile check */
        obs->event_sent(obs->ud, s, d->packet->data, d->packet->attachments,
                        d->packet->attachment_count);
    if (c->closed || !c->conn) /* the observer ran code: look again */
        return;
    if ((d->flags & SIO_BC_VOLATILE) && !eio_socket_writable(c->conn))
        return;
    encoded_msgs *m = encoding_for(d, c->protocol);
    if (!m->ok)
        return;
    if (s->any_outgoing.len)
        notify_outgoing(d, s);
    int sent = eio_socket_send_message(c->conn, m->text) == 0;
    for (size_t i = 0; i < m->n_bins; i++)
        sent += eio_socket_send_message(c->conn, m->bins[i]) == 0;
    if (obs && sent)
        obs->packets_out(obs->ud, c, (size_t)sent, m->bytes); /* counts; sends nothing */
    if (d->ack) {
        sio__pending_ack *a = eio_calloc(1, sizeof(*a));
        a->id = d->packet->id;
        a->socket = s;
        a->broadcast = d->ack;
        a->next = s->acks;
        s->acks = a;
        d->ack->refs++;
        d->ack->expected++;
        d->ack->outstanding++;
    }
}

static void deliver_ctx_free(deliver_ctx *d)
{
    for (int v = 0; v < 2; v++) {
        eio_message_unref(d->enc[v].text);
        for (size_t i = 0; i < d->enc[v].n_bins; i++)
            eio_message_unref(d->enc[v].bins[i]);
        free(d->enc[v].bins);
    }
    sio_args_free(d->view);
    free(d->event);
}

void sio_adapter_deliver(sio_adapter *a, const sio_packet *packet, const sio_broadcast_opts *opts)
{
    deliver_ctx d;
    memset(&d, 0, sizeof(d));
    d.packet = packet;
    d.parser = a->nsp->io->parser;
    d.flags = opts->flags;
    a->ops->for_each(a, opts, deliver_one, &d);
    deliver_ctx_free(&d);
}

/* Builds the EVENT packet [event, ...args] in args (undo with unprepend). */
static void event_packet(sio_namespace *nsp, const char *event, sio_args *args, sio_packet *p)
{
    sio__args_prepend_event(args, event);
    memset(p, 0, sizeof(*p));
    p->type = SIO_PACKET_EVENT;
    p->nsp = nsp->name;
    p->data = args->array;
    p->attachments = args->bins;
    p->attachment_count = p->attachments_received = args->n_bins;
}

int sio_emit(sio_op *op, const char *event, sio_args *args)
{
    if (!args)
        args = sio_args_new();
    if (!event || sio__reserved_event(event)) {
        sio_args_free(args);
        sio_op_free(op);
        return SIO_EINVAL;
    }
    sio_packet p;
    sio_broadcast_opts o = op_opts(op);
    if (op->nsp->io->opts.recovery.enabled && !(o.flags & SIO_BC_VOLATILE)) {
        /* recovery: the event gets an offset as its last argument and is kept */
        sio__args_prepend_event(args, event);
        sio__recovery_store(op->nsp, args, &o);
        sio__args_unprepend(args);
    }
    event_packet(op->nsp, event, args, &p);
    op->nsp->adapter->ops->broadcast(op->nsp->adapter, &p, &o);
    sio_args_free(args);
    sio_op_free(op);
    return SIO_OK;
}

/* ---------------------------------------------------------------- with acknowledgements */

/* Calls the user's callback (or the stream's done) once. The armed timer
 * holds the starter's reference: cancelling it drops that reference (never
 * the last while the caller still holds one of its own). */
static void bc_finish(struct sio_bc_ack *b, int err)
{
    if (b->done)
        return;
    b->done = 1;
    if (b->fn)
        b->fn(err, (const sio_args *const *)b->responses, b->n, b->ud);
    else if (b->on_done)
        b->on_done(b->stream_ud);
    if (b->timer) {
        eio_clear_timeout(b->io->engine, b->timer);
        b->timer = NULL;
        b->refs--;
    }
}

static void bc_check(struct sio_bc_ack *b)
{
    if (b->done)
        return;
    if (b->fn && b->nodes_reported == b->nodes_expected && b->n == b->expected)
        bc_finish(b, SIO_OK);
    else if (!b->fn && b->outstanding == 0)
        bc_finish(b, SIO_OK);
}

sio_bc_ack *sio_bc_ack_ref(sio_bc_ack *b)
{
    b->refs++;
    return b;
}

void sio_bc_ack_unref(sio_bc_ack *b)
{
    if (--b->refs > 0)
        return;
    for (size_t i = 0; i < b->n; i++)
        sio_args_free(b->responses[i]);
    free(b->responses);
    free(b);
}

void sio_bc_ack_expect_nodes(sio_bc_ack *b, size_t nodes)
{
    b->nodes_expected = nodes;
    bc_check(b);
}

void sio_bc_ack_node_clients(sio_bc_ack *b, size_t clients)
{
    b->nodes_reported++;
    b->expected += clients;
    bc_check(b);
}

void sio_bc_ack_response(sio_bc_ack *b, const sio_args *args)
{
    if (b->done)
        return;
    if (b->on_ack) {
        b->on_ack(args, b->stream_ud);
        return;
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 8;
        b->responses = eio_realloc(b->responses, b->cap * sizeof(*b->responses));
    }
    b->responses[b->n++] = sio_args_copy(args);
    bc_check(b);
}

/* A receiver of this node answered: records it, releases its share. */
void sio__bc_ack_answer(struct sio_bc_ack *b, const sio_args *args)
{
    if (b->outstanding)
        b->outstanding--;
    sio_bc_ack_response(b, args);
    bc_check(b);
    sio_bc_ack_unref(b);
}

/* A receiver of this node will not answer (it disconnected). */
void sio__bc_ack_release(struct sio_bc_ack *b)
{
    if (b->outstanding)
        b->outstanding--;
    if (!b->fn)
        bc_check(b);
    sio_bc_ack_unref(b);
}

static void bc_timeout(void *arg)
{
    struct sio_bc_ack *b = arg;
    b->timer = NULL;
    bc_finish(b, SIO_ETIMEOUT);
    sio_bc_ack_unref(b); /* the starter's, held by the timer */
}

static struct sio_bc_ack *bc_new(sio_namespace *nsp)
{
    struct sio_bc_ack *b = eio_calloc(1, sizeof(*b));
    b->refs = 1;
    b->io = nsp->io;
    return b;
}

/* Delivers p (with a fresh ack id) to this node's sockets matching o. */
static void deliver_acked(sio_namespace *nsp, sio_packet *p, const sio_broadcast_opts *o,
                          struct sio_bc_ack *b)
{
    p->has_id = 1;
    p->id = nsp->next_ack_id++;
    deliver_ctx d;
    memset(&d, 0, sizeof(d));
    d.packet = p;
    d.parser = nsp->io->parser;
    d.flags = o->flags;
    d.ack = b;
    nsp->adapter->ops->for_each(nsp->adapter, o, deliver_one, &d);
    deliver_ctx_free(&d);
}

/* Ends the start of b: finished already, or the timer takes the reference. */
static void bc_arm(struct sio_bc_ack *b, int timeout_ms)
{
    bc_check(b);
    if (b->done)
        sio_bc_ack_unref(b);
    else
        b->timer = eio_set_timeout(b->io->engine, (uint64_t)timeout_ms, bc_timeout, b);
}

int sio_emit_with_ack(sio_op *op, const char *event, sio_args *args, sio_broadcast_ack_fn fn,
                      void *ud)
{
    if (!args)
        args = sio_args_new();
    if (!event || !fn || sio__reserved_event(event)) {
        sio_args_free(args);
        sio_op_free(op);
        return SIO_EINVAL;
    }
    sio_namespace *nsp = op->nsp;
    sio_adapter *ad = nsp->adapter;
    struct sio_bc_ack *b = bc_new(nsp);
    b->fn = fn;
    b->ud = ud;
    sio_packet p;
    event_packet(nsp, event, args, &p);
    sio_broadcast_opts o = op_opts(op);
    int timeout = op->timeout_ms >= 0 ? op->timeout_ms : 5000;
    deliver_acked(nsp, &p, &o, b);
    if (ad->ops->broadcast_with_ack_others && !(o.flags & SIO_BC_LOCAL)) {
        b->nodes_expected = SIZE_MAX;
        ad->ops->broadcast_with_ack_others(ad, &p, &o, timeout, b);
    }
    sio_args_free(args);
    sio_op_free(op);
    bc_arm(b, timeout);
    return SIO_OK;
}

size_t sio_adapter_deliver_with_ack(sio_adapter *a, const sio_packet *packet,
                                    const sio_broadcast_opts *opts, int timeout_ms,
                                    void (*on_ack)(const sio_args *args, void *ud),
                                    void (*done)(void *ud), void *ud)
{
    sio_namespace *nsp = a->nsp;
    struct sio_bc_ack *b = bc_new(nsp);
    b->on_ack = on_ack;
    b->on_done = done;
    b->stream_ud = ud;
    sio_packet p = *packet;
    deliver_acked(nsp, &p, opts, b);
    size_t n = b->expected;
    bc_arm(b, timeout_ms);
    return n;
}

/* ---------------------------------------------------------------- socket sets */

typedef struct collect_ctx {
    sio_socket **items;
    size_t n, cap;
} collect_ctx;

static void collect_one(sio_socket *s, void *arg)
{
    collect_ctx *c = arg;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->items = eio_realloc(c->items, c->cap * sizeof(*c->items));
    }
    c->items[c->n++] = s;
}

static collect_ctx collect(sio_adapter *a, const sio_broadcast_opts *o)
{
    collect_ctx c = {0};
    a->ops->for_each(a, o, collect_one, &c);
    return c;
}

size_t sio_fetch_sockets(sio_op *op, sio_socket ***out)
{
    sio_broadcast_opts o = op_opts(op);
    collect_ctx c = collect(op->nsp->adapter, &o);
    sio_op_free(op);
    *out = c.items;
    return c.n;
}

cJSON *sio_adapter_local_fetch_sockets(sio_adapter *a, const sio_broadcast_opts *opts)
{
    collect_ctx c = collect(a, opts);
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < c.n; i++)
        cJSON_AddItemToArray(arr, sio_socket_json(c.items[i]));
    free(c.items);
    return arr;
}

void sio_adapter_local_add_sockets(sio_adapter *a, const sio_broadcast_opts *opts,
                                   const char *const *rooms, size_t n)
{
    collect_ctx c = collect(a, opts);
    for (size_t i = 0; i < c.n; i++)
        for (size_t r = 0; r < n; r++)
            sio_socket_join(c.items[i], rooms[r]);
    free(c.items);
}

void sio_adapter_local_del_sockets(sio_adapter *a, const sio_broadcast_opts *opts,
                                   const char *const *rooms, size_t n)
{
    collect_ctx c = collect(a, opts);
    for (size_t i = 0; i < c.n; i++)
        for (size_t r = 0; r < n; r++)
            sio_socket_leave(c.items[i], rooms[r]);
    free(c.items);
}

void sio_adapter_local_disconnect_sockets(sio_adapter *a, const sio_broadcast_opts *opts,
                                          int close_conn)
{
    collect_ctx c = collect(a, opts);
    for (size_t i = 0; i < c.n; i++)
        sio__socket_ref(c.items[i]);
    for (size_t i = 0; i < c.n; i++) {
        sio_socket_disconnect(c.items[i], close_conn);
        sio__socket_unref(c.items[i]);
    }
    free(c.items);
}

static int others(const sio_op *op, const void *fn)
{
    return fn && !(op->flags & SIO_BC_LOCAL);
}

void sio_sockets_join(sio_op *op, const char *room)
{
    sio_adapter *a = op->nsp->adapter;
    sio_broadcast_opts o = op_opts(op);
    if (room) {
        sio_adapter_local_add_sockets(a, &o, &room, 1);
        if (others(op, (const void *)a->ops->add_sockets_others))
            a->ops->add_sockets_others(a, &o, &room, 1);
    }
    sio_op_free(op);
}

void sio_sockets_leave(sio_op *op, const char *room)
{
    sio_adapter *a = op->nsp->adapter;
    sio_broadcast_opts o = op_opts(op);
    if (room) {
        sio_adapter_local_del_sockets(a, &o, &room, 1);
        if (others(op, (const void *)a->ops->del_sockets_others))
            a->ops->del_sockets_others(a, &o, &room, 1);
    }
    sio_op_free(op);
}

void sio_disconnect_sockets(sio_op *op, int close_conn)
{
    sio_adapter *a = op->nsp->adapter;
    sio_broadcast_opts o = op_opts(op);
    if (others(op, (const void *)a->ops->disconnect_sockets_others))
        a->ops->disconnect_sockets_others(a, &o, close_conn);
    sio_adapter_local_disconnect_sockets(a, &o, close_conn);
    sio_op_free(op);
}

/* ---------------------------------------------------------------- fetchSockets, cluster-wide */

typedef struct fetch_req {
    sio_namespace *nsp;
    sio_fetch_fn fn;
    void *ud;
    cJSON *local; /* this node's sockets as JSON, in order */
    sio_socket **sockets;
    size_t n_local;
    eio_timeout *timer;
} fetch_req;

/* Builds the remote-socket views over a JSON array (borrowed) and calls fn. */
static void fetch_finish(fetch_req *r, int err, const cJSON *remote)
{
    size_t n =
        (size_t)cJSON_GetArraySize(r->local) + (remote ? (size_t)cJSON_GetArraySize(remote) : 0);
    sio_remote_socket *list = eio_calloc(n ? n : 1, sizeof(*list));
    size_t i = 0;
    const cJSON *arrays[2] = {r->local, remote};
    for (int k = 0; k < 2; k++) {
        const cJSON *it;
        cJSON_ArrayForEach(it, arrays[k])
        {
            sio_remote_socket *rs = &list[i];
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
            rs->id = cJSON_IsString(id) ? id->valuestring : "";
            rs->handshake = cJSON_GetObjectItemCaseSensitive(it, "handshake");
            rs->rooms = cJSON_GetObjectItemCaseSensitive(it, "rooms");
            rs->data = cJSON_GetObjectItemCaseSensitive(it, "data");
            /* this node's sockets: still there? (they are held, not kept connected) */
            rs->local = k == 0 && i < r->n_local && r->sockets[i]->connected ? r->sockets[i] : NULL;
            i++;
        }
    }
    r->fn(err, list, i, r->ud);
    free(list);
}

static void fetch_free(fetch_req *r)
{
    for (size_t i = 0; i < r->n_local; i++)
        sio__socket_unref(r->sockets[i]);
    sio_json_delete(r->local);
    free(r->sockets);
    free(r);
}

static void fetch_local_only(void *arg)
{
    fetch_req *r = arg;
    fetch_finish(r, SIO_OK, NULL);
    fetch_free(r);
}

static void fetch_remote_done(int err, const cJSON *sockets, void *ud)
{
    fetch_req *r = ud;
    fetch_finish(r, err, err == SIO_OK ? sockets : NULL);
    fetch_free(r);
}

void sio_fetch_sockets_async(sio_op *op, sio_fetch_fn fn, void *ud)
{
    sio_namespace *nsp = op->nsp;
    sio_adapter *a = nsp->adapter;
    sio_broadcast_opts o = op_opts(op);
    fetch_req *r = eio_calloc(1, sizeof(*r));
    r->nsp = nsp;
    r->fn = fn;
    r->ud = ud;
    collect_ctx c = collect(a, &o);
    r->sockets = c.items;
    r->n_local = c.n;
    r->local = cJSON_CreateArray();
    for (size_t i = 0; i < c.n; i++) {
        sio__socket_ref(c.items[i]);
        cJSON_AddItemToArray(r->local, sio_socket_json(c.items[i]));
    }
    int timeout = op->timeout_ms >= 0 ? op->timeout_ms : 5000;
    if (others(op, (const void *)a->ops->fetch_sockets_others))
        a->ops->fetch_sockets_others(a, &o, timeout, fetch_remote_done, r);
    else
        eio_set_timeout(nsp->io->engine, 0, fetch_local_only, r);
    sio_op_free(op);
}
