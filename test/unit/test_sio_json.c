/*
 * Unit tests for sio_json: what JSON.parse accepts and rejects, and what
 * JSON.stringify prints. The expected outputs in the tables were produced by
 * Node.js 20 (JSON.stringify(JSON.parse(input)), String(number)).
 * Threading: single thread. Ownership: every tree is freed by its test.
 */
#include "socketio/sio_json.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test/unit/test.h"

typedef struct json_case {
    const char *name;
    const char *input;
    size_t len;
    const char *expected; /* JSON.stringify(JSON.parse(input)), NULL if JSON.parse throws */
} json_case;

static const json_case json_cases[] = {
    {"zero", "0", 1, "0"},
    {"minus zero", "-0", 2, "0"},
    {"one", "1", 1, "1"},
    {"negative", "-1", 2, "-1"},
    {"fraction", "1.5", 3, "1.5"},
    {"1e21 exponent form", "1e21", 4, "1e+21"},
    {"upper E plus", "1E+2", 4, "100"},
    {"small exponent", "1e-7", 4, "1e-7"},
    {"0.000001", "0.000001", 8, "0.000001"},
    {"123e-20", "123e-20", 7, "1.23e-18"},
    {"overflow to Infinity", "1e400", 5, "null"},
    {"negative overflow", "-1e400", 6, "null"},
    {"underflow to zero", "1e-400", 6, "0"},
    {"2^53+1 rounds", "9007199254740993", 16, "9007199254740992"},
    {"min subnormal", "5e-324", 6, "5e-324"},
    {"max double", "1.7976931348623157e308", 22, "1.7976931348623157e+308"},
    {"0.1", "0.1", 3, "0.1"},
    {"long fraction", "3.14159265358979323846264338327950288", 37, "3.141592653589793"},
    {"big integer", "123456789012345678901234567890", 30, "1.2345678901234568e+29"},
    {"negative fraction exp", "-12.5e-3", 8, "-0.0125"},
    {"zero with exponent", "0e0", 3, "0"},
    {"zero fraction", "0.0", 3, "0"},
    {"2^53", "9007199254740992", 16, "9007199254740992"},
    {"string", "\042abc\042", 5, "\042abc\042"},
    {"escaped NUL", "\042\134u0000\042", 8, "\042\134u0000\042"},
    {"NUL inside", "\042a\134u0000b\042", 10, "\042a\134u0000b\042"},
    {"lone high surrogate", "\042\134ud800\042", 8, "\042\134ud800\042"},
    {"swapped surrogates", "\042\134udc00\134ud800\042", 14, "\042\134udc00\134ud800\042"},
    {"surrogate pair", "\042\134ud83d\134ude00\042", 14, "\042\360\237\230\200\042"},
    {"surrogate pair upper hex", "\042\134uD83D\134uDE00\042", 14, "\042\360\237\230\200\042"},
    {"high then raw char", "\042\134ud83dx\042", 9, "\042\134ud83dx\042"},
    {"high high low", "\042\134ud83d\134ud83d\134ude00\042", 20,
     "\042\134ud83d\360\237\230\200\042"},
    {"escaped e acute", "\042\134u00e9\042", 8, "\042\303\251\042"},
    {"raw e acute", "\042\303\251\042", 4, "\042\303\251\042"},
    {"raw U+2028", "\042\342\200\250\042", 5, "\042\342\200\250\042"},
    {"raw U+2029", "\042\342\200\251\042", 5, "\042\342\200\251\042"},
    {"raw DEL", "\042\177\042", 3, "\042\177\042"},
    {"escaped slash", "\042\134/\042", 4, "\042/\042"},
    {"short escapes", "\042\134b\134f\134n\134r\134t\042", 12, "\042\134b\134f\134n\134r\134t\042"},
    {"escaped control", "\042\134u0001\042", 8, "\042\134u0001\042"},
    {"escaped 0x1f", "\042\134u001f\042", 8, "\042\134u001f\042"},
    {"escaped BOM", "\042\134uFEFF\042", 8, "\042\357\273\277\042"},
    {"raw emoji", "\042\360\237\230\200\042", 6, "\042\360\237\230\200\042"},
    {"escaped quote", "\042\134\042\042", 4, "\042\134\042\042"},
    {"escaped backslash", "\042\134\134\042", 4, "\042\134\134\042"},
    {"escaped U+FFFF", "\042\134uffff\042", 8, "\042\357\277\277\042"},
    {"raw BOM inside string", "\042\357\273\277\042", 5, "\042\357\273\277\042"},
    {"whitespace all four", " \011\012\015[ 1 , 2 ]\015\012 ", 16, "[1,2]"},
    {"space around colon", "{\042a\042 : 1}", 9, "{\042a\042:1}"},
    {"true", "true", 4, "true"},
    {"false", "false", 5, "false"},
    {"null", "null", 4, "null"},
    {"duplicate key last wins", "{\042a\042:1,\042a\042:2}", 13, "{\042a\042:2}"},
    {"duplicate key keeps first place", "{\042a\042:1,\042b\042:2,\042a\042:3}", 19,
     "{\042a\042:3,\042b\042:2}"},
    {"index keys first", "{\042b\042:1,\0422\042:2,\0421\042:3,\042a\042:4}", 25,
     "{\0421\042:3,\0422\042:2,\042b\042:1,\042a\042:4}"},
    {"index key limit", "{\042a\042:0,\0424294967295\042:2,\0424294967294\042:1,\0421\042:3}", 43,
     "{\0421\042:3,\0424294967294\042:1,\042a\042:0,\0424294967295\042:2}"},
    {"non-canonical index", "{\04201\042:1,\0421\042:2,\042-1\042:3,\0421.0\042:4}", 29,
     "{\0421\042:2,\04201\042:1,\042-1\042:3,\0421.0\042:4}"},
    {"duplicate index key", "{\0421\042:1,\042a\042:2,\0421\042:3}", 19,
     "{\0421\042:3,\042a\042:2}"},
    {"case-sensitive keys", "{\042A\042:1,\042a\042:2}", 13, "{\042A\042:1,\042a\042:2}"},
    {"__proto__ key", "{\042__proto__\042:1}", 15, "{\042__proto__\042:1}"},
    {"empty key", "{\042\042:1}", 6, "{\042\042:1}"},
    {"NUL key", "{\042\134u0000\042:1,\042\134u0000a\042:2}", 24,
     "{\042\134u0000\042:1,\042\134u0000a\042:2}"},
    {"nested arrays", "[[[]]]", 6, "[[[]]]"},
    {"nested objects", "{\042a\042:{\042a\042:{}}}", 14, "{\042a\042:{\042a\042:{}}}"},
    {"empty array", "[]", 2, "[]"},
    {"empty object", "{}", 2, "{}"},
    {"duplicate nested object replaced", "{\042x\042:{\042y\042:[1,2]},\042x\042:{\042z\042:true}}",
     32, "{\042x\042:{\042z\042:true}}"},
    {"mixed", "[1,\042a\042,true,false,null,{\042k\042:[{}]}]", 34,
     "[1,\042a\042,true,false,null,{\042k\042:[{}]}]"},
    {"lone surrogate key", "{\042\134udfff\042:1}", 12, "{\042\134udfff\042:1}"},
    {"empty", "", 0, NULL},
    {"only space", " ", 1, NULL},
    {"leading zero", "01", 2, NULL},
    {"trailing dot", "1.", 2, NULL},
    {"leading dot", ".5", 2, NULL},
    {"plus sign", "+1", 2, NULL},
    {"lone minus", "-", 1, NULL},
    {"empty exponent", "1e", 2, NULL},
    {"exponent sign only", "1e+", 3, NULL},
    {"hex number", "0x10", 4, NULL},
    {"NaN", "NaN", 3, NULL},
    {"Infinity", "Infinity", 8, NULL},
    {"-Infinity", "-Infinity", 9, NULL},
    {"tru", "tru", 3, NULL},
    {"True", "True", 4, NULL},
    {"nul", "nul", 3, NULL},
    {"unterminated string", "\042abc", 4, NULL},
    {"bad escape x", "\042\134x\042", 4, NULL},
    {"bad hex G", "\042\134u12G4\042", 8, NULL},
    {"bad hex ZZZZ", "\042\134uZZZZ\042", 8, NULL},
    {"short hex", "\042\134u12\042", 6, NULL},
    {"escaped single quote", "\042\134'\042", 4, NULL},
    {"raw tab in string", "\042\011\042", 3, NULL},
    {"raw NUL in string", "\042\000\042", 3, NULL},
    {"raw newline in string", "\042a\012b\042", 5, NULL},
    {"raw 0x1f in string", "\042\037\042", 3, NULL},
    {"trailing comma array", "[1,]", 4, NULL},
    {"trailing comma object", "{\042a\042:1,}", 8, NULL},
    {"leading comma", "[,1]", 4, NULL},
    {"comma only object", "{,}", 3, NULL},
    {"key without value", "{\042a\042}", 5, NULL},
    {"colon without value", "{\042a\042:}", 6, NULL},
    {"unquoted key", "{a:1}", 5, NULL},
    {"single-quoted key", "{'a':1}", 7, NULL},
    {"single-quoted string", "['a']", 5, NULL},
    {"leading BOM", "\357\273\2771", 4, NULL},
    {"NBSP whitespace", "\302\2401", 3, NULL},
    {"two values", "1 2", 3, NULL},
    {"trailing garbage", "[1] x", 5, NULL},
    {"missing comma", "[1 2]", 5, NULL},
    {"missing comma object", "{\042a\042:1 \042b\042:2}", 13, NULL},
    {"line comment", "//c\0121", 5, NULL},
    {"block comment", "/*c*/1", 6, NULL},
    {"open bracket", "[", 1, NULL},
    {"close bracket", "]", 1, NULL},
    {"open brace", "{", 1, NULL},
    {"vertical tab", "\0131", 2, NULL},
    {"form feed", "\0141", 2, NULL},
    {"undefined", "undefined", 9, NULL},
    {"hole", "[1,,2]", 6, NULL},
    {"capital U escape", "\042\134U0041\042", 8, NULL},
    {"underscore digits", "1_000", 5, NULL},
    {"minus space", "- 1", 3, NULL},
    {"double zero", "00", 2, NULL},
    {"minus leading zero", "-01", 3, NULL},
    {"dot exponent", "1.e5", 4, NULL},
    {"fraction exponent", "1e5.5", 5, NULL},
    {"NUL after value", "1\000", 2, NULL},
    {"U+2028 as whitespace", "\342\200\2501", 4, NULL},
    {"unclosed nested", "[[1]", 4, NULL},
    {"object with array key", "{[1]:1}", 7, NULL},
    {"number key", "{1:1}", 5, NULL},
    {"truex", "truex", 5, NULL},
    {"raw NUL", "\000", 1, NULL},
    {"backslash outside", "\134\042a\042", 4, NULL},
};

