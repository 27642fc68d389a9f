/*
 * Webhooks in the store: a task's target (task_webhooks), per-chain signing secrets with their
 * rotation overlap (webhook_secrets), and the durable outbox (webhook_outbox) with every
 * attempt made (webhook_attempts). A delivery row is written in the same transaction as the
 * run's end, so a crash between the two cannot lose it; it leaves the outbox only when it was
 * delivered or given up, in the transaction that records that attempt.
 */
#include "store/store_int.h" /* first: it names the SQLite driver's functions */

#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "core/mem.h"
#include "store/store_int.h"

int tw_store_webhook_set(struct tw_store *s, int64_t task_id, const char *url, unsigned events,
                         struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, url != NULL ? TW_STMT_HOOK_UPSERT : TW_STMT_HOOK_DELETE);
    int ret;

    if (url != NULL && (events == 0 || events > 3))
        return tw_err_set(err, TW_EINVAL, "store: webhook events must be DONE, ERROR or both");
    sqlite3_bind_int64(q, 1, task_id);
    if (url != NULL) {
        tw_store_bind_text(q, 2, url);
        sqlite3_bind_int(q, 3, (int)events);
    }
    ret = tw_store_step(s, q, url != NULL ? "set webhook" : "remove webhook", err);
    tw_store_done(q);
    return ret < 0 ? ret : TW_OK;
}

int tw_store_webhook_get(struct tw_store *s, int64_t task_id, char **url, unsigned *events,
                         struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_HOOK_GET);
    int ret;

    *url = NULL;
    *events = 0;
    sqlite3_bind_int64(q, 1, task_id);
    ret = tw_store_step(s, q, "get webhook", err);
    if (ret == 0)
        ret = tw_err_set(err, TW_ENOTFOUND, "task %lld has no webhook", (long long)task_id);
    if (ret == 1) {
        *events = (unsigned)sqlite3_column_int(q, 1);
        ret = tw_store_col_str(q, 0, url);
        if (ret != TW_OK)
            ret = tw_err_set(err, ret, "store: get webhook: out of memory");
    }
    tw_store_done(q);
    return ret;
}

int tw_store_webhook_secret_add(struct tw_store *s, int64_t chain, const char *secret, int64_t now,
                                int64_t overlap_s, struct tw_err *err)
{
    sqlite3_stmt *q;
    int ret = tw_store_op_begin(s, err);

    if (ret != TW_OK)
        return ret;
    q = tw_store_stmt(s, TW_STMT_HOOK_SECRET_EXPIRE);
    sqlite3_bind_int64(q, 1, chain);
    sqlite3_bind_int64(q, 2, now + overlap_s);
    ret = tw_store_step(s, q, "expire webhook secrets", err);
    tw_store_done(q);
    if (ret >= 0) {
        q = tw_store_stmt(s, TW_STMT_HOOK_SECRET_INSERT);
        sqlite3_bind_int64(q, 1, chain);
        tw_store_bind_text(q, 2, secret);
        sqlite3_bind_int64(q, 3, now);
        ret = tw_store_step(s, q, "add webhook secret", err);
        tw_store_done(q);
    }
    return tw_store_op_end(s, ret < 0 ? ret : TW_OK, err);
}

void tw_store_free_strings(char **v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        tw_free(v[i]);
    tw_free(v);
}

int tw_store_webhook_secrets(struct tw_store *s, int64_t chain, int64_t now, char ***out, size_t *n,
                             struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_HOOK_SECRETS);
    char **v = NULL;
    size_t cap = 0, count = 0;
    int ret;

    *out = NULL;
    *n = 0;
    sqlite3_bind_int64(q, 1, chain);
    sqlite3_bind_int64(q, 2, now);
    while ((ret = tw_store_step(s, q, "list webhook secrets", err)) == 1) {
        ret = tw_store_grow((void **)&v, &cap, count, sizeof(*v));
        if (ret == TW_OK)
            ret = tw_store_col_str(q, 0, &v[count]);
        if (ret != TW_OK) {
            ret = tw_err_set(err, ret, "store: list webhook secrets: out of memory");
            break;
        }
        count++;
    }
    tw_store_done(q);
    if (ret < 0) {
        tw_store_free_strings(v, count);
        return ret;
    }
    *out = v;
    *n = count;
    return TW_OK;
}

void tw_store_free_deliveries(struct tw_delivery *d, size_t n)
{
    for (size_t i = 0; d != NULL && i < n; i++) {
        tw_free(d[i].event);
        tw_free(d[i].url);
        tw_free(d[i].body);
    }
    tw_free(d);
}

void tw_store_free_attempts(struct tw_delivery_attempt *a, size_t n)
{
    for (size_t i = 0; a != NULL && i < n; i++) {
        tw_free(a[i].event);
        tw_free(a[i].error);
    }
    tw_free(a);
}

int tw_store_outbox_add(struct tw_store *s, struct tw_delivery *d, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_OUTBOX_INSERT);
    int ret;

    tw_store_bind_text(q, 1, d->uuid);
    sqlite3_bind_int64(q, 2, d->task_id);
    sqlite3_bind_int64(q, 3, d->chain);
    tw_store_bind_text(q, 4, d->event);
    tw_store_bind_text(q, 5, d->url);
    tw_store_bind_text(q, 6, d->body);
    sqlite3_bind_int64(q, 7, d->next_at);
    ret = tw_store_step(s, q, "queue webhook delivery", err);
    tw_store_done(q);
    if (ret < 0)
        return ret;
    d->id = sqlite3_last_insert_rowid(s->db);
    return TW_OK;
}

