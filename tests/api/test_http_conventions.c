/*
 * HTTP conventions real clients rely on, through a real server: HEAD on every GET route (the
 * GET's status and headers, no body), OPTIONS and CORS preflight (cors.allow_origins), gzip for
 * JSON bodies over 1 KiB when the client accepts it, and limits.requests_per_second (429
 * rate_limited with Retry-After).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "oapi_record.h"

static struct tw_srv srv;
static char *tok;

static void start(const char *extra)
{
    static const char *const chains[] = { "1", NULL };

    tw_srv_init(&srv, extra);
    tok = tw_srv_token(&srv, "write", chains);
}

static void teardown(void)
{
    free(tok);
    tok = NULL;
    tw_srv_fini(&srv, true);
}

TestSuite(http_conventions, .fini = teardown, .timeout = 120);

/* Send text on a new connection and read until the server closes; returns bytes read. */
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

static long long create(void)
{
    char *body = tw_task_body(1, NULL);
    struct tw_resp r;
    long long id;

    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    free(body);
    cr_assert_eq(r.status, 201, "%s", r.body);
    id = (long long)json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    return id;
}

Test(http_conventions, head_answers_like_get_without_a_body)
{
    char paths[6][64], a[32], b[32], raw_req[512], buf[8192];
    struct tw_resp g, h;
    long long id;
    size_t i, n;

    start(NULL);
    id = create();
    snprintf(paths[0], sizeof(paths[0]), "/healthz");
    snprintf(paths[1], sizeof(paths[1]), "/metrics");
    snprintf(paths[2], sizeof(paths[2]), "/tasks");
    snprintf(paths[3], sizeof(paths[3]), "/tasks/%lld", id);
    snprintf(paths[4], sizeof(paths[4]), "/tasks/%lld/download_url", id);
    snprintf(paths[5], sizeof(paths[5]), "/segments");
    for (i = 0; i < 6; i++) {
        tw_http(&srv, "GET", paths[i], tok, NULL, NULL, &g);
        tw_http(&srv, "HEAD", paths[i], tok, NULL, NULL, &h);
        cr_assert_eq(h.status, g.status, "%s: HEAD %ld, GET %ld", paths[i], h.status, g.status);
        cr_assert_eq(h.len, 0);
        if (strcmp(paths[i], "/metrics") != 0) { /* metrics change between the two */
            cr_assert(tw_resp_header(&g, "Content-Length", a, sizeof(a)));
            cr_assert(tw_resp_header(&h, "Content-Length", b, sizeof(b)), "%s", paths[i]);
            cr_assert_str_eq(a, b, "%s", paths[i]);
        }
        tw_resp_fini(&g);
        tw_resp_fini(&h);
    }
    /* On the wire: the headers end the response, whatever Content-Length says. */
    snprintf(raw_req, sizeof(raw_req),
             "HEAD /tasks HTTP/1.1\r\nHost: x\r\nAuthorization: "
             "Bearer %s\r\nConnection: close\r\n\r\n",
             tok);
    n = raw(raw_req, buf, sizeof(buf));
    cr_assert(n > 4 && strncmp(buf, "HTTP/1.1 200", 12) == 0, "%s", buf);
    cr_assert_str_eq(buf + n - 4, "\r\n\r\n", "a body followed the headers: %s", buf);
    /* Allow lists HEAD with GET. */
    tw_http(&srv, "PATCH", "/tasks", tok, NULL, NULL, &g);
    cr_assert_eq(g.status, 405);
    cr_assert(tw_resp_header(&g, "Allow", a, sizeof(a)));
    cr_assert(strstr(a, "HEAD") != NULL, "%s", a);
    tw_resp_fini(&g);
}