/* Parses, prints, and compares with the Node output. */
static void test_json_parse_table(void)
{
    size_t accepted = 0, rejected = 0;
    for (size_t i = 0; i < sizeof json_cases / sizeof *json_cases; i++) {
        const json_case *c = &json_cases[i];
        sio_json_error err;
        cJSON *t = sio_json_parse(c->input, c->len, 0, &err);
        if (!c->expected) {
            if (t) {
                test_failures_in_current++;
                fprintf(stderr, "  case \"%s\": accepted, JSON.parse rejects\n", c->name);
            } else {
                CHECK(err.code < 0);
                CHECK(err.message != NULL);
                CHECK(err.offset <= c->len);
                rejected++;
            }
            sio_json_delete(t);
            continue;
        }
        if (!t) {
            test_failures_in_current++;
            fprintf(stderr, "  case \"%s\": rejected (%s at %zu), JSON.parse accepts\n", c->name,
                    err.message, err.offset);
            continue;
        }
        accepted++;
        size_t len;
        char *out = sio_json_print(t, &len);
        if (len != strlen(c->expected) || memcmp(out, c->expected, len) != 0) {
            test_failures_in_current++;
            fprintf(stderr, "  case \"%s\": printed %s, JSON.stringify gives %s\n", c->name, out,
                    c->expected);
        }
        /* The printed text parses back to the same text. */
        cJSON *again = sio_json_parse(out, len, 0, NULL);
        CHECK(again != NULL);
        if (again) {
            size_t len2;
            char *out2 = sio_json_print(again, &len2);
            CHECK(len2 == len && memcmp(out, out2, len) == 0);
            free(out2);
        }
        sio_json_delete(again);
        free(out);
        sio_json_delete(t);
    }
    CHECK(accepted >= 60);
    CHECK(rejected >= 60);
}

