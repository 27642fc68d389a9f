/*
 * Internals shared by the files of the API part: the server object, the per-request context,
 * the caller's identity, reply helpers and the handlers' signatures. Nothing outside engine/api
 * includes this.
 */
#ifndef TW_API_API_INT_H
#define TW_API_API_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "api/api.h"
#include "core/val.h"

#define TW_MAX_PATH_PARAMS 3

struct tw_api {
    struct tw_api_deps d; /* what the engine gave us (borrowed pointers) */
    struct evhttp *http;
    struct evhttp_bound_socket *sock;
    uint16_t port;                      /* bound port */
    bool draining;                      /* shutting down: new requests get 503 */
    struct tw_login_throttle *throttle; /* login throttles and hashing threads (login.c) */
    struct tw_token_cache *tokens;      /* recently read tokens (token_cache.c) */
    struct tw_held *held;               /* execute requests waiting for their run, a list */
    struct tw_conns *conns;             /* open connections, for http.max_connections */
    struct tw_metrics *metrics;         /* HTTP counters for GET /metrics (metrics.c), lazily */
    struct tw_rate *rate;               /* limits.requests_per_second buckets (ratelimit.c) */
    struct tw_hookcheck *hookcheck;     /* webhook host lookups (hookcheck.c), lazily */
    struct tw_json_memo *memo;          /* stored trigger/target text as replied (task_text.c) */
    struct tw_create_batch *batch;      /* POST /tasks waiting for their group commit */
};

enum tw_caller_kind {
    TW_CALLER_TOKEN,   /* a privileged token */
    TW_CALLER_SESSION, /* an admin user's session, acting on one chain */
};

struct tw_caller {
    int kind;        /* enum tw_caller_kind */
    char name[64];   /* "token:<uuid>" or "user:<id>", for idempotency */
    int64_t *chains; /* chains it may use, owned */
    int *levels;     /* access level per chain (enum tw_access_level), owned */
    size_t n;
};

struct tw_req {
    struct evhttp_request *ev;
    struct tw_api *api;
    enum evhttp_cmd_type method;
    const char *path;                       /* borrowed from the evhttp uri */
    struct evkeyvalq query;                 /* parsed query string */
    const char *params[TW_MAX_PATH_PARAMS]; /* {placeholders} of the route, in order */
    char param_buf[512];                    /* storage for params */
    struct tw_caller caller;                /* filled when the route needs auth */
    const char *route;                      /* the matched pattern, for logs and metrics */
    uint64_t t0_ns;                         /* monotonic start, for the access log and latency */
    char req_id[68];        /* X-Request-Id: the client's (checked) or 16 random hex */
    bool probe;             /* expect.c's check: the reply is kept, not sent */
    int probe_status;       /* the status a probe was answered with */
    int hook_dns;           /* enum tw_hook_dns: the webhook.url host's lookup (hookcheck.c) */
    char hook_dns_msg[200]; /* the private address and why, or the lookup's error */
};

/* What the lookup of a task body's webhook.url host found (hookcheck.c). */
enum tw_hook_dns {
    TW_HOOK_DNS_NONE,    /* not looked up (numeric host, allow_private, or no webhook) */
    TW_HOOK_DNS_PUBLIC,  /* every address is public */
    TW_HOOK_DNS_PRIVATE, /* one is loopback/private/link-local: hook_dns_msg says which */
    TW_HOOK_DNS_NONAME,  /* the name does not exist */
    TW_HOOK_DNS_FAILED,  /* no answer (timeout, resolver down): hook_dns_msg says why */
};

typedef void tw_route_fn(struct tw_req *r);

/* ---- reply.c: every handler ends in exactly one of these ---- */

/* Send body (reference stolen) as JSON with status. */
void tw_reply_json(struct tw_req *r, int status, json_t *body);
/* A JSON body already written as text (len bytes, copied). */
void tw_reply_text(struct tw_req *r, int status, const char *body, size_t len);
void tw_reply_empty(struct tw_req *r, int status);

