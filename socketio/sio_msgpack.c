/*
 * sio_msgpack: a MessagePack codec matching npm notepack.io 3.0.1, between
 * bytes and cJSON trees (see sio_msgpack.h for the exact rules).
 *
 * Encoding writes through libmsgpack-c's packer (msgpack_pack_*), whose
 * choice of forms is the one notepack makes. Decoding reads the bytes itself
 * instead of using msgpack_unpack_next, for three reasons found with
 * libmsgpack-c 4.0.0 (Debian 12): its unpacker allocates 32 bytes per array
 * element (64 per map entry) as soon as it reads a header (the 5 bytes
 * dd ff ff ff ff ask malloc for 128 GiB, df ff ff ff ff for 256 GiB), its
 * stack is fixed at 32 levels (MSGPACK_EMBED_STACK_SIZE, compiled into the
 * library) and a 33rd level fails as "out of memory", and its msgpack_object
 * does not keep the header form that notepack's old encodings need
 * (d4 00 00 is undefined but c7 01 00 xx a 1-byte ArrayBuffer; d7 00 a Date
 * but c7 08 00 an 8-byte ArrayBuffer).
 * The reader here is a recursive descent bounded by max_depth, checks every
 * declared length against the bytes left before using it, and allocates only
 * nodes for values it has read.
 *
 * Threading: any thread, pure; no globals, no static mutable state.
 * Ownership: trees are allocated with cJSON's allocator; scratch buffers are
 * freed before returning. Out of memory aborts (eio_oom).
 */
#include "socketio/sio_msgpack.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "engineio/eio_utf8.h"
#include "socketio/sio_json.h"

/* ------------------------------------------------------------------------ */
/* Shared helpers.                                                          */

static cJSON *sio__mp_new_item(int type)
{
    cJSON *item = cJSON_CreateNull();
    if (!item)
        eio_oom();
    item->type = type;
    return item;
}

/* A number node; valueint saturated as cJSON does (NaN gives 0), without
 * cJSON_CreateNumber's undefined conversion of NaN to int. */
static cJSON *sio__mp_new_number(double v)
{
    cJSON *item = sio__mp_new_item(cJSON_Number);
    item->valuedouble = v;
    if (v != v)
        item->valueint = 0;
    else if (v >= 2147483647.0)
        item->valueint = 2147483647;
    else if (v <= -2147483648.0)
        item->valueint = -2147483647 - 1;
    else
        item->valueint = (int)v;
    return item;
}

/* 1 if key is an array index as JavaScript defines it: the canonical decimal
 * form of an integer 0..2^32-2; stores the value in *value. */
static int sio__mp_index_key(const char *key, uint32_t *value)
{
    if (!key || key[0] < '0' || key[0] > '9')
        return 0;
    if (key[0] == '0') {
        *value = 0;
        return key[1] == 0;
    }
    uint64_t v = 0;
    for (const char *p = key; *p; p++) {
        if (*p < '0' || *p > '9' || p - key >= 10)
            return 0;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > 4294967294u)
        return 0;
    *value = (uint32_t)v;
    return 1;
}

/* One object member while its object is being ordered. */
typedef struct sio__mp_member {
    cJSON *item;
    size_t pos;     /* place in the tree or in the input */
    uint32_t index; /* array-index value, when is_index */
    int is_index;
} sio__mp_member;

/* JavaScript property order: array-index keys ascending, then the other keys
 * in their first places. Ties (duplicates in a caller's tree) keep order. */
static int sio__mp_compare_js_order(const void *a, const void *b)
{
    const sio__mp_member *x = a, *y = b;
    if (x->is_index != y->is_index)
        return x->is_index ? -1 : 1;
    if (x->is_index && x->index != y->index)
        return x->index < y->index ? -1 : 1;
    return x->pos < y->pos ? -1 : (x->pos > y->pos);
}

/* By key bytes, then by place: equal keys end up side by side, first
 * occurrence first. */
