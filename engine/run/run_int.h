/*
 * Shared by the two sides of the report pipe (runner.c in the parent, worker.c in the child).
 *
 * Framing: every message is one struct tw_run_frame, fixed size and well under PIPE_BUF, so
 * each write(2) of a frame is atomic and the parent only has to reassemble partial reads.
 * The child is a fork of the parent (no exec), so the binary layout is the same on both ends;
 * magic guards against stray bytes. Text fields are NUL-terminated within their arrays.
 */
#ifndef TW_RUN_RUN_INT_H
#define TW_RUN_RUN_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/proc.h"
#include "run/runner.h"

#define TW_RUN_FRAME_MAGIC 0x74777266u /* "twrf" */

/* When adding a kind, also update frame handling in runner.c (on_frame). */
enum tw_run_frame_kind {
    TW_FRAME_PROGRESS = 1, /* counts so far */
    TW_FRAME_SUCCESS = 2,  /* final: text = result file name, size, sha256 */
    TW_FRAME_ERROR = 3,    /* final: text = the error sentence */
    TW_FRAME_ACK = 4,      /* a reusable worker has read its job and is starting it */
};

/* flags of a final frame */
#define TW_FRAME_F_EXITING 1u /* the worker exits after this frame: never give it another job */

struct tw_run_frame {
    uint32_t magic; /* TW_RUN_FRAME_MAGIC */
    uint32_t kind;  /* enum tw_run_frame_kind */
    uint32_t flags; /* final frames: TW_FRAME_F_* */
    uint32_t pad;
    struct tw_run_counts counts; /* records so far / in total */
    int64_t rss;                 /* final frames: the worker's resident set, bytes; 0 unknown */
    int64_t size;                /* SUCCESS: result file size, bytes */
    char sha256[72];             /* SUCCESS: lowercase hex, 64 chars + NUL */
    char text[704];              /* SUCCESS: file name; ERROR: sentence */
};

_Static_assert(sizeof(struct tw_run_frame) <= PIPE_BUF, "a frame must be written atomically");

/* The child side of a run: what the work function's `rep` points to. */
struct tw_run_report {
    int fd;                    /* write end of the report pipe (blocking) */
    uint64_t last_progress_ms; /* monotonic time of the last progress frame, 0 = none yet */
    int finals;                /* final frames sent: 0 or 1 */
    bool reusable;             /* a pooled worker: it becomes a spare again after the final */
    struct tw_run_counts last; /* the counts last given to tw_run_report_progress */
};

/*
 * What every worker of a runner is (copied by whoever keeps it): the work function with its
 * context, and how much nicer than the server it runs (setpriority increment, 0..19).
 */
struct tw_worker_kind {
    tw_work_fn *work;
    void *work_ctx;
    int nice;
};

/*
 * In the forked child: prepare the process (fds, signals, process group, result dir), call
 * work, and _exit. Never returns. fd is the pipe's write end; parent is the server's pid (the
 * worker exits at once if the server is already gone); job and the work function come from
 * the runner (copies in the child's memory).
 */
void tw_worker_main(int fd, pid_t parent, const struct tw_run_job *job,
                    const struct tw_worker_kind *kind) __attribute__((noreturn));

/*
 * Run inc nice levels lower than now (capped at 19); 0 does nothing. Best effort: a process
 * that cannot change it keeps the server's priority.
 */
void tw_proc_lower_priority(int inc);

/* Close every fd >= from; close_range(2) where the kernel has it, else one by one. */
void tw_proc_close_from(int from);

/*
 * A pooled worker (worker.c): cloned before it has a job, it sheds the server's state at once,
 * then runs jobs in turn: it blocks reading a job from job_fd (jobwire.c), acknowledges it
 * with a TW_FRAME_ACK frame on report_fd, runs it, ends it with its final frame, and reads the
 * next. EOF before a whole job makes it exit quietly (the pool retired it or is closing). It
 * is named tw-spare while it waits and tw-worker while it runs a job, and already runs at
 * kind->nice (the spawner's, inherited).
 */
void tw_spare_main(int report_fd, int job_fd, pid_t parent, const struct tw_worker_kind *kind)
    __attribute__((noreturn));

/*
 * Read exactly len bytes from the socket fd, retrying on EINTR; flags go to the first recv
 * only (MSG_DONTWAIT: fail with EAGAIN when nothing has arrived yet). 0, or -1 with errno
 * (EPIPE at EOF).
 */
int tw_read_full(int fd, void *buf, size_t len, int flags);

/* Send job (borrowed) on a spare's job socket. 0, or -1 with errno (EPIPE: the spare is gone). */
int tw_job_send(int fd, const struct tw_run_job *job);

