/*
 * taskwheel serve: the engine. One libevent loop owns the HTTP API, the task store and (with
 * the scheduler) the timer wheel and the worker pool.
 *
 * SIGTERM/SIGINT: stop accepting work (the API answers 503), let the scheduler drain within
 * shutdown_grace, then leave the loop. SIGPIPE is ignored: a client that goes away must cost
 * its own connection, not the process.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "api/api.h"
#include "cli/cli_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "export/export.h"
#include "httpc/httpc.h"
#include "lua/lua.h"
#include "plugin/plugin.h"
#include "results/results.h"
#include "run/runner.h"
#include "cli/serve_node.h"
#include "sched/sched.h"
#include "sched/sched_watch.h"
#include "seed/seed.h"
#include "segment/segment.h"
#include "webhook/webhook.h"

static const char serve_usage[] =
    "usage: taskwheel serve [-c FILE] [--ready-file PATH]\n"
    "\n"
    "Runs the engine: HTTP API, scheduler and workers, until SIGTERM or SIGINT.\n"
    "--ready-file PATH  once listening, write the bound port to PATH (for supervisors and tests)\n";

struct serve {
    const struct tw_config *cfg;
    struct event_base *base;
    struct tw_plugin_registry *plugins;
    const char **indexes;         /* loaded index names, NULL-terminated; owned */
    const char **since_indexes;   /* those whose plugin declares a change column; owned */
    struct tw_lua_catalog *lua;   /* lua_dir's installed scripts, kept current; owned */
    const char **formats;         /* csv, json, then the Lua ones; NULL-terminated; owned */
    struct tw_validate_ctx *vctx; /* its formats follow s->formats */
    struct event *lua_timer;      /* looks at lua_dir every LUA_RESCAN_S */
    struct event *sighup;         /* looks at lua_dir now */
    struct tw_sched *sched;
    struct tw_api *api;
    struct event *sigterm;
    struct event *sigint;
    struct tw_upkeep *upkeep;     /* retention, store file check, limits */
    struct tw_store *store;       /* borrowed from serve_run */
    struct tw_httpc *httpc;       /* outbound HTTP on the loop (webhook deliveries) */
    struct tw_outbox *outbox;     /* the webhook delivery pump */
    struct tw_sched_watch *watch; /* other nodes' task changes (NULL with SQLite) */
    struct tw_serve_node *node;   /* this node's heartbeat row */
    int signals;                  /* received so far */
};

/*
 * sched deps.run_ended: inside the transaction that records a DONE or ERROR end, queue the
 * task's webhook delivery (docs/reference.md §12), so a kill -9 right after the run's end
 * cannot lose it; the pump is woken and posts it from the loop, never from here.
 */
static void on_run_ended(void *ctx, int64_t task_id, int64_t chain, int state)
{
    struct serve *s = ctx;
    unsigned events = 0;
    char *url = NULL, id_s[24];
    struct tw_err err;
    bool queued = false;
    json_t *task;
    int rc = tw_store_webhook_get(s->store, task_id, &url, &events, &err);

    tw_free(url);
    if (rc == TW_ENOTFOUND)
        return; /* no webhook: the common case costs one indexed read */
    task = rc == TW_OK ? tw_api_task_object(s->store, task_id, &err) : NULL;
    if (task != NULL)
        rc = tw_webhook_enqueue(s->store, task_id, chain, state, task, (int64_t)tw_clock_wall_ms(),
                                &queued, &err);
    json_decref(task);
    snprintf(id_s, sizeof(id_s), "%lld", (long long)task_id);
    if (task == NULL || rc != TW_OK)
        tw_log(TW_LOG_ERROR, "webhook.enqueue", "task", id_s, "error", err.msg, NULL);
    else if (queued && s->outbox != NULL)
        tw_outbox_kick(s->outbox);
}

