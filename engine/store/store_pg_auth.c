/*
 * PostgreSQL store: tokens, admin users and sessions, saved segments and webhooks, with the
 * semantics of store_auth.c, store_segments.c and store_webhooks.c.
 */
#include "store/store_pg_int.h"

#include <stdio.h>
#include <string.h>

#include "core/mem.h"

/* A bytea column (hex text "\x..") of exactly 32 bytes into mac; else mac stays zero. */
static void read_mac(const PGresult *r, int row, int col, unsigned char mac[32])
{
    size_t len = 0;
    unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &len);

    if (raw != NULL && len == 32)
        memcpy(mac, raw, 32);
    PQfreemem(raw);
}

/* Read an id list (column 0) into *ids (caller frees). */
static int read_ids(const PGresult *r, int64_t **ids, size_t *n)
{
    int rows = PQntuples(r), i;

    *ids = NULL;
    *n = 0;
    if (rows == 0)
        return TW_OK;
    *ids = tw_calloc((size_t)rows, sizeof(**ids));
    if (*ids == NULL)
        return TW_ENOMEM;
    for (i = 0; i < rows; i++)
        (*ids)[i] = tw_pg_col_i64(r, i, 0);
    *n = (size_t)rows;
    return TW_OK;
}

/* ---- tokens ---- */

int tw_pg_token_insert(struct tw_store *s, const struct tw_token *t, struct tw_err *err)
{
    struct tw_pg_store *p = TW_PG(s);
    struct tw_pg_args a = { 0 };
    size_t i;
    int ret;

    ret = tw_pg_op_begin(p, err);
    if (ret != TW_OK)
        return ret;
    tw_pg_text(&a, t->id);
    tw_pg_text(&a, t->desc ? t->desc : "");
    tw_pg_i64(&a, t->level);
    if (tw_pg_mac(&a, t->secret_mac) != TW_OK)
        ret = tw_err_set(err, TW_ENOMEM, "store: insert token: out of memory");
    tw_pg_i64(&a, t->created);
    tw_pg_i64(&a, t->revoked ? 1 : 0);
    if (ret == TW_OK)
        ret = tw_pg_run(p, TW_PG_TOKEN_INSERT, &a, NULL, NULL, "insert token", err);
    tw_pg_args_fini(&a);
    for (i = 0; ret == TW_OK && i < t->n_chains; i++) {
        struct tw_pg_args c = { 0 };

        tw_pg_text(&c, t->id);
        tw_pg_i64(&c, t->chains[i]);
        ret = tw_pg_run(p, TW_PG_TOKEN_CHAIN_INSERT, &c, NULL, NULL, "insert token chain", err);
    }
    return tw_pg_op_end(p, ret, err);
}

int tw_pg_token_get(struct tw_store *s, const char *id, struct tw_token *out, struct tw_err *err)
{
    struct tw_pg_store *p = TW_PG(s);
    struct tw_pg_args a = { 0 };
    PGresult *r;
    int ret;

    memset(out, 0, sizeof(*out));
    tw_pg_text(&a, id);
    ret = tw_pg_run(p, TW_PG_TOKEN_GET, &a, &r, NULL, "get token", err);
    if (ret != TW_OK)
        return ret;
    if (PQntuples(r) == 0) {
        ret = tw_err_set(err, TW_ENOTFOUND, "no token %s", id);
    } else {
        snprintf(out->id, sizeof(out->id), "%s", PQgetvalue(r, 0, 0));
        out->level = (int)tw_pg_col_i64(r, 0, 2);
        read_mac(r, 0, 3, out->secret_mac);
        out->created = tw_pg_col_i64(r, 0, 4);
        out->revoked = tw_pg_col_i64(r, 0, 5) != 0;
        if (tw_pg_col_str(r, 0, 1, &out->desc) != TW_OK)
            ret = tw_err_set(err, TW_ENOMEM, "store: get token: out of memory");
    }
    PQclear(r);
    if (ret == TW_OK)
        ret = tw_pg_run(p, TW_PG_TOKEN_CHAINS, &a, &r, NULL, "read token chains", err);
    if (ret == TW_OK) {
        if (read_ids(r, &out->chains, &out->n_chains) != TW_OK)
            ret = tw_err_set(err, TW_ENOMEM, "store: read token chains: out of memory");
        PQclear(r);
    }
    if (ret != TW_OK)
        tw_token_fini(out);
    return ret;
}

