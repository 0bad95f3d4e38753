/*
 * clu_adapter: the classic Redis adapter, wire-compatible with Node's
 * @socket.io/redis-adapter 8.x createAdapter() (../shared/NODE-CLUSTER.md
 * section 1.1): per namespace, broadcasts on socket.io#<nsp>#[<room>#] as
 * notepack [uid, packet, opts], requests on socket.io-request#<nsp>#
 * (JSON, or msgpack for a broadcast with acks), responses on
 * socket.io-response#<nsp># and socket.io-response#<nsp>#<uid>#.
 *
 * The sharded adapter (createShardedAdapter, section 1.2: socket.io-adapter's
 * ClusterAdapter over SPUBLISH/SSUBSCRIBE) shares all of this but the wire:
 * {uid, nsp, type, data} messages (JSON, or notepack when they carry binary)
 * on socket.io#<nsp># (and socket.io#<nsp>#<room># in the dynamic
 * subscription modes), responses on socket.io#<nsp>#<uid>#. Both speak the
 * same logical messages below (L_*), mapped to each wire at the edges.
 *
 * Each namespace's adapter wraps an in-memory adapter for this node's rooms
 * and sockets; what other nodes ask is applied through the sio_adapter_local_*
 * functions. Requests waiting for other nodes count them with
 * PUBSUB NUMSUB on the request channel, as Node does, and end after
 * requestsTimeout.
 *
 * Threading: engine lock held everywhere (Redis callbacks run on the loop).
 * Ownership: the cluster owns its connections, its adapters' list and every
 * request in flight; a namespace owns its adapter (freed through ops->free,
 * which fails its requests).
 */
#include "cluster/clu.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/clu_internal.h"
#include "cluster/clu_redis.h"
#include "socketio/sio_json.h"
#include "socketio/sio_msgpack.h"

/* Classic request types (redis-adapter lib/index.ts RequestType). */
enum {
    RT_SOCKETS = 0,
    RT_ALL_ROOMS = 1,
    RT_REMOTE_JOIN = 2,
    RT_REMOTE_LEAVE = 3,
    RT_REMOTE_DISCONNECT = 4,
    RT_REMOTE_FETCH = 5,
    RT_SERVER_SIDE_EMIT = 6,
    RT_BROADCAST = 7,
    RT_BROADCAST_CLIENT_COUNT = 8,
    RT_BROADCAST_ACK = 9,
};

/* Logical messages: the sharded wire's MessageType numbers
 * (cluster-adapter.ts), plus what only the classic wire has. */
enum {
    L_BROADCAST = 3,
    L_JOIN = 4,
    L_LEAVE = 5,
    L_DISCONNECT = 6,
    L_FETCH = 7,
    L_FETCH_RESP = 8,
    L_SSE = 9,
    L_SSE_RESP = 10,
    L_BC_COUNT = 11,
    L_BC_ACK = 12,
    L_ALL_ROOMS = 100,
    L_ALL_ROOMS_RESP = 101,
    L_SOCKETS = 102,
};

/* Nesting of a cluster message: as deep as a parser here goes (1000), so
 * that a broadcast's packet data as deep as sio_options.max_json_depth lets
 * a client send (1000 by default) crosses, less the envelope's few levels. */
#define MAX_DEPTH SIO_JSON_MAX_DEPTH_LIMIT

typedef struct nsp_adapter nsp_adapter;
typedef struct request request;

struct clu_cluster {
    clu_options o;
    char *url, *key, *prefix;
    clu_redis_url rurl;
    eio_server *srv;
    clu_redis *pub, *sub;
    nsp_adapter *adapters;
    request *requests; /* every request in flight, of every namespace */
    uint64_t drop_log_ms;
    unsigned long dropped;
};

/* A set of strings (rooms with a channel of their own), chained hash. */
typedef struct str_set_item {
    char *s;
    struct str_set_item *next;
} str_set_item;
typedef struct str_set {
    str_set_item **table;
    size_t cap, len;
} str_set;

struct nsp_adapter {
    sio_adapter base;
    sio_adapter *local;
    clu_cluster *c;
    int sharded;
    char uid[17];     /* classic: 6 characters; sharded: 16 hex digits */
    char *ch_bc;      /* socket.io#<nsp>#: classic broadcasts; the sharded main channel */
    char *ch_pattern; /* classic: socket.io#<nsp>#* */
    char *ch_req;     /* classic: socket.io-request#<nsp># */
    char *ch_resp;    /* classic: socket.io-response#<nsp># */
    char *
        ch_resp_own; /* classic: socket.io-response#<nsp>#<uid>#; sharded: socket.io#<nsp>#<uid># */
    str_set dynamic; /* sharded, dynamic modes: the rooms subscribed to */
    nsp_adapter *next;
};

/* A request waiting for other nodes. refs: the cluster's list while it is
 * active, and a NUMSUB reply still to come. */
struct request {
    int type;
    char id[17];
    nsp_adapter *a; /* NULL once ended */
    int refs;
    int ended;
    size_t num_sub; /* 0 until NUMSUB answered */
    size_t msg_count;
    eio_timeout *timer;
    eio_buf payload; /* published once NUMSUB is known */
    const char *payload_channel;
    int timeout_ms;
    /* results */
    cJSON *list; /* FETCH: sockets; ALL_ROOMS: rooms */
    sio_args **responses;
    size_t n_responses, cap_responses;
    sio_bc_ack *bc;
    sio_adapter_sockets_fn fetch_fn;
    sio_adapter_rooms_fn rooms_fn;
    sio_broadcast_ack_fn sse_fn;
    void *ud;
    request *next;
};

/* ---------------------------------------------------------------- logging */

static void clog_(clu_cluster *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void clog_(clu_cluster *c, int level, const char *fmt, ...)
{
    const eio_options *eo = eio_server_options(c->srv);
    if (level > eo->log_level)
        return;
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (eo->log)
        eo->log(level, msg, NULL);
    else
        fprintf(stderr, "[cluster] %s\n", msg);
}

static void redis_log(int level, const char *msg, void *ud)
{
    clog_(ud, level, "%s", msg);
}

/* A message from Redis that cannot be used: dropped, logged at most once a
 * second (with how many were dropped meanwhile). */
static void drop(clu_cluster *c, const char *channel, const char *why)
{
    c->dropped++;
    uint64_t now = eio_server_now_ms(c->srv);
    if (c->drop_log_ms && now - c->drop_log_ms < 1000)
        return;
    c->drop_log_ms = now;
    clog_(c, EIO_LOG_WARN, "cluster: dropped a message on %s: %s (%lu dropped so far)", channel,
          why, c->dropped);
}

/* ---------------------------------------------------------------- helpers */

static char *strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *strf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        eio_oom();
    va_end(ap);
    return s;
}

static void random_id(char out[8], size_t n)
{
    char id[21];
    eio_generate_id(id);
    memcpy(out, id, n);
    out[n] = 0;
}

/* PUBLISH (classic) or SPUBLISH (sharded). */
static void publish_raw(nsp_adapter *a, const char *channel, const void *data, size_t len)
{
    const char *argv[3] = {a->sharded ? "SPUBLISH" : "PUBLISH", channel, data};
    size_t argl[3] = {strlen(argv[0]), strlen(channel), len};
    clu_redis_command(a->c->pub, NULL, NULL, 3, argv, argl);
}

static cJSON *strings(const char *const *items, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, sio_json_create_string(items[i], strlen(items[i])));
    return a;
}

/* opts as Node sends them: {rooms:[..], except:[..]} (+ flags when given). */
static cJSON *opts_json(const sio_broadcast_opts *o, int with_flags, int timeout_ms)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "rooms", strings(o->rooms, o->n_rooms));
    cJSON_AddItemToObject(j, "except", strings(o->except, o->n_except));
    if (with_flags) {
        cJSON *f = cJSON_CreateObject();
        if (o->flags & SIO_BC_VOLATILE)
            cJSON_AddTrueToObject(f, "volatile");
        if (o->flags & SIO_BC_COMPRESS)
            cJSON_AddTrueToObject(f, "compress");
        else if (o->flags & SIO_BC_NO_COMPRESS)
            cJSON_AddFalseToObject(f, "compress");
        if (timeout_ms >= 0)
            cJSON_AddNumberToObject(f, "timeout", timeout_ms);
        cJSON_AddItemToObject(j, "flags", f);
    }
    return j;
}

