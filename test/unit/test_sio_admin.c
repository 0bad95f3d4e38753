/*
 * Unit tests for the Admin UI's pure parts (socketio/sio_admin.c): the bcrypt
 * check through libxcrypt's crypt_r against hashes made by bcryptjs 2.4.3
 * (what @socket.io/admin-ui uses; $2a$) and the docs' $2b$ example, the hash
 * syntax check, the aggregated-events buffer (Node's EventBuffer: buckets per
 * second, type and subType, in first-seen order, cleared by a take) and
 * toISOString.
 * Threading: single thread. Ownership: each test frees what it makes.
 */
#include "socketio/sio_admin.h"

#include <stdlib.h>
#include <string.h>

#include "socketio/sio_internal.h"
#include "socketio/sio_json.h"
#include "test/unit/test.h"

/* The README of @socket.io/admin-ui: "changeit". */
static const char *const DOCS_HASH = "$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS";
/* bcryptjs.hashSync("changeit", 10) */
static const char *const BCRYPTJS_HASH =
    "$2a$10$6FiQnDZmYtm9bnZ3zQPeLOQa6Oi9ZmB0X2eG2TuABwACFlVbO7uEq";
/* bcryptjs.hashSync("s3cret-é", 4) (UTF-8 bytes) */
static const char *const UTF8_HASH = "$2a$04$9Xd49Lxl9V1UDWptXgOVruqd.4i5FDGlqG62NH3VZCValNwbp1HJG";
/* bcryptjs.hashSync("", 4) */
static const char *const EMPTY_HASH =
    "$2a$04$gqE4RXQSzUT0Pv.hLV/QiOZGCH7qIeZ.NMDZ71C/e9KNA.m7a.D5G";
/* bcryptjs.hashSync("x".repeat(80), 4): bcrypt reads 72 bytes at most */
static const char *const LONG_HASH = "$2a$04$i8TP8zr0jRaWbGBL9RoRouGsNLMYzxVRmljg1jOt8G9Qj7kirC.Z6";

static void test_bcrypt_verify(void)
{
    CHECK_EQ_INT(sio_admin_bcrypt_verify("changeit", DOCS_HASH), 1);
    CHECK_EQ_INT(sio_admin_bcrypt_verify("changeit!", DOCS_HASH), 0);
    CHECK_EQ_INT(sio_admin_bcrypt_verify("changeit", BCRYPTJS_HASH), 1);
    CHECK_EQ_INT(sio_admin_bcrypt_verify("Changeit", BCRYPTJS_HASH), 0);
    CHECK_EQ_INT(sio_admin_bcrypt_verify("s3cret-\xc3\xa9", UTF8_HASH), 1);
    CHECK_EQ_INT(sio_admin_bcrypt_verify("s3cret-e", UTF8_HASH), 0);
    CHECK_EQ_INT(sio_admin_bcrypt_verify("", EMPTY_HASH), 1);
    CHECK_EQ_INT(sio_admin_bcrypt_verify(NULL, EMPTY_HASH), 1); /* NULL: "" */
    CHECK_EQ_INT(sio_admin_bcrypt_verify(" ", EMPTY_HASH), 0);
    char pw[81];
    memset(pw, 'x', 80);
    pw[80] = 0;
    CHECK_EQ_INT(sio_admin_bcrypt_verify(pw, LONG_HASH), 1);
    pw[72] = 'y'; /* past the 72 bytes bcrypt reads */
    CHECK_EQ_INT(sio_admin_bcrypt_verify(pw, LONG_HASH), 1);
    pw[71] = 'y';
    CHECK_EQ_INT(sio_admin_bcrypt_verify(pw, LONG_HASH), 0);
}

static void test_bcrypt_prefixes(void)
{
    /* $2a$, $2b$ and $2y$ are one algorithm for these passwords. */
    char h[61];
    strcpy(h, BCRYPTJS_HASH);
    h[2] = 'b';
    CHECK_EQ_INT(sio_admin_bcrypt_verify("changeit", h), 1);
    h[2] = 'y';
    CHECK_EQ_INT(sio_admin_bcrypt_verify("changeit", h), 1);
    CHECK_EQ_INT(sio_admin_bcrypt_verify("changeix", h), 0);
    h[2] = 'x'; /* $2x$ (the old buggy variant): refused as a hash */
    CHECK_EQ_INT(sio_admin_bcrypt_verify("changeit", h), SIO_EINVAL);
}

