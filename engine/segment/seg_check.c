/*
 * What depends on the index (docs/reference.md §6.2): field_name names a filterable field of the index
 * (with nested, a sub-field of nesting_path), and field_type is that field's segment type.
 * Messages list the valid choices, so a client can correct the rule without reading docs.
 */
#include <stdio.h>
#include <string.h>

#include "segment/seg_int.h"

/* Append the filterable names of fields (prefixed with list "." for a nested table). */
static void list_names(char *buf, size_t size, const struct tw_field *fields, const char *list)
{
    size_t len = strlen(buf);
    const struct tw_field *f;

    for (f = fields; f->name != NULL && len + 1 < size; f++) {
        if (f->type == TW_FIELD_LIST) {
            if (list == NULL && f->nested != NULL)
                list_names(buf, size, f->nested, f->name);
            len = strlen(buf);
            continue;
        }
        if (!(f->flags & TW_FIELD_FILTERABLE))
            continue;
        snprintf(buf + len, size - len, "%s%s%s%s", len ? ", " : "", list ? list : "",
                 list ? "." : "", f->name);
        len = strlen(buf);
    }
}

static int find(const struct tw_field *fields, const char *name)
{
    int i;

    for (i = 0; fields[i].name != NULL; i++)
        if (strcmp(fields[i].name, name) == 0)
            return i;
    return -1;
}

/* The LIST column whose sub-field table has name, or -1. */
static int find_nested_owner(const struct tw_field *fields, const char *name)
{
    int i;

    for (i = 0; fields[i].name != NULL; i++)
        if (fields[i].type == TW_FIELD_LIST && fields[i].nested != NULL &&
            find(fields[i].nested, name) >= 0)
            return i;
    return -1;
}

int tw_seg_resolve(const json_t *rule, const char *index, const struct tw_field *fields,
                   const char *rule_path, struct tw_seg_ref *ref, struct tw_err *err)
{
    const char *name = json_string_value(json_object_get(rule, "field_name"));
    const char *nesting = json_string_value(json_object_get(rule, "nesting_path"));
    bool nested = json_is_true(json_object_get(rule, "nested"));
    char path[192], valid[512] = "";
    size_t nl;
    int i, s;

    snprintf(path, sizeof(path), "%s.field_name", rule_path);
    if (name == NULL)
        return tw_err_field(err, TW_EINVAL, path, "%s: is required", path);
    list_names(valid, sizeof(valid), fields, NULL);
    if (!nested) {
        i = find(fields, name);
        if (i < 0 && find_nested_owner(fields, name) >= 0) {
            int owner = find_nested_owner(fields, name);

            snprintf(path, sizeof(path), "%s.nested", rule_path);
            return tw_err_field(err, TW_EINVAL, path,
                                "%s: \"%s\" is a field of the nested list \"%s\"; set "
                                "\"nested\": true and \"nesting_path\": \"%s\"",
                                path, name, fields[owner].name, fields[owner].name);
        }
        if (i < 0 || fields[i].type == TW_FIELD_LIST || !(fields[i].flags & TW_FIELD_FILTERABLE))
            return tw_err_field(err, TW_EINVAL, path,
                                "%s: \"%s\" is not a filterable field of index %s (valid: %s)",
                                path, name, index, valid);
        ref->field = (uint32_t)i;
        ref->sub = TW_COND_TOP;
        ref->f = &fields[i];
        return TW_OK;
    }
    i = nesting ? find(fields, nesting) : -1;
    if (i < 0 || fields[i].type != TW_FIELD_LIST || fields[i].nested == NULL) {
        snprintf(path, sizeof(path), "%s.nesting_path", rule_path);
        valid[0] = '\0';
        for (s = 0; fields[s].name != NULL; s++)
            if (fields[s].type == TW_FIELD_LIST)
                snprintf(valid + strlen(valid), sizeof(valid) - strlen(valid), "%s%s",
                         valid[0] ? ", " : "", fields[s].name);
        return tw_err_field(err, TW_EINVAL, path,
                            "%s: \"%s\" is not a nested list of index %s (valid: %s)", path,
                            nesting ? nesting : "", index, valid[0] ? valid : "none");
    }
    nl = strlen(nesting);
    if (strncmp(name, nesting, nl) == 0 && name[nl] == '.')
        name += nl + 1; /* "items.retailer_product_code" */
    s = find(fields[i].nested, name);
    if (s < 0 || !(fields[i].nested[s].flags & TW_FIELD_FILTERABLE)) {
        valid[0] = '\0';
        list_names(valid, sizeof(valid), fields[i].nested, nesting);
        return tw_err_field(err, TW_EINVAL, path,
                            "%s: \"%s\" is not a filterable field of %s.%s (valid: %s)", path, name,
                            index, nesting, valid);
    }
    ref->field = (uint32_t)i;
    ref->sub = (uint32_t)s;
    ref->f = &fields[i].nested[s];
    return TW_OK;
}

int tw_seg_check(const json_t *segment, const char *index, const struct tw_field *fields,
                 const char *path, struct tw_err *err)
{
    const json_t *rules = json_object_get(segment, "rules");
    const json_t *rule;
    struct tw_seg_ref ref;
    char rule_path[160], fpath[192];
    const char *op, *type, *want;
    size_t i;
    int rc;

    json_array_foreach(rules, i, rule)
    {
        snprintf(rule_path, sizeof(rule_path), "%s.rules[%zu]", path, i);
        op = json_string_value(json_object_get(rule, "operator"));
        if (op != NULL && strcmp(op, "script") == 0)
            continue; /* no field; the name: tw_seg_check_scripts */
        rc = tw_seg_resolve(rule, index, fields, rule_path, &ref, err);
        if (rc != TW_OK)
            return rc;
        type = json_string_value(json_object_get(rule, "field_type"));
        want = tw_field_seg_type_name(tw_field_seg_type(ref.f->type));
        if (type == NULL || strcmp(type, want) != 0) {
            snprintf(fpath, sizeof(fpath), "%s.field_type", rule_path);
            return tw_err_field(err, TW_EINVAL, fpath,
                                "%s: field %s of index %s is of type \"%s\" (got \"%s\")", fpath,
                                ref.f->name, index, want, type ? type : "");
        }
    }
    return TW_OK;
}

int tw_seg_check_scripts(const json_t *segment, const char *const *scripts, const char *path,
                         struct tw_err *err)
{
    const json_t *rule;
    const char *op, *name;
    char fpath[192], valid[400] = "";
    size_t i, k;

    json_array_foreach(json_object_get(segment, "rules"), i, rule)
    {
        op = json_string_value(json_object_get(rule, "operator"));
        if (op == NULL || strcmp(op, "script") != 0)
            continue;
        name = json_string_value(json_object_get(rule, "script"));
        for (k = 0; scripts != NULL && scripts[k] != NULL; k++)
            if (name != NULL && strcmp(name, scripts[k]) == 0)
                break;
        if (scripts != NULL && scripts[k] != NULL)
            continue;
        for (k = 0; scripts != NULL && scripts[k] != NULL && strlen(valid) + 80 < sizeof(valid);
             k++)
            snprintf(valid + strlen(valid), sizeof(valid) - strlen(valid), "%s%s",
                     valid[0] ? ", " : "", scripts[k]);
        snprintf(fpath, sizeof(fpath), "%s.rules[%zu].script", path, i);
        return tw_err_field(err, TW_EINVAL, fpath,
                            "%s: no Lua segment script \"%s\" is installed (installed: %s)", fpath,
                            name ? name : "", valid[0] ? valid : "none");
    }
    return TW_OK;
}
