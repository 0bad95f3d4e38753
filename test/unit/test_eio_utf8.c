/*
 * Unit tests for eio_utf8: the strict validator (checked exhaustively against a
 * plain reference decoder for all 1-, 2- and 3-byte sequences and a broad
 * sample of 4-byte ones), incremental feeding, UTF-16 lengths and offsets.
 * Threading: single thread. Ownership: tests free what they allocate.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engineio/eio_utf8.h"
#include "test.h"

/* Reference: 1 if s[0..len) is exactly one valid UTF-8 character, by decoding
 * the code point and checking range, minimal form and surrogates. */
static int ref_one_char(const uint8_t *s, size_t len)
{
    uint32_t cp;
    size_t need;
    if (len == 0)
        return 0;
    if (s[0] < 0x80) {
        cp = s[0];
        need = 1;
    } else if ((s[0] & 0xE0) == 0xC0) {
        cp = s[0] & 0x1F;
        need = 2;
    } else if ((s[0] & 0xF0) == 0xE0) {
        cp = s[0] & 0x0F;
        need = 3;
    } else if ((s[0] & 0xF8) == 0xF0) {
        cp = s[0] & 0x07;
        need = 4;
    } else {
        return 0;
    }
    if (len != need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    static const uint32_t min_for[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for[need] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return 1;
}

static size_t encode_cp(uint32_t cp, uint8_t *out)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | cp >> 18);
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

static int valid_str(const char *s)
{
    return eio_utf8_valid((const uint8_t *)s, strlen(s));
}

static void test_valid_examples(void)
{
    CHECK(eio_utf8_valid(NULL, 0));
    CHECK(valid_str("hello"));
    CHECK(valid_str("\xC2\x80"));         /* U+0080 */
    CHECK(valid_str("\xDF\xBF"));         /* U+07FF */
    CHECK(valid_str("\xE0\xA0\x80"));     /* U+0800 */
    CHECK(valid_str("\xE2\x82\xAC"));     /* € */
    CHECK(valid_str("\xED\x9F\xBF"));     /* U+D7FF */
    CHECK(valid_str("\xEE\x80\x80"));     /* U+E000 */
    CHECK(valid_str("\xEF\xBF\xBF"));     /* U+FFFF */
    CHECK(valid_str("\xF0\x90\x80\x80")); /* U+10000 */
    CHECK(valid_str("\xF0\x9F\x98\x80")); /* 😀 */
    CHECK(valid_str("\xF4\x8F\xBF\xBF")); /* U+10FFFF */
    CHECK(valid_str("a\xE2\x82\xAC\xF0\x9F\x98\x80z"));
    uint8_t nul[3] = {'a', 0, 'b'};
    CHECK(eio_utf8_valid(nul, 3));
}

static void test_invalid_examples(void)
{
    CHECK(!valid_str("\x80")); /* lone continuation */
    CHECK(!valid_str("\xBF"));
    CHECK(!valid_str("\xC0\x80"));     /* overlong NUL */
    CHECK(!valid_str("\xC1\xBF"));     /* overlong */
    CHECK(!valid_str("\xE0\x80\x80")); /* overlong 3-byte */
    CHECK(!valid_str("\xE0\x9F\xBF"));
    CHECK(!valid_str("\xED\xA0\x80"));             /* U+D800 */
    CHECK(!valid_str("\xED\xBF\xBF"));             /* U+DFFF */
    CHECK(!valid_str("\xED\xA0\xBD\xED\xB8\x80")); /* CESU-8 surrogate pair */
    CHECK(!valid_str("\xF0\x80\x80\x80"));         /* overlong 4-byte */
    CHECK(!valid_str("\xF0\x8F\xBF\xBF"));
    CHECK(!valid_str("\xF4\x90\x80\x80")); /* U+110000 */
    CHECK(!valid_str("\xF5\x80\x80\x80"));
    CHECK(!valid_str("\xF8\x88\x80\x80\x80")); /* 5-byte form */
    CHECK(!valid_str("\xFE"));
    CHECK(!valid_str("\xFF"));
    CHECK(!valid_str("\xC2")); /* truncated */
    CHECK(!valid_str("\xE2\x82"));
    CHECK(!valid_str("\xF0\x9F\x98"));
    CHECK(!valid_str("\xC2\x41")); /* continuation missing */
    CHECK(!valid_str("\xE2\x82\x41"));
    CHECK(!valid_str("abc\xE2\x82"));
}

/* Every sequence of 1, 2 and 3 bytes checked against the reference. A
 * sequence is valid iff it splits into valid characters; as a shortcut the
 * reference covers the cases "one character", "ASCII + rest" and "two
 * characters", which is every way 3 bytes can be valid. */
static int ref_valid(const uint8_t *s, size_t len)
{
    if (len == 0)
        return 1;
    for (size_t w = 1; w <= 4 && w <= len; w++)
        if (ref_one_char(s, w) && ref_valid(s + w, len - w))
            return 1;
    return 0;
}

static void test_exhaustive_short(void)
{
    int mismatches = 0;
    uint8_t b[3];
    for (unsigned a = 0; a < 256; a++) {
        b[0] = (uint8_t)a;
        if (eio_utf8_valid(b, 1) != ref_valid(b, 1))
            mismatches++;
        for (unsigned c = 0; c < 256; c++) {
            b[1] = (uint8_t)c;
            if (eio_utf8_valid(b, 2) != ref_valid(b, 2))
                mismatches++;
            for (unsigned d = 0; d < 256; d++) {
                b[2] = (uint8_t)d;
                if (eio_utf8_valid(b, 3) != ref_valid(b, 3))
                    mismatches++;
            }
        }
    }
    CHECK_EQ_INT(mismatches, 0);
}

static void test_four_byte_sample(void)
{
    static const uint8_t tails[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F,
                                    0xA0, 0xBF, 0xC0, 0xC2, 0xE0, 0xF0, 0xFF};
    int mismatches = 0;
    uint8_t b[4];
    for (unsigned a = 0xC0; a < 256; a++) {
        b[0] = (uint8_t)a;
        for (unsigned c = 0; c < 256; c++) {
            b[1] = (uint8_t)c;
            for (size_t i = 0; i < sizeof(tails); i++) {
                b[2] = tails[i];
                for (size_t j = 0; j < sizeof(tails); j++) {
                    b[3] = tails[j];
                    if (eio_utf8_valid(b, 4) != ref_valid(b, 4))
                        mismatches++;
                }
            }
        }
    }
    CHECK_EQ_INT(mismatches, 0);
}

/* Every code point encodes to valid UTF-8 unless it is a surrogate; the
 * encoder here writes surrogates too, which must be refused. */
static void test_all_code_points(void)
{
    int wrong = 0;
    uint8_t b[4];
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        size_t n = encode_cp(cp, b);
        int expect = !(cp >= 0xD800 && cp <= 0xDFFF);
        if (eio_utf8_valid(b, n) != expect)
            wrong++;
        if (expect && eio_utf16_length(b, n) != (cp >= 0x10000 ? 2u : 1u))
            wrong++;
    }
    CHECK_EQ_INT(wrong, 0);
}

