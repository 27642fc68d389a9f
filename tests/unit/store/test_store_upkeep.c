/*
 * store_upkeep.c: the per-chain quota, log trimming (newest N, plus the run-end entries of the
 * last runs), results due for retention, the database file's identity, the health probe,
 * and user removal and session revocation (store_auth.c).
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "store_fixture.h"

static struct fx fx;

static void setup(void)
{
    fx_setup(&fx);
}

static void teardown(void)
{
    fx_teardown(&fx);
}

TestSuite(store_upkeep, .init = setup, .fini = teardown, .timeout = 30);

Test(store_upkeep, quota_per_chain)
{
    struct tw_store_limits lim = { 2, 0, 0 };
    struct tw_err err = { 0 };
    struct tw_task t;

    tw_store_set_limits(fx.s, &lim);
    fx_insert(fx.s, 7, "users");
    fx_insert(fx.s, 7, "users");
    fx_task(&t, 7, "users");
    cr_assert_eq(tw_store_task_insert(fx.s, &t, NULL, &err), TW_ELIMIT);
    cr_assert_str_eq(err.field, "chain");
    cr_assert(strstr(err.msg, "limits.max_tasks_per_chain") != NULL, "%s", err.msg);
    fx_insert(fx.s, 8, "users"); /* each chain has its own */
}

/*
 * The quota's count of a chain is kept between inserts (store_upkeep.c); it must follow a
 * delete, a rolled-back insert, and another connection's changes exactly as a fresh count.
 */
Test(store_upkeep, quota_follows_deletes_rollbacks_and_other_connections)
{
    struct tw_store_limits lim = { 2, 0, 0 };
    struct tw_err err = { 0 };
    struct tw_store *other = NULL;
    struct fx second = fx;
    struct tw_task t;
    int64_t a;

    tw_store_set_limits(fx.s, &lim);
    a = fx_insert(fx.s, 7, "users");
    fx_insert(fx.s, 7, "users");
    fx_task(&t, 7, "users");
    cr_assert_eq(tw_store_task_insert(fx.s, &t, NULL, &err), TW_ELIMIT);
    /* a delete frees a place */
    cr_assert_eq(tw_store_task_delete(fx.s, a, &err), TW_OK, "%s", err.msg);
    a = fx_insert(fx.s, 7, "users");
    fx_task(&t, 7, "users");
    cr_assert_eq(tw_store_task_insert(fx.s, &t, NULL, &err), TW_ELIMIT);
    cr_assert_eq(tw_store_task_delete(fx.s, a, &err), TW_OK, "%s", err.msg);
    /* an insert rolled back takes no place */
    cr_assert_eq(tw_store_begin(fx.s, &err), TW_OK, "%s", err.msg);
    fx_insert(fx.s, 7, "users");
    tw_store_rollback(fx.s);
    a = fx_insert(fx.s, 7, "users");
    /* another connection's delete frees a place too */
    second.s = NULL;
    fx_open(&second);
    other = second.s;
    cr_assert_eq(tw_store_task_delete(other, a, &err), TW_OK, "%s", err.msg);
    fx_insert(fx.s, 7, "users");
    /* and its insert takes one */
    tw_store_set_limits(other, &lim);
    fx_task(&t, 8, "users");
    cr_assert_eq(tw_store_task_insert(fx.s, &t, NULL, &err), TW_OK, "%s", err.msg);
    fx_insert(other, 8, "users");
    fx_task(&t, 8, "users");
    cr_assert_eq(tw_store_task_insert(fx.s, &t, NULL, &err), TW_ELIMIT);
    tw_store_close(other);
}

static void finish(int64_t id, int64_t at)
{
    struct tw_run_outcome o = { 0 };
    struct tw_err err = { 0 };

    cr_assert_eq(tw_store_run_start(fx.s, id, at, &err), TW_OK, "%s", err.msg);
    o.state = TW_STATE_DONE;
    o.time = at;
    o.msg = "success";
    o.has_counts = true;
    cr_assert_eq(tw_store_run_finish(fx.s, id, &o, &err), TW_OK, "%s", err.msg);
}

Test(store_upkeep, logs_keep_newest_and_run_ends)
{
    struct tw_store_limits lim = { 0, 3, 2 };
    struct tw_store_upkeep_stats st;
    struct tw_err err = { 0 };
    struct tw_task_log *logs = NULL;
    int64_t id = fx_insert(fx.s, 7, "users");
    size_t n = 0;
    int i;

    tw_store_set_limits(fx.s, &lim);
    for (i = 0; i < 4; i++)
        finish(id, 3000 + i);
    cr_assert_eq(tw_store_log_list(fx.s, id, 100, 0, &logs, &n, &err), TW_OK);
    /* newest 3 (success, I->D, D->I of run 4), then run 3's "success"; run 1's and 2's go */
    cr_assert_eq(n, 4, "%zu entries", n);
    cr_assert_str_eq(logs[0].msg, "success");
    cr_assert_str_eq(logs[3].msg, "success");
    cr_assert_eq(logs[3].time, 3002);
    tw_store_free_logs(logs, n);
    /* plain entries are trimmed too */
    for (i = 0; i < 5; i++)
        cr_assert_eq(tw_store_log_add(fx.s, id, 4000 + i, "note", &err), TW_OK);
    cr_assert_eq(tw_store_log_list(fx.s, id, 100, 0, &logs, &n, &err), TW_OK);
    cr_assert_eq(n, 3 + 2, "%zu entries", n);
    tw_store_free_logs(logs, n);
    tw_store_get_upkeep_stats(fx.s, &st);
    cr_assert_eq(st.logs_trimmed, 12 + 5 - 5);
}

