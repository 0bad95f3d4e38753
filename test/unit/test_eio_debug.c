/*
 * Unit tests for eio_debug: DEBUG matching as the debug npm package (4.4)
 * decides it (names split on commas and whitespace, '*' wildcards with
 * backtracking, '-' exclusions winning whatever their place), the engine's
 * and the Socket.IO layer's namespace masks, the non-TTY line format and the
 * cut, escaped rendering of packet data.
 * Threading: single thread. Ownership: nothing allocated.
 */
#include <stdint.h>
#include <string.h>

#include "engineio/eio_debug.h"
#include "engineio/eio_internal.h"
#include "socketio/sio_internal.h"
#include "test/unit/test.h"

static void test_empty(void)
{
    CHECK(!eio_debug_enabled(NULL, "engine"));
    CHECK(!eio_debug_enabled("", "engine"));
    CHECK(!eio_debug_enabled(" ,\t, ", "engine"));
    CHECK(!eio_debug_enabled("-", "engine")); /* a skip of "" matches nothing */
}

static void test_exact(void)
{
    CHECK(eio_debug_enabled("engine", "engine"));
    CHECK(!eio_debug_enabled("engine", "engine:socket"));
    CHECK(!eio_debug_enabled("engine:socket", "engine"));
    CHECK(!eio_debug_enabled("engin", "engine"));
    CHECK(!eio_debug_enabled("enginex", "engine"));
    CHECK(eio_debug_enabled("socket.io-parser", "socket.io-parser"));
}

static void test_wildcards(void)
{
    CHECK(eio_debug_enabled("*", "engine"));
    CHECK(eio_debug_enabled("*", "socket.io:socket"));
    CHECK(eio_debug_enabled("engine*", "engine"));
    CHECK(eio_debug_enabled("engine*", "engine:ws"));
    CHECK(!eio_debug_enabled("engine:*", "engine"));
    CHECK(eio_debug_enabled("engine:*", "engine:polling"));
    CHECK(eio_debug_enabled("socket.io:*", "socket.io:client"));
    CHECK(!eio_debug_enabled("socket.io:*", "socket.io-parser"));
    CHECK(eio_debug_enabled("socket.io*", "socket.io-parser"));
    CHECK(eio_debug_enabled("*:ws", "engine:ws"));
    CHECK(!eio_debug_enabled("*:ws", "engine:wss"));
    CHECK(eio_debug_enabled("engine:*ing", "engine:polling"));
    CHECK(!eio_debug_enabled("engine:*ing", "engine:socket"));
    CHECK(eio_debug_enabled("e*g*e", "engine")); /* backtracking past the first 'g' */
    CHECK(eio_debug_enabled("a*b*c", "axbxbxc"));
    CHECK(!eio_debug_enabled("a*b*c", "axbxbx"));
    CHECK(eio_debug_enabled("**", "engine"));
    CHECK(eio_debug_enabled("engine**", "engine"));
}

static void test_lists(void)
{
    CHECK(eio_debug_enabled("engine,socket.io:*", "socket.io:server"));
    CHECK(eio_debug_enabled("engine socket.io:*", "socket.io:server"));
    CHECK(eio_debug_enabled("  engine\tsocket.io:* ", "engine"));
    CHECK(eio_debug_enabled(",,engine,,", "engine"));
    CHECK(eio_debug_enabled("foo,\nengine", "engine"));
    CHECK(!eio_debug_enabled("foo,bar", "engine"));
}

static void test_exclusions(void)
{
    CHECK(!eio_debug_enabled("*,-engine:ws", "engine:ws"));
    CHECK(eio_debug_enabled("*,-engine:ws", "engine:socket"));
    CHECK(!eio_debug_enabled("-engine:ws,*", "engine:ws")); /* order does not matter */
    CHECK(!eio_debug_enabled("engine*,-engine:*", "engine:polling"));
    CHECK(eio_debug_enabled("engine*,-engine:*", "engine"));
    CHECK(!eio_debug_enabled("-engine", "engine"));
    CHECK(!eio_debug_enabled("engine -engine", "engine"));
}

