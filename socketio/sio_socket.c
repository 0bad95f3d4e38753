/*
 * sio_socket: one client's connection to one namespace, as Node's
 * lib/socket.ts: handshake details, event handlers and socket.use middleware,
 * acknowledgements both ways (with timeouts), rooms through the adapter, and
 * disconnection with Node's reasons ("disconnecting" while rooms are still
 * there, then "disconnect").
 *
 * Threading: engine lock held everywhere.
 * Ownership: the client's socket list holds one reference; a handler running
 * on the socket holds another, so a socket disconnected inside its own
 * handler is freed after that handler returns. Pending acknowledgements are
 * freed when the socket closes; a client's ack when its handlers return,
 * unless a handler kept it (sio_ack_keep: then when answered or at close).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engineio/eio_debug.h"
#include "socketio/sio_internal.h"
#include "engineio/eio_packet.h"
#include "socketio/sio_json.h"

/* ---------------------------------------------------------------- sending */

static void send_encoded(sio__client *c, const sio_encoded *e)
{
    if (c->io->debug & SIO__DBG_CLIENT) {
        char shown[160];
        sio__debug(SIO__DBG_CLIENT, "writing packet \"%s\" (%zu attachments)",
                   eio_debug_data(shown, sizeof(shown), e->text.data, e->text.len, e->binary),
                   e->attachment_count);
    }
    int sent = eio_socket_send(c->conn, e->text.data, e->text.len, e->binary) == 0;
    size_t bytes = e->text.len;
    for (size_t i = 0; i < e->attachment_count; i++) {
        sent += eio_socket_send(c->conn, e->attachments[i]->data, e->attachments[i]->len, 1) == 0;
        bytes += e->attachments[i]->len;
    }
    const sio__observer *obs = c->io->observer;
    if (obs && sent)
        obs->packets_out(obs->ud, c, (size_t)sent, bytes);
}

/* Joins rooms through the adapter, telling the observer of each room the
 * socket was not in yet. */
