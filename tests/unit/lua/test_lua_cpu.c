/*
 * The CPU-time limit of a run's Lua (lua.h tw_lua_cpu_limit; issue 11 #12): Lua code that
 * spends it fails its call naming the script and line, even under pcall, and every later call
 * fails too; a library function that never returns (a backtracking string.find) ends the
 * process through the fatal function with a message naming the script. Each case runs in a
 * child process, because the limit belongs to the process.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lua/lua.h"
#include "plugin/plugin.h"

#define FATAL_EXIT 42

static const struct tw_field fields[] = {
    { .name = "id", .type = TW_FIELD_INT, .flags = TW_FIELD_FILTERABLE },
    { 0 },
};

static char dir[64];
static int pipe_fd = -1;

static void setup(void)
{
    char sub[96];

    snprintf(dir, sizeof(dir), "/tmp/twluacpu.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(sub, sizeof(sub), "%s/segments", dir);
    cr_assert_eq(mkdir(sub, 0700), 0);
}

static void teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove %s", dir);
}

TestSuite(lua_cpu, .init = setup, .fini = teardown, .timeout = 60);

static const char *script(const char *name, const char *src)
{
    static char path[160];
    FILE *f;

    snprintf(path, sizeof(path), "%s/segments/%s", dir, name);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(src, f);
    cr_assert_eq(fclose(f), 0);
    return path;
}

/* The worker's fatal function, as a test double of its frame: the message, then _exit. */
static void fatal(void *ctx, const char *msg)
{
    (void)ctx;
    if (write(pipe_fd, msg, strlen(msg)) < 0)
        _exit(1);
    _exit(FATAL_EXIT);
}

/*
 * In a child: limit 1 s, load path and call match once; the call's error (or "ok") goes to
 * the pipe. Returns the child's exit status; the message read back is in out.
 */
static int run_child(const char *path, bool twice, char *out, size_t len)
{
    int fds[2], status;
    ssize_t n;
    pid_t pid;

    cr_assert_eq(pipe(fds), 0);
    pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        struct tw_lua_limits lim = { 16u << 20, 1000000000000ull };
        struct tw_record *r;
        struct tw_lua *vm;
        struct tw_err err;
        bool match;
        int ref, rc;

        close(fds[0]);
        pipe_fd = fds[1];
        tw_err_clear(&err);
        if (tw_lua_cpu_limit(1, fatal, NULL, &err) != TW_OK ||
            tw_lua_create(&lim, 0, &vm, &err) != TW_OK ||
            tw_lua_rule_load(vm, path, NULL, &ref, &err) != TW_OK ||
            tw_record_create(fields, &r, &err) != TW_OK)
            _exit(3);
        tw_record_set_int(r, 0, 1);
        rc = tw_lua_rule_call(vm, ref, r, &match, &err);
        if (rc == TW_ESCRIPT && twice) /* the limit is spent: the next call fails at once */
            rc = tw_lua_rule_call(vm, ref, r, &match, &err);
        n = write(pipe_fd, rc == TW_OK ? "ok" : err.msg, strlen(rc == TW_OK ? "ok" : err.msg));
        _exit(n < 0 ? 1 : 0);
    }
    close(fds[1]);
    n = read(fds[0], out, len - 1);
    out[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "child killed by signal %d", WTERMSIG(status));
    return WEXITSTATUS(status);
}

Test(lua_cpu, lua_code_stops_with_an_error_naming_script_and_line)
{
    char msg[1024];
    const char *p = script("spin.lua", "function match(r, p)\n"
                                       "  local x = 0\n"
                                       "  while true do\n"
                                       "    pcall(function() while true do x = x + 1 end end)\n"
                                       "  end\n"
                                       "end\n");

    cr_assert_eq(run_child(p, false, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert(strstr(msg, "segments/spin.lua:") != NULL, "%s", msg);
    cr_assert(strstr(msg, "CPU time limit (lua.max_cpu_seconds 1)") != NULL, "%s", msg);
}

Test(lua_cpu, a_spent_limit_fails_the_next_call_at_once)
{
    char msg[1024];
    const char *p = script("spin2.lua", "function match(r, p) while true do end end\n");

    cr_assert_eq(run_child(p, true, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert(strstr(msg, "segments/spin2.lua: script exceeded its CPU time limit") != NULL, "%s",
              msg);
}

Test(lua_cpu, a_library_function_that_does_not_return_ends_the_process_naming_the_script)
{
    char msg[1024];
    /* issue 11 #12: about 45 s of CPU without the limit */
    const char *p = script("backtrack.lua",
                           "function match(r, p)\n"
                           "  return string.find(('a'):rep(1e5), '.-.-.-.-.-x') ~= nil\n"
                           "end\n");

    cr_assert_eq(run_child(p, false, msg, sizeof(msg)), FATAL_EXIT, "%s", msg);
    cr_assert(strstr(msg, "segments/backtrack.lua: script exceeded its CPU time limit "
                          "(lua.max_cpu_seconds 1) inside a library function") != NULL,
              "%s", msg);
}

Test(lua_cpu, quick_scripts_are_not_affected)
{
    char msg[1024];
    const char *p = script("quick.lua", "function match(r, p)\n"
                                        "  return string.find(('a'):rep(1000), 'a+b') == nil\n"
                                        "end\n");

    cr_assert_eq(run_child(p, false, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_str_eq(msg, "ok");
}
