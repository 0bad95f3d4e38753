/*
 * sio_cluster: the operations that span every node of a cluster, as Node's
 * socket.io: socket.data as JSON and the socket as other nodes see it,
 * serverSideEmit and its handlers, allRooms and serverCount. This node's part
 * is done here; the adapter (sio_adapter.h) carries the rest.
 *
 * Threading: engine lock held (see sio.h).
 * Ownership: unanswered server-side acks belong to their namespace until
 * answered; a namespace going away tells their adapters "no answer".
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "socketio/sio_internal.h"
#include "socketio/sio_json.h"

/* ---------------------------------------------------------------- socket.data, as JSON */

void sio_socket_set_data_json(sio_socket *s, cJSON *data)
{
    sio_json_delete(s->data_json);
    s->data_json = data;
    const sio__observer *obs = s->nsp->io->observer;
    if (obs && s->connected)
        obs->data_changed(obs->ud, s);
}

const cJSON *sio_socket_data_json(const sio_socket *s)
{
    return s->data_json;
}

static cJSON *str(const char *v)
{
    return sio_json_create_string(v ? v : "", v ? strlen(v) : 0);
}

/* req.headers as Node's http module gives them: lower-case names, repeated
 * headers joined with ", ". */
static cJSON *headers_json(const eio_request *r)
{
    cJSON *h = cJSON_CreateObject();
    if (!r)
        return h;
    for (size_t i = 0; i < r->n_headers; i++) {
        char name[256];
        size_t n = strlen(r->headers[i].name);
        if (n >= sizeof(name))
            continue;
        for (size_t k = 0; k <= n; k++) {
            char c = r->headers[i].name[k];
            name[k] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        cJSON *old = cJSON_GetObjectItemCaseSensitive(h, name);
        if (old && cJSON_IsString(old)) {
            eio_buf b = EIO_BUF_INIT;
            eio_buf_append_str(&b, old->valuestring);
            eio_buf_append_str(&b, ", ");
            eio_buf_append_str(&b, r->headers[i].value);
            cJSON_ReplaceItemInObjectCaseSensitive(h, name,
                                                   sio_json_create_string((char *)b.data, b.len));
            eio_buf_free(&b);
        } else if (!old) {
            cJSON_AddItemToObject(h, name, str(r->headers[i].value));
        }
    }
    return h;
}

static void add_room(const char *room, void *ud)
{
    cJSON_AddItemToArray(ud, str(room));
}

cJSON *sio_socket_json(const sio_socket *s)
{
    const sio_handshake *hs = &s->handshake;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "id", str(s->id));
    cJSON *h = cJSON_CreateObject();
    cJSON_AddItemToObject(h, "headers", headers_json(hs->request));
    cJSON_AddItemToObject(h, "time", str(hs->time));
    cJSON_AddItemToObject(h, "address", str(hs->address));
    cJSON_AddItemToObject(h, "xdomain", cJSON_CreateBool(hs->xdomain));
    cJSON_AddItemToObject(h, "secure", cJSON_CreateBool(hs->secure));
    cJSON_AddItemToObject(h, "issued", cJSON_CreateNumber((double)hs->issued));
    cJSON_AddItemToObject(h, "url", str(hs->url));
    cJSON_AddItemToObject(h, "query",
                          hs->query ? cJSON_Duplicate(hs->query, 1) : cJSON_CreateObject());
    cJSON_AddItemToObject(h, "auth",
                          hs->auth ? cJSON_Duplicate(hs->auth, 1) : cJSON_CreateObject());
    cJSON_AddItemToObject(o, "handshake", h);
    cJSON *rooms = cJSON_CreateArray();
    sio_socket_rooms(s, add_room, rooms);
    cJSON_AddItemToObject(o, "rooms", rooms);
    cJSON_AddItemToObject(o, "data",
                          s->data_json ? cJSON_Duplicate(s->data_json, 1) : cJSON_CreateObject());
    return o;
}

