/*
 * The fixed costs of one run, each measured alone (issue 16, "per-run costs"):
 *
 *   server: re-read the task (tw_store_task_get), claim it (tw_store_run_start), record its
 *           end (tw_store_run_finish, one transaction per run as the scheduler does it, then
 *           the same ends grouped 32 to a transaction: what a group commit would save);
 *   worker: a 300-byte result written, fsync'd, renamed, directory fsync'd (as
 *           engine/export/result.c does), the same without the two fsyncs, and the SHA-256 of
 *           those bytes (computed while streaming, engine/export/out.c).
 *
 *   bench_run_costs [n=2000] [dir=/tmp]
 *
 * Microseconds per run, wall clock. The store is a fresh WAL database in dir (same file system
 * as results_dir matters for the fsync figures). Never a pass/fail.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/clock.h"
#include "core/time.h"
#include "store/store.h"

#define GROUP 32

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void line(const char *what, uint64_t t0, long n)
{
    printf("%-58s %8.1f us\n", what, (double)(now_us() - t0) / (double)n);
}

static int insert(struct tw_store *st, long n)
{
    struct tw_err err = { 0 };
    struct tw_task t;
    long i;

    if (tw_store_begin(st, &err) != TW_OK)
        return -1;
    for (i = 0; i < n; i++) {
        memset(&t, 0, sizeof(t));
        t.chain = 1764;
        t.desc = (char *)"bench";
        t.state = TW_STATE_READY;
        t.created_date = t.last_modified = 1700000000;
        t.once_at = 1700000000;
        t.trigger_json = (char *)"{\"once\":\"2023-11-14T22:13:20Z\"}";
        t.target_json = (char *)"{\"action\":\"export\",\"export_index\":\"users\","
                                "\"export_format\":\"csv\"}";
        t.debug = (char *)"";
        t.repeat = (char *)"";
        t.action = (char *)"export";
        t.export_index = (char *)"users";
        if (tw_store_task_insert(st, &t, NULL, &err) != TW_OK)
            return fprintf(stderr, "insert: %s\n", err.msg), -1;
    }
    return tw_store_commit(st, &err) == TW_OK ? 0 : -1;
}

static int finish(struct tw_store *st, int64_t id)
{
    struct tw_run_outcome o;
    struct tw_err err = { 0 };

    memset(&o, 0, sizeof(o));
    o.state = TW_STATE_DONE;
    o.time = 1700000001;
    o.msg = "success";
    o.has_counts = true;
    o.total = o.success = 10;
    o.result = "User_Export.csv";
    o.result_path = "/tmp/x/User_Export.csv";
    o.result_size = 300;
    o.result_sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    if (tw_store_run_finish(st, id, &o, &err) != TW_OK)
        return fprintf(stderr, "finish: %s\n", err.msg), -1;
    return 0;
}

/* Write 300 bytes to dir/.partial, optionally fsync, rename to dir/r<i>, optionally fsync dir. */
static int result(const char *dir, int dfd, long i, const char *buf, bool sync)
{
    char tmp[256], fin[256];
    int fd;

    snprintf(tmp, sizeof(tmp), "%s/.partial", dir);
    snprintf(fin, sizeof(fin), "r%ld", i);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd == -1 || write(fd, buf, 300) != 300 || (sync && fsync(fd) == -1) || close(fd) == -1 ||
        renameat(dfd, ".partial", dfd, fin) == -1 || (sync && fsync(dfd) == -1))
        return perror("result"), -1;
    return 0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000;
    const char *base = argc > 2 ? argv[2] : "/tmp";
    char dir[256], path[300], rdir[300], buf[300];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen;
    struct tw_store *st = NULL;
    struct tw_err err = { 0 };
    struct tw_task task;
    EVP_MD_CTX *sha;
    uint64_t t0;
    long i;
    int dfd;

    snprintf(dir, sizeof(dir), "%s/tw_costs_XXXXXX", base);
    if (mkdtemp(dir) == NULL)
        return perror("mkdtemp"), 1;
    snprintf(path, sizeof(path), "%s/tw.db", dir);
    if (tw_store_open(path, &st, &err) != TW_OK || insert(st, 2 * n) != 0)
        return fprintf(stderr, "store: %s\n", err.msg), 1;
    printf("%ld runs, store and results in %s\n", n, dir);
    t0 = now_us();
    for (i = 1; i <= n; i++) {
        memset(&task, 0, sizeof(task));
        if (tw_store_task_get(st, i, &task, &err) != TW_OK)
            return fprintf(stderr, "get: %s\n", err.msg), 1;
        tw_task_fini(&task);
    }
    line("server: re-read the task (tw_store_task_get)", t0, n);
    t0 = now_us();
    for (i = 1; i <= 2 * n; i++)
        if (tw_store_run_start(st, i, 1700000000, &err) != TW_OK)
            return fprintf(stderr, "start: %s\n", err.msg), 1;
    line("server: claim, INPROGRESS (tw_store_run_start)", t0, 2 * n);
    t0 = now_us();
    for (i = 1; i <= n; i++)
        if (finish(st, i) != 0)
            return 1;
    line("server: end, one transaction per run (tw_store_run_finish)", t0, n);
    t0 = now_us();
    for (i = n + 1; i <= 2 * n; i++) {
        if ((i - n - 1) % GROUP == 0 && tw_store_begin(st, &err) != TW_OK)
            return fprintf(stderr, "begin: %s\n", err.msg), 1;
        if (finish(st, i) != 0)
            return 1;
        if (((i - n) % GROUP == 0 || i == 2 * n) && tw_store_commit(st, &err) != TW_OK)
            return fprintf(stderr, "commit: %s\n", err.msg), 1;
    }
    line("server: end, 32 runs per transaction (group commit)", t0, n);
    tw_store_close(st);

    memset(buf, 'x', sizeof(buf));
    snprintf(rdir, sizeof(rdir), "%s/results", dir);
    if (mkdir(rdir, 0750) == -1 || (dfd = open(rdir, O_RDONLY | O_DIRECTORY)) == -1)
        return perror(rdir), 1;
    t0 = now_us();
    for (i = 0; i < n; i++)
        if (result(rdir, dfd, i, buf, true) != 0)
            return 1;
    line("worker: write, fsync, rename, fsync(dir)", t0, n);
    t0 = now_us();
    for (i = 0; i < n; i++)
        if (result(rdir, dfd, n + i, buf, false) != 0)
            return 1;
    line("worker: write, rename (no fsync)", t0, n);
    close(dfd);
    sha = EVP_MD_CTX_new();
    t0 = now_us();
    for (i = 0; i < n; i++) {
        EVP_DigestInit_ex(sha, EVP_sha256(), NULL);
        EVP_DigestUpdate(sha, buf, sizeof(buf));
        EVP_DigestFinal_ex(sha, md, &mdlen);
    }
    line("worker: SHA-256 of the 300 bytes", t0, n);
    EVP_MD_CTX_free(sha);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    return system(path) == 0 ? 0 : 1;
}
