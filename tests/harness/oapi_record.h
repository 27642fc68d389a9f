/*
 * Every response the API tests receive through tw_http is checked against docs/openapi.yaml
 * (docs/reference.md §15; docs/openapi.md). tw_http hands each one to tests/openapi/validate.mjs (node, ajv),
 * started once per test process as a co-process that answers a verdict per response, and a
 * response the document does not describe fails the running test there, with the request, the
 * status and the schema error.
 */
#ifndef TW_TESTS_OAPI_RECORD_H
#define TW_TESTS_OAPI_RECORD_H

#include <stddef.h>

struct tw_srv;

/* Start this process's validator now (tw_srv_start does, so that node's start-up overlaps the
 * server's and never delays a test's timed steps); no-op when it runs. */
void tw_oapi_start(void);

/* Check one response of s: the request's method and target (path and query), the status,
 * the raw response header block as libcurl gave it, and the body. A misfit is cr_expect_fail. */
void tw_oapi_record(const struct tw_srv *s, const char *method, const char *target, long status,
                    const char *headers, const char *body, size_t len);

/* The same for an answer read from a raw socket: request is the text sent (its first line gives
 * the method and target), response the bytes read until the server closed. An answer cut short
 * (no complete header block) is not checked. */
void tw_oapi_raw(const struct tw_srv *s, const char *request, const char *response, size_t len);

#endif
