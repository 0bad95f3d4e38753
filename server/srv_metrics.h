/*
 * srv_metrics: the text of GET /metrics, in Prometheus's text exposition
 * format 0.0.4 (HELP and TYPE lines, one sample a line). A pure renderer:
 * a snapshot in (the engine's counters, eio_server_stats, and optionally
 * the Socket.IO layer's namespaces), text out; srv_server.c serves it when
 * srv_options.metrics is on.
 *
 * Threading: any thread; srv_metrics_* touch only the struct they are given.
 * Ownership: a srv_metrics owns its namespace array (copies of the names);
 * srv_metrics_free releases it.
 */
#ifndef SRV_METRICS_H
#define SRV_METRICS_H

#include <stddef.h>

#include "engineio/eio_buf.h"
#include "engineio/eio_server.h"

#define SRV_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct srv_metrics_namespace {
    char *name; /* owned */
    size_t sockets, rooms;
} srv_metrics_namespace;

typedef struct srv_metrics {
    eio_stats engine;
    int socketio; /* 1: the Socket.IO part is shown (namespaces may be 0) */
    srv_metrics_namespace *namespaces;
    size_t n_namespaces, cap_namespaces;
} srv_metrics;

/* An empty snapshot (all zeros). */
void srv_metrics_init(srv_metrics *m);
/* Adds a namespace (name copied) and sets m->socketio. */
void srv_metrics_add_namespace(srv_metrics *m, const char *name, size_t sockets, size_t rooms);
void srv_metrics_free(srv_metrics *m);
/* Appends the exposition text of m to out. */
void srv_metrics_render(const srv_metrics *m, eio_buf *out);

#endif
