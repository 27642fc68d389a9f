/*
 * taskwheel index plugin ABI, version 1.2. This header is the contract, and the only header an
 * index plugin includes: it is self-contained C11 and names nothing from the engine.
 *
 * An index plugin is a shared library that exports one symbol, tw_index_plugin_v1, a const
 * struct tw_index_plugin (write it with TW_INDEX_PLUGIN at the bottom of the file). The engine
 * dlopen()s every *.so in plugins_dir at startup, checks the descriptor (ABI version, size,
 * build signature, unique index, field table) and refuses, with a message naming the file and
 * the reason, any plugin that fails a check; the others still load.
 *
 * One export run = open -> next ... -> close on one cursor, in one worker process. Records are
 * written through the engine's struct tw_host function table, never by touching engine memory,
 * so plugins never link against the engine.
 *
 * Versioning (docs/plugin-abi.md):
 *   - TW_ABI_MAJOR changes for any incompatible change; the engine refuses another major.
 *   - TW_ABI_MINOR changes when members are appended below an "ABI 1.x" marker of
 *     struct tw_index_plugin or struct tw_host. Nothing above a marker ever moves.
 *   - The engine accepts a plugin whose minor is <= its own; members the plugin does not have
 *     read as zero/NULL. A plugin calls a host function added in 1.x only after checking
 *     host->abi_minor >= x.
 *   - struct tw_field, struct tw_value and struct tw_cond are frozen for major 1 (field tables
 *     are arrays: their stride cannot change); their reserved members must be zero.
 * Layouts are pinned by tests/plugins/test_abi_layout.c.
 */
#ifndef TASKWHEEL_PLUGIN_H
#define TASKWHEEL_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TW_ABI_MAJOR 1 /* bumped for any incompatible change; the host refuses a mismatch */
#define TW_ABI_MINOR 2 /* bumped when members are appended below a marker line */

/* The one symbol the engine looks up. */
#define TW_PLUGIN_SYMBOL "tw_index_plugin_v1"

#if defined(__GNUC__) || defined(__clang__)
#define TW_PLUGIN_EXPORT __attribute__((visibility("default")))
#define TW_PLUGIN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TW_PLUGIN_EXPORT
#define TW_PLUGIN_PRINTF(f, a)
#endif

/*
 * Build signature: the properties of the compiler target that the ABI depends on. The engine
 * refuses a plugin built with a different one (e.g. a 32-bit plugin, another byte order).
 * Filled in by TW_INDEX_PLUGIN; compare with the engine's own.
 */
#define TW_SIG_STR_(x) #x
#define TW_SIG_STR(x) TW_SIG_STR_(x)
#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define TW_SIG_ENDIAN "be"
#else
#define TW_SIG_ENDIAN "le"
#endif
#define TW_BUILD_SIG                                                                        \
    "tw" TW_SIG_STR(TW_ABI_MAJOR) ";ptr" TW_SIG_STR(__SIZEOF_POINTER__) ";long" TW_SIG_STR( \
        __SIZEOF_LONG__) ";size" TW_SIG_STR(__SIZEOF_SIZE_T__) ";dbl" TW_SIG_STR(__SIZEOF_DOUBLE__) ";" TW_SIG_ENDIAN

/*
 * Status codes a plugin returns and passes to host->err_set. Same values as the engine's own
 * codes (the engine pins them with static assertions).
 */
#define TW_PLUGIN_OK 0
#define TW_PLUGIN_EINVAL (-1)  /* bad input, e.g. a malformed source string */
#define TW_PLUGIN_ENOMEM (-2)  /* an allocation failed */
#define TW_PLUGIN_EIO (-3)     /* a file or socket failed */
#define TW_PLUGIN_ESOURCE (-9) /* the source (database, API) failed */

/* Log levels for host->log (same values as the engine's). */
#define TW_PLUGIN_LOG_DEBUG 0
#define TW_PLUGIN_LOG_INFO 1
#define TW_PLUGIN_LOG_WARN 2
#define TW_PLUGIN_LOG_ERROR 3

