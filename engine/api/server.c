/*
 * The evhttp server: binds, sets every limit explicitly (libevent's defaults are unlimited),
 * and turns each request into a struct tw_req for the router.
 *
 * Body limit: libevent answers an over-limit body itself, with an HTML page and a closed
 * connection. We give libevent a ceiling of 4 × http.max_body and check http.max_body
 * ourselves, so the common oversized body gets docs/reference.md §3's JSON 413; only absurd ones hit
 * libevent's answer (still a 413).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include "api/api_int.h"
#include "core/log.h"
#include "core/mem.h"

static void handle(struct evhttp_request *ev, void *arg)
{
    struct tw_api *api = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    struct tw_req r;

    memset(&r, 0, sizeof(r));
    r.ev = ev;
    r.api = api;
    r.method = evhttp_request_get_command(ev);
    r.path = uri ? evhttp_uri_get_path(uri) : NULL;
    r.query.tqh_first = NULL;
    r.query.tqh_last = &r.query.tqh_first;
    tw_access_begin(&r);
    if (!tw_req_framing_ok(&r)) {
        tw_caller_fini(&r.caller);
        return;
    }
    if (r.path == NULL || r.path[0] != '/') {
        tw_reply_error(&r, 400, "validation_failed", NULL, "malformed request URI");
        return;
    }
    if (query != NULL && evhttp_parse_query_str(query, &r.query) != 0) {
        tw_reply_error(&r, 400, "validation_failed", NULL, "malformed query string");
        return;
    }
    if (!tw_conn_track(api, ev)) {
        tw_add_header(&r, "Connection", "close");
        tw_add_header(&r, "Retry-After", "1");
        tw_reply_error(&r, 503, "unavailable", NULL, "too many connections (http.max_connections)");
    } else if (api->draining) {
        tw_add_header(&r, "Retry-After", "5");
        tw_reply_error(&r, 503, "unavailable", NULL, "the server is shutting down");
    } else {
        tw_router_dispatch(&r);
    }
    evhttp_clear_headers(&r.query);
    tw_caller_fini(&r.caller);
}

void tw_api_resume(struct tw_api *api, struct evhttp_request *ev, uint64_t t0_ns,
                   const char *req_id, int hook_dns, const char *hook_dns_msg)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    struct tw_req r;

    memset(&r, 0, sizeof(r));
    r.ev = ev;
    r.api = api;
    r.method = evhttp_request_get_command(ev);
    r.path = uri ? evhttp_uri_get_path(uri) : NULL;
    r.query.tqh_first = NULL;
    r.query.tqh_last = &r.query.tqh_first;
    r.t0_ns = t0_ns;
    memcpy(r.req_id, req_id, sizeof(r.req_id));
    r.hook_dns = hook_dns;
    snprintf(r.hook_dns_msg, sizeof(r.hook_dns_msg), "%s", hook_dns_msg);
    /* handle() checked the framing, the path and the query before parking the request. */
    if (query != NULL)
        evhttp_parse_query_str(query, &r.query);
    if (api->draining) {
        tw_add_header(&r, "Retry-After", "5");
        tw_reply_error(&r, 503, "unavailable", NULL, "the server is shutting down");
    } else {
        tw_router_dispatch(&r);
    }
    evhttp_clear_headers(&r.query);
    tw_caller_fini(&r.caller);
}

static int parse_listen(const char *listen, char *host, size_t hostlen, uint16_t *port,
                        struct tw_err *err)
{
    const char *colon = strrchr(listen, ':');
    char *end;
    long p;

    if (colon == NULL || (size_t)(colon - listen) >= hostlen)
        return tw_err_set(err, TW_EINVAL, "listen: expected host:port (got \"%s\")", listen);
    p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 0 || p > 65535 || colon[1] == '\0')
        return tw_err_set(err, TW_EINVAL, "listen: bad port in \"%s\"", listen);
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    /* "[::1]:8080" -> "::1" */
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host) - 2);
        host[strlen(host) - 2] = '\0';
    }
    *port = (uint16_t)p;
    return TW_OK;
}

static uint16_t bound_port(struct evhttp_bound_socket *sock)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    evutil_socket_t fd = evhttp_bound_socket_get_fd(sock);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int tw_api_create(const struct tw_api_deps *deps, struct tw_api **out, struct tw_err *err)
{
    const struct tw_config *cfg = deps->cfg;
    struct timeval tv = { .tv_sec = cfg->http_read_timeout_s, .tv_usec = 0 };
    struct tw_api *api;
    char host[256];
    uint16_t port = 0;
    int rc = parse_listen(cfg->listen, host, sizeof(host), &port, err);

    if (rc != TW_OK)
        return rc;
    api = tw_calloc(1, sizeof(*api));
    if (api == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory");
    api->d = *deps;
    api->http = evhttp_new(deps->base);
    if (api->http == NULL) {
        tw_free(api);
        return tw_err_set(err, TW_ENOMEM, "cannot create the HTTP server");
    }
    evhttp_set_max_headers_size(api->http, cfg->http_max_header_bytes);
    evhttp_set_max_body_size(api->http, (ev_ssize_t)(cfg->http_max_body_bytes * 4));
    evhttp_set_timeout_tv(api->http, &tv);
    /* Let every method through to the router, which answers 405 with Allow itself. */
    evhttp_set_allowed_methods(api->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                              EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                              EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    /* Read the rest of a refused body before closing, so the client sees our answer. */
    evhttp_set_flags(api->http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_default_content_type(api->http, "application/json");
    evhttp_set_gencb(api->http, handle, api);
    rc = tw_conns_install(api, err);
    if (rc != TW_OK) {
        evhttp_free(api->http);
        tw_free(api);
        return rc;
    }
    api->sock = evhttp_bind_socket_with_handle(api->http, host, port);
    if (api->sock == NULL) {
        rc = tw_err_set(err, TW_EIO, "cannot listen on %s: %s", cfg->listen,
                        evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        tw_conns_destroy(api);
        evhttp_free(api->http);
        tw_free(api);
        return rc;
    }
    tw_conns_listen(api, evhttp_bound_socket_get_listener(api->sock));
    api->port = bound_port(api->sock);
    *out = api;
    return TW_OK;
}

uint16_t tw_api_port(const struct tw_api *api)
{
    return api->port;
}

void tw_api_set_draining(struct tw_api *api)
{
    api->draining = true;
}

void tw_api_destroy(struct tw_api *api)
{
    if (api == NULL)
        return;
    tw_api_create_batch_destroy(api);
    tw_api_held_destroy_all(api);
    tw_hookcheck_destroy(api);
    tw_conns_destroy(api);
    evhttp_free(api->http);
    tw_login_throttle_destroy(api->throttle);
    tw_token_cache_destroy(api);
    tw_rate_destroy(api);
    tw_metrics_destroy(api->metrics);
    tw_json_memo_destroy(api->memo);
    tw_free(api);
}
