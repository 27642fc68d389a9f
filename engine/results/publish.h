/*
 * Publishing a run's result on S3 from the server (docs/storage.md "Publishing a result").
 *
 * A worker uploads a result as a multipart upload that it seals but does not complete
 * (tw_s3_upload_seal, tw_results_sealed_write): nothing is visible under the key yet. The
 * server first checks that the run still holds its claim (it renews the run's lease; a run
 * fenced meanwhile, its node paused past the lease and the task taken by another node, fails
 * the check), then completes the upload here, and only after that records the run's end. So
 * a fenced run never publishes anything, and a DONE task's key holds the object its result
 * fields describe from the moment the API says DONE.
 *
 * The completion may not reach the store after the run's lease ends, or a paused node could
 * publish over the run that rescued its task: each publish has a deadline (the lease's end
 * less a margin) that the scheduler moves on with every renewal and sets to 0 when a renewal
 * is refused; the request is not sent past it and a transfer in progress is abandoned.
 *
 * Each publish runs on a detached thread, so the event loop never waits on the store; its
 * end is reported to the loop through a pipe (tw_publish_done_fn runs on the loop). The
 * threads never fork and take no lock of the loop's. A publisher belongs to one event loop.
 */
#ifndef TW_RESULTS_PUBLISH_H
#define TW_RESULTS_PUBLISH_H

#include <stdint.h>

#include "core/err.h"
#include "results/s3.h"

struct event_base;
struct tw_publisher;
struct tw_publish;

/*
 * Called on the loop once per publish: rc TW_OK when the object is complete under its key,
 * else an error with msg (what the store said, or that the deadline passed; the upload was
 * aborted then). dir's marker and sealed file are gone either way, unless the abort failed
 * (then the task's next run aborts it).
 */
typedef void tw_publish_done_fn(void *arg, int rc, const char *msg);

int tw_publisher_new(struct event_base *base, struct tw_publisher **out, struct tw_err *err);
/* Only once tw_publisher_inflight() is 0 (the loop waits for them when stopping). NULL is fine. */
void tw_publisher_free(struct tw_publisher *p);
unsigned tw_publisher_inflight(const struct tw_publisher *p);

/*
 * Complete the upload sealed in dir (the run's result directory) before deadline_ms (wall
 * clock ms; INT64_MAX: none). c's strings are copied. *out (may be NULL) names the publish
 * for tw_publish_extend until done is called. An error: nothing was started, done is not
 * called, and the sealed upload is left as it is.
 */
int tw_publish_start(struct tw_publisher *p, const struct tw_s3_conf *c, const char *dir,
                     int64_t deadline_ms, tw_publish_done_fn *done, void *arg,
                     struct tw_publish **out, struct tw_err *err);

/* Move the deadline of a publish in flight (a renewed lease), or to 0 (a refused one). */
void tw_publish_extend(struct tw_publish *j, int64_t deadline_ms);

/*
 * Abort the upload sealed in dir on a detached thread and remove its files (a fenced run,
 * or one whose end is not recorded). Logs what happened; no callback.
 */
int tw_publish_discard(const struct tw_s3_conf *c, const char *dir, struct tw_err *err);

#endif
