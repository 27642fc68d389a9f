/*
 * POST /auth/login (docs/reference.md §4): admin users get a session key. Passwords are checked with the
 * system's crypt(3) (yescrypt hashes) on the hashing threads (hashpool.c), never on the event
 * loop: the request is held meanwhile, like a held execute. Session keys are random and
 * stored only as an HMAC.
 *
 * Throttling, by user name and by client address (throttle.c): at most NAME_MAX_FAILS failed
 * attempts per name and ADDR_MAX_FAILS per address in any 60 s window; further attempts get
 * 429 with Retry-After without touching the hash (so a guesser cannot burn our CPU with
 * random names either). An attempt is counted when it is handed to the hashing threads and
 * taken back when it succeeds, so concurrent attempts cannot slip past the limit. The tables
 * are in memory: a restart forgets them, which is fine for a per-minute limit. An unknown user
 * name costs one hash too, so timing does not reveal which names exist.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>

#include "api/api_int.h"
#include "api/hashpool.h"
#include "api/throttle.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/mem.h"

#define NAME_MAX_FAILS 5
#define ADDR_MAX_FAILS 30
#define WINDOW_S 60
#define MAX_KEYS 100000
#define TARPIT_MS 1000 /* a throttled attempt is answered after this long */

struct tw_login_throttle {
    struct tw_throttle *by_name;
    struct tw_throttle *by_addr;
    struct tw_hashpool *pool;
    struct tarpit *tarpits; /* throttled attempts waiting for their 429 */
};

/* A throttled attempt: its 429 goes out after TARPIT_MS (see tw_api_login). */
struct tarpit {
    struct tarpit *next; /* tw_login_throttle.tarpits */
    struct tw_api *api;
    struct evhttp_request *ev; /* NULL once the client has gone */
    struct event *timer;       /* owned */
    const char *route;
    uint64_t t0_ns;
    char req_id[68];
    char wait_s[24]; /* Retry-After */
    bool by_user;    /* which limit: the user name's or the address's */
};

/* A login waiting for its hash check. */
struct login_wait {
    struct tw_hash_job job; /* first: the pool's view */
    struct tw_api *api;
    struct evhttp_request *ev; /* NULL once the client has gone */
    const char *route;
    uint64_t t0_ns;
    char req_id[68];
    int64_t user_id;
    char *password; /* owned, wiped before free */
    char *hash;     /* owned; NULL for an unknown user */
    char name[256];
    char addr[64];
};

static void tarpit_free(struct tw_login_throttle *t, struct tarpit *p)
{
    struct tarpit **pp = &t->tarpits;

    while (*pp != NULL && *pp != p)
        pp = &(*pp)->next;
    if (*pp == p)
        *pp = p->next;
    event_free(p->timer);
    tw_free(p);
}

void tw_login_throttle_destroy(struct tw_login_throttle *t)
{
    if (t == NULL)
        return;
    while (t->tarpits != NULL)
        tarpit_free(t, t->tarpits);
    tw_hashpool_destroy(t->pool); /* cancels waiting logins first: they use the tables */
    tw_throttle_destroy(t->by_name);
    tw_throttle_destroy(t->by_addr);
    tw_free(t);
}

static struct tw_login_throttle *login_state(struct tw_api *api)
{
    struct tw_login_throttle *t = api->throttle;
    struct tw_err err;

    if (t != NULL)
        return t;
    t = tw_calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->by_name = tw_throttle_create(NAME_MAX_FAILS, WINDOW_S, MAX_KEYS);
    t->by_addr = tw_throttle_create(ADDR_MAX_FAILS, WINDOW_S, MAX_KEYS);
    t->pool = tw_hashpool_create(api->d.base, &err);
    if (t->by_name == NULL || t->by_addr == NULL || t->pool == NULL) {
        tw_login_throttle_destroy(t);
        return NULL;
    }
    api->throttle = t;
    return t;
}

static void wait_free(struct login_wait *w)
{
    if (w->password != NULL)
        explicit_bzero(w->password, strlen(w->password));
    tw_free(w->password);
    tw_free(w->hash);
    tw_free(w);
}

static void on_client_closed(void *arg)
{
    ((struct login_wait *)arg)->ev = NULL;
}

