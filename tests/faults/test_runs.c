/*
 * Runs end to end through a real `taskwheel serve` (docs/reference.md §1, §2 /execute, §5): scheduling,
 * execute, crashes, hangs, timeouts, deletes during a run, kill -9 and SIGTERM with recovery,
 * and many tasks due at once. The server loads only the fixture plugin "testrun"
 * (tests/runplugin), whose behaviour is chosen by the task's chain:
 *   9001 3 records · 9002 5 records, 1 s each · 9003 SIGSEGV · 9004 hangs (ignores SIGTERM)
 *   9005 _exit(3) · 9006 open fails · other chains 3 records.
 * Timings are never asserted, only correctness; waits are generous polling timeouts.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MSG_INTERRUPTED "interrupted: server stopped during run"
#define WAIT_S 60 /* generous: sanitizer builds are slow */

static struct tw_srv srv;
static char *tok; /* write on every fixture chain */

static void start(const char *extra_yaml)
{
    static const char *const chains[] = { "9001", "9002", "9003", "9004", "9005",
                                          "9006", "9010", "9011", NULL };

    tw_srv_init_plugins(&srv, TW_RUNPLUGINS_DIR, extra_yaml);
    tok = tw_srv_token(&srv, "write", chains);
}

static void teardown(void)
{
    free(tok);
    tok = NULL;
    tw_srv_fini(&srv, true);
}

TestSuite(runs, .fini = teardown, .timeout = 180);

/* ---- helpers ---- */

static void iso(time_t t, char *buf, size_t len)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* POST /tasks for chain with the testrun index; trigger is the JSON of the trigger object. */
static long long create_trigger(long chain, const char *trigger)
{
    char body[1024];
    struct tw_resp r;
    long long id;

    snprintf(body, sizeof(body),
             "{\"chain\": %ld, \"desc\": \"fault test\", \"target\": {\"action\": \"export\","
             " \"export_index\": \"testrun\", \"export_format\": \"csv\"}, \"trigger\": %s}",
             chain, trigger);
    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    cr_assert_eq(r.status, 201, "create: %ld %s", r.status, r.body);
    id = (long long)json_integer_value(json_object_get(r.json, "id"));
    cr_assert_gt(id, 0);
    tw_resp_fini(&r);
    return id;
}

/* A task due at once_at (UTC seconds), optionally repeating. */
static long long create_at(long chain, time_t once_at, const char *repeat)
{
    char when[32], trig[128];

    iso(once_at, when, sizeof(when));
    if (repeat != NULL)
        snprintf(trig, sizeof(trig), "{\"once\": \"%s\", \"repeat\": \"%s\"}", when, repeat);
    else
        snprintf(trig, sizeof(trig), "{\"once\": \"%s\"}", when);
    return create_trigger(chain, trig);
}

/* A task that never runs by itself: only POST /execute starts it. */
static long long create_idle(long chain)
{
    return create_trigger(chain, "{\"once\": \"2099-01-01T00:00:00Z\"}");
}

/* POST /tasks/{id}/execute with an optional extra header; r is filled. */
static void execute(long long id, const char *header, struct tw_resp *r)
{
    const char *hdrs[] = { header, NULL };
    char path[64];

    snprintf(path, sizeof(path), "/tasks/%lld/execute", id);
    tw_http(&srv, "POST", path, tok, header ? hdrs : NULL, "", r);
}

static const char *state_code(const json_t *task)
{
    return json_string_value(json_object_get(json_object_get(task, "state"), "code"));
}

static const char *log_msg(const json_t *task, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(task, "logs"), i), "msg"));
}

static void results_dir(long chain, long long id, char *buf, size_t len)
{
    snprintf(buf, len, "%s/var/results/%ld/%lld", srv.dir, chain, id);
}

/* Entries of dir other than . and ..; -1 when dir does not exist. */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static bool file_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static int scan_children(const char *comm, pid_t *one)
{
    return tw_children(srv.pid, comm, one, NULL);
}

static int server_children_named(const char *comm)
{
    return scan_children(comm, NULL);
}

