/*
 * libFuzzer driver for eio_http: the request-head parser under small and
 * default limits, the response-head parser, and the chunked decoder over the
 * input (and over the body after a chunked request head), whole and in
 * pieces of 1 to 7 bytes. Every parse reads an exactly-sized heap copy, so
 * ASan sees any read past the end. Checks: the result is a length within the
 * input and the limit or a known code, every slice lies inside the head,
 * n_fields stays within max_headers, a shorter prefix never gives anything
 * but INCOMPLETE (or the same error), and the chunked decoder gives the same
 * bytes, length consumed and done/error however the input is cut. And the
 * Accept-Encoding negotiation over the input as a header value.
 * Threading: single thread. Ownership: everything is freed per input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engineio/eio_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_FIELDS 100
/* Prefixes are checked one by one up to this length (under the first
 * limits), sampled past it. */
#define FUZZ_ALL_PREFIXES 256
#define FUZZ_SAMPLES      16

static char *exact_copy(const void *p, size_t n)
{
    char *c = malloc(n ? n : 1);
    if (!c)
        abort();
    if (n)
        memcpy(c, p, n);
    return c;
}

static int slice_inside(eio_http_slice s, const char *buf, size_t len)
{
    uintptr_t p = (uintptr_t)s.p, b = (uintptr_t)buf;
    return s.p != NULL && p >= b && s.len <= len && p - b <= len - s.len;
}

static int known_error(long r)
{
    return r == EIO_HTTP_INCOMPLETE || r == EIO_HTTP_ERR_SYNTAX || r == EIO_HTTP_ERR_VERSION ||
           r == EIO_HTTP_ERR_TOO_MANY_HEADERS || r == EIO_HTTP_ERR_HEAD_TOO_LARGE ||
           r == EIO_HTTP_ERR_CONTENT_LENGTH || r == EIO_HTTP_ERR_TRANSFER_ENCODING;
}

static void check_status(long r)
{
    int status = eio_http_error_status(r);
    if (status != 400 && status != 431 && status != 505)
        abort();
    const char *m = eio_http_strerror(r);
    if (!m || !m[0])
        abort();
}

/* The prefix lengths below bound to check: all of them when short and all
 * is set, else a sample and the last few. Returns the next length after k
 * (bound when there is none). */
static size_t next_prefix(size_t k, size_t bound, int all)
{
    if ((all && bound <= FUZZ_ALL_PREFIXES) || k + 8 >= bound)
        return k + 1;
    size_t step = bound / FUZZ_SAMPLES;
    if (step == 0)
        step = 1;
    return k + step < bound - 8 ? k + step : bound - 8;
}

static long parse_request_copy(const uint8_t *data, size_t n, const eio_http_limits *limits,
                               eio_http_field *fields, eio_http_head *h)
{
    char *buf = exact_copy(data, n);
    long r = eio_http_parse_request(buf, n, limits, fields, h);
    if (h->n_fields > limits->max_headers)
        abort();
    free(buf);
    return r;
}

