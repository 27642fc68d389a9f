/*
 * Results in an S3-compatible bucket (reference §11, docs/storage.md) through a real server and
 * a real store: s3rver on loopback (tests/s3/s3rver.js), objects read back with the AWS SDK for
 * JavaScript v3 (get.js) and with libcurl through the pre-signed URL. The runs come from the
 * fixture index plugin testrun (tests/runplugin): chain 9001 three records, 9007 a 200 MB
 * result, 9008 a 40 MB result written slowly enough to stop the store in the middle.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "s3peer.h"

#define AKID "S3RVER"
#define SECRET "S3RVER"
#define PREFIX "tw/"
/* A worker's peak RSS bound for a 200 MB result; AddressSanitizer's shadow memory and
 * quarantine add tens of MB to any process. */
#ifdef __SANITIZE_ADDRESS__
#define HWM_LIMIT_KB (128 * 1024)
#else
#define HWM_LIMIT_KB (64 * 1024)
#endif

static struct tw_srv srv;
static struct tw_s3peer peer;
static char *tok;

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* results: storage s3 at endpoint, with these credentials and bucket. */
static void s3_yaml(char *out, size_t cap, const char *endpoint, const char *bucket,
                    const char *akid, const char *secret)
{
    snprintf(out, cap,
             "execute_wait: 0\n"
             "results:\n"
             "  storage: s3\n"
             "  s3:\n"
             "    endpoint: \"%s\"\n"
             "    region: us-east-1\n"
             "    bucket: \"%s\"\n"
             "    prefix: \"" PREFIX "\"\n"
             "    path_style: true\n"
             "    access_key_id: \"%s\"\n"
             "    secret_access_key: \"%s\"\n"
             "    part_size: 5242880\n",
             endpoint, bucket, akid, secret);
}

static void start_server(const char *yaml)
{
    static const char *const chains[] = { "9001", "9007", "9008", NULL };

    tw_srv_init_plugins(&srv, TW_RUNPLUGINS_DIR, yaml);
    tok = tw_srv_token(&srv, "write", chains);
}

static void setup(void)
{
    char yaml[1024];

    tw_s3peer_start(&peer, "exports");
    s3_yaml(yaml, sizeof(yaml), peer.endpoint, "exports", AKID, SECRET);
    start_server(yaml);
}

static void teardown(void)
{
    free(tok);
    tok = NULL;
    tw_srv_fini(&srv, true);
    tw_s3peer_fini(&peer);
}

static long long create(long chain, const char *format)
{
    char body[512];
    struct tw_resp r;
    long long id;

    snprintf(body, sizeof(body),
             "{\"chain\": %ld, \"desc\": \"s3\", \"target\": {\"action\": \"export\","
             " \"export_index\": \"testrun\", \"export_format\": \"%s\"},"
             " \"trigger\": {\"once\": \"2099-01-01T00:00:00Z\"}}",
             chain, format);
    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    cr_assert_eq(r.status, 201, "create: %ld %s", r.status, r.body);
    id = json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    return id;
}

/* POST execute (answered at once: execute_wait 0). */
static void execute(long long id)
{
    struct tw_resp r;
    char path[96];

    snprintf(path, sizeof(path), "/tasks/%lld/execute", id);
    tw_http(&srv, "POST", path, tok, NULL, NULL, &r);
    cr_assert(r.status == 200 || r.status == 202, "execute: %ld %s", r.status, r.body);
    tw_resp_fini(&r);
}

/* Run ends so far: log entries "INPROGRESS -> ..." of the task. */
static size_t ends(long long id)
{
    json_t *t = tw_task_get(&srv, tok, id);
    json_t *logs = json_object_get(t, "logs"), *e;
    size_t i, n = 0;

    json_array_foreach(logs, i, e)
    {
        const char *m = json_string_value(json_object_get(e, "msg"));

        n += m != NULL && strncmp(m, "INPROGRESS -> ", 14) == 0;
    }
    json_decref(t);
    return n;
}

/* Wait until the task has ended more than before runs, then for state code. */
static json_t *wait_end(long long id, size_t before, const char *code, int timeout_s)
{
    for (int i = 0; i < timeout_s * 10 && ends(id) <= before; i++)
        sleep_ms(100);
    return tw_wait_state(&srv, tok, id, code, 5);
}

/* Run id now and wait for its end in state code; returns the task (caller decrefs). */
static json_t *run(long long id, const char *code, int timeout_s)
{
    size_t before = ends(id);

    execute(id);
    return wait_end(id, before, code, timeout_s);
}

