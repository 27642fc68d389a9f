/* Inside the client part: the struct behind struct tw_client (client.h). */
#ifndef TW_CLIENT_CLIENT_INT_H
#define TW_CLIENT_CLIENT_INT_H

#include <curl/curl.h>

#include "client/client.h"

struct tw_client {
    CURL *curl; /* reused between API calls (keep-alive) */
    char *base; /* base URL without a trailing slash; owned */
    /* Credential header lines, owned and wiped on free: the Bearer token in [0], or the three
     * X-Spaaza-Session-* lines after a login. */
    char *auth[3];
    int64_t chain;
    long connect_timeout_s;
};

#endif
