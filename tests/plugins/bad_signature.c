/* Fixture: a build signature from another platform (32-bit); the engine must refuse it. */
#include <taskwheel/plugin.h>

#include "fixture_stubs.h"

TW_PLUGIN_EXPORT const struct tw_index_plugin tw_index_plugin_v1 = {
    .abi_major = TW_ABI_MAJOR,
    .abi_minor = TW_ABI_MINOR,
    .size = sizeof(struct tw_index_plugin),
    .signature = "tw1;ptr4;long4;size4;dbl8;le",
    .index = "sig",
    .label = "Sig",
    .version = "0",
    .fields = stub_fields,
    .open = stub_open,
    .next = stub_next,
    .close = stub_close
};
