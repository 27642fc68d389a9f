/*
 * The publication of a run's result on S3 between the worker's end and the store's record of
 * it (results/publish.h, docs/storage.md "Publishing a result").
 *
 * A DONE run on S3 has sealed its upload. Before it is recorded: check that the run still
 * holds its claim (its final progress, written at its attempt, is refused once another claim
 * took the task; then the lease is renewed, which also bounds when the completion may still
 * reach the store), complete the upload off the loop, and only then record the end
 * (tw_sched_run_ended) — DONE, or ERROR when the upload could not be completed. A run that
 * fails the check is fenced: its upload is aborted and nothing of it is written.
 *
 * While the publication runs, the run stays this node's (its lease is renewed with the
 * others' and each renewal moves the publication's deadline; a refused renewal sets it to 0)
 * and the task stays INPROGRESS, so no one downloads or re-runs it before its end is known.
 */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "results/publish.h"
#include "results/results.h"
#include "sched/sched_int.h"

/* A run's end waiting for its publication; owns copies of what the runner lent. */
struct pending {
    struct tw_sched *s;
    struct tw_run_result res; /* points into the buffers below */
    char msg[512];
    char name[256];
    char path[4352];
    char sha256[65];
};

/* How long before the lease's end the completion must have reached the store. */
static int64_t margin_ms(const struct tw_sched *s)
{
    int64_t quarter = (int64_t)s->d.cfg->cluster_lease_s * 250;

    return quarter > 1000 ? quarter : 1000;
}

int64_t tw_sched_publish_deadline(const struct tw_sched *s, int64_t lease_until_ms)
{
    return lease_until_ms - margin_ms(s);
}

/* The task was deleted while its result was being published: remove the object too. */
static void forget_deleted(struct tw_sched *s, const struct tw_run_result *res)
{
    char key[4352];
    const char *keys[1] = { key };
    struct tw_s3_conf c;
    struct tw_err err;

    if (tw_results_s3_conf(s->d.cfg, &c, &err) != TW_OK ||
        tw_results_key(res->chain, res->task_id, res->result_name, key, sizeof(key), &err) !=
            TW_OK ||
        tw_results_delete_later(&c, keys, 1, "task deleted", &err) != TW_OK)
        tw_logf(TW_LOG_WARN, "results.delete_failed", "task %lld: %s", (long long)res->task_id,
                err.msg);
}

/* The run's end as an error: its result was not published (and its upload aborted). */
static void end_unpublished(struct tw_sched *s, struct tw_sched_task *t,
                            const struct tw_run_result *res, const char *why)
{
    struct tw_run_result failed = *res;
    char msg[sizeof(((struct tw_err *)0)->msg) + 64];

    tw_logf(TW_LOG_ERROR, "results.publish_failed", "task %lld: %s", (long long)res->task_id, why);
    snprintf(msg, sizeof(msg), "the result could not be published: %s", why);
    failed.end = TW_RUN_FAILED;
    failed.msg = msg;
    failed.result_name = failed.result_path = failed.result_sha256 = NULL;
    failed.result_size = 0;
    tw_sched_run_ended(s, t, &failed);
}

static void on_published(void *arg, int rc, const char *msg)
{
    struct pending *p = arg;
    struct tw_sched *s = p->s;
    struct tw_sched_task *t = tw_sched_entry_get(s, p->res.task_id);

    if (t != NULL)
        t->publish = NULL;
    if (rc != TW_OK) {
        end_unpublished(s, t, &p->res, msg);
    } else {
        if (t != NULL && (t->flags & TW_SF_DELETED) != 0)
            forget_deleted(s, &p->res); /* the delete's own removal may have come first */
        tw_sched_run_ended(s, t, &p->res);
    }
    tw_free(p);
}

/* Copy res into a new pending end; NULL when out of memory. */
static struct pending *pending_new(struct tw_sched *s, const struct tw_run_result *res)
{
    struct pending *p = tw_calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->s = s;
    p->res = *res;
    snprintf(p->msg, sizeof(p->msg), "%s", res->msg != NULL ? res->msg : "success");
    snprintf(p->name, sizeof(p->name), "%s", res->result_name);
    snprintf(p->path, sizeof(p->path), "%s", res->result_path != NULL ? res->result_path : "");
    snprintf(p->sha256, sizeof(p->sha256), "%s",
             res->result_sha256 != NULL ? res->result_sha256 : "");
    p->res.msg = p->msg;
    p->res.result_name = p->name;
    p->res.result_path = res->result_path != NULL ? p->path : NULL;
    p->res.result_sha256 = p->sha256;
    return p;
}

