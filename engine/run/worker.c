/*
 * The child side of a run: everything between fork() and _exit() in a worker process.
 *
 * The worker starts as a copy of the server, so before running any export code it sheds what
 * it must not use: every inherited file descriptor but 0-2 and its report pipe (close_range,
 * so nothing opened later by another part of the server can leak in), every signal handler
 * libevent or serve.c installed, and the blocked-signal mask. It is its own process group, so
 * the parent's SIGTERM/SIGKILL reach anything a plugin spawns, and it dies with the server
 * (PR_SET_PDEATHSIG), so a kill -9'd server never has an orphan renaming files behind the back
 * of its restarted self. It never touches the event base, the store, or the heap state of the
 * parent's objects beyond reading the job, and always leaves through _exit().
 *
 * A worker starts one of two ways: as a pooled worker (tw_spare_main), cloned ahead of time by
 * the spawner, which runs job after job read from its socket until the pool closes it (issue
 * 16); or, when the pool cannot give one, forked for the one job it already has
 * (tw_worker_main), which it runs before it exits.
 *
 * Between two jobs a pooled worker keeps nothing of the first: the job's strings are freed,
 * the export opens and closes its source connection per run (no cached rows), a segment's or
 * formatter's Lua state is created for the run and destroyed with it, the Lua CPU limit is
 * re-armed per run (export_work.c), and the work function's allocations are freed. What does
 * carry over is the process itself: its heap arena (freed memory is reused, never read), and
 * anything a native plugin keeps in static storage on purpose, which plugins must not do with
 * records (docs/plugins.md). A worker that crashes, times out or is cancelled dies, and with
 * it whatever it held.
 */
#include "run/run_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/mem.h"

#define REPORT_FD 3
#define JOB_FD 4          /* a pooled worker's job socket */
#define FD_PARK 10        /* fds wait at the lowest free number >= this while moved */
#define EXIT_NO_REPORT 70 /* EX_SOFTWARE: the work function returned 0 but said nothing */
#define PROGRESS_EVERY_MS 1000

void tw_proc_lower_priority(int inc)
{
    int now;

    if (inc <= 0)
        return;
    errno = 0;
    now = getpriority(PRIO_PROCESS, 0);
    if (now == -1 && errno != 0)
        return;
    /* Raising one's own nice value needs no privilege; failing leaves the server's. */
    (void)setpriority(PRIO_PROCESS, 0, now + inc > 19 ? 19 : now + inc);
}

void tw_proc_close_from(int from)
{
    long max;
    int fd;

    if (close_range((unsigned)from, ~0U, 0) == 0)
        return;
    max = sysconf(_SC_OPEN_MAX);
    if (max == -1 || max > 65536)
        max = 65536;
    for (fd = from; fd < max; fd++)
        (void)close(fd);
}

/*
 * Leave exactly: 0 = /dev/null, 1 and 2 as inherited, REPORT_FD = the report pipe and, for a
 * spare, JOB_FD = the job socket (job_fd -1: none). Both are first parked at FD_PARK or up, so
 * that moving one never overwrites the other. Returns -1 when they could not be moved (the
 * worker then has no way to report and exits).
 */
static int arrange_fds(int report_fd, int job_fd)
{
    int r = fcntl(report_fd, F_DUPFD, FD_PARK);
    int j = job_fd != -1 ? fcntl(job_fd, F_DUPFD, FD_PARK) : -1;
    int null_fd;
    int i;

    if (r == -1 || (job_fd != -1 && j == -1) || dup2(r, REPORT_FD) == -1 ||
        (j != -1 && dup2(j, JOB_FD) == -1))
        return -1;
    tw_proc_close_from(j != -1 ? JOB_FD + 1 : REPORT_FD + 1);
    null_fd = open("/dev/null", O_RDWR);
    if (null_fd == -1)
        return 0;
    /* A server started with 0-2 closed may have got a pipe there: cover that copy up too. */
    for (i = 0; i < 3; i++)
        if (i != null_fd && (i == 0 || i == report_fd || i == job_fd || fcntl(i, F_GETFD) == -1))
            (void)dup2(null_fd, i);
    if (null_fd > 2)
        (void)close(null_fd);
    return 0;
}

/* One atomic write (frames are <= PIPE_BUF); retried on EINTR. 0 or -1. */
static int send_frame(struct tw_run_report *rep, struct tw_run_frame *f)
{
    ssize_t n;

    f->magic = TW_RUN_FRAME_MAGIC;
    do {
        n = write(rep->fd, f, sizeof(*f));
    } while (n == -1 && errno == EINTR);
    return n == (ssize_t)sizeof(*f) ? 0 : -1;
}

/* This process's resident set in bytes, from /proc/self/statm; 0 when unknown. */
static int64_t own_rss(void)
{
    char buf[128];
    long long size, resident;
    ssize_t n;
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);

    if (fd == -1)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    (void)close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    if (sscanf(buf, "%lld %lld", &size, &resident) != 2)
        return 0;
    return (int64_t)resident * (int64_t)sysconf(_SC_PAGESIZE);
}

/*
 * What every final frame of a run carries besides its result: the resident set (the pool
 * replaces a worker above workers_max_rss). A pooled worker is named tw-spare again before
 * its final frame leaves, so whoever sees the run ended sees no tw-worker for it.
 */
