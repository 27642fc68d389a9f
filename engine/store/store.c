/*
 * The public store functions (store.h): each calls the operation of the driver that opened
 * the store (store_driver.h). Opening picks the driver from the configuration.
 */
#include "store/store.h"

#include <string.h>

#include "store/store_driver.h"

#define DRV(s) (((const struct tw_store_head *)(const void *)(s))->drv)

int tw_store_open(const char *path, struct tw_store **out, struct tw_err *err)
{
    return tw_store_open_sqlite(path, out, err);
}

int tw_store_open_conf(const struct tw_store_conf *c, struct tw_store **out, struct tw_err *err)
{
    *out = NULL;
    if (c->driver == NULL || strcmp(c->driver, "sqlite") == 0)
        return tw_store_open_sqlite(c->path, out, err);
    if (strcmp(c->driver, "postgresql") == 0) {
        if (c->dsn == NULL || c->dsn[0] == '\0')
            return tw_err_set(err, TW_EINVAL, "store.dsn: required with store.driver postgresql");
        return tw_store_open_pg(c->dsn, out, err);
    }
    return tw_err_set(err, TW_EINVAL, "store.driver: unknown driver \"%s\"", c->driver);
}

int tw_store_probe_conf(const struct tw_store_conf *c, struct tw_err *err)
{
    if (c->driver != NULL && strcmp(c->driver, "postgresql") == 0)
        return tw_store_probe_pg(c->dsn != NULL ? c->dsn : "", err);
    return TW_OK;
}

const char *tw_store_driver_name(const struct tw_store *s)
{
    return DRV(s)->name;
}

void tw_store_close(struct tw_store *s)
{
    if (s != NULL)
        DRV(s)->close(s);
}

int tw_store_ping(struct tw_store *s, struct tw_err *err)
{
    return DRV(s)->ping(s, err);
}

int tw_store_schema_version(struct tw_store *s)
{
    return DRV(s)->schema_version(s);
}

int tw_store_task_insert(struct tw_store *s, struct tw_task *t, const struct tw_idem *idem,
                         struct tw_err *err)
{
    return DRV(s)->task_insert(s, t, idem, err);
}

int tw_store_task_get(struct tw_store *s, int64_t id, struct tw_task *out, struct tw_err *err)
{
    return DRV(s)->task_get(s, id, out, err);
}

int tw_store_task_list(struct tw_store *s, const struct tw_task_filter *f, struct tw_task **out,
                       size_t *n, int64_t *total, struct tw_err *err)
{
    return DRV(s)->task_list(s, f, out, n, total, err);
}

int tw_store_task_update(struct tw_store *s, struct tw_task *t, int64_t expected_version,
                         const char *log_msg, struct tw_err *err)
{
    return DRV(s)->task_update(s, t, expected_version, log_msg, err);
}

int tw_store_task_delete(struct tw_store *s, int64_t id, struct tw_err *err)
{
    return DRV(s)->task_delete(s, id, err);
}

int tw_store_log_list(struct tw_store *s, int64_t task_id, uint32_t limit, uint32_t offset,
                      struct tw_task_log **out, size_t *n, struct tw_err *err)
{
    return DRV(s)->log_list(s, task_id, limit, offset, out, n, err);
}

int tw_store_log_add(struct tw_store *s, int64_t task_id, int64_t time, const char *msg,
                     struct tw_err *err)
{
    return DRV(s)->log_add(s, task_id, time, msg, err);
}

int tw_store_run_start(struct tw_store *s, int64_t id, int64_t now, struct tw_err *err)
{
    return DRV(s)->run_start(s, id, now, err);
}

int tw_store_run_claim(struct tw_store *s, int64_t id, const struct tw_run_claim *c,
                       int64_t *attempt, struct tw_err *err)
{
    return DRV(s)->run_claim(s, id, c, attempt, err);
}

int tw_store_run_renew(struct tw_store *s, const char *node, const int64_t *ids, size_t n,
                       int64_t lease_until, bool *renewed, struct tw_err *err)
{
    return DRV(s)->run_renew(s, node, ids, n, lease_until, renewed, err);
}

int tw_store_runs_stale(struct tw_store *s, int64_t now_ms, uint32_t limit,
                        struct tw_stale_run **out, size_t *n, struct tw_err *err)
{
    return DRV(s)->runs_stale(s, now_ms, limit, out, n, err);
}

int tw_store_run_rescue(struct tw_store *s, int64_t id, int64_t attempt, int64_t now_ms,
                        const char *msg, struct tw_err *err)
{
    return DRV(s)->run_rescue(s, id, attempt, now_ms, msg, err);
}

int tw_store_run_progress(struct tw_store *s, int64_t id, int64_t now, int64_t total,
                          int64_t errors, int64_t skips, int64_t success, int64_t attempt,
                          struct tw_err *err)
{
    return DRV(s)->run_progress(s, id, now, total, errors, skips, success, attempt, err);
}