struct tw_host;   /* engine services; layout below, append-only */
struct tw_record; /* opaque: one output record, written with host->rec_* */
struct tw_query;  /* opaque: what to read, read with host->q_* */
struct tw_err;    /* opaque: error out-parameter, filled with host->err_set */

/*
 * Field types. The value a plugin delivers for each, and the segment type (docs/reference.md §6) rules on
 * the field use, are:
 *   INT      int64 (host->rec_set_int)                           number
 *   MONEY    int64 minor units, 2 decimals: 1250 = 12.50         number
 *            (host->rec_set_money; exported as "12.50", never through a float)
 *   NUMBER   double (host->rec_set_double)                       number
 *   KEYWORD  UTF-8 text, matched exactly (host->rec_set_text)    keyword
 *   TEXT     UTF-8 text, matched by words, case-insensitively    text
 *   BOOL     0/1 (host->rec_set_bool)                            boolean
 *   DATE     calendar date, "YYYY-MM-DD" (host->rec_set_date)    date
 *   DATETIME UTC instant, whole seconds (host->rec_set_datetime) date
 *   LIST     nested list of objects whose fields are the `nested` table; elements are
 *            written between host->rec_item_begin and host->rec_item_end. Rules reach its
 *            sub-fields with nested: true.
 * Any type may also be null (host->rec_set_null, or simply never set).
 * When adding a type: also update tw_field_seg_type() below, the loader's check in
 * engine/plugin/load.c, the record setters and every writer in engine/export/.
 */
enum tw_field_type {
    TW_FIELD_INT = 1, /* 0 is left invalid so a zeroed field is caught */
    TW_FIELD_MONEY = 2,
    TW_FIELD_NUMBER = 3,
    TW_FIELD_KEYWORD = 4,
    TW_FIELD_TEXT = 5,
    TW_FIELD_BOOL = 6,
    TW_FIELD_DATE = 7,
    TW_FIELD_DATETIME = 8,
    TW_FIELD_LIST = 9,
};

/* Segment-level types (docs/reference.md §6 field_type). */
enum tw_seg_type {
    TW_SEG_NONE = 0, /* not usable in a rule directly (a LIST; its sub-fields are) */
    TW_SEG_KEYWORD = 1,
    TW_SEG_TEXT = 2,
    TW_SEG_NUMBER = 3,
    TW_SEG_DATE = 4,
    TW_SEG_BOOLEAN = 5,
};

/* The segment type a field type maps to; TW_SEG_NONE for LIST and unknown types. */
static inline enum tw_seg_type tw_field_seg_type(uint32_t type)
{
    switch (type) {
    case TW_FIELD_INT:
    case TW_FIELD_MONEY:
    case TW_FIELD_NUMBER: return TW_SEG_NUMBER;
    case TW_FIELD_KEYWORD: return TW_SEG_KEYWORD;
    case TW_FIELD_TEXT: return TW_SEG_TEXT;
    case TW_FIELD_BOOL: return TW_SEG_BOOLEAN;
    case TW_FIELD_DATE:
    case TW_FIELD_DATETIME: return TW_SEG_DATE;
    default: return TW_SEG_NONE;
    }
}

/* Field flags. */
#define TW_FIELD_FILTERABLE (1u << 0) /* segment rules may name this field */
#define TW_FIELD_NESTED (1u << 1)     /* set on, and only on, a TW_FIELD_LIST field */

/*
 * One column of an index. A field table is an array terminated by an all-zero entry ({0}).
 * The position of a field in its table is its column number in host->rec_set_* calls
 * (top-level fields count from 0; inside a list element, the sub-fields count from 0 again).
 * Names are unique within a table, non-empty, and are the CSV header / JSON keys.
 * Frozen for ABI 1: do not add members (tables are arrays).
 */
struct tw_field {
    const char *name;              /* column name; NULL only in the terminator */
    uint32_t type;                 /* enum tw_field_type */
    uint32_t flags;                /* TW_FIELD_FILTERABLE | TW_FIELD_NESTED */
    const struct tw_field *nested; /* LIST only: sub-field table, {0}-terminated, no LISTs */
    const void *reserved[2];       /* must be NULL */
};

