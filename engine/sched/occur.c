/*
 * Occurrence arithmetic (see occur.h). Daily and weekly are a fixed period in seconds, so the
 * next member is one division away; UTC has no DST and we ignore leap seconds, like POSIX time.
 * Monthly works on a month index (year * 12 + month - 1): the answer lies in now's month or the
 * one after (or in once_at's month when that is later), so at most two candidates are built
 * with the civil-date helpers of core/time.h (Hinnant's algorithms) and the first that fits wins.
 */
#include "sched/occur.h"

#include <stddef.h>
#include <string.h>

#include "core/time.h"

#define SECS_PER_DAY INT64_C(86400)
#define SECS_PER_WEEK (7 * SECS_PER_DAY)
#define LIMIT (INT64_C(1) << 55)   /* keeps every intermediate far from int64 overflow */

/* Indexed by enum tw_repeat. */
static const char *const repeat_names[] = {"", "daily", "weekly", "monthly"};

int tw_repeat_parse(const char *s, enum tw_repeat *out, struct tw_err *err)
{
    size_t i;

    if (s == NULL) {
        *out = TW_REPEAT_NONE;
        return TW_OK;
    }
    for (i = 0; i < sizeof(repeat_names) / sizeof(repeat_names[0]); i++) {
        if (strcmp(s, repeat_names[i]) == 0) {
            *out = (enum tw_repeat)i;
            return TW_OK;
        }
    }
    return tw_err_field(err, TW_EINVAL, "trigger.repeat",
                        "repeat must be \"daily\", \"weekly\", \"monthly\" or empty");
}

const char *tw_repeat_name(enum tw_repeat r)
{
    if ((unsigned)r >= sizeof(repeat_names) / sizeof(repeat_names[0]))
        return NULL;
    return repeat_names[r];
}

/* floor(t / SECS_PER_DAY), correct for times before 1970 too. */
static int64_t day_of(int64_t t)
{
    return (t >= 0 ? t : t - (SECS_PER_DAY - 1)) / SECS_PER_DAY;
}

unsigned tw_occur_anchor_day(int64_t t)
{
    int64_t y;
    unsigned m;
    unsigned d;

    tw_civil_from_days(day_of(t), &y, &m, &d);
    return d;
}

static int64_t next_periodic(int64_t once_at, int64_t period, int64_t now)
{
    /* once_at <= now here; k is the number of whole periods that have passed, plus one. */
    int64_t k = (now - once_at) / period + 1;

    return once_at + k * period;
}

static int64_t month_index(int64_t t)
{
    int64_t y;
    unsigned m;
    unsigned d;

    tw_civil_from_days(day_of(t), &y, &m, &d);
    return y * 12 + (int64_t)m - 1;
}

/* The occurrence in month index mi: day min(anchor, month length) at time of day tod. */
static int64_t monthly_at(int64_t mi, unsigned anchor, int64_t tod)
{
    /* Floor division, so that month indexes before year 0 still give months 1..12. */
    int64_t y = (mi >= 0 ? mi : mi - 11) / 12;
    unsigned m = (unsigned)(mi - y * 12) + 1;
    unsigned dim = tw_days_in_month(y, m);
    unsigned d = anchor < dim ? anchor : dim;

    return tw_days_from_civil(y, m, d) * SECS_PER_DAY + tod;
}

static int64_t next_monthly(int64_t once_at, unsigned anchor, int64_t now)
{
    int64_t tod = once_at - day_of(once_at) * SECS_PER_DAY;
    int64_t first = month_index(once_at);
    int64_t mi = month_index(now);
    int64_t t;

    if (anchor == 0)
        anchor = tw_occur_anchor_day(once_at);
    if (anchor > 31)
        anchor = 31;
    if (mi < first)
        mi = first;
    /* The occurrence in month mi may still be <= now (or, with an anchor before once_at's day,
     * before once_at); the one in the month after is past both by a whole month. */
    t = monthly_at(mi, anchor, tod);
    if (t > now && t >= once_at)
        return t;
    return monthly_at(mi + 1, anchor, tod);
}

int64_t tw_occur_next(int64_t once_at, enum tw_repeat r, unsigned anchor_day, int64_t now)
{
    if (once_at > now)
        return once_at;
    if (once_at <= -LIMIT || now >= LIMIT)
        return TW_OCCUR_NEVER;
    switch (r) {
    case TW_REPEAT_DAILY:
        return next_periodic(once_at, SECS_PER_DAY, now);
    case TW_REPEAT_WEEKLY:
        return next_periodic(once_at, SECS_PER_WEEK, now);
    case TW_REPEAT_MONTHLY:
        return next_monthly(once_at, anchor_day, now);
    case TW_REPEAT_NONE:
        break;
    }
    return TW_OCCUR_NEVER;
}
