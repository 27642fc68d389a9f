/*
 * Webhooks end to end (docs/reference.md §12, docs/webhooks.md): a real server with the
 * fixture index "testrun" (chain 9001 ends DONE, 9006 ends ERROR; tests/runplugin) and a real
 * receiver (harness/hookpeer.c) that verifies every signature with its own HMAC code.
 * No timing assertions: every wait is on a condition; the retry gaps are checked only
 * against their lower bounds, which load can only lengthen.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "hookpeer.h"

static struct tw_srv srv;
static char *tok;
static struct tw_hookpeer *peer;

static void start(const char *extra)
{
    static const char *const chains[] = { "9001", "9006", NULL };

    tw_srv_init_plugins(&srv, TW_RUNPLUGINS_DIR, extra);
    tok = tw_srv_token(&srv, "write", chains);
}

static void setup(void)
{
    start("webhooks:\n  allow_private: true\n");
}

static void teardown(void)
{
    tw_hookpeer_stop(peer);
    peer = NULL;
    free(tok);
    tw_srv_fini(&srv, true);
}

TestSuite(webhooks, .init = setup, .fini = teardown, .timeout = 240);

/* A new secret for chain (taskwheel webhook-secret), without its newline; caller frees. */
static char *new_secret(const char *chain)
{
    const char *args[] = { "webhook-secret", "--chain", chain, NULL };
    char *out = NULL;

    cr_assert_eq(tw_srv_cli(&srv, NULL, &out, args), 0);
    out[strcspn(out, "\n")] = '\0';
    return out;
}

/* POST a testrun task of chain with the given "webhook" JSON (NULL: none); returns its id. */
static long long create(long chain, const char *webhook)
{
    char body[4096];
    struct tw_resp r;
    long long id;

    snprintf(body, sizeof(body),
             "{\"chain\": %ld, \"desc\": \"webhooks\", \"target\": {\"action\": \"export\", "
             "\"export_index\": \"testrun\", \"export_format\": \"csv\"}, \"trigger\": "
             "{\"once\": \"2099-01-01T00:00:00Z\"}%s%s}",
             chain, webhook ? ", \"webhook\": " : "", webhook ? webhook : "");
    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    cr_assert_eq(r.status, 201, "%s", r.body);
    id = (long long)json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    return id;
}

static char *hook_json(const char *events)
{
    char *s = malloc(512);

    cr_assert_not_null(s);
    snprintf(s, 512, "{\"url\": \"%s\"%s%s}", tw_hookpeer_url(peer), events ? ", \"events\": " : "",
             events ? events : "");
    return s;
}

/* Run task id now and wait for its end in state. */
static void run(long long id, const char *state)
{
    static const char *const async[] = { "Prefer: respond-async", NULL };
    char path[64];
    struct tw_resp r;

    snprintf(path, sizeof(path), "/tasks/%lld/execute", id);
    tw_http(&srv, "POST", path, tok, async, NULL, &r);
    cr_assert(r.status == 202 || r.status == 200, "%ld %s", r.status, r.body);
    tw_resp_fini(&r);
    json_decref(tw_wait_state(&srv, tok, id, state, 60));
}

/* Rows for task in the store's outbox plus its attempts (read with SQLite directly). */
static long stored_deliveries(long long task)
{
    char db[400], sql[200];
    sqlite3 *h;
    sqlite3_stmt *q;
    long n = 0;

    snprintf(db, sizeof(db), "%s/var/taskwheel.db", srv.dir);
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    snprintf(sql, sizeof(sql),
             "SELECT (SELECT count(*) FROM webhook_outbox WHERE task_id = %lld) + "
             "(SELECT count(*) FROM webhook_attempts WHERE task_id = %lld)",
             task, task);
    cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &q, NULL), SQLITE_OK, "%s", sqlite3_errmsg(h));
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    n = (long)sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(h);
    return n;
}

static json_t *deliveries(long long id, long want_status)
{
    char path[64];
    struct tw_resp r;
    json_t *j;

    snprintf(path, sizeof(path), "/tasks/%lld/deliveries", id);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, want_status, "%s", r.body);
    j = json_incref(r.json);
    tw_resp_fini(&r);
    return j;
}

/*
 * GET /tasks/{id}/deliveries once it lists n attempts, the newest answered 2xx if want_ok: the
 * server records an attempt after the receiver has answered it, so the receiver's count runs
 * ahead of the store.
 */
