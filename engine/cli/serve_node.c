/*
 * This node's row in the nodes table (docs/cluster.md, "Nodes"): written at start, refreshed
 * every cluster.heartbeat seconds with the runs it has in workers, removed on a clean stop.
 * A node that dies without stopping leaves its row; GET /cluster/nodes leaves out rows not beaten
 * for TW_NODE_STALE_BEATS heartbeats.
 */
#include "cli/serve_node.h"

#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "sched/sched_stats.h"

struct tw_serve_node {
    struct tw_store *store;
    struct tw_sched *sched;
    struct event *timer;
    struct tw_node row;
    bool failing; /* the last beat failed: log the recovery once */
};

static void beat(struct tw_serve_node *n)
{
    struct tw_sched_stats st;
    struct tw_err err;

    tw_sched_get_stats(n->sched, &st);
    n->row.heartbeat = tw_clock_wall_s();
    n->row.in_flight = st.running;
    if (tw_store_node_beat(n->store, &n->row, &err) != TW_OK) {
        if (!n->failing)
            tw_logf(TW_LOG_WARN, "cluster.heartbeat", "heartbeat not recorded: %s", err.msg);
        n->failing = true;
    } else if (n->failing) {
        n->failing = false;
        tw_logf(TW_LOG_INFO, "cluster.heartbeat", "heartbeat recorded again");
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    beat(arg);
}

int tw_serve_node_start(const struct tw_config *cfg, struct tw_store *store, struct tw_sched *sched,
                        struct event_base *base, struct tw_serve_node **out, struct tw_err *err)
{
    struct timeval every = { cfg->cluster_heartbeat_s > 0 ? cfg->cluster_heartbeat_s : 2, 0 };
    struct tw_serve_node *n = tw_calloc(1, sizeof(*n));

    *out = NULL;
    if (n == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory");
    n->store = store;
    n->sched = sched;
    snprintf(n->row.id, sizeof(n->row.id), "%s", cfg->cluster_node_id);
    snprintf(n->row.version, sizeof(n->row.version), "%s", TW_VERSION);
    n->row.started = tw_clock_wall_s();
    n->row.heartbeat = n->row.started;
    if (tw_store_node_beat(store, &n->row, err) != TW_OK) {
        tw_free(n);
        return TW_ESTORE;
    }
    n->timer = event_new(base, -1, EV_PERSIST, on_timer, n);
    if (n->timer == NULL || event_add(n->timer, &every) != 0) {
        tw_serve_node_stop(n, false);
        return tw_err_set(err, TW_ENOMEM, "cannot start the heartbeat timer");
    }
    *out = n;
    return TW_OK;
}

void tw_serve_node_stop(struct tw_serve_node *n, bool clean)
{
    struct tw_err err;

    if (n == NULL)
        return;
    if (n->timer != NULL)
        event_free(n->timer);
    if (clean && tw_store_node_remove(n->store, n->row.id, &err) != TW_OK)
        tw_logf(TW_LOG_WARN, "cluster.leave", "node row not removed: %s", err.msg);
    tw_free(n);
}
