/*
 * Every SQL statement the store runs, in one place, so that "bound, never formatted" can be
 * checked by reading one file. The fixed statements are prepared once at open (store_sqlite.c)
 * into an array indexed by enum tw_stmt. The only text built at run time is the placeholder
 * list "?7,?8,..." of an IN (...) filter, made from a count and never from values.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

#include "core/mem.h"

/* Column order read by read_task() in store_tasks.c: keep both in step. */
#define TASK_COLS                                                                      \
    "id, chain, description, state, last_run_date, last_modified, created_date, "      \
    "trigger_json, target_json, debug, version, result, once_at, repeat, anchor_day, " \
    "action, export_index, campaign_id, segment_id, result_path, result_size, "        \
    "result_sha256, result_time, result_expired, result_ino, export_format, compression, since"

#define LOG_COLS "id, time, msg, has_counts, total, errors, skips, success"
#define SEG_COLS "id, chain, name, segment_json, created, last_modified"

const char *const tw_store_sql[TW_STMT_COUNT] = {
    [TW_STMT_BEGIN] = "BEGIN IMMEDIATE",
    [TW_STMT_BEGIN_READ] = "BEGIN DEFERRED",
    [TW_STMT_COMMIT] = "COMMIT",
    [TW_STMT_ROLLBACK] = "ROLLBACK",
    [TW_STMT_SAVEPOINT] = "SAVEPOINT tw_op",
    [TW_STMT_RELEASE] = "RELEASE tw_op",
    [TW_STMT_ROLLBACK_TO] = "ROLLBACK TO tw_op",
    [TW_STMT_PING] = "SELECT 1",
    [TW_STMT_USER_VERSION] = "PRAGMA user_version",

    [TW_STMT_TASK_INSERT] =
        "INSERT INTO tasks (chain, description, state, last_run_date, last_modified, "
        "created_date, trigger_json, target_json, debug, version, result, once_at, repeat, "
        "anchor_day, action, export_index, campaign_id, segment_id, result_path, result_size, "
        "result_sha256, result_time, result_expired, export_format, compression, since) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
        "?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)",
    [TW_STMT_TASK_GET] = "SELECT " TASK_COLS " FROM tasks WHERE id = ?1",
    [TW_STMT_TASK_PROBE] = "SELECT version, state FROM tasks WHERE id = ?1",
    [TW_STMT_TASK_UPDATE] =
        "UPDATE tasks SET description = ?3, trigger_json = ?4, target_json = ?5, debug = ?6, "
        "state = ?7, once_at = ?8, repeat = ?9, anchor_day = ?10, action = ?11, "
        "export_index = ?12, campaign_id = ?13, segment_id = ?14, last_modified = ?15, "
        "export_format = ?16, compression = ?17, since = ?18, version = version + 1 "
        "WHERE id = ?1 AND version = ?2 AND state <> 1",
    [TW_STMT_TASK_DELETE] = "DELETE FROM tasks WHERE id = ?1",
    [TW_STMT_TASK_TOUCH] =
        "UPDATE tasks SET version = version + 1, last_modified = ?2 WHERE id = ?1",
    [TW_STMT_TASK_SCAN] =
        "SELECT id, chain, state, once_at, version, repeat FROM tasks WHERE id > ?1 "
        "ORDER BY id LIMIT ?2",
    [TW_STMT_TASK_COUNT_STATE] = "SELECT state, count(*) FROM tasks GROUP BY state",

    [TW_STMT_LOG_INSERT] =
        "INSERT INTO task_logs (task_id, time, msg, kind, has_counts, total, errors, skips, "
        "success) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [TW_STMT_LOG_LIST] = "SELECT " LOG_COLS " FROM task_logs WHERE task_id = ?1 ORDER BY id DESC "
                         "LIMIT ?2 OFFSET ?3",
    [TW_STMT_LOG_PROGRESS_UPDATE] =
        "UPDATE task_logs SET time = ?2, total = ?3, errors = ?4, skips = ?5, success = ?6 "
        "WHERE task_id = ?1 AND kind = 1",
    [TW_STMT_LOG_PROGRESS_DELETE] = "DELETE FROM task_logs WHERE task_id = ?1 AND kind = 1",
    [TW_STMT_RUN_START] = "UPDATE tasks SET state = 1, last_run_date = ?2, last_modified = ?2, "
                          "version = version + 1 WHERE id = ?1",
    /* NULL result keeps the previous result; 0 next_once_at / NULL trigger keep them too. */
    [TW_STMT_RUN_FINISH] =
        "UPDATE tasks SET state = ?2, last_modified = ?3, version = version + 1, "
        "result = coalesce(?4, result), "
        "result_path = CASE WHEN ?4 IS NULL THEN result_path ELSE ?5 END, "
        "result_size = CASE WHEN ?4 IS NULL THEN result_size ELSE ?6 END, "
        "result_sha256 = CASE WHEN ?4 IS NULL THEN result_sha256 ELSE ?7 END, "
        "result_time = CASE WHEN ?4 IS NULL THEN result_time ELSE ?3 END, "
        "result_expired = CASE WHEN ?4 IS NULL THEN result_expired ELSE 0 END, "
        "once_at = CASE WHEN ?8 = 0 THEN once_at ELSE ?8 END, "
        "trigger_json = coalesce(?9, trigger_json), "
        "result_ino = CASE WHEN ?4 IS NULL THEN result_ino ELSE ?10 END, "
        "lease_until = 0 "
        "WHERE id = ?1",
    [TW_STMT_RESULT_EXPIRE] = "UPDATE tasks SET result_expired = 1 WHERE id = ?1",
    /* store_claim.c: the conditional claim, leases and rescue (schema step 7) */
    [TW_STMT_RUN_CLAIM] = "UPDATE tasks SET state = 1, last_run_date = ?2, last_modified = ?2, "
                          "version = version + 1, run_node = ?3, lease_until = ?4, "
                          "attempt = attempt + 1 "
                          "WHERE id = ?1 AND state <> 1 AND (?5 = 0 OR (once_at = ?5 "
                          "AND (state = 0 OR repeat <> ''))) "
                          "RETURNING attempt",
    [TW_STMT_RUN_ATTEMPT] = "SELECT attempt, state FROM tasks WHERE id = ?1",
    [TW_STMT_CHAIN_RUNNING] = "SELECT count(*) FROM tasks WHERE chain = ?1 AND state = 1",
    [TW_STMT_RUN_RENEW] = "UPDATE tasks SET lease_until = ?2 WHERE run_node = ?1 AND state = 1 "
                          "AND id IN (SELECT value FROM json_each(?3)) RETURNING id",
    [TW_STMT_RUNS_STALE] = "SELECT id, chain, attempt, coalesce(run_node, '') FROM tasks "
                           "WHERE state = 1 AND lease_until > 0 AND lease_until < ?1 "
                           "ORDER BY lease_until LIMIT ?2",
    [TW_STMT_RUN_RESCUE] = "UPDATE tasks SET state = 0, last_modified = ?3, version = version + 1, "
                           "lease_until = 0 WHERE id = ?1 AND state = 1 AND attempt = ?2 "
                           "AND lease_until > 0 AND lease_until < ?4",

    [TW_STMT_IDEM_INSERT] =
        "INSERT INTO idempotency (caller, idem_key, body_sha256, task_id, created) "
        "VALUES (?1, ?2, ?3, ?4, ?5)",
    [TW_STMT_IDEM_PRUNE] = "DELETE FROM idempotency WHERE created < ?1",
    [TW_STMT_IDEM_GET] = "SELECT task_id, body_sha256 FROM idempotency "
                         "WHERE caller = ?1 AND idem_key = ?2 AND created >= ?3",

    [TW_STMT_TOKEN_INSERT] =
        "INSERT INTO tokens (id, description, level, secret_mac, created, revoked) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    /* OR IGNORE: "--chain 5 --chain 5" is the same grant, not an error */
    [TW_STMT_TOKEN_CHAIN_INSERT] =
        "INSERT OR IGNORE INTO token_chains (token_id, chain) VALUES (?1, ?2)",
    [TW_STMT_TOKEN_GET] =
        "SELECT id, description, level, secret_mac, created, revoked FROM tokens WHERE id = ?1",
    [TW_STMT_TOKEN_CHAINS] = "SELECT chain FROM token_chains WHERE token_id = ?1 ORDER BY chain",
    [TW_STMT_TOKEN_IDS] = "SELECT id FROM tokens ORDER BY created, id",
    [TW_STMT_TOKEN_REVOKE] = "UPDATE tokens SET revoked = 1 WHERE id = ?1",

    [TW_STMT_USER_UPSERT] =
        "INSERT INTO users (name, pw_hash) VALUES (?1, ?2) "
        "ON CONFLICT (name) DO UPDATE SET pw_hash = excluded.pw_hash RETURNING id",
    [TW_STMT_USER_CHAINS_CLEAR] = "DELETE FROM user_chains WHERE user_id = ?1",
    /* the last level given for a chain wins */
    [TW_STMT_USER_CHAIN_INSERT] =
        "INSERT INTO user_chains (user_id, chain, level) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (user_id, chain) DO UPDATE SET level = excluded.level",
    [TW_STMT_USER_GET] = "SELECT id, name, pw_hash FROM users WHERE id = ?1",
    [TW_STMT_USER_GET_BY_NAME] = "SELECT id, name, pw_hash FROM users WHERE name = ?1",
    [TW_STMT_USER_CHAINS] =
        "SELECT chain, level FROM user_chains WHERE user_id = ?1 ORDER BY chain",
    [TW_STMT_SESSION_INSERT] =
        "INSERT INTO sessions (user_id, key_mac, expires) VALUES (?1, ?2, ?3)",
    [TW_STMT_SESSION_CHECK] =
        "SELECT 1 FROM sessions WHERE user_id = ?1 AND key_mac = ?2 AND expires > ?3",
    [TW_STMT_SESSION_PRUNE] = "DELETE FROM sessions WHERE user_id = ?1 AND expires <= ?2",

    [TW_STMT_SEG_INSERT] =
        "INSERT INTO segments (chain, name, segment_json, created, last_modified) "
        "VALUES (?1, ?2, ?3, ?4, ?5)",
    [TW_STMT_SEG_GET] = "SELECT " SEG_COLS " FROM segments WHERE id = ?1",
    [TW_STMT_SEG_UPDATE] =
        "UPDATE segments SET name = ?2, segment_json = ?3, last_modified = ?4 WHERE id = ?1",
    [TW_STMT_SEG_USERS] = "SELECT id FROM tasks WHERE segment_id = ?1 ORDER BY id",
    [TW_STMT_SEG_DELETE] = "DELETE FROM segments WHERE id = ?1",

    /* the current (unexpired) result file of each task */
    [TW_STMT_RESULT_BYTES] = "SELECT count(*), coalesce(sum(result_size), 0) FROM tasks "
                             "WHERE result_path IS NOT NULL AND result_expired = 0",

    /* one row, rewritten by the health check to prove that a commit reaches the disk */
    [TW_STMT_HEALTH_PROBE] = "INSERT INTO store_health (id, at) VALUES (1, ?1) "
                             "ON CONFLICT (id) DO UPDATE SET at = excluded.at",
    /* a running task is skipped: its worker may be renaming a new result over the path */
    [TW_STMT_RESULTS_EXPIRING] =
        "SELECT id, result_path, result_size FROM tasks WHERE result_path IS NOT NULL "
        "AND result_expired = 0 AND result_time < ?1 AND state <> 1 ORDER BY result_time "
        "LIMIT ?2",
    /*
     * Keep the newest ?2 entries of task ?1 and, older than those, the run-end entries
     * (kind 2) of its newest ?3 + 1 runs; the in-place progress entry (kind 1) is never
     * trimmed. Both bounds are row ids found through the (task_id, id) index.
     */
    [TW_STMT_LOG_TRIM] =
        "DELETE FROM task_logs WHERE task_id = ?1 AND kind <> 1 "
        "AND id <= (SELECT id FROM task_logs WHERE task_id = ?1 ORDER BY id DESC "
        "LIMIT 1 OFFSET ?2) "
        "AND NOT (kind = 2 AND id >= coalesce((SELECT id FROM task_logs WHERE task_id = ?1 "
        "AND kind = 2 ORDER BY id DESC LIMIT 1 OFFSET ?3), 0))",
    [TW_STMT_TASK_COUNT_CHAIN] = "SELECT count(*) FROM tasks WHERE chain = ?1",
    [TW_STMT_SESSION_DELETE_USER] = "DELETE FROM sessions WHERE user_id = ?1",
    /* user_chains and sessions follow by ON DELETE CASCADE */
    [TW_STMT_USER_DELETE] = "DELETE FROM users WHERE id = ?1",
    /* webhooks: a task's target, the chain's secrets, the outbox and its attempts */
    [TW_STMT_HOOK_UPSERT] =
        "INSERT INTO task_webhooks (task_id, url, events) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (task_id) DO UPDATE SET url = excluded.url, events = excluded.events",
    [TW_STMT_HOOK_DELETE] = "DELETE FROM task_webhooks WHERE task_id = ?1",
    [TW_STMT_HOOK_GET] = "SELECT url, events FROM task_webhooks WHERE task_id = ?1",
    [TW_STMT_HOOK_SECRET_EXPIRE] =
        "UPDATE webhook_secrets SET expires = ?2 WHERE chain = ?1 AND (expires = 0 OR "
        "expires > ?2)",
    [TW_STMT_HOOK_SECRET_INSERT] =
        "INSERT INTO webhook_secrets (chain, secret, created, expires) VALUES (?1, ?2, ?3, 0)",
    [TW_STMT_HOOK_SECRETS] =
        "SELECT secret FROM webhook_secrets WHERE chain = ?1 AND (expires = 0 OR expires > ?2) "
        "ORDER BY id DESC",
    [TW_STMT_OUTBOX_INSERT] =
        "INSERT INTO webhook_outbox (uuid, task_id, chain, event, url, body, attempts, next_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)",
    [TW_STMT_OUTBOX_DUE] = "SELECT id, uuid, task_id, chain, event, url, body, attempts, next_at "
                           "FROM webhook_outbox WHERE next_at <= ?1 ORDER BY next_at, id LIMIT ?2",
    [TW_STMT_OUTBOX_NEXT] = "SELECT min(next_at) FROM webhook_outbox",
    [TW_STMT_OUTBOX_RESCHEDULE] =
        "UPDATE webhook_outbox SET attempts = attempts + 1, next_at = ?2 WHERE id = ?1",
    [TW_STMT_OUTBOX_LEASE] = "UPDATE webhook_outbox SET next_at = ?2 WHERE id = ?1",
    [TW_STMT_OUTBOX_CLOSE] = "DELETE FROM webhook_outbox WHERE id = ?1",
    [TW_STMT_ATTEMPT_INSERT] =
        "INSERT INTO webhook_attempts (task_id, uuid, event, attempt, time, status, error, "
        "duration_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [TW_STMT_ATTEMPT_LIST] =
        "SELECT uuid, event, attempt, time, status, error, duration_ms FROM webhook_attempts "
        "WHERE task_id = ?1 ORDER BY id DESC LIMIT ?2",
};

