/*
 * eio-echo: a raw Engine.IO echo server. Every message a client sends, text or
 * binary, comes back to that client; the text message "close-me" makes the
 * server close that session instead (for testing server-side close).
 * --require-header NAME installs an allow_request callback that refuses
 * handshakes without that header (HTTP 403, "missing header NAME").
 *
 * Threading: main() only sets up and waits for a signal; the callbacks run
 * with the engine lock held (see engineio/eio_server.h).
 * Ownership: main owns the engine and the HTTP server and frees both.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engineio/eio_server.h"
#include "server/srv.h"

static void on_message(eio_socket *s, const uint8_t *data, size_t len, int binary, void *ud)
{
    (void)ud;
    if (!binary && len == 8 && memcmp(data, "close-me", 8) == 0) {
        eio_socket_close(s);
        return;
    }
    eio_socket_send(s, data, len, binary);
}

/* The header --require-header asks for; NULL: every handshake is allowed. */
static const char *required_header;

static int allow_request(const eio_request *req, char **message, void *ud)
{
    (void)ud;
    if (eio_request_header(req, required_header))
        return 1;
    size_t n = strlen("missing header ") + strlen(required_header) + 1;
    *message = malloc(n);
    if (*message)
        snprintf(*message, n, "missing header %s", required_header);
    return 0;
}

/* "polling,websocket" -> EIO_TRANSPORT_* bits; 0 if empty or unknown. */
static int parse_transports(const char *list)
{
    int bits = 0;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "polling"))
            bits |= EIO_TRANSPORT_POLLING;
        else if (!strcmp(t, "websocket"))
            bits |= EIO_TRANSPORT_WEBSOCKET;
        else
            return 0;
    }
    return bits;
}

static void usage(const char *prog)
{
    fprintf(
        stderr,
        "usage: %s [--port N] [--path P] [--ping-interval MS] [--ping-timeout MS]\n"
        "          [--max-payload BYTES] [--cors-origin ORIGIN[,ORIGIN...]|*]\n"
        "          [--max-clients N] [--log-level error|warn|info|debug]\n"
        "          [--upgrade-timeout MS] [--max-send-queue BYTES] [--cookie NAME]\n"
        "          [--transports polling,websocket] [--no-upgrades] [--no-eio3]\n"
        "          [--require-header NAME] [--host ADDR]... [--tls-cert FILE --tls-key FILE]\n"
        "          [--no-http-compression] [--per-message-deflate]\n"
        "  --upgrade-timeout MS    cancel an upgrade whose \"5\" is not sent within MS (10000)\n"
        "  --max-send-queue BYTES  close a session with more queued for it (4194304)\n"
        "  --cookie NAME           Set-Cookie: NAME=<sid>; Path=/; HttpOnly; SameSite=Lax\n"
        "  --transports LIST       transports allowed (polling,websocket)\n"
        "  --no-upgrades           no upgrade from polling to websocket (\"upgrades\":[])\n"
        "  --no-eio3               refuse protocol v3 clients (code 5)\n"
        "  --require-header NAME   refuse handshakes without header NAME\n"
        "                          (403 {\"code\":4,\"message\":\"missing header NAME\"})\n"
        "  --host ADDR             listen on ADDR only (repeatable; default: every address)\n"
        "  --tls-cert/--tls-key    PEM certificate and key: HTTPS and WSS on the port\n"
        "  --no-http-compression   polling answers never compressed (httpCompression off)\n"
        "  --per-message-deflate   WebSocket permessage-deflate (perMessageDeflate on)\n"
        "  --metrics               GET /metrics: the engine's counters (Prometheus text)\n",
        prog);
}

int main(int argc, char **argv)
{
    srv_block_signals();
    eio_options eo;
    srv_options so;
    eio_options_default(&eo);
    srv_options_default(&so);
    so.serve_client = 0; /* Engine.IO alone, as Node's engine.io: no client bundle */
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},
        {"path", required_argument, NULL, 'P'},
        {"ping-interval", required_argument, NULL, 'i'},
        {"ping-timeout", required_argument, NULL, 't'},
        {"max-payload", required_argument, NULL, 'm'},
        {"cors-origin", required_argument, NULL, 'c'},
        {"max-clients", required_argument, NULL, 'n'},
        {"log-level", required_argument, NULL, 'l'},
        {"upgrade-timeout", required_argument, NULL, 'u'},
        {"max-send-queue", required_argument, NULL, 'q'},
        {"cookie", required_argument, NULL, 'k'},
        {"transports", required_argument, NULL, 'T'},
        {"no-upgrades", no_argument, NULL, 'U'},
        {"no-eio3", no_argument, NULL, '3'},
        {"require-header", required_argument, NULL, 'r'},
        {"host", required_argument, NULL, 'H'},
        {"tls-cert", required_argument, NULL, 'E'},
        {"tls-key", required_argument, NULL, 'K'},
        {"no-http-compression", no_argument, NULL, 'Z'},
        {"per-message-deflate", no_argument, NULL, 'z'},
        {"metrics", no_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static char cors[4096];
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p': so.port = atoi(optarg); break;
        case 'P': so.path = optarg; break;
        case 'i': eo.ping_interval_ms = atoi(optarg); break;
        case 't': eo.ping_timeout_ms = atoi(optarg); break;
        case 'm': eo.max_payload = strtoul(optarg, NULL, 10); break;
        case 'c':
            if (cors[0])
                strncat(cors, ",", sizeof(cors) - strlen(cors) - 1);
            strncat(cors, optarg, sizeof(cors) - strlen(cors) - 1);
            so.cors_origin = cors;
            so.cors_credentials = 1;
            break;
        case 'n': so.max_clients = strtoul(optarg, NULL, 10); break;
        case 'l': so.log_level = srv_log_level_from_name(optarg); break;
        case 'u': eo.upgrade_timeout_ms = atoi(optarg); break;
        case 'q': eo.max_send_queue = strtoul(optarg, NULL, 10); break;
        case 'k': eo.cookie = optarg; break;
        case 'T':
            eo.transports = parse_transports(optarg);
            if (!eo.transports) {
                fprintf(stderr, "%s: --transports: a list of polling and websocket\n", argv[0]);
                return 2;
            }
            break;
        case 'U': eo.allow_upgrades = 0; break;
        case '3': eo.allow_eio3 = 0; break;
        case 'r': required_header = optarg; break;
        case 'H': srv_add_host(&so, optarg); break;
        case 'E': so.tls_cert = optarg; break;
        case 'K': so.tls_key = optarg; break;
        case 'Z': eo.http_compression = 0; break;
        case 'z': eo.per_message_deflate = 1; break;
        case 'M': so.metrics = 1; break;
        case 'h': usage(argv[0]); return 0;
        default: usage(argv[0]); return 2;
        }
    }
    eo.max_clients = so.max_clients;
    eo.log_level = so.log_level;
    eo.log = srv_engine_log;
    eio_callbacks cbs = {.on_message = on_message};
    if (required_header)
        cbs.allow_request = allow_request;
    eio_server *engine = eio_server_new(&eo, &cbs, NULL);
    srv_server *http = srv_new(&so, engine);
    if (!http || srv_start(http) != 0) {
        srv_free(http);
        eio_server_free(engine);
        return 1;
    }
    printf("eio-echo listening on %s://localhost:%d%s\n", srv_is_tls(http) ? "https" : "http",
           srv_port(http), so.path);
    fflush(stdout);
    int sig = srv_wait_for_signal();
    srv_log(SRV_LOG_INFO, "signal %d: closing every session", sig);
    srv_stop(http);
    srv_free(http);
    eio_server_free(engine);
    return 0;
}
