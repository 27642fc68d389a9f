/*
 * The task store schema, as an ordered list of migrations. PRAGMA user_version holds how many
 * steps a database has had; tw_store_migrate (store_sqlite.c) runs the missing ones, each in
 * its own transaction. Rules (see schema.md):
 * - never edit a step that has shipped; append a new one;
 * - a step is plain SQL that works on a database holding rows of the previous version;
 * - the CHECK on tasks.state mirrors enum tw_task_state (store.h) and state_names[] in
 *   store_types.c: when adding a state, add a step that rebuilds the CHECK.
 *
 * Times are INTEGER seconds since the epoch (UTC), 0 for "never"; text that the engine
 * produces as JSON (trigger, target, segment) is stored as compact JSON text.
 */
#include "store/store_int.h"

static const char migration_1[] =
    /*
     * AUTOINCREMENT: task ids are never reused, even after the newest task is deleted,
     * since a client may still hold an old id.
     */
    "CREATE TABLE tasks ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " chain INTEGER NOT NULL,"
    " description TEXT NOT NULL,"
    " state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 3),"
    " last_run_date INTEGER NOT NULL DEFAULT 0,"
    " last_modified INTEGER NOT NULL,"
    " created_date INTEGER NOT NULL,"
    " trigger_json TEXT NOT NULL,"
    " target_json TEXT NOT NULL,"
    " debug TEXT NOT NULL DEFAULT '',"
    " version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),"
    " result TEXT,"
    " once_at INTEGER NOT NULL,"
    " repeat TEXT NOT NULL DEFAULT '',"
    " anchor_day INTEGER NOT NULL DEFAULT 0,"
    " action TEXT NOT NULL,"
    " export_index TEXT NOT NULL,"
    " campaign_id TEXT,"
    " segment_id INTEGER NOT NULL DEFAULT 0,"
    " result_path TEXT,"
    " result_size INTEGER NOT NULL DEFAULT 0,"
    " result_sha256 TEXT,"
    " result_time INTEGER NOT NULL DEFAULT 0,"
    " result_expired INTEGER NOT NULL DEFAULT 0 CHECK (result_expired IN (0, 1))"
    ");"
    "CREATE INDEX tasks_chain ON tasks(chain, id);"
    /* kind: enum tw_log_kind (store_int.h). Only one progress row per task. */
    "CREATE TABLE task_logs ("
    " id INTEGER PRIMARY KEY,"
    " task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,"
    " time INTEGER NOT NULL,"
    " msg TEXT NOT NULL,"
    " kind INTEGER NOT NULL DEFAULT 0 CHECK (kind IN (0, 1, 2)),"
    " has_counts INTEGER NOT NULL DEFAULT 0 CHECK (has_counts IN (0, 1)),"
    " total INTEGER NOT NULL DEFAULT 0,"
    " errors INTEGER NOT NULL DEFAULT 0,"
    " skips INTEGER NOT NULL DEFAULT 0,"
    " success INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX task_logs_task ON task_logs(task_id, id);"
    "CREATE UNIQUE INDEX task_logs_progress ON task_logs(task_id) WHERE kind = 1;"
    "CREATE TABLE tokens ("
    " id TEXT NOT NULL PRIMARY KEY,"
    " description TEXT NOT NULL DEFAULT '',"
    " level INTEGER NOT NULL CHECK (level IN (1, 2)),"
    " secret_mac BLOB NOT NULL CHECK (length(secret_mac) = 32),"
    " created INTEGER NOT NULL,"
    " revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))"
    ");"
    "CREATE TABLE token_chains ("
    " token_id TEXT NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,"
    " chain INTEGER NOT NULL,"
    " PRIMARY KEY (token_id, chain)"
    ") WITHOUT ROWID;"
    "CREATE TABLE users ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name TEXT NOT NULL UNIQUE,"
    " pw_hash TEXT NOT NULL"
    ");"
    "CREATE TABLE user_chains ("
    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " chain INTEGER NOT NULL,"
    " level INTEGER NOT NULL CHECK (level IN (1, 2)),"
    " PRIMARY KEY (user_id, chain)"
    ") WITHOUT ROWID;"
    "CREATE TABLE sessions ("
    " id INTEGER PRIMARY KEY,"
    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " key_mac BLOB NOT NULL CHECK (length(key_mac) = 32),"
    " expires INTEGER NOT NULL"
    ");"
    "CREATE INDEX sessions_user ON sessions(user_id, key_mac);"
    "CREATE TABLE idempotency ("
    " id INTEGER PRIMARY KEY,"
    " caller TEXT NOT NULL,"
    " idem_key TEXT NOT NULL,"
    " body_sha256 TEXT NOT NULL,"
    " task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,"
    " created INTEGER NOT NULL,"
    " UNIQUE (caller, idem_key)"
    ");"
    "CREATE INDEX idempotency_task ON idempotency(task_id);"
    /*
     * tasks.segment_id is deliberately not a foreign key: 0 means "none", and a refused
     * delete must list the tasks that still use the segment, which the store checks itself.
     */
    "CREATE TABLE segments ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " chain INTEGER NOT NULL,"
    " name TEXT NOT NULL,"
    " segment_json TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " last_modified INTEGER NOT NULL"
    ");"
    "CREATE INDEX segments_chain ON segments(chain, id);";

