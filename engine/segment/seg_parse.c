/*
 * Segment validation (docs/reference.md §6): the structure of a segment and of each rule, checked when a
 * task or saved segment is written (the API calls tw_seg_parse, segment.h), so that a bad
 * rule is a 400 naming "trigger.segment.rules[2].operator" and not an ERROR hours later
 * (§6.2). What depends on an
 * index's fields (does field_name exist, is it of that field_type, is it nested) is
 * tw_seg_check's, reached through the caller's check function. Operators, field types and
 * time units come from the grammar's one table (seg_grammar.c).
 *
 * Decisions (strict where the reference is silent):
 * - The operator must apply to the field_type (§6 table: "contains" on a number is a 400);
 *   that needs no index, so it is checked here.
 * - value's JSON type follows field_type: keyword and text take strings, number numbers,
 *   boolean booleans; is_date takes a date or date-time string. "is"/"is_not" also take a
 *   non-empty array (at most 1000) of such values. null is never a value: "does_not_exist"
 *   says that.
 * - A key the operator does not use ("min" on an "is" rule, "params" on a non-script rule,
 *   "nested" on a script rule) is refused: a rule that says more than it means was probably
 *   meant differently, and silently dropping "max" from a range would export too much.
 * - contains/does_not_contain refuse an empty value (it would match every record).
 * - nested: true needs nesting_path, and nesting_path needs nested: true.
 * - time_amount: at most 10000 years' worth of its time_factor, so N*unit cannot overflow.
 * - is_between_date: start_date <= end_date, a date-only end_date counting as the end of its
 *   day (as §6 evaluates it).
 * - The canonical segment is rebuilt in grammar order (entity, index, join, chain_id, rules)
 *   with entity "people" and join "all" filled in; rules are copied as given. index is not
 *   filled from target.export_index: a later update of target alone would then clash with it.
 * - chain 0 / export_index NULL mean "not in view" (a PUT of trigger alone): the comparisons
 *   wait for the caller's merged check.
 */
#include "segment/seg_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/time.h"
#include "core/val.h"
#include "lua/lua.h"

#define MAX_RULES 100
#define MAX_VALUES 1000      /* elements of an is/is_not value array */
#define MAX_TEXT_CHARS 10000 /* any string in a rule */
#define MAX_NAME_CHARS 128   /* field_name, nesting_path */
#define MAX_SCRIPT_CHARS 64
#define MAX_SPAN_S (10000LL * 365 * 86400)

#define F_KEYWORD TW_SEG_TYPE_BIT(TW_SEG_KEYWORD)
#define F_TEXT TW_SEG_TYPE_BIT(TW_SEG_TEXT)
#define F_NUMBER TW_SEG_TYPE_BIT(TW_SEG_NUMBER)
#define F_BOOLEAN TW_SEG_TYPE_BIT(TW_SEG_BOOLEAN)
#define F_ANY TW_SEG_TYPES_ALL

/* "keyword, text": the names of the bits set in types. */
static const char *type_names(unsigned types, char *buf, size_t n)
{
    size_t o = 0;
    size_t i;

    buf[0] = '\0';
    for (i = 0; tw_field_seg_type_names[i] != NULL && o < n; i++) {
        if (types & (1u << i))
            o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? ", " : "",
                                  tw_field_seg_type_names[i]);
    }
    return buf;
}

static int find_op(const json_t *v, const char *path, const struct tw_seg_op_def **out,
                   struct tw_err *err)
{
    char names[400];
    char got[128];
    size_t o = 0;
    size_t i;
    int op = json_is_string(v) ? tw_seg_op_find(json_string_value(v)) : -1;

    if (op >= 0) {
        *out = &tw_seg_ops[op];
        return TW_OK;
    }
    for (i = 0; i < TW_SOP_N && o < sizeof(names); i++)
        o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", i ? ", " : "",
                              tw_seg_ops[i].name);
    return tw_val_fail(err, path, "must be one of %s (got %s)", names,
                       json_is_number(v) ? "number" : tw_val_got(v, got, sizeof(got)));
}

