/*
 * Time zones and incremental exports end to end (docs/reference.md §13), through a real server:
 * - trigger.timezone: stored and returned only when given, refused (400, field
 *   trigger.timezone) for unknown names, "utc+2", "" and a 300-character name; a repeating
 *   task's next trigger.once (in UTC) follows the zone's wall clock;
 * - target.since: "last_success": seed, run (everything before the run), add and change rows
 *   in two chains, a failing run in between (the window stays), run again: exactly the
 *   changed rows of the task's chain, compared with the source read by SQL written here; a
 *   segment still applies inside the window; every format and gzip; refused (400, field
 *   target.since) on an index whose plugin is built against ABI 1.0.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#include <zlib.h>

#include "harness.h"

#define CHAIN_A 1764
#define CHAIN_B 1765
#define FIXTURES TW_BUILD_DIR "/tests/plugins"

/* A user's change time, written here independently of the plugin's expression. */
#define USER_CHANGED                                                                \
    "(CASE WHEN last_modified IS NULL THEN created_date "                           \
    "WHEN created_date IS NULL OR last_modified > created_date THEN last_modified " \
    "ELSE created_date END)"

static struct tw_srv srv;
static char *tok;

static void setup(void)
{
    static const char *const chains[] = { "1764", "1765", NULL };
    static const char *const args[] = { "seed",      "--rows", "300", "--chains",
                                        "1764,1765", "--seed", "11",  NULL };

    tw_srv_init(&srv, NULL);
    cr_assert_eq(tw_srv_cli(&srv, NULL, NULL, args), 0, "taskwheel seed failed");
    tok = tw_srv_token(&srv, "write", chains);
}

static void teardown(void)
{
    free(tok);
    tok = NULL;
    tw_srv_fini(&srv, true);
}

TestSuite(incremental, .init = setup, .fini = teardown, .timeout = 300);

static void source_path(char *buf, size_t len)
{
    snprintf(buf, len, "%s/var/retail.db", srv.dir);
}

static long long create(const char *target_extra, const char *trigger_extra, const char *index,
                        const char *format)
{
    char body[2048];
    struct tw_resp r;
    long long id;

    snprintf(body, sizeof(body),
             "{\"chain\": %d, \"desc\": \"incremental\", \"target\": {\"action\": \"export\", "
             "\"export_index\": \"%s\", \"export_format\": \"%s\"%s%s}, \"trigger\": "
             "{\"once\": \"2099-01-01T00:00:00Z\"%s%s}}",
             CHAIN_A, index, format, target_extra ? ", " : "", target_extra ? target_extra : "",
             trigger_extra ? ", " : "", trigger_extra ? trigger_extra : "");
    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    cr_assert_eq(r.status, 201, "create: %ld %s", r.status, r.body);
    id = json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    return id;
}

static void execute(long long id, const char *want)
{
    char path[64];
    struct tw_resp r;

    snprintf(path, sizeof(path), "/tasks/%lld/execute", id);
    tw_http(&srv, "POST", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "execute: %ld %s", r.status, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), want, "%s", r.body);
    tw_resp_fini(&r);
}

/* The run's start (state.last_run_date) and its final log entry's msg and success count. */
static void last_run(long long id, char start[32], char msg[160], long long *success)
{
    json_t *task = tw_task_get(&srv, tok, id);
    json_t *log = json_array_get(json_object_get(task, "logs"), 0);

    snprintf(start, 32, "%s",
             json_string_value(json_object_get(json_object_get(task, "state"), "last_run_date")));
    snprintf(msg, 160, "%s", json_string_value(json_object_get(log, "msg")));
    if (success != NULL)
        *success = json_integer_value(json_object_get(log, "success"));
    json_decref(task);
}

/* Wait (on the clock, not a fixed sleep) until the wall clock is past the instant iso. */
static void wait_past(const char *iso)
{
    struct tm tm;
    time_t t;

    memset(&tm, 0, sizeof(tm));
    cr_assert_not_null(strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm), "%s", iso);
    t = timegm(&tm);
    while (time(NULL) <= t)
        usleep(50 * 1000);
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return (x > y) - (x < y);
}