static void join_rooms(sio_socket *s, const char *const *rooms, size_t n)
{
    sio_adapter *a = s->nsp->adapter;
    const sio__observer *obs = s->nsp->io->observer;
    for (size_t i = 0; i < n && (s->nsp->io->debug & SIO__DBG_SOCKET); i++)
        sio__debug(SIO__DBG_SOCKET, "%s: join room %s", s->id, rooms[i]);
    if (!obs) {
        a->ops->add_all(a, s, rooms, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        int had = a->ops->has(a, s, rooms[i]);
        a->ops->add_all(a, s, &rooms[i], 1);
        if (!had && s->connected)
            obs->room_joined(obs->ud, s, rooms[i]);
    }
}

static void collect_room(const char *room, void *ud)
{
    cJSON_AddItemToArray(ud, sio_json_create_string(room, strlen(room)));
}

/* Leaves every room (delAll), telling the observer of each. */
static void leave_all_rooms(sio_socket *s)
{
    sio_adapter *a = s->nsp->adapter;
    const sio__observer *obs = s->nsp->io->observer;
    if (!obs) {
        a->ops->del_all(a, s);
        return;
    }
    cJSON *rooms = cJSON_CreateArray();
    a->ops->socket_rooms(a, s, collect_room, rooms);
    a->ops->del_all(a, s);
    const cJSON *r;
    cJSON_ArrayForEach(r, rooms)
    {
        obs->room_left(obs->ud, s, r->valuestring);
    }
    sio_json_delete(rooms);
}

int sio__send_packet(sio__client *c, const sio_packet *p)
{
    if (c->closed || !c->conn)
        return SIO_ECLOSED;
    sio_encoded e = SIO_ENCODED_INIT;
    int r = c->io->parser->encode(c->protocol, p, &e);
    if (r == 0)
        send_encoded(c, &e);
    sio_encoded_free(&e);
    return r == 0 ? SIO_OK : SIO_EINVAL;
}

/* ---------------------------------------------------------------- life cycle */

void sio__socket_ref(sio_socket *s)
{
    s->refs++;
}

static void socket_free(sio_socket *s)
{
    sio__handlers_free(&s->events);
    sio__handlers_free(&s->any);
    sio__handlers_free(&s->any_outgoing);
    sio__handlers_free(&s->disconnecting);
    sio__handlers_free(&s->disconnect);
    sio__handlers_free(&s->use);
    sio__handlers_free(&s->errors);
    sio_json_delete(s->hs_query);
    sio_json_delete(s->hs_auth);
    sio_json_delete(s->data_json);
    free(s->pid);
    for (size_t i = 0; i < s->n_restore_rooms; i++)
        free(s->restore_rooms[i]);
    free(s->restore_rooms);
    free(s->hs_time);
    free(s->hs_url);
    free(s->id);
    sio__client_unref(s->client);
    free(s);
}

void sio__socket_unref(sio_socket *s)
{
    if (--s->refs == 0)
        socket_free(s);
}

/* A query component, form-decoded, as a new C string. */
static char *url_decode(const char *s, size_t n)
{
    eio_buf b = EIO_BUF_INIT;
    eio_form_decode((const uint8_t *)s, n, &b);
    char *out = eio_strdup(eio_buf_cstr(&b));
    eio_buf_free(&b);
    return out;
}

/* A query string as an object of strings, as engine.io's req._query
 * (URLSearchParams and Object.fromEntries): of a name given twice the last
 * value wins, in the first one's place. */
static cJSON *query_object(const char *q)
{
    cJSON *o = cJSON_CreateObject();
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        size_t kl = eq ? (size_t)(eq - q) : len;
        if (len) {
            char *k = url_decode(q, kl);
            char *v = eq ? url_decode(eq + 1, len - kl - 1) : eio_strdup("");
            cJSON *item = sio_json_create_string(v, strlen(v));
            if (cJSON_GetObjectItemCaseSensitive(o, k))
                cJSON_ReplaceItemInObjectCaseSensitive(o, k, item);
            else
                cJSON_AddItemToObject(o, k, item);
            free(k);
            free(v);
        }
        q += len;
        if (*q == '&')
            q++;
    }
    return o;
}

/* JavaScript's Date.prototype.toString() in UTC. */
static char *js_date(int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[96];
    strftime(buf, sizeof(buf), "%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)", &tm);
    return eio_strdup(buf);
}

sio_socket *sio__socket_new(sio__client *c, sio_namespace *nsp, cJSON *auth, const char *query)
{
    sio_socket *s = eio_calloc(1, sizeof(*s));
    s->client = c;
    c->refs++;
    s->nsp = nsp;
    s->refs = 1; /* the client's list */
    const char *sid = eio_socket_id(c->conn);
    if (c->protocol >= 5) {
        char id[21];
        eio_generate_id(id);
        s->id = eio_strdup(id);
    } else if (strcmp(nsp->name, "/") == 0) {
        s->id = eio_strdup(sid);
    } else {
        size_t n = strlen(nsp->name) + 1 + strlen(sid) + 1;
        s->id = eio_malloc(n);
        snprintf(s->id, n, "%s#%s", nsp->name, sid);
    }
    const eio_request *r = eio_socket_request(c->conn);
    s->hs_query = query_object(r->query);
    if (c->protocol < 5)
        auth = query ? query_object(query) : NULL;
    s->hs_auth = auth && cJSON_IsObject(auth) ? auth : cJSON_CreateObject();
    if (auth && s->hs_auth != auth)
        sio_json_delete(auth);
    s->hs_time = js_date(r->time_ms);
    size_t ul = strlen(r->path) + 1 + strlen(r->query) + 1;
    s->hs_url = eio_malloc(ul);
    snprintf(s->hs_url, ul, "%s%s%s", r->path, *r->query ? "?" : "", r->query);
    s->handshake.request = r;
    s->handshake.query = s->hs_query;
    s->handshake.auth = s->hs_auth;
    s->handshake.address = r->remote_addr;
    s->handshake.time = s->hs_time;
    s->handshake.issued = r->time_ms;
    s->handshake.url = s->hs_url;
    s->handshake.secure = r->secure;
    s->handshake.xdomain = eio_request_header(r, "Origin") != NULL;
    if (c->io->opts.recovery.enabled) {
        char pid[21];
        eio_generate_id(pid);
        s->pid = eio_strdup(pid);
    }
    s->client_next = c->sockets;
    c->sockets = s;
    return s;
}

