/*
 * POST /auth/login (SPEC §4): admin users get a session key. Passwords are checked with the
 * system's crypt(3) (yescrypt hashes); session keys are random and stored only as an HMAC.
 *
 * Throttling: at most 5 failed attempts per user name in any 60 s window; further attempts get
 * 429 with Retry-After without touching the password hash (so a guesser cannot use the slow
 * hash to burn our CPU either). The table is in memory: a restart forgets it, which is fine
 * for a per-minute limit. An unknown user name costs one hash too, so timing does not reveal
 * which names exist.
 */
#include <crypt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/mem.h"

#define THROTTLE_SLOTS 256
#define THROTTLE_MAX_FAILS 5
#define THROTTLE_WINDOW_S 60

struct throttle_entry {
    char name[128];                          /* user name, "" when the slot is free */
    int64_t fails[THROTTLE_MAX_FAILS];       /* times of the latest failures, ring */
    unsigned next;                           /* ring position */
};

struct tw_login_throttle {
    struct throttle_entry e[THROTTLE_SLOTS]; /* hashed by name; collisions evict (fail-open) */
};

void tw_login_throttle_destroy(struct tw_login_throttle *t)
{
    tw_free(t);
}

static struct throttle_entry *throttle_slot(struct tw_api *api, const char *name)
{
    unsigned char h[32];
    struct throttle_entry *e;

    if (api->throttle == NULL)
        api->throttle = tw_calloc(1, sizeof(*api->throttle));
    if (api->throttle == NULL)
        return NULL;
    tw_hmac_sha256(api->d.key, name, strlen(name), h);
    e = &api->throttle->e[h[0]];
    if (strncmp(e->name, name, sizeof(e->name)) != 0) {
        memset(e, 0, sizeof(*e));
        snprintf(e->name, sizeof(e->name), "%s", name);
    }
    return e;
}

/* Seconds until another attempt is allowed; 0 when allowed now. */
static int64_t throttle_wait(const struct throttle_entry *e, int64_t now)
{
    int64_t oldest = e->fails[e->next];   /* the ring slot to be overwritten next */

    if (oldest == 0 || now - oldest >= THROTTLE_WINDOW_S)
        return 0;
    return THROTTLE_WINDOW_S - (now - oldest);
}

static void throttle_fail(struct throttle_entry *e, int64_t now)
{
    e->fails[e->next] = now;
    e->next = (e->next + 1) % THROTTLE_MAX_FAILS;
}

static bool password_ok(const char *password, const char *hash)
{
    /* A yescrypt hash made once, to spend the same time on unknown users. */
    static char dummy[CRYPT_OUTPUT_SIZE];
    struct crypt_data *cd = tw_calloc(1, sizeof(*cd));
    const char *h = hash;
    const char *out;
    bool ok = false;

    if (cd == NULL)
        return false;
    if (dummy[0] == '\0') {
        char setting[CRYPT_GENSALT_OUTPUT_SIZE];
        const char *salt = crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting));

        out = salt ? crypt_r("taskwheel-dummy", salt, cd) : NULL;
        snprintf(dummy, sizeof(dummy), "%s", out && out[0] != '*' ? out : "*");
    }
    if (h == NULL)
        h = dummy;
    out = crypt_r(password, h, cd);
    if (out != NULL && out[0] != '*' && strlen(out) == strlen(h))
        ok = tw_ct_equal(out, h, strlen(h)) && hash != NULL;
    tw_free(cd);
    return ok;
}

static json_t *login_fields(struct tw_req *r, const char **user, const char **pass)
{
    json_t *body = tw_req_json_body(r);
    const char *key;
    json_t *v;

    if (body == NULL)
        return NULL;
    json_object_foreach(body, key, v) {
        if (strcmp(key, "username") != 0 && strcmp(key, "password") != 0) {
            tw_reply_error(r, 400, "validation_failed", key, "unknown field");
            json_decref(body);
            return NULL;
        }
    }
    *user = json_string_value(json_object_get(body, "username"));
    *pass = json_string_value(json_object_get(body, "password"));
    if (*user == NULL || *pass == NULL || **user == '\0') {
        tw_reply_error(r, 400, "validation_failed", *user == NULL || **user == '\0' ? "username" : "password",
                       "username and password are required strings");
        json_decref(body);
        return NULL;
    }
    return body;
}

void tw_api_login(struct tw_req *r)
{
    int64_t now = tw_clock_wall_s();
    struct throttle_entry *e;
    struct tw_user u;
    struct tw_err err;
    unsigned char key[32], mac[32];
    char key_s[48], wait_s[16];
    const char *name, *pass;
    json_t *body = login_fields(r, &name, &pass);
    int rc;

    if (body == NULL)
        return;
    e = throttle_slot(r->api, name);
    if (e != NULL && throttle_wait(e, now) > 0) {
        snprintf(wait_s, sizeof(wait_s), "%" PRId64, throttle_wait(e, now));
        tw_add_header(r, "Retry-After", wait_s);
        tw_reply_error(r, 429, "rate_limited", NULL,
                       "too many failed logins for this user; retry in %s s", wait_s);
        json_decref(body);
        return;
    }
    memset(&u, 0, sizeof(u));
    rc = tw_store_user_get_by_name(r->api->d.store, name, &u, &err);
    if (rc != TW_OK && rc != TW_ENOTFOUND) {
        json_decref(body);
        tw_reply_err(r, &err);
        return;
    }
    if (!password_ok(pass, rc == TW_OK ? u.pw_hash : NULL)) {
        if (e != NULL)
            throttle_fail(e, now);
        tw_reply_error(r, 401, "no_valid_session", NULL, "wrong user name or password");
    } else if (tw_random_bytes(key, sizeof(key), &err) != TW_OK) {
        tw_reply_err(r, &err);
    } else {
        tw_b64url(key, sizeof(key), key_s);
        tw_hmac_sha256(r->api->d.key, key_s, strlen(key_s), mac);
        now = tw_clock_wall_s();
        if (tw_store_session_insert(r->api->d.store, u.id, mac,
                                    now + r->api->d.cfg->auth_session_ttl_s, &err) != TW_OK)
            tw_reply_err(r, &err);
        else
            tw_reply_json(r, 200, json_pack("{s:I, s:s, s:o}", "user_id", (json_int_t)u.id,
                                            "session_key", key_s, "expires",
                                            tw_time_json(now + r->api->d.cfg->auth_session_ttl_s)));
    }
    tw_user_fini(&u);
    json_decref(body);
}
