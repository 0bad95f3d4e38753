/*
 * Unit tests for eio_packet: every packet type in both versions, the three
 * payload formats with the spec's and Node's examples verbatim, every limit,
 * every split point (truncated payloads decode fewer packets or fail, reading
 * exact-size heap copies so ASan sees any over-read), random round trips,
 * base64 and JSONP.
 * Threading: single thread. Ownership: tests free what they allocate.
 */
#include <stdint.h>
#include <stdlib.h>

#include "engineio/eio_packet.h"
#include "engineio/eio_utf8.h"
#include "test.h"

#define MAX_DECODED 64

/* Packets decoded from a payload, with their data copied out of the reader. */
typedef struct decoded {
    int rc; /* 0: clean end; negative: the error that stopped decoding */
    size_t n;
    eio_packet p[MAX_DECODED];
} decoded;

static void decoded_free(decoded *d)
{
    for (size_t i = 0; i < d->n; i++)
        free((void *)d->p[i].data);
    d->n = 0;
}

/* Decodes a payload from an exact-size heap copy of buf. */
static void decode_payload(eio_payload_format format, const void *buf, size_t len, decoded *d)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (len)
        memcpy(copy, buf, len);
    eio_payload_reader r;
    eio_payload_reader_init(&r, format == EIO_PAYLOAD_V4 ? 4 : 3, format, copy, len);
    d->n = 0;
    for (;;) {
        eio_packet p;
        int rc = eio_payload_next(&r, &p);
        if (rc <= 0) {
            d->rc = rc;
            /* An error is sticky. */
            if (rc < 0)
                CHECK_EQ_INT(eio_payload_next(&r, &p), rc);
            break;
        }
        CHECK(d->n < MAX_DECODED);
        if (d->n >= MAX_DECODED) {
            d->rc = -100;
            break;
        }
        uint8_t *data = malloc(p.len ? p.len : 1);
        if (p.len)
            memcpy(data, p.data, p.len);
        p.data = data;
        d->p[d->n++] = p;
    }
    eio_payload_reader_free(&r);
    free(copy);
}

