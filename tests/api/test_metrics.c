/*
 * GET /metrics (docs/reference.md §2, issue #6) through a real server: the body is read with a STRICT
 * parser of the Prometheus text exposition format 0.0.4 written here (every line is a HELP,
 * a TYPE or a sample matching the grammar; every family has HELP and TYPE before its samples
 * and its samples are contiguous; label values use only the \\ \" \n escapes; histogram
 * buckets are cumulative with strictly increasing le, end in le="+Inf" equal to _count, and
 * have a _sum), then the numbers are checked to move with requests and runs. Also: the
 * X-Request-Id header, and metrics.require_token.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ---- the strict parser ---- */

struct sample {
    char name[128];
    char labels[512]; /* as written, without le: k="v",k="v" ("" when none) */
    bool has_le;
    double le;
    double value;
    size_t family; /* index in expo.fam */
};

struct family {
    char name[128];
    char type[16]; /* "" until # TYPE */
    bool help;
    size_t samples;
};

struct expo {
    struct sample *s;
    size_t n, cap;
    struct family fam[256];
    size_t nf;
};

static void expo_fini(struct expo *e)
{
    free(e->s);
    memset(e, 0, sizeof(*e));
}

static bool fail(char *why, size_t len, size_t line, const char *msg, const char *text)
{
    snprintf(why, len, "line %zu: %s: %.200s", line, msg, text);
    return false;
}

static const char *metric_name(const char *p, char *out, size_t len)
{
    size_t n = 0;

    if (!(isalpha((unsigned char)*p) || *p == '_' || *p == ':'))
        return NULL;
    while (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == ':')
        n++;
    if (n >= len)
        return NULL;
    memcpy(out, p, n);
    out[n] = '\0';
    return p + n;
}

static const char *label_name(const char *p, char *out, size_t len)
{
    size_t n = 0;

    if (!(isalpha((unsigned char)*p) || *p == '_'))
        return NULL;
    while (isalnum((unsigned char)p[n]) || p[n] == '_')
        n++;
    if (n >= len)
        return NULL;
    memcpy(out, p, n);
    out[n] = '\0';
    return p + n;
}

/* A sample value: a float, +Inf, -Inf or NaN, and nothing else. */
static bool parse_value(const char *p, size_t n, double *v)
{
    char buf[64], *end;

    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    if (strcmp(buf, "+Inf") == 0) {
        *v = INFINITY;
        return true;
    }
    if (strcmp(buf, "-Inf") == 0) {
        *v = -INFINITY;
        return true;
    }
    if (strcmp(buf, "NaN") == 0) {
        *v = NAN;
        return true;
    }
    /* strtod would also take "inf", "nan", hex and leading spaces: refuse those */
    for (size_t i = 0; i < n; i++)
        if (!(isdigit((unsigned char)buf[i]) || strchr("+-.eE", buf[i]) != NULL))
            return false;
    *v = strtod(buf, &end);
    return *end == '\0';
}

/* # HELP docstrings may only escape backslash and newline. */
static bool help_ok(const char *p)
{
    for (; *p != '\0'; p++)
        if (*p == '\\' && (p[1] != '\\' && p[1] != 'n'))
            return false;
        else if (*p == '\\')
            p++;
    return true;
}

static struct family *find_family(struct expo *e, const char *name)
{
    for (size_t i = 0; i < e->nf; i++)
        if (strcmp(e->fam[i].name, name) == 0)
            return &e->fam[i];
    return NULL;
}

/* The family a sample name belongs to, given the family being read (NULL when it is not). */
static bool sample_of(const struct family *f, const char *name)
{
    size_t n = strlen(f->name);

    if (strcmp(f->type, "histogram") != 0)
        return strcmp(name, f->name) == 0;
    return strncmp(name, f->name, n) == 0 &&
           (strcmp(name + n, "_bucket") == 0 || strcmp(name + n, "_sum") == 0 ||
            strcmp(name + n, "_count") == 0);
}

