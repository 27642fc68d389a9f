/*
 * Data and lifecycle through a real server (issue 11): downloads bound to the result they were
 * made for (a resumed download never splices two runs' files; ETag, Last-Modified, If-Range,
 * Cache-Control), retention at start, sessions ended by a password change and by the new user
 * subcommands, the `user add --help` example run as written, saved-segment updates checked
 * against their tasks, log trimming, the per-chain task quota, planted symbolic links, and the
 * counts of a failed run.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "harness.h"
#include "oapi_record.h"

#define CHAIN 1764

static struct tw_srv srv;
static char *tok;

static void start(const char *extra_yaml, const char *lua_dir)
{
    static const char *const seed[] = { "seed",      "--rows", "60", "--chains",
                                        "1764,1765", "--seed", "3",  NULL };
    static const char *const chains[] = { "1764", "1765", NULL };

    tw_srv_init_dirs(&srv, NULL, lua_dir, extra_yaml);
    cr_assert_eq(tw_srv_cli(&srv, NULL, NULL, seed), 0, "taskwheel seed failed");
    tok = tw_srv_token(&srv, "write", chains);
}

static void stop(void)
{
    free(tok);
    tok = NULL;
    tw_srv_fini(&srv, true);
}

static long long create(long chain, const char *index, const char *format,
                        const char *trigger_extra)
{
    char body[2048];
    struct tw_resp r;
    long long id;

    snprintf(body, sizeof(body),
             "{\"chain\": %ld, \"desc\": \"data test\", \"target\": {\"action\": \"export\", "
             "\"export_index\": \"%s\", \"export_format\": \"%s\"}, \"trigger\": {\"once\": "
             "\"2099-01-01T00:00:00Z\"%s%s}}",
             chain, index, format, trigger_extra ? ", " : "", trigger_extra ? trigger_extra : "");
    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    cr_assert_eq(r.status, 201, "create: %ld %s", r.status, r.body);
    id = json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    return id;
}

static void execute(long long id, const char *code)
{
    struct tw_resp r;
    char path[96];

    snprintf(path, sizeof(path), "/tasks/%lld/execute", id);
    tw_http(&srv, "POST", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "execute: %ld %s", r.status, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), code, "%s", r.body);
    tw_resp_fini(&r);
}

/* download_url's path part (what the test server is asked) and sha256. */
static void download_url(long long id, char *path, size_t len, char sha[65])
{
    struct tw_resp r;
    char p[96];
    const char *url;

    snprintf(p, sizeof(p), "/tasks/%lld/download_url", id);
    tw_http(&srv, "GET", p, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "download_url: %ld %s", r.status, r.body);
    url = json_string_value(json_object_get(r.json, "url"));
    cr_assert_not_null(strstr(url, "/downloads/"), "%s", url);
    snprintf(path, len, "%s", strstr(url, "/downloads/"));
    snprintf(sha, 65, "%s", json_string_value(json_object_get(r.json, "sha256")));
    tw_resp_fini(&r);
}

static long status_of(const char *method, const char *path, const char *const *headers)
{
    struct tw_resp r;
    long st;

    tw_http(&srv, method, path, tok, headers, NULL, &r);
    st = r.status;
    tw_resp_fini(&r);
    return st;
}

/* ---------------------------------------------------------------- resumed downloads */

struct sink {
    char *buf;
    size_t len;
    long status;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;

    s->buf = realloc(s->buf, s->len + size * n + 1);
    cr_assert_not_null(s->buf);
    memcpy(s->buf + s->len, p, size * n);
    s->len += size * n;
    s->buf[s->len] = '\0';
    return size * n;
}

/*
 * What `curl -C - -o FILE URL` does with `have` bytes in FILE: libcurl's resume, which asks for
 * "Range: bytes=have-" with no validator. The answer's body goes to *s.
 */
