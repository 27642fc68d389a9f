/*
 * Private webhook targets refused when a task is saved (docs/reference.md §12), without
 * blocking the loop.
 *
 * An authenticated POST /tasks or PUT /tasks/{id} whose body names a webhook.url with a host
 * name (not a numeric address) is parked by the router before its handler runs: the name is resolved with libevent's evdns
 * on the server's loop, then the request is dispatched as if it had just arrived, carrying the
 * verdict (r->hook_dns). Unauthenticated requests never cause a lookup. The handlers then validate as usual and refuse a private target with
 * 400 naming webhook.url (task_hook.c). Numeric hosts need no lookup and are judged there.
 *
 * Why evdns rather than the password-hashing threads (hashpool.c): a lookup is waiting, not
 * CPU, so it belongs on the loop; evdns has its own timeouts and a clean cancel when the
 * server stops, needs no thread, and reads /etc/hosts and /etc/resolv.conf like the system
 * resolver. It does not consult nsswitch (mDNS, LDAP): that only matters for the early check,
 * since the check that counts is the one at delivery against the address libcurl actually
 * connects to (httpc.c), with the system's resolver.
 *
 * At most MAX_PARKED lookups wait at once (more get 503 with Retry-After), and a lookup takes
 * at most DNS_TIMEOUT_S × DNS_ATTEMPTS seconds.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include "api/api_int.h"
#include "core/log.h"
#include "core/mem.h"
#include "httpc/httpc.h"

#define MAX_PARKED 256
#define DNS_TIMEOUT_S "3"
#define DNS_ATTEMPTS "2"

struct tw_hookcheck {
    struct evdns_base *dns;
    struct park *parked; /* list */
    unsigned n;
};

struct park {
    struct park *next, **prev;
    struct tw_api *api;
    struct evhttp_request *ev; /* NULL once the client has gone */
    struct evdns_getaddrinfo_request *q;
    uint64_t t0_ns;
    char req_id[68];
    char host[256];
    bool answered; /* the callback ran inside evdns_getaddrinfo */
};

static void unlink_park(struct park *p)
{
    if (p->prev == NULL)
        return;
    *p->prev = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    p->prev = NULL;
    p->api->hookcheck->n--;
}

/* Strip [] from an IPv6 literal; true when host is a numeric address (judged without DNS). */
bool tw_hookcheck_numeric(const char *host, char *out, size_t cap)
{
    unsigned char buf[16];
    size_t len = strlen(host);

    if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
        snprintf(out, cap, "%.*s", (int)(len - 2), host + 1);
    else
        snprintf(out, cap, "%s", host);
    return inet_pton(AF_INET, out, buf) == 1 || inet_pton(AF_INET6, out, buf) == 1;
}

/*
 * Whether a body could hold a "webhook" key: it must spell the word, or escape something
 * (a key written "\u0077ebhook"). False means no parse is needed to know there is none.
 */
static bool may_name_webhook(const char *data, size_t len)
{
    static const char word[] = "webhook";
    const size_t wl = sizeof(word) - 1;

    if (memchr(data, '\\', len) != NULL)
        return true;
    for (const char *p = data; (size_t)(data + len - p) >= wl; p++) {
        p = memchr(p, 'w', (size_t)(data + len - p));
        if (p == NULL || (size_t)(data + len - p) < wl)
            return false;
        if (memcmp(p, word, wl) == 0)
            return true;
    }
    return false;
}

/* The webhook.url host of a task body that needs a lookup, into host; false when none. */
static bool body_host(struct tw_req *r, char *host, size_t cap)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
    size_t len = evbuffer_get_length(in);
    char numeric[256];
    const char *url, *h, *data;
    struct evhttp_uri *u;
    json_t *body, *hook;
    bool found = false;

    if (len == 0 || len > r->api->d.cfg->http_max_body_bytes)
        return false;
    data = (const char *)evbuffer_pullup(in, -1);
    if (!may_name_webhook(data, len))
        return false; /* most task writes: no parse here, the handler parses once */
    body = json_loadb(data, len, 0, NULL);
    hook = json_object_get(body, "webhook");
    url = json_string_value(json_object_get(hook, "url"));
    u = url != NULL ? evhttp_uri_parse_with_flags(url, 0) : NULL;
    h = u != NULL ? evhttp_uri_get_host(u) : NULL;
    if (h != NULL && h[0] != '\0' && strlen(h) < cap &&
        !tw_hookcheck_numeric(h, numeric, sizeof(numeric))) {
        snprintf(host, cap, "%s", h);
        found = true;
    }
    if (u != NULL)
        evhttp_uri_free(u);
    json_decref(body);
    return found;
}

static bool is_task_write(const struct tw_req *r)
{
    const char *p = r->path;

    if (r->method == EVHTTP_REQ_POST)
        return strcmp(p, "/tasks") == 0;
    return r->method == EVHTTP_REQ_PUT && strncmp(p, "/tasks/", 7) == 0 && p[7] != '\0' &&
           strchr(p + 7, '/') == NULL;
}

