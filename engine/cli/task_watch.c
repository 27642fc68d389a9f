/*
 * taskwheel task watch ID: follow a run by polling GET /tasks/{id} (docs/client.md). On a
 * terminal one progress line is redrawn in place (records so far, records per second,
 * elapsed), from the run's in-place "progress" log entry (docs/reference.md §1), and every
 * state change and the entry that ends the run are printed as lines above it; otherwise one
 * plain line per change. Exit 0 when the run ends DONE, 1 when it ends ERROR.
 *
 * What is new between two polls is told by the log (newest first): every entry above the
 * newest one already seen, so a run that starts and ends between two polls still shows its
 * "READY -> INPROGRESS", its end entry and "INPROGRESS -> DONE".
 */
#include <math.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "cli/task_int.h"
#include "core/time.h"

#define LOG_PAGE 100
#define AWAY_MAX_S 60 /* how long a watch waits for a server that went away mid-run */

struct follow {
    struct tw_task_ctx *ctx;
    int64_t id;
    bool tty, quiet, next;
    bool started; /* first poll done */
    char start_state[16];
    char start_run[32]; /* last_run_date at the first poll, "" for null */
    char seen_time[32]; /* newest non-progress log entry already shown */
    char seen_msg[1024];
    bool have_seen;
    char state[16]; /* the state last shown */
    char progress_time[32];
    long long progress_total;
    bool drawn;         /* a progress line is on the terminal */
    int64_t away_since; /* when the server stopped answering, 0 while it answers */
};

static const char *s_or(const json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? s : dflt;
}

static bool terminal_state(const char *s)
{
    return strcmp(s, "DONE") == 0 || strcmp(s, "ERROR") == 0;
}

static void now_text(char buf[TW_TIME_BUFSZ])
{
    tw_time_format((int64_t)time(NULL), buf);
}

static void clear_line(struct follow *f)
{
    if (f->drawn) {
        fputs("\r\033[K", stdout);
        f->drawn = false;
    }
}

static void say(struct follow *f, const char *line)
{
    if (f->quiet)
        return;
    clear_line(f);
    printf("%s\n", line);
    fflush(stdout);
}

static void elapsed_text(int64_t s, char *buf, size_t len)
{
    if (s < 0)
        s = 0;
    if (s >= 3600)
        snprintf(buf, len, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60),
                 (long long)(s % 60));
    else
        snprintf(buf, len, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
}

/* The progress of a running task: records so far, rate, elapsed. */
static void progress_text(const json_t *task, const json_t *prog, char *buf, size_t len)
{
    const char *run = json_string_value(
        json_object_get(json_object_get(task, "state"), "last_run_date"));
    long long total = prog ? (long long)json_integer_value(json_object_get(prog, "total")) : 0;
    long long written = prog ? (long long)json_integer_value(json_object_get(prog, "success")) : 0;
    int64_t start = 0, at = 0, now = (int64_t)time(NULL);
    double rate = 0;
    char el[32];
    bool have_start = run != NULL && tw_time_parse(run, &start, NULL) == TW_OK;

    if (have_start && prog != NULL && tw_time_parse(s_or(prog, "time", ""), &at, NULL) == TW_OK &&
        at > start)
        rate = (double)total / (double)(at - start);
    else if (have_start && now > start)
        rate = (double)total / (double)(now - start);
    elapsed_text(have_start ? now - start : 0, el, sizeof(el));
    snprintf(buf, len, "task %lld INPROGRESS  %lld records (%lld written)  %.1f rec/s  elapsed %s",
             (long long)json_integer_value(json_object_get(task, "id")), total, written, rate, el);
}

/* Show the log entries newer than the last one shown, oldest first. */
static void show_new_entries(struct follow *f, const json_t *logs)
{
    size_t n = json_array_size(logs), end = n, i;
    char line[1400];
    const char *arrow;

    for (i = 0; i < n && f->have_seen; i++) {
        const json_t *e = json_array_get(logs, i);

        if (strcmp(s_or(e, "msg", ""), f->seen_msg) == 0 &&
            strcmp(s_or(e, "time", ""), f->seen_time) == 0) {
            end = i;
            break;
        }
    }
    for (i = end; i-- > 0;) {
        const json_t *e = json_array_get(logs, i);
        const char *msg = s_or(e, "msg", "");

        if (strcmp(msg, "progress") == 0)
            continue;
        snprintf(f->seen_msg, sizeof(f->seen_msg), "%s", msg);
        snprintf(f->seen_time, sizeof(f->seen_time), "%s", s_or(e, "time", ""));
        f->have_seen = true;
        if (!f->started || f->ctx->json)
            continue; /* history from before the watch began; --json prints tasks only */
        tw_task_format_log(e, line, sizeof(line));
        say(f, line);
        if ((arrow = strstr(msg, " -> ")) != NULL)
            snprintf(f->state, sizeof(f->state), "%s", arrow + 4);
    }
}

