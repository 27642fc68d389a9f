/* S3 client (see s3.h): SigV4-signed requests over libcurl easy handles, with retries. */
#include "results/s3.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/mem.h"
#include "core/sigv4.h"

#define ANSWER_MAX (256 * 1024) /* S3's answers here are small XML documents */
#define MAX_PARTS 10000         /* S3's limit on parts per upload */
#define BACKOFF_CAP_MS 8000

/* ---------------------------------------------------------------- addressing */

/* Where a key lives: "http://127.0.0.1:4568" + "/bucket/key", and the Host header value. */
struct where {
    char scheme_host[512];
    char host[512];
    char *path; /* owned */
};

static int locate(const struct tw_s3_conf *c, const char *key, struct where *w, struct tw_err *err)
{
    const char *ep = c->endpoint != NULL ? c->endpoint : "";
    const char *sep = strstr(ep, "://");
    const char *hostport;
    size_t plen, n;
    int k;

    if (sep == NULL || sep[3] == '\0' || c->bucket == NULL || c->bucket[0] == '\0')
        return tw_err_set(err, TW_EINVAL,
                          "s3: results.s3.endpoint must be http(s)://host[:port] "
                          "and results.s3.bucket must be set");
    hostport = sep + 3;
    n = strcspn(hostport, "/");
    plen = strlen(c->prefix != NULL ? c->prefix : "") + strlen(key != NULL ? key : "") +
           strlen(c->bucket) + 3;
    w->path = tw_malloc(plen);
    if (w->path == NULL)
        return tw_err_set(err, TW_ENOMEM, "s3: out of memory");
    if (c->path_style) {
        k = snprintf(w->scheme_host, sizeof(w->scheme_host), "%.*s", (int)(sep + 3 - ep + n), ep);
        if (k >= 0 && (size_t)k < sizeof(w->scheme_host))
            k = snprintf(w->host, sizeof(w->host), "%.*s", (int)n, hostport);
        if (key == NULL) /* the bucket itself */
            snprintf(w->path, plen, "/%s/", c->bucket);
        else
            snprintf(w->path, plen, "/%s/%s%s", c->bucket, c->prefix != NULL ? c->prefix : "", key);
    } else {
        k = snprintf(w->scheme_host, sizeof(w->scheme_host), "%.*s%s.%.*s", (int)(sep + 3 - ep), ep,
                     c->bucket, (int)n, hostport);
        if (k >= 0 && (size_t)k < sizeof(w->scheme_host))
            k = snprintf(w->host, sizeof(w->host), "%s.%.*s", c->bucket, (int)n, hostport);
        if (key == NULL)
            snprintf(w->path, plen, "/");
        else
            snprintf(w->path, plen, "/%s%s", c->prefix != NULL ? c->prefix : "", key);
    }
    if (k < 0 || (size_t)k >= sizeof(w->host)) {
        tw_free(w->path);
        w->path = NULL;
        return tw_err_set(err, TW_EINVAL, "s3: endpoint or bucket name too long");
    }
    return TW_OK;
}

static struct tw_sigv4_creds creds_of(const struct tw_s3_conf *c)
{
    return (struct tw_sigv4_creds){ c->access_key_id, c->secret_access_key, c->session_token,
                                    c->region, "s3" };
}

int tw_s3_presign_get(const struct tw_s3_conf *c, const char *key, long expires, time_t now,
                      char *out, size_t cap, struct tw_err *err)
{
    /* What the AWS SDK for JavaScript v3 adds to a GetObject URL; S3 accepts them all. */
    const struct tw_sigv4_pair query[] = {
        { "X-Amz-Content-Sha256", TW_SIGV4_UNSIGNED },
        { "x-amz-checksum-mode", "ENABLED" },
        { "x-id", "GetObject" },
    };
    struct tw_sigv4_creds cr = creds_of(c);
    struct where w;
    int rc = locate(c, key, &w, err);

    if (rc != TW_OK)
        return rc;
    {
        const struct tw_sigv4_pair host = { "host", w.host };
        struct tw_sigv4_request req = { "GET", w.path, query, 3, &host, 1, TW_SIGV4_UNSIGNED };

        rc = tw_sigv4_presign(&cr, &req, w.scheme_host, expires, now, out, cap, err);
    }
    tw_free(w.path);
    return rc;
}

