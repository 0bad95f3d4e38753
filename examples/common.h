/*
 * Shared command-line handling for the example servers: the flags every
 * server takes (--port, --ping-interval, --ping-timeout, --connect-timeout,
 * --max-payload, --cors-origin, --max-clients, --log-level, --host, --tls-*,
 * --cookie NAME (Node's `cookie` option: the session id in a cookie),
 * --parser default|msgpack (Node's `parser` option), --recovery[=MS]
 * (connectionStateRecovery), --no-serve-client and --client-dist DIR
 * (serveClient, the bundle's folder), --no-http-compression (httpCompression),
 * --per-message-deflate (perMessageDeflate),
 * --adapter redis://HOST:PORT with --adapter-mode classic|sharded,
 * --adapter-key, --subscription-mode, --requests-timeout, --metrics (GET
 * /metrics, Prometheus)) and the run loop
 * (start, banner, wait for SIGINT/SIGTERM, clean stop).
 * Threading: main thread only. Ownership: static storage for option strings.
 */
#ifndef EXAMPLES_COMMON_H
#define EXAMPLES_COMMON_H

#include "cluster/clu.h"
#include "server/srv.h"
#include "socketio/sio.h"
#include "socketio/sio_admin.h"

typedef struct example_opts {
    sio_options sio;
    srv_options srv;
    clu_options cluster_opts;
    clu_cluster *cluster; /* --adapter redis://...: the Redis adapter (freed by example_run) */
    /* The Admin UI (socketio/sio_admin.h): --admin-ui, --admin-auth USER:BCRYPT_HASH,
     * --admin-readonly, --admin-mode development|production, --admin-namespace NAME,
     * --admin-server-id ID (any of them turns it on); example_run instruments io. */
    int admin_ui;
    sio_admin_options admin;
} example_opts;

/* Parses the common flags into o (after filling defaults, with path
 * "/socket.io/"). Returns 0, or 1 after printing usage for --help, or 2 on a
 * bad flag. */
int example_parse(int argc, char **argv, const char *name, example_opts *o);

/* Has /metrics (--metrics) show io's namespaces and rooms too (example_run
 * does it; a program calling srv_new itself calls this first). */
void example_metrics_source(srv_options *so, sio_server *io);

/* Creates nothing: starts the HTTP server for io, prints
 * "<name> listening on http://localhost:<port><path>", waits for a signal,
 * stops everything and frees io. Returns the process exit status. */
int example_run(const char *name, example_opts *o, sio_server *io);

#endif
