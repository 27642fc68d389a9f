/*
 * Credentials and request memory: service tokens (with their chains), admin users (with a
 * level per chain), admin sessions and idempotency keys.
 *
 * Only keyed hashes are stored: tokens.secret_mac and sessions.key_mac are HMAC-SHA256 values
 * computed by the auth layer, users.pw_hash a crypt(3) string. Looking a session up by its MAC
 * with SQL "=" is not constant-time, and need not be: the MAC is keyed, so timing reveals
 * nothing about the session key itself (the auth layer compares token MACs in constant time).
 * Expired rows are pruned lazily on the paths that meet them, so no timer is needed.
 */
#include "store/store_int.h" /* first: it names the SQLite driver's functions */

#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "core/mem.h"
#include "store/store_int.h"

/* Copy text column i into buf (truncating); TW_ENOMEM when SQLite could not produce it. */
static int copy_text(sqlite3_stmt *q, int i, char *buf, size_t size)
{
    const unsigned char *text = sqlite3_column_text(q, i);

    if (text == NULL)
        return TW_ENOMEM;
    snprintf(buf, size, "%s", (const char *)text);
    return TW_OK;
}

/* ---- tokens ---- */

int tw_store_token_insert(struct tw_store *s, const struct tw_token *t, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_TOKEN_INSERT);
    int rc = SQLITE_OK;
    size_t i;
    int ret;

    ret = tw_store_op_begin(s, err);
    if (ret != TW_OK)
        return ret;
    rc |= tw_store_bind_text(q, 1, t->id);
    rc |= tw_store_bind_text(q, 2, t->desc ? t->desc : "");
    rc |= sqlite3_bind_int(q, 3, t->level);
    rc |= sqlite3_bind_blob(q, 4, t->secret_mac, sizeof(t->secret_mac), SQLITE_STATIC);
    rc |= sqlite3_bind_int64(q, 5, t->created);
    rc |= sqlite3_bind_int(q, 6, t->revoked ? 1 : 0);
    if (rc != SQLITE_OK)
        ret = tw_store_fail(s, rc, "insert token", err);
    else
        ret = tw_store_step(s, q, "insert token", err);
    tw_store_done(q);
    q = tw_store_stmt(s, TW_STMT_TOKEN_CHAIN_INSERT);
    for (i = 0; ret == 0 && i < t->n_chains; i++) {
        tw_store_bind_text(q, 1, t->id);
        sqlite3_bind_int64(q, 2, t->chains[i]);
        ret = tw_store_step(s, q, "insert token chain", err);
        tw_store_done(q);
    }
    return tw_store_op_end(s, ret < 0 ? ret : TW_OK, err);
}

static int read_token_chains(struct tw_store *s, struct tw_token *out, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_TOKEN_CHAINS);
    size_t cap = 0;
    int ret;

    tw_store_bind_text(q, 1, out->id);
    for (;;) {
        ret = tw_store_step(s, q, "read token chains", err);
        if (ret <= 0)
            break;
        ret = tw_store_grow((void **)&out->chains, &cap, out->n_chains, sizeof(*out->chains));
        if (ret != TW_OK) {
            ret = tw_err_set(err, ret, "store: read token chains: out of memory");
            break;
        }
        out->chains[out->n_chains++] = sqlite3_column_int64(q, 0);
    }
    tw_store_done(q);
    return ret < 0 ? ret : TW_OK;
}

int tw_store_token_get(struct tw_store *s, const char *id, struct tw_token *out, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_TOKEN_GET);
    const void *mac;
    int ret;

    memset(out, 0, sizeof(*out));
    tw_store_bind_text(q, 1, id);
    ret = tw_store_step(s, q, "get token", err);
    if (ret == 0)
        ret = tw_err_set(err, TW_ENOTFOUND, "no token %s", id);
    if (ret == 1) {
        out->level = sqlite3_column_int(q, 2);
        mac = sqlite3_column_blob(q, 3);
        /* the schema's CHECK keeps it 32 bytes; copy no more than that regardless */
        if (mac != NULL && sqlite3_column_bytes(q, 3) == (int)sizeof(out->secret_mac))
            memcpy(out->secret_mac, mac, sizeof(out->secret_mac));
        out->created = sqlite3_column_int64(q, 4);
        out->revoked = sqlite3_column_int(q, 5) != 0;
        ret = copy_text(q, 0, out->id, sizeof(out->id));
        if (ret == TW_OK)
            ret = tw_store_col_str(q, 1, &out->desc);
        if (ret != TW_OK)
            ret = tw_err_set(err, ret, "store: get token: out of memory");
    }
    tw_store_done(q);
    if (ret == TW_OK)
        ret = read_token_chains(s, out, err);
    if (ret != TW_OK)
        tw_token_fini(out);
    return ret;
}