/* ---------------------------------------------------------------- one request */

struct body {
    const char *data;
    size_t len, off;
};

struct answer {
    long status;
    struct tw_buf text; /* response body, bounded */
    char etag[160];     /* the ETag header, quotes kept */
};

static size_t on_read(char *dst, size_t size, size_t n, void *arg)
{
    struct body *b = arg;
    size_t want = size * n, left = b->len - b->off;

    if (want > left)
        want = left;
    memcpy(dst, b->data + b->off, want);
    b->off += want;
    return want;
}

static size_t on_write(char *src, size_t size, size_t n, void *arg)
{
    struct answer *a = arg;

    /* Past the bound the rest is dropped, not an error: only the start holds Code/Message. */
    (void)tw_buf_append(&a->text, src, size * n);
    return size * n;
}

static size_t on_header(char *src, size_t size, size_t n, void *arg)
{
    struct answer *a = arg;
    size_t len = size * n;

    if (len > 5 && strncasecmp(src, "etag:", 5) == 0) {
        const char *v = src + 5;
        size_t vl;

        while (*v == ' ')
            v++;
        vl = len - (size_t)(v - src);
        while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        if (vl < sizeof(a->etag)) {
            memcpy(a->etag, v, vl);
            a->etag[vl] = '\0';
        }
    }
    return len;
}

/*
 * The text of the first <name>...</name> element in xml, with the five predefined entities
 * decoded, into out. S3's answers are small and flat; these three elements (Code, Message,
 * UploadId) are all the client reads, which does not warrant an XML library.
 */
