/*
 * store_types.c: state and level names both ways, and NULL-safe _fini / free functions.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "core/mem.h"
#include "store/store.h"

/* name is an array, not a pointer: Criterion copies parameters into a re-executed child */
struct name_case {
    int value;
    char name[16];
};

static struct name_case states[] = {
    { TW_STATE_READY, "READY" },
    { TW_STATE_INPROGRESS, "INPROGRESS" },
    { TW_STATE_DONE, "DONE" },
    { TW_STATE_ERROR, "ERROR" },
};

ParameterizedTestParameters(store_types, state_names)
{
    return cr_make_param_array(struct name_case, states, sizeof(states) / sizeof(states[0]));
}

ParameterizedTest(struct name_case *c, store_types, state_names)
{
    cr_assert_str_eq(tw_task_state_name(c->value), c->name);
    cr_assert_eq(tw_task_state_parse(c->name), c->value);
}

Test(store_types, unknown_states)
{
    cr_assert_str_eq(tw_task_state_name(-1), "?");
    cr_assert_str_eq(tw_task_state_name(4), "?");
    cr_assert_eq(tw_task_state_parse("done"), -1, "codes are upper case");
    cr_assert_eq(tw_task_state_parse(""), -1);
    cr_assert_eq(tw_task_state_parse(NULL), -1);
}

Test(store_types, levels)
{
    cr_assert_str_eq(tw_level_name(TW_LEVEL_READ), "read");
    cr_assert_str_eq(tw_level_name(TW_LEVEL_WRITE), "write");
    cr_assert_str_eq(tw_level_name(7), "?");
    cr_assert_eq(tw_level_parse("read"), TW_LEVEL_READ);
    cr_assert_eq(tw_level_parse("write"), TW_LEVEL_WRITE);
    cr_assert_eq(tw_level_parse("none"), -1, "not a grant");
    cr_assert_eq(tw_level_parse("admin"), -1);
    cr_assert_eq(tw_level_parse(NULL), -1);
}

/* Every byte of p[0..n) is zero. */
static bool all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return false;
    return true;
}

/*
 * A filled struct is released (under build-asan, LeakSanitizer fails the test on anything left)
 * and zeroed, so a second fini is harmless; NULL is a no-op.
 */
Test(store_types, fini_releases_zeroes_and_accepts_null)
{
    struct tw_task t = { .id = 9,
                         .desc = tw_strdup("d"),
                         .trigger_json = tw_strdup("{}"),
                         .target_json = tw_strdup("{}"),
                         .debug = tw_strdup("x"),
                         .result = tw_strdup("r"),
                         .repeat = tw_strdup("daily"),
                         .action = tw_strdup("export"),
                         .export_index = tw_strdup("users"),
                         .campaign_id = tw_strdup("7"),
                         .result_path = tw_strdup("/p"),
                         .result_sha256 = tw_strdup("ab") };
    struct tw_task_log l = { .id = 1, .msg = tw_strdup("m") };
    struct tw_token k = { .desc = tw_strdup("k"),
                          .chains = tw_calloc(2, sizeof(int64_t)),
                          .n_chains = 2 };
    struct tw_user u = { .id = 3,
                         .name = tw_strdup("u"),
                         .pw_hash = tw_strdup("$h"),
                         .access = tw_calloc(1, sizeof(struct tw_chain_access)),
                         .n_access = 1 };
    struct tw_segment g = { .id = 4, .name = tw_strdup("g"), .segment_json = tw_strdup("{}") };
    struct tw_task *tasks = tw_calloc(2, sizeof(*tasks));

    cr_assert(t.campaign_id != NULL && k.chains != NULL && u.access != NULL && tasks != NULL);
    tasks[1].desc = tw_strdup("second");
    tw_task_fini(&t);
    cr_assert(all_zero(&t, sizeof(t)));
    tw_task_fini(&t);
    tw_task_log_fini(&l);
    cr_assert(all_zero(&l, sizeof(l)));
    tw_token_fini(&k);
    cr_assert_null(k.desc);
    cr_assert_null(k.chains);
    cr_assert_eq(k.n_chains, 0);
    tw_user_fini(&u);
    cr_assert(u.name == NULL && u.pw_hash == NULL && u.access == NULL && u.n_access == 0);
    tw_store_segment_fini(&g);
    cr_assert(g.name == NULL && g.segment_json == NULL);
    tw_store_free_tasks(tasks, 2);

    tw_task_fini(NULL);
    tw_task_log_fini(NULL);
    tw_token_fini(NULL);
    tw_user_fini(NULL);
    tw_store_segment_fini(NULL);
    tw_store_free_logs(NULL, 3);
    tw_store_free_tasks(NULL, 3);
    tw_store_free_tokens(NULL, 3);
    tw_store_free_segments(NULL, 3);
    tw_store_close(NULL);
}
