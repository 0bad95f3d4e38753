/*
 * Unit tests for eio_ws: frame parsing (every opcode, every length form, every
 * split point, every error and its close code), message reassembly with
 * limits and UTF-8 across fragments, frame and close encoding, accept key.
 * Threading: single thread. Ownership: each test frees what it allocates.
 * Inputs are copied into exactly-sized heap blocks, so ASan sees any read
 * past the end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engineio/eio_buf.h"
#include "engineio/eio_ws.h"
#include "test/unit/test.h"

static const uint8_t test_key[4] = {0x37, 0xfa, 0x21, 0x3d};

enum { LEN_AUTO = 0, LEN_7 = 7, LEN_16 = 16, LEN_64 = 64 };

/* Writes a client frame: first byte b0 (FIN, RSV, opcode), the payload masked
 * with test_key when masked is set, its length in the given form. Returns its
 * size; out must have room for n + 14 bytes. */
static size_t make_frame_ex(uint8_t *out, unsigned b0, const void *payload, size_t n, int masked,
                            int form)
{
    size_t i = 0;
    out[i++] = (uint8_t)b0;
    uint8_t mask_bit = masked ? 0x80 : 0;
    if (form == LEN_AUTO)
        form = n < 126 ? LEN_7 : n <= 0xFFFF ? LEN_16 : LEN_64;
    if (form == LEN_7) {
        out[i++] = (uint8_t)(mask_bit | n);
    } else if (form == LEN_16) {
        out[i++] = mask_bit | 126;
        out[i++] = (uint8_t)(n >> 8);
        out[i++] = (uint8_t)n;
    } else {
        out[i++] = mask_bit | 127;
        for (int k = 0; k < 8; k++)
            out[i++] = (uint8_t)((uint64_t)n >> (56 - 8 * k));
    }
    if (masked) {
        memcpy(out + i, test_key, 4);
        i += 4;
    }
    const uint8_t *p = payload;
    for (size_t k = 0; k < n; k++)
        out[i + k] = masked ? (uint8_t)(p[k] ^ test_key[k & 3]) : p[k];
    return i + n;
}

static size_t make_frame(uint8_t *out, int fin, int opcode, const void *payload, size_t n)
{
    return make_frame_ex(out, (fin ? 0x80u : 0u) | (unsigned)opcode, payload, n, 1, LEN_AUTO);
}

/* Parses a copy of buf[0..len) held in a block of exactly len bytes. */
static long parse_exact(const uint8_t *buf, size_t len, size_t max_payload, eio_ws_frame *f,
                        uint8_t *payload_copy)
{
    uint8_t *p = malloc(len ? len : 1);
    memcpy(p, buf, len);
    long r = eio_ws_parse_frame(p, len, max_payload, f);
    if (r > 0 && payload_copy)
        memcpy(payload_copy, f->payload, f->len);
    if (r > 0)
        f->payload = NULL; /* p is freed below */
    free(p);
    return r;
}

static void test_parse_masked_text_probe(void)
{
    uint8_t buf[64];
    size_t n = make_frame(buf, 1, EIO_WS_OP_TEXT, "2probe", 6);
    CHECK_EQ_INT(n, 12);
    eio_ws_frame f;
    long r = eio_ws_parse_frame(buf, n, 1000, &f);
    CHECK_EQ_INT(r, 12);
    CHECK_EQ_INT(f.fin, 1);
    CHECK_EQ_INT(f.opcode, EIO_WS_OP_TEXT);
    CHECK(f.payload == buf + 6); /* a slice of the caller's buffer */
    CHECK_MEM(f.payload, f.len, "2probe");
}

static void test_parse_every_opcode(void)
{
    for (int op = 0; op < 16; op++) {
        uint8_t buf[32];
        size_t n = make_frame(buf, 1, op, "ab", 2);
        eio_ws_frame f;
        long r = eio_ws_parse_frame(buf, n, 100, &f);
        int known = op == 0 || op == 1 || op == 2 || op == 8 || op == 9 || op == 10;
        if (known) {
            CHECK_EQ_INT(r, (long)n);
            CHECK_EQ_INT(f.opcode, op);
            CHECK_EQ_INT(f.fin, 1);
            CHECK_MEM(f.payload, f.len, "ab");
        } else {
            CHECK_EQ_INT(r, -1002);
            /* Known from the first byte alone. */
            CHECK_EQ_INT(eio_ws_parse_frame(buf, 1, 100, &f), -1002);
        }
    }
    /* Data frames may have FIN clear. */
    for (int op = 0; op <= 2; op++) {
        uint8_t buf[32];
        size_t n = make_frame(buf, 0, op, "x", 1);
        eio_ws_frame f;
        CHECK_EQ_INT(eio_ws_parse_frame(buf, n, 100, &f), (long)n);
        CHECK_EQ_INT(f.fin, 0);
        CHECK_EQ_INT(f.opcode, op);
    }
}

