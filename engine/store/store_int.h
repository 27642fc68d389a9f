/*
 * Internals shared by the SQLite store files (store_sqlite.c, store_sql.c, store_schema.c,
 * store_tasks.c, store_runs.c, store_auth.c, store_segments.c). Nothing outside engine/store/
 * includes this header (unit tests of the store may), so sqlite3.h stays inside the store.
 *
 * Two decisions a reader must know:
 * - Every fixed statement is prepared once, at open, into s->stmts[] (indexed by enum
 *   tw_stmt, SQL in store_sql.c). Statements with a variable IN (...) list are prepared once per
 *   size bucket (1, 2, 4, ... placeholders) into s->in_stmts[][], the unused tail of a bucket
 *   bound to a repeat of the last value, so a few statements serve any number of chains.
 * - Every operation that writes more than one row runs between tw_store_op_begin and
 *   tw_store_op_end. The outermost level is BEGIN IMMEDIATE/COMMIT; inner levels (an operation
 *   inside tw_store_begin/tw_store_commit, used for bulk work) are SAVEPOINTs, so a failing
 *   operation undoes only itself.
 */
#ifndef TW_STORE_STORE_INT_H
#define TW_STORE_STORE_INT_H

#include <stdbool.h>

#include <sqlite3.h>

#include "store/store_sqlite_names.h" /* before store.h: see store_driver.h */

#include "store/store.h"
#include "store/store_driver.h"

/* When adding a statement, also add its SQL to tw_store_sql[] in store_sql.c. */
enum tw_stmt {
    TW_STMT_BEGIN,
    TW_STMT_BEGIN_READ,
    TW_STMT_COMMIT,
    TW_STMT_ROLLBACK,
    TW_STMT_SAVEPOINT,
    TW_STMT_RELEASE,
    TW_STMT_ROLLBACK_TO,
    TW_STMT_PING,
    TW_STMT_USER_VERSION,
    /* tasks */
    TW_STMT_TASK_INSERT,
    TW_STMT_TASK_GET,
    TW_STMT_TASK_PROBE,
    TW_STMT_TASK_UPDATE,
    TW_STMT_TASK_DELETE,
    TW_STMT_TASK_TOUCH,
    TW_STMT_TASK_SCAN,
    TW_STMT_TASK_COUNT_STATE,
    /* logs and runs */
    TW_STMT_LOG_INSERT,
    TW_STMT_LOG_LIST,
    TW_STMT_LOG_PROGRESS_UPDATE,
    TW_STMT_LOG_PROGRESS_DELETE,
    TW_STMT_RUN_START,
    TW_STMT_RUN_FINISH,
    TW_STMT_RESULT_EXPIRE,
    TW_STMT_RUN_CLAIM,
    TW_STMT_RUN_ATTEMPT,
    TW_STMT_CHAIN_RUNNING,
    TW_STMT_RUN_RENEW,
    TW_STMT_RUNS_STALE,
    TW_STMT_RUN_RESCUE,
    /* idempotency */
    TW_STMT_IDEM_INSERT,
    TW_STMT_IDEM_PRUNE,
    TW_STMT_IDEM_GET,
    /* tokens */
    TW_STMT_TOKEN_INSERT,
    TW_STMT_TOKEN_CHAIN_INSERT,
    TW_STMT_TOKEN_GET,
    TW_STMT_TOKEN_CHAINS,
    TW_STMT_TOKEN_IDS,
    TW_STMT_TOKEN_REVOKE,
    /* users and sessions */
    TW_STMT_USER_UPSERT,
    TW_STMT_USER_CHAINS_CLEAR,
    TW_STMT_USER_CHAIN_INSERT,
    TW_STMT_USER_GET,
    TW_STMT_USER_GET_BY_NAME,
    TW_STMT_USER_CHAINS,
    TW_STMT_SESSION_INSERT,
    TW_STMT_SESSION_CHECK,
    TW_STMT_SESSION_PRUNE,
    /* segments */
    TW_STMT_SEG_INSERT,
    TW_STMT_SEG_GET,
    TW_STMT_SEG_UPDATE,
    TW_STMT_SEG_USERS,
    TW_STMT_SEG_DELETE,
    /* metrics (store_metrics.c) */
    TW_STMT_RESULT_BYTES,
    /* upkeep (store_upkeep.c) and user management (store_auth.c) */
    TW_STMT_HEALTH_PROBE,
    TW_STMT_RESULTS_EXPIRING,
    TW_STMT_LOG_TRIM,
    TW_STMT_TASK_COUNT_CHAIN,
    TW_STMT_SESSION_DELETE_USER,
    TW_STMT_USER_DELETE,
    /* webhooks (store_webhooks.c) */
    TW_STMT_HOOK_UPSERT,
    TW_STMT_HOOK_DELETE,
    TW_STMT_HOOK_GET,
    TW_STMT_HOOK_SECRET_EXPIRE,
    TW_STMT_HOOK_SECRET_INSERT,
    TW_STMT_HOOK_SECRETS,
    TW_STMT_OUTBOX_INSERT,
    TW_STMT_OUTBOX_DUE,
    TW_STMT_OUTBOX_NEXT,
    TW_STMT_OUTBOX_RESCHEDULE,
    TW_STMT_OUTBOX_LEASE,
    TW_STMT_OUTBOX_CLOSE,
    TW_STMT_ATTEMPT_INSERT,
    TW_STMT_ATTEMPT_LIST,
    TW_STMT_COUNT
};

