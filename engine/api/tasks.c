/*
 * /tasks and /tasks/{id}: create, list, get, update, delete (docs/reference.md §2). Validation lives in
 * validate.c, storage in the store; this file is the order of checks and the replies.
 *
 * Tenancy: a task of a chain the caller cannot read answers exactly like a missing one (404),
 * so its existence is never revealed; a readable task the caller may not change is a 403.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/mem.h"

#define IDEMPOTENCY_WINDOW_S (24 * 3600)

static json_t *task_reply_json(struct tw_req *r, const struct tw_task *t, uint32_t log_limit,
                               uint32_t log_offset, bool *failed)
{
    struct tw_task_log *logs = NULL;
    struct tw_err err;
    size_t n = 0;
    json_t *j;

    *failed = false;
    if (log_limit > 0 && tw_store_log_list(r->api->d.store, t->id, log_limit, log_offset, &logs, &n,
                                           &err) != TW_OK) {
        tw_reply_err(r, &err);
        *failed = true;
        return NULL;
    }
    j = tw_task_json(t, logs, n);
    tw_store_free_logs(logs, n);
    if (!tw_api_task_add_webhook(r, j, t->id)) {
        *failed = true;
        return NULL;
    }
    return j;
}

/*
 * The task with a page of its logs and its webhook, written as text (task_text.c); through
 * jansson, the same bytes, where the text writer cannot.
 */
static void reply_task_page(struct tw_req *r, int status, const struct tw_task *t,
                            uint32_t log_limit, uint32_t log_offset)
{
    struct tw_task_log *logs = NULL;
    struct tw_err err;
    unsigned events = 0;
    char *url = NULL;
    size_t n = 0;
    bool sent;
    int rc;

    if (log_limit > 0 && tw_store_log_list(r->api->d.store, t->id, log_limit, log_offset, &logs, &n,
                                           &err) != TW_OK) {
        tw_reply_err(r, &err);
        return;
    }
    rc = tw_store_webhook_get(r->api->d.store, t->id, &url, &events, &err);
    if (rc != TW_OK && rc != TW_ENOTFOUND) {
        tw_store_free_logs(logs, n);
        tw_reply_err(r, &err);
        return;
    }
    sent = tw_task_text_reply(r, status, t, NULL, NULL, logs, n, rc == TW_OK ? url : NULL, events);
    tw_free(url);
    if (!sent) {
        json_t *j = tw_task_json(t, logs, n);

        if (tw_api_task_add_webhook(r, j, t->id))
            tw_reply_json(r, status, j);
    }
    tw_store_free_logs(logs, n);
}

void tw_api_reply_task(struct tw_req *r, int status, const struct tw_task *t)
{
    reply_task_page(r, status, t, 10, 0);
}

/* Load task id for the caller with at least level; replies and returns false otherwise. */
bool tw_api_load_task(struct tw_req *r, int level, struct tw_task *t)
{
    struct tw_err err;
    int64_t id;
    int rc;

    memset(t, 0, sizeof(*t));
    if (!tw_req_path_id(r, 0, "task", &id))
        return false;
    rc = tw_store_task_get(r->api->d.store, id, t, &err);
    if (rc == TW_ENOTFOUND) {
        tw_reply_error(r, 404, "task_not_found", NULL, "no task %" PRId64, id);
        return false;
    }
    if (rc != TW_OK) {
        tw_reply_err(r, &err);
        return false;
    }
    if (!tw_auth_object(r, t->chain, level, "task_not_found", "no task")) {
        tw_task_fini(t);
        return false;
    }
    return true;
}

/* Move the validated input into t (strings copied; t owns them). */
bool tw_api_apply_input(struct tw_task *t, const struct tw_task_input *in)
{
    char *trigger = in->has_trigger ? tw_json_compact(in->trigger) : NULL;
    char *target = in->has_target ? tw_json_compact(in->target) : NULL;
    bool ok = true;

    if ((in->has_trigger && trigger == NULL) || (in->has_target && target == NULL)) {
        tw_free(trigger);
        tw_free(target);
        return false;
    }
#define REPLACE(field, value) \
    do {                      \
        tw_free(t->field);    \
        t->field = (value);   \
    } while (0)
    if (in->has_desc)
        REPLACE(desc, tw_strdup(in->desc));
    if (in->has_debug)
        REPLACE(debug, tw_strdup(in->debug));
    if (in->has_trigger) {
        REPLACE(trigger_json, trigger);
        REPLACE(repeat, tw_strdup(in->repeat));
        t->once_at = in->once_at;
        t->anchor_day = in->anchor_day;
        t->segment_id = in->segment_id;
        ok = ok && t->repeat != NULL;
    }
    if (in->has_target) {
        REPLACE(target_json, target);
        REPLACE(action, tw_strdup(in->action));
        REPLACE(export_index, tw_strdup(in->export_index));
        REPLACE(export_format, tw_strdup(in->export_format));
        REPLACE(compression, tw_strdup(in->compression));
        REPLACE(since, in->since != NULL ? tw_strdup(in->since) : NULL);
        ok = ok && t->action != NULL && t->export_index != NULL && t->export_format != NULL &&
             t->compression != NULL && (in->since == NULL || t->since != NULL);
    }
#undef REPLACE
    if (t->debug == NULL)
        t->debug = tw_strdup("");
    return ok && t->desc != NULL && t->debug != NULL;
}