/* ids selected by sql (?1 chain, ?2 and ?3 text bounds when present), ascending. */
static size_t sql_ids(const char *sql, long chain, const char *b1, const char *b2, long long *ids,
                      size_t max)
{
    char path[512];
    sqlite3 *db;
    sqlite3_stmt *st;
    size_t n = 0;

    source_path(path, sizeof(path));
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, chain);
    if (b1 != NULL)
        sqlite3_bind_text(st, 2, b1, -1, SQLITE_TRANSIENT);
    if (b2 != NULL)
        sqlite3_bind_text(st, 3, b2, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW) {
        cr_assert_lt(n, max);
        ids[n++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    qsort(ids, n, sizeof(*ids), cmp_ll);
    return n;
}

static void source_exec(const char *sql)
{
    char path[512];
    sqlite3 *db;
    char *e = NULL;

    source_path(path, sizeof(path));
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &e), SQLITE_OK, "%s: %s", sql, e ? e : "");
    sqlite3_close(db);
}

/* The ids in the task's current JSON result (gzipped when gz), ascending. */
static size_t export_ids(long long id, bool gz, long long *ids, size_t max)
{
    char path[96];
    struct tw_resp r, f;
    const char *url, *p;
    char *raw = NULL;
    size_t raw_len = 0, i, n = 0;
    json_t *arr;

    snprintf(path, sizeof(path), "/tasks/%lld/download_url", id);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    url = json_string_value(json_object_get(r.json, "url"));
    p = strstr(url, "/downloads/");
    cr_assert_not_null(p, "%s", url);
    tw_http(&srv, "GET", p, NULL, NULL, NULL, &f);
    cr_assert_eq(f.status, 200);
    if (gz)
        tw_gunzip(f.body, f.len, &raw, &raw_len);
    arr = json_loadb(gz ? raw : f.body, gz ? raw_len : f.len, 0, NULL);
    cr_assert(json_is_array(arr), "the result is not a JSON array");
    for (i = 0; i < json_array_size(arr); i++) {
        cr_assert_lt(n, max);
        ids[n++] = json_integer_value(json_object_get(json_array_get(arr, i), "id"));
    }
    json_decref(arr);
    free(raw);
    tw_resp_fini(&f);
    tw_resp_fini(&r);
    qsort(ids, n, sizeof(*ids), cmp_ll);
    return n;
}

static void same_ids(const long long *got, size_t ngot, const long long *want, size_t nwant,
                     const char *what)
{
    size_t i;

    cr_assert_eq(ngot, nwant, "%s: the export has %zu records, the source query %zu", what, ngot,
                 nwant);
    for (i = 0; i < ngot; i++)
        cr_assert_eq(got[i], want[i], "%s: record %zu is id %lld, the source query says %lld", what,
                     i, got[i], want[i]);
}

#define MAXIDS 2000

/* New and changed users in both chains, all changed at instant `at` (ISO text). */
static void change_users(const char *at)
{
    char sql[1024];

    snprintf(sql, sizeof(sql),
             "INSERT INTO users (chain_id, username, created_date, last_modified) VALUES "
             "(%d, 'new-in-a', '%s', NULL), (%d, 'new-in-b', '%s', NULL);"
             "UPDATE users SET last_modified = '%s' WHERE chain_id IN (%d, %d) AND id %% 7 = 0;",
             CHAIN_A, at, CHAIN_B, at, at, CHAIN_A, CHAIN_B);
    source_exec(sql);
}

