/* Fixture: a descriptor claiming ABI 2.0; the engine (ABI 1) must refuse it. */
#include <taskwheel/plugin.h>

#include "fixture_stubs.h"

TW_PLUGIN_EXPORT const struct tw_index_plugin tw_index_plugin_v1 = { .abi_major = 2,
                                                                     .abi_minor = 0,
                                                                     .size = sizeof(
                                                                         struct tw_index_plugin),
                                                                     .signature = TW_BUILD_SIG,
                                                                     .index = "abi2",
                                                                     .label = "Abi2",
                                                                     .version = "0",
                                                                     .fields = stub_fields,
                                                                     .open = stub_open,
                                                                     .next = stub_next,
                                                                     .close = stub_close };
