/*
 * sio-test: the feature server the end-to-end tests drive, and a tour of the
 * Socket.IO C API. Namespaces "/", "/custom", "/mw" (middleware: auth.token
 * must be "secret", else CONNECT_ERROR "unauthorized" {"code":42}) and the
 * dynamic namespaces ^/dyn-[0-9]+$. Every socket answers the events listed
 * in test/e2e (join, leave, rooms, emit-to, server-ask, broadcast-ask,
 * fetch-sockets, fetch-details, set-data, server-count, all-rooms, sse,
 * sse-ack, server-events, node, sockets-join, sockets-leave, disconnect-sockets,
 * disconnect-me, handshake, forbidden, any-count, outgoing-count, reasons,
 * bin, bin-emit, echo). With --adapter redis://... it is one node of a
 * cluster (NODE_NAME names it in answers); the operations above then span
 * every node, and server-side events "sse-hello" / "sse-ask" from other
 * nodes are recorded (server-events) and "sse-ask" is answered.
 *
 * Threading: handlers run with the engine lock held, one at a time.
 * Ownership: per-socket counters are malloc'd at connection and freed at
 * disconnect; the disconnect log is freed at exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/common.h"

typedef struct counters {
    int incoming;
    int outgoing;
    cJSON *rooms_when_disconnecting;
    char *disconnecting_reason;
} counters;

static cJSON *reasons; /* [[id, disconnectingReason, disconnectReason, rooms], ...] */

static const char *str_arg(const sio_args *a, size_t i)
{
    const cJSON *v = sio_args_get(a, i);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void add_room(const char *room, void *ud)
{
    cJSON_AddItemToArray(ud, cJSON_CreateString(room));
}

static cJSON *rooms_of(sio_socket *s)
{
    cJSON *arr = cJSON_CreateArray();
    sio_socket_rooms(s, add_room, arr);
    return arr;
}

static void ack_json(sio_ack *ack, cJSON *value)
{
    if (ack)
        sio_ack_send(ack, sio_args_add(sio_args_new(), value));
    else
        cJSON_Delete(value);
}

static void on_join(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    sio_socket_join(s, str_arg(a, 0));
    ack_json(ack, rooms_of(s));
}

static void on_leave(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    sio_socket_leave(s, str_arg(a, 0));
    ack_json(ack, rooms_of(s));
}

static void on_rooms(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    ack_json(ack, rooms_of(s));
}

/* The rest of the arguments from index `from`, binary values included. */
static sio_args *rest(const sio_args *a, size_t from)
{
    sio_args *out = sio_args_copy(a);
    cJSON *arr = (cJSON *)sio_args_json(out);
    for (size_t i = 0; i < from && cJSON_GetArraySize(arr) > 0; i++)
        cJSON_DeleteItemFromArray(arr, 0);
    return out;
}

static void strings_into(const cJSON *list, sio_op *op, sio_op *(*fn)(sio_op *, const char *))
{
    const cJSON *it;
    cJSON_ArrayForEach(it, list)
    {
        if (cJSON_IsString(it))
            fn(op, it->valuestring);
    }
}

static void on_emit_to(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    const cJSON *opts = sio_args_get(a, 0);
    const char *event = str_arg(a, 1);
    if (!event) {
        ack_json(ack, cJSON_CreateFalse());
        return;
    }
    sio_op *op = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(opts, "broadcast"))
                     ? sio_socket_broadcast(s)
                     : sio_all(sio_socket_namespace(s));
    strings_into(cJSON_GetObjectItemCaseSensitive(opts, "rooms"), op, sio_in);
    strings_into(cJSON_GetObjectItemCaseSensitive(opts, "except"), op, sio_except);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(opts, "volatile")))
        sio_volatile(op);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(opts, "local")))
        sio_local(op);
    if (cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(opts, "compress")))
        sio_compress(op, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(opts, "compress")));
    sio_emit(op, event, rest(a, 2));
    ack_json(ack, cJSON_CreateTrue());
}

static void asked(sio_socket *s, int err, const sio_args *answer, void *ud)
{
    sio_ack *caller = ud;
    if (!sio_socket_connected(s)) {
        return; /* the caller's ack went with the socket */
    }
    sio_args *reply = err == SIO_OK ? sio_args_copy(answer) : sio_args_new();
    cJSON_InsertItemInArray((cJSON *)sio_args_json(reply), 0,
                            cJSON_CreateString(err == SIO_OK ? "ok" : "timeout"));
    if (cJSON_GetArraySize(sio_args_json(reply)) == 0)
        cJSON_AddItemToArray((cJSON *)sio_args_json(reply),
                             cJSON_CreateString(err == SIO_OK ? "ok" : "timeout"));
    sio_ack_send(caller, reply);
}

