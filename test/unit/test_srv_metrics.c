/*
 * Unit tests for srv_metrics: the Prometheus text (format 0.0.4) of a known
 * snapshot, line for line where it matters, then the whole text checked by a
 * small parser of the format: every family has HELP then TYPE before its
 * samples, every sample line is name{labels} value with well-formed labels,
 * histogram buckets are cumulative and end at +Inf == _count; label values
 * escaped.
 * Threading: single thread. Ownership: tests free what they allocate.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "server/srv_metrics.h"
#include "test/unit/test.h"

static char *render(const srv_metrics *m)
{
    eio_buf b = EIO_BUF_INIT;
    srv_metrics_render(m, &b);
    char *s = eio_strdup(eio_buf_cstr(&b));
    eio_buf_free(&b);
    return s;
}

/* 1 if text has line as a whole line. */
static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    return 0;
}

static void known(srv_metrics *m)
{
    srv_metrics_init(m);
    eio_stats *st = &m->engine;
    st->clients[0][1] = 2;
    st->clients[1][1] = 1;
    st->clients[0][0] = 3;
    st->connections = 7;
    st->handshakes[0] = 5;
    st->handshakes[1] = 1;
    st->upgrades = 1;
    st->disconnects[EIO_CLOSE_TRANSPORT_CLOSE] = 4;
    st->disconnects[EIO_CLOSE_PING_TIMEOUT] = 1;
    st->disconnects[EIO_CLOSE_OTHER] = 9;
    st->send_queue_overflows = 2;
    st->refused_max_clients = 11;
    st->refused_allow_request = 12;
    st->packets_in[4] = 10;
    st->packets_in[3] = 6;
    st->packets_out[0] = 6;
    st->packets_out[4] = 20;
    st->bytes_in = 1234;
    st->bytes_out = 56789;
    st->lag_last_ms = 3;
    st->lag_max_ms = 2500;
    st->lag_buckets[0] = 5;  /* <= 1 ms */
    st->lag_buckets[1] = 2;  /* <= 5 ms */
    st->lag_buckets[9] = 1;  /* <= 2.5 s */
    st->lag_buckets[10] = 1; /* +Inf */
    st->lag_count = 9;
    st->lag_sum_ms = 7010;
}

static void test_engine_lines(void)
{
    srv_metrics m;
    known(&m);
    char *t = render(&m);
    CHECK(has_line(t, "# HELP engineio_clients Open Engine.IO sessions, by current transport and "
                      "protocol version."));
    CHECK(has_line(t, "# TYPE engineio_clients gauge"));
    CHECK(has_line(t, "engineio_clients{transport=\"polling\",protocol=\"3\"} 3"));
    CHECK(has_line(t, "engineio_clients{transport=\"polling\",protocol=\"4\"} 2"));
    CHECK(has_line(t, "engineio_clients{transport=\"websocket\",protocol=\"3\"} 0"));
    CHECK(has_line(t, "engineio_clients{transport=\"websocket\",protocol=\"4\"} 1"));
    CHECK(has_line(t, "engineio_connections 7"));
    CHECK(has_line(t, "# TYPE engineio_handshakes_total counter"));
    CHECK(has_line(t, "engineio_handshakes_total{transport=\"polling\"} 5"));
    CHECK(has_line(t, "engineio_handshakes_total{transport=\"websocket\"} 1"));
    CHECK(has_line(t, "engineio_handshakes_refused_total{reason=\"max_clients\"} 11"));
    CHECK(has_line(t, "engineio_handshakes_refused_total{reason=\"allow_request\"} 12"));
    CHECK(has_line(t, "engineio_upgrades_total 1"));
    CHECK(has_line(t, "engineio_disconnects_total{reason=\"transport close\"} 4"));
    CHECK(has_line(t, "engineio_disconnects_total{reason=\"transport error\"} 0"));
    CHECK(has_line(t, "engineio_disconnects_total{reason=\"ping timeout\"} 1"));
    CHECK(has_line(t, "engineio_disconnects_total{reason=\"parse error\"} 0"));
    CHECK(has_line(t, "engineio_disconnects_total{reason=\"forced close\"} 0"));
    CHECK(has_line(t, "engineio_disconnects_total{reason=\"server shutting down\"} 0"));
    CHECK(has_line(t, "engineio_disconnects_total{reason=\"other\"} 9"));
    CHECK(has_line(t, "engineio_send_queue_overflows_total 2"));
    CHECK(has_line(t, "engineio_packets_received_total{type=\"message\"} 10"));
    CHECK(has_line(t, "engineio_packets_received_total{type=\"pong\"} 6"));
    CHECK(has_line(t, "engineio_packets_received_total{type=\"noop\"} 0"));
    CHECK(has_line(t, "engineio_packets_sent_total{type=\"open\"} 6"));
    CHECK(has_line(t, "engineio_packets_sent_total{type=\"message\"} 20"));
    CHECK(has_line(t, "engineio_bytes_received_total 1234"));
    CHECK(has_line(t, "engineio_bytes_sent_total 56789"));
    CHECK(has_line(t, "engineio_loop_lag_last_seconds 0.003"));
    CHECK(has_line(t, "engineio_loop_lag_max_seconds 2.5"));
    CHECK(has_line(t, "# TYPE engineio_loop_lag_seconds histogram"));
    CHECK(has_line(t, "engineio_loop_lag_seconds_bucket{le=\"0.001\"} 5"));
    CHECK(has_line(t, "engineio_loop_lag_seconds_bucket{le=\"0.005\"} 7"));
    CHECK(has_line(t, "engineio_loop_lag_seconds_bucket{le=\"0.01\"} 7"));
    CHECK(has_line(t, "engineio_loop_lag_seconds_bucket{le=\"0.1\"} 7"));
    CHECK(has_line(t, "engineio_loop_lag_seconds_bucket{le=\"1\"} 7"));
    CHECK(has_line(t, "engineio_loop_lag_seconds_bucket{le=\"2.5\"} 8"));
    CHECK(has_line(t, "engineio_loop_lag_seconds_bucket{le=\"+Inf\"} 9"));
    CHECK(has_line(t, "engineio_loop_lag_seconds_sum 7.01"));
    CHECK(has_line(t, "engineio_loop_lag_seconds_count 9"));
    CHECK(strstr(t, "socketio_") == NULL); /* engine alone */
    CHECK(t[strlen(t) - 1] == '\n');
    free(t);
    srv_metrics_free(&m);
}

