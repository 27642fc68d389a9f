/*
 * YAML events -> neutral tree (see yaml.h).
 *
 * A recursive descent over libyaml's event stream: each start event becomes a node, which is
 * linked into its parent before its children are read, so that on any error the caller frees
 * the whole partial tree from the root with one tw_yaml_destroy and nothing leaks. Nesting is
 * capped (MAX_DEPTH) so that a hostile file cannot exhaust the stack.
 *
 * libyaml allocates its own event memory with malloc; only our nodes go through tw_malloc.
 */
#include "core/yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <yaml.h>

#include "core/buf.h"
#include "core/mem.h"

#define MAX_DEPTH 64

struct builder {
    yaml_parser_t parser; /* libyaml's state; its marks are 0-based */
    const char *name;     /* file name for messages */
    const char *data;     /* the input, to turn a reader error's byte offset into a line */
    size_t len;           /* bytes in data */
    struct tw_err *err;   /* where the first error goes */
};

__attribute__((format(printf, 4, 5))) static int fail_at(struct builder *b, int code,
                                                         const yaml_mark_t *mark, const char *fmt,
                                                         ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return tw_err_set(b->err, code, "%s:%zu:%zu: %s", b->name, mark->line + 1, mark->column + 1,
                      msg);
}

/* Turn libyaml's error state into a message: the problem, and what it was parsing. */
static int parser_error(struct builder *b)
{
    const yaml_parser_t *p = &b->parser;

    if (p->error == YAML_MEMORY_ERROR)
        return tw_err_set(b->err, TW_ENOMEM, "%s: out of memory while parsing YAML", b->name);
    if (p->error == YAML_READER_ERROR) {
        /* Bad bytes are found before any mark exists: count lines up to the offset. */
        yaml_mark_t at = { 0, 0, 0 };

        for (size_t i = 0; i < p->problem_offset && i < b->len; i++, at.column++)
            if (b->data[i] == '\n') {
                at.line++;
                at.column = (size_t)-1;
            }
        return fail_at(b, TW_EINVAL, &at, "%s (byte %zu)",
                       p->problem != NULL ? p->problem : "unreadable input", p->problem_offset);
    }
    if (p->context != NULL)
        return fail_at(b, TW_EINVAL, &p->problem_mark, "%s (%s that started at line %zu)",
                       p->problem != NULL ? p->problem : "syntax error", p->context,
                       p->context_mark.line + 1);
    return fail_at(b, TW_EINVAL, &p->problem_mark, "%s",
                   p->problem != NULL ? p->problem : "syntax error");
}

static int next_event(struct builder *b, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&b->parser, ev))
        return parser_error(b);
    return TW_OK;
}

/* The anchor and tag of a start event, whichever kind it is. */
static int check_plain_yaml(struct builder *b, const yaml_event_t *ev)
{
    const yaml_char_t *anchor = NULL;
    const yaml_char_t *tag = NULL;

    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        return fail_at(b, TW_EINVAL, &ev->start_mark,
                       "aliases (*%s) are not supported; write the value out",
                       (const char *)ev->data.alias.anchor);
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
        break;
    default: return fail_at(b, TW_EINVAL, &ev->start_mark, "unexpected YAML event %d", ev->type);
    }
    if (anchor != NULL)
        return fail_at(b, TW_EINVAL, &ev->start_mark,
                       "anchors (&%s) are not supported; write the value out",
                       (const char *)anchor);
    if (tag != NULL)
        return fail_at(b, TW_EINVAL, &ev->start_mark, "tags (%s) are not supported",
                       (const char *)tag);
    return TW_OK;
}

static int build(struct builder *b, const yaml_event_t *ev, int depth, struct tw_yaml_node **slot);

static int build_scalar(struct builder *b, const yaml_event_t *ev, struct tw_yaml_node *node)
{
    size_t len = ev->data.scalar.length;

    if (memchr(ev->data.scalar.value, '\0', len) != NULL)
        return fail_at(b, TW_EINVAL, &ev->start_mark, "NUL characters are not allowed");
    node->scalar = tw_malloc(len + 1);
    if (node->scalar == NULL)
        return tw_err_set(b->err, TW_ENOMEM, "%s: out of memory", b->name);
    memcpy(node->scalar, ev->data.scalar.value, len);
    node->scalar[len] = '\0';
    node->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    return TW_OK;
}

/* Grow an array of elem-sized entries so that one more fits; counts stay with the caller. */
static int grow(struct builder *b, void **arr, size_t n, size_t elem)
{
    void *p;

    /* Powers of two: realloc only when n is 0, 1, 2, 4, 8, ... */
    if (n != 0 && (n & (n - 1)) != 0)
        return TW_OK;
    p = tw_realloc(*arr, (n == 0 ? 1 : n * 2) * elem);
    if (p == NULL)
        return tw_err_set(b->err, TW_ENOMEM, "%s: out of memory", b->name);
    *arr = p;
    return TW_OK;
}

