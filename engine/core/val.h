/*
 * Checking parsed JSON input: the request validation of the API (api/validate.c) and the
 * segment grammar (segment/seg_parse.c) say what was expected and what was got in the same
 * words. The int-returning helpers return TW_OK or TW_EINVAL with err->field = the path and
 * err->msg starting with "<path>: ".
 */
#ifndef TW_CORE_VAL_H
#define TW_CORE_VAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"

#define TW_VAL_PATHSZ 192
const char *tw_val_path(char buf[TW_VAL_PATHSZ], const char *base, const char *key);
const char *tw_val_index_path(char buf[TW_VAL_PATHSZ], const char *base, size_t i);
int tw_val_fail(struct tw_err *err, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int tw_val_type_fail(const json_t *v, const char *path, const char *want, struct tw_err *err);
const char *tw_val_got(const json_t *v, char *buf, size_t n);
int tw_val_keys(const json_t *obj, const char *const *allowed, const char *const *ignored,
                const char *path, struct tw_err *err);
int tw_val_string(const json_t *v, const char *path, size_t max_chars, const char **out,
                  struct tw_err *err);
int tw_val_int(const json_t *v, const char *path, int64_t min, int64_t *out, struct tw_err *err);
int tw_val_enum(const json_t *v, const char *path, const char *const *list, size_t *idx,
                struct tw_err *err);
int tw_val_is_one_of(const char *s, const char *const *list);
/* v nests at most max_depth levels below itself (v is level 0); else TW_EINVAL naming path. */
int tw_val_depth(const json_t *v, const char *path, int max_depth, struct tw_err *err);

#endif /* TW_CORE_VAL_H */