int tw_pg_token_list(struct tw_store *s, struct tw_token **out, size_t *n, struct tw_err *err)
{
    struct tw_token *tokens = NULL;
    PGresult *r;
    int rows, i, ret;

    *out = NULL;
    *n = 0;
    ret = tw_pg_run(TW_PG(s), TW_PG_TOKEN_IDS, NULL, &r, NULL, "list tokens", err);
    if (ret != TW_OK)
        return ret;
    rows = PQntuples(r);
    if (rows > 0 && (tokens = tw_calloc((size_t)rows, sizeof(*tokens))) == NULL)
        ret = tw_err_set(err, TW_ENOMEM, "store: list tokens: out of memory");
    for (i = 0; ret == TW_OK && i < rows; i++)
        ret = tw_pg_token_get(s, PQgetvalue(r, i, 0), &tokens[i], err);
    PQclear(r);
    if (ret != TW_OK) {
        tw_store_free_tokens(tokens, tokens != NULL ? (size_t)rows : 0);
        return ret;
    }
    *out = tokens;
    *n = (size_t)rows;
    return TW_OK;
}

int tw_pg_token_revoke(struct tw_store *s, const char *id, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    int64_t changed = 0;
    int ret;

    tw_pg_text(&a, id);
    ret = tw_pg_run(TW_PG(s), TW_PG_TOKEN_REVOKE, &a, NULL, &changed, "revoke token", err);
    if (ret == TW_OK && changed == 0)
        ret = tw_err_set(err, TW_ENOTFOUND, "no token %s", id);
    return ret;
}

/* ---- users and sessions ---- */

static int by_id(struct tw_pg_store *p, enum tw_pg_stmt st, int64_t id, int64_t *changed,
                 const char *what, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };

    tw_pg_i64(&a, id);
    return tw_pg_run(p, st, &a, NULL, changed, what, err);
}

int tw_pg_user_put(struct tw_store *s, struct tw_user *u, struct tw_err *err)
{
    struct tw_pg_store *p = TW_PG(s);
    struct tw_pg_args a = { 0 };
    PGresult *r;
    int64_t id = 0;
    size_t i;
    int ret;

    ret = tw_pg_op_begin(p, err);
    if (ret != TW_OK)
        return ret;
    tw_pg_text(&a, u->name);
    tw_pg_text(&a, u->pw_hash);
    ret = tw_pg_run(p, TW_PG_USER_UPSERT, &a, &r, NULL, "put user", err);
    if (ret == TW_OK) {
        id = tw_pg_col_i64(r, 0, 0);
        PQclear(r);
        ret = by_id(p, TW_PG_USER_CHAINS_CLEAR, id, NULL, "put user", err);
    }
    /* a new password (and new access) ends every session made with the old one */
    if (ret == TW_OK)
        ret = by_id(p, TW_PG_SESSION_DELETE_USER, id, NULL, "end sessions", err);
    for (i = 0; ret == TW_OK && i < u->n_access; i++) {
        struct tw_pg_args c = { 0 };

        tw_pg_i64(&c, id);
        tw_pg_i64(&c, u->access[i].chain);
        tw_pg_i64(&c, u->access[i].level);
        ret = tw_pg_run(p, TW_PG_USER_CHAIN_INSERT, &c, NULL, NULL, "put user chain", err);
    }
    ret = tw_pg_op_end(p, ret, err);
    if (ret == TW_OK)
        u->id = id;
    return ret;
}

