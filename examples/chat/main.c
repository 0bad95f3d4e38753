/*
 * chat: the chat server the project was started for. It behaves as the
 * original Node socket.io server of the React chat, message for message:
 *
 *   join {name, room} + ack   name and room trimmed and lower-cased; errors
 *                             "Username and room are required." and
 *                             "Username is taken."; else join the room, welcome
 *                             the user, tell the room, send roomData, ack()
 *   sendMessage text + ack    message {user, text} to the sender's room, ack()
 *   disconnect                "<name> has left." and roomData to the room
 *
 * Port from PORT (default 5000) or --port. Any origin is accepted by default
 * (reflected, with credentials, as the original did for socket.io-client 2.x
 * polling); --cors-origin restricts it. GET /health answers
 * {"response":"Server is up and running."}. The built web client (web/dist)
 * is served at "/", with index.html for the client's own routes.
 *
 * With --adapter redis://HOST:PORT it is one node of a cluster (Node chat
 * nodes on @socket.io/redis-adapter too): who is in a room comes from every
 * node (fetchSockets with socket.data), and every message reaches everyone.
 *
 * Threading: handlers run with the engine lock held, one at a time, so
 * nothing here needs a lock (as in Node).
 * Ownership: each user is its socket's data (freed with the socket); a
 * pending join holds its socket until the room's users are known.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "examples/common.h"

/* The users: the original kept them in one process's array (users.js). Here
 * each user is its socket's data, {name, room, joined}, so that with a
 * cluster adapter (--adapter redis://...) every node sees every user through
 * fetchSockets, in join order. */
/* When a user joined, in microseconds since the epoch (orders the users). */
static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1e6 + (double)(ts.tv_nsec / 1000);
}

static char *trim_lower(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    char *out = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[n] = 0;
    return out;
}

static const char *data_str(const cJSON *data, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double data_num(const cJSON *data, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static sio_args *message(const char *from, const char *text)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "user", from);
    cJSON_AddStringToObject(o, "text", text);
    return sio_args_add(sio_args_new(), o);
}

static int by_join(const void *x, const void *y)
{
    const sio_remote_socket *a = x, *b = y;
    double ja = data_num(a->data, "joined"), jb = data_num(b->data, "joined");
    return ja < jb ? -1 : ja > jb ? 1 : strcmp(a->id, b->id);
}

/* roomData {room, users: [{id, name, room}]} from the room's sockets. */
static sio_args *room_data(const char *room, const sio_remote_socket *list, size_t n)
{
    sio_remote_socket *sorted = malloc((n ? n : 1) * sizeof(*sorted));
    memcpy(sorted, list, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), by_join);
    cJSON *users = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        const char *name = data_str(sorted[i].data, "name");
        const char *r = data_str(sorted[i].data, "room");
        if (!name || !r || strcmp(r, room) != 0)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", sorted[i].id);
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "room", r);
        cJSON_AddItemToArray(users, o);
    }
    free(sorted);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "room", room);
    cJSON_AddItemToObject(o, "users", users);
    return sio_args_add(sio_args_new(), o);
}

static void ack_error(sio_ack *ack, const char *error)
{
    if (ack)
        sio_ack_send(ack, sio_args_add_string(sio_args_new(), error));
}

/* A join waiting for the room's users (from every node). */
typedef struct pending_join {
    sio_socket *socket;
    sio_ack *ack;
    char *name, *room;
} pending_join;

static void joined(int err, const sio_remote_socket *list, size_t n, void *ud)
{
    pending_join *j = ud;
    sio_socket *s = j->socket;
    if (!sio_socket_connected(s))
        goto out; /* gone meanwhile (its ack with it) */
    int taken = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = data_str(list[i].data, "name");
        const char *room = data_str(list[i].data, "room");
        taken |= name && room && strcmp(room, j->room) == 0 && strcmp(name, j->name) == 0;
    }
    if (taken) {
        ack_error(j->ack, "Username is taken.");
        goto out;
    }
    cJSON *data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "name", j->name);
    cJSON_AddStringToObject(data, "room", j->room);
    cJSON_AddNumberToObject(data, "joined", now_us());
    sio_socket_set_data_json(s, data);

    char text[1024];
    sio_socket_join(s, j->room);
    snprintf(text, sizeof(text), "%s, welcome to room %s.", j->name, j->room);
    sio_socket_emit(s, "message", message("admin", text));
    snprintf(text, sizeof(text), "%s has joined!", j->name);
    sio_emit(sio_socket_to(s, j->room), "message", message("admin", text));
    /* The room's users: those fetched, and this one. */
    sio_remote_socket *all = malloc((n + 1) * sizeof(*all));
    memcpy(all, list, n * sizeof(*all));
    all[n] = (sio_remote_socket){sio_socket_id(s), NULL, NULL, sio_socket_data_json(s), s};
    sio_emit(sio_to(sio_socket_namespace(s), j->room), "roomData", room_data(j->room, all, n + 1));
    free(all);
    if (j->ack)
        sio_ack_send(j->ack, NULL);
out:
    sio_socket_unref(s);
    free(j->name);
    free(j->room);
    free(j);
}

