/*
 * Unit tests for srv_client (serveClient's answers, as Node's socket.io
 * serve() and sendFile() give them) on a bundle folder made by the test:
 * loading (package.json in the folder or one level up, a missing file or
 * version refused with the reason), the folder's lookup (option, then
 * $SIO_CLIENT_DIST, then next to the program), the headers of a 200, 304 for
 * the ETag and its weak form only, the coding picked by Accept-Encoding with
 * gzip and deflate inflating back to the file, each coded form made once,
 * also when eight threads ask at the same moment, and unknown names.
 * Threading: the main thread, and eight threads in one test.
 * Ownership: each test frees what it allocates and removes its folder.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "engineio/eio_buf.h"
#include "server/srv_client.h"
#include "test/unit/test.h"

/* A bundle folder: dir/<name> holds "content of <name>" repeated, and
 * package.json (at dir, or at dir/.. when up) the version. Returns dir. */
static char *make_bundle(const char *version, int up, const char *skip)
{
    char tmpl[] = "/tmp/test_srv_client.XXXXXX";
    char *root = mkdtemp(tmpl);
    if (!root)
        return NULL;
    char *dir = malloc(strlen(root) + 16);
    sprintf(dir, "%s%s", root, up ? "/dist" : "");
    if (up)
        mkdir(dir, 0755);
    char path[512];
    if (version) {
        snprintf(path, sizeof(path), "%s/package.json", root);
        FILE *f = fopen(path, "w");
        fprintf(f, "{\"name\":\"socket.io-client\",\"version\":\"%s\"}", version);
        fclose(f);
    }
    for (size_t i = 0; i < SRV_CLIENT_FILES; i++) {
        if (skip && strcmp(skip, srv__client_names[i]) == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, srv__client_names[i]);
        FILE *f = fopen(path, "w");
        for (int k = 0; k < 200; k++)
            fprintf(f, "content of %s\n", srv__client_names[i]);
        fclose(f);
    }
    return dir;
}

static void remove_bundle(char *dir)
{
    char cmd[600];
    char *dist = strstr(dir, "/dist");
    if (dist)
        *dist = 0;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK_EQ_INT(system(cmd), 0);
    free(dir);
}

/* The file's bytes as make_bundle wrote them. */
static void expected(const char *name, eio_buf *out)
{
    eio_buf_reset(out);
    for (int k = 0; k < 200; k++) {
        eio_buf_append_str(out, "content of ");
        eio_buf_append_str(out, name);
        eio_buf_append_str(out, "\n");
    }
}

static int inflates_to(int gzip, const uint8_t *in, size_t len, const eio_buf *want)
{
    uint8_t out[16384];
    z_stream z = {0};
    inflateInit2(&z, 15 + (gzip ? 16 : 0));
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = sizeof(out);
    int r = inflate(&z, Z_FINISH);
    size_t n = sizeof(out) - z.avail_out;
    inflateEnd(&z);
    return r == Z_STREAM_END && n == want->len && memcmp(out, want->data, n) == 0;
}

static void test_load(void)
{
    char err[512];
    char *dir = make_bundle("4.8.4", 0, NULL);
    srv_client *c = srv__client_load(dir, err, sizeof(err));
    CHECK(c != NULL);
    CHECK(c && strcmp(srv__client_version(c), "4.8.4") == 0);
    srv__client_free(c);
    remove_bundle(dir);
    /* The package's dist/ folder itself: package.json one level up. */
    dir = make_bundle("4.8.5", 1, NULL);
    c = srv__client_load(dir, err, sizeof(err));
    CHECK(c && strcmp(srv__client_version(c), "4.8.5") == 0);
    srv__client_free(c);
    remove_bundle(dir);
    dir = make_bundle(NULL, 0, NULL);
    CHECK(srv__client_load(dir, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "no package.json with a version") != NULL);
    remove_bundle(dir);
    dir = make_bundle("4.8.4", 0, "socket.io.min.js.map");
    CHECK(srv__client_load(dir, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "socket.io.min.js.map") != NULL);
    remove_bundle(dir);
    CHECK(srv__client_load("/nonexistent/dir", err, sizeof(err)) == NULL);
    srv__client_free(NULL);
}

static void test_dir_lookup(void)
{
    char out[4096];
    setenv("SIO_CLIENT_DIST", "/from/env", 1);
    srv__client_dir("/from/option", out, sizeof(out));
    CHECK(strcmp(out, "/from/option") == 0);
    srv__client_dir(NULL, out, sizeof(out));
    CHECK(strcmp(out, "/from/env") == 0);
    unsetenv("SIO_CLIENT_DIST");
    srv__client_dir("", out, sizeof(out));
    /* Next to this test's binary: <build>/test/client-dist. */
    size_t n = strlen(out);
    CHECK(n > 17 && strcmp(out + n - 17, "/test/client-dist") == 0);
}

