/*
 * JSON writer (docs/reference.md §7.2): one array of objects, one object per line, keys in column order,
 * a LIST column as an array of objects; "[]" for zero records. Money is a JSON number with
 * two decimals (12.50), dates are strings, null is null.
 *
 * Strings are escaped here rather than through jansson: text is already valid UTF-8 (the
 * record checked it), so escaping is a scan for '"', '\\' and control bytes with the runs in
 * between copied whole; building a json_t per value would allocate on every cell. Keys are
 * escaped once, at begin.
 */
#include "export/export.h"

#include "core/jsonesc.h"
#include "core/mem.h"
#include "core/utf8.h"

struct json_key {
    char *text; /* "\"name\":" */
    size_t len; /* its length */
};

struct json_state {
    struct tw_out *out;            /* borrowed stream */
    const struct tw_field *fields; /* top-level columns */
    uint32_t ncols;                /* top-level columns */
    struct json_key *keys;         /* per top-level column */
    struct json_key **subkeys;     /* per column: its sub-fields' keys, NULL for non-lists */
    uint64_t rows;                 /* objects written */
};

/* Escape p[0..n) as JSON string content (no quotes) into the stream (core/jsonesc.h). */
static void escape(struct tw_out *o, const char *p, size_t n)
{
    char e[TW_JSONESC_MAX];
    size_t k;

    while ((k = tw_jsonesc_plain(p, n)) < n) {
        tw_out_lit(o, p, k);
        tw_out_lit(o, e, tw_jsonesc_byte((unsigned char)p[k], e));
        p += k + 1;
        n -= k + 1;
    }
    tw_out_lit(o, p, n);
}

/*
 * One value. Text the record found free of quotes, backslashes and control bytes (s->marks),
 * and dates (canonical), are copied between the quotes as they are, with no scan here.
 */
static inline void value(struct tw_out *o, const char *arena, const struct tw_slot *s,
                         uint32_t type)
{
    if (!s->set) {
        tw_out_lit(o, "null", 4);
        return;
    }
    switch (type) {
    case TW_FIELD_KEYWORD:
    case TW_FIELD_TEXT:
    case TW_FIELD_DATE:
    case TW_FIELD_DATETIME:
        tw_out_putc(o, '"');
        if (s->marks & TW_UTF8_JSON_ESC)
            escape(o, arena + s->off, s->len);
        else
            tw_out_lit(o, arena + s->off, s->len);
        tw_out_putc(o, '"');
        return;
    default: tw_out_scalar(o, type, s); return;
    }
}

/* The keys of a field table; NULL when out of memory (nothing left allocated). */
static struct json_key *make_keys(const struct tw_field *f, uint32_t n)
{
    struct json_key *keys = tw_calloc(n ? n : 1, sizeof(*keys));
    uint32_t i;
    size_t len;

    for (i = 0; keys != NULL && i < n; i++) {
        /* Names are plain identifiers (the loader checks): nothing to escape. */
        len = strlen(f[i].name);
        keys[i].text = tw_malloc(len + 4);
        if (keys[i].text == NULL) {
            while (i-- > 0)
                tw_free(keys[i].text);
            tw_free(keys);
            return NULL;
        }
        keys[i].text[0] = '"';
        memcpy(keys[i].text + 1, f[i].name, len);
        memcpy(keys[i].text + 1 + len, "\":", 3);
        keys[i].len = len + 3;
    }
    return keys;
}

static void free_keys(struct json_key *keys, uint32_t n)
{
    uint32_t i;

    for (i = 0; keys != NULL && i < n; i++)
        tw_free(keys[i].text);
    tw_free(keys);
}

static void json_destroy(void *state)
{
    struct json_state *s = state;
    uint32_t i;

    if (s == NULL)
        return;
    for (i = 0; s->subkeys != NULL && i < s->ncols; i++)
        free_keys(s->subkeys[i], tw_field_count(s->fields[i].nested));
    tw_free(s->subkeys);
    free_keys(s->keys, s->ncols);
    tw_free(s);
}

static int json_begin(void *arg, struct tw_out *out, const struct tw_field *fields, void **state,
                      struct tw_err *err)
{
    struct json_state *s;
    uint32_t i;

    s = tw_calloc(1, sizeof(*s));
    if (s == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory starting the JSON writer");
    s->out = out;
    s->fields = fields;
    s->ncols = tw_field_count(fields);
    s->keys = make_keys(fields, s->ncols);
    s->subkeys = tw_calloc(s->ncols ? s->ncols : 1, sizeof(*s->subkeys));
    if (s->keys == NULL || s->subkeys == NULL)
        goto nomem;
    for (i = 0; i < s->ncols; i++) {
        if (fields[i].type != TW_FIELD_LIST)
            continue;
        s->subkeys[i] = make_keys(fields[i].nested, tw_field_count(fields[i].nested));
        if (s->subkeys[i] == NULL)
            goto nomem;
    }
    tw_out_putc(out, '[');
    *state = s;
    return TW_OK;
nomem:
    json_destroy(s);
    return tw_err_set(err, TW_ENOMEM, "out of memory starting the JSON writer");
}

static void list_value(struct json_state *s, const struct tw_record *r, uint32_t col)
{
    const struct tw_field *sub = s->fields[col].nested;
    const struct json_key *keys = s->subkeys[col];
    uint32_t nsub = tw_field_count(sub);
    uint32_t n = tw_record_item_count(r, col);
    uint32_t k;
    uint32_t j;

    tw_out_putc(s->out, '[');
    for (k = 0; k < n; k++) {
        tw_out_lit(s->out, k == 0 ? "{" : ",{", k == 0 ? 1 : 2);
        for (j = 0; j < nsub; j++) {
            if (j > 0)
                tw_out_putc(s->out, ',');
            tw_out_lit(s->out, keys[j].text, keys[j].len);
            value(s->out, tw_record_arena(r), tw_record_item_value(r, col, k, j), sub[j].type);
        }
        tw_out_putc(s->out, '}');
    }
    tw_out_putc(s->out, ']');
}

static int json_row(void *state, const struct tw_record *r, struct tw_err *err)
{
    struct json_state *s = state;
    struct tw_out *o = s->out;
    const struct tw_slot *v = tw_record_slots(r);
    const char *arena = tw_record_arena(r);
    uint32_t i;

    tw_out_lit(o, s->rows == 0 ? "\n{" : ",\n{", s->rows == 0 ? 2 : 3);
    for (i = 0; i < s->ncols; i++) {
        if (i > 0)
            tw_out_putc(o, ',');
        tw_out_lit(o, s->keys[i].text, s->keys[i].len);
        if (s->fields[i].type == TW_FIELD_LIST)
            list_value(s, r, i);
        else
            value(o, arena, &v[i], s->fields[i].type);
    }
    tw_out_putc(o, '}');
    s->rows++;
    return TW_OK;
}

static int json_end(void *state, struct tw_err *err)
{
    struct json_state *s = state;

    if (s->rows == 0)
        tw_out_lit(s->out, "]\n", 2);
    else
        tw_out_lit(s->out, "\n]\n", 3);
    return TW_OK;
}

const struct tw_writer_ops tw_json_writer = {
    .name = "json",
    .ext = "json",
    .begin = json_begin,
    .row = json_row,
    .end = json_end,
    .destroy = json_destroy,
};
