/*
 * PostgreSQL as the export source (issue 14, docs/reference.md §10 "PostgreSQL as the export source"):
 * two real `taskwheel serve` processes, one with source.driver sqlite and one with
 * source.driver postgresql on a throwaway cluster (tests/harness/pgpeer.h), both seeded by
 * `taskwheel seed` with the same seed and size. Then:
 * - every index × csv/json, a gzip export, segments with several rule kinds pushed down
 *   (join all and any: numbers, keywords, text contains, dates, booleans, null tests, lists)
 *   and an incremental (target.since) export's second window give byte-identical files;
 * - a wrong or unreachable source.dsn ends the run ERROR with a message naming source.dsn
 *   and libpq's reason, check-config says the same, and the dsn's password is in neither the
 *   task's log, the server's log nor check-config's output;
 * - an export of 800k rows (the plugin in a process of its own) peaks far below what holding
 *   the result set would take: the rows stream;
 * - the embedded schema of the seeder is plugins/sql/source_schema_pg.sql byte for byte.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "export/export.h"
#include "harness.h"
#include "pgpeer.h"
#include "seed/seed.h"

#define PASSWORD "Src3tPassw0rd"

static struct tw_pgpeer pg;
static struct tw_srv lite, pgs;
static char *tok_lite, *tok_pg;

static void psql(const char *sql)
{
    char why[1024];

    cr_assert_eq(tw_pgpeer_sql(&pg, NULL, sql, why, sizeof(why)), 0, "%s: %s", sql, why);
}

static void seed(struct tw_srv *s)
{
    static const char *const args[] = { "seed",      "--rows", "150", "--chains",
                                        "1764,1765", "--seed", "7",   NULL };
    char *out = NULL;

    cr_assert_eq(tw_srv_cli(s, NULL, &out, args), 0, "taskwheel seed failed: %s", out);
    free(out);
}

static void setup(void)
{
    static const char *const chains[] = { "1764", "1765", NULL };
    char why[1024], yaml[512];

    cr_assert_eq(tw_pgpeer_start(&pg, why, sizeof(why)), 0, "PostgreSQL: %s", why);
    snprintf(yaml, sizeof(yaml), "source: { driver: postgresql, dsn: \"%s\" }\n", pg.dsn);
    tw_srv_init(&lite, NULL);
    tw_srv_init(&pgs, yaml);
    seed(&lite);
    seed(&pgs);
    tok_lite = tw_srv_token(&lite, "write", chains);
    tok_pg = tw_srv_token(&pgs, "write", chains);
}

static void teardown(void)
{
    free(tok_lite);
    free(tok_pg);
    tok_lite = tok_pg = NULL;
    tw_srv_fini(&lite, true);
    tw_srv_fini(&pgs, true);
    tw_pgpeer_fini(&pg);
}

TestSuite(pg_source, .init = setup, .fini = teardown, .timeout = 600);

/* Create the task body on s; its id. */
static long long create(struct tw_srv *s, const char *tok, const char *body)
{
    struct tw_resp r;
    long long id;

    tw_http(s, "POST", "/tasks", tok, NULL, body, &r);
    cr_assert_eq(r.status, 201, "create: %ld %s", r.status, r.body);
    id = json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    return id;
}

/* POST execute; the state code it answers (the run has finished when it says DONE/ERROR). */
static void execute(struct tw_srv *s, const char *tok, long long id, const char *want)
{
    char path[64];
    struct tw_resp r;

    snprintf(path, sizeof(path), "/tasks/%lld/execute", id);
    tw_http(s, "POST", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "execute: %ld %s", r.status, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), want, "%s", r.body);
    tw_resp_fini(&r);
}

