/*
 * Result downloads (SPEC §7.4): GET /tasks/{id}/download_url mints a URL
 *   {public_url}/downloads/{chain}/{id}/{file}?expires=<unix>&sig=<hex>
 * with sig = HMAC-SHA256(server key, "GET\n" + path + "\n" + expires). The download endpoint
 * needs no other credentials. HEAD is accepted with the same signature as GET (it is the same
 * resource; signing the method keeps a URL from being replayed as anything that changes state).
 * Files are streamed with evbuffer_add_file (sendfile), never read into memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/mem.h"

static void sign(const unsigned char *key, const char *path, int64_t expires, char hex[65])
{
    char msg[1024];
    unsigned char mac[32];
    int n = snprintf(msg, sizeof(msg), "GET\n%s\n%" PRId64, path, expires);

    tw_hmac_sha256(key, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1, mac);
    tw_hex(mac, sizeof(mac), hex);
}

void tw_api_task_download_url(struct tw_req *r)
{
    const struct tw_config *cfg = r->api->d.cfg;
    int64_t expires = tw_clock_wall_s() + cfg->results_url_ttl_s;
    char path[512], sig[65], url[2048];
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
    } else {
        snprintf(path, sizeof(path), "/downloads/%" PRId64 "/%" PRId64 "/%s", t.chain, t.id, t.result);
        sign(r->api->d.key, path, expires, sig);
        snprintf(url, sizeof(url), "%s%s?expires=%" PRId64 "&sig=%s", cfg->results_public_url,
                 path, expires, sig);
        tw_reply_json(r, 200, json_pack("{s:s, s:o, s:I, s:s}", "url", url,
                                        "expires", tw_time_json(expires),
                                        "size", (json_int_t)t.result_size,
                                        "sha256", t.result_sha256 ? t.result_sha256 : ""));
    }
    tw_task_fini(&t);
}

static const char *content_type(const char *file)
{
    static const struct { const char *ext, *type; } types[] = {
        { ".csv.gz", "application/gzip" }, { ".json.gz", "application/gzip" },
        { ".gz", "application/gzip" },     { ".csv", "text/csv; charset=utf-8" },
        { ".json", "application/json" },   { ".ndjson", "application/x-ndjson" },
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
            return 0;                   /* not a valid suffix range: ignore the header */
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

static bool check_signature(struct tw_req *r, const char *path)
{
    const char *exp_s = evhttp_find_header(&r->query, "expires");
    const char *sig = evhttp_find_header(&r->query, "sig");
    char want[65];
    char *end;
    long long expires;

    if (exp_s == NULL || sig == NULL || strlen(sig) != 64) {
        tw_reply_error(r, 403, "invalid_signature", NULL, "the download URL is incomplete or altered");
        return false;
    }
    /* Digits only: "+N" or " N" would verify against the signature of N. */
    end = (char *)exp_s;
    expires = exp_s[0] >= '0' && exp_s[0] <= '9' ? strtoll(exp_s, &end, 10) : -1;
    sign(r->api->d.key, path, *end == '\0' ? expires : -1, want);
    if (*end != '\0' || expires < 0 || !tw_ct_equal(want, sig, 64)) {
        tw_reply_error(r, 403, "invalid_signature", NULL, "the download URL is incomplete or altered");
        return false;
    }
    if (tw_clock_wall_s() > expires) {
        tw_reply_error(r, 403, "url_expired", NULL, "the download URL expired; ask download_url for a new one");
        return false;
    }
    return true;
}

void tw_api_download(struct tw_req *r)
{
    const char *file = r->params[2];
    char fspath[4096], disp[512], num[64];
    int64_t start = 0, end = 0;
    struct stat st;
    int fd, range;

    if (!check_signature(r, r->path))
        return;
    if (strchr(file, '/') != NULL || file[0] == '.') {
        tw_reply_error(r, 403, "invalid_signature", NULL, "bad file name");
        return;
    }
    snprintf(fspath, sizeof(fspath), "%s/%s/%s/%s", r->api->d.cfg->results_dir, r->params[0],
             r->params[1], file);
    fd = open(fspath, O_RDONLY | O_CLOEXEC);
    if (fd == -1 || fstat(fd, &st) != 0) {
        if (fd != -1)
            close(fd);
        tw_reply_error(r, 404, "not_found", NULL, "this result is no longer available");
        return;
    }
    range = parse_range(tw_req_header(r, "Range"), st.st_size, &start, &end);
    if (range == -2) {
        close(fd);
        tw_reply_error(r, 400, "validation_failed", "Range", "Range must be bytes=FIRST-LAST, "
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
        snprintf(num, sizeof(num), "bytes %" PRId64 "-%" PRId64 "/%lld", start, end, (long long)st.st_size);
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

    if (tw_store_ping(r->api->d.store, &err) != TW_OK) {
        tw_reply_error(r, 503, "unavailable", NULL, "%s", err.msg);
        return;
    }
    tw_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}
