/*
 * taskwheel task create|list|get|execute|watch|download|delete: the command-line client of a
 * taskwheel (or Spaaza-compatible) server (docs/client.md). This file holds the dispatch, the
 * options every subcommand shares, connecting (token or admin login), and the small
 * subcommands: list, get, execute, delete.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "cli/task_int.h"

#define DEFAULT_URL "http://127.0.0.1:8080"

static const char task_usage[] =
    "usage: taskwheel task create|list|get|execute|watch|download|delete [options]\n"
    "\n"
    "  create      create a task from flags or from a JSON body (--body FILE)\n"
    "  list        list tasks (filters: --status, --index, --action, --campaign-id)\n"
    "  get         show one task and its latest logs\n"
    "  execute     run a task now (--wait: until it ends)\n"
    "  watch       follow a run: live progress, exit 0 on DONE, 1 on ERROR\n"
    "  download    fetch the latest result, resume a partial file, verify size and SHA-256\n"
    "  delete      delete a task, its logs and its result files\n"
    "\n"
    "taskwheel task SUBCOMMAND --help shows the options of each.\n";

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
    char *end;
    long long v;

    if (s == NULL || *s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v <= 0)
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

/* ---- get ---- */

struct get_opts {
    const char *log_limit, *log_offset;
};

static int get_opt(struct tw_task_ctx *ctx, int c, const char *arg, void *p)
{
    struct get_opts *g = p;
    int64_t v;

    if (c != 'l' && c != 'f')
        return 0;
    if (!(tw_task_parse_pos(arg, &v) || strcmp(arg, "0") == 0)) {
        tw_task_usage_error(ctx, "--log-limit and --log-offset want a number");
        return -1;
    }
    if (c == 'l')
        g->log_limit = arg;
    else
        g->log_offset = arg;
    return 1;
}

static int task_get(int argc, char **argv)
{
    static const struct option extra[] = {
        { "log-limit", required_argument, NULL, 'l' },
        { "log-offset", required_argument, NULL, 'f' },
    };
    struct tw_task_ctx ctx = {
        .cmd = "taskwheel task get",
        .usage = "usage: taskwheel task get ID [--log-limit N] [--log-offset N] [options]\n"
                 "Shows the task: state, trigger, target, result and its newest logs\n"
                 "  --log-limit N      how many log entries (default 10, 0 none, at most 1000)\n"
                 "  --log-offset N     skip the N newest entries\n",
    };
    struct get_opts g = { "10", "0" };
    struct tw_client_resp r;
    char path[128];
    int64_t id = 0;
    int rc;

    rc = tw_task_parse(&ctx, argc, argv, NULL, extra, 2, get_opt, &g, &id);
    if (rc != TW_EXIT_OK)
        return rc < 0 ? TW_EXIT_OK : rc;
    if ((rc = tw_task_connect(&ctx)) != TW_EXIT_OK)
        goto out;
    snprintf(path, sizeof(path), "/tasks/%lld?log_limit=%s&offset=%s", (long long)id, g.log_limit,
             g.log_offset);
    if ((rc = tw_task_call(&ctx, "GET", path, NULL, NULL, 60, &r)) != TW_EXIT_OK)
        goto out;
    if (ctx.json)
        tw_task_print_raw(&r);
    else
        tw_task_print_task(r.json, true);
    tw_client_resp_fini(&r);
out:
    tw_task_disconnect(&ctx);
    return rc;
}

/* ---- list ---- */

struct list_opts {
    char query[2048];
};

