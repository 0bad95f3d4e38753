/*
 * eio_compress: gzip and deflate with zlib (Debian's zlib1g), with the
 * parameters Node's zlib streams default to, so a client inflates our bytes
 * as it inflates Node's (the bytes themselves may differ: Node bundles its
 * own zlib). One deflate call with Z_FINISH into room reserved up front
 * (deflateBound), so the output is never copied; the state (about 256 KiB
 * for these parameters) lives only during the call.
 *
 * Threading: any thread; no shared state.
 * Ownership: the caller owns out; zlib's state is freed before returning.
 */
#include "eio_compress.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#define WINDOW_BITS 15 /* Node's default windowBits (32 KiB) */
#define MEM_LEVEL   8  /* Node's default memLevel */

const char *eio_coding_name(eio_coding coding)
{
    switch (coding) {
    case EIO_CODING_GZIP: return "gzip";
    case EIO_CODING_DEFLATE: return "deflate";
    default: return NULL;
    }
}

int eio_compress(eio_coding coding, const void *in, size_t len, eio_buf *out)
{
    if (!eio_coding_name(coding))
        return -1;
    z_stream z = {0};
    int bits = WINDOW_BITS + (coding == EIO_CODING_GZIP ? 16 : 0);
    int r =
        deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, bits, MEM_LEVEL, Z_DEFAULT_STRATEGY);
    if (r == Z_MEM_ERROR)
        eio_oom();
    if (r != Z_OK) {
        fprintf(stderr, "fatal: zlib deflateInit2: %d\n", r);
        abort();
    }
    size_t room = deflateBound(&z, (uLong)len);
    uint8_t *dst = eio_buf_reserve(out, room);
    const uint8_t *src = in;
    size_t left = len;
    z.next_out = dst;
    do {
        /* zlib counts in uInt: fed and drained at most UINT_MAX at a time. */
        uInt take = left > UINT_MAX ? UINT_MAX : (uInt)left;
        size_t space = room - (size_t)(z.next_out - dst);
        z.next_in = (Bytef *)(uintptr_t)src;
        z.avail_in = take;
        z.avail_out = space > UINT_MAX ? UINT_MAX : (uInt)space;
        r = deflate(&z, left == take ? Z_FINISH : Z_NO_FLUSH);
        src += take - z.avail_in;
        left -= take - z.avail_in;
    } while (r == Z_OK);
    if (r != Z_STREAM_END) {
        /* The room is deflateBound's: only a zlib bug gets here. */
        fprintf(stderr, "fatal: zlib deflate: %d\n", r);
        abort();
    }
    size_t written = (size_t)(z.next_out - dst);
    deflateEnd(&z);
    eio_buf_advance(out, written);
    return 0;
}
