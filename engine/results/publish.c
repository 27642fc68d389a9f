/* Publishing sealed results and deleting objects in the tw-results helper (see publish.h). */
#include "results/publish.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/proc.h"
#include "results/results.h"

enum op { OP_PUBLISH = 1, OP_DISCARD, OP_EXTEND, OP_DELETE };

/* server -> helper, one datagram each */
struct req {
    uint32_t op;
    uint32_t pad;
    uint64_t id;         /* OP_PUBLISH, OP_EXTEND */
    int64_t deadline_ms; /* OP_PUBLISH, OP_EXTEND */
    char why[32];        /* OP_DELETE */
    char path[4352];     /* the result directory, or the key for OP_DELETE */
};

/* helper -> server, for OP_PUBLISH */
struct rep {
    uint64_t id;
    int32_t rc;
    char msg[sizeof(((struct tw_err *)0)->msg)];
};

/* ---------------------------------------------------------------- the helper's side */

/* One request being handled by its thread. */
struct job {
    struct job *next; /* jobs (OP_PUBLISH only) */
    struct req req;
    tw_s3_deadline deadline;
};

static int helper_sock = -1;
static const struct tw_s3_conf *helper_conf;
static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct job *jobs;

static void jobs_del(struct job *j)
{
    pthread_mutex_lock(&jobs_lock);
    for (struct job **p = &jobs; *p != NULL; p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            break;
        }
    pthread_mutex_unlock(&jobs_lock);
}

/*
 * Abort the upload the sealed file names (only that one: the key may have another node's
 * upload in flight when this run was fenced) and remove the sealed file and the marker. When
 * the abort fails the marker stays, so the task's next run here aborts it (tw_results_settle).
 */
static void abort_sealed(const char *dir, const char *key, const char *upload_id, const char *why)
{
    struct tw_err err;

    tw_err_clear(&err);
    tw_results_sealed_remove(dir);
    if (tw_s3_abort_upload(helper_conf, key, upload_id, &err) != TW_OK) {
        tw_log(TW_LOG_WARN, "results.upload_abort_failed", "bucket", helper_conf->bucket, "key",
               key, "reason", err.msg, NULL);
        return;
    }
    tw_results_marker_remove(dir);
    tw_log(TW_LOG_INFO, "results.upload_aborted", "bucket", helper_conf->bucket, "key", key,
           "reason", why, NULL);
}

static void publish(struct job *j, struct rep *rep)
{
    struct tw_s3_sealed sealed;
    struct tw_err err;
    char key[4352];
    const char *dir = j->req.path;

    tw_err_clear(&err);
    rep->rc = tw_results_sealed_read(dir, key, sizeof(key), &sealed, &err);
    if (rep->rc == TW_OK && j->req.op == OP_DISCARD) {
        abort_sealed(dir, key, sealed.upload_id, "its run was fenced or not recorded");
    } else if (rep->rc == TW_OK) {
        rep->rc = tw_s3_upload_complete(helper_conf, key, sealed.upload_id, sealed.body,
                                        sealed.body_len, &j->deadline, &err);
        if (rep->rc == TW_OK) {
            tw_results_sealed_remove(dir);
            tw_results_marker_remove(dir);
        } else {
            abort_sealed(dir, key, sealed.upload_id, "its publication failed");
        }
    }
    tw_s3_sealed_fini(&sealed);
    snprintf(rep->msg, sizeof(rep->msg), "%s", rep->rc == TW_OK ? "" : err.msg);
}

static void delete_key(const struct req *r)
{
    struct tw_err err;

    tw_err_clear(&err);
    if (tw_s3_delete(helper_conf, r->path, &err) == TW_OK)
        tw_log(TW_LOG_INFO, "results.deleted", "bucket", helper_conf->bucket, "key", r->path, "why",
               r->why, NULL);
    else
        tw_log(TW_LOG_WARN, "results.delete_failed", "bucket", helper_conf->bucket, "key", r->path,
               "why", r->why, "reason", err.msg, NULL);
}

static void *job_main(void *arg)
{
    struct job *j = arg;
    struct rep rep;

    memset(&rep, 0, sizeof(rep));
    rep.id = j->req.id;
    if (j->req.op == OP_DELETE) {
        delete_key(&j->req);
    } else {
        publish(j, &rep);
        if (j->req.op == OP_PUBLISH) {
            jobs_del(j);
            /* one datagram: whole or not at all, whichever thread sends */
            (void)send(helper_sock, &rep, sizeof(rep), MSG_NOSIGNAL);
        }
    }
    tw_free(j);
    return NULL;
}

static void extend(const struct req *r)
{
    pthread_mutex_lock(&jobs_lock);
    for (struct job *j = jobs; j != NULL; j = j->next)
        if (j->req.id == r->id)
            atomic_store(&j->deadline, r->deadline_ms);
    pthread_mutex_unlock(&jobs_lock);
}

