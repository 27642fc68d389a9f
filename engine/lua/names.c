/*
 * The installed scripts of a folder (lua.h): what `export_format` and a rule's `script` may
 * name. Only names the API accepts are listed (letters, digits, '_' and '-'), so what is
 * listed can always be chosen and a stray "notes.old.lua" cannot appear in a 400 message.
 */
#include "lua/lua.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/mem.h"

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
#define MAX_NAME 128 /* longer names are skipped */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The stem of a listed script file ("x" for "x.lua"), or NULL to skip the entry. */
static char *script_stem(const char *dir, const char *entry)
{
    size_t len = strlen(entry);
    char path[4096];
    struct stat st;

    if (len <= 4 || len - 4 > MAX_NAME || strcmp(entry + len - 4, ".lua") != 0 ||
        strspn(entry, NAME_CHARS) != len - 4)
        return NULL;
    if (snprintf(path, sizeof(path), "%s/%s", dir, entry) >= (int)sizeof(path) ||
        stat(path, &st) == -1 || !S_ISREG(st.st_mode))
        return NULL;
    return tw_strndup(entry, len - 4);
}

int tw_lua_names(const char *dir, char ***names, struct tw_err *err)
{
    struct dirent *de;
    char **list;
    char **grown;
    size_t n = 0;
    size_t cap = 8;
    char *stem;
    int ret = TW_ENOMEM;
    DIR *d;

    *names = NULL;
    list = tw_calloc(cap + 1, sizeof(*list));
    if (list == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory listing %s", dir);
    d = opendir(dir);
    if (d == NULL) {
        if (errno == ENOENT) {
            *names = list; /* no folder, no scripts */
            return TW_OK;
        }
        ret = tw_err_set(err, TW_EIO, "cannot list scripts in %s (%s)", dir, strerror(errno));
        goto fail;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        stem = script_stem(dir, de->d_name);
        if (stem == NULL)
            continue;
        if (n == cap) {
            grown = tw_realloc(list, (cap * 2 + 1) * sizeof(*list));
            if (grown == NULL) {
                tw_free(stem);
                goto fail_nomem;
            }
            list = grown;
            cap *= 2;
        }
        list[n++] = stem;
        list[n] = NULL;
    }
    closedir(d);
    qsort(list, n, sizeof(*list), cmp_names);
    *names = list;
    return TW_OK;
fail_nomem:
    closedir(d);
    ret = tw_err_set(err, TW_ENOMEM, "out of memory listing %s", dir);
fail:
    tw_lua_names_destroy(list);
    return ret;
}

void tw_lua_names_destroy(char **names)
{
    size_t i;

    for (i = 0; names != NULL && names[i] != NULL; i++)
        tw_free(names[i]);
    tw_free(names);
}
