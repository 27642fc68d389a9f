/*
 * The task store: the one interface through which the engine reads and writes tasks, their
 * logs, tokens, admin users, sessions, idempotency keys and saved segments. Today it is SQLite
 * (store_sqlite.c and friends); a PostgreSQL implementation can be added behind the same
 * functions, so every state change is one call here, done in one transaction.
 *
 * Only the parent process (the engine's event loop) holds a store; workers never open it.
 * Times are int64 seconds since the epoch (UTC); 0 means "null/never" where documented.
 *
 * Ownership: every struct filled by a _get/_list call owns its strings and arrays; release
 * with the matching _fini (or tw_store_free_* for arrays). Inputs are only borrowed.
 * Errors: TW_OK, TW_ENOTFOUND (no such row), TW_ECONFLICT (version/state/uniqueness),
 * TW_ESTORE (the database failed; err says how), TW_ENOMEM.
 */
#ifndef TW_STORE_STORE_H
#define TW_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct tw_store;

/* When adding a state, also update state_names[] in store_types.c and the CHECK in the schema. */
enum tw_task_state {
    TW_STATE_READY = 0,
    TW_STATE_INPROGRESS = 1,
    TW_STATE_DONE = 2,
    TW_STATE_ERROR = 3,
};

const char *tw_task_state_name(int state); /* "READY", ...; "?" when unknown */
int tw_task_state_parse(const char *s);    /* -1 when unknown */

enum tw_access_level {
    TW_LEVEL_NONE = 0,
    TW_LEVEL_READ = 1,
    TW_LEVEL_WRITE = 2,
};

const char *tw_level_name(int level); /* "read", "write" */
int tw_level_parse(const char *s);    /* -1 when unknown */

struct tw_task {
    int64_t id;            /* assigned by tw_store_task_insert, never reused */
    int64_t chain;         /* owning chain; immutable */
    char *desc;            /* free text */
    int state;             /* enum tw_task_state */
    int64_t last_run_date; /* start of the latest run; 0 = never run */
    int64_t last_modified; /* last change of anything */
    int64_t created_date;
    char *trigger_json; /* the canonical trigger object, compact JSON text */
    char *target_json;  /* the canonical target object, compact JSON text */
    char *debug;        /* client's diagnostic string, "" by default */
    int64_t version;    /* 1 on insert, +1 on every change */
    char *result;       /* file name of the latest good result; NULL before one */
    /* Denormalised from trigger/target, so the store can filter and schedule without JSON. */
    int64_t once_at;     /* trigger.once */
    char *repeat;        /* "", "daily", "weekly", "monthly" */
    int64_t anchor_day;  /* day of month first given, for monthly repeats (1..31) */
    char *action;        /* target.action */
    char *export_index;  /* target.export_index */
    char *campaign_id;   /* target.campaign_id or NULL */
    int64_t segment_id;  /* trigger.segment_id or 0 */
    char *export_format; /* target.export_format ("csv" by default) */
    char *compression;   /* target.compression: "none" or "gzip" */
    char *since;         /* target.since or NULL */
    /* The latest good result file. */
    char *result_path;   /* absolute path of the file, NULL when none */
    int64_t result_size; /* bytes */
    char *result_sha256; /* lowercase hex */
    int64_t result_time; /* when it was published */
    bool result_expired; /* pruned by retention: result stays as history */
    int64_t result_ino;  /* inode of the published file (0: unknown, older rows) */
};

void tw_task_fini(struct tw_task *t);

struct tw_task_log {
    int64_t id; /* row id, increasing */
    int64_t time;
    char *msg;
    bool has_counts; /* the entry that ends a run, or "progress" */
    int64_t total;
    int64_t errors;
    int64_t skips;
    int64_t success;
};

void tw_task_log_fini(struct tw_task_log *l);
void tw_store_free_logs(struct tw_task_log *logs, size_t n);
void tw_store_free_tasks(struct tw_task *tasks, size_t n);