/* The webhook pump: httpc on the loop, the outbox in the store, webhooks.* settings. */
static bool start_webhooks(struct serve *s)
{
    struct tw_outbox_conf oc;
    struct tw_err err;

    memset(&oc, 0, sizeof(oc));
    oc.timeout_ms = (long)s->cfg->webhooks_timeout_s * 1000;
    oc.max_attempts = s->cfg->webhooks_max_attempts;
    oc.allow_private = s->cfg->webhooks_allow_private;
    oc.backoff_unit_ms = 1000;
    oc.max_inflight = 64;
    s->httpc = tw_httpc_new(s->base, &err);
    if (s->httpc != NULL)
        s->outbox = tw_outbox_new(s->base, s->store, s->httpc, &oc, &err);
    if (s->outbox == NULL) {
        fprintf(stderr, "taskwheel serve: webhooks: %s\n", err.msg);
        return false;
    }
    return true;
}

/*
 * The API's hooks (api.h), wired here where the parts are assembled: the API calls the
 * scheduler through them (ctx is the scheduler, which outlives the API), and neither part
 * includes the other's header for it.
 */
static void hook_changed(void *ctx, int64_t id)
{
    tw_sched_task_changed(ctx, id);
}

static void hook_deleted(void *ctx, int64_t id)
{
    tw_sched_task_deleted(ctx, id);
}

static int hook_execute(void *ctx, int64_t id, tw_exec_done_fn *done_cb, void *done_arg,
                        struct tw_err *err)
{
    return tw_sched_execute(ctx, id, done_cb, done_arg, err);
}

static void hook_forget(void *ctx, int64_t id, void *done_arg)
{
    tw_sched_execute_forget(ctx, id, done_arg);
}

/* api.h's hooks.sched_stats, for GET /metrics. */
static void sched_stats(void *ctx, struct tw_sched_stats *out)
{
    tw_sched_get_stats(ctx, out);
}

static struct tw_api_hooks sched_hooks(struct tw_sched *sched)
{
    struct tw_api_hooks h = {
        .ctx = sched,
        .task_changed = hook_changed,
        .task_deleted = hook_deleted,
        .execute = hook_execute,
        .execute_forget = hook_forget,
        .sched_stats = sched_stats,
    };

    return h;
}

static void on_drained(void *arg)
{
    event_base_loopexit(arg, NULL);
}

/*
 * First signal: refuse new requests, let running exports finish within shutdown_grace.
 * Second signal: stop them now (they are recorded as interrupted and run again at next start).
 */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct serve *s = arg;

    (void)what;
    tw_log(TW_LOG_INFO, "server.stopping", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", "mode",
           s->signals++ == 0 ? "drain" : "interrupt", NULL);
    tw_api_set_draining(s->api);
    tw_sched_shutdown(s->sched, s->signals == 1 ? s->cfg->shutdown_grace_s : 0, on_drained,
                      s->base);
}

/* export_format values: the built-in writers, then the installed Lua formatters. */
static bool build_formats(struct serve *s)
{
    char *const *lua = tw_lua_catalog_formats(s->lua);
    const char **formats;
    size_t n = 0, builtin = 0, i;

    while (lua[n] != NULL)
        n++;
    while (tw_writers[builtin] != NULL)
        builtin++;
    formats = tw_calloc(builtin + n + 1, sizeof(*formats));
    if (formats == NULL)
        return false;
    for (i = 0; i < builtin; i++)
        formats[i] = tw_writers[i]->name;
    for (i = 0; i < n; i++)
        formats[builtin + i] = lua[i];
    tw_free(s->formats);
    s->formats = formats;
    if (s->vctx != NULL)
        s->vctx->formats = formats;
    return true;
}

static bool list_formats(struct serve *s)
{
    struct tw_err err;

    if (tw_lua_catalog_create(s->cfg->lua_dir, &s->lua, &err) != TW_OK) {
        fprintf(stderr, "taskwheel serve: lua_dir: %s\n", err.msg);
        return false;
    }
    return build_formats(s);
}

/*
 * Scripts added to or removed from lua_dir are picked up without a restart (README,
 * "Decisions"): looked for every LUA_RESCAN_S, before checking a segment's scripts, and at
 * once on SIGHUP. A script's text is read by each run anyway, so edits need nothing.
 */
#define LUA_RESCAN_S 1

