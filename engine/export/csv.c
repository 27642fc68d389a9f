/*
 * CSV writer (docs/reference.md §7.2): RFC 4180 with \r\n, a header row, UTF-8 without BOM.
 *   - A text cell is quoted only when it holds a comma, quote, CR or LF; quotes are doubled.
 *   - TEXT/KEYWORD cells starting with = + - @ TAB or CR get a leading ' (spreadsheet formula
 *     injection); numbers, money, dates are never altered (they cannot start with those,
 *     except a negative number, which must stay a number).
 *   - null is an empty cell, booleans true/false, money "12.50", dates as stored (canonical).
 *   - A record with a LIST column is flattened: one row per element, the other columns
 *     repeated, the element's columns last with CSV names from tw_csv_item_column; a record
 *     without elements is one row with empty element columns. The repeated part is formatted
 *     once per record into a scratch buffer and copied for each element.
 */
#include "export/export.h"

#include "core/mem.h"
#include "core/utf8.h"

struct csv_state {
    struct tw_out *out;            /* borrowed stream */
    const struct tw_field *fields; /* top-level columns */
    uint32_t ncols;                /* top-level columns */
    int32_t list;                  /* the LIST column, -1 when none */
    uint32_t nsub;                 /* its sub-fields */
    char *pre;                     /* the repeated (non-list) cells of the current record */
    size_t pre_len;                /* bytes in pre */
    size_t pre_cap;                /* allocated */
};

void tw_csv_item_column(const char *sub, char *out, size_t size)
{
    if (strncmp(sub, "basket_", 7) == 0)
        sub += 7;
    if (strncmp(sub, "item_", 5) == 0)
        sub += 5;
    snprintf(out, size, "item_%s", sub);
}

