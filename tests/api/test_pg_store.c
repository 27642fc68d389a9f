/*
 * The PostgreSQL task store through a real server (issue 14, docs/reference.md §10), each test on a
 * throwaway cluster of its own (tests/harness/pgpeer.h):
 * - a wrong or unreachable store.dsn stops serve and check-config with a message naming the
 *   key and libpq's reason, and a password in the dsn appears in no output;
 * - PostgreSQL restarted under a serving node: requests answer 503 `unavailable` while it is
 *   down, the node reconnects by itself when it is back (no restart), nothing is lost, and
 *   the server's log never shows the dsn's password.
 * The server's stderr is kept in a file, so this file starts it itself as test_access_log.c
 * does; requests and the CLI go through the harness.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "pgpeer.h"

#define PASSWORD "Sup3rSecretPw"

static struct tw_pgpeer pg;

static void setup(void)
{
    char why[1024];

    cr_assert_eq(tw_pgpeer_start(&pg, why, sizeof(why)), 0, "PostgreSQL: %s", why);
}

static void teardown(void)
{
    tw_pgpeer_fini(&pg);
}

TestSuite(pg_store, .init = setup, .fini = teardown, .timeout = 300);

/* A server directory whose config uses store_yaml; nothing started. */
static void make_dir(struct tw_srv *s, const char *store_yaml)
{
    char yaml[700];

    snprintf(yaml, sizeof(yaml), "log: { level: info }\n%s\n", store_yaml);
    tw_srv_prepare(s, NULL, yaml);
}

/* Run cmd to its end, its output appended to log; its exit status. */
static int run(struct tw_srv *s, const char *cmd, const char *log)
{
    const char *const args[] = { cmd, NULL };

    return tw_srv_cli_logged(s, log, args);
}

static void start(struct tw_srv *s, const char *log)
{
    if (!tw_srv_start_logged(s, log))
        cr_assert_fail("taskwheel serve exited during start-up: %s", tw_slurp(log, NULL));
}

/* serve and check-config both refuse dsn, naming store.dsn and libpq's reason `reason`. */
static void refused(const char *dsn, const char *reason)
{
    char yaml[600], log[300];
    struct tw_srv s;
    int errors = 0;
    char *text;

    snprintf(yaml, sizeof(yaml), "store: { driver: postgresql, dsn: \"%s\" }", dsn);
    make_dir(&s, yaml);
    snprintf(log, sizeof(log), "%s/out.log", s.dir);
    cr_assert_eq(run(&s, "serve", log), 1, "serve started with dsn %s", dsn);
    cr_assert_eq(run(&s, "check-config", log), 2, "check-config accepted dsn %s", dsn);
    cr_assert_eq(run(&s, "migrate", log), 1, "migrate accepted dsn %s", dsn);
    text = tw_slurp(log, NULL);
    /* the error line of each command ("taskwheel...: ...") names the key and the reason */
    for (const char *p = text; *p != '\0'; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "") {
        size_t len = strcspn(p, "\n");
        char line[1024];

        if (strncmp(p, "taskwheel", 9) != 0)
            continue; /* JSON log lines of plugins loading, notes */
        errors++;
        snprintf(line, sizeof(line), "%.*s", (int)len, p);
        cr_assert(strstr(line, "store.dsn") != NULL, "no key in: %s", line);
        cr_assert(strstr(line, reason) != NULL, "no reason \"%s\" in: %s", reason, line);
    }
    cr_assert_geq(errors, 3, "%s", text);
    cr_assert(strstr(text, PASSWORD) == NULL, "the password is shown: %s", text);
    free(text);
    tw_srv_fini(&s, false);
}

Test(pg_store, wrong_database_is_a_startup_error_without_the_password)
{
    char dsn[400];

    /* a database that does not exist: libpq's reason names it */
    snprintf(dsn, sizeof(dsn), "%s password=" PASSWORD, pg.dsn);
    *strstr(dsn, "dbname=tw") = '\0';
    strcat(dsn, "dbname=nosuchdb password=" PASSWORD);
    refused(dsn, "\"nosuchdb\" does not exist");
}

