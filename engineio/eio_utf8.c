/*
 * eio_utf8: a strict incremental UTF-8 validator (RFC 3629) and UTF-16 length
 * counting, so that the Engine.IO v3 "<len>:" prefixes can be read and written
 * the way JavaScript counts string lengths.
 *
 * The validator is a small table-driven automaton: each byte is mapped to one
 * of 12 classes, and a 9x12 transition table gives the next state. States 0
 * (accept) and 1 (reject) are the public EIO_UTF8_ACCEPT / EIO_UTF8_REJECT;
 * states 2..8 are "inside a character" and say what the next byte must be.
 *
 * Threading: any thread; no globals except constant tables.
 * Ownership: nothing is allocated; inputs are only read.
 */
#include "eio_utf8.h"

#include <string.h>

/* Byte classes. */
enum {
    CL_ASCII = 0, /* 00..7F */
    CL_C80 = 1,   /* 80..8F continuation */
    CL_C90 = 2,   /* 90..9F continuation */
    CL_CA0 = 3,   /* A0..BF continuation */
    CL_BAD = 4,   /* C0, C1, F5..FF: never valid */
    CL_L2 = 5,    /* C2..DF: lead of a 2-byte character */
    CL_E0 = 6,    /* E0: 3-byte, second byte A0..BF (no overlong) */
    CL_L3 = 7,    /* E1..EC, EE, EF: 3-byte */
    CL_ED = 8,    /* ED: 3-byte, second byte 80..9F (no surrogates) */
    CL_F0 = 9,    /* F0: 4-byte, second byte 90..BF (no overlong) */
    CL_L4 = 10,   /* F1..F3: 4-byte */
    CL_F4 = 11,   /* F4: 4-byte, second byte 80..8F (<= U+10FFFF) */
    CL_COUNT = 12
};

/* States beyond ACCEPT (0) and REJECT (1). */
enum {
    ST_NEED1 = 2, /* one more continuation byte */
    ST_NEED2 = 3, /* two more continuation bytes */
    ST_E0 = 4,    /* after E0: A0..BF, then one more */
    ST_ED = 5,    /* after ED: 80..9F, then one more */
    ST_NEED3 = 6, /* three more continuation bytes */
    ST_F0 = 7,    /* after F0: 90..BF, then two more */
    ST_F4 = 8,    /* after F4: 80..8F, then two more */
    ST_COUNT = 9
};

static const uint8_t utf8_transitions[ST_COUNT][CL_COUNT] = {
    /*            ASCII C80       C90       CA0       BAD L2        E0     L3        ED     F0 L4 F4
     */
    /* ACCEPT */ {0, 1, 1, 1, 1, ST_NEED1, ST_E0, ST_NEED2, ST_ED, ST_F0, ST_NEED3, ST_F4},
    /* REJECT */ {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    /* NEED1  */ {1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1},
    /* NEED2  */ {1, ST_NEED1, ST_NEED1, ST_NEED1, 1, 1, 1, 1, 1, 1, 1, 1},
    /* E0     */ {1, 1, 1, ST_NEED1, 1, 1, 1, 1, 1, 1, 1, 1},
    /* ED     */ {1, ST_NEED1, ST_NEED1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    /* NEED3  */ {1, ST_NEED2, ST_NEED2, ST_NEED2, 1, 1, 1, 1, 1, 1, 1, 1},
    /* F0     */ {1, 1, ST_NEED2, ST_NEED2, 1, 1, 1, 1, 1, 1, 1, 1},
    /* F4     */ {1, ST_NEED2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
};

/* Returns the class of byte c. */
static unsigned byte_class(uint8_t c)
{
    if (c < 0x80)
        return CL_ASCII;
    if (c < 0x90)
        return CL_C80;
    if (c < 0xA0)
        return CL_C90;
    if (c < 0xC0)
        return CL_CA0;
    if (c < 0xC2)
        return CL_BAD;
    if (c < 0xE0)
        return CL_L2;
    if (c == 0xE0)
        return CL_E0;
    if (c == 0xED)
        return CL_ED;
    if (c < 0xF0)
        return CL_L3;
    if (c == 0xF0)
        return CL_F0;
    if (c < 0xF4)
        return CL_L4;
    if (c == 0xF4)
        return CL_F4;
    return CL_BAD;
}

uint32_t eio_utf8_feed(uint32_t state, const uint8_t *s, size_t len)
{
    if (state >= ST_COUNT)
        return EIO_UTF8_REJECT;
    for (size_t i = 0; i < len; i++) {
        /* Fast path: a run of ASCII between characters, 8 bytes a step. */
        if (state == EIO_UTF8_ACCEPT) {
            uint64_t w;
            while (len - i >= 8 && (memcpy(&w, s + i, 8), (w & 0x8080808080808080u) == 0))
                i += 8;
            if (i == len)
                break;
            if (s[i] < 0x80)
                continue;
        }
        state = utf8_transitions[state][byte_class(s[i])];
        if (state == EIO_UTF8_REJECT)
            return EIO_UTF8_REJECT;
    }
    return state;
}

int eio_utf8_valid(const uint8_t *s, size_t len)
{
    return eio_utf8_feed(EIO_UTF8_ACCEPT, s, len) == EIO_UTF8_ACCEPT;
}

/* UTF-16 code units: one per character, two for the 4-byte ones (the lead
 * bytes F0..F4 of valid UTF-8); continuation bytes count nothing. */
size_t eio_utf16_length(const uint8_t *s, size_t len)
{
    size_t units = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = s[i];
        if ((c & 0xC0) != 0x80)
            units++;
        if (c >= 0xF0)
            units++;
    }
    return units;
}

int eio_utf16_offset(const uint8_t *s, size_t len, size_t units, size_t *offset)
{
    size_t pos = 0;
    while (units > 0) {
        if (pos >= len)
            return -1;
        uint8_t c = s[pos];
        if (c < 0x80) {
            pos++;
            units--;
            continue;
        }
        size_t width = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        size_t char_units = width == 4 ? 2 : 1;
        if (char_units > units)
            return -1; /* would cut a surrogate pair in half */
        if (width > len - pos)
            return -1;
        if (eio_utf8_feed(EIO_UTF8_ACCEPT, s + pos, width) != EIO_UTF8_ACCEPT)
            return -1;
        pos += width;
        units -= char_units;
    }
    *offset = pos;
    return 0;
}