struct tw_task_filter {
    const int64_t *chains; /* the chains the caller may read; required, n_chains >= 1 */
    size_t n_chains;
    int state;                /* -1: any */
    const char *action;       /* NULL: any */
    const char *export_index; /* NULL: any */
    const char *campaign_id;  /* NULL: any */
    uint32_t limit;
    uint32_t offset;
};

/* An Idempotency-Key remembered with the task it created. */
struct tw_idem {
    const char *caller;      /* who sent it ("token:<id>" or "user:<id>") */
    const char *key;         /* the header value, <= 255 chars */
    const char *body_sha256; /* hex digest of the request body */
    int64_t created;
};

/* ---- lifecycle ---- */

/* Open (creating if needed) and migrate the database at path to the current schema. */
int tw_store_open(const char *path, struct tw_store **out, struct tw_err *err);

/* What the configuration says to open (store.driver, store.path, store.dsn). */
struct tw_store_conf {
    const char *driver; /* "sqlite" (also when NULL) or "postgresql" */
    const char *path;   /* sqlite: the database file */
    const char *dsn;    /* postgresql: the libpq connection string */
};

/*
 * Open the configured store, creating or migrating its schema (PostgreSQL: under an advisory
 * lock, so nodes starting together never race). Errors name the key and the driver's reason;
 * a PostgreSQL dsn's password never appears in err.
 */
int tw_store_open_conf(const struct tw_store_conf *c, struct tw_store **out, struct tw_err *err);
const char *tw_store_driver_name(const struct tw_store *s); /* "sqlite", "postgresql" */
/*
 * Can the configured store be reached, without creating or changing anything (check-config)?
 * PostgreSQL: connects once; SQLite: nothing to try. Errors as tw_store_open_conf.
 */
int tw_store_probe_conf(const struct tw_store_conf *c, struct tw_err *err);

/*
 * Copy the whole SQLite store from into the empty PostgreSQL store to (store_copy.c): every
 * table, ids kept, sequences advanced past them; one transaction on the target, so a failure
 * leaves it empty. *rows gets the rows copied. TW_ECONFLICT when to already holds data,
 * TW_EINVAL for another pair of drivers.
 */
int tw_store_copy(struct tw_store *from, struct tw_store *to, int64_t *rows, struct tw_err *err);
void tw_store_close(struct tw_store *s);
int tw_store_ping(struct tw_store *s, struct tw_err *err);
int tw_store_schema_version(struct tw_store *s); /* PRAGMA user_version after migration */

/* ---- tasks ---- */

/*
 * Insert t (id, version are ignored and set: id assigned, version 1). If idem is not NULL the
 * key is stored in the same transaction. t->created_date/last_modified are taken as given.
 */
int tw_store_task_insert(struct tw_store *s, struct tw_task *t, const struct tw_idem *idem,
                         struct tw_err *err);

/* Fill *out (caller then tw_task_fini). TW_ENOTFOUND when there is no task id. */
int tw_store_task_get(struct tw_store *s, int64_t id, struct tw_task *out, struct tw_err *err);

/* Tasks matching f, id descending; *total = count ignoring limit/offset. Caller frees *out. */
int tw_store_task_list(struct tw_store *s, const struct tw_task_filter *f, struct tw_task **out,
                       size_t *n, int64_t *total, struct tw_err *err);

/*
 * Replace desc, trigger_json, target_json, debug, state, once_at, repeat, anchor_day, action,
 * export_index, campaign_id, segment_id and last_modified of task t->id, only if its stored
 * version equals expected_version and it is not INPROGRESS; version becomes expected + 1
 * (written back to t->version). If log_msg is not NULL a log entry is appended at
 * t->last_modified. TW_ENOTFOUND, or TW_ECONFLICT with err saying which condition failed.
 */
int tw_store_task_update(struct tw_store *s, struct tw_task *t, int64_t expected_version,
                         const char *log_msg, struct tw_err *err);

