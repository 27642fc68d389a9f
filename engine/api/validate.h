/*
 * Request validation for tasks: a parsed JSON body -> struct tw_task_input with canonical
 * trigger and target objects, or a 400-worthy error whose err->field is the path of the
 * offending input ("trigger.repeat", "trigger.segment.rules[2].operator") and whose message
 * says what was expected and what was got.
 *
 * Pure: no I/O, no store, no clock. What depends on the running engine (which indexes and
 * formats exist, what a segment rule means) comes in through struct tw_validate_ctx.
 */
#ifndef TW_API_VALIDATE_H
#define TW_API_VALIDATE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"
#include "segment/segment.h"

enum tw_input_mode {
    TW_INPUT_CREATE, /* POST /tasks: chain, desc, target, trigger required */
    TW_INPUT_UPDATE, /* PUT /tasks/{id}: every field optional; read-only echoes ignored */
};

/* Checks a segment's rules against an index's fields (segment/segment.h); NULL in the ctx:
 * only the structure is checked. */
typedef tw_seg_check_fn tw_segment_check_fn;

struct tw_validate_ctx {
    const char *const *indexes;         /* known export_index names, NULL-terminated */
    const char *const *formats;         /* known export_format names (csv, json, Lua ones) */
    tw_segment_check_fn *check_segment; /* may be NULL */
    void *check_ctx;
    /* Indexes that accept target.since (their plugin declares a change column, docs/reference.md §13),
     * NULL-terminated; NULL: none does. */
    const char *const *since_indexes;
};

struct tw_task_input {
    bool has_chain;
    int64_t chain;
    bool has_desc;
    char *desc; /* owned */
    bool has_trigger;
    json_t *trigger; /* owned reference; canonical form, see validate.c */
    bool has_target;
    json_t *target; /* owned reference; canonical form */
    bool has_debug;
    char *debug; /* owned */
    bool has_version;
    int64_t version;
    /* Derived from trigger (valid when has_trigger). */
    int64_t once_at;      /* trigger.once, UTC seconds */
    const char *repeat;   /* static string: "", "daily", "weekly", "monthly" */
    unsigned anchor_day;  /* day of month of once_at, for monthly repeats */
    int64_t segment_id;   /* trigger.segment_id, 0 when absent, -1 for a string id
                                       that is not a number (it names no saved segment) */
    char segment_ref[72]; /* trigger.segment_id as given, "" when absent */
    /* Derived from target (valid when has_target); point into target. */
    const char *action;
    const char *export_index;
    const char *export_format;
    const char *compression; /* "gzip" or "none" */
    const char *since;       /* target.since, NULL when absent */
    /* "webhook" (docs/reference.md §12, validate_hook.c): has_webhook when the key was given;
     * webhook_url NULL then means null (no webhook / remove it). */
    bool has_webhook;
    char *webhook_url;       /* owned */
    unsigned webhook_events; /* TW_WEBHOOK_ON_DONE | TW_WEBHOOK_ON_ERROR (store/store.h) */
};

/*
 * Validate body (must be a JSON object; the caller has parsed it and rejected non-objects).
 * On success fills *out (release with tw_task_input_fini) and returns TW_OK; otherwise
 * returns TW_EINVAL with err->field and err->msg set, and *out holds nothing to release.
 */
int tw_task_input_parse(const json_t *body, enum tw_input_mode mode,
                        const struct tw_validate_ctx *ctx, struct tw_task_input *out,
                        struct tw_err *err);

void tw_task_input_fini(struct tw_task_input *in);

/* The "webhook" value v into out's webhook fields (validate_hook.c); errors name "webhook.*". */
int tw_webhook_input_parse(const json_t *v, struct tw_task_input *out, struct tw_err *err);
/* url is an acceptable webhook URL (http or https, a host, a valid port); else 400 "webhook.url". */
int tw_webhook_url_check(const char *url, struct tw_err *err);

/* Serialize a canonical object compactly with keys in insertion order; caller tw_free()s. */
char *tw_json_compact(const json_t *j);

/*
 * tw_seg_parse (segment/segment.h) with ctx's index names and check function: the segment at
 * path ("trigger.segment"), for tasks and the saved-segments API (§6.4).
 */
int tw_segment_input_parse(const json_t *seg, const char *export_index, int64_t chain,
                           const struct tw_validate_ctx *ctx, const char *path, json_t **canon,
                           struct tw_err *err);

#endif