/* One comparison value of the rule's field_type (a single F_* bit). */
static int check_scalar(const json_t *v, const char *path, unsigned type, bool list_ok,
                        struct tw_err *err)
{
    const char *want = type == F_NUMBER
                           ? (list_ok ? "a number or a non-empty array of numbers" : "a number")
                       : type == F_BOOLEAN ? (list_ok ? "a boolean or a non-empty array of "
                                                        "booleans"
                                                      : "a boolean")
                       : list_ok           ? "a string or a non-empty array of strings"
                                           : "a string";
    const char *s;

    if (type == F_NUMBER && json_is_number(v))
        return TW_OK;
    if (type == F_BOOLEAN && json_is_boolean(v))
        return TW_OK;
    if ((type == F_KEYWORD || type == F_TEXT) && json_is_string(v))
        return tw_val_string(v, path, MAX_TEXT_CHARS, &s, err);
    return tw_val_type_fail(v, path, want, err);
}

static int check_value(const json_t *v, const char *path, const struct tw_seg_op_def *op,
                       unsigned type, struct tw_err *err)
{
    char p[TW_VAL_PATHSZ];
    struct tw_err terr;
    const char *s;
    int64_t t;
    bool date_only;
    size_t i;
    int rc;

    if (op == &tw_seg_ops[TW_SOP_IS] || op == &tw_seg_ops[TW_SOP_IS_NOT]) {
        if (!json_is_array(v))
            return check_scalar(v, path, type, true, err);
        if (json_array_size(v) == 0 || json_array_size(v) > MAX_VALUES)
            return tw_val_fail(err, path, "must hold 1 to %d values (got %zu)", MAX_VALUES,
                               json_array_size(v));
        for (i = 0; i < json_array_size(v); i++) {
            rc = check_scalar(json_array_get(v, i), tw_val_index_path(p, path, i), type, false,
                              err);
            if (rc != TW_OK)
                return rc;
        }
        return TW_OK;
    }
    if (op == &tw_seg_ops[TW_SOP_IS_DATE]) {
        if ((rc = tw_val_string(v, path, 64, &s, err)) != TW_OK)
            return rc;
        tw_err_clear(&terr);
        if (tw_time_parse_date_or_time(s, &t, &date_only, &terr) != TW_OK)
            return tw_val_fail(err, path, "%s", terr.msg);
        return TW_OK;
    }
    if (op->types == F_NUMBER) /* is_greater_than, is_less_than */
        return check_scalar(v, path, F_NUMBER, false, err);
    /* contains, does_not_contain */
    if ((rc = tw_val_string(v, path, MAX_TEXT_CHARS, &s, err)) != TW_OK)
        return rc;
    if (s[0] == '\0')
        return tw_val_fail(err, path, "must not be empty (it would match every record)");
    return TW_OK;
}

/* start_date/end_date: a date or a date-time; *end is the last second it covers. */
static int check_date(const json_t *v, const char *path, int64_t *start, int64_t *end,
                      struct tw_err *err)
{
    struct tw_err terr;
    const char *s;
    bool date_only = false;
    int rc;

    if ((rc = tw_val_string(v, path, 64, &s, err)) != TW_OK)
        return rc;
    tw_err_clear(&terr);
    if (tw_time_parse_date_or_time(s, start, &date_only, &terr) != TW_OK)
        return tw_val_fail(err, path, "%s", terr.msg);
    *end = *start + (date_only ? 86399 : 0);
    return TW_OK;
}

