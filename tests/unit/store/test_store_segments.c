/*
 * store_segments.c: saved segment round trip, list by chains, update, and delete refused
 * while a task uses the segment (with the list of those tasks).
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

TestSuite(store_segments, .init = setup, .fini = teardown, .timeout = 30);

static int64_t add_segment(int64_t chain, const char *name)
{
    struct tw_segment g = { 0,   chain, (char *)name, (char *)"{\"join\":\"all\",\"rules\":[]}",
                            100, 100 };
    struct tw_err err = { 0 };

    cr_assert_eq(tw_store_segment_insert(fx.s, &g, &err), TW_OK, "%s", err.msg);
    return g.id;
}

Test(store_segments, round_trip_and_update)
{
    struct tw_segment got, upd = { 0 };
    struct tw_err err = { 0 };
    int64_t id = add_segment(1764, "big spenders");

    cr_assert_eq(id, 1);
    cr_assert_eq(tw_store_segment_get(fx.s, id, &got, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(got.chain, 1764);
    cr_assert_str_eq(got.name, "big spenders");
    cr_assert_str_eq(got.segment_json, "{\"join\":\"all\",\"rules\":[]}");
    cr_assert_eq(got.created, 100);
    tw_store_segment_fini(&got);

    upd.id = id;
    upd.chain = 9999; /* ignored: a segment stays in its chain */
    upd.name = (char *)"renamed";
    upd.segment_json = (char *)"{\"join\":\"any\",\"rules\":[]}";
    upd.last_modified = 200;
    cr_assert_eq(tw_store_segment_update(fx.s, &upd, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_segment_get(fx.s, id, &got, &err), TW_OK);
    cr_assert_eq(got.chain, 1764);
    cr_assert_str_eq(got.name, "renamed");
    cr_assert_str_eq(got.segment_json, "{\"join\":\"any\",\"rules\":[]}");
    cr_assert_eq(got.created, 100);
    cr_assert_eq(got.last_modified, 200);
    tw_store_segment_fini(&got);

    upd.id = 999;
    cr_assert_eq(tw_store_segment_update(fx.s, &upd, &err), TW_ENOTFOUND);
    cr_assert_eq(tw_store_segment_get(fx.s, 999, &got, &err), TW_ENOTFOUND);
    cr_assert_str_eq(err.msg, "segment 999 not found");
}

Test(store_segments, list_by_chains)
{
    int64_t a[] = { 1 }, ab[] = { 2, 1 }, none[] = { 5 };
    struct tw_segment *segs = NULL;
    struct tw_err err = { 0 };
    size_t n = 0;

    add_segment(1, "s1");
    add_segment(2, "s2");
    add_segment(1, "s3");
    cr_assert_eq(tw_store_segment_list(fx.s, a, 1, &segs, &n, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(segs[0].name, "s3", "newest first");
    cr_assert_str_eq(segs[1].name, "s1");
    tw_store_free_segments(segs, n);
    cr_assert_eq(tw_store_segment_list(fx.s, ab, 2, &segs, &n, &err), TW_OK);
    cr_assert_eq(n, 3);
    tw_store_free_segments(segs, n);
    cr_assert_eq(tw_store_segment_list(fx.s, none, 1, &segs, &n, &err), TW_OK);
    cr_assert_eq(n, 0);
    cr_assert_eq(tw_store_segment_list(fx.s, none, 0, &segs, &n, &err), TW_OK);
    cr_assert_eq(n, 0);
}

Test(store_segments, delete_refused_while_used)
{
    struct tw_err err = { 0 };
    struct tw_segment got;
    int64_t *users = NULL;
    size_t n_users = 0;
    struct tw_task t;
    int64_t seg = add_segment(1, "s");
    int64_t t1, t2;

    fx_task(&t, 1, "users");
    t.segment_id = seg;
    cr_assert_eq(tw_store_task_insert(fx.s, &t, NULL, &err), TW_OK);
    t1 = t.id;
    fx_insert(fx.s, 1, "users"); /* no segment */
    fx_task(&t, 1, "users");
    t.segment_id = seg;
    cr_assert_eq(tw_store_task_insert(fx.s, &t, NULL, &err), TW_OK);
    t2 = t.id;

    cr_assert_eq(tw_store_segment_delete(fx.s, seg, &users, &n_users, &err), TW_ECONFLICT);
    cr_assert_str_eq(err.msg, "segment 1 is used by 2 tasks");
    cr_assert_eq(n_users, 2);
    cr_assert_eq(users[0], t1);
    cr_assert_eq(users[1], t2);
    tw_free(users);
    cr_assert_eq(tw_store_segment_get(fx.s, seg, &got, &err), TW_OK, "still there");
    tw_store_segment_fini(&got);

    cr_assert_eq(tw_store_task_delete(fx.s, t1, &err), TW_OK);
    cr_assert_eq(tw_store_task_delete(fx.s, t2, &err), TW_OK);
    cr_assert_eq(tw_store_segment_delete(fx.s, seg, &users, &n_users, &err), TW_OK, "%s", err.msg);
    cr_assert_null(users);
    cr_assert_eq(n_users, 0);
    cr_assert_eq(tw_store_segment_get(fx.s, seg, &got, &err), TW_ENOTFOUND);
    cr_assert_eq(tw_store_segment_delete(fx.s, seg, &users, &n_users, &err), TW_ENOTFOUND);
    cr_assert_eq(add_segment(1, "again"), 2, "ids are not reused");
}

Test(store_segments, out_of_memory_in_list_and_delete)
{
    int64_t chains[] = { 1 };
    struct tw_segment *segs = NULL;
    struct tw_err err = { 0 };
    int64_t *users = NULL;
    size_t n = 0, n_users = 0;
    unsigned long k;
    struct tw_task t;
    int64_t seg;
    int ret;

    add_segment(1, "a");
    seg = add_segment(1, "b");
    fx_task(&t, 1, "users");
    t.segment_id = seg;
    cr_assert_eq(tw_store_task_insert(fx.s, &t, NULL, &err), TW_OK);
    for (k = 1;; k++) {
        tw_mem_fail_after(k);
        ret = tw_store_segment_list(fx.s, chains, 1, &segs, &n, &err);
        tw_mem_fail_after(0);
        if (ret == TW_OK)
            break;
        cr_assert_eq(ret, TW_ENOMEM, "%s", err.msg);
    }
    cr_assert_eq(n, 2);
    tw_store_free_segments(segs, n);
    for (k = 1;; k++) {
        tw_mem_fail_after(k);
        ret = tw_store_segment_delete(fx.s, seg, &users, &n_users, &err);
        tw_mem_fail_after(0);
        if (ret != TW_ENOMEM)
            break;
        cr_assert_null(users);
    }
    cr_assert_eq(ret, TW_ECONFLICT);
    cr_assert_eq(n_users, 1);
    tw_free(users);
}
