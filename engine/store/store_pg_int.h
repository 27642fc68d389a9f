/*
 * Internals of the PostgreSQL store (store_pg*.c); nothing outside engine/store/ includes this
 * header (the store's unit tests may). libpq-fe.h stays inside the store.
 *
 * Decisions a reader must know:
 * - One connection per store, opened from store.dsn. When PostgreSQL goes away (restart,
 *   failover), the operation that notices fails with TW_ESTORE (the API answers 503
 *   `unavailable`), and the next operation outside a transaction reconnects (PQreset), so a
 *   node survives a database restart without restarting itself.
 * - Every fixed statement has its SQL in tw_pg_sql[] (store_pg_sql.c) and is prepared on the
 *   connection the first time it runs (PQprepare, named "twN"); a reconnect forgets them.
 *   Parameters are always bound, as text, never formatted into SQL. A chain list is one
 *   bigint[] parameter (chain = ANY($n)), so no statement depends on the list's length.
 * - Multi-statement operations run between tw_pg_op_begin and tw_pg_op_end, exactly like the
 *   SQLite store: BEGIN/COMMIT outermost, SAVEPOINTs inside tw_store_begin/commit (in
 *   PostgreSQL a failed statement spoils the whole transaction, so the savepoint is what lets
 *   a failed call inside tw_store_begin undo only itself). BEGIN, SAVEPOINT and RELEASE are
 *   queued and sent in one pipeline with the next statement (libpq pipeline mode).
 * - The schema is a list of numbered steps mirroring the SQLite migrations (store_pg_schema.c),
 *   applied at open under an advisory lock; tw_schema holds the number of steps applied.
 */
#ifndef TW_STORE_STORE_PG_INT_H
#define TW_STORE_STORE_PG_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "store/store.h"
#include "store/store_driver.h"

/* When adding a statement, also add its SQL to tw_pg_sql[] in store_pg_sql.c. */
enum tw_pg_stmt {
    TW_PG_PING,
    TW_PG_TASK_INSERT,
    TW_PG_TASK_GET,
    TW_PG_TASK_PROBE,
    TW_PG_TASK_UPDATE,
    TW_PG_TASK_DELETE,
    TW_PG_TASK_TOUCH,
    TW_PG_TASK_SCAN,
    TW_PG_TASK_COUNT_STATE,
    TW_PG_TASK_LIST,
    TW_PG_TASK_COUNT,
    TW_PG_TASK_COUNT_CHAIN,
    TW_PG_LOG_INSERT,
    TW_PG_LOG_LIST,
    TW_PG_LOG_PROGRESS_UPDATE,
    TW_PG_LOG_PROGRESS_DELETE,
    TW_PG_LOG_TRIM,
    TW_PG_RUN_START,
    TW_PG_RUN_FINISH,
    TW_PG_RESULT_EXPIRE,
    TW_PG_RUN_CLAIM,
    TW_PG_RUN_ATTEMPT,
    TW_PG_CHAIN_LOCK,
    TW_PG_CHAIN_RUNNING,
    TW_PG_RUN_RENEW,
    TW_PG_RUNS_STALE,
    TW_PG_RUN_RESCUE,
    TW_PG_RESULT_BYTES,
    TW_PG_RESULTS_EXPIRING,
    TW_PG_SINCE_SAVE,
    TW_PG_SINCE_GET,
    TW_PG_IDEM_INSERT,
    TW_PG_IDEM_PRUNE,
    TW_PG_IDEM_GET,
    TW_PG_TOKEN_INSERT,
    TW_PG_TOKEN_CHAIN_INSERT,
    TW_PG_TOKEN_GET,
    TW_PG_TOKEN_CHAINS,
    TW_PG_TOKEN_IDS,
    TW_PG_TOKEN_REVOKE,
    TW_PG_USER_UPSERT,
    TW_PG_USER_CHAINS_CLEAR,
    TW_PG_USER_CHAIN_INSERT,
    TW_PG_USER_GET,
    TW_PG_USER_GET_BY_NAME,
    TW_PG_USER_CHAINS,
    TW_PG_USER_DELETE,
    TW_PG_SESSION_INSERT,
    TW_PG_SESSION_CHECK,
    TW_PG_SESSION_PRUNE,
    TW_PG_SESSION_DELETE_USER,
    TW_PG_SEG_INSERT,
    TW_PG_SEG_GET,
    TW_PG_SEG_LIST,
    TW_PG_SEG_UPDATE,
    TW_PG_SEG_USERS,
    TW_PG_SEG_DELETE,
    TW_PG_HEALTH_PROBE,
    TW_PG_HOOK_UPSERT,
    TW_PG_HOOK_DELETE,
    TW_PG_HOOK_GET,
    TW_PG_HOOK_SECRET_EXPIRE,
    TW_PG_HOOK_SECRET_INSERT,
    TW_PG_HOOK_SECRETS,
    TW_PG_OUTBOX_INSERT,
    TW_PG_OUTBOX_DUE,
    TW_PG_OUTBOX_NEXT,
    TW_PG_OUTBOX_RESCHEDULE,
    TW_PG_OUTBOX_LEASE,
    TW_PG_OUTBOX_CLOSE,
    TW_PG_ATTEMPT_INSERT,
    TW_PG_ATTEMPT_LIST,
    TW_PG_NODE_BEAT,
    TW_PG_NODE_REMOVE,
    TW_PG_NODE_LIST,
    TW_PG_META_GET,
    TW_PG_META_PUT,
    TW_PG_TASKS_CHANGED,
    TW_PG_COUNT
};