static void unlink_from_client(sio_socket *s)
{
    sio__client *c = s->client;
    for (sio_socket **pp = &c->sockets; *pp; pp = &(*pp)->client_next) {
        if (*pp == s) {
            *pp = s->client_next;
            s->client_next = NULL;
            sio__socket_unref(s); /* the list's reference */
            return;
        }
    }
}

void sio__socket_onconnect(sio_socket *s)
{
    sio_namespace *nsp = s->nsp;
    sio__client *c = s->client;
    s->connected = 1;
    s->nsp_next = nsp->sockets;
    if (nsp->sockets)
        nsp->sockets->nsp_prev = s;
    nsp->sockets = s;
    nsp->n_sockets++;
    SIO__DEBUG(nsp->io, SIO__DBG_NAMESPACE, "adding socket %s to nsp %s", s->id, nsp->name);
    const char *own = s->id;
    join_rooms(s, &own, 1);
    if (s->n_restore_rooms) /* recovered: its rooms again */
        join_rooms(s, (const char *const *)s->restore_rooms, s->n_restore_rooms);
    eio_clear_timeout(c->io->engine, c->connect_timer);
    c->connect_timer = NULL;
    sio_packet p = SIO_PACKET_INIT;
    p.type = SIO_PACKET_CONNECT;
    p.nsp = nsp->name;
    if (c->protocol >= 5) {
        p.data = cJSON_CreateObject();
        cJSON_AddItemToObject(p.data, "sid", sio_json_create_string(s->id, strlen(s->id)));
        if (s->pid)
            cJSON_AddItemToObject(p.data, "pid", sio_json_create_string(s->pid, strlen(s->pid)));
    }
    sio__send_packet(c, &p);
    sio_json_delete(p.data);
    sio__socket_ref(s);
    const sio__observer *obs = nsp->io->observer;
    if (obs)
        obs->socket_connected(obs->ud, s);
    /* io.on("connection"): the group's handlers, then the namespace's. */
    sio__handlers *lists[2] = {nsp->group ? &nsp->group->on_connection : NULL, &nsp->on_connection};
    for (int l = 0; l < 2; l++) {
        if (!lists[l])
            continue;
        for (size_t i = 0; i < lists[l]->len && s->connected; i++) {
            sio__handler h = lists[l]->items[i];
            ((sio_connection_fn)h.fn)(s, h.ud);
        }
    }
    sio__socket_unref(s);
}

/* Refuses a connecting socket: CONNECT_ERROR to the client, then drop it. */
void sio__socket_error(sio_socket *s, const char *message, cJSON *data)
{
    sio__client *c = s->client;
    sio_packet p = SIO_PACKET_INIT;
    p.type = SIO_PACKET_CONNECT_ERROR;
    p.nsp = s->nsp->name;
    if (c->protocol >= 5) {
        p.data = cJSON_CreateObject();
        cJSON_AddItemToObject(p.data, "message", sio_json_create_string(message, strlen(message)));
        if (data)
            cJSON_AddItemToObject(p.data, "data", data);
    } else {
        /* Node (v4): err.data || err.message */
        p.data = data ? data : sio_json_create_string(message, strlen(message));
    }
    sio__send_packet(c, &p);
    sio_json_delete(p.data);
    unlink_from_client(s);
}