static bool parse_sample(struct expo *e, const char *line, size_t ln, char *why, size_t wl)
{
    struct sample sm;
    char lname[64], seen[16][64];
    size_t nseen = 0, i;
    const char *p, *v0;
    struct family *f;

    memset(&sm, 0, sizeof(sm));
    p = metric_name(line, sm.name, sizeof(sm.name));
    if (p == NULL)
        return fail(why, wl, ln, "bad metric name", line);
    if (*p == '{') {
        p++;
        while (*p != '}') {
            p = label_name(p, lname, sizeof(lname));
            if (p == NULL)
                return fail(why, wl, ln, "bad label name", line);
            if (strncmp(lname, "__", 2) == 0)
                return fail(why, wl, ln, "reserved label name", line);
            for (i = 0; i < nseen; i++)
                if (strcmp(seen[i], lname) == 0)
                    return fail(why, wl, ln, "duplicate label", line);
            if (nseen == 16)
                return fail(why, wl, ln, "too many labels", line);
            snprintf(seen[nseen++], sizeof(seen[0]), "%s", lname);
            if (p[0] != '=' || p[1] != '"')
                return fail(why, wl, ln, "expected =\"", line);
            p += 2;
            v0 = p;
            while (*p != '"') {
                if (*p == '\0')
                    return fail(why, wl, ln, "unterminated label value", line);
                if (*p == '\\') {
                    if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
                        return fail(why, wl, ln, "bad escape in label value", line);
                    p++;
                }
                p++;
            }
            if (strcmp(lname, "le") == 0) {
                sm.has_le = true;
                if (!parse_value(v0, (size_t)(p - v0), &sm.le) || isnan(sm.le))
                    return fail(why, wl, ln, "le is not a number", line);
            } else {
                size_t used = strlen(sm.labels);

                snprintf(sm.labels + used, sizeof(sm.labels) - used, "%s%s=\"%.*s\"",
                         used ? "," : "", lname, (int)(p - v0), v0);
            }
            p++;
            if (*p == ',')
                p++;
            else if (*p != '}')
                return fail(why, wl, ln, "expected , or } after a label", line);
        }
        p++;
    }
    if (*p != ' ')
        return fail(why, wl, ln, "expected one space before the value", line);
    p++;
    v0 = p;
    while (*p != '\0' && *p != ' ')
        p++;
    if (!parse_value(v0, (size_t)(p - v0), &sm.value))
        return fail(why, wl, ln, "bad sample value", line);
    if (*p == ' ') { /* optional timestamp: an integer */
        p++;
        if (*p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return fail(why, wl, ln, "bad timestamp", line);
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p != '\0')
        return fail(why, wl, ln, "trailing characters", line);
    f = e->nf ? &e->fam[e->nf - 1] : NULL;
    if (f == NULL || !sample_of(f, sm.name))
        return fail(why, wl, ln, "sample outside its family (no HELP/TYPE right before it)", line);
    if (!f->help || f->type[0] == '\0')
        return fail(why, wl, ln, "sample before both HELP and TYPE", line);
    if (strcmp(f->type, "histogram") == 0 &&
        sm.has_le != (strcmp(sm.name + strlen(f->name), "_bucket") == 0))
        return fail(why, wl, ln, "le must be on _bucket lines, and only there", line);
    if (strcmp(f->type, "histogram") != 0 && sm.has_le)
        return fail(why, wl, ln, "le label outside a histogram", line);
    if (strcmp(f->type, "counter") == 0 && (isnan(sm.value) || sm.value < 0))
        return fail(why, wl, ln, "negative or NaN counter", line);
    for (i = 0; i < e->n; i++)
        if (strcmp(e->s[i].name, sm.name) == 0 && strcmp(e->s[i].labels, sm.labels) == 0 &&
            e->s[i].has_le == sm.has_le && (!sm.has_le || e->s[i].le == sm.le))
            return fail(why, wl, ln, "duplicate series", line);
    sm.family = e->nf - 1;
    f->samples++;
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 256;
        e->s = realloc(e->s, e->cap * sizeof(*e->s));
        cr_assert_not_null(e->s);
    }
    e->s[e->n++] = sm;
    return true;
}

