/*
 * Internals of the scheduler shared by its files: an intrusive hash map keyed by int64
 * (sched_map.c), the ready queue that is fair across chains (sched_queue.c) -- both pure data
 * structures with no clock and no I/O, unit-tested alone -- and the scheduler's own state,
 * split between sched.c (entries, timer, API hooks, shutdown) and sched_run.c (starting runs
 * and recording their ends).
 */
#ifndef TW_SCHED_SCHED_INT_H
#define TW_SCHED_SCHED_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/list.h"
#include "results/publish.h"
#include "run/runner.h"
#include "sched/sched.h"
#include "sched/wheel.h"

/* ---- intrusive int64 hash map (chained, power-of-two buckets, grows at load 1) ---- */

struct tw_hnode {          /* embed in the owner */
    struct tw_hnode *next; /* bucket chain */
    int64_t key;           /* set before tw_imap_put; never changed while in a map */
};

struct tw_imap {
    struct tw_hnode **buckets; /* nbuckets heads */
    size_t nbuckets;           /* power of two */
    size_t n;                  /* nodes in the map */
};

/* An empty map with room for about size_hint nodes. TW_OK or TW_ENOMEM. */
int tw_imap_init(struct tw_imap *m, size_t size_hint);
/* Free the bucket array; the nodes belong to their owners and are not touched. */
void tw_imap_fini(struct tw_imap *m);
struct tw_hnode *tw_imap_get(const struct tw_imap *m, int64_t key);
/*
 * Add node (borrowed until removed; its key must not be in the map). Never fails: when
 * growing the buckets fails, the map stays at its size and gets slower.
 */
void tw_imap_put(struct tw_imap *m, struct tw_hnode *node);
/* Remove node, which must be in m. */
void tw_imap_del(struct tw_imap *m, struct tw_hnode *node);
/*
 * Call fn on every node; fn may remove (and free) the node it is given, nothing else.
 * Order is unspecified.
 */
void tw_imap_each(struct tw_imap *m, void (*fn)(struct tw_hnode *node, void *arg), void *arg);

/* ---- ready queue, fair across chains ---- */

/*
 * Due tasks wait here for a worker. Each chain has its own FIFO; chains that have waiting
 * items and are under the per-chain cap form a round-robin ring, and tw_squeue_pop takes one
 * item from the chain at the front of the ring and moves that chain to the back. So a chain
 * with 10,000 due tasks gets one start per turn like a chain with one. Items are intrusive
 * (a struct tw_list in the task entry); chain nodes are allocated while a chain has waiting or
 * running items and freed when it has neither.
 */
struct tw_squeue {
    struct tw_imap chains; /* struct tw_squeue_chain by chain id */
    struct tw_list ring;   /* chains eligible to start, in turn order */
    uint32_t cap;          /* max running per chain; 0 = no cap */
    size_t queued;         /* items waiting, all chains */
};

int tw_squeue_init(struct tw_squeue *q, uint32_t per_chain_cap);
/* Free chain nodes; waiting items are unlinked, not freed (their owners free them). */
void tw_squeue_fini(struct tw_squeue *q);

/*
 * Queue item (borrowed, must be unlinked) for chain: at the back of the chain's FIFO, or at
 * its front when front is true (POST /execute jumps its own chain's queue, not other chains'
 * turns). TW_OK, or TW_ENOMEM when a chain node could not be allocated (item not queued).
 */
int tw_squeue_push(struct tw_squeue *q, int64_t chain, struct tw_list *item, bool front);

/* Take item out of the queue (it was pushed for chain); a no-op when it is not queued. */
void tw_squeue_remove(struct tw_squeue *q, int64_t chain, struct tw_list *item);

/*
 * The next item to start, in round-robin order over chains under the cap, or NULL when none
 * may start. The item's chain counts one more running run until tw_squeue_run_end.
 */
struct tw_list *tw_squeue_pop(struct tw_squeue *q, int64_t *chain);

/* A run popped for chain has ended: the chain may start another. */
void tw_squeue_run_end(struct tw_squeue *q, int64_t chain);

