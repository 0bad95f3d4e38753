/*
 * srv_metrics: the Prometheus text exposition (format 0.0.4) of a metrics
 * snapshot (see srv_metrics.h). Every series is written, zeros included, so
 * a scrape always sees the same set; label values are escaped as the format
 * says (backslash, double quote, newline).
 *
 * Threading: any thread; nothing but the arguments is touched.
 * Ownership: srv_metrics owns its namespaces' names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/srv_metrics.h"

void srv_metrics_init(srv_metrics *m)
{
    memset(m, 0, sizeof(*m));
}

void srv_metrics_add_namespace(srv_metrics *m, const char *name, size_t sockets, size_t rooms)
{
    if (m->n_namespaces == m->cap_namespaces) {
        m->cap_namespaces = m->cap_namespaces ? m->cap_namespaces * 2 : 8;
        m->namespaces = eio_realloc(m->namespaces, m->cap_namespaces * sizeof(*m->namespaces));
    }
    srv_metrics_namespace *n = &m->namespaces[m->n_namespaces++];
    n->name = eio_strdup(name ? name : "");
    n->sockets = sockets;
    n->rooms = rooms;
    m->socketio = 1;
}

void srv_metrics_free(srv_metrics *m)
{
    for (size_t i = 0; i < m->n_namespaces; i++)
        free(m->namespaces[i].name);
    free(m->namespaces);
    srv_metrics_init(m);
}

/* ---------------------------------------------------------------- text */

static void header(eio_buf *out, const char *name, const char *type, const char *help)
{
    eio_buf_append_str(out, "# HELP ");
    eio_buf_append_str(out, name);
    eio_buf_append_byte(out, ' ');
    eio_buf_append_str(out, help); /* our own text: no backslash or newline */
    eio_buf_append_str(out, "\n# TYPE ");
    eio_buf_append_str(out, name);
    eio_buf_append_byte(out, ' ');
    eio_buf_append_str(out, type);
    eio_buf_append_byte(out, '\n');
}

static void label_value(eio_buf *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            eio_buf_append_str(out, "\\\\");
        else if (*v == '"')
            eio_buf_append_str(out, "\\\"");
        else if (*v == '\n')
            eio_buf_append_str(out, "\\n");
        else
            eio_buf_append_byte(out, (uint8_t)*v);
    }
}

/* name{k1="v1",k2="v2"} value: labels as a NULL-ended list of pairs. */
static void sample_labels(eio_buf *out, const char *name, const char *const *labels,
                          const char *value)
{
    eio_buf_append_str(out, name);
    if (labels && labels[0]) {
        eio_buf_append_byte(out, '{');
        for (size_t i = 0; labels[i]; i += 2) {
            if (i)
                eio_buf_append_byte(out, ',');
            eio_buf_append_str(out, labels[i]);
            eio_buf_append_str(out, "=\"");
            label_value(out, labels[i + 1]);
            eio_buf_append_byte(out, '"');
        }
        eio_buf_append_byte(out, '}');
    }
    eio_buf_append_byte(out, ' ');
    eio_buf_append_str(out, value);
    eio_buf_append_byte(out, '\n');
}

static void sample(eio_buf *out, const char *name, const char *const *labels, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
    sample_labels(out, name, labels, num);
}

/* Milliseconds as seconds, without trailing zeros: 2500 -> "2.5", 1 -> "0.001". */
static void seconds(char out[32], uint64_t ms)
{
    int n = snprintf(out, 32, "%llu.%03llu", (unsigned long long)(ms / 1000),
                     (unsigned long long)(ms % 1000));
    while (n > 0 && out[n - 1] == '0')
        out[--n] = 0;
    if (n > 0 && out[n - 1] == '.')
        out[--n] = 0;
}

static void sample_seconds(eio_buf *out, const char *name, const char *const *labels, uint64_t ms)
{
    char num[32];
    seconds(num, ms);
    sample_labels(out, name, labels, num);
}

