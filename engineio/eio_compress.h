/*
 * eio_compress: the HTTP content codings the servers answer with, as Node's
 * zlib makes them: gzip and deflate (zlib.createGzip() and createDeflate()
 * with their defaults: level 6, a 32 KiB window, memLevel 8). Pure: bytes in,
 * bytes out, no I/O, no globals. Used by the polling transport (engine.io's
 * httpCompression) and by server/ for the client bundle (socket.io's
 * serveClient), which picks the coding with eio_http_accept_encoding.
 *
 * Threading: any thread; no shared state.
 * Ownership: the output is appended to the caller's buffer; out of memory
 * aborts (house rule), so nothing here fails on a valid coding.
 */
#ifndef EIO_COMPRESS_H
#define EIO_COMPRESS_H

#include <stddef.h>

#include "eio_buf.h"

typedef enum eio_coding {
    EIO_CODING_GZIP = 1,    /* "gzip": a gzip member (RFC 1952) */
    EIO_CODING_DEFLATE = 2, /* "deflate": a zlib stream (RFC 1950), as HTTP means it */
} eio_coding;

/* The coding's name in Content-Encoding ("gzip", "deflate"); NULL if unknown. */
const char *eio_coding_name(eio_coding coding);

/* Compresses in[0..len) whole and appends the result to out (zlib's
 * deflateBound(len) is reserved first, so the output is written once).
 * Returns 0, or -1 (out untouched) for an unknown coding. */
int eio_compress(eio_coding coding, const void *in, size_t len, eio_buf *out);

#endif
