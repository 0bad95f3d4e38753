/*
 * Unit tests for eio_compress: gzip and deflate round trips through zlib's
 * inflate (empty, small, repetitive, incompressible, 4 MiB), the wrappers
 * (a gzip member as Node's createGzip writes it: magic, no name, no time, OS
 * 3; a zlib stream with the default-level header 78 9c), output within
 * deflateBound, appended after what the buffer held, and an unknown coding
 * refused without touching the buffer.
 * Threading: single thread. Ownership: each test frees what it allocates.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "engineio/eio_compress.h"
#include "test/unit/test.h"

/* Inflates a gzip member or a zlib stream (gzip: 1) whole; returns 0 on a
 * complete, valid stream. */
static int inflate_all(int gzip, const uint8_t *in, size_t len, eio_buf *out)
{
    z_stream z = {0};
    if (inflateInit2(&z, 15 + (gzip ? 16 : 0)) != Z_OK)
        return -1;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    int r;
    do {
        uint8_t *dst = eio_buf_reserve(out, 65536);
        z.next_out = dst;
        z.avail_out = 65536;
        r = inflate(&z, Z_NO_FLUSH);
        eio_buf_advance(out, (size_t)(z.next_out - dst));
    } while (r == Z_OK);
    int rest = (int)z.avail_in;
    inflateEnd(&z);
    return r == Z_STREAM_END && rest == 0 ? 0 : -1;
}

static void round_trip(eio_coding coding, const uint8_t *data, size_t len)
{
    eio_buf z = EIO_BUF_INIT, back = EIO_BUF_INIT;
    CHECK_EQ_INT(eio_compress(coding, data, len, &z), 0);
    CHECK(z.len > 0);
    CHECK(z.len <= len + len / 1000 + 64); /* within deflateBound */
    CHECK_EQ_INT(inflate_all(coding == EIO_CODING_GZIP, z.data, z.len, &back), 0);
    CHECK_EQ_INT(back.len, len);
    CHECK(len == 0 || memcmp(back.data, data, len) == 0);
    eio_buf_free(&z);
    eio_buf_free(&back);
}

static void test_round_trips(void)
{
    static const eio_coding codings[] = {EIO_CODING_GZIP, EIO_CODING_DEFLATE};
    size_t big = 4u << 20;
    uint8_t *random = malloc(big), *text = malloc(big);
    static const char pattern[] = "4{\"event\":\"message\",\"n\":1}\x1e";
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < big; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5; /* xorshift: incompressible */
        random[i] = (uint8_t)x;
        text[i] = (uint8_t)pattern[i % (sizeof(pattern) - 1)];
    }
    for (size_t c = 0; c < 2; c++) {
        round_trip(codings[c], NULL, 0);
        round_trip(codings[c], (const uint8_t *)"4hello", 6);
        round_trip(codings[c], text, 2001);
        round_trip(codings[c], text, big);
        round_trip(codings[c], random, 100000);
        round_trip(codings[c], random, big);
    }
    /* Repetitive text shrinks as Node's zlib shrinks it: 2001 bytes of one
     * letter to 35 bytes of gzip and 23 of deflate (measured against Node). */
    memset(text, 'x', 2001);
    text[0] = '4';
    eio_buf z = EIO_BUF_INIT;
    eio_compress(EIO_CODING_GZIP, text, 2001, &z);
    CHECK_EQ_INT(z.len, 35);
    eio_buf_reset(&z);
    eio_compress(EIO_CODING_DEFLATE, text, 2001, &z);
    CHECK_EQ_INT(z.len, 23);
    eio_buf_free(&z);
    free(random);
    free(text);
}

static void test_wrappers(void)
{
    eio_buf z = EIO_BUF_INIT;
    CHECK_EQ_INT(eio_compress(EIO_CODING_GZIP, "abc", 3, &z), 0);
    /* ID1 ID2, CM deflate, no flags, MTIME 0, XFL 0, OS 3 (Unix): Node's header. */
    static const uint8_t gzip_head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    CHECK(z.len > 18 && memcmp(z.data, gzip_head, 10) == 0);
    /* The trailer: CRC-32 and length of the input, little-endian. */
    uLong crc = crc32(0, (const Bytef *)"abc", 3);
    CHECK_EQ_INT(z.data[z.len - 8] | z.data[z.len - 7] << 8 | z.data[z.len - 6] << 16 |
                     (uint32_t)z.data[z.len - 5] << 24,
                 crc);
    CHECK_EQ_INT(z.data[z.len - 4], 3);
    eio_buf_reset(&z);
    CHECK_EQ_INT(eio_compress(EIO_CODING_DEFLATE, "abc", 3, &z), 0);
    CHECK(z.len > 6 && z.data[0] == 0x78 && z.data[1] == 0x9c);
    eio_buf_free(&z);
    CHECK(strcmp(eio_coding_name(EIO_CODING_GZIP), "gzip") == 0);
    CHECK(strcmp(eio_coding_name(EIO_CODING_DEFLATE), "deflate") == 0);
    CHECK(eio_coding_name((eio_coding)7) == NULL);
}

static void test_appends_and_refuses(void)
{
    eio_buf z = EIO_BUF_INIT, back = EIO_BUF_INIT;
    eio_buf_append_str(&z, "kept");
    CHECK_EQ_INT(eio_compress(EIO_CODING_DEFLATE, "payload", 7, &z), 0);
    CHECK(memcmp(z.data, "kept", 4) == 0);
    CHECK_EQ_INT(inflate_all(0, z.data + 4, z.len - 4, &back), 0);
    CHECK_MEM(back.data, back.len, "payload");
    size_t before = z.len;
    CHECK_EQ_INT(eio_compress((eio_coding)0, "payload", 7, &z), -1);
    CHECK_EQ_INT(eio_compress((eio_coding)3, "payload", 7, &z), -1);
    CHECK_EQ_INT(z.len, before);
    eio_buf_free(&z);
    eio_buf_free(&back);
}

int main(void)
{
    RUN_TEST(test_round_trips);
    RUN_TEST(test_wrappers);
    RUN_TEST(test_appends_and_refuses);
    return TEST_SUMMARY();
}