static bool parse_meta(struct expo *e, const char *line, size_t ln, char *why, size_t wl)
{
    bool help = strncmp(line, "# HELP ", 7) == 0;
    char name[128];
    const char *p;
    struct family *f;

    if (!help && strncmp(line, "# TYPE ", 7) != 0)
        return fail(why, wl, ln, "comment that is neither HELP nor TYPE", line);
    p = metric_name(line + 7, name, sizeof(name));
    if (p == NULL || *p != ' ')
        return fail(why, wl, ln, "bad name in HELP/TYPE", line);
    p++;
    f = find_family(e, name);
    if (f != NULL && f != &e->fam[e->nf - 1])
        return fail(why, wl, ln, "family declared again after another one", line);
    if (f == NULL) {
        if (e->nf == sizeof(e->fam) / sizeof(e->fam[0]))
            return fail(why, wl, ln, "too many families", line);
        f = &e->fam[e->nf++];
        memset(f, 0, sizeof(*f));
        snprintf(f->name, sizeof(f->name), "%s", name);
    }
    if (f->samples > 0)
        return fail(why, wl, ln, "HELP/TYPE after the family's samples", line);
    if (help) {
        if (f->help)
            return fail(why, wl, ln, "second HELP", line);
        if (!help_ok(p))
            return fail(why, wl, ln, "bad escape in HELP", line);
        f->help = true;
        return true;
    }
    if (f->type[0] != '\0')
        return fail(why, wl, ln, "second TYPE", line);
    if (strcmp(p, "counter") != 0 && strcmp(p, "gauge") != 0 && strcmp(p, "histogram") != 0 &&
        strcmp(p, "summary") != 0 && strcmp(p, "untyped") != 0)
        return fail(why, wl, ln, "unknown TYPE", line);
    snprintf(f->type, sizeof(f->type), "%s", p);
    return true;
}

/* Histogram rules, per family and label set (le aside). */
static bool check_histograms(const struct expo *e, char *why, size_t wl)
{
    for (size_t i = 0; i < e->n; i++) {
        const struct sample *b = &e->s[i];
        const struct family *f = &e->fam[b->family];
        char want[160];
        double prev_le = -INFINITY, prev_count = 0, inf = -1, count = -1;
        bool sum = false, seen_inf = false;

        if (strcmp(f->type, "histogram") != 0)
            continue;
        /* start of a label set: the first of its lines */
        bool first = true;

        for (size_t j = 0; j < i; j++)
            if (e->s[j].family == b->family && strcmp(e->s[j].labels, b->labels) == 0)
                first = false;
        if (!first)
            continue;
        for (size_t j = i; j < e->n; j++) {
            const struct sample *x = &e->s[j];

            if (x->family != b->family || strcmp(x->labels, b->labels) != 0)
                continue;
            snprintf(want, sizeof(want), "%s_bucket", f->name);
            if (strcmp(x->name, want) == 0) {
                if (seen_inf || x->le <= prev_le) {
                    snprintf(why, wl, "%s{%s}: le not strictly increasing or after +Inf", f->name,
                             b->labels);
                    return false;
                }
                if (x->value < prev_count) {
                    snprintf(why, wl, "%s{%s}: buckets not cumulative", f->name, b->labels);
                    return false;
                }
                prev_le = x->le;
                prev_count = x->value;
                if (isinf(x->le) && x->le > 0) {
                    seen_inf = true;
                    inf = x->value;
                }
            } else if (strcmp(x->name + strlen(f->name), "_sum") == 0) {
                sum = true;
            } else {
                count = x->value;
            }
        }
        if (!seen_inf || !sum || count < 0 || inf != count) {
            snprintf(why, wl,
                     "%s{%s}: needs le=\"+Inf\", _sum and _count with +Inf == _count "
                     "(inf %g, count %g, sum %d)",
                     f->name, b->labels, inf, count, sum);
            return false;
        }
    }
    return true;
}

