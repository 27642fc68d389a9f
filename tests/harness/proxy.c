/* The prefix-stripping reverse proxy of the CLI client's tests (proxy.h). */
#include "proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

struct proxy {
    struct event_base *base;
    const char *prefix;
    unsigned backend;
};

/* Headers that describe one hop, not the message. */
static bool hop_header(const char *name)
{
    static const char *const hop[] = {
        "Connection",       "Keep-Alive", "Transfer-Encoding", "Content-Length", "Host",
        "Proxy-Connection", NULL
    };
    size_t i;

    for (i = 0; hop[i] != NULL; i++)
        if (strcasecmp(name, hop[i]) == 0)
            return true;
    return false;
}

static void copy_headers(struct evkeyvalq *from, struct evkeyvalq *to)
{
    struct evkeyval *h;

    TAILQ_FOREACH(h, from, next)
    if (!hop_header(h->key))
        evhttp_add_header(to, h->key, h->value);
}

static void on_backend_reply(struct evhttp_request *back, void *arg)
{
    struct evhttp_request *front = arg;
    struct evbuffer *body;

    if (back == NULL || evhttp_request_get_response_code(back) == 0) {
        evhttp_send_error(front, 502, "backend unreachable");
        return;
    }
    copy_headers(evhttp_request_get_input_headers(back), evhttp_request_get_output_headers(front));
    body = evbuffer_new();
    evbuffer_add_buffer(body, evhttp_request_get_input_buffer(back));
    evhttp_send_reply(front, evhttp_request_get_response_code(back),
                      evhttp_request_get_response_code_line(back), body);
    evbuffer_free(body);
}

static void on_request(struct evhttp_request *front, void *arg)
{
    struct proxy *p = arg;
    const char *uri = evhttp_request_get_uri(front);
    size_t n = strlen(p->prefix);
    struct evhttp_connection *conn;
    struct evhttp_request *back;
    char path[8192], host[64];

    if (strncmp(uri, p->prefix, n) != 0 || (uri[n] != '\0' && uri[n] != '/' && uri[n] != '?')) {
        evhttp_send_error(front, 404, "outside the proxied prefix");
        return;
    }
    snprintf(path, sizeof(path), "%s%s", uri[n] == '/' ? "" : "/", uri + n);
    conn = evhttp_connection_base_new(p->base, NULL, "127.0.0.1", (unsigned short)p->backend);
    if (conn == NULL) {
        evhttp_send_error(front, 502, "no connection");
        return;
    }
    evhttp_connection_set_timeout(conn, 600);
    evhttp_connection_free_on_completion(conn);
    back = evhttp_request_new(on_backend_reply, front);
    copy_headers(evhttp_request_get_input_headers(front), evhttp_request_get_output_headers(back));
    snprintf(host, sizeof(host), "127.0.0.1:%u", p->backend);
    evhttp_add_header(evhttp_request_get_output_headers(back), "Host", host);
    evbuffer_add_buffer(evhttp_request_get_output_buffer(back),
                        evhttp_request_get_input_buffer(front));
    if (evhttp_make_request(conn, back, evhttp_request_get_command(front), path) != 0)
        evhttp_send_error(front, 502, "cannot forward");
}

void tw_proxy_bind(struct tw_proxy *p)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof(a);

    memset(p, 0, sizeof(*p));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    /* Non-blocking: libevent's listener accepts until EAGAIN. */
    p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    cr_assert(p->fd >= 0);
    cr_assert(bind(p->fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    cr_assert(listen(p->fd, 64) == 0);
    cr_assert(getsockname(p->fd, (struct sockaddr *)&a, &len) == 0);
    p->port = ntohs(a.sin_port);
}

void tw_proxy_start(struct tw_proxy *p, const char *prefix, unsigned backend_port)
{
    snprintf(p->url, sizeof(p->url), "http://127.0.0.1:%u%s", p->port, prefix);
    p->pid = fork();
    cr_assert(p->pid != -1);
    if (p->pid == 0) {
        struct proxy px = { event_base_new(), prefix, backend_port };
        struct evhttp *http = px.base ? evhttp_new(px.base) : NULL;

        if (http == NULL || evhttp_accept_socket(http, p->fd) != 0)
            _exit(3);
        evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                             EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
        evhttp_set_gencb(http, on_request, &px);
        event_base_dispatch(px.base);
        _exit(0);
    }
    close(p->fd);
    p->fd = -1;
}

void tw_proxy_stop(struct tw_proxy *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
    }
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
}
