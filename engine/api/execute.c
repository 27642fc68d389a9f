/*
 * POST /tasks/{id}/execute (docs/reference.md §2). Spaaza-compatible by default: the request is held until
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
    struct tw_held *next; /* api->held list */
    struct tw_api *api;
    struct evhttp_request *ev; /* NULL once the client has gone */
    struct event *timer;       /* execute_wait */
    int64_t task_id;
    const char *route; /* of the held request, for its access log line */
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

/*
 * The answer for a run that did not start (docs/reference.md §3): the task went away (404), it was already
 * running (409), or the engine could not start it (503 unavailable with the reason; a client
 * retries later). Never the task's previous state: that would report a run that never was.
 */
static void reply_not_started(struct tw_req *r, int64_t task_id, const struct tw_err *why)
{
    if (why->code == TW_ENOTFOUND) {
        tw_reply_error(r, 404, "task_not_found", NULL,
                       "task %" PRId64 " was deleted before its "
                       "run started",
                       task_id);
    } else if (why->code == TW_ECONFLICT) {
        tw_reply_error(r, 409, "task_in_progress", NULL, "%s", why->msg);
    } else {
        tw_add_header(r, "Retry-After", "5");
        tw_reply_error(r, 503, "unavailable", NULL,
                       "the run of task %" PRId64 " could not "
                       "start: %s",
                       task_id, why->msg);
    }
}

/*
 * Answer a held request: 503/404/409 when its run never started (why), else the task's state
 * object, 200 when finished and 202 while still running.
 */
static void held_answer(struct tw_held *h, const struct tw_err *why)
{
    struct tw_req r;
    struct tw_task t;
    struct tw_err err;

    if (h->ev == NULL)
        return;
    memset(&r, 0, sizeof(r));
    r.ev = h->ev;
    r.api = h->api;
    r.method = EVHTTP_REQ_POST;
    r.route = h->route;
    r.t0_ns = h->t0_ns;
    memcpy(r.req_id, h->req_id, sizeof(r.req_id));
    tw_conn_observe_close(h->api, h->ev, NULL, NULL);
    h->ev = NULL; /* answered: nothing may answer it twice */
    if (why != NULL) {
        reply_not_started(&r, h->task_id, why);
        return;
    }
    memset(&t, 0, sizeof(t));
    if (tw_store_task_get(h->api->d.store, h->task_id, &t, &err) != TW_OK) {
        if (err.code == TW_ENOTFOUND)
            tw_reply_error(&r, 404, "task_not_found", NULL,
                           "task %" PRId64 " was deleted during its run", h->task_id);
        else
            tw_reply_err(&r, &err);
        return;
    }
    tw_reply_json(&r, t.state == TW_STATE_INPROGRESS ? 202 : 200, tw_task_state_json(&t));
    tw_task_fini(&t);
}

static void on_run_done(void *arg, int64_t task_id, const struct tw_err *why)
{
    struct tw_held *h = arg;

    (void)task_id;
    held_answer(h, why);
    held_unlink_free(h);
}

static void on_wait_expired(evutil_socket_t fd, short what, void *arg)
{
    struct tw_held *h = arg;

    (void)fd;
    (void)what;
    if (h->api->d.hooks.execute_forget != NULL)
        h->api->d.hooks.execute_forget(h->api->d.hooks.ctx, h->task_id, h);
    held_answer(h, NULL);
    held_unlink_free(h);
}

static void on_client_closed(void *arg)
{
    struct tw_held *h = arg;

    h->ev = NULL; /* libevent frees the request; the run and our timer go on harmlessly */
}

/*
 * A held record for r, complete before the run is asked for: in api->held, its execute_wait
 * timer armed, the client's close observed. NULL (nothing to undo) when out of memory.
 */
static struct tw_held *held_new(struct tw_req *r, int64_t id)
{
    struct timeval tv = { .tv_sec = r->api->d.cfg->execute_wait_s, .tv_usec = 0 };
    struct tw_held *h = tw_calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    h->api = r->api;
    h->ev = r->ev;
    h->task_id = id;
    h->route = r->route;
    h->t0_ns = r->t0_ns;
    memcpy(h->req_id, r->req_id, sizeof(h->req_id));
    h->timer = evtimer_new(r->api->d.base, on_wait_expired, h);
    if (h->timer == NULL || evtimer_add(h->timer, &tv) != 0) {
        if (h->timer != NULL)
            event_free(h->timer);
        tw_free(h);
        return NULL;
    }
    h->next = r->api->held;
    r->api->held = h;
    tw_conn_observe_close(r->api, r->ev, on_client_closed, h);
    return h;
}

/* Undo held_new for a run that was refused (its done callback will never come). */
static void held_cancel(struct tw_held *h)
{
    if (h == NULL)
        return;
    if (h->ev != NULL)
        tw_conn_observe_close(h->api, h->ev, NULL, NULL);
    held_unlink_free(h);
}

/*
 * Ownership of the held record: from held_new it is in api->held, and exactly one of these
 * frees it: held_cancel here when the execute hook refuses the run (the hook then never calls
 * back), on_run_done, on_wait_expired, or tw_api_held_destroy_all. After a successful hook
 * call this function never touches it again.
 */
void tw_api_task_execute(struct tw_req *r)
{
    const char *prefer = tw_req_header(r, "Prefer");
    bool async = prefer != NULL && strstr(prefer, "respond-async") != NULL;
    struct tw_held *h = NULL;
    struct tw_task t;
    struct tw_err err;
    int64_t id;
    int rc;

    if (!tw_api_load_task(r, TW_LEVEL_WRITE, &t))
        return;
    id = t.id;
    tw_task_fini(&t);
    if (r->api->d.hooks.execute == NULL) {
        tw_reply_error(r, 503, "unavailable", NULL, "this engine runs no tasks (no scheduler)");
        return;
    }
    if (!async && r->api->d.cfg->execute_wait_s > 0) {
        h = held_new(r, id);
        if (h == NULL) {
            tw_reply_error(r, 500, "internal_error", NULL, "out of memory");
            return;
        }
    }
    tw_err_clear(&err);
    rc = r->api->d.hooks.execute(r->api->d.hooks.ctx, id, h ? on_run_done : NULL, h, &err);
    if (rc != TW_OK) {
        held_cancel(h);
        if (err.code == TW_OK)
            tw_err_set(&err, rc, "%s", tw_err_code_name(rc));
        reply_not_started(r, id, &err);
        return;
    }
    if (h != NULL)
        return; /* answered when the run ends or execute_wait passes */
    /* Accepted and not finished (it runs in a worker): 202 with the state as it is now. */
    memset(&t, 0, sizeof(t));
    if (tw_store_task_get(r->api->d.store, id, &t, &err) != TW_OK) {
        tw_reply_err(r, &err);
        return;
    }
    tw_reply_json(r, 202, tw_task_state_json(&t));
    tw_task_fini(&t);
}

void tw_api_held_destroy_all(struct tw_api *api)
{
    while (api->held != NULL)
        held_unlink_free(api->held);
}
