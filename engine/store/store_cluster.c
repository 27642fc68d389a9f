/*
 * The SQLite store's cluster operations (store.h, "several nodes"): SQLite is one node, but
 * keeps its own row in nodes and the key fingerprint in cluster_meta, so GET /cluster/nodes
 * and the key check behave as with PostgreSQL. These run every few seconds at most, so their
 * statements are prepared per call rather than kept in tw_store_sql[].
 */
#include "store/store_int.h" /* first: it names the SQLite driver's functions */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"

/* Prepare sql on s's connection; TW_OK with *q (sqlite3_finalize) or the error. */
static int prepare(struct tw_store *s, const char *sql, sqlite3_stmt **q, const char *what,
                   struct tw_err *err)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, q, NULL);

    return rc == SQLITE_OK ? TW_OK : tw_store_fail(s, rc, what, err);
}

int tw_store_node_beat(struct tw_store *s, const struct tw_node *n, struct tw_err *err)
{
    sqlite3_stmt *q;
    int ret = prepare(s,
                      "INSERT INTO nodes (id, started, heartbeat, in_flight, version) "
                      "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE SET "
                      "heartbeat = excluded.heartbeat, in_flight = excluded.in_flight, "
                      "started = excluded.started, version = excluded.version",
                      &q, "node heartbeat", err);

    if (ret != TW_OK)
        return ret;
    sqlite3_bind_text(q, 1, n->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 2, n->started);
    sqlite3_bind_int64(q, 3, n->heartbeat);
    sqlite3_bind_int64(q, 4, n->in_flight);
    sqlite3_bind_text(q, 5, n->version, -1, SQLITE_TRANSIENT);
    ret = tw_store_step(s, q, "node heartbeat", err);
    sqlite3_finalize(q);
    return ret < 0 ? ret : TW_OK;
}

int tw_store_node_remove(struct tw_store *s, const char *id, struct tw_err *err)
{
    sqlite3_stmt *q;
    int ret = prepare(s, "DELETE FROM nodes WHERE id = ?1", &q, "remove node", err);

    if (ret != TW_OK)
        return ret;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
    ret = tw_store_step(s, q, "remove node", err);
    sqlite3_finalize(q);
    return ret < 0 ? ret : TW_OK;
}

int tw_store_node_list(struct tw_store *s, int64_t before, struct tw_node **out, size_t *n,
                       struct tw_err *err)
{
    struct tw_node *v = NULL, *grown;
    size_t count = 0, cap = 0;
    sqlite3_stmt *q;
    int ret;

    *out = NULL;
    *n = 0;
    ret = prepare(s,
                  "SELECT id, started, heartbeat, in_flight, version FROM nodes "
                  "WHERE heartbeat >= ?1 ORDER BY id",
                  &q, "list nodes", err);
    if (ret != TW_OK)
        return ret;
    sqlite3_bind_int64(q, 1, before);
    while ((ret = tw_store_step(s, q, "list nodes", err)) == 1) {
        if (count == cap) {
            cap = cap ? cap * 2 : 4;
            grown = tw_realloc(v, cap * sizeof(*v));
            if (grown == NULL) {
                ret = tw_err_set(err, TW_ENOMEM, "store: out of memory");
                break;
            }
            v = grown;
        }
        memset(&v[count], 0, sizeof(v[count]));
        snprintf(v[count].id, sizeof(v[count].id), "%s", (const char *)sqlite3_column_text(q, 0));
        v[count].started = sqlite3_column_int64(q, 1);
        v[count].heartbeat = sqlite3_column_int64(q, 2);
        v[count].in_flight = sqlite3_column_int64(q, 3);
        snprintf(v[count].version, sizeof(v[count].version), "%s",
                 (const char *)sqlite3_column_text(q, 4));
        count++;
    }
    sqlite3_finalize(q);
    if (ret < 0) {
        tw_free(v);
        return ret;
    }
    *out = v;
    *n = count;
    return TW_OK;
}

int tw_store_key_check(struct tw_store *s, const char *fingerprint, struct tw_err *err)
{
    sqlite3_stmt *q;
    char have[80] = "";
    int ret = prepare(s, "SELECT value FROM cluster_meta WHERE name = 'key_fingerprint'", &q,
                      "read the key fingerprint", err);

    if (ret != TW_OK)
        return ret;
    ret = tw_store_step(s, q, "read the key fingerprint", err);
    if (ret == 1)
        snprintf(have, sizeof(have), "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    if (ret < 0)
        return ret;
    if (have[0] != '\0')
        return strcmp(have, fingerprint) == 0
                   ? TW_OK
                   : tw_err_set(err, TW_ECONFLICT,
                                "the store belongs to a cluster with another server key");
    ret = prepare(s, "INSERT INTO cluster_meta (name, value) VALUES ('key_fingerprint', ?1)", &q,
                  "record the key fingerprint", err);
    if (ret != TW_OK)
        return ret;
    sqlite3_bind_text(q, 1, fingerprint, -1, SQLITE_TRANSIENT);
    ret = tw_store_step(s, q, "record the key fingerprint", err);
    sqlite3_finalize(q);
    return ret < 0 ? ret : TW_OK;
}

int tw_store_tasks_changed(struct tw_store *s, int64_t since, int64_t **ids, size_t *n,
                           struct tw_err *err)
{
    int64_t *v = NULL, *grown;
    size_t count = 0, cap = 0;
    sqlite3_stmt *q;
    int ret;

    *ids = NULL;
    *n = 0;
    ret = prepare(s, "SELECT id FROM tasks WHERE last_modified >= ?1 ORDER BY id", &q,
                  "read changed tasks", err);
    if (ret != TW_OK)
        return ret;
    sqlite3_bind_int64(q, 1, since);
    while ((ret = tw_store_step(s, q, "read changed tasks", err)) == 1) {
        if (count == cap) {
            cap = cap ? cap * 2 : 64;
            grown = tw_realloc(v, cap * sizeof(*v));
            if (grown == NULL) {
                ret = tw_err_set(err, TW_ENOMEM, "store: out of memory");
                break;
            }
            v = grown;
        }
        v[count++] = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    if (ret < 0) {
        tw_free(v);
        return ret;
    }
    *ids = v;
    *n = count;
    return TW_OK;
}

int tw_store_watch_open(struct tw_store *s, struct tw_store_watch **out, struct tw_err *err)
{
    (void)s;
    *out = NULL;
    return tw_err_set(err, TW_EINVAL,
                      "watching task changes is not supported by the sqlite "
                      "store (one node: every change is its own)");
}