/* Finish USER_GET/USER_GET_BY_NAME with a: the row and its chain access. */
static int read_user(struct tw_pg_store *p, enum tw_pg_stmt st, const struct tw_pg_args *a,
                     const char *who, struct tw_user *out, struct tw_err *err)
{
    PGresult *r;
    int i, rows, ret;

    memset(out, 0, sizeof(*out));
    ret = tw_pg_run(p, st, a, &r, NULL, "get user", err);
    if (ret != TW_OK)
        return ret;
    if (PQntuples(r) == 0) {
        ret = tw_err_set(err, TW_ENOTFOUND, "no user %s", who);
    } else {
        out->id = tw_pg_col_i64(r, 0, 0);
        if (tw_pg_col_str(r, 0, 1, &out->name) != TW_OK ||
            tw_pg_col_str(r, 0, 2, &out->pw_hash) != TW_OK)
            ret = tw_err_set(err, TW_ENOMEM, "store: get user: out of memory");
    }
    PQclear(r);
    if (ret == TW_OK) {
        struct tw_pg_args b = { 0 };

        tw_pg_i64(&b, out->id);
        ret = tw_pg_run(p, TW_PG_USER_CHAINS, &b, &r, NULL, "read user chains", err);
    }
    if (ret == TW_OK) {
        rows = PQntuples(r);
        if (rows > 0 && (out->access = tw_calloc((size_t)rows, sizeof(*out->access))) == NULL)
            ret = tw_err_set(err, TW_ENOMEM, "store: read user chains: out of memory");
        for (i = 0; ret == TW_OK && i < rows; i++) {
            out->access[i].chain = tw_pg_col_i64(r, i, 0);
            out->access[i].level = (int)tw_pg_col_i64(r, i, 1);
            out->n_access++;
        }
        PQclear(r);
    }
    if (ret != TW_OK)
        tw_user_fini(out);
    return ret;
}

int tw_pg_user_get_by_name(struct tw_store *s, const char *name, struct tw_user *out,
                           struct tw_err *err)
{
    struct tw_pg_args a = { 0 };

    tw_pg_text(&a, name);
    return read_user(TW_PG(s), TW_PG_USER_GET_BY_NAME, &a, name, out, err);
}

int tw_pg_user_get(struct tw_store *s, int64_t id, struct tw_user *out, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    char who[32];

    snprintf(who, sizeof(who), "%lld", (long long)id);
    tw_pg_i64(&a, id);
    return read_user(TW_PG(s), TW_PG_USER_GET, &a, who, out, err);
}

int tw_pg_session_insert(struct tw_store *s, int64_t user_id, const unsigned char key_mac[32],
                         int64_t expires, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    int ret;

    tw_pg_i64(&a, user_id);
    if (tw_pg_mac(&a, key_mac) != TW_OK) {
        tw_pg_args_fini(&a);
        return tw_err_set(err, TW_ENOMEM, "store: insert session: out of memory");
    }
    tw_pg_i64(&a, expires);
    ret = tw_pg_run(TW_PG(s), TW_PG_SESSION_INSERT, &a, NULL, NULL, "insert session", err);
    tw_pg_args_fini(&a);
    if (ret == TW_ENOTFOUND)
        ret = tw_err_set(err, TW_ENOTFOUND, "no user %lld", (long long)user_id);
    return ret;
}

int tw_pg_session_check(struct tw_store *s, int64_t user_id, const unsigned char key_mac[32],
                        int64_t now, struct tw_err *err)
{
    struct tw_pg_args a = { 0 }, b = { 0 };
    PGresult *r;
    int found, ret;

    tw_pg_i64(&a, user_id);
    if (tw_pg_mac(&a, key_mac) != TW_OK) {
        tw_pg_args_fini(&a);
        return tw_err_set(err, TW_ENOMEM, "store: check session: out of memory");
    }
    tw_pg_i64(&a, now);
    ret = tw_pg_run(TW_PG(s), TW_PG_SESSION_CHECK, &a, &r, NULL, "check session", err);
    tw_pg_args_fini(&a);
    if (ret != TW_OK)
        return ret;
    found = PQntuples(r) > 0;
    PQclear(r);
    if (found)
        return TW_OK;
    /* a miss is when stale sessions of this user are worth clearing out */
    tw_pg_i64(&b, user_id);
    tw_pg_i64(&b, now);
    ret = tw_pg_run(TW_PG(s), TW_PG_SESSION_PRUNE, &b, NULL, NULL, "prune sessions", err);
    if (ret != TW_OK)
        return ret;
    return tw_err_set(err, TW_ENOTFOUND, "no valid session");
}

int tw_pg_user_remove(struct tw_store *s, const char *name, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    int64_t changed = 0;
    int ret;

    /* user_chains and sessions follow by ON DELETE CASCADE */
    tw_pg_text(&a, name);
    ret = tw_pg_run(TW_PG(s), TW_PG_USER_DELETE, &a, NULL, &changed, "remove user", err);
    if (ret == TW_OK && changed == 0)
        ret = tw_err_set(err, TW_ENOTFOUND, "no user %s", name);
    return ret;
}