/*
 * Pushdown conditions (docs/reference.md §6.1). The engine hands a plugin a list of simple conditions
 * joined by ALL (AND) or ANY (OR) that it MAY evaluate in its source. The contract:
 *   - A plugin reports every condition it applied with host->q_applied(q, i). Applying a
 *     condition means: every record it would reject is not returned, every record it accepts
 *     still is. The engine evaluates itself every condition not reported applied (and may
 *     re-check applied ones), so a plugin that applies nothing is always correct.
 *   - With join ANY, a plugin must apply all of the conditions or none of them (a subset of
 *     an OR would drop records another condition accepts).
 *   - Semantics, which must equal the engine's per-record evaluation exactly:
 *       EQ, LT, LE, GT, GE   field compared with values[0]; a null field never matches.
 *       NE                   field is null, or differs from values[0].
 *       IN                   field equals any of values[0..nvalues-1]; null never matches.
 *       CONTAINS_CI          TEXT/KEYWORD field contains values[0] as a substring, ASCII
 *                            case-insensitively; null never matches.
 *       IS_NULL / NOT_NULL   field is null (or "" for text) / is set and not "". No values.
 *     Text compares bytewise (UTF-8). DATE and DATETIME compare as instants; DATE values are
 *     whole days (their text is "YYYY-MM-DD"), DATETIME values "YYYY-MM-DDTHH:MM:SSZ", so both
 *     also compare correctly as text against a column of the same type. BOOL values are 0/1.
 *   - Conditions on a nested list's sub-field (sub != TW_COND_TOP) mean "any element
 *     matches"; a plugin that cannot express that simply does not apply them.
 * The task's chain is not a condition: the plugin must always restrict to host->q_chain(q),
 * and the engine drops (and counts as errors) records reporting another chain.
 */
enum tw_cond_op {
    TW_OP_EQ = 1,
    TW_OP_NE = 2,
    TW_OP_LT = 3,
    TW_OP_LE = 4,
    TW_OP_GT = 5,
    TW_OP_GE = 6,
    TW_OP_IN = 7,
    TW_OP_CONTAINS_CI = 8,
    TW_OP_IS_NULL = 9,
    TW_OP_NOT_NULL = 10,
};

#define TW_JOIN_ALL 0 /* conditions are ANDed */
#define TW_JOIN_ANY 1 /* conditions are ORed */

#define TW_COND_TOP UINT32_MAX /* tw_cond.sub for a top-level field */

/*
 * A typed condition value; which member is meaningful follows the field's type:
 *   INT, MONEY (minor units), BOOL (0/1)  i
 *   NUMBER                                d
 *   KEYWORD, TEXT                         s, len (UTF-8, not NUL-terminated by contract;
 *                                         the engine does add a NUL after it)
 *   DATE, DATETIME                        i (epoch seconds, UTC) AND s, len (canonical text)
 * Owned by the engine; valid until close.
 */
struct tw_value {
    int64_t i;
    double d;
    const char *s;
    size_t len;
};

struct tw_cond {
    uint32_t field;                /* index in the plugin's top-level field table */
    uint32_t sub;                  /* sub-field index within a LIST field, or TW_COND_TOP */
    uint32_t op;                   /* enum tw_cond_op */
    uint32_t nvalues;              /* 1 for comparisons, >= 1 for IN, 0 for IS_NULL/NOT_NULL */
    const struct tw_value *values; /* nvalues entries, owned by the engine */
};

/*
 * The engine's services, passed to open() and valid until close(). Every function may be
 * called only from the thread that called open(). Members are append-only; check
 * host->abi_minor before calling one added in a later 1.x.
 */
struct tw_host {
    uint16_t abi_major; /* TW_ABI_MAJOR of the engine */
    uint16_t abi_minor; /* TW_ABI_MINOR of the engine */
    uint32_t size;      /* sizeof(struct tw_host) in the engine */