static json_t *deliveries_recorded(long long id, size_t n, bool want_ok)
{
    struct timespec pause = { 0, 50 * 1000 * 1000 };

    for (int i = 0; i < 1200; i++) { /* up to a minute */
        json_t *list = deliveries(id, 200);
        json_int_t status = json_integer_value(json_object_get(json_array_get(list, 0), "status"));

        if (json_array_size(list) >= n && (!want_ok || (status >= 200 && status < 300)))
            return list;
        json_decref(list);
        nanosleep(&pause, NULL);
    }
    cr_assert_fail("task %lld: %zu recorded attempts%s never showed", id, n,
                   want_ok ? ", the newest a success," : "");
    return NULL;
}

static json_t *deliveries_settled(long long id, size_t n)
{
    return deliveries_recorded(id, n, true);
}

Test(webhooks, one_signed_delivery_per_run_end_in_events_and_none_for_others)
{
    char *s1 = new_secret("9001"), *s2 = new_secret("9001"), *s3 = new_secret("9006");
    const char *secrets[] = { s1, s2, s3 };
    struct tw_hook_attempt a;
    long long done_id, error_id, error_only_done;
    char *h_done, *h_all;

    peer = tw_hookpeer_start(0, false);
    tw_hookpeer_secrets(peer, secrets, 3);
    h_done = hook_json("[\"DONE\"]");
    h_all = hook_json(NULL);
    done_id = create(9001, h_done);
    error_only_done = create(9006, h_done); /* ends ERROR: not in its events */
    error_id = create(9006, h_all);

    run(done_id, "DONE");
    tw_hookpeer_wait_ok(peer, 1, 60);
    cr_assert(tw_hookpeer_attempt(peer, 0, &a));
    cr_assert_str_eq(a.event, "task.done");
    cr_assert_eq(a.task_id, done_id);
    cr_assert_str_eq(a.state, "DONE", "the task object as it is after the run");
    cr_assert_str_eq(a.content_type, "application/json");
    cr_assert_eq(strlen(a.delivery), 36, "a uuid: %s", a.delivery);
    /* Rotated once: both secrets of chain 9001 are valid, so two v1= and both verify. */
    cr_assert_eq(a.n_v1, 2);
    cr_assert_eq(a.n_v1_ok, 2);
    cr_assert(a.sig_ok);
    {
        json_t *task = json_object_get(a.body, "task");
        const char *last = NULL, *key;
        json_t *v;

        cr_assert_not_null(json_object_get(a.body, "time"));
        json_object_foreach(task, key, v) last = key;
        cr_assert_str_eq(last, "webhook", "webhook comes last, after result");
    }

    run(error_only_done, "ERROR");
    run(error_id, "ERROR");
    tw_hookpeer_wait_ok(peer, 2, 60);
    cr_assert(tw_hookpeer_attempt(peer, 1, &a));
    cr_assert_str_eq(a.event, "task.error");
    cr_assert_eq(a.task_id, error_id);
    cr_assert_str_eq(a.state, "ERROR");
    cr_assert_eq(a.n_v1, 1, "chain 9006 has one secret");
    cr_assert(a.sig_ok);
    /* The run end and its delivery are one transaction: nothing was queued for ERROR here. */
    cr_assert_eq(stored_deliveries(error_only_done), 0);
    json_decref(deliveries_settled(done_id, 1));
    cr_assert_eq(stored_deliveries(done_id), 1, "one attempt, nothing left in the outbox");
    cr_assert_eq(tw_hookpeer_count(peer), 2);

    /* A second run: a second delivery, with a new id. */
    run(done_id, "DONE");
    tw_hookpeer_wait_ok(peer, 3, 60);
    {
        struct tw_hook_attempt first;

        cr_assert(tw_hookpeer_attempt(peer, 0, &first));
        cr_assert(tw_hookpeer_attempt(peer, 2, &a));
        cr_assert_eq(a.task_id, done_id);
        cr_assert_str_neq(a.delivery, first.delivery);
    }
    free(h_done);
    free(h_all);
    free(s1);
    free(s2);
    free(s3);
}

