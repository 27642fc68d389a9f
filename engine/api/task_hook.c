/*
 * The task field "webhook" in replies and writes, and GET /tasks/{id}/deliveries
 * (docs/reference.md §12). Validation is validate_hook.c; the host lookup is hookcheck.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <event2/http.h>

#include "api/api_int.h"
#include "core/mem.h"
#include "core/time.h"
#include "httpc/httpc.h"

#define DELIVERIES_SHOWN 50

json_t *tw_api_webhook_json(const char *url, unsigned events)
{
    json_t *ev = json_array();

    if (ev != NULL && (events & TW_WEBHOOK_ON_DONE))
        json_array_append_new(ev, json_string("DONE"));
    if (ev != NULL && (events & TW_WEBHOOK_ON_ERROR))
        json_array_append_new(ev, json_string("ERROR"));
    return ev != NULL ? json_pack("{s:s, s:o}", "url", url, "events", ev) : NULL;
}

/* The "webhook" of task id into j (nothing when it has none). */
static int add_webhook(struct tw_store *s, json_t *j, int64_t id, struct tw_err *err)
{
    unsigned events = 0;
    char *url = NULL;
    json_t *w;
    int rc = tw_store_webhook_get(s, id, &url, &events, err);

    if (rc == TW_ENOTFOUND)
        return TW_OK;
    if (rc != TW_OK)
        return rc;
    w = tw_api_webhook_json(url, events);
    tw_free(url);
    if (w == NULL || json_object_set_new(j, "webhook", w) != 0)
        return tw_err_set(err, TW_ENOMEM, "out of memory");
    return TW_OK;
}

bool tw_api_task_add_webhook(struct tw_req *r, json_t *j, int64_t id)
{
    struct tw_err err;

    if (j == NULL)
        return true; /* tw_reply_json answers the out-of-memory */
    if (add_webhook(r->api->d.store, j, id, &err) != TW_OK) {
        json_decref(j);
        tw_reply_err(r, &err);
        return false;
    }
    return true;
}

json_t *tw_api_task_object(struct tw_store *s, int64_t id, struct tw_err *err)
{
    struct tw_task_log *logs = NULL;
    struct tw_task t;
    size_t n = 0;
    json_t *j = NULL;
    int rc;

    memset(&t, 0, sizeof(t));
    rc = tw_store_task_get(s, id, &t, err);
    if (rc == TW_OK)
        rc = tw_store_log_list(s, id, 10, 0, &logs, &n, err);
    if (rc == TW_OK) {
        j = tw_task_json(&t, logs, n);
        if (j == NULL)
            rc = tw_err_set(err, TW_ENOMEM, "out of memory");
    }
    if (rc == TW_OK && add_webhook(s, j, id, err) != TW_OK) {
        json_decref(j);
        j = NULL;
    }
    tw_store_free_logs(logs, n);
    tw_task_fini(&t);
    return j;
}

bool tw_api_webhook_target_ok(struct tw_req *r, const struct tw_task_input *in)
{
    struct evhttp_uri *u;
    const char *why = NULL;
    char host[256];
    bool numeric;

    if (!in->has_webhook || in->webhook_url == NULL || r->api->d.cfg->webhooks_allow_private)
        return true;
    u = evhttp_uri_parse_with_flags(in->webhook_url, 0);
    if (u == NULL || evhttp_uri_get_host(u) == NULL) { /* validate_hook.c refused it already */
        if (u != NULL)
            evhttp_uri_free(u);
        return true;
    }
    numeric = tw_hookcheck_numeric(evhttp_uri_get_host(u), host, sizeof(host));
    evhttp_uri_free(u);
    if (numeric) {
        if (!tw_httpc_addr_private(host, &why))
            return true;
        tw_reply_error(r, 400, "validation_failed", "webhook.url",
                       "webhook.url: %s is a %s address; webhooks may not reach the service's "
                       "own network (set webhooks.allow_private to allow it)",
                       host, why);
        return false;
    }
    switch (r->hook_dns) {
    case TW_HOOK_DNS_PUBLIC: return true;
    case TW_HOOK_DNS_PRIVATE:
        tw_reply_error(r, 400, "validation_failed", "webhook.url",
                       "webhook.url: host %s resolves to %s; webhooks may not reach the "
                       "service's own network (set webhooks.allow_private to allow it)",
                       host, r->hook_dns_msg);
        return false;
    case TW_HOOK_DNS_NONAME:
        tw_reply_error(r, 400, "validation_failed", "webhook.url",
                       "webhook.url: host %s does not resolve (%s)", host, r->hook_dns_msg);
        return false;
    default:
        tw_add_header(r, "Retry-After", "5");
        tw_reply_error(r, 503, "unavailable", "webhook.url",
                       "webhook.url: host %s could not be looked up now (%s); try again", host,
                       r->hook_dns_msg[0] ? r->hook_dns_msg : "no lookup was made");
        return false;
    }
}

int tw_api_webhook_save(struct tw_req *r, int64_t id, const struct tw_task_input *in,
                        struct tw_err *err)
{
    if (!in->has_webhook)
        return TW_OK;
    return tw_store_webhook_set(r->api->d.store, id, in->webhook_url, in->webhook_events, err);
}

void tw_api_task_deliveries(struct tw_req *r)
{
    static const char *const allowed[] = { NULL };
    struct tw_delivery_attempt *a = NULL;
    struct tw_task t;
    struct tw_err err;
    size_t n = 0;
    json_t *arr;

    if (!tw_req_query_only(r, allowed) || !tw_api_load_task(r, TW_LEVEL_READ, &t))
        return;
    if (tw_store_delivery_list(r->api->d.store, t.id, DELIVERIES_SHOWN, &a, &n, &err) != TW_OK) {
        tw_task_fini(&t);
        tw_reply_err(r, &err);
        return;
    }
    arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        json_t *o = json_pack("{s:s, s:s, s:i, s:o, s:o, s:o, s:I}", "delivery", a[i].uuid, "event",
                              a[i].event ? a[i].event : "", "attempt", (int)a[i].attempt, "time",
                              tw_time_json(a[i].time), "status",
                              a[i].status > 0 ? json_integer(a[i].status) : json_null(), "error",
                              a[i].error != NULL && a[i].error[0] != '\0' ? json_string(a[i].error)
                                                                          : json_null(),
                              "duration_ms", (json_int_t)a[i].duration_ms);

        if (o == NULL || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    tw_store_free_attempts(a, n);
    tw_task_fini(&t);
    tw_reply_json(r, 200, arr);
}
