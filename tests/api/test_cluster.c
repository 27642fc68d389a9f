/*
 * Several nodes on one PostgreSQL (docs/cluster.md; issue 14, docs/reference.md §10), with 3
 * real `taskwheel serve` processes sharing one throwaway cluster (harness/pgpeer.h) and one
 * server key file:
 * - propagation: a task created on node A, changed on node B and deleted on node C is armed,
 *   re-armed and cancelled in every node's wheel (seen in each node's
 *   taskwheel_sched_armed gauge); the delays are measured and printed (not asserted: speed
 *   is measured, not tested);
 * - the nodes: GET /cluster/nodes on any node and `taskwheel nodes` list all three, and a
 *   read-only caller is refused;
 * - one key: a node with another key file refuses to start, naming the file;
 * - a pg_ctl restart while the nodes serve: only 503 `unavailable`, the listeners reconnect
 *   (a change made afterwards still reaches every wheel), nothing lost.
 *
 * With the conditional claim (test_cluster_runs.c) exactly one node runs each occurrence, so
 * where a run matters the tests ask for exactly one.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "oapi_record.h"
#include "pgnodes.h"

#define NODES 3

static struct tw_pgnodes fx; /* the PostgreSQL store, the key directory, the nodes */

static void setup(void)
{
    tw_pgnodes_init(&fx);
}

static void teardown(void)
{
    tw_pgnodes_fini(&fx);
}

TestSuite(cluster, .init = setup, .fini = teardown, .timeout = 300);

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/*
 * Run argv (argv[0] is TW_BINARY) to its end with stdout into out_log and stderr apart into
 * err_log (libpq's notices go there); its exit status.
 */
