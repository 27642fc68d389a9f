/*
 * Scheduling lateness: N tasks (default 1,000) due over the next S seconds (default 10; once is
 * in whole seconds, so N/S tasks share each second), a store in a temporary directory, the
 * real scheduler and worker pool, and a trivial work function that records when it started
 * and reports at once. Two figures, both minus trigger.once, in ms:
 *
 *   run start   when the server has marked the run INPROGRESS in the store and handed the job
 *               to its worker: the start docs/reference.md §1 records as last_run_date, and the server's
 *               own "run.started" log line (lateness_ms), read back from the log;
 *   work start  when the worker process has entered the work function, measured in the
 *               worker itself: run start plus the time the OS takes to give it a CPU.
 *
 * It also reports how late a 5 ms timer in the server's event loop fires: the wait an API
 * request would see in that loop while the runs start.
 *
 *   bench_sched_lateness [n] [seconds] [workers] [worker_nice]
 *
 * With TW_BENCH_KEEP set in the environment the temporary directory (store, server.log) is
 * kept and its path printed. It is made under TMPDIR (default /tmp): TMPDIR=/dev/shm takes the
 * disk out of the figures.
 *
 * The worker appends "<id> <lateness_ms>" to a file opened by path (the worker's inherited
 * fds are closed by design), O_APPEND lines below PIPE_BUF, so lines never interleave.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/time.h"
#include "sched/sched.h"
#include "store/store.h"

#define PROBE_MS 5
#define PROBE_MAX 65536

struct bench {
    char lat_path[300];              /* where workers append their lateness */
    struct event *probe;             /* one-shot PROBE_MS timer, re-armed each time */
    uint64_t probe_due_ms;           /* monotonic time it should fire */
    long long probe_late[PROBE_MAX]; /* how late each firing was, ms */
    long n_probe;
    struct tw_sched *s;
    struct event_base *base;
    long n;
    int64_t first; /* trigger.once of the first task */
    long spread;   /* seconds the tasks are spread over */
};

/* trigger.once of task id, as insert_all set it (ids count from 1 in the new store; the
 * worker has no store, and the job carries no trigger). */
static int64_t once_of(const struct bench *b, int64_t id)
{
    return b->first + (int64_t)((id - 1) * b->spread / b->n);
}

