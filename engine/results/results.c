/* Result storage helpers (see results.h): configuration, keys, deletion off the loop, markers. */
#include "results/results.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "results/publish.h"

#define MARKER ".s3-upload"
#define SEALED ".s3-sealed"

bool tw_results_on_s3(const struct tw_config *cfg)
{
    return cfg->results_storage != NULL && strcmp(cfg->results_storage, "s3") == 0;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);

    return v != NULL ? v : "";
}

int tw_results_s3_conf(const struct tw_config *cfg, struct tw_s3_conf *out, struct tw_err *err)
{
    memset(out, 0, sizeof(*out));
    out->endpoint = cfg->results_s3_endpoint;
    out->region = cfg->results_s3_region;
    out->bucket = cfg->results_s3_bucket;
    out->prefix = cfg->results_s3_prefix;
    out->path_style = cfg->results_s3_path_style;
    out->part_size = (size_t)cfg->results_s3_part_size;
    out->timeout_s = TW_RESULTS_TIMEOUT_S;
    out->retry_base_ms = TW_RESULTS_RETRY_BASE_MS;
    if (cfg->results_s3_access_key_id[0] != '\0') {
        out->access_key_id = cfg->results_s3_access_key_id;
        out->secret_access_key = cfg->results_s3_secret_access_key;
        out->session_token = "";
    } else {
        out->access_key_id = env("AWS_ACCESS_KEY_ID");
        out->secret_access_key = env("AWS_SECRET_ACCESS_KEY");
        out->session_token = env("AWS_SESSION_TOKEN");
    }
    if (out->access_key_id[0] == '\0' || out->secret_access_key[0] == '\0')
        return tw_err_set(err, TW_EINVAL,
                          "results.storage s3: no credentials: set results.s3.access_key_id and "
                          "results.s3.secret_access_key, or AWS_ACCESS_KEY_ID and "
                          "AWS_SECRET_ACCESS_KEY in the server's environment");
    return TW_OK;
}

int tw_results_key(int64_t chain, int64_t task_id, const char *file, char *out, size_t cap,
                   struct tw_err *err)
{
    int n;

    if (file == NULL || file[0] == '\0' || file[0] == '.' || strchr(file, '/') != NULL)
        return tw_err_set(err, TW_EINVAL, "results: bad result file name \"%s\"",
                          file != NULL ? file : "");
    n = snprintf(out, cap, "%" PRId64 "/%" PRId64 "/%s", chain, task_id, file);
    if (n < 0 || (size_t)n >= cap)
        return tw_err_set(err, TW_EINVAL, "results: object key for %s too long", file);
    return TW_OK;
}

int tw_results_key_of_path(const char *path, char *out, size_t cap, struct tw_err *err)
{
    const char *p = path + strlen(path);
    int slashes = 0;

    while (p > path && slashes < 3)
        if (*--p == '/')
            slashes++;
    if (slashes < 3 || strlen(p + 1) >= cap)
        return tw_err_set(err, TW_EINVAL, "results: no object key in \"%s\"", path);
    memcpy(out, p + 1, strlen(p + 1) + 1);
    return TW_OK;
}

/* ---------------------------------------------------------------- deletion off the loop */

/* One batch, owned by its thread: the configuration's strings and the keys are copies. */
struct batch {
    struct tw_s3_conf_copy cc;
    char **keys;
    size_t n;
    char why[32];
};

int tw_results_conf_copy(struct tw_s3_conf_copy *out, const struct tw_s3_conf *c)
{
    const char *src[7] = { c->endpoint,     c->region,        c->bucket,
                           c->prefix,       c->access_key_id, c->secret_access_key,
                           c->session_token };

    memset(out, 0, sizeof(*out));
    out->c = *c;
    for (size_t i = 0; i < 7; i++)
        if ((out->strings[i] = tw_strdup(src[i] != NULL ? src[i] : "")) == NULL) {
            tw_results_conf_copy_fini(out);
            return TW_ENOMEM;
        }
    out->c.endpoint = out->strings[0];
    out->c.region = out->strings[1];
    out->c.bucket = out->strings[2];
    out->c.prefix = out->strings[3];
    out->c.access_key_id = out->strings[4];
    out->c.secret_access_key = out->strings[5];
    out->c.session_token = out->strings[6];
    return TW_OK;
}

