/*
 * The struct tw_host the engine hands a plugin (plugin.h in include/taskwheel): a function
 * table over the engine's own record, query, logging and memory functions. The table is a
 * value in struct tw_host_ctx, first member, so the few functions that need per-run context
 * (log, source) recover it from the host pointer without any global.
 *
 * The record setters are the engine functions themselves (same signatures), so a plugin's
 * call costs one indirect call and nothing more on the hot path.
 */
#include "plugin/plugin.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/log.h"
#include "core/mem.h"

/* The public codes must be the engine's codes: plugins return them straight through. */
_Static_assert(TW_PLUGIN_OK == TW_OK, "status codes drifted");
_Static_assert(TW_PLUGIN_EINVAL == TW_EINVAL, "status codes drifted");
_Static_assert(TW_PLUGIN_ENOMEM == TW_ENOMEM, "status codes drifted");
_Static_assert(TW_PLUGIN_EIO == TW_EIO, "status codes drifted");
_Static_assert(TW_PLUGIN_ESOURCE == TW_ESOURCE, "status codes drifted");
_Static_assert(TW_PLUGIN_LOG_DEBUG == (int)TW_LOG_DEBUG && TW_PLUGIN_LOG_ERROR == (int)TW_LOG_ERROR,
               "log levels drifted");

static void host_log(const struct tw_host *host, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void host_log(const struct tw_host *host, int level, const char *fmt, ...)
{
    const struct tw_host_ctx *ctx = (const struct tw_host_ctx *)host;
    char msg[1024];
    va_list ap;

    if (level < TW_PLUGIN_LOG_DEBUG || level > TW_PLUGIN_LOG_ERROR)
        level = TW_PLUGIN_LOG_INFO;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tw_log((enum tw_log_level)level, "plugin.log", "index", ctx->index, "msg", msg, NULL);
}

static int host_err_set(struct tw_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int host_err_set(struct tw_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    /* A plugin returning "success" as an error would make the engine carry on silently. */
    if (code >= 0)
        code = TW_ESOURCE;
    va_start(ap, fmt);
    tw_err_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

static const char *host_source(const struct tw_host *host)
{
    return ((const struct tw_host_ctx *)host)->source;
}

static const char *host_source_driver(const struct tw_host *host)
{
    const char *d = ((const struct tw_host_ctx *)host)->driver;

    return d != NULL ? d : "sqlite";
}

static int64_t q_chain(const struct tw_query *q)
{
    return q->chain;
}

static int64_t q_run_start(const struct tw_query *q)
{
    return q->run_start;
}

static int q_join(const struct tw_query *q)
{
    return q->join;
}

static uint32_t q_cond_count(const struct tw_query *q)
{
    return q->n;
}

static const struct tw_cond *q_cond(const struct tw_query *q, uint32_t i)
{
    return i < q->n ? &q->conds[i] : NULL;
}

static void q_applied(struct tw_query *q, uint32_t i)
{
    if (i < q->n)
        q->applied[i] = true;
}

static int q_window(const struct tw_query *q, int64_t *from, int64_t *to)
{
    if (!q->window)
        return 0;
    *from = q->window_from;
    *to = q->window_to;
    return 1;
}

void tw_host_init(struct tw_host_ctx *ctx, const char *index, const char *source)
{
    ctx->api = (struct tw_host){
        .abi_major = TW_ABI_MAJOR,
        .abi_minor = TW_ABI_MINOR,
        .size = sizeof(struct tw_host),
        .log = host_log,
        .err_set = host_err_set,
        .alloc = tw_malloc,
        .free = tw_free,
        .source = host_source,
        .rec_set_null = tw_record_set_null,
        .rec_set_int = tw_record_set_int,
        .rec_set_money = tw_record_set_money,
        .rec_set_double = tw_record_set_double,
        .rec_set_text = tw_record_set_text,
        .rec_set_bool = tw_record_set_bool,
        .rec_set_date = tw_record_set_date,
        .rec_set_datetime = tw_record_set_datetime,
        .rec_set_time = tw_record_set_time,
        .rec_set_chain = tw_record_set_chain,
        .rec_item_begin = tw_record_item_begin,
        .rec_item_end = tw_record_item_end,
        .rec_reject = tw_record_reject,
        .q_chain = q_chain,
        .q_run_start = q_run_start,
        .q_join = q_join,
        .q_cond_count = q_cond_count,
        .q_cond = q_cond,
        .q_applied = q_applied,
        .q_window = q_window,
        .source_driver = host_source_driver,
    };
    ctx->index = index;
    ctx->source = source != NULL ? source : "";
    ctx->driver = NULL;
}