static void check_length(size_t len, int form, size_t header)
{
    uint8_t *payload = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++)
        payload[i] = (uint8_t)(i * 7 + 3);
    uint8_t *buf = malloc(len + 14);
    size_t n = make_frame_ex(buf, 0x82, payload, len, 1, form);
    CHECK_EQ_INT(n, header + len);
    eio_ws_frame f;
    uint8_t *got = malloc(len ? len : 1);
    long r = parse_exact(buf, n, len, &f, got);
    CHECK_EQ_INT(r, (long)n);
    CHECK_EQ_INT(f.len, len);
    CHECK_EQ_INT(f.opcode, EIO_WS_OP_BINARY);
    CHECK(len == 0 || memcmp(got, payload, len) == 0);
    free(got);
    free(buf);
    free(payload);
}

static void test_parse_lengths(void)
{
    check_length(0, LEN_AUTO, 6);
    check_length(1, LEN_AUTO, 6);
    check_length(125, LEN_AUTO, 6);
    check_length(126, LEN_AUTO, 8);
    check_length(1000, LEN_AUTO, 8);
    check_length(65535, LEN_AUTO, 8);
    check_length(65536, LEN_AUTO, 14);
    check_length(200000, LEN_AUTO, 14);
    /* Lengths not in their shortest form are accepted, as browsers do. */
    check_length(5, LEN_16, 8);
    check_length(5, LEN_64, 14);
    check_length(300, LEN_64, 14);
    check_length(0, LEN_64, 14);
}

static void test_unmask_all_sizes_and_alignments(void)
{
    for (size_t len = 0; len < 40; len++) {
        for (size_t off = 0; off < 8; off++) {
            uint8_t payload[64], raw[128];
            for (size_t i = 0; i < len; i++)
                payload[i] = (uint8_t)(0xA5 ^ (i * 13));
            size_t n = make_frame_ex(raw + off, 0x82, payload, len, 1, LEN_AUTO);
            eio_ws_frame f;
            CHECK_EQ_INT(eio_ws_parse_frame(raw + off, n, 1000, &f), (long)n);
            CHECK_EQ_INT(f.len, len);
            CHECK(len == 0 || memcmp(f.payload, payload, len) == 0);
        }
    }
}

/* Every prefix is incomplete (0, buffer untouched), the whole frame parses,
 * and trailing bytes of the next frame are left alone. */
static void check_every_split(const uint8_t *frame, size_t n, const uint8_t *payload, size_t plen,
                              int opcode)
{
    eio_ws_frame f;
    for (size_t k = 0; k < n; k++) {
        /* For a big frame: every split in the first and last 64 bytes, a
         * sample in between (copying every prefix would be quadratic). */
        if (n > 4096 && k >= 64 && k + 64 < n && k % 1009 != 0)
            continue;
        uint8_t *p = malloc(k ? k : 1);
        memcpy(p, frame, k);
        long r = eio_ws_parse_frame(p, k, 1 << 20, &f);
        if (r != 0)
            fprintf(stderr, "  split at %zu of %zu: %ld\n", k, n, r);
        CHECK_EQ_INT(r, 0);
        CHECK(k == 0 || memcmp(p, frame, k) == 0);
        free(p);
    }
    uint8_t *got = malloc(plen ? plen : 1);
    CHECK_EQ_INT(parse_exact(frame, n, 1 << 20, &f, got), (long)n);
    CHECK_EQ_INT(f.opcode, opcode);
    CHECK_EQ_INT(f.len, plen);
    CHECK(plen == 0 || memcmp(got, payload, plen) == 0);

    /* With the start of another frame behind it. */
    uint8_t *two = malloc(n + 3);
    memcpy(two, frame, n);
    memcpy(two + n, "\x81\x85\x00", 3);
    CHECK_EQ_INT(parse_exact(two, n + 3, 1 << 20, &f, got), (long)n);
    CHECK(plen == 0 || memcmp(got, payload, plen) == 0);
    free(two);
    free(got);
}

