/*
 * core/utf8.c: tw_utf8_scan agrees with tw_utf8_valid on validity and with the writers' own
 * rules on which bytes need CSV quoting or JSON escapes (the writers copy text it calls plain
 * without looking), for every byte value at every position of texts of every length around
 * the 4-, 8- and 16-byte steps of its scan.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonesc.h"
#include "core/utf8.h"

/* What the CSV writer quotes for (docs/reference.md §7.2) and JSON escapes, byte by byte. */
static unsigned want_marks(const unsigned char *p, size_t n)
{
    unsigned m = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] == ',' || p[i] == '"' || p[i] == '\r' || p[i] == '\n')
            m |= TW_UTF8_CSV_QUOTE;
        if (tw_jsonesc_needed(p[i]))
            m |= TW_UTF8_JSON_ESC;
    }
    return m;
}

static void check(const unsigned char *p, size_t n)
{
    unsigned marks = 99;
    bool valid = tw_utf8_scan(p, n, &marks);

    cr_assert_eq(valid, tw_utf8_valid(p, n), "validity of %zu bytes", n);
    cr_assert_eq(marks, want_marks(p, n), "marks of %zu bytes: %u", n, marks);
}

Test(utf8, scan_every_byte_at_every_position)
{
    unsigned char buf[48];
    size_t n;
    size_t pos;
    unsigned b;

    for (n = 0; n <= 40; n++) {
        memset(buf, 'a', sizeof(buf));
        check(buf, n);
        for (pos = 0; pos < n; pos++) {
            for (b = 0; b < 256; b++) {
                memset(buf, 'a', sizeof(buf));
                buf[pos] = (unsigned char)b;
                check(buf, n);
            }
        }
    }
}

Test(utf8, scan_ignores_bytes_after_the_text)
{
    /* The specials right after the end must not count: the short path reads only the text. */
    const unsigned char text[] = "abcdefghijklmnopqrstuvwxyz\",\n\\";
    size_t n;

    for (n = 0; n <= 26; n++)
        check(text, n);
}

Test(utf8, scan_reads_only_the_text)
{
    /* Texts in allocations of exactly their size: a sanitizer build catches any read past. */
    size_t n;

    for (n = 1; n <= 40; n++) {
        unsigned char *p = malloc(n);

        cr_assert_not_null(p);
        memset(p, 'a', n);
        p[n - 1] = ',';
        check(p, n);
        free(p);
    }
}

Test(utf8, scan_multibyte_and_invalid)
{
    const char *ok[] = { "é", "a€b", "😀", "x,\"é\"", "Łukasz Yılmaz, \"Jr\"", "\t€" };
    const char *bad[] = { "\xff", "a\xc3", "\xed\xa0\x80", "\xc0\xaf", "0123456789abcdef\xf5" };
    unsigned marks;
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        cr_assert(tw_utf8_scan(ok[i], strlen(ok[i]), &marks), "%s", ok[i]);
        check((const unsigned char *)ok[i], strlen(ok[i]));
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_not(tw_utf8_scan(bad[i], strlen(bad[i]), &marks), "bad %zu", i);
}
