/* Fixture: a field table naming one field twice; the engine must refuse it. */
#include <taskwheel/plugin.h>

#include "fixture_stubs.h"

static const struct tw_field twice[] = {
    { .name = "id", .type = TW_FIELD_INT },
    { .name = "name", .type = TW_FIELD_TEXT },
    { .name = "id", .type = TW_FIELD_KEYWORD },
    { 0 },
};

TW_INDEX_PLUGIN(.index = "badfields", .label = "BadFields", .version = "0", .fields = twice,
                .open = stub_open, .next = stub_next, .close = stub_close);