int tw_store_run_finish(struct tw_store *s, int64_t id, const struct tw_run_outcome *o,
                        struct tw_err *err)
{
    return DRV(s)->run_finish(s, id, o, err);
}

int tw_store_since_get(struct tw_store *s, int64_t id, int64_t *at, char **key, struct tw_err *err)
{
    return DRV(s)->since_get(s, id, at, key, err);
}

int tw_store_result_expire(struct tw_store *s, int64_t id, struct tw_err *err)
{
    return DRV(s)->result_expire(s, id, err);
}

int tw_store_task_scan(struct tw_store *s, tw_store_scan_fn *fn, void *ctx, struct tw_err *err)
{
    return DRV(s)->task_scan(s, fn, ctx, err);
}

int tw_store_task_count_by_state(struct tw_store *s, int64_t counts[4], struct tw_err *err)
{
    return DRV(s)->task_count_by_state(s, counts, err);
}

int tw_store_result_usage(struct tw_store *s, int64_t *files, int64_t *bytes, struct tw_err *err)
{
    return DRV(s)->result_usage(s, files, bytes, err);
}

int tw_store_idem_get(struct tw_store *s, const char *caller, const char *key, int64_t not_before,
                      int64_t *task_id, char body_sha256[65], struct tw_err *err)
{
    return DRV(s)->idem_get(s, caller, key, not_before, task_id, body_sha256, err);
}

int tw_store_token_insert(struct tw_store *s, const struct tw_token *t, struct tw_err *err)
{
    return DRV(s)->token_insert(s, t, err);
}

int tw_store_token_get(struct tw_store *s, const char *id, struct tw_token *out, struct tw_err *err)
{
    return DRV(s)->token_get(s, id, out, err);
}

int tw_store_token_list(struct tw_store *s, struct tw_token **out, size_t *n, struct tw_err *err)
{
    return DRV(s)->token_list(s, out, n, err);
}

int tw_store_token_revoke(struct tw_store *s, const char *id, struct tw_err *err)
{
    return DRV(s)->token_revoke(s, id, err);
}

int tw_store_user_put(struct tw_store *s, struct tw_user *u, struct tw_err *err)
{
    return DRV(s)->user_put(s, u, err);
}

int tw_store_user_get_by_name(struct tw_store *s, const char *name, struct tw_user *out,
                              struct tw_err *err)
{
    return DRV(s)->user_get_by_name(s, name, out, err);
}

int tw_store_user_get(struct tw_store *s, int64_t id, struct tw_user *out, struct tw_err *err)
{
    return DRV(s)->user_get(s, id, out, err);
}

int tw_store_session_insert(struct tw_store *s, int64_t user_id, const unsigned char key_mac[32],
                            int64_t expires, struct tw_err *err)
{
    return DRV(s)->session_insert(s, user_id, key_mac, expires, err);
}

int tw_store_session_check(struct tw_store *s, int64_t user_id, const unsigned char key_mac[32],
                           int64_t now, struct tw_err *err)
{
    return DRV(s)->session_check(s, user_id, key_mac, now, err);
}

int tw_store_segment_insert(struct tw_store *s, struct tw_segment *g, struct tw_err *err)
{
    return DRV(s)->segment_insert(s, g, err);
}

int tw_store_segment_get(struct tw_store *s, int64_t id, struct tw_segment *out, struct tw_err *err)
{
    return DRV(s)->segment_get(s, id, out, err);
}

int tw_store_segment_list(struct tw_store *s, const int64_t *chains, size_t n_chains,
                          struct tw_segment **out, size_t *n, struct tw_err *err)
{
    return DRV(s)->segment_list(s, chains, n_chains, out, n, err);
}

int tw_store_segment_update(struct tw_store *s, const struct tw_segment *g, struct tw_err *err)
{
    return DRV(s)->segment_update(s, g, err);
}

int tw_store_segment_users(struct tw_store *s, int64_t id, int64_t **users, size_t *n_users,
                           struct tw_err *err)
{
    return DRV(s)->segment_users(s, id, users, n_users, err);
}

int tw_store_segment_delete(struct tw_store *s, int64_t id, int64_t **users, size_t *n_users,
                            struct tw_err *err)
{
    return DRV(s)->segment_delete(s, id, users, n_users, err);
}

int tw_store_user_remove(struct tw_store *s, const char *name, struct tw_err *err)
{
    return DRV(s)->user_remove(s, name, err);
}

int tw_store_sessions_revoke(struct tw_store *s, const char *name, int64_t *n, struct tw_err *err)
{
    return DRV(s)->sessions_revoke(s, name, n, err);
}

void tw_store_set_limits(struct tw_store *s, const struct tw_store_limits *l)
{
    DRV(s)->set_limits(s, l);
}

void tw_store_get_upkeep_stats(const struct tw_store *s, struct tw_store_upkeep_stats *out)
{
    DRV(s)->get_upkeep_stats(s, out);
}

void tw_store_wal_defer(struct tw_store *s, uint32_t hard_pages)
{
    if (DRV(s)->wal_defer != NULL)
        DRV(s)->wal_defer(s, hard_pages);
}