/* Runs counted as running for chain (popped, not yet ended). */
uint32_t tw_squeue_running(const struct tw_squeue *q, int64_t chain);

/* ---- the scheduler ---- */

/* When adding a flag, check start() and tw_sched_on_run_end() in sched_run.c. */
enum tw_sched_flag {
    TW_SF_RUNNING = 1u << 0,   /* popped from the queue and started (or being started) */
    TW_SF_EXECUTE = 1u << 1,   /* the queued/running instance is a POST /execute */
    TW_SF_DELETED = 1u << 2,   /* deleted while running: free when the run ends */
    TW_SF_RECOVERED = 1u << 3, /* interrupted by the previous process: run it whatever once */
    TW_SF_FENCED = 1u << 4,    /* the run lost its claim (sched_lease.c): write nothing of it */
};

/*
 * One per task that is armed, queued or running; nothing for a finished one-off task.
 * 32 (timer) + 16 (queue link) + 16 (map node) + 8 + 8 + 8 + 8 = 96 bytes.
 */
struct tw_sched_task {
    struct tw_timer timer; /* armed at trigger.once, on the wheel's monotonic ms scale */
    struct tw_list qlink;  /* in s->queue while due and waiting for a worker */
    struct tw_hnode h;     /* key = task id; in s->tasks */
    int64_t chain;         /* the task's chain, for the fair queue */
    int64_t once_at;       /* UTC seconds the timer is armed for */
    int64_t attempt;       /* the store's attempt of the run this node claimed (while running) */
    uint32_t flags;        /* enum tw_sched_flag */
    struct tw_publish *publish; /* its result being published (sched_publish.c), else NULL */
};

/* A held POST /execute waiting for the end of its run. */
struct tw_sched_waiter {
    struct tw_sched_waiter *next; /* s->waiters */
    int64_t task_id;
    tw_sched_exec_done_fn *cb;
    void *arg; /* borrowed from the API */
};

/* tw_sched_execute's view of the start it asked for, filled while it pumps (sched_run.c). */
struct tw_sched_probe {
    int64_t task_id;   /* the task being executed */
    bool failed;       /* it was popped and could not start */
    struct tw_err err; /* why, when failed */
};

/* A run claimed in the open batch whose job waits for the batch's commit (sched_batch.c). */
struct tw_sched_claimed {
    struct tw_sched_task *t;
    struct tw_task task; /* the fresh copy start() read; owned */
    int64_t now;         /* the run's start, UTC seconds */
    bool forced;         /* execute or recovered */
};

#define TW_SCHED_BATCH_MAX 16 /* claims per transaction; a pump slice is fewer */

struct tw_sched_batch {
    bool open; /* a store transaction is open for the slice's claims */
    unsigned n;
    struct tw_sched_claimed runs[TW_SCHED_BATCH_MAX];
};

struct tw_sched {
    struct tw_sched_deps d;          /* as given */
    struct tw_wheel *wheel;          /* every armed entry's timer */
    struct tw_sched_tick *tick;      /* the one timer driving the wheel (sched_tick.c) */
    struct event *grace;             /* shutdown grace, then interrupt */
    struct event *later;             /* zero-delay: on_drained outside the caller's stack */
    struct event *pump_more;         /* zero-delay: the rest of a pump, after the loop's I/O */
    struct tw_runner *runner;        /* the worker pool */
    struct tw_publisher *publisher;  /* completes S3 results off the loop (sched_publish.c) */
    struct tw_imap tasks;            /* struct tw_sched_task by task id */
    struct tw_squeue queue;          /* due entries, fair across chains */
    struct tw_sched_waiter *waiters; /* held executes, rarely more than a few */
    struct tw_sched_probe *probe;    /* set only during tw_sched_execute's own pump */
    int64_t wall_minus_mono_us;      /* the offset arms were computed with */
    struct event *lease_tick; /* every cluster.heartbeat: renew leases, rescue (sched_lease.c) */
    int64_t *run_ids;         /* tasks this node claimed and runs now (for renewal) */
    size_t n_runs, cap_runs;
    bool stopping; /* tw_sched_shutdown was called: start nothing */
    bool drained;  /* on_drained was called */
    tw_sched_drained_fn *on_drained;
    void *drained_arg;
    struct tw_sched_stats st;    /* counters; tasks/armed/queued/running computed on demand */
    struct tw_sched_batch batch; /* the pump slice's claims (sched_batch.c) */
    struct event *ckpt; /* one-shot: checkpoint the store's WAL when quiet (sched_ckpt.c) */
};

