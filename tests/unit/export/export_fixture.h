/*
 * Shared by the export unit tests: a private temporary directory per test, whole-file reads,
 * a strict RFC 4180 reader to parse results back, and a one-call export through a plugin of
 * a registry. Functions are static inline so each test uses any subset without warnings.
 */
#ifndef TW_TESTS_UNIT_EXPORT_FIXTURE_H
#define TW_TESTS_UNIT_EXPORT_FIXTURE_H

#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export/export.h"

#define FIXTURES TW_BUILD_DIR "/tests/plugins"
#define BUILTINS TW_BUILD_DIR "/plugins"

struct xfx {
    char dir[64];                   /* temporary directory, removed at teardown */
    struct tw_plugin_registry *reg; /* loaded plugins, or NULL */
};

static inline void xfx_setup(struct xfx *f, const char *plugins_dir)
{
    struct tw_err err;

    snprintf(f->dir, sizeof(f->dir), "/tmp/tw_export_XXXXXX");
    cr_assert_not_null(mkdtemp(f->dir));
    f->reg = NULL;
    if (plugins_dir == NULL)
        return;
    cr_assert_eq(tw_plugin_registry_create(&f->reg, &err), TW_OK);
    cr_assert_eq(tw_plugin_registry_load_dir(f->reg, plugins_dir, &err), TW_OK, "%s", err.msg);
}

static inline int xfx_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static inline void xfx_teardown(struct xfx *f)
{
    tw_plugin_registry_destroy(f->reg);
    nftw(f->dir, xfx_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * In a forked child: when running as root, give dir (when not NULL) to the user "nobody" and
 * become nobody (groups, gid, then uid), so that file permissions apply as they do to anyone.
 * 0 on success (or when not root), -1 when a step failed.
 */
static inline int xfx_drop_root(const char *dir)
{
    struct passwd *pw;

    if (geteuid() != 0)
        return 0;
    pw = getpwnam("nobody");
    if (pw == NULL)
        return -1;
    if (dir != NULL && chown(dir, pw->pw_uid, pw->pw_gid) != 0)
        return -1;
    if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
        return -1;
    return 0;
}

/* The whole file (NUL-terminated, caller frees) and its length. */
static inline char *xfx_read(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    cr_assert_not_null(fp, "open %s", path);
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    cr_assert_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    if (len != NULL)
        *len = (size_t)n;
    return buf;
}

/* How many entries dir holds besides . and .. (temp files included). */
static inline int xfx_count_files(const char *dir)
{
    char cmd[256];
    FILE *p;
    int n = -1;

    snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
    p = popen(cmd, "r");
    cr_assert_eq(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

/* ---- a strict RFC 4180 reader ---- */

struct csv_doc {
    char ***rows;   /* rows[r][c], NUL-terminated cells */
    size_t *ncells; /* cells per row */
    size_t nrows;
};

/* Parse text; fails the test on anything RFC 4180 forbids (bare LF, stray quote). */
static inline void csv_parse(const char *text, struct csv_doc *doc)
{
    const char *p = text;
    char *cell = malloc(strlen(text) + 1);
    size_t clen;
    size_t cap = 0;

    memset(doc, 0, sizeof(*doc));
    while (*p != '\0') {
        char **cells = NULL;
        size_t n = 0;

        for (;;) {
            clen = 0;
            if (*p == '"') {
                p++;
                for (;;) {
                    cr_assert(*p != '\0', "unterminated quoted cell");
                    if (*p == '"' && p[1] == '"') {
                        cell[clen++] = '"';
                        p += 2;
                    } else if (*p == '"') {
                        p++;
                        break;
                    } else {
                        cell[clen++] = *p++;
                    }
                }
            } else {
                while (*p != ',' && *p != '\r' && *p != '\0') {
                    cr_assert(*p != '"' && *p != '\n', "bare quote or LF in an unquoted cell");
                    cell[clen++] = *p++;
                }
            }
            cell[clen] = '\0';
            cells = realloc(cells, (n + 1) * sizeof(*cells));
            cells[n++] = strdup(cell);
            if (*p == ',') {
                p++;
                continue;
            }
            cr_assert(p[0] == '\r' && p[1] == '\n', "row does not end with CRLF");
            p += 2;
            break;
        }
        if (doc->nrows == cap) {
            cap = cap ? cap * 2 : 16;
            doc->rows = realloc(doc->rows, cap * sizeof(*doc->rows));
            doc->ncells = realloc(doc->ncells, cap * sizeof(*doc->ncells));
        }
        doc->rows[doc->nrows] = cells;
        doc->ncells[doc->nrows++] = n;
    }
    free(cell);
}

static inline void csv_free(struct csv_doc *doc)
{
    size_t r, c;

    for (r = 0; r < doc->nrows; r++) {
        for (c = 0; c < doc->ncells[r]; c++)
            free(doc->rows[r][c]);
        free(doc->rows[r]);
    }
    free(doc->rows);
    free(doc->ncells);
}

/* Column index of name in the header row, failing the test when absent. */
static inline size_t csv_col(const struct csv_doc *doc, const char *name)
{
    size_t c;

    for (c = 0; c < doc->ncells[0]; c++)
        if (strcmp(doc->rows[0][c], name) == 0)
            return c;
    cr_assert_fail("no column %s", name);
    return 0;
}

/* ---- one export ---- */

static inline struct tw_export_job xfx_job(struct xfx *f, const char *index, const char *format,
                                           const char *source, int64_t chain)
{
    struct tw_export_job job = { 0 };

    job.plugin = tw_plugin_registry_find(f->reg, index);
    cr_assert_not_null(job.plugin, "no plugin for %s", index);
    job.writer = tw_writer_find(format);
    cr_assert_not_null(job.writer);
    job.source = source;
    job.chain = chain;
    job.task_id = 12345;
    job.run_start = 1779796800;
    job.out_dir = f->dir;
    return job;
}

/* Run job, assert success, return the file's contents (caller frees). */
static inline char *xfx_run(const struct tw_export_job *job, struct tw_export_stats *st)
{
    struct tw_err err;
    int ret = tw_export_run(job, st, &err);

    cr_assert_eq(ret, TW_OK, "export: %s", err.msg);
    cr_assert_eq(st->total, st->success + st->skips + st->errors);
    return xfx_read(st->path, NULL);
}

#endif
