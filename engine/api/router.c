/*
 * The route table: reading it tells you the whole API. A path that matches no pattern is a 404;
 * a path that matches a pattern but not with this method is a 405 with an Allow header.
 * Patterns are literal segments and {placeholders}; placeholders are captured in order into
 * r->params.
 *
 * Every GET route also answers HEAD (the GET handler runs; tw_reply_send sends the headers
 * only), and every route answers OPTIONS with 204 and Allow, plus the CORS preflight headers
 * when the request's Origin is allowed (cors.c).
 */
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"

enum route_auth {
    ROUTE_OPEN, /* no credentials (health, login, signed downloads) */
    ROUTE_AUTH, /* a token or a session */
};

struct tw_route {
    enum evhttp_cmd_type method;
    const char *pattern;
    tw_route_fn *fn;
    enum route_auth auth;
};

static const struct tw_route routes[] = {
    { EVHTTP_REQ_GET, "/tasks", tw_api_tasks_list, ROUTE_AUTH },
    { EVHTTP_REQ_POST, "/tasks", tw_api_tasks_create, ROUTE_AUTH },
    { EVHTTP_REQ_GET, "/tasks/{id}", tw_api_task_get, ROUTE_AUTH },
    { EVHTTP_REQ_PUT, "/tasks/{id}", tw_api_task_update, ROUTE_AUTH },
    { EVHTTP_REQ_DELETE, "/tasks/{id}", tw_api_task_delete, ROUTE_AUTH },
    { EVHTTP_REQ_GET, "/tasks/{id}/download_url", tw_api_task_download_url, ROUTE_AUTH },
    { EVHTTP_REQ_POST, "/tasks/{id}/execute", tw_api_task_execute, ROUTE_AUTH },
    { EVHTTP_REQ_GET, "/tasks/{id}/deliveries", tw_api_task_deliveries, ROUTE_AUTH },
    { EVHTTP_REQ_GET, "/downloads/{chain}/{id}/{file}", tw_api_download, ROUTE_OPEN },
    { EVHTTP_REQ_GET, "/segments", tw_api_segments_list, ROUTE_AUTH },
    { EVHTTP_REQ_POST, "/segments", tw_api_segments_create, ROUTE_AUTH },
    { EVHTTP_REQ_GET, "/segments/{id}", tw_api_segment_get, ROUTE_AUTH },
    { EVHTTP_REQ_PUT, "/segments/{id}", tw_api_segment_update, ROUTE_AUTH },
    { EVHTTP_REQ_DELETE, "/segments/{id}", tw_api_segment_delete, ROUTE_AUTH },
    { EVHTTP_REQ_POST, "/auth/login", tw_api_login, ROUTE_OPEN },
    { EVHTTP_REQ_GET, "/cluster/nodes", tw_api_cluster_nodes, ROUTE_AUTH },
    { EVHTTP_REQ_GET, "/healthz", tw_api_healthz, ROUTE_OPEN },
    /* open unless metrics.require_token (the handler checks) */
    { EVHTTP_REQ_GET, "/metrics", tw_api_metrics, ROUTE_OPEN },
    { EVHTTP_REQ_GET, "/openapi.json", tw_api_openapi, ROUTE_OPEN }, /* docs/reference.md §15 */
};

/*
 * Match path against pattern, capturing placeholders into r->params (backed by r->param_buf).
 * Segments are compared whole; an empty segment (a doubled or trailing slash) never matches.
 */
static bool match(struct tw_req *r, const char *pattern, const char *path)
{
    size_t np = 0;
    size_t used = 0;

    while (*pattern == '/' && *path == '/') {
        const char *pe = strchr(pattern + 1, '/');
        const char *se = strchr(path + 1, '/');
        size_t plen = pe ? (size_t)(pe - pattern - 1) : strlen(pattern + 1);
        size_t slen = se ? (size_t)(se - path - 1) : strlen(path + 1);

        if (slen == 0)
            return false;
        if (pattern[1] == '{') {
            if (np == TW_MAX_PATH_PARAMS || used + slen + 1 > sizeof(r->param_buf))
                return false;
            memcpy(r->param_buf + used, path + 1, slen);
            r->param_buf[used + slen] = '\0';
            r->params[np++] = r->param_buf + used;
            used += slen + 1;
        } else if (plen != slen || memcmp(pattern + 1, path + 1, slen) != 0) {
            return false;
        }
        pattern += plen + 1;
        path += slen + 1;
    }
    return *pattern == '\0' && *path == '\0';
}