struct tw_sched_task *tw_sched_entry_get(const struct tw_sched *s, int64_t id);
/* A new unarmed entry in the map; NULL when out of memory. */
struct tw_sched_task *tw_sched_entry_add(struct tw_sched *s, int64_t id, int64_t chain);
/* Disarm, dequeue, unmap and free (caller has checked it is not running). */
void tw_sched_entry_drop(struct tw_sched *s, struct tw_sched_task *t);
/*
 * Arm t for once_at (UTC seconds; the past means now), measuring the wall/monotonic offset
 * afresh, and re-arm the libevent timer.
 */
void tw_sched_arm(struct tw_sched *s, struct tw_sched_task *t, int64_t once_at);
/* READY, or DONE/ERROR and repeating: runs again without an API call. */
bool tw_sched_schedulable(const struct tw_task *t);
/* Call and remove the execute callback of task_id, if any (why NULL: the run ended). */
void tw_sched_notify(struct tw_sched *s, int64_t task_id);
/* The same for a run that could not start: why says why (borrowed). */
void tw_sched_notify_why(struct tw_sched *s, int64_t task_id, const struct tw_err *why);
/*
 * The end of a run as the runner reported it, or after its publication (sched_publish.c):
 * write it (or not: deleted, fenced, cancelled), release its lease and chain slot, answer a
 * held execute. t may be NULL (no entry: logged).
 */
void tw_sched_run_ended(struct tw_sched *s, struct tw_sched_task *t,
                        const struct tw_run_result *res);
/*
 * A DONE run on S3 whose upload is sealed: check its claim and start its publication, whose
 * end calls tw_sched_run_ended; true when the end is taken care of that way (or already
 * recorded as an error). False: handle the end now (not S3, not DONE, deleted, fenced — a
 * failed check sets TW_SF_FENCED); a sealed upload that is not to be published is aborted.
 */
bool tw_sched_publish_begin(struct tw_sched *s, struct tw_sched_task *t,
                            const struct tw_run_result *res);
/* The lease of run id was renewed to lease_until_ms (0: refused): move its publication's deadline. */
void tw_sched_publish_extend(struct tw_sched *s, int64_t id, int64_t lease_until_ms);
int64_t tw_sched_publish_deadline(const struct tw_sched *s, int64_t lease_until_ms);
/* If stopping and nothing runs any more: answer waiters and schedule on_drained. */
void tw_sched_check_drained(struct tw_sched *s);

/* sched_tick.c: a one-shot timer precise to the microsecond (libevent's are 0-4 ms late) */
struct event_base;
struct tw_sched_tick;
/* A timer that calls cb(arg) from the loop once its deadline is reached; NULL: no memory. */
struct tw_sched_tick *tw_sched_tick_new(struct event_base *base, void (*cb)(void *arg), void *arg);
/* (Re)set it for deadline_ms on tw_clock_mono_ms's scale; the past means at once. */
void tw_sched_tick_at(struct tw_sched_tick *k, uint64_t deadline_ms);
void tw_sched_tick_stop(struct tw_sched_tick *k);
void tw_sched_tick_free(struct tw_sched_tick *k); /* NULL is a no-op */

/* sched_run.c */
void tw_sched_pump(struct tw_sched *s);
/* Hand the job of t's claimed run (task: the fresh copy, borrowed) to a worker, and log it. */
void tw_sched_launch_claimed(struct tw_sched *s, struct tw_sched_task *t,
                             const struct tw_task *task, int64_t now, bool forced);
/* t's claim was not committed after all (rc, err: why): as a start the store refused. */
void tw_sched_claim_lost(struct tw_sched *s, struct tw_sched_task *t, const struct tw_task *task,
                         int rc, const struct tw_err *err);