/* What cJSON gets wrong, one by one, checked on the tree itself. */
static void test_json_cjson_deviations(void)
{
    /* "\u0000" keeps the string's length: stored as C0 80. */
    cJSON *t = sio_json_parse("\"a\\u0000b\"", 10, 0, NULL);
    CHECK(t && cJSON_IsString(t));
    if (t) {
        CHECK(strcmp(t->valuestring, "a\xC0\x80"
                                     "b") == 0);
        eio_buf b = EIO_BUF_INIT;
        CHECK_EQ_INT(sio_json_string_bytes(t->valuestring, &b), 3);
        CHECK(b.len == 3 && memcmp(b.data, "a\0b", 3) == 0);
        eio_buf_free(&b);
    }
    sio_json_delete(t);

    /* Lone surrogates are kept, as WTF-8. */
    t = sio_json_parse("[\"\\ud800\",\"\\udfff\"]", 19, 0, NULL);
    CHECK(t && cJSON_GetArraySize(t) == 2);
    if (t) {
        CHECK(strcmp(t->child->valuestring, "\xED\xA0\x80") == 0);
        CHECK(strcmp(t->child->next->valuestring, "\xED\xBF\xBF") == 0);
    }
    sio_json_delete(t);

    /* A pair becomes one 4-byte character. */
    t = sio_json_parse("\"\\ud83d\\ude00\"", 14, 0, NULL);
    CHECK(t && strcmp(t->valuestring, "\xF0\x9F\x98\x80") == 0);
    sio_json_delete(t);

    /* Bad hex, raw control characters, 01 and "1." are errors. */
    CHECK(sio_json_parse("\"\\uZZZZ\"", 8, 0, NULL) == NULL);
    CHECK(sio_json_parse("\"a\x01\"", 4, 0, NULL) == NULL);
    CHECK(sio_json_parse("01", 2, 0, NULL) == NULL);
    CHECK(sio_json_parse("1.", 2, 0, NULL) == NULL);

    /* Duplicate keys: the last value wins, in the first key's place. */
    t = sio_json_parse("{\"a\":1,\"b\":2,\"a\":3}", 19, 0, NULL);
    CHECK(t && cJSON_GetArraySize(t) == 2);
    if (t) {
        CHECK(strcmp(t->child->string, "a") == 0 && t->child->valuedouble == 3);
        CHECK(strcmp(t->child->next->string, "b") == 0);
        CHECK(t->child->prev == t->child->next); /* cJSON's tail link */
    }
    sio_json_delete(t);

    /* Keys are case-sensitive. */
    t = sio_json_parse("{\"A\":1,\"a\":2}", 13, 0, NULL);
    CHECK(t && cJSON_GetArraySize(t) == 2);
    CHECK(sio_json_get(t, "a") && sio_json_get(t, "a")->valuedouble == 2);
    CHECK(sio_json_get(t, "A") && sio_json_get(t, "A")->valuedouble == 1);
    CHECK(sio_json_get(t, "b") == NULL);
    sio_json_delete(t);

    /* The input need not be NUL-terminated: only len bytes are read. */
    char buf[3] = {'[', ']', 'x'};
    t = sio_json_parse(buf, 2, 0, NULL);
    CHECK(t && cJSON_IsArray(t));
    sio_json_delete(t);
}

static void test_json_invalid_utf8(void)
{
    static const struct {
        const char *s;
        size_t len;
    } bad[] = {
        {"\"\xFF\"", 3},             /* never valid */
        {"\"\xC0\x80\"", 4},         /* overlong NUL */
        {"\"\xC1\xBF\"", 4},         /* overlong */
        {"\"\xE0\x80\xAF\"", 5},     /* overlong 3-byte */
        {"\"\xED\xA0\x80\"", 5},     /* raw surrogate */
        {"\"\xF4\x90\x80\x80\"", 6}, /* above U+10FFFF */
        {"\"\xE2\x82\"", 4},         /* truncated */
        {"\"\x80\"", 3},             /* lone continuation byte */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sio_json_error err;
        CHECK(sio_json_parse(bad[i].s, bad[i].len, 0, &err) == NULL);
        CHECK_EQ_INT(err.code, SIO_JSON_ERR_UTF8);
        CHECK_EQ_INT(err.offset, 1);
    }
    /* Outside strings any non-ASCII byte is a syntax error. */
    sio_json_error err;
    CHECK(sio_json_parse("\xC3\xA9", 2, 0, &err) == NULL);
    CHECK_EQ_INT(err.code, SIO_JSON_ERR_SYNTAX);
}

/* The 8-bytes-a-step scans (parse_string, print_string): one special
 * byte or sequence at every position of strings of 0-40 plain bytes, so
 * that it falls in every lane of a word and in the byte-wise tail. */
static void test_json_string_every_position(void)
{
    static const struct {
        const char *json;  /* as written in the JSON text */
        const char *value; /* decoded (C0 80 for U+0000) */
        const char *print; /* as JSON.stringify writes it */
        int error;         /* the parse fails with this code */
    } specials[] = {
        {"\\\"", "\"", "\\\"", 0},
        {"\\\\", "\\", "\\\\", 0},
        {"\\n", "\n", "\\n", 0},
        {"\\u0000", "\xC0\x80", "\\u0000", 0},
        {"\\u001f", "\x1F", "\\u001f", 0},
        {"\xC3\xA9", "\xC3\xA9", "\xC3\xA9", 0},
        {"\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80", 0},
        {"\\ud800", "\xED\xA0\x80", "\\ud800", 0},
        {"\x7F", "\x7F", "\x7F", 0},
        {"\x01", NULL, NULL, SIO_JSON_ERR_SYNTAX},
        {"\xFF", NULL, NULL, SIO_JSON_ERR_UTF8},
        {"\xC3", NULL, NULL, SIO_JSON_ERR_UTF8},
    };
    char in[128], want[128], printed[128];
    for (size_t sp = 0; sp < sizeof specials / sizeof *specials; sp++) {
        for (size_t len = 0; len <= 40; len++) {
            for (size_t at = 0; at <= len; at++) {
                size_t n = 0, w = 0, pn = 0;
                in[n++] = '"';
                printed[pn++] = '"';
                for (size_t i = 0; i < len; i++) {
                    if (i == at) {
                        size_t k = strlen(specials[sp].json);
                        memcpy(in + n, specials[sp].json, k);
                        n += k;
                        if (specials[sp].value) {
                            k = strlen(specials[sp].value);
                            memcpy(want + w, specials[sp].value, k);
                            w += k;
                            k = strlen(specials[sp].print);
                            memcpy(printed + pn, specials[sp].print, k);
                            pn += k;
                        }
                    }
                    char c = (char)('a' + (i % 26));
                    in[n++] = c;
                    want[w++] = c;
                    printed[pn++] = c;
                }
                in[n++] = '"';
                printed[pn++] = '"';
                want[w] = 0;
                int has = at < len; /* at == len: no special, plain only */
                sio_json_error err;
                cJSON *t = sio_json_parse(in, n, 0, &err);
                if (has && specials[sp].error) {
                    CHECK(t == NULL);
                    if (!t)
                        CHECK_EQ_INT(err.code, specials[sp].error);
                    sio_json_delete(t);
                    continue;
                }
                CHECK(t != NULL && cJSON_IsString(t));
                if (!t)
                    continue;
                if (!has) {
                    w = len;
                    pn = len + 2;
                    want[w] = 0;
                    memmove(printed + 1, want, len);
                    printed[len + 1] = '"';
                }
                CHECK(strcmp(t->valuestring, want) == 0);
                size_t olen;
                char *out = sio_json_print(t, &olen);
                CHECK(olen == pn && memcmp(out, printed, pn) == 0);
                free(out);
                sio_json_delete(t);
            }
        }
    }
}