static void test_parse_every_split_point(void)
{
    uint8_t buf[70100];
    static uint8_t big[70000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i ^ (i >> 8));

    size_t n = make_frame(buf, 1, EIO_WS_OP_TEXT, "2probe", 6);
    check_every_split(buf, n, (const uint8_t *)"2probe", 6, EIO_WS_OP_TEXT);
    n = make_frame(buf, 1, EIO_WS_OP_PING, "", 0);
    check_every_split(buf, n, (const uint8_t *)"", 0, EIO_WS_OP_PING);
    n = make_frame(buf, 1, EIO_WS_OP_CLOSE, "\x03\xe8", 2);
    check_every_split(buf, n, (const uint8_t *)"\x03\xe8", 2, EIO_WS_OP_CLOSE);
    n = make_frame(buf, 1, EIO_WS_OP_BINARY, big, 300);
    check_every_split(buf, n, big, 300, EIO_WS_OP_BINARY);
    n = make_frame(buf, 0, EIO_WS_OP_CONTINUATION, big, sizeof big);
    check_every_split(buf, n, big, sizeof big, EIO_WS_OP_CONTINUATION);
}

static void test_parse_stream_of_frames(void)
{
    uint8_t buf[256];
    size_t n = 0;
    n += make_frame(buf + n, 0, EIO_WS_OP_TEXT, "hel", 3);
    n += make_frame(buf + n, 1, EIO_WS_OP_PING, "p", 1);
    n += make_frame(buf + n, 1, EIO_WS_OP_CONTINUATION, "lo", 2);
    const int ops[] = {EIO_WS_OP_TEXT, EIO_WS_OP_PING, EIO_WS_OP_CONTINUATION};
    const char *pl[] = {"hel", "p", "lo"};
    size_t at = 0;
    for (int i = 0; i < 3; i++) {
        eio_ws_frame f;
        long r = eio_ws_parse_frame(buf + at, n - at, 100, &f);
        CHECK(r > 0);
        if (r <= 0)
            return;
        CHECK_EQ_INT(f.opcode, ops[i]);
        CHECK_MEM(f.payload, f.len, pl[i]);
        at += (size_t)r;
    }
    CHECK_EQ_INT(at, n);
}

static void test_parse_reserved_bits(void)
{
    const unsigned rsv[] = {0x40, 0x20, 0x10, 0x70};
    for (int i = 0; i < 4; i++) {
        uint8_t buf[32];
        size_t n = make_frame_ex(buf, 0x81 | rsv[i], "hi", 2, 1, LEN_AUTO);
        eio_ws_frame f;
        CHECK_EQ_INT(eio_ws_parse_frame(buf, n, 100, &f), -1002);
        CHECK_EQ_INT(eio_ws_parse_frame(buf, 1, 100, &f), -1002);
    }
}

static void test_parse_unmasked(void)
{
    uint8_t buf[32];
    size_t n = make_frame_ex(buf, 0x81, "hi", 2, 0, LEN_AUTO);
    eio_ws_frame f;
    CHECK_EQ_INT(eio_ws_parse_frame(buf, n, 100, &f), -1002);
    CHECK_EQ_INT(eio_ws_parse_frame(buf, 2, 100, &f), -1002);
    CHECK_EQ_INT(eio_ws_parse_frame(buf, 1, 100, &f), 0);
    /* A control frame must be masked too. */
    n = make_frame_ex(buf, 0x89, "", 0, 0, LEN_AUTO);
    CHECK_EQ_INT(eio_ws_parse_frame(buf, n, 100, &f), -1002);
    /* Unmasked and over the limit: the mask rule comes first, as in ws. */
    n = make_frame_ex(buf, 0x82, "", 0, 0, LEN_64);
    buf[2] = 0x01;
    CHECK_EQ_INT(eio_ws_parse_frame(buf, n, 100, &f), -1002);
}

static void test_parse_control_frame_rules(void)
{
    uint8_t payload[200];
    memset(payload, 'x', sizeof payload);
    uint8_t buf[300];
    eio_ws_frame f;
    const int ops[] = {EIO_WS_OP_CLOSE, EIO_WS_OP_PING, EIO_WS_OP_PONG};
    for (int i = 0; i < 3; i++) {
        /* Fragmented control frame: known from byte 0. */
        size_t n = make_frame(buf, 0, ops[i], "ab", 2);
        CHECK_EQ_INT(eio_ws_parse_frame(buf, n, 1000, &f), -1002);
        CHECK_EQ_INT(eio_ws_parse_frame(buf, 1, 1000, &f), -1002);
        /* 125 bytes is the most. */
        n = make_frame(buf, 1, ops[i], payload, 125);
        CHECK_EQ_INT(eio_ws_parse_frame(buf, n, 1000, &f), (long)n);
        /* Over 125 in the 16-bit form: known from byte 1. */
        n = make_frame(buf, 1, ops[i], payload, 126);
        CHECK_EQ_INT(eio_ws_parse_frame(buf, n, 1000, &f), -1002);
        CHECK_EQ_INT(eio_ws_parse_frame(buf, 2, 1000, &f), -1002);
        /* Any extended length form is refused for a control frame, even if small. */
        n = make_frame_ex(buf, 0x80u | (unsigned)ops[i], payload, 5, 1, LEN_16);
        CHECK_EQ_INT(eio_ws_parse_frame(buf, n, 1000, &f), -1002);
        n = make_frame_ex(buf, 0x80u | (unsigned)ops[i], payload, 5, 1, LEN_64);
        CHECK_EQ_INT(eio_ws_parse_frame(buf, n, 1000, &f), -1002);
        /* max_payload is for data frames: a 100-byte ping passes a limit of 10. */
        n = make_frame(buf, 1, ops[i], payload, 100);
        CHECK_EQ_INT(eio_ws_parse_frame(buf, n, 10, &f), (long)n);
    }
    /* A close frame of 1 byte cannot hold a status code (ws: 1002). */
    size_t n = make_frame(buf, 1, EIO_WS_OP_CLOSE, "\x03", 1);
    CHECK_EQ_INT(eio_ws_parse_frame(buf, n, 1000, &f), -1002);
    n = make_frame(buf, 1, EIO_WS_OP_PING, "\x03", 1);
    CHECK_EQ_INT(eio_ws_parse_frame(buf, n, 1000, &f), (long)n);
}

