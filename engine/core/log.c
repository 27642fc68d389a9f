/*
 * Logging (see log.h): one line per call, JSON or logfmt.
 *
 * Each line is built in a fixed buffer on the stack and written with a single fwrite, for two
 * reasons: logging never allocates (so it still works when tw_mem_fail_after is failing every
 * allocation, or when the process is out of memory), and forked workers sharing stderr do not
 * interleave halves of each other's lines. A line that would not fit is cut at a character
 * boundary, its value ends in "..." and the remaining pairs are dropped; the line stays valid JSON.
 *
 * JSON values are escaped by hand (core/jsonesc.h, and DEL as \u007f), and bytes that are not
 * valid UTF-8 (core/utf8.h) become U+FFFD so that the line always parses. The state is
 * process-global and not thread-safe: the engine is single-threaded and workers are forked.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/jsonesc.h"
#include "core/time.h"
#include "core/utf8.h"

#define LINE_MAX_BYTES 8192
#define LINE_RESERVE 8 /* room kept for "...", closing quote/brace and the newline */

struct line {
    char buf[LINE_MAX_BYTES]; /* the line being built, not NUL-terminated */
    size_t len;               /* bytes used */
    bool full;                /* something was cut: append nothing more but the closing */
};

static enum tw_log_level min_level = TW_LOG_INFO;
static enum tw_log_format format = TW_LOG_JSON;
static FILE *stream; /* NULL: stderr (which is not a constant initialiser) */

/* When adding a level, also update enum tw_log_level in log.h. */
static const char *const level_names[] = { "debug", "info", "warn", "error" };
static const char *const format_names[] = { "json", "logfmt" };

void tw_log_setup(enum tw_log_level min, enum tw_log_format fmt)
{
    min_level = min;
    format = fmt;
}

void tw_log_set_stream(FILE *f)
{
    stream = f;
}

int tw_log_level_parse(const char *s)
{
    for (size_t i = 0; s != NULL && i < sizeof(level_names) / sizeof(level_names[0]); i++)
        if (strcmp(s, level_names[i]) == 0)
            return (int)i;
    return -1;
}

int tw_log_format_parse(const char *s)
{
    for (size_t i = 0; s != NULL && i < sizeof(format_names) / sizeof(format_names[0]); i++)
        if (strcmp(s, format_names[i]) == 0)
            return (int)i;
    return -1;
}

