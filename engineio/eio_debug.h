/*
 * eio_debug: traces as Node's `debug` npm package (4.x) prints them, for the
 * engine (DEBUG=engine*) and the Socket.IO layer (DEBUG=socket.io*). Each
 * server reads its DEBUG value once, when it is made, into a bit set of its
 * namespaces; a trace whose namespace is off costs one integer test.
 *
 * Threading: every function may be called from any thread (the matching and
 * formatting are pure; eio_debug_print writes one line with one write).
 * Ownership: strings are borrowed for the call.
 */
#ifndef EIO_DEBUG_H
#define EIO_DEBUG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* 1 if the namespace name is enabled by spec (a DEBUG value), as debug's
 * enable() then enabled() decide it: names separated by commas or
 * whitespace, '*' matching any run of characters, a name starting with '-'
 * excluding what it matches (exclusions win). NULL or "": nothing. */
int eio_debug_enabled(const char *spec, const char *name);

/* One trace line as debug writes it when stderr is not a TTY:
 * "<ISO 8601 date> <name> <message>\n", the date from epoch_ms (UTC, ms).
 * Writes at most size bytes (a longer message is cut, the line still ends in
 * '\n'; size must be at least 2) and returns the length. */
size_t eio_debug_format_line(char *out, size_t size, int64_t epoch_ms, const char *name,
                             const char *message);

/* Packet data shown in a trace (Node shows the whole of it; this cuts it):
 * text up to EIO_DEBUG_DATA_MAX bytes with backslashes and control characters
 * escaped (\\, \xNN), then "... (N bytes)"; binary as "<binary N bytes>".
 * Writes a NUL-terminated string into out (at least 64 bytes) and returns
 * out. */
#define EIO_DEBUG_DATA_MAX 80
const char *eio_debug_data(char *out, size_t size, const void *data, size_t len, int binary);

/* A layer's namespaces (names[0..n), bit i for names[i]): the bits spec
 * enables, and the trace of bit ns printed with a printf format. */
unsigned eio_debug_mask(const char *spec, const char *const *names, size_t n);
void eio_debug_trace(const char *const *names, size_t n, unsigned ns, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* Prints one trace line for name (the wall clock's date) on stderr. */
void eio_debug_print(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
