/*
 * eio_stats: the engine's counters (eio_server.stats): what is counted where
 * it happens (handshakes, packets, closes, the loop's lag) and the snapshot
 * read by a metrics endpoint, whose gauges (sessions by transport and
 * protocol, connections) are counted from the session list then.
 *
 * Threading: engine lock held for every function (the counters are plain
 * integers: everything that bumps them already holds it).
 * Ownership: nothing is allocated.
 */
#include <string.h>

#include "eio_internal.h"

static const char *const reason_names[EIO_CLOSE_REASONS] = {
    "transport close", "transport error",      "ping timeout", "parse error",
    "forced close",    "server shutting down", "other",
};

const char *eio_packet_type_name(int type)
{
    static const char *const names[EIO_STATS_PACKET_TYPES] = {"open",    "close",   "ping", "pong",
                                                              "message", "upgrade", "noop"};
    return type >= 0 && type < EIO_STATS_PACKET_TYPES ? names[type] : "unknown";
}

const char *eio_close_reason_name(int reason)
{
    if (reason < 0 || reason >= EIO_CLOSE_REASONS)
        return "other";
    return reason_names[reason];
}

void eio__stats_close(eio_server *srv, const char *reason)
{
    int i = 0;
    while (i < EIO_CLOSE_OTHER && strcmp(reason_names[i], reason) != 0)
        i++;
    srv->stats.disconnects[i]++;
}

void eio__stats_lag(eio_server *srv, uint64_t lag_ms)
{
    static const uint64_t bounds[EIO_STATS_LAG_BUCKETS] = EIO_STATS_LAG_BOUNDS_MS;
    eio_stats *st = &srv->stats;
    size_t b = 0;
    while (b < EIO_STATS_LAG_BUCKETS && lag_ms > bounds[b])
        b++;
    st->lag_buckets[b]++;
    st->lag_last_ms = lag_ms;
    if (lag_ms > st->lag_max_ms)
        st->lag_max_ms = lag_ms;
    st->lag_count++;
    st->lag_sum_ms += lag_ms;
}

void eio_server_stats(eio_server *srv, eio_stats *out)
{
    *out = srv->stats;
    memset(out->clients, 0, sizeof(out->clients));
    for (const eio_socket *s = srv->sessions; s; s = s->next)
        out->clients[s->transport == EIO_TRANSPORT_WEBSOCKET][s->version >= 4]++;
    out->connections = srv->n_conns;
}