/* Workers that are running a job (spares and the spawner are not counted). */
static int server_children(void)
{
    return server_children_named("tw-worker");
}

/* Poll until the server has n children named comm; returns the last count seen. */
static int wait_children(const char *comm, int n)
{
    int i, got = -1;

    for (i = 0; i < WAIT_S * 20; i++) {
        got = server_children_named(comm);
        if (got == n)
            break;
        sleep_ms(50);
    }
    return got;
}

/* The pid of one child of the server named comm, or -1. */
static pid_t server_child_pid(const char *comm)
{
    pid_t pid;

    scan_children(comm, &pid);
    return pid;
}

/* Assert the task's newest entry is the error msg (with counts), after "INPROGRESS -> ERROR". */
static void assert_error_run(const json_t *task, const char *msg)
{
    json_t *e = json_array_get(json_object_get(task, "logs"), 0);

    cr_assert_str_eq(state_code(task), "ERROR");
    cr_assert_str_eq(log_msg(task, 0), msg, "logs: %s",
                     json_dumps(json_object_get(task, "logs"), JSON_COMPACT));
    cr_assert(json_is_integer(json_object_get(e, "total")), "the error entry carries counts");
    cr_assert_str_eq(log_msg(task, 1), "INPROGRESS -> ERROR");
    cr_assert_eq(tw_task_log_count(task, "success"), 0);
    cr_assert(json_is_null(json_object_get(task, "result")));
}

/* The CSV the fixture writes for n records. */
static void expected_csv(long n, char *buf, size_t len)
{
    size_t off = (size_t)snprintf(buf, len, "id,name\r\n");
    long i;

    for (i = 1; i <= n && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%ld,row-%ld\r\n", i, i);
}

static void assert_result_file(long chain, long long id, const json_t *task, long records)
{
    char dir[512], path[700], want[512], got[512], name[64];
    FILE *f;
    size_t n;

    snprintf(name, sizeof(name), "TestRun_Export-%lld.csv", id);
    cr_assert_str_eq(json_string_value(json_object_get(task, "result")), name);
    results_dir(chain, id, dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    cr_assert_not_null(f, "no result file %s", path);
    n = fread(got, 1, sizeof(got) - 1, f);
    fclose(f);
    got[n] = '\0';
    expected_csv(records, want, sizeof(want));
    cr_assert_str_eq(got, want);
    cr_assert_eq(dir_entries(dir), 1, "only the result in %s (no .partial)", dir);
}

/* ---- scheduling ---- */

Test(runs, task_due_in_two_seconds_runs_to_done_with_spec_logs)
{
    time_t due = time(NULL) + 2;
    char when[32];
    long long id;
    json_t *t, *e, *st;

    start(NULL);
    id = create_at(9001, due, NULL);
    iso(due, when, sizeof(when));
    t = tw_wait_state(&srv, tok, id, "DONE", WAIT_S);
    /* newest first: outcome, state change, start */
    cr_assert_eq(json_array_size(json_object_get(t, "logs")), 3, "logs: %s",
                 json_dumps(json_object_get(t, "logs"), JSON_COMPACT));
    cr_assert_str_eq(log_msg(t, 0), "success");
    cr_assert_str_eq(log_msg(t, 1), "INPROGRESS -> DONE");
    cr_assert_str_eq(log_msg(t, 2), "READY -> INPROGRESS");
    e = json_array_get(json_object_get(t, "logs"), 0);
    cr_assert_eq(json_integer_value(json_object_get(e, "total")), 3);
    cr_assert_eq(json_integer_value(json_object_get(e, "errors")), 0);
    cr_assert_eq(json_integer_value(json_object_get(e, "skips")), 0);
    cr_assert_eq(json_integer_value(json_object_get(e, "success")), 3);
    cr_assert_null(json_object_get(json_array_get(json_object_get(t, "logs"), 1), "total"),
                   "a state change carries no counts");
    st = json_object_get(t, "state");
    /* it did not start before its time (ISO UTC strings compare as times) */
    cr_assert(strcmp(json_string_value(json_object_get(st, "last_run_date")), when) >= 0,
              "started at %s, due %s", json_string_value(json_object_get(st, "last_run_date")),
              when);
    /* create = 1, start = 2, finish = 3, plus one per progress update the run made */
    cr_assert_geq(json_integer_value(json_object_get(t, "version")), 3);
    cr_assert_str_eq(json_string_value(json_object_get(st, "last_modified")),
                     json_string_value(json_object_get(e, "time")));
    /* a one-off task keeps its trigger */
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(t, "trigger"), "once")),
                     when);
    assert_result_file(9001, id, t, 3);
    json_decref(t);
}

