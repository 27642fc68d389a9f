/*
 * The store's drivers (SQLite, PostgreSQL) behind store.h. store.h is the one interface; each
 * public function there is defined once, in store.c, as a call through the driver table of
 * the store it is given. A driver is a const struct tw_store_driver naming its implementation
 * of every operation; the concrete store struct of each driver starts with a struct
 * tw_store_head, so store.c finds the table without knowing the driver.
 *
 * The SQLite driver's files keep their historic names (tw_store_task_insert, ...): its private
 * header store_int.h maps them to tw_sqlite_* (store_sqlite_names.h) before it includes
 * store.h, so those files define the SQLite operations and store.c the public ones.
 * When adding an operation to store.h: a member here, a line in store.c, in
 * store_sqlite_names.h and in both tables (store_sqlite_driver.c, store_pg.c).
 */
#ifndef TW_STORE_STORE_DRIVER_H
#define TW_STORE_STORE_DRIVER_H

#include "store/store.h"

struct tw_store_driver;

/* The first member of every driver's struct tw_store. */
struct tw_store_head {
    const struct tw_store_driver *drv;
};

struct tw_store_driver {
    const char *name; /* "sqlite", "postgresql" */
    void (*close)(struct tw_store *s);
    int (*ping)(struct tw_store *s, struct tw_err *err);
    int (*schema_version)(struct tw_store *s);
    int (*task_insert)(struct tw_store *s, struct tw_task *t, const struct tw_idem *idem,
                       struct tw_err *err);
    int (*task_get)(struct tw_store *s, int64_t id, struct tw_task *out, struct tw_err *err);
    int (*task_list)(struct tw_store *s, const struct tw_task_filter *f, struct tw_task **out,
                     size_t *n, int64_t *total, struct tw_err *err);
    int (*task_update)(struct tw_store *s, struct tw_task *t, int64_t expected_version,
                       const char *log_msg, struct tw_err *err);
    int (*task_delete)(struct tw_store *s, int64_t id, struct tw_err *err);
    int (*log_list)(struct tw_store *s, int64_t task_id, uint32_t limit, uint32_t offset,
                    struct tw_task_log **out, size_t *n, struct tw_err *err);
    int (*log_add)(struct tw_store *s, int64_t task_id, int64_t time, const char *msg,
                   struct tw_err *err);
    int (*run_start)(struct tw_store *s, int64_t id, int64_t now, struct tw_err *err);
    int (*run_claim)(struct tw_store *s, int64_t id, const struct tw_run_claim *c, int64_t *attempt,
                     struct tw_err *err);
    int (*run_renew)(struct tw_store *s, const char *node, const int64_t *ids, size_t n,
                     int64_t lease_until, bool *renewed, struct tw_err *err);
    int (*runs_stale)(struct tw_store *s, int64_t now_ms, uint32_t limit, struct tw_stale_run **out,
                      size_t *n, struct tw_err *err);
    int (*run_rescue)(struct tw_store *s, int64_t id, int64_t attempt, int64_t now_ms,
                      const char *msg, struct tw_err *err);
    int (*run_progress)(struct tw_store *s, int64_t id, int64_t now, int64_t total, int64_t errors,
                        int64_t skips, int64_t success, int64_t attempt, struct tw_err *err);
    int (*run_finish)(struct tw_store *s, int64_t id, const struct tw_run_outcome *o,
                      struct tw_err *err);
    int (*since_get)(struct tw_store *s, int64_t id, int64_t *at, char **key, struct tw_err *err);
    int (*result_expire)(struct tw_store *s, int64_t id, struct tw_err *err);
    int (*task_scan)(struct tw_store *s, tw_store_scan_fn *fn, void *ctx, struct tw_err *err);
    int (*task_count_by_state)(struct tw_store *s, int64_t counts[4], struct tw_err *err);
    int (*result_usage)(struct tw_store *s, int64_t *files, int64_t *bytes, struct tw_err *err);
    int (*idem_get)(struct tw_store *s, const char *caller, const char *key, int64_t not_before,
                    int64_t *task_id, char body_sha256[65], struct tw_err *err);
    int (*token_insert)(struct tw_store *s, const struct tw_token *t, struct tw_err *err);
    int (*token_get)(struct tw_store *s, const char *id, struct tw_token *out, struct tw_err *err);
    int (*token_list)(struct tw_store *s, struct tw_token **out, size_t *n, struct tw_err *err);
    int (*token_revoke)(struct tw_store *s, const char *id, struct tw_err *err);
    int (*user_put)(struct tw_store *s, struct tw_user *u, struct tw_err *err);
    int (*user_get_by_name)(struct tw_store *s, const char *name, struct tw_user *out,
                            struct tw_err *err);
    int (*user_get)(struct tw_store *s, int64_t id, struct tw_user *out, struct tw_err *err);
    int (*session_insert)(struct tw_store *s, int64_t user_id, const unsigned char key_mac[32],
                          int64_t expires, struct tw_err *err);
    int (*session_check)(struct tw_store *s, int64_t user_id, const unsigned char key_mac[32],
                         int64_t now, struct tw_err *err);
    int (*segment_insert)(struct tw_store *s, struct tw_segment *g, struct tw_err *err);
    int (*segment_get)(struct tw_store *s, int64_t id, struct tw_segment *out, struct tw_err *err);
    int (*segment_list)(struct tw_store *s, const int64_t *chains, size_t n_chains,
                        struct tw_segment **out, size_t *n, struct tw_err *err);
    int (*segment_update)(struct tw_store *s, const struct tw_segment *g, struct tw_err *err);
    int (*segment_users)(struct tw_store *s, int64_t id, int64_t **users, size_t *n_users,
                         struct tw_err *err);
    int (*segment_delete)(struct tw_store *s, int64_t id, int64_t **users, size_t *n_users,
                          struct tw_err *err);
    int (*user_remove)(struct tw_store *s, const char *name, struct tw_err *err);
    int (*sessions_revoke)(struct tw_store *s, const char *name, int64_t *n, struct tw_err *err);
    void (*set_limits)(struct tw_store *s, const struct tw_store_limits *l);
    void (*get_upkeep_stats)(const struct tw_store *s, struct tw_store_upkeep_stats *out);
    /* NULL (PostgreSQL): no WAL of ours; defer and checkpoint are no-ops, wal_pages is 0 */
    void (*wal_defer)(struct tw_store *s, uint32_t hard_pages);
    uint32_t (*wal_pages)(const struct tw_store *s);
    int (*wal_checkpoint)(struct tw_store *s, struct tw_err *err);
    int (*results_expiring)(struct tw_store *s, int64_t before, uint32_t limit,
                            struct tw_store_expiring **out, size_t *n, struct tw_err *err);
    void (*note_pruned)(struct tw_store *s, int64_t bytes);
    int (*check_file)(struct tw_store *s, struct tw_err *err);
    int (*health)(struct tw_store *s, struct tw_err *err);
    int (*webhook_set)(struct tw_store *s, int64_t task_id, const char *url, unsigned events,
                       struct tw_err *err);
    int (*webhook_get)(struct tw_store *s, int64_t task_id, char **url, unsigned *events,
                       struct tw_err *err);
    int (*webhook_secret_add)(struct tw_store *s, int64_t chain, const char *secret, int64_t now,
                              int64_t overlap_s, struct tw_err *err);
    int (*webhook_secrets)(struct tw_store *s, int64_t chain, int64_t now, char ***out, size_t *n,
                           struct tw_err *err);
    int (*outbox_add)(struct tw_store *s, struct tw_delivery *d, struct tw_err *err);
    int (*outbox_due)(struct tw_store *s, int64_t now, size_t limit, struct tw_delivery **out,
                      size_t *n, struct tw_err *err);
    int (*outbox_next)(struct tw_store *s, int64_t *next_at, struct tw_err *err);
    int (*outbox_lease)(struct tw_store *s, int64_t id, int64_t until_ms, struct tw_err *err);
    int (*outbox_record)(struct tw_store *s, int64_t id, int64_t task_id,
                         const struct tw_delivery_attempt *a, int64_t next_at, struct tw_err *err);
    int (*delivery_list)(struct tw_store *s, int64_t task_id, size_t limit,
                         struct tw_delivery_attempt **out, size_t *n, struct tw_err *err);
    int (*node_beat)(struct tw_store *s, const struct tw_node *n, struct tw_err *err);
    int (*node_remove)(struct tw_store *s, const char *id, struct tw_err *err);
    int (*node_list)(struct tw_store *s, int64_t before, struct tw_node **out, size_t *n,
                     struct tw_err *err);
    int (*key_check)(struct tw_store *s, const char *fingerprint, struct tw_err *err);
    int (*tasks_changed)(struct tw_store *s, int64_t since, int64_t **ids, size_t *n,
                         struct tw_err *err);
    int (*watch)(struct tw_store *s, struct tw_store_watch **out, struct tw_err *err);
    /* NULL: tw_store_begin_read falls back to begin */
    int (*begin_read)(struct tw_store *s, struct tw_err *err);
    int (*begin)(struct tw_store *s, struct tw_err *err);
    int (*commit)(struct tw_store *s, struct tw_err *err);
    void (*rollback)(struct tw_store *s);
};

extern const struct tw_store_driver tw_sqlite_driver;
extern const struct tw_store_driver tw_pg_driver;

/* Open the SQLite store at path (store_sqlite.c) or the PostgreSQL store at dsn (store_pg.c). */
int tw_store_open_sqlite(const char *path, struct tw_store **out, struct tw_err *err);
int tw_store_open_pg(const char *dsn, struct tw_store **out, struct tw_err *err);
/* Connect to dsn once and hang up (store_pg.c). */
int tw_store_probe_pg(const char *dsn, struct tw_err *err);

#endif
