/*
 * UTF-8 checking, the one definition of valid text for the engine: strict UTF-8 (RFC 3629: no
 * overlong forms, no UTF-16 surrogates, nothing past U+10FFFF). Used by the records (a text
 * value must be valid) and the log (invalid bytes become U+FFFD).
 */
#ifndef TW_CORE_UTF8_H
#define TW_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Length (1..4) of the valid UTF-8 sequence at p, or 0 when it is not one (or n is 0). At most
 * n bytes are read, and none after the first byte that does not continue the sequence, so a
 * NUL-terminated string may pass n = 4 whatever its remaining length.
 */
size_t tw_utf8_char_len(const unsigned char *p, size_t n);

/* Whether p[0..n) is valid UTF-8; ASCII is checked 8 bytes at a time. */
bool tw_utf8_valid(const void *p, size_t n);

/*
 * The bytes an export writer must treat specially (engine/export/csv.c and json.c), found by
 * tw_utf8_scan while it checks the text anyway, so the writers copy plain text without a
 * second pass over it.
 */
#define TW_UTF8_CSV_QUOTE 1u /* holds a comma, quote, CR or LF: the CSV cell is quoted */
#define TW_UTF8_JSON_ESC 2u  /* holds a quote, backslash or byte below 0x20: JSON escapes */

/*
 * Whether p[0..n) is valid UTF-8 (exactly as tw_utf8_valid), and in *marks (always set) the
 * TW_UTF8_* classes of the bytes it holds. The classes are ASCII bytes, which valid UTF-8
 * never holds inside a multi-byte sequence, so they are found byte by byte, 16 at a time
 * with SSE2.
 */
bool tw_utf8_scan(const void *p, size_t n, unsigned *marks);

#endif /* TW_CORE_UTF8_H */
