/* The command line's contract: --help everywhere, exit codes 0/1/2, token create's stdout. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

/* Run the binary with a shell command line; returns the exit code and stdout in *out. */
static int run(const char *args, char **out)
{
    char cmd[2048];
    char buf[8192];
    size_t n;
    FILE *p;
    int status;

    snprintf(cmd, sizeof(cmd), "%s %s 2>/dev/null", TW_BINARY, args);
    p = popen(cmd, "r");
    cr_assert_not_null(p);
    n = fread(buf, 1, sizeof(buf) - 1, p);
    buf[n] = '\0';
    status = pclose(p);
    if (out != NULL)
        *out = strdup(buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

Test(cli, help_on_every_subcommand)
{
    static const char *const cmds[] = { "--help",       "serve --help",
                                        "token --help", "token create --help",
                                        "user --help",  "check-config --help" };
    size_t i;

    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        char *out;

        cr_assert_eq(run(cmds[i], &out), 0, "%s", cmds[i]);
        cr_assert(strstr(out, "usage") != NULL, "%s printed: %s", cmds[i], out);
        free(out);
    }
}

Test(cli, usage_errors_exit_2)
{
    cr_assert_eq(run("", NULL), 2);
    cr_assert_eq(run("frobnicate", NULL), 2);
    cr_assert_eq(run("serve --bogus", NULL), 2);
    cr_assert_eq(run("token create --level admin --chain 1", NULL), 2);
    cr_assert_eq(run("token create", NULL), 2);
    cr_assert_eq(run("token create --chain -4", NULL), 2);
    cr_assert_eq(run("user add alice", NULL), 2);
    cr_assert_eq(run("check-config -c /nonexistent/config.yaml", NULL), 2);
}

Test(cli, config_errors_name_file_line_and_key)
{
    char dir[] = "/tmp/twcli.XXXXXX";
    char path[300], cmd[700], line[1024] = "";
    FILE *f, *p;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/config.yaml", dir);
    f = fopen(path, "w");
    fputs("workers: 2\nresults:\n  url_ttl: soon\n", f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "%s check-config -c %s 2>&1; echo \"rc=$?\"", TW_BINARY, path);
    p = popen(cmd, "r");
    cr_assert(fread(line, 1, sizeof(line) - 1, p) > 0);
    pclose(p);
    cr_assert(strstr(line, "config.yaml:3:") != NULL, "%s", line);
    cr_assert(strstr(line, "results.url_ttl") != NULL, "%s", line);
    cr_assert(strstr(line, "rc=2") != NULL, "%s", line);
    f = fopen(path, "w");
    fputs("workers: 2\nwrokers: 3\n", f);
    fclose(f);
    p = popen(cmd, "r");
    memset(line, 0, sizeof(line));
    cr_assert(fread(line, 1, sizeof(line) - 1, p) > 0);
    pclose(p);
    cr_assert(strstr(line, "wrokers") != NULL && strstr(line, "rc=2") != NULL, "%s", line);
    f = fopen(path, "w");
    fclose(f);
    /* check-config also loads plugins_dir, whose default ./build/plugins is relative. */
    snprintf(cmd, sizeof(cmd), "cd %s && %s check-config -c %s >/dev/null 2>&1; echo rc=$?", dir,
             TW_BINARY, path);
    p = popen(cmd, "r");
    memset(line, 0, sizeof(line));
    cr_assert(fread(line, 1, sizeof(line) - 1, p) > 0);
    pclose(p);
    cr_assert(strstr(line, "rc=2") != NULL, "no plugins_dir must fail check-config: %s", line);
    snprintf(cmd, sizeof(cmd), "mkdir -p %s/build && ln -s %s/plugins %s/build/plugins", dir,
             TW_BUILD_DIR, dir);
    cr_assert_eq(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "cd %s && %s check-config -c %s >/dev/null 2>&1", dir, TW_BINARY,
             path);
    cr_assert_eq(WEXITSTATUS(system(cmd)), 0, "an empty file is a valid configuration");
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(cli, token_create_prints_only_the_token)
{
    struct tw_srv s;
    const char *const chains[] = { "5", NULL };
    char *tok;

    tw_srv_init(&s, NULL);
    tok = tw_srv_token(&s, "read", chains);
    cr_assert_eq(strlen(tok), 36 + 1 + 43, "token: %s", tok);
    cr_assert_eq(tok[36], ':');
    free(tok);
    tw_srv_fini(&s, true);
}
