/*
 * Unit tests for sio_msgpack: encoding compared byte for byte with what npm
 * notepack.io 3.0.1 writes, decoding compared with what it reads (the hex
 * vectors below were produced with notepack.io 3.0.1 and 2.3.0 under
 * Node.js 20; JSON.stringify shows the decoded values), and hostile input.
 * Threading: single thread. Ownership: every tree and buffer is freed by its
 * test; binary values are kept in a per-test side table (struct bins).
 */
#include "socketio/sio_msgpack.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "socketio/sio.h"
#include "socketio/sio_json.h"
#include "test/unit/test.h"

/* ------------------------------------------------------------------------ */
/* Helpers.                                                                 */

/* Binary values met while decoding, or given for encoding: the tree holds
 * {"_placeholder":true,"num":i} for bins.data[i]. */
typedef struct bins {
    uint8_t **data;
    size_t *len;
    size_t n;
    int refuse; /* on_bin returns NULL */
} bins;

static size_t bins_add(bins *b, const uint8_t *data, size_t len)
{
    b->data = eio_realloc(b->data, (b->n + 1) * sizeof *b->data);
    b->len = eio_realloc(b->len, (b->n + 1) * sizeof *b->len);
    b->data[b->n] = eio_malloc(len ? len : 1);
    if (len)
        memcpy(b->data[b->n], data, len);
    b->len[b->n] = len;
    return b->n++;
}

static void bins_free(bins *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->data[i]);
    free(b->data);
    free(b->len);
    memset(b, 0, sizeof *b);
}

static cJSON *placeholder(size_t num)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddTrueToObject(p, "_placeholder");
    cJSON_AddNumberToObject(p, "num", (double)num);
    return p;
}

static cJSON *on_bin(const uint8_t *data, size_t len, void *ud)
{
    bins *b = ud;
    if (b->refuse)
        return NULL;
    return placeholder(bins_add(b, data, len));
}

static const uint8_t *get_bin(const cJSON *item, size_t *len, void *ud)
{
    bins *b = ud;
    const cJSON *ph = cJSON_IsObject(item) ? sio_json_get(item, "_placeholder") : NULL;
    const cJSON *num = ph ? sio_json_get(item, "num") : NULL;
    if (!cJSON_IsTrue(ph) || !cJSON_IsNumber(num) || num->valuedouble < 0 ||
        num->valuedouble >= (double)b->n)
        return NULL;
    *len = b->len[(size_t)num->valuedouble];
    return b->data[(size_t)num->valuedouble];
}

static void unhex(const char *hex, eio_buf *out)
{
    eio_buf_reset(out);
    for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
        unsigned v;
        sscanf(hex + i, "%2x", &v);
        eio_buf_append_byte(out, (uint8_t)v);
    }
}

static char *tohex(const uint8_t *b, size_t n)
{
    char *s = eio_malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++)
        snprintf(s + 2 * i, 3, "%02x", b[i]);
    s[2 * n] = 0;
    return s;
}

/* 1 if buf holds exactly the bytes of hex; prints both otherwise. */
static int same_hex(const eio_buf *buf, const char *hex, int line)
{
    char *got = tohex(buf->data, buf->len);
    int ok = strcmp(got, hex) == 0;
    if (!ok)
        fprintf(stderr, "  line %d: got      %s\n          expected %s\n", line, got, hex);
    free(got);
    return ok;
}
#define CHECK_HEX(buf, hex) CHECK(same_hex((buf), (hex), __LINE__))

static cJSON *json(const char *text)
{
    sio_json_error err;
    cJSON *v = sio_json_parse(text, strlen(text), 0, &err);
    if (!v)
        fprintf(stderr, "  bad test JSON %s\n", text);
    return v;
}

/* Encodes v (freed) and returns the hex text (free()). */
static char *encode_hex(cJSON *v, bins *b)
{
    eio_buf out = EIO_BUF_INIT;
    int rc = sio_msgpack_encode(v, 0, get_bin, b, &out);
    char *hex = rc == 0 ? tohex(out.data, out.len) : NULL;
    eio_buf_free(&out);
    cJSON_Delete(v);
    return hex;
}

/* Decodes hex; returns the tree printed by sio_json_print (free()), or NULL
 * with the reason in *err. */
static char *decode_text(const char *hex, bins *b, const char **err)
{
    eio_buf in = EIO_BUF_INIT;
    unhex(hex, &in);
    cJSON *v = NULL;
    const char *why = NULL;
    int rc = sio_msgpack_decode(in.data, in.len, 0, on_bin, b, &v, &why);
    eio_buf_free(&in);
    if (err)
        *err = why;
    if (rc != 0)
        return NULL;
    char *text = sio_json_print(v, NULL);
    cJSON_Delete(v);
    return text;
}

/* Checks that hex decodes to JSON text `expected`, or fails with reason
 * `expected_err` when expected is NULL. */
static int decodes_to(const char *hex, const char *expected, const char *expected_err, int line)
{
    bins b = {0};
    const char *err;
    char *text = decode_text(hex, &b, &err);
    int ok = expected ? text && strcmp(text, expected) == 0
                      : !text && err && strcmp(err, expected_err) == 0;
    if (!ok)
        fprintf(stderr, "  line %d: %s decoded to %s (%s), expected %s (%s)\n", line, hex,
                text ? text : "error", err ? err : "-", expected ? expected : "error",
                expected_err ? expected_err : "-");
    free(text);
    bins_free(&b);
    return ok;
}
#define CHECK_DECODE(hex, text)    CHECK(decodes_to((hex), (text), NULL, __LINE__))
#define CHECK_DECODE_ERR(hex, err) CHECK(decodes_to((hex), NULL, (err), __LINE__))

static const char *broadcast_json =
    "[\"AbC123\",{\"type\":2,\"data\":[\"chat\",{\"text\":\"hi\"},{\"_placeholder\":true,\"num\":0}"
    "],"
    "\"nsp\":\"/\"},{\"rooms\":[\"room1\"],\"except\":[\"Xy20charsocketid0001\"],\"flags\":{}}]";
static const char *broadcast_hex =
    "93a641624331323383a47479706502a46461746193a46368617481a474657874a26869c403010203a36e7370a1"
    "2f83a5726f6f6d7391a5726f6f6d31a665786365707491b45879323063686172736f636b657469643030303"
    "1a5666c61677380";

static const char *request_json =
    "{\"uid\":\"AbC123\",\"requestId\":\"Qw3rty\",\"type\":7,\"packet\":{\"type\":2,\"data\":["
    "\"ping\"],"
    "\"nsp\":\"/\",\"id\":12},\"opts\":{\"rooms\":[],\"except\":[],\"flags\":{\"timeout\":5000}}}";
