/*
 * The HTTP API (docs/reference.md §2–§4): an evhttp server on the engine's event loop serving /tasks,
 * /segments, /auth/login, /healthz, /metrics and downloads. It reads and writes the task store,
 * and tells the scheduler (through struct tw_api_hooks) when a task changes or must run.
 */
#ifndef TW_API_API_H
#define TW_API_API_H

#include <stdint.h>

#include "api/validate.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/err.h"
#include "store/store.h"

struct event_base;
struct tw_api;
struct tw_sched_stats;

/*
 * The end of a run asked for by execute: why is NULL when the run ran (it ended DONE or ERROR,
 * was cancelled or interrupted), else it says why the run never started (borrowed).
 */
typedef void tw_exec_done_fn(void *arg, int64_t task_id, const struct tw_err *why);

/*
 * What the API asks of the rest of the engine. Every hook may be NULL (then the corresponding
 * endpoint answers that it is not available).
 */
struct tw_api_hooks {
    void *ctx;
    /* A task was created/updated (re-arm it) or deleted (disarm, cancel its run). */
    void (*task_changed)(void *ctx, int64_t task_id);
    void (*task_deleted)(void *ctx, int64_t task_id);
    /*
     * Start a run of task_id now. TW_OK when started or queued for a worker, TW_ECONFLICT when
     * it is already running, TW_ENOTFOUND, or the error that kept it from starting. When
     * done_cb is not NULL it is called once when that run ends or a queued run cannot start,
     * never before execute returns and never when execute returns an error.
     */
    int (*execute)(void *ctx, int64_t task_id, tw_exec_done_fn *done_cb, void *done_arg,
                   struct tw_err *err);
    /* Forget a done_cb registered with execute (the held client went away). */
    void (*execute_forget)(void *ctx, int64_t task_id, void *done_arg);
    /* GET /metrics: the scheduler's numbers (sched/sched_stats.h); NULL leaves them out. */
    void (*sched_stats)(void *ctx, struct tw_sched_stats *out);
};

struct tw_api_deps {
    const struct tw_config *cfg;        /* borrowed; outlives the api */
    struct tw_store *store;             /* borrowed */
    struct event_base *base;            /* borrowed */
    const unsigned char *key;           /* server key, TW_KEY_BYTES; borrowed */
    const struct tw_validate_ctx *vctx; /* borrowed */
    struct tw_api_hooks hooks;
};

/* Bind cfg->listen and start serving on base. *out is owned by the caller (tw_api_destroy). */
int tw_api_create(const struct tw_api_deps *deps, struct tw_api **out, struct tw_err *err);

/* The port actually bound (useful with "listen: 127.0.0.1:0"). */
uint16_t tw_api_port(const struct tw_api *api);

/* Stop accepting new requests with 503 unavailable (shutting down); in-flight ones finish. */
void tw_api_set_draining(struct tw_api *api);

void tw_api_destroy(struct tw_api *api);

/*
 * Task id as GET /tasks/{id} shows it (its newest 10 logs, its webhook): the "task" of a
 * webhook delivery (docs/reference.md §12). Caller owns the reference; NULL with err.
 */
json_t *tw_api_task_object(struct tw_store *s, int64_t id, struct tw_err *err);

/*
 * File descriptors a server with cfg needs besides its http.max_connections connections (the
 * store, logs, plugins, workers' pipes, the over-limit overflow and a reserve). serve raises
 * RLIMIT_NOFILE and check-config warns when max_connections plus this does not fit.
 */
uint64_t tw_api_fd_overhead(const struct tw_config *cfg);

#endif
