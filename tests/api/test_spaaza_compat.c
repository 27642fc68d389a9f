/*
 * What real clients send, through a real server (issue 11 items 14 and 19): Spaaza clients'
 * nulls for optional fields, console-style segment ids, Spaaza's error code for a missing
 * session, and inputs that must be refused rather than half-understood: params nested past
 * what a script can get, two different Content-Lengths, HTTP/1.1 without Host, signed numbers
 * where the grammar has digits (Range, If-Match, expires), and a PUT moving a task to another
 * chain (whose message must say what it got).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "oapi_record.h"

static struct tw_srv srv;
static char *tok;

static void setup(void)
{
    static const char *const chains[] = { "9001", NULL };

    /* The fixture index "testrun": chain 9001 exports 3 records (tests/runplugin). */
    tw_srv_init_plugins(&srv, TW_RUNPLUGINS_DIR, NULL);
    tok = tw_srv_token(&srv, "write", chains);
}

static void teardown(void)
{
    free(tok);
    tw_srv_fini(&srv, true);
}

TestSuite(spaaza_compat, .init = setup, .fini = teardown, .timeout = 120);

static void post_task(const char *trigger, const char *extra, struct tw_resp *r)
{
    char body[8192];

    snprintf(body, sizeof(body),
             "{\"chain\": 9001, \"desc\": \"compat\", \"target\": {\"action\": \"export\", "
             "\"export_index\": \"testrun\", \"export_format\": \"csv\"}, \"trigger\": %s%s}",
             trigger, extra ? extra : "");
    tw_http(&srv, "POST", "/tasks", tok, NULL, body, r);
}

static size_t raw(const char *text, char *buf, size_t len)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    size_t got = 0;
    ssize_t n;

    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    cr_assert(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    cr_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fd);
    tw_oapi_raw(&srv, text, buf, got); /* checked against docs/openapi.yaml like tw_http's */
    return got;
}

Test(spaaza_compat, null_optional_fields_mean_absent)
{
    struct tw_resp r;
    json_t *trig;

    post_task("{\"once\": \"2099-01-01T00:00:00Z\", \"repeat\": null, \"segment\": null, "
              "\"segment_id\": null}",
              ", \"debug\": null", &r);
    cr_assert_eq(r.status, 201, "%s", r.body);
    trig = json_object_get(r.json, "trigger");
    cr_assert_str_eq(json_string_value(json_object_get(trig, "repeat")), "");
    cr_assert_null(json_object_get(trig, "segment"));
    cr_assert_null(json_object_get(trig, "segment_id"));
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "debug")), "");
    tw_resp_fini(&r);
    /* A required field stays required. */
    tw_http(&srv, "POST", "/tasks", tok, NULL, "{\"chain\": 9001, \"desc\": null}", &r);
    tw_assert_error(&r, 400, "validation_failed", NULL);
    tw_resp_fini(&r);
}

Test(spaaza_compat, segment_id_takes_console_string_ids)
{
    struct tw_resp r;

    post_task("{\"once\": \"2099-01-01T00:00:00Z\", \"segment_id\": \"seg_A-17\"}", NULL, &r);
    tw_assert_error(&r, 404, "segment_not_found", "trigger.segment_id");
    cr_assert(strstr(r.body, "seg_A-17") != NULL, "%s", r.body);
    tw_resp_fini(&r);
    post_task("{\"once\": \"2099-01-01T00:00:00Z\", \"segment_id\": \"no spaces!\"}", NULL, &r);
    tw_assert_error(&r, 400, "validation_failed", "trigger.segment_id");
    tw_resp_fini(&r);
    post_task("{\"once\": \"2099-01-01T00:00:00Z\", \"segment_id\": "
              "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
              NULL, &r);
    tw_assert_error(&r, 400, "validation_failed", "trigger.segment_id"); /* 65 characters */
    tw_resp_fini(&r);
    post_task("{\"once\": \"2099-01-01T00:00:00Z\", \"segment_id\": \"424242\"}", NULL, &r);
    tw_assert_error(&r, 404, "segment_not_found", "trigger.segment_id");
    tw_resp_fini(&r);
}

