/*
 * sio_recovery: connection state recovery, as Node's socket.io 4.6+
 * (connectionStateRecovery, the in-memory SessionAwareAdapter; facts in
 * ../shared/NODE-CLUSTER.md section 2). While it is on, every socket has a
 * private id (pid) sent in the CONNECT reply; every EVENT without an ack that
 * is not volatile, broadcast or emitted to one socket, gets an offset string
 * appended as its last argument and is kept (with its rooms and except) for
 * maxDisconnectionDuration, at most max_stored_packets of them. A socket that
 * goes for a reason Node keeps leaves a session {sid, pid, rooms, data}; a
 * client that comes back within the time with {pid, offset} in its CONNECT
 * gets its id, rooms and data back and the events it missed (sent before the
 * CONNECT reply), and sio_socket_recovered says 1.
 *
 * Only with the in-memory adapter: the Redis adapters keep no packets (as in
 * Node), which the server says once when a namespace starts.
 *
 * Threading: engine lock held (see sio.h).
 * Ownership: the namespace owns its store (sio__recovery_free); stored
 * packets own a copy of their arguments; a restore hands its session to the
 * socket being created.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "socketio/sio_internal.h"
#include "socketio/sio_json.h"

typedef struct stored {
    char offset[32];
    char **rooms, **except;
    size_t n_rooms, n_except;
    sio_args *data; /* [event, ...args, offset] */
    uint64_t at_ms;
} stored;

typedef struct session {
    char *sid, *pid;
    char **rooms;
    size_t n_rooms;
    cJSON *data;
    uint64_t at_ms; /* disconnectedAt */
    struct session *next;
} session;

struct sio__recovery {
    sio_namespace *nsp;
    stored *ring; /* the packets, oldest first: ring[(head + i) % cap] */
    size_t head, len, cap;
    session *sessions;
    eio_timeout *sweep;
    uint64_t last_ms;
    unsigned seq;
};

static uint64_t now_ms(sio_namespace *nsp)
{
    return eio_server_now_ms(nsp->io->engine);
}

static char **copy_strings(const char *const *v, size_t n)
{
    char **out = n ? eio_malloc(n * sizeof(*out)) : NULL;
    for (size_t i = 0; i < n; i++)
        out[i] = eio_strdup(v[i]);
    return out;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void stored_clear(stored *p)
{
    free_strings(p->rooms, p->n_rooms);
    free_strings(p->except, p->n_except);
    sio_args_free(p->data);
    memset(p, 0, sizeof(*p));
}

static void session_free(session *s)
{
    free(s->sid);
    free(s->pid);
    free_strings(s->rooms, s->n_rooms);
    sio_json_delete(s->data);
    free(s);
}

static void drop_oldest(struct sio__recovery *r)
{
    stored_clear(&r->ring[r->head]);
    r->head = (r->head + 1) % r->cap;
    r->len--;
}

/* Every 60 s, as Node: sessions and packets older than the duration go. */
static void sweep(void *arg)
{
    struct sio__recovery *r = arg;
    r->sweep = NULL;
    uint64_t now = now_ms(r->nsp);
    uint64_t max = (uint64_t)r->nsp->io->opts.recovery.max_disconnection_duration_ms;
    for (session **pp = &r->sessions; *pp;) {
        session *s = *pp;
        if (s->at_ms + max < now) {
            *pp = s->next;
            session_free(s);
        } else {
            pp = &s->next;
        }
    }
    while (r->len && r->ring[r->head].at_ms + max < now)
        drop_oldest(r);
    r->sweep = eio_set_timeout(r->nsp->io->engine, 60000, sweep, r);
}

struct sio__recovery *sio__recovery_get(sio_namespace *nsp)
{
    const sio_options *o = &nsp->io->opts;
    if (!o->recovery.enabled || nsp->is_group)
        return NULL;
    if (nsp->recovery)
        return nsp->recovery;
    if (!sio_memory_adapter_is(nsp->adapter)) {
        if (!nsp->recovery_warned) {
            nsp->recovery_warned = 1;
            const eio_options *eo = eio_server_options(nsp->io->engine);
            char msg[300];
            snprintf(msg, sizeof(msg),
                     "connection state recovery is on, but the adapter of namespace %s keeps no "
                     "packets (as Node's Redis adapters): its sockets get a pid and are never "
                     "recovered",
                     nsp->name);
            if (eo->log)
                eo->log(EIO_LOG_WARN, msg, NULL);
            else
                fprintf(stderr, "%s\n", msg);
        }
        return NULL;
    }
    struct sio__recovery *r = eio_calloc(1, sizeof(*r));
    r->nsp = nsp;
    r->cap = o->recovery.max_stored_packets ? o->recovery.max_stored_packets : 1;
    r->ring = eio_calloc(r->cap, sizeof(*r->ring));
    r->sweep = eio_set_timeout(nsp->io->engine, 60000, sweep, r);
    nsp->recovery = r;
    return r;
}

void sio__recovery_free(sio_namespace *nsp)
{
    struct sio__recovery *r = nsp->recovery;
    if (!r)
        return;
    while (r->len)
        drop_oldest(r);
    free(r->ring);
    while (r->sessions) {
        session *s = r->sessions;
        r->sessions = s->next;
        session_free(s);
    }
    eio_clear_timeout(nsp->io->engine, r->sweep);
    free(r);
    nsp->recovery = NULL;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* yeast(): the time in ms in base 64 (0-9A-Za-z-_), with ".<n>" when several
 * offsets fall in one millisecond. */
static void make_offset(struct sio__recovery *r, char out[32])
{
    static const char alphabet[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
    uint64_t ms = (uint64_t)wall_ms();
    char tmp[16];
    size_t n = 0;
    uint64_t v = ms;
    do {
        tmp[n++] = alphabet[v % 64];
        v /= 64;
    } while (v && n < sizeof(tmp));
    size_t o = 0;
    while (n)
        out[o++] = tmp[--n];
    out[o] = 0;
    if (ms == r->last_ms) {
        snprintf(out + o, 32 - o, ".%u", r->seq++);
    } else {
        r->last_ms = ms;
        r->seq = 0;
    }
}

void sio__recovery_store(sio_namespace *nsp, sio_args *args, const sio_broadcast_opts *o)
{
    struct sio__recovery *r = sio__recovery_get(nsp);
    if (!r)
        return;
    char offset[32];
    make_offset(r, offset);
    sio_args_add_string(args, offset);
    if (r->len == r->cap)
        drop_oldest(r); /* the cap: the oldest packet goes first */
    stored *p = &r->ring[(r->head + r->len) % r->cap];
    r->len++;
    snprintf(p->offset, sizeof(p->offset), "%s", offset);
    p->rooms = copy_strings(o->rooms, o->n_rooms);
    p->n_rooms = o->n_rooms;
    p->except = copy_strings(o->except, o->n_except);
    p->n_except = o->n_except;
    p->data = sio_args_copy(args);
    p->at_ms = now_ms(nsp);
}

static void add_room(const char *room, void *ud)
{
    session *s = ud;
    s->rooms = eio_realloc(s->rooms, (s->n_rooms + 1) * sizeof(*s->rooms));
    s->rooms[s->n_rooms++] = eio_strdup(room);
}

void sio__recovery_persist(sio_socket *s)
{
    struct sio__recovery *r = sio__recovery_get(s->nsp);
    if (!r || !s->pid)
        return;
    session *x = eio_calloc(1, sizeof(*x));
    x->sid = eio_strdup(s->id);
    x->pid = eio_strdup(s->pid);
    sio_socket_rooms(s, add_room, x);
    x->data = s->data_json ? cJSON_Duplicate(s->data_json, 1) : NULL;
    x->at_ms = now_ms(s->nsp);
    x->next = r->sessions;
    r->sessions = x;
}

static int in_list(char *const *list, size_t n, const char *room)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], room) == 0)
            return 1;
    return 0;
}