/* Delete the task, its logs and idempotency keys. TW_ENOTFOUND when absent. */
int tw_store_task_delete(struct tw_store *s, int64_t id, struct tw_err *err);

/* Logs of task id, newest first. Caller frees *out with tw_store_free_logs. */
int tw_store_log_list(struct tw_store *s, int64_t task_id, uint32_t limit, uint32_t offset,
                      struct tw_task_log **out, size_t *n, struct tw_err *err);

/* Append a plain log entry (no counts) and bump version/last_modified. */
int tw_store_log_add(struct tw_store *s, int64_t task_id, int64_t time, const char *msg,
                     struct tw_err *err);

/* ---- runs (docs/reference.md §1 state machine) ---- */

/*
 * READY/DONE/ERROR -> INPROGRESS: sets last_run_date = now, logs "OLD -> INPROGRESS", version+1.
 * TW_ECONFLICT if the task is already INPROGRESS, TW_ENOTFOUND if gone.
 */
int tw_store_run_start(struct tw_store *s, int64_t id, int64_t now, struct tw_err *err);

/*
 * Exactly-once runs across nodes sharing one store (docs/cluster.md "Leases, fencing and
 * rescue"). A run is started by a conditional claim; while it lasts its node renews the lease;
 * every later write of the run carries the claim's attempt and is refused (TW_ECONFLICT with
 * err->field "attempt": the run was fenced) once another claim took the task.
 */
struct tw_run_claim {
    const char *node;      /* cluster.node_id of the claiming node */
    int64_t chain;         /* the task's chain */
    int64_t once_at;       /* the occurrence claimed: trigger.once must still be it; 0: any */
    int64_t now;           /* start of the run, seconds */
    int64_t lease_until;   /* lease deadline, ms since the epoch */
    uint32_t max_in_chain; /* max_runs_per_chain across the whole store; 0: no cap */
};

/*
 * READY/DONE/ERROR -> INPROGRESS if the task is not INPROGRESS, (once_at != 0) its
 * trigger.once is still c->once_at and it is READY or repeating (still due), and (max_in_chain != 0) its chain has fewer INPROGRESS
 * runs than that: records run_node, lease_until, attempt + 1 (returned in *attempt), logs
 * "OLD -> INPROGRESS". A lost claim is TW_ECONFLICT (err->field "state" or "once"), a full
 * chain TW_ELIMIT; TW_ENOTFOUND if gone.
 */
int tw_store_run_claim(struct tw_store *s, int64_t id, const struct tw_run_claim *c,
                       int64_t *attempt, struct tw_err *err);

/*
 * Push to lease_until (ms) the leases of node's running tasks among ids[n], in one statement;
 * renewed[i] (n entries, caller's) tells whether ids[i] was: false means the task is no
 * longer INPROGRESS under node's claim (rescued, claimed again elsewhere, gone).
 */
int tw_store_run_renew(struct tw_store *s, const char *node, const int64_t *ids, size_t n,
                       int64_t lease_until, bool *renewed, struct tw_err *err);

/* An INPROGRESS run whose lease ended before now (tw_store_runs_stale). */
struct tw_stale_run {
    int64_t id;
    int64_t chain;
    int64_t attempt;
    char node[128]; /* run_node of the lapsed claim */
};

/* Up to limit runs whose lease (> 0) ended before now_ms, oldest first; caller tw_free()s. */
int tw_store_runs_stale(struct tw_store *s, int64_t now_ms, uint32_t limit,
                        struct tw_stale_run **out, size_t *n, struct tw_err *err);

/*
 * INPROGRESS -> READY for a run whose lease expired: only if the task is still at attempt and
 * its lease still ended before now_ms (else TW_ECONFLICT: renewed or rescued meanwhile). Logs
 * "INPROGRESS -> READY" then msg, removes the progress entry, clears the claim.
 */
