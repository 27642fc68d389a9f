/*
 * The HTTP side of the command-line client (`taskwheel task ...`, docs/client.md): requests to
 * a taskwheel (or Spaaza-compatible) Tasks API over libcurl's easy interface, the error
 * envelope of docs/reference.md §3 read back into words, admin-user login (§4), and result
 * downloads that resume a partial file and verify size and SHA-256 (§7.4).
 *
 * One struct tw_client per process; not thread-safe. Nothing here prints or exits: failures
 * come back as a status and a sentence in a caller-owned struct tw_err.
 */
#ifndef TW_CLIENT_CLIENT_H
#define TW_CLIENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"

struct tw_client;

struct tw_client_opts {
    const char *url;        /* base URL, "http://host:8080" or "https://host/prefix"; required */
    const char *token;      /* "TOKEN_ID:SECRET" sent as Bearer, or NULL */
    int64_t chain;          /* X-Spaaza-Session-Chain-Id of an admin session; 0 when none */
    long connect_timeout_s; /* 0: 10 s */
};

/* A new client (*out, free with tw_client_free). TW_EINVAL when the URL is not http(s). */
int tw_client_new(const struct tw_client_opts *o, struct tw_client **out, struct tw_err *err);
void tw_client_free(struct tw_client *c);

/* The base URL as given, without a trailing slash (for messages). */
const char *tw_client_base(const struct tw_client *c);

/* One answer. Fields are owned by the struct; release with tw_client_resp_fini. */
struct tw_client_resp {
    long status;           /* HTTP status */
    char *body;            /* NUL-terminated, "" when empty */
    size_t len;            /* bytes of body */
    json_t *json;          /* the parsed body, NULL when it is not JSON */
    long long total_count; /* X-Total-Count, -1 when absent */
    long retry_after;      /* Retry-After in seconds, -1 when absent */
    const char *err_name;  /* error.name of an error envelope, else NULL (points into json) */
    const char *err_desc;  /* error.description, else NULL */
    const char *err_field; /* error.field, else NULL */
};
void tw_client_resp_fini(struct tw_client_resp *r);

/*
 * method path on the API: path starts with '/' and may hold a query, already escaped (see
 * tw_client_escape). body (may be NULL) is sent as application/json. headers: extra
 * NULL-terminated "Name: value" lines, may be NULL. timeout_s 0 waits as long as it takes
 * (a held execute). A 429 rate_limited with a Retry-After of at most 30 s is waited out and
 * sent again, up to 3 times. TW_OK whenever the server answered, whatever the status (see
 * tw_client_failed); TW_EIO with "cannot reach URL: why" when it did not; TW_ENOMEM.
 */
int tw_client_call(struct tw_client *c, const char *method, const char *path, const char *body,
                   const char *const *headers, long timeout_s, struct tw_client_resp *r,
                   struct tw_err *err);

/* Whether r is an HTTP error (status >= 400); then a one-line account of it in msg:
 * "HTTP 404 task_not_found: no task 7 ..." from the envelope, or the start of the body. */
bool tw_client_failed(const struct tw_client_resp *r, char *msg, size_t len);

/* Whether s may go into a header value: no control characters (CR and LF above all). */
bool tw_client_header_safe(const char *s);

/* A query value escaped for a URL, into buf; false when it does not fit. */
bool tw_client_escape(const char *s, char *buf, size_t len);

/*
 * POST /auth/login with user and password; on success later requests carry the session
 * headers (X-Spaaza-Session-User-Id, -Key, and -Chain-Id = opts.chain, which must be set).
 * TW_EAUTH with the service's error in err when refused, TW_EIO when unreachable.
 */
int tw_client_login(struct tw_client *c, const char *user, const char *password,
                    struct tw_err *err);

/* What a download did (tw_client_download). */
struct tw_client_dl {
    int64_t resumed_from;  /* bytes already in the file and kept, 0 when fetched whole */
    int64_t fetched;       /* bytes received now */
    bool already_complete; /* the file was whole already: nothing fetched, only verified */
    char sha256[65];       /* the file's SHA-256 (hex) as computed */
};

/*
 * Fetch url (a signed download URL: sent without the API credentials) into path, or to
 * standard output when path is "-". An existing shorter file at path is resumed with a Range
 * request; one of the expected size is only verified. The result must be expect_size bytes
 * with SHA-256 expect_sha256 (hex; either check skipped when < 0 / NULL):
 *   TW_OK verified; TW_ECONFLICT size or hash mismatch (err says which, and the file is left
 *   in place for the user to look at); TW_EIO network or file error; TW_EINVAL the file is
 *   larger than expected (nothing touched).
 * Nothing the user had is ever deleted (an empty file this call created for an answer that
 * never came is removed again).
 */
int tw_client_download(struct tw_client *c, const char *url, const char *path, int64_t expect_size,
                       const char *expect_sha256, struct tw_client_dl *out, struct tw_err *err);

#endif