/* The string members of a JSON array, borrowed from it. */
typedef struct str_list {
    const char **items;
    size_t n;
} str_list;

/* A room no socket of this node can be in: Node lets rooms be any value
 * (io.to(5)), and a C socket's rooms are strings, so a room that is not a
 * string matches nobody here (it must not be dropped: an empty list means
 * every socket). */
static const char not_a_string_room[] = "\x01(a room that is not a string)";

static str_list str_list_of_rooms(const cJSON *arr, int keep_others)
{
    str_list l = {0};
    int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
    if (n <= 0)
        return l;
    l.items = eio_malloc((size_t)n * sizeof(*l.items));
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (cJSON_IsString(it))
            l.items[l.n++] = it->valuestring;
        else if (keep_others)
            l.items[l.n++] = not_a_string_room;
    }
    return l;
}

static str_list str_list_of(const cJSON *arr)
{
    return str_list_of_rooms(arr, 0);
}

/* Broadcast options from a message's opts, borrowing its strings. */
typedef struct parsed_opts {
    str_list rooms, except;
    sio_broadcast_opts o;
} parsed_opts;

/* opts.rooms / opts.except that are there but not arrays: Node's new Set()
 * would throw or split a string into letters; such a message is dropped. */
static int opts_ok(const cJSON *j)
{
    const cJSON *r = sio_json_get(j, "rooms"), *e = sio_json_get(j, "except");
    return (!r || cJSON_IsNull(r) || cJSON_IsArray(r)) &&
           (!e || cJSON_IsNull(e) || cJSON_IsArray(e));
}

static void parse_opts(const cJSON *j, parsed_opts *p)
{
    memset(p, 0, sizeof(*p));
    p->rooms = str_list_of_rooms(sio_json_get(j, "rooms"), 1);
    p->except = str_list_of(sio_json_get(j, "except"));
    const cJSON *flags = sio_json_get(j, "flags");
    p->o.rooms = p->rooms.items;
    p->o.n_rooms = p->rooms.n;
    p->o.except = p->except.items;
    p->o.n_except = p->except.n;
    if (cJSON_IsTrue(sio_json_get(flags, "volatile")))
        p->o.flags |= SIO_BC_VOLATILE;
    const cJSON *compress = sio_json_get(flags, "compress");
    if (cJSON_IsTrue(compress))
        p->o.flags |= SIO_BC_COMPRESS;
    else if (cJSON_IsFalse(compress))
        p->o.flags |= SIO_BC_NO_COMPRESS;
}

static void parsed_opts_free(parsed_opts *p)
{
    free(p->rooms.items);
    free(p->except.items);
}

/* Binary values of a decoded message, as the attachments of a packet. */
typedef struct frames {
    eio_frame **items;
    size_t n, cap;
} frames;

static cJSON *frames_add(const uint8_t *data, size_t len, void *ud)
{
    frames *f = ud;
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 4;
        f->items = eio_realloc(f->items, f->cap * sizeof(*f->items));
    }
    f->items[f->n] = eio_frame_from(data, len);
    return sio_packet_placeholder_new(f->n++);
}

static void frames_free(frames *f)
{
    for (size_t i = 0; i < f->n; i++)
        eio_frame_unref(f->items[i]);
    free(f->items);
}

static const uint8_t *packet_bin(const cJSON *item, size_t *len, void *ud)
{
    const sio_packet *p = ud;
    long long num = sio_packet_placeholder_num(item);
    if (num < 0 || (size_t)num >= p->attachment_count || !p->attachments[num])
        return NULL;
    *len = p->attachments[num]->len;
    return p->attachments[num]->data;
}

static const uint8_t *args_bin(const cJSON *item, size_t *len, void *ud)
{
    return sio_args_binary(ud, item, len);
}

static cJSON *args_bin_add(const uint8_t *data, size_t len, void *ud)
{
    return sio_args_binary_value(ud, data, len);
}

/* Decodes a message: JSON when it starts with '{', else notepack. */
static cJSON *decode(const redisReply *m, sio_msgpack_bin_fn on_bin, void *ud, const char **why)
{
    if (m->len > 0 && m->str[0] == '{') {
        sio_json_error e;
        cJSON *j = sio_json_parse(m->str, m->len, MAX_DEPTH, &e);
        if (!j)
            *why = e.message;
        return j;
    }
    cJSON *out = NULL;
    if (sio_msgpack_decode((const uint8_t *)m->str, m->len, MAX_DEPTH, on_bin, ud, &out, why) != 0)
        return NULL;
    return out;
}

/* ---------------------------------------------------------------- requests in flight */

static void request_unref(request *r)
{
    if (--r->refs > 0)
        return;
    eio_buf_free(&r->payload);
    sio_json_delete(r->list);
    for (size_t i = 0; i < r->n_responses; i++)
        sio_args_free(r->responses[i]);
    free(r->responses);
    free(r);
}

/* Ends r: gives its result (err) and drops it from the cluster's list. */
static void request_end(clu_cluster *c, request *r, int err)
{
    if (r->ended)
        return;
    r->ended = 1;
    if (r->timer) {
        eio_clear_timeout(c->srv, r->timer);
        r->timer = NULL;
    }
    for (request **pp = &c->requests; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    r->a = NULL;
    switch (r->type) {
    case L_FETCH: r->fetch_fn(err, r->list, r->ud); break;
    case L_ALL_ROOMS: {
        str_list l = str_list_of(r->list);
        r->rooms_fn(err, l.items, l.n, r->ud);
        free(l.items);
        break;
    }
    case L_SSE: r->sse_fn(err, (const sio_args *const *)r->responses, r->n_responses, r->ud); break;
    case L_BROADCAST:
        if (r->num_sub == 0) /* NUMSUB never came: no other node will count */
            sio_bc_ack_expect_nodes(r->bc, 0);
        sio_bc_ack_unref(r->bc);
        break;
    }
    request_unref(r);
}

static void request_timeout(void *arg)
{
    request *r = arg;
    r->timer = NULL;
    clu_cluster *c = r->a ? r->a->c : NULL;
    if (!c)
        return;
    if (r->type != L_BROADCAST)
        clog_(c, EIO_LOG_WARN, "cluster: request %s (type %d) timed out: %zu of %zu nodes answered",
              r->id, r->type, r->msg_count, r->num_sub);
    request_end(c, r, SIO_ETIMEOUT);
}

static request *request_new(nsp_adapter *a, int type, int timeout_ms)
{
    request *r = eio_calloc(1, sizeof(*r));
    r->type = type;
    if (a->sharded) {
        static const char hex[] = "0123456789abcdef";
        char raw[21];
        eio_generate_id(raw);
        for (int i = 0; i < 16; i++)
            r->id[i] = hex[(unsigned char)raw[i] & 15];
        r->id[16] = 0;
    } else {
        random_id(r->id, 6);
    }
    r->a = a;
    r->refs = 1;
    r->msg_count = 1; /* this node */
    r->timeout_ms = timeout_ms;
    r->next = a->c->requests;
    a->c->requests = r;
    return r;
}

static request *request_find(nsp_adapter *a, const char *id)
{
    for (request *r = a->c->requests; r; r = r->next)
        if (r->a == a && strcmp(r->id, id) == 0)
            return r;
    return NULL;
}

/* Checks whether every node has answered. */
static void request_check(clu_cluster *c, request *r)
{
    if (r->ended || !r->num_sub)
        return;
    if (r->type == L_SSE ? r->n_responses + 1 >= r->num_sub : r->msg_count >= r->num_sub)
        request_end(c, r, SIO_OK);
}

/* PUBSUB NUMSUB answered: publish the request (or end it at once). */
static void numsub_reply(clu_redis *redis, const redisReply *reply, void *ud)
{
    (void)redis;
    request *r = ud;
    nsp_adapter *a = r->a;
    if (r->ended || !a) {
        request_unref(r);
        return;
    }
    clu_cluster *c = a->c;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
        reply->element[1]->type != REDIS_REPLY_INTEGER) {
        if (r->type == L_BROADCAST) {
            r->num_sub = 1;
            sio_bc_ack_expect_nodes(r->bc, 0);
        } else {
            request_end(c, r, SIO_EUNAVAILABLE);
        }
        request_unref(r);
        return;
    }
    long long n = reply->element[1]->integer;
    r->num_sub = n > 1 ? (size_t)n : 1;
    if (r->type == L_BROADCAST) {
        sio_bc_ack_expect_nodes(r->bc, r->num_sub - 1);
        request_unref(r);
        return;
    }
    if (r->num_sub <= 1) {
        request_end(c, r, SIO_OK);
    } else {
        publish_raw(a, r->payload_channel, r->payload.data, r->payload.len);
        r->timer = eio_set_timeout(c->srv, (uint64_t)r->timeout_ms, request_timeout, r);
    }
    request_unref(r);
}

