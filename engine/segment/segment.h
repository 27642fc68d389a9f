/*
 * The segment compiler (docs/reference.md §6): a validated segment (tw_seg_parse checked its
 * structure) becomes, for one run, a list of typed rules resolved against the index's field
 * table. Each rule is evaluated per record in C (tw_seg_keep) and, where the source can
 * express it exactly, also handed to the plugin as pushdown conditions (tw_seg_pushdown);
 * rules the plugin reports applied are not evaluated again.
 *
 * One meaning, two paths. Every rule is first reduced to a normal form that both paths share:
 *   - numbers on INT and MONEY fields become inclusive integer bounds in the field's own units
 *     (cents for money: "min": 10.5 is 1050), so the SQL and the C comparison are the same
 *     integer comparison; a value that cannot equal any field value (12.5 on an INT) makes
 *     "is" match nothing and "is_not" match everything;
 *   - date rules become inclusive epoch-second bounds; on DATE fields (whole days) the bounds
 *     are rounded to whole days, so "after 2026-05-01T12:00Z" on a birthday is ">= 05-02";
 *   - relative rules are bounds measured from the run's start time (docs/reference.md §6).
 * Text: keyword "is" is exact (bytes); text "is" and every "contains" ignore ASCII case
 * (SQLite's lower() folds ASCII only, so we do the same). A null (or empty text) field never
 * matches a comparison; it matches "is_not", "does_not_exist". Nested rules match when any
 * element of the list matches. (An empty string is a value like any other for comparisons;
 * only exists/does_not_exist treat it as missing.) A script rule calls the operator's Lua
 * function (docs/reference.md §6.3) per record; it is never pushed down.
 *
 * Ownership: tw_seg_compile allocates *out; tw_seg_destroy frees it. The query passed to
 * tw_seg_pushdown is the caller's and must outlive every tw_seg_keep call.
 */
#ifndef TW_SEGMENT_SEGMENT_H
#define TW_SEGMENT_SEGMENT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"
#include "plugin/plugin.h"

struct tw_seg;

/*
 * Checks a segment's rules against an index's fields; the caller provides it (serve.c: the
 * loaded plugin's fields through tw_seg_check, and the installed scripts). path is the
 * segment's own path; on error it sets err->field to the full path of the bad part.
 */
typedef int tw_seg_check_fn(void *ctx, const json_t *segment, const char *export_index,
                            int64_t chain, const char *path, struct tw_err *err);

/*
 * Validate a segment (docs/reference.md §6) found at path ("trigger.segment"): structure, types, each
 * operator's keys (seg_parse.c); then check(check_ctx, ...), when check is set and an index is
 * known, for what depends on the index's fields. export_index: the task's
 * target.export_index, NULL when not in view (the segment's own "index", which must be one of
 * indexes, NULL-terminated, is then used); chain: the task's chain, 0 when not in view. On
 * success *canon is a new reference to the canonical segment (defaults filled); on failure
 * TW_EINVAL (or check's error) with err->field set, and *canon is NULL.
 */
int tw_seg_parse(const json_t *seg, const char *export_index, int64_t chain,
                 const char *const *indexes, tw_seg_check_fn *check, void *check_ctx,
                 const char *path, json_t **canon, struct tw_err *err);

/*
 * Check the rules of a structurally valid segment against an index's fields (docs/reference.md §6.2):
 * field_name is a filterable field (or, with nested, a sub-field of nesting_path), field_type
 * is that field's segment type. index names the index in messages. path is the segment's path
 * ("trigger.segment"); on error err->field is the rule's key ("...rules[2].field_name") and
 * the message lists what would be valid. TW_OK or TW_EINVAL.
 */
int tw_seg_check(const json_t *segment, const char *index, const struct tw_field *fields,
                 const char *path, struct tw_err *err);

/*
 * Check that every script rule names an installed script (scripts: NULL-terminated names, see
 * tw_lua_names; NULL means none). TW_OK, or TW_EINVAL with err->field "...rules[i].script"
 * and the installed names in the message.
 */
int tw_seg_check_scripts(const json_t *segment, const char *const *scripts, const char *path,
                         struct tw_err *err);

/*
 * Compile for one run starting at run_start (epoch seconds UTC). The segment must pass
 * tw_seg_check against the same fields. TW_OK, TW_EINVAL (err says which rule), TW_ENOMEM.
 */
int tw_seg_compile(const json_t *segment, const struct tw_field *fields, int64_t run_start,
                   struct tw_seg **out, struct tw_err *err);

void tw_seg_destroy(struct tw_seg *g);

/*
 * Load the segment's script rules into L from segments_dir (lua_dir "/segments"). Needed
 * before tw_seg_keep when the segment has script rules; L is borrowed and must outlive g's
 * use. TW_OK, or TW_ESCRIPT / TW_ENOTFOUND / TW_ENOMEM with "segments/x.lua:3: ..." in err.
 */
struct tw_lua;
int tw_seg_bind_lua(struct tw_seg *g, struct tw_lua *L, const char *segments_dir,
                    struct tw_err *err);

/* True when the segment has script rules (and so needs tw_seg_bind_lua). */
bool tw_seg_has_scripts(const struct tw_seg *g);

/* TW_JOIN_ALL or TW_JOIN_ANY: pass it to tw_query_init. */
int tw_seg_join(const struct tw_seg *g);

/*
 * Add the conditions that express rules exactly to q (initialised with tw_seg_join), and
 * remember q: after the plugin's open, tw_seg_keep reads which were applied. With join "any"
 * conditions are added only when every rule is one condition (an OR of a subset would drop
 * records). TW_OK or TW_ENOMEM.
 */
int tw_seg_pushdown(struct tw_seg *g, struct tw_query *q, struct tw_err *err);

/*
 * The residual filter, shaped for struct tw_export_job.keep (ctx is the struct tw_seg):
 * 1 keep, 0 drop, or TW_ESCRIPT with err set when a script rule failed (the run fails).
 * Evaluates every rule the plugin did not apply (all of them when pushdown was not used).
 */
int tw_seg_keep(void *ctx, const struct tw_record *r, struct tw_err *err);

/* Evaluate every rule in C, ignoring pushdown (for equivalence tests). 1 or 0 (a failing
 * script rule counts as no match). */
int tw_seg_match(const struct tw_seg *g, const struct tw_record *r);

#endif /* TW_SEGMENT_SEGMENT_H */
