/*
 * The parent side of the worker pool (see runner.h for the model).
 *
 * A run is one struct tw_run on runner->runs from its start until its end. On a pooled worker
 * (pool.c) that lives on, the run ends when its final frame arrives and nothing was sent to the
 * worker (no timeout, cancel or interrupt): the worker goes back to the pool. Otherwise the end
 * is decided only when the child is reaped, never on pipe EOF: the pipe is drained at that
 * point (the child has exited, so everything it wrote is in the pipe), which makes the order of
 * the SIGCHLD and read events irrelevant.
 *
 * A pooled worker acknowledges its job (TW_FRAME_ACK) before it does anything with it. One
 * that dies before that (killed while idle, with the job already in its socket) has run
 * nothing: the job is handed to another worker, at most MAX_HANDOVERS times, and the run goes
 * on as if nothing had happened. Once acknowledged, a death is the run's end, as below. Reaping uses waitpid(pid, WNOHANG) on each of our own
 * pids (at most `workers` of them), never waitpid(-1), so children forked by other parts of the
 * process are left to whoever made them.
 *
 * How a run ends, first rule that applies: cancelled -> TW_RUN_CANCELLED; a final report ->
 * DONE or FAILED as reported (a worker that said "success" has already renamed its file into
 * place, so even a crash afterwards must not make the store disagree with the disk);
 * interrupted -> TW_RUN_INTERRUPTED; timed out -> FAILED "run exceeded task_timeout";
 * killed by a signal -> FAILED naming it; any other exit -> FAILED "exited without a result".
 * The temp file is removed whatever the end.
 */
#include "run/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/list.h"
#include "core/log.h"
#include "core/mem.h"
#include "run/run_int.h"

#define DEFAULT_KILL_GRACE_MS 5000
#define REFILL_DELAY_MS 20
#define MAX_HANDOVERS 3 /* a job whose workers keep dying before taking it ends in error */

enum stop_reason {
    STOP_NONE = 0,
    STOP_TIMEOUT,   /* task_timeout: SIGTERM sent, SIGKILL follows */
    STOP_CANCEL,    /* task deleted */
    STOP_INTERRUPT, /* server stopping */
};

struct tw_run {
    struct tw_list link;         /* runner->runs */
    struct tw_runner *runner;    /* owner */
    pid_t pid;                   /* the worker, also its process group id */
    struct tw_pool_worker *w;    /* its pooled worker, NULL when forked for this run */
    int fd;                      /* read end of the report pipe, non-blocking; -1 after EOF;
                                    borrowed from the pool when w != NULL */
    bool acked;                  /* the worker took the job (always true when forked) */
    int handovers;               /* times the job went to another worker before its ACK */
    struct event *ev_read;       /* fd readable */
    struct event *ev_timer;      /* task_timeout, then the SIGKILL grace */
    int stop;                    /* enum stop_reason */
    bool term_sent;              /* SIGTERM already sent for the timeout */
    bool bad_frame;              /* a frame failed its magic check: reading stopped */
    bool has_final;              /* final holds the final frame */
    int status;                  /* waitpid status once reaped */
    uint64_t started_ms;         /* monotonic */
    struct tw_run_counts counts; /* latest counts seen */
    struct tw_run_frame final;   /* the SUCCESS or ERROR frame */
    struct tw_run_frame in;      /* frame being reassembled */
    size_t in_len;               /* bytes of 'in' received so far */
    struct tw_run_job job;       /* strings below are owned copies */
};

struct tw_runner {
    struct tw_runner_opts o;    /* as given (kill_grace_ms defaulted) */
    struct tw_worker_kind kind; /* from o: what each worker runs, at which nice */
    struct tw_pool *pool;       /* spares: workers cloned ahead of their job (pool.c) */
    struct event *ev_refill;    /* tops the pool up once starts and ends have paused */
    struct event *ev_chld;      /* SIGCHLD, persistent */
    struct tw_list runs;        /* struct tw_run, in start order */
    unsigned active;            /* length of runs */
    unsigned forked;            /* runs on a worker forked for them (not pooled) */
    uint64_t runs_forked;       /* in total */
    uint64_t handovers;         /* jobs handed to another worker before their ACK */
};

