/*
 * libFuzzer driver for the cluster's incoming side: what another node (or
 * anyone who can PUBLISH on the Redis server) sends to the Redis adapters.
 * Two Socket.IO servers live for the whole run, one with the classic adapter
 * and one with the sharded adapter (dynamic mode), each with the namespaces
 * "/" and "/custom"; their Redis is unreachable (127.0.0.1:1), so nothing is
 * published and answers are dropped as they would be during an outage.
 *
 * The first input byte picks what the rest is:
 *   bits 0-2: 0 a classic request (socket.io-request#<nsp>#), 1 a classic
 *             response (socket.io-response#<nsp>#), 2 a classic broadcast
 *             (pmessage on socket.io#<nsp>#), 3 the same to a room
 *             (socket.io#<nsp>#room#), 4 a sharded message (smessage on
 *             socket.io#<nsp>#), 5 the same to a room; the body is the
 *             message (JSON when it starts with '{', else notepack), given
 *             through clu__on_push as the subscriber connection would;
 *   6, 7:     the body is a RESP byte stream, read with hiredis's reader (as
 *             cluster/clu_redis.c reads a connection) in pieces of 1 byte
 *             (7) or of sizes taken from the input (6); every reply is given
 *             to both adapters;
 *   bit 3:    namespace "/custom" rather than "/".
 * Checks: no crash, no sanitizer report, no leak.
 * Threading: libFuzzer's thread, holding each engine's lock; each engine's
 * loop thread runs beside it (the reconnection attempts).
 * Ownership: the servers are made once and never freed; every reply and
 * buffer per input is freed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cluster/clu.h"
#include "cluster/clu_internal.h"
#include "socketio/sio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct node {
    sio_server *io;
    clu_cluster *cluster;
} node;

static node classic, sharded;

static void quiet(int level, const char *message, void *ud)
{
    (void)level;
    (void)message;
    (void)ud;
}

static void on_connection(sio_socket *s, void *ud)
{
    (void)s;
    (void)ud;
}

static void node_init(node *n, int kind)
{
    clu_options co;
    clu_options_default(&co);
    co.url = "redis://127.0.0.1:1";
    co.kind = kind;
    co.requests_timeout_ms = 100;
    n->cluster = clu_new(&co);
    if (!n->cluster)
        abort();
    sio_options so;
    sio_options_default(&so);
    so.engine.log = quiet;
    so.engine.log_level = EIO_LOG_ERROR;
    so.adapter = clu_adapter;
    so.adapter_ud = n->cluster;
    n->io = sio_server_new(&so);
    eio_server_lock(sio_server_engine(n->io));
    sio_on_connection(sio_of(n->io, "/"), on_connection, NULL);
    sio_on_connection(sio_of(n->io, "/custom"), on_connection, NULL);
    eio_server_unlock(sio_server_engine(n->io));
}

static void push(node *n, const redisReply *reply)
{
    eio_server_lock(sio_server_engine(n->io));
    clu__on_push(n->cluster, reply);
    eio_server_unlock(sio_server_engine(n->io));
}

static redisReply string_reply(const char *s, size_t len)
{
    redisReply r;
    memset(&r, 0, sizeof(r));
    r.type = REDIS_REPLY_STRING;
    r.str = (char *)s;
    r.len = len;
    return r;
}

/* A pub/sub message [kind, (pattern,) channel, body] given to n. */
static void message(node *n, const char *kind, const char *pattern, const char *channel,
                    const uint8_t *body, size_t len)
{
    /* An exact copy, NUL-terminated as hiredis's strings are. */
    char *copy = malloc(len + 1);
    if (!copy)
        abort();
    if (len)
        memcpy(copy, body, len);
    copy[len] = 0;
    redisReply parts[4], *elements[4];
    size_t count = 0;
    parts[count++] = string_reply(kind, strlen(kind));
    if (pattern)
        parts[count++] = string_reply(pattern, strlen(pattern));
    parts[count++] = string_reply(channel, strlen(channel));
    parts[count++] = string_reply(copy, len);
    for (size_t i = 0; i < count; i++)
        elements[i] = &parts[i];
    redisReply array;
    memset(&array, 0, sizeof(array));
    array.type = REDIS_REPLY_ARRAY;
    array.elements = count;
    array.element = elements;
    push(n, &array);
    free(copy);
}

/* The body as a RESP stream, in pieces; each reply to both nodes. */
static void resp_stream(const uint8_t *body, size_t len, int one_byte)
{
    redisReader *reader = redisReaderCreate();
    if (!reader)
        abort();
    size_t pos = 0, i = 0;
    while (pos < len) {
        size_t piece = one_byte ? 1 : 1 + body[i++ % len] % 16;
        if (piece > len - pos)
            piece = len - pos;
        if (redisReaderFeed(reader, (const char *)body + pos, piece) != REDIS_OK)
            break;
        pos += piece;
        void *reply = NULL;
        while (redisReaderGetReply(reader, &reply) == REDIS_OK && reply) {
            push(&classic, reply);
            push(&sharded, reply);
            freeReplyObject(reply);
            reply = NULL;
        }
        if (reader->err)
            break; /* a reader in error refuses more: the connection is dropped */
    }
    redisReaderFree(reader);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!classic.io) {
        node_init(&classic, CLU_CLASSIC);
        node_init(&sharded, CLU_SHARDED);
    }
    if (size == 0)
        return 0;
    int mode = data[0] & 7;
    const char *nsp = data[0] & 8 ? "/custom" : "/";
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    char channel[64], pattern[64];
    switch (mode) {
    case 0:
        snprintf(channel, sizeof(channel), "socket.io-request#%s#", nsp);
        message(&classic, "message", NULL, channel, body, len);
        break;
    case 1:
        snprintf(channel, sizeof(channel), "socket.io-response#%s#", nsp);
        message(&classic, "message", NULL, channel, body, len);
        break;
    case 2:
    case 3:
        snprintf(pattern, sizeof(pattern), "socket.io#%s#*", nsp);
        snprintf(channel, sizeof(channel), mode == 2 ? "socket.io#%s#" : "socket.io#%s#room#", nsp);
        message(&classic, "pmessage", pattern, channel, body, len);
        break;
    case 4:
    case 5:
        snprintf(channel, sizeof(channel), mode == 4 ? "socket.io#%s#" : "socket.io#%s#room#", nsp);
        message(&sharded, "smessage", NULL, channel, body, len);
        break;
    default: resp_stream(body, len, mode == 7); break;
    }
    return 0;
}
