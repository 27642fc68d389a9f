/*
 * Exactly-once runs across nodes (issue 14, docs/cluster.md "Leases, fencing and rescue"):
 * real `taskwheel serve` processes sharing one throwaway PostgreSQL (tests/harness/pgpeer.h),
 * with cluster { heartbeat: 1, lease: 4 } and the testrun fixture plugin (tests/runplugin):
 * - 3 nodes, 1,000 tasks due within ~10 s over 2 chains: each runs exactly once (one
 *   "READY -> INPROGRESS"), all DONE, and the nodes' started counters add up to 1,000;
 * - a repeating task over 5 occurrences, every node armed for each: 5 runs, one per occurrence;
 * - kill -9 of the node running a long export: another node rescues it (the time is printed,
 *   not asserted: speed belongs to bench/cluster), it runs again, DONE, recorded once;
 * - SIGSTOP of the running node past its lease, then SIGCONT: the rescue run is the one
 *   recorded, the woken node's writes are refused and counted (taskwheel_runs_fenced_total),
 *   and it leaves no result file of its own;
 * - max_runs_per_chain: 1 holds across 2 nodes (never two of the chain INPROGRESS at once).
 * - a pg_ctl restart while two nodes run exports: only 503 `unavailable`, every task DONE once.
 * Chains 9101, 9102 (3 records) and 9121 (10 s) are this file's own.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "pgnodes.h"

#define MAX_NODES TW_PGNODES_MAX

static struct tw_pgnodes fx; /* the PostgreSQL store, the key directory, the nodes */
static struct tw_srv *const nodes = fx.node;
static char *tok;

static void setup(void)
{
    tw_pgnodes_init(&fx);
}

static void teardown(void)
{
    free(tok);
    tok = NULL;
    tw_pgnodes_fini(&fx);
}

TestSuite(cluster_runs, .init = setup, .fini = teardown, .timeout = 600);

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* Node i (node-i) on the shared store with the testrun plugin; extra YAML may be "". */
static void start_node(int i, const char *extra)
{
    char name[16];

    snprintf(name, sizeof(name), "node-%d", i);
    tw_pgnodes_up(&fx, i, name, TW_RUNPLUGINS_DIR, extra);
}

static void token(void)
{
    static const char *const chains[] = { "9101", "9102", "9121", NULL };

    tok = tw_srv_token(&nodes[0], "write", chains);
}

static void rfc3339(time_t t, char *buf, size_t n)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Create an export of index testrun for chain, due at `due`; returns its id. */
static long long create(int node, long chain, time_t due, const char *repeat)
{
    char body[512], when[32], rep[64] = "";
    struct tw_resp r;
    long long id;

    rfc3339(due, when, sizeof(when));
    if (repeat != NULL)
        snprintf(rep, sizeof(rep), ", \"repeat\": \"%s\"", repeat);
    snprintf(body, sizeof(body),
             "{\"chain\": %ld, \"desc\": \"cluster\", \"target\": {\"action\": \"export\", "
             "\"export_index\": \"testrun\", \"export_format\": \"csv\"}, "
             "\"trigger\": {\"once\": \"%s\"%s}}",
             chain, when, rep);
    tw_http(&nodes[node], "POST", "/tasks", tok, NULL, body, &r);
    cr_assert_eq(r.status, 201, "%s", r.body);
    id = (long long)json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    return id;
}

