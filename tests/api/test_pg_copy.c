/*
 * taskwheel store copy (issue 14, docs/reference.md §10): a single node's SQLite store, with tasks READY,
 * DONE and ERROR (with their logs and results) and a deleted task's id gap, copied into a
 * throwaway PostgreSQL cluster (tests/harness/pgpeer.h); the node started again on
 * PostgreSQL answers every request exactly as before, the old token still works, and a new
 * task gets an id past every old one, the deleted one's included, and runs on PostgreSQL.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "pgpeer.h"

#define CHAIN "1764"

static struct tw_pgpeer pg;

static void setup(void)
{
    char why[1024];

    cr_assert_eq(tw_pgpeer_start(&pg, why, sizeof(why)), 0, "PostgreSQL: %s", why);
}

static void teardown(void)
{
    tw_pgpeer_fini(&pg);
}

TestSuite(pg_copy, .init = setup, .fini = teardown, .timeout = 300);

static long long create(struct tw_srv *s, const char *tok, const char *once)
{
    char body[600];
    struct tw_resp r;
    long long id;

    snprintf(body, sizeof(body),
             "{\"chain\": " CHAIN ", \"desc\": \"copy me\", \"target\": {\"action\": \"export\", "
             "\"export_index\": \"users\", \"export_format\": \"csv\"}, \"trigger\": "
             "{\"once\": \"%s\"}}",
             once);
    tw_http(s, "POST", "/tasks", tok, NULL, body, &r);
    cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
    id = json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    return id;
}

static void execute(struct tw_srv *s, const char *tok, long long id, const char *code)
{
    char path[64];
    struct tw_resp r;

    snprintf(path, sizeof(path), "/tasks/%lld/execute", id);
    tw_http(s, "POST", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), code, "%s", r.body);
    tw_resp_fini(&r);
}

/* The answers a client sees, as "status body" per request, in a fixed order. */
static char *answers(struct tw_srv *s, const char *tok, const long long *ids, size_t n)
{
    size_t cap = 1 << 20, len = 0, i;
    char *all = calloc(1, cap);
    char path[96];
    struct tw_resp r;

    cr_assert_not_null(all);
    for (i = 0; i <= n; i++) {
        if (i == n)
            snprintf(path, sizeof(path), "/tasks?chain=" CHAIN);
        else
            snprintf(path, sizeof(path), "/tasks/%lld?log_limit=1000", ids[i]);
        tw_http(s, "GET", path, tok, NULL, NULL, &r);
        len += (size_t)snprintf(all + len, cap - len, "%s -> %ld %s\n", path, r.status, r.body);
        cr_assert_lt(len, cap);
        tw_resp_fini(&r);
    }
    return all;
}

/* Run `taskwheel store copy --from from --to to`, its output appended to log; its exit status. */
static int store_copy(const char *from, const char *to, const char *log)
{
    pid_t pid = fork();
    int status;

    cr_assert(pid != -1);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        execl(TW_BINARY, TW_BINARY, "store", "copy", "--from", from, "--to", to, (char *)NULL);
        _exit(127);
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Test(pg_copy, every_answer_is_the_same_after_copying_into_postgresql)
{
    static const char *const chains[] = { CHAIN, NULL };
    static const char *const seed[] = { "seed", "--rows", "20", "--chains", CHAIN, NULL };
    long long ids[4], gone, fresh;
    char pgcfg[400], yaml[2048], out[300];
    char *tok, *before, *after;
    struct tw_resp r;
    struct tw_srv s;
    int status;
    FILE *f;

    tw_srv_init(&s, NULL);
    tok = tw_srv_token(&s, "write", chains);
    ids[0] = create(&s, tok, "2099-01-01T00:00:00Z"); /* READY */
    ids[1] = create(&s, tok, "2099-01-01T00:00:00Z");
    execute(&s, tok, ids[1], "ERROR"); /* not seeded yet: the source is missing */
    cr_assert_eq(tw_srv_cli(&s, NULL, NULL, seed), 0);
    ids[2] = create(&s, tok, "2099-01-01T00:00:00Z");
    execute(&s, tok, ids[2], "DONE");
    gone = create(&s, tok, "2099-01-01T00:00:00Z");
    ids[3] = gone;
    {
        char path[64];

        snprintf(path, sizeof(path), "/tasks/%lld", gone);
        tw_http(&s, "DELETE", path, tok, NULL, NULL, &r);
        cr_assert_eq(r.status, 204, "%ld %s", r.status, r.body);
        tw_resp_fini(&r);
    }
    before = answers(&s, tok, ids, 4);
    cr_assert_eq(tw_srv_stop(&s, SIGTERM), 0);

    /* the same node's configuration, on PostgreSQL */
    snprintf(pgcfg, sizeof(pgcfg), "%s/config-pg.yaml", s.dir);
    snprintf(yaml, sizeof(yaml),
             "listen: \"127.0.0.1:0\"\ndata_dir: \"%s/var\"\nplugins_dir: \"%s/plugins\"\n"
             "lua_dir: \"%s/lua\"\nlog: { level: warn }\n"
             "store: { driver: postgresql, dsn: \"%s\" }\n",
             s.dir, TW_BUILD_DIR, TW_SOURCE_DIR, pg.dsn);
    f = fopen(pgcfg, "w");
    cr_assert_not_null(f);
    fputs(yaml, f);
    fclose(f);
    snprintf(out, sizeof(out), "%s/copy.out", s.dir);
    status = store_copy(s.config, pgcfg, out);
    cr_assert_eq(status, 0, "store copy failed (status %d)", status);

    /* a second copy into the now full target is refused, changing nothing */
    status = store_copy(s.config, pgcfg, "/dev/null");
    cr_assert_eq(status, 1, "second copy: status %d", status);

    snprintf(s.config, sizeof(s.config), "%s", pgcfg);
    tw_srv_start(&s);
    after = answers(&s, tok, ids, 4);
    cr_assert_str_eq(after, before);
    fresh = create(&s, tok, "2099-01-01T00:00:00Z");
    cr_assert_gt(fresh, gone, "id %lld reused after the copy (deleted: %lld)", fresh, gone);
    /* runs work on the copied store: the new task and the copied DONE one again */
    execute(&s, tok, fresh, "DONE");
    execute(&s, tok, ids[2], "DONE");
    free(before);
    free(after);
    free(tok);
    tw_srv_fini(&s, true);
}
