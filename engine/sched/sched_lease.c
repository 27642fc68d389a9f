/*
 * Leases of this node's runs, and the rescue of other runs whose lease lapsed
 * (docs/cluster.md "Leases, fencing and rescue").
 *
 * Every cluster.heartbeat seconds one pass: first renew the leases of every run this node
 * claimed (one store statement for all of them); a run the statement did not renew is no
 * longer ours (this node was paused or cut off past its lease and another node rescued it),
 * so its worker is cancelled and its output discarded (run.fenced). Then list the runs whose
 * lease ended before now and rescue each: a conditional write that only a lapsed lease at the
 * same attempt passes, so of several nodes rescuing at once exactly one does; the rescuer arms
 * the task at once and it runs again under the next attempt (whichever node claims it).
 *
 * Renewal comes before rescue in the same pass, so a node that wakes from a pause renews its
 * own runs before it could mistake them for lapsed ones. At start (tw_sched_lease_init) the
 * pass runs once: with a shared store the INPROGRESS runs found then belong to other nodes, or
 * to this node_id's previous life, and are rescued only when their lease has expired.
 */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "sched/sched_int.h"

#define STALE_BATCH 64 /* lapsed runs rescued per pass; the next pass takes more */

bool tw_sched_clustered(const struct tw_sched *s)
{
    return strcmp(tw_store_driver_name(s->d.store), "sqlite") != 0;
}

int64_t tw_sched_lease_until(const struct tw_sched *s)
{
    return tw_clock_wall_ms() + (int64_t)s->d.cfg->cluster_lease_s * 1000;
}

void tw_sched_fenced(struct tw_sched *s, int64_t id, int64_t attempt, const char *what,
                     const struct tw_err *why)
{
    s->st.fenced++;
    tw_logf(TW_LOG_WARN, "run.fenced", "task %lld attempt %lld: %s refused, output discarded: %s",
            (long long)id, (long long)attempt, what, why != NULL ? why->msg : "");
}

int tw_sched_lease_add(struct tw_sched *s, int64_t id)
{
    int64_t *grown;

    if (s->n_runs == s->cap_runs) {
        size_t cap = s->cap_runs ? s->cap_runs * 2 : 16;

        grown = tw_realloc(s->run_ids, cap * sizeof(*grown));
        if (grown == NULL)
            return TW_ENOMEM;
        s->run_ids = grown;
        s->cap_runs = cap;
    }
    s->run_ids[s->n_runs++] = id;
    return TW_OK;
}

void tw_sched_lease_del(struct tw_sched *s, int64_t id)
{
    size_t i;

    for (i = 0; i < s->n_runs; i++)
        if (s->run_ids[i] == id) {
            s->run_ids[i] = s->run_ids[--s->n_runs];
            return;
        }
}

/* A run of ours the renewal did not find: another claim took it. Stop the worker now. */
static void lost_run(struct tw_sched *s, int64_t id)
{
    struct tw_sched_task *t = tw_sched_entry_get(s, id);
    struct tw_err why;

    tw_err_set(&why, TW_ECONFLICT, "the lease was not renewed: the task was rescued meanwhile");
    tw_sched_fenced(s, id, t != NULL ? t->attempt : 0, "lease renewal", &why);
    if (t != NULL)
        t->flags |= TW_SF_FENCED;      /* the end writes nothing (tw_sched_on_run_end) */
    tw_sched_publish_extend(s, id, 0); /* a publication in flight must not complete */
    (void)tw_runner_cancel(s->runner, id);
}

static void renew(struct tw_sched *s)
{
    bool *renewed;
    int64_t *ids, until;
    size_t i, n = s->n_runs;
    struct tw_err err;

    if (n == 0)
        return;
    ids = tw_malloc(n * sizeof(*ids));
    renewed = tw_malloc(n * sizeof(*renewed));
    if (ids == NULL || renewed == NULL) {
        tw_logf(TW_LOG_ERROR, "sched.lease", "cannot renew leases: out of memory");
        goto out;
    }
    memcpy(ids, s->run_ids, n * sizeof(*ids));
    until = tw_sched_lease_until(s);
    if (tw_store_run_renew(s->d.store, s->d.cfg->cluster_node_id, ids, n, until, renewed, &err) !=
        TW_OK) {
        tw_logf(TW_LOG_WARN, "sched.lease", "cannot renew the leases of %zu runs: %s", n, err.msg);
        goto out;
    }
    for (i = 0; i < n; i++)
        if (!renewed[i])
            lost_run(s, ids[i]);
        else
            tw_sched_publish_extend(s, ids[i], until);
out:
    tw_free(ids);
    tw_free(renewed);
}

