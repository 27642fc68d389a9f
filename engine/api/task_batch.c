/*
 * Group commit of POST /tasks (issue 16). A create that has passed every check is queued here
 * instead of committing on its own; one event, made active by the first of them, runs after
 * the other requests the event loop has ready in the same turn and writes them all in one
 * transaction: each insert in its own savepoint (a failing one answers its own error and
 * undoes only itself), then one COMMIT, and only then the 201s. A failed COMMIT answers every
 * create of the group with its error, and none of them was saved.
 *
 * Durability is unchanged: a 201 is sent after the COMMIT that holds the task returned, as
 * before. What changes is how many tasks share that COMMIT's WAL frames and fsync (the commit
 * was a third of a POST). The store work runs inside the one callback, so nothing else of the
 * engine (the scheduler, a GET) ever runs inside the group's transaction.
 *
 * A create with an Idempotency-Key is not queued (tasks.c): its replay check must see the
 * creates before it committed.
 */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "api/api_int.h"
#include "core/mem.h"

struct tw_create_job {
    struct tw_req r; /* the request's state, moved from handle()'s stack (caller included) */
    struct tw_task_input in;
    struct tw_task t;
    struct tw_err err; /* why, when !ok */
    bool ok;
    struct tw_create_job *next;
};

struct tw_create_batch {
    struct event *ev;
    struct tw_create_job *head;
    struct tw_create_job **tail;
};

static void job_free(struct tw_create_job *j)
{
    tw_task_input_fini(&j->in);
    tw_task_fini(&j->t);
    tw_caller_fini(&j->r.caller);
    tw_free(j);
}

static void job_reply(struct tw_create_job *j)
{
    struct tw_req *r = &j->r;
    char location[64];
    json_t *body;

    if (!j->ok) {
        tw_reply_err(r, &j->err);
        return;
    }
    tw_api_notify_changed(r, j->t.id);
    snprintf(location, sizeof(location), "/tasks/%lld", (long long)j->t.id);
    tw_add_header(r, "Location", location);
    /* From memory: the validated trigger and target, and no logs (a new task has none yet). */
    if (tw_task_text_reply(r, 201, &j->t, j->in.trigger, j->in.target, NULL, 0, j->in.webhook_url,
                           j->in.webhook_events))
        return;
    body = tw_task_json_from(&j->t, j->in.trigger, j->in.target, NULL, 0);
    if (body != NULL && j->in.webhook_url != NULL)
        json_object_set_new(body, "webhook",
                            tw_api_webhook_json(j->in.webhook_url, j->in.webhook_events));
    tw_reply_json(r, 201, body);
}

/* One create inside the group's transaction: a savepoint of its own. */
static void job_insert(struct tw_store *s, struct tw_create_job *j)
{
    j->ok = tw_store_begin(s, &j->err) == TW_OK &&
            tw_store_task_insert(s, &j->t, NULL, &j->err) == TW_OK &&
            tw_api_webhook_save(&j->r, j->t.id, &j->in, &j->err) == TW_OK &&
            tw_store_commit(s, &j->err) == TW_OK;
    if (!j->ok)
        tw_store_rollback(s);
}

static void flush(struct tw_api *api)
{
    struct tw_create_batch *b = api->batch;
    struct tw_store *s = api->d.store;
    struct tw_create_job *head = b->head;
    struct tw_create_job *j;
    struct tw_create_job *next;
    struct tw_err err;

    b->head = NULL;
    b->tail = &b->head;
    if (head == NULL)
        return;
    if (tw_store_begin(s, &err) != TW_OK) {
        for (j = head; j != NULL; j = j->next) {
            j->ok = false;
            j->err = err;
        }
    } else {
        for (j = head; j != NULL; j = j->next)
            job_insert(s, j);
        if (tw_store_commit(s, &err) != TW_OK) {
            tw_store_rollback(s);
            for (j = head; j != NULL; j = j->next)
                if (j->ok) {
                    j->ok = false;
                    j->err = err;
                }
        }
    }
    for (j = head; j != NULL; j = next) {
        next = j->next;
        job_reply(j);
        job_free(j);
    }
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush(arg);
}

bool tw_api_create_queue(struct tw_req *r, struct tw_task_input *in, struct tw_task *t)
{
    struct tw_api *api = r->api;
    struct tw_create_batch *b = api->batch;
    struct tw_create_job *j;

    if (b == NULL) {
        b = tw_calloc(1, sizeof(*b));
        if (b == NULL)
            return false;
        b->ev = event_new(api->d.base, -1, 0, on_flush, api);
        if (b->ev == NULL) {
            tw_free(b);
            return false;
        }
        b->tail = &b->head;
        api->batch = b;
    }
    j = tw_calloc(1, sizeof(*j));
    if (j == NULL)
        return false;
    /* Take over the request: its caller's arrays move here, handle() finds them gone. */
    j->r = *r;
    memset(&r->caller, 0, sizeof(r->caller));
    j->r.query.tqh_first = NULL; /* handle() clears the query it parsed */
    j->r.query.tqh_last = &j->r.query.tqh_first;
    memset(j->r.params, 0, sizeof(j->r.params)); /* they point into handle()'s copy */
    j->in = *in;
    j->t = *t;
    memset(in, 0, sizeof(*in));
    memset(t, 0, sizeof(*t));
    if (b->head == NULL)
        event_active(b->ev, 0, 0); /* runs after the requests already ready in this turn */
    *b->tail = j;
    b->tail = &j->next;
    return true;
}

void tw_api_create_batch_destroy(struct tw_api *api)
{
    if (api->batch == NULL)
        return;
    flush(api); /* creates queued when the loop stopped still get their answer */
    event_free(api->batch->ev);
    tw_free(api->batch);
    api->batch = NULL;
}