Test(runs, daily_task_advances_by_exactly_one_day_after_its_run)
{
    time_t due = time(NULL) + 2;
    char when[32], next[32];
    long long id;
    json_t *t, *trig;

    start(NULL);
    id = create_at(9001, due, "daily");
    iso(due + 86400, next, sizeof(next));
    iso(due, when, sizeof(when));
    t = tw_wait_state(&srv, tok, id, "DONE", WAIT_S);
    /* DONE is written together with the advanced trigger, in one store call */
    trig = json_object_get(t, "trigger");
    cr_assert_str_eq(json_string_value(json_object_get(trig, "once")), next, "was %s", when);
    cr_assert_str_eq(json_string_value(json_object_get(trig, "repeat")), "daily");
    cr_assert_eq(tw_task_log_count(t, "success"), 1);
    cr_assert_eq(tw_task_log_count(t, "READY -> INPROGRESS"), 1);
    json_decref(t);
    /* and it stays DONE (not run again) */
    sleep_ms(1500);
    t = tw_task_get(&srv, tok, id);
    cr_assert_str_eq(state_code(t), "DONE");
    cr_assert_eq(tw_task_log_count(t, "success"), 1);
    json_decref(t);
}

/* ---- POST /execute ---- */

Test(runs, execute_holds_the_request_and_answers_200_with_the_final_state)
{
    struct tw_resp r;
    long long id;
    json_t *t;

    start(NULL);
    id = create_idle(9001);
    execute(id, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    /* the state object only */
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "DONE", "%s", r.body);
    cr_assert(json_is_string(json_object_get(r.json, "last_run_date")));
    cr_assert(json_is_string(json_object_get(r.json, "created_date")));
    cr_assert_null(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    t = tw_task_get(&srv, tok, id);
    cr_assert_str_eq(state_code(t), "DONE");
    cr_assert_eq(tw_task_log_count(t, "success"), 1);
    /* execute does not move trigger.once */
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(t, "trigger"), "once")),
                     "2099-01-01T00:00:00Z");
    assert_result_file(9001, id, t, 3);
    json_decref(t);
    /* a finished task can be executed again: a second run, same result name */
    execute(id, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "DONE");
    tw_resp_fini(&r);
    t = tw_task_get(&srv, tok, id);
    cr_assert_eq(tw_task_log_count(t, "success"), 2);
    cr_assert_eq(tw_task_log_count(t, "DONE -> INPROGRESS"), 1);
    assert_result_file(9001, id, t, 3);
    json_decref(t);
}

Test(runs, execute_respond_async_answers_202_and_a_second_execute_409)
{
    struct tw_resp r;
    long long id;
    json_t *t;

    start(NULL);
    id = create_idle(9002);
    execute(id, "Prefer: respond-async", &r);
    cr_assert_eq(r.status, 202, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "INPROGRESS", "%s",
                     r.body);
    tw_resp_fini(&r);
    execute(id, NULL, &r);
    tw_assert_error(&r, 409, "task_in_progress", NULL);
    tw_resp_fini(&r);
    execute(id, "Prefer: respond-async", &r);
    tw_assert_error(&r, 409, "task_in_progress", NULL);
    tw_resp_fini(&r);
    t = tw_wait_state(&srv, tok, id, "DONE", WAIT_S);
    cr_assert_eq(tw_task_log_count(t, "success"), 1, "the refused executes started nothing");
    cr_assert_eq(tw_task_log_count(t, "READY -> INPROGRESS"), 1);
    cr_assert_eq(json_integer_value(
                     json_object_get(json_array_get(json_object_get(t, "logs"), 0), "success")),
                 5);
    assert_result_file(9002, id, t, 5);
    json_decref(t);
}

