/*
 * store_webhooks.c: a task's webhook, secret rotation with its overlap, and the outbox — a
 * queued delivery survives closing and reopening the store (the stand-in for kill -9 here;
 * the API tests kill a real server), keeps its id across attempts, and leaves the outbox only
 * when closed.
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

TestSuite(store_webhooks, .init = setup, .fini = teardown, .timeout = 30);

static int64_t a_task(void)
{
    return fx_insert(fx.s, 1764, "users");
}

Test(store_webhooks, set_get_replace_remove_and_cascade)
{
    int64_t id = a_task();
    struct tw_err err = { 0 };
    unsigned events;
    char *url;

    cr_assert_eq(tw_store_webhook_get(fx.s, id, &url, &events, &err), TW_ENOTFOUND);
    cr_assert_eq(tw_store_webhook_set(fx.s, id, "https://h.example/x", 3, &err), TW_OK, "%s",
                 err.msg);
    cr_assert_eq(tw_store_webhook_get(fx.s, id, &url, &events, &err), TW_OK);
    cr_assert_str_eq(url, "https://h.example/x");
    cr_assert_eq(events, 3);
    tw_free(url);
    cr_assert_eq(tw_store_webhook_set(fx.s, id, "https://h.example/y", TW_WEBHOOK_ON_ERROR, &err),
                 TW_OK);
    cr_assert_eq(tw_store_webhook_get(fx.s, id, &url, &events, &err), TW_OK);
    cr_assert_str_eq(url, "https://h.example/y");
    cr_assert_eq(events, TW_WEBHOOK_ON_ERROR);
    tw_free(url);
    cr_assert_eq(tw_store_webhook_set(fx.s, id, "https://h.example/z", 0, &err), TW_EINVAL);
    cr_assert_eq(tw_store_webhook_set(fx.s, id, NULL, 0, &err), TW_OK);
    cr_assert_eq(tw_store_webhook_get(fx.s, id, &url, &events, &err), TW_ENOTFOUND);

    cr_assert_eq(tw_store_webhook_set(fx.s, id, "https://h.example/x", 1, &err), TW_OK);
    cr_assert_eq(tw_store_task_delete(fx.s, id, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_webhook_get(fx.s, id, &url, &events, &err), TW_ENOTFOUND,
                 "a deleted task's webhook goes with it");
}

Test(store_webhooks, rotation_keeps_the_old_secret_for_the_overlap)
{
    struct tw_err err = { 0 };
    char **v;
    size_t n;

    cr_assert_eq(tw_store_webhook_secrets(fx.s, 1764, 1000, &v, &n, &err), TW_OK);
    cr_assert_eq(n, 0);
    cr_assert_eq(tw_store_webhook_secret_add(fx.s, 1764, "whsec_a", 1000, 86400, &err), TW_OK);
    cr_assert_eq(tw_store_webhook_secret_add(fx.s, 1765, "whsec_other", 1000, 86400, &err), TW_OK);
    cr_assert_eq(tw_store_webhook_secret_add(fx.s, 1764, "whsec_b", 2000, 86400, &err), TW_OK);

    cr_assert_eq(tw_store_webhook_secrets(fx.s, 1764, 2000, &v, &n, &err), TW_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(v[0], "whsec_b", "newest first");
    cr_assert_str_eq(v[1], "whsec_a");
    tw_store_free_strings(v, n);

    cr_assert_eq(tw_store_webhook_secrets(fx.s, 1764, 2000 + 86400, &v, &n, &err), TW_OK);
    cr_assert_eq(n, 1, "the old secret ends with the overlap");
    cr_assert_str_eq(v[0], "whsec_b");
    tw_store_free_strings(v, n);

    /* A second rotation inside the overlap does not extend the first secret's life. */
    cr_assert_eq(tw_store_webhook_secret_add(fx.s, 1764, "whsec_c", 3000, 86400, &err), TW_OK);
    cr_assert_eq(tw_store_webhook_secrets(fx.s, 1764, 2000 + 86400, &v, &n, &err), TW_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(v[0], "whsec_c");
    cr_assert_str_eq(v[1], "whsec_b");
    tw_store_free_strings(v, n);
}

