/*
 * srv_server: civetweb set up for many clients, in front of an engine.
 *
 *  - Long-polling requests are served on civetweb's worker threads through
 *    eio_server_handle_http. A waiting GET holds its worker, so workers are
 *    counted: when nearly all hold a GET, a new GET gets 503 and a log line
 *    instead of civetweb's silent hang.
 *  - A WebSocket upgrade is answered here (101) in civetweb's connect handler;
 *    then the socket is taken from civetweb: duplicated for the engine, and
 *    civetweb's descriptor number is pointed at a fresh unconnected socket
 *    (dup2), so civetweb's own shutdown/close hit that one and its worker is
 *    free at once. The engine's loop thread owns the connection from there.
 *    (civetweb 1.15 cannot close a WebSocket from outside its read loop and
 *    blocks writers on full sockets: see ../shared/CIVETWEB.md.)
 *
 * Threading: srv_* functions from the main thread; the handlers below run on
 * civetweb workers. parked_gets is atomic.
 * Ownership: the server owns its civetweb context and option strings, not the engine.
 */
#include <arpa/inet.h>
#include <civetweb.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "engineio/eio_ws.h"
#include "server/srv.h"

typedef struct srv_route {
    char *path, *content_type, *body;
    struct srv_route *next;
} srv_route;

struct srv_server {
    srv_options opts;
    srv_route *routes;
    char *path;  /* engine path with a trailing '/' */
    char *route; /* the same without it, as civetweb matches prefixes */
    char *cors_origin;
    char *document_root;
    char *host;
    eio_server *engine;
    struct mg_context *ctx;
    int port;
    int http_threads;
    int parked_gets;  /* atomic: GETs waiting in the engine */
    uint8_t *own_fds; /* atomic bytes: our own non-client descriptors (eventfds) */
    int max_fd;       /* the open-files limit, read at start */
    int dummy_fd;     /* an unconnected socket that civetweb's numbers are pointed at */
    size_t own_fds_len;
};

void srv_options_default(srv_options *o)
{
    memset(o, 0, sizeof(*o));
    o->port = 3000;
    o->path = "/engine.io/";
    o->max_clients = 10000;
    o->log_level = SRV_LOG_INFO;
}

/* ---------------------------------------------------------------- signals */

void srv_block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int srv_wait_for_signal(void)
{
    sigset_t set;
    int sig = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    while (sigwait(&set, &sig) != 0)
        ;
    return sig;
}

/* ---------------------------------------------------------------- requests */

static int64_t now_wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

typedef struct request_view {
    eio_request req;
    eio_header headers[64];
    const char *path;
} request_view;

static int read_body_cb(void *ctx, void *buf, size_t len)
{
    return mg_read((struct mg_connection *)ctx, buf, len);
}

static void view_request(struct mg_connection *conn, request_view *v)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    memset(v, 0, sizeof(*v));
    v->req.method = ri->request_method;
    v->req.path = ri->local_uri_raw ? ri->local_uri_raw : ri->local_uri;
    v->req.query = ri->query_string ? ri->query_string : "";
    int n = ri->num_headers < 64 ? ri->num_headers : 64;
    for (int i = 0; i < n; i++) {
        v->headers[i].name = ri->http_headers[i].name;
        v->headers[i].value = ri->http_headers[i].value ? ri->http_headers[i].value : "";
    }
    v->req.headers = v->headers;
    v->req.n_headers = (size_t)n;
    snprintf(v->req.remote_addr, sizeof(v->req.remote_addr), "%s", ri->remote_addr);
    v->req.remote_port = ri->remote_port;
    v->req.secure = ri->is_ssl;
    v->req.time_ms = now_wall_ms();
    v->req.content_length = ri->content_length;
    v->req.read_body = read_body_cb;
    v->req.read_ctx = conn;
    v->req.conn_fd = -1;
    v->req.wake_fd = -1;
}

/* ---------------------------------------------------------------- CORS */

/* The Access-Control-* lines for this request, as Node's cors package writes
 * them. Appends nothing when CORS is off. */