    /* Log one line, printf-style, tagged with the plugin's index. level: TW_PLUGIN_LOG_*. */
    void (*log)(const struct tw_host *host, int level, const char *fmt, ...) TW_PLUGIN_PRINTF(3, 4);
    /*
     * Fill err (may be NULL) with a sentence a user can act on; returns code, so a plugin can
     * `return host->err_set(err, TW_PLUGIN_ESOURCE, "...")`. The engine prefixes
     * "plugin <index>: ".
     */
    int (*err_set)(struct tw_err *err, int code, const char *fmt, ...) TW_PLUGIN_PRINTF(3, 4);
    /* Memory the engine can account for; alloc returns NULL on failure. free(NULL) is a no-op. */
    void *(*alloc)(size_t size);
    void (*free)(void *ptr);
    /*
     * The operator's source setting: for SQLite sources the database file path, for
     * PostgreSQL sources the connection string (see source_driver, ABI 1.2). Borrowed.
     */
    const char *(*source)(const struct tw_host *host);

    /*
     * Record setters. col is the field's position in the current table (top level, or the
     * list's sub-fields between rec_item_begin and rec_item_end). The engine resets the record
     * to all-null before each next(); columns never set stay null. Each returns
     * TW_PLUGIN_OK, TW_PLUGIN_ENOMEM (the run fails) or TW_PLUGIN_EINVAL, when the value
     * cannot be stored (wrong type for the column, column out of range, invalid UTF-8, a
     * malformed date): then the record is marked bad and the engine counts it as an error
     * instead of writing it. Plugins may ignore the result; the engine does not.
     * Text is copied (the plugin's buffer may change after the call).
     */
    int (*rec_set_null)(struct tw_record *r, uint32_t col);
    int (*rec_set_int)(struct tw_record *r, uint32_t col, int64_t v);
    int (*rec_set_money)(struct tw_record *r, uint32_t col, int64_t minor_units);
    int (*rec_set_double)(struct tw_record *r, uint32_t col, double v);
    int (*rec_set_text)(struct tw_record *r, uint32_t col, const char *s, size_t len);
    int (*rec_set_bool)(struct tw_record *r, uint32_t col, int v);
    /*
     * Dates and date-times as ISO 8601 text, the way sources usually store them:
     * rec_set_date takes "YYYY-MM-DD"; rec_set_datetime takes "YYYY-MM-DDTHH:MM:SSZ" (fast
     * path) or any ISO 8601 date-time with an offset or fractional seconds (normalised to UTC,
     * whole seconds). rec_set_time sets either type from epoch seconds (UTC).
     */
    int (*rec_set_date)(struct tw_record *r, uint32_t col, const char *iso, size_t len);
    int (*rec_set_datetime)(struct tw_record *r, uint32_t col, const char *iso, size_t len);
    int (*rec_set_time)(struct tw_record *r, uint32_t col, int64_t epoch_s);
    /* The chain the record belongs to, as read from the source. Mandatory for every record. */
    int (*rec_set_chain)(struct tw_record *r, int64_t chain);
    /*
     * Start a new element of the LIST field at top-level column col; until rec_item_end the
     * rec_set_* column numbers refer to that list's sub-fields. A list never given an element
     * is empty (exported as [] / a single CSV row with empty item columns).
     */
    int (*rec_item_begin)(struct tw_record *r, uint32_t col);
    int (*rec_item_end)(struct tw_record *r);
    /*
     * Mark the record as not writable, with a reason (e.g. a source value that does not fit
     * its column): the engine counts it as an error and carries on. Returns TW_PLUGIN_EINVAL.
     */
    int (*rec_reject)(struct tw_record *r, const char *why);

    /* The query of this run (docs/reference.md §6.1). Borrowed, valid until close. */
    int64_t (*q_chain)(const struct tw_query *q);     /* the only chain to read */
    int64_t (*q_run_start)(const struct tw_query *q); /* the run's "now", epoch seconds UTC */
    int (*q_join)(const struct tw_query *q);          /* TW_JOIN_ALL or TW_JOIN_ANY */
    uint32_t (*q_cond_count)(const struct tw_query *q);
    const struct tw_cond *(*q_cond)(const struct tw_query *q, uint32_t i); /* NULL if i >= count */
    /* Report that condition i is applied by the source (see the pushdown contract above). */
    void (*q_applied)(struct tw_query *q, uint32_t i);

    /* ABI 1.1: members below exist when host->abi_minor >= 1. */

