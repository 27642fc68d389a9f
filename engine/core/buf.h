/*
 * A growable byte buffer with a hard ceiling (max), so that nothing fed from the network or a
 * script grows without bound. data is always NUL-terminated. Owned by whoever calls _init;
 * release with tw_buf_fini.
 */
#ifndef TW_CORE_BUF_H
#define TW_CORE_BUF_H

#include <stddef.h>

struct tw_buf {
    char *data; /* NUL-terminated contents, NULL until the first append */
    size_t len; /* bytes used, excluding the NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* appends that would make len exceed this fail with TW_ELIMIT */
};

void tw_buf_init(struct tw_buf *b, size_t max);
void tw_buf_fini(struct tw_buf *b);
void tw_buf_reset(struct tw_buf *b);
int tw_buf_append(struct tw_buf *b, const void *data, size_t len);
int tw_buf_puts(struct tw_buf *b, const char *s);
int tw_buf_printf(struct tw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Hand the contents to the caller (who tw_free()s them) and leave b empty. */
char *tw_buf_steal(struct tw_buf *b);

#endif
