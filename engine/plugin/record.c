/*
 * The engine-side record (plugin.h): what a plugin fills through host->rec_set_* and what the
 * writers and filters read. It is the hot path of every export, so:
 *   - it is built once per run from the field table and reset, never freed, between rows:
 *     slots are a flat array, nested elements another flat array per LIST column, and all
 *     bytes (text, dates) go into one arena addressed by offset, so growth is amortised and a
 *     steady-state row allocates nothing;
 *   - values are validated as they arrive (type matches the column, UTF-8 is valid, dates are
 *     canonical), so writers can copy bytes without re-checking. A value that fails marks the
 *     record bad: the driver counts it as an error (docs/reference.md §7.3) instead of writing it;
 *   - dates are kept as canonical ISO text: sources store them that way and writers print them
 *     that way, so the common path never converts through epoch seconds. Canonical text
 *     compares in the same order as the instants it names.
 */
#include "plugin/plugin.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "core/time.h"
#include "core/utf8.h"

#define ARENA_MIN 4096
#define ARENA_MAX ((size_t)1 << 30) /* 1 GiB of text in one record is a broken source */

struct rec_list {
    const struct tw_field *sub; /* sub-field table of this LIST column */
    uint32_t nsub;              /* sub-fields per element */
    uint32_t nitems;            /* elements in the current record */
    uint32_t cap;               /* elements allocated */
    struct tw_slot *slots;      /* nitems * nsub, element-major */
};

struct tw_record {
    const struct tw_field *fields; /* borrowed from the plugin descriptor */
    uint32_t ncols;                /* top-level columns */
    struct tw_slot *slots;         /* ncols */
    struct rec_list *lists;        /* ncols entries; sub == NULL for non-list columns */
    char *arena;                   /* text bytes of this record */
    size_t alen;                   /* bytes used */
    size_t acap;                   /* bytes allocated */
    int64_t chain;                 /* reported by the plugin */
    bool has_chain;                /* rec_set_chain was called */
    bool oom;                      /* a setter failed to allocate */
    int32_t cur;                   /* LIST column whose element is open, -1 when none */
    char bad[200];                 /* first problem, "" when the record is fine */
};