static int packet_equal(const eio_packet *a, const eio_packet *b)
{
    return a->type == b->type && !a->binary == !b->binary && a->len == b->len &&
           (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static eio_packet text_packet(eio_packet_type type, const char *s)
{
    eio_packet p = {type, 0, (const uint8_t *)s, strlen(s)};
    return p;
}

static eio_packet bin_packet(eio_packet_type type, const void *data, size_t len)
{
    eio_packet p = {type, 1, data, len};
    return p;
}

/* Checks that `payload` decodes in `format` to exactly the n packets. */
static void check_decodes_to(eio_payload_format format, const void *payload, size_t len,
                             const eio_packet *expect, size_t n)
{
    decoded d;
    decode_payload(format, payload, len, &d);
    CHECK_EQ_INT(d.rc, 0);
    CHECK_EQ_INT(d.n, n);
    for (size_t i = 0; i < n && i < d.n; i++)
        CHECK(packet_equal(&d.p[i], &expect[i]));
    decoded_free(&d);
}

/* Checks that the n packets encode in `format` to exactly `payload`. */
static void check_encodes_to(eio_payload_format format, const eio_packet *packets, size_t n,
                             const void *payload, size_t len)
{
    eio_buf out = EIO_BUF_INIT;
    eio_payload_encode(format, packets, n, &out);
    CHECK_EQ_INT(out.len, len);
    CHECK(out.len == len && (len == 0 || memcmp(out.data, payload, len) == 0));
    eio_buf_free(&out);
}

/* Returns the error (or 0) after decoding, and the number of packets. */
static int decode_error(eio_payload_format format, const void *payload, size_t len, size_t *n)
{
    decoded d;
    decode_payload(format, payload, len, &d);
    if (n)
        *n = d.n;
    int rc = d.rc;
    decoded_free(&d);
    return rc;
}

#define S(lit) (lit), (sizeof(lit) - 1)

/* ---- single packets ------------------------------------------------------ */

static void test_strerror(void)
{
    CHECK(strcmp(eio_strerror(EIO_OK), eio_strerror(EIO_ERR_PARSE)) != 0);
    CHECK(strlen(eio_strerror(EIO_ERR_TOO_LARGE)) > 0);
    CHECK(strlen(eio_strerror(EIO_ERR_UTF8)) > 0);
    CHECK(strlen(eio_strerror(-999)) > 0);
}

static void test_ws_text_every_type(void)
{
    eio_buf scratch = EIO_BUF_INIT;
    for (int version = 3; version <= 4; version++) {
        for (int t = 0; t <= 6; t++) {
            char msg[32];
            eio_packet p;
            snprintf(msg, sizeof(msg), "%dprobe", t);
            CHECK_EQ_INT(
                eio_packet_decode(version, 0, (const uint8_t *)msg, strlen(msg), &scratch, &p),
                EIO_OK);
            CHECK_EQ_INT(p.type, t);
            CHECK_EQ_INT(p.binary, 0);
            CHECK_MEM(p.data, p.len, "probe");
            /* Type alone. */
            CHECK_EQ_INT(eio_packet_decode(version, 0, (const uint8_t *)msg, 1, &scratch, &p),
                         EIO_OK);
            CHECK_EQ_INT(p.type, t);
            CHECK_EQ_INT(p.len, 0);
            /* Encoding gives the same text back, in a text frame. */
            eio_buf out = EIO_BUF_INIT;
            eio_packet q = text_packet((eio_packet_type)t, "probe");
            CHECK_EQ_INT(eio_packet_encode_ws(version, &q, &out), 0);
            CHECK_MEM(out.data, out.len, msg);
            eio_buf_free(&out);
        }
    }
    eio_buf_free(&scratch);
}

static void test_ws_binary_frames(void)
{
    eio_buf scratch = EIO_BUF_INIT;
    eio_packet p;
    const uint8_t raw[] = {1, 2, 3, 4};
    /* v4: a binary frame is a message of raw bytes, even an empty one. */
    CHECK_EQ_INT(eio_packet_decode(4, 1, raw, 4, &scratch, &p), EIO_OK);
    CHECK(p.type == EIO_PACKET_MESSAGE && p.binary && p.len == 4 && p.data == raw);
    CHECK_EQ_INT(eio_packet_decode(4, 1, raw, 0, &scratch, &p), EIO_OK);
    CHECK(p.type == EIO_PACKET_MESSAGE && p.binary && p.len == 0);
    /* v3: the first byte is the type. */
    for (int t = 0; t <= 6; t++) {
        uint8_t frame[] = {(uint8_t)t, 9, 8};
        CHECK_EQ_INT(eio_packet_decode(3, 1, frame, 3, &scratch, &p), EIO_OK);
        CHECK(p.type == (eio_packet_type)t && p.binary && p.len == 2 && p.data == frame + 1);
        CHECK_EQ_INT(eio_packet_decode(3, 1, frame, 1, &scratch, &p), EIO_OK);
        CHECK(p.type == (eio_packet_type)t && p.binary && p.len == 0);
    }
    uint8_t bad[] = {7, 1};
    CHECK_EQ_INT(eio_packet_decode(3, 1, bad, 2, &scratch, &p), EIO_ERR_PARSE);
    bad[0] = '4'; /* a digit is not a type byte */
    CHECK_EQ_INT(eio_packet_decode(3, 1, bad, 2, &scratch, &p), EIO_ERR_PARSE);
    CHECK_EQ_INT(eio_packet_decode(3, 1, raw, 0, &scratch, &p), EIO_ERR_PARSE);

    /* Encoding binary messages. */
    eio_buf out = EIO_BUF_INIT;
    eio_packet m = bin_packet(EIO_PACKET_MESSAGE, raw, 4);
    CHECK_EQ_INT(eio_packet_encode_ws(4, &m, &out), 1);
    CHECK(out.len == 4 && memcmp(out.data, raw, 4) == 0);
    eio_buf_reset(&out);
    CHECK_EQ_INT(eio_packet_encode_ws(3, &m, &out), 1);
    CHECK(out.len == 5 && out.data[0] == 4 && memcmp(out.data + 1, raw, 4) == 0);
    eio_buf_free(&out);
    eio_buf_free(&scratch);
}

static void test_ws_base64_text(void)
{
    eio_buf scratch = EIO_BUF_INIT;
    eio_packet p;
    const uint8_t want[] = {1, 2, 3, 4};
    CHECK_EQ_INT(eio_packet_decode(4, 0, (const uint8_t *)S("bAQIDBA=="), &scratch, &p), EIO_OK);
    CHECK(p.type == EIO_PACKET_MESSAGE && p.binary && p.len == 4 && memcmp(p.data, want, 4) == 0);
    CHECK_EQ_INT(eio_packet_decode(3, 0, (const uint8_t *)S("b4AQIDBA=="), &scratch, &p), EIO_OK);
    CHECK(p.type == EIO_PACKET_MESSAGE && p.binary && p.len == 4 && memcmp(p.data, want, 4) == 0);
    /* v3 keeps the type of a base64 packet. */
    CHECK_EQ_INT(eio_packet_decode(3, 0, (const uint8_t *)S("b2AQID"), &scratch, &p), EIO_OK);
    CHECK(p.type == EIO_PACKET_PING && p.binary && p.len == 3);
    /* Empty binary. */
    CHECK_EQ_INT(eio_packet_decode(4, 0, (const uint8_t *)S("b"), &scratch, &p), EIO_OK);
    CHECK(p.binary && p.len == 0 && p.type == EIO_PACKET_MESSAGE);
    CHECK_EQ_INT(eio_packet_decode(3, 0, (const uint8_t *)S("b4"), &scratch, &p), EIO_OK);
    CHECK(p.binary && p.len == 0);
    /* Errors. */
    CHECK_EQ_INT(eio_packet_decode(3, 0, (const uint8_t *)S("b"), &scratch, &p), EIO_ERR_PARSE);
    CHECK_EQ_INT(eio_packet_decode(3, 0, (const uint8_t *)S("b7AQID"), &scratch, &p),
                 EIO_ERR_PARSE);
    CHECK_EQ_INT(eio_packet_decode(3, 0, (const uint8_t *)S("bxAQID"), &scratch, &p),
                 EIO_ERR_PARSE);
    CHECK_EQ_INT(eio_packet_decode(4, 0, (const uint8_t *)S("bA"), &scratch, &p), EIO_ERR_PARSE);
    CHECK_EQ_INT(eio_packet_decode(4, 0, (const uint8_t *)S("bAQ!D"), &scratch, &p), EIO_ERR_PARSE);
    /* In v4 "b4..." is base64 "4..." (no type digit). */
    CHECK_EQ_INT(eio_packet_decode(4, 0, (const uint8_t *)S("b4AQIDBA=="), &scratch, &p),
                 EIO_ERR_PARSE);
    CHECK_EQ_INT(eio_packet_decode(4, 0, (const uint8_t *)S("b4AQI"), &scratch, &p), EIO_OK);
    CHECK(p.binary && p.len == 3 && p.data[0] == 0xe0);
    eio_buf_free(&scratch);
}

static void test_ws_text_errors(void)
{
    eio_buf scratch = EIO_BUF_INIT;
    eio_packet p;
    for (int version = 3; version <= 4; version++) {
        CHECK_EQ_INT(eio_packet_decode(version, 0, (const uint8_t *)"", 0, &scratch, &p),
                     EIO_ERR_PARSE);
        CHECK_EQ_INT(eio_packet_decode(version, 0, (const uint8_t *)S("7"), &scratch, &p),
                     EIO_ERR_PARSE);
        CHECK_EQ_INT(eio_packet_decode(version, 0, (const uint8_t *)S("x4"), &scratch, &p),
                     EIO_ERR_PARSE);
        CHECK_EQ_INT(eio_packet_decode(version, 0, (const uint8_t *)S(" 4"), &scratch, &p),
                     EIO_ERR_PARSE);
        CHECK_EQ_INT(eio_packet_decode(version, 0, (const uint8_t *)S("/4"), &scratch, &p),
                     EIO_ERR_PARSE);
    }
    eio_buf_free(&scratch);
}

static void test_encode_text(void)
{
    eio_buf out = EIO_BUF_INIT;
    const uint8_t raw[] = {1, 2, 3, 4};
    eio_packet b = bin_packet(EIO_PACKET_MESSAGE, raw, 4);
    eio_packet_encode_text(3, &b, &out);
    CHECK_MEM(out.data, out.len, "b4AQIDBA==");
    eio_buf_reset(&out);
    eio_packet_encode_text(4, &b, &out);
    CHECK_MEM(out.data, out.len, "bAQIDBA==");
    eio_buf_reset(&out);
    eio_packet t = text_packet(EIO_PACKET_PONG, "probe");
    eio_packet_encode_text(4, &t, &out);
    CHECK_MEM(out.data, out.len, "3probe");
    eio_buf_free(&out);
}

/* ---- examples from the specs and from Node -------------------------------- */

static void test_spec_v3_examples(void)
{
    /* v3 spec: [message "hello", message "€"] -> "6:4hello2:4€". */
    eio_packet two[] = {text_packet(EIO_PACKET_MESSAGE, "hello"),
                        text_packet(EIO_PACKET_MESSAGE, "\xE2\x82\xAC")};
    check_encodes_to(EIO_PAYLOAD_V3_TEXT, two, 2, S("6:4hello2:4\xE2\x82\xAC"));
    check_decodes_to(EIO_PAYLOAD_V3_TEXT, S("6:4hello2:4\xE2\x82\xAC"), two, 2);

    /* v3 spec: [message "€", message <01 02 03 04>] without binary support. */
    const uint8_t raw[] = {1, 2, 3, 4};
    eio_packet mixed[] = {text_packet(EIO_PACKET_MESSAGE, "\xE2\x82\xAC"),
                          bin_packet(EIO_PACKET_MESSAGE, raw, 4)};
    check_encodes_to(EIO_PAYLOAD_V3_TEXT, mixed, 2,
                     S("2:4\xE2\x82\xAC"
                       "10:b4AQIDBA=="));
    check_decodes_to(EIO_PAYLOAD_V3_TEXT,
                     S("2:4\xE2\x82\xAC"
                       "10:b4AQIDBA=="),
                     mixed, 2);

    /* The same with binary support. The spec draws the binary record as
     * <01 04 ff 01 02 03 04>, without the type byte; Node's parser-v3
     * (encodePayloadAsBinary) writes the type byte 04 and counts it in the
     * length, as its own changelog example shows. We follow Node. */
    const uint8_t node_bin[] = {0x00, 0x04, 0xff, 0x34, 0xe2, 0x82, 0xac, 0x01,
                                0x05, 0xff, 0x04, 0x01, 0x02, 0x03, 0x04};
    check_encodes_to(EIO_PAYLOAD_V3_BINARY, mixed, 2, node_bin, sizeof(node_bin));
    check_decodes_to(EIO_PAYLOAD_V3_BINARY, node_bin, sizeof(node_bin), mixed, 2);
    /* Read as Node reads it, the spec's drawing is a binary close packet. */
    const uint8_t spec_bin[] = {0x00, 0x04, 0xff, 0x34, 0xe2, 0x82, 0xac,
                                0x01, 0x04, 0xff, 0x01, 0x02, 0x03, 0x04};
    eio_packet as_node[] = {mixed[0], bin_packet(EIO_PACKET_CLOSE, raw + 1, 3)};
    check_decodes_to(EIO_PAYLOAD_V3_BINARY, spec_bin, sizeof(spec_bin), as_node, 2);

    /* v3 spec sample session. */
    eio_packet hey = text_packet(EIO_PACKET_MESSAGE, "hey");
    check_decodes_to(EIO_PAYLOAD_V3_TEXT, S("4:4hey"), &hey, 1);
    check_encodes_to(EIO_PAYLOAD_V3_TEXT, &hey, 1, S("4:4hey"));
    eio_packet hw[] = {text_packet(EIO_PACKET_MESSAGE, "hello"),
                       text_packet(EIO_PACKET_MESSAGE, "world")};
    check_decodes_to(EIO_PAYLOAD_V3_TEXT, S("6:4hello6:4world"), hw, 2);
    const char open[] = "96:0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],"
                        "\"pingInterval\":25000,\"pingTimeout\":5000}";
    eio_packet o = text_packet(EIO_PACKET_OPEN, open + 4);
    check_decodes_to(EIO_PAYLOAD_V3_TEXT, S(open), &o, 1);
    check_encodes_to(EIO_PAYLOAD_V3_TEXT, &o, 1, S(open));
}

static void test_node_changelog_examples(void)
{
    /* engine.io-parser 4.0.0 changelog, v3 vs v4 encodings. */
    eio_packet euros[] = {text_packet(EIO_PACKET_MESSAGE, "hello"),
                          text_packet(EIO_PACKET_MESSAGE, "\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC")};
    check_encodes_to(EIO_PAYLOAD_V3_TEXT, euros, 2,
                     S("6:4hello4:4\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC"));
    check_encodes_to(EIO_PAYLOAD_V4, euros, 2,
                     S("4hello\x1e"
                       "4\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC"));
    const uint8_t raw[] = {1, 2, 3};
    eio_packet mixed[] = {text_packet(EIO_PACKET_MESSAGE, "hello"),
                          bin_packet(EIO_PACKET_MESSAGE, raw, 3)};
    const uint8_t v3bin[] = {0x00, 0x06, 0xff, 0x34, 0x68, 0x65, 0x6c, 0x6c,
                             0x6f, 0x01, 0x04, 0xff, 0x04, 0x01, 0x02, 0x03};
    check_encodes_to(EIO_PAYLOAD_V3_BINARY, mixed, 2, v3bin, sizeof(v3bin));
    check_decodes_to(EIO_PAYLOAD_V3_BINARY, v3bin, sizeof(v3bin), mixed, 2);
    check_encodes_to(EIO_PAYLOAD_V4, mixed, 2,
                     S("4hello\x1e"
                       "bAQID"));
    check_decodes_to(EIO_PAYLOAD_V4,
                     S("4hello\x1e"
                       "bAQID"),
                     mixed, 2);
    /* WebSocket: v3 <04 01 02 03>, v4 <01 02 03>. */
    eio_buf out = EIO_BUF_INIT;
    CHECK_EQ_INT(eio_packet_encode_ws(3, &mixed[1], &out), 1);
    CHECK(out.len == 4 && out.data[0] == 4 && memcmp(out.data + 1, raw, 3) == 0);
    eio_buf_reset(&out);
    CHECK_EQ_INT(eio_packet_encode_ws(4, &mixed[1], &out), 1);
    CHECK(out.len == 3 && memcmp(out.data, raw, 3) == 0);
    eio_buf_free(&out);
}

static void test_spec_v4_examples(void)
{
    eio_packet three[] = {text_packet(EIO_PACKET_MESSAGE, "hello"),
                          text_packet(EIO_PACKET_PING, ""),
                          text_packet(EIO_PACKET_MESSAGE, "world")};
    check_decodes_to(EIO_PAYLOAD_V4,
                     S("4hello\x1e"
                       "2\x1e"
                       "4world"),
                     three, 3);
    check_encodes_to(EIO_PAYLOAD_V4, three, 3,
                     S("4hello\x1e"
                       "2\x1e"
                       "4world"));
    const uint8_t raw[] = {1, 2, 3, 4};
    eio_packet mixed[] = {text_packet(EIO_PACKET_MESSAGE, "hello"),
                          bin_packet(EIO_PACKET_MESSAGE, raw, 4)};
    check_decodes_to(EIO_PAYLOAD_V4,
                     S("4hello\x1e"
                       "bAQIDBA=="),
                     mixed, 2);
    check_encodes_to(EIO_PAYLOAD_V4, mixed, 2,
                     S("4hello\x1e"
                       "bAQIDBA=="));
    eio_packet three2[] = {text_packet(EIO_PACKET_MESSAGE, "hello"),
                           text_packet(EIO_PACKET_MESSAGE, "\xE2\x82\xAC"),
                           bin_packet(EIO_PACKET_MESSAGE, raw, 4)};
    check_decodes_to(EIO_PAYLOAD_V4,
                     S("4hello\x1e"
                       "4\xE2\x82\xAC\x1e"
                       "bAQIDBA=="),
                     three2, 3);
    check_encodes_to(EIO_PAYLOAD_V4, three2, 3,
                     S("4hello\x1e"
                       "4\xE2\x82\xAC\x1e"
                       "bAQIDBA=="));
}

static void test_payload_every_type(void)
{
    for (int t = 0; t <= 6; t++) {
        eio_packet p[] = {text_packet((eio_packet_type)t, ""),
                          text_packet((eio_packet_type)t, "data")};
        char v4[48], v3[48];
        snprintf(v4, sizeof(v4), "%d\x1e%ddata", t, t);
        snprintf(v3, sizeof(v3), "1:%d5:%ddata", t, t);
        check_decodes_to(EIO_PAYLOAD_V4, v4, strlen(v4), p, 2);
        check_encodes_to(EIO_PAYLOAD_V4, p, 2, v4, strlen(v4));
        check_decodes_to(EIO_PAYLOAD_V3_TEXT, v3, strlen(v3), p, 2);
        check_encodes_to(EIO_PAYLOAD_V3_TEXT, p, 2, v3, strlen(v3));
        uint8_t v3b[] = {
            0, 1, 0xff, (uint8_t)('0' + t), 0,   5, 0xff, (uint8_t)('0' + t), 'd', 'a', 't', 'a',
            1, 2, 0xff, (uint8_t)t,         0xAB};
        uint8_t ab = 0xAB;
        eio_packet pb[] = {p[0], p[1], bin_packet((eio_packet_type)t, &ab, 1)};
        check_decodes_to(EIO_PAYLOAD_V3_BINARY, v3b, sizeof(v3b), pb, 3);
        check_encodes_to(EIO_PAYLOAD_V3_BINARY, pb, 3, v3b, sizeof(v3b));
    }
}

static void test_empty_payloads(void)
{
    /* Encoding nothing: "" (v4), "0:" (v3 text, as Node), nothing (binary). */
    check_encodes_to(EIO_PAYLOAD_V4, NULL, 0, "", 0);
    check_encodes_to(EIO_PAYLOAD_V3_TEXT, NULL, 0, S("0:"));
    check_encodes_to(EIO_PAYLOAD_V3_BINARY, NULL, 0, "", 0);
    /* "0:" decodes to no packet, without error; so does "0:0:". */
    check_decodes_to(EIO_PAYLOAD_V3_TEXT, S("0:"), NULL, 0);
    check_decodes_to(EIO_PAYLOAD_V3_TEXT, S("0:0:"), NULL, 0);
    eio_packet a = text_packet(EIO_PACKET_MESSAGE, "a");
    check_decodes_to(EIO_PAYLOAD_V3_TEXT, S("0:2:4a0:"), &a, 1);
    /* An empty body is an error in every format. */
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V4, "", 0, NULL), EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, "", 0, NULL), EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_BINARY, "", 0, NULL), EIO_ERR_PARSE);
}