int tw_store_token_list(struct tw_store *s, struct tw_token **out, size_t *n, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_TOKEN_IDS);
    struct tw_token *tokens = NULL;
    size_t cap = 0, count = 0, i;
    int ret;

    *out = NULL;
    *n = 0;
    /* ids first, then each token: token_get reuses statements this loop would hold open */
    for (;;) {
        ret = tw_store_step(s, q, "list tokens", err);
        if (ret <= 0)
            break;
        ret = tw_store_grow((void **)&tokens, &cap, count, sizeof(*tokens));
        if (ret != TW_OK) {
            ret = tw_err_set(err, ret, "store: list tokens: out of memory");
            break;
        }
        if (copy_text(q, 0, tokens[count++].id, sizeof(tokens->id)) != TW_OK) {
            ret = tw_err_set(err, TW_ENOMEM, "store: list tokens: out of memory");
            break;
        }
    }
    tw_store_done(q);
    for (i = 0; ret == 0 && i < count; i++) {
        char id[sizeof(tokens->id)];

        memcpy(id, tokens[i].id, sizeof(id));
        ret = tw_store_token_get(s, id, &tokens[i], err);
    }
    if (ret < 0) {
        tw_store_free_tokens(tokens, count);
        return ret;
    }
    *out = tokens;
    *n = count;
    return TW_OK;
}

int tw_store_token_revoke(struct tw_store *s, const char *id, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_TOKEN_REVOKE);
    int ret;

    tw_store_bind_text(q, 1, id);
    ret = tw_store_step(s, q, "revoke token", err);
    tw_store_done(q);
    if (ret < 0)
        return ret;
    if (sqlite3_changes(s->db) == 0)
        return tw_err_set(err, TW_ENOTFOUND, "no token %s", id);
    return TW_OK;
}

/* ---- users and sessions ---- */

int tw_store_user_put(struct tw_store *s, struct tw_user *u, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_USER_UPSERT);
    int64_t id = 0;
    size_t i;
    int ret;

    ret = tw_store_op_begin(s, err);
    if (ret != TW_OK)
        return ret;
    tw_store_bind_text(q, 1, u->name);
    tw_store_bind_text(q, 2, u->pw_hash);
    ret = tw_store_step(s, q, "put user", err);
    if (ret == 1) {
        id = sqlite3_column_int64(q, 0);
        /* RETURNING yields one row; stepping to the end completes the statement */
        ret = tw_store_step(s, q, "put user", err);
    }
    tw_store_done(q);
    if (ret == 0) {
        q = tw_store_stmt(s, TW_STMT_USER_CHAINS_CLEAR);
        sqlite3_bind_int64(q, 1, id);
        ret = tw_store_step(s, q, "put user", err);
        tw_store_done(q);
    }
    /* A new password (and new access) ends every session made with the old one. */
    if (ret == 0) {
        q = tw_store_stmt(s, TW_STMT_SESSION_DELETE_USER);
        sqlite3_bind_int64(q, 1, id);
        ret = tw_store_step(s, q, "end sessions", err);
        tw_store_done(q);
    }
    q = tw_store_stmt(s, TW_STMT_USER_CHAIN_INSERT);
    for (i = 0; ret == 0 && i < u->n_access; i++) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_int64(q, 2, u->access[i].chain);
        sqlite3_bind_int(q, 3, u->access[i].level);
        ret = tw_store_step(s, q, "put user chain", err);
        tw_store_done(q);
    }
    ret = tw_store_op_end(s, ret < 0 ? ret : TW_OK, err);
    if (ret == TW_OK)
        u->id = id;
    return ret;
}

static int read_user_access(struct tw_store *s, struct tw_user *out, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_USER_CHAINS);
    size_t cap = 0;
    int ret;

    sqlite3_bind_int64(q, 1, out->id);
    for (;;) {
        ret = tw_store_step(s, q, "read user chains", err);
        if (ret <= 0)
            break;
        ret = tw_store_grow((void **)&out->access, &cap, out->n_access, sizeof(*out->access));
        if (ret != TW_OK) {
            ret = tw_err_set(err, ret, "store: read user chains: out of memory");
            break;
        }
        out->access[out->n_access].chain = sqlite3_column_int64(q, 0);
        out->access[out->n_access].level = sqlite3_column_int(q, 1);
        out->n_access++;
    }
    tw_store_done(q);
    return ret < 0 ? ret : TW_OK;
}

/* Finish a USER_GET/USER_GET_BY_NAME statement the caller has bound. */
static int read_user(struct tw_store *s, sqlite3_stmt *q, const char *who, struct tw_user *out,
                     struct tw_err *err)
{
    int ret;

    ret = tw_store_step(s, q, "get user", err);
    if (ret == 0)
        ret = tw_err_set(err, TW_ENOTFOUND, "no user %s", who);
    if (ret == 1) {
        out->id = sqlite3_column_int64(q, 0);
        ret = tw_store_col_str(q, 1, &out->name);
        if (ret == TW_OK)
            ret = tw_store_col_str(q, 2, &out->pw_hash);
        if (ret != TW_OK)
            ret = tw_err_set(err, ret, "store: get user: out of memory");
    }
    tw_store_done(q);
    if (ret == TW_OK)
        ret = read_user_access(s, out, err);
    if (ret != TW_OK)
        tw_user_fini(out);
    return ret;
}

