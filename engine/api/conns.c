/*
 * Connection accounting for http.max_connections. libevent 2.1 has no connection limit, so we
 * count connections ourselves: a connection is registered on its first request (with a close
 * callback that unregisters it) in a small open-addressing hash set keyed by the
 * evhttp_connection pointer. A request on a new connection beyond the limit gets a 503 and the
 * connection is closed. Connections that never send a request are bounded by
 * http.read_timeout instead, which libevent enforces.
 *
 * libevent allows one close callback per connection; execute.c needs to learn when a held
 * client goes away, so it registers an observer here rather than replacing our callback.
 */
#include <stdint.h>
#include <string.h>

#include "api/api_int.h"
#include "core/mem.h"

struct tw_conn {
    struct evhttp_connection *evcon;   /* key */
    struct tw_api *api;
    void (*on_close)(void *arg);       /* one-shot observer (execute.c), or NULL */
    void *close_arg;
};

struct tw_conns {
    struct tw_conn **slot;             /* open addressing, linear probing; NULL = empty */
    size_t cap;                        /* power of two */
    size_t n;                          /* registered connections */
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

static void on_closed(struct evhttp_connection *evcon, void *arg)
{
    struct tw_conn *conn = arg;
    struct tw_conns *c = conn->api->conns;
    size_t i = find(c, evcon);

    if (conn->on_close != NULL)
        conn->on_close(conn->close_arg);
    if (c->slot[i] == conn)
        remove_at(c, i);
    tw_free(conn);
}

bool tw_conn_track(struct tw_api *api, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct tw_conns *c = api->conns;
    struct tw_conn *conn;
    size_t i;

    if (evcon == NULL)
        return true;
    if (c == NULL) {
        c = api->conns = tw_calloc(1, sizeof(*c));
        if (c == NULL || !grow(c))
            return false;
    }
    i = find(c, evcon);
    if (c->slot[i] != NULL)
        return true;
    if (c->n >= api->d.cfg->http_max_connections)
        return false;
    if ((c->n + 1) * 2 > c->cap) {
        if (!grow(c))
            return false;
        i = find(c, evcon);
    }
    conn = tw_calloc(1, sizeof(*conn));
    if (conn == NULL)
        return false;
    conn->evcon = evcon;
    conn->api = api;
    c->slot[i] = conn;
    c->n++;
    evhttp_connection_set_closecb(evcon, on_closed, conn);
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

size_t tw_conn_count(const struct tw_api *api)
{
    return api->conns ? api->conns->n : 0;
}

void tw_conns_destroy(struct tw_api *api)
{
    size_t i;

    if (api->conns == NULL)
        return;
    /*
     * evhttp_free (called after this) closes the connections and runs our close callbacks,
     * which would touch this table: detach them first.
     */
    for (i = 0; i < api->conns->cap; i++)
        if (api->conns->slot[i] != NULL) {
            evhttp_connection_set_closecb(api->conns->slot[i]->evcon, NULL, NULL);
            tw_free(api->conns->slot[i]);
        }
    tw_free(api->conns->slot);
    tw_free(api->conns);
    api->conns = NULL;
}
