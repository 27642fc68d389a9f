/*
 * Unit tests for core/yaml.c: the tree's shape and positions, the refused YAML features, file
 * reading, the scalar helpers, and allocation failure at every step (run under ASan to see
 * that no partial tree leaks).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "core/mem.h"
#include "core/yaml.h"

static struct tw_yaml_node *parse_ok(const char *s)
{
    struct tw_yaml_node *n = NULL;
    struct tw_err err;

    tw_err_clear(&err);
    cr_assert_eq(tw_yaml_parse(s, strlen(s), "t.yaml", &n, &err), TW_OK, "%s", err.msg);
    return n;
}

Test(yaml, tree_shape_positions_and_order)
{
    struct tw_yaml_node *root = parse_ok("# comment\n"
                                         "zeta: 1\n"
                                         "alpha:\n"
                                         "  - x\n"
                                         "  - 'quoted'\n"
                                         "mid: {a: \"b\", c: [1, 2]}\n");
    const struct tw_yaml_node *alpha;
    const struct tw_yaml_node *mid;

    cr_assert_eq(root->kind, TW_YAML_MAPPING);
    cr_assert_eq(root->n, 3);
    cr_assert_str_eq(root->pairs[0].key->scalar, "zeta"); /* file order, not sorted */
    cr_assert_str_eq(root->pairs[1].key->scalar, "alpha");
    cr_assert_str_eq(root->pairs[2].key->scalar, "mid");
    cr_assert_eq(root->pairs[0].key->line, 2);
    cr_assert_eq(root->pairs[0].key->col, 1);
    cr_assert_eq(root->pairs[0].value->line, 2);
    cr_assert_eq(root->pairs[0].value->col, 7);
    cr_assert(root->pairs[0].value->plain);
    alpha = tw_yaml_get(root, "alpha");
    cr_assert_eq(alpha->kind, TW_YAML_SEQUENCE);
    cr_assert_eq(alpha->n, 2);
    cr_assert_str_eq(alpha->items[1]->scalar, "quoted");
    cr_assert(!alpha->items[1]->plain);
    cr_assert_eq(alpha->items[1]->line, 5);
    cr_assert_eq(alpha->items[1]->col, 5);
    mid = tw_yaml_get(root, "mid");
    cr_assert_eq(mid->kind, TW_YAML_MAPPING);
    cr_assert_str_eq(tw_yaml_get(mid, "a")->scalar, "b");
    cr_assert_eq(tw_yaml_get(mid, "c")->n, 2);
    cr_assert_eq(tw_yaml_get(mid, "c")->items[1]->col, 22);
    cr_assert_null(tw_yaml_get(mid, "zzz"));
    cr_assert_null(tw_yaml_get(alpha, "x")); /* not a mapping */
    tw_yaml_destroy(root);
}

Test(yaml, empty_inputs)
{
    struct tw_yaml_node *n = (struct tw_yaml_node *)1;
    struct tw_err err;

    cr_assert_eq(tw_yaml_parse("", 0, "t", &n, &err), TW_OK);
    cr_assert_null(n);
    n = (struct tw_yaml_node *)1;
    cr_assert_eq(tw_yaml_parse(NULL, 0, "t", &n, &err), TW_OK);
    cr_assert_null(n);
    n = parse_ok("# only a comment\n\n");
    cr_assert_null(n);
    n = parse_ok("---\n");
    cr_assert(tw_yaml_is_null(n));
    tw_yaml_destroy(n);
    tw_yaml_destroy(NULL);
}

Test(yaml, long_many_items)
{
    char buf[8192];
    size_t len = 0;
    struct tw_yaml_node *n;

    for (int i = 0; i < 500; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "k%d: %d\n", i, i);
    n = parse_ok(buf);
    cr_assert_eq(n->n, 500);
    cr_assert_str_eq(n->pairs[499].value->scalar, "499");
    cr_assert_eq(n->pairs[499].key->line, 500);
    tw_yaml_destroy(n);
}

struct bad {
    char in[64];   /* YAML text */
    char msg[120]; /* the whole message, or its beginning when it ends in '*' */
};

