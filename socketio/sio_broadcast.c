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

sio_op *sio_compress(sio_op *op, int on)
{
    if (on)
        op->flags |= SIO_BC_COMPRESS;
    else
        op->flags &= ~(unsigned)SIO_BC_COMPRESS;
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
} encoded_msgs;

typedef struct deliver_ctx {
    const sio_packet *packet;
    unsigned flags;
    encoded_msgs enc[2]; /* [0]: protocol v4, [1]: v5 */
    sio_args *view;      /* for onAnyOutgoing listeners, built on first need */
    char *event;
    struct sio__bc_ack *ack;
} deliver_ctx;

static encoded_msgs *encoding_for(deliver_ctx *d, int protocol)
{
    encoded_msgs *m = &d->enc[protocol >= 5 ? 1 : 0];
    if (m->done)
        return m;
    m->done = 1;
    sio_encoded e = SIO_ENCODED_INIT;
    if (sio_packet_encode(protocol, d->packet, &e) == 0) {
        m->ok = 1;
        m->text = eio_message_new(e.text.data, e.text.len, 0);
        m->n_bins = e.attachment_count;
        if (m->n_bins) {
            m->bins = eio_malloc(m->n_bins * sizeof(*m->bins));
            for (size_t i = 0; i < m->n_bins; i++)
                m->bins[i] = eio_message_new(e.attachments[i]->data, e.attachments[i]->len, 1);
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

struct sio__bc_ack {
    sio_broadcast_ack_fn fn;
    void *ud;
    int refs; /* the aggregator's own, plus one per receiver still awaited */
    int done;
    size_t expected;
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
    if ((d->flags & SIO_BC_VOLATILE) && !eio_socket_writable(c->conn))
        return;
    encoded_msgs *m = encoding_for(d, c->protocol);
    if (!m->ok)
        return;
    if (s->any_outgoing.len)
        notify_outgoing(d, s);
    eio_socket_send_message(c->conn, m->text);
    for (size_t i = 0; i < m->n_bins; i++)
        eio_socket_send_message(c->conn, m->bins[i]);
    if (d->ack) {
        sio__pending_ack *a = eio_calloc(1, sizeof(*a));
        a->id = d->packet->id;
        a->socket = s;
        a->broadcast = d->ack;
        a->next = s->acks;
        s->acks = a;
        d->ack->refs++;
        d->ack->expected++;
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
    event_packet(op->nsp, event, args, &p);
    sio_broadcast_opts o = op_opts(op);
    op->nsp->adapter->ops->broadcast(op->nsp->adapter, &p, &o);
    sio_args_free(args);
    sio_op_free(op);
    return SIO_OK;
}

/* ---------------------------------------------------------------- with acknowledgements */

void sio__bc_ack_release(struct sio__bc_ack *b);

/* Calls the user's callback once. When the answers complete before the
 * timeout, the cancelled timer's reference is dropped here (the caller still
 * holds one of its own, so b stays valid until that is released). */
static void bc_finish(struct sio__bc_ack *b, int err)
{
    if (b->done)
        return;
    b->done = 1;
    b->fn(err, (const sio_args *const *)b->responses, b->n, b->ud);
    if (b->timer) {
        eio_clear_timeout(b->io->engine, b->timer);
        b->timer = NULL;
        b->refs--; /* the timer's share; never the last: the caller holds one */
    }
}

void sio__bc_ack_release(struct sio__bc_ack *b)
{
    if (--b->refs > 0)
        return;
    for (size_t i = 0; i < b->n; i++)
        sio_args_free(b->responses[i]);
    free(b->responses);
    free(b);
}

void sio__bc_ack_response(struct sio__bc_ack *b, const sio_args *args)
{
    if (!b->done) {
        if (b->n == b->cap) {
            b->cap = b->cap ? b->cap * 2 : 8;
            b->responses = eio_realloc(b->responses, b->cap * sizeof(*b->responses));
        }
        b->responses[b->n++] = sio_args_copy(args);
        if (b->n == b->expected)
            bc_finish(b, SIO_OK);
    }
    sio__bc_ack_release(b);
}

static void bc_timeout(void *arg)
{
    struct sio__bc_ack *b = arg;
    b->timer = NULL;
    bc_finish(b, SIO_ETIMEOUT);
    sio__bc_ack_release(b); /* the aggregator's own */
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
    struct sio__bc_ack *b = eio_calloc(1, sizeof(*b));
    b->fn = fn;
    b->ud = ud;
    b->refs = 1;
    b->io = nsp->io;
    sio_packet p;
    event_packet(nsp, event, args, &p);
    p.has_id = 1;
    p.id = nsp->next_ack_id++;
    sio_broadcast_opts o = op_opts(op);
    deliver_ctx d;
    memset(&d, 0, sizeof(d));
    d.packet = &p;
    d.flags = o.flags;
    d.ack = b;
    nsp->adapter->ops->for_each(nsp->adapter, &o, deliver_one, &d);
    deliver_ctx_free(&d);
    sio_args_free(args);
    int timeout = op->timeout_ms >= 0 ? op->timeout_ms : 5000;
    sio_op_free(op);
    if (b->expected == 0) {
        bc_finish(b, SIO_OK);
        sio__bc_ack_release(b);
        return SIO_OK;
    }
    b->timer = eio_set_timeout(nsp->io->engine, (uint64_t)timeout, bc_timeout, b);
    return SIO_OK;
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

static collect_ctx collect(sio_op *op)
{
    collect_ctx c = {0};
    sio_broadcast_opts o = op_opts(op);
    op->nsp->adapter->ops->for_each(op->nsp->adapter, &o, collect_one, &c);
    return c;
}

size_t sio_fetch_sockets(sio_op *op, sio_socket ***out)
{
    collect_ctx c = collect(op);
    sio_op_free(op);
    *out = c.items;
    return c.n;
}

void sio_sockets_join(sio_op *op, const char *room)
{
    collect_ctx c = collect(op);
    for (size_t i = 0; i < c.n; i++)
        sio_socket_join(c.items[i], room);
    free(c.items);
    sio_op_free(op);
}

void sio_sockets_leave(sio_op *op, const char *room)
{
    collect_ctx c = collect(op);
    for (size_t i = 0; i < c.n; i++)
        sio_socket_leave(c.items[i], room);
    free(c.items);
    sio_op_free(op);
}

void sio_disconnect_sockets(sio_op *op, int close_conn)
{
    collect_ctx c = collect(op);
    for (size_t i = 0; i < c.n; i++)
        sio__socket_ref(c.items[i]);
    for (size_t i = 0; i < c.n; i++) {
        sio_socket_disconnect(c.items[i], close_conn);
        sio__socket_unref(c.items[i]);
    }
    free(c.items);
    sio_op_free(op);
}
