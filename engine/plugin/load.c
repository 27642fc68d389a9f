/*
 * Loading one index plugin and checking its descriptor (STYLE §2.6), in this order:
 *   1. dlopen(RTLD_NOW | RTLD_LOCAL): unresolved symbols fail now, nothing leaks into the
 *      global namespace;
 *   2. the entry symbol tw_index_plugin_v1;
 *   3. ABI major equal, descriptor size at least the 1.0 size, ABI minor not newer than ours,
 *      then a copy of min(size, ours) into a zeroed local, so an older plugin's missing tail
 *      reads as NULL (nothing past its size is ever read);
 *   4. build signature, required members, duplicate index;
 *   5. field table (names present, unique and plain; types known; lists have sub-fields).
 * Each refusal names the file and the reason; the caller carries on with the other plugins.
 * In-process descriptors (tw_plugin_registry_add) join at step 3, so both share one path.
 */
#include "plugin/plugin_int.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"

#define MAX_FIELDS 256
#define MAX_NAME 64

/* Everything up to and including close: what an ABI 1.0 plugin must provide. */
#define DESC_SIZE_V1_0 (offsetof(struct tw_index_plugin, close) + sizeof(void (*)(void *)))

uint32_t tw_field_count(const struct tw_field *fields)
{
    uint32_t n = 0;

    while (fields != NULL && (fields[n].name != NULL || fields[n].type != 0))
        n++;
    return n;
}

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

/* Names end up in SQL, CSV headers, JSON keys and file names: keep them plain. */
static bool plain_name(const char *s, bool dash)
{
    size_t n = strlen(s);

    if (n == 0 || n > MAX_NAME)
        return false;
    return strspn(s, dash ? NAME_CHARS "-" : NAME_CHARS) == n;
}

/*
 * Check one field table; nested is true for a LIST's sub-field table (which may not nest
 * again: the CSV flattening and the "any element" rules assume one level).
 */
int tw_plugin_check_fields(const struct tw_field *fields, bool nested, struct tw_err *err)
{
    const struct tw_field *f;
    uint32_t n = tw_field_count(fields);
    uint32_t i;
    uint32_t j;
    int ret;

    if (fields == NULL || n == 0)
        return tw_err_set(err, TW_EINVAL, "%s field table is empty", nested ? "a nested" : "the");
    if (n > MAX_FIELDS)
        return tw_err_set(err, TW_EINVAL, "more than %d fields", MAX_FIELDS);
    for (i = 0; i < n; i++) {
        f = &fields[i];
        if (f->name == NULL || f->name[0] == '\0')
            return tw_err_set(err, TW_EINVAL, "field %u has no name", i);
        if (!plain_name(f->name, false))
            return tw_err_set(err, TW_EINVAL,
                              "field \"%.80s\": names are 1-%d letters, digits or _", f->name,
                              MAX_NAME);
        for (j = 0; j < i; j++)
            if (strcmp(fields[j].name, f->name) == 0)
                return tw_err_set(err, TW_EINVAL, "field \"%s\" appears twice", f->name);
        if (f->type < TW_FIELD_INT || f->type > TW_FIELD_LIST)
            return tw_err_set(err, TW_EINVAL, "field \"%s\" has unknown type %u", f->name, f->type);
        if (f->flags & ~(TW_FIELD_FILTERABLE | TW_FIELD_NESTED))
            return tw_err_set(err, TW_EINVAL, "field \"%s\" has unknown flags 0x%x", f->name,
                              f->flags);
        if (f->reserved[0] != NULL || f->reserved[1] != NULL)
            return tw_err_set(err, TW_EINVAL, "field \"%s\": reserved members must be NULL",
                              f->name);
        if (f->type != TW_FIELD_LIST) {
            if (f->nested != NULL || (f->flags & TW_FIELD_NESTED))
                return tw_err_set(
                    err, TW_EINVAL,
                    "field \"%s\" has sub-fields or the nested flag but is not a list", f->name);
            continue;
        }
        if (nested)
            return tw_err_set(err, TW_EINVAL, "nested field \"%s\" is a list: lists nest one level",
                              f->name);
        if (!(f->flags & TW_FIELD_NESTED))
            return tw_err_set(err, TW_EINVAL, "list field \"%s\" lacks the nested flag", f->name);
        if (f->nested == NULL || tw_field_count(f->nested) == 0)
            return tw_err_set(err, TW_EINVAL, "list field \"%s\" has no sub-fields", f->name);
        ret = tw_plugin_check_fields(f->nested, true, err);
        if (ret != TW_OK) {
            tw_err_prefix(err, "list \"%s\"", f->name);
            return ret;
        }
    }
    return TW_OK;
}