/* The hash check is done (on the loop): answer the held request. */
static void on_checked(struct tw_hash_job *job, bool cancelled)
{
    struct login_wait *w = (struct login_wait *)job;
    struct tw_login_throttle *t = w->api->throttle;
    unsigned char key[32], mac[32];
    char key_s[48];
    struct tw_err err;
    struct tw_req r;
    int64_t now, ttl = w->api->d.cfg->auth_session_ttl_s;

    if (cancelled) {
        wait_free(w);
        return;
    }
    if (job->ok) {
        tw_throttle_forgive(t->by_name, w->name);
        tw_throttle_forgive(t->by_addr, w->addr);
    }
    if (w->ev == NULL) {
        wait_free(w);
        return;
    }
    memset(&r, 0, sizeof(r));
    r.ev = w->ev;
    r.api = w->api;
    r.method = EVHTTP_REQ_POST;
    r.route = w->route;
    r.t0_ns = w->t0_ns;
    memcpy(r.req_id, w->req_id, sizeof(r.req_id));
    tw_conn_observe_close(w->api, w->ev, NULL, NULL);
    if (!job->ok) {
        tw_reply_error(&r, 401, "no_valid_session", NULL, "wrong user name or password");
    } else if (tw_random_bytes(key, sizeof(key), &err) != TW_OK) {
        tw_reply_err(&r, &err);
    } else {
        tw_b64url(key, sizeof(key), key_s);
        tw_hmac_sha256(w->api->d.key, key_s, strlen(key_s), mac);
        now = tw_clock_wall_s();
        if (tw_store_session_insert(w->api->d.store, w->user_id, mac, now + ttl, &err) != TW_OK)
            tw_reply_err(&r, &err);
        else
            tw_reply_json(&r, 200,
                          json_pack("{s:I, s:s, s:o}", "user_id", (json_int_t)w->user_id,
                                    "session_key", key_s, "expires", tw_time_json(now + ttl)));
    }
    wait_free(w);
}

/* The client's address, for the throttle ("" when unknown). */
static void peer_address(struct tw_req *r, char *buf, size_t len)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);
    char *addr = NULL;
    ev_uint16_t port = 0;

    if (evcon != NULL)
        evhttp_connection_get_peer(evcon, &addr, &port);
    snprintf(buf, len, "%s", addr != NULL ? addr : "");
}

static json_t *login_fields(struct tw_req *r, const char **user, const char **pass)
{
    json_t *body = tw_req_json_body(r);
    const char *key;
    json_t *v;

    if (body == NULL)
        return NULL;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "username") != 0 && strcmp(key, "password") != 0) {
            tw_reply_error(r, 400, "validation_failed", key, "unknown field");
            json_decref(body);
            return NULL;
        }
    }
    *user = json_string_value(json_object_get(body, "username"));
    *pass = json_string_value(json_object_get(body, "password"));
    if (*user == NULL || *pass == NULL || **user == '\0') {
        tw_reply_error(r, 400, "validation_failed",
                       *user == NULL || **user == '\0' ? "username" : "password",
                       "username and password are required strings");
        json_decref(body);
        return NULL;
    }
    return body;
}

static void tarpit_reply(struct tarpit *p)
{
    struct tw_req r;

    memset(&r, 0, sizeof(r));
    r.ev = p->ev;
    r.api = p->api;
    r.method = EVHTTP_REQ_POST;
    r.route = p->route;
    r.t0_ns = p->t0_ns;
    memcpy(r.req_id, p->req_id, sizeof(r.req_id));
    tw_conn_observe_close(p->api, p->ev, NULL, NULL);
    tw_add_header(&r, "Retry-After", p->wait_s);
    tw_reply_error(&r, 429, "rate_limited", NULL, "too many failed logins %s; retry in %s s",
                   p->by_user ? "for this user" : "from this address", p->wait_s);
}

static void on_tarpit(evutil_socket_t fd, short what, void *arg)
{
    struct tarpit *p = arg;

    (void)fd;
    (void)what;
    if (p->ev != NULL)
        tarpit_reply(p);
    tarpit_free(p->api->throttle, p);
}

static void on_tarpit_client_closed(void *arg)
{
    ((struct tarpit *)arg)->ev = NULL;
}

/*
 * 429 when name or addr is throttled; returns true when it (will have) replied. The 429 is
 * held for TARPIT_MS: evhttp reads no further request from a connection whose request is
 * unanswered, so a guesser past its limit gets one answer a second per connection instead of
 * thousands (each still costing the loop a parse and a reply).
 */