static void test_json_error_details(void)
{
    sio_json_error err;
    CHECK(sio_json_parse("[1,]", 4, 0, &err) == NULL);
    CHECK_EQ_INT(err.code, SIO_JSON_ERR_SYNTAX);
    CHECK_EQ_INT(err.offset, 3);
    CHECK(sio_json_parse("{\"a\":1 x", 8, 0, &err) == NULL);
    CHECK_EQ_INT(err.offset, 7);
    CHECK(sio_json_parse("\"abc", 4, 0, &err) == NULL);
    CHECK_EQ_INT(err.offset, 4);
    CHECK(sio_json_parse("", 0, 0, &err) == NULL);
    CHECK_EQ_INT(err.offset, 0);
    CHECK(strcmp(err.message, "unexpected end of JSON input") == 0);
    CHECK(sio_json_parse(NULL, 0, 0, &err) == NULL);
    CHECK(sio_json_parse("[1,2", 4, 0, NULL) == NULL); /* err may be NULL */
    CHECK(strcmp(sio_json_strerror(SIO_JSON_ERR_DEPTH), "JSON nested too deeply") == 0);
    CHECK(sio_json_strerror(-99) != NULL);
    CHECK(sio_json_strerror(SIO_JSON_OK) != NULL);
}

static char *nested(const char *open, const char *close, int depth, size_t *len)
{
    size_t lo = strlen(open), lc = strlen(close);
    char *s = malloc((size_t)depth * (lo + lc) + 2);
    size_t n = 0;
    for (int i = 0; i < depth; i++) {
        memcpy(s + n, open, lo);
        n += lo;
    }
    s[n++] = '1';
    for (int i = 0; i < depth; i++) {
        memcpy(s + n, close, lc);
        n += lc;
    }
    s[n] = 0;
    *len = n;
    return s;
}

static void test_json_depth_limit(void)
{
    size_t len;
    sio_json_error err;
    char *s = nested("[", "]", SIO_JSON_DEFAULT_MAX_DEPTH, &len);
    cJSON *t = sio_json_parse(s, len, 0, &err);
    CHECK(t != NULL);
    sio_json_delete(t);
    free(s);

    s = nested("[", "]", SIO_JSON_DEFAULT_MAX_DEPTH + 1, &len);
    CHECK(sio_json_parse(s, len, 0, &err) == NULL);
    CHECK_EQ_INT(err.code, SIO_JSON_ERR_DEPTH);
    CHECK_EQ_INT(err.offset, SIO_JSON_DEFAULT_MAX_DEPTH);
    free(s);

    s = nested("{\"a\":", "}", 3, &len);
    t = sio_json_parse(s, len, 3, NULL);
    CHECK(t != NULL);
    sio_json_delete(t);
    CHECK(sio_json_parse(s, len, 2, &err) == NULL);
    CHECK_EQ_INT(err.code, SIO_JSON_ERR_DEPTH);
    free(s);

    /* Depth 1: a flat array only. */
    t = sio_json_parse("[1,2]", 5, 1, NULL);
    CHECK(t != NULL);
    sio_json_delete(t);
    CHECK(sio_json_parse("[[]]", 4, 1, NULL) == NULL);

    /* Values above the cap are lowered to it; a million brackets fail fast. */
    s = nested("[", "]", 1000000, &len);
    CHECK(sio_json_parse(s, len, 1 << 30, &err) == NULL);
    CHECK_EQ_INT(err.code, SIO_JSON_ERR_DEPTH);
    CHECK_EQ_INT(err.offset, SIO_JSON_MAX_DEPTH_LIMIT);
    free(s);
    s = nested("[", "]", SIO_JSON_MAX_DEPTH_LIMIT, &len);
    t = sio_json_parse(s, len, SIO_JSON_MAX_DEPTH_LIMIT, NULL);
    CHECK(t != NULL);
    sio_json_delete(t);
    free(s);
}

/* Many keys: duplicates settled by sorting, JS order kept. */
static void test_json_many_keys(void)
{
    eio_buf b = EIO_BUF_INIT;
    eio_buf_append_byte(&b, '{');
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 500; i++) {
            char tmp[64];
            snprintf(tmp, sizeof tmp, "%s\"k%d\":%d", (round || i) ? "," : "", i, round * 1000 + i);
            eio_buf_append_str(&b, tmp);
        }
    }
    eio_buf_append_str(&b, ",\"7\":1,\"3\":2}");
    cJSON *t = sio_json_parse(b.data, b.len, 0, NULL);
    CHECK(t != NULL);
    if (t) {
        CHECK_EQ_INT(cJSON_GetArraySize(t), 502);
        const cJSON *c = t->child;
        CHECK(strcmp(c->string, "3") == 0);
        c = c->next;
        CHECK(strcmp(c->string, "7") == 0);
        c = c->next;
        int i = 0, ok = 1;
        for (; c; c = c->next, i++) {
            char key[16];
            snprintf(key, sizeof key, "k%d", i);
            if (strcmp(c->string, key) != 0 || c->valuedouble != 1000 + i)
                ok = 0;
        }
        CHECK(ok);
        CHECK_EQ_INT(i, 500);
        CHECK(t->child->prev && t->child->prev->next == NULL);
    }
    sio_json_delete(t);

    /* 20000 distinct keys parse quickly (no quadratic step). */
    eio_buf_reset(&b);
    eio_buf_append_byte(&b, '{');
    for (int i = 0; i < 20000; i++) {
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%s\"key%05d\":[%d]", i ? "," : "", 19999 - i, i);
        eio_buf_append_str(&b, tmp);
    }
    eio_buf_append_byte(&b, '}');
    t = sio_json_parse(b.data, b.len, 0, NULL);
    CHECK(t && cJSON_GetArraySize(t) == 20000);
    CHECK(t && strcmp(t->child->string, "key19999") == 0);
    sio_json_delete(t);
    eio_buf_free(&b);
}