int tw_plugin_check_desc(const struct tw_index_plugin *d, struct tw_err *err)
{
    if (d->signature == NULL || strcmp(d->signature, TW_BUILD_SIG) != 0)
        return tw_err_set(err, TW_EINVAL,
                          "built for another platform (signature \"%.60s\", engine \"%s\")",
                          d->signature != NULL ? d->signature : "none", TW_BUILD_SIG);
    if (d->index == NULL || !plain_name(d->index, true))
        return tw_err_set(err, TW_EINVAL, "index name missing or not [A-Za-z0-9_-]{1,%d}",
                          MAX_NAME);
    if (d->label == NULL || !plain_name(d->label, true))
        return tw_err_set(err, TW_EINVAL,
                          "index %s: label missing or not [A-Za-z0-9_-]{1,%d} (it names files)",
                          d->index, MAX_NAME);
    if (d->version == NULL || d->fields == NULL || d->open == NULL || d->next == NULL ||
        d->close == NULL)
        return tw_err_set(err, TW_EINVAL,
                          "index %s: version, fields, open, next and close are all required",
                          d->index);
    return TW_OK;
}

/*
 * Steps 3-5 over a descriptor that may be shorter than ours. dl (may be NULL) is stolen: it is
 * closed on refusal and owned by the new entry on success.
 */
static int adopt(struct tw_plugin_registry *reg, const struct tw_index_plugin *src,
                 const char *origin, void *dl, struct tw_err *err)
{
    struct tw_plugin *p = NULL;
    const struct tw_plugin *other;
    int ret;

    if (src->abi_major != TW_ABI_MAJOR) {
        ret = tw_err_set(err, TW_EINVAL, "built for ABI %u.%u, the engine has ABI %d.%d",
                         src->abi_major, src->abi_minor, TW_ABI_MAJOR, TW_ABI_MINOR);
        goto refuse;
    }
    if (src->size < DESC_SIZE_V1_0) {
        ret = tw_err_set(err, TW_EINVAL, "descriptor is %u bytes, ABI 1.0 needs at least %zu",
                         src->size, (size_t)DESC_SIZE_V1_0);
        goto refuse;
    }
    if (src->abi_minor > TW_ABI_MINOR) {
        ret = tw_err_set(err, TW_EINVAL, "needs ABI %u.%u, the engine has ABI %d.%d (upgrade it)",
                         src->abi_major, src->abi_minor, TW_ABI_MAJOR, TW_ABI_MINOR);
        goto refuse;
    }
    p = tw_calloc(1, sizeof(*p));
    if (p == NULL) {
        ret = tw_err_set(err, TW_ENOMEM, "out of memory");
        goto refuse;
    }
    memcpy(&p->desc, src, src->size < sizeof(p->desc) ? src->size : sizeof(p->desc));
    ret = tw_plugin_check_desc(&p->desc, err);
    if (ret != TW_OK)
        goto refuse;
    other = tw_plugin_registry_find(reg, p->desc.index);
    if (other != NULL) {
        ret = tw_err_set(err, TW_EINVAL, "index %s is already served by %s", p->desc.index,
                         other->file);
        goto refuse;
    }
    ret = tw_plugin_check_fields(p->desc.fields, false, err);
    if (ret != TW_OK) {
        tw_err_prefix(err, "index %s: bad field table", p->desc.index);
        goto refuse;
    }
    p->nfields = tw_field_count(p->desc.fields);
    p->file = tw_strdup(origin);
    if (p->file == NULL) {
        ret = tw_err_set(err, TW_ENOMEM, "out of memory");
        goto refuse;
    }
    p->dl = dl;
    return tw_plugin_registry_push(reg, p, err);
refuse:
    tw_free(p);
    if (dl != NULL)
        dlclose(dl);
    return ret;
}

static int refused(struct tw_plugin_registry *reg, const char *path, struct tw_err *err)
{
    tw_err_prefix(err, "plugin %s", path);
    tw_plugin_registry_refuse(reg, err);
    return err != NULL ? err->code : TW_EINVAL;
}

int tw_plugin_registry_load_file(struct tw_plugin_registry *reg, const char *path,
                                 struct tw_err *err)
{
    struct tw_err local;
    const struct tw_index_plugin *d;
    void *dl;
    int ret;

    if (err == NULL)
        err = &local;
    tw_err_clear(err);
    dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        tw_err_set(err, TW_EINVAL, "cannot load: %s (use ldd(1) to check its dependencies)",
                   dlerror());
        return refused(reg, path, err);
    }
    d = dlsym(dl, TW_PLUGIN_SYMBOL);
    if (d == NULL) {
        dlclose(dl);
        tw_err_set(err, TW_EINVAL, "does not export %s: not a taskwheel index plugin",
                   TW_PLUGIN_SYMBOL);
        return refused(reg, path, err);
    }
    ret = adopt(reg, d, path, dl, err);
    if (ret == TW_OK || ret == TW_ENOMEM)
        return ret;
    return refused(reg, path, err);
}

int tw_plugin_registry_add(struct tw_plugin_registry *reg, const struct tw_index_plugin *desc,
                           const char *origin, struct tw_err *err)
{
    struct tw_err local;
    int ret;

    if (err == NULL)
        err = &local;
    tw_err_clear(err);
    ret = adopt(reg, desc, origin, NULL, err);
    if (ret == TW_OK || ret == TW_ENOMEM)
        return ret;
    return refused(reg, origin, err);
}

void tw_plugin_destroy(struct tw_plugin *p)
{
    if (p == NULL)
        return;
    if (p->dl != NULL)
        dlclose(p->dl);
    tw_free(p->file);
    tw_free(p);
}
