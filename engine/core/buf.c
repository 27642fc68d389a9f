/* Bounded growable buffer (see buf.h). Grows by doubling, never past max. */
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"

void tw_buf_init(struct tw_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void tw_buf_fini(struct tw_buf *b)
{
    tw_free(b->data);
    tw_buf_init(b, b->max);
}

void tw_buf_reset(struct tw_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

static int reserve(struct tw_buf *b, size_t extra)
{
    size_t want;
    size_t cap;
    char *p;

    if (extra > b->max || b->len > b->max - extra)
        return TW_ELIMIT;
    want = b->len + extra + 1;
    if (want <= b->cap)
        return TW_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < want)
        cap *= 2;
    p = tw_realloc(b->data, cap);
    if (p == NULL)
        return TW_ENOMEM;
    b->data = p;
    b->cap = cap;
    return TW_OK;
}

int tw_buf_append(struct tw_buf *b, const void *data, size_t len)
{
    int rc = reserve(b, len);

    if (rc != TW_OK)
        return rc;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return TW_OK;
}

int tw_buf_puts(struct tw_buf *b, const char *s)
{
    return tw_buf_append(b, s, strlen(s));
}

int tw_buf_printf(struct tw_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    int rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return TW_EINVAL;
    rc = reserve(b, (size_t)n);
    if (rc != TW_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return TW_OK;
}

char *tw_buf_steal(struct tw_buf *b)
{
    char *p = b->data;

    tw_buf_init(b, b->max);
    return p;
}
