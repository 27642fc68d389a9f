/*
 * The baseline for bench/api/run.sh: the smallest evhttp server that answers every request with
 * a fixed JSON body (read from a file, so it is byte-for-byte the size of taskwheel's answer).
 * Anything taskwheel does beyond this (routing, auth, the store, JSON) is what the bench weighs.
 *   bench_bare_evhttp PORT BODY_FILE
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

    if (argc != 3) {
        fprintf(stderr, "usage: bench_bare_evhttp PORT BODY_FILE\n");
        return 2;
    }
    f = fopen(argv[2], "rb");
    if (f == NULL) {
        perror(argv[2]);
        return 1;
    }
    body_len = fread(body, 1, sizeof(body), f);
    fclose(f);
    base = event_base_new();
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