/* PUBSUB NUMSUB of the request channel (classic) or SHARDNUMSUB of the
 * main channel (sharded): the nodes, this one included. */
static void numsub(nsp_adapter *a, clu_reply_fn fn, void *ud)
{
    const char *argv[3] = {"PUBSUB", a->sharded ? "SHARDNUMSUB" : "NUMSUB",
                           a->sharded ? a->ch_bc : a->ch_req};
    clu_redis_command(a->c->pub, fn, ud, 3, argv, NULL);
}

static void ask_numsub(nsp_adapter *a, request *r)
{
    r->refs++;
    numsub(a, numsub_reply, r);
}

/* ---------------------------------------------------------------- local operations */

#define LOCAL(a) (((nsp_adapter *)(a))->local)

static void sharded_room_sub(nsp_adapter *a, const char *room, int on);
static void str_set_add(struct str_set *set, const char *s);
static int str_set_del(struct str_set *set, const char *s);

/* Sharded, dynamic modes: a room of this node gets its own channel when it
 * is created ("create-room": public rooms, or every room in
 * dynamic-private) and loses it when it is deleted. */
static int dynamic_mode(const nsp_adapter *a)
{
    return a->sharded && a->c->o.subscription_mode != CLU_SUB_STATIC;
}

static void r_add_all(sio_adapter *base, sio_socket *s, const char *const *rooms, size_t n)
{
    nsp_adapter *a = (nsp_adapter *)base;
    if (!dynamic_mode(a)) {
        a->local->ops->add_all(a->local, s, rooms, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        int created = sio_memory_adapter_room_size(a->local, rooms[i]) == 0;
        a->local->ops->add_all(a->local, s, &rooms[i], 1);
        /* "dynamic": a room that is one of this node's socket ids is private */
        if (created && (a->c->o.subscription_mode == CLU_SUB_DYNAMIC_PRIVATE ||
                        strcmp(rooms[i], sio_socket_id(s)) != 0)) {
            str_set_add(&a->dynamic, rooms[i]);
            sharded_room_sub(a, rooms[i], 1);
        }
    }
}

static void room_maybe_deleted(nsp_adapter *a, const char *room)
{
    if (sio_memory_adapter_room_size(a->local, room) == 0 && str_set_del(&a->dynamic, room))
        sharded_room_sub(a, room, 0);
}

static void r_del(sio_adapter *base, sio_socket *s, const char *room)
{
    nsp_adapter *a = (nsp_adapter *)base;
    a->local->ops->del(a->local, s, room);
    if (dynamic_mode(a))
        room_maybe_deleted(a, room);
}

static void collect_room(const char *room, void *ud)
{
    cJSON_AddItemToArray(ud, sio_json_create_string(room, strlen(room)));
}

static void r_del_all(sio_adapter *base, sio_socket *s)
{
    nsp_adapter *a = (nsp_adapter *)base;
    if (!dynamic_mode(a)) {
        a->local->ops->del_all(a->local, s);
        return;
    }
    cJSON *rooms = cJSON_CreateArray();
    a->local->ops->socket_rooms(a->local, s, collect_room, rooms);
    a->local->ops->del_all(a->local, s);
    const cJSON *it;
    cJSON_ArrayForEach(it, rooms) room_maybe_deleted(a, it->valuestring);
    sio_json_delete(rooms);
}
static int r_has(sio_adapter *a, const sio_socket *s, const char *room)
{
    return LOCAL(a)->ops->has(LOCAL(a), s, room);
}
static void r_socket_rooms(sio_adapter *a, const sio_socket *s,
                           void (*fn)(const char *room, void *ud), void *ud)
{
    LOCAL(a)->ops->socket_rooms(LOCAL(a), s, fn, ud);
}
static void r_rooms(sio_adapter *a, void (*fn)(const char *room, void *ud), void *ud)
{
    LOCAL(a)->ops->rooms(LOCAL(a), fn, ud);
}
static void r_for_each(sio_adapter *a, const sio_broadcast_opts *opts,
                       void (*fn)(sio_socket *s, void *ud), void *ud)
{
    LOCAL(a)->ops->for_each(LOCAL(a), opts, fn, ud);
}

/* ---------------------------------------------------------------- the two wires */

/* get_bin that also notes whether any binary value was met. */
typedef struct bin_probe {
    sio_msgpack_get_bin_fn fn;
    void *ud;
    int seen;
} bin_probe;

static const uint8_t *probe_bin(const cJSON *item, size_t *len, void *ud)
{
    bin_probe *p = ud;
    const uint8_t *b = p->fn ? p->fn(item, len, p->ud) : NULL;
    if (b)
        p->seen = 1;
    return b;
}

/* Encodes v: notepack if force_msgpack or (may_bin and it holds binary),
 * else JSON text. Returns 0, or -1 if it cannot be encoded. */
static int encode(const cJSON *v, int force_msgpack, int may_bin, sio_msgpack_get_bin_fn get_bin,
                  void *ud, eio_buf *out)
{
    if (force_msgpack || may_bin) {
        bin_probe p = {get_bin, ud, 0};
        if (sio_msgpack_encode(v, MAX_DEPTH + 4, probe_bin, &p, out) != 0)
            return -1;
        if (force_msgpack || p.seen)
            return 0;
        eio_buf_reset(out);
    }
    sio_json_print_append(out, v);
    return 0;
}

static int classic_type(int t)
{
    switch (t) {
    case L_ALL_ROOMS: return RT_ALL_ROOMS;
    case L_JOIN: return RT_REMOTE_JOIN;
    case L_LEAVE: return RT_REMOTE_LEAVE;
    case L_DISCONNECT: return RT_REMOTE_DISCONNECT;
    case L_FETCH: return RT_REMOTE_FETCH;
    case L_SSE: return RT_SERVER_SIDE_EMIT;
    case L_BROADCAST: return RT_BROADCAST;
    default: return -1;
    }
}

static int logical_type(int classic)
{
    switch (classic) {
    case RT_SOCKETS: return L_SOCKETS;
    case RT_ALL_ROOMS: return L_ALL_ROOMS;
    case RT_REMOTE_JOIN: return L_JOIN;
    case RT_REMOTE_LEAVE: return L_LEAVE;
    case RT_REMOTE_DISCONNECT: return L_DISCONNECT;
    case RT_REMOTE_FETCH: return L_FETCH;
    case RT_SERVER_SIDE_EMIT: return L_SSE;
    case RT_BROADCAST: return L_BROADCAST;
    default: return -1;
    }
}

/* The field that holds a serverSideEmit's packet, or its answer. */
static const char *sse_field(const nsp_adapter *a, int response)
{
    (void)response;
    return a->sharded ? "packet" : "data";
}

static int may_hold_binary(int t)
{
    return t == L_BROADCAST || t == L_BC_ACK || t == L_FETCH_RESP || t == L_SSE || t == L_SSE_RESP;
}

/* The channel a sharded message goes to (ShardedRedisAdapter.computeChannel):
 * a broadcast without acks to exactly one room uses the room's channel in the
 * dynamic modes (for "dynamic", unless the room looks like a socket id). */
static char *sharded_channel(nsp_adapter *a, int t, const sio_broadcast_opts *o, int with_ack)
{
    int mode = a->c->o.subscription_mode;
    if (t == L_BROADCAST && !with_ack && o && o->n_rooms == 1 &&
        ((mode == CLU_SUB_DYNAMIC && strlen(o->rooms[0]) != 20) || mode == CLU_SUB_DYNAMIC_PRIVATE))
        return strf("%s%s#", a->ch_bc, o->rooms[0]);
    return eio_strdup(a->ch_bc);
}

/* Encodes a request (logical type t, fields in body, taken) for this wire.
 * Classic: the fields at the top with uid and the classic type (notepack for
 * a broadcast with acks, JSON otherwise), for the request channel; sharded:
 * {uid, nsp, type, data: body}. Returns the channel (malloc'd), or NULL. */
static char *encode_request(nsp_adapter *a, int t, cJSON *body, const sio_broadcast_opts *o,
                            sio_msgpack_get_bin_fn get_bin, void *bin_ud, eio_buf *out)
{
    char *channel = NULL;
    const char *nsp = sio_namespace_name(a->base.nsp);
    cJSON *msg;
    int force = 0;
    if (a->sharded) {
        msg = cJSON_CreateObject();
        cJSON_AddItemToObject(msg, "uid", sio_json_create_string(a->uid, strlen(a->uid)));
        cJSON_AddItemToObject(msg, "nsp", sio_json_create_string(nsp, strlen(nsp)));
        cJSON_AddNumberToObject(msg, "type", t);
        cJSON_AddItemToObject(msg, "data", body);
        channel = sharded_channel(a, t, o, sio_json_get(body, "requestId") != NULL);
    } else {
        msg = body;
        cJSON_AddItemToObject(msg, "uid", sio_json_create_string(a->uid, strlen(a->uid)));
        cJSON_AddNumberToObject(msg, "type", classic_type(t));
        force = t == L_BROADCAST;
        channel = eio_strdup(a->ch_req);
    }
    if (encode(msg, force, a->sharded && may_hold_binary(t), get_bin, bin_ud, out) != 0) {
        free(channel);
        channel = NULL;
    }
    sio_json_delete(msg);
    return channel;
}

static void send_request(nsp_adapter *a, int t, cJSON *body, const sio_broadcast_opts *o,
                         sio_msgpack_get_bin_fn get_bin, void *bin_ud)
{
    eio_buf b = EIO_BUF_INIT;
    char *channel = encode_request(a, t, body, o, get_bin, bin_ud, &b);
    if (channel)
        publish_raw(a, channel, b.data, b.len);
    free(channel);
    eio_buf_free(&b);
}

/* Who asked, and where answers go. */
typedef struct requester {
    char *uid;     /* the requester's uid ("" if none) */
    char *channel; /* classic: shared or specific response channel */
} requester;

static requester requester_of(nsp_adapter *a, const char *uid)
{
    requester q;
    q.uid = eio_strdup(uid ? uid : "");
    if (a->sharded)
        q.channel = strf("%s%s#", a->ch_bc, q.uid);
    else if (a->c->o.publish_on_specific_response_channel && uid)
        q.channel = strf("%s%s#", a->ch_resp, uid);
    else
        q.channel = eio_strdup(a->ch_resp);
    return q;
}

static void requester_free(requester *q)
{
    free(q->uid);
    free(q->channel);
}

/* Sends a response (logical type t, fields in body, taken) to q. Classic
 * responses carry no uid; their type only for serverSideEmit (6, always on
 * the shared channel, as Node), client counts (8) and acks (9, notepack). */
static void send_response(nsp_adapter *a, const requester *q, int t, cJSON *body,
                          sio_msgpack_get_bin_fn get_bin, void *bin_ud)
{
    const char *nsp = sio_namespace_name(a->base.nsp);
    cJSON *msg;
    int force = 0;
    const char *channel = q->channel;
    if (a->sharded) {
        msg = cJSON_CreateObject();
        cJSON_AddItemToObject(msg, "uid", sio_json_create_string(a->uid, strlen(a->uid)));
        cJSON_AddItemToObject(msg, "nsp", sio_json_create_string(nsp, strlen(nsp)));
        cJSON_AddNumberToObject(msg, "type", t);
        cJSON_AddItemToObject(msg, "data", body);
    } else {
        msg = body;
        if (t == L_SSE_RESP) {
            cJSON_AddNumberToObject(msg, "type", RT_SERVER_SIDE_EMIT);
            channel = a->ch_resp;
        } else if (t == L_BC_COUNT) {
            cJSON_AddNumberToObject(msg, "type", RT_BROADCAST_CLIENT_COUNT);
        } else if (t == L_BC_ACK) {
            cJSON_AddNumberToObject(msg, "type", RT_BROADCAST_ACK);
            force = 1;
        }
    }
    eio_buf b = EIO_BUF_INIT;
    if (encode(msg, force, a->sharded && may_hold_binary(t), get_bin, bin_ud, &b) == 0)
        publish_raw(a, channel, b.data, b.len);
    eio_buf_free(&b);
    sio_json_delete(msg);
}

static cJSON *packet_json(nsp_adapter *a, const sio_packet *packet, int with_id)
{
    const char *nsp = sio_namespace_name(a->base.nsp);
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "type", SIO_PACKET_EVENT);
    cJSON_AddItemToObject(p, "data", cJSON_Duplicate(packet->data, 1));
    cJSON_AddItemToObject(p, "nsp", sio_json_create_string(nsp, strlen(nsp)));
    if (with_id && packet->has_id)
        cJSON_AddNumberToObject(p, "id", (double)packet->id);
    return p;
}