static int run_logged(const char *const *argv, const char *out_log, const char *err_log)
{
    pid_t pid = fork();
    int st;

    cr_assert(pid != -1);
    if (pid == 0) {
        int fd = open(out_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int efd = open(err_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        if (fd == -1 || efd == -1 || dup2(fd, 1) == -1 || dup2(efd, 2) == -1)
            _exit(126);
        execv(TW_BINARY, (char *const *)argv);
        _exit(127);
    }
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The fixture's nodes as this file's tests use them, with a token to write on chain 1. */
struct cluster {
    struct tw_srv *node;
    char (*log)[320];
    char *tok;
};

static void cluster_start(struct cluster *c)
{
    static const char *const chain1[] = { "1", NULL };
    static const char *const names[NODES] = { "node-a", "node-b", "node-c" };
    int i;

    c->node = fx.node;
    c->log = fx.log;
    for (i = 0; i < NODES; i++)
        tw_pgnodes_prepare(&fx, i, names[i], NULL, NULL, NULL);
    c->tok = tw_srv_token(&c->node[0], "write", chain1); /* creates the shared key */
    for (i = 0; i < NODES; i++)
        cr_assert(tw_pgnodes_start(&fx, i), "node %d did not start: %s", i,
                  tw_slurp(c->log[i], NULL));
}

static void cluster_stop(struct cluster *c)
{
    int i;

    for (i = 0; i < NODES; i++)
        tw_srv_fini(&c->node[i], true);
    free(c->tok);
}

/* A gauge or counter of a node's /metrics; -1 when the request fails. */
static long long metric(struct tw_srv *s, const char *name)
{
    return tw_metric(s, NULL, name);
}

/*
 * Wait until every node's taskwheel_sched_armed is want; each node's delay in ms since t0
 * into ms[]. Fails after 20 s (a missed change, not a slow one).
 */
static void wait_armed(struct cluster *c, long long want, int64_t t0, int64_t ms[NODES])
{
    bool done[NODES] = { false };
    int left = NODES, i;

    while (left > 0) {
        for (i = 0; i < NODES; i++)
            if (!done[i] && metric(&c->node[i], "taskwheel_sched_armed") == want) {
                done[i] = true;
                ms[i] = now_ms() - t0;
                left--;
            }
        cr_assert(now_ms() - t0 < 20000, "the wheels do not agree on %lld armed after 20 s", want);
        if (left > 0)
            nap_ms(5);
    }
}

static void utc_in(int seconds, char *out, size_t cap)
{
    time_t t = time(NULL) + seconds;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static long long create(struct tw_srv *s, const char *tok, const char *once)
{
    char extra[128], *body;
    struct tw_resp r;
    long long id;

    snprintf(extra, sizeof(extra), "\"trigger\": {\"once\": \"%s\"}", once);
    body = tw_task_body(1, NULL);
    /* tw_task_body's trigger is the default; replace it with ours */
    *strstr(body, "\"trigger\"") = '\0';
    strcat(body, extra);
    strcat(body, "}");
    tw_http(s, "POST", "/tasks", tok, NULL, body, &r);
    cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
    id = json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    free(body);
    return id;
}

static void print_delays(const char *what, const int64_t ms[NODES])
{
    fprintf(stderr, "cluster propagation (%s): node-a %lld ms, node-b %lld ms, node-c %lld ms\n",
            what, (long long)ms[0], (long long)ms[1], (long long)ms[2]);
}

static long long runs_started(struct cluster *c)
{
    long long sum = 0;
    int i;

    for (i = 0; i < NODES; i++)
        sum += metric(&c->node[i], "taskwheel_runs_started_total");
    return sum;
}

Test(cluster, created_changed_deleted_on_three_nodes_reaches_every_wheel)
{
    char once[32], path[64], body[128];
    struct cluster c;
    struct tw_resp r;
    int64_t ms[NODES], t0;
    long long id, id2, before;
    json_t *task;

    cluster_start(&c);

    /* created on A: armed in all three wheels (delays counted from A's reply: committed) */
    id = create(&c.node[0], c.tok, "2099-01-01T00:00:00Z");
    t0 = now_ms();
    wait_armed(&c, 1, t0, ms);
    print_delays("create on node-a", ms);

    /* changed on B to run in 3 s: it runs, on exactly one node */
    utc_in(3, once, sizeof(once));
    snprintf(path, sizeof(path), "/tasks/%lld", id);
    snprintf(body, sizeof(body), "{\"trigger\": {\"once\": \"%s\"}}", once);
    tw_http(&c.node[1], "PUT", path, c.tok, NULL, body, &r);
    cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
    tw_resp_fini(&r);
    /* the nodes have no source database: the run ends in ERROR, which is a run all the same */
    task = tw_wait_state(&c.node[2], c.tok, id, "ERROR", 60);
    cr_assert_eq(tw_task_log_count(task, "READY -> INPROGRESS"), 1);
    json_decref(task);
    /* done and not repeating: no wheel keeps it */
    t0 = now_ms();
    wait_armed(&c, 0, t0, ms);

    /* created on A due in 4 s, deleted on C before: no node runs it */
    utc_in(4, once, sizeof(once));
    id2 = create(&c.node[0], c.tok, once);
    t0 = now_ms();
    wait_armed(&c, 1, t0, ms);
    print_delays("create on node-a, due in 4 s", ms);
    before = runs_started(&c);
    snprintf(path, sizeof(path), "/tasks/%lld", id2);
    tw_http(&c.node[2], "DELETE", path, c.tok, NULL, NULL, &r);
    t0 = now_ms();
    cr_assert_eq(r.status, 204, "%ld %s", r.status, r.body);
    tw_resp_fini(&r);
    wait_armed(&c, 0, t0, ms);
    print_delays("delete on node-c", ms);
    nap_ms(5000); /* past its time */
    cr_assert_eq(runs_started(&c), before, "a deleted task ran");

    cluster_stop(&c);
}

/* Run `taskwheel nodes -c CONFIG [arg]` to its end (stderr in dir/nodes.out.err); its output
 * (caller frees) and status. */
static char *nodes_cli(struct tw_srv *s, const char *arg, int *status)
{
    const char *argv[] = { TW_BINARY, "nodes", "-c", s->config, arg, NULL };
    char log[320], err_log[340];

    snprintf(log, sizeof(log), "%s/nodes.out", s->dir);
    snprintf(err_log, sizeof(err_log), "%s.err", log);
    *status = run_logged(argv, log, err_log);
    return tw_slurp(log, NULL);
}

Test(cluster, nodes_are_listed_by_the_api_and_the_cli)
{
    static const char *const read1[] = { "1", NULL };
    static const char *const names[NODES] = { "node-a", "node-b", "node-c" };
    struct cluster c;
    struct tw_resp r;
    char *out, *rtok;
    int i, j, status;

    cluster_start(&c);
    for (i = 0; i < NODES; i++) {
        tw_http(&c.node[i], "GET", "/cluster/nodes", c.tok, NULL, NULL, &r);
        cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
        cr_assert(json_is_array(r.json), "%s", r.body);
        cr_assert_eq(json_array_size(r.json), NODES, "%s", r.body);
        for (j = 0; j < NODES; j++) {
            json_t *n = json_array_get(r.json, (size_t)j);

            cr_assert_str_eq(json_string_value(json_object_get(n, "node_id")), names[j]);
            cr_assert_eq(json_integer_value(json_object_get(n, "runs_in_flight")), 0);
            cr_assert_not_null(json_string_value(json_object_get(n, "started")));
            cr_assert_not_null(json_string_value(json_object_get(n, "last_heartbeat")));
            cr_assert_not_null(json_string_value(json_object_get(n, "version")));
        }
        tw_resp_fini(&r);
    }

    /* bad input: a read-only caller, no caller, an unknown query parameter */
    rtok = tw_srv_token(&c.node[0], "read", read1);
    tw_http(&c.node[1], "GET", "/cluster/nodes", rtok, NULL, NULL, &r);
    tw_assert_error(&r, 403, "permission_denied", NULL);
    tw_resp_fini(&r);
    tw_http(&c.node[1], "GET", "/cluster/nodes", NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 401, "%ld %s", r.status, r.body);
    tw_resp_fini(&r);
    tw_http(&c.node[1], "GET", "/cluster/nodes?limit=2", c.tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 400, "%ld %s", r.status, r.body);
    tw_resp_fini(&r);
    tw_http(&c.node[1], "POST", "/cluster/nodes", c.tok, NULL, "{}", &r);
    cr_assert_eq(r.status, 405, "%ld %s", r.status, r.body);
    tw_resp_fini(&r);
    free(rtok);

    /* the CLI: a table, and --json as the API's array */
    out = nodes_cli(&c.node[2], NULL, &status);
    cr_assert_eq(status, 0, "%s", out);
    cr_assert(strstr(out, "NODE") != NULL && strstr(out, "LAST HEARTBEAT") != NULL, "%s", out);
    for (j = 0; j < NODES; j++)
        cr_assert(strstr(out, names[j]) != NULL, "%s missing: %s", names[j], out);
    free(out);
    out = nodes_cli(&c.node[2], "--json", &status);
    cr_assert_eq(status, 0, "%s", out);
    {
        json_error_t jerr;
        json_t *arr = json_loads(out, 0, &jerr);

        cr_assert(json_is_array(arr), "%s: %s", jerr.text, out);
        cr_assert_eq(json_array_size(arr), NODES, "%s", out);
        json_decref(arr);
    }
    free(out);
    out = nodes_cli(&c.node[2], "--bogus", &status);
    cr_assert_eq(status, 2, "%s", out);
    free(out);
    {
        char err_log[340];

        snprintf(err_log, sizeof(err_log), "%s/nodes.out.err", c.node[2].dir);
        out = tw_slurp(err_log, NULL);
        cr_assert(strstr(out, "usage: taskwheel nodes") != NULL, "%s", out);
        free(out);
    }

    /* a clean stop removes the node's row */
    cr_assert_eq(tw_srv_stop(&c.node[0], SIGTERM), 0);
    tw_http(&c.node[1], "GET", "/cluster/nodes", c.tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
    cr_assert_eq(json_array_size(r.json), NODES - 1, "%s", r.body);
    tw_resp_fini(&r);
    cluster_stop(&c);
}

Test(cluster, a_node_with_another_key_refuses_to_start)
{
    static const char *const chain1[] = { "1", NULL };
    struct tw_srv *a = &fx.node[0], *b = &fx.node[1];
    char other[160];
    char *tok, *text;

    tw_pgnodes_prepare(&fx, 0, "node-a", NULL, NULL, NULL);
    tok = tw_srv_token(a, "write", chain1); /* records the key's fingerprint */
    cr_assert(tw_pgnodes_start(&fx, 0), "%s", tw_slurp(fx.log[0], NULL));

    /* its own key file (created on first use): refused, naming the file */
    snprintf(other, sizeof(other), "%s/other.key", fx.keydir);
    tw_pgnodes_prepare(&fx, 1, "node-b", other, NULL, NULL);
    cr_assert_not(tw_pgnodes_start(&fx, 1), "a node with another key started");
    text = tw_slurp(fx.log[1], NULL);
    cr_assert(strstr(text, "does not match the cluster's") != NULL, "%s", text);
    cr_assert(strstr(text, other) != NULL, "the key file is not named: %s", text);
    cr_assert(strstr(text, "auth.key_file") != NULL, "%s", text);
    free(text);

    /* the store is intact: the first node still answers with its token */
    {
        struct tw_resp r;

        tw_http(a, "GET", "/tasks", tok, NULL, NULL, &r);
        cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
        tw_resp_fini(&r);
    }
    free(tok);
    tw_srv_fini(b, false);
    tw_srv_fini(a, true);
}

/* A status a request may answer while PostgreSQL restarts: its own success or 503. */
static void expect_ok_or_503(const struct tw_resp *r, long ok)
{
    if (r->status == 503) {
        tw_assert_error(r, 503, "unavailable", NULL);
        return;
    }
    cr_assert_eq(r->status, ok, "during the restart: %ld %s", r->status, r->body);
}

Test(cluster, postgresql_restart_answers_503_and_the_listeners_reconnect)
{
    char why[1024], path[64];
    long long ids[400], id;
    int64_t ms[NODES], t0;
    size_t n_ids = 0, i;
    struct cluster c;
    struct tw_resp r;
    int round, k, unavailable = 0;
    long long armed0;
    pid_t restarter;
    char *text;

    cluster_start(&c);
    /* load on all three nodes while PostgreSQL restarts (pg_ctl in a child) */
    restarter = fork();
    cr_assert(restarter != -1);
    if (restarter == 0) {
        nap_ms(300);
        _exit(tw_pgpeer_restart(&fx.pg, why, sizeof(why)) == 0 ? 0 : 1);
    }
    for (round = 0; round < 60 && n_ids < sizeof(ids) / sizeof(ids[0]); round++) {
        for (k = 0; k < NODES; k++) {
            char *body = tw_task_body(1, NULL);

            tw_http(&c.node[k], "POST", "/tasks", c.tok, NULL, body, &r);
            free(body);
            expect_ok_or_503(&r, 201);
            if (r.status == 201)
                ids[n_ids++] = json_integer_value(json_object_get(r.json, "id"));
            else
                unavailable++;
            tw_resp_fini(&r);
            tw_http(&c.node[k], "GET", "/tasks", c.tok, NULL, NULL, &r);
            expect_ok_or_503(&r, 200);
            unavailable += r.status == 503;
            tw_resp_fini(&r);
        }
        nap_ms(20);
    }
    {
        int st;

        cr_assert_eq(waitpid(restarter, &st, 0), restarter);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "pg_ctl restart failed");
    }
    fprintf(stderr, "cluster restart: %zu tasks created, %d requests answered 503\n", n_ids,
            unavailable);

    /* nothing lost: every task a node acknowledged is there, on every node */
    for (i = 0; i < n_ids; i++) {
        snprintf(path, sizeof(path), "/tasks/%lld", ids[i]);
        for (k = 0; k < 100; k++) {
            tw_http(&c.node[i % NODES], "GET", path, c.tok, NULL, NULL, &r);
            if (r.status != 503)
                break;
            tw_resp_fini(&r);
            nap_ms(100);
        }
        cr_assert_eq(r.status, 200, "task %lld lost: %ld %s", ids[i], r.status, r.body);
        tw_resp_fini(&r);
    }

    /*
     * The wheels agree once every listener has reconnected (it retries each second) and done
     * its full re-read, which brings in the tasks whose NOTIFY a node missed during the outage.
     */
    for (round = 0; round < 300; round++) {
        armed0 = metric(&c.node[0], "taskwheel_sched_armed");
        for (k = 1; k < NODES; k++)
            if (metric(&c.node[k], "taskwheel_sched_armed") != armed0)
                break;
        if (k == NODES)
            break;
        nap_ms(100);
    }
    cr_assert_eq(k, NODES, "the wheels still disagree 30 s after the restart");
    /* the listeners reconnected: a change made now reaches every wheel */
    id = create(&c.node[1], c.tok, "2099-01-01T00:00:00Z");
    t0 = now_ms();
    wait_armed(&c, armed0 + 1, t0, ms);
    print_delays("create on node-b after a PostgreSQL restart", ms);
    (void)id;
    for (k = 0; k < NODES; k++) {
        cr_assert_eq(tw_srv_stop(&c.node[k], SIGTERM), 0);
        text = tw_slurp(c.log[k], NULL);
        cr_assert(strstr(text, "change listener reconnected") != NULL, "node %d: %s", k, text);
        free(text);
    }
    cluster_stop(&c);
}

Test(cluster, store_copy_refuses_a_target_with_another_key)
{
    struct tw_srv *pgnode = &fx.node[0];
    char other[160], sqlite_cfg[320], log[320], errlog[340];
    FILE *f;
    int st;
    char *text;

    snprintf(other, sizeof(other), "%s/other.key", fx.keydir);
    tw_pgnodes_prepare(&fx, 0, "node-a", other, NULL, NULL);
    /* a SQLite node's configuration with the cluster key; the target reads another key */
    snprintf(sqlite_cfg, sizeof(sqlite_cfg), "%s/sqlite.yaml", pgnode->dir);
    f = fopen(sqlite_cfg, "w");
    cr_assert_not_null(f);
    fprintf(f, "data_dir: \"%s/var\"\nplugins_dir: \"%s/plugins\"\nauth: { key_file: \"%s\" }\n",
            pgnode->dir, TW_BUILD_DIR, fx.key);
    fclose(f);
    f = fopen(fx.key, "w"); /* a key file holds the 32 key bytes */
    cr_assert_not_null(f);
    fputs("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", f);
    fclose(f);
    snprintf(log, sizeof(log), "%s/copy.out", pgnode->dir);
    snprintf(errlog, sizeof(errlog), "%s/copy.out.err", pgnode->dir);
    for (int round = 0; round < 2; round++) {
        const char *argv[] = { TW_BINARY,  "store", "copy",         "--from",
                               sqlite_cfg, "--to",  pgnode->config, NULL };

        st = run_logged(argv, log, errlog);
        cr_assert_eq(st, 2, "store copy: status %d", st);
        text = tw_slurp(errlog, NULL);
        /* first the target's key file is missing, then (created below) it differs */
        cr_assert(strstr(text, other) != NULL && strstr(text, "auth.key_file") != NULL, "%s", text);
        free(text);
        f = fopen(other, "w");
        cr_assert_not_null(f);
        fputs("BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", f);
        fclose(f);
    }
    tw_srv_fini(pgnode, false);
}

Test(cluster, a_sqlite_node_lists_itself)
{
    static const char *const chain1[] = { "1", NULL };
    struct tw_srv s;
    struct tw_resp r;
    char *tok;

    tw_srv_init(&s, "cluster: { node_id: \"solo\" }\n"); /* started: SQLite store */
    tok = tw_srv_token(&s, "write", chain1);
    tw_http(&s, "GET", "/cluster/nodes", tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
    cr_assert_eq(json_array_size(r.json), 1, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(r.json, 0), "node_id")),
                     "solo");
    tw_resp_fini(&r);
    free(tok);
    tw_srv_fini(&s, true);
}
