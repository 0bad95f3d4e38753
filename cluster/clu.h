/*
 * clu: the Redis adapters, wire-compatible with Node's
 * @socket.io/redis-adapter 8.x, so that C nodes and Node nodes serve one
 * cluster: createAdapter (Redis PUB/SUB, the "classic" adapter) and
 * createShardedAdapter (Redis 7 SPUBLISH/SSUBSCRIBE). The wire formats are in
 * ../shared/NODE-CLUSTER.md and README "Cluster".
 *
 *   sio_options o; sio_options_default(&o);
 *   clu_options co; clu_options_default(&co); co.url = "redis://127.0.0.1:6379";
 *   clu_cluster *cl = clu_new(&co);
 *   o.adapter = clu_adapter; o.adapter_ud = cl;
 *   sio_server *io = sio_server_new(&o);
 *   ...
 *   sio_server_free(io); clu_free(cl);
 *
 * One pair of Redis connections (publish, subscribe) per server, on the
 * engine's loop: no thread is added, handlers never run two at a time.
 *
 * Threading: clu_new / clu_free from the thread that creates and frees the
 * Socket.IO server; everything else runs with the engine lock held.
 * Ownership: the caller owns the clu_cluster and frees it after the server.
 */
#ifndef CLU_H
#define CLU_H

#include "socketio/sio_adapter.h"

enum {
    CLU_CLASSIC = 0, /* createAdapter */
    CLU_SHARDED = 1, /* createShardedAdapter */
};
enum {
    CLU_SUB_DYNAMIC = 0, /* subscriptionMode "dynamic" (the default) */
    CLU_SUB_STATIC = 1,
    CLU_SUB_DYNAMIC_PRIVATE = 2,
};

typedef struct clu_options {
    const char *url; /* redis://[[user]:password@]host[:port][/db]; "redis://127.0.0.1:6379" */
    int kind;        /* CLU_CLASSIC */
    const char *key; /* classic: `key`, the channel prefix: "socket.io" */
    int requests_timeout_ms;                  /* `requestsTimeout`: 5000 */
    int publish_on_specific_response_channel; /* classic: 0 */
    const char *channel_prefix;               /* sharded: `channelPrefix`: "socket.io" */
    int subscription_mode;                    /* sharded: `subscriptionMode`: CLU_SUB_DYNAMIC */
} clu_options;

void clu_options_default(clu_options *o);
/* Parses "static" / "dynamic" / "dynamic-private"; -1 if none of them. */
int clu_subscription_mode(const char *name);

typedef struct clu_cluster clu_cluster;
/* Copies the options; connects when the first namespace is created. NULL if
 * the URL is not a redis:// URL. */
clu_cluster *clu_new(const clu_options *o);
/* The sio_options.adapter factory; ud is the clu_cluster. */
sio_adapter *clu_adapter(sio_namespace *nsp, void *ud);
/* After sio_server_free. NULL is a no-op. */
void clu_free(clu_cluster *c);

#endif