static bool throttled(struct tw_req *r, struct tw_login_throttle *t, const char *name,
                      const char *addr, int64_t now)
{
    static const struct timeval delay = { TARPIT_MS / 1000, (TARPIT_MS % 1000) * 1000 };
    int64_t by_name = tw_throttle_wait(t->by_name, name, now);
    int64_t by_addr = tw_throttle_wait(t->by_addr, addr, now);
    struct tarpit *p;

    if (by_name == 0 && by_addr == 0)
        return false;
    p = tw_calloc(1, sizeof(*p));
    if (p != NULL) {
        p->timer = evtimer_new(r->api->d.base, on_tarpit, p);
        if (p->timer == NULL) {
            tw_free(p);
            p = NULL;
        }
    }
    if (p == NULL) {
        tw_reply_error(r, 500, "internal_error", NULL, "out of memory");
        return true;
    }
    p->api = r->api;
    p->ev = r->ev;
    p->route = r->route;
    p->t0_ns = r->t0_ns;
    memcpy(p->req_id, r->req_id, sizeof(p->req_id));
    snprintf(p->wait_s, sizeof(p->wait_s), "%" PRId64, by_name > by_addr ? by_name : by_addr);
    p->by_user = by_name >= by_addr;
    p->next = t->tarpits;
    t->tarpits = p;
    evtimer_add(p->timer, &delay);
    tw_conn_observe_close(r->api, r->ev, on_tarpit_client_closed, p);
    return true;
}

void tw_api_login(struct tw_req *r)
{
    struct tw_login_throttle *t = login_state(r->api);
    int64_t now = tw_clock_wall_s();
    struct login_wait *w = NULL;
    struct tw_user u;
    struct tw_err err;
    const char *name, *pass;
    json_t *body = login_fields(r, &name, &pass);
    int rc;

    if (body == NULL)
        return;
    memset(&u, 0, sizeof(u));
    if (t == NULL) {
        tw_reply_error(r, 500, "internal_error", NULL, "out of memory");
        goto out;
    }
    w = tw_calloc(1, sizeof(*w));
    if (w == NULL) {
        tw_reply_error(r, 500, "internal_error", NULL, "out of memory");
        goto out;
    }
    snprintf(w->name, sizeof(w->name), "%s", name);
    peer_address(r, w->addr, sizeof(w->addr));
    if (throttled(r, t, w->name, w->addr, now))
        goto out;
    rc = tw_store_user_get_by_name(r->api->d.store, name, &u, &err);
    if (rc != TW_OK && rc != TW_ENOTFOUND) {
        tw_reply_err(r, &err);
        goto out;
    }
    w->api = r->api;
    w->ev = r->ev;
    w->route = r->route;
    w->t0_ns = r->t0_ns;
    memcpy(w->req_id, r->req_id, sizeof(w->req_id));
    w->user_id = rc == TW_OK ? u.id : 0;
    w->password = tw_strdup(pass);
    w->hash = rc == TW_OK && u.pw_hash != NULL ? tw_strdup(u.pw_hash) : NULL;
    if (w->password == NULL || (rc == TW_OK && u.pw_hash != NULL && w->hash == NULL)) {
        tw_reply_error(r, 500, "internal_error", NULL, "out of memory");
        goto out;
    }
    w->job.password = w->password;
    w->job.hash = w->hash;
    w->job.done = on_checked;
    /* Counted now, taken back on success: concurrent guesses cannot pass the limit. */
    tw_throttle_fail(t->by_name, w->name, now);
    tw_throttle_fail(t->by_addr, w->addr, now);
    if (tw_hashpool_submit(t->pool, &w->job, &err) != TW_OK) {
        tw_throttle_forgive(t->by_name, w->name);
        tw_throttle_forgive(t->by_addr, w->addr);
        tw_add_header(r, "Retry-After", "1");
        tw_reply_error(r, 503, "unavailable", NULL, "%s; retry in a second", err.msg);
        goto out;
    }
    tw_conn_observe_close(r->api, r->ev, on_client_closed, w);
    w = NULL; /* the pool's until on_checked */
out:
    if (w != NULL)
        wait_free(w);
    tw_user_fini(&u);
    json_decref(body);
}
