/*
 * The runner (DESIGN "Worker processes, not threads"): a pool of at most `workers` concurrent
 * runs, each in a worker process of its own while it runs, so a plugin or script that
 * crashes, leaks or loops costs one run and never the server.
 *
 * Parent side (runner.c): tw_runner_start hands the job to an idle pooled worker, a
 * long-lived process cloned by the spawner as a child of the server that runs job after job
 * (pool.c, spawner.c, issue 16; a worker is forked for the one run when the pool has none to
 * give); the child calls the pool's work function (worker.c) and reports an ACK, progress and
 * one final message over a pipe in fixed-size binary frames (run_int.h). The parent reads the
 * pipe with a libevent read event and reaps children with a libevent SIGCHLD event plus
 * waitpid(pid, WNOHANG) on its own children only (other children of the process are never
 * reaped here). A timeout sends SIGTERM, then SIGKILL after kill_grace_ms; a cancel SIGKILL:
 * either way the worker dies and the pool clones a replacement. A run ends at its final frame
 * when its worker lives on, else when its worker is reaped; the done callback gets a
 * struct tw_run_result; the runner itself never touches the task store (the scheduler does).
 * A worker is replaced after workers_max_runs runs, or when its resident set at the end of a
 * run is above workers_max_rss.
 *
 * Child side (worker.c): a worker is its own process group (so a timeout or cancel also stops
 * anything it spawned), dies with the parent (PR_SET_PDEATHSIG), closes every inherited file
 * descriptor but 0-2 and its report pipe (the API's listening socket, the store's database,
 * other runs' pipes), resets every signal handler and the signal mask, never touches the
 * event base or the store, and ends with _exit().
 *
 * Everything a run needs travels in struct tw_run_job: the worker must not read the store.
 */
#ifndef TW_RUN_RUNNER_H
#define TW_RUN_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct event_base;
struct tw_runner;
struct tw_run_report; /* child side: where a work function reports (worker.c) */

/* What one run needs, all of it; strings are borrowed by tw_runner_start, which copies them. */
struct tw_run_job {
    int64_t task_id;
    int64_t chain;             /* the only chain the export may read */
    int64_t run_start;         /* start of the run, UTC seconds (the plugin's "now") */
    const char *export_index;  /* target.export_index */
    const char *export_format; /* target.export_format */
    bool gzip;                 /* target.compression is "gzip" */
    const char *segment_json;  /* resolved segment (inline or saved), compact JSON; NULL: none */
    const char *result_dir;    /* results_dir/<chain>/<id>: where the result is renamed to */
    const char *tmp_path;      /* result_dir/.partial: the only file written before the rename */
    bool since;                /* target.since (docs/reference.md §13): export only changes in */
    int64_t since_from;        /* [since_from, run_start); INT64_MIN: from the beginning */
};

/* Record counts of a run (docs/reference.md §7.3). */
struct tw_run_counts {
    int64_t total;   /* records read from the source */
    int64_t errors;  /* records that could not be written */
    int64_t skips;   /* records filtered out after reading */
    int64_t success; /* records written */
};

/*
 * The work function: runs in the worker process, once per run. It writes job->tmp_path,
 * fsyncs it, renames it into job->result_dir under its final name, and ends with exactly one
 * tw_run_report_success or tw_run_report_error. It may call tw_run_report_progress as often
 * as it likes (sent at most once a second). job and rep are borrowed; ctx is the pool's
 * work_ctx. The return value becomes the exit status when no final report was sent (0 is
 * mapped to 70): the run then ends "worker exited with status N without a result".
 * It creates job->result_dir itself before it writes there (the export does as it opens its
 * result, tw_result_dir_make); the worker makes no directory of its own per run.
 */
typedef int tw_work_fn(const struct tw_run_job *job, struct tw_run_report *rep, void *ctx);

/*
 * The production work function (export_work.c): exports job's index in job's format with the
 * index plugin from plugins, reading cfg->source_path. ctx is a struct tw_export_work_ctx,
 * borrowed (set up before the workers fork).
 */
struct tw_config;
struct tw_plugin_registry;
struct tw_export_work_ctx {
    const struct tw_config *cfg;
    const struct tw_plugin_registry *plugins;
};
tw_work_fn tw_export_work;

/* Child side; see worker.c. Each is a no-op after the final report. */
void tw_run_report_progress(struct tw_run_report *rep, const struct tw_run_counts *c);
int tw_run_report_success(struct tw_run_report *rep, const struct tw_run_counts *c,
                          const char *file_name, int64_t size, const char *sha256_hex);
int tw_run_report_error(struct tw_run_report *rep, const struct tw_run_counts *c, const char *fmt,
                        ...) __attribute__((format(printf, 3, 4)));
/*
 * From a signal handler: send msg as the final error, with the counts last given to
 * tw_run_report_progress, and end the worker (_exit). Async-signal-safe; never returns. Used
 * when a run must stop where nothing can unwind (the Lua CPU-time limit, lua.h).
 */
void tw_run_report_fatal(struct tw_run_report *rep, const char *msg) __attribute__((noreturn));

