/* Outbound HTTP over libcurl multi + libevent (see httpc.h). */
#include "httpc/httpc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "core/list.h"
#include "core/mem.h"

struct tw_httpc {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;  /* libcurl's single timeout */
    struct tw_list xfers; /* in flight, for tw_httpc_free */
    unsigned inflight;
};

/* One transfer; owns its copies of everything libcurl reads during the transfer. */
struct xfer {
    struct tw_list link; /* on c->xfers while in flight */
    struct tw_httpc *c;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    tw_httpc_done_fn done;
    void *arg;
    bool allow_private;
    char refused[160]; /* set when a connect was refused by the address check */
    struct timespec start;
};

/* One socket libcurl asked us to watch. */
struct watch {
    struct event *ev;
};

static long ms_since(const struct timespec *t0)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)((now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000);
}

/* ---------------------------------------------------------------- address policy */

static bool v4_private(uint32_t a, const char **why)
{
    static const struct {
        uint32_t net, mask;
        const char *why;
    } nets[] = {
        { 0x00000000, 0xff000000, "unspecified" },    /* 0.0.0.0/8 */
        { 0x0a000000, 0xff000000, "private" },        /* 10/8 */
        { 0x64400000, 0xffc00000, "shared (CGNAT)" }, /* 100.64/10 */
        { 0x7f000000, 0xff000000, "loopback" },       /* 127/8 */
        { 0xa9fe0000, 0xffff0000, "link-local" },     /* 169.254/16 */
        { 0xac100000, 0xfff00000, "private" },        /* 172.16/12 */
        { 0xc0000000, 0xffffff00, "IETF protocol" },  /* 192.0.0/24 */
        { 0xc0a80000, 0xffff0000, "private" },        /* 192.168/16 */
        { 0xc6120000, 0xfffe0000, "benchmarking" },   /* 198.18/15 */
        { 0xe0000000, 0xf0000000, "multicast" },      /* 224/4 */
        { 0xf0000000, 0xf0000000, "reserved" },       /* 240/4, broadcast */
    };

    for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
        if ((a & nets[i].mask) == nets[i].net) {
            *why = nets[i].why;
            return true;
        }
    }
    return false;
}

static bool v6_private(const unsigned char *b, const char **why)
{
    static const unsigned char zero[16];
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

    if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1)) {
        *why = b[15] == 1 ? "loopback" : "unspecified";
        return true;
    }
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, zero, 12) == 0) /* v4-mapped, v4-compatible */
        return v4_private(
            (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15], why);
    if ((b[0] & 0xfe) == 0xfc) {
        *why = "unique-local";
        return true;
    }
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) {
        *why = "link-local";
        return true;
    }
    if (b[0] == 0xff) {
        *why = "multicast";
        return true;
    }
    return false;
}

bool tw_httpc_addr_private(const char *addr, const char **why)
{
    struct in_addr a4;
    struct in6_addr a6;
    const char *ignored;

    if (why == NULL)
        why = &ignored;
    if (inet_pton(AF_INET, addr, &a4) == 1)
        return v4_private(ntohl(a4.s_addr), why);
    if (inet_pton(AF_INET6, addr, &a6) == 1)
        return v6_private(a6.s6_addr, why);
    return false;
}

/* libcurl is about to open a socket for this address: the check against rebinding. */
static curl_socket_t on_opensocket(void *arg, curlsocktype purpose, struct curl_sockaddr *sa)
{
    struct xfer *x = arg;
    char text[INET6_ADDRSTRLEN] = "";
    const char *why = NULL;
    bool bad = false;

    (void)purpose;
    if (sa->family == AF_INET) {
        const struct sockaddr_in *in = (const void *)&sa->addr;

        inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
        bad = v4_private(ntohl(in->sin_addr.s_addr), &why);
    } else if (sa->family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)&sa->addr;

        inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
        bad = v6_private(in6->sin6_addr.s6_addr, &why);
    } else {
        bad = true;
        why = "non-IP";
    }
    if (bad && !x->allow_private) {
        snprintf(x->refused, sizeof(x->refused),
                 "refused to connect to %s, a %s address "
                 "(webhooks.allow_private is false)",
                 text, why);
        return CURL_SOCKET_BAD;
    }
    return socket(sa->family, sa->socktype, sa->protocol);
}

/* ---------------------------------------------------------------- the loop glue */

static void xfer_free(struct xfer *x)
{
    curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    tw_free(x->body);
    tw_free(x);
}

static void finish(struct xfer *x, CURLcode cc)
{
    struct tw_httpc_result r;

    memset(&r, 0, sizeof(r));
    r.duration_ms = ms_since(&x->start);
    if (cc == CURLE_OK)
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r.status);
    else if (x->refused[0] != '\0')
        snprintf(r.error, sizeof(r.error), "%s", x->refused);
    else
        snprintf(r.error, sizeof(r.error), "%s", curl_easy_strerror(cc));
    curl_multi_remove_handle(x->c->multi, x->easy);
    tw_list_remove(&x->link);
    x->c->inflight--;
    x->done(&r, x->arg);
    xfer_free(x);
}