typedef struct number_case {
    uint64_t bits;
    const char *expected; /* String(v) in Node */
} number_case;

static const number_case number_cases[] = {
    {0x3fb999999999999aULL, "0.1"},
    {0x3fc999999999999aULL, "0.2"},
    {0x3fd3333333333334ULL, "0.30000000000000004"},
    {0x3fd5555555555555ULL, "0.3333333333333333"},
    {0x3fe5555555555555ULL, "0.6666666666666666"},
    {0x444b1ae4d6e2ef50ULL, "1e+21"},
    {0x3e7ad7f29abcaf48ULL, "1e-7"},
    {0x3eb0c6f7a0b5ed8dULL, "0.000001"},
    {0x3c36b082c2148b8eULL, "1.23e-18"},
    {0xbff8000000000000ULL, "-1.5"},
    {0x7fefffffffffffffULL, "1.7976931348623157e+308"},
    {0x0000000000000001ULL, "5e-324"},
    {0x0010000000000000ULL, "2.2250738585072014e-308"},
    {0x4340000000000000ULL, "9007199254740992"},
    {0x4360000000000000ULL, "36028797018963970"},
    {0x441ac53a7e04bcdaULL, "123456789012345680000"},
    {0x4415af1d78b58c40ULL, "100000000000000000000"},
    {0x4480f0cf064dd592ULL, "1e+22"},
    {0x3eb0c6f7a0b5ed8dULL, "0.000001"},
    {0x3e7ad7f29abcaf48ULL, "1e-7"},
    {0x7e41eb2d66005835ULL, "1.5e+300"},
    {0x81bac9a7b3b7302fULL, "-2.5e-300"},
    {0x4059000000000000ULL, "100"},
    {0x430c6bf526340000ULL, "1000000000000000"},
    {0x4341c37937e08000ULL, "10000000000000000"},
    {0x4376345785d8a000ULL, "100000000000000000"},
    {0x4011666666666666ULL, "4.35"},
    {0x3fe0000000000000ULL, "0.5"},
    {0x40934a456d5cfaadULL, "1234.5678"},
    {0x400921fb54442d18ULL, "3.141592653589793"},
    {0x4005bf0a8b145769ULL, "2.718281828459045"},
    {0x0000000000000001ULL, "5e-324"},
    {0x7fe0000000000000ULL, "8.98846567431158e+307"},
    {0x0010000000000000ULL, "2.2250738585072014e-308"},
    {0x43b0000000000000ULL, "1152921504606847000"},
    {0x3c30000000000000ULL, "8.673617379884035e-19"},
    {0x3ea0c6f7a0b5ed8dULL, "5e-7"},
    {0x0000000000000001ULL, "5e-324"},
    {0x3ee9e409302678baULL, "0.000012345678901234568"},
    {0x40f81cd6e9e1b08aULL, "98765.4321"},
    {0xbf201f31f46ed246ULL, "-0.000123"},
    {0x87985aa5155b24a3ULL, "-4.501898332632966e-272"},
    {0x4820f4c481b3ac98ULL, "2.8849349112784514e+39"},
    {0x703a078829a8e24dULL, "4.0411147699748494e+232"},
    {0x89ca4f1dc5186e29ULL, "-1.6710094656727838e-261"},
    {0xd37862a73ab14b11ULL, "-1.2716509236290659e+94"},
    {0x69bf3df84e0f25f8ULL, "2.3914258705772296e+201"},
    {0xfcbe64a03565ea15ULL, "-7.582464177033733e+292"},
    {0x8cc6cec6f6daad69ULL, "-4.0775144333856304e-247"},
    {0xcd8c4692ee9aa39dULL, "-3.7222207589614215e+65"},
    {0xe7c283c940c4fa94ULL, "-6.599424079819678e+191"},
    {0x2d54bebfeae37c3eULL, "2.5459928261174917e-90"},
    {0x29fb2f0ccf4ba921ULL, "1.85195972417174e-106"},
    {0xf79556d6f4b8b651ULL, "-1.100917176439623e+268"},
    {0xac2e0a68c104a7f9ULL, "-7.032032595153672e-96"},
    {0xea8e0d844ced9b7bULL, "-1.8844820523026246e+205"},
    {0x0fd213faf803d0acULL, "1.8194280955322446e-232"},
    {0xc0d42547cbe00859ULL, "-20629.121818550255"},
    {0x9782e8ac9876b107ULL, "-2.0236654224692012e-195"},
    {0x8498b3accf42219aULL, "-1.6222348069322538e-286"},
    {0xe555a0627a60d10eULL, "-1.4021798354689137e+180"},
    {0x686504eed7ecb2d2ULL, "7.671933499659723e+194"},
    {0x776c93294431f40dULL, "1.8427656434338242e+267"},
    {0x2cbd43f51cb79314ULL, "3.5074920135027427e-93"},
    {0x3479ebbe28cbc819ULL, "6.607092621851859e-56"},
    {0x68d0df5d14539ec0ULL, "7.882735956690855e+196"},
    {0x96fe0da5be1a4600ULL, "-6.281960148141264e-198"},
    {0x2d9d90cd6f0b9eefULL, "5.8056185583487844e-89"},
    {0x86186004c90c0408ULL, "-2.6856533645183204e-279"},
    {0x7829390ebe1207caULL, "6.662555099284244e+270"},
    {0x238c2f5f6a9411ecULL, "1.8934367188643908e-137"},
    {0xfd9552b8af8d5279ULL, "-8.715789012754763e+296"},
    {0xbd8c63980e101787ULL, "-3.2274600612423927e-12"},
    {0x90fecf176a9d78b9ULL, "-8.128308723415527e-227"},
    {0x74cd75fc94218065ULL, "4.319884612054221e+254"},
    {0x21833c13862e9d73ULL, "3.0085479284557403e-147"},
    {0xe59a21d395a23163ULL, "-2.7108925022525707e+181"},
    {0xa2492c247e701782ULL, "-1.6127136088614106e-143"},
    {0xec8d5182911b695cULL, "-7.896000550131292e+214"},
    {0x7a227fc48e864009ULL, "2.0987292506852287e+280"},
    {0x966f2a0a16e4203dULL, "-1.2722987863177267e-200"},
    {0xce9ae0ccc2e6182dULL, "-4.637649923855383e+70"},
    {0x3d94a35c961183c3ULL, "4.692567814201635e-12"},
    {0x6b5fae174d3d2a79ULL, "1.6273567562615926e+209"},
    {0xe63db6404e46597aULL, "-3.1562257751894084e+184"},
    {0x2842220eec7955efULL, "9.204120281394701e-115"},
    {0x1e5e072d09c2c670ULL, "2.0857833932687757e-162"},
    {0x70913036846cb4ddULL, "1.7078525568719255e+234"},
    {0x4c14a966fe38babaULL, "3.2423941856225144e+58"},
    {0xc49e4fada016ca18ULL, "-3.578519957318362e+22"},
    {0x53eb20f2c95a1a08ULL, "1.8108300433665365e+96"},
    {0xc970bfa50e0a6c07ULL, "-5.976104560692866e+45"},
    {0x32df1582dd888b15ULL, "1.1806419784245093e-63"},
    {0x51a3e1609c710347ULL, "1.931049830220739e+85"},
    {0x3f2e142b48ca553eULL, "0.0002294829213453173"},
    {0x4fdf150802b63557ULL, "5.6235429526084206e+76"},
    {0x478a5c798caa351bULL, "4.380010564696808e+36"},
    {0x8b2f33ffc74c4fb7ULL, "-8.312501278873814e-255"},
    {0x99eb95aa808aa0a5ULL, "-8.114838233799654e-184"},
    {0x475337aa156a8859ULL, "3.991305930238609e+35"},
    {0xc850c749c7886db5ULL, "-2.2837669306301523e+40"},
    {0x8debbdeab08698e1ULL, "-1.300136954544606e-241"},
    {0x10cbacacce9dde63ULL, "9.126689167559171e-228"},
    {0xdf611dab66547be1ULL, "-2.801350759180243e+151"},
    {0xcc2dc1d5f6fc201eULL, "-9.339439515565213e+58"},
    {0x2d04f541c63d1e77ULL, "8.03788688362713e-92"},
    {0xdb8a5d4e94597ebfULL, "-9.35679941986563e+132"},
    {0xca56ac78e4edd114ULL, "-1.3255071386324566e+50"},
    {0x8720b013b57188c2ULL, "-2.409977922137563e-274"},
    {0x0958d436681da6f9ULL, "1.232032747493725e-263"},
    {0x449ffb98c6786baeULL, "3.7758625587550782e+22"},
    {0xaab40b2851f2c6c0ULL, "-5.593155217817151e-103"},
    {0x2c7288f5d0eede23ULL, "1.3883980039203536e-94"},
    {0x6e7dcd762dbfb57fULL, "1.7236564925027896e+224"},
    {0xb9172617e768f75dULL, "-1.1145742855211536e-33"},
    {0xc9e6581c5e5ef4aeULL, "-1.020501870338893e+48"},
    {0x99a5edaba6036bc3ULL, "-4.0318060096210087e-185"},
    {0xa416a1be740a6c6eULL, "-7.784330821951083e-135"},
    {0x0971a50d87d36745ULL, "3.502184368507292e-263"},
    {0x8c4de9d81fa8dd03ULL, "-2.0890083028771832e-249"},
    {0x851f5fe7b2929a56ULL, "-5.2747599901454996e-284"},
    {0xdadd7dfad922ee2bULL, "-5.1107422833701706e+129"},
    {0x181e4758ce50cb62ULL, "1.6591283787812938e-192"},
    {0x30a0ff7cc6a273bbULL, "1.8790089351461426e-74"},
    {0x927fadf19ff67c31ULL, "-1.402235816461002e-219"},
    {0x5e7ef5299ba93dc4ULL, "1.5462727902232658e+147"},
    {0x3e2d9a4c21efc33eULL, "3.4462106636196984e-9"},
    {0xe88590ba08cd4393ULL, "-3.148498465036792e+195"},
    {0xb7510a4c5500e940ULL, "-3.0564408647112764e-42"},
    {0x4d3167d458b13111ULL, "7.160241907467015e+63"},
    {0xacf6e5587be673b6ULL, "-4.390547726739363e-92"},
    {0x078dc6be54117b73ULL, "2.7521067282420713e-272"},
    {0x149bff4c053b1455ULL, "2.1290137178019452e-209"},
    {0x9181762d57d5b86fULL, "-2.358728774947041e-224"},
    {0xfbdd286384fd866bULL, "-4.4398689119036694e+288"},
    {0xb22f7213d1cab885ULL, "-5.831913413960399e-67"},
    {0x5d9126e850cf538eULL, "5.22892344277058e+142"},
    {0xed6714f1f0df52adULL, "-1.0184901972581572e+219"},
    {0x4bd502e89a8692acULL, "2.0607883640732762e+57"},
    {0x52b5ee65005e02f9ULL, "2.792168861549422e+90"},
    {0xc0291dd991dbce10ULL, "-12.55830055053869"},
    {0xeb2ef99cb7b111d2ULL, "-1.9889277316280888e+208"},
    {0x24e879f751070f9cULL, "6.896678309158882e-131"},
    {0xae6e2b260a510ac3ULL, "-4.852948262251149e-85"},
    {0x4a2697a78295420eULL, "1.6509414613754732e+49"},
    {0x70467be4586e2b59ULL, "6.981348771477626e+232"},
    {0x3dadfebbcd212f46ULL, "1.364017094612485e-11"},
    {0xf1faff626ccbe549ULL, "-1.125127231799174e+241"},
    {0x1c3b62787eff1202ULL, "1.1072092618277994e-172"},
    {0x0b5c97fdadcc1eacULL, "6.093884885730286e-254"},
    {0xed28bda0a904dd2eULL, "-6.823063923807789e+217"},
    {0x66818bbea93a68e5ULL, "5.96434075308154e+185"},
    {0x60f1e436d2964badULL, "9.825701057917669e+158"},
    {0x679f2ddcc6b9750eULL, "1.3891896534466326e+191"},
    {0xeb00e14212338016ULL, "-2.709675409825318e+207"},
    {0x241f50ce0ed80e6dULL, "1.0771180438158761e-134"},
    {0xeda095071f015a67ULL, "-1.1707048642478383e+220"},
    {0xbdf9a861964c4f7bULL, "-3.733692437672754e-10"},
    {0xebc735eaa23419b7ULL, "-1.526137133938557e+211"},
    {0x015fcff6ec8f0766ULL, "4.6389561903002437e-302"},
    {0x801bebb750c3d521ULL, "-3.882860397709683e-308"},
    {0x7b50000000000000ULL, "9.516908214257812e+285"},
    {0x59b0000000000000ULL, "1.0576895500643978e+124"},
    {0x67a0000000000000ULL, "1.425762693006936e+191"},
    {0x7250000000000000ULL, "4.267529237043107e+242"},
    {0x4f30000000000000ULL, "2.826955303645415e+73"},
    {0x37c0000000000000ULL, "3.6734198463196485e-40"},
    {0x1030000000000000ULL, "1.0305838031355413e-230"},
    {0x2d70000000000000ULL, "7.854549544476363e-90"},
    {0x78a0000000000000ULL, "1.0819471997658424e+273"},
    {0x0fc0000000000000ULL, "8.051435961996417e-233"},
    {0x6c80000000000000ULL, "4.309103330548428e+214"},
    {0x3ae0000000000000ULL, "4.1359030627651384e-25"},
    {0x0d70000000000000ULL, "5.858190679279809e-244"},
    {0x2d70000000000000ULL, "7.854549544476363e-90"},
    {0x7660000000000000ULL, "1.5744403932561435e+262"},
    {0x75c0000000000000ULL, "1.5375394465392026e+259"},
    {0x5ef0000000000000ULL, "2.0458691299350887e+149"},
    {0x2e10000000000000ULL, "8.043058733543795e-87"},
    {0x15e0000000000000ULL, "2.5516019074809773e-203"},
    {0x7cb0000000000000ULL, "3.99168061906944e+292"},
    {0x37b0000000000000ULL, "1.8367099231598242e-40"},
    {0x2b30000000000000ULL, "1.142987391282275e-100"},
    {0x0b80000000000000ULL, "2.727932613007635e-253"},
    {0x3310000000000000ULL, "9.723461371658034e-63"},
    {0x3ce0000000000000ULL, "1.7763568394002505e-15"},
    {0x5420000000000000ULL, "1.708789628736728e+97"},
    {0x5340000000000000ULL, "1.0429624198832569e+93"},
    {0x2040000000000000ULL, "2.3866690339840662e-153"},
    {0x7c30000000000000ULL, "1.559250241824e+290"},
    {0x41d0000000000000ULL, "1073741824"},
    {0x0e00000000000000ULL, "2.999393627791262e-241"},
    {0x62e0000000000000ULL, "1.8869812124107707e+168"},
    {0x7ad0000000000000ULL, "3.717542271194458e+283"},
    {0x7790000000000000ULL, "8.25460204899477e+267"},
    {0x5090000000000000ULL, "1.1857109937901178e+80"},
    {0x1290000000000000ULL, "2.8328471873628494e-219"},
    {0x2de0000000000000ULL, "1.0053823416929744e-87"},
    {0x5ce0000000000000ULL, "2.3817051317718447e+139"},
    {0x1f60000000000000ULL, "1.4567071740625404e-157"},
    {0x3460000000000000ULL, "2.039157646249539e-56"},
};

