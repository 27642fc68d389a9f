/*
 * The baseline for bench/api/run.sh: the smallest evhttp server that answers every request with
 * a fixed JSON body (read from a file, so it is byte-for-byte the size of taskwheel's answer).
 * Anything taskwheel does beyond this (routing, auth, the store, JSON) is what the bench weighs.
 *   bench_bare_evhttp PORT BODY_FILE [changelist]
 * "changelist" gives it the event base taskwheel serve uses (epoll's change list), to show how
 * much of a difference is that setting rather than taskwheel's own work.
 */
#include <stdio.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

static char body[65536];
static size_t body_len;

static void reply(struct evhttp_request *req, void *arg)
{
    (void)arg;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evbuffer_add(evhttp_request_get_output_buffer(req), body, body_len);
    evhttp_send_reply(req, 200, "OK", NULL);
}

int main(int argc, char **argv)
{
    struct event_base *base;
    struct evhttp *http;
    FILE *f;

    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: bench_bare_evhttp PORT BODY_FILE [changelist]\n");
        return 2;
    }
    f = fopen(argv[2], "rb");
    if (f == NULL) {
        perror(argv[2]);
        return 1;
    }
    body_len = fread(body, 1, sizeof(body), f);
    fclose(f);
    if (argc == 4) {
        struct event_config *ec = event_config_new();

        event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
        base = event_base_new_with_config(ec);
        event_config_free(ec);
    } else {
        base = event_base_new();
    }
    if (base == NULL)
        return fprintf(stderr, "cannot create an event base\n"), 1;
    http = evhttp_new(base);
    evhttp_set_gencb(http, reply, NULL);
    if (evhttp_bind_socket(http, "127.0.0.1", (unsigned short)atoi(argv[1])) != 0) {
        fprintf(stderr, "cannot bind port %s\n", argv[1]);
        return 1;
    }
    event_base_dispatch(base);
    evhttp_free(http);
    event_base_free(base);
    return 0;
}
