/*
 * `taskwheel task watch` against a real server (docs/client.md): piped, one plain line per
 * change and exit 0 on DONE / 1 on ERROR; under a pseudo-terminal, a progress line redrawn in
 * place with the records so far, on a run long enough (testrun chain 9009: 40000 records, at
 * least 1.5 s per 10000, the engine's progress step) to show several updates.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_test.h"

static struct tw_srv srv;
static char *tok;

static void setup(void)
{
    static const char *const chains[] = { "9001", "9002", "9006", "9009", NULL };

    tw_srv_init_plugins(&srv, TW_RUNPLUGINS_DIR, NULL);
    tok = tw_srv_token(&srv, "write", chains);
}

static void teardown(void)
{
    free(tok);
    tw_srv_fini(&srv, true);
}

TestSuite(client_watch, .init = setup, .fini = teardown, .timeout = 300);

static void execute_async(long long id)
{
    char ids[32];
    struct tw_cmd c;

    snprintf(ids, sizeof(ids), "%lld", id);
    twc_run(&c, srv.base_url, tok, "execute", ids, NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    tw_cmd_fini(&c);
}

Test(client_watch, piped_plain_lines_exit_0_on_done)
{
    /* 9002: five records a second apart, so the watch starts while the run goes on. */
    long long id = twc_create(srv.base_url, tok, "9002");
    char ids[32];
    struct tw_cmd c;

    snprintf(ids, sizeof(ids), "%lld", id);
    execute_async(id);
    twc_run(&c, srv.base_url, tok, "watch", ids, "--interval", "0.2", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert_null(strchr(c.out, '\r'), "no redraws when piped: %s", c.out);
    cr_assert_null(strchr(c.out, '\033'), "no terminal codes when piped: %s", c.out);
    cr_assert(strstr(c.out, "INPROGRESS -> DONE") != NULL, "%s", c.out);
    cr_assert(strstr(c.out, "success  (total 5, success 5, skips 0, errors 0)") != NULL, "%s",
              c.out);
    cr_assert(strstr(c.out, "DONE") != NULL, "%s", c.out);
    cr_assert_eq(c.out[strlen(c.out) - 1], '\n');
    tw_cmd_fini(&c);

    /* Watching it again: the run is over, its outcome is reported at once. */
    twc_run(&c, srv.base_url, tok, "watch", ids, NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert(strstr(c.out, "DONE: ") != NULL, "%s", c.out);
    tw_cmd_fini(&c);
}

Test(client_watch, piped_exit_1_on_error)
{
    long long id = twc_create(srv.base_url, tok, "9006");
    char ids[32];
    struct tw_cmd c;

    snprintf(ids, sizeof(ids), "%lld", id);
    execute_async(id);
    twc_run(&c, srv.base_url, tok, "watch", ids, NULL);
    cr_assert_eq(c.code, 1, "%s%s", c.out, c.err);
    cr_assert(strstr(c.out, "ERROR") != NULL, "%s", c.out);
    cr_assert(strstr(c.out, "told to fail by chain 9006") != NULL, "%s", c.out);
    tw_cmd_fini(&c);
}

Test(client_watch, json_lines_and_a_task_that_waits)
{
    /* READY and due now: watch waits for the scheduler to start it, then follows it. */
    struct tw_cmd c;
    char ids[32], *line, *save = NULL;
    long long id;
    size_t n = 0;
    json_t *j;

    twc_run(&c, srv.base_url, tok, "create", "--chain", "9002", "--index", "testrun", "--json",
            NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    j = twc_json(&c);
    id = (long long)json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    tw_cmd_fini(&c);
    snprintf(ids, sizeof(ids), "%lld", id);
    twc_run(&c, srv.base_url, tok, "watch", ids, "--json", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    for (line = strtok_r(c.out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        j = json_loads(line, 0, NULL);
        cr_assert_not_null(j, "not a JSON line: %s", line);
        cr_assert_eq(json_integer_value(json_object_get(j, "id")), id);
        json_decref(j);
        n++;
    }
    cr_assert_geq(n, 2, "the start and the end at least");
    tw_cmd_fini(&c);
}

/* The record counts of the redraws "\r\033[Ktask N INPROGRESS  COUNT records ..." in out;
 * returns how many distinct redraws there were and sets *counts to the distinct counts. */
static size_t redraws(const char *out, size_t *counts)
{
    char seen[64][200];
    long long vals[64];
    size_t n = 0, nv = 0, i;
    const char *p = out;

    while ((p = strstr(p, "\r\033[Ktask ")) != NULL) {
        const char *q = p + 4;
        size_t len = strcspn(q, "\r\n");
        long long id, v;
        char text[200];
        bool dup = false;

        snprintf(text, sizeof(text), "%.*s", (int)len, q);
        p = q + len;
        if (sscanf(text, "task %lld INPROGRESS  %lld records", &id, &v) != 2)
            continue;
        for (i = 0; i < n; i++)
            dup |= strcmp(seen[i], text) == 0;
        if (!dup && n < 64)
            snprintf(seen[n++], sizeof(seen[0]), "%s", text);
        dup = false;
        for (i = 0; i < nv; i++)
            dup |= vals[i] == v;
        if (!dup && nv < 64)
            vals[nv++] = v;
    }
    *counts = nv;
    return n;
}

Test(client_watch, terminal_progress_line_redrawn_in_place)
{
    long long id = twc_create(srv.base_url, tok, "9009");
    const char *args[] = { "task",  "watch",      NULL,      "--interval", "0.2",
                           "--url", srv.base_url, "--token", tok,          NULL };
    char ids[32];
    struct tw_cmd c;
    size_t counts, n;

    snprintf(ids, sizeof(ids), "%lld", id);
    args[2] = ids;
    execute_async(id);
    tw_cmd_run_pty(args, NULL, &c);
    cr_assert_eq(c.code, 0, "%s", c.out);
    n = redraws(c.out, &counts);
    /* 0, 10000, 20000, 30000 records, each shown for at least 1.5 s, polled every 0.2 s. */
    cr_assert_geq(counts, 3, "distinct record counts %zu in: %s", counts, c.out);
    cr_assert_geq(n, 3, "%s", c.out);
    cr_assert(strstr(c.out, "rec/s") != NULL && strstr(c.out, "elapsed ") != NULL, "%s", c.out);
    /* State changes are lines of their own; the end is said after the progress line is gone. */
    cr_assert(strstr(c.out, "INPROGRESS -> DONE") != NULL, "%s", c.out);
    cr_assert(strstr(c.out, "success  (total 40000, success 40000, skips 0, errors 0)") != NULL,
              "%s", c.out);
    tw_cmd_fini(&c);
}

/* A server that allows each caller one request a second. */
static void setup_limited(void)
{
    static const char *const chains[] = { "9002", NULL };

    tw_srv_init_plugins(&srv, TW_RUNPLUGINS_DIR, "limits: { requests_per_second: 1 }\n");
    tok = tw_srv_token(&srv, "write", chains);
}

Test(client_watch_limited, rate_limited_requests_are_waited_out, .init = setup_limited,
     .fini = teardown, .timeout = 300)
{
    long long id = twc_create(srv.base_url, tok, "9002");
    char ids[32];
    struct tw_cmd c;

    snprintf(ids, sizeof(ids), "%lld", id);
    execute_async(id);
    /* Twenty polls a second against one allowed: the 429s' Retry-After is honoured. */
    twc_run(&c, srv.base_url, tok, "watch", ids, "--interval", "0.05", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert(strstr(c.out, "INPROGRESS -> DONE") != NULL, "%s", c.out);
    cr_assert_null(strstr(c.err, "rate_limited"), "%s", c.err);
    tw_cmd_fini(&c);
}

/* Once the watch has shown its first line: stop the server (SIGTERM lets the run finish),
 * then start it again on the same port. */
static bool restart_server(const char *out, void *arg)
{
    char cfg[8192], *p;
    unsigned port = srv.port;
    FILE *f;
    size_t n;

    if (strstr(out, (const char *)arg) == NULL)
        return false;
    tw_srv_stop(&srv, SIGTERM);
    f = fopen(srv.config, "r+");
    cr_assert_not_null(f);
    n = fread(cfg, 1, sizeof(cfg) - 1, f);
    cfg[n] = '\0';
    p = strstr(cfg, "listen: \"127.0.0.1:0\"");
    cr_assert_not_null(p, "%s", cfg);
    fseek(f, 0, SEEK_SET);
    fprintf(f, "%.*slisten: \"127.0.0.1:%u\"%s", (int)(p - cfg), cfg, port,
            p + strlen("listen: \"127.0.0.1:0\""));
    fclose(f);
    tw_srv_start(&srv);
    cr_assert_eq(srv.port, port);
    return true;
}

Test(client_watch, rides_out_a_server_restart)
{
    /* 9009: a run of at least 6 s, so it is still going when the watch has started. */
    long long id = twc_create(srv.base_url, tok, "9009");
    const char *args[] = { "task",  "watch",      NULL,      "--interval", "0.2",
                           "--url", srv.base_url, "--token", tok,          NULL };
    char ids[32], first[64];
    struct tw_cmd c;

    snprintf(ids, sizeof(ids), "%lld", id);
    snprintf(first, sizeof(first), "task %lld INPROGRESS (testrun", id);
    args[2] = ids;
    execute_async(id);
    tw_cmd_run_pty_hook(args, NULL, restart_server, first, &c);
    cr_assert_eq(c.code, 0, "%s", c.out);
    cr_assert(strstr(c.out, "retrying for up to 60 s") != NULL, "%s", c.out);
    cr_assert(strstr(c.out, "DONE") != NULL, "%s", c.out);
    tw_cmd_fini(&c);
}