static void on_server_ask(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    const cJSON *t = sio_args_get(a, 0);
    int timeout = cJSON_IsNumber(t) ? (int)t->valuedouble : 1000;
    if (!ack || sio_ack_keep(ack) != SIO_OK)
        return;
    sio_socket_emit_with_ack(s, "ask", rest(a, 1), timeout, asked, ack);
}

typedef struct bc_ask {
    sio_ack *caller;
    sio_socket *socket;
} bc_ask;

static void broadcast_answered(int err, const sio_args *const *responses, size_t n, void *ud)
{
    bc_ask *b = ud;
    if (sio_socket_connected(b->socket)) {
        /* [err, [first answer of each]]: binary answers keep their bytes */
        sio_args *reply = sio_args_new();
        sio_args_add(reply, err ? cJSON_CreateString("timeout") : cJSON_CreateNull());
        cJSON *list = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(
                list, sio_args_copy_value(reply, responses[i], sio_args_get(responses[i], 0)));
        sio_args_add(reply, list);
        sio_ack_send(b->caller, reply);
    }
    sio_socket_unref(b->socket);
    free(b);
}

static void on_broadcast_ask(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    if (!ack || sio_ack_keep(ack) != SIO_OK)
        return;
    const cJSON *t = sio_args_get(a, 1);
    sio_op *op = sio_all(sio_socket_namespace(s));
    strings_into(sio_args_get(a, 0), op, sio_in);
    sio_timeout(op, cJSON_IsNumber(t) ? (int)t->valuedouble : 1000);
    bc_ask *b = malloc(sizeof(*b));
    b->caller = ack;
    b->socket = s;
    sio_socket_ref(s); /* the answer may come after s disconnected */
    sio_emit_with_ack(op, "ask", NULL, broadcast_answered, b);
}

static sio_op *room_op(sio_socket *s, const sio_args *a)
{
    const char *room = str_arg(a, 0);
    sio_namespace *nsp = sio_socket_namespace(s);
    return room ? sio_to(nsp, room) : sio_all(nsp);
}

/* An answer that may come after its socket disconnected. */
typedef struct later {
    sio_ack *caller;
    sio_socket *socket;
} later;

static later *later_new(sio_socket *s, sio_ack *ack)
{
    later *l = malloc(sizeof(*l));
    sio_ack_keep(ack); /* answered from a callback; on SIO_ELIMIT s is disconnected */
    l->caller = ack;
    l->socket = s;
    sio_socket_ref(s);
    return l;
}

/* Answers the caller with value (taken) unless its socket went away. */
static void later_send(later *l, cJSON *value)
{
    if (sio_socket_connected(l->socket))
        ack_json(l->caller, value);
    else
        cJSON_Delete(value);
    sio_socket_unref(l->socket);
    free(l);
}

static void fetched_ids(int err, const sio_remote_socket *list, size_t n, void *ud)
{
    cJSON *ids = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(ids, cJSON_CreateString(list[i].id));
    later_send(ud, ids);
}

/* fetchSockets over the cluster: the ids. */
static void on_fetch_sockets(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    if (ack)
        sio_fetch_sockets_async(room_op(s, a), fetched_ids, later_new(s, ack));
}

static void fetched_details(int err, const sio_remote_socket *list, size_t n, void *ud)
{
    cJSON *out = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", list[i].id);
        cJSON_AddItemToObject(o, "rooms", cJSON_Duplicate(list[i].rooms, 1));
        cJSON_AddItemToObject(o, "data",
                              list[i].data ? cJSON_Duplicate(list[i].data, 1) : cJSON_CreateNull());
        cJSON_AddItemToObject(o, "handshake", cJSON_Duplicate(list[i].handshake, 1));
        cJSON_AddBoolToObject(o, "local", list[i].local != NULL);
        cJSON_AddItemToArray(out, o);
    }
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddItemToObject(reply, "err",
                          err ? cJSON_CreateString(sio_strerror(err)) : cJSON_CreateNull());
    cJSON_AddItemToObject(reply, "sockets", out);
    later_send(ud, reply);
}

/* fetchSockets with every detail: [{id, rooms, data, handshake, local}]. */
static void on_fetch_details(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    if (ack)
        sio_fetch_sockets_async(room_op(s, a), fetched_details, later_new(s, ack));
}