/* Append n raw bytes if they fit with the reserve left over; else mark the line full. */
static bool put(struct line *l, const char *s, size_t n)
{
    if (l->full || n > LINE_MAX_BYTES - LINE_RESERVE - l->len) {
        l->full = true;
        return false;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    return true;
}

/* Closing bytes always fit: they come out of the reserve. */
static void put_closing(struct line *l, const char *s)
{
    size_t n = strlen(s);

    if (n > LINE_MAX_BYTES - l->len)
        n = LINE_MAX_BYTES - l->len;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

/* One character of a quoted string, escaped for JSON (json) or for logfmt. */
static size_t put_escaped_char(struct line *l, const char *s, bool json)
{
    unsigned char c = (unsigned char)*s;
    size_t n = tw_utf8_char_len((const unsigned char *)s, 4);
    char tmp[8];

    if (n == 0) {
        put(l, json ? "\\ufffd" : "\xEF\xBF\xBD", json ? 6 : 3);
        return 1;
    }
    if (c == 0x7F) { /* DEL: valid JSON, but kept out of terminals */
        put(l, "\\u007f", 6);
    } else if (tw_jsonesc_needed(c)) {
        put(l, tmp, tw_jsonesc_byte(c, tmp));
    } else {
        put(l, s, n);
    }
    return n;
}

/*
 * s (NULL allowed) as a quoted string, cut with "..." when the line is full. Returns false only
 * when not even the opening quote fitted.
 */
static bool put_quoted(struct line *l, const char *s, bool json)
{
    if (!put(l, "\"", 1))
        return false;
    while (s != NULL && *s != '\0' && !l->full)
        s += put_escaped_char(l, s, json);
    /* The closing quote comes out of the reserve, so the string is closed even when cut. */
    put_closing(l, l->full ? "...\"" : "\"");
    return true;
}

/* logfmt leaves a value bare when nothing in it needs quoting. */
static bool logfmt_is_bare(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if ((unsigned char)*s <= ' ' || *s == '=' || *s == '"' || *s == '\\' ||
            (unsigned char)*s >= 0x7F)
            return false;
    return true;
}

static bool put_json_pair(struct line *l, const char *key, const char *value, bool first)
{
    if (!first && !put(l, ",", 1))
        return false;
    /* A cut key would be a different key: it must fit whole. */
    if (!put_quoted(l, key, true) || l->full || !put(l, ":", 1))
        return false;
    return value == NULL ? put(l, "null", 4) : put_quoted(l, value, true);
}

static bool put_logfmt_pair(struct line *l, const char *key, const char *value, bool first)
{
    size_t n;

    if (!first && !put(l, " ", 1))
        return false;
    /* logfmt keys are not quoted, so anything but a plain identifier character is replaced. */
    for (const char *k = key; *k != '\0'; k++) {
        char c = (char)((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
                                (*k >= '0' && *k <= '9') || *k == '_' || *k == '.' || *k == '-'
                            ? *k
                            : '_');
        if (!put(l, &c, 1))
            return false;
    }
    if (!put(l, "=", 1))
        return false;
    if (value == NULL)
        return true;
    n = strlen(value);
    /* A bare value that does not fit is quoted instead, so that it can be cut visibly. */
    if (logfmt_is_bare(value) && n <= LINE_MAX_BYTES - LINE_RESERVE - l->len)
        return put(l, value, n);
    return put_quoted(l, value, false);
}

/* Append one pair, or nothing at all when its key or the start of its value does not fit. */
static void put_pair(struct line *l, const char *key, const char *value, bool first)
{
    size_t save = l->len;
    bool ok;

    if (l->full)
        return;
    if (format == TW_LOG_JSON)
        ok = put_json_pair(l, key != NULL ? key : "", value, first);
    else
        ok = put_logfmt_pair(l, key != NULL ? key : "", value, first);
    if (!ok) {
        l->len = save;
        l->full = true;
    }
}

/* "2026-05-26T12:00:00.123Z" from the (possibly fake) wall clock. */
static void now_iso_ms(char *out, size_t size)
{
    int64_t ms = tw_clock_wall_ms();
    int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    char base[TW_TIME_BUFSZ];

    tw_time_format(s, base);
    base[strlen(base) - 1] = '\0'; /* drop the Z; it goes after the milliseconds */
    snprintf(out, size, "%s.%03dZ", base, (int)(ms - s * 1000));
}

static void vlog(enum tw_log_level lvl, const char *event, va_list ap)
{
    struct line l;
    char now[40];
    const char *key;
    FILE *f = stream != NULL ? stream : stderr;

    l.len = 0;
    l.full = false;
    now_iso_ms(now, sizeof(now));
    if (format == TW_LOG_JSON)
        put(&l, "{", 1);
    put_pair(&l, "time", now, true);
    put_pair(&l, "level", level_names[lvl], false);
    put_pair(&l, "event", event != NULL ? event : "", false);
    for (key = va_arg(ap, const char *); key != NULL && !l.full; key = va_arg(ap, const char *))
        put_pair(&l, key, va_arg(ap, const char *), false);
    put_closing(&l, format == TW_LOG_JSON ? "}\n" : "\n");
    fwrite(l.buf, 1, l.len, f);
    fflush(f);
}

bool tw_log_enabled(enum tw_log_level lvl)
{
    return lvl >= min_level && lvl <= TW_LOG_ERROR;
}

void tw_log(enum tw_log_level lvl, const char *event, ...)
{
    va_list ap;

    if (lvl < min_level || lvl > TW_LOG_ERROR)
        return;
    va_start(ap, event);
    vlog(lvl, event, ap);
    va_end(ap);
}

void tw_logf(enum tw_log_level lvl, const char *event, const char *fmt, ...)
{
    char msg[LINE_MAX_BYTES];
    va_list ap;

    if (lvl < min_level || lvl > TW_LOG_ERROR)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tw_log(lvl, event, "msg", msg, (const char *)NULL);
}