Test(incremental, changed_rows_of_the_chain_only_and_errors_keep_the_window)
{
    static long long got[MAXIDS], want[MAXIDS], other[MAXIDS];
    char t1[32], t2[32], t3[32], t4[32], msg[160], expect[160], src[512], away[600];
    long long id = create("\"since\": \"last_success\", \"compression\": \"gzip\"", NULL, "users",
                          "json");
    size_t ng, nw, no;
    json_t *task;

    /* The task object carries since (docs/reference.md §1: only when set). */
    task = tw_task_get(&srv, tok, id);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(task, "target"), "since")),
                     "last_success");
    json_decref(task);

    /* First run: everything changed before its start (and rows without a change time). */
    execute(id, "DONE");
    last_run(id, t1, msg, NULL);
    snprintf(expect, sizeof(expect), "success (changes from the beginning .. %s)", t1);
    cr_assert_str_eq(msg, expect);
    ng = export_ids(id, true, got, MAXIDS);
    nw = sql_ids("SELECT id FROM users WHERE chain_id = ?1 AND (" USER_CHANGED
                 " IS NULL OR " USER_CHANGED " < ?2)",
                 CHAIN_A, t1, NULL, want, MAXIDS);
    cr_assert_gt(nw, 100);
    same_ids(got, ng, want, nw, "first run");

    /* Changes in both chains, at the first run's start (the window's inclusive edge). */
    change_users(t1);
    wait_past(t1);

    /* A failing run does not move the watermark. */
    source_path(src, sizeof(src));
    snprintf(away, sizeof(away), "%s.away", src);
    cr_assert_eq(rename(src, away), 0, "%s", strerror(errno));
    execute(id, "ERROR");
    cr_assert_eq(rename(away, src), 0, "%s", strerror(errno));
    last_run(id, t2, msg, NULL);
    cr_assert(strstr(msg, "source database unavailable") != NULL, "%s", msg);
    wait_past(t2);

    execute(id, "DONE");
    last_run(id, t3, msg, NULL);
    snprintf(expect, sizeof(expect), "success (changes %s .. %s)", t1, t3);
    cr_assert_str_eq(msg, expect, "the window must start at the last good run, not the error");
    ng = export_ids(id, true, got, MAXIDS);
    nw = sql_ids("SELECT id FROM users WHERE chain_id = ?1 AND " USER_CHANGED
                 " >= ?2 AND " USER_CHANGED " < ?3",
                 CHAIN_A, t1, t3, want, MAXIDS);
    same_ids(got, ng, want, nw, "second good run");
    /* Exactly the rows changed above in chain A: 1 new + every 7th id of the chain. */
    no = sql_ids("SELECT id FROM users WHERE chain_id = ?1 AND (id % 7 = 0 OR "
                 "username = 'new-in-a')",
                 CHAIN_A, NULL, NULL, other, MAXIDS);
    same_ids(got, ng, other, no, "changed rows of chain A");
    /* Chain B changed too, and none of it is here. */
    no = sql_ids("SELECT id FROM users WHERE chain_id = ?1 AND " USER_CHANGED " >= ?2", CHAIN_B, t1,
                 NULL, other, MAXIDS);
    cr_assert_gt(no, 5);
    for (size_t i = 0; i < ng; i++)
        cr_assert_null(bsearch(&got[i], other, no, sizeof(*other), cmp_ll),
                       "id %lld of chain %d exported", got[i], CHAIN_B);

    /* Nothing changed since: the next window is empty (and still a valid file). */
    wait_past(t3);
    execute(id, "DONE");
    last_run(id, t4, msg, NULL);
    snprintf(expect, sizeof(expect), "success (changes %s .. %s)", t3, t4);
    cr_assert_str_eq(msg, expect);
    cr_assert_eq(export_ids(id, true, got, MAXIDS), 0);
}

