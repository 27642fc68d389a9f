/* Authentication, access levels and tenant isolation (docs/reference.md §4) against a real server. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct tw_srv srv;

static void setup(void)
{
    tw_srv_init(&srv, "auth: { session_ttl: 2 }\n");
}

static void teardown(void)
{
    tw_srv_fini(&srv, true);
}

TestSuite(auth, .init = setup, .fini = teardown, .timeout = 120);

static char *token(const char *level, const char *chain)
{
    const char *const chains[] = { chain, NULL };

    return tw_srv_token(&srv, level, chains);
}

static json_int_t create_as(const char *tok, long chain, long want_status)
{
    char *body = tw_task_body(chain, NULL);
    struct tw_resp r;
    json_int_t id;

    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    free(body);
    cr_assert_eq(r.status, want_status, "%s", r.body);
    id = json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    return id;
}

Test(auth, missing_and_malformed_credentials_are_401)
{
    static const char *const basic[] = { "Authorization: Basic Zm9vOmJhcg==", NULL };
    char *tok = token("write", "1");
    char bad[256];
    struct tw_resp r;

    tw_http(&srv, "GET", "/tasks", NULL, NULL, NULL, &r);
    tw_assert_error(&r, 401, "no_valid_session", NULL);
    tw_resp_fini(&r);
    tw_http(&srv, "GET", "/tasks", NULL, basic, NULL, &r);
    tw_assert_error(&r, 401, "no_valid_session", NULL);
    tw_resp_fini(&r);
    tw_http(&srv, "GET", "/tasks", "garbage", NULL, NULL, &r);
    tw_assert_error(&r, 401, "no_valid_session", NULL);
    tw_resp_fini(&r);
    /* the right id with a wrong secret */
    snprintf(bad, sizeof(bad), "%.37sAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", tok);
    tw_http(&srv, "GET", "/tasks", bad, NULL, NULL, &r);
    tw_assert_error(&r, 401, "no_valid_session", NULL);
    tw_resp_fini(&r);
    /* an unknown id */
    tw_http(&srv, "GET", "/tasks", "00000000-0000-4000-8000-000000000000:abc", NULL, NULL, &r);
    tw_assert_error(&r, 401, "no_valid_session", NULL);
    tw_resp_fini(&r);
    tw_http(&srv, "GET", "/tasks", tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    tw_resp_fini(&r);
    free(tok);
}

/* Tokens are remembered for a second (engine/api/token_cache.c): revocation of a token in use
 * takes effect within that second, never later. */
Test(auth, revoking_a_token_in_use_takes_effect_within_a_second)
{
    char *tok = token("write", "1");
    char id[40];
    const char *args[] = { "token", "revoke", id, NULL };
    struct timespec t0, t1, nap = { 0, 50 * 1000 * 1000 };
    struct tw_resp r;
    long status = 200;
    double waited;

    snprintf(id, sizeof(id), "%.36s", tok);
    tw_http(&srv, "GET", "/tasks", tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    tw_resp_fini(&r);
    cr_assert_eq(tw_srv_cli(&srv, NULL, NULL, args), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        tw_http(&srv, "GET", "/tasks", tok, NULL, NULL, &r);
        status = r.status;
        tw_resp_fini(&r);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        if (status != 401)
            nanosleep(&nap, NULL);
    } while (status != 401 && waited < 3.0);
    cr_assert_eq(status, 401, "still accepted %.1f s after revocation", waited);
    free(tok);
}

Test(auth, revoked_token_is_401)
{
    char *tok = token("write", "1");
    char id[40];
    const char *args[] = { "token", "revoke", id, NULL };
    const char *list[] = { "token", "list", NULL };
    struct tw_resp r;
    char *out;

    snprintf(id, sizeof(id), "%.36s", tok);
    cr_assert_eq(tw_srv_cli(&srv, NULL, NULL, args), 0);
    tw_http(&srv, "GET", "/tasks", tok, NULL, NULL, &r);
    tw_assert_error(&r, 401, "no_valid_session", NULL);
    tw_resp_fini(&r);
    cr_assert_eq(tw_srv_cli(&srv, NULL, &out, list), 0);
    cr_assert(strstr(out, id) != NULL && strstr(out, "revoked") != NULL, "%s", out);
    cr_assert(strstr(out, tok + 37) == NULL, "token list must never print a secret");
    free(out);
    cr_assert_eq(tw_srv_cli(&srv, NULL, NULL, args), 0); /* revoking twice is fine */
    args[2] = "00000000-0000-4000-8000-000000000000";
    cr_assert_eq(tw_srv_cli(&srv, NULL, NULL, args), 1);
    free(tok);
}

Test(auth, read_tokens_read_but_do_not_write)
{
    char *w = token("write", "1"), *ro = token("read", "1");
    json_int_t id = create_as(w, 1, 201);
    char path[64];
    struct tw_resp r;

    create_as(ro, 1, 403);
    snprintf(path, sizeof(path), "/tasks/%" JSON_INTEGER_FORMAT, id);
    tw_http(&srv, "GET", path, ro, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    tw_resp_fini(&r);
    tw_http(&srv, "PUT", path, ro, NULL, "{\"desc\": \"x\"}", &r);
    tw_assert_error(&r, 403, "permission_denied", NULL);
    tw_resp_fini(&r);
    tw_http(&srv, "DELETE", path, ro, NULL, NULL, &r);
    tw_assert_error(&r, 403, "permission_denied", NULL);
    tw_resp_fini(&r);
    tw_http(&srv, "GET", path, w, NULL, NULL, &r);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "desc")), "test export");
    tw_resp_fini(&r);
    free(w);
    free(ro);
}