extern const char *const tw_pg_sql[TW_PG_COUNT];

/* One schema step: SQL run in one transaction, after which tw_schema.version = index + 1. */
struct tw_pg_migration {
    const char *what;
    const char *sql;
};
extern const struct tw_pg_migration tw_pg_migrations[];
extern const int tw_pg_migration_count;

struct tw_pg_store {
    struct tw_store_head head; /* first: the driver table (store.c) */
    PGconn *conn;
    char *dsn; /* owned; holds the password if the operator put one there: never log it */
    bool prepared[TW_PG_COUNT];
    int tx_depth; /* 0: autocommit; 1: BEGIN; >1: savepoints */
    /*
     * Transaction control (BEGIN, SAVEPOINT, RELEASE) waits here and goes to the server in one
     * pipeline with the next statement, so an operation of one statement inside a
     * transaction is still one round trip.
     */
    const char *queued[8];
    int n_queued;
    bool tx_aborted; /* the connection was lost inside a transaction */
    int schema_version;
    uint64_t reset_ms; /* when a reconnect last failed (0: never): retried once a second */
    char lost[400];    /* and libpq's reason */
    uint64_t probe_ms; /* the health probe: when it last ran and what it returned */
    int probe_ret;
    char why[512];
    struct tw_store_limits limits;
    struct tw_store_upkeep_stats upkeep;
};

#define TW_PG(s) ((struct tw_pg_store *)(void *)(s))

/* Parameters of one statement, as text (libpq's text format). */
#define TW_PG_MAX_ARGS 32
struct tw_pg_args {
    int n;
    const char *v[TW_PG_MAX_ARGS];
    char num[TW_PG_MAX_ARGS][24];
    char *owned[4]; /* heap text (a bytea's hex, a chain array); freed by tw_pg_args_fini */
    int n_owned;
};

void tw_pg_i64(struct tw_pg_args *a, int64_t v);
void tw_pg_text(struct tw_pg_args *a, const char *v); /* NULL: SQL NULL; borrowed */
/* A 32-byte mac as bytea; an int64 list as bigint[]. TW_ENOMEM on allocation failure. */
int tw_pg_mac(struct tw_pg_args *a, const unsigned char mac[32]);
int tw_pg_i64s(struct tw_pg_args *a, const int64_t *v, size_t n);
void tw_pg_args_fini(struct tw_pg_args *a);

/*
 * Run statement id with a. TW_OK with *res (caller PQclear()s; res may be NULL when the rows
 * are not wanted) or a TW_E* code with err "store: <what>: <reason>": unique violation ->
 * TW_ECONFLICT, foreign key -> TW_ENOTFOUND, lost connection or anything else -> TW_ESTORE.
 * *changed (may be NULL) gets the number of rows the statement touched.
 */
int tw_pg_run(struct tw_pg_store *p, enum tw_pg_stmt id, const struct tw_pg_args *a, PGresult **res,
              int64_t *changed, const char *what, struct tw_err *err);

int64_t tw_pg_col_i64(const PGresult *r, int row, int col);
/* Copy text column col into *out (NULL for SQL NULL). TW_ENOMEM when out of memory. */
int tw_pg_col_str(const PGresult *r, int row, int col, char **out);

int tw_pg_op_begin(struct tw_pg_store *p, struct tw_err *err);
int tw_pg_op_end(struct tw_pg_store *p, int ret, struct tw_err *err);

/* Bring the connection's schema up to date under the advisory lock (store_pg_schema.c). */
int tw_pg_migrate(struct tw_pg_store *p, struct tw_err *err);