/* The task's current result file, downloaded (gunzipped when gz); caller frees. */
static char *download(struct tw_srv *s, const char *tok, long long id, bool gz, size_t *len)
{
    char path[96];
    struct tw_resp r, f;
    const char *url, *p;
    char *out = NULL;

    snprintf(path, sizeof(path), "/tasks/%lld/download_url", id);
    tw_http(s, "GET", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    url = json_string_value(json_object_get(r.json, "url"));
    p = strstr(url, "/downloads/");
    cr_assert_not_null(p, "%s", url);
    tw_http(s, "GET", p, NULL, NULL, NULL, &f);
    cr_assert_eq(f.status, 200);
    if (gz) {
        tw_gunzip(f.body, f.len, &out, len);
    } else {
        out = malloc(f.len + 1);
        cr_assert_not_null(out);
        memcpy(out, f.body, f.len);
        out[f.len] = '\0';
        *len = f.len;
    }
    tw_resp_fini(&f);
    tw_resp_fini(&r);
    return out;
}

/* The success count of the task's last log entry. */
static long long success(struct tw_srv *s, const char *tok, long long id)
{
    json_t *task = tw_task_get(s, tok, id);
    long long n = json_integer_value(
        json_object_get(json_array_get(json_object_get(task, "logs"), 0), "success"));

    json_decref(task);
    return n;
}

/* Run body once on each server; assert the two results are the same bytes; records written. */
static long long same_export(const char *what, const char *body, bool gz)
{
    long long a = create(&lite, tok_lite, body), b = create(&pgs, tok_pg, body);
    size_t la, lb, i;
    char *fa, *fb;
    long long n;

    execute(&lite, tok_lite, a, "DONE");
    execute(&pgs, tok_pg, b, "DONE");
    fa = download(&lite, tok_lite, a, gz, &la);
    fb = download(&pgs, tok_pg, b, gz, &lb);
    for (i = 0; i < la && i < lb && fa[i] == fb[i]; i++)
        ;
    cr_assert(la == lb && i == la,
              "%s: the PostgreSQL source's export (%zu bytes) differs from SQLite's (%zu bytes) "
              "at byte %zu:\n sqlite: %.120s\n pg:     %.120s",
              what, lb, la, i, fa + (i > 40 ? i - 40 : 0), fb + (i > 40 ? i - 40 : 0));
    n = success(&lite, tok_lite, a);
    cr_assert_eq(success(&pgs, tok_pg, b), n, "%s: success counts differ", what);
    free(fa);
    free(fb);
    return n;
}

static char *body(const char *index, const char *format, const char *target_extra,
                  const char *segment)
{
    static char buf[8192];

    snprintf(buf, sizeof(buf),
             "{\"chain\": 1764, \"desc\": \"pg source\", \"target\": {\"action\": \"export\", "
             "\"export_index\": \"%s\", \"export_format\": \"%s\"%s}, \"trigger\": "
             "{\"once\": \"2099-01-01T00:00:00Z\"%s%s}}",
             index, format, target_extra ? target_extra : "", segment ? ", \"segment\": " : "",
             segment ? segment : "");
    return buf;
}

Test(pg_source, every_index_and_format_is_byte_identical_to_the_sqlite_source)
{
    static const char *const indexes[] = { "users",         "transactions", "vouchers",
                                           "wallet-ledger", "products",     "product-variants" };
    static const char *const formats[] = { "csv", "json" };
    char what[64];
    size_t i, j;

    for (i = 0; i < 6; i++)
        for (j = 0; j < 2; j++) {
            snprintf(what, sizeof(what), "%s %s", indexes[i], formats[j]);
            cr_assert_gt(same_export(what, body(indexes[i], formats[j], NULL, NULL), false), 0,
                         "%s exported nothing", what);
        }
    cr_assert_gt(same_export("transactions csv gzip",
                             body("transactions", "csv", ", \"compression\": \"gzip\"", NULL),
                             true),
                 0);
}

Test(pg_source, pushed_down_segments_select_the_same_records)
{
    /* join all: number range, keyword list, negation, text contains, date range, not null */
    static const char tx[] =
        "{\"join\": \"all\", \"rules\": ["
        "{\"field_name\": \"total_value\", \"field_type\": \"number\", "
        "\"operator\": \"is_between_number\", \"min\": 5, \"max\": 250.5},"
        "{\"field_name\": \"type\", \"field_type\": \"keyword\", \"operator\": \"is\", "
        "\"value\": [\"sale\", \"return\"]},"
        "{\"field_name\": \"payment_method\", \"field_type\": \"keyword\", "
        "\"operator\": \"is_not\", \"value\": \"cash\"},"
        "{\"field_name\": \"store_code\", \"field_type\": \"keyword\", "
        "\"operator\": \"contains\", \"value\": \"0\"},"
        "{\"field_name\": \"timestamp\", \"field_type\": \"date\", "
        "\"operator\": \"is_between_date\", \"start_date\": \"2025-03-01\", "
        "\"end_date\": \"2026-06-30\"},"
        "{\"field_name\": \"employee_code\", \"field_type\": \"keyword\", \"operator\": "
        "\"exists\"}]}";
    /* join any: text contains (case-insensitive, non-ASCII data), date-only field, boolean,
     * null test, number comparison */
    static const char users[] =
        "{\"join\": \"any\", \"rules\": ["
        "{\"field_name\": \"firstname\", \"field_type\": \"text\", \"operator\": "
        "\"contains\", \"value\": \"AN\"},"
        "{\"field_name\": \"birthday\", \"field_type\": \"date\", "
        "\"operator\": \"is_before_date\", \"end_date\": \"1975-01-01\"},"
        "{\"field_name\": \"spaaza_opted_in\", \"field_type\": \"boolean\", "
        "\"operator\": \"is\", \"value\": false},"
        "{\"field_name\": \"loyalty_status\", \"field_type\": \"keyword\", "
        "\"operator\": \"does_not_exist\"},"
        "{\"field_name\": \"wallet_balance\", \"field_type\": \"number\", "
        "\"operator\": \"is_greater_than\", \"value\": 12.5}]}";
    /* vouchers: datetime after, date-only field on a date column, keyword */
    static const char vouchers[] =
        "{\"rules\": ["
        "{\"field_name\": \"date_time_claimed\", \"field_type\": \"date\", "
        "\"operator\": \"is_after_date\", \"start_date\": \"2025-09-15T12:30:00Z\"},"
        "{\"field_name\": \"expiry_date\", \"field_type\": \"date\", "
        "\"operator\": \"is_date\", \"value\": \"2026-02-14\"}]}";
    static const char vouchers2[] =
        "{\"rules\": ["
        "{\"field_name\": \"status\", \"field_type\": \"keyword\", \"operator\": \"is\", "
        "\"value\": \"redeemed\"},"
        "{\"field_name\": \"date_time_redeemed\", \"field_type\": \"date\", "
        "\"operator\": \"is_before_date\", \"end_date\": \"2026-01-01\"},"
        "{\"field_name\": \"campaign_name\", \"field_type\": \"text\", "
        "\"operator\": \"does_not_contain\", \"value\": \"off\"}]}";
    /* ASCII case folding only: "é" must not match "Émilie" (a full Unicode lower() would) */
    static const char accents[] =
        "{\"join\": \"any\", \"rules\": ["
        "{\"field_name\": \"firstname\", \"field_type\": \"text\", \"operator\": "
        "\"contains\", \"value\": \"é\"},"
        "{\"field_name\": \"lastname\", \"field_type\": \"text\", \"operator\": "
        "\"contains\", \"value\": \"ö\"}]}";
    long long n;

    same_export("users non-ASCII contains", body("users", "csv", NULL, accents), false);
    n = same_export("transactions segment", body("transactions", "csv", NULL, tx), false);
    cr_assert_gt(n, 0, "the transactions segment selects nothing: the test proves little");
    n = same_export("users segment", body("users", "json", NULL, users), false);
    cr_assert_gt(n, 0);
    same_export("vouchers segment", body("vouchers", "csv", NULL, vouchers), false);
    n = same_export("vouchers segment 2", body("vouchers", "json", NULL, vouchers2), false);
    cr_assert_gt(n, 0);
}

/* Wait (on the clock) until the wall clock is past the instant t. */
static void wait_past(time_t t)
{
    while (time(NULL) <= t)
        usleep(50 * 1000);
}

static time_t run_start(struct tw_srv *s, const char *tok, long long id)
{
    json_t *task = tw_task_get(s, tok, id);
    const char *iso = json_string_value(
        json_object_get(json_object_get(task, "state"), "last_run_date"));
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    cr_assert_not_null(strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm), "%s", iso);
    json_decref(task);
    return timegm(&tm);
}

