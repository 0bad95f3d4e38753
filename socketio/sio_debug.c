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

unsigned sio__debug_mask(const char *spec)
{
    unsigned mask = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        if (eio_debug_enabled(spec, names[i]))
            mask |= 1u << i;
    return mask;
}

void sio__debug(unsigned ns, const char *fmt, ...)
{
    const char *name = names[0];
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        if (ns == 1u << i)
            name = names[i];
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    eio_debug_print(name, "%s", msg);
}
