/*
 * Results on S3 in a cluster (issue 14, docs/cluster.md "S3 results are published by the
 * server"): two real `taskwheel serve` nodes on one throwaway PostgreSQL (harness/pgnodes.h)
 * sharing one s3rver bucket (harness/s3peer.h), cluster { heartbeat: 1, lease: 4 }.
 *
 * SIGSTOP of the node running a 10 s export (chain 9121 of the testrun fixture): its worker
 * goes on, finishes and seals its upload while its node sleeps; the other node rescues the
 * task, runs it again and publishes its result (DONE). Then SIGCONT: the woken node's claim
 * check is refused, its sealed upload is aborted and never completed — the object under the
 * key stays the rescue run's (same LastModified and ETag), the store records one DONE, and
 * the woken node counts the fence.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "pgnodes.h"
#include "s3peer.h"

#define AKID "S3RVER"
#define SECRET "S3RVER"
#define PREFIX "tw/"

static struct tw_pgnodes c;
static struct tw_s3peer peer;
static char *tok;

static void setup(void)
{
    tw_pgnodes_init(&c);
    tw_s3peer_start(&peer, "exports");
}

static void teardown(void)
{
    free(tok);
    tok = NULL;
    tw_pgnodes_fini(&c);
    tw_s3peer_fini(&peer);
}

TestSuite(cluster_s3, .init = setup, .fini = teardown, .timeout = 600);

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static void node_up(int k)
{
    char extra[1024], id[16];

    snprintf(extra, sizeof(extra),
             "results:\n"
             "  storage: s3\n"
             "  s3:\n"
             "    endpoint: \"%s\"\n"
             "    region: us-east-1\n"
             "    bucket: exports\n"
             "    prefix: \"" PREFIX "\"\n"
             "    path_style: true\n"
             "    access_key_id: \"" AKID "\"\n"
             "    secret_access_key: \"" SECRET "\"\n",
             peer.endpoint);
    snprintf(id, sizeof(id), "node-%d", k);
    tw_pgnodes_up(&c, k, id, TW_RUNPLUGINS_DIR, extra);
}

static long long create_due(time_t due)
{
    char body[512], when[32];
    struct tm tm;
    struct tw_resp r;
    long long id;

    gmtime_r(&due, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof(body),
             "{\"chain\": 9121, \"desc\": \"cluster s3\", \"target\": {\"action\": \"export\", "
             "\"export_index\": \"testrun\", \"export_format\": \"csv\"}, "
             "\"trigger\": {\"once\": \"%s\"}}",
             when);
    tw_http(&c.node[0], "POST", "/tasks", tok, NULL, body, &r);
    cr_assert_eq(r.status, 201, "%s", r.body);
    id = (long long)json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    return id;
}

/* The node (0 or 1) whose worker runs a job, waiting up to 30 s. */
static int runner_node(void)
{
    for (int k = 0; k < 600; k++) {
        for (int i = 0; i < 2; i++)
            if (c.node[i].pid != 0 && tw_children(c.node[i].pid, "tw-worker", NULL, NULL) > 0)
                return i;
        sleep_ms(50);
    }
    cr_assert_fail("no node started the run");
    return -1;
}

/* A counter of node k's /metrics without labels. */
static long long metric(int k, const char *name)
{
    long long v = tw_metric(&c.node[k], tok, name);

    cr_assert(v >= 0, "metric %s missing", name);
    return v;
}

/* "LastModified-ms ETag" of key as the AWS SDK sees it. */
static void head(const char *key, char *out, size_t cap)
{
    const char *args[] = { "head.js", peer.endpoint, "us-east-1", peer.bucket, key, NULL };

    cr_assert_eq(tw_s3peer_node(AKID, SECRET, out, cap, args), 0, "head.js failed for %s", key);
}

/* "SIZE SHA256" of key as the AWS SDK reads it. */
static void sdk_get(const char *key, char *out, size_t cap)
{
    const char *args[] = { "get.js", peer.endpoint, "us-east-1", peer.bucket, key, NULL };

    cr_assert_eq(tw_s3peer_node(AKID, SECRET, out, cap, args), 0, "get.js failed for %s", key);
}