/* The entry that ended the latest run (the newest one with counts), or NULL. */
static const json_t *end_entry(const json_t *logs)
{
    size_t i;

    for (i = 0; i < json_array_size(logs); i++) {
        const json_t *e = json_array_get(logs, i);

        if (json_object_get(e, "total") != NULL && strcmp(s_or(e, "msg", ""), "progress") != 0)
            return e;
    }
    return NULL;
}

static const json_t *progress_entry(const json_t *logs)
{
    size_t i;

    for (i = 0; i < json_array_size(logs); i++)
        if (strcmp(s_or(json_array_get(logs, i), "msg", ""), "progress") == 0)
            return json_array_get(logs, i);
    return NULL;
}

static int finish(struct follow *f, const json_t *task, const char *state)
{
    const json_t *e = end_entry(json_object_get(task, "logs"));
    char line[1400], entry[1300];

    if (e != NULL)
        tw_task_format_log(e, entry, sizeof(entry));
    snprintf(line, sizeof(line), "task %lld %s%s%s", (long long)f->id, state, e ? ": " : "",
             e ? entry : "");
    say(f, line);
    return strcmp(state, "DONE") == 0 ? TW_EXIT_OK : TW_EXIT_FAILURE;
}

/* One poll; returns -1 to go on, else the exit code. */
static int poll_once(struct follow *f)
{
    struct tw_client_resp r;
    char path[96], line[1400], when[TW_TIME_BUFSZ], msg[1024];
    const json_t *task, *logs, *prog;
    struct tw_err err;
    const char *state, *run;
    int rc;

    snprintf(path, sizeof(path), "/tasks/%lld?log_limit=%d", (long long)f->id, LOG_PAGE);
    tw_err_clear(&err);
    rc = tw_client_call(f->ctx->client, "GET", path, NULL, NULL, 60, &r, &err);
    if (f->started && (rc == TW_EIO || (rc == TW_OK && r.status == 503))) {
        /* The run goes on without us: a server restarting or briefly away is waited for. */
        int64_t now = (int64_t)time(NULL);

        if (f->away_since == 0) {
            f->away_since = now;
            snprintf(line, sizeof(line), "%s: %s; retrying for up to %d s", f->ctx->cmd,
                     rc == TW_EIO ? err.msg : "HTTP 503 unavailable", AWAY_MAX_S);
            clear_line(f);
            fflush(stdout);
            fprintf(stderr, "%s\n", line);
        }
        if (now - f->away_since < AWAY_MAX_S) {
            tw_client_resp_fini(&r);
            return -1;
        }
    }
    if (rc == TW_OK && r.status < 400)
        f->away_since = 0;
    if (rc != TW_OK || tw_client_failed(&r, msg, sizeof(msg))) {
        clear_line(f); /* the message must not land on the progress line */
        fflush(stdout);
        if (err.code == TW_OK && f->ctx->json)
            tw_task_print_raw(&r);
        fprintf(stderr, "%s: %s\n", f->ctx->cmd, err.code != TW_OK ? err.msg : msg);
        tw_client_resp_fini(&r);
        return TW_EXIT_FAILURE;
    }
    task = r.json;
    logs = json_object_get(task, "logs");
    state = s_or(json_object_get(task, "state"), "code", "?");
    run = s_or(json_object_get(task, "state"), "last_run_date", "");
    prog = progress_entry(logs);
    if (f->ctx->json && !f->quiet) {
        /* --json: the task as the server sent it, one line per poll that changed something. */
        const char *pt = prog ? s_or(prog, "time", "") : "";

        if (!f->started || strcmp(state, f->state) != 0 || strcmp(pt, f->progress_time) != 0 ||
            !f->have_seen || strcmp(s_or(json_array_get(logs, 0), "time", ""), f->seen_time) != 0) {
            char *one = json_dumps(task, JSON_COMPACT | JSON_PRESERVE_ORDER);

            if (one != NULL)
                printf("%s\n", one);
            free(one);
            fflush(stdout);
        }
    }
    show_new_entries(f, logs);
    if (!f->started) {
        f->started = true;
        snprintf(f->start_state, sizeof(f->start_state), "%s", state);
        snprintf(f->start_run, sizeof(f->start_run), "%s", run);
        snprintf(f->state, sizeof(f->state), "%s", state);
        if (!f->ctx->json) {
            snprintf(line, sizeof(line), "task %lld %s (%s %s)%s", (long long)f->id, state,
                     s_or(json_object_get(task, "target"), "export_index", "?"),
                     s_or(json_object_get(task, "target"), "export_format", "?"),
                     strcmp(state, "READY") == 0 || (terminal_state(state) && f->next)
                         ? ", waiting for its run"
                         : "");
            say(f, line);
        }
        if (terminal_state(state) && !f->next) {
            rc = f->ctx->json ? (strcmp(state, "DONE") == 0 ? TW_EXIT_OK : TW_EXIT_FAILURE)
                              : finish(f, task, state);
            tw_client_resp_fini(&r);
            return rc;
        }
    }
    if (strcmp(state, f->state) != 0) {
        /* A server that does not log state changes: say it ourselves. */
        now_text(when);
        snprintf(line, sizeof(line), "%s  %s -> %s", when, f->state, state);
        if (!f->ctx->json)
            say(f, line);
        snprintf(f->state, sizeof(f->state), "%s", state);
    }
    if (terminal_state(state) &&
        (strcmp(f->start_state, "INPROGRESS") == 0 || strcmp(run, f->start_run) != 0)) {
        rc = f->ctx->json ? (strcmp(state, "DONE") == 0 ? TW_EXIT_OK : TW_EXIT_FAILURE)
                          : finish(f, task, state);
        tw_client_resp_fini(&r);
        return rc;
    }
    if (strcmp(state, "INPROGRESS") == 0 && !f->ctx->json && !f->quiet) {
        long long total = prog ? (long long)json_integer_value(json_object_get(prog, "total")) : 0;

        progress_text(task, prog, line, sizeof(line));
        if (f->tty) {
            struct winsize ws;

            /* A line longer than the terminal would wrap, and \r would redraw only its end. */
            if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 &&
                strlen(line) >= ws.ws_col)
                line[ws.ws_col - 1] = '\0';
            fputs("\r\033[K", stdout);
            fputs(line, stdout);
            fflush(stdout);
            f->drawn = true;
        } else if (prog != NULL && (total != f->progress_total ||
                                    strcmp(s_or(prog, "time", ""), f->progress_time) != 0)) {
            printf("%s  %s\n", s_or(prog, "time", ""), line);
            fflush(stdout);
        }
        f->progress_total = total;
    }
    snprintf(f->progress_time, sizeof(f->progress_time), "%s", prog ? s_or(prog, "time", "") : "");
    tw_client_resp_fini(&r);
    return -1;
}

