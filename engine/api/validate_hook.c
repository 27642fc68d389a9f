/*
 * The task field "webhook" (docs/reference.md §12): {"url": "http(s)://...", "events": [...]}.
 *
 * Decisions (the spec leaves these open):
 * - url: a string of at most 2,048 characters, http or https (any case), with a host, no
 *   spaces or control characters, and a port in 1..65535 when one is written. It is stored as
 *   given. Whether its host is a private address is checked by the API (hookcheck.c), since
 *   that needs name resolution and validation here is pure.
 * - events: absent means both; otherwise a non-empty array of "DONE" and "ERROR" (each at
 *   most once is not required: a repeat is harmless and folded). An unknown state is a 400
 *   naming "webhook.events".
 * - "webhook": null (in a PUT) removes the webhook; in a POST it means no webhook.
 * - Other keys in the object are refused (400 naming "webhook.<key>"), like everywhere else.
 */
#include "api/validate.h"
#include "core/val.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>

#include "core/mem.h"
#include "store/store.h"

#define URL_MAX_CHARS 2048

int tw_webhook_url_check(const char *url, struct tw_err *err)
{
    struct evhttp_uri *u;
    const char *scheme, *host;
    size_t i;
    int rc = TW_OK;

    for (i = 0; url[i] != '\0'; i++)
        if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
            return tw_val_fail(err, "webhook.url", "must not contain spaces or control characters");
    u = evhttp_uri_parse_with_flags(url, 0);
    if (u == NULL)
        return tw_val_fail(err, "webhook.url", "is not a valid URL (got \"%.60s\")", url);
    scheme = evhttp_uri_get_scheme(u);
    host = evhttp_uri_get_host(u);
    if (scheme == NULL || (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0))
        rc = tw_val_fail(err, "webhook.url", "must be an http:// or https:// URL (got \"%.60s\")",
                         url);
    else if (host == NULL || host[0] == '\0')
        rc = tw_val_fail(err, "webhook.url", "must name a host (got \"%.60s\")", url);
    else if (evhttp_uri_get_port(u) == 0 || evhttp_uri_get_port(u) > 65535)
        rc = tw_val_fail(err, "webhook.url", "port must be 1 to 65535 (got \"%.60s\")", url);
    evhttp_uri_free(u);
    return rc;
}

int tw_webhook_input_parse(const json_t *v, struct tw_task_input *out, struct tw_err *err)
{
    static const char *const keys[] = { "url", "events", NULL };
    static const char *const states[] = { "DONE", "ERROR", NULL };
    const json_t *url_v, *ev_v, *e;
    const char *url;
    unsigned events = 0;
    size_t i;
    int rc;

    out->has_webhook = true;
    if (json_is_null(v))
        return TW_OK; /* no webhook / remove it */
    if (!json_is_object(v))
        return tw_val_type_fail(v, "webhook", "an object {\"url\", \"events\"} or null", err);
    if ((rc = tw_val_keys(v, keys, NULL, "webhook", err)) != TW_OK)
        return rc;
    url_v = json_object_get(v, "url");
    if (url_v == NULL)
        return tw_val_fail(err, "webhook.url", "is required");
    if ((rc = tw_val_string(url_v, "webhook.url", URL_MAX_CHARS, &url, err)) != TW_OK)
        return rc;
    if ((rc = tw_webhook_url_check(url, err)) != TW_OK)
        return rc;
    ev_v = json_object_get(v, "events");
    if (ev_v == NULL) {
        events = TW_WEBHOOK_ON_DONE | TW_WEBHOOK_ON_ERROR;
    } else if (!json_is_array(ev_v)) {
        return tw_val_type_fail(ev_v, "webhook.events", "an array of \"DONE\" and \"ERROR\"", err);
    } else if (json_array_size(ev_v) == 0) {
        return tw_val_fail(err, "webhook.events",
                           "must name at least one of DONE, ERROR (omit it for both)");
    }
    json_array_foreach(ev_v, i, e)
    {
        char got[64];
        int k = json_is_string(e) ? tw_val_is_one_of(json_string_value(e), states) : -1;

        if (k < 0)
            return tw_val_fail(err, "webhook.events",
                               "each must be DONE or ERROR, the states a run ends in (got %s)",
                               tw_val_got(e, got, sizeof(got)));
        events |= k == 0 ? TW_WEBHOOK_ON_DONE : TW_WEBHOOK_ON_ERROR;
    }
    out->webhook_url = tw_strdup(url);
    if (out->webhook_url == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory copying webhook.url");
    out->webhook_events = events;
    return TW_OK;
}
