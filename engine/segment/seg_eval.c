/*
 * Per-record evaluation of the normal-form rules (seg_int.h), and the residual filter that
 * skips what the plugin already applied. Hot path: no allocation, no printf; dates are parsed
 * from their canonical text by hand.
 */
#include <string.h>

#include "core/time.h"
#include "lua/lua.h"
#include "segment/seg_int.h"

static bool is_text(uint32_t t)
{
    return t == TW_FIELD_TEXT || t == TW_FIELD_KEYWORD;
}

static unsigned digits(const char *s, int n, bool *ok)
{
    unsigned v = 0;
    int i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            *ok = false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    return v;
}

bool tw_seg_parse_epoch(const char *s, size_t len, int64_t *out)
{
    bool ok = true;
    int64_t days;
    unsigned y, mo, d, h = 0, mi = 0, se = 0;

    if (len != 10 && len != 20)
        return false;
    y = digits(s, 4, &ok);
    mo = digits(s + 5, 2, &ok);
    d = digits(s + 8, 2, &ok);
    if (len == 20) {
        h = digits(s + 11, 2, &ok);
        mi = digits(s + 14, 2, &ok);
        se = digits(s + 17, 2, &ok);
    }
    if (!ok || mo < 1 || mo > 12 || d < 1 || d > 31)
        return false;
    days = tw_days_from_civil(y, mo, d);
    *out = days * 86400 + h * 3600 + mi * 60 + se;
    return true;
}

