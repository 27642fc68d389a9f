/*
 * AWS Signature Version 4 for S3 (and any S3-compatible store): the Authorization header of a
 * request, and pre-signed (query-string authenticated) URLs. Pure: no I/O, no clock; the caller
 * passes the signing time. The algorithm is AWS's "Signature Version 4 signing process"; the
 * worked examples of AWS's S3 documentation are the unit tests (tests/unit/core/test_sigv4.c).
 *
 * Paths and query values are given raw (unencoded); this module encodes them as SigV4 wants
 * (RFC 3986 unreserved characters kept, everything else %XX, '/' kept in paths) and returns the
 * encoded forms, so the bytes that are signed are the bytes that are sent.
 */
#ifndef TW_CORE_SIGV4_H
#define TW_CORE_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "core/err.h"

/* SHA-256 of the empty string: the payload hash of a request without a body. */
#define TW_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/* The payload hash of a pre-signed URL: the body is not known when the URL is made. */
#define TW_SIGV4_UNSIGNED "UNSIGNED-PAYLOAD"

struct tw_sigv4_creds {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL or "" when not using temporary credentials */
    const char *region;        /* "us-east-1" */
    const char *service;       /* "s3" */
};

struct tw_sigv4_pair {
    const char *name;
    const char *value;
};

/*
 * A request to sign. headers must include "host"; names may be in any case (they are
 * lowercased), values are trimmed and inner runs of spaces folded as SigV4 requires.
 * query holds raw name/value pairs (value "" for a bare name such as "?uploads").
 */
struct tw_sigv4_request {
    const char *method;                /* "GET", "PUT", ... */
    const char *path;                  /* raw, starting with '/' */
    const struct tw_sigv4_pair *query; /* n_query pairs, any order */
    size_t n_query;
    const struct tw_sigv4_pair *headers; /* n_headers pairs, any order */
    size_t n_headers;
    const char *payload_sha256; /* lowercase hex, or TW_SIGV4_UNSIGNED */
};

/*
 * The value of the Authorization header for req signed at time now, written to out (cap bytes).
 * The caller must also send x-amz-date (tw_sigv4_amz_date) and x-amz-content-sha256, and sign
 * them, i.e. list them in req->headers. Returns TW_OK, or TW_EINVAL when out is too small or an
 * input is missing.
 */
int tw_sigv4_authorization(const struct tw_sigv4_creds *creds, const struct tw_sigv4_request *req,
                           time_t now, char *out, size_t cap, struct tw_err *err);

/*
 * A pre-signed URL: scheme_host is "https://bucket.s3.amazonaws.com" (no trailing slash; its
 * host part must equal req's "host" header, the only header a pre-signed URL signs). The URL
 * (scheme_host + encoded path + query with X-Amz-* parameters and the signature) goes to out.
 * expires is X-Amz-Expires in seconds (1..604800).
 */
int tw_sigv4_presign(const struct tw_sigv4_creds *creds, const struct tw_sigv4_request *req,
                     const char *scheme_host, long expires, time_t now, char *out, size_t cap,
                     struct tw_err *err);

/* "20130524T000000Z" for t (UTC) into out[17]. */
void tw_sigv4_amz_date(time_t t, char out[17]);

/*
 * Percent-encode src as SigV4 wants into out (cap bytes): unreserved characters (A-Z a-z 0-9
 * - . _ ~) kept, '/' kept when keep_slash, everything else %XX with uppercase hex. Returns the
 * length written, or -1 when it does not fit.
 */
long tw_sigv4_encode(const char *src, int keep_slash, char *out, size_t cap);

#endif
