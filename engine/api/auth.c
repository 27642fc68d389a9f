/*
 * Authentication and chain access (docs/reference.md §4). Two kinds of callers:
 *  - privileged tokens, "Authorization: Bearer <uuid>:<secret>": the secret is checked as
 *    HMAC-SHA256(server key, secret) against the stored MAC, in constant time;
 *  - admin sessions: X-Spaaza-Session-User-Id / -Key / -Chain-Id; the key is checked the same
 *    way, and the caller acts on that one chain with the user's level for it.
 * Every failure of credentials is the same 401 no_valid_session, so a probe learns nothing
 * about which part was wrong; the description still says what a legitimate client must fix.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/fmt.h"
#include "core/mem.h"

void tw_caller_fini(struct tw_caller *c)
{
    tw_free(c->chains);
    tw_free(c->levels);
    c->chains = NULL;
    c->levels = NULL;
    c->n = 0;
}

int tw_caller_level(const struct tw_caller *c, int64_t chain)
{
    size_t i;

    for (i = 0; i < c->n; i++)
        if (c->chains[i] == chain)
            return c->levels[i];
    return TW_LEVEL_NONE;
}

static bool unauthorized(struct tw_req *r, const char *why)
{
    tw_add_header(r, "WWW-Authenticate", "Bearer realm=\"taskwheel\"");
    tw_reply_error(r, 401, "no_valid_session", NULL, "%s", why);
    return false;
}

static bool caller_alloc(struct tw_caller *c, size_t n)
{
    c->chains = tw_calloc(n ? n : 1, sizeof(*c->chains));
    c->levels = tw_calloc(n ? n : 1, sizeof(*c->levels));
    c->n = 0;
    return c->chains != NULL && c->levels != NULL;
}

static bool auth_token(struct tw_req *r, const char *cred)
{
    const char *colon = strchr(cred, ':');
    unsigned char mac[32];
    struct tw_token tok;
    struct tw_err err;
    char id[37];
    size_t i;
    int rc;

    if (colon == NULL || colon - cred != 36 || strlen(colon + 1) == 0 || strlen(colon + 1) > 128)
        return unauthorized(r, "malformed token: expected Bearer <token_id>:<secret>");
    memcpy(id, cred, 36);
    id[36] = '\0';
    memset(&tok, 0, sizeof(tok));
    rc = tw_token_cached_get(r->api, id, &tok, &err);
    if (rc == TW_ESTORE) {
        tw_reply_err(r, &err);
        return false;
    }
    tw_hmac_sha256(r->api->d.key, colon + 1, strlen(colon + 1), mac);
    if (rc != TW_OK || tok.revoked || !tw_ct_equal(mac, tok.secret_mac, sizeof(mac))) {
        tw_token_fini(&tok);
        return unauthorized(r, "unknown or revoked token, or wrong secret");
    }
    r->caller.kind = TW_CALLER_TOKEN;
    snprintf(r->caller.name, sizeof(r->caller.name), "token:%s", id);
    if (!caller_alloc(&r->caller, tok.n_chains)) {
        tw_token_fini(&tok);
        tw_reply_error(r, 500, "internal_error", NULL, "out of memory");
        return false;
    }
    for (i = 0; i < tok.n_chains; i++) {
        r->caller.chains[i] = tok.chains[i];
        r->caller.levels[i] = tok.level;
    }
    r->caller.n = tok.n_chains;
    tw_token_fini(&tok);
    return true;
}

static bool auth_session(struct tw_req *r, const char *uid_s, const char *key, const char *chain_s)
{
    unsigned char mac[32];
    struct tw_user user;
    struct tw_err err;
    int64_t uid;
    int64_t chain;
    size_t i;
    int rc;

    if (key == NULL || chain_s == NULL)
        return unauthorized(r, "a session needs X-Spaaza-Session-User-Id, X-Spaaza-Session-Key "
                               "and X-Spaaza-Session-Chain-Id");
    if (!tw_parse_i64(uid_s, &uid) || uid <= 0 || !tw_parse_i64(chain_s, &chain) || chain <= 0 ||
        strlen(key) > 128)
        return unauthorized(r, "malformed session headers");
    tw_hmac_sha256(r->api->d.key, key, strlen(key), mac);
    rc = tw_store_session_check(r->api->d.store, uid, mac, tw_clock_wall_s(), &err);
    if (rc == TW_ESTORE) {
        tw_reply_err(r, &err);
        return false;
    }
    if (rc != TW_OK)
        return unauthorized(r, "unknown or expired session");
    memset(&user, 0, sizeof(user));
    rc = tw_store_user_get(r->api->d.store, uid, &user, &err);
    if (rc != TW_OK)
        return unauthorized(r, "unknown or expired session");
    r->caller.kind = TW_CALLER_SESSION;
    snprintf(r->caller.name, sizeof(r->caller.name), "user:%" PRId64, uid);
    if (!caller_alloc(&r->caller, 1)) {
        tw_user_fini(&user);
        tw_reply_error(r, 500, "internal_error", NULL, "out of memory");
        return false;
    }
    /* A session acts on the one chain it names, with the user's level there (maybe none). */
    r->caller.chains[0] = chain;
    r->caller.levels[0] = TW_LEVEL_NONE;
    for (i = 0; i < user.n_access; i++)
        if (user.access[i].chain == chain)
            r->caller.levels[0] = user.access[i].level;
    r->caller.n = 1;
    tw_user_fini(&user);
    if (r->caller.levels[0] == TW_LEVEL_NONE) {
        tw_reply_error(r, 403, "permission_denied", NULL,
                       "user %" PRId64 " has no access to chain %" PRId64, uid, chain);
        return false;
    }
    return true;
}

bool tw_auth_caller(struct tw_req *r)
{
    const char *authz = tw_req_header(r, "Authorization");
    const char *uid = tw_req_header(r, "X-Spaaza-Session-User-Id");

    if (authz != NULL) {
        if (strncasecmp(authz, "Bearer ", 7) != 0)
            return unauthorized(r,
                                "unsupported Authorization scheme: use Bearer <token_id>:<secret>");
        return auth_token(r, authz + 7);
    }
    if (uid != NULL)
        return auth_session(r, uid, tw_req_header(r, "X-Spaaza-Session-Key"),
                            tw_req_header(r, "X-Spaaza-Session-Chain-Id"));
    return unauthorized(r, "no credentials: send Authorization: Bearer <token_id>:<secret> or "
                           "the X-Spaaza-Session-* headers");
}

bool tw_auth_object(struct tw_req *r, int64_t chain, int level, const char *not_found_name,
                    const char *what)
{
    int have = tw_caller_level(&r->caller, chain);

    if (have >= level)
        return true;
    if (have == TW_LEVEL_NONE)
        tw_reply_error(r, 404, not_found_name, NULL, "%s", what);
    else
        tw_reply_error(r, 403, "permission_denied", NULL,
                       "this caller may read chain %" PRId64 " but not change it", chain);
    return false;
}