static void test_zero(void)
{
    srv_metrics m;
    srv_metrics_init(&m);
    char *t = render(&m);
    CHECK(has_line(t, "engineio_loop_lag_last_seconds 0"));
    CHECK(has_line(t, "engineio_loop_lag_seconds_sum 0"));
    CHECK(has_line(t, "engineio_loop_lag_seconds_bucket{le=\"+Inf\"} 0"));
    free(t);
    m.socketio = 1; /* a Socket.IO server with no namespace yet */
    t = render(&m);
    CHECK(has_line(t, "socketio_namespaces 0"));
    CHECK(has_line(t, "# TYPE socketio_rooms gauge"));
    free(t);
}

static void test_socketio_lines(void)
{
    srv_metrics m;
    known(&m);
    srv_metrics_add_namespace(&m, "/", 3, 5);
    srv_metrics_add_namespace(&m, "/a\"b\\c\nd", 1, 1);
    CHECK_EQ_INT(m.socketio, 1);
    char *t = render(&m);
    CHECK(has_line(t, "# TYPE socketio_namespaces gauge"));
    CHECK(has_line(t, "socketio_namespaces 2"));
    CHECK(has_line(t, "socketio_sockets{namespace=\"/\"} 3"));
    CHECK(has_line(t, "socketio_rooms{namespace=\"/\"} 5"));
    CHECK(has_line(t, "socketio_sockets{namespace=\"/a\\\"b\\\\c\\nd\"} 1"));
    free(t);
    srv_metrics_free(&m);
    CHECK_EQ_INT(m.n_namespaces, 0);
}

/* ---------------------------------------------------------------- a parser of the format */

typedef struct family {
    char name[128], type[16];
    int helped, typed, samples;
} family;

static int name_char(int c, int first)
{
    return isalpha(c) || c == '_' || c == ':' || (!first && isdigit(c));
}

/* Parses one sample line: name, optional {k="v",...}, a space, a value.
 * Returns 0, or -1 if malformed; *name gets the metric name, *le a copy of
 * the le label (if any), *value the number. */
static int parse_sample(const char *line, char *name, size_t nsize, char *le, double *value)
{
    const char *p = line;
    size_t n = 0;
    if (!name_char((unsigned char)*p, 1))
        return -1;
    while (name_char((unsigned char)*p, 0) && n + 1 < nsize)
        name[n++] = *p++;
    name[n] = 0;
    le[0] = 0;
    if (*p == '{') {
        p++;
        while (*p != '}') {
            char key[64];
            size_t k = 0;
            if (!name_char((unsigned char)*p, 1))
                return -1;
            while (name_char((unsigned char)*p, 0) && k + 1 < sizeof(key))
                key[k++] = *p++;
            key[k] = 0;
            if (p[0] != '=' || p[1] != '"')
                return -1;
            p += 2;
            char val[256];
            size_t v = 0;
            while (*p != '"') {
                if (!*p || *p == '\n')
                    return -1;
                if (*p == '\\') {
                    p++;
                    if (*p != '\\' && *p != '"' && *p != 'n')
                        return -1;
                }
                if (v + 1 < sizeof(val))
                    val[v++] = *p;
                p++;
            }
            val[v] = 0;
            p++;
            if (strcmp(key, "le") == 0)
                strcpy(le, val);
            if (*p == ',')
                p++;
            else if (*p != '}')
                return -1;
        }
        p++;
    }
    if (*p != ' ')
        return -1;
    p++;
    char *end;
    if (strcmp(p, "+Inf") == 0 || strcmp(p, "-Inf") == 0 || strcmp(p, "NaN") == 0) {
        *value = 0;
        return 0;
    }
    *value = strtod(p, &end);
    return end != p && *end == 0 ? 0 : -1;
}