static void test_pick_format_and_content_type(void)
{
    const uint8_t raw[] = {1};
    eio_packet text[] = {text_packet(EIO_PACKET_MESSAGE, "x")};
    eio_packet mixed[] = {text_packet(EIO_PACKET_MESSAGE, "x"),
                          bin_packet(EIO_PACKET_MESSAGE, raw, 1)};
    CHECK_EQ_INT(eio_payload_pick_format(4, 1, mixed, 2), EIO_PAYLOAD_V4);
    CHECK_EQ_INT(eio_payload_pick_format(4, 0, mixed, 2), EIO_PAYLOAD_V4);
    CHECK_EQ_INT(eio_payload_pick_format(3, 1, mixed, 2), EIO_PAYLOAD_V3_BINARY);
    CHECK_EQ_INT(eio_payload_pick_format(3, 0, mixed, 2), EIO_PAYLOAD_V3_TEXT);
    CHECK_EQ_INT(eio_payload_pick_format(3, 1, text, 1), EIO_PAYLOAD_V3_TEXT);
    CHECK_EQ_INT(eio_payload_pick_format(3, 1, NULL, 0), EIO_PAYLOAD_V3_TEXT);
    CHECK(strcmp(eio_payload_content_type(EIO_PAYLOAD_V4), "text/plain; charset=UTF-8") == 0);
    CHECK(strcmp(eio_payload_content_type(EIO_PAYLOAD_V3_TEXT), "text/plain; charset=UTF-8") == 0);
    CHECK(strcmp(eio_payload_content_type(EIO_PAYLOAD_V3_BINARY), "application/octet-stream") == 0);
}

