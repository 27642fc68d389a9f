/*
 * The CLI client against a server mounted under a path prefix (`--url http://host/prefix`),
 * through the prefix-stripping reverse proxy of tests/harness/proxy.c, with results.public_url
 * naming the proxy so the download goes through it too: every subcommand works there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_test.h"
#include "proxy.h"

static struct tw_srv srv;
static struct tw_proxy proxy;
static char *tok;

static void setup(void)
{
    static const char *const chains[] = { "9001", "9002", NULL };
    char extra[256];

    tw_proxy_bind(&proxy);
    snprintf(extra, sizeof(extra), "results: { public_url: \"http://127.0.0.1:%u/tw\" }\n",
             proxy.port);
    tw_srv_init_plugins(&srv, TW_RUNPLUGINS_DIR, extra);
    tw_proxy_start(&proxy, "/tw", srv.port);
    tok = tw_srv_token(&srv, "write", chains);
}

static void teardown(void)
{
    free(tok);
    tw_proxy_stop(&proxy);
    tw_srv_fini(&srv, true);
}

TestSuite(client_prefix, .init = setup, .fini = teardown, .timeout = 300);

Test(client_prefix, every_subcommand_behind_a_prefix)
{
    const char *url = proxy.url; /* http://127.0.0.1:PORT/tw */
    char ids[32], file[400], slash[160];
    struct tw_cmd c;
    long long id;
    json_t *j;

    id = twc_create(url, tok, "9002");
    snprintf(ids, sizeof(ids), "%lld", id);

    twc_run(&c, url, tok, "list", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert(strstr(c.out, ids) != NULL, "%s", c.out);
    tw_cmd_fini(&c);

    /* A trailing slash on the URL is the same place. */
    snprintf(slash, sizeof(slash), "%s/", url);
    twc_run(&c, slash, tok, "get", ids, "--json", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    j = twc_json(&c);
    cr_assert_eq(json_integer_value(json_object_get(j, "id")), id);
    json_decref(j);
    tw_cmd_fini(&c);

    twc_run(&c, url, tok, "execute", ids, NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    tw_cmd_fini(&c);
    twc_run(&c, url, tok, "watch", ids, NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert(strstr(c.out, "DONE") != NULL, "%s", c.out);
    tw_cmd_fini(&c);

    /* The held execute through the proxy. */
    twc_run(&c, url, tok, "execute", ids, "--wait", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert(strstr(c.out, "DONE") != NULL, "%s", c.out);
    tw_cmd_fini(&c);

    snprintf(file, sizeof(file), "%s/via-proxy.csv", srv.dir);
    twc_run(&c, url, tok, "download", ids, "-o", file, NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert(strstr(c.out, "verified") != NULL, "%s", c.out);
    tw_cmd_fini(&c);
    cr_assert_eq(truncate(file, 7), 0);
    twc_run(&c, url, tok, "download", ids, "-o", file, NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert(strstr(c.out, "resumed at byte 7") != NULL, "%s", c.out);
    tw_cmd_fini(&c);

    twc_run(&c, url, tok, "delete", ids, NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    tw_cmd_fini(&c);

    /* Errors from behind the prefix are the service's own. */
    twc_run(&c, url, tok, "get", ids, NULL);
    cr_assert_eq(c.code, 1, "%s%s", c.out, c.err);
    cr_assert(strstr(c.err, "task_not_found") != NULL, "%s", c.err);
    tw_cmd_fini(&c);

    /* Without the prefix the proxy has nothing: an HTTP error, not the service's. */
    snprintf(slash, sizeof(slash), "http://127.0.0.1:%u", proxy.port);
    twc_run(&c, slash, tok, "list", NULL);
    cr_assert_eq(c.code, 1, "%s%s", c.out, c.err);
    cr_assert(strstr(c.err, "HTTP 404") != NULL, "%s", c.err);
    tw_cmd_fini(&c);
}

Test(client_prefix, create_from_flags_behind_a_prefix)
{
    struct tw_cmd c;
    long long id;

    twc_run(&c, proxy.url, tok, "create", "--chain", "9001", "--index", "testrun", "--repeat",
            "weekly", "--once", "2099-01-01T00:00:00Z", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert_eq(sscanf(c.out, "created task %lld", &id), 1, "%s", c.out);
    cr_assert(strstr(c.out, "weekly") != NULL, "%s", c.out);
    tw_cmd_fini(&c);
}
