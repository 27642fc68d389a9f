/*
 * Lua fault fixtures (tests/lua/segments) through a real server: each ends its run in ERROR
 * with the script's file and line in the log, quickly, and the server keeps serving. The
 * server's lua_dir is tests/lua, so the fixtures are the installed scripts.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct tw_srv srv;
static char *tok;

static void setup(void)
{
    static const char *const chains[] = { "1764", NULL };
    static const char *const seed[] = { "seed", "--rows", "20", "--chains", "1764", NULL };

    tw_srv_init_dirs(&srv, NULL, TW_SOURCE_DIR "/tests/lua",
                     "lua: { max_instructions: 2000000, max_memory: 16777216 }\n");
    cr_assert_eq(tw_srv_cli(&srv, NULL, NULL, seed), 0);
    tok = tw_srv_token(&srv, "write", chains);
}

static void teardown(void)
{
    free(tok);
    tw_srv_fini(&srv, true);
}

TestSuite(lua_faults, .init = setup, .fini = teardown, .timeout = 180);

/* Run a users export filtered by script; return the task's newest log message. */
static void run_script(const char *script, char *msg, size_t len, char *state, size_t slen)
{
    char body[512], path[64];
    struct tw_resp r;

    snprintf(body, sizeof(body),
             "{\"chain\": 1764, \"desc\": \"x\", \"target\": {\"action\": \"export\", "
             "\"export_index\": \"users\"}, \"trigger\": {\"once\": \"2030-01-01T00:00:00Z\", "
             "\"segment\": {\"rules\": [{\"operator\": \"script\", \"script\": \"%s\"}]}}}",
             script);
    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    cr_assert_eq(r.status, 201, "%s: %s", script, r.body);
    snprintf(path, sizeof(path), "/tasks/%lld",
             (long long)json_integer_value(json_object_get(r.json, "id")));
    tw_resp_fini(&r);
    strcat(path, "/execute");
    tw_http(&srv, "POST", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s: %s", script, r.body);
    snprintf(state, slen, "%s", json_string_value(json_object_get(r.json, "code")));
    tw_resp_fini(&r);
    path[strlen(path) - strlen("/execute")] = '\0';
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    snprintf(msg, len, "%s",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(r.json, "logs"), 0), "msg")));
    tw_resp_fini(&r);
}

Test(lua_faults, every_fixture_ends_its_run_in_error_naming_file_and_line)
{
    static const struct {
        const char *script, *words;
    } cases[] = {
        { "infinite_loop", "instruction budget" },
        { "loop_in_pcall", "instruction budget" },
        { "memory_bomb", "out of memory" },
        { "os_execute", "segments/os_execute.lua:" },
        { "io_open", "segments/io_open.lua:" },
        { "load_bytecode", "segments/load_bytecode.lua:" },
        { "require", "segments/require.lua:" },
        { "wrong_return", "segments/wrong_return.lua:" },
        { "runtime_error", "segments/runtime_error.lua:" },
    };
    char msg[1024], state[16];
    struct tw_resp r;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_script(cases[i].script, msg, sizeof(msg), state, sizeof(state));
        cr_assert_str_eq(state, "ERROR", "%s ended %s: %s", cases[i].script, state, msg);
        cr_assert(strstr(msg, cases[i].script) != NULL && strstr(msg, ".lua:") != NULL,
                  "%s: the log names the file and line: %s", cases[i].script, msg);
        cr_assert(strstr(msg, cases[i].words) != NULL, "%s: \"%s\" not in: %s", cases[i].script,
                  cases[i].words, msg);
        tw_http(&srv, "GET", "/healthz", NULL, NULL, NULL, &r);
        cr_assert_eq(r.status, 200, "the server keeps serving after %s", cases[i].script);
        tw_resp_fini(&r);
    }
    run_script("keep_all", msg, sizeof(msg), state, sizeof(state));
    cr_assert_str_eq(state, "DONE", "a healthy script still runs: %s", msg);
}