/* The docs/reference.md §3 envelope; name is the error name ("validation_failed"), field may be NULL. */
void tw_reply_error(struct tw_req *r, int status, const char *name, const char *field,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Map an engine error (struct tw_err) to the right status and envelope. */
void tw_reply_err(struct tw_req *r, const struct tw_err *err);

/* The fixed error.code number of an error name (listed in the README). */
int tw_error_code(const char *name);

void tw_add_header(struct tw_req *r, const char *name, const char *value);
const char *tw_req_header(struct tw_req *r, const char *name);

/* ---- request helpers (request.c) ---- */

/*
 * Parse the request body as a JSON object. On failure replies (400 invalid_json or 413) and
 * returns NULL; the caller just returns.
 */
json_t *tw_req_json_body(struct tw_req *r);

/* Path parameter i as a positive id; on failure replies 400 and returns false. */
bool tw_req_path_id(struct tw_req *r, size_t i, const char *what, int64_t *out);

/*
 * Query parameter name as an integer in [min, max] (def when absent). On a bad value replies
 * 400 naming the parameter and returns false.
 */
bool tw_req_query_int(struct tw_req *r, const char *name, int64_t def, int64_t min, int64_t max,
                      int64_t *out);

/*
 * The request's framing is unambiguous: no two different Content-Lengths, not Content-Length
 * with Transfer-Encoding, exactly one Host in HTTP/1.1. Else replies 400 (and closes the
 * connection, whose next bytes can no longer be trusted) and returns false.
 */
bool tw_req_framing_ok(struct tw_req *r);

/* Reply 400 and return false if the query has a parameter not in allowed (NULL-terminated). */
bool tw_req_query_only(struct tw_req *r, const char *const *allowed);

/* ---- auth.c ---- */

/* Authenticate r (token or session headers) into r->caller; on failure replies and false. */
bool tw_auth_caller(struct tw_req *r);
void tw_caller_fini(struct tw_caller *c);
int tw_caller_level(const struct tw_caller *c, int64_t chain);

/*
 * Check the caller's access to an existing object of chain: returns true when at least level.
 * Otherwise replies 404 not_found_name (the object's existence is not revealed) when the caller
 * cannot even read the chain, else 403 permission_denied, and returns false.
 */
bool tw_auth_object(struct tw_req *r, int64_t chain, int level, const char *not_found_name,
                    const char *what);

/* ---- handlers ---- */

void tw_api_tasks_list(struct tw_req *r);
void tw_api_tasks_create(struct tw_req *r);
void tw_api_task_get(struct tw_req *r);
void tw_api_task_update(struct tw_req *r);
void tw_api_task_delete(struct tw_req *r);
void tw_api_task_execute(struct tw_req *r);
void tw_api_task_download_url(struct tw_req *r);
void tw_api_download(struct tw_req *r);
void tw_api_segments_list(struct tw_req *r);
void tw_api_segments_create(struct tw_req *r);
void tw_api_segment_get(struct tw_req *r);
void tw_api_segment_update(struct tw_req *r);
void tw_api_segment_delete(struct tw_req *r);
void tw_api_login(struct tw_req *r);
void tw_api_healthz(struct tw_req *r);
void tw_api_cluster_nodes(struct tw_req *r); /* cluster.c */
void tw_api_openapi(struct tw_req *r);       /* openapi.c: GET /openapi.json */

/* ---- tasks.c, shared with the other task handlers ---- */

/* Reply status with task t and its newest 10 logs. */
void tw_api_reply_task(struct tw_req *r, int status, const struct tw_task *t);
/* Load the task of path parameter 0 for the caller with at least level; else reply, false. */
bool tw_api_load_task(struct tw_req *r, int level, struct tw_task *t);
/* Copy the given fields of a validated input into t (t owns the copies). false on ENOMEM. */
bool tw_api_apply_input(struct tw_task *t, const struct tw_task_input *in);
void tw_api_notify_changed(struct tw_req *r, int64_t id);
/* segments.c: in's trigger.segment_id names a saved segment of in's chain that fits its
 * index; replies (404 segment_not_found or 400) and returns false otherwise. */
bool tw_api_check_segment_ref(struct tw_req *r, const struct tw_task_input *in);

/* ---- task_json.c ---- */

/* The docs/reference.md §1 task object; logs (n of them, newest first) are borrowed. NULL on ENOMEM. */
json_t *tw_task_json(const struct tw_task *t, const struct tw_task_log *logs, size_t n);
/*
 * task_text.c: reply with the task object (and "webhook" when webhook_url is not NULL) written
 * as text, the same bytes as tw_task_json_from + tw_reply_json (trigger and target: the
 * objects in memory, or NULL for t's stored text). False, with nothing sent, when it
 * cannot be written that way (a string jansson would escape otherwise or refuse, out of
 * memory): the caller then takes the jansson path.
 */
bool tw_task_text_reply(struct tw_req *r, int status, const struct tw_task *t,
                        const json_t *trigger, const json_t *target, const struct tw_task_log *logs,
                        size_t n, const char *webhook_url, unsigned events);
void tw_json_memo_destroy(struct tw_json_memo *m);
/*
 * task_batch.c: queue a validated create (no Idempotency-Key) for the group commit that runs
 * later in this event-loop turn, which answers it. Takes over r's caller, *in and *t (left
 * zeroed). False, with nothing taken, when out of memory: the caller creates it itself.
 */
bool tw_api_create_queue(struct tw_req *r, struct tw_task_input *in, struct tw_task *t);
/* Answer what is queued, then free the batch. */
void tw_api_create_batch_destroy(struct tw_api *api);
/* The same, with trigger and target given as objects already in memory (borrowed; NULL:
 * parse t's stored text), so a reply built right after a write parses nothing. */
json_t *tw_task_json_from(const struct tw_task *t, json_t *trigger, json_t *target,
                          const struct tw_task_log *logs, size_t n);
json_t *tw_task_state_json(const struct tw_task *t);
json_t *tw_time_json(int64_t t); /* ISO string, or JSON null for 0 */

/* ---- login throttle (login.c) ---- */
void tw_login_throttle_destroy(struct tw_login_throttle *t);

/* ---- execute.c ---- */
void tw_api_held_destroy_all(struct tw_api *api);

/* ---- token_cache.c ---- */

/* tw_store_token_get, remembered for a second per token id (see token_cache.c). */
int tw_token_cached_get(struct tw_api *api, const char *id, struct tw_token *out,
                        struct tw_err *err);
void tw_token_cache_destroy(struct tw_api *api);

/* ---- conns.c ---- */

/* Make evhttp's connections through us: the connection limit and the read_timeout deadline
 * start working. TW_ENOMEM. */
int tw_conns_install(struct tw_api *api, struct tw_err *err);
/* The bound socket's listener (borrowed; may be NULL): paused when out of fds or over the
 * connection limit. */
struct evconnlistener;
void tw_conns_listen(struct tw_api *api, struct evconnlistener *listener);
/* False when req's connection was accepted over http.max_connections (answer 503 and close);
 * stops its request deadline either way. */
bool tw_conn_track(struct tw_api *api, struct evhttp_request *req);
/* Call fn(arg) once when req's connection closes (NULL fn clears). */
void tw_conn_observe_close(struct tw_api *api, struct evhttp_request *req, void (*fn)(void *arg),
                           void *arg);
void tw_conns_destroy(struct tw_api *api);

/* ---- router.c ---- */
void tw_router_dispatch(struct tw_req *r);
/* Whether a route needs credentials for method on path (the 100-continue check, expect.c). */
bool tw_router_needs_auth(enum evhttp_cmd_type method, const char *path);

/* ---- gzip.c ---- */
/* Compress r's JSON reply body when the client accepts gzip and it is over 1 KiB. */
void tw_reply_maybe_gzip(struct tw_req *r);

/* ---- expect.c ---- */
/* bev's input holds a request's complete headers with Expect: 100-continue that is going to
 * fail (credentials, body size): answer it on the socket now, close, and return true. */
struct bufferevent;
bool tw_expect_early_answer(struct tw_api *api, struct bufferevent *bev);

/* ---- cors.c ---- */
/* The CORS response headers for r's Origin when cors.allow_origins allows it (else none). */
void tw_cors_headers(struct tw_req *r);
/* The preflight answer's headers (allow: the path's methods) for an allowed Origin. */
void tw_cors_preflight(struct tw_req *r, const char *allow);

/* ---- hookcheck.c: webhook hosts resolved off the request path (see there) ---- */
/* Park r while its body's webhook.url host is looked up; true when parked (or answered). */
bool tw_hookcheck_park(struct tw_req *r);
void tw_hookcheck_destroy(struct tw_api *api);
/* host without [] into out; true when it is a numeric IPv4/IPv6 address. */
bool tw_hookcheck_numeric(const char *host, char *out, size_t cap);
/* server.c: dispatch a parked request as if it had just arrived, with the lookup's verdict. */
void tw_api_resume(struct tw_api *api, struct evhttp_request *ev, uint64_t t0_ns,
                   const char *req_id, int hook_dns, const char *hook_dns_msg);

/* ---- task_hook.c: the webhook field and GET /tasks/{id}/deliveries ---- */
/* Add "webhook" to the task object j when task id has one (after "result"); false: replied. */
bool tw_api_task_add_webhook(struct tw_req *r, json_t *j, int64_t id);
/* {"url", "events"} as the task object shows a webhook; NULL on ENOMEM. */
json_t *tw_api_webhook_json(const char *url, unsigned events);
/* The webhook of in (when given) may be saved: a private target is refused unless
 * webhooks.allow_private. Replies 400 (field webhook.url) or 503 and returns false. */
bool tw_api_webhook_target_ok(struct tw_req *r, const struct tw_task_input *in);
/* Store in's webhook (set, or remove for null) for task id; inside the caller's transaction. */
int tw_api_webhook_save(struct tw_req *r, int64_t id, const struct tw_task_input *in,
                        struct tw_err *err);
void tw_api_task_deliveries(struct tw_req *r);

/* ---- ratelimit.c ---- */
/* limits.requests_per_second for r's caller: true when allowed, else replies 429 and false. */
bool tw_rate_allow(struct tw_req *r);
void tw_rate_destroy(struct tw_api *api);

/* ---- access.c: request ids, the access log, and the one evhttp_send_reply ---- */

/* Start r's clock and set its request id (echoed as X-Request-Id). First thing per request. */
void tw_access_begin(struct tw_req *r);
/*
 * Send r's reply with status (headers and output buffer already filled): counts it for
 * /metrics, writes the access log line, then evhttp_send_reply. Every reply ends here.
 */
void tw_reply_send(struct tw_req *r, int status);
const char *tw_method_name(enum evhttp_cmd_type m);

/* ---- metrics.c ---- */
void tw_metrics_http(struct tw_api *api, const char *route, const char *method, int status,
                     double seconds);
void tw_metrics_destroy(struct tw_metrics *m);
void tw_api_metrics(struct tw_req *r);

/* ---- console.c: the web console's static files (compiled in, engine/assets) ---- */
/* Whether path is /console or under /console/ (served by tw_api_console, no credentials). */
bool tw_console_path(const char *path);
void tw_api_console(struct tw_req *r);

#endif