Test(incremental, segment_applies_inside_the_window)
{
    static long long got[MAXIDS], want[MAXIDS];
    char t1[32], t2[32], msg[160];
    long long id = create("\"since\": \"last_success\"",
                          "\"segment\": {\"rules\": [{\"field_name\": \"id\", \"field_type\": "
                          "\"number\", \"operator\": \"is_greater_than\", \"value\": 150}]}",
                          "users", "json");
    size_t ng, nw;

    execute(id, "DONE");
    last_run(id, t1, msg, NULL);
    ng = export_ids(id, false, got, MAXIDS);
    nw = sql_ids("SELECT id FROM users WHERE chain_id = ?1 AND id > 150 AND (" USER_CHANGED
                 " IS NULL OR " USER_CHANGED " < ?2)",
                 CHAIN_A, t1, NULL, want, MAXIDS);
    same_ids(got, ng, want, nw, "first run with a segment");
    change_users(t1);
    wait_past(t1);
    execute(id, "DONE");
    last_run(id, t2, msg, NULL);
    ng = export_ids(id, false, got, MAXIDS);
    nw = sql_ids("SELECT id FROM users WHERE chain_id = ?1 AND id > 150 AND " USER_CHANGED
                 " >= ?2 AND " USER_CHANGED " < ?3",
                 CHAIN_A, t1, t2, want, MAXIDS);
    cr_assert_gt(nw, 0);
    cr_assert_lt(nw, 60, "the segment must cut the window");
    same_ids(got, ng, want, nw, "second run with a segment");
}

/*
 * Every index and every format (csv, json, and the shipped Lua ndjson and tsv), gzip or not:
 * the second run writes exactly as many records as the source has changes in its window.
 */
Test(incremental, every_index_and_format)
{
    static const struct {
        const char *index, *table, *changed, *touch;
    } idx[] = {
        { "users", "users", USER_CHANGED, "last_modified" },
        { "transactions", "transactions", "timestamp", "timestamp" },
        { "wallet-ledger", "wallet_ledger", "timestamp", "timestamp" },
        { "vouchers", "vouchers",
          "max(coalesce(created_date, ''), coalesce(date_time_claimed, ''), "
          "coalesce(date_time_redeemed, ''))",
          "date_time_redeemed" },
        { "products", "products", "created_date", "created_date" },
        { "product-variants", "product_variants", "created_date", "created_date" },
    };
    static const char *const formats[] = { "csv", "json", "ndjson", "tsv" };
    static long long want[MAXIDS];
    long long ids[6][4], success;
    char t1[6][4][32], t2[32], msg[160], sql[1024], expect[160];
    size_t i, f, nw;

    for (i = 0; i < 6; i++)
        for (f = 0; f < 4; f++) {
            ids[i][f] = create(f % 2 ? "\"since\": \"last_success\", \"compression\": \"gzip\""
                                     : "\"since\": \"last_success\"",
                               NULL, idx[i].index, formats[f]);
            execute(ids[i][f], "DONE");
            last_run(ids[i][f], t1[i][f], msg, NULL);
        }
    /* Every task's first run is over; touch a few rows of each table in both chains. */
    for (i = 0; i < 6; i++) {
        snprintf(sql, sizeof(sql), "UPDATE %s SET %s = '%s' WHERE id %% 11 = 3%s;", idx[i].table,
                 idx[i].touch, t1[5][3],
                 strcmp(idx[i].table, "vouchers") == 0 ? " AND deleted = 0" : "");
        source_exec(sql);
    }
    wait_past(t1[5][3]);
    for (i = 0; i < 6; i++)
        for (f = 0; f < 4; f++) {
            execute(ids[i][f], "DONE");
            last_run(ids[i][f], t2, msg, &success);
            snprintf(expect, sizeof(expect), "success (changes %s .. %s)", t1[i][f], t2);
            cr_assert_str_eq(msg, expect, "%s/%s", idx[i].index, formats[f]);
            snprintf(sql, sizeof(sql),
                     "SELECT id FROM %s WHERE chain_id = ?1%s AND %s >= ?2 "
                     "AND %s < ?3",
                     idx[i].table, strcmp(idx[i].table, "vouchers") == 0 ? " AND deleted = 0" : "",
                     idx[i].changed, idx[i].changed);
            nw = sql_ids(sql, CHAIN_A, t1[i][f], t2, want, MAXIDS);
            cr_assert_gt(nw, 0, "%s: no changes to export", idx[i].index);
            if (strcmp(idx[i].index, "transactions") != 0 || strcmp(formats[f], "json") == 0 ||
                strcmp(formats[f], "ndjson") == 0)
                cr_assert_eq(success, (long long)nw, "%s/%s: %lld records written, %zu changed",
                             idx[i].index, formats[f], success, nw);
            else /* csv and tsv write one row per line item */
                cr_assert_geq(success, (long long)nw, "%s/%s", idx[i].index, formats[f]);
        }
}

