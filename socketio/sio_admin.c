/*
 * sio_admin: the Admin UI's server side, as Node's @socket.io/admin-ui 0.5
 * (lib/index.ts): the admin namespace and its basic-auth middleware with
 * sessions, the UI's commands, the 2-second server_stats with the aggregated
 * events, and in development mode the live events (socket_connected, ...),
 * fed by the server's observer hooks (sio__observer in sio_internal.h).
 *
 * Threading: engine lock held everywhere (hooks, handlers, timers), except
 * the bcrypt worker thread: it checks passwords without the lock, then takes
 * it to finish each connection. Its queue has a mutex of its own.
 * Ownership: the server owns the instrumentation (io->observer) and frees it
 * in sio_server_free (admin_close); events emitted are fresh copies; the
 * all_sockets requests hold a reference on their admin socket.
 */
#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "socketio/sio_admin.h"
#include "socketio/sio_internal.h"
#include "socketio/sio_json.h"

/* ---------------------------------------------------------------- bcrypt */

static int bcrypt_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '/';
}

int sio_admin_bcrypt_hash_valid(const char *h)
{
    /* $2b$10$ + 22 characters of salt + 31 of digest */
    if (!h || strlen(h) != 60 || h[0] != '$' || h[1] != '2' ||
        (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') || h[3] != '$' || h[6] != '$')
        return 0;
    if (h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9')
        return 0;
    int cost = (h[4] - '0') * 10 + (h[5] - '0');
    if (cost < 4 || cost > 31)
        return 0;
    for (size_t i = 7; i < 60; i++)
        if (!bcrypt_char(h[i]))
            return 0;
    return 1;
}

int sio_admin_bcrypt_verify(const char *password, const char *hash)
{
    if (!sio_admin_bcrypt_hash_valid(hash))
        return SIO_EINVAL;
    struct crypt_data *cd = eio_calloc(1, sizeof(*cd));
    const char *out = crypt_r(password ? password : "", hash, cd);
    int ok = 0;
    /* libxcrypt returns NULL or a string starting with '*' on failure. */
    if (out && out[0] != '*' && strlen(out) == 60) {
        unsigned char diff = 0; /* in constant time */
        for (size_t i = 0; i < 60; i++)
            diff |= (unsigned char)(out[i] ^ hash[i]);
        ok = diff == 0;
    }
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
    return ok;
}

/* ---------------------------------------------------------------- aggregated events */

static const char *const event_types[] = {"rawConnection", "rawDisconnection", "packetsIn",
                                          "packetsOut",    "bytesIn",          "bytesOut"};

static int same_subtype(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

void sio__admin_events_push(sio__admin_events *b, int64_t now_ms, int type, const char *subtype,
                            uint64_t count)
{
    int64_t ts = now_ms - (((now_ms % 1000) + 1000) % 1000); /* setMilliseconds(0) */
    /* The buckets of a second are the latest ones: look from the end. */
    for (size_t i = b->len; i-- > 0;) {
        sio__admin_bucket *x = &b->items[i];
        if (x->timestamp == ts && x->type == type && same_subtype(x->subtype, subtype)) {
            x->count += count;
            return;
        }
    }
    if (b->len >= SIO__ADMIN_MAX_BUCKETS)
        return;
    if (b->len == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->items = eio_realloc(b->items, b->cap * sizeof(*b->items));
    }
    sio__admin_bucket *x = &b->items[b->len++];
    x->timestamp = ts;
    x->type = type;
    x->subtype = subtype ? eio_strdup(subtype) : NULL;
    x->count = count;
}

cJSON *sio__admin_events_take(sio__admin_events *b)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < b->len; i++) {
        sio__admin_bucket *x = &b->items[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "timestamp", cJSON_CreateNumber((double)x->timestamp));
        const char *t = x->type >= 0 && x->type <= SIO__ADMIN_BYTES_OUT ? event_types[x->type] : "";
        cJSON_AddItemToObject(o, "type", sio_json_create_string(t, strlen(t)));
        if (x->subtype)
            cJSON_AddItemToObject(o, "subType",
                                  sio_json_create_string(x->subtype, strlen(x->subtype)));
        cJSON_AddItemToObject(o, "count", cJSON_CreateNumber((double)x->count));
        cJSON_AddItemToArray(arr, o);
        free(x->subtype);
    }
    b->len = 0;
    return arr;
}

void sio__admin_events_free(sio__admin_events *b)
{
    for (size_t i = 0; i < b->len; i++)
        free(b->items[i].subtype);
    free(b->items);
    memset(b, 0, sizeof(*b));
}

void sio__admin_iso_date(int64_t ms, char out[32])
{
    int64_t msec = ((ms % 1000) + 1000) % 1000;
    time_t t = (time_t)((ms - msec) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char head[24];
    strftime(head, sizeof(head), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", head, (int)msec);
}

/* ---------------------------------------------------------------- the instrumentation */

typedef struct auth_job {
    sio_socket *socket; /* held by the middleware chain */
    sio_next *next;
    char *password;
    struct auth_job *link;
} auth_job;

/* At most this many password checks wait; more are refused at once. */
#define MAX_AUTH_JOBS 256
/* Sessions kept (Node's InMemoryStore keeps them all); the oldest go first. */
#define MAX_SESSIONS 10000

typedef struct admin {
    sio__observer obs;
    sio_server *io;
    sio_namespace *nsp;
    int basic;
    char *username, *hash;
    int readonly, development;
    char *server_id;
    char hostname[256];
    double start_s; /* when the process started, on CLOCK_BOOTTIME (uptime) */
    cJSON *features;
    char (*sessions)[17];
    size_t n_sessions;
    sio__admin_events events;
    eio_timeout *stats_timer;
    sio_args **left; /* room_left events, emitted on the next turn (Node: nextTick) */
    size_t n_left, cap_left;
    eio_timeout *left_timer;
    sio__client **upgraded; /* clients seen on a new transport while sending (a reference each) */
    size_t n_upgraded, cap_upgraded;
    eio_timeout *upgraded_timer;
    /* the bcrypt worker */
    pthread_t worker;
    int worker_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    auth_job *jobs, *jobs_tail;
    size_t n_jobs;
    int stop;
} admin;

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double boot_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* When the process started, on CLOCK_BOOTTIME (field 22 of /proc/self/stat,
 * in clock ticks since boot); now if it cannot be read. */
static double process_start_s(void)
{
    FILE *f = fopen("/proc/self/stat", "r");
    char buf[1024];
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* after the command name */
    unsigned long long ticks = 0;
    long hz = sysconf(_SC_CLK_TCK);
    /* fields 3.. follow: skip 19 of them to reach the 22nd */
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    if (!p || hz <= 0 || sscanf(p + 1, "%llu", &ticks) != 1)
        return boot_s();
    return (double)ticks / (double)hz;
}

static cJSON *jstr(const char *s)
{
    return sio_json_create_string(s ? s : "", s ? strlen(s) : 0);
}

static cJSON *jdate(void)
{
    char d[32];
    sio__admin_iso_date(wall_ms(), d);
    return jstr(d);
}

static const char *transport_name(int t)
{
    return t == EIO_TRANSPORT_WEBSOCKET ? "websocket" : "polling";
}

/* Whether an admin event can reach anybody: not when the admin namespace
 * has no socket here and no other node can have one. */
static int has_listeners(admin *a)
{
    return a->nsp->n_sockets || !sio_memory_adapter_is(a->nsp->adapter);
}

/* adminNamespace.emit(event, ...args): takes args. */
static void admin_emit(admin *a, const char *event, sio_args *args)
{
    if (a->io->closing) {
        sio_args_free(args);
        return;
    }
    sio_emit(sio_all(a->nsp), event, args);
}

/* ------------------------------------------------ serialized sockets */

/* socket.data without _admin (serializeData): a copy; {} if none. */
static cJSON *serialize_data(const cJSON *data)
{
    if (!data)
        return cJSON_CreateObject();
    cJSON *copy = cJSON_Duplicate(data, 1);
    if (cJSON_IsObject(copy))
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "_admin");
    return copy;
}

static cJSON *dup_or(const cJSON *v, cJSON *(*fallback)(void))
{
    return v ? cJSON_Duplicate(v, 1) : fallback();
}

static int truthy(const cJSON *v)
{
    if (!v || cJSON_IsFalse(v) || cJSON_IsNull(v))
        return 0;
    if (cJSON_IsNumber(v))
        return v->valuedouble != 0 && v->valuedouble == v->valuedouble;
    if (cJSON_IsString(v))
        return v->valuestring[0] != 0;
    return 1;
}

/* Node's serialize(socket, nsp): {id, clientId, transport, nsp, data,
 * handshake: {address, headers, query, issued, secure, time, url, xdomain},
 * rooms} from a socket in sio_socket_json's form. client_id and transport
 * may be NULL (left out, as undefined is by JSON.stringify). */
static cJSON *serialize(const cJSON *json, const char *nsp, const char *client_id,
                        const char *transport)
{
    const cJSON *hs = sio_json_get(json, "handshake");
    const cJSON *headers = sio_json_get(hs, "headers");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "id", dup_or(sio_json_get(json, "id"), cJSON_CreateNull));
    if (client_id)
        cJSON_AddItemToObject(o, "clientId", jstr(client_id));
    if (transport)
        cJSON_AddItemToObject(o, "transport", jstr(transport));
    cJSON_AddItemToObject(o, "nsp", jstr(nsp));
    cJSON_AddItemToObject(o, "data", serialize_data(sio_json_get(json, "data")));
    cJSON *h = cJSON_CreateObject();
    /* cf-connecting-ip || x-forwarded-for || address */
    const cJSON *addr = sio_json_get(headers, "cf-connecting-ip");
    if (!truthy(addr))
        addr = sio_json_get(headers, "x-forwarded-for");
    if (!truthy(addr))
        addr = sio_json_get(hs, "address");
    if (addr)
        cJSON_AddItemToObject(h, "address", cJSON_Duplicate(addr, 1));
    static const char *const keys[] = {"headers", "query", "issued", "secure",
                                       "time",    "url",   "xdomain"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
        const cJSON *v = sio_json_get(hs, keys[i]);
        if (v)
            cJSON_AddItemToObject(h, keys[i], cJSON_Duplicate(v, 1));
    }
    cJSON_AddItemToObject(o, "handshake", h);
    cJSON_AddItemToObject(o, "rooms", dup_or(sio_json_get(json, "rooms"), cJSON_CreateArray));
    return o;
}

static void client_id_of(const sio_socket *s, char out[13])
{
    const char *eid = s->client->conn ? eio_socket_id(s->client->conn) : "";
    snprintf(out, 13, "%s", eid);
}

static int transport_of(const sio_socket *s)
{
    return s->client->conn ? eio_socket_transport(s->client->conn) : EIO_TRANSPORT_POLLING;
}

static cJSON *serialize_local(const sio_socket *s)
{
    char cid[13];
    client_id_of(s, cid);
    cJSON *json = sio_socket_json(s);
    cJSON *o = serialize(json, s->nsp->name, cid, transport_name(transport_of(s)));
    sio_json_delete(json);
    return o;
}

/* socket.data._admin = {clientId, transport}, as Node keeps it there (so
 * that other nodes' fetchSockets see it): added when data is an object or
 * none, left alone otherwise. */
static void set_admin_data(sio_socket *s)
{
    if (!s->data_json)
        s->data_json = cJSON_CreateObject();
    if (!cJSON_IsObject(s->data_json))
        return;
    char cid[13];
    client_id_of(s, cid);
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddItemToObject(meta, "clientId", jstr(cid));
    cJSON_AddItemToObject(meta, "transport", jstr(transport_name(transport_of(s))));
    if (sio_json_get(s->data_json, "_admin"))
        cJSON_ReplaceItemInObjectCaseSensitive(s->data_json, "_admin", meta);
    else
        cJSON_AddItemToObject(s->data_json, "_admin", meta);
}

/* ------------------------------------------------ all_sockets */

typedef struct all_req {
    sio_socket *socket; /* the admin socket (a reference) */
    size_t pending, n;
    cJSON **parts; /* one array per namespace, in io._nsps order */
} all_req;

typedef struct all_part {
    all_req *req;
    size_t index;
    char *nsp;
} all_part;

static void on_fetched(int err, const sio_remote_socket *sockets, size_t n, void *ud)
{
    (void)err; /* on a timeout this node's sockets still come (Node would send nothing) */
    all_part *part = ud;
    all_req *r = part->req;
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        const sio_remote_socket *rs = &sockets[i];
        if (rs->local) {
            cJSON_AddItemToArray(arr, serialize_local(rs->local));
            continue;
        }
        cJSON *json = cJSON_CreateObject();
        cJSON_AddItemToObject(json, "id", jstr(rs->id));
        if (rs->handshake)
            cJSON_AddItemToObject(json, "handshake", cJSON_Duplicate(rs->handshake, 1));
        if (rs->rooms)
            cJSON_AddItemToObject(json, "rooms", cJSON_Duplicate(rs->rooms, 1));
        if (rs->data)
            cJSON_AddItemToObject(json, "data", cJSON_Duplicate(rs->data, 1));
        const cJSON *meta = sio_json_get(rs->data, "_admin");
        const cJSON *cid = sio_json_get(meta, "clientId");
        const cJSON *tr = sio_json_get(meta, "transport");
        cJSON_AddItemToArray(arr, serialize(json, part->nsp,
                                            cJSON_IsString(cid) ? cid->valuestring : NULL,
                                            cJSON_IsString(tr) ? tr->valuestring : NULL));
        sio_json_delete(json);
    }
    r->parts[part->index] = arr;
    free(part->nsp);
    free(part);
    if (--r->pending)
        return;
    cJSON *all = cJSON_CreateArray();
    for (size_t i = 0; i < r->n; i++) {
        cJSON *it;
        while (r->parts[i] && (it = cJSON_DetachItemFromArray(r->parts[i], 0)) != NULL)
            cJSON_AddItemToArray(all, it);
        sio_json_delete(r->parts[i]);
    }
    if (sio_socket_connected(r->socket))
        sio_socket_emit(r->socket, "all_sockets", sio_args_add(sio_args_new(), all));
    else
        sio_json_delete(all);
    sio_socket_unref(r->socket);
    free(r->parts);
    free(r);
}

static void send_all_sockets(admin *a, sio_socket *s)
{
    size_t n = 0;
    for (sio_namespace *x = a->io->nsps; x; x = x->next)
        n++;
    sio_namespace **list = eio_malloc(n * sizeof(*list));
    size_t i = n;
    for (sio_namespace *x = a->io->nsps; x; x = x->next)
        list[--i] = x; /* io->nsps is newest first; Node's Map is in creation order */
    all_req *r = eio_calloc(1, sizeof(*r));
    r->socket = s;
    sio_socket_ref(s);
    r->n = r->pending = n;
    r->parts = eio_calloc(n, sizeof(*r->parts));
    for (i = 0; i < n; i++) {
        all_part *part = eio_calloc(1, sizeof(*part));
        part->req = r;
        part->index = i;
        part->nsp = eio_strdup(list[i]->name);
        sio_fetch_sockets_async(sio_all(list[i]), on_fetched, part);
    }
    free(list);
}

/* ------------------------------------------------ the UI's commands */

/* io.of(nsp).in(filter), or io.of(nsp) without a filter; NULL when it would
 * reach nobody here (nsp not a string, a filter that is not a string). */
static sio_op *target(admin *a, const sio_args *args, size_t nsp_i, size_t filter_i)
{
    const cJSON *nsp = sio_args_get(args, nsp_i);
    const cJSON *filter = sio_args_get(args, filter_i);
    if (!cJSON_IsString(nsp))
        return NULL;
    sio_namespace *n = sio_of(a->io, nsp->valuestring);
    if (!truthy(filter))
        return sio_all(n);
    if (!cJSON_IsString(filter))
        return NULL;
    return sio_to(n, filter->valuestring);
}

/* emit(nsp, filter, ev, ...args) */
static void ui_emit(sio_socket *s, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)s;
    (void)ack;
    const cJSON *ev = sio_args_get(args, 2);
    if (!cJSON_IsString(ev))
        return;
    sio_op *op = target(ud, args, 0, 1);
    if (!op)
        return;
    sio_args *rest = sio_args_copy(args);
    cJSON *arr = (cJSON *)sio_args_json(rest);
    for (int i = 0; i < 3 && cJSON_GetArraySize(arr) > 0; i++)
        cJSON_DeleteItemFromArray(arr, 0);
    sio_emit(op, ev->valuestring, rest);
}

