/*
 * Result downloads (docs/reference.md §7.4): GET /tasks/{id}/download_url mints a URL
 *   {public_url}/downloads/{chain}/{id}/{file}?expires=<unix>&sha256=<hex>&sig=<hex>
 * with sig = HMAC-SHA256(server key, "GET\n" + path + "\n" + expires + "\n" + sha256). The
 * download endpoint needs no other credentials. HEAD is accepted with the same signature as GET
 * (it is the same resource; signing the method keeps a URL from being replayed as anything
 * that changes state). Files are streamed with evbuffer_add_file (sendfile), never read into
 * memory.
 *
 * A URL names one result, not a file name: every run of a task publishes under the same
 * name, so a client resuming a download (curl -C -, wget -c) after the task ran again would
 * otherwise get the tail of another file spliced onto its head. The signed sha256 must be the
 * task's current result and the file opened must be the very inode its run published
 * (tasks.result_ino); otherwise 410 result_replaced, never other bytes. Downloads carry
 * ETag (the SHA-256), Last-Modified (publication time) and Cache-Control: private, no-store;
 * If-Range with another validator gets the whole file with 200 (RFC 9110 §13.1.5).
 *
 * The file is opened component by component from the results directory with openat and
 * O_NOFOLLOW, so a symbolic link anywhere under results.dir is never followed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/mem.h"
#include "results/results.h"

static void sign(const unsigned char *key, const char *path, int64_t expires, const char *sha256,
                 char hex[65])
{
    char msg[1200];
    unsigned char mac[32];
    int n = snprintf(msg, sizeof(msg), "GET\n%s\n%" PRId64 "\n%s", path, expires, sha256);

    tw_hmac_sha256(key, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1, mac);
    tw_hex(mac, sizeof(mac), hex);
}

/*
 * results.storage s3 (reference §11): a SigV4 pre-signed GET of the result's object, valid
 * url_ttl seconds; fetching it (Range and HEAD included) is the store's business. Pre-signing
 * is local computation: no request to the store.
 */
static bool presign_s3(struct tw_req *r, const struct tw_task *t, int64_t now, char *url,
                       size_t cap)
{
    const struct tw_config *cfg = r->api->d.cfg;
    struct tw_s3_conf c;
    struct tw_err err;
    char key[4352];

    if (tw_results_s3_conf(cfg, &c, &err) != TW_OK ||
        tw_results_key(t->chain, t->id, t->result, key, sizeof(key), &err) != TW_OK ||
        tw_s3_presign_get(&c, key, (long)cfg->results_url_ttl_s, (time_t)now, url, cap, &err) !=
            TW_OK) {
        tw_reply_error(r, 500, "internal_error", NULL, "cannot pre-sign the result's URL: %s",
                       err.msg);
        return false;
    }
    return true;
}

void tw_api_task_download_url(struct tw_req *r)
{
    const struct tw_config *cfg = r->api->d.cfg;
    int64_t now = tw_clock_wall_s();
    int64_t expires = now + cfg->results_url_ttl_s;
    char path[512], sig[65], url[8192];
    struct tw_task t;

    if (!tw_api_load_task(r, TW_LEVEL_READ, &t))
        return;
    if (t.result == NULL || t.result_path == NULL) {
        tw_reply_error(r, 409, "task_not_done", NULL,
                       "task %" PRId64 " has no result yet (state %s)", t.id,
                       tw_task_state_name(t.state));
    } else if (t.result_expired) {
        tw_reply_error(r, 409, "result_expired", NULL,
                       "the result %s was removed after %u days of retention; run the task again",
                       t.result, cfg->results_retention_days);
    } else if (tw_results_on_s3(cfg)) {
        if (presign_s3(r, &t, now, url, sizeof(url)))
            tw_reply_json(r, 200,
                          json_pack("{s:s, s:o, s:I, s:s}", "url", url, "expires",
                                    tw_time_json(expires), "size", (json_int_t)t.result_size,
                                    "sha256", t.result_sha256 ? t.result_sha256 : ""));
    } else {
        snprintf(path, sizeof(path), "/downloads/%" PRId64 "/%" PRId64 "/%s", t.chain, t.id,
                 t.result);
        sign(r->api->d.key, path, expires, t.result_sha256 ? t.result_sha256 : "", sig);
        snprintf(url, sizeof(url), "%s%s?expires=%" PRId64 "&sha256=%s&sig=%s",
                 cfg->results_public_url, path, expires, t.result_sha256 ? t.result_sha256 : "",
                 sig);
        tw_reply_json(r, 200,
                      json_pack("{s:s, s:o, s:I, s:s}", "url", url, "expires",
                                tw_time_json(expires), "size", (json_int_t)t.result_size, "sha256",
                                t.result_sha256 ? t.result_sha256 : ""));
    }
    tw_task_fini(&t);
}

