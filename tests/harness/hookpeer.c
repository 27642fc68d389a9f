/* The tests' webhook receiver (hookpeer.h). */
#include "hookpeer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define MAX_ATTEMPTS 4096
#define MAX_SECRETS 4

struct tw_hookpeer {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct event_base *base;
    struct evhttp *http;
    struct event *tick;
    unsigned port;
    char url[64];
    unsigned fail_next;
    bool hang;
    bool stop;
    char *secrets[MAX_SECRETS];
    size_t n_secrets;
    struct tw_hook_attempt a[MAX_ATTEMPTS];
    size_t n;
};

static double mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* hex HMAC-SHA256(key, t + "." + body), computed here with OpenSSL, into hex[65]. */
static void mac_hex(const char *key, const char *t, const char *body, size_t len, char hex[65])
{
    unsigned char mac[32];
    unsigned int mac_len = 0;
    size_t tl = strlen(t);
    unsigned char *msg = malloc(tl + 1 + len);

    cr_assert_not_null(msg);
    memcpy(msg, t, tl);
    msg[tl] = '.';
    memcpy(msg + tl + 1, body, len);
    HMAC(EVP_sha256(), key, (int)strlen(key), msg, tl + 1 + len, mac, &mac_len);
    free(msg);
    for (unsigned i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", mac[i]);
    hex[64] = '\0';
}

/* Check the header "t=...,v1=...[,v1=...]" against the secrets into a. Under p->mu. */
static void check_signature(struct tw_hookpeer *p, const char *header, const char *body, size_t len,
                            struct tw_hook_attempt *a)
{
    char copy[2048], t[32] = "", *save = NULL;

    if (header == NULL || strlen(header) >= sizeof(copy))
        return;
    snprintf(copy, sizeof(copy), "%s", header);
    for (char *item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save))
        if (strncmp(item, "t=", 2) == 0)
            snprintf(t, sizeof(t), "%s", item + 2);
    if (t[0] == '\0')
        return;
    a->sig_t = atoll(t);
    snprintf(copy, sizeof(copy), "%s", header);
    for (char *item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        if (strncmp(item, "v1=", 3) != 0)
            continue;
        a->n_v1++;
        for (size_t i = 0; i < p->n_secrets; i++) {
            char hex[65];

            mac_hex(p->secrets[i], t, body, len, hex);
            if (strcmp(hex, item + 3) == 0) {
                a->n_v1_ok++;
                break;
            }
        }
    }
    a->sig_ok = a->n_v1_ok > 0 && llabs((long long)time(NULL) - a->sig_t) <= 300;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct tw_hookpeer *p = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    char *body = malloc(len + 1);
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *ct = evhttp_find_header(h, "Content-Type");
    struct tw_hook_attempt *a;
    int status = 200;
    json_t *j;

    cr_assert_not_null(body);
    evbuffer_copyout(in, body, len);
    body[len] = '\0';
    j = json_loadb(body, len, 0, NULL);
    pthread_mutex_lock(&p->mu);
    if (p->n < MAX_ATTEMPTS) {
        a = &p->a[p->n];
        memset(a, 0, sizeof(*a));
        a->at = mono();
        snprintf(a->content_type, sizeof(a->content_type), "%s", ct ? ct : "");
        check_signature(p, evhttp_find_header(h, "Taskwheel-Signature"), body, len, a);
        snprintf(a->delivery, sizeof(a->delivery), "%s",
                 json_string_value(json_object_get(j, "delivery")) ?: "");
        snprintf(a->event, sizeof(a->event), "%s",
                 json_string_value(json_object_get(j, "event")) ?: "");
        a->task_id = json_integer_value(json_object_get(json_object_get(j, "task"), "id"));
        snprintf(a->state, sizeof(a->state), "%s",
                 json_string_value(
                     json_object_get(json_object_get(json_object_get(j, "task"), "state"), "code"))
                     ?: "");
        a->body = j;
        j = NULL;
        if (p->hang) {
            status = 0;
        } else if (p->fail_next > 0) {
            p->fail_next--;
            status = 500;
        }
        a->answered = status;
        p->n++;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    json_decref(j);
    free(body);
    if (status != 0)
        evhttp_send_reply(req, status, status == 200 ? "OK" : "Internal Server Error", NULL);
    /* hanging: the request stays unanswered until the sender gives up and closes */
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct tw_hookpeer *p = arg;
    bool stop;

    (void)fd;
    (void)what;
    pthread_mutex_lock(&p->mu);
    stop = p->stop;
    pthread_mutex_unlock(&p->mu);
    if (stop)
        event_base_loopbreak(p->base);
}

static void *run(void *arg)
{
    struct tw_hookpeer *p = arg;

    event_base_dispatch(p->base);
    return NULL;
}

struct tw_hookpeer *tw_hookpeer_start(unsigned fail_first, bool hang)
{
    struct tw_hookpeer *p = calloc(1, sizeof(*p));
    struct evhttp_bound_socket *sock;
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    struct timeval every = { 0, 50000 };

    cr_assert_not_null(p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->fail_next = fail_first;
    p->hang = hang;
    p->base = event_base_new();
    p->http = evhttp_new(p->base);
    cr_assert(p->base != NULL && p->http != NULL);
    evhttp_set_gencb(p->http, on_request, p);
    sock = evhttp_bind_socket_with_handle(p->http, "127.0.0.1", 0);
    cr_assert_not_null(sock);
    cr_assert_eq(getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&sin, &sl), 0);
    p->port = ntohs(sin.sin_port);
    snprintf(p->url, sizeof(p->url), "http://127.0.0.1:%u/hook", p->port);
    p->tick = event_new(p->base, -1, EV_PERSIST, on_tick, p);
    event_add(p->tick, &every);
    cr_assert_eq(pthread_create(&p->th, NULL, run, p), 0);
    return p;
}

unsigned tw_hookpeer_port(const struct tw_hookpeer *p)
{
    return p->port;
}

const char *tw_hookpeer_url(const struct tw_hookpeer *p)
{
    return p->url;
}

void tw_hookpeer_secrets(struct tw_hookpeer *p, const char *const *secrets, size_t n)
{
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n_secrets; i++)
        free(p->secrets[i]);
    p->n_secrets = 0;
    for (size_t i = 0; i < n && i < MAX_SECRETS; i++) {
        p->secrets[i] = strdup(secrets[i]);
        /* strip a trailing newline from CLI output */
        p->secrets[i][strcspn(p->secrets[i], "\r\n")] = '\0';
        p->n_secrets++;
    }
    pthread_mutex_unlock(&p->mu);
}