static void job_free(struct tw_run_job *j)
{
    tw_free((char *)j->export_index);
    tw_free((char *)j->export_format);
    tw_free((char *)j->segment_json);
    tw_free((char *)j->result_dir);
    tw_free((char *)j->tmp_path);
}

/* Deep copy; NULL strings stay NULL. Returns TW_OK or TW_ENOMEM (dst then freeable). */
static int job_copy(struct tw_run_job *dst, const struct tw_run_job *src)
{
    *dst = *src;
    dst->export_index = tw_strdup(src->export_index);
    dst->export_format = tw_strdup(src->export_format);
    dst->segment_json = tw_strdup(src->segment_json);
    dst->result_dir = tw_strdup(src->result_dir);
    dst->tmp_path = tw_strdup(src->tmp_path);
    if ((src->export_index && !dst->export_index) || (src->export_format && !dst->export_format) ||
        (src->segment_json && !dst->segment_json) || !dst->result_dir || !dst->tmp_path)
        return TW_ENOMEM;
    return TW_OK;
}

static void run_free(struct tw_run *run)
{
    if (run == NULL)
        return;
    if (run->ev_read != NULL)
        event_free(run->ev_read);
    if (run->ev_timer != NULL)
        event_free(run->ev_timer);
    if (run->fd != -1 && run->w == NULL)
        close(run->fd);
    job_free(&run->job);
    tw_free(run);
}

/* Signal the worker's whole process group; falls back to the pid if the group is not set up. */
static void kill_run(struct tw_run *run, int sig)
{
    if (kill(-run->pid, sig) == -1)
        (void)kill(run->pid, sig);
}

static void on_frame(struct tw_run *run)
{
    struct tw_runner *r = run->runner;
    struct tw_run_frame *f = &run->in;

    switch (f->kind) {
    case TW_FRAME_ACK: run->acked = true; return;
    case TW_FRAME_PROGRESS:
        if (run->has_final)
            return;
        run->counts = f->counts;
        if (r->o.progress != NULL && run->stop == STOP_NONE)
            r->o.progress(r->o.ctx, run->job.task_id, &run->counts);
        return;
    case TW_FRAME_SUCCESS:
    case TW_FRAME_ERROR:
        if (run->has_final)
            return;
        f->sha256[sizeof(f->sha256) - 1] = '\0';
        f->text[sizeof(f->text) - 1] = '\0';
        run->final = *f;
        run->counts = f->counts;
        run->has_final = true;
        return;
    default: run->bad_frame = true; return;
    }
}

static void stop_reading(struct tw_run *run)
{
    if (run->ev_read != NULL)
        event_del(run->ev_read);
    if (run->fd != -1 && run->w == NULL)
        close(run->fd); /* a pooled worker's pipe is the pool's */
    run->fd = -1;
}

/* Read all that is available; frames are handed to on_frame as they complete. */
static void drain(struct tw_run *run)
{
    ssize_t n;

    while (run->fd != -1 && !run->bad_frame) {
        n = read(run->fd, (char *)&run->in + run->in_len, sizeof(run->in) - run->in_len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            stop_reading(run); /* EOF, or an error that will not go away */
            return;
        }
        run->in_len += (size_t)n;
        if (run->in_len < sizeof(run->in))
            continue;
        run->in_len = 0;
        if (run->in.magic != TW_RUN_FRAME_MAGIC)
            run->bad_frame = true;
        else
            on_frame(run);
        if (run->has_final && run->w != NULL)
            return; /* the worker's next frames belong to its next job */
    }
    if (run->bad_frame)
        stop_reading(run);
}

static void report_end(struct tw_runner *r, struct tw_run *run, int status);
static void refill_later(struct tw_runner *r);

/*
 * Whether run, on a pooled worker, has ended while its worker lives on: a final frame, no
 * signal sent to the worker, and no sign that the worker is about to exit.
 */
static bool ends_on_final(const struct tw_run *run)
{
    return run->w != NULL && run->has_final && run->stop == STOP_NONE && !run->bad_frame &&
           (run->final.flags & TW_FRAME_F_EXITING) == 0;
}