/* join(nsp, room, filter?) and leave(nsp, room, filter?) */
static void ui_join_leave(sio_socket *s, const sio_args *args, int join, void *ud)
{
    (void)s;
    const cJSON *room = sio_args_get(args, 1);
    if (!cJSON_IsString(room))
        return;
    sio_op *op = target(ud, args, 0, 2);
    if (!op)
        return;
    if (join)
        sio_sockets_join(op, room->valuestring);
    else
        sio_sockets_leave(op, room->valuestring);
}

static void ui_join(sio_socket *s, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)ack;
    ui_join_leave(s, args, 1, ud);
}

static void ui_leave(sio_socket *s, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)ack;
    ui_join_leave(s, args, 0, ud);
}

/* _disconnect(nsp, close, filter?) */
static void ui_disconnect(sio_socket *s, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)s;
    (void)ack;
    sio_op *op = target(ud, args, 0, 2);
    if (op)
        sio_disconnect_sockets(op, truthy(sio_args_get(args, 1)));
}

static void on_admin_connection(sio_socket *s, void *ud)
{
    admin *a = ud;
    if (!a->readonly) {
        sio_socket_on(s, "emit", ui_emit, a);
        sio_socket_on(s, "join", ui_join, a);
        sio_socket_on(s, "leave", ui_leave, a);
        sio_socket_on(s, "_disconnect", ui_disconnect, a);
    }
    cJSON *config = cJSON_CreateObject();
    cJSON_AddItemToObject(config, "supportedFeatures", cJSON_Duplicate(a->features, 1));
    sio_socket_emit(s, "config", sio_args_add(sio_args_new(), config));
    if (a->development)
        send_all_sockets(a, s);
}