int tw_store_run_rescue(struct tw_store *s, int64_t id, int64_t attempt, int64_t now_ms,
                        const char *msg, struct tw_err *err);

/*
 * Create or update in place the single "progress" log entry of the running task; attempt > 0
 * must be the task's current attempt (else TW_ECONFLICT, field "attempt").
 */
int tw_store_run_progress(struct tw_store *s, int64_t id, int64_t now, int64_t total,
                          int64_t errors, int64_t skips, int64_t success, int64_t attempt,
                          struct tw_err *err);

struct tw_run_outcome {
    int state;       /* TW_STATE_DONE or TW_STATE_ERROR (or READY when interrupted) */
    int64_t time;    /* end of the run */
    const char *msg; /* "success" or the error sentence */
    bool has_counts; /* false for an interrupted run */
    int64_t total, errors, skips, success;
    const char *result; /* new result file name, NULL: keep the previous result */
    const char *result_path;
    int64_t result_size;
    const char *result_sha256;
    int64_t next_once_at;          /* 0: keep trigger.once */
    const char *next_trigger_json; /* NULL: keep; else the trigger with once advanced */
    /* target.since (docs/reference.md §13): with state DONE and since_key non-NULL, the task's watermark
     * becomes since_at (the run's start) for since_key (see tw_store_since_get). */
    const char *since_key;
    int64_t since_at;
    int64_t attempt; /* > 0: the claim's attempt; the end is refused (fenced) if it changed */
};

/*
 * INPROGRESS -> o->state: removes the "progress" entry, appends the "INPROGRESS -> NEW" entry,
 * then the run's final entry (msg with counts), so that newest first the final entry is on top
 * (docs/reference.md §1: "success" above the state changes); stores the result and the advanced
 * trigger; version+1. TW_ECONFLICT if the task is not INPROGRESS.
 */
int tw_store_run_finish(struct tw_store *s, int64_t id, const struct tw_run_outcome *o,
                        struct tw_err *err);

/*
 * The watermark of task id's incremental exports (docs/reference.md §13): *at is the start of its last
 * DONE run that saved one (0: none) and *key (caller tw_free()s; NULL when none) what that
 * run exported. TW_ENOTFOUND when there is no task id.
 */
int tw_store_since_get(struct tw_store *s, int64_t id, int64_t *at, char **key, struct tw_err *err);

/* Mark the task's result as pruned by retention (result name stays). */
int tw_store_result_expire(struct tw_store *s, int64_t id, struct tw_err *err);

/* A compact view of a task for rebuilding the scheduler without loading whole tasks. */
struct tw_task_brief {
    int64_t id;
    int64_t chain;
    int state;
    int64_t once_at;
    int64_t version;
    const char *repeat; /* valid only during the callback */
};

typedef int tw_store_scan_fn(void *ctx, const struct tw_task_brief *b);

/* Call fn for every task (id ascending); a non-zero return from fn stops and is returned. */
int tw_store_task_scan(struct tw_store *s, tw_store_scan_fn *fn, void *ctx, struct tw_err *err);

/* Number of tasks in each state: counts[4] indexed by enum tw_task_state. */
int tw_store_task_count_by_state(struct tw_store *s, int64_t counts[4], struct tw_err *err);

/*
 * Result files still on offer (a task's latest result, not expired) and the sum of their
 * sizes in bytes, for metrics (store_metrics.c).
 */
int tw_store_result_usage(struct tw_store *s, int64_t *files, int64_t *bytes, struct tw_err *err);

/* ---- idempotency ---- */

/*
 * Look up (caller, key) created at or after not_before. TW_ENOTFOUND when none; else
 * *task_id and body_sha256 (65 bytes) are filled. Older keys are pruned lazily.
 */
int tw_store_idem_get(struct tw_store *s, const char *caller, const char *key, int64_t not_before,
                      int64_t *task_id, char body_sha256[65], struct tw_err *err);

