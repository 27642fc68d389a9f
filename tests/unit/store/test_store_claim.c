/*
 * store_claim.c / store_pg_claim.c: the conditional claim of a run (once per occurrence, never
 * while INPROGRESS, max_runs_per_chain across the store), lease renewal, the list of lapsed
 * leases, their rescue, and the attempt check (fence) on progress and finish. Runs against
 * both drivers (TW_TEST_STORE=postgresql: unit_store_test_store_claim_pg).
 */
#include <string.h>

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

TestSuite(store_claim, .init = setup, .fini = teardown, .timeout = 60);

static struct tw_task get(int64_t id)
{
    struct tw_err err = { 0 };
    struct tw_task t;

    cr_assert_eq(tw_store_task_get(fx.s, id, &t, &err), TW_OK, "%s", err.msg);
    return t;
}

static int64_t once_of(int64_t id)
{
    struct tw_task t = get(id);
    int64_t once = t.once_at;

    tw_task_fini(&t);
    return once;
}

static int claim(int64_t id, const char *node, int64_t once, int64_t lease_ms, uint32_t cap,
                 int64_t *attempt, struct tw_err *err)
{
    struct tw_run_claim c;

    memset(&c, 0, sizeof(c));
    c.node = node;
    c.chain = 1;
    c.once_at = once;
    c.now = 3000;
    c.lease_until = lease_ms;
    c.max_in_chain = cap;
    return tw_store_run_claim(fx.s, id, &c, attempt, err);
}

/* How many log entries of task id read exactly msg. */
static size_t count_logs(int64_t id, const char *msg)
{
    struct tw_err err = { 0 };
    struct tw_task_log *logs = NULL;
    size_t n = 0, i, hits = 0;

    cr_assert_eq(tw_store_log_list(fx.s, id, 100, 0, &logs, &n, &err), TW_OK, "%s", err.msg);
    for (i = 0; i < n; i++)
        hits += strcmp(logs[i].msg, msg) == 0;
    tw_store_free_logs(logs, n);
    return hits;
}

static struct tw_run_outcome done_outcome(int64_t attempt)
{
    struct tw_run_outcome o;

    memset(&o, 0, sizeof(o));
    o.state = TW_STATE_DONE;
    o.time = 3100;
    o.msg = "success";
    o.has_counts = true;
    o.attempt = attempt;
    return o;
}