/* ---------------------------------------------------------------- outgoing */

static void r_broadcast(sio_adapter *base, const sio_packet *packet, const sio_broadcast_opts *opts)
{
    nsp_adapter *a = (nsp_adapter *)base;
    clu_cluster *c = a->c;
    if (!(opts->flags & SIO_BC_LOCAL) && clu_redis_connected(c->pub)) {
        if (a->sharded) {
            cJSON *body = cJSON_CreateObject();
            cJSON_AddItemToObject(body, "packet", packet_json(a, packet, 0));
            cJSON_AddItemToObject(body, "opts", opts_json(opts, 1, -1));
            send_request(a, L_BROADCAST, body, opts, packet_bin, (void *)packet);
        } else {
            cJSON *msg = cJSON_CreateArray();
            cJSON_AddItemToArray(msg, sio_json_create_string(a->uid, strlen(a->uid)));
            cJSON_AddItemToArray(msg, packet_json(a, packet, 0));
            cJSON_AddItemToArray(msg, opts_json(opts, 1, -1));
            eio_buf b = EIO_BUF_INIT;
            if (sio_msgpack_encode(msg, MAX_DEPTH + 3, packet_bin, (void *)packet, &b) == 0) {
                char *channel = opts->n_rooms == 1 ? strf("%s%s#", a->ch_bc, opts->rooms[0]) : NULL;
                publish_raw(a, channel ? channel : a->ch_bc, b.data, b.len);
                free(channel);
            }
            eio_buf_free(&b);
            sio_json_delete(msg);
        }
    }
    sio_adapter_deliver(base, packet, opts);
}

static void r_broadcast_with_ack_others(sio_adapter *base, const sio_packet *packet,
                                        const sio_broadcast_opts *opts, int timeout_ms,
                                        sio_bc_ack *ack)
{
    nsp_adapter *a = (nsp_adapter *)base;
    clu_cluster *c = a->c;
    if (!clu_redis_connected(c->pub)) {
        sio_bc_ack_expect_nodes(ack, 0);
        return;
    }
    request *r = request_new(a, L_BROADCAST, timeout_ms);
    r->bc = sio_bc_ack_ref(ack);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "requestId", sio_json_create_string(r->id, strlen(r->id)));
    cJSON_AddItemToObject(body, "packet", packet_json(a, packet, 1));
    cJSON_AddItemToObject(body, "opts", opts_json(opts, 1, timeout_ms));
    send_request(a, L_BROADCAST, body, opts, packet_bin, (void *)packet);
    /* Node keeps the request for the broadcast's timeout, then forgets it. */
    r->timer = eio_set_timeout(c->srv, (uint64_t)timeout_ms, request_timeout, r);
    ask_numsub(a, r);
}

static void publish_request(nsp_adapter *a, int t, const sio_broadcast_opts *opts,
                            const char *const *rooms, size_t n, int close_conn)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "opts", opts_json(opts, a->sharded, -1));
    if (t == L_DISCONNECT)
        cJSON_AddBoolToObject(body, "close", close_conn);
    else
        cJSON_AddItemToObject(body, "rooms", strings(rooms, n));
    send_request(a, t, body, NULL, NULL, NULL);
}

static void r_add_sockets_others(sio_adapter *a, const sio_broadcast_opts *opts,
                                 const char *const *rooms, size_t n)
{
    publish_request((nsp_adapter *)a, L_JOIN, opts, rooms, n, 0);
}

static void r_del_sockets_others(sio_adapter *a, const sio_broadcast_opts *opts,
                                 const char *const *rooms, size_t n)
{
    publish_request((nsp_adapter *)a, L_LEAVE, opts, rooms, n, 0);
}

