/*
 * CORS for browser clients on other origins (cors.allow_origins; default none, so nothing
 * changes unless the operator opts in). For an allowed Origin every response carries
 * Access-Control-Allow-Origin (the origin itself, with Vary: Origin, so caches keep answers
 * per origin) and exposes the headers a client reads; a preflight OPTIONS gets the path's
 * methods, the request headers the API understands, and a max age. Credentials are headers
 * (Authorization, X-Spaaza-Session-*), never cookies, so Allow-Credentials is not sent.
 * A disallowed or absent Origin gets no CORS headers: the browser then refuses, as it should.
 */
#include <string.h>

#include "api/api_int.h"

#define ALLOW_HEADERS                                                    \
    "Authorization, Content-Type, Idempotency-Key, If-Match, If-Range, " \
    "Prefer, Range, X-Request-Id, X-Spaaza-Session-User-Id, "            \
    "X-Spaaza-Session-Key, X-Spaaza-Session-Chain-Id"
#define EXPOSE_HEADERS                                     \
    "Location, X-Total-Count, X-Request-Id, Retry-After, " \
    "Content-Disposition, Content-Range, ETag, Last-Modified"
#define MAX_AGE_S "600"

/* Whether origin is in the configured list (exact match of a whole item). */
static bool origin_allowed(const char *list, const char *origin)
{
    size_t olen = strlen(origin), len;

    if (strcmp(list, "*") == 0)
        return true;
    if (strcmp(list, "none") == 0)
        return false;
    for (;;) {
        list += strspn(list, ", ");
        if (*list == '\0')
            return false;
        len = strcspn(list, ", ");
        if (len == olen && strncasecmp(list, origin, len) == 0)
            return true;
        list += len;
    }
}

static const char *allowed_origin(struct tw_req *r)
{
    const char *origin = tw_req_header(r, "Origin");
    const char *list = r->api->d.cfg->cors_allow_origins;

    if (origin == NULL || list == NULL || !origin_allowed(list, origin))
        return NULL;
    return origin;
}

void tw_cors_headers(struct tw_req *r)
{
    const char *origin = allowed_origin(r);

    if (origin == NULL)
        return;
    tw_add_header(r, "Access-Control-Allow-Origin", origin);
    tw_add_header(r, "Vary", "Origin");
    tw_add_header(r, "Access-Control-Expose-Headers", EXPOSE_HEADERS);
}

void tw_cors_preflight(struct tw_req *r, const char *allow)
{
    if (allowed_origin(r) == NULL)
        return;
    tw_add_header(r, "Access-Control-Allow-Methods", allow);
    tw_add_header(r, "Access-Control-Allow-Headers", ALLOW_HEADERS);
    tw_add_header(r, "Access-Control-Max-Age", MAX_AGE_S);
}