static int sio__mp_compare_key(const void *a, const void *b)
{
    const sio__mp_member *x = a, *y = b;
    int c = strcmp(x->item->string, y->item->string);
    if (c)
        return c;
    return x->pos < y->pos ? -1 : (x->pos > y->pos);
}

/* For a UTF-8 lead byte c: the number of continuation bytes it needs (0 if c
 * starts no multi-byte character), and the range the first one must be in
 * (RFC 3629 table 3-7: no overlong forms, no surrogates, nothing above
 * U+10FFFF; the others are always 80..BF). */
static size_t sio__mp_utf8_lead(uint8_t c, uint8_t *lo, uint8_t *hi)
{
    *lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
    *hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        return 1;
    if (c >= 0xE0 && c <= 0xEF)
        return 2;
    if (c >= 0xF0 && c <= 0xF4)
        return 3;
    return 0;
}

/* How many bytes at the start of s[0..avail) are acceptable parts of one
 * character: the lead byte and the continuation bytes that fit. Sets
 * *complete when they make a whole well-formed character. */
static size_t sio__mp_utf8_prefix(const uint8_t *s, size_t avail, int *complete)
{
    uint8_t lo, hi;
    *complete = s[0] < 0x80;
    if (s[0] < 0x80)
        return 1;
    size_t need = sio__mp_utf8_lead(s[0], &lo, &hi);
    size_t j = 1;
    while (j <= need && j < avail && s[j] >= lo && s[j] <= hi) {
        j++;
        lo = 0x80;
        hi = 0xBF;
    }
    *complete = need > 0 && j == need + 1;
    return j;
}

static const uint8_t sio__mp_replacement[3] = {0xEF, 0xBF, 0xBD}; /* U+FFFD */

/* ------------------------------------------------------------------------ */
/* Decoder.                                                                 */

typedef struct sio__mp_decoder {
    const uint8_t *p;   /* next byte to read */
    const uint8_t *end; /* end of the input */
    int depth_left;     /* containers that may still be opened */
    sio_msgpack_bin_fn on_bin;
    void *ud;
    const char *err;
    eio_buf scratch; /* repaired string bytes */
} sio__mp_decoder;

static int sio__mp_fail(sio__mp_decoder *d, const char *reason)
{
    d->err = reason;
    return -1;
}

/* Takes n bytes of input: sets *bytes to them, or fails with "truncated". */
static int sio__mp_take(sio__mp_decoder *d, size_t n, const uint8_t **bytes)
{
    if ((size_t)(d->end - d->p) < n)
        return sio__mp_fail(d, "truncated");
    *bytes = d->p;
    d->p += n;
    return 0;
}

static uint64_t sio__mp_be(const uint8_t *b, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | b[i];
    return v;
}

/* The two's complement integer of an int8/16/32/64 body read by sio__mp_be. */
static int64_t sio__mp_signed(uint64_t v, size_t width)
{
    switch (width) {
    case 1: return (int8_t)(uint8_t)v;
    case 2: return (int16_t)(uint16_t)v;
    case 4: return (int32_t)(uint32_t)v;
    default: return v > INT64_MAX ? -(int64_t)(~v) - 1 : (int64_t)v;
    }
}

/* Reads an n-byte big-endian unsigned length or count. */
static int sio__mp_take_length(sio__mp_decoder *d, size_t n, uint64_t *value)
{
    const uint8_t *b;
    if (sio__mp_take(d, n, &b) < 0)
        return -1;
    *value = sio__mp_be(b, n);
    return 0;
}

/* Appends to out what Buffer.toString("utf8") makes of s[0..n): each
 * maximal ill-formed subpart becomes one U+FFFD (WHATWG Encoding). */
static void sio__mp_utf8_repair(const uint8_t *s, size_t n, eio_buf *out)
{
    size_t i = 0;
    while (i < n) {
        int complete;
        size_t len = sio__mp_utf8_prefix(s + i, n - i, &complete);
        /* An ill-formed prefix is replaced whole; the byte that broke it
         * is read again as the start of the next character. */
        if (complete)
            eio_buf_append(out, s + i, len);
        else
            eio_buf_append(out, sio__mp_replacement, 3);
        i += len;
    }
}