static void r_disconnect_sockets_others(sio_adapter *a, const sio_broadcast_opts *opts,
                                        int close_conn)
{
    publish_request((nsp_adapter *)a, L_DISCONNECT, opts, NULL, 0, close_conn);
}

/* A request that waits for answers: encoded now, published once NUMSUB
 * said how many nodes will answer. */
static request *start_request(nsp_adapter *a, int t, int timeout_ms, cJSON *body,
                              sio_msgpack_get_bin_fn get_bin, void *bin_ud)
{
    request *r = request_new(a, t, timeout_ms);
    cJSON_AddItemToObject(body, "requestId", sio_json_create_string(r->id, strlen(r->id)));
    char *channel = encode_request(a, t, body, NULL, get_bin, bin_ud, &r->payload);
    free(channel);
    r->payload_channel = a->sharded ? a->ch_bc : a->ch_req;
    r->list = cJSON_CreateArray();
    return r;
}

static void r_fetch_sockets_others(sio_adapter *base, const sio_broadcast_opts *opts,
                                   int timeout_ms, sio_adapter_sockets_fn fn, void *ud)
{
    nsp_adapter *a = (nsp_adapter *)base;
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "opts", opts_json(opts, a->sharded, a->sharded ? timeout_ms : -1));
    request *r = start_request(a, L_FETCH, timeout_ms, body, NULL, NULL);
    r->fetch_fn = fn;
    r->ud = ud;
    ask_numsub(a, r);
}

static void r_all_rooms_others(sio_adapter *base, int timeout_ms, sio_adapter_rooms_fn fn, void *ud)
{
    nsp_adapter *a = (nsp_adapter *)base;
    request *r = start_request(a, L_ALL_ROOMS, timeout_ms, cJSON_CreateObject(), NULL, NULL);
    r->rooms_fn = fn;
    r->ud = ud;
    ask_numsub(a, r);
}

static void r_server_side_emit_others(sio_adapter *base, const sio_args *packet, int timeout_ms,
                                      sio_broadcast_ack_fn fn, void *ud)
{
    nsp_adapter *a = (nsp_adapter *)base;
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, sse_field(a, 0), cJSON_Duplicate(sio_args_json(packet), 1));
    if (!fn) {
        send_request(a, L_SSE, body, NULL, args_bin, (void *)packet);
        return;
    }
    request *r = start_request(a, L_SSE, timeout_ms, body, args_bin, (void *)packet);
    r->sse_fn = fn;
    r->ud = ud;
    ask_numsub(a, r);
}

typedef struct count_ctx {
    sio_adapter_count_fn fn;
    void *ud;
} count_ctx;

static void count_reply(clu_redis *redis, const redisReply *reply, void *ud)
{
    (void)redis;
    count_ctx *x = ud;
    size_t n = 1;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2 &&
        reply->element[1]->type == REDIS_REPLY_INTEGER && reply->element[1]->integer > 1)
        n = (size_t)reply->element[1]->integer;
    x->fn(n, x->ud);
    free(x);
}

static void r_server_count(sio_adapter *base, sio_adapter_count_fn fn, void *ud)
{
    count_ctx *x = eio_malloc(sizeof(*x));
    x->fn = fn;
    x->ud = ud;
    numsub((nsp_adapter *)base, count_reply, x);
}

/* ---------------------------------------------------------------- incoming */

/* Delivers an EVENT packet {type, data, nsp} with opts to this node. */
static void deliver_packet(nsp_adapter *a, const char *channel, cJSON *packet, const cJSON *opts,
                           frames *f)
{
    const cJSON *type = sio_json_get(packet, "type");
    cJSON *data = sio_json_get(packet, "data");
    if (!cJSON_IsNumber(type) ||
        (type->valueint != SIO_PACKET_EVENT && type->valueint != SIO_PACKET_BINARY_EVENT) ||
        !cJSON_IsArray(data) || cJSON_GetArraySize(data) < 1 ||
        !cJSON_IsString(cJSON_GetArrayItem(data, 0))) {
        drop(a->c, channel, "the packet is not an EVENT [name, ...args]");
        return;
    }
    if (!opts_ok(opts)) {
        drop(a->c, channel, "opts.rooms or opts.except is not an array");
        return;
    }
    parsed_opts po;
    parse_opts(opts, &po);
    sio_packet p = SIO_PACKET_INIT;
    p.type = SIO_PACKET_EVENT;
    p.nsp = (char *)sio_namespace_name(a->base.nsp);
    p.data = data;
    p.attachments = f->items;
    p.attachment_count = p.attachments_received = f->n;
    sio_adapter_deliver(&a->base, &p, &po.o);
    parsed_opts_free(&po);
}

static void on_classic_broadcast(nsp_adapter *a, const char *channel, const redisReply *m)
{
    clu_cluster *c = a->c;
    frames f = {0};
    const char *why = "not a broadcast";
    cJSON *msg = NULL;
    if (m->len > 0 && m->str[0] == '{')
        why = "JSON where notepack was expected";
    else
        msg = decode(m, frames_add, &f, &why);
    const cJSON *uid = cJSON_GetArrayItem(msg, 0);
    cJSON *packet = cJSON_GetArrayItem(msg, 1);
    const cJSON *opts = cJSON_GetArrayItem(msg, 2);
    if (!msg || !cJSON_IsArray(msg) || !cJSON_IsObject(packet)) {
        drop(c, channel, msg ? "not [uid, packet, opts]" : why);
        goto out;
    }
    if (cJSON_IsString(uid) && strcmp(uid->valuestring, a->uid) == 0)
        goto out; /* our own */
    /* Node: a packet without nsp is "/"'s; another namespace's is ignored. */
    const cJSON *nsp = sio_json_get(packet, "nsp");
    const char *name = sio_namespace_name(a->base.nsp);
    const char *pnsp = !nsp || cJSON_IsNull(nsp) ? "/"
                       : cJSON_IsString(nsp)     ? nsp->valuestring
                                                 : NULL;
    if (!pnsp || strcmp(pnsp, name) != 0)
        goto out;
    deliver_packet(a, channel, packet, opts, &f);
out:
    sio_json_delete(msg);
    frames_free(&f);
}

static cJSON *response_for(const cJSON *request_id)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddItemToObject(r, "requestId", cJSON_Duplicate(request_id, 0));
    return r;
}

/* A broadcast with acks from another node, being answered from here. */
typedef struct bc_answer {
    nsp_adapter *a;
    cJSON *request_id;
    requester q;
} bc_answer;

static void bc_answer_ack(const sio_args *args, void *ud)
{
    bc_answer *x = ud;
    cJSON *body = response_for(x->request_id);
    const cJSON *first = sio_args_get(args, 0);
    cJSON_AddItemToObject(body, "packet", first ? cJSON_Duplicate(first, 1) : cJSON_CreateNull());
    send_response(x->a, &x->q, L_BC_ACK, body, args_bin, (void *)args);
}

static void bc_answer_done(void *ud)
{
    bc_answer *x = ud;
    sio_json_delete(x->request_id);
    requester_free(&x->q);
    free(x);
}

/* A serverSideEmit with an ack from another node. The namespace (and its
 * adapter) outlive the answer: sio tells "none" when it goes. */
typedef struct sse_answer {
    nsp_adapter *a;
    cJSON *request_id;
    requester q;
} sse_answer;

static void sse_reply(const sio_args *args, void *ud)
{
    sse_answer *x = ud;
    if (args) {
        cJSON *body = response_for(x->request_id);
        const cJSON *first = sio_args_get(args, 0);
        cJSON_AddItemToObject(body, sse_field(x->a, 1),
                              first ? cJSON_Duplicate(first, 1) : cJSON_CreateNull());
        send_response(x->a, &x->q, L_SSE_RESP, body, args_bin, (void *)args);
    }
    sio_json_delete(x->request_id);
    requester_free(&x->q);
    free(x);
}

static void add_room_json(const char *room, void *ud)
{
    cJSON_AddItemToArray(ud, sio_json_create_string(room, strlen(room)));
}

/* Legacy single-socket requests ({sid, room}): the socket, if it is here. */
static sio_socket *local_socket(nsp_adapter *a, const cJSON *sid)
{
    if (!cJSON_IsString(sid))
        return NULL;
    sio_socket **list = NULL;
    sio_socket *found = NULL;
    size_t n = sio_fetch_sockets(sio_local(sio_to(a->base.nsp, sid->valuestring)), &list);
    if (n)
        found = list[0];
    free(list);
    return found;
}