int tw_pg_sessions_revoke(struct tw_store *s, const char *name, int64_t *n, struct tw_err *err)
{
    struct tw_user u;
    int ret;

    *n = 0;
    ret = tw_pg_user_get_by_name(s, name, &u, err);
    if (ret == TW_OK)
        ret = by_id(TW_PG(s), TW_PG_SESSION_DELETE_USER, u.id, n, "end sessions", err);
    tw_user_fini(&u);
    return ret;
}

/* ---- saved segments ---- */

static int read_segment(const PGresult *r, int row, struct tw_segment *g)
{
    g->id = tw_pg_col_i64(r, row, 0);
    g->chain = tw_pg_col_i64(r, row, 1);
    g->created = tw_pg_col_i64(r, row, 4);
    g->last_modified = tw_pg_col_i64(r, row, 5);
    if (tw_pg_col_str(r, row, 2, &g->name) != TW_OK ||
        tw_pg_col_str(r, row, 3, &g->segment_json) != TW_OK)
        return TW_ENOMEM;
    return TW_OK;
}

int tw_pg_segment_insert(struct tw_store *s, struct tw_segment *g, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    PGresult *r;
    int ret;

    tw_pg_i64(&a, g->chain);
    tw_pg_text(&a, g->name ? g->name : "");
    tw_pg_text(&a, g->segment_json);
    tw_pg_i64(&a, g->created);
    tw_pg_i64(&a, g->last_modified);
    ret = tw_pg_run(TW_PG(s), TW_PG_SEG_INSERT, &a, &r, NULL, "insert segment", err);
    if (ret != TW_OK)
        return ret;
    g->id = tw_pg_col_i64(r, 0, 0);
    PQclear(r);
    return TW_OK;
}

int tw_pg_segment_get(struct tw_store *s, int64_t id, struct tw_segment *out, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    PGresult *r;
    int ret;

    memset(out, 0, sizeof(*out));
    tw_pg_i64(&a, id);
    ret = tw_pg_run(TW_PG(s), TW_PG_SEG_GET, &a, &r, NULL, "get segment", err);
    if (ret != TW_OK)
        return ret;
    if (PQntuples(r) == 0)
        ret = tw_err_set(err, TW_ENOTFOUND, "segment %lld not found", (long long)id);
    else if (read_segment(r, 0, out) != TW_OK)
        ret = tw_err_set(err, TW_ENOMEM, "store: get segment: out of memory");
    PQclear(r);
    if (ret != TW_OK)
        tw_store_segment_fini(out);
    return ret;
}

int tw_pg_segment_list(struct tw_store *s, const int64_t *chains, size_t n_chains,
                       struct tw_segment **out, size_t *n, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    struct tw_segment *v = NULL;
    PGresult *r;
    int rows, i, ret;

    *out = NULL;
    *n = 0;
    if (n_chains == 0)
        return TW_OK;
    if (tw_pg_i64s(&a, chains, n_chains) != TW_OK) {
        tw_pg_args_fini(&a);
        return tw_err_set(err, TW_ENOMEM, "store: list segments: out of memory");
    }
    ret = tw_pg_run(TW_PG(s), TW_PG_SEG_LIST, &a, &r, NULL, "list segments", err);
    tw_pg_args_fini(&a);
    if (ret != TW_OK)
        return ret;
    rows = PQntuples(r);
    if (rows > 0 && (v = tw_calloc((size_t)rows, sizeof(*v))) == NULL)
        ret = TW_ENOMEM;
    for (i = 0; ret == TW_OK && i < rows; i++)
        ret = read_segment(r, i, &v[i]);
    PQclear(r);
    if (ret != TW_OK) {
        tw_store_free_segments(v, v != NULL ? (size_t)rows : 0);
        return tw_err_set(err, TW_ENOMEM, "store: list segments: out of memory");
    }
    *out = v;
    *n = (size_t)rows;
    return TW_OK;
}

