/*
 * Shared fixture for the store unit tests: a fresh database in a private temporary directory
 * per test, removed afterwards, and a helper that fills a valid task. Functions are static
 * inline so each test file may use any subset without unused-function warnings.
 *
 * Both drivers: with TW_TEST_STORE=postgresql in the environment (the "_pg" ctest entries,
 * tests/CMakeLists.txt) the same tests run against PostgreSQL. The test binary then starts
 * its own throwaway cluster before the first test (tests/harness/pgpeer.h) and removes it
 * after the last; each test gets a fresh schema of its own in it (the dsn's search_path), so
 * reopening finds the test's data and no two tests share a table.
 */
#ifndef TW_TESTS_UNIT_STORE_FIXTURE_H
#define TW_TESTS_UNIT_STORE_FIXTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/hooks.h>
#include <libpq-fe.h>

#include "pgpeer.h"
#include "store/store.h"

struct fx {
    char dir[64];       /* the temporary directory */
    char path[128];     /* dir/tw.db */
    char dsn[512];      /* postgresql: the test's own schema in the run's cluster */
    struct tw_store *s; /* open store, or NULL */
};

static inline bool fx_pg(void)
{
    const char *d = getenv("TW_TEST_STORE");

    return d != NULL && strcmp(d, "postgresql") == 0;
}

/* A test about SQLite's file (identity, mode): skipped when the suite runs on PostgreSQL. */
static inline void fx_sqlite_only(void)
{
    if (fx_pg())
        cr_skip_test("a SQLite file test; this run is against PostgreSQL");
}

static struct tw_pgpeer fx_cluster;

/* One cluster per test binary: started before the tests, removed after (the runner process). */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    char why[1024];

    (void)set;
    if (!fx_pg())
        return;
    if (tw_pgpeer_start(&fx_cluster, why, sizeof(why)) != 0) {
        setenv("TW_TEST_PG_ERROR", why, 1);
        return;
    }
    setenv("TW_TEST_PG_DSN", fx_cluster.dsn, 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    if (fx_pg())
        tw_pgpeer_fini(&fx_cluster);
}

/* Make a schema for this test and point f->dsn at it. */
static inline void fx_pg_schema(struct fx *f)
{
    const char *base = getenv("TW_TEST_PG_DSN");
    char sql[128], name[64];
    PGconn *c;
    PGresult *r;

    cr_assert_not_null(base, "no PostgreSQL for the store tests: %s",
                       getenv("TW_TEST_PG_ERROR") ? getenv("TW_TEST_PG_ERROR") : "not started");
    snprintf(name, sizeof(name), "t%ld_%s", (long)getpid(), strrchr(f->dir, '_') + 1);
    for (char *p = name; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    c = PQconnectdb(base);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", name);
    r = PQexec(c, sql);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    snprintf(f->dsn, sizeof(f->dsn), "%s options='-csearch_path=%s'", base, name);
}

static inline void fx_mkdir(struct fx *f)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/tw_store_XXXXXX");
    cr_assert_not_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/tw.db", f->dir);
    if (fx_pg())
        fx_pg_schema(f);
}

static inline void fx_open(struct fx *f)
{
    struct tw_err err = { 0 };
    int ret;

    if (fx_pg()) {
        struct tw_store_conf c = { "postgresql", NULL, f->dsn };

        ret = tw_store_open_conf(&c, &f->s, &err);
    } else {
        ret = tw_store_open(f->path, &f->s, &err);
    }
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
