/*
 * lua.max_cpu_seconds through a real server (issue 11 #12): a script rule whose library call
 * never returns (a backtracking string.find held a worker at 93 % CPU for 45 s) and a Lua loop
 * under a huge instruction budget both end their run in ERROR naming the script, and the
 * server goes on running tasks. The config gives 1 s; no timing is asserted.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

static struct tw_srv srv;
static char *tok;
static char lua_dir[64];

static void put_script(const char *name, const char *text)
{
    char path[160];
    FILE *f;

    snprintf(path, sizeof(path), "%s/segments/%s.lua", lua_dir, name);
    f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

static void setup(void)
{
    static const char *const chains[] = { "1764", NULL };
    static const char *const seed[] = { "seed", "--rows", "10", "--chains", "1764", NULL };
    char segs[96];

    snprintf(lua_dir, sizeof(lua_dir), "/tmp/twluacpu.XXXXXX");
    cr_assert_not_null(mkdtemp(lua_dir));
    snprintf(segs, sizeof(segs), "%s/segments", lua_dir);
    cr_assert_eq(mkdir(segs, 0700), 0);
    put_script("backtrack", "function match(r, p)\n"
                            "  return string.find(('a'):rep(1e5), '.-.-.-.-.-x') ~= nil\n"
                            "end\n");
    put_script("spin", "function match(r, p)\n"
                       "  while true do end\n"
                       "end\n");
    put_script("fine", "function match(r, p) return r.id % 2 == 0 end\n");
    tw_srv_init_dirs(&srv, NULL, lua_dir,
                     "lua: { max_cpu_seconds: 1, max_instructions: 1000000000000 }\n");
    cr_assert_eq(tw_srv_cli(&srv, NULL, NULL, seed), 0);
    tok = tw_srv_token(&srv, "write", chains);
}

static void teardown(void)
{
    char cmd[128];

    free(tok);
    tw_srv_fini(&srv, true);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", lua_dir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove %s", lua_dir);
}

TestSuite(lua_cpu, .init = setup, .fini = teardown, .timeout = 180);

/* Create and execute a users export filtered by script; its end state and newest log msg. */
static void run_script(const char *script, char *state, size_t slen, char *msg, size_t len)
{
    char body[512], path[64];
    struct tw_resp r;
    long long id;

    snprintf(body, sizeof(body),
             "{\"chain\": 1764, \"desc\": \"x\", \"target\": {\"action\": \"export\", "
             "\"export_index\": \"users\"}, \"trigger\": {\"once\": \"2099-01-01T00:00:00Z\", "
             "\"segment\": {\"rules\": [{\"operator\": \"script\", \"script\": \"%s\"}]}}}",
             script);
    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    cr_assert_eq(r.status, 201, "%s: %s", script, r.body);
    id = (long long)json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    snprintf(path, sizeof(path), "/tasks/%lld/execute", id);
    tw_http(&srv, "POST", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s: %s", script, r.body);
    snprintf(state, slen, "%s", json_string_value(json_object_get(r.json, "code")));
    tw_resp_fini(&r);
    snprintf(path, sizeof(path), "/tasks/%lld", id);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    snprintf(msg, len, "%s",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(r.json, "logs"), 0), "msg")));
    tw_resp_fini(&r);
}

Test(lua_cpu, costly_builtins_and_loops_end_in_error_naming_the_script)
{
    char state[16], msg[1024];

    run_script("backtrack", state, sizeof(state), msg, sizeof(msg));
    cr_assert_str_eq(state, "ERROR", "%s", msg);
    cr_assert(strstr(msg, "segments/backtrack.lua: script exceeded its CPU time limit "
                          "(lua.max_cpu_seconds 1) inside a library function") != NULL,
              "%s", msg);

    run_script("spin", state, sizeof(state), msg, sizeof(msg));
    cr_assert_str_eq(state, "ERROR", "%s", msg);
    cr_assert(strstr(msg, "segments/spin.lua:2: script exceeded its CPU time limit "
                          "(lua.max_cpu_seconds 1)") != NULL,
              "%s", msg);

    /* the limit is each run's own: the next run of a cheap script is not charged for them */
    run_script("fine", state, sizeof(state), msg, sizeof(msg));
    cr_assert_str_eq(state, "DONE", "%s", msg);
    cr_assert_str_eq(msg, "success");
}
