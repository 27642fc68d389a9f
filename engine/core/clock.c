/* The clock (see clock.h): CLOCK_REALTIME and CLOCK_MONOTONIC, or a fake for tests. */
#include "core/clock.h"

#include <stdbool.h>
#include <time.h>

static bool fake;
static int64_t fake_wall_ms;
static uint64_t fake_mono_ms;

int64_t tw_clock_wall_ms(void)
{
    struct timespec ts;

    if (fake)
        return fake_wall_ms;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t tw_clock_wall_us(void)
{
    struct timespec ts;

    if (fake)
        return fake_wall_ms * 1000;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t tw_clock_wall_s(void)
{
    int64_t ms = tw_clock_wall_ms();

    return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

uint64_t tw_clock_mono_ns(void)
{
    struct timespec ts;

    if (fake)
        return fake_mono_ms * 1000000u;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t tw_clock_mono_ms(void)
{
    return tw_clock_mono_ns() / 1000000u;
}

void tw_clock_fake_set(int64_t wall_ms, uint64_t mono_ms)
{
    fake = true;
    fake_wall_ms = wall_ms;
    fake_mono_ms = mono_ms;
}

void tw_clock_fake_clear(void)
{
    fake = false;
}