Test(pg_source, incremental_windows_export_the_same_changes)
{
    static const char *const indexes[] = { "wallet-ledger", "users" };
    long long a[2], b[2];
    char sql[1024], lite_sql[1200], at[32], path[512];
    time_t t0, t;
    struct tm tm;
    size_t i;

    for (i = 0; i < 2; i++) {
        const char *bd = body(indexes[i], "csv", ", \"since\": \"last_success\"", NULL);

        a[i] = create(&lite, tok_lite, bd);
        b[i] = create(&pgs, tok_pg, bd);
        execute(&lite, tok_lite, a[i], "DONE");
        execute(&pgs, tok_pg, b[i], "DONE");
    }
    t0 = run_start(&lite, tok_lite, a[1]);
    t = run_start(&pgs, tok_pg, b[1]);
    wait_past(t > t0 ? t : t0);
    t = time(NULL);
    gmtime_r(&t, &tm);
    strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* The same changes in both sources, at an instant inside both second windows. */
    snprintf(sql, sizeof(sql),
             "INSERT INTO wallet_ledger (id, chain_id, user_id, timestamp, type, amount, "
             "balance_after, currency, description) VALUES (900001, 1764, 3, '%s', 'credit', "
             "250, 999, 'EUR', 'late, \"quoted\" credit'), (900002, 1765, 3, '%s', 'credit', "
             "1, 1, 'EUR', 'other chain');"
             "UPDATE users SET last_modified = '%s' WHERE chain_id = 1764 AND id %% 9 = 0;",
             at, at, at);
    psql(sql);
    {
        char *e = NULL;
        sqlite3 *db;

        snprintf(path, sizeof(path), "%s/var/retail.db", lite.dir);
        snprintf(lite_sql, sizeof(lite_sql), "%s", sql);
        cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
        cr_assert_eq(sqlite3_exec(db, lite_sql, NULL, NULL, &e), SQLITE_OK, "%s", e ? e : "");
        sqlite3_close(db);
    }
    wait_past(t);
    for (i = 0; i < 2; i++) {
        size_t la, lb;
        char *fa, *fb;

        execute(&lite, tok_lite, a[i], "DONE");
        execute(&pgs, tok_pg, b[i], "DONE");
        fa = download(&lite, tok_lite, a[i], false, &la);
        fb = download(&pgs, tok_pg, b[i], false, &lb);
        cr_assert(la == lb && memcmp(fa, fb, la) == 0,
                  "%s second window differs:\n sqlite: %s\n pg: %s", indexes[i], fa, fb);
        cr_assert_gt(success(&pgs, tok_pg, b[i]), 0, "%s: the second window is empty", indexes[i]);
        free(fa);
        free(fb);
    }
}

