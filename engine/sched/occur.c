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
#include "core/tz.h"

#define SECS_PER_DAY INT64_C(86400)
#define SECS_PER_WEEK (7 * SECS_PER_DAY)
#define LIMIT (INT64_C(1) << 55) /* keeps every intermediate far from int64 overflow */

/* Indexed by enum tw_repeat. */
static const char *const repeat_names[] = { "", "daily", "weekly", "monthly" };

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
    case TW_REPEAT_DAILY: return next_periodic(once_at, SECS_PER_DAY, now);
    case TW_REPEAT_WEEKLY: return next_periodic(once_at, SECS_PER_WEEK, now);
    case TW_REPEAT_MONTHLY: return next_monthly(once_at, anchor_day, now);
    case TW_REPEAT_NONE: break;
    }
    return TW_OCCUR_NEVER;
}

/* ---- on a zone's wall clock (docs/reference.md §13) -------------------------------------------------- */

#define TZ_LIMIT (INT64_C(1) << 40) /* ~34,000 years: far past any time the API accepts */
#define TZ_TRIES 8                  /* candidates looked at; 3 or 4 suffice (see below) */

unsigned tw_occur_anchor_day_tz(int64_t t, const struct tw_tz *z)
{
    if (z == NULL || t <= -TZ_LIMIT || t >= TZ_LIMIT)
        return tw_occur_anchor_day(t);
    return tw_occur_anchor_day(t + tw_tz_offset(z, t));
}

/* The member on local day `day` at local time of day tod. */
static int64_t member(const struct tw_tz *z, int64_t day, int64_t tod)
{
    return tw_tz_from_local(z, day * SECS_PER_DAY + tod);
}

/*
 * Candidates start a little before the member on now's local day (offsets move a member at
 * most ~26 h from its wall time, a DST change by hours) and go forward; the first one past
 * both now and once_at wins. A zone that skips a whole day (Samoa, 2011) maps two wall days to
 * one instant, which the "strictly after now" test simply passes over.
 */
int64_t tw_occur_next_tz(int64_t once_at, enum tw_repeat r, unsigned anchor_day, int64_t now,
                         const struct tw_tz *z)
{
    int64_t l0, d0, tod, dn, k, mi, first, t, y;
    unsigned anchor, m, dim;
    int i;

    if (z == NULL || tw_tz_is_utc(z))
        return tw_occur_next(once_at, r, anchor_day, now);
    if (once_at > now)
        return once_at;
    if (once_at <= -TZ_LIMIT || now >= TZ_LIMIT || r == TW_REPEAT_NONE)
        return TW_OCCUR_NEVER;
    l0 = once_at + tw_tz_offset(z, once_at);
    d0 = day_of(l0);
    tod = l0 - d0 * SECS_PER_DAY;
    dn = day_of(now + tw_tz_offset(z, now));
    if (r == TW_REPEAT_DAILY || r == TW_REPEAT_WEEKLY) {
        int64_t step = r == TW_REPEAT_DAILY ? 1 : 7;

        k = (dn - d0 >= 0 ? (dn - d0) / step : -((d0 - dn + step - 1) / step)) - 2;
        if (k < 0)
            k = 0;
        for (i = 0; i < TZ_TRIES; i++, k++) {
            t = member(z, d0 + k * step, tod);
            if (t > now && t >= once_at)
                return t;
        }
        return TW_OCCUR_NEVER;
    }
    if (r != TW_REPEAT_MONTHLY)
        return TW_OCCUR_NEVER;
    anchor = anchor_day == 0 ? tw_occur_anchor_day(l0) : anchor_day > 31 ? 31 : anchor_day;
    first = month_index(l0);
    mi = month_index(dn * SECS_PER_DAY) - 1;
    if (mi < first)
        mi = first;
    for (i = 0; i < TZ_TRIES; i++, mi++) {
        y = (mi >= 0 ? mi : mi - 11) / 12;
        m = (unsigned)(mi - y * 12) + 1;
        dim = tw_days_in_month(y, m);
        t = member(z, tw_days_from_civil(y, m, anchor < dim ? anchor : dim), tod);
        if (t > now && t >= once_at)
            return t;
    }
    return TW_OCCUR_NEVER;
}
