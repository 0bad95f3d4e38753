/*
 * sio_adapter_memory: the in-memory adapter. Rooms are indexed both ways:
 * room -> set of sockets and socket -> set of rooms, both hash sets, so join,
 * leave and membership are O(1). A broadcast to several rooms visits each
 * socket once (a stamp per broadcast), skipping those in an excepted room.
 *
 * Threading: engine lock held (see sio_adapter.h).
 * Ownership: the adapter owns rooms and the per-socket room sets
 * (s->adapter_data); a room is freed when its last socket leaves.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "socketio/sio_internal.h"

/* ---------------------------------------------------------------- pointer sets */

#define TOMB ((void *)1)

typedef struct pset {
    void **slots;
    size_t cap, len, used; /* used counts tombstones too */
} pset;

static size_t ptr_hash(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static void pset_grow(pset *s);

static int pset_add(pset *s, void *p)
{
    if ((s->used + 1) * 4 >= s->cap * 3)
        pset_grow(s);
    size_t mask = s->cap - 1, i = ptr_hash(p) & mask, tomb = SIZE_MAX;
    for (;; i = (i + 1) & mask) {
        void *v = s->slots[i];
        if (v == p)
            return 0;
        if (v == TOMB && tomb == SIZE_MAX)
            tomb = i;
        if (!v)
            break;
    }
    if (tomb != SIZE_MAX) {
        s->slots[tomb] = p;
    } else {
        s->slots[i] = p;
        s->used++;
    }
    s->len++;
    return 1;
}

static void pset_grow(pset *s)
{
    size_t cap = s->cap ? s->cap : 8;
    while ((s->len + 1) * 2 >= cap)
        cap *= 2;
    if (cap < 8)
        cap = 8;
    pset old = *s;
    s->slots = eio_calloc(cap, sizeof(void *));
    s->cap = cap;
    s->len = s->used = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i] && old.slots[i] != TOMB)
            pset_add(s, old.slots[i]);
    free(old.slots);
}

static size_t pset_find(const pset *s, const void *p)
{
    if (!s->cap)
        return SIZE_MAX;
    size_t mask = s->cap - 1;
    for (size_t i = ptr_hash(p) & mask;; i = (i + 1) & mask) {
        if (s->slots[i] == p)
            return i;
        if (!s->slots[i])
            return SIZE_MAX;
    }
}

static int pset_remove(pset *s, const void *p)
{
    size_t i = pset_find(s, p);
    if (i == SIZE_MAX)
        return 0;
    s->slots[i] = TOMB;
    s->len--;
    return 1;
}

static void pset_free(pset *s)
{
    free(s->slots);
    memset(s, 0, sizeof(*s));
}

