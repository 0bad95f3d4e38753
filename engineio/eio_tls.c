/*
 * eio_tls: TLS streams with OpenSSL 3 (see eio_stream.h). The server context
 * is loaded once from PEM files; each connection gets an SSL object on its
 * non-blocking socket, in accept state, so the handshake runs inside the first
 * reads and writes without ever blocking the loop. Idle connections keep
 * little memory: SSL_MODE_RELEASE_BUFFERS gives the record buffers back
 * whenever they are empty.
 *
 * Writes coalesce the vector into records of up to 16 KiB (one SSL_write
 * each, partial writes enabled); after WANT_WRITE the caller offers the same
 * bytes again, which SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER allows from another
 * address.
 *
 * Threading: a context is shared read-only by every loop thread (OpenSSL 3
 * contexts are thread-safe for that); a stream is used by its loop only.
 * Ownership: a stream owns its SSL object and socket.
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "eio_buf.h"
#include "eio_stream.h"

struct eio_tls_ctx {
    SSL_CTX *ctx;
};

typedef struct tls_stream {
    eio_stream base;
    SSL *ssl;
    int failed;
} tls_stream;

static void last_error(char *err, size_t errlen, const char *what, const char *file)
{
    unsigned long e = ERR_get_error();
    char reason[256] = "";
    if (e)
        ERR_error_string_n(e, reason, sizeof(reason));
    snprintf(err, errlen, "%s %s: %s", what, file, e ? reason : strerror(errno));
    ERR_clear_error();
}

eio_tls_ctx *eio_tls_ctx_new(const char *cert_file, const char *key_file, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        last_error(err, errlen, "cannot create a TLS context", "");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* Read ahead: one read takes every record the socket holds (not the
     * 5-byte header, then the body); what stays buffered is reported by
     * pending(), and the loop comes back for it (eio_conn.c). */
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* A peer that drops the connection without close_notify (browsers do) has
     * ended it, as over TCP: "transport close", not an error. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* Clients that resume save the handshake's asymmetric work. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        last_error(err, errlen, "cannot load the TLS certificate", cert_file);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        last_error(err, errlen, "cannot load the TLS key", key_file);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "the TLS key %s does not match the certificate %s", key_file,
                 cert_file);
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return NULL;
    }
    eio_tls_ctx *c = eio_calloc(1, sizeof(*c));
    c->ctx = ctx;
    return c;
}

void eio_tls_ctx_free(eio_tls_ctx *c)
{
    if (!c)
        return;
    SSL_CTX_free(c->ctx);
    free(c);
}

/* Maps an SSL_read/SSL_write result to the stream contract. */
static long tls_result(tls_stream *t, int r)
{
    int e = SSL_get_error(t->ssl, r);
    switch (e) {
    case SSL_ERROR_WANT_READ: return EIO_STREAM_AGAIN;
    case SSL_ERROR_WANT_WRITE: t->base.want_write = 1; return EIO_STREAM_AGAIN;
    case SSL_ERROR_ZERO_RETURN: return 0;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return EIO_STREAM_AGAIN;
        t->failed = 1;
        return r == 0 ? 0 : EIO_STREAM_ERROR; /* an end without close_notify */
    default:
        /* A failed handshake (not TLS, no shared cipher, ...): the peer is
         * dropped; the loop logs the connection's end at debug level. */
        ERR_clear_error();
        t->failed = 1;
        return EIO_STREAM_ERROR;
    }
}

static long tls_read(eio_stream *st, void *buf, size_t len)
{
    tls_stream *t = (tls_stream *)st;
    if (t->failed)
        return EIO_STREAM_ERROR;
    st->want_write = 0;
    size_t got = 0;
    int r = SSL_read_ex(t->ssl, buf, len, &got);
    if (r == 1)
        return (long)got;
    return tls_result(t, 0);
}

static long tls_writev(eio_stream *st, const struct iovec *iov, int iovcnt)
{
    tls_stream *t = (tls_stream *)st;
    if (t->failed)
        return EIO_STREAM_ERROR;
    st->want_write = 0;
    uint8_t rec[16384];
    size_t total = 0;
    for (;;) {
        /* The next record's worth of bytes, from where the last one ended. */
        size_t fill = 0, skip = total;
        const void *direct = NULL;
        for (int i = 0; i < iovcnt && fill < sizeof(rec); i++) {
            if (skip >= iov[i].iov_len) {
                skip -= iov[i].iov_len;
                continue;
            }
            size_t take = iov[i].iov_len - skip;
            if (fill == 0 && take >= sizeof(rec)) {
                direct = (const uint8_t *)iov[i].iov_base + skip; /* a large frame: no copy */
                fill = sizeof(rec);
                break;
            }
            if (take > sizeof(rec) - fill)
                take = sizeof(rec) - fill;
            memcpy(rec + fill, (const uint8_t *)iov[i].iov_base + skip, take);
            fill += take;
            skip = 0;
        }
        if (fill == 0)
            return (long)total;
        size_t written = 0;
        int r = SSL_write_ex(t->ssl, direct ? direct : rec, fill, &written);
        if (r != 1) {
            long e = tls_result(t, 0);
            if (total && e == EIO_STREAM_AGAIN)
                return (long)total;
            return e == 0 ? EIO_STREAM_ERROR : e;
        }
        total += written;
    }
}

static void tls_shutdown(eio_stream *st)
{
    tls_stream *t = (tls_stream *)st;
    if (!t->failed && SSL_is_init_finished(t->ssl))
        SSL_shutdown(t->ssl); /* close_notify; the peer's answer is not awaited */
    ERR_clear_error();
    shutdown(st->fd, SHUT_WR);
}

static void tls_free(eio_stream *st)
{
    tls_stream *t = (tls_stream *)st;
    SSL_free(t->ssl);
    ERR_clear_error();
    if (st->fd >= 0)
        close(st->fd);
    free(t);
}

static size_t tls_pending(eio_stream *st)
{
    tls_stream *t = (tls_stream *)st;
    if (t->failed)
        return 0;
    int n = SSL_pending(t->ssl); /* decrypted bytes */
    if (n > 0)
        return (size_t)n;
    return SSL_has_pending(t->ssl) ? 1 : 0; /* records read ahead, not decrypted yet */
}

static const eio_stream_ops tls_ops = {tls_read, tls_writev, tls_shutdown, tls_free, tls_pending};

eio_stream *eio_stream_tls_new(eio_tls_ctx *ctx, int fd)
{
    SSL *ssl = SSL_new(ctx->ctx);
    if (!ssl) {
        ERR_clear_error();
        close(fd);
        return NULL;
    }
    SSL_set_fd(ssl, fd);
    SSL_set_accept_state(ssl);
    tls_stream *t = eio_calloc(1, sizeof(*t));
    t->base.ops = &tls_ops;
    t->base.fd = fd;
    t->base.secure = 1;
    t->ssl = ssl;
    return &t->base;
}
