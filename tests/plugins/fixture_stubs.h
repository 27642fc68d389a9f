/* Callbacks for fixtures that are refused before they could ever run. */
#ifndef TW_TESTS_FIXTURE_STUBS_H
#define TW_TESTS_FIXTURE_STUBS_H

#include <taskwheel/plugin.h>

static const struct tw_field stub_fields[] = { { .name = "id", .type = TW_FIELD_INT }, { 0 } };

static int stub_open(const struct tw_host *host, struct tw_query *q, void **cursor,
                     struct tw_err *err)
{
    (void)q, (void)cursor;
    return host->err_set(err, TW_PLUGIN_ESOURCE, "a refused fixture was opened");
}

static int stub_next(void *cursor, struct tw_record *r, struct tw_err *err)
{
    (void)cursor, (void)r, (void)err;
    return 0;
}

static void stub_close(void *cursor)
{
    (void)cursor;
}

#endif
