/*
 * Saved segments (docs/reference.md §6.4): POST/GET /segments, GET/PUT/DELETE /segments/{id}, chain-scoped
 * with the tasks' auth rules (another chain's segment is a 404, never a 403), and the check of
 * a task's trigger.segment_id.
 *
 * Decisions where the reference is silent:
 * - A saved segment is validated like an inline one; when it names an "index" its rules are
 *   also checked against that index's fields. Without one they are checked when a task uses
 *   it (create/update: 400 on trigger.segment_id) and again at each run (the segment may have
 *   changed since: the run then ends in ERROR saying which rule no longer fits).
 * - name: 1 to 200 characters, not unique (Spaaza does not make it unique either).
 * - The object: {"id": "12", "chain", "name", "segment", "created_date", "last_modified"},
 *   id as a string as §6.4 says; GET /segments lists id descending, ?chain=N narrows it.
 * - DELETE of a segment that tasks use: 409 segment_in_use naming those tasks.
 * - PUT of a segment that tasks use is checked against each of those tasks as if the task
 *   were created with it (index equal to the task's export_index, fields and types of that
 *   index); a misfit is a 400 on "segment" naming the tasks, and nothing is changed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "core/mem.h"

#define NAME_MAX_CHARS 200

static json_t *segment_json(const struct tw_segment *g)
{
    char id[24];
    json_t *seg = json_loads(g->segment_json, 0, NULL);

    snprintf(id, sizeof(id), "%" PRId64, g->id);
    if (seg == NULL)
        return NULL;
    return json_pack("{s:s, s:I, s:s, s:o, s:o, s:o}", "id", id, "chain", (json_int_t)g->chain,
                     "name", g->name, "segment", seg, "created_date", tw_time_json(g->created),
                     "last_modified", tw_time_json(g->last_modified));
}

static void reply_segment(struct tw_req *r, int status, const struct tw_segment *g)
{
    json_t *j = segment_json(g);

    if (j == NULL)
        tw_reply_error(r, 500, "internal_error", NULL, "segment %" PRId64 " cannot be encoded",
                       g->id);
    else
        tw_reply_json(r, status, j);
}

/* Load /segments/{id} for the caller at level; replies and returns false when it cannot. */
static bool load_segment(struct tw_req *r, int level, struct tw_segment *g)
{
    struct tw_err err;
    int64_t id;
    int rc;

    if (!tw_req_path_id(r, 0, "segment", &id))
        return false;
    memset(g, 0, sizeof(*g));
    rc = tw_store_segment_get(r->api->d.store, id, g, &err);
    if (rc == TW_ENOTFOUND) {
        tw_reply_error(r, 404, "segment_not_found", NULL, "no segment %" PRId64, id);
        return false;
    }
    if (rc != TW_OK) {
        tw_reply_err(r, &err);
        return false;
    }
    if (!tw_auth_object(r, g->chain, level, "segment_not_found", "no segment")) {
        tw_store_segment_fini(g);
        return false;
    }
    return true;
}

/* The body's "name" and "segment" into g (name copied, segment canonical and compact). */
static bool parse_body(struct tw_req *r, const json_t *body, bool update, int64_t chain,
                       struct tw_segment *g)
{
    static const char *const keys[] = { "chain", "name", "segment", NULL };
    static const char *const ignored[] = { "id", "created_date", "last_modified", NULL };
    const json_t *name = json_object_get(body, "name");
    const json_t *seg = json_object_get(body, "segment");
    json_t *canon = NULL;
    const char *s;
    struct tw_err err;

    tw_err_clear(&err);
    if (tw_val_keys(body, keys, update ? ignored : NULL, NULL, &err) != TW_OK)
        goto fail;
    if (name == NULL && !update) {
        tw_val_fail(&err, "name", "is required");
        goto fail;
    }
    if (name != NULL) {
        if (tw_val_string(name, "name", NAME_MAX_CHARS, &s, &err) != TW_OK)
            goto fail;
        if (s[0] == '\0') {
            tw_val_fail(&err, "name", "must not be empty");
            goto fail;
        }
        tw_free(g->name);
        g->name = tw_strdup(s);
    }
    if (seg == NULL && !update) {
        tw_val_fail(&err, "segment", "is required");
        goto fail;
    }
    if (seg != NULL) {
        if (tw_segment_input_parse(seg, NULL, chain, r->api->d.vctx, "segment", &canon, &err) !=
            TW_OK)
            goto fail;
        tw_free(g->segment_json);
        g->segment_json = tw_json_compact(canon);
        json_decref(canon);
    }
    if (g->name == NULL || g->segment_json == NULL) {
        tw_reply_error(r, 500, "internal_error", NULL, "out of memory");
        return false;
    }
    return true;
fail:
    tw_reply_err(r, &err);
    return false;
}