static bool risky_first(char c)
{
    return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

/* Append to a growable byte vector; false when out of memory. */
static bool vec_put(struct csv_state *s, const char *p, size_t n)
{
    size_t cap;
    char *v;

    if (s->pre_len + n > s->pre_cap) {
        cap = s->pre_cap ? s->pre_cap * 2 : 4096;
        while (cap < s->pre_len + n)
            cap *= 2;
        v = tw_realloc(s->pre, cap);
        if (v == NULL)
            return false;
        s->pre = v;
        s->pre_cap = cap;
    }
    memcpy(s->pre + s->pre_len, p, n);
    s->pre_len += n;
    return true;
}

/*
 * A text cell that needs quoting (quote: it holds a comma, quote, CR or LF) or the formula
 * guard, into the stream; quotes inside are doubled, the runs between them copied whole.
 */
static void text_cell_special(struct tw_out *o, const char *p, size_t n, bool quote, bool guard)
{
    const char *q;

    if (quote)
        tw_out_putc(o, '"');
    if (guard)
        tw_out_putc(o, '\'');
    while (quote && (q = memchr(p, '"', n)) != NULL) {
        tw_out_lit(o, p, (size_t)(q - p) + 1); /* up to and with the quote, */
        tw_out_putc(o, '"');                   /* then its double */
        n -= (size_t)(q - p) + 1;
        p = q + 1;
    }
    tw_out_lit(o, p, n);
    if (quote)
        tw_out_putc(o, '"');
}

/*
 * One cell of any type into the stream. Text the record found free of comma, quote, CR and
 * LF (s->marks) and not starting like a formula is copied as it is, with no scan here.
 */
static inline void cell(struct tw_out *o, const char *arena, const struct tw_slot *s, uint32_t type)
{
    const char *p;

    if (!s->set)
        return;
    switch (type) {
    case TW_FIELD_DATE:
    case TW_FIELD_DATETIME: tw_out_lit(o, arena + s->off, s->len); return;
    case TW_FIELD_KEYWORD:
    case TW_FIELD_TEXT:
        p = arena + s->off;
        if (!(s->marks & TW_UTF8_CSV_QUOTE) && (s->len == 0 || !risky_first(p[0])))
            tw_out_lit(o, p, s->len);
        else
            text_cell_special(o, p, s->len, (s->marks & TW_UTF8_CSV_QUOTE) != 0,
                              s->len > 0 && risky_first(p[0]));
        return;
    default: tw_out_scalar(o, type, s); return;
    }
}

static int csv_begin(void *arg, struct tw_out *out, const struct tw_field *fields, void **state,
                     struct tw_err *err)
{
    struct csv_state *s;
    char name[96];
    uint32_t i;
    bool first = true;

    s = tw_calloc(1, sizeof(*s));
    if (s == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory starting the CSV writer");
    s->out = out;
    s->fields = fields;
    s->ncols = tw_field_count(fields);
    s->list = -1;
    for (i = 0; i < s->ncols; i++) {
        if (fields[i].type != TW_FIELD_LIST)
            continue;
        if (s->list >= 0) {
            tw_free(s);
            return tw_err_set(err, TW_EINVAL,
                              "csv: the index has more than one nested list; use json");
        }
        s->list = (int32_t)i;
        s->nsub = tw_field_count(fields[i].nested);
    }
    /* Field names are plain identifiers (the loader checks), so they never need quoting. */
    for (i = 0; i < s->ncols; i++) {
        if ((int32_t)i == s->list)
            continue;
        if (!first)
            tw_out_putc(out, ',');
        tw_out_write(out, fields[i].name, strlen(fields[i].name));
        first = false;
    }
    for (i = 0; s->list >= 0 && i < s->nsub; i++) {
        tw_csv_item_column(fields[s->list].nested[i].name, name, sizeof(name));
        if (!first)
            tw_out_putc(out, ',');
        tw_out_write(out, name, strlen(name));
        first = false;
    }
    tw_out_lit(out, "\r\n", 2);
    *state = s;
    return TW_OK;
}

/* The non-list cells of r, separated by commas. */
static void plain_cells(struct csv_state *s, const struct tw_record *r)
{
    const struct tw_slot *v = tw_record_slots(r);
    const char *arena = tw_record_arena(r);
    struct tw_out *o = s->out;
    bool first = true;
    uint32_t i;

    for (i = 0; i < s->ncols; i++) {
        if ((int32_t)i == s->list)
            continue;
        if (!first)
            tw_out_putc(o, ',');
        cell(o, arena, &v[i], s->fields[i].type);
        first = false;
    }
}

static int csv_row(void *state, const struct tw_record *r, struct tw_err *err)
{
    struct csv_state *s = state;
    const struct tw_field *sub;
    struct tw_out *o = s->out;
    uint32_t n;
    uint32_t k;
    uint32_t j;
    uint64_t flushes;
    size_t mark;
    bool copy;

    if (s->list < 0) {
        plain_cells(s, r);
        tw_out_lit(o, "\r\n", 2);
        return TW_OK;
    }
    n = tw_record_item_count(r, (uint32_t)s->list);
    if (n <= 1) {
        /* The common case with one element, or none: no need to copy the prefix. */
        plain_cells(s, r);
        sub = s->fields[s->list].nested;
        for (j = 0; j < s->nsub; j++) {
            tw_out_putc(o, ',');
            if (n == 1)
                cell(o, tw_record_arena(r), tw_record_item_value(r, (uint32_t)s->list, 0, j),
                     sub[j].type);
        }
        tw_out_lit(o, "\r\n", 2);
        return TW_OK;
    }
    /*
     * Format the repeated cells once, straight into the stream, and copy those bytes for the
     * other elements. If formatting them crossed a flush (a huge cell), the bytes are gone
     * from the buffer: format them again for each element instead.
     */
    flushes = o->flushes;
    mark = o->len;
    plain_cells(s, r);
    copy = o->flushes == flushes;
    s->pre_len = 0;
    if (copy && !vec_put(s, o->buf + mark, o->len - mark))
        return tw_err_set(err, TW_ENOMEM, "out of memory writing CSV");
    sub = s->fields[s->list].nested;
    for (k = 0; k < n; k++) {
        if (k > 0 && copy)
            tw_out_write(o, s->pre, s->pre_len);
        else if (k > 0)
            plain_cells(s, r);
        for (j = 0; j < s->nsub; j++) {
            tw_out_putc(o, ',');
            cell(o, tw_record_arena(r), tw_record_item_value(r, (uint32_t)s->list, k, j),
                 sub[j].type);
        }
        tw_out_lit(o, "\r\n", 2);
    }
    return TW_OK;
}

static int csv_end(void *state, struct tw_err *err)
{
    return TW_OK;
}

static void csv_destroy(void *state)
{
    struct csv_state *s = state;

    if (s == NULL)
        return;
    tw_free(s->pre);
    tw_free(s);
}

const struct tw_writer_ops tw_csv_writer = {
    .name = "csv",
    .ext = "csv",
    .begin = csv_begin,
    .row = csv_row,
    .end = csv_end,
    .destroy = csv_destroy,
};
