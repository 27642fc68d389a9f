/*
 * Hostile and broken input (issue: "Bad input"): each gets a clear 4xx (or, for a slow client,
 * a closed connection), the server keeps serving, and nothing stored changes.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct tw_srv srv;
static char *tok;

static void setup(void)
{
    static const char *const chains[] = { "1", NULL };

    tw_srv_init(&srv, "http: { read_timeout: 2, max_body: 1048576 }\n");
    tok = tw_srv_token(&srv, "write", chains);
}

static void teardown(void)
{
    free(tok);
    tw_srv_fini(&srv, true);
}

TestSuite(bad_input, .init = setup, .fini = teardown, .timeout = 120);

/* Nothing was stored: the list is still empty. */
static void assert_nothing_stored(void)
{
    struct tw_resp r;
    char total[16];

    tw_http(&srv, "GET", "/tasks", tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert(tw_resp_header(&r, "X-Total-Count", total, sizeof(total)));
    cr_assert_str_eq(total, "0", "something was stored: %s", r.body);
    tw_resp_fini(&r);
}

static void post_expect(const char *body, long status, const char *name, const char *field)
{
    struct tw_resp r;

    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    tw_assert_error(&r, status, name, field);
    tw_resp_fini(&r);
}

Test(bad_input, malformed_bodies)
{
    post_expect("{\"chain\": 1,", 400, "invalid_json", NULL);
    post_expect("[1, 2]", 400, "invalid_json", NULL);
    post_expect("\"just a string\"", 400, "invalid_json", NULL);
    post_expect("", 400, "invalid_json", NULL);
    post_expect("{\"chain\": 1, \"desc\": \"\xff\xfe\"}", 400, "invalid_json", NULL);
    post_expect("{\"chain\": 1, \"chain\": 2}", 400, "invalid_json", NULL);
    post_expect("{\"chain\": 123456789012345678901234567890}", 400, "invalid_json", NULL);
    assert_nothing_stored();
}

Test(bad_input, deep_nesting)
{
    size_t depth = 10000, i;
    char *b = malloc(depth * 2 + 64);
    char *p = b;

    p += sprintf(p, "{\"debug\": ");
    for (i = 0; i < depth; i++)
        *p++ = '[';
    for (i = 0; i < depth; i++)
        *p++ = ']';
    strcpy(p, "}");
    post_expect(b, 400, "invalid_json", NULL);
    free(b);
    assert_nothing_stored();
}

Test(bad_input, validation_errors_name_the_field)
{
    char *b;

    post_expect("{\"desc\": \"x\"}", 400, "validation_failed", "chain");
    b = tw_task_body(1, "\"segmnet\": {}");
    post_expect(b, 400, "validation_failed", "segmnet");
    free(b);
    post_expect(
        "{\"chain\": -3, \"desc\": \"x\", \"target\": {\"action\": \"export\", \"export_index\": \"users\"},"
        " \"trigger\": {\"once\": \"2030-01-01T00:00:00Z\"}}",
        400, "validation_failed", "chain");
    post_expect(
        "{\"chain\": 1, \"desc\": \"x\", \"target\": {\"action\": \"export\", \"export_index\": \"users\"},"
        " \"trigger\": {\"once\": \"2030-01-01T00:00:00Z\", \"repeat\": \"hourly\"}}",
        400, "validation_failed", "trigger.repeat");
    post_expect(
        "{\"chain\": 1, \"desc\": \"x\", \"target\": {\"action\": \"export\", \"export_index\": \"nope\"},"
        " \"trigger\": {\"once\": \"2030-01-01T00:00:00Z\"}}",
        400, "validation_failed", "target.export_index");
    post_expect(
        "{\"chain\": 1, \"desc\": \"x\", \"target\": {\"action\": \"export\", \"export_index\": \"users\"},"
        " \"trigger\": {\"once\": \"yesterday\"}}",
        400, "validation_failed", "trigger.once");
    assert_nothing_stored();
}

Test(bad_input, bad_ids_and_query_values)
{
    static const char *const paths[] = { "/tasks/-1", "/tasks/abc", "/tasks/1.5",
                                         "/tasks/99999999999999999999999" };
    static const char *const queries[] = { "/tasks?limit=-1",   "/tasks?limit=abc",
                                           "/tasks?limit=1001", "/tasks?offset=-5",
                                           "/tasks?chain=x",    "/tasks?bogus=1" };
    struct tw_resp r;
    size_t i;

    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        tw_http(&srv, "GET", paths[i], tok, NULL, NULL, &r);
        tw_assert_error(&r, 400, "validation_failed", "id");
        tw_resp_fini(&r);
    }
    for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        tw_http(&srv, "GET", queries[i], tok, NULL, NULL, &r);
        cr_assert_eq(r.status, 400, "%s: %ld", queries[i], r.status);
        tw_resp_fini(&r);
    }
    tw_http(&srv, "GET", "/tasks/424242", tok, NULL, NULL, &r);
    tw_assert_error(&r, 404, "task_not_found", NULL);
    tw_resp_fini(&r);
}

Test(bad_input, body_of_two_megabytes_is_413)
{
    size_t n = 2 * 1024 * 1024;
    char *b = malloc(n + 64);

    memset(b, ' ', n);
    memcpy(b, "{\"desc\": \"", 10);
    memset(b + 10, 'x', n - 20);
    strcpy(b + n - 10, "\"}");
    post_expect(b, 413, "payload_too_large", NULL);
    free(b);
    assert_nothing_stored();
}

Test(bad_input, header_of_100k_is_refused)
{
    size_t n = 100 * 1024;
    char *h = malloc(n + 32);
    const char *hdrs[] = { h, NULL };
    struct tw_resp r;

    strcpy(h, "X-Big: ");
    memset(h + 7, 'a', n);
    h[n + 7] = '\0';
    tw_http(&srv, "GET", "/tasks", tok, hdrs, NULL, &r);
    cr_assert(r.status >= 400 && r.status < 500, "got %ld", r.status);
    tw_resp_fini(&r);
    free(h);
    assert_nothing_stored(); /* and the server still answers */
}

Test(bad_input, slow_client_is_cut_off)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port) };
    const char *req = "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{";
    time_t start = time(NULL);
    struct pollfd p;
    char buf[512];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int closed = 0, i;

    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    cr_assert(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    cr_assert(write(fd, req, strlen(req)) > 0);
    /* One byte a second; read_timeout is 2 s, so the server must hang up well before 10 s. */
    for (i = 0; i < 10 && !closed; i++) {
        p.fd = fd;
        p.events = POLLIN;
        if (poll(&p, 1, 1000) > 0 && read(fd, buf, sizeof(buf)) <= 0)
            closed = 1;
        else if (!closed && send(fd, " ", 1, MSG_NOSIGNAL) < 0)
            closed = 1;
        assert_nothing_stored(); /* others are served meanwhile */
    }
    close(fd);
    cr_assert(closed, "slow client was not disconnected");
    cr_assert_lt(time(NULL) - start, 10);
}