/* The keys of a rule that depend on its operator, given it is known to apply. */
static int check_op_keys(const json_t *rule, const char *path, const struct tw_seg_op_def *op,
                         unsigned type, struct tw_err *err)
{
    char p[TW_VAL_PATHSZ];
    char got[64];
    const json_t *v;
    int64_t start = 0, start_end = 0, end_start = 0, end = 0, amount = 0;
    size_t factor = 0;
    const char *s;
    int rc;

    if ((v = json_object_get(rule, "value")) != NULL &&
        (rc = check_value(v, tw_val_path(p, path, "value"), op, type, err)) != TW_OK)
        return rc;
    if ((v = json_object_get(rule, "start_date")) != NULL &&
        (rc = check_date(v, tw_val_path(p, path, "start_date"), &start, &start_end, err)) != TW_OK)
        return rc;
    if ((v = json_object_get(rule, "end_date")) != NULL &&
        (rc = check_date(v, tw_val_path(p, path, "end_date"), &end_start, &end, err)) != TW_OK)
        return rc;
    if ((op->needs & TW_SEG_KEY_START) && (op->needs & TW_SEG_KEY_END) && end < start)
        return tw_val_fail(err, tw_val_path(p, path, "end_date"),
                           "must not be before "
                           "start_date (got start_date %s, end_date %s)",
                           json_string_value(json_object_get(rule, "start_date")),
                           json_string_value(json_object_get(rule, "end_date")));
    if (op->needs & TW_SEG_KEY_MIN) {
        const json_t *min = json_object_get(rule, "min");
        const json_t *max = json_object_get(rule, "max");
        char got2[64];

        if (!json_is_number(min))
            return tw_val_type_fail(min, tw_val_path(p, path, "min"), "a number", err);
        if (!json_is_number(max))
            return tw_val_type_fail(max, tw_val_path(p, path, "max"), "a number", err);
        if (json_number_value(max) < json_number_value(min))
            return tw_val_fail(err, tw_val_path(p, path, "max"),
                               "must not be less than min "
                               "(got min %s, max %s)",
                               tw_val_got(min, got, sizeof(got)),
                               tw_val_got(max, got2, sizeof(got2)));
    }
    if ((v = json_object_get(rule, "time_factor")) != NULL &&
        (rc = tw_val_enum(v, tw_val_path(p, path, "time_factor"), tw_seg_unit_names, &factor,
                          err)) != TW_OK)
        return rc;
    if ((v = json_object_get(rule, "time_amount")) != NULL) {
        if ((rc = tw_val_int(v, tw_val_path(p, path, "time_amount"), 1, &amount, err)) != TW_OK)
            return rc;
        if (amount > MAX_SPAN_S / tw_seg_unit_seconds[factor])
            return tw_val_fail(err, p,
                               "must be at most %" PRId64 " for time_factor %s (got %" PRId64 ")",
                               (int64_t)(MAX_SPAN_S / tw_seg_unit_seconds[factor]),
                               tw_seg_unit_names[factor], amount);
    }
    if ((v = json_object_get(rule, "script")) != NULL) {
        tw_val_path(p, path, "script");
        if ((rc = tw_val_string(v, p, MAX_SCRIPT_CHARS, &s, err)) != TW_OK)
            return rc;
        /* The name becomes lua/segments/<name>.lua: no '/', no '.', nothing to escape. */
        if (s[0] == '\0' || s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789_-")] != '\0')
            return tw_val_fail(err, p,
                               "must be a script name of letters, digits, '_' and '-' "
                               "(got %s)",
                               tw_val_got(v, got, sizeof(got)));
    }
    if ((v = json_object_get(rule, "params")) != NULL && !json_is_object(v))
        return tw_val_type_fail(v, tw_val_path(p, path, "params"), "an object", err);
    if (v != NULL)
        return tw_val_depth(v, tw_val_path(p, path, "params"), TW_LUA_MAX_PARAMS_DEPTH, err);
    return TW_OK;
}

/* field_name, field_type, nested, nesting_path; *type is the field_type's F_* bit. */
static int check_field(const json_t *rule, const char *path, const struct tw_seg_op_def *op,
                       unsigned *type, struct tw_err *err)
{
    bool script = op->needs & TW_SEG_KEY_SCRIPT;
    const json_t *name = json_object_get(rule, "field_name");
    const json_t *ftype = json_object_get(rule, "field_type");
    const json_t *nested = json_object_get(rule, "nested");
    const json_t *npath = json_object_get(rule, "nesting_path");
    char p[TW_VAL_PATHSZ];
    const char *s;
    size_t i = 0;
    int rc;

    *type = F_ANY;
    if (name == NULL && !script)
        return tw_val_fail(err, tw_val_path(p, path, "field_name"),
                           "is required for "
                           "operator %s",
                           op->name);
    if (name != NULL) {
        if ((rc = tw_val_string(name, tw_val_path(p, path, "field_name"), MAX_NAME_CHARS, &s,
                                err)) != TW_OK)
            return rc;
        if (s[0] == '\0')
            return tw_val_fail(err, p, "must not be empty");
    }
    if (ftype == NULL && !script)
        return tw_val_fail(err, tw_val_path(p, path, "field_type"),
                           "is required for "
                           "operator %s",
                           op->name);
    if (ftype != NULL) {
        if ((rc = tw_val_enum(ftype, tw_val_path(p, path, "field_type"), tw_field_seg_type_names,
                              &i, err)) != TW_OK)
            return rc;
        *type = 1u << i;
    }
    if (script && (nested != NULL || npath != NULL))
        return tw_val_fail(err, tw_val_path(p, path, nested ? "nested" : "nesting_path"),
                           "does not apply to operator script");
    if (nested != NULL && !json_is_boolean(nested))
        return tw_val_type_fail(nested, tw_val_path(p, path, "nested"), "a boolean", err);
    tw_val_path(p, path, "nesting_path");
    if (npath != NULL) {
        if ((rc = tw_val_string(npath, p, MAX_NAME_CHARS, &s, err)) != TW_OK)
            return rc;
        if (s[0] == '\0')
            return tw_val_fail(err, p, "must not be empty");
        if (!json_is_true(nested))
            return tw_val_fail(err, p, "needs \"nested\": true");
    } else if (json_is_true(nested)) {
        return tw_val_fail(err, p, "is required when nested is true (e.g. \"items\")");
    }
    return TW_OK;
}

static int check_rule(const json_t *rule, const char *rules_path, size_t idx, struct tw_err *err)
{
    static const char *const keys[] = { "field_name",  "field_type",  "operator", "value",
                                        "start_date",  "end_date",    "min",      "max",
                                        "time_factor", "time_amount", "nested",   "nesting_path",
                                        "script",      "params",      NULL };
    char path[TW_VAL_PATHSZ];
    char p[TW_VAL_PATHSZ];
    char names[128];
    const struct tw_seg_op_def *op = NULL;
    const json_t *opv;
    unsigned type;
    size_t b;
    int rc;

    tw_val_index_path(path, rules_path, idx);
    if (!json_is_object(rule))
        return tw_val_type_fail(rule, path, "an object", err);
    if ((rc = tw_val_keys(rule, keys, NULL, path, err)) != TW_OK)
        return rc;
    if ((opv = json_object_get(rule, "operator")) == NULL)
        return tw_val_fail(err, tw_val_path(p, path, "operator"), "is required");
    if ((rc = find_op(opv, tw_val_path(p, path, "operator"), &op, err)) != TW_OK)
        return rc;
    if ((rc = check_field(rule, path, op, &type, err)) != TW_OK)
        return rc;
    if (!(op->types & type))
        return tw_val_fail(err, tw_val_path(p, path, "operator"),
                           "\"%s\" does not apply to "
                           "field_type %s (it applies to %s)",
                           op->name, json_string_value(json_object_get(rule, "field_type")),
                           type_names(op->types, names, sizeof(names)));
    for (b = 0; tw_seg_op_keys[b] != NULL; b++) {
        bool given = json_object_get(rule, tw_seg_op_keys[b]) != NULL;

        if (given && !((op->needs | op->may) & (1u << b)))
            return tw_val_fail(err, tw_val_path(p, path, tw_seg_op_keys[b]),
                               "does not apply to "
                               "operator %s",
                               op->name);
        if (!given && (op->needs & (1u << b)))
            return tw_val_fail(err, tw_val_path(p, path, tw_seg_op_keys[b]),
                               "is required for "
                               "operator %s",
                               op->name);
    }
    return check_op_keys(rule, path, op, type, err);
}

/* The canonical copy: grammar order, defaults filled, rules as given. */
static json_t *canonical(const json_t *seg)
{
    static const char *const order[] = { "entity", "index", "join", "chain_id", NULL };
    json_t *c = json_object();
    json_t *rules;
    size_t i;

    if (c == NULL)
        return NULL;
    for (i = 0; order[i] != NULL; i++) {
        json_t *v = json_object_get(seg, order[i]);

        if (v == NULL && strcmp(order[i], "entity") == 0)
            v = json_string("people");
        else if (v == NULL && strcmp(order[i], "join") == 0)
            v = json_string("all");
        else if (v != NULL)
            json_incref(v); /* a string or an integer: safe to share */
        else
            continue;
        if (json_object_set_new(c, order[i], v) != 0) {
            json_decref(c);
            return NULL;
        }
    }
    rules = json_deep_copy(json_object_get(seg, "rules"));
    if (json_object_set_new(c, "rules", rules) != 0) {
        json_decref(c);
        return NULL;
    }
    return c;
}

int tw_seg_parse(const json_t *seg, const char *export_index, int64_t chain,
                 const char *const *indexes, tw_seg_check_fn *check, void *check_ctx,
                 const char *path, json_t **canon, struct tw_err *err)
{
    static const char *const keys[] = { "entity", "index", "join", "chain_id", "rules", NULL };
    static const char *const entities[] = { "people", NULL };
    static const char *const joins[] = { "all", "any", NULL };
    char p[TW_VAL_PATHSZ];
    char got[64];
    const json_t *v;
    const json_t *rules;
    const char *index = export_index;
    int64_t chain_id;
    size_t i;
    int rc;

    *canon = NULL;
    if (!json_is_object(seg))
        return tw_val_type_fail(seg, path, "an object", err);
    if ((rc = tw_val_keys(seg, keys, NULL, path, err)) != TW_OK)
        return rc;
    if ((v = json_object_get(seg, "entity")) != NULL &&
        (rc = tw_val_enum(v, tw_val_path(p, path, "entity"), entities, &i, err)) != TW_OK)
        return rc;
    if ((v = json_object_get(seg, "index")) != NULL) {
        if ((rc = tw_val_enum(v, tw_val_path(p, path, "index"), indexes, &i, err)) != TW_OK)
            return rc;
        if (export_index != NULL && strcmp(json_string_value(v), export_index) != 0)
            return tw_val_fail(err, p, "must equal target.export_index \"%s\" (got %s)",
                               export_index, tw_val_got(v, got, sizeof(got)));
        index = indexes[i];
    }
    if ((v = json_object_get(seg, "join")) != NULL &&
        (rc = tw_val_enum(v, tw_val_path(p, path, "join"), joins, &i, err)) != TW_OK)
        return rc;
    if ((v = json_object_get(seg, "chain_id")) != NULL) {
        if ((rc = tw_val_int(v, tw_val_path(p, path, "chain_id"), 1, &chain_id, err)) != TW_OK)
            return rc;
        if (chain != 0 && chain_id != chain)
            return tw_val_fail(err, p, "must equal the task's chain %" PRId64 " (got %" PRId64 ")",
                               chain, chain_id);
    }
    tw_val_path(p, path, "rules");
    if ((rules = json_object_get(seg, "rules")) == NULL)
        return tw_val_fail(err, p, "is required (an array of rules; [] selects every record)");
    if (!json_is_array(rules))
        return tw_val_type_fail(rules, p, "an array", err);
    if (json_array_size(rules) > MAX_RULES)
        return tw_val_fail(err, p, "must hold at most %d rules (got %zu)", MAX_RULES,
                           json_array_size(rules));
    for (i = 0; i < json_array_size(rules); i++) {
        if ((rc = check_rule(json_array_get(rules, i), p, i, err)) != TW_OK)
            return rc;
    }

    if ((*canon = canonical(seg)) == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory validating %s", path);
    if (check != NULL && index != NULL) {
        tw_err_clear(err);
        rc = check(check_ctx, *canon, index, chain, path, err);
        if (rc != TW_OK) {
            json_decref(*canon);
            *canon = NULL;
            if (err != NULL && err->code == TW_OK)
                tw_err_field(err, TW_EINVAL, path, "%s: invalid segment", path);
            return rc < 0 ? rc : TW_EINVAL;
        }
    }
    return TW_OK;
}