/*
 * The text around the IN list of each tw_in_stmt; ?1..?6 are the fixed filters, the list
 * starts at ?7. A statement that uses fewer fixed filters may still have them bound: SQLite
 * accepts any index up to the largest one in the text.
 */
static const struct {
    const char *head;
    const char *tail;
} in_sql[TW_IN_COUNT] = {
    [TW_IN_TASK_LIST] = { "SELECT " TASK_COLS " FROM tasks WHERE chain IN (",
                          ") AND (?1 < 0 OR state = ?1) AND (?2 IS NULL OR action = ?2) "
                          "AND (?3 IS NULL OR export_index = ?3) AND (?4 IS NULL OR campaign_id = ?4) "
                          "ORDER BY id DESC LIMIT ?5 OFFSET ?6" },
    /* the same filter as TW_IN_TASK_LIST, so X-Total-Count agrees with the pages */
    [TW_IN_TASK_COUNT] = { "SELECT count(*) FROM tasks WHERE chain IN (",
                           ") AND (?1 < 0 OR state = ?1) AND (?2 IS NULL OR action = ?2) "
                           "AND (?3 IS NULL OR export_index = ?3) AND (?4 IS NULL OR campaign_id = ?4)" },
    [TW_IN_SEG_LIST] = { "SELECT " SEG_COLS " FROM segments WHERE chain IN (",
                         ") ORDER BY id DESC" },
};