static void cors_headers(const srv_server *s, struct mg_connection *conn, int preflight, char *out,
                         size_t outlen)
{
    size_t n = 0;
    out[0] = 0;
    if (!s->cors_origin)
        return;
    const char *origin = mg_get_header(conn, "Origin");
#define ADD(...)                                                                                   \
    do {                                                                                           \
        int w_ = snprintf(out + n, outlen - n, __VA_ARGS__);                                       \
        if (w_ > 0 && (size_t)w_ < outlen - n)                                                     \
            n += (size_t)w_;                                                                       \
    } while (0)
    if (strcmp(s->cors_origin, "*") == 0) {
        ADD("Access-Control-Allow-Origin: *\r\n");
    } else if (origin && strcmp(s->cors_origin, "reflect") == 0) {
        ADD("Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n", origin);
    } else {
        int allowed = 0;
        if (origin) {
            size_t ol = strlen(origin);
            for (const char *p = s->cors_origin; *p;) {
                const char *comma = strchr(p, ',');
                size_t l = comma ? (size_t)(comma - p) : strlen(p);
                while (l && *p == ' ')
                    p++, l--;
                while (l && p[l - 1] == ' ')
                    l--;
                if (l == ol && memcmp(p, origin, l) == 0)
                    allowed = 1;
                p = comma ? comma + 1 : p + strlen(p);
            }
        }
        if (allowed)
            ADD("Access-Control-Allow-Origin: %s\r\n", origin);
        ADD("Vary: Origin\r\n");
    }
    if (s->opts.cors_credentials)
        ADD("Access-Control-Allow-Credentials: true\r\n");
    if (preflight) {
        ADD("Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE\r\n");
        const char *req_headers = mg_get_header(conn, "Access-Control-Request-Headers");
        if (req_headers)
            ADD("Access-Control-Allow-Headers: %s\r\nVary: Access-Control-Request-Headers\r\n",
                req_headers);
    }
#undef ADD
}