/* "SIZE SHA256" the store records for the task, through node k. */
static void recorded(int k, long long id, char *out, size_t cap)
{
    struct tw_resp r;
    char path[96];

    snprintf(path, sizeof(path), "/tasks/%lld/download_url", id);
    tw_http(&c.node[k], "GET", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "download_url: %ld %s", r.status, r.body);
    snprintf(out, cap, "%lld %s", (long long)json_integer_value(json_object_get(r.json, "size")),
             json_string_value(json_object_get(r.json, "sha256")));
    tw_resp_fini(&r);
}

static bool file_has(const char *path, const char *needle)
{
    char *text = tw_slurp(path, NULL);
    bool found = text != NULL && strstr(text, needle) != NULL;

    free(text);
    return found;
}

Test(cluster_s3, a_paused_nodes_finished_upload_never_replaces_the_rescue_runs_result)
{
    static const char *const chains[] = { "9121", NULL };
    char key[128], sealed[600], want[200], got[200], stamp[200], again[200];
    long long id;
    json_t *t;
    int x, other, i;

    node_up(0);
    tok = tw_srv_token(&c.node[0], "write", chains);
    id = create_due(time(NULL) + 3);
    node_up(1);
    x = runner_node();
    other = 1 - x;
    snprintf(key, sizeof(key), PREFIX "9121/%lld/TestRun_Export-%lld.csv", id, id);
    snprintf(sealed, sizeof(sealed), "%s/var/results/9121/%lld/.s3-sealed", c.node[x].dir, id);
    sleep_ms(1500);
    cr_assert_eq(kill(c.node[x].pid, SIGSTOP), 0);

    /* the paused node's worker finishes its export and seals its upload meanwhile */
    for (i = 0; i < 600 && access(sealed, F_OK) != 0; i++)
        sleep_ms(100);
    cr_assert_eq(access(sealed, F_OK), 0, "node-%d's worker never sealed its upload", x);
    /* the other node rescued the task, ran it again and published its result */
    t = tw_wait_state(&c.node[other], tok, id, "DONE", 90);
    cr_assert_eq(tw_task_log_count(t, "READY -> INPROGRESS"), 2);
    cr_assert_eq(tw_task_log_count(t, "INPROGRESS -> READY"), 1, "rescued once");
    json_decref(t);
    recorded(other, id, want, sizeof(want));
    sdk_get(key, got, sizeof(got));
    cr_assert_str_eq(got, want, "the object is not the one the store records");
    head(key, stamp, sizeof(stamp));
    cr_assert_eq(tw_s3peer_uploads(&peer), 1, "the paused node's sealed upload is in flight");
    sleep_ms(1100); /* a later write would show in LastModified (whole seconds) */

    cr_assert_eq(kill(c.node[x].pid, SIGCONT), 0);
    for (i = 0; i < 300; i++) {
        if (tw_s3peer_uploads(&peer) == 0 && access(sealed, F_OK) != 0 &&
            metric(x, "taskwheel_runs_fenced_total") >= 1)
            break;
        sleep_ms(100);
    }
    cr_assert_geq(metric(x, "taskwheel_runs_fenced_total"), 1, "the woken node counted no fence");
    cr_assert_eq(tw_s3peer_uploads(&peer), 0, "the fenced upload was neither aborted nor done");
    cr_assert_neq(access(sealed, F_OK), 0, "%s is left", sealed);
    cr_assert(file_has(c.log[x], "its run was fenced or not recorded"),
              "node-%d did not abort its upload (log %s)", x, c.log[x]);
    sleep_ms(1000);
    head(key, again, sizeof(again));
    cr_assert_str_eq(again, stamp, "the fenced node wrote the object again");
    sdk_get(key, got, sizeof(got));
    cr_assert_str_eq(got, want);
    recorded(x, id, got, sizeof(got));
    cr_assert_str_eq(got, want, "the woken node sees the rescue run's result");
    t = tw_task_get(&c.node[x], tok, id);
    cr_assert_eq(tw_task_log_count(t, "INPROGRESS -> DONE"), 1, "the run is recorded once");
    json_decref(t);
}
