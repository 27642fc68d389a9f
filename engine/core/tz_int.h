/*
 * Internals of core/tz.c shared by its three files: tz.c (queries, names, the cache),
 * tz_tzif.c (reading TZif files, RFC 8536) and tz_rule.c (the POSIX TZ rule of a file's
 * footer, RFC 8536 §3.3). Not for other callers: the interface is core/tz.h.
 */
#ifndef TW_CORE_TZ_INT_H
#define TW_CORE_TZ_INT_H

#include "core/tz.h"

#define SECS_PER_DAY INT64_C(86400)
#define MAX_OFFSET (26 * 3600) /* larger UTC offsets are refused as corrupt */
#define MAX_TYPES 256
#define WINDOW_MAX 32                 /* transitions looked at around one instant */
#define BIG_BANG (INT64_C(1) << 59)   /* RFC 8536 §3.2: the earliest transition time */
#define DENSE 16                      /* transitions allowed within a week: WINDOW_MAX / 2 */
#define RULE_LIMIT (INT64_C(1) << 40) /* beyond ~34,000 years the rule is not evaluated */

/* One end of the daylight-saving period in a POSIX TZ rule: Jn, n or Mm.w.d, and a time. */
struct tw_tz_rule_date {
    char kind; /* 'J' (1..365, no Feb 29), 'N' (0..365), 'M' */
    int n, m, w, d;
    int32_t time; /* seconds after local midnight; -167h..167h */
};

struct tw_tz_rule {
    int32_t std; /* standard offset, seconds east */
    int32_t dst; /* daylight offset, seconds east */
    bool has_dst;
    struct tw_tz_rule_date start, end;
};

struct tw_tz {
    struct tw_tz *next; /* the cache's list */
    char name[TW_TZ_NAME_MAX + 1];
    bool utc;
    size_t n;      /* transitions */
    int64_t *at;   /* ascending instants */
    int32_t *off;  /* offset from at[i] on */
    int32_t off0;  /* offset before at[0] */
    bool has_rule; /* footer rule for times after at[n-1] (all, if n == 0) */
    struct tw_tz_rule rule;
};

/* A window of transitions: the offset in force at its start, then transitions in order. */
struct tw_tz_window {
    int32_t before;
    size_t n;
    int64_t at[WINDOW_MAX];
    int32_t off[WINDOW_MAX];
};

/* Parse a POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3") into *r; TW_EINVAL with the reason. */
int tw_tz_rule_parse(const char *s, struct tw_tz_rule *r, struct tw_err *err);
/* The rule's two transitions of year y, in time order. */
void tw_tz_rule_year(const struct tw_tz_rule *r, int64_t y, int64_t at[2], int32_t off[2]);
/* The rule's offset at t. */
int32_t tw_tz_rule_offset(const struct tw_tz_rule *r, int64_t t);
/* The (proleptic Gregorian) year holding instant t. */
int64_t tw_tz_year_of(int64_t t);
/* Insert a transition into w in time order (dropped when w is full). */
void tw_tz_window_add(struct tw_tz_window *w, int64_t at, int32_t off);

#endif /* TW_CORE_TZ_INT_H */
