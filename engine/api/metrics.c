/*
 * GET /metrics: Prometheus text exposition format 0.0.4. Every family has # HELP and # TYPE
 * before its samples; histograms have cumulative _bucket{le=...} lines ending in le="+Inf",
 * then _sum and _count. Label values are escaped (backslash, double quote, newline).
 *
 * Sources: tasks by state and result storage from the store (taskwheel_store_up is 0 and those
 * families are left out when it cannot be read); runs, run durations, records exported per
 * index, scheduler lateness and workers from the scheduler (hooks.sched_stats); HTTP requests
 * and latency from this file's counters, fed by tw_reply_send. Labels are bounded: HTTP
 * requests are labelled by route PATTERN (never the raw path), method and status; nothing is
 * labelled by chain, task or caller.
 *
 * metrics.require_token: true makes the endpoint need a valid token or session (any chain:
 * the numbers are the whole engine's); it is open by default.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "api/api_int.h"
#include "core/histo.h"
#include "core/mem.h"
#include "sched/sched_stats.h"

struct tw_http_count {
    const char *route;  /* static: a route table pattern or "unmatched" */
    const char *method; /* static */
    int status;
    uint64_t n;
};

struct tw_http_latency {
    const char *route;
    struct tw_histo h;
};

struct tw_metrics {
    struct tw_http_count *counts;
    size_t n_counts, cap_counts;
    struct tw_http_latency *lat;
    size_t n_lat, cap_lat;
};

void tw_metrics_destroy(struct tw_metrics *m)
{
    if (m == NULL)
        return;
    tw_free(m->counts);
    tw_free(m->lat);
    tw_free(m);
}

/* Room for one more element of elem bytes in *arr; false when out of memory. */
static bool grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p;

    if (n < *cap)
        return true;
    p = tw_realloc(*arr, ncap * elem);
    if (p == NULL)
        return false;
    *arr = p;
    *cap = ncap;
    return true;
}

void tw_metrics_http(struct tw_api *api, const char *route, const char *method, int status,
                     double seconds)
{
    struct tw_metrics *m = api->metrics;
    size_t i;

    if (m == NULL) {
        m = api->metrics = tw_calloc(1, sizeof(*m));
        if (m == NULL)
            return; /* metrics are lost, the request is not */
    }
    for (i = 0; i < m->n_counts; i++)
        if (m->counts[i].status == status && strcmp(m->counts[i].route, route) == 0 &&
            strcmp(m->counts[i].method, method) == 0)
            break;
    if (i < m->n_counts ||
        grow((void **)&m->counts, &m->cap_counts, m->n_counts, sizeof(*m->counts))) {
        if (i == m->n_counts)
            m->counts[m->n_counts++] = (struct tw_http_count){ route, method, status, 0 };
        m->counts[i].n++;
    }
    for (i = 0; i < m->n_lat; i++)
        if (strcmp(m->lat[i].route, route) == 0)
            break;
    if (i == m->n_lat) {
        if (!grow((void **)&m->lat, &m->cap_lat, m->n_lat, sizeof(*m->lat)))
            return;
        m->lat[i].route = route;
        tw_histo_init(&m->lat[i].h, tw_histo_http_s, tw_histo_http_n);
        m->n_lat++;
    }
    tw_histo_observe(&m->lat[i].h, seconds);
}

/* ---- rendering ---- */

struct out {
    struct evbuffer *b;
    bool failed; /* an append failed (out of memory) */
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (evbuffer_add_vprintf(o->b, fmt, ap) < 0)
        o->failed = true;
    va_end(ap);
}

/* v as a label value: backslash, double quote and newline escaped. */
static void put_label_value(struct out *o, const char *v)
{
    size_t n;

    while (*v != '\0') {
        n = strcspn(v, "\\\"\n");
        if (n > 0 && evbuffer_add(o->b, v, n) != 0)
            o->failed = true;
        v += n;
        if (*v != '\0') {
            put(o, "%s", *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : "\\n");
            v++;
        }
    }
}

