/*
 * The webhook outbox pump (webhook/outbox.c, enqueue.c) with a real store, the real httpc on a
 * libevent loop and an evhttp receiver on loopback that checks every signature with its own
 * HMAC code (OpenSSL directly), answers 500 for the first N deliveries, and records every
 * attempt. Retry gaps are scaled down (backoff_unit_ms) so the test takes milliseconds.
 */
#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/crypto.h"
#include "httpc/httpc.h"
#include "webhook/webhook.h"
#include "../store/store_fixture.h"

#define SECRET "whsec_receiver_knows_this"

struct receiver {
    struct evhttp *http;
    unsigned port;
    int fail_first; /* answer 500 to this many */
    int seen;
    int bad_signatures;
    char delivery[8][64];  /* the "delivery" of each attempt */
    struct timespec at[8]; /* when each attempt arrived */
    struct event_base *base;
    int stop_at; /* loopexit after this many attempts */
};

/* The receiver's own check: some v1= equals HMAC-SHA256(SECRET, "<t>." + body). */
static int signature_ok(const char *header, const char *body, size_t len)
{
    char t[32], hex[65], *msg;
    unsigned char mac[32];
    unsigned int mlen = 32;
    const char *p;

    if (header == NULL || sscanf(header, "t=%31[0-9]", t) != 1)
        return 0;
    msg = malloc(strlen(t) + 1 + len);
    sprintf(msg, "%s.", t);
    memcpy(msg + strlen(t) + 1, body, len);
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)msg, strlen(t) + 1 + len, mac,
         &mlen);
    free(msg);
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", mac[i]);
    for (p = strstr(header, "v1="); p != NULL; p = strstr(p + 3, "v1="))
        if (strncmp(p + 3, hex, 64) == 0)
            return 1;
    return 0;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct receiver *r = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    char *body = calloc(1, len + 1);
    json_t *doc;
    int n = r->seen;

    evbuffer_copyout(in, body, len);
    if (!signature_ok(
            evhttp_find_header(evhttp_request_get_input_headers(req), "Taskwheel-Signature"), body,
            len))
        r->bad_signatures++;
    doc = json_loads(body, 0, NULL);
    if (n < 8) {
        snprintf(r->delivery[n], sizeof(r->delivery[n]), "%s",
                 doc != NULL ? json_string_value(json_object_get(doc, "delivery")) : "");
        clock_gettime(CLOCK_MONOTONIC, &r->at[n]);
    }
    json_decref(doc);
    free(body);
    r->seen++;
    evhttp_send_reply(req, r->seen <= r->fail_first ? 500 : 204, "X", NULL);
    if (r->seen == r->stop_at)
        event_base_loopexit(r->base, NULL);
}

static void receiver_start(struct event_base *base, struct receiver *r, int fail_first, int stop_at)
{
    struct evhttp_bound_socket *bs;
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);

    memset(r, 0, sizeof(*r));
    r->base = base;
    r->fail_first = fail_first;
    r->stop_at = stop_at;
    r->http = evhttp_new(base);
    evhttp_set_gencb(r->http, on_request, r);
    bs = evhttp_bind_socket_with_handle(r->http, "127.0.0.1", 0);
    cr_assert_not_null(bs);
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &len);
    r->port = ntohs(sa.sin_port);
}

static struct fx fx;

static void setup(void)
{
    fx_setup(&fx);
}

static void teardown(void)
{
    fx_teardown(&fx);
}

TestSuite(outbox, .init = setup, .fini = teardown, .timeout = 60);

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t task_with_hook(const struct receiver *r, unsigned events)
{
    int64_t id = fx_insert(fx.s, 1764, "users");
    struct tw_err err;
    char url[80];

    snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", r->port);
    cr_assert_eq(tw_store_webhook_set(fx.s, id, url, events, &err), TW_OK, "%s", err.msg);
    return id;
}

static void queue(int64_t id, int state, bool expect)
{
    json_t *task = json_pack("{s:I, s:s}", "id", (json_int_t)id, "desc", "x");
    struct tw_err err;
    bool queued = false;

    cr_assert_eq(tw_webhook_enqueue(fx.s, id, 1764, state, task, now_ms(), &queued, &err), TW_OK,
                 "%s", err.msg);
    cr_assert_eq(queued, expect);
    json_decref(task);
}

static const struct tw_outbox_conf fast = {
    .timeout_ms = 2000,
    .max_attempts = 12,
    .allow_private = true,
    .backoff_unit_ms = 20,
    .max_inflight = 8,
};

