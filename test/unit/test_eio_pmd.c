/*
 * Unit tests for eio_pmd (permessage-deflate): the negotiation as ws 8
 * answers and refuses offers, deflate and inflate round trips through the
 * system zlib (as a client's would be made), context takeover, every split
 * point of a compressed message, the inflated-size limit, bad data, memory
 * held; and the WebSocket codec's RSV1 and fragment-count rules (eio_ws).
 * Threading: single thread. Ownership: each test frees what it makes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "engineio/eio_pmd.h"
#include "engineio/eio_ws.h"
#include "test/unit/test.h"

static int negotiate(const char *h, eio_pmd_params *p, char *answer)
{
    return eio_pmd_negotiate(h, strlen(h), p, answer, 160);
}

static void test_negotiate_client_defaults(void)
{
    eio_pmd_params p;
    char a[160];
    /* What ws (Node's client) and browsers offer. */
    CHECK_EQ_INT(negotiate("permessage-deflate; client_max_window_bits", &p, a), 1);
    CHECK_MEM(a, strlen(a), "permessage-deflate");
    CHECK_EQ_INT(p.client_max_window_bits, 0);
    CHECK_EQ_INT(p.server_max_window_bits, 0);
    CHECK_EQ_INT(p.client_no_context_takeover, 0);
    CHECK_EQ_INT(p.server_no_context_takeover, 0);
    CHECK_EQ_INT(negotiate("permessage-deflate", &p, a), 1);
    CHECK_MEM(a, strlen(a), "permessage-deflate");
    /* Chrome's offer, with a tab after the semicolon. */
    CHECK_EQ_INT(negotiate("permessage-deflate;\tclient_max_window_bits", &p, a), 1);
}

static void test_negotiate_answer_in_client_order(void)
{
    eio_pmd_params p;
    char a[160];
    CHECK_EQ_INT(
        negotiate("permessage-deflate; server_no_context_takeover; client_max_window_bits=10; "
                  "server_max_window_bits=9; client_no_context_takeover",
                  &p, a),
        1);
    CHECK_MEM(a, strlen(a),
              "permessage-deflate; server_no_context_takeover; client_max_window_bits=10; "
              "server_max_window_bits=9; client_no_context_takeover");
    CHECK_EQ_INT(p.server_no_context_takeover, 1);
    CHECK_EQ_INT(p.client_no_context_takeover, 1);
    CHECK_EQ_INT(p.client_max_window_bits, 10);
    CHECK_EQ_INT(p.server_max_window_bits, 9);
    /* The first offer for the extension wins; others are ignored. */
    CHECK_EQ_INT(negotiate("x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=12, "
                           "permessage-deflate",
                           &p, a),
                 1);
    CHECK_MEM(a, strlen(a), "permessage-deflate; server_max_window_bits=12");
    CHECK_EQ_INT(p.server_max_window_bits, 12);
}