static const char *status_text(int status)
{
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

static void write_response(struct mg_connection *conn, int status, const char *content_type,
                           const char *extra, const void *body, size_t len)
{
    mg_printf(conn, "HTTP/1.1 %d %s\r\n", status, status_text(status));
    if (content_type)
        mg_printf(conn, "Content-Type: %s\r\n", content_type);
    mg_printf(conn, "Content-Length: %zu\r\n%s\r\n", len, extra ? extra : "");
    if (len)
        mg_write(conn, body, len);
}

/* ---------------------------------------------------------------- per thread, per connection */

/* Each worker thread gets an eventfd, used to wake it from a long poll,
 * created on its first long poll (a server of WebSocket clients makes none)
 * and marked as ours, so that find_socket does not probe it. */
static void *init_thread_cb(const struct mg_context *ctx, int thread_type)
{
    (void)ctx;
    if (thread_type != 1) /* 1: a worker thread */
        return NULL;
    int *fd = malloc(sizeof(*fd));
    if (fd)
        *fd = -1;
    return fd;
}

static int thread_wake_fd(srv_server *s, struct mg_connection *conn)
{
    int *fd = mg_get_thread_pointer(conn);
    if (!fd)
        return -1;
    if (*fd < 0) {
        *fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (*fd >= 0 && (size_t)*fd < s->own_fds_len)
            __atomic_store_n(&s->own_fds[*fd], 1, __ATOMIC_RELAXED);
    }
    return *fd;
}

static void exit_thread_cb(const struct mg_context *ctx, int thread_type, void *ptr)
{
    srv_server *s = mg_get_user_data(ctx);
    (void)thread_type;
    int *fd = ptr;
    if (!fd)
        return;
    if (*fd >= 0) {
        if (s && (size_t)*fd < s->own_fds_len)
            __atomic_store_n(&s->own_fds[*fd], 0, __ATOMIC_RELAXED);
        close(*fd);
    }
    free(fd);
}

/* The descriptor of a connection, found once per TCP connection (user
 * connection data) and kept until civetweb closes it. */
static int init_connection_cb(const struct mg_connection *conn, void **conn_data)
{
    (void)conn;
    *conn_data = NULL;
    return 0;
}

static void connection_close_cb(const struct mg_connection *conn)
{
    void *data = mg_get_user_connection_data(conn);
    if (data) {
        free(data);
        mg_set_user_connection_data((struct mg_connection *)conn, NULL);
    }
}

static int find_socket(const srv_server *s, const struct mg_request_info *ri);

static int connection_fd(const srv_server *s, struct mg_connection *conn)
{
    int *fd = mg_get_user_connection_data(conn);
    if (!fd) {
        fd = malloc(sizeof(*fd));
        if (!fd)
            return -1;
        *fd = find_socket(s, mg_get_request_info(conn));
        mg_set_user_connection_data(conn, fd);
    }
    return *fd;
}

/* ---------------------------------------------------------------- polling */

static int path_matches(const srv_server *s, const char *path)
{
    return path && strncmp(path, s->path, strlen(s->path)) == 0;
}

static int http_handler(struct mg_connection *conn, void *cbdata)
{
    srv_server *s = cbdata;
    request_view v;
    view_request(conn, &v);
    char cors[2048];
    if (!path_matches(s, v.req.path)) {
        write_response(conn, 404, "text/plain", NULL, "Not Found", 9);
        return 404;
    }
    if (s->cors_origin && strcmp(v.req.method, "OPTIONS") == 0) {
        cors_headers(s, conn, 1, cors, sizeof(cors));
        write_response(conn, 204, NULL, cors, NULL, 0);
        return 204;
    }
    cors_headers(s, conn, 0, cors, sizeof(cors));
    int is_get = strcmp(v.req.method, "GET") == 0;
    if (is_get) {
        int reserve = s->http_threads / 8 < 4 ? 4 : s->http_threads / 8;
        int parked = __atomic_add_fetch(&s->parked_gets, 1, __ATOMIC_RELAXED);
        if (parked > s->http_threads - reserve) {
            __atomic_sub_fetch(&s->parked_gets, 1, __ATOMIC_RELAXED);
            srv_log(SRV_LOG_WARN,
                    "refusing a long-polling GET from %s: %d of %d HTTP worker threads are "
                    "holding polls; raise --max-clients (or use WebSocket)",
                    v.req.remote_addr, parked - 1, s->http_threads);
            static const char body[] = "{\"code\":3,\"message\":\"Server busy\"}";
            write_response(conn, 503, "application/json", cors, body, sizeof(body) - 1);
            return 503;
        }
    }
    if (is_get && strstr(v.req.query, "sid=")) {
        /* A long poll: let it notice its client hanging up while it waits. */
        v.req.conn_fd = connection_fd(s, conn);
        v.req.wake_fd = thread_wake_fd(s, conn);
    }
    eio_http_response resp = {0};
    eio_server_handle_http(s->engine, &v.req, &resp);
    if (is_get)
        __atomic_sub_fetch(&s->parked_gets, 1, __ATOMIC_RELAXED);
    char extra[4096];
    snprintf(extra, sizeof(extra), "%s%.*s", cors, (int)resp.headers.len,
             resp.headers.data ? (const char *)resp.headers.data : "");
    write_response(conn, resp.status, resp.content_type, extra, resp.body.data, resp.body.len);
    int status = resp.status;
    eio_http_response_free(&resp);
    return status;
}

/* ---------------------------------------------------------------- WebSocket takeover */

/* Finds the descriptor civetweb holds for this connection: the socket whose
 * peer is the request's remote address and port and whose local port is the
 * listening port. Returns -1 if none. */
static int find_socket(const srv_server *s, const struct mg_request_info *ri)
{
    struct in_addr want;
    if (inet_pton(AF_INET, ri->remote_addr, &want) != 1)
        return -1;
    int max = s->max_fd;
    /* Two passes: the first skips the engine's own sockets (nearly all of
     * them when many clients are connected), the second does not, in case a
     * descriptor was reused while we looked. */
    for (int pass = 0; pass < 2; pass++) {
        for (int fd = 3; fd < max; fd++) {
            if (pass == 0 && (eio_server_owns_fd(s->engine, fd) ||
                              ((size_t)fd < s->own_fds_len &&
                               __atomic_load_n(&s->own_fds[fd], __ATOMIC_RELAXED))))
                continue;
            struct sockaddr_in peer, local;
            socklen_t pl = sizeof(peer), ll = sizeof(local);
            if (getpeername(fd, (struct sockaddr *)&peer, &pl) != 0)
                continue;
            if (peer.sin_family != AF_INET || peer.sin_addr.s_addr != want.s_addr ||
                ntohs(peer.sin_port) != ri->remote_port)
                continue;
            if (getsockname(fd, (struct sockaddr *)&local, &ll) != 0 ||
                ntohs(local.sin_port) != ri->server_port)
                continue;
            return fd;
        }
    }
    return -1;
}

/* Node's abortUpgrade (engine.io) and abortHandshake (ws): a status line,
 * Connection: close, a text/html body holding the message. engine.io's own
 * refusals are always "400 Bad Request". */
static void abort_upgrade(struct mg_connection *conn, int status, const char *message,
                          const char *extra)
{
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-type: text/html\r\n"
              "Content-Length: %zu\r\n%s\r\n%s",
              status, status_text(status), strlen(message), extra ? extra : "", message);
}

