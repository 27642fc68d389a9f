/*
 * Task body validation (see validate.h): POST and PUT /tasks bodies -> struct tw_task_input
 * with canonical trigger and target objects. Segments are checked in segment/seg_parse.c; the
 * small tw_val_* helpers both files share live here.
 *
 * Decisions (docs/reference.md §2, §3, §5, §7 leave these open; the rule is "a clear 400 over silent
 * acceptance"):
 * - Every message starts with the field path ("trigger.repeat: must be one of daily, weekly,
 *   monthly (got \"hourly\")") so the description alone says where, as in docs/reference.md §3's example.
 *   A type error names what was expected and what was got: a string is quoted (cut at 40
 *   characters), other values by kind ("got number"); a real where an integer is wanted is
 *   shown as written ("got 12.0"), since "got number" would not explain the refusal.
 * - Unknown keys are checked before anything else in an object: a misspelt key usually
 *   explains the "missing" one, so naming the misspelling is the more useful error.
 * - null means absent for the optional fields a Spaaza client may send as null (debug,
 *   trigger.repeat, trigger.segment, trigger.segment_id); anywhere else null is a type error.
 *   A canonical task never holds nulls.
 * - Strings holding NUL (possible only if the body parser allows \u0000) are refused: they
 *   would be cut short silently in C. desc may be empty; it is free text.
 * - UPDATE: id, state, logs and result are ignored whatever their type (read-only echoes of
 *   a GET); chain must still be an integer >= 1 and is handed to the caller to compare.
 *   created_date and other keys are unknown (400).
 * - Canonical target: {"action","export_index","export_format"[,"compression":"gzip"]
 *   [,"since":"last_success"]};
 *   export_format defaults to "csv", compression "none" is dropped (it is the default).
 * - Canonical trigger: {"once","repeat"[,"segment"|"segment_id"][,"timezone"]}: once in
 *   whole seconds UTC with Z, repeat always present ("" = once only), segment_id as a string
 *   of digits without leading zeros (docs/reference.md §6.4 returns ids as strings), any value from 1 to
 *   INT64_MAX; timezone as given, only when given.
 *   segment_id also accepts any id a console could show: 1-64 letters, digits, '-' and '_'.
 *   Saved segments here have numeric ids, so a decimal string names one; any other such id is
 *   well-formed but names none (404 segment_not_found at create/update, never stored).
 * - Out of memory gives TW_ENOMEM with an empty err->field (a 500, not the client's fault).
 */
#include "api/validate.h"
#include "core/val.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/time.h"
#include "core/tz.h"
#include "sched/occur.h"

#define DESC_MAX_CHARS 1000
#define DEBUG_MAX_CHARS 10000

/* ---- target (docs/reference.md §7) ------------------------------------------------------------------ */

static int parse_target(const json_t *v, const struct tw_validate_ctx *ctx,
                        struct tw_task_input *out, struct tw_err *err)
{
    static const char *const keys[] = { "action",      "export_index", "export_format",
                                        "compression", "since",        NULL };
    static const char *const sinces[] = { "last_success", NULL };
    const json_t *since = json_object_get(v, "since");
    size_t since_i = 0;
    static const char *const actions[] = { "export", NULL };
    static const char *const compressions[] = { "none", "gzip", NULL };
    const json_t *format = json_object_get(v, "export_format");
    const json_t *compression = json_object_get(v, "compression");
    size_t action = 0;
    size_t index = 0;
    size_t fmt = 0;
    size_t comp = 0;
    json_t *t;
    int rc;

    if (!json_is_object(v))
        return tw_val_type_fail(v, "target", "an object", err);
    if ((rc = tw_val_keys(v, keys, NULL, "target", err)) != TW_OK)
        return rc;
    if (json_object_get(v, "action") == NULL)
        return tw_val_fail(err, "target.action", "is required (\"export\")");
    if ((rc = tw_val_enum(json_object_get(v, "action"), "target.action", actions, &action, err)) !=
        TW_OK)
        return rc;
    if (json_object_get(v, "export_index") == NULL)
        return tw_val_fail(err, "target.export_index", "is required");
    if ((rc = tw_val_enum(json_object_get(v, "export_index"), "target.export_index", ctx->indexes,
                          &index, err)) != TW_OK)
        return rc;
    if (format != NULL &&
        (rc = tw_val_enum(format, "target.export_format", ctx->formats, &fmt, err)) != TW_OK)
        return rc;
    if (compression != NULL &&
        (rc = tw_val_enum(compression, "target.compression", compressions, &comp, err)) != TW_OK)
        return rc;
    if (since != NULL && (rc = tw_val_enum(since, "target.since", sinces, &since_i, err)) != TW_OK)
        return rc;
    /* docs/reference.md §13: only an index whose plugin declares a change column can export changes. */
    if (since != NULL && tw_val_is_one_of(ctx->indexes[index], ctx->since_indexes) < 0)
        return tw_val_fail(err, "target.since",
                           "export_index %s cannot export changes only "
                           "(its plugin declares no change column); leave target.since out "
                           "for a full export",
                           ctx->indexes[index]);

