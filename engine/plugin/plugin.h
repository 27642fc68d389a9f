/*
 * The plugin part: loading index plugins (load.c), the registry of loaded indexes
 * (registry.c), the struct tw_host the engine hands them (host.c), the engine-side record
 * plugins fill (record.c) and the query with its pushdown conditions (query.c).
 *
 * The public ABI is include/taskwheel/plugin.h; this header is the engine's side of it.
 * Chain isolation is not the plugin's job alone: export.c checks every record's chain.
 */
#ifndef TW_PLUGIN_PLUGIN_H
#define TW_PLUGIN_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <taskwheel/plugin.h>

#include "core/err.h"

/* ---------------------------------------------------------------- loaded plugins */

/* One loaded index plugin: immutable after loading, shared by every run. */
struct tw_plugin {
    struct tw_index_plugin desc; /* zero-extended copy: an older plugin's tail reads NULL */
    char *file;                  /* path it was loaded from, or "(built-in)" */
    void *dl;                    /* dlopen handle, NULL for a descriptor added in-process */
    uint32_t nfields;            /* top-level columns */
};

struct tw_plugin_registry;

/* A new empty registry; *out owned by the caller (tw_plugin_registry_destroy). */
int tw_plugin_registry_create(struct tw_plugin_registry **out, struct tw_err *err);

/* Unloads every plugin. NULL is a no-op. */
void tw_plugin_registry_destroy(struct tw_plugin_registry *reg);

/*
 * Load every "*.so" in dir, in name order. A plugin that fails a check is refused, logged
 * (event plugin.refused) and remembered (tw_plugin_registry_refused); the others load.
 * Returns TW_OK, or TW_EIO when dir cannot be read (err says why).
 */
int tw_plugin_registry_load_dir(struct tw_plugin_registry *reg, const char *dir,
                                struct tw_err *err);

/*
 * Load one shared library. Checks, in order (STYLE §2.6): dlopen, the entry symbol,
 * ABI major, descriptor size, ABI minor, build signature, required members, duplicate index,
 * field table. Returns TW_OK, TW_ENOMEM, or TW_EINVAL with "plugin <file>: <reason>" in err
 * (the refusal is also remembered in the registry).
 */
int tw_plugin_registry_load_file(struct tw_plugin_registry *reg, const char *path,
                                 struct tw_err *err);

/*
 * Add a descriptor living in this process (built-ins, tests): the same checks as a loaded
 * file from the ABI major on. desc is borrowed and must outlive the registry; origin names it
 * in messages.
 */
int tw_plugin_registry_add(struct tw_plugin_registry *reg, const struct tw_index_plugin *desc,
                           const char *origin, struct tw_err *err);

/* The plugin serving index, or NULL. Borrowed from the registry. */
const struct tw_plugin *tw_plugin_registry_find(const struct tw_plugin_registry *reg,
                                                const char *index);

/* Iterate: the i-th loaded plugin in load order, NULL when i >= count. */
size_t tw_plugin_registry_count(const struct tw_plugin_registry *reg);
const struct tw_plugin *tw_plugin_registry_at(const struct tw_plugin_registry *reg, size_t i);

/* The i-th refusal message ("plugin /x/y.so: ABI major 2, engine has 1"), NULL past the end. */
const char *tw_plugin_registry_refused(const struct tw_plugin_registry *reg, size_t i);

/*
 * `taskwheel plugins`: each loaded plugin (index, label, version, file) with its fields
 * (name, type, segment type, flags), nested fields indented, then the refusals.
 * Returns TW_OK or TW_EIO.
 */
int tw_plugin_registry_print(const struct tw_plugin_registry *reg, FILE *out);

/*
 * Check a descriptor (already copied, zero-extended) and its field table; used by the
 * registry. Returns TW_OK or TW_EINVAL with the reason (no file prefix) in err.
 */
int tw_plugin_check_desc(const struct tw_index_plugin *d, struct tw_err *err);
int tw_plugin_check_fields(const struct tw_field *fields, bool nested, struct tw_err *err);

/* "int", "money", ... for a TW_FIELD_* type; "?" when unknown. */
const char *tw_field_type_name(uint32_t type);
/* "keyword", "text", "number", "date", "boolean", "-" for a TW_SEG_* type. */
const char *tw_field_seg_type_name(enum tw_seg_type t);
/* The same names, NULL-terminated, in TW_SEG_* order from TW_SEG_KEYWORD (entry t - 1). */
extern const char *const tw_field_seg_type_names[];
/* Number of entries before the {0} terminator. */
uint32_t tw_field_count(const struct tw_field *fields);

/* ---------------------------------------------------------------- records */

/*
 * One column's value. Text lives in the record's arena at off/len, so the arena can grow
 * without invalidating anything. DATE and DATETIME values are their canonical text there
 * ("YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ"), which sorts like the instants it names.
 */
struct tw_slot {
    union {
        int64_t i; /* INT, MONEY (minor units), BOOL (0/1); dates: see the text */
        double d;  /* NUMBER */
    } v;
    uint32_t off; /* TEXT/KEYWORD/DATE/DATETIME: offset of the bytes in the arena */
    uint32_t len; /* their length; not NUL-terminated */
    bool set;     /* false: null */
    /*
     * Text: which bytes a writer must treat specially (TW_UTF8_CSV_QUOTE, TW_UTF8_JSON_ESC
     * of core/utf8.h), found while the setter checked the UTF-8; 0 for other types and for
     * dates (canonical text never holds them). Lets a writer copy plain text as it is.
     */
    uint8_t marks;
};