#define PSET_EACH(set, var)                                                                        \
    for (size_t var##_i = 0; var##_i < (set)->cap; var##_i++)                                      \
        if ((var = (set)->slots[var##_i]) != NULL && var != TOMB)

/* ---------------------------------------------------------------- rooms */

typedef struct room {
    char *name;
    size_t hash;
    pset members; /* sio_socket* */
    struct room *next;
} room;

typedef struct memory_adapter {
    sio_adapter base;
    room **table;
    size_t cap, n_rooms;
    sio_socket **scratch; /* for_each's matches, reused (a nested call gets its own) */
    size_t scratch_cap;
    int scratch_busy;
} memory_adapter;

typedef struct socket_rooms {
    pset rooms; /* room* */
} socket_rooms;

static size_t str_hash(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static room *room_find(memory_adapter *m, const char *name)
{
    size_t h = str_hash(name);
    for (room *r = m->table[h & (m->cap - 1)]; r; r = r->next)
        if (r->hash == h && strcmp(r->name, name) == 0)
            return r;
    return NULL;
}

static room *room_get(memory_adapter *m, const char *name)
{
    room *r = room_find(m, name);
    if (r)
        return r;
    if ((m->n_rooms + 1) * 4 > m->cap * 3) {
        size_t cap = m->cap * 2;
        room **t = eio_calloc(cap, sizeof(*t));
        for (size_t i = 0; i < m->cap; i++)
            for (room *x = m->table[i], *nx; x; x = nx) {
                nx = x->next;
                x->next = t[x->hash & (cap - 1)];
                t[x->hash & (cap - 1)] = x;
            }
        free(m->table);
        m->table = t;
        m->cap = cap;
    }
    r = eio_calloc(1, sizeof(*r));
    r->name = eio_strdup(name);
    r->hash = str_hash(name);
    r->next = m->table[r->hash & (m->cap - 1)];
    m->table[r->hash & (m->cap - 1)] = r;
    m->n_rooms++;
    return r;
}

static void room_drop_if_empty(memory_adapter *m, room *r)
{
    if (r->members.len)
        return;
    room **pp = &m->table[r->hash & (m->cap - 1)];
    while (*pp != r)
        pp = &(*pp)->next;
    *pp = r->next;
    m->n_rooms--;
    pset_free(&r->members);
    free(r->name);
    free(r);
}

static socket_rooms *rooms_of(const sio_socket *s)
{
    return s->adapter_data;
}

static void m_add_all(sio_adapter *a, sio_socket *s, const char *const *names, size_t n)
{
    memory_adapter *m = (memory_adapter *)a;
    if (!s->adapter_data)
        s->adapter_data = eio_calloc(1, sizeof(socket_rooms));
    socket_rooms *sr = rooms_of(s);
    for (size_t i = 0; i < n; i++) {
        room *r = room_get(m, names[i]);
        pset_add(&r->members, s);
        pset_add(&sr->rooms, r);
    }
}

static void m_del(sio_adapter *a, sio_socket *s, const char *name)
{
    memory_adapter *m = (memory_adapter *)a;
    socket_rooms *sr = rooms_of(s);
    room *r = room_find(m, name);
    if (!r || !sr)
        return;
    pset_remove(&sr->rooms, r);
    pset_remove(&r->members, s);
    room_drop_if_empty(m, r);
}

static void m_del_all(sio_adapter *a, sio_socket *s)
{
    memory_adapter *m = (memory_adapter *)a;
    socket_rooms *sr = rooms_of(s);
    if (!sr)
        return;
    void *p;
    PSET_EACH(&sr->rooms, p)
    {
        room *r = p;
        pset_remove(&r->members, s);
        room_drop_if_empty(m, r);
    }
    pset_free(&sr->rooms);
    free(sr);
    s->adapter_data = NULL;
}

static int m_has(sio_adapter *a, const sio_socket *s, const char *name)
{
    memory_adapter *m = (memory_adapter *)a;
    room *r = room_find(m, name);
    return r && pset_find(&r->members, s) != SIZE_MAX;
}

static void m_socket_rooms(sio_adapter *a, const sio_socket *s,
                           void (*fn)(const char *room, void *ud), void *ud)
{
    (void)a;
    socket_rooms *sr = rooms_of(s);
    if (!sr)
        return;
    void *p;
    PSET_EACH(&sr->rooms, p)
    fn(((room *)p)->name, ud);
}

/* The matching sockets are collected first (the marks are only used while
 * no user code runs), then fn runs for each: a handler that broadcasts from
 * inside fn (an onAnyOutgoing listener, a nested emit) starts a collection of
 * its own and cannot disturb this one. Each socket is held during the calls,
 * and skipped if it disconnected meanwhile. */
static void m_for_each(sio_adapter *a, const sio_broadcast_opts *opts,
                       void (*fn)(sio_socket *s, void *ud), void *ud)
{
    memory_adapter *m = (memory_adapter *)a;
    sio_server *io = a->nsp->io;
    sio_socket **list;
    size_t n = 0, cap;
    int own = !m->scratch_busy;
    if (own) {
        list = m->scratch;
        cap = m->scratch_cap;
        m->scratch_busy = 1;
    } else {
        list = NULL;
        cap = 0;
    }
#define ADD(sock)                                                                                  \
    do {                                                                                           \
        if (n == cap) {                                                                            \
            cap = cap ? cap * 2 : 64;                                                              \
            list = eio_realloc(list, cap * sizeof(*list));                                         \
        }                                                                                          \
        list[n++] = (sock);                                                                        \
    } while (0)
    uint64_t excluded = ++io->mark;
    for (size_t i = 0; i < opts->n_except; i++) {
        room *r = room_find(m, opts->except[i]);
        void *p;
        if (r)
            PSET_EACH(&r->members, p)
        ((sio_socket *)p)->mark = excluded;
    }
    uint64_t seen = ++io->mark;
    if (opts->n_rooms == 0) {
        for (sio_socket *s = a->nsp->sockets; s; s = s->nsp_next) {
            if (s->mark == excluded || s->mark == seen)
                continue;
            s->mark = seen;
            ADD(s);
        }
    } else {
        for (size_t i = 0; i < opts->n_rooms; i++) {
            room *r = room_find(m, opts->rooms[i]);
            if (!r)
                continue;
            void *p;
            PSET_EACH(&r->members, p)
            {
                sio_socket *s = p;
                if (s->mark == excluded || s->mark == seen)
                    continue;
                s->mark = seen;
                ADD(s);
            }
        }
    }
#undef ADD
    for (size_t i = 0; i < n; i++)
        sio__socket_ref(list[i]);
    for (size_t i = 0; i < n; i++)
        if (list[i]->connected)
            fn(list[i], ud);
    for (size_t i = 0; i < n; i++)
        sio__socket_unref(list[i]);
    if (own) {
        m->scratch = list;
        m->scratch_cap = cap;
        m->scratch_busy = 0;
    } else {
        free(list);
    }
}

static void m_broadcast(sio_adapter *a, const sio_packet *packet, const sio_broadcast_opts *opts)
{
    sio_adapter_deliver(a, packet, opts);
}

static void m_rooms(sio_adapter *a, void (*fn)(const char *room, void *ud), void *ud)
{
    memory_adapter *m = (memory_adapter *)a;
    for (size_t i = 0; i < m->cap; i++)
        for (room *r = m->table[i]; r; r = r->next)
            fn(r->name, ud);
}

static void m_server_count(sio_adapter *a, sio_adapter_count_fn fn, void *ud)
{
    (void)a;
    fn(1, ud);
}

static void m_free(sio_adapter *a)
{
    memory_adapter *m = (memory_adapter *)a;
    for (size_t i = 0; i < m->cap; i++)
        for (room *r = m->table[i], *next; r; r = next) {
            next = r->next;
            pset_free(&r->members);
            free(r->name);
            free(r);
        }
    free(m->table);
    free(m->scratch);
    free(m);
}

static const sio_adapter_ops memory_ops;

int sio_memory_adapter_is(const sio_adapter *a)
{
    return a && a->ops == &memory_ops;
}

size_t sio_memory_adapter_room_size(sio_adapter *a, const char *name)
{
    if (a->ops != &memory_ops)
        return 0;
    room *r = room_find((memory_adapter *)a, name);
    return r ? r->members.len : 0;
}

static const sio_adapter_ops memory_ops = {
    .add_all = m_add_all,
    .del = m_del,
    .del_all = m_del_all,
    .has = m_has,
    .socket_rooms = m_socket_rooms,
    .rooms = m_rooms,
    .for_each = m_for_each,
    .broadcast = m_broadcast,
    .server_count = m_server_count,
    .free = m_free,
};

sio_adapter *sio_memory_adapter_new(sio_namespace *nsp)
{
    memory_adapter *m = eio_calloc(1, sizeof(*m));
    m->base.ops = &memory_ops;
    m->base.nsp = nsp;
    m->cap = 64;
    m->table = eio_calloc(m->cap, sizeof(*m->table));
    return &m->base;
}