    t = json_object();
    if (t == NULL || json_object_set_new(t, "action", json_string(actions[action])) != 0 ||
        json_object_set_new(t, "export_index", json_string(ctx->indexes[index])) != 0 ||
        json_object_set_new(t, "export_format", json_string(format ? ctx->formats[fmt] : "csv")) !=
            0 ||
        (comp == 1 && json_object_set_new(t, "compression", json_string("gzip")) != 0) ||
        (since != NULL && json_object_set_new(t, "since", json_string(sinces[since_i])) != 0)) {
        json_decref(t);
        return tw_err_set(err, TW_ENOMEM, "out of memory validating target");
    }
    out->has_target = true;
    out->target = t;
    out->action = json_string_value(json_object_get(t, "action"));
    out->export_index = json_string_value(json_object_get(t, "export_index"));
    out->export_format = json_string_value(json_object_get(t, "export_format"));
    out->compression = comp == 1 ? "gzip" : "none";
    out->since = json_string_value(json_object_get(t, "since"));
    return TW_OK;
}

/* ---- trigger (docs/reference.md §5) ----------------------------------------------------------------- */

#define SEGMENT_REF_MAX 64

/*
 * segment_id: a positive integer, or a string id of 1-64 letters, digits, '-' and '_' (what a
 * console shows; docs/reference.md §6.4 hands ours out as strings of digits). A decimal one is *out; any
 * other is *out = -1 with the text in ref (it names no saved segment of ours).
 */
static int parse_segment_id(const json_t *v, int64_t *out, char *ref, size_t ref_len,
                            struct tw_err *err)
{
    static const char path[] = "trigger.segment_id";
    static const char id_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789-_";
    const char *s = json_string_value(v);
    char got[128];
    int64_t n = 0;
    size_t i, len;
    int rc;

    if (json_is_integer(v) || json_is_real(v)) {
        rc = tw_val_int(v, path, 1, out, err);
        if (rc == TW_OK)
            snprintf(ref, ref_len, "%" PRId64, *out);
        return rc;
    }
    if (!json_is_string(v))
        return tw_val_type_fail(v, path, "an integer or a string id", err);
    len = json_string_length(v);
    if (len == 0 || len > SEGMENT_REF_MAX || strspn(s, id_chars) != len)
        return tw_val_fail(err, path,
                           "must be a positive integer or an id of 1 to %d letters, "
                           "digits, '-' and '_' (got %s)",
                           SEGMENT_REF_MAX, tw_val_got(v, got, sizeof(got)));
    snprintf(ref, ref_len, "%s", s);
    for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
        /* Overflow check before the multiply; leading zeros are harmless and dropped. */
        if (n > (INT64_MAX - (s[i] - '0')) / 10)
            break;
        n = n * 10 + (s[i] - '0');
    }
    *out = i == len && n >= 1 ? n : -1;
    return TW_OK;
}

/*
 * timezone (docs/reference.md §13): an IANA name known to the system's tz database. Returned as given when
 * given (also "UTC"); a task without it is on UTC and its trigger shows no timezone, as in
 * Spaaza's task object.
 */
static int parse_timezone(const json_t *v, const struct tw_tz **zone, struct tw_err *err)
{
    static const char path[] = "trigger.timezone";
    struct tw_err zerr;
    const char *s;
    int rc;

    if (!json_is_string(v))
        return tw_val_type_fail(v, path,
                                "a string (an IANA time zone such as "
                                "\"Europe/Amsterdam\")",
                                err);
    if ((rc = tw_val_string(v, path, TW_TZ_NAME_MAX, &s, err)) != TW_OK)
        return rc;
    tw_err_clear(&zerr);
    rc = tw_tz_get(s, zone, &zerr);
    if (rc == TW_ENOMEM)
        return tw_err_set(err, rc, "%s", zerr.msg);
    if (rc != TW_OK)
        return tw_val_fail(err, path, "%s", zerr.msg);
    return TW_OK;
}

static int parse_trigger(const json_t *v, const struct tw_validate_ctx *ctx,
                         struct tw_task_input *out, struct tw_err *err)
{
    static const char *const keys[] = {
        "once", "repeat", "segment", "segment_id", "timezone", NULL
    };
    static const char *const repeats[] = { "", "daily", "weekly", "monthly", NULL };
    const json_t *once = json_object_get(v, "once");
    const json_t *repeat = json_object_get(v, "repeat");
    const json_t *segment = json_object_get(v, "segment");
    const json_t *segment_id = json_object_get(v, "segment_id");
    const json_t *timezone = json_object_get(v, "timezone");
    const struct tw_tz *zone = NULL;
    char when[TW_TIME_BUFSZ];
    char id[24];
    struct tw_err terr;
    const char *s;
    json_t *canon_segment = NULL;
    json_t *t;
    size_t r = 0;
    int rc;