/* ---- tokens ---- */

struct tw_token {
    char id[37]; /* UUID text */
    char *desc;
    int level;       /* enum tw_access_level */
    int64_t *chains; /* chains it may use */
    size_t n_chains;
    unsigned char secret_mac[32]; /* HMAC-SHA256(server key, secret) */
    int64_t created;
    bool revoked;
};

void tw_token_fini(struct tw_token *t);
int tw_store_token_insert(struct tw_store *s, const struct tw_token *t, struct tw_err *err);
int tw_store_token_get(struct tw_store *s, const char *id, struct tw_token *out,
                       struct tw_err *err);
int tw_store_token_list(struct tw_store *s, struct tw_token **out, size_t *n, struct tw_err *err);
void tw_store_free_tokens(struct tw_token *t, size_t n);
int tw_store_token_revoke(struct tw_store *s, const char *id, struct tw_err *err);

/* ---- admin users and sessions ---- */

struct tw_chain_access {
    int64_t chain;
    int level; /* enum tw_access_level */
};

struct tw_user {
    int64_t id;
    char *name;
    char *pw_hash; /* crypt(3) string */
    struct tw_chain_access *access;
    size_t n_access;
};

void tw_user_fini(struct tw_user *u);

/* Insert a user, or replace the password and access of an existing one of that name. */
int tw_store_user_put(struct tw_store *s, struct tw_user *u, struct tw_err *err);
int tw_store_user_get_by_name(struct tw_store *s, const char *name, struct tw_user *out,
                              struct tw_err *err);
int tw_store_user_get(struct tw_store *s, int64_t id, struct tw_user *out, struct tw_err *err);

int tw_store_session_insert(struct tw_store *s, int64_t user_id, const unsigned char key_mac[32],
                            int64_t expires, struct tw_err *err);
/* Finds a session of user_id with that key mac not expired at now. TW_ENOTFOUND otherwise. */
int tw_store_session_check(struct tw_store *s, int64_t user_id, const unsigned char key_mac[32],
                           int64_t now, struct tw_err *err);

/* ---- saved segments (docs/reference.md §6.4) ---- */

struct tw_segment {
    int64_t id;
    int64_t chain;
    char *name;
    char *segment_json; /* canonical segment object, compact JSON text */
    int64_t created;
    int64_t last_modified;
};

void tw_store_segment_fini(struct tw_segment *g);
void tw_store_free_segments(struct tw_segment *g, size_t n);
int tw_store_segment_insert(struct tw_store *s, struct tw_segment *g, struct tw_err *err);
int tw_store_segment_get(struct tw_store *s, int64_t id, struct tw_segment *out,
                         struct tw_err *err);
int tw_store_segment_list(struct tw_store *s, const int64_t *chains, size_t n_chains,
                          struct tw_segment **out, size_t *n, struct tw_err *err);
int tw_store_segment_update(struct tw_store *s, const struct tw_segment *g, struct tw_err *err);
/* Ids of the tasks whose trigger.segment_id is id, ascending; caller frees *users. */
int tw_store_segment_users(struct tw_store *s, int64_t id, int64_t **users, size_t *n_users,
                           struct tw_err *err);
/* TW_ECONFLICT when tasks still use it; *users (caller frees) lists their ids. */
int tw_store_segment_delete(struct tw_store *s, int64_t id, int64_t **users, size_t *n_users,
                            struct tw_err *err);

/* ---- users: removal and sessions ---- */

/* Delete user name (its chain access and sessions go with it). TW_ENOTFOUND when absent. */
int tw_store_user_remove(struct tw_store *s, const char *name, struct tw_err *err);
/* End every session of user name; *n gets how many. TW_ENOTFOUND when there is no such user. */
int tw_store_sessions_revoke(struct tw_store *s, const char *name, int64_t *n, struct tw_err *err);

/* ---- upkeep: limits, retention, health (store_upkeep.c) ---- */