static const char *content_type(const char *file)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        { ".csv.gz", "application/gzip" },
        { ".json.gz", "application/gzip" },
        { ".gz", "application/gzip" },
        { ".csv", "text/csv; charset=utf-8" },
        { ".json", "application/json" },
        { ".ndjson", "application/x-ndjson" },
        { ".tsv", "text/tab-separated-values; charset=utf-8" },
    };
    size_t len = strlen(file);
    size_t i;

    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t el = strlen(types[i].ext);

        if (len > el && strcmp(file + len - el, types[i].ext) == 0)
            return types[i].type;
    }
    return "application/octet-stream";
}

/*
 * Parse a single "bytes=" range against size into [*start, *end]. Returns 1 for a valid range,
 * 0 when the header should be ignored (absent, multiple ranges, other units), -1 when
 * unsatisfiable (416), -2 when malformed (400: "bytes=+5-+6" is no range a client meant).
 */
static int parse_range(const char *h, int64_t size, int64_t *start, int64_t *end)
{
    char *e;
    long long a, b;

    if (h == NULL || strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
        return 0;
    h += 6;
    /* Digits only: strtoll would also take "+5", " 5" or "-5" where the grammar has none. */
    if (strspn(h, "0123456789-") != strlen(h))
        return -2;
    if (*h == '-') {
        b = strtoll(h + 1, &e, 10);
        if (*e != '\0' || e == h + 1 || b < 0)
            return 0; /* not a valid suffix range: ignore the header */
        /* "bytes=-0" is well-formed but selects nothing: unsatisfiable (RFC 9110 14.1.1) */
        if (b == 0 || size == 0)
            return -1;
        *start = b >= size ? 0 : size - b;
        *end = size - 1;
        return 1;
    }
    a = strtoll(h, &e, 10);
    if (e == h || *e != '-' || a < 0)
        return -2;
    h = e + 1;
    b = *h ? strtoll(h, &e, 10) : size - 1;
    if (*h && (*e != '\0' || b < a))
        return -2;
    if (a >= size)
        return -1;
    *start = a;
    *end = b >= size ? size - 1 : b;
    return 1;
}

static bool all_digits(const char *s, size_t max)
{
    size_t n = strlen(s);
    size_t i;

    if (n == 0 || n > max)
        return false;
    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool all_hex(const char *s, size_t len)
{
    size_t i;

    if (strlen(s) != len)
        return false;
    for (i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* Signature and expiry; *sha256 gets the result the URL was made for (a query value). */
static bool check_signature(struct tw_req *r, const char *path, const char **sha256)
{
    const char *exp_s = evhttp_find_header(&r->query, "expires");
    const char *sha = evhttp_find_header(&r->query, "sha256");
    const char *sig = evhttp_find_header(&r->query, "sig");
    char want[65];
    long long expires;

    /* only plain digits: "+5", " 5" or "5x" are altered URLs, not other spellings of 5 */
    if (exp_s == NULL || sig == NULL || sha == NULL || strlen(sig) != 64 ||
        !all_digits(exp_s, 18) || !all_hex(sha, 64)) {
        tw_reply_error(r, 403, "invalid_signature", NULL,
                       "the download URL is incomplete or altered");
        return false;
    }
    expires = strtoll(exp_s, NULL, 10);
    sign(r->api->d.key, path, expires, sha, want);
    if (!tw_ct_equal(want, sig, 64)) {
        tw_reply_error(r, 403, "invalid_signature", NULL,
                       "the download URL is incomplete or altered");
        return false;
    }
    if (tw_clock_wall_s() > expires) {
        tw_reply_error(r, 403, "url_expired", NULL,
                       "the download URL expired; ask download_url for a new one");
        return false;
    }
    *sha256 = sha;
    return true;
}

/*
 * Open results_dir/chain/id/file without following a symbolic link at any of the three
 * levels below results_dir (the operator's results_dir itself may be a link). -1 with errno.
 */
static int open_result(const char *results_dir, int64_t chain, int64_t id, const char *file)
{
    char part[32];
    int dfd, sub, fd;

    dfd = open(results_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd == -1)
        return -1;
    snprintf(part, sizeof(part), "%" PRId64, chain);
    sub = openat(dfd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(dfd);
    if (sub == -1)
        return -1;
    snprintf(part, sizeof(part), "%" PRId64, id);
    dfd = openat(sub, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(sub);
    if (dfd == -1)
        return -1;
    fd = openat(dfd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    close(dfd);
    return fd;
}

/*
 * The task's current result, if it is the one the URL names; replies and returns false
 * otherwise. t is filled either way (caller finis).
 */
static bool current_result(struct tw_req *r, const char *sha, struct tw_task *t)
{
    struct tw_err err;
    char *end;
    long long chain = strtoll(r->params[0], &end, 10);
    long long id = strtoll(r->params[1], NULL, 10);
    int rc;

    memset(t, 0, sizeof(*t));
    rc = tw_store_task_get(r->api->d.store, id, t, &err);
    if (rc != TW_OK && rc != TW_ENOTFOUND) {
        tw_reply_err(r, &err);
        return false;
    }
    if (rc == TW_ENOTFOUND || t->chain != chain || t->result == NULL ||
        strcmp(t->result, r->params[2]) != 0) {
        tw_reply_error(r, 404, "not_found", NULL, "this result is no longer available");
        return false;
    }
    if (t->result_sha256 == NULL || strcmp(t->result_sha256, sha) != 0) {
        tw_reply_error(r, 410, "result_replaced", NULL,
                       "task %" PRId64 " has published a newer result since this URL was made; "
                       "ask download_url for a new one and download the whole file again",
                       t->id);
        return false;
    }
    if (t->result_expired) {
        tw_reply_error(r, 409, "result_expired", NULL,
                       "the result %s was removed after %u days of retention; run the task again",
                       t->result, r->api->d.cfg->results_retention_days);
        return false;
    }
    return true;
}

/* RFC 9110 date (IMF-fixdate) of t. */
static void http_date(int64_t t, char *out, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(out, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/*
 * If-Range (RFC 9110 §13.1.5): the Range applies only when the validator is this
 * representation's: the strong ETag exactly, or exactly its Last-Modified date.
 */
static bool if_range_holds(struct tw_req *r, const char *etag, const char *last_modified)
{
    const char *v = tw_req_header(r, "If-Range");

    if (v == NULL)
        return true;
    if (v[0] == '"' || strncmp(v, "W/", 2) == 0)
        return strcmp(v, etag) == 0; /* a weak tag never matches: W/ fails here */
    return strcmp(v, last_modified) == 0;
}

void tw_api_download(struct tw_req *r)
{
    const char *file = r->params[2];
    const char *sha = NULL;
    char disp[512], num[64], etag[72], modified[64];
    int64_t start = 0, end = 0;
    struct tw_task t;
    struct stat st;
    int fd, range;

    if (!check_signature(r, r->path, &sha))
        return;
    if (strchr(file, '/') != NULL || file[0] == '.') {
        tw_reply_error(r, 403, "invalid_signature", NULL, "bad file name");
        return;
    }
    if (!current_result(r, sha, &t)) {
        tw_task_fini(&t);
        return;
    }
    fd = open_result(r->api->d.cfg->results_dir, t.chain, t.id, file);
    if (fd == -1 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd != -1)
            close(fd);
        tw_reply_error(r, 404, "not_found", NULL, "this result is no longer available");
        tw_task_fini(&t);
        return;
    }
    /* a run renamed a new file over the name and has not been recorded yet */
    if ((t.result_ino != 0 && (int64_t)st.st_ino != t.result_ino) || st.st_size != t.result_size) {
        close(fd);
        tw_reply_error(r, 410, "result_replaced", NULL,
                       "task %" PRId64 " is publishing a newer result; ask download_url for a "
                       "new URL and download the whole file again",
                       t.id);
        tw_task_fini(&t);
        return;
    }
    snprintf(etag, sizeof(etag), "\"%s\"", sha);
    http_date(t.result_time, modified, sizeof(modified));
    tw_task_fini(&t);
    range = 0;
    if (if_range_holds(r, etag, modified))
        range = parse_range(tw_req_header(r, "Range"), st.st_size, &start, &end);
    tw_add_header(r, "ETag", etag);
    tw_add_header(r, "Last-Modified", modified);
    tw_add_header(r, "Cache-Control", "private, no-store");
    if (range == -2) {
        close(fd);
        tw_reply_error(r, 400, "validation_failed", "Range",
                       "Range must be bytes=FIRST-LAST, "
                       "bytes=FIRST- or bytes=-SUFFIX with decimal digits (got %.60s)",
                       tw_req_header(r, "Range"));
        return;
    }
    if (range < 0) {
        close(fd);
        snprintf(num, sizeof(num), "bytes */%lld", (long long)st.st_size);
        tw_add_header(r, "Content-Range", num);
        tw_reply_error(r, 416, "validation_failed", "Range", "range not satisfiable for %lld bytes",
                       (long long)st.st_size);
        return;
    }
    snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", file);
    tw_add_header(r, "Content-Disposition", disp);
    tw_add_header(r, "Content-Type", content_type(file));
    tw_add_header(r, "Accept-Ranges", "bytes");
    if (range == 0) {
        start = 0;
        end = st.st_size - 1;
    } else {
        snprintf(num, sizeof(num), "bytes %" PRId64 "-%" PRId64 "/%lld", start, end,
                 (long long)st.st_size);
        tw_add_header(r, "Content-Range", num);
    }
    snprintf(num, sizeof(num), "%" PRId64, end - start + 1);
    tw_add_header(r, "Content-Length", num);
    if (r->method == EVHTTP_REQ_HEAD || end < start) {
        close(fd);
    } else if (evbuffer_add_file(evhttp_request_get_output_buffer(r->ev), fd, start,
                                 end - start + 1) != 0) {
        close(fd);
        tw_reply_error(r, 500, "internal_error", NULL, "cannot stream the result file");
        return;
    }
    tw_reply_send(r, range == 1 ? 206 : 200);
}

void tw_api_healthz(struct tw_req *r)
{
    struct tw_err err;

    /* reachable is not enough: a store that cannot commit makes every write a 503 */
    if (tw_store_health(r->api->d.store, &err) != TW_OK) {
        tw_reply_error(r, 503, "unavailable", NULL, "%s", err.msg);
        return;
    }
    tw_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}