/*
 * Read one job from fd into *job, whose strings point into the returned buffer (the caller
 * frees it with tw_free). NULL on EOF, a malformed job or no memory.
 */
char *tw_job_recv(int fd, struct tw_run_job *job);

/*
 * The spawner (spawner.c): a helper process, forked once, that clones spares as children of
 * the server so the server itself never forks per run. It runs at kind->nice, so its clones
 * and the spares they become do not take CPU from the server (which therefore never waits
 * long for it: see tw_spawner_wait); kind is what every spare runs, as it is at
 * tw_spawner_create.
 */
struct tw_spawner;

/* Fork the spawner. *out is owned by the caller (tw_spawner_destroy). TW_ENOMEM, TW_EIO. */
int tw_spawner_create(const struct tw_worker_kind *kind, struct tw_spawner **out,
                      struct tw_err *err);

/* Close the spawner's socket and reap it (spares it made are not affected). NULL: no-op. */
void tw_spawner_destroy(struct tw_spawner *sp);

/*
 * Ask for one spare that will read its job from job_fd and report on report_fd (both
 * borrowed: the spawner gets copies). 0, or -1 with errno; after -1 the spawner is broken.
 */
int tw_spawner_request(struct tw_spawner *sp, int job_fd, int report_fd);

/*
 * Wait up to ms for an answer to arrive: 1 when one can be read, 0 when none came in time,
 * -1 with errno on error.
 */
int tw_spawner_wait(struct tw_spawner *sp, int ms);

/*
 * The answer to the oldest unanswered request: 1 with *pid (or *pid -1 and errno when that
 * clone failed), 0 when !wait and none has arrived, -1 with errno when the spawner is broken
 * (dead, out of step, or silent for 5 s).
 */
int tw_spawner_reply(struct tw_spawner *sp, bool wait, pid_t *pid);

/*
 * The pool of reusable workers (pool.c), parent side: at most `workers` long-lived worker
 * processes, each idle (waiting for a job), busy (running a run's job) or asked for (being
 * cloned by the spawner).
 */
struct tw_pool;
struct tw_pool_worker; /* one worker process of the pool */

struct tw_pool_stats {
    uint64_t started;     /* worker processes the pool got from the spawner */
    uint64_t retired;     /* ended after workers_max_runs or workers_max_rss */
    uint64_t lost_idle;   /* found dead while waiting for a job */
    uint64_t handed_jobs; /* jobs handed to pooled workers */
};

/*
 * A pool with its spawner, and no workers yet. max_runs: jobs per worker before it is replaced
 * (0: no limit); max_rss: a worker whose resident set at the end of a run is above this many
 * bytes is replaced (0: no limit). *out is owned by the caller.
 */
int tw_pool_create(const struct tw_worker_kind *kind, uint32_t max_runs, uint64_t max_rss,
                   struct tw_pool **out, struct tw_err *err);

/* End every idle worker (they read EOF and exit) and reap them, stop the spawner. No-op on NULL. */
void tw_pool_destroy(struct tw_pool *p);

/* Ask the spawner for workers until idle + busy + asked-for reach want; never waits. */
void tw_pool_fill(struct tw_pool *p, unsigned want);

/*
 * Hand job (borrowed) to an idle worker, waiting briefly for the spawner when none is idle. 0
 * with the worker (*w, busy now, until tw_pool_release or tw_pool_lost), its *pid and the read
 * end of its report pipe in *report_fd (non-blocking, borrowed from the pool); -1 with errno
 * when no worker could be had (the caller forks instead).
 */
int tw_pool_start(struct tw_pool *p, const struct tw_run_job *job, struct tw_pool_worker **w,
                  pid_t *pid, int *report_fd);

/*
 * The busy worker w sent its run's final frame and lives on: it becomes idle again, or is
 * retired (its job socket closed: it exits and is reaped later) when it has run max_runs jobs
 * or rss (bytes, its last report) is above max_rss. Returns true when it was retired.
 */
bool tw_pool_release(struct tw_pool *p, struct tw_pool_worker *w, int64_t rss);

/* The busy worker w died and the caller reaped it: forget it (its fds are closed). */
void tw_pool_lost(struct tw_pool *p, struct tw_pool_worker *w);

/*
 * After SIGCHLD: take the spawner's answers that have arrived and reap idle or retired workers
 * that have exited. Returns how many workers it found gone.
 */
unsigned tw_pool_reap(struct tw_pool *p);

/* Workers idle + busy + asked for. */
unsigned tw_pool_size(const struct tw_pool *p);

void tw_pool_get_stats(const struct tw_pool *p, struct tw_pool_stats *out);

#endif /* TW_RUN_RUN_INT_H */
