/*
 * tests/test.h - the smallest test harness that does the job.
 *
 * A test file defines functions with TEST(name) and lists them in main()
 * with RUN(name); CHECK* macros record a failure (file:line and the values)
 * and let the test go on; REQUIRE* macros stop the current test.  The
 * program exits non-zero if any check failed and prints a closing line
 * "N passed, N failed".
 */
#ifndef PORTSTACK_TEST_H
#define PORTSTACK_TEST_H

#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failed_checks;
static int t_passed, t_failed;
static int t_cur_failed;
static jmp_buf t_jmp;

#define TEST(name) static void test_##name(void)

#define T_FAIL(...)                                           \
    do {                                                      \
        fprintf(stderr, "  FAIL %s:%d: ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__);                         \
        fprintf(stderr, "\n");                                \
        t_failed_checks++;                                    \
        t_cur_failed = 1;                                     \
    } while (0)

#define CHECK(cond)                            \
    do {                                       \
        if (!(cond))                           \
            T_FAIL("CHECK(%s)", #cond);        \
    } while (0)

#define REQUIRE(cond)                          \
    do {                                       \
        if (!(cond)) {                         \
            T_FAIL("REQUIRE(%s)", #cond);      \
            longjmp(t_jmp, 1);                 \
        }                                      \
    } while (0)

#define CHECK_EQ(a, b)                                                                  \
    do {                                                                                \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);                         \
        if (t_a_ != t_b_)                                                               \
            T_FAIL("CHECK_EQ(%s, %s): %lld != %lld", #a, #b, t_a_, t_b_);               \
    } while (0)

#define CHECK_U64(a, b)                                                                 \
    do {                                                                                \
        uint64_t t_a_ = (uint64_t)(a), t_b_ = (uint64_t)(b);                            \
        if (t_a_ != t_b_)                                                               \
            T_FAIL("CHECK_U64(%s, %s): 0x%" PRIx64 " != 0x%" PRIx64, #a, #b, t_a_, t_b_); \
    } while (0)

#define CHECK_MEM(a, b, n)                                   \
    do {                                                     \
        if (memcmp((a), (b), (n)) != 0)                      \
            T_FAIL("CHECK_MEM(%s, %s, %s)", #a, #b, #n);     \
    } while (0)

#define RUN(name)                                    \
    do {                                             \
        t_cur_failed = 0;                            \
        fprintf(stderr, "- %s\n", #name);            \
        if (setjmp(t_jmp) == 0)                      \
            test_##name();                           \
        if (t_cur_failed)                            \
            t_failed++;                              \
        else                                         \
            t_passed++;                              \
    } while (0)

#define TEST_END()                                               \
    do {                                                         \
        printf("%d passed, %d failed\n", t_passed, t_failed);    \
        return t_failed ? 1 : 0;                                 \
    } while (0)

#endif /* PORTSTACK_TEST_H */