static int xml_text(const char *xml, const char *name, char *out, size_t cap)
{
    static const struct {
        const char *ent;
        char c;
    } ents[] = {
        { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&apos;", '\'' },
    };
    char open[64], close[64];
    const char *s, *e;
    size_t o = 0;

    snprintf(open, sizeof(open), "<%s>", name);
    snprintf(close, sizeof(close), "</%s>", name);
    if (xml == NULL || (s = strstr(xml, open)) == NULL)
        return 0;
    s += strlen(open);
    if ((e = strstr(s, close)) == NULL)
        return 0;
    while (s < e && o + 1 < cap) {
        size_t i, used = 0;

        for (i = 0; *s == '&' && i < sizeof(ents) / sizeof(ents[0]); i++) {
            size_t el = strlen(ents[i].ent);

            if ((size_t)(e - s) >= el && strncmp(s, ents[i].ent, el) == 0) {
                out[o++] = ents[i].c;
                used = el;
                break;
            }
        }
        if (used == 0)
            out[o++] = *s, used = 1;
        s += used;
    }
    out[o] = '\0';
    return 1;
}

/* err from a non-2xx answer: "S3 PUT key: 403 SignatureDoesNotMatch: <message>". */
static int answer_error(const struct answer *a, const char *what, struct tw_err *err)
{
    char code[128] = "", msg[384] = "";

    xml_text(a->text.data, "Code", code, sizeof(code));
    xml_text(a->text.data, "Message", msg, sizeof(msg));
    if (code[0] == '\0')
        snprintf(code, sizeof(code), "HTTP %ld", a->status);
    return tw_err_set(err, a->status == 404 || a->status == 403 ? TW_EPERM : TW_EIO,
                      "S3 %s: %ld %s%s%s", what, a->status, code, msg[0] ? ": " : "", msg);
}

struct call {
    const struct tw_s3_conf *conf;
    const char *method;
    const char *key;
    const struct tw_sigv4_pair *query;
    size_t n_query;
    const char *body;
    size_t body_len;
    const char *what;               /* "PUT taskwheel/1764/7/x.csv", for messages */
    const tw_s3_deadline *deadline; /* NULL: none (s3.h) */
};

static bool deadline_passed(const tw_s3_deadline *d)
{
    return d != NULL && tw_clock_wall_ms() >= atomic_load(d);
}

/* libcurl's progress callback: a non-zero answer abandons the transfer. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return deadline_passed(arg) ? 1 : 0;
}

static int deadline_error(const struct call *c, struct tw_err *err)
{
    return tw_err_set(err, TW_ECONFLICT,
                      "S3 %s: not done: its deadline passed (the run's lease ends; "
                      "docs/storage.md)",
                      c->what);
}

static int append_query(struct tw_buf *url, const struct tw_sigv4_pair *q, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char k[256], v[1024];

        if (tw_sigv4_encode(q[i].name, 0, k, sizeof(k)) < 0 ||
            tw_sigv4_encode(q[i].value, 0, v, sizeof(v)) < 0)
            return TW_EINVAL;
        if (tw_buf_printf(url, "%c%s=%s", i == 0 ? '?' : '&', k, v) != TW_OK)
            return TW_ELIMIT;
    }
    return TW_OK;
}

/* One attempt. TW_OK with a->status set, or TW_EIO for a transport failure (retryable). */
static int attempt(const struct call *c, const struct where *w, struct answer *a,
                   struct tw_err *err)
{
    struct tw_sigv4_creds cr = creds_of(c->conf);
    char date[17], payload[65], auth[1024], line[1200];
    struct curl_slist *hdrs = NULL;
    struct body body = { c->body != NULL ? c->body : "", c->body_len, 0 };
    struct tw_buf url;
    struct tw_sigv4_pair h[4];
    size_t nh = 0;
    time_t now = time(NULL);
    CURL *curl;
    CURLcode cc;
    int rc;

    tw_sigv4_amz_date(now, date);
    tw_sha256_hex(body.data, body.len, payload);
    h[nh++] = (struct tw_sigv4_pair){ "host", w->host };
    h[nh++] = (struct tw_sigv4_pair){ "x-amz-content-sha256", payload };
    h[nh++] = (struct tw_sigv4_pair){ "x-amz-date", date };
    if (c->conf->session_token != NULL && c->conf->session_token[0] != '\0')
        h[nh++] = (struct tw_sigv4_pair){ "x-amz-security-token", c->conf->session_token };
    {
        struct tw_sigv4_request req = { c->method, w->path, c->query, c->n_query, h, nh, payload };

        rc = tw_sigv4_authorization(&cr, &req, now, auth, sizeof(auth), err);
        if (rc != TW_OK)
            return rc;
    }

    tw_buf_init(&url, 16 * 1024);
    rc = tw_buf_puts(&url, w->scheme_host);
    if (rc == TW_OK) {
        char *enc = tw_malloc(strlen(w->path) * 3 + 1);

        rc = enc == NULL ? TW_ENOMEM : TW_OK;
        if (rc == TW_OK && tw_sigv4_encode(w->path, 1, enc, strlen(w->path) * 3 + 1) < 0)
            rc = TW_EINVAL;
        if (rc == TW_OK)
            rc = tw_buf_puts(&url, enc);
        tw_free(enc);
    }
    if (rc == TW_OK)
        rc = append_query(&url, c->query, c->n_query);
    if (rc != TW_OK) {
        tw_buf_fini(&url);
        return tw_err_set(err, TW_EINVAL, "S3 %s: the request URL is too long", c->what);
    }

    curl = curl_easy_init();
    if (curl == NULL) {
        tw_buf_fini(&url);
        return tw_err_set(err, TW_ENOMEM, "S3 %s: cannot create a libcurl handle", c->what);
    }
    for (size_t i = 0; i < nh; i++) {
        snprintf(line, sizeof(line), "%s: %s", i == 0 ? "Host" : h[i].name, h[i].value);
        hdrs = curl_slist_append(hdrs, line);
    }
    snprintf(line, sizeof(line), "Authorization: %s", auth);
    hdrs = curl_slist_append(hdrs, line);
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    hdrs = curl_slist_append(hdrs, "Content-Type:");

    curl_easy_setopt(curl, CURLOPT_URL, url.data);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
                     c->conf->timeout_s > 0 ? c->conf->timeout_s : 30L);
    /* A stalled transfer, not a slow one, is what times out: a 100 MB part is legitimate. */
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                     c->conf->timeout_s > 0 ? c->conf->timeout_s : 30L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, a);
    if (strcmp(c->method, "PUT") == 0 || strcmp(c->method, "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(curl, CURLOPT_READDATA, &body);
        curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body.len);
        /* 64 KiB (the default) costs a third of the throughput against a local store */
        curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, 1024L * 1024L);
    }
    if (c->deadline != NULL) {
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, (void *)c->deadline);
    }
    if (strcmp(c->method, "PUT") != 0)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, c->method);
    if (strcmp(c->method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);

    tw_buf_reset(&a->text);
    a->etag[0] = '\0';
    a->status = 0;
    cc = curl_easy_perform(curl);
    if (cc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a->status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(curl);
    tw_buf_fini(&url);
    if (cc != CURLE_OK)
        return tw_err_set(err, TW_EIO, "S3 %s: %s (endpoint %s)", c->what, curl_easy_strerror(cc),
                          c->conf->endpoint);
    return TW_OK;
}

/*
 * Run c with retries: a transport failure or a 5xx is tried again after 1, 2, 4, ... times
 * retry_base_ms (capped); anything else is final. On TW_OK, a->status is 2xx.
 */
static int perform(const struct call *c, struct answer *a, struct tw_err *err)
{
    struct where w;
    long wait = c->conf->retry_base_ms > 0 ? c->conf->retry_base_ms : 200;
    int rc = locate(c->conf, c->key, &w, err);

    if (rc != TW_OK)
        return rc;
    for (int i = 0; i < TW_S3_TRIES; i++) {
        if (i > 0) {
            struct timespec ts = { wait / 1000, (wait % 1000) * 1000000L };

            nanosleep(&ts, NULL);
            wait = wait * 2 > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : wait * 2;
        }
        if (deadline_passed(c->deadline)) {
            rc = deadline_error(c, err);
            break;
        }
        rc = attempt(c, &w, a, err);
        if (rc == TW_EIO && deadline_passed(c->deadline)) {
            rc = deadline_error(c, err); /* abandoned by on_progress */
            break;
        }
        if (rc == TW_OK && a->status >= 200 && a->status < 300)
            break;
        if (rc == TW_OK)
            rc = answer_error(a, c->what, err);
        if (rc != TW_EIO || (a->status != 0 && a->status < 500))
            break; /* a 4xx, or a local problem: trying again would not help */
    }
    tw_free(w.path);
    return rc;
}

static void answer_init(struct answer *a)
{
    memset(a, 0, sizeof(*a));
    tw_buf_init(&a->text, ANSWER_MAX);
}

/* ---------------------------------------------------------------- uploads */

struct tw_s3_upload {
    const struct tw_s3_conf *conf;
    char *key;
    char what[600];
    char *buf; /* part_size bytes */
    size_t len;
    char upload_id[512]; /* "" until the multipart upload is created */
    char (*etags)[160];  /* etags[i] of part i+1 */
    unsigned n_parts, cap_parts;
    uint64_t bytes;
    struct tw_err err; /* sticky */
};

unsigned tw_s3_upload_parts(const struct tw_s3_upload *u)
{
    return u->n_parts;
}

int tw_s3_upload_open(const struct tw_s3_conf *c, const char *key, struct tw_s3_upload **out,
                      struct tw_err *err)
{
    struct tw_s3_upload *u;

    if (c->part_size < TW_S3_MIN_PART)
        return tw_err_set(err, TW_EINVAL, "s3: results.s3.part_size must be at least %zu bytes",
                          TW_S3_MIN_PART);
    u = tw_calloc(1, sizeof(*u));
    if (u == NULL || (u->key = tw_strdup(key)) == NULL ||
        (u->buf = tw_malloc(c->part_size)) == NULL) {
        if (u != NULL)
            tw_free(u->key);
        tw_free(u);
        return tw_err_set(err, TW_ENOMEM, "s3: out of memory for a %zu-byte part", c->part_size);
    }
    u->conf = c;
    snprintf(u->what, sizeof(u->what), "upload of %s%s", c->prefix != NULL ? c->prefix : "", key);
    tw_err_clear(&u->err);
    *out = u;
    return TW_OK;
}

static int create_multipart(struct tw_s3_upload *u)
{
    const struct tw_sigv4_pair q[] = { { "uploads", "" } };
    struct call c = { u->conf, "POST", u->key, q, 1, NULL, 0, u->what, NULL };
    struct answer a;
    int rc;

    answer_init(&a);
    rc = perform(&c, &a, &u->err);
    if (rc == TW_OK && !xml_text(a.text.data, "UploadId", u->upload_id, sizeof(u->upload_id)))
        rc = tw_err_set(&u->err, TW_EIO, "S3 %s: CreateMultipartUpload answered no UploadId",
                        u->what);
    tw_buf_fini(&a.text);
    return rc;
}

static int send_part(struct tw_s3_upload *u)
{
    char num[16];
    struct tw_sigv4_pair q[2] = { { "partNumber", num }, { "uploadId", u->upload_id } };
    struct call c = { u->conf, "PUT", u->key, q, 2, u->buf, u->len, u->what, NULL };
    struct answer a;
    int rc;

    if (u->n_parts == MAX_PARTS)
        return tw_err_set(&u->err, TW_ELIMIT,
                          "S3 %s: more than %d parts; raise "
                          "results.s3.part_size",
                          u->what, MAX_PARTS);
    if (u->n_parts == u->cap_parts) {
        unsigned ncap = u->cap_parts ? u->cap_parts * 2 : 16;
        void *p = tw_realloc(u->etags, ncap * sizeof(*u->etags));

        if (p == NULL)
            return tw_err_set(&u->err, TW_ENOMEM, "s3: out of memory");
        u->etags = p;
        u->cap_parts = ncap;
    }
    snprintf(num, sizeof(num), "%u", u->n_parts + 1);
    answer_init(&a);
    rc = perform(&c, &a, &u->err);
    if (rc == TW_OK && a.etag[0] == '\0')
        rc = tw_err_set(&u->err, TW_EIO, "S3 %s: part %s answered no ETag", u->what, num);
    if (rc == TW_OK) {
        memcpy(u->etags[u->n_parts++], a.etag, sizeof(a.etag));
        u->len = 0;
    }
    tw_buf_fini(&a.text);
    return rc;
}

int tw_s3_upload_write(struct tw_s3_upload *u, const void *data, size_t len, struct tw_err *err)
{
    const char *p = data;

    while (u->err.code == TW_OK && len > 0) {
        size_t room = u->conf->part_size - u->len, n = len < room ? len : room;

        memcpy(u->buf + u->len, p, n);
        u->len += n;
        u->bytes += n;
        p += n;
        len -= n;
        /* A full buffer is sent only when more follows, so the last part is never empty. */
        if (u->len == u->conf->part_size && len > 0) {
            if (u->upload_id[0] == '\0' && create_multipart(u) != TW_OK)
                break;
            send_part(u);
        }
    }
    if (u->err.code != TW_OK) {
        if (err != NULL)
            *err = u->err;
        return u->err.code;
    }
    return TW_OK;
}

static void upload_free(struct tw_s3_upload *u)
{
    tw_free(u->key);
    tw_free(u->buf);
    tw_free(u->etags);
    tw_free(u);
}

static void abort_multipart(struct tw_s3_upload *u)
{
    const struct tw_sigv4_pair q[] = { { "uploadId", u->upload_id } };
    struct call c = { u->conf, "DELETE", u->key, q, 1, NULL, 0, u->what, NULL };
    struct answer a;
    struct tw_err ignored;

    if (u->upload_id[0] == '\0')
        return;
    answer_init(&a);
    (void)perform(&c, &a, &ignored); /* best effort: a bucket lifecycle rule is the backstop */
    tw_buf_fini(&a.text);
}

/* The CompleteMultipartUpload body naming u's parts, into xml (initialised here). */
static int parts_body(struct tw_s3_upload *u, struct tw_buf *xml)
{
    int rc;

    tw_buf_init(xml, (size_t)MAX_PARTS * 256);
    rc = tw_buf_puts(xml, "<CompleteMultipartUpload>");
    for (unsigned i = 0; rc == TW_OK && i < u->n_parts; i++)
        rc = tw_buf_printf(xml, "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag></Part>", i + 1,
                           u->etags[i]);
    if (rc == TW_OK)
        rc = tw_buf_puts(xml, "</CompleteMultipartUpload>");
    if (rc != TW_OK) {
        tw_buf_fini(xml);
        return tw_err_set(&u->err, TW_ENOMEM, "s3: out of memory");
    }
    return TW_OK;
}

static int complete(const struct tw_s3_conf *conf, const char *key, const char *upload_id,
                    const char *body, size_t len, const char *what, const tw_s3_deadline *deadline,
                    struct tw_err *err)
{
    const struct tw_sigv4_pair q[] = { { "uploadId", upload_id } };
    struct call c = { conf, "POST", key, q, 1, body, len, what, deadline };
    struct answer a;
    int rc;

    answer_init(&a);
    rc = perform(&c, &a, err);
    /* CompleteMultipartUpload may answer 200 with an <Error> body (S3 documents this). */
    if (rc == TW_OK && a.text.data != NULL && strstr(a.text.data, "<Error>") != NULL)
        rc = answer_error(&(struct answer){ .status = 500, .text = a.text }, what, err);
    tw_buf_fini(&a.text);
    return rc;
}

static int complete_multipart(struct tw_s3_upload *u)
{
    struct tw_buf xml;
    int rc = parts_body(u, &xml);

    if (rc == TW_OK)
        rc = complete(u->conf, u->key, u->upload_id, xml.data, xml.len, u->what, NULL, &u->err);
    tw_buf_fini(&xml);
    return rc;
}

int tw_s3_upload_commit(struct tw_s3_upload *u, uint64_t *bytes, struct tw_err *err)
{
    int rc = u->err.code;

    if (rc == TW_OK && u->upload_id[0] == '\0') {
        struct call c = { u->conf, "PUT", u->key, NULL, 0, u->buf, u->len, u->what, NULL };
        struct answer a;

        answer_init(&a);
        rc = perform(&c, &a, &u->err);
        tw_buf_fini(&a.text);
    } else if (rc == TW_OK) {
        rc = send_part(u);
        if (rc == TW_OK)
            rc = complete_multipart(u);
    }
    if (rc != TW_OK) {
        if (err != NULL)
            *err = u->err;
        abort_multipart(u);
    } else if (bytes != NULL) {
        *bytes = u->bytes;
    }
    upload_free(u);
    return rc;
}

int tw_s3_upload_seal(struct tw_s3_upload *u, uint64_t *bytes, struct tw_s3_sealed *out,
                      struct tw_err *err)
{
    struct tw_buf xml;
    int rc = u->err.code;

    memset(out, 0, sizeof(*out));
    if (rc == TW_OK && u->upload_id[0] == '\0')
        rc = create_multipart(u);
    if (rc == TW_OK)
        rc = send_part(u);
    if (rc == TW_OK)
        rc = parts_body(u, &xml);
    if (rc == TW_OK) {
        /* the buffer becomes the caller's: tw_buf keeps it NUL-terminated */
        out->body = xml.data;
        out->body_len = xml.len;
        snprintf(out->upload_id, sizeof(out->upload_id), "%s", u->upload_id);
        if (bytes != NULL)
            *bytes = u->bytes;
    } else {
        if (err != NULL)
            *err = u->err;
        abort_multipart(u);
    }
    upload_free(u);
    return rc;
}

void tw_s3_sealed_fini(struct tw_s3_sealed *s)
{
    tw_free(s->body);
    s->body = NULL;
    s->body_len = 0;
}

int tw_s3_upload_complete(const struct tw_s3_conf *c, const char *key, const char *upload_id,
                          const char *body, size_t len, const tw_s3_deadline *deadline,
                          struct tw_err *err)
{
    char what[600];

    snprintf(what, sizeof(what), "completion of %s%s", c->prefix != NULL ? c->prefix : "", key);
    if (upload_id == NULL || upload_id[0] == '\0' || body == NULL || len == 0)
        return tw_err_set(err, TW_EINVAL, "S3 %s: no upload id or no parts", what);
    return complete(c, key, upload_id, body, len, what, deadline, err);
}

void tw_s3_upload_abort(struct tw_s3_upload *u)
{
    if (u == NULL)
        return;
    abort_multipart(u);
    upload_free(u);
}

int tw_s3_delete(const struct tw_s3_conf *c, const char *key, struct tw_err *err)
{
    char what[600];
    struct call call = { c, "DELETE", key, NULL, 0, NULL, 0, what, NULL };
    struct answer a;
    int rc;

    snprintf(what, sizeof(what), "delete of %s%s", c->prefix != NULL ? c->prefix : "", key);
    answer_init(&a);
    rc = perform(&call, &a, err);
    if (rc != TW_OK && a.status == 404)
        rc = TW_OK;
    tw_buf_fini(&a.text);
    return rc;
}

const char *tw_s3_upload_id(const struct tw_s3_upload *u)
{
    return u->upload_id;
}

int tw_s3_abort_upload(const struct tw_s3_conf *c, const char *key, const char *upload_id,
                       struct tw_err *err)
{
    const struct tw_sigv4_pair q[] = { { "uploadId", upload_id } };
    char what[600];
    struct call call = { c, "DELETE", key, q, 1, NULL, 0, what, NULL };
    struct answer a;
    int rc;

    snprintf(what, sizeof(what), "abort of an upload of %s%s", c->prefix != NULL ? c->prefix : "",
             key);
    answer_init(&a);
    rc = perform(&call, &a, err);
    if (rc != TW_OK && a.status == 404)
        rc = TW_OK; /* NoSuchUpload: aborted or completed already */
    tw_buf_fini(&a.text);
    return rc;
}

int tw_s3_abort_key_uploads(const struct tw_s3_conf *c, const char *key, unsigned *aborted,
                            struct tw_err *err)
{
    char what[600], full[2048], k[2048], id[1024];
    struct tw_sigv4_pair q[2] = { { "prefix", full }, { "uploads", "" } };
    struct call call = { c, "GET", NULL, q, 2, NULL, 0, what, NULL };
    struct answer a;
    const char *p;
    int rc;

    *aborted = 0;
    snprintf(full, sizeof(full), "%s%s", c->prefix != NULL ? c->prefix : "", key);
    snprintf(what, sizeof(what), "listing of the uploads of %s", full);
    answer_init(&a);
    rc = perform(&call, &a, err);
    /* Each <Upload> of exactly this key (the prefix may match longer keys) is aborted. */
    for (p = a.text.data; rc == TW_OK && p != NULL && (p = strstr(p, "<Upload>")) != NULL; p += 8) {
        const char *end = strstr(p, "</Upload>");
        char one[4096];
        size_t len = end != NULL ? (size_t)(end - p) : 0;

        if (end == NULL || len >= sizeof(one))
            break;
        memcpy(one, p, len);
        one[len] = '\0';
        if (!xml_text(one, "Key", k, sizeof(k)) || !xml_text(one, "UploadId", id, sizeof(id)) ||
            strcmp(k, full) != 0)
            continue;
        rc = tw_s3_abort_upload(c, key, id, err);
        if (rc == TW_OK)
            (*aborted)++;
    }
    tw_buf_fini(&a.text);
    return rc;
}
