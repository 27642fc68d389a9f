/*
 * GET /openapi.json (docs/reference.md §15): docs/openapi.yaml, compiled into the binary (engine/assets),
 * converted to JSON once per process and served without credentials.
 *
 * The conversion reads the YAML through core/yaml.h's tree and types plain scalars as the YAML
 * 1.2 core schema does (what every OpenAPI tool assumes): null, true/false, integers and floats
 * are JSON null, booleans and numbers; everything else, and every quoted or block scalar, is a
 * string. So `"200":` stays the string key it must be and `maximum: 100` is the number 100.
 *
 * Decisions:
 * - The JSON is built on the first request and kept for the life of the process (the document
 *   cannot change under a running binary); a document that does not convert is a 500 naming the
 *   line, which only a broken build can produce (tests/api/test_openapi.c catches it).
 * - ETag is the SHA-256 of the JSON text; If-None-Match with it answers 304. Cache-Control:
 *   no-cache, so clients revalidate after an upgrade. Large as it is, the reply is gzipped
 *   like every JSON reply when the client accepts it (gzip.c).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "api/api_int.h"
#include "assets/assets.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/yaml.h"

#define OPENAPI_ASSET "docs/openapi.yaml"

/* The converted document: text and its quoted ETag. Process-wide, built once, never freed. */
static char *openapi_text;
static size_t openapi_len;
static char openapi_etag[68];

static bool all_of(const char *s, const char *set)
{
    return *s != '\0' && s[strspn(s, set)] == '\0';
}

/* A plain scalar as the YAML 1.2 core schema reads it (the JSON value, new reference). */
static json_t *plain_scalar(const struct tw_yaml_node *n, struct tw_err *err)
{
    const char *s = n->scalar;
    const char *digits = s + (s[0] == '-' || s[0] == '+');
    bool b;
    char *end;

    if (tw_yaml_is_null(n))
        return json_null();
    if (tw_yaml_as_bool(n, &b))
        return json_boolean(b);
    if (all_of(digits, "0123456789")) {
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == 0 && *end == '\0')
            return json_integer(v);
        tw_err_set(err, TW_EINVAL, "%u:%u: integer %s out of range", n->line, n->col, s);
        return NULL;
    }
    if ((strncmp(s, "0x", 2) == 0 && all_of(s + 2, "0123456789abcdefABCDEF")) ||
        (strncmp(s, "0o", 2) == 0 && all_of(s + 2, "01234567"))) {
        return json_integer(strtoll(s + 2, NULL, s[1] == 'x' ? 16 : 8));
    }
    /* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
    if (strchr("0123456789.", digits[0]) != NULL && digits[0] != '\0' &&
        all_of(digits, "0123456789.eE+-")) {
        double d = strtod(s, &end);

        if (*end == '\0' && isfinite(d) && strcmp(digits, ".") != 0)
            return json_real(d);
    }
    if (strcmp(digits, ".inf") == 0 || strcmp(digits, ".Inf") == 0 || strcmp(digits, ".INF") == 0 ||
        strcmp(s, ".nan") == 0 || strcmp(s, ".NaN") == 0 || strcmp(s, ".NAN") == 0) {
        tw_err_set(err, TW_EINVAL, "%u:%u: %s has no JSON form", n->line, n->col, s);
        return NULL;
    }
    return json_string(s);
}

/* The JSON form of a YAML tree (new reference), or NULL with err set. */
static json_t *to_json(const struct tw_yaml_node *n, struct tw_err *err)
{
    json_t *out;
    size_t i;

    switch (n->kind) {
    case TW_YAML_SCALAR:
        out = n->plain ? plain_scalar(n, err) : json_string(n->scalar);
        if (out == NULL && err->code == TW_OK)
            tw_err_set(err, TW_ENOMEM, "out of memory converting the OpenAPI document");
        return out;
    case TW_YAML_SEQUENCE:
        out = json_array();
        for (i = 0; out != NULL && i < n->n; i++) {
            json_t *v = to_json(n->items[i], err);

            if (v == NULL || json_array_append_new(out, v) != 0) {
                json_decref(out);
                out = NULL;
            }
        }
        break;
    default:
        out = json_object();
        for (i = 0; out != NULL && i < n->n; i++) {
            json_t *v = to_json(n->pairs[i].value, err);

            if (v == NULL || json_object_set_new(out, n->pairs[i].key->scalar, v) != 0) {
                json_decref(out);
                out = NULL;
            }
        }
        break;
    }
    if (out == NULL && err->code == TW_OK)
        tw_err_set(err, TW_ENOMEM, "out of memory converting the OpenAPI document");
    return out;
}

/* Build openapi_text once; false with err set when the embedded document is missing or bad. */
static bool openapi_build(struct tw_err *err)
{
    const struct tw_asset *a;
    struct tw_yaml_node *root = NULL;
    json_t *doc;
    char sha[65];

    if (openapi_text != NULL)
        return true;
    a = tw_asset_find(OPENAPI_ASSET);
    if (a == NULL) {
        tw_err_set(err, TW_ENOTFOUND, "this build has no " OPENAPI_ASSET);
        return false;
    }
    if (tw_yaml_parse((const char *)a->data, a->len, OPENAPI_ASSET, &root, err) != TW_OK)
        return false;
    if (root == NULL) {
        tw_err_set(err, TW_EINVAL, OPENAPI_ASSET " is empty");
        return false;
    }
    doc = to_json(root, err);
    tw_yaml_destroy(root);
    if (doc == NULL)
        return false;
    openapi_text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (openapi_text == NULL) {
        tw_err_set(err, TW_ENOMEM, "out of memory serializing the OpenAPI document");
        return false;
    }
    openapi_len = strlen(openapi_text);
    tw_sha256_hex(openapi_text, openapi_len, sha);
    snprintf(openapi_etag, sizeof(openapi_etag), "\"%s\"", sha);
    return true;
}

/* Whether If-None-Match (a list of tags, or *) holds etag. */
static bool etag_matches(const char *inm, const char *etag)
{
    size_t len = strlen(etag);

    while (inm != NULL && *inm != '\0') {
        inm += strspn(inm, " \t,");
        if (inm[0] == '*')
            return true;
        if (strncmp(inm, "W/", 2) == 0)
            inm += 2; /* weak comparison, as RFC 9110 §13.1.2 asks for If-None-Match */
        if (strncmp(inm, etag, len) == 0 && strchr(" \t,", inm[len]) != NULL)
            return true;
        inm += strcspn(inm, ",");
    }
    return false;
}

void tw_api_openapi(struct tw_req *r)
{
    struct tw_err err;

    tw_err_clear(&err);
    if (!openapi_build(&err)) {
        tw_reply_error(r, 500, "internal_error", NULL, "the OpenAPI document: %s", err.msg);
        return;
    }
    tw_add_header(r, "ETag", openapi_etag);
    tw_add_header(r, "Cache-Control", "no-cache");
    if (etag_matches(tw_req_header(r, "If-None-Match"), openapi_etag)) {
        tw_reply_send(r, 304);
        return;
    }
    tw_add_header(r, "Content-Type", "application/json");
    evbuffer_add_reference(evhttp_request_get_output_buffer(r->ev), openapi_text, openapi_len, NULL,
                           NULL);
    tw_reply_send(r, 200);
}