Test(spaaza_compat, no_valid_session_is_spaaza_error_code_6)
{
    struct tw_resp r;

    tw_http(&srv, "GET", "/tasks", NULL, NULL, NULL, &r);
    tw_assert_error(&r, 401, "no_valid_session", NULL);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(r.json, "error"), "code")), 6);
    tw_resp_fini(&r);
}

/* A script rule whose params nest depth levels below params itself. */
static void post_params(int depth, struct tw_resp *r)
{
    char trig[4096], params[2048] = "1";
    int i;

    for (i = 0; i < depth; i++) {
        char tmp[2048];

        snprintf(tmp, sizeof(tmp), "{\"a\": %s}", params);
        snprintf(params, sizeof(params), "%s", tmp);
    }
    snprintf(trig, sizeof(trig),
             "{\"once\": \"2099-01-01T00:00:00Z\", \"segment\": {\"rules\": "
             "[{\"operator\": \"script\", \"script\": \"high_value\", \"params\": %s}]}}",
             params);
    post_task(trig, NULL, r);
}

Test(spaaza_compat, params_nested_deeper_than_32_are_refused_at_create)
{
    struct tw_resp r;

    post_params(32, &r); /* params + 31 objects + a number at level 32 */
    cr_assert_eq(r.status, 201, "%s", r.body);
    tw_resp_fini(&r);
    post_params(33, &r);
    tw_assert_error(&r, 400, "validation_failed", "trigger.segment.rules[0].params");
    tw_resp_fini(&r);
}

Test(spaaza_compat, put_to_another_chain_says_what_it_got)
{
    char path[64];
    struct tw_resp r;
    long long id;

    post_task("{\"once\": \"2099-01-01T00:00:00Z\"}", NULL, &r);
    cr_assert_eq(r.status, 201);
    id = (long long)json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    snprintf(path, sizeof(path), "/tasks/%lld", id);
    tw_http(&srv, "PUT", path, tok, NULL, "{\"chain\": 1765}", &r);
    tw_assert_error(&r, 400, "validation_failed", "chain");
    cr_assert(strstr(r.body, "got 1765") != NULL, "%s", r.body);
    tw_resp_fini(&r);
}

Test(spaaza_compat, if_match_must_be_a_whole_version)
{
    static const char *const bad[][2] = { { "If-Match: \"1", NULL },
                                          { "If-Match: +1", NULL },
                                          { "If-Match: 1\"", NULL },
                                          { "If-Match: \" 1\"", NULL } };
    static const char *const good[] = { "If-Match: \"1\"", NULL };
    char path[64];
    struct tw_resp r;
    long long id;
    size_t i;

    post_task("{\"once\": \"2099-01-01T00:00:00Z\"}", NULL, &r);
    id = (long long)json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    snprintf(path, sizeof(path), "/tasks/%lld", id);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tw_http(&srv, "PUT", path, tok, bad[i], "{\"desc\": \"x\"}", &r);
        tw_assert_error(&r, 400, "validation_failed", "If-Match");
        tw_resp_fini(&r);
    }
    tw_http(&srv, "PUT", path, tok, good, "{\"desc\": \"x\"}", &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    tw_resp_fini(&r);
}

Test(spaaza_compat, ambiguous_framing_and_missing_host_are_400)
{
    char buf[8192];

    raw("POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 30\r\n"
        "Connection: close\r\n\r\n{}",
        buf, sizeof(buf));
    cr_assert(strncmp(buf, "HTTP/1.1 400", 12) == 0, "%s", buf);
    cr_assert(strstr(buf, "Content-Length") != NULL, "%s", buf);
    raw("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", buf, sizeof(buf));
    cr_assert(strncmp(buf, "HTTP/1.1 400", 12) == 0, "%s", buf);
    cr_assert(strstr(buf, "Host") != NULL, "%s", buf);
    raw("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n", buf,
        sizeof(buf));
    cr_assert(strncmp(buf, "HTTP/1.1 400", 12) == 0, "%s", buf);
    /* HTTP/1.0 has no Host requirement; the same Content-Length twice is one length. */
    raw("GET /healthz HTTP/1.0\r\n\r\n", buf, sizeof(buf));
    cr_assert(strncmp(buf, "HTTP/1.0 200", 12) == 0 || strncmp(buf, "HTTP/1.1 200", 12) == 0, "%s",
              buf);
    raw("POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n"
        "Connection: close\r\n\r\n{}",
        buf, sizeof(buf));
    cr_assert(strncmp(buf, "HTTP/1.1 400", 12) == 0 && strstr(buf, "username") != NULL,
              "validated as a login body: %s", buf);
}