Test(runs, execute_answers_202_after_execute_wait)
{
    struct tw_resp r;
    long long id;
    json_t *t;

    start("execute_wait: 1\n");
    id = create_idle(9002);
    execute(id, NULL, &r);
    cr_assert_eq(r.status, 202, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "INPROGRESS");
    tw_resp_fini(&r);
    /* the run goes on after the answer */
    t = tw_wait_state(&srv, tok, id, "DONE", WAIT_S);
    cr_assert_eq(tw_task_log_count(t, "success"), 1);
    assert_result_file(9002, id, t, 5);
    json_decref(t);
}

/* A held execute in a thread, with plain libcurl (Criterion asserts belong to the main thread). */
struct held {
    char url[128];
    char auth[512];
    long status;
    char body[4096];
    size_t len;
    CURLcode rc;
    atomic_int finished;
};

static size_t held_write(char *p, size_t size, size_t n, void *arg)
{
    struct held *h = arg;
    size_t k = size * n;

    if (k > sizeof(h->body) - 1 - h->len)
        k = sizeof(h->body) - 1 - h->len;
    memcpy(h->body + h->len, p, k);
    h->len += k;
    h->body[h->len] = '\0';
    return size * n;
}

static void *held_execute(void *arg)
{
    struct held *h = arg;
    struct curl_slist *hl = NULL;
    CURL *c = curl_easy_init();

    if (c == NULL) {
        h->rc = CURLE_FAILED_INIT;
        return NULL;
    }
    hl = curl_slist_append(hl, h->auth);
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, h->url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, held_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    h->rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    atomic_store(&h->finished, 1);
    return NULL;
}

