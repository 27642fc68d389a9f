/*
 * Occurrences on a zone's wall clock (docs/reference.md §13), checked against an independent computation:
 * occur_tz_expect.py walks each series with Python's zoneinfo (PEP 495 fold=0, which is
 * §13's gap and overlap rule) and prints, for "now" every 17 hours through 2026 and 2027,
 * the first occurrence after now. Zones: Europe/Amsterdam, America/New_York,
 * Australia/Sydney (southern hemisphere), Asia/Kolkata (+05:30, no DST), Pacific/Chatham
 * (+12:45/+13:45); wall times inside the gaps and overlaps; daily, weekly, monthly.
 * Also: a few readable cases, the tz database reader on its own, and name checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/time.h"
#include "core/tz.h"
#include "sched/occur.h"

static int64_t at(const char *iso)
{
    int64_t t = 0;

    cr_assert_eq(tw_time_parse(iso, &t, NULL), TW_OK, "bad fixture %s", iso);
    return t;
}

static const struct tw_tz *zone(const char *name)
{
    const struct tw_tz *z = NULL;
    struct tw_err err;

    tw_err_clear(&err);
    cr_assert_eq(tw_tz_get(name, &z, &err), TW_OK, "%s: %s", name, err.msg);
    return z;
}

Test(occur_tz, matches_python_zoneinfo, .timeout = 300)
{
    const char *cmd = "python3 " TW_SOURCE_DIR "/tests/unit/sched/occur_tz_expect.py";
    char line[256], name[80], rep_s[16], when[3][TW_TIME_BUFSZ];
    long long once, now, want, got;
    unsigned anchor;
    enum tw_repeat rep;
    size_t lines = 0, bad = 0;
    FILE *p = popen(cmd, "r");

    cr_assert_not_null(p, "cannot run %s", cmd);
    while (fgets(line, sizeof(line), p) != NULL) {
        cr_assert_eq(
            sscanf(line, "%79s %15s %u %lld %lld %lld", name, rep_s, &anchor, &once, &now, &want),
            6, "bad line from the script: %s", line);
        cr_assert_eq(tw_repeat_parse(rep_s, &rep, NULL), TW_OK);
        got = tw_occur_next_tz(once, rep, anchor, now, zone(name));
        lines++;
        if (got != want && bad++ < 10)
            cr_log_error("%s %s anchor %u once %s now %s: got %s, zoneinfo says %s", name, rep_s,
                         anchor, tw_time_format(once, when[0]), tw_time_format(now, when[1]),
                         tw_time_format(got, when[2]), tw_time_format(want, when[0]));
    }
    cr_assert_eq(pclose(p), 0, "%s failed (python3 with zoneinfo and tzdata are needed)", cmd);
    cr_assert_gt(lines, 100000, "the script printed only %zu checks", lines);
    cr_assert_eq(bad, 0, "%zu of %zu occurrences differ from zoneinfo's", bad, lines);
}

/* Readable cases (worked out by hand from the published 2026 DST dates). */
Test(occur_tz, amsterdam_daily_keeps_local_time)
{
    const struct tw_tz *z = zone("Europe/Amsterdam");
    int64_t once = at("2026-03-27T08:00:00Z"); /* 09:00 CET */

    /* Sunday 2026-03-29 02:00 CET -> 03:00 CEST: 09:00 is then 07:00Z. */
    cr_assert_eq(tw_occur_next_tz(once, TW_REPEAT_DAILY, 0, at("2026-03-28T12:00:00Z"), z),
                 at("2026-03-29T07:00:00Z"));
    /* In UTC the same series would stay at 08:00Z (10:00 CEST). */
    cr_assert_eq(tw_occur_next(once, TW_REPEAT_DAILY, 0, at("2026-03-28T12:00:00Z")),
                 at("2026-03-29T08:00:00Z"));
}

Test(occur_tz, gap_runs_same_offset_after_and_overlap_once)
{
    const struct tw_tz *z = zone("Europe/Amsterdam");
    int64_t once = at("2026-03-20T01:30:00Z"); /* 02:30 CET */

    /* 02:30 does not exist on 2026-03-29: run at 03:30 CEST = 01:30Z. */
    cr_assert_eq(tw_occur_next_tz(once, TW_REPEAT_DAILY, 0, at("2026-03-28T12:00:00Z"), z),
                 at("2026-03-29T01:30:00Z"));
    /* 02:30 happens twice on 2026-10-25 (00:30Z CEST, 01:30Z CET): the first only. */
    once = at("2026-10-20T00:30:00Z"); /* 02:30 CEST */
    cr_assert_eq(tw_occur_next_tz(once, TW_REPEAT_DAILY, 0, at("2026-10-24T12:00:00Z"), z),
                 at("2026-10-25T00:30:00Z"));
    cr_assert_eq(tw_occur_next_tz(once, TW_REPEAT_DAILY, 0, at("2026-10-25T00:30:00Z"), z),
                 at("2026-10-26T01:30:00Z"));
}

Test(occur_tz, monthly_anchored_to_local_day)
{
    const struct tw_tz *z = zone("Australia/Sydney");
    int64_t once = at("2026-01-30T13:30:00Z"); /* 2026-01-31 00:30 AEDT (+11) */

    cr_assert_eq(tw_occur_anchor_day_tz(once, z), 31);
    cr_assert_eq(tw_occur_anchor_day_tz(once, NULL), 30);
    /* Feb 28 00:30 AEDT, then Mar 31 00:30 AEDT, Apr 30 00:30 AEST (+10). */
    cr_assert_eq(tw_occur_next_tz(once, TW_REPEAT_MONTHLY, 31, once, z),
                 at("2026-02-27T13:30:00Z"));
    cr_assert_eq(tw_occur_next_tz(once, TW_REPEAT_MONTHLY, 31, at("2026-02-27T13:30:00Z"), z),
                 at("2026-03-30T13:30:00Z"));
    cr_assert_eq(tw_occur_next_tz(once, TW_REPEAT_MONTHLY, 31, at("2026-03-30T13:30:00Z"), z),
                 at("2026-04-29T14:30:00Z"));
}

