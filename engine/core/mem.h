/*
 * Allocation: the only place that calls malloc and friends, so that tests can fail the N-th
 * allocation (tw_mem_fail_after) and check that every caller handles NULL.
 * Whoever calls tw_malloc/tw_strdup owns the result and releases it with tw_free.
 */
#ifndef TW_CORE_MEM_H
#define TW_CORE_MEM_H

#include <stddef.h>

void *tw_malloc(size_t size);
void *tw_calloc(size_t n, size_t size);
void *tw_realloc(void *ptr, size_t size);
char *tw_strdup(const char *s); /* NULL in, NULL out */
char *tw_strndup(const char *s, size_t n);
void tw_free(void *ptr);

/* Tests only: the n-th allocation from now on (1-based) and all after it fail; 0 disables. */
void tw_mem_fail_after(unsigned long n);

#endif