/* Start a thread for r; a publication that cannot be started is answered at once. */
static void handle(const struct req *r)
{
    struct job *j = tw_calloc(1, sizeof(*j));
    pthread_attr_t attr;
    pthread_t th;
    int rc = j != NULL ? 0 : ENOMEM;

    if (j != NULL) {
        j->req = *r;
        atomic_init(&j->deadline, r->deadline_ms);
        if (r->op == OP_PUBLISH) {
            pthread_mutex_lock(&jobs_lock);
            j->next = jobs;
            jobs = j;
            pthread_mutex_unlock(&jobs_lock);
        }
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        rc = pthread_create(&th, &attr, job_main, j);
        pthread_attr_destroy(&attr);
        if (rc != 0 && r->op == OP_PUBLISH)
            jobs_del(j);
        if (rc != 0)
            tw_free(j);
    }
    if (rc != 0 && r->op == OP_PUBLISH) {
        struct rep rep = { .id = r->id, .rc = TW_EIO };

        snprintf(rep.msg, sizeof(rep.msg), "results helper: cannot start a thread (%s)",
                 strerror(rc));
        (void)send(helper_sock, &rep, sizeof(rep), MSG_NOSIGNAL);
    } else if (rc != 0) {
        tw_logf(TW_LOG_WARN, "results.helper", "cannot start a thread (%s)", strerror(rc));
    }
}

/* The helper's life: one thread per request until the socket closes. Never returns. */
static void helper_main(int sock, pid_t server, const struct tw_s3_conf *c)
{
    struct req r;
    ssize_t n;

    (void)prctl(PR_SET_NAME, "tw-results");
    tw_proc_reset_signals(); /* the server's handlers write to the server's signal socket */
    (void)signal(SIGPIPE, SIG_IGN);
    (void)setpgid(0, 0); /* a terminal's ^C is for the server, which then drains */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != server)
        _exit(0);
    helper_sock = sock;
    helper_conf = c;
    for (;;) {
        n = recv(sock, &r, sizeof(r), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != (ssize_t)sizeof(r))
            _exit(0); /* closed: the server stopped (what is in flight is abandoned) */
        r.path[sizeof(r.path) - 1] = '\0';
        r.why[sizeof(r.why) - 1] = '\0';
        if (r.op == OP_EXTEND)
            extend(&r);
        else if (r.op == OP_PUBLISH || r.op == OP_DISCARD || r.op == OP_DELETE)
            handle(&r);
    }
}

/* ---------------------------------------------------------------- the server's side */

struct tw_publish {
    struct tw_publish *next; /* p->jobs */
    uint64_t id;
    tw_publish_done_fn *done;
    void *arg;
};

struct tw_publisher {
    struct event_base *base;
    struct tw_s3_conf_copy conf; /* the helper's own copy is made by the fork */
    int fd;                      /* -1: no helper (it died; the next request starts one) */
    pid_t pid;
    struct event *ev; /* fd readable */
    struct tw_publish *jobs;
    unsigned n_jobs;
    uint64_t next_id;
};

static struct tw_publisher *current;

struct tw_publisher *tw_publisher_current(void)
{
    return current;
}

static void on_readable(evutil_socket_t fd, short what, void *arg);

static int helper_start(struct tw_publisher *p, struct tw_err *err)
{
    struct timeval limit = { 2, 0 };
    pid_t server = getpid();
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
        return tw_err_set(err, TW_EIO, "results: socketpair: %s", strerror(errno));
    p->pid = fork();
    if (p->pid == 0) {
        close(sv[0]);
        helper_main(sv[1], server, &p->conf.c);
    }
    close(sv[1]);
    if (p->pid == -1) {
        close(sv[0]);
        return tw_err_set(err, TW_EIO, "results: cannot fork the results helper: %s",
                          strerror(errno));
    }
    /* a request is small and the helper reads at once; a stuck helper must not stop the loop */
    (void)setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
    p->fd = sv[0];
    p->ev = event_new(p->base, p->fd, EV_READ | EV_PERSIST, on_readable, p);
    if (p->ev == NULL || event_add(p->ev, NULL) != 0)
        return tw_err_set(err, TW_ENOMEM, "results: cannot watch the results helper");
    return TW_OK;
}

/* Close the helper's socket and reap it: it exits on EOF (SIGKILL after a second). */
static void helper_stop(struct tw_publisher *p)
{
    if (p->ev != NULL)
        event_free(p->ev);
    p->ev = NULL;
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    if (p->pid > 0) {
        for (int i = 0; i < 100 && waitpid(p->pid, NULL, WNOHANG) == 0; i++)
            usleep(10000);
        if (kill(p->pid, 0) == 0) {
            (void)kill(p->pid, SIGKILL);
            while (waitpid(p->pid, NULL, 0) == -1 && errno == EINTR)
                ;
        }
    }
    p->pid = 0;
}

