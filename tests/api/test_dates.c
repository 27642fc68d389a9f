/*
 * Dates before 1970 and at the calendar's edges through a real server (issue 11 #21): a
 * segment rule can name any date 0001-01-01..9999-12-31, the rule is applied (pushed down to
 * SQL or evaluated per record) and the export writes the dates back unchanged. The source
 * database is seeded, then six users get birthdays and creation times at the edges (1899-12-31,
 * the end of February 1900, which has no leap day, 1969-12-31, 1970-01-01, 2000-02-29) and
 * everybody else a null birthday, so every rule has an exact expected set of users.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define EDGES 6

static struct tw_srv srv;
static char *tok;
static long long ids[EDGES];

/* birthday, created_date as stored in the source (offsets and all), and as exported. */
static const char *const birthdays[EDGES] = {
    "1899-12-31", "1900-02-28", "1900-03-01", "1969-12-31", "1970-01-01", "2000-02-29",
};
static const char *const created_in[EDGES] = {
    "1899-12-31T23:59:59Z",      "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z",
    "1970-01-01T00:59:59+01:00", "1970-01-01T00:00:00Z", "0001-01-01T00:00:00Z",
};
static const char *const created_out[EDGES] = {
    "1899-12-31T23:59:59Z", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "0001-01-01T00:00:00Z",
};