void tw_api_notify_changed(struct tw_req *r, int64_t id)
{
    if (r->api->d.hooks.task_changed != NULL)
        r->api->d.hooks.task_changed(r->api->d.hooks.ctx, id);
}

/* An Idempotency-Key seen before: 200 with the original task, or 409 for another body. */
static bool idempotent_replay(struct tw_req *r, const char *key, const char *body_sha)
{
    char stored_sha[65];
    struct tw_task t;
    struct tw_err err;
    int64_t task_id;
    int rc = tw_store_idem_get(r->api->d.store, r->caller.name, key,
                               tw_clock_wall_s() - IDEMPOTENCY_WINDOW_S, &task_id, stored_sha,
                               &err);

    if (rc == TW_ENOTFOUND)
        return false;
    if (rc != TW_OK) {
        tw_reply_err(r, &err);
        return true;
    }
    if (strcmp(stored_sha, body_sha) != 0) {
        tw_reply_error(r, 409, "idempotency_conflict", "Idempotency-Key",
                       "this Idempotency-Key was already used with a different body");
        return true;
    }
    memset(&t, 0, sizeof(t));
    rc = tw_store_task_get(r->api->d.store, task_id, &t, &err);
    if (rc == TW_OK) {
        char location[64];

        snprintf(location, sizeof(location), "/tasks/%" PRId64, t.id);
        tw_add_header(r, "Location", location);
        tw_api_reply_task(r, 200, &t);
    } else {
        tw_reply_err(r, &err);
    }
    tw_task_fini(&t);
    return true;
}

void tw_api_tasks_create(struct tw_req *r)
{
    const char *key = tw_req_header(r, "Idempotency-Key");
    struct tw_task_input in;
    struct tw_idem idem;
    struct tw_task t;
    struct tw_err err;
    char body_sha[65];
    char location[64];
    json_t *body;
    struct evbuffer *raw = evhttp_request_get_input_buffer(r->ev);

    if (key != NULL && (key[0] == '\0' || strlen(key) > 255)) {
        tw_reply_error(r, 400, "validation_failed", "Idempotency-Key",
                       "Idempotency-Key must be 1 to 255 characters (got %zu)", strlen(key));
        return;
    }
    body = tw_req_json_body(r);
    if (body == NULL)
        return;
    if (tw_task_input_parse(body, TW_INPUT_CREATE, r->api->d.vctx, &in, &err) != TW_OK) {
        json_decref(body);
        tw_reply_err(r, &err);
        return;
    }
    json_decref(body);
    if (tw_caller_level(&r->caller, in.chain) < TW_LEVEL_WRITE) {
        tw_reply_error(r, 403, "permission_denied", "chain",
                       "this caller may not create tasks for chain %" PRId64, in.chain);
        tw_task_input_fini(&in);
        return;
    }
    if (!tw_api_check_segment_ref(r, &in) || !tw_api_webhook_target_ok(r, &in)) {
        tw_task_input_fini(&in);
        return;
    }
    tw_sha256_hex(evbuffer_pullup(raw, -1), evbuffer_get_length(raw), body_sha);
    if (key != NULL && idempotent_replay(r, key, body_sha)) {
        tw_task_input_fini(&in);
        return;
    }
    memset(&t, 0, sizeof(t));
    t.chain = in.chain;
    t.state = TW_STATE_READY;
    t.created_date = t.last_modified = tw_clock_wall_s();
    if (!tw_api_apply_input(&t, &in)) {
        tw_task_input_fini(&in);
        tw_task_fini(&t);
        tw_reply_error(r, 500, "internal_error", NULL, "out of memory");
        return;
    }
    /* Without a key: one commit for the creates of this loop turn (task_batch.c). */
    if (key == NULL && !r->probe && tw_api_create_queue(r, &in, &t))
        return;
    idem.caller = r->caller.name;
    idem.key = key;
    idem.body_sha256 = body_sha;
    idem.created = t.created_date;
    /* The task and its webhook in one transaction: both are saved, or neither. */
    if (tw_store_begin(r->api->d.store, &err) != TW_OK ||
        tw_store_task_insert(r->api->d.store, &t, key ? &idem : NULL, &err) != TW_OK ||
        tw_api_webhook_save(r, t.id, &in, &err) != TW_OK ||
        tw_store_commit(r->api->d.store, &err) != TW_OK) {
        tw_store_rollback(r->api->d.store);
        tw_task_input_fini(&in);
        tw_task_fini(&t);
        tw_reply_err(r, &err);
        return;
    }
    tw_api_notify_changed(r, t.id);
    snprintf(location, sizeof(location), "/tasks/%" PRId64, t.id);
    tw_add_header(r, "Location", location);
    /* From memory: the validated trigger and target, and no logs (a new task has none yet). */
    {
        json_t *j = tw_task_json_from(&t, in.trigger, in.target, NULL, 0);

        if (j != NULL && in.webhook_url != NULL)
            json_object_set_new(j, "webhook",
                                tw_api_webhook_json(in.webhook_url, in.webhook_events));
        tw_reply_json(r, 201, j);
    }
    tw_task_input_fini(&in);
    tw_task_fini(&t);
}

