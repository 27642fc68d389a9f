/*
 * Occurrence tests: a table of hand-checked cases (daily, weekly, monthly anchored to 29/30/31
 * across leap and non-leap Februaries, year ends, downtime, "now" exactly on an occurrence,
 * series not started yet), the repeat names, and a randomized cross-check against naive
 * step-by-step walks of the series.
 */
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "core/time.h"
#include "sched/occur.h"

static int64_t at(const char *iso)
{
    int64_t t = 0;

    cr_assert_eq(tw_time_parse(iso, &t, NULL), TW_OK, "bad fixture %s", iso);
    return t;
}

/* Arrays, not pointers: Criterion re-executes the binary per test, so pointers would dangle. */
struct occur_case {
    char once[TW_TIME_BUFSZ]; /* series start (ISO 8601, UTC) */
    enum tw_repeat repeat;
    unsigned anchor; /* 0: the day of 'once' */
    char now[TW_TIME_BUFSZ];
    char want[TW_TIME_BUFSZ]; /* first occurrence strictly after now */
};

#define D TW_REPEAT_DAILY
#define W TW_REPEAT_WEEKLY
#define M TW_REPEAT_MONTHLY

static struct occur_case cases[] = {
    /* daily */
    { "2026-01-10T08:30:00Z", D, 0, "2026-01-10T08:29:59Z", "2026-01-10T08:30:00Z" }, /* not yet */
    { "2026-01-10T08:30:00Z", D, 0, "2026-01-10T08:30:00Z", "2026-01-11T08:30:00Z" }, /* on time */
    { "2026-01-10T08:30:00Z", D, 0, "2026-01-10T09:00:00Z", "2026-01-11T08:30:00Z" },
    { "2026-01-10T08:30:00Z", D, 0, "2026-06-03T12:00:00Z", "2026-06-04T08:30:00Z" }, /* downtime */
    { "2026-01-10T08:30:00Z", D, 0, "2026-06-04T08:29:59Z", "2026-06-04T08:30:00Z" },
    { "2025-12-31T23:59:59Z", D, 0, "2025-12-31T23:59:59Z", "2026-01-01T23:59:59Z" }, /* year end */
    { "2025-02-28T10:00:00Z", D, 0, "2025-02-28T10:00:00Z", "2025-03-01T10:00:00Z" },
    { "2024-02-28T10:00:00Z", D, 0, "2024-02-28T10:00:00Z", "2024-02-29T10:00:00Z" }, /* leap */
    { "1970-01-01T00:00:00Z", D, 0, "2026-05-26T12:00:00Z", "2026-05-27T00:00:00Z" }, /* 56 years */
    /* weekly (2026-05-26 is a Tuesday) */
    { "2026-05-26T12:00:00Z", W, 0, "2026-05-25T00:00:00Z", "2026-05-26T12:00:00Z" }, /* not yet */
    { "2026-05-26T12:00:00Z", W, 0, "2026-05-26T12:00:00Z", "2026-06-02T12:00:00Z" }, /* on time */
    { "2026-05-26T12:00:00Z", W, 0, "2026-07-15T00:00:00Z", "2026-07-21T12:00:00Z" }, /* downtime */
    { "2026-05-26T12:00:00Z", W, 0, "2026-06-09T12:00:00Z", "2026-06-16T12:00:00Z" },
    { "2026-05-26T12:00:00Z", W, 0, "2026-06-09T11:59:59Z", "2026-06-09T12:00:00Z" },
    { "2025-12-30T06:00:00Z", W, 0, "2025-12-31T00:00:00Z", "2026-01-06T06:00:00Z" }, /* year end */
    { "2024-02-27T06:00:00Z", W, 0, "2024-02-29T00:00:00Z", "2024-03-05T06:00:00Z" },
    /* monthly, anchor 31 through a non-leap year */
    { "2025-01-31T10:00:00Z", M, 0, "2025-01-31T10:00:00Z", "2025-02-28T10:00:00Z" },
    { "2025-02-28T10:00:00Z", M, 31, "2025-02-28T10:00:00Z", "2025-03-31T10:00:00Z" },
    { "2025-03-31T10:00:00Z", M, 31, "2025-03-31T10:00:00Z", "2025-04-30T10:00:00Z" },
    { "2025-04-30T10:00:00Z", M, 31, "2025-04-30T10:00:00Z", "2025-05-31T10:00:00Z" },
    { "2025-11-30T10:00:00Z", M, 31, "2025-11-30T10:00:00Z", "2025-12-31T10:00:00Z" },
    { "2025-12-31T23:00:00Z", M, 31, "2025-12-31T23:00:00Z",
      "2026-01-31T23:00:00Z" }, /* Dec->Jan */
    /* leap February */
    { "2024-01-31T10:00:00Z", M, 0, "2024-01-31T10:00:00Z", "2024-02-29T10:00:00Z" },
    { "2024-02-29T10:00:00Z", M, 31, "2024-02-29T10:00:00Z", "2024-03-31T10:00:00Z" },
    { "2024-01-30T10:00:00Z", M, 30, "2024-01-30T10:00:00Z", "2024-02-29T10:00:00Z" },
    { "2025-01-30T10:00:00Z", M, 30, "2025-01-30T10:00:00Z", "2025-02-28T10:00:00Z" },
    { "2025-02-28T10:00:00Z", M, 30, "2025-02-28T10:00:00Z", "2025-03-30T10:00:00Z" },
    { "2024-01-29T10:00:00Z", M, 29, "2024-01-29T10:00:00Z", "2024-02-29T10:00:00Z" },
    { "2025-01-29T10:00:00Z", M, 29, "2025-01-29T10:00:00Z", "2025-02-28T10:00:00Z" },
    { "2025-02-28T10:00:00Z", M, 29, "2025-02-28T10:00:00Z", "2025-03-29T10:00:00Z" },
    { "2024-02-29T00:00:00Z", M, 0, "2027-02-10T00:00:00Z", "2027-02-28T00:00:00Z" },
    { "2024-02-29T00:00:00Z", M, 0, "2028-02-10T00:00:00Z", "2028-02-29T00:00:00Z" },
    { "2000-01-31T00:00:00Z", M, 0, "2000-02-01T00:00:00Z", "2000-02-29T00:00:00Z" }, /* 400-year */
    { "2100-01-31T00:00:00Z", M, 0, "2100-02-01T00:00:00Z", "2100-02-28T00:00:00Z" }, /* 100-year */
    /* monthly downtime: one result, strictly after now */
    { "2025-01-31T10:00:00Z", M, 31, "2026-02-15T00:00:00Z", "2026-02-28T10:00:00Z" },
    { "2025-01-31T10:00:00Z", M, 31, "2026-02-28T10:00:00Z", "2026-03-31T10:00:00Z" },
    { "2025-01-31T10:00:00Z", M, 31, "2026-02-28T09:59:59Z", "2026-02-28T10:00:00Z" },
    { "2026-05-15T07:45:30Z", M, 0, "2026-05-20T00:00:00Z", "2026-06-15T07:45:30Z" },
    { "2026-05-15T07:45:30Z", M, 0, "2031-12-15T07:45:31Z", "2032-01-15T07:45:30Z" },
    /* monthly, not started yet (even when once_at is the clamped day of a long anchor) */
    { "2025-02-28T10:00:00Z", M, 31, "2025-02-20T00:00:00Z", "2025-02-28T10:00:00Z" },
    { "2026-07-04T00:00:00Z", M, 0, "2026-01-01T00:00:00Z", "2026-07-04T00:00:00Z" },
    /* an anchor before once_at's day: the series starts the month after */
    { "2026-03-15T00:00:00Z", M, 10, "2026-03-15T00:00:00Z", "2026-04-10T00:00:00Z" },
};

