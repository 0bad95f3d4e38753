/*
 * sio_debug: the Socket.IO layer's namespaces of Node's `debug` package
 * (socket.io:server, socket.io:namespace, socket.io:socket,
 * socket.io:client, socket.io-parser), matched and printed by
 * engineio/eio_debug.c. The server keeps its mask (sio_server.debug), set
 * once by sio_server_new.
 *
 * Threading: any thread; nothing here keeps state.
 * Ownership: nothing is allocated.
 */
#include <stdarg.h>
#include <stdio.h>

#include "engineio/eio_debug.h"
#include "socketio/sio_internal.h"

static const char *const names[] = {"socket.io:server", "socket.io:namespace", "socket.io:socket",
                                    "socket.io:client", "socket.io-parser"};

#define N_NAMES (sizeof(names) / sizeof(*names))

unsigned sio__debug_mask(const char *spec)
{
    return eio_debug_mask(spec, names, N_NAMES);
}

void sio__debug(unsigned ns, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    eio_debug_trace(names, N_NAMES, ns, fmt, ap);
    va_end(ap);
}
