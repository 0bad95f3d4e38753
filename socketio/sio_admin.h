/*
 * sio_admin: the server side of the Socket.IO Admin UI (@socket.io/admin-ui
 * 0.5, Node's `instrument(io, opts)`), so that the official UI (hosted at
 * https://admin.socket.io, or self-hosted from the npm package's ui/dist)
 * can watch and drive this server:
 *
 *   instrument(io, {auth: false})            sio_admin_options o;
 *                                            sio_admin_options_default(&o);
 *                                            o.auth = SIO_ADMIN_AUTH_NONE;
 *                                            sio_admin_instrument(io, &o);
 *
 * What it does, as Node's package does it:
 *  - the admin namespace (o.namespace_name, "/admin") with, for basic auth,
 *    a middleware: {username, password} checked against the bcrypt hash (a
 *    new 16-hex session id is kept and emitted as "session"), or {sessionId}
 *    of a kept session; else CONNECT_ERROR {"message":"invalid credentials"};
 *  - "config" {supportedFeatures} to each admin socket on connect (EMIT, JOIN,
 *    LEAVE, DISCONNECT, MJOIN, MLEAVE, MDISCONNECT unless readonly;
 *    AGGREGATED_EVENTS; ALL_EVENTS in development mode);
 *  - "server_stats" every 2 s to the admin namespace: serverId, hostname, pid,
 *    uptime, clientsCount, pollingClientsCount, aggregatedEvents (per second:
 *    rawConnection, rawDisconnection with the reason as subType, packetsIn,
 *    packetsOut, bytesIn, bytesOut) and namespaces [{name, socketsCount}];
 *  - in development mode: "all_sockets" to each admin socket on connect
 *    (every namespace, over the cluster: fetchSockets), and socket_connected,
 *    socket_updated, socket_disconnected, room_joined, room_left,
 *    event_received, event_sent as they happen;
 *  - the UI's commands emit, join, leave, _disconnect (a filter is a room or
 *    a socket id), through the broadcast operators, so they span a cluster.
 * Every admin event is an ordinary broadcast to the admin namespace: with a
 * cluster adapter one UI connection sees every node, C and Node alike.
 *
 * Bytes are counted at the Socket.IO layer: the length of each Engine.IO
 * message (a packet's text, each binary attachment) in and out, which is
 * what Node counts (Buffer.byteLength of each packet's data). Not counted,
 * unlike Node: the "probe" pong of each WebSocket upgrade (5 bytes).
 *
 * CORS: the hosted UI (https://admin.socket.io) connects with credentials,
 * so the server must allow that origin with credentials (srv_options
 * cors_origin and cors_credentials; the examples' --cors-origin).
 *
 * Threading: sio_admin_instrument is called as every sio function (engine
 * lock held). Password checks (bcrypt, tens of ms) run on a worker thread of
 * their own, which takes the engine lock to finish the connection.
 * Ownership: the options are copied; the instrumentation lives as long as
 * the server and is freed by sio_server_free.
 */
#ifndef SIO_ADMIN_H
#define SIO_ADMIN_H

#include "socketio/sio.h"

enum {
    SIO_ADMIN_AUTH_UNSET = 0, /* must be chosen, as Node requires `auth` */
    SIO_ADMIN_AUTH_NONE = 1,  /* auth: false */
    SIO_ADMIN_AUTH_BASIC = 2, /* auth: {type: "basic", username, password} */
};

enum {
    /* Node's default: process.env.NODE_ENV || "development", read at
     * sio_admin_instrument: development if NODE_ENV is unset, empty or
     * "development", production for any other value. */
    SIO_ADMIN_MODE_FROM_ENV = 0,
    SIO_ADMIN_MODE_DEVELOPMENT = 1,
    SIO_ADMIN_MODE_PRODUCTION = 2, /* aggregated stats only */
};

typedef struct sio_admin_options {
    const char *namespace_name; /* "/admin" */
    int auth;                   /* SIO_ADMIN_AUTH_*: unset by default */
    const char *username;       /* basic auth */
    const char *password_hash;  /* basic auth: a bcrypt hash ($2a$, $2b$ or $2y$) */
    int readonly;               /* 0: the UI may emit, join, leave, disconnect */
    int mode;                   /* SIO_ADMIN_MODE_*: SIO_ADMIN_MODE_FROM_ENV */
    /* The id the UI shows and keys servers by. NULL: the host name (Node's
     * os.hostname(); Node uses "hostname#pid" in a worker of its cluster
     * module only, which a C process never is: give one per process when
     * several processes of a cluster run on one host). */
    const char *server_id;
} sio_admin_options;

void sio_admin_options_default(sio_admin_options *o);
/* Why the options cannot be used (a static string, Node's message where it
 * has one), or NULL if they can. */
const char *sio_admin_options_error(const sio_admin_options *o);
/* Instruments io (once): creates the admin namespace and starts the stats.
 * Returns 0, or SIO_EINVAL for bad options (sio_admin_options_error) or a
 * server already instrumented. */
int sio_admin_instrument(sio_server *io, const sio_admin_options *o);

/* 1 if hash is a bcrypt hash this system can check ($2a$, $2b$ or $2y$, a
 * cost of 04 to 31, 53 characters of salt and digest), else 0. */
int sio_admin_bcrypt_hash_valid(const char *hash);
/* Checks password against a bcrypt hash with the system's crypt_r
 * (libxcrypt): 1 if it matches, 0 if not, SIO_EINVAL if the hash is not
 * valid. Slow by design (the hash's cost): call it off the loop. Any thread. */
int sio_admin_bcrypt_verify(const char *password, const char *hash);

#endif
