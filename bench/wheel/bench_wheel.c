/*
 * Timer wheel benchmark: the cost of arming, moving, cancelling and firing when 1,000,000 timers
 * (one per task) are armed, and the memory each armed timer costs. Run by hand on a Release
 * build; see bench/README.md. Usage: bench_wheel [n_timers] [spread_days]
 *
 * Expiries and the cancel order are random and prepared before any timing, so the figures are
 * the wheel's own cost including its cache misses (a random cancel order touches timers the way
 * a real API would). Memory is the resident-set growth read from /proc/self/statm, measured
 * around allocating and arming the timers, so it counts the timers and the wheel, not the inputs;
 * the wheel's own fixed size comes from glibc's mallinfo2 (RSS is too coarse for 16 KB).
 * Linux and glibc only, like the rest of the bench/ tools.
 */
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/mem.h"
#include "sched/wheel.h"

static uint64_t fired;

static void on_fire(struct tw_timer *t)
{
    (void)t;
    fired++;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Resident set size in bytes, from /proc/self/statm (second field, in pages). */
static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0;
    long resident = 0;

    if (f == NULL)
        return 0;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

static double ns_per(uint64_t t0, uint64_t t1, size_t n)
{
    return n == 0 ? 0.0 : (double)(t1 - t0) / (double)n;
}

static void row(const char *what, double ns, const char *note)
{
    printf("  %-28s %8.1f ns   %s\n", what, ns, note);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    uint64_t spread_ms = (argc > 2 ? strtoull(argv[2], NULL, 10) : 30) * 24 * 3600 * 1000;
    const uint64_t start = UINT64_C(1) << 36;   /* an arbitrary monotonic origin */
    uint64_t *expire = tw_malloc(n * sizeof(*expire));
    uint32_t *order = tw_malloc(n * sizeof(*order));
    struct tw_timer *timers;
    struct tw_wheel *w;
    long rss0, rss2;
    size_t heap0, heap1;
    uint64_t t0, t1, d, last = start;
    size_t i, j, runs = 0;
    uint32_t tmp;

    if (expire == NULL || order == NULL || n == 0 || n > UINT32_MAX)
        return 1;
    for (i = 0; i < n; i++) {
        expire[i] = start + 1 + rnd() % spread_ms;
        if (expire[i] > last)
            last = expire[i];
        order[i] = (uint32_t)i;
    }
    for (i = n - 1; i > 0; i--) {   /* Fisher-Yates: cancel in random order */
        j = rnd() % (i + 1);
        tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }

    rss0 = rss_bytes();
    heap0 = mallinfo2().uordblks;
    w = tw_wheel_create(start);
    heap1 = mallinfo2().uordblks;
    timers = tw_malloc(n * sizeof(*timers));
    if (w == NULL || timers == NULL)
        return 1;
    for (i = 0; i < n; i++)
        tw_timer_init(&timers[i], on_fire);

    printf("taskwheel timer wheel: %zu timers, expiries uniform over %" PRIu64 " days\n", n,
           spread_ms / (24 * 3600 * 1000));

    t0 = tw_clock_mono_ns();
    for (i = 0; i < n; i++)
        tw_wheel_arm(w, &timers[i], expire[i]);
    t1 = tw_clock_mono_ns();
    rss2 = rss_bytes();
    row("arm (sequential)", ns_per(t0, t1, n), "timers adjacent in memory");

    t0 = tw_clock_mono_ns();
    for (i = 0; i < n; i++)
        tw_wheel_arm(w, &timers[order[i]], expire[i]);
    t1 = tw_clock_mono_ns();
    row("re-arm (move an armed one)", ns_per(t0, t1, n), "random order");

    t0 = tw_clock_mono_ns();
    for (i = 0; i < n; i++)
        tw_timer_disarm(&timers[order[i]]);
    t1 = tw_clock_mono_ns();
    row("cancel", ns_per(t0, t1, n), "random order");

    t0 = tw_clock_mono_ns();
    for (i = 0; i < n; i++)
        tw_wheel_arm(w, &timers[order[i]], expire[i]);
    t1 = tw_clock_mono_ns();
    row("arm (random order)", ns_per(t0, t1, n), "timers scattered in memory");

    fired = 0;
    t0 = tw_clock_mono_ns();
    tw_wheel_run(w, last);
    t1 = tw_clock_mono_ns();
    row("fire (one run over all)", ns_per(t0, t1, fired), "");

    /* The engine's way: run at each deadline, as one libevent timer would. */
    tw_wheel_destroy(w);
    w = tw_wheel_create(start);
    if (w == NULL)
        return 1;
    for (i = 0; i < n; i++)
        tw_wheel_arm(w, &timers[i], expire[i]);
    fired = 0;
    t0 = tw_clock_mono_ns();
    for (d = tw_wheel_next_deadline(w); d != UINT64_MAX; d = tw_wheel_next_deadline(w)) {
        tw_wheel_run(w, d);
        runs++;
    }
    t1 = tw_clock_mono_ns();
    printf("  %-28s %8.1f ns   %zu runs, each timer fired on its exact ms\n",
           "fire (following deadlines)", ns_per(t0, t1, fired), runs);

    printf("  memory\n");
    printf("  %-28s %8zu B\n", "sizeof(struct tw_timer)", sizeof(struct tw_timer));
    printf("  %-28s %8zu B    %.3f B per timer\n", "wheel itself (heap)", heap1 - heap0,
           (double)(heap1 - heap0) / (double)n);
    printf("  %-28s %8.1f B    RSS growth / n, wheel and timers\n", "per armed timer",
           (double)(rss2 - rss0) / (double)n);

    tw_wheel_destroy(w);
    tw_free(timers);
    tw_free(order);
    tw_free(expire);
    return fired == n ? 0 : 1;
}