Test(pg_source, embedded_schema_is_the_sql_file)
{
    size_t len;
    char *file = tw_slurp(TW_SOURCE_DIR "/plugins/sql/source_schema_pg.sql", &len);

    cr_assert_eq(strlen(tw_seed_schema_pg_sql), len,
                 "engine/seed/seed_schema_pg.inc is stale: regenerate it");
    cr_assert(memcmp(tw_seed_schema_pg_sql, file, len) == 0,
              "engine/seed/seed_schema_pg.inc is stale: regenerate it");
    free(file);
}

/* ---- a bad source.dsn ---- */

static bool contains(const char *hay, const char *needle)
{
    return hay != NULL && strstr(hay, needle) != NULL;
}

/* A server whose source.dsn is dsn: an export ends ERROR naming source.dsn and reason. */
static void bad_dsn(const char *dsn, const char *reason)
{
    static const char *const chains[] = { "1764", NULL };
    static const char *const check[] = { "check-config", NULL };
    char yaml[700], log[320], check_log[320], *out = NULL, *text, *tok;
    struct tw_srv s;
    json_t *task;
    long long id;
    const char *msg;

    snprintf(yaml, sizeof(yaml),
             "log: { level: debug }\nsource: { driver: postgresql, dsn: \"%s\" }\n", dsn);
    tw_srv_prepare(&s, NULL, yaml);
    snprintf(log, sizeof(log), "%s/server.log", s.dir);
    snprintf(check_log, sizeof(check_log), "%s/check.log", s.dir);
    /* check-config names the key and the reason; its output never shows the password */
    cr_assert_neq(tw_srv_cli(&s, NULL, &out, check), 0, "check-config accepted %s", dsn);
    free(out);
    cr_assert_neq(tw_srv_cli_logged(&s, check_log, check), 0, "check-config accepted %s", dsn);
    out = tw_slurp(check_log, NULL);
    cr_assert_gt(strlen(out), 0);
    cr_assert(contains(out, "source.dsn") && contains(out, reason), "check-config said: %s", out);
    cr_assert(!contains(out, PASSWORD), "check-config shows the password: %s", out);
    free(out);

    if (!tw_srv_start_logged(&s, log))
        cr_assert_fail("serve exited: %s", tw_slurp(log, NULL));
    tok = tw_srv_token(&s, "write", chains);
    id = create(&s, tok, body("wallet-ledger", "csv", NULL, NULL));
    execute(&s, tok, id, "ERROR");
    task = tw_task_get(&s, tok, id);
    text = json_dumps(task, 0);
    msg = json_string_value(
        json_object_get(json_array_get(json_object_get(task, "logs"), 0), "msg"));
    cr_assert(contains(msg, "source.dsn") && contains(msg, reason), "the run's log says: %s", msg);
    cr_assert(!contains(text, PASSWORD), "the task shows the password: %s", text);
    free(text);
    json_decref(task);
    free(tok);
    tw_srv_stop(&s, SIGTERM);
    text = tw_slurp(log, NULL);
    cr_assert(!contains(text, PASSWORD), "the server log shows the password");
    free(text);
    tw_srv_fini(&s, false);
}