static bool parse_expo(const char *text, struct expo *e, char *why, size_t wl)
{
    const char *p = text;
    char line[2048];
    size_t ln = 0;

    memset(e, 0, sizeof(*e));
    if (*text == '\0' || text[strlen(text) - 1] != '\n') {
        snprintf(why, wl, "the body must end with a newline");
        return false;
    }
    while (*p != '\0') {
        const char *eol = strchr(p, '\n');
        size_t n = (size_t)(eol - p);

        ln++;
        if (n >= sizeof(line))
            return fail(why, wl, ln, "line too long", p);
        memcpy(line, p, n);
        line[n] = '\0';
        p = eol + 1;
        if (n == 0)
            return fail(why, wl, ln, "empty line", "");
        if (memchr(line, '\r', n) != NULL || memchr(line, '\t', n) != NULL)
            return fail(why, wl, ln, "CR or TAB in a line", line);
        if (line[0] == '#' ? !parse_meta(e, line, ln, why, wl)
                           : !parse_sample(e, line, ln, why, wl))
            return false;
    }
    for (size_t i = 0; i < e->nf; i++)
        if (!e->fam[i].help || e->fam[i].type[0] == '\0') {
            snprintf(why, wl, "family %s lacks HELP or TYPE", e->fam[i].name);
            return false;
        }
    return check_histograms(e, why, wl);
}

/* The value of name{labels} ("" = no labels; le excluded), or -1 when absent. */
static double val(const struct expo *e, const char *name, const char *labels)
{
    for (size_t i = 0; i < e->n; i++)
        if (!e->s[i].has_le && strcmp(e->s[i].name, name) == 0 &&
            strcmp(e->s[i].labels, labels) == 0)
            return e->s[i].value;
    return -1;
}

static const struct family *fam(const struct expo *e, const char *name)
{
    return find_family((struct expo *)e, name);
}

/* ---- the parser itself must refuse what the format forbids ---- */

static bool accepts(const char *text)
{
    struct expo e;
    char why[512];
    bool ok = parse_expo(text, &e, why, sizeof(why));

    expo_fini(&e);
    return ok;
}

#define H(name, type) "# HELP " name " h\n# TYPE " name " " type "\n"

Test(metrics_parser, accepts_and_refuses)
{
    const char *hist = H(
        "x_seconds",
        "histogram") "x_seconds_bucket{r=\"a\\\\b\\\"c\\nd\",le=\"0.5\"} 1\n"
                     "x_seconds_bucket{r=\"a\\\\b\\\"c\\nd\",le=\"+Inf\"} 2\n"
                     "x_seconds_sum{r=\"a\\\\b\\\"c\\nd\"} 3.5\nx_seconds_count{r=\"a\\\\b\\\"c\\nd\"} 2\n";

    cr_assert(accepts(H("a_total", "counter") "a_total 1\n"));
    cr_assert(accepts(hist), "escaped label values are fine");
    cr_assert(accepts(H("g", "gauge")), "a family without samples is fine");
    cr_assert(!accepts("a_total 1\n"), "no HELP/TYPE");
    cr_assert(!accepts("# TYPE a counter\na 1\n"), "no HELP");
    cr_assert(!accepts("# HELP a h\na 1\n"), "no TYPE");
    cr_assert(!accepts(H("a", "gauge") "a 1"), "no final newline");
    cr_assert(!accepts(H("a", "gauge") "a{l=\"x\\ty\"} 1\n"), "bad escape");
    cr_assert(!accepts(H("a", "gauge") "a{l=\"x\"y\"} 1\n"), "raw quote");
    cr_assert(!accepts(H("a", "gauge") "a{l=x} 1\n"), "unquoted");
    cr_assert(!accepts(H("a", "gauge") "a  1\n"), "two spaces");
    cr_assert(!accepts(H("a", "gauge") "a one\n"), "bad value");
    cr_assert(!accepts(H("a", "gauge") "a 1\n\n"), "empty line");
    cr_assert(!accepts(H("a", "gauge") "a 1\na 2\n"), "duplicate series");
    cr_assert(!accepts(H("a", "gauge") H("b", "gauge") "a 1\n"), "sample out of its family");
    cr_assert(!accepts(H("a", "gauge") "a 1\n" H("b", "gauge") "b 1\n# HELP a again\n"));
    cr_assert(!accepts(H("h", "histogram") "h_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
                                           "h_sum 1\nh_count 1\n"),
              "not cumulative");
    cr_assert(!accepts(H("h", "histogram") "h_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n"),
              "no +Inf");
    cr_assert(!accepts(H("h", "histogram") "h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n"),
              "+Inf != count");
    cr_assert(!accepts(H("h", "histogram") "h_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\n"
                                           "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"),
              "le decreasing");
    cr_assert(!accepts(H("h", "histogram") "h_bucket{le=\"+Inf\"} 1\nh_count 1\n"), "no _sum");
    cr_assert(!accepts(H("c_total", "counter") "c_total -1\n"), "negative counter");
}