static void curl_resume(const char *path, long have, struct sink *s)
{
    char url[2600];
    CURL *c = curl_easy_init();
    struct sink h = { NULL, 0, 0 };
    CURLcode rc;

    cr_assert_not_null(c);
    memset(s, 0, sizeof(*s));
    snprintf(url, sizeof(url), "%s%s", srv.base_url, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)have);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &s->status);
    if (rc == CURLE_OK) /* a whole answer: checked against docs/openapi.yaml like tw_http's */
        tw_oapi_record(&srv, "GET", path, s->status, h.buf ? h.buf : "", s->buf ? s->buf : "",
                       s->len);
    free(h.buf);
    /* an answer other than 206 to a resume is refused by curl itself ("cannot resume") */
    cr_assert(rc == CURLE_OK || (rc == CURLE_RANGE_ERROR && s->status != 206), "curl: %s",
              curl_easy_strerror(rc));
    if (s->buf == NULL)
        s->buf = strdup("");
    curl_easy_cleanup(c);
}

/* Change the source data so the next run writes other bytes under the same name. */
static void change_rows(void)
{
    char db[400];
    sqlite3 *h;

    snprintf(db, sizeof(db), "%s/var/retail.db", srv.dir);
    cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(h, "UPDATE users SET firstname = firstname || 'x'", NULL, NULL, NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(h));
    sqlite3_close(h);
}