uint32_t tw_store_wal_pages(const struct tw_store *s)
{
    return DRV(s)->wal_pages != NULL ? DRV(s)->wal_pages(s) : 0;
}

int tw_store_wal_checkpoint(struct tw_store *s, struct tw_err *err)
{
    return DRV(s)->wal_checkpoint != NULL ? DRV(s)->wal_checkpoint(s, err) : TW_OK;
}

int tw_store_results_expiring(struct tw_store *s, int64_t before, uint32_t limit,
                              struct tw_store_expiring **out, size_t *n, struct tw_err *err)
{
    return DRV(s)->results_expiring(s, before, limit, out, n, err);
}

void tw_store_note_pruned(struct tw_store *s, int64_t bytes)
{
    DRV(s)->note_pruned(s, bytes);
}

int tw_store_check_file(struct tw_store *s, struct tw_err *err)
{
    return DRV(s)->check_file(s, err);
}

int tw_store_health(struct tw_store *s, struct tw_err *err)
{
    return DRV(s)->health(s, err);
}

int tw_store_webhook_set(struct tw_store *s, int64_t task_id, const char *url, unsigned events,
                         struct tw_err *err)
{
    return DRV(s)->webhook_set(s, task_id, url, events, err);
}

int tw_store_webhook_get(struct tw_store *s, int64_t task_id, char **url, unsigned *events,
                         struct tw_err *err)
{
    return DRV(s)->webhook_get(s, task_id, url, events, err);
}

int tw_store_webhook_secret_add(struct tw_store *s, int64_t chain, const char *secret, int64_t now,
                                int64_t overlap_s, struct tw_err *err)
{
    return DRV(s)->webhook_secret_add(s, chain, secret, now, overlap_s, err);
}

int tw_store_webhook_secrets(struct tw_store *s, int64_t chain, int64_t now, char ***out, size_t *n,
                             struct tw_err *err)
{
    return DRV(s)->webhook_secrets(s, chain, now, out, n, err);
}

int tw_store_outbox_add(struct tw_store *s, struct tw_delivery *d, struct tw_err *err)
{
    return DRV(s)->outbox_add(s, d, err);
}

int tw_store_outbox_due(struct tw_store *s, int64_t now, size_t limit, struct tw_delivery **out,
                        size_t *n, struct tw_err *err)
{
    return DRV(s)->outbox_due(s, now, limit, out, n, err);
}

int tw_store_outbox_next(struct tw_store *s, int64_t *next_at, struct tw_err *err)
{
    return DRV(s)->outbox_next(s, next_at, err);
}

int tw_store_outbox_lease(struct tw_store *s, int64_t id, int64_t until_ms, struct tw_err *err)
{
    return DRV(s)->outbox_lease(s, id, until_ms, err);
}

int tw_store_outbox_record(struct tw_store *s, int64_t id, int64_t task_id,
                           const struct tw_delivery_attempt *a, int64_t next_at, struct tw_err *err)
{
    return DRV(s)->outbox_record(s, id, task_id, a, next_at, err);
}

int tw_store_delivery_list(struct tw_store *s, int64_t task_id, size_t limit,
                           struct tw_delivery_attempt **out, size_t *n, struct tw_err *err)
{
    return DRV(s)->delivery_list(s, task_id, limit, out, n, err);
}

int tw_store_begin(struct tw_store *s, struct tw_err *err)
{
    return DRV(s)->begin(s, err);
}

int tw_store_begin_read(struct tw_store *s, struct tw_err *err)
{
    if (DRV(s)->begin_read == NULL)
        return DRV(s)->begin(s, err);
    return DRV(s)->begin_read(s, err);
}

int tw_store_commit(struct tw_store *s, struct tw_err *err)
{
    return DRV(s)->commit(s, err);
}

void tw_store_rollback(struct tw_store *s)
{
    DRV(s)->rollback(s);
}

int tw_store_node_beat(struct tw_store *s, const struct tw_node *n, struct tw_err *err)
{
    return DRV(s)->node_beat(s, n, err);
}

int tw_store_node_remove(struct tw_store *s, const char *id, struct tw_err *err)
{
    return DRV(s)->node_remove(s, id, err);
}

int tw_store_node_list(struct tw_store *s, int64_t before, struct tw_node **out, size_t *n,
                       struct tw_err *err)
{
    return DRV(s)->node_list(s, before, out, n, err);
}

int tw_store_key_check(struct tw_store *s, const char *fingerprint, struct tw_err *err)
{
    return DRV(s)->key_check(s, fingerprint, err);
}

int tw_store_tasks_changed(struct tw_store *s, int64_t since, int64_t **ids, size_t *n,
                           struct tw_err *err)
{
    return DRV(s)->tasks_changed(s, since, ids, n, err);
}

int tw_store_watch_open(struct tw_store *s, struct tw_store_watch **out, struct tw_err *err)
{
    *out = NULL;
    return DRV(s)->watch(s, out, err);
}
