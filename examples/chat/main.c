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
 * Threading: handlers run with the engine lock held, one at a time, so the
 * user list needs no lock (as in Node).
 * Ownership: the user list owns its entries; they are freed on leave.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "examples/common.h"

/* The users, in join order (the original's users.js array). */
typedef struct user {
    char *id, *name, *room;
    struct user *next;
} user;

static user *users;

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

static user *find_user(const char *id)
{
    for (user *u = users; u; u = u->next)
        if (strcmp(u->id, id) == 0)
            return u;
    return NULL;
}

static cJSON *room_users(const char *room)
{
    cJSON *list = cJSON_CreateArray();
    for (user *u = users; u; u = u->next) {
        if (strcmp(u->room, room) != 0)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", u->id);
        cJSON_AddStringToObject(o, "name", u->name);
        cJSON_AddStringToObject(o, "room", u->room);
        cJSON_AddItemToArray(list, o);
    }
    return list;
}

static sio_args *message(const char *from, const char *text)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "user", from);
    cJSON_AddStringToObject(o, "text", text);
    return sio_args_add(sio_args_new(), o);
}

static sio_args *room_data(const char *room)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "room", room);
    cJSON_AddItemToObject(o, "users", room_users(room));
    return sio_args_add(sio_args_new(), o);
}

static void ack_error(sio_ack *ack, const char *error)
{
    if (ack)
        sio_ack_send(ack, sio_args_add_string(sio_args_new(), error));
}

static void on_join(sio_socket *s, const sio_args *args, sio_ack *ack, void *ud)
{
    const cJSON *o = sio_args_get(args, 0);
    const cJSON *jn = cJSON_GetObjectItemCaseSensitive(o, "name");
    const cJSON *jr = cJSON_GetObjectItemCaseSensitive(o, "room");
    char *name = trim_lower(cJSON_IsString(jn) ? jn->valuestring : "");
    char *room = trim_lower(cJSON_IsString(jr) ? jr->valuestring : "");
    int taken = 0;
    for (user *u = users; u; u = u->next)
        taken |= strcmp(u->room, room) == 0 && strcmp(u->name, name) == 0;
    if (!*name || !*room || taken) {
        ack_error(ack, !*name || !*room ? "Username and room are required." : "Username is taken.");
        free(name);
        free(room);
        return;
    }
    user *u = calloc(1, sizeof(*u));
    u->id = strdup(sio_socket_id(s));
    u->name = name;
    u->room = room;
    user **tail = &users;
    while (*tail)
        tail = &(*tail)->next;
    *tail = u;

    char text[1024];
    sio_socket_join(s, room);
    snprintf(text, sizeof(text), "%s, welcome to room %s.", name, room);
    sio_socket_emit(s, "message", message("admin", text));
    snprintf(text, sizeof(text), "%s has joined!", name);
    sio_emit(sio_socket_to(s, room), "message", message("admin", text));
    sio_emit(sio_to(sio_socket_namespace(s), room), "roomData", room_data(room));
    if (ack)
        sio_ack_send(ack, NULL);
}

static void on_send_message(sio_socket *s, const sio_args *args, sio_ack *ack, void *ud)
{
    user *u = find_user(sio_socket_id(s));
    if (u) {
        /* The original sends whatever it was given as the text. */
        const cJSON *text = sio_args_get(args, 0);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "user", u->name);
        cJSON_AddItemToObject(o, "text", text ? cJSON_Duplicate(text, 1) : cJSON_CreateNull());
        sio_emit(sio_to(sio_socket_namespace(s), u->room), "message",
                 sio_args_add(sio_args_new(), o));
    }
    if (ack)
        sio_ack_send(ack, NULL);
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    user **pp = &users;
    while (*pp && strcmp((*pp)->id, sio_socket_id(s)) != 0)
        pp = &(*pp)->next;
    user *u = *pp;
    if (!u)
        return;
    *pp = u->next;
    char text[1024];
    snprintf(text, sizeof(text), "%s has left.", u->name);
    sio_namespace *nsp = sio_socket_namespace(s);
    sio_emit(sio_to(nsp, u->room), "message", message("Admin", text));
    sio_emit(sio_to(nsp, u->room), "roomData", room_data(u->room));
    free(u->id);
    free(u->name);
    free(u->room);
    free(u);
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

    srv_server *http = srv_new(&o.srv, sio_server_engine(io));
    if (!http) {
        sio_server_free(io);
        return 1;
    }
    srv_add_route(http, "/health", "application/json; charset=utf-8",
                  "{\"response\":\"Server is up and running.\"}");
    if (srv_start(http) != 0) {
        srv_free(http);
        sio_server_free(io);
        return 1;
    }
    printf("chat listening on %s://localhost:%d/ (Socket.IO at %s)\n",
           srv_is_tls(http) ? "https" : "http", srv_port(http), o.srv.path);
    fflush(stdout);
    srv_wait_for_signal();
    srv_stop(http);
    srv_free(http);
    sio_server_free(io);
    while (users) {
        user *u = users;
        users = u->next;
        free(u->id);
        free(u->name);
        free(u->room);
        free(u);
    }
    return 0;
}