/* ------------------------------------------------ basic auth */

static int session_exists(admin *a, const char *id)
{
    for (size_t i = 0; i < a->n_sessions; i++)
        if (strcmp(a->sessions[i], id) == 0)
            return 1;
    return 0;
}

static void random_hex(char out[17])
{
    unsigned char b[8];
    size_t got = 0;
    while (got < sizeof(b)) {
        ssize_t r = getrandom(b + got, sizeof(b) - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            fprintf(stderr, "sio_admin: getrandom failed\n");
            abort();
        }
        got += (size_t)r;
    }
    for (size_t i = 0; i < sizeof(b); i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void save_session(admin *a, const char *id)
{
    if (a->n_sessions == MAX_SESSIONS) {
        memmove(a->sessions, a->sessions + 1, (MAX_SESSIONS - 1) * sizeof(*a->sessions));
        a->n_sessions--;
    }
    a->sessions = eio_realloc(a->sessions, (a->n_sessions + 1) * sizeof(*a->sessions));
    memcpy(a->sessions[a->n_sessions++], id, 17);
}

/* socket.emit("session", id) from the middleware: before CONNECT, as Node
 * sends it (the client keeps it until it is connected). */
static void send_session(sio_socket *s, const char *id)
{
    sio_args *args = sio_args_add_string(sio_args_add_string(sio_args_new(), "session"), id);
    sio_packet p = SIO_PACKET_INIT;
    p.type = SIO_PACKET_EVENT;
    p.nsp = s->nsp->name;
    p.data = args->array;
    sio__send_packet(s->client, &p);
    sio_args_free(args);
}

/* A password check is done: lock held. */
static void auth_finish(admin *a, auth_job *j, int match)
{
    if (match == 1) {
        char id[17];
        random_hex(id);
        save_session(a, id);
        send_session(j->socket, id);
        sio_next_ok(j->next);
    } else {
        sio_next_error(j->next, "invalid credentials", NULL);
    }
    explicit_bzero(j->password, strlen(j->password));
    free(j->password);
    free(j);
}

static void *auth_worker(void *arg)
{
    admin *a = arg;
    for (;;) {
        pthread_mutex_lock(&a->mu);
        while (!a->stop && !a->jobs)
            pthread_cond_wait(&a->cv, &a->mu);
        if (a->stop) {
            pthread_mutex_unlock(&a->mu);
            return NULL;
        }
        auth_job *j = a->jobs;
        a->jobs = j->link;
        if (!a->jobs)
            a->jobs_tail = NULL;
        a->n_jobs--;
        pthread_mutex_unlock(&a->mu);
        int match = sio_admin_bcrypt_verify(j->password, a->hash);
        eio_server_lock(a->io->engine);
        auth_finish(a, j, match);
        eio_server_unlock(a->io->engine);
    }
}

static void auth_middleware(sio_socket *s, sio_next *next, void *ud)
{
    admin *a = ud;
    const cJSON *auth = sio_socket_handshake(s)->auth;
    const cJSON *sid = sio_json_get(auth, "sessionId");
    if (truthy(sid) && cJSON_IsString(sid) && session_exists(a, sid->valuestring)) {
        sio_next_ok(next);
        return;
    }
    const cJSON *user = sio_json_get(auth, "username");
    const cJSON *pass = sio_json_get(auth, "password");
    /* Node's bcrypt.compare of a password that is not a string throws (the
     * connection then hangs until connectTimeout): refused here. */
    if (cJSON_IsString(user) && strcmp(user->valuestring, a->username) == 0 &&
        cJSON_IsString(pass)) {
        pthread_mutex_lock(&a->mu);
        int queued = 0;
        if (a->n_jobs < MAX_AUTH_JOBS) {
            if (!a->worker_started)
                a->worker_started = pthread_create(&a->worker, NULL, auth_worker, a) == 0;
            if (a->worker_started) {
                auth_job *j = eio_calloc(1, sizeof(*j));
                j->socket = s;
                j->next = next;
                j->password = eio_strdup(pass->valuestring);
                if (a->jobs_tail)
                    a->jobs_tail->link = j;
                else
                    a->jobs = j;
                a->jobs_tail = j;
                a->n_jobs++;
                queued = 1;
                pthread_cond_signal(&a->cv);
            }
        }
        pthread_mutex_unlock(&a->mu);
        if (queued)
            return;
    }
    sio_next_error(next, "invalid credentials", NULL);
}

/* ------------------------------------------------ stats */

static void emit_stats(admin *a, size_t polling)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "serverId", jstr(a->server_id));
    cJSON_AddItemToObject(o, "hostname", jstr(a->hostname));
    cJSON_AddItemToObject(o, "pid", cJSON_CreateNumber((double)getpid()));
    cJSON_AddItemToObject(o, "uptime", cJSON_CreateNumber(boot_s() - a->start_s));
    cJSON_AddItemToObject(o, "clientsCount",
                          cJSON_CreateNumber((double)eio_server_client_count(a->io->engine)));
    cJSON_AddItemToObject(o, "pollingClientsCount", cJSON_CreateNumber((double)polling));
    cJSON_AddItemToObject(o, "aggregatedEvents", sio__admin_events_take(&a->events));
    size_t n = 0;
    for (sio_namespace *x = a->io->nsps; x; x = x->next)
        n++;
    cJSON **items = eio_malloc((n ? n : 1) * sizeof(*items));
    size_t i = n;
    for (sio_namespace *x = a->io->nsps; x; x = x->next) {
        cJSON *ns = cJSON_CreateObject();
        cJSON_AddItemToObject(ns, "name", jstr(x->name));
        cJSON_AddItemToObject(ns, "socketsCount", cJSON_CreateNumber((double)x->n_sockets));
        items[--i] = ns;
    }
    cJSON *namespaces = cJSON_CreateArray();
    for (i = 0; i < n; i++)
        cJSON_AddItemToArray(namespaces, items[i]);
    free(items);
    cJSON_AddItemToObject(o, "namespaces", namespaces);
    admin_emit(a, "server_stats", sio_args_add(sio_args_new(), o));
}

