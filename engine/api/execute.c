/*
 * POST /tasks/{id}/execute (SPEC §2). Spaaza-compatible by default: the request is held until
 * the run ends, then answered 200 with the final state object. It is answered 202 with the
 * current state instead when the client sends "Prefer: respond-async" or when the run is still
 * going after execute_wait seconds. Held requests cost one small struct and a timer; the loop
 * keeps serving everyone else.
 *
 * A held client may go away: libevent then frees its request, so we observe the connection's
 * close (conns.c) and forget the request (the run itself carries on).
 */
#include <inttypes.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>

#include "api/api_int.h"
#include "core/mem.h"

struct tw_held {
    struct tw_held *next;           /* api->held list */
    struct tw_api *api;
    struct evhttp_request *ev;      /* NULL once the client has gone */
    struct event *timer;            /* execute_wait */
    int64_t task_id;
    const char *route;              /* of the held request, for its access log line */
    uint64_t t0_ns;
    char req_id[68];
};

static void held_unlink_free(struct tw_held *h)
{
    struct tw_held **pp;

    for (pp = &h->api->held; *pp != NULL; pp = &(*pp)->next)
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    if (h->timer != NULL)
        event_free(h->timer);
    tw_free(h);
}

/* Answer a held request with the task's state object: code 200 when finished, else 202. */
static void held_answer(struct tw_held *h)
{
    struct tw_req r;
    struct tw_task t;
    struct tw_err err;

    memset(&r, 0, sizeof(r));
    r.ev = h->ev;
    r.api = h->api;
    r.method = EVHTTP_REQ_POST;
    r.route = h->route;
    r.t0_ns = h->t0_ns;
    memcpy(r.req_id, h->req_id, sizeof(r.req_id));
    if (h->ev == NULL)
        return;
    tw_conn_observe_close(h->api, h->ev, NULL, NULL);
    memset(&t, 0, sizeof(t));
    if (tw_store_task_get(h->api->d.store, h->task_id, &t, &err) != TW_OK) {
        tw_reply_error(&r, 404, "task_not_found", NULL, "task %" PRId64 " was deleted during its run",
                       h->task_id);
        return;
    }
    tw_reply_json(&r, t.state == TW_STATE_INPROGRESS ? 202 : 200, tw_task_state_json(&t));
    tw_task_fini(&t);
}

static void on_run_done(void *arg, int64_t task_id)
{
    struct tw_held *h = arg;

    (void)task_id;
    held_answer(h);
    held_unlink_free(h);
}

static void on_wait_expired(evutil_socket_t fd, short what, void *arg)
{
    struct tw_held *h = arg;

    (void)fd;
    (void)what;
    if (h->api->d.hooks.execute_forget != NULL)
        h->api->d.hooks.execute_forget(h->api->d.hooks.ctx, h->task_id, h);
    held_answer(h);
    held_unlink_free(h);
}

static void on_client_closed(void *arg)
{
    struct tw_held *h = arg;

    h->ev = NULL;   /* libevent frees the request; the run and our timer go on harmlessly */
}

void tw_api_task_execute(struct tw_req *r)
{
    const char *prefer = tw_req_header(r, "Prefer");
    bool async = prefer != NULL && strstr(prefer, "respond-async") != NULL;
    struct timeval tv = { .tv_sec = r->api->d.cfg->execute_wait_s, .tv_usec = 0 };
    struct tw_held *h = NULL;
    struct tw_task t;
    struct tw_err err;
    int64_t id;
    int rc;

    if (!tw_api_load_task(r, TW_LEVEL_WRITE, &t))
        return;
    id = t.id;
    if (r->api->d.hooks.execute == NULL) {
        tw_reply_error(r, 503, "unavailable", NULL, "this engine runs no tasks (no scheduler)");
        tw_task_fini(&t);
        return;
    }
    if (!async && r->api->d.cfg->execute_wait_s > 0) {
        h = tw_calloc(1, sizeof(*h));
        if (h == NULL) {
            tw_reply_error(r, 500, "internal_error", NULL, "out of memory");
            tw_task_fini(&t);
            return;
        }
        h->api = r->api;
        h->ev = r->ev;
        h->task_id = id;
        h->route = r->route;
        h->t0_ns = r->t0_ns;
        memcpy(h->req_id, r->req_id, sizeof(h->req_id));
    }
    rc = r->api->d.hooks.execute(r->api->d.hooks.ctx, id, h ? on_run_done : NULL, h, &err);
    tw_task_fini(&t);
    if (rc == TW_ECONFLICT) {
        tw_free(h);
        tw_reply_error(r, 409, "task_in_progress", NULL, "%s", err.msg);
        return;
    }
    if (rc != TW_OK) {
        tw_free(h);
        tw_reply_err(r, &err);
        return;
    }
    if (h == NULL) {
        struct tw_task now;

        memset(&now, 0, sizeof(now));
        if (tw_store_task_get(r->api->d.store, id, &now, &err) != TW_OK) {
            tw_reply_err(r, &err);
            return;
        }
        tw_reply_json(r, now.state == TW_STATE_INPROGRESS ? 202 : 200, tw_task_state_json(&now));
        tw_task_fini(&now);
        return;
    }
    h->timer = evtimer_new(r->api->d.base, on_wait_expired, h);
    h->next = r->api->held;
    r->api->held = h;
    if (h->timer != NULL)
        evtimer_add(h->timer, &tv);
    tw_conn_observe_close(r->api, r->ev, on_client_closed, h);
}

void tw_api_held_destroy_all(struct tw_api *api)
{
    while (api->held != NULL)
        held_unlink_free(api->held);
}
