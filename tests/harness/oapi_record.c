/* Responses checked against the OpenAPI document (see oapi_record.h). */

#include "oapi_record.h"

#include "harness.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#define OAPI_DIR TW_SOURCE_DIR "/tests/openapi"
#define OAPI_DOC TW_SOURCE_DIR "/docs/openapi.yaml"

/* Base64 of len bytes (malloc'd): bodies may be gzip or a binary result file. */
static char *base64(const unsigned char *in, size_t len)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(4 * ((len + 2) / 3) + 1), *o = out;
    size_t i;

    cr_assert_not_null(out);
    for (i = 0; i + 2 < len; i += 3) {
        *o++ = abc[in[i] >> 2];
        *o++ = abc[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
        *o++ = abc[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
        *o++ = abc[in[i + 2] & 63];
    }
    if (i < len) {
        *o++ = abc[in[i] >> 2];
        *o++ = abc[((in[i] & 3) << 4) | (i + 1 < len ? in[i + 1] >> 4 : 0)];
        *o++ = i + 1 < len ? abc[(in[i + 1] & 15) << 2] : '=';
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

/* The header lines of the last response in libcurl's header block (after any 100 Continue or
 * redirect), as [[name, value], ...]. */
static json_t *header_pairs(const char *block)
{
    json_t *arr = json_array();
    const char *p = block, *last = block;

    /* the final response starts at the last status line */
    while ((p = strstr(p, "HTTP/")) != NULL) {
        if (p == block || (p >= block + 2 && p[-1] == '\n'))
            last = p;
        p++;
    }
    p = strstr(last, "\r\n");
    while (p != NULL && p[2] != '\0' && p[2] != '\r') {
        const char *line = p + 2, *eol = strstr(line, "\r\n"), *colon;
        size_t ll = eol ? (size_t)(eol - line) : strlen(line);

        colon = memchr(line, ':', ll);
        if (colon != NULL) {
            const char *v = colon + 1;

            while (*v == ' ' || *v == '\t')
                v++;
            json_array_append_new(arr, json_pack("[s%, s%]", line, (size_t)(colon - line), v,
                                                 (size_t)(line + ll - v)));
        }
        p = eol;
    }
    return arr;
}

/* The validator co-process of this test process (started on first use; it ends at our exit,
 * when its stdin closes). */
static pid_t validator_pid;
static pid_t validator_owner; /* getpid() that started it: a forked child starts its own */
static FILE *validator_in, *validator_out;
/* Some tests call tw_http from several threads: one record and its verdict at a time. */
static pthread_mutex_t validator_lock = PTHREAD_MUTEX_INITIALIZER;

static void validator_start(void)
{
    int in[2], out[2];
    struct stat st;

    cr_assert_eq(stat(OAPI_DIR "/node_modules/ajv", &st), 0,
                 "tests/openapi/node_modules is missing: run `scripts/dev test` (or `npm ci` in "
                 "tests/openapi) to install the OpenAPI validator");
    /* close-on-exec: servers and CLI children must not hold the validator's stdin open */
    cr_assert(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);
    signal(SIGPIPE, SIG_IGN); /* a dead validator is an error below, not a dead test */
    validator_pid = fork();
    cr_assert_neq(validator_pid, -1, "fork: %s", strerror(errno));
    if (validator_pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        /* hold none of the test's sockets open (a connection-limit test counts them) */
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        setenv("TW_OAPI_CACHE", TW_BUILD_DIR "/tests/openapi-cache", 1);
        execlp("node", "node", OAPI_DIR "/validate.mjs", OAPI_DOC, "--serve", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    validator_in = fdopen(in[1], "w");
    validator_out = fdopen(out[0], "r");
    cr_assert(validator_in != NULL && validator_out != NULL);
    validator_owner = getpid();
}

void tw_oapi_start(void)
{
    if (validator_pid == 0 || validator_owner != getpid())
        validator_start();
}

void tw_oapi_record(const struct tw_srv *s, const char *method, const char *target, long status,
                    const char *headers, const char *body, size_t len)
{
    char verdict[16384];
    bool sent, got;
    char *b64 = base64((const unsigned char *)body, len);
    json_t *rec = json_pack("{s:s, s:s, s:i, s:o, s:s}", "method", method, "target", target,
                            "status", (int)status, "headers", header_pairs(headers), "body", b64);

    (void)s;
    free(b64);
    cr_assert_not_null(rec, "cannot record the response to %s %s", method, target);
    pthread_mutex_lock(&validator_lock);
    tw_oapi_start();
    sent = json_dumpf(rec, validator_in, JSON_COMPACT) == 0 && fputc('\n', validator_in) != EOF &&
           fflush(validator_in) == 0;
    got = sent && fgets(verdict, sizeof(verdict), validator_out) != NULL;
    pthread_mutex_unlock(&validator_lock);
    json_decref(rec);
    cr_assert(got, "the OpenAPI validator (tests/openapi/validate.mjs) gave no verdict on %s %s",
              method, target);
    verdict[strcspn(verdict, "\n")] = '\0';
    if (verdict[0] != '\0')
        cr_expect_fail("response not described by docs/openapi.yaml: %s", verdict);
}

void tw_oapi_raw(const struct tw_srv *s, const char *request, const char *response, size_t len)
{
    char method[16], target[2048], *head;
    const char *p = response, *end = response + len, *hend, *cl;
    long status;
    size_t body_len;

    if (sscanf(request, "%15s %2047s", method, target) != 2)
        return;
    /* skip interim 1xx answers (100 Continue) */
    while ((hend = strstr(p, "\r\n\r\n")) != NULL && strncmp(p, "HTTP/1.", 7) == 0 && p + 9 < end &&
           p[9] == '1')
        p = hend + 4;
    if (hend == NULL || sscanf(p, "HTTP/1.%*d %ld", &status) != 1)
        return; /* closed without a whole answer: nothing to check */
    head = strndup(p, (size_t)(hend + 2 - p));
    cr_assert_not_null(head);
    body_len = (size_t)(end - (hend + 4));
    cl = strcasestr(head, "\r\nContent-Length:");
    if (cl != NULL && strcmp(method, "HEAD") != 0 && (size_t)strtoul(cl + 17, NULL, 10) < body_len)
        body_len = (size_t)strtoul(cl + 17, NULL, 10); /* pipelined: the first answer only */
    if (strcmp(method, "HEAD") == 0)
        body_len = 0;
    tw_oapi_record(s, method, target, status, head, hend + 4, body_len);
    free(head);
}