    if (!json_is_object(v))
        return tw_val_type_fail(v, "trigger", "an object", err);
    if ((rc = tw_val_keys(v, keys, NULL, "trigger", err)) != TW_OK)
        return rc;
    /* null means absent for these optional fields (what Spaaza clients send). */
    repeat = json_is_null(repeat) ? NULL : repeat;
    segment = json_is_null(segment) ? NULL : segment;
    segment_id = json_is_null(segment_id) ? NULL : segment_id;
    if (once == NULL)
        return tw_val_fail(err, "trigger.once",
                           "is required (an ISO 8601 time such as "
                           "2026-05-26T12:00:00Z)");
    /* 64 characters hold any ISO 8601 time with a long fraction; longer is not a time. */
    if ((rc = tw_val_string(once, "trigger.once", 64, &s, err)) != TW_OK)
        return rc;
    tw_err_clear(&terr);
    if (tw_time_parse(s, &out->once_at, &terr) != TW_OK)
        return tw_val_fail(err, "trigger.once", "%s", terr.msg);
    /* The parser takes data dates back to year 1; a run time stays 1970 or later (README). */
    if (out->once_at < 0)
        return tw_val_fail(err, "trigger.once",
                           "time \"%s\": is before 1970-01-01T00:00:00Z "
                           "in UTC; a run time must be 1970 or later",
                           s);
    if (repeat != NULL && (rc = tw_val_enum(repeat, "trigger.repeat", repeats, &r, err)) != TW_OK)
        return rc;
    if (timezone != NULL && (rc = parse_timezone(timezone, &zone, err)) != TW_OK)
        return rc;
    if (segment != NULL && segment_id != NULL)
        return tw_val_fail(err, "trigger.segment_id",
                           "cannot be given together with "
                           "trigger.segment; give either an inline segment or a saved one");
    if (segment_id != NULL && (rc = parse_segment_id(segment_id, &out->segment_id, out->segment_ref,
                                                     sizeof(out->segment_ref), err)) != TW_OK)
        return rc;
    if (segment != NULL &&
        (rc = tw_segment_input_parse(segment, out->has_target ? out->export_index : NULL,
                                     out->has_chain ? out->chain : 0, ctx, "trigger.segment",
                                     &canon_segment, err)) != TW_OK)
        return rc;

    t = json_object();
    if (t == NULL ||
        json_object_set_new(t, "once", json_string(tw_time_format(out->once_at, when))) != 0 ||
        json_object_set_new(t, "repeat", json_string(repeats[r])) != 0 ||
        (canon_segment != NULL && json_object_set(t, "segment", canon_segment) != 0) ||
        (segment_id != NULL && out->segment_id > 0 &&
         (snprintf(id, sizeof(id), "%" PRId64, out->segment_id) < 0 ||
          json_object_set_new(t, "segment_id", json_string(id)) != 0)) ||
        (zone != NULL && json_object_set_new(t, "timezone", json_string(tw_tz_name(zone))) != 0)) {
        json_decref(canon_segment);
        json_decref(t);
        return tw_err_set(err, TW_ENOMEM, "out of memory validating trigger");
    }
    json_decref(canon_segment);
    out->has_trigger = true;
    out->trigger = t;
    out->repeat = repeats[r];
    /* The day of month on the task's wall clock (docs/reference.md §13): a monthly task is anchored to
     * the local day first given. */
    out->anchor_day = tw_occur_anchor_day_tz(out->once_at, zone);
    return TW_OK;
}

/* ---- the body -------------------------------------------------------------------------- */

static int parse_text(const json_t *body, const char *key, size_t max_chars, bool *has, char **out,
                      struct tw_err *err)
{
    const json_t *v = json_object_get(body, key);
    const char *s;
    int rc;

    /* debug is optional: null means absent. desc is required: null is a type error. */
    if (v == NULL || (json_is_null(v) && strcmp(key, "debug") == 0))
        return TW_OK;
    if ((rc = tw_val_string(v, key, max_chars, &s, err)) != TW_OK)
        return rc;
    *out = tw_strdup(s);
    if (*out == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory copying %s", key);
    *has = true;
    return TW_OK;
}

static int parse_body(const json_t *body, enum tw_input_mode mode,
                      const struct tw_validate_ctx *ctx, struct tw_task_input *out,
                      struct tw_err *err)
{
    static const char *const create_keys[] = { "chain", "desc",    "target", "trigger",
                                               "debug", "webhook", NULL };
    static const char *const update_keys[] = { "chain", "desc",    "target",  "trigger",
                                               "debug", "version", "webhook", NULL };
    static const char *const update_ignored[] = { "id", "state", "logs", "result", NULL };
    static const char *const required[] = { "chain", "desc", "target", "trigger", NULL };
    bool create = mode == TW_INPUT_CREATE;
    const json_t *v;
    int rc;
    int i;

