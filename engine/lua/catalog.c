/*
 * The catalog of installed scripts (lua.h): the names in lua_dir/segments and lua_dir/formats,
 * kept current without a restart (issue 11 #20). A refresh costs two stat(2) calls; the
 * folders are listed again only when one of them changed: appeared, went away, was replaced
 * (device, inode) or had an entry added, removed or renamed (its mtime).
 *
 * mtime alone can miss a change: the kernel stamps directories with a coarse clock (one tick,
 * a few ms), so a file added in the same tick as the listing leaves the mtime as it was. A
 * listing taken less than RACY_S seconds after the folder's mtime is therefore "racy" and the
 * next refresh lists again (git's racy-index rule); once the folder has been quiet that long,
 * stat alone decides.
 */
#include "lua/lua.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/mem.h"

#define RACY_S 2

struct dir_state {
    char path[4096];
    bool exists;
    dev_t dev;
    ino_t ino;
    struct timespec mtime;
    bool racy;    /* listed too soon after its mtime to trust an unchanged one */
    char **names; /* tw_lua_names */
};

struct tw_lua_catalog {
    struct dir_state dirs[2]; /* 0: segments, 1: formats */
    bool listed;
};

static bool same_time(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Has d changed since it was listed? *st gets its stat (exists false when it is gone). */
static bool changed(const struct dir_state *d, struct stat *st, bool *exists)
{
    *exists = stat(d->path, st) == 0 && S_ISDIR(st->st_mode);
    if (*exists != d->exists)
        return true;
    if (!*exists)
        return false;
    return d->racy || st->st_dev != d->dev || st->st_ino != d->ino ||
           !same_time(&st->st_mtim, &d->mtime);
}

static int list_dir(struct dir_state *d, const struct stat *st, bool exists, struct tw_err *err)
{
    struct timespec now;
    char **names = NULL;
    int rc;

    rc = tw_lua_names(d->path, &names, err);
    if (rc != TW_OK)
        return rc;
    tw_lua_names_destroy(d->names);
    d->names = names;
    d->exists = exists;
    if (exists) {
        d->dev = st->st_dev;
        d->ino = st->st_ino;
        d->mtime = st->st_mtim;
        clock_gettime(CLOCK_REALTIME, &now);
        d->racy = now.tv_sec - st->st_mtim.tv_sec < RACY_S;
    } else {
        d->racy = false;
    }
    return TW_OK;
}

int tw_lua_catalog_create(const char *lua_dir, struct tw_lua_catalog **out, struct tw_err *err)
{
    struct tw_lua_catalog *c = tw_calloc(1, sizeof(*c));
    bool changed_now;
    int rc;

    *out = NULL;
    if (c == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory listing lua_dir");
    if (snprintf(c->dirs[0].path, sizeof(c->dirs[0].path), "%s/segments", lua_dir) >=
            (int)sizeof(c->dirs[0].path) ||
        snprintf(c->dirs[1].path, sizeof(c->dirs[1].path), "%s/formats", lua_dir) >=
            (int)sizeof(c->dirs[1].path)) {
        tw_free(c);
        return tw_err_set(err, TW_EINVAL, "lua_dir is too long: %s", lua_dir);
    }
    rc = tw_lua_catalog_refresh(c, TW_LUA_CATALOG_SEGMENTS | TW_LUA_CATALOG_FORMATS, true,
                                &changed_now, err);
    if (rc != TW_OK) {
        tw_lua_catalog_destroy(c);
        return rc;
    }
    *out = c;
    return TW_OK;
}

void tw_lua_catalog_destroy(struct tw_lua_catalog *c)
{
    if (c == NULL)
        return;
    tw_lua_names_destroy(c->dirs[0].names);
    tw_lua_names_destroy(c->dirs[1].names);
    tw_free(c);
}

/* Do two NULL-terminated name lists hold the same names? */
static bool same_names(char *const *a, char *const *b)
{
    size_t i;

    for (i = 0; a[i] != NULL && b[i] != NULL; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return a[i] == NULL && b[i] == NULL;
}

int tw_lua_catalog_refresh(struct tw_lua_catalog *c, unsigned which, bool force, bool *changed_out,
                           struct tw_err *err)
{
    struct stat st;
    bool exists = false;
    int i, rc;

    memset(&st, 0, sizeof(st));
    *changed_out = false;
    for (i = 0; i < 2; i++) {
        struct dir_state *d = &c->dirs[i];
        char **before = d->names;

        if (c->listed && !(which & (i == 0 ? TW_LUA_CATALOG_SEGMENTS : TW_LUA_CATALOG_FORMATS)))
            continue;
        if (!force && c->listed && !changed(d, &st, &exists))
            continue;
        if (force || !c->listed)
            exists = stat(d->path, &st) == 0 && S_ISDIR(st.st_mode);
        d->names = NULL;
        rc = list_dir(d, &st, exists, err);
        if (rc != TW_OK) {
            d->names = before; /* keep what was listed last */
            return rc;
        }
        /* Unchanged names keep their old array: callers hold pointers into it (serve.c's
         * format list), and a relisting of a recently touched directory must not free them. */
        if (before != NULL && same_names(before, d->names)) {
            tw_lua_names_destroy(d->names);
            d->names = before;
        } else {
            *changed_out = true;
            tw_lua_names_destroy(before);
        }
    }
    c->listed = true;
    return TW_OK;
}

char *const *tw_lua_catalog_segments(const struct tw_lua_catalog *c)
{
    return c->dirs[0].names;
}

char *const *tw_lua_catalog_formats(const struct tw_lua_catalog *c)
{
    return c->dirs[1].names;
}