void tw_hookpeer_behave(struct tw_hookpeer *p, unsigned fail_next, bool hang)
{
    pthread_mutex_lock(&p->mu);
    p->fail_next = fail_next;
    p->hang = hang;
    pthread_mutex_unlock(&p->mu);
}

static size_t count_ok(const struct tw_hookpeer *p)
{
    size_t k = 0;

    for (size_t i = 0; i < p->n; i++)
        k += p->a[i].answered >= 200 && p->a[i].answered < 300;
    return k;
}

static size_t wait_for(struct tw_hookpeer *p, size_t n, int timeout_s, bool ok)
{
    struct timespec until;
    size_t got;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_s;
    pthread_mutex_lock(&p->mu);
    while ((got = ok ? count_ok(p) : p->n) < n &&
           pthread_cond_timedwait(&p->cv, &p->mu, &until) == 0)
        ;
    got = ok ? count_ok(p) : p->n;
    pthread_mutex_unlock(&p->mu);
    cr_assert_geq(got, n, "the receiver got %zu %s of %zu within %d s", got,
                  ok ? "successful deliveries" : "attempts", n, timeout_s);
    return got;
}

size_t tw_hookpeer_wait(struct tw_hookpeer *p, size_t n, int timeout_s)
{
    return wait_for(p, n, timeout_s, false);
}

size_t tw_hookpeer_wait_ok(struct tw_hookpeer *p, size_t n, int timeout_s)
{
    return wait_for(p, n, timeout_s, true);
}

bool tw_hookpeer_attempt(struct tw_hookpeer *p, size_t i, struct tw_hook_attempt *out)
{
    bool ok;

    pthread_mutex_lock(&p->mu);
    ok = i < p->n;
    if (ok)
        *out = p->a[i];
    pthread_mutex_unlock(&p->mu);
    return ok;
}

size_t tw_hookpeer_count(struct tw_hookpeer *p)
{
    size_t n;

    pthread_mutex_lock(&p->mu);
    n = p->n;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void tw_hookpeer_stop(struct tw_hookpeer *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->th, NULL);
    event_free(p->tick);
    evhttp_free(p->http);
    event_base_free(p->base);
    for (size_t i = 0; i < p->n; i++)
        json_decref(p->a[i].body);
    for (size_t i = 0; i < p->n_secrets; i++)
        free(p->secrets[i]);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}