static void fire_reason(sio_socket *s, sio__handlers *list, const char *reason)
{
    for (size_t i = 0; i < list->len; i++) {
        sio__handler h = list->items[i];
        ((sio_disconnect_fn)h.fn)(s, reason, h.ud);
    }
}

void sio__socket_onclose(sio_socket *s, const char *reason)
{
    if (s->closing)
        return;
    s->closing = 1;
    SIO__DEBUG(s->nsp->io, SIO__DBG_SOCKET, "%s: closing socket - reason %s", s->id, reason);
    sio__socket_ref(s);
    int was_connected = s->connected;
    if (was_connected)
        fire_reason(s, &s->disconnecting, reason);
    sio_namespace *nsp = s->nsp;
    /* Node's RECOVERABLE_DISCONNECT_REASONS: the session is kept. */
    static const char *const recoverable[] = {"transport error",      "transport close",
                                              "forced close",         "ping timeout",
                                              "server shutting down", "forced server close"};
    if (was_connected && s->pid && !s->client->io->closing)
        for (size_t i = 0; i < sizeof(recoverable) / sizeof(*recoverable); i++)
            if (strcmp(reason, recoverable[i]) == 0)
                sio__recovery_persist(s);
    if (was_connected) {
        leave_all_rooms(s);
        if (s->nsp_prev)
            s->nsp_prev->nsp_next = s->nsp_next;
        else
            nsp->sockets = s->nsp_next;
        if (s->nsp_next)
            s->nsp_next->nsp_prev = s->nsp_prev;
        s->nsp_prev = s->nsp_next = NULL;
        nsp->n_sockets--;
    }
    unlink_from_client(s);
    s->connected = 0;
    /* Acknowledgements still awaited from the client: they will not come. */
    while (s->acks) {
        sio__pending_ack *a = s->acks;
        s->acks = a->next;
        eio_clear_timeout(s->client->io->engine, a->timer);
        if (a->broadcast)
            sio__bc_ack_release(a->broadcast);
        else if (a->fn)
            a->fn(s, SIO_EDISCONNECTED, NULL, a->ud);
        free(a);
    }
    /* Kept acknowledgements: never answered now. One whose handler still
     * runs is only unlinked (sio__ack_release frees it). */
    while (s->client_acks) {
        sio_ack *a = s->client_acks;
        s->client_acks = a->next;
        a->kept = 0;
        a->prev = a->next = NULL;
        if (!a->in_call)
            free(a);
    }
    s->n_client_acks = 0;
    const sio__observer *obs = nsp->io->observer;
    if (was_connected && obs)
        obs->socket_disconnected(obs->ud, s, reason);
    if (was_connected)
        fire_reason(s, &s->disconnect, reason);
    sio__socket_unref(s);
}

/* ---------------------------------------------------------------- incoming */

static void dispatch(sio_socket *s, const char *event, sio_args *args, sio_ack *ack)
{
    if (!s->connected)
        return;
    /* A snapshot: handlers may add or remove handlers. */
    size_t n = s->events.len;
    sio__handler *snap = n <= 8 ? (sio__handler[8]){0} : eio_malloc(n * sizeof(*snap));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->events.items[i].event, event) == 0)
            snap[k++] = s->events.items[i];
    int removed_once = 0;
    for (size_t i = 0; i < k; i++)
        if (snap[i].once) {
            sio__handlers_remove(&s->events, event, snap[i].fn);
            removed_once = 1;
        }
    (void)removed_once;
    for (size_t i = 0; i < k && s->connected; i++)
        ((sio_event_fn)snap[i].fn)(s, args, ack, snap[i].ud);
    if (n > 8)
        free(snap);
}