int tw_store_user_get_by_name(struct tw_store *s, const char *name, struct tw_user *out,
                              struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_USER_GET_BY_NAME);

    memset(out, 0, sizeof(*out));
    tw_store_bind_text(q, 1, name);
    return read_user(s, q, name, out, err);
}

int tw_store_user_get(struct tw_store *s, int64_t id, struct tw_user *out, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_USER_GET);
    char who[32];

    memset(out, 0, sizeof(*out));
    snprintf(who, sizeof(who), "%lld", (long long)id);
    sqlite3_bind_int64(q, 1, id);
    return read_user(s, q, who, out, err);
}

int tw_store_session_insert(struct tw_store *s, int64_t user_id, const unsigned char key_mac[32],
                            int64_t expires, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_SESSION_INSERT);
    int ret;

    sqlite3_bind_int64(q, 1, user_id);
    sqlite3_bind_blob(q, 2, key_mac, 32, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, expires);
    ret = tw_store_step(s, q, "insert session", err);
    tw_store_done(q);
    if (ret == TW_ENOTFOUND) /* the foreign key: no such user */
        ret = tw_err_set(err, TW_ENOTFOUND, "no user %lld", (long long)user_id);
    return ret < 0 ? ret : TW_OK;
}

int tw_store_session_check(struct tw_store *s, int64_t user_id, const unsigned char key_mac[32],
                           int64_t now, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_SESSION_CHECK);
    int ret;

    sqlite3_bind_int64(q, 1, user_id);
    sqlite3_bind_blob(q, 2, key_mac, 32, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, now);
    ret = tw_store_step(s, q, "check session", err);
    tw_store_done(q);
    if (ret == 1)
        return TW_OK;
    if (ret < 0)
        return ret;
    /* a miss is when stale sessions of this user are worth clearing out */
    q = tw_store_stmt(s, TW_STMT_SESSION_PRUNE);
    sqlite3_bind_int64(q, 1, user_id);
    sqlite3_bind_int64(q, 2, now);
    /*
     * Housekeeping only: inside an API GET's read transaction (tw_store_begin_read) this write
     * can fail busy while another connection writes; the answer is still "no session".
     */
    (void)tw_store_step(s, q, "prune sessions", NULL);
    tw_store_done(q);
    return tw_err_set(err, TW_ENOTFOUND, "no valid session");
}

/* ---- idempotency ---- */

int tw_store_idem_get(struct tw_store *s, const char *caller, const char *key, int64_t not_before,
                      int64_t *task_id, char body_sha256[65], struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_IDEM_PRUNE);
    int ret;

    /*
     * Prune first: an expired key must not block re-use of the same key (UNIQUE (caller,
     * idem_key)) by the insert that follows a miss.
     */
    sqlite3_bind_int64(q, 1, not_before);
    ret = tw_store_step(s, q, "prune idempotency keys", err);
    tw_store_done(q);
    if (ret < 0)
        return ret;
    q = tw_store_stmt(s, TW_STMT_IDEM_GET);
    tw_store_bind_text(q, 1, caller);
    tw_store_bind_text(q, 2, key);
    sqlite3_bind_int64(q, 3, not_before);
    ret = tw_store_step(s, q, "get idempotency key", err);
    if (ret == 0)
        ret = tw_err_set(err, TW_ENOTFOUND, "no such idempotency key");
    if (ret == 1) {
        *task_id = sqlite3_column_int64(q, 0);
        ret = copy_text(q, 1, body_sha256, 65);
        if (ret != TW_OK)
            ret = tw_err_set(err, ret, "store: get idempotency key: out of memory");
    }
    tw_store_done(q);
    return ret;
}

/* The id of user name, or TW_ENOTFOUND. */
static int user_id_of(struct tw_store *s, const char *name, int64_t *id, struct tw_err *err)
{
    struct tw_user u;
    int ret;

    ret = tw_store_user_get_by_name(s, name, &u, err);
    if (ret == TW_OK)
        *id = u.id;
    tw_user_fini(&u);
    return ret;
}

/* Run stmt (bound to the id of user name) in one operation; *changes gets the rows it touched. */
static int by_user(struct tw_store *s, const char *name, enum tw_stmt stmt, const char *what,
                   int64_t *changes, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, stmt);
    int64_t id = 0;
    int ret;

    *changes = 0;
    ret = tw_store_op_begin(s, err);
    if (ret != TW_OK)
        return ret;
    ret = user_id_of(s, name, &id, err);
    if (ret == TW_OK) {
        sqlite3_bind_int64(q, 1, id);
        ret = tw_store_step(s, q, what, err);
        tw_store_done(q);
        *changes = sqlite3_changes64(s->db);
    }
    return tw_store_op_end(s, ret < 0 ? ret : TW_OK, err);
}

int tw_store_user_remove(struct tw_store *s, const char *name, struct tw_err *err)
{
    int64_t changes;

    return by_user(s, name, TW_STMT_USER_DELETE, "remove user", &changes, err);
}

int tw_store_sessions_revoke(struct tw_store *s, const char *name, int64_t *n, struct tw_err *err)
{
    return by_user(s, name, TW_STMT_SESSION_DELETE_USER, "end sessions", n, err);
}
