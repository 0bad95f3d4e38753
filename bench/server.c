/*
 * bench-server: the C side of the benchmark (bench/run.sh, bench/loadgen.c).
 * The same contract as bench/node-ref/server.js, namespace "/":
 *   echo(...args, ack)           acks with its arguments
 *   join(room, ack)              joins room, acks with no arguments
 *   broadcast(room, payload, ack) emits "bcast" with payload to room, then acks
 *
 * Flags: --port N (3000), --max-clients N (19500), --max-send-queue BYTES
 * (the engine's per-connection write queue cap, 4 MiB), --log-level LEVEL,
 * --adapter redis://HOST:PORT [--adapter-mode classic|sharded] (one node of a
 * cluster: bench/cluster.sh).
 * Prints "bench-server listening on http://localhost:<port>/socket.io/".
 *
 * Threading: handlers run with the engine lock held, one at a time.
 * Ownership: arguments received are borrowed; what is sent is a copy.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/common.h"

static sio_namespace *g_root;

static void on_echo(sio_socket *s, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)s;
    (void)ud;
    if (ack)
        sio_ack_send(ack, sio_args_copy(args));
}

static void on_join(sio_socket *s, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)ud;
    const cJSON *room = sio_args_get(args, 0);
    if (cJSON_IsString(room))
        sio_socket_join(s, room->valuestring);
    if (ack)
        sio_ack_send(ack, NULL);
}

static void on_broadcast(sio_socket *s, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)s;
    (void)ud;
    const cJSON *room = sio_args_get(args, 0);
    const cJSON *payload = sio_args_get(args, 1);
    if (cJSON_IsString(room)) {
        sio_args *out = sio_args_new();
        if (payload)
            sio_args_add(out, cJSON_Duplicate(payload, 1));
        sio_emit(sio_to(g_root, room->valuestring), "bcast", out);
    }
    if (ack)
        sio_ack_send(ack, NULL);
}

static void on_connection(sio_socket *s, void *ud)
{
    (void)ud;
    sio_socket_on(s, "echo", on_echo, NULL);
    sio_socket_on(s, "join", on_join, NULL);
    sio_socket_on(s, "broadcast", on_broadcast, NULL);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench-server [--port N] [--max-clients N] [--max-send-queue BYTES]\n"
            "                    [--log-level error|warn|info|debug]\n"
            "                    [--adapter redis://HOST:PORT [--adapter-mode classic|sharded]]\n"
            "                    [--parser default|msgpack] [--recovery] [--write-threads N]\n"
            "                    [--per-message-deflate]\n");
}

int main(int argc, char **argv)
{
    srv_block_signals();
    example_opts o;
    sio_options_default(&o.sio);
    srv_options_default(&o.srv);
    clu_options_default(&o.cluster_opts);
    sio_admin_options_default(&o.admin);
    o.admin_ui = 0; /* example_run reads it: no admin UI here */
    o.cluster = NULL;
    const char *adapter = NULL;
    o.srv.path = "/socket.io/";
    o.srv.port = 3000;
    o.srv.max_clients = 19500;
    o.srv.log_level = SRV_LOG_WARN;
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},
        {"max-clients", required_argument, NULL, 'n'},
        {"max-send-queue", required_argument, NULL, 'q'},
        {"log-level", required_argument, NULL, 'l'},
        {"host", required_argument, NULL, 'H'},
        {"tls-cert", required_argument, NULL, 'E'},
        {"tls-key", required_argument, NULL, 'K'},
        {"adapter", required_argument, NULL, 'A'},
        {"adapter-mode", required_argument, NULL, 'M'},
        {"parser", required_argument, NULL, 'x'},
        {"recovery", no_argument, NULL, 'r'},
        {"write-threads", required_argument, NULL, 'w'},
        {"per-message-deflate", no_argument, NULL, 'z'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p': o.srv.port = atoi(optarg); break;
        case 'n': o.srv.max_clients = strtoul(optarg, NULL, 10); break;
        case 'q': o.sio.engine.max_send_queue = strtoul(optarg, NULL, 10); break;
        case 'l': o.srv.log_level = srv_log_level_from_name(optarg); break;
        case 'H': srv_add_host(&o.srv, optarg); break;
        case 'E': o.srv.tls_cert = optarg; break;
        case 'K': o.srv.tls_key = optarg; break;
        case 'A': adapter = optarg; break;
        case 'M':
            o.cluster_opts.kind = strcmp(optarg, "sharded") == 0 ? CLU_SHARDED : CLU_CLASSIC;
            break;
        case 'x':
            if (strcmp(optarg, "msgpack") == 0) {
                o.sio.parser = &sio_parser_msgpack;
            } else if (strcmp(optarg, "default") != 0) {
                usage();
                return 2;
            }
            break;
        case 'r': o.sio.recovery.enabled = 1; break;
        case 'w': o.sio.engine.write_threads = atoi(optarg); break;
        case 'z': o.sio.engine.per_message_deflate = 1; break;
        case 'h': usage(); return 0;
        default: usage(); return 2;
        }
    }
    o.sio.engine.max_clients = o.srv.max_clients;
    o.sio.engine.log_level = o.srv.log_level;
    o.sio.engine.log = srv_engine_log;
    if (adapter) {
        o.cluster_opts.url = adapter;
        if (!(o.cluster = clu_new(&o.cluster_opts))) {
            fprintf(stderr, "bench-server: --adapter wants redis://HOST:PORT\n");
            return 2;
        }
        o.sio.adapter = clu_adapter;
        o.sio.adapter_ud = o.cluster;
    }
    sio_server *io = sio_server_new(&o.sio);
    eio_server_lock(sio_server_engine(io));
    g_root = sio_of(io, "/");
    sio_on_connection(g_root, on_connection, NULL);
    eio_server_unlock(sio_server_engine(io));
    return example_run("bench-server", &o, io);
}
