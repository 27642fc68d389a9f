/*
 * The console's static files (engine/api/console.c, docs/console.md) through a real server:
 * served without credentials from the binary, byte for byte the files of console/, with the
 * content type of their extension, a Content-Security-Policy without inline script or style,
 * nosniff, an ETag that gives 304; /console redirects to /console/; anything that is not one
 * of the files (traversal, encoded dots, empty segments, unknown names) is a 404.
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

static struct tw_srv srv;

static void setup(void)
{
    tw_srv_init(&srv, NULL);
}

static void teardown(void)
{
    tw_srv_fini(&srv, true);
}

TestSuite(console_static, .init = setup, .fini = teardown, .timeout = 120);

/* The file console/rel of the source tree; caller frees. */
static char *source_file(const char *rel, size_t *len)
{
    char path[512];
    FILE *f;
    char *buf;
    long n;

    snprintf(path, sizeof(path), "%s/console/%s", TW_SOURCE_DIR, rel);
    f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void assert_header(const struct tw_resp *r, const char *name, const char *want)
{
    char v[1024];

    cr_assert(tw_resp_header(r, name, v, sizeof(v)), "no %s header", name);
    cr_assert_str_eq(v, want, "%s: %s", name, v);
}

static void assert_csp(const struct tw_resp *r)
{
    char csp[1024];

    cr_assert(tw_resp_header(r, "Content-Security-Policy", csp, sizeof(csp)), "no CSP");
    cr_assert_not_null(strstr(csp, "default-src 'self'"), "%s", csp);
    cr_assert_not_null(strstr(csp, "script-src 'self';"), "%s", csp);
    cr_assert_not_null(strstr(csp, "style-src 'self';"), "%s", csp);
    cr_assert_not_null(strstr(csp, "frame-ancestors 'none'"), "%s", csp);
    cr_assert_not_null(strstr(csp, "object-src 'none'"), "%s", csp);
    cr_assert_null(strstr(csp, "unsafe-inline"), "%s", csp);
    cr_assert_null(strstr(csp, "unsafe-eval"), "%s", csp);
    assert_header(r, "X-Content-Type-Options", "nosniff");
}

/* GET path without credentials: 200, type, the source file's bytes, CSP; returns the ETag. */
static void check_file(const char *path, const char *rel, const char *type, char *etag,
                       size_t etag_len)
{
    struct tw_resp r;
    size_t len;
    char *want = source_file(rel, &len);

    tw_http(&srv, "GET", path, NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s: %ld %s", path, r.status, r.body);
    assert_header(&r, "Content-Type", type);
    assert_header(&r, "Cache-Control", "no-cache");
    assert_csp(&r);
    cr_assert_eq(r.len, len, "%s: %zu bytes, the file has %zu", path, r.len, len);
    cr_assert_eq(memcmp(r.body, want, len), 0, "%s: not the bytes of console/%s", path, rel);
    cr_assert(tw_resp_header(&r, "ETag", etag, etag_len), "%s: no ETag", path);
    cr_assert_eq(etag[0], '"', "a strong, quoted ETag: %s", etag);
    free(want);
    tw_resp_fini(&r);
}

Test(console_static, files_are_served_with_their_type_and_policy)
{
    char etag[128], etag2[128];

    check_file("/console/", "index.html", "text/html; charset=utf-8", etag, sizeof(etag));
    check_file("/console/index.html", "index.html", "text/html; charset=utf-8", etag2,
               sizeof(etag2));
    cr_assert_str_eq(etag, etag2);
    check_file("/console/app.css", "app.css", "text/css; charset=utf-8", etag2, sizeof(etag2));
    cr_assert_str_neq(etag, etag2, "another file, another ETag");
    check_file("/console/js/main.js", "js/main.js", "text/javascript; charset=utf-8", etag2,
               sizeof(etag2));
    check_file("/console/js/views/task.js", "js/views/task.js", "text/javascript; charset=utf-8",
               etag2, sizeof(etag2));
    check_file("/console/favicon.svg", "favicon.svg", "image/svg+xml", etag2, sizeof(etag2));
}

Test(console_static, index_has_no_inline_script_or_style)
{
    size_t len;
    char *html = source_file("index.html", &len);
    const char *p;

    for (p = strstr(html, "<script"); p != NULL; p = strstr(p + 1, "<script")) {
        const char *end = strchr(p, '>');

        cr_assert_not_null(end);
        cr_assert_not_null(memmem(p, (size_t)(end - p), "src=", 4), "an inline <script>");
    }
    cr_assert_null(strstr(html, "<style"), "an inline <style>");
    cr_assert_null(strstr(html, "style="), "an inline style attribute");
    cr_assert_null(strstr(html, "http://"), "an outside URL");
    cr_assert_null(strstr(html, "https://"), "an outside URL");
    free(html);
}

Test(console_static, etag_revalidation_head_and_redirect)
{
    const char *hdr[2] = { NULL, NULL };
    char etag[128], inm[200], v[256];
    struct tw_resp r;

    check_file("/console/app.css", "app.css", "text/css; charset=utf-8", etag, sizeof(etag));
    snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
    hdr[0] = inm;
    tw_http(&srv, "GET", "/console/app.css", NULL, hdr, NULL, &r);
    cr_assert_eq(r.status, 304, "%ld", r.status);
    cr_assert_eq(r.len, 0);
    assert_header(&r, "ETag", etag);
    tw_resp_fini(&r);

    hdr[0] = "If-None-Match: \"0000000000000000-1\"";
    tw_http(&srv, "GET", "/console/app.css", NULL, hdr, NULL, &r);
    cr_assert_eq(r.status, 200, "another ETag: the file again");
    tw_resp_fini(&r);

    tw_http(&srv, "HEAD", "/console/js/api.js", NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.len, 0);
    cr_assert(tw_resp_header(&r, "Content-Length", v, sizeof(v)));
    cr_assert_gt(atol(v), 100);
    tw_resp_fini(&r);

    tw_http(&srv, "GET", "/console", NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 301, "%ld", r.status);
    assert_header(&r, "Location", "/console/");
    tw_resp_fini(&r);

    tw_http(&srv, "POST", "/console/index.html", NULL, NULL, "{}", &r);
    tw_assert_error(&r, 405, "method_not_allowed", NULL);
    assert_header(&r, "Allow", "GET, HEAD, OPTIONS");
    tw_resp_fini(&r);

    tw_http(&srv, "GET", "/console/nope.js", NULL, NULL, NULL, &r);
    tw_assert_error(&r, 404, "not_found", NULL);
    assert_csp(&r);
    tw_resp_fini(&r);
}

/* The status of a request line sent as is (curl would normalise the dots away). */
static int raw_status(const char *target)
{
    struct sockaddr_in a;
    char req[512], buf[256];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ssize_t n;
    size_t got = 0;
    int status = 0;

    cr_assert_geq(fd, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)srv.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
             target);
    cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fd);
    cr_assert_eq(sscanf(buf, "HTTP/1.1 %d", &status), 1, "no status line: %s", buf);
    return status;
}

Test(console_static, traversal_and_unknown_names_are_404)
{
    static const char *const bad[] = {
        "/console/../README.md",
        "/console/js/../../README.md",
        "/console/js/../index.html",
        "/console/./index.html",
        "/console/%2e%2e/README.md",
        "/console/%2E%2E%2FREADME.md",
        "/console/index%2ehtml",
        "/console//index.html",
        "/console/js/",
        "/console/js",
        "/console/..",
        "/console/.",
        "/console/index.html/",
        "/console/index.html%00.png",
        "/console/..%5c..%5cREADME.md",
        "/console/index.html.bak",
        "/console/openapi.yaml",
        "/console/../docs/openapi.yaml",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(raw_status(bad[i]), 404, "%s must be a 404", bad[i]);
    cr_assert_eq(raw_status("/console/index.html"), 200, "the raw request itself works");
    cr_assert_eq(raw_status("/console/?x=1"), 200, "a query is not part of the name");
}
