/* The API's entry to the segment grammar (validate.h): segment/seg_parse.c does the work. */
#include "api/validate.h"

int tw_segment_input_parse(const json_t *seg, const char *export_index, int64_t chain,
                           const struct tw_validate_ctx *ctx, const char *path, json_t **canon,
                           struct tw_err *err)
{
    return tw_seg_parse(seg, export_index, chain, ctx->indexes, ctx->check_segment, ctx->check_ctx,
                        path, canon, err);
}
