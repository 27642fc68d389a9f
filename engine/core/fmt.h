/*
 * Numbers as text, the one place that formats them for output: the export writers (CSV, JSON)
 * and Lua's tw.json. Without printf on the hot path (fmt.c says how). And the one strict reader
 * of whole integers that the API's ids, headers and the CLI's arguments share.
 */
#ifndef TW_CORE_FMT_H
#define TW_CORE_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TW_FMT_NUM_MAX 32 /* longest number text any tw_fmt_* writes */

/* Each writes at most TW_FMT_NUM_MAX bytes at out (no NUL) and returns the length. */
size_t tw_fmt_int(char *out, int64_t v);
size_t tw_fmt_money(char *out, int64_t minor_units); /* 1250 -> "12.50", -5 -> "-0.05" */
size_t tw_fmt_double(char *out, double v);           /* shortest text that reads back exactly */
/*
 * The shortest of %.15g, %.16g, %.17g that reads back exactly, with no shortcut for zero or
 * integral values (tw_fmt_double takes those: "0" for -0, "1000000000000000" for 1e15, where
 * this gives "-0" and "1e+15"). v must be finite.
 */
size_t tw_fmt_double_g(char *out, double v);

/*
 * s as a whole decimal integer: an optional '-' then digits only, nothing before or after (no
 * "+5", " 5", "5x"; strtoll alone takes the first two), within int64_t. false for NULL, empty
 * or anything else, leaving *out unchanged.
 */
bool tw_parse_i64(const char *s, int64_t *out);

#endif /* TW_CORE_FMT_H */
