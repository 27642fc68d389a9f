/*
 * Shared fixture for the store unit tests: a fresh database in a private temporary directory
 * per test, removed afterwards, and a helper that fills a valid task. Functions are static
 * inline so each test file may use any subset without unused-function warnings.
 */
#ifndef TW_TESTS_UNIT_STORE_FIXTURE_H
#define TW_TESTS_UNIT_STORE_FIXTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

struct fx {
    char dir[64];       /* the temporary directory */
    char path[128];     /* dir/tw.db */
    struct tw_store *s; /* open store, or NULL */
};

static inline void fx_mkdir(struct fx *f)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/tw_store_XXXXXX");
    cr_assert_not_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/tw.db", f->dir);
}

static inline void fx_open(struct fx *f)
{
    struct tw_err err = { 0 };
    int ret;

    ret = tw_store_open(f->path, &f->s, &err);
    cr_assert_eq(ret, TW_OK, "open: %s", err.msg);
}

static inline void fx_setup(struct fx *f)
{
    fx_mkdir(f);
    fx_open(f);
}

static inline void fx_reopen(struct fx *f)
{
    tw_store_close(f->s);
    f->s = NULL;
    fx_open(f);
}

static inline void fx_teardown(struct fx *f)
{
    char p[160];

    tw_store_close(f->s);
    f->s = NULL;
    unlink(f->path);
    snprintf(p, sizeof(p), "%s-wal", f->path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", f->path);
    unlink(p);
    rmdir(f->dir);
}

/* A valid READY task of chain for index; strings are borrowed literals. */
static inline void fx_task(struct tw_task *t, int64_t chain, const char *index)
{
    memset(t, 0, sizeof(*t));
    t->chain = chain;
    t->desc = (char *)"a task";
    t->state = TW_STATE_READY;
    t->created_date = 1000;
    t->last_modified = 1000;
    t->trigger_json = (char *)"{\"once\":\"2026-05-27T12:00:00Z\"}";
    t->target_json = (char *)"{\"action\":\"export\"}";
    t->debug = (char *)"";
    t->once_at = 2000;
    t->repeat = (char *)"";
    t->action = (char *)"export";
    t->export_index = (char *)index;
}

static inline int64_t fx_insert(struct tw_store *s, int64_t chain, const char *index)
{
    struct tw_err err = { 0 };
    struct tw_task t;
    int ret;

    fx_task(&t, chain, index);
    ret = tw_store_task_insert(s, &t, NULL, &err);
    cr_assert_eq(ret, TW_OK, "insert: %s", err.msg);
    return t.id;
}

static inline int64_t fx_version(struct tw_store *s, int64_t id)
{
    struct tw_err err = { 0 };
    struct tw_task t;
    int64_t v;

    cr_assert_eq(tw_store_task_get(s, id, &t, &err), TW_OK, "get: %s", err.msg);
    v = t.version;
    tw_task_fini(&t);
    return v;
}

#endif /* TW_TESTS_UNIT_STORE_FIXTURE_H */
