/*
 * Files compiled into the binary: the web console (console/) and the OpenAPI document
 * (docs/openapi.yaml), served by the API part. The table is generated at build time by
 * cmake/tw_embed.cmake from the files in the source tree; nothing is read from disk at serve time.
 */
#ifndef TW_ASSETS_ASSETS_H
#define TW_ASSETS_ASSETS_H

#include <stddef.h>

struct tw_asset {
    const char *name;          /* path relative to the source root, e.g. "console/app.js" */
    const unsigned char *data; /* the bytes, followed by one NUL not counted in len */
    size_t len;                /* size in bytes */
    const char *content_type;  /* chosen by extension at build time */
};

/* The asset named name (exact match), or NULL. Static storage: never freed. */
const struct tw_asset *tw_asset_find(const char *name);

/* The i-th asset in name order, or NULL past the end (for listing and tests). */
const struct tw_asset *tw_asset_at(size_t i);

#endif