static void test_json_format_number(void)
{
    for (size_t i = 0; i < sizeof number_cases / sizeof *number_cases; i++) {
        double v;
        memcpy(&v, &number_cases[i].bits, sizeof v);
        char out[SIO_JSON_NUMBER_MAX];
        size_t n = sio_json_format_number(v, out);
        if (strcmp(out, number_cases[i].expected) != 0 || n != strlen(out)) {
            test_failures_in_current++;
            fprintf(stderr, "  number %016llx: got %s, expected %s\n",
                    (unsigned long long)number_cases[i].bits, out, number_cases[i].expected);
        }
        /* And parsing the expected text gives v back. */
        cJSON *t =
            sio_json_parse(number_cases[i].expected, strlen(number_cases[i].expected), 0, NULL);
        CHECK(t && cJSON_IsNumber(t) && memcmp(&t->valuedouble, &v, sizeof v) == 0);
        sio_json_delete(t);
    }
    char out[SIO_JSON_NUMBER_MAX];
    sio_json_format_number(NAN, out);
    CHECK(strcmp(out, "null") == 0);
    sio_json_format_number(INFINITY, out);
    CHECK(strcmp(out, "null") == 0);
    sio_json_format_number(-INFINITY, out);
    CHECK(strcmp(out, "null") == 0);
    sio_json_format_number(-0.0, out);
    CHECK(strcmp(out, "0") == 0);
    sio_json_format_number(-1.7976931348623157e308, out);
    CHECK(strcmp(out, "-1.7976931348623157e+308") == 0);
    CHECK_EQ_INT(sio_json_format_number(-5e-324, out), 7);
    CHECK(strcmp(out, "-5e-324") == 0);
}

