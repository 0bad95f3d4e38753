/*
 * Shared command-line handling for the example servers (see common.h).
 * Threading: main thread only. Ownership: option strings point into argv or
 * static storage.
 */
#include "examples/common.h"
#include "server/srv_metrics.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(const char *name)
{
    fprintf(
        stderr,
        "usage: %s [--port N] [--ping-interval MS] [--ping-timeout MS]\n"
        "          [--connect-timeout MS] [--max-payload BYTES]\n"
        "          [--cors-origin ORIGIN[,ORIGIN...]|*] [--max-clients N]\n"
        "          [--log-level error|warn|info|debug] [--host ADDR]...\n"
        "          [--tls-cert FILE --tls-key FILE] [--cookie NAME] [--parser default|msgpack]\n"
        "          [--recovery[=MAX_DISCONNECTION_MS]]\n"
        "          [--no-serve-client] [--client-dist DIR] [--no-http-compression]\n"
        "          [--per-message-deflate]\n"
        "          [--adapter redis://HOST:PORT [--adapter-mode classic|sharded]\n"
        "           [--adapter-key PREFIX] [--subscription-mode static|dynamic|dynamic-private]\n"
        "           [--requests-timeout MS] [--publish-on-specific-response-channel]]\n",
        name);
    fprintf(stderr, "          [--admin-ui] [--admin-auth USER:BCRYPT_HASH] [--admin-readonly]\n"
                    "          [--admin-mode development|production] [--admin-namespace NAME]\n"
                    "          [--admin-server-id ID] [--metrics]\n"
                    "          [--max-json-depth N] [--binary-packet-timeout MS]\n"
                    "          [--max-binary-packet-bytes N] [--max-kept-acks N]\n");
}

/* The --admin-* flags (long options only, past the characters). */
enum {
    OPT_ADMIN_UI = 0x100,
    OPT_ADMIN_AUTH,
    OPT_ADMIN_READONLY,
    OPT_ADMIN_MODE,
    OPT_ADMIN_NAMESPACE,
    OPT_ADMIN_SERVER_ID,
    OPT_METRICS,
    OPT_MAX_JSON_DEPTH, /* sio_options limits (issue 12) */
    OPT_BINARY_PACKET_TIMEOUT,
    OPT_MAX_BINARY_PACKET_BYTES,
    OPT_MAX_KEPT_ACKS,
};

/* One --admin-* flag into o->admin; 0, or 2 after a message. */
static int admin_flag(int ch, const char *arg, const char *name, example_opts *o)
{
    static char username[256];
    o->admin_ui = 1;
    switch (ch) {
    case OPT_ADMIN_AUTH: {
        const char *colon = strrchr(arg, ':'); /* a bcrypt hash has no ':' */
        size_t n = colon ? (size_t)(colon - arg) : 0;
        if (!colon || n == 0 || n >= sizeof(username)) {
            fprintf(stderr, "%s: --admin-auth is USER:BCRYPT_HASH\n", name);
            return 2;
        }
        memcpy(username, arg, n);
        username[n] = 0;
        o->admin.auth = SIO_ADMIN_AUTH_BASIC;
        o->admin.username = username;
        o->admin.password_hash = colon + 1;
        break;
    }
    case OPT_ADMIN_READONLY: o->admin.readonly = 1; break;
    case OPT_ADMIN_MODE:
        if (strcmp(arg, "development") == 0) {
            o->admin.mode = SIO_ADMIN_MODE_DEVELOPMENT;
        } else if (strcmp(arg, "production") == 0) {
            o->admin.mode = SIO_ADMIN_MODE_PRODUCTION;
        } else {
            fprintf(stderr, "%s: --admin-mode is development or production\n", name);
            return 2;
        }
        break;
    case OPT_ADMIN_NAMESPACE: o->admin.namespace_name = arg; break;
    case OPT_ADMIN_SERVER_ID: o->admin.server_id = arg; break;
    default: break;
    }
    return 0;
}

