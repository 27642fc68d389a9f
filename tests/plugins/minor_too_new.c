/* Fixture: built against a newer ABI minor than the engine has; the engine must refuse it. */
#include <taskwheel/plugin.h>

#include "fixture_stubs.h"

TW_PLUGIN_EXPORT const struct tw_index_plugin tw_index_plugin_v1 = { .abi_major = TW_ABI_MAJOR,
                                                                     .abi_minor = TW_ABI_MINOR + 1,
                                                                     .size = sizeof(
                                                                         struct tw_index_plugin),
                                                                     .signature = TW_BUILD_SIG,
                                                                     .index = "newer",
                                                                     .label = "Newer",
                                                                     .version = "0",
                                                                     .fields = stub_fields,
                                                                     .open = stub_open,
                                                                     .next = stub_next,
                                                                     .close = stub_close };