Test(spaaza_compat, signed_numbers_in_range_and_expires_are_refused)
{
    static const char *const plus_range[] = { "Range: bytes=+5-+6", NULL };
    static const char *const good_range[] = { "Range: bytes=5-6", NULL };
    char path[128], url[1024], *q, *e;
    struct tw_resp r;
    long long id;

    post_task("{\"once\": \"2099-01-01T00:00:00Z\"}", NULL, &r);
    id = (long long)json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    snprintf(path, sizeof(path), "/tasks/%lld/execute", id);
    tw_http(&srv, "POST", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    tw_resp_fini(&r);
    snprintf(path, sizeof(path), "/tasks/%lld/download_url", id);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    q = strstr(json_string_value(json_object_get(r.json, "url")), "/downloads/");
    cr_assert_not_null(q);
    snprintf(url, sizeof(url), "%s", q);
    tw_resp_fini(&r);

    tw_http(&srv, "GET", url, NULL, good_range, NULL, &r);
    cr_assert_eq(r.status, 206, "%s", r.body);
    tw_resp_fini(&r);
    tw_http(&srv, "GET", url, NULL, plus_range, NULL, &r);
    tw_assert_error(&r, 400, "validation_failed", "Range");
    tw_resp_fini(&r);
    /* expires=N -> expires=+N: the same number to strtoll, not the signed text. */
    e = strstr(url, "expires=");
    cr_assert_not_null(e);
    memmove(e + 9, e + 8, strlen(e + 8) + 1);
    e[8] = '+';
    tw_http(&srv, "GET", url, NULL, NULL, NULL, &r);
    tw_assert_error(&r, 403, "invalid_signature", NULL);
    tw_resp_fini(&r);
}

/* Send headers only; return the first response line the server sends without a body. */
static void expect_first_line(const char *headers, char *line, size_t len)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ssize_t n;
    char *eol;

    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    cr_assert(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    cr_assert(write(fd, headers, strlen(headers)) == (ssize_t)strlen(headers));
    n = read(fd, line, len - 1); /* no body is ever sent: the server answers first */
    cr_assert_gt(n, 0);
    line[n] = '\0';
    eol = strstr(line, "\r\n");
    if (eol != NULL)
        *eol = '\0';
    close(fd);
}

Test(spaaza_compat, expect_100_continue_with_a_bad_token_gets_401_before_the_upload)
{
    char req[1024], line[4096];

    expect_first_line("POST /tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                      "00000000-0000-0000-0000-000000000000:wrong\r\nContent-Type: "
                      "application/json\r\nContent-Length: 1153434\r\nExpect: 100-continue\r\n\r\n",
                      line, sizeof(line));
    cr_assert_str_eq(line, "HTTP/1.1 401 Unauthorized");
    snprintf(req, sizeof(req),
             "POST /tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Length: 1153434\r\nExpect: 100-continue\r\n\r\n",
             tok);
    expect_first_line(req, line, sizeof(line));
    cr_assert_str_eq(line, "HTTP/1.1 413 Payload Too Large");
    snprintf(req, sizeof(req),
             "POST /tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Length: 100\r\nExpect: 100-continue\r\n\r\n",
             tok);
    expect_first_line(req, line, sizeof(line));
    cr_assert_str_eq(line, "HTTP/1.1 100 Continue");
}