/* ---- against a real server ---- */

static struct tw_srv srv;
static char *tok;

static void setup(void)
{
    static const char *const chains[] = { "1764", NULL };
    static const char *const seed[] = { "seed", "--rows", "60", "--chains",
                                        "1764", "--seed", "5",  NULL };

    tw_srv_init(&srv, NULL);
    cr_assert_eq(tw_srv_cli(&srv, NULL, NULL, seed), 0, "seed failed");
    tok = tw_srv_token(&srv, "write", chains);
}

static void teardown(void)
{
    free(tok);
    tw_srv_fini(&srv, true);
}

/* Scrape /metrics, assert it parses strictly; e is filled (expo_fini). */
static void scrape(struct tw_srv *s, const char *token, struct expo *e)
{
    struct tw_resp r;
    char why[512], ctype[128];

    tw_http(s, "GET", "/metrics", token, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(tw_resp_header(&r, "Content-Type", ctype, sizeof(ctype)));
    cr_assert_str_eq(ctype, "text/plain; version=0.0.4; charset=utf-8");
    cr_assert(parse_expo(r.body, e, why, sizeof(why)), "%s\n--- body ---\n%s", why, r.body);
    tw_resp_fini(&r);
}

static long long create_task(const char *once)
{
    char extra[128], *body;
    struct tw_resp r;
    long long id;

    snprintf(extra, sizeof(extra), "\"debug\": \"m\"");
    body = tw_task_body(1764, extra);
    if (once != NULL) {
        char *p = strstr(body, "2099-01-01T00:00:00Z");

        cr_assert_not_null(p);
        memcpy(p, once, strlen("2099-01-01T00:00:00Z"));
    }
    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    cr_assert_eq(r.status, 201, "%s", r.body);
    id = (long long)json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    free(body);
    return id;
}

static void get(const char *path, const char *token, long want)
{
    struct tw_resp r;

    tw_http(&srv, "GET", path, token, NULL, NULL, &r);
    cr_assert_eq(r.status, want, "GET %s: %ld %s", path, r.status, r.body);
    tw_resp_fini(&r);
}

TestSuite(metrics, .init = setup, .fini = teardown, .timeout = 120);

Test(metrics, format_families_and_http_counters)
{
    static const char *const families[][2] = {
        { "taskwheel_store_up", "gauge" },
        { "taskwheel_tasks", "gauge" },
        { "taskwheel_result_files", "gauge" },
        { "taskwheel_result_storage_bytes", "gauge" },
        { "taskwheel_runs_started_total", "counter" },
        { "taskwheel_runs_finished_total", "counter" },
        { "taskwheel_runs_fenced_total", "counter" },
        { "taskwheel_runs_rescued_total", "counter" },
        { "taskwheel_run_claims_lost_total", "counter" },
        { "taskwheel_run_duration_seconds", "histogram" },
        { "taskwheel_records_exported_total", "counter" },
        { "taskwheel_sched_lateness_seconds", "histogram" },
        { "taskwheel_workers_busy", "gauge" },
        { "taskwheel_workers_idle", "gauge" },
        { "taskwheel_worker_processes_started_total", "counter" },
        { "taskwheel_workers_retired_total", "counter" },
        { "taskwheel_worker_handovers_total", "counter" },
        { "taskwheel_http_requests_total", "counter" },
        { "taskwheel_http_request_duration_seconds", "histogram" },
    };
    const char *list_ok = "route=\"/tasks\",method=\"GET\",status=\"200\"";
    const char *one_ok = "route=\"/tasks/{id}\",method=\"GET\",status=\"200\"";
    const char *one_404 = "route=\"/tasks/{id}\",method=\"GET\",status=\"404\"";
    const char *unmatched = "route=\"unmatched\",method=\"GET\",status=\"404\"";
    const char *not_allowed = "route=\"/metrics\",method=\"DELETE\",status=\"405\"";
    struct expo a, b;
    struct tw_resp r;
    char path[64];
    long long id;
    size_t i;

    get("/tasks", tok, 200); /* at least one request before the first scrape */
    scrape(&srv, NULL, &a);
    for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        const struct family *f = fam(&a, families[i][0]);

        cr_assert_not_null(f, "family %s missing", families[i][0]);
        cr_assert_str_eq(f->type, families[i][1], "%s", families[i][0]);
    }
    cr_assert_eq(val(&a, "taskwheel_store_up", ""), 1);
    cr_assert_eq(val(&a, "taskwheel_tasks", "state=\"READY\""), 0);
    cr_assert_eq(val(&a, "taskwheel_tasks", "state=\"INPROGRESS\""), 0);
    cr_assert_eq(val(&a, "taskwheel_tasks", "state=\"DONE\""), 0);
    cr_assert_eq(val(&a, "taskwheel_tasks", "state=\"ERROR\""), 0);
    cr_assert_eq(val(&a, "taskwheel_workers_busy", "") + val(&a, "taskwheel_workers_idle", ""), 2,
                 "busy + idle = workers (default 2)");
    cr_assert_eq(val(&a, "taskwheel_http_requests_total", list_ok), 1);

    id = create_task(NULL);
    snprintf(path, sizeof(path), "/tasks/%lld", id);
    get("/tasks", tok, 200);
    get("/tasks", tok, 200);
    get("/tasks?limit=5", tok, 200);
    get(path, tok, 200);
    get("/tasks/999999", tok, 404);
    get("/no/such/thing?sig=abcdef", NULL, 404);
    tw_http(&srv, "DELETE", "/metrics", NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 405);
    tw_resp_fini(&r);
    scrape(&srv, NULL, &b);

    cr_assert_eq(val(&b, "taskwheel_tasks", "state=\"READY\""), 1);
    cr_assert_eq(val(&b, "taskwheel_http_requests_total", list_ok),
                 val(&a, "taskwheel_http_requests_total", list_ok) + 3);
    cr_assert_eq(
        val(&b, "taskwheel_http_requests_total", "route=\"/tasks\",method=\"POST\",status=\"201\""),
        1);
    cr_assert_eq(val(&b, "taskwheel_http_requests_total", one_ok), 1);
    cr_assert_eq(val(&b, "taskwheel_http_requests_total", one_404), 1);
    cr_assert_eq(val(&b, "taskwheel_http_requests_total", unmatched), 1);
    cr_assert_eq(val(&b, "taskwheel_http_requests_total", not_allowed), 1);
    /* the first scrape was answered before the second one read the counters */
    cr_assert_eq(val(&b, "taskwheel_http_requests_total",
                     "route=\"/metrics\",method=\"GET\",status=\"200\""),
                 1);
    cr_assert_eq(val(&b, "taskwheel_http_request_duration_seconds_count", "route=\"/tasks\""),
                 val(&b, "taskwheel_http_requests_total", list_ok) +
                     val(&b, "taskwheel_http_requests_total",
                         "route=\"/tasks\",method=\"POST\",status=\"201\""));
    cr_assert(val(&b, "taskwheel_http_request_duration_seconds_sum", "route=\"/tasks\"") >= 0);
    /* labels carry route patterns only: never a raw path, an id or a query */
    for (i = 0; i < b.n; i++) {
        cr_assert_null(strstr(b.s[i].labels, "/no/such"), "%s", b.s[i].labels);
        cr_assert_null(strstr(b.s[i].labels, "999999"), "%s", b.s[i].labels);
        cr_assert_null(strstr(b.s[i].labels, "sig"), "%s", b.s[i].labels);
        cr_assert_null(strstr(b.s[i].labels, "limit"), "%s", b.s[i].labels);
        cr_assert_null(strstr(b.s[i].labels, "chain"), "%s", b.s[i].labels);
    }
    expo_fini(&a);
    expo_fini(&b);
}