/* The frames of bins (a sio_args holding a message's binary values), in
 * placeholder order, as a packet's attachments. */
static frames frames_of(const sio_args *bins)
{
    frames f = {0};
    size_t len;
    for (size_t i = 0;; i++) {
        cJSON *ph = sio_packet_placeholder_new(i);
        const uint8_t *bytes = sio_args_binary(bins, ph, &len);
        sio_json_delete(ph);
        if (!bytes)
            break;
        sio_json_delete(frames_add(bytes, len, &f));
    }
    return f;
}

/* A request (logical type t) from another node: body holds its fields;
 * bins its binary values. */
static void handle_request(nsp_adapter *a, const char *channel, int t, cJSON *body,
                           const char *sender, sio_args *bins)
{
    clu_cluster *c = a->c;
    const cJSON *rid = sio_json_get(body, "requestId");
    int has_rid = cJSON_IsString(rid);
    const cJSON *jopts = sio_json_get(body, "opts");
    if (!opts_ok(jopts)) {
        drop(c, channel, "opts.rooms or opts.except is not an array");
        return;
    }
    parsed_opts po;
    parse_opts(jopts, &po);
    requester q = requester_of(a, sender);
    switch (t) {
    case L_SOCKETS: {
        if (!has_rid)
            break;
        str_list rooms = str_list_of_rooms(sio_json_get(body, "rooms"), 1);
        sio_broadcast_opts o = {rooms.items, rooms.n, NULL, 0, 0};
        cJSON *list = sio_adapter_local_fetch_sockets(&a->base, &o);
        cJSON *ids = cJSON_CreateArray();
        const cJSON *it;
        cJSON_ArrayForEach(it, list)
            cJSON_AddItemToArray(ids, cJSON_Duplicate(sio_json_get(it, "id"), 0));
        sio_json_delete(list);
        free(rooms.items);
        cJSON *resp = response_for(rid);
        cJSON_AddItemToObject(resp, "sockets", ids);
        send_response(a, &q, L_SOCKETS, resp, NULL, NULL);
        break;
    }
    case L_ALL_ROOMS: {
        if (!has_rid)
            break;
        cJSON *rooms = cJSON_CreateArray();
        a->local->ops->rooms(a->local, add_room_json, rooms);
        cJSON *resp = response_for(rid);
        cJSON_AddItemToObject(resp, "rooms", rooms);
        send_response(a, &q, L_ALL_ROOMS_RESP, resp, NULL, NULL);
        break;
    }
    case L_JOIN:
    case L_LEAVE: {
        int join = t == L_JOIN;
        if (cJSON_IsObject(jopts)) {
            str_list rooms = str_list_of(sio_json_get(body, "rooms"));
            if (join)
                sio_adapter_local_add_sockets(&a->base, &po.o, rooms.items, rooms.n);
            else
                sio_adapter_local_del_sockets(&a->base, &po.o, rooms.items, rooms.n);
            free(rooms.items);
            break;
        }
        /* legacy (classic adapter < 8): {sid, room, requestId}, answered by the owner */
        sio_socket *s = local_socket(a, sio_json_get(body, "sid"));
        const cJSON *room = sio_json_get(body, "room");
        if (!s || !cJSON_IsString(room))
            break;
        if (join)
            sio_socket_join(s, room->valuestring);
        else
            sio_socket_leave(s, room->valuestring);
        if (has_rid)
            send_response(a, &q, L_JOIN, response_for(rid), NULL, NULL);
        break;
    }
    case L_DISCONNECT: {
        int close_conn = cJSON_IsTrue(sio_json_get(body, "close"));
        if (cJSON_IsObject(jopts)) {
            sio_adapter_local_disconnect_sockets(&a->base, &po.o, close_conn);
            break;
        }
        sio_socket *s = local_socket(a, sio_json_get(body, "sid"));
        if (!s)
            break;
        sio_socket_disconnect(s, close_conn);
        if (has_rid)
            send_response(a, &q, L_DISCONNECT, response_for(rid), NULL, NULL);
        break;
    }
    case L_FETCH: {
        if (!has_rid)
            break;
        cJSON *resp = response_for(rid);
        cJSON_AddItemToObject(resp, "sockets", sio_adapter_local_fetch_sockets(&a->base, &po.o));
        send_response(a, &q, L_FETCH_RESP, resp, NULL, NULL);
        break;
    }
    case L_SSE: {
        const cJSON *data = sio_json_get(body, sse_field(a, 0));
        if (!cJSON_IsArray(data) || !cJSON_IsString(cJSON_GetArrayItem(data, 0))) {
            drop(c, channel, "serverSideEmit without [event, ...args]");
            break;
        }
        /* the arguments keep the request's binary values */
        sio_args *args = sio_args_copy(bins);
        const cJSON *it;
        cJSON_ArrayForEach(it, data) sio_args_add(args, cJSON_Duplicate(it, 1));
        if (has_rid) {
            sse_answer *x = eio_calloc(1, sizeof(*x));
            x->a = a;
            x->request_id = cJSON_Duplicate(rid, 0);
            x->q = q;
            q.uid = q.channel = NULL; /* now x's */
            sio_adapter_server_event(&a->base, args, sse_reply, x);
        } else {
            sio_adapter_server_event(&a->base, args, NULL, NULL);
        }
        sio_args_free(args);
        break;
    }
    case L_BROADCAST: {
        cJSON *packet = sio_json_get(body, "packet");
        if (!cJSON_IsObject(packet)) {
            drop(c, channel, "a broadcast without a packet");
            break;
        }
        frames f = frames_of(bins);
        if (!has_rid) { /* sharded: a plain broadcast */
            deliver_packet(a, channel, packet, jopts, &f);
            frames_free(&f);
            break;
        }
        cJSON *data = sio_json_get(packet, "data");
        if (!cJSON_IsArray(data) || !cJSON_IsString(cJSON_GetArrayItem(data, 0))) {
            drop(c, channel, "a broadcast with acks without [event, ...args]");
            frames_free(&f);
            break;
        }
        if (request_find(a, rid->valuestring)) {
            frames_free(&f);
            break; /* our own */
        }
        const cJSON *timeout = sio_json_get(sio_json_get(jopts, "flags"), "timeout");
        int timeout_ms = cJSON_IsNumber(timeout) && timeout->valuedouble >= 0 &&
                                 timeout->valuedouble < 86400000.0
                             ? (int)timeout->valuedouble
                             : c->o.requests_timeout_ms;
        sio_packet p = SIO_PACKET_INIT;
        p.type = SIO_PACKET_EVENT;
        p.nsp = (char *)sio_namespace_name(a->base.nsp);
        p.data = data;
        p.attachments = f.items;
        p.attachment_count = p.attachments_received = f.n;
        bc_answer *x = eio_calloc(1, sizeof(*x));
        x->a = a;
        x->request_id = cJSON_Duplicate(rid, 0);
        x->q = requester_of(a, sender);
        /* The count goes out first: the answers come later, from the loop. */
        size_t n = sio_adapter_deliver_with_ack(&a->base, &p, &po.o, timeout_ms, bc_answer_ack,
                                                bc_answer_done, x);
        frames_free(&f);
        cJSON *resp = response_for(rid);
        cJSON_AddNumberToObject(resp, "clientCount", (double)n);
        send_response(a, &q, L_BC_COUNT, resp, NULL, NULL);
        break;
    }
    default: break; /* a type this version does not know: ignored, as Node does */
    }
    requester_free(&q);
    parsed_opts_free(&po);
}

/* A response (logical type t; 0 when the classic wire does not say) to one
 * of this node's requests. */
