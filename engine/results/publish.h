/*
 * Publishing a run's result on S3 from the server (docs/storage.md "Publishing a result"),
 * and the server's other requests to the store, in a helper process.
 *
 * A worker uploads a result as a multipart upload that it seals but does not complete
 * (tw_s3_upload_seal, tw_results_sealed_write): nothing is visible under the key yet. The
 * server first checks that the run still holds its claim (a run fenced meanwhile, its node
 * paused past the lease and the task taken by another node, fails the check), then has the
 * upload completed here, and only after that records the run's end. So a fenced run never
 * publishes anything, and a DONE task's key holds the object its result fields describe from
 * the moment the API says DONE.
 *
 * The completion may not reach the store after the run's lease ends, or a paused node could
 * publish over the run that rescued its task: each publication has a deadline (the lease's end
 * less a margin) that the scheduler moves on with every renewal and sets to 0 when a renewal is
 * refused; the request is not sent past it and a transfer in progress is abandoned.
 *
 * Why a process: the requests block (retries, slow stores), so they cannot run on the event
 * loop, and the server must not run threads of its own — it forks (its spawner, and a worker
 * when the pool has none ready), and a child of a process whose other thread held a lock at
 * that moment (an allocator's, libcurl's, OpenSSL's) inherits the lock held forever
 * (docs/scheduling.md). The helper, "tw-results", is forked once when the publisher is
 * created, never forks, and runs a thread per request; it answers over a SOCK_SEQPACKET
 * socket the loop watches. It dies with the server and exits when the socket closes. Should
 * it die, the publications in flight end with an error and the next request starts a new one.
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
 * Called on the loop once per publication: rc TW_OK when the object is complete under its
 * key, else an error with msg (what the store said, that the deadline passed, or that the
 * helper died; the upload was aborted then, or is by the task's next run).
 */
typedef void tw_publish_done_fn(void *arg, int rc, const char *msg);

/*
 * Fork the helper, which uses c (its strings must stay valid in the server: the helper has its
 * own copy of the server's memory from now on). Call while the server runs no other thread.
 */
int tw_publisher_new(struct event_base *base, const struct tw_s3_conf *c, struct tw_publisher **out,
                     struct tw_err *err);
/* Close the socket (the helper exits, its requests in flight abandoned) and reap it. NULL ok. */
void tw_publisher_free(struct tw_publisher *p);
/* Publications started and not yet reported. */
unsigned tw_publisher_inflight(const struct tw_publisher *p);

/*
 * Complete the upload sealed in dir (the run's result directory) before deadline_ms (wall
 * clock ms). *out (may be NULL) names the publication for tw_publish_extend until done is
 * called. An error: nothing was started, done is not called, the sealed upload is left.
 */
int tw_publish_start(struct tw_publisher *p, const char *dir, int64_t deadline_ms,
                     tw_publish_done_fn *done, void *arg, struct tw_publish **out,
                     struct tw_err *err);

/* Move the deadline of a publication in flight (a renewed lease), or to 0 (a refused one). */
void tw_publish_extend(struct tw_publisher *p, struct tw_publish *j, int64_t deadline_ms);

/*
 * Abort the upload sealed in dir and remove its files (a fenced run, or one whose end is not
 * recorded). The helper logs what happened; no callback.
 */
int tw_publish_discard(struct tw_publisher *p, const char *dir, struct tw_err *err);

/*
 * Delete key (prefix added) from the bucket, logging "results.deleted" or
 * "results.delete_failed" with why ("replaced", "expired", "task deleted"); no callback.
 * tw_results_delete_later uses the server's publisher this way while there is one.
 */
int tw_publish_delete(struct tw_publisher *p, const char *key, const char *why, struct tw_err *err);
/* The publisher of this process (the server's), or NULL. */
struct tw_publisher *tw_publisher_current(void);

#endif
