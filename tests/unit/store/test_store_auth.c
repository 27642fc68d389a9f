/*
 * store_auth.c: token, user, session and idempotency-key round trips, with their not-found,
 * conflict and expiry paths.
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

TestSuite(store_auth, .init = setup, .fini = teardown, .timeout = 30);

static void make_token(struct tw_token *t, const char *id, int64_t *chains, size_t n,
                       unsigned char fill)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->id, sizeof(t->id), "%s", id);
    t->desc = (char *)"ci exporter";
    t->level = TW_LEVEL_WRITE;
    t->chains = chains;
    t->n_chains = n;
    memset(t->secret_mac, fill, sizeof(t->secret_mac));
    t->created = 100;
}

#define UUID_A "0b6f3b44-6b0e-4d3e-9a1f-2f1f6b3c0a11"
#define UUID_B "9d1c1c7e-2a55-4f0b-8f8e-1c2d3e4f5a6b"

Test(store_auth, token_round_trip_list_revoke)
{
    int64_t chains_a[] = { 1765, 1764, 1765 };
    int64_t chains_b[] = { 3 };
    struct tw_token t, got, *all = NULL;
    struct tw_err err = { 0 };
    size_t n = 0;

    make_token(&t, UUID_A, chains_a, 3, 0xab);
    cr_assert_eq(tw_store_token_insert(fx.s, &t, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_token_insert(fx.s, &t, &err), TW_ECONFLICT, "same id twice");
    make_token(&t, UUID_B, chains_b, 1, 0xcd);
    t.created = 200;
    t.level = TW_LEVEL_READ;
    t.desc = NULL;
    cr_assert_eq(tw_store_token_insert(fx.s, &t, &err), TW_OK, "%s", err.msg);

    cr_assert_eq(tw_store_token_get(fx.s, UUID_A, &got, &err), TW_OK, "%s", err.msg);
    cr_assert_str_eq(got.id, UUID_A);
    cr_assert_str_eq(got.desc, "ci exporter");
    cr_assert_eq(got.level, TW_LEVEL_WRITE);
    cr_assert_eq(got.n_chains, 2, "a repeated chain is one grant");
    cr_assert_eq(got.chains[0], 1764);
    cr_assert_eq(got.chains[1], 1765);
    cr_assert_eq(got.secret_mac[0], 0xab);
    cr_assert_eq(got.secret_mac[31], 0xab);
    cr_assert_eq(got.created, 100);
    cr_assert_not(got.revoked);
    tw_token_fini(&got);

    cr_assert_eq(tw_store_token_get(fx.s, "nope", &got, &err), TW_ENOTFOUND);
    cr_assert_eq(tw_store_token_list(fx.s, &all, &n, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(all[0].id, UUID_A);
    cr_assert_str_eq(all[1].id, UUID_B);
    cr_assert_str_eq(all[1].desc, "");
    cr_assert_eq(all[1].level, TW_LEVEL_READ);
    cr_assert_eq(all[1].n_chains, 1);
    cr_assert_eq(all[1].secret_mac[5], 0xcd);
    tw_store_free_tokens(all, n);

    cr_assert_eq(tw_store_token_revoke(fx.s, UUID_B, &err), TW_OK);
    cr_assert_eq(tw_store_token_get(fx.s, UUID_B, &got, &err), TW_OK);
    cr_assert(got.revoked);
    tw_token_fini(&got);
    cr_assert_eq(tw_store_token_revoke(fx.s, "nope", &err), TW_ENOTFOUND);
}

Test(store_auth, token_list_empty)
{
    struct tw_token *all = (struct tw_token *)1;
    struct tw_err err = { 0 };
    size_t n = 9;

    cr_assert_eq(tw_store_token_list(fx.s, &all, &n, &err), TW_OK);
    cr_assert_eq(n, 0);
    cr_assert_null(all);
}

Test(store_auth, user_put_get_replace)
{
    struct tw_chain_access acc[] = { { 1764, TW_LEVEL_WRITE }, { 1765, TW_LEVEL_READ } };
    struct tw_chain_access acc2[] = { { 9, TW_LEVEL_READ }, { 9, TW_LEVEL_WRITE } };
    struct tw_user u = { 0, (char *)"alice", (char *)"$y$j9T$salt$hash", acc, 2 };
    struct tw_err err = { 0 };
    struct tw_user got;
    int64_t first;

    cr_assert_eq(tw_store_user_put(fx.s, &u, &err), TW_OK, "%s", err.msg);
    cr_assert_gt(u.id, 0);
    first = u.id;
    cr_assert_eq(tw_store_user_get_by_name(fx.s, "alice", &got, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(got.id, first);
    cr_assert_str_eq(got.name, "alice");
    cr_assert_str_eq(got.pw_hash, "$y$j9T$salt$hash");
    cr_assert_eq(got.n_access, 2);
    cr_assert_eq(got.access[0].chain, 1764);
    cr_assert_eq(got.access[0].level, TW_LEVEL_WRITE);
    cr_assert_eq(got.access[1].level, TW_LEVEL_READ);
    tw_user_fini(&got);

    /* same name: new password and access replace the old, the id stays */
    u.id = 0;
    u.pw_hash = (char *)"$y$new";
    u.access = acc2;
    cr_assert_eq(tw_store_user_put(fx.s, &u, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(u.id, first);
    cr_assert_eq(tw_store_user_get(fx.s, first, &got, &err), TW_OK, "%s", err.msg);
    cr_assert_str_eq(got.pw_hash, "$y$new");
    cr_assert_eq(got.n_access, 1);
    cr_assert_eq(got.access[0].chain, 9);
    cr_assert_eq(got.access[0].level, TW_LEVEL_WRITE, "the last level given wins");
    tw_user_fini(&got);

    cr_assert_eq(tw_store_user_get_by_name(fx.s, "bob", &got, &err), TW_ENOTFOUND);
    cr_assert_str_eq(err.msg, "no user bob");
    cr_assert_eq(tw_store_user_get(fx.s, 999, &got, &err), TW_ENOTFOUND);
    cr_assert_null(got.name);
}

Test(store_auth, sessions)
{
    struct tw_user u = { 0, (char *)"alice", (char *)"$y$h", NULL, 0 };
    unsigned char mac[32], other[32];
    struct tw_err err = { 0 };

    memset(mac, 1, sizeof(mac));
    memset(other, 2, sizeof(other));
    cr_assert_eq(tw_store_user_put(fx.s, &u, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_session_insert(fx.s, u.id, mac, 1000, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_session_check(fx.s, u.id, mac, 999, &err), TW_OK);
    cr_assert_eq(tw_store_session_check(fx.s, u.id, other, 999, &err), TW_ENOTFOUND);
    cr_assert_eq(tw_store_session_check(fx.s, u.id + 1, mac, 999, &err), TW_ENOTFOUND);
    /* expired at 1000 exactly; the miss prunes it, so it stays gone */
    cr_assert_eq(tw_store_session_check(fx.s, u.id, mac, 1000, &err), TW_ENOTFOUND);
    cr_assert_str_eq(err.msg, "no valid session");
    cr_assert_eq(tw_store_session_check(fx.s, u.id, mac, 10, &err), TW_ENOTFOUND);
    cr_assert_eq(tw_store_session_insert(fx.s, 777, mac, 1000, &err), TW_ENOTFOUND);
    cr_assert_str_eq(err.msg, "no user 777");
}

Test(store_auth, idempotency_window)
{
    struct tw_idem idem = { "token:" UUID_A, "key-1", "feed", 1000 };
    struct tw_err err = { 0 };
    int64_t task_id = 0;
    char sha[65];
    struct tw_task t;

    fx_task(&t, 1, "users");
    cr_assert_eq(tw_store_task_insert(fx.s, &t, &idem, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_idem_get(fx.s, idem.caller, "key-1", 1000, &task_id, sha, &err), TW_OK,
                 "%s", err.msg);
    cr_assert_eq(task_id, t.id);
    cr_assert_str_eq(sha, "feed");
    cr_assert_eq(tw_store_idem_get(fx.s, "user:1", "key-1", 0, &task_id, sha, &err), TW_ENOTFOUND,
                 "keys are per caller");
    cr_assert_eq(tw_store_idem_get(fx.s, idem.caller, "key-2", 0, &task_id, sha, &err),
                 TW_ENOTFOUND);
    /* older than the window: ignored, pruned, and the key can be used again */
    cr_assert_eq(tw_store_idem_get(fx.s, idem.caller, "key-1", 1001, &task_id, sha, &err),
                 TW_ENOTFOUND);
    cr_assert_eq(tw_store_idem_get(fx.s, idem.caller, "key-1", 0, &task_id, sha, &err),
                 TW_ENOTFOUND, "pruned");
    idem.created = 2000;
    idem.body_sha256 = "beef";
    fx_task(&t, 1, "users");
    cr_assert_eq(tw_store_task_insert(fx.s, &t, &idem, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_idem_get(fx.s, idem.caller, "key-1", 1500, &task_id, sha, &err), TW_OK);
    cr_assert_eq(task_id, t.id);
    cr_assert_str_eq(sha, "beef");
}

Test(store_auth, out_of_memory_in_reads)
{
    int64_t chains[] = { 1, 2, 3 };
    struct tw_chain_access acc[] = { { 1, TW_LEVEL_READ }, { 2, TW_LEVEL_WRITE } };
    struct tw_user u = { 0, (char *)"alice", (char *)"$y$h", acc, 2 }, got;
    struct tw_token t, *all = NULL;
    struct tw_err err = { 0 };
    unsigned long k;
    size_t n = 0;
    int ret;

    make_token(&t, UUID_A, chains, 3, 1);
    cr_assert_eq(tw_store_token_insert(fx.s, &t, &err), TW_OK);
    make_token(&t, UUID_B, chains, 2, 2);
    cr_assert_eq(tw_store_token_insert(fx.s, &t, &err), TW_OK);
    cr_assert_eq(tw_store_user_put(fx.s, &u, &err), TW_OK);
    for (k = 1;; k++) {
        tw_mem_fail_after(k);
        ret = tw_store_token_list(fx.s, &all, &n, &err);
        tw_mem_fail_after(0);
        if (ret == TW_OK)
            break;
        cr_assert_eq(ret, TW_ENOMEM, "%s", err.msg);
        cr_assert_null(all);
    }
    cr_assert_eq(n, 2);
    tw_store_free_tokens(all, n);
    for (k = 1;; k++) {
        tw_mem_fail_after(k);
        ret = tw_store_user_get_by_name(fx.s, "alice", &got, &err);
        tw_mem_fail_after(0);
        if (ret == TW_OK)
            break;
        cr_assert_eq(ret, TW_ENOMEM, "%s", err.msg);
        cr_assert_null(got.name);
    }
    cr_assert_eq(got.n_access, 2);
    tw_user_fini(&got);
}
