/*
 * Unit tests for core/time.c: ISO 8601 parsing (valid and invalid tables), formatting, and the
 * civil-date arithmetic checked against a naive day-by-day calendar walk over the full range.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "core/time.h"

/*
 * Parameters are copied into each test's own process (which may be a fresh exec with a
 * different address layout), so they hold arrays, not pointers to string literals.
 */
struct good {
    char in[48];  /* input to tw_time_parse */
    int64_t want; /* expected seconds since the epoch */
};

ParameterizedTestParameters(time, parses)
{
    static struct good cases[] = {
        { "1970-01-01T00:00:00Z", 0 },
        { "2026-05-26T12:00:00Z", 1779796800 },
        { "2026-05-26t12:00:00z", 1779796800 },
        { "2026-05-26 12:00:00Z", 1779796800 },
        { "2026-05-26T12:00:00.999999Z", 1779796800 }, /* fractions truncate, never round up */
        { "2026-05-26T12:00:00.1+00:00", 1779796800 },
        { "2026-05-26T12:00:00-00:00", 1779796800 },
        { "2026-05-26T12:00:00+02:00", 1779789600 },
        { "2026-05-26T12:00:00.5+02:00", 1779789600 },
        { "2026-05-26T12:00:00+05:30", 1779777000 },
        { "2026-05-26T12:00:00+0500", 1779778800 },
        { "2026-05-26T12:00:00-08", 1779825600 },
        { "2026-01-01T01:00:00+02:00", 1767222000 }, /* back across a year boundary */
        { "2025-12-31T23:30:00-01:00", 1767227400 }, /* forward across a year boundary */
        { "2026-03-01T01:00:00+01:00", 1772323200 },
        { "2024-02-29T00:00:00Z", 1709164800 }, /* leap year */
        { "2000-02-29T00:00:00Z", 951782400 },  /* divisible by 400: leap */
        { "2024-12-31T23:59:59Z", 1735689599 },
        { "9999-12-31T23:59:59Z", 253402300799 },
        /* Data dates before 1970 (issue 11 #21): negative instants, down to year 1. */
        { "1969-12-31T23:59:59Z", -1 },
        { "1969-12-31T00:00:00Z", -86400 },
        { "1970-01-01T00:00:00+05", -18000 },
        { "1899-12-31T00:00:00Z", -2209075200 },
        { "1900-03-01T00:00:00Z", -2203891200 }, /* the day after 1900-02-28 */
        { "1900-02-28T00:00:00Z", -2203977600 },
        { "1960-01-01T00:00:00Z", -315619200 },
        { "0001-01-01T00:00:00Z", -62135596800 },
        { "0001-01-01T01:00:00+01:00", -62135596800 },
        { "0004-02-29T00:00:00Z", -62035891200 }, /* the first leap day */
    };

    return cr_make_param_array(struct good, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct good *c, time, parses)
{
    struct tw_err err;
    int64_t t = -1;

    tw_err_clear(&err);
    cr_assert_eq(tw_time_parse(c->in, &t, &err), TW_OK, "%s: %s", c->in, err.msg);
    cr_assert_eq(t, c->want, "%s: got %lld, want %lld", c->in, (long long)t, (long long)c->want);
}

struct bad {
    char in[48];    /* input to tw_time_parse */
    char words[40]; /* must appear in the message */
};

ParameterizedTestParameters(time, rejects)
{
    static struct bad cases[] = {
        { "", "empty" },
        { "2026-13-01T00:00:00Z", "month 13" },
        { "2026-00-10T00:00:00Z", "month 00" },
        { "2026-02-30T00:00:00Z", "no day 30" },
        { "2025-02-29T00:00:00Z", "no day 29" },
        { "2100-02-29T00:00:00Z", "no day 29" }, /* divisible by 100, not 400: not leap */
        { "2026-04-31T00:00:00Z", "no day 31" },
        { "2026-05-00T00:00:00Z", "no day 00" },
        { "2026-05-26T24:00:00Z", "time of day" },
        { "2026-05-26T23:60:00Z", "time of day" },
        { "2026-05-26T23:59:60Z", "time of day" },
        { "2026-05-26T12:00:00", "needs a UTC offset" },
        { "2026-05-26T12:00:00.123", "needs a UTC offset" },
        { "2026-05-26T12:00:00Z junk", "unexpected \" junk\"" },
        { "2026-05-26T12:00:00ZZ", "unexpected \"Z\"" },
        { "2026-05-26T12:00:00+02:00x", "unexpected \"x\"" },
        { "2026-05-26T12:00:00.Z", "digits after the decimal point" },
        { "2026-05-26T12:00:00+24:00", "offset out of range" },
        { "2026-05-26T12:00:00+05:60", "offset out of range" },
        { "2026-05-26T12:00:00+5", "expected a UTC offset" },
        { "2026-05-26T12:00:00+05:3", "expected a UTC offset" },
        { "2026-05-26T12:00:00 UTC", "expected a UTC offset" },
        { "2026-05-26T12:00Z", "HH:MM:SS" },
        { "2026-05-26T1:00:00Z", "HH:MM:SS" },
        { "2026-05-26X12:00:00Z", "\"T\"" },
        { "2026-05-26", "\"T\"" },
        { "2026-5-26T12:00:00Z", "YYYY-MM-DD" },
        { "26-05-26T12:00:00Z", "YYYY-MM-DD" },
        { "abcd", "YYYY-MM-DD" },
        { " 2026-05-26T12:00:00Z", "YYYY-MM-DD" },
        { "1900-02-29T00:00:00Z", "no day 29" }, /* 1900 is not a leap year */
        { "0000-01-01T00:00:00Z", "year 0000" },
        { "0000-12-31T23:59:59Z", "year 0000" },
        { "0003-02-29T00:00:00Z", "no day 29" },
        /* found by tests/fuzz (time): the offset moves the instant out of range */
        { "0001-01-01T00:00:00+05", "before 0001-01-01T00:00:00Z in UTC" },
        { "9999-12-31T23:59:59-01", "after 9999-12-31T23:59:59Z in UTC" },
    };

    return cr_make_param_array(struct bad, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad *c, time, rejects)
{
    struct tw_err err;
    int64_t t = 42;

    tw_err_clear(&err);
    cr_assert_eq(tw_time_parse(c->in, &t, &err), TW_EINVAL, "%s was accepted", c->in);
    cr_assert_eq(err.code, TW_EINVAL);
    cr_assert(strstr(err.msg, c->words) != NULL, "%s: message \"%s\" lacks \"%s\"", c->in, err.msg,
              c->words);
    cr_assert_eq(t, 42, "%s: output written on error", c->in);
}

Test(time, rejects_null_and_tolerates_null_err)
{
    int64_t t;

    cr_assert_eq(tw_time_parse(NULL, &t, NULL), TW_EINVAL);
    cr_assert_eq(tw_time_parse("2026-02-30T00:00:00Z", &t, NULL), TW_EINVAL);
}

Test(time, date_or_time)
{
    struct tw_err err;
    int64_t t;
    bool date_only = false;

    cr_assert_eq(tw_time_parse_date_or_time("2026-05-26", &t, &date_only, &err), TW_OK);
    cr_assert(date_only);
    cr_assert_eq(t, 1779753600);
    cr_assert_eq(tw_time_parse_date_or_time("2026-05-26T12:00:00Z", &t, &date_only, &err), TW_OK);
    cr_assert(!date_only);
    cr_assert_eq(t, 1779796800);
    cr_assert_eq(tw_time_parse_date_or_time("2024-02-29", &t, &date_only, &err), TW_OK);
    cr_assert_eq(t, 1709164800);
    cr_assert_eq(tw_time_parse_date_or_time("2026-02-30", &t, &date_only, &err), TW_EINVAL);
    cr_assert(strstr(err.msg, "no day 30") != NULL, "%s", err.msg);
    cr_assert_eq(tw_time_parse_date_or_time("2026-05-2", &t, &date_only, &err), TW_EINVAL);
    cr_assert_eq(tw_time_parse_date_or_time("2026-05-26x", &t, &date_only, &err), TW_EINVAL);
    cr_assert_eq(tw_time_parse_date_or_time("2026-05-26T12:00:00", &t, &date_only, &err),
                 TW_EINVAL);
    cr_assert_eq(tw_time_parse_date_or_time("", &t, &date_only, &err), TW_EINVAL);
    /* The edges of issue 11 #21 as bare dates. */
    cr_assert_eq(tw_time_parse_date_or_time("1899-12-31", &t, &date_only, &err), TW_OK);
    cr_assert(date_only);
    cr_assert_eq(t, -2209075200);
    cr_assert_eq(tw_time_parse_date_or_time("1969-12-31", &t, &date_only, &err), TW_OK);
    cr_assert_eq(t, -86400);
    cr_assert_eq(tw_time_parse_date_or_time("1970-01-01", &t, &date_only, &err), TW_OK);
    cr_assert_eq(t, 0);
    cr_assert_eq(tw_time_parse_date_or_time("2000-02-29", &t, &date_only, &err), TW_OK);
    cr_assert_eq(t, 951782400);
    cr_assert_eq(tw_time_parse_date_or_time("0001-01-01", &t, &date_only, &err), TW_OK);
    cr_assert_eq(t, -62135596800);
    cr_assert_eq(tw_time_parse_date_or_time("9999-12-31", &t, &date_only, &err), TW_OK);
    cr_assert_eq(t, 253402214400);
    cr_assert_eq(tw_time_parse_date_or_time("1900-02-29", &t, &date_only, &err), TW_EINVAL);
    cr_assert(strstr(err.msg, "no day 29") != NULL, "%s", err.msg);
    cr_assert_eq(tw_time_parse_date_or_time("0000-01-01", &t, &date_only, &err), TW_EINVAL);
    cr_assert(strstr(err.msg, "year 0000") != NULL, "%s", err.msg);
}

Test(time, formats)
{
    char buf[TW_TIME_BUFSZ];

    cr_assert_str_eq(tw_time_format(0, buf), "1970-01-01T00:00:00Z");
    cr_assert_str_eq(tw_time_format(1779796800, buf), "2026-05-26T12:00:00Z");
    cr_assert_str_eq(tw_time_format(1709164800 + 86399, buf), "2024-02-29T23:59:59Z");
    cr_assert_str_eq(tw_time_format(253402300799, buf), "9999-12-31T23:59:59Z");
    cr_assert_str_eq(tw_time_format(-1, buf), "1969-12-31T23:59:59Z"); /* floor, not trunc */
    cr_assert_str_eq(tw_time_format(-86400, buf), "1969-12-31T00:00:00Z");
    cr_assert_str_eq(tw_time_format_date(1779796800, buf), "2026-05-26");
    cr_assert_str_eq(tw_time_format_date(-1, buf), "1969-12-31");
    cr_assert_str_eq(tw_time_format(-62135596800, buf), "0001-01-01T00:00:00Z");
    cr_assert_str_eq(tw_time_format_date(-2209075200, buf), "1899-12-31");
    cr_assert_str_eq(tw_time_format_date(-2203891200 - 86400, buf), "1900-02-28");
    /* Far out of range: truncated, never overflowing the buffer. */
    tw_time_format(INT64_MAX, buf);
    cr_assert_lt(strlen(buf), TW_TIME_BUFSZ);
    tw_time_format(INT64_MIN, buf);
    cr_assert_lt(strlen(buf), TW_TIME_BUFSZ);
}

Test(time, days_in_month)
{
    cr_assert_eq(tw_days_in_month(2024, 2), 29);
    cr_assert_eq(tw_days_in_month(2023, 2), 28);
    cr_assert_eq(tw_days_in_month(2000, 2), 29);
    cr_assert_eq(tw_days_in_month(1900, 2), 28);
    cr_assert_eq(tw_days_in_month(2100, 2), 28);
    cr_assert_eq(tw_days_in_month(2026, 1), 31);
    cr_assert_eq(tw_days_in_month(2026, 4), 30);
    cr_assert_eq(tw_days_in_month(2026, 12), 31);
    cr_assert_eq(tw_days_in_month(2026, 0), 0);
    cr_assert_eq(tw_days_in_month(2026, 13), 0);
}

/* Walk the calendar one day at a time, the slow obvious way, and compare with the formulas. */
Test(time, civil_matches_naive_walk_1900_to_9999)
{
    int64_t y = 1900;
    unsigned m = 1;
    unsigned d = 1;
    int64_t days = tw_days_from_civil(1900, 1, 1);

    cr_assert_eq(days, -25567);
    cr_assert_eq(tw_days_from_civil(1970, 1, 1), 0);
    for (; y <= 9999; days++) {
        int64_t gy;
        unsigned gm;
        unsigned gd;

        cr_assert_eq(tw_days_from_civil(y, m, d), days, "%lld-%u-%u", (long long)y, m, d);
        tw_civil_from_days(days, &gy, &gm, &gd);
        if (gy != y || gm != m || gd != d)
            cr_assert_fail("day %lld: got %lld-%u-%u, want %lld-%u-%u", (long long)days,
                           (long long)gy, gm, gd, (long long)y, m, d);
        if (++d > tw_days_in_month(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    cr_assert_eq(days, tw_days_from_civil(10000, 1, 1));
}

Test(time, civil_round_trips_before_epoch_and_far_out)
{
    for (int64_t days = -1000000; days <= 1000000; days += 7) {
        int64_t y;
        unsigned m;
        unsigned d;

        tw_civil_from_days(days, &y, &m, &d);
        cr_assert(m >= 1 && m <= 12 && d >= 1 && d <= tw_days_in_month(y, m));
        cr_assert_eq(tw_days_from_civil(y, m, d), days);
    }
}

Test(time, format_then_parse_round_trips)
{
    char buf[TW_TIME_BUFSZ];
    char date[TW_TIME_BUFSZ];
    int64_t back;
    bool date_only;

    /* A step that is not a multiple of a day or an hour visits every time of day eventually. */
    for (int64_t t = 0; t <= 253402300799; t += 86400 * 17 + 3607) {
        cr_assert_eq(tw_time_parse(tw_time_format(t, buf), &back, NULL), TW_OK, "%s", buf);
        cr_assert_eq(back, t, "%s", buf);
        cr_assert_eq(
            tw_time_parse_date_or_time(tw_time_format_date(t, date), &back, &date_only, NULL),
            TW_OK, "%s", date);
        cr_assert(date_only);
        cr_assert_eq(back, t - t % 86400, "%s", date);
    }
}

Test(time, does_not_depend_on_tz)
{
    int64_t a;
    int64_t b;
    char buf[TW_TIME_BUFSZ];

    cr_assert_eq(tw_time_parse("2026-03-29T01:30:00Z", &a, NULL), TW_OK);
    setenv("TZ", "Europe/Berlin", 1); /* DST starts that night there */
    tzset();
    cr_assert_eq(tw_time_parse("2026-03-29T01:30:00Z", &b, NULL), TW_OK);
    cr_assert_eq(a, b);
    cr_assert_str_eq(tw_time_format(b, buf), "2026-03-29T01:30:00Z");
}
