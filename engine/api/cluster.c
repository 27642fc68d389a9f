/*
 * GET /cluster/nodes (docs/cluster.md, "Nodes"): the nodes whose heartbeat is recent, for any
 * caller with write access to at least one chain. A node that has not beaten for
 * TW_NODE_STALE_BEATS heartbeats (it died without a clean stop) is left out.
 */
#include "api/api_int.h"

#include <jansson.h>

#include "core/clock.h"
#include "core/mem.h"

#define STALE_BEATS 5 /* as TW_NODE_STALE_BEATS in cli/serve_node.h */

static bool writer(const struct tw_caller *c)
{
    size_t i;

    for (i = 0; i < c->n; i++)
        if (c->levels[i] >= TW_LEVEL_WRITE)
            return true;
    return false;
}

void tw_api_cluster_nodes(struct tw_req *r)
{
    static const char *const allowed[] = { NULL };
    uint32_t beat = r->api->d.cfg->cluster_heartbeat_s ? r->api->d.cfg->cluster_heartbeat_s : 2;
    struct tw_node *list = NULL;
    struct tw_err err;
    size_t n = 0, i;
    json_t *arr;

    if (!tw_req_query_only(r, allowed))
        return;
    if (!writer(&r->caller)) {
        tw_reply_error(r, 403, "permission_denied", NULL,
                       "listing the cluster's nodes needs write access to a chain");
        return;
    }
    if (tw_store_node_list(r->api->d.store, tw_clock_wall_s() - (int64_t)beat * STALE_BEATS, &list,
                           &n, &err) != TW_OK) {
        tw_reply_err(r, &err);
        return;
    }
    arr = json_array();
    for (i = 0; arr != NULL && i < n; i++)
        if (json_array_append_new(arr, json_pack("{s:s, s:o, s:o, s:I, s:s}", "node_id", list[i].id,
                                                 "started", tw_time_json(list[i].started),
                                                 "last_heartbeat", tw_time_json(list[i].heartbeat),
                                                 "runs_in_flight", (json_int_t)list[i].in_flight,
                                                 "version", list[i].version)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    tw_free(list);
    if (arr == NULL) {
        tw_reply_error(r, 500, "internal_error", NULL, "out of memory building the reply");
        return;
    }
    tw_reply_json(r, 200, arr);
}