/* body.chain: required on create; on update, if present, it must be the segment's own. */
static bool body_chain(struct tw_req *r, const json_t *body, bool update, int64_t *chain)
{
    const json_t *c = json_object_get(body, "chain");
    struct tw_err err;
    int64_t v;

    if (c == NULL && update)
        return true;
    if (c == NULL) {
        tw_val_fail(&err, "chain", "is required");
        tw_reply_err(r, &err);
        return false;
    }
    if (tw_val_int(c, "chain", 1, &v, &err) != TW_OK) {
        tw_reply_err(r, &err);
        return false;
    }
    if (update && v != *chain) {
        tw_reply_error(r, 400, "validation_failed", "chain",
                       "chain cannot be changed (segment belongs to chain %" PRId64 ", got %" PRId64
                       ")",
                       *chain, v);
        return false;
    }
    *chain = v;
    return true;
}

void tw_api_segments_create(struct tw_req *r)
{
    struct tw_segment g;
    struct tw_err err;
    char location[64];
    int64_t chain = 0;
    json_t *body = tw_req_json_body(r);

    if (body == NULL)
        return;
    memset(&g, 0, sizeof(g));
    if (!body_chain(r, body, false, &chain))
        goto out;
    if (tw_caller_level(&r->caller, chain) < TW_LEVEL_WRITE) {
        tw_reply_error(r, 403, "permission_denied", "chain",
                       "this caller may not create segments for chain %" PRId64, chain);
        goto out;
    }
    if (!parse_body(r, body, false, chain, &g))
        goto out;
    g.chain = chain;
    g.created = g.last_modified = tw_clock_wall_s();
    if (tw_store_segment_insert(r->api->d.store, &g, &err) != TW_OK) {
        tw_reply_err(r, &err);
        goto out;
    }
    snprintf(location, sizeof(location), "/segments/%" PRId64, g.id);
    tw_add_header(r, "Location", location);
    reply_segment(r, 201, &g);
out:
    tw_store_segment_fini(&g);
    json_decref(body);
}

