/*
 * Time: ISO 8601 parsing and formatting in UTC, and civil-date arithmetic. All instants are
 * int64 seconds since the Unix epoch (UTC); no function here reads the clock or uses the
 * process time zone (no mktime/localtime), so results never depend on TZ.
 */
#ifndef TW_CORE_TIME_H
#define TW_CORE_TIME_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

#define TW_TIME_BUFSZ 24 /* "2026-05-26T12:00:00Z" + NUL, with room */

/*
 * Parse an ISO 8601 date-time: "YYYY-MM-DDTHH:MM:SS" followed by "Z", "+HH:MM", "-HH:MM",
 * "+HHMM" or "+HH", with optional fractional seconds (".123", truncated toward the past to whole
 * seconds). 't' and ' ' are accepted as the separator, 'z' as Z. A time without an offset is
 * refused (ambiguous). Years 0001..9999 of the proleptic Gregorian calendar, and the instant in
 * UTC must lie in 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z, so times before 1970 are negative
 * (a caller that needs a run time, such as trigger.once, checks >= 0 itself). On error returns
 * TW_EINVAL and a sentence in err.
 */
int tw_time_parse(const char *s, int64_t *out, struct tw_err *err);

/*
 * Parse either a date-time (as tw_time_parse) or a bare date "YYYY-MM-DD" (then *out is its
 * 00:00:00Z and *date_only is set true).
 */
int tw_time_parse_date_or_time(const char *s, int64_t *out, bool *date_only, struct tw_err *err);

/* Format as "YYYY-MM-DDTHH:MM:SSZ" into buf (TW_TIME_BUFSZ bytes); returns buf. */
char *tw_time_format(int64_t t, char buf[TW_TIME_BUFSZ]);

/* Format the date part only, "YYYY-MM-DD"; returns buf. */
char *tw_time_format_date(int64_t t, char buf[TW_TIME_BUFSZ]);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12, day 1..31). */
int64_t tw_days_from_civil(int64_t y, unsigned m, unsigned d);

/* The inverse of tw_days_from_civil. */
void tw_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* Number of days in a month (handles leap years). */
unsigned tw_days_in_month(int64_t y, unsigned m);

#endif
