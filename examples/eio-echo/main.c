/*
 * eio-echo: a raw Engine.IO echo server. Every message a client sends, text or
 * binary, comes back to that client; the text message "close-me" makes the
 * server close that session instead (for testing server-side close).
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

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [--port N] [--path P] [--ping-interval MS] [--ping-timeout MS]\n"
            "          [--max-payload BYTES] [--cors-origin ORIGIN[,ORIGIN...]|*]\n"
            "          [--max-clients N] [--log-level error|warn|info|debug]\n",
            prog);
}

static int parse_level(const char *s)
{
    if (!strcmp(s, "error"))
        return SRV_LOG_ERROR;
    if (!strcmp(s, "warn"))
        return SRV_LOG_WARN;
    if (!strcmp(s, "debug"))
        return SRV_LOG_DEBUG;
    return SRV_LOG_INFO;
}

int main(int argc, char **argv)
{
    srv_block_signals();
    eio_options eo;
    srv_options so;
    eio_options_default(&eo);
    srv_options_default(&so);
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},
        {"path", required_argument, NULL, 'P'},
        {"ping-interval", required_argument, NULL, 'i'},
        {"ping-timeout", required_argument, NULL, 't'},
        {"max-payload", required_argument, NULL, 'm'},
        {"cors-origin", required_argument, NULL, 'c'},
        {"max-clients", required_argument, NULL, 'n'},
        {"log-level", required_argument, NULL, 'l'},
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
        case 'l': so.log_level = parse_level(optarg); break;
        case 'h': usage(argv[0]); return 0;
        default: usage(argv[0]); return 2;
        }
    }
    eo.max_clients = so.max_clients;
    eo.log_level = so.log_level;
    eo.log = srv_engine_log;
    eio_callbacks cbs = {.on_message = on_message};
    eio_server *engine = eio_server_new(&eo, &cbs, NULL);
    srv_server *http = srv_new(&so, engine);
    if (!http || srv_start(http) != 0) {
        srv_free(http);
        eio_server_free(engine);
        return 1;
    }
    printf("eio-echo listening on http://localhost:%d%s\n", srv_port(http), so.path);
    fflush(stdout);
    int sig = srv_wait_for_signal();
    srv_log(SRV_LOG_INFO, "signal %d: closing every session", sig);
    srv_stop(http);
    srv_free(http);
    eio_server_free(engine);
    return 0;
}