    /*
     * Incremental exports (docs/reference.md §13, target.since). Returns 0 when the run reads everything
     * (no window). Returns 1 when the run must return only the records whose change time
     * (the plugin's change_column, see struct tw_index_plugin) c satisfies
     *     *from <= c < *to            (epoch seconds UTC, whole seconds)
     * where *to is the run's start; *from is INT64_MIN on the first run of a task ("from the
     * beginning": then records without a change time are returned too, later windows never
     * return them). Windows of consecutive good runs meet exactly, so each change is
     * exported once. The engine cannot check this per record: a plugin that declares a
     * change_column must apply the window. Plugins without one are never given a window.
     */
    int (*q_window)(const struct tw_query *q, int64_t *from, int64_t *to);

    /* ABI 1.2: members below exist when host->abi_minor >= 2. */

    /*
     * Which kind of source host->source names (docs/sources.md): "sqlite" (a database file
     * path) or "postgresql" (a libpq connection string, which may hold a password: never log
     * it or put it in an error message). The operator's source.driver. Borrowed.
     */
    const char *(*source_driver)(const struct tw_host *host);

    /* ABI 1.3: append new members below this line only. */
};

/*
 * The descriptor a plugin exports as tw_index_plugin_v1.
 *
 * open:  start a read of the query's chain. host and q are borrowed and stay valid until
 *        close. On success sets *cursor (owned by the plugin) and returns TW_PLUGIN_OK; on
 *        failure returns a negative code with a message in err and close is not called.
 * next:  fill out with the next record. Returns 1 for a record, 0 at the end, or a negative
 *        code (message in err) when the read fails; the run then ends in ERROR.
 * close: release the cursor; called exactly once iff open returned TW_PLUGIN_OK.
 */
struct tw_index_plugin {
    uint16_t abi_major;            /* TW_ABI_MAJOR when the plugin was compiled */
    uint16_t abi_minor;            /* TW_ABI_MINOR when the plugin was compiled */
    uint32_t size;                 /* sizeof(struct tw_index_plugin) when compiled */
    const char *signature;         /* TW_BUILD_SIG when compiled */
    const char *index;             /* export_index served, e.g. "wallet-ledger"; [a-z0-9_-] */
    const char *label;             /* file label, "Wallet" -> Wallet_Export-1.csv; [A-Za-z0-9_-] */
    const char *version;           /* the plugin's own version, shown by `taskwheel plugins` */
    const struct tw_field *fields; /* the columns, in export order; {0}-terminated */
    int (*open)(const struct tw_host *host, struct tw_query *q, void **cursor, struct tw_err *err);
    int (*next)(void *cursor, struct tw_record *out, struct tw_err *err);
    void (*close)(void *cursor);
    /* ABI 1.1: members below read as NULL for a plugin built against 1.0. */

    /*
     * What "changed" means for this index, in words for users and `taskwheel plugins`
     * ("timestamp", "the later of created_date and last_modified"). Non-NULL declares that
     * the plugin applies host->q_window, so tasks on this index may set target.since; NULL
     * (and every 1.0 plugin) refuses target.since with a 400 naming target.since.
     */
    const char *change_column;

    /* ABI 1.2: append new members below this line only. */
};

/*
 * Define the exported descriptor; the arguments are designated initialisers:
 *   TW_INDEX_PLUGIN(.index = "users", .label = "User", .version = "1.0.0",
 *                   .fields = user_fields, .open = u_open, .next = u_next, .close = u_close);
 */
#define TW_INDEX_PLUGIN(...)                                                 \
    TW_PLUGIN_EXPORT extern const struct tw_index_plugin tw_index_plugin_v1; \
    TW_PLUGIN_EXPORT const struct tw_index_plugin tw_index_plugin_v1 = {     \
        .abi_major = TW_ABI_MAJOR,                                           \
        .abi_minor = TW_ABI_MINOR,                                           \
        .size = sizeof(struct tw_index_plugin),                              \
        .signature = TW_BUILD_SIG,                                           \
        __VA_ARGS__                                                          \
    }

#ifdef __cplusplus
}
#endif

#endif /* TASKWHEEL_PLUGIN_H */
