/*
 * srv_server: the HTTP server around an engine. The engine owns the public
 * port: its loop accepts every connection, reads and checks every request
 * head, and serves long-polling, handshakes and WebSocket upgrades itself
 * (engineio/eio_conn.c). Everything else (static files, the application's
 * fixed routes such as /health) is civetweb's: civetweb listens on a private
 * loopback port and the engine hands it complete requests, one connection
 * each, piping the answer back. So no civetweb thread is ever held by an idle
 * or slow peer (civetweb 1.15 runs a thread per connection, see
 * ../shared/CIVETWEB.md), and every handler is registered before the engine
 * accepts the first connection. Socket.IO's serveClient is civetweb's too: its
 * handlers answer the bundle's names (srv_client.c makes the answers), and
 * the engine is told to hand those names to it (eio_server_add_backend_name),
 * so which requests civetweb gets is decided here, in one place.
 *
 * Threading: srv_* functions from the main thread; civetweb's workers run the
 * route and static-file handlers (they never touch the engine, but for
 * /metrics, which takes the engine lock for its snapshot).
 * Ownership: the server owns its civetweb context, its TLS context and option
 * strings, not the engine.
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
#include "server/srv_client.h"
#include "server/srv_metrics.h"

typedef struct srv_route {
    char *path, *content_type, *body;
    struct srv_route *next;
} srv_route;

struct srv_server {
    srv_options opts;
    srv_route *routes;
    char *document_root;
    eio_server *engine;
    eio_tls_ctx *tls;
    struct mg_context *ctx;
    srv_client *client; /* serve_client: the bundle, NULL when off or missing */
    int port;           /* the public port (the engine's) */
    int backend_port;   /* civetweb's, on 127.0.0.1 */
};

void srv_options_default(srv_options *o)
{
    memset(o, 0, sizeof(*o));
    o->port = 3000;
    o->path = "/engine.io/";
    o->max_clients = 10000;
    o->serve_client = 1;
    o->log_level = SRV_LOG_INFO;
}

