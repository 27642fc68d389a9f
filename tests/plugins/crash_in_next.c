/* Fixture: loads fine (index "crash"), then dies with SIGSEGV on the first next(). */
#include <signal.h>

#include <taskwheel/plugin.h>

static const struct tw_field crash_fields[] = { { .name = "id", .type = TW_FIELD_INT }, { 0 } };

static int crash_open(const struct tw_host *host, struct tw_query *q, void **cursor,
                      struct tw_err *err)
{
    (void)host, (void)q, (void)err;
    *cursor = (void *)crash_fields;
    return TW_PLUGIN_OK;
}

static int crash_next(void *cursor, struct tw_record *r, struct tw_err *err)
{
    (void)cursor, (void)r, (void)err;
    raise(SIGSEGV); /* a real crash, without undefined behaviour for the sanitizers to trap */
    return 0;
}

static void crash_close(void *cursor)
{
    (void)cursor;
}

TW_INDEX_PLUGIN(.index = "crash", .label = "Crash", .version = "0.1.0", .fields = crash_fields,
                .open = crash_open, .next = crash_next, .close = crash_close);
