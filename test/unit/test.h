/*
 * A minimal unit-test harness: each test is a function; CHECK records a failure
 * and goes on. Each test binary prints "ok - name" or "not ok - name" per test
 * and exits non-zero if any failed. Threading: single thread. No globals shared
 * between binaries.
 */
#ifndef TEST_H
#define TEST_H

#include <stdio.h>
#include <string.h>

static int test_failures_in_current;
static int test_passed, test_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            test_failures_in_current++;                                                            \
            fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);             \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                      \
        if (va_ != vb_) {                                                                          \
            test_failures_in_current++;                                                            \
            fprintf(stderr, "  %s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a,  \
                    va_, #b, vb_);                                                                 \
        }                                                                                          \
    } while (0)

/* Compares a byte range with a C string. */
#define CHECK_MEM(ptr, len, str)                                                                   \
    do {                                                                                           \
        size_t l_ = (size_t)(len);                                                                 \
        const char *s_ = (str);                                                                    \
        if (l_ != strlen(s_) || (l_ && memcmp((ptr), s_, l_) != 0)) {                              \
            test_failures_in_current++;                                                            \
            fprintf(stderr, "  %s:%d: got \"%.*s\" (%zu bytes), expected \"%s\"\n", __FILE__,      \
                    __LINE__, (int)l_, (const char *)(ptr), l_, s_);                               \
        }                                                                                          \
    } while (0)

#define RUN_TEST(fn)                                                                               \
    do {                                                                                           \
        test_failures_in_current = 0;                                                              \
        fn();                                                                                      \
        if (test_failures_in_current) {                                                            \
            test_failed++;                                                                         \
            printf("not ok - %s\n", #fn);                                                          \
        } else {                                                                                   \
            test_passed++;                                                                         \
            printf("ok - %s\n", #fn);                                                              \
        }                                                                                          \
        fflush(stdout);                                                                            \
    } while (0)

#define TEST_SUMMARY()                                                                             \
    (printf("# %d passed, %d failed\n", test_passed, test_failed), test_failed ? 1 : 0)

#endif
