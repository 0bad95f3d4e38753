/*
 * eio_buf: growable byte buffers and reference-counted frames.
 * Threading: see eio_buf.h; no globals.
 * Ownership: see eio_buf.h.
 */
#include "eio_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void eio_oom(void)
{
    fputs("fatal: out of memory\n", stderr);
    abort();
}

void *eio_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        eio_oom();
    return p;
}

void *eio_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        eio_oom();
    return p;
}

void *eio_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        eio_oom();
    return q;
}

char *eio_strdup(const char *s)
{
    return eio_strndup(s, strlen(s));
}

char *eio_strndup(const char *s, size_t n)
{
    char *p = eio_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

uint8_t *eio_buf_reserve(eio_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1)
        eio_oom();
    size_t need = b->len + extra + 1; /* +1 keeps room for eio_buf_cstr */
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        b->data = eio_realloc(b->data, cap);
        b->cap = cap;
    }
    return b->data + b->len;
}

void eio_buf_advance(eio_buf *b, size_t n)
{
    b->len += n;
}

void eio_buf_append(eio_buf *b, const void *data, size_t n)
{
    if (n == 0)
        return;
    memcpy(eio_buf_reserve(b, n), data, n);
    b->len += n;
}

void eio_buf_append_byte(eio_buf *b, uint8_t c)
{
    *eio_buf_reserve(b, 1) = c;
    b->len++;
}

void eio_buf_append_str(eio_buf *b, const char *s)
{
    eio_buf_append(b, s, strlen(s));
}

void eio_buf_append_uint(eio_buf *b, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    uint8_t *p = eio_buf_reserve(b, (size_t)n);
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)tmp[n - 1 - i];
    b->len += (size_t)n;
}

void eio_buf_consume(eio_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void eio_buf_reset(eio_buf *b)
{
    b->len = 0;
}

void eio_buf_free(eio_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *eio_buf_cstr(eio_buf *b)
{
    eio_buf_reserve(b, 0);
    b->data[b->len] = '\0';
    return (char *)b->data;
}

eio_frame *eio_frame_new(size_t len)
{
    eio_frame *f = eio_malloc(sizeof(*f) + len);
    f->refs = 1;
    f->len = len;
    return f;
}

eio_frame *eio_frame_from(const void *data, size_t len)
{
    eio_frame *f = eio_frame_new(len);
    if (len)
        memcpy(f->data, data, len);
    return f;
}

eio_frame *eio_frame_ref(eio_frame *f)
{
    __atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
    return f;
}

void eio_frame_unref(eio_frame *f)
{
    if (f && __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(f);
}
