/*
 * The store's cluster operations (docs/cluster.md), on both drivers: node heartbeats (upsert,
 * stale rows left out, removal), the key fingerprint (recorded once, a different one refused
 * and the stored one kept), the ids changed since a time (the safety re-read), and the change
 * listener (PostgreSQL: a committed insert, update and delete arrive as ids on the listener's
 * socket; SQLite: "not supported").
 */
#include <poll.h>

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

TestSuite(store_cluster, .init = setup, .fini = teardown, .timeout = 30);

static void node(struct tw_node *n, const char *id, int64_t beat, int64_t in_flight)
{
    memset(n, 0, sizeof(*n));
    snprintf(n->id, sizeof(n->id), "%s", id);
    n->started = 100;
    n->heartbeat = beat;
    n->in_flight = in_flight;
    snprintf(n->version, sizeof(n->version), "9.9.9");
}

Test(store_cluster, heartbeats_upsert_list_recent_rows_and_remove)
{
    struct tw_node n, *list = NULL;
    struct tw_err err;
    size_t count = 0;

    node(&n, "b:2", 1000, 1);
    cr_assert_eq(tw_store_node_beat(fx.s, &n, &err), TW_OK, "%s", err.msg);
    node(&n, "a:1", 900, 0);
    cr_assert_eq(tw_store_node_beat(fx.s, &n, &err), TW_OK, "%s", err.msg);
    node(&n, "b:2", 1010, 3); /* the same node beats again */
    cr_assert_eq(tw_store_node_beat(fx.s, &n, &err), TW_OK, "%s", err.msg);

    cr_assert_eq(tw_store_node_list(fx.s, 0, &list, &count, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(count, 2);
    cr_assert_str_eq(list[0].id, "a:1");
    cr_assert_str_eq(list[1].id, "b:2");
    cr_assert_eq(list[1].heartbeat, 1010);
    cr_assert_eq(list[1].in_flight, 3);
    cr_assert_eq(list[1].started, 100);
    cr_assert_str_eq(list[1].version, "9.9.9");
    tw_free(list);

    /* a stale row is left out, not deleted */
    cr_assert_eq(tw_store_node_list(fx.s, 1000, &list, &count, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(count, 1);
    cr_assert_str_eq(list[0].id, "b:2");
    tw_free(list);
    cr_assert_eq(tw_store_node_list(fx.s, 0, &list, &count, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(count, 2);
    tw_free(list);

    cr_assert_eq(tw_store_node_remove(fx.s, "b:2", &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_node_remove(fx.s, "nobody", &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_node_list(fx.s, 0, &list, &count, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(count, 1);
    cr_assert_str_eq(list[0].id, "a:1");
    tw_free(list);
    cr_assert_eq(tw_store_node_list(fx.s, 5000, &list, &count, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(count, 0);
    cr_assert_null(list);
}

Test(store_cluster, the_key_fingerprint_is_recorded_once_and_a_different_one_refused)
{
    static const char first[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    static const char other[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    struct tw_err err;

    cr_assert_eq(tw_store_key_check(fx.s, first, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_key_check(fx.s, first, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_key_check(fx.s, other, &err), TW_ECONFLICT);
    cr_assert(strstr(err.msg, "another server key") != NULL, "%s", err.msg);
    fx_reopen(&fx);
    cr_assert_eq(tw_store_key_check(fx.s, other, &err), TW_ECONFLICT);
    cr_assert_eq(tw_store_key_check(fx.s, first, &err), TW_OK, "%s", err.msg);
}

Test(store_cluster, tasks_changed_since_a_time)
{
    struct tw_task t;
    int64_t a, b, *ids = NULL;
    struct tw_err err;
    size_t n = 0;

    a = fx_insert(fx.s, 1764, "users"); /* last_modified 1000 */
    b = fx_insert(fx.s, 1764, "users");
    memset(&t, 0, sizeof(t));
    cr_assert_eq(tw_store_task_get(fx.s, b, &t, &err), TW_OK, "%s", err.msg);
    t.last_modified = 2000;
    cr_assert_eq(tw_store_task_update(fx.s, &t, t.version, NULL, &err), TW_OK, "%s", err.msg);
    tw_task_fini(&t);

    cr_assert_eq(tw_store_tasks_changed(fx.s, INT64_MIN, &ids, &n, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(n, 2);
    cr_assert_eq(ids[0], a);
    cr_assert_eq(ids[1], b);
    tw_free(ids);
    cr_assert_eq(tw_store_tasks_changed(fx.s, 1500, &ids, &n, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(n, 1);
    cr_assert_eq(ids[0], b);
    tw_free(ids);
    cr_assert_eq(tw_store_tasks_changed(fx.s, 3000, &ids, &n, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(n, 0);
    cr_assert_null(ids);
}

/* Wait (up to 5 s) for the listener's socket, then drain; the ids so far. */
static void drain(struct tw_store_watch *w, int64_t **ids, size_t *n)
{
    struct pollfd p = { .fd = tw_store_watch_fd(w), .events = POLLIN };
    struct tw_err err;
    size_t before = *n;
    int i;

    for (i = 0; i < 50 && *n == before; i++) {
        cr_assert_geq(poll(&p, 1, 100), 0);
        cr_assert_eq(tw_store_watch_drain(w, ids, n, &err), TW_OK, "%s", err.msg);
    }
}

/* Whatever else arrives within 300 ms (a notification that should not have been sent). */
static void settle(struct tw_store_watch *w, int64_t **ids, size_t *n)
{
    struct pollfd p = { .fd = tw_store_watch_fd(w), .events = POLLIN };
    struct tw_err err;

    cr_assert_geq(poll(&p, 1, 300), 0);
    cr_assert_eq(tw_store_watch_drain(w, ids, n, &err), TW_OK, "%s", err.msg);
}

Test(store_cluster, the_listener_hears_committed_changes_or_is_not_supported)
{
    struct tw_store_watch *w = NULL;
    int64_t id, *ids = NULL;
    struct tw_task t;
    struct tw_err err;
    size_t n = 0;

    if (!fx_pg()) {
        cr_assert_eq(tw_store_watch_open(fx.s, &w, &err), TW_EINVAL);
        cr_assert_null(w);
        cr_assert(strstr(err.msg, "not supported") != NULL, "%s", err.msg);
        return;
    }
    cr_assert_eq(tw_store_watch_open(fx.s, &w, &err), TW_OK, "%s", err.msg);
    cr_assert_geq(tw_store_watch_fd(w), 0);

    id = fx_insert(fx.s, 1764, "users");
    drain(w, &ids, &n);
    cr_assert_eq(n, 1);
    cr_assert_eq(ids[0], id);

    /* a run's start and end notify (state); its progress writes do not */
    cr_assert_eq(tw_store_run_start(fx.s, id, 1001, &err), TW_OK, "%s", err.msg);
    drain(w, &ids, &n);
    cr_assert_eq(n, 2);
    cr_assert_eq(ids[1], id);
    cr_assert_eq(tw_store_run_progress(fx.s, id, 1002, 5, 0, 0, 5, 0, &err), TW_OK, "%s", err.msg);
    {
        struct tw_run_outcome o;

        memset(&o, 0, sizeof(o));
        o.state = TW_STATE_ERROR;
        o.time = 1003;
        o.msg = "failed";
        cr_assert_eq(tw_store_run_finish(fx.s, id, &o, &err), TW_OK, "%s", err.msg);
    }
    drain(w, &ids, &n);
    settle(w, &ids, &n);
    cr_assert_eq(n, 3, "a progress write notified, or the end did not");
    cr_assert_eq(ids[2], id);
    (void)t;

    /* a change rolled back is never heard; a delete is */
    cr_assert_eq(tw_store_begin(fx.s, &err), TW_OK, "%s", err.msg);
    fx_insert(fx.s, 1764, "users");
    tw_store_rollback(fx.s);
    cr_assert_eq(tw_store_task_delete(fx.s, id, &err), TW_OK, "%s", err.msg);
    drain(w, &ids, &n);
    settle(w, &ids, &n);
    cr_assert_eq(n, 4, "the rolled-back insert was heard, or the delete was not");
    cr_assert_eq(ids[3], id);
    tw_free(ids);
    tw_store_watch_close(w);
}