/* A string node from the str bytes s[0..n): repaired as notepack's reader
 * does, 00 held as C0 80. sio__mp_key_string: the same as a cJSON_malloc'd key. */
static cJSON *sio__mp_string(sio__mp_decoder *d, const uint8_t *s, size_t n)
{
    if (eio_utf8_valid(s, n))
        return sio_json_create_string(s, n);
    eio_buf_reset(&d->scratch);
    sio__mp_utf8_repair(s, n, &d->scratch);
    return sio_json_create_string(d->scratch.data, d->scratch.len);
}

static char *sio__mp_key_string(sio__mp_decoder *d, const uint8_t *s, size_t n)
{
    cJSON *tmp = sio__mp_string(d, s, n);
    char *key = tmp->valuestring;
    tmp->valuestring = NULL;
    cJSON_Delete(tmp);
    return key;
}

static char *sio__mp_key_number(double v)
{
    char num[SIO_JSON_NUMBER_MAX];
    size_t n = sio_json_format_number(v, num);
    char *key = cJSON_malloc(n + 1);
    if (!key)
        eio_oom();
    memcpy(key, num, n + 1);
    return key;
}

/* The proleptic Gregorian date of a day number (days since 1970-01-01),
 * by H. Hinnant's civil_from_days. */
static void sio__mp_civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = yoe + era * 400 + (*month <= 2);
}

/* new Date(ms) as JSON.stringify shows it (Date.prototype.toISOString), or
 * "bad timestamp" for an Invalid Date. ms is the Date constructor's argument:
 * TimeClip drops the fraction and refuses |ms| > 8.64e15. */
static int sio__mp_date(sio__mp_decoder *d, double ms, cJSON **out)
{
    if (!(fabs(ms) <= 8.64e15))
        return sio__mp_fail(d, "bad timestamp");
    int64_t t = (int64_t)trunc(ms);
    int64_t days = t / 86400000, rem = t % 86400000;
    if (rem < 0) {
        rem += 86400000;
        days--;
    }
    int64_t year;
    int month, day;
    sio__mp_civil_from_days(days, &year, &month, &day);
    char text[40], ytext[16];
    if (year >= 0 && year <= 9999)
        snprintf(ytext, sizeof ytext, "%04d", (int)year);
    else
        snprintf(ytext, sizeof ytext, "%c%06d", year < 0 ? '-' : '+', (int)llabs(year));
    int msec = (int)(rem % 1000), sec = (int)(rem / 1000 % 60), min = (int)(rem / 60000 % 60),
        hour = (int)(rem / 3600000);
    snprintf(text, sizeof text, "%s-%02d-%02dT%02d:%02d:%02d.%03dZ", ytext, month, day, hour, min,
             sec, msec);
    *out = cJSON_CreateString(text);
    if (!*out)
        eio_oom();
    return 0;
}

static int sio__mp_binary(sio__mp_decoder *d, size_t n, cJSON **out)
{
    const uint8_t *b;
    if (sio__mp_take(d, n, &b) < 0)
        return -1;
    if (!d->on_bin)
        return sio__mp_fail(d, "unexpected bin");
    *out = d->on_bin(b, n, d->ud);
    if (!*out)
        return sio__mp_fail(d, "bin rejected");
    return 0;
}

/* ext8/16/32 (c7 c8 c9) with n data bytes. */
static int sio__mp_ext(sio__mp_decoder *d, uint8_t header, size_t n, cJSON **out)
{
    const uint8_t *b;
    if (sio__mp_take(d, 1, &b) < 0)
        return -1;
    int8_t type = (int8_t)b[0];
    if (type == 0) /* notepack 2.x ArrayBuffer */
        return sio__mp_binary(d, n, out);
    if (type != -1 || header != 0xc7)
        return sio__mp_fail(d, "unsupported ext");
    if (n != 12)
        return sio__mp_fail(d, "bad timestamp");
    if (sio__mp_take(d, 12, &b) < 0)
        return -1;
    /* new Date((hi * 0x100000000 + lo) * 1e3 + ns / 1e6), one rounding per
     * operation as in JS (separate statements: no fused multiply-add). */
    double ns = (double)(uint32_t)sio__mp_be(b, 4);
    double seconds = (double)(int32_t)(uint32_t)sio__mp_be(b + 4, 4) * 4294967296.0;
    seconds += (double)(uint32_t)sio__mp_be(b + 8, 4);
    double ms = seconds * 1e3;
    double frac = ns / 1e6;
    ms += frac;
    return sio__mp_date(d, ms, out);
}

