/*
 * Request helpers: body, path and query parsing with the replies their failures deserve, so
 * handlers read as a list of checks.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/http_struct.h>

#include "api/api_int.h"
#include "core/fmt.h"

json_t *tw_req_json_body(struct tw_req *r)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
    size_t len = evbuffer_get_length(in);
    const char *data;
    json_error_t jerr;
    json_t *j;

    /*
     * libevent itself refuses bodies above its own limit, which the server sets higher than
     * http.max_body (see server.c) so that ordinary oversized bodies get our JSON envelope.
     */
    if (len > r->api->d.cfg->http_max_body_bytes) {
        tw_reply_error(r, 413, "payload_too_large", NULL,
                       "request body is %zu bytes; the limit is %" PRIu64 " bytes", len,
                       r->api->d.cfg->http_max_body_bytes);
        return NULL;
    }
    if (len == 0) {
        tw_reply_error(r, 400, "invalid_json", NULL,
                       "request body is empty; expected a JSON object");
        return NULL;
    }
    data = (const char *)evbuffer_pullup(in, -1);
    /* Duplicate keys are refused: which of two "chain"s a client meant is not ours to guess. */
    j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) {
        tw_reply_error(r, 400, "invalid_json", NULL,
                       "body is not valid JSON: %s at line %d column %d", jerr.text, jerr.line,
                       jerr.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        tw_reply_error(r, 400, "invalid_json", NULL, "body must be a JSON object, got %s",
                       json_is_array(j)    ? "an array"
                       : json_is_string(j) ? "a string"
                       : json_is_number(j) ? "a number"
                                           : "a literal");
        json_decref(j);
        return NULL;
    }
    return j;
}

bool tw_req_path_id(struct tw_req *r, size_t i, const char *what, int64_t *out)
{
    const char *s = r->params[i];

    if (!tw_parse_i64(s, out) || *out <= 0) {
        tw_reply_error(r, 400, "validation_failed", "id",
                       "%s id must be a positive integer (got \"%.64s\")", what, s ? s : "");
        return false;
    }
    return true;
}

bool tw_req_query_int(struct tw_req *r, const char *name, int64_t def, int64_t min, int64_t max,
                      int64_t *out)
{
    const char *s = evhttp_find_header(&r->query, name);

    if (s == NULL) {
        *out = def;
        return true;
    }
    if (!tw_parse_i64(s, out) || *out < min || *out > max) {
        tw_reply_error(r, 400, "validation_failed", name,
                       "%s must be an integer between %" PRId64 " and %" PRId64 " (got \"%.64s\")",
                       name, min, max, s);
        return false;
    }
    return true;
}

bool tw_req_query_only(struct tw_req *r, const char *const *allowed)
{
    struct evkeyval *kv;
    size_t i;

    for (kv = r->query.tqh_first; kv != NULL; kv = kv->next.tqe_next) {
        for (i = 0; allowed[i] != NULL; i++)
            if (strcmp(kv->key, allowed[i]) == 0)
                break;
        if (allowed[i] == NULL) {
            tw_reply_error(r, 400, "validation_failed", kv->key,
                           "unknown query parameter \"%.64s\"", kv->key);
            return false;
        }
    }
    return true;
}

/* How many times header name occurs in r's request; *first gets the first value. */
static int header_count(struct tw_req *r, const char *name, const char **first)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(r->ev);
    struct evkeyval *kv;
    int n = 0;

    *first = NULL;
    for (kv = h->tqh_first; kv != NULL; kv = kv->next.tqe_next)
        if (strcasecmp(kv->key, name) == 0) {
            if (n++ == 0)
                *first = kv->value;
        }
    return n;
}

bool tw_req_framing_ok(struct tw_req *r)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(r->ev);
    const char *cl, *host, *te;
    struct evkeyval *kv;
    int n_cl = header_count(r, "Content-Length", &cl);
    int n_host = header_count(r, "Host", &host);
    const char *why = NULL;

    if (n_cl > 1)
        for (kv = h->tqh_first; kv != NULL && why == NULL; kv = kv->next.tqe_next)
            if (strcasecmp(kv->key, "Content-Length") == 0 && strcmp(kv->value, cl) != 0)
                why = "two different Content-Length headers: the body's length is ambiguous";
    if (why == NULL && n_cl > 0 && header_count(r, "Transfer-Encoding", &te) > 0)
        why = "both Content-Length and Transfer-Encoding: the body's length is ambiguous";
    /* RFC 9112 3.2: an HTTP/1.1 request without exactly one Host is a 400. */
    if (why == NULL && r->ev->major == 1 && r->ev->minor >= 1 && n_host != 1)
        why = n_host == 0 ? "an HTTP/1.1 request needs a Host header" : "more than one Host header";
    if (why == NULL)
        return true;
    tw_add_header(r, "Connection", "close");
    tw_reply_error(r, 400, "validation_failed", NULL, "%s", why);
    return false;
}