/*
 * The engine-side record a plugin fills. Created once per run from the field table and reused
 * for every row: reset clears it without freeing, so a steady-state row allocates nothing.
 */
struct tw_record;

int tw_record_create(const struct tw_field *fields, struct tw_record **out, struct tw_err *err);
void tw_record_destroy(struct tw_record *r);
/* All null, no items, chain unset, not bad; keeps every allocation. */
void tw_record_reset(struct tw_record *r);

/* Setters (the host table points at these; see plugin.h for the contract). */
int tw_record_set_null(struct tw_record *r, uint32_t col);
int tw_record_set_int(struct tw_record *r, uint32_t col, int64_t v);
int tw_record_set_money(struct tw_record *r, uint32_t col, int64_t minor);
int tw_record_set_double(struct tw_record *r, uint32_t col, double v);
int tw_record_set_text(struct tw_record *r, uint32_t col, const char *s, size_t len);
int tw_record_set_bool(struct tw_record *r, uint32_t col, int v);
int tw_record_set_date(struct tw_record *r, uint32_t col, const char *iso, size_t len);
int tw_record_set_datetime(struct tw_record *r, uint32_t col, const char *iso, size_t len);
int tw_record_set_time(struct tw_record *r, uint32_t col, int64_t epoch_s);
int tw_record_set_chain(struct tw_record *r, int64_t chain);
int tw_record_item_begin(struct tw_record *r, uint32_t col);
int tw_record_item_end(struct tw_record *r);
int tw_record_reject(struct tw_record *r, const char *why);

/* Readers, for writers and filters. Column numbers are as in the field table. */
const struct tw_field *tw_record_fields(const struct tw_record *r);
uint32_t tw_record_ncols(const struct tw_record *r);
const struct tw_slot *tw_record_value(const struct tw_record *r, uint32_t col);
/* Elements of the LIST column col (0 for a non-list column). */
uint32_t tw_record_item_count(const struct tw_record *r, uint32_t col);
/* Sub-field sub of element item of LIST column col. */
const struct tw_slot *tw_record_item_value(const struct tw_record *r, uint32_t col, uint32_t item,
                                           uint32_t sub);
/* Bytes of a text/date slot (valid until the next reset or setter). */
const char *tw_record_text(const struct tw_record *r, const struct tw_slot *s);
/*
 * For writers walking a whole row: the top-level slots (slot i is tw_record_value(r, i)) and
 * the arena a text/date slot's bytes live in (at arena + off, as tw_record_text gives them).
 * Valid until the next reset or setter.
 */
const struct tw_slot *tw_record_slots(const struct tw_record *r);
const char *tw_record_arena(const struct tw_record *r);
/* Chain the plugin reported; false when it reported none. */
bool tw_record_chain(const struct tw_record *r, int64_t *chain);
/* Why the record cannot be written (first problem), or NULL when it is fine. */
const char *tw_record_bad(const struct tw_record *r);
/* True when a setter ran out of memory: the run fails rather than the record. */
bool tw_record_oom(const struct tw_record *r);

/* ---------------------------------------------------------------- queries */

/* The engine-side query (opaque to plugins): chain, run start, pushdown conditions. */
struct tw_query {
    int64_t chain;         /* the only chain to read */
    int64_t run_start;     /* epoch seconds UTC */
    int join;              /* TW_JOIN_ALL or TW_JOIN_ANY */
    struct tw_cond *conds; /* n conditions; values and strings owned by the query */
    bool *applied;         /* applied[i]: the plugin reported condition i applied */
    uint32_t n;            /* conditions in use */
    uint32_t cap;          /* allocated */
    bool window;           /* target.since: read only changes in [window_from, window_to) */
    int64_t window_from;   /* INT64_MIN: from the beginning (the task's first good run) */
    int64_t window_to;     /* the run's start */
};

void tw_query_init(struct tw_query *q, int64_t chain, int64_t run_start, int join);
void tw_query_fini(struct tw_query *q);

/*
 * Append a condition (deep copy of values and their strings). type is the TW_FIELD_* type of
 * the field it tests: for DATE/DATETIME pass i (epoch seconds) and the canonical text s/len is
 * filled in here ("YYYY-MM-DD" for DATE, so give DATE conditions whole days).
 * Returns TW_OK, TW_ENOMEM, or TW_EINVAL for an unknown op or a wrong number of values.
 */
int tw_query_add(struct tw_query *q, uint32_t field, uint32_t sub, uint32_t op,
                 const struct tw_value *values, uint32_t nvalues, uint32_t type,
                 struct tw_err *err);
/* Forget which conditions were applied (before a new run reuses the query). */
void tw_query_clear_applied(struct tw_query *q);

/* ---------------------------------------------------------------- host */

/* The host table plus the per-run context its functions read. */
struct tw_host_ctx {
    struct tw_host api; /* first member: plugins get &ctx->api */
    const char *index;  /* plugin index, for log lines; borrowed */
    const char *source; /* source setting; borrowed */
    const char *driver; /* source.driver ("sqlite" when NULL); borrowed, set after init */
};

/* Fill ctx for one run of the plugin serving index; both strings borrowed. */
void tw_host_init(struct tw_host_ctx *ctx, const char *index, const char *source);

#endif /* TW_PLUGIN_PLUGIN_H */
