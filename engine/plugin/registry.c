/*
 * The registry of index plugins: what `taskwheel serve` loads at startup and every run looks
 * its export_index up in. Plugins are loaded from plugins_dir in file-name order, so which of
 * two plugins claiming one index wins is deterministic (the first; the second is refused).
 * The registry is filled once, before workers fork, and read-only afterwards: workers inherit
 * the loaded libraries and never dlopen themselves.
 */
#include "plugin/plugin_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"

int tw_plugin_registry_create(struct tw_plugin_registry **out, struct tw_err *err)
{
    *out = tw_calloc(1, sizeof(**out));
    if (*out == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory creating the plugin registry");
    return TW_OK;
}

void tw_plugin_registry_destroy(struct tw_plugin_registry *reg)
{
    size_t i;

    if (reg == NULL)
        return;
    for (i = 0; i < reg->n; i++)
        tw_plugin_destroy(reg->plugins[i]);
    for (i = 0; i < reg->nrefused; i++)
        tw_free(reg->refused[i]);
    tw_free(reg->plugins);
    tw_free(reg->refused);
    tw_free(reg);
}

int tw_plugin_registry_push(struct tw_plugin_registry *reg, struct tw_plugin *p, struct tw_err *err)
{
    struct tw_plugin **v;
    size_t cap;

    if (reg->n == reg->cap) {
        cap = reg->cap ? reg->cap * 2 : 8;
        v = tw_realloc(reg->plugins, cap * sizeof(*v));
        if (v == NULL) {
            tw_plugin_destroy(p);
            return tw_err_set(err, TW_ENOMEM, "out of memory loading plugins");
        }
        reg->plugins = v;
        reg->cap = cap;
    }
    reg->plugins[reg->n++] = p;
    tw_log(TW_LOG_INFO, "plugin.loaded", "index", p->desc.index, "file", p->file, NULL);
    return TW_OK;
}

void tw_plugin_registry_refuse(struct tw_plugin_registry *reg, const struct tw_err *err)
{
    const char *msg = err != NULL ? err->msg : "refused";
    char **v;
    char *copy;

    tw_log(TW_LOG_ERROR, "plugin.refused", "msg", msg, NULL);
    if (reg->nrefused == reg->refused_cap) {
        v = tw_realloc(reg->refused, (reg->refused_cap ? reg->refused_cap * 2 : 8) * sizeof(*v));
        if (v == NULL)
            return; /* the message was logged; listing it again is a nicety */
        reg->refused = v;
        reg->refused_cap = reg->refused_cap ? reg->refused_cap * 2 : 8;
    }
    copy = tw_strdup(msg);
    if (copy != NULL)
        reg->refused[reg->nrefused++] = copy;
}

static bool is_so(const char *name)
{
    size_t n = strlen(name);

    return name[0] != '.' && n > 3 && strcmp(name + n - 3, ".so") == 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The "*.so" names in dir, sorted; *names owned by the caller (free each and the array). */
static int list_dir(const char *dir, char ***names, size_t *n, struct tw_err *err)
{
    struct dirent *de;
    char **v = NULL;
    char **grown;
    size_t cap = 0;
    DIR *d;
    int ret = TW_OK;

    *n = 0;
    d = opendir(dir);
    if (d == NULL)
        return tw_err_set(err, TW_EIO, "plugins_dir %s: %s", dir, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        if (!is_so(de->d_name))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            grown = tw_realloc(v, cap * sizeof(*v));
            if (grown == NULL) {
                ret = tw_err_set(err, TW_ENOMEM, "out of memory listing %s", dir);
                break;
            }
            v = grown;
        }
        v[*n] = tw_strdup(de->d_name);
        if (v[*n] == NULL) {
            ret = tw_err_set(err, TW_ENOMEM, "out of memory listing %s", dir);
            break;
        }
        (*n)++;
    }
    closedir(d);
    if (*n > 0)
        qsort(v, *n, sizeof(*v), by_name);
    *names = v;
    return ret;
}

int tw_plugin_registry_load_dir(struct tw_plugin_registry *reg, const char *dir, struct tw_err *err)
{
    char **names = NULL;
    char path[4096];
    size_t n = 0;
    size_t i;
    int ret;

    ret = list_dir(dir, &names, &n, err);
    for (i = 0; i < n; i++) {
        if (ret == TW_OK) {
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
            /* A refusal is logged and remembered; only running out of memory stops the scan. */
            if (tw_plugin_registry_load_file(reg, path, err) == TW_ENOMEM)
                ret = TW_ENOMEM;
        }
        tw_free(names[i]);
    }
    tw_free(names);
    if (ret == TW_OK)
        tw_err_clear(err);
    return ret;
}

const struct tw_plugin *tw_plugin_registry_find(const struct tw_plugin_registry *reg,
                                                const char *index)
{
    size_t i;

    for (i = 0; i < reg->n; i++)
        if (strcmp(reg->plugins[i]->desc.index, index) == 0)
            return reg->plugins[i];
    return NULL;
}

size_t tw_plugin_registry_count(const struct tw_plugin_registry *reg)
{
    return reg->n;
}

const struct tw_plugin *tw_plugin_registry_at(const struct tw_plugin_registry *reg, size_t i)
{
    return i < reg->n ? reg->plugins[i] : NULL;
}

const char *tw_plugin_registry_refused(const struct tw_plugin_registry *reg, size_t i)
{
    return i < reg->nrefused ? reg->refused[i] : NULL;
}

static void print_fields(FILE *out, const struct tw_field *f, int indent)
{
    for (; f->name != NULL; f++) {
        fprintf(out, "%*s%-*s %-9s %-8s%s%s\n", indent, "", 28 - indent, f->name,
                tw_field_type_name(f->type), tw_field_seg_type_name(tw_field_seg_type(f->type)),
                (f->flags & TW_FIELD_FILTERABLE) ? " filterable" : "",
                (f->flags & TW_FIELD_NESTED) ? " nested" : "");
        if (f->type == TW_FIELD_LIST)
            print_fields(out, f->nested, indent + 2);
    }
}

int tw_plugin_registry_print(const struct tw_plugin_registry *reg, FILE *out)
{
    const struct tw_plugin *p;
    size_t i;

    for (i = 0; i < reg->n; i++) {
        p = reg->plugins[i];
        fprintf(out, "%s%s  label %s  version %s  file %s\n", i > 0 ? "\n" : "", p->desc.index,
                p->desc.label, p->desc.version, p->file);
        /* ABI 1.1: what target.since compares (docs/reference.md §13); "none" refuses since. */
        fprintf(out, "  changes: %s\n",
                p->desc.change_column != NULL ? p->desc.change_column : "none (no target.since)");
        fprintf(out, "  %-26s %-9s %-8s flags\n", "field", "type", "segment");
        print_fields(out, p->desc.fields, 2);
    }
    for (i = 0; i < reg->nrefused; i++)
        fprintf(out, "%srefused: %s\n", i == 0 && reg->n > 0 ? "\n" : "", reg->refused[i]);
    fflush(out);
    return ferror(out) ? TW_EIO : TW_OK;
}
