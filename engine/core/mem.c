/* Allocation wrappers with a failure-injection seam for tests (see mem.h). */
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

static unsigned long fail_countdown; /* 0: never fail; else fail when it reaches 1 */
static int failing;                  /* once triggered, every later allocation fails */

static int should_fail(void)
{
    if (failing)
        return 1;
    if (fail_countdown == 0)
        return 0;
    if (--fail_countdown == 0) {
        failing = 1;
        return 1;
    }
    return 0;
}

void tw_mem_fail_after(unsigned long n)
{
    fail_countdown = n;
    failing = 0;
}

void *tw_malloc(size_t size)
{
    return should_fail() ? NULL : malloc(size);
}

void *tw_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : calloc(n, size);
}

void *tw_realloc(void *ptr, size_t size)
{
    return should_fail() ? NULL : realloc(ptr, size);
}

char *tw_strdup(const char *s)
{
    return s == NULL ? NULL : tw_strndup(s, strlen(s));
}

char *tw_strndup(const char *s, size_t n)
{
    char *p;

    if (s == NULL)
        return NULL;
    n = strnlen(s, n);
    p = tw_malloc(n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void tw_free(void *ptr)
{
    free(ptr);
}