ParameterizedTestParameters(occur, table)
{
    return cr_make_param_array(struct occur_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct occur_case *c, occur, table)
{
    char got[TW_TIME_BUFSZ];
    int64_t t = tw_occur_next(at(c->once), c->repeat, c->anchor, at(c->now));

    cr_assert_eq(t, at(c->want), "%s %s anchor %u now %s: want %s, got %s", c->once,
                 tw_repeat_name(c->repeat), c->anchor, c->now, c->want, tw_time_format(t, got));
}

Test(occur, none_runs_once)
{
    int64_t once = at("2026-05-26T12:00:00Z");

    cr_assert_eq(tw_occur_next(once, TW_REPEAT_NONE, 0, once - 1), once);
    cr_assert_eq(tw_occur_next(once, TW_REPEAT_NONE, 0, once), TW_OCCUR_NEVER);
    cr_assert_eq(tw_occur_next(once, TW_REPEAT_NONE, 0, once + 86400), TW_OCCUR_NEVER);
}

Test(occur, extreme_inputs_do_not_overflow)
{
    cr_assert_eq(tw_occur_next(INT64_MIN, TW_REPEAT_DAILY, 0, 0), TW_OCCUR_NEVER);
    cr_assert_eq(tw_occur_next(0, TW_REPEAT_MONTHLY, 31, INT64_MAX - 1), TW_OCCUR_NEVER);
    cr_assert_eq(tw_occur_next(INT64_MAX, TW_REPEAT_WEEKLY, 0, 0), INT64_MAX);
    /* Before 1970 the floor divisions must still round toward the past. */
    cr_assert_eq(tw_occur_next(-1, TW_REPEAT_DAILY, 0, -1), 86399);
    cr_assert_eq(tw_occur_next(-86400 - 3600, TW_REPEAT_MONTHLY, 0, 0), 30 * 86400 - 3600);
}

Test(occur, anchor_day)
{
    cr_assert_eq(tw_occur_anchor_day(at("2026-01-31T23:59:59Z")), 31);
    cr_assert_eq(tw_occur_anchor_day(at("2024-02-29T00:00:00Z")), 29);
    cr_assert_eq(tw_occur_anchor_day(at("2026-03-01T00:00:00Z")), 1);
    cr_assert_eq(tw_occur_anchor_day(-1), 31); /* 1969-12-31T23:59:59Z */
}

Test(occur, repeat_names_round_trip)
{
    static const char *const names[] = { "", "daily", "weekly", "monthly" };
    enum tw_repeat r;
    unsigned i;

    for (i = 0; i < 4; i++) {
        cr_assert_eq(tw_repeat_parse(names[i], &r, NULL), TW_OK);
        cr_assert_eq((unsigned)r, i);
        cr_assert_str_eq(tw_repeat_name(r), names[i]);
    }
    cr_assert_eq(tw_repeat_parse(NULL, &r, NULL), TW_OK);
    cr_assert_eq(r, TW_REPEAT_NONE);
    cr_assert_null(tw_repeat_name((enum tw_repeat)4));
}

Test(occur, repeat_parse_refuses_other_spellings)
{
    static const char *const bad[] = { "Daily", "yearly", " daily", "daily ", "hourly", "none" };
    struct tw_err err;
    enum tw_repeat r = TW_REPEAT_WEEKLY;
    unsigned i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tw_err_clear(&err);
        cr_assert_eq(tw_repeat_parse(bad[i], &r, &err), TW_EINVAL, "%s", bad[i]);
        cr_assert_eq(r, TW_REPEAT_WEEKLY, "output kept on error");
        cr_assert_str_eq(err.field, "trigger.repeat");
        cr_assert_neq(err.msg[0], '\0');
    }
}

