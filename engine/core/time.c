/*
 * Time (see time.h): ISO 8601 in UTC with pure integer civil-date arithmetic.
 *
 * Dates are converted with Howard Hinnant's days_from_civil / civil_from_days
 * (http://howardhinnant.github.io/date_algorithms.html), which work on the proleptic Gregorian
 * calendar with 400-year eras, so there is no table, no loop and no dependency on TZ, mktime or
 * timegm. The parser is a hand-written scanner over fixed-width fields: every field is checked
 * against its own range (month 1..12, day 1..days_in_month, hour 0..23, ...) before any
 * arithmetic, so "2026-02-30" is an error rather than March 2nd.
 */
#include "core/time.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define SECS_PER_DAY 86400
#define MIN_INSTANT INT64_C(-62135596800) /* 0001-01-01T00:00:00Z */
#define MAX_INSTANT INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

int64_t tw_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    int64_t yoe;
    int64_t doy;
    int64_t doe;

    /* Count years from March so that the leap day is the last day of the "year". */
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tw_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    unsigned mon = (unsigned)(mp < 10 ? mp + 3 : mp - 9);

    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = mon;
    *y = yoe + era * 400 + (mon <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned tw_days_in_month(int64_t y, unsigned m)
{
    static const unsigned days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    if (m < 1 || m > 12)
        return 0;
    if (m == 2 && is_leap(y))
        return 29;
    return days[m - 1];
}

/* Read exactly n ASCII digits at *p; advances *p. Returns -1 if any is missing. */
static int digits(const char **p, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];

        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    return v;
}

/* "YYYY-MM-DD" at *p, validated; advances *p past it. */
static int parse_date(const char **p, int64_t *days, const char *orig, struct tw_err *err)
{
    int y;
    int m;
    int d;

    y = digits(p, 4);
    if (y < 0 || **p != '-')
        goto syntax;
    (*p)++;
    m = digits(p, 2);
    if (m < 0 || **p != '-')
        goto syntax;
    (*p)++;
    d = digits(p, 2);
    if (d < 0)
        goto syntax;
    /* Data dates (birthdays) go far back: any year of the proleptic Gregorian calendar that
     * has four digits. There is no year 0 in ISO 8601 without astronomical numbering. */
    if (y < 1)
        return tw_err_set(err, TW_EINVAL,
                          "time \"%s\": year 0000 is not a year; years are "
                          "0001..9999",
                          orig);
    if (m < 1 || m > 12)
        return tw_err_set(err, TW_EINVAL, "time \"%s\": month %02d is not 01..12", orig, m);
    if (d < 1 || (unsigned)d > tw_days_in_month(y, (unsigned)m))
        return tw_err_set(err, TW_EINVAL, "time \"%s\": %04d-%02d has no day %02d", orig, y, m, d);
    *days = tw_days_from_civil(y, (unsigned)m, (unsigned)d);
    return TW_OK;
syntax:
    return tw_err_set(err, TW_EINVAL, "time \"%s\": expected a date YYYY-MM-DD", orig);
}

/* "HH:MM:SS[.fff]" at *p; advances *p. The fraction is dropped (truncation toward the past). */
static int parse_clock(const char **p, int64_t *secs, const char *orig, struct tw_err *err)
{
    int hh;
    int mm;
    int ss;

    hh = digits(p, 2);
    if (hh < 0 || **p != ':')
        goto syntax;
    (*p)++;
    mm = digits(p, 2);
    if (mm < 0 || **p != ':')
        goto syntax;
    (*p)++;
    ss = digits(p, 2);
    if (ss < 0)
        goto syntax;
    /* 24:00:00 is legal ISO 8601 but means two different instants; refuse it. */
    if (hh > 23 || mm > 59 || ss > 59)
        return tw_err_set(err, TW_EINVAL,
                          "time \"%s\": %02d:%02d:%02d is not a valid time of day "
                          "(00:00:00..23:59:59)",
                          orig, hh, mm, ss);
    if (**p == '.') {
        (*p)++;
        if (**p < '0' || **p > '9')
            return tw_err_set(err, TW_EINVAL,
                              "time \"%s\": expected digits after the decimal point", orig);
        while (**p >= '0' && **p <= '9')
            (*p)++;
    }
    *secs = (int64_t)hh * 3600 + mm * 60 + ss;
    return TW_OK;
syntax:
    return tw_err_set(err, TW_EINVAL, "time \"%s\": expected a time of day HH:MM:SS", orig);
}

/* "Z", "+HH:MM", "-HH:MM", "+HHMM" or "+HH", then the end of the string. */
static int parse_offset(const char *p, int64_t *offset_s, const char *orig, struct tw_err *err)
{
    int sign;
    int hh;
    int mm = 0;

    if (*p == 'Z' || *p == 'z') {
        p++;
        *offset_s = 0;
        goto end;
    }
    if (*p == '\0')
        return tw_err_set(err, TW_EINVAL,
                          "time \"%s\": needs a UTC offset (\"Z\" or \"+HH:MM\"); a local "
                          "time is ambiguous",
                          orig);
    if (*p != '+' && *p != '-')
        goto syntax;
    sign = *p == '-' ? -1 : 1;
    p++;
    hh = digits(&p, 2);
    if (hh < 0)
        goto syntax;
    if (*p == ':') {
        p++;
        mm = digits(&p, 2);
        if (mm < 0)
            goto syntax;
    } else if (*p >= '0' && *p <= '9') {
        mm = digits(&p, 2);
        if (mm < 0)
            goto syntax;
    }
    if (hh > 23 || mm > 59)
        return tw_err_set(err, TW_EINVAL, "time \"%s\": offset out of range", orig);
    *offset_s = sign * ((int64_t)hh * 3600 + mm * 60);
end:
    if (*p != '\0')
        return tw_err_set(err, TW_EINVAL, "time \"%s\": unexpected \"%s\" at the end", orig, p);
    return TW_OK;
syntax:
    return tw_err_set(err, TW_EINVAL,
                      "time \"%s\": expected a UTC offset \"Z\", \"+HH:MM\", \"+HHMM\" or \"+HH\"",
                      orig);
}

