/*
 * JSON string escaping, the one definition for everything the engine writes as JSON by hand
 * (the log, the JSON export writer, Lua's tw.json): RFC 8259 section 7 with the short forms
 * where they exist, as jansson writes them:
 *   "  \\  ->  \"  \\          \b \f \n \r \t  ->  \b \f \n \r \t
 *   other bytes below 0x20     ->  \u00XX (lowercase hex)
 *   everything else            ->  as is (UTF-8 is not checked here: callers that can meet
 *                                  invalid bytes check with core/utf8.h first)
 * Callers copy the plain runs whole and escape the bytes in between:
 *
 *     while ((k = tw_jsonesc_plain(p, n)) < n) {
 *         put(p, k);
 *         put(e, tw_jsonesc_byte((unsigned char)p[k], e));
 *         p += k + 1, n -= k + 1;
 *     }
 *     put(p, n);
 */
#ifndef TW_CORE_JSONESC_H
#define TW_CORE_JSONESC_H

#include <stdbool.h>
#include <stddef.h>

#define TW_JSONESC_MAX 6 /* longest escape: \u00XX */

/* Whether byte c must be escaped inside a JSON string. */
static inline bool tw_jsonesc_needed(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

/* Length of the longest prefix of p[0..n) that goes into a JSON string as is. */
static inline size_t tw_jsonesc_plain(const char *p, size_t n)
{
    size_t i = 0;

    while (i < n && !tw_jsonesc_needed((unsigned char)p[i]))
        i++;
    return i;
}

/* The escape of a byte for which tw_jsonesc_needed() is true, at out (no NUL); its length. */
size_t tw_jsonesc_byte(unsigned char c, char out[TW_JSONESC_MAX]);

#endif /* TW_CORE_JSONESC_H */