static void test_incremental(void)
{
    const uint8_t s[] = "a\xE2\x82\xAC\xF0\x9F\x98\x80z";
    size_t n = sizeof(s) - 1;
    /* Fed one byte at a time: inside a character the state is neither accept
     * nor reject; at each character boundary it is accept. */
    uint32_t st = EIO_UTF8_ACCEPT;
    int boundaries[] = {1, 0, 0, 1, 0, 0, 0, 1, 1};
    for (size_t i = 0; i < n; i++) {
        st = eio_utf8_feed(st, s + i, 1);
        CHECK(st != EIO_UTF8_REJECT);
        CHECK_EQ_INT(st == EIO_UTF8_ACCEPT, boundaries[i]);
    }
    CHECK_EQ_INT(st, EIO_UTF8_ACCEPT);
    /* Split at every point gives the same result as all at once. */
    for (size_t k = 0; k <= n; k++) {
        uint32_t s1 = eio_utf8_feed(EIO_UTF8_ACCEPT, s, k);
        CHECK_EQ_INT(eio_utf8_feed(s1, s + k, n - k), EIO_UTF8_ACCEPT);
    }
    /* Reject is sticky. */
    st = eio_utf8_feed(EIO_UTF8_ACCEPT, (const uint8_t *)"\xFF", 1);
    CHECK_EQ_INT(st, EIO_UTF8_REJECT);
    CHECK_EQ_INT(eio_utf8_feed(st, (const uint8_t *)"abc", 3), EIO_UTF8_REJECT);
    /* A state value out of range is treated as reject. */
    CHECK_EQ_INT(eio_utf8_feed(12345u, (const uint8_t *)"a", 1), EIO_UTF8_REJECT);
    /* An unfinished character is not accept. */
    st = eio_utf8_feed(EIO_UTF8_ACCEPT, (const uint8_t *)"\xE2\x82", 2);
    CHECK(st != EIO_UTF8_ACCEPT && st != EIO_UTF8_REJECT);
}