void sio__use_next(sio_next *n, const char *message, cJSON *data)
{
    sio_socket *s = n->socket;
    if (!message && n->index + 1 < s->use.len && s->connected) {
        n->index++;
        sio__handler h = s->use.items[n->index];
        ((sio_packet_middleware_fn)h.fn)(s, n->event, n->args, n, h.ud);
        return;
    }
    if (message) {
        for (size_t i = 0; i < s->errors.len; i++) {
            sio__handler h = s->errors.items[i];
            ((sio_error_fn)h.fn)(s, message, data, h.ud);
        }
    } else {
        dispatch(s, n->event, n->args, n->ack);
    }
    if (n->ack)
        sio__ack_release(n->ack);
    sio_json_delete(data);
    free(n->event);
    sio_args_free(n->args);
    free(n);
    sio__socket_unref(s);
}

static void onevent(sio_socket *s, sio_packet *p)
{
    cJSON *array = p->data;
    p->data = NULL;
    const sio__observer *obs = s->nsp->io->observer;
    if (obs)
        obs->event_received(obs->ud, s, array, p->attachments, p->attachment_count);
    cJSON *first = cJSON_DetachItemFromArray(array, 0);
    char *event;
    if (cJSON_IsString(first)) {
        eio_buf b = EIO_BUF_INIT;
        sio_json_string_bytes(first->valuestring, &b);
        event = eio_strdup(eio_buf_cstr(&b));
        eio_buf_free(&b);
    } else {
        char num[SIO_JSON_NUMBER_MAX];
        sio_json_format_number(first ? first->valuedouble : 0, num);
        event = eio_strdup(num);
    }
    sio_json_delete(first);
    SIO__DEBUG(s->nsp->io, SIO__DBG_SOCKET, "%s: emitting event \"%.100s\" (%d arguments%s)", s->id,
               event, cJSON_GetArraySize(array), p->has_id ? ", with an ack" : "");
    sio_args *args = sio__args_take(array, p->attachments, p->attachment_count);
    p->attachments = NULL;
    p->attachment_count = p->attachments_received = 0;
    sio_ack *ack = NULL;
    if (p->has_id) {
        ack = eio_calloc(1, sizeof(*ack));
        ack->socket = s;
        ack->id = p->id;
        ack->in_call = 1; /* until its handlers return (sio__ack_release) */
    }
    for (size_t i = 0; i < s->any.len && s->connected; i++) {
        sio__handler h = s->any.items[i];
        ((sio_any_fn)h.fn)(s, event, args, h.ud);
    }
    if (s->use.len && s->connected) {
        sio__socket_ref(s);
        sio_next *n = eio_calloc(1, sizeof(*n));
        n->socket = s;
        n->is_packet = 1;
        n->event = event;
        n->args = args;
        n->ack = ack;
        sio__handler h = s->use.items[0];
        ((sio_packet_middleware_fn)h.fn)(s, event, args, n, h.ud);
        return;
    }
    dispatch(s, event, args, ack);
    if (ack)
        sio__ack_release(ack);
    free(event);
    sio_args_free(args);
}

static void onack(sio_socket *s, sio_packet *p)
{
    sio__pending_ack **pp = &s->acks;
    while (*pp && (*pp)->id != p->id)
        pp = &(*pp)->next;
    sio__pending_ack *a = *pp;
    if (!a) {
        SIO__DEBUG(s->nsp->io, SIO__DBG_SOCKET, "%s: bad ack %llu", s->id,
                   (unsigned long long)p->id);
        return; /* Node: "bad ack" is ignored */
    }
    SIO__DEBUG(s->nsp->io, SIO__DBG_SOCKET, "%s: calling ack %llu", s->id,
               (unsigned long long)p->id);
    *pp = a->next;
    eio_clear_timeout(s->client->io->engine, a->timer);
    sio_args *args = sio__args_take(p->data, p->attachments, p->attachment_count);
    p->data = NULL;
    p->attachments = NULL;
    p->attachment_count = p->attachments_received = 0;
    if (a->broadcast) {
        sio__bc_ack_answer(a->broadcast, args);
    } else if (a->fn) {
        a->fn(s, SIO_OK, args, a->ud);
    }
    sio_args_free(args);
    free(a);
}