/* X-Total-Count of GET /tasks?status=S&chain=C. */
static long long count_state(int node, const char *state, long chain)
{
    char path[128], total[32];
    struct tw_resp r;

    snprintf(path, sizeof(path), "/tasks?status=%s&chain=%ld&limit=1", state, chain);
    tw_http(&nodes[node], "GET", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(tw_resp_header(&r, "X-Total-Count", total, sizeof(total)));
    tw_resp_fini(&r);
    return atoll(total);
}

/* A counter of node's /metrics without labels (asserts it is there). */
static long long metric(int node, const char *name)
{
    long long v = tw_metric(&nodes[node], tok, name);

    cr_assert(v >= 0, "metric %s missing", name);
    return v;
}

/* Log entries of task whose msg ends with suffix. */
static size_t log_suffix(const json_t *task, const char *suffix)
{
    const json_t *logs = json_object_get(task, "logs");
    size_t i, n = 0, k = strlen(suffix);

    for (i = 0; i < json_array_size(logs); i++) {
        const char *m = json_string_value(json_object_get(json_array_get(logs, i), "msg"));
        size_t len = m != NULL ? strlen(m) : 0;

        n += len >= k && strcmp(m + len - k, suffix) == 0;
    }
    return n;
}

static const char *state_of(const json_t *task)
{
    return json_string_value(json_object_get(json_object_get(task, "state"), "code"));
}

/* The node (0..n-1) whose worker runs a job, waiting up to 30 s. */
static int runner_node(int n)
{
    int i, k;

    for (k = 0; k < 600; k++) {
        for (i = 0; i < n; i++)
            if (nodes[i].pid != 0 && tw_children(nodes[i].pid, "tw-worker", NULL, NULL) > 0)
                return i;
        sleep_ms(50);
    }
    cr_assert_fail("no node started the run");
    return -1;
}

/* Wait until task id's log (read through node) has an entry ending with suffix. */
static double wait_log(int node, long long id, const char *suffix, int timeout_s)
{
    double t0 = now_s();
    json_t *t;

    while (now_s() - t0 < timeout_s) {
        t = tw_task_get(&nodes[node], tok, id);
        if (log_suffix(t, suffix) > 0) {
            json_decref(t);
            return now_s();
        }
        json_decref(t);
        sleep_ms(50);
    }
    cr_assert_fail("task %lld: no log entry \"...%s\" within %d s", id, suffix, timeout_s);
    return 0;
}

Test(cluster_runs, thousand_tasks_run_exactly_once_on_three_nodes)
{
    long long ids[1000], started = 0, per[MAX_NODES];
    time_t due = time(NULL) + 10;
    double t0;
    json_t *t;
    int i;

    start_node(0, "workers: 2\n");
    token();
    for (i = 0; i < 1000; i++)
        ids[i] = create(0, i % 2 ? 9102 : 9101, due + i % 3, NULL);
    start_node(1, "workers: 2\n");
    start_node(2, "workers: 2\n");
    t0 = now_s();
    while (count_state(1, "DONE", 9101) + count_state(2, "DONE", 9102) < 1000) {
        cr_assert(now_s() - t0 < 300, "not all tasks DONE after 300 s");
        sleep_ms(200);
    }
    for (i = 0; i < 1000; i++) {
        t = tw_task_get(&nodes[i % MAX_NODES], tok, ids[i]);
        cr_assert_str_eq(state_of(t), "DONE", "task %lld", ids[i]);
        cr_assert_eq(tw_task_log_count(t, "READY -> INPROGRESS"), 1, "task %lld", ids[i]);
        if (tw_task_log_count(t, "INPROGRESS -> DONE") != 1) {
            char *dump = json_dumps(t, JSON_COMPACT);

            cr_assert_fail("task %lld recorded %zu ends: %s", ids[i],
                           tw_task_log_count(t, "INPROGRESS -> DONE"), dump);
        }
        json_decref(t);
    }
    for (i = 0; i < MAX_NODES; i++) {
        per[i] = metric(i, "taskwheel_runs_started_total");
        started += per[i];
    }
    cr_log_info("runs started per node: %lld %lld %lld; claims lost: %lld %lld %lld", per[0],
                per[1], per[2], metric(0, "taskwheel_run_claims_lost_total"),
                metric(1, "taskwheel_run_claims_lost_total"),
                metric(2, "taskwheel_run_claims_lost_total"));
    cr_assert_eq(started, 1000, "every run started once across the nodes");
}

Test(cluster_runs, repeating_task_fires_once_per_occurrence)
{
    char body[128], when[32], path[64];
    struct tw_resp r;
    long long id;
    json_t *t;
    int k, i;

    start_node(0, "");
    token();
    id = create(0, 9101, time(NULL) + 4, "daily");
    start_node(1, "");
    start_node(2, "");
    for (k = 1; k <= 5; k++) {
        if (k > 1) {
            /* the next occurrence, set on node 0: LISTEN/NOTIFY re-arms the other wheels */
            rfc3339(time(NULL) + 4, when, sizeof(when));
            snprintf(body, sizeof(body), "{\"trigger\": {\"once\": \"%s\", \"repeat\": \"daily\"}}",
                     when);
            snprintf(path, sizeof(path), "/tasks/%lld", id);
            tw_http(&nodes[0], "PUT", path, tok, NULL, body, &r);
            cr_assert_eq(r.status, 200, "%s", r.body);
            tw_resp_fini(&r);
        }
        for (i = 0; i < 600; i++) {
            t = tw_task_get(&nodes[k % MAX_NODES], tok, id);
            if (tw_task_log_count(t, "INPROGRESS -> DONE") >= (size_t)k) {
                json_decref(t);
                break;
            }
            json_decref(t);
            sleep_ms(50);
        }
        cr_assert(i < 600, "occurrence %d did not run", k);
    }
    sleep_ms(3000); /* a second run of the last occurrence would show by now */
    t = tw_task_get(&nodes[0], tok, id);
    cr_assert_eq(log_suffix(t, "-> INPROGRESS"), 5, "five starts for five occurrences");
    cr_assert_eq(tw_task_log_count(t, "INPROGRESS -> DONE"), 5);
    json_decref(t);
}

/*
 * Two nodes, a 10 s export (chain 9121) due in 3 s, 1.5 s into its run: its id; *x is the node
 * running it (the other one is 1 - *x).
 */
static long long long_run_under_way(int *x)
{
    long long id;

    start_node(0, "");
    token();
    id = create(0, 9121, time(NULL) + 3, NULL);
    start_node(1, "");
    *x = runner_node(2);
    sleep_ms(1500);
    return id;
}

Test(cluster_runs, kill_9_of_the_running_node_is_rescued)
{
    double killed, rescued;
    char msg[128];
    long long id;
    json_t *t;
    int x, other;

    id = long_run_under_way(&x);
    other = 1 - x;
    tw_srv_stop(&nodes[x], SIGKILL);
    killed = now_s();
    snprintf(msg, sizeof(msg), "interrupted: lease of node node-%d expired", x);
    rescued = wait_log(other, id, msg, 30);
    cr_log_info("kill -9 of node-%d: rescued after %.2f s (lease 4 + heartbeat 1)", x,
                rescued - killed);
    fprintf(stderr, "cluster: rescue after kill -9 took %.2f s\n", rescued - killed);
    t = tw_wait_state(&nodes[other], tok, id, "DONE", 60);
    cr_assert_eq(tw_task_log_count(t, "READY -> INPROGRESS"), 2);
    cr_assert_eq(tw_task_log_count(t, "INPROGRESS -> READY"), 1);
    cr_assert_eq(log_suffix(t, "-> DONE"), 1, "the run is recorded once");
    cr_assert_not_null(json_object_get(t, "result"));
    json_decref(t);
}

/* Regular files (not dot files) under dir, recursively. */
static int result_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    struct stat st;
    char path[1024];
    int n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            n += result_files(path);
        else if (S_ISREG(st.st_mode))
            n++;
    }
    closedir(d);
    return n;
}