Test(metrics, runs_lateness_records_and_storage)
{
    struct expo a, b;
    struct tw_resp r;
    char path[64];
    long long sched_id, exec_id;
    json_t *t;
    double size;

    scrape(&srv, NULL, &a);
    cr_assert_eq(val(&a, "taskwheel_runs_started_total", ""), 0);
    cr_assert_eq(val(&a, "taskwheel_result_storage_bytes", ""), 0);
    cr_assert_eq(val(&a, "taskwheel_sched_lateness_seconds_count", ""), 0);

    /* a trigger in the past: a scheduled run, as soon as a worker is free */
    sched_id = create_task("2020-01-01T00:00:00Z");
    t = tw_wait_state(&srv, tok, sched_id, "DONE", 60);
    json_decref(t);
    /* an executed run (held until it ends) */
    exec_id = create_task(NULL);
    snprintf(path, sizeof(path), "/tasks/%lld/execute", exec_id);
    tw_http(&srv, "POST", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "DONE", "%s", r.body);
    tw_resp_fini(&r);

    scrape(&srv, NULL, &b);
    cr_assert_eq(val(&b, "taskwheel_runs_started_total", ""), 2);
    cr_assert_eq(val(&b, "taskwheel_runs_finished_total", "result=\"done\""), 2);
    cr_assert_eq(val(&b, "taskwheel_runs_finished_total", "result=\"error\""), 0);
    cr_assert_eq(val(&b, "taskwheel_run_duration_seconds_count", ""), 2);
    cr_assert_eq(val(&b, "taskwheel_sched_lateness_seconds_count", ""), 1,
                 "only the scheduled run is late; an execute is not");
    cr_assert(val(&b, "taskwheel_sched_lateness_seconds_sum", "") > 1e8, "due in 2020: years late");
    cr_assert(val(&b, "taskwheel_records_exported_total", "index=\"users\"") >= 60,
              "two runs of 60 users of chain 1764 (got %g)",
              val(&b, "taskwheel_records_exported_total", "index=\"users\""));
    cr_assert_eq(val(&b, "taskwheel_tasks", "state=\"DONE\""), 2);
    cr_assert_eq(val(&b, "taskwheel_result_files", ""), 2);
    /* storage = the sizes download_url reports */
    size = 0;
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof(path), "/tasks/%lld/download_url", k ? exec_id : sched_id);
        tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
        cr_assert_eq(r.status, 200, "%s", r.body);
        size += (double)json_integer_value(json_object_get(r.json, "size"));
        tw_resp_fini(&r);
    }
    cr_assert(size > 0);
    cr_assert_eq(val(&b, "taskwheel_result_storage_bytes", ""), size);
    cr_assert_eq(val(&b, "taskwheel_workers_busy", ""), 0);
    cr_assert_eq(val(&b, "taskwheel_workers_idle", ""), 2);
    /* two runs on reused workers: no process beyond the pool of 2 was needed, none retired */
    cr_assert_eq(val(&b, "taskwheel_worker_processes_started_total", ""), 2);
    cr_assert_eq(val(&b, "taskwheel_workers_retired_total", ""), 0);
    cr_assert_eq(val(&b, "taskwheel_worker_handovers_total", ""), 0);
    /* the held execute is counted once, under its pattern */
    cr_assert_eq(val(&b, "taskwheel_http_requests_total",
                     "route=\"/tasks/{id}/execute\",method=\"POST\",status=\"200\""),
                 1);
    expo_fini(&a);
    expo_fini(&b);
}