int tw_time_parse(const char *s, int64_t *out, struct tw_err *err)
{
    const char *p = s;
    int64_t days = 0;
    int64_t secs = 0; /* zeroed only to quiet -O3's may-be-uninitialized analysis */
    int64_t offset_s = 0;
    int64_t t;
    int ret;

    if (s == NULL || *s == '\0')
        return tw_err_set(err, TW_EINVAL, "time is empty; expected e.g. 2026-05-26T12:00:00Z");
    ret = parse_date(&p, &days, s, err);
    if (ret != TW_OK)
        return ret;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return tw_err_set(err, TW_EINVAL,
                          "time \"%s\": expected \"T\" between date and time of day", s);
    p++;
    ret = parse_clock(&p, &secs, s, err);
    if (ret != TW_OK)
        return ret;
    ret = parse_offset(p, &offset_s, s, err);
    if (ret != TW_OK)
        return ret;
    /* Local time = UTC + offset, so UTC = local - offset. */
    t = days * SECS_PER_DAY + secs - offset_s;
    /* The range is UTC's: an offset must not carry the instant out of it ("0001-01-01T00:00:00
     * +01:00" is year 0 in UTC, which tw_time_format would write back as a refused time). */
    if (t < MIN_INSTANT)
        return tw_err_set(err, TW_EINVAL, "time \"%s\": is before 0001-01-01T00:00:00Z in UTC", s);
    if (t > MAX_INSTANT)
        return tw_err_set(err, TW_EINVAL, "time \"%s\": is after 9999-12-31T23:59:59Z in UTC", s);
    *out = t;
    return TW_OK;
}

int tw_time_parse_date_or_time(const char *s, int64_t *out, bool *date_only, struct tw_err *err)
{
    const char *p = s;
    int64_t days;
    int ret;

    if (s == NULL || *s == '\0')
        return tw_err_set(err, TW_EINVAL,
                          "time is empty; expected a date 2026-05-26 or a time "
                          "2026-05-26T12:00:00Z");
    if (strlen(s) > 10) {
        ret = tw_time_parse(s, out, err);
        if (ret == TW_OK)
            *date_only = false;
        return ret;
    }
    ret = parse_date(&p, &days, s, err);
    if (ret != TW_OK)
        return ret;
    if (*p != '\0')
        return tw_err_set(err, TW_EINVAL, "time \"%s\": unexpected \"%s\" at the end", s, p);
    *out = days * SECS_PER_DAY;
    *date_only = true;
    return TW_OK;
}

/* Floor division, so that instants before the epoch land on the previous day. */
static void split(int64_t t, int64_t *days, int64_t *secs)
{
    *days = t / SECS_PER_DAY;
    *secs = t % SECS_PER_DAY;
    if (*secs < 0) {
        *secs += SECS_PER_DAY;
        (*days)--;
    }
}

/* Two decimal digits of v (0..99). */
static void put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

char *tw_time_format(int64_t t, char buf[TW_TIME_BUFSZ])
{
    int64_t days;
    int64_t secs;
    int64_t y;
    unsigned m;
    unsigned d;

    split(t, &days, &secs);
    tw_civil_from_days(days, &y, &m, &d);
    if (y >= 0 && y <= 9999) {
        /* the API writes several per reply: digits by hand, byte for byte what snprintf gives */
        put2(buf, (unsigned)(y / 100));
        put2(buf + 2, (unsigned)(y % 100));
        buf[4] = '-';
        put2(buf + 5, m);
        buf[7] = '-';
        put2(buf + 8, d);
        buf[10] = 'T';
        put2(buf + 11, (unsigned)(secs / 3600));
        buf[13] = ':';
        put2(buf + 14, (unsigned)(secs / 60 % 60));
        buf[16] = ':';
        put2(buf + 17, (unsigned)(secs % 60));
        buf[19] = 'Z';
        buf[20] = '\0';
        return buf;
    }
    /* Years beyond 9999 do not fit: snprintf truncates rather than overflows. */
    snprintf(buf, TW_TIME_BUFSZ, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m, d,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    return buf;
}

char *tw_time_format_date(int64_t t, char buf[TW_TIME_BUFSZ])
{
    int64_t days;
    int64_t secs;
    int64_t y;
    unsigned m;
    unsigned d;

    split(t, &days, &secs);
    tw_civil_from_days(days, &y, &m, &d);
    snprintf(buf, TW_TIME_BUFSZ, "%04lld-%02u-%02u", (long long)y, m, d);
    return buf;
}
