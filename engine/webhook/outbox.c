/*
 * The outbox pump (see webhook.h). One libevent timer wakes it at the earliest due delivery;
 * each delivery is leased in the store (its next_at pushed past the request's timeout) before
 * it is posted, so a crash mid-attempt makes it due again instead of losing it, and the pump
 * never posts the same delivery twice at once. Every attempt is recorded with the next one's
 * time, in one store transaction.
 */
#include "webhook/webhook.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include <event2/event.h>

#include "core/list.h"
#include "core/log.h"
#include "core/mem.h"
#include "httpc/httpc.h"

#define LEASE_MARGIN_MS 5000

struct tw_outbox {
    struct event_base *base;
    struct tw_store *store;
    struct tw_httpc *http;
    struct tw_outbox_conf conf;
    struct event *timer;
    struct tw_list flights; /* posted, not yet answered */
    struct tw_outbox_stats stats;
};

/* One delivery in flight. */
struct flight {
    struct tw_list link; /* on o->flights while posted */
    struct tw_outbox *o;
    int64_t id, task_id;
    char uuid[37];
    char event[16];
    unsigned attempt; /* the number of this attempt, 1-based */
};

static int64_t now_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void pump(struct tw_outbox *o);

/* Arm the timer for the earliest pending delivery (none: wait for a kick). */
static void plan(struct tw_outbox *o)
{
    struct tw_err err;
    int64_t next = 0, wait;
    struct timeval tv;

    if (o->stats.inflight >= o->conf.max_inflight)
        return; /* a completion will pump */
    if (tw_store_outbox_next(o->store, &next, &err) != TW_OK) {
        tw_log(TW_LOG_WARN, "webhook.outbox", "error", err.msg, NULL);
        next = now_ms() + 1000; /* the store is unavailable: look again soon */
    }
    if (next == 0) {
        evtimer_del(o->timer);
        return;
    }
    wait = next - now_ms();
    if (wait < 0)
        wait = 0;
    tv.tv_sec = (time_t)(wait / 1000);
    tv.tv_usec = (suseconds_t)((wait % 1000) * 1000);
    evtimer_add(o->timer, &tv);
}

/* Record attempt f->attempt with its outcome; schedule the next one or close the delivery. */
static void record(struct tw_outbox *o, const struct flight *f, long status, const char *error,
                   long duration_ms)
{
    struct tw_delivery_attempt a;
    struct tw_err err;
    bool ok = status >= 200 && status < 300;
    int64_t next_at = 0;
    char status_s[16];

    memset(&a, 0, sizeof(a));
    memcpy(a.uuid, f->uuid, sizeof(a.uuid));
    a.event = (char *)f->event;
    a.attempt = f->attempt;
    a.time = now_ms() / 1000;
    a.status = status;
    a.error = (char *)(error != NULL ? error : "");
    a.duration_ms = duration_ms;
    if (ok) {
        o->stats.delivered++;
    } else {
        o->stats.failed_attempts++;
        if (f->attempt >= o->conf.max_attempts)
            o->stats.given_up++;
        else
            next_at = now_ms() + tw_webhook_backoff(f->attempt + 1) * o->conf.backoff_unit_ms;
    }
    snprintf(status_s, sizeof(status_s), "%ld", status);
    if (!ok)
        tw_log(f->attempt >= o->conf.max_attempts ? TW_LOG_WARN : TW_LOG_INFO,
               f->attempt >= o->conf.max_attempts ? "webhook.given_up" : "webhook.retry",
               "delivery", f->uuid, "status", status_s, "error", a.error, NULL);
    if (tw_store_outbox_record(o->store, f->id, f->task_id, &a, next_at, &err) != TW_OK)
        /* The lease runs out and the delivery is tried again: at least once holds. */
        tw_log(TW_LOG_WARN, "webhook.outbox", "delivery", f->uuid, "error", err.msg, NULL);
}

static void on_posted(const struct tw_httpc_result *r, void *arg)
{
    struct flight *f = arg;
    struct tw_outbox *o = f->o;
    char why[300];

    if (r->error[0] == '\0' && (r->status < 200 || r->status >= 300))
        snprintf(why, sizeof(why), "HTTP %ld", r->status);
    else
        snprintf(why, sizeof(why), "%s", r->error);
    record(o, f, r->status, r->status >= 200 && r->status < 300 ? "" : why, r->duration_ms);
    tw_list_remove(&f->link);
    o->stats.inflight--;
    tw_free(f);
    pump(o);
}

