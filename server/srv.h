/*
 * srv: the HTTP server around an Engine.IO (or Socket.IO) engine. The engine
 * listens and serves its own requests (long-polling, handshakes, WebSocket,
 * CORS); civetweb, on a private loopback port, serves static files and fixed
 * routes, handed complete requests by the engine. TLS (PEM files), leveled
 * logging and signal handling.
 *
 * Threading: srv_new/srv_start/srv_stop/srv_free from the main thread.
 * civetweb's worker threads serve routes and files and never touch the engine.
 * Ownership: the srv_server does not own the engine: free the engine after
 * srv_stop (which stops every call into it).
 */
#ifndef SRV_H
#define SRV_H

#include <stddef.h>

#include "engineio/eio_server.h"

typedef struct srv_server srv_server;
struct srv_metrics; /* server/srv_metrics.h */

enum { SRV_LOG_ERROR = 0, SRV_LOG_WARN = 1, SRV_LOG_INFO = 2, SRV_LOG_DEBUG = 3 };

typedef struct srv_options {
    const char *host;     /* address to listen on; NULL: every address, IPv6 and IPv4 */
    const char *hosts[8]; /* or several (srv_add_host), each listened on */
    size_t n_hosts;
    int port;             /* 3000 */
    const char *path;     /* engine path, "/engine.io/" (given to the engine) */
    size_t max_clients;   /* sessions at once (also the engine's max_clients): 10000 */
    int http_threads;     /* civetweb workers for files and routes: 16 */
    const char *tls_cert; /* PEM certificate (chain) file: HTTPS and WSS; NULL: plain */
    const char *tls_key;  /* PEM private key file */
    /* CORS, as Node's cors package (given to the engine): NULL: off; "*": any origin, answered "*";
     * "reflect": any origin, reflected; else a comma-separated list of origins. */
    const char *cors_origin;
    int cors_credentials;      /* Access-Control-Allow-Credentials: true */
    const char *document_root; /* static files served at "/", NULL: none */
    int spa_fallback;          /* unknown paths under "/" get document_root/index.html */
    /* Socket.IO's serveClient (on by default, as in Node's socket.io): GET (any
     * method, as Node) <path>socket.io.js, socket.io.min.js,
     * socket.io.msgpack.min.js, socket.io.esm.min.js and each .map serve the
     * socket.io-client bundle as Node's serve() does (ETag "<version>" and
     * 304 on If-None-Match, Cache-Control "public, max-age=0", br / gzip /
     * deflate by Accept-Encoding). 0: those names are Engine.IO requests like
     * any other under the path (400 "Transport unknown"). An Engine.IO-only
     * server turns it off: Node's engine.io serves no client. */
    int serve_client;
    /* The bundle folder (socket.io-client's dist/ files and its
     * package.json, as `make` installs it in build/client-dist). NULL:
     * $SIO_CLIENT_DIST, else client-dist next to the program. Missing, the
     * names answer 404 and srv_start logs why. */
    const char *client_dist;
    /* GET /metrics: the engine's counters (and metrics_source's) in
     * Prometheus's text format (server/srv_metrics.h). 0 (off): /metrics is
     * like any other path. */
    int metrics;
    /* Called with the engine lock held on every scrape, after the engine's
     * part is filled, to add more (the Socket.IO layer's namespaces:
     * srv_metrics_add_namespace). NULL: the engine's alone. */
    void (*metrics_source)(struct srv_metrics *m, void *ud);
    void *metrics_source_ud;
    int log_level; /* SRV_LOG_INFO */
} srv_options;

void srv_options_default(srv_options *o);
/* Adds an address to listen on (--host, repeatable; up to 8). Returns 0, or
 * -1 when full. The string is not copied. */
int srv_add_host(srv_options *o, const char *host);

/* Blocks SIGINT and SIGTERM in the calling thread and every thread created
 * after, so that srv_wait_for_signal can take them. Call first in main(). */
void srv_block_signals(void);
/* Waits for SIGINT or SIGTERM; returns the signal number. */
int srv_wait_for_signal(void);

/* Creates the server for an engine (not owned). Returns NULL on bad options. */
srv_server *srv_new(const srv_options *o, eio_server *engine);
/* A fixed answer for GET path (e.g. a health check). Call before srv_start;
 * the strings are copied. */
void srv_add_route(srv_server *s, const char *path, const char *content_type, const char *body);
/* Starts listening. Returns 0, or -1 with a logged reason. */
int srv_start(srv_server *s);
/* The port actually listened on. */
int srv_port(const srv_server *s);
/* 1 if the server speaks TLS (https:// and wss://). */
int srv_is_tls(const srv_server *s);
/* Closes every session ("server shutting down"), lets their close frames go
 * out, then stops civetweb (waiting for its threads). */
void srv_stop(srv_server *s);
void srv_free(srv_server *s);

/* Leveled log lines on stderr: "2026-11-25T10:00:00.123Z info: ..." */
void srv_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void srv_set_log_level(int level);
/* "error", "warn", "info" or "debug" as a level (info if unknown). */
int srv_log_level_from_name(const char *name);
/* An eio_options.log callback that writes through srv_log. */
void srv_engine_log(int level, const char *message, void *user_data);

#endif
