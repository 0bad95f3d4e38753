/*
 * libFuzzer driver for the polling payload codec: decodes the input in each
 * format (v4, v3 text, v3 binary framing) and, for the packets that decode,
 * re-encodes them in the same format (and in the other formats that can carry
 * them losslessly) and decodes again; aborts if anything differs. Also feeds
 * the input to the JSONP unwrapper and wrapper.
 * Threading: single thread. Ownership: everything allocated is freed per input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engineio/eio_packet.h"
#include "engineio/eio_utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Packets with their data copied out of the reader. */
typedef struct packet_list {
    eio_packet *p;
    size_t n, cap;
    int rc;
} packet_list;

static void list_free(packet_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free((void *)l->p[i].data);
    free(l->p);
    l->p = NULL;
    l->n = l->cap = 0;
}

static void fail(const char *what, eio_payload_format format)
{
    fprintf(stderr, "fuzz_eio_payload: %s (format %d)\n", what, (int)format);
    abort();
}

/* Decodes buf[0..len) (from an exact-size copy) into l. */
static void decode_all(eio_payload_format format, const uint8_t *buf, size_t len, packet_list *l)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (len)
        memcpy(copy, buf, len);
    eio_payload_reader r;
    eio_payload_reader_init(&r, format == EIO_PAYLOAD_V4 ? 4 : 3, format, copy, len);
    l->p = NULL;
    l->n = l->cap = 0;
    for (;;) {
        eio_packet p;
        int rc = eio_payload_next(&r, &p);
        if (rc <= 0) {
            l->rc = rc;
            if (rc < 0 && eio_payload_next(&r, &p) != rc)
                fail("error is not sticky", format);
            if (rc < 0 && rc != EIO_ERR_PARSE && rc != EIO_ERR_UTF8)
                fail("unexpected error code", format);
            break;
        }
        if (p.type > EIO_PACKET_NOOP || (p.len && !p.data))
            fail("bad packet", format);
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 8;
            l->p = realloc(l->p, l->cap * sizeof(*l->p));
            if (!l->p)
                abort();
        }
        uint8_t *d = malloc(p.len ? p.len : 1);
        if (p.len)
            memcpy(d, p.data, p.len);
        p.data = d;
        l->p[l->n++] = p;
    }
    eio_payload_reader_free(&r);
    free(copy);
}

static int same_packet(const eio_packet *a, const eio_packet *b)
{
    return a->type == b->type && !a->binary == !b->binary && a->len == b->len &&
           (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* Encodes the packets in `format`, decodes again and checks they match. */
static void round_trip(const packet_list *l, eio_payload_format format)
{
    eio_buf enc = EIO_BUF_INIT;
    eio_payload_encode(format, l->p, l->n, &enc);
    packet_list again;
    decode_all(format, enc.data, enc.len, &again);
    if (again.rc != 0)
        fail("re-encoded payload does not decode", format);
    if (again.n != l->n)
        fail("packet count differs after round trip", format);
    for (size_t i = 0; i < l->n; i++)
        if (!same_packet(&again.p[i], &l->p[i]))
            fail("packet differs after round trip", format);
    list_free(&again);
    eio_buf_free(&enc);
}

/* v4 text cannot hold 0x1e, and a v4 binary packet is always a message. */
static int fits_v4(const packet_list *l)
{
    if (l->n == 0)
        return 0;
    for (size_t i = 0; i < l->n; i++) {
        const eio_packet *p = &l->p[i];
        if (p->binary ? p->type != EIO_PACKET_MESSAGE : memchr(p->data, 0x1e, p->len) != NULL)
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int f = 0; f <= 2; f++) {
        eio_payload_format format = (eio_payload_format)f;
        packet_list l;
        decode_all(format, data, size, &l);
        if (l.rc == 0 && size == 0)
            fail("empty payload accepted", format);
        /* Every packet delivered (even before an error) must survive. */
        if (l.n > 0 || l.rc == 0) {
            if (format != EIO_PAYLOAD_V3_BINARY || l.n > 0)
                round_trip(&l, format);
            if (format != EIO_PAYLOAD_V3_TEXT)
                round_trip(&l, EIO_PAYLOAD_V3_TEXT);
            if (format != EIO_PAYLOAD_V3_BINARY && l.n > 0)
                round_trip(&l, EIO_PAYLOAD_V3_BINARY);
            if (format != EIO_PAYLOAD_V4 && fits_v4(&l))
                round_trip(&l, EIO_PAYLOAD_V4);
        }
        list_free(&l);
    }

    /* JSONP: unwrap the input as a POST body, then decode as v3 text. */
    eio_buf body = EIO_BUF_INIT;
    if (eio_jsonp_unwrap(data, size, &body) == EIO_OK) {
        packet_list l;
        decode_all(EIO_PAYLOAD_V3_TEXT, body.data, body.len, &l);
        list_free(&l);
    }
    eio_buf_free(&body);

    /* JSONP wrap: head, a quoted string without raw controls, foot. */
    eio_buf js = EIO_BUF_INIT;
    eio_jsonp_wrap("12", data, size, &js);
    if (js.len < 13 || memcmp(js.data, "___eio[12](\"", 12) != 0 ||
        memcmp(js.data + js.len - 3, "\");", 3) != 0)
        fail("jsonp frame", EIO_PAYLOAD_V3_TEXT);
    for (size_t i = 12; i + 3 < js.len; i++) {
        if (js.data[i] < 0x20)
            fail("raw control character in jsonp", EIO_PAYLOAD_V3_TEXT);
        if (js.data[i] == '"' && js.data[i - 1] != '\\')
            fail("unescaped quote in jsonp", EIO_PAYLOAD_V3_TEXT);
        if (js.data[i] == 0xe2 && i + 2 < js.len && js.data[i + 1] == 0x80 &&
            (js.data[i + 2] == 0xa8 || js.data[i + 2] == 0xa9))
            fail("raw U+2028/U+2029 in jsonp", EIO_PAYLOAD_V3_TEXT);
    }
    eio_buf_free(&js);
    return 0;
}
