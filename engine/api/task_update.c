/*
 * PUT and DELETE /tasks/{id} (docs/reference.md §2).
 *
 * An update is validated twice: first the body alone (UPDATE mode: unknown keys, types,
 * version), then the task as it would be after the update (CREATE mode over stored fields
 * overlaid with the given ones), so that a new trigger's segment is checked against the
 * stored target's index and vice versa. Only then is anything written.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "results/results.h"

/* The version the client expects: body "version", else If-Match ("3", "\"3\"", W/"3"). */
static bool expected_version(struct tw_req *r, const struct tw_task_input *in, int64_t *out)
{
    const char *m = tw_req_header(r, "If-Match");
    char *end = NULL;
    bool quoted;

    *out = 0;
    if (in->has_version) {
        *out = in->version;
        return true;
    }
    if (m == NULL)
        return true;
    if (strncmp(m, "W/", 2) == 0)
        m += 2;
    quoted = *m == '"';
    m += quoted;
    errno = 0;
    /* Digits only (strtoll would take "+3" and " 3"), and a quote closes only what one opened. */
    *out = *m >= '0' && *m <= '9' ? strtoll(m, &end, 10) : 0;
    if (errno != 0 || *out <= 0 || strcmp(end, quoted ? "\"" : "") != 0) {
        tw_reply_error(r, 400, "validation_failed", "If-Match",
                       "If-Match must hold the task version, e.g. \"3\" (got %.40s)",
                       tw_req_header(r, "If-Match"));
        return false;
    }
    return true;
}

/* The stored task overlaid with the body's fields, as a CREATE-shaped object. */
static json_t *merged_body(const struct tw_task *t, const json_t *body)
{
    json_t *m = json_pack("{s:I, s:s, s:o, s:o, s:s}", "chain", (json_int_t)t->chain, "desc",
                          t->desc ? t->desc : "", "trigger",
                          json_loads(t->trigger_json ? t->trigger_json : "{}", 0, NULL), "target",
                          json_loads(t->target_json ? t->target_json : "{}", 0, NULL), "debug",
                          t->debug ? t->debug : "");
    static const char *const keys[] = { "desc", "trigger", "target", "debug" };
    size_t i;

    for (i = 0; m != NULL && i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *v = json_object_get(body, keys[i]);

        if (v != NULL)
            json_object_set(m, keys[i], v);
    }
    return m;
}

static bool validate_update(struct tw_req *r, const struct tw_task *t, const json_t *body,
                            struct tw_task_input *in)
{
    struct tw_task_input merged;
    struct tw_err err;
    json_t *m;
    int rc;

    if (tw_task_input_parse(body, TW_INPUT_UPDATE, r->api->d.vctx, in, &err) != TW_OK) {
        tw_reply_err(r, &err);
        return false;
    }
    if (in->has_chain && in->chain != t->chain) {
        /* Reply before the input is released: its fields are gone after (it said "got 0"). */
        tw_reply_error(r, 400, "validation_failed", "chain",
                       "chain cannot be changed (task belongs to chain %" PRId64 ", got %" PRId64
                       ")",
                       t->chain, in->chain);
        tw_task_input_fini(in);
        return false;
    }
    m = merged_body(t, body);
    if (m == NULL) {
        tw_task_input_fini(in);
        tw_reply_error(r, 500, "internal_error", NULL, "out of memory");
        return false;
    }
    rc = tw_task_input_parse(m, TW_INPUT_CREATE, r->api->d.vctx, &merged, &err);
    json_decref(m);
    if (rc != TW_OK) {
        tw_task_input_fini(in);
        tw_reply_err(r, &err);
        return false;
    }
    /* Keep the canonical forms computed with the whole task in view, and the body's version
     * and webhook (not part of the merged body: it has no bearing on the other fields). */
    merged.has_version = in->has_version;
    merged.version = in->version;
    merged.has_webhook = in->has_webhook;
    merged.webhook_url = in->webhook_url;
    merged.webhook_events = in->webhook_events;
    in->webhook_url = NULL;
    tw_task_input_fini(in);
    *in = merged;
    in->has_desc = json_object_get(body, "desc") != NULL;
    in->has_debug = json_object_get(body, "debug") != NULL;
    in->has_trigger = json_object_get(body, "trigger") != NULL;
    in->has_target = json_object_get(body, "target") != NULL;
    return true;
}