Test(webhooks, retried_with_growing_gaps_and_the_same_delivery_id)
{
    char *s = new_secret("9001");
    const char *secrets[] = { s };
    struct tw_hook_attempt a[4];
    char *h;
    long long id;
    json_t *list;

    peer = tw_hookpeer_start(3, false); /* 500, 500, 500, then 200 */
    tw_hookpeer_secrets(peer, secrets, 1);
    h = hook_json(NULL);
    id = create(9001, h);
    run(id, "DONE");
    tw_hookpeer_wait_ok(peer, 1, 90);
    cr_assert_eq(tw_hookpeer_count(peer), 4);
    for (int i = 0; i < 4; i++) {
        cr_assert(tw_hookpeer_attempt(peer, (size_t)i, &a[i]));
        cr_assert(a[i].sig_ok, "attempt %d is signed", i + 1);
        cr_assert_str_eq(a[i].delivery, a[0].delivery, "the same delivery id on every retry");
    }
    cr_assert_eq(a[0].answered, 500);
    cr_assert_eq(a[3].answered, 200);
    /* Backoff 1 s doubling: each gap is at least its step (load only makes it longer). */
    cr_assert_geq(a[1].at - a[0].at, 0.9);
    cr_assert_geq(a[2].at - a[1].at, 1.9);
    cr_assert_geq(a[3].at - a[2].at, 3.9);

    /* GET /tasks/{id}/deliveries: every attempt, newest first. */
    list = deliveries_settled(id, 4);
    cr_assert_eq(json_array_size(list), 4);
    for (size_t i = 0; i < 4; i++) {
        json_t *e = json_array_get(list, i);

        cr_assert_str_eq(json_string_value(json_object_get(e, "delivery")), a[0].delivery);
        cr_assert_str_eq(json_string_value(json_object_get(e, "event")), "task.done");
        cr_assert_eq(json_integer_value(json_object_get(e, "attempt")), (json_int_t)(4 - i));
        cr_assert(json_is_string(json_object_get(e, "time")));
        cr_assert_geq(json_integer_value(json_object_get(e, "duration_ms")), 0);
        if (i == 0) {
            cr_assert_eq(json_integer_value(json_object_get(e, "status")), 200);
            cr_assert(json_is_null(json_object_get(e, "error")));
        } else {
            cr_assert_eq(json_integer_value(json_object_get(e, "status")), 500);
            cr_assert_str_eq(json_string_value(json_object_get(e, "error")), "HTTP 500");
        }
    }
    json_decref(list);
    free(h);
    free(s);
}

Test(webhooks, kill_9_with_pending_deliveries_loses_none)
{
    char *s = new_secret("9001");
    const char *secrets[] = { s };
    struct tw_hook_attempt a;
    char seen[3][64];
    long long ids[3];
    char *h;
    size_t before, ok = 0;

    peer = tw_hookpeer_start(100000, false); /* refuses everything for now */
    tw_hookpeer_secrets(peer, secrets, 1);
    h = hook_json(NULL);
    for (int i = 0; i < 3; i++) {
        ids[i] = create(9001, h);
        run(ids[i], "DONE");
    }
    /* Every delivery was tried once and is pending in the outbox. */
    tw_hookpeer_wait(peer, 3, 60);
    for (int i = 0; i < 3; i++)
        seen[i][0] = '\0';
    /*
     * And recorded: a kill between the receiver's answer and the server's record of it would
     * lose that attempt from the list, leaving one attempt where the test counts two.
     */
    for (int k = 0; k < 3; k++)
        json_decref(deliveries_recorded(ids[k], 1, false));
    before = tw_hookpeer_count(peer);
    for (size_t i = 0; i < before; i++) {
        cr_assert(tw_hookpeer_attempt(peer, i, &a));
        for (int k = 0; k < 3; k++)
            if (a.task_id == ids[k])
                snprintf(seen[k], sizeof(seen[k]), "%s", a.delivery);
    }
    tw_srv_stop(&srv, SIGKILL);
    tw_hookpeer_behave(peer, 0, false);
    tw_srv_start(&srv);
    tw_hookpeer_wait_ok(peer, 3, 120);
    for (size_t i = before; tw_hookpeer_attempt(peer, i, &a); i++) {
        if (a.answered != 200)
            continue;
        ok++;
        for (int k = 0; k < 3; k++)
            if (a.task_id == ids[k])
                cr_assert_str_eq(a.delivery, seen[k], "the delivery id survives the restart");
    }
    cr_assert_geq(ok, 3);
    for (int k = 0; k < 3; k++) {
        json_decref(deliveries_settled(ids[k], 2));
    }
    free(h);
    free(s);
}