/* Reconnect if the connection was lost; TW_ESTORE when PostgreSQL is still unreachable. */
int tw_pg_ensure(struct tw_pg_store *p, const char *what, struct tw_err *err);

/* Operations, one file per area (store_pg_tasks.c, store_pg_auth.c, store_pg_hooks.c). */
int tw_pg_task_probe(struct tw_pg_store *p, int64_t id, int64_t *version, int *state,
                     struct tw_err *err);
int tw_pg_log_insert(struct tw_pg_store *p, int64_t task_id, int64_t time, const char *msg,
                     int kind, const int64_t counts[4], struct tw_err *err);
int tw_pg_log_trim(struct tw_pg_store *p, int64_t task_id, struct tw_err *err);

/* The driver's operations (store_driver.h), in store_pg*.c. */
void tw_pg_close(struct tw_store *s);
int tw_pg_ping(struct tw_store *s, struct tw_err *err);
int tw_pg_schema_version(struct tw_store *s);
int tw_pg_task_insert(struct tw_store *s, struct tw_task *t, const struct tw_idem *idem,
                      struct tw_err *err);
int tw_pg_task_get(struct tw_store *s, int64_t id, struct tw_task *out, struct tw_err *err);
int tw_pg_task_list(struct tw_store *s, const struct tw_task_filter *f, struct tw_task **out,
                    size_t *n, int64_t *total, struct tw_err *err);
int tw_pg_task_update(struct tw_store *s, struct tw_task *t, int64_t expected_version,
                      const char *log_msg, struct tw_err *err);
int tw_pg_task_delete(struct tw_store *s, int64_t id, struct tw_err *err);
int tw_pg_log_list(struct tw_store *s, int64_t task_id, uint32_t limit, uint32_t offset,
                   struct tw_task_log **out, size_t *n, struct tw_err *err);
int tw_pg_log_add(struct tw_store *s, int64_t task_id, int64_t time, const char *msg,
                  struct tw_err *err);
int tw_pg_run_start(struct tw_store *s, int64_t id, int64_t now, struct tw_err *err);
/* store_pg_claim.c: as tw_store_run_fence (store_int.h) for the PostgreSQL store. */
int tw_pg_run_fence(struct tw_pg_store *p, int64_t id, int64_t attempt, struct tw_err *err);
int tw_pg_run_claim(struct tw_store *s, int64_t id, const struct tw_run_claim *c, int64_t *attempt,
                    struct tw_err *err);
int tw_pg_run_renew(struct tw_store *s, const char *node, const int64_t *ids, size_t n,
                    int64_t lease_until, bool *renewed, struct tw_err *err);
int tw_pg_runs_stale(struct tw_store *s, int64_t now_ms, uint32_t limit, struct tw_stale_run **out,
                     size_t *n, struct tw_err *err);
int tw_pg_run_rescue(struct tw_store *s, int64_t id, int64_t attempt, int64_t now_ms,
                     const char *msg, struct tw_err *err);
int tw_pg_run_progress(struct tw_store *s, int64_t id, int64_t now, int64_t total, int64_t errors,
                       int64_t skips, int64_t success, int64_t attempt, struct tw_err *err);
int tw_pg_run_finish(struct tw_store *s, int64_t id, const struct tw_run_outcome *o,
                     struct tw_err *err);
int tw_pg_since_get(struct tw_store *s, int64_t id, int64_t *at, char **key, struct tw_err *err);
int tw_pg_result_expire(struct tw_store *s, int64_t id, struct tw_err *err);
int tw_pg_task_scan(struct tw_store *s, tw_store_scan_fn *fn, void *ctx, struct tw_err *err);
int tw_pg_task_count_by_state(struct tw_store *s, int64_t counts[4], struct tw_err *err);
int tw_pg_result_usage(struct tw_store *s, int64_t *files, int64_t *bytes, struct tw_err *err);
int tw_pg_idem_get(struct tw_store *s, const char *caller, const char *key, int64_t not_before,
                   int64_t *task_id, char body_sha256[65], struct tw_err *err);
int tw_pg_token_insert(struct tw_store *s, const struct tw_token *t, struct tw_err *err);
int tw_pg_token_get(struct tw_store *s, const char *id, struct tw_token *out, struct tw_err *err);
int tw_pg_token_list(struct tw_store *s, struct tw_token **out, size_t *n, struct tw_err *err);
int tw_pg_token_revoke(struct tw_store *s, const char *id, struct tw_err *err);
int tw_pg_user_put(struct tw_store *s, struct tw_user *u, struct tw_err *err);
int tw_pg_user_get_by_name(struct tw_store *s, const char *name, struct tw_user *out,
                           struct tw_err *err);
