/*
 * store_tasks.c: insert/get round trip, list filters, paging, totals and chain isolation,
 * conditional update (not found / in progress / version), delete, never-reused ids,
 * idempotency keys stored with the insert, the scan (100k tasks) and counts by state.
 */
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

TestSuite(store_tasks, .init = setup, .fini = teardown, .timeout = 60);

Test(store_tasks, insert_get_round_trip)
{
    struct tw_err err = { 0 };
    struct tw_task t, got;

    fx_task(&t, 1764, "wallet-ledger");
    t.desc = (char *)"Wallet ledger export";
    t.debug = (char *)"dbg";
    t.repeat = (char *)"monthly";
    t.anchor_day = 31;
    t.campaign_id = (char *)"c-9";
    t.segment_id = 0;
    t.export_format = (char *)"json";
    t.compression = (char *)"gzip";
    t.since = (char *)"last_success";
    t.last_run_date = 0;
    t.version = 77; /* ignored */
    t.id = 99;      /* ignored */
    cr_assert_eq(tw_store_task_insert(fx.s, &t, NULL, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(t.id, 1);
    cr_assert_eq(t.version, 1);
    cr_assert_eq(tw_store_task_get(fx.s, t.id, &got, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(got.id, 1);
    cr_assert_eq(got.chain, 1764);
    cr_assert_str_eq(got.desc, "Wallet ledger export");
    cr_assert_eq(got.state, TW_STATE_READY);
    cr_assert_eq(got.last_run_date, 0);
    cr_assert_eq(got.last_modified, 1000);
    cr_assert_eq(got.created_date, 1000);
    cr_assert_str_eq(got.trigger_json, t.trigger_json);
    cr_assert_str_eq(got.target_json, t.target_json);
    cr_assert_str_eq(got.export_format, "json");
    cr_assert_str_eq(got.compression, "gzip");
    cr_assert_str_eq(got.since, "last_success");
    cr_assert_str_eq(got.debug, "dbg");
    cr_assert_eq(got.version, 1);
    cr_assert_null(got.result);
    cr_assert_eq(got.once_at, 2000);
    cr_assert_str_eq(got.repeat, "monthly");
    cr_assert_eq(got.anchor_day, 31);
    cr_assert_str_eq(got.action, "export");
    cr_assert_str_eq(got.export_index, "wallet-ledger");
    cr_assert_str_eq(got.campaign_id, "c-9");
    cr_assert_eq(got.segment_id, 0);
    cr_assert_null(got.result_path);
    cr_assert_null(got.result_sha256);
    cr_assert_not(got.result_expired);
    tw_task_fini(&got);
    tw_task_fini(&got); /* fini twice is harmless */
}

Test(store_tasks, null_desc_and_debug_become_empty)
{
    struct tw_err err = { 0 };
    struct tw_task t, got;

    fx_task(&t, 1, "users");
    t.desc = NULL;
    t.debug = NULL;
    t.repeat = NULL;
    cr_assert_eq(tw_store_task_insert(fx.s, &t, NULL, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_task_get(fx.s, t.id, &got, &err), TW_OK);
    cr_assert_str_eq(got.desc, "");
    cr_assert_str_eq(got.debug, "");
    cr_assert_str_eq(got.repeat, "");
    tw_task_fini(&got);
}

Test(store_tasks, insert_missing_required_is_store_error)
{
    struct tw_err err = { 0 };
    struct tw_task t;

    fx_task(&t, 1, "users");
    t.trigger_json = NULL;
    cr_assert_eq(tw_store_task_insert(fx.s, &t, NULL, &err), TW_ESTORE);
    /* SQLite says "NOT NULL constraint failed", PostgreSQL "violates not-null constraint" */
    cr_assert(strstr(err.msg, "store: insert task: ") == err.msg, "%s", err.msg);
    cr_assert(strstr(err.msg, "NOT NULL") != NULL || strstr(err.msg, "not-null") != NULL, "%s",
              err.msg);
    fx_task(&t, 1, "users");
    t.state = 9;
    cr_assert_eq(tw_store_task_insert(fx.s, &t, NULL, &err), TW_ESTORE, "CHECK on state");
}

Test(store_tasks, get_not_found)
{
    struct tw_err err = { 0 };
    struct tw_task t;

    cr_assert_eq(tw_store_task_get(fx.s, 12345, &t, &err), TW_ENOTFOUND);
    cr_assert_str_eq(err.msg, "task 12345 not found");
    cr_assert_null(t.desc);
}

static void list(struct tw_task_filter *f, size_t want_n, int64_t want_total, int64_t first_id)
{
    struct tw_task *tasks = NULL;
    struct tw_err err = { 0 };
    int64_t total = -1;
    size_t n = 99, i;

    cr_assert_eq(tw_store_task_list(fx.s, f, &tasks, &n, &total, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(n, want_n);
    cr_assert_eq(total, want_total);
    if (n > 0)
        cr_assert_eq(tasks[0].id, first_id);
    for (i = 1; i < n; i++)
        cr_assert_gt(tasks[i - 1].id, tasks[i].id, "id descending");
    tw_store_free_tasks(tasks, n);
}

/* ids 1..10: chain 1 odd ids, chain 2 even ids; index users for id <= 5, else vouchers. */
static void seed_ten(void)
{
    struct tw_err err = { 0 };
    struct tw_task t;
    int i;

    for (i = 1; i <= 10; i++) {
        fx_task(&t, i % 2 ? 1 : 2, i <= 5 ? "users" : "vouchers");
        if (i == 10)
            t.campaign_id = (char *)"camp";
        cr_assert_eq(tw_store_task_insert(fx.s, &t, NULL, &err), TW_OK);
    }
    cr_assert_eq(tw_store_run_start(fx.s, 9, 3000, &err), TW_OK, "%s", err.msg);
}

Test(store_tasks, list_filters_paging_total)
{
    int64_t both[] = { 1, 2 };
    int64_t one[] = { 1 };
    struct tw_task_filter f = { both, 2, -1, NULL, NULL, NULL, 100, 0 };

    seed_ten();
    list(&f, 10, 10, 10);
    f.limit = 3;
    list(&f, 3, 10, 10);
    f.offset = 3;
    list(&f, 3, 10, 7);
    f.offset = 9;
    list(&f, 1, 10, 1);
    f.offset = 10;
    list(&f, 0, 10, 0);
    f.limit = 0;
    f.offset = 0;
    list(&f, 0, 10, 0);

    f.limit = 100;
    f.chains = one;
    f.n_chains = 1;
    list(&f, 5, 5, 9);
    f.export_index = "users";
    list(&f, 3, 3, 5);
    f.export_index = NULL;
    f.state = TW_STATE_INPROGRESS;
    list(&f, 1, 1, 9);
    f.state = TW_STATE_DONE;
    list(&f, 0, 0, 0);
    f.state = -1;
    f.action = "export";
    list(&f, 5, 5, 9);
    f.action = "import";
    list(&f, 0, 0, 0);
    f.action = NULL;
    f.chains = both;
    f.n_chains = 2;
    f.campaign_id = "camp";
    list(&f, 1, 1, 10);
    f.campaign_id = "other";
    list(&f, 0, 0, 0);
}

Test(store_tasks, list_isolates_chains)
{
    int64_t other[] = { 3, 4, 5 };
    int64_t two[] = { 2 };
    struct tw_task_filter f = { other, 3, -1, NULL, NULL, NULL, 100, 0 };

    seed_ten();
    list(&f, 0, 0, 0);
    f.chains = two;
    f.n_chains = 1;
    list(&f, 5, 5, 10);
    f.n_chains = 0;
    list(&f, 0, 0, 0);
}

Test(store_tasks, list_with_a_thousand_chains)
{
    int64_t chains[1000];
    struct tw_task_filter f = { chains, 1000, -1, NULL, NULL, NULL, 100, 0 };
    int i;

    seed_ten();
    for (i = 0; i < 1000; i++)
        chains[i] = 1000 + i; /* none of the seeded chains ... */
    list(&f, 0, 0, 0);
    chains[999] = 2; /* ... until the last, whose value also pads the bucket */
    list(&f, 5, 5, 10);
    chains[0] = 1;
    list(&f, 10, 10, 10);
    f.n_chains = 3; /* a different bucket, cached separately */
    list(&f, 5, 5, 9);
}

static struct tw_task updated(int64_t id)
{
    struct tw_task t;

    fx_task(&t, 1, "vouchers");
    t.id = id;
    t.desc = (char *)"new desc";
    t.trigger_json = (char *)"{\"once\":\"x\",\"repeat\":\"daily\"}";
    t.repeat = (char *)"daily";
    t.once_at = 5000;
    t.segment_id = 3;
    t.campaign_id = (char *)"c";
    t.last_modified = 4000;
    return t;
}

Test(store_tasks, update_replaces_fields_and_bumps_version)
{
    struct tw_task_log *logs = NULL;
    struct tw_err err = { 0 };
    int64_t id = fx_insert(fx.s, 1, "users");
    struct tw_task t = updated(id), got;
    size_t n = 0;

    cr_assert_eq(tw_store_task_update(fx.s, &t, 1, "trigger changed", &err), TW_OK, "%s", err.msg);
    cr_assert_eq(t.version, 2);
    cr_assert_eq(tw_store_task_get(fx.s, id, &got, &err), TW_OK);
    cr_assert_str_eq(got.desc, "new desc");
    cr_assert_str_eq(got.repeat, "daily");
    cr_assert_str_eq(got.export_index, "vouchers");
    cr_assert_str_eq(got.campaign_id, "c");
    cr_assert_eq(got.once_at, 5000);
    cr_assert_eq(got.segment_id, 3);
    cr_assert_eq(got.last_modified, 4000);
    cr_assert_eq(got.created_date, 1000, "created_date is not replaced");
    cr_assert_eq(got.version, 2);
    tw_task_fini(&got);
    cr_assert_eq(tw_store_log_list(fx.s, id, 10, 0, &logs, &n, &err), TW_OK);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(logs[0].msg, "trigger changed");
    cr_assert_eq(logs[0].time, 4000);
    tw_store_free_logs(logs, n);
    /* without a log message: no entry */
    cr_assert_eq(tw_store_task_update(fx.s, &t, 2, NULL, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(t.version, 3);
    cr_assert_eq(tw_store_log_list(fx.s, id, 10, 0, &logs, &n, &err), TW_OK);
    cr_assert_eq(n, 1);
    tw_store_free_logs(logs, n);
}

Test(store_tasks, update_not_found_and_conflicts)
{
    struct tw_err err = { 0 };
    int64_t id = fx_insert(fx.s, 1, "users");
    struct tw_task t = updated(424242);

    cr_assert_eq(tw_store_task_update(fx.s, &t, 1, NULL, &err), TW_ENOTFOUND);
    t.id = id;
    cr_assert_eq(tw_store_log_add(fx.s, id, 1100, "note", &err), TW_OK); /* version 2 */
    cr_assert_eq(tw_store_task_update(fx.s, &t, 1, "x", &err), TW_ECONFLICT);
    cr_assert_str_eq(err.msg, "version 1 does not match stored version 2");
    cr_assert_str_eq(err.field, "version");
    cr_assert_eq(fx_version(fx.s, id), 2, "nothing changed");
    cr_assert_eq(tw_store_run_start(fx.s, id, 1200, &err), TW_OK);
    cr_assert_eq(tw_store_task_update(fx.s, &t, 3, "x", &err), TW_ECONFLICT);
    cr_assert_str_eq(err.msg, "task is INPROGRESS");
    cr_assert_str_eq(err.field, "state");
    cr_assert_eq(fx_version(fx.s, id), 3, "nothing changed");
}

Test(store_tasks, delete_removes_logs_and_keys_and_ids_are_never_reused)
{
    struct tw_idem idem = { "token:a", "key", "sha", 100 };
    struct tw_task_log *logs = NULL;
    struct tw_err err = { 0 };
    char sha[65];
    struct tw_task t;
    int64_t task_id = 0;
    size_t n = 0;

    fx_task(&t, 1, "users");
    cr_assert_eq(tw_store_task_insert(fx.s, &t, &idem, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_log_add(fx.s, t.id, 1100, "note", &err), TW_OK);
    cr_assert_eq(tw_store_task_delete(fx.s, t.id, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_task_get(fx.s, t.id, &t, &err), TW_ENOTFOUND);
    cr_assert_eq(tw_store_log_list(fx.s, 1, 10, 0, &logs, &n, &err), TW_ENOTFOUND);
    cr_assert_eq(tw_store_idem_get(fx.s, "token:a", "key", 0, &task_id, sha, &err), TW_ENOTFOUND);
    cr_assert_eq(tw_store_task_delete(fx.s, 1, &err), TW_ENOTFOUND);
    cr_assert_str_eq(err.msg, "task 1 not found");
    /* the deleted task was the newest, and still its id is not handed out again */
    cr_assert_eq(fx_insert(fx.s, 1, "users"), 2);
    /* the key is free again once its task is gone */
    fx_task(&t, 1, "users");
    cr_assert_eq(tw_store_task_insert(fx.s, &t, &idem, &err), TW_OK, "%s", err.msg);
}

Test(store_tasks, insert_with_idempotency_key)
{
    struct tw_idem idem = { "user:7", "abc", "0123456789abcdef", 500 };
    struct tw_err err = { 0 };
    struct tw_task t;
    int64_t task_id = 0;
    char sha[65];

    fx_task(&t, 1, "users");
    cr_assert_eq(tw_store_task_insert(fx.s, &t, &idem, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_idem_get(fx.s, "user:7", "abc", 400, &task_id, sha, &err), TW_OK, "%s",
                 err.msg);
    cr_assert_eq(task_id, t.id);
    cr_assert_str_eq(sha, "0123456789abcdef");
    /* same caller and key again: refused, and the task is not inserted */
    fx_task(&t, 1, "users");
    cr_assert_eq(tw_store_task_insert(fx.s, &t, &idem, &err), TW_ECONFLICT);
    cr_assert_str_eq(err.msg, "idempotency key already used by this caller");
    cr_assert_eq(tw_store_task_get(fx.s, 2, &t, &err), TW_ENOTFOUND);
    /* another caller may use the same key */
    idem.caller = "user:8";
    fx_task(&t, 1, "users");
    cr_assert_eq(tw_store_task_insert(fx.s, &t, &idem, &err), TW_OK, "%s", err.msg);
}

struct scan_ctx {
    int64_t seen;    /* rows delivered */
    int64_t last_id; /* to check ascending order */
    int64_t stop_at; /* return 7 at this id; 0: never */
    int64_t chain_sum;
    struct tw_store *s; /* non-NULL: write from the callback */
};

static int on_task(void *p, const struct tw_task_brief *b)
{
    struct scan_ctx *c = p;
    struct tw_err err = { 0 };

    cr_assert_gt(b->id, c->last_id);
    cr_assert_not_null(b->repeat);
    c->last_id = b->id;
    c->seen++;
    c->chain_sum += b->chain;
    if (c->s != NULL)
        cr_assert_eq(tw_store_log_add(c->s, b->id, 5000, "recovered", &err), TW_OK, "%s", err.msg);
    if (b->id == c->stop_at)
        return 7;
    return 0;
}

/* 100k inserts take 45-60 s on PostgreSQL on a loaded 2-vCPU VM (one commit each, plus the
 * NOTIFY trigger of the cluster); the suite's 60 s would fail it for load, not for a defect. */
Test(store_tasks, bulk_insert_100k_and_scan, .timeout = 240)
{
    struct scan_ctx c = { 0 };
    struct tw_err err = { 0 };
    int64_t counts[4];
    struct tw_task t;
    int i;

    cr_assert_eq(tw_store_begin(fx.s, &err), TW_OK);
    for (i = 0; i < 100000; i++) {
        fx_task(&t, i % 3, "users");
        cr_assert_eq(tw_store_task_insert(fx.s, &t, NULL, &err), TW_OK, "%s", err.msg);
    }
    cr_assert_eq(tw_store_commit(fx.s, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_task_scan(fx.s, on_task, &c, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(c.seen, 100000);
    cr_assert_eq(c.last_id, 100000);
    cr_assert_eq(c.chain_sum, 33333 * 1 + 33333 * 2); /* chains 0, 1, 2 in turn */
    cr_assert_eq(tw_store_task_count_by_state(fx.s, counts, &err), TW_OK);
    cr_assert_eq(counts[TW_STATE_READY], 100000);

    memset(&c, 0, sizeof(c));
    c.stop_at = 600; /* inside the second batch */
    cr_assert_eq(tw_store_task_scan(fx.s, on_task, &c, &err), 7);
    cr_assert_eq(c.seen, 600);
}

Test(store_tasks, scan_callback_may_write)
{
    struct scan_ctx c = { 0 };
    struct tw_err err = { 0 };
    int i;

    for (i = 0; i < 1100; i++)
        fx_insert(fx.s, 1, "users");
    c.s = fx.s;
    cr_assert_eq(tw_store_task_scan(fx.s, on_task, &c, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(c.seen, 1100);
    cr_assert_eq(fx_version(fx.s, 1100), 2);
}

Test(store_tasks, scan_of_empty_store)
{
    struct scan_ctx c = { 0 };
    struct tw_err err = { 0 };

    cr_assert_eq(tw_store_task_scan(fx.s, on_task, &c, &err), TW_OK);
    cr_assert_eq(c.seen, 0);
}

Test(store_tasks, count_by_state)
{
    struct tw_run_outcome o = { .state = TW_STATE_ERROR, .time = 3100, .msg = "boom" };
    struct tw_err err = { 0 };
    int64_t counts[4] = { 9, 9, 9, 9 };

    cr_assert_eq(tw_store_task_count_by_state(fx.s, counts, &err), TW_OK);
    cr_assert_eq(counts[0] + counts[1] + counts[2] + counts[3], 0);
    seed_ten(); /* 9 READY, task 9 INPROGRESS */
    cr_assert_eq(tw_store_run_start(fx.s, 1, 3000, &err), TW_OK);
    cr_assert_eq(tw_store_run_finish(fx.s, 1, &o, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_task_count_by_state(fx.s, counts, &err), TW_OK);
    cr_assert_eq(counts[TW_STATE_READY], 8);
    cr_assert_eq(counts[TW_STATE_INPROGRESS], 1);
    cr_assert_eq(counts[TW_STATE_DONE], 0);
    cr_assert_eq(counts[TW_STATE_ERROR], 1);
}

static int count_rows(void *ctx, const struct tw_task_brief *b)
{
    (*(int *)ctx)++;
    return 0;
}

/* Fail the n-th allocation for n = 1, 2, ... until the call succeeds; each failure is clean. */
Test(store_tasks, out_of_memory_is_an_error_not_a_crash)
{
    int64_t chains[] = { 1, 2 };
    struct tw_task_filter f = { chains, 2, -1, NULL, NULL, NULL, 100, 0 };
    struct tw_task *tasks = NULL;
    struct tw_err err = { 0 };
    struct tw_task t;
    int64_t total = 0;
    unsigned long n;
    size_t got = 0;
    int rows, ret;

    seed_ten();
    for (n = 1;; n++) {
        tw_mem_fail_after(n);
        ret = tw_store_task_get(fx.s, 1, &t, &err);
        tw_mem_fail_after(0);
        if (ret == TW_OK)
            break;
        cr_assert_eq(ret, TW_ENOMEM, "%s", err.msg);
        cr_assert_null(t.desc);
    }
    tw_task_fini(&t);
    for (n = 1;; n++) {
        tw_mem_fail_after(n);
        ret = tw_store_task_list(fx.s, &f, &tasks, &got, &total, &err);
        tw_mem_fail_after(0);
        if (ret == TW_OK)
            break;
        cr_assert_eq(ret, TW_ENOMEM, "%s", err.msg);
        cr_assert_null(tasks);
    }
    cr_assert_eq(got, 10);
    tw_store_free_tasks(tasks, got);
    for (n = 1;; n++) {
        rows = 0;
        tw_mem_fail_after(n);
        ret = tw_store_task_scan(fx.s, count_rows, &rows, &err);
        tw_mem_fail_after(0);
        if (ret == TW_OK)
            break;
        cr_assert_eq(ret, TW_ENOMEM, "%s", err.msg);
    }
    cr_assert_eq(rows, 10);
}