/* socket.data = arg */
static void on_set_data(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    const cJSON *v = sio_args_get(a, 0);
    sio_socket_set_data_json(s, v ? cJSON_Duplicate(v, 1) : NULL);
    ack_json(ack, cJSON_CreateTrue());
}

static void counted(size_t n, void *ud)
{
    later_send(ud, cJSON_CreateNumber((double)n));
}

static void on_server_count(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    if (ack)
        sio_server_count(sio_socket_namespace(s), counted, later_new(s, ack));
}

static void got_rooms(int err, const char *const *rooms, size_t n, void *ud)
{
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(list, cJSON_CreateString(rooms[i]));
    later_send(ud, list);
}

static void on_all_rooms(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    if (ack)
        sio_all_rooms(sio_socket_namespace(s), got_rooms, later_new(s, ack));
}

/* serverSideEmit(event, ...args) */
static void on_sse(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    const char *event = str_arg(a, 0);
    int r = event ? sio_server_side_emit(sio_socket_namespace(s), event, rest(a, 1)) : SIO_EINVAL;
    ack_json(ack, cJSON_CreateBool(r == SIO_OK));
}

static void sse_answered(int err, const sio_args *const *responses, size_t n, void *ud)
{
    later *l = ud;
    sio_args *answer = sio_args_new();
    cJSON *reply = cJSON_CreateArray();
    cJSON_AddItemToArray(reply, err ? cJSON_CreateString("timeout") : cJSON_CreateNull());
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(
            list, sio_args_copy_value(answer, responses[i], sio_args_get(responses[i], 0)));
    cJSON_AddItemToArray(reply, list);
    sio_args_add(answer, reply);
    if (sio_socket_connected(l->socket) && l->caller)
        sio_ack_send(l->caller, answer);
    else
        sio_args_free(answer);
    sio_socket_unref(l->socket);
    free(l);
}

/* serverSideEmitWithAck(event, ...args) with a timeout: [err, responses] */
static void on_sse_ack(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    const cJSON *t = sio_args_get(a, 0);
    const char *event = str_arg(a, 1);
    if (!ack || !event)
        return;
    sio_server_side_emit_with_ack(sio_socket_namespace(s), event, rest(a, 2),
                                  cJSON_IsNumber(t) ? (int)t->valuedouble : 1000, sse_answered,
                                  later_new(s, ack));
}

static cJSON *server_events; /* [[event, ...args], ...] received by this node */
static const char *node_name = "c";

/* Server-side events from other nodes: kept; "sse-ask" is answered with
 * {node, args}. */
static void on_server_event(sio_namespace *nsp, const sio_args *a, sio_server_ack *ack, void *ud)
{
    const char *event = ud;
    cJSON *entry = cJSON_Duplicate(sio_args_json(a), 1);
    cJSON_InsertItemInArray(entry, 0, cJSON_CreateString(event));
    cJSON_AddItemToArray(server_events, entry);
    if (ack) {
        sio_args *answer = sio_args_new();
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "node", node_name);
        cJSON_AddItemToObject(o, "args", sio_args_copy_value(answer, a, sio_args_json(a)));
        sio_server_ack_send(ack, sio_args_add(answer, o));
    }
}

static void on_server_events(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    ack_json(ack, cJSON_Duplicate(server_events, 1));
}

/* {recovered, pid, id, rooms, data}: what connection state recovery gave back */
static void on_recovery(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "recovered", sio_socket_recovered(s));
    cJSON_AddItemToObject(
        o, "pid", sio_socket_pid(s) ? cJSON_CreateString(sio_socket_pid(s)) : cJSON_CreateNull());
    cJSON_AddStringToObject(o, "id", sio_socket_id(s));
    cJSON_AddItemToObject(o, "rooms", rooms_of(s));
    const cJSON *d = sio_socket_data_json(s);
    cJSON_AddItemToObject(o, "data", d ? cJSON_Duplicate(d, 1) : cJSON_CreateNull());
    ack_json(ack, o);
}

static void on_node(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    ack_json(ack, cJSON_CreateString(node_name));
}

static void on_sockets_join(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    sio_sockets_join(room_op(s, a), str_arg(a, 1));
    ack_json(ack, cJSON_CreateTrue());
}

static void on_sockets_leave(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    sio_sockets_leave(room_op(s, a), str_arg(a, 1));
    ack_json(ack, cJSON_CreateTrue());
}

static void on_disconnect_sockets(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    ack_json(ack, cJSON_CreateTrue());
    sio_disconnect_sockets(room_op(s, a), cJSON_IsTrue(sio_args_get(a, 1)));
}