static void test_parse_64bit_msb(void)
{
    uint8_t buf[14] = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
    eio_ws_frame f;
    CHECK_EQ_INT(eio_ws_parse_frame(buf, 10, SIZE_MAX, &f), -1002);
    CHECK_EQ_INT(eio_ws_parse_frame(buf, 9, SIZE_MAX, &f), 0);
    /* The largest legal length is only too big, never out of range. */
    uint8_t big[10] = {0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    CHECK_EQ_INT(eio_ws_parse_frame(big, 10, SIZE_MAX, &f), -1009);
    CHECK_EQ_INT(eio_ws_parse_frame(big, 10, 1 << 20, &f), -1009);
}

static void test_parse_over_limit_from_header_alone(void)
{
    eio_ws_frame f;
    /* 16-bit length 1000, limit 999: 4 bytes are enough to know. */
    uint8_t h16[4] = {0x81, 0xFE, 0x03, 0xE8};
    CHECK_EQ_INT(eio_ws_parse_frame(h16, 4, 999, &f), -1009);
    CHECK_EQ_INT(eio_ws_parse_frame(h16, 3, 999, &f), 0);
    CHECK_EQ_INT(eio_ws_parse_frame(h16, 4, 1000, &f), 0); /* at the limit: wait for it */
    /* 64-bit length 2^32, limit 1 MiB. */
    uint8_t h64[10] = {0x82, 0xFF, 0, 0, 0, 1, 0, 0, 0, 0};
    CHECK_EQ_INT(eio_ws_parse_frame(h64, 10, 1 << 20, &f), -1009);
    CHECK_EQ_INT(eio_ws_parse_frame(h64, 9, 1 << 20, &f), 0);
    /* 7-bit: length 100, limit 99; a continuation frame too. */
    uint8_t h7[2] = {0x80, 0x80 | 100};
    CHECK_EQ_INT(eio_ws_parse_frame(h7, 2, 99, &f), -1009);
    CHECK_EQ_INT(eio_ws_parse_frame(h7, 2, 100, &f), 0);
    /* Exactly at the limit parses. */
    uint8_t payload[100] = {0}, buf[120];
    size_t n = make_frame(buf, 1, EIO_WS_OP_BINARY, payload, 100);
    CHECK_EQ_INT(eio_ws_parse_frame(buf, n, 100, &f), (long)n);
    /* Limit 0 allows only empty data frames. */
    n = make_frame(buf, 1, EIO_WS_OP_TEXT, "", 0);
    CHECK_EQ_INT(eio_ws_parse_frame(buf, n, 0, &f), (long)n);
    n = make_frame(buf, 1, EIO_WS_OP_TEXT, "a", 1);
    CHECK_EQ_INT(eio_ws_parse_frame(buf, n, 0, &f), -1009);
}

/* Parses the frame in buf and feeds it to the assembler. */
static int feed_frame(eio_ws_assembler *a, int fin, int opcode, const void *data, size_t n,
                      eio_ws_message *m, uint8_t *buf)
{
    size_t len = make_frame(buf, fin, opcode, data, n);
    eio_ws_frame f;
    long r = eio_ws_parse_frame(buf, len, SIZE_MAX, &f);
    CHECK_EQ_INT(r, (long)len);
    return eio_ws_assembler_feed(a, &f, m);
}

static void test_assembler_unfragmented_no_copy(void)
{
    eio_ws_assembler a;
    eio_ws_assembler_init(&a, 100);
    uint8_t buf[64];
    size_t n = make_frame(buf, 1, EIO_WS_OP_TEXT, "h\xc3\xa9llo", 6);
    eio_ws_frame f;
    CHECK_EQ_INT(eio_ws_parse_frame(buf, n, 100, &f), (long)n);
    eio_ws_message m;
    CHECK_EQ_INT(eio_ws_assembler_feed(&a, &f, &m), 1);
    CHECK_EQ_INT(m.opcode, EIO_WS_OP_TEXT);
    CHECK(m.data == f.payload);
    CHECK_MEM(m.data, m.len, "h\xc3\xa9llo");
    CHECK(a.buf.data == NULL);

    n = make_frame(buf, 1, EIO_WS_OP_BINARY, "\xff\x00\xfe", 3);
    CHECK_EQ_INT(eio_ws_parse_frame(buf, n, 100, &f), (long)n);
    CHECK_EQ_INT(eio_ws_assembler_feed(&a, &f, &m), 1);
    CHECK_EQ_INT(m.opcode, EIO_WS_OP_BINARY);
    CHECK(m.data == f.payload);
    CHECK_EQ_INT(m.len, 3);

    /* Empty messages. */
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_TEXT, "", 0, &m, buf), 1);
    CHECK_EQ_INT(m.len, 0);
    CHECK(m.data != NULL);
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_BINARY, "", 0, &m, buf), 1);
    CHECK_EQ_INT(m.len, 0);
    eio_ws_assembler_free(&a);
}