static void on_join(sio_socket *s, const sio_args *args, sio_ack *ack, void *ud)
{
    const cJSON *o = sio_args_get(args, 0);
    const cJSON *jn = cJSON_GetObjectItemCaseSensitive(o, "name");
    const cJSON *jr = cJSON_GetObjectItemCaseSensitive(o, "room");
    char *name = trim_lower(cJSON_IsString(jn) ? jn->valuestring : "");
    char *room = trim_lower(cJSON_IsString(jr) ? jr->valuestring : "");
    if (!*name || !*room) {
        ack_error(ack, "Username and room are required.");
        free(name);
        free(room);
        return;
    }
    if (ack && sio_ack_keep(ack) != SIO_OK) {
        free(name); /* too many joins waiting: s was disconnected */
        free(room);
        return;
    }
    pending_join *j = calloc(1, sizeof(*j));
    j->socket = s;
    j->ack = ack;
    j->name = name;
    j->room = room;
    sio_socket_ref(s);
    sio_fetch_sockets_async(sio_to(sio_socket_namespace(s), room), joined, j);
}

static void on_send_message(sio_socket *s, const sio_args *args, sio_ack *ack, void *ud)
{
    const cJSON *data = sio_socket_data_json(s);
    const char *name = data_str(data, "name"), *room = data_str(data, "room");
    if (name && room) {
        /* The original sends whatever it was given as the text. */
        const cJSON *text = sio_args_get(args, 0);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "user", name);
        cJSON_AddItemToObject(o, "text", text ? cJSON_Duplicate(text, 1) : cJSON_CreateNull());
        sio_emit(sio_to(sio_socket_namespace(s), room), "message", sio_args_add(sio_args_new(), o));
    }
    if (ack)
        sio_ack_send(ack, NULL);
}

typedef struct left {
    sio_namespace *nsp;
    char *room;
} left;

static void room_after_leave(int err, const sio_remote_socket *list, size_t n, void *ud)
{
    left *l = ud;
    sio_emit(sio_to(l->nsp, l->room), "roomData", room_data(l->room, list, n));
    free(l->room);
    free(l);
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    const cJSON *data = sio_socket_data_json(s);
    const char *name = data_str(data, "name"), *room = data_str(data, "room");
    if (!name || !room)
        return;
    char text[1024];
    snprintf(text, sizeof(text), "%s has left.", name);
    sio_namespace *nsp = sio_socket_namespace(s);
    sio_emit(sio_to(nsp, room), "message", message("Admin", text));
    left *l = malloc(sizeof(*l));
    l->nsp = nsp;
    l->room = strdup(room);
    sio_fetch_sockets_async(sio_to(nsp, room), room_after_leave, l);
}

static void on_connection(sio_socket *s, void *ud)
{
    sio_socket_on(s, "join", on_join, NULL);
    sio_socket_on(s, "sendMessage", on_send_message, NULL);
    sio_socket_on_disconnect(s, on_disconnect, NULL);
}

/* web/dist from the working directory, else next to the binary (build/..). */
static const char *find_web_root(const char *argv0, char buf[PATH_MAX], size_t len)
{
    struct stat st;
    if (stat("web/dist/index.html", &st) == 0 && realpath("web/dist", buf))
        return buf;
    char exe[PATH_MAX - 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    (void)argv0;
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(buf, len, "%s/../web/dist", exe);
            char real[PATH_MAX];
            if (realpath(buf, real) && stat(real, &st) == 0) {
                snprintf(buf, len, "%s", real);
                return buf;
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    srv_block_signals();
    example_opts o;
    const char *port = getenv("PORT");
    int r = example_parse(argc, argv, "chat", &o);
    if (r)
        return r == 1 ? 0 : r;
    int port_flag = 0;
    for (int i = 1; i < argc; i++)
        port_flag |= strncmp(argv[i], "--port", 6) == 0;
    o.srv.port = port_flag ? o.srv.port : port && *port ? atoi(port) : 5000;
    if (!o.srv.cors_origin) {
        o.srv.cors_origin = "reflect";
        o.srv.cors_credentials = 1;
    }
    static char web[PATH_MAX];
    const char *env_root = getenv("CHAT_WEB_ROOT");
    o.srv.document_root =
        env_root && *env_root ? env_root : find_web_root(argv[0], web, sizeof(web));
    o.srv.spa_fallback = 1;
    if (!o.srv.document_root)
        srv_log(SRV_LOG_WARN,
                "web/dist not found: build the web client with `make` (serving the API only)");

    sio_server *io = sio_server_new(&o.sio);
    eio_server_lock(sio_server_engine(io));
    sio_on_connection(sio_of(io, "/"), on_connection, NULL);
    eio_server_unlock(sio_server_engine(io));

    example_metrics_source(&o.srv, io);
    srv_server *http = srv_new(&o.srv, sio_server_engine(io));
    if (!http) {
        sio_server_free(io);
        clu_free(o.cluster);
        return 1;
    }
    srv_add_route(http, "/health", "application/json; charset=utf-8",
                  "{\"response\":\"Server is up and running.\"}");
    if (srv_start(http) != 0) {
        srv_free(http);
        sio_server_free(io);
        clu_free(o.cluster);
        return 1;
    }
    printf("chat listening on %s://localhost:%d/ (Socket.IO at %s)\n",
           srv_is_tls(http) ? "https" : "http", srv_port(http), o.srv.path);
    fflush(stdout);
    srv_wait_for_signal();
    srv_stop(http);
    srv_free(http);
    sio_server_free(io);
    clu_free(o.cluster);
    return 0;
}
