/*
 * Unit tests of cluster/clu_redis.c's pure part: the redis:// URL parser
 * (what --adapter accepts). The connection itself is tested against a real
 * redis-server in test/e2e/cluster*.test.js.
 * Threading: single thread.
 */
#include "cluster/clu_redis.h"
#include "test/unit/test.h"

static void test_url_forms(void)
{
    clu_redis_url u;
    CHECK_EQ_INT(clu_redis_url_parse("redis://127.0.0.1:6379", &u), 0);
    CHECK(strcmp(u.host, "127.0.0.1") == 0);
    CHECK_EQ_INT(u.port, 6379);
    CHECK_EQ_INT(u.db, 0);
    CHECK(u.user[0] == 0 && u.pass[0] == 0);

    CHECK_EQ_INT(clu_redis_url_parse("redis://localhost", &u), 0);
    CHECK(strcmp(u.host, "localhost") == 0);
    CHECK_EQ_INT(u.port, 6379);

    CHECK_EQ_INT(clu_redis_url_parse("redis://:s3cret@10.0.0.2:7000/3", &u), 0);
    CHECK(strcmp(u.host, "10.0.0.2") == 0);
    CHECK_EQ_INT(u.port, 7000);
    CHECK_EQ_INT(u.db, 3);
    CHECK(u.user[0] == 0);
    CHECK(strcmp(u.pass, "s3cret") == 0);

    CHECK_EQ_INT(clu_redis_url_parse("redis://alice:pw@h/", &u), 0);
    CHECK(strcmp(u.user, "alice") == 0 && strcmp(u.pass, "pw") == 0);
    CHECK(strcmp(u.host, "h") == 0);
    CHECK_EQ_INT(u.db, 0);

    CHECK_EQ_INT(clu_redis_url_parse("redis://[::1]:6380", &u), 0);
    CHECK(strcmp(u.host, "::1") == 0);
    CHECK_EQ_INT(u.port, 6380);
}

static void test_url_refused(void)
{
    clu_redis_url u;
    const char *bad[] = {
        "",
        "127.0.0.1:6379",
        "http://127.0.0.1:6379",
        "rediss://127.0.0.1:6379", /* TLS to Redis: not supported (hiredis 0.14) */
        "redis://",
        "redis://:6379",
        "redis://h:0",
        "redis://h:65536",
        "redis://h:12x",
        "redis://h:6379/x",
        "redis://h:6379/-1",
        "redis://[::1",
        "redis://[::1]x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        if (clu_redis_url_parse(bad[i], &u) != -1) {
            fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
            CHECK(0);
        }
    }
}

int main(void)
{
    RUN_TEST(test_url_forms);
    RUN_TEST(test_url_refused);
    return TEST_SUMMARY();
}