Test(webhooks, field_round_trips_and_null_removes_it)
{
    char path[64], body[512];
    struct tw_resp r;
    long long id, plain;
    json_t *w;

    id = create(9001, "{\"url\": \"https://hooks.example.com/x\"}");
    snprintf(path, sizeof(path), "/tasks/%lld", id);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    w = json_object_get(r.json, "webhook");
    cr_assert_str_eq(json_string_value(json_object_get(w, "url")), "https://hooks.example.com/x");
    cr_assert_eq(json_array_size(json_object_get(w, "events")), 2, "events default to both");
    tw_resp_fini(&r);

    /* PUT changes it; a PUT without "webhook" keeps it. */
    tw_http(&srv, "PUT", path, tok, NULL,
            "{\"webhook\": {\"url\": \"http://hooks.example.com/y\", \"events\": [\"ERROR\"]}}",
            &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    w = json_object_get(r.json, "webhook");
    cr_assert_str_eq(json_string_value(json_object_get(w, "url")), "http://hooks.example.com/y");
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(w, "events"), 0)), "ERROR");
    cr_assert_eq(json_array_size(json_object_get(w, "events")), 1);
    tw_resp_fini(&r);
    tw_http(&srv, "PUT", path, tok, NULL, "{\"desc\": \"renamed\"}", &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_not_null(json_object_get(r.json, "webhook"));
    tw_resp_fini(&r);

    /* null removes it: the object is Spaaza's again. */
    tw_http(&srv, "PUT", path, tok, NULL, "{\"webhook\": null}", &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_null(json_object_get(r.json, "webhook"));
    tw_resp_fini(&r);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    cr_assert_null(json_object_get(r.json, "webhook"));
    tw_resp_fini(&r);

    /* A task created without one has no key at all, in GET and in the list. */
    plain = create(9001, NULL);
    snprintf(body, sizeof(body), "/tasks/%lld", plain);
    tw_http(&srv, "GET", body, tok, NULL, NULL, &r);
    cr_assert_null(json_object_get(r.json, "webhook"));
    cr_assert_str_eq(json_object_iter_key(json_object_iter_at(r.json, "result")), "result");
    tw_resp_fini(&r);
}

Test(webhooks, bad_input_is_400_naming_the_field_and_changes_nothing)
{
    static const struct {
        const char *webhook, *field;
    } bad[] = {
        { "\"https://x.example\"", "webhook" },
        { "{}", "webhook.url" },
        { "{\"url\": \"ftp://x.example/\"}", "webhook.url" },
        { "{\"url\": \"not a url\"}", "webhook.url" },
        { "{\"url\": \"https:///nohost\"}", "webhook.url" },
        { "{\"url\": 42}", "webhook.url" },
        { "{\"url\": \"https://x.example\", \"events\": [\"DONE\", \"CANCELLED\"]}",
          "webhook.events" },
        { "{\"url\": \"https://x.example\", \"events\": [\"READY\"]}", "webhook.events" },
        { "{\"url\": \"https://x.example\", \"events\": []}", "webhook.events" },
        { "{\"url\": \"https://x.example\", \"events\": \"DONE\"}", "webhook.events" },
        { "{\"url\": \"https://x.example\", \"secret\": \"s\"}", "webhook.secret" },
    };
    char body[4096], path[64], long_url[2100];
    struct tw_resp r;
    long long id = create(9001, "{\"url\": \"https://keep.example/\"}");

    snprintf(path, sizeof(path), "/tasks/%lld", id);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(body, sizeof(body),
                 "{\"chain\": 9001, \"desc\": \"x\", \"target\": {\"action\": \"export\", "
                 "\"export_index\": \"testrun\"}, \"trigger\": {\"once\": "
                 "\"2099-01-01T00:00:00Z\"}, \"webhook\": %s}",
                 bad[i].webhook);
        tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
        tw_assert_error(&r, 400, "validation_failed", bad[i].field);
        tw_resp_fini(&r);
        snprintf(body, sizeof(body), "{\"webhook\": %s}", bad[i].webhook);
        tw_http(&srv, "PUT", path, tok, NULL, body, &r);
        tw_assert_error(&r, 400, "validation_failed", bad[i].field);
        tw_resp_fini(&r);
    }
    /* 2,048 characters pass, 2,049 do not. */
    memset(long_url, 'a', sizeof(long_url));
    memcpy(long_url, "https://x.example/", 18);
    long_url[2048] = '\0';
    snprintf(body, sizeof(body), "{\"webhook\": {\"url\": \"%s\"}}", long_url);
    tw_http(&srv, "PUT", path, tok, NULL, body, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    tw_resp_fini(&r);
    long_url[2048] = 'a';
    long_url[2049] = '\0';
    snprintf(body, sizeof(body), "{\"webhook\": {\"url\": \"%s\"}}", long_url);
    tw_http(&srv, "PUT", path, tok, NULL, body, &r);
    tw_assert_error(&r, 400, "validation_failed", "webhook.url");
    tw_resp_fini(&r);
    /* Nothing changed: the 2,048-character URL is still the stored one. */
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    cr_assert_eq(
        strlen(json_string_value(json_object_get(json_object_get(r.json, "webhook"), "url"))),
        2048);
    tw_resp_fini(&r);
}

Test(webhooks, deliveries_endpoint_tenancy_and_unknown_task)
{
    static const char *const other[] = { "1764", NULL };
    char *stranger = tw_srv_token(&srv, "read", other);
    char path[64];
    struct tw_resp r;
    long long id = create(9001, "{\"url\": \"https://hooks.example.com/x\"}");
    json_t *list = deliveries(id, 200);

    cr_assert(json_is_array(list));
    cr_assert_eq(json_array_size(list), 0, "no run yet, no attempt");
    json_decref(list);
    json_decref(deliveries(999999, 404));
    snprintf(path, sizeof(path), "/tasks/%lld/deliveries", id);
    tw_http(&srv, "GET", path, stranger, NULL, NULL, &r);
    tw_assert_error(&r, 404, "task_not_found", NULL);
    tw_resp_fini(&r);
    tw_http(&srv, "GET", path, NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 401);
    tw_resp_fini(&r);
    free(stranger);
}

/* Without webhooks.allow_private: private targets are refused when the task is saved. */
TestSuite(webhooks_private, .fini = teardown, .timeout = 120);

Test(webhooks_private, loopback_and_private_targets_are_refused)
{
    static const char *const refused[] = {
        "http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://[::1]:9/",
        "https://10.1.2.3/",       "http://192.168.0.1/",     "http://169.254.169.254/latest",
    };
    char body[1024], path[64];
    struct tw_resp r;
    long long id;

    start(NULL);
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        snprintf(body, sizeof(body), "{\"url\": \"%s\"}", refused[i]);
        {
            char post[2048];

            snprintf(post, sizeof(post),
                     "{\"chain\": 9001, \"desc\": \"x\", \"target\": {\"action\": \"export\", "
                     "\"export_index\": \"testrun\"}, \"trigger\": {\"once\": "
                     "\"2099-01-01T00:00:00Z\"}, \"webhook\": %s}",
                     body);
            tw_http(&srv, "POST", "/tasks", tok, NULL, post, &r);
            tw_assert_error(&r, 400, "validation_failed", "webhook.url");
            tw_resp_fini(&r);
        }
    }
    /* A public address is accepted (nothing is sent until a run ends). */
    id = create(9001, "{\"url\": \"http://93.184.216.34/hook\"}");
    snprintf(path, sizeof(path), "/tasks/%lld", id);
    tw_http(&srv, "PUT", path, tok, NULL, "{\"webhook\": {\"url\": \"http://localhost/x\"}}", &r);
    tw_assert_error(&r, 400, "validation_failed", "webhook.url");
    tw_resp_fini(&r);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(r.json, "webhook"), "url")),
                     "http://93.184.216.34/hook", "the refused PUT changed nothing");
    tw_resp_fini(&r);
}