/* Append ", m" (or m first) when absent; truncated at len - 1 as snprintf would. Every request
 * builds it, so no printf here. */
static void allow_add(char *allow, size_t len, const char *m)
{
    size_t at = strlen(allow);
    const char *parts[2] = { at > 0 ? ", " : "", m };

    if (strstr(allow, m) != NULL)
        return;
    for (size_t i = 0; i < 2; i++)
        for (const char *c = parts[i]; *c != '\0' && at + 1 < len; c++)
            allow[at++] = *c;
    allow[at] = '\0';
}

static bool serves(const struct tw_route *rt, enum evhttp_cmd_type m)
{
    return rt->method == m || (m == EVHTTP_REQ_HEAD && rt->method == EVHTTP_REQ_GET);
}

void tw_router_dispatch(struct tw_req *r)
{
    char allow[96] = "";
    const struct tw_route *hit = NULL;
    bool read_txn;
    size_t i;

    if (tw_console_path(r->path)) { /* /console, /console/{file...}: static, open (console.c) */
        tw_api_console(r);
        return;
    }
    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!match(r, routes[i].pattern, r->path))
            continue;
        r->route = routes[i].pattern; /* a 405 is still counted under its pattern */
        if (hit == NULL && serves(&routes[i], r->method))
            hit = &routes[i];
        allow_add(allow, sizeof(allow), tw_method_name(routes[i].method));
        if (routes[i].method == EVHTTP_REQ_GET)
            allow_add(allow, sizeof(allow), "HEAD");
    }
    if (allow[0] != '\0')
        allow_add(allow, sizeof(allow), "OPTIONS");
    tw_cors_headers(r);
    if (hit == NULL && allow[0] != '\0' && r->method == EVHTTP_REQ_OPTIONS) {
        tw_add_header(r, "Allow", allow);
        tw_cors_preflight(r, allow);
        tw_reply_empty(r, 204);
        return;
    }
    if (hit == NULL && allow[0] != '\0') {
        tw_add_header(r, "Allow", allow);
        tw_reply_error(r, 405, "method_not_allowed", NULL,
                       "%s is not allowed on %.200s; allowed: %s", tw_method_name(r->method),
                       r->path, allow);
        return;
    }
    if (hit == NULL) {
        tw_reply_error(r, 404, "not_found", NULL, "no such endpoint: %.200s", r->path);
        return;
    }
    /* Re-run the match so params hold this route's captures, not a later candidate's. */
    match(r, hit->pattern, r->path);
    r->route = hit->pattern;
    /*
     * A GET reads the store several times (credentials, the task, its logs): one read
     * transaction takes SQLite's file locks once instead of per statement, which was the
     * largest cost per request after the kernel's own (fcntl locking; +30 % GET /tasks/{id}
     * in bench/api). Writes keep their own transactions: a POST gained nothing from it.
     * Deferred, not IMMEDIATE: a read needs no write lock (two fcntl calls less per GET, 19 %
     * of a GET with begin and commit together), and a GET never waits on a writer.
     */
    read_txn = (r->method == EVHTTP_REQ_GET || r->method == EVHTTP_REQ_HEAD) &&
               hit->auth == ROUTE_AUTH && tw_store_begin_read(r->api->d.store, NULL) == TW_OK;
    /*
     * A task write naming a webhook host waits for its lookup (hookcheck.c) only once the
     * caller is known, and comes back here with the verdict: authenticated again, but not
     * counted twice against its rate limit.
     */
    if (hit->auth != ROUTE_AUTH ||
        (tw_auth_caller(r) && (r->hook_dns != TW_HOOK_DNS_NONE || tw_rate_allow(r)) &&
         !tw_hookcheck_park(r)))
        hit->fn(r);
    if (read_txn && tw_store_commit(r->api->d.store, NULL) != TW_OK)
        tw_store_rollback(r->api->d.store);
}

bool tw_router_needs_auth(enum evhttp_cmd_type method, const char *path)
{
    struct tw_req scratch;
    size_t i;

    memset(&scratch, 0, sizeof(scratch));
    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (serves(&routes[i], method) && match(&scratch, routes[i].pattern, path))
            return routes[i].auth == ROUTE_AUTH;
    return false;
}
