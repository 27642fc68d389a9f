/*
 * Result files (docs/reference.md §7.4): a run writes ".{name}.tmp-XXXXXX" in the destination directory
 * and, only when the writer finished and every byte is on disk, renames it to
 * "{Label}_Export-{id}.{ext}". Order matters for crash safety:
 *   fsync(temp) -> rename -> fsync(dir)
 * so after a crash either the old result or the complete new one is there, never a truncated
 * file under the final name. The temp file lives in the same directory so rename is atomic
 * (same filesystem); its leading dot keeps it out of listings, and tw_result_sweep removes
 * the ones a dead run left behind.
 */
#include "export/export.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_MARK ".tmp-"

int tw_result_name(char *out, size_t size, const char *label, int64_t task_id, const char *ext,
                   struct tw_err *err)
{
    int n;

    if (label == NULL || label[0] == '\0' || strchr(label, '/') != NULL || label[0] == '.')
        return tw_err_set(err, TW_EINVAL, "results: bad file label \"%s\"", label ? label : "");
    n = snprintf(out, size, "%s_Export-%lld.%s", label, (long long)task_id, ext);
    if (n < 0 || (size_t)n >= size)
        return tw_err_set(err, TW_EINVAL, "results: file name for %s too long", label);
    return TW_OK;
}

/*
 * mkdir -p with 0750; an existing directory is fine. The whole path first: a task's results
 * directory's parents exist after its chain's first run, so one call is the usual cost.
 */
int tw_result_dir_make(const char *dir, struct tw_err *err)
{
    char path[4096];
    size_t n = strlen(dir);
    size_t i;

    if (n == 0 || n >= sizeof(path))
        return tw_err_set(err, TW_EINVAL, "results: bad directory \"%s\"", dir);
    if (mkdir(dir, 0750) == 0 || errno == EEXIST)
        return TW_OK;
    memcpy(path, dir, n + 1);
    for (i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        path[i] = '\0';
        if (mkdir(path, 0750) == -1 && errno != EEXIST)
            return tw_err_set(err, TW_EIO, "results: cannot create %s (%s)", path, strerror(errno));
        path[i] = i < n ? '/' : '\0';
    }
    return TW_OK;
}

/*
 * Open dir as a held descriptor: its parent's parent normally, then the last two components
 * (chain, task) with O_NOFOLLOW, so a link planted there is refused, not followed.
 */
static int open_dir(const char *dir, struct tw_err *err)
{
    char base[4096];
    const char *c1, *c2;
    char *slash;
    int dfd, sub, i;

    snprintf(base, sizeof(base), "%s", dir);
    c1 = c2 = NULL;
    for (i = 0; i < 2; i++) {
        slash = strrchr(base, '/');
        if (slash == NULL || slash == base)
            break;
        *slash = '\0';
        c1 = slash + 1;
        if (i == 0)
            c2 = c1;
    }
    if (i < 2) { /* a short path: only its last component is checked */
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        goto done;
    }
    dfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd == -1)
        goto done;
    sub = openat(dfd, c1, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(dfd);
    dfd = sub == -1 ? -1 : openat(sub, c2, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub != -1)
        close(sub);
done:
    if (dfd == -1)
        return tw_err_set(err, TW_EIO, "results: cannot open directory %s (%s)", dir,
                          errno == ELOOP || errno == ENOTDIR
                              ? "a symbolic link or a file is in its place"
                              : strerror(errno));
    return dfd;
}

/* The name of path inside res->dir (path is "dir/name"). */
static const char *leaf(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash != NULL ? slash + 1 : path;
}

int tw_result_open(struct tw_result *res, const char *dir, const char *name, const char *tmp,
                   struct tw_err *err)
{
    int ret;
    int n;