Test(webhooks, sigterm_with_a_hanging_delivery_stops_cleanly_and_sends_it_after_restart)
{
    char *s = new_secret("9001");
    const char *secrets[] = { s };
    struct tw_hook_attempt first, again;
    char *h;
    long long id;
    size_t i;

    peer = tw_hookpeer_start(0, true); /* holds every request open, never answers */
    tw_hookpeer_secrets(peer, secrets, 1);
    h = hook_json(NULL);
    id = create(9001, h);
    run(id, "DONE");
    tw_hookpeer_wait(peer, 1, 60);
    cr_assert(tw_hookpeer_attempt(peer, 0, &first));
    /* The API answers while the delivery hangs. */
    json_decref(tw_task_get(&srv, tok, id));
    cr_assert_eq(tw_srv_stop(&srv, SIGTERM), 0, "a clean exit with a delivery in flight");
    tw_hookpeer_behave(peer, 0, false);
    tw_srv_start(&srv);
    tw_hookpeer_wait_ok(peer, 1, 90);
    for (i = 1; tw_hookpeer_attempt(peer, i, &again) && again.answered != 200; i++)
        ;
    cr_assert_eq(again.answered, 200);
    cr_assert_str_eq(again.delivery, first.delivery, "the interrupted delivery, sent again");
    cr_assert(again.sig_ok);
    free(h);
    free(s);
}
