/*
 * store_sqlite.c: opening, connection settings, migrations (upgrade in place, refusal of a
 * newer database), persistence across reopen, transactions and the IN-list statement cache;
 * store_wal.c: checkpoints deferred to the caller.
 */
#include <sqlite3.h>
#include <sys/stat.h>

#include "store/store_int.h"
#include "core/mem.h"
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

TestSuite(store_sqlite, .init = setup, .fini = teardown, .timeout = 30);

static int64_t pragma_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *q = NULL;
    int64_t v;

    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

Test(store_sqlite, open_sets_wal_normal_foreign_keys)
{
    sqlite3_stmt *q = NULL;
    struct tw_err err = { 0 };

    cr_assert_eq(tw_store_ping(fx.s, &err), TW_OK);
    cr_assert_eq(tw_store_schema_version(fx.s), tw_store_migration_count);
    cr_assert_eq(sqlite3_prepare_v2(fx.s->db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    cr_assert_eq(pragma_int(fx.s->db, "PRAGMA synchronous"), 1); /* NORMAL */
    cr_assert_eq(pragma_int(fx.s->db, "PRAGMA foreign_keys"), 1);
    cr_assert_gt(pragma_int(fx.s->db, "PRAGMA busy_timeout"), 0);
}

Test(store_sqlite, reopen_keeps_rows)
{
    struct tw_err err = { 0 };
    struct tw_task t;
    int64_t id = fx_insert(fx.s, 7, "users");

    cr_assert_eq(tw_store_log_add(fx.s, id, 1500, "hello", &err), TW_OK, "%s", err.msg);
    fx_reopen(&fx);
    cr_assert_eq(tw_store_task_get(fx.s, id, &t, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(t.chain, 7);
    cr_assert_eq(t.version, 2);
    tw_task_fini(&t);
    cr_assert_eq(tw_store_schema_version(fx.s), tw_store_migration_count);
}

Test(store_sqlite, open_bad_path_fails_with_message)
{
    struct tw_store *s = (struct tw_store *)1;
    struct tw_err err = { 0 };

    cr_assert_eq(tw_store_open("/nonexistent-dir/x/tw.db", &s, &err), TW_ESTORE);
    cr_assert_null(s);
    cr_assert(strstr(err.msg, "store: open /nonexistent-dir/x/tw.db") == err.msg, "%s", err.msg);
}

/* Builds a version-1 database by hand, as the code of schema 1 would have left it. */
static void make_v1_db(const char *path)
{
    struct tw_err err = { 0 };
    sqlite3 *db = NULL;

    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL), SQLITE_OK);
    cr_assert_eq(tw_store_migrate(db, 1, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(pragma_int(db, "PRAGMA user_version"), 1);
    cr_assert_eq(
        sqlite3_exec(
            db,
            "INSERT INTO tasks (chain, description, state, last_modified, created_date, "
            "trigger_json, target_json, once_at, action, export_index, version) "
            "VALUES (42, 'old task', 2, 10, 10, '{}', '{}', 20, 'export', 'users', 5);"
            "INSERT INTO task_logs (task_id, time, msg) VALUES (1, 10, 'READY -> INPROGRESS');"
            "INSERT INTO segments (chain, name, segment_json, created, last_modified) "
            "VALUES (42, 'seg', '{}', 1, 1);",
            NULL, NULL, NULL),
        SQLITE_OK, "%s", sqlite3_errmsg(db));
    cr_assert_eq(pragma_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'tasks_segment'"),
                 0);
    sqlite3_close(db);
}

Test(store_sqlite, upgrades_version_1_in_place)
{
    struct tw_task_log *logs = NULL;
    struct tw_err err = { 0 };
    struct tw_task t;
    size_t n = 0;

    tw_store_close(fx.s);
    fx.s = NULL;
    unlink(fx.path);
    make_v1_db(fx.path);

    fx_open(&fx);
    cr_assert_eq(tw_store_schema_version(fx.s), tw_store_migration_count);
    cr_assert_eq(tw_store_task_get(fx.s, 1, &t, &err), TW_OK, "%s", err.msg);
    cr_assert_str_eq(t.desc, "old task");
    cr_assert_eq(t.version, 5);
    cr_assert_eq(t.state, TW_STATE_DONE);
    tw_task_fini(&t);
    cr_assert_eq(tw_store_log_list(fx.s, 1, 10, 0, &logs, &n, &err), TW_OK);
    cr_assert_eq(n, 1);
    tw_store_free_logs(logs, n);
    cr_assert_eq(
        pragma_int(fx.s->db, "SELECT count(*) FROM sqlite_master WHERE name = 'tasks_segment'"), 1);
    /* the new index serves the segment-in-use check */
    cr_assert_eq(tw_store_segment_delete(fx.s, 1, &(int64_t *){ NULL }, &(size_t){ 0 }, &err),
                 TW_OK, "%s", err.msg);
    cr_assert_gt(fx_insert(fx.s, 42, "users"), 1);
}

/* Migration 6 fills the run's target columns of existing rows from their target JSON. */
Test(store_sqlite, upgrade_fills_target_columns)
{
    struct tw_err err = { 0 };
    struct tw_task t;
    sqlite3 *db = NULL;

    tw_store_close(fx.s);
    fx.s = NULL;
    unlink(fx.path);
    cr_assert_eq(sqlite3_open(fx.path, &db), SQLITE_OK);
    cr_assert_eq(tw_store_migrate(db, 5, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(
        sqlite3_exec(db,
                     "INSERT INTO tasks (chain, description, state, last_modified, created_date, "
                     "trigger_json, target_json, once_at, action, export_index) VALUES "
                     "(1, 'gz', 0, 10, 10, '{}', '{\"action\":\"export\",\"export_index\":"
                     "\"users\",\"export_format\":\"json\",\"compression\":\"gzip\","
                     "\"since\":\"last_success\"}', 20, 'export', 'users'),"
                     "(1, 'plain', 0, 10, 10, '{}', '{\"action\":\"export\","
                     "\"export_index\":\"users\",\"export_format\":\"csv\"}', 20, "
                     "'export', 'users')",
                     NULL, NULL, NULL),
        SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);

    fx_open(&fx);
    cr_assert_eq(tw_store_schema_version(fx.s), tw_store_migration_count);
    memset(&t, 0, sizeof(t));
    cr_assert_eq(tw_store_task_get(fx.s, 1, &t, &err), TW_OK, "%s", err.msg);
    cr_assert_str_eq(t.export_format, "json");
    cr_assert_str_eq(t.compression, "gzip");
    cr_assert_str_eq(t.since, "last_success");
    tw_task_fini(&t);
    memset(&t, 0, sizeof(t));
    cr_assert_eq(tw_store_task_get(fx.s, 2, &t, &err), TW_OK, "%s", err.msg);
    cr_assert_str_eq(t.export_format, "csv");
    cr_assert_str_eq(t.compression, "none");
    cr_assert_null(t.since);
    tw_task_fini(&t);
}

Test(store_sqlite, refuses_newer_schema)
{
    struct tw_store *s = NULL;
    struct tw_err err = { 0 };
    sqlite3 *db = NULL;
    char want[64];

    tw_store_close(fx.s);
    fx.s = NULL;
    cr_assert_eq(sqlite3_open(fx.path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    cr_assert_eq(tw_store_open(fx.path, &s, &err), TW_ESTORE);
    cr_assert_null(s);
    cr_assert(strstr(err.msg, "schema version 99") != NULL, "%s", err.msg);
    snprintf(want, sizeof(want), "only up to version %d", tw_store_migration_count);
    cr_assert(strstr(err.msg, want) != NULL, "%s", err.msg);
}

Test(store_sqlite, migrate_rejects_unknown_target)
{
    struct tw_err err = { 0 };

    cr_assert_eq(tw_store_migrate(fx.s->db, tw_store_migration_count + 1, &err), TW_EINTERNAL);
    cr_assert_eq(tw_store_migrate(fx.s->db, tw_store_migration_count, &err), TW_OK,
                 "already there: %s", err.msg);
}

static int64_t count_tasks(void)
{
    int64_t counts[4];
    struct tw_err err = { 0 };

    cr_assert_eq(tw_store_task_count_by_state(fx.s, counts, &err), TW_OK);
    return counts[0] + counts[1] + counts[2] + counts[3];
}

Test(store_sqlite, begin_rollback_discards)
{
    struct tw_err err = { 0 };

    cr_assert_eq(tw_store_begin(fx.s, &err), TW_OK, "%s", err.msg);
    fx_insert(fx.s, 1, "users");
    fx_insert(fx.s, 1, "users");
    tw_store_rollback(fx.s);
    cr_assert_eq(count_tasks(), 0);
    cr_assert_eq(fx.s->tx_depth, 0);
}

Test(store_sqlite, failed_call_inside_begin_undoes_only_itself)
{
    struct tw_idem idem = { "token:a", "k1", "abc", 100 };
    struct tw_err err = { 0 };
    struct tw_task t;

    cr_assert_eq(tw_store_begin(fx.s, &err), TW_OK);
    fx_task(&t, 1, "users");
    cr_assert_eq(tw_store_task_insert(fx.s, &t, &idem, &err), TW_OK, "%s", err.msg);
    fx_task(&t, 1, "users");
    cr_assert_eq(tw_store_task_insert(fx.s, &t, &idem, &err), TW_ECONFLICT);
    cr_assert_eq(tw_store_commit(fx.s, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(count_tasks(), 1);
    cr_assert_eq(fx.s->tx_depth, 0);
    cr_assert_eq(tw_store_commit(fx.s, &err), TW_EINTERNAL, "commit without begin");
}

Test(store_sqlite, in_stmt_bounds)
{
    struct tw_err err = { 0 };
    sqlite3_stmt *q = NULL;
    size_t slots = 0;

    cr_assert_eq(tw_store_in_stmt(fx.s, TW_IN_TASK_LIST, 0, &q, &slots, &err), TW_EINVAL);
    cr_assert_eq(tw_store_in_stmt(fx.s, TW_IN_TASK_LIST, TW_IN_MAX + 1, &q, &slots, &err),
                 TW_EINVAL);
    cr_assert_eq(tw_store_in_stmt(fx.s, TW_IN_TASK_LIST, 3, &q, &slots, &err), TW_OK);
    cr_assert_eq(slots, 4);
    cr_assert_eq(tw_store_in_stmt(fx.s, TW_IN_TASK_LIST, 1000, &q, &slots, &err), TW_OK);
    cr_assert_eq(slots, 1024);
    cr_assert_eq(tw_store_in_stmt(fx.s, TW_IN_TASK_LIST, TW_IN_MAX, &q, &slots, &err), TW_OK, "%s",
                 err.msg);
    cr_assert_eq(slots, TW_IN_MAX);
}

Test(store_sqlite, open_out_of_memory)
{
    struct tw_store *s = NULL;
    struct tw_err err = { 0 };
    int ret;

    tw_mem_fail_after(1);
    ret = tw_store_open(fx.path, &s, &err);
    tw_mem_fail_after(0);
    cr_assert_eq(ret, TW_ENOMEM);
    cr_assert_null(s);
}

/* ---- deferred WAL checkpoints (store_wal.c) ---- */

/* Frames in the WAL of path, as another connection sees it after a no-op PASSIVE check. */
static int wal_frames(const char *path)
{
    sqlite3 *db = NULL;
    int log = -1, ckpt = -1;

    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    /* PASSIVE from this connection copies nothing new once the store has checkpointed */
    cr_assert_eq(sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &ckpt),
                 SQLITE_OK);
    sqlite3_close(db);
    return log;
}

static int64_t wal_bytes(const char *path)
{
    char wal[160];
    struct stat st;

    snprintf(wal, sizeof(wal), "%s-wal", path);
    cr_assert_eq(stat(wal, &st), 0);
    return (int64_t)st.st_size;
}

/* Commits until the store counts at least pages WAL pages (each insert is one commit). */
static void write_pages(uint32_t pages)
{
    int i;

    for (i = 0; i < 100000 && tw_store_wal_pages(fx.s) < pages; i++)
        fx_insert(fx.s, 1 + i % 50, "users");
    cr_assert_geq(tw_store_wal_pages(fx.s), pages);
}

Test(store_sqlite, wal_defer_leaves_checkpoints_to_the_caller)
{
    struct tw_store_upkeep_stats st;
    struct tw_err err = { 0 };

    cr_assert_eq(pragma_int(fx.s->db, "PRAGMA wal_autocheckpoint"), 1000, "SQLite's default");
    tw_store_wal_defer(fx.s, 8000);
    cr_assert_eq(pragma_int(fx.s->db, "PRAGMA wal_autocheckpoint"), 0, "automatic one off");
    write_pages(1500); /* past SQLite's 1,000: it would have checkpointed by now */
    tw_store_get_upkeep_stats(fx.s, &st);
    cr_assert_eq(st.wal_checkpoints + st.wal_checkpoints_forced, 0);
    cr_assert_geq(wal_bytes(fx.path), 1500 * pragma_int(fx.s->db, "PRAGMA page_size"),
                  "the WAL grew past 1,000 pages: SQLite did not restart it");

    cr_assert_eq(tw_store_wal_checkpoint(fx.s, &err), TW_OK, "%s", err.msg);
    tw_store_get_upkeep_stats(fx.s, &st);
    cr_assert_eq(st.wal_checkpoints, 1);
    /* and the WAL started over at once (the health row's rewrite), not in the next commit */
    cr_assert_lt(tw_store_wal_pages(fx.s), 10, "%u pages", tw_store_wal_pages(fx.s));
    cr_assert_lt(wal_frames(fx.path), 10);
    cr_assert_geq(count_tasks(), 100, "every row is still there");
}

Test(store_sqlite, wal_defer_past_hard_limit_checkpoints_in_the_commit)
{
    struct tw_store_upkeep_stats st;

    tw_store_wal_defer(fx.s, 40);
    write_pages(30);
    for (int i = 0; i < 200; i++) {
        fx_insert(fx.s, 3, "users");
        cr_assert_lt(tw_store_wal_pages(fx.s), 40, "commit %d left %u pages", i,
                     tw_store_wal_pages(fx.s));
    }
    tw_store_get_upkeep_stats(fx.s, &st);
    cr_assert_gt(st.wal_checkpoints_forced, 0);
    cr_assert_eq(st.wal_checkpoints, 0);
}

Test(store_sqlite, wal_defer_zero_gives_checkpoints_back)
{
    tw_store_wal_defer(fx.s, 8000);
    tw_store_wal_defer(fx.s, 0);
    cr_assert_eq(pragma_int(fx.s->db, "PRAGMA wal_autocheckpoint"), 1000);
}

Test(store_sqlite, wal_checkpoint_refused_inside_a_transaction)
{
    struct tw_err err = { 0 };

    tw_store_wal_defer(fx.s, 8000);
    cr_assert_eq(tw_store_begin(fx.s, &err), TW_OK);
    fx_insert(fx.s, 1, "users");
    cr_assert_eq(tw_store_wal_checkpoint(fx.s, &err), TW_ECONFLICT);
    cr_assert(strstr(err.msg, "inside a transaction") != NULL, "%s", err.msg);
    cr_assert_eq(tw_store_commit(fx.s, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_wal_checkpoint(fx.s, &err), TW_OK, "%s", err.msg);
}