/* A WebSocket upgrade on the engine path: checked as engine.io's verify()
 * then ws's handleUpgrade() check it, answered 101 here, and the socket handed
 * to the engine. Always answers (returns 1). */
static int handle_upgrade(srv_server *s, struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    request_view v;
    view_request(conn, &v);
    v.req.read_body = NULL;
    if (ri->is_ssl) {
        /* The TLS session lives inside civetweb: it cannot be handed over. */
        srv_log(SRV_LOG_WARN,
                "WebSocket over TLS is not supported yet; the client stays on polling");
        abort_upgrade(conn, 400, eio_errcode_message(EIO_ERRCODE_UNKNOWN_TRANSPORT), NULL);
        return 1;
    }
    int status = 400, code = 0;
    const char *message = NULL;
    char new_sid[21];
    eio_buf extra = EIO_BUF_INIT;
    if (eio_server_prepare_upgrade(s->engine, &v.req, &code, &status, &message, new_sid, &extra) !=
        0) {
        abort_upgrade(conn, status == 503 ? 503 : 400, message, NULL);
        return 1;
    }
    const char *upgrade = mg_get_header(conn, "Upgrade");
    const char *key = mg_get_header(conn, "Sec-WebSocket-Key");
    const char *version = mg_get_header(conn, "Sec-WebSocket-Version");
    char accept[29];
    const char *refusal = NULL, *refusal_header = NULL;
    int refusal_status = 400;
    if (strcmp(ri->request_method, "GET") != 0) {
        refusal = "Invalid HTTP method";
        refusal_status = 405;
    } else if (!upgrade || strcasecmp(upgrade, "websocket") != 0) {
        refusal = "Invalid Upgrade header";
    } else if (!key || eio_ws_accept_key(key, accept) != 0) {
        refusal = "Missing or invalid Sec-WebSocket-Key header";
    } else if (!version || (strcmp(version, "13") != 0 && strcmp(version, "8") != 0)) {
        refusal = "Missing or invalid Sec-WebSocket-Version header";
        refusal_header = "Sec-WebSocket-Version: 13, 8\r\n";
    }
    int fd = refusal ? -1 : find_socket(s, ri);
    if (!refusal && fd < 0) {
        srv_log(SRV_LOG_ERROR, "WebSocket upgrade from %s:%d: socket not found", ri->remote_addr,
                ri->remote_port);
        refusal = "Internal Server Error";
        refusal_status = 500;
    }
    if (refusal) {
        eio_buf_free(&extra);
        abort_upgrade(conn, refusal_status, refusal, refusal_header);
        return 1;
    }
    mg_printf(conn,
              "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Accept: %s\r\n%.*s\r\n",
              accept, (int)extra.len, extra.data ? (const char *)extra.data : "");
    eio_buf_free(&extra);
    /* Take the socket: ours is a duplicate; civetweb's number now names a
     * fresh unconnected socket, which is all civetweb will shut down and close. */
    int mine = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (mine < 0 || dup2(s->dummy_fd, fd) < 0) {
        srv_log(SRV_LOG_ERROR, "WebSocket takeover failed: %s", strerror(errno));
        if (mine >= 0)
            close(mine);
        return 1;
    }
    eio_server_attach_websocket(s->engine, mine, &v.req, new_sid);
    return 1;
}

/* civetweb calls this before any processing of its own: upgrades on the
 * engine path are ours from the first byte (civetweb's WebSocket checks would
 * answer malformed requests with a body and no status line). */
static int begin_request_cb(struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    srv_server *s = ri->user_data;
    const char *path = ri->local_uri_raw ? ri->local_uri_raw : ri->local_uri;
    if (!path_matches(s, path))
        return 0;
    const char *connection = mg_get_header(conn, "Connection");
    if (!connection || !strcasestr(connection, "upgrade") || !mg_get_header(conn, "Upgrade"))
        return 0;
    return handle_upgrade(s, conn);
}

/* ---------------------------------------------------------------- routes, static files */

static int route_handler(struct mg_connection *conn, void *cbdata)
{
    srv_route *r = cbdata;
    write_response(conn, 200, r->content_type, NULL, r->body, strlen(r->body));
    return 200;
}

void srv_add_route(srv_server *s, const char *path, const char *content_type, const char *body)
{
    srv_route *r = calloc(1, sizeof(*r));
    r->path = strdup(path);
    r->content_type = strdup(content_type);
    r->body = strdup(body);
    r->next = s->routes;
    s->routes = r;
}