/* ---- randomized cross-check against walking the series one step at a time ---- */

static uint64_t rng = 0x853c49e6748fea9bu;

static int64_t rnd_below(int64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (int64_t)(rng % (uint64_t)n);
}

/* The k-th monthly occurrence, built from the calendar directly. */
static int64_t naive_month(int64_t once, unsigned anchor, int64_t k)
{
    int64_t days = once >= 0 ? once / 86400 : (once - 86399) / 86400;
    int64_t tod = once - days * 86400;
    int64_t y;
    unsigned m;
    unsigned d;
    unsigned dim;

    tw_civil_from_days(days, &y, &m, &d);
    y += ((int64_t)m - 1 + k) / 12;
    m = (unsigned)(((int64_t)m - 1 + k) % 12) + 1;
    dim = tw_days_in_month(y, m);
    return tw_days_from_civil(y, m, anchor < dim ? anchor : dim) * 86400 + tod;
}

static int64_t naive_next(int64_t once, enum tw_repeat r, unsigned anchor, int64_t now)
{
    int64_t t = once;
    int64_t k;

    if (r == TW_REPEAT_MONTHLY) {
        for (k = 0;; k++) {
            t = naive_month(once, anchor, k);
            if (t > now && t >= once)
                return t;
        }
    }
    while (t <= now)
        t += r == TW_REPEAT_DAILY ? 86400 : 7 * 86400;
    return t;
}

Test(occur, random_against_naive_walk, .timeout = 60)
{
    const int64_t base = at("1990-01-01T00:00:00Z");
    const int64_t span = INT64_C(80) * 365 * 86400;
    int64_t once;
    int64_t now;
    unsigned anchor;
    int r;
    int i;

    for (i = 0; i < 30000; i++) {
        r = 1 + (int)rnd_below(3);
        once = base + rnd_below(span);
        anchor = r == TW_REPEAT_MONTHLY ? tw_occur_anchor_day(once) : 0;
        if (r == TW_REPEAT_MONTHLY && rnd_below(2) == 0) {
            /* Start on the clamped day of a longer anchor, as after a short month. */
            once = naive_month(once, 31, 0);
            anchor = 28 + (unsigned)rnd_below(4);
            if (anchor < tw_occur_anchor_day(once))
                anchor = tw_occur_anchor_day(once);
        }
        now = once - 86400 * 40 + rnd_below(INT64_C(6) * 365 * 86400);
        cr_assert_eq(tw_occur_next(once, (enum tw_repeat)r, anchor, now),
                     naive_next(once, (enum tw_repeat)r, anchor, now),
                     "once %lld repeat %d anchor %u now %lld", (long long)once, r, anchor,
                     (long long)now);
    }
}