static void test_answers(void)
{
    char err[512];
    char *dir = make_bundle("4.8.4", 0, NULL);
    srv_client *c = srv__client_load(dir, err, sizeof(err));
    if (!c) {
        CHECK(0);
        remove_bundle(dir);
        return;
    }
    eio_buf want = EIO_BUF_INIT;
    srv_client_answer a;
    srv__client_answer(c, "socket.io.js", NULL, NULL, &a);
    CHECK_EQ_INT(a.status, 200);
    CHECK(strcmp(a.headers, "Cache-Control: public, max-age=0\r\n"
                            "Content-Type: application/javascript; charset=utf-8\r\n"
                            "ETag: \"4.8.4\"\r\n") == 0);
    expected("socket.io.js", &want);
    CHECK(a.len == want.len && memcmp(a.body, want.data, a.len) == 0);
    srv__client_answer(c, "socket.io.esm.min.js.map", NULL, "gzip", &a);
    CHECK(strcmp(a.headers, "Cache-Control: public, max-age=0\r\n"
                            "Content-Type: application/json; charset=utf-8\r\n"
                            "ETag: \"4.8.4\"\r\n"
                            "content-encoding: gzip\r\n") == 0);
    expected("socket.io.esm.min.js.map", &want);
    CHECK(a.len < want.len && inflates_to(1, a.body, a.len, &want));
    /* Made once: the same bytes the second time. */
    const uint8_t *first = a.body;
    srv__client_answer(c, "socket.io.esm.min.js.map", NULL, "x, gzip", &a);
    CHECK(a.body == first);
    srv__client_answer(c, "socket.io.msgpack.min.js", NULL, "deflate, gzip", &a);
    CHECK(strstr(a.headers, "content-encoding: deflate\r\n") != NULL);
    expected("socket.io.msgpack.min.js", &want);
    CHECK(inflates_to(0, a.body, a.len, &want));
    srv__client_answer(c, "socket.io.min.js", NULL, "gzip;q=0.5, br", &a);
    CHECK(strstr(a.headers, "content-encoding: br\r\n") != NULL);
    CHECK(a.len > 0 && a.len < want.len);
    srv__client_answer(c, "socket.io.min.js", NULL, "identity, zstd", &a);
    CHECK(strstr(a.headers, "content-encoding") == NULL);
    /* 304 for the ETag or its weak form, exactly; anything else is a 200. */
    static const char *const match[] = {"\"4.8.4\"", "W/\"4.8.4\""};
    for (size_t i = 0; i < 2; i++) {
        srv__client_answer(c, "socket.io.js.map", match[i], "gzip", &a);
        CHECK_EQ_INT(a.status, 304);
        CHECK(a.body == NULL && a.headers[0] == 0);
    }
    static const char *const no_match[] = {"",  "4.8.4",    "\"4.8.4\", \"x\"", "w/\"4.8.4\"",
                                           "*", "\"4.8.3\""};
    for (size_t i = 0; i < sizeof(no_match) / sizeof(*no_match); i++) {
        srv__client_answer(c, "socket.io.js.map", no_match[i], NULL, &a);
        CHECK_EQ_INT(a.status, 200);
    }
    srv__client_answer(c, "socket.io.jsx", NULL, NULL, &a);
    CHECK_EQ_INT(a.status, 404);
    srv__client_answer(c, "", NULL, NULL, &a);
    CHECK_EQ_INT(a.status, 404);
    eio_buf_free(&want);
    srv__client_free(c);
    remove_bundle(dir);
}

typedef struct racer {
    srv_client *c;
    const uint8_t *body;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    srv_client_answer a;
    srv__client_answer(r->c, "socket.io.js", NULL, "br", &a);
    r->body = a.body;
    return NULL;
}

static void test_concurrent_first_use(void)
{
    char err[512];
    char *dir = make_bundle("4.8.4", 0, NULL);
    srv_client *c = srv__client_load(dir, err, sizeof(err));
    racer r[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        r[i].c = c;
        pthread_create(&t[i], NULL, race, &r[i]);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    for (int i = 1; i < 8; i++)
        CHECK(r[i].body == r[0].body && r[0].body != NULL);
    srv__client_free(c);
    remove_bundle(dir);
}

int main(void)
{
    RUN_TEST(test_load);
    RUN_TEST(test_dir_lookup);
    RUN_TEST(test_answers);
    RUN_TEST(test_concurrent_first_use);
    return TEST_SUMMARY();
}
