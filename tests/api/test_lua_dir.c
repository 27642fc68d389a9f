/*
 * lua_dir without restarts (issue 11 #20), through a real server: scripts added to
 * lua_dir/segments and lua_dir/formats are accepted by the API without a restart (a segment
 * script at once, a format within the rescan interval or at once after SIGHUP), removed ones
 * are refused again, SIGHUP does not stop the server, and tw.json given a list where a record
 * is expected fails the run naming the formatter instead of writing rows of nulls; and a run
 * sees no Lua global set by the run before it on the same reused worker.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct tw_srv srv;
static char *tok;
static char lua_dir[64];

static void put_file(const char *rel, const char *text)
{
    char path[256], tmp[272];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", lua_dir, rel);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    cr_assert_not_null(f, "%s", tmp);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(rename(tmp, path), 0); /* how editors and deploy tools install a file */
}

static void setup(void)
{
    static const char *const chains[] = { "1764", "1765", NULL };
    static const char *const seed[] = { "seed", "--rows", "20", "--chains", "1764,1765", NULL };
    char segs[96];

    snprintf(lua_dir, sizeof(lua_dir), "/tmp/twluadir.XXXXXX");
    cr_assert_not_null(mkdtemp(lua_dir));
    snprintf(segs, sizeof(segs), "%s/segments", lua_dir);
    cr_assert_eq(mkdir(segs, 0700), 0);
    /* no formats/ yet: the folder itself may appear later */
    tw_srv_init_dirs(&srv, NULL, lua_dir, NULL);
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

TestSuite(lua_dir, .init = setup, .fini = teardown, .timeout = 120);

/* POST /tasks on chain with format and (may be NULL) a script rule; the status, *id on 201. */
static long create_in(long chain, const char *format, const char *script, long long *id)
{
    char body[1024], seg[256] = "";
    struct tw_resp r;
    long status;

    if (script != NULL)
        snprintf(seg, sizeof(seg),
                 ", \"segment\": {\"rules\": [{\"operator\": \"script\", "
                 "\"script\": \"%s\"}]}",
                 script);
    snprintf(body, sizeof(body),
             "{\"chain\": %ld, \"desc\": \"x\", \"target\": {\"action\": \"export\", "
             "\"export_index\": \"users\", \"export_format\": \"%s\"}, \"trigger\": "
             "{\"once\": \"2099-01-01T00:00:00Z\"%s}}",
             chain, format, seg);
    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    status = r.status;
    if (status == 201 && id != NULL)
        *id = (long long)json_integer_value(json_object_get(r.json, "id"));
    else if (status != 400 && status != 201)
        cr_assert_fail("POST /tasks: %ld %s", r.status, r.body);
    tw_resp_fini(&r);
    return status;
}

static long create(const char *format, const char *script, long long *id)
{
    return create_in(1764, format, script, id);
}

/* Ask until the answer is want (the server looks at lua_dir every second): at most 15 s. */
static void wait_status(const char *format, long want, long long *id)
{
    struct timespec pause = { 0, 50 * 1000 * 1000 };
    int i;

    for (i = 0; i < 300; i++) {
        if (create(format, NULL, id) == want)
            return;
        nanosleep(&pause, NULL);
    }
    cr_assert_fail("export_format %s never answered %ld", format, want);
}

/* Execute task id and return its newest log message (the run's end). */
static void run(long long id, const char *want_code, char *msg, size_t len)
{
    char path[64];
    struct tw_resp r;
    json_t *task;

    snprintf(path, sizeof(path), "/tasks/%lld/execute", id);
    tw_http(&srv, "POST", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), want_code, "%s", r.body);
    tw_resp_fini(&r);
    task = tw_task_get(&srv, tok, id);
    snprintf(msg, len, "%s",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(task, "logs"), 0), "msg")));
    json_decref(task);
}

Test(lua_dir, new_scripts_are_picked_up_without_a_restart)
{
    char formats[96], msg[1024];
    long long id = 0;

    cr_assert_eq(create("rows", NULL, NULL), 400);
    cr_assert_eq(create("csv", "keep_all", NULL), 400);

    /* a segment script is looked for when a segment names it: accepted at once */
    put_file("segments/keep_all.lua", "function match(r, p) return true end\n");
    cr_assert_eq(create("csv", "keep_all", &id), 201);
    run(id, "DONE", msg, sizeof(msg));

    /* a formatter in a folder that did not exist at start */
    snprintf(formats, sizeof(formats), "%s/formats", lua_dir);
    cr_assert_eq(mkdir(formats, 0700), 0);
    put_file("formats/rows.lua", "function header(f) F = f end\n"
                                 "function row(r) return tw.json(r, F) .. '\\n' end\n");
    wait_status("rows", 201, &id);
    run(id, "DONE", msg, sizeof(msg));
    cr_assert_str_eq(msg, "success");

    /* removed: refused again */
    snprintf(msg, sizeof(msg), "%s/rows.lua", formats);
    cr_assert_eq(unlink(msg), 0);
    wait_status("rows", 400, NULL);
}

Test(lua_dir, sighup_rescans_and_the_server_keeps_running)
{
    char formats[96];
    struct tw_resp r;
    long long id;

    snprintf(formats, sizeof(formats), "%s/formats", lua_dir);
    cr_assert_eq(mkdir(formats, 0700), 0);
    put_file("formats/hup.lua", "function row(r) return 'x\\n' end\n");
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    wait_status("hup", 201, &id);
    tw_http(&srv, "GET", "/healthz", NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    tw_resp_fini(&r);
}

Test(lua_dir, tw_json_given_a_list_fails_the_run_naming_the_formatter)
{
    char formats[96], msg[1024];
    long long id;

    snprintf(formats, sizeof(formats), "%s/formats", lua_dir);
    cr_assert_eq(mkdir(formats, 0700), 0);
    /* a list where a record belongs: used to write {"id":null,...} for every row */
    put_file("formats/listy.lua", "function header(f) F = f end\n"
                                  "function row(r) return tw.json({r}, F) .. '\\n' end\n");
    wait_status("listy", 201, &id);
    run(id, "ERROR", msg, sizeof(msg));
    cr_assert(strstr(msg, "formats/listy.lua:2") != NULL, "%s", msg);
    cr_assert(strstr(msg, "not a list") != NULL, "%s", msg);
}

/*
 * Tenancy on reusable workers (issue 16): runs of two chains follow each other on the same
 * pooled worker (the most recently used one goes first), yet a formatter's globals are the
 * run's own: a fresh Lua state per run, so a run does not see what the one before it set.
 */
Test(lua_dir, a_run_sees_no_lua_global_of_the_run_before)
{
    char formats[96], msg[1024];
    long long first, second;

    snprintf(formats, sizeof(formats), "%s/formats", lua_dir);
    cr_assert_eq(mkdir(formats, 0700), 0);
    put_file("formats/leaky.lua", "function header(f)\n"
                                  "  if LEFT ~= nil then error('saw ' .. LEFT) end\n"
                                  "  LEFT = 'a global of an earlier run'\n"
                                  "end\n"
                                  "function row(r) return 'x\\n' end\n");
    wait_status("leaky", 201, &first);
    cr_assert_eq(create_in(1765, "leaky", NULL, &second), 201); /* another chain */
    run(first, "DONE", msg, sizeof(msg));
    cr_assert_str_eq(msg, "success");
    run(second, "DONE", msg, sizeof(msg));
    cr_assert_str_eq(msg, "success");
    run(first, "DONE", msg, sizeof(msg));
    cr_assert_str_eq(msg, "success");
}
