/*
 * Scheduler start-up at scale: inserts N READY tasks (default 1,000,000, once spread over the
 * next 30 days, 1,000 chains) into a fresh store in one transaction, closes and reopens it (so
 * nothing is warm but the OS page cache), then times tw_sched_create -- the rebuild from
 * tw_store_task_scan that arms every task -- and reports the resident-set growth per task.
 *
 *   bench_sched_startup [n] [dir]      dir defaults to a new /tmp/tw_bench_XXXXXX
 *
 * RSS is read from /proc/self/statm before and after creation; the store's own cache is part
 * of "before" since the store is already open. Nothing runs: all tasks are in the future.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/time.h"
#include "sched/sched.h"
#include "sched/sched_int.h"
#include "store/store.h"

static long rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f == NULL)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

static int work_nothing(const struct tw_run_job *job, struct tw_run_report *rep, void *ctx)
{
    (void)job;
    (void)rep;
    (void)ctx;
    return 1;
}

static int fill(struct tw_store *st, long n, int64_t now)
{
    char trig[64], when[TW_TIME_BUFSZ];
    struct tw_err err = { 0 };
    struct tw_task t;
    long i;

    if (tw_store_begin(st, &err) != TW_OK)
        return fprintf(stderr, "begin: %s\n", err.msg), -1;
    for (i = 0; i < n; i++) {
        memset(&t, 0, sizeof(t));
        t.chain = 1 + i % 1000;
        t.desc = (char *)"bench";
        t.state = TW_STATE_READY;
        t.created_date = t.last_modified = now;
        t.once_at = now + 60 + (int64_t)(i * 37 % (30 * 86400));
        snprintf(trig, sizeof(trig), "{\"once\":\"%s\"}", tw_time_format(t.once_at, when));
        t.trigger_json = trig;
        t.target_json = (char *)"{\"action\":\"export\",\"export_index\":\"users\","
                                "\"export_format\":\"csv\"}";
        t.debug = (char *)"";
        t.repeat = (char *)"";
        t.action = (char *)"export";
        t.export_index = (char *)"users";
        if (tw_store_task_insert(st, &t, NULL, &err) != TW_OK)
            return fprintf(stderr, "insert: %s\n", err.msg), -1;
    }
    if (tw_store_commit(st, &err) != TW_OK)
        return fprintf(stderr, "commit: %s\n", err.msg), -1;
    return 0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    char dir[256] = "/tmp/tw_bench_XXXXXX", path[300], results[300];
    struct tw_config cfg = { .workers = 2, .task_timeout_s = 3600 };
    struct tw_err err = { 0 };
    struct tw_sched_stats ss;
    struct tw_store *st = NULL;
    struct tw_sched *s = NULL;
    struct tw_sched_deps d = { .cfg = &cfg, .work = work_nothing };
    struct event_base *base;
    uint64_t t0, t1;
    long rss0, rss1;

    if (argc > 2)
        snprintf(dir, sizeof(dir), "%s", argv[2]);
    else if (mkdtemp(dir) == NULL)
        return perror("mkdtemp"), 1;
    snprintf(path, sizeof(path), "%s/tw.db", dir);
    snprintf(results, sizeof(results), "%s/results", dir);
    cfg.results_dir = results;
    if (tw_store_open(path, &st, &err) != TW_OK)
        return fprintf(stderr, "open: %s\n", err.msg), 1;
    t0 = tw_clock_mono_ms();
    if (fill(st, n, tw_clock_wall_s()) != 0)
        return 1;
    t1 = tw_clock_mono_ms();
    printf("insert %ld tasks (one transaction): %.2f s (%.0f tasks/s)\n", n,
           (double)(t1 - t0) / 1e3, (double)n * 1e3 / (double)(t1 - t0 + 1));
    tw_store_close(st);
    if (tw_store_open(path, &st, &err) != TW_OK)
        return fprintf(stderr, "reopen: %s\n", err.msg), 1;
    base = event_base_new();
    d.store = st;
    d.base = base;
    rss0 = rss_bytes();
    t0 = tw_clock_mono_ns();
    if (tw_sched_create(&d, &s, &err) != TW_OK)
        return fprintf(stderr, "sched: %s\n", err.msg), 1;
    t1 = tw_clock_mono_ns();
    rss1 = rss_bytes();
    tw_sched_get_stats(s, &ss);
    printf("tw_sched_create (rebuild of %zu armed tasks): %.3f s (%.0f ns per task)\n",
           ss.armed, (double)(t1 - t0) / 1e9, (double)(t1 - t0) / (double)(n ? n : 1));
    printf("RSS growth: %.1f MB, %.1f B per task (entry %zu B + bucket 8 B + malloc header)\n",
           (double)(rss1 - rss0) / 1048576.0, (double)(rss1 - rss0) / (double)(n ? n : 1),
           sizeof(struct tw_sched_task));
    tw_sched_destroy(s);
    tw_store_close(st);
    event_base_free(base);
    if (argc <= 2) {
        snprintf(path, sizeof(path), "rm -rf '%s'", dir);
        if (system(path) != 0)
            return 1;
    }
    return 0;
}