/* Checks the whole text; returns the number of problems. */
static int check_format(const char *text)
{
    family fams[64];
    size_t nf = 0;
    int bad = 0;
    double last_bucket = -1, inf_bucket = -1, count = -1;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        if (!nl)
            return bad + 1; /* every line ends in '\n' */
        char line[1024];
        size_t len = (size_t)(nl - p);
        if (len >= sizeof(line))
            return bad + 1;
        memcpy(line, p, len);
        line[len] = 0;
        p = nl + 1;
        char fam[128], rest[512];
        if (sscanf(line, "# HELP %127s %511[^\n]", fam, rest) == 2) {
            if (nf && strcmp(fams[nf - 1].name, fam) == 0)
                bad++; /* twice */
            family *f = &fams[nf++];
            memset(f, 0, sizeof(*f));
            strcpy(f->name, fam);
            f->helped = 1;
            continue;
        }
        if (sscanf(line, "# TYPE %127s %15s", fam, rest) == 2) {
            if (!nf || strcmp(fams[nf - 1].name, fam) != 0 || fams[nf - 1].samples)
                bad++; /* TYPE right after HELP, before the samples */
            else
                strcpy(fams[nf - 1].type, rest);
            if (strcmp(rest, "counter") && strcmp(rest, "gauge") && strcmp(rest, "histogram"))
                bad++;
            continue;
        }
        if (line[0] == '#')
            continue;
        char name[128], le[64];
        double v;
        if (parse_sample(line, name, sizeof(name), le, &v) != 0) {
            fprintf(stderr, "  malformed: %s\n", line);
            bad++;
            continue;
        }
        if (!nf) {
            bad++;
            continue;
        }
        family *f = &fams[nf - 1];
        size_t fl = strlen(f->name);
        int is_hist = strcmp(f->type, "histogram") == 0;
        if (strncmp(name, f->name, fl) != 0 ||
            (name[fl] &&
             !(is_hist && (strcmp(name + fl, "_bucket") == 0 || strcmp(name + fl, "_sum") == 0 ||
                           strcmp(name + fl, "_count") == 0)))) {
            fprintf(stderr, "  sample %s outside its family %s\n", name, f->name);
            bad++;
        }
        if (strcmp(f->type, "counter") == 0 && strcmp(name + fl, "") == 0 &&
            (fl < 6 || strcmp(f->name + fl - 6, "_total") != 0))
            bad++; /* counters end in _total */
        if (is_hist && strcmp(name + fl, "_bucket") == 0) {
            if (v < last_bucket)
                bad++; /* cumulative */
            last_bucket = v;
            if (strcmp(le, "+Inf") == 0)
                inf_bucket = v;
        }
        if (is_hist && strcmp(name + fl, "_count") == 0)
            count = v;
        f->samples++;
    }
    for (size_t i = 0; i < nf; i++)
        if (!fams[i].helped || !fams[i].type[0] || !fams[i].samples) {
            fprintf(stderr, "  family %s incomplete\n", fams[i].name);
            bad++;
        }
    if (inf_bucket != count)
        bad++;
    return bad;
}

static void test_format(void)
{
    srv_metrics m;
    known(&m);
    srv_metrics_add_namespace(&m, "/", 3, 5);
    srv_metrics_add_namespace(&m, "/a\"b\\c\nd", 1, 1);
    char *t = render(&m);
    CHECK_EQ_INT(check_format(t), 0);
    free(t);
    srv_metrics_free(&m);
    /* the parser does refuse what is wrong */
    CHECK(check_format("foo 1\n") > 0);
    CHECK(check_format("# HELP a_total x\n# TYPE a_total counter\na_total{x=\"1} 2\n") > 0);
    CHECK(check_format("# HELP a_total x\n# TYPE a_total counter\na_total 2") > 0);
    CHECK(check_format("# HELP a x\n# TYPE a counter\na 2\n") > 0);
    CHECK_EQ_INT(check_format("# HELP a_total x\n# TYPE a_total counter\na_total{x=\"\\\"\"} 2\n"),
                 0);
}

int main(void)
{
    RUN_TEST(test_engine_lines);
    RUN_TEST(test_zero);
    RUN_TEST(test_socketio_lines);
    RUN_TEST(test_format);
    return TEST_SUMMARY();
}