static int work_mark(const struct tw_run_job *job, struct tw_run_report *rep, void *ctx)
{
    struct tw_run_counts c = { 0, 0, 0, 0 };
    struct bench *b = ctx;
    int64_t late = tw_clock_wall_ms() - once_of(b, job->task_id) * 1000;
    char line[64];
    int fd, len;

    len = snprintf(line, sizeof(line), "%lld %lld\n", (long long)job->task_id, (long long)late);
    fd = open(b->lat_path, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (fd != -1) {
        if (write(fd, line, (size_t)len) != len)
            len = 0;
        close(fd);
    }
    return tw_run_report_error(rep, &c, "bench: no export"), 0;
}

static int insert_all(struct tw_store *st, long n, int64_t first, long spread_s)
{
    char trig[64], when[TW_TIME_BUFSZ];
    struct tw_err err = { 0 };
    struct tw_task t;
    long i;

    if (tw_store_begin(st, &err) != TW_OK)
        return -1;
    for (i = 0; i < n; i++) {
        memset(&t, 0, sizeof(t));
        t.chain = 1 + i % 10;
        t.desc = (char *)"bench";
        t.state = TW_STATE_READY;
        t.created_date = t.last_modified = first;
        t.once_at = first + (int64_t)(i * spread_s / n);
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
    return tw_store_commit(st, &err) == TW_OK ? 0 : -1;
}

static void arm_probe(struct bench *b)
{
    struct timeval in = { 0, PROBE_MS * 1000 };

    b->probe_due_ms = tw_clock_mono_ms() + PROBE_MS;
    event_add(b->probe, &in);
}

static void on_probe(evutil_socket_t fd, short what, void *arg)
{
    struct bench *b = arg;
    uint64_t now = tw_clock_mono_ms();

    (void)fd;
    (void)what;
    if (b->n_probe < PROBE_MAX)
        b->probe_late[b->n_probe++] = now > b->probe_due_ms ? (long long)(now - b->probe_due_ms)
                                                            : 0;
    arm_probe(b);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    struct bench *b = arg;
    struct tw_sched_stats ss;

    (void)fd;
    (void)what;
    tw_sched_get_stats(b->s, &ss);
    if ((long)(ss.done + ss.failed) >= b->n)
        event_base_loopbreak(b->base);
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return (x > y) - (x < y);
}

static void print_percentiles(const char *what, const char *unit, long long *v, long k)
{
    if (k == 0) {
        printf("%s: no runs recorded\n", what);
        return;
    }
    qsort(v, (size_t)k, sizeof(*v), cmp_ll);
    printf("%s: %s %ld, min %lld ms, p50 %lld ms, p99 %lld ms, max %lld ms\n", what, unit, k, v[0],
           v[k / 2], v[(k * 99) / 100], v[k - 1]);
}

/* Work start: the "<id> <ms>" lines the workers wrote. */
static void report_work(const char *path, long n)
{
    long long *v = calloc((size_t)n, sizeof(*v)), id, late;
    FILE *f = fopen(path, "r");
    long k = 0;

    while (f != NULL && v != NULL && k < n && fscanf(f, "%lld %lld", &id, &late) == 2)
        v[k++] = late;
    if (f != NULL)
        fclose(f);
    print_percentiles("work start (worker entered the work function) - trigger.once", "runs", v, k);
    free(v);
}

/* Run start: lateness_ms of the server's run.started lines (JSON log). */
static void report_run(const char *path, long n)
{
    long long *v = calloc((size_t)n, sizeof(*v));
    FILE *f = fopen(path, "r");
    char line[1024];
    const char *p;
    long k = 0;

    while (f != NULL && v != NULL && k < n && fgets(line, sizeof(line), f) != NULL)
        if (strstr(line, "\"run.started\"") != NULL &&
            (p = strstr(line, "\"lateness_ms\":\"")) != NULL)
            v[k++] = atoll(p + strlen("\"lateness_ms\":\""));
    if (f != NULL)
        fclose(f);
    print_percentiles("run start (INPROGRESS, job handed to its worker) - trigger.once", "runs", v,
                      k);
    free(v);
}

int main(int argc, char **argv)
{
    static struct bench b; /* static: the probe's array is large */
    long spread = argc > 2 ? atol(argv[2]) : 10;
    struct tw_config cfg = { .workers = argc > 3 ? (uint32_t)atol(argv[3]) : 2,
                             .worker_nice = argc > 4 ? (uint32_t)atol(argv[4]) : 19,
                             .task_timeout_s = 60 };
    const char *tmp = getenv("TMPDIR") != NULL && getenv("TMPDIR")[0] != '\0' ? getenv("TMPDIR")
                                                                              : "/tmp";
    char dir[64], path[128], results[128], log_path[128];
    struct timeval every = { 0, 20000 }, limit = { spread + 60, 0 };
    struct tw_sched_deps d = { .cfg = &cfg, .work = work_mark, .work_ctx = &b };
    struct tw_err err = { 0 };
    struct tw_store *st = NULL;
    struct event *poll;
    FILE *log;

    b.n = argc > 1 ? atol(argv[1]) : 1000;
    /* TMPDIR: where the store and the results go (e.g. /dev/shm, to take the disk out) */
    if (snprintf(dir, sizeof(dir), "%s/tw_late_XXXXXX", tmp) >= (int)sizeof(dir))
        return fprintf(stderr, "TMPDIR too long\n"), 1;
    if (mkdtemp(dir) == NULL)
        return perror("mkdtemp"), 1;
    snprintf(path, sizeof(path), "%s/tw.db", dir);
    snprintf(results, sizeof(results), "%s/results", dir);
    snprintf(b.lat_path, sizeof(b.lat_path), "%s/lateness.txt", dir);
    snprintf(log_path, sizeof(log_path), "%s/server.log", dir);
    log = fopen(log_path, "w");
    if (log == NULL)
        return perror("server.log"), 1;
    tw_log_set_stream(log); /* the server's log lines, as serve writes them to stderr */
    cfg.results_dir = results;
    b.first = tw_clock_wall_s() + 2;
    b.spread = spread;
    if (tw_store_open(path, &st, &err) != TW_OK || insert_all(st, b.n, b.first, spread) != 0)
        return fprintf(stderr, "store: %s\n", err.msg), 1;
    b.base = event_base_new();
    d.store = st;
    d.base = b.base;
    if (tw_sched_create(&d, &b.s, &err) != TW_OK)
        return fprintf(stderr, "sched: %s\n", err.msg), 1;
    printf("%ld tasks due over %ld s (%ld per second), %u workers at nice +%u\n", b.n, spread,
           b.n / (spread ? spread : 1), cfg.workers, cfg.worker_nice);
    poll = event_new(b.base, -1, EV_PERSIST, on_poll, &b);
    event_add(poll, &every);
    b.probe = evtimer_new(b.base, on_probe, &b);
    arm_probe(&b);
    event_base_loopexit(b.base, &limit);
    event_base_dispatch(b.base);
    event_free(poll);
    event_free(b.probe);
    tw_sched_destroy(b.s);
    tw_log_set_stream(NULL);
    fclose(log);
    report_run(log_path, b.n);
    report_work(b.lat_path, b.n);
    print_percentiles("event loop: a 5 ms timer fired late by", "firings", b.probe_late, b.n_probe);
    tw_store_close(st);
    event_base_free(b.base);
    if (getenv("TW_BENCH_KEEP") != NULL) /* to read server.log's run.started lines afterwards */
        return printf("kept %s\n", dir), 0;
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    return system(path) == 0 ? 0 : 1;
}