/* End run now and give its worker back to the pool (or retire it). */
static void end_on_final(struct tw_runner *r, struct tw_run *run)
{
    event_del(run->ev_read);
    evtimer_del(run->ev_timer);
    run->fd = -1;
    tw_list_remove(&run->link);
    r->active--;
    if (tw_pool_release(r->pool, run->w, run->final.rss))
        refill_later(r);
    run->w = NULL;
    report_end(r, run, 0); /* may start runs: the worker is already back */
    run_free(run);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct tw_run *run = arg;

    (void)fd;
    (void)what;
    drain(run);
    if (ends_on_final(run))
        end_on_final(run->runner, run);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct tw_run *run = arg;
    struct timeval grace;
    uint32_t ms = run->runner->o.kill_grace_ms;

    (void)fd;
    (void)what;
    if (run->term_sent) {
        kill_run(run, SIGKILL);
        return;
    }
    if (run->stop == STOP_NONE)
        run->stop = STOP_TIMEOUT;
    run->term_sent = true;
    tw_logf(TW_LOG_WARN, "run.timeout", "task %lld exceeded task_timeout of %u s: stopping it",
            (long long)run->job.task_id, run->runner->o.task_timeout_s);
    kill_run(run, SIGTERM);
    grace.tv_sec = ms / 1000;
    grace.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    evtimer_add(run->ev_timer, &grace);
}

/* A plain file name the worker may have written into its result dir. */
static bool name_ok(const char *s)
{
    return s[0] != '\0' && strchr(s, '/') == NULL && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
           s[0] != '.';
}

