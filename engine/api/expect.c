/*
 * "Expect: 100-continue" answered before the upload (RFC 9110 §10.1.1): a client that asks
 * before sending a large body must get the final answer first when the request is going to
 * fail anyway. libevent 2.1 sends "100 Continue" itself as soon as it has read the headers and
 * calls us only once the whole body is in, so a 1 MB upload with a bad token was read in full
 * before its 401. libevent 2.1 has no hook between headers and body on the server side.
 *
 * So conns.c shows us each request's bytes as they arrive (its input callback runs before
 * evhttp parses them). When a complete header block with Expect: 100-continue is there and no
 * body byte yet, we check what can be checked from the headers alone: the route's credentials
 * (the same tw_auth_caller, on a request object of our own holding a copy of the headers) and
 * the announced Content-Length against http.max_body. If the request would fail, the error is
 * written straight to the socket with Connection: close, the buffered headers are dropped and
 * the socket is shut down, so evhttp sees the end of the connection and frees it the normal
 * way. Otherwise nothing changes and evhttp goes on (100 Continue, body, handler).
 *
 * Only the few header lines needed are read, and only for this decision; anything unusual
 * (a folded line, no request line we understand) leaves the request to evhttp.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api/api_int.h"
#include "core/mem.h"

static bool method_of(const char *s, size_t len, enum evhttp_cmd_type *m)
{
    static const struct {
        const char *name;
        enum evhttp_cmd_type m;
    } names[] = { { "POST", EVHTTP_REQ_POST },
                  { "PUT", EVHTTP_REQ_PUT },
                  { "PATCH", EVHTTP_REQ_PATCH },
                  { "DELETE", EVHTTP_REQ_DELETE },
                  { "GET", EVHTTP_REQ_GET } };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i].name) == len && memcmp(names[i].name, s, len) == 0) {
            *m = names[i].m;
            return true;
        }
    return false;
}

/* Copy the header lines of block (after the request line) into h. false when malformed. */
static bool read_headers(char *block, struct evkeyvalq *h)
{
    char *line = strstr(block, "\r\n");

    while (line != NULL) {
        char *end, *colon, *v;

        line += 2;
        end = strstr(line, "\r\n");
        if (end == NULL || end == line)
            return true; /* the blank line */
        *end = '\0';
        colon = strchr(line, ':');
        if (colon == NULL || line[0] == ' ' || line[0] == '\t')
            return false;
        *colon = '\0';
        v = colon + 1 + strspn(colon + 1, " \t");
        while (*v != '\0' && (v[strlen(v) - 1] == ' ' || v[strlen(v) - 1] == '\t'))
            v[strlen(v) - 1] = '\0';
        if (evhttp_add_header(h, line, v) != 0)
            return false;
        line = end;
    }
    return false;
}

/* Write r's reply (status, headers, body) to fd as a complete HTTP/1.1 response. */
static void write_raw(struct tw_req *r, int status, int fd)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    struct evbuffer *body = evhttp_request_get_output_buffer(r->ev);
    struct evbuffer *out = evbuffer_new();
    struct evkeyval *kv;

    if (out == NULL)
        return;
    evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status,
                        status == 401   ? "Unauthorized"
                        : status == 413 ? "Payload Too Large"
                        : status == 403 ? "Forbidden"
                        : status == 503 ? "Service Unavailable"
                                        : "Error");
    for (kv = h->tqh_first; kv != NULL; kv = kv->next.tqe_next)
        evbuffer_add_printf(out, "%s: %s\r\n", kv->key, kv->value);
    evbuffer_add_printf(out, "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                        evbuffer_get_length(body));
    evbuffer_add_buffer(out, body);
    while (evbuffer_get_length(out) > 0 && evbuffer_write(out, fd) > 0)
        ;
    evbuffer_free(out);
}

/*
 * Decide on a request that expects 100-continue, from its headers in block (NUL-terminated,
 * modifiable). Returns the status it was answered with on fd, or 0 to let evhttp go on.
 */
static int decide(struct tw_api *api, char *block, int fd)
{
    enum evhttp_cmd_type m;
    struct evhttp_request *fake;
    struct tw_req r;
    const char *cl, *expect;
    char *sp1, *sp2, *q;
    int status = 0;

    sp1 = strchr(block, ' ');
    if (sp1 == NULL || !method_of(block, (size_t)(sp1 - block), &m))
        return 0;
    sp2 = strchr(sp1 + 1, ' ');
    if (sp2 == NULL || sp1[1] != '/' || strncmp(sp2, " HTTP/1.1\r\n", 11) != 0)
        return 0;
    fake = evhttp_request_new(NULL, NULL);
    if (fake == NULL)
        return 0;
    memset(&r, 0, sizeof(r));
    r.ev = fake;
    r.api = api;
    r.method = m;
    r.probe = true;
    *sp2 = '\0';
    q = strchr(sp1 + 1, '?');
    if (q != NULL)
        *q = '\0';
    r.path = sp1 + 1;
    r.route = "expect";
    expect = NULL;
    if (read_headers(sp2 + 1, evhttp_request_get_input_headers(fake)))
        expect = evhttp_find_header(evhttp_request_get_input_headers(fake), "Expect");
    if (expect != NULL && strcasecmp(expect, "100-continue") == 0) {
        tw_access_begin(&r);
        cl = tw_req_header(&r, "Content-Length");
        if (tw_router_needs_auth(m, r.path) && !tw_auth_caller(&r)) {
            status = r.probe_status;
        } else if (cl != NULL && strspn(cl, "0123456789") == strlen(cl) && strlen(cl) < 19 &&
                   strtoull(cl, NULL, 10) > api->d.cfg->http_max_body_bytes) {
            tw_reply_error(&r, 413, "payload_too_large", NULL,
                           "request body is %s bytes; the "
                           "limit is %" PRIu64 " bytes",
                           cl, api->d.cfg->http_max_body_bytes);
            status = r.probe_status;
        }
        if (status != 0)
            write_raw(&r, status, fd);
    }
    tw_caller_fini(&r.caller);
    evhttp_request_free(fake);
    return status;
}

bool tw_expect_early_answer(struct tw_api *api, struct bufferevent *bev)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t max = api->d.cfg->http_max_header_bytes, len = evbuffer_get_length(in);
    struct evbuffer_ptr end;
    evutil_socket_t fd = bufferevent_getfd(bev);
    char *block;
    int status;

    if (fd < 0 || evbuffer_get_length(bufferevent_get_output(bev)) > 0)
        return false; /* a reply is still going out: not our moment */
    end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    if (end.pos < 0 || (size_t)end.pos + 4 != len || (size_t)end.pos > max)
        return false; /* headers incomplete, or body bytes already here */
    if (evbuffer_search(in, "100-continue", 12, NULL).pos < 0)
        return false; /* the common case costs one search */
    block = tw_malloc(len + 1);
    if (block == NULL)
        return false;
    evbuffer_copyout(in, block, len);
    block[len] = '\0';
    status = decide(api, block, fd);
    tw_free(block);
    if (status == 0)
        return false;
    evbuffer_drain(in, len);
    shutdown(fd, SHUT_RDWR);
    return true;
}