static void test_bcrypt_hash_valid(void)
{
    CHECK_EQ_INT(sio_admin_bcrypt_hash_valid(DOCS_HASH), 1);
    CHECK_EQ_INT(sio_admin_bcrypt_hash_valid(BCRYPTJS_HASH), 1);
    CHECK_EQ_INT(sio_admin_bcrypt_hash_valid(NULL), 0);
    CHECK_EQ_INT(sio_admin_bcrypt_hash_valid(""), 0);
    CHECK_EQ_INT(sio_admin_bcrypt_hash_valid("changeit"), 0);
    char h[62];
    strcpy(h, DOCS_HASH);
    h[59] = 0; /* one short */
    CHECK_EQ_INT(sio_admin_bcrypt_hash_valid(h), 0);
    strcpy(h, DOCS_HASH);
    strcat(h, "a"); /* one long */
    CHECK_EQ_INT(sio_admin_bcrypt_hash_valid(h), 0);
    strcpy(h, DOCS_HASH);
    h[4] = '0';
    h[5] = '3'; /* cost 03 */
    CHECK_EQ_INT(sio_admin_bcrypt_hash_valid(h), 0);
    h[4] = '3';
    h[5] = '2'; /* cost 32 */
    CHECK_EQ_INT(sio_admin_bcrypt_hash_valid(h), 0);
    h[4] = '3';
    h[5] = '1';
    CHECK_EQ_INT(sio_admin_bcrypt_hash_valid(h), 1);
    strcpy(h, DOCS_HASH);
    h[30] = '+'; /* not bcrypt's base64 */
    CHECK_EQ_INT(sio_admin_bcrypt_hash_valid(h), 0);
    strcpy(h, DOCS_HASH);
    h[6] = '.';
    CHECK_EQ_INT(sio_admin_bcrypt_hash_valid(h), 0);
    strcpy(h, DOCS_HASH);
    h[1] = '1'; /* $1$: md5-crypt */
    CHECK_EQ_INT(sio_admin_bcrypt_hash_valid(h), 0);
}

static void check_take(sio__admin_events *b, const char *expected)
{
    cJSON *arr = sio__admin_events_take(b);
    char *s = sio_json_print(arr, NULL);
    CHECK_MEM(s, strlen(s), expected);
    free(s);
    sio_json_delete(arr);
}

static void test_events_buckets(void)
{
    sio__admin_events b = {0};
    check_take(&b, "[]");
    /* 1700000000123 and ...999 are one second; ...1000 the next */
    sio__admin_events_push(&b, 1700000000123, SIO__ADMIN_RAW_CONNECTION, NULL, 1);
    sio__admin_events_push(&b, 1700000000200, SIO__ADMIN_PACKETS_IN, NULL, 1);
    sio__admin_events_push(&b, 1700000000200, SIO__ADMIN_BYTES_IN, NULL, 10);
    sio__admin_events_push(&b, 1700000000999, SIO__ADMIN_PACKETS_IN, NULL, 1);
    sio__admin_events_push(&b, 1700000000999, SIO__ADMIN_BYTES_IN, NULL, 5);
    sio__admin_events_push(&b, 1700000001000, SIO__ADMIN_PACKETS_IN, NULL, 1);
    sio__admin_events_push(&b, 1700000001000, SIO__ADMIN_RAW_DISCONNECTION, "transport close", 1);
    sio__admin_events_push(&b, 1700000001001, SIO__ADMIN_RAW_DISCONNECTION, "ping timeout", 1);
    sio__admin_events_push(&b, 1700000001002, SIO__ADMIN_RAW_DISCONNECTION, "transport close", 1);
    sio__admin_events_push(&b, 1700000001003, SIO__ADMIN_PACKETS_OUT, NULL, 3);
    sio__admin_events_push(&b, 1700000001004, SIO__ADMIN_BYTES_OUT, NULL, 300);
    /* an earlier second again (the clock went back): its bucket is found */
    sio__admin_events_push(&b, 1700000000500, SIO__ADMIN_RAW_CONNECTION, NULL, 2);
    check_take(&b, "[{\"timestamp\":1700000000000,\"type\":\"rawConnection\",\"count\":3},"
                   "{\"timestamp\":1700000000000,\"type\":\"packetsIn\",\"count\":2},"
                   "{\"timestamp\":1700000000000,\"type\":\"bytesIn\",\"count\":15},"
                   "{\"timestamp\":1700000001000,\"type\":\"packetsIn\",\"count\":1},"
                   "{\"timestamp\":1700000001000,\"type\":\"rawDisconnection\","
                   "\"subType\":\"transport close\",\"count\":2},"
                   "{\"timestamp\":1700000001000,\"type\":\"rawDisconnection\","
                   "\"subType\":\"ping timeout\",\"count\":1},"
                   "{\"timestamp\":1700000001000,\"type\":\"packetsOut\",\"count\":3},"
                   "{\"timestamp\":1700000001000,\"type\":\"bytesOut\",\"count\":300}]");
    /* cleared by the take */
    check_take(&b, "[]");
    sio__admin_events_push(&b, 999, SIO__ADMIN_BYTES_OUT, NULL, 7);
    sio__admin_events_push(&b, -1, SIO__ADMIN_BYTES_OUT, NULL, 1); /* before 1970: floor */
    check_take(&b, "[{\"timestamp\":0,\"type\":\"bytesOut\",\"count\":7},"
                   "{\"timestamp\":-1000,\"type\":\"bytesOut\",\"count\":1}]");
    sio__admin_events_free(&b);
}