static void edit_source(void)
{
    char path[512];
    sqlite3 *db;
    sqlite3_stmt *st;
    int i = 0;

    snprintf(path, sizeof(path), "%s/var/retail.db", srv.dir);
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "UPDATE users SET birthday = NULL", NULL, NULL, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT id FROM users WHERE chain_id = 1764 ORDER BY id"
                                    " LIMIT 6",
                                    -1, &st, NULL),
                 SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW)
        ids[i++] = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    cr_assert_eq(i, EDGES);
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "UPDATE users SET birthday = ?, created_date = ? "
                                    "WHERE id = ?",
                                    -1, &st, NULL),
                 SQLITE_OK);
    for (i = 0; i < EDGES; i++) {
        sqlite3_bind_text(st, 1, birthdays[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, created_in[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, ids[i]);
        cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void setup(void)
{
    static const char *const chains[] = { "1764", NULL };
    static const char *const seed[] = { "seed", "--rows", "30", "--chains", "1764", NULL };

    tw_srv_init(&srv, NULL);
    cr_assert_eq(tw_srv_cli(&srv, NULL, NULL, seed), 0);
    edit_source();
    tok = tw_srv_token(&srv, "write", chains);
}

static void teardown(void)
{
    free(tok);
    tw_srv_fini(&srv, true);
}

TestSuite(dates, .init = setup, .fini = teardown, .timeout = 300);

/* POST /tasks with segment (JSON text) as trigger.segment; returns the response. */
static void create(const char *segment, const char *once, struct tw_resp *r)
{
    char body[2048];

    snprintf(body, sizeof(body),
             "{\"chain\": 1764, \"desc\": \"dates\", \"target\": {\"action\": \"export\", "
             "\"export_index\": \"users\", \"export_format\": \"json\"}, \"trigger\": "
             "{\"once\": \"%s\"%s%s}}",
             once, segment ? ", \"segment\": " : "", segment ? segment : "");
    tw_http(&srv, "POST", "/tasks", tok, NULL, body, r);
}

/* Run an export with segment and return its JSON array (caller json_decref()s). */
static json_t *export_with(const char *segment)
{
    char path[512]; /* a download URL carries expires, sha256 and sig */
    struct tw_resp r;
    long long id;
    const char *url;
    json_t *arr;

    create(segment, "2099-01-01T00:00:00Z", &r);
    cr_assert_eq(r.status, 201, "%s: %ld %s", segment, r.status, r.body);
    id = (long long)json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    snprintf(path, sizeof(path), "/tasks/%lld/execute", id);
    tw_http(&srv, "POST", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "DONE", "%s: %s", segment,
                     r.body);
    tw_resp_fini(&r);
    snprintf(path, sizeof(path), "/tasks/%lld/download_url", id);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    url = strstr(json_string_value(json_object_get(r.json, "url")), "/downloads/");
    cr_assert_not_null(url);
    snprintf(path, sizeof(path), "%s", url);
    tw_resp_fini(&r);
    tw_http(&srv, "GET", path, NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    arr = json_loads(r.body, 0, NULL);
    cr_assert(json_is_array(arr), "%s", r.body);
    tw_resp_fini(&r);
    return arr;
}

/*
 * The export of segment holds exactly the edge users in want (a bit per index of ids), with
 * their dates written back unchanged (date-times in canonical UTC).
 */
static void expect(const char *segment, unsigned want)
{
    json_t *arr = export_with(segment), *o;
    unsigned got = 0;
    size_t k;
    int i;

    json_array_foreach(arr, k, o)
    {
        long long id = (long long)json_integer_value(json_object_get(o, "id"));

        for (i = 0; i < EDGES && ids[i] != id; i++)
            ;
        cr_assert_lt(i, EDGES, "%s: user %lld (birthday %s) is not an edge user", segment, id,
                     json_string_value(json_object_get(o, "birthday")));
        got |= 1u << i;
        cr_assert_str_eq(json_string_value(json_object_get(o, "birthday")), birthdays[i]);
        cr_assert_str_eq(json_string_value(json_object_get(o, "created_date")), created_out[i]);
    }
    cr_assert_eq(got, want, "%s: got users 0x%x, want 0x%x", segment, got, want);
    json_decref(arr);
}

#define RULE(op, rest)                                                                          \
    "{\"rules\": [{\"field_name\": \"birthday\", \"field_type\": \"date\", \"operator\": \"" op \
    "\", " rest "}]}"
#define CREATED(op, rest)                                                                           \
    "{\"rules\": [{\"field_name\": \"created_date\", \"field_type\": \"date\", \"operator\": \"" op \
    "\", " rest "}]}"

Test(dates, rules_before_1970_select_and_export_exactly)
{
    /* "birthday before 1960", the rule the issue could not write */
    expect(RULE("is_before_date", "\"end_date\": \"1960-01-01\""), 0x07);
    expect(RULE("is_before_date", "\"end_date\": \"1900-01-01\""), 0x01);
    expect(RULE("is_before_date", "\"end_date\": \"1900-03-01\""), 0x03);
    expect(RULE("is_between_date", "\"start_date\": \"1899-12-31\", \"end_date\": "
                                   "\"1900-02-28\""),
           0x03);
    expect(RULE("is_between_date", "\"start_date\": \"1969-12-31\", \"end_date\": "
                                   "\"1970-01-01\""),
           0x18);
    expect(RULE("is_after_date", "\"start_date\": \"1969-12-31\""), 0x30);
    expect(RULE("is_after_date", "\"start_date\": \"1969-12-30T23:59:59Z\""), 0x38);
    expect(RULE("is_date", "\"value\": \"2000-02-29\""), 0x20);
    expect(RULE("is_date", "\"value\": \"1900-03-01\""), 0x04);
    expect(RULE("is_before_date", "\"end_date\": \"0001-01-01\""), 0x00);
    expect(RULE("is_after_date", "\"start_date\": \"0001-01-01T00:00:00Z\""), 0x3f);
    /* join any is pushed down whole, or evaluated per record: the same answer */
    expect("{\"join\": \"any\", \"rules\": [{\"field_name\": \"birthday\", \"field_type\": "
           "\"date\", \"operator\": \"is_before_date\", \"end_date\": \"1900-01-01\"}, "
           "{\"field_name\": \"birthday\", \"field_type\": \"date\", \"operator\": \"is_date\", "
           "\"value\": \"2000-02-29\"}]}",
           0x21);
    /* date-times at the edges, pushed down (user 3's source text has an offset, which the SQL
     * source compares as text: see the next test) */
    expect(CREATED("is_before_date", "\"end_date\": \"1900-01-01\""), 0x21);
    expect(CREATED("is_date", "\"value\": \"0001-01-01\""), 0x20);
    expect(CREATED("is_date", "\"value\": \"1899-12-31\""), 0x01);
}

/*
 * Evaluated per record (join any with a rule that has no pushdown form): the offset in user
 * 3's source text moves it into 1969, and the export writes the canonical UTC form.
 */
Test(dates, date_times_with_offsets_before_1970_per_record)
{
    expect("{\"join\": \"any\", \"rules\": [{\"field_name\": \"created_date\", \"field_type\": "
           "\"date\", \"operator\": \"is_before_date\", \"end_date\": \"1970-01-01T00:00:00Z\"}, "
           "{\"field_name\": \"firstname\", \"field_type\": \"text\", \"operator\": \"is\", "
           "\"value\": \"no such name\"}]}",
           0x29);
}

Test(dates, impossible_dates_and_old_run_times_are_refused)
{
    static const char *const bad[] = {
        RULE("is_before_date", "\"end_date\": \"1900-02-29\""), /* 1900 is not leap */
        RULE("is_date", "\"value\": \"0000-01-01\""),
        RULE("is_after_date", "\"start_date\": \"1899-13-01\""),
        RULE("is_before_date", "\"end_date\": \"0001-01-01T00:00:00+01:00\""),
    };
    struct tw_resp r;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        create(bad[i], "2099-01-01T00:00:00Z", &r);
        cr_assert_eq(r.status, 400, "%s: %ld %s", bad[i], r.status, r.body);
        cr_assert(strstr(r.body, "trigger.segment.rules[0]") != NULL, "%s", r.body);
        tw_resp_fini(&r);
    }
    /* trigger.once is a run time: 1970 and later, as before (README, "Decisions") */
    create(NULL, "1969-12-31T23:59:59Z", &r);
    tw_assert_error(&r, 400, "validation_failed", "trigger.once");
    cr_assert(strstr(r.body, "1970") != NULL, "%s", r.body);
    tw_resp_fini(&r);
    create(NULL, "1970-01-01T00:00:00Z", &r);
    cr_assert_eq(r.status, 201, "%s", r.body);
    tw_resp_fini(&r);
}