static void lua_rescan(struct serve *s, unsigned which, bool force)
{
    struct tw_err err;
    bool changed = false;
    char n[32];
    size_t i;

    tw_err_clear(&err);
    if (tw_lua_catalog_refresh(s->lua, which, force, &changed, &err) != TW_OK) {
        tw_log(TW_LOG_WARN, "lua.rescan_failed", "lua_dir", s->cfg->lua_dir, "error", err.msg,
               NULL);
        return;
    }
    if (!changed) {
        if (force)
            tw_log(TW_LOG_INFO, "lua.rescanned", "lua_dir", s->cfg->lua_dir, "changed", "no", NULL);
        return;
    }
    /* Without memory only the built-in writers are offered until the next change. */
    if ((which & TW_LUA_CATALOG_FORMATS) && !build_formats(s)) {
        static const char *builtin[] = { "csv", "json", NULL };

        tw_free(s->formats);
        s->formats = NULL;
        s->vctx->formats = builtin;
        tw_log(TW_LOG_ERROR, "lua.rescan_failed", "error", "out of memory", NULL);
    }
    for (i = 0; tw_lua_catalog_formats(s->lua)[i] != NULL; i++)
        ;
    snprintf(n, sizeof(n), "%zu", i);
    tw_log(TW_LOG_INFO, "lua.rescanned", "lua_dir", s->cfg->lua_dir, "changed", "yes", "formats", n,
           NULL);
}

static void on_lua_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    lua_rescan(arg, TW_LUA_CATALOG_SEGMENTS | TW_LUA_CATALOG_FORMATS, false);
}

static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    lua_rescan(arg, TW_LUA_CATALOG_SEGMENTS | TW_LUA_CATALOG_FORMATS, true);
}

/* validate.h's tw_segment_check_fn: the rules against the loaded index's fields. */
static int check_segment(void *ctx, const json_t *segment, const char *export_index, int64_t chain,
                         const char *path, struct tw_err *err)
{
    struct serve *s = ctx;
    const struct tw_plugin *p = tw_plugin_registry_find(s->plugins, export_index);
    int rc;

    /* A script installed a moment ago is accepted at once. Only segments/: the formats in
     * use by the validation in progress must stay as they are. */
    lua_rescan(s, TW_LUA_CATALOG_SEGMENTS, false);
    rc = tw_seg_check_scripts(segment, (const char *const *)tw_lua_catalog_segments(s->lua), path,
                              err);

    (void)chain;
    if (rc != TW_OK || p == NULL) /* an unknown index is reported on target.export_index */
        return rc;
    return tw_seg_check(segment, p->desc.index, p->desc.fields, path, err);
}

/* Load plugins_dir and list the index names it provides, for validation. */
static bool load_plugins(struct serve *s)
{
    size_t i, k, n;

    /* Refused plugins are logged by the loader; the engine starts with the others. */
    if (tw_cli_load_plugins(s->cfg, &s->plugins) == TW_EXIT_USAGE)
        return false;
    n = tw_plugin_registry_count(s->plugins);
    if (n == 0)
        tw_log(TW_LOG_WARN, "plugin.none", "plugins_dir", s->cfg->plugins_dir, "effect",
               "no export_index is available", NULL);
    s->indexes = tw_calloc(n + 1, sizeof(*s->indexes));
    s->since_indexes = tw_calloc(n + 1, sizeof(*s->since_indexes));
    if (s->indexes == NULL || s->since_indexes == NULL)
        return false;
    for (i = 0, k = 0; i < n; i++) {
        const struct tw_plugin *p = tw_plugin_registry_at(s->plugins, i);

        s->indexes[i] = p->desc.index;
        if (p->desc.change_column != NULL) /* ABI 1.1: may take target.since */
            s->since_indexes[k++] = p->desc.index;
    }
    return true;
}

static bool write_ready_file(const char *path, uint16_t port)
{
    char tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL)
        return false;
    fprintf(f, "%u\n", port);
    if (fclose(f) != 0)
        return false;
    return rename(tmp, path) == 0;
}

/*
 * The event base, with epoll's change list: evhttp adds and removes a connection's read and
 * write events several times while serving one keep-alive request, and the change list turns
 * those into at most one epoll_ctl per fd per loop turn (bench/api: epoll_ctl was the largest
 * single system call of a GET). Any libevent backend works when epoll is not there.
 */
static struct event_base *new_base(void)
{
    struct event_config *ec = event_config_new();
    struct event_base *base;

