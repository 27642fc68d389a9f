/*
 * Shared by tests/api/test_client*.c: run `taskwheel task ...` (the built binary) against a
 * test server with --url and --token, and read what it printed.
 */
#ifndef TW_TESTS_CLIENT_TEST_H
#define TW_TESTS_CLIENT_TEST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "cmd.h"
#include "harness.h"

#define TWC_MAX_ARGS 40

/*
 * `taskwheel task ARGS... --url url --token token` (token NULL: none given); the args are a
 * NULL-terminated list of strings.
 */
static inline void twc_run_v(struct tw_cmd *c, const char *url, const char *token,
                             const char *stdin_text, const char *const *env, va_list ap)
{
    const char *args[TWC_MAX_ARGS];
    const char *a;
    size_t n = 0;

    args[n++] = "task";
    while ((a = va_arg(ap, const char *)) != NULL && n < TWC_MAX_ARGS - 6)
        args[n++] = a;
    if (url != NULL) {
        args[n++] = "--url";
        args[n++] = url;
    }
    if (token != NULL) {
        args[n++] = "--token";
        args[n++] = token;
    }
    args[n] = NULL;
    tw_cmd_run(args, env, stdin_text, c);
}

static inline void twc_run(struct tw_cmd *c, const char *url, const char *token, ...)
{
    va_list ap;

    va_start(ap, token);
    twc_run_v(c, url, token, NULL, NULL, ap);
    va_end(ap);
}

/* The same with standard input and extra environment. */
static inline void twc_run_in(struct tw_cmd *c, const char *url, const char *token,
                              const char *stdin_text, const char *const *env, ...)
{
    va_list ap;

    va_start(ap, env);
    twc_run_v(c, url, token, stdin_text, env, ap);
    va_end(ap);
}

/* Parse c->out as one JSON value; asserts it is one. Caller decrefs. */
static inline json_t *twc_json(const struct tw_cmd *c)
{
    json_error_t e;
    json_t *j = json_loads(c->out, JSON_DECODE_ANY, &e);

    cr_assert_not_null(j, "not JSON (%s): %s", e.text, c->out);
    return j;
}

/* Create a task for chain on the testrun index through the CLI (--json), far in the future so
 * it runs only when executed; returns its id. */
static inline long long twc_create(const char *url, const char *token, const char *chain)
{
    struct tw_cmd c;
    json_t *j;
    long long id;

    twc_run(&c, url, token, "create", "--chain", chain, "--index", "testrun", "--once",
            "2099-01-01T00:00:00Z", "--json", NULL);
    cr_assert_eq(c.code, 0, "create: %s%s", c.out, c.err);
    j = twc_json(&c);
    id = (long long)json_integer_value(json_object_get(j, "id"));
    cr_assert_gt(id, 0);
    json_decref(j);
    tw_cmd_fini(&c);
    return id;
}

/* The number of lines of s. */
static inline size_t twc_lines(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

#endif