/* Printing trees built with cJSON calls (not from the parser). */
static void test_json_print_built_trees(void)
{
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, cJSON_CreateNumber(NAN));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(-0.0));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(0.1 + 0.2));
    cJSON_AddItemToArray(a, cJSON_CreateString("\xED\xA0\x80"));             /* lone surrogate */
    cJSON_AddItemToArray(a, cJSON_CreateString("\xED\xA0\xBD\xED\xB8\x80")); /* pair, CESU */
    cJSON_AddItemToArray(a, cJSON_CreateString("x\xFFy"));                   /* invalid byte */
    cJSON_AddItemToArray(a, cJSON_CreateString("\xC0\x80"));                 /* NUL */
    cJSON_AddItemToArray(a, cJSON_CreateString("\x7f\x1f\"\\/\xE2\x80\xA8"));
    cJSON_AddItemToArray(a, cJSON_CreateRaw("{\"raw\":1}"));
    cJSON *inv = cJSON_CreateNull();
    inv->type = cJSON_Invalid;
    cJSON_AddItemToArray(a, inv);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "b", 1);
    cJSON_AddNumberToObject(o, "10", 2);
    cJSON_AddNumberToObject(o, "9", 3);
    cJSON *inv2 = cJSON_CreateNull();
    inv2->type = cJSON_Invalid;
    cJSON_AddItemToObject(o, "undef", inv2);
    cJSON_AddItemToObject(o, "s\n", cJSON_CreateString("v"));
    cJSON_AddItemToArray(a, o);
    size_t len;
    char *s = sio_json_print(a, &len);
    CHECK_MEM(s, len,
              "[null,0,0.30000000000000004,\"\\ud800\",\"\xF0\x9F\x98\x80\",\"x\xEF\xBF\xBDy\","
              "\"\\u0000\",\"\x7f\\u001f\\\"\\\\/\xE2\x80\xA8\",{\"raw\":1},null,"
              "{\"9\":3,\"10\":2,\"b\":1,\"s\\n\":\"v\"}]");
    free(s);
    cJSON_Delete(a);

    /* A top-level undefined prints as null; so does NULL. */
    inv = cJSON_CreateNull();
    inv->type = cJSON_Invalid;
    s = sio_json_print(inv, &len);
    CHECK_MEM(s, len, "null");
    free(s);
    cJSON_Delete(inv);
    s = sio_json_print(NULL, NULL);
    CHECK(strcmp(s, "null") == 0);
    free(s);

    /* Appending keeps what the buffer held. */
    eio_buf b = EIO_BUF_INIT;
    eio_buf_append_str(&b, "42");
    cJSON *t = cJSON_CreateString("x");
    sio_json_print_append(&b, t);
    CHECK_MEM(b.data, b.len, "42\"x\"");
    cJSON_Delete(t);
    eio_buf_free(&b);
}