void tw_results_conf_copy_fini(struct tw_s3_conf_copy *cp)
{
    for (size_t i = 0; i < sizeof(cp->strings) / sizeof(cp->strings[0]); i++) {
        tw_free(cp->strings[i]);
        cp->strings[i] = NULL;
    }
}

static void batch_free(struct batch *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++)
        tw_free(b->keys[i]);
    tw_free(b->keys);
    tw_results_conf_copy_fini(&b->cc);
    tw_free(b);
}

static void *delete_batch(void *arg)
{
    struct batch *b = arg;
    struct tw_err err;

    for (size_t i = 0; i < b->n; i++) {
        tw_err_clear(&err);
        if (tw_s3_delete(&b->cc.c, b->keys[i], &err) == TW_OK)
            tw_log(TW_LOG_INFO, "results.deleted", "bucket", b->cc.c.bucket, "key", b->keys[i],
                   "why", b->why, NULL);
        else
            tw_log(TW_LOG_WARN, "results.delete_failed", "bucket", b->cc.c.bucket, "key",
                   b->keys[i], "why", b->why, "reason", err.msg, NULL);
    }
    batch_free(b);
    return NULL;
}

int tw_results_delete_later(const struct tw_s3_conf *c, const char *const *keys, size_t n,
                            const char *why, struct tw_err *err)
{
    struct tw_publisher *helper = tw_publisher_current();
    struct batch *b;
    pthread_attr_t attr;
    pthread_t th;
    int rc;

    if (n == 0)
        return TW_OK;
    if (helper != NULL) { /* the server: its results helper deletes them (publish.h) */
        for (size_t i = 0; i < n; i++)
            if (tw_publish_delete(helper, keys[i], why, err) != TW_OK)
                return err->code;
        return TW_OK;
    }
    b = tw_calloc(1, sizeof(*b));
    if (b == NULL || (b->keys = tw_calloc(n, sizeof(*b->keys))) == NULL)
        goto nomem;
    if (tw_results_conf_copy(&b->cc, c) != TW_OK)
        goto nomem;
    for (; b->n < n; b->n++)
        if ((b->keys[b->n] = tw_strdup(keys[b->n])) == NULL)
            goto nomem;
    snprintf(b->why, sizeof(b->why), "%s", why);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&th, &attr, delete_batch, b);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        batch_free(b);
        return tw_err_set(err, TW_EIO, "results: cannot start a thread to delete objects (%s)",
                          strerror(rc));
    }
    return TW_OK;
nomem:
    batch_free(b);
    return tw_err_set(err, TW_ENOMEM, "results: out of memory deleting objects");
}

/* ---------------------------------------------------------------- upload markers */