    if (!json_is_object(body))
        return tw_val_type_fail(body, "", "a JSON object", err);
    rc = tw_val_keys(body, create ? create_keys : update_keys, create ? NULL : update_ignored, "",
                     err);
    if (rc != TW_OK)
        return rc;
    for (i = 0; create && required[i] != NULL; i++) {
        if (json_object_get(body, required[i]) == NULL)
            return tw_val_fail(err, required[i], "is required");
    }
    /* In this order: the trigger's segment is checked against chain and target. */
    if ((v = json_object_get(body, "chain")) != NULL) {
        if ((rc = tw_val_int(v, "chain", 1, &out->chain, err)) != TW_OK)
            return rc;
        out->has_chain = true;
    }
    if ((rc = parse_text(body, "desc", DESC_MAX_CHARS, &out->has_desc, &out->desc, err)) != TW_OK)
        return rc;
    if ((v = json_object_get(body, "target")) != NULL &&
        (rc = parse_target(v, ctx, out, err)) != TW_OK)
        return rc;
    if ((v = json_object_get(body, "trigger")) != NULL &&
        (rc = parse_trigger(v, ctx, out, err)) != TW_OK)
        return rc;
    if ((rc = parse_text(body, "debug", DEBUG_MAX_CHARS, &out->has_debug, &out->debug, err)) !=
        TW_OK)
        return rc;
    if ((v = json_object_get(body, "webhook")) != NULL &&
        (rc = tw_webhook_input_parse(v, out, err)) != TW_OK)
        return rc;
    if (!create && (v = json_object_get(body, "version")) != NULL) {
        if ((rc = tw_val_int(v, "version", 1, &out->version, err)) != TW_OK)
            return rc;
        out->has_version = true;
    }
    return TW_OK;
}

int tw_task_input_parse(const json_t *body, enum tw_input_mode mode,
                        const struct tw_validate_ctx *ctx, struct tw_task_input *out,
                        struct tw_err *err)
{
    struct tw_err local;
    int rc;

    if (err == NULL)
        err = &local;
    tw_err_clear(err);
    memset(out, 0, sizeof(*out));
    rc = parse_body(body, mode, ctx, out, err);
    if (rc != TW_OK)
        tw_task_input_fini(out); /* the promise: on error, nothing to release */
    return rc;
}

void tw_task_input_fini(struct tw_task_input *in)
{
    if (in == NULL)
        return;
    tw_free(in->desc);
    tw_free(in->debug);
    tw_free(in->webhook_url);
    json_decref(in->trigger);
    json_decref(in->target);
    memset(in, 0, sizeof(*in));
}

/* Dump j compactly with `flags` into a tw_malloc'd string (jansson's own buffer would have to
 * be freed with jansson's allocator, not tw_free). */
static char *dump(const json_t *j, size_t flags)
{
    size_t n = json_dumpb(j, NULL, 0, flags);
    char *s;

    if (n == 0)
        return NULL;
    s = tw_malloc(n + 1);
    if (s == NULL)
        return NULL;
    if (json_dumpb(j, s, n, flags) != n) {
        tw_free(s);
        return NULL;
    }
    s[n] = '\0';
    return s;
}

/* Whether j holds a real number anywhere. */
static bool has_real(const json_t *j)
{
    const char *key;
    json_t *v;
    size_t i;

    switch (json_typeof(j)) {
    case JSON_REAL: return true;
    case JSON_OBJECT:
        json_object_foreach((json_t *)j, key, v) if (has_real(v)) return true;
        return false;
    case JSON_ARRAY: json_array_foreach(j, i, v) if (has_real(v)) return true; return false;
    default: return false;
    }
}

char *tw_json_compact(const json_t *j)
{
    const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY;
    char *s;
    json_t *back;

    /*
     * jansson writes reals with 17 digits, so a client's "min": 0.1 would come back as
     * 0.10000000000000001. 15 digits give what people write; keep them only if every real
     * reads back as the same double, else fall back to the exact 17.
     */
    s = dump(j, flags | JSON_REAL_PRECISION(15));
    if (s == NULL || !has_real(j))
        return s; /* no reals: nothing the precision could change, no need to read it back */
    back = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (back != NULL && json_equal(back, (json_t *)j)) {
        json_decref(back);
        return s;
    }
    json_decref(back);
    tw_free(s);
    return dump(j, flags);
}
