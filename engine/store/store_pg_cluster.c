/*
 * The PostgreSQL store's cluster operations (store.h, "several nodes"): the nodes table, the
 * key fingerprint in cluster_meta, and the ids of recently changed tasks for the safety
 * re-read. The change listener is in store_pg_watch.c.
 */
#include "store/store_pg_int.h"

#include <stdio.h>
#include <string.h>

#include "core/mem.h"

int tw_pg_node_beat(struct tw_store *s, const struct tw_node *n, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };

    tw_pg_text(&a, n->id);
    tw_pg_i64(&a, n->started);
    tw_pg_i64(&a, n->heartbeat);
    tw_pg_i64(&a, n->in_flight);
    tw_pg_text(&a, n->version);
    return tw_pg_run(TW_PG(s), TW_PG_NODE_BEAT, &a, NULL, NULL, "node heartbeat", err);
}

int tw_pg_node_remove(struct tw_store *s, const char *id, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };

    tw_pg_text(&a, id);
    return tw_pg_run(TW_PG(s), TW_PG_NODE_REMOVE, &a, NULL, NULL, "remove node", err);
}

int tw_pg_node_list(struct tw_store *s, int64_t before, struct tw_node **out, size_t *n,
                    struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    struct tw_node *v;
    PGresult *r;
    int ret, i, rows;

    *out = NULL;
    *n = 0;
    tw_pg_i64(&a, before);
    ret = tw_pg_run(TW_PG(s), TW_PG_NODE_LIST, &a, &r, NULL, "list nodes", err);
    if (ret != TW_OK)
        return ret;
    rows = PQntuples(r);
    if (rows == 0) {
        PQclear(r);
        return TW_OK;
    }
    v = tw_calloc((size_t)rows, sizeof(*v));
    if (v == NULL) {
        PQclear(r);
        return tw_err_set(err, TW_ENOMEM, "store: out of memory");
    }
    for (i = 0; i < rows; i++) {
        snprintf(v[i].id, sizeof(v[i].id), "%s", PQgetvalue(r, i, 0));
        v[i].started = tw_pg_col_i64(r, i, 1);
        v[i].heartbeat = tw_pg_col_i64(r, i, 2);
        v[i].in_flight = tw_pg_col_i64(r, i, 3);
        snprintf(v[i].version, sizeof(v[i].version), "%s", PQgetvalue(r, i, 4));
    }
    PQclear(r);
    *out = v;
    *n = (size_t)rows;
    return TW_OK;
}

int tw_pg_key_check(struct tw_store *s, const char *fingerprint, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    char have[80] = "";
    PGresult *r;
    int ret;

    tw_pg_text(&a, "key_fingerprint");
    tw_pg_text(&a, fingerprint);
    /* first node wins: a concurrent start with another key sees this one's row */
    ret = tw_pg_run(TW_PG(s), TW_PG_META_PUT, &a, NULL, NULL, "record the key fingerprint", err);
    a.n = 1;
    if (ret == TW_OK)
        ret = tw_pg_run(TW_PG(s), TW_PG_META_GET, &a, &r, NULL, "read the key fingerprint", err);
    if (ret != TW_OK)
        return ret;
    if (PQntuples(r) > 0)
        snprintf(have, sizeof(have), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (strcmp(have, fingerprint) != 0)
        return tw_err_set(err, TW_ECONFLICT,
                          "the store belongs to a cluster with another server key");
    return TW_OK;
}

int tw_pg_tasks_changed(struct tw_store *s, int64_t since, int64_t **ids, size_t *n,
                        struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    int64_t *v;
    PGresult *r;
    int ret, i, rows;

    *ids = NULL;
    *n = 0;
    tw_pg_i64(&a, since);
    ret = tw_pg_run(TW_PG(s), TW_PG_TASKS_CHANGED, &a, &r, NULL, "read changed tasks", err);
    if (ret != TW_OK)
        return ret;
    rows = PQntuples(r);
    if (rows == 0) {
        PQclear(r);
        return TW_OK;
    }
    v = tw_malloc((size_t)rows * sizeof(*v));
    if (v == NULL) {
        PQclear(r);
        return tw_err_set(err, TW_ENOMEM, "store: out of memory");
    }
    for (i = 0; i < rows; i++)
        v[i] = tw_pg_col_i64(r, i, 0);
    PQclear(r);
    *ids = v;
    *n = (size_t)rows;
    return TW_OK;
}
