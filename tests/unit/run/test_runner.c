/*
 * The runner against a real event_base and real forked workers: a good run with progress and a
 * result, an error report, a crash, a hang (timeout, also one that ignores SIGTERM), an exit
 * without a report, cancellation (temp file removed), interruption, the pool limits, and the
 * child's hygiene (inherited fds closed, signal handlers reset).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/mem.h"
#include "export/export.h"
#include "harness.h"
#include "run/runner.h"

struct got {
    int n; /* results received */
    int end;
    bool has_counts;
    struct tw_run_counts counts;
    char msg[800];
    char name[256];
    char path[512];
    int64_t size;
    int progress; /* progress callbacks */
    bool cancel_on_progress;
};

static struct event_base *base;
static struct tw_runner *runner;
static struct got got;
static char dir[64];
static int want;             /* stop the loop after this many results */
static unsigned worker_nice; /* for make_runner; 0 unless a test sets it */
static uint32_t max_runs;    /* for make_runner: workers_max_runs, 0 (no limit) unless set */

static void on_done(void *ctx, const struct tw_run_result *res)
{
    struct got *g = ctx;

    g->n++;
    g->end = res->end;
    g->has_counts = res->has_counts;
    g->counts = res->counts;
    snprintf(g->msg, sizeof(g->msg), "%s", res->msg ? res->msg : "");
    snprintf(g->name, sizeof(g->name), "%s", res->result_name ? res->result_name : "");
    snprintf(g->path, sizeof(g->path), "%s", res->result_path ? res->result_path : "");
    g->size = res->result_size;
    if (g->n >= want)
        event_base_loopbreak(base);
}

static void on_progress(void *ctx, int64_t task_id, const struct tw_run_counts *c)
{
    struct got *g = ctx;

    (void)c;
    g->progress++;
    if (g->cancel_on_progress)
        cr_assert_eq(tw_runner_cancel(runner, task_id), TW_OK);
}

static void make_runner(tw_work_fn *work, void *wctx, unsigned workers, uint32_t timeout_s)
{
    struct tw_runner_opts o = {
        .base = base,
        .workers = workers,
        .task_timeout_s = timeout_s,
        .kill_grace_ms = 300,
        .work = work,
        .work_ctx = wctx,
        .done = on_done,
        .progress = on_progress,
        .ctx = &got,
        .worker_nice = worker_nice,
        .workers_max_runs = max_runs,
    };
    struct tw_err err = { 0 };

    cr_assert_eq(tw_runner_create(&o, &runner, &err), TW_OK, "%s", err.msg);
}

static int start(int64_t id, struct tw_err *err)
{
    char rdir[256], tmp[300];
    struct tw_run_job job = {
        .task_id = id,
        .chain = 7,
        .run_start = 1700000000,
        .export_index = "users",
        .export_format = "csv",
        .result_dir = rdir,
        .tmp_path = tmp,
    };

    cr_assert_eq(tw_run_paths(dir, 7, id, rdir, sizeof(rdir), tmp, sizeof(tmp)), TW_OK);
    return tw_runner_start(runner, &job, err);
}

/* Run the loop until 'n' results arrived or 10 s passed. */
static void wait_for(int n)
{
    struct timeval limit = { 10, 0 };

    want = n;
    event_base_loopexit(base, &limit);
    if (got.n < n)
        event_base_dispatch(base);
    cr_assert_eq(got.n, n, "got %d results, wanted %d", got.n, n);
}