/* ---- errors and limits ---------------------------------------------------- */

static void test_v4_errors(void)
{
    size_t n;
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V4, S("\x1e"), &n), EIO_ERR_PARSE);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V4,
                              S("\x1e"
                                "4a"),
                              &n),
                 EIO_ERR_PARSE);
    CHECK_EQ_INT(n, 0);
    /* Packets before the bad piece are delivered, as Node does. */
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V4, S("4a\x1e"), &n), EIO_ERR_PARSE);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V4,
                              S("4a\x1e\x1e"
                                "4b"),
                              &n),
                 EIO_ERR_PARSE);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V4,
                              S("4a\x1e"
                                "9"),
                              &n),
                 EIO_ERR_PARSE);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V4, S("x"), &n), EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V4, S("b!!!!"), &n), EIO_ERR_PARSE);
    /* Invalid UTF-8 anywhere refuses the whole payload. */
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V4,
                              S("4a\x1e"
                                "4\xff"),
                              &n),
                 EIO_ERR_UTF8);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V4, S("4\xED\xA0\x80"), &n), EIO_ERR_UTF8);
}

static void test_v3_text_errors(void)
{
    size_t n;
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, S("4hello"), &n), EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, S(":4a"), &n), EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, S("a:4a"), &n), EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, S(" 2:4a"), &n), EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, S("+2:4a"), &n), EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, S("2"), &n), EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, S("2x4a"), &n), EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, S("6:4hel"), &n), EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, S("2:7a"), &n), EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, S("2:b4"), &n), EIO_OK); /* empty binary */
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, S("1:b"), &n), EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, S("5:b4A=="), &n), EIO_ERR_PARSE);
    /* Good packets first, then the error. */
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, S("2:4a2:4b3"), &n), EIO_ERR_PARSE);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, S("2:4a9:4b"), &n), EIO_ERR_PARSE);
    CHECK_EQ_INT(n, 1);
    /* Invalid UTF-8: the whole payload is refused with EIO_ERR_UTF8. */
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, S("2:4a2:4\xff"), &n), EIO_ERR_UTF8);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, S("2:4\xC0\x80"), &n), EIO_ERR_UTF8);
}

