/*
 * Result downloads for the command-line client (client.h, docs/client.md): a partial file is
 * resumed with a single Range request, the whole is checked against the size and SHA-256 that
 * download_url announced, and nothing is ever deleted: a file that does not match is left for
 * the user to look at, with a message saying what differs. The one exception is a file this
 * download created itself and never wrote a byte to (the URL was refused): it is removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "client/client.h"
#include "client/client_int.h"
#include "core/mem.h"

struct dl {
    CURL *h;
    int fd;
    bool seekable;  /* a file (resumable), not standard output */
    EVP_MD_CTX *md; /* over every byte of the file, kept ones first */
    int64_t have;   /* bytes kept from before */
    int64_t fetched;
    int64_t range_start; /* start of a 206's Content-Range, -1 when none */
    bool decided;        /* the status has been looked at */
    bool error_status;   /* >= 400: the body is an error, kept in errbody */
    int werrno;          /* a failed write */
    bool bad_range;      /* a 206 that does not continue where the file stops */
    char errbody[2048];
    size_t errlen;
};

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Hash the first n bytes of fd into md (the part of the file that is kept). */
static int hash_prefix(int fd, int64_t n, EVP_MD_CTX *md, struct tw_err *err, const char *path)
{
    char buf[65536];

    if (lseek(fd, 0, SEEK_SET) < 0)
        return tw_err_set(err, TW_EIO, "%s: %s", path, strerror(errno));
    while (n > 0) {
        ssize_t r = read(fd, buf, n < (int64_t)sizeof(buf) ? (size_t)n : sizeof(buf));

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return tw_err_set(err, TW_EIO, "cannot read %s: %s", path,
                              r < 0 ? strerror(errno) : "file shrank while reading");
        EVP_DigestUpdate(md, buf, (size_t)r);
        n -= r;
    }
    return TW_OK;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct dl *d = arg;
    size_t len = size * n;
    static const char name[] = "Content-Range:";
    char line[128];
    long long start;

    if (len > sizeof(name) && len < sizeof(line) && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        memcpy(line, p, len);
        line[len] = '\0';
        if (sscanf(line + sizeof(name) - 1, " bytes %lld-", &start) == 1)
            d->range_start = start;
    }
    return len;
}

/* Called on the first body bytes: what the status means for the file. */
static bool decide(struct dl *d)
{
    long status = 0;

    d->decided = true;
    curl_easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 400 || (status != 200 && status != 206)) {
        d->error_status = true;
        return true;
    }
    if (status == 206 && d->range_start != d->have) {
        d->bad_range = true;
        return false;
    }
    if (status == 200 && d->have > 0) {
        /* The server sent the whole file (it ignored the Range): start the file over. */
        if (ftruncate(d->fd, 0) != 0 || lseek(d->fd, 0, SEEK_SET) < 0) {
            d->werrno = errno;
            return false;
        }
        EVP_DigestInit_ex(d->md, EVP_sha256(), NULL);
        d->have = 0;
    }
    return true;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct dl *d = arg;
    size_t len = size * n;

    if (!d->decided && !decide(d))
        return 0;
    if (d->error_status) {
        size_t k = len;

        if (k > sizeof(d->errbody) - 1 - d->errlen)
            k = sizeof(d->errbody) - 1 - d->errlen;
        memcpy(d->errbody + d->errlen, p, k);
        d->errlen += k;
        d->errbody[d->errlen] = '\0';
        return len;
    }
    if (!write_all(d->fd, p, len)) {
        d->werrno = errno ? errno : EIO;
        return 0;
    }
    EVP_DigestUpdate(d->md, p, len);
    d->fetched += (int64_t)len;
    return len;
}

/* The error answer of a download as one line: the envelope's name and description if any. */
static void error_answer(struct dl *d, long status, char *msg, size_t len)
{
    json_t *j = json_loadb(d->errbody, d->errlen, 0, NULL);
    json_t *e = json_object_get(j, "error");
    const char *name = json_string_value(json_object_get(e, "name"));
    const char *desc = json_string_value(json_object_get(e, "description"));

    if (name != NULL)
        snprintf(msg, len, "HTTP %ld %s: %s", status, name, desc ? desc : "(no description)");
    else
        snprintf(msg, len, "HTTP %ld%s%.*s", status, d->errlen ? ": " : "",
                 (int)strcspn(d->errbody, "\r\n"), d->errbody);
    json_decref(j);
}