/* The client's transport changed (an upgrade): socket_updated {id, nsp,
 * transport} for each of its sockets (Node: socket.conn.on("upgrade")). */
static void transport_changed(admin *a, sio__client *c, int transport)
{
    c->observed_transport = transport;
    if (!a->development)
        return;
    for (sio_socket *s = c->sockets; s; s = s->client_next) {
        if (!s->connected)
            continue;
        cJSON *meta = sio_json_get(s->data_json, "_admin");
        if (cJSON_IsObject(meta)) {
            cJSON_DeleteItemFromObjectCaseSensitive(meta, "transport");
            cJSON_AddItemToObject(meta, "transport", jstr(transport_name(transport)));
        }
        if (!has_listeners(a))
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "id", jstr(s->id));
        cJSON_AddItemToObject(o, "nsp", jstr(s->nsp->name));
        cJSON_AddItemToObject(o, "transport", jstr(transport_name(transport)));
        admin_emit(a, "socket_updated", sio_args_add(sio_args_new(), o));
    }
}

static void check_transport(admin *a, sio__client *c)
{
    if (!c->conn)
        return;
    int t = eio_socket_transport(c->conn);
    if (t != c->observed_transport)
        transport_changed(a, c, t);
}

static void stats_tick(void *arg)
{
    admin *a = arg;
    a->stats_timer = eio_set_timeout(a->io->engine, 2000, stats_tick, a);
    size_t polling = 0;
    for (sio__client *c = a->io->clients; c; c = c->next) {
        if (!c->conn)
            continue;
        check_transport(a, c);
        polling += eio_socket_transport(c->conn) == EIO_TRANSPORT_POLLING;
    }
    emit_stats(a, polling);
}