void tw_api_task_update(struct tw_req *r)
{
    struct tw_task_input in;
    struct tw_task t;
    struct tw_err err;
    char logmsg[64] = "";
    int64_t want;
    json_t *body;
    bool ok;

    if (!tw_api_load_task(r, TW_LEVEL_WRITE, &t))
        return;
    body = tw_req_json_body(r);
    if (body == NULL) {
        tw_task_fini(&t);
        return;
    }
    /* The version test needs the body's "version", which only UPDATE-mode parsing reads. */
    ok = validate_update(r, &t, body, &in);
    json_decref(body);
    if (!ok) {
        tw_task_fini(&t);
        return;
    }
    if (!expected_version(r, &in, &want)) {
        /* replied */
    } else if (want != 0 && want != t.version) {
        tw_reply_error(r, 409, "version_conflict", "version",
                       "version %" PRId64 " does not match the stored version %" PRId64, want,
                       t.version);
    } else if (t.state == TW_STATE_INPROGRESS) {
        tw_reply_error(r, 409, "task_in_progress", NULL,
                       "task %" PRId64 " is running; update it when the run has ended", t.id);
    } else if (!tw_api_check_segment_ref(r, &in) || !tw_api_webhook_target_ok(r, &in)) {
        /* replied */
    } else if (!tw_api_apply_input(&t, &in)) {
        tw_reply_error(r, 500, "internal_error", NULL, "out of memory");
    } else {
        if (in.has_trigger && t.state != TW_STATE_READY) {
            snprintf(logmsg, sizeof(logmsg), "%s -> READY", tw_task_state_name(t.state));
            t.state = TW_STATE_READY;
        }
        t.last_modified = tw_clock_wall_s();
        /* The task and its webhook in one transaction: both change, or neither. */
        if (tw_store_begin(r->api->d.store, &err) != TW_OK ||
            tw_store_task_update(r->api->d.store, &t, t.version, logmsg[0] ? logmsg : NULL, &err) !=
                TW_OK ||
            tw_api_webhook_save(r, t.id, &in, &err) != TW_OK ||
            tw_store_commit(r->api->d.store, &err) != TW_OK) {
            tw_store_rollback(r->api->d.store);
            tw_reply_err(r, &err);
        } else {
            tw_api_notify_changed(r, t.id);
            tw_api_reply_task(r, 200, &t);
        }
    }
    tw_task_input_fini(&in);
    tw_task_fini(&t);
}

/* results.storage s3: the task's object goes too, off the event loop (results.h). */
static void remove_object(struct tw_req *r, const struct tw_task *t)
{
    struct tw_s3_conf c;
    struct tw_err err;
    char key[4352];
    const char *keys[1] = { key };

    if (!tw_results_on_s3(r->api->d.cfg) || t->result == NULL || t->result_expired)
        return;
    if (tw_results_s3_conf(r->api->d.cfg, &c, &err) != TW_OK ||
        tw_results_key(t->chain, t->id, t->result, key, sizeof(key), &err) != TW_OK ||
        tw_results_delete_later(&c, keys, 1, "task deleted", &err) != TW_OK)
        tw_log(TW_LOG_WARN, "results.delete_failed", "reason", err.msg, NULL);
}

/* Remove the task's result directory <results_dir>/<chain>/<id> and the files in it. */
static void remove_results(struct tw_req *r, const struct tw_task *t)
{
    char dir[4096];
    char path[4352];
    struct dirent *de;
    DIR *d;

    snprintf(dir, sizeof(dir), "%s/%" PRId64 "/%" PRId64, r->api->d.cfg->results_dir, t->chain,
             t->id);
    d = opendir(dir);
    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

void tw_api_task_delete(struct tw_req *r)
{
    struct tw_task t;
    struct tw_err err;

    if (!tw_api_load_task(r, TW_LEVEL_WRITE, &t))
        return;
    if (tw_store_task_delete(r->api->d.store, t.id, &err) != TW_OK && err.code != TW_ENOTFOUND) {
        tw_task_fini(&t);
        tw_reply_err(r, &err);
        return;
    }
    /*
     * Only now tell the scheduler (disarm; cancel a run, whose end then writes nothing): what
     * it notifies, a held execute of this task, must find the task gone (404), not read the
     * rows of a task about to be deleted (it once answered 200 READY), and a delete the store
     * refused must leave the schedule alone.
     */
    if (r->api->d.hooks.task_deleted != NULL)
        r->api->d.hooks.task_deleted(r->api->d.hooks.ctx, t.id);
    remove_object(r, &t);
    remove_results(r, &t);
    tw_task_fini(&t);
    tw_reply_empty(r, 204);
}