/* sched_batch.c: one store transaction for the claims of a pump slice */
/* Open the slice's transaction (when it cannot be opened, each claim commits alone). */
void tw_sched_batch_begin(struct tw_sched *s);
/* Whether a worker is free for one more run, counting the claims waiting for the commit. */
bool tw_sched_batch_room(const struct tw_sched *s);
/* Keep t's claimed run for the commit; takes *task (left empty). false: no batch, launch now. */
bool tw_sched_batch_defer(struct tw_sched *s, struct tw_sched_task *t, struct tw_task *task,
                          int64_t now, bool forced);
/* Commit, then hand out the jobs (or, when the commit failed, undo the starts). */
void tw_sched_batch_end(struct tw_sched *s);
void tw_sched_on_run_end(void *ctx, const struct tw_run_result *res);
void tw_sched_on_progress(void *ctx, int64_t task_id, const struct tw_run_counts *c);
/* Record task id (left INPROGRESS by a previous process) as interrupted and due now. */
int tw_sched_recover(struct tw_sched *s, int64_t id, int64_t chain, struct tw_err *err);

/* sched_ckpt.c: the store's WAL checkpoints between bursts of starts */
/* Take the checkpoints over from the store (SQLite's automatic one off). TW_OK or TW_ENOMEM. */
int tw_sched_ckpt_init(struct tw_sched *s);
/* Give them back to the store and free the event (NULL event: a no-op). */
void tw_sched_ckpt_fini(struct tw_sched *s);
/* The store was written: look for a quiet moment to checkpoint, soon. */
void tw_sched_ckpt_soon(struct tw_sched *s);

/* The target.since window of a task's run (sched_since.c). */
struct tw_sched_window {
    bool since;   /* target.since is set; nothing below is valid otherwise */
    int64_t from; /* the watermark, INT64_MIN: from the beginning */
    char *key;    /* what the run exports, saved with the watermark; owned */
};
/*
 * Fill *w for task (read from the store: the watermark is not part of struct tw_task). trigger
 * is the task's trigger already parsed, or NULL to parse it here when the task has target.since.
 */
struct json_t;
int tw_sched_since_window(struct tw_sched *s, const struct tw_task *task,
                          const struct json_t *trigger, struct tw_sched_window *w,
                          struct tw_err *err);
void tw_sched_window_fini(struct tw_sched_window *w);
/* "success (changes FROM .. TO)" (docs/reference.md §13) into buf; returns buf. */
const char *tw_sched_window_msg(const struct tw_sched_window *w, int64_t to, char *buf, size_t n);

/* sched_stats.c: metrics in s->st and the run.started / run.finished log lines */
void tw_sched_stats_init(struct tw_sched *s);
/* A run of task (fresh copy) was launched for entry t; forced: execute or recovered. */
void tw_sched_note_start(struct tw_sched *s, const struct tw_sched_task *t,
                         const struct tw_task *task, bool forced);
/* A run launched in a worker ended DONE or ERROR (res->end DONE or FAILED). */
void tw_sched_note_end(struct tw_sched *s, const struct tw_task *task,
                       const struct tw_run_result *res);

/* ---- leases (sched_lease.c, docs/cluster.md "Leases, fencing and rescue") ---- */

/* Start the heartbeat timer and run its first pass (rescues lapsed leases at start). */
int tw_sched_lease_init(struct tw_sched *s, struct tw_err *err);
void tw_sched_lease_fini(struct tw_sched *s);
/* Remember / forget a run this node claimed, for the renewal statement. */
int tw_sched_lease_add(struct tw_sched *s, int64_t id);
void tw_sched_lease_del(struct tw_sched *s, int64_t id);
/* The lease deadline of a claim made now, ms since the epoch. */
int64_t tw_sched_lease_until(const struct tw_sched *s);
/* Is the store shared by several nodes (PostgreSQL)? Then INPROGRESS at start is not ours. */
bool tw_sched_clustered(const struct tw_sched *s);
/* A write of a run was refused by its attempt: log run.fenced and count it. */
void tw_sched_fenced(struct tw_sched *s, int64_t id, int64_t attempt, const char *what,
                     const struct tw_err *why);

#endif /* TW_SCHED_SCHED_INT_H */