static int list_opt(struct tw_task_ctx *ctx, int c, const char *arg, void *p)
{
    struct list_opts *l = p;
    const char *name;
    char esc[600];
    size_t n = strlen(l->query);
    int64_t v;

    switch (c) {
    case 's': name = "status"; break;
    case 'i': name = "export_index"; break;
    case 'a': name = "action"; break;
    case 'k': name = "campaign_id"; break;
    case 'l': name = "limit"; break;
    case 'f': name = "offset"; break;
    default: return 0;
    }
    if ((c == 'l' || c == 'f') && !(tw_task_parse_pos(arg, &v) || strcmp(arg, "0") == 0)) {
        tw_task_usage_error(ctx, "--limit and --offset want a number");
        return -1;
    }
    if (!tw_client_escape(arg, esc, sizeof(esc)) ||
        snprintf(l->query + n, sizeof(l->query) - n, "%c%s=%s", n ? '&' : '?', name, esc) >=
            (int)(sizeof(l->query) - n)) {
        tw_task_usage_error(ctx, "filter values too long");
        return -1;
    }
    return 1;
}

static int task_list(int argc, char **argv)
{
    static const struct option extra[] = {
        { "status", required_argument, NULL, 's' }, { "index", required_argument, NULL, 'i' },
        { "action", required_argument, NULL, 'a' }, { "campaign-id", required_argument, NULL, 'k' },
        { "limit", required_argument, NULL, 'l' },  { "offset", required_argument, NULL, 'f' },
    };
    struct tw_task_ctx ctx = {
        .cmd = "taskwheel task list",
        .usage = "usage: taskwheel task list [--chain N] [--status STATE] [--index NAME]\n"
                 "                           [--action export] [--campaign-id ID] [--limit N]\n"
                 "                           [--offset N] [options]\n"
                 "Lists the tasks of the chains the credentials may read, newest first\n"
                 "  --status STATE     READY, INPROGRESS, DONE or ERROR\n"
                 "  --index NAME       tasks exporting this index\n"
                 "  --action ACTION    tasks with this target.action\n"
                 "  --campaign-id ID   tasks with this target.campaign_id\n"
                 "  --limit N          at most N tasks (default 100, at most 1000)\n"
                 "  --offset N         skip the first N\n",
    };
    struct list_opts l;
    struct tw_client_resp r;
    char path[2200], chain[32];
    size_t n;
    int rc;

    memset(&l, 0, sizeof(l));
    rc = tw_task_parse(&ctx, argc, argv, NULL, extra, 6, list_opt, &l, NULL);
    if (rc != TW_EXIT_OK)
        return rc < 0 ? TW_EXIT_OK : rc;
    if ((rc = tw_task_connect(&ctx)) != TW_EXIT_OK)
        goto out;
    n = strlen(l.query);
    chain[0] = '\0';
    if (ctx.chain > 0)
        snprintf(chain, sizeof(chain), "%cchain=%lld", n ? '&' : '?', (long long)ctx.chain);
    snprintf(path, sizeof(path), "/tasks%s%s", l.query, chain);
    if ((rc = tw_task_call(&ctx, "GET", path, NULL, NULL, 60, &r)) != TW_EXIT_OK)
        goto out;
    if (ctx.json)
        tw_task_print_raw(&r);
    else
        tw_task_print_list(r.json, r.total_count);
    tw_client_resp_fini(&r);
out:
    tw_task_disconnect(&ctx);
    return rc;
}

/* ---- delete ---- */

static int task_delete(int argc, char **argv)
{
    struct tw_task_ctx ctx = {
        .cmd = "taskwheel task delete",
        .usage = "usage: taskwheel task delete ID [options]\n"
                 "Deletes the task, its logs and its result files (a running run is "
                 "cancelled first)\n",
    };
    struct tw_client_resp r;
    char path[64];
    int64_t id = 0;
    int rc;

    rc = tw_task_parse(&ctx, argc, argv, NULL, NULL, 0, NULL, NULL, &id);
    if (rc != TW_EXIT_OK)
        return rc < 0 ? TW_EXIT_OK : rc;
    if ((rc = tw_task_connect(&ctx)) != TW_EXIT_OK)
        goto out;
    snprintf(path, sizeof(path), "/tasks/%lld", (long long)id);
    if ((rc = tw_task_call(&ctx, "DELETE", path, NULL, NULL, 60, &r)) != TW_EXIT_OK)
        goto out;
    if (ctx.json)
        tw_task_print_raw(&r); /* 204: nothing */
    else
        printf("deleted task %lld\n", (long long)id);
    tw_client_resp_fini(&r);
out:
    tw_task_disconnect(&ctx);
    return rc;
}

