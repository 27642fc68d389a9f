/*
 * Fuzz target: the ISO 8601 parser (issue #6), tw_time_parse and tw_time_parse_date_or_time
 * (core/time.h). The bytes are copied into a NUL-terminated string (both take a C string).
 *
 * Oracles besides the sanitizers:
 *   - an accepted instant lies in the documented range, 0001-01-01T00:00:00Z ..
 *     9999-12-31T23:59:59Z (time.h: "Years 0001..9999", and every instant here is UTC;
 *     a negative instant is a date before 1970, which api/validate.c refuses for
 *     trigger.once itself);
 *   - both entries agree on a string longer than a date (date_or_time delegates to parse);
 *   - an accepted instant in the documented range (years 0001..9999) formats to text that
 *     parses back to the same instant; a bare date formats back to itself.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/time.h"

#define MIN_T INT64_C(-62135596800) /* 0001-01-01T00:00:00Z */
#define MAX_T INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(int64_t t, const char *orig)
{
    char buf[TW_TIME_BUFSZ];
    struct tw_err err;
    int64_t back = -1;

    if (t < MIN_T || t > MAX_T) {
        fprintf(stderr,
                "\"%s\" -> %" PRId64 ": outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z"
                " (formats as \"%s\")\n",
                orig, t, tw_time_format(t, buf));
        abort();
    }
    tw_time_format(t, buf);
    tw_err_clear(&err);
    if (tw_time_parse(buf, &back, &err) != TW_OK || back != t) {
        fprintf(stderr, "\"%s\" -> %" PRId64 " -> \"%s\" -> %" PRId64 " (%s)\n", orig, t, buf, back,
                err.msg);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tw_err err;
    int64_t t1 = 0, t2 = 0;
    bool date_only = false;
    int rc1, rc2;
    char *s = malloc(size + 1);

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    tw_err_clear(&err);
    rc1 = tw_time_parse(s, &t1, &err);
    if (rc1 != TW_OK && err.msg[0] == '\0')
        abort();
    if (rc1 == TW_OK)
        roundtrip(t1, s);

    tw_err_clear(&err);
    rc2 = tw_time_parse_date_or_time(s, &t2, &date_only, &err);
    if (rc2 != TW_OK && err.msg[0] == '\0')
        abort();
    if (strlen(s) > 10 && (rc1 != rc2 || (rc1 == TW_OK && (t1 != t2 || date_only)))) {
        fprintf(stderr, "\"%s\": tw_time_parse %d/%" PRId64 ", date_or_time %d/%" PRId64 "\n", s,
                rc1, t1, rc2, t2);
        abort();
    }
    if (rc2 == TW_OK && date_only) {
        char buf[TW_TIME_BUFSZ];

        if (t2 % 86400 != 0 || strcmp(tw_time_format_date(t2, buf), s) != 0) {
            fprintf(stderr, "date \"%s\" -> %" PRId64 " -> \"%s\"\n", s, t2, buf);
            abort();
        }
    } else if (rc2 == TW_OK) {
        roundtrip(t2, s);
    }
    free(s);
    return 0;
}