int tw_pg_segment_update(struct tw_store *s, const struct tw_segment *g, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    int64_t changed = 0;
    int ret;

    tw_pg_i64(&a, g->id);
    tw_pg_text(&a, g->name ? g->name : "");
    tw_pg_text(&a, g->segment_json);
    tw_pg_i64(&a, g->last_modified);
    ret = tw_pg_run(TW_PG(s), TW_PG_SEG_UPDATE, &a, NULL, &changed, "update segment", err);
    if (ret == TW_OK && changed == 0)
        ret = tw_err_set(err, TW_ENOTFOUND, "segment %lld not found", (long long)g->id);
    return ret;
}

int tw_pg_segment_users(struct tw_store *s, int64_t id, int64_t **users, size_t *n_users,
                        struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    PGresult *r;
    int ret;

    *users = NULL;
    *n_users = 0;
    tw_pg_i64(&a, id);
    ret = tw_pg_run(TW_PG(s), TW_PG_SEG_USERS, &a, &r, NULL, "find segment users", err);
    if (ret != TW_OK)
        return ret;
    if (read_ids(r, users, n_users) != TW_OK)
        ret = tw_err_set(err, TW_ENOMEM, "store: find segment users: out of memory");
    PQclear(r);
    return ret;
}

int tw_pg_segment_delete(struct tw_store *s, int64_t id, int64_t **users, size_t *n_users,
                         struct tw_err *err)
{
    struct tw_pg_store *p = TW_PG(s);
    int64_t *found = NULL;
    size_t n_found = 0;
    int64_t changed = 0;
    int ret;

    *users = NULL;
    *n_users = 0;
    ret = tw_pg_op_begin(p, err);
    if (ret != TW_OK)
        return ret;
    ret = tw_pg_segment_users(s, id, &found, &n_found, err);
    if (ret == TW_OK && n_found > 0)
        ret = tw_err_set(err, TW_ECONFLICT, "segment %lld is used by %zu task%s", (long long)id,
                         n_found, n_found == 1 ? "" : "s");
    if (ret == TW_OK)
        ret = by_id(p, TW_PG_SEG_DELETE, id, &changed, "delete segment", err);
    if (ret == TW_OK && changed == 0)
        ret = tw_err_set(err, TW_ENOTFOUND, "segment %lld not found", (long long)id);
    ret = tw_pg_op_end(p, ret, err);
    if (ret == TW_ECONFLICT) {
        *users = found;
        *n_users = n_found;
        found = NULL;
    }
    tw_free(found);
    return ret;
}

/* ---- webhooks ---- */

int tw_pg_webhook_set(struct tw_store *s, int64_t task_id, const char *url, unsigned events,
                      struct tw_err *err)
{
    struct tw_pg_args a = { 0 };

    if (url != NULL && (events == 0 || events > 3))
        return tw_err_set(err, TW_EINVAL, "store: webhook events must be DONE, ERROR or both");
    tw_pg_i64(&a, task_id);
    if (url == NULL)
        return tw_pg_run(TW_PG(s), TW_PG_HOOK_DELETE, &a, NULL, NULL, "remove webhook", err);
    tw_pg_text(&a, url);
    tw_pg_i64(&a, events);
    return tw_pg_run(TW_PG(s), TW_PG_HOOK_UPSERT, &a, NULL, NULL, "set webhook", err);
}

int tw_pg_webhook_get(struct tw_store *s, int64_t task_id, char **url, unsigned *events,
                      struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    PGresult *r;
    int ret;

    *url = NULL;
    *events = 0;
    tw_pg_i64(&a, task_id);
    ret = tw_pg_run(TW_PG(s), TW_PG_HOOK_GET, &a, &r, NULL, "get webhook", err);
    if (ret != TW_OK)
        return ret;
    if (PQntuples(r) == 0) {
        ret = tw_err_set(err, TW_ENOTFOUND, "task %lld has no webhook", (long long)task_id);
    } else {
        *events = (unsigned)tw_pg_col_i64(r, 0, 1);
        if (tw_pg_col_str(r, 0, 0, url) != TW_OK)
            ret = tw_err_set(err, TW_ENOMEM, "store: get webhook: out of memory");
    }
    PQclear(r);
    return ret;
}

