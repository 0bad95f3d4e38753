/*
 * eio_stream: the one seam every byte to or from a peer goes through. A
 * connection (eio_conn.c) reads, writes (vectored) and closes through these
 * operations and never touches a descriptor itself, so the same session and
 * transport code runs over plain TCP, over TLS (OpenSSL, eio_tls.c) and over
 * a test double in the C unit tests.
 *
 * Contract of the operations (all non-blocking):
 *  - read: fills up to len bytes; returns the count (> 0), 0 at the peer's
 *    orderly end, EIO_STREAM_AGAIN when nothing can be read now, or
 *    EIO_STREAM_ERROR. Bytes may be readable without the descriptor being
 *    readable (TLS records already decrypted): pending() says how many.
 *  - writev: writes a prefix of the vector; returns the bytes taken (>= 0),
 *    EIO_STREAM_AGAIN, or EIO_STREAM_ERROR. A stream that returned AGAIN
 *    from a write must be given the same bytes again first (TLS).
 *  - shutdown: ends the writing side (TCP FIN; TLS close_notify then FIN).
 *  - free: closes the descriptor and frees the stream.
 *  - want_write is set by read or write when the stream needs the descriptor
 *    writable before it can go on (a TLS handshake or renegotiation).
 *
 * Threading: a stream is used by one thread at a time (the loop thread that
 * owns its connection). Ownership: a stream owns its descriptor.
 */
#ifndef EIO_STREAM_H
#define EIO_STREAM_H

#include <stddef.h>
#include <sys/uio.h>

enum { EIO_STREAM_AGAIN = -1, EIO_STREAM_ERROR = -2 };

typedef struct eio_stream eio_stream;

typedef struct eio_stream_ops {
    long (*read)(eio_stream *st, void *buf, size_t len);
    long (*writev)(eio_stream *st, const struct iovec *iov, int iovcnt);
    void (*shutdown)(eio_stream *st);
    void (*free)(eio_stream *st);
    size_t (*pending)(eio_stream *st); /* > 0: bytes to read without the fd readable */
} eio_stream_ops;

struct eio_stream {
    const eio_stream_ops *ops;
    int fd;         /* what the loop polls; -1 for a test double */
    int secure;     /* 1 over TLS */
    int want_write; /* see above */
};

/* A plain TCP stream over a connected non-blocking socket (owned). */
eio_stream *eio_stream_tcp_new(int fd);

/* TLS (OpenSSL 3): a server context loaded from PEM files, as Node's
 * https.createServer({key, cert}) takes them (the certificate file may hold
 * the chain). Returns NULL with a message in err on a missing file, a bad
 * certificate or key, or a key that does not match the certificate. TLS 1.2
 * and 1.3. Threading: the context is shared read-only by every loop. */
typedef struct eio_tls_ctx eio_tls_ctx;
eio_tls_ctx *eio_tls_ctx_new(const char *cert_file, const char *key_file, char *err, size_t errlen);
void eio_tls_ctx_free(eio_tls_ctx *ctx); /* NULL is a no-op */
/* A server-side TLS stream over a connected non-blocking socket (owned); the
 * handshake runs inside the first reads and writes, without blocking. */
eio_stream *eio_stream_tls_new(eio_tls_ctx *ctx, int fd);

#endif