int sio__recovery_restore(sio_socket *s, const char *pid, const char *offset)
{
    struct sio__recovery *r = sio__recovery_get(s->nsp);
    if (!r)
        return 0;
    session **pp = &r->sessions;
    while (*pp && strcmp((*pp)->pid, pid) != 0)
        pp = &(*pp)->next;
    session *x = *pp;
    uint64_t max = (uint64_t)s->nsp->io->opts.recovery.max_disconnection_duration_ms;
    if (!x)
        return 0;
    *pp = x->next; /* Node: the session is taken (deleted) whatever happens next */
    if (x->at_ms + max < now_ms(s->nsp)) {
        session_free(x);
        return 0;
    }
    size_t i = 0;
    while (i < r->len && strcmp(r->ring[(r->head + i) % r->cap].offset, offset) != 0)
        i++;
    if (i == r->len) { /* the offset is gone (or never was): no recovery */
        session_free(x);
        return 0;
    }
    /* The socket becomes the one that left. */
    free(s->id);
    s->id = x->sid;
    x->sid = NULL;
    free(s->pid);
    s->pid = x->pid;
    x->pid = NULL;
    s->restore_rooms = x->rooms;
    s->n_restore_rooms = x->n_rooms;
    x->rooms = NULL;
    x->n_rooms = 0;
    sio_json_delete(s->data_json);
    s->data_json = x->data;
    x->data = NULL;
    s->recovered = 1;
    /* The events it missed, before the CONNECT reply (the client buffers
     * them until it is connected). */
    for (i++; i < r->len; i++) {
        stored *p = &r->ring[(r->head + i) % r->cap];
        int match = p->n_rooms == 0;
        for (size_t k = 0; k < p->n_rooms && !match; k++)
            match = in_list(s->restore_rooms, s->n_restore_rooms, p->rooms[k]);
        for (size_t k = 0; k < p->n_except && match; k++)
            match = !in_list(s->restore_rooms, s->n_restore_rooms, p->except[k]);
        if (!match)
            continue;
        sio_packet pk = SIO_PACKET_INIT;
        pk.type = SIO_PACKET_EVENT;
        pk.nsp = s->nsp->name;
        pk.data = p->data->array;
        pk.attachments = p->data->bins;
        pk.attachment_count = pk.attachments_received = p->data->n_bins;
        sio__send_packet(s->client, &pk);
    }
    session_free(x);
    return 1;
}

int sio_socket_recovered(const sio_socket *s)
{
    return s->recovered;
}

const char *sio_socket_pid(const sio_socket *s)
{
    return s->pid;
}