/* A tree far deeper than any parse limit prints and frees without recursion. */
static void test_json_deep_built_tree(void)
{
    cJSON *root = cJSON_CreateArray();
    cJSON *cur = root;
    for (int i = 0; i < 200000; i++) {
        cJSON *next = (i % 2) ? cJSON_CreateArray() : cJSON_CreateObject();
        if (i % 2)
            cJSON_AddItemToObject(cur, "k", next);
        else
            cJSON_AddItemToArray(cur, next);
        cur = next;
    }
    size_t len;
    char *s = sio_json_print(root, &len);
    CHECK(len > 200000 * 2);
    CHECK(s[0] == '[' && s[1] == '{' && s[2] == '"');
    free(s);
    sio_json_delete(root);
}

typedef struct hook_state {
    int calls;
} hook_state;

static int test_hook(void *ctx, const cJSON *object, eio_buf *out)
{
    hook_state *h = ctx;
    h->calls++;
    if (sio_json_get(object, "stop"))
        return -42;
    if (sio_json_get(object, "swap")) {
        eio_buf_append_str(out, "\"swapped\"");
        return 1;
    }
    return 0;
}

static void test_json_print_hook(void)
{
    const char *in = "[{\"a\":{\"swap\":1}},{\"b\":[{}]}]";
    cJSON *t = sio_json_parse(in, strlen(in), 0, NULL);
    eio_buf b = EIO_BUF_INIT;
    hook_state h = {0};
    CHECK_EQ_INT(sio_json_print_hook(&b, t, test_hook, &h), 0);
    CHECK_MEM(b.data, b.len, "[{\"a\":\"swapped\"},{\"b\":[{}]}]");
    CHECK_EQ_INT(h.calls, 4);
    sio_json_delete(t);

    in = "[[{\"stop\":1}],2]";
    t = sio_json_parse(in, strlen(in), 0, NULL);
    eio_buf_reset(&b);
    CHECK_EQ_INT(sio_json_print_hook(&b, t, test_hook, &h), -42);
    sio_json_delete(t);
    eio_buf_free(&b);
}

static void test_json_strings_with_nul(void)
{
    cJSON *s = sio_json_create_string("a\0b\0", 4);
    CHECK(strcmp(s->valuestring, "a\xC0\x80"
                                 "b\xC0\x80") == 0);
    size_t len;
    char *out = sio_json_print(s, &len);
    CHECK_MEM(out, len, "\"a\\u0000b\\u0000\"");
    free(out);
    eio_buf b = EIO_BUF_INIT;
    CHECK_EQ_INT(sio_json_string_bytes(s->valuestring, &b), 4);
    CHECK(memcmp(b.data, "a\0b\0", 4) == 0);
    eio_buf_free(&b);
    sio_json_delete(s);
    sio_json_delete(NULL);
}

/* Every prefix of a valid text is rejected, and never read beyond len. */
static void test_json_every_prefix(void)
{
    const char *in = "{\"a\":[1,-2.5e+3,\"x\\u00e9\\ud83d\\ude00\"],\"b\":{\"c\":null,\"d\":true}}";
    size_t n = strlen(in);
    for (size_t cut = 0; cut < n; cut++) {
        char *copy = malloc(cut ? cut : 1);
        memcpy(copy, in, cut);
        cJSON *t = sio_json_parse(copy, cut, 0, NULL);
        CHECK(t == NULL);
        sio_json_delete(t);
        free(copy);
    }
    cJSON *t = sio_json_parse(in, n, 0, NULL);
    CHECK(t != NULL);
    sio_json_delete(t);
}

int main(void)
{
    RUN_TEST(test_json_parse_table);
    RUN_TEST(test_json_cjson_deviations);
    RUN_TEST(test_json_invalid_utf8);
    RUN_TEST(test_json_string_every_position);
    RUN_TEST(test_json_error_details);
    RUN_TEST(test_json_depth_limit);
    RUN_TEST(test_json_many_keys);
    RUN_TEST(test_json_format_number);
    RUN_TEST(test_json_print_built_trees);
    RUN_TEST(test_json_deep_built_tree);
    RUN_TEST(test_json_print_hook);
    RUN_TEST(test_json_strings_with_nul);
    RUN_TEST(test_json_every_prefix);
    return TEST_SUMMARY();
}