static void handle_response(nsp_adapter *a, const char *channel, int t, const cJSON *body,
                            sio_args *bins)
{
    clu_cluster *c = a->c;
    const cJSON *rid = sio_json_get(body, "requestId");
    if (!cJSON_IsString(rid)) {
        drop(c, channel, "a response without a requestId");
        return;
    }
    request *r = request_find(a, rid->valuestring);
    if (!r)
        return; /* someone else's, or ended */
    switch (r->type) {
    case L_FETCH:
    case L_ALL_ROOMS: {
        const cJSON *list = sio_json_get(body, r->type == L_FETCH ? "sockets" : "rooms");
        if (!cJSON_IsArray(list)) {
            drop(c, channel, "a response without its list");
            break;
        }
        const cJSON *it;
        cJSON_ArrayForEach(it, list) cJSON_AddItemToArray(r->list, cJSON_Duplicate(it, 1));
        r->msg_count++;
        request_check(c, r);
        break;
    }
    case L_SSE: {
        sio_args *one = sio_args_copy(bins);
        const cJSON *data = sio_json_get(body, sse_field(a, 1));
        sio_args_add(one, data ? cJSON_Duplicate(data, 1) : cJSON_CreateNull());
        if (r->n_responses == r->cap_responses) {
            r->cap_responses = r->cap_responses ? r->cap_responses * 2 : 4;
            r->responses = eio_realloc(r->responses, r->cap_responses * sizeof(*r->responses));
        }
        r->responses[r->n_responses++] = one;
        request_check(c, r);
        break;
    }
    case L_BROADCAST: {
        if (t == L_BC_COUNT) {
            const cJSON *n = sio_json_get(body, "clientCount");
            sio_bc_ack_node_clients(
                r->bc, cJSON_IsNumber(n) && n->valuedouble > 0 ? (size_t)n->valuedouble : 0);
        } else if (t == L_BC_ACK) {
            sio_args *one = sio_args_copy(bins);
            const cJSON *packet = sio_json_get(body, "packet");
            sio_args_add(one, packet ? cJSON_Duplicate(packet, 1) : cJSON_CreateNull());
            sio_bc_ack_response(r->bc, one);
            sio_args_free(one);
        }
        break;
    }
    }
}

/* A message on a classic request or response channel. */
static void on_classic_message(nsp_adapter *a, const char *channel, const redisReply *m,
                               int response)
{
    sio_args *bins = sio_args_new();
    const char *why = "bad message";
    cJSON *msg = decode(m, args_bin_add, bins, &why);
    if (!cJSON_IsObject(msg)) {
        drop(a->c, channel, msg ? "not an object" : why);
        goto out;
    }
    const cJSON *type = sio_json_get(msg, "type");
    if (response) {
        int t = 0;
        if (cJSON_IsNumber(type))
            t = type->valueint == RT_BROADCAST_CLIENT_COUNT ? L_BC_COUNT
                : type->valueint == RT_BROADCAST_ACK        ? L_BC_ACK
                : type->valueint == RT_SERVER_SIDE_EMIT     ? L_SSE_RESP
                                                            : 0;
        handle_response(a, channel, t, msg, bins);
        goto out;
    }
    if (!cJSON_IsNumber(type)) {
        drop(a->c, channel, "a request without a type");
        goto out;
    }
    const cJSON *uid = sio_json_get(msg, "uid");
    if (cJSON_IsString(uid) && strcmp(uid->valuestring, a->uid) == 0)
        goto out; /* our own: this node's part is done already */
    handle_request(a, channel, logical_type(type->valueint), msg,
                   cJSON_IsString(uid) ? uid->valuestring : NULL, bins);
out:
    sio_json_delete(msg);
    sio_args_free(bins);
}

/* A message on a sharded channel: {uid, nsp, type, data}. */
static void on_sharded_message(nsp_adapter *a, const char *channel, const redisReply *m,
                               int response)
{
    sio_args *bins = sio_args_new();
    const char *why = "bad message";
    cJSON *msg = decode(m, args_bin_add, bins, &why);
    const cJSON *type = sio_json_get(msg, "type");
    cJSON *data = sio_json_get(msg, "data");
    if (!cJSON_IsObject(msg) || !cJSON_IsNumber(type)) {
        drop(a->c, channel, msg ? "not {uid, nsp, type, data}" : why);
        goto out;
    }
    int t = type->valueint;
    if (t == L_FETCH_RESP || t == L_SSE_RESP || t == L_BC_COUNT || t == L_BC_ACK)
        response = 1;
    if (response) {
        handle_response(a, channel, t, data, bins);
        goto out;
    }
    const cJSON *uid = sio_json_get(msg, "uid");
    const cJSON *nsp = sio_json_get(msg, "nsp");
    if (cJSON_IsString(uid) && strcmp(uid->valuestring, a->uid) == 0)
        goto out;
    if (!cJSON_IsString(nsp) || strcmp(nsp->valuestring, sio_namespace_name(a->base.nsp)) != 0)
        goto out; /* Node: "ignore message from another namespace" */
    if (t < L_BROADCAST || t > L_SSE)
        goto out; /* heartbeats (1, 2, 13) and unknown types */
    handle_request(a, channel, t, data, cJSON_IsString(uid) ? uid->valuestring : NULL, bins);
out:
    sio_json_delete(msg);
    sio_args_free(bins);
}

/* ---------------------------------------------------------------- subscriptions */

static size_t str_hash(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int str_set_has(const str_set *set, const char *s)
{
    if (!set->cap)
        return 0;
    for (str_set_item *i = set->table[str_hash(s) & (set->cap - 1)]; i; i = i->next)
        if (strcmp(i->s, s) == 0)
            return 1;
    return 0;
}

static void str_set_add(str_set *set, const char *s)
{
    if (str_set_has(set, s))
        return;
    if ((set->len + 1) * 4 > set->cap * 3) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        str_set_item **t = eio_calloc(cap, sizeof(*t));
        for (size_t k = 0; k < set->cap; k++)
            for (str_set_item *i = set->table[k], *n; i; i = n) {
                n = i->next;
                i->next = t[str_hash(i->s) & (cap - 1)];
                t[str_hash(i->s) & (cap - 1)] = i;
            }
        free(set->table);
        set->table = t;
        set->cap = cap;
    }
    str_set_item *i = eio_malloc(sizeof(*i));
    i->s = eio_strdup(s);
    i->next = set->table[str_hash(s) & (set->cap - 1)];
    set->table[str_hash(s) & (set->cap - 1)] = i;
    set->len++;
}

static int str_set_del(str_set *set, const char *s)
{
    if (!set->cap)
        return 0;
    for (str_set_item **pp = &set->table[str_hash(s) & (set->cap - 1)]; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->s, s) == 0) {
            str_set_item *i = *pp;
            *pp = i->next;
            free(i->s);
            free(i);
            set->len--;
            return 1;
        }
    return 0;
}

static void str_set_free(str_set *set)
{
    for (size_t k = 0; k < set->cap; k++)
        for (str_set_item *i = set->table[k], *n; i; i = n) {
            n = i->next;
            free(i->s);
            free(i);
        }
    free(set->table);
    memset(set, 0, sizeof(*set));
}

static void sharded_room_sub(nsp_adapter *a, const char *room, int on)
{
    if (!clu_redis_connected(a->c->sub))
        return;
    char *ch = strf("%s%s#", a->ch_bc, room);
    clu_redis_commandv(a->c->sub, NULL, NULL, on ? "SSUBSCRIBE" : "SUNSUBSCRIBE", ch, (char *)NULL);
    free(ch);
}

static void subscribe(clu_cluster *c, nsp_adapter *a, int on)
{
    if (!clu_redis_connected(c->sub))
        return;
    if (a->sharded) {
        const char *cmd = on ? "SSUBSCRIBE" : "SUNSUBSCRIBE";
        clu_redis_commandv(c->sub, NULL, NULL, cmd, a->ch_bc, (char *)NULL);
        clu_redis_commandv(c->sub, NULL, NULL, cmd, a->ch_resp_own, (char *)NULL);
        for (size_t k = 0; k < a->dynamic.cap; k++)
            for (str_set_item *i = a->dynamic.table[k]; i; i = i->next)
                sharded_room_sub(a, i->s, on);
        return;
    }
    clu_redis_commandv(c->sub, NULL, NULL, on ? "PSUBSCRIBE" : "PUNSUBSCRIBE", a->ch_pattern,
                       (char *)NULL);
    clu_redis_commandv(c->sub, NULL, NULL, on ? "SUBSCRIBE" : "UNSUBSCRIBE", a->ch_req, a->ch_resp,
                       a->ch_resp_own, (char *)NULL);
}