static void finish(struct tw_publisher *p, uint64_t id, int rc, const char *msg)
{
    for (struct tw_publish **q = &p->jobs; *q != NULL; q = &(*q)->next)
        if ((*q)->id == id) {
            struct tw_publish *j = *q;

            *q = j->next;
            p->n_jobs--;
            j->done(j->arg, rc, msg);
            tw_free(j);
            return;
        }
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct tw_publisher *p = arg;
    struct rep rep;
    ssize_t n;

    (void)what;
    for (;;) {
        n = recv(fd, &rep, sizeof(rep), MSG_DONTWAIT);
        if (n == (ssize_t)sizeof(rep)) {
            rep.msg[sizeof(rep.msg) - 1] = '\0';
            finish(p, rep.id, rep.rc, rep.msg);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        break; /* EOF or an error: the helper is gone */
    }
    tw_logf(TW_LOG_ERROR, "results.helper",
            "the results helper (pid %d) is gone; %u "
            "publications in flight fail",
            (int)p->pid, p->n_jobs);
    helper_stop(p);
    while (p->jobs != NULL)
        finish(p, p->jobs->id, TW_EIO, "the results helper process died");
}

int tw_publisher_new(struct event_base *base, const struct tw_s3_conf *c, struct tw_publisher **out,
                     struct tw_err *err)
{
    struct tw_publisher *p = tw_calloc(1, sizeof(*p));
    int rc;

    if (p == NULL)
        return tw_err_set(err, TW_ENOMEM, "results: out of memory for the publisher");
    p->base = base;
    p->fd = -1;
    if (tw_results_conf_copy(&p->conf, c) != TW_OK) {
        tw_free(p);
        return tw_err_set(err, TW_ENOMEM, "results: out of memory for the publisher");
    }
    rc = helper_start(p, err);
    if (rc != TW_OK) {
        tw_publisher_free(p);
        return rc;
    }
    current = p;
    *out = p;
    return TW_OK;
}

void tw_publisher_free(struct tw_publisher *p)
{
    if (p == NULL)
        return;
    if (current == p)
        current = NULL;
    helper_stop(p);
    while (p->jobs != NULL) {
        struct tw_publish *j = p->jobs;

        p->jobs = j->next;
        tw_free(j); /* the server is stopping: nobody waits for these */
    }
    tw_results_conf_copy_fini(&p->conf);
    tw_free(p);
}

unsigned tw_publisher_inflight(const struct tw_publisher *p)
{
    return p != NULL ? p->n_jobs : 0;
}

/* Send r, starting a new helper first if the last one died. */
static int send_req(struct tw_publisher *p, const struct req *r, struct tw_err *err)
{
    if (p->fd < 0) {
        tw_logf(TW_LOG_WARN, "results.helper", "starting a new results helper");
        if (helper_start(p, err) != TW_OK) {
            helper_stop(p);
            return err->code;
        }
    }
    while (send(p->fd, r, sizeof(*r), MSG_NOSIGNAL) != (ssize_t)sizeof(*r))
        if (errno != EINTR)
            return tw_err_set(err, TW_EIO, "results: the results helper does not answer (%s)",
                              strerror(errno));
    return TW_OK;
}

static int path_req(struct req *r, enum op op, const char *path, struct tw_err *err)
{
    memset(r, 0, sizeof(*r));
    r->op = op;
    if (snprintf(r->path, sizeof(r->path), "%s", path) >= (int)sizeof(r->path))
        return tw_err_set(err, TW_EINVAL, "results: path or key too long: %.64s...", path);
    return TW_OK;
}

int tw_publish_start(struct tw_publisher *p, const char *dir, int64_t deadline_ms,
                     tw_publish_done_fn *done, void *arg, struct tw_publish **out,
                     struct tw_err *err)
{
    struct tw_publish *j;
    struct req r;
    int rc = path_req(&r, OP_PUBLISH, dir, err);

    if (rc != TW_OK)
        return rc;
    j = tw_calloc(1, sizeof(*j));
    if (j == NULL)
        return tw_err_set(err, TW_ENOMEM, "results: out of memory publishing a result");
    r.id = j->id = ++p->next_id;
    r.deadline_ms = deadline_ms;
    rc = send_req(p, &r, err);
    if (rc != TW_OK) {
        tw_free(j);
        return rc;
    }
    j->done = done;
    j->arg = arg;
    j->next = p->jobs;
    p->jobs = j;
    p->n_jobs++;
    if (out != NULL)
        *out = j; /* the answer is read on the loop, so after this returns */
    return TW_OK;
}

void tw_publish_extend(struct tw_publisher *p, struct tw_publish *j, int64_t deadline_ms)
{
    struct req r;
    struct tw_err err;

    memset(&r, 0, sizeof(r));
    r.op = OP_EXTEND;
    r.id = j->id;
    r.deadline_ms = deadline_ms;
    if (p->fd >= 0 && send_req(p, &r, &err) != TW_OK)
        tw_logf(TW_LOG_WARN, "results.helper", "cannot move a publication's deadline: %s", err.msg);
}

int tw_publish_discard(struct tw_publisher *p, const char *dir, struct tw_err *err)
{
    struct req r;
    int rc = path_req(&r, OP_DISCARD, dir, err);

    return rc == TW_OK ? send_req(p, &r, err) : rc;
}

int tw_publish_delete(struct tw_publisher *p, const char *key, const char *why, struct tw_err *err)
{
    struct req r;
    int rc = path_req(&r, OP_DELETE, key, err);

    snprintf(r.why, sizeof(r.why), "%s", why);
    return rc == TW_OK ? send_req(p, &r, err) : rc;
}