/* ------------------------------------------------ observer hooks */

static void on_raw_connection(void *ud, sio__client *c)
{
    admin *a = ud;
    c->observed_transport = eio_socket_transport(c->conn);
    sio__admin_events_push(&a->events, wall_ms(), SIO__ADMIN_RAW_CONNECTION, NULL, 1);
}

static void on_raw_disconnection(void *ud, sio__client *c, const char *reason)
{
    (void)c;
    admin *a = ud;
    sio__admin_events_push(&a->events, wall_ms(), SIO__ADMIN_RAW_DISCONNECTION, reason, 1);
}

static void on_packet_in(void *ud, sio__client *c, size_t bytes)
{
    admin *a = ud;
    int64_t now = wall_ms();
    sio__admin_events_push(&a->events, now, SIO__ADMIN_PACKETS_IN, NULL, 1);
    sio__admin_events_push(&a->events, now, SIO__ADMIN_BYTES_IN, NULL, bytes);
    check_transport(a, c);
}

/* The clients seen upgraded while sending: told on the next turn of the
 * loop (nothing may be sent from inside a send). */
static void flush_upgraded(void *arg)
{
    admin *a = arg;
    a->upgraded_timer = NULL;
    sio__client **list = a->upgraded;
    size_t n = a->n_upgraded;
    a->upgraded = NULL;
    a->n_upgraded = a->cap_upgraded = 0;
    for (size_t i = 0; i < n; i++) {
        list[i]->observer_queued = 0;
        check_transport(a, list[i]);
        sio__client_unref(list[i]);
    }
    free(list);
}

