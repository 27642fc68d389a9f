/*
 * Occurrences of a repeating task (docs/reference.md §5): given the first time a task was set for and its
 * repeat rule, the first occurrence strictly after "now". Pure arithmetic in UTC on int64
 * seconds since the epoch: no clock, no TZ, and O(1) however long the service was down, so
 * missed occurrences collapse into one run.
 */
#ifndef TW_SCHED_OCCUR_H
#define TW_SCHED_OCCUR_H

#include <stdint.h>

#include "core/err.h"

struct tw_tz;

/* When adding a rule, also update repeat_names[] in occur.c and tw_occur_next. */
enum tw_repeat {
    TW_REPEAT_NONE = 0, /* run once */
    TW_REPEAT_DAILY,    /* same time of day, every day */
    TW_REPEAT_WEEKLY,   /* same weekday and time, every 7 days */
    TW_REPEAT_MONTHLY,  /* same day of month (anchored, clamped to the month) and time */
};

/* "No further occurrence": larger than every real time, so it sorts last. */
#define TW_OCCUR_NEVER INT64_MAX

/*
 * Parse the API's trigger.repeat: NULL or "" -> TW_REPEAT_NONE, "daily", "weekly", "monthly"
 * (exact, lowercase). Anything else: TW_EINVAL with a sentence in err (may be NULL), *out kept.
 */
int tw_repeat_parse(const char *s, enum tw_repeat *out, struct tw_err *err);

/* The API spelling of r ("" for TW_REPEAT_NONE); NULL for a value outside the enum. Static. */
const char *tw_repeat_name(enum tw_repeat r);

/* The day of month (1..31, UTC) of t: the anchor to store when a monthly task is first set. */
unsigned tw_occur_anchor_day(int64_t t);

/*
 * The first occurrence strictly after now of the series that starts at once_at.
 *
 * The series is: once_at + k days (DAILY) or + 7k days (WEEKLY), k >= 0; for MONTHLY, one time
 * per calendar month from once_at's month on, on day min(anchor_day, days in that month) at
 * once_at's time of day, keeping only times >= once_at. anchor_day 0 means "once_at's own day";
 * values above 31 count as 31. So with anchor 31: Jan 31, Feb 28 (29), Mar 31, Apr 30, ... even
 * when once_at is already the clamped Feb 28, which is why the anchor is passed separately.
 *
 * Result: once_at itself when once_at > now (the series has not started yet); otherwise the
 * first member > now (never == now, so a task run exactly on time moves on), computed by
 * division rather than by stepping. TW_REPEAT_NONE, or an input beyond +-2^55 s (a billion
 * years), gives once_at when once_at > now and TW_OCCUR_NEVER otherwise / on overflow.
 */
int64_t tw_occur_next(int64_t once_at, enum tw_repeat r, unsigned anchor_day, int64_t now);

/*
 * As tw_occur_next, on the wall clock of zone z (docs/reference.md §13): the series keeps once_at's local
 * time of day on local days (DAILY: every day, WEEKLY: every 7th, MONTHLY: day
 * min(anchor_day, days in the month) of each local month; anchor_day 0 means once_at's local
 * day), and each member is the instant tw_tz_from_local gives for it: a wall time inside a
 * spring-forward gap runs at the same offset as before the gap (02:30 -> 03:30 new time), one
 * inside a fall-back overlap runs once, at the first of the two. Members before once_at are
 * skipped. z NULL or UTC: exactly tw_occur_next. Times beyond +-2^40 s give TW_OCCUR_NEVER.
 */
int64_t tw_occur_next_tz(int64_t once_at, enum tw_repeat r, unsigned anchor_day, int64_t now,
                         const struct tw_tz *z);

/* The day of month (1..31) of t on z's wall clock (z NULL: UTC). */
unsigned tw_occur_anchor_day_tz(int64_t t, const struct tw_tz *z);

#endif /* TW_SCHED_OCCUR_H */
