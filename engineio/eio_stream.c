/*
 * eio_stream: the plain TCP stream (see eio_stream.h for the contract).
 * Every read and write is non-blocking; SIGPIPE is never raised
 * (MSG_NOSIGNAL).
 *
 * Threading: one thread at a time per stream (its loop).
 * Ownership: the stream owns its socket and closes it in free.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "eio_buf.h"
#include "eio_stream.h"

static long tcp_read(eio_stream *st, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = recv(st->fd, buf, len, MSG_DONTWAIT);
        if (n >= 0)
            return (long)n;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? EIO_STREAM_AGAIN : EIO_STREAM_ERROR;
    }
}

static long tcp_writev(eio_stream *st, const struct iovec *iov, int iovcnt)
{
    struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
    for (;;) {
        ssize_t n = sendmsg(st->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0)
            return (long)n;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? EIO_STREAM_AGAIN : EIO_STREAM_ERROR;
    }
}

static void tcp_shutdown(eio_stream *st)
{
    shutdown(st->fd, SHUT_WR);
}

static void tcp_free(eio_stream *st)
{
    if (st->fd >= 0)
        close(st->fd);
    free(st);
}

static size_t tcp_pending(eio_stream *st)
{
    (void)st;
    return 0;
}

static const eio_stream_ops tcp_ops = {tcp_read, tcp_writev, tcp_shutdown, tcp_free, tcp_pending};

eio_stream *eio_stream_tcp_new(int fd)
{
    eio_stream *st = eio_calloc(1, sizeof(*st));
    st->ops = &tcp_ops;
    st->fd = fd;
    return st;
}