/* fixext1/2/4/8/16 (d4..d8) with n data bytes. */
static int sio__mp_fixext(sio__mp_decoder *d, size_t n, cJSON **out)
{
    const uint8_t *b;
    if (sio__mp_take(d, 1 + n, &b) < 0)
        return -1;
    int8_t type = (int8_t)b[0];
    b++;
    if (n == 1 && type == 0) { /* notepack 2.x undefined; the data byte is ignored */
        *out = sio__mp_new_item(cJSON_Invalid);
        return 0;
    }
    if (n == 4 && type == -1) /* timestamp 32: new Date(s * 1e3) */
        return sio__mp_date(d, (double)sio__mp_be(b, 4) * 1e3, out);
    if (n == 8 && type == -1) { /* timestamp 64: new Date(s * 1e3 + ns / 1e6) */
        uint32_t hi = (uint32_t)sio__mp_be(b, 4);
        uint32_t lo = (uint32_t)sio__mp_be(b + 4, 4);
        double ms = ((double)(hi & 3) * 4294967296.0 + (double)lo) * 1e3;
        double frac = (double)(hi >> 2) / 1e6;
        ms += frac;
        return sio__mp_date(d, ms, out);
    }
    if (n == 8 && type == 0) { /* notepack 2.x Date: int64 milliseconds */
        double ms = (double)(int32_t)(uint32_t)sio__mp_be(b, 4) * 4294967296.0;
        ms += (double)(uint32_t)sio__mp_be(b + 4, 4);
        return sio__mp_date(d, ms, out);
    }
    return sio__mp_fail(d, "unsupported ext");
}

static int sio__mp_value(sio__mp_decoder *d, cJSON **out);

/* Links item after tail in container (tail NULL: first child). */
static void sio__mp_link(cJSON *container, cJSON **tail, cJSON *item)
{
    item->next = NULL;
    if (!*tail) {
        container->child = item;
    } else {
        (*tail)->next = item;
        item->prev = *tail;
    }
    container->child->prev = item; /* cJSON keeps the tail in child->prev */
    *tail = item;
}

static int sio__mp_array(sio__mp_decoder *d, uint64_t count, cJSON **out)
{
    if (d->depth_left == 0)
        return sio__mp_fail(d, "too deep");
    if (count > (uint64_t)(d->end - d->p)) /* each element takes a byte at least */
        return sio__mp_fail(d, "truncated");
    d->depth_left--;
    cJSON *array = sio__mp_new_item(cJSON_Array), *tail = NULL;
    for (uint64_t i = 0; i < count; i++) {
        cJSON *item;
        if (sio__mp_value(d, &item) < 0) {
            sio_json_delete(array);
            return -1;
        }
        if ((item->type & 0xFF) == cJSON_Invalid)
            item->type = cJSON_NULL; /* undefined in an array: null, as JSON.stringify shows it */
        sio__mp_link(array, &tail, item);
    }
    d->depth_left++;
    *out = array;
    return 0;
}