static void render_engine(const eio_stats *st, eio_buf *out)
{
    static const char *const transports[2] = {"polling", "websocket"};
    static const char *const protocols[2] = {"3", "4"};
    header(out, "engineio_clients", "gauge",
           "Open Engine.IO sessions, by current transport and protocol version.");
    for (int t = 0; t < 2; t++)
        for (int v = 0; v < 2; v++) {
            const char *l[] = {"transport", transports[t], "protocol", protocols[v], NULL};
            sample(out, "engineio_clients", l, st->clients[t][v]);
        }
    header(out, "engineio_connections", "gauge", "Open HTTP and WebSocket connections.");
    sample(out, "engineio_connections", NULL, st->connections);
    header(out, "engineio_handshakes_total", "counter", "Sessions opened, by first transport.");
    for (int t = 0; t < 2; t++) {
        const char *l[] = {"transport", transports[t], NULL};
        sample(out, "engineio_handshakes_total", l, st->handshakes[t]);
    }
    header(out, "engineio_handshakes_refused_total", "counter",
           "Handshakes refused: max_clients reached (503) or allowRequest (403).");
    {
        const char *l1[] = {"reason", "max_clients", NULL};
        const char *l2[] = {"reason", "allow_request", NULL};
        sample(out, "engineio_handshakes_refused_total", l1, st->refused_max_clients);
        sample(out, "engineio_handshakes_refused_total", l2, st->refused_allow_request);
    }
    header(out, "engineio_upgrades_total", "counter", "Polling sessions upgraded to WebSocket.");
    sample(out, "engineio_upgrades_total", NULL, st->upgrades);
    header(out, "engineio_disconnects_total", "counter", "Sessions closed, by Node's reason.");
    for (int r = 0; r < EIO_CLOSE_REASONS; r++) {
        const char *l[] = {"reason", eio_close_reason_name(r), NULL};
        sample(out, "engineio_disconnects_total", l, st->disconnects[r]);
    }
    header(out, "engineio_send_queue_overflows_total", "counter",
           "Sessions closed because their send queue passed max_send_queue.");
    sample(out, "engineio_send_queue_overflows_total", NULL, st->send_queue_overflows);
    header(out, "engineio_packets_received_total", "counter",
           "Engine.IO packets received from clients, by type.");
    for (int t = 0; t < EIO_STATS_PACKET_TYPES; t++) {
        const char *l[] = {"type", eio_packet_type_name(t), NULL};
        sample(out, "engineio_packets_received_total", l, st->packets_in[t]);
    }
    header(out, "engineio_packets_sent_total", "counter",
           "Engine.IO packets queued for clients, by type.");
    for (int t = 0; t < EIO_STATS_PACKET_TYPES; t++) {
        const char *l[] = {"type", eio_packet_type_name(t), NULL};
        sample(out, "engineio_packets_sent_total", l, st->packets_out[t]);
    }
    header(out, "engineio_bytes_received_total", "counter",
           "Bytes of packet data received (without the framing).");
    sample(out, "engineio_bytes_received_total", NULL, st->bytes_in);
    header(out, "engineio_bytes_sent_total", "counter",
           "Bytes of packet data queued (without the framing).");
    sample(out, "engineio_bytes_sent_total", NULL, st->bytes_out);
    header(out, "engineio_loop_lag_last_seconds", "gauge",
           "How late the engine loop last ran a due timer.");
    sample_seconds(out, "engineio_loop_lag_last_seconds", NULL, st->lag_last_ms);
    header(out, "engineio_loop_lag_max_seconds", "gauge",
           "The most the engine loop was ever late running a due timer.");
    sample_seconds(out, "engineio_loop_lag_max_seconds", NULL, st->lag_max_ms);
    header(out, "engineio_loop_lag_seconds", "histogram",
           "How late the engine loop runs its due timers.");
    static const uint64_t bounds[EIO_STATS_LAG_BUCKETS] = EIO_STATS_LAG_BOUNDS_MS;
    uint64_t cumulative = 0;
    for (int b = 0; b <= EIO_STATS_LAG_BUCKETS; b++) {
        char le[32];
        if (b < EIO_STATS_LAG_BUCKETS)
            seconds(le, bounds[b]);
        else
            snprintf(le, sizeof(le), "+Inf");
        cumulative += st->lag_buckets[b];
        const char *l[] = {"le", le, NULL};
        sample(out, "engineio_loop_lag_seconds_bucket", l, cumulative);
    }
    sample_seconds(out, "engineio_loop_lag_seconds_sum", NULL, st->lag_sum_ms);
    sample(out, "engineio_loop_lag_seconds_count", NULL, st->lag_count);
}

static void render_socketio(const srv_metrics *m, eio_buf *out)
{
    header(out, "socketio_namespaces", "gauge", "Socket.IO namespaces.");
    sample(out, "socketio_namespaces", NULL, m->n_namespaces);
    header(out, "socketio_sockets", "gauge", "Connected Socket.IO sockets, by namespace.");
    for (size_t i = 0; i < m->n_namespaces; i++) {
        const char *l[] = {"namespace", m->namespaces[i].name, NULL};
        sample(out, "socketio_sockets", l, m->namespaces[i].sockets);
    }
    header(out, "socketio_rooms", "gauge",
           "Rooms, by namespace (each socket's own room included, as adapter.rooms).");
    for (size_t i = 0; i < m->n_namespaces; i++) {
        const char *l[] = {"namespace", m->namespaces[i].name, NULL};
        sample(out, "socketio_rooms", l, m->namespaces[i].rooms);
    }
}

void srv_metrics_render(const srv_metrics *m, eio_buf *out)
{
    render_engine(&m->engine, out);
    if (m->socketio)
        render_socketio(m, out);
}
