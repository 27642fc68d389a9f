/* The scheduler's listener for other nodes' task changes (sched_watch.h). */
#include "sched/sched_watch.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "sched/sched_int.h"

#define SLACK_S 2 /* re-read from a little before the last read: clocks and commits lag */

struct tw_sched_watch {
    struct tw_sched *s;
    struct event_base *base;
    struct tw_store_watch *sw;
    struct event *readable; /* the listener's socket; NULL while disconnected */
    struct event *timer;    /* once a second: reconnect when down, re-read when due */
    int64_t last_read;      /* wall seconds when the last re-read started */
    bool lost;              /* the listener is down: reconnect, then re-read everything */
    struct tw_sched_watch_stats stats;
};

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

struct gone_scan {
    const int64_t *ids;
    size_t n;
    int64_t *gone;
    size_t n_gone, cap;
};

static void find_gone(struct tw_hnode *h, void *arg)
{
    struct gone_scan *g = arg;
    int64_t key = h->key;

    if (bsearch(&key, g->ids, g->n, sizeof(*g->ids), cmp_id) != NULL)
        return;
    if (g->n_gone == g->cap) {
        int64_t *grown;

        g->cap = g->cap ? g->cap * 2 : 16;
        grown = tw_realloc(g->gone, g->cap * sizeof(*grown));
        if (grown == NULL)
            return; /* the next full re-read catches it */
        g->gone = grown;
    }
    g->gone[g->n_gone++] = key;
}

/*
 * Re-read the tasks modified since `since` (INT64_MIN: all, and then also drop entries whose
 * task no longer exists: a delete leaves no row to find by last_modified).
 */
static void reread(struct tw_sched_watch *w, int64_t since)
{
    int64_t *ids = NULL;
    size_t n = 0, i;
    struct tw_err err;

    if (tw_store_tasks_changed(w->s->d.store, since, &ids, &n, &err) != TW_OK) {
        tw_logf(TW_LOG_WARN, "sched.reread", "re-reading changed tasks failed: %s", err.msg);
        return;
    }
    w->stats.rereads++;
    for (i = 0; i < n; i++)
        tw_sched_task_changed(w->s, ids[i]);
    if (since == INT64_MIN) {
        struct gone_scan g = { .ids = ids, .n = n };

        tw_imap_each(&w->s->tasks, find_gone, &g);
        for (i = 0; i < g.n_gone; i++)
            tw_sched_task_deleted(w->s, g.gone[i]);
        tw_free(g.gone);
    }
    tw_free(ids);
}

static void on_readable(evutil_socket_t fd, short what, void *arg);

static int arm_socket(struct tw_sched_watch *w, struct tw_err *err)
{
    w->readable = event_new(w->base, tw_store_watch_fd(w->sw), EV_READ | EV_PERSIST, on_readable,
                            w);
    if (w->readable == NULL || event_add(w->readable, NULL) != 0) {
        if (w->readable != NULL)
            event_free(w->readable);
        w->readable = NULL;
        return tw_err_set(err, TW_ENOMEM, "cannot watch the change listener's socket");
    }
    return TW_OK;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct tw_sched_watch *w = arg;
    int64_t *ids = NULL;
    size_t n = 0, i;
    struct tw_err err;
    int ret;

    (void)fd;
    (void)what;
    ret = tw_store_watch_drain(w->sw, &ids, &n, &err);
    for (i = 0; i < n; i++)
        tw_sched_task_changed(w->s, ids[i]);
    w->stats.notified += n;
    tw_free(ids);
    if (ret == TW_ESTORE) {
        tw_logf(TW_LOG_WARN, "sched.listen", "%s; reconnecting", err.msg);
        event_free(w->readable);
        w->readable = NULL;
        w->lost = true;
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct tw_sched_watch *w = arg;
    int64_t now = tw_clock_wall_s();
    struct tw_err err;

    (void)fd;
    (void)what;
    if (w->lost) {
        if (tw_store_watch_reconnect(w->sw, &err) != TW_OK || arm_socket(w, &err) != TW_OK)
            return; /* still down: try again in a second */
        w->lost = false;
        w->stats.reconnects++;
        tw_logf(TW_LOG_INFO, "sched.listen", "change listener reconnected; re-reading all tasks");
        w->last_read = now;
        reread(w, INT64_MIN);
        return;
    }
    if (now - w->last_read >= TW_SCHED_REREAD_S) {
        int64_t since = w->last_read - SLACK_S;

        w->last_read = now;
        reread(w, since);
    }
}

int tw_sched_watch_start(struct tw_sched *s, struct event_base *base, struct tw_sched_watch **out,
                         struct tw_err *err)
{
    static const struct timeval second = { 1, 0 };
    struct tw_store_watch *sw = NULL;
    struct tw_sched_watch *w;
    struct tw_err why;
    int ret;

    *out = NULL;
    ret = tw_store_watch_open(s->d.store, &sw, &why);
    if (ret == TW_EINVAL)
        return TW_OK; /* this store has no listener: a single node */
    if (ret != TW_OK) {
        if (err != NULL)
            *err = why;
        return ret;
    }
    w = tw_calloc(1, sizeof(*w));
    if (w == NULL) {
        tw_store_watch_close(sw);
        return tw_err_set(err, TW_ENOMEM, "out of memory");
    }
    w->s = s;
    w->base = base;
    w->sw = sw;
    w->last_read = tw_clock_wall_s();
    w->timer = event_new(base, -1, EV_PERSIST, on_timer, w);
    if (w->timer == NULL || event_add(w->timer, &second) != 0 || arm_socket(w, err) != TW_OK) {
        tw_sched_watch_stop(w);
        return tw_err_set(err, TW_ENOMEM, "cannot start the change listener");
    }
    *out = w;
    return TW_OK;
}

void tw_sched_watch_stop(struct tw_sched_watch *w)
{
    if (w == NULL)
        return;
    if (w->readable != NULL)
        event_free(w->readable);
    if (w->timer != NULL)
        event_free(w->timer);
    tw_store_watch_close(w->sw);
    tw_free(w);
}

void tw_sched_watch_get_stats(const struct tw_sched_watch *w, struct tw_sched_watch_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (w != NULL)
        *out = w->stats;
}
