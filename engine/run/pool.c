/*
 * The pool of spares, parent side: workers cloned ahead of time by the spawner, each blocked
 * reading its job, so that starting a run costs the server one sendmsg instead of a fork
 * (spawner.c says why a fork is expensive here). The runner keeps as many spares asked for
 * as it has free worker slots, so the processes that exist never exceed `workers` for long.
 *
 * A spare is asked for (pending: its fds exist, its pid comes with the spawner's answer,
 * answers arrive in request order), then ready (idle, pid known), then handed a job and
 * forgotten: from there it is the runner's run like any forked worker. A ready spare that
 * dies (killed by an operator or the OOM killer) stays a zombie until its turn comes: the send
 * of its job fails, it is reaped and the next spare takes the job. (Checking every ready spare
 * with waitpid on each SIGCHLD cost ~100 system calls per run end with 100 workers.)
 * When the spawner itself fails, the pool drops it and its pending spares and starts a new
 * one at the next ask; a start that still gets no spare is forked by the runner. The spawner
 * runs at the workers' low priority, so a start waits for it at most START_WAIT_MS before
 * the runner forks instead.
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

struct spare {
    struct tw_list link; /* pool->pending or pool->ready */
    pid_t pid;           /* 0 while pending */
    uint64_t asked_ms;   /* monotonic time of the request */
    int job_fd;          /* our end of its job socket */
    int report_fd;       /* read end of its report pipe, non-blocking */
};

struct tw_pool {
    struct tw_worker_kind kind; /* for each spawner started */
    struct tw_spawner *sp;      /* NULL after a failure, until the next fill */
    struct tw_list pending;     /* asked for, oldest first */
    struct tw_list ready;       /* have a pid, oldest first */
    unsigned n_pending, n_ready;
    bool warned; /* a spawner failure was logged already */
};

static void spare_close(struct spare *s)
{
    if (s->job_fd != -1)
        close(s->job_fd);
    if (s->report_fd != -1)
        close(s->report_fd);
    tw_free(s);
}

/* Kill and reap a spare that will not get a job (closing its job socket alone would do). */
static void spare_end(struct spare *s)
{
    if (s->pid > 0) {
        (void)kill(s->pid, SIGKILL);
        while (waitpid(s->pid, NULL, 0) == -1 && errno == EINTR)
            continue;
    }
    spare_close(s);
}

static struct spare *pop(struct tw_list *head, unsigned *n)
{
    struct tw_list *it = head->next;

    if (it == head)
        return NULL;
    tw_list_remove(it);
    (*n)--;
    return TW_CONTAINER_OF(it, struct spare, link);
}

/*
 * The spawner failed: read the answers already sent (their spares exist and must be
 * reaped), then drop it and every spare still pending.
 */
static void drop_spawner(struct tw_pool *p, int why)
{
    struct spare *s;
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
    const struct spare *s;

    if (p->n_pending == 0)
        return false;
    s = TW_CONTAINER_OF(p->pending.next, struct spare, link);
    return tw_clock_mono_ms() - s->asked_ms >= SILENT_MS;
}

/* Move answered spares from pending to ready. wait: block for at least one answer. */
static void take_answers(struct tw_pool *p, bool wait)
{
    struct spare *s;
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
        wait = false;
    }
}

/* Ask for one spare. 0, or -1 when it cannot be asked for (spawner or fds unavailable). */
static int ask(struct tw_pool *p)
{
    struct timeval limit = { SEND_TIMEOUT_S, 0 };
    struct spare *s;
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

int tw_pool_create(const struct tw_worker_kind *kind, struct tw_pool **out, struct tw_err *err)
{
    struct tw_pool *p = tw_calloc(1, sizeof(*p));
    int ret;

    if (p == NULL)
        return tw_err_set(err, TW_ENOMEM, "runner: out of memory");
    p->kind = *kind;
    tw_list_init(&p->pending);
    tw_list_init(&p->ready);
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
    struct spare *s;

    if (p == NULL)
        return;
    while (p->n_pending > 0 && p->sp != NULL)
        take_answers(p, true); /* learn every pid, so every spare is reaped */
    while ((s = pop(&p->ready, &p->n_ready)) != NULL)
        spare_end(s);
    while ((s = pop(&p->pending, &p->n_pending)) != NULL)
        spare_close(s);
    tw_spawner_destroy(p->sp);
    tw_free(p);
}

void tw_pool_fill(struct tw_pool *p, unsigned want)
{
    take_answers(p, false);
    while (p->n_ready + p->n_pending < want)
        if (ask(p) == -1)
            return;
}

int tw_pool_start(struct tw_pool *p, const struct tw_run_job *job, pid_t *pid, int *report_fd)
{
    struct spare *s;
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
            spare_end(s); /* died while ready */
            continue;
        }
        *pid = s->pid;
        *report_fd = s->report_fd;
        s->report_fd = -1;
        spare_close(s); /* closing the job socket is fine: the job is in it */
        return 0;
    }
    errno = EAGAIN;
    return -1;
}

void tw_pool_reap(struct tw_pool *p)
{
    take_answers(p, false);
}
