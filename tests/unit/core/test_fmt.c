/* core/fmt.c: integers, money from minor units (never through a float), shortest exact doubles. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/fmt.h"

static void check_int(int64_t v, const char *want)
{
    char buf[TW_FMT_NUM_MAX + 1];
    size_t n = tw_fmt_int(buf, v);

    buf[n] = '\0';
    cr_assert_str_eq(buf, want);
}

static void check_money(int64_t v, const char *want)
{
    char buf[TW_FMT_NUM_MAX + 1];
    size_t n = tw_fmt_money(buf, v);

    buf[n] = '\0';
    cr_assert_str_eq(buf, want);
}

Test(fmt, integers)
{
    check_int(0, "0");
    check_int(7, "7");
    check_int(10, "10");
    check_int(-1, "-1");
    check_int(1234567890123, "1234567890123");
    check_int(INT64_MAX, "9223372036854775807");
    check_int(INT64_MIN, "-9223372036854775808");
}

Test(fmt, money_has_two_decimals_exactly)
{
    check_money(0, "0.00");
    check_money(1250, "12.50");
    check_money(5, "0.05");
    check_money(-5, "-0.05");
    check_money(-1250, "-12.50");
    check_money(100, "1.00");
    check_money(1999, "19.99");
    check_money(123456789012345, "1234567890123.45");
    check_money(INT64_MIN, "-92233720368547758.08");
    check_money(INT64_MAX, "92233720368547758.07");
}

Test(fmt, money_matches_integer_arithmetic_everywhere)
{
    char buf[TW_FMT_NUM_MAX + 1];
    char want[64];
    int64_t v;
    size_t n;

    for (v = -100000; v <= 100000; v += 7) {
        n = tw_fmt_money(buf, v);
        buf[n] = '\0';
        snprintf(want, sizeof(want), "%s%lld.%02lld", v < 0 ? "-" : "", llabs(v) / 100,
                 llabs(v) % 100);
        cr_assert_str_eq(buf, want);
    }
}

Test(fmt, doubles_are_shortest_and_exact)
{
    static const double values[] = { 0.1,
                                     0.25,
                                     1.0 / 3.0,
                                     1e21,
                                     123456.789,
                                     -2.5,
                                     5e-324,
                                     1.7976931348623157e308,
                                     0.30000000000000004,
                                     100.0 };
    char buf[TW_FMT_NUM_MAX + 1];
    size_t i;
    size_t n;

    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        n = tw_fmt_double(buf, values[i]);
        buf[n] = '\0';
        cr_assert_eq(strtod(buf, NULL), values[i], "%s", buf);
    }
    n = tw_fmt_double(buf, 0.1);
    buf[n] = '\0';
    cr_assert_str_eq(buf, "0.1");
    n = tw_fmt_double(buf, 100.0);
    buf[n] = '\0';
    cr_assert_str_eq(buf, "100");
    n = tw_fmt_double(buf, -0.0);
    buf[n] = '\0';
    cr_assert_str_eq(buf, "0");
}

Test(fmt, parse_i64_takes_whole_decimal_integers_only)
{
    int64_t v = 7;

    cr_assert(tw_parse_i64("0", &v) && v == 0);
    cr_assert(tw_parse_i64("-42", &v) && v == -42);
    cr_assert(tw_parse_i64("9223372036854775807", &v) && v == INT64_MAX);
    v = 7;
    cr_assert_not(tw_parse_i64(NULL, &v));
    cr_assert_not(tw_parse_i64("", &v));
    cr_assert_not(tw_parse_i64("-", &v));
    cr_assert_not(tw_parse_i64("+5", &v));
    cr_assert_not(tw_parse_i64(" 5", &v));
    cr_assert_not(tw_parse_i64("5x", &v));
    cr_assert_not(tw_parse_i64("9223372036854775808", &v));
    cr_assert_eq(v, 7, "a refused text leaves *out alone");
}
