/*
 * eio_buf: a growable byte buffer, and eio_frame: an immutable, reference-counted
 * byte string used to share one encoded message among many receivers.
 *
 * Threading: an eio_buf belongs to one thread at a time. An eio_frame may be
 * shared by any threads; eio_frame_ref/eio_frame_unref are atomic.
 * Ownership: eio_buf owns its data; eio_buf_release hands the data to the caller.
 * Out of memory aborts with a message (house rule): no function here fails.
 */
#ifndef EIO_BUF_H
#define EIO_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct eio_buf {
    uint8_t *data; /* NULL while cap == 0 */
    size_t len;
    size_t cap;
} eio_buf;

#define EIO_BUF_INIT                                                                               \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Makes room for at least `extra` more bytes and returns a pointer to the end
 * of the data; the caller writes there and then calls eio_buf_advance. */
uint8_t *eio_buf_reserve(eio_buf *b, size_t extra);
void eio_buf_advance(eio_buf *b, size_t n);
void eio_buf_append(eio_buf *b, const void *data, size_t n);
void eio_buf_append_byte(eio_buf *b, uint8_t c);
void eio_buf_append_str(eio_buf *b, const char *s);
/* Appends the decimal form of v. */
void eio_buf_append_uint(eio_buf *b, uint64_t v);
/* Removes the first n bytes (n <= len). */
void eio_buf_consume(eio_buf *b, size_t n);
void eio_buf_reset(eio_buf *b); /* len = 0, keeps the memory */
void eio_buf_free(eio_buf *b);  /* frees the memory, back to EIO_BUF_INIT */
/* Writes a terminating NUL after the data (not counted in len) and returns data. */
char *eio_buf_cstr(eio_buf *b);

/* Aborts the process with a message: used on allocation failure. */
void eio_oom(void);
void *eio_malloc(size_t n); /* never returns NULL */
void *eio_calloc(size_t n, size_t size);
void *eio_realloc(void *p, size_t n);
char *eio_strdup(const char *s);
char *eio_strndup(const char *s, size_t n);

/* A reference-counted immutable byte string. Created with one reference. */
typedef struct eio_frame {
    int refs; /* atomic */
    size_t len;
    uint8_t data[];
} eio_frame;

/* Allocates a frame of `len` bytes (contents uninitialised; fill before sharing). */
eio_frame *eio_frame_new(size_t len);
eio_frame *eio_frame_from(const void *data, size_t len);
eio_frame *eio_frame_ref(eio_frame *f);
void eio_frame_unref(eio_frame *f); /* NULL is a no-op */

#endif
