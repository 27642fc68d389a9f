/*
 * Failure counters keyed by a string, over a sliding window (throttle.c): the login throttle
 * by user name and by client address. Single-threaded.
 */
#ifndef TW_API_THROTTLE_H
#define TW_API_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tw_throttle;

/* At most max failures per key in any window_s seconds; at most max_keys keys tracked at once.
 * NULL when out of memory. */
struct tw_throttle *tw_throttle_create(unsigned max, int64_t window_s, size_t max_keys);
void tw_throttle_destroy(struct tw_throttle *t);

/* Seconds until key may try again (0: now), at time now (seconds). */
int64_t tw_throttle_wait(const struct tw_throttle *t, const char *key, int64_t now);

/* Record a failure of key at now. false when it could not be tracked (table full, ENOMEM). */
bool tw_throttle_fail(struct tw_throttle *t, const char *key, int64_t now);

/* Take back key's latest failure (an attempt counted in advance that succeeded). */
void tw_throttle_forgive(struct tw_throttle *t, const char *key);

/* Keys tracked now. */
size_t tw_throttle_count(const struct tw_throttle *t);

#endif