int tw_pg_webhook_secret_add(struct tw_store *s, int64_t chain, const char *secret, int64_t now,
                             int64_t overlap_s, struct tw_err *err)
{
    struct tw_pg_store *p = TW_PG(s);
    struct tw_pg_args a = { 0 }, b = { 0 };
    int ret = tw_pg_op_begin(p, err);

    if (ret != TW_OK)
        return ret;
    tw_pg_i64(&a, chain);
    tw_pg_i64(&a, now + overlap_s);
    ret = tw_pg_run(p, TW_PG_HOOK_SECRET_EXPIRE, &a, NULL, NULL, "expire webhook secrets", err);
    if (ret == TW_OK) {
        tw_pg_i64(&b, chain);
        tw_pg_text(&b, secret);
        tw_pg_i64(&b, now);
        ret = tw_pg_run(p, TW_PG_HOOK_SECRET_INSERT, &b, NULL, NULL, "add webhook secret", err);
    }
    return tw_pg_op_end(p, ret, err);
}

int tw_pg_webhook_secrets(struct tw_store *s, int64_t chain, int64_t now, char ***out, size_t *n,
                          struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    char **v = NULL;
    PGresult *r;
    int rows, i, ret;

    *out = NULL;
    *n = 0;
    tw_pg_i64(&a, chain);
    tw_pg_i64(&a, now);
    ret = tw_pg_run(TW_PG(s), TW_PG_HOOK_SECRETS, &a, &r, NULL, "list webhook secrets", err);
    if (ret != TW_OK)
        return ret;
    rows = PQntuples(r);
    if (rows > 0 && (v = tw_calloc((size_t)rows, sizeof(*v))) == NULL)
        ret = TW_ENOMEM;
    for (i = 0; ret == TW_OK && i < rows; i++)
        ret = tw_pg_col_str(r, i, 0, &v[i]);
    PQclear(r);
    if (ret != TW_OK) {
        tw_store_free_strings(v, v != NULL ? (size_t)rows : 0);
        return tw_err_set(err, TW_ENOMEM, "store: list webhook secrets: out of memory");
    }
    *out = v;
    *n = (size_t)rows;
    return TW_OK;
}

int tw_pg_outbox_add(struct tw_store *s, struct tw_delivery *d, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    PGresult *r;
    int ret;

    tw_pg_text(&a, d->uuid);
    tw_pg_i64(&a, d->task_id);
    tw_pg_i64(&a, d->chain);
    tw_pg_text(&a, d->event);
    tw_pg_text(&a, d->url);
    tw_pg_text(&a, d->body);
    tw_pg_i64(&a, d->next_at);
    ret = tw_pg_run(TW_PG(s), TW_PG_OUTBOX_INSERT, &a, &r, NULL, "queue webhook delivery", err);
    if (ret != TW_OK)
        return ret;
    d->id = tw_pg_col_i64(r, 0, 0);
    PQclear(r);
    return TW_OK;
}

int tw_pg_outbox_due(struct tw_store *s, int64_t now, size_t limit, struct tw_delivery **out,
                     size_t *n, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    struct tw_delivery *v = NULL;
    PGresult *r;
    int rows, i, ret;

    *out = NULL;
    *n = 0;
    tw_pg_i64(&a, now);
    tw_pg_i64(&a, (int64_t)limit);
    ret = tw_pg_run(TW_PG(s), TW_PG_OUTBOX_DUE, &a, &r, NULL, "list due deliveries", err);
    if (ret != TW_OK)
        return ret;
    rows = PQntuples(r);
    if (rows > 0 && (v = tw_calloc((size_t)rows, sizeof(*v))) == NULL)
        ret = TW_ENOMEM;
    for (i = 0; ret == TW_OK && i < rows; i++) {
        struct tw_delivery *d = &v[i];

        d->id = tw_pg_col_i64(r, i, 0);
        snprintf(d->uuid, sizeof(d->uuid), "%s", PQgetvalue(r, i, 1));
        d->task_id = tw_pg_col_i64(r, i, 2);
        d->chain = tw_pg_col_i64(r, i, 3);
        d->attempts = (unsigned)tw_pg_col_i64(r, i, 7);
        d->next_at = tw_pg_col_i64(r, i, 8);
        if (tw_pg_col_str(r, i, 4, &d->event) != TW_OK ||
            tw_pg_col_str(r, i, 5, &d->url) != TW_OK || tw_pg_col_str(r, i, 6, &d->body) != TW_OK)
            ret = TW_ENOMEM;
    }
    PQclear(r);
    if (ret != TW_OK) {
        tw_store_free_deliveries(v, v != NULL ? (size_t)rows : 0);
        return tw_err_set(err, TW_ENOMEM, "store: list due deliveries: out of memory");
    }
    *out = v;
    *n = (size_t)rows;
    return TW_OK;
}