static void test_utf16_length(void)
{
    CHECK_EQ_INT(eio_utf16_length(NULL, 0), 0);
    CHECK_EQ_INT(eio_utf16_length((const uint8_t *)"hello", 5), 5);
    CHECK_EQ_INT(eio_utf16_length((const uint8_t *)"\xE2\x82\xAC", 3), 1);     /* € */
    CHECK_EQ_INT(eio_utf16_length((const uint8_t *)"\xF0\x9F\x98\x80", 4), 2); /* 😀 */
    CHECK_EQ_INT(eio_utf16_length((const uint8_t *)"4\xE2\x82\xAC", 4), 2);    /* "4€" */
    CHECK_EQ_INT(eio_utf16_length((const uint8_t *)"a\xC3\xA9\xF0\x9F\x98\x80", 7), 4);
}

static void test_utf16_offset(void)
{
    /* "a😀b€": units a=1, 😀=2, b=1, €=1; bytes 1, 4, 1, 3. */
    const uint8_t s[] = "a\xF0\x9F\x98\x80"
                        "b\xE2\x82\xAC";
    size_t n = sizeof(s) - 1, off = 999;
    CHECK_EQ_INT(eio_utf16_offset(s, n, 0, &off), 0);
    CHECK_EQ_INT(off, 0);
    CHECK_EQ_INT(eio_utf16_offset(s, n, 1, &off), 0);
    CHECK_EQ_INT(off, 1);
    off = 999;
    CHECK_EQ_INT(eio_utf16_offset(s, n, 2, &off), -1); /* cuts the surrogate pair */
    CHECK_EQ_INT(off, 999);
    CHECK_EQ_INT(eio_utf16_offset(s, n, 3, &off), 0);
    CHECK_EQ_INT(off, 5);
    CHECK_EQ_INT(eio_utf16_offset(s, n, 4, &off), 0);
    CHECK_EQ_INT(off, 6);
    CHECK_EQ_INT(eio_utf16_offset(s, n, 5, &off), 0);
    CHECK_EQ_INT(off, 9);
    CHECK_EQ_INT(eio_utf16_offset(s, n, 6, &off), -1); /* past the end */
    CHECK_EQ_INT(eio_utf16_offset(NULL, 0, 0, &off), 0);
    CHECK_EQ_INT(off, 0);
    CHECK_EQ_INT(eio_utf16_offset(NULL, 0, 1, &off), -1);
    /* Invalid or truncated bytes on the way. */
    CHECK_EQ_INT(eio_utf16_offset((const uint8_t *)"a\xFF", 2, 2, &off), -1);
    CHECK_EQ_INT(eio_utf16_offset((const uint8_t *)"a\xED\xA0\x80", 4, 2, &off), -1);
    CHECK_EQ_INT(eio_utf16_offset((const uint8_t *)"\xE2\x82", 2, 1, &off), -1);
    CHECK_EQ_INT(eio_utf16_offset((const uint8_t *)"\xF0\x9F\x98", 3, 2, &off), -1);
    CHECK_EQ_INT(eio_utf16_offset((const uint8_t *)"\x80", 1, 1, &off), -1);
    /* Invalid bytes after the offset are not looked at. */
    CHECK_EQ_INT(eio_utf16_offset((const uint8_t *)"ab\xFF", 3, 2, &off), 0);
    CHECK_EQ_INT(off, 2);
}

