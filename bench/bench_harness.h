/*
 * bench/bench_harness.h - the timing loop every micro-benchmark here uses
 * (portstack's and lwIP's alike, so both sides are measured the same way):
 * calibrate the iteration count to about run_seconds a run, then run
 * `repeats` times and report the median, fastest and slowest, in ns per
 * operation.
 */
#ifndef PS_BENCH_HARNESS_H
#define PS_BENCH_HARNESS_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define BENCH_MAX_REPEAT 15

/* A benchmark runs `iters` operations; ctx is its own. */
typedef void (*bench_fn)(void *ctx, uint64_t iters);

struct bench_timing {
    double med, min, max; /* ns per operation */
    uint64_t iters;       /* per run */
};

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Calibration grows the count from start_iters until one run takes a
 * tenth of the target (which also warms caches and branch predictors);
 * start at 1 for slow operations so they are not run needlessly often.
 * repeats must be 1..BENCH_MAX_REPEAT. */
static inline struct bench_timing bench_measure(bench_fn fn, void *ctx, uint64_t start_iters, double run_seconds,
                                                unsigned repeats)
{
    uint64_t iters = start_iters;
    for (;;) {
        uint64_t t = now_ns();
        fn(ctx, iters);
        uint64_t dt = now_ns() - t;
        if (dt >= (uint64_t)(run_seconds * 1e8) || iters >= (UINT64_C(1) << 40)) {
            double per = (double)dt / (double)iters;
            double want = run_seconds * 1e9 / (per > 0 ? per : 1);
            iters = want < (double)start_iters ? start_iters : (uint64_t)want;
            break;
        }
        iters *= 4;
    }
    double ns[BENCH_MAX_REPEAT];
    for (unsigned r = 0; r < repeats; r++) {
        uint64_t t = now_ns();
        fn(ctx, iters);
        ns[r] = (double)(now_ns() - t) / (double)iters;
    }
    qsort(ns, repeats, sizeof(ns[0]), bench_cmp_double);
    struct bench_timing res = {.med = ns[repeats / 2], .min = ns[0], .max = ns[repeats - 1], .iters = iters};
    return res;
}

#endif