static int marker_path(const char *dir, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/" MARKER, dir);

    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int tw_results_marker_write(const char *dir, const char *key, const char *upload_id,
                            struct tw_err *err)
{
    char path[4200];
    FILE *f;
    int ok;

    if (marker_path(dir, path, sizeof(path)) != 0)
        return tw_err_set(err, TW_EINVAL, "results: directory name too long");
    f = fopen(path, "we");
    if (f == NULL)
        return tw_err_set(err, TW_EIO, "results: cannot write %s (%s)", path, strerror(errno));
    ok = fprintf(f, "%s\n%s\n", key, upload_id) > 0;
    if (fclose(f) != 0 || !ok)
        return tw_err_set(err, TW_EIO, "results: cannot write %s", path);
    return TW_OK;
}

void tw_results_marker_remove(const char *dir)
{
    char path[4200];

    if (marker_path(dir, path, sizeof(path)) == 0)
        (void)unlink(path);
}

int tw_results_settle(const struct tw_s3_conf *c, const char *dir, struct tw_err *err)
{
    char path[4200], key[2048] = "", id[1024] = "";
    unsigned n = 0;
    FILE *f;
    int rc;

    f = marker_path(dir, path, sizeof(path)) == 0 ? fopen(path, "re") : NULL;
    if (f == NULL)
        return TW_OK; /* none: nothing of an earlier run can be in flight */
    if (fgets(key, sizeof(key), f) == NULL || fgets(id, sizeof(id), f) == NULL)
        id[0] = '\0';
    fclose(f);
    key[strcspn(key, "\n")] = '\0';
    id[strcspn(id, "\n")] = '\0';
    if (key[0] == '\0') {
        (void)unlink(path); /* torn: the worker died writing it before any request */
        tw_results_sealed_remove(dir);
        return TW_OK;
    }
    rc = id[0] != '\0' ? tw_s3_abort_upload(c, key, id, err) : TW_OK;
    /* the store lists what was created but never answered (no id in the marker) */
    if (rc == TW_OK)
        rc = tw_s3_abort_key_uploads(c, key, &n, err);
    if (rc != TW_OK)
        return rc; /* the marker stays for the next try */
    (void)unlink(path);
    tw_results_sealed_remove(dir); /* what it said is aborted: it can never be published */
    if (id[0] != '\0' || n > 0)
        tw_log(TW_LOG_INFO, "results.upload_aborted", "bucket", c->bucket, "key", key, "reason",
               "an earlier run's incomplete multipart upload", NULL);
    return TW_OK;
}

/* ---------------------------------------------------------------- sealed uploads */

static int sealed_path(const char *dir, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/" SEALED, dir);

    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int tw_results_sealed_write(const char *dir, const char *key, const struct tw_s3_sealed *s,
                            struct tw_err *err)
{
    char path[4200], tmp[4210];
    FILE *f;
    bool ok;

    if (sealed_path(dir, path, sizeof(path)) != 0)
        return tw_err_set(err, TW_EINVAL, "results: directory name too long");
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "we");
    if (f == NULL)
        return tw_err_set(err, TW_EIO, "results: cannot write %s (%s)", tmp, strerror(errno));
    ok = fprintf(f, "%s\n%s\n", key, s->upload_id) > 0 &&
         fwrite(s->body, 1, s->body_len, f) == s->body_len;
    ok = fclose(f) == 0 && ok;
    /* renamed whole: the server never reads half a parts list */
    if (!ok || rename(tmp, path) != 0) {
        (void)unlink(tmp);
        return tw_err_set(err, TW_EIO, "results: cannot write %s", path);
    }
    return TW_OK;
}

int tw_results_sealed_read(const char *dir, char *key, size_t key_cap, struct tw_s3_sealed *out,
                           struct tw_err *err)
{
    char path[4200];
    struct tw_buf text;
    char chunk[8192];
    const char *nl1, *nl2;
    size_t n;
    FILE *f;
    int rc = TW_OK;

    memset(out, 0, sizeof(*out));
    if (sealed_path(dir, path, sizeof(path)) != 0)
        return tw_err_set(err, TW_EINVAL, "results: directory name too long");
    f = fopen(path, "re");
    if (f == NULL)
        return tw_err_set(err, errno == ENOENT ? TW_ENOTFOUND : TW_EIO,
                          "results: the worker left no sealed upload in %s (%s)", dir,
                          strerror(errno));
    tw_buf_init(&text, (size_t)64 * 1024 * 1024);
    while (rc == TW_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = tw_buf_append(&text, chunk, n);
    if (ferror(f))
        rc = TW_EIO;
    fclose(f);
    nl1 = rc == TW_OK && text.data != NULL ? strchr(text.data, '\n') : NULL;
    nl2 = nl1 != NULL ? strchr(nl1 + 1, '\n') : NULL;
    if (nl2 == NULL || nl2[1] == '\0' || (size_t)(nl1 - text.data) >= key_cap ||
        (size_t)(nl2 - nl1 - 1) >= sizeof(out->upload_id) ||
        (out->body = tw_strdup(nl2 + 1)) == NULL) {
        tw_buf_fini(&text);
        return tw_err_set(err, TW_EIO, "results: %s is unreadable or torn", path);
    }
    memcpy(key, text.data, (size_t)(nl1 - text.data));
    key[nl1 - text.data] = '\0';
    memcpy(out->upload_id, nl1 + 1, (size_t)(nl2 - nl1 - 1));
    out->upload_id[nl2 - nl1 - 1] = '\0';
    out->body_len = strlen(out->body);
    tw_buf_fini(&text);
    return TW_OK;
}

bool tw_results_sealed_exists(const char *dir)
{
    char path[4200];

    return sealed_path(dir, path, sizeof(path)) == 0 && access(path, F_OK) == 0;
}

void tw_results_sealed_remove(const char *dir)
{
    char path[4200];

    if (sealed_path(dir, path, sizeof(path)) == 0)
        (void)unlink(path);
}
