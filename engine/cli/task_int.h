/*
 * `taskwheel task ...`, the command-line client (docs/client.md): what its subcommands share.
 * Each subcommand parses the common options (--url, --token, --user, --chain, --json, --help)
 * with its own, connects, and prints; exit codes as in cli.h (1 also for an HTTP error or a
 * run that ended in ERROR).
 */
#ifndef TW_CLI_TASK_INT_H
#define TW_CLI_TASK_INT_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "client/client.h"

/* Option codes of the common options (long only, above any character). */
enum {
    TW_TOPT_URL = 1000,
    TW_TOPT_TOKEN,
    TW_TOPT_USER,
    TW_TOPT_CHAIN,
    TW_TOPT_JSON,
    TW_TOPT_HELP,
};

#define TW_TASK_COMMON_OPTIONS                               \
    { "url", required_argument, NULL, TW_TOPT_URL },         \
        { "token", required_argument, NULL, TW_TOPT_TOKEN }, \
        { "user", required_argument, NULL, TW_TOPT_USER },   \
        { "chain", required_argument, NULL, TW_TOPT_CHAIN }, \
        { "json", no_argument, NULL, TW_TOPT_JSON },         \
    {                                                        \
        "help", no_argument, NULL, TW_TOPT_HELP              \
    }

/* The usage lines of the common options, for every subcommand's --help. */
extern const char tw_task_common_help[];

struct tw_task_ctx {
    const char *cmd; /* "taskwheel task get", for messages */
    const char *usage;
    const char *url, *token, *user;
    int64_t chain; /* 0 when not given */
    bool json;
    bool help;
    struct tw_client *client; /* after tw_task_connect */
};

/*
 * Handle one option of the common set (c as getopt_long returned it). Returns 1 when handled,
 * 0 when c is not a common option, -1 after printing a usage error (bad --chain).
 */
int tw_task_common_opt(struct tw_task_ctx *ctx, int c, const char *arg);

/*
 * A subcommand's own option: return 1 when handled, 0 when c is not one of its options, -1
 * after printing a usage error for a bad value.
 */
typedef int tw_task_opt_fn(struct tw_task_ctx *ctx, int c, const char *arg, void *p);

/*
 * Parse argv (argv[0] the subcommand) with the common options, the subcommand's (extra and
 * shortopts, handled by on_opt with p) and then exactly one task ID into *id (id NULL: no
 * arguments at all). Returns TW_EXIT_OK, TW_EXIT_USAGE after printing why, or -1 after
 * printing --help (the caller exits 0).
 */
int tw_task_parse(struct tw_task_ctx *ctx, int argc, char **argv, const char *shortopts,
                  const struct option *extra, size_t n_extra, tw_task_opt_fn *on_opt, void *p,
                  int64_t *id);

/* Report an option getopt refused (c is '?' or ':'), with the usage; returns TW_EXIT_USAGE. */
int tw_task_bad_option(struct tw_task_ctx *ctx, int c, char **argv);

/* Print "cmd: message" and the usage to stderr; returns TW_EXIT_USAGE. */
int tw_task_usage_error(struct tw_task_ctx *ctx, const char *msg);

/* A positive integer (task id, chain, limit...); false when s is not one. */
bool tw_task_parse_pos(const char *s, int64_t *out);

/*
 * Create the client from the options and the environment (TASKWHEEL_URL, TASKWHEEL_TOKEN,
 * TASKWHEEL_PASSWORD) and log in when --user was given. Prints the reason and returns
 * TW_EXIT_USAGE (missing credentials) or TW_EXIT_FAILURE (login refused, server down);
 * TW_EXIT_OK.
 */
int tw_task_connect(struct tw_task_ctx *ctx);
void tw_task_disconnect(struct tw_task_ctx *ctx);

/*
 * One API call. Prints and returns TW_EXIT_FAILURE when the server cannot be reached or
 * answers with an error (the envelope's name and description on stderr; with --json the raw
 * answer on stdout too). TW_EXIT_OK with *r filled (caller finis it) on success.
 */
int tw_task_call(struct tw_task_ctx *ctx, const char *method, const char *path, const char *body,
                 const char *const *headers, long timeout_s, struct tw_client_resp *r);

/* The raw answer on stdout (--json). */
void tw_task_print_raw(const struct tw_client_resp *r);

/* A task in words (task_print.c): the summary `get` and `create` print. */
void tw_task_print_task(const json_t *task, bool with_logs);
/* The header and one line per task of `list`. */
void tw_task_print_list(const json_t *tasks, long long total);
/* A log entry in one line: "TIME  MSG  (total N, success N, skips N, errors N)". */
void tw_task_format_log(const json_t *entry, char *buf, size_t len);

int tw_task_create(int argc, char **argv);
int tw_task_watch(int argc, char **argv);
int tw_task_download(int argc, char **argv);
/*
 * Follow task id until its run ends (task_watch.c), printing as `watch` does unless quiet.
 * next: wait for a run that starts after now even when the task is DONE/ERROR already.
 * Returns TW_EXIT_OK for DONE, TW_EXIT_FAILURE for ERROR or a failure.
 */
int tw_task_follow(struct tw_task_ctx *ctx, int64_t id, bool next, double interval_s, bool quiet);

#endif