static void sub_ready(clu_redis *r, void *ud)
{
    (void)r;
    clu_cluster *c = ud;
    for (nsp_adapter *a = c->adapters; a; a = a->next)
        subscribe(c, a, 1);
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void sub_push(clu_redis *r, const redisReply *reply, void *ud)
{
    (void)r;
    clu_cluster *c = ud;
    if (reply->type == REDIS_REPLY_ERROR) {
        clog_(c, EIO_LOG_ERROR, "cluster: Redis refused a subscription: %s", reply->str);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING)
        return;
    const char *kind = reply->element[0]->str;
    int pm = strcmp(kind, "pmessage") == 0;
    int sm = strcmp(kind, "smessage") == 0;
    if (!pm && !sm && strcmp(kind, "message") != 0)
        return; /* subscribe confirmations */
    if (pm && reply->elements < 4)
        return;
    const redisReply *ch = reply->element[pm ? 2 : 1];
    const redisReply *msg = reply->element[pm ? 3 : 2];
    if (ch->type != REDIS_REPLY_STRING || msg->type != REDIS_REPLY_STRING)
        return;
    for (nsp_adapter *a = c->adapters; a; a = a->next) {
        if (sm) {
            if (!a->sharded)
                continue;
            if (strcmp(ch->str, a->ch_resp_own) == 0) {
                on_sharded_message(a, ch->str, msg, 1);
                return;
            }
            if (starts_with(ch->str, a->ch_bc)) {
                on_sharded_message(a, ch->str, msg, 0);
                return;
            }
        } else if (a->sharded) {
            continue;
        } else if (pm) {
            const redisReply *pattern = reply->element[1];
            if (pattern->type == REDIS_REPLY_STRING && strcmp(pattern->str, a->ch_pattern) == 0) {
                on_classic_broadcast(a, ch->str, msg);
                return;
            }
        } else if (strcmp(ch->str, a->ch_req) == 0) {
            on_classic_message(a, ch->str, msg, 0);
            return;
        } else if (strcmp(ch->str, a->ch_resp) == 0 || strcmp(ch->str, a->ch_resp_own) == 0) {
            on_classic_message(a, ch->str, msg, 1);
            return;
        }
    }
}

void clu__on_push(clu_cluster *c, const redisReply *reply)
{
    sub_push(NULL, reply, c);
}

/* ---------------------------------------------------------------- adapter life */

static void r_free(sio_adapter *base)
{
    nsp_adapter *a = (nsp_adapter *)base;
    clu_cluster *c = a->c;
    for (nsp_adapter **pp = &c->adapters; *pp; pp = &(*pp)->next)
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    /* Requests still waiting fail now. */
    for (request *r = c->requests, *next; r; r = next) {
        next = r->next;
        if (r->a == a)
            request_end(c, r, SIO_EUNAVAILABLE);
    }
    subscribe(c, a, 0);
    a->local->ops->free(a->local);
    if (!c->adapters) { /* the server is going: so do its connections */
        clu_redis_free(c->pub);
        clu_redis_free(c->sub);
        c->pub = c->sub = NULL;
        c->srv = NULL;
    }
    free(a->ch_bc);
    free(a->ch_pattern);
    free(a->ch_req);
    free(a->ch_resp);
    free(a->ch_resp_own);
    str_set_free(&a->dynamic);
    free(a);
}

static const sio_adapter_ops classic_ops = {
    .add_all = r_add_all,
    .del = r_del,
    .del_all = r_del_all,
    .has = r_has,
    .socket_rooms = r_socket_rooms,
    .rooms = r_rooms,
    .for_each = r_for_each,
    .broadcast = r_broadcast,
    .broadcast_with_ack_others = r_broadcast_with_ack_others,
    .add_sockets_others = r_add_sockets_others,
    .del_sockets_others = r_del_sockets_others,
    .disconnect_sockets_others = r_disconnect_sockets_others,
    .fetch_sockets_others = r_fetch_sockets_others,
    .all_rooms_others = r_all_rooms_others,
    .server_side_emit_others = r_server_side_emit_others,
    .server_count = r_server_count,
    .free = r_free,
};

/* The sharded adapter has no allRooms over the cluster (Node's ClusterAdapter
 * neither: it answers with this node's rooms). */
static const sio_adapter_ops sharded_ops = {
    .add_all = r_add_all,
    .del = r_del,
    .del_all = r_del_all,
    .has = r_has,
    .socket_rooms = r_socket_rooms,
    .rooms = r_rooms,
    .for_each = r_for_each,
    .broadcast = r_broadcast,
    .broadcast_with_ack_others = r_broadcast_with_ack_others,
    .add_sockets_others = r_add_sockets_others,
    .del_sockets_others = r_del_sockets_others,
    .disconnect_sockets_others = r_disconnect_sockets_others,
    .fetch_sockets_others = r_fetch_sockets_others,
    .server_side_emit_others = r_server_side_emit_others,
    .server_count = r_server_count,
    .free = r_free,
};

sio_adapter *clu_adapter(sio_namespace *nsp, void *ud)
{
    clu_cluster *c = ud;
    if (!c->srv) {
        c->srv = sio_server_engine(sio_namespace_server(nsp));
        clu_redis_callbacks pcb = {0};
        clu_redis_callbacks scb = {sub_ready, sub_push, c};
        c->pub = clu_redis_new(c->srv, &c->rurl, "pub", 0, &pcb, redis_log, c);
        c->sub = clu_redis_new(c->srv, &c->rurl, "sub", 1, &scb, redis_log, c);
    }
    nsp_adapter *a = eio_calloc(1, sizeof(*a));
    a->sharded = c->o.kind == CLU_SHARDED;
    a->base.ops = a->sharded ? &sharded_ops : &classic_ops;
    a->base.nsp = nsp;
    a->local = sio_memory_adapter_new(nsp);
    a->c = c;
    const char *name = sio_namespace_name(nsp);
    if (a->sharded) {
        /* randomBytes(8).toString("hex") */
        static const char hex[] = "0123456789abcdef";
        char raw[21];
        eio_generate_id(raw);
        for (int i = 0; i < 16; i++)
            a->uid[i] = hex[(unsigned char)raw[i] & 15];
        a->uid[16] = 0;
        a->ch_bc = strf("%s#%s#", c->prefix, name);
        a->ch_resp_own = strf("%s#%s#%s#", c->prefix, name, a->uid);
    } else {
        random_id(a->uid, 6);
        a->ch_bc = strf("%s#%s#", c->key, name);
        a->ch_pattern = strf("%s#%s#*", c->key, name);
        a->ch_req = strf("%s-request#%s#", c->key, name);
        a->ch_resp = strf("%s-response#%s#", c->key, name);
        a->ch_resp_own = strf("%s-response#%s#%s#", c->key, name, a->uid);
    }
    a->next = c->adapters;
    c->adapters = a;
    subscribe(c, a, 1);
    return &a->base;
}

/* ---------------------------------------------------------------- cluster */

void clu_options_default(clu_options *o)
{
    memset(o, 0, sizeof(*o));
    o->url = "redis://127.0.0.1:6379";
    o->kind = CLU_CLASSIC;
    o->key = "socket.io";
    o->requests_timeout_ms = 5000;
    o->channel_prefix = "socket.io";
    o->subscription_mode = CLU_SUB_DYNAMIC;
}

int clu_subscription_mode(const char *name)
{
    if (strcmp(name, "dynamic") == 0)
        return CLU_SUB_DYNAMIC;
    if (strcmp(name, "static") == 0)
        return CLU_SUB_STATIC;
    if (strcmp(name, "dynamic-private") == 0)
        return CLU_SUB_DYNAMIC_PRIVATE;
    return -1;
}

clu_cluster *clu_new(const clu_options *o)
{
    clu_cluster *c = eio_calloc(1, sizeof(*c));
    c->o = *o;
    c->url = eio_strdup(o->url ? o->url : "redis://127.0.0.1:6379");
    c->key = eio_strdup(o->key ? o->key : "socket.io");
    c->prefix = eio_strdup(o->channel_prefix ? o->channel_prefix : "socket.io");
    c->o.url = c->url;
    c->o.key = c->key;
    c->o.channel_prefix = c->prefix;
    if (c->o.requests_timeout_ms <= 0)
        c->o.requests_timeout_ms = 5000;
    if (clu_redis_url_parse(c->url, &c->rurl) != 0) {
        clu_free(c);
        return NULL;
    }
    return c;
}

void clu_free(clu_cluster *c)
{
    if (!c)
        return;
    while (c->requests)
        request_end(c, c->requests, SIO_EUNAVAILABLE);
    clu_redis_free(c->pub);
    clu_redis_free(c->sub);
    free(c->url);
    free(c->key);
    free(c->prefix);
    free(c);
}
