/*
 * Configuration paths and URLs as a user meets them (issue 11 #17): download URLs follow the
 * address the server listens on (port 0 included) when results.public_url is not set; relative
 * paths in a configuration file are the file's directory's, whatever directory the program is
 * started from; check-config creates nothing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/twcfgpaths.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove %s", dir);
}

static void write_config(const char *text)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/config.yaml", dir);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

/* Run `taskwheel ARGS -c <dir>/config.yaml` from "/" with its output in *out (static). */
static int run_from_root(const char *args, const char **out)
{
    static char text[8192];
    char cmd[1024], path[128];
    FILE *f;
    size_t n;
    int st;

    snprintf(path, sizeof(path), "%s/out.txt", dir);
    snprintf(cmd, sizeof(cmd), "cd / && '%s' %s -c '%s/config.yaml' > '%s' 2>&1", TW_BINARY, args,
             dir, path);
    st = system(cmd);
    f = fopen(path, "r");
    cr_assert_not_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    unlink(path);
    *out = text;
    cr_assert(WIFEXITED(st), "%s", cmd);
    return WEXITSTATUS(st);
}

static bool exists(const char *rel)
{
    char path[256];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    return stat(path, &st) == 0;
}

Test(config_paths, check_config_creates_nothing_and_paths_follow_the_file, .init = make_dir,
     .fini = remove_dir, .timeout = 120)
{
    char yaml[512], want[256];
    const char *out;

    snprintf(yaml, sizeof(yaml),
             "data_dir: var\nplugins_dir: \"%s/plugins\"\nlua_dir: lua\n"
             "log: { level: warn }\n",
             TW_BUILD_DIR);
    write_config(yaml);
    cr_assert_eq(run_from_root("check-config", &out), 0, "%s", out);
    snprintf(want, sizeof(want), "data_dir %s/var does not exist yet", dir);
    cr_assert(strstr(out, want) != NULL, "%s", out);
    cr_assert(!exists("var"), "check-config created data_dir");
    cr_assert(!exists("lua"));
    cr_assert_eq(run_from_root("plugins", &out), 0, "%s", out);
    cr_assert(!exists("var"), "plugins created data_dir");

    /* seed writes where the file says, not into the working directory ("/") */
    cr_assert_eq(run_from_root("seed --rows 5 --chains 1764", &out), 0, "%s", out);
    cr_assert(exists("var/retail.db"), "%s", out);
    cr_assert_eq(run_from_root("check-config", &out), 0, "%s", out);
    cr_assert(strstr(out, "does not exist yet") == NULL, "%s", out);
}

Test(config_paths, download_urls_follow_the_bound_port, .timeout = 120)
{
    static const char *const chains[] = { "1764", NULL };
    static const char *const seed[] = { "seed", "--rows", "5", "--chains", "1764", NULL };
    struct tw_srv srv;
    struct tw_resp r;
    char *tok, want[128], path[1024];
    const char *url;

    /* the harness listens on 127.0.0.1:0 and sets no public_url */
    tw_srv_init(&srv, NULL);
    cr_assert_eq(tw_srv_cli(&srv, NULL, NULL, seed), 0);
    tok = tw_srv_token(&srv, "write", chains);
    tw_http(&srv, "POST", "/tasks", tok, NULL,
            "{\"chain\": 1764, \"desc\": \"x\", \"target\": {\"action\": \"export\", "
            "\"export_index\": \"users\"}, \"trigger\": {\"once\": \"2099-01-01T00:00:00Z\"}}",
            &r);
    cr_assert_eq(r.status, 201, "%s", r.body);
    tw_resp_fini(&r);
    tw_http(&srv, "POST", "/tasks/1/execute", tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    tw_resp_fini(&r);
    tw_http(&srv, "GET", "/tasks/1/download_url", tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    url = json_string_value(json_object_get(r.json, "url"));
    snprintf(want, sizeof(want), "http://127.0.0.1:%u/downloads/", srv.port);
    cr_assert(url != NULL && strncmp(url, want, strlen(want)) == 0, "url %s, want %s...", url,
              want);
    snprintf(path, sizeof(path), "%s", url + strlen(want) - strlen("/downloads/"));
    tw_resp_fini(&r);
    /* and it works as given */
    tw_http(&srv, "GET", path, NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    tw_resp_fini(&r);
    free(tok);
    tw_srv_fini(&srv, true);
}