static void test_events_limit(void)
{
    sio__admin_events b = {0};
    for (int64_t i = 0; i < SIO__ADMIN_MAX_BUCKETS + 10; i++)
        sio__admin_events_push(&b, i * 1000, SIO__ADMIN_PACKETS_IN, NULL, 1);
    CHECK_EQ_INT(b.len, SIO__ADMIN_MAX_BUCKETS);
    /* an existing bucket still counts */
    sio__admin_events_push(&b, 0, SIO__ADMIN_PACKETS_IN, NULL, 1);
    CHECK_EQ_INT(b.items[0].count, 2);
    cJSON *arr = sio__admin_events_take(&b);
    CHECK_EQ_INT(cJSON_GetArraySize(arr), SIO__ADMIN_MAX_BUCKETS);
    sio_json_delete(arr);
    CHECK_EQ_INT(b.len, 0);
    sio__admin_events_free(&b);
    sio__admin_events_free(&b); /* twice: a no-op */
}

static void test_iso_date(void)
{
    char d[32];
    sio__admin_iso_date(0, d);
    CHECK_MEM(d, strlen(d), "1970-01-01T00:00:00.000Z");
    sio__admin_iso_date(1700000000123, d);
    CHECK_MEM(d, strlen(d), "2023-11-14T22:13:20.123Z");
    sio__admin_iso_date(951782400007, d); /* a leap day */
    CHECK_MEM(d, strlen(d), "2000-02-29T00:00:00.007Z");
    sio__admin_iso_date(-1, d);
    CHECK_MEM(d, strlen(d), "1969-12-31T23:59:59.999Z");
}

static void test_options(void)
{
    sio_admin_options o;
    sio_admin_options_default(&o);
    CHECK(strcmp(o.namespace_name, "/admin") == 0);
    CHECK_EQ_INT(o.readonly, 0);
    CHECK_EQ_INT(o.mode, SIO_ADMIN_MODE_FROM_ENV);
    CHECK(o.server_id == NULL);
    /* Node: "the `auth` option must be specified or explicitly set to `false`" */
    CHECK(sio_admin_options_error(&o) != NULL);
    o.auth = SIO_ADMIN_AUTH_NONE;
    CHECK(sio_admin_options_error(&o) == NULL);
    o.auth = SIO_ADMIN_AUTH_BASIC;
    o.username = "admin";
    o.password_hash = "changeit";
    CHECK(strcmp(sio_admin_options_error(&o), "the `password` field must be a valid bcrypt hash") ==
          0);
    o.password_hash = DOCS_HASH;
    CHECK(sio_admin_options_error(&o) == NULL);
    o.mode = 7;
    CHECK(sio_admin_options_error(&o) != NULL);
    o.mode = SIO_ADMIN_MODE_PRODUCTION;
    o.auth = 9;
    CHECK(sio_admin_options_error(&o) != NULL);
    CHECK(sio_admin_options_error(NULL) != NULL);
}

int main(void)
{
    RUN_TEST(test_bcrypt_verify);
    RUN_TEST(test_bcrypt_prefixes);
    RUN_TEST(test_bcrypt_hash_valid);
    RUN_TEST(test_events_buckets);
    RUN_TEST(test_events_limit);
    RUN_TEST(test_iso_date);
    RUN_TEST(test_options);
    return TEST_SUMMARY();
}