Test(store_upkeep, results_expiring_skip_running_and_recent)
{
    struct tw_run_outcome o = { 0 };
    struct tw_store_expiring *v = NULL;
    struct tw_err err = { 0 };
    int64_t old = fx_insert(fx.s, 7, "users");
    int64_t fresh = fx_insert(fx.s, 7, "users");
    int64_t running = fx_insert(fx.s, 7, "users");
    int64_t ids[3] = { old, fresh, running };
    int64_t times[3] = { 100, 900, 100 };
    size_t n = 0;
    int i;

    for (i = 0; i < 3; i++) {
        cr_assert_eq(tw_store_run_start(fx.s, ids[i], times[i], &err), TW_OK);
        o.state = TW_STATE_DONE;
        o.time = times[i];
        o.msg = "success";
        o.result = "R.csv";
        o.result_path = "/nonexistent/R.csv";
        o.result_size = 10;
        o.result_sha256 = "ab";
        cr_assert_eq(tw_store_run_finish(fx.s, ids[i], &o, &err), TW_OK, "%s", err.msg);
    }
    cr_assert_eq(tw_store_run_start(fx.s, running, 950, &err), TW_OK);
    cr_assert_eq(tw_store_results_expiring(fx.s, 500, 10, &v, &n, &err), TW_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(v[0].id, old);
    cr_assert_str_eq(v[0].path, "/nonexistent/R.csv");
    tw_store_free_expiring(v, n);
    cr_assert_eq(tw_store_result_expire(fx.s, old, &err), TW_OK);
    cr_assert_eq(tw_store_results_expiring(fx.s, 500, 10, &v, &n, &err), TW_OK);
    cr_assert_eq(n, 0);
    tw_store_free_expiring(v, n);
}

Test(store_upkeep, replaced_file_refuses_writes)
{
    struct tw_err err = { 0 };
    char other[200];
    struct tw_task t;
    int fd;

    fx_sqlite_only();
    cr_assert_eq(tw_store_check_file(fx.s, &err), TW_OK);
    cr_assert_eq(tw_store_health(fx.s, &err), TW_OK, "%s", err.msg);
    fx_insert(fx.s, 7, "users");
    snprintf(other, sizeof(other), "%s/other", fx.dir);
    fd = open(other, O_WRONLY | O_CREAT, 0600);
    cr_assert(fd != -1);
    close(fd);
    cr_assert_eq(rename(other, fx.path), 0);
    cr_assert_eq(tw_store_check_file(fx.s, &err), TW_ESTORE);
    cr_assert(strstr(err.msg, "replaced") != NULL, "%s", err.msg);
    cr_assert_eq(tw_store_health(fx.s, &err), TW_ESTORE);
    fx_task(&t, 7, "users");
    cr_assert_eq(tw_store_task_insert(fx.s, &t, NULL, &err), TW_ESTORE);
    /* reads still answer */
    cr_assert_eq(tw_store_task_get(fx.s, 1, &t, &err), TW_OK, "%s", err.msg);
    tw_task_fini(&t);
}

Test(store_upkeep, created_private)
{
    struct stat st;

    fx_sqlite_only();
    cr_assert_eq(stat(fx.path, &st), 0);
    cr_assert_eq(st.st_mode & 077, 0, "mode %o", (unsigned)(st.st_mode & 0777));
}

Test(store_upkeep, user_remove_and_sessions_revoke)
{
    struct tw_chain_access a = { 7, TW_LEVEL_WRITE };
    struct tw_user u = { 0, (char *)"alice", (char *)"$y$x", &a, 1 };
    unsigned char mac[32] = { 1 };
    struct tw_err err = { 0 };
    int64_t n = 0;

    cr_assert_eq(tw_store_user_put(fx.s, &u, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_session_insert(fx.s, u.id, mac, 5000, &err), TW_OK);
    cr_assert_eq(tw_store_session_check(fx.s, u.id, mac, 100, &err), TW_OK);
    /* a new password ends the session */
    cr_assert_eq(tw_store_user_put(fx.s, &u, &err), TW_OK);
    cr_assert_eq(tw_store_session_check(fx.s, u.id, mac, 100, &err), TW_ENOTFOUND);
    cr_assert_eq(tw_store_session_insert(fx.s, u.id, mac, 5000, &err), TW_OK);
    cr_assert_eq(tw_store_sessions_revoke(fx.s, "alice", &n, &err), TW_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(tw_store_session_check(fx.s, u.id, mac, 100, &err), TW_ENOTFOUND);
    cr_assert_eq(tw_store_sessions_revoke(fx.s, "bob", &n, &err), TW_ENOTFOUND);
    cr_assert_eq(tw_store_user_remove(fx.s, "alice", &err), TW_OK);
    cr_assert_eq(tw_store_user_remove(fx.s, "alice", &err), TW_ENOTFOUND);
}

/* Deferred WAL checkpoints on every driver: on PostgreSQL a no-op that counts nothing. */
Test(store_upkeep, wal_checkpoint_keeps_rows_on_every_driver)
{
    struct tw_store_upkeep_stats st;
    struct tw_err err = { 0 };
    struct tw_task t;
    int64_t id;

    tw_store_wal_defer(fx.s, 8000);
    id = fx_insert(fx.s, 7, "users");
    cr_assert_eq(tw_store_wal_checkpoint(fx.s, &err), TW_OK, "%s", err.msg);
    cr_assert_lt(tw_store_wal_pages(fx.s), 10); /* SQLite: the WAL's restart, a page or two */
    tw_store_get_upkeep_stats(fx.s, &st);
    cr_assert_eq(st.wal_checkpoints, fx_pg() ? 0 : 1);
    cr_assert_eq(tw_store_task_get(fx.s, id, &t, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(t.chain, 7);
    tw_task_fini(&t);
    tw_store_wal_defer(fx.s, 0);
}