/* ---- execute ---- */

static int exec_opt(struct tw_task_ctx *ctx, int c, const char *arg, void *p)
{
    (void)ctx;
    (void)arg;
    if (c != 'w')
        return 0;
    *(bool *)p = true;
    return 1;
}

static int task_execute(int argc, char **argv)
{
    static const struct option extra[] = {
        { "wait", no_argument, NULL, 'w' },
    };
    static const char *const async_hdr[] = { "Prefer: respond-async", NULL };
    struct tw_task_ctx ctx = {
        .cmd = "taskwheel task execute",
        .usage = "usage: taskwheel task execute ID [--wait] [options]\n"
                 "Runs the task now. Without --wait it returns at once (the run goes on; "
                 "follow it\n"
                 "with taskwheel task watch ID); with --wait it waits for the run to end and "
                 "exits\n"
                 "0 on DONE, 1 on ERROR.\n"
                 "  --wait             hold until the run ends (the server's held execute)\n",
    };
    struct tw_client_resp r;
    char path[64];
    const char *code;
    bool wait = false;
    int64_t id = 0;
    int rc;

    rc = tw_task_parse(&ctx, argc, argv, NULL, extra, 1, exec_opt, &wait, &id);
    if (rc != TW_EXIT_OK)
        return rc < 0 ? TW_EXIT_OK : rc;
    if ((rc = tw_task_connect(&ctx)) != TW_EXIT_OK)
        goto out;
    snprintf(path, sizeof(path), "/tasks/%lld/execute", (long long)id);
    /* Held: the server answers 200 at the end of the run, or 202 after execute_wait. */
    if ((rc = tw_task_call(&ctx, "POST", path, NULL, wait ? NULL : async_hdr, 0, &r)) != TW_EXIT_OK)
        goto out;
    code = json_string_value(json_object_get(r.json, "code"));
    if (ctx.json)
        tw_task_print_raw(&r);
    if (wait && r.status == 202) {
        /* Still running after the server's execute_wait: keep waiting by polling. */
        tw_client_resp_fini(&r);
        rc = tw_task_follow(&ctx, id, false, 1.0, true);
        code = rc == TW_EXIT_OK ? "DONE" : "ERROR";
        if (!ctx.json)
            printf("task %lld %s\n", (long long)id, code);
        goto out;
    }
    if (!ctx.json) {
        if (wait)
            printf("task %lld %s\n", (long long)id, code ? code : "(no state in the answer)");
        else
            printf("task %lld started (%s); follow it with: taskwheel task watch %lld\n",
                   (long long)id, code ? code : "?", (long long)id);
    }
    if (wait && (code == NULL || strcmp(code, "DONE") != 0))
        rc = TW_EXIT_FAILURE;
    tw_client_resp_fini(&r);
out:
    tw_task_disconnect(&ctx);
    return rc;
}

int tw_cli_task(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
    } subs[] = {
        { "create", tw_task_create }, { "list", task_list },      { "get", task_get },
        { "execute", task_execute },  { "watch", tw_task_watch }, { "download", tw_task_download },
        { "delete", task_delete },
    };
    size_t i;

    if (argc < 2) {
        fputs(task_usage, stderr);
        return TW_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(task_usage, stdout);
        printf("\nOptions of every subcommand:\n%s", tw_task_common_help);
        return TW_EXIT_OK;
    }
    for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
        if (strcmp(argv[1], subs[i].name) == 0)
            return subs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "taskwheel task: unknown subcommand \"%s\"\n%s", argv[1], task_usage);
    return TW_EXIT_USAGE;
}
