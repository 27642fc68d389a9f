/*
 * What the `taskwheel task` subcommands share (task_int.h): the common options, parsing,
 * connecting with a token or an admin login (password from the environment or the terminal),
 * and API calls that print the service's error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "cli/task_int.h"
#include "core/fmt.h"

#define DEFAULT_URL "http://127.0.0.1:8080"

const char tw_task_common_help[] =
    "  --url URL          the server (default $TASKWHEEL_URL, else " DEFAULT_URL "),\n"
    "                     with its path prefix if it has one: http://host/taskwheel\n"
    "  --token ID:SECRET  a service token (default $TASKWHEEL_TOKEN)\n"
    "  --user NAME        sign in as an admin user instead (password from\n"
    "                     $TASKWHEEL_PASSWORD, else asked on the terminal); needs --chain\n"
    "  --chain N          the chain acted on\n"
    "  --json             print the server's raw JSON answers\n"
    "  --help             this help\n"
    "Exit status: 0 ok, 1 HTTP error or failed run, 2 usage error.\n";

bool tw_task_parse_pos(const char *s, int64_t *out)
{
    int64_t v;

    if (!tw_parse_i64(s, &v) || v <= 0)
        return false;
    *out = v;
    return true;
}

int tw_task_usage_error(struct tw_task_ctx *ctx, const char *msg)
{
    fprintf(stderr, "%s: %s\n%s%s", ctx->cmd, msg, ctx->usage, tw_task_common_help);
    return TW_EXIT_USAGE;
}

int tw_task_common_opt(struct tw_task_ctx *ctx, int c, const char *arg)
{
    char msg[256];

    switch (c) {
    case TW_TOPT_URL: ctx->url = arg; return 1;
    case TW_TOPT_TOKEN: ctx->token = arg; return 1;
    case TW_TOPT_USER: ctx->user = arg; return 1;
    case TW_TOPT_JSON: ctx->json = true; return 1;
    case TW_TOPT_HELP: ctx->help = true; return 1;
    case TW_TOPT_CHAIN:
        if (!tw_task_parse_pos(arg, &ctx->chain)) {
            snprintf(msg, sizeof(msg), "--chain wants a positive integer (got \"%s\")", arg);
            tw_task_usage_error(ctx, msg);
            return -1;
        }
        return 1;
    default: return 0;
    }
}

int tw_task_bad_option(struct tw_task_ctx *ctx, int c, char **argv)
{
    char msg[256];

    if (c == ':')
        snprintf(msg, sizeof(msg), "option %s needs a value", argv[optind - 1]);
    else
        snprintf(msg, sizeof(msg), "unknown option %s", argv[optind - 1]);
    return tw_task_usage_error(ctx, msg);
}

/* The password of --user: $TASKWHEEL_PASSWORD, else asked on the terminal without echo. */
static bool read_password(const char *user, char *buf, size_t len)
{
    const char *env = getenv("TASKWHEEL_PASSWORD");
    struct termios old, quiet;
    FILE *tty;
    bool ok;

    if (env != NULL) {
        snprintf(buf, len, "%s", env);
        return true;
    }
    tty = fopen("/dev/tty", "r+");
    if (tty == NULL)
        return false;
    /* Echo off before the prompt shows, so nothing typed after it is ever echoed. */
    if (tcgetattr(fileno(tty), &old) != 0) {
        fclose(tty);
        return false;
    }
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ECHONL;
    tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
    fprintf(tty, "password for %s: ", user);
    fflush(tty);
    ok = fgets(buf, (int)len, tty) != NULL;
    tcsetattr(fileno(tty), TCSAFLUSH, &old);
    fclose(tty);
    buf[strcspn(buf, "\r\n")] = '\0';
    return ok;
}