int example_parse(int argc, char **argv, const char *name, example_opts *o)
{
    static char cors[4096];
    sio_options_default(&o->sio);
    srv_options_default(&o->srv);
    clu_options_default(&o->cluster_opts);
    sio_admin_options_default(&o->admin);
    o->admin_ui = 0;
    o->cluster = NULL;
    const char *adapter = NULL;
    o->srv.path = "/socket.io/";
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},
        {"ping-interval", required_argument, NULL, 'i'},
        {"ping-timeout", required_argument, NULL, 't'},
        {"connect-timeout", required_argument, NULL, 'C'},
        {"max-payload", required_argument, NULL, 'm'},
        {"cors-origin", required_argument, NULL, 'c'},
        {"max-clients", required_argument, NULL, 'n'},
        {"log-level", required_argument, NULL, 'l'},
        {"host", required_argument, NULL, 'H'},
        {"tls-cert", required_argument, NULL, 'E'},
        {"tls-key", required_argument, NULL, 'K'},
        {"cookie", required_argument, NULL, 'o'},
        {"parser", required_argument, NULL, 'x'},
        {"recovery", optional_argument, NULL, 'r'},
        {"adapter", required_argument, NULL, 'A'},
        {"adapter-mode", required_argument, NULL, 'M'},
        {"adapter-key", required_argument, NULL, 'k'},
        {"subscription-mode", required_argument, NULL, 'S'},
        {"requests-timeout", required_argument, NULL, 'R'},
        {"publish-on-specific-response-channel", no_argument, NULL, 'P'},
        {"no-serve-client", no_argument, NULL, 'N'},
        {"client-dist", required_argument, NULL, 'D'},
        {"no-http-compression", no_argument, NULL, 'Z'},
        {"per-message-deflate", no_argument, NULL, 'z'},
        {"admin-ui", no_argument, NULL, OPT_ADMIN_UI},
        {"admin-auth", required_argument, NULL, OPT_ADMIN_AUTH},
        {"admin-readonly", no_argument, NULL, OPT_ADMIN_READONLY},
        {"admin-mode", required_argument, NULL, OPT_ADMIN_MODE},
        {"admin-namespace", required_argument, NULL, OPT_ADMIN_NAMESPACE},
        {"admin-server-id", required_argument, NULL, OPT_ADMIN_SERVER_ID},
        {"metrics", no_argument, NULL, OPT_METRICS},
        {"max-json-depth", required_argument, NULL, OPT_MAX_JSON_DEPTH},
        {"binary-packet-timeout", required_argument, NULL, OPT_BINARY_PACKET_TIMEOUT},
        {"max-binary-packet-bytes", required_argument, NULL, OPT_MAX_BINARY_PACKET_BYTES},
        {"max-kept-acks", required_argument, NULL, OPT_MAX_KEPT_ACKS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p': o->srv.port = atoi(optarg); break;
        case 'i': o->sio.engine.ping_interval_ms = atoi(optarg); break;
        case 't': o->sio.engine.ping_timeout_ms = atoi(optarg); break;
        case 'C': o->sio.connect_timeout_ms = atoi(optarg); break;
        case 'm': o->sio.engine.max_payload = strtoul(optarg, NULL, 10); break;
        case 'c':
            if (cors[0])
                strncat(cors, ",", sizeof(cors) - strlen(cors) - 1);
            strncat(cors, optarg, sizeof(cors) - strlen(cors) - 1);
            o->srv.cors_origin = cors;
            o->srv.cors_credentials = 1;
            break;
        case 'n': o->srv.max_clients = strtoul(optarg, NULL, 10); break;
        case 'l': o->srv.log_level = srv_log_level_from_name(optarg); break;
        case 'H': srv_add_host(&o->srv, optarg); break;
        case 'E': o->srv.tls_cert = optarg; break;
        case 'K': o->srv.tls_key = optarg; break;
        case 'o': o->sio.engine.cookie = optarg; break;
        case 'r': /* --recovery[=MAX_DISCONNECTION_MS] */
            o->sio.recovery.enabled = 1;
            if (optarg)
                o->sio.recovery.max_disconnection_duration_ms = atoi(optarg);
            break;
        case 'x':
            if (strcmp(optarg, "msgpack") == 0) {
                o->sio.parser = &sio_parser_msgpack;
            } else if (strcmp(optarg, "default") != 0) {
                fprintf(stderr, "%s: --parser is default or msgpack\n", name);
                return 2;
            }
            break;
        case 'A': adapter = optarg; break;
        case 'M':
            if (strcmp(optarg, "classic") && strcmp(optarg, "sharded")) {
                fprintf(stderr, "%s: --adapter-mode is classic or sharded\n", name);
                return 2;
            }
            o->cluster_opts.kind = strcmp(optarg, "sharded") == 0 ? CLU_SHARDED : CLU_CLASSIC;
            break;
        case 'k':
            o->cluster_opts.key = optarg;
            o->cluster_opts.channel_prefix = optarg;
            break;
        case 'S':
            o->cluster_opts.subscription_mode = clu_subscription_mode(optarg);
            if (o->cluster_opts.subscription_mode < 0) {
                fprintf(stderr, "%s: --subscription-mode is static, dynamic or dynamic-private\n",
                        name);
                return 2;
            }
            break;
        case 'R': o->cluster_opts.requests_timeout_ms = atoi(optarg); break;
        case 'P': o->cluster_opts.publish_on_specific_response_channel = 1; break;
        case 'N': o->srv.serve_client = 0; break;
        case 'D': o->srv.client_dist = optarg; break;
        case 'Z': o->sio.engine.http_compression = 0; break;
        case 'z': o->sio.engine.per_message_deflate = 1; break;
        case OPT_ADMIN_UI:
        case OPT_ADMIN_AUTH:
        case OPT_ADMIN_READONLY:
        case OPT_ADMIN_MODE:
        case OPT_ADMIN_NAMESPACE:
        case OPT_ADMIN_SERVER_ID:
            if (admin_flag(ch, optarg, name, o))
                return 2;
            break;
        case OPT_METRICS: o->srv.metrics = 1; break;
        case OPT_MAX_JSON_DEPTH: o->sio.max_json_depth = atoi(optarg); break;
        case OPT_BINARY_PACKET_TIMEOUT: o->sio.binary_packet_timeout_ms = atoi(optarg); break;
        case OPT_MAX_BINARY_PACKET_BYTES:
            o->sio.max_binary_packet_bytes = strtoul(optarg, NULL, 10);
            break;
        case OPT_MAX_KEPT_ACKS: o->sio.max_kept_acks = strtoul(optarg, NULL, 10); break;
        case 'h': usage(name); return 1;
        default: usage(name); return 2;
        }
    }
    o->sio.engine.max_clients = o->srv.max_clients;
    o->sio.engine.log_level = o->srv.log_level;
    o->sio.engine.log = srv_engine_log;
    if (o->admin_ui) {
        if (o->admin.auth == SIO_ADMIN_AUTH_UNSET)
            o->admin.auth = SIO_ADMIN_AUTH_NONE; /* auth: false */
        const char *why = sio_admin_options_error(&o->admin);
        if (why) {
            fprintf(stderr, "%s: admin UI: %s\n", name, why);
            return 2;
        }
    }
    if (adapter) {
        o->cluster_opts.url = adapter;
        o->cluster = clu_new(&o->cluster_opts);
        if (!o->cluster) {
            fprintf(stderr, "%s: --adapter wants a redis://HOST:PORT URL, not %s\n", name, adapter);
            return 2;
        }
        o->sio.adapter = clu_adapter;
        o->sio.adapter_ud = o->cluster;
    }
    return 0;
}