static void on_packets_out(void *ud, sio__client *c, size_t count, size_t bytes)
{
    admin *a = ud;
    int64_t now = wall_ms();
    sio__admin_events_push(&a->events, now, SIO__ADMIN_PACKETS_OUT, NULL, count);
    sio__admin_events_push(&a->events, now, SIO__ADMIN_BYTES_OUT, NULL, bytes);
    if (!c->conn || c->observer_queued || eio_socket_transport(c->conn) == c->observed_transport)
        return;
    if (a->n_upgraded == a->cap_upgraded) {
        a->cap_upgraded = a->cap_upgraded ? a->cap_upgraded * 2 : 8;
        a->upgraded = eio_realloc(a->upgraded, a->cap_upgraded * sizeof(*a->upgraded));
    }
    c->refs++;
    c->observer_queued = 1;
    a->upgraded[a->n_upgraded++] = c;
    if (!a->upgraded_timer)
        a->upgraded_timer = eio_set_timeout(a->io->engine, 0, flush_upgraded, a);
}

static void on_socket_connected(void *ud, sio_socket *s)
{
    admin *a = ud;
    if (!a->development)
        return;
    set_admin_data(s);
    if (!has_listeners(a))
        return;
    sio_args *args = sio_args_add(sio_args_new(), serialize_local(s));
    admin_emit(a, "socket_connected", sio_args_add(args, jdate()));
}

