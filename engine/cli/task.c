/*
 * taskwheel task create|list|get|execute|watch|download|delete: the command-line client of a
 * taskwheel (or Spaaza-compatible) server (docs/client.md). This file holds the dispatch and
 * the small subcommands: list, get, execute, delete (the shared parts are in task_common.c).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli_int.h"
#include "cli/task_int.h"

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