/* Post one due delivery; failures before the post are recorded as failed attempts. */
static void post(struct tw_outbox *o, const struct tw_delivery *d)
{
    struct flight *f = tw_calloc(1, sizeof(*f));
    char sig[1024], sig_h[1100], **secrets = NULL, why[200];
    size_t n_secrets = 0;
    struct tw_err err;
    int rc;

    if (f == NULL)
        return; /* the lease runs out and it comes back */
    f->o = o;
    f->id = d->id;
    f->task_id = d->task_id;
    f->attempt = d->attempts + 1;
    memcpy(f->uuid, d->uuid, sizeof(f->uuid));
    snprintf(f->event, sizeof(f->event), "%s", d->event);

    rc = tw_store_outbox_lease(o->store, d->id, now_ms() + o->conf.timeout_ms + LEASE_MARGIN_MS,
                               &err);
    if (rc == TW_OK)
        rc = tw_store_webhook_secrets(o->store, d->chain, now_ms() / 1000, &secrets, &n_secrets,
                                      &err);
    if (rc == TW_OK && n_secrets == 0) {
        snprintf(why, sizeof(why),
                 "chain %lld has no webhook secret: run `taskwheel "
                 "webhook-secret --chain %lld`",
                 (long long)d->chain, (long long)d->chain);
        record(o, f, 0, why, 0);
        tw_free(f);
        return;
    }
    if (rc == TW_OK)
        rc = tw_webhook_signature((const char *const *)secrets, n_secrets, now_ms() / 1000, d->body,
                                  strlen(d->body), sig, sizeof(sig), &err);
    tw_store_free_strings(secrets, n_secrets);
    if (rc == TW_OK) {
        const char *headers[] = { "Content-Type: application/json", sig_h, NULL };
        struct tw_httpc_req req = {
            d->url, headers, d->body, strlen(d->body), o->conf.timeout_ms, o->conf.allow_private
        };

        snprintf(sig_h, sizeof(sig_h), "Taskwheel-Signature: %s", sig);
        rc = tw_httpc_post(o->http, &req, on_posted, f, &err);
        if (rc == TW_OK) {
            tw_list_add_tail(&o->flights, &f->link);
            o->stats.inflight++;
            return;
        }
        record(o, f, 0, err.msg, 0);
    } else {
        tw_log(TW_LOG_WARN, "webhook.outbox", "delivery", d->uuid, "error", err.msg, NULL);
    }
    tw_free(f);
}

static void pump(struct tw_outbox *o)
{
    struct tw_delivery *due = NULL;
    struct tw_err err;
    size_t n = 0;

    if (o->stats.inflight < o->conf.max_inflight &&
        tw_store_outbox_due(o->store, now_ms(), o->conf.max_inflight - o->stats.inflight, &due, &n,
                            &err) != TW_OK)
        tw_log(TW_LOG_WARN, "webhook.outbox", "error", err.msg, NULL);
    for (size_t i = 0; i < n; i++)
        post(o, &due[i]);
    tw_store_free_deliveries(due, n);
    plan(o);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pump(arg);
}

struct tw_outbox *tw_outbox_new(struct event_base *base, struct tw_store *s, struct tw_httpc *http,
                                const struct tw_outbox_conf *conf, struct tw_err *err)
{
    struct tw_outbox *o = tw_calloc(1, sizeof(*o));

    if (o == NULL || (o->timer = evtimer_new(base, on_timer, o)) == NULL) {
        tw_free(o);
        tw_err_set(err, TW_ENOMEM, "webhook: out of memory");
        return NULL;
    }
    o->base = base;
    tw_list_init(&o->flights);
    o->store = s;
    o->http = http;
    o->conf = *conf;
    if (o->conf.max_inflight == 0)
        o->conf.max_inflight = 64;
    if (o->conf.backoff_unit_ms <= 0)
        o->conf.backoff_unit_ms = 1000;
    if (o->conf.max_attempts == 0)
        o->conf.max_attempts = 1;
    tw_outbox_kick(o); /* deliveries left pending by the previous run of the server */
    return o;
}

void tw_outbox_kick(struct tw_outbox *o)
{
    struct timeval now = { 0, 0 };

    evtimer_add(o->timer, &now); /* from the loop, never from inside the caller */
}

void tw_outbox_stats(const struct tw_outbox *o, struct tw_outbox_stats *out)
{
    *out = o->stats;
}

void tw_outbox_free(struct tw_outbox *o)
{
    struct tw_list *it, *tmp;

    if (o == NULL)
        return;
    TW_LIST_FOREACH_SAFE(it, tmp, &o->flights)
    {
        tw_list_remove(it);
        tw_free(TW_CONTAINER_OF(it, struct flight, link));
    }
    event_free(o->timer);
    tw_free(o);
}