static void on_socket_disconnected(void *ud, sio_socket *s, const char *reason)
{
    admin *a = ud;
    if (!a->development || !has_listeners(a))
        return;
    sio_args *args = sio_args_add(sio_args_add(sio_args_new(), jstr(s->nsp->name)), jstr(s->id));
    admin_emit(a, "socket_disconnected", sio_args_add(sio_args_add(args, jstr(reason)), jdate()));
}

static void on_data_changed(void *ud, sio_socket *s)
{
    admin *a = ud;
    if (!a->development)
        return;
    if (cJSON_IsObject(s->data_json) && !sio_json_get(s->data_json, "_admin"))
        set_admin_data(s); /* kept for the other nodes, as Node's proxy keeps it */
    if (!has_listeners(a))
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "id", jstr(s->id));
    cJSON_AddItemToObject(o, "nsp", jstr(s->nsp->name));
    cJSON_AddItemToObject(o, "data", serialize_data(s->data_json));
    admin_emit(a, "socket_updated", sio_args_add(sio_args_new(), o));
}

static sio_args *room_args(sio_socket *s, const char *room)
{
    sio_args *args = sio_args_add(sio_args_new(), jstr(s->nsp->name));
    args = sio_args_add(sio_args_add(args, jstr(room)), jstr(s->id));
    return sio_args_add(args, jdate());
}

static void on_room_joined(void *ud, sio_socket *s, const char *room)
{
    admin *a = ud;
    if (a->development && has_listeners(a))
        admin_emit(a, "room_joined", room_args(s, room));
}

static void flush_left(void *arg)
{
    admin *a = arg;
    a->left_timer = NULL;
    /* A snapshot: emitting may queue more (they wait for the next turn). */
    sio_args **list = a->left;
    size_t n = a->n_left;
    a->left = NULL;
    a->n_left = a->cap_left = 0;
    for (size_t i = 0; i < n; i++)
        admin_emit(a, "room_left", list[i]);
    free(list);
}

static void on_room_left(void *ud, sio_socket *s, const char *room)
{
    admin *a = ud;
    if (!a->development || !has_listeners(a))
        return;
    if (a->n_left == a->cap_left) {
        a->cap_left = a->cap_left ? a->cap_left * 2 : 8;
        a->left = eio_realloc(a->left, a->cap_left * sizeof(*a->left));
    }
    a->left[a->n_left++] = room_args(s, room);
    if (!a->left_timer)
        a->left_timer = eio_set_timeout(a->io->engine, 0, flush_left, a);
}

/* event_received / event_sent (nsp, id, [event, ...args], date), not for
 * the admin namespace's own sockets. */
static void on_event(admin *a, const char *name, sio_socket *s, const cJSON *data,
                     eio_frame *const *bins, size_t n_bins)
{
    if (!a->development || s->nsp == a->nsp || !has_listeners(a))
        return;
    eio_frame **refs = NULL;
    if (n_bins) {
        refs = eio_malloc(n_bins * sizeof(*refs));
        for (size_t i = 0; i < n_bins; i++)
            refs[i] = bins[i] ? eio_frame_ref(bins[i]) : NULL;
    }
    /* The placeholders inside data keep their numbers: the frames come along. */
    sio_args *args = sio__args_take(NULL, refs, n_bins);
    sio_args_add(sio_args_add(args, jstr(s->nsp->name)), jstr(s->id));
    sio_args_add(args, data ? cJSON_Duplicate(data, 1) : cJSON_CreateArray());
    admin_emit(a, name, sio_args_add(args, jdate()));
}

static void on_event_received(void *ud, sio_socket *s, const cJSON *data, eio_frame *const *bins,
                              size_t n_bins)
{
    on_event(ud, "event_received", s, data, bins, n_bins);
}

static void on_event_sent(void *ud, sio_socket *s, const cJSON *data, eio_frame *const *bins,
                          size_t n_bins)
{
    on_event(ud, "event_sent", s, data, bins, n_bins);
}