struct tw_store_limits {
    int64_t max_tasks_per_chain; /* 0: none; tw_store_task_insert answers TW_ELIMIT at it */
    uint32_t logs_keep;          /* 0: keep all; else the newest this many entries per task */
    uint32_t logs_keep_runs;     /* ... plus the run-end entries of this many newest runs */
};

/* Totals since the store was opened, for GET /metrics. */
struct tw_store_upkeep_stats {
    uint64_t results_pruned; /* result files removed by retention */
    uint64_t result_bytes_pruned;
    uint64_t logs_trimmed;           /* log entries removed by logs_keep */
    uint64_t wal_checkpoints;        /* tw_store_wal_checkpoint calls that checkpointed */
    uint64_t wal_checkpoints_forced; /* commits past the deferred WAL's hard limit (below) */
};

/* Limits apply to later calls; all zero (the state after open) means none. */
void tw_store_set_limits(struct tw_store *s, const struct tw_store_limits *l);
void tw_store_get_upkeep_stats(const struct tw_store *s, struct tw_store_upkeep_stats *out);

/*
 * WAL checkpoints chosen by the caller (SQLite; a no-op on PostgreSQL, whose server does its
 * own). SQLite by default checkpoints inside whichever commit takes the WAL past 1,000 pages:
 * three fsyncs (4-9 ms) in the middle of the scheduler's burst of run starts. After
 * tw_store_wal_defer the store's commits checkpoint only once the WAL holds hard_pages or more
 * (so it stays bounded whatever the caller does); below that, the caller runs
 * tw_store_wal_checkpoint when it is idle. The server's scheduler does (docs/scheduling.md).
 * hard_pages 0 gives the checkpoints back to SQLite.
 */
void tw_store_wal_defer(struct tw_store *s, uint32_t hard_pages);
/* Pages in the WAL not yet checkpointed, as of the last commit or checkpoint (counted while
 * deferred; 0 otherwise). */
uint32_t tw_store_wal_pages(const struct tw_store *s);
/*
 * A PASSIVE checkpoint now (never waits for a reader or writer; copies what it can), and when
 * it copied everything, one small commit that starts the WAL over now rather than in the next
 * caller's commit. TW_OK, or TW_ECONFLICT inside a transaction, or TW_ESTORE with a sentence.
 */
int tw_store_wal_checkpoint(struct tw_store *s, struct tw_err *err);

/* A result due for retention: the caller removes the file, then tw_store_result_expire. */
struct tw_store_expiring {
    int64_t id;
    char *path; /* owned; free with tw_store_free_expiring */
    int64_t size;
};

/*
 * Up to limit results published before `before` and not expired, oldest first, of tasks that
 * are not INPROGRESS (a running task's worker may rename a new file over the same path).
 */
int tw_store_results_expiring(struct tw_store *s, int64_t before, uint32_t limit,
                              struct tw_store_expiring **out, size_t *n, struct tw_err *err);
void tw_store_free_expiring(struct tw_store_expiring *e, size_t n);
/* Count a removed result in the upkeep stats. */
void tw_store_note_pruned(struct tw_store *s, int64_t bytes);

/*
 * Is the database file at its path still the one opened (same device and inode)? When it was
 * removed or replaced, the store turns unhealthy for good: every later write is refused with
 * TW_ESTORE naming the reason (a restart opens whatever is at the path then). TW_OK or
 * TW_ESTORE.
 */
int tw_store_check_file(struct tw_store *s, struct tw_err *err);

/*
 * Can the store write? TW_ESTORE with the reason when the file is gone or replaced, when the
 * latest write failed (disk full, read-only or immutable file, I/O error) and the probe still
 * fails, or when the probe (one small committed write, at most once a second) fails.
 */
int tw_store_health(struct tw_store *s, struct tw_err *err);

/* ---- transactions (appended) ---- */

/* ---- webhooks (webhook/webhook.h says how deliveries are signed and retried) ---- */

