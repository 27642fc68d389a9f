/*
 * The command-line client `taskwheel task ...` (docs/client.md, docs/reference.md §15) against a real
 * server: every subcommand in words and with --json, create from flags and from a body file,
 * admin-user login, and bad input (a wrong token prints the service's error name and
 * description with exit 1, an unknown flag is exit 2, a server that is down is one line naming
 * the URL with exit 1).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_test.h"

static struct tw_srv srv;
static char *tok;

static void setup(void)
{
    static const char *const chains[] = { "9001", "9006", NULL };

    /* The fixture index "testrun": chain 9001 exports 3 records, 9006 fails (tests/runplugin). */
    tw_srv_init_plugins(&srv, TW_RUNPLUGINS_DIR, NULL);
    tok = tw_srv_token(&srv, "write", chains);
}

static void teardown(void)
{
    free(tok);
    tw_srv_fini(&srv, true);
}

TestSuite(client, .init = setup, .fini = teardown, .timeout = 300);

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(client, create_from_flags_in_words_and_json)
{
    struct tw_cmd c;
    char seg[400];
    json_t *j, *task, *trig, *target;
    long long id;

    snprintf(seg, sizeof(seg), "%s/seg.json", srv.dir);
    write_file(seg, "{\"entity\": \"people\", \"join\": \"all\", \"rules\": [{\"field_name\": "
                    "\"id\", \"field_type\": \"number\", \"operator\": \"is_greater_than\", "
                    "\"value\": 1}]}");
    twc_run(&c, srv.base_url, tok, "create", "--chain", "9001", "--index", "testrun", "--format",
            "json", "--once", "2099-03-01T06:00:00+01:00", "--repeat", "daily", "--timezone",
            "Europe/Amsterdam", "--compression", "gzip", "--segment", seg, "--desc", "nightly rows",
            "--debug", "ticket-7", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert_eq(sscanf(c.out, "created task %lld", &id), 1, "%s", c.out);
    cr_assert(strstr(c.out, "READY") != NULL, "%s", c.out);
    cr_assert(strstr(c.out, "nightly rows") != NULL, "%s", c.out);
    cr_assert(strstr(c.out, "daily 2099-03-01T05:00:00Z (Europe/Amsterdam)") != NULL, "%s", c.out);
    cr_assert(strstr(c.out, "1 rule(s)") != NULL, "%s", c.out);
    tw_cmd_fini(&c);

    /* What the server stored is what the flags said. */
    task = tw_task_get(&srv, tok, id);
    trig = json_object_get(task, "trigger");
    target = json_object_get(task, "target");
    cr_assert_str_eq(json_string_value(json_object_get(target, "export_format")), "json");
    cr_assert_str_eq(json_string_value(json_object_get(target, "compression")), "gzip");
    cr_assert_str_eq(json_string_value(json_object_get(trig, "repeat")), "daily");
    cr_assert_str_eq(json_string_value(json_object_get(trig, "timezone")), "Europe/Amsterdam");
    cr_assert_eq(json_array_size(json_object_get(json_object_get(trig, "segment"), "rules")), 1);
    cr_assert_str_eq(json_string_value(json_object_get(task, "debug")), "ticket-7");
    json_decref(task);

    /* --since reaches the server as target.since (which testrun cannot do: it has no change
     * column), and the refusal names the field. */
    twc_run(&c, srv.base_url, tok, "create", "--chain", "9001", "--index", "testrun", "--since",
            "last_success", NULL);
    cr_assert_eq(c.code, 1, "%s%s", c.out, c.err);
    cr_assert(strstr(c.err, "HTTP 400 validation_failed: target.since: ") != NULL, "%s", c.err);
    tw_cmd_fini(&c);

    /* --json: the server's answer as it came. */
    twc_run(&c, srv.base_url, tok, "create", "--chain", "9001", "--index", "testrun", "--json",
            NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    j = twc_json(&c);
    cr_assert_gt(json_integer_value(json_object_get(j, "id")), id);
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(j, "target"), "export_format")), "csv");
    cr_assert_str_eq(json_string_value(json_object_get(j, "desc")),
                     "testrun export (taskwheel task create)");
    json_decref(j);
    tw_cmd_fini(&c);
}