/* A plugin built against ABI 1.0 loads and serves full exports, but refuses since. */
Test(incremental, abi_1_0_plugin_refuses_since, .init = NULL, .fini = NULL)
{
    static const char *const chains[] = { "1764", NULL };
    struct tw_srv old;
    struct tw_resp r;
    char *t;
    static const char body[] =
        "{\"chain\": 1764, \"desc\": \"d\", \"target\": {\"action\": \"export\", "
        "\"export_index\": \"old-minor\", \"since\": \"last_success\"}, "
        "\"trigger\": {\"once\": \"2099-01-01T00:00:00Z\"}}";

    tw_srv_init_plugins(&old, FIXTURES, NULL);
    t = tw_srv_token(&old, "write", chains);
    tw_http(&old, "POST", "/tasks", t, NULL, body, &r);
    tw_assert_error(&r, 400, "validation_failed", "target.since");
    cr_assert(
        strstr(json_string_value(json_object_get(json_object_get(r.json, "error"), "description")),
               "old-minor") != NULL,
        "%s", r.body);
    tw_resp_fini(&r);
    tw_http(&old, "POST", "/tasks", t, NULL,
            "{\"chain\": 1764, \"desc\": \"d\", \"target\": {\"action\": \"export\", "
            "\"export_index\": \"old-minor\"}, \"trigger\": {\"once\": "
            "\"2099-01-01T00:00:00Z\"}}",
            &r);
    cr_assert_eq(r.status, 201, "the 1.0 plugin's index still works: %s", r.body);
    tw_resp_fini(&r);
    free(t);
    tw_srv_fini(&old, true);
}

Test(incremental, since_values_are_checked)
{
    struct tw_resp r;

    tw_http(&srv, "POST", "/tasks", tok, NULL,
            "{\"chain\": 1764, \"desc\": \"d\", \"target\": {\"action\": \"export\", "
            "\"export_index\": \"users\", \"since\": \"yesterday\"}, \"trigger\": {\"once\": "
            "\"2099-01-01T00:00:00Z\"}}",
            &r);
    tw_assert_error(&r, 400, "validation_failed", "target.since");
    tw_resp_fini(&r);
    tw_http(&srv, "POST", "/tasks", tok, NULL,
            "{\"chain\": 1764, \"desc\": \"d\", \"target\": {\"action\": \"export\", "
            "\"export_index\": \"users\", \"since\": null}, \"trigger\": {\"once\": "
            "\"2099-01-01T00:00:00Z\"}}",
            &r);
    tw_assert_error(&r, 400, "validation_failed", "target.since");
    tw_resp_fini(&r);
}

/* ---- trigger.timezone ------------------------------------------------------------------- */

Test(incremental, timezone_is_validated)
{
    char name[303], body[1024];
    const char *bad[] = {
        "\"Mars/Olympus_Mons\"",       "\"utc+2\"", "\"\"", name, "\"../../etc/passwd\"",
        "\"/usr/share/zoneinfo/UTC\"", "2",         "null"
    };
    struct tw_resp r;
    size_t i;

    name[0] = '"'; /* a 300-character name, quoted */
    memset(name + 1, 'A', 300);
    name[301] = '"';
    name[302] = '\0';
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(body, sizeof(body),
                 "{\"chain\": 1764, \"desc\": \"d\", \"target\": {\"action\": \"export\", "
                 "\"export_index\": \"users\"}, \"trigger\": {\"once\": "
                 "\"2099-01-01T00:00:00Z\", \"repeat\": \"daily\", \"timezone\": %s}}",
                 bad[i]);
        tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
        tw_assert_error(&r, 400, "validation_failed", "trigger.timezone");
        tw_resp_fini(&r);
    }
}

