/*
 * Every SQL statement of the PostgreSQL store, in one place (as store_sql.c is for SQLite), so
 * "bound, never formatted" can be checked by reading one file. Parameters are cast where the
 * type cannot be inferred, so a 64-bit time never meets an int4.
 */
#include "store/store_pg_int.h"

/* Column order read by read_task() in store_pg_tasks.c: keep both in step. */
#define TASK_COLS                                                                      \
    "id, chain, description, state, last_run_date, last_modified, created_date, "      \
    "trigger_json, target_json, debug, version, result, once_at, repeat, anchor_day, " \
    "action, export_index, campaign_id, segment_id, result_path, result_size, "        \
    "result_sha256, result_time, result_expired, result_ino, export_format, compression, since"

#define LOG_COLS "id, time, msg, has_counts, total, errors, skips, success"
#define SEG_COLS "id, chain, name, segment_json, created, last_modified"

/* the filters of GET /tasks; $5 is the chains the caller may read */
#define TASK_FILTER                                                                      \
    "chain = ANY($5::bigint[]) AND ($1::int < 0 OR state = $1::int) "                    \
    "AND ($2::text IS NULL OR action = $2) AND ($3::text IS NULL OR export_index = $3) " \
    "AND ($4::text IS NULL OR campaign_id = $4)"

