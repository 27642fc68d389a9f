/*
 * Time zones (docs/reference.md §13): IANA zones read from the system's tz database (TZif files, RFC 8536,
 * under /usr/share/zoneinfo; Debian's tzdata), with the POSIX TZ rule of a file's footer for
 * times after its last transition. The process's TZ and the C library's localtime are never
 * used: a zone is data here, not process state.
 *
 * Zones are loaded on first use and kept until tw_tz_cache_clear (in the server: until it
 * stops), so a tzdata update on the machine is seen at the next start and a running server
 * never reads the disk twice for one zone. A struct tw_tz is immutable once loaded and may be
 * shared by threads; the cache is guarded by a mutex.
 */
#ifndef TW_CORE_TZ_H
#define TW_CORE_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define TW_TZ_NAME_MAX 64 /* bytes; the longest IANA name is about half that */
#define TW_TZ_DIR "/usr/share/zoneinfo"

struct tw_tz;

/*
 * The zone called name ("Europe/Amsterdam", "UTC"), loaded from TW_TZ_DIR on first use.
 * "UTC" is built in (it needs no file). A name must look like an IANA name: 1..TW_TZ_NAME_MAX
 * ASCII letters, digits, '_', '-', '+' in '/'-separated parts, starting with a letter; so no
 * "..", no absolute path, no hidden file. *out is borrowed from the cache (valid until
 * tw_tz_cache_clear). Errors: TW_EINVAL with a sentence naming the zone (an unknown name, a
 * file that is not a usable TZif file), TW_ENOMEM.
 */
int tw_tz_get(const char *name, const struct tw_tz **out, struct tw_err *err);

/*
 * Parse a TZif file's bytes into a new zone called name (no name check, no cache); for
 * tests and fuzzing. Release with tw_tz_free. TW_EINVAL with the reason, TW_ENOMEM.
 */
int tw_tz_parse(const unsigned char *data, size_t len, const char *name, struct tw_tz **out,
                struct tw_err *err);
void tw_tz_free(struct tw_tz *z);

/* Free every cached zone; pointers from tw_tz_get become invalid. */
void tw_tz_cache_clear(void);

const char *tw_tz_name(const struct tw_tz *z);

/* True for the built-in UTC (offset 0 at all times, so callers may take their UTC path). */
bool tw_tz_is_utc(const struct tw_tz *z);

/* The zone's offset from UTC at instant t, in seconds east (+3600 for CET). */
int32_t tw_tz_offset(const struct tw_tz *z, int64_t t);

/*
 * The instant at which the zone's wall clock shows local (seconds since 1970-01-01T00:00 of
 * the wall clock), with docs/reference.md §13's rules: a wall time that occurs twice (the hour repeated
 * when clocks go back) gives the first of the two instants; a wall time that does not exist
 * (skipped when clocks go forward) is read with the offset in force before the gap, so it
 * lands as far after the gap's start as it is after the gap's wall start (02:30 in a
 * 02:00 -> 03:00 gap runs at 03:30 new time). These are PEP 495's fold=0 rules.
 */
int64_t tw_tz_from_local(const struct tw_tz *z, int64_t local);

#endif /* TW_CORE_TZ_H */
