/* This node's heartbeat in the store's nodes table (serve_node.c). */
#ifndef TW_CLI_SERVE_NODE_H
#define TW_CLI_SERVE_NODE_H

#include <stdbool.h>

#include "core/config.h"
#include "core/err.h"
#include "sched/sched.h"
#include "store/store.h"

struct event_base;
struct tw_serve_node;

/* A row is left out of GET /cluster/nodes after this many heartbeats without a beat. */
#define TW_NODE_STALE_BEATS 5

/*
 * Write this node's row now and every cfg->cluster_heartbeat_s seconds (everything borrowed,
 * outliving the node). *out is the caller's (tw_serve_node_stop). TW_ESTORE, TW_ENOMEM.
 */
int tw_serve_node_start(const struct tw_config *cfg, struct tw_store *store, struct tw_sched *sched,
                        struct event_base *base, struct tw_serve_node **out, struct tw_err *err);

/* Stop beating; with clean, remove the row (a clean shutdown). NULL is a no-op. */
void tw_serve_node_stop(struct tw_serve_node *n, bool clean);

#endif