/* When adding an end, also update report_end() in runner.c and on_run_end() in sched.c. */
enum tw_run_end {
    TW_RUN_DONE = 0,    /* final report "success": the result is in place */
    TW_RUN_FAILED,      /* error report, crash, exit without a result, timeout */
    TW_RUN_CANCELLED,   /* tw_runner_cancel: write nothing about it */
    TW_RUN_INTERRUPTED, /* tw_runner_interrupt_all: the server is stopping */
};

/* How a run ended; valid only during the done callback. */
struct tw_run_result {
    int64_t task_id;
    int64_t chain;
    int end;                     /* enum tw_run_end */
    int64_t end_time;            /* UTC seconds */
    const char *msg;             /* "success" or the error sentence; NULL when cancelled */
    bool has_counts;             /* false for cancelled and interrupted runs */
    struct tw_run_counts counts; /* final counts, else the last progress seen */
    const char *result_name;     /* TW_RUN_DONE: file name in the result dir, else NULL */
    const char *result_path;     /* TW_RUN_DONE: result_dir/result_name, else NULL */
    int64_t result_size;         /* bytes */
    const char *result_sha256;   /* lowercase hex */
    uint64_t wall_ms;            /* how long the worker ran, monotonic ms */
};

typedef void tw_run_done_fn(void *ctx, const struct tw_run_result *res);
typedef void tw_run_progress_fn(void *ctx, int64_t task_id, const struct tw_run_counts *c);

struct tw_runner_opts {
    struct event_base *base;      /* borrowed; the runner adds a SIGCHLD event to it */
    unsigned workers;             /* concurrent runs, >= 1 */
    uint32_t task_timeout_s;      /* SIGTERM after this; 0 = no timeout */
    uint32_t kill_grace_ms;       /* SIGKILL this long after SIGTERM; 0 = 5000 */
    tw_work_fn *work;             /* required */
    void *work_ctx;               /* borrowed; passed to work in the child */
    unsigned worker_nice;         /* workers and the spawner run this much nicer, 0..19 */
    uint32_t workers_max_runs;    /* runs per pooled worker before it is replaced; 0: no limit */
    uint64_t workers_max_rss;     /* bytes: a worker above this after a run is replaced; 0: none */
    tw_run_done_fn *done;         /* required; called once per started run, from the loop */
    tw_run_progress_fn *progress; /* may be NULL */
    void *ctx;                    /* for done and progress */
};

/*
 * A new pool; forks the spawner, which clones `workers` spares. Workers are copies of the
 * process as it is now: o->work_ctx must be complete before this call. *out is owned by the
 * caller (tw_runner_destroy). TW_EINVAL, TW_ENOMEM, TW_EIO.
 */
int tw_runner_create(const struct tw_runner_opts *o, struct tw_runner **out, struct tw_err *err);

/*
 * Stop and reap every worker still running (SIGKILL, blocking waitpid), every spare and the
 * spawner, remove their temp files, and free the pool, without calling done. NULL is a no-op.
 */
void tw_runner_destroy(struct tw_runner *r);

/*
 * Start a worker for job (borrowed; copied). TW_OK: done will be called exactly once for this
 * run. TW_ELIMIT when all workers are busy, TW_ECONFLICT when task_id is already running,
 * TW_EIO when pipe/fork failed, TW_ENOMEM; err says which. May be called from a done
 * callback: the run being reported has already left the pool.
 */
int tw_runner_start(struct tw_runner *r, const struct tw_run_job *job, struct tw_err *err);

/*
 * Stop task_id's run now (SIGKILL to its process group), and remove its temp file. done is
 * still called, later, with TW_RUN_CANCELLED once the worker is reaped. TW_ENOTFOUND when
 * the task is not running.
 */
int tw_runner_cancel(struct tw_runner *r, int64_t task_id);

/* Stop every run (SIGKILL); each ends TW_RUN_INTERRUPTED unless it already reported. */
void tw_runner_interrupt_all(struct tw_runner *r);

bool tw_runner_is_running(const struct tw_runner *r, int64_t task_id);
unsigned tw_runner_active(const struct tw_runner *r); /* runs not yet reaped */
bool tw_runner_has_room(const struct tw_runner *r);   /* active < workers */

/* What the worker pool did since tw_runner_create (for /metrics and the logs). */
struct tw_runner_stats {
    uint64_t workers_started;   /* pooled worker processes cloned */
    uint64_t workers_retired;   /* replaced after workers_max_runs or workers_max_rss */
    uint64_t workers_lost_idle; /* found dead while waiting for a job */
    uint64_t jobs_pooled;       /* jobs handed to pooled workers (handovers included) */
    uint64_t jobs_handed_over;  /* jobs given to another worker: the first died before its ACK */
    uint64_t runs_forked;       /* runs on a worker forked for them (the pool had none) */
    unsigned workers_live;      /* worker processes now: idle, busy or being cloned */
};
void tw_runner_get_stats(const struct tw_runner *r, struct tw_runner_stats *out);

/*
 * Fill dir (results_dir/<chain>/<id>) and tmp (dir/.partial) for a task. TW_EINVAL when they
 * do not fit in dir_len/tmp_len.
 */
int tw_run_paths(const char *results_dir, int64_t chain, int64_t task_id, char *dir, size_t dir_len,
                 char *tmp, size_t tmp_len);

#endif /* TW_RUN_RUNNER_H */