Test(cluster_runs, a_paused_node_is_fenced_when_it_wakes)
{
    char msg[128], dir[512];
    long long id;
    json_t *t;
    int x, other;

    id = long_run_under_way(&x);
    other = 1 - x;
    cr_assert_eq(kill(nodes[x].pid, SIGSTOP), 0);
    snprintf(msg, sizeof(msg), "interrupted: lease of node node-%d expired", x);
    wait_log(other, id, msg, 30);
    wait_log(other, id, "READY -> INPROGRESS", 1); /* the first claim's entry */
    cr_assert_eq(kill(nodes[x].pid, SIGCONT), 0);
    t = tw_wait_state(&nodes[other], tok, id, "DONE", 60);
    cr_assert_eq(tw_task_log_count(t, "READY -> INPROGRESS"), 2);
    cr_assert_eq(log_suffix(t, "-> DONE"), 1, "only the rescue run is recorded");
    json_decref(t);
    /* the woken node noticed at its first heartbeat, or at the end of its run at the latest */
    for (int k = 0; k < 300 && metric(x, "taskwheel_runs_fenced_total") < 1; k++)
        sleep_ms(100);
    cr_assert_geq(metric(x, "taskwheel_runs_fenced_total"), 1);
    cr_assert_eq(metric(other, "taskwheel_runs_fenced_total"), 0);
    sleep_ms(1500); /* a cancelled worker is reaped; a finished one's file removed */
    snprintf(dir, sizeof(dir), "%s/var/results/9121", nodes[x].dir);
    cr_assert_eq(result_files(dir), 0, "the fenced node kept no result file");
    snprintf(dir, sizeof(dir), "%s/var/results/9121", nodes[other].dir);
    cr_assert_eq(result_files(dir), 1, "the rescue run published one result");
    t = tw_task_get(&nodes[x], tok, id);
    cr_assert_eq(log_suffix(t, "-> DONE"), 1, "still recorded once after the wake");
    json_decref(t);
}

