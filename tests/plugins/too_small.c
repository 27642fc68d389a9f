/* Fixture: a descriptor whose size is smaller than ABI 1.0's; the engine must refuse it. */
#include <taskwheel/plugin.h>

#include "fixture_stubs.h"

TW_PLUGIN_EXPORT const struct tw_index_plugin tw_index_plugin_v1 = { .abi_major = TW_ABI_MAJOR,
                                                                     .abi_minor = 0,
                                                                     .size = 16,
                                                                     .signature = TW_BUILD_SIG,
                                                                     .index = "small",
                                                                     .label = "Small",
                                                                     .version = "0",
                                                                     .fields = stub_fields,
                                                                     .open = stub_open,
                                                                     .next = stub_next,
                                                                     .close = stub_close };
