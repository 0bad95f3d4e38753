/*
 * libFuzzer driver for single Engine.IO packets (WebSocket messages): decodes
 * the input as a text and as a binary frame in v3 and v4; each packet that
 * decodes is re-encoded (as a WebSocket message and in text form) and decoded
 * again, and must come back the same. Also round-trips base64 and checks the
 * UTF-8 validator against its incremental form and the UTF-16 helpers.
 * Threading: single thread. Ownership: everything allocated is freed per input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engineio/eio_packet.h"
#include "engineio/eio_utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, int version, int binary_frame)
{
    fprintf(stderr, "fuzz_eio_packet: %s (v%d, %s frame)\n", what, version,
            binary_frame ? "binary" : "text");
    abort();
}

static int same_packet(const eio_packet *a, const eio_packet *b)
{
    return a->type == b->type && !a->binary == !b->binary && a->len == b->len &&
           (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static void packet_round_trip(int version, int binary_frame, const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (size)
        memcpy(copy, data, size);
    eio_buf scratch = EIO_BUF_INIT, scratch2 = EIO_BUF_INIT, enc = EIO_BUF_INIT;
    eio_packet p, q;
    int rc = eio_packet_decode(version, binary_frame, copy, size, &scratch, &p);
    if (rc != EIO_OK) {
        if (rc != EIO_ERR_PARSE)
            fail("unexpected error code", version, binary_frame);
        goto out;
    }
    if (p.type > EIO_PACKET_NOOP || (p.len && !p.data))
        fail("bad packet", version, binary_frame);
    if (version == 4 && p.binary && p.type != EIO_PACKET_MESSAGE)
        fail("v4 binary packet that is not a message", version, binary_frame);

    int frame = eio_packet_encode_ws(version, &p, &enc);
    if (frame != p.binary)
        fail("frame kind differs from packet kind", version, binary_frame);
    if (eio_packet_decode(version, frame, enc.data, enc.len, &scratch2, &q) != EIO_OK ||
        !same_packet(&p, &q))
        fail("WebSocket round trip", version, binary_frame);
    /* Re-encoding the original bytes gives them back, except where Node
     * accepts more than one spelling (base64 text, which we send binary). */
    if (frame == binary_frame && !(p.binary && !binary_frame) &&
        (enc.len != size || (size && memcmp(enc.data, data, size) != 0)))
        fail("re-encoded bytes differ", version, binary_frame);

    eio_buf_reset(&enc);
    eio_packet_encode_text(version, &p, &enc);
    if (eio_packet_decode(version, 0, enc.data, enc.len, &scratch2, &q) != EIO_OK ||
        !same_packet(&p, &q))
        fail("text round trip", version, binary_frame);
out:
    eio_buf_free(&scratch);
    eio_buf_free(&scratch2);
    eio_buf_free(&enc);
    free(copy);
}

static void base64_round_trip(const uint8_t *data, size_t size)
{
    eio_buf dec = EIO_BUF_INIT, enc = EIO_BUF_INIT, dec2 = EIO_BUF_INIT;
    /* Raw bytes -> base64 -> the same bytes. */
    eio_base64_encode(data, size, &enc);
    if (enc.len != (size + 2) / 3 * 4 || eio_base64_decode(enc.data, enc.len, &dec) != EIO_OK ||
        dec.len != size || (size && memcmp(dec.data, data, size) != 0))
        fail("base64 encode/decode", 0, 0);
    /* Input as base64: if accepted, re-encoding and decoding is stable. */
    eio_buf_reset(&dec);
    eio_buf_reset(&enc);
    if (eio_base64_decode(data, size, &dec) == EIO_OK) {
        eio_base64_encode(dec.data, dec.len, &enc);
        if (eio_base64_decode(enc.data, enc.len, &dec2) != EIO_OK || dec2.len != dec.len ||
            (dec.len && memcmp(dec.data, dec2.data, dec.len) != 0))
            fail("base64 decode/encode/decode", 0, 0);
    } else if (dec.len != 0) {
        fail("base64 error appended output", 0, 0);
    }
    eio_buf_free(&dec);
    eio_buf_free(&enc);
    eio_buf_free(&dec2);
}

static void utf8_checks(const uint8_t *data, size_t size)
{
    int valid = eio_utf8_valid(data, size);
    /* Split anywhere: same verdict incrementally. */
    size_t half = size / 2;
    uint32_t st = eio_utf8_feed(EIO_UTF8_ACCEPT, data, half);
    st = eio_utf8_feed(st, data + half, size - half);
    if ((st == EIO_UTF8_ACCEPT) != valid)
        fail("incremental UTF-8 verdict differs", 0, 0);
    /* Byte by byte (never the 8-bytes-a-step scan): the same state. */
    uint32_t whole = eio_utf8_feed(EIO_UTF8_ACCEPT, data, size), one = EIO_UTF8_ACCEPT;
    for (size_t i = 0; i < size && one != EIO_UTF8_REJECT; i++)
        one = eio_utf8_feed(one, data + i, 1);
    if (one != whole)
        fail("UTF-8 state differs fed byte by byte", 0, 0);
    if (!valid)
        return;
    size_t units = eio_utf16_length(data, size), off;
    if (eio_utf16_offset(data, size, units, &off) != 0 || off != size)
        fail("utf16 offset of the whole string", 0, 0);
    if (eio_utf16_offset(data, size, units + 1, &off) == 0)
        fail("utf16 offset past the end", 0, 0);
    /* Any offset found splits the string into two valid halves. */
    for (size_t u = 0; u < units && u < 64; u++) {
        if (eio_utf16_offset(data, size, u, &off) == 0 &&
            (!eio_utf8_valid(data, off) || eio_utf16_length(data, off) != u))
            fail("utf16 offset is not a character boundary", 0, 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int version = 3; version <= 4; version++)
        for (int binary_frame = 0; binary_frame <= 1; binary_frame++)
            packet_round_trip(version, binary_frame, data, size);
    base64_round_trip(data, size);
    utf8_checks(data, size);
    return 0;
}