static bool hex16(const char *s)
{
    if (strlen(s) != 16)
        return false;
    for (; *s; s++)
        if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
            return false;
    return true;
}

Test(metrics, request_ids)
{
    char id[128], id2[128], hdr[160], long_id[80];
    const char *hdrs[] = { hdr, NULL };
    struct tw_resp r;

    tw_http(&srv, "GET", "/healthz", NULL, NULL, NULL, &r);
    cr_assert(tw_resp_header(&r, "X-Request-Id", id, sizeof(id)));
    cr_assert(hex16(id), "generated id \"%s\"", id);
    tw_resp_fini(&r);
    tw_http(&srv, "GET", "/nope", NULL, NULL, NULL, &r); /* errors carry one too */
    cr_assert(tw_resp_header(&r, "X-Request-Id", id2, sizeof(id2)));
    cr_assert(hex16(id2));
    cr_assert_str_neq(id, id2);
    tw_resp_fini(&r);

    snprintf(hdr, sizeof(hdr), "X-Request-Id: abc-DEF_123");
    tw_http(&srv, "GET", "/healthz", NULL, hdrs, NULL, &r);
    cr_assert(tw_resp_header(&r, "X-Request-Id", id, sizeof(id)));
    cr_assert_str_eq(id, "abc-DEF_123", "a well-formed client id is echoed");
    tw_resp_fini(&r);

    memset(long_id, 'a', 64);
    long_id[64] = '\0';
    snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", long_id);
    tw_http(&srv, "GET", "/healthz", NULL, hdrs, NULL, &r);
    cr_assert(tw_resp_header(&r, "X-Request-Id", id, sizeof(id)));
    cr_assert_str_eq(id, long_id, "64 characters is still fine");
    tw_resp_fini(&r);

    long_id[64] = 'a';
    long_id[65] = '\0';
    snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", long_id);
    tw_http(&srv, "GET", "/healthz", NULL, hdrs, NULL, &r);
    cr_assert(tw_resp_header(&r, "X-Request-Id", id, sizeof(id)));
    cr_assert(hex16(id), "65 characters are replaced (got %s)", id);
    tw_resp_fini(&r);

    snprintf(hdr, sizeof(hdr), "X-Request-Id: a\"b<script>");
    tw_http(&srv, "GET", "/healthz", NULL, hdrs, NULL, &r);
    cr_assert(tw_resp_header(&r, "X-Request-Id", id, sizeof(id)));
    cr_assert(hex16(id), "other characters are replaced (got %s)", id);
    tw_resp_fini(&r);
}

