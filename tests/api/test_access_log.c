/*
 * The access log and run lifecycle log (issue #6) through a real server whose stderr goes to a
 * file: one JSON line per request with method, route, status, bytes, duration_ms and the
 * request id sent back as X-Request-Id; run.started / run.finished lines; and nothing secret
 * in any line: no token secret, password, session key, download signature or query string.
 * log.level is honoured (warn: no access lines).
 *
 * The server's output goes to a file (tw_srv_start_logged), which the tests read back; the
 * rest (requests, CLI, stop) goes through the harness as usual.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* Like tw_srv_init, with log.level/format of our choice and output into <dir>/server.log. */
static void start_logged(struct tw_srv *s, const char *log_yaml, char *log_path, size_t len)
{
    tw_srv_prepare(s, NULL, log_yaml);
    snprintf(log_path, len, "%s/server.log", s->dir);
    if (!tw_srv_start_logged(s, log_path))
        cr_assert_fail("taskwheel serve exited during start-up: %s", tw_slurp(log_path, NULL));
}

/* Request ids seen in responses, with the route their log line must show. */
struct seen {
    char id[80];
    const char *route;
    long status;
};

static struct seen seen[64];
static size_t n_seen;

/* tw_http, remembering the response's X-Request-Id. */
static void req(struct tw_srv *s, const char *method, const char *path, const char *token,
                const char *const *headers, const char *body, const char *route, struct tw_resp *r)
{
    tw_http(s, method, path, token, headers, body, r);
    cr_assert_lt(n_seen, sizeof(seen) / sizeof(seen[0]));
    cr_assert(tw_resp_header(r, "X-Request-Id", seen[n_seen].id, sizeof(seen[0].id)),
              "%s %s: no X-Request-Id", method, path);
    seen[n_seen].route = route;
    seen[n_seen].status = r->status;
    n_seen++;
}

static const char *str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));

    return v != NULL ? v : "";
}