Test(auth, other_chains_tasks_do_not_exist)
{
    char *a = token("write", "1"), *b = token("write", "2");
    json_int_t id = create_as(a, 1, 201);
    char path[64], total[16];
    struct tw_resp r;

    create_as(a, 2, 403); /* chain A's token cannot create for chain B */
    snprintf(path, sizeof(path), "/tasks/%" JSON_INTEGER_FORMAT, id);
    tw_http(&srv, "GET", path, b, NULL, NULL, &r);
    tw_assert_error(&r, 404, "task_not_found", NULL);
    tw_resp_fini(&r);
    tw_http(&srv, "PUT", path, b, NULL, "{\"desc\": \"x\"}", &r);
    tw_assert_error(&r, 404, "task_not_found", NULL);
    tw_resp_fini(&r);
    tw_http(&srv, "DELETE", path, b, NULL, NULL, &r);
    tw_assert_error(&r, 404, "task_not_found", NULL);
    tw_resp_fini(&r);
    tw_http(&srv, "GET", "/tasks", b, NULL, NULL, &r);
    cr_assert_eq(json_array_size(r.json), 0);
    cr_assert(tw_resp_header(&r, "X-Total-Count", total, sizeof(total)));
    cr_assert_str_eq(total, "0");
    tw_resp_fini(&r);
    tw_http(&srv, "GET", "/tasks?chain=1", b, NULL, NULL, &r);
    tw_assert_error(&r, 403, "permission_denied", "chain");
    tw_resp_fini(&r);
    tw_http(&srv, "GET", path, a, NULL, NULL, &r); /* untouched */
    cr_assert_eq(r.status, 200);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "version")), 1);
    tw_resp_fini(&r);
    free(a);
    free(b);
}

static void add_user(const char *name, const char *password, const char *access)
{
    const char *args[] = { "user", "add", name, "--chain", access, NULL };
    char in[256];

    snprintf(in, sizeof(in), "%s\n", password);
    cr_assert_eq(tw_srv_cli(&srv, in, NULL, args), 0);
}

static void login(const char *name, const char *password, struct tw_resp *r)
{
    char body[256];

    snprintf(body, sizeof(body), "{\"username\": \"%s\", \"password\": \"%s\"}", name, password);
    tw_http(&srv, "POST", "/auth/login", NULL, NULL, body, r);
}

