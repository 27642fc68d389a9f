/*
 * Rules to their normal form (segment.h): one kind, typed values and integer bounds that the
 * pushdown (seg_push.c) and the per-record evaluation (seg_eval.c) both read, so the two paths
 * cannot disagree about what a rule means. Operators and time units are looked up in the
 * grammar's table (seg_grammar.c), the one parsing checks rules against.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/time.h"
#include "lua/lua.h"
#include "segment/seg_int.h"

#define DAY 86400
#define BOUND_MAX (INT64_MAX / 4) /* far beyond any field value; keeps +1/-1 safe */

static bool is_text(uint32_t t)
{
    return t == TW_FIELD_TEXT || t == TW_FIELD_KEYWORD;
}

static bool is_date(uint32_t t)
{
    return t == TW_FIELD_DATE || t == TW_FIELD_DATETIME;
}

/* A field's integer units per rule unit: cents for money. */
static double scale_of(uint32_t t)
{
    return t == TW_FIELD_MONEY ? 100.0 : 1.0;
}

/* x rounded to an integer when it is one (within float noise of a decimal), else false. */
static bool exact_int(double x, int64_t *out)
{
    double r;

    if (!(fabs(x) < (double)BOUND_MAX))
        return false;
    r = nearbyint(x);
    if (fabs(x - r) > 1e-9 * fmax(1.0, fabs(x)))
        return false;
    *out = (int64_t)r;
    return true;
}

/*
 * The integer bound of x rounded up (ceil) or down: x taken as exact when it is an integer up
 * to float noise of a decimal (10.5 * 100 is 1050, not 1050.0000000000002), clamped.
 */
static int64_t int_bound(double x, bool up)
{
    int64_t r;

    if (exact_int(x, &r))
        return r;
    if (x >= (double)BOUND_MAX)
        return BOUND_MAX;
    if (x <= -(double)BOUND_MAX)
        return -BOUND_MAX;
    return (int64_t)(up ? ceil(x) : floor(x));
}

static int64_t floor_day(int64_t t)
{
    return t >= 0 ? t / DAY * DAY : -((-t + DAY - 1) / DAY) * DAY;
}

static int64_t ceil_day(int64_t t)
{
    int64_t f = floor_day(t);

    return f == t ? t : f + DAY;
}