Test(metrics_auth, require_token, .timeout = 60)
{
    static const char *const chains[] = { "5", NULL };
    struct tw_srv s;
    struct tw_resp r;
    struct expo e;
    char *t, bad[256];

    tw_srv_init(&s, "metrics: { require_token: true }\n");
    t = tw_srv_token(&s, "read", chains);
    tw_http(&s, "GET", "/metrics", NULL, NULL, NULL, &r);
    tw_assert_error(&r, 401, "no_valid_session", NULL);
    tw_resp_fini(&r);
    snprintf(bad, sizeof(bad), "%.*s:wrongsecret", 36, t);
    tw_http(&s, "GET", "/metrics", bad, NULL, NULL, &r);
    tw_assert_error(&r, 401, "no_valid_session", NULL);
    tw_resp_fini(&r);
    scrape(&s, t, &e); /* any valid token will do, whatever its chains or level */
    cr_assert_eq(val(&e, "taskwheel_http_requests_total",
                     "route=\"/metrics\",method=\"GET\",status=\"401\""),
                 2);
    expo_fini(&e);
    free(t);
    tw_srv_fini(&s, true);

    tw_srv_init(&s, NULL); /* the default is open */
    scrape(&s, NULL, &e);
    expo_fini(&e);
    tw_srv_fini(&s, true);
}