Test(store_webhooks, outbox_survives_reopen_keeps_its_id_and_closes)
{
    struct tw_delivery d = { 0 }, *due;
    struct tw_delivery_attempt a = { 0 }, *list;
    struct tw_err err = { 0 };
    int64_t next;
    size_t n;

    snprintf(d.uuid, sizeof(d.uuid), "8c0f6a36-5a4f-4d0e-9a3e-1b2c3d4e5f60");
    d.task_id = 7;
    d.chain = 1764;
    d.event = (char *)"task.done";
    d.url = (char *)"https://h.example/x";
    d.body = (char *)"{\"event\":\"task.done\"}";
    d.next_at = 500;
    cr_assert_eq(tw_store_outbox_add(fx.s, &d, &err), TW_OK, "%s", err.msg);
    cr_assert_gt(d.id, 0);

    fx_reopen(&fx);
    cr_assert_eq(tw_store_outbox_next(fx.s, &next, &err), TW_OK);
    cr_assert_eq(next, 500);
    cr_assert_eq(tw_store_outbox_due(fx.s, 499, 10, &due, &n, &err), TW_OK);
    cr_assert_eq(n, 0, "not due yet");
    cr_assert_eq(tw_store_outbox_due(fx.s, 500, 10, &due, &n, &err), TW_OK);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(due[0].uuid, d.uuid);
    cr_assert_str_eq(due[0].body, "{\"event\":\"task.done\"}");
    cr_assert_eq(due[0].attempts, 0);

    /* Attempt 1 fails with a 500: rescheduled, same row, same uuid. */
    snprintf(a.uuid, sizeof(a.uuid), "%s", d.uuid);
    a.event = (char *)"task.done";
    a.attempt = 1;
    a.time = 500;
    a.status = 500;
    a.error = (char *)"";
    a.duration_ms = 12;
    cr_assert_eq(tw_store_outbox_record(fx.s, due[0].id, 7, &a, 501, &err), TW_OK, "%s", err.msg);
    tw_store_free_deliveries(due, n);
    cr_assert_eq(tw_store_outbox_due(fx.s, 501, 10, &due, &n, &err), TW_OK);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(due[0].uuid, d.uuid);
    cr_assert_eq(due[0].attempts, 1);

    /* Attempt 2 is delivered: the outbox is empty, both attempts are listed, newest first. */
    a.attempt = 2;
    a.time = 501;
    a.status = 204;
    cr_assert_eq(tw_store_outbox_record(fx.s, due[0].id, 7, &a, 0, &err), TW_OK);
    tw_store_free_deliveries(due, n);
    cr_assert_eq(tw_store_outbox_next(fx.s, &next, &err), TW_OK);
    cr_assert_eq(next, 0);
    cr_assert_eq(tw_store_delivery_list(fx.s, 7, 50, &list, &n, &err), TW_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(list[0].attempt, 2);
    cr_assert_eq(list[0].status, 204);
    cr_assert_eq(list[1].status, 500);
    cr_assert_str_eq(list[1].uuid, d.uuid);
    tw_store_free_attempts(list, n);
}

Test(store_webhooks, a_delivery_id_is_unique)
{
    struct tw_delivery d = { 0 };
    struct tw_err err = { 0 };

    snprintf(d.uuid, sizeof(d.uuid), "8c0f6a36-5a4f-4d0e-9a3e-1b2c3d4e5f60");
    d.event = (char *)"task.error";
    d.url = (char *)"https://h.example/x";
    d.body = (char *)"{}";
    cr_assert_eq(tw_store_outbox_add(fx.s, &d, &err), TW_OK);
    cr_assert_eq(tw_store_outbox_add(fx.s, &d, &err), TW_ECONFLICT);
}