Test(pg_source, unreachable_or_wrong_dsn_ends_the_run_in_error_without_the_password)
{
    char dsn[512];

    /* no server on that socket directory */
    bad_dsn("host=/nonexistent-dir port=5 user=tw password=" PASSWORD " dbname=retail",
            "No such file or directory");
    /* the cluster is there, the database is not */
    snprintf(dsn, sizeof(dsn), "%s password=%s", pg.dsn, PASSWORD);
    *strstr(dsn, "dbname=tw") = '\0';
    strcat(dsn, "dbname=nosuchdb password=" PASSWORD);
    bad_dsn(dsn, "nosuchdb");
    /* libpq cannot parse it: the quoted fragment (the password) is masked */
    bad_dsn("host=/tmp password=" PASSWORD " bogus", "not a valid PostgreSQL connection string");
}

/* ---- memory stays flat: the plugin streams, it never holds the result set ---- */

#define BIG_ROWS 800000
/*
 * A fully buffered result of BIG_ROWS rows would take ~200 MB in libpq alone. Under
 * AddressSanitizer the bound means nothing: its quarantine (256 MB) keeps every freed block
 * resident, and single-row mode frees one result per row (measured: 393 MB), so there the
 * export only has to succeed.
 */
#define MAXRSS_LIMIT_KB (64 * 1024)

Test(pg_source, a_large_export_runs_in_flat_memory)
{
    char sql[1024], out_dir[300], dsn[300];
    struct tw_plugin_registry *reg = NULL;
    struct rusage ru;
    struct tw_err err;
    int status;
    pid_t pid;

    snprintf(sql, sizeof(sql),
             "INSERT INTO wallet_ledger (id, chain_id, user_id, timestamp, type, amount, "
             "balance_after, currency, description) SELECT 1000000 + g, 1764, g / 7, "
             "timestamptz '2025-01-01 00:00:00+00' + g * interval '1 minute', 'credit', g %% "
             "5000, g, 'EUR', 'entry ' || g FROM generate_series(1, %d) AS g",
             BIG_ROWS);
    psql(sql);
    snprintf(out_dir, sizeof(out_dir), "%s/big", pgs.dir);
    snprintf(dsn, sizeof(dsn), "%s", pg.dsn);
    /* The export in a child of its own, so its peak RSS is the export's alone. */
    pid = fork();
    cr_assert(pid != -1);
    if (pid == 0) {
        struct tw_export_job job;
        struct tw_export_stats st;

        memset(&job, 0, sizeof(job));
        if (tw_plugin_registry_create(&reg, &err) != TW_OK ||
            tw_plugin_registry_load_dir(reg, TW_BUILD_DIR "/plugins", &err) != TW_OK)
            _exit(10);
        job.plugin = tw_plugin_registry_find(reg, "wallet-ledger");
        job.writer = tw_writer_find("csv");
        job.source = dsn;
        job.source_driver = "postgresql";
        job.chain = 1764;
        job.task_id = 1;
        job.run_start = (int64_t)time(NULL);
        job.out_dir = out_dir;
        if (job.plugin == NULL || job.writer == NULL)
            _exit(11);
        if (tw_export_run(&job, &st, &err) != TW_OK) {
            fprintf(stderr, "export: %s\n", err.msg);
            _exit(12);
        }
        _exit(st.success > BIG_ROWS ? 0 : 13);
    }
    cr_assert_eq(wait4(pid, &status, 0, &ru), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the export failed: status %d",
              status);
    fprintf(stderr, "pg source %d rows: export max RSS %ld kB\n", BIG_ROWS, ru.ru_maxrss);
#ifndef __SANITIZE_ADDRESS__
    cr_assert_lt(ru.ru_maxrss, MAXRSS_LIMIT_KB, "export peak RSS %ld kB", ru.ru_maxrss);
#endif
}
