/*
 * Where results live (docs/storage.md, reference §11): files under results.dir (the default,
 * export/result.c) or objects in an S3-compatible bucket (s3.c). This header is what the rest
 * of the engine needs to use the bucket:
 *
 *   worker  streams the result into an upload (s3.h) under tw_results_key, and keeps a marker
 *           of a multipart upload in flight so that one it could not abort (the store was down,
 *           the worker was killed) is aborted by the task's next run (tw_results_marker_*);
 *   server  pre-signs download URLs (s3.h, no I/O) and deletes objects of replaced, expired or
 *           deleted results off the event loop (tw_results_delete_later).
 *
 * The object of a result is <prefix><chain>/<task id>/<file>; the prefix is added by s3.c.
 */
#ifndef TW_RESULTS_RESULTS_H
#define TW_RESULTS_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/err.h"
#include "results/s3.h"

#define TW_RESULTS_TIMEOUT_S 60      /* per S3 request: connect, or a stalled transfer */
#define TW_RESULTS_RETRY_BASE_MS 250 /* first backoff between tries, doubled per retry */

/* True when cfg keeps results in a bucket (results.storage: s3). */
bool tw_results_on_s3(const struct tw_config *cfg);

/*
 * cfg's S3 settings into *out (strings borrowed from cfg and the environment, valid while both
 * are): credentials from results.s3, else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and
 * AWS_SESSION_TOKEN. TW_EINVAL with a sentence naming what to set when there are none.
 */
int tw_results_s3_conf(const struct tw_config *cfg, struct tw_s3_conf *out, struct tw_err *err);

/* "<chain>/<task id>/<file>" into out. TW_EINVAL when it does not fit or file is unsafe. */
int tw_results_key(int64_t chain, int64_t task_id, const char *file, char *out, size_t cap,
                   struct tw_err *err);

/*
 * The key of a result from its local path ".../<chain>/<task id>/<file>" (tasks.result_path,
 * which the store keeps for either storage). TW_EINVAL when path has fewer than three levels.
 */
int tw_results_key_of_path(const char *path, char *out, size_t cap, struct tw_err *err);

/* A copy of an S3 configuration owning its strings, for a thread that outlives the caller's. */
struct tw_s3_conf_copy {
    struct tw_s3_conf c;
    char *strings[7]; /* endpoint, region, bucket, prefix, key id, secret, token */
};

/* TW_ENOMEM (nothing to free) or TW_OK; tw_results_conf_copy_fini frees the strings. */
int tw_results_conf_copy(struct tw_s3_conf_copy *out, const struct tw_s3_conf *c);
void tw_results_conf_copy_fini(struct tw_s3_conf_copy *cp);

/*
 * Delete keys (borrowed; copied) from the bucket on a detached thread, with the client's
 * retries, logging "results.deleted" or "results.delete_failed" (with the store's error) per
 * key; why names the cause in the log ("replaced", "expired", "task deleted"). The event loop
 * never waits on the store: in the server its results helper deletes them (publish.h, no
 * thread in the server); elsewhere a detached thread. TW_ENOMEM / TW_EIO when neither could
 * be asked.
 */
int tw_results_delete_later(const struct tw_s3_conf *c, const char *const *keys, size_t n,
                            const char *why, struct tw_err *err);

/*
 * The marker of a multipart upload in flight, <dir>/.s3-upload ("key\nupload id\n"), in the
 * task's result directory: written (upload id "" then) before the upload may become multipart,
 * again once its id is known, removed once it completed or was aborted. tw_results_settle
 * aborts what the marker says an earlier run left in flight (it died, or could not reach the
 * store): the upload it names, and every upload of its key the store lists, which also finds
 * one whose creation answer was lost. The marker goes once all is settled; TW_OK then, and
 * when there is no marker (no request is made).
 */
int tw_results_marker_write(const char *dir, const char *key, const char *upload_id,
                            struct tw_err *err);
void tw_results_marker_remove(const char *dir);
int tw_results_settle(const struct tw_s3_conf *c, const char *dir, struct tw_err *err);

/*
 * A sealed upload (s3.h, tw_s3_upload_seal), <dir>/.s3-sealed: "key\nupload id\n" and the
 * CompleteMultipartUpload body. The worker writes it (whole, by rename) beside the marker
 * once its result is uploaded; the server reads it to publish the result (publish.h) and
 * removes it with the marker. tw_results_settle removes it too: what it names is aborted.
 * read: TW_ENOTFOUND when there is none; out->body is the caller's (tw_s3_sealed_fini).
 */
int tw_results_sealed_write(const char *dir, const char *key, const struct tw_s3_sealed *s,
                            struct tw_err *err);
int tw_results_sealed_read(const char *dir, char *key, size_t key_cap, struct tw_s3_sealed *out,
                           struct tw_err *err);
void tw_results_sealed_remove(const char *dir);
bool tw_results_sealed_exists(const char *dir);

#endif