static void setup(void)
{
    memset(&got, 0, sizeof(got));
    worker_nice = 0;
    max_runs = 0;
    snprintf(dir, sizeof(dir), "/tmp/tw_run_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    base = event_base_new();
    cr_assert_not_null(base);
}

static void teardown(void)
{
    char cmd[128];

    tw_runner_destroy(runner);
    runner = NULL;
    event_base_free(base);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(runner, .init = setup, .fini = teardown, .timeout = 30);

/* ---- work functions (run in the worker) ---- */

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        return -1;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -1;
}

static int work_good(const struct tw_run_job *job, struct tw_run_report *rep, void *ctx)
{
    struct tw_run_counts c = { 0, 0, 0, 0 };
    struct tw_err err;
    char final[512];
    int i;

    (void)ctx;
    for (i = 0; i < 5; i++) {
        c.total = c.success = i + 1;
        tw_run_report_progress(rep, &c);
    }
    /* the export makes the directory as it opens its output; so does this work function */
    if (tw_result_dir_make(job->result_dir, &err) != TW_OK ||
        write_file(job->tmp_path, "id\r\n1\r\n2\r\n") != 0)
        return tw_run_report_error(rep, &c, "cannot write %s", job->tmp_path), 0;
    snprintf(final, sizeof(final), "%s/User_Export-%lld.csv", job->result_dir,
             (long long)job->task_id);
    if (rename(job->tmp_path, final) != 0)
        return tw_run_report_error(rep, &c, "rename: %s", strerror(errno)), 0;
    c.total = 6;
    c.skips = 1;
    tw_run_report_success(rep, &c, strrchr(final, '/') + 1, 10,
                          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    return 0;
}

static int work_error(const struct tw_run_job *job, struct tw_run_report *rep, void *ctx)
{
    struct tw_run_counts c = { 3, 1, 0, 2 };

    (void)job;
    (void)ctx;
    tw_run_report_error(rep, &c, "plugin %s: source database unavailable", job->export_index);
    return 0;
}

static int work_segv(const struct tw_run_job *job, struct tw_run_report *rep, void *ctx)
{
    (void)job;
    (void)rep;
    (void)ctx;
    raise(SIGSEGV);
    return 0;
}

static int work_hang(const struct tw_run_job *job, struct tw_run_report *rep, void *ctx)
{
    (void)rep;
    if (ctx != NULL)
        signal(SIGTERM, SIG_IGN);
    write_file(job->tmp_path, "partial");
    for (;;)
        pause();
    return 0;
}

static int work_exit3(const struct tw_run_job *job, struct tw_run_report *rep, void *ctx)
{
    (void)job;
    (void)rep;
    (void)ctx;
    return 3;
}

static int work_partial_then_wait(const struct tw_run_job *job, struct tw_run_report *rep,
                                  void *ctx)
{
    struct tw_run_counts c = { 1, 0, 0, 1 };

    (void)ctx;
    write_file(job->tmp_path, "partial");
    tw_run_report_progress(rep, &c);
    for (;;)
        pause();
    return 0;
}

/* Fails the run if the fd number in ctx is still open, or SIGTERM/SIGCHLD are not default. */
static int work_hygiene(const struct tw_run_job *job, struct tw_run_report *rep, void *ctx)
{
    struct tw_run_counts c = { 0, 0, 0, 0 };
    struct sigaction sa;
    int fd = *(int *)ctx;
    sigset_t mask;

    (void)job;
    if (fcntl(fd, F_GETFD) != -1)
        return tw_run_report_error(rep, &c, "fd %d is still open", fd), 0;
    sigaction(SIGCHLD, NULL, &sa);
    if (sa.sa_handler != SIG_DFL)
        return tw_run_report_error(rep, &c, "SIGCHLD handler kept"), 0;
    sigprocmask(SIG_SETMASK, NULL, &mask);
    if (sigismember(&mask, SIGTERM))
        return tw_run_report_error(rep, &c, "SIGTERM blocked"), 0;
    if (getpgrp() != getpid())
        return tw_run_report_error(rep, &c, "not a process group leader"), 0;
    return tw_run_report_error(rep, &c, "clean"), 0;
}

/* The character at i of a long segment: a pattern no shifted or truncated copy matches. */
static char seg_char(size_t i)
{
    return (char)('a' + (i * 7 + i / 26) % 26);
}

#define BIG_SEGMENT 300000 /* well past a socket's buffer: the job needs several sends */

/* Reports whether every string of the job arrived whole ("same") or where it differs. */
static int work_echo(const struct tw_run_job *job, struct tw_run_report *rep, void *ctx)
{
    struct tw_run_counts c = { 0, 0, 0, 0 };
    size_t i, n;

    (void)ctx;
    if (job->segment_json == NULL)
        return tw_run_report_error(rep, &c, "null %s %s %s %lld %lld", job->export_index,
                                   job->export_format, job->gzip ? "gzip" : "plain",
                                   (long long)job->chain, (long long)job->run_start),
               0;
    n = strlen(job->segment_json);
    if (n != BIG_SEGMENT)
        return tw_run_report_error(rep, &c, "segment of %zu bytes", n), 0;
    for (i = 0; i < n; i++)
        if (job->segment_json[i] != seg_char(i))
            return tw_run_report_error(rep, &c, "differs at %zu", i), 0;
    return tw_run_report_error(rep, &c, "same"), 0;
}

/*
 * Appends a line to <dir>/ran-<id> (so a test can count how often the job ran), and
 * reports the worker's pid and whether a global it sets was already set by an earlier run.
 */
static int work_pid(const struct tw_run_job *job, struct tw_run_report *rep, void *ctx)
{
    static int64_t previous_chain; /* what a careless plugin could keep between runs */
    struct tw_run_counts c = { 0, 0, 0, 0 };
    char path[600];
    FILE *f;

    (void)ctx;
    /* dir was set before the runner forked its spawner, so every worker has it */
    snprintf(path, sizeof(path), "%s/ran-%lld", dir, (long long)job->task_id);
    f = fopen(path, "a");
    if (f == NULL || fputs("ran\n", f) == EOF || fclose(f) != 0)
        return tw_run_report_error(rep, &c, "cannot write %s", path), 0;
    tw_run_report_error(rep, &c, "pid %d after chain %lld", (int)getpid(),
                        (long long)previous_chain);
    previous_chain = job->chain;
    return 0;
}

/* Reports the worker's nice value. */
static int work_nice(const struct tw_run_job *job, struct tw_run_report *rep, void *ctx)
{
    struct tw_run_counts c = { 0, 0, 0, 0 };

    (void)job;
    (void)ctx;
    errno = 0;
    return tw_run_report_error(rep, &c, "nice %d", getpriority(PRIO_PROCESS, 0)), 0;
}

/* This process's child named comm (one of them) and its nice value; 0 for none. */
static pid_t find_child(const char *comm, int *nice)
{
    pid_t one;

    return tw_children(getpid(), comm, &one, nice) > 0 ? one : 0;
}

/*
 * The nice value of a child named comm, waiting up to 10 s for one to exist: a spare just
 * cloned at a low priority on a busy machine may not have run far enough to name itself.
 * -100 when none appeared.
 */
static int child_nice(const char *comm)
{
    struct timespec tick = { 0, 10 * 1000000L };
    int nice = -100, i;

    for (i = 0; i < 1000 && find_child(comm, &nice) == 0; i++)
        nanosleep(&tick, NULL);
    return nice;
}

/* ---- tests ---- */

Test(runner, good_run_reports_counts_and_result)
{
    struct stat st;
    char tmp[300], rdir[256];

    make_runner(work_good, NULL, 2, 10);
    cr_assert_eq(start(42, NULL), TW_OK);
    cr_assert(tw_runner_is_running(runner, 42));
    wait_for(1);
    cr_assert_eq(got.end, TW_RUN_DONE, "%s", got.msg);
    cr_assert_str_eq(got.msg, "success");
    cr_assert_str_eq(got.name, "User_Export-42.csv");
    cr_assert_eq(got.counts.total, 6);
    cr_assert_eq(got.counts.success, 5);
    cr_assert_eq(got.counts.skips, 1);
    cr_assert_eq(got.size, 10);
    cr_assert_eq(stat(got.path, &st), 0, "%s", got.path);
    cr_assert_eq(st.st_size, 10);
    tw_run_paths(dir, 7, 42, rdir, sizeof(rdir), tmp, sizeof(tmp));
    cr_assert_eq(access(tmp, F_OK), -1);
    cr_assert_eq(tw_runner_active(runner), 0);
    cr_assert_eq(got.progress, 1, "progress is sent at most once a second");
}

Test(runner, error_report_is_the_message)
{
    make_runner(work_error, NULL, 1, 10);
    cr_assert_eq(start(1, NULL), TW_OK);
    wait_for(1);
    cr_assert_eq(got.end, TW_RUN_FAILED);
    cr_assert_str_eq(got.msg, "plugin users: source database unavailable");
    cr_assert(got.has_counts);
    cr_assert_eq(got.counts.total, 3);
    /* a failed run published nothing: its "success: 2" becomes errors, the sum still holds */
    cr_assert_eq(got.counts.success, 0);
    cr_assert_eq(got.counts.skips, 0);
    cr_assert_eq(got.counts.errors, 3);
    {
        char rdir[256], tmp[300];
        struct stat st;

        /* the worker makes no directory for the work function: the export makes its own */
        tw_run_paths(dir, 7, 1, rdir, sizeof(rdir), tmp, sizeof(tmp));
        cr_assert_eq(stat(rdir, &st), -1);
        cr_assert_eq(errno, ENOENT);
    }
}

Test(runner, crash_names_the_signal)
{
    make_runner(work_segv, NULL, 1, 10);
    cr_assert_eq(start(1, NULL), TW_OK);
    wait_for(1);
    cr_assert_eq(got.end, TW_RUN_FAILED);
    cr_assert_str_eq(got.msg, "worker killed by signal 11 (Segmentation fault)");
}

Test(runner, exit_without_report)
{
    make_runner(work_exit3, NULL, 1, 10);
    cr_assert_eq(start(1, NULL), TW_OK);
    wait_for(1);
    cr_assert_eq(got.end, TW_RUN_FAILED);
    cr_assert_str_eq(got.msg, "worker exited with status 3 without a result");
}

Test(runner, hang_ends_at_task_timeout_and_removes_temp)
{
    char tmp[300], rdir[256];

    make_runner(work_hang, NULL, 1, 1);
    cr_assert_eq(start(5, NULL), TW_OK);
    wait_for(1);
    cr_assert_eq(got.end, TW_RUN_FAILED);
    cr_assert_str_eq(got.msg, "run exceeded task_timeout of 1 s");
    tw_run_paths(dir, 7, 5, rdir, sizeof(rdir), tmp, sizeof(tmp));
    cr_assert_eq(access(tmp, F_OK), -1);
}

Test(runner, hang_ignoring_sigterm_is_killed)
{
    int ignore = 1;

    make_runner(work_hang, &ignore, 1, 1);
    cr_assert_eq(start(5, NULL), TW_OK);
    wait_for(1);
    cr_assert_str_eq(got.msg, "run exceeded task_timeout of 1 s");
}

Test(runner, cancel_removes_temp_and_reports_cancelled)
{
    char tmp[300], rdir[256];

    make_runner(work_partial_then_wait, NULL, 1, 10);
    got.cancel_on_progress = true;
    cr_assert_eq(start(9, NULL), TW_OK);
    wait_for(1);
    cr_assert_eq(got.end, TW_RUN_CANCELLED);
    cr_assert_not(got.has_counts);
    tw_run_paths(dir, 7, 9, rdir, sizeof(rdir), tmp, sizeof(tmp));
    cr_assert_eq(access(tmp, F_OK), -1);
    cr_assert_eq(tw_runner_cancel(runner, 9), TW_ENOTFOUND);
}

Test(runner, interrupt_all)
{
    make_runner(work_hang, NULL, 2, 0);
    cr_assert_eq(start(1, NULL), TW_OK);
    cr_assert_eq(start(2, NULL), TW_OK);
    tw_runner_interrupt_all(runner);
    wait_for(2);
    cr_assert_eq(got.end, TW_RUN_INTERRUPTED);
    cr_assert_str_eq(got.msg, "interrupted: server stopped during run");
}

Test(runner, pool_limits)
{
    struct tw_err err = { 0 };

    make_runner(work_hang, NULL, 1, 0);
    cr_assert_eq(start(1, NULL), TW_OK);
    cr_assert_not(tw_runner_has_room(runner));
    cr_assert_eq(start(2, &err), TW_ELIMIT);
    tw_runner_destroy(runner);
    make_runner(work_hang, NULL, 2, 0);
    cr_assert_eq(start(1, NULL), TW_OK);
    cr_assert_eq(start(1, &err), TW_ECONFLICT);
    cr_assert_str_eq(err.msg, "task 1 is already running");
    cr_assert_eq(tw_runner_active(runner), 1);
}

static void never_called(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    abort();
}

Test(runner, child_drops_inherited_fds_and_handlers)
{
    int sock = socket(AF_INET, SOCK_STREAM, 0); /* like the listening socket: no CLOEXEC */
    struct event *sig = evsignal_new(base, SIGTERM, never_called, NULL);

    cr_assert_neq(sock, -1);
    evsignal_add(sig, NULL);
    make_runner(work_hygiene, &sock, 1, 10);
    cr_assert_eq(start(1, NULL), TW_OK);
    wait_for(1);
    cr_assert_str_eq(got.msg, "clean");
    event_free(sig);
    close(sock);
}

Test(runner, done_may_start_the_next_run)
{
    make_runner(work_error, NULL, 1, 10);
    cr_assert_eq(start(1, NULL), TW_OK);
    wait_for(1);
    cr_assert_eq(start(2, NULL), TW_OK);
    wait_for(2);
    cr_assert_eq(tw_runner_active(runner), 0);
}

Test(runner, job_strings_reach_the_worker_whole)
{
    char *seg = tw_malloc(BIG_SEGMENT + 1), rdir[256], tmp[300];
    struct tw_run_job job = {
        .task_id = 1,
        .chain = 7,
        .run_start = 1700000000,
        .export_index = "users",
        .export_format = "csv",
        .gzip = true,
        .result_dir = rdir,
        .tmp_path = tmp,
    };
    size_t i;

    cr_assert_not_null(seg);
    for (i = 0; i < BIG_SEGMENT; i++)
        seg[i] = seg_char(i);
    seg[BIG_SEGMENT] = '\0';
    make_runner(work_echo, NULL, 2, 10);
    cr_assert_eq(tw_run_paths(dir, 7, 1, rdir, sizeof(rdir), tmp, sizeof(tmp)), TW_OK);
    cr_assert_eq(tw_runner_start(runner, &job, NULL), TW_OK); /* NULL segment */
    wait_for(1);
    cr_assert_str_eq(got.msg, "null users csv gzip 7 1700000000");
    job.task_id = 2;
    job.segment_json = seg;
    cr_assert_eq(tw_run_paths(dir, 7, 2, rdir, sizeof(rdir), tmp, sizeof(tmp)), TW_OK);
    cr_assert_eq(tw_runner_start(runner, &job, NULL), TW_OK);
    wait_for(2);
    cr_assert_str_eq(got.msg, "same");
    tw_free(seg);
}

/* worker_nice: the spawner, its spares and so every run sit that many levels below the server. */
Test(runner, workers_run_nicer_than_the_server)
{
    int mine, want_nice;
    char expect[32];

    errno = 0;
    mine = getpriority(PRIO_PROCESS, 0);
    cr_assert(mine != -1 || errno == 0);
    want_nice = mine + 5 > 19 ? 19 : mine + 5;
    worker_nice = 5;
    make_runner(work_nice, NULL, 2, 10);
    cr_assert_eq(start(1, NULL), TW_OK);
    wait_for(1);
    snprintf(expect, sizeof(expect), "nice %d", want_nice);
    cr_assert_str_eq(got.msg, expect);
    cr_assert_eq(child_nice("tw-spare"), want_nice);
    cr_assert_eq(child_nice("tw-spawner"), want_nice);
    cr_assert_eq(getpriority(PRIO_PROCESS, 0), mine, "the server's own priority is unchanged");
}

Test(runner, worker_nice_zero_keeps_the_server_priority)
{
    char expect[32];

    errno = 0;
    snprintf(expect, sizeof(expect), "nice %d", getpriority(PRIO_PROCESS, 0));
    make_runner(work_nice, NULL, 1, 10);
    cr_assert_eq(start(1, NULL), TW_OK);
    wait_for(1);
    cr_assert_str_eq(got.msg, expect);
}

Test(runner, worker_nice_above_19_is_refused)
{
    struct tw_runner_opts o = {
        .base = base,
        .workers = 1,
        .work = work_nice,
        .done = on_done,
        .ctx = &got,
        .worker_nice = 20,
    };
    struct tw_err err = { 0 };

    cr_assert_eq(tw_runner_create(&o, &runner, &err), TW_EINVAL);
    cr_assert_null(runner);
    cr_assert(strstr(err.msg, "worker_nice") != NULL, "%s", err.msg);
}

/* ---- reusable workers (issue 16) ---- */

/* The pid a work_pid run reported ("pid N after chain M"). */
static int reported_pid(void)
{
    int pid = 0;

    cr_assert_eq(sscanf(got.msg, "pid %d", &pid), 1, "%s", got.msg);
    return pid;
}

/* How many times task id's work_pid job ran. */
static int times_ran(int64_t id)
{
    char path[300], line[16];
    int n = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/ran-%lld", dir, (long long)id);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL)
        n++;
    fclose(f);
    return n;
}

/* Wait (up to 10 s) until pid has exited, as a zombie nobody has reaped yet. */
static void wait_zombie(pid_t pid)
{
    struct timespec tick = { 0, 10 * 1000000L };
    char path[64], buf[256], *p;
    int i;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    for (i = 0; i < 1000; i++) {
        FILE *f = fopen(path, "r");
        size_t n = f != NULL ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

        if (f != NULL)
            fclose(f);
        buf[n] = '\0';
        p = strrchr(buf, ')');
        if (p != NULL && p[1] == ' ' && p[2] == 'Z')
            return;
        nanosleep(&tick, NULL);
    }
    cr_assert_fail("worker %d did not exit", (int)pid);
}

Test(runner, one_worker_runs_run_after_run)
{
    struct tw_runner_stats st;
    int first;

    make_runner(work_pid, NULL, 1, 10);
    cr_assert_eq(start(1, NULL), TW_OK);
    wait_for(1);
    first = reported_pid();
    cr_assert_eq(start(2, NULL), TW_OK);
    wait_for(2);
    cr_assert_eq(reported_pid(), first, "the same process ran both: %s", got.msg);
    cr_assert_eq(start(3, NULL), TW_OK);
    wait_for(3);
    cr_assert_eq(reported_pid(), first);
    tw_runner_get_stats(runner, &st);
    cr_assert_eq(st.workers_started, 1);
    cr_assert_eq(st.jobs_pooled, 3);
    cr_assert_eq(st.runs_forked, 0);
}

/* workers_max_runs: after that many runs the worker is replaced, and the pool says so. */
Test(runner, worker_past_max_runs_is_replaced)
{
    struct tw_runner_stats st;
    int first;

    max_runs = 2;
    make_runner(work_pid, NULL, 1, 10);
    cr_assert_eq(start(1, NULL), TW_OK);
    wait_for(1);
    first = reported_pid();
    cr_assert_eq(start(2, NULL), TW_OK);
    wait_for(2);
    cr_assert_eq(reported_pid(), first);
    cr_assert_eq(start(3, NULL), TW_OK);
    wait_for(3);
    cr_assert_neq(reported_pid(), first, "a fresh process after 2 runs");
    tw_runner_get_stats(runner, &st);
    cr_assert_eq(st.workers_retired, 1);
}

/* workers_max_rss: a worker reporting more than that after a run is replaced. */
Test(runner, worker_past_max_rss_is_replaced)
{
    struct tw_runner_opts o = {
        .base = base,
        .workers = 1,
        .task_timeout_s = 10,
        .work = work_pid,
        .done = on_done,
        .ctx = &got,
        .workers_max_rss = 4096, /* any process is bigger */
    };
    struct tw_runner_stats st;
    struct tw_err err = { 0 };
    int first;

    cr_assert_eq(tw_runner_create(&o, &runner, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(start(1, NULL), TW_OK);
    wait_for(1);
    first = reported_pid();
    cr_assert_eq(start(2, NULL), TW_OK);
    wait_for(2);
    cr_assert_neq(reported_pid(), first);
    tw_runner_get_stats(runner, &st);
    cr_assert_eq(st.workers_retired, 2);
}

/* A worker killed while it waits for a job costs no run: the next job runs on a new one. */
Test(runner, worker_killed_between_jobs_is_replaced_and_no_job_is_lost)
{
    struct tw_runner_stats st;
    pid_t first;

    make_runner(work_pid, NULL, 1, 10);
    cr_assert_eq(start(1, NULL), TW_OK);
    wait_for(1);
    first = reported_pid();
    cr_assert_eq(kill(first, SIGKILL), 0);
    wait_zombie(first); /* dead, not reaped: the pool still counts it idle */
    cr_assert_eq(start(2, NULL), TW_OK);
    wait_for(2);
    cr_assert_eq(got.end, TW_RUN_FAILED); /* work_pid reports through the error message */
    cr_assert_neq(reported_pid(), first, "%s", got.msg);
    cr_assert_eq(times_ran(2), 1);
    tw_runner_get_stats(runner, &st);
    cr_assert_eq(st.workers_lost_idle, 1);
}

/*
 * A worker that dies after its job was sent but before it acknowledged it ran nothing of it:
 * the job goes to another worker and runs there, exactly once.
 */
Test(runner, job_of_a_worker_dead_before_its_ack_runs_again_exactly_once)
{
    struct tw_runner_stats st;
    pid_t first;

    make_runner(work_pid, NULL, 1, 10);
    cr_assert_eq(start(1, NULL), TW_OK);
    wait_for(1);
    first = reported_pid();
    cr_assert_eq(kill(first, SIGSTOP), 0); /* it cannot read the job... */
    cr_assert_eq(start(2, NULL), TW_OK);   /* ...which waits in its socket */
    cr_assert_eq(kill(first, SIGKILL), 0);
    wait_for(2);
    cr_assert_neq(reported_pid(), first, "%s", got.msg);
    cr_assert(strstr(got.msg, "after chain 0") != NULL, "a fresh process: %s", got.msg);
    cr_assert_eq(times_ran(2), 1);
    cr_assert_eq(times_ran(1), 1);
    tw_runner_get_stats(runner, &st);
    cr_assert_eq(st.jobs_handed_over, 1);
    cr_assert_eq(tw_runner_active(runner), 0);
}

/*
 * A spawner that cannot answer (here: stopped) never stalls a start: after a short wait the
 * runner forks that worker itself and keeps the spawner; one silent for 5 s is replaced.
 */
Test(runner, stuck_spawner_delays_starts_briefly_then_is_replaced)
{
    pid_t sp, sp2;

    max_runs = 1; /* a worker per run, so every start needs the spawner */
    make_runner(work_error, NULL, 1, 10);
    cr_assert_eq(start(1, NULL), TW_OK); /* takes the one spare; no refill yet */
    wait_for(1);
    sp = find_child("tw-spawner", NULL);
    cr_assert_gt(sp, 0);
    cr_assert_eq(kill(sp, SIGSTOP), 0);
    cr_assert_eq(start(2, NULL), TW_OK); /* forked by the runner */
    wait_for(2);
    cr_assert_str_eq(got.msg, "plugin users: source database unavailable");
    cr_assert_eq(find_child("tw-spawner", NULL), sp, "a slow spawner is kept");
    /* its request is now 5 s old: the fake clock says so, for as long as run 3 takes */
    tw_clock_fake_set(tw_clock_wall_ms() + 5000, tw_clock_mono_ms() + 5000);
    cr_assert_eq(start(3, NULL), TW_OK);
    wait_for(3);
    tw_clock_fake_clear();
    cr_assert_str_eq(got.msg, "plugin users: source database unavailable");
    sp2 = find_child("tw-spawner", NULL);
    cr_assert(sp2 > 0 && sp2 != sp, "the silent spawner was replaced (%d, %d)", (int)sp, (int)sp2);
    cr_assert_eq(kill(sp, 0), -1, "the old spawner is gone");
}

/* Spares, the spawner and finished workers are all reaped: the process has no child left. */
Test(runner, destroy_leaves_no_child_process)
{
    make_runner(work_error, NULL, 3, 10);
    cr_assert_eq(start(1, NULL), TW_OK);
    wait_for(1);
    cr_assert_eq(start(2, NULL), TW_OK);
    tw_runner_destroy(runner);
    runner = NULL;
    cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1);
    cr_assert_eq(errno, ECHILD, "a child of the runner is left: %s", strerror(errno));
}
