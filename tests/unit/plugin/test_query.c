/* query.c and host.c: conditions are deep-copied, dates get canonical text, the host reads them. */
#include <criterion/criterion.h>
#include <string.h>

#include "plugin/plugin.h"

Test(query, conditions_copy_and_read_through_the_host)
{
    struct tw_host_ctx h;
    struct tw_query q;
    struct tw_err err;
    char word[8] = "abc";
    struct tw_value v = { .s = word, .len = 3 };
    struct tw_value days[2] = { { .i = 1779796800 }, { .i = 0 } };
    struct tw_value in[3] = { { .i = 1 }, { .i = 2 }, { .i = 3 } };
    const struct tw_cond *c;

    tw_query_init(&q, 1764, 1779796800, TW_JOIN_ANY);
    cr_assert_eq(tw_query_add(&q, 1, TW_COND_TOP, TW_OP_CONTAINS_CI, &v, 1, TW_FIELD_TEXT, &err),
                 TW_OK);
    word[0] = 'X'; /* the query owns its copy */
    cr_assert_eq(tw_query_add(&q, 5, TW_COND_TOP, TW_OP_GE, days, 1, TW_FIELD_DATE, &err), TW_OK);
    cr_assert_eq(tw_query_add(&q, 6, TW_COND_TOP, TW_OP_LT, days, 1, TW_FIELD_DATETIME, &err),
                 TW_OK);
    cr_assert_eq(tw_query_add(&q, 0, TW_COND_TOP, TW_OP_IN, in, 3, TW_FIELD_INT, &err), TW_OK);
    cr_assert_eq(tw_query_add(&q, 0, TW_COND_TOP, TW_OP_EQ, in, 2, TW_FIELD_INT, &err), TW_EINVAL);
    cr_assert_eq(tw_query_add(&q, 0, TW_COND_TOP, TW_OP_IS_NULL, in, 1, TW_FIELD_INT, &err),
                 TW_EINVAL);
    cr_assert_eq(tw_query_add(&q, 0, TW_COND_TOP, 99, in, 1, TW_FIELD_INT, &err), TW_EINVAL);

    tw_host_init(&h, "t", "/x.db");
    cr_assert_eq(h.api.size, sizeof(struct tw_host));
    cr_assert_str_eq(h.api.source(&h.api), "/x.db");
    cr_assert_eq(h.api.q_chain(&q), 1764);
    cr_assert_eq(h.api.q_run_start(&q), 1779796800);
    cr_assert_eq(h.api.q_join(&q), TW_JOIN_ANY);
    cr_assert_eq(h.api.q_cond_count(&q), 4);
    c = h.api.q_cond(&q, 0);
    cr_assert_str_eq(c->values[0].s, "abc");
    c = h.api.q_cond(&q, 1);
    cr_assert_str_eq(c->values[0].s, "2026-05-26");
    cr_assert_eq(c->values[0].len, 10);
    c = h.api.q_cond(&q, 2);
    cr_assert_str_eq(c->values[0].s, "2026-05-26T12:00:00Z");
    c = h.api.q_cond(&q, 3);
    cr_assert_eq(c->nvalues, 3);
    cr_assert_eq(c->values[2].i, 3);
    cr_assert_null(h.api.q_cond(&q, 4));
    h.api.q_applied(&q, 2);
    h.api.q_applied(&q, 77); /* ignored */
    cr_assert(q.applied[2] && !q.applied[0]);
    tw_query_clear_applied(&q);
    cr_assert_not(q.applied[2]);
    cr_assert_eq(h.api.err_set(&err, 0, "x"), TW_ESOURCE); /* "success" is not an error code */
    tw_query_fini(&q);
    tw_query_fini(&q); /* idempotent */
}
