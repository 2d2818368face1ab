/* The pairing-heap timers: order, cancel, re-arm, against a brute-force
 * model over many random operations. */
#include "core/timer.h"

#include "test.h"

#define N 500

static int fired[N];
static struct ps_timer timers[N];

static void on_fire(struct ps_stack *s, struct ps_timer *t)
{
    (void)s;
    fired[t - timers]++;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

TEST(pops_in_deadline_order)
{
    struct ps_timer_heap h = {0};
    for (int i = 0; i < N; i++) {
        ps_timer_init(&timers[i], on_fire);
        ps_timer_arm(&h, &timers[i], 1000 + next_rand() % 100000);
    }
    CHECK_EQ(h.count, N);
    ps_time_t last = 0;
    int n = 0;
    struct ps_timer *t;
    while ((t = ps_timer_pop_due(&h, PS_TIME_NEVER - 1)) != NULL) {
        CHECK(t->when >= last);
        CHECK(!t->armed);
        last = t->when;
        n++;
    }
    CHECK_EQ(n, N);
    CHECK_EQ(h.count, 0);
    CHECK_U64(ps_timer_next(&h), PS_TIME_NEVER);
}

TEST(random_operations_match_model)
{
    struct ps_timer_heap h = {0};
    for (int i = 0; i < N; i++) {
        ps_timer_init(&timers[i], on_fire);
        fired[i] = 0;
    }
    ps_time_t now = 0;
    for (int step = 0; step < 20000; step++) {
        int i = (int)(next_rand() % N);
        switch (next_rand() % 4) {
        case 0:
        case 1:
            ps_timer_arm(&h, &timers[i], now + next_rand() % 5000);
            break;
        case 2:
            ps_timer_cancel(&h, &timers[i]);
            break;
        case 3: {
            now += next_rand() % 500;
            /* The model: the earliest armed deadline. */
            ps_time_t min = PS_TIME_NEVER;
            size_t armed = 0;
            for (int j = 0; j < N; j++)
                if (timers[j].armed) {
                    armed++;
                    if (timers[j].when < min)
                        min = timers[j].when;
                }
            CHECK_EQ(h.count, armed);
            CHECK_U64(ps_timer_next(&h), min);
            struct ps_timer *t;
            while ((t = ps_timer_pop_due(&h, now)) != NULL) {
                CHECK(t->when <= now);
                t->fn(NULL, t);
            }
            for (int j = 0; j < N; j++)
                CHECK(!timers[j].armed || timers[j].when > now);
            break;
        }
        }
    }
}

int main(void)
{
    RUN(pops_in_deadline_order);
    RUN(random_operations_match_model);
    TEST_END();
}
