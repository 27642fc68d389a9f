/*
 * Request helpers: body, path and query parsing with the replies their failures deserve, so
 * handlers read as a list of checks.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "api/api_int.h"

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
        tw_reply_error(r, 400, "invalid_json", NULL, "request body is empty; expected a JSON object");
        return NULL;
    }
    data = (const char *)evbuffer_pullup(in, -1);
    /* Duplicate keys are refused: which of two "chain"s a client meant is not ours to guess. */
    j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) {
        tw_reply_error(r, 400, "invalid_json", NULL, "body is not valid JSON: %s at line %d column %d",
                       jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        tw_reply_error(r, 400, "invalid_json", NULL, "body must be a JSON object, got %s",
                       json_is_array(j) ? "an array" : json_is_string(j) ? "a string"
                       : json_is_number(j) ? "a number" : "a literal");
        json_decref(j);
        return NULL;
    }
    return j;
}

static bool parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (s == NULL || *s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

bool tw_req_path_id(struct tw_req *r, size_t i, const char *what, int64_t *out)
{
    const char *s = r->params[i];

    if (!parse_i64(s, out) || *out <= 0) {
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
    if (!parse_i64(s, out) || *out < min || *out > max) {
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
