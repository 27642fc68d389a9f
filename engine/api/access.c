/*
 * Request ids, the access log and the single evhttp_send_reply (every reply of the API ends in
 * tw_reply_send, so each request is counted and logged exactly once, when it is answered; a
 * held POST /execute is logged when its answer goes out, with its whole duration).
 *
 * The access log line ("http.request") carries the method, the route PATTERN ("/tasks/{id}",
 * "unmatched" for a 404), the status, the body bytes, the duration and the request id. It
 * never carries the raw path or query (download URLs hold a signature), nor any header (the
 * Authorization and session headers hold secrets).
 *
 * The request id is the client's X-Request-Id when that is 1-64 characters of [A-Za-z0-9-_],
 * else 16 random hex characters; either way it is sent back as X-Request-Id.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/log.h"

const char *tw_method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    }
    return "OTHER";
}

static bool request_id_ok(const char *s)
{
    size_t n;

    for (n = 0; s[n] != '\0'; n++) {
        char c = s[n];

        if (n == 64 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return n > 0;
}

/*
 * A request id: a counter started at a random value, passed through splitmix64's finalizer.
 * The finalizer is a bijection, so ids never repeat within a process (2^64 requests), and they
 * do not look sequential; drawing 8 bytes from the system DRBG for each request cost ~2 % of
 * a GET (bench/api). Ids only need to be unique, not secret.
 */
static uint64_t next_request_id(void)
{
    static uint64_t counter;
    static bool seeded;
    struct tw_err err;
    uint64_t z;

    if (!seeded && tw_random_bytes(&counter, sizeof(counter), &err) != TW_OK)
        counter = tw_clock_mono_ns() ^ ((uint64_t)getpid() << 32);
    seeded = true;
    z = (counter += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void tw_access_begin(struct tw_req *r)
{
    const char *given = tw_req_header(r, "X-Request-Id");
    unsigned char raw[8];

    r->t0_ns = tw_clock_mono_ns();
    if (given != NULL && request_id_ok(given)) {
        snprintf(r->req_id, sizeof(r->req_id), "%s", given);
    } else {
        uint64_t id = next_request_id();

        memcpy(raw, &id, sizeof(raw));
        tw_hex(raw, sizeof(raw), r->req_id);
    }
    tw_add_header(r, "X-Request-Id", r->req_id);
}

/*
 * HEAD: the headers GET would send, no body. libevent 2.1 would write the output buffer even
 * for a HEAD, so the body is dropped here, after its length went into Content-Length.
 */
static void head_strip(struct tw_req *r)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(r->ev);
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    char len[24];

    if (r->method != EVHTTP_REQ_HEAD)
        return;
    if (evhttp_find_header(h, "Content-Length") == NULL) {
        snprintf(len, sizeof(len), "%zu", evbuffer_get_length(out));
        evhttp_add_header(h, "Content-Length", len);
    }
    evbuffer_drain(out, evbuffer_get_length(out));
}

void tw_reply_send(struct tw_req *r, int status)
{
    size_t bytes;
    uint64_t now = tw_clock_mono_ns();
    uint64_t ns = r->t0_ns != 0 && now > r->t0_ns ? now - r->t0_ns : 0;
    const char *route = r->route != NULL ? r->route : "unmatched";
    const char *method = tw_method_name(r->method);
    char status_s[16], bytes_s[24], ms_s[32];

    tw_reply_maybe_gzip(r);
    head_strip(r);
    bytes = evbuffer_get_length(evhttp_request_get_output_buffer(r->ev));
    tw_metrics_http(r->api, route, method, status, (double)ns / 1e9);
    if (r->probe)
        r->probe_status = status; /* expect.c writes it itself */
    if (!tw_log_enabled(TW_LOG_INFO)) {
        if (!r->probe)
            evhttp_send_reply(r->ev, status, NULL, NULL);
        return;
    }
    snprintf(status_s, sizeof(status_s), "%d", status);
    snprintf(bytes_s, sizeof(bytes_s), "%zu", bytes);
    snprintf(ms_s, sizeof(ms_s), "%.3f", (double)ns / 1e6);
    tw_log(TW_LOG_INFO, "http.request", "request_id", r->req_id[0] ? r->req_id : "-", "method",
           method, "route", route, "status", status_s, "bytes", bytes_s, "duration_ms", ms_s,
           (const char *)NULL);
    if (!r->probe)
        evhttp_send_reply(r->ev, status, NULL, NULL);
}