/* Bits of tw_webhook_events: the run ends a webhook is sent for. */
#define TW_WEBHOOK_ON_DONE 1u
#define TW_WEBHOOK_ON_ERROR 2u

/* Set (url non-NULL) or remove (url NULL) the webhook of a task. */
int tw_store_webhook_set(struct tw_store *s, int64_t task_id, const char *url, unsigned events,
                         struct tw_err *err);
/* The webhook of a task: *url (caller frees) and *events; TW_ENOTFOUND when it has none. */
int tw_store_webhook_get(struct tw_store *s, int64_t task_id, char **url, unsigned *events,
                         struct tw_err *err);

/*
 * Add secret as the chain's newest webhook secret; every older one that is still valid now
 * expires at now + overlap_s (the rotation overlap).
 */
int tw_store_webhook_secret_add(struct tw_store *s, int64_t chain, const char *secret, int64_t now,
                                int64_t overlap_s, struct tw_err *err);
/* The chain's secrets valid at now, newest first (caller frees with tw_store_free_strings). */
int tw_store_webhook_secrets(struct tw_store *s, int64_t chain, int64_t now, char ***out, size_t *n,
                             struct tw_err *err);
void tw_store_free_strings(char **v, size_t n);

/* One pending delivery of the durable outbox. */
struct tw_delivery {
    int64_t id;    /* outbox row */
    char uuid[37]; /* the delivery id, the same on every attempt */
    int64_t task_id;
    int64_t chain;
    char *event; /* "task.done" | "task.error" */
    char *url;
    char *body;        /* the JSON POSTed, fixed when the run ended */
    unsigned attempts; /* made so far */
    int64_t next_at;   /* due time of the next attempt, ms since the epoch */
};
void tw_store_free_deliveries(struct tw_delivery *d, size_t n);

/* Queue a delivery (d->id is set). Call inside the transaction that records the run's end. */
int tw_store_outbox_add(struct tw_store *s, struct tw_delivery *d, struct tw_err *err);
/* Up to limit pending deliveries due at now, oldest due first. */
int tw_store_outbox_due(struct tw_store *s, int64_t now, size_t limit, struct tw_delivery **out,
                        size_t *n, struct tw_err *err);
/* The earliest next_at of any pending delivery, or 0 when none is pending. */
int tw_store_outbox_next(struct tw_store *s, int64_t *next_at, struct tw_err *err);
/*
 * Push a delivery's next_at to until_ms without counting an attempt: taken before posting, so
 * a crash during the attempt makes it due again after until_ms (at least once, never lost).
 */
int tw_store_outbox_lease(struct tw_store *s, int64_t id, int64_t until_ms, struct tw_err *err);

/* One attempt, as GET /tasks/{id}/deliveries lists it. */
struct tw_delivery_attempt {
    char uuid[37];
    char *event;
    unsigned attempt; /* 1, 2, ... */
    int64_t time;     /* unix seconds */
    long status;      /* HTTP status, 0 when there was none */
    char *error;      /* "" when the receiver answered */
    int64_t duration_ms;
};
void tw_store_free_attempts(struct tw_delivery_attempt *a, size_t n);

/*
 * Record attempt a of outbox row id and either schedule the next one at next_at (> 0) or
 * close the delivery (next_at 0: delivered, or given up). One transaction.
 */
int tw_store_outbox_record(struct tw_store *s, int64_t id, int64_t task_id,
                           const struct tw_delivery_attempt *a, int64_t next_at,
                           struct tw_err *err);
/* The task's last limit attempts, newest first. */
int tw_store_delivery_list(struct tw_store *s, int64_t task_id, size_t limit,
                           struct tw_delivery_attempt **out, size_t *n, struct tw_err *err);

/* ---- several nodes (docs/cluster.md; store_cluster.c, store_pg_cluster.c) ---- */