Test(auth, admin_sessions)
{
    struct tw_resp r;
    char h_uid[64], h_key[128], h_chain[64];
    const char *hdrs[] = { h_uid, h_key, h_chain, NULL };
    char *body = tw_task_body(7, NULL);

    add_user("alice", "correct horse", "7=write");
    login("alice", "wrong", &r);
    tw_assert_error(&r, 401, "no_valid_session", NULL);
    tw_resp_fini(&r);
    login("nobody", "x", &r);
    tw_assert_error(&r, 401, "no_valid_session", NULL);
    tw_resp_fini(&r);
    login("alice", "correct horse", &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    snprintf(h_uid, sizeof(h_uid), "X-Spaaza-Session-User-Id: %" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(r.json, "user_id")));
    snprintf(h_key, sizeof(h_key), "X-Spaaza-Session-Key: %s",
             json_string_value(json_object_get(r.json, "session_key")));
    cr_assert_eq(json_string_length(json_object_get(r.json, "expires")), 20);
    snprintf(h_chain, sizeof(h_chain), "X-Spaaza-Session-Chain-Id: 7");
    tw_resp_fini(&r);

    tw_http(&srv, "POST", "/tasks", NULL, hdrs, body, &r);
    cr_assert_eq(r.status, 201, "%s", r.body);
    tw_resp_fini(&r);
    snprintf(h_chain, sizeof(h_chain), "X-Spaaza-Session-Chain-Id: 8");
    tw_http(&srv, "GET", "/tasks", NULL, hdrs, NULL, &r);
    tw_assert_error(&r, 403, "permission_denied", NULL);
    tw_resp_fini(&r);
    snprintf(h_chain, sizeof(h_chain), "X-Spaaza-Session-Chain-Id: 7");
    snprintf(h_key, sizeof(h_key), "X-Spaaza-Session-Key: forged");
    tw_http(&srv, "GET", "/tasks", NULL, hdrs, NULL, &r);
    tw_assert_error(&r, 401, "no_valid_session", NULL);
    tw_resp_fini(&r);
    free(body);
}

Test(auth, sessions_expire)
{
    struct tw_resp r;
    char h_uid[64], h_key[128];
    const char *hdrs[] = { h_uid, h_key, "X-Spaaza-Session-Chain-Id: 7", NULL };

    add_user("bob", "pw-bob", "7=read");
    login("bob", "pw-bob", &r);
    cr_assert_eq(r.status, 200);
    snprintf(h_uid, sizeof(h_uid), "X-Spaaza-Session-User-Id: %" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(r.json, "user_id")));
    snprintf(h_key, sizeof(h_key), "X-Spaaza-Session-Key: %s",
             json_string_value(json_object_get(r.json, "session_key")));
    tw_resp_fini(&r);
    tw_http(&srv, "GET", "/tasks", NULL, hdrs, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    tw_resp_fini(&r);
    /* auth.session_ttl is 2 s in this suite: wait for the expiry (not a fixed sleep), with a
     * deadline far beyond it so that a loaded machine cannot make this fail. */
    for (int i = 0;; i++) {
        struct timespec nap = { 0, 50 * 1000 * 1000 };

        tw_http(&srv, "GET", "/tasks", NULL, hdrs, NULL, &r);
        if (r.status != 200 || i == 600)
            break;
        tw_resp_fini(&r);
        nanosleep(&nap, NULL);
    }
    tw_assert_error(&r, 401, "no_valid_session", NULL);
    tw_resp_fini(&r);
}

Test(auth, failed_logins_are_throttled)
{
    struct tw_resp r;
    char retry[16];
    int i;

    add_user("carol", "pw-carol", "7=read");
    for (i = 0; i < 5; i++) {
        login("carol", "wrong", &r);
        tw_assert_error(&r, 401, "no_valid_session", NULL);
        tw_resp_fini(&r);
    }
    login("carol", "pw-carol", &r); /* even the right password waits */
    tw_assert_error(&r, 429, "rate_limited", NULL);
    cr_assert(tw_resp_header(&r, "Retry-After", retry, sizeof(retry)));
    cr_assert_gt(atoi(retry), 0);
    tw_resp_fini(&r);
    login("dave-unknown", "x", &r); /* another name is unaffected */
    tw_assert_error(&r, 401, "no_valid_session", NULL);
    tw_resp_fini(&r);
}