/* Static files under document_root; with spa_fallback, a path that is not a
 * file gets index.html (a single-page application's own routes). civetweb's
 * local_uri is already cleaned of "..". */
static int static_handler(struct mg_connection *conn, void *cbdata)
{
    srv_server *s = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    if (strcmp(ri->request_method, "GET") != 0 && strcmp(ri->request_method, "HEAD") != 0) {
        write_response(conn, 405, "text/plain", NULL, "Method Not Allowed", 18);
        return 405;
    }
    const char *uri = ri->local_uri ? ri->local_uri : "/";
    char path[4096];
    struct stat st;
    int n = snprintf(path, sizeof(path), "%s%s", s->document_root, uri);
    if (n > 0 && (size_t)n < sizeof(path) && strstr(uri, "..") == NULL && stat(path, &st) == 0 &&
        S_ISREG(st.st_mode)) {
        mg_send_file(conn, path);
        return 200;
    }
    if (n > 0 && (size_t)n < sizeof(path) && strstr(uri, "..") == NULL && stat(path, &st) == 0 &&
        S_ISDIR(st.st_mode)) {
        snprintf(path, sizeof(path), "%s%s%sindex.html", s->document_root, uri,
                 uri[strlen(uri) - 1] == '/' ? "" : "/");
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            mg_send_file(conn, path);
            return 200;
        }
    }
    if (s->opts.spa_fallback) {
        snprintf(path, sizeof(path), "%s/index.html", s->document_root);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            mg_send_file(conn, path);
            return 200;
        }
    }
    write_response(conn, 404, "text/plain", NULL, "Not Found", 9);
    return 404;
}

/* ---------------------------------------------------------------- life cycle */

static int log_message_cb(const struct mg_connection *conn, const char *message)
{
    (void)conn;
    srv_log(SRV_LOG_WARN, "civetweb: %s", message);
    return 1;
}

srv_server *srv_new(const srv_options *o, eio_server *engine)
{
    srv_server *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    if (o)
        s->opts = *o;
    else
        srv_options_default(&s->opts);
    const char *path = s->opts.path ? s->opts.path : "/engine.io/";
    size_t pl = strlen(path);
    if (pl == 0 || path[0] != '/') {
        srv_log(SRV_LOG_ERROR, "the path must start with '/'");
        free(s);
        return NULL;
    }
    s->path = malloc(pl + 2);
    memcpy(s->path, path, pl + 1);
    if (s->path[pl - 1] != '/') {
        s->path[pl] = '/';
        s->path[pl + 1] = 0;
    }
    s->route = strdup(s->path);
    if (strlen(s->route) > 1)
        s->route[strlen(s->route) - 1] = 0;
    s->cors_origin = s->opts.cors_origin ? strdup(s->opts.cors_origin) : NULL;
    s->document_root = s->opts.document_root ? strdup(s->opts.document_root) : NULL;
    s->host = s->opts.host ? strdup(s->opts.host) : NULL;
    s->engine = engine;
    struct rlimit rl;
    s->own_fds_len = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
        rl.rlim_max < (1u << 22))
        s->own_fds_len = (size_t)rl.rlim_max;
    s->own_fds = calloc(s->own_fds_len, 1);
    if (!s->own_fds)
        s->own_fds_len = 0;
    srv_set_log_level(s->opts.log_level);
    return s;
}

/* Raises the soft open-files limit to the hard one and says clearly what the
 * limit means for max_clients. */
static void check_fd_limit(srv_server *s)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    s->max_fd =
        rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 22) ? (1 << 22) : (int)rl.rlim_cur;
    size_t need = s->opts.max_clients + 64;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        size_t can = rl.rlim_cur > 128 ? (size_t)rl.rlim_cur - 64 : 64;
        srv_log(SRV_LOG_WARN,
                "open files limit is %llu (hard limit %llu): fewer than --max-clients %zu needs; "
                "at most about %zu clients can connect (raise it with `ulimit -n` as root)",
                (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
                s->opts.max_clients, can);
    }
}