static int build_sequence(struct builder *b, struct tw_yaml_node *node, int depth)
{
    yaml_event_t ev;
    int ret;

    for (;;) {
        ret = next_event(b, &ev);
        if (ret != TW_OK)
            return ret;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return TW_OK;
        }
        ret = grow(b, (void **)&node->items, node->n, sizeof(node->items[0]));
        if (ret == TW_OK) {
            node->items[node->n++] = NULL;
            ret = build(b, &ev, depth + 1, &node->items[node->n - 1]);
        }
        yaml_event_delete(&ev);
        if (ret != TW_OK)
            return ret;
    }
}

/* Read one key of a mapping into pair->key, refusing non-scalars and duplicates. */
static int build_key(struct builder *b, struct tw_yaml_node *map, const yaml_event_t *ev, int depth)
{
    struct tw_yaml_pair *pair = &map->pairs[map->n - 1];
    int ret;

    if (ev->type == YAML_SEQUENCE_START_EVENT || ev->type == YAML_MAPPING_START_EVENT)
        return fail_at(b, TW_EINVAL, &ev->start_mark, "mapping keys must be plain strings");
    ret = build(b, ev, depth + 1, &pair->key);
    if (ret != TW_OK)
        return ret;
    for (size_t i = 0; i + 1 < map->n; i++)
        if (strcmp(map->pairs[i].key->scalar, pair->key->scalar) == 0)
            return fail_at(b, TW_EINVAL, &ev->start_mark,
                           "%s: duplicate key (first given at line %u)", pair->key->scalar,
                           map->pairs[i].key->line);
    return TW_OK;
}

static int build_mapping(struct builder *b, struct tw_yaml_node *node, int depth)
{
    yaml_event_t ev;
    struct tw_yaml_pair *pair;
    int ret;

    for (;;) {
        ret = next_event(b, &ev);
        if (ret != TW_OK)
            return ret;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return TW_OK;
        }
        ret = grow(b, (void **)&node->pairs, node->n, sizeof(node->pairs[0]));
        if (ret == TW_OK) {
            pair = &node->pairs[node->n++];
            pair->key = NULL;
            pair->value = NULL;
            ret = build_key(b, node, &ev, depth);
        }
        yaml_event_delete(&ev);
        if (ret != TW_OK)
            return ret;
        ret = next_event(b, &ev);
        if (ret != TW_OK)
            return ret;
        ret = build(b, &ev, depth + 1, &node->pairs[node->n - 1].value);
        yaml_event_delete(&ev);
        if (ret != TW_OK)
            return ret;
    }
}

/*
 * Build the node that starts with ev (borrowed; the caller deletes it) into *slot. *slot is set
 * as soon as the node exists, so a failure leaves a partial tree the caller can destroy.
 */
static int build(struct builder *b, const yaml_event_t *ev, int depth, struct tw_yaml_node **slot)
{
    struct tw_yaml_node *node;
    int ret;

    ret = check_plain_yaml(b, ev);
    if (ret != TW_OK)
        return ret;
    if (depth > MAX_DEPTH)
        return fail_at(b, TW_EINVAL, &ev->start_mark, "nested deeper than %d levels", MAX_DEPTH);
    node = tw_calloc(1, sizeof(*node));
    if (node == NULL)
        return tw_err_set(b->err, TW_ENOMEM, "%s: out of memory", b->name);
    *slot = node;
    node->line = (unsigned)ev->start_mark.line + 1;
    node->col = (unsigned)ev->start_mark.column + 1;
    switch (ev->type) {
    case YAML_SCALAR_EVENT: node->kind = TW_YAML_SCALAR; return build_scalar(b, ev, node);
    case YAML_SEQUENCE_START_EVENT:
        node->kind = TW_YAML_SEQUENCE;
        return build_sequence(b, node, depth);
    default: node->kind = TW_YAML_MAPPING; return build_mapping(b, node, depth);
    }
}

/* After the first document: only the end of the stream may follow. */
static int expect_stream_end(struct builder *b)
{
    yaml_event_t ev;
    int ret;

    ret = next_event(b, &ev);
    if (ret != TW_OK)
        return ret;
    if (ev.type != YAML_DOCUMENT_END_EVENT) {
        ret = fail_at(b, TW_EINVAL, &ev.start_mark, "unexpected content after the document");
    } else {
        yaml_event_delete(&ev);
        ret = next_event(b, &ev);
        if (ret != TW_OK)
            return ret;
        if (ev.type != YAML_STREAM_END_EVENT)
            ret = fail_at(b, TW_EINVAL, &ev.start_mark,
                          "only one document per file is supported (a second one starts here)");
    }
    yaml_event_delete(&ev);
    return ret;
}

/* Reads the stream up to the root of its only document; *root stays NULL when there is none. */
static int parse_stream(struct builder *b, struct tw_yaml_node **root)
{
    yaml_event_t ev;
    int ret;

    ret = next_event(b, &ev); /* STREAM-START */
    if (ret != TW_OK)
        return ret;
    yaml_event_delete(&ev);
    ret = next_event(b, &ev); /* DOCUMENT-START or STREAM-END */
    if (ret != TW_OK)
        return ret;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return TW_OK;
    }
    yaml_event_delete(&ev);
    ret = next_event(b, &ev); /* the root node */
    if (ret != TW_OK)
        return ret;
    ret = build(b, &ev, 0, root);
    yaml_event_delete(&ev);
    if (ret != TW_OK)
        return ret;
    return expect_stream_end(b);
}