Test(data, resumed_download_never_splices_two_results, .timeout = 120)
{
    char p1[2600], p2[2600], sha1[65], sha2[65], etag[80], h[128], lm[80], file[600];
    char ifr[160], rng[] = "Range: bytes=100-";
    const char *hdrs[] = { rng, ifr, NULL };
    struct tw_resp r;
    struct sink s;
    long long id;
    FILE *f;

    start(NULL, NULL);
    id = create(CHAIN, "users", "csv", NULL);
    execute(id, "DONE");
    download_url(id, p1, sizeof(p1), sha1);
    /* the first 100 bytes arrive, then the connection drops; meanwhile the task runs again */
    tw_http(&srv, "GET", p1, NULL, (const char *[]){ "Range: bytes=0-99", NULL }, NULL, &r);
    cr_assert_eq(r.status, 206, "%ld %s", r.status, r.body);
    tw_resp_fini(&r);
    change_rows();
    execute(id, "DONE");
    download_url(id, p2, sizeof(p2), sha2);
    cr_assert_str_neq(sha1, sha2, "the second run must write other bytes for this test");

    /* curl -C - with the old URL: no tail of the new file under the old one's head */
    curl_resume(p1, 100, &s);
    cr_assert_eq(s.status, 410, "resume of a replaced result: %ld %s", s.status, s.buf);
    cr_assert(s.len == 0 || strstr(s.buf, "\"result_replaced\"") != NULL, "%s", s.buf);
    free(s.buf);
    tw_http(&srv, "GET", p1, NULL, (const char *[]){ "Range: bytes=100-", NULL }, NULL, &r);
    tw_assert_error(&r, 410, "result_replaced", NULL);
    tw_resp_fini(&r);
    /* the same resume with the new URL continues the new file */
    curl_resume(p2, 100, &s);
    cr_assert_eq(s.status, 206, "%ld", s.status);
    free(s.buf);

    /* validators on every download */
    tw_http(&srv, "GET", p2, NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    snprintf(etag, sizeof(etag), "\"%s\"", sha2);
    cr_assert(tw_resp_header(&r, "ETag", h, sizeof(h)), "%s", r.headers);
    cr_assert_str_eq(h, etag);
    cr_assert(tw_resp_header(&r, "Last-Modified", lm, sizeof(lm)), "%s", r.headers);
    cr_assert(strstr(lm, " GMT") != NULL, "%s", lm);
    cr_assert(tw_resp_header(&r, "Cache-Control", h, sizeof(h)), "%s", r.headers);
    cr_assert(strstr(h, "no-store") != NULL && strstr(h, "private") != NULL, "%s", h);
    tw_resp_fini(&r);

    /* If-Range (RFC 9110 13.1.5): the old validator gets the whole new file with 200 */
    snprintf(ifr, sizeof(ifr), "If-Range: \"%s\"", sha1);
    tw_http(&srv, "GET", p2, NULL, hdrs, NULL, &r);
    cr_assert_eq(r.status, 200, "mismatching If-Range: %ld", r.status);
    cr_assert(!tw_resp_header(&r, "Content-Range", h, sizeof(h)));
    tw_resp_fini(&r);
    snprintf(ifr, sizeof(ifr), "If-Range: %s", etag);
    tw_http(&srv, "GET", p2, NULL, hdrs, NULL, &r);
    cr_assert_eq(r.status, 206, "matching If-Range ETag: %ld", r.status);
    tw_resp_fini(&r);
    snprintf(ifr, sizeof(ifr), "If-Range: %s", lm);
    tw_http(&srv, "GET", p2, NULL, hdrs, NULL, &r);
    cr_assert_eq(r.status, 206, "matching If-Range date: %ld", r.status);
    tw_resp_fini(&r);
    snprintf(ifr, sizeof(ifr), "If-Range: W/%s", etag);
    tw_http(&srv, "GET", p2, NULL, hdrs, NULL, &r);
    cr_assert_eq(r.status, 200, "a weak validator never matches: %ld", r.status);
    tw_resp_fini(&r);

    /*
     * A run renamed a new file over the name and the server has not recorded it yet: the file
     * is not the one the store knows, so even the current URL gets 410, never its bytes.
     */
    snprintf(file, sizeof(file), "%s/var/results/%d/%lld/.other", srv.dir, CHAIN, id);
    f = fopen(file, "w");
    cr_assert_not_null(f);
    fputs("id,other\n1,2\n", f);
    fclose(f);
    snprintf(h, sizeof(h), "%s/var/results/%d/%lld/User_Export-%lld.csv", srv.dir, CHAIN, id, id);
    cr_assert_eq(rename(file, h), 0, "%s", strerror(errno));
    tw_http(&srv, "GET", p2, NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 410, "a file the store does not know: %ld %s", r.status, r.body);
    tw_resp_fini(&r);
    stop();
}

/* ---------------------------------------------------------------- retention */

static long long metric(const char *name)
{
    return tw_metric(&srv, tok, name);
}

Test(data, retention_prunes_at_start_and_says_result_expired, .timeout = 120)
{
    char p1[2600], sha[65], db[400], file[600], path[96];
    struct tw_resp r;
    sqlite3 *h;
    long long id, keep;
    struct stat st;

    start("results: { retention_days: 1 }\n", NULL);
    id = create(CHAIN, "users", "csv", NULL);
    keep = create(CHAIN, "users", "json", NULL);
    execute(id, "DONE");
    execute(keep, "DONE");
    download_url(id, p1, sizeof(p1), sha);
    snprintf(file, sizeof(file), "%s/var/results/%d/%lld/User_Export-%lld.csv", srv.dir, CHAIN, id,
             id);
    cr_assert_eq(stat(file, &st), 0);
    /* the server is down for ten days: its result is now ten days old */
    cr_assert_eq(tw_srv_stop(&srv, SIGTERM), 0);
    snprintf(db, sizeof(db), "%s/var/taskwheel.db", srv.dir);
    cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
    snprintf(path, sizeof(path),
             "UPDATE tasks SET result_time = result_time - 864000 "
             "WHERE id = %lld",
             id);
    cr_assert_eq(sqlite3_exec(h, path, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(h));
    sqlite3_close(h);
    tw_srv_start(&srv);

    /* pruned at start: file gone, 409 result_expired, counted; the fresh result stays */
    cr_assert_eq(stat(file, &st), -1, "retention did not remove %s", file);
    snprintf(path, sizeof(path), "/tasks/%lld/download_url", id);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    tw_assert_error(&r, 409, "result_expired", NULL);
    tw_resp_fini(&r);
    tw_http(&srv, "GET", p1, NULL, NULL, NULL, &r);
    tw_assert_error(&r, 409, "result_expired", NULL);
    tw_resp_fini(&r);
    snprintf(path, sizeof(path), "/tasks/%lld/download_url", keep);
    cr_assert_eq(status_of("GET", path, NULL), 200);
    cr_assert_eq(metric("taskwheel_results_pruned_total"), 1);
    cr_assert_gt(metric("taskwheel_result_bytes_pruned_total"), 0);
    /* the task keeps its result name as history, and runs again as usual */
    {
        json_t *t = tw_task_get(&srv, tok, id);

        cr_assert_not_null(json_string_value(json_object_get(t, "result")));
        json_decref(t);
    }
    execute(id, "DONE");
    snprintf(path, sizeof(path), "/tasks/%lld/download_url", id);
    cr_assert_eq(status_of("GET", path, NULL), 200);
    stop();
}

/* ---------------------------------------------------------------- users and sessions */

static void add_user(const char *name, const char *password)
{
    const char *args[] = { "user", "add", name, "--chain", "1764=write", NULL };
    char in[256];

    snprintf(in, sizeof(in), "%s\n", password);
    cr_assert_eq(tw_srv_cli(&srv, in, NULL, args), 0);
}

/* Log in; fills the three session headers; returns the HTTP status. */
static long login(const char *name, const char *password, char uid[64], char key[160])
{
    char body[256];
    struct tw_resp r;
    long st;

    snprintf(body, sizeof(body), "{\"username\": \"%s\", \"password\": \"%s\"}", name, password);
    tw_http(&srv, "POST", "/auth/login", NULL, NULL, body, &r);
    st = r.status;
    if (st == 200) {
        snprintf(uid, 64, "X-Spaaza-Session-User-Id: %" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(r.json, "user_id")));
        snprintf(key, 160, "X-Spaaza-Session-Key: %s",
                 json_string_value(json_object_get(r.json, "session_key")));
    }
    tw_resp_fini(&r);
    return st;
}

static long as_session(const char *uid, const char *key)
{
    const char *hdrs[] = { uid, key, "X-Spaaza-Session-Chain-Id: 1764", NULL };
    struct tw_resp r;
    long st;

    tw_http(&srv, "GET", "/tasks", NULL, hdrs, NULL, &r);
    st = r.status;
    tw_resp_fini(&r);
    return st;
}

static int user_cli(const char *action, const char *name)
{
    const char *args[] = { "user", action, name, NULL };

    return tw_srv_cli(&srv, NULL, NULL, args);
}

Test(data, password_change_and_user_commands_end_sessions, .timeout = 120)
{
    char uid[64], key[160], uid2[64], key2[160];
    const char *help[] = { "user", "sessions-revoke", "--help", NULL };
    const char *none[] = { "user", "remove", NULL };

    start(NULL, NULL);
    add_user("alice", "first password");
    cr_assert_eq(login("alice", "first password", uid, key), 200);
    cr_assert_eq(as_session(uid, key), 200);
    /* user add again replaces the password: the old session ends with it */
    add_user("alice", "second password");
    cr_assert_eq(as_session(uid, key), 401, "a session outlived its password");
    cr_assert_eq(login("alice", "first password", uid, key), 401);
    cr_assert_eq(login("alice", "second password", uid, key), 200);
    cr_assert_eq(login("alice", "second password", uid2, key2), 200);
    cr_assert_eq(as_session(uid, key), 200);
    /* sessions-revoke ends all of them and keeps the user */
    cr_assert_eq(user_cli("sessions-revoke", "alice"), 0);
    cr_assert_eq(as_session(uid, key), 401);
    cr_assert_eq(as_session(uid2, key2), 401);
    cr_assert_eq(login("alice", "second password", uid, key), 200);
    cr_assert_eq(as_session(uid, key), 200);
    /* remove: the user, its access and sessions are gone */
    cr_assert_eq(user_cli("remove", "alice"), 0);
    cr_assert_eq(as_session(uid, key), 401);
    cr_assert_eq(login("alice", "second password", uid, key), 401);
    /* exit codes as the other subcommands: 1 for an unknown name, 2 for usage, 0 for help */
    cr_assert_eq(user_cli("remove", "alice"), 1);
    cr_assert_eq(user_cli("sessions-revoke", "nobody"), 1);
    cr_assert_eq(tw_srv_cli(&srv, NULL, NULL, none), 2);
    cr_assert_eq(tw_srv_cli(&srv, NULL, NULL, help), 0);
    stop();
}

/* The example in `user add --help`, run through a shell exactly as printed. */
Test(data, user_add_help_example_sets_the_shown_password, .timeout = 120)
{
    const char *help[] = { "user", "add", "--help", NULL };
    char *out = NULL, *line, *end, cmd[4096], uid[64], key[160];
    const char *cli;
    int rc;

    start(NULL, NULL);
    cr_assert_eq(tw_srv_cli(&srv, NULL, &out, help), 0);
    line = strstr(out, "printf ");
    cr_assert_not_null(line, "no example in:\n%s", out);
    end = strchr(line, '\n');
    if (end != NULL)
        *end = '\0';
    cli = strstr(line, "| taskwheel ");
    cr_assert_not_null(cli, "%s", line);
    /* the example's own words; only the binary's path and -c are ours */
    snprintf(cmd, sizeof(cmd), "PASSWORD='pa %%s ss\\w0rd' ; export PASSWORD ; %.*s| %s %s -c '%s'",
             (int)(cli - line), line, TW_BINARY, cli + strlen("| taskwheel "), srv.config);
    rc = system(cmd);
    cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "%s", cmd);
    cr_assert_eq(login("alice", "pa %s ss\\\\w0rd", uid, key), 200,
                 "the example did not set $PASSWORD: %s", cmd);
    cr_assert_eq(login("alice", "%s", uid, key), 401);
    free(out);
    stop();
}

