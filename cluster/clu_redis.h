/*
 * clu_redis: one Redis connection on the engine's loop (eio_watch_fd and
 * eio_set_timeout), for the cluster adapters. Replies are read with hiredis's
 * reader (redisReader: the pure RESP parser); commands are written by hand in
 * RESP. hiredis's async context is not used: it cannot follow SSUBSCRIBE.
 *
 * Two kinds of connection:
 *  - a command connection: each command's reply goes to its callback, in
 *    order (PUBLISH, PUBSUB NUMSUB, ...);
 *  - a subscriber connection: every reply goes to on_push (subscribe
 *    confirmations, "message", "pmessage", "smessage").
 *
 * Faults: a connection that cannot be made or is lost is retried with
 * backoff (100 ms doubling to 2 s). The outage is logged once when it starts
 * and once when it ends. Commands waiting for a reply when the connection is
 * lost, and commands issued while it is down, get their callback with a NULL
 * reply (soon, never from inside clu_redis_command). on_ready runs after
 * each (re)connection: a subscriber re-subscribes there.
 *
 * Threading: everything with the engine lock held (callbacks run on the loop
 * thread, with the lock held, as every engine callback).
 * Ownership: the connection is owned by its creator (clu_redis_free). A reply
 * given to a callback is borrowed for the call.
 */
#ifndef CLU_REDIS_H
#define CLU_REDIS_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "engineio/eio_server.h"

typedef struct clu_redis clu_redis;

/* Where Redis is: redis://[[user]:password@]host[:port][/db]. */
typedef struct clu_redis_url {
    char host[256];
    int port;       /* 6379 */
    char user[128]; /* "" if none */
    char pass[256]; /* "" if none */
    int db;         /* 0 */
} clu_redis_url;
/* Parses url into *out; -1 if it is not a redis:// URL. */
int clu_redis_url_parse(const char *url, clu_redis_url *out);

typedef void (*clu_reply_fn)(clu_redis *r, const redisReply *reply, void *ud);

typedef struct clu_redis_callbacks {
    void (*on_ready)(clu_redis *r, void *ud);                         /* (re)connected */
    void (*on_push)(clu_redis *r, const redisReply *reply, void *ud); /* subscriber only */
    void *ud;
} clu_redis_callbacks;

/* Starts connecting (on the loop) and returns at once. name is for the logs
 * ("pub", "sub"). log: where outages are reported (level EIO_LOG_*). */
clu_redis *clu_redis_new(eio_server *srv, const clu_redis_url *url, const char *name,
                         int subscriber, const clu_redis_callbacks *cbs,
                         void (*log)(int level, const char *msg, void *ud), void *log_ud);
/* Stops and frees; callbacks of commands still waiting are not called. NULL is a no-op. */
void clu_redis_free(clu_redis *r);
int clu_redis_connected(const clu_redis *r);

/* Sends a command of argc arguments (lengths in argl; NULL: strlen). fn (may
 * be NULL) gets the reply, or NULL if the connection is down or lost first:
 * never from inside this call. On a subscriber connection fn must be NULL. */
void clu_redis_command(clu_redis *r, clu_reply_fn fn, void *ud, int argc, const char *const *argv,
                       const size_t *argl);
/* The same for a fixed list of C strings, NULL-terminated. */
void clu_redis_commandv(clu_redis *r, clu_reply_fn fn, void *ud, ...);

#endif