static void test_masks(void)
{
    CHECK_EQ_INT(eio__debug_mask(NULL), 0);
    CHECK_EQ_INT(eio__debug_mask("socket.io:*"), 0);
    CHECK_EQ_INT(eio__debug_mask("engine"), EIO__DBG_ENGINE);
    CHECK_EQ_INT(eio__debug_mask("engine*"), EIO__DBG_ENGINE | EIO__DBG_SOCKET | EIO__DBG_POLLING |
                                                 EIO__DBG_WS | EIO__DBG_TRANSPORT);
    CHECK_EQ_INT(eio__debug_mask("engine:*,-engine:ws"),
                 EIO__DBG_SOCKET | EIO__DBG_POLLING | EIO__DBG_TRANSPORT);
    CHECK_EQ_INT(sio__debug_mask("engine"), 0);
    CHECK_EQ_INT(sio__debug_mask("socket.io:*"),
                 SIO__DBG_SERVER | SIO__DBG_NAMESPACE | SIO__DBG_SOCKET | SIO__DBG_CLIENT);
    CHECK_EQ_INT(sio__debug_mask("socket.io*"), SIO__DBG_SERVER | SIO__DBG_NAMESPACE |
                                                    SIO__DBG_SOCKET | SIO__DBG_CLIENT |
                                                    SIO__DBG_PARSER);
    CHECK_EQ_INT(sio__debug_mask("*,-socket.io:socket"),
                 SIO__DBG_SERVER | SIO__DBG_NAMESPACE | SIO__DBG_CLIENT | SIO__DBG_PARSER);
}

static void test_line_format(void)
{
    char line[128];
    size_t n = eio_debug_format_line(line, sizeof(line), 0, "engine", "hello");
    CHECK_MEM(line, n, "1970-01-01T00:00:00.000Z engine hello\n");
    n = eio_debug_format_line(line, sizeof(line), 1700000000123LL, "socket.io:socket", "x y");
    CHECK_MEM(line, n, "2023-11-14T22:13:20.123Z socket.io:socket x y\n");
    char small[32];
    n = eio_debug_format_line(small, sizeof(small), 0, "engine", "a long message to be cut");
    CHECK_EQ_INT(n, sizeof(small) - 1);
    CHECK_EQ_INT(strlen(small), n);
    CHECK(small[n - 1] == '\n');
    CHECK(memcmp(small, "1970-01-01T00:00:00.000Z engin", 30) == 0);
}

static void test_data(void)
{
    char out[160];
    CHECK(strcmp(eio_debug_data(out, sizeof(out), "hello", 5, 0), "hello") == 0);
    CHECK(strcmp(eio_debug_data(out, sizeof(out), "", 0, 0), "") == 0);
    CHECK(strcmp(eio_debug_data(out, sizeof(out), "a\x1e\"b\\\n", 6, 0), "a\\x1e\"b\\\\\\x0a") ==
          0);
    CHECK(strcmp(eio_debug_data(out, sizeof(out), "\x01\x02", 2, 1), "<binary 2 bytes>") == 0);
    char big[300];
    memset(big, 'x', sizeof(big));
    const char *r = eio_debug_data(out, sizeof(out), big, sizeof(big), 0);
    CHECK_EQ_INT(strspn(r, "x"), EIO_DEBUG_DATA_MAX);
    CHECK(strcmp(r + EIO_DEBUG_DATA_MAX, "... (300 bytes)") == 0);
    /* all control characters: the output stays within its buffer */
    memset(big, 0x01, sizeof(big));
    r = eio_debug_data(out, 64, big, sizeof(big), 0);
    CHECK(strlen(r) < 64);
    CHECK(strstr(r, "... (300 bytes)") != NULL);
    /* exactly the limit: nothing cut */
    memset(big, 'y', EIO_DEBUG_DATA_MAX);
    r = eio_debug_data(out, sizeof(out), big, EIO_DEBUG_DATA_MAX, 0);
    CHECK_EQ_INT(strlen(r), EIO_DEBUG_DATA_MAX);
}

int main(void)
{
    RUN_TEST(test_empty);
    RUN_TEST(test_exact);
    RUN_TEST(test_wildcards);
    RUN_TEST(test_lists);
    RUN_TEST(test_exclusions);
    RUN_TEST(test_masks);
    RUN_TEST(test_line_format);
    RUN_TEST(test_data);
    return TEST_SUMMARY();
}