static void test_v3_text_utf16_lengths(void)
{
    /* "4😀" is 3 UTF-16 units (the emoji counts 2) but 5 bytes. */
    eio_packet smile = text_packet(EIO_PACKET_MESSAGE, "\xF0\x9F\x98\x80");
    check_encodes_to(EIO_PAYLOAD_V3_TEXT, &smile, 1, S("3:4\xF0\x9F\x98\x80"));
    check_decodes_to(EIO_PAYLOAD_V3_TEXT, S("3:4\xF0\x9F\x98\x80"), &smile, 1);
    /* A length that ends in the middle of the surrogate pair. */
    size_t n;
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, S("2:4\xF0\x9F\x98\x80"), &n), EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT,
                              S("2:4\xF0\x9F\x98\x80"
                                "1:6"),
                              &n),
                 EIO_ERR_PARSE);
    /* Counting bytes instead of units would be wrong: 5 bytes = too long. */
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, S("5:4\xF0\x9F\x98\x80"), &n), EIO_ERR_PARSE);
    /* Mixed: "4a😀é€" = 1 + 1 + 2 + 1 + 1 = 6 units. */
    eio_packet mix[] = {text_packet(EIO_PACKET_MESSAGE, "a\xF0\x9F\x98\x80\xC3\xA9\xE2\x82\xAC"),
                        text_packet(EIO_PACKET_PING, "\xF0\x9F\x98\x80\xF0\x9F\x98\x80")};
    check_encodes_to(EIO_PAYLOAD_V3_TEXT, mix, 2,
                     S("6:4a\xF0\x9F\x98\x80\xC3\xA9\xE2\x82\xAC"
                       "5:2\xF0\x9F\x98\x80\xF0\x9F\x98\x80"));
    check_decodes_to(EIO_PAYLOAD_V3_TEXT,
                     S("6:4a\xF0\x9F\x98\x80\xC3\xA9\xE2\x82\xAC"
                       "5:2\xF0\x9F\x98\x80\xF0\x9F\x98\x80"),
                     mix, 2);
}

static void test_length_digit_limits(void)
{
    char buf[64];
    eio_packet a = text_packet(EIO_PACKET_MESSAGE, "a");
    size_t n;
    /* Text: EIO_PAYLOAD_MAX_LENGTH_DIGITS digits (leading zeros) pass, one more fails. */
    memset(buf, '0', EIO_PAYLOAD_MAX_LENGTH_DIGITS - 1);
    memcpy(buf + EIO_PAYLOAD_MAX_LENGTH_DIGITS - 1, "2:4a", 5);
    check_decodes_to(EIO_PAYLOAD_V3_TEXT, buf, strlen(buf), &a, 1);
    memset(buf, '0', EIO_PAYLOAD_MAX_LENGTH_DIGITS);
    memcpy(buf + EIO_PAYLOAD_MAX_LENGTH_DIGITS, "2:4a", 5);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, buf, strlen(buf), &n), EIO_ERR_PARSE);
    /* Huge values fail without overflow. */
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, S("99999999999999999999:4a"), &n),
                 EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, S("18446744073709551617:4a"), &n),
                 EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_TEXT, S("3:4a"), &n), EIO_ERR_PARSE);

    /* Binary framing: the same limits. */
    uint8_t b[64];
    size_t k = 0;
    b[k++] = 0;
    for (int i = 0; i < EIO_PAYLOAD_MAX_LENGTH_DIGITS - 1; i++)
        b[k++] = 0;
    b[k++] = 2;
    b[k++] = 0xff;
    b[k++] = '4';
    b[k++] = 'a';
    check_decodes_to(EIO_PAYLOAD_V3_BINARY, b, k, &a, 1);
    k = 0;
    b[k++] = 0;
    for (int i = 0; i < EIO_PAYLOAD_MAX_LENGTH_DIGITS; i++)
        b[k++] = 0;
    b[k++] = 2;
    b[k++] = 0xff;
    b[k++] = '4';
    b[k++] = 'a';
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_BINARY, b, k, &n), EIO_ERR_PARSE);
    k = 0;
    b[k++] = 1;
    for (int i = 0; i < 20; i++)
        b[k++] = 9;
    b[k++] = 0xff;
    b[k++] = 4;
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_BINARY, b, k, &n), EIO_ERR_PARSE);
    /* The 310-digit length Node accepts is far over ours. */
    uint8_t big[400];
    big[0] = 1;
    memset(big + 1, 9, 311);
    big[312] = 0xff;
    big[313] = 4;
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_BINARY, big, 314, &n), EIO_ERR_PARSE);
    /* Missing 0xFF: digits run to the end. */
    memset(big + 1, 5, 399);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_BINARY, big, 400, &n), EIO_ERR_PARSE);
}

