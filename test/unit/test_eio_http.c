/*
 * Unit tests for eio_http: request heads (fields, framing, keep-alive, every
 * refused case and its status, both limits while complete and incomplete,
 * every split point, pipelined bytes), response heads, and the chunked
 * decoder all at once, byte by byte and in every piece size.
 * Threading: single thread. Ownership: each test frees what it allocates.
 * Inputs are copied into exactly-sized heap blocks, so ASan sees any read
 * past the end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engineio/eio_http.h"
#include "engineio/eio_server.h"
#include "test/unit/test.h"

#define MAX_FIELDS 128
/* A string literal and its length, NUL bytes included. */
#define LIT(s)                                                                                     \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }

typedef struct parsed {
    char *copy; /* exactly-sized copy of the input; the slices point into it */
    eio_http_field fields[MAX_FIELDS];
    eio_http_head head;
    long r;
} parsed;

static char *exact_copy(const char *s, size_t len)
{
    char *p = malloc(len ? len : 1);
    if (len)
        memcpy(p, s, len);
    return p;
}

/* Parses a copy of s[0..len) with the given limits. Free with parsed_free. */
static long parse_with(parsed *p, const char *s, size_t len, size_t max_headers, size_t max_bytes)
{
    eio_http_limits limits = {max_headers, max_bytes};
    if (max_headers > MAX_FIELDS)
        abort(); /* a bug in the test */
    p->copy = exact_copy(s, len);
    p->r = eio_http_parse_request(p->copy, len, &limits, p->fields, &p->head);
    return p->r;
}

static long parse(parsed *p, const char *s)
{
    return parse_with(p, s, strlen(s), 100, 16384);
}

static void parsed_free(parsed *p)
{
    free(p->copy);
    p->copy = NULL;
}

/* The result of parsing s[0..len) with the given limits, nothing kept. */
static long request_len_limits(const char *s, size_t len, size_t max_headers, size_t max_bytes)
{
    parsed p;
    long r = parse_with(&p, s, len, max_headers, max_bytes);
    parsed_free(&p);
    return r;
}

static long request(const char *s)
{
    return request_len_limits(s, strlen(s), 100, 16384);
}

static long response(const char *s, size_t len, int *status, long long *content_length,
                     int *chunked, int *connection_close)
{
    eio_http_field fields[16];
    size_t n_fields;
    eio_http_limits limits = {16, 4096};
    char *copy = exact_copy(s, len);
    long r = eio_http_parse_response(copy, len, &limits, fields, &n_fields, status, content_length,
                                     chunked, connection_close);
    free(copy);
    return r;
}

/* Every prefix of s shorter than len is INCOMPLETE, or (for an error) the
 * same error; the whole gives expect. */
static void check_prefixes(const char *s, size_t len, size_t max_headers, size_t max_bytes,
                           long expect)
{
    int bad = 0;
    for (size_t k = 0; k < len && !bad; k++) {
        long r = request_len_limits(s, k, max_headers, max_bytes);
        if (r != EIO_HTTP_INCOMPLETE && (expect > 0 || r != expect)) {
            fprintf(stderr, "  prefix of %zu bytes gave %ld\n", k, r);
            bad = 1;
        }
    }
    CHECK(!bad);
    CHECK_EQ_INT(request_len_limits(s, len, max_headers, max_bytes), expect);
}

/* ---- requests ---- */

static void test_simple_get(void)
{
    const char *s = "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\n"
                    "Host: example.com\r\n"
                    "User-Agent: test\r\n"
                    "\r\n";
    parsed p;
    CHECK_EQ_INT(parse(&p, s), strlen(s));
    eio_http_head *h = &p.head;
    CHECK_EQ_INT(h->head_len, strlen(s));
    CHECK_MEM(h->method.p, h->method.len, "GET");
    CHECK_MEM(h->target.p, h->target.len, "/engine.io/?EIO=4&transport=polling");
    CHECK_MEM(h->path.p, h->path.len, "/engine.io/");
    CHECK_MEM(h->query.p, h->query.len, "EIO=4&transport=polling");
    CHECK_EQ_INT(h->minor_version, 1);
    CHECK(h->fields == p.fields);
    CHECK_EQ_INT(h->n_fields, 2);
    CHECK_MEM(h->fields[0].name.p, h->fields[0].name.len, "Host");
    CHECK_MEM(h->fields[0].value.p, h->fields[0].value.len, "example.com");
    CHECK_MEM(h->fields[1].name.p, h->fields[1].name.len, "User-Agent");
    CHECK_MEM(h->fields[1].value.p, h->fields[1].value.len, "test");
    CHECK_EQ_INT(h->content_length, -1);
    CHECK_EQ_INT(h->chunked, 0);
    CHECK_EQ_INT(h->keep_alive, 1);
    CHECK_EQ_INT(h->connection_upgrade, 0);
    CHECK_EQ_INT(h->expect_continue, 0);
    parsed_free(&p);
}