static void drain(struct tw_httpc *c)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
        struct xfer *x = NULL;

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        finish(x, m->data.result);
    }
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    struct tw_httpc *c = arg;
    int running, flags = 0;

    if (what & EV_READ)
        flags |= CURL_CSELECT_IN;
    if (what & EV_WRITE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(c->multi, fd, flags, &running);
    drain(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct tw_httpc *c = arg;
    int running;

    (void)fd;
    (void)what;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain(c);
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *cp, void *sp)
{
    struct tw_httpc *c = cp;
    struct watch *w = sp;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (w != NULL) {
            event_free(w->ev);
            tw_free(w);
            curl_multi_assign(c->multi, s, NULL);
        }
        return 0;
    }
    if (w == NULL) {
        w = tw_calloc(1, sizeof(*w));
        if (w == NULL)
            return -1;
        curl_multi_assign(c->multi, s, w);
    } else {
        event_free(w->ev);
    }
    w->ev = event_new(c->base, s,
                      (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
                              ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST),
                      on_socket_event, c);
    if (w->ev == NULL || event_add(w->ev, NULL) != 0)
        return -1;
    return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *cp)
{
    struct tw_httpc *c = cp;

    (void)multi;
    if (timeout_ms < 0) {
        evtimer_del(c->timer);
    } else {
        /* 0 means "now": run it from the loop, never from inside a libcurl call. */
        struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

        evtimer_add(c->timer, &tv);
    }
    return 0;
}

struct tw_httpc *tw_httpc_new(struct event_base *base, struct tw_err *err)
{
    struct tw_httpc *c = tw_calloc(1, sizeof(*c));

    if (c == NULL || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        tw_free(c);
        tw_err_set(err, TW_ENOMEM, "httpc: cannot initialise libcurl");
        return NULL;
    }
    c->base = base;
    tw_list_init(&c->xfers);
    c->multi = curl_multi_init();
    c->timer = evtimer_new(base, on_timer, c);
    if (c->multi == NULL || c->timer == NULL) {
        tw_httpc_free(c);
        tw_err_set(err, TW_ENOMEM, "httpc: cannot create the libcurl multi handle");
        return NULL;
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    return c;
}

void tw_httpc_free(struct tw_httpc *c)
{
    if (c == NULL)
        return;
    if (c->multi != NULL) {
        struct tw_list *it, *tmp;

        TW_LIST_FOREACH_SAFE(it, tmp, &c->xfers)
        {
            struct xfer *x = TW_CONTAINER_OF(it, struct xfer, link);

            curl_multi_remove_handle(c->multi, x->easy);
            tw_list_remove(&x->link);
            xfer_free(x);
        }
        curl_multi_cleanup(c->multi);
    }
    if (c->timer != NULL)
        event_free(c->timer);
    tw_free(c);
}

unsigned tw_httpc_inflight(const struct tw_httpc *c)
{
    return c->inflight;
}

static size_t discard(char *p, size_t s, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return s * n; /* a receiver's answer body is not kept: only its status counts */
}

int tw_httpc_post(struct tw_httpc *c, const struct tw_httpc_req *req, tw_httpc_done_fn done,
                  void *arg, struct tw_err *err)
{
    struct xfer *x;

    if (strncasecmp(req->url, "http://", 7) != 0 && strncasecmp(req->url, "https://", 8) != 0)
        return tw_err_set(err, TW_EINVAL, "httpc: only http and https URLs can be posted to");
    x = tw_calloc(1, sizeof(*x));
    if (x == NULL)
        return tw_err_set(err, TW_ENOMEM, "httpc: out of memory");
    x->c = c;
    x->done = done;
    x->arg = arg;
    x->allow_private = req->allow_private;
    x->easy = curl_easy_init();
    x->body = tw_malloc(req->body_len + 1);
    if (x->easy == NULL || x->body == NULL) {
        curl_easy_cleanup(x->easy);
        tw_free(x->body);
        tw_free(x);
        return tw_err_set(err, TW_ENOMEM, "httpc: out of memory");
    }
    if (req->body_len > 0)
        memcpy(x->body, req->body, req->body_len);
    for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
        struct curl_slist *h = curl_slist_append(x->headers, req->headers[i]);

        if (h == NULL) {
            curl_slist_free_all(x->headers);
            curl_easy_cleanup(x->easy);
            tw_free(x->body);
            tw_free(x);
            return tw_err_set(err, TW_ENOMEM, "httpc: out of memory");
        }
        x->headers = h;
    }
    x->headers = curl_slist_append(x->headers, "Expect:");

    curl_easy_setopt(x->easy, CURLOPT_URL, req->url);
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
    curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->body);
    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(x->easy, CURLOPT_PROXY, "");
    curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETFUNCTION, on_opensocket);
    curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "taskwheel-webhooks/" TW_VERSION);
    clock_gettime(CLOCK_MONOTONIC, &x->start);
    if (curl_multi_add_handle(c->multi, x->easy) != CURLM_OK) {
        curl_slist_free_all(x->headers);
        curl_easy_cleanup(x->easy);
        tw_free(x->body);
        tw_free(x);
        return tw_err_set(err, TW_EINTERNAL, "httpc: libcurl refused the request");
    }
    tw_list_add_tail(&c->xfers, &x->link);
    c->inflight++;
    return TW_OK;
}
