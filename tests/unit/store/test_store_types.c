/*
 * store_types.c: state and level names both ways, and NULL-safe _fini / free functions.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

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

Test(store_types, fini_and_free_accept_null)
{
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
