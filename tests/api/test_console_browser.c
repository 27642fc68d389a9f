/*
 * The web console in a real browser (docs/reference.md §15, docs/console.md): a real server with seeded
 * data, Debian's chromium driven by playwright-core (tests/console/console.test.js, installed
 * by scripts/dev test with npm ci; no browser is downloaded). The script signs in with a token,
 * creates a task with two segment rules through the form, follows it READY -> INPROGRESS ->
 * DONE with progress shown, downloads the result and checks its SHA-256 against the API's,
 * makes a validation error appear at the field the service names, uses saved segments, signs
 * out; the same on a 390-px phone (signed in as an admin user); and a wrong or revoked token
 * brings the sign-in page with the service's message. It fails on any console error, page
 * error or CSP violation. Screenshots go to <build>/tests/artifacts/console/.
 *
 * The source is seeded for chain 1764 (2,500 users, ~25,000 transactions); the tasks the
 * browser creates export transactions through a slow Lua rule (tests/console/lua/segments/
 * slow.lua spends TW_SPIN loop turns per record), so that a run lasts long enough for the
 * console to show progress (the engine reports it every 10,000 records, at most once a second).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define CONSOLE_DIR TW_SOURCE_DIR "/tests/console"
#define ARTIFACTS TW_BUILD_DIR "/tests/artifacts/console"

static struct tw_srv srv;

static void setup(void)
{
    static const char *const seed[] = { "seed", "--rows", "2500", "--chains",
                                        "1764", "--seed", "17",   NULL };

    /* The shipped plugins; the Lua rules of tests/console/lua (slow.lua) */
    tw_srv_init_dirs(&srv, NULL, CONSOLE_DIR "/lua", "workers: 2\n");
    cr_assert_eq(tw_srv_cli(&srv, NULL, NULL, seed), 0, "taskwheel seed failed");
}

static void teardown(void)
{
    tw_srv_fini(&srv, true);
}

TestSuite(console_browser, .init = setup, .fini = teardown, .timeout = 600);

/* Tasks of the seeded chain for the last page: one done, one waiting, one failed. */
static void seeded_tasks(const char *token)
{
    static const char *const bodies[] = {
        "{\"chain\":1764,\"desc\":\"Opted-in members, Dutch and Belgian\",\"target\":{\"action\":"
        "\"export\",\"export_index\":\"users\",\"export_format\":\"csv\"},\"trigger\":{\"once\":"
        "\"2020-01-01T00:00:00Z\",\"segment\":{\"entity\":\"people\",\"join\":\"all\",\"rules\":"
        "[{\"field_name\":\"mailing_list_opted_in\",\"field_type\":\"boolean\",\"operator\":"
        "\"is\",\"value\":true},{\"field_name\":\"country_code\",\"field_type\":\"keyword\","
        "\"operator\":\"is\",\"value\":[\"NL\",\"BE\"]}]}}}",
        "{\"chain\":1764,\"desc\":\"Nightly transactions (JSON, gzip)\",\"target\":{\"action\":"
        "\"export\",\"export_index\":\"transactions\",\"export_format\":\"json\","
        "\"compression\":\"gzip\"},\"trigger\":{\"once\":\"2031-01-01T02:00:00Z\",\"repeat\":"
        "\"daily\"}}",
        "{\"chain\":1764,\"desc\":\"Vouchers through a failing Lua rule\",\"target\":{"
        "\"action\":\"export\",\"export_index\":\"vouchers\",\"export_format\":\"csv\"},"
        "\"trigger\":{\"once\":\"2020-01-01T00:00:00Z\",\"segment\":{\"entity\":\"people\","
        "\"rules\":[{\"operator\":\"script\",\"script\":\"slow\",\"params\":{"
        "\"fail\":true}}]}}}",
    };

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct tw_resp r;

        tw_http(&srv, "POST", "/tasks", token, NULL, bodies[i], &r);
        cr_assert_eq(r.status, 201, "seeded task %zu: %ld %s", i, r.status, r.body);
        tw_resp_fini(&r);
    }
}

Test(console_browser, the_console_works_in_chromium)
{
    static const char *const chains[] = { "9002", "1764", NULL };
    static const char *const add_user[] = { "user",    "add",        "console-admin",
                                            "--chain", "1764=write", NULL };
    struct stat st;
    char *token, *token2;
    pid_t pid;
    int status;

    cr_assert_eq(stat(CONSOLE_DIR "/node_modules/playwright-core", &st), 0,
                 "tests/console/node_modules is missing: run `scripts/dev test` (or "
                 "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci in tests/console)");
    cr_assert_eq(access("/usr/bin/chromium", X_OK), 0,
                 "/usr/bin/chromium is missing: install Debian's chromium (scripts/dev test does)");
    token = tw_srv_token(&srv, "write", chains);
    token2 = tw_srv_token(&srv, "write", chains);
    cr_assert_eq(tw_srv_cli(&srv, "Console-pw-2026\n", NULL, add_user), 0, "user add failed");
    seeded_tasks(token);

    pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        setenv("TW_URL", srv.base_url, 1);
        setenv("TW_TOKEN", token, 1);
        setenv("TW_TOKEN2", token2, 1);
        setenv("TW_CHAIN", "1764", 1);
        setenv("TW_OTHER_CHAIN", "9002", 1);
        setenv("TW_USER", "console-admin", 1);
        setenv("TW_PASSWORD", "Console-pw-2026", 1);
        setenv("TW_BINARY", TW_BINARY, 1);
        setenv("TW_CONFIG", srv.config, 1);
        setenv("TW_ARTIFACTS", ARTIFACTS, 1);
        execlp("node", "node", CONSOLE_DIR "/console.test.js", (char *)NULL);
        _exit(127);
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the browser test failed (its output above says where); screenshots in " ARTIFACTS);
    free(token);
    free(token2);
}