int tw_yaml_parse(const char *data, size_t len, const char *name, struct tw_yaml_node **out,
                  struct tw_err *err)
{
    struct builder b;
    struct tw_yaml_node *root = NULL;
    int ret;

    b.name = name != NULL ? name : "<yaml>";
    b.data = data;
    b.len = data != NULL ? len : 0;
    b.err = err;
    if (!yaml_parser_initialize(&b.parser))
        return tw_err_set(err, TW_ENOMEM, "%s: out of memory", b.name);
    /* libyaml asserts on a NULL input even when len is 0. */
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)(data != NULL ? data : ""),
                                 data != NULL ? len : 0);
    ret = parse_stream(&b, &root);
    yaml_parser_delete(&b.parser);
    if (ret != TW_OK) {
        tw_yaml_destroy(root);
        return ret;
    }
    *out = root;
    return TW_OK;
}

int tw_yaml_parse_file(const char *path, size_t max_bytes, struct tw_yaml_node **out,
                       struct tw_err *err)
{
    char chunk[4096];
    struct tw_buf b;
    size_t n;
    FILE *f = fopen(path, "r");
    int ret = TW_OK;

    if (f == NULL)
        return tw_err_set(err, errno == ENOENT ? TW_ENOTFOUND : TW_EIO, "%s: cannot open: %s", path,
                          strerror(errno));
    tw_buf_init(&b, max_bytes);
    while (ret == TW_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        ret = tw_buf_append(&b, chunk, n);
        if (ret == TW_ELIMIT)
            ret = tw_err_set(err, TW_EINVAL, "%s: larger than %zu bytes", path, max_bytes);
        else if (ret != TW_OK)
            ret = tw_err_set(err, TW_ENOMEM, "%s: out of memory", path);
    }
    /* fopen succeeds on a directory; the read is what fails (EISDIR). */
    if (ret == TW_OK && ferror(f))
        ret = tw_err_set(err, TW_EIO, "%s: cannot read: %s", path, strerror(errno));
    fclose(f);
    if (ret == TW_OK)
        ret = tw_yaml_parse(b.data, b.len, path, out, err);
    tw_buf_fini(&b);
    return ret;
}

void tw_yaml_destroy(struct tw_yaml_node *node)
{
    if (node == NULL)
        return;
    for (size_t i = 0; node->kind == TW_YAML_SEQUENCE && i < node->n; i++)
        tw_yaml_destroy(node->items[i]);
    for (size_t i = 0; node->kind == TW_YAML_MAPPING && i < node->n; i++) {
        tw_yaml_destroy(node->pairs[i].key);
        tw_yaml_destroy(node->pairs[i].value);
    }
    tw_free(node->items);
    tw_free(node->pairs);
    tw_free(node->scalar);
    tw_free(node);
}

const struct tw_yaml_node *tw_yaml_get(const struct tw_yaml_node *map, const char *key)
{
    if (map == NULL || map->kind != TW_YAML_MAPPING)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->pairs[i].key->scalar, key) == 0)
            return map->pairs[i].value;
    return NULL;
}

bool tw_yaml_is_null(const struct tw_yaml_node *node)
{
    static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

    if (node == NULL || node->kind != TW_YAML_SCALAR || !node->plain)
        return false;
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
        if (strcmp(node->scalar, nulls[i]) == 0)
            return true;
    return false;
}

bool tw_yaml_as_uint(const struct tw_yaml_node *node, uint64_t *out)
{
    uint64_t v = 0;
    const char *s;

    if (node == NULL || node->kind != TW_YAML_SCALAR || node->scalar[0] == '\0')
        return false;
    for (s = node->scalar; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

bool tw_yaml_as_bool(const struct tw_yaml_node *node, bool *out)
{
    static const char *const yes[] = { "true", "True", "TRUE" };
    static const char *const no[] = { "false", "False", "FALSE" };

    for (size_t i = 0; node != NULL && node->kind == TW_YAML_SCALAR && node->plain && i < 3; i++) {
        if (strcmp(node->scalar, yes[i]) == 0 || strcmp(node->scalar, no[i]) == 0) {
            *out = strcmp(node->scalar, yes[i]) == 0;
            return true;
        }
    }
    return false;
}

const char *tw_yaml_describe(const struct tw_yaml_node *node, char *buf, size_t size)
{
    if (node->kind != TW_YAML_SCALAR)
        return tw_yaml_kind_name(node->kind);
    if (tw_yaml_is_null(node))
        return "nothing";
    snprintf(buf, size, "\"%.60s%s\"", node->scalar, strlen(node->scalar) > 60 ? "..." : "");
    return buf;
}

const char *tw_yaml_kind_name(enum tw_yaml_kind kind)
{
    switch (kind) {
    case TW_YAML_SCALAR: return "a scalar";
    case TW_YAML_SEQUENCE: return "a sequence";
    case TW_YAML_MAPPING: return "a mapping";
    }
    return "an unknown node";
}
