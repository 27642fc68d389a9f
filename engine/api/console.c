/*
 * The web console's static files (docs/reference.md §15, docs/console.md): GET /console redirects to
 * /console/, GET /console/ is console/index.html, GET /console/{file...} is console/{file...},
 * all from the table compiled into the binary (engine/assets/). No credentials: the console's
 * own API calls carry them.
 *
 * Every answer has a Content-Security-Policy that allows only the console's own files (no
 * inline script or style, no framing, no other origin), X-Content-Type-Options: nosniff, a
 * strong ETag (FNV-1a of the bytes) with Cache-Control: no-cache, so a browser revalidates
 * each time and gets 304 while the binary is the same. A path with an empty, "." or ".."
 * segment, a percent sign, a backslash, or any byte outside [A-Za-z0-9._-/] names no file:
 * 404, as does a file the table does not hold.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "api/api_int.h"
#include "assets/assets.h"

#define CONSOLE_CSP                                                                   \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "       \
    "form-action 'self'; frame-ancestors 'none'"

#define CONSOLE_PREFIX "/console/"
#define CONSOLE_MAX_NAME 200

bool tw_console_path(const char *path)
{
    return strcmp(path, "/console") == 0 ||
           strncmp(path, CONSOLE_PREFIX, sizeof(CONSOLE_PREFIX) - 1) == 0;
}

/* The table name of rel ("" -> index.html), or false when rel cannot name a file. */
static bool asset_name(const char *rel, char *out, size_t cap)
{
    const char *seg = rel;
    const char *p;

    if (rel[0] == '\0')
        rel = "index.html";
    if (strlen(rel) > CONSOLE_MAX_NAME)
        return false;
    for (p = rel;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t n = (size_t)(p - seg);

            if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
                return false;
            if (*p == '\0')
                break;
            seg = p + 1;
        } else if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_')) {
            return false;
        }
    }
    return snprintf(out, cap, "console/%s", rel) < (int)cap;
}

static void console_headers(struct tw_req *r)
{
    tw_add_header(r, "Content-Security-Policy", CONSOLE_CSP);
    tw_add_header(r, "X-Content-Type-Options", "nosniff");
    tw_add_header(r, "X-Frame-Options", "DENY");
    tw_add_header(r, "Referrer-Policy", "no-referrer");
}

/* The ETag of a: FNV-1a 64 of its bytes and its length, quoted. */
static void etag_of(const struct tw_asset *a, char *out, size_t cap)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;

    for (i = 0; i < a->len; i++) {
        h ^= a->data[i];
        h *= 0x100000001b3ull;
    }
    snprintf(out, cap, "\"%016" PRIx64 "-%zx\"", h, a->len);
}

/* Whether If-None-Match (a list, or "*") holds tag. */
static bool etag_matches(const char *inm, const char *tag)
{
    size_t n = strlen(tag);
    const char *p;

    if (inm == NULL)
        return false;
    if (strcmp(inm, "*") == 0)
        return true;
    for (p = strstr(inm, tag); p != NULL; p = strstr(p + 1, tag))
        if ((p == inm || p[-1] == ' ' || p[-1] == ',' || p[-1] == '/') &&
            (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
            return true;
    return false;
}

void tw_api_console(struct tw_req *r)
{
    const struct tw_asset *a = NULL;
    char name[CONSOLE_MAX_NAME + 16];
    char etag[48];

    r->route = strcmp(r->path, "/console") == 0 ? "/console" : "/console/{file}";
    console_headers(r);
    if (r->method == EVHTTP_REQ_OPTIONS) {
        tw_add_header(r, "Allow", "GET, HEAD, OPTIONS");
        tw_reply_empty(r, 204);
        return;
    }
    if (r->method != EVHTTP_REQ_GET && r->method != EVHTTP_REQ_HEAD) {
        tw_add_header(r, "Allow", "GET, HEAD, OPTIONS");
        tw_reply_error(r, 405, "method_not_allowed", NULL,
                       "%s is not allowed on the console's files; allowed: GET, HEAD, OPTIONS",
                       tw_method_name(r->method));
        return;
    }
    if (strcmp(r->path, "/console") == 0) {
        tw_add_header(r, "Location", CONSOLE_PREFIX);
        tw_reply_empty(r, 301);
        return;
    }
    if (asset_name(r->path + sizeof(CONSOLE_PREFIX) - 1, name, sizeof(name)))
        a = tw_asset_find(name);
    if (a == NULL) {
        tw_reply_error(r, 404, "not_found", NULL, "no such console file: %.200s", r->path);
        return;
    }
    etag_of(a, etag, sizeof(etag));
    tw_add_header(r, "ETag", etag);
    tw_add_header(r, "Cache-Control", "no-cache");
    if (etag_matches(tw_req_header(r, "If-None-Match"), etag)) {
        tw_reply_empty(r, 304);
        return;
    }
    /* The bytes are static: referenced, not copied. */
    if (evbuffer_add_reference(evhttp_request_get_output_buffer(r->ev), a->data, a->len, NULL,
                               NULL) != 0) {
        tw_reply_error(r, 500, "internal_error", NULL, "out of memory sending %.200s", r->path);
        return;
    }
    tw_add_header(r, "Content-Type", a->content_type);
    tw_reply_send(r, 200);
}
