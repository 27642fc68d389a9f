/*
 * Webhooks (docs/webhooks.md): how a delivery is signed, how secrets look, and when a failed
 * delivery is tried again. The outbox that stores deliveries lives in the store; the
 * sender that posts them is httpc on the server's loop.
 *
 * Signature: Taskwheel-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>
 * with one v1= per secret that is valid at the time (a rotated-out secret stays valid for
 * 24 hours). The HMAC key is the secret string exactly as printed ("whsec_..."), so a receiver
 * verifies with the string it was given and no decoding step can go wrong.
 */
#ifndef TW_WEBHOOK_WEBHOOK_H
#define TW_WEBHOOK_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"
#include "store/store.h"

struct event_base;
struct tw_httpc;

#define TW_WEBHOOK_SECRET_PREFIX "whsec_"
/* "whsec_" + base64url(32 bytes) without padding (43 chars) + NUL */
#define TW_WEBHOOK_SECRET_LEN 50
#define TW_WEBHOOK_ROTATE_OVERLAP_S (24 * 3600)

/* A new random secret into out. */
int tw_webhook_secret_new(char out[TW_WEBHOOK_SECRET_LEN], struct tw_err *err);

/*
 * The Taskwheel-Signature header value for body at time t, signed with each of the n secrets
 * (newest first), into out (cap bytes): "t=1780000000,v1=<hex>[,v1=<hex>]".
 */
int tw_webhook_signature(const char *const *secrets, size_t n, int64_t t, const char *body,
                         size_t body_len, char *out, size_t cap, struct tw_err *err);

/*
 * Seconds to wait before attempt number next (2, 3, ...) after a failed one: 1 s doubling,
 * capped at one hour (attempt 2 waits 1 s, attempt 3 waits 2 s, ...).
 */
int64_t tw_webhook_backoff(unsigned next);

/*
 * Queue the delivery for a run of task (its object as the API shows it) that ended in state
 * (TW_STATE_DONE or TW_STATE_ERROR), if the task has a webhook for that state; a no-op
 * otherwise. The body is fixed now: {"event","delivery","time","task"}. Call it inside the
 * transaction that records the run's end. *queued tells whether a delivery was queued.
 */
int tw_webhook_enqueue(struct tw_store *s, int64_t task_id, int64_t chain, int state,
                       const json_t *task, int64_t now_ms, bool *queued, struct tw_err *err);

/* ---------------------------------------------------------------- the outbox pump */

struct tw_outbox_conf {
    long timeout_ms;       /* webhooks.timeout: a 2xx within this is success */
    unsigned max_attempts; /* webhooks.max_attempts: then the delivery is given up */
    bool allow_private;    /* webhooks.allow_private */
    long backoff_unit_ms;  /* 1000 in service; the first retry gap, doubled per retry */
    unsigned max_inflight; /* deliveries posted at once */
};

struct tw_outbox_stats {
    uint64_t delivered;       /* deliveries that got a 2xx */
    uint64_t failed_attempts; /* attempts without a 2xx */
    uint64_t given_up;        /* deliveries dropped after max_attempts */
    unsigned inflight;
};

struct tw_outbox;

/*
 * The pump on the server's loop: takes due deliveries from the store, posts them through
 * httpc (never blocking the loop), records each attempt, and reschedules failures. All
 * borrowed pointers must outlive it.
 */
struct tw_outbox *tw_outbox_new(struct event_base *base, struct tw_store *s, struct tw_httpc *http,
                                const struct tw_outbox_conf *conf, struct tw_err *err);
/* Something was queued: look at the outbox now rather than at the next planned wake-up. */
void tw_outbox_kick(struct tw_outbox *o);
void tw_outbox_stats(const struct tw_outbox *o, struct tw_outbox_stats *out);
/*
 * Stop; deliveries in flight stay in the store and are sent again by the next start. Free the
 * httpc first (it drops its requests without calling back), then the outbox.
 */
void tw_outbox_free(struct tw_outbox *o);

#endif