static void on_disconnect_me(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    if (ack)
        sio_ack_send(ack, NULL);
    sio_socket_disconnect(s, cJSON_IsTrue(sio_args_get(a, 0)));
}

static void on_handshake(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    const sio_handshake *hs = sio_socket_handshake(s);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "query", cJSON_Duplicate(hs->query, 1));
    cJSON_AddItemToObject(o, "auth", cJSON_Duplicate(hs->auth, 1));
    cJSON_AddStringToObject(o, "address", hs->address);
    cJSON_AddBoolToObject(o, "secure", hs->secure);
    cJSON_AddBoolToObject(o, "xdomain", hs->xdomain);
    cJSON_AddNumberToObject(o, "issued", (double)hs->issued);
    cJSON_AddStringToObject(o, "url", hs->url);
    cJSON_AddStringToObject(o, "time", hs->time);
    cJSON *headers = cJSON_AddObjectToObject(o, "headers");
    const char *host = eio_request_header(hs->request, "Host");
    const char *origin = eio_request_header(hs->request, "Origin");
    if (host)
        cJSON_AddStringToObject(headers, "host", host);
    if (origin)
        cJSON_AddStringToObject(headers, "origin", origin);
    ack_json(ack, o);
}

static void on_count(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    counters *c = sio_socket_get_data(s);
    ack_json(ack, cJSON_CreateNumber(ud ? c->outgoing : c->incoming));
}

static void on_reasons(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    ack_json(ack, cJSON_Duplicate(reasons, 1));
}

static void on_bin(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    if (!ack)
        return;
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    static const uint8_t small[] = {1, 2, 3};
    sio_args *reply = sio_args_new();
    sio_args_add_binary(reply, all, sizeof(all));
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddItemToObject(obj, "nested", sio_args_binary_value(reply, small, sizeof(small)));
    sio_args_add(reply, obj);
    sio_ack_send(ack, reply);
}

static void on_bin_emit(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    static const uint8_t four[] = {1, 2, 3, 4}, five[] = {5};
    sio_args *out = sio_args_new();
    sio_args_add_binary(out, four, sizeof(four));
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddItemToObject(obj, "a", sio_args_binary_value(out, five, sizeof(five)));
    sio_args_add(out, obj);
    sio_socket_emit(s, "bin-back", out);
    if (ack)
        sio_ack_send(ack, NULL);
}

static void on_echo(sio_socket *s, const sio_args *a, sio_ack *ack, void *ud)
{
    if (ack)
        sio_ack_send(ack, sio_args_copy(a));
}

static void refuse_forbidden(sio_socket *s, const char *event, const sio_args *a, sio_next *next,
                             void *ud)
{
    if (strcmp(event, "forbidden") == 0)
        sio_next_error(next, "forbidden event", NULL);
    else
        sio_next_ok(next);
}

static void on_use_error(sio_socket *s, const char *message, const cJSON *data, void *ud)
{
    sio_socket_emit(s, "use-error", sio_args_add_string(sio_args_new(), message));
}

static void count_in(sio_socket *s, const char *event, const sio_args *a, void *ud)
{
    ((counters *)sio_socket_get_data(s))->incoming++;
}

static void count_out(sio_socket *s, const char *event, const sio_args *a, void *ud)
{
    ((counters *)sio_socket_get_data(s))->outgoing++;
    /* A broadcast from inside a broadcast: a socket in room "nester" sends
     * "inner" to the whole namespace when "outer" goes out to it. */
    if (strcmp(event, "outer") == 0 && sio_socket_in_room(s, "nester"))
        sio_emit(sio_all(sio_socket_namespace(s)), "inner",
                 sio_args_add_string(sio_args_new(), sio_socket_id(s)));
}

static void on_disconnecting(sio_socket *s, const char *reason, void *ud)
{
    counters *c = sio_socket_get_data(s);
    c->rooms_when_disconnecting = rooms_of(s);
    c->disconnecting_reason = strdup(reason);
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    counters *c = sio_socket_get_data(s);
    cJSON *entry = cJSON_CreateArray();
    cJSON_AddItemToArray(entry, cJSON_CreateString(sio_socket_id(s)));
    cJSON_AddItemToArray(
        entry, cJSON_CreateString(c->disconnecting_reason ? c->disconnecting_reason : ""));
    cJSON_AddItemToArray(entry, cJSON_CreateString(reason));
    cJSON_AddItemToArray(entry, c->rooms_when_disconnecting ? c->rooms_when_disconnecting
                                                            : cJSON_CreateArray());
    cJSON_AddItemToArray(reasons, entry);
    free(c->disconnecting_reason);
    free(c);
    sio_socket_set_data(s, NULL);
}

