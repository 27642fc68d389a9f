/*
 * Outbound HTTP on the event loop (httpc/httpc.c) against a real evhttp receiver on loopback in
 * the same loop: answers arrive through callbacks, the private-address check refuses loopback
 * unless allowed, and peers that never answer time out without holding up the loop.
 */
#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpc/httpc.h"

struct receiver {
    struct evhttp *http;
    unsigned port;
    int answer; /* status to answer */
    int seen;   /* requests received */
    char last_body[256];
    char last_sig[128];
};

static void on_request(struct evhttp_request *req, void *arg)
{
    struct receiver *r = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    const char *sig = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Test-Sig");

    if (n >= sizeof(r->last_body))
        n = sizeof(r->last_body) - 1;
    evbuffer_copyout(in, r->last_body, n);
    r->last_body[n] = '\0';
    snprintf(r->last_sig, sizeof(r->last_sig), "%s", sig != NULL ? sig : "");
    r->seen++;
    evhttp_send_reply(req, r->answer, "X", NULL);
}

static void receiver_start(struct event_base *base, struct receiver *r, int answer)
{
    struct evhttp_bound_socket *bs;
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);

    memset(r, 0, sizeof(*r));
    r->answer = answer;
    r->http = evhttp_new(base);
    cr_assert_not_null(r->http);
    evhttp_set_gencb(r->http, on_request, r);
    bs = evhttp_bind_socket_with_handle(r->http, "127.0.0.1", 0);
    cr_assert_not_null(bs);
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &len);
    r->port = ntohs(sa.sin_port);
}

struct outcome {
    int done;
    long status;
    char error[256];
    struct event_base *base;
    int stop_after;
    int *counter;
};

static void on_done(const struct tw_httpc_result *res, void *arg)
{
    struct outcome *o = arg;

    o->done++;
    o->status = res->status;
    snprintf(o->error, sizeof(o->error), "%s", res->error);
    if (o->counter != NULL && ++*o->counter == o->stop_after)
        event_base_loopexit(o->base, NULL);
    else if (o->counter == NULL)
        event_base_loopexit(o->base, NULL);
}

static void post(struct tw_httpc *c, const char *url, bool allow_private, long timeout_ms,
                 struct outcome *o)
{
    static const char *const headers[] = { "Content-Type: application/json",
                                           "X-Test-Sig: t=1,v1=ab", NULL };
    struct tw_httpc_req req = { url, headers,    "{\"event\":\"task.done\"}",
                                21,  timeout_ms, allow_private };
    struct tw_err err;

    cr_assert_eq(tw_httpc_post(c, &req, on_done, o, &err), TW_OK, "%s", err.msg);
}

Test(httpc, posts_to_a_receiver_and_reports_its_status)
{
    struct event_base *base = event_base_new();
    struct receiver r;
    struct outcome o = { .base = base };
    struct tw_httpc *c = tw_httpc_new(base, NULL);
    char url[64];

    receiver_start(base, &r, 202);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", r.port);
    post(c, url, true, 5000, &o);
    cr_assert_eq(tw_httpc_inflight(c), 1);
    event_base_dispatch(base);
    cr_assert_eq(o.done, 1);
    cr_assert_eq(o.status, 202, "error: %s", o.error);
    cr_assert_str_eq(r.last_body, "{\"event\":\"task.done\"}");
    cr_assert_str_eq(r.last_sig, "t=1,v1=ab");
    cr_assert_eq(tw_httpc_inflight(c), 0);
    tw_httpc_free(c);
    evhttp_free(r.http);
    event_base_free(base);
}

Test(httpc, a_5xx_is_reported_as_such)
{
    struct event_base *base = event_base_new();
    struct receiver r;
    struct outcome o = { .base = base };
    struct tw_httpc *c = tw_httpc_new(base, NULL);
    char url[64];

    receiver_start(base, &r, 500);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", r.port);
    post(c, url, true, 5000, &o);
    event_base_dispatch(base);
    cr_assert_eq(o.status, 500);
    tw_httpc_free(c);
    evhttp_free(r.http);
    event_base_free(base);
}

