/*
 * Helpers for bench/webhook/run.sh (see bench/README.md):
 *
 *   bench_webhook peer PORTFILE LOG     a webhook receiver on a free loopback port (written to
 *                                       PORTFILE); appends "<arrival wall ms> <task id>
 *                                       <status>" per delivery to LOG. Mode by signal:
 *                                       starts answering 200; SIGUSR1: answer 503; SIGUSR2:
 *                                       never answer (hang); SIGHUP: 200 again. SIGTERM: exit.
 *   bench_webhook get URL TOKEN N       N sequential GETs of URL on one keep-alive connection;
 *                                       prints "p50_ms p99_ms max_ms".
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

static volatile sig_atomic_t mode; /* 0: 200, 1: 503, 2: hang */
static FILE *out;

static long long wall_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    json_t *j = json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, NULL);
    long long task = json_integer_value(json_object_get(json_object_get(j, "task"), "id"));
    int m = mode;

    (void)arg;
    fprintf(out, "%lld %lld %d\n", wall_ms(), task, m == 0 ? 200 : m == 1 ? 503 : 0);
    fflush(out);
    json_decref(j);
    if (m == 0)
        evhttp_send_reply(req, 200, "OK", NULL);
    else if (m == 1)
        evhttp_send_reply(req, 503, "Unavailable", NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    if (sig == SIGTERM)
        event_base_loopbreak(arg);
    else
        mode = sig == SIGUSR1 ? 1 : sig == SIGUSR2 ? 2 : 0;
}

static int peer(const char *portfile, const char *log)
{
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    struct evhttp_bound_socket *sock = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    int sigs[] = { SIGTERM, SIGUSR1, SIGUSR2, SIGHUP };
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    FILE *pf;

    out = fopen(log, "a");
    if (sock == NULL || out == NULL)
        return 1;
    getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&sin, &sl);
    evhttp_set_gencb(http, on_request, NULL);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        event_add(evsignal_new(base, sigs[i], on_signal, base), NULL);
    pf = fopen(portfile, "w");
    fprintf(pf, "%u\n", ntohs(sin.sin_port));
    fclose(pf);
    event_base_dispatch(base);
    fclose(out);
    return 0;
}

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int get(const char *url, const char *token, int n)
{
    CURL *c = curl_easy_init();
    char auth[512];
    struct curl_slist *h;
    double *ms = calloc((size_t)n, sizeof(double));

    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    h = curl_slist_append(NULL, auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    for (int i = 0; i < n; i++) {
        struct timespec a, b;
        long status = 0;

        clock_gettime(CLOCK_MONOTONIC, &a);
        if (curl_easy_perform(c) != CURLE_OK)
            return 1;
        clock_gettime(CLOCK_MONOTONIC, &b);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200)
            return 1;
        ms[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    }
    qsort(ms, (size_t)n, sizeof(double), cmp);
    printf("%.3f %.3f %.3f\n", ms[n / 2], ms[(size_t)((double)n * 0.99)], ms[n - 1]);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(ms);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "peer") == 0)
        return peer(argv[2], argv[3]);
    if (argc == 5 && strcmp(argv[1], "get") == 0)
        return get(argv[2], argv[3], atoi(argv[4]));
    fprintf(stderr, "usage: bench_webhook peer PORTFILE LOG | get URL TOKEN N\n");
    return 2;
}