static const char *last_msg(json_t *task)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(task, "logs"), 0), "msg"));
}

struct dl {
    char url[8192];
    long long size;
    char sha256[65];
};

static void download_url(long long id, struct dl *d)
{
    struct tw_resp r;
    char path[96];

    snprintf(path, sizeof(path), "/tasks/%lld/download_url", id);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "download_url: %ld %s", r.status, r.body);
    snprintf(d->url, sizeof(d->url), "%s", json_string_value(json_object_get(r.json, "url")));
    snprintf(d->sha256, sizeof(d->sha256), "%s",
             json_string_value(json_object_get(r.json, "sha256")));
    d->size = json_integer_value(json_object_get(r.json, "size"));
    cr_assert(json_is_string(json_object_get(r.json, "expires")), "%s", r.body);
    tw_resp_fini(&r);
}

struct body {
    EVP_MD_CTX *sha;
    long long len;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct body *b = arg;

    EVP_DigestUpdate(b->sha, p, size * n);
    b->len += (long long)(size * n);
    return size * n;
}

/* GET url with libcurl (no credentials: the URL is the authorisation); status, size, sha. */
static long fetch(const char *url, long long *len, char sha[65])
{
    struct body b = { EVP_MD_CTX_new(), 0 };
    unsigned char md[32];
    unsigned int mdlen = 0;
    long status = 0;
    CURL *c = curl_easy_init();

    cr_assert_not_null(c);
    EVP_DigestInit_ex(b.sha, EVP_sha256(), NULL);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
    cr_assert_eq(curl_easy_perform(c), CURLE_OK, "GET %s failed", url);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    EVP_DigestFinal_ex(b.sha, md, &mdlen);
    EVP_MD_CTX_free(b.sha);
    for (unsigned i = 0; i < 32; i++)
        snprintf(sha + 2 * i, 3, "%02x", md[i]);
    *len = b.len;
    return status;
}

/* The result through its pre-signed URL equals what download_url says. */
static void check_download(long long id, struct dl *d)
{
    char sha[65];
    long long len = 0;

    download_url(id, d);
    cr_assert(strncmp(d->url, peer.endpoint, strlen(peer.endpoint)) == 0, "%s", d->url);
    cr_assert_not_null(strstr(d->url, "X-Amz-Expires=3600&"), "%s", d->url);
    cr_assert_not_null(strstr(d->url, "X-Amz-Signature="), "%s", d->url);
    cr_assert_eq(fetch(d->url, &len, sha), 200);
    cr_assert_eq(len, d->size);
    cr_assert_str_eq(sha, d->sha256);
}

/* The object as the AWS SDK reads it: "SIZE SHA256". */
static void sdk_get(const char *key, char *out, size_t cap)
{
    const char *args[] = { "get.js", peer.endpoint, "us-east-1", peer.bucket, key, NULL };

    cr_assert_eq(tw_s3peer_node(AKID, SECRET, out, cap, args), 0, "get.js failed for %s", key);
}

/* Objects under prefix (the SDK's ListObjectsV2) and multipart uploads in flight. */
static void listing(const char *prefix, int *objects, int *uploads)
{
    const char *args[] = {
        "list_uploads.js", peer.endpoint, "us-east-1", peer.bucket, prefix, NULL
    };
    char got[64];

    cr_assert_eq(tw_s3peer_node(AKID, SECRET, got, sizeof(got), args), 0);
    cr_assert_eq(sscanf(got, "%d %d", objects, uploads), 2, "list_uploads.js said %s", got);
}

static void key_of(long long chain, long long id, const char *file, char *out, size_t cap)
{
    snprintf(out, cap, PREFIX "%lld/%lld/%s", chain, id, file);
}

/* Wait until the objects under prefix number want (deletes run off the server's loop). */
static void wait_objects(const char *prefix, int want)
{
    int objects = -1, uploads = -1;

    for (int i = 0; i < 600; i++) {
        listing(prefix, &objects, &uploads);
        if (objects == want)
            return;
        sleep_ms(100);
    }
    cr_assert_fail("%d objects under %s, want %d", objects, prefix, want);
}

TestSuite(s3_results, .init = setup, .fini = teardown, .timeout = 600);