Test(client, create_from_a_body_file_and_stdin)
{
    static const char body[] =
        "{\"chain\": 9001, \"desc\": \"from a file\", \"target\": {\"action\": \"export\", "
        "\"export_index\": \"testrun\", \"export_format\": \"csv\"}, \"trigger\": {\"once\": "
        "\"2099-01-01T00:00:00Z\", \"repeat\": \"weekly\"}}";
    struct tw_cmd c;
    char path[400];
    long long id, again;
    json_t *j;

    snprintf(path, sizeof(path), "%s/body.json", srv.dir);
    write_file(path, body);
    twc_run(&c, srv.base_url, tok, "create", "--body", path, NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert_eq(sscanf(c.out, "created task %lld", &id), 1, "%s", c.out);
    cr_assert(strstr(c.out, "from a file") != NULL && strstr(c.out, "weekly") != NULL, "%s", c.out);
    tw_cmd_fini(&c);

    twc_run_in(&c, srv.base_url, tok, body, NULL, "create", "--body", "-", "--json", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    j = twc_json(&c);
    cr_assert_gt(json_integer_value(json_object_get(j, "id")), id);
    cr_assert_str_eq(json_string_value(json_object_get(j, "desc")), "from a file");
    json_decref(j);
    tw_cmd_fini(&c);

    /* An Idempotency-Key repeated: the first task again, said so. */
    twc_run(&c, srv.base_url, tok, "create", "--body", path, "--idempotency-key", "k-1", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert_eq(sscanf(c.out, "created task %lld", &id), 1, "%s", c.out);
    tw_cmd_fini(&c);
    twc_run(&c, srv.base_url, tok, "create", "--body", path, "--idempotency-key", "k-1", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert_eq(sscanf(c.out, "existing (same Idempotency-Key) task %lld", &again), 1, "%s",
                 c.out);
    cr_assert_eq(again, id);
    tw_cmd_fini(&c);

    /* A body the server refuses: its error name and the field, exit 1. */
    write_file(path, "{\"chain\": 9001, \"desc\": \"x\", \"segmnet\": {}}");
    twc_run(&c, srv.base_url, tok, "create", "--body", path, NULL);
    cr_assert_eq(c.code, 1, "%s%s", c.out, c.err);
    cr_assert(strstr(c.err, "HTTP 400 validation_failed: ") != NULL, "%s", c.err);
    cr_assert(strstr(c.err, "segmnet") != NULL, "%s", c.err);
    tw_cmd_fini(&c);

    /* Not JSON at all: the server's invalid_json. */
    write_file(path, "chain: 9001");
    twc_run(&c, srv.base_url, tok, "create", "--body", path, NULL);
    cr_assert_eq(c.code, 1, "%s%s", c.out, c.err);
    cr_assert(strstr(c.err, "invalid_json") != NULL, "%s", c.err);
    tw_cmd_fini(&c);
}

Test(client, list_get_delete_in_words_and_json)
{
    struct tw_cmd c;
    char ids[32], other[32];
    long long id = twc_create(srv.base_url, tok, "9001");
    long long id2 = twc_create(srv.base_url, tok, "9006");
    json_t *j;

    snprintf(ids, sizeof(ids), "%lld", id);
    snprintf(other, sizeof(other), "%lld", id2);

    twc_run(&c, srv.base_url, tok, "list", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert(strncmp(c.out, "ID ", 3) == 0, "%s", c.out);
    cr_assert_eq(twc_lines(c.out), 3, "%s", c.out);
    cr_assert(strstr(c.out, "READY") != NULL && strstr(c.out, "testrun") != NULL, "%s", c.out);
    tw_cmd_fini(&c);

    twc_run(&c, srv.base_url, tok, "list", "--json", "--chain", "9006", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    j = twc_json(&c);
    cr_assert(json_is_array(j));
    cr_assert_eq(json_array_size(j), 1);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(j, 0), "id")), id2);
    json_decref(j);
    tw_cmd_fini(&c);

    twc_run(&c, srv.base_url, tok, "list", "--json", "--status", "DONE", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert_str_eq(c.out, "[]\n");
    tw_cmd_fini(&c);

    twc_run(&c, srv.base_url, tok, "list", "--limit", "1", "--index", "testrun", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert(strstr(c.out, "(1 of 2 tasks shown") != NULL, "%s", c.out);
    tw_cmd_fini(&c);

    twc_run(&c, srv.base_url, tok, "get", ids, NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert(strncmp(c.out, "task ", 5) == 0 && strstr(c.out, "READY") != NULL, "%s", c.out);
    cr_assert(strstr(c.out, "result:    none yet") != NULL, "%s", c.out);
    tw_cmd_fini(&c);

    twc_run(&c, srv.base_url, tok, "get", ids, "--json", "--log-limit", "0", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    j = twc_json(&c);
    cr_assert_eq(json_integer_value(json_object_get(j, "id")), id);
    json_decref(j);
    tw_cmd_fini(&c);

    twc_run(&c, srv.base_url, tok, "delete", ids, NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    snprintf(other, sizeof(other), "deleted task %lld\n", id);
    cr_assert_str_eq(c.out, other);
    tw_cmd_fini(&c);
}

Test(client, delete_then_get_is_the_service_error)
{
    struct tw_cmd c;
    char ids[32];
    long long id = twc_create(srv.base_url, tok, "9001");

    snprintf(ids, sizeof(ids), "%lld", id);
    twc_run(&c, srv.base_url, tok, "delete", ids, NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert(strstr(c.out, "deleted task") != NULL, "%s", c.out);
    tw_cmd_fini(&c);

    twc_run(&c, srv.base_url, tok, "get", ids, NULL);
    cr_assert_eq(c.code, 1, "%s%s", c.out, c.err);
    cr_assert(strstr(c.err, "HTTP 404 task_not_found: ") != NULL, "%s", c.err);
    cr_assert_eq(twc_lines(c.err), 1, "%s", c.err);
    tw_cmd_fini(&c);

    /* --json: the raw error on stdout as well. */
    twc_run(&c, srv.base_url, tok, "delete", ids, "--json", NULL);
    cr_assert_eq(c.code, 1, "%s%s", c.out, c.err);
    json_t *j = twc_json(&c);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "name")),
                     "task_not_found");
    json_decref(j);
    tw_cmd_fini(&c);

    /* A successful delete with --json prints the (empty) answer. */
    id = twc_create(srv.base_url, tok, "9001");
    snprintf(ids, sizeof(ids), "%lld", id);
    twc_run(&c, srv.base_url, tok, "delete", ids, "--json", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert_str_eq(c.out, "");
    tw_cmd_fini(&c);
}

Test(client, execute_async_and_held)
{
    struct tw_cmd c;
    char ids[32], bad[32];
    long long id = twc_create(srv.base_url, tok, "9001");
    long long failing = twc_create(srv.base_url, tok, "9006");
    json_t *j, *task;

    snprintf(ids, sizeof(ids), "%lld", id);
    snprintf(bad, sizeof(bad), "%lld", failing);

    twc_run(&c, srv.base_url, tok, "execute", ids, "--wait", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert(strstr(c.out, "DONE") != NULL, "%s", c.out);
    tw_cmd_fini(&c);

    /* Without --wait: at once, with the state the server reported. */
    twc_run(&c, srv.base_url, tok, "execute", ids, "--json", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    j = twc_json(&c);
    cr_assert(json_is_string(json_object_get(j, "code")), "%s", c.out);
    json_decref(j);
    tw_cmd_fini(&c);
    task = tw_wait_state(&srv, tok, id, "DONE", 60);
    json_decref(task);

    twc_run(&c, srv.base_url, tok, "execute", ids, NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert(strstr(c.out, "started") != NULL && strstr(c.out, "task watch") != NULL, "%s", c.out);
    tw_cmd_fini(&c);
    task = tw_wait_state(&srv, tok, id, "DONE", 60);
    json_decref(task);

    /* A run that fails: exit 1 with --wait, and the final state in --json. */
    twc_run(&c, srv.base_url, tok, "execute", bad, "--wait", "--json", NULL);
    cr_assert_eq(c.code, 1, "%s%s", c.out, c.err);
    j = twc_json(&c);
    cr_assert_str_eq(json_string_value(json_object_get(j, "code")), "ERROR");
    json_decref(j);
    tw_cmd_fini(&c);

    twc_run(&c, srv.base_url, tok, "execute", bad, "--wait", NULL);
    cr_assert_eq(c.code, 1, "%s%s", c.out, c.err);
    cr_assert(strstr(c.out, "ERROR") != NULL, "%s", c.out);
    tw_cmd_fini(&c);
}

Test(client, wrong_token_prints_the_service_error)
{
    static const char bad[] = "00000000-0000-4000-8000-000000000000:not-the-secret";
    struct tw_cmd c;

    twc_run(&c, srv.base_url, bad, "list", NULL);
    cr_assert_eq(c.code, 1, "%s%s", c.out, c.err);
    cr_assert_str_eq(c.out, "");
    cr_assert(strstr(c.err, "no_valid_session") != NULL, "%s", c.err);
    cr_assert(strstr(c.err, "unknown or revoked token, or wrong secret") != NULL, "%s", c.err);
    cr_assert_eq(twc_lines(c.err), 1, "%s", c.err);
    tw_cmd_fini(&c);

    /* The same from a token in the environment. */
    {
        char url[128], t[200];
        const char *env[] = { url, t, NULL };

        snprintf(url, sizeof(url), "TASKWHEEL_URL=%s", srv.base_url);
        snprintf(t, sizeof(t), "TASKWHEEL_TOKEN=%s", bad);
        twc_run_in(&c, NULL, NULL, NULL, env, "get", "1", NULL);
        cr_assert_eq(c.code, 1, "%s%s", c.out, c.err);
        cr_assert(strstr(c.err, "no_valid_session") != NULL, "%s", c.err);
        tw_cmd_fini(&c);
        /* ...and the right one from the environment works. */
        snprintf(t, sizeof(t), "TASKWHEEL_TOKEN=%s", tok);
        twc_run_in(&c, NULL, NULL, NULL, env, "list", "--json", NULL);
        cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
        cr_assert_str_eq(c.out, "[]\n");
        tw_cmd_fini(&c);
    }
}

Test(client, usage_errors_exit_2)
{
    static const char *const subs[] = { "create", "list",     "get",    "execute",
                                        "watch",  "download", "delete", NULL };
    struct tw_cmd c;
    size_t i;

    twc_run(&c, srv.base_url, tok, "list", "--bogus", NULL);
    cr_assert_eq(c.code, 2, "%s%s", c.out, c.err);
    cr_assert(strstr(c.err, "unknown option --bogus") != NULL, "%s", c.err);
    cr_assert(strstr(c.err, "usage: taskwheel task list") != NULL, "%s", c.err);
    tw_cmd_fini(&c);

    twc_run(&c, srv.base_url, tok, "get", NULL);
    cr_assert_eq(c.code, 2, "%s%s", c.out, c.err);
    cr_assert(strstr(c.err, "task ID is missing") != NULL, "%s", c.err);
    tw_cmd_fini(&c);

    twc_run(&c, srv.base_url, tok, "get", "abc", NULL);
    cr_assert_eq(c.code, 2, "%s%s", c.out, c.err);
    tw_cmd_fini(&c);

    twc_run(&c, srv.base_url, tok, "create", "--chain", "9001", NULL);
    cr_assert_eq(c.code, 2, "%s%s", c.out, c.err);
    cr_assert(strstr(c.err, "--index") != NULL, "%s", c.err);
    tw_cmd_fini(&c);

    twc_run(&c, srv.base_url, tok, "create", "--index", "testrun", "--chain", "x", NULL);
    cr_assert_eq(c.code, 2, "%s%s", c.out, c.err);
    tw_cmd_fini(&c);

    twc_run(&c, srv.base_url, tok, "create", "--body", "/nonexistent/body.json", NULL);
    cr_assert_eq(c.code, 2, "%s%s", c.out, c.err);
    cr_assert(strstr(c.err, "/nonexistent/body.json") != NULL, "%s", c.err);
    tw_cmd_fini(&c);

    twc_run(&c, srv.base_url, tok, "create", "--chain", "9001", "--index", "testrun",
            "--idempotency-key", "a\r\nX-Injected: 1", NULL);
    cr_assert_eq(c.code, 2, "%s%s", c.out, c.err);
    cr_assert(strstr(c.err, "control character") != NULL, "%s", c.err);
    tw_cmd_fini(&c);

    twc_run(&c, srv.base_url, tok, "frobnicate", NULL);
    cr_assert_eq(c.code, 2, "%s%s", c.out, c.err);
    tw_cmd_fini(&c);

    /* No credentials at all. */
    twc_run(&c, srv.base_url, NULL, "list", NULL);
    cr_assert_eq(c.code, 2, "%s%s", c.out, c.err);
    cr_assert(strstr(c.err, "no credentials") != NULL, "%s", c.err);
    tw_cmd_fini(&c);

    /* --help of each subcommand: its usage on stdout, exit 0. */
    for (i = 0; subs[i] != NULL; i++) {
        char want[64];

        twc_run(&c, NULL, NULL, subs[i], "--help", NULL);
        cr_assert_eq(c.code, 0, "%s --help: %s%s", subs[i], c.out, c.err);
        snprintf(want, sizeof(want), "usage: taskwheel task %s", subs[i]);
        cr_assert(strstr(c.out, want) != NULL, "%s", c.out);
        cr_assert(strstr(c.out, "--url") != NULL && strstr(c.out, "--json") != NULL, "%s", c.out);
        tw_cmd_fini(&c);
    }
}

Test(client, server_down_is_one_line_naming_the_url)
{
    struct tw_cmd c;
    char url[64];
    unsigned port = srv.port;

    snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
    tw_srv_stop(&srv, SIGTERM);
    twc_run(&c, url, tok, "list", NULL);
    cr_assert_eq(c.code, 1, "%s%s", c.out, c.err);
    cr_assert_eq(twc_lines(c.err), 1, "%s", c.err);
    cr_assert(strstr(c.err, url) != NULL, "%s", c.err);
    cr_assert(strstr(c.err, "cannot reach") != NULL, "%s", c.err);
    cr_assert_str_eq(c.out, "");
    tw_cmd_fini(&c);
    tw_srv_start(&srv);
}

Test(client, admin_user_login)
{
    static const char *const add[] = { "user", "add", "alice", "--chain", "9001=write", NULL };
    static const char *const env[] = { "TASKWHEEL_PASSWORD=correct horse", NULL };
    static const char *const wrong[] = { "TASKWHEEL_PASSWORD=wrong", NULL };
    struct tw_cmd c;
    json_t *j;

    cr_assert_eq(tw_srv_cli(&srv, "correct horse\n", NULL, add), 0);
    twc_run_in(&c, srv.base_url, NULL, NULL, env, "create", "--user", "alice", "--chain", "9001",
               "--index", "testrun", "--once", "2099-01-01T00:00:00Z", "--json", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    j = twc_json(&c);
    cr_assert_eq(json_integer_value(json_object_get(j, "chain")), 9001);
    json_decref(j);
    tw_cmd_fini(&c);

    twc_run_in(&c, srv.base_url, NULL, NULL, env, "list", "--user", "alice", "--chain", "9001",
               NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert_eq(twc_lines(c.out), 2, "%s", c.out);
    tw_cmd_fini(&c);

    /* A chain the user has no access to: the service's permission_denied. */
    twc_run_in(&c, srv.base_url, NULL, NULL, env, "list", "--user", "alice", "--chain", "9006",
               NULL);
    cr_assert_eq(c.code, 1, "%s%s", c.out, c.err);
    cr_assert(strstr(c.err, "permission_denied") != NULL, "%s", c.err);
    tw_cmd_fini(&c);

    twc_run_in(&c, srv.base_url, NULL, NULL, wrong, "list", "--user", "alice", "--chain", "9001",
               NULL);
    cr_assert_eq(c.code, 1, "%s%s", c.out, c.err);
    cr_assert(strstr(c.err, "login as alice refused: HTTP 401 no_valid_session") != NULL, "%s",
              c.err);
    tw_cmd_fini(&c);

    /* --user without --chain, or with --token too: usage. No password and no terminal: usage. */
    twc_run_in(&c, srv.base_url, NULL, NULL, env, "list", "--user", "alice", NULL);
    cr_assert_eq(c.code, 2, "%s%s", c.out, c.err);
    tw_cmd_fini(&c);
    twc_run_in(&c, srv.base_url, tok, NULL, env, "list", "--user", "alice", "--chain", "9001",
               NULL);
    cr_assert_eq(c.code, 2, "%s%s", c.out, c.err);
    tw_cmd_fini(&c);
    twc_run(&c, srv.base_url, NULL, "list", "--user", "alice", "--chain", "9001", NULL);
    cr_assert_eq(c.code, 2, "%s%s", c.out, c.err);
    cr_assert(strstr(c.err, "TASKWHEEL_PASSWORD") != NULL, "%s", c.err);
    tw_cmd_fini(&c);
}

Test(client, admin_password_asked_on_the_terminal_without_echo)
{
    static const char *const add[] = { "user", "add", "bob", "--chain", "9001=read", NULL };
    const char *args[] = {
        "task", "list", "--user", "bob", "--chain", "9001", "--url", NULL, NULL
    };
    struct tw_cmd c;

    args[7] = srv.base_url;
    cr_assert_eq(tw_srv_cli(&srv, "s3cret-typed\n", NULL, add), 0);
    tw_cmd_run_pty_answer(args, NULL, "password for bob: ", "s3cret-typed\n", &c);
    cr_assert_eq(c.code, 0, "%s", c.out);
    cr_assert(strstr(c.out, "ID ") != NULL, "signed in and listed: %s", c.out);
    cr_assert_null(strstr(c.out, "s3cret-typed"), "the password was echoed: %s", c.out);
    tw_cmd_fini(&c);
}