static int fetch(struct dl *d, const char *url, struct tw_client *c, struct tw_err *err)
{
    char range[48], errbuf[CURL_ERROR_SIZE] = "", msg[768];
    long status = 0;
    CURLcode cc;

    d->h = curl_easy_init();
    if (d->h == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory");
    curl_easy_setopt(d->h, CURLOPT_URL, url);
    /* A signed URL is its own credential: the API token or session is never sent with it. */
    if (d->have > 0) {
        snprintf(range, sizeof(range), "%" PRId64 "-", d->have);
        curl_easy_setopt(d->h, CURLOPT_RANGE, range);
    }
    curl_easy_setopt(d->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(d->h, CURLOPT_WRITEDATA, d);
    curl_easy_setopt(d->h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(d->h, CURLOPT_HEADERDATA, d);
    curl_easy_setopt(d->h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(d->h, CURLOPT_CONNECTTIMEOUT, c->connect_timeout_s);
    curl_easy_setopt(d->h, CURLOPT_NOSIGNAL, 1L);
    /* A stalled transfer (under 1 byte/s for a minute) fails; the next run resumes it. */
    curl_easy_setopt(d->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(d->h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(d->h, CURLOPT_USERAGENT, "taskwheel-cli/" TW_VERSION);
    cc = curl_easy_perform(d->h);
    curl_easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, &status);
    if (!d->decided && cc == CURLE_OK)
        decide(d); /* an empty body */
    curl_easy_cleanup(d->h);
    d->h = NULL;
    if (d->werrno != 0)
        return tw_err_set(err, TW_EIO, "cannot write the download: %s", strerror(d->werrno));
    if (d->bad_range)
        return tw_err_set(err, TW_EIO,
                          "the server answered the resume request with a part starting at byte "
                          "%" PRId64 " instead of %" PRId64,
                          d->range_start, d->have);
    if (cc != CURLE_OK) {
        const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
        char host[512];
        const char *p = strstr(url, "://");
        size_t n = p ? strcspn(p + 3, "/?") + (size_t)(p + 3 - url) : strlen(url);

        snprintf(host, sizeof(host), "%.*s", (int)(n < 500 ? n : 500), url);
        return tw_err_set(err, TW_EIO,
                          "download from %s failed after %" PRId64 " bytes: %s (run the same "
                          "command again to resume)",
                          host, d->fetched, why);
    }
    if (d->error_status) {
        error_answer(d, status, msg, sizeof(msg));
        return tw_err_set(err, TW_EIO, "download refused: %s", msg);
    }
    return TW_OK;
}

static void hex(const unsigned char *b, unsigned n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    unsigned i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

int tw_client_download(struct tw_client *c, const char *url, const char *path, int64_t expect_size,
                       const char *expect_sha256, struct tw_client_dl *out, struct tw_err *err)
{
    struct dl d;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    const char *shown = strcmp(path, "-") == 0 ? "standard output" : path;
    struct stat st;
    bool created = false; /* the file is ours: made by this call */
    int rc = TW_OK;
    int64_t total;

    memset(out, 0, sizeof(*out));
    memset(&d, 0, sizeof(d));
    d.range_start = -1;
    d.md = EVP_MD_CTX_new();
    if (d.md == NULL || EVP_DigestInit_ex(d.md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(d.md);
        return tw_err_set(err, TW_ENOMEM, "out of memory");
    }
    if (strcmp(path, "-") == 0) {
        d.fd = STDOUT_FILENO;
    } else {
        /* No O_TRUNC: what is there is either resumed or only checked, never thrown away. */
        d.fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        created = d.fd >= 0;
        if (d.fd < 0 && errno == EEXIST)
            d.fd = open(path, O_RDWR | O_CLOEXEC);
        if (d.fd < 0) {
            rc = tw_err_set(err, TW_EIO, "cannot open %s: %s", path, strerror(errno));
            goto out;
        }
        if (fstat(d.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            rc = tw_err_set(err, TW_EINVAL, "%s is not a regular file", path);
            goto out;
        }
        d.seekable = true;
        d.have = (int64_t)st.st_size;
        if (expect_size >= 0 && d.have > expect_size) {
            rc = tw_err_set(err, TW_EINVAL,
                            "%s already holds %" PRId64 " bytes, more than the %" PRId64
                            " of the result, so it is not a partial download of it; it was left "
                            "as it is (remove it or choose another -o FILE)",
                            path, d.have, expect_size);
            goto out;
        }
        if ((rc = hash_prefix(d.fd, d.have, d.md, err, path)) != TW_OK)
            goto out;
    }
    out->resumed_from = d.have;
    if (d.seekable && expect_size >= 0 && d.have == expect_size) {
        out->already_complete = true;
    } else {
        rc = fetch(&d, url, c, err);
        out->resumed_from = d.have; /* 0 if the server sent the whole file again */
        out->fetched = d.fetched;
        if (rc != TW_OK)
            goto out;
    }
    if (d.seekable && fsync(d.fd) != 0) {
        rc = tw_err_set(err, TW_EIO, "cannot write %s: %s", path, strerror(errno));
        goto out;
    }
    EVP_DigestFinal_ex(d.md, digest, &dlen);
    hex(digest, dlen, out->sha256);
    total = d.have + d.fetched;
    if (expect_size >= 0 && total != expect_size) {
        rc = tw_err_set(err, TW_ECONFLICT,
                        "size mismatch: %s has %" PRId64 " bytes but the result has %" PRId64
                        "; the file was kept: run the same command again to resume, or remove "
                        "it and download again",
                        shown, total, expect_size);
        goto out;
    }
    if (expect_sha256 != NULL && strcasecmp(expect_sha256, out->sha256) != 0) {
        rc = tw_err_set(err, TW_ECONFLICT,
                        "SHA-256 mismatch: %s has %s but the result has %s; the file is "
                        "corrupt or was changed, and was kept: remove it and download again",
                        shown, out->sha256, expect_sha256);
        goto out;
    }
out:
    if (d.seekable || (d.fd > 2 && strcmp(path, "-") != 0))
        close(d.fd);
    /* An empty file this call made for an answer that never came is not left behind (one
     * with bytes in it is kept: the next run resumes it). */
    if (rc != TW_OK && created && d.have + d.fetched == 0 && expect_size != 0)
        unlink(path);
    EVP_MD_CTX_free(d.md);
    return rc;
}
