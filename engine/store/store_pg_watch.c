/*
 * The change listener of the PostgreSQL store (store.h, tw_store_watch_*): its own connection
 * (the store's query connection is busy with statements and pipelines; a notification must
 * not wait for, nor interleave with, them), LISTEN tw_tasks, and the ids the trigger
 * tasks_notify sends ("<id> <insert|update|delete>", store_pg_schema.c step 7). The caller
 * watches the socket in its event loop; nothing here blocks except (re)connecting.
 */
#include "store/store_pg_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

struct tw_store_watch {
    char *dsn; /* owned copy; holds the password if the dsn has one: never log it */
    PGconn *conn;
};

static int listen_on(struct tw_store_watch *w, struct tw_err *err)
{
    PGresult *r;
    int ret = tw_pg_connect(w->dsn, &w->conn, err);

    if (ret != TW_OK) {
        PQfinish(w->conn);
        w->conn = NULL;
        return TW_ESTORE;
    }
    r = PQexec(w->conn, "LISTEN tw_tasks");
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        ret = tw_err_set(err, TW_ESTORE, "store: listen for task changes: %s",
                         PQerrorMessage(w->conn));
    PQclear(r);
    if (ret == TW_OK && PQsetnonblocking(w->conn, 1) != 0)
        ret = tw_err_set(err, TW_ESTORE, "store: listen for task changes: cannot go non-blocking");
    if (ret != TW_OK) {
        PQfinish(w->conn);
        w->conn = NULL;
    }
    return ret;
}

int tw_pg_watch(struct tw_store *s, struct tw_store_watch **out, struct tw_err *err)
{
    struct tw_store_watch *w = tw_calloc(1, sizeof(*w));
    int ret;

    *out = NULL;
    if (w == NULL)
        return tw_err_set(err, TW_ENOMEM, "store: out of memory");
    w->dsn = tw_strndup(TW_PG(s)->dsn, strlen(TW_PG(s)->dsn));
    if (w->dsn == NULL) {
        tw_free(w);
        return tw_err_set(err, TW_ENOMEM, "store: out of memory");
    }
    ret = listen_on(w, err);
    if (ret != TW_OK) {
        tw_store_watch_close(w);
        return ret;
    }
    *out = w;
    return TW_OK;
}

int tw_store_watch_fd(const struct tw_store_watch *w)
{
    return w->conn != NULL ? PQsocket(w->conn) : -1;
}

int tw_store_watch_drain(struct tw_store_watch *w, int64_t **ids, size_t *n, struct tw_err *err)
{
    size_t cap = *n;
    PGnotify *note;

    if (w->conn == NULL)
        return tw_err_set(err, TW_ESTORE, "store: the change listener is disconnected");
    if (PQconsumeInput(w->conn) == 0 || PQstatus(w->conn) != CONNECTION_OK)
        return tw_err_set(err, TW_ESTORE, "store: the change listener lost its connection: %s",
                          PQerrorMessage(w->conn));
    while ((note = PQnotifies(w->conn)) != NULL) {
        char *end = NULL;
        long long id = strtoll(note->extra, &end, 10);

        if (end != note->extra && id > 0) {
            if (*n == cap || *ids == NULL) {
                int64_t *grown;

                cap = cap ? cap * 2 : 16;
                grown = tw_realloc(*ids, cap * sizeof(**ids));
                if (grown == NULL) {
                    PQfreemem(note);
                    return tw_err_set(err, TW_ENOMEM, "store: out of memory");
                }
                *ids = grown;
            }
            (*ids)[(*n)++] = id;
        }
        PQfreemem(note);
    }
    return TW_OK;
}

int tw_store_watch_reconnect(struct tw_store_watch *w, struct tw_err *err)
{
    PQfinish(w->conn);
    w->conn = NULL;
    return listen_on(w, err);
}

void tw_store_watch_close(struct tw_store_watch *w)
{
    if (w == NULL)
        return;
    PQfinish(w->conn);
    if (w->dsn != NULL)
        memset(w->dsn, 0, strlen(w->dsn));
    tw_free(w->dsn);
    tw_free(w);
}