static void test_v3_binary_errors(void)
{
    size_t n;
    static const uint8_t kind2[] = {2, 1, 0xff, 4};
    static const uint8_t no_ff[] = {0, 2, '4', 'a'};
    static const uint8_t no_digits[] = {0, 0xff, '4'};
    static const uint8_t digit10[] = {0, 10, 0xff, '4'};
    static const uint8_t ascii_digit[] = {0, '2', 0xff, '4', 'a'};
    static const uint8_t past_end[] = {0, 3, 0xff, '4', 'a'};
    static const uint8_t zero_len[] = {0, 0, 0xff};
    static const uint8_t zero_len_bin[] = {1, 0, 0xff, 1, 2, 0xff, 4, 9};
    static const uint8_t bad_type[] = {1, 2, 0xff, 7, 1};
    static const uint8_t bad_digit[] = {0, 2, 0xff, '9', 'a'};
    static const uint8_t bad_utf8[] = {0, 2, 0xff, '4', 0xff};
    static const uint8_t surrogate[] = {0, 4, 0xff, '4', 0xED, 0xA0, 0x80};
    static const uint8_t trailing_kind[] = {0, 2, 0xff, '4', 'a', 0};
    static const uint8_t good_then_bad[] = {0, 2, 0xff, '4', 'a', 1, 9, 0xff, 4};
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_BINARY, kind2, sizeof(kind2), &n), EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_BINARY, no_ff, sizeof(no_ff), &n), EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_BINARY, no_digits, sizeof(no_digits), &n),
                 EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_BINARY, digit10, sizeof(digit10), &n), EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_BINARY, ascii_digit, sizeof(ascii_digit), &n),
                 EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_BINARY, past_end, sizeof(past_end), &n),
                 EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_BINARY, zero_len, sizeof(zero_len), &n),
                 EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_BINARY, zero_len_bin, sizeof(zero_len_bin), &n),
                 EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_BINARY, bad_type, sizeof(bad_type), &n),
                 EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_BINARY, bad_digit, sizeof(bad_digit), &n),
                 EIO_ERR_PARSE);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_BINARY, bad_utf8, sizeof(bad_utf8), &n), EIO_ERR_UTF8);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_BINARY, surrogate, sizeof(surrogate), &n),
                 EIO_ERR_UTF8);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_BINARY, trailing_kind, sizeof(trailing_kind), &n),
                 EIO_ERR_PARSE);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(decode_error(EIO_PAYLOAD_V3_BINARY, good_then_bad, sizeof(good_then_bad), &n),
                 EIO_ERR_PARSE);
    CHECK_EQ_INT(n, 1);
    /* A string record holding "b4<base64>" is base64 binary, as in Node. */
    static const uint8_t b64rec[] = {0, 6, 0xff, 'b', '4', 'A', 'Q', 'I', 'D'};
    const uint8_t raw[] = {1, 2, 3};
    eio_packet want = bin_packet(EIO_PACKET_MESSAGE, raw, 3);
    check_decodes_to(EIO_PAYLOAD_V3_BINARY, b64rec, sizeof(b64rec), &want, 1);
    /* Multi-digit lengths: 123 = the type byte + 122 bytes. */
    uint8_t payload[5 + 123];
    const uint8_t head[] = {1, 1, 2, 3, 0xff, 4};
    memcpy(payload, head, sizeof(head));
    for (int i = 0; i < 122; i++)
        payload[6 + i] = (uint8_t)i;
    eio_packet want_long = bin_packet(EIO_PACKET_MESSAGE, payload + 6, 122);
    check_decodes_to(EIO_PAYLOAD_V3_BINARY, payload, sizeof(payload), &want_long, 1);
    check_encodes_to(EIO_PAYLOAD_V3_BINARY, &want_long, 1, payload, sizeof(payload));
}

/* ---- every split point ---------------------------------------------------- */

/* Truncating an encoded payload at every byte either decodes fewer packets or
 * errors (v4 has no lengths: its last packet may come out shortened). */
static void check_every_split(eio_payload_format format, const eio_packet *packets, size_t n)
{
    eio_buf enc = EIO_BUF_INIT;
    eio_payload_encode(format, packets, n, &enc);
    check_decodes_to(format, enc.data, enc.len, packets, n);
    int bad = 0;
    for (size_t k = 0; k < enc.len; k++) {
        decoded d;
        decode_payload(format, enc.data, k, &d);
        if (d.rc == 0) {
            if (d.n > n) {
                bad++;
            } else if (d.n == n) {
                /* Only possible in v4, with a shorter last packet. */
                if (format != EIO_PAYLOAD_V4 || packet_equal(&d.p[n - 1], &packets[n - 1]))
                    bad++;
            }
            for (size_t i = 0; i + 1 < d.n; i++)
                if (!packet_equal(&d.p[i], &packets[i]))
                    bad++;
        }
        decoded_free(&d);
    }
    CHECK_EQ_INT(bad, 0);
    eio_buf_free(&enc);
}