/* Statements whose WHERE holds "chain IN (...)"; see tw_store_in_stmt. */
enum tw_in_stmt { TW_IN_TASK_LIST, TW_IN_TASK_COUNT, TW_IN_SEG_LIST, TW_IN_COUNT };

#define TW_IN_BUCKETS 15 /* buckets of 1, 2, 4, ... 16384 placeholders */
#define TW_IN_MAX (1 << (TW_IN_BUCKETS - 1))
#define TW_IN_FIRST_PARAM 7 /* the IN list binds ?7, ?8, ...; ?1..?6 are the fixed filters */

/* Kinds of task_logs rows (column "kind"). */
enum tw_log_kind {
    TW_LOG_PLAIN = 0,    /* a state change or a note */
    TW_LOG_PROGRESS = 1, /* the single in-place "progress" entry of a running task */
    TW_LOG_RUN_END = 2,  /* the entry that ends a run: "success" or the error sentence */
};

struct tw_store {
    struct tw_store_head head;                          /* first: the driver (store.c) */
    sqlite3 *db;                                        /* the one connection */
    sqlite3_stmt *stmts[TW_STMT_COUNT];                 /* fixed statements, prepared at open */
    sqlite3_stmt *in_stmts[TW_IN_COUNT][TW_IN_BUCKETS]; /* IN-list statements, lazily */
    int tx_depth;    /* 0: autocommit; 1: BEGIN; >1: savepoints */
    bool tx_aborted; /* SQLite rolled the whole tx back itself */
    /* store_upkeep.c: the file's identity, health and limits */
    char *path;        /* the database file; owned */
    uint64_t dev, ino; /* identity of path at open */
    bool gone;         /* path removed or replaced: refuse writes */
    bool write_failed; /* the latest write failed (disk, I/O) */
    char why[512];     /* reason for gone / write_failed */
    uint64_t probe_ms; /* when the health probe last wrote */
    int probe_ret;     /* and what it returned */
    struct tw_store_limits limits;
    struct tw_store_upkeep_stats upkeep;
    /*
     * store_upkeep.c: tasks per chain as last counted for the quota, so creating tasks does not
     * count a chain's whole index each time. Kept up to date by task insert; all dropped on a
     * task delete, any rollback, or a commit by another connection (PRAGMA data_version).
     */
    struct tw_store_quota_seen {
        int64_t chain; /* 0: empty slot */
        int64_t n;
    } quota_seen[16];
    sqlite3_stmt *quota_dv; /* PRAGMA data_version, prepared on first use; owned */
    int64_t quota_dv_value; /* its answer when quota_seen was last valid */
    /* store_wal.c: checkpoints chosen by the caller (tw_store_wal_defer) */
    uint32_t wal_hard;  /* 0: SQLite's automatic checkpoint; else the commits' own limit */
    uint32_t wal_pages; /* pages in the WAL not yet checkpointed, by the WAL hook */
};

/* One migration step: a SQL script run in one transaction, then user_version = its index+1. */
struct tw_store_migration {
    const char *what; /* a few words for messages and the schema notes */
    const char *sql;  /* the script; constant text, never built from data */
};

extern const struct tw_store_migration tw_store_migrations[];
extern const int tw_store_migration_count;
extern const char *const tw_store_sql[TW_STMT_COUNT];

/*
 * Bring db (borrowed, an open connection) to schema version target (1..count), one step per
 * transaction. Refuses a database newer than the code. Exposed for the upgrade test, which
 * builds a version-1 database with it.
 */
int tw_store_migrate(sqlite3 *db, int target, struct tw_err *err);