static const char *request_hex =
    "85a3756964a6416243313233a9726571756573744964a6517733727479a47479706507a67061636b657484a474"
    "79706502a46461746191a470696e67a36e7370a12fa269640ca46f70747383a5726f6f6d7390a66578636570"
    "7490a5666c61677381a774696d656f7574cd1388";

/* ------------------------------------------------------------------------ */
/* The vectors of NODE-CLUSTER.md 1.1.                                      */

static void test_broadcast_vector(void)
{
    bins b = {0};
    static const uint8_t bytes[] = {1, 2, 3};
    bins_add(&b, bytes, 3);
    char *hex = encode_hex(json(broadcast_json), &b);
    CHECK(hex && strcmp(hex, broadcast_hex) == 0);
    free(hex);
    bins_free(&b);

    eio_buf in = EIO_BUF_INIT;
    unhex(broadcast_hex, &in);
    cJSON *v = NULL, *want = json(broadcast_json);
    const char *err = "unset";
    CHECK_EQ_INT(sio_msgpack_decode(in.data, in.len, 32, on_bin, &b, &v, &err), 0);
    CHECK(err == NULL);
    CHECK(v && cJSON_Compare(v, want, 1));
    CHECK_EQ_INT(b.n, 1);
    CHECK(b.n == 1 && b.len[0] == 3 && memcmp(b.data[0], bytes, 3) == 0);
    /* and back to the same bytes */
    eio_buf out = EIO_BUF_INIT;
    CHECK_EQ_INT(sio_msgpack_encode(v, 32, get_bin, &b, &out), 0);
    CHECK_HEX(&out, broadcast_hex);
    eio_buf_free(&out);
    eio_buf_free(&in);
    cJSON_Delete(v);
    cJSON_Delete(want);
    bins_free(&b);
}

static void test_request_vector(void)
{
    char *hex = encode_hex(json(request_json), NULL);
    CHECK(hex && strcmp(hex, request_hex) == 0);
    free(hex);
    CHECK_DECODE(request_hex, request_json);
}

/* The same through a sio_args, as the cluster code will use it. */
static cJSON *args_on_bin(const uint8_t *data, size_t len, void *ud)
{
    return sio_args_binary_value(ud, data, len);
}

static const uint8_t *args_get_bin(const cJSON *item, size_t *len, void *ud)
{
    return sio_args_binary(ud, item, len);
}

static void test_with_sio_args(void)
{
    sio_args *a = sio_args_new();
    eio_buf in = EIO_BUF_INIT, out = EIO_BUF_INIT;
    unhex(broadcast_hex, &in);
    cJSON *v = NULL;
    CHECK_EQ_INT(sio_msgpack_decode(in.data, in.len, 0, args_on_bin, a, &v, NULL), 0);
    CHECK_EQ_INT(sio_msgpack_encode(v, 0, args_get_bin, a, &out), 0);
    CHECK_HEX(&out, broadcast_hex);
    cJSON_Delete(v);
    eio_buf_free(&in);
    eio_buf_free(&out);
    sio_args_free(a);
}

/* ------------------------------------------------------------------------ */
/* Encoding scalars.                                                        */

typedef struct number_case {
    double v;
    const char *hex; /* notepack.io 3.0.1 */
} number_case;

