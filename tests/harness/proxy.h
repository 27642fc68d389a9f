/*
 * A small reverse proxy that serves the API under a path prefix, as a site would mount
 * taskwheel at https://host/taskwheel/: a request for PREFIX/rest goes to the backend as /rest
 * with its method, headers (Range, Prefer, credentials) and body, and the answer comes back as
 * it was; anything outside the prefix is a 404 of the proxy's own. evhttp on both sides, in a
 * forked child, on 127.0.0.1 only.
 */
#ifndef TW_TESTS_PROXY_H
#define TW_TESTS_PROXY_H

#include <sys/types.h>

struct tw_proxy {
    int fd;        /* the listening socket, bound by tw_proxy_bind */
    unsigned port; /* its port */
    char url[128]; /* http://127.0.0.1:PORT + prefix, after tw_proxy_start */
    pid_t pid;     /* the proxy process, 0 when stopped */
};

/* Bind a free loopback port (known before the backend starts, so its public_url can name it). */
void tw_proxy_bind(struct tw_proxy *p);
/* Serve prefix ("/tw", no trailing slash) in front of 127.0.0.1:backend_port. */
void tw_proxy_start(struct tw_proxy *p, const char *prefix, unsigned backend_port);
void tw_proxy_stop(struct tw_proxy *p);

#endif