/* ---------------------------------------------------------------- saved segments */

Test(data, segment_update_is_checked_against_its_tasks, .timeout = 120)
{
    static const char seg[] =
        "{\"chain\": 1764, \"name\": \"adults\", \"segment\": {\"index\": \"users\", \"rules\": "
        "[{\"field_name\": \"id\", \"field_type\": \"number\", \"operator\": "
        "\"is_greater_than\", \"value\": 2}]}}";
    char path[64], trig[64], msg[64];
    struct tw_resp r;
    long long id, t1, t2;

    start(NULL, NULL);
    tw_http(&srv, "POST", "/segments", tok, NULL, seg, &r);
    cr_assert_eq(r.status, 201, "%s", r.body);
    id = strtoll(json_string_value(json_object_get(r.json, "id")), NULL, 10);
    tw_resp_fini(&r);
    snprintf(trig, sizeof(trig), "\"segment_id\": \"%lld\"", id);
    t1 = create(CHAIN, "users", "csv", trig);
    t2 = create(CHAIN, "users", "json", trig);
    snprintf(path, sizeof(path), "/segments/%lld", id);

    /* a field of another index */
    tw_http(&srv, "PUT", path, tok, NULL,
            "{\"segment\": {\"rules\": [{\"field_name\": \"total_value\", \"field_type\": "
            "\"number\", \"operator\": \"is_greater_than\", \"value\": 2}]}}",
            &r);
    tw_assert_error(&r, 400, "validation_failed", NULL);
    snprintf(msg, sizeof(msg), "tasks %lld, %lld", t1, t2);
    cr_assert(strstr(r.body, msg) != NULL, "the tasks are not named: %s", r.body);
    tw_resp_fini(&r);
    /* another index */
    tw_http(&srv, "PUT", path, tok, NULL,
            "{\"segment\": {\"index\": \"transactions\", \"rules\": []}}", &r);
    tw_assert_error(&r, 400, "validation_failed", NULL);
    cr_assert(strstr(r.body, msg) != NULL, "%s", r.body);
    cr_assert(strstr(r.body, "export_index") != NULL, "%s", r.body);
    tw_resp_fini(&r);
    /* nothing changed */
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert(strstr(r.body, "\"is_greater_than\"") != NULL && strstr(r.body, "\"users\"") != NULL,
              "%s", r.body);
    tw_resp_fini(&r);
    /* a change that fits every task is saved, and the tasks run with it */
    tw_http(&srv, "PUT", path, tok, NULL,
            "{\"segment\": {\"index\": \"users\", \"rules\": [{\"field_name\": \"gender\", "
            "\"field_type\": \"keyword\", \"operator\": \"exists\"}]}}",
            &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    tw_resp_fini(&r);
    execute(t1, "DONE");
    /* once no task uses it, any valid segment may be saved */
    snprintf(path, sizeof(path), "/tasks/%lld", t1);
    cr_assert_eq(status_of("DELETE", path, NULL), 204);
    snprintf(path, sizeof(path), "/tasks/%lld", t2);
    cr_assert_eq(status_of("DELETE", path, NULL), 204);
    snprintf(path, sizeof(path), "/segments/%lld", id);
    tw_http(&srv, "PUT", path, tok, NULL,
            "{\"segment\": {\"index\": \"transactions\", \"rules\": []}}", &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    tw_resp_fini(&r);
    stop();
}

/* ---------------------------------------------------------------- growth limits */

Test(data, logs_keep_trims_all_but_the_run_ends, .timeout = 120)
{
    json_t *t, *logs;
    long long id;
    size_t i, n;
    int runs = 0;

    start("logs_keep: 4\n", NULL);
    id = create(CHAIN, "users", "csv", NULL);
    for (i = 0; i < 5; i++)
        execute(id, "DONE");
    t = tw_task_get(&srv, tok, id);
    logs = json_object_get(t, "logs");
    n = json_array_size(logs);
    /* newest 4 entries (success, I->D, D->I, success), then the older runs' "success" only */
    for (i = 0; i < n; i++) {
        const char *m = json_string_value(json_object_get(json_array_get(logs, i), "msg"));

        if (strcmp(m, "success") == 0)
            runs++;
        if (i >= 4)
            cr_assert_str_eq(m, "success", "entry %zu (%s) should have been trimmed", i, m);
    }
    cr_assert_eq(runs, 5, "every run's end entry stays");
    cr_assert_eq(n, 4 + 3, "%zu entries", n);
    json_decref(t);
    cr_assert_geq(metric("taskwheel_logs_trimmed_total"), 3 * 5 - 7);
    stop();
}

Test(data, tasks_per_chain_quota, .timeout = 120)
{
    char *body = tw_task_body(CHAIN, NULL);
    char *other = tw_task_body(1765, NULL);
    char path[64];
    struct tw_resp r;
    long long id = 0;
    int i;

    start("limits: { max_tasks_per_chain: 3 }\n", NULL);
    for (i = 0; i < 3; i++) {
        tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
        cr_assert_eq(r.status, 201, "%s", r.body);
        id = json_integer_value(json_object_get(r.json, "id"));
        tw_resp_fini(&r);
    }
    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    tw_assert_error(&r, 409, "quota_exceeded", "chain");
    cr_assert(strstr(r.body, "limits.max_tasks_per_chain") != NULL, "%s", r.body);
    tw_resp_fini(&r);
    tw_http(&srv, "POST", "/tasks", tok, NULL, other, &r);
    cr_assert_eq(r.status, 201, "another chain has its own quota: %s", r.body);
    tw_resp_fini(&r);
    snprintf(path, sizeof(path), "/tasks/%lld", id);
    cr_assert_eq(status_of("DELETE", path, NULL), 204);
    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    cr_assert_eq(r.status, 201, "room again after a delete: %s", r.body);
    tw_resp_fini(&r);
    free(body);
    free(other);
    stop();
}

/* ---------------------------------------------------------------- symbolic links */

Test(data, planted_links_are_never_followed, .timeout = 120)
{
    char dir[400], victim[400], link[500], result[600], moved[600], p[2600], sha[65];
    char buf[64] = "";
    struct tw_resp r;
    struct stat st;
    long long id;
    FILE *f;

    start(NULL, NULL);
    id = create(CHAIN, "users", "csv", NULL);
    execute(id, "DONE");
    snprintf(dir, sizeof(dir), "%s/var/results/%d/%lld", srv.dir, CHAIN, id);
    snprintf(victim, sizeof(victim), "%s/victim", srv.dir);
    f = fopen(victim, "w");
    cr_assert_not_null(f);
    fputs("precious\n", f);
    fclose(f);
    /* a .partial link: the export must write a new file, not through the link */
    snprintf(link, sizeof(link), "%s/.partial", dir);
    cr_assert_eq(symlink(victim, link), 0, "%s", strerror(errno));
    execute(id, "DONE");
    f = fopen(victim, "r");
    cr_assert(fgets(buf, sizeof(buf), f) != NULL);
    fclose(f);
    cr_assert_str_eq(buf, "precious\n", "the export wrote through a planted link");
    snprintf(result, sizeof(result), "%s/User_Export-%lld.csv", dir, id);
    cr_assert_eq(lstat(result, &st), 0);
    cr_assert(S_ISREG(st.st_mode));
    cr_assert_eq(lstat(link, &st), -1, "the link is gone with the run");

    /* a download must not serve a link's target, even one to the real bytes */
    download_url(id, p, sizeof(p), sha);
    snprintf(moved, sizeof(moved), "%s/elsewhere.csv", srv.dir);
    cr_assert_eq(rename(result, moved), 0);
    cr_assert_eq(symlink(moved, result), 0);
    tw_http(&srv, "GET", p, NULL, NULL, NULL, &r);
    cr_assert_neq(r.status, 200, "served a symbolic link's target");
    cr_assert(strstr(r.body, "id,") == NULL, "%s", r.body);
    tw_resp_fini(&r);
    /* nor through a linked task directory */
    cr_assert_eq(unlink(result), 0);
    cr_assert_eq(rename(moved, result), 0);
    tw_http(&srv, "GET", p, NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "back in place: %ld %s", r.status, r.body);
    tw_resp_fini(&r);
    snprintf(moved, sizeof(moved), "%s/taskdir", srv.dir);
    cr_assert_eq(rename(dir, moved), 0);
    cr_assert_eq(symlink(moved, dir), 0);
    tw_http(&srv, "GET", p, NULL, NULL, NULL, &r);
    cr_assert_neq(r.status, 200, "served through a linked directory");
    tw_resp_fini(&r);
    /* and an export into a linked task directory fails instead of writing through it */
    execute(id, "ERROR");
    stop();
}

/* ---------------------------------------------------------------- counts */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

Test(data, failed_run_counts_add_up_and_write_nothing, .timeout = 120)
{
    char lua[300], sub[400];
    json_t *t, *e;
    long long id;
    json_int_t total, success, skips, errors;

    snprintf(lua, sizeof(lua), "/tmp/twlua.XXXXXX");
    cr_assert_not_null(mkdtemp(lua));
    snprintf(sub, sizeof(sub), "%s/segments", lua);
    cr_assert_eq(mkdir(sub, 0700), 0);
    snprintf(sub, sizeof(sub), "%s/formats", lua);
    cr_assert_eq(mkdir(sub, 0700), 0);
    snprintf(sub, sizeof(sub), "%s/formats/failfive.lua", lua);
    write_file(sub, "local n = 0\n"
                    "function header(fields) return 'h\\n' end\n"
                    "function row(record)\n"
                    "  n = n + 1\n"
                    "  if n == 5 then error('the fifth record is refused') end\n"
                    "  return 'r\\n'\n"
                    "end\n");
    start(NULL, lua);
    id = create(CHAIN, "users", "failfive", NULL);
    execute(id, "ERROR");
    t = tw_task_get(&srv, tok, id);
    e = json_array_get(json_object_get(t, "logs"), 0);
    total = json_integer_value(json_object_get(e, "total"));
    success = json_integer_value(json_object_get(e, "success"));
    skips = json_integer_value(json_object_get(e, "skips"));
    errors = json_integer_value(json_object_get(e, "errors"));
    cr_assert_eq(total, success + skips + errors, "total %lld != %lld + %lld + %lld: %s",
                 (long long)total, (long long)success, (long long)skips, (long long)errors,
                 json_string_value(json_object_get(e, "msg")));
    cr_assert_eq(success, 0, "an ERROR run wrote no records (no result was published)");
    cr_assert_geq(total, 5);
    cr_assert_null(json_string_value(json_object_get(t, "result")));
    json_decref(t);
    stop();
    snprintf(sub, sizeof(sub), "rm -rf '%s'", lua);
    cr_assert_eq(system(sub), 0);
}