/* Reads a map key: a string, or an integer held as String(n). */
static int sio__mp_key(sio__mp_decoder *d, char **key)
{
    const uint8_t *b;
    if (sio__mp_take(d, 1, &b) < 0)
        return -1;
    uint8_t c = b[0];
    uint64_t n;
    if (c >= 0xa0 && c <= 0xbf) {
        n = c & 0x1f;
    } else if (c >= 0xd9 && c <= 0xdb) {
        if (sio__mp_take_length(d, (size_t)1 << (c - 0xd9), &n) < 0)
            return -1;
    } else if (c < 0x80) {
        *key = sio__mp_key_number(c);
        return 0;
    } else if (c >= 0xe0) {
        *key = sio__mp_key_number((int8_t)c);
        return 0;
    } else if (c >= 0xcc && c <= 0xd3) {
        size_t width = (size_t)1 << ((c - 0xcc) & 3);
        if (sio__mp_take_length(d, width, &n) < 0)
            return -1;
        *key = sio__mp_key_number(c <= 0xcf ? (double)n : (double)sio__mp_signed(n, width));
        return 0;
    } else {
        return sio__mp_fail(d, "bad map key");
    }
    if (sio__mp_take(d, (size_t)n, &b) < 0)
        return -1;
    *key = sio__mp_key_string(d, b, (size_t)n);
    return 0;
}

/* Settles a decoded object as the JS object notepack builds: a duplicate key
 * keeps its first place and its last value, undefined values (cJSON_Invalid)
 * are left out, array-index keys go first. */
static void sio__mp_finish_object(cJSON *object, size_t n)
{
    if (n == 0)
        return;
    sio__mp_member *m = eio_malloc(n * sizeof *m);
    size_t i = 0;
    for (cJSON *it = object->child; it; it = it->next, i++) {
        m[i].item = it;
        m[i].pos = i;
    }
    if (n > 1) {
        qsort(m, n, sizeof *m, sio__mp_compare_key);
        size_t a = 0;
        while (a < n) {
            size_t b = a;
            while (b + 1 < n && strcmp(m[b + 1].item->string, m[a].item->string) == 0)
                b++;
            if (b > a) { /* m[a] is the first occurrence, m[b] the last */
                for (size_t r = a; r < b; r++) {
                    m[r].item->next = NULL;
                    sio_json_delete(m[r].item);
                    m[r].item = NULL;
                }
                m[a].item = m[b].item;
                m[b].item = NULL;
            }
            a = b + 1;
        }
    }
    size_t k = 0;
    for (i = 0; i < n; i++) {
        cJSON *it = m[i].item;
        if (!it)
            continue;
        if ((it->type & 0xFF) == cJSON_Invalid) {
            it->next = NULL;
            sio_json_delete(it);
            continue;
        }
        m[k] = m[i];
        m[k].is_index = sio__mp_index_key(it->string, &m[k].index);
        k++;
    }
    qsort(m, k, sizeof *m, sio__mp_compare_js_order);
    object->child = NULL;
    cJSON *tail = NULL;
    for (i = 0; i < k; i++) {
        m[i].item->prev = NULL;
        sio__mp_link(object, &tail, m[i].item);
    }
    free(m);
}

static int sio__mp_map(sio__mp_decoder *d, uint64_t count, cJSON **out)
{
    if (d->depth_left == 0)
        return sio__mp_fail(d, "too deep");
    if (count > (uint64_t)(d->end - d->p) / 2) /* each entry takes two bytes at least */
        return sio__mp_fail(d, "truncated");
    d->depth_left--;
    cJSON *object = sio__mp_new_item(cJSON_Object), *tail = NULL;
    size_t members = 0;
    for (uint64_t i = 0; i < count; i++) {
        char *key;
        cJSON *item;
        if (sio__mp_key(d, &key) < 0) {
            sio_json_delete(object);
            return -1;
        }
        if (sio__mp_value(d, &item) < 0) {
            cJSON_free(key);
            sio_json_delete(object);
            return -1;
        }
        if (strcmp(key, "__proto__") == 0) { /* sets the prototype in JS: no member */
            cJSON_free(key);
            sio_json_delete(item);
            continue;
        }
        item->string = key;
        sio__mp_link(object, &tail, item);
        members++;
    }
    d->depth_left++;
    sio__mp_finish_object(object, members);
    *out = object;
    return 0;
}