void sio__socket_onpacket(sio_socket *s, sio_packet *p)
{
    SIO__DEBUG(s->nsp->io, SIO__DBG_SOCKET, "%s: got packet %s", s->id,
               sio_packet_type_name(s->client->protocol, p->type));
    switch (p->type) {
    case SIO_PACKET_EVENT:
    case SIO_PACKET_BINARY_EVENT: onevent(s, p); break;
    case SIO_PACKET_ACK:
    case SIO_PACKET_BINARY_ACK: onack(s, p); break;
    case SIO_PACKET_DISCONNECT: sio__socket_onclose(s, "client namespace disconnect"); break;
    default: break;
    }
    sio_packet_clear(p);
}

/* ---------------------------------------------------------------- public API */

const char *sio_socket_id(const sio_socket *s)
{
    return s->id;
}
sio_namespace *sio_socket_namespace(const sio_socket *s)
{
    return s->nsp;
}
sio_server *sio_socket_server(const sio_socket *s)
{
    return s->nsp->io;
}
int sio_socket_connected(const sio_socket *s)
{
    return s->connected;
}
int sio_socket_protocol(const sio_socket *s)
{
    return s->client->protocol;
}
eio_socket *sio_socket_conn(const sio_socket *s)
{
    return s->client->conn;
}
const sio_handshake *sio_socket_handshake(const sio_socket *s)
{
    return &s->handshake;
}
void sio_socket_set_data(sio_socket *s, void *data)
{
    s->data = data;
}
void sio_socket_ref(sio_socket *s)
{
    sio__socket_ref(s);
}
void sio_socket_unref(sio_socket *s)
{
    sio__socket_unref(s);
}
void *sio_socket_get_data(const sio_socket *s)
{
    return s->data;
}

void sio_socket_on(sio_socket *s, const char *event, sio_event_fn fn, void *ud)
{
    sio__handlers_add(&s->events, event, (void (*)(void))fn, ud, 0);
}

void sio_socket_once(sio_socket *s, const char *event, sio_event_fn fn, void *ud)
{
    sio__handlers_add(&s->events, event, (void (*)(void))fn, ud, 1);
}

void sio_socket_off(sio_socket *s, const char *event, sio_event_fn fn)
{
    sio__handlers_remove(&s->events, event, (void (*)(void))fn);
}

void sio_socket_on_any(sio_socket *s, sio_any_fn fn, void *ud)
{
    sio__handlers_add(&s->any, NULL, (void (*)(void))fn, ud, 0);
}

void sio_socket_off_any(sio_socket *s, sio_any_fn fn)
{
    sio__handlers_remove(&s->any, NULL, (void (*)(void))fn);
}

void sio_socket_on_any_outgoing(sio_socket *s, sio_any_fn fn, void *ud)
{
    sio__handlers_add(&s->any_outgoing, NULL, (void (*)(void))fn, ud, 0);
}

void sio_socket_off_any_outgoing(sio_socket *s, sio_any_fn fn)
{
    sio__handlers_remove(&s->any_outgoing, NULL, (void (*)(void))fn);
}

void sio_socket_on_disconnecting(sio_socket *s, sio_disconnect_fn fn, void *ud)
{
    sio__handlers_add(&s->disconnecting, NULL, (void (*)(void))fn, ud, 0);
}

void sio_socket_on_disconnect(sio_socket *s, sio_disconnect_fn fn, void *ud)
{
    sio__handlers_add(&s->disconnect, NULL, (void (*)(void))fn, ud, 0);
}

