/*
 * A scalar cell as text, the same in CSV and JSON (export.h): numbers through core/fmt.h,
 * booleans as true/false.
 */
#include "export/export.h"

bool tw_out_scalar(struct tw_out *o, uint32_t type, const struct tw_slot *s)
{
    char *p;

    switch (type) {
    case TW_FIELD_INT:
        p = tw_out_reserve(o, TW_FMT_NUM_MAX);
        tw_out_commit(o, tw_fmt_int(p, s->v.i));
        return true;
    case TW_FIELD_MONEY:
        p = tw_out_reserve(o, TW_FMT_NUM_MAX);
        tw_out_commit(o, tw_fmt_money(p, s->v.i));
        return true;
    case TW_FIELD_NUMBER:
        p = tw_out_reserve(o, TW_FMT_NUM_MAX);
        tw_out_commit(o, tw_fmt_double(p, s->v.d));
        return true;
    case TW_FIELD_BOOL:
        if (s->v.i)
            tw_out_lit(o, "true", 4);
        else
            tw_out_lit(o, "false", 5);
        return true;
    default: return false;
    }
}