/* ---------------------------------------------------------------- server-side events */

struct sio_server_ack {
    sio_namespace *nsp;
    void (*reply)(const sio_args *args, void *ud);
    void *ud;
    struct sio_server_ack *prev, *next;
};

void sio_on_server_event(sio_namespace *nsp, const char *event, sio_server_event_fn fn, void *ud)
{
    sio__handlers_add(&nsp->server_events, event, (void (*)(void))fn, ud, 0);
}

static void ack_unlink(sio_server_ack *ack)
{
    if (ack->prev)
        ack->prev->next = ack->next;
    else
        ack->nsp->server_acks = ack->next;
    if (ack->next)
        ack->next->prev = ack->prev;
}

void sio_server_ack_send(sio_server_ack *ack, sio_args *args)
{
    if (!args)
        args = sio_args_new();
    ack_unlink(ack);
    ack->reply(args, ack->ud);
    sio_args_free(args);
    free(ack);
}

void sio_adapter_server_event(sio_adapter *a, const sio_args *packet,
                              void (*reply)(const sio_args *args, void *ud), void *ud)
{
    sio_namespace *nsp = a->nsp;
    const cJSON *ev = sio_args_get(packet, 0);
    sio__handlers *h = &nsp->server_events;
    size_t matching = 0;
    if (cJSON_IsString(ev))
        for (size_t i = 0; i < h->len; i++)
            if (strcmp(h->items[i].event, ev->valuestring) == 0)
                matching++;
    if (!matching) {
        if (reply)
            reply(NULL, ud);
        return;
    }
    /* The arguments without the event name. */
    sio_args *args = sio_args_copy(packet);
    cJSON_Delete(cJSON_DetachItemFromArray((cJSON *)sio_args_json(args), 0));
    sio_server_ack *ack = NULL;
    if (reply) {
        ack = eio_calloc(1, sizeof(*ack));
        ack->nsp = nsp;
        ack->reply = reply;
        ack->ud = ud;
        ack->next = nsp->server_acks;
        if (ack->next)
            ack->next->prev = ack;
        nsp->server_acks = ack;
    }
    /* As an EventEmitter: every listener, each given the same callback
     * (only the first answer counts: later ones find no ack). */
    for (size_t i = 0; i < h->len; i++) {
        sio__handler x = h->items[i];
        if (strcmp(x.event, ev->valuestring) != 0)
            continue;
        int still = 0;
        for (sio_server_ack *p = nsp->server_acks; ack && p; p = p->next)
            if (p == ack)
                still = 1;
        ((sio_server_event_fn)x.fn)(nsp, args, still ? ack : NULL, x.ud);
    }
    sio_args_free(args);
}

void sio__nsp_cluster_free(sio_namespace *nsp)
{
    while (nsp->server_acks) {
        sio_server_ack *ack = nsp->server_acks;
        nsp->server_acks = ack->next;
        ack->reply(NULL, ack->ud);
        free(ack);
    }
    sio__handlers_free(&nsp->server_events);
}

static int reserved_server_event(const char *event)
{
    return !event || strcmp(event, "connect") == 0 || strcmp(event, "connection") == 0 ||
           strcmp(event, "new_namespace") == 0;
}

typedef struct later_ack {
    sio_broadcast_ack_fn fn;
    void *ud;
} later_ack;

static void no_others_ack(void *arg)
{
    later_ack *l = arg;
    l->fn(SIO_OK, NULL, 0, l->ud);
    free(l);
}