/* Offsets read right to the end of an exact-size heap copy (ASan catches any
 * read past it), for every prefix of a mixed string. */
static void test_utf16_offset_every_prefix(void)
{
    const uint8_t s[] = "x\xF0\x9F\x98\x80\xE2\x82\xAC\xC3\xA9y";
    size_t n = sizeof(s) - 1;
    size_t total = eio_utf16_length(s, n);
    CHECK_EQ_INT(total, 6);
    for (size_t k = 0; k <= n; k++) {
        uint8_t *copy = malloc(k ? k : 1);
        memcpy(copy, s, k);
        int complete = eio_utf8_valid(copy, k);
        size_t units = complete ? eio_utf16_length(copy, k) : 0;
        for (size_t u = 0; u <= total + 1; u++) {
            size_t off;
            int rc = eio_utf16_offset(copy, k, u, &off);
            if (complete && u == units)
                CHECK(rc == 0 && off == k);
            if (rc == 0)
                CHECK(off <= k && eio_utf16_length(copy, off) == u);
        }
        free(copy);
    }
}

/* The 8-bytes-a-step ASCII scan: a sequence at every position of 0-40
 * ASCII bytes, so that it falls in every lane of a word and in the tail. */
static void test_every_position(void)
{
    static const struct {
        const char *seq;
        uint32_t ends; /* ACCEPT, REJECT, or anything else (mid-character) */
    } seqs[] = {
        {"\xC3\xA9", EIO_UTF8_ACCEPT},     {"\xF0\x9F\x98\x80", EIO_UTF8_ACCEPT},
        {"\xFF", EIO_UTF8_REJECT},         {"\x80", EIO_UTF8_REJECT},
        {"\xED\xA0\x80", EIO_UTF8_REJECT},
    };
    uint8_t buf[64];
    for (size_t q = 0; q < sizeof seqs / sizeof *seqs; q++) {
        for (size_t len = 0; len <= 40; len++) {
            for (size_t at = 0; at <= len; at++) {
                size_t k = strlen(seqs[q].seq), n = 0;
                for (size_t i = 0; i < at; i++)
                    buf[n++] = (uint8_t)('a' + i % 26);
                memcpy(buf + n, seqs[q].seq, k);
                n += k;
                for (size_t i = at; i < len; i++)
                    buf[n++] = (uint8_t)('a' + i % 26);
                CHECK_EQ_INT(eio_utf8_feed(EIO_UTF8_ACCEPT, buf, n), seqs[q].ends);
                /* a lead byte cut off at the end: mid-character */
                buf[n] = 0xE2;
                uint32_t st = eio_utf8_feed(EIO_UTF8_ACCEPT, buf, n + 1);
                CHECK(st != EIO_UTF8_ACCEPT);
            }
        }
    }
}

int main(void)
{
    RUN_TEST(test_valid_examples);
    RUN_TEST(test_every_position);
    RUN_TEST(test_invalid_examples);
    RUN_TEST(test_exhaustive_short);
    RUN_TEST(test_four_byte_sample);
    RUN_TEST(test_all_code_points);
    RUN_TEST(test_incremental);
    RUN_TEST(test_utf16_length);
    RUN_TEST(test_utf16_offset);
    RUN_TEST(test_utf16_offset_every_prefix);
    return TEST_SUMMARY();
}