static const char migration_2[] =
    /* segment delete asks "which tasks use it"; without this it scans every task */
    "CREATE INDEX tasks_segment ON tasks(segment_id);"
    /* /metrics counts tasks by state; a covering index avoids reading whole rows */
    "CREATE INDEX tasks_state ON tasks(state);"
    /* idempotency keys older than 24 h are pruned by age */
    "CREATE INDEX idempotency_created ON idempotency(created);";

static const char migration_3[] =
    /*
     * target.since (docs/reference.md §13): the watermark of a task's incremental exports, the start time
     * of its last DONE run (0: none yet), and the key of what that run exported (index,
     * since, segment; store_since.c), so that a changed target or segment starts over.
     */
    "ALTER TABLE tasks ADD COLUMN since_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE tasks ADD COLUMN since_key TEXT;";

static const char migration_4[] =
    /*
     * The inode of the file a run published, recorded by run_finish: a download serves only
     * that file, never one a later run renamed over the same name (0: not recorded).
     */
    "ALTER TABLE tasks ADD COLUMN result_ino INTEGER NOT NULL DEFAULT 0;"
    /* retention asks for results published before a time */
    "CREATE INDEX tasks_result_time ON tasks(result_time) "
    " WHERE result_path IS NOT NULL AND result_expired = 0;"
    /* one row the health check rewrites, to prove that a commit reaches the disk */
    "CREATE TABLE store_health (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL);";

static const char migration_5[] =
    /* A task's webhook (at most one). Deleted with the task. */
    "CREATE TABLE task_webhooks ("
    " task_id INTEGER PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,"
    " url TEXT NOT NULL,"
    " events INTEGER NOT NULL CHECK (events BETWEEN 1 AND 3)"
    ");"
    /* Per-chain signing secrets; expires 0 = current, else the end of its rotation overlap. */
    "CREATE TABLE webhook_secrets ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " chain INTEGER NOT NULL,"
    " secret TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " expires INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX webhook_secrets_chain ON webhook_secrets(chain, id);"
    /*
     * The durable outbox: a row per pending delivery, written in the transaction that records
     * the run's end, deleted when delivered or given up. No foreign key on task_id: a delivery
     * of a run whose task was deleted afterwards is still owed to the receiver.
     */
    "CREATE TABLE webhook_outbox ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " uuid TEXT NOT NULL UNIQUE,"
    " task_id INTEGER NOT NULL,"
    " chain INTEGER NOT NULL,"
    " event TEXT NOT NULL,"
    " url TEXT NOT NULL,"
    " body TEXT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX webhook_outbox_due ON webhook_outbox(next_at, id);"
    /* Every attempt, for GET /tasks/{id}/deliveries (the API shows the last 50). */
    "CREATE TABLE webhook_attempts ("
    " id INTEGER PRIMARY KEY,"
    " task_id INTEGER NOT NULL,"
    " uuid TEXT NOT NULL,"
    " event TEXT NOT NULL,"
    " attempt INTEGER NOT NULL,"
    " time INTEGER NOT NULL,"
    " status INTEGER NOT NULL,"
    " error TEXT NOT NULL,"
    " duration_ms INTEGER NOT NULL"
    ");"
    "CREATE INDEX webhook_attempts_task ON webhook_attempts(task_id, id);";

