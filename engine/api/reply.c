/*
 * Replies: JSON bodies and the error envelope of docs/reference.md §3. Every handler ends in exactly one
 * call here, which sends through tw_reply_send (access.c: metrics, access log, the single
 * evhttp_send_reply).
 *
 * When adding an error name, also add it to the README's error table (its number is public).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "api/api_int.h"
#include "core/mem.h"

static const struct {
    const char *name;
    int code;
} error_codes[] = {
    { "invalid_json", 100 },       { "validation_failed", 101 },
    { "no_valid_session", 6 },     { "permission_denied", 103 },
    { "invalid_signature", 104 },  { "url_expired", 105 },
    { "task_not_found", 106 },     { "segment_not_found", 107 },
    { "method_not_allowed", 108 }, { "task_in_progress", 109 },
    { "task_not_done", 110 },      { "result_expired", 111 },
    { "version_conflict", 112 },   { "idempotency_conflict", 113 },
    { "segment_in_use", 114 },     { "payload_too_large", 115 },
    { "rate_limited", 116 },       { "internal_error", 117 },
    { "unavailable", 118 },        { "not_found", 119 },
    { "quota_exceeded", 120 },     { "result_replaced", 121 },
};

int tw_error_code(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(error_codes) / sizeof(error_codes[0]); i++)
        if (strcmp(error_codes[i].name, name) == 0)
            return error_codes[i].code;
    return 117;
}

void tw_add_header(struct tw_req *r, const char *name, const char *value)
{
    evhttp_add_header(evhttp_request_get_output_headers(r->ev), name, value);
}

const char *tw_req_header(struct tw_req *r, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

static void send_text(struct tw_req *r, int status, const char *body, size_t len)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(r->ev);

    if (body != NULL) {
        tw_add_header(r, "Content-Type", "application/json");
        evbuffer_add(out, body, len);
    }
    tw_reply_send(r, status); /* access.c: counts, logs, evhttp_send_reply */
}

void tw_reply_json(struct tw_req *r, int status, json_t *body)
{
    char *text;

    if (body == NULL) {
        tw_reply_error(r, 500, "internal_error", NULL, "out of memory building the reply");
        return;
    }
    text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    if (text == NULL) {
        tw_reply_error(r, 500, "internal_error", NULL, "out of memory serializing the reply");
        return;
    }
    send_text(r, status, text, strlen(text));
    free(text); /* allocated by jansson with malloc */
}

void tw_reply_text(struct tw_req *r, int status, const char *body, size_t len)
{
    send_text(r, status, body, len);
}

void tw_reply_empty(struct tw_req *r, int status)
{
    send_text(r, status, NULL, 0);
}

void tw_reply_error(struct tw_req *r, int status, const char *name, const char *field,
                    const char *fmt, ...)
{
    char desc[1024];
    va_list ap;
    json_t *err;
    json_t *body;

    va_start(ap, fmt);
    vsnprintf(desc, sizeof(desc), fmt, ap);
    va_end(ap);
    err = json_pack("{s:i, s:s, s:s}", "code", tw_error_code(name), "name", name, "description",
                    desc);
    if (err != NULL && field != NULL && field[0] != '\0')
        json_object_set_new(err, "field", json_string(field));
    body = json_pack("{s:{s:i, s:s}, s:o*}", "result", "code", 2, "status", "error", "error", err);
    if (body == NULL) {
        static const char oom[] = "{\"result\":{\"code\":2,\"status\":\"error\"}}";

        send_text(r, status, oom, sizeof(oom) - 1);
        return;
    }
    tw_reply_json(r, status, body);
}

void tw_reply_err(struct tw_req *r, const struct tw_err *e)
{
    switch (e->code) {
    case TW_EINVAL: tw_reply_error(r, 400, "validation_failed", e->field, "%s", e->msg); return;
    case TW_ENOTFOUND: tw_reply_error(r, 404, "task_not_found", NULL, "%s", e->msg); return;
    case TW_ECONFLICT: tw_reply_error(r, 409, "version_conflict", NULL, "%s", e->msg); return;
    case TW_EPERM: tw_reply_error(r, 403, "permission_denied", NULL, "%s", e->msg); return;
    case TW_EAUTH: tw_reply_error(r, 401, "no_valid_session", NULL, "%s", e->msg); return;
    case TW_ESTORE: tw_reply_error(r, 503, "unavailable", NULL, "%s", e->msg); return;
    case TW_ELIMIT: /* a stored quota (limits.max_tasks_per_chain): not transient */
        tw_reply_error(r, 409, "quota_exceeded", e->field[0] ? e->field : NULL, "%s", e->msg);
        return;
    default:
        tw_reply_error(r, 500, "internal_error", NULL, "%s", e->msg[0] ? e->msg : "unexpected");
        return;
    }
}