/* Reads one value into *out (a cJSON_Invalid node for undefined). */
static int sio__mp_value(sio__mp_decoder *d, cJSON **out)
{
    const uint8_t *b;
    uint64_t n;
    if (sio__mp_take(d, 1, &b) < 0)
        return -1;
    uint8_t c = b[0];
    if (c < 0x80) {
        *out = sio__mp_new_number(c);
        return 0;
    }
    if (c >= 0xe0) {
        *out = sio__mp_new_number((int8_t)c);
        return 0;
    }
    if (c < 0x90)
        return sio__mp_map(d, c & 0x0f, out);
    if (c < 0xa0)
        return sio__mp_array(d, c & 0x0f, out);
    if (c < 0xc0) {
        n = c & 0x1f;
        goto str;
    }
    switch (c) {
    case 0xc0: *out = sio__mp_new_item(cJSON_NULL); return 0;
    case 0xc2: *out = sio__mp_new_item(cJSON_False); return 0;
    case 0xc3: *out = sio__mp_new_item(cJSON_True); return 0;
    case 0xc4:
    case 0xc5:
    case 0xc6:
        if (sio__mp_take_length(d, (size_t)1 << (c - 0xc4), &n) < 0)
            return -1;
        return sio__mp_binary(d, (size_t)n, out);
    case 0xc7:
    case 0xc8:
    case 0xc9:
        if (sio__mp_take_length(d, (size_t)1 << (c - 0xc7), &n) < 0)
            return -1;
        return sio__mp_ext(d, c, (size_t)n, out);
    case 0xca: {
        if (sio__mp_take(d, 4, &b) < 0)
            return -1;
        uint32_t bits = (uint32_t)sio__mp_be(b, 4);
        float f;
        memcpy(&f, &bits, 4);
        *out = sio__mp_new_number((double)f);
        return 0;
    }
    case 0xcb: {
        if (sio__mp_take(d, 8, &b) < 0)
            return -1;
        uint64_t bits = sio__mp_be(b, 8);
        double v;
        memcpy(&v, &bits, 8);
        *out = sio__mp_new_number(v);
        return 0;
    }
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
        if (sio__mp_take_length(d, (size_t)1 << (c - 0xcc), &n) < 0)
            return -1;
        *out = sio__mp_new_number((double)n); /* nearest double, as hi * 2^32 + lo in JS */
        return 0;
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
        size_t width = (size_t)1 << (c - 0xd0);
        if (sio__mp_take_length(d, width, &n) < 0)
            return -1;
        *out = sio__mp_new_number((double)sio__mp_signed(n, width));
        return 0;
    }
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8: return sio__mp_fixext(d, (size_t)1 << (c - 0xd4), out);
    case 0xd9:
    case 0xda:
    case 0xdb:
        if (sio__mp_take_length(d, (size_t)1 << (c - 0xd9), &n) < 0)
            return -1;
        goto str;
    case 0xdc:
    case 0xdd:
        if (sio__mp_take_length(d, c == 0xdc ? 2 : 4, &n) < 0)
            return -1;
        return sio__mp_array(d, n, out);
    case 0xde:
    case 0xdf:
        if (sio__mp_take_length(d, c == 0xde ? 2 : 4, &n) < 0)
            return -1;
        return sio__mp_map(d, n, out);
    default: return sio__mp_fail(d, "bad type byte"); /* c1, never used */
    }
str:
    if (sio__mp_take(d, (size_t)n, &b) < 0)
        return -1;
    *out = sio__mp_string(d, b, (size_t)n);
    return 0;
}

static int sio__mp_clamp_depth(int max_depth)
{
    if (max_depth <= 0)
        return SIO_MSGPACK_DEFAULT_MAX_DEPTH;
    return max_depth > SIO_MSGPACK_MAX_DEPTH_LIMIT ? SIO_MSGPACK_MAX_DEPTH_LIMIT : max_depth;
}