Test(s3_results, small_result_is_an_object_the_sdk_and_the_url_read)
{
    struct dl d;
    char key[256], got[200], want[200];
    json_t *t;
    long long id = create(9001, "csv");

    t = run(id, "DONE", 120);
    cr_assert_str_eq(json_string_value(json_object_get(t, "result")), "TestRun_Export-1.csv");
    json_decref(t);
    check_download(id, &d);
    key_of(9001, id, "TestRun_Export-1.csv", key, sizeof(key));
    cr_assert_not_null(strstr(d.url, "/exports/" PREFIX "9001/1/TestRun_Export-1.csv?"), "%s",
                       d.url);
    sdk_get(key, got, sizeof(got));
    snprintf(want, sizeof(want), "%lld %s", d.size, d.sha256);
    cr_assert_str_eq(got, want);
    /* no local copy: the result lives in the bucket only */
    {
        char path[600];

        snprintf(path, sizeof(path), "%s/var/results/9001/%lld/TestRun_Export-1.csv", srv.dir, id);
        cr_assert_neq(access(path, F_OK), 0, "%s exists", path);
    }
}

/* The worker's peak memory while it uploads: VmHWM of the tw-worker child, in kB. */
static long worker_hwm_kb(void)
{
    char path[64], line[256];
    long kb = 0;
    pid_t pid = -1;
    FILE *f;

    if (tw_children(srv.pid, "tw-worker", &pid, NULL) < 1 || pid <= 0)
        return 0;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

Test(s3_results, a_200_mb_result_goes_up_in_parts_with_bounded_worker_memory)
{
    long long id = create(9007, "csv");
    char key[256], got[200], want[200];
    long hwm = 0, kb;
    bool multipart = false;
    struct dl d;
    json_t *t;

    execute(id);
    /* A multipart upload exists while the parts go up (a single PUT never makes one). */
    for (int i = 0; i < 30000 && !multipart; i++) {
        multipart = tw_s3peer_uploads(&peer) > 0;
        if ((kb = worker_hwm_kb()) > hwm)
            hwm = kb;
        if (!multipart)
            sleep_ms(10);
    }
    cr_assert(multipart, "no multipart upload was seen");
    while (tw_s3peer_uploads(&peer) > 0) { /* until CompleteMultipartUpload */
        if ((kb = worker_hwm_kb()) > hwm)
            hwm = kb;
        sleep_ms(20);
    }
    t = tw_wait_state(&srv, tok, id, "DONE", 300);
    json_decref(t);
    check_download(id, &d);
    cr_assert_gt(d.size, 200000000LL, "only %lld bytes", d.size);
    key_of(9007, id, "TestRun_Export-1.csv", key, sizeof(key));
    sdk_get(key, got, sizeof(got));
    snprintf(want, sizeof(want), "%lld %s", d.size, d.sha256);
    cr_assert_str_eq(got, want);
    /* 1 MiB stream buffer + one 5 MiB part + libcurl: far below the result's size */
    fprintf(stderr, "s3 200MB: size=%lld worker_max_rss_kb=%ld\n", d.size, hwm);
    cr_assert(hwm > 0, "the worker's memory was never seen");
    cr_assert_lt(hwm, HWM_LIMIT_KB, "worker peak RSS %ld kB", hwm);
}

Test(s3_results, store_stopped_mid_upload_is_error_and_the_next_run_succeeds)
{
    long long id = create(9008, "csv");
    struct dl first, again, last;
    char prefix[64];
    int objects, uploads;
    const char *msg;
    size_t before;
    json_t *t;

    t = run(id, "DONE", 300);
    json_decref(t);
    check_download(id, &first);

    before = ends(id);
    execute(id);
    /* the first part is arriving: the upload exists and more parts are to come */
    for (int i = 0; i < 30000 && tw_s3peer_parts(&peer) == 0; i++)
        sleep_ms(10);
    cr_assert_gt(tw_s3peer_parts(&peer), 0, "the upload never became multipart");
    tw_s3peer_stop(&peer, 1); /* kill -9: connections reset, nothing listens */
    t = wait_end(id, before, "ERROR", 300);
    msg = last_msg(t);
    cr_assert_not_null(msg);
    cr_assert_not_null(strstr(msg, "S3 upload of " PREFIX "9008/"), "%s", msg);
    cr_assert_not_null(strstr(msg, peer.endpoint), "%s", msg);
    cr_assert_not_null(strstr(msg, "aborted by the task's next run"), "%s", msg);
    cr_assert_str_eq(json_string_value(json_object_get(t, "result")), "TestRun_Export-1.csv");
    json_decref(t);

    tw_s3peer_restart(&peer);
    /* the previous result is still the task's, and still the object's bytes */
    check_download(id, &again);
    cr_assert_str_eq(again.sha256, first.sha256);
    snprintf(prefix, sizeof(prefix), PREFIX "9008/%lld/", id);
    listing(prefix, &objects, &uploads);
    cr_assert_eq(objects, 1);
    cr_assert_eq(uploads, 1, "the killed store kept the upload in flight (%d)", uploads);

    t = run(id, "DONE", 300); /* aborts the orphan first, then uploads anew */
    json_decref(t);
    check_download(id, &last);
    listing(prefix, &objects, &uploads);
    cr_assert_eq(objects, 1);
    cr_assert_eq(uploads, 0, "an orphan multipart upload is left");
    cr_assert_eq(tw_s3peer_uploads(&peer), 0);
}

/* The run's result directory on the server: where the worker leaves its sealed upload. */
static void sealed_path(long long chain, long long id, char *out, size_t cap)
{
    snprintf(out, cap, "%s/var/results/%lld/%lld/.s3-sealed", srv.dir, chain, id);
}

/* True when key names an object the AWS SDK can read. */
static bool object_exists(const char *key)
{
    const char *args[] = { "get.js", peer.endpoint, "us-east-1", peer.bucket, key, NULL };
    char got[200];

    return tw_s3peer_node(AKID, SECRET, got, sizeof(got), args) == 0;
}

/*
 * Start a run of id and stop its server (SIGSTOP) while the worker uploads; return once the
 * worker sealed its upload. The worker goes on while its server is stopped, as a worker of
 * a paused cluster node does.
 */
static void run_with_server_paused(long long id, const char *sealed)
{
    json_t *t;
    int i;

    execute(id);
    t = tw_wait_state(&srv, tok, id, "INPROGRESS", 60);
    json_decref(t);
    cr_assert_eq(kill(srv.pid, SIGSTOP), 0);
    for (i = 0; i < 3000 && access(sealed, F_OK) != 0; i++)
        sleep_ms(100);
    cr_assert_eq(access(sealed, F_OK), 0, "the worker never sealed its upload (%s)", sealed);
}

Test(s3_results, the_result_appears_under_its_key_only_when_the_server_publishes_it)
{
    long long id = create(9008, "csv");
    char prefix[64], key[256], sealed[600];
    int objects = -1, uploads = -1;
    struct dl d;
    size_t before = ends(id);
    json_t *t;

    snprintf(prefix, sizeof(prefix), PREFIX "9008/%lld/", id);
    key_of(9008, id, "TestRun_Export-1.csv", key, sizeof(key));
    sealed_path(9008, id, sealed, sizeof(sealed));
    run_with_server_paused(id, sealed);
    /* the worker is done, its server has neither checked the claim nor recorded the end */
    listing(prefix, &objects, &uploads);
    cr_assert_eq(objects, 0, "an object is visible before its run was checked");
    cr_assert_eq(uploads, 1, "the sealed upload is in flight");
    cr_assert(!object_exists(key));
    cr_assert_eq(kill(srv.pid, SIGCONT), 0);

    t = wait_end(id, before, "DONE", 300);
    json_decref(t);
    /* DONE means published: the first download_url after DONE serves the recorded object */
    check_download(id, &d);
    listing(prefix, &objects, &uploads);
    cr_assert_eq(objects, 1);
    cr_assert_eq(uploads, 0, "the upload is completed, not left in flight");
    cr_assert_neq(access(sealed, F_OK), 0, "%s is left after DONE", sealed);
}

/* The store's attempt of task id moves on, as when another node rescued its run. */
static void bump_attempt(long long id)
{
    char db[600];
    sqlite3 *h;

    snprintf(db, sizeof(db), "%s/var/taskwheel.db", srv.dir);
    cr_assert_eq(access(db, F_OK), 0, "no store at %s", db);
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(h, 10000);
    cr_assert_eq(
        sqlite3_exec(h, "UPDATE tasks SET attempt = attempt + 1 WHERE state = 1", NULL, NULL, NULL),
        SQLITE_OK, "%s", sqlite3_errmsg(h));
    cr_assert_eq(sqlite3_changes(h), 1, "task %lld is not running", id);
    sqlite3_close(h);
}

/*
 * The server wakes and finds its run's claim taken (another attempt): the sealed upload is
 * aborted, nothing appears under the key, the end is not recorded, the fence is counted.
 * (This single node rescues the task later, when the lease it renewed lapses, and runs it
 * again under a newer attempt; only the fenced attempt is checked here.)
 */
Test(s3_results, a_fenced_run_publishes_nothing)
{
    long long id = create(9008, "csv");
    char prefix[64], key[256], sealed[600];
    int objects = -1, uploads = -1, i;
    struct tw_resp r;

    snprintf(prefix, sizeof(prefix), PREFIX "9008/%lld/", id);
    key_of(9008, id, "TestRun_Export-1.csv", key, sizeof(key));
    sealed_path(9008, id, sealed, sizeof(sealed));
    run_with_server_paused(id, sealed);
    bump_attempt(id);
    cr_assert_eq(kill(srv.pid, SIGCONT), 0);
    for (i = 0; i < 600; i++) {
        listing(prefix, &objects, &uploads);
        if (uploads == 0 && access(sealed, F_OK) != 0)
            break;
        sleep_ms(100);
    }
    cr_assert_eq(uploads, 0, "the fenced run's upload is left in flight");
    cr_assert_eq(objects, 0, "a fenced run published its result");
    cr_assert(!object_exists(key));
    cr_assert_neq(access(sealed, F_OK), 0, "%s is left", sealed);
    tw_http(&srv, "GET", "/metrics", tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%ld", r.status);
    cr_assert_null(strstr(r.body, "taskwheel_runs_fenced_total 0\n"), "no fence counted");
    cr_assert_not_null(strstr(r.body, "taskwheel_runs_fenced_total"), "%s", r.body);
    tw_resp_fini(&r);
}

Test(s3_results, a_new_file_name_deletes_the_old_object_and_delete_removes_the_last)
{
    long long id = create(9001, "csv");
    char prefix[64], key[256], got[200];
    struct tw_resp r;
    char path[64];
    json_t *t;

    t = run(id, "DONE", 120);
    json_decref(t);
    snprintf(path, sizeof(path), "/tasks/%lld", id);
    tw_http(&srv, "PUT", path, tok, NULL,
            "{\"target\": {\"action\": \"export\", \"export_index\": \"testrun\","
            " \"export_format\": \"json\"}}",
            &r);
    cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
    tw_resp_fini(&r);
    t = run(id, "DONE", 120);
    json_decref(t);
    snprintf(prefix, sizeof(prefix), PREFIX "9001/%lld/", id);
    wait_objects(prefix, 1);
    key_of(9001, id, "TestRun_Export-1.json", key, sizeof(key));
    sdk_get(key, got, sizeof(got)); /* the one left is the new result */

    tw_http(&srv, "DELETE", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 204);
    tw_resp_fini(&r);
    wait_objects(prefix, 0);
}

Test(s3_results, retention_deletes_the_object_then_result_expired)
{
    long long id = create(9001, "csv");
    char db_path[400], prefix[64], path[96];
    struct tw_resp r;
    sqlite3 *db;
    json_t *t;

    t = run(id, "DONE", 120);
    json_decref(t);
    cr_assert_eq(tw_srv_stop(&srv, SIGTERM), 0);
    snprintf(db_path, sizeof(db_path), "%s/var/taskwheel.db", srv.dir);
    cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "UPDATE tasks SET result_time = result_time - 8 * 86400", NULL,
                              NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    tw_srv_start(&srv); /* retention runs at start */
    snprintf(prefix, sizeof(prefix), PREFIX "9001/%lld/", id);
    wait_objects(prefix, 0);
    snprintf(path, sizeof(path), "/tasks/%lld/download_url", id);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    tw_assert_error(&r, 409, "result_expired", NULL);
    tw_resp_fini(&r);
}

/* ---------------------------------------------------------------- the store says no */

/* Server output (its log) goes to path from now on, for the tests that read it. */
static void log_to(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    cr_assert_geq(fd, 0);
    fflush(stdout);
    fflush(stderr);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
}

static bool file_has(const char *path, const char *needle)
{
    static char text[1 << 20];
    FILE *f = fopen(path, "r");
    size_t n;

    cr_assert_not_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    return strstr(text, needle) != NULL;
}

static void peer_only(void)
{
    tw_s3peer_start(&peer, "exports");
}

/* A run against a server configured with yaml ends ERROR; its message into msg. */
static void failing_run(const char *yaml, char *msg, size_t cap)
{
    long long id;
    json_t *t;

    start_server(yaml);
    id = create(9001, "csv");
    t = run(id, "ERROR", 300);
    snprintf(msg, cap, "%s", last_msg(t));
    cr_assert(json_is_null(json_object_get(t, "result")) || json_object_get(t, "result") == NULL,
              "a failed upload became a result");
    json_decref(t);
}

Test(s3_results_bad, wrong_credentials_name_the_store_error_and_are_never_logged, .init = peer_only,
     .fini = teardown, .timeout = 300)
{
    char yaml[1024], msg[1024], log[300];

    s3_yaml(yaml, sizeof(yaml), peer.endpoint, "exports", "AKIDWRONG",
            "never-log-this-secret-7f3a");
    snprintf(log, sizeof(log), "/tmp/tw-s3-log-%d", (int)getpid());
    log_to(log);
    failing_run(yaml, msg, sizeof(msg));
    cr_assert_not_null(strstr(msg, "InvalidAccessKeyId"), "%s", msg);
    cr_assert_null(strstr(msg, "never-log-this-secret"), "%s", msg);
    cr_assert(file_has(log, "InvalidAccessKeyId"), "the log does not say why");
    cr_assert(!file_has(log, "never-log-this-secret"), "the secret is in the log");
    unlink(log);
}

Test(s3_results_bad, unknown_bucket_is_no_such_bucket, .init = peer_only, .fini = teardown,
     .timeout = 300)
{
    char yaml[1024], msg[1024];

    s3_yaml(yaml, sizeof(yaml), peer.endpoint, "no-such-bucket", AKID, SECRET);
    failing_run(yaml, msg, sizeof(msg));
    cr_assert_not_null(strstr(msg, "NoSuchBucket"), "%s", msg);
}

Test(s3_results_bad, unreachable_endpoint_is_a_clear_error, .init = peer_only, .fini = teardown,
     .timeout = 300)
{
    char yaml[1024], msg[1024];

    tw_s3peer_stop(&peer, 1); /* nothing listens on its port now */
    s3_yaml(yaml, sizeof(yaml), peer.endpoint, "exports", AKID, SECRET);
    failing_run(yaml, msg, sizeof(msg));
    cr_assert_not_null(strstr(msg, peer.endpoint), "%s", msg);
    cr_assert_not_null(strstr(msg, "onnect"), "%s", msg); /* libcurl: Couldn't connect ... */
}

Test(s3_results_bad, credentials_come_from_the_environment, .init = peer_only, .fini = teardown,
     .timeout = 300)
{
    char yaml[1024];
    struct dl d;
    json_t *t;
    long long id;

    s3_yaml(yaml, sizeof(yaml), peer.endpoint, "exports", "", "");
    setenv("AWS_ACCESS_KEY_ID", AKID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    start_server(yaml);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    id = create(9001, "json");
    t = run(id, "DONE", 120);
    json_decref(t);
    check_download(id, &d);
}

static void check_config_says(const char *yaml, const char *want)
{
    char path[300], cmd[700], text[2048];
    FILE *f, *p;
    size_t n;
    int status;

    snprintf(path, sizeof(path), "/tmp/tw-s3-cfg-%d.yaml", (int)getpid());
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(yaml, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd),
             "env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY '%s' check-config -c '%s' 2>&1",
             TW_BINARY, path);
    p = popen(cmd, "r");
    cr_assert_not_null(p);
    n = fread(text, 1, sizeof(text) - 1, p);
    text[n] = '\0';
    status = pclose(p);
    unlink(path);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2, "exit %d: %s", status, text);
    cr_assert_not_null(strstr(text, want), "want \"%s\" in: %s", want, text);
}

Test(s3_config, bad_values_are_refused_by_check_config)
{
    check_config_says("results:\n  storage: s3\n  s3: {region: us-east-1, bucket: exports}\n",
                      ":2:12: results.s3.endpoint: must be set when results.storage is s3");
    check_config_says("results:\n  s3: {part_size: 4096}\n",
                      "results.s3.part_size: must be an integer between 5242880");
    check_config_says("results:\n  s3: {endpoint: 'ftp://x'}\n",
                      "results.s3.endpoint: must be http://host[:port]");
    check_config_says("results:\n  storage: s3\n  s3: {endpoint: 'http://127.0.0.1:9', region: "
                      "us-east-1, bucket: exports}\n",
                      "no credentials: set results.s3.access_key_id");
}
