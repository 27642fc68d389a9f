/* UTF-8 checking (utf8.h). */
#include "core/utf8.h"

#include <stdint.h>
#include <string.h>

size_t tw_utf8_char_len(const unsigned char *p, size_t n)
{
    unsigned c;
    size_t len;
    unsigned min;
    unsigned cp;

    if (n == 0)
        return 0;
    c = p[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) /* also stops at a NUL terminator */
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

bool tw_utf8_valid(const void *text, size_t n)
{
    const unsigned char *p = text;
    size_t i = 0;
    size_t len;
    uint64_t w;

    while (i < n) {
        if (i + 8 <= n) {
            memcpy(&w, p + i, 8);
            if ((w & 0x8080808080808080ULL) == 0) {
                i += 8;
                continue;
            }
        }
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        len = tw_utf8_char_len(p + i, n - i);
        if (len == 0)
            return false;
        i += len;
    }
    return true;
}

#define HIGH 4u /* a byte >= 0x80: the text is not pure ASCII and needs the full check */

#ifndef __SSE2__
/* The TW_UTF8_* class of each byte, HIGH for bytes >= 0x80 (without SSE2: byte by byte). */
/* clang-format off */
static const unsigned char byte_class[256] = {
    /* 0x00-0x1f: control bytes (JSON); CR and LF also CSV */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 2, 3, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    /* 0x20-0x2f: '"' both, ',' CSV */
    0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x50-0x5f: '\\' JSON */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x80-0xff */
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};
/* clang-format on */
#endif

#ifdef __SSE2__
#include <emmintrin.h>

/* The classes of the 16 bytes in v (HIGH, TW_UTF8_CSV_QUOTE, TW_UTF8_JSON_ESC). */
static unsigned class16(__m128i v)
{
    __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    __m128i csv = _mm_or_si128(_mm_or_si128(quote, _mm_cmpeq_epi8(v, _mm_set1_epi8(','))),
                               _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')),
                                            _mm_cmpeq_epi8(v, _mm_set1_epi8('\r'))));
    /* v <= 0x1f unsigned: min(v, 0x1f) == v */
    __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
    __m128i json = _mm_or_si128(_mm_or_si128(quote, _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))), ctl);
    unsigned m = 0;

    if (_mm_movemask_epi8(v) != 0)
        m |= HIGH;
    if (_mm_movemask_epi8(csv) != 0)
        m |= TW_UTF8_CSV_QUOTE;
    if (_mm_movemask_epi8(json) != 0)
        m |= TW_UTF8_JSON_ESC;
    return m;
}

static __m128i load16(const unsigned char *p)
{
    return _mm_loadu_si128((const __m128i *)(const void *)p);
}

/*
 * The classes of p[0..n), 0 < n < 16, in one class16 without reading outside the text: the
 * 16 lanes are filled with bytes of the text only (overlapping copies), so every byte is
 * looked at and nothing else is.
 */
static unsigned class_short(const unsigned char *p, size_t n)
{
    uint64_t a;
    uint64_t b;
    uint32_t x;
    uint32_t y;

    if (n >= 8) {
        memcpy(&a, p, 8);
        memcpy(&b, p + n - 8, 8);
    } else if (n >= 4) {
        memcpy(&x, p, 4);
        memcpy(&y, p + n - 4, 4);
        a = b = (uint64_t)x | (uint64_t)y << 32;
    } else {
        x = (uint32_t)p[0] | (uint32_t)p[n / 2] << 8 | (uint32_t)p[n - 1] << 16 |
            (uint32_t)p[0] << 24;
        a = b = (uint64_t)x | (uint64_t)x << 32;
    }
    return class16(_mm_set_epi64x((long long)b, (long long)a));
}
#endif

bool tw_utf8_scan(const void *text, size_t n, unsigned *marks)
{
    const unsigned char *p = text;
    unsigned acc = 0;
    size_t i = 0;

#ifdef __SSE2__
    if (n >= 16) {
        for (; i + 16 <= n; i += 16)
            acc |= class16(load16(p + i));
        if (i < n) /* the rest, as the last 16 bytes (some looked at twice) */
            acc |= class16(load16(p + n - 16));
    } else if (n > 0) {
        acc = class_short(p, n);
    }
#else
    for (; i < n; i++)
        acc |= byte_class[p[i]];
#endif
    *marks = acc & (TW_UTF8_CSV_QUOTE | TW_UTF8_JSON_ESC);
    return !(acc & HIGH) || tw_utf8_valid(p, n);
}