static void test_assembler_unfragmented_errors(void)
{
    eio_ws_assembler a;
    eio_ws_message m;
    uint8_t buf[64];
    eio_ws_assembler_init(&a, 5);
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_TEXT, "\xc0\xaf", 2, &m, buf), -1007); /* overlong */
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_TEXT, "\xed\xa0\x80", 3, &m, buf),
                 -1007); /* surrogate */
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_TEXT, "ab\xe2\x82", 4, &m, buf),
                 -1007); /* cut short */
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_BINARY, "\xc0\xaf", 2, &m, buf),
                 1); /* binary: any bytes */
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_TEXT, "12345", 5, &m, buf), 1);
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_TEXT, "123456", 6, &m, buf), -1009);
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_BINARY, "123456", 6, &m, buf), -1009);
    eio_ws_assembler_free(&a);
}

static void test_assembler_fragmented(void)
{
    eio_ws_assembler a;
    eio_ws_message m;
    uint8_t buf[64];
    eio_ws_assembler_init(&a, 100);
    /* "h€llo" with the euro sign (e2 82 ac) split across three fragments. */
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_TEXT, "h\xe2", 2, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_CONTINUATION, "\x82", 1, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_CONTINUATION, "", 0, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_CONTINUATION, "\xacllo", 4, &m, buf), 1);
    CHECK_EQ_INT(m.opcode, EIO_WS_OP_TEXT);
    CHECK_MEM(m.data, m.len, "h\xe2\x82\xacllo");
    /* The message stays valid until the next call. */
    CHECK(m.data == a.buf.data);

    /* A 4-byte character (U+1F600) one byte per fragment. */
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_TEXT, "\xf0", 1, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_CONTINUATION, "\x9f", 1, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_CONTINUATION, "\x98", 1, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_CONTINUATION, "\x80", 1, &m, buf), 1);
    CHECK_MEM(m.data, m.len, "\xf0\x9f\x98\x80");

    /* Binary, fragmented, including empty fragments. */
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_BINARY, "", 0, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_CONTINUATION, "\xff\xfe", 2, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_CONTINUATION, "\x00", 1, &m, buf), 1);
    CHECK_EQ_INT(m.opcode, EIO_WS_OP_BINARY);
    CHECK_EQ_INT(m.len, 3);
    CHECK(memcmp(m.data, "\xff\xfe\x00", 3) == 0);

    /* An entirely empty fragmented message. */
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_TEXT, "", 0, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_CONTINUATION, "", 0, &m, buf), 1);
    CHECK_EQ_INT(m.len, 0);
    CHECK(m.data != NULL);

    /* The next unfragmented message gives the memory back. */
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_TEXT, "x", 1, &m, buf), 1);
    CHECK(a.buf.data == NULL);
    eio_ws_assembler_free(&a);
}