static void admin_close(void *ud)
{
    admin *a = ud;
    if (a->worker_started) {
        pthread_mutex_lock(&a->mu);
        a->stop = 1;
        pthread_cond_signal(&a->cv);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->worker, NULL);
    }
    eio_server_lock(a->io->engine);
    /* Checks that never ran: their clients are gone; refuse them. */
    while (a->jobs) {
        auth_job *j = a->jobs;
        a->jobs = j->link;
        auth_finish(a, j, 0);
    }
    a->jobs_tail = NULL;
    eio_clear_timeout(a->io->engine, a->stats_timer);
    eio_clear_timeout(a->io->engine, a->left_timer);
    for (size_t i = 0; i < a->n_left; i++)
        sio_args_free(a->left[i]);
    free(a->left);
    eio_clear_timeout(a->io->engine, a->upgraded_timer);
    for (size_t i = 0; i < a->n_upgraded; i++) {
        a->upgraded[i]->observer_queued = 0;
        sio__client_unref(a->upgraded[i]);
    }
    free(a->upgraded);
    a->io->observer = NULL;
    eio_server_unlock(a->io->engine);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    sio__admin_events_free(&a->events);
    sio_json_delete(a->features);
    free(a->sessions);
    free(a->server_id);
    free(a->username);
    if (a->hash)
        explicit_bzero(a->hash, strlen(a->hash));
    free(a->hash);
    free(a);
}

/* ---------------------------------------------------------------- public API */

void sio_admin_options_default(sio_admin_options *o)
{
    memset(o, 0, sizeof(*o));
    o->namespace_name = "/admin";
    o->auth = SIO_ADMIN_AUTH_UNSET;
    o->mode = SIO_ADMIN_MODE_FROM_ENV;
}

const char *sio_admin_options_error(const sio_admin_options *o)
{
    if (!o)
        return "no options";
    if (o->auth == SIO_ADMIN_AUTH_UNSET)
        return "the `auth` option must be specified or explicitly set to `false`";
    if (o->auth == SIO_ADMIN_AUTH_BASIC) {
        if (!o->username)
            return "basic authentication needs a username";
        if (!sio_admin_bcrypt_hash_valid(o->password_hash))
            return "the `password` field must be a valid bcrypt hash";
    } else if (o->auth != SIO_ADMIN_AUTH_NONE) {
        return "invalid `auth` option, please check the documentation";
    }
    if (o->mode < SIO_ADMIN_MODE_FROM_ENV || o->mode > SIO_ADMIN_MODE_PRODUCTION)
        return "mode is development or production";
    return NULL;
}

static int development_mode(int mode)
{
    if (mode != SIO_ADMIN_MODE_FROM_ENV)
        return mode == SIO_ADMIN_MODE_DEVELOPMENT;
    const char *env = getenv("NODE_ENV");
    return !env || !*env || strcmp(env, "development") == 0;
}

int sio_admin_instrument(sio_server *io, const sio_admin_options *o)
{
    if (!io || sio_admin_options_error(o) || io->observer)
        return SIO_EINVAL;
    admin *a = eio_calloc(1, sizeof(*a));
    a->io = io;
    a->basic = o->auth == SIO_ADMIN_AUTH_BASIC;
    if (a->basic) {
        a->username = eio_strdup(o->username);
        a->hash = eio_strdup(o->password_hash);
    }
    a->readonly = o->readonly;
    a->development = development_mode(o->mode);
    if (gethostname(a->hostname, sizeof(a->hostname)) != 0)
        snprintf(a->hostname, sizeof(a->hostname), "localhost");
    a->hostname[sizeof(a->hostname) - 1] = 0;
    a->server_id = eio_strdup(o->server_id ? o->server_id : a->hostname);
    a->start_s = process_start_s();
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    a->features = cJSON_CreateArray();
    if (!a->readonly) {
        static const char *const write_features[] = {"EMIT",  "JOIN",   "LEAVE",      "DISCONNECT",
                                                     "MJOIN", "MLEAVE", "MDISCONNECT"};
        for (size_t i = 0; i < sizeof(write_features) / sizeof(*write_features); i++)
            cJSON_AddItemToArray(a->features, jstr(write_features[i]));
    }
    cJSON_AddItemToArray(a->features, jstr("AGGREGATED_EVENTS"));
    if (a->development)
        cJSON_AddItemToArray(a->features, jstr("ALL_EVENTS"));
    a->obs = (sio__observer){
        .ud = a,
        .raw_connection = on_raw_connection,
        .raw_disconnection = on_raw_disconnection,
        .packet_in = on_packet_in,
        .packets_out = on_packets_out,
        .socket_connected = on_socket_connected,
        .socket_disconnected = on_socket_disconnected,
        .data_changed = on_data_changed,
        .room_joined = on_room_joined,
        .room_left = on_room_left,
        .event_received = on_event_received,
        .event_sent = on_event_sent,
        .close = admin_close,
    };
    a->nsp = sio_of(io, o->namespace_name ? o->namespace_name : "/admin");
    if (a->basic)
        sio_use(a->nsp, auth_middleware, a);
    sio_on_connection(a->nsp, on_admin_connection, a);
    for (sio__client *c = io->clients; c; c = c->next)
        if (c->conn)
            c->observed_transport = eio_socket_transport(c->conn);
    io->observer = &a->obs;
    stats_tick(a); /* Node emits the first stats at once */
    return SIO_OK;
}
