/*
 * The life of a client connection: http.max_connections and the whole-request deadline of
 * http.read_timeout. libevent 2.1 has neither, so we keep a record per connection (struct
 * tw_conn) in a small open-addressing hash set keyed by the evhttp_connection pointer.
 *
 * Limit: every accepted connection counts against http.max_connections (capped by what the
 * open-file limit leaves, see tw_api_fd_overhead), from accept to close, whether it ever sends
 * a byte or not. A connection accepted beyond the limit is "over": its request gets a 503 and
 * the connection is closed, and one that sends nothing is cut after a second. When OVERFLOW
 * over-limit connections are open at once, accepting pauses (the kernel's backlog holds the
 * rest) until the count is back under the limit.
 *
 * Out of file descriptors (accept fails with EMFILE/ENFILE): libevent's listener would retry at
 * once, forever (a level-triggered readable socket), logging each failure. Instead we close a
 * reserve fd, accept and close one waiting connection with it (so that client learns at once,
 * rather than hanging in the backlog), reopen the reserve, pause accepting for PAUSE_MS, and
 * log at most one line a second saying how many failures it stands for.
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
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"

#define OVERFLOW 64       /* over-limit connections answered 503 at once, at most */
#define OVER_DEADLINE_S 1 /* an over-limit connection must send its request this fast */
#define PAUSE_MS 100      /* accepting pauses this long when out of file descriptors */
#define FD_BASE 64        /* fds besides connections and workers: store, logs, plugins... */
#define FD_PER_WORKER 4   /* a worker's pipes and pidfd, the spawner's share */

struct tw_conn {
    struct evhttp_connection *evcon; /* key once adopted; NULL while pending */
    struct bufferevent *bev;         /* evhttp's; we hold a reference only while pending */
    struct tw_api *api;
    struct event *timer;         /* zero-delay adoption, then the deadline; owned */
    bool over;                   /* accepted beyond the limit: 503, then closed */
    void (*on_close)(void *arg); /* one-shot observer (execute.c), or NULL */
    void *close_arg;
    struct tw_conn *next_pending; /* pending list, while evcon == NULL */
};

struct tw_conns {
    struct tw_conn **slot;           /* open addressing, linear probing; NULL = empty */
    size_t cap;                      /* power of two */
    size_t n;                        /* adopted connections */
    size_t open;                     /* every accepted connection not yet closed */
    size_t over;                     /* of which over the limit */
    size_t limit;                    /* http.max_connections, capped by the fd limit */
    struct tw_conn *pending;         /* made but not yet adopted */
    struct evconnlistener *listener; /* evhttp's, borrowed; NULL before tw_conns_listen */
    bool paused_full;                /* accepting paused: OVERFLOW over-limit connections */
    bool paused_fds;                 /* accepting paused: out of file descriptors */
    struct event *resume;            /* ends a paused_fds pause; owned */
    int reserve_fd;                  /* spent to shed a connection at EMFILE; -1 if none */
    uint64_t log_ms;                 /* when the last accept error was logged (mono ms) */
    uint64_t unlogged;               /* accept errors since then */
    struct evhttp *http;             /* the listener's callback argument, to find us */
    struct tw_conns *next_listening; /* the listening list below */
};

/*
 * libevent calls a listener's error callback with the argument of its accept callback, which
 * evhttp sets to its struct evhttp: the error callback finds our record in this list.
 */
static struct tw_conns *listening;

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

static void listener_update(struct tw_conns *c);
static void log_limited(struct tw_conns *c, const char *why, const char *action);

static void free_conn(struct tw_conn *conn)
{
    evbuffer_remove_cb(bufferevent_get_input(conn->bev), on_input, conn);
    event_free(conn->timer);
    tw_free(conn);
}

/* A counted connection is gone (closed, or abandoned by evhttp). */
static void uncount(struct tw_conns *c, struct tw_conn *conn)
{
    c->open--;
    if (conn->over)
        c->over--;
    listener_update(c);
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
    if (c->slot[i] == conn)
        remove_at(c, i);
    uncount(c, conn);
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
        /* evhttp closes an abandoned connection itself; one we cannot track we close. */
        if (eventcb != NULL && evcon != NULL && bufferevent_getfd(bev) >= 0)
            shutdown(bufferevent_getfd(bev), SHUT_RDWR);
        uncount(c, conn);
        free_conn(conn);
        bufferevent_decref(bev);
        return false;
    }
    i = find(c, evcon);
    conn->evcon = evcon;
    c->slot[i] = conn;
    c->n++;
    evhttp_connection_set_closecb(evcon, on_closed, conn);
    bufferevent_decref(bev); /* evhttp's reference keeps it now */
    if (conn->over) {
        struct timeval tv = { .tv_sec = OVER_DEADLINE_S, .tv_usec = 0 };

        evtimer_add(conn->timer, &tv);
    }
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
    /* An over-limit connection's cut is expected shedding, logged by listener_update. */
    if (!conn->over)
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
    if (!conn->over && tw_expect_early_answer(conn->api, conn->bev))
        return; /* answered and shut down: evhttp sees the end */
    if (!evtimer_pending(conn->timer, NULL) && !conn->over)
        arm_deadline(conn);
}

static struct bufferevent *new_connection(struct event_base *base, void *arg)
{
    static const struct timeval now = { 0, 0 };
    struct tw_api *api = arg;
    struct tw_conn *conn;