static void test_encode_integers(void)
{
    static const number_case cases[] = {
        {0, "00"},
        {-0.0, "00"},
        {1, "01"},
        {127, "7f"},
        {128, "cc80"},
        {255, "ccff"},
        {256, "cd0100"},
        {65535, "cdffff"},
        {65536, "ce00010000"},
        {4294967295.0, "ceffffffff"},
        {4294967296.0, "cf0000000100000000"},
        {9007199254740991.0, "cf001fffffffffffff"},
        {9007199254740992.0, "cf0020000000000000"},
        {9007199254740994.0, "cf0020000000000002"},
        {9223372036854775808.0, "cf8000000000000000"},
        {18446744073709549568.0, "cffffffffffffff800"}, /* largest double below 2^64 */
        {-1, "ff"},
        {-32, "e0"},
        {-33, "d0df"},
        {-128, "d080"},
        {-129, "d1ff7f"},
        {-32768, "d18000"},
        {-32769, "d2ffff7fff"},
        {-2147483648.0, "d280000000"},
        {-2147483649.0, "d3ffffffff7fffffff"},
        {-9007199254740992.0, "d3ffe0000000000000"},
        {-9223372036854775808.0, "d38000000000000000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *hex = encode_hex(cJSON_CreateNumber(cases[i].v), NULL);
        if (!hex || strcmp(hex, cases[i].hex) != 0)
            fprintf(stderr, "  %.17g: got %s, expected %s\n", cases[i].v, hex ? hex : "error",
                    cases[i].hex);
        CHECK(hex && strcmp(hex, cases[i].hex) == 0);
        free(hex);
    }
}

/* Integral values outside [-2^63, 2^64): notepack writes them modulo 2^64
 * (2^64 -> cf0000000000000000, 1e20 -> cf6bc75e2d63100000, -1e20 ->
 * d39438a1d29cf00000, -2^63-4096 -> d37ffffffffffff000), which reads back as
 * another number; here they are float64, which notepack reads back right. */
static void test_encode_beyond_int64(void)
{
    static const number_case cases[] = {
        {18446744073709551616.0, "cb43f0000000000000"},
        {1e20, "cb4415af1d78b58c40"},
        {-1e20, "cbc415af1d78b58c40"},
        {1.7976931348623157e308, "cb7fefffffffffffff"},
        {1180591620717411303424.0, "cb4450000000000000"},
        {-9223372036854779904.0, "cbc3e0000000000002"},
        {-18446744073709551616.0, "cbc3f0000000000000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *hex = encode_hex(cJSON_CreateNumber(cases[i].v), NULL);
        CHECK(hex && strcmp(hex, cases[i].hex) == 0);
        free(hex);
    }
}

static void test_encode_floats(void)
{
    static const number_case cases[] = {
        {0.5, "cb3fe0000000000000"},
        {-1.5, "cbbff8000000000000"},
        {1e-300, "cb01a56e1fc2f8f359"},
        {3.141592653589793, "cb400921fb54442d18"},
        {INFINITY, "cb7ff0000000000000"},
        {-INFINITY, "cbfff0000000000000"},
        {NAN, "cb7ff8000000000000"},
        {-NAN, "cb7ff8000000000000"}, /* Node writes every NaN the same way */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *hex = encode_hex(cJSON_CreateNumber(cases[i].v), NULL);
        CHECK(hex && strcmp(hex, cases[i].hex) == 0);
        free(hex);
    }
    char *hex = encode_hex(cJSON_CreateNull(), NULL);
    CHECK(hex && strcmp(hex, "c0") == 0);
    free(hex);
    hex = encode_hex(cJSON_CreateTrue(), NULL);
    CHECK(hex && strcmp(hex, "c3") == 0);
    free(hex);
    hex = encode_hex(cJSON_CreateFalse(), NULL);
    CHECK(hex && strcmp(hex, "c2") == 0);
    free(hex);
}

/* ------------------------------------------------------------------------ */
/* Strings, binary and containers at every length boundary.                 */

static void test_string_lengths(void)
{
    static const struct {
        size_t n;
        const char *header;
    } cases[] = {{0, "a0"},       {31, "bf"},        {32, "d920"},         {255, "d9ff"},
                 {256, "da0100"}, {65535, "daffff"}, {65536, "db00010000"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = cases[i].n, hl = strlen(cases[i].header) / 2;
        char *s = eio_malloc(n + 1);
        memset(s, 'x', n);
        s[n] = 0;
        eio_buf out = EIO_BUF_INIT;
        cJSON *v = cJSON_CreateString(s);
        CHECK_EQ_INT(sio_msgpack_encode(v, 0, NULL, NULL, &out), 0);
        CHECK_EQ_INT(out.len, hl + n);
        char *head = tohex(out.data, hl);
        CHECK(strcmp(head, cases[i].header) == 0);
        CHECK(out.len == hl + n && memcmp(out.data + hl, s, n) == 0);
        cJSON *back = NULL;
        CHECK_EQ_INT(sio_msgpack_decode(out.data, out.len, 0, NULL, NULL, &back, NULL), 0);
        CHECK(back && cJSON_IsString(back) && strcmp(back->valuestring, s) == 0);
        cJSON_Delete(back);
        cJSON_Delete(v);
        free(head);
        free(s);
        eio_buf_free(&out);
    }
}

static void test_string_bytes(void)
{
    static const struct {
        const char *json; /* parsed with sio_json */
        const char *hex;
    } cases[] = {
        {"\"a\\u0000b\"", "a3610062"}, /* held as C0 80, written as 00 */
        {"\"\\u00e9\"", "a2c3a9"},
        {"\"\\ud83d\\ude00\"", "a4f09f9880"},
        /* A lone surrogate: U+FFFD, as Buffer.from does. (notepack's own
         * short-string writer gives a4f0908080 here: a wrong character.) */
        {"\"\\udc00\"", "a3efbfbd"},
        /* notepack itself writes U+FFFD for strings over 32 UTF-16 units */
        {"\"\\ud800xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"",
         "d92befbfbd78787878787878787878787878787878787878787878787878787878787878787878787878"
         "787878"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *hex = encode_hex(json(cases[i].json), NULL);
        if (!hex || strcmp(hex, cases[i].hex) != 0)
            fprintf(stderr, "  %s: got %s\n", cases[i].json, hex ? hex : "error");
        CHECK(hex && strcmp(hex, cases[i].hex) == 0);
        free(hex);
    }
    /* bytes that are not JS UTF-8 in a tree built elsewhere: U+FFFD each */
    char *hex = encode_hex(cJSON_CreateString("a\xff\xe2\x82z"), NULL);
    CHECK(hex && strcmp(hex, "ab61efbfbdefbfbdefbfbd7a") == 0);
    free(hex);
    /* a key holding U+0000 and the decoder's view of it */
    CHECK_DECODE("81a3610062c3", "{\"a\\u0000b\":true}");
    hex = encode_hex(json("{\"a\\u0000b\":true}"), NULL);
    CHECK(hex && strcmp(hex, "81a3610062c3") == 0);
    free(hex);
}

static void test_bin_lengths(void)
{
    static const struct {
        size_t n;
        const char *header;
    } cases[] = {{0, "c400"},     {1, "c401"},       {255, "c4ff"},
                 {256, "c50100"}, {65535, "c5ffff"}, {65536, "c600010000"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = cases[i].n, hl = strlen(cases[i].header) / 2;
        uint8_t *bytes = eio_malloc(n + 1);
        for (size_t k = 0; k < n; k++)
            bytes[k] = (uint8_t)(k * 7);
        bins b = {0}, back_bins = {0};
        bins_add(&b, bytes, n);
        eio_buf out = EIO_BUF_INIT;
        cJSON *v = placeholder(0);
        CHECK_EQ_INT(sio_msgpack_encode(v, 0, get_bin, &b, &out), 0);
        char *head = tohex(out.data, hl);
        CHECK(strcmp(head, cases[i].header) == 0);
        CHECK(out.len == hl + n && memcmp(out.data + hl, bytes, n) == 0);
        cJSON *back = NULL;
        CHECK_EQ_INT(sio_msgpack_decode(out.data, out.len, 0, on_bin, &back_bins, &back, NULL), 0);
        CHECK(back && cJSON_Compare(back, v, 1));
        CHECK(back_bins.n == 1 && back_bins.len[0] == n &&
              memcmp(back_bins.data[0], bytes, n) == 0);
        cJSON_Delete(back);
        cJSON_Delete(v);
        free(head);
        free(bytes);
        bins_free(&b);
        bins_free(&back_bins);
        eio_buf_free(&out);
    }
}

static void test_container_lengths(void)
{
    static const struct {
        size_t n;
        int object;
        const char *header;
        size_t total; /* notepack's length for n zeros, objects keyed k0, k1... */
    } cases[] = {
        {0, 0, "90", 1},
        {15, 0, "9f", 16},
        {16, 0, "dc0010", 19},
        {65535, 0, "dcffff", 65538},
        {65536, 0, "dd00010000", 65541},
        {0, 1, "80", 1},
        {15, 1, "8f", 66},
        {16, 1, "de0010", 73},
        {65536, 1, "df00010000", 513183},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *v = cases[i].object ? cJSON_CreateObject() : cJSON_CreateArray();
        for (size_t k = 0; k < cases[i].n; k++) {
            if (cases[i].object) {
                char key[32];
                snprintf(key, sizeof key, "k%zu", k);
                cJSON_AddNumberToObject(v, key, 0);
            } else {
                cJSON_AddItemToArray(v, cJSON_CreateNumber(0));
            }
        }
        eio_buf out = EIO_BUF_INIT;
        size_t hl = strlen(cases[i].header) / 2;
        CHECK_EQ_INT(sio_msgpack_encode(v, 0, NULL, NULL, &out), 0);
        CHECK_EQ_INT(out.len, cases[i].total);
        char *head = tohex(out.data, hl);
        CHECK(strcmp(head, cases[i].header) == 0);
        cJSON *back = NULL;
        CHECK_EQ_INT(sio_msgpack_decode(out.data, out.len, 0, NULL, NULL, &back, NULL), 0);
        CHECK(back && cJSON_GetArraySize(back) == (int)cases[i].n);
        if (cases[i].n <= 16) /* cJSON_Compare is quadratic on objects */
            CHECK(back && cJSON_Compare(back, v, 1));
        cJSON_Delete(back);
        cJSON_Delete(v);
        free(head);
        eio_buf_free(&out);
    }
}

static void test_encode_nested_and_order(void)
{
    char *hex = encode_hex(
        json(
            "{\"a\":{\"b\":{\"c\":[1,{\"d\":\"e\"}]}},\"\":[[],{}],\"z\":[true,false,null,-1.25]}"),
        NULL);
    CHECK(hex &&
          strcmp(hex, "83a16181a16281a163920181a164a165a0929080a17a94c3c2c0cbbff4000000000000") ==
              0);
    free(hex);
    /* Keys in a tree built in another order: written as Object.keys orders them. */
    cJSON *o = cJSON_CreateObject();
    const char *keys[] = {"4294967295", "4294967294", "01", "1", "-1", "x", "0"};
    for (int i = 0; i < 7; i++)
        cJSON_AddNumberToObject(o, keys[i], i + 1);
    hex = encode_hex(o, NULL);
    CHECK(hex && strcmp(hex, "87a13007a13104aa3432393439363732393402aa3432393439363732393501a23031"
                             "03a22d3105a17806") == 0);
    free(hex);
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "b", 1);
    cJSON_AddNumberToObject(o, "2", 2);
    cJSON_AddNumberToObject(o, "1", 3);
    cJSON_AddNumberToObject(o, "a", 4);
    hex = encode_hex(o, NULL);
    CHECK(hex && strcmp(hex, "84a13103a13202a16201a16104") == 0);
    free(hex);
}

/* cJSON_Invalid stands for undefined: nil in arrays, left out of objects. */
static void test_encode_undefined(void)
{
    cJSON *a = cJSON_CreateArray();
    cJSON *u = cJSON_CreateNull();
    u->type = cJSON_Invalid;
    cJSON_AddItemToArray(a, u);
    char *hex = encode_hex(a, NULL);
    CHECK(hex && strcmp(hex, "91c0") == 0);
    free(hex);
    cJSON *o = cJSON_CreateObject();
    u = cJSON_CreateNull();
    u->type = cJSON_Invalid;
    cJSON_AddItemToObject(o, "a", u);
    cJSON_AddNumberToObject(o, "b", 1);
    hex = encode_hex(o, NULL);
    CHECK(hex && strcmp(hex, "81a16201") == 0);
    free(hex);
    u = cJSON_CreateNull();
    u->type = cJSON_Invalid;
    hex = encode_hex(u, NULL);
    CHECK(hex && strcmp(hex, "c0") == 0);
    free(hex);
}

static void test_encode_failures(void)
{
    eio_buf out = EIO_BUF_INIT;
    eio_buf_append(&out, "xy", 2);
    cJSON *raw = cJSON_CreateRaw("1");
    CHECK_EQ_INT(sio_msgpack_encode(raw, 0, NULL, NULL, &out), -1);
    CHECK_EQ_INT(out.len, 2);
    cJSON *a = json("[1,2,{\"a\":[3]}]");
    cJSON_AddItemToArray(cJSON_GetObjectItem(cJSON_GetArrayItem(a, 2), "a"), raw);
    CHECK_EQ_INT(sio_msgpack_encode(a, 0, NULL, NULL, &out), -1);
    CHECK_EQ_INT(out.len, 2); /* the partial encoding is taken back */
    CHECK_EQ_INT(sio_msgpack_encode(NULL, 0, NULL, NULL, &out), -1);
    CHECK_EQ_INT(out.len, 2);
    cJSON_Delete(a);
    /* depth: 10 nested arrays */
    cJSON *root = cJSON_CreateArray(), *cur = root;
    for (int i = 1; i < 10; i++) {
        cJSON *next = cJSON_CreateArray();
        cJSON_AddItemToArray(cur, next);
        cur = next;
    }
    CHECK_EQ_INT(sio_msgpack_encode(root, 9, NULL, NULL, &out), -1);
    CHECK_EQ_INT(out.len, 2);
    CHECK_EQ_INT(sio_msgpack_encode(root, 10, NULL, NULL, &out), 0);
    CHECK_EQ_INT(out.len, 12);
    CHECK(memcmp(out.data, "xy\x91\x91\x91\x91\x91\x91\x91\x91\x91\x90", 12) == 0);
    cJSON_Delete(root);
    eio_buf_free(&out);
}

/* ------------------------------------------------------------------------ */
/* Decoding.                                                                */

static void test_decode_integers(void)
{
    static const number_case cases[] = {
        {0, "00"},
        {127, "7f"},
        {-1, "ff"},
        {-32, "e0"},
        {255, "ccff"},
        {1, "cc01"}, /* not the shortest form: still read */
        {65535, "cdffff"},
        {4294967295.0, "ceffffffff"},
        {1, "cf0000000000000001"},
        {18446744073709551616.0, "cfffffffffffffffff"}, /* nearest double of 2^64-1 */
        {9007199254740992.0, "cf0020000000000001"},     /* 2^53+1 */
        {9007199254740996.0, "cf0020000000000003"},     /* 2^53+3 */
        {-128, "d080"},
        {127, "d07f"},
        {-32768, "d18000"},
        {-2147483648.0, "d280000000"},
        {-1, "d3ffffffffffffffff"},
        {-9223372036854775808.0, "d38000000000000000"},
        {-9007199254740992.0, "d3ffdfffffffffffff"}, /* -(2^53+1) */
        {-9007199254740996.0, "d3ffdffffffffffffd"}, /* -(2^53+3) */
        {1.5, "ca3fc00000"},
        {(double)0.1f, "ca3dcccccd"}, /* 0.10000000149011612 */
        {INFINITY, "ca7f800000"},
        {0.5, "cb3fe0000000000000"},
        {-INFINITY, "cbfff0000000000000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        eio_buf in = EIO_BUF_INIT;
        unhex(cases[i].hex, &in);
        cJSON *v = NULL;
        CHECK_EQ_INT(sio_msgpack_decode(in.data, in.len, 0, NULL, NULL, &v, NULL), 0);
        CHECK(v && cJSON_IsNumber(v) && v->valuedouble == cases[i].v);
        cJSON_Delete(v);
        eio_buf_free(&in);
    }
    CHECK_DECODE("cfffffffffffffffff", "18446744073709552000");
    CHECK_DECODE("d38000000000000000", "-9223372036854776000");
    CHECK_DECODE("ca3dcccccd", "0.10000000149011612");
    /* NaN and -0 */
    static const char *odd[] = {"ca7fc00000", "cb7ff8000000000000", "cbfff8000000000001",
                                "cb8000000000000000"};
    for (int i = 0; i < 4; i++) {
        eio_buf in = EIO_BUF_INIT;
        unhex(odd[i], &in);
        cJSON *v = NULL;
        CHECK_EQ_INT(sio_msgpack_decode(in.data, in.len, 0, NULL, NULL, &v, NULL), 0);
        CHECK(v && cJSON_IsNumber(v));
        if (v && i < 3)
            CHECK(isnan(v->valuedouble) && v->valueint == 0);
        if (v && i == 3)
            CHECK(v->valuedouble == 0 && signbit(v->valuedouble));
        cJSON_Delete(v);
        eio_buf_free(&in);
    }
    CHECK_DECODE("c0", "null");
    CHECK_DECODE("c2", "false");
    CHECK_DECODE("c3", "true");
}

/* What Buffer.toString("utf8") makes of ill-formed UTF-8 (Node 20). */
static void test_decode_utf8(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"80", "efbfbd"},
        {"c0", "efbfbd"},
        {"c080", "efbfbdefbfbd"},
        {"c1bf", "efbfbdefbfbd"},
        {"c3", "efbfbd"},
        {"e0", "efbfbd"},
        {"e080", "efbfbdefbfbd"},
        {"e08080", "efbfbdefbfbdefbfbd"},
        {"e0a080", "e0a080"},
        {"eda080", "efbfbdefbfbdefbfbd"},
        {"ed9fbf", "ed9fbf"},
        {"f0", "efbfbd"},
        {"f08080", "efbfbdefbfbdefbfbd"},
        {"f0808080", "efbfbdefbfbdefbfbdefbfbd"},
        {"f4908080", "efbfbdefbfbdefbfbdefbfbd"},
        {"f48fbfbf", "f48fbfbf"},
        {"f5", "efbfbd"},
        {"ff", "efbfbd"},
        {"e282", "efbfbd"},
        {"e282ac", "e282ac"},
        {"f09f98", "efbfbd"},
        {"f09f9841", "efbfbd41"},
        {"61e2ac", "61efbfbd"},
        {"c341", "efbfbd41"},
        {"ed80", "efbfbd"},
        {"edbfbf", "efbfbdefbfbdefbfbd"},
        {"fe", "efbfbd"},
        {"f7bfbfbf", "efbfbdefbfbdefbfbdefbfbd"},
        {"e2ac61e2", "efbfbd61efbfbd"},
        {"f0908080c2", "f0908080efbfbd"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char hex[64];
        snprintf(hex, sizeof hex, "%02x%s", 0xa0 | (unsigned)(strlen(cases[i].in) / 2),
                 cases[i].in);
        eio_buf in = EIO_BUF_INIT, want = EIO_BUF_INIT;
        unhex(hex, &in);
        unhex(cases[i].out, &want);
        cJSON *v = NULL;
        CHECK_EQ_INT(sio_msgpack_decode(in.data, in.len, 0, NULL, NULL, &v, NULL), 0);
        CHECK(v && cJSON_IsString(v) && strlen(v->valuestring) == want.len &&
              memcmp(v->valuestring, want.data, want.len) == 0);
        /* as a key too */
        snprintf(hex, sizeof hex, "81%02x%sc0", 0xa0 | (unsigned)(strlen(cases[i].in) / 2),
                 cases[i].in);
        unhex(hex, &in);
        cJSON *o = NULL;
        CHECK_EQ_INT(sio_msgpack_decode(in.data, in.len, 0, NULL, NULL, &o, NULL), 0);
        CHECK(o && o->child && strlen(o->child->string) == want.len &&
              memcmp(o->child->string, want.data, want.len) == 0);
        cJSON_Delete(o);
        cJSON_Delete(v);
        eio_buf_free(&in);
        eio_buf_free(&want);
    }
    CHECK_DECODE("a3610062", "\"a\\u0000b\"");
    CHECK_DECODE("d900", "\"\"");
    CHECK_DECODE("da0001ff", "\"\xef\xbf\xbd\"");
    CHECK_DECODE("db0000000161", "\"a\"");
}

static void test_decode_maps(void)
{
    /* key types: notepack makes String(key) of anything; integers are kept */
    CHECK_DECODE("810501", "{\"5\":1}");
    CHECK_DECODE("81fb01", "{\"-5\":1}");
    CHECK_DECODE("81d0df01", "{\"-33\":1}");
    CHECK_DECODE("81cd100001", "{\"4096\":1}");
    CHECK_DECODE("81cfffffffffffffffff01", "{\"18446744073709552000\":1}");
    CHECK_DECODE("81d3800000000000000001", "{\"-9223372036854776000\":1}");
    CHECK_DECODE_ERR("81c001", "bad map key");
    CHECK_DECODE_ERR("81c301", "bad map key");
    CHECK_DECODE_ERR("81cb3ff800000000000001", "bad map key");
    CHECK_DECODE_ERR("8192010201", "bad map key");
    CHECK_DECODE_ERR("818001", "bad map key");
    CHECK_DECODE_ERR("81c4016101", "bad map key");
    CHECK_DECODE_ERR("81d6ff0000000001", "bad map key");
    /* duplicates: first place, last value */
    CHECK_DECODE("82a16101a16102", "{\"a\":2}");
    CHECK_DECODE("83a16101a16202a16103", "{\"a\":3,\"b\":2}");
    CHECK_DECODE(
        "de0014a26b3000a26b3101a26b3202a26b3303a26b3404a26b3505a26b3606a26b3707a26b3808a26b"
        "3909a26b300aa26b310ba26b320ca26b330da26b340ea26b350fa26b3610a26b3711a26b3812a26b"
        "3913",
        "{\"k0\":10,\"k1\":11,\"k2\":12,\"k3\":13,\"k4\":14,\"k5\":15,\"k6\":16,\"k7\":17,"
        "\"k8\":18,\"k9\":19}");
    /* "1" and the integer 1 are the same key in JS */
    CHECK_DECODE("82a131c201c3", "{\"1\":true}");
    /* __proto__ sets the prototype: no member */
    CHECK_DECODE("82a95f5f70726f746f5f5f81a17801a17902", "{\"y\":2}");
    CHECK_DECODE("81a95f5f70726f746f5f5f01", "{}");
    /* array-index keys first, as in a JS object: check the tree's own order */
    eio_buf in = EIO_BUF_INIT;
    unhex("87a13007a13104aa3432393439363732393402aa3432393439363732393501a2303103a22d3105a17806",
          &in);
    cJSON *v = NULL;
    CHECK_EQ_INT(sio_msgpack_decode(in.data, in.len, 0, NULL, NULL, &v, NULL), 0);
    unhex("84a16201a13202a13103a16104", &in); /* {b:1,2:2,1:3,a:4} in input order */
    cJSON *w = NULL;
    CHECK_EQ_INT(sio_msgpack_decode(in.data, in.len, 0, NULL, NULL, &w, NULL), 0);
    const char *order_v[] = {"0", "1", "4294967294", "4294967295", "01", "-1", "x"};
    const char *order_w[] = {"1", "2", "b", "a"};
    int i = 0;
    for (cJSON *c = v ? v->child : NULL; c; c = c->next, i++)
        CHECK(i < 7 && strcmp(c->string, order_v[i]) == 0);
    CHECK_EQ_INT(i, 7);
    i = 0;
    for (cJSON *c = w ? w->child : NULL; c; c = c->next, i++)
        CHECK(i < 4 && strcmp(c->string, order_w[i]) == 0);
    CHECK_EQ_INT(i, 4);
    CHECK(w && w->child && w->child->prev && strcmp(w->child->prev->string, "a") == 0);
    cJSON_Delete(v);
    cJSON_Delete(w);
    eio_buf_free(&in);
    /* nested */
    CHECK_DECODE(
        "83a16181a16281a163920181a164a165a0929080a17a94c3c2c0cbbff4000000000000",
        "{\"a\":{\"b\":{\"c\":[1,{\"d\":\"e\"}]}},\"\":[[],{}],\"z\":[true,false,null,-1.25]}");
}

static void test_decode_undefined(void)
{
    CHECK_DECODE("92d40000c3", "[null,true]");
    CHECK_DECODE("82a161d40000a16201", "{\"b\":1}");
    CHECK_DECODE("83a16101a16202a161d40000", "{\"b\":2}");
    CHECK_DECODE("83a161d40000a16202a16103", "{\"a\":3,\"b\":2}");
    CHECK_DECODE("81a161d40000", "{}");
    CHECK_DECODE("d40000", "null");
    CHECK_DECODE("d40007", "null"); /* notepack skips the data byte */
    /* the decoded tree holds no cJSON_Invalid node */
    eio_buf in = EIO_BUF_INIT;
    unhex("92d40000c3", &in);
    cJSON *v = NULL;
    CHECK_EQ_INT(sio_msgpack_decode(in.data, in.len, 0, NULL, NULL, &v, NULL), 0);
    CHECK(v && cJSON_IsNull(v->child));
    cJSON_Delete(v);
    unhex("d40000", &in);
    CHECK_EQ_INT(sio_msgpack_decode(in.data, in.len, 0, NULL, NULL, &v, NULL), 0);
    CHECK(v && cJSON_IsNull(v));
    cJSON_Delete(v);
    eio_buf_free(&in);
}

static void test_decode_timestamps(void)
{
    static const struct {
        const char *hex, *iso; /* iso NULL: an Invalid Date in JS */
    } cases[] = {
        /* timestamp 32 */
        {"d6ff00000000", "1970-01-01T00:00:00.000Z"},
        {"d6ffffffffff", "2106-02-07T06:28:15.000Z"},
        /* timestamp 64 */
        {"d7ff1d5353006b0fa014", "2026-12-02T04:35:32.123Z"},
        {"d7ff0000000100000000", "2106-02-07T06:28:16.000Z"},
        {"d7ffffffffff00000000", "2378-04-22T19:24:49.073Z"},
        {"d7ffffffffffffffffff", "2514-05-30T01:53:04.073Z"},
        {"d7ffee6b27fc00000000", "1970-01-01T00:00:00.999Z"},
        {"d7ffee6b27ffffffffff", "2514-05-30T01:53:04.000Z"}, /* double rounding, as in JS */
        {"d7ff003d08ffffffffff", "2514-05-30T01:53:03.001Z"},
        {"d7ff005b8d8000000001", "1970-01-01T00:00:01.001Z"},
        {"d7fffffffffc00000000", "1970-01-01T00:00:01.073Z"}, /* ns >= 1e9: not refused */
        /* timestamp 96 */
        {"c70cff3b8b87c0ffffffffffffffff", "1969-12-31T23:59:59.999Z"},
        {"c70cff00000000000007dba8218000", "+275760-09-13T00:00:00.000Z"},
        {"c70cff00000001000007dba8218000", "+275760-09-13T00:00:00.000Z"},
        {"c70cff000f4240000007dba8218000", NULL},
        {"c70cff00000000000007dba8218001", NULL},
        {"c70cff00000000fffff82457de8000", "-271821-04-20T00:00:00.000Z"},
        {"c70cff00000000fffff82457de7fff", NULL},
        {"c70cff3b9ac9fffffff82457de7fff", "-271821-04-20T00:00:00.000Z"},
        {"c70cff000000000000003afff44180", "+010000-01-01T00:00:00.000Z"},
        {"c70cff3b8b87c00000003afff4417f", "9999-12-31T23:59:59.999Z"},
        {"c70cff00000000fffffff1868b8400", "0000-01-01T00:00:00.000Z"},
        {"c70cff00000000fffffff184aa5080", "-000001-01-01T00:00:00.000Z"},
        {"c70cff1dcd6500fffffff1868b83ff", "-000001-12-31T23:59:59.500Z"},
        {"c70cff00000000fffffff1848e0580", "-000002-12-10T12:56:32.000Z"},
        {"c70cff000000007fffffffffffffff", NULL},
        {"c70cff000000008000000000000000", NULL},
        {"c70cffee6b28000000000000000000", "1970-01-01T00:00:04.000Z"},
        {"c70cfffffffffffffffffffffffffb", "1969-12-31T23:59:59.295Z"},
        {"c70cff00000001ffffffffffffffff", "1969-12-31T23:59:59.001Z"},
        {"c70cff1dcd6500ffffffffffffffff", "1969-12-31T23:59:59.500Z"},
        {"c70cff3b9ac9ff00000003ffffffff", "2514-05-30T01:53:04.000Z"},
        {"c70cff000f423f00000003ffffffff", "2514-05-30T01:53:03.001Z"},
        {"c70cff000000000020000000000001", NULL},
        /* notepack 2.x Date: int64 milliseconds */
        {"d70000000000000003e8", "1970-01-01T00:00:01.000Z"},
        {"d700ffffffffffffffff", "1969-12-31T23:59:59.999Z"},
        {"d700000001a235094e9b", "2026-12-02T04:35:32.123Z"},
        {"d700001eb208c2dc0000", "+275760-09-13T00:00:00.000Z"},
        {"d700001eb208c2dc0001", NULL},
        {"d700ffe14df73d240000", "-271821-04-20T00:00:00.000Z"},
        {"d700ffe14df73d23ffff", NULL},
        {"d7007fffffffffffffff", NULL},
        {"d7000020000000000001", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char want[64];
        if (cases[i].iso) {
            snprintf(want, sizeof want, "\"%s\"", cases[i].iso);
            CHECK_DECODE(cases[i].hex, want);
        } else {
            CHECK_DECODE_ERR(cases[i].hex, "bad timestamp");
        }
    }
    /* in a container, as the adapter would send a Date argument */
    CHECK_DECODE("92a464617465d6ff00000000", "[\"date\",\"1970-01-01T00:00:00.000Z\"]");
    CHECK_DECODE_ERR("c704ff00000000", "bad timestamp");
}

static void test_decode_ext(void)
{
    /* ext type 0 in ext8/16/32 form: notepack 2.x ArrayBuffer, i.e. binary */
    static const struct {
        const char *hex, *bytes;
    } bin_cases[] = {
        {"c7010007", "07"},
        {"c70000", ""},
        {"c708000001020304050607", "0001020304050607"},
        {"c80002000102", "0102"},
        {"c9000000010009", "09"},
        {"c401ff", "ff"},
        {"c50000", ""},
        {"c60000000100", "00"},
    };
    for (size_t i = 0; i < sizeof bin_cases / sizeof bin_cases[0]; i++) {
        bins b = {0};
        eio_buf in = EIO_BUF_INIT;
        unhex(bin_cases[i].hex, &in);
        cJSON *v = NULL;
        CHECK_EQ_INT(sio_msgpack_decode(in.data, in.len, 0, on_bin, &b, &v, NULL), 0);
        char *got = b.n == 1 ? tohex(b.data[0], b.len[0]) : NULL;
        CHECK(got && strcmp(got, bin_cases[i].bytes) == 0);
        CHECK(v && get_bin(v, &(size_t){0}, &b) != NULL);
        free(got);
        cJSON_Delete(v);
        eio_buf_free(&in);
        bins_free(&b);
    }
    /* what notepack gives as [type, Buffer]: not supported */
    static const char *unsupported[] = {
        "d5000102",
        "d60001020304",
        "d80000000000000000000000000000000000",
        "d40501",
        "d4ff00",
        "d5ff0000",
        "d60500000000",
        "d7050000000000000000",
        "c8000cff000000000000000000000000",
        "c9000000040100000000",
        "c7010501",
        "c70cfe000000000000000000000000",
    };
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
        CHECK_DECODE_ERR(unsupported[i], "unsupported ext");
}

/* ------------------------------------------------------------------------ */
/* Errors and hostile input.                                                */

static void test_decode_errors(void)
{
    CHECK_DECODE_ERR("", "truncated");
    CHECK_DECODE_ERR("c1", "bad type byte");
    CHECK_DECODE_ERR("91c1", "bad type byte");
    CHECK_DECODE_ERR("c0c0", "trailing bytes");
    CHECK_DECODE_ERR("9100ff", "trailing bytes");
    CHECK_DECODE_ERR("92c0", "truncated");
    CHECK_DECODE_ERR("81a0", "truncated");
    CHECK_DECODE_ERR("81a161", "truncated");
    /* bin with no on_bin, and a refusing on_bin */
    eio_buf in = EIO_BUF_INIT;
    unhex("92c40101c70100ff", &in);
    cJSON *v = (cJSON *)1;
    const char *err = NULL;
    CHECK_EQ_INT(sio_msgpack_decode(in.data, in.len, 0, NULL, NULL, &v, &err), -1);
    CHECK(v == NULL && err && strcmp(err, "unexpected bin") == 0);
    bins b = {0};
    b.refuse = 1;
    CHECK_EQ_INT(sio_msgpack_decode(in.data, in.len, 0, on_bin, &b, &v, &err), -1);
    CHECK(v == NULL && err && strcmp(err, "bin rejected") == 0);
    b.refuse = 0;
    unhex("93c40101c70100ffc1", &in); /* two placeholders made, then an error: freed */
    CHECK_EQ_INT(sio_msgpack_decode(in.data, in.len, 0, on_bin, &b, &v, &err), -1);
    CHECK(v == NULL && err && strcmp(err, "bad type byte") == 0);
    CHECK_EQ_INT(b.n, 2);
    bins_free(&b);
    /* NULL data with length 0, and err may be NULL */
    CHECK_EQ_INT(sio_msgpack_decode(NULL, 0, 0, NULL, NULL, &v, NULL), -1);
    CHECK(v == NULL);
    eio_buf_free(&in);
}

/* Every proper prefix of a valid message is "truncated"; every byte by
 * itself at a time, so ASan sees reads one past the end. */
static void test_decode_every_prefix(void)
{
    static const char *messages[] = {
        NULL, /* broadcast_hex */
        NULL, /* request_hex */
        "dc0003da0003616263c5000201028f0000010102020303040405050606070708080909"
        "0a0a0b0b0c0c0d0d0e0e",
        "94cf0020000000000001d3ffdffffffffffffdcb400921fb54442d18ca3fc00000",
        "95d6ff00000000d7ff1d5353006b0fa014c70cff3b8b87c0ffffffffffffffffd70000000000000003e8"
        "c7010007",
        "de0002a161d40000a162db00000003787878",
    };
    messages[0] = broadcast_hex;
    messages[1] = request_hex;
    for (size_t m = 0; m < sizeof messages / sizeof messages[0]; m++) {
        eio_buf in = EIO_BUF_INIT;
        unhex(messages[m], &in);
        bins b = {0};
        cJSON *v = NULL;
        CHECK_EQ_INT(sio_msgpack_decode(in.data, in.len, 0, on_bin, &b, &v, NULL), 0);
        cJSON_Delete(v);
        for (size_t n = 0; n < in.len; n++) {
            uint8_t *copy = eio_malloc(n ? n : 1); /* exactly n bytes: ASan catches overreads */
            memcpy(copy, in.data, n);
            const char *err = NULL;
            int rc = sio_msgpack_decode(n ? copy : NULL, n, 0, on_bin, &b, &v, &err);
            CHECK_EQ_INT(rc, -1);
            CHECK(v == NULL && err && strcmp(err, "truncated") == 0);
            free(copy);
        }
        bins_free(&b);
        eio_buf_free(&in);
    }
}

/* Declared lengths far beyond the input fail before anything is allocated
 * for them (under ASan a 128 GiB malloc would abort the test). */
static void test_huge_lengths(void)
{
    static const char *cases[] = {
        "ddffffffff",
        "dfffffffff",
        "dcffff",
        "deffff",
        "dbffffffff61",
        "daffff",
        "d9ff61",
        "c6ffffffff00",
        "c5ffff",
        "c9ffffffff00",
        "c8ffff00",
        "c7ff00",
        "9191919191ddffffffff",
        "81a161dfffffffff",
        "dd0000ffff00000000",             /* 65535 elements declared, 4 present */
        "df7fffffff01010202030304040505", /* 2^31-1 entries declared, 5 present */
        "dd00000002c0",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_DECODE_ERR(cases[i], "truncated");
    /* map32 declaring 4 billion entries followed by 1000 real ones */
    eio_buf in = EIO_BUF_INIT;
    unhex("dfffffffff", &in);
    for (int i = 0; i < 1000; i++) {
        eio_buf_append_byte(&in, 0x01);
        eio_buf_append_byte(&in, 0xc0);
    }
    cJSON *v = NULL;
    const char *err = NULL;
    CHECK_EQ_INT(sio_msgpack_decode(in.data, in.len, 0, NULL, NULL, &v, &err), -1);
    CHECK(v == NULL && err && strcmp(err, "truncated") == 0);
    /* array16 declaring 65535, holding 65534 */
    unhex("dcffff", &in);
    for (int i = 0; i < 65534; i++)
        eio_buf_append_byte(&in, 0xc0);
    CHECK_EQ_INT(sio_msgpack_decode(in.data, in.len, 0, NULL, NULL, &v, &err), -1);
    CHECK(v == NULL && err && strcmp(err, "truncated") == 0);
    eio_buf_append_byte(&in, 0xc0);
    CHECK_EQ_INT(sio_msgpack_decode(in.data, in.len, 0, NULL, NULL, &v, &err), 0);
    CHECK(v && cJSON_GetArraySize(v) == 65535);
    cJSON_Delete(v);
    eio_buf_free(&in);
}

/* n nested containers (arrays, or maps keyed ""), innermost nil. */
static void nested(eio_buf *in, size_t n, int maps)
{
    eio_buf_reset(in);
    for (size_t i = 0; i < n; i++) {
        eio_buf_append_byte(in, maps ? 0x81 : 0x91);
        if (maps)
            eio_buf_append_byte(in, 0xa0);
    }
    eio_buf_append_byte(in, 0xc0);
}

static int decode_depth(size_t n, int maps, int max_depth, const char **err)
{
    eio_buf in = EIO_BUF_INIT;
    nested(&in, n, maps);
    cJSON *v = NULL;
    int rc = sio_msgpack_decode(in.data, in.len, max_depth, NULL, NULL, &v, err);
    if (rc == 0) {
        /* re-encodes within the same limit */
        eio_buf out = EIO_BUF_INIT;
        if (sio_msgpack_encode(v, max_depth, NULL, NULL, &out) != 0 || out.len != in.len ||
            memcmp(out.data, in.data, in.len) != 0)
            rc = 99;
        eio_buf_free(&out);
    }
    sio_json_delete(v);
    eio_buf_free(&in);
    return rc;
}

static void test_depth(void)
{
    const char *err = NULL;
    for (int maps = 0; maps < 2; maps++) {
        CHECK_EQ_INT(decode_depth(0, maps, 1, &err), 0);
        CHECK_EQ_INT(decode_depth(1, maps, 1, &err), 0);
        CHECK_EQ_INT(decode_depth(2, maps, 1, &err), -1);
        CHECK(err && strcmp(err, "too deep") == 0);
        CHECK_EQ_INT(decode_depth(5, maps, 5, &err), 0);
        CHECK_EQ_INT(decode_depth(6, maps, 5, &err), -1);
        CHECK_EQ_INT(decode_depth(32, maps, 0, &err), 0); /* the default */
        CHECK_EQ_INT(decode_depth(33, maps, 0, &err), -1);
        CHECK(err && strcmp(err, "too deep") == 0);
        CHECK_EQ_INT(decode_depth(33, maps, -7, &err), -1);
        CHECK_EQ_INT(decode_depth(33, maps, 40, &err), 0);     /* deeper than libmsgpack-c's 32 */
        CHECK_EQ_INT(decode_depth(1000, maps, 5000, &err), 0); /* lowered to the limit */
        CHECK_EQ_INT(decode_depth(1001, maps, 5000, &err), -1);
        CHECK(err && strcmp(err, "too deep") == 0);
    }
    /* a million nested arrays: refused at the limit, without recursing further */
    eio_buf in = EIO_BUF_INIT;
    nested(&in, 1000000, 0);
    cJSON *v = NULL;
    CHECK_EQ_INT(sio_msgpack_decode(in.data, in.len, 5000, NULL, NULL, &v, &err), -1);
    CHECK(v == NULL && err && strcmp(err, "too deep") == 0);
    eio_buf_free(&in);
}

/* Round trips of trees built from JSON (no binary): JSON -> msgpack -> JSON. */
static void test_round_trips(void)
{
    static const char *texts[] = {
        "[]",
        "{}",
        "\"\"",
        "[1,-1,0.5,1e300,-1e-300,9007199254740993,\"\\u0000\",\"\\ud83d\\ude00\",null,true,false]",
        "{\"a\":[{\"b\":[{\"c\":{}}]}],\"2\":\"x\",\"1\":\"y\",\"__proto__\":1}",
        "[\"chat\",{\"text\":\"hi\",\"n\":[1,2,3],\"deep\":{\"x\":{\"y\":{\"z\":[[[]]]}}}}]",
    };
    static const char *expected[] = {
        "[]",
        "{}",
        "\"\"",
        ("[1,-1,0.5,1e+300,-1e-300,9007199254740992,\"\\u0000\",\"\xf0\x9f\x98\x80\",null,"
         "true,false]"),
        "{\"1\":\"y\",\"2\":\"x\",\"a\":[{\"b\":[{\"c\":{}}]}]}", /* __proto__ is dropped */
        "[\"chat\",{\"text\":\"hi\",\"n\":[1,2,3],\"deep\":{\"x\":{\"y\":{\"z\":[[[]]]}}}}]",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        cJSON *v = json(texts[i]);
        eio_buf out = EIO_BUF_INIT;
        CHECK_EQ_INT(sio_msgpack_encode(v, 0, NULL, NULL, &out), 0);
        cJSON *back = NULL;
        CHECK_EQ_INT(sio_msgpack_decode(out.data, out.len, 0, NULL, NULL, &back, NULL), 0);
        char *text = back ? sio_json_print(back, NULL) : NULL;
        if (!text || strcmp(text, expected[i]) != 0)
            fprintf(stderr, "  %s -> %s\n", texts[i], text ? text : "error");
        CHECK(text && strcmp(text, expected[i]) == 0);
        free(text);
        cJSON_Delete(back);
        cJSON_Delete(v);
        eio_buf_free(&out);
    }
}

int main(void)
{
    RUN_TEST(test_broadcast_vector);
    RUN_TEST(test_request_vector);
    RUN_TEST(test_with_sio_args);
    RUN_TEST(test_encode_integers);
    RUN_TEST(test_encode_beyond_int64);
    RUN_TEST(test_encode_floats);
    RUN_TEST(test_string_lengths);
    RUN_TEST(test_string_bytes);
    RUN_TEST(test_bin_lengths);
    RUN_TEST(test_container_lengths);
    RUN_TEST(test_encode_nested_and_order);
    RUN_TEST(test_encode_undefined);
    RUN_TEST(test_encode_failures);
    RUN_TEST(test_decode_integers);
    RUN_TEST(test_decode_utf8);
    RUN_TEST(test_decode_maps);
    RUN_TEST(test_decode_undefined);
    RUN_TEST(test_decode_timestamps);
    RUN_TEST(test_decode_ext);
    RUN_TEST(test_decode_errors);
    RUN_TEST(test_decode_every_prefix);
    RUN_TEST(test_huge_lengths);
    RUN_TEST(test_depth);
    RUN_TEST(test_round_trips);
    return TEST_SUMMARY();
}
