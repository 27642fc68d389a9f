/*
 * Fixture: a plugin as built against ABI 1.0 (minor 0, the 1.0 descriptor size). It must load
 * (older minors keep working) and its index must not offer target.since: the loader never
 * reads past the descriptor's size, so the change_column set here beyond it stays unseen.
 */
#include <stddef.h>

#include <taskwheel/plugin.h>

#include "fixture_stubs.h"

TW_PLUGIN_EXPORT const struct tw_index_plugin tw_index_plugin_v1 = {
    .abi_major = TW_ABI_MAJOR,
    .abi_minor = 0,
    .size = offsetof(struct tw_index_plugin, change_column),
    .signature = TW_BUILD_SIG,
    .index = "old-minor",
    .label = "OldMinor",
    .version = "1.0.0",
    .fields = stub_fields,
    .open = stub_open,
    .next = stub_next,
    .close = stub_close,
    .change_column = "beyond the 1.0 size: never read"
};
