/*
 * The pool of reusable workers, parent side (issue 16): long-lived worker processes, cloned
 * by the spawner (spawner.c says why the server itself does not fork), each running many jobs
 * in turn, so that starting a run costs the server one sendmsg and no process at all.
 *
 * A worker is asked for (pending: its fds exist, its pid comes with the spawner's answer,
 * answers arrive in request order), then idle (pid known, blocked reading a job), then busy
 * (handed a job; the runner owns it until the run's final frame, tw_pool_release, or its
 * death, tw_pool_lost), then idle again, until it is retired: after max_runs jobs, or when
 * the resident set it reported with a final frame is above max_rss. A retired worker's job
 * socket is closed, so it reads EOF and exits; it waits on the retiring list to be reaped.
 * Idle workers are used last-in first-out, so under light load the same warm process runs
 * the jobs and the others stay paged in but untouched.
 *
 * An idle worker that dies (killed by an operator or the OOM killer) is reaped at the next
 * SIGCHLD (tw_pool_reap: one waitpid per idle worker, and SIGCHLD is rare now that a run's end
 * is not a process's end); if its job was sent first, the send fails or the runner sees it die
 * before its ACK frame and hands the job to another (runner.c). When the spawner itself fails,
 * the pool drops it and its pending workers and starts a new one at the next ask; a start that
 * still gets no worker is forked by the runner. The spawner runs at the workers' low priority,
 * so a start waits for it at most START_WAIT_MS before the runner forks instead.
 */
#include "run/run_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/list.h"
#include "core/log.h"
#include "core/mem.h"

#define SEND_TIMEOUT_S 5  /* a spare that does not read its job is replaced */
#define START_TRIES 3     /* spares tried per start before the caller forks */
#define START_WAIT_MS 100 /* longest wait for a clone before the caller forks */
#define SILENT_MS 5000    /* a spawner this late with an answer is replaced */

struct tw_pool_worker {
    struct tw_list link; /* pool->pending, ->idle or ->retiring; unlinked while busy */
    pid_t pid;           /* 0 while pending */
    uint64_t asked_ms;   /* monotonic time of the request */
    int job_fd;          /* our end of its job socket; -1 once retired */
    int report_fd;       /* read end of its report pipe, non-blocking; -1 once retired */
    uint32_t runs;       /* jobs handed to it */
};

struct tw_pool {
    struct tw_worker_kind kind; /* for each spawner started */
    struct tw_spawner *sp;      /* NULL after a failure, until the next fill */
    struct tw_list pending;     /* asked for, oldest first */
    struct tw_list ready;       /* idle: have a pid, most recently used first */
    struct tw_list retiring;    /* job socket closed, exiting, not reaped yet */
    unsigned n_pending, n_ready, n_busy;
    uint32_t max_runs; /* 0: no limit */
    uint64_t max_rss;  /* bytes, 0: no limit */
    struct tw_pool_stats stats;
    bool warned; /* a spawner failure was logged already */
};

static void spare_close(struct tw_pool_worker *s)
{
    if (s->job_fd != -1)
        close(s->job_fd);
    if (s->report_fd != -1)
        close(s->report_fd);
    tw_free(s);
}

/* Kill and reap a spare that will not get a job (closing its job socket alone would do). */
static void spare_end(struct tw_pool_worker *s)
{
    if (s->pid > 0) {
        (void)kill(s->pid, SIGKILL);
        while (waitpid(s->pid, NULL, 0) == -1 && errno == EINTR)
            continue;
    }
    spare_close(s);
}

static struct tw_pool_worker *pop(struct tw_list *head, unsigned *n)
{
    struct tw_list *it = head->next;

    if (it == head)
        return NULL;
    tw_list_remove(it);
    (*n)--;
    return TW_CONTAINER_OF(it, struct tw_pool_worker, link);
}

/*
 * The spawner failed: read the answers already sent (their spares exist and must be
 * reaped), then drop it and every spare still pending.
 */
static void drop_spawner(struct tw_pool *p, int why)
{
    struct tw_pool_worker *s;
    pid_t pid;

    if (!p->warned)
        tw_logf(TW_LOG_WARN, "run.spawner",
                "the worker spawner failed (%s): starting a new "
                "one (logged once)",
                strerror(why));
    p->warned = true;
    while (p->n_pending > 0 && tw_spawner_reply(p->sp, false, &pid) == 1) {
        s = pop(&p->pending, &p->n_pending);
        s->pid = pid > 0 ? pid : 0;
        spare_end(s);
    }
    while ((s = pop(&p->pending, &p->n_pending)) != NULL)
        spare_close(s); /* never cloned, or its spare reads EOF and exits */
    tw_spawner_destroy(p->sp);
    p->sp = NULL;
}