int sio_msgpack_decode(const uint8_t *data, size_t len, int max_depth, sio_msgpack_bin_fn on_bin,
                       void *ud, cJSON **out, const char **err)
{
    static const uint8_t nothing[1] = {0};
    if (!data) { /* NULL input: no bytes (and no arithmetic on NULL) */
        data = nothing;
        len = 0;
    }
    sio__mp_decoder d = {data, data + len,  sio__mp_clamp_depth(max_depth), on_bin, ud,
                         NULL, EIO_BUF_INIT};
    cJSON *value = NULL;
    *out = NULL;
    int rc = sio__mp_value(&d, &value);
    if (rc == 0 && d.p != d.end) {
        sio_json_delete(value);
        rc = sio__mp_fail(&d, "trailing bytes");
    }
    eio_buf_free(&d.scratch);
    if (rc < 0) {
        if (err)
            *err = d.err;
        return -1;
    }
    if ((value->type & 0xFF) == cJSON_Invalid)
        value->type = cJSON_NULL; /* top-level undefined */
    *out = value;
    if (err)
        *err = NULL;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Encoder.                                                                 */

typedef struct sio__mp_encoder {
    msgpack_packer pk; /* writes into the caller's eio_buf */
    sio_msgpack_get_bin_fn get_bin;
    void *ud;
    eio_buf scratch; /* string bytes being fixed */
} sio__mp_encoder;

static int sio__mp_write(void *data, const char *buf, size_t len)
{
    eio_buf_append((eio_buf *)data, buf, len);
    return 0;
}

static void sio__mp_encode_double(sio__mp_encoder *e, double v)
{
    if (v != v) { /* Node writes every NaN as the canonical quiet NaN */
        uint64_t bits = 0x7ff8000000000000u;
        memcpy(&v, &bits, 8);
    }
    msgpack_pack_double(&e->pk, v);
}

static void sio__mp_encode_number(sio__mp_encoder *e, double v)
{
    if (!isfinite(v) || floor(v) != v)
        sio__mp_encode_double(e, v);
    else if (v >= 0 && v < 18446744073709551616.0) /* -0 too: notepack writes 00 */
        msgpack_pack_uint64(&e->pk, (uint64_t)v);
    else if (v < 0 && v >= -9223372036854775808.0)
        msgpack_pack_int64(&e->pk, (int64_t)v);
    else /* notepack would wrap it modulo 2^64; a float64 reads back right */
        sio__mp_encode_double(e, v);
}

/* Writes a tree string (JS UTF-8, see sio_json.h) as the UTF-8 bytes Node
 * writes for that JS string. */
static int sio__mp_encode_string(sio__mp_encoder *e, const char *str)
{
    const uint8_t *s = (const uint8_t *)(str ? str : "");
    size_t n = strlen((const char *)s);
    if (!eio_utf8_valid(s, n)) {
        eio_buf_reset(&e->scratch);
        size_t i = 0;
        while (i < n) {
            int complete;
            size_t len = sio__mp_utf8_prefix(s + i, n - i, &complete);
            if (complete) {
                eio_buf_append(&e->scratch, s + i, len);
                i += len;
            } else if (s[i] == 0xC0 && i + 1 < n && s[i + 1] == 0x80) { /* U+0000 */
                eio_buf_append_byte(&e->scratch, 0);
                i += 2;
            } else if (s[i] == 0xED && i + 2 < n && s[i + 1] >= 0xA0 && s[i + 1] <= 0xBF &&
                       s[i + 2] >= 0x80 && s[i + 2] <= 0xBF) { /* a lone surrogate */
                eio_buf_append(&e->scratch, sio__mp_replacement, 3);
                i += 3;
            } else {
                eio_buf_append(&e->scratch, sio__mp_replacement, 3);
                i++;
            }
        }
        s = e->scratch.data;
        n = e->scratch.len;
    }
    if (n > UINT32_MAX)
        return -1;
    msgpack_pack_str(&e->pk, n);
    msgpack_pack_str_body(&e->pk, s, n);
    return 0;
}

static int sio__mp_encode_value(sio__mp_encoder *e, const cJSON *v, int depth_left);

static int sio__mp_encode_object(sio__mp_encoder *e, const cJSON *v, int depth_left)
{
    size_t n = 0, nindex = 0;
    uint32_t idx;
    for (const cJSON *c = v->child; c; c = c->next) {
        if ((c->type & 0xFF) == cJSON_Invalid)
            continue; /* undefined: left out, as notepack does */
        n++;
        nindex += (size_t)sio__mp_index_key(c->string, &idx);
    }
    if (n > UINT32_MAX)
        return -1;
    msgpack_pack_map(&e->pk, n);
    if (nindex == 0) { /* already in JS order */
        for (const cJSON *c = v->child; c; c = c->next) {
            if ((c->type & 0xFF) == cJSON_Invalid)
                continue;
            if (sio__mp_encode_string(e, c->string) < 0 ||
                sio__mp_encode_value(e, c, depth_left) < 0)
                return -1;
        }
        return 0;
    }
    sio__mp_member *m = eio_malloc(n * sizeof *m);
    size_t i = 0;
    for (const cJSON *c = v->child; c; c = c->next) {
        if ((c->type & 0xFF) == cJSON_Invalid)
            continue;
        m[i].item = (cJSON *)c;
        m[i].pos = i;
        m[i].is_index = sio__mp_index_key(c->string, &m[i].index);
        i++;
    }
    qsort(m, n, sizeof *m, sio__mp_compare_js_order);
    int rc = 0;
    for (i = 0; i < n && rc == 0; i++) {
        rc = sio__mp_encode_string(e, m[i].item->string);
        if (rc == 0)
            rc = sio__mp_encode_value(e, m[i].item, depth_left);
    }
    free(m);
    return rc;
}

static int sio__mp_encode_value(sio__mp_encoder *e, const cJSON *v, int depth_left)
{
    if (e->get_bin) {
        size_t len = 0;
        const uint8_t *bytes = e->get_bin(v, &len, e->ud);
        if (bytes) {
            if (len > UINT32_MAX)
                return -1;
            msgpack_pack_bin(&e->pk, len);
            msgpack_pack_bin_body(&e->pk, bytes, len);
            return 0;
        }
    }
    switch (v->type & 0xFF) {
    case cJSON_Invalid: /* undefined: nil (only met in arrays and at the top) */
    case cJSON_NULL: msgpack_pack_nil(&e->pk); return 0;
    case cJSON_False: msgpack_pack_false(&e->pk); return 0;
    case cJSON_True: msgpack_pack_true(&e->pk); return 0;
    case cJSON_Number: sio__mp_encode_number(e, v->valuedouble); return 0;
    case cJSON_String: return sio__mp_encode_string(e, v->valuestring);
    case cJSON_Array: {
        if (depth_left == 0)
            return -1;
        size_t n = 0;
        for (const cJSON *c = v->child; c; c = c->next)
            n++;
        if (n > UINT32_MAX)
            return -1;
        msgpack_pack_array(&e->pk, n);
        for (const cJSON *c = v->child; c; c = c->next)
            if (sio__mp_encode_value(e, c, depth_left - 1) < 0)
                return -1;
        return 0;
    }
    case cJSON_Object:
        if (depth_left == 0)
            return -1;
        return sio__mp_encode_object(e, v, depth_left - 1);
    default: return -1; /* cJSON_Raw: JSON text, not a value we can write */
    }
}

int sio_msgpack_encode(const cJSON *v, int max_depth, sio_msgpack_get_bin_fn get_bin, void *ud,
                       eio_buf *out)
{
    sio__mp_encoder e;
    e.get_bin = get_bin;
    e.ud = ud;
    e.scratch = (eio_buf)EIO_BUF_INIT;
    msgpack_packer_init(&e.pk, out, sio__mp_write);
    size_t start = out->len;
    int rc = v ? sio__mp_encode_value(&e, v, sio__mp_clamp_depth(max_depth)) : -1;
    eio_buf_free(&e.scratch);
    if (rc < 0) {
        out->len = start;
        return -1;
    }
    return 0;
}
