/*
 * Errors: every fallible function returns an int status (TW_OK or a negative TW_E* code) and,
 * when given one, fills a caller-owned struct tw_err with a sentence a person can act on and,
 * for validation errors, the path of the offending field ("trigger.repeat").
 */
#ifndef TW_CORE_ERR_H
#define TW_CORE_ERR_H

#include <stdarg.h>

/* When adding a code, also update tw_err_code_name() in err.c. */
enum tw_status {
    TW_OK = 0,
    TW_EINVAL = -1,     /* bad input: validation, parse or usage error */
    TW_ENOMEM = -2,     /* an allocation failed */
    TW_EIO = -3,        /* a file, socket or pipe operation failed */
    TW_ENOTFOUND = -4,  /* no such object (for this caller) */
    TW_ECONFLICT = -5,  /* version, state or uniqueness conflict */
    TW_ESTORE = -6,     /* the task store failed */
    TW_EPERM = -7,      /* authenticated but not allowed */
    TW_EAUTH = -8,      /* not authenticated */
    TW_ESOURCE = -9,    /* the source database or a plugin failed */
    TW_ESCRIPT = -10,   /* a Lua script failed */
    TW_ELIMIT = -11,    /* a configured limit was reached */
    TW_EINTERNAL = -12, /* a bug */
};

struct tw_err {
    int code;        /* one of enum tw_status; TW_OK when nothing was set */
    char field[160]; /* path of the offending input field, "" when not about a field */
    char msg[640];   /* the sentence, NUL-terminated, truncated to fit */
};

/* Reset to "no error". */
void tw_err_clear(struct tw_err *err);

/*
 * Set code and message (printf format); returns code so callers can write
 * `return tw_err_set(err, TW_EINVAL, "...")`. err may be NULL: then only the code is returned.
 */
int tw_err_set(struct tw_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int tw_err_vset(struct tw_err *err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* As tw_err_set, and records the field path too. */
int tw_err_field(struct tw_err *err, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prepend "prefix: " to the message already in err (for adding context on the way up). */
void tw_err_prefix(struct tw_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A stable lowercase name for a code ("invalid input"), for logs. */
const char *tw_err_code_name(int code);

#endif