const char *const tw_pg_sql[TW_PG_COUNT] = {
    [TW_PG_PING] = "SELECT 1",
    [TW_PG_TASK_INSERT] =
        "INSERT INTO tasks (chain, description, state, last_run_date, last_modified, "
        "created_date, trigger_json, target_json, debug, version, result, once_at, repeat, "
        "anchor_day, action, export_index, campaign_id, segment_id, result_path, result_size, "
        "result_sha256, result_time, result_expired, export_format, compression, since) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11, $12, $13, $14, $15, $16, $17, "
        "$18, $19, $20, $21, $22, $23, $24, $25) RETURNING id",
    [TW_PG_TASK_GET] = "SELECT " TASK_COLS " FROM tasks WHERE id = $1",
    [TW_PG_TASK_PROBE] = "SELECT version, state FROM tasks WHERE id = $1",
    [TW_PG_TASK_UPDATE] =
        "UPDATE tasks SET description = $3, trigger_json = $4, target_json = $5, debug = $6, "
        "state = $7, once_at = $8, repeat = $9, anchor_day = $10, action = $11, "
        "export_index = $12, campaign_id = $13, segment_id = $14, last_modified = $15, "
        "export_format = $16, compression = $17, since = $18, version = version + 1 "
        "WHERE id = $1 AND version = $2 AND state <> 1",
    [TW_PG_TASK_DELETE] = "DELETE FROM tasks WHERE id = $1",
    [TW_PG_TASK_TOUCH] = "UPDATE tasks SET version = version + 1, last_modified = $2 WHERE id = $1",
    [TW_PG_TASK_SCAN] =
        "SELECT id, chain, state, once_at, version, repeat FROM tasks WHERE id > $1 "
        "ORDER BY id LIMIT $2",
    [TW_PG_TASK_COUNT_STATE] = "SELECT state, count(*) FROM tasks GROUP BY state",
    [TW_PG_TASK_LIST] = "SELECT " TASK_COLS " FROM tasks WHERE " TASK_FILTER
                        " ORDER BY id DESC LIMIT $6 OFFSET $7",
    [TW_PG_TASK_COUNT] = "SELECT count(*) FROM tasks WHERE " TASK_FILTER,
    [TW_PG_TASK_COUNT_CHAIN] = "SELECT count(*) FROM tasks WHERE chain = $1",

    [TW_PG_LOG_INSERT] =
        "INSERT INTO task_logs (task_id, time, msg, kind, has_counts, total, errors, skips, "
        "success) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    [TW_PG_LOG_LIST] = "SELECT " LOG_COLS " FROM task_logs WHERE task_id = $1 ORDER BY id DESC "
                       "LIMIT $2 OFFSET $3",
    [TW_PG_LOG_PROGRESS_UPDATE] =
        "UPDATE task_logs SET time = $2, total = $3, errors = $4, skips = $5, success = $6 "
        "WHERE task_id = $1 AND kind = 1",
    [TW_PG_LOG_PROGRESS_DELETE] = "DELETE FROM task_logs WHERE task_id = $1 AND kind = 1",
    /* as TW_STMT_LOG_TRIM (store_sql.c) */
    [TW_PG_LOG_TRIM] =
        "DELETE FROM task_logs WHERE task_id = $1 AND kind <> 1 "
        "AND id <= (SELECT id FROM task_logs WHERE task_id = $1 ORDER BY id DESC "
        "LIMIT 1 OFFSET $2) "
        "AND NOT (kind = 2 AND id >= coalesce((SELECT id FROM task_logs WHERE task_id = $1 "
        "AND kind = 2 ORDER BY id DESC LIMIT 1 OFFSET $3), 0))",
    [TW_PG_RUN_START] = "UPDATE tasks SET state = 1, last_run_date = $2, last_modified = $2, "
                        "version = version + 1 WHERE id = $1",
    /* NULL result keeps the previous result; 0 next_once_at / NULL trigger keep them too */
    [TW_PG_RUN_FINISH] =
        "UPDATE tasks SET state = $2, last_modified = $3, version = version + 1, "
        "result = coalesce($4::text, result), "
        "result_path = CASE WHEN $4::text IS NULL THEN result_path ELSE $5 END, "
        "result_size = CASE WHEN $4::text IS NULL THEN result_size ELSE $6::bigint END, "
        "result_sha256 = CASE WHEN $4::text IS NULL THEN result_sha256 ELSE $7 END, "
        "result_time = CASE WHEN $4::text IS NULL THEN result_time ELSE $3::bigint END, "
        "result_expired = CASE WHEN $4::text IS NULL THEN result_expired ELSE 0 END, "
        "once_at = CASE WHEN $8::bigint = 0 THEN once_at ELSE $8::bigint END, "
        "trigger_json = coalesce($9::text, trigger_json), "
        "result_ino = CASE WHEN $4::text IS NULL THEN result_ino ELSE $10::bigint END, "
        "lease_until = 0 "
        "WHERE id = $1",
    [TW_PG_RESULT_EXPIRE] = "UPDATE tasks SET result_expired = 1 WHERE id = $1",
    /*
     * store_pg_claim.c. The claim is one statement: a second node's UPDATE of the same row
     * waits for the first, then re-checks state <> 1 on the new row and matches nothing.
     * o.state is the state before, for the "OLD -> INPROGRESS" log entry. "Still due for that
     * once": the trigger still says once, and the task is READY or repeats (a one-off task
     * that another node has just run is DONE with the same once).
     */
    [TW_PG_RUN_CLAIM] =
        "UPDATE tasks t SET state = 1, last_run_date = $2::bigint, last_modified = $2::bigint, "
        "version = t.version + 1, run_node = $3, lease_until = $4::bigint, "
        "attempt = t.attempt + 1 FROM (SELECT state FROM tasks WHERE id = $1) o "
        "WHERE t.id = $1 AND t.state <> 1 AND ($5::bigint = 0 OR (t.once_at = $5::bigint "
        "AND (t.state = 0 OR t.repeat <> ''))) "
        "RETURNING t.attempt, o.state",
    [TW_PG_RUN_ATTEMPT] = "SELECT attempt, state FROM tasks WHERE id = $1",
    /* serialises the claims of one chain cluster-wide while max_runs_per_chain is counted */
    [TW_PG_CHAIN_LOCK] = "SELECT pg_advisory_xact_lock(7407, hashint8($1::bigint))",
    [TW_PG_CHAIN_RUNNING] = "SELECT count(*) FROM tasks WHERE chain = $1 AND state = 1",
    [TW_PG_RUN_RENEW] = "UPDATE tasks SET lease_until = $2::bigint WHERE run_node = $1 "
                        "AND state = 1 AND id = ANY($3::bigint[]) RETURNING id",
    [TW_PG_RUNS_STALE] = "SELECT id, chain, attempt, coalesce(run_node, '') FROM tasks "
                         "WHERE state = 1 AND lease_until > 0 AND lease_until < $1::bigint "
                         "ORDER BY lease_until LIMIT $2",
    [TW_PG_RUN_RESCUE] =
        "UPDATE tasks SET state = 0, last_modified = $3::bigint, version = version + 1, "
        "lease_until = 0 WHERE id = $1 AND state = 1 AND attempt = $2::bigint "
        "AND lease_until > 0 AND lease_until < $4::bigint",
    [TW_PG_RESULT_BYTES] = "SELECT count(*), coalesce(sum(result_size), 0) FROM tasks "
                           "WHERE result_path IS NOT NULL AND result_expired = 0",
    [TW_PG_RESULTS_EXPIRING] =
        "SELECT id, result_path, result_size FROM tasks WHERE result_path IS NOT NULL "
        "AND result_expired = 0 AND result_time < $1 AND state <> 1 ORDER BY result_time "
        "LIMIT $2",
    [TW_PG_SINCE_SAVE] = "UPDATE tasks SET since_at = $2, since_key = $3 WHERE id = $1",
    [TW_PG_SINCE_GET] = "SELECT since_at, since_key FROM tasks WHERE id = $1",

    [TW_PG_IDEM_INSERT] = "INSERT INTO idempotency (caller, idem_key, body_sha256, task_id, "
                          "created) VALUES ($1, $2, $3, $4, $5)",
    [TW_PG_IDEM_PRUNE] = "DELETE FROM idempotency WHERE created < $1",
    [TW_PG_IDEM_GET] = "SELECT task_id, body_sha256 FROM idempotency "
                       "WHERE caller = $1 AND idem_key = $2 AND created >= $3",

    [TW_PG_TOKEN_INSERT] = "INSERT INTO tokens (id, description, level, secret_mac, created, "
                           "revoked) VALUES ($1, $2, $3, $4, $5, $6)",
    [TW_PG_TOKEN_CHAIN_INSERT] = "INSERT INTO token_chains (token_id, chain) VALUES ($1, $2) "
                                 "ON CONFLICT DO NOTHING",
    [TW_PG_TOKEN_GET] =
        "SELECT id, description, level, secret_mac, created, revoked FROM tokens WHERE id = $1",
    [TW_PG_TOKEN_CHAINS] = "SELECT chain FROM token_chains WHERE token_id = $1 ORDER BY chain",
    [TW_PG_TOKEN_IDS] = "SELECT id FROM tokens ORDER BY created, id",
    [TW_PG_TOKEN_REVOKE] = "UPDATE tokens SET revoked = 1 WHERE id = $1",

    [TW_PG_USER_UPSERT] =
        "INSERT INTO users (name, pw_hash) VALUES ($1, $2) "
        "ON CONFLICT (name) DO UPDATE SET pw_hash = excluded.pw_hash RETURNING id",
    [TW_PG_USER_CHAINS_CLEAR] = "DELETE FROM user_chains WHERE user_id = $1",
    [TW_PG_USER_CHAIN_INSERT] =
        "INSERT INTO user_chains (user_id, chain, level) VALUES ($1, $2, $3) "
        "ON CONFLICT (user_id, chain) DO UPDATE SET level = excluded.level",
    [TW_PG_USER_GET] = "SELECT id, name, pw_hash FROM users WHERE id = $1",
    [TW_PG_USER_GET_BY_NAME] = "SELECT id, name, pw_hash FROM users WHERE name = $1",
    [TW_PG_USER_CHAINS] = "SELECT chain, level FROM user_chains WHERE user_id = $1 ORDER BY chain",
    [TW_PG_USER_DELETE] = "DELETE FROM users WHERE name = $1",
    [TW_PG_SESSION_INSERT] = "INSERT INTO sessions (user_id, key_mac, expires) VALUES ($1, $2, $3)",
    [TW_PG_SESSION_CHECK] =
        "SELECT 1 FROM sessions WHERE user_id = $1 AND key_mac = $2 AND expires > $3",
    [TW_PG_SESSION_PRUNE] = "DELETE FROM sessions WHERE user_id = $1 AND expires <= $2",
    [TW_PG_SESSION_DELETE_USER] = "DELETE FROM sessions WHERE user_id = $1",

    [TW_PG_SEG_INSERT] = "INSERT INTO segments (chain, name, segment_json, created, last_modified) "
                         "VALUES ($1, $2, $3, $4, $5) RETURNING id",
    [TW_PG_SEG_GET] = "SELECT " SEG_COLS " FROM segments WHERE id = $1",
    [TW_PG_SEG_LIST] = "SELECT " SEG_COLS
                       " FROM segments WHERE chain = ANY($1::bigint[]) ORDER BY id DESC",
    [TW_PG_SEG_UPDATE] =
        "UPDATE segments SET name = $2, segment_json = $3, last_modified = $4 WHERE id = $1",
    [TW_PG_SEG_USERS] = "SELECT id FROM tasks WHERE segment_id = $1 ORDER BY id",
    [TW_PG_SEG_DELETE] = "DELETE FROM segments WHERE id = $1",

    [TW_PG_HEALTH_PROBE] = "INSERT INTO store_health (id, at) VALUES (1, $1) "
                           "ON CONFLICT (id) DO UPDATE SET at = excluded.at",

    [TW_PG_HOOK_UPSERT] =
        "INSERT INTO task_webhooks (task_id, url, events) VALUES ($1, $2, $3) "
        "ON CONFLICT (task_id) DO UPDATE SET url = excluded.url, events = excluded.events",
    [TW_PG_HOOK_DELETE] = "DELETE FROM task_webhooks WHERE task_id = $1",
    [TW_PG_HOOK_GET] = "SELECT url, events FROM task_webhooks WHERE task_id = $1",
    [TW_PG_HOOK_SECRET_EXPIRE] = "UPDATE webhook_secrets SET expires = $2 WHERE chain = $1 AND "
                                 "(expires = 0 OR expires > $2)",
    [TW_PG_HOOK_SECRET_INSERT] =
        "INSERT INTO webhook_secrets (chain, secret, created, expires) VALUES ($1, $2, $3, 0)",
    [TW_PG_HOOK_SECRETS] =
        "SELECT secret FROM webhook_secrets WHERE chain = $1 AND (expires = 0 OR expires > $2) "
        "ORDER BY id DESC",
    [TW_PG_OUTBOX_INSERT] =
        "INSERT INTO webhook_outbox (uuid, task_id, chain, event, url, body, attempts, next_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, 0, $7) RETURNING id",
    [TW_PG_OUTBOX_DUE] = "SELECT id, uuid, task_id, chain, event, url, body, attempts, next_at "
                         "FROM webhook_outbox WHERE next_at <= $1 ORDER BY next_at, id LIMIT $2",
    [TW_PG_OUTBOX_NEXT] = "SELECT min(next_at) FROM webhook_outbox",
    [TW_PG_OUTBOX_RESCHEDULE] =
        "UPDATE webhook_outbox SET attempts = attempts + 1, next_at = $2 WHERE id = $1",
    [TW_PG_OUTBOX_LEASE] = "UPDATE webhook_outbox SET next_at = $2 WHERE id = $1",
    [TW_PG_OUTBOX_CLOSE] = "DELETE FROM webhook_outbox WHERE id = $1",
    [TW_PG_ATTEMPT_INSERT] =
        "INSERT INTO webhook_attempts (task_id, uuid, event, attempt, time, status, error, "
        "duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    [TW_PG_ATTEMPT_LIST] =
        "SELECT uuid, event, attempt, time, status, error, duration_ms FROM webhook_attempts "
        "WHERE task_id = $1 ORDER BY id DESC LIMIT $2",

    [TW_PG_NODE_BEAT] = "INSERT INTO nodes (id, started, heartbeat, in_flight, version) "
                        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET "
                        "heartbeat = excluded.heartbeat, in_flight = excluded.in_flight, "
                        "started = excluded.started, version = excluded.version",
    [TW_PG_NODE_REMOVE] = "DELETE FROM nodes WHERE id = $1",
    [TW_PG_NODE_LIST] =
        "SELECT id, started, heartbeat, in_flight, version FROM nodes WHERE heartbeat >= $1 ORDER BY id",
    [TW_PG_META_GET] = "SELECT value FROM cluster_meta WHERE name = $1",
    [TW_PG_META_PUT] = "INSERT INTO cluster_meta (name, value) VALUES ($1, $2) "
                       "ON CONFLICT (name) DO NOTHING",
    [TW_PG_TASKS_CHANGED] = "SELECT id FROM tasks WHERE last_modified >= $1 ORDER BY id",
};