Test(pg_store, unreachable_server_is_a_startup_error_without_the_password)
{
    refused("host=/nonexistent/pg port=5432 dbname=tw user=tw password=" PASSWORD,
            "No such file or directory");
}

Test(pg_store, unparsable_dsn_is_a_startup_error_without_the_password)
{
    refused("host=/tmp dbname " PASSWORD, "not a valid PostgreSQL connection string");
}

static long get_status(struct tw_srv *s, const char *tok, long long id, struct tw_resp *r)
{
    char path[64];

    snprintf(path, sizeof(path), "/tasks/%lld", id);
    tw_http(s, "GET", path, tok, NULL, NULL, r);
    return r->status;
}

Test(pg_store, restart_answers_503_then_recovers_without_losing_anything)
{
    static const char *const chain1[] = { "1", NULL };
    struct timespec ts = { 0, 100 * 1000 * 1000 };
    char yaml[600], log[300], why[1024];
    struct tw_srv s;
    struct tw_resp r;
    long long id, id2;
    char *tok, *body, *text;
    int i;

    snprintf(yaml, sizeof(yaml), "store: { driver: postgresql, dsn: \"%s password=" PASSWORD "\" }",
             pg.dsn);
    make_dir(&s, yaml);
    snprintf(log, sizeof(log), "%s/server.log", s.dir);
    tok = tw_srv_token(&s, "write", chain1); /* the CLI on PostgreSQL too */
    start(&s, log);

    body = tw_task_body(1, NULL);
    tw_http(&s, "POST", "/tasks", tok, NULL, body, &r);
    cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
    id = json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    cr_assert_eq(get_status(&s, tok, id, &r), 200, "%s", r.body);
    tw_resp_fini(&r);

    /* down: every request is 503 unavailable, none another error */
    cr_assert_eq(tw_pgpeer_stop(&pg, why, sizeof(why)), 0, "%s", why);
    for (i = 0; i < 3; i++) {
        cr_assert_eq(get_status(&s, tok, id, &r), 503, "%ld %s", r.status, r.body);
        tw_assert_error(&r, 503, "unavailable", NULL);
        tw_resp_fini(&r);
    }
    tw_http(&s, "POST", "/tasks", tok, NULL, body, &r);
    tw_assert_error(&r, 503, "unavailable", NULL);
    tw_resp_fini(&r);

    /* back: the same node answers again, by itself */
    cr_assert_eq(tw_pgpeer_resume(&pg, why, sizeof(why)), 0, "%s", why);
    for (i = 0; i < 300; i++) {
        long st = get_status(&s, tok, id, &r);

        if (st == 200)
            break;
        cr_assert_eq(st, 503, "while reconnecting: %ld %s", st, r.body);
        tw_resp_fini(&r);
        nanosleep(&ts, NULL);
    }
    cr_assert_eq(r.status, 200, "no recovery within 30 s: %s", r.body);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "id")), id);
    tw_resp_fini(&r);

    /* a pg_ctl restart (fast: connections cut) while the node is idle: at most one 503 */
    cr_assert_eq(tw_pgpeer_restart(&pg, why, sizeof(why)), 0, "%s", why);
    tw_http(&s, "POST", "/tasks", tok, NULL, body, &r);
    if (r.status == 503) {
        tw_resp_fini(&r);
        tw_http(&s, "POST", "/tasks", tok, NULL, body, &r);
    }
    cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
    id2 = json_integer_value(json_object_get(r.json, "id"));
    cr_assert_gt(id2, id);
    tw_resp_fini(&r);
    cr_assert_eq(get_status(&s, tok, id, &r), 200, "%s", r.body);
    tw_resp_fini(&r);
    free(body);

    cr_assert_eq(tw_srv_stop(&s, SIGTERM), 0);
    text = tw_slurp(log, NULL);
    cr_assert(strstr(text, PASSWORD) == NULL, "the password is in the server log: %s", text);
    free(text);
    free(tok);
    tw_srv_fini(&s, false);
}