    if (api->conns == NULL)
        return NULL;
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
    api->conns->open++;
    if (api->conns->open > api->conns->limit) {
        conn->over = true;
        api->conns->over++;
        listener_update(api->conns);
    }
    evtimer_add(conn->timer, &now);
    return conn->bev;
}

uint64_t tw_api_fd_overhead(const struct tw_config *cfg)
{
    return FD_BASE + FD_PER_WORKER * (uint64_t)cfg->workers + OVERFLOW;
}

/* Pause or resume accepting as the counts and the fd state say. */
static void listener_update(struct tw_conns *c)
{
    bool was = c->paused_full;

    if (c->listener == NULL)
        return;
    if (c->over >= OVERFLOW)
        c->paused_full = true;
    else if (c->open < c->limit + OVERFLOW / 2)
        c->paused_full = false;
    if (was != c->paused_full && c->paused_full)
        log_limited(c, "http.max_connections reached: over-limit connections get 503",
                    "paused accepting");
    if (c->paused_full || c->paused_fds)
        evconnlistener_disable(c->listener);
    else
        evconnlistener_enable(c->listener);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    struct tw_conns *c = arg;

    (void)fd;
    (void)what;
    c->paused_fds = false;
    listener_update(c);
}

/*
 * An accept problem (why) and what was done, logged as "http.accept_failed" at most once a
 * second for both kinds together, with the count of events the line stands for.
 */
static void log_limited(struct tw_conns *c, const char *why, const char *action)
{
    uint64_t now = tw_clock_mono_ns() / 1000000u;
    char n[24];

    c->unlogged++;
    if (c->log_ms != 0 && now - c->log_ms < 1000)
        return;
    snprintf(n, sizeof(n), "%llu", (unsigned long long)c->unlogged);
    tw_log(TW_LOG_WARN, "http.accept_failed", "error", why, "count", n, "action", action, NULL);
    c->log_ms = now;
    c->unlogged = 0;
}

static void log_accept_error(struct tw_conns *c, int e)
{
    log_limited(c, strerror(e),
                e == EMFILE || e == ENFILE ? "shed one connection, paused accepting"
                                           : "paused accepting");
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    struct tw_conns *c = listening;
    struct timeval tv = { .tv_sec = 0, .tv_usec = PAUSE_MS * 1000 };
    int e = EVUTIL_SOCKET_ERROR();
    int fd;

    while (c != NULL && (void *)c->http != arg)
        c = c->next_listening;
    if (c == NULL)
        return;
    if ((e == EMFILE || e == ENFILE) && c->reserve_fd >= 0) {
        close(c->reserve_fd);
        fd = accept(evconnlistener_get_fd(l), NULL, NULL);
        if (fd != -1)
            close(fd);
        c->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    log_accept_error(c, e);
    c->paused_fds = true;
    evtimer_add(c->resume, &tv);
    listener_update(c);
}

int tw_conns_install(struct tw_api *api, struct tw_err *err)
{
    struct tw_conns *c = tw_calloc(1, sizeof(*c));
    struct rlimit rl;
    uint64_t limit = api->d.cfg->http_max_connections;
    uint64_t overhead = tw_api_fd_overhead(api->d.cfg);

    if (c == NULL || !grow(c)) {
        tw_free(c);
        return tw_err_set(err, TW_ENOMEM, "out of memory");
    }
    c->resume = evtimer_new(api->d.base, on_resume, c);
    c->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (c->resume == NULL) {
        tw_free(c->slot);
        tw_free(c);
        return tw_err_set(err, TW_ENOMEM, "out of memory");
    }
    /* Never plan on more connections than the open-file limit leaves room for. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (uint64_t)rl.rlim_cur < limit + overhead) {
        uint64_t fit = (uint64_t)rl.rlim_cur > overhead + 16 ? (uint64_t)rl.rlim_cur - overhead
                                                             : 16;
        char a[24], b[24];

        snprintf(a, sizeof(a), "%llu", (unsigned long long)fit);
        snprintf(b, sizeof(b), "%llu", (unsigned long long)rl.rlim_cur);
        tw_log(TW_LOG_WARN, "http.max_connections_capped", "max_connections", a, "open_file_limit",
               b, NULL);
        limit = fit;
    }
    c->limit = (size_t)limit;
    api->conns = c;
    evhttp_set_bevcb(api->http, new_connection, api);
    return TW_OK;
}

void tw_conns_listen(struct tw_api *api, struct evconnlistener *listener)
{
    api->conns->listener = listener;
    api->conns->http = api->http;
    if (listener != NULL) {
        api->conns->next_listening = listening;
        listening = api->conns;
        evconnlistener_set_error_cb(listener, on_accept_error);
    }
    listener_update(api->conns);
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
    evtimer_del(conn->timer); /* the request is complete: no deadline until the next */
    return !conn->over;
}

void tw_conn_observe_close(struct tw_api *api, struct evhttp_request *req, void (*fn)(void *arg),
                           void *arg)
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
    if (c->listener != NULL) {
        struct tw_conns **pp = &listening;

        evconnlistener_set_error_cb(c->listener, NULL);
        while (*pp != NULL && *pp != c)
            pp = &(*pp)->next_listening;
        if (*pp == c)
            *pp = c->next_listening;
    }
    event_free(c->resume);
    if (c->reserve_fd >= 0)
        close(c->reserve_fd);
    tw_free(c->slot);
    tw_free(c);
    api->conns = NULL;
}
