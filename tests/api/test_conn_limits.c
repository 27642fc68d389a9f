/*
 * Connections that never send a byte, through a real server:
 *  - they count against http.max_connections like any other, so a flood of idle connections
 *    cannot take the server past its limit (a request beyond it gets 503);
 *  - at the open-file limit (the server's RLIMIT_NOFILE lowered under it with prlimit) the
 *    server does not spin on accept: it logs the failure at most once a second, sheds
 *    connections it cannot take, and serves again once the idle ones are gone.
 * CPU and log volume at 20,000 idle connections are measured by bench/api/idle_flood.sh.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct tw_srv srv;

static void teardown(void)
{
    tw_srv_fini(&srv, true);
}

TestSuite(conn_limits, .fini = teardown, .timeout = 120);

/* A connected socket to the server that sends nothing; -1 when connect fails. */
static int idle_connection(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    cr_assert(fd != -1);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static long healthz(void)
{
    struct tw_resp r;
    long status;

    tw_http(&srv, "GET", "/healthz", NULL, NULL, NULL, &r);
    status = r.status;
    tw_resp_fini(&r);
    return status;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(conn_limits, idle_connections_count_against_max_connections)
{
    struct tw_resp r;
    int a, b, i;

    tw_srv_init(&srv, "http: { max_connections: 2 }\n");
    a = idle_connection();
    b = idle_connection();
    cr_assert(a != -1 && b != -1);
    tw_http(&srv, "GET", "/healthz", NULL, NULL, NULL, &r);
    tw_assert_error(&r, 503, "unavailable", NULL);
    tw_resp_fini(&r);
    close(a);
    close(b);
    for (i = 0; i < 400 && healthz() != 200; i++)
        usleep(10 * 1000);
    cr_assert_lt(i, 400, "the server never took connections again after the idle ones left");
}

/* Lines of path holding needle. */
static int count_lines(const char *path, const char *needle)
{
    char line[4096];
    FILE *f = fopen(path, "r");
    int n = 0;

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strstr(line, needle) != NULL)
            n++;
    fclose(f);
    return n;
}

Test(conn_limits, at_the_fd_limit_accept_pauses_and_logs_at_most_once_a_second)
{
    struct rlimit low = { 96, 96 }, mine;
    char log_path[320];
    int fds[400], n = 0, saved, logfd, i, lines;
    double t0, t1;

    /* The server's stderr into a file: the test process's fd 2 while it starts. */
    memset(&srv, 0, sizeof(srv));
    tw_srv_init(&srv, "http: { read_timeout: 3 }\n");
    snprintf(log_path, sizeof(log_path), "%s/server.log", srv.dir);
    tw_srv_stop(&srv, SIGTERM);
    logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    cr_assert(logfd != -1);
    saved = dup(2);
    dup2(logfd, 2);
    tw_srv_start(&srv);
    dup2(saved, 2);
    close(saved);
    close(logfd);
    cr_assert_eq(prlimit(srv.pid, RLIMIT_NOFILE, &low, NULL), 0, "prlimit: %s", strerror(errno));
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &mine), 0);
    mine.rlim_cur = mine.rlim_max;
    setrlimit(RLIMIT_NOFILE, &mine);

    t0 = now_s();
    for (n = 0; n < 400; n++) {
        fds[n] = idle_connection();
        if (fds[n] == -1)
            break;
    }
    /* Wait for the server to run out of fds (it logs it), then hold the flood a while. */
    for (i = 0; i < 1000 && count_lines(log_path, "http.accept_failed") == 0; i++)
        usleep(10 * 1000);
    cr_assert_gt(count_lines(log_path, "http.accept_failed"), 0, "never ran out of fds?");
    usleep(2500 * 1000);
    for (i = 0; i < n; i++)
        close(fds[i]);
    /* Serving again once the idle connections are gone (read_timeout cuts the queued ones). */
    for (i = 0; i < 3000 && healthz() != 200; i++)
        usleep(10 * 1000);
    cr_assert_lt(i, 3000, "the server did not serve again after the flood");
    t1 = now_s();
    lines = count_lines(log_path, "http.accept_failed");
    cr_assert_leq(lines, (int)(t1 - t0) + 2, "%d accept-failure lines in %.1f s", lines, t1 - t0);
}

Test(conn_limits, check_config_says_when_max_connections_does_not_fit_the_fd_limit)
{
    static const char *const args[] = { "check-config", NULL };
    struct rlimit low = { 1000, 1000 };
    char log_path[320], line[1024] = "";
    int saved, fd, rc;
    FILE *f;

    tw_srv_init(&srv, NULL); /* http.max_connections: 10000 by default */
    snprintf(log_path, sizeof(log_path), "%s/check.err", srv.dir);
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0); /* this test process only */
    fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    saved = dup(2);
    dup2(fd, 2);
    rc = tw_srv_cli(&srv, NULL, NULL, args);
    dup2(saved, 2);
    close(saved);
    close(fd);
    cr_assert_eq(rc, 0, "a warning, not an error: the server still runs, with fewer connections");
    f = fopen(log_path, "r");
    cr_assert_not_null(f);
    cr_assert_not_null(fgets(line, sizeof(line), f));
    fclose(f);
    cr_assert(strstr(line, "http.max_connections (10000) does not fit under the open-file limit "
                           "(1000)") != NULL,
              "%s", line);
}
