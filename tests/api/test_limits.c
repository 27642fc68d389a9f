/* http.max_connections: connections beyond the limit get 503 and are closed; others are served. */
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
    tw_srv_init(&srv, "http: { max_connections: 2 }\n");
}

static void teardown(void)
{
    tw_srv_fini(&srv, true);
}

TestSuite(limits, .init = setup, .fini = teardown, .timeout = 60);

/* Open a keep-alive connection, send one request and return the status; fd stays open. */
static int keepalive_request(int *fd_out)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port) };
    const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    char buf[2048];
    ssize_t n;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int status = 0;

    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    cr_assert(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    cr_assert(write(fd, req, strlen(req)) > 0);
    n = read(fd, buf, sizeof(buf) - 1);
    cr_assert_gt(n, 0);
    buf[n] = '\0';
    cr_assert_eq(sscanf(buf, "HTTP/1.1 %d", &status), 1);
    *fd_out = fd;
    return status;
}

Test(limits, connections_beyond_the_limit_get_503)
{
    struct tw_resp r;
    int a, b;

    cr_assert_eq(keepalive_request(&a), 200);
    cr_assert_eq(keepalive_request(&b), 200);
    tw_http(&srv, "GET", "/healthz", NULL, NULL, NULL, &r);
    tw_assert_error(&r, 503, "unavailable", NULL);
    tw_resp_fini(&r);
    close(a);
    usleep(200 * 1000); /* let the server see the close */
    tw_http(&srv, "GET", "/healthz", NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    tw_resp_fini(&r);
    close(b);
}
