/* Publishing sealed results off the loop (see publish.h). */
#include "results/publish.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"
#include "core/mem.h"
#include "results/results.h"

struct tw_publisher {
    int fds[2];          /* a thread writes its finished job's pointer to [1]; the loop reads [0] */
    struct event *ev;    /* [0] readable */
    atomic_uint running; /* started and not yet reported to the loop */
};

/* One publish (or discard), owned by its thread until it is handed back through the pipe. */
struct tw_publish {
    struct tw_publisher *p; /* NULL: a discard, freed by its thread */
    struct tw_s3_conf_copy cc;
    char dir[4096];
    tw_s3_deadline deadline;
    tw_publish_done_fn *done;
    void *arg;
    int rc;
    struct tw_err err;
};

static void job_free(struct tw_publish *j)
{
    tw_results_conf_copy_fini(&j->cc);
    tw_free(j);
}

/*
 * Abort the upload the sealed file names (only that one: the key may have another node's
 * upload in flight when this run was fenced) and remove the sealed file and the marker. When
 * the abort fails the marker stays, so the task's next run here aborts it (tw_results_settle).
 */
static void abort_sealed(struct tw_publish *j, const char *key, const char *upload_id)
{
    struct tw_err err;

    tw_err_clear(&err);
    tw_results_sealed_remove(j->dir);
    if (tw_s3_abort_upload(&j->cc.c, key, upload_id, &err) != TW_OK) {
        tw_log(TW_LOG_WARN, "results.upload_abort_failed", "bucket", j->cc.c.bucket, "key", key,
               "reason", err.msg, NULL);
        return;
    }
    tw_results_marker_remove(j->dir);
    tw_log(TW_LOG_INFO, "results.upload_aborted", "bucket", j->cc.c.bucket, "key", key, "reason",
           j->p != NULL ? "its publication failed" : "its run was fenced or not recorded", NULL);
}

static void *publish_main(void *arg)
{
    struct tw_publish *j = arg;
    struct tw_s3_sealed sealed;
    char key[4352];

    j->rc = tw_results_sealed_read(j->dir, key, sizeof(key), &sealed, &j->err);
    if (j->rc == TW_OK && j->p == NULL) {
        abort_sealed(j, key, sealed.upload_id);
    } else if (j->rc == TW_OK) {
        j->rc = tw_s3_upload_complete(&j->cc.c, key, sealed.upload_id, sealed.body, sealed.body_len,
                                      &j->deadline, &j->err);
        if (j->rc == TW_OK) {
            tw_results_sealed_remove(j->dir);
            tw_results_marker_remove(j->dir);
        } else {
            abort_sealed(j, key, sealed.upload_id);
        }
    }
    tw_s3_sealed_fini(&sealed);
    if (j->p == NULL) {
        job_free(j);
        return NULL;
    }
    /* a pointer is far below PIPE_BUF: the write is whole; the loop frees j */
    while (write(j->p->fds[1], &j, sizeof(j)) < 0 && errno == EINTR)
        ;
    return NULL;
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    struct tw_publisher *p = arg;
    struct tw_publish *j;

    (void)what;
    while (read(fd, &j, sizeof(j)) == (ssize_t)sizeof(j)) {
        atomic_fetch_sub(&p->running, 1);
        j->done(j->arg, j->rc, j->rc == TW_OK ? "" : j->err.msg);
        job_free(j);
    }
}

int tw_publisher_new(struct event_base *base, struct tw_publisher **out, struct tw_err *err)
{
    struct tw_publisher *p = tw_calloc(1, sizeof(*p));

    if (p == NULL)
        return tw_err_set(err, TW_ENOMEM, "results: out of memory for the publisher");
    if (pipe2(p->fds, O_CLOEXEC) != 0) {
        tw_free(p);
        return tw_err_set(err, TW_EIO, "results: publisher pipe: %s", strerror(errno));
    }
    (void)fcntl(p->fds[0], F_SETFL, O_NONBLOCK);
    p->ev = event_new(base, p->fds[0], EV_READ | EV_PERSIST, on_done, p);
    if (p->ev == NULL || event_add(p->ev, NULL) != 0) {
        tw_publisher_free(p);
        return tw_err_set(err, TW_ENOMEM, "results: cannot watch the publisher pipe");
    }
    *out = p;
    return TW_OK;
}

void tw_publisher_free(struct tw_publisher *p)
{
    if (p == NULL)
        return;
    if (atomic_load(&p->running) > 0) {
        /* a thread still holds it (a stop past its grace): the process is about to exit */
        tw_logf(TW_LOG_WARN, "results.publish", "%u publications still running at exit",
                atomic_load(&p->running));
        return;
    }
    if (p->ev != NULL)
        event_free(p->ev);
    close(p->fds[0]);
    close(p->fds[1]);
    tw_free(p);
}

unsigned tw_publisher_inflight(const struct tw_publisher *p)
{
    return p != NULL ? atomic_load(&((struct tw_publisher *)p)->running) : 0;
}

static int start(struct tw_publish *j, struct tw_err *err)
{
    pthread_attr_t attr;
    pthread_t th;
    int rc;

    if (j->p != NULL)
        atomic_fetch_add(&j->p->running, 1);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&th, &attr, publish_main, j);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        if (j->p != NULL)
            atomic_fetch_sub(&j->p->running, 1);
        job_free(j);
        return tw_err_set(err, TW_EIO, "results: cannot start a thread to publish (%s)",
                          strerror(rc));
    }
    return TW_OK;
}

static struct tw_publish *job_new(const struct tw_s3_conf *c, const char *dir, struct tw_err *err)
{
    struct tw_publish *j = tw_calloc(1, sizeof(*j));

    if (j == NULL || tw_results_conf_copy(&j->cc, c) != TW_OK) {
        tw_free(j);
        tw_err_set(err, TW_ENOMEM, "results: out of memory publishing a result");
        return NULL;
    }
    if (snprintf(j->dir, sizeof(j->dir), "%s", dir) >= (int)sizeof(j->dir)) {
        job_free(j);
        tw_err_set(err, TW_EINVAL, "results: directory name too long");
        return NULL;
    }
    tw_err_clear(&j->err);
    return j;
}

int tw_publish_start(struct tw_publisher *p, const struct tw_s3_conf *c, const char *dir,
                     int64_t deadline_ms, tw_publish_done_fn *done, void *arg,
                     struct tw_publish **out, struct tw_err *err)
{
    struct tw_publish *j = job_new(c, dir, err);

    if (j == NULL)
        return err->code;
    j->p = p;
    atomic_init(&j->deadline, deadline_ms);
    j->done = done;
    j->arg = arg;
    if (start(j, err) != TW_OK)
        return err->code;
    if (out != NULL)
        *out = j; /* still alive: done runs on the loop, so after this returns */
    return TW_OK;
}

void tw_publish_extend(struct tw_publish *j, int64_t deadline_ms)
{
    atomic_store(&j->deadline, deadline_ms);
}

int tw_publish_discard(const struct tw_s3_conf *c, const char *dir, struct tw_err *err)
{
    struct tw_publish *j = job_new(c, dir, err);

    if (j == NULL)
        return err->code;
    return start(j, err);
}