static void check_request(const uint8_t *data, size_t size, const eio_http_limits *limits,
                          int all_prefixes, size_t *head_len, int *chunked)
{
    eio_http_field fields[FUZZ_MAX_FIELDS];
    eio_http_head h;
    char *buf = exact_copy(data, size);
    long r = eio_http_parse_request(buf, size, limits, fields, &h);
    if (h.n_fields > limits->max_headers)
        abort();
    *head_len = 0;
    *chunked = 0;
    if (r > 0) {
        size_t len = (size_t)r;
        if (len > size || len > limits->max_head_bytes || h.head_len != len)
            abort();
        if (h.fields != fields || h.minor_version < 0 || h.minor_version > 1)
            abort();
        if (!slice_inside(h.method, buf, len) || h.method.len == 0)
            abort();
        if (!slice_inside(h.target, buf, len) || h.target.len == 0)
            abort();
        if (!slice_inside(h.path, buf, len) || h.path.len == 0 || !slice_inside(h.query, buf, len))
            abort();
        for (size_t i = 0; i < h.n_fields; i++) {
            const eio_http_field *f = &fields[i];
            if (!slice_inside(f->name, buf, len) || f->name.len == 0 ||
                !slice_inside(f->value, buf, len))
                abort();
            if (memchr(f->value.p, '\r', f->value.len) || memchr(f->value.p, '\n', f->value.len))
                abort();
            if (f->value.len && (f->value.p[0] == ' ' || f->value.p[f->value.len - 1] == ' '))
                abort();
            char name[64];
            if (f->name.len < sizeof(name)) {
                memcpy(name, f->name.p, f->name.len);
                name[f->name.len] = 0;
                const eio_http_field *found = eio_http_find(&h, name);
                if (!found || found > f)
                    abort();
            }
        }
        if (h.chunked && (h.content_length != -1 || h.minor_version != 1))
            abort();
        if (h.content_length < -1 || h.content_length > 999999999999999LL)
            abort();
        if (h.keep_alive != 0 && h.keep_alive != 1)
            abort();
        if (!eio_http_find(&h, "Connection") && h.keep_alive != h.minor_version)
            abort(); /* the default: 1.1 keeps the connection, 1.0 does not */
        /* The head alone parses the same. */
        eio_http_head again;
        if (parse_request_copy(data, len, limits, fields, &again) != r)
            abort();
        *head_len = len;
        *chunked = h.chunked;
    } else {
        if (!known_error(r))
            abort();
        check_status(r);
    }
    /* Shorter prefixes: INCOMPLETE, or the same error. */
    size_t bound = r > 0 ? (size_t)r : size;
    for (size_t k = 0; k < bound; k = next_prefix(k, bound, all_prefixes)) {
        eio_http_head ph;
        long pr = parse_request_copy(data, k, limits, fields, &ph);
        if (pr != EIO_HTTP_INCOMPLETE && (r > 0 || pr != r))
            abort();
    }
    free(buf);
}

static long parse_response_copy(const uint8_t *data, size_t n, const eio_http_limits *limits,
                                eio_http_field *fields, size_t *n_fields, int *status,
                                long long *content_length, int *chunked, int *connection_close)
{
    char *buf = exact_copy(data, n);
    long r = eio_http_parse_response(buf, n, limits, fields, n_fields, status, content_length,
                                     chunked, connection_close);
    if (*n_fields > limits->max_headers)
        abort();
    if (r > 0) {
        if ((size_t)r > n || (size_t)r > limits->max_head_bytes)
            abort();
        if (*status < 100 || *status > 999 || (*chunked && *content_length != -1))
            abort();
        for (size_t i = 0; i < *n_fields; i++)
            if (!slice_inside(fields[i].name, buf, (size_t)r) ||
                !slice_inside(fields[i].value, buf, (size_t)r))
                abort();
    } else if (!known_error(r)) {
        abort();
    }
    free(buf);
    return r;
}

static void check_response(const uint8_t *data, size_t size, const eio_http_limits *limits,
                           int all_prefixes)
{
    eio_http_field fields[FUZZ_MAX_FIELDS];
    size_t n_fields;
    int status, chunked, connection_close;
    long long content_length;
    long r = parse_response_copy(data, size, limits, fields, &n_fields, &status, &content_length,
                                 &chunked, &connection_close);
    size_t bound = r > 0 ? (size_t)r : size;
    for (size_t k = 0; k < bound; k = next_prefix(k, bound, all_prefixes)) {
        long pr = parse_response_copy(data, k, limits, fields, &n_fields, &status, &content_length,
                                      &chunked, &connection_close);
        if (pr != EIO_HTTP_INCOMPLETE && (r > 0 || pr != r))
            abort();
    }
}

/* Decodes data[0..size) in one call. Returns the result; the decoded bytes
 * go to out, their count to *out_len. */
static long chunked_whole(const uint8_t *data, size_t size, uint8_t *out, size_t *out_len,
                          int *done)
{
    eio_http_chunked c;
    eio_http_chunked_init(&c);
    uint8_t *buf = (uint8_t *)exact_copy(data, size);
    size_t n = size;
    long r = eio_http_chunked_decode(&c, buf, &n, done);
    if (n > size || (r >= 0 && (size_t)r > size) || (r >= 0 && n > (size_t)r) || r < -1)
        abort();
    if (r >= 0 && !*done && (size_t)r != size)
        abort(); /* not done, so everything must have been taken */
    memcpy(out, buf, n);
    *out_len = n;
    free(buf);
    return r;
}