static void final_prepare(struct tw_run_report *rep, struct tw_run_frame *f)
{
    f->rss = own_rss();
    if (rep->reusable)
        (void)prctl(PR_SET_NAME, "tw-spare");
}

void tw_run_report_progress(struct tw_run_report *rep, const struct tw_run_counts *c)
{
    struct tw_run_frame f;
    uint64_t now = tw_clock_mono_ms();

    if (rep->finals > 0)
        return;
    rep->last = *c;
    if (rep->last_progress_ms != 0 && now - rep->last_progress_ms < PROGRESS_EVERY_MS)
        return;
    memset(&f, 0, sizeof(f));
    f.kind = TW_FRAME_PROGRESS;
    f.counts = *c;
    rep->last_progress_ms = now;
    (void)send_frame(rep, &f);
}

/*
 * The final message of a good run: the file is already renamed into the result dir as
 * file_name (a plain name, no '/'). size in bytes, sha256_hex 64 lowercase hex chars.
 * Returns 0, or -1 when it was not sent (a second final, or the pipe is gone).
 */
int tw_run_report_success(struct tw_run_report *rep, const struct tw_run_counts *c,
                          const char *file_name, int64_t size, const char *sha256_hex)
{
    struct tw_run_frame f;

    if (rep->finals > 0)
        return -1;
    memset(&f, 0, sizeof(f));
    f.kind = TW_FRAME_SUCCESS;
    f.counts = *c;
    f.size = size;
    snprintf(f.sha256, sizeof(f.sha256), "%s", sha256_hex);
    snprintf(f.text, sizeof(f.text), "%s", file_name);
    final_prepare(rep, &f);
    rep->finals++;
    return send_frame(rep, &f);
}

/* The final message of a failed run: a sentence a user can act on (truncated to fit). */
int tw_run_report_error(struct tw_run_report *rep, const struct tw_run_counts *c, const char *fmt,
                        ...)
{
    struct tw_run_frame f;
    va_list ap;

    if (rep->finals > 0)
        return -1;
    memset(&f, 0, sizeof(f));
    f.kind = TW_FRAME_ERROR;
    f.counts = *c;
    va_start(ap, fmt);
    vsnprintf(f.text, sizeof(f.text), fmt, ap);
    va_end(ap);
    final_prepare(rep, &f);
    rep->finals++;
    return send_frame(rep, &f);
}

void tw_run_report_fatal(struct tw_run_report *rep, const char *msg)
{
    struct tw_run_frame f;
    size_t n = strnlen(msg, sizeof(f.text) - 1);

    /* Only memset/memcpy/write/_exit: this runs in a signal handler. */
    if (rep->finals == 0) {
        memset(&f, 0, sizeof(f));
        f.kind = TW_FRAME_ERROR;
        f.flags = TW_FRAME_F_EXITING; /* this process ends here: not a spare again */
        f.counts = rep->last;
        memcpy(f.text, msg, n);
        rep->finals++;
        (void)send_frame(rep, &f);
    }
    _exit(0);
}

/*
 * Shed what the server had (signals, process group, fds) and make sure it is still there to
 * report to; see the top of the file. Exits when it is not.
 */
static void worker_prepare(int report_fd, int job_fd, pid_t parent)
{
    tw_proc_reset_signals();
    (void)setpgid(0, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
        _exit(EXIT_NO_REPORT); /* the server is already gone: nobody to report to */
    if (arrange_fds(report_fd, job_fd) == -1)
        _exit(EXIT_NO_REPORT);
}

/*
 * Run job with the fds in place. Returns when the run sent its final frame; otherwise the
 * worker exits with the work function's status (0 mapped to EXIT_NO_REPORT).
 */
static void worker_run(const struct tw_run_job *job, const struct tw_worker_kind *kind,
                       bool reusable)
{
    struct tw_run_report rep;
    int status;
    int rc;

    (void)prctl(PR_SET_NAME, "tw-worker"); /* what ps -o comm and top show */
    memset(&rep, 0, sizeof(rep));
    rep.fd = REPORT_FD;
    rep.reusable = reusable;
    rc = kind->work(job, &rep, kind->work_ctx);
    if (rep.finals > 0)
        return;
    status = rc & 0xff;
    _exit(status != 0 ? status : EXIT_NO_REPORT);
}

void tw_worker_main(int fd, pid_t parent, const struct tw_run_job *job,
                    const struct tw_worker_kind *kind)
{
    tw_proc_lower_priority(kind->nice);
    worker_prepare(fd, -1, parent);
    worker_run(job, kind, false);
    _exit(0);
}

void tw_spare_main(int report_fd, int job_fd, pid_t parent, const struct tw_worker_kind *kind)
{
    struct tw_run_report ack;
    struct tw_run_frame f;
    struct tw_run_job job;
    char *buf;

    worker_prepare(report_fd, job_fd, parent);
    memset(&ack, 0, sizeof(ack));
    ack.fd = REPORT_FD;
    for (;;) {
        (void)prctl(PR_SET_NAME, "tw-spare");
        buf = tw_job_recv(JOB_FD, &job);
        if (buf == NULL)
            _exit(0); /* no job: the pool retired this worker or the server is stopping */
        /* Taken: from here a death is the run's (before it, the runner hands the job on). */
        memset(&f, 0, sizeof(f));
        f.kind = TW_FRAME_ACK;
        if (send_frame(&ack, &f) == -1)
            _exit(0);
        worker_run(&job, kind, true);
        tw_free(buf);
    }
}