/* Decide how a reaped run ended (rules at the top of the file) and tell the owner. */
static void report_end(struct tw_runner *r, struct tw_run *run, int status)
{
    struct tw_run_result res;
    char msg[sizeof(run->final.text) + 64];
    char path[4096 + 256];
    const char *final = run->final.text;

    memset(&res, 0, sizeof(res));
    res.task_id = run->job.task_id;
    res.chain = run->job.chain;
    res.end_time = tw_clock_wall_s();
    res.counts = run->counts;
    res.has_counts = true;
    res.wall_ms = tw_clock_mono_ms() - run->started_ms;
    res.msg = msg;
    res.end = TW_RUN_FAILED;
    if (run->stop == STOP_CANCEL) {
        res.end = TW_RUN_CANCELLED;
        res.msg = NULL;
        res.has_counts = false;
        snprintf(path, sizeof(path), "%s/%s", run->job.result_dir, final);
        if (run->has_final && run->final.kind == TW_FRAME_SUCCESS && name_ok(final))
            (void)unlink(path); /* finished just before the cancel: the task is gone */
    } else if (run->has_final && run->final.kind == TW_FRAME_SUCCESS && name_ok(final)) {
        res.end = TW_RUN_DONE;
        snprintf(msg, sizeof(msg), "success");
        snprintf(path, sizeof(path), "%s/%s", run->job.result_dir, final);
        res.result_name = final;
        res.result_path = path;
        res.result_size = run->final.size;
        res.result_sha256 = run->final.sha256;
    } else if (run->has_final && run->final.kind == TW_FRAME_SUCCESS) {
        snprintf(msg, sizeof(msg), "worker reported an invalid result file name \"%s\"", final);
    } else if (run->has_final) {
        snprintf(msg, sizeof(msg), "%s", final[0] != '\0' ? final : "export failed");
    } else if (run->stop == STOP_INTERRUPT) {
        res.end = TW_RUN_INTERRUPTED;
        res.has_counts = false;
        snprintf(msg, sizeof(msg), "interrupted: server stopped during run");
    } else if (run->bad_frame) {
        snprintf(msg, sizeof(msg), "worker sent a malformed report");
    } else if (run->stop == STOP_TIMEOUT) {
        snprintf(msg, sizeof(msg), "run exceeded task_timeout of %u s", r->o.task_timeout_s);
    } else if (WIFSIGNALED(status)) {
        snprintf(msg, sizeof(msg), "worker killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    } else {
        snprintf(msg, sizeof(msg), "worker exited with status %d without a result",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    if (res.end == TW_RUN_FAILED && res.has_counts) {
        /*
         * A failed run publishes nothing: no record was written, whatever the writer had
         * been handed (a full disk drops its buffered rows) and whatever counts the worker
         * or its last progress report carried. Every record read and not filtered out is
         * then an error, so total = success + skips + errors holds on every run (docs/reference.md §7.3),
         * also when the record being handled when the run failed was never counted.
         */
        if (res.counts.skips > res.counts.total)
            res.counts.total = res.counts.skips;
        res.counts.success = 0;
        res.counts.errors = res.counts.total - res.counts.skips;
    }
    if (unlink(run->job.tmp_path) == 0 && res.end == TW_RUN_DONE)
        tw_logf(TW_LOG_WARN, "run.tmp_left", "task %lld: temp file left after a good run",
                (long long)res.task_id);
    r->o.done(r->o.ctx, &res);
}

/*
 * Top the pool up to `workers` processes (less the runs on forked workers) REFILL_DELAY_MS
 * after a worker died or retired: cloning replacements while a burst of due tasks is being
 * started would take CPU from the very starts the pool exists to speed up (docs/scheduling.md,
 * "Lateness").
 */
static void on_refill(evutil_socket_t fd, short what, void *arg)
{
    struct tw_runner *r = arg;

    (void)fd;
    (void)what;
    tw_pool_fill(r->pool, r->o.workers - r->forked);
}

static void refill_later(struct tw_runner *r)
{
    struct timeval tv = { 0, REFILL_DELAY_MS * 1000 };

    evtimer_add(r->ev_refill, &tv); /* re-adding pushes it back: it fires once things pause */
}

static pid_t spawn_worker(struct tw_runner *r, struct tw_run *run);
static void run_watch(struct tw_runner *r, struct tw_run *run);

/*
 * run's pooled worker died before it took the job (no ACK): it ran nothing of it, so the
 * job goes to another worker. False when it may not or could not (the run then ends).
 */
static bool hand_over(struct tw_runner *r, struct tw_run *run)
{
    pid_t dead = run->pid;

    if (run->w == NULL || run->acked || run->has_final || run->bad_frame ||
        run->stop != STOP_NONE || run->handovers >= MAX_HANDOVERS)
        return false;
    tw_pool_lost(r->pool, run->w);
    run->w = NULL;
    run->fd = -1;
    run->in_len = 0;
    run->handovers++;
    r->handovers++;
    event_del(run->ev_read);
    run->pid = spawn_worker(r, run);
    if (run->pid == -1) {
        tw_logf(TW_LOG_ERROR, "run.handover",
                "task %lld: worker %d died before taking the job and no other could be "
                "started: %s",
                (long long)run->job.task_id, (int)dead, strerror(errno));
        return false;
    }
    tw_logf(TW_LOG_WARN, "run.handover",
            "task %lld: worker %d died before taking the job: handed to worker %d",
            (long long)run->job.task_id, (int)dead, (int)run->pid);
    run_watch(r, run);
    return true;
}

static void on_sigchld(evutil_socket_t sig, short what, void *arg)
{
    struct tw_runner *r = arg;
    struct tw_list done;
    struct tw_list *it, *tmp;
    struct tw_run *run;
    int status;
    pid_t got;

    (void)sig;
    (void)what;
    tw_list_init(&done);
    tw_pool_reap(r->pool);
    /* Collect first, then report: done callbacks may start or cancel runs. */
    TW_LIST_FOREACH_SAFE(it, tmp, &r->runs)
    {
        run = TW_CONTAINER_OF(it, struct tw_run, link);
        do {
            got = waitpid(run->pid, &status, WNOHANG);
        } while (got == -1 && errno == EINTR);
        if (got != run->pid)
            continue;
        drain(run); /* its ACK or final frame may be in the pipe */
        if (hand_over(r, run))
            continue;
        if (run->w != NULL) {
            tw_pool_lost(r->pool, run->w);
            run->w = NULL;
            run->fd = -1;
        } else {
            r->forked--;
        }
        run->status = status;
        tw_list_remove(&run->link);
        tw_list_add_tail(&done, &run->link);
        r->active--;
    }
    TW_LIST_FOREACH_SAFE(it, tmp, &done)
    {
        run = TW_CONTAINER_OF(it, struct tw_run, link);
        tw_list_remove(&run->link);
        report_end(r, run, run->status);
        run_free(run);
    }
    refill_later(r);
}

int tw_runner_create(const struct tw_runner_opts *o, struct tw_runner **out, struct tw_err *err)
{
    struct tw_runner *r;
    int ret;

    if (o->base == NULL || o->work == NULL || o->done == NULL || o->workers == 0 ||
        o->worker_nice > 19)
        return tw_err_set(err, TW_EINVAL,
                          "runner: base, work, done, workers >= 1 and "
                          "worker_nice <= 19 are required");
    r = tw_calloc(1, sizeof(*r));
    if (r == NULL)
        return tw_err_set(err, TW_ENOMEM, "runner: out of memory");
    r->o = *o;
    if (r->o.kill_grace_ms == 0)
        r->o.kill_grace_ms = DEFAULT_KILL_GRACE_MS;
    r->kind.work = o->work;
    r->kind.work_ctx = o->work_ctx;
    r->kind.nice = (int)o->worker_nice;
    tw_list_init(&r->runs);
    r->ev_chld = evsignal_new(o->base, SIGCHLD, on_sigchld, r);
    r->ev_refill = evtimer_new(o->base, on_refill, r);
    if (r->ev_chld == NULL || r->ev_refill == NULL || evsignal_add(r->ev_chld, NULL) == -1) {
        tw_runner_destroy(r);
        return tw_err_set(err, TW_EIO, "runner: cannot watch SIGCHLD");
    }
    ret = tw_pool_create(&r->kind, o->workers_max_runs, o->workers_max_rss, &r->pool, err);
    if (ret != TW_OK) {
        tw_runner_destroy(r);
        return ret;
    }
    tw_pool_fill(r->pool, r->o.workers);
    *out = r;
    return TW_OK;
}

void tw_runner_destroy(struct tw_runner *r)
{
    struct tw_list *it, *tmp;
    struct tw_run *run;
    int status;

    if (r == NULL)
        return;
    TW_LIST_FOREACH_SAFE(it, tmp, &r->runs)
    {
        run = TW_CONTAINER_OF(it, struct tw_run, link);
        kill_run(run, SIGKILL);
        while (waitpid(run->pid, &status, 0) == -1 && errno == EINTR)
            continue;
        (void)unlink(run->job.tmp_path);
        if (run->w != NULL)
            tw_pool_lost(r->pool, run->w);
        run->w = NULL;
        run->fd = -1;
        tw_list_remove(&run->link);
        run_free(run);
    }
    tw_pool_destroy(r->pool);
    if (r->ev_refill != NULL)
        event_free(r->ev_refill);
    if (r->ev_chld != NULL)
        event_free(r->ev_chld);
    tw_free(r);
}

static struct tw_run *find_run(const struct tw_runner *r, int64_t task_id)
{
    struct tw_list *it;

    for (it = r->runs.next; it != &r->runs; it = it->next) {
        struct tw_run *run = TW_CONTAINER_OF(it, struct tw_run, link);

        if (run->job.task_id == task_id)
            return run;
    }
    return NULL;
}

/* Allocate a run with its events, not yet started (its fd comes with its worker). */
static int run_prepare(struct tw_runner *r, const struct tw_run_job *job, struct tw_run **out,
                       struct tw_err *err)
{
    struct tw_run *run = tw_calloc(1, sizeof(*run));

    if (run == NULL)
        return tw_err_set(err, TW_ENOMEM, "runner: out of memory");
    run->fd = -1;
    run->runner = r;
    if (job_copy(&run->job, job) != TW_OK) {
        run_free(run);
        return tw_err_set(err, TW_ENOMEM, "runner: out of memory");
    }
    run->ev_read = event_new(r->o.base, -1, EV_READ | EV_PERSIST, on_readable, run);
    run->ev_timer = evtimer_new(r->o.base, on_timer, run);
    if (!run->ev_read || !run->ev_timer) {
        run_free(run);
        return tw_err_set(err, TW_ENOMEM, "runner: out of memory");
    }
    *out = run;
    return TW_OK;
}

/*
 * The worker for run, a child of this process, with run->fd the read end of its report pipe:
 * a pooled worker (run->w), or forked here for this run when the pool has none to give (its
 * spawner failed or is too slow). -1 with errno.
 */
static pid_t spawn_worker(struct tw_runner *r, struct tw_run *run)
{
    pid_t parent = getpid();
    pid_t pid;
    int fds[2];

    run->acked = false;
    if (tw_pool_start(r->pool, &run->job, &run->w, &pid, &run->fd) == 0)
        return pid;
    run->w = NULL;
    run->acked = true; /* it is forked with its job */
    if (pipe2(fds, O_CLOEXEC) == -1)
        return -1;
    if (fcntl(fds[0], F_SETFL, O_NONBLOCK) == -1) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    pid = fork();
    if (pid == 0)
        tw_worker_main(fds[1], parent, &run->job, &r->kind);
    close(fds[1]);
    if (pid == -1) {
        close(fds[0]);
        return -1;
    }
    run->fd = fds[0];
    r->forked++;
    r->runs_forked++;
    refill_later(r); /* the pool was short of a worker */
    return pid;
}

/* Watch the report pipe of run's (new) worker. */
static void run_watch(struct tw_runner *r, struct tw_run *run)
{
    (void)setpgid(run->pid, run->pid); /* also done by the child; whoever is first wins */
    event_assign(run->ev_read, r->o.base, run->fd, EV_READ | EV_PERSIST, on_readable, run);
    event_add(run->ev_read, NULL);
}

int tw_runner_start(struct tw_runner *r, const struct tw_run_job *job, struct tw_err *err)
{
    struct timeval tv = { .tv_sec = r->o.task_timeout_s, .tv_usec = 0 };
    struct tw_run *run = NULL;
    int ret;

    if (r->active >= r->o.workers)
        return tw_err_set(err, TW_ELIMIT, "all %u workers are busy", r->o.workers);
    if (find_run(r, job->task_id) != NULL)
        return tw_err_set(err, TW_ECONFLICT, "task %lld is already running",
                          (long long)job->task_id);
    ret = run_prepare(r, job, &run, err);
    if (ret != TW_OK)
        return ret;
    run->started_ms = tw_clock_mono_ms();
    run->pid = spawn_worker(r, run);
    if (run->pid == -1) {
        ret = tw_err_set(err, TW_EIO, "cannot start a worker: %s", strerror(errno));
        run_free(run);
        return ret;
    }
    run_watch(r, run);
    if (r->o.task_timeout_s > 0)
        evtimer_add(run->ev_timer, &tv);
    tw_list_add_tail(&r->runs, &run->link);
    r->active++;
    return TW_OK;
}

int tw_runner_cancel(struct tw_runner *r, int64_t task_id)
{
    struct tw_run *run = find_run(r, task_id);

    if (run == NULL)
        return TW_ENOTFOUND;
    run->stop = STOP_CANCEL;
    evtimer_del(run->ev_timer);
    kill_run(run, SIGKILL);
    (void)unlink(run->job.tmp_path); /* again at reap time: the worker may write until then */
    return TW_OK;
}

void tw_runner_interrupt_all(struct tw_runner *r)
{
    struct tw_list *it;

    for (it = r->runs.next; it != &r->runs; it = it->next) {
        struct tw_run *run = TW_CONTAINER_OF(it, struct tw_run, link);

        if (run->stop == STOP_NONE)
            run->stop = STOP_INTERRUPT;
        evtimer_del(run->ev_timer);
        kill_run(run, SIGKILL);
    }
}

bool tw_runner_is_running(const struct tw_runner *r, int64_t task_id)
{
    return find_run(r, task_id) != NULL;
}

unsigned tw_runner_active(const struct tw_runner *r)
{
    return r->active;
}

bool tw_runner_has_room(const struct tw_runner *r)
{
    return r->active < r->o.workers;
}

void tw_runner_get_stats(const struct tw_runner *r, struct tw_runner_stats *out)
{
    struct tw_pool_stats ps;

    tw_pool_get_stats(r->pool, &ps);
    memset(out, 0, sizeof(*out));
    out->workers_started = ps.started;
    out->workers_retired = ps.retired;
    out->workers_lost_idle = ps.lost_idle;
    out->jobs_pooled = ps.handed_jobs;
    out->jobs_handed_over = r->handovers;
    out->runs_forked = r->runs_forked;
    out->workers_live = tw_pool_size(r->pool) + r->forked;
}

int tw_run_paths(const char *results_dir, int64_t chain, int64_t task_id, char *dir, size_t dir_len,
                 char *tmp, size_t tmp_len)
{
    int n = snprintf(dir, dir_len, "%s/%lld/%lld", results_dir, (long long)chain,
                     (long long)task_id);
    int m;

    if (n < 0 || (size_t)n >= dir_len)
        return TW_EINVAL;
    m = snprintf(tmp, tmp_len, "%s/.partial", dir);
    if (m < 0 || (size_t)m >= tmp_len)
        return TW_EINVAL;
    return TW_OK;
}