/* The same in pieces of 1 to 7 bytes, sizes taken from the input itself. */
static long chunked_pieces(const uint8_t *data, size_t size, uint8_t *out, size_t *out_len,
                           int *done)
{
    eio_http_chunked c;
    eio_http_chunked_init(&c);
    size_t pos = 0, i = 0;
    *out_len = 0;
    *done = 0;
    while (pos < size) {
        size_t piece = 1 + (size_t)(data[i++ % size] % 7);
        size_t n = size - pos < piece ? size - pos : piece, given = n;
        uint8_t *buf = (uint8_t *)exact_copy(data + pos, n);
        long r = eio_http_chunked_decode(&c, buf, &n, done);
        if (n > given || r < -1 || (r >= 0 && (size_t)r > given))
            abort();
        memcpy(out + *out_len, buf, n);
        *out_len += n;
        free(buf);
        if (r < 0)
            return -1;
        pos += (size_t)r;
        if (*done)
            break;
        if ((size_t)r != given)
            abort();
    }
    /* Done means done: more input is not taken. */
    if (*done) {
        uint8_t extra[1] = {'0'};
        size_t n = 1;
        int again = 0;
        if (eio_http_chunked_decode(&c, extra, &n, &again) != 0 || n != 0 || !again)
            abort();
    }
    return (long)pos;
}

static void check_chunked(const uint8_t *data, size_t size)
{
    uint8_t *whole = malloc(size ? size : 1), *pieces = malloc(size ? size : 1);
    if (!whole || !pieces)
        abort();
    size_t whole_len, pieces_len;
    int whole_done, pieces_done;
    long rw = chunked_whole(data, size, whole, &whole_len, &whole_done);
    long rp = chunked_pieces(data, size, pieces, &pieces_len, &pieces_done);
    if (rw != rp || whole_done != pieces_done || whole_len != pieces_len ||
        (whole_len && memcmp(whole, pieces, whole_len) != 0))
        abort();
    free(whole);
    free(pieces);
}

/* Accept-Encoding negotiation over the input as a header value: an index
 * within provided (none when nothing is provided), the same whatever byte
 * follows the value in memory, and a refusal added at the end ("..., gzip;q=0")
 * changing the choice only from gzip matched by "*" (a named entry outranks
 * "*"; among named ones the higher q counts, wherever it stands). */
static void check_accept_encoding(const uint8_t *data, size_t size)
{
    static const char *const three[] = {"br", "gzip", "deflate"};
    static const char refuse[] = ", gzip;q=0";
    char *buf = malloc(size + sizeof(refuse));
    if (!buf)
        abort();
    if (size)
        memcpy(buf, data, size);
    buf[size] = ';';
    int r = eio_http_accept_encoding(buf, size, three, 3);
    if (r < -1 || r > 2 || eio_http_accept_encoding(buf, size, three, 0) != -1)
        abort();
    buf[size] = ',';
    if (eio_http_accept_encoding(buf, size, three, 3) != r)
        abort();
    memcpy(buf + size, refuse, sizeof(refuse) - 1);
    int after = eio_http_accept_encoding(buf, size + sizeof(refuse) - 1, three, 3);
    if (after != r && (r != 1 || after == 1))
        abort();
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const eio_http_limits limits[] = {{16, 2048}, {100, 16384}, {2, 64}};
    for (size_t i = 0; i < sizeof(limits) / sizeof(*limits); i++) {
        size_t head_len;
        int chunked;
        check_request(data, size, &limits[i], i == 0, &head_len, &chunked);
        if (i == 1 && chunked)
            check_chunked(data + head_len, size - head_len);
        check_response(data, size, &limits[i], i == 0);
    }
    eio_http_field fields[FUZZ_MAX_FIELDS];
    eio_http_head h;
    char *buf = exact_copy(data, size);
    long r = eio_http_parse_request(buf, size, NULL, fields, &h);
    eio_http_limits defaults = {100, 16384};
    if (r != parse_request_copy(data, size, &defaults, fields, &h))
        abort();
    free(buf);
    check_chunked(data, size);
    check_accept_encoding(data, size);
    return 0;
}
