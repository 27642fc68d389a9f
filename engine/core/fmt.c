/*
 * Numbers as text (fmt.h), for the export writers and Lua's tw.json. Integers and money are the hot path (every
 * export has several per row), so they are formatted two digits at a time from a table
 * instead of through printf. Money never passes through a float: minor units are split into
 * whole and cents with integer division, so 1250 is "12.50" exactly. Doubles (rare: no
 * built-in index has one) take the shortest %.15g..%.17g form that reads back bit-exact.
 */
#include "core/fmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char pairs[201] = "00010203040506070809101112131415161718192021222324252627282930"
                               "31323334353637383940414243444546474849505152535455565758596061"
                               "62636465666768697071727374757677787980818283848586878889909192"
                               "93949596979899";

/* Unsigned decimal, right-aligned into the 20-byte scratch ending at end; returns the start. */
static char *utoa_rev(uint64_t u, char *end)
{
    char *p = end;

    while (u >= 100) {
        unsigned r = (unsigned)(u % 100) * 2;

        u /= 100;
        *--p = pairs[r + 1];
        *--p = pairs[r];
    }
    if (u >= 10) {
        *--p = pairs[u * 2 + 1];
        *--p = pairs[u * 2];
    } else {
        *--p = (char)('0' + u);
    }
    return p;
}

/* |v| as uint64 without overflowing on INT64_MIN. */
static uint64_t magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

size_t tw_fmt_int(char *out, int64_t v)
{
    char tmp[24];
    char *end = tmp + sizeof(tmp);
    char *p = utoa_rev(magnitude(v), end);
    size_t n = 0;

    if (v < 0)
        out[n++] = '-';
    memcpy(out + n, p, (size_t)(end - p));
    return n + (size_t)(end - p);
}

size_t tw_fmt_money(char *out, int64_t minor)
{
    uint64_t m = magnitude(minor);
    unsigned cents = (unsigned)(m % 100) * 2;
    char tmp[24];
    char *end = tmp + sizeof(tmp);
    char *p = utoa_rev(m / 100, end);
    size_t n = 0;

    if (minor < 0)
        out[n++] = '-';
    memcpy(out + n, p, (size_t)(end - p));
    n += (size_t)(end - p);
    out[n++] = '.';
    out[n++] = pairs[cents];
    out[n++] = pairs[cents + 1];
    return n;
}

size_t tw_fmt_double(char *out, double v)
{
    if (v == 0) {
        out[0] = '0'; /* also -0: reads back equal, and "-0" surprises */
        return 1;
    }
    /* Integral values in the exactly-representable range print as integers ("12", not "12.0"). */
    if (v >= -9007199254740992.0 && v <= 9007199254740992.0 && v == (double)(int64_t)v)
        return tw_fmt_int(out, (int64_t)v);
    return tw_fmt_double_g(out, v);
}

size_t tw_fmt_double_g(char *out, double v)
{
    char buf[40];
    int prec;
    int n = 0;

    for (prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, sizeof(buf), "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (n < 0 || n > TW_FMT_NUM_MAX)
        n = 0;
    memcpy(out, buf, (size_t)n);
    return (size_t)n;
}

bool tw_parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (s == NULL || (*s == '-' ? s[1] < '0' || s[1] > '9' : *s < '0' || *s > '9'))
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}
