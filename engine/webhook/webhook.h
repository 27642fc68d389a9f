/*
 * Webhooks (docs: README "Webhooks"): how a delivery is signed, how secrets look, and when a
 * failed delivery is tried again. The outbox that stores deliveries lives in the store; the
 * sender that posts them is httpc on the server's loop.
 *
 * Signature: Taskwheel-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>
 * with one v1= per secret that is valid at the time (a rotated-out secret stays valid for
 * 24 hours). The HMAC key is the secret string exactly as printed ("whsec_..."), so a receiver
 * verifies with the string it was given and no decoding step can go wrong.
 */
#ifndef TW_WEBHOOK_WEBHOOK_H
#define TW_WEBHOOK_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

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

#endif