/* One row of the nodes table: a serving node and its latest heartbeat. */
struct tw_node {
    char id[128];      /* cluster.node_id */
    int64_t started;   /* unix seconds */
    int64_t heartbeat; /* unix seconds of its latest beat */
    int64_t in_flight; /* runs it had in workers at that beat */
    char version[32];  /* taskwheel version */
};

/* Insert or refresh node n's row (a heartbeat). */
int tw_store_node_beat(struct tw_store *s, const struct tw_node *n, struct tw_err *err);
/* Remove node id's row (clean shutdown); removing an absent row is TW_OK. */
int tw_store_node_remove(struct tw_store *s, const char *id, struct tw_err *err);
/*
 * The rows whose heartbeat is at or after before, by id, into *out (caller tw_free()s it;
 * NULL when *n is 0). Older rows (nodes that died without a clean stop) are left out, and
 * stay in the table until a node of the same id starts. A read: no row is written.
 */
int tw_store_node_list(struct tw_store *s, int64_t before, struct tw_node **out, size_t *n,
                       struct tw_err *err);

/*
 * The cluster's key fingerprint (hex SHA-256 of the server key): when the store has none,
 * record fingerprint; when it has another, TW_ECONFLICT "the store belongs to a cluster with
 * another server key". TW_OK when they match or it was recorded.
 */
int tw_store_key_check(struct tw_store *s, const char *fingerprint, struct tw_err *err);

/*
 * Ids of the tasks whose last_modified is >= since (unix seconds), ascending, for the
 * periodic safety re-read (INT64_MIN: every task). *ids is the caller's (tw_free()).
 */
int tw_store_tasks_changed(struct tw_store *s, int64_t since, int64_t **ids, size_t *n,
                           struct tw_err *err);

/*
 * A listener for task changes made by any node (PostgreSQL's LISTEN/NOTIFY), on a connection
 * of its own. The SQLite driver has none (one node: every change is its own): TW_EINVAL
 * "not supported by the sqlite store" and *out NULL.
 * *out is owned by the caller (tw_store_watch_close). The functions below are the
 * PostgreSQL driver's (store_pg_watch.c): a watch only exists there.
 */
struct tw_store_watch;
int tw_store_watch_open(struct tw_store *s, struct tw_store_watch **out, struct tw_err *err);
/* The socket to wait on for reading; -1 while disconnected. */
int tw_store_watch_fd(const struct tw_store_watch *w);
/*
 * Read what arrived: append changed task ids to *ids and *n (the caller's, tw_free()). TW_ESTORE
 * when the connection is lost (then call tw_store_watch_reconnect, and re-read everything:
 * notifications sent meanwhile are lost).
 */
int tw_store_watch_drain(struct tw_store_watch *w, int64_t **ids, size_t *n, struct tw_err *err);
/* Connect again and LISTEN; the socket changes (tw_store_watch_fd). TW_ESTORE while down. */
int tw_store_watch_reconnect(struct tw_store_watch *w, struct tw_err *err);
void tw_store_watch_close(struct tw_store_watch *w);

/*
 * Group several store calls into one transaction, e.g. a bulk insert or a recovery pass:
 * tw_store_begin, calls, then tw_store_commit (or tw_store_rollback). Calls nest: each store
 * call inside runs in a savepoint, so a call that fails undoes only itself and the caller
 * decides whether to commit the rest. Not for holding open across event-loop turns.
 */
int tw_store_begin(struct tw_store *s, struct tw_err *err);
/*
 * The same for a run of reads that should see one snapshot (an API GET): SQLite takes its
 * locks once, and shared only (BEGIN DEFERRED), so it neither waits on nor blocks a writer.
 * A write inside may fail busy instead of waiting; ends with tw_store_commit/rollback.
 */
int tw_store_begin_read(struct tw_store *s, struct tw_err *err);
int tw_store_commit(struct tw_store *s, struct tw_err *err);
void tw_store_rollback(struct tw_store *s);

#endif
