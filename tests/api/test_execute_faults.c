/*
 * POST /tasks/{id}/execute when the run cannot start, through a real server:
 *  - the store cannot commit (its files made immutable with chattr +i, as an operator's
 *    mistake or a read-only remount would): held and respond-async executes answer 503
 *    unavailable with the reason, never 200 with the previous run's state, and the server
 *    keeps serving (this once was a use-after-free that aborted the server);
 *  - a held execute of a task that is queued (no free worker) and deleted meanwhile answers
 *    404, as for a running one.
 * The immutable-file test needs root and a file system with the immutable attribute; it is
 * skipped otherwise.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static struct tw_srv srv;
static char *tok;

static void setup(void)
{
    static const char *const chains[] = { "9001", "9004", NULL };

    /* The fixture index "testrun": chain 9001 exports 3 records, 9004 hangs (runplugin/). */
    tw_srv_init_plugins(&srv, TW_RUNPLUGINS_DIR, "workers: 1\n");
    tok = tw_srv_token(&srv, "write", chains);
}

static void teardown(void)
{
    free(tok);
    tw_srv_fini(&srv, true);
}

TestSuite(execute_faults, .init = setup, .fini = teardown, .timeout = 120);

static long long create(long chain)
{
    char body[512];
    struct tw_resp r;
    long long id;

    snprintf(body, sizeof(body),
             "{\"chain\": %ld, \"desc\": \"execute faults\", \"target\": {\"action\": "
             "\"export\", \"export_index\": \"testrun\", \"export_format\": \"csv\"}, "
             "\"trigger\": {\"once\": \"2099-01-01T00:00:00Z\"}}",
             chain);
    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    cr_assert_eq(r.status, 201, "%s", r.body);
    id = (long long)json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    return id;
}

/* chattr the store's files (+i or -i); false when the system does not allow it. */
static bool chattr_store(const char *flag)
{
    static const char *const files[] = { "taskwheel.db", "taskwheel.db-wal", "taskwheel.db-shm" };
    char cmd[1024];
    size_t i;

    for (i = 0; i < 3; i++) {
        snprintf(cmd, sizeof(cmd), "chattr %s '%s/var/%s' 2>/dev/null", flag, srv.dir, files[i]);
        if (system(cmd) != 0 && i == 0)
            return false;
    }
    return true;
}

Test(execute_faults, store_cannot_commit_is_503_and_the_server_keeps_serving)
{
    static const char *const async[] = { "Prefer: respond-async", NULL };
    char path[64], st[32];
    struct tw_resp r;
    long long id = create(9001);
    const char *code;

    snprintf(path, sizeof(path), "/tasks/%lld/execute", id);
    tw_http(&srv, "POST", path, tok, NULL, NULL, &r); /* a previous run: DONE/ERROR */
    cr_assert_eq(r.status, 200, "%s", r.body);
    code = json_string_value(json_object_get(r.json, "code"));
    cr_assert(code != NULL && strcmp(code, "DONE") == 0, "%s", r.body);
    snprintf(st, sizeof(st), "%s", code);
    tw_resp_fini(&r);
    if (!chattr_store("+i")) {
        cr_skip_test("chattr +i is not available here (needs root and ext4/xfs/btrfs)");
        return;
    }
    tw_http(&srv, "POST", path, tok, NULL, NULL, &r);
    chattr_store("-i");
    tw_assert_error(&r, 503, "unavailable", NULL);
    cr_assert(strstr(r.body, "could not start") != NULL, "%s", r.body);
    tw_resp_fini(&r);

    chattr_store("+i");
    tw_http(&srv, "POST", path, tok, async, NULL, &r);
    chattr_store("-i");
    tw_assert_error(&r, 503, "unavailable", NULL);
    tw_resp_fini(&r);

    /* Still serving, and the task is as it was. */
    tw_http(&srv, "GET", "/healthz", NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    tw_resp_fini(&r);
    json_decref(tw_wait_state(&srv, tok, id, st, 10));
    tw_http(&srv, "POST", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "after the store is writable again: %s", r.body);
    tw_resp_fini(&r);
}

/* A held execute on another thread; the test thread deletes the task meanwhile. */
struct held_call {
    long long id;
    struct tw_resp r;
};

static void *held_execute(void *arg)
{
    struct held_call *c = arg;
    char path[64];

    snprintf(path, sizeof(path), "/tasks/%lld/execute", c->id);
    tw_http(&srv, "POST", path, tok, NULL, NULL, &c->r);
    return NULL;
}

Test(execute_faults, held_execute_of_a_queued_task_deleted_meanwhile_is_404)
{
    static const char *const async[] = { "Prefer: respond-async", NULL };
    struct held_call c;
    pthread_t th;
    char path[64];
    struct tw_resp r;
    long long busy = create(9004); /* hangs: holds the only worker */
    int i;

    memset(&c, 0, sizeof(c));
    c.id = create(9001);
    snprintf(path, sizeof(path), "/tasks/%lld/execute", busy);
    tw_http(&srv, "POST", path, tok, async, NULL, &r);
    cr_assert_eq(r.status, 202, "%s", r.body);
    tw_resp_fini(&r);
    cr_assert_eq(pthread_create(&th, NULL, held_execute, &c), 0);
    /* Wait until the server holds it: the task is queued behind the hanging run. */
    for (i = 0; i < 2000; i++) {
        bool queued;

        tw_http(&srv, "GET", "/metrics", NULL, NULL, NULL, &r);
        queued = strstr(r.body, "\ntaskwheel_sched_queued 1\n") != NULL;
        tw_resp_fini(&r);
        if (queued)
            break;
        usleep(5000);
    }
    cr_assert_lt(i, 2000, "the execute was never queued");
    snprintf(path, sizeof(path), "/tasks/%lld", c.id);
    tw_http(&srv, "DELETE", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 204, "%s", r.body);
    tw_resp_fini(&r);
    pthread_join(th, NULL);
    tw_assert_error(&c.r, 404, "task_not_found", NULL);
    tw_resp_fini(&c.r);
    snprintf(path, sizeof(path), "/tasks/%lld", busy);
    tw_http(&srv, "DELETE", path, tok, NULL, NULL, &r); /* cancels the hanging run */
    cr_assert_eq(r.status, 204, "%s", r.body);
    tw_resp_fini(&r);
}