static char fold(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static bool eq_ci(const char *a, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (fold(a[i]) != fold(b[i]))
            return false;
    return true;
}

/* Does hay (n bytes) contain needle (m bytes), ASCII case-insensitively? */
static bool contains_ci(const char *hay, size_t n, const char *needle, size_t m)
{
    size_t i;

    if (m == 0)
        return true;
    for (i = 0; i + m <= n; i++)
        if (fold(hay[i]) == fold(needle[0]) && eq_ci(hay + i, needle, m))
            return true;
    return false;
}

static bool in_list(const struct tw_seg_rule *ru, const struct tw_record *r,
                    const struct tw_slot *s)
{
    uint32_t t = ru->ref.f->type, i;
    const char *text;

    if (is_text(t)) {
        text = tw_record_text(r, s);
        for (i = 0; i < ru->nvals; i++)
            if (ru->vals[i].len == s->len && (ru->ci ? eq_ci(text, ru->vals[i].s, s->len)
                                                     : memcmp(text, ru->vals[i].s, s->len) == 0))
                return true;
    } else if (t == TW_FIELD_NUMBER) {
        for (i = 0; i < ru->nvals; i++)
            if (s->v.d == ru->vals[i].d)
                return true;
    } else {
        for (i = 0; i < ru->nvals; i++)
            if (s->v.i == ru->vals[i].i)
                return true;
    }
    return false;
}

static bool match_slot(const struct tw_seg_rule *ru, const struct tw_record *r,
                       const struct tw_slot *s)
{
    uint32_t t = ru->ref.f->type;
    bool unset = !s->set || (is_text(t) && s->len == 0);
    int64_t x;

    switch (ru->kind) {
    case TW_SK_NEVER: return false;
    case TW_SK_ALWAYS: return true;
    case TW_SK_EXISTS: return !unset;
    case TW_SK_MISSING: return unset;
    default: break;
    }
    if (!s->set)
        return ru->kind == TW_SK_NOT_IN;
    switch (ru->kind) {
    case TW_SK_IN: return in_list(ru, r, s);
    case TW_SK_NOT_IN: return !in_list(ru, r, s);
    case TW_SK_CONTAINS:
        return contains_ci(tw_record_text(r, s), s->len, ru->vals[0].s, ru->vals[0].len);
    case TW_SK_NOT_CONTAINS:
        return !contains_ci(tw_record_text(r, s), s->len, ru->vals[0].s, ru->vals[0].len);
    case TW_SK_RANGE:
        if (t == TW_FIELD_DATE || t == TW_FIELD_DATETIME) {
            if (!tw_seg_parse_epoch(tw_record_text(r, s), s->len, &x))
                return false;
        } else {
            x = s->v.i;
        }
        return (!ru->has_lo || x >= ru->lo) && (!ru->has_hi || x <= ru->hi);
    case TW_SK_DRANGE:
        return (!ru->has_lo || (ru->lo_incl ? s->v.d >= ru->dlo : s->v.d > ru->dlo)) &&
               (!ru->has_hi || (ru->hi_incl ? s->v.d <= ru->dhi : s->v.d < ru->dhi));
    default: return false;
    }
}

/* A script rule: the Lua function decides; a failure is remembered and fails the run. */
static bool match_script(const struct tw_seg *g, const struct tw_seg_rule *ru,
                         const struct tw_record *r)
{
    struct tw_seg *mg = (struct tw_seg *)g; /* the failure is state, not the rule's meaning */
    bool match = false;

    if (g->lua == NULL) {
        if (!g->failed)
            tw_err_set(&mg->fail_err, TW_ESCRIPT, "segment script %s: Lua is not set up",
                       ru->script);
        mg->failed = true;
        return false;
    }
    if (tw_lua_rule_call(g->lua, ru->lua_ref, r, &match, &mg->fail_err) != TW_OK) {
        mg->failed = true;
        return false;
    }
    return match;
}

/* A nested rule matches when any element of its list does. */
static bool match_rule(const struct tw_seg *g, const struct tw_seg_rule *ru,
                       const struct tw_record *r)
{
    uint32_t n, i;

    if (ru->kind == TW_SK_SCRIPT)
        return match_script(g, ru, r);
    if (ru->ref.sub == TW_COND_TOP)
        return match_slot(ru, r, tw_record_value(r, ru->ref.field));
    n = tw_record_item_count(r, ru->ref.field);
    for (i = 0; i < n; i++)
        if (match_slot(ru, r, tw_record_item_value(r, ru->ref.field, i, ru->ref.sub)))
            return true;
    return false;
}

int tw_seg_match(const struct tw_seg *g, const struct tw_record *r)
{
    uint32_t i;

    if (g->n == 0)
        return 1;
    for (i = 0; i < g->n; i++) {
        bool m = match_rule(g, &g->rules[i], r);

        if (g->join == TW_JOIN_ANY && m)
            return 1;
        if (g->join == TW_JOIN_ALL && !m)
            return 0;
    }
    return g->join == TW_JOIN_ALL;
}

/* After the plugin's open: which rules still need evaluating here. */
static void resolve(struct tw_seg *g)
{
    uint32_t i, k;
    bool all = g->n > 0;

    for (i = 0; i < g->n; i++) {
        struct tw_seg_rule *ru = &g->rules[i];
        bool applied = g->q != NULL && ru->cond_n > 0;

        for (k = 0; applied && k < ru->cond_n; k++)
            applied = g->q->applied[ru->cond_first + k];
        ru->residual = !applied;
        all = all && applied;
    }
    g->all_applied = all;
    g->resolved = true;
}

int tw_seg_keep(void *ctx, const struct tw_record *r, struct tw_err *err)
{
    struct tw_seg *g = ctx;
    uint32_t i;

    int keep = 1;

    if (!g->resolved)
        resolve(g);
    if (g->join == TW_JOIN_ANY) {
        keep = g->all_applied ? 1 : tw_seg_match(g, r);
    } else {
        for (i = 0; keep && i < g->n; i++)
            if (g->rules[i].residual && !match_rule(g, &g->rules[i], r))
                keep = 0;
    }
    if (g->failed) {
        if (err != NULL)
            *err = g->fail_err;
        return TW_ESCRIPT;
    }
    return keep;
}