int tw_task_follow(struct tw_task_ctx *ctx, int64_t id, bool next, double interval_s, bool quiet)
{
    struct follow f;
    struct timespec ts;
    int rc;

    memset(&f, 0, sizeof(f));
    f.ctx = ctx;
    f.id = id;
    f.next = next;
    f.quiet = quiet;
    f.tty = isatty(STDOUT_FILENO) == 1;
    f.progress_total = -1;
    ts.tv_sec = (time_t)interval_s;
    ts.tv_nsec = (long)((interval_s - floor(interval_s)) * 1e9);
    while ((rc = poll_once(&f)) < 0)
        nanosleep(&ts, NULL);
    clear_line(&f);
    fflush(stdout);
    return rc;
}

struct watch_opts {
    bool next;
    double interval;
};

static int watch_opt(struct tw_task_ctx *ctx, int c, const char *arg, void *p)
{
    struct watch_opts *w = p;
    char *end;

    if (c == 'n') {
        w->next = true;
        return 1;
    }
    if (c != 'i')
        return 0;
    w->interval = strtod(arg, &end);
    if (*end != '\0' || end == arg || !(w->interval >= 0.05 && w->interval <= 3600)) {
        tw_task_usage_error(ctx, "--interval wants seconds between 0.05 and 3600");
        return -1;
    }
    return 1;
}

int tw_task_watch(int argc, char **argv)
{
    static const struct option extra[] = {
        { "next", no_argument, NULL, 'n' },
        { "interval", required_argument, NULL, 'i' },
    };
    struct tw_task_ctx ctx = {
        .cmd = "taskwheel task watch",
        .usage = "usage: taskwheel task watch ID [--next] [--interval SECONDS] [options]\n"
                 "Follows the task's run until it ends: on a terminal a live progress line\n"
                 "(records, records per second, elapsed) with state changes above it; piped,\n"
                 "one line per change (--json: the task as JSON, one line per change).\n"
                 "Exits 0 when the run ends DONE, 1 when it ends ERROR. A task that is DONE\n"
                 "or ERROR already reports that run and exits, unless --next.\n"
                 "  --next             wait for the next run of a DONE/ERROR task\n"
                 "  --interval S       seconds between polls (default 0.5)\n",
    };
    struct watch_opts w = { false, 0.5 };
    int64_t id = 0;
    int rc;

    rc = tw_task_parse(&ctx, argc, argv, NULL, extra, 2, watch_opt, &w, &id);
    if (rc != TW_EXIT_OK)
        return rc < 0 ? TW_EXIT_OK : rc;
    if ((rc = tw_task_connect(&ctx)) == TW_EXIT_OK)
        rc = tw_task_follow(&ctx, id, w.next, w.interval, false);
    tw_task_disconnect(&ctx);
    return rc;
}
