/*
 * Password checks on a small thread pool, answered on the event loop (hashpool.c).
 */
#ifndef TW_API_HASHPOOL_H
#define TW_API_HASHPOOL_H

#include <stdbool.h>

#include "core/err.h"

struct event_base;
struct tw_hashpool;

/* One check. Embed it in the caller's record; the pool borrows it from submit to done. */
struct tw_hash_job {
    struct tw_hash_job *next; /* the pool's lists */
    const char *password;     /* borrowed, read by a thread until done */
    const char *hash;         /* stored crypt(3) hash; NULL: check a dummy (always false) */
    bool ok;                  /* the result, valid in done */
    /* Called once on the loop: with the result, or cancelled (the pool is being destroyed). */
    void (*done)(struct tw_hash_job *job, bool cancelled);
};

struct tw_hashpool *tw_hashpool_create(struct event_base *base, struct tw_err *err);
/* Queue job: TW_OK, or TW_ELIMIT when too many checks wait (then done is never called). */
int tw_hashpool_submit(struct tw_hashpool *p, struct tw_hash_job *job, struct tw_err *err);
/* Stop the threads, cancel pending jobs (their done runs with cancelled = true). NULL-safe. */
void tw_hashpool_destroy(struct tw_hashpool *p);

#endif