void tw_api_segments_list(struct tw_req *r)
{
    static const char *const allowed[] = { "chain", NULL };
    const char *s = evhttp_find_header(&r->query, "chain");
    const int64_t *chains = r->caller.chains;
    struct tw_segment *list = NULL;
    struct tw_err err;
    size_t n_chains = r->caller.n, n = 0, i;
    int64_t one;
    json_t *arr;

    if (!tw_req_query_only(r, allowed))
        return;
    if (s != NULL) {
        if (!tw_req_query_int(r, "chain", 0, 1, INT64_MAX, &one))
            return;
        if (tw_caller_level(&r->caller, one) == TW_LEVEL_NONE) {
            tw_reply_error(r, 403, "permission_denied", "chain",
                           "this caller may not read chain %" PRId64, one);
            return;
        }
        chains = &one;
        n_chains = 1;
    }
    if (tw_store_segment_list(r->api->d.store, chains, n_chains, &list, &n, &err) != TW_OK) {
        tw_reply_err(r, &err);
        return;
    }
    arr = json_array();
    for (i = 0; arr != NULL && i < n; i++)
        if (json_array_append_new(arr, segment_json(&list[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    tw_store_free_segments(list, n);
    if (arr == NULL)
        tw_reply_error(r, 500, "internal_error", NULL, "out of memory");
    else
        tw_reply_json(r, 200, arr);
}

void tw_api_segment_get(struct tw_req *r)
{
    struct tw_segment g;

    if (!tw_req_query_only(r, (const char *const[]){ NULL }) || !load_segment(r, TW_LEVEL_READ, &g))
        return;
    reply_segment(r, 200, &g);
    tw_store_segment_fini(&g);
}

/*
 * Does the saved segment g (already validated on its own) fit task id? TW_OK, or TW_EINVAL
 * with err saying why. A task that is gone meanwhile does not count.
 */
static int fits_task(struct tw_req *r, const json_t *seg, int64_t id, struct tw_err *err)
{
    const struct tw_validate_ctx *ctx = r->api->d.vctx;
    const char *index = json_string_value(json_object_get(seg, "index"));
    struct tw_task t;
    int rc;

    rc = tw_store_task_get(r->api->d.store, id, &t, err);
    if (rc == TW_ENOTFOUND)
        return TW_OK;
    if (rc != TW_OK)
        return rc;
    if (index != NULL && t.export_index != NULL && strcmp(index, t.export_index) != 0)
        rc = tw_err_field(err, TW_EINVAL, "segment.index",
                          "index %s differs from the task's target.export_index %s", index,
                          t.export_index);
    else if (ctx->check_segment != NULL && t.export_index != NULL)
        rc = ctx->check_segment(ctx->check_ctx, seg, t.export_index, t.chain, "segment", err);
    tw_task_fini(&t);
    return rc;
}

/*
 * Check segment_json against every task that uses segment id (docs/reference.md §6.4: a saved segment is
 * validated against its tasks). Replies 400 naming the tasks and returns false on a misfit.
 */
static bool fits_users(struct tw_req *r, int64_t id, const char *segment_json)
{
    json_t *seg = json_loads(segment_json, 0, NULL);
    int64_t *users = NULL;
    size_t n = 0, i, bad = 0;
    struct tw_err err, first;
    char list[512] = "";
    int rc;

    tw_err_clear(&first);
    rc = seg == NULL ? tw_err_set(&err, TW_EINTERNAL, "segment cannot be decoded")
                     : tw_store_segment_users(r->api->d.store, id, &users, &n, &err);
    for (i = 0; rc == TW_OK && i < n; i++) {
        rc = fits_task(r, seg, users[i], &err);
        if (rc == TW_EINVAL) {
            if (bad++ == 0)
                first = err;
            if (strlen(list) + 24 < sizeof(list))
                snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%" PRId64,
                         bad > 1 ? ", " : "", users[i]);
            rc = TW_OK;
        }
    }
    json_decref(seg);
    tw_free(users);
    if (rc != TW_OK) {
        tw_reply_err(r, &err);
        return false;
    }
    if (bad == 0)
        return true;
    tw_reply_error(r, 400, "validation_failed", first.field[0] ? first.field : "segment",
                   "segment %" PRId64 " is used by task%s %s and would no longer fit %s: %s", id,
                   bad == 1 ? "" : "s", list, bad == 1 ? "it" : "them", first.msg);
    return false;
}

void tw_api_segment_update(struct tw_req *r)
{
    struct tw_segment g;
    struct tw_err err;
    json_t *body;

    if (!load_segment(r, TW_LEVEL_WRITE, &g))
        return;
    body = tw_req_json_body(r);
    if (body != NULL && body_chain(r, body, true, &g.chain) &&
        parse_body(r, body, true, g.chain, &g) && fits_users(r, g.id, g.segment_json)) {
        g.last_modified = tw_clock_wall_s();
        if (tw_store_segment_update(r->api->d.store, &g, &err) != TW_OK)
            tw_reply_err(r, &err);
        else
            reply_segment(r, 200, &g);
    }
    json_decref(body);
    tw_store_segment_fini(&g);
}

void tw_api_segment_delete(struct tw_req *r)
{
    struct tw_segment g;
    struct tw_err err;
    int64_t *users = NULL;
    size_t n = 0, i;
    char list[512] = "";
    int rc;

    if (!load_segment(r, TW_LEVEL_WRITE, &g))
        return;
    rc = tw_store_segment_delete(r->api->d.store, g.id, &users, &n, &err);
    if (rc == TW_ECONFLICT) {
        for (i = 0; i < n && strlen(list) + 24 < sizeof(list); i++)
            snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%" PRId64, i ? ", " : "",
                     users[i]);
        tw_reply_error(r, 409, "segment_in_use", NULL,
                       "segment %" PRId64 " is used by %zu task%s (%s%s); change or delete "
                       "them first",
                       g.id, n, n == 1 ? "" : "s", list, i < n ? ", ..." : "");
    } else if (rc != TW_OK) {
        tw_reply_err(r, &err);
    } else {
        tw_reply_empty(r, 204);
    }
    tw_free(users);
    tw_store_segment_fini(&g);
}

bool tw_api_check_segment_ref(struct tw_req *r, const struct tw_task_input *in)
{
    const struct tw_validate_ctx *ctx = r->api->d.vctx;
    struct tw_segment g;
    struct tw_err err;
    json_t *seg;
    int rc;

    if (in->segment_id == 0)
        return true;
    if (in->segment_id < 0) {
        /* A console-style string id: well-formed, but saved segments here are numbered. */
        tw_reply_error(r, 404, "segment_not_found", "trigger.segment_id",
                       "trigger.segment_id: no saved segment \"%s\" for chain %" PRId64
                       " (ids of saved segments here are numbers, as POST /segments returns them)",
                       in->segment_ref, in->chain);
        return false;
    }
    memset(&g, 0, sizeof(g));
    rc = tw_store_segment_get(r->api->d.store, in->segment_id, &g, &err);
    if (rc == TW_ENOTFOUND || (rc == TW_OK && g.chain != in->chain)) {
        tw_store_segment_fini(&g);
        tw_reply_error(r, 404, "segment_not_found", "trigger.segment_id",
                       "trigger.segment_id: no segment %" PRId64 " for chain %" PRId64,
                       in->segment_id, in->chain);
        return false;
    }
    if (rc != TW_OK) {
        tw_reply_err(r, &err);
        return false;
    }
    seg = json_loads(g.segment_json, 0, NULL);
    rc = TW_OK;
    if (seg != NULL && ctx->check_segment != NULL && in->export_index != NULL)
        rc = ctx->check_segment(ctx->check_ctx, seg, in->export_index, in->chain,
                                "trigger.segment_id", &err);
    json_decref(seg);
    tw_store_segment_fini(&g);
    if (rc != TW_OK) {
        tw_err_prefix(&err, "saved segment %" PRId64 " does not fit index %s", in->segment_id,
                      in->export_index);
        tw_reply_err(r, &err);
        return false;
    }
    return true;
}