    if (ec == NULL)
        return event_base_new();
    event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    base = event_base_new_with_config(ec);
    event_config_free(ec);
    return base != NULL ? base : event_base_new();
}
/*
 * results.storage s3 needs credentials from the file or the environment: said at start, not at
 * the first run. Where results go is logged (never a credential).
 */
static bool check_storage(const struct tw_config *cfg, const char *cmd)
{
    struct tw_s3_conf c;
    struct tw_err err;

    if (!tw_results_on_s3(cfg))
        return true;
    if (tw_results_s3_conf(cfg, &c, &err) != TW_OK) {
        fprintf(stderr, "taskwheel %s: %s\n", cmd, err.msg);
        return false;
    }
    if (strcmp(cmd, "serve") != 0)
        return true;
    /* before any thread: the deletes of results.h run libcurl on threads of their own */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "taskwheel %s: libcurl cannot be initialised\n", cmd);
        return false;
    }
    tw_log(TW_LOG_INFO, "results.storage", "storage", "s3", "endpoint", c.endpoint, "bucket",
           c.bucket, "prefix", c.prefix, "region", c.region, "credentials",
           cfg->results_s3_access_key_id[0] != '\0' ? "configuration" : "environment", NULL);
    return true;
}

/* cluster.node_id left empty is <hostname>:<pid>: unique per process, readable in logs. */
static bool fill_node_id(struct tw_config *cfg)
{
    char host[256] = "localhost", id[300];
    char *copy;

    if (cfg->cluster_node_id[0] != '\0')
        return true;
    if (gethostname(host, sizeof(host) - 1) != 0)
        snprintf(host, sizeof(host), "localhost");
    snprintf(id, sizeof(id), "%s:%ld", host, (long)getpid());
    copy = tw_strdup(id);
    if (copy == NULL)
        return false;
    tw_free(cfg->cluster_node_id);
    cfg->cluster_node_id = copy;
    return true;
}