static void on_client_closed(void *arg)
{
    ((struct park *)arg)->ev = NULL;
}

static void on_resolved(int code, struct evutil_addrinfo *res, void *arg)
{
    struct park *p = arg;
    int dns = TW_HOOK_DNS_PUBLIC;
    char msg[200] = "";
    const char *why = NULL;

    p->q = NULL;
    if (code == EVUTIL_EAI_CANCEL) { /* the server is stopping */
        if (p->ev != NULL)
            tw_conn_observe_close(p->api, p->ev, NULL, NULL);
        unlink_park(p);
        tw_free(p);
        if (res != NULL)
            evutil_freeaddrinfo(res);
        return;
    }
    if (code != 0) {
        dns = code == EVUTIL_EAI_NONAME ? TW_HOOK_DNS_NONAME : TW_HOOK_DNS_FAILED;
        snprintf(msg, sizeof(msg), "%s", evutil_gai_strerror(code));
    }
    for (struct evutil_addrinfo *a = res; code == 0 && a != NULL; a = a->ai_next) {
        char text[INET6_ADDRSTRLEN];
        const void *addr = a->ai_family == AF_INET6
                               ? (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr
                               : (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr;

        if (inet_ntop(a->ai_family, addr, text, sizeof(text)) != NULL &&
            tw_httpc_addr_private(text, &why)) {
            dns = TW_HOOK_DNS_PRIVATE;
            snprintf(msg, sizeof(msg), "%s (%s)", text, why);
            break;
        }
    }
    if (res != NULL)
        evutil_freeaddrinfo(res);
    unlink_park(p);
    if (p->ev != NULL) {
        tw_conn_observe_close(p->api, p->ev, NULL, NULL);
        tw_api_resume(p->api, p->ev, p->t0_ns, p->req_id, dns, msg);
    }
    tw_free(p);
}

static struct tw_hookcheck *state(struct tw_api *api)
{
    struct tw_hookcheck *h = api->hookcheck;

    if (h != NULL)
        return h;
    h = tw_calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->dns = evdns_base_new(api->d.base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (h->dns == NULL) {
        tw_free(h);
        return NULL;
    }
    /* A missing resolv.conf still leaves /etc/hosts and a default of 127.0.0.1. */
    evdns_base_resolv_conf_parse(h->dns, DNS_OPTIONS_ALL, "/etc/resolv.conf");
    evdns_base_set_option(h->dns, "timeout:", DNS_TIMEOUT_S);
    evdns_base_set_option(h->dns, "attempts:", DNS_ATTEMPTS);
    api->hookcheck = h;
    return h;
}

bool tw_hookcheck_park(struct tw_req *r)
{
    struct evdns_getaddrinfo_request *q;
    struct evutil_addrinfo hints;
    struct tw_hookcheck *h;
    struct park *p;
    char host[256];

    if (r->api->d.cfg->webhooks_allow_private || r->hook_dns != TW_HOOK_DNS_NONE ||
        !is_task_write(r) || !body_host(r, host, sizeof(host)))
        return false;
    h = state(r->api);
    if (h == NULL || h->n >= MAX_PARKED) {
        tw_add_header(r, "Retry-After", "1");
        tw_reply_error(r, 503, "unavailable", NULL,
                       "too many webhook hosts being checked at once; try again");
        return true;
    }
    p = tw_calloc(1, sizeof(*p));
    if (p == NULL) {
        tw_reply_error(r, 500, "internal_error", NULL, "out of memory");
        return true;
    }
    p->api = r->api;
    p->ev = r->ev;
    p->t0_ns = r->t0_ns;
    memcpy(p->req_id, r->req_id, sizeof(p->req_id));
    snprintf(p->host, sizeof(p->host), "%s", host);
    p->next = h->parked;
    if (h->parked != NULL)
        h->parked->prev = &p->next;
    h->parked = p;
    p->prev = &h->parked;
    h->n++;
    tw_conn_observe_close(r->api, r->ev, on_client_closed, p);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    /*
     * May answer at once (from /etc/hosts), calling on_resolved (which frees p) before it
     * returns NULL; when it returns a request, p waits for its answer.
     */
    q = evdns_getaddrinfo(h->dns, host, NULL, &hints, on_resolved, p);
    if (q != NULL)
        p->q = q;
    return true;
}

void tw_hookcheck_destroy(struct tw_api *api)
{
    struct tw_hookcheck *h = api->hookcheck;

    if (h == NULL)
        return;
    /*
     * Cancelling a lookup calls on_resolved at once, which frees its parked request; one it
     * did not free (no lookup pending) is dropped here, so the loop always ends.
     */
    while (h->parked != NULL) {
        struct park *p = h->parked;

        if (p->q != NULL)
            evdns_getaddrinfo_cancel(p->q);
        if (h->parked != p)
            continue;
        unlink_park(p);
        if (p->ev != NULL)
            tw_conn_observe_close(api, p->ev, NULL, NULL);
        tw_free(p);
    }
    evdns_base_free(h->dns, 0);
    tw_free(h);
    api->hookcheck = NULL;
}