static void test_negotiate_numbers_as_javascript(void)
{
    static const struct {
        const char *value;
        int bits; /* -1: refused */
    } cases[] = {
        {"10", 10},       {"0x0a", 10}, {"0XF", 15},      {"0o10", 8}, {"0b1001", 9},
        {"1e1", 10},      {"10.0", 10}, {"+9", 9},        {"08", 8},   {"\"12\"", 12},
        {"\"1\\2\"", 12}, {"7", -1},    {"16", -1},       {"9.5", -1}, {"abc", -1},
        {"0x", -1},       {"1e", -1},   {"Infinity", -1}, {"-8", -1},  {".", -1},
        {"0x1g", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char h[96];
        eio_pmd_params p;
        char a[160];
        snprintf(h, sizeof h, "permessage-deflate; server_max_window_bits=%s", cases[i].value);
        int r = negotiate(h, &p, a);
        if (cases[i].bits < 0) {
            if (r != -1)
                fprintf(stderr, "  value %s\n", cases[i].value);
            CHECK_EQ_INT(r, -1);
        } else {
            CHECK_EQ_INT(r, 1);
            CHECK_EQ_INT(p.server_max_window_bits, cases[i].bits);
        }
    }
}

static void test_negotiate_refusals(void)
{
    static const char *const bad[] = {
        "",
        " permessage-deflate",
        "permessage-deflate;",
        "permessage-deflate,",
        "permessage-deflate ",
        "a, , b",
        "permessage-deflate; foo",
        "permessage-deflate; client_max_window_bits; client_max_window_bits",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=\"x\"",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; a=\"",
        "permessage-deflate; a=\"\"",
        "permessage-deflate; a =1",
        "permessage-deflate; server_max_window_bits=1 0",
        "permessage-deflate, permessage-deflate; foo", /* every offer is checked */
        "perm\x01"
        "essage-deflate",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eio_pmd_params p;
        char a[160];
        int r = negotiate(bad[i], &p, a);
        if (r != -1)
            fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
        CHECK_EQ_INT(r, -1);
    }
    /* Other extensions are not checked beyond the grammar. */
    eio_pmd_params p;
    char a[160];
    CHECK_EQ_INT(negotiate("x-webkit-deflate-frame", &p, a), 0);
    CHECK_EQ_INT(negotiate("foo; bar=1; baz, qux; \"x\"=1", &p, a), -1); /* grammar */
    CHECK_EQ_INT(negotiate("foo; bar=\"1\"; baz, qux", &p, a), 0);
    CHECK_EQ_INT(negotiate("Permessage-Deflate; foo", &p, a), 0); /* names are exact */
}

/* Inflates a server payload as a client does: raw inflate of payload + tail. */
static size_t client_inflate(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    inflateInit2(&z, -15);
    uint8_t *buf = malloc(len + 4);
    memcpy(buf, in, len);
    memcpy(buf + len, "\x00\x00\xff\xff", 4);
    z.next_in = buf;
    z.avail_in = (uInt)(len + 4);
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int r = inflate(&z, Z_SYNC_FLUSH);
    size_t n = cap - z.avail_out;
    inflateEnd(&z);
    free(buf);
    return r == Z_OK || r == Z_STREAM_END ? n : (size_t)-1;
}

static void make_text(uint8_t *p, size_t n, unsigned seed)
{
    static const char *const words[] = {
        "hello ", "socket ", "engine ", "{\"room\":", "chat ", "42 ", "deflate "};
    size_t i = 0;
    while (i < n) {
        seed = seed * 1103515245u + 12345u;
        const char *w = words[(seed >> 16) % 7];
        for (size_t k = 0; w[k] && i < n; k++)
            p[i++] = (uint8_t)w[k];
    }
}

static void test_deflate_round_trip(void)
{
    enum { N = 5000 };
    static uint8_t msg[N], back[N + 16];
    make_text(msg, N, 7);
    for (int bits = 8; bits <= 15; bits++) {
        eio_pmd_deflater *d = eio_pmd_deflater_new(bits);
        eio_buf z1 = EIO_BUF_INIT, z2 = EIO_BUF_INIT;
        eio_pmd_deflate(d, "4", 1, msg, N, &z1);
        eio_pmd_deflate(d, "4", 1, msg, N, &z2);
        /* The same bytes each time: nothing of the first is referenced. */
        CHECK(z1.len == z2.len && memcmp(z1.data, z2.data, z1.len) == 0);
        CHECK(z1.len < N / 2);
        CHECK(z1.len < 4 || memcmp(z1.data + z1.len - 4, "\x00\x00\xff\xff", 4) != 0);
        size_t n = client_inflate(z1.data, z1.len, back, sizeof back);
        CHECK_EQ_INT(n, N + 1);
        CHECK(back[0] == '4' && memcmp(back + 1, msg, N) == 0);
        eio_buf_free(&z1);
        eio_buf_free(&z2);
        eio_pmd_deflater_free(d);
    }
    /* Empty and one-part messages. */
    eio_pmd_deflater *d = eio_pmd_deflater_new(15);
    eio_buf z = EIO_BUF_INIT;
    eio_pmd_deflate(d, NULL, 0, NULL, 0, &z);
    CHECK_EQ_INT(client_inflate(z.data, z.len, back, sizeof back), 0);
    eio_buf_reset(&z);
    eio_pmd_deflate(d, msg, 100, NULL, 0, &z);
    CHECK_EQ_INT(client_inflate(z.data, z.len, back, sizeof back), 100);
    CHECK(memcmp(back, msg, 100) == 0);
    eio_buf_free(&z);
    eio_pmd_deflater_free(d);
    eio_pmd_deflater_free(NULL);
}

/* A client's deflater: raw, sync flush, tail removed, context kept. */
typedef struct client_deflater {
    z_stream z;
} client_deflater;

static void client_init(client_deflater *c, int bits)
{
    memset(c, 0, sizeof *c);
    deflateInit2(&c->z, 6, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY);
}

static size_t client_deflate(client_deflater *c, const uint8_t *in, size_t len, uint8_t *out,
                             size_t cap)
{
    c->z.next_in = (Bytef *)(uintptr_t)in;
    c->z.avail_in = (uInt)len;
    c->z.next_out = out;
    c->z.avail_out = (uInt)cap;
    deflate(&c->z, Z_SYNC_FLUSH);
    return cap - c->z.avail_out - 4;
}

static void test_inflate_context_takeover(void)
{
    enum { N = 3000 };
    static uint8_t msg[N], comp[N * 2];
    make_text(msg, N, 3);
    client_deflater cd;
    client_init(&cd, 15);
    eio_pmd_inflater *inf = eio_pmd_inflater_new(0, 0);
    CHECK_EQ_INT(eio_pmd_inflater_memory(inf), 0);
    for (int round = 0; round < 3; round++) {
        size_t n = client_deflate(&cd, msg, N, comp, sizeof comp);
        if (round > 0)
            CHECK(n < 40); /* the repeat refers back to the previous message */
        eio_buf out = EIO_BUF_INIT;
        CHECK_EQ_INT(eio_pmd_inflate(inf, comp, n, 1, N, &out), 0);
        CHECK(out.len == N && memcmp(out.data, msg, N) == 0);
        eio_buf_free(&out);
    }
    size_t held = eio_pmd_inflater_memory(inf);
    printf("# inflater (15 bits) holds %zu bytes between messages\n", held);
    CHECK(held > 32768 && held < 64 * 1024);
    eio_pmd_inflater_free(inf);
    deflateEnd(&cd.z);

    /* client_no_context_takeover: nothing is held between messages. */
    inf = eio_pmd_inflater_new(9, 1);
    client_init(&cd, 9);
    size_t n = client_deflate(&cd, msg, 1000, comp, sizeof comp);
    eio_buf out = EIO_BUF_INIT;
    CHECK_EQ_INT(eio_pmd_inflate(inf, comp, n, 1, N, &out), 0);
    CHECK(out.len == 1000 && memcmp(out.data, msg, 1000) == 0);
    CHECK_EQ_INT(eio_pmd_inflater_memory(inf), 0);
    eio_buf_free(&out);
    eio_pmd_inflater_free(inf);
    deflateEnd(&cd.z);

    eio_pmd_deflater *d = eio_pmd_deflater_new(15);
    printf("# deflater (15 bits, memLevel 8) holds %zu bytes\n", eio_pmd_deflater_memory(d));
    CHECK(eio_pmd_deflater_memory(d) > 256 * 1024);
    eio_pmd_deflater_free(d);
    eio_pmd_inflater_free(NULL);
}

static void test_inflate_every_split_point(void)
{
    enum { N = 1500 };
    static uint8_t msg[N], comp[N * 2];
    make_text(msg, N, 11);
    client_deflater cd;
    client_init(&cd, 15);
    size_t n = client_deflate(&cd, msg, N, comp, sizeof comp);
    deflateEnd(&cd.z);
    for (size_t cut = 0; cut <= n; cut++) {
        eio_pmd_inflater *inf = eio_pmd_inflater_new(15, 0);
        eio_buf out = EIO_BUF_INIT;
        CHECK_EQ_INT(eio_pmd_inflate(inf, comp, cut, 0, N, &out), 0);
        CHECK_EQ_INT(eio_pmd_inflate(inf, comp + cut, n - cut, 1, N, &out), 0);
        CHECK(out.len == N && memcmp(out.data, msg, N) == 0);
        eio_buf_free(&out);
        eio_pmd_inflater_free(inf);
    }
}

static void test_inflate_limit_and_bad_data(void)
{
    enum { N = 100000 };
    static uint8_t msg[N], comp[N];
    memset(msg, 'a', N); /* a deflate bomb in miniature: 100 kB from a few hundred bytes */
    client_deflater cd;
    client_init(&cd, 15);
    size_t n = client_deflate(&cd, msg, N, comp, sizeof comp);
    deflateEnd(&cd.z);
    CHECK(n < 1000);
    /* Exactly the limit passes; one byte under it fails with 1009. */
    eio_pmd_inflater *inf = eio_pmd_inflater_new(15, 0);
    eio_buf out = EIO_BUF_INIT;
    CHECK_EQ_INT(eio_pmd_inflate(inf, comp, n, 1, N, &out), 0);
    CHECK_EQ_INT(out.len, N);
    eio_buf_free(&out);
    eio_pmd_inflater_free(inf);
    inf = eio_pmd_inflater_new(15, 0);
    CHECK_EQ_INT(eio_pmd_inflate(inf, comp, n, 1, N - 1, &out), -1009);
    CHECK(out.len <= N);                           /* never more than the limit and one byte */
    CHECK(out.cap <= 2 * (N + 16384));             /* the buffer grows by doubling */
    CHECK_EQ_INT(eio_pmd_inflater_memory(inf), 0); /* dropped after an error */
    eio_buf_free(&out);
    /* The limit counts what the message already produced (several frames). */
    CHECK_EQ_INT(eio_pmd_inflate(inf, comp, n / 2, 0, N - 1, &out), 0);
    int r = eio_pmd_inflate(inf, comp + n / 2, n - n / 2, 1, N - 1, &out);
    CHECK_EQ_INT(r, -1009);
    eio_buf_free(&out);
    eio_pmd_inflater_free(inf);
    /* Not DEFLATE: 1007. 0xff starts a block of the reserved type 3. */
    inf = eio_pmd_inflater_new(15, 0);
    CHECK_EQ_INT(eio_pmd_inflate(inf, (const uint8_t *)"\xff\xff\xff", 3, 1, N, &out), -1007);
    eio_buf_free(&out);
    /* A stream ended with BFINAL inside the message: the rest is ignored, the
     * next message starts a fresh stream. */
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    z.next_in = msg;
    z.avail_in = 10;
    z.next_out = comp;
    z.avail_out = sizeof comp;
    deflate(&z, Z_FINISH);
    size_t fin_len = sizeof comp - z.avail_out;
    deflateEnd(&z);
    CHECK_EQ_INT(eio_pmd_inflate(inf, comp, fin_len, 1, N, &out), 0);
    CHECK_EQ_INT(out.len, 10);
    eio_buf_free(&out);
    eio_pmd_inflater_free(inf);
}

/* ---- eio_ws with the extension ---- */

static size_t masked_frame(uint8_t *out, unsigned b0, const uint8_t *payload, size_t len)
{
    static const uint8_t key[4] = {1, 2, 3, 4};
    size_t h = 0;
    out[h++] = (uint8_t)b0;
    if (len < 126) {
        out[h++] = (uint8_t)(0x80 | len);
    } else {
        out[h++] = 0x80 | 126;
        out[h++] = (uint8_t)(len >> 8);
        out[h++] = (uint8_t)len;
    }
    memcpy(out + h, key, 4);
    h += 4;
    for (size_t i = 0; i < len; i++)
        out[h + i] = payload[i] ^ key[i & 3];
    return h + len;
}

static void test_ws_rsv1_rules(void)
{
    uint8_t buf[64];
    eio_ws_frame f;
    size_t n = masked_frame(buf, 0xC1, (const uint8_t *)"ab", 2); /* FIN RSV1 TEXT */
    CHECK_EQ_INT(eio_ws_parse_frame(buf, n, 100, &f), -1002);     /* not negotiated */
    n = masked_frame(buf, 0xC1, (const uint8_t *)"ab", 2);
    CHECK_EQ_INT(eio_ws_parse_frame_ex(buf, n, 100, 1, &f), (long)n);
    CHECK_EQ_INT(f.rsv1, 1);
    n = masked_frame(buf, 0xC2, (const uint8_t *)"ab", 2); /* BINARY */
    CHECK_EQ_INT(eio_ws_parse_frame_ex(buf, n, 100, 1, &f), (long)n);
    n = masked_frame(buf, 0x81, (const uint8_t *)"ab", 2);
    CHECK_EQ_INT(eio_ws_parse_frame_ex(buf, n, 100, 1, &f), (long)n);
    CHECK_EQ_INT(f.rsv1, 0);
    /* Refused even with the extension: on a continuation, on control frames,
     * and RSV2 / RSV3. The first byte alone shows it. */
    static const unsigned bad[] = {0xC0, 0x40, 0xC9, 0xCA, 0xC8, 0xA1, 0x91, 0xE1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t b = (uint8_t)bad[i];
        CHECK_EQ_INT(eio_ws_parse_frame_ex(&b, 1, 100, 1, &f), -1002);
    }
}

static void test_ws_assembler_compressed(void)
{
    enum { N = 4000 };
    static uint8_t msg[N], comp[N], frame_buf[N + 32];
    make_text(msg, N, 5);
    client_deflater cd;
    client_init(&cd, 15);
    size_t n = client_deflate(&cd, msg, N, comp, sizeof comp);
    deflateEnd(&cd.z);

    eio_ws_assembler a;
    eio_ws_assembler_init(&a, N);
    a.inflater = eio_pmd_inflater_new(0, 0);
    /* In three frames: RSV1 on the first only. */
    size_t cuts[4] = {0, n / 3, 2 * n / 3, n};
    eio_ws_message m;
    for (int i = 0; i < 3; i++) {
        unsigned b0 = (i == 2 ? 0x80 : 0) | (i == 0 ? 0x40 | EIO_WS_OP_TEXT : 0);
        size_t fl = masked_frame(frame_buf, b0, comp + cuts[i], cuts[i + 1] - cuts[i]);
        eio_ws_frame f;
        CHECK_EQ_INT(eio_ws_parse_frame_ex(frame_buf, fl, eio_ws_assembler_room(&a), 1, &f),
                     (long)fl);
        int r = eio_ws_assembler_feed(&a, &f, &m);
        CHECK_EQ_INT(r, i == 2 ? 1 : 0);
    }
    CHECK(m.opcode == EIO_WS_OP_TEXT && m.len == N && memcmp(m.data, msg, N) == 0);
    /* The wire size is what the header limit counts. */
    CHECK_EQ_INT(eio_ws_assembler_room(&a), N);

    /* Inflated past max_message: 1009. */
    eio_ws_assembler_free(&a);
    eio_ws_assembler_init(&a, N - 1);
    a.inflater = eio_pmd_inflater_new(0, 0);
    size_t fl = masked_frame(frame_buf, 0xC1, comp, n);
    eio_ws_frame f;
    CHECK_EQ_INT(eio_ws_parse_frame_ex(frame_buf, fl, eio_ws_assembler_room(&a), 1, &f), (long)fl);
    CHECK_EQ_INT(eio_ws_assembler_feed(&a, &f, &m), -1009);

    /* Invalid UTF-8 inside a compressed text message: 1007. */
    static const uint8_t bad_utf8[] = {'a', 0xff, 'b'};
    client_init(&cd, 15);
    n = client_deflate(&cd, bad_utf8, 3, comp, sizeof comp);
    deflateEnd(&cd.z);
    fl = masked_frame(frame_buf, 0xC1, comp, n);
    CHECK_EQ_INT(eio_ws_parse_frame_ex(frame_buf, fl, eio_ws_assembler_room(&a), 1, &f), (long)fl);
    CHECK_EQ_INT(eio_ws_assembler_feed(&a, &f, &m), -1007);
    /* As binary it is fine. */
    fl = masked_frame(frame_buf, 0xC2, comp, n);
    CHECK_EQ_INT(eio_ws_parse_frame_ex(frame_buf, fl, eio_ws_assembler_room(&a), 1, &f), (long)fl);
    CHECK_EQ_INT(eio_ws_assembler_feed(&a, &f, &m), 1);
    CHECK(m.len == 3 && memcmp(m.data, bad_utf8, 3) == 0);
    eio_ws_assembler_free(&a);

    /* RSV1 reaching an assembler without an inflater: 1002. */
    eio_ws_assembler_init(&a, N);
    fl = masked_frame(frame_buf, 0xC2, comp, n);
    CHECK_EQ_INT(eio_ws_parse_frame_ex(frame_buf, fl, N, 1, &f), (long)fl);
    CHECK_EQ_INT(eio_ws_assembler_feed(&a, &f, &m), -1002);
    eio_ws_assembler_free(&a);
}

static void test_ws_fragment_count(void)
{
    eio_ws_assembler a;
    eio_ws_assembler_init(&a, 1000000);
    CHECK_EQ_INT(a.max_fragments, EIO_WS_MAX_FRAGMENTS);
    eio_ws_message m;
    eio_ws_frame f = {0, 0, EIO_WS_OP_TEXT, (uint8_t *)"x", 1};
    /* 16384 frames make a message (ws's maxFragments)... */
    CHECK_EQ_INT(eio_ws_assembler_feed(&a, &f, &m), 0);
    f.opcode = EIO_WS_OP_CONTINUATION;
    f.len = 0;
    for (int i = 2; i < EIO_WS_MAX_FRAGMENTS; i++)
        CHECK_EQ_INT(eio_ws_assembler_feed(&a, &f, &m), 0);
    f.fin = 1;
    CHECK_EQ_INT(eio_ws_assembler_feed(&a, &f, &m), 1);
    CHECK(m.len == 1 && m.data[0] == 'x');
    /* ...the next one in a message is refused with 1008, empty or not. */
    f.fin = 0;
    f.opcode = EIO_WS_OP_BINARY;
    CHECK_EQ_INT(eio_ws_assembler_feed(&a, &f, &m), 0);
    f.opcode = EIO_WS_OP_CONTINUATION;
    for (int i = 2; i <= EIO_WS_MAX_FRAGMENTS; i++)
        CHECK_EQ_INT(eio_ws_assembler_feed(&a, &f, &m), 0);
    CHECK_EQ_INT(eio_ws_assembler_feed(&a, &f, &m), -1008);
    CHECK_EQ_INT(a.in_message, 0);
    CHECK_EQ_INT(a.buf.cap, 0); /* nothing held after the refusal */
    eio_ws_assembler_free(&a);
}

int main(void)
{
    RUN_TEST(test_negotiate_client_defaults);
    RUN_TEST(test_negotiate_answer_in_client_order);
    RUN_TEST(test_negotiate_numbers_as_javascript);
    RUN_TEST(test_negotiate_refusals);
    RUN_TEST(test_deflate_round_trip);
    RUN_TEST(test_inflate_context_takeover);
    RUN_TEST(test_inflate_every_split_point);
    RUN_TEST(test_inflate_limit_and_bad_data);
    RUN_TEST(test_ws_rsv1_rules);
    RUN_TEST(test_ws_assembler_compressed);
    RUN_TEST(test_ws_fragment_count);
    return TEST_SUMMARY();
}