static void on_connection(sio_socket *s, void *ud)
{
    sio_socket_set_data(s, calloc(1, sizeof(counters)));
    sio_socket_on_any(s, count_in, NULL);
    sio_socket_on_any_outgoing(s, count_out, NULL);
    sio_socket_use(s, refuse_forbidden, NULL);
    sio_socket_on_error(s, on_use_error, NULL);
    sio_socket_on_disconnecting(s, on_disconnecting, NULL);
    sio_socket_on_disconnect(s, on_disconnect, NULL);
    sio_socket_on(s, "join", on_join, NULL);
    sio_socket_on(s, "leave", on_leave, NULL);
    sio_socket_on(s, "rooms", on_rooms, NULL);
    sio_socket_on(s, "emit-to", on_emit_to, NULL);
    sio_socket_on(s, "server-ask", on_server_ask, NULL);
    sio_socket_on(s, "broadcast-ask", on_broadcast_ask, NULL);
    sio_socket_on(s, "fetch-sockets", on_fetch_sockets, NULL);
    sio_socket_on(s, "fetch-details", on_fetch_details, NULL);
    sio_socket_on(s, "set-data", on_set_data, NULL);
    sio_socket_on(s, "server-count", on_server_count, NULL);
    sio_socket_on(s, "all-rooms", on_all_rooms, NULL);
    sio_socket_on(s, "sse", on_sse, NULL);
    sio_socket_on(s, "sse-ack", on_sse_ack, NULL);
    sio_socket_on(s, "server-events", on_server_events, NULL);
    sio_socket_on(s, "node", on_node, NULL);
    sio_socket_on(s, "recovery", on_recovery, NULL);
    sio_socket_on(s, "sockets-join", on_sockets_join, NULL);
    sio_socket_on(s, "sockets-leave", on_sockets_leave, NULL);
    sio_socket_on(s, "disconnect-sockets", on_disconnect_sockets, NULL);
    sio_socket_on(s, "disconnect-me", on_disconnect_me, NULL);
    sio_socket_on(s, "handshake", on_handshake, NULL);
    sio_socket_on(s, "any-count", on_count, NULL);
    sio_socket_on(s, "outgoing-count", on_count, (void *)1);
    sio_socket_on(s, "reasons", on_reasons, NULL);
    sio_socket_on(s, "bin", on_bin, NULL);
    sio_socket_on(s, "bin-emit", on_bin_emit, NULL);
    sio_socket_on(s, "echo", on_echo, NULL);
}

static void require_secret(sio_socket *s, sio_next *next, void *ud)
{
    const cJSON *token = cJSON_GetObjectItemCaseSensitive(sio_socket_handshake(s)->auth, "token");
    if (cJSON_IsString(token) && strcmp(token->valuestring, "secret") == 0) {
        sio_next_ok(next);
        return;
    }
    cJSON *data = cJSON_CreateObject();
    cJSON_AddNumberToObject(data, "code", 42);
    sio_next_error(next, "unauthorized", data);
}

int main(int argc, char **argv)
{
    srv_block_signals();
    example_opts o;
    int r = example_parse(argc, argv, "sio-test", &o);
    if (r)
        return r == 1 ? 0 : r;
    reasons = cJSON_CreateArray();
    server_events = cJSON_CreateArray();
    const char *name = getenv("NODE_NAME");
    if (name && *name)
        node_name = name;
    sio_server *io = sio_server_new(&o.sio);
    eio_server_lock(sio_server_engine(io));
    static const char *const sse_names[] = {"sse-hello", "sse-ask"};
    for (size_t i = 0; i < 2; i++) {
        sio_on_server_event(sio_of(io, "/"), sse_names[i], on_server_event, (void *)sse_names[i]);
        sio_on_server_event(sio_of(io, "/custom"), sse_names[i], on_server_event,
                            (void *)sse_names[i]);
    }
    sio_on_connection(sio_of(io, "/"), on_connection, NULL);
    sio_on_connection(sio_of(io, "/custom"), on_connection, NULL);
    sio_namespace *mw = sio_of(io, "/mw");
    sio_use(mw, require_secret, NULL);
    sio_on_connection(mw, on_connection, NULL);
    sio_on_connection(sio_of_regex(io, "^/dyn-[0-9]+$"), on_connection, NULL);
    eio_server_unlock(sio_server_engine(io));
    int status = example_run("sio-test", &o, io);
    cJSON_Delete(reasons);
    cJSON_Delete(server_events);
    return status;
}
