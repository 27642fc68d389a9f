/*
 * Checking parsed JSON input (val.h): paths, types, strings, integers, enumerations and key
 * sets, with messages that name the path and show what was got. Moved here from the API's
 * validation so that the segment grammar (segment/seg_parse.c) uses the same words.
 */
#include "core/val.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOT_MAX_CHARS 40 /* quoted strings in messages are cut here */
#define UNKNOWN_KEY_MAX_BYTES 64

const char *tw_val_path(char buf[TW_VAL_PATHSZ], const char *base, const char *key)
{
    if (base == NULL || base[0] == '\0')
        snprintf(buf, TW_VAL_PATHSZ, "%s", key);
    else
        snprintf(buf, TW_VAL_PATHSZ, "%s.%s", base, key);
    return buf;
}

const char *tw_val_index_path(char buf[TW_VAL_PATHSZ], const char *base, size_t i)
{
    snprintf(buf, TW_VAL_PATHSZ, "%s[%zu]", base, i);
    return buf;
}

int tw_val_fail(struct tw_err *err, const char *path, const char *fmt, ...)
{
    char sentence[sizeof(err->msg)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(sentence, sizeof(sentence), fmt, ap);
    va_end(ap);
    if (path[0] == '\0')
        return tw_err_field(err, TW_EINVAL, path, "%s", sentence);
    return tw_err_field(err, TW_EINVAL, path, "%s: %s", path, sentence);
}

/* A string as a JSON literal, escaped and cut at GOT_MAX_CHARS code points or at what fits
 * in buf ("abc..."), never inside a UTF-8 sequence: the message goes out in a JSON reply. */
static void quote(const char *s, size_t len, char *buf, size_t n)
{
    size_t o = 0;
    size_t chars = 0;
    size_t i = 0;

    if (n < 8) {
        buf[0] = '\0';
        return;
    }
    buf[o++] = '"';
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        size_t clen = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        size_t room = c < 0x20 ? 6 : c == '"' || c == '\\' ? 2 : clen;

        if (chars++ == GOT_MAX_CHARS || o + room + 5 > n) { /* 5: "...", quote, NUL */
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c == '"' || c == '\\')
            o += (size_t)snprintf(buf + o, n - o, "\\%c", c);
        else if (c < 0x20)
            o += (size_t)snprintf(buf + o, n - o, "\\u%04x", c);
        else {
            memcpy(buf + o, s + i, clen);
            o += clen;
        }
        i += clen;
    }
    buf[o++] = '"';
    buf[o] = '\0';
}

/* A real written so that it reads back as the same double, with ".0" when it looks integral. */
static void format_real(double d, char *buf, size_t n)
{
    snprintf(buf, n, "%.15g", d);
    if (strtod(buf, NULL) != d)
        snprintf(buf, n, "%.17g", d);
    if (strpbrk(buf, ".eEn") == NULL)
        snprintf(buf + strlen(buf), n - strlen(buf), ".0");
}

const char *tw_val_got(const json_t *v, char *buf, size_t n)
{
    switch (json_typeof(v)) {
    case JSON_STRING: quote(json_string_value(v), json_string_length(v), buf, n); break;
    case JSON_INTEGER: snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
    case JSON_REAL: format_real(json_real_value(v), buf, n); break;
    case JSON_TRUE: snprintf(buf, n, "true"); break;
    case JSON_FALSE: snprintf(buf, n, "false"); break;
    case JSON_NULL: snprintf(buf, n, "null"); break;
    case JSON_OBJECT: snprintf(buf, n, "object"); break;
    case JSON_ARRAY: snprintf(buf, n, "array"); break;
    }
    return buf;
}

/* What a type error says was got: a string's value (the likely mistake is "12"), else a kind. */
static const char *got_kind(const json_t *v, char *buf, size_t n)
{
    if (json_is_string(v) || json_is_boolean(v) || json_is_null(v))
        return tw_val_got(v, buf, n);
    if (json_is_number(v))
        return "number";
    return json_is_object(v) ? "object" : "array";
}

int tw_val_type_fail(const json_t *v, const char *path, const char *want, struct tw_err *err)
{
    char got[128];

    return tw_val_fail(err, path, "must be %s (got %s)", want, got_kind(v, got, sizeof(got)));
}