/*
 * Whether the run still holds its claim: its final progress at its attempt, then its lease
 * pushed to *until. TW_OK and *held; a store that cannot answer is an error.
 */
static int claim_held(struct tw_sched *s, const struct tw_sched_task *t,
                      const struct tw_run_result *res, int64_t *until, bool *held,
                      struct tw_err *err)
{
    int rc = tw_store_run_progress(s->d.store, res->task_id, tw_clock_wall_s(), res->counts.total,
                                   res->counts.errors, res->counts.skips, res->counts.success,
                                   t->attempt, err);

    *held = false;
    if (rc == TW_ECONFLICT && strcmp(err->field, "attempt") == 0)
        return TW_OK; /* another claim took the task */
    if (rc != TW_OK)
        return rc;
    *until = tw_sched_lease_until(s);
    return tw_store_run_renew(s->d.store, s->d.cfg->cluster_node_id, &res->task_id, 1, *until, held,
                              err);
}

/* Abort the sealed upload in dir off the loop, logging when that cannot even start. */
static void discard(struct tw_sched *s, const char *dir, int64_t id)
{
    struct tw_err err;

    if (tw_publish_discard(s->publisher, dir, &err) != TW_OK)
        tw_logf(TW_LOG_WARN, "results.upload_abort_failed", "task %lld: %s", (long long)id,
                err.msg);
}

bool tw_sched_publish_begin(struct tw_sched *s, struct tw_sched_task *t,
                            const struct tw_run_result *res)
{
    char dir[4096], tmp[4096 + 16];
    struct pending *p;
    struct tw_err err;
    int64_t until = 0;
    bool held = false;
    int rc;

    if (s->publisher == NULL) /* results.storage local */
        return false;
    tw_err_clear(&err);
    rc = tw_run_paths(s->d.cfg->results_dir, res->chain, res->task_id, dir, sizeof(dir), tmp,
                      sizeof(tmp));
    if (rc != TW_OK) {
        if (res->end == TW_RUN_DONE)
            tw_logf(TW_LOG_ERROR, "results.publish_failed", "task %lld: %s",
                    (long long)res->task_id,
                    err.msg[0] != '\0' ? err.msg : "its result directory name is too long");
        return false; /* cannot happen once a run uploaded; recorded as the worker said */
    }
    if (res->end != TW_RUN_DONE || (t->flags & (TW_SF_DELETED | TW_SF_FENCED)) != 0) {
        /* not to be published: a run cancelled (fenced, deleted) or interrupted right after
         * its worker sealed the upload leaves it in flight otherwise */
        if (tw_results_sealed_exists(dir))
            discard(s, dir, res->task_id);
        return false;
    }
    rc = claim_held(s, t, res, &until, &held, &err);
    if (rc == TW_OK && !held) {
        tw_err_set(&err, TW_ECONFLICT, "the run no longer holds its claim");
        tw_sched_fenced(s, res->task_id, t->attempt, "the publication of its result", &err);
        t->flags |= TW_SF_FENCED; /* tw_sched_run_ended writes nothing of it */
        discard(s, dir, res->task_id);
        return false;
    }
    p = pending_new(s, res);
    if (rc == TW_OK && p == NULL)
        rc = tw_err_set(&err, TW_ENOMEM, "out of memory");
    if (rc == TW_OK)
        rc = tw_publish_start(s->publisher, dir, tw_sched_publish_deadline(s, until), on_published,
                              p, &t->publish, &err);
    if (rc == TW_OK)
        return true;
    /* Not published: recorded as an error now (a store that is down refuses that too). */
    tw_free(p);
    discard(s, dir, res->task_id);
    end_unpublished(s, t, res, err.msg);
    return true;
}

void tw_sched_publish_extend(struct tw_sched *s, int64_t id, int64_t lease_until_ms)
{
    struct tw_sched_task *t = tw_sched_entry_get(s, id);

    if (t != NULL && t->publish != NULL)
        tw_publish_extend(s->publisher, t->publish,
                          lease_until_ms > 0 ? tw_sched_publish_deadline(s, lease_until_ms) : 0);
}