static size_t bucket_of(size_t n)
{
    size_t b = 0;

    while (((size_t)1 << b) < n)
        b++;
    return b;
}

int tw_store_in_stmt(struct tw_store *s, enum tw_in_stmt kind, size_t n, sqlite3_stmt **out,
                     size_t *slots, struct tw_err *err)
{
    size_t b, count, len, i, pos;
    char *sql = NULL;
    int rc, ret;

    *out = NULL;
    if (n < 1 || n > TW_IN_MAX)
        return tw_err_set(err, TW_EINVAL, "store: %zu chains in one query (1 to %d allowed)", n,
                          TW_IN_MAX);
    b = bucket_of(n);
    count = (size_t)1 << b;
    *slots = count;
    if (s->in_stmts[kind][b] != NULL) {
        *out = s->in_stmts[kind][b];
        return TW_OK;
    }
    /* "?NNNNN," is at most 7 bytes per placeholder */
    len = strlen(in_sql[kind].head) + strlen(in_sql[kind].tail) + count * 8 + 1;
    sql = tw_malloc(len);
    if (sql == NULL)
        return tw_err_set(err, TW_ENOMEM, "store: out of memory building a query");
    pos = (size_t)snprintf(sql, len, "%s", in_sql[kind].head);
    for (i = 0; i < count; i++)
        pos += (size_t)snprintf(sql + pos, len - pos, "%s?%zu", i ? "," : "",
                                i + TW_IN_FIRST_PARAM);
    snprintf(sql + pos, len - pos, "%s", in_sql[kind].tail);
    /* PERSISTENT: these live as long as the store, like the fixed statements */
    rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->in_stmts[kind][b], NULL);
    if (rc != SQLITE_OK) {
        ret = tw_store_fail(s, rc, "prepare list query", err);
        s->in_stmts[kind][b] = NULL;
        goto out;
    }
    *out = s->in_stmts[kind][b];
    ret = TW_OK;
out:
    tw_free(sql);
    return ret;
}

int tw_store_bind_in(sqlite3_stmt *q, const int64_t *values, size_t n, size_t slots)
{
    size_t i;
    int rc;

    for (i = 0; i < slots; i++) {
        /* repeating the last value fills the bucket without changing what IN matches */
        rc = sqlite3_bind_int64(q, (int)(i + TW_IN_FIRST_PARAM), values[i < n ? i : n - 1]);
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}
