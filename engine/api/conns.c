/*
 * The life of a client connection: http.max_connections and the whole-request deadline of
 * http.read_timeout. libevent 2.1 has neither, so we keep a record per connection (struct
 * tw_conn) in a small open-addressing hash set keyed by the evhttp_connection pointer.
 *
 * Limit: a connection is admitted on its first complete request; a request on a new
 * connection beyond the limit gets a 503 and the connection is closed.
 *
 * Deadline: evhttp's own timeout restarts on every byte, so a client sending one byte a second
 * would hold a connection forever. We want "a request arrives complete within read_timeout of
 * its first byte". Every connection's socket bufferevent is made here (evhttp_set_bevcb) with
 * an evbuffer callback on its input that arms the record's timer when bytes arrive and none is
 * armed; the request reaching the handler disarms it. If the timer fires while evhttp is still
 * reading a request, the socket is shut down; evhttp sees EOF and frees the connection the
 * normal way (we never free evhttp's objects behind its back). Idle keep-alive connections are
 * closed by evhttp's own timeout, set to the same value.
 *
 * Why not a filtering bufferevent: evhttp in libevent 2.1 stalls keep-alive connections on a
 * filter (the second request on a connection is never read; see libevent issue #237).
 *
 * Adoption: the bufferevent callback runs before evhttp has made its evhttp_connection, so a
 * new record starts "pending" and is adopted (keyed by the connection, close callback set) at
 * the first of: the bytes arriving, a zero-delay timer, or its first request. evhttp stores the
 * connection as the bufferevent's callback argument (libevent 2.1's http.c). Until adoption we
 * hold a reference on the bufferevent, because evhttp may free a connection it could not set
 * up before we see it; a bufferevent whose callbacks evhttp has cleared was abandoned.
 *
 * Ownership: records are allocated in new_connection and freed by on_closed (evhttp's close
 * callback), by adopt when evhttp abandoned the connection, or by tw_conns_destroy.
 *
 * libevent allows one close callback per connection; execute.c needs to learn when a held
 * client goes away, so it registers an observer here rather than replacing our callback.
 */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "api/api_int.h"
#include "core/log.h"
#include "core/mem.h"

struct tw_conn {
    struct evhttp_connection *evcon;   /* key once adopted; NULL while pending */
    struct bufferevent *bev;           /* evhttp's; we hold a reference only while pending */
    struct tw_api *api;
    struct event *timer;               /* zero-delay adoption, then the deadline; owned */
    bool admitted;                     /* counted against http.max_connections */
    void (*on_close)(void *arg);       /* one-shot observer (execute.c), or NULL */
    void *close_arg;
    struct tw_conn *next_pending;      /* pending list, while evcon == NULL */
};

struct tw_conns {
    struct tw_conn **slot;             /* open addressing, linear probing; NULL = empty */
    size_t cap;                        /* power of two */
    size_t n;                          /* adopted connections */
    size_t admitted;                   /* of which admitted */
    struct tw_conn *pending;           /* made but not yet adopted */
};

static size_t hash_ptr(const void *p, size_t cap)
{
    uint64_t x = (uint64_t)(uintptr_t)p;

    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

static size_t find(const struct tw_conns *c, const struct evhttp_connection *evcon)
{
    size_t i = hash_ptr(evcon, c->cap);

    while (c->slot[i] != NULL && c->slot[i]->evcon != evcon)
        i = (i + 1) & (c->cap - 1);
    return i;
}

static bool grow(struct tw_conns *c)
{
    size_t cap = c->cap ? c->cap * 2 : 64, i;
    struct tw_conn **old = c->slot;
    size_t oldcap = c->cap;

    c->slot = tw_calloc(cap, sizeof(*c->slot));
    if (c->slot == NULL) {
        c->slot = old;
        return false;
    }
    c->cap = cap;
    for (i = 0; i < oldcap; i++)
        if (old[i] != NULL)
            c->slot[find(c, old[i]->evcon)] = old[i];
    tw_free(old);
    return true;
}

/* Remove slot i and shift later members of its probe run back (no tombstones). */
static void remove_at(struct tw_conns *c, size_t i)
{
    size_t j = i;

    c->slot[i] = NULL;
    c->n--;
    for (;;) {
        size_t home;

        j = (j + 1) & (c->cap - 1);
        if (c->slot[j] == NULL)
            return;
        home = hash_ptr(c->slot[j]->evcon, c->cap);
        /* Move slot j into the hole at i unless its home lies cyclically in (i, j]. */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            c->slot[i] = c->slot[j];
            c->slot[j] = NULL;
            i = j;
        }
    }
}

static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg);

static void free_conn(struct tw_conn *conn)
{
    evbuffer_remove_cb(bufferevent_get_input(conn->bev), on_input, conn);
    event_free(conn->timer);
    tw_free(conn);
}

static void unlink_pending(struct tw_conns *c, struct tw_conn *conn)
{
    struct tw_conn **p = &c->pending;

    while (*p != NULL && *p != conn)
        p = &(*p)->next_pending;
    if (*p == conn)
        *p = conn->next_pending;
    conn->next_pending = NULL;
}

static void on_closed(struct evhttp_connection *evcon, void *arg)
{
    struct tw_conn *conn = arg;
    struct tw_conns *c = conn->api->conns;
    size_t i = find(c, evcon);

    if (conn->on_close != NULL)
        conn->on_close(conn->close_arg);
    if (c->slot[i] == conn) {
        if (conn->admitted)
            c->admitted--;
        remove_at(c, i);
    }
    free_conn(conn);
}

/*
 * Move a pending record into the table under its evhttp_connection. Returns false (and frees
 * the record) when evhttp abandoned the connection or memory ran out; the connection then goes
 * on without a deadline, and tw_conn_track refuses its requests.
 */
