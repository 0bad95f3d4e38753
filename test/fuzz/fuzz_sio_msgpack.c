/*
 * libFuzzer driver for sio_msgpack: decodes arbitrary bytes (max_depth 32);
 * when they are accepted, encodes the tree, decodes that again and checks the
 * second tree equals the first (exactly: same order, same doubles, NaN equal
 * to NaN, which cJSON_Compare would reject, binary values by their bytes), and
 * that encoding the second tree gives the same bytes (a fixed point). Errors
 * must come with a reason. Crashes, leaks and sanitizer reports fail.
 * Threading: single thread. Ownership: everything is freed per input.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "socketio/sio_msgpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_DEPTH 32

/* Binary values seen while decoding, copied (the bytes are lent for the
 * call). The tree holds {"\xff": i} for value i: a key the decoder never
 * makes (its keys are always valid UTF-8), so a decoded map can never pass
 * for binary, as {"_placeholder":true,"num":i} could. */
typedef struct fuzz_bins {
    uint8_t **data;
    size_t *len;
    size_t n;
} fuzz_bins;

static cJSON *fuzz_on_bin(const uint8_t *bytes, size_t len, void *ud)
{
    fuzz_bins *b = ud;
    b->data = realloc(b->data, (b->n + 1) * sizeof *b->data);
    b->len = realloc(b->len, (b->n + 1) * sizeof *b->len);
    if (!b->data || !b->len)
        abort();
    b->data[b->n] = malloc(len ? len : 1);
    if (!b->data[b->n])
        abort();
    if (len)
        memcpy(b->data[b->n], bytes, len);
    b->len[b->n] = len;
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "\xff", (double)b->n++);
    return p;
}

static const uint8_t *fuzz_get_bin(const cJSON *item, size_t *len, void *ud)
{
    fuzz_bins *b = ud;
    const cJSON *num = cJSON_IsObject(item) ? item->child : NULL;
    if (!num || num->next || strcmp(num->string, "\xff") != 0 || !cJSON_IsNumber(num) ||
        !(num->valuedouble >= 0 && num->valuedouble < (double)b->n))
        return NULL;
    *len = b->len[(size_t)num->valuedouble];
    return b->data[(size_t)num->valuedouble];
}

static void fuzz_bins_free(fuzz_bins *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->data[i]);
    free(b->data);
    free(b->len);
}

/* 1 if the trees are the same, member order included, binary values
 * compared by their bytes (the side tables may number them differently: a
 * value dropped by a duplicate key still has its entry); also checks that
 * cJSON's links are consistent (child->prev is the tail). */
static int same_tree(const cJSON *a, fuzz_bins *abins, const cJSON *b, fuzz_bins *bbins, int depth)
{
    if (depth > FUZZ_DEPTH + 1 || (a->type & 0xFF) != (b->type & 0xFF))
        return 0;
    if ((a->string == NULL) != (b->string == NULL) || (a->string && strcmp(a->string, b->string)))
        return 0;
    size_t alen = 0, blen = 0;
    const uint8_t *abytes = fuzz_get_bin(a, &alen, abins), *bbytes = fuzz_get_bin(b, &blen, bbins);
    if (abytes || bbytes)
        return abytes && bbytes && alen == blen && (!alen || memcmp(abytes, bbytes, alen) == 0);
    switch (a->type & 0xFF) {
    case cJSON_Number:
        return a->valuedouble == b->valuedouble || (isnan(a->valuedouble) && isnan(b->valuedouble));
    case cJSON_String: return strcmp(a->valuestring, b->valuestring) == 0;
    case cJSON_Array:
    case cJSON_Object: {
        const cJSON *x = a->child, *y = b->child, *last = NULL;
        for (; x && y; x = x->next, y = y->next) {
            if (((a->type & 0xFF) == cJSON_Object) != (x->string != NULL))
                return 0;
            if (!same_tree(x, abins, y, bbins, depth + 1))
                return 0;
            last = x;
        }
        if (x || y)
            return 0;
        return !a->child || a->child->prev == last;
    }
    case cJSON_NULL:
    case cJSON_True:
    case cJSON_False: return 1;
    default: return 0; /* no cJSON_Invalid or cJSON_Raw may come out of a decode */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_bins first_bins = {0}, second_bins = {0};
    cJSON *first = NULL, *second = NULL;
    const char *err = NULL;
    if (sio_msgpack_decode(data, size, FUZZ_DEPTH, fuzz_on_bin, &first_bins, &first, &err) != 0) {
        if (first || !err)
            abort();
        fuzz_bins_free(&first_bins);
        return 0;
    }
    if (!first || err)
        abort();
    eio_buf enc1 = EIO_BUF_INIT, enc2 = EIO_BUF_INIT;
    if (sio_msgpack_encode(first, FUZZ_DEPTH, fuzz_get_bin, &first_bins, &enc1) != 0)
        abort(); /* what we decode we can encode */
    if (sio_msgpack_decode(enc1.data, enc1.len, FUZZ_DEPTH, fuzz_on_bin, &second_bins, &second,
                           &err) != 0)
        abort(); /* what we encode we can decode */
    if (!same_tree(first, &first_bins, second, &second_bins, 0))
        abort();
    if (sio_msgpack_encode(second, FUZZ_DEPTH, fuzz_get_bin, &second_bins, &enc2) != 0)
        abort();
    if (enc1.len != enc2.len || memcmp(enc1.data, enc2.data, enc1.len) != 0)
        abort();
    eio_buf_free(&enc1);
    eio_buf_free(&enc2);
    cJSON_Delete(first);
    cJSON_Delete(second);
    fuzz_bins_free(&first_bins);
    fuzz_bins_free(&second_bins);
    return 0;
}
