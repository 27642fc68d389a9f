#include <stdlib.h>
#include <string.h>

#include "assets/assets.h"

/* Defined in the generated source (cmake/tw_embed.cmake), sorted by name. */
extern const struct tw_asset tw_assets_table[];
extern const size_t tw_assets_count;

static int by_name(const void *key, const void *elem)
{
    return strcmp(key, ((const struct tw_asset *)elem)->name);
}

const struct tw_asset *tw_asset_find(const char *name)
{
    if (name == NULL || tw_assets_count == 0)
        return NULL;
    return bsearch(name, tw_assets_table, tw_assets_count, sizeof tw_assets_table[0], by_name);
}

const struct tw_asset *tw_asset_at(size_t i)
{
    return i < tw_assets_count ? &tw_assets_table[i] : NULL;
}