static bool ours(const struct tw_sched *s, int64_t id)
{
    size_t i;

    for (i = 0; i < s->n_runs; i++)
        if (s->run_ids[i] == id)
            return true;
    return false;
}

static void rescue_one(struct tw_sched *s, const struct tw_stale_run *r, int64_t now_ms)
{
    struct tw_sched_task *t;
    struct tw_err err;
    char msg[200];
    int rc;

    snprintf(msg, sizeof(msg), "interrupted: lease of node %s expired", r->node);
    rc = tw_store_run_rescue(s->d.store, r->id, r->attempt, now_ms, msg, &err);
    if (rc == TW_ECONFLICT || rc == TW_ENOTFOUND)
        return; /* renewed, or another node rescued it first, or deleted */
    if (rc != TW_OK) {
        tw_logf(TW_LOG_WARN, "sched.rescue", "task %lld: cannot rescue its run: %s",
                (long long)r->id, err.msg);
        return;
    }
    s->st.rescued++;
    tw_logf(TW_LOG_INFO, "sched.rescue", "task %lld: INPROGRESS -> READY (%s); it runs again now",
            (long long)r->id, msg);
    t = tw_sched_entry_get(s, r->id);
    if (t == NULL)
        t = tw_sched_entry_add(s, r->id, r->chain);
    if (t == NULL) {
        tw_logf(TW_LOG_ERROR, "sched.rescue", "task %lld: out of memory arming it",
                (long long)r->id);
        return;
    }
    if (t->flags & TW_SF_RUNNING)
        return; /* cannot be: ours() is skipped; keep the running instance */
    t->flags |= TW_SF_RECOVERED;
    t->once_at = now_ms / 1000;
    tw_sched_arm(s, t, t->once_at);
}

static void rescue(struct tw_sched *s)
{
    struct tw_stale_run *runs = NULL;
    int64_t now_ms = tw_clock_wall_ms();
    struct tw_err err;
    size_t i, n = 0;

    if (tw_store_runs_stale(s->d.store, now_ms, STALE_BATCH, &runs, &n, &err) != TW_OK) {
        tw_logf(TW_LOG_WARN, "sched.rescue", "cannot list lapsed leases: %s", err.msg);
        return;
    }
    for (i = 0; i < n && !s->stopping; i++)
        if (!ours(s, runs[i].id))
            rescue_one(s, &runs[i], now_ms);
    tw_free(runs);
}

static void on_lease_tick(evutil_socket_t fd, short what, void *arg)
{
    struct tw_sched *s = arg;

    (void)fd;
    (void)what;
    renew(s);
    if (!s->stopping)
        rescue(s);
}

int tw_sched_lease_init(struct tw_sched *s, struct tw_err *err)
{
    struct timeval every = {
        (time_t)(s->d.cfg->cluster_heartbeat_s > 0 ? s->d.cfg->cluster_heartbeat_s : 2), 0
    };

    s->lease_tick = event_new(s->d.base, -1, EV_PERSIST, on_lease_tick, s);
    if (s->lease_tick == NULL || event_add(s->lease_tick, &every) != 0)
        return tw_err_set(err, TW_ENOMEM, "scheduler: cannot start the lease timer");
    rescue(s);
    return TW_OK;
}

void tw_sched_lease_fini(struct tw_sched *s)
{
    if (s->lease_tick != NULL)
        event_free(s->lease_tick);
    s->lease_tick = NULL;
    tw_free(s->run_ids);
    s->run_ids = NULL;
    s->n_runs = s->cap_runs = 0;
}