static int read_delivery(sqlite3_stmt *q, struct tw_delivery *d)
{
    const unsigned char *uuid = sqlite3_column_text(q, 1);
    int ret;

    d->id = sqlite3_column_int64(q, 0);
    snprintf(d->uuid, sizeof(d->uuid), "%s", uuid != NULL ? (const char *)uuid : "");
    d->task_id = sqlite3_column_int64(q, 2);
    d->chain = sqlite3_column_int64(q, 3);
    d->attempts = (unsigned)sqlite3_column_int(q, 7);
    d->next_at = sqlite3_column_int64(q, 8);
    ret = tw_store_col_str(q, 4, &d->event);
    if (ret == TW_OK)
        ret = tw_store_col_str(q, 5, &d->url);
    if (ret == TW_OK)
        ret = tw_store_col_str(q, 6, &d->body);
    return ret;
}

int tw_store_outbox_due(struct tw_store *s, int64_t now, size_t limit, struct tw_delivery **out,
                        size_t *n, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_OUTBOX_DUE);
    struct tw_delivery *d = NULL;
    size_t cap = 0, count = 0;
    int ret;

    *out = NULL;
    *n = 0;
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)limit);
    while ((ret = tw_store_step(s, q, "list due deliveries", err)) == 1) {
        ret = tw_store_grow((void **)&d, &cap, count, sizeof(*d));
        if (ret == TW_OK)
            ret = read_delivery(q, &d[count]);
        if (ret != TW_OK) {
            count++; /* free what the failed row holds too */
            ret = tw_err_set(err, ret, "store: list due deliveries: out of memory");
            break;
        }
        count++;
    }
    tw_store_done(q);
    if (ret < 0) {
        tw_store_free_deliveries(d, count);
        return ret;
    }
    *out = d;
    *n = count;
    return TW_OK;
}

int tw_store_outbox_next(struct tw_store *s, int64_t *next_at, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_OUTBOX_NEXT);
    int ret = tw_store_step(s, q, "next delivery", err);

    *next_at = 0;
    if (ret == 1)
        *next_at = sqlite3_column_int64(q, 0); /* NULL (empty outbox) reads as 0 */
    tw_store_done(q);
    return ret < 0 ? ret : TW_OK;
}

int tw_store_outbox_lease(struct tw_store *s, int64_t id, int64_t until_ms, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_OUTBOX_LEASE);
    int ret;

    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, until_ms);
    ret = tw_store_step(s, q, "lease delivery", err);
    tw_store_done(q);
    return ret < 0 ? ret : TW_OK;
}

int tw_store_outbox_record(struct tw_store *s, int64_t id, int64_t task_id,
                           const struct tw_delivery_attempt *a, int64_t next_at, struct tw_err *err)
{
    sqlite3_stmt *q;
    int ret = tw_store_op_begin(s, err);

    if (ret != TW_OK)
        return ret;
    q = tw_store_stmt(s, TW_STMT_ATTEMPT_INSERT);
    sqlite3_bind_int64(q, 1, task_id);
    tw_store_bind_text(q, 2, a->uuid);
    tw_store_bind_text(q, 3, a->event);
    sqlite3_bind_int(q, 4, (int)a->attempt);
    sqlite3_bind_int64(q, 5, a->time);
    sqlite3_bind_int64(q, 6, a->status);
    tw_store_bind_text(q, 7, a->error != NULL ? a->error : "");
    sqlite3_bind_int64(q, 8, a->duration_ms);
    ret = tw_store_step(s, q, "record delivery attempt", err);
    tw_store_done(q);
    if (ret >= 0) {
        q = tw_store_stmt(s, next_at > 0 ? TW_STMT_OUTBOX_RESCHEDULE : TW_STMT_OUTBOX_CLOSE);
        sqlite3_bind_int64(q, 1, id);
        if (next_at > 0)
            sqlite3_bind_int64(q, 2, next_at);
        ret = tw_store_step(s, q, next_at > 0 ? "reschedule delivery" : "close delivery", err);
        tw_store_done(q);
    }
    return tw_store_op_end(s, ret < 0 ? ret : TW_OK, err);
}

int tw_store_delivery_list(struct tw_store *s, int64_t task_id, size_t limit,
                           struct tw_delivery_attempt **out, size_t *n, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_ATTEMPT_LIST);
    struct tw_delivery_attempt *a = NULL;
    size_t cap = 0, count = 0;
    int ret;

    *out = NULL;
    *n = 0;
    sqlite3_bind_int64(q, 1, task_id);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)limit);
    while ((ret = tw_store_step(s, q, "list deliveries", err)) == 1) {
        struct tw_delivery_attempt *x;
        const unsigned char *uuid = sqlite3_column_text(q, 0);

        ret = tw_store_grow((void **)&a, &cap, count, sizeof(*a));
        if (ret != TW_OK) {
            ret = tw_err_set(err, ret, "store: list deliveries: out of memory");
            break;
        }
        x = &a[count++];
        snprintf(x->uuid, sizeof(x->uuid), "%s", uuid != NULL ? (const char *)uuid : "");
        x->attempt = (unsigned)sqlite3_column_int(q, 2);
        x->time = sqlite3_column_int64(q, 3);
        x->status = (long)sqlite3_column_int64(q, 4);
        x->duration_ms = sqlite3_column_int64(q, 6);
        ret = tw_store_col_str(q, 1, &x->event);
        if (ret == TW_OK)
            ret = tw_store_col_str(q, 5, &x->error);
        if (ret != TW_OK) {
            ret = tw_err_set(err, ret, "store: list deliveries: out of memory");
            break;
        }
    }
    tw_store_done(q);
    if (ret < 0) {
        tw_store_free_attempts(a, count);
        return ret;
    }
    *out = a;
    *n = count;
    return TW_OK;
}
