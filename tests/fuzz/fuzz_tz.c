/*
 * Fuzz target: the TZif reader (core/tz.h, RFC 8536) and the queries on what it accepts.
 * Zone files come from the system, but a damaged or hostile file must still be refused with
 * a message, never read out of bounds.
 *
 * Oracles besides the sanitizers:
 *   - a refusal has a message;
 *   - for an accepted zone, at sample instants t: offsets stay within 26 hours, and the wall
 *     time t shows maps back (tw_tz_from_local) to an instant showing the same wall time, at
 *     or before t (the first of two in an overlap).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t samples[] = {
        INT64_C(-5000000000), INT64_C(-1),          0,
        INT64_C(1774746000),  INT64_C(1792893600),  INT64_C(2145916800),
        INT64_C(4102444800),  INT64_C(253402300799)
    };
    struct tw_tz *z = NULL;
    struct tw_err err;
    size_t i;

    tw_err_clear(&err);
    if (tw_tz_parse(data, size, "fuzz", &z, &err) != TW_OK) {
        if (err.msg[0] == '\0')
            abort();
        return 0;
    }
    for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        int64_t t = samples[i];
        int32_t off = tw_tz_offset(z, t);
        int64_t back;

        if (off < -26 * 3600 || off > 26 * 3600) {
            fprintf(stderr, "offset %d at %" PRId64 "\n", off, t);
            abort();
        }
        back = tw_tz_from_local(z, t + off);
        if (back > t || back + tw_tz_offset(z, back) != t + off) {
            fprintf(stderr,
                    "wall time of %" PRId64 " (offset %d) maps back to %" PRId64 " (offset %d)\n",
                    t, off, back, tw_tz_offset(z, back));
            abort();
        }
    }
    tw_tz_free(z);
    return 0;
}
