/*
 * Outbound HTTP on the server's event loop: libcurl's multi interface driven by libevent
 * (socket and timer callbacks), so that any number of slow or dead peers costs a socket each
 * and never blocks the loop, the API or a run. Used by the webhook outbox.
 *
 * Safety for targets a client chose: only http and https, no redirects, no proxy taken from
 * the environment, and (unless allow_private) every address libcurl is about to connect to is
 * checked and refused when it is loopback, private, link-local, unique-local, CGNAT,
 * multicast or unspecified, so a DNS answer that changes between validation and delivery
 * (rebinding) cannot reach the service's own network.
 */
#ifndef TW_HTTPC_HTTPC_H
#define TW_HTTPC_HTTPC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

struct event_base;
struct tw_httpc;

struct tw_httpc_req {
    const char *url;            /* http:// or https:// */
    const char *const *headers; /* NULL-terminated "Name: value" lines, may be NULL */
    const char *body;           /* POSTed as is; NULL for an empty POST */
    size_t body_len;
    long timeout_ms;    /* whole request, connect included */
    bool allow_private; /* permit private/loopback targets */
};

struct tw_httpc_result {
    long status;      /* HTTP status, 0 when there was no answer */
    long duration_ms; /* from start to the end of the answer or the failure */
    char error[256];  /* "" on an answer; else why there was none */
};

/* Called once per request, from the loop; r is valid during the call only. */
typedef void (*tw_httpc_done_fn)(const struct tw_httpc_result *r, void *arg);

/* One client per event loop; free it after the loop stops dispatching. */
struct tw_httpc *tw_httpc_new(struct event_base *base, struct tw_err *err);
/* Cancels what is in flight without calling their callbacks. NULL is fine. */
void tw_httpc_free(struct tw_httpc *c);

/*
 * Start a POST of req (copied: the caller's strings may go away after the call). done is
 * called later from the loop, never from inside this call. TW_OK, or an error when the
 * request could not be started at all (bad URL scheme, out of memory).
 */
int tw_httpc_post(struct tw_httpc *c, const struct tw_httpc_req *req, tw_httpc_done_fn done,
                  void *arg, struct tw_err *err);

/* Requests started and not yet done. */
unsigned tw_httpc_inflight(const struct tw_httpc *c);

/*
 * Whether the numeric address text (IPv4 "10.1.2.3" or IPv6 "::1", "::ffff:127.0.0.1") is one a
 * webhook may not reach without allow_private; *why gets a static word ("loopback") when true.
 * Text that is not a numeric address is false.
 */
bool tw_httpc_addr_private(const char *addr, const char **why);

#endif