static long gap_ms(const struct timespec *a, const struct timespec *b)
{
    return (long)((b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000);
}

Test(outbox, retries_with_growing_gaps_under_one_delivery_id)
{
    struct event_base *base = event_base_new();
    struct tw_httpc *http = tw_httpc_new(base, NULL);
    struct tw_delivery_attempt *list;
    struct tw_outbox_stats st;
    struct tw_outbox *o;
    struct receiver r;
    struct tw_err err;
    int64_t id;
    size_t n;

    cr_assert_eq(tw_store_webhook_secret_add(fx.s, 1764, SECRET, now_ms() / 1000, 86400, &err),
                 TW_OK);
    receiver_start(base, &r, 3, 4);
    id = task_with_hook(&r, TW_WEBHOOK_ON_DONE | TW_WEBHOOK_ON_ERROR);
    queue(id, TW_STATE_DONE, true);
    o = tw_outbox_new(base, fx.s, http, &fast, &err);
    cr_assert_not_null(o, "%s", err.msg);
    event_base_dispatch(base);

    cr_assert_eq(r.seen, 4);
    cr_assert_eq(r.bad_signatures, 0);
    for (int i = 1; i < 4; i++)
        cr_assert_str_eq(r.delivery[i], r.delivery[0], "the delivery id is stable");
    cr_assert_eq(strlen(r.delivery[0]), 36);
    /*
     * Gaps of at least 20, 40, 80 ms, less 3 ms: next_at is kept in whole milliseconds of the
     * wall clock and the gap is measured in whole milliseconds of another clock. A retry is
     * never sent before its time, so lower bounds are safe on a loaded machine.
     */
    for (int i = 1; i < 4; i++) {
        long gap = gap_ms(&r.at[i - 1], &r.at[i]);

        cr_assert_geq(gap, (20L << (i - 1)) - 3, "gap %d is %ld ms", i, gap);
    }

    /* The pump records the last attempt after the receiver answered: let it finish. */
    for (int spin = 0; spin < 200; spin++) {
        tw_outbox_stats(o, &st);
        if (st.delivered == 1)
            break;
        event_base_loop(base, EVLOOP_ONCE);
    }
    cr_assert_eq(st.delivered, 1);
    cr_assert_eq(st.failed_attempts, 3);
    cr_assert_eq(tw_store_delivery_list(fx.s, id, 50, &list, &n, &err), TW_OK);
    cr_assert_eq(n, 4);
    cr_assert_eq(list[0].status, 204);
    cr_assert_eq(list[0].attempt, 4);
    cr_assert_eq(list[3].status, 500);
    cr_assert_str_eq(list[3].error, "HTTP 500");
    tw_store_free_attempts(list, n);

    tw_httpc_free(http);
    tw_outbox_free(o);
    evhttp_free(r.http);
    event_base_free(base);
}

Test(outbox, a_pending_delivery_survives_a_stop_and_goes_out_after)
{
    struct event_base *base = event_base_new();
    struct tw_httpc *http = tw_httpc_new(base, NULL);
    struct tw_outbox *o;
    struct receiver r;
    struct tw_err err;
    int64_t id;

    cr_assert_eq(tw_store_webhook_secret_add(fx.s, 1764, SECRET, now_ms() / 1000, 86400, &err),
                 TW_OK);
    receiver_start(base, &r, 0, 1);
    id = task_with_hook(&r, TW_WEBHOOK_ON_ERROR);
    queue(id, TW_STATE_DONE, false); /* not one of its events */
    queue(id, TW_STATE_ERROR, true);
    fx_reopen(&fx); /* the server died before the pump ran */

    o = tw_outbox_new(base, fx.s, http, &fast, &err);
    event_base_dispatch(base);
    cr_assert_eq(r.seen, 1);
    cr_assert_eq(r.bad_signatures, 0);
    tw_httpc_free(http);
    tw_outbox_free(o);
    evhttp_free(r.http);
    event_base_free(base);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopexit(arg, NULL);
}

Test(outbox, gives_up_after_max_attempts_and_says_why_without_a_secret)
{
    struct event_base *base = event_base_new();
    struct tw_httpc *http = tw_httpc_new(base, NULL);
    struct tw_outbox_conf three = fast;
    struct tw_delivery_attempt *list;
    struct tw_outbox_stats st;
    struct tw_outbox *o;
    struct receiver r;
    struct tw_err err;
    int64_t id, next;
    size_t n;

    three.max_attempts = 3;
    receiver_start(base, &r, 1000, 1000);
    id = task_with_hook(&r, TW_WEBHOOK_ON_DONE);
    queue(id, TW_STATE_DONE, true);
    o = tw_outbox_new(base, fx.s, http, &three, &err);
    for (int spin = 0; spin < 100; spin++) {
        struct timeval tick = { 0, 50000 };
        struct event *ev = evtimer_new(base, on_stop, base);

        evtimer_add(ev, &tick);
        event_base_dispatch(base);
        event_free(ev);
        tw_outbox_stats(o, &st);
        if (st.given_up == 1)
            break;
    }
    cr_assert_eq(st.given_up, 1);
    cr_assert_eq(r.seen, 0, "without a secret nothing is sent unsigned");
    cr_assert_eq(tw_store_delivery_list(fx.s, id, 50, &list, &n, &err), TW_OK);
    cr_assert_eq(n, 3);
    cr_assert_not_null(strstr(list[0].error, "taskwheel webhook-secret --chain 1764"), "%s",
                       list[0].error);
    tw_store_free_attempts(list, n);
    cr_assert_eq(tw_store_outbox_next(fx.s, &next, &err), TW_OK);
    cr_assert_eq(next, 0, "given up: the outbox is empty");
    tw_httpc_free(http);
    tw_outbox_free(o);
    evhttp_free(r.http);
    event_base_free(base);
}
