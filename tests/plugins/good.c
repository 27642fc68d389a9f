/*
 * Fixture: a well-formed plugin serving index "fixture" with every field type and a nested
 * list. Deterministic rows; the source string tunes it: "rows=N;foreign=K;bad=K;baddate=K"
 * (every K-th record reports another chain / holds invalid UTF-8 / a malformed date). It
 * applies GT conditions on id (join ALL) and reports them, to exercise q_applied.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <taskwheel/plugin.h>

static const struct tw_field tag_fields[] = {
    { .name = "tag", .type = TW_FIELD_KEYWORD, .flags = TW_FIELD_FILTERABLE },
    { .name = "weight", .type = TW_FIELD_INT, .flags = TW_FIELD_FILTERABLE },
    { 0 },
};

static const struct tw_field fixture_fields[] = {
    { .name = "id", .type = TW_FIELD_INT, .flags = TW_FIELD_FILTERABLE },
    { .name = "name", .type = TW_FIELD_TEXT, .flags = TW_FIELD_FILTERABLE },
    { .name = "code", .type = TW_FIELD_KEYWORD, .flags = TW_FIELD_FILTERABLE },
    { .name = "amount", .type = TW_FIELD_MONEY, .flags = TW_FIELD_FILTERABLE },
    { .name = "ratio", .type = TW_FIELD_NUMBER, .flags = TW_FIELD_FILTERABLE },
    { .name = "active", .type = TW_FIELD_BOOL, .flags = TW_FIELD_FILTERABLE },
    { .name = "day", .type = TW_FIELD_DATE, .flags = TW_FIELD_FILTERABLE },
    { .name = "at", .type = TW_FIELD_DATETIME, .flags = TW_FIELD_FILTERABLE },
    { .name = "tags", .type = TW_FIELD_LIST, .flags = TW_FIELD_NESTED, .nested = tag_fields },
    { 0 },
};

/* Names chosen to need quoting, escaping and the formula guard. */
static const char *const names[] = {
    "plain",       "with, comma", "with \"quote\"", "two\nlines",
    "=SUM(A1:A9)", "-minus",      "Zoë ✓ ünïcode",  "",
    "tab\tinside", "back\\slash", "+plus",          "@at",
};

struct cursor {
    const struct tw_host *host;
    long rows, foreign, bad, baddate, min_id, i;
    int64_t chain;
};

static long opt(const char *src, const char *key)
{
    const char *p = strstr(src, key);

    return p != NULL ? strtol(p + strlen(key), NULL, 10) : 0;
}

static int fx_open(const struct tw_host *host, struct tw_query *q, void **out, struct tw_err *err)
{
    const char *src = host->source(host);
    struct cursor *c;
    uint32_t i;

    if (strstr(src, "fail") != NULL)
        return host->err_set(err, TW_PLUGIN_ESOURCE, "source database unavailable: %s",
                             "told to fail");
    c = host->alloc(sizeof(*c));
    if (c == NULL)
        return host->err_set(err, TW_PLUGIN_ENOMEM, "out of memory");
    memset(c, 0, sizeof(*c));
    c->host = host;
    c->rows = strstr(src, "rows=") ? opt(src, "rows=") : 12;
    c->foreign = opt(src, "foreign=");
    c->bad = opt(src, "bad=");
    c->baddate = opt(src, "baddate=");
    c->chain = host->q_chain(q);
    for (i = 0; host->q_join(q) == TW_JOIN_ALL && i < host->q_cond_count(q); i++) {
        const struct tw_cond *cd = host->q_cond(q, i);

        if (cd->field == 0 && cd->sub == TW_COND_TOP && cd->op == TW_OP_GT) {
            c->min_id = (long)cd->values[0].i;
            host->q_applied(q, i);
        }
    }
    *out = c;
    return TW_PLUGIN_OK;
}

static int fx_next(void *cursor, struct tw_record *r, struct tw_err *err)
{
    struct cursor *c = cursor;
    const struct tw_host *h = c->host;
    char day[16], at[32];
    long i, k;

    do {
        if (c->i >= c->rows)
            return 0;
        i = ++c->i;
    } while (i <= c->min_id);
    h->rec_set_chain(r, c->foreign && i % c->foreign == 0 ? c->chain + 1 : c->chain);
    h->rec_set_int(r, 0, i);
    if (i % 7 != 0) {
        const char *n = names[(i - 1) % (sizeof(names) / sizeof(names[0]))];

        h->rec_set_text(r, 1, n, strlen(n));
    }
    if (c->bad && i % c->bad == 0)
        h->rec_set_text(r, 2, "\xff\xfe", 2);
    else
        h->rec_set_text(r, 2, "K-1", 3);
    h->rec_set_money(r, 3, i * 1234 - 5000);
    h->rec_set_double(r, 4, (double)i / 4.0);
    h->rec_set_bool(r, 5, (int)(i % 2));
    snprintf(day, sizeof(day), "2026-01-%02ld", i % 28 + 1);
    if (c->baddate && i % c->baddate == 0)
        h->rec_set_date(r, 6, "2026-13-45", 10);
    else
        h->rec_set_date(r, 6, day, strlen(day));
    snprintf(at, sizeof(at), "2026-05-26T12:00:%02ldZ", i % 60);
    h->rec_set_datetime(r, 7, at, strlen(at));
    for (k = 0; k < i % 3; k++) {
        char tag[16];

        snprintf(tag, sizeof(tag), "t%ld", k);
        h->rec_item_begin(r, 8);
        h->rec_set_text(r, 0, tag, strlen(tag));
        h->rec_set_int(r, 1, k * 10);
        h->rec_item_end(r);
    }
    (void)err;
    return 1;
}

static void fx_close(void *cursor)
{
    struct cursor *c = cursor;

    c->host->free(c);
}

TW_INDEX_PLUGIN(.index = "fixture", .label = "Fixture", .version = "0.1.0",
                .fields = fixture_fields, .open = fx_open, .next = fx_next, .close = fx_close);