    memset(res, 0, sizeof(*res));
    res->fd = -1;
    res->dfd = -1;
    n = snprintf(res->dir, sizeof(res->dir), "%s", dir);
    if (n < 0 || (size_t)n >= sizeof(res->dir))
        return tw_err_set(err, TW_EINVAL, "results: directory name too long");
    snprintf(res->name, sizeof(res->name), "%s", name);
    snprintf(res->path, sizeof(res->path), "%s/%s", dir, name);
    if (tmp != NULL)
        n = snprintf(res->tmp, sizeof(res->tmp), "%s", tmp);
    else
        n = snprintf(res->tmp, sizeof(res->tmp), "%s/.%s" TMP_MARK "XXXXXX", dir, name);
    if (n < 0 || (size_t)n >= sizeof(res->tmp)) {
        res->tmp[0] = '\0';
        return tw_err_set(err, TW_EINVAL, "results: temporary file name too long");
    }
    if (tmp != NULL && (strncmp(tmp, dir, strlen(dir)) != 0 || tmp[strlen(dir)] != '/' ||
                        strchr(tmp + strlen(dir) + 1, '/') != NULL)) {
        res->tmp[0] = '\0';
        return tw_err_set(err, TW_EINVAL, "results: temporary file %s is not in %s", tmp, dir);
    }
    ret = tw_result_dir_make(dir, err);
    if (ret == TW_OK) {
        res->dfd = open_dir(dir, err);
        ret = res->dfd == -1 ? TW_EIO : TW_OK;
    }
    if (ret != TW_OK) {
        res->tmp[0] = '\0';
        return ret;
    }
    res->has_dfd = true;
    if (tmp != NULL) {
        /* whatever holds the name (a dead run's file, a planted link) goes; then a new file */
        (void)unlinkat(res->dfd, leaf(res->tmp), 0);
        res->fd = openat(res->dfd, leaf(res->tmp),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    } else {
        res->fd = mkostemp(res->tmp, O_CLOEXEC); /* O_EXCL: never an existing name */
    }
    if (res->fd == -1) {
        ret = tw_err_set(err, TW_EIO, "results: cannot create a file in %s (%s)", dir,
                         strerror(errno));
        res->tmp[0] = '\0';
        tw_result_abort(res);
        return ret;
    }
    /* mkstemp makes 0600; results are read by the server, maybe as another group member. */
    (void)fchmod(res->fd, 0640);
    return TW_OK;
}

static void close_dir(struct tw_result *res)
{
    if (res->has_dfd) {
        close(res->dfd);
        res->has_dfd = false;
        res->dfd = -1;
    }
}

int tw_result_publish(struct tw_result *res, struct tw_err *err)
{
    int e;

    if (fsync(res->fd) == -1) {
        e = errno;
        tw_result_abort(res);
        return tw_err_set(err, TW_EIO, "results: %s writing %s (%s)",
                          e == ENOSPC || e == EDQUOT ? "disk full" : "flush failed", res->path,
                          strerror(e));
    }
    if (close(res->fd) == -1) {
        e = errno;
        res->fd = -1;
        tw_result_abort(res);
        return tw_err_set(err, TW_EIO, "results: closing %s failed (%s)", res->path, strerror(e));
    }
    res->fd = -1;
    /* renameat replaces whatever holds the final name, a link included, never its target */
    if (renameat(res->dfd, leaf(res->tmp), res->dfd, res->name) == -1) {
        e = errno;
        tw_result_abort(res);
        return tw_err_set(err, TW_EIO, "results: cannot rename into %s (%s)", res->path,
                          strerror(e));
    }
    res->tmp[0] = '\0';
    /* Make the rename itself durable. */
    if (fsync(res->dfd) == -1) {
        e = errno;
        (void)unlinkat(res->dfd, res->name, 0); /* not durable: the run fails, so unpublished */
        close_dir(res);
        return tw_err_set(err, TW_EIO, "results: cannot sync directory %s (%s)", res->dir,
                          strerror(e));
    }
    close_dir(res);
    return TW_OK;
}

void tw_result_abort(struct tw_result *res)
{
    if (res->fd != -1) {
        close(res->fd);
        res->fd = -1;
    }
    if (res->tmp[0] != '\0') {
        if (res->has_dfd)
            (void)unlinkat(res->dfd, leaf(res->tmp), 0);
        else
            (void)unlink(res->tmp);
        res->tmp[0] = '\0';
    }
    close_dir(res);
}

int tw_result_sweep(const char *dir)
{
    struct dirent *de;
    char path[4352];
    int removed = 0;
    DIR *d;

    d = opendir(dir);
    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.' || strstr(de->d_name, TMP_MARK) == NULL)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (unlink(path) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}