int tw_pg_user_get(struct tw_store *s, int64_t id, struct tw_user *out, struct tw_err *err);
int tw_pg_session_insert(struct tw_store *s, int64_t user_id, const unsigned char key_mac[32],
                         int64_t expires, struct tw_err *err);
int tw_pg_session_check(struct tw_store *s, int64_t user_id, const unsigned char key_mac[32],
                        int64_t now, struct tw_err *err);
int tw_pg_segment_insert(struct tw_store *s, struct tw_segment *g, struct tw_err *err);
int tw_pg_segment_get(struct tw_store *s, int64_t id, struct tw_segment *out, struct tw_err *err);
int tw_pg_segment_list(struct tw_store *s, const int64_t *chains, size_t n_chains,
                       struct tw_segment **out, size_t *n, struct tw_err *err);
int tw_pg_segment_update(struct tw_store *s, const struct tw_segment *g, struct tw_err *err);
int tw_pg_segment_users(struct tw_store *s, int64_t id, int64_t **users, size_t *n_users,
                        struct tw_err *err);
int tw_pg_segment_delete(struct tw_store *s, int64_t id, int64_t **users, size_t *n_users,
                         struct tw_err *err);
int tw_pg_user_remove(struct tw_store *s, const char *name, struct tw_err *err);
int tw_pg_sessions_revoke(struct tw_store *s, const char *name, int64_t *n, struct tw_err *err);
void tw_pg_set_limits(struct tw_store *s, const struct tw_store_limits *l);
void tw_pg_get_upkeep_stats(const struct tw_store *s, struct tw_store_upkeep_stats *out);
int tw_pg_results_expiring(struct tw_store *s, int64_t before, uint32_t limit,
                           struct tw_store_expiring **out, size_t *n, struct tw_err *err);
void tw_pg_note_pruned(struct tw_store *s, int64_t bytes);
int tw_pg_check_file(struct tw_store *s, struct tw_err *err);
int tw_pg_health(struct tw_store *s, struct tw_err *err);
int tw_pg_webhook_set(struct tw_store *s, int64_t task_id, const char *url, unsigned events,
                      struct tw_err *err);
int tw_pg_webhook_get(struct tw_store *s, int64_t task_id, char **url, unsigned *events,
                      struct tw_err *err);
int tw_pg_webhook_secret_add(struct tw_store *s, int64_t chain, const char *secret, int64_t now,
                             int64_t overlap_s, struct tw_err *err);
int tw_pg_webhook_secrets(struct tw_store *s, int64_t chain, int64_t now, char ***out, size_t *n,
                          struct tw_err *err);
int tw_pg_outbox_add(struct tw_store *s, struct tw_delivery *d, struct tw_err *err);
int tw_pg_outbox_due(struct tw_store *s, int64_t now, size_t limit, struct tw_delivery **out,
                     size_t *n, struct tw_err *err);
int tw_pg_outbox_next(struct tw_store *s, int64_t *next_at, struct tw_err *err);
int tw_pg_outbox_lease(struct tw_store *s, int64_t id, int64_t until_ms, struct tw_err *err);
int tw_pg_outbox_record(struct tw_store *s, int64_t id, int64_t task_id,
                        const struct tw_delivery_attempt *a, int64_t next_at, struct tw_err *err);
int tw_pg_delivery_list(struct tw_store *s, int64_t task_id, size_t limit,
                        struct tw_delivery_attempt **out, size_t *n, struct tw_err *err);
int tw_pg_node_beat(struct tw_store *s, const struct tw_node *n, struct tw_err *err);
int tw_pg_node_remove(struct tw_store *s, const char *id, struct tw_err *err);
int tw_pg_node_list(struct tw_store *s, int64_t before, struct tw_node **out, size_t *n,
                    struct tw_err *err);
int tw_pg_key_check(struct tw_store *s, const char *fingerprint, struct tw_err *err);
int tw_pg_tasks_changed(struct tw_store *s, int64_t since, int64_t **ids, size_t *n,
                        struct tw_err *err);
int tw_pg_watch(struct tw_store *s, struct tw_store_watch **out, struct tw_err *err);
/* Connect to dsn as the store does (store_pg.c); err names store.dsn, never the password. */
int tw_pg_connect(const char *dsn, PGconn **out, struct tw_err *err);
int tw_pg_begin(struct tw_store *s, struct tw_err *err);
int tw_pg_commit(struct tw_store *s, struct tw_err *err);
void tw_pg_rollback(struct tw_store *s);

#endif