Test(cluster_runs, max_runs_per_chain_holds_across_nodes)
{
    long long ids[6];
    time_t due = time(NULL) + 4;
    int i, k, peak = 0;

    start_node(0, "max_runs_per_chain: 1\n");
    token();
    for (i = 0; i < 6; i++)
        ids[i] = create(0, 9121, due, NULL);
    start_node(1, "max_runs_per_chain: 1\n");
    /* 6 runs of 10 s, one at a time: watch the INPROGRESS count until all are DONE */
    for (k = 0; k < 1500 && count_state(0, "DONE", 9121) < 2; k++) {
        long long running = count_state(k % 2, "INPROGRESS", 9121);

        if (running > peak)
            peak = (int)running;
        sleep_ms(50);
    }
    cr_assert_eq(peak, 1, "at most one run of the chain at a time across the nodes");
    (void)ids;
}

/*
 * PostgreSQL restarted (pg_ctl restart, fast: connections cut) while two nodes run exports:
 * long runs (9121, 10 s) span the restart and short ones (9101) fall due around it. Requests
 * answer their success or 503 `unavailable`, never anything else; afterwards every task is
 * DONE with its result, its end recorded once (a run whose lease lapsed meanwhile may have
 * been rescued and run again; it is still recorded once).
 */
Test(cluster_runs, postgresql_restart_while_exports_run)
{
    long long ids[12];
    char why[512], path[64];
    struct tw_resp r;
    pid_t restarter;
    int n = 0, i, k, status = 0, unavailable = 0, ok = 0;
    json_t *t;

    start_node(0, "");
    token();
    start_node(1, "");
    for (i = 0; i < 2; i++)
        ids[n++] = create(i, 9121, time(NULL) + 2, NULL);
    for (i = 0; i < 10; i++)
        ids[n++] = create(i % 2, 9101, time(NULL) + 3 + i / 2, NULL);
    (void)runner_node(2); /* a long run is under way */
    sleep_ms(1500);
    restarter = fork();
    cr_assert(restarter != -1);
    if (restarter == 0)
        _exit(tw_pgpeer_restart(&fx.pg, why, sizeof(why)) == 0 ? 0 : 1);
    for (k = 0; waitpid(restarter, &status, WNOHANG) == 0; k++) {
        snprintf(path, sizeof(path), "/tasks/%lld", ids[k % n]);
        tw_http(&nodes[k % 2], "GET", path, tok, NULL, NULL, &r);
        if (r.status == 503) {
            tw_assert_error(&r, 503, "unavailable", NULL);
            unavailable++;
        } else {
            cr_assert_eq(r.status, 200, "during the restart: %ld %s", r.status, r.body);
        }
        tw_resp_fini(&r);
        sleep_ms(20);
    }
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "pg_ctl restart failed");
    cr_log_info("requests during the restart: %d, of which 503 unavailable: %d", k, unavailable);
    /* a node reconnects at its next store call after the restart: 503 may follow a little */
    for (k = 0; k < 600; k++) {
        tw_http(&nodes[k % 2], "GET", "/tasks?limit=1", tok, NULL, NULL, &r);
        if (r.status == 503)
            tw_assert_error(&r, 503, "unavailable", NULL);
        ok = r.status == 200 ? ok + 1 : 0;
        tw_resp_fini(&r);
        if (ok == 2) /* both nodes in a row */
            break;
        sleep_ms(50);
    }
    cr_assert_eq(ok, 2, "the nodes did not reconnect within 30 s");
    for (i = 0; i < n; i++) {
        t = tw_wait_state(&nodes[i % 2], tok, ids[i], "DONE", 120);
        cr_assert_eq(log_suffix(t, "-> DONE"), 1, "task %lld: its end recorded once", ids[i]);
        cr_assert_not_null(json_object_get(t, "result"), "task %lld has no result", ids[i]);
        json_decref(t);
    }
}