static int serve_run(struct tw_config *cfg, const char *ready_file)
{
    struct tw_validate_ctx vctx = { NULL, NULL, NULL, NULL, NULL };
    struct tw_export_work_ctx work;
    struct tw_sched_deps sd;
    unsigned char key[TW_KEY_BYTES];
    struct tw_api_deps deps;
    struct tw_store *store = NULL;
    struct serve s;
    struct tw_err err;
    char port_s[8], fdmsg[512];
    int rc = TW_EXIT_FAILURE;

    memset(&s, 0, sizeof(s));
    s.cfg = cfg;
    if (!fill_node_id(cfg)) {
        fprintf(stderr, "taskwheel serve: out of memory\n");
        return TW_EXIT_FAILURE;
    }
    if (!tw_cli_fd_fits(cfg, tw_cli_fd_raise(), fdmsg, sizeof(fdmsg)))
        tw_log(TW_LOG_WARN, "server.fd_limit", "problem", fdmsg, NULL);
    if (tw_mkdir_p(cfg->results_dir, &err) != TW_OK) {
        fprintf(stderr, "taskwheel serve: %s\n", err.msg);
        return TW_EXIT_FAILURE;
    }
    if (!check_storage(cfg, "serve"))
        return TW_EXIT_USAGE;
    if (!load_plugins(&s) || !list_formats(&s))
        goto out;
    vctx.indexes = s.indexes;
    vctx.formats = s.formats;
    s.vctx = &vctx;
    vctx.check_segment = check_segment;
    vctx.check_ctx = &s;
    vctx.since_indexes = s.since_indexes;
    if (!tw_cli_open_store(cfg, &store, key))
        goto out;
    s.base = new_base();
    if (s.base == NULL)
        goto out;
    if (tw_upkeep_create(s.base, cfg, store, &s.upkeep, &err) != TW_OK) {
        fprintf(stderr, "taskwheel serve: %s\n", err.msg);
        goto out;
    }
    /* The scheduler before the API: it recovers interrupted runs before anyone can ask. */
    work.cfg = cfg;
    work.plugins = s.plugins;
    memset(&sd, 0, sizeof(sd));
    sd.cfg = cfg;
    sd.store = store;
    sd.base = s.base;
    sd.work = tw_export_work;
    sd.work_ctx = &work;
    s.store = store;
    sd.run_ended = on_run_ended;
    sd.run_ended_ctx = &s;
    if (!start_webhooks(&s))
        goto out;
    if (tw_sched_create(&sd, &s.sched, &err) != TW_OK) {
        fprintf(stderr, "taskwheel serve: scheduler: %s\n", err.msg);
        goto out;
    }
    if (tw_sched_watch_start(s.sched, s.base, &s.watch, &err) != TW_OK ||
        tw_serve_node_start(cfg, store, s.sched, s.base, &s.node, &err) != TW_OK) {
        fprintf(stderr, "taskwheel serve: cluster: %s\n", err.msg);
        goto out;
    }
    memset(&deps, 0, sizeof(deps));
    deps.cfg = cfg;
    deps.store = store;
    deps.base = s.base;
    deps.key = key;
    deps.vctx = &vctx;
    deps.hooks = sched_hooks(s.sched);
    if (tw_api_create(&deps, &s.api, &err) != TW_OK) {
        fprintf(stderr, "taskwheel serve: %s\n", err.msg);
        goto out;
    }
    s.sigterm = evsignal_new(s.base, SIGTERM, on_signal, &s);
    s.sigint = evsignal_new(s.base, SIGINT, on_signal, &s);
    if (s.sigterm == NULL || s.sigint == NULL)
        goto out;
    evsignal_add(s.sigterm, NULL);
    evsignal_add(s.sigint, NULL);
    s.sighup = evsignal_new(s.base, SIGHUP, on_sighup, &s);
    s.lua_timer = event_new(s.base, -1, EV_PERSIST, on_lua_timer, &s);
    if (s.sighup == NULL || s.lua_timer == NULL)
        goto out;
    evsignal_add(s.sighup, NULL);
    {
        struct timeval every = { LUA_RESCAN_S, 0 };

        evtimer_add(s.lua_timer, &every);
    }
    if (tw_config_bound(cfg, tw_api_port(s.api), &err) != TW_OK) {
        fprintf(stderr, "taskwheel serve: %s\n", err.msg);
        goto out;
    }
    snprintf(port_s, sizeof(port_s), "%u", tw_api_port(s.api));
    tw_log(TW_LOG_INFO, "server.listening", "listen", cfg->listen, "port", port_s, "store",
           tw_cli_store_name(cfg), "public_url", cfg->results_public_url, NULL);
    if (cfg->results_public_url_from_listen &&
        (strncmp(cfg->listen, "0.0.0.0:", 8) == 0 || strncmp(cfg->listen, "[::]:", 5) == 0))
        tw_log(TW_LOG_WARN, "config.public_url", "public_url", cfg->results_public_url, "effect",
               "download URLs name loopback; set results.public_url for other hosts", NULL);
    if (ready_file != NULL && !write_ready_file(ready_file, tw_api_port(s.api))) {
        fprintf(stderr, "taskwheel serve: cannot write %s\n", ready_file);
        goto out;
    }
    event_base_dispatch(s.base);
    tw_log(TW_LOG_INFO, "server.stopped", NULL);
    rc = TW_EXIT_OK;
out:
    if (s.sigterm != NULL)
        event_free(s.sigterm);
    if (s.sigint != NULL)
        event_free(s.sigint);
    if (s.sighup != NULL)
        event_free(s.sighup);
    if (s.lua_timer != NULL)
        event_free(s.lua_timer);
    tw_api_destroy(s.api);
    tw_serve_node_stop(s.node, rc == TW_EXIT_OK);
    tw_sched_watch_stop(s.watch);
    tw_sched_destroy(s.sched);
    /* httpc first: it drops its requests without calling back into the outbox. */
    tw_httpc_free(s.httpc);
    tw_outbox_free(s.outbox);
    tw_upkeep_destroy(s.upkeep);
    tw_store_close(store);
    if (s.base != NULL)
        event_base_free(s.base);
    tw_free(s.indexes);
    tw_free(s.since_indexes);
    tw_free(s.formats);
    tw_lua_catalog_destroy(s.lua);
    tw_plugin_registry_destroy(s.plugins);
    return rc;
}