static void test_assembler_invalid_utf8_across_fragments(void)
{
    eio_ws_assembler a;
    eio_ws_message m;
    uint8_t buf[64];
    eio_ws_assembler_init(&a, 100);
    /* A surrogate: ed | a0 80. Rejected on the fragment that shows it. */
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_TEXT, "ok\xed", 3, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_CONTINUATION, "\xa0\x80", 2, &m, buf), -1007);
    CHECK_EQ_INT(a.in_message, 0);
    /* A character left unfinished by the final fragment. */
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_TEXT, "a\xe2", 2, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_CONTINUATION, "\x82", 1, &m, buf), -1007);
    /* A bad byte in the first fragment. */
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_TEXT, "\xff", 1, &m, buf), -1007);
    /* Continuation bytes with no lead in a later fragment. */
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_TEXT, "abc", 3, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_CONTINUATION, "\x80", 1, &m, buf), -1007);
    /* The same bytes in a binary message are fine. */
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_BINARY, "ok\xed", 3, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_CONTINUATION, "\xa0\x80", 2, &m, buf), 1);
    eio_ws_assembler_free(&a);
}

static void test_assembler_sequence_errors(void)
{
    eio_ws_assembler a;
    eio_ws_message m;
    uint8_t buf[64];
    eio_ws_assembler_init(&a, 100);
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_CONTINUATION, "x", 1, &m, buf), -1002);
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_CONTINUATION, "x", 1, &m, buf), -1002);
    /* New TEXT or BINARY while a message is open. */
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_TEXT, "a", 1, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_TEXT, "b", 1, &m, buf), -1002);
    CHECK_EQ_INT(a.in_message, 0);
    CHECK(a.buf.data == NULL);
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_BINARY, "a", 1, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_BINARY, "b", 1, &m, buf), -1002);
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_TEXT, "a", 1, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_BINARY, "b", 1, &m, buf), -1002);
    /* A continuation after a finished message. */
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_TEXT, "a", 1, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_CONTINUATION, "b", 1, &m, buf), 1);
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_CONTINUATION, "c", 1, &m, buf), -1002);
    /* Control frames are the caller's. */
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_PING, "", 0, &m, buf), -1002);
    /* After errors the assembler works again. */
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_TEXT, "a", 1, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_CONTINUATION, "b", 1, &m, buf), 1);
    CHECK_MEM(m.data, m.len, "ab");
    eio_ws_assembler_free(&a);
}

static void test_assembler_max_message(void)
{
    eio_ws_assembler a;
    eio_ws_message m;
    uint8_t buf[64];
    eio_ws_assembler_init(&a, 6);
    /* Exactly at the limit over three fragments. */
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_TEXT, "ab", 2, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_CONTINUATION, "cd", 2, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_CONTINUATION, "ef", 2, &m, buf), 1);
    CHECK_MEM(m.data, m.len, "abcdef");
    /* One byte over, on the last fragment. */
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_BINARY, "abc", 3, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_CONTINUATION, "de", 2, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 1, EIO_WS_OP_CONTINUATION, "fg", 2, &m, buf), -1009);
    CHECK_EQ_INT(a.in_message, 0);
    /* Over on a non-final fragment. */
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_TEXT, "abcdef", 6, &m, buf), 0);
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_CONTINUATION, "g", 1, &m, buf), -1009);
    /* First fragment alone over. */
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_TEXT, "abcdefg", 7, &m, buf), -1009);
    eio_ws_assembler_free(&a);

    /* The header-only check for a whole message: max_message minus what the
     * assembler holds, given to the parser as max_payload. */
    eio_ws_assembler_init(&a, 10);
    CHECK_EQ_INT(feed_frame(&a, 0, EIO_WS_OP_TEXT, "abcdefgh", 8, &m, buf), 0);
    uint8_t hdr[2] = {0x80, 0x80 | 3};
    eio_ws_frame f;
    CHECK_EQ_INT(eio_ws_parse_frame(hdr, 2, a.max_message - a.buf.len, &f), -1009);
    eio_ws_assembler_free(&a);
    eio_ws_assembler_free(&a); /* twice is harmless */
}

/* A stream with a ping between two fragments: the caller answers the ping
 * and feeds only data frames; the message comes out whole. */
static void test_assembler_with_interleaved_control(void)
{
    uint8_t stream[256];
    size_t n = 0;
    n += make_frame(stream + n, 0, EIO_WS_OP_TEXT, "4hel", 4);
    n += make_frame(stream + n, 1, EIO_WS_OP_PING, "ping", 4);
    n += make_frame(stream + n, 0, EIO_WS_OP_CONTINUATION, "lo ", 3);
    n += make_frame(stream + n, 1, EIO_WS_OP_PONG, "", 0);
    n += make_frame(stream + n, 1, EIO_WS_OP_CONTINUATION, "w\xc3\xb6rld", 6);
    eio_ws_assembler a;
    eio_ws_assembler_init(&a, 1000);
    size_t at = 0;
    int controls = 0, messages = 0;
    while (at < n) {
        eio_ws_frame f;
        long r = eio_ws_parse_frame(stream + at, n - at, 1000, &f);
        CHECK(r > 0);
        if (r <= 0)
            break;
        at += (size_t)r;
        if (f.opcode & 0x8) {
            controls++;
            continue;
        }
        eio_ws_message m;
        int got = eio_ws_assembler_feed(&a, &f, &m);
        CHECK(got >= 0);
        if (got == 1) {
            messages++;
            CHECK_EQ_INT(m.opcode, EIO_WS_OP_TEXT);
            CHECK_MEM(m.data, m.len, "4hello w\xc3\xb6rld");
        }
    }
    CHECK_EQ_INT(controls, 2);
    CHECK_EQ_INT(messages, 1);
    eio_ws_assembler_free(&a);
}