static int add_val(struct tw_seg_rule *ru, const struct tw_seg_val *v, struct tw_err *err)
{
    struct tw_seg_val *nv = tw_realloc(ru->vals, (ru->nvals + 1) * sizeof(*nv));

    if (nv == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory compiling the segment");
    ru->vals = nv;
    nv[ru->nvals] = *v;
    if (v->s != NULL) {
        nv[ru->nvals].s = tw_strdup(v->s);
        if (nv[ru->nvals].s == NULL)
            return tw_err_set(err, TW_ENOMEM, "out of memory compiling the segment");
    }
    ru->nvals++;
    return TW_OK;
}

/* "is" / "is_not": the listed values as the field's type; unequalable numbers dropped. */
static int compile_equality(struct tw_seg_rule *ru, const json_t *value, bool negate,
                            struct tw_err *err)
{
    uint32_t t = ru->ref.f->type;
    const json_t *v;
    size_t i, n = json_is_array(value) ? json_array_size(value) : 1;
    int rc;

    ru->kind = negate ? TW_SK_NOT_IN : TW_SK_IN;
    ru->ci = t == TW_FIELD_TEXT;
    for (i = 0; i < n; i++) {
        struct tw_seg_val sv = { 0, 0, NULL, 0 };

        v = json_is_array(value) ? json_array_get(value, i) : value;
        if (is_text(t)) {
            sv.s = (char *)json_string_value(v);
            sv.len = json_string_length(v);
            if (sv.s == NULL)
                continue;
        } else if (t == TW_FIELD_BOOL) {
            if (!json_is_boolean(v))
                continue;
            sv.i = json_is_true(v);
        } else if (t == TW_FIELD_NUMBER) {
            if (!json_is_number(v))
                continue;
            sv.d = json_number_value(v);
        } else {
            if (!json_is_number(v) || !exact_int(json_number_value(v) * scale_of(t), &sv.i))
                continue; /* 12.5 on an INT equals no value */
        }
        rc = add_val(ru, &sv, err);
        if (rc != TW_OK)
            return rc;
    }
    if (ru->nvals == 0)
        ru->kind = negate ? TW_SK_ALWAYS : TW_SK_NEVER;
    return TW_OK;
}

static int compile_number(struct tw_seg_rule *ru, int op, const json_t *rule)
{
    uint32_t t = ru->ref.f->type;
    double s = scale_of(t);
    double v = json_number_value(json_object_get(rule, "value"));
    double min = json_number_value(json_object_get(rule, "min"));
    double max = json_number_value(json_object_get(rule, "max"));

    if (t == TW_FIELD_NUMBER) {
        ru->kind = TW_SK_DRANGE;
        if (op == TW_SOP_BETWEEN_NUMBER) {
            ru->has_lo = ru->has_hi = ru->lo_incl = ru->hi_incl = true;
            ru->dlo = min;
            ru->dhi = max;
        } else if (op == TW_SOP_GREATER) {
            ru->has_lo = true;
            ru->dlo = v;
        } else {
            ru->has_hi = true;
            ru->dhi = v;
        }
        return TW_OK;
    }
    ru->kind = TW_SK_RANGE;
    if (op == TW_SOP_BETWEEN_NUMBER) {
        ru->has_lo = ru->has_hi = true;
        ru->lo = int_bound(min * s, true);
        ru->hi = int_bound(max * s, false);
    } else if (op == TW_SOP_GREATER) {
        ru->has_lo = true;
        ru->lo = int_bound(v * s, false) + 1; /* f > v  <=>  f >= floor(v) + 1 */
    } else {
        ru->has_hi = true;
        ru->hi = int_bound(v * s, true) - 1; /* f < v  <=>  f <= ceil(v) - 1 */
    }
    return TW_OK;
}

static int parse_time(const json_t *rule, const char *key, int64_t *t, bool *date_only,
                      const char *rule_path, struct tw_err *err)
{
    const char *s = json_string_value(json_object_get(rule, key));
    char path[192];

    snprintf(path, sizeof(path), "%s.%s", rule_path, key);
    if (s == NULL || tw_time_parse_date_or_time(s, t, date_only, err) != TW_OK)
        return tw_err_field(err, TW_EINVAL, path, "%s: expected a date or date-time", path);
    return TW_OK;
}

/*
 * Date rules as inclusive epoch bounds. A date-only start of "is_after_date" means after that
 * whole day, a date-only end of "is_before_date" before it starts, and a date-only end of
 * "is_between_date" includes its whole day (docs/reference.md §6).
 */
static int compile_date(struct tw_seg_rule *ru, int op, const json_t *rule, int64_t run_start,
                        const char *rule_path, struct tw_err *err)
{
    bool date_only = false;
    int64_t t, span;
    int rc = TW_OK;

    ru->kind = TW_SK_RANGE;
    if (op == TW_SOP_IS_DATE) {
        rc = parse_time(rule, "value", &t, &date_only, rule_path, err);
        ru->has_lo = ru->has_hi = true;
        ru->lo = floor_day(t);
        ru->hi = ru->lo + DAY - 1;
    } else if (op == TW_SOP_AFTER_DATE) {
        rc = parse_time(rule, "start_date", &t, &date_only, rule_path, err);
        ru->has_lo = true;
        ru->lo = date_only ? t + DAY : t + 1;
    } else if (op == TW_SOP_BEFORE_DATE) {
        rc = parse_time(rule, "end_date", &t, &date_only, rule_path, err);
        ru->has_hi = true;
        ru->hi = t - 1;
    } else if (op == TW_SOP_BETWEEN_DATE) {
        rc = parse_time(rule, "start_date", &t, &date_only, rule_path, err);
        ru->has_lo = true;
        ru->lo = t;
        if (rc == TW_OK)
            rc = parse_time(rule, "end_date", &t, &date_only, rule_path, err);
        ru->has_hi = true;
        ru->hi = date_only ? t + DAY - 1 : t;
    } else {
        span = tw_seg_unit_find_seconds(json_string_value(json_object_get(rule, "time_factor"))) *
               json_integer_value(json_object_get(rule, "time_amount"));
        if (span <= 0)
            return tw_err_field(err, TW_EINVAL, rule_path, "%s: bad relative time", rule_path);
        if (op == TW_SOP_REL_LESS) {
            ru->has_lo = true; /* field >= run_start - N·unit */
            ru->lo = run_start - span;
        } else {
            ru->has_hi = true; /* field <  run_start - N·unit */
            ru->hi = run_start - span - 1;
        }
    }
    if (ru->ref.f->type == TW_FIELD_DATE) { /* whole days: exact for midnight values */
        ru->lo = ceil_day(ru->lo);
        ru->hi = floor_day(ru->hi);
    }
    return rc;
}

static int compile_rule(struct tw_seg_rule *ru, const json_t *rule, int64_t run_start,
                        const char *rule_path, struct tw_err *err)
{
    const char *name = json_string_value(json_object_get(rule, "operator"));
    const json_t *value = json_object_get(rule, "value");
    uint32_t t = ru->ref.f->type;
    int op = tw_seg_op_find(name);

    if (name == NULL)
        return tw_err_field(err, TW_EINVAL, rule_path, "%s: no operator", rule_path);
    switch (op) {
    case TW_SOP_EXISTS: ru->kind = TW_SK_EXISTS; return TW_OK;
    case TW_SOP_MISSING: ru->kind = TW_SK_MISSING; return TW_OK;
    case TW_SOP_IS:
    case TW_SOP_IS_NOT: return compile_equality(ru, value, op == TW_SOP_IS_NOT, err);
    case TW_SOP_CONTAINS:
    case TW_SOP_NOT_CONTAINS: {
        struct tw_seg_val sv = { 0, 0, (char *)json_string_value(value), 0 };

        if (!is_text(t) || sv.s == NULL)
            return tw_err_field(err, TW_EINVAL, rule_path,
                                "%s: %s needs a text field and a "
                                "string value",
                                rule_path, name);
        sv.len = strlen(sv.s);
        ru->kind = op == TW_SOP_CONTAINS ? TW_SK_CONTAINS : TW_SK_NOT_CONTAINS;
        return add_val(ru, &sv, err);
    }
    case TW_SOP_BETWEEN_NUMBER:
    case TW_SOP_GREATER:
    case TW_SOP_LESS:
        if (tw_field_seg_type(t) != TW_SEG_NUMBER)
            return tw_err_field(err, TW_EINVAL, rule_path, "%s: %s needs a number field", rule_path,
                                name);
        return compile_number(ru, op, rule);
    default:
        if (op >= 0 && (tw_seg_ops[op].types & TW_SEG_TYPE_BIT(TW_SEG_DATE)) && is_date(t))
            return compile_date(ru, op, rule, run_start, rule_path, err);
        return tw_err_field(err, TW_EINVAL, rule_path,
                            "%s: operator %s does not apply to "
                            "field %s",
                            rule_path, name, ru->ref.f->name);
    }
}

/* A script rule: remember its name and params for tw_seg_bind_lua. True when rule is one. */
static bool compile_script(struct tw_seg_rule *ru, const json_t *rule, int *rc, struct tw_err *err)
{
    const char *op = json_string_value(json_object_get(rule, "operator"));
    const json_t *params = json_object_get(rule, "params");

    if (tw_seg_op_find(op) != TW_SOP_SCRIPT)
        return false;
    ru->kind = TW_SK_SCRIPT;
    ru->ref.sub = TW_COND_TOP;
    ru->script = tw_strdup(json_string_value(json_object_get(rule, "script")));
    ru->params = params != NULL ? json_dumps(params, JSON_COMPACT) : NULL;
    *rc = ru->script == NULL || (params != NULL && ru->params == NULL)
              ? tw_err_set(err, TW_ENOMEM, "out of memory compiling the segment")
              : TW_OK;
    return true;
}

int tw_seg_compile(const json_t *segment, const struct tw_field *fields, int64_t run_start,
                   struct tw_seg **out, struct tw_err *err)
{
    const json_t *rules = json_object_get(segment, "rules");
    const char *join = json_string_value(json_object_get(segment, "join"));
    const json_t *rule;
    struct tw_seg *g;
    char rule_path[64];
    size_t i;
    int rc = TW_OK;

    g = tw_calloc(1, sizeof(*g));
    if (g == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory compiling the segment");
    g->join = join != NULL && strcmp(join, "any") == 0 ? TW_JOIN_ANY : TW_JOIN_ALL;
    if (json_array_size(rules) > 0) {
        g->rules = tw_calloc(json_array_size(rules), sizeof(*g->rules));
        if (g->rules == NULL) {
            tw_free(g);
            return tw_err_set(err, TW_ENOMEM, "out of memory compiling the segment");
        }
    }
    json_array_foreach(rules, i, rule)
    {
        snprintf(rule_path, sizeof(rule_path), "segment.rules[%zu]", i);
        g->n++;
        if (compile_script(&g->rules[i], rule, &rc, err))
            continue;
        rc = tw_seg_resolve(rule, "(this index)", fields, rule_path, &g->rules[i].ref, err);
        if (rc == TW_OK)
            rc = compile_rule(&g->rules[i], rule, run_start, rule_path, err);
        if (rc != TW_OK)
            break;
    }
    if (rc != TW_OK) {
        tw_seg_destroy(g);
        return rc;
    }
    *out = g;
    return TW_OK;
}

void tw_seg_destroy(struct tw_seg *g)
{
    uint32_t i, j;

    if (g == NULL)
        return;
    for (i = 0; i < g->n; i++) {
        for (j = 0; j < g->rules[i].nvals; j++)
            tw_free(g->rules[i].vals[j].s);
        tw_free(g->rules[i].vals);
        tw_free(g->rules[i].script);
        free(g->rules[i].params); /* json_dumps: malloc */
    }
    tw_free(g->rules);
    tw_free(g);
}

int tw_seg_join(const struct tw_seg *g)
{
    return g->join;
}

bool tw_seg_has_scripts(const struct tw_seg *g)
{
    uint32_t i;

    for (i = 0; i < g->n; i++)
        if (g->rules[i].kind == TW_SK_SCRIPT)
            return true;
    return false;
}

int tw_seg_bind_lua(struct tw_seg *g, struct tw_lua *L, const char *segments_dir,
                    struct tw_err *err)
{
    char path[4096];
    uint32_t i;
    int rc;

    g->lua = L;
    for (i = 0; i < g->n; i++) {
        struct tw_seg_rule *ru = &g->rules[i];

        if (ru->kind != TW_SK_SCRIPT)
            continue;
        snprintf(path, sizeof(path), "%s/%s.lua", segments_dir, ru->script);
        rc = tw_lua_rule_load(L, path, ru->params, &ru->lua_ref, err);
        if (rc != TW_OK)
            return rc;
    }
    return TW_OK;
}