static const char migration_6[] =
    /*
     * What a run needs from the target, stored when the task is saved so that starting a run
     * parses no target JSON: target.export_format, target.compression ("none" when absent)
     * and target.since (NULL when absent). Existing rows are filled from their target.
     */
    "ALTER TABLE tasks ADD COLUMN export_format TEXT NOT NULL DEFAULT 'csv';"
    "ALTER TABLE tasks ADD COLUMN compression TEXT NOT NULL DEFAULT 'none';"
    "ALTER TABLE tasks ADD COLUMN since TEXT;"
    "UPDATE tasks SET"
    " export_format = coalesce(json_extract(target_json, '$.export_format'), 'csv'),"
    " compression = coalesce(json_extract(target_json, '$.compression'), 'none'),"
    " since = json_extract(target_json, '$.since');";

static const char migration_7[] =
    /*
     * Several nodes (docs/cluster.md): the nodes' heartbeats, the fingerprint of the
     * cluster's server key, and the index the periodic safety re-read of changed tasks uses.
     * SQLite is one node, but keeps the same tables so GET /cluster/nodes and the key check
     * behave the same and `store copy` carries the key's fingerprint over.
     */
    "CREATE TABLE nodes ("
    " id TEXT PRIMARY KEY,"
    " started INTEGER NOT NULL,"
    " heartbeat INTEGER NOT NULL,"
    " in_flight INTEGER NOT NULL DEFAULT 0,"
    " version TEXT NOT NULL"
    ");"
    "CREATE TABLE cluster_meta ("
    " name TEXT PRIMARY KEY,"
    " value TEXT NOT NULL"
    ");"
    "CREATE INDEX tasks_last_modified ON tasks(last_modified);";

static const char migration_8[] =
    /*
     * Exactly-once runs (docs/cluster.md "Leases, fencing and rescue"): the node that claimed
     * the running task, the lease deadline it renews (ms since the epoch; 0 when not running)
     * and the attempt number, +1 per claim, that every later write of the run must carry.
     * The partial index counts a chain's INPROGRESS runs for the claim's max_runs_per_chain
     * test and lists the runs whose lease expired without scanning the table.
     */
    "ALTER TABLE tasks ADD COLUMN run_node TEXT;"
    "ALTER TABLE tasks ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE tasks ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX tasks_running ON tasks(chain, lease_until) WHERE state = 1;";

const struct tw_store_migration tw_store_migrations[] = {
    { "initial schema", migration_1 },
    { "indexes for segment use, state counts and idempotency pruning", migration_2 },
    { "watermarks of incremental exports (target.since)", migration_3 },
    { "result file identity, retention index and the health probe row", migration_4 },
    { "webhooks: task targets, chain secrets, the delivery outbox and attempts", migration_5 },
    { "a run's target settings in columns (export_format, compression, since)", migration_6 },
    { "cluster: nodes, the key fingerprint, and tasks by last_modified", migration_7 },
    { "run claims: node, lease and attempt of a running task", migration_8 },
};

const int tw_store_migration_count = (int)(sizeof(tw_store_migrations) /
                                           sizeof(tw_store_migrations[0]));