/* Whether the oldest request has gone unanswered for SILENT_MS (the spawner is stuck). */
static bool spawner_silent(const struct tw_pool *p)
{
    const struct tw_pool_worker *s;

    if (p->n_pending == 0)
        return false;
    s = TW_CONTAINER_OF(p->pending.next, struct tw_pool_worker, link);
    return tw_clock_mono_ms() - s->asked_ms >= SILENT_MS;
}

/* Move answered spares from pending to ready. wait: block for at least one answer. */
static void take_answers(struct tw_pool *p, bool wait)
{
    struct tw_pool_worker *s;
    pid_t pid;
    int rc;

    while (p->sp != NULL && p->n_pending > 0) {
        rc = tw_spawner_reply(p->sp, wait, &pid);
        if (rc == 0)
            return;
        if (rc == -1) {
            drop_spawner(p, errno);
            return;
        }
        s = pop(&p->pending, &p->n_pending);
        if (pid <= 0) {
            spare_close(s); /* that clone failed (process limit): a later fill retries */
            return;
        }
        s->pid = pid;
        tw_list_add_tail(&p->ready, &s->link);
        p->n_ready++;
        p->stats.started++;
        wait = false;
    }
}

/* Ask for one spare. 0, or -1 when it cannot be asked for (spawner or fds unavailable). */
static int ask(struct tw_pool *p)
{
    struct timeval limit = { SEND_TIMEOUT_S, 0 };
    struct tw_pool_worker *s;
    struct tw_err err;
    int job[2], rep[2];

    if (p->sp == NULL && tw_spawner_create(&p->kind, &p->sp, &err) != TW_OK)
        return -1;
    s = tw_calloc(1, sizeof(*s));
    if (s == NULL)
        return -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, job) == -1) {
        tw_free(s);
        return -1;
    }
    if (pipe2(rep, O_CLOEXEC) == -1) {
        close(job[0]);
        close(job[1]);
        tw_free(s);
        return -1;
    }
    s->job_fd = job[0];
    s->report_fd = rep[0];
    s->asked_ms = tw_clock_mono_ms();
    (void)fcntl(s->report_fd, F_SETFL, O_NONBLOCK);
    (void)setsockopt(s->job_fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
    if (tw_spawner_request(p->sp, job[1], rep[1]) == -1) {
        int why = errno;

        close(job[1]);
        close(rep[1]);
        spare_close(s);
        drop_spawner(p, why);
        return -1;
    }
    close(job[1]); /* the spawner has its own copies now */
    close(rep[1]);
    tw_list_add_tail(&p->pending, &s->link);
    p->n_pending++;
    return 0;
}

int tw_pool_create(const struct tw_worker_kind *kind, uint32_t max_runs, uint64_t max_rss,
                   struct tw_pool **out, struct tw_err *err)
{
    struct tw_pool *p = tw_calloc(1, sizeof(*p));
    int ret;

    if (p == NULL)
        return tw_err_set(err, TW_ENOMEM, "runner: out of memory");
    p->kind = *kind;
    p->max_runs = max_runs;
    p->max_rss = max_rss;
    tw_list_init(&p->pending);
    tw_list_init(&p->ready);
    tw_list_init(&p->retiring);
    ret = tw_spawner_create(kind, &p->sp, err);
    if (ret != TW_OK) {
        tw_free(p);
        return ret;
    }
    *out = p;
    return TW_OK;
}

void tw_pool_destroy(struct tw_pool *p)
{
    struct tw_pool_worker *s;
    unsigned n = 0;

    if (p == NULL)
        return;
    while (p->n_pending > 0 && p->sp != NULL)
        take_answers(p, true); /* learn every pid, so every spare is reaped */
    while ((s = pop(&p->ready, &p->n_ready)) != NULL)
        spare_end(s);
    while ((s = pop(&p->retiring, &n)) != NULL)
        spare_end(s);
    while ((s = pop(&p->pending, &p->n_pending)) != NULL)
        spare_close(s);
    tw_spawner_destroy(p->sp);
    tw_free(p);
}