static void check_header(uint64_t len, const uint8_t *want, size_t want_len)
{
    uint8_t hdr[10];
    size_t n = eio_ws_frame_header(hdr, EIO_WS_OP_TEXT, len);
    CHECK_EQ_INT(n, want_len);
    CHECK(memcmp(hdr, want, want_len) == 0);
}

static void test_frame_header(void)
{
    check_header(0, (const uint8_t *)"\x81\x00", 2);
    check_header(125, (const uint8_t *)"\x81\x7d", 2);
    check_header(126, (const uint8_t *)"\x81\x7e\x00\x7e", 4);
    check_header(65535, (const uint8_t *)"\x81\x7e\xff\xff", 4);
    check_header(65536, (const uint8_t *)"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    check_header(0x0102030405060708ull, (const uint8_t *)"\x81\x7f\x01\x02\x03\x04\x05\x06\x07\x08",
                 10);
    uint8_t hdr[10];
    const int ops[] = {EIO_WS_OP_BINARY, EIO_WS_OP_CLOSE, EIO_WS_OP_PING, EIO_WS_OP_PONG};
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(eio_ws_frame_header(hdr, ops[i], 3), 2);
        CHECK_EQ_INT(hdr[0], 0x80 | ops[i]);
        CHECK_EQ_INT(hdr[1], 3);
    }
}

static void test_close_frame(void)
{
    eio_buf b = EIO_BUF_INIT;
    eio_ws_close_frame(1000, "bye", &b);
    CHECK_EQ_INT(b.len, 7);
    CHECK(memcmp(b.data,
                 "\x88\x05\x03\xe8"
                 "bye",
                 7) == 0);
    eio_buf_reset(&b);
    eio_ws_close_frame(1009, NULL, &b);
    CHECK_EQ_INT(b.len, 4);
    CHECK(memcmp(b.data, "\x88\x02\x03\xf1", 4) == 0);
    eio_buf_reset(&b);
    eio_ws_close_frame(1002, "", &b);
    CHECK(b.len == 4 && memcmp(b.data, "\x88\x02\x03\xea", 4) == 0);
    eio_buf_reset(&b);
    eio_ws_close_frame(0, "ignored", &b);
    CHECK(b.len == 2 && memcmp(b.data, "\x88\x00", 2) == 0);
    eio_buf_reset(&b);
    /* Appends after what is there. */
    eio_buf_append(&b, "xy", 2);
    eio_ws_close_frame(4000, "z", &b);
    CHECK(b.len == 7 && memcmp(b.data, "xy\x88\x03\x0f\xa0z", 7) == 0);
    eio_buf_reset(&b);

    /* A long reason is cut to 123 bytes: a 125-byte control payload. */
    char reason[300];
    memset(reason, 'r', 299);
    reason[299] = '\0';
    eio_ws_close_frame(1001, reason, &b);
    CHECK_EQ_INT(b.len, 2 + 125);
    CHECK_EQ_INT(b.data[1], 125);
    eio_buf_reset(&b);
    /* ... never in the middle of a character: 122 'a' then "é" (2 bytes). */
    memset(reason, 'a', 122);
    memcpy(reason + 122, "\xc3\xa9zz", 5);
    eio_ws_close_frame(1001, reason, &b);
    CHECK_EQ_INT(b.data[1], 2 + 122);
    CHECK_EQ_INT(b.len, 2 + 2 + 122);
    eio_buf_reset(&b);
    /* ... and exactly 123 bytes fit. */
    memset(reason, 'a', 121);
    memcpy(reason + 121, "\xc3\xa9", 3);
    eio_ws_close_frame(1001, reason, &b);
    CHECK_EQ_INT(b.data[1], 125);

    /* The parser reads back what we write, once masked. */
    eio_buf_reset(&b);
    eio_ws_close_frame(1000, "done", &b);
    uint8_t wire[64];
    size_t n = make_frame(wire, 1, EIO_WS_OP_CLOSE, b.data + 2, b.len - 2);
    eio_ws_frame f;
    CHECK_EQ_INT(eio_ws_parse_frame(wire, n, 0, &f), (long)n);
    int code = 0;
    const uint8_t *why = NULL;
    size_t why_len = 0;
    CHECK_EQ_INT(eio_ws_parse_close(f.payload, f.len, &code, &why, &why_len), 0);
    CHECK_EQ_INT(code, 1000);
    CHECK_MEM(why, why_len, "done");
    eio_buf_free(&b);
}