/*
 * store_claim.c: TW_OK when attempt is 0 or the task is INPROGRESS at that attempt, else
 * TW_ECONFLICT with field "attempt" (the run was fenced); TW_ENOTFOUND if the task is gone.
 */
int tw_store_run_fence(struct tw_store *s, int64_t id, int64_t attempt, struct tw_err *err);

/* The cached statement id (never NULL after a successful open). */
sqlite3_stmt *tw_store_stmt(struct tw_store *s, enum tw_stmt id);

/*
 * The cached IN-list statement for n values (1 <= n <= TW_IN_MAX), prepared on first use.
 * *slots gets the number of placeholders; the caller binds values to ?7.. and repeats the last
 * one into the remaining slots (tw_store_bind_in does both).
 */
int tw_store_in_stmt(struct tw_store *s, enum tw_in_stmt kind, size_t n, sqlite3_stmt **out,
                     size_t *slots, struct tw_err *err);
int tw_store_bind_in(sqlite3_stmt *q, const int64_t *values, size_t n, size_t slots);

/* Reset and unbind a cached statement so it holds no locks and no borrowed pointers. */
void tw_store_done(sqlite3_stmt *q);

/*
 * Step q: 1 for a row, 0 when done, else a TW_E* code with err set to
 * "store: <what>: <sqlite3_errmsg>" (UNIQUE -> TW_ECONFLICT, FOREIGN KEY -> TW_ENOTFOUND,
 * NOMEM -> TW_ENOMEM, anything else TW_ESTORE).
 */
int tw_store_step(struct tw_store *s, sqlite3_stmt *q, const char *what, struct tw_err *err);

/* Map the connection's last error (rc) to a code and message as tw_store_step does. */
int tw_store_fail(struct tw_store *s, int rc, const char *what, struct tw_err *err);

/* Bind helpers: NULL text binds SQL NULL. The text is borrowed until tw_store_done. */
int tw_store_bind_text(sqlite3_stmt *q, int i, const char *v);

/* Copy text column i into *out (NULL for SQL NULL). TW_ENOMEM when out of memory. */
int tw_store_col_str(sqlite3_stmt *q, int i, char **out);

/*
 * Make room for one more element in *arr (n used, *cap allocated, elem bytes each), doubling.
 * The new element is zeroed. TW_ENOMEM leaves *arr as it was.
 */
int tw_store_grow(void **arr, size_t *cap, size_t n, size_t elem);

/* Run counts carried by a log entry. */
struct tw_store_counts {
    int64_t total;   /* records read */
    int64_t errors;  /* records that could not be written */
    int64_t skips;   /* records filtered out or declined */
    int64_t success; /* records written */
};

/* Append a log row of kind to task_id; c NULL: no counts. Does not touch the task row. */
int tw_store_log_insert(struct tw_store *s, int64_t task_id, int64_t time, const char *msg,
                        enum tw_log_kind kind, const struct tw_store_counts *c, struct tw_err *err);

/* Read version and state of task id. TW_ENOTFOUND when there is none. */
int tw_store_task_probe(struct tw_store *s, int64_t id, int64_t *version, int *state,
                        struct tw_err *err);

/* Inside tw_store_run_finish: save o's watermark when it asks for one (store_since.c). */
struct tw_run_outcome;
int tw_store_since_save(struct tw_store *s, int64_t id, const struct tw_run_outcome *o,
                        struct tw_err *err);
/*
 * Trim task_id's log to s->limits (store_upkeep.c); called inside run_finish's transaction.
 * Records what went in s->upkeep.
 */
int tw_store_log_trim(struct tw_store *s, int64_t task_id, struct tw_err *err);

/* TW_ELIMIT when chain already has limits.max_tasks_per_chain tasks (store_upkeep.c). */
int tw_store_chain_quota(struct tw_store *s, int64_t chain, struct tw_err *err);
/* A task of chain was inserted (uncommitted; a rollback drops what this notes). */
void tw_store_quota_inserted(struct tw_store *s, int64_t chain);
/* Forget every counted chain (a task deleted, a rollback). */
void tw_store_quota_forget(struct tw_store *s);

/* Note a failed or successful write for the health check (store_upkeep.c). */
void tw_store_note_write(struct tw_store *s, int rc);

/* Transactions for one operation; see the top of this file. */
int tw_store_op_begin(struct tw_store *s, struct tw_err *err);
/* Commit when ret == TW_OK, else roll back; returns ret, or the commit's failure. */
int tw_store_op_end(struct tw_store *s, int ret, struct tw_err *err);

#endif /* TW_STORE_STORE_INT_H */
