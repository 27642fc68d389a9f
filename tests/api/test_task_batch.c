/*
 * POST /tasks creates sent together (on separate connections, so the server reads them in the
 * same event-loop turns and commits them as a group, engine/api/task_batch.c): each gets its
 * own answer, a create over the chain's quota fails alone, and every 201 survives a kill -9.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define QUOTA 5
#define SENT 8

static struct tw_srv srv;
static char *tok;

static void setup(void)
{
    static const char *const chains[] = { "1", NULL };

    tw_srv_init(&srv, "limits: { max_tasks_per_chain: 5 }\n");
    tok = tw_srv_token(&srv, "write", chains);
}

static void teardown(void)
{
    free(tok);
    tw_srv_fini(&srv, false);
}

TestSuite(task_batch, .init = setup, .fini = teardown, .timeout = 60);

static int connect_srv(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    cr_assert_geq(fd, 0);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    cr_assert(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    return fd;
}

/* One whole response from fd: its status, and its body parsed (caller decrefs). */
static long read_response(int fd, json_t **body)
{
    char buf[8192];
    size_t len = 0;
    char *end = NULL;
    long status = 0;
    size_t clen = 0;
    const char *cl;

    while (end == NULL || len < (size_t)(end + 4 - buf) + clen) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

        cr_assert_gt(n, 0, "connection closed before the whole response");
        len += (size_t)n;
        buf[len] = '\0';
        if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            cl = strcasestr(buf, "Content-Length:");
            cr_assert(cl != NULL && cl < end, "%s", buf);
            clen = strtoul(cl + 15, NULL, 10);
        }
    }
    cr_assert_eq(sscanf(buf, "HTTP/1.1 %ld", &status), 1);
    *body = json_loads(end + 4, 0, NULL);
    cr_assert(*body != NULL, "%s", end + 4);
    return status;
}

Test(task_batch, creates_together_answer_each_and_survive_kill)
{
    int fds[SENT];
    json_int_t ids[SENT];
    char debug[SENT][32];
    size_t created = 0, refused = 0;
    int i;

    for (i = 0; i < SENT; i++)
        fds[i] = connect_srv();
    /* every request written before any answer is read */
    for (i = 0; i < SENT; i++) {
        char extra[64];
        char *body;
        char req[4096];
        int n;

        snprintf(debug[i], sizeof(debug[i]), "together %d", i);
        snprintf(extra, sizeof(extra), "\"debug\": \"%s\"", debug[i]);
        body = tw_task_body(1, extra);
        n = snprintf(req, sizeof(req),
                     "POST /tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     tok, strlen(body), body);
        free(body);
        cr_assert(n > 0 && (size_t)n < sizeof(req));
        cr_assert_eq(write(fds[i], req, (size_t)n), n);
    }
    for (i = 0; i < SENT; i++) {
        json_t *j;
        long status = read_response(fds[i], &j);

        ids[i] = 0;
        if (status == 201) {
            /* the answer is this request's task, not another's of the group */
            cr_assert_str_eq(json_string_value(json_object_get(j, "debug")), debug[i]);
            ids[i] = json_integer_value(json_object_get(j, "id"));
            cr_assert_gt(ids[i], 0);
            for (int k = 0; k < i; k++)
                cr_assert_neq(ids[k], ids[i], "two creates answered with one id");
            created++;
        } else {
            cr_assert_eq(status, 409, "%s", json_dumps(j, 0));
            cr_assert_str_eq(
                json_string_value(json_object_get(json_object_get(j, "error"), "name")),
                "quota_exceeded");
            refused++;
        }
        json_decref(j);
        close(fds[i]);
    }
    cr_assert_eq(created, QUOTA);
    cr_assert_eq(refused, SENT - QUOTA);

    /* a 201 means stored: every one of them is there after a kill -9 */
    tw_srv_stop(&srv, SIGKILL);
    tw_srv_start(&srv);
    for (i = 0; i < SENT; i++) {
        struct tw_resp r;
        char path[64];

        if (ids[i] == 0)
            continue;
        snprintf(path, sizeof(path), "/tasks/%" JSON_INTEGER_FORMAT, ids[i]);
        tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
        cr_assert_eq(r.status, 200, "%s", r.body);
        cr_assert_str_eq(json_string_value(json_object_get(r.json, "debug")), debug[i]);
        tw_resp_fini(&r);
    }
}