static void test_parse_close(void)
{
    int code = 0;
    const uint8_t *why = NULL;
    size_t why_len = 99;
    CHECK_EQ_INT(eio_ws_parse_close((const uint8_t *)"", 0, &code, &why, &why_len), 0);
    CHECK_EQ_INT(code, 1005);
    CHECK_EQ_INT(why_len, 0);
    CHECK(why != NULL);
    CHECK_EQ_INT(eio_ws_parse_close((const uint8_t *)"\x03", 1, &code, &why, &why_len), -1002);

    const unsigned good[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009,
                             1010, 1011, 1012, 1013, 1014, 3000, 4999};
    const unsigned bad[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint8_t p[4] = {(uint8_t)(good[i] >> 8), (uint8_t)good[i], 'o', 'k'};
        CHECK_EQ_INT(eio_ws_parse_close(p, 4, &code, &why, &why_len), 0);
        CHECK_EQ_INT(code, good[i]);
        CHECK_MEM(why, why_len, "ok");
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t p[2] = {(uint8_t)(bad[i] >> 8), (uint8_t)bad[i]};
        CHECK_EQ_INT(eio_ws_parse_close(p, 2, &code, &why, &why_len), -1002);
    }
    CHECK_EQ_INT(eio_ws_parse_close((const uint8_t *)"\x03\xe8\xff", 3, &code, &why, &why_len),
                 -1007);
    CHECK_EQ_INT(eio_ws_parse_close((const uint8_t *)"\x03\xe8\xc3", 3, &code, &why, &why_len),
                 -1007);
    CHECK_EQ_INT(eio_ws_parse_close((const uint8_t *)"\x03\xe8\xc3\xa9", 4, &code, &why, &why_len),
                 0);
}

static void test_accept_key(void)
{
    char out[29];
    CHECK_EQ_INT(eio_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
    /* RFC 6455 section 1.3 (the brief had a mistyped value). */
    CHECK_MEM(out, strlen(out), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CHECK_EQ_INT(eio_ws_accept_key("AAAAAAAAAAAAAAAAAAAAAA==", out), 0);
    CHECK_EQ_INT(strlen(out), 28);

    const char *bad[] = {"",
                         "dGhlIHNhbXBsZSBub25jZQ=",
                         "dGhlIHNhbXBsZSBub25jZQ===",
                         "dGhlIHNhbXBsZSBub25jZQ",
                         "dGhlIHNhbXBsZSBub25jZQ=x",
                         "dGhlIHNhbXBsZSBub25j-Q==",
                         " dGhlIHNhbXBsZSBub25jZQ==",
                         "dGhlIHNhbXBsZSBub25jZQ== ",
                         "dGhlIHNhbXBsZSBub25jZ===",
                         "dGhlIHNhbXBsZSBub25jZQ==dGhl"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(out, "junk", 5);
        CHECK_EQ_INT(eio_ws_accept_key(bad[i], out), -1);
        CHECK_EQ_INT(out[0], '\0');
    }
    CHECK_EQ_INT(eio_ws_accept_key(NULL, out), -1);
}

int main(void)
{
    RUN_TEST(test_parse_masked_text_probe);
    RUN_TEST(test_parse_every_opcode);
    RUN_TEST(test_parse_lengths);
    RUN_TEST(test_unmask_all_sizes_and_alignments);
    RUN_TEST(test_parse_every_split_point);
    RUN_TEST(test_parse_stream_of_frames);
    RUN_TEST(test_parse_reserved_bits);
    RUN_TEST(test_parse_unmasked);
    RUN_TEST(test_parse_control_frame_rules);
    RUN_TEST(test_parse_64bit_msb);
    RUN_TEST(test_parse_over_limit_from_header_alone);
    RUN_TEST(test_assembler_unfragmented_no_copy);
    RUN_TEST(test_assembler_unfragmented_errors);
    RUN_TEST(test_assembler_fragmented);
    RUN_TEST(test_assembler_invalid_utf8_across_fragments);
    RUN_TEST(test_assembler_sequence_errors);
    RUN_TEST(test_assembler_max_message);
    RUN_TEST(test_assembler_with_interleaved_control);
    RUN_TEST(test_frame_header);
    RUN_TEST(test_close_frame);
    RUN_TEST(test_parse_close);
    RUN_TEST(test_accept_key);
    return TEST_SUMMARY();
}