void tw_api_task_get(struct tw_req *r)
{
    static const char *const allowed[] = { "log_limit", "offset", NULL };
    struct tw_task t;
    int64_t log_limit;
    int64_t offset;

    if (!tw_req_query_only(r, allowed) ||
        !tw_req_query_int(r, "log_limit", 10, 0, 1000, &log_limit) ||
        !tw_req_query_int(r, "offset", 0, 0, INT32_MAX, &offset))
        return;
    if (!tw_api_load_task(r, TW_LEVEL_READ, &t))
        return;
    reply_task_page(r, 200, &t, (uint32_t)log_limit, (uint32_t)offset);
    tw_task_fini(&t);
}

/* The chains to list: all the caller may read, or the one ?chain= names. */
static bool list_chains(struct tw_req *r, int64_t *one, struct tw_task_filter *f)
{
    const char *s = evhttp_find_header(&r->query, "chain");

    f->chains = r->caller.chains;
    f->n_chains = r->caller.n;
    if (s == NULL)
        return true;
    if (!tw_req_query_int(r, "chain", 0, 1, INT64_MAX, one))
        return false;
    if (tw_caller_level(&r->caller, *one) == TW_LEVEL_NONE) {
        tw_reply_error(r, 403, "permission_denied", "chain",
                       "this caller may not read chain %" PRId64, *one);
        return false;
    }
    f->chains = one;
    f->n_chains = 1;
    return true;
}

void tw_api_tasks_list(struct tw_req *r)
{
    static const char *const allowed[] = { "chain",       "status", "action", "export_index",
                                           "campaign_id", "limit",  "offset", NULL };
    struct tw_task_filter f;
    struct tw_task *tasks = NULL;
    struct tw_err err;
    const char *status;
    char total_s[32];
    int64_t one, limit, offset, total;
    size_t n = 0, i;
    json_t *arr;

    memset(&f, 0, sizeof(f));
    if (!tw_req_query_only(r, allowed) || !list_chains(r, &one, &f) ||
        !tw_req_query_int(r, "limit", 100, 0, 1000, &limit) ||
        !tw_req_query_int(r, "offset", 0, 0, INT32_MAX, &offset))
        return;
    status = evhttp_find_header(&r->query, "status");
    f.state = -1;
    if (status != NULL && (f.state = tw_task_state_parse(status)) < 0) {
        tw_reply_error(r, 400, "validation_failed", "status",
                       "status must be one of READY, INPROGRESS, DONE, ERROR (got \"%.32s\")",
                       status);
        return;
    }
    f.action = evhttp_find_header(&r->query, "action");
    f.export_index = evhttp_find_header(&r->query, "export_index");
    f.campaign_id = evhttp_find_header(&r->query, "campaign_id");
    f.limit = (uint32_t)limit;
    f.offset = (uint32_t)offset;
    if (tw_store_task_list(r->api->d.store, &f, &tasks, &n, &total, &err) != TW_OK) {
        tw_reply_err(r, &err);
        return;
    }
    arr = json_array();
    for (i = 0; arr != NULL && i < n; i++) {
        bool failed;
        json_t *j = task_reply_json(r, &tasks[i], 1, 0, &failed);

        if (failed) {
            json_decref(arr);
            tw_store_free_tasks(tasks, n);
            return;
        }
        json_array_append_new(arr, j);
    }
    tw_store_free_tasks(tasks, n);
    snprintf(total_s, sizeof(total_s), "%" PRId64, total);
    tw_add_header(r, "X-Total-Count", total_s);
    tw_reply_json(r, 200, arr);
}