/* The Socket.IO part of a /metrics scrape (engine lock held). */
static void metrics_namespace(const sio_namespace_stats *st, void *ud)
{
    srv_metrics_add_namespace(ud, st->name, st->sockets, st->rooms);
}

static void metrics_socketio(struct srv_metrics *m, void *ud)
{
    m->socketio = 1;
    sio_server_stats(ud, metrics_namespace, m);
}

void example_metrics_source(srv_options *so, sio_server *io)
{
    so->metrics_source = metrics_socketio;
    so->metrics_source_ud = io;
}

int example_run(const char *name, example_opts *o, sio_server *io)
{
    if (o->admin_ui) { /* instrument(io, opts) */
        eio_server_lock(sio_server_engine(io));
        int r = sio_admin_instrument(io, &o->admin);
        eio_server_unlock(sio_server_engine(io));
        if (r != 0) {
            fprintf(stderr, "%s: admin UI: %s\n", name, sio_strerror(r));
            sio_server_free(io);
            clu_free(o->cluster);
            return 1;
        }
        if (o->admin.auth == SIO_ADMIN_AUTH_NONE)
            srv_log(SRV_LOG_WARN, "admin UI on %s without authentication: use with caution",
                    o->admin.namespace_name);
    }
    example_metrics_source(&o->srv, io);
    srv_server *http = srv_new(&o->srv, sio_server_engine(io));
    if (!http || srv_start(http) != 0) {
        srv_free(http);
        sio_server_free(io);
        clu_free(o->cluster);
        return 1;
    }
    printf("%s listening on %s://localhost:%d%s\n", name, srv_is_tls(http) ? "https" : "http",
           srv_port(http), o->srv.path);
    fflush(stdout);
    int sig = srv_wait_for_signal();
    srv_log(SRV_LOG_INFO, "signal %d: closing every connection", sig);
    srv_stop(http);
    srv_free(http);
    sio_server_free(io);
    clu_free(o->cluster);
    return 0;
}