int tw_pg_outbox_next(struct tw_store *s, int64_t *next_at, struct tw_err *err)
{
    PGresult *r;
    int ret;

    *next_at = 0;
    ret = tw_pg_run(TW_PG(s), TW_PG_OUTBOX_NEXT, NULL, &r, NULL, "next delivery", err);
    if (ret != TW_OK)
        return ret;
    if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        *next_at = tw_pg_col_i64(r, 0, 0);
    PQclear(r);
    return TW_OK;
}

int tw_pg_outbox_lease(struct tw_store *s, int64_t id, int64_t until_ms, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };

    tw_pg_i64(&a, id);
    tw_pg_i64(&a, until_ms);
    return tw_pg_run(TW_PG(s), TW_PG_OUTBOX_LEASE, &a, NULL, NULL, "lease delivery", err);
}

int tw_pg_outbox_record(struct tw_store *s, int64_t id, int64_t task_id,
                        const struct tw_delivery_attempt *at, int64_t next_at, struct tw_err *err)
{
    struct tw_pg_store *p = TW_PG(s);
    struct tw_pg_args a = { 0 }, b = { 0 };
    int ret = tw_pg_op_begin(p, err);

    if (ret != TW_OK)
        return ret;
    tw_pg_i64(&a, task_id);
    tw_pg_text(&a, at->uuid);
    tw_pg_text(&a, at->event);
    tw_pg_i64(&a, at->attempt);
    tw_pg_i64(&a, at->time);
    tw_pg_i64(&a, at->status);
    tw_pg_text(&a, at->error != NULL ? at->error : "");
    tw_pg_i64(&a, at->duration_ms);
    ret = tw_pg_run(p, TW_PG_ATTEMPT_INSERT, &a, NULL, NULL, "record delivery attempt", err);
    if (ret == TW_OK) {
        tw_pg_i64(&b, id);
        if (next_at > 0)
            tw_pg_i64(&b, next_at);
        ret = tw_pg_run(p, next_at > 0 ? TW_PG_OUTBOX_RESCHEDULE : TW_PG_OUTBOX_CLOSE, &b, NULL,
                        NULL, next_at > 0 ? "reschedule delivery" : "close delivery", err);
    }
    return tw_pg_op_end(p, ret, err);
}

int tw_pg_delivery_list(struct tw_store *s, int64_t task_id, size_t limit,
                        struct tw_delivery_attempt **out, size_t *n, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    struct tw_delivery_attempt *v = NULL;
    PGresult *r;
    int rows, i, ret;

    *out = NULL;
    *n = 0;
    tw_pg_i64(&a, task_id);
    tw_pg_i64(&a, (int64_t)limit);
    ret = tw_pg_run(TW_PG(s), TW_PG_ATTEMPT_LIST, &a, &r, NULL, "list deliveries", err);
    if (ret != TW_OK)
        return ret;
    rows = PQntuples(r);
    if (rows > 0 && (v = tw_calloc((size_t)rows, sizeof(*v))) == NULL)
        ret = TW_ENOMEM;
    for (i = 0; ret == TW_OK && i < rows; i++) {
        struct tw_delivery_attempt *x = &v[i];

        snprintf(x->uuid, sizeof(x->uuid), "%s", PQgetvalue(r, i, 0));
        x->attempt = (unsigned)tw_pg_col_i64(r, i, 2);
        x->time = tw_pg_col_i64(r, i, 3);
        x->status = (long)tw_pg_col_i64(r, i, 4);
        x->duration_ms = tw_pg_col_i64(r, i, 6);
        if (tw_pg_col_str(r, i, 1, &x->event) != TW_OK ||
            tw_pg_col_str(r, i, 5, &x->error) != TW_OK)
            ret = TW_ENOMEM;
    }
    PQclear(r);
    if (ret != TW_OK) {
        tw_store_free_attempts(v, v != NULL ? (size_t)rows : 0);
        return tw_err_set(err, TW_ENOMEM, "store: list deliveries: out of memory");
    }
    *out = v;
    *n = (size_t)rows;
    return TW_OK;
}