ParameterizedTestParameters(yaml, rejects)
{
    static struct bad cases[] = {
        { "a: 1\nb: 2\na: 3\n", "t.yaml:3:1: a: duplicate key (first given at line 1)" },
        { "x:\n  a: 1\n  a: 2\n", "t.yaml:3:3: a: duplicate key (first given at line 2)" },
        { "x: {a: 1, a: 2}", "t.yaml:1:11: a: duplicate key (first given at line 1)" },
        { "x: &base 1\n", "t.yaml:1:4: anchors (&base) are not supported; write the value out" },
        { "x: &m {a: 1}\n", "t.yaml:1:4: anchors (&m) are not supported*" },
        { "x: *y\n", "t.yaml:1:4: aliases (*y) are not supported; write the value out" },
        { "x: !!int 1\n", "t.yaml:1:4: tags (tag:yaml.org,2002:int) are not supported" },
        { "x: !custom [1]\n", "t.yaml:1:4: tags (!custom) are not supported" },
        { "a: 1\n---\nb: 2\n", "t.yaml:2:1: only one document per file is supported*" },
        { "? [a, b]\n: 1\n", "t.yaml:1:3: mapping keys must be plain strings" },
        { "{[a]: 1}", "t.yaml:1:2: mapping keys must be plain strings" },
        { "a: b: c\n", "t.yaml:1:5: mapping values are not allowed in this context" },
        { "a: [1, 2\nb: 3\n", "t.yaml:2:2: did not find expected ',' or ']'*" },
        { "a:\n  b: 1\n c: 2\n", "t.yaml:3:2: did not find expected key*" },
        { "a: \"unterminated\n", "t.yaml:2:1: found unexpected end of stream*" },
        { "a: \"nul\\0here\"\n", "t.yaml:1:4: NUL characters are not allowed" },
        { "a: 1\nbc: \x01\n", "t.yaml:2:5: control characters are not allowed (byte 9)" },
        { "a: 1\nb: \xc3\x28\n", "t.yaml:2:5: invalid trailing UTF-8 octet (byte 9)" },
    };

    return cr_make_param_array(struct bad, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad *c, yaml, rejects)
{
    struct tw_yaml_node *n = (struct tw_yaml_node *)1;
    struct tw_err err;
    size_t len = strlen(c->msg);

    tw_err_clear(&err);
    cr_assert_eq(tw_yaml_parse(c->in, strlen(c->in), "t.yaml", &n, &err), TW_EINVAL, "accepted: %s",
                 c->in);
    cr_assert_eq(n, (struct tw_yaml_node *)1, "output written on error");
    if (c->msg[len - 1] == '*')
        cr_assert(strncmp(err.msg, c->msg, len - 1) == 0, "got \"%s\", want \"%s\"", err.msg,
                  c->msg);
    else
        cr_assert_str_eq(err.msg, c->msg);
}

Test(yaml, rejects_deep_nesting)
{
    char buf[400];
    struct tw_yaml_node *n = NULL;
    struct tw_err err;

    memset(buf, '[', 100);
    memset(buf + 100, ']', 100);
    buf[200] = '\0';
    cr_assert_eq(tw_yaml_parse(buf, strlen(buf), "t", &n, &err), TW_EINVAL);
    cr_assert(strstr(err.msg, "nested deeper than 64 levels") != NULL, "%s", err.msg);
    /* 60 levels is fine. */
    memset(buf, '[', 60);
    memset(buf + 60, ']', 60);
    buf[120] = '\0';
    n = parse_ok(buf);
    tw_yaml_destroy(n);
}

Test(yaml, scalar_helpers)
{
    struct tw_yaml_node *n = parse_ok("[12, '34', -1, 1_000, 18446744073709551615, "
                                      "18446744073709551616, '', true, FALSE, 'true', yes, "
                                      "~, null, '~', {a: 1}]");
    struct tw_yaml_node **it = n->items;
    uint64_t v = 0;
    bool b = false;
    char buf[80];

    cr_assert(tw_yaml_as_uint(it[0], &v) && v == 12);
    cr_assert(tw_yaml_as_uint(it[1], &v) && v == 34); /* callers check ->plain */
    cr_assert(!tw_yaml_as_uint(it[2], &v));
    cr_assert(!tw_yaml_as_uint(it[3], &v));
    cr_assert(tw_yaml_as_uint(it[4], &v) && v == UINT64_MAX);
    cr_assert(!tw_yaml_as_uint(it[5], &v)); /* overflow */
    cr_assert(!tw_yaml_as_uint(it[6], &v));
    cr_assert(!tw_yaml_as_uint(it[14], &v));
    cr_assert(tw_yaml_as_bool(it[7], &b) && b);
    cr_assert(tw_yaml_as_bool(it[8], &b) && !b);
    cr_assert(!tw_yaml_as_bool(it[9], &b));  /* quoted: a string */
    cr_assert(!tw_yaml_as_bool(it[10], &b)); /* YAML 1.1 only */
    cr_assert(tw_yaml_is_null(it[11]));
    cr_assert(tw_yaml_is_null(it[12]));
    cr_assert(!tw_yaml_is_null(it[13]));
    cr_assert(!tw_yaml_is_null(it[6])); /* '' is an empty string */
    cr_assert_str_eq(tw_yaml_describe(it[0], buf, sizeof(buf)), "\"12\"");
    cr_assert_str_eq(tw_yaml_describe(it[12], buf, sizeof(buf)), "nothing");
    cr_assert_str_eq(tw_yaml_describe(it[14], buf, sizeof(buf)), "a mapping");
    cr_assert_str_eq(tw_yaml_describe(n, buf, sizeof(buf)), "a sequence");
    tw_yaml_destroy(n);
}

Test(yaml, describe_cuts_long_scalars)
{
    char in[200];
    char buf[80];
    struct tw_yaml_node *n;

    memset(in, 'a', 150);
    in[150] = '\0';
    n = parse_ok(in);
    tw_yaml_describe(n, buf, sizeof(buf));
    cr_assert_eq(strlen(buf), 1 + 60 + 3 + 1);
    tw_yaml_destroy(n);
}

static char dir[] = "/tmp/tw_yaml_XXXXXX";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(yaml, parse_file)
{
    char path[256];
    struct tw_yaml_node *n = NULL;
    struct tw_err err;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/c.yaml", dir);
    write_file(path, "a: 1\nb: [\n");
    cr_assert_eq(tw_yaml_parse_file(path, 4096, &n, &err), TW_EINVAL);
    cr_assert(strncmp(err.msg, path, strlen(path)) == 0, "%s", err.msg);
    cr_assert(strstr(err.msg, ".yaml:3:1: ") != NULL, "%s", err.msg);
    write_file(path, "a: 1\n");
    cr_assert_eq(tw_yaml_parse_file(path, 4096, &n, &err), TW_OK);
    cr_assert_str_eq(tw_yaml_get(n, "a")->scalar, "1");
    tw_yaml_destroy(n);
    cr_assert_eq(tw_yaml_parse_file(path, 3, &n, &err), TW_EINVAL);
    cr_assert(strstr(err.msg, "larger than 3 bytes") != NULL, "%s", err.msg);
    write_file(path, "");
    n = (struct tw_yaml_node *)1;
    cr_assert_eq(tw_yaml_parse_file(path, 4096, &n, &err), TW_OK);
    cr_assert_null(n);
    unlink(path);
    cr_assert_eq(tw_yaml_parse_file(path, 4096, &n, &err), TW_ENOTFOUND);
    cr_assert(strstr(err.msg, "cannot open: No such file or directory") != NULL, "%s", err.msg);
    cr_assert_eq(tw_yaml_parse_file(dir, 4096, &n, &err), TW_EIO);
    cr_assert(strstr(err.msg, "Is a directory") != NULL, "%s", err.msg);
    rmdir(dir);
}

/* Fail the 1st, 2nd, ... allocation until parsing succeeds; each failure must be clean. */
Test(yaml, survives_allocation_failure_at_every_step)
{
    const char *text = "a: 1\nb: [x, y, {c: d}]\ne: {f: [1, 2, 3, 4, 5]}\n";
    struct tw_yaml_node *n = NULL;
    struct tw_err err;
    int ret = TW_ENOMEM;
    unsigned long i;

    for (i = 1; ret != TW_OK && i < 1000; i++) {
        tw_mem_fail_after(i);
        ret = tw_yaml_parse(text, strlen(text), "t", &n, &err);
        tw_mem_fail_after(0);
        if (ret != TW_OK) {
            cr_assert_eq(ret, TW_ENOMEM);
            cr_assert_str_eq(err.msg, "t: out of memory");
        }
    }
    cr_assert_eq(ret, TW_OK);
    cr_assert_gt(i, 10);
    cr_assert_eq(tw_yaml_get(tw_yaml_get(n, "e"), "f")->n, 5);
    tw_yaml_destroy(n);
}
