/* Fixture: claims index "crash", which crash_in_next.so (loaded first: name order) serves. */
#include <taskwheel/plugin.h>

static const struct tw_field dup_fields[] = { { .name = "id", .type = TW_FIELD_INT }, { 0 } };

static int dup_open(const struct tw_host *host, struct tw_query *q, void **cursor,
                    struct tw_err *err)
{
    (void)q, (void)cursor;
    return host->err_set(err, TW_PLUGIN_ESOURCE, "never opened");
}

static int dup_next(void *cursor, struct tw_record *r, struct tw_err *err)
{
    (void)cursor, (void)r, (void)err;
    return 0;
}

static void dup_close(void *cursor)
{
    (void)cursor;
}

TW_INDEX_PLUGIN(.index = "crash", .label = "Duplicate", .version = "0.1.0", .fields = dup_fields,
                .open = dup_open, .next = dup_next, .close = dup_close);