/* v in the shortest of %.15g / %.17g that reads back exactly. */
static void put_double(struct out *o, double v)
{
    char buf[40];

    snprintf(buf, sizeof(buf), "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, sizeof(buf), "%.17g", v);
    put(o, "%s", buf);
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample with at most one label (label NULL: none). */
static void sample_u(struct out *o, const char *name, const char *label, const char *value,
                     uint64_t v)
{
    if (label != NULL) {
        put(o, "%s{%s=\"", name, label);
        put_label_value(o, value);
        put(o, "\"} %" PRIu64 "\n", v);
    } else {
        put(o, "%s %" PRIu64 "\n", name, v);
    }
}

/* The _bucket/_sum/_count lines of h; label (may be NULL) = value goes before le. */
static void histogram(struct out *o, const char *name, const char *label, const char *value,
                      const struct tw_histo *h)
{
    uint64_t cum = 0;
    unsigned i;

    for (i = 0; i <= h->n; i++) {
        cum += h->counts[i];
        put(o, "%s_bucket{", name);
        if (label != NULL) {
            put(o, "%s=\"", label);
            put_label_value(o, value);
            put(o, "\",");
        }
        if (i < h->n)
            put(o, "le=\"%g\"} %" PRIu64 "\n", h->bounds[i], cum);
        else
            put(o, "le=\"+Inf\"} %" PRIu64 "\n", cum);
    }
    if (label != NULL) {
        put(o, "%s_sum{%s=\"", name, label);
        put_label_value(o, value);
        put(o, "\"} ");
        put_double(o, h->sum);
        put(o, "\n%s_count{%s=\"", name, label);
        put_label_value(o, value);
        put(o, "\"} %" PRIu64 "\n", h->count);
    } else {
        put(o, "%s_sum ", name);
        put_double(o, h->sum);
        put(o, "\n%s_count %" PRIu64 "\n", name, h->count);
    }
}

static void render_upkeep(struct out *o, struct tw_store *store)
{
    struct tw_store_upkeep_stats u;

    tw_store_get_upkeep_stats(store, &u);
    family(o, "taskwheel_results_pruned_total", "counter",
           "Result files removed by retention (results.retention_days).");
    sample_u(o, "taskwheel_results_pruned_total", NULL, NULL, u.results_pruned);
    family(o, "taskwheel_result_bytes_pruned_total", "counter",
           "Bytes of the result files removed by retention.");
    sample_u(o, "taskwheel_result_bytes_pruned_total", NULL, NULL, u.result_bytes_pruned);
    family(o, "taskwheel_logs_trimmed_total", "counter",
           "Task log entries removed to keep logs_keep per task.");
    sample_u(o, "taskwheel_logs_trimmed_total", NULL, NULL, u.logs_trimmed);
}

static void render_store(struct out *o, struct tw_store *store)
{
    int64_t counts[4], files = 0, bytes = 0;
    struct tw_err err;
    bool up = tw_store_task_count_by_state(store, counts, &err) == TW_OK &&
              tw_store_result_usage(store, &files, &bytes, &err) == TW_OK;
    int i;

    family(o, "taskwheel_store_up", "gauge", "1 when the task store answered this scrape.");
    put(o, "taskwheel_store_up %d\n", up ? 1 : 0);
    if (!up)
        return;
    family(o, "taskwheel_tasks", "gauge", "Tasks in the store by state.");
    for (i = 0; i < 4; i++)
        sample_u(o, "taskwheel_tasks", "state", tw_task_state_name(i), (uint64_t)counts[i]);
    family(o, "taskwheel_result_files", "gauge",
           "Result files on offer (each task's latest unexpired result).");
    put(o, "taskwheel_result_files %" PRId64 "\n", files);
    family(o, "taskwheel_result_storage_bytes", "gauge",
           "Bytes taken by the result files on offer.");
    put(o, "taskwheel_result_storage_bytes %" PRId64 "\n", bytes);
    render_upkeep(o, store);
}

static void render_sched(struct out *o, const struct tw_sched_stats *st)
{
    size_t i;

    family(o, "taskwheel_runs_started_total", "counter", "Runs started in a worker.");
    sample_u(o, "taskwheel_runs_started_total", NULL, NULL, st->started);
    family(o, "taskwheel_runs_finished_total", "counter", "Runs that ended, by result.");
    sample_u(o, "taskwheel_runs_finished_total", "result", "done", st->done);
    sample_u(o, "taskwheel_runs_finished_total", "result", "error", st->failed);
    family(o, "taskwheel_runs_fenced_total", "counter",
           "Writes of this node's runs refused because another claim took the task (run.fenced).");
    sample_u(o, "taskwheel_runs_fenced_total", NULL, NULL, st->fenced);
    family(o, "taskwheel_runs_rescued_total", "counter",
           "Runs whose lease lapsed that this node put back to READY.");
    sample_u(o, "taskwheel_runs_rescued_total", NULL, NULL, st->rescued);
    family(o, "taskwheel_run_claims_lost_total", "counter",
           "Run starts lost to another node or to max_runs_per_chain across the cluster.");
    sample_u(o, "taskwheel_run_claims_lost_total", NULL, NULL, st->claims_lost);
    family(o, "taskwheel_run_duration_seconds", "histogram",
           "Wall time of runs that ended done or error in a worker.");
    histogram(o, "taskwheel_run_duration_seconds", NULL, NULL, &st->run_s);
    family(o, "taskwheel_records_exported_total", "counter",
           "Records written by successful runs, by export index.");
    for (i = 0; i < st->n_exported && i < TW_SCHED_MAX_INDEXES; i++)
        sample_u(o, "taskwheel_records_exported_total", "index", st->exported[i].index,
                 st->exported[i].records);
    family(o, "taskwheel_sched_lateness_seconds", "histogram",
           "How late scheduled runs started after their trigger time.");
    histogram(o, "taskwheel_sched_lateness_seconds", NULL, NULL, &st->lateness_s);
    family(o, "taskwheel_workers_busy", "gauge", "Workers running a task.");
    put(o, "taskwheel_workers_busy %u\n", st->running);
    family(o, "taskwheel_workers_idle", "gauge", "Workers free to run a task.");
    put(o, "taskwheel_workers_idle %u\n",
        st->workers > st->running ? st->workers - st->running : 0);
    family(o, "taskwheel_worker_processes_started_total", "counter",
           "Reusable worker processes started (at start-up and as replacements).");
    sample_u(o, "taskwheel_worker_processes_started_total", NULL, NULL,
             st->worker_processes_started);
    family(o, "taskwheel_workers_retired_total", "counter",
           "Workers replaced after workers_max_runs runs or above workers_max_rss.");
    sample_u(o, "taskwheel_workers_retired_total", NULL, NULL, st->workers_retired);
    family(o, "taskwheel_worker_handovers_total", "counter",
           "Jobs given to another worker because theirs died before taking them.");
    sample_u(o, "taskwheel_worker_handovers_total", NULL, NULL, st->worker_handovers);
    family(o, "taskwheel_sched_queued", "gauge", "Due tasks waiting for a worker.");
    put(o, "taskwheel_sched_queued %zu\n", st->queued);
    family(o, "taskwheel_sched_armed", "gauge", "Tasks waiting for their time in the timer wheel.");
    put(o, "taskwheel_sched_armed %zu\n", st->armed);
}

static void render_http(struct out *o, const struct tw_metrics *m)
{
    size_t i, n = m ? m->n_counts : 0;

    family(o, "taskwheel_http_requests_total", "counter",
           "HTTP requests answered, by route pattern, method and status.");
    for (i = 0; i < n; i++) {
        put(o, "taskwheel_http_requests_total{route=\"");
        put_label_value(o, m->counts[i].route);
        put(o, "\",method=\"%s\",status=\"%d\"} %" PRIu64 "\n", m->counts[i].method,
            m->counts[i].status, m->counts[i].n);
    }
    family(o, "taskwheel_http_request_duration_seconds", "histogram",
           "Time from a request's arrival to its answer, by route pattern.");
    for (i = 0; m != NULL && i < m->n_lat; i++)
        histogram(o, "taskwheel_http_request_duration_seconds", "route", m->lat[i].route,
                  &m->lat[i].h);
}

void tw_api_metrics(struct tw_req *r)
{
    struct tw_api *api = r->api;
    struct out o = { evhttp_request_get_output_buffer(r->ev), false };
    struct tw_sched_stats st;

    if (api->d.cfg->metrics_require_token && !tw_auth_caller(r))
        return;
    render_store(&o, api->d.store);
    if (api->d.hooks.sched_stats != NULL) {
        memset(&st, 0, sizeof(st));
        api->d.hooks.sched_stats(api->d.hooks.ctx, &st);
        render_sched(&o, &st);
    }
    render_http(&o, api->metrics);
    if (o.failed) {
        evbuffer_drain(o.b, evbuffer_get_length(o.b));
        tw_reply_error(r, 500, "internal_error", NULL, "out of memory rendering the metrics");
        return;
    }
    tw_add_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    tw_reply_send(r, 200);
}
