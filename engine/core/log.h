/*
 * Logging: one line per event to stderr, as JSON ({"time":..,"level":..,"event":..,...}) or
 * logfmt, chosen by log.format. Callers pass key/value string pairs (tw_log) or one message
 * sentence (tw_logf).
 * Never log a secret: tokens, passwords and session keys must not be passed here.
 */
#ifndef TW_CORE_LOG_H
#define TW_CORE_LOG_H

#include <stdbool.h>

#include <stdio.h>

enum tw_log_level { TW_LOG_DEBUG, TW_LOG_INFO, TW_LOG_WARN, TW_LOG_ERROR };
enum tw_log_format { TW_LOG_JSON, TW_LOG_LOGFMT };

/* Set the minimum level written and the format. Defaults: info, json. */
void tw_log_setup(enum tw_log_level min, enum tw_log_format fmt);

/* Parse "debug"/"info"/"warn"/"error"; returns -1 when unknown. */
int tw_log_level_parse(const char *s);

/* Parse "json"/"logfmt"; returns -1 when unknown. */
int tw_log_format_parse(const char *s);

/*
 * Tests only: write to f (borrowed; the caller keeps it open while it is set) instead of
 * stderr. NULL returns to stderr.
 */
void tw_log_set_stream(FILE *f);

/*
 * Write one line: event is a short dotted name ("task.state"), then pairs of const char *key,
 * const char *value terminated by a NULL key. Values are escaped as needed.
 *   tw_log(TW_LOG_INFO, "server.listen", "addr", "127.0.0.1:8080", NULL);
 */
void tw_log(enum tw_log_level lvl, const char *event, ...) __attribute__((sentinel));

/* Would a line at lvl be written? (To skip formatting the fields of one that would not.) */
bool tw_log_enabled(enum tw_log_level lvl);

/* Convenience: one "msg" field formatted with printf. */
void tw_logf(enum tw_log_level lvl, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