Test(access_log, json_lines_ids_and_no_secrets, .timeout = 120)
{
    static const char *const chains[] = { "1764", NULL };
    static const char *const seed[] = { "seed", "--rows", "30", "--chains",
                                        "1764", "--seed", "2",  NULL };
    static const char *const add_user[] = { "user", "add", "alice", "--chain", "1764=write", NULL };
    const char *password = "Pw-hunter2-very-secret";
    const char *wrong_pw = "Wrong-pw-also-secret";
    char log_path[400], path[512], *token, *log, *line, *save = NULL, bad_token[256];
    char body[256], sig[80], h_uid[64], h_key[160], h_chain[64], h_rid[64], session_key[128];
    const char *hdrs[] = { h_uid, h_key, h_chain, NULL };
    const char *rid_hdrs[] = { h_rid, NULL };
    const char *secret, *url, *q;
    struct tw_srv s;
    struct tw_resp r;
    long long id;
    size_t i, access_lines = 0, started = 0, finished = 0;
    char *task_body = tw_task_body(1764, NULL);

    n_seen = 0;
    start_logged(&s, "log: { level: info, format: json }\n", log_path, sizeof(log_path));
    cr_assert_eq(tw_srv_cli(&s, NULL, NULL, seed), 0);
    token = tw_srv_token(&s, "write", chains);
    secret = strchr(token, ':') + 1;
    snprintf(body, sizeof(body), "%s\n", password);
    cr_assert_eq(tw_srv_cli(&s, body, NULL, add_user), 0);

    /* a token: create, execute (held), download_url, the signed download */
    req(&s, "POST", "/tasks", token, NULL, task_body, "/tasks", &r);
    cr_assert_eq(r.status, 201, "%s", r.body);
    id = (long long)json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    snprintf(path, sizeof(path), "/tasks/%lld/execute", id);
    req(&s, "POST", path, token, NULL, NULL, "/tasks/{id}/execute", &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    tw_resp_fini(&r);
    snprintf(path, sizeof(path), "/tasks/%lld/download_url", id);
    req(&s, "GET", path, token, NULL, NULL, "/tasks/{id}/download_url", &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    url = str(r.json, "url");
    q = strstr(url, "sig=");
    cr_assert_not_null(q);
    snprintf(sig, sizeof(sig), "%s", q + 4);
    snprintf(path, sizeof(path), "%s", strstr(url, "/downloads/"));
    tw_resp_fini(&r);
    req(&s, "GET", path, NULL, NULL, NULL, "/downloads/{chain}/{id}/{file}", &r);
    cr_assert_eq(r.status, 200);
    tw_resp_fini(&r);
    req(&s, "GET", "/tasks?limit=3", token, NULL, NULL, "/tasks", &r);
    cr_assert_eq(r.status, 200);
    tw_resp_fini(&r);

    /* a wrong secret, a wrong password, a login and a session */
    snprintf(bad_token, sizeof(bad_token), "%.36s:Bad-secret-never-logged", token);
    req(&s, "GET", "/tasks", bad_token, NULL, NULL, "/tasks", &r);
    cr_assert_eq(r.status, 401);
    tw_resp_fini(&r);
    snprintf(body, sizeof(body), "{\"username\": \"alice\", \"password\": \"%s\"}", wrong_pw);
    req(&s, "POST", "/auth/login", NULL, NULL, body, "/auth/login", &r);
    cr_assert_eq(r.status, 401);
    tw_resp_fini(&r);
    snprintf(body, sizeof(body), "{\"username\": \"alice\", \"password\": \"%s\"}", password);
    req(&s, "POST", "/auth/login", NULL, NULL, body, "/auth/login", &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    snprintf(session_key, sizeof(session_key), "%s", str(r.json, "session_key"));
    cr_assert_gt(strlen(session_key), 8);
    snprintf(h_uid, sizeof(h_uid), "X-Spaaza-Session-User-Id: %lld",
             (long long)json_integer_value(json_object_get(r.json, "user_id")));
    snprintf(h_key, sizeof(h_key), "X-Spaaza-Session-Key: %s", session_key);
    snprintf(h_chain, sizeof(h_chain), "X-Spaaza-Session-Chain-Id: 1764");
    tw_resp_fini(&r);
    snprintf(path, sizeof(path), "/tasks/%lld", id);
    req(&s, "GET", path, NULL, hdrs, NULL, "/tasks/{id}", &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    tw_resp_fini(&r);

    /* a client's own request id, an unknown path with a secret-looking query */
    snprintf(h_rid, sizeof(h_rid), "X-Request-Id: client-id_42");
    req(&s, "GET", "/healthz", NULL, rid_hdrs, NULL, "/healthz", &r);
    tw_resp_fini(&r);
    cr_assert_str_eq(seen[n_seen - 1].id, "client-id_42");
    req(&s, "GET", "/nowhere?token=Query-secret-xyz", NULL, NULL, NULL, "unmatched", &r);
    cr_assert_eq(r.status, 404);
    tw_resp_fini(&r);

    cr_assert_eq(tw_srv_stop(&s, SIGTERM), 0);
    log = tw_slurp(log_path, NULL);

    /* nothing secret, anywhere in the log */
    cr_assert_null(strstr(log, secret), "the token secret is logged");
    cr_assert_null(strstr(log, "Bad-secret-never-logged"), "a wrong secret is logged");
    cr_assert_null(strstr(log, password), "the password is logged");
    cr_assert_null(strstr(log, wrong_pw), "a wrong password is logged");
    cr_assert_null(strstr(log, session_key), "the session key is logged");
    cr_assert_null(strstr(log, sig), "the download signature is logged");
    cr_assert_null(strstr(log, "sig="), "a download query is logged");
    cr_assert_null(strstr(log, "Query-secret-xyz"), "a query string is logged");
    cr_assert_null(strstr(log, "Bearer"), "an Authorization header is logged");

    /* every line is a JSON object; access lines have every field */
    for (line = strtok_r(log, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);

        cr_assert_not_null(o, "not JSON (%s): %s", je.text, line);
        cr_assert(json_is_object(o), "%s", line);
        cr_assert_gt(strlen(str(o, "time")), 0, "%s", line);
        cr_assert_gt(strlen(str(o, "level")), 0, "%s", line);
        if (strcmp(str(o, "event"), "http.request") == 0) {
            const char *rid = str(o, "request_id");
            bool found = false;

            access_lines++;
            cr_assert_gt(strlen(str(o, "method")), 0, "%s", line);
            cr_assert_gt(strlen(str(o, "bytes")), 0, "%s", line);
            cr_assert_gt(strlen(str(o, "duration_ms")), 0, "%s", line);
            cr_assert_eq(str(o, "route")[0] == '/' || strcmp(str(o, "route"), "unmatched") == 0,
                         true, "%s", line);
            for (i = 0; i < n_seen; i++)
                if (strcmp(seen[i].id, rid) == 0) {
                    cr_assert(!found, "request id %s logged twice", rid);
                    found = true;
                    cr_assert_str_eq(str(o, "route"), seen[i].route, "%s", line);
                    cr_assert_eq(atol(str(o, "status")), seen[i].status, "%s", line);
                }
            cr_assert(found, "request id %s not sent to any client: %s", rid, line);
        } else if (strcmp(str(o, "event"), "run.started") == 0) {
            started++;
            cr_assert_eq(atoll(str(o, "task")), id, "%s", line);
            cr_assert_str_eq(str(o, "chain"), "1764", "%s", line);
            cr_assert_str_eq(str(o, "trigger"), "execute", "%s", line);
        } else if (strcmp(str(o, "event"), "run.finished") == 0) {
            finished++;
            cr_assert_eq(atoll(str(o, "task")), id, "%s", line);
            cr_assert_str_eq(str(o, "result"), "done", "%s", line);
            cr_assert_gt(strlen(str(o, "duration_ms")), 0, "%s", line);
            cr_assert_eq(atol(str(o, "success")), 30, "%s", line);
        }
        json_decref(o);
    }
    cr_assert_eq(access_lines, n_seen, "one access line per request");
    cr_assert_eq(started, 1);
    cr_assert_eq(finished, 1);
    free(log);
    free(token);
    free(task_body);
    tw_srv_fini(&s, true);
}

Test(access_log, level_and_logfmt, .timeout = 60)
{
    char log_path[400], *log;
    struct tw_srv s;
    struct tw_resp r;

    start_logged(&s, "log: { level: warn, format: json }\n", log_path, sizeof(log_path));
    tw_http(&s, "GET", "/healthz", NULL, NULL, NULL, &r);
    tw_resp_fini(&r);
    cr_assert_eq(tw_srv_stop(&s, SIGTERM), 0);
    log = tw_slurp(log_path, NULL);
    cr_assert_null(strstr(log, "http.request"), "info lines at level warn: %s", log);
    free(log);
    tw_srv_fini(&s, true);

    start_logged(&s, "log: { level: info, format: logfmt }\n", log_path, sizeof(log_path));
    tw_http(&s, "GET", "/tasks/7?x=1", NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 401);
    tw_resp_fini(&r);
    cr_assert_eq(tw_srv_stop(&s, SIGTERM), 0);
    log = tw_slurp(log_path, NULL);
    cr_assert_not_null(strstr(log, "event=http.request "), "%s", log);
    cr_assert_not_null(strstr(log, " method=GET route=/tasks/{id} status=401 "), "%s", log);
    cr_assert_null(strstr(log, "x=1"), "%s", log);
    free(log);
    tw_srv_fini(&s, true);
}