Test(incremental, timezone_returned_only_when_set_and_repeats_follow_it)
{
    const char *once;
    json_t *task, *trig;
    long long plain = create(NULL, "\"repeat\": \"daily\"", "users", "csv");
    /* 2020-01-10 09:00 in Amsterdam (CET, +01:00); the next runs are at 09:00 local. */
    long long id;
    struct tw_resp r;

    task = tw_task_get(&srv, tok, plain);
    cr_assert_null(json_object_get(json_object_get(task, "trigger"), "timezone"),
                   "a task without a timezone shows none (Spaaza's object)");
    json_decref(task);

    tw_http(&srv, "POST", "/tasks", tok, NULL,
            "{\"chain\": 1764, \"desc\": \"tz\", \"target\": {\"action\": \"export\", "
            "\"export_index\": \"products\"}, \"trigger\": {\"once\": "
            "\"2020-01-10T09:00:00+01:00\", \"repeat\": \"daily\", \"timezone\": "
            "\"Europe/Amsterdam\"}}",
            &r);
    cr_assert_eq(r.status, 201, "%s", r.body);
    trig = json_object_get(r.json, "trigger");
    cr_assert_str_eq(json_string_value(json_object_get(trig, "timezone")), "Europe/Amsterdam");
    cr_assert_str_eq(json_string_value(json_object_get(trig, "once")), "2020-01-10T08:00:00Z",
                     "trigger.once is returned in UTC");
    id = json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);

    /* Past due: it runs once now, then once advances to the next 09:00 Amsterdam time. */
    task = tw_wait_state(&srv, tok, id, "DONE", 60);
    once = json_string_value(json_object_get(json_object_get(task, "trigger"), "once"));
    cr_assert_not_null(once);
    {
        /* Read back on Amsterdam's wall clock by Python's zoneinfo, not by taskwheel. */
        char cmd[512], out[64] = "";
        FILE *p;

        snprintf(cmd, sizeof(cmd),
                 "python3 -c \"import datetime as d, zoneinfo as z; "
                 "print(d.datetime.fromisoformat('%.19s+00:00').astimezone("
                 "z.ZoneInfo('Europe/Amsterdam')).strftime('%%H:%%M'))\"",
                 once);
        p = popen(cmd, "r");
        cr_assert_not_null(p);
        cr_assert_not_null(fgets(out, sizeof(out), p));
        cr_assert_eq(pclose(p), 0);
        cr_assert_str_eq(out, "09:00\n", "next run %s is not 09:00 in Amsterdam", once);
    }
    json_decref(task);
}

static void put_target(long long id, const char *target)
{
    char path[64], body[512];
    struct tw_resp r;

    snprintf(path, sizeof(path), "/tasks/%lld", id);
    snprintf(body, sizeof(body), "{\"target\": %s}", target);
    tw_http(&srv, "PUT", path, tok, NULL, body, &r);
    cr_assert_eq(r.status, 200, "PUT: %ld %s", r.status, r.body);
    tw_resp_fini(&r);
}

/* A new format keeps the window; a new index starts over with everything (docs/exports.md). */
Test(incremental, changing_the_index_starts_over)
{
    char t1[32], t2[32], t3[32], msg[160], expect[160];
    long long id = create("\"since\": \"last_success\"", NULL, "users", "json");

    execute(id, "DONE");
    last_run(id, t1, msg, NULL);
    wait_past(t1);
    put_target(id, "{\"action\": \"export\", \"export_index\": \"users\", \"export_format\": "
                   "\"csv\", \"since\": \"last_success\"}");
    execute(id, "DONE");
    last_run(id, t2, msg, NULL);
    snprintf(expect, sizeof(expect), "success (changes %s .. %s)", t1, t2);
    cr_assert_str_eq(msg, expect, "a new format keeps the watermark");
    wait_past(t2);
    put_target(id, "{\"action\": \"export\", \"export_index\": \"products\", \"export_format\": "
                   "\"csv\", \"since\": \"last_success\"}");
    execute(id, "DONE");
    last_run(id, t3, msg, NULL);
    snprintf(expect, sizeof(expect), "success (changes from the beginning .. %s)", t3);
    cr_assert_str_eq(msg, expect, "a new index starts over");
}
