/*
 * The clock: the one place that reads time. Tests may replace it with a fake clock
 * (tw_clock_fake_set) so that nothing sleeps on the wall clock.
 */
#ifndef TW_CORE_CLOCK_H
#define TW_CORE_CLOCK_H

#include <stdint.h>

/* Wall-clock time, seconds since the Unix epoch (UTC). */
int64_t tw_clock_wall_s(void);

/* Wall-clock time in milliseconds since the Unix epoch. */
int64_t tw_clock_wall_ms(void);

/* Wall-clock time in microseconds since the Unix epoch. */
int64_t tw_clock_wall_us(void);

/* Monotonic time in milliseconds (arbitrary origin); never goes back. */
uint64_t tw_clock_mono_ms(void);

/* Monotonic time in nanoseconds. */
uint64_t tw_clock_mono_ns(void);

/*
 * Tests only: make the wall clock read wall_ms and the monotonic clock read mono_ms until the
 * next call; tw_clock_fake_clear() returns to the real clocks.
 */
void tw_clock_fake_set(int64_t wall_ms, uint64_t mono_ms);
void tw_clock_fake_clear(void);

#endif