static void test_every_split_point(void)
{
    uint8_t raw[300];
    for (size_t i = 0; i < sizeof(raw); i++)
        raw[i] = (uint8_t)(i * 7 + 3);
    eio_packet set[] = {
        text_packet(EIO_PACKET_OPEN, "{\"sid\":\"abc\"}"),
        text_packet(EIO_PACKET_MESSAGE, "hello \xE2\x82\xAC \xF0\x9F\x98\x80!"),
        bin_packet(EIO_PACKET_MESSAGE, raw, 1),
        text_packet(EIO_PACKET_PING, ""),
        bin_packet(EIO_PACKET_MESSAGE, raw, 2),
        text_packet(EIO_PACKET_NOOP, ""),
        bin_packet(EIO_PACKET_MESSAGE, raw, sizeof(raw)),
        text_packet(EIO_PACKET_MESSAGE, "\xF0\x9F\x98\x80"),
        bin_packet(EIO_PACKET_MESSAGE, raw, 0),
        text_packet(EIO_PACKET_CLOSE, ""),
    };
    size_t n = sizeof(set) / sizeof(set[0]);
    check_every_split(EIO_PAYLOAD_V4, set, n);
    check_every_split(EIO_PAYLOAD_V3_TEXT, set, n);
    check_every_split(EIO_PAYLOAD_V3_BINARY, set, n);
    /* v3 text with a long record (multi-digit length). */
    char long_text[200];
    memset(long_text, 'x', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    eio_packet longp[] = {text_packet(EIO_PACKET_MESSAGE, long_text),
                          text_packet(EIO_PACKET_MESSAGE, "y")};
    check_every_split(EIO_PAYLOAD_V3_TEXT, longp, 2);
    check_every_split(EIO_PAYLOAD_V3_BINARY, longp, 2);
}

/* ---- random round trips --------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/* Appends one random valid UTF-8 character other than 0x1e. */
static void random_char(uint64_t *rng, eio_buf *b)
{
    static const char *const samples[] = {"a",
                                          "Z",
                                          "0",
                                          ":",
                                          "b",
                                          "\"",
                                          "\\",
                                          "\n",
                                          "\x01",
                                          "\x7f",
                                          "\xC3\xA9",
                                          "\xE2\x82\xAC",
                                          "\xE2\x80\xA8",
                                          "\xEF\xBF\xBF",
                                          "\xF0\x9F\x98\x80",
                                          "\xF4\x8F\xBF\xBF"};
    eio_buf_append_str(b, samples[rng_next(rng) % (sizeof(samples) / sizeof(samples[0]))]);
}

static void test_random_round_trips(void)
{
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    int bad = 0;
    for (int iter = 0; iter < 400; iter++) {
        size_t n = 1 + rng_next(&rng) % 12;
        eio_packet packets[12];
        eio_buf store[12];
        for (size_t i = 0; i < n; i++) {
            store[i] = (eio_buf)EIO_BUF_INIT;
            size_t len = rng_next(&rng) % 40;
            int binary = rng_next(&rng) % 3 == 0;
            eio_packet_type type = (eio_packet_type)(rng_next(&rng) % 7);
            if (binary) {
                for (size_t j = 0; j < len; j++)
                    eio_buf_append_byte(&store[i], (uint8_t)rng_next(&rng));
            } else {
                for (size_t j = 0; j < len; j++)
                    random_char(&rng, &store[i]);
            }
            packets[i].type = binary ? EIO_PACKET_MESSAGE : type;
            packets[i].binary = binary;
            packets[i].data = store[i].data;
            packets[i].len = store[i].len;
        }
        for (int f = 0; f <= 2; f++) {
            eio_payload_format format = (eio_payload_format)f;
            eio_buf enc = EIO_BUF_INIT;
            eio_payload_encode(format, packets, n, &enc);
            decoded d;
            decode_payload(format, enc.data, enc.len, &d);
            if (d.rc != 0 || d.n != n)
                bad++;
            for (size_t i = 0; i < n && i < d.n; i++)
                if (!packet_equal(&d.p[i], &packets[i]))
                    bad++;
            decoded_free(&d);
            eio_buf_free(&enc);
        }
        /* WebSocket round trips, both versions. */
        for (int version = 3; version <= 4; version++) {
            for (size_t i = 0; i < n; i++) {
                eio_buf enc = EIO_BUF_INIT, scratch = EIO_BUF_INIT;
                eio_packet p;
                int binary_frame = eio_packet_encode_ws(version, &packets[i], &enc);
                if (binary_frame != packets[i].binary)
                    bad++;
                if (eio_packet_decode(version, binary_frame, enc.data, enc.len, &scratch, &p) !=
                        EIO_OK ||
                    !packet_equal(&p, &packets[i]))
                    bad++;
                eio_buf_reset(&enc);
                eio_packet_encode_text(version, &packets[i], &enc);
                if (eio_packet_decode(version, 0, enc.data, enc.len, &scratch, &p) != EIO_OK ||
                    !packet_equal(&p, &packets[i]))
                    bad++;
                eio_buf_free(&enc);
                eio_buf_free(&scratch);
            }
        }
        for (size_t i = 0; i < n; i++)
            eio_buf_free(&store[i]);
    }
    CHECK_EQ_INT(bad, 0);
}

/* ---- base64 --------------------------------------------------------------- */

static void test_base64_vectors(void)
{
    static const char *const vectors[][2] = {{"", ""},
                                             {"f", "Zg=="},
                                             {"fo", "Zm8="},
                                             {"foo", "Zm9v"},
                                             {"foob", "Zm9vYg=="},
                                             {"fooba", "Zm9vYmE="},
                                             {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        eio_buf out = EIO_BUF_INIT;
        eio_base64_encode((const uint8_t *)vectors[i][0], strlen(vectors[i][0]), &out);
        CHECK_MEM(out.data, out.len, vectors[i][1]);
        eio_buf_reset(&out);
        CHECK_EQ_INT(eio_base64_decode((const uint8_t *)vectors[i][1], strlen(vectors[i][1]), &out),
                     EIO_OK);
        CHECK_MEM(out.data, out.len, vectors[i][0]);
        eio_buf_free(&out);
    }
    /* Every byte value, and appending to existing contents. */
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    eio_buf enc = EIO_BUF_INIT, dec = EIO_BUF_INIT;
    eio_buf_append_str(&enc, "x");
    eio_base64_encode(all, 256, &enc);
    CHECK_EQ_INT(enc.len, 1 + 344);
    eio_buf_append_str(&dec, "y");
    CHECK_EQ_INT(eio_base64_decode(enc.data + 1, enc.len - 1, &dec), EIO_OK);
    CHECK(dec.len == 257 && dec.data[0] == 'y' && memcmp(dec.data + 1, all, 256) == 0);
    eio_buf_free(&enc);
    eio_buf_free(&dec);
}

static void test_base64_acceptance(void)
{
    eio_buf out = EIO_BUF_INIT;
    /* Unpadded input is accepted (Node's Buffer.from accepts it). */
    CHECK_EQ_INT(eio_base64_decode((const uint8_t *)S("Zg"), &out), EIO_OK);
    CHECK_MEM(out.data, out.len, "f");
    eio_buf_reset(&out);
    CHECK_EQ_INT(eio_base64_decode((const uint8_t *)S("Zm8"), &out), EIO_OK);
    CHECK_MEM(out.data, out.len, "fo");
    eio_buf_reset(&out);
    /* Refused, leaving out unchanged. */
    static const char *const bad[] = {
        "Z",        "Zg=",  "Z===",  "====", "Zg==Zg==", " Zg==", "Zm9v\n",
        "Zm9v\r\n", "-_-_", "Zm9v!", "Zm=v", "Zm9vY",    "=Zm9",  "Zg==\x1e"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        eio_buf_reset(&out);
        eio_buf_append_str(&out, "keep");
        CHECK_EQ_INT(eio_base64_decode((const uint8_t *)bad[i], strlen(bad[i]), &out),
                     EIO_ERR_PARSE);
        CHECK_MEM(out.data, out.len, "keep");
    }
    eio_buf_free(&out);
}

/* ---- JSONP ---------------------------------------------------------------- */

static void check_wrap(const char *index, const char *payload, const char *expect)
{
    eio_buf out = EIO_BUF_INIT;
    eio_jsonp_wrap(index, (const uint8_t *)payload, strlen(payload), &out);
    CHECK_MEM(out.data, out.len, expect);
    eio_buf_free(&out);
}

static void test_jsonp_wrap(void)
{
    check_wrap("4", "packet data", "___eio[4](\"packet data\");"); /* the spec's example */
    check_wrap("0", "6:4hello2:4\xE2\x82\xAC", "___eio[0](\"6:4hello2:4\xE2\x82\xAC\");");
    check_wrap("12", "", "___eio[12](\"\");");
    check_wrap(NULL, "x", "___eio[](\"x\");");
    check_wrap("1);alert(1//", "x", "___eio[11](\"x\");"); /* digits only */
    check_wrap("a", "x", "___eio[](\"x\");");
    check_wrap("7", "\"\\/", "___eio[7](\"\\\"\\\\/\");");
    check_wrap("7", "a\nb\rc\td\be\ff", "___eio[7](\"a\\nb\\rc\\td\\be\\ff\");");
    check_wrap("7", "\x01\x1e\x1f\x7f", "___eio[7](\"\\u0001\\u001e\\u001f\x7f\");");
    check_wrap("7",
               "a\xE2\x80\xA8"
               "b\xE2\x80\xA9"
               "c\xE2\x80\xAA",
               "___eio[7](\"a\\u2028b\\u2029c\xE2\x80\xAA\");");
    check_wrap("7", "\xE2\x80", "___eio[7](\"\xE2\x80\");");
    check_wrap("7", "</script>", "___eio[7](\"</script>\");");
    /* An embedded NUL goes through the length, not strlen. */
    eio_buf out = EIO_BUF_INIT;
    eio_jsonp_wrap("1", (const uint8_t *)"a\0b", 3, &out);
    CHECK_MEM(out.data, out.len, "___eio[1](\"a\\u0000b\");");
    eio_buf_free(&out);
}

static void check_unwrap(const char *body, int rc, const char *expect)
{
    eio_buf out = EIO_BUF_INIT;
    CHECK_EQ_INT(eio_jsonp_unwrap((const uint8_t *)body, strlen(body), &out), rc);
    if (rc == EIO_OK)
        CHECK_MEM(out.data, out.len, expect);
    else
        CHECK_EQ_INT(out.len, 0);
    eio_buf_free(&out);
}

static void test_jsonp_unwrap(void)
{
    check_unwrap("d=6%3A4hello", EIO_OK, "6:4hello");
    check_unwrap("d=6:4hello", EIO_OK, "6:4hello");
    check_unwrap("d=4%3A4a+b", EIO_OK, "4:4a b");
    check_unwrap("d=%E2%82%AC", EIO_OK, "\xE2\x82\xAC");
    check_unwrap("x=1&d=abc&y=2", EIO_OK, "abc");
    check_unwrap("%64=abc", EIO_OK, "abc");
    check_unwrap("d=a=b", EIO_OK, "a=b");
    check_unwrap("d=", EIO_OK, "");
    check_unwrap("d", EIO_OK, "");
    check_unwrap("&&d=x&&", EIO_OK, "x");
    check_unwrap("d=%zz%4%", EIO_OK, "%zz%4%"); /* bad escapes stay as they are */
    check_unwrap("d=%2B", EIO_OK, "+");
    check_unwrap("", EIO_ERR_PARSE, NULL);
    check_unwrap("x=1", EIO_ERR_PARSE, NULL);
    check_unwrap("dd=1", EIO_ERR_PARSE, NULL);
    check_unwrap("D=1", EIO_ERR_PARSE, NULL);
    check_unwrap("d=1&d=2", EIO_ERR_PARSE, NULL); /* Node gets an array and ignores it */
    /* Newlines: the client sends a newline as backslash-n and a backslash-n
     * as backslash-backslash-n (%5C is a backslash). */
    check_unwrap("d=a%5Cnb", EIO_OK, "a\nb");
    check_unwrap("d=a%5C%5Cnb", EIO_OK, "a\\nb");
    check_unwrap("d=%5Cn%5Cn", EIO_OK, "\n\n");
    check_unwrap("d=%5C%5C%5Cn", EIO_OK, "\\\\n"); /* Node: \\\n -> \\n */
    check_unwrap("d=%5C", EIO_OK, "\\");
    check_unwrap("d=%5Cx", EIO_OK, "\\x");
    check_unwrap("d=a%0Ab", EIO_OK, "a\nb");
}

/* JSONP end to end: what a v3 JSONP client posts comes out as a payload. */
static void test_jsonp_payload(void)
{
    eio_buf out = EIO_BUF_INIT;
    CHECK_EQ_INT(eio_jsonp_unwrap((const uint8_t *)S("d=6%3A4a%5Cnb%5C%5Cn"), &out), EIO_OK);
    eio_packet want = text_packet(EIO_PACKET_MESSAGE, "a\nb\\n");
    check_decodes_to(EIO_PAYLOAD_V3_TEXT, out.data, out.len, &want, 1);
    eio_buf_free(&out);
}

int main(void)
{
    RUN_TEST(test_strerror);
    RUN_TEST(test_ws_text_every_type);
    RUN_TEST(test_ws_binary_frames);
    RUN_TEST(test_ws_base64_text);
    RUN_TEST(test_ws_text_errors);
    RUN_TEST(test_encode_text);
    RUN_TEST(test_spec_v3_examples);
    RUN_TEST(test_node_changelog_examples);
    RUN_TEST(test_spec_v4_examples);
    RUN_TEST(test_payload_every_type);
    RUN_TEST(test_empty_payloads);
    RUN_TEST(test_pick_format_and_content_type);
    RUN_TEST(test_v4_errors);
    RUN_TEST(test_v3_text_errors);
    RUN_TEST(test_v3_text_utf16_lengths);
    RUN_TEST(test_length_digit_limits);
    RUN_TEST(test_v3_binary_errors);
    RUN_TEST(test_every_split_point);
    RUN_TEST(test_random_round_trips);
    RUN_TEST(test_base64_vectors);
    RUN_TEST(test_base64_acceptance);
    RUN_TEST(test_jsonp_wrap);
    RUN_TEST(test_jsonp_unwrap);
    RUN_TEST(test_jsonp_payload);
    return TEST_SUMMARY();
}
