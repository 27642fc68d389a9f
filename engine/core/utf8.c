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