static int sse(sio_namespace *nsp, const char *event, sio_args *args, int timeout_ms,
               sio_broadcast_ack_fn fn, void *ud)
{
    if (!args)
        args = sio_args_new();
    if (reserved_server_event(event)) {
        sio_args_free(args);
        return SIO_EINVAL;
    }
    sio__args_prepend_event(args, event);
    sio_adapter *a = nsp->adapter;
    if (a->ops->server_side_emit_others) {
        a->ops->server_side_emit_others(a, args, timeout_ms < 0 ? 5000 : timeout_ms, fn, ud);
    } else if (fn) {
        later_ack *l = eio_malloc(sizeof(*l));
        l->fn = fn;
        l->ud = ud;
        eio_set_timeout(nsp->io->engine, 0, no_others_ack, l);
    }
    sio__args_unprepend(args);
    sio_args_free(args);
    return SIO_OK;
}

int sio_server_side_emit(sio_namespace *nsp, const char *event, sio_args *args)
{
    return sse(nsp, event, args, -1, NULL, NULL);
}

int sio_server_side_emit_with_ack(sio_namespace *nsp, const char *event, sio_args *args,
                                  int timeout_ms, sio_broadcast_ack_fn fn, void *ud)
{
    if (!fn) {
        sio_args_free(args);
        return SIO_EINVAL;
    }
    return sse(nsp, event, args, timeout_ms, fn, ud);
}

/* ---------------------------------------------------------------- allRooms, serverCount */

typedef struct rooms_req {
    sio_namespace *nsp;
    sio_rooms_fn fn;
    void *ud;
    char **items;
    size_t n, cap;
} rooms_req;

static void rooms_add(const char *room, void *ud)
{
    rooms_req *r = ud;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 32;
        r->items = eio_realloc(r->items, r->cap * sizeof(*r->items));
    }
    r->items[r->n++] = eio_strdup(room);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void rooms_finish(rooms_req *r, int err)
{
    qsort(r->items, r->n, sizeof(*r->items), cmp_str);
    size_t o = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (o && strcmp(r->items[o - 1], r->items[i]) == 0)
            free(r->items[i]);
        else
            r->items[o++] = r->items[i];
    }
    r->n = o;
    r->fn(err, (const char *const *)r->items, r->n, r->ud);
    for (size_t i = 0; i < r->n; i++)
        free(r->items[i]);
    free(r->items);
    free(r);
}

static void rooms_local_only(void *arg)
{
    rooms_finish(arg, SIO_OK);
}

static void rooms_remote(int err, const char *const *rooms, size_t n, void *ud)
{
    rooms_req *r = ud;
    for (size_t i = 0; i < n; i++)
        rooms_add(rooms[i], r);
    rooms_finish(r, err);
}

void sio_all_rooms(sio_namespace *nsp, sio_rooms_fn fn, void *ud)
{
    rooms_req *r = eio_calloc(1, sizeof(*r));
    r->nsp = nsp;
    r->fn = fn;
    r->ud = ud;
    sio_adapter *a = nsp->adapter;
    a->ops->rooms(a, rooms_add, r);
    if (a->ops->all_rooms_others)
        a->ops->all_rooms_others(a, 5000, rooms_remote, r);
    else
        eio_set_timeout(nsp->io->engine, 0, rooms_local_only, r);
}

typedef struct count_req {
    sio_namespace *nsp;
    void (*fn)(size_t nodes, void *ud);
    void *ud;
    int starting; /* inside sio_server_count: answer later */
    size_t nodes;
} count_req;

static void count_later(void *arg)
{
    count_req *c = arg;
    c->fn(c->nodes, c->ud);
    free(c);
}

static void count_done(size_t nodes, void *ud)
{
    count_req *c = ud;
    c->nodes = nodes;
    if (c->starting)
        eio_set_timeout(c->nsp->io->engine, 0, count_later, c);
    else
        count_later(c);
}

void sio_server_count(sio_namespace *nsp, void (*fn)(size_t nodes, void *ud), void *ud)
{
    count_req *c = eio_calloc(1, sizeof(*c));
    c->nsp = nsp;
    c->fn = fn;
    c->ud = ud;
    c->starting = 1;
    nsp->adapter->ops->server_count(nsp->adapter, count_done, c);
    c->starting = 0; /* c may be gone already only if count_done deferred: it did not free */
}