void tw_pool_fill(struct tw_pool *p, unsigned want)
{
    bool fresh = false; /* a new spawner was tried already */

    take_answers(p, false);
    while (p->n_ready + p->n_pending + p->n_busy < want) {
        if (ask(p) == 0)
            continue;
        /* A spawner that died while idle is found out here: ask a new one, once. */
        if (p->sp != NULL || fresh)
            return;
        fresh = true;
    }
}

int tw_pool_start(struct tw_pool *p, const struct tw_run_job *job, struct tw_pool_worker **w,
                  pid_t *pid, int *report_fd)
{
    struct tw_pool_worker *s;
    int tries;

    for (tries = 0; tries < START_TRIES; tries++) {
        take_answers(p, false);
        if (p->n_ready == 0 && p->n_pending == 0 && ask(p) == -1)
            return -1;
        if (p->n_ready == 0) {
            /*
             * The spawner runs at the workers' low priority: with other busy processes on
             * the machine its clone can take long. Rather than stall the event loop, the
             * caller forks this one and the clone's answer is taken when it comes; a
             * spawner silent for SILENT_MS is stuck (stopped, say) and is replaced.
             */
            if (tw_spawner_wait(p->sp, START_WAIT_MS) == 0) {
                if (!spawner_silent(p))
                    break;
                drop_spawner(p, ETIMEDOUT);
                continue;
            }
            take_answers(p, true);
        }
        s = pop(&p->ready, &p->n_ready);
        if (s == NULL)
            continue; /* the spawner failed or the clone did: ask again */
        if (tw_job_send(s->job_fd, job) == -1) {
            p->stats.lost_idle++;
            spare_end(s); /* died while idle */
            continue;
        }
        s->runs++;
        p->n_busy++;
        p->stats.handed_jobs++;
        *w = s;
        *pid = s->pid;
        *report_fd = s->report_fd;
        return 0;
    }
    errno = EAGAIN;
    return -1;
}

bool tw_pool_release(struct tw_pool *p, struct tw_pool_worker *w, int64_t rss)
{
    bool runs = p->max_runs != 0 && w->runs >= p->max_runs;
    bool big = p->max_rss != 0 && rss > 0 && (uint64_t)rss > p->max_rss;

    p->n_busy--;
    if (!runs && !big) {
        tw_list_add_head(&p->ready, &w->link); /* most recently used first */
        p->n_ready++;
        return false;
    }
    tw_logf(TW_LOG_INFO, "run.worker_retired",
            "worker %d replaced after %u runs (%s; resident set %lld bytes)", (int)w->pid, w->runs,
            runs ? "workers_max_runs" : "workers_max_rss", (long long)rss);
    p->stats.retired++;
    close(w->job_fd); /* EOF: it exits */
    close(w->report_fd);
    w->job_fd = w->report_fd = -1;
    tw_list_add_tail(&p->retiring, &w->link);
    return true;
}

void tw_pool_lost(struct tw_pool *p, struct tw_pool_worker *w)
{
    p->n_busy--;
    spare_close(w);
}

/* Reap the workers of list that have exited; returns how many. */
static unsigned reap_list(struct tw_list *head, unsigned *n)
{
    struct tw_list *it, *tmp;
    unsigned gone = 0;
    pid_t got;

    TW_LIST_FOREACH_SAFE(it, tmp, head)
    {
        struct tw_pool_worker *s = TW_CONTAINER_OF(it, struct tw_pool_worker, link);

        do {
            got = waitpid(s->pid, NULL, WNOHANG);
        } while (got == -1 && errno == EINTR);
        if (got != s->pid && !(got == -1 && errno == ECHILD))
            continue;
        tw_list_remove(&s->link);
        if (n != NULL)
            (*n)--;
        spare_close(s);
        gone++;
    }
    return gone;
}

unsigned tw_pool_reap(struct tw_pool *p)
{
    unsigned lost;

    take_answers(p, false);
    lost = reap_list(&p->ready, &p->n_ready);
    p->stats.lost_idle += lost;
    return lost + reap_list(&p->retiring, NULL);
}

unsigned tw_pool_size(const struct tw_pool *p)
{
    return p->n_ready + p->n_busy + p->n_pending;
}

void tw_pool_get_stats(const struct tw_pool *p, struct tw_pool_stats *out)
{
    *out = p->stats;
}
