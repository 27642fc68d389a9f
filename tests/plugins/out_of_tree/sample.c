/*
 * A complete index plugin built outside the taskwheel tree, the way docs/plugin-abi.md tells
 * an author to: it includes only <taskwheel/plugin.h> and builds with
 *   cc -std=c11 -shared -fPIC -I/path/to/taskwheel/include sample.c -o sample.so
 * It serves index "sample": three fixed records of the query's chain.
 */
#include <string.h>

#include <taskwheel/plugin.h>

static const struct tw_field sample_fields[] = {
    { .name = "id", .type = TW_FIELD_INT, .flags = TW_FIELD_FILTERABLE },
    { .name = "city", .type = TW_FIELD_KEYWORD, .flags = TW_FIELD_FILTERABLE },
    { .name = "price", .type = TW_FIELD_MONEY, .flags = TW_FIELD_FILTERABLE },
    { .name = "open", .type = TW_FIELD_BOOL },
    { .name = "since", .type = TW_FIELD_DATETIME },
    { 0 },
};

struct sample_cursor {
    const struct tw_host *host; /* borrowed until close */
    int64_t chain;              /* the query's chain: every record reports it */
    int row;                    /* records returned so far */
};

static int sample_open(const struct tw_host *host, struct tw_query *q, void **cursor,
                       struct tw_err *err)
{
    struct sample_cursor *c = host->alloc(sizeof(*c));

    if (c == NULL)
        return host->err_set(err, TW_PLUGIN_ENOMEM, "out of memory");
    c->host = host;
    c->chain = host->q_chain(q);
    c->row = 0;
    *cursor = c;
    return TW_PLUGIN_OK;
}

static int sample_next(void *cursor, struct tw_record *r, struct tw_err *err)
{
    static const char *const cities[] = { "Amsterdam", "Utrecht", "Den Haag, NL" };
    struct sample_cursor *c = cursor;
    const struct tw_host *h = c->host;

    (void)err;
    if (c->row == 3)
        return 0;
    h->rec_set_chain(r, c->chain);
    h->rec_set_int(r, 0, c->row + 1);
    h->rec_set_text(r, 1, cities[c->row], strlen(cities[c->row]));
    h->rec_set_money(r, 2, 1250 + c->row);
    h->rec_set_bool(r, 3, c->row != 1);
    h->rec_set_time(r, 4, 1779796800 + c->row); /* 2026-05-26T12:00:00Z */
    c->row++;
    return 1;
}

static void sample_close(void *cursor)
{
    struct sample_cursor *c = cursor;

    c->host->free(c);
}

TW_INDEX_PLUGIN(.index = "sample", .label = "Sample", .version = "1.0.0", .fields = sample_fields,
                .open = sample_open, .next = sample_next, .close = sample_close);
