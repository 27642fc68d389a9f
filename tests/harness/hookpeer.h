/*
 * A webhook receiver for the tests: an evhttp server on a free loopback port, on its own
 * thread, that checks each delivery's Taskwheel-Signature with its own HMAC code (OpenSSL's
 * HMAC, not the engine's), answers 500 to the first fail_first deliveries (or never answers
 * at all when hang), then 200, and records every attempt with the time it arrived.
 */
#ifndef TW_TESTS_HOOKPEER_H
#define TW_TESTS_HOOKPEER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct tw_hookpeer;

struct tw_hook_attempt {
    double at;       /* arrival, seconds on CLOCK_MONOTONIC */
    int answered;    /* the status sent (0: none, hanging) */
    bool sig_ok;     /* a v1= matched a secret, within 5 minutes of t= */
    size_t n_v1;     /* v1= signatures in the header */
    size_t n_v1_ok;  /* how many of them match one of the secrets */
    long long sig_t; /* t= */
    char content_type[64];
    char delivery[64]; /* body.delivery */
    char event[32];    /* body.event */
    long long task_id; /* body.task.id */
    char state[16];    /* body.task.state.code */
    json_t *body;      /* the parsed body (owned by the peer) */
};

/* Start on 127.0.0.1 with a free port. */
struct tw_hookpeer *tw_hookpeer_start(unsigned fail_first, bool hang);
unsigned tw_hookpeer_port(const struct tw_hookpeer *p);
/* The URL to give a task: http://127.0.0.1:PORT/hook */
const char *tw_hookpeer_url(const struct tw_hookpeer *p);
/* The secrets a signature may match (copied). */
void tw_hookpeer_secrets(struct tw_hookpeer *p, const char *const *secrets, size_t n);
/* From now on answer 500 to the next fail_next deliveries, then 200 (hang off). */
void tw_hookpeer_behave(struct tw_hookpeer *p, unsigned fail_next, bool hang);
/* Wait until at least n attempts arrived (asserts after timeout_s); returns the count. */
size_t tw_hookpeer_wait(struct tw_hookpeer *p, size_t n, int timeout_s);
/* Wait until at least n attempts were answered 2xx. */
size_t tw_hookpeer_wait_ok(struct tw_hookpeer *p, size_t n, int timeout_s);
/* A copy of attempt i (body borrowed: valid until stop); false when there is none. */
bool tw_hookpeer_attempt(struct tw_hookpeer *p, size_t i, struct tw_hook_attempt *out);
size_t tw_hookpeer_count(struct tw_hookpeer *p);
void tw_hookpeer_stop(struct tw_hookpeer *p);

#endif
