/*
 * The scheduler's numbers (for GET /metrics and the benchmarks): its whole statistics
 * interface, apart from the scheduler itself, so that a reader of the numbers (the API's
 * metrics) depends on this header only.
 */
#ifndef TW_SCHED_SCHED_STATS_H
#define TW_SCHED_SCHED_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "core/histo.h"

struct tw_sched;

#define TW_SCHED_MAX_INDEXES 32 /* export indexes with their own records counter */

struct tw_sched_stats {
    size_t tasks;         /* entries: armed, queued or running */
    size_t armed;         /* waiting for their time in the wheel */
    size_t queued;        /* due, waiting for a worker */
    unsigned running;     /* workers busy */
    uint64_t started;     /* runs started since creation */
    uint64_t done;        /* runs that ended DONE */
    uint64_t failed;      /* runs that ended ERROR (including ones never forked) */
    uint64_t recovered;   /* INPROGRESS tasks recovered at creation */
    uint64_t rescued;     /* runs of lapsed leases put back to READY by this node */
    uint64_t fenced;      /* writes of this node's runs refused by attempt (run.fenced) */
    uint64_t claims_lost; /* starts another node (or the chain cap) won */
    /* The worker pool (tw_runner_get_stats): processes cloned, retired, jobs handed over. */
    uint64_t worker_processes_started; /* pooled worker processes cloned */
    uint64_t workers_retired;          /* replaced after workers_max_runs or workers_max_rss */
    uint64_t worker_handovers;         /* jobs given to another worker before their ACK */
    /* For metrics (sched_stats.c). */
    unsigned workers;           /* size of the worker pool (cfg->workers) */
    struct tw_histo lateness_s; /* scheduled runs: start time - due time, seconds */
    struct tw_histo run_s;      /* runs that ended DONE or ERROR in a worker: wall seconds */
    size_t n_exported;          /* entries used in exported[] */
    struct {
        char index[48];               /* export_index */
        uint64_t records;             /* records written by runs that ended DONE (counts.success) */
    } exported[TW_SCHED_MAX_INDEXES]; /* further indexes are counted under "other" */
};

void tw_sched_get_stats(const struct tw_sched *s, struct tw_sched_stats *out);

#endif /* TW_SCHED_SCHED_STATS_H */