Test(runs, held_execute_does_not_block_other_requests)
{
    static struct held h;
    struct tw_resp r;
    pthread_t th;
    long long id, other;
    json_t *t, *body;

    start(NULL);
    id = create_idle(9002);
    other = create_idle(9001);
    memset(&h, 0, sizeof(h));
    snprintf(h.url, sizeof(h.url), "%s/tasks/%lld/execute", srv.base_url, id);
    snprintf(h.auth, sizeof(h.auth), "Authorization: Bearer %s", tok);
    cr_assert_eq(pthread_create(&th, NULL, held_execute, &h), 0);
    t = tw_wait_state(&srv, tok, id, "INPROGRESS", WAIT_S);
    json_decref(t);
    /* while the execute is held: reads, a create, another task's run, a refused execute */
    tw_http(&srv, "GET", "/healthz", NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    tw_resp_fini(&r);
    tw_http(&srv, "GET", "/tasks?chain=9002", tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(json_array_size(r.json), 1);
    tw_resp_fini(&r);
    cr_assert_gt(create_idle(9001), other);
    execute(other, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "DONE");
    tw_resp_fini(&r);
    execute(id, NULL, &r);
    tw_assert_error(&r, 409, "task_in_progress", NULL);
    tw_resp_fini(&r);
    cr_assert_eq(atomic_load(&h.finished), 0, "the held execute is still held");
    cr_assert_eq(pthread_join(th, NULL), 0);
    cr_assert_eq(h.rc, CURLE_OK, "%s", curl_easy_strerror(h.rc));
    cr_assert_eq(h.status, 200, "%s", h.body);
    body = json_loads(h.body, 0, NULL);
    cr_assert_not_null(body, "%s", h.body);
    cr_assert_str_eq(json_string_value(json_object_get(body, "code")), "DONE");
    json_decref(body);
    t = tw_task_get(&srv, tok, id);
    cr_assert_str_eq(state_code(t), "DONE");
    assert_result_file(9002, id, t, 5);
    json_decref(t);
}

/* ---- worker faults ---- */

Test(runs, crashing_worker_ends_in_error_naming_the_signal)
{
    struct tw_resp r;
    long long id, ok;
    json_t *t;

    start(NULL);
    id = create_idle(9003);
    execute(id, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "ERROR");
    tw_resp_fini(&r);
    t = tw_task_get(&srv, tok, id);
    assert_error_run(t, "worker killed by signal 11 (Segmentation fault)");
    json_decref(t);
    /* the server keeps serving and running */
    tw_http(&srv, "GET", "/healthz", NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    tw_resp_fini(&r);
    ok = create_idle(9001);
    execute(ok, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "DONE");
    tw_resp_fini(&r);
    /* a scheduled crash too */
    id = create_at(9003, time(NULL), NULL);
    t = tw_wait_state(&srv, tok, id, "ERROR", WAIT_S);
    assert_error_run(t, "worker killed by signal 11 (Segmentation fault)");
    json_decref(t);
}

Test(runs, hanging_worker_is_stopped_at_task_timeout)
{
    struct tw_resp r;
    long long id;
    json_t *t;

    start("task_timeout: 2\n");
    id = create_idle(9004);
    execute(id, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "ERROR");
    tw_resp_fini(&r);
    t = tw_task_get(&srv, tok, id);
    assert_error_run(t, "run exceeded task_timeout of 2 s");
    json_decref(t);
    cr_assert_eq(server_children(), 0, "the hung worker (ignoring SIGTERM) is gone");
}

Test(runs, worker_exit_without_result_and_plugin_open_error_end_in_error)
{
    struct tw_resp r;
    long long id;
    json_t *t;

    start(NULL);
    id = create_idle(9005);
    execute(id, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "ERROR");
    tw_resp_fini(&r);
    t = tw_task_get(&srv, tok, id);
    assert_error_run(t, "worker exited with status 3 without a result");
    json_decref(t);

    id = create_at(9006, time(NULL), NULL);
    t = tw_wait_state(&srv, tok, id, "ERROR", WAIT_S);
    assert_error_run(t, "plugin testrun: told to fail by chain 9006");
    json_decref(t);
    {
        char dir[512];

        results_dir(9006, id, dir, sizeof(dir));
        cr_assert(dir_entries(dir) <= 0, "a failed run leaves no file in %s", dir);
    }
}

Test(runs, delete_of_a_running_task_stops_its_worker_and_leaves_no_file)
{
    char dir[512], partial[600];
    struct tw_resp r;
    char path[64];
    long long id;
    int i;

    start(NULL);
    id = create_idle(9002);
    execute(id, "Prefer: respond-async", &r);
    cr_assert_eq(r.status, 202, "%s", r.body);
    tw_resp_fini(&r);
    results_dir(9002, id, dir, sizeof(dir));
    snprintf(partial, sizeof(partial), "%s/.partial", dir);
    for (i = 0; i < WAIT_S * 20 && !file_exists(partial); i++)
        sleep_ms(50);
    cr_assert(file_exists(partial), "the run writes %s", partial);
    cr_assert_eq(server_children(), 1);
    snprintf(path, sizeof(path), "/tasks/%lld", id);
    tw_http(&srv, "DELETE", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 204, "%s", r.body);
    tw_resp_fini(&r);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    tw_assert_error(&r, 404, "task_not_found", NULL);
    tw_resp_fini(&r);
    for (i = 0; i < WAIT_S * 20 && server_children() != 0; i++)
        sleep_ms(50);
    cr_assert_eq(server_children(), 0, "the worker was stopped");
    cr_assert(dir_entries(dir) <= 0, "nothing left in %s", dir);
    /* the server is fine and the pool has its worker back */
    id = create_idle(9001);
    execute(id, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "DONE");
    tw_resp_fini(&r);
}

/* ---- server stops ---- */

Test(runs, kill_9_during_a_run_is_recovered_at_restart)
{
    char dir[512], partial[600];
    long long id;
    json_t *t, *e;
    int rc;

    start(NULL);
    id = create_at(9002, time(NULL), NULL);
    t = tw_wait_state(&srv, tok, id, "INPROGRESS", WAIT_S);
    json_decref(t);
    results_dir(9002, id, dir, sizeof(dir));
    snprintf(partial, sizeof(partial), "%s/.partial", dir);
    sleep_ms(1500); /* into the run: a record or so written */
    rc = tw_srv_stop(&srv, SIGKILL);
    cr_assert_eq(rc, 128 + SIGKILL);
    /* the worker dies with the server; wait for that before the restart */
    sleep_ms(300);
    tw_srv_start(&srv);
    t = tw_wait_state(&srv, tok, id, "DONE", WAIT_S);
    /* newest first: success, INPROGRESS -> DONE, READY -> INPROGRESS, interrupted,
       INPROGRESS -> READY, READY -> INPROGRESS */
    cr_assert_eq(tw_task_log_count(t, MSG_INTERRUPTED), 1, "logs: %s",
                 json_dumps(json_object_get(t, "logs"), JSON_COMPACT));
    cr_assert_str_eq(log_msg(t, 0), "success");
    cr_assert_str_eq(log_msg(t, 1), "INPROGRESS -> DONE");
    cr_assert_str_eq(log_msg(t, 2), "READY -> INPROGRESS");
    cr_assert_str_eq(log_msg(t, 3), MSG_INTERRUPTED);
    cr_assert_str_eq(log_msg(t, 4), "INPROGRESS -> READY");
    cr_assert_str_eq(log_msg(t, 5), "READY -> INPROGRESS");
    cr_assert_eq(tw_task_log_count(t, "success"), 1);
    cr_assert_eq(tw_task_log_count(t, "progress"), 0, "the old run's progress entry is gone");
    e = json_array_get(json_object_get(t, "logs"), 0);
    cr_assert_eq(json_integer_value(json_object_get(e, "success")), 5);
    assert_result_file(9002, id, t, 5);
    cr_assert(!file_exists(partial));
    json_decref(t);
}

Test(runs, sigterm_with_a_run_in_flight_exits_cleanly_and_the_run_is_recovered)
{
    long long id;
    json_t *t;
    int rc;

    start("shutdown_grace: 1\n");
    id = create_at(9002, time(NULL), NULL);
    t = tw_wait_state(&srv, tok, id, "INPROGRESS", WAIT_S);
    json_decref(t);
    rc = tw_srv_stop(&srv, SIGTERM);
    cr_assert_eq(rc, 0, "a clean exit after the grace");
    tw_srv_start(&srv);
    t = tw_wait_state(&srv, tok, id, "DONE", WAIT_S);
    cr_assert_eq(tw_task_log_count(t, MSG_INTERRUPTED), 1, "logs: %s",
                 json_dumps(json_object_get(t, "logs"), JSON_COMPACT));
    cr_assert_eq(tw_task_log_count(t, "INPROGRESS -> READY"), 1);
    cr_assert_eq(tw_task_log_count(t, "READY -> INPROGRESS"), 2);
    cr_assert_eq(tw_task_log_count(t, "success"), 1);
    cr_assert_str_eq(log_msg(t, 0), "success");
    assert_result_file(9002, id, t, 5);
    json_decref(t);
}

Test(runs, sigterm_interrupts_an_executed_run_which_runs_again_at_restart)
{
    struct tw_resp r;
    long long id;
    json_t *t;
    int rc;

    start("shutdown_grace: 1\n");
    id = create_idle(9002); /* due in 2099: only the execute runs it */
    execute(id, "Prefer: respond-async", &r);
    cr_assert_eq(r.status, 202, "%s", r.body);
    tw_resp_fini(&r);
    rc = tw_srv_stop(&srv, SIGTERM);
    cr_assert_eq(rc, 0);
    tw_srv_start(&srv);
    /* docs/reference.md §5: interrupted "as above": logged as interrupted, and the task runs again */
    t = tw_wait_state(&srv, tok, id, "DONE", WAIT_S);
    cr_assert_eq(tw_task_log_count(t, MSG_INTERRUPTED), 1);
    cr_assert_eq(tw_task_log_count(t, "success"), 1);
    assert_result_file(9002, id, t, 5);
    json_decref(t);
}

/* ---- load ---- */

#define MANY 200

Test(runs, two_hundred_tasks_due_at_once_each_run_exactly_once, .timeout = 300)
{
    static const long chains[] = { 9001, 9010, 9011 };
    static long long ids[MANY];
    time_t due;
    struct tw_resp r;
    char hdr[64];
    long done = 0;
    int i;

    start("workers: 2\n");
    due = time(NULL) + 6; /* time to create them all before they are due */
    for (i = 0; i < MANY; i++)
        ids[i] = create_at(chains[i % 3], due, NULL);
    if (time(NULL) >= due)
        cr_log_info("creating %d tasks took past their due time; still checked", MANY);
    for (i = 0; i < WAIT_S * 4; i++) {
        tw_http(&srv, "GET", "/tasks?status=DONE&limit=1", tok, NULL, NULL, &r);
        cr_assert_eq(r.status, 200);
        cr_assert(tw_resp_header(&r, "X-Total-Count", hdr, sizeof(hdr)));
        tw_resp_fini(&r);
        done = strtol(hdr, NULL, 10);
        if (done == MANY)
            break;
        sleep_ms(250);
    }
    cr_assert_eq(done, MANY);
    for (i = 0; i < MANY; i++) {
        json_t *t = tw_task_get(&srv, tok, ids[i]);

        cr_assert_str_eq(state_code(t), "DONE");
        cr_assert_eq(tw_task_log_count(t, "success"), 1, "task %lld", ids[i]);
        cr_assert_eq(tw_task_log_count(t, "READY -> INPROGRESS"), 1, "task %lld", ids[i]);
        cr_assert_eq(json_array_size(json_object_get(t, "logs")), 3, "task %lld", ids[i]);
        assert_result_file(chains[i % 3], ids[i], t, 3);
        json_decref(t);
    }
    tw_http(&srv, "GET", "/tasks?status=READY&limit=1", tok, NULL, NULL, &r);
    cr_assert(tw_resp_header(&r, "X-Total-Count", hdr, sizeof(hdr)));
    cr_assert_str_eq(hdr, "0");
    tw_resp_fini(&r);
}

/*
 * The spare pool (engine/run/pool.c): `workers` spares wait ready beside the spawner; a spare
 * killed while it waits, and the spawner itself killed, cost no run: the next runs still end
 * DONE, and the pool comes back to `workers` spares with a new spawner.
 */
Test(runs, killed_spares_and_spawner_are_replaced)
{
    struct tw_resp r;
    long long id;
    pid_t pid;
    int round;

    start("workers: 2\n");
    cr_assert_eq(wait_children("tw-spawner", 1), 1);
    cr_assert_eq(wait_children("tw-spare", 2), 2, "one spare per free worker slot");
    cr_assert_eq(server_children_named(NULL), 3, "nothing but the spawner and the spares");
    for (round = 0; round < 2; round++) {
        cr_assert_eq(wait_children("tw-spare", 2), 2, "round %d: the pool is full", round);
        pid = server_child_pid(round == 0 ? "tw-spare" : "tw-spawner");
        cr_assert_gt(pid, 0);
        cr_assert_eq(kill(pid, SIGKILL), 0);
        if (round == 1) {
            pid = server_child_pid("tw-spare");
            cr_assert_gt(pid, 0);
            cr_assert_eq(kill(pid, SIGKILL), 0); /* and a spare, so a new one is needed */
        }
        sleep_ms(200);
        id = create_idle(9001);
        execute(id, NULL, &r);
        cr_assert_eq(r.status, 200, "%s", r.body);
        cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "DONE", "round %d: %s",
                         round, r.body);
        tw_resp_fini(&r);
        id = create_idle(9001); /* and one more, so a killed spare is met either way */
        execute(id, NULL, &r);
        cr_assert_eq(r.status, 200, "%s", r.body);
        cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "DONE", "round %d: %s",
                         round, r.body);
        tw_resp_fini(&r);
    }
    cr_assert_eq(wait_children("tw-spawner", 1), 1, "a new spawner");
    cr_assert_eq(wait_children("tw-spare", 2), 2, "the pool is full again");
    cr_assert_eq(wait_children("tw-worker", 0), 0);
}