int tw_task_connect(struct tw_task_ctx *ctx)
{
    struct tw_client_opts o;
    struct tw_err err;
    char password[1024];
    int rc;

    memset(&o, 0, sizeof(o));
    o.url = ctx->url ? ctx->url : getenv("TASKWHEEL_URL");
    if (o.url == NULL || o.url[0] == '\0')
        o.url = DEFAULT_URL;
    if (ctx->user != NULL && ctx->token != NULL)
        return tw_task_usage_error(ctx, "give --token or --user, not both");
    if (ctx->user == NULL) {
        o.token = ctx->token ? ctx->token : getenv("TASKWHEEL_TOKEN");
        if (o.token == NULL || o.token[0] == '\0')
            return tw_task_usage_error(ctx, "no credentials: give --token ID:SECRET (or set "
                                            "TASKWHEEL_TOKEN), or --user NAME with --chain");
    } else if (ctx->chain == 0) {
        return tw_task_usage_error(ctx, "--user signs in to one chain: give --chain N too");
    }
    o.chain = ctx->chain;
    tw_err_clear(&err);
    if (tw_client_new(&o, &ctx->client, &err) != TW_OK) {
        fprintf(stderr, "%s: %s\n", ctx->cmd, err.msg);
        return err.code == TW_EINVAL ? TW_EXIT_USAGE : TW_EXIT_FAILURE;
    }
    if (ctx->user == NULL)
        return TW_EXIT_OK;
    if (!read_password(ctx->user, password, sizeof(password))) {
        fprintf(stderr, "%s: no password for %s: set TASKWHEEL_PASSWORD or run on a terminal\n",
                ctx->cmd, ctx->user);
        return TW_EXIT_USAGE;
    }
    rc = tw_client_login(ctx->client, ctx->user, password, &err);
    explicit_bzero(password, sizeof(password));
    if (rc != TW_OK) {
        fprintf(stderr, "%s: %s\n", ctx->cmd, err.msg);
        return TW_EXIT_FAILURE;
    }
    return TW_EXIT_OK;
}

void tw_task_disconnect(struct tw_task_ctx *ctx)
{
    tw_client_free(ctx->client);
    ctx->client = NULL;
}

void tw_task_print_raw(const struct tw_client_resp *r)
{
    if (r->len == 0)
        return;
    fwrite(r->body, 1, r->len, stdout);
    if (r->body[r->len - 1] != '\n')
        putchar('\n');
}

int tw_task_call(struct tw_task_ctx *ctx, const char *method, const char *path, const char *body,
                 const char *const *headers, long timeout_s, struct tw_client_resp *r)
{
    struct tw_err err;
    char msg[1024];

    tw_err_clear(&err);
    if (tw_client_call(ctx->client, method, path, body, headers, timeout_s, r, &err) != TW_OK) {
        fprintf(stderr, "%s: %s\n", ctx->cmd, err.msg);
        return TW_EXIT_FAILURE;
    }
    if (tw_client_failed(r, msg, sizeof(msg))) {
        if (ctx->json)
            tw_task_print_raw(r);
        fprintf(stderr, "%s: %s\n", ctx->cmd, msg);
        tw_client_resp_fini(r);
        return TW_EXIT_FAILURE;
    }
    return TW_EXIT_OK;
}

int tw_task_parse(struct tw_task_ctx *ctx, int argc, char **argv, const char *shortopts,
                  const struct option *extra, size_t n_extra, tw_task_opt_fn *on_opt, void *arg,
                  int64_t *id)
{
    struct option opts[48] = { TW_TASK_COMMON_OPTIONS };
    char optstring[32];
    size_t n = 6, i;
    int c, h;

    for (i = 0; i < n_extra && n < 47; i++)
        opts[n++] = extra[i];
    memset(&opts[n], 0, sizeof(opts[n]));
    snprintf(optstring, sizeof(optstring), ":%s", shortopts ? shortopts : "");
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
        h = tw_task_common_opt(ctx, c, optarg);
        if (h < 0)
            return TW_EXIT_USAGE;
        if (h == 0 && (on_opt == NULL || (h = on_opt(ctx, c, optarg, arg)) == 0))
            return tw_task_bad_option(ctx, c, argv);
        if (h < 0)
            return TW_EXIT_USAGE;
    }
    if (ctx->help) {
        printf("%s%s", ctx->usage, tw_task_common_help);
        return -1;
    }
    if (id == NULL) {
        if (optind != argc)
            return tw_task_usage_error(ctx, "unexpected argument");
        return TW_EXIT_OK;
    }
    if (optind != argc - 1)
        return tw_task_usage_error(ctx, optind == argc ? "the task ID is missing"
                                                       : "one task ID, please");
    if (!tw_task_parse_pos(argv[optind], id))
        return tw_task_usage_error(ctx, "the task ID is a positive integer");
    return TW_EXIT_OK;
}