static bool adopt(struct tw_conn *conn)
{
    struct tw_conns *c = conn->api->conns;
    struct bufferevent *bev = conn->bev;
    bufferevent_event_cb eventcb = NULL;
    void *evcon = NULL;
    size_t i;

    unlink_pending(c, conn);
    evtimer_del(conn->timer);
    bufferevent_getcb(bev, NULL, NULL, &eventcb, &evcon);
    if (eventcb == NULL || evcon == NULL || ((c->n + 1) * 2 > c->cap && !grow(c))) {
        free_conn(conn);
        bufferevent_decref(bev);
        return false;
    }
    i = find(c, evcon);
    conn->evcon = evcon;
    c->slot[i] = conn;
    c->n++;
    evhttp_connection_set_closecb(evcon, on_closed, conn);
    bufferevent_decref(bev);           /* evhttp's reference keeps it now */
    return true;
}

static void arm_deadline(struct tw_conn *conn)
{
    struct timeval tv = { .tv_sec = conn->api->d.cfg->http_read_timeout_s, .tv_usec = 0 };

    evtimer_add(conn->timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct tw_conn *conn = arg;
    bufferevent_data_cb readcb = NULL;
    evutil_socket_t sock;

    (void)fd;
    (void)what;
    if (conn->evcon == NULL) {
        adopt(conn);
        return;
    }
    /* evhttp reads only while it waits for a request; while it answers one, readcb is unset. */
    bufferevent_getcb(conn->bev, &readcb, NULL, NULL, NULL);
    if (readcb == NULL || !(bufferevent_get_enabled(conn->bev) & EV_READ))
        return;
    sock = bufferevent_getfd(conn->bev);
    if (sock < 0)
        return;
    tw_log(TW_LOG_INFO, "http.request_timeout", "action", "disconnected", NULL);
    shutdown(sock, SHUT_RDWR);
}

/* evbuffer callback on a connection's input: bytes of a request arrived. */
static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct tw_conn *conn = arg;

    (void)buf;
    if (info->n_added == 0)
        return;
    if (conn->evcon == NULL && !adopt(conn))
        return;
    if (!evtimer_pending(conn->timer, NULL))
        arm_deadline(conn);
}

static struct bufferevent *new_connection(struct event_base *base, void *arg)
{
    static const struct timeval now = { 0, 0 };
    struct tw_api *api = arg;
    struct tw_conn *conn;

    if (api->conns == NULL) {
        api->conns = tw_calloc(1, sizeof(*api->conns));
        if (api->conns == NULL)
            return NULL;
        if (!grow(api->conns)) {
            tw_free(api->conns);
            api->conns = NULL;
            return NULL;
        }
    }
    /* On failure evhttp makes a plain bufferevent; tw_conn_track then refuses the requests. */
    conn = tw_calloc(1, sizeof(*conn));
    if (conn == NULL)
        return NULL;
    conn->api = api;
    conn->timer = evtimer_new(base, on_timer, conn);
    conn->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (conn->timer == NULL || conn->bev == NULL ||
        evbuffer_add_cb(bufferevent_get_input(conn->bev), on_input, conn) == NULL) {
        if (conn->bev != NULL)
            bufferevent_free(conn->bev);
        if (conn->timer != NULL)
            event_free(conn->timer);
        tw_free(conn);
        return NULL;
    }
    bufferevent_incref(conn->bev);
    conn->next_pending = api->conns->pending;
    api->conns->pending = conn;
    evtimer_add(conn->timer, &now);
    return conn->bev;
}

void tw_conns_install(struct tw_api *api)
{
    evhttp_set_bevcb(api->http, new_connection, api);
}

bool tw_conn_track(struct tw_api *api, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev;
    struct tw_conns *c = api->conns;
    struct tw_conn *conn, *p;
    size_t i;

    if (evcon == NULL || c == NULL)
        return false;
    i = find(c, evcon);
    conn = c->slot[i];
    if (conn == NULL) {
        /* The request outran the adoption timer (both became active in one loop pass). */
        bev = evhttp_connection_get_bufferevent(evcon);
        for (p = c->pending; p != NULL && p->bev != bev; p = p->next_pending)
            ;
        if (p == NULL || !adopt(p))
            return false;
        conn = p;
    }
    evtimer_del(conn->timer);          /* the request is complete: no deadline until the next */
    if (conn->admitted)
        return true;
    if (c->admitted >= api->d.cfg->http_max_connections)
        return false;
    conn->admitted = true;
    c->admitted++;
    return true;
}

void tw_conn_observe_close(struct tw_api *api, struct evhttp_request *req,
                           void (*fn)(void *arg), void *arg)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    size_t i;

    if (api->conns == NULL || evcon == NULL)
        return;
    i = find(api->conns, evcon);
    if (api->conns->slot[i] != NULL) {
        api->conns->slot[i]->on_close = fn;
        api->conns->slot[i]->close_arg = arg;
    }
}

void tw_conns_destroy(struct tw_api *api)
{
    struct tw_conns *c = api->conns;
    size_t i;

    if (c == NULL)
        return;
    /*
     * evhttp_free (called after this) closes the connections and runs our close callbacks,
     * which would touch this table: detach them first.
     */
    for (i = 0; i < c->cap; i++)
        if (c->slot[i] != NULL) {
            evhttp_connection_set_closecb(c->slot[i]->evcon, NULL, NULL);
            free_conn(c->slot[i]);
        }
    while (c->pending != NULL) {
        struct tw_conn *conn = c->pending;
        struct bufferevent *bev = conn->bev;

        c->pending = conn->next_pending;
        free_conn(conn);
        bufferevent_decref(bev);
    }
    tw_free(c->slot);
    tw_free(c);
    api->conns = NULL;
}