Test(occur_tz, missed_occurrences_run_once_and_utc_is_unchanged)
{
    const struct tw_tz *z = zone("America/New_York");
    int64_t once = at("2026-01-05T14:00:00Z"); /* 09:00 EST */

    /* Down for months: the next one is the first after now, not a backlog. */
    cr_assert_eq(tw_occur_next_tz(once, TW_REPEAT_WEEKLY, 0, at("2026-07-01T00:00:00Z"), z),
                 at("2026-07-06T13:00:00Z"));
    cr_assert_eq(tw_occur_next_tz(once, TW_REPEAT_NONE, 0, at("2026-07-01T00:00:00Z"), z),
                 TW_OCCUR_NEVER);
    cr_assert_eq(tw_occur_next_tz(once, TW_REPEAT_WEEKLY, 0, once - 1, z), once);
    cr_assert_eq(
        tw_occur_next_tz(once, TW_REPEAT_MONTHLY, 0, at("2026-07-01T00:00:00Z"), zone("UTC")),
        tw_occur_next(once, TW_REPEAT_MONTHLY, 0, at("2026-07-01T00:00:00Z")));
}

/* Offsets against zoneinfo's, including after 2037 (the footer rule) and before 1900. */
Test(tz, offsets_match_python, .timeout = 120)
{
    const char *cmd =
        "python3 -c \"\n"
        "import datetime as dt\nfrom zoneinfo import ZoneInfo\n"
        "for n in ['Europe/Amsterdam','America/New_York','Australia/Sydney','Asia/Kolkata',"
        "'Pacific/Chatham','America/Sao_Paulo','Africa/Casablanca','Europe/Dublin']:\n"
        "  z = ZoneInfo(n)\n"
        "  for t in range(-2500000000, 4200000000, 3600 * 293):\n"
        "    d = dt.datetime.fromtimestamp(t, dt.timezone.utc).astimezone(z)\n"
        "    print(n, t, int(d.utcoffset().total_seconds()))\n\"";
    char name[80];
    long long t, want;
    size_t lines = 0, bad = 0;
    FILE *p = popen(cmd, "r");

    cr_assert_not_null(p);
    while (fscanf(p, "%79s %lld %lld", name, &t, &want) == 3) {
        lines++;
        if (tw_tz_offset(zone(name), t) != want && bad++ < 10)
            cr_log_error("%s at %lld: offset %d, zoneinfo says %lld", name, t,
                         tw_tz_offset(zone(name), t), want);
    }
    cr_assert_eq(pclose(p), 0);
    cr_assert_gt(lines, 10000);
    cr_assert_eq(bad, 0, "%zu of %zu offsets differ", bad, lines);
}

Test(tz, names_are_checked)
{
    static const char *const refused[] = {
        "",
        "utc+2",
        "Mars/Olympus_Mons",
        "../etc/passwd",
        "/usr/share/zoneinfo/UTC",
        "Europe/../Europe/Amsterdam",
        "Europe//Amsterdam",
        "Europe/Amsterdam/",
        ".hidden",
        "localtime",
        "posixrules",
        "zone.tab",
        "Europe/Amsterdam\n",
        "right/Europe/Amsterdam",
        "Europe",
        "iso3166.tab",
        "tzdata.zi",
    };
    char long_name[301];
    const struct tw_tz *z = NULL;
    struct tw_err err;
    size_t i;

    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        tw_err_clear(&err);
        cr_expect_eq(tw_tz_get(refused[i], &z, &err), TW_EINVAL, "accepted \"%s\"", refused[i]);
        cr_expect_neq(err.msg[0], '\0');
    }
    memset(long_name, 'A', 300);
    long_name[300] = '\0';
    cr_expect_eq(tw_tz_get(long_name, &z, &err), TW_EINVAL);
    cr_assert_eq(tw_tz_get("Etc/UTC", &z, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_tz_offset(z, at("2026-07-01T00:00:00Z")), 0);
    cr_assert(tw_tz_is_utc(zone("UTC")));
    cr_assert_str_eq(tw_tz_name(zone("Asia/Kolkata")), "Asia/Kolkata");
    cr_assert_eq(zone("Asia/Kolkata"), zone("Asia/Kolkata"), "the second lookup is cached");
    tw_tz_cache_clear();
}

Test(tz, corrupt_files_are_refused)
{
    static const unsigned char junk[] = "TZif2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
                                        "\0\0\0\0\0\0\0\xff\0\0\0\x01\0\0\0\0";
    static const unsigned char overflow[] =
        "TZif\0\0\0\x8f\0\xff\0\x98\x81\x1d\0 a\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
        "\0\xff\xff\xff\xff\0\0\x01\0\0\0\0\0\0\0\0\0\0"
        "2";
    struct tw_tz *z = NULL;
    struct tw_err err;

    cr_assert_eq(tw_tz_parse((const unsigned char *)"nope", 4, "x", &z, &err), TW_EINVAL);
    cr_assert_eq(tw_tz_parse(junk, sizeof(junk) - 1, "x", &z, &err), TW_EINVAL);
    /* fuzz_tz: 0xffffffff transitions + 1 type wrapped to 0 and passed the size check. */
    cr_assert_eq(tw_tz_parse(overflow, sizeof(overflow) - 1, "x", &z, &err), TW_EINVAL);
    cr_assert_null(z);
}