void sio_socket_use(sio_socket *s, sio_packet_middleware_fn fn, void *ud)
{
    sio__handlers_add(&s->use, NULL, (void (*)(void))fn, ud, 0);
}

void sio_socket_on_error(sio_socket *s, sio_error_fn fn, void *ud)
{
    sio__handlers_add(&s->errors, NULL, (void (*)(void))fn, ud, 0);
}

static void notify_outgoing(sio_socket *s, const char *event, const sio_args *args)
{
    for (size_t i = 0; i < s->any_outgoing.len; i++) {
        sio__handler h = s->any_outgoing.items[i];
        ((sio_any_fn)h.fn)(s, event, args, h.ud);
    }
}

static void on_ack_timeout(void *arg)
{
    sio__pending_ack *a = arg;
    sio_socket *s = a->socket;
    a->timer = NULL;
    for (sio__pending_ack **pp = &s->acks; *pp; pp = &(*pp)->next) {
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    }
    sio__socket_ref(s);
    if (a->fn)
        a->fn(s, SIO_ETIMEOUT, NULL, a->ud);
    free(a);
    sio__socket_unref(s);
}

static int emit(sio_socket *s, const char *event, sio_args *args, int timeout_ms, sio_ack_fn fn,
                void *ud)
{
    if (!args)
        args = sio_args_new();
    if (!event || sio__reserved_event(event)) {
        sio_args_free(args);
        return SIO_EINVAL;
    }
    if (!s->connected) {
        sio_args_free(args);
        return SIO_ECLOSED;
    }
    notify_outgoing(s, event, args);
    sio__args_prepend_event(args, event);
    const sio__observer *obs = s->nsp->io->observer;
    if (obs)
        obs->event_sent(obs->ud, s, args->array, args->bins, args->n_bins);
    if (!fn && s->pid) { /* recovery: as Node, through the store, to the socket's own room */
        const char *own = s->id;
        sio_broadcast_opts o = {&own, 1, NULL, 0, 0};
        sio__recovery_store(s->nsp, args, &o);
    }
    sio_packet p = SIO_PACKET_INIT;
    p.type = SIO_PACKET_EVENT;
    p.nsp = s->nsp->name;
    p.data = args->array;
    p.attachments = args->bins;
    p.attachment_count = p.attachments_received = args->n_bins;
    if (fn) {
        p.has_id = 1;
        p.id = s->nsp->next_ack_id++; /* Node: nsp._ids, shared with broadcasts */
    }
    int r = sio__send_packet(s->client, &p);
    if (r == SIO_OK && fn) {
        sio__pending_ack *a = eio_calloc(1, sizeof(*a));
        a->id = p.id;
        a->fn = fn;
        a->ud = ud;
        a->socket = s;
        if (timeout_ms >= 0)
            a->timer =
                eio_set_timeout(s->client->io->engine, (uint64_t)timeout_ms, on_ack_timeout, a);
        a->next = s->acks;
        s->acks = a;
    }
    sio_args_free(args);
    return r;
}

int sio_socket_emit(sio_socket *s, const char *event, sio_args *args)
{
    return emit(s, event, args, -1, NULL, NULL);
}

int sio_socket_emit_with_ack(sio_socket *s, const char *event, sio_args *args, int timeout_ms,
                             sio_ack_fn fn, void *ud)
{
    if (!fn) {
        sio_args_free(args);
        return SIO_EINVAL;
    }
    return emit(s, event, args, timeout_ms, fn, ud);
}

static void ack_unlink(sio_ack *ack)
{
    sio_socket *s = ack->socket;
    if (!ack->kept)
        return;
    if (ack->prev)
        ack->prev->next = ack->next;
    else
        s->client_acks = ack->next;
    if (ack->next)
        ack->next->prev = ack->prev;
    ack->prev = ack->next = NULL;
    ack->kept = 0;
    s->n_client_acks--;
}

