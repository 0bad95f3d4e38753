/*
 * libFuzzer driver for eio_ws: the input is a byte stream from a client. It is
 * parsed twice, as a connection would read it: once all at once, once arriving
 * in chunks whose sizes come from a generator seeded by the input. Data frames
 * go to an assembler, close frames to eio_ws_parse_close. Both readings must
 * see the same frames, messages and final error. Every parse call gets the
 * pending bytes in an exactly-sized heap block, so ASan catches any read past
 * them. Each input is read twice more with permessage-deflate agreed
 * (RSV1 allowed on first frames, an inflater in the assembler, so a
 * compressed message goes through zlib with the size limit on its inflated
 * bytes). The encoders are exercised on the side.
 * Threading: libFuzzer's thread only. Ownership: all memory is freed per input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engineio/eio_buf.h"
#include "engineio/eio_pmd.h"
#include "engineio/eio_ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A digest of what a reading saw, to compare the two readings. */
typedef struct {
    uint64_t hash;
    size_t events;
    long end; /* the last parse or feed result: 0 incomplete, < 0 an error */
} trace;

static void mix(trace *t, uint64_t v)
{
    t->hash = (t->hash ^ v) * 0x100000001b3ull;
}

static void mix_bytes(trace *t, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mix(t, p[i]);
}

static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* Handles one parsed frame. Returns 0 to go on, or a negative close code. */
static long on_frame(const eio_ws_frame *f, const uint8_t *block, size_t block_len, long consumed,
                     size_t max_payload, eio_ws_assembler *a, trace *t)
{
    FUZZ_CHECK(consumed > 0 && (size_t)consumed <= block_len);
    FUZZ_CHECK(f->payload >= block && f->payload + f->len <= block + consumed);
    FUZZ_CHECK(f->opcode >= 0 && f->opcode <= 0xA);
    mix(t, (uint64_t)f->opcode << 2 | (uint64_t)f->rsv1 << 1 | (uint64_t)f->fin);
    mix(t, f->len);
    mix_bytes(t, f->payload, f->len);
    t->events++;

    if (f->opcode & 0x8) {
        FUZZ_CHECK(f->fin && f->len <= 125);
        if (f->opcode == EIO_WS_OP_CLOSE) {
            int code = 0;
            const uint8_t *reason = NULL;
            size_t reason_len = 0;
            int r = eio_ws_parse_close(f->payload, f->len, &code, &reason, &reason_len);
            FUZZ_CHECK(r == 0 || r == -1002 || r == -1007);
            if (r == 0) {
                FUZZ_CHECK(reason_len <= f->len);
                mix(t, (uint64_t)code);
            }
            return r ? r : -1000; /* a close ends the stream */
        }
        return 0;
    }
    FUZZ_CHECK(f->len <= max_payload);
    eio_ws_message m;
    int r = eio_ws_assembler_feed(a, f, &m);
    FUZZ_CHECK(r == 0 || r == 1 || r == -1002 || r == -1007 || r == -1008 || r == -1009);
    if (r == 1) {
        FUZZ_CHECK(m.opcode == EIO_WS_OP_TEXT || m.opcode == EIO_WS_OP_BINARY);
        FUZZ_CHECK(m.len <= a->max_message);
        FUZZ_CHECK(m.data != NULL);
        mix(t, 0xABCDu);
        mix(t, m.len);
        mix_bytes(t, m.data, m.len); /* ASan checks the whole message is readable */
        t->events++;
    }
    return r < 0 ? r : 0;
}

/* Reads the stream in chunks (chunk_seed 0: all at once). */
static trace read_stream(const uint8_t *data, size_t size, size_t max_payload, size_t max_message,
                         uint64_t chunk_seed, int pmd_bits)
{
    trace t = {0xcbf29ce484222325ull, 0, 0};
    eio_ws_assembler a;
    eio_ws_assembler_init(&a, max_message);
    int pmd = pmd_bits != 0; /* permessage-deflate with this client window */
    if (pmd)
        a.inflater = eio_pmd_inflater_new(pmd_bits, 0);
    size_t start = 0, arrived = 0; /* pending bytes are data[start..arrived) */
    uint64_t rnd = chunk_seed;
    long result = 0;
    while (result == 0) {
        if (arrived < size) {
            size_t chunk = size - arrived;
            if (chunk_seed) {
                uint64_t r = next_random(&rnd);
                size_t n = (r & 3) == 0 ? (size_t)(r >> 8) % 3 + 1 : (size_t)(r >> 8) % 64 + 1;
                if (n < chunk)
                    chunk = n;
            }
            arrived += chunk;
        }
        /* Parse all complete frames among the pending bytes. */
        for (;;) {
            size_t n = arrived - start;
            uint8_t *block = malloc(n ? n : 1);
            if (n)
                memcpy(block, data + start, n);
            eio_ws_frame f;
            long r = eio_ws_parse_frame_ex(block, n, max_payload, pmd, &f);
            FUZZ_CHECK(r >= -1009 && (size_t)(r > 0 ? r : 0) <= n);
            if (r < 0) {
                FUZZ_CHECK(r == -1002 || r == -1009);
                result = r;
            } else if (r > 0) {
                long got = on_frame(&f, block, n, r, max_payload, &a, &t);
                start += (size_t)r;
                if (got < 0)
                    result = got;
            }
            free(block);
            if (r <= 0 || result != 0)
                break;
        }
        if (arrived == size && result == 0)
            break; /* everything read; what is left is an incomplete frame */
    }
    t.end = result;
    eio_ws_assembler_free(&a);
    return t;
}

static void exercise_encoders(const uint8_t *data, size_t size)
{
    uint8_t hdr[10];
    uint64_t len = 0;
    for (size_t i = 0; i < size && i < 8; i++)
        len = len << 8 | data[i];
    size_t n = eio_ws_frame_header(hdr, data[0] & 0xF, len);
    FUZZ_CHECK(n == 2 || n == 4 || n == 10);

    size_t reason_len = size < 300 ? size : 300;
    char *reason = malloc(reason_len + 1);
    memcpy(reason, data, reason_len);
    reason[reason_len] = '\0';
    eio_buf b = EIO_BUF_INIT;
    eio_ws_close_frame(1000 + (int)(size % 4000), reason, &b);
    FUZZ_CHECK(b.len >= 4 && b.len <= 127 && b.data[1] == b.len - 2);
    eio_buf_free(&b);

    char out[29];
    reason[reason_len < 24 ? reason_len : 24] = '\0';
    if (eio_ws_accept_key(reason, out) == 0)
        FUZZ_CHECK(strlen(out) == 28);
    free(reason);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < size; i++)
        seed = (seed ^ data[i]) * 0x100000001b3ull;
    seed |= 1; /* never 0: 0 means "all at once" */

    /* Small limits sometimes, so the size errors are reached. */
    size_t max_payload = (seed >> 60) < 4 ? 64 : (size_t)1 << 20;
    size_t max_message = (seed >> 56 & 0xF) < 4 ? 100 : (size_t)1 << 20;

    int bits = 8 + (int)(seed >> 40) % 8; /* a client window of 8 to 15 bits */
    for (int pmd = 0; pmd <= 1; pmd++) {
        trace whole = read_stream(data, size, max_payload, max_message, 0, pmd ? bits : 0);
        trace split = read_stream(data, size, max_payload, max_message, seed, pmd ? bits : 0);
        FUZZ_CHECK(whole.hash == split.hash);
        FUZZ_CHECK(whole.events == split.events);
        FUZZ_CHECK(whole.end == split.end);
    }

    exercise_encoders(data, size);
    return 0;
}
