/*
 * A small S3 client over libcurl for the results part: pre-signed GET URLs (server side, no
 * I/O), a streaming upload that turns into a multipart upload once more than part_size bytes
 * were written (worker side, blocking easy handles: a worker does one upload at a time), and
 * object deletion (retention). Works with AWS S3 and S3-compatible stores (path_style for
 * those that want the bucket in the path).
 *
 * Requests that fail with a 5xx answer, a timeout or a connection error are retried with
 * exponential backoff (TW_S3_TRIES attempts); a 4xx is final. Errors carry the store's own
 * error code and message ("SignatureDoesNotMatch: The request signature we calculated does
 * not match ..."), never a credential.
 */
#ifndef TW_RESULTS_S3_H
#define TW_RESULTS_S3_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/err.h"

#define TW_S3_TRIES 5                            /* attempts per request */
#define TW_S3_MIN_PART ((size_t)5 * 1024 * 1024) /* S3's smallest part but the last */

/* Borrowed strings; the caller keeps them alive as long as the client uses the struct. */
struct tw_s3_conf {
    const char *endpoint; /* "https://s3.eu-west-1.amazonaws.com", no trailing slash */
    const char *region;
    const char *bucket;
    const char *prefix; /* prepended to every key, may be "" */
    int path_style;     /* 1: endpoint/bucket/key; 0: bucket.host/key */
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* "" or NULL unless temporary credentials */
    size_t part_size;          /* bytes per multipart part, >= TW_S3_MIN_PART */
    long timeout_s;            /* per request, connect and transfer */
    long retry_base_ms;        /* first backoff, doubled per retry */
};

/*
 * The pre-signed GET URL of key (without prefix: it is added here), valid expires seconds from
 * now, into out. The URL carries the same query parameters as the AWS SDK for JavaScript v3
 * writes (x-id=GetObject, checksum mode, unsigned payload), so the two can be compared.
 */
int tw_s3_presign_get(const struct tw_s3_conf *c, const char *key, long expires, time_t now,
                      char *out, size_t cap, struct tw_err *err);

struct tw_s3_upload;

/* Start an upload of key (prefix added). Nothing is sent until part_size bytes or commit. */
int tw_s3_upload_open(const struct tw_s3_conf *c, const char *key, struct tw_s3_upload **out,
                      struct tw_err *err);
/* Append bytes; sends a part whenever part_size bytes are staged. Sticky errors. */
int tw_s3_upload_write(struct tw_s3_upload *u, const void *data, size_t len, struct tw_err *err);
/*
 * Send what is staged and complete the object (one PUT when it never reached part_size,
 * else the last part and CompleteMultipartUpload). On failure the multipart upload is
 * aborted, so no orphan parts stay. Frees u either way.
 */
int tw_s3_upload_commit(struct tw_s3_upload *u, uint64_t *bytes, struct tw_err *err);
/*
 * A deadline in wall-clock ms since the epoch that another thread may move (atomic_store):
 * a request is not sent once it passed and a transfer in progress is abandoned when it
 * passes, with TW_ECONFLICT. It bounds when a completion may still reach the store: the
 * end of the run's lease, less a margin (docs/storage.md "Publishing a result").
 */
typedef _Atomic int64_t tw_s3_deadline;

/* An upload sealed by tw_s3_upload_seal: what completes it later. */
struct tw_s3_sealed {
    char upload_id[512];
    char *body; /* the CompleteMultipartUpload document, NUL-terminated; owned */
    size_t body_len;
};

/*
 * Finish the upload without publishing it: send what is staged as its last part (creating
 * the multipart upload first if it never reached part_size: a sealed object is always a
 * multipart upload, invisible until completed) and fill *out with what completes it, so that
 * another process may publish it later, once it checked it still may (tw_s3_upload_complete).
 * On failure the multipart upload is aborted. Frees u either way; tw_s3_sealed_fini(out).
 */
int tw_s3_upload_seal(struct tw_s3_upload *u, uint64_t *bytes, struct tw_s3_sealed *out,
                      struct tw_err *err);
void tw_s3_sealed_fini(struct tw_s3_sealed *s);

/*
 * CompleteMultipartUpload of upload_id of key (prefix added) with body (its parts): the
 * moment the object appears, whole, under its key. deadline NULL: none. The 200 answer that
 * carries an <Error> is an error, as S3 documents.
 */
int tw_s3_upload_complete(const struct tw_s3_conf *c, const char *key, const char *upload_id,
                          const char *body, size_t len, const tw_s3_deadline *deadline,
                          struct tw_err *err);

/* Abandon the upload (AbortMultipartUpload if one was started) and free u. NULL is fine. */
void tw_s3_upload_abort(struct tw_s3_upload *u);
/* Parts sent so far (for tests and logs). */
unsigned tw_s3_upload_parts(const struct tw_s3_upload *u);

/* The multipart upload's id once one was created (more than part_size written), else "". */
const char *tw_s3_upload_id(const struct tw_s3_upload *u);

/*
 * Abort the multipart upload upload_id of key (prefix added), e.g. one a failed run could not
 * abort because the store was down. An upload that no longer exists (404) is success.
 */
int tw_s3_abort_upload(const struct tw_s3_conf *c, const char *key, const char *upload_id,
                       struct tw_err *err);

/*
 * Abort every multipart upload in flight for exactly key (prefix added), found with
 * ListMultipartUploads: also one whose CreateMultipartUpload answer never arrived. *aborted
 * gets how many. A store that refuses the listing answers with its error (a 4xx: the caller
 * may go on without).
 */
int tw_s3_abort_key_uploads(const struct tw_s3_conf *c, const char *key, unsigned *aborted,
                            struct tw_err *err);

/* Delete key (prefix added); a missing object is success, as S3 says. */
int tw_s3_delete(const struct tw_s3_conf *c, const char *key, struct tw_err *err);

#endif