int tw_cli_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "ready-file", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *cfg_path = NULL, *ready_file = NULL;
    struct tw_config *cfg = NULL;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (c == 'c') {
            cfg_path = optarg;
        } else if (c == 'r') {
            ready_file = optarg;
        } else {
            fputs(serve_usage, c == 'h' ? stdout : stderr);
            return c == 'h' ? TW_EXIT_OK : TW_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "taskwheel serve: unexpected argument \"%s\"\n%s", argv[optind],
                serve_usage);
        return TW_EXIT_USAGE;
    }
    if (!tw_cli_load_config(cfg_path, &cfg))
        return TW_EXIT_USAGE;
    signal(SIGPIPE, SIG_IGN);
    rc = serve_run(cfg, ready_file);
    tw_config_destroy(cfg);
    return rc;
}

/* check-config: can the configured store be reached? Says why on stderr when not. */
static bool check_store(const struct tw_config *cfg)
{
    struct tw_store_conf c;
    struct tw_err err;

    tw_err_clear(&err);
    tw_cli_store_conf(cfg, &c);
    if (tw_store_probe_conf(&c, &err) == TW_OK)
        return true;
    fprintf(stderr, "taskwheel check-config: %s\n", err.msg);
    return false;
}

/* source.driver postgresql: can the source be reached and read? (docs/sources.md) */
static bool check_source(const struct tw_config *cfg)
{
    char warn[640];
    struct tw_err err;

    if (strcmp(cfg->source_driver, "postgresql") != 0)
        return true;
    tw_err_clear(&err);
    if (tw_seed_pg_probe(cfg->source_dsn, warn, sizeof(warn), &err) != TW_OK) {
        fprintf(stderr, "taskwheel check-config: %s\n", err.msg);
        return false;
    }
    if (warn[0] != '\0')
        fprintf(stderr, "taskwheel check-config: warning: source.dsn: %s\n", warn);
    return true;
}

int tw_cli_check_config(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *cfg_path = NULL;
    struct tw_plugin_registry *reg = NULL;
    struct tw_config *cfg = NULL;
    char fdmsg[512];
    size_t i;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (c != 'c') {
            fputs("usage: taskwheel check-config [-c FILE]\n", c == 'h' ? stdout : stderr);
            return c == 'h' ? TW_EXIT_OK : TW_EXIT_USAGE;
        }
        cfg_path = optarg;
    }
    if (optind != argc) {
        fputs("usage: taskwheel check-config [-c FILE]\n", stderr);
        return TW_EXIT_USAGE;
    }
    /* Checking creates nothing: a missing data_dir is said, not made (serve makes it). */
    if (!tw_cli_read_config(cfg_path, &cfg))
        return TW_EXIT_USAGE;
    if (access(cfg->data_dir, F_OK) != 0)
        printf("note: data_dir %s does not exist yet; serve and seed create it\n", cfg->data_dir);
    rc = tw_cli_load_plugins(cfg, &reg);
    if (!check_storage(cfg, "check-config"))
        rc = TW_EXIT_USAGE;
    for (i = 0; reg != NULL && tw_plugin_registry_refused(reg, i) != NULL; i++)
        fprintf(stderr, "taskwheel check-config: %s\n", tw_plugin_registry_refused(reg, i));
    if (!tw_cli_fd_fits(cfg, tw_cli_fd_hard(), fdmsg, sizeof(fdmsg)))
        fprintf(stderr, "taskwheel check-config: warning: %s\n", fdmsg);
    if (!check_store(cfg)) /* said even when a plugin was refused: every reason at once */
        rc = TW_EXIT_USAGE;
    if (!check_source(cfg))
        rc = TW_EXIT_USAGE;
    if (rc == TW_EXIT_OK)
        printf("configuration OK: %s (%zu index plugins from %s)\n",
               cfg->path ? cfg->path : "(built-in defaults)", tw_plugin_registry_count(reg),
               cfg->plugins_dir);
    tw_plugin_registry_destroy(reg);
    tw_config_destroy(cfg);
    /* A refused plugin is a deployment mistake: report it like a configuration error. */
    return rc == TW_EXIT_OK ? TW_EXIT_OK : TW_EXIT_USAGE;
}