void sio__ack_release(sio_ack *ack)
{
    ack->in_call = 0;
    if (ack->kept && !ack->answered && ack->socket->connected)
        return; /* answered later (sio_ack_send) or freed at disconnect */
    ack_unlink(ack);
    free(ack);
}

int sio_ack_keep(sio_ack *ack)
{
    if (!ack)
        return SIO_EINVAL;
    sio_socket *s = ack->socket;
    if (ack->kept || ack->answered || !s->connected)
        return SIO_OK;
    size_t max = s->client->io->opts.max_kept_acks;
    if (max && s->n_client_acks >= max) {
        /* A client that asks for more answers than the application can
         * hold: disconnected, its kept acks freed. */
        sio_socket_disconnect(s, 0);
        return SIO_ELIMIT;
    }
    ack->kept = 1;
    ack->prev = NULL;
    ack->next = s->client_acks;
    if (s->client_acks)
        s->client_acks->prev = ack;
    s->client_acks = ack;
    s->n_client_acks++;
    return SIO_OK;
}

void sio_ack_send(sio_ack *ack, sio_args *args)
{
    sio_socket *s = ack->socket;
    if (ack->answered) { /* a second answer during the call: Node sends once */
        sio_args_free(args);
        return;
    }
    if (!args)
        args = sio_args_new();
    if (s->connected) {
        sio_packet p = SIO_PACKET_INIT;
        p.type = SIO_PACKET_ACK;
        p.nsp = s->nsp->name;
        p.has_id = 1;
        p.id = ack->id;
        p.data = args->array;
        p.attachments = args->bins;
        p.attachment_count = p.attachments_received = args->n_bins;
        sio__send_packet(s->client, &p);
    }
    sio_args_free(args);
    if (ack->in_call) {
        ack->answered = 1; /* freed when its handlers return */
        return;
    }
    ack_unlink(ack);
    free(ack);
}

int sio_socket_join(sio_socket *s, const char *room)
{
    if (!s->connected || !room)
        return SIO_ECLOSED;
    join_rooms(s, &room, 1);
    return SIO_OK;
}

int sio_socket_leave(sio_socket *s, const char *room)
{
    if (!s->connected || !room)
        return SIO_ECLOSED;
    SIO__DEBUG(s->nsp->io, SIO__DBG_SOCKET, "%s: leave room %s", s->id, room);
    sio_adapter *a = s->nsp->adapter;
    const sio__observer *obs = s->nsp->io->observer;
    int had = obs && a->ops->has(a, s, room);
    a->ops->del(a, s, room);
    if (had)
        obs->room_left(obs->ud, s, room);
    return SIO_OK;
}

int sio_socket_in_room(const sio_socket *s, const char *room)
{
    return s->connected && s->nsp->adapter->ops->has(s->nsp->adapter, s, room);
}

void sio_socket_rooms(const sio_socket *s, void (*fn)(const char *room, void *ud), void *ud)
{
    if (s->connected)
        s->nsp->adapter->ops->socket_rooms(s->nsp->adapter, s, fn, ud);
}

void sio_socket_disconnect(sio_socket *s, int close_conn)
{
    if (!s->connected)
        return;
    sio__client *c = s->client;
    if (close_conn) {
        /* Node: every socket of the client gets "server namespace
         * disconnect", then the connection is closed. */
        c->refs++;
        for (sio_socket *x = c->sockets; x;) {
            sio_socket *next = x->client_next;
            if (x->connected)
                sio_socket_disconnect(x, 0);
            x = next;
        }
        eio_socket *conn = c->conn;
        sio__client_close(c, "forced server close");
        if (conn)
            eio_socket_close(conn);
        sio__client_unref(c);
        return;
    }
    sio_packet p = SIO_PACKET_INIT;
    p.type = SIO_PACKET_DISCONNECT;
    p.nsp = s->nsp->name;
    sio__send_packet(c, &p);
    sio__socket_onclose(s, "server namespace disconnect");
}
