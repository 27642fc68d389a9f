/* Error buffers: see err.h. Messages are truncated, never overflowed. */
#include "core/err.h"

#include <stdio.h>
#include <string.h>

void tw_err_clear(struct tw_err *err)
{
    if (err == NULL)
        return;
    err->code = TW_OK;
    err->field[0] = '\0';
    err->msg[0] = '\0';
}

int tw_err_vset(struct tw_err *err, int code, const char *fmt, va_list ap)
{
    if (err == NULL)
        return code;
    err->code = code;
    err->field[0] = '\0';
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    return code;
}

int tw_err_set(struct tw_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    tw_err_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int tw_err_field(struct tw_err *err, int code, const char *field, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    tw_err_vset(err, code, fmt, ap);
    va_end(ap);
    if (err != NULL)
        snprintf(err->field, sizeof(err->field), "%s", field);
    return code;
}

void tw_err_prefix(struct tw_err *err, const char *fmt, ...)
{
    char prefix[256];
    char old[sizeof(err->msg)];
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
}

const char *tw_err_code_name(int code)
{
    switch (code) {
    case TW_OK: return "ok";
    case TW_EINVAL: return "invalid input";
    case TW_ENOMEM: return "out of memory";
    case TW_EIO: return "i/o error";
    case TW_ENOTFOUND: return "not found";
    case TW_ECONFLICT: return "conflict";
    case TW_ESTORE: return "store error";
    case TW_EPERM: return "permission denied";
    case TW_EAUTH: return "not authenticated";
    case TW_ESOURCE: return "source error";
    case TW_ESCRIPT: return "script error";
    case TW_ELIMIT: return "limit reached";
    case TW_EINTERNAL: return "internal error";
    }
    return "unknown error";
}