Test(store_claim, one_claim_per_occurrence)
{
    struct tw_err err = { 0 };
    int64_t id = fx_insert(fx.s, 1, "users");
    int64_t once = once_of(id), a = 0, b = 0;
    struct tw_task t;

    cr_assert_eq(claim(id, "node-a", once, 90000, 0, &a, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(a, 1);
    cr_assert_eq(claim(id, "node-b", once, 90000, 0, &b, &err), TW_ECONFLICT);
    cr_assert_str_eq(err.field, "state");
    t = get(id);
    cr_assert_eq(t.state, TW_STATE_INPROGRESS);
    cr_assert_eq(t.last_run_date, 3000);
    tw_task_fini(&t);
    cr_assert_eq(count_logs(id, "READY -> INPROGRESS"), 1);
}

Test(store_claim, a_moved_occurrence_is_not_claimed)
{
    struct tw_err err = { 0 };
    int64_t id = fx_insert(fx.s, 1, "users");
    int64_t once = once_of(id), a = 0;
    struct tw_task t;

    cr_assert_eq(claim(id, "node-a", once + 60, 90000, 0, &a, &err), TW_ECONFLICT);
    cr_assert_str_eq(err.field, "once");
    t = get(id);
    cr_assert_eq(t.state, TW_STATE_READY);
    cr_assert_eq(t.version, 1, "a lost claim changes nothing");
    tw_task_fini(&t);
    cr_assert_eq(count_logs(id, "READY -> INPROGRESS"), 0);
    /* 0: a forced run (execute, rescue) claims whatever the trigger or state says */
    cr_assert_eq(claim(id, "node-a", 0, 90000, 0, &a, &err), TW_OK, "%s", err.msg);
}

Test(store_claim, max_runs_per_chain_across_the_store)
{
    struct tw_err err = { 0 };
    int64_t x = fx_insert(fx.s, 1, "users");
    int64_t y = fx_insert(fx.s, 1, "users");
    int64_t a = 0, b = 0;
    struct tw_run_outcome o = done_outcome(0);

    cr_assert_eq(claim(x, "node-a", 0, 90000, 1, &a, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(claim(y, "node-b", 0, 90000, 1, &b, &err), TW_ELIMIT);
    cr_assert_eq(count_logs(y, "READY -> INPROGRESS"), 0, "a refused claim writes nothing");
    o.attempt = a;
    cr_assert_eq(tw_store_run_finish(fx.s, x, &o, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(claim(y, "node-b", 0, 90000, 1, &b, &err), TW_OK, "%s", err.msg);
}

Test(store_claim, renewal_keeps_a_lease_and_only_the_owner_renews)
{
    struct tw_err err = { 0 };
    int64_t id = fx_insert(fx.s, 1, "users");
    struct tw_stale_run *stale = NULL;
    int64_t ids[1] = { id }, a = 0;
    bool renewed[1];
    size_t n = 0;

    cr_assert_eq(claim(id, "node-a", 0, 1000, 0, &a, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_run_renew(fx.s, "node-b", ids, 1, 5000, renewed, &err), TW_OK);
    cr_assert(!renewed[0], "another node's run is not renewed");
    cr_assert_eq(tw_store_runs_stale(fx.s, 2000, 10, &stale, &n, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(n, 1);
    cr_assert_eq(stale[0].id, id);
    cr_assert_eq(stale[0].attempt, 1);
    cr_assert_str_eq(stale[0].node, "node-a");
    tw_free(stale);
    cr_assert_eq(tw_store_run_renew(fx.s, "node-a", ids, 1, 5000, renewed, &err), TW_OK);
    cr_assert(renewed[0]);
    cr_assert_eq(tw_store_runs_stale(fx.s, 2000, 10, &stale, &n, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(n, 0);
    tw_free(stale);
    cr_assert_eq(tw_store_run_rescue(fx.s, id, 1, 2000, "x", &err), TW_ECONFLICT,
                 "a live lease is not rescued");
}

Test(store_claim, rescue_then_the_stale_writes_are_fenced)
{
    struct tw_err err = { 0 };
    int64_t id = fx_insert(fx.s, 1, "users");
    struct tw_run_outcome o;
    int64_t a = 0, b = 0;
    bool renewed[1];
    struct tw_task t;

    cr_assert_eq(claim(id, "node-a", 0, 1000, 0, &a, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(
        tw_store_run_rescue(fx.s, id, a, 2000, "interrupted: lease of node node-a expired", &err),
        TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_run_rescue(fx.s, id, a, 2000, "again", &err), TW_ECONFLICT,
                 "a second rescuer finds nothing to do");
    t = get(id);
    cr_assert_eq(t.state, TW_STATE_READY);
    tw_task_fini(&t);
    cr_assert_eq(count_logs(id, "INPROGRESS -> READY"), 1);
    cr_assert_eq(count_logs(id, "interrupted: lease of node node-a expired"), 1);
    /* node-a wakes: its writes are refused, READY or claimed again */
    o = done_outcome(a);
    cr_assert_eq(tw_store_run_finish(fx.s, id, &o, &err), TW_ECONFLICT);
    cr_assert_str_eq(err.field, "attempt");
    cr_assert_eq(claim(id, "node-b", 0, 90000, 0, &b, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(b, 2);
    cr_assert_eq(tw_store_run_renew(fx.s, "node-a", &id, 1, 99000, renewed, &err), TW_OK);
    cr_assert(!renewed[0]);
    cr_assert_eq(tw_store_run_progress(fx.s, id, 3050, 5, 0, 0, 5, a, &err), TW_ECONFLICT);
    cr_assert_str_eq(err.field, "attempt");
    cr_assert_eq(tw_store_run_finish(fx.s, id, &o, &err), TW_ECONFLICT);
    o.result = "result.csv";
    o.result_path = "/nonexistent/result.csv";
    o.attempt = b;
    cr_assert_eq(tw_store_run_progress(fx.s, id, 3050, 5, 0, 0, 5, b, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_run_finish(fx.s, id, &o, &err), TW_OK, "%s", err.msg);
    t = get(id);
    cr_assert_eq(t.state, TW_STATE_DONE);
    cr_assert_str_eq(t.result, "result.csv");
    tw_task_fini(&t);
    cr_assert_eq(count_logs(id, "READY -> INPROGRESS"), 2);
    cr_assert_eq(count_logs(id, "INPROGRESS -> DONE"), 1, "the run is recorded once");
}

Test(store_claim, a_one_off_task_run_elsewhere_is_not_claimed_again)
{
    struct tw_err err = { 0 };
    int64_t id = fx_insert(fx.s, 1, "users");
    int64_t once = once_of(id), a = 0, b = 0;
    struct tw_run_outcome o;

    cr_assert_eq(claim(id, "node-a", once, 90000, 0, &a, &err), TW_OK, "%s", err.msg);
    o = done_outcome(a);
    cr_assert_eq(tw_store_run_finish(fx.s, id, &o, &err), TW_OK, "%s", err.msg);
    /* node-b's wheel fired for the same occurrence after node-a's run ended */
    cr_assert_eq(claim(id, "node-b", once, 90000, 0, &b, &err), TW_ECONFLICT);
    cr_assert_str_eq(err.field, "once");
    cr_assert_eq(count_logs(id, "DONE -> INPROGRESS"), 0);
}