static void test_post_content_length(void)
{
    const char *s = "POST /engine.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\n"
                    "Host: x\r\n"
                    "Content-Type: text/plain;charset=UTF-8\r\n"
                    "Content-Length: 12\r\n"
                    "\r\n"
                    "4hello world";
    size_t head = strlen(s) - 12;
    parsed p;
    CHECK_EQ_INT(parse(&p, s), head);
    CHECK_MEM(p.head.method.p, p.head.method.len, "POST");
    CHECK_EQ_INT(p.head.content_length, 12);
    CHECK_EQ_INT(p.head.chunked, 0);
    CHECK_EQ_INT(p.head.n_fields, 3);
    parsed_free(&p);

    CHECK_EQ_INT(request("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), 38);
    parse(&p, "POST / HTTP/1.1\r\ncontent-length:  \t 12 \t \r\n\r\n");
    CHECK(p.r > 0);
    CHECK_EQ_INT(p.head.content_length, 12);
    CHECK_MEM(p.head.fields[0].value.p, p.head.fields[0].value.len, "12");
    parsed_free(&p);
    parse(&p, "POST / HTTP/1.1\r\nContent-Length: 000000000000042\r\n\r\n");
    CHECK(p.r > 0);
    CHECK_EQ_INT(p.head.content_length, 42);
    parsed_free(&p);
    parse(&p, "POST / HTTP/1.1\r\nContent-Length: 999999999999999\r\n\r\n");
    CHECK(p.r > 0);
    CHECK_EQ_INT(p.head.content_length, 999999999999999LL);
    parsed_free(&p);
}

static void test_content_length_errors(void)
{
    static const char *const bad[] = {
        "POST / HTTP/1.1\r\nContent-Length: 2e1\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: +12\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 12, 12\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 1000000000000000\r\n\r\n", /* 16 digits */
        "POST / HTTP/1.1\r\nContent-Length: 0000000000000001\r\n\r\n", /* 16 digits */
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n",
        "POST / HTTP/1.1\r\nCONTENT-LENGTH: 5\r\nHost: x\r\nContent-length: 5\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        long r = request(bad[i]);
        if (r != EIO_HTTP_ERR_CONTENT_LENGTH)
            fprintf(stderr, "  case %zu\n", i);
        CHECK_EQ_INT(r, EIO_HTTP_ERR_CONTENT_LENGTH);
    }
    /* Refused as soon as the second one's line is read. */
    CHECK_EQ_INT(request("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n"),
                 EIO_HTTP_ERR_CONTENT_LENGTH);
    CHECK_EQ_INT(eio_http_error_status(EIO_HTTP_ERR_CONTENT_LENGTH), 400);
}

static void test_transfer_encoding(void)
{
    parsed p;
    parse(&p, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    CHECK(p.r > 0);
    CHECK_EQ_INT(p.head.chunked, 1);
    CHECK_EQ_INT(p.head.content_length, -1);
    parsed_free(&p);
    parse(&p, "POST / HTTP/1.1\r\ntransfer-encoding: \t CHUNKED \t\r\n\r\n");
    CHECK(p.r > 0);
    CHECK_EQ_INT(p.head.chunked, 1);
    parsed_free(&p);

    static const char *const bad[] = {
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked;q=1\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunke\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        long r = request(bad[i]);
        if (r != EIO_HTTP_ERR_TRANSFER_ENCODING)
            fprintf(stderr, "  case %zu\n", i);
        CHECK_EQ_INT(r, EIO_HTTP_ERR_TRANSFER_ENCODING);
    }
    CHECK_EQ_INT(eio_http_error_status(EIO_HTTP_ERR_TRANSFER_ENCODING), 400);
}

static void test_version(void)
{
    parsed p;
    parse(&p, "GET / HTTP/1.0\r\n\r\n");
    CHECK_EQ_INT(p.r, 18);
    CHECK_EQ_INT(p.head.minor_version, 0);
    parsed_free(&p);

    CHECK_EQ_INT(request("GET / HTTP/2.0\r\n\r\n"), EIO_HTTP_ERR_VERSION);
    CHECK_EQ_INT(request("GET / HTTP/1.2\r\n\r\n"), EIO_HTTP_ERR_VERSION);
    CHECK_EQ_INT(request("GET / HTTP/0.9\r\n\r\n"), EIO_HTTP_ERR_VERSION);
    CHECK_EQ_INT(request("GET / HTTP/9.1\r\n\r\n"), EIO_HTTP_ERR_VERSION);
    /* Known from its eight bytes, before the line ends. */
    CHECK_EQ_INT(request("GET / HTTP/2.0"), EIO_HTTP_ERR_VERSION);
    CHECK_EQ_INT(eio_http_error_status(EIO_HTTP_ERR_VERSION), 505);

    CHECK_EQ_INT(request("GET / http/1.1\r\n\r\n"), EIO_HTTP_ERR_SYNTAX);
    CHECK_EQ_INT(request("GET / HTTP/1.1 \r\n\r\n"), EIO_HTTP_ERR_SYNTAX);
    CHECK_EQ_INT(request("GET / HTTP/1.10\r\n\r\n"), EIO_HTTP_ERR_SYNTAX);
    CHECK_EQ_INT(request("GET / HTTP/11\r\n\r\n"), EIO_HTTP_ERR_SYNTAX);
    CHECK_EQ_INT(request("GET / HTTP/1.x\r\n\r\n"), EIO_HTTP_ERR_SYNTAX);
    CHECK_EQ_INT(request("GET / HTTX"), EIO_HTTP_ERR_SYNTAX);
    CHECK_EQ_INT(request("GET /\r\n\r\n"), EIO_HTTP_ERR_SYNTAX); /* HTTP/0.9 */
    CHECK_EQ_INT(request("GET / \r\n\r\n"), EIO_HTTP_ERR_SYNTAX);
}

static void test_syntax_errors(void)
{
    static const struct {
        const char *s;
        size_t len;
    } bad[] = {
        LIT("GET / HTTP/1.1\nHost: x\r\n\r\n"),              /* bare LF after the request line */
        LIT("GET / HTTP/1.1\r\nHost: x\n\r\n"),              /* bare LF after a field */
        LIT("GET / HTTP/1.1\r\nHost: x\r\n\n"),              /* bare LF at the end */
        LIT("GET / HTTP/1.1\r\n\n"),                         /* bare LF as the empty line */
        LIT("GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n"),      /* bare CR */
        LIT("GET / HTTP/1.1\r\nHost: x\r\n\rX"),             /* CR without LF at the end */
        LIT("GET / HTTP/1.1\r\nX-A: 1\r\n  folded\r\n\r\n"), /* obs-fold */
        LIT("GET / HTTP/1.1\r\nX-A: 1\r\n\tfolded\r\n\r\n"), /* obs-fold with HT */
        LIT("GET / HTTP/1.1\r\n Host: x\r\n\r\n"),           /* whitespace before the first field */
        LIT("GET / HTTP/1.1\r\nHost : x\r\n\r\n"),           /* space before colon */
        LIT("GET / HTTP/1.1\r\nHost\t: x\r\n\r\n"),          /* tab before colon */
        LIT("GET / HTTP/1.1\r\n: x\r\n\r\n"),                /* empty name */
        LIT("GET / HTTP/1.1\r\nHo(st: x\r\n\r\n"),           /* bad name byte */
        LIT("GET / HTTP/1.1\r\nHost x\r\n\r\n"),             /* no colon */
        LIT("GET / HTTP/1.1\r\nX-A: a\x01z\r\n\r\n"),        /* control byte in value */
        LIT("GET / HTTP/1.1\r\nX-A: a\x7fz\r\n\r\n"),        /* DEL in value */
        LIT("GET / HTTP/1.1\r\nX-A: a\x1b\r\n\r\n"),         /* ESC in value */
        LIT("GET / HTTP/1.1\r\nX-A: a\0z\r\n\r\n"),          /* NUL in value */
        LIT("GET /a\0b HTTP/1.1\r\n\r\n"),                   /* NUL in target */
        LIT("GET /a\x7f HTTP/1.1\r\n\r\n"),                  /* DEL in target */
        LIT("GET /a\tb HTTP/1.1\r\n\r\n"),                   /* HT in target */
        LIT(" / HTTP/1.1\r\n\r\n"),                          /* empty method */
        LIT("G(T / HTTP/1.1\r\n\r\n"),                       /* non-token method */
        LIT("GET\t/ HTTP/1.1\r\n\r\n"),                      /* HT as separator */
        LIT("GET  / HTTP/1.1\r\n\r\n"),                      /* two spaces: empty target */
        LIT("GET / HTTP/1.1 x\r\n\r\n"),                     /* junk after the version */
        LIT("\nGET / HTTP/1.1\r\n\r\n"),                     /* bare LF before the request line */
        LIT("\rGET / HTTP/1.1\r\n\r\n"),                     /* bare CR before the request line */
        LIT("\0GET / HTTP/1.1\r\n\r\n"),                     /* NUL first */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        size_t len = bad[i].len;
        long r = request_len_limits(bad[i].s, len, 100, 16384);
        if (r != EIO_HTTP_ERR_SYNTAX)
            fprintf(stderr, "  case %zu\n", i);
        CHECK_EQ_INT(r, EIO_HTTP_ERR_SYNTAX);
        /* No prefix gives anything but INCOMPLETE or the same error. */
        check_prefixes(bad[i].s, len, 100, 16384, EIO_HTTP_ERR_SYNTAX);
    }
    CHECK_EQ_INT(eio_http_error_status(EIO_HTTP_ERR_SYNTAX), 400);
}

static void test_field_values(void)
{
    parsed p;
    const char *s = "GET / HTTP/1.1\r\n"
                    "X-Tab: a\tb\r\n"
                    "X-Obs: caf\xc3\xa9 \xff\r\n"
                    "X-Trim: \t  padded value \t \r\n"
                    "X-Empty:\r\n"
                    "X-Spaces:    \r\n"
                    "X-Colon: a:b: c\r\n"
                    "!#$%&'*+-.^_`|~09azAZ: token\r\n"
                    "\r\n";
    CHECK_EQ_INT(parse(&p, s), strlen(s));
    CHECK_EQ_INT(p.head.n_fields, 7);
    eio_http_field *f = p.head.fields;
    CHECK_MEM(f[0].value.p, f[0].value.len, "a\tb");
    CHECK_MEM(f[1].value.p, f[1].value.len, "caf\xc3\xa9 \xff");
    CHECK_MEM(f[2].value.p, f[2].value.len, "padded value");
    CHECK_MEM(f[3].value.p, f[3].value.len, "");
    CHECK_MEM(f[4].value.p, f[4].value.len, "");
    CHECK_MEM(f[5].value.p, f[5].value.len, "a:b: c");
    CHECK_MEM(f[6].name.p, f[6].name.len, "!#$%&'*+-.^_`|~09azAZ");
    /* Slices point into the input. */
    CHECK(f[0].name.p >= p.copy && f[6].value.p + f[6].value.len <= p.copy + p.r);

    CHECK(eio_http_find(&p.head, "x-obs") == &f[1]);
    CHECK(eio_http_find(&p.head, "X-TRIM") == &f[2]);
    CHECK(eio_http_find(&p.head, "X-Tri") == NULL);
    CHECK(eio_http_find(&p.head, "Host") == NULL);
    parsed_free(&p);

    /* Obs-text in the target and methods made of any tchar. */
    parse(&p, "M-SEARCH /caf\xc3\xa9?q=\xff HTTP/1.1\r\n\r\n");
    CHECK(p.r > 0);
    CHECK_MEM(p.head.method.p, p.head.method.len, "M-SEARCH");
    CHECK_MEM(p.head.path.p, p.head.path.len, "/caf\xc3\xa9");
    CHECK_MEM(p.head.query.p, p.head.query.len, "q=\xff");
    parsed_free(&p);
}

static void test_leading_empty_lines(void)
{
    const char *s = "\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    parsed p;
    CHECK_EQ_INT(parse(&p, s), strlen(s));
    CHECK_MEM(p.head.method.p, p.head.method.len, "GET");
    CHECK_EQ_INT(p.head.head_len, strlen(s));
    parsed_free(&p);
    CHECK_EQ_INT(request("\r\n"), EIO_HTTP_INCOMPLETE);
    check_prefixes(s, strlen(s), 100, 16384, (long)strlen(s));
}

static void test_path_query(void)
{
    static const struct {
        const char *target, *path, *query;
    } cases[] = {
        {"/", "/", ""},
        {"/a/b?x=1&y=2", "/a/b", "x=1&y=2"},
        {"/a?", "/a", ""},
        {"/?a?b", "/", "a?b"},
        {"/a#frag", "/a#frag", ""},
        {"//double", "//double", ""},
        {"*", "*", ""},
        {"http://example.com/a/b?c=d", "/a/b", "c=d"},
        {"HTTP://example.com:8080/x", "/x", ""},
        {"https://example.com", "/", ""},
        {"http://example.com?q=1", "/", "q=1"},
        {"http://user@example.com/", "/", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char s[256];
        snprintf(s, sizeof(s), "OPTIONS %s HTTP/1.1\r\n\r\n", cases[i].target);
        parsed p;
        CHECK_EQ_INT(parse(&p, s), strlen(s));
        CHECK_MEM(p.head.target.p, p.head.target.len, cases[i].target);
        CHECK_MEM(p.head.path.p, p.head.path.len, cases[i].path);
        CHECK_MEM(p.head.query.p, p.head.query.len, cases[i].query);
        /* Even the "/" of a target without a path points into the input. */
        CHECK(p.head.path.p >= p.copy && p.head.path.p + p.head.path.len <= p.copy + p.r);
        CHECK(p.head.query.p >= p.copy && p.head.query.p + p.head.query.len <= p.copy + p.r);
        parsed_free(&p);
    }
    static const char *const bad[] = {
        "a/b", "**", "http:/x", "http://", "http:///x", "ftp://example.com/", "example.com:443",
        "?x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        char s[256];
        snprintf(s, sizeof(s), "GET %s HTTP/1.1\r\n\r\n", bad[i]);
        long r = request(s);
        if (r != EIO_HTTP_ERR_SYNTAX)
            fprintf(stderr, "  target %s\n", bad[i]);
        CHECK_EQ_INT(r, EIO_HTTP_ERR_SYNTAX);
    }
}

/* keep_alive and connection_upgrade of a request with the given version and
 * extra header lines. */
static void connection_flags(const char *version, const char *headers, int *keep_alive,
                             int *upgrade)
{
    char s[512];
    snprintf(s, sizeof(s), "GET / HTTP/%s\r\n%s\r\n", version, headers);
    parsed p;
    *keep_alive = *upgrade = -1;
    if (parse(&p, s) == (long)strlen(s)) {
        *keep_alive = p.head.keep_alive;
        *upgrade = p.head.connection_upgrade;
    }
    parsed_free(&p);
}

static void test_keep_alive(void)
{
    static const struct {
        const char *version, *headers;
        int keep_alive, upgrade;
    } cases[] = {
        {"1.0", "", 0, 0},
        {"1.0", "Connection: keep-alive\r\n", 1, 0},
        {"1.0", "Connection: Keep-Alive\r\n", 1, 0},
        {"1.0", "Connection: keep-alive, close\r\n", 0, 0},
        {"1.0", "Connection: close\r\n", 0, 0},
        {"1.1", "", 1, 0},
        {"1.1", "Connection: close\r\n", 0, 0},
        {"1.1", "Connection: CLOSE\r\n", 0, 0},
        {"1.1", "Connection: keep-alive\r\n", 1, 0},
        {"1.1", "Connection: Upgrade, keep-alive\r\n", 1, 1},
        {"1.1", "Connection: keep-alive,Upgrade\r\n", 1, 1},
        {"1.1", "Connection: Upgrade\r\nUpgrade: websocket\r\n", 1, 1},
        {"1.1", "Connection: ,, \t upgrade \t ,\r\n", 1, 1},
        {"1.1", "Connection: upgrade\r\nConnection: close\r\n", 0, 1},
        {"1.0", "Connection: foo\r\nX: y\r\nconnection: keep-alive\r\n", 1, 0},
        {"1.1", "Connection: closed, upgrades, keep-alive-ish\r\n", 1, 0},
        {"1.1", "X-Connection: close\r\n", 1, 0},
        {"1.1", "Connection: \"close\"\r\n", 1, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        int keep_alive, upgrade;
        connection_flags(cases[i].version, cases[i].headers, &keep_alive, &upgrade);
        if (keep_alive != cases[i].keep_alive || upgrade != cases[i].upgrade)
            fprintf(stderr, "  case %zu\n", i);
        CHECK_EQ_INT(keep_alive, cases[i].keep_alive);
        CHECK_EQ_INT(upgrade, cases[i].upgrade);
    }
}

static void test_expect_continue(void)
{
    static const struct {
        const char *headers;
        int expect;
    } cases[] = {
        {"", 0},
        {"Expect: 100-continue\r\n", 1},
        {"expect: \t100-CONTINUE \r\n", 1},
        {"Expect: 100-continue-ish\r\n", 0},
        {"Expect: 200-ok\r\n", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char s[256];
        snprintf(s, sizeof(s), "POST / HTTP/1.1\r\nContent-Length: 3\r\n%s\r\n", cases[i].headers);
        parsed p;
        CHECK_EQ_INT(parse(&p, s), strlen(s));
        CHECK_EQ_INT(p.head.expect_continue, cases[i].expect);
        parsed_free(&p);
    }
}

/* "GET / HTTP/1.1\r\n" and n lines "X-N: v\r\n", then the empty line if
 * complete. Returns the length written into buf. */
static size_t make_request_with_fields(char *buf, size_t size, size_t n, int complete)
{
    size_t len = (size_t)snprintf(buf, size, "GET / HTTP/1.1\r\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, size - len, "X-%zu: v\r\n", i);
    if (complete)
        len += (size_t)snprintf(buf + len, size - len, "\r\n");
    return len;
}

static void test_header_limit(void)
{
    char buf[4096];
    size_t len = make_request_with_fields(buf, sizeof(buf), 10, 1);
    parsed p;
    CHECK_EQ_INT(parse_with(&p, buf, len, 10, 16384), len);
    CHECK_EQ_INT(p.head.n_fields, 10);
    CHECK_MEM(p.head.fields[9].name.p, p.head.fields[9].name.len, "X-9");
    parsed_free(&p);

    len = make_request_with_fields(buf, sizeof(buf), 11, 1);
    CHECK_EQ_INT(request_len_limits(buf, len, 10, 16384), EIO_HTTP_ERR_TOO_MANY_HEADERS);
    CHECK_EQ_INT(request_len_limits(buf, len, 11, 16384), len);
    check_prefixes(buf, len, 10, 16384, EIO_HTTP_ERR_TOO_MANY_HEADERS);

    /* While incomplete: at the first byte of the eleventh line. */
    len = make_request_with_fields(buf, sizeof(buf), 10, 0);
    CHECK_EQ_INT(request_len_limits(buf, len, 10, 16384), EIO_HTTP_INCOMPLETE);
    buf[len] = 'X';
    CHECK_EQ_INT(request_len_limits(buf, len + 1, 10, 16384), EIO_HTTP_ERR_TOO_MANY_HEADERS);
    buf[len] = '\r';
    CHECK_EQ_INT(request_len_limits(buf, len + 1, 10, 16384), EIO_HTTP_INCOMPLETE);

    /* No headers allowed at all. */
    CHECK_EQ_INT(request_len_limits("GET / HTTP/1.1\r\n\r\n", 18, 0, 16384), 18);
    CHECK_EQ_INT(request_len_limits("GET / HTTP/1.1\r\nA", 17, 0, 16384),
                 EIO_HTTP_ERR_TOO_MANY_HEADERS);
    CHECK_EQ_INT(eio_http_error_status(EIO_HTTP_ERR_TOO_MANY_HEADERS), 431);

    /* Default limits (NULL): 100 headers. */
    eio_http_field fields[101];
    eio_http_head h;
    len = make_request_with_fields(buf, sizeof(buf), 100, 1);
    CHECK_EQ_INT(eio_http_parse_request(buf, len, NULL, fields, &h), len);
    len = make_request_with_fields(buf, sizeof(buf), 101, 1);
    CHECK_EQ_INT(eio_http_parse_request(buf, len, NULL, fields, &h), EIO_HTTP_ERR_TOO_MANY_HEADERS);
}

static void test_head_size_limit(void)
{
    /* A head of exactly 64 bytes. */
    char s[256];
    const char *start = "GET / HTTP/1.1\r\nX-Pad: ";
    size_t len = strlen(start);
    memcpy(s, start, len);
    while (len < 64 - 4)
        s[len++] = 'a';
    memcpy(s + len, "\r\n\r\n", 4);
    len += 4;
    CHECK_EQ_INT(len, 64);
    CHECK_EQ_INT(request_len_limits(s, len, 100, 64), 64);
    /* Extra bytes after a head within the limit do not matter. */
    memcpy(s + len, "GET / HTTP/1.1\r\n", 16);
    CHECK_EQ_INT(request_len_limits(s, len + 16, 100, 64), 64);
    /* One byte over. */
    CHECK_EQ_INT(request_len_limits(s, len, 100, 63), EIO_HTTP_ERR_HEAD_TOO_LARGE);
    check_prefixes(s, len, 100, 63, EIO_HTTP_ERR_HEAD_TOO_LARGE);
    /* Incomplete: fine up to the limit, refused as soon as it is passed. */
    CHECK_EQ_INT(request_len_limits(s, 40, 100, 40), EIO_HTTP_INCOMPLETE);
    CHECK_EQ_INT(request_len_limits(s, 41, 100, 40), EIO_HTTP_ERR_HEAD_TOO_LARGE);
    /* A long request line too. */
    char line[200];
    memcpy(line, "GET /", 5);
    memset(line + 5, 'a', sizeof(line) - 5);
    CHECK_EQ_INT(request_len_limits(line, 100, 100, 100), EIO_HTTP_INCOMPLETE);
    CHECK_EQ_INT(request_len_limits(line, 101, 100, 100), EIO_HTTP_ERR_HEAD_TOO_LARGE);
    /* An error inside the limit is still reported as itself. */
    CHECK_EQ_INT(request_len_limits("GET  / HTTP/1.1\r\n\r\n", 20, 100, 10), EIO_HTTP_ERR_SYNTAX);
    /* Leading empty lines count. */
    CHECK_EQ_INT(request_len_limits("\r\n\r\nGET / HTTP/1.1\r\n\r\n", 22, 100, 21),
                 EIO_HTTP_ERR_HEAD_TOO_LARGE);
    CHECK_EQ_INT(request_len_limits("", 0, 100, 0), EIO_HTTP_INCOMPLETE);
    CHECK_EQ_INT(request_len_limits("G", 1, 100, 0), EIO_HTTP_ERR_HEAD_TOO_LARGE);
    CHECK_EQ_INT(eio_http_error_status(EIO_HTTP_ERR_HEAD_TOO_LARGE), 431);

    /* Default limits (NULL): 16384 bytes. */
    static char big[16400];
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    memset(big + 19, 'a', sizeof(big) - 19);
    eio_http_field fields[1];
    eio_http_head h;
    CHECK_EQ_INT(eio_http_parse_request(big, 16384, NULL, fields, &h), EIO_HTTP_INCOMPLETE);
    CHECK_EQ_INT(eio_http_parse_request(big, 16385, NULL, fields, &h), EIO_HTTP_ERR_HEAD_TOO_LARGE);
    memcpy(big + 16380, "\r\n\r\n", 4);
    CHECK_EQ_INT(eio_http_parse_request(big, sizeof(big), NULL, fields, &h), 16384);
}

static void test_every_split_point(void)
{
    static const char *const valid[] = {
        "GET / HTTP/1.1\r\n\r\n",
        "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
        "Host: localhost:3000\r\n"
        "Connection: Upgrade\r\n"
        "Upgrade: websocket\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "\r\n",
        "POST /x HTTP/1.0\r\nContent-Length:5\r\nConnection: keep-alive\r\n\r\n",
        "PUT http://h/p?q HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-Empty:\r\n\r\n",
        "\r\nOPTIONS * HTTP/1.1\r\nX:  \t \r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(valid) / sizeof(*valid); i++) {
        size_t len = strlen(valid[i]);
        check_prefixes(valid[i], len, 100, 16384, (long)len);
        /* The same at the tightest limits that accept it. */
        check_prefixes(valid[i], len, 5, len, (long)len);
    }
}

static void test_pipelined_bytes_not_read(void)
{
    const char *head = "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n";
    size_t head_len = strlen(head);
    static const char *const after[] = {"abc", "GET / HTTP/1.1\r\n\r\n", "\n\n\0\x7f", ""};
    for (size_t i = 0; i < sizeof(after) / sizeof(*after); i++) {
        char s[256];
        memcpy(s, head, head_len);
        size_t extra = i == 2 ? 4 : strlen(after[i]);
        memcpy(s + head_len, after[i], extra);
        parsed p;
        CHECK_EQ_INT(parse_with(&p, s, head_len + extra, 100, 16384), head_len);
        CHECK_EQ_INT(p.head.head_len, head_len);
        parsed_free(&p);
    }
    /* Two requests back to back: the second parses from where the first ended. */
    const char *two = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nConnection: close\r\n\r\n";
    parsed p;
    long r = parse(&p, two);
    CHECK_EQ_INT(r, 19);
    CHECK_MEM(p.head.path.p, p.head.path.len, "/a");
    CHECK_EQ_INT(p.head.keep_alive, 1);
    parsed_free(&p);
    CHECK_EQ_INT(parse(&p, two + 19), strlen(two) - 19);
    CHECK_MEM(p.head.path.p, p.head.path.len, "/b");
    CHECK_EQ_INT(p.head.keep_alive, 0);
    parsed_free(&p);
}

static void test_strerror(void)
{
    static const long codes[] = {EIO_HTTP_INCOMPLETE,
                                 EIO_HTTP_ERR_SYNTAX,
                                 EIO_HTTP_ERR_VERSION,
                                 EIO_HTTP_ERR_TOO_MANY_HEADERS,
                                 EIO_HTTP_ERR_HEAD_TOO_LARGE,
                                 EIO_HTTP_ERR_CONTENT_LENGTH,
                                 EIO_HTTP_ERR_TRANSFER_ENCODING,
                                 -1,
                                 -999};
    for (size_t i = 0; i < sizeof(codes) / sizeof(*codes); i++) {
        const char *m = eio_http_strerror(codes[i]);
        CHECK(m != NULL && m[0] != 0);
    }
    CHECK(strstr(eio_http_strerror(EIO_HTTP_ERR_CONTENT_LENGTH), "Content-Length") != NULL);
    CHECK(strcmp(eio_http_strerror(EIO_HTTP_ERR_SYNTAX), eio_http_strerror(-999)) != 0);
    CHECK_EQ_INT(eio_http_error_status(-999), 400);
}

/* ---- responses ---- */

static void test_response(void)
{
    int status, chunked, close;
    long long cl;
    const char *s = "HTTP/1.1 101 Switching Protocols\r\n"
                    "Upgrade: websocket\r\n"
                    "Connection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                    "\r\n";
    CHECK_EQ_INT(response(s, strlen(s), &status, &cl, &chunked, &close), strlen(s));
    CHECK_EQ_INT(status, 101);
    CHECK_EQ_INT(cl, -1);
    CHECK_EQ_INT(chunked, 0);
    CHECK_EQ_INT(close, 0);

    /* Fields are returned. */
    eio_http_field fields[4];
    size_t n_fields;
    eio_http_limits limits = {4, 1024};
    char *copy = exact_copy(s, strlen(s));
    CHECK_EQ_INT(eio_http_parse_response(copy, strlen(s), &limits, fields, &n_fields, &status, &cl,
                                         &chunked, &close),
                 strlen(s));
    CHECK_EQ_INT(n_fields, 3);
    CHECK_MEM(fields[2].name.p, fields[2].name.len, "Sec-WebSocket-Accept");
    CHECK_MEM(fields[2].value.p, fields[2].value.len, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    limits.max_headers = 2;
    CHECK_EQ_INT(eio_http_parse_response(copy, strlen(s), &limits, fields, &n_fields, &status, &cl,
                                         &chunked, &close),
                 EIO_HTTP_ERR_TOO_MANY_HEADERS);
    limits.max_headers = 4;
    limits.max_head_bytes = 50;
    CHECK_EQ_INT(eio_http_parse_response(copy, strlen(s), &limits, fields, &n_fields, &status, &cl,
                                         &chunked, &close),
                 EIO_HTTP_ERR_HEAD_TOO_LARGE);
    free(copy);

    s = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    CHECK_EQ_INT(response(s, strlen(s), &status, &cl, &chunked, &close), strlen(s) - 5);
    CHECK_EQ_INT(status, 200);
    CHECK_EQ_INT(cl, 5);
    CHECK_EQ_INT(close, 0);

    s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    CHECK_EQ_INT(response(s, strlen(s), &status, &cl, &chunked, &close), strlen(s));
    CHECK_EQ_INT(chunked, 1);
    CHECK_EQ_INT(close, 1);

    s = "HTTP/1.0 200 OK\r\n\r\n";
    CHECK_EQ_INT(response(s, strlen(s), &status, &cl, &chunked, &close), strlen(s));
    CHECK_EQ_INT(close, 1);
    s = "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n";
    CHECK_EQ_INT(response(s, strlen(s), &status, &cl, &chunked, &close), strlen(s));
    CHECK_EQ_INT(close, 0);
    s = "HTTP/1.1 204\r\n\r\n"; /* no reason phrase at all */
    CHECK_EQ_INT(response(s, strlen(s), &status, &cl, &chunked, &close), strlen(s));
    CHECK_EQ_INT(status, 204);
    s = "HTTP/1.1 404 \r\n\r\n"; /* empty reason phrase */
    CHECK_EQ_INT(response(s, strlen(s), &status, &cl, &chunked, &close), strlen(s));
    CHECK_EQ_INT(status, 404);
    s = "HTTP/1.1 599 Any\treason \xff\r\n\r\n";
    CHECK_EQ_INT(response(s, strlen(s), &status, &cl, &chunked, &close), strlen(s));
    CHECK_EQ_INT(status, 599);

    static const struct {
        const char *s;
        long r;
    } bad[] = {
        {"HTTP/2.0 200 OK\r\n\r\n", EIO_HTTP_ERR_VERSION},
        {"HTTP/1.2 200 OK\r\n\r\n", EIO_HTTP_ERR_VERSION},
        {"HTTP/1.1 20 OK\r\n\r\n", EIO_HTTP_ERR_SYNTAX},
        {"HTTP/1.1 2000 OK\r\n\r\n", EIO_HTTP_ERR_SYNTAX},
        {"HTTP/1.1 099 OK\r\n\r\n", EIO_HTTP_ERR_SYNTAX},
        {"HTTP/1.1  200 OK\r\n\r\n", EIO_HTTP_ERR_SYNTAX},
        {"HTTP/1.1 200 O\x01K\r\n\r\n", EIO_HTTP_ERR_SYNTAX},
        {"HTTP/1.1 200 OK\n\r\n", EIO_HTTP_ERR_SYNTAX},
        {"HTTP/1.1\r\n\r\n", EIO_HTTP_ERR_SYNTAX},
        {"http/1.1 200 OK\r\n\r\n", EIO_HTTP_ERR_SYNTAX},
        {"HTTP/1.1 200 OK\r\nX : y\r\n\r\n", EIO_HTTP_ERR_SYNTAX},
        {"HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n", EIO_HTTP_ERR_SYNTAX},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
         EIO_HTTP_ERR_CONTENT_LENGTH},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1e1\r\n\r\n", EIO_HTTP_ERR_CONTENT_LENGTH},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
         EIO_HTTP_ERR_TRANSFER_ENCODING},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
         EIO_HTTP_ERR_TRANSFER_ENCODING},
        {"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", EIO_HTTP_ERR_TRANSFER_ENCODING},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        long r = response(bad[i].s, strlen(bad[i].s), &status, &cl, &chunked, &close);
        if (r != bad[i].r)
            fprintf(stderr, "  case %zu\n", i);
        CHECK_EQ_INT(r, bad[i].r);
    }
}

static void test_response_every_split_point(void)
{
    const char *s = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
    size_t head = strlen(s) - 2;
    int status, chunked, close;
    long long cl;
    int bad = 0;
    for (size_t k = 0; k < head; k++)
        if (response(s, k, &status, &cl, &chunked, &close) != EIO_HTTP_INCOMPLETE)
            bad = 1;
    CHECK(!bad);
    for (size_t k = head; k <= strlen(s); k++)
        CHECK_EQ_INT(response(s, k, &status, &cl, &chunked, &close), head);
    CHECK_EQ_INT(cl, 2);
}

/* ---- chunked ---- */

/* Decodes s[0..len) in one call from an exactly-sized copy. The decoded data
 * goes to out (at least len bytes), its length to *out_len. */
static long chunked_whole(const char *s, size_t len, char *out, size_t *out_len, int *done)
{
    eio_http_chunked c;
    eio_http_chunked_init(&c);
    uint8_t *b = (uint8_t *)exact_copy(s, len);
    size_t n = len;
    long r = eio_http_chunked_decode(&c, b, &n, done);
    memcpy(out, b, n);
    *out_len = n;
    free(b);
    return r;
}

/* The same, fed in pieces of the given size, as a connection would: until
 * done or an error. Returns the total consumed, or -1. */
static long chunked_pieces(const char *s, size_t len, size_t piece, char *out, size_t *out_len,
                           int *done)
{
    eio_http_chunked c;
    eio_http_chunked_init(&c);
    size_t pos = 0;
    *out_len = 0;
    *done = 0;
    while (pos < len) {
        size_t n = len - pos < piece ? len - pos : piece, given = n;
        uint8_t *b = (uint8_t *)exact_copy(s + pos, n);
        long r = eio_http_chunked_decode(&c, b, &n, done);
        memcpy(out + *out_len, b, n);
        *out_len += n;
        free(b);
        if (r < 0)
            return -1;
        if ((size_t)r > given)
            return -2; /* would be a bug */
        pos += (size_t)r;
        if (*done)
            break;
        if ((size_t)r != given)
            return -3; /* not done, yet did not take everything */
    }
    return (long)pos;
}

/* Decodes s whole and in every piece size from 1 to its length; checks they
 * agree and that the result is expect_r, expect_done and the data expect. */
static void check_chunked(const char *s, size_t len, long expect_r, int expect_done,
                          const char *expect)
{
    char *out = malloc(len + 1);
    size_t out_len;
    int done;
    long r = chunked_whole(s, len, out, &out_len, &done);
    CHECK_EQ_INT(r, expect_r);
    CHECK_EQ_INT(done, expect_done);
    if (expect)
        CHECK_MEM(out, out_len, expect);
    int bad = 0;
    for (size_t piece = 1; piece <= len && !bad; piece++) {
        size_t piece_len;
        int piece_done;
        long pr = chunked_pieces(s, len, piece, out, &piece_len, &piece_done);
        if (pr != expect_r || piece_done != expect_done ||
            (expect && (piece_len != strlen(expect) || memcmp(out, expect, piece_len) != 0))) {
            fprintf(stderr, "  pieces of %zu: %ld, done %d, %zu bytes\n", piece, pr, piece_done,
                    piece_len);
            bad = 1;
        }
    }
    CHECK(!bad);
    free(out);
}

static void test_chunked_simple(void)
{
    const char *s = "4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n";
    check_chunked(s, strlen(s), (long)strlen(s), 1, "Wikipedia in\r\n\r\nchunks.");
    s = "a\r\n0123456789\r\nA\r\nabcdefghij\r\n1F\r\n0123456789012345678901234567890\r\n"
        "0\r\n\r\n";
    check_chunked(s, strlen(s), (long)strlen(s), 1,
                  "0123456789abcdefghij0123456789012345678901234567890");
    s = "0\r\n\r\n";
    check_chunked(s, strlen(s), 5, 1, "");
    s = "00000004\r\nWiki\r\n000\r\n\r\n";
    check_chunked(s, strlen(s), (long)strlen(s), 1, "Wiki");
    /* Data may hold anything, CR and LF and NUL included. */
    const char bin[] = "3\r\n\0\r\n\r\n0\r\n\r\n";
    check_chunked(bin, sizeof(bin) - 1, (long)sizeof(bin) - 1, 1, NULL);
    char out[32];
    size_t out_len;
    int done;
    chunked_whole(bin, sizeof(bin) - 1, out, &out_len, &done);
    CHECK_EQ_INT(out_len, 3);
    CHECK(memcmp(out, "\0\r\n", 3) == 0);
}

static void test_chunked_in_place(void)
{
    uint8_t buf[] = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nNEXT";
    size_t len = sizeof(buf) - 1;
    eio_http_chunked c;
    eio_http_chunked_init(&c);
    int done = 0;
    long r = eio_http_chunked_decode(&c, buf, &len, &done);
    CHECK_EQ_INT(r, sizeof(buf) - 1 - 4);
    CHECK_EQ_INT(done, 1);
    CHECK_MEM(buf, len, "abcde");
    /* The rest is the caller's, untouched. */
    CHECK_MEM(buf + r, 4, "NEXT");
}

static void test_chunked_incomplete(void)
{
    /* Every prefix: all consumed, not done, the data so far. */
    const char *s = "4\r\nWiki\r\n0\r\nX: y\r\n\r\n";
    size_t len = strlen(s);
    for (size_t k = 0; k < len; k++) {
        char out[64];
        size_t out_len;
        int done;
        long r = chunked_whole(s, k, out, &out_len, &done);
        CHECK_EQ_INT(r, k);
        CHECK_EQ_INT(done, 0);
        CHECK_EQ_INT(out_len, k < 3 ? 0 : k - 3 < 4 ? k - 3 : 4);
    }
    /* A size is not known until its line ends; a chunk not over till CRLF. */
    check_chunked("4\r\nWiki", 7, 7, 0, "Wiki");
    check_chunked("4\r\nWiki\r\n", 9, 9, 0, "Wiki");
    check_chunked("4\r\nWiki\r\n0\r\n", 12, 12, 0, "Wiki");
}

static void test_chunked_extensions(void)
{
    const char *s = "4;name=value\r\nWiki\r\n5;a;b=\"q;\\\"x\"\r\npedia\r\n0;last\r\n\r\n";
    check_chunked(s, strlen(s), (long)strlen(s), 1, "Wikipedia");
    s = "4 ;x\r\nWiki\r\n0\t; y \r\n\r\n";
    check_chunked(s, strlen(s), (long)strlen(s), 1, "Wiki");
    s = "4;\r\nWiki\r\n0\r\n\r\n";
    check_chunked(s, strlen(s), (long)strlen(s), 1, "Wiki");
    /* Obs-text is skipped like the rest. */
    s = "4;x=\xff\xfe\r\nWiki\r\n0\r\n\r\n";
    check_chunked(s, strlen(s), (long)strlen(s), 1, "Wiki");
}

static void test_chunked_trailers(void)
{
    const char *s = "4\r\nWiki\r\n0\r\nX-A: 1\r\nX-B:\r\nChecksum: \tabc \xff\r\n\r\nGET";
    check_chunked(s, strlen(s), (long)strlen(s) - 3, 1, "Wiki");
    /* 64 trailer lines are fine, 65 are not. */
    char buf[2048];
    size_t len = (size_t)snprintf(buf, sizeof(buf), "0\r\n");
    for (int i = 0; i < 64; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "T%d: v\r\n", i);
    memcpy(buf + len, "\r\n", 2);
    check_chunked(buf, len + 2, (long)len + 2, 1, "");
    len += (size_t)snprintf(buf + len, sizeof(buf) - len, "T64: v\r\n\r\n");
    check_chunked(buf, len, -1, 0, "");
}

static void test_chunked_leftover(void)
{
    /* What follows the terminating chunk is not consumed, whatever it is. */
    static const char *const after[] = {"GET / HTTP/1.1\r\n\r\n", "\r\n", "0\r\n\r\n", "x"};
    for (size_t i = 0; i < sizeof(after) / sizeof(*after); i++) {
        char s[128];
        int n = snprintf(s, sizeof(s), "2\r\nhi\r\n0\r\n\r\n%s", after[i]);
        check_chunked(s, (size_t)n, (long)((size_t)n - strlen(after[i])), 1, "hi");
    }
    /* Once done, a later call consumes nothing. */
    eio_http_chunked c;
    eio_http_chunked_init(&c);
    uint8_t buf[] = "0\r\n\r\nabc";
    size_t len = 5;
    int done = 0;
    CHECK_EQ_INT(eio_http_chunked_decode(&c, buf, &len, &done), 5);
    CHECK_EQ_INT(done, 1);
    len = 3;
    done = 0;
    CHECK_EQ_INT(eio_http_chunked_decode(&c, buf + 5, &len, &done), 0);
    CHECK_EQ_INT(done, 1);
    CHECK_EQ_INT(len, 0);
    CHECK_MEM(buf + 5, 3, "abc");
}

static void test_chunked_errors(void)
{
    static const char *const bad[] = {
        "g\r\n",                /* bad hex */
        "4x\r\nWiki\r\n",       /* junk after the size */
        "-4\r\n",               /* a sign */
        "+4\r\n",               /* a sign */
        "0x4\r\n",              /* a prefix */
        "\r\n",                 /* no size */
        " 4\r\n",               /* space before the size */
        ";x\r\n",               /* extension without a size */
        "4 \r\nWiki\r\n",       /* whitespace not before ';' */
        "4 x\r\nWiki\r\n",      /* whitespace then junk */
        "4\nWiki\r\n",          /* bare LF after the size */
        "4\rWiki\r\n",          /* CR without LF after the size */
        "4;a\nb\r\nWiki\r\n",   /* bare LF in an extension */
        "4;a\x01\r\nWiki\r\n",  /* control byte in an extension */
        "4\r\nWikiX\r\n",       /* no CRLF after the data */
        "4\r\nWiki\n0\r\n\r\n", /* LF without CR after the data */
        "4\r\nWiki\rX",         /* CR without LF after the data */
        "4\r\nWiki\r\n\r\n",    /* empty size line after a chunk */
        "0\r\n\n",              /* bare LF ending the trailers */
        "0\r\n\rX",             /* CR without LF ending the trailers */
        "0\r\nX: y\n\r\n",      /* bare LF after a trailer */
        "0\r\n X: y\r\n\r\n",   /* trailer folding */
        "0\r\nX y\r\n\r\n",     /* trailer without a colon */
        "0\r\n: y\r\n\r\n",     /* trailer without a name */
        "0\r\nX: \x7f\r\n\r\n", /* DEL in a trailer */
        "20000000000001\r\n",   /* 2^53 + 1 */
        "FFFFFFFFFFFFFFFFFFFF\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        char out[64];
        size_t out_len;
        int done;
        long r = chunked_whole(bad[i], strlen(bad[i]), out, &out_len, &done);
        if (r != -1)
            fprintf(stderr, "  case %zu\n", i);
        CHECK_EQ_INT(r, -1);
        CHECK_EQ_INT(done, 0);
        check_chunked(bad[i], strlen(bad[i]), -1, 0, NULL);
    }
    /* 2^53 itself is a (very large) size. */
    check_chunked("20000000000000\r\n", 16, 16, 0, "");
    /* The data before the bad byte is decoded, and the error sticks. */
    eio_http_chunked c;
    eio_http_chunked_init(&c);
    uint8_t buf[] = "2\r\nhiX";
    size_t len = 6;
    int done = 1;
    CHECK_EQ_INT(eio_http_chunked_decode(&c, buf, &len, &done), -1);
    CHECK_EQ_INT(done, 0);
    CHECK_MEM(buf, len, "hi");
    uint8_t good[] = "0\r\n\r\n";
    len = 5;
    CHECK_EQ_INT(eio_http_chunked_decode(&c, good, &len, &done), -1);
    len = 0;
    CHECK_EQ_INT(eio_http_chunked_decode(&c, good, &len, &done), -1);
}

static void test_chunked_line_limits(void)
{
    static char buf[8300];
    /* A size line of exactly 4096 bytes (before its CRLF) is fine. */
    memcpy(buf, "1;", 2);
    memset(buf + 2, 'a', 4094);
    memcpy(buf + 4096, "\r\nx\r\n0\r\n\r\n", 10);
    char *out = malloc(sizeof(buf));
    size_t out_len;
    int done;
    CHECK_EQ_INT(chunked_whole(buf, 4106, out, &out_len, &done), 4106);
    CHECK_EQ_INT(done, 1);
    CHECK_MEM(out, out_len, "x");
    /* One more byte is refused, before the line ends. */
    memset(buf + 2, 'a', 4095);
    CHECK_EQ_INT(chunked_whole(buf, 4097, out, &out_len, &done), -1);
    /* Leading zeros count too. */
    memset(buf, '0', 4097);
    CHECK_EQ_INT(chunked_whole(buf, 4096, out, &out_len, &done), 4096);
    CHECK_EQ_INT(chunked_whole(buf, 4097, out, &out_len, &done), -1);
    /* The same for a trailer line. */
    memcpy(buf, "0\r\nX:", 5);
    memset(buf + 5, 'v', 4094);
    memcpy(buf + 4099, "\r\n\r\n", 4);
    CHECK_EQ_INT(chunked_whole(buf, 4103, out, &out_len, &done), 4103);
    CHECK_EQ_INT(done, 1);
    buf[4099] = 'v';
    CHECK_EQ_INT(chunked_whole(buf, 4100, out, &out_len, &done), -1);
    /* The limit is per line: many long lines are fine. */
    size_t len = 0;
    for (int i = 0; i < 2; i++) {
        memcpy(buf + len, "1;", 2);
        memset(buf + len + 2, 'e', 4000);
        memcpy(buf + len + 4002, "\r\nz\r\n", 5);
        len += 4007;
    }
    memcpy(buf + len, "0\r\n\r\n", 5);
    len += 5;
    CHECK_EQ_INT(chunked_whole(buf, len, out, &out_len, &done), len);
    CHECK_MEM(out, out_len, "zz");
    free(out);
}

/* ---------------------------------------------------------------- Accept-Encoding */

/* Each value with the coding Node's accepts(req).encodings() picks among
 * ["br", "gzip", "deflate"] (socket.io's sendFile) and ["gzip", "deflate"]
 * (engine.io's polling), "" for none: the table was printed by accepts 1.3.8
 * (negotiator 0.6.3) run on these very values (a NULL value: no header). */
static const struct {
    const char *value, *three, *two;
} accept_cases[] = {
    {NULL, "", ""},
    {"", "", ""},
    {"gzip", "gzip", "gzip"},
    {"deflate", "deflate", "deflate"},
    {"br", "br", ""},
    {"identity", "", ""},
    {"*", "br", "gzip"},
    {"gzip, deflate", "gzip", "gzip"},
    {"deflate, gzip", "deflate", "deflate"},
    {"gzip, deflate, br", "gzip", "gzip"},
    {"br, gzip", "br", "gzip"},
    {"gzip, deflate, br, zstd", "gzip", "gzip"},
    {"gzip;q=0", "", ""},
    {"gzip;q=0, deflate", "deflate", "deflate"},
    {"GZIP", "gzip", "gzip"},
    {"x-gzip", "", ""},
    {"gzip;q=0.5, deflate;q=0.8", "deflate", "deflate"},
    {"*;q=0.1, gzip;q=0", "br", "deflate"},
    {"gzip, *;q=2", "br", "deflate"},
    {"*, gzip;q=0.5", "br", "deflate"},
    {"gzip;q=abc", "", ""},
    {"gzip;q=abc, gzip", "gzip", "gzip"},
    {"gzip, gzip;q=abc", "", ""},
    {"gzip;q", "", ""},
    {"gzip;q=", "", ""},
    {"gzip; q=0", "", ""},
    {"gzip;q =0", "gzip", "gzip"},
    {"gzip;q= 0", "", ""},
    {"gzip;x=1;q=0;q=1", "", ""},
    {"gzip ;q=0.0001", "gzip", "gzip"},
    {"gzip x", "", ""},
    {" , gzip", "gzip", "gzip"},
    {"gzip;q=1e400, deflate;q=Infinity", "gzip", "gzip"},
    {"deflate;q=Infinity, gzip;q=1e400", "deflate", "deflate"},
    {"gzip;q=-1", "", ""},
    {"gzip;q=0x1", "", ""},
    {"gzip;q=.5e1, deflate;q=4.9", "gzip", "gzip"},
    {"gzip;q=1.e", "gzip", "gzip"},
    {"gzip;q=+.5", "gzip", "gzip"},
    {"gzip;q=inf", "", ""},
    {"gzip;q=0.5=3, deflate;q=0.4", "gzip", "gzip"},
    {"gzip\xa0"
     "",
     "gzip", "gzip"},
    {"\xa0"
     "gzip\xa0"
     ";\xa0"
     "q=0.5, deflate;q=0.4",
     "gzip", "gzip"},
    {"identity;q=0, *;q=0", "", ""},
    {"deflate;q=0.5, *", "br", "gzip"},
    {"gzip;q=0.5, *;q=0.5", "gzip", "gzip"},
    {"*;q=0.5, gzip;q=0.5", "gzip", "gzip"},
    {"gZiP;Q=0", "gzip", "gzip"},
    {"gzip;q=0.1,gzip;q=0.9,deflate;q=0.5", "gzip", "gzip"},
    {"gzip;q=0.9,gzip;q=0.1,deflate;q=0.5", "gzip", "gzip"},
    {"deflate;q=1;q=0", "deflate", "deflate"},
    {";q=1", "", ""},
    {"gzip;", "gzip", "gzip"},
    {"gzip;;q=0", "", ""},
    {"br;q=1.0, gzip;q=0.8, *;q=0.1", "br", "gzip"},
    {"gzip\t;\tq=0", "", ""},
};

static const char *pick(const char *value, const char *const *provided, size_t n)
{
    char *copy = value ? exact_copy(value, strlen(value)) : NULL;
    int i = eio_http_accept_encoding(copy, value ? strlen(value) : 0, provided, n);
    free(copy);
    return i < 0 ? "" : provided[i];
}

static void test_accept_encoding_as_node(void)
{
    static const char *const three[] = {"br", "gzip", "deflate"};
    static const char *const two[] = {"gzip", "deflate"};
    for (size_t i = 0; i < sizeof(accept_cases) / sizeof(*accept_cases); i++) {
        const char *a = pick(accept_cases[i].value, three, 3);
        const char *b = pick(accept_cases[i].value, two, 2);
        if (strcmp(a, accept_cases[i].three) != 0 || strcmp(b, accept_cases[i].two) != 0) {
            fprintf(stderr, "  Accept-Encoding \"%s\": got \"%s\" / \"%s\", Node \"%s\" / \"%s\"\n",
                    accept_cases[i].value ? accept_cases[i].value : "(none)", a, b,
                    accept_cases[i].three, accept_cases[i].two);
            CHECK(0);
        }
    }
    /* Nothing provided: nothing chosen. A long q (past the small copy) still reads. */
    CHECK_EQ_INT(eio_http_accept_encoding("gzip", 4, three, 0), -1);
    char longq[300] = "deflate;q=0.5, gzip;q=0.";
    memset(longq + strlen(longq), '9', 200);
    CHECK(strcmp(pick(longq, two, 2), "gzip") == 0);
    /* Bytes after the value are not read (the length bounds it). */
    CHECK_EQ_INT(eio_http_accept_encoding("gzip;q=0", 4, two, 2), 0);
}

/* eio_request_query as engine.io reads req._query (URLSearchParams, then
 * Object.fromEntries), checked against engine.io 6.6: of a name given twice
 * the last value wins; names are form-decoded as values are. */
static const char *query(const char *q, const char *key, eio_buf *out)
{
    eio_request r;
    memset(&r, 0, sizeof(r));
    char *copy = exact_copy(q, strlen(q) + 1);
    r.query = copy;
    int found = eio_request_query(&r, key, out);
    free(copy);
    return found ? (const char *)out->data : NULL;
}

static void test_query_duplicates_as_node(void)
{
    eio_buf b = EIO_BUF_INIT;
    static const struct {
        const char *query, *key, *value; /* value NULL: absent */
    } cases[] = {
        {"EIO=4&EIO=3&transport=polling", "EIO", "3"},
        {"EIO=3&EIO=4", "EIO", "4"},
        {"transport=polling&transport=websocket", "transport", "websocket"},
        {"transport=websocket&transport=polling", "transport", "polling"},
        {"sid=a&sid=b", "sid", "b"},
        {"sid=a&sid=b&sid", "sid", ""},
        {"%45IO=4", "EIO", "4"},
        {"trans%70ort=polling&transport=x", "transport", "x"},
        {"a+b=1", "a b", "1"},
        {"EIO=4&&&EIO=3&", "EIO", "3"},
        {"EIO", "EIO", ""},
        {"EIO=%34", "EIO", "4"},
        {"EIOX=4&XEIO=4", "EIO", NULL},
        {"", "EIO", NULL},
        {"=1", "", "1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        const char *v = query(cases[i].query, cases[i].key, &b);
        int ok = cases[i].value ? v && strcmp(v, cases[i].value) == 0 : v == NULL;
        if (!ok)
            fprintf(stderr, "  query %s key %s: got %s, expected %s\n", cases[i].query,
                    cases[i].key, v ? v : "(absent)", cases[i].value ? cases[i].value : "(absent)");
        CHECK(ok);
    }
    eio_buf_free(&b);
}

int main(void)
{
    RUN_TEST(test_simple_get);
    RUN_TEST(test_post_content_length);
    RUN_TEST(test_content_length_errors);
    RUN_TEST(test_transfer_encoding);
    RUN_TEST(test_version);
    RUN_TEST(test_syntax_errors);
    RUN_TEST(test_field_values);
    RUN_TEST(test_leading_empty_lines);
    RUN_TEST(test_path_query);
    RUN_TEST(test_keep_alive);
    RUN_TEST(test_expect_continue);
    RUN_TEST(test_header_limit);
    RUN_TEST(test_head_size_limit);
    RUN_TEST(test_every_split_point);
    RUN_TEST(test_pipelined_bytes_not_read);
    RUN_TEST(test_strerror);
    RUN_TEST(test_response);
    RUN_TEST(test_response_every_split_point);
    RUN_TEST(test_chunked_simple);
    RUN_TEST(test_chunked_in_place);
    RUN_TEST(test_chunked_incomplete);
    RUN_TEST(test_chunked_extensions);
    RUN_TEST(test_chunked_trailers);
    RUN_TEST(test_chunked_leftover);
    RUN_TEST(test_chunked_errors);
    RUN_TEST(test_chunked_line_limits);
    RUN_TEST(test_accept_encoding_as_node);
    RUN_TEST(test_query_duplicates_as_node);
    return TEST_SUMMARY();
}