Test(httpc, loopback_is_refused_at_connect_unless_allowed)
{
    struct event_base *base = event_base_new();
    struct receiver r;
    struct outcome o = { .base = base };
    struct tw_httpc *c = tw_httpc_new(base, NULL);
    char url[64];

    receiver_start(base, &r, 200);
    /* "localhost" resolves to loopback: the check is on the address, not the name. */
    snprintf(url, sizeof(url), "http://localhost:%u/hook", r.port);
    post(c, url, false, 5000, &o);
    event_base_dispatch(base);
    cr_assert_eq(o.status, 0);
    cr_assert_not_null(strstr(o.error, "a loopback address"), "got: %s", o.error);
    cr_assert_eq(r.seen, 0, "nothing may reach the receiver");
    tw_httpc_free(c);
    evhttp_free(r.http);
    event_base_free(base);
}

Test(httpc, only_http_and_https)
{
    struct event_base *base = event_base_new();
    struct tw_httpc *c = tw_httpc_new(base, NULL);
    struct tw_httpc_req req = { "file:///etc/passwd", NULL, NULL, 0, 1000, true };
    struct tw_err err;

    cr_assert_eq(tw_httpc_post(c, &req, on_done, NULL, &err), TW_EINVAL);
    cr_assert_eq(tw_httpc_inflight(c), 0);
    tw_httpc_free(c);
    event_base_free(base);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    int *ticks = arg;

    (void)fd;
    (void)what;
    ++*ticks;
}

Test(httpc, hanging_peers_time_out_and_never_hold_the_loop)
{
    struct event_base *base = event_base_new();
    struct tw_httpc *c = tw_httpc_new(base, NULL);
    struct outcome o[50];
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), finished = 0, ticks_before_first = -1, ticks = 0;
    struct event *tick = event_new(base, -1, EV_PERSIST, on_tick, &ticks);
    struct timeval ms1 = { 0, 1000 };
    char url[64];

    /* A peer that accepts connections (the kernel does) and never answers. */
    cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(listen(lfd, 128), 0);
    getsockname(lfd, (struct sockaddr *)&sa, &len);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/slow", ntohs(sa.sin_port));
    event_add(tick, &ms1);
    for (int i = 0; i < 50; i++) {
        o[i] = (struct outcome){ .base = base, .stop_after = 50, .counter = &finished };
        post(c, url, true, 400, &o[i]);
    }
    cr_assert_eq(tw_httpc_inflight(c), 50);
    event_base_dispatch(base);
    ticks_before_first = ticks;
    for (int i = 0; i < 50; i++) {
        cr_assert_eq(o[i].done, 1);
        cr_assert_eq(o[i].status, 0);
        cr_assert_not_null(strstr(o[i].error, "Timeout"), "got: %s", o[i].error);
    }
    /* The 1 ms timer kept firing while 50 requests waited 400 ms each: the loop was free. */
    cr_assert_gt(ticks_before_first, 10, "the loop was held: %d ticks", ticks_before_first);
    event_free(tick);
    close(lfd);
    tw_httpc_free(c);
    event_base_free(base);
}

Test(httpc, private_address_table)
{
    static const struct {
        const char *a;
        bool bad;
    } cases[] = {
        { "127.0.0.1", true },
        { "127.255.1.2", true },
        { "10.0.0.1", true },
        { "172.16.0.1", true },
        { "172.31.255.255", true },
        { "172.32.0.1", false },
        { "192.168.1.1", true },
        { "169.254.169.254", true },
        { "100.64.0.1", true },
        { "0.0.0.0", true },
        { "224.0.0.1", true },
        { "255.255.255.255", true },
        { "8.8.8.8", false },
        { "93.184.216.34", false },
        { "::1", true },
        { "::", true },
        { "fe80::1", true },
        { "fd00::1", true },
        { "fc00::1", true },
        { "ff02::1", true },
        { "::ffff:127.0.0.1", true },
        { "::ffff:10.1.2.3", true },
        { "::ffff:8.8.8.8", false },
        { "2001:4860:4860::8888", false },
        { "example.com", false },
        { "", false },
    };
    const char *why;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_expect_eq(tw_httpc_addr_private(cases[i].a, &why), cases[i].bad, "%s", cases[i].a);
}