/* "a, b, c": list's entries joined, skipping "" (a valid value, but not worth naming). */
static const char *join_list(const char *const *list, char *buf, size_t n)
{
    size_t o = 0;

    buf[0] = '\0';
    for (; list != NULL && *list != NULL && o < n; list++) {
        if ((*list)[0] != '\0')
            o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? ", " : "", *list);
    }
    if (buf[0] == '\0')
        snprintf(buf, n, "(none configured)");
    return buf;
}

int tw_val_is_one_of(const char *s, const char *const *list)
{
    int i;

    for (i = 0; list != NULL && list[i] != NULL; i++) {
        if (strcmp(s, list[i]) == 0)
            return i;
    }
    return -1;
}

int tw_val_keys(const json_t *obj, const char *const *allowed, const char *const *ignored,
                const char *path, struct tw_err *err)
{
    char p[TW_VAL_PATHSZ];
    char names[400];
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)obj, key, v)
    {
        char shown[UNKNOWN_KEY_MAX_BYTES + 4];
        size_t n = strlen(key);

        if (tw_val_is_one_of(key, allowed) >= 0 || tw_val_is_one_of(key, ignored) >= 0)
            continue;
        /* A client's key can be any length: cut it, on a character boundary, so the path
         * fits err->field whole and stays valid UTF-8. */
        if (n > UNKNOWN_KEY_MAX_BYTES) {
            n = UNKNOWN_KEY_MAX_BYTES;
            while (n > 0 && ((unsigned char)key[n] & 0xC0) == 0x80)
                n--;
        }
        snprintf(shown, sizeof(shown), "%.*s%s", (int)n, key, key[n] ? "..." : "");
        return tw_val_fail(err, tw_val_path(p, path, shown), "unknown field (expected one of %s)",
                           join_list(allowed, names, sizeof(names)));
    }
    return TW_OK;
}

int tw_val_string(const json_t *v, const char *path, size_t max_chars, const char **out,
                  struct tw_err *err)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    size_t chars = 0;
    size_t i;

    if (!json_is_string(v))
        return tw_val_type_fail(v, path, "a string", err);
    if (strlen(s) != len)
        return tw_val_fail(err, path, "must not contain NUL characters");
    /* Code points, not bytes: the parser guarantees valid UTF-8, so count lead bytes. */
    for (i = 0; i < len; i++)
        chars += ((unsigned char)s[i] & 0xC0) != 0x80;
    if (chars > max_chars)
        return tw_val_fail(err, path, "must be at most %zu characters (got %zu)", max_chars, chars);
    *out = s;
    return TW_OK;
}

int tw_val_int(const json_t *v, const char *path, int64_t min, int64_t *out, struct tw_err *err)
{
    char got[64];
    int64_t n;

    if (json_is_real(v)) /* 12.0 is refused too: an id or count is never written so */
        return tw_val_fail(err, path, "must be an integer (got %s)",
                           tw_val_got(v, got, sizeof(got)));
    if (!json_is_integer(v))
        return tw_val_type_fail(v, path, "an integer", err);
    n = json_integer_value(v);
    if (n < min)
        return tw_val_fail(err, path, "must be at least %" PRId64 " (got %" PRId64 ")", min, n);
    *out = n;
    return TW_OK;
}

int tw_val_enum(const json_t *v, const char *path, const char *const *list, size_t *idx,
                struct tw_err *err)
{
    char names[400];
    char got[128];
    int i = json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v)
                ? tw_val_is_one_of(json_string_value(v), list)
                : -1;

    if (i < 0)
        return tw_val_fail(err, path, "must be one of %s (got %s)",
                           join_list(list, names, sizeof(names)), got_kind(v, got, sizeof(got)));
    *idx = (size_t)i;
    return TW_OK;
}

/* The deepest level below v (v itself is level 0); stops counting past limit. */
static int depth_of(const json_t *v, int level, int limit)
{
    const char *key;
    json_t *c;
    size_t i;
    int d, max = level;

    if (level > limit)
        return level;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, c)
        {
            d = depth_of(c, level + 1, limit);
            max = d > max ? d : max;
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, c)
        {
            d = depth_of(c, level + 1, limit);
            max = d > max ? d : max;
        }
    }
    return max;
}

int tw_val_depth(const json_t *v, const char *path, int max_depth, struct tw_err *err)
{
    if (depth_of(v, 0, max_depth) > max_depth)
        return tw_val_fail(err, path, "nests deeper than %d levels (a script gets at most %d)",
                           max_depth, max_depth);
    return TW_OK;
}