int tw_record_create(const struct tw_field *fields, struct tw_record **out, struct tw_err *err)
{
    struct tw_record *r;
    uint32_t i;

    *out = NULL;
    r = tw_calloc(1, sizeof(*r));
    if (r == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory creating a record");
    r->fields = fields;
    r->ncols = tw_field_count(fields);
    r->cur = -1;
    r->slots = tw_calloc(r->ncols ? r->ncols : 1, sizeof(*r->slots));
    r->lists = tw_calloc(r->ncols ? r->ncols : 1, sizeof(*r->lists));
    r->arena = tw_malloc(ARENA_MIN);
    if (r->slots == NULL || r->lists == NULL || r->arena == NULL) {
        tw_record_destroy(r);
        return tw_err_set(err, TW_ENOMEM, "out of memory creating a record");
    }
    r->acap = ARENA_MIN;
    for (i = 0; i < r->ncols; i++) {
        if (fields[i].type != TW_FIELD_LIST)
            continue;
        r->lists[i].sub = fields[i].nested;
        r->lists[i].nsub = tw_field_count(fields[i].nested);
    }
    *out = r;
    return TW_OK;
}

void tw_record_destroy(struct tw_record *r)
{
    uint32_t i;

    if (r == NULL)
        return;
    for (i = 0; r->lists != NULL && i < r->ncols; i++)
        tw_free(r->lists[i].slots);
    tw_free(r->lists);
    tw_free(r->slots);
    tw_free(r->arena);
    tw_free(r);
}

void tw_record_reset(struct tw_record *r)
{
    uint32_t i;

    memset(r->slots, 0, r->ncols * sizeof(*r->slots));
    for (i = 0; i < r->ncols; i++)
        r->lists[i].nitems = 0;
    r->alen = 0;
    r->has_chain = false;
    r->oom = false;
    r->cur = -1;
    r->bad[0] = '\0';
}

static int mark_bad(struct tw_record *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Remember the first problem only: it is the one that explains the others. */
static int mark_bad(struct tw_record *r, const char *fmt, ...)
{
    va_list ap;

    if (r->bad[0] == '\0') {
        va_start(ap, fmt);
        vsnprintf(r->bad, sizeof(r->bad), fmt, ap);
        va_end(ap);
        if (r->bad[0] == '\0')
            r->bad[0] = '?';
    }
    return TW_EINVAL;
}

/*
 * The slot for col in the current context (top level, or the open list element), after
 * checking that the column exists and that its type is one of want (a bit mask of 1 << type).
 * NULL (record marked bad) otherwise.
 */
static struct tw_slot *slot_for(struct tw_record *r, uint32_t col, uint32_t want)
{
    const struct tw_field *f;
    struct rec_list *l;

    if (r->cur < 0) {
        if (col >= r->ncols) {
            mark_bad(r, "plugin set column %u, the index has %u", col, r->ncols);
            return NULL;
        }
        f = &r->fields[col];
        if (!(want & (1u << f->type))) {
            mark_bad(r, "plugin set %s with a value of the wrong type", f->name);
            return NULL;
        }
        return &r->slots[col];
    }
    l = &r->lists[r->cur];
    if (col >= l->nsub) {
        mark_bad(r, "plugin set item column %u, the list has %u", col, l->nsub);
        return NULL;
    }
    f = &l->sub[col];
    if (!(want & (1u << f->type))) {
        mark_bad(r, "plugin set item %s with a value of the wrong type", f->name);
        return NULL;
    }
    return &l->slots[(size_t)(l->nitems - 1) * l->nsub + col];
}

#define T(x) (1u << (x))
#define ANY_TYPE                                                                      \
    (T(TW_FIELD_INT) | T(TW_FIELD_MONEY) | T(TW_FIELD_NUMBER) | T(TW_FIELD_KEYWORD) | \
     T(TW_FIELD_TEXT) | T(TW_FIELD_BOOL) | T(TW_FIELD_DATE) | T(TW_FIELD_DATETIME))

/* Append bytes to the arena; sets s->off/len/marks. */
static int arena_put(struct tw_record *r, struct tw_slot *s, const char *p, size_t len,
                     unsigned marks)
{
    size_t need = r->alen + len;
    size_t cap;
    char *a;

    if (need > r->acap) {
        if (need > ARENA_MAX)
            return mark_bad(r, "record holds more than %zu bytes of text", (size_t)ARENA_MAX);
        cap = r->acap * 2;
        while (cap < need)
            cap *= 2;
        a = tw_realloc(r->arena, cap);
        if (a == NULL) {
            r->oom = true;
            return TW_ENOMEM;
        }
        r->arena = a;
        r->acap = cap;
    }
    memcpy(r->arena + r->alen, p, len);
    s->off = (uint32_t)r->alen;
    s->len = (uint32_t)len;
    s->marks = (uint8_t)marks;
    r->alen = need;
    s->set = true;
    return TW_OK;
}

int tw_record_set_null(struct tw_record *r, uint32_t col)
{
    struct tw_slot *s = slot_for(r, col, ANY_TYPE);

    if (s == NULL)
        return TW_EINVAL;
    s->set = false;
    return TW_OK;
}

static int set_i(struct tw_record *r, uint32_t col, uint32_t want, int64_t v)
{
    struct tw_slot *s = slot_for(r, col, want);

    if (s == NULL)
        return TW_EINVAL;
    s->v.i = v;
    s->set = true;
    return TW_OK;
}

int tw_record_set_int(struct tw_record *r, uint32_t col, int64_t v)
{
    return set_i(r, col, T(TW_FIELD_INT), v);
}

int tw_record_set_money(struct tw_record *r, uint32_t col, int64_t minor)
{
    return set_i(r, col, T(TW_FIELD_MONEY), minor);
}

int tw_record_set_bool(struct tw_record *r, uint32_t col, int v)
{
    return set_i(r, col, T(TW_FIELD_BOOL), v != 0);
}

int tw_record_set_double(struct tw_record *r, uint32_t col, double v)
{
    struct tw_slot *s = slot_for(r, col, T(TW_FIELD_NUMBER));

    if (s == NULL)
        return TW_EINVAL;
    if (v != v || v - v != 0) /* NaN and infinities have no JSON or CSV number form */
        return mark_bad(r, "a number column holds NaN or infinity");
    s->v.d = v;
    s->set = true;
    return TW_OK;
}

int tw_record_set_text(struct tw_record *r, uint32_t col, const char *p, size_t len)
{
    struct tw_slot *s = slot_for(r, col, T(TW_FIELD_TEXT) | T(TW_FIELD_KEYWORD));
    unsigned marks;

    if (s == NULL)
        return TW_EINVAL;
    if (!tw_utf8_scan(p, len, &marks))
        return mark_bad(r, "invalid UTF-8 in a text column");
    return arena_put(r, s, p, len, marks);
}

static bool digits(const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

/* The value of two digits already checked by digits(). */
static int two(const char *p)
{
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/* "YYYY-MM-DD" with a plausible month and day (the common, already-canonical case). */
static bool is_date(const char *p, size_t len)
{
    return len == 10 && digits(p, 4) && p[4] == '-' && digits(p + 5, 2) && p[7] == '-' &&
           digits(p + 8, 2) && two(p + 5) >= 1 && two(p + 5) <= 12 && two(p + 8) >= 1 &&
           two(p + 8) <= 31;
}

/* "YYYY-MM-DDTHH:MM:SSZ" with plausible fields. */
static bool is_datetime(const char *p, size_t len)
{
    return len == 20 && is_date(p, 10) && p[10] == 'T' && digits(p + 11, 2) && p[13] == ':' &&
           digits(p + 14, 2) && p[16] == ':' && digits(p + 17, 2) && p[19] == 'Z' &&
           two(p + 11) <= 23 && two(p + 14) <= 59 && two(p + 17) <= 59;
}

int tw_record_set_date(struct tw_record *r, uint32_t col, const char *iso, size_t len)
{
    struct tw_slot *s = slot_for(r, col, T(TW_FIELD_DATE));

    if (s == NULL)
        return TW_EINVAL;
    if (!is_date(iso, len))
        return mark_bad(r, "malformed date \"%.*s\" (want YYYY-MM-DD)", (int)(len > 40 ? 40 : len),
                        iso);
    s->v.i = 0;
    return arena_put(r, s, iso, len, 0);
}

int tw_record_set_datetime(struct tw_record *r, uint32_t col, const char *iso, size_t len)
{
    struct tw_slot *s = slot_for(r, col, T(TW_FIELD_DATETIME));
    char tmp[64];
    char out[TW_TIME_BUFSZ];
    int64_t t;

    if (s == NULL)
        return TW_EINVAL;
    s->v.i = 0;
    if (is_datetime(iso, len))
        return arena_put(r, s, iso, len, 0);
    /* Slow path: offsets, fractions, 't'/' ' separators: normalise to UTC whole seconds. */
    if (len >= sizeof(tmp))
        return mark_bad(r, "malformed date-time (%zu bytes)", len);
    memcpy(tmp, iso, len);
    tmp[len] = '\0';
    if (tw_time_parse(tmp, &t, NULL) != TW_OK)
        return mark_bad(r, "malformed date-time \"%s\"", tmp);
    tw_time_format(t, out);
    s->v.i = t;
    return arena_put(r, s, out, strlen(out), 0);
}

int tw_record_set_time(struct tw_record *r, uint32_t col, int64_t epoch_s)
{
    struct tw_slot *s = slot_for(r, col, T(TW_FIELD_DATE) | T(TW_FIELD_DATETIME));
    const struct tw_field *f;
    char out[TW_TIME_BUFSZ];

    if (s == NULL)
        return TW_EINVAL;
    /* 0000-9999 is what the text form can hold. */
    if (epoch_s < -62167219200LL || epoch_s > 253402300799LL)
        return mark_bad(r, "date-time %lld out of range", (long long)epoch_s);
    f = r->cur < 0 ? &r->fields[col] : &r->lists[r->cur].sub[col];
    if (f->type == TW_FIELD_DATE)
        tw_time_format_date(epoch_s, out);
    else
        tw_time_format(epoch_s, out);
    s->v.i = epoch_s;
    return arena_put(r, s, out, strlen(out), 0);
}

int tw_record_set_chain(struct tw_record *r, int64_t chain)
{
    r->chain = chain;
    r->has_chain = true;
    return TW_OK;
}

int tw_record_item_begin(struct tw_record *r, uint32_t col)
{
    struct rec_list *l;
    struct tw_slot *slots;
    uint32_t cap;

    if (r->cur >= 0)
        return mark_bad(r, "plugin began a list element inside another");
    if (col >= r->ncols || r->fields[col].type != TW_FIELD_LIST)
        return mark_bad(r, "plugin began a list element on column %u, which is not a list", col);
    l = &r->lists[col];
    if (l->nitems == l->cap) {
        cap = l->cap ? l->cap * 2 : 16;
        if (cap > (1u << 24))
            return mark_bad(r, "a list holds more than %u elements", 1u << 24);
        slots = tw_realloc(l->slots, (size_t)cap * (l->nsub ? l->nsub : 1) * sizeof(*slots));
        if (slots == NULL) {
            r->oom = true;
            return TW_ENOMEM;
        }
        l->slots = slots;
        l->cap = cap;
    }
    memset(&l->slots[(size_t)l->nitems * l->nsub], 0, l->nsub * sizeof(*l->slots));
    l->nitems++;
    r->cur = (int32_t)col;
    return TW_OK;
}

int tw_record_item_end(struct tw_record *r)
{
    if (r->cur < 0)
        return mark_bad(r, "plugin ended a list element it had not begun");
    r->cur = -1;
    return TW_OK;
}

int tw_record_reject(struct tw_record *r, const char *why)
{
    return mark_bad(r, "%s", why != NULL ? why : "rejected by the plugin");
}

const struct tw_field *tw_record_fields(const struct tw_record *r)
{
    return r->fields;
}

uint32_t tw_record_ncols(const struct tw_record *r)
{
    return r->ncols;
}

const struct tw_slot *tw_record_value(const struct tw_record *r, uint32_t col)
{
    return &r->slots[col];
}

uint32_t tw_record_item_count(const struct tw_record *r, uint32_t col)
{
    return r->lists[col].nitems;
}

const struct tw_slot *tw_record_item_value(const struct tw_record *r, uint32_t col, uint32_t item,
                                           uint32_t sub)
{
    const struct rec_list *l = &r->lists[col];

    return &l->slots[(size_t)item * l->nsub + sub];
}

const char *tw_record_text(const struct tw_record *r, const struct tw_slot *s)
{
    return r->arena + s->off;
}

const struct tw_slot *tw_record_slots(const struct tw_record *r)
{
    return r->slots;
}

const char *tw_record_arena(const struct tw_record *r)
{
    return r->arena;
}

bool tw_record_chain(const struct tw_record *r, int64_t *chain)
{
    *chain = r->chain;
    return r->has_chain;
}

const char *tw_record_bad(const struct tw_record *r)
{
    if (r->bad[0] != '\0')
        return r->bad;
    if (r->cur >= 0)
        return "plugin left a list element open";
    return NULL;
}

bool tw_record_oom(const struct tw_record *r)
{
    return r->oom;
}
