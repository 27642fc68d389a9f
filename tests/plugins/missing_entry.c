/* Fixture: a shared library without tw_index_plugin_v1 (an old or foreign .so). */
#include <taskwheel/plugin.h>

#include "fixture_stubs.h"

TW_PLUGIN_EXPORT extern const struct tw_index_plugin tw_index_plugin_v0;
TW_PLUGIN_EXPORT const struct tw_index_plugin tw_index_plugin_v0 = { .abi_major = TW_ABI_MAJOR,
                                                                     .size = sizeof(
                                                                         struct tw_index_plugin),
                                                                     .index = "missing",
                                                                     .label = "Missing",
                                                                     .version = "0",
                                                                     .fields = stub_fields,
                                                                     .open = stub_open,
                                                                     .next = stub_next,
                                                                     .close = stub_close };