Test(http_conventions, cors_preflight_and_exposed_headers_for_allowed_origins_only)
{
    static const char *const pre[] = { "Origin: https://console.example.com",
                                       "Access-Control-Request-Method: POST",
                                       "Access-Control-Request-Headers: authorization", NULL };
    static const char *const other[] = { "Origin: https://evil.example.net", NULL };
    static const char *const ok[] = { "Origin: https://console.example.com", NULL };
    static const char *const want_headers[] = { "Authorization",
                                                "Idempotency-Key",
                                                "If-Match",
                                                "Prefer",
                                                "X-Spaaza-Session-User-Id",
                                                "X-Spaaza-Session-Key",
                                                "X-Spaaza-Session-Chain-Id",
                                                NULL };
    char v[512];
    struct tw_resp r;
    size_t i;

    start("cors: { allow_origins: \"https://console.example.com, http://localhost:3000\" }\n");
    tw_http(&srv, "OPTIONS", "/tasks", NULL, pre, NULL, &r);
    cr_assert_eq(r.status, 204, "%s", r.body);
    cr_assert(tw_resp_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    cr_assert_str_eq(v, "https://console.example.com");
    cr_assert(tw_resp_header(&r, "Access-Control-Allow-Methods", v, sizeof(v)));
    cr_assert(strstr(v, "POST") != NULL && strstr(v, "GET") != NULL, "%s", v);
    cr_assert(tw_resp_header(&r, "Access-Control-Allow-Headers", v, sizeof(v)));
    for (i = 0; want_headers[i] != NULL; i++)
        cr_assert(strstr(v, want_headers[i]) != NULL, "%s missing from %s", want_headers[i], v);
    tw_resp_fini(&r);

    tw_http(&srv, "GET", "/tasks", tok, ok, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert(tw_resp_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    cr_assert(tw_resp_header(&r, "Access-Control-Expose-Headers", v, sizeof(v)));
    cr_assert(strstr(v, "Location") && strstr(v, "X-Total-Count") && strstr(v, "X-Request-Id"),
              "%s", v);
    tw_resp_fini(&r);

    tw_http(&srv, "GET", "/tasks", tok, other, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_not(tw_resp_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    tw_resp_fini(&r);
}

Test(http_conventions, no_cors_headers_by_default)
{
    static const char *const ok[] = { "Origin: https://console.example.com", NULL };
    char v[256];
    struct tw_resp r;

    start(NULL);
    tw_http(&srv, "GET", "/tasks", tok, ok, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_not(tw_resp_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    tw_resp_fini(&r);
}

Test(http_conventions, json_over_1k_is_gzipped_when_accepted)
{
    static const char *const gz[] = { "Accept-Encoding: gzip, deflate", NULL };
    char v[64], *plain;
    unsigned char out[65536];
    struct tw_resp r, p;
    z_stream z;
    int i;

    start(NULL);
    for (i = 0; i < 5; i++)
        create();
    tw_http(&srv, "GET", "/tasks", tok, NULL, NULL, &p);
    cr_assert_gt(p.len, 1024);
    cr_assert_not(tw_resp_header(&p, "Content-Encoding", v, sizeof(v)));
    tw_http(&srv, "GET", "/tasks", tok, gz, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert(tw_resp_header(&r, "Content-Encoding", v, sizeof(v)));
    cr_assert_str_eq(v, "gzip");
    cr_assert_lt(r.len, p.len);
    memset(&z, 0, sizeof(z));
    cr_assert_eq(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (unsigned char *)r.body;
    z.avail_in = (uInt)r.len;
    z.next_out = out;
    z.avail_out = sizeof(out) - 1;
    cr_assert_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
    out[z.total_out] = '\0';
    inflateEnd(&z);
    plain = (char *)out;
    cr_assert_eq(z.total_out, p.len);
    cr_assert_eq(memcmp(plain, p.body, p.len), 0, "the same JSON, compressed");
    tw_resp_fini(&r);
    tw_resp_fini(&p);
    /* Small bodies stay plain. */
    tw_http(&srv, "GET", "/healthz", NULL, gz, NULL, &r);
    cr_assert_not(tw_resp_header(&r, "Content-Encoding", v, sizeof(v)));
    tw_resp_fini(&r);
}

Test(http_conventions, requests_per_second_per_token_get_429_with_retry_after)
{
    static const char *const chains[] = { "1", NULL };
    char retry[16];
    struct tw_resp r;
    char *other;
    int i, limited = 0;

    start("limits: { requests_per_second: 1 }\n");
    for (i = 0; i < 50 && !limited; i++) {
        tw_http(&srv, "GET", "/tasks", tok, NULL, NULL, &r);
        if (r.status == 429) {
            tw_assert_error(&r, 429, "rate_limited", NULL);
            cr_assert(tw_resp_header(&r, "Retry-After", retry, sizeof(retry)));
            cr_assert_geq(atoi(retry), 1);
            limited = 1;
        } else {
            cr_assert_eq(r.status, 200, "%s", r.body);
        }
        tw_resp_fini(&r);
    }
    cr_assert(limited, "50 requests and never limited");
    /* Per token: another token has its own budget. */
    other = tw_srv_token(&srv, "read", chains);
    tw_http(&srv, "GET", "/tasks", other, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    tw_resp_fini(&r);
    free(other);
    /* Open endpoints are not limited. */
    tw_http(&srv, "GET", "/healthz", NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    tw_resp_fini(&r);
}