int srv_add_host(srv_options *o, const char *host)
{
    if (o->n_hosts >= sizeof(o->hosts) / sizeof(*o->hosts))
        return -1;
    o->hosts[o->n_hosts++] = host;
    return 0;
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

/* ---------------------------------------------------------------- civetweb answers */

static const char *status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
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

/* ---------------------------------------------------------------- metrics */

/* GET /metrics (srv_options.metrics): a snapshot taken under the engine
 * lock (the only civetweb handler that takes it: for as long as a copy of
 * the counters and a count of the sessions and rooms takes), rendered by
 * srv_metrics.c. */
static int metrics_handler(struct mg_connection *conn, void *cbdata)
{
    srv_server *s = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    int head = strcmp(ri->request_method, "HEAD") == 0;
    if (!head && strcmp(ri->request_method, "GET") != 0) {
        write_response(conn, 405, "text/plain", "Allow: GET, HEAD\r\n", "Method Not Allowed", 18);
        return 405;
    }
    srv_metrics m;
    srv_metrics_init(&m);
    eio_buf text = EIO_BUF_INIT;
    eio_server_lock(s->engine);
    eio_server_stats(s->engine, &m.engine);
    if (s->opts.metrics_source)
        s->opts.metrics_source(&m, s->opts.metrics_source_ud);
    eio_server_unlock(s->engine);
    srv_metrics_render(&m, &text);
    srv_metrics_free(&m);
    mg_printf(conn, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
              SRV_METRICS_CONTENT_TYPE, text.len);
    if (!head)
        mg_write(conn, text.data, text.len);
    eio_buf_free(&text);
    return 200;
}

/* ---------------------------------------------------------------- the client bundle */

/* Every value of the request's headers called name, joined with ", " as
 * Node joins them, into buf; NULL when there is none. */
static const char *joined_header(const struct mg_request_info *ri, const char *name, char *buf,
                                 size_t size)
{
    size_t used = 0;
    int found = 0;
    buf[0] = 0;
    for (int i = 0; i < ri->num_headers; i++) {
        if (strcasecmp(ri->http_headers[i].name, name) != 0)
            continue;
        int n =
            snprintf(buf + used, size - used, "%s%s", found ? ", " : "", ri->http_headers[i].value);
        found = 1;
        if (n < 0 || (size_t)n >= size - used)
            return buf; /* cut at size: longer than any value that could match */
        used += (size_t)n;
    }
    return found ? buf : NULL;
}

/* One bundle file, as Node's socket.io serve(): the engine hands civetweb
 * exactly <path><name> (eio_server_add_backend_name) and adds the CORS
 * lines itself. Framed as Node's http frames a piped file: chunked to
 * HTTP/1.1, unframed (then closed) to HTTP/1.0, no body for HEAD. */
static int client_handler(struct mg_connection *conn, void *cbdata)
{
    srv_server *s = mg_get_user_data(mg_get_context(conn));
    const char *name = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    if (!s->client) {
        write_response(conn, 404, "text/plain", NULL, "Not Found", 9);
        return 404;
    }
    char inm[1024], ae[4096];
    srv_client_answer a;
    srv__client_answer(s->client, name, joined_header(ri, "If-None-Match", inm, sizeof(inm)),
                       joined_header(ri, "Accept-Encoding", ae, sizeof(ae)), &a);
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    if (a.status != 200) {
        mg_printf(conn, "HTTP/1.1 %d %s\r\n%s\r\n", a.status,
                  a.status == 304 ? "Not Modified" : "Not Found", date);
        return a.status;
    }
    int head = strcmp(ri->request_method, "HEAD") == 0;
    int chunked = !head && strcmp(ri->http_version, "1.0") != 0;
    mg_printf(conn, "HTTP/1.1 200 OK\r\n%s%s%s\r\n", a.headers, date,
              chunked ? "Transfer-Encoding: chunked\r\n" : "");
    if (head)
        return 200;
    if (chunked) {
        if (a.len)
            mg_send_chunk(conn, (const char *)a.body, (unsigned)a.len);
        mg_write(conn, "0\r\n\r\n", 5);
    } else {
        mg_write(conn, a.body, a.len);
    }
    return 200;
}

/* serve_client: the bundle loaded, and each of its names given to civetweb
 * and to the engine (which would otherwise take them as its own). */
static void serve_client(srv_server *s)
{
    char dir[4096], err[4096 + 256];
    srv__client_dir(s->opts.client_dist, dir, sizeof(dir));
    s->client = srv__client_load(dir, err, sizeof(err));
    const char *path = eio_server_options(s->engine)->path;
    if (!s->client)
        srv_log(SRV_LOG_WARN,
                "serveClient: %s; %ssocket.io.js and the other bundle files answer 404 (install "
                "them with `make`, point --client-dist or SIO_CLIENT_DIST at them, or turn "
                "serveClient off with --no-serve-client)",
                err, path);
    for (size_t i = 0; i < SRV_CLIENT_FILES; i++) {
        char uri[4096];
        snprintf(uri, sizeof(uri), "%s%s", path, srv__client_names[i]);
        mg_set_request_handler(s->ctx, uri, client_handler, (void *)srv__client_names[i]);
        eio_server_add_backend_name(s->engine, srv__client_names[i]);
    }
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
    if (path[0] != '/') {
        srv_log(SRV_LOG_ERROR, "the path must start with '/'");
        free(s);
        return NULL;
    }
    s->document_root = s->opts.document_root ? strdup(s->opts.document_root) : NULL;
    s->engine = engine;
    eio_server_set_http(engine, path, s->opts.cors_origin, s->opts.cors_credentials);
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

/* civetweb on a private loopback port, for everything off the engine path. */
static int start_backend(srv_server *s)
{
    char nthreads[16];
    int threads = s->opts.http_threads > 0 ? s->opts.http_threads : 16;
    snprintf(nthreads, sizeof(nthreads), "%d", threads);
    const char *options[] = {"listening_ports", "127.0.0.1:0", "num_threads", nthreads,
                             "tcp_nodelay", "1", "enable_keep_alive", "no", "request_timeout_ms",
                             "30000",
                             /* CORS is the engine's (as Node's cors package). */
                             "access_control_allow_origin", "", NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof(cb));
    cb.log_message = log_message_cb;
    mg_init_library(0);
    s->ctx = mg_start(&cb, s, options);
    if (!s->ctx) {
        srv_log(SRV_LOG_ERROR, "cannot start the HTTP backend (civetweb) on 127.0.0.1");
        return -1;
    }
    struct mg_server_port sp[4];
    if (mg_get_server_ports(s->ctx, 4, sp) <= 0) {
        srv_log(SRV_LOG_ERROR, "civetweb started without a listener");
        mg_stop(s->ctx);
        s->ctx = NULL;
        return -1;
    }
    s->backend_port = sp[0].port;
    for (srv_route *r = s->routes; r; r = r->next)
        mg_set_request_handler(s->ctx, r->path, route_handler, r);
    if (s->opts.metrics)
        mg_set_request_handler(s->ctx, "/metrics", metrics_handler, s);
    if (s->document_root)
        mg_set_request_handler(s->ctx, "/**", static_handler, s);
    if (s->opts.serve_client)
        serve_client(s);
    return 0;
}

int srv_start(srv_server *s)
{
    check_fd_limit(s);
    if (s->opts.tls_cert || s->opts.tls_key) {
        char err[512];
        if (!s->opts.tls_cert || !s->opts.tls_key) {
            srv_log(SRV_LOG_ERROR, "TLS needs both --tls-cert and --tls-key");
            return -1;
        }
        s->tls = eio_tls_ctx_new(s->opts.tls_cert, s->opts.tls_key, err, sizeof(err));
        if (!s->tls) {
            srv_log(SRV_LOG_ERROR, "%s", err);
            return -1;
        }
    }
    if (start_backend(s) != 0)
        return -1;
    eio_server_set_backend(s->engine, "127.0.0.1", s->backend_port);
    /* Every handler is in place: now the public port. */
    size_t n = s->opts.n_hosts;
    for (size_t i = 0; i < (n ? n : 1); i++) {
        const char *host = n ? s->opts.hosts[i] : s->opts.host;
        int port = eio_server_listen(s->engine, host, s->port ? s->port : s->opts.port, s->tls);
        if (port < 0) {
            srv_log(SRV_LOG_ERROR, "cannot listen on %s port %d (in use?)", host ? host : "*",
                    s->opts.port);
            return -1;
        }
        s->port = port;
    }
    return 0;
}

int srv_port(const srv_server *s)
{
    return s->port;
}

int srv_is_tls(const srv_server *s)
{
    return s->tls != NULL;
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
 * a connection to its listener ends the poll at once. */
static void poke_backend(const srv_server *s)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->backend_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(fd, (struct sockaddr *)&a, sizeof(a));
    close(fd);
}

void srv_stop(srv_server *s)
{
    if (!s->ctx)
        return;
    eio_server_shutdown(s->engine); /* stops accepting; every session closed */
    usleep(50000);                  /* close frames and last poll answers leave */
    stopper st = {s->ctx, 0};
    pthread_t t;
    if (pthread_create(&t, NULL, stop_thread, &st) != 0) {
        mg_stop(s->ctx);
    } else {
        for (int i = 0; i < 1000 && !__atomic_load_n(&st.done, __ATOMIC_ACQUIRE); i++) {
            usleep(5000);
            poke_backend(s);
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
    eio_tls_ctx_free(s->tls);
    srv__client_free(s->client);
    free(s->document_root);
    free(s);
}