int srv_start(srv_server *s)
{
    s->max_fd = 1024;
    check_fd_limit(s);
    s->dummy_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->dummy_fd >= 0 && (size_t)s->dummy_fd < s->own_fds_len)
        s->own_fds[s->dummy_fd] = 1;
    /* A waiting long-poll holds a worker: size the pool for every client on
     * polling, up to a bound that keeps memory sane (WebSocket clients hold no
     * worker at all). */
    int threads = s->opts.http_threads;
    if (threads <= 0) {
        size_t t = s->opts.max_clients + 16;
        threads = (int)(t > 1024 ? 1024 : t < 32 ? 32 : t);
    }
    s->http_threads = threads;
    char ports[128], nthreads[16];
    if (s->host)
        snprintf(ports, sizeof(ports), "%s:%d", s->host, s->opts.port);
    else
        snprintf(ports, sizeof(ports), "%d", s->opts.port);
    snprintf(nthreads, sizeof(nthreads), "%d", threads);
    const char *options[32];
    int n = 0;
    options[n++] = "listening_ports";
    options[n++] = ports;
    options[n++] = "num_threads";
    options[n++] = nthreads;
    options[n++] = "tcp_nodelay";
    options[n++] = "1";
    options[n++] = "listen_backlog";
    options[n++] = "4096";
    options[n++] = "connection_queue";
    options[n++] = "1024";
    options[n++] = "enable_keep_alive";
    options[n++] = "yes";
    options[n++] = "request_timeout_ms";
    options[n++] = "30000";
    /* CORS is ours (as Node's cors package): civetweb must not answer
     * preflights or add its own Access-Control-Allow-Origin. */
    options[n++] = "access_control_allow_origin";
    options[n++] = "";

    options[n] = NULL;
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof(cb));
    cb.log_message = log_message_cb;
    cb.begin_request = begin_request_cb;
    cb.init_thread = init_thread_cb;
    cb.exit_thread = exit_thread_cb;
    cb.init_connection = init_connection_cb;
    cb.connection_close = connection_close_cb;
    mg_init_library(0);
    s->ctx = mg_start(&cb, s, options);
    if (!s->ctx) {
        srv_log(SRV_LOG_ERROR, "cannot listen on %s (port in use?)", ports);
        return -1;
    }
    struct mg_server_port sp[4];
    int np = mg_get_server_ports(s->ctx, 4, sp);
    if (np <= 0) {
        srv_log(SRV_LOG_ERROR, "civetweb started without a listener on %s", ports);
        mg_stop(s->ctx);
        s->ctx = NULL;
        return -1;
    }
    s->port = sp[0].port;
    mg_set_request_handler(s->ctx, s->route, http_handler, s);
    for (srv_route *r = s->routes; r; r = r->next)
        mg_set_request_handler(s->ctx, r->path, route_handler, r);
    if (s->document_root)
        mg_set_request_handler(s->ctx, "/**", static_handler, s);
    return 0;
}

int srv_port(const srv_server *s)
{
    return s->port;
}

typedef struct stopper {
    struct mg_context *ctx;
    int done; /* atomic */
} stopper;

static void *stop_thread(void *arg)
{
    stopper *st = arg;
    mg_stop(st->ctx);
    __atomic_store_n(&st->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* civetweb's accept loop looks at its stop flag only between 2-second polls:
 * a connection to our own listener ends the poll at once. */
static void poke_listener(const srv_server *s)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    if (!s->host || inet_pton(AF_INET, s->host, &a.sin_addr) != 1 || a.sin_addr.s_addr == 0)
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(fd, (struct sockaddr *)&a, sizeof(a));
    close(fd);
}

void srv_stop(srv_server *s)
{
    if (!s->ctx)
        return;
    eio_server_shutdown(s->engine);
    /* Give close frames and last poll answers a moment to leave. */
    for (int i = 0; i < 20 && __atomic_load_n(&s->parked_gets, __ATOMIC_RELAXED) > 0; i++)
        usleep(10000);
    stopper st = {s->ctx, 0};
    pthread_t t;
    if (pthread_create(&t, NULL, stop_thread, &st) != 0) {
        mg_stop(s->ctx);
    } else {
        for (int i = 0; i < 1000 && !__atomic_load_n(&st.done, __ATOMIC_ACQUIRE); i++) {
            usleep(5000);
            poke_listener(s);
        }
        pthread_join(t, NULL);
    }
    s->ctx = NULL;
}

void srv_free(srv_server *s)
{
    if (!s)
        return;
    if (s->ctx)
        srv_stop(s);
    while (s->routes) {
        srv_route *r = s->routes;
        s->routes = r->next;
        free(r->path);
        free(r->content_type);
        free(r->body);
        free(r);
    }
    if (s->dummy_fd > 0)
        close(s->dummy_fd);
    free(s->own_fds);
    free(s->path);
    free(s->route);
    free(s->cors_origin);
    free(s->document_root);
    free(s->host);
    free(s);
}
